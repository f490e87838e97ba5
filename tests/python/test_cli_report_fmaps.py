"""The report's side panel in the demo's own mode (--dataset IDX files
--model, the layers extracted by libembedviz): the early layer comes back
flattened from the model, and the panel must still get its C maps of H x W,
not its values row by row. Also: a data set of one's own gets its own class
names (or numbers), never Fashion-MNIST's for having 10 classes.

The data: scikit-learn's 8 x 8 digits written as IDX files, through a small
TorchScript network whose pool1 gives 4 maps of 4 x 4."""
import gzip
import json
import re
import struct

import numpy as np
import pytest

from cli_util import browser_test, run, skip_unless, skip_without_browser

FAST = ["--perplexity", 10, "--iterations", 250, "-q"]


def write_idx(path, a):
    """An IDX file as Fashion-MNIST's (big-endian sizes, unsigned bytes), gzip'd."""
    head = struct.pack(">HBB", 0, 8, a.ndim) + b"".join(struct.pack(">I", s) for s in a.shape)
    with gzip.open(path, "wb") as f:
        f.write(head + a.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    from sklearn.datasets import load_digits
    x, y = load_digits(return_X_y=True)
    d = tmp_path_factory.mktemp("digits_idx")
    img = np.rint(x * 255 / 16).reshape(-1, 8, 8)
    write_idx(d / "t10k-images-idx3-ubyte.gz", img[:300])
    write_idx(d / "t10k-labels-idx1-ubyte.gz", y[:300])
    write_idx(d / "train-images-idx3-ubyte.gz", img[300:])
    write_idx(d / "train-labels-idx1-ubyte.gz", y[300:])
    return d, img[:300].astype(np.float32) / 255, y[:300]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from torch import nn

    class Net(nn.Module):   # the demo network's layer names, in small
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
            self.pool1 = nn.MaxPool2d(2)
            self.flatten = nn.Flatten()
            self.fc1 = nn.Linear(4 * 4 * 4, 12)
            self.relu3 = nn.ReLU()
            self.fc2 = nn.Linear(12, 10)
            self.softmax = nn.Softmax(dim=1)

        def forward(self, x):
            return self.softmax(self.fc2(self.relu3(self.fc1(self.flatten(self.pool1(torch.relu(self.conv1(x))))))))

    torch.manual_seed(0)
    net = Net().eval()
    path = tmp_path_factory.mktemp("model") / "net.pt"
    torch.jit.script(net).save(str(path))
    return path, net


def page_fmaps(out):
    page = (out / "index.html").read_text()
    entry = re.search(r"fmaps:(\{[^}]*\})", page).group(1)
    return page, json.loads(re.sub(r"(\w+):", r'"\1":', entry))


@pytest.fixture(scope="module")
def demo_report(digits, model, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_report")
    status, _, err = run("report", "--dataset", digits[0], "--model", model[0], "-o", out, "-n", 300, *FAST, ok=False)
    if "is not available" in err:
        pytest.skip("this libembedviz build has no extraction (libtorch): " + err.strip())
    assert status == 0, err
    return out


@skip_unless("extract")
def test_dataset_model_report_gives_pool1s_maps_not_its_values_row_by_row(digits, model, demo_report):
    """pool1 comes back from the model as 64 values a row; the report knows
    it is 4 maps of 4 x 4 (ev_extractor_layer_shape) and draws each point's
    cell as a 2 x 2 grid of them, each map what torch computes."""
    import torch
    from PIL import Image
    _, fm = page_fmaps(demo_report)
    assert (fm["layer"], fm["c"], fm["h"], fm["w"], fm["grid"], fm["cellW"], fm["cellH"]) == ("pool1", 4, 4, 4, 2, 8, 8)
    assert (fm["step"], fm["n"], fm["shown"]) == (1, 300, 300)
    net = model[1]
    with torch.no_grad():
        x = torch.from_numpy(digits[1][:, None])
        maps = net.pool1(torch.relu(net.conv1(x))).numpy()
    assert fm["lo"] == pytest.approx(maps.min(), abs=1e-3) and fm["hi"] == pytest.approx(maps.max(), abs=1e-3)
    with Image.open(demo_report / "feature_maps.png") as im:
        assert im.size == (fm["perRow"] * 8, -(-300 // fm["perRow"]) * 8)
        g = np.asarray(im).astype(int)
    for i in (0, 17, 299):
        ox, oy = (i % fm["perRow"]) * 8, (i // fm["perRow"]) * 8
        for m in range(4):
            cell = g[oy + (m // 2) * 4: oy + (m // 2) * 4 + 4, ox + (m % 2) * 4: ox + (m % 2) * 4 + 4]
            want = np.rint((maps[i, m] - maps.min()) / (maps.max() - maps.min()) * 255)
            assert np.abs(cell - want).max() <= 1, (i, m)


@skip_unless("extract")
def test_digits_through_dataset_are_not_named_as_fashion_mnist(demo_report):
    page, _ = page_fmaps(demo_report)
    names = json.loads(re.search(r"names:(\[[^\]]*\])", page).group(1))
    assert names == ["class %d" % c for c in range(10)]
    assert "T-shirt" not in page and "Fashion-MNIST" not in page


@skip_unless("extract")
def test_budget_averages_the_maps_then_keeps_some_points(digits, model, tmp_path):
    """pool1's 4 x 4 maps are below the 14 x 14 the budget may average down
    to, so a budget of 0.0064 MB (6,400 grey pixels, 100 cells of 64) keeps
    100 of the 300 points, evenly spread, and the page lists them."""
    import torch
    from PIL import Image
    run("report", "--dataset", digits[0], "--model", model[0], "-o", tmp_path, "-n", 300,
        "--feature-maps-budget", 0.0064, *FAST)
    page, fm = page_fmaps(tmp_path)
    assert (fm["c"], fm["h"], fm["step"], fm["n"], fm["shown"]) == (4, 4, 1, 300, 100)
    rows = json.loads("[" + re.search(r"fmapsRows:new Int32Array\(\[([^\]]*)\]", page).group(1) + "]")
    assert rows == [j * 3 for j in range(100)]
    net = model[1]
    with torch.no_grad():
        maps = net.pool1(torch.relu(net.conv1(torch.from_numpy(digits[1][:, None])))).numpy()
    with Image.open(tmp_path / "feature_maps.png") as im:
        g = np.asarray(im).astype(int)
    j = 7   # cell 7 is row 21
    ox, oy = (j % fm["perRow"]) * 8, (j // fm["perRow"]) * 8
    lo, hi = maps.min(), maps.max()   # the one scale is the whole layer's
    assert fm["lo"] == pytest.approx(lo, abs=1e-3) and fm["hi"] == pytest.approx(hi, abs=1e-3)
    want = np.rint((maps[21, 3] - lo) / (hi - lo) * 255)
    assert np.abs(g[oy + 4: oy + 8, ox + 4: ox + 8] - want).max() <= 1


def test_budget_averages_large_maps_down_to_14(tmp_path):
    """--data maps of 28 x 28 over budget: averaged over 2 x 2 blocks to
    14 x 14 (no further), every point kept when that fits."""
    rng = np.random.default_rng(1)
    x = rng.random((60, 16), dtype=np.float32)
    y = np.arange(60) % 3
    maps = rng.random((60, 2, 28, 28), dtype=np.float32)
    for name, a in (("test_images", x), ("train_images", x), ("test_labels", y), ("train_labels", y),
                    ("test_feat", x), ("train_feat", x), ("test_conv", maps),
                    ("test_softmax", np.eye(3, dtype=np.float32)[y])):
        np.save(tmp_path / f"{name}.npy", a)
    out = tmp_path / "r"
    # 60 x 2 x 14 x 14 = 23,520 pixels; 2 x 28 x 28 = 1,568 a point would be 94,080
    run("report", "--data", tmp_path, "-o", out, "-L", "pixels,conv,feat,softmax", "--penultimate", "feat",
        "--feature-maps-budget", 0.03, "--perplexity", 5, "--iterations", 250, "-q")
    page, fm = page_fmaps(out)
    assert (fm["c"], fm["h0"], fm["h"], fm["w"], fm["step"], fm["shown"]) == (2, 28, 14, 14, 2, 60)
    assert "fmapsRows:null" in page
    from PIL import Image
    with Image.open(out / "feature_maps.png") as im:
        g = np.asarray(im).astype(int)
    pooled = maps.reshape(60, 2, 14, 2, 14, 2).mean(axis=(3, 5))
    lo, hi = fm["lo"], fm["hi"]
    i = 33
    ox, oy = (i % fm["perRow"]) * fm["cellW"], (i // fm["perRow"]) * fm["cellH"]
    want = np.rint((pooled[i, 1] - lo) / (hi - lo) * 255)
    assert np.abs(g[oy: oy + 14, ox + 14: ox + 28] - want).max() <= 1
    # the class names: none given, so numbers (3 classes); then a file's
    names = json.loads(re.search(r"names:(\[[^\]]*\])", page).group(1))
    assert names == ["class 0", "class 1", "class 2"]


def test_data_folder_gets_its_own_class_names(tmp_path):
    """Ten classes in --data: numbers, not Fashion-MNIST's names; with
    class_names.txt in the folder, or --classes FILE, those names."""
    rng = np.random.default_rng(2)
    x = rng.random((100, 16), dtype=np.float32)
    y = np.arange(100) % 10
    for name, a in (("test_images", x), ("train_images", x), ("test_labels", y), ("train_labels", y),
                    ("test_feat", x), ("train_feat", x), ("test_softmax", np.eye(10, dtype=np.float32)[y])):
        np.save(tmp_path / f"{name}.npy", a)
    args = ["-L", "pixels,feat,softmax", "--penultimate", "feat", "--perplexity", 5, "--iterations", 250, "-q"]

    def names(out):
        return json.loads(re.search(r"names:(\[[^\]]*\])", (out / "index.html").read_text()).group(1))

    run("report", "--data", tmp_path, "-o", tmp_path / "a", *args)
    assert names(tmp_path / "a") == ["class %d" % c for c in range(10)]
    own = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    (tmp_path / "mine.txt").write_text("\n".join(own) + "\n")
    run("report", "--data", tmp_path, "-o", tmp_path / "b", "--classes", tmp_path / "mine.txt", *args)
    assert names(tmp_path / "b") == own
    (tmp_path / "class_names.txt").write_text("\n".join(n.upper() for n in own) + "\n")
    run("report", "--data", tmp_path, "-o", tmp_path / "c", *args)
    assert names(tmp_path / "c") == [n.upper() for n in own]
    (tmp_path / "few.txt").write_text("a\nb\n")
    status, _, err = run("report", "--data", tmp_path, "-o", tmp_path / "d", "--classes", tmp_path / "few.txt", *args,
                         ok=False)
    assert status == 1 and "has 2 class names for 10 classes" in err


@skip_unless("extract")
def test_side_panel_in_headless_chromium_with_some_points_kept(digits, model, tmp_path):
    """tests/browser/test_report.py on a report whose budget kept the maps of
    100 of 300 points: a point with maps shows its own cell of the sprite,
    one without says the page has none for it."""
    skip_without_browser()
    out = tmp_path / "r"
    run("report", "--dataset", digits[0], "--model", model[0], "-o", out, "-n", 300,
        "--feature-maps-budget", 0.0064, *FAST)
    stdout, _ = browser_test(out, "report-fmaps-budget.png")
    assert "ok    a point without maps says so" in stdout
    assert re.search(r"ok    (clicking shows the point's feature maps of pool1 .*its own cell: True|the clicked point)",
                     stdout)
