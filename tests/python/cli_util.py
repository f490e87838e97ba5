"""Shared pieces of the embedviz tool's tests: build and run the tool."""
import os
import struct
import subprocess

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("BUILD", "build")


def tool_path():
    """The tool, built first when needed (through cli/cli.mk, included by the
    Makefile or given to make alongside it)."""
    path = os.environ.get("EMBEDVIZ_CLI")
    if path:
        return path
    with open(os.path.join(ROOT, "Makefile")) as f:
        included = "cli/cli.mk" in f.read()
    cmd = ["make", "-s", "--no-print-directory"] + ([] if included else ["-f", "Makefile", "-f", "cli/cli.mk"])
    subprocess.run(cmd + [f"{BUILD}/embedviz"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return os.path.join(ROOT, BUILD, "embedviz")


def run(*args, ok=True):
    """Run the tool; returns (status, stdout, stderr). ok=True asserts success."""
    p = subprocess.run([tool_path(), *map(str, args)], capture_output=True, text=True, timeout=600)
    if ok:
        assert p.returncode == 0, f"embedviz {' '.join(map(str, args))} failed: {p.stderr}"
    return p.returncode, p.stdout, p.stderr


def skip_without_browser():
    """Skip the test unless headless Chromium and python3-websocket (what
    tests/browser/'s scripts drive it with) are installed."""
    import shutil
    if not shutil.which("chromium"):
        pytest.skip("chromium is not installed (Debian package 'chromium')")
    try:
        import websocket  # noqa: F401
    except ImportError:
        pytest.skip("python3-websocket is not installed")


def browser_test(page, shot_name, script="test_report.py"):
    """Run tests/browser/SCRIPT on the report folder page in headless
    Chromium (skipped without it), its screenshot written to
    BUILD/browser/shot_name; asserts it passed. Returns (stdout, shot)."""
    import sys
    skip_without_browser()
    shot = os.path.join(ROOT, BUILD, "browser", shot_name)
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "browser", script), str(page), shot],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout, shot


def available(command):
    """Whether this build has a command (pca, knn, tsne, extract)."""
    status, _, err = run(command, ok=False)
    return "is not available" not in err


def png_size(path):
    """Width and height from a PNG's IHDR chunk."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def skip_unless(command):
    return pytest.mark.skipif(not available(command), reason=f"this libembedviz build has no {command}")


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def write_digits_data(d, n_test):
    """scikit-learn's 8 x 8 digits as the tool's --data folder d: the first
    n_test rows the test set (images, labels, a fake network's "feat" layer
    and softmax), the rest the training set. The fake network: a random
    projection as the penultimate layer and a softmax whose likeliest
    class is mostly right. Returns (x, y, feat, softmax) of all rows."""
    from sklearn.datasets import load_digits
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    feat = np.maximum(x @ rng.normal(size=(64, 16)), 0).astype(np.float32)
    probs = softmax(3 * np.eye(10)[y] + rng.normal(size=(len(y), 10)))
    n = n_test
    np.save(d / "test_images.npy", x[:n])
    np.save(d / "test_labels.npy", y[:n].astype(np.int32))
    np.save(d / "test_feat.npy", feat[:n])
    np.save(d / "test_softmax.npy", probs[:n].astype(np.float32))
    np.save(d / "train_images.npy", x[n:])
    np.save(d / "train_labels.npy", y[n:])
    np.save(d / "train_feat.npy", feat[n:])
    return x, y, feat, probs


# Paul Tol's muted scheme and mid grey, as docs/cli.md's pictures use: written
# out here, not read from the tool, so a wrong colour in the tool fails.
PALETTE = np.array([[0xCC, 0x66, 0x77], [0x33, 0x22, 0x88], [0xDD, 0xCC, 0x77], [0x11, 0x77, 0x33],
                    [0x88, 0xCC, 0xEE], [0x88, 0x22, 0x55], [0x44, 0xAA, 0x99], [0x99, 0x99, 0x33],
                    [0xAA, 0x44, 0x99], [0x77, 0x77, 0x77]])


def pixels(path):
    """A PNG's pixels as an H x W x 3 int array, decoded by PIL (not by us)."""
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


def colour_counts(px):
    """The distinct colours of an H x W x 3 picture (m x 3) and how many
    pixels have each: one sort of packed 24-bit values, fast on the report's
    1800 x 1800 pictures."""
    packed = (px[..., 0].astype(np.int64) << 16 | px[..., 1].astype(np.int64) << 8 | px[..., 2]).reshape(-1)
    values, counts = np.unique(packed, return_counts=True)
    return np.stack([values >> 16, values >> 8 & 255, values & 255], axis=1), counts


def assert_drawn(px, min_colours=3):
    """A picture with content: not blank, not a single colour."""
    colours, counts = colour_counts(px)
    assert len(colours) >= min_colours, f"{len(colours)} colours: a blank or single-colour picture"
    white = counts[(colours == 255).all(axis=1)].sum()
    assert 1 - white / counts.sum() > 0.001, "almost every pixel is white"


def palette_pixels(px, alpha=1.0, tol=2):
    """For each class colour, how many pixels have it (drawn at `alpha` over
    white, as the dots of a map are)."""
    want = np.floor(255 + alpha * (PALETTE - 255) + 0.5)
    colours, counts = colour_counts(px)
    near = np.abs(colours[:, None, :] - want[None]).max(axis=2) <= tol      # colour x class
    return (near * counts[:, None]).sum(axis=0)


# Kelly's 22 colours of maximum contrast (Color Engineering 3(6), 1965) without
# white and grey, in Kelly's order: the class colours beyond 10 classes; and
# Kelly's grey, the colour of the classes beyond the 20 largest ("other").
# Written out here, not read from the tool, so a wrong colour fails.
KELLY = np.array([[0x22, 0x22, 0x22], [0xF3, 0xC3, 0x00], [0x87, 0x56, 0x92], [0xF3, 0x84, 0x00],
                  [0xA1, 0xCA, 0xF1], [0xBE, 0x00, 0x32], [0xC2, 0xB2, 0x80], [0x00, 0x88, 0x56],
                  [0xE6, 0x8F, 0xAC], [0x00, 0x67, 0xA5], [0xF9, 0x93, 0x79], [0x60, 0x4E, 0x97],
                  [0xF6, 0xA6, 0x00], [0xB3, 0x44, 0x6C], [0xDC, 0xD3, 0x00], [0x88, 0x2D, 0x17],
                  [0x8D, 0xB6, 0x00], [0x65, 0x45, 0x22], [0xE2, 0x58, 0x22], [0x2B, 0x3D, 0x26]])
OTHER = np.array([0x84, 0x84, 0x82])


def class_table(page):
    """The report's per-class table (section 7) in page order: one dict per
    row with the class number, name, images, accuracy (a fraction, or None
    for '-') and the 'most often taken for' text; and the header cells."""
    import html.parser

    class Parser(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.inside, self.rows, self.heads, self.cell = False, [], [], None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "table" and a.get("id") == "class-table":
                self.inside = True
            elif self.inside and tag == "tr" and "data-class" in a:
                self.rows.append({"class": int(a["data-class"]), "cells": [], "v": None})
            elif self.inside and tag in ("td", "th"):
                self.cell = ""
                if tag == "td" and "data-v" in a:
                    self.rows[-1]["v"] = a["data-v"]

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

        def handle_endtag(self, tag):
            if tag == "table":
                self.inside = False
            elif self.inside and tag in ("td", "th") and self.cell is not None:
                (self.rows[-1]["cells"] if tag == "td" else self.heads).append(self.cell)
                self.cell = None

    p = Parser()
    p.feed(page)
    rows = [{"class": r["class"], "name": r["cells"][0], "images": int(r["cells"][1]),
             "accuracy": float(r["v"]) if r["v"] else None, "accuracy_text": r["cells"][2],
             "taken_for": r["cells"][3]} for r in p.rows]
    return rows, p.heads


def confusion_grid(px):
    """Top left corner and cell pitch of a confusion picture whose [0][0]
    cell has the largest value: the leftmost pixels of the ramp's darkest
    colour, then how long their row runs (cells are drawn one pixel short of
    the pitch, to leave a white line between them)."""
    dark = (px == (8, 48, 107)).all(axis=2)
    ys, xs = np.nonzero(dark)
    left = xs.min()
    top = ys[xs == left].min()
    run_len = 0
    while dark[top, left + run_len]:
        run_len += 1
    return left, top, run_len + 1
