#!/usr/bin/python3
"""Data for bench-report-folder.sh: N synthetic photos of about 500 x 375 as
JPEGs in class folders (20 classes; 20 % in DIR/test, 80 % in DIR/train) and
a scripted torchvision ResNet-18 with random weights (no pretrained weights
are reachable offline). Made once: a finished DIR has DIR/done.

    /usr/bin/python3 bench/report_folder_data.py DIR N
"""
import os
import sys
from multiprocessing import Pool

import numpy as np

CLASSES = 20


def photo(args):
    path, c, k = args
    from PIL import Image, ImageDraw, ImageFilter
    r = np.random.default_rng(c * 1000003 + k)
    w, h = (500, 375) if k % 3 else (375, 500)   # landscape and portrait, as cameras give
    w += int(r.integers(-40, 41))
    h += int(r.integers(-30, 31))
    # a smooth background (low-resolution noise, enlarged) with a class tint
    tint = np.array([(c * 37) % 256, (c * 91) % 256, (c * 53) % 256])
    small = r.integers(0, 256, size=(6, 8, 3)) * 0.6 + tint * 0.4
    im = Image.fromarray(small.astype(np.uint8)).resize((w, h), Image.BICUBIC)
    dr = ImageDraw.Draw(im)
    for _ in range(3 + c % 4):
        x, y, s = int(r.integers(0, w)), int(r.integers(0, h)), int(r.integers(30, 140))
        fill = tuple(int(v) for v in (tint + r.integers(-40, 41, 3)) % 256)
        (dr.ellipse if c % 2 else dr.rectangle)([x, y, x + s, y + s * (1 + c % 3) // 2], fill=fill)
    im = im.filter(ImageFilter.GaussianBlur(1))
    noise = r.normal(0, 8, size=(h, w, 3))
    im = Image.fromarray(np.clip(np.asarray(im) + noise, 0, 255).astype(np.uint8))
    im.save(path, quality=88)


def main():
    root, n = sys.argv[1], int(sys.argv[2])
    if os.path.exists(os.path.join(root, "done")):
        return
    jobs = []
    for i in range(n):
        c, k = i % CLASSES, i // CLASSES
        part = "test" if k % 5 == 0 else "train"
        d = os.path.join(root, part, f"class_{c:02d}")
        os.makedirs(d, exist_ok=True)
        jobs.append((os.path.join(d, f"photo_{k:05d}.jpg"), c, k))
    with Pool(2) as p:
        p.map(photo, jobs, chunksize=64)
    import torch
    import torchvision
    torch.manual_seed(0)
    m = torchvision.models.resnet18(num_classes=CLASSES).eval()
    torch.jit.save(torch.jit.script(m), os.path.join(root, "resnet18.pt"))
    open(os.path.join(root, "done"), "w").close()


if __name__ == "__main__":
    main()
