"""embedviz report on a small real data set (scikit-learn's 8 x 8 digits):
the folder it writes, the pictures the page refers to, the data inline."""
import html.parser
import os
import re

import numpy as np
import pytest

from cli_util import png_size, run, skip_unless, softmax


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from sklearn.datasets import load_digits
    d = tmp_path_factory.mktemp("digits")
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    # A fake "network": a random projection as the penultimate layer, and a
    # softmax whose likeliest class is mostly right.
    feat = np.maximum(x @ rng.normal(size=(64, 16)), 0).astype(np.float32)
    logits = 3 * np.eye(10)[y] + rng.normal(size=(len(y), 10))
    np.save(d / "test_images.npy", x[:400])
    np.save(d / "test_labels.npy", y[:400].astype(np.int32))
    np.save(d / "test_feat.npy", feat[:400])
    np.save(d / "test_softmax.npy", softmax(logits[:400]).astype(np.float32))
    np.save(d / "train_images.npy", x[400:])
    np.save(d / "train_labels.npy", y[400:])
    np.save(d / "train_feat.npy", feat[400:])
    return d, softmax(logits[:400]), y[:400]


class Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs, self.scripts_src, self.links = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.srcs.append(a.get("src"))
        if tag == "script" and "src" in a:
            self.scripts_src.append(a["src"])
        if tag == "link":
            self.links.append(a.get("href"))


@pytest.fixture(scope="module")
def report(inputs, tmp_path_factory):
    d, _, _ = inputs
    out = tmp_path_factory.mktemp("report")
    status, _, err = run("report", "--data", d, "-o", out, "-L", "pixels,feat,softmax", "--penultimate", "feat",
                         "-n", 300, "--perplexity", 10, "--iterations", 250, "-q", ok=False)
    if "lacks" in err or "is not available" in err:
        pytest.skip("this libembedviz build lacks what the report needs: " + err.strip())
    assert status == 0, err
    return out


def test_report_writes_every_picture_the_page_shows(report):
    page = (report / "index.html").read_text()
    refs = Refs()
    refs.feed(page)
    assert len(refs.srcs) >= 12
    for src in refs.srcs:
        assert not re.match(r"^[a-z]+:", src), f"{src}: the page must not load from the network"
        assert (report / src).is_file(), f"index.html shows {src}, which is not in the folder"
        png_size(report / src)
    assert "sprite.png" in page and (report / "sprite.png").is_file()
    assert not refs.scripts_src and not refs.links, "scripts and styles are inline"
    assert "http://" not in page and "https://" not in page.replace("https://personal.sron.nl", "")


def test_report_pictures_have_the_expected_sizes(report):
    for l, name in enumerate(["pixels", "feat", "softmax"]):
        assert png_size(report / f"map_{l}_{name}.png") == (900, 700)
    # sprite: 64 thumbnails of 8 x 8 a row, 300 images -> 5 rows
    assert png_size(report / "sprite.png") == (64 * 8, 5 * 8)
    assert png_size(report / "neighbours_pixels.png")[0] > 11 * 16


def test_report_data_inline_has_one_entry_per_image(report, inputs):
    _, probs, y = inputs
    page = (report / "index.html").read_text()

    def array(key):
        m = re.search(key + r":new \w+Array\(\[([^\]]*)\]\)", page)
        assert m, key
        return np.array([float(v) for v in m.group(1).split(",")])

    labels, pred, nn = array("labels"), array("pred"), array("nn")
    assert (labels == y[:300]).all()
    assert (pred == probs[:300].argmax(1)).all()
    assert len(nn) == 300 * 10 and nn.min() >= 0 and nn.max() < 300
    assert len(array("map")) == 600 and len(array("map3d")) == 900
    accuracy = (probs[:300].argmax(1) == y[:300]).mean()
    assert f"<b>{100 * accuracy:.1f}%</b>" in page


def test_report_errors(tmp_path, inputs):
    d, _, _ = inputs
    status, _, err = run("report", "--data", tmp_path / "empty", "-o", tmp_path / "r", ok=False)
    assert status == 1 and "test_images.npy" in err
    status, _, err = run("report", "--data", d, "-o", tmp_path / "r2", "-L", "pixels,softmax", ok=False)
    assert status == 1 and "penultimate" in err
    (tmp_path / "file").write_text("x")
    status, _, err = run("report", "--data", d, "-o", tmp_path / "file", ok=False)
    assert status == 1 and "not a folder" in err


def test_report_in_headless_chromium(report):
    """tests/browser/test_report.py on this report: loads with no console
    error, every picture loads, hovering shows the image, clicking lists the
    neighbours, the 3-D map turns; saves build/browser/report.png."""
    import shutil
    import subprocess
    import sys
    from cli_util import BUILD, ROOT
    if not shutil.which("chromium"):
        pytest.skip("chromium is not installed (Debian package 'chromium')")
    try:
        import websocket  # noqa: F401
    except ImportError:
        pytest.skip("python3-websocket is not installed")
    shot = os.path.join(ROOT, BUILD, "browser", "report.png")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "browser", "test_report.py"), str(report), shot],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert os.path.getsize(shot) > 10000
