#!/usr/bin/python3
"""Make the small fixtures of tests/test_io.c in tests/data/io/ with numpy,
PIL and torchvision 0.14 (Debian's python3-numpy, python3-pil,
python3-torchvision). Deterministic: running it again gives the same files.

    /usr/bin/python3 tests/ref/io_make_fixtures.py
"""
import gzip
import os
import shutil
import struct

import numpy as np
from PIL import Image
import torch
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "io")
rng = np.random.default_rng(20261122)


def path(*p):
    full = os.path.join(OUT, *p)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    return full


def write_bytes(name, data):
    with open(path(name), "wb") as f:
        f.write(data)


def npy_fixtures():
    np.save(path("f4_3x4.npy"), np.arange(12, dtype="<f4").reshape(3, 4) / 4)
    np.save(path("f8_2x3.npy"), np.array([[1.5, -2.25, 3], [4, 5e-3, -6e10]]))
    np.save(path("u1_2x3x4.npy"), np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    np.save(path("i4_5.npy"), np.array([3, -1, 0, 7, 2], dtype="<i4"))
    np.save(path("i8_5.npy"), np.array([9, 8, 7, 6, 5], dtype="<i8"))
    np.save(path("f4_2x3x2x2.npy"), np.arange(24, dtype="<f4").reshape(2, 3, 2, 2))
    np.save(path("f4_fortran_3x4.npy"),
            np.asfortranarray(np.arange(12, dtype="<f4").reshape(3, 4)))
    np.save(path("f4_bigendian_2x2.npy"), np.array([[1, 2], [3, 4]], dtype=">f4"))
    for v in ((2, 0), (3, 0)):
        with open(path("f4_v%d_2x2.npy" % v[0]), "wb") as f:
            np.lib.format.write_array(f, np.array([[1, 2], [3, 4]], dtype="<f4"),
                                      version=v)
    np.save(path("c8_2.npy"), np.array([1 + 2j, 3], dtype=np.complex64))
    good = open(path("f4_3x4.npy"), "rb").read()
    write_bytes("bad_truncated.npy", good[:-5])
    write_bytes("bad_magic.npy", b"\x93NUMPX" + good[6:])
    write_bytes("bad_empty.npy", b"")
    # shapes whose size overflows size_t, and one that is huge but does not
    hdr = lambda shape: ("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"
                         % shape).ljust(118) + "\n"
    for name, shape in (("bad_overflow.npy", "(4294967296, 4294967296, 4294967296)"),
                        ("bad_huge.npy", "(1099511627776, 16)")):
        h = hdr(shape).encode()
        write_bytes(name, b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h
                    + b"\0" * 16)
    # data sets as arrays: images (uint8) and labels
    imgs = rng.integers(0, 256, size=(4, 6, 5), dtype=np.uint8)
    np.save(path("ds_images_4x6x5.npy"), imgs)
    np.save(path("ds_empty_0x6x5.npy"), np.zeros((0, 6, 5), np.uint8))
    np.save(path("ds_labels_4.npy"), np.array([2, 0, 1, 2], dtype=np.int64))
    return imgs


def idx_bytes(arr, code=0x08):
    head = struct.pack(">BBBB", 0, 0, code, arr.ndim)
    head += b"".join(struct.pack(">I", d) for d in arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def idx_fixtures():
    imgs = rng.integers(0, 256, size=(3, 4, 5), dtype=np.uint8)
    labels = np.array([9, 0, 3], dtype=np.uint8)
    write_bytes("images_3x4x5.idx", idx_bytes(imgs))
    write_bytes("labels_3.idx", idx_bytes(labels))
    # mtime=0 so the gzip bytes do not change between runs
    for name in ("images_3x4x5.idx", "labels_3.idx"):
        raw = open(path(name), "rb").read()
        with open(path(name + ".gz"), "wb") as f:
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
                g.write(raw)
    write_bytes("labels_2.idx", idx_bytes(labels[:2]))
    write_bytes("floats_2x2.idx", idx_bytes(np.array([[1.5, -2], [0.25, 8]],
                                                     dtype=np.float32), 0x0D))
    write_bytes("shorts_3.idx", idx_bytes(np.array([-2, 300, 7], dtype=np.int16), 0x0B))
    good = idx_bytes(imgs)
    write_bytes("bad_truncated.idx", good[:-7])
    gz = open(path("images_3x4x5.idx.gz"), "rb").read()
    write_bytes("bad_truncated.idx.gz", gz[: len(gz) // 2])
    write_bytes("bad_magic.idx", b"\x01\x02" + good[2:])
    write_bytes("bad_type.idx", good[:2] + b"\x07" + good[3:])
    write_bytes("bad_long.idx", good + b"\0\0")
    write_bytes("bad_overflow.idx", struct.pack(">BBBBIII", 0, 0, 8, 3,
                                                0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF) + b"\0" * 8)
    write_bytes("bad_huge.idx", struct.pack(">BBBBIII", 0, 0, 8, 3,
                                            0x7FFFFFFF, 0x7FFFFFFF, 3) + b"\0" * 8)
    write_bytes("bad_zero.idx", struct.pack(">BBBBI", 0, 0, 8, 1, 0))
    return imgs, labels


def image_fixtures():
    """Small images of every format with known pixels (tests read them back
    exactly from the .npy twin)."""
    rgb = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    np.save(path("img_rgb_5x7.npy"), rgb)
    Image.fromarray(rgb).save(path("img_rgb_5x7.png"))
    Image.fromarray(rgb).save(path("img_rgb_5x7.bmp"))
    grey = rng.integers(0, 256, size=(6, 4), dtype=np.uint8)
    np.save(path("img_grey_6x4.npy"), grey)
    Image.fromarray(grey).save(path("img_grey_6x4.png"))
    rgba = rng.integers(0, 256, size=(3, 4, 4), dtype=np.uint8)
    np.save(path("img_rgba_3x4.npy"), rgba)
    Image.fromarray(rgba).save(path("img_rgba_3x4.png"))
    # PIL's convert("L") of the RGB image, the reference of grey conversion
    np.save(path("img_rgb_5x7_L.npy"), np.asarray(Image.fromarray(rgb).convert("L")))
    # GIF: a palette of 4 colours, so the pixels survive exactly
    pal = np.array([[255, 0, 0], [0, 128, 255], [10, 20, 30], [250, 250, 250]], np.uint8)
    idx = rng.integers(0, 4, size=(4, 6))
    gif = Image.fromarray(idx.astype(np.uint8), mode="P")
    gif.putpalette(pal.flatten().tolist() + [0] * (768 - 12))
    gif.save(path("img_pal_4x6.gif"))
    np.save(path("img_pal_4x6.npy"), pal[idx])
    # JPEG: flat 8 x 8 blocks of one colour decode exactly in any decoder
    flat = np.zeros((16, 16, 3), np.uint8)
    flat[:8, :8] = (200, 200, 200)
    flat[8:, 8:] = (50, 50, 50)
    flat[:8, 8:] = (120, 120, 120)
    flat[8:, :8] = (255, 255, 255)
    Image.fromarray(flat).save(path("img_blocks_16x16.jpg"), quality=100,
                               subsampling=0)
    np.save(path("img_blocks_16x16.npy"),
            np.asarray(Image.open(path("img_blocks_16x16.jpg")).convert("RGB")))
    # a photo-like JPEG with 4:2:0 chroma, and PIL's (libjpeg-turbo's) pixels
    Image.fromarray(smooth_image(37, 53, 3)).save(path("img_photo_37x53.jpg"),
                                                  quality=90)
    np.save(path("img_photo_37x53.npy"),
            np.asarray(Image.open(path("img_photo_37x53.jpg")).convert("RGB")))
    jpg = open(path("img_photo_37x53.jpg"), "rb").read()
    write_bytes("bad_truncated.jpg", jpg[: len(jpg) // 2])
    good = open(path("img_rgb_5x7.png"), "rb").read()
    write_bytes("bad_truncated.png", good[: len(good) - 30])
    write_bytes("bad_garbage.png", b"\x89PNG\r\n\x1a\n" + bytes(range(200)))
    write_bytes("bad_notimage.jpg", b"this is not a picture\n")
    write_bytes("bad_empty.gif", b"")
    return rgb


def smooth_image(h, w, seed):
    """A photo-like test image: smooth colour gradients plus noise."""
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    chans = [np.sin(6 * x + 2 * c) * np.cos(4 * y - c) * 90 + 128 for c in range(3)]
    img = np.stack(chans, -1) + r.normal(0, 25, size=(h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def preprocess_fixtures():
    """Inputs and torchvision's tensors for the preprocessing checks."""
    a = smooth_image(37, 53, 1)
    b = smooth_image(61, 29, 2)
    Image.fromarray(a).save(path("pre_a_37x53.png"))
    Image.fromarray(b).save(path("pre_b_61x29.png"))
    cases = {
        # name: (file, transform)
        "pre_a_resize16_crop14": ("pre_a_37x53.png", [transforms.Resize(16), transforms.CenterCrop(14)]),
        "pre_b_resize16_crop14": ("pre_b_61x29.png", [transforms.Resize(16), transforms.CenterCrop(14)]),
        "pre_a_resize48_crop45": ("pre_a_37x53.png", [transforms.Resize(48), transforms.CenterCrop(45)]),
        "pre_b_resize20x10": ("pre_b_61x29.png", [transforms.Resize((20, 10))]),
        "pre_a_crop40": ("pre_a_37x53.png", [transforms.CenterCrop(40)]),
        "pre_b_crop_odd": ("pre_b_61x29.png", [transforms.CenterCrop((10, 6))]),
    }
    norm = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    for name, (src, tf) in cases.items():
        img = Image.open(path(src)).convert("RGB")
        t = transforms.Compose(tf + [transforms.ToTensor(), norm])(img)
        np.save(path(name + ".npy"), t.numpy().astype("<f4"))
    # thumbnails: Resize(16), CenterCrop(16) of the RGB image, as uint8
    thumb = transforms.Compose([transforms.Resize(16), transforms.CenterCrop(16)])(
        Image.open(path("pre_b_61x29.png")).convert("RGB"))
    np.save(path("pre_b_thumb16.npy"), np.asarray(thumb))
    # grey: convert("L"), Resize(12), ToTensor (no normalisation)
    img = Image.open(path("pre_a_37x53.png")).convert("L")
    t = transforms.Compose([transforms.Resize(12), transforms.ToTensor()])(img)
    np.save(path("pre_a_grey_resize12.npy"), t.numpy().astype("<f4"))


def folder_fixtures(rgb):
    root = path("folder", "x")
    shutil.rmtree(os.path.dirname(root), ignore_errors=True)
    shutil.rmtree(path("folder_bad", "x")[:-2], ignore_errors=True)
    shutil.rmtree(path("folder_none", "x")[:-2], ignore_errors=True)
    shutil.rmtree(path("folder_loose", "x")[:-2], ignore_errors=True)
    files = {
        # class folders sorted by bytes: "Zebra" < "cat" < "dog"
        "dog/b.png": 1, "dog/a.PNG": 2, "cat/z.bmp": 3, "cat/m.jpg": 4,
        "Zebra/only.gif": 5,
    }
    for name, k in files.items():
        img = Image.fromarray(np.full((4, 4, 3), k * 20, np.uint8))
        fmt = {"png": "PNG", "bmp": "BMP", "jpg": "JPEG", "gif": "GIF"}[name.rsplit(".", 1)[1].lower()]
        img.save(path("folder", name), format=fmt)
    write_bytes("folder/dog/notes.txt", b"not an image\n")
    write_bytes("folder/empty/readme.txt", b"a folder without images is no class\n")
    Image.fromarray(rgb).save(path("folder_bad", "ok", "good.png"))
    write_bytes("folder_bad/ok/broken.png", b"\x89PNG\r\n\x1a\n" + bytes(40))
    good = open(path("img_rgb_5x7.png"), "rb").read()
    write_bytes("folder_bad/ok/cut.png", good[: len(good) - 30])
    write_bytes("folder_none/readme.txt", b"no images here\n")
    Image.fromarray(rgb).save(path("folder_loose", "one.png"))
    Image.fromarray(rgb[::-1]).save(path("folder_loose", "two.bmp"))


def fit_size(w, h, side):
    """ev_dataset_thumbnail_fit's size: the longer side `side`, the shorter
    rounded half up, at least 1."""
    if w >= h:
        return side, max(1, int(h * side / w + 0.5))
    return max(1, int(w * side / h + 0.5)), side


def fit_fixtures():
    """Aspect-kept thumbnails (ev_dataset_thumbnail_fit) as PIL makes them:
    draft("RGB", twice the target) for JPEGs, convert("RGB"),
    resize(BILINEAR)."""
    Image.fromarray(smooth_image(150, 203, 3)).save(path("fit_photo_203x150.jpg"), quality=90)
    cases = {"fit_photo_203x150_24": ("fit_photo_203x150.jpg", 24),   # drafted at 1/4
             "fit_photo_203x150_64": ("fit_photo_203x150.jpg", 64),   # no draft (not 2x)
             "fit_b_61x29_16": ("pre_b_61x29.png", 16),               # shrink, portrait
             "fit_grey_6x4_12": ("img_grey_6x4.png", 12)}             # enlarge, grey
    for name, (src, side) in cases.items():
        im = Image.open(path(src))
        w, h = fit_size(im.size[0], im.size[1], side)
        im.draft("RGB", (2 * w, 2 * h))
        np.save(path(name + ".npy"), np.asarray(im.convert("RGB").resize((w, h), Image.BILINEAR)))


if __name__ == "__main__":
    npy_fixtures()
    idx_fixtures()
    rgb = image_fixtures()
    preprocess_fixtures()
    folder_fixtures(rgb)
    fit_fixtures()
    print("fixtures written to", os.path.normpath(OUT))
