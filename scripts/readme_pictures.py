#!/usr/bin/python3
"""Small copies of the demo report's pictures for the README (docs/images/).

  /usr/bin/python3 scripts/readme_pictures.py [demo-report] [docs/images]

Each picture is scaled down to at most WIDTH pixels wide and saved as an
optimised PNG with a reduced palette, so the committed copies stay small
(tens of KB each).
"""
import os
import sys

from PIL import Image  # Debian: python3-pil

PICTURES = {  # report file -> (README file, width)
    "maps_by_depth.png": ("demo-maps-by-depth.png", 1100),
    "image_map.png": ("demo-image-map.png", 700),
    "neighbours_pixels.png": ("demo-neighbours-pixels.png", 420),
    "neighbours_features.png": ("demo-neighbours-features.png", 420),
    "softmax_misclassified.png": ("demo-misclassified.png", 560),
    "confusion.png": ("demo-confusion.png", 560),
    "pca_biplot.png": ("demo-pca-biplot.png", 560),
    "pca_scree.png": ("demo-pca-scree.png", 560),
}


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "demo-report"
    dst = sys.argv[2] if len(sys.argv) > 2 else "docs/images"
    os.makedirs(dst, exist_ok=True)
    for name, (out, width) in PICTURES.items():
        im = Image.open(os.path.join(src, name)).convert("RGB")
        if im.width > width:
            im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
        im = im.quantize(colors=128, method=Image.MEDIANCUT, dither=Image.NONE)
        path = os.path.join(dst, out)
        im.save(path, optimize=True)
        print(f"{path}: {os.path.getsize(path) // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
