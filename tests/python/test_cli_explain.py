"""embedviz explain on scikit-learn's 8 x 8 digits: the picture it writes,
the numbers it prints against numpy, and its bad inputs."""

import numpy as np
import pytest

from cli_util import assert_drawn, browser_test, pixels, png_size, run, skip_unless, write_digits_data


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("digits")
    x, y, feat, probs = write_digits_data(d, 300)
    # a layer that kept its maps (n x C x H x W) and one that did not
    maps = np.stack([x[:300].reshape(-1, 8, 8) * k for k in (1.0, -0.5, 2.0)], axis=1)
    np.save(d / "test_conv.npy", maps.astype(np.float32))
    np.save(d / "test_flat.npy", maps.reshape(300, -1).astype(np.float32))
    return d, x[:300], y[:300], feat[:300], probs[:300]


def explain(d, out, *extra, ok=True):
    return run("explain", "--data", d, "--penultimate", "feat", "-o", out, "--perplexity", 10,
               "--iterations", 250, "-q", *extra, ok=ok)


def facts(stdout):
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in stdout.splitlines() if " " in line}


@pytest.fixture(scope="module")
def story(data, tmp_path_factory):
    d = data[0]
    out = tmp_path_factory.mktemp("explain") / "e.png"
    _, stdout, _ = explain(d, out, "--index", 17, "--layer", "conv")
    return out, facts(stdout)


def test_picture_is_written_with_every_panel(story):
    out, f = story
    assert png_size(out) == (1800, 44 + 3 * 520)
    px = pixels(out)
    assert_drawn(px, min_colours=50)
    # the heatmaps use the one colour ramp: its two ends are both there
    # (dark violet for the lowest value, yellow for the highest)
    colours = {tuple(c) for c in px.reshape(-1, 3)[::7]}
    assert (68, 1, 84) in colours and (253, 231, 37) in colours
    assert f["maps"] == "conv: 3 maps of 8 x 8"


def test_prediction_and_neighbours_are_numpys(data, story):
    _, x, y, feat, probs = data
    f = story[1]
    assert f["index"] == "17"
    assert f["true"].split()[0] == str(y[17])
    pred = f["predicted"].split()
    assert pred[0] == str(probs[17].argmax())
    assert float(pred[pred.index("probability") + 1]) == pytest.approx(probs[17].max(), abs=1e-4)
    dist = ((feat.astype(np.float64) - feat[17]) ** 2).sum(axis=1)
    dist[17] = np.inf
    want = np.argsort(dist, kind="stable")[:8]
    assert [int(v) for v in f["neighbours"].split()] == want.tolist()


def test_pca_contributions_are_numpys(data, story):
    feat = data[3].astype(np.float64)
    f = story[1]
    mean = feat.mean(axis=0)
    _, s, vt = np.linalg.svd(feat - mean, full_matrices=False)
    for k in range(2):
        c = (feat[17] - mean) * vt[k]          # up to the component's sign
        want = np.argsort(-np.abs(c), kind="stable")[:10]
        got = [p.split(":") for p in f["pc%d_contributions" % (k + 1)].split()]
        assert [int(name[1:]) for name, _ in got] == want.tolist()
        values = np.array([float(v) for _, v in got])
        sign = np.sign(values[0]) * np.sign(c[want[0]])
        np.testing.assert_allclose(values, sign * c[want], rtol=1e-3, atol=1e-4)
        ratio = s[k] ** 2 / (s ** 2).sum()
        assert float(f["pc%d_variance" % (k + 1)]) == pytest.approx(ratio, abs=1e-4)


def test_ridge_lines(data, tmp_path):
    d = data[0]
    _, stdout, _ = explain(d, tmp_path / "e.png", "--index", 3)
    ridge = [l.split()[1:] for l in stdout.splitlines() if l.startswith("ridge ")]
    alpha_line = next(r for r in ridge if r[0] == "alpha")
    r2 = next(r for r in ridge if r[0] == "r2_train")
    train, loo = [float(v) for v in r2[1:3]], [float(v) for v in r2[4:6]]
    assert all(0 < t <= 1 for t in train)
    assert all(l <= t + 1e-9 for l, t in zip(loo, train))   # left-out never beats the training fit
    assert float(alpha_line[1]) > 0
    # "alpha A rank R of 16 features": the rank of the centred features
    assert alpha_line[2] == "rank" and alpha_line[5] == "16" and int(alpha_line[3]) <= 16
    order = [int(v) for l in stdout.splitlines() if l.startswith("correlation_order") for v in l.split()[1:]]
    assert sorted(order) == list(range(16))


def test_layer_without_spatial_maps_is_said_to_be_one(data, tmp_path):
    d = data[0]
    _, stdout, _ = explain(d, tmp_path / "e.png", "--index", 5, "--layer", "flat")
    line = facts(stdout)["maps"]
    assert "flat has no spatial maps" in line and "rows of 192 values" in line
    assert png_size(tmp_path / "e.png") == (1800, 44 + 3 * 520)


def test_index_outside_the_data_is_refused_before_any_work(data, tmp_path):
    d = data[0]
    out = tmp_path / "e.png"
    status, _, err = explain(d, out, "--index", 300, ok=False)
    assert status == 1
    assert "--index 300 is outside the data" in err and "pass an index from 0 to 299" in err
    assert not out.exists()
    status, _, err = explain(d, out, "--index", 250, "--samples", 200, ok=False)
    assert status == 1 and "fewer read with --samples" in err and "0 to 199" in err
    status, _, err = run("explain", "--data", d, ok=False)
    assert status == 2 and "--index N" in err
    status, _, err = run("explain", "--data", d, "--index", -1, ok=False)
    assert status == 2


def test_help():
    status, out, _ = run("explain", "--help")
    assert status == 0 and out.startswith("Usage: embedviz explain")
    _, out, _ = run("--help")
    assert "\n  explain " in out


@skip_unless("extract")
def test_model_gives_the_first_conv_layers_maps(data, tmp_path):
    torch = pytest.importorskip("torch")
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 5, 3, padding=1)
            self.conv2 = nn.Conv2d(5, 2, 3)
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(2 * 6 * 6, 10)

        def forward(self, x):
            return self.fc(self.flatten(self.conv2(torch.relu(self.conv1(x)))))

    torch.manual_seed(0)
    path = tmp_path / "net.pt"
    torch.jit.script(Net().eval()).save(str(path))
    _, stdout, _ = explain(data[0], tmp_path / "e.png", "--index", 9, "--model", path)
    assert facts(stdout)["maps"] == "conv1 (first Conv2d of the model): 5 maps of 8 x 8"


# ---- the report's side panel: the clicked point's feature maps ----------------

@pytest.fixture(scope="module")
def report_with_maps(data, tmp_path_factory):
    d = data[0]
    out = tmp_path_factory.mktemp("report")
    run("report", "--data", d, "-o", out, "-L", "pixels,conv,feat,softmax", "--penultimate", "feat",
        "-n", 300, "--perplexity", 10, "--iterations", 250, "-q")
    return out


def test_report_writes_every_points_feature_maps(data, report_with_maps):
    """feature_maps.png holds each point's 3 maps of 8 x 8 (2 x 2 grid of
    cells, the fourth empty) on the layer's one grey scale."""
    import json
    import re
    maps = np.load(data[0] / "test_conv.npy")
    page = (report_with_maps / "index.html").read_text()
    entry = re.search(r"fmaps:(\{[^}]*\})", page).group(1)
    fm = json.loads(re.sub(r"(\w+):", r'"\1":', entry))
    assert (fm["layer"], fm["c"], fm["h"], fm["w"], fm["grid"], fm["cellW"], fm["cellH"]) == ("conv", 3, 8, 8, 2, 16, 16)
    assert fm["lo"] == pytest.approx(maps.min(), abs=1e-3) and fm["hi"] == pytest.approx(maps.max(), abs=1e-3)
    from PIL import Image
    with Image.open(report_with_maps / "feature_maps.png") as im:
        assert im.mode == "L"
        g = np.asarray(im).astype(int)
    for i in (0, 17, 299):
        ox, oy = (i % fm["perRow"]) * 16, (i // fm["perRow"]) * 16
        for m in range(3):
            cell = g[oy + (m // 2) * 8: oy + (m // 2) * 8 + 8, ox + (m % 2) * 8: ox + (m % 2) * 8 + 8]
            want = np.rint((maps[i, m] - maps.min()) / (maps.max() - maps.min()) * 255)
            assert np.abs(cell - want).max() <= 1, (i, m)


def test_report_without_an_early_layer_has_no_feature_maps(data, tmp_path):
    run("report", "--data", data[0], "-o", tmp_path, "-L", "pixels,feat,softmax", "--penultimate", "feat",
        "-n", 100, "--perplexity", 10, "--iterations", 250, "-q")
    assert "fmaps:null" in (tmp_path / "index.html").read_text()
    assert not (tmp_path / "feature_maps.png").exists()


def test_report_side_panel_in_headless_chromium(report_with_maps):
    """tests/browser/test_report.py clicks a point and sees its feature-map
    panel (the line it prints for that check)."""
    stdout, _ = browser_test(report_with_maps, "report-fmaps.png")
    assert "ok    clicking shows the point's feature maps of conv" in stdout


def test_report_layer_without_spatial_shape_gives_its_values_row_by_row(data, tmp_path):
    import json
    import re
    run("report", "--data", data[0], "-o", tmp_path, "-L", "pixels,flat,feat,softmax", "--penultimate", "feat",
        "-n", 100, "--perplexity", 10, "--iterations", 250, "-q")
    flat = np.load(data[0] / "test_flat.npy")[:100]
    entry = re.search(r"fmaps:(\{[^}]*\})", (tmp_path / "index.html").read_text()).group(1)
    fm = json.loads(re.sub(r"(\w+):", r'"\1":', entry))
    assert (fm["c"], fm["cols"], fm["cellW"], fm["cellH"]) == (0, 192, 14, 14)   # ceil(sqrt(192)) = 14
    from PIL import Image
    with Image.open(tmp_path / "feature_maps.png") as im:
        g = np.asarray(im).astype(int)
    i = 42
    ox, oy = (i % fm["perRow"]) * 14, (i // fm["perRow"]) * 14
    cell = g[oy:oy + 14, ox:ox + 14].reshape(-1)[:192]
    want = np.rint((flat[i] - flat.min()) / (flat.max() - flat.min()) * 255)
    assert np.abs(cell - want).max() <= 1


# ---- the ridge regression on a UMAP map ----------------------------------------

def test_ridge_on_the_umap_map_is_sklearns(data, tmp_path):
    """--map umap: the point is ringed on the UMAP map of the penultimate
    layer (the library's UMAP with n_neighbors 15, seed 0: the Python
    binding's map to float rounding) and the ridge regression is fitted to
    it: R^2 on the training rows as scikit-learn's Ridge at the alpha
    printed, and that alpha the one RidgeCV's leave-one-out picks on the
    library's grid."""
    from sklearn.linear_model import Ridge, RidgeCV
    from sklearn.metrics import r2_score
    import embedviz
    d, _, _, feat, _ = data
    _, stdout, _ = explain(d, tmp_path / "e.png", "--index", 4, "--map", "umap", "--map-output", tmp_path / "map.npy")
    umap = np.load(tmp_path / "map.npy")
    assert umap.shape == (300, 2)
    want = embedviz.UMAP(n_neighbors=15, random_state=0).fit_transform(feat)
    np.testing.assert_allclose(umap, want, atol=1e-4)
    lines = {l.split()[1]: l.split()[2:] for l in stdout.splitlines() if l.startswith("ridge ")}
    assert lines["map"] == ["umap"]
    alpha = float(lines["alpha"][0])
    grid = 10.0 ** np.arange(-3, 6.01, 0.5)
    assert RidgeCV(alphas=grid).fit(feat.astype(np.float64), umap.astype(np.float64)).alpha_ == pytest.approx(alpha)
    fit = Ridge(alpha=alpha).fit(feat.astype(np.float64), umap.astype(np.float64))
    r2 = r2_score(umap, fit.predict(feat.astype(np.float64)), multioutput="raw_values")
    np.testing.assert_allclose([float(v) for v in lines["r2_train"][:2]], r2, atol=1e-4)
    # the t-SNE map is another map: its fit differs
    _, tsne_out, _ = explain(d, tmp_path / "t.png", "--index", 4, "--map-output", tmp_path / "tsne.npy")
    assert not np.allclose(np.load(tmp_path / "tsne.npy"), umap)
    assert next(l for l in tsne_out.splitlines() if l.startswith("ridge map")) == "ridge map tsne"


def test_map_must_be_tsne_or_umap(data, tmp_path):
    status, _, err = explain(data[0], tmp_path / "e.png", "--index", 4, "--map", "pca", ok=False)
    assert status == 2 and "--map is tsne or umap, got 'pca'" in err


# ---- explain in the report's other modes ------------------------------------------

@skip_unless("extract")
def test_dataset_and_model_give_conv1s_maps_and_class_numbers(tmp_path):
    """The demo's mode: IDX files (digits, 10 classes, not Fashion-MNIST)
    through a model: conv1's maps, and the classes as numbers."""
    from test_cli_report_fmaps import write_idx
    torch = pytest.importorskip("torch")
    from torch import nn
    from sklearn.datasets import load_digits
    x, y = load_digits(return_X_y=True)
    img = np.rint(x * 255 / 16).reshape(-1, 8, 8)
    d = tmp_path / "digits"
    d.mkdir()
    write_idx(d / "t10k-images-idx3-ubyte.gz", img[:200])
    write_idx(d / "t10k-labels-idx1-ubyte.gz", y[:200])
    write_idx(d / "train-images-idx3-ubyte.gz", img[200:500])
    write_idx(d / "train-labels-idx1-ubyte.gz", y[200:500])

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
            self.pool1 = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(6 * 4 * 4, 12)
            self.relu3 = nn.ReLU()
            self.fc2 = nn.Linear(12, 10)
            self.softmax = nn.Softmax(dim=1)

        def forward(self, x):
            return self.softmax(self.fc2(self.relu3(self.fc1(torch.flatten(self.pool1(self.conv1(x)), 1)))))

    torch.manual_seed(0)
    torch.jit.script(Net().eval()).save(str(tmp_path / "net.pt"))
    _, stdout, _ = run("explain", "--dataset", d, "--model", tmp_path / "net.pt", "--index", 7, "-o", tmp_path / "e.png",
                       "--perplexity", 10, "--iterations", 250, "-q")
    f = facts(stdout)
    assert f["maps"] == "conv1 (first Conv2d of the model): 6 maps of 8 x 8"
    assert f["true"] == str(y[7])          # a number: no Fashion-MNIST name for a digit
    status, _, err = run("explain", "--dataset", d, "--model", tmp_path / "net.pt", "--index", 200, "-o",
                         tmp_path / "e2.png", ok=False)
    assert status == 1 and "--index 200 is outside the data" in err and "t10k-labels-idx1-ubyte.gz" in err
    status, _, err = run("explain", "--dataset", d, "--index", 3, ok=False)
    assert status == 2 and "--dataset DIR needs --model FILE" in err
