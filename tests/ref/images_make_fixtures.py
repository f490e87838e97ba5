#!/usr/bin/python3
"""Image decoding breadth (issues 15 and 21): small images of the kinds PIL
reads, and PIL's own pixels for each, for tests/test_images.c.

    /usr/bin/python3 tests/ref/images_make_fixtures.py

Writes into tests/data/images/ (committed; deterministic, running it again
gives the same files): for each NAME.EXT an image and NAME.rgb, the bytes of
PIL's Image.open(NAME.EXT).convert("RGB") (H x W x 3, row-major), which is
what torchvision's loaders feed a model and what ev_image_read(path, 3)
must give. PIL cannot write 16-bit RGB or interlaced PNG, so those are
written here chunk by chunk (zlib, CRC-32) from the PNG specification.
Needs Debian's python3-pil and python3-numpy.
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "images")
rng = np.random.default_rng(2026121)
H, W = 7, 13  # odd sizes: no pass or row lines up by accident


def path(name):
    return os.path.join(OUT, name)


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(
        ">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(name, width, height, depth, colour, raw_rows, interlace=0):
    """raw_rows: the filtered scanlines (filter byte 0 + samples), joined."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0,
                       interlace)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(raw_rows, 9)) + chunk(b"IEND", b""))
    with open(path(name), "wb") as f:
        f.write(data)


def rows16(a):
    """uint16 array H x W (x C) to PNG scanlines, filter 0, big-endian."""
    a = a.astype(">u2")
    return b"".join(b"\x00" + a[i].tobytes() for i in range(a.shape[0]))


def adam7(a, bytes_per_pixel):
    """Adam7 passes of an H x W x C uint8 array, each row with filter 0."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
              (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    out = b""
    for x0, y0, dx, dy in passes:
        sub = a[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        out += b"".join(b"\x00" + sub[i].tobytes()
                        for i in range(sub.shape[0]))
    return out


def expect(name):
    im = Image.open(path(name))
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    assert rgb.shape == (H, W, 3), (name, rgb.shape)
    with open(path(os.path.splitext(name)[0] + ".rgb"), "wb") as f:
        f.write(rgb.tobytes())


def main():
    os.makedirs(OUT, exist_ok=True)
    # 16-bit grey: PIL opens it as mode I (32-bit integers) and
    # convert("RGB") clips each value to 255, it does not scale; values
    # below and above 255 show the difference
    g16 = rng.integers(0, 65536, (H, W), dtype=np.uint32)
    g16[0, :6] = [0, 1, 200, 255, 256, 65535]
    png("grey16.png", W, H, 16, 0, rows16(g16))
    # 16-bit RGB: PIL keeps the high byte of each sample
    png("rgb16.png", W, H, 16, 2, rows16(rng.integers(0, 65536, (H, W, 3))))
    # palette with a tRNS chunk (transparency dropped by convert("RGB"))
    pal = Image.fromarray(rng.integers(0, 6, (H, W), dtype=np.uint8), "P")
    pal.putpalette(list(rng.integers(0, 256, 18, dtype=np.uint8)))
    pal.save(path("palette_trns.png"), transparency=bytes([0, 128, 255, 7]))
    # grey + alpha
    Image.fromarray(rng.integers(0, 256, (H, W, 2), dtype=np.uint8),
                    "LA").save(path("grey_alpha.png"))
    # interlaced (Adam7) RGB
    rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    png("interlaced.png", W, H, 8, 2, adam7(rgb, 3), interlace=1)
    # smooth content for the JPEGs, so that the codec's rounding shows
    yy, xx = np.mgrid[0:H, 0:W]
    smooth = np.stack([xx * 18, yy * 30, (xx + yy) * 12], -1).astype(np.uint8)
    Image.fromarray(smooth, "RGB").save(path("progressive.jpg"), quality=90,
                                        progressive=True)
    cmyk = np.concatenate([smooth, (yy * 20)[..., None].astype(np.uint8)], -1)
    Image.fromarray(cmyk, "CMYK").save(path("cmyk.jpg"), quality=90)
    # 32-bit BMP (BGRA)
    Image.fromarray(rng.integers(0, 256, (H, W, 4), dtype=np.uint8),
                    "RGBA").save(path("rgba32.bmp"))
    # 8-bit RGB, the one tests/test_images.c damages
    Image.fromarray(rgb, "RGB").save(path("rgb8.png"))
    for name in ("grey16.png", "rgb16.png", "palette_trns.png",
                 "grey_alpha.png", "interlaced.png", "progressive.jpg",
                 "cmyk.jpg", "rgba32.bmp", "rgb8.png"):
        expect(name)


if __name__ == "__main__":
    main()
