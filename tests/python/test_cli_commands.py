"""The embedviz tool's commands on small inputs: the files they write, their
values against NumPy/scikit-learn, and their errors on bad arguments and bad
files."""
import csv
import os

import numpy as np
import pytest

from cli_util import PALETTE, assert_drawn, confusion_grid, palette_pixels, pixels, png_size, run, skip_unless, softmax

COMMANDS = ["extract", "pca", "tsne", "umap", "knn", "ambiguity", "confusion", "plot", "report", "explain"]


# ---- usage -------------------------------------------------------------------

def test_help_lists_every_command():
    _, out, _ = run("--help")
    for c in COMMANDS:
        assert f"\n  {c} " in out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command):
    status, out, _ = run(command, "--help")
    assert status == 0 and out.startswith("Usage: embedviz " + command)


def test_unknown_command_is_a_usage_error():
    status, _, err = run("frobnicate", ok=False)
    assert status == 2 and "unknown command 'frobnicate'" in err


@pytest.mark.parametrize("args", [["ambiguity"], ["confusion", "-l", "x.npy"], ["plot"], ["plot", "pie", "-i", "a", "-o", "b"],
                                  ["pca", "-i", "x.npy"], ["knn", "-o", "y.npy"], ["report"]])
def test_missing_or_wrong_arguments_are_usage_errors(args):
    status, _, err = run(*args, ok=False)
    assert status in (1, 2) and err.startswith("embedviz: ")
    if args[0] not in ("pca", "knn") or "is not available" not in err:
        assert status == 2


@pytest.mark.parametrize("value", ["abc", "-3", "1.5", ""])
def test_bad_numbers_are_refused(tmp_path, value):
    status, _, err = run("ambiguity", "-i", "p.npy", "-o", tmp_path / "t.csv", "--top", value, ok=False)
    assert status == 2 and "--top" in err


def test_version():
    _, out, _ = run("--version")
    assert out.startswith("embedviz 1.")


# ---- bad files ---------------------------------------------------------------

def test_missing_file(tmp_path):
    status, _, err = run("ambiguity", "-i", tmp_path / "nope.npy", "-o", tmp_path / "t.csv", ok=False)
    assert status == 1 and "no such file" in err.lower()


def test_not_a_npy_file(tmp_path):
    bad = tmp_path / "bad.npy"
    bad.write_text("hello, world\n")
    status, _, err = run("ambiguity", "-i", bad, "-o", tmp_path / "t.csv", ok=False)
    assert status == 1 and "not a .npy file" in err


def test_truncated_npy_file(tmp_path):
    p = tmp_path / "p.npy"
    np.save(p, np.full((50, 4), 0.25, np.float32))
    data = p.read_bytes()
    p.write_bytes(data[:-17])
    status, _, err = run("ambiguity", "-i", p, "-o", tmp_path / "t.csv", ok=False)
    assert status == 1 and "truncated" in err


def test_fortran_order_is_read_in_c_order(tmp_path):
    p = tmp_path / "p.npy"
    x = np.arange(20, dtype=np.float64).reshape(5, 4) / 20
    np.save(p, np.asfortranarray(x))
    run("pca", "-i", p, "-o", tmp_path / "s.npy", "-k", 2)
    ref = tmp_path / "ref.npy"
    np.save(ref, np.ascontiguousarray(x.astype(np.float32)))
    run("pca", "-i", ref, "-o", tmp_path / "r.npy", "-k", 2)
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), np.load(tmp_path / "r.npy"))


def test_float_labels_must_be_integers(tmp_path):
    p = tmp_path / "p.npy"
    np.save(p, np.full((3, 2), 0.5, np.float32))
    y = tmp_path / "y.npy"
    np.save(y, np.array([0, 1.5, 1]))
    status, _, err = run("confusion", "-l", y, "-p", y, "-o", tmp_path / "c.csv", ok=False)
    assert status == 1 and "not an integer" in err


@pytest.mark.parametrize("shape", [(0, 4), (5, 0), (0,)])
def test_empty_arrays_are_refused(tmp_path, shape):
    p = tmp_path / "e.npy"
    np.save(p, np.zeros(shape, np.float32))
    status, _, err = run("pca", "-i", p, "-o", tmp_path / "s.npy", "-k", 1, ok=False)
    assert status == 1 and "is empty" in err
    assert not (tmp_path / "s.npy").exists()


def test_library_message_on_bad_values(tmp_path):
    p = tmp_path / "p.npy"
    a = np.full((5, 3), 1 / 3, np.float32)
    a[2, 1] = np.nan
    np.save(p, a)
    status, _, err = run("ambiguity", "-i", p, "-o", tmp_path / "t.csv", ok=False)
    assert status == 1 and "EV_ERR_NONFINITE" in err


def test_unwritable_output(tmp_path):
    p = tmp_path / "p.npy"
    np.save(p, np.full((5, 3), 1 / 3, np.float32))
    status, _, err = run("ambiguity", "-i", p, "-o", tmp_path / "no" / "dir" / "t.csv", ok=False)
    assert status == 1 and "cannot write" in err


# ---- ambiguity and confusion ---------------------------------------------------

def test_ambiguity_table_matches_numpy(tmp_path):
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(40, 5)).astype(np.float32) * 3
    y = rng.integers(0, 5, 40)
    np.save(tmp_path / "z.npy", logits)
    np.save(tmp_path / "y.npy", y)
    run("ambiguity", "-i", tmp_path / "z.npy", "--logits", "-l", tmp_path / "y.npy", "-o", tmp_path / "t.csv")
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert len(rows) == 40 and list(rows[0]) == ["row", "ambiguity", "margin", "entropy", "top1", "top2", "label"]
    p = softmax(logits.astype(np.float64))
    s = np.sort(p, axis=1)
    for i, r in enumerate(rows):
        assert int(float(r["row"])) == i
        assert float(r["ambiguity"]) == pytest.approx(s[i, -2] / s[i, -1], abs=1e-5)
        assert float(r["margin"]) == pytest.approx(s[i, -1] - s[i, -2], abs=1e-5)
        assert float(r["entropy"]) == pytest.approx(-(p[i] * np.log(p[i])).sum(), abs=1e-4)
        assert int(float(r["top1"])) == p[i].argmax() and int(float(r["label"])) == y[i]


def test_ambiguity_top_rows_most_ambiguous_first(tmp_path):
    p = np.array([[0.9, 0.1], [0.5, 0.5], [0.6, 0.4], [0.99, 0.01]], np.float32)
    np.save(tmp_path / "p.npy", p)
    run("ambiguity", "-i", tmp_path / "p.npy", "-n", 2, "-o", tmp_path / "t.npy")
    t = np.load(tmp_path / "t.npy")
    assert t.shape == (2, 6) and t.dtype == np.float32
    assert list(t[:, 0]) == [1, 2] and t[0, 1] == pytest.approx(1.0) and t[1, 1] == pytest.approx(2 / 3)


def test_confusion_counts_and_accuracy(tmp_path):
    y = np.array([0, 0, 1, 1, 1, 2], np.int32)
    pred = np.array([0, 1, 1, 1, 2, 2], np.int64)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "p.npy", pred)
    run("confusion", "-l", tmp_path / "y.npy", "-p", tmp_path / "p.npy", "-o", tmp_path / "cm.npy",
        "-a", tmp_path / "acc.csv")
    cm = np.load(tmp_path / "cm.npy")
    assert cm.tolist() == [[1, 1, 0], [0, 2, 1], [0, 0, 1]]
    acc = [float(r[0]) for r in list(csv.reader(open(tmp_path / "acc.csv")))[1:]]
    assert acc == pytest.approx([0.5, 2 / 3, 1.0])


def test_confusion_from_scores_and_csv_input(tmp_path):
    (tmp_path / "y.csv").write_text("label\n1\n0\n")
    (tmp_path / "s.csv").write_text("0.2,0.8\n0.3,0.7\n")
    run("confusion", "-l", tmp_path / "y.csv", "-s", tmp_path / "s.csv", "-o", tmp_path / "cm.csv")
    assert (tmp_path / "cm.csv").read_text() == "0,1\n0,1\n"


def test_confusion_label_out_of_range_gives_library_message(tmp_path):
    np.save(tmp_path / "y.npy", np.array([0, 5]))
    np.save(tmp_path / "p.npy", np.array([0, 1]))
    status, _, err = run("confusion", "-l", tmp_path / "y.npy", "-p", tmp_path / "p.npy", "-c", 3,
                         "-o", tmp_path / "cm.npy", ok=False)
    assert status == 1 and "EV_ERR_ARGUMENT" in err


# ---- plot ---------------------------------------------------------------------

def test_plot_scatter_and_images(tmp_path):
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(300, 2)).astype(np.float32)
    y = rng.integers(0, 10, 300)
    imgs = rng.random((300, 64)).astype(np.float32)
    for name, arr in (("xy", xy), ("y", y), ("im", imgs), ("mark", (y == 3).astype(np.float32))):
        np.save(tmp_path / f"{name}.npy", arr)
    run("plot", "scatter", "-i", tmp_path / "xy.npy", "-l", tmp_path / "y.npy", "--mark", tmp_path / "mark.npy",
        "--title", "test", "-o", tmp_path / "s.png")
    assert png_size(tmp_path / "s.png") == (900, 700)
    px = pixels(tmp_path / "s.png")
    assert_drawn(px)
    # in the map (left of the legend at x = 700), the marked points (class
    # 3) on top in their full colour, the others faint
    assert palette_pixels(px[:, :690])[3] >= 20 * 9
    assert (palette_pixels(px[:, :690], alpha=0.25, tol=3) > 0).sum() >= 8
    run("plot", "images", "-i", tmp_path / "xy.npy", "--images", tmp_path / "im.npy", "-l", tmp_path / "y.npy",
        "--size", 600, "-o", tmp_path / "m.png")
    assert png_size(tmp_path / "m.png") == (600, 600)   # 50 cells of 8 + 4 pixels
    # every cell of 12 pixels is empty or holds one point's 8 x 8 image
    # (grey 255 - 255 v) in a 2-pixel frame of its class colour
    px = pixels(tmp_path / "m.png")
    assert_drawn(px)
    grey = np.floor(np.float32(255) - np.float32(255) * imgs + np.float32(0.5)).astype(int)
    shown = []
    for cy in range(50):
        for cx in range(50):
            cell = px[cy * 12:(cy + 1) * 12, cx * 12:(cx + 1) * 12]
            if (cell == 255).all():
                continue
            inner = cell[2:10, 2:10, 0].reshape(-1)
            assert (cell[2:10, 2:10] == cell[2:10, 2:10, :1]).all(), "thumbnails are grey"
            match = np.flatnonzero(np.abs(grey - inner).max(axis=1) <= 1)
            assert len(match) == 1, f"cell ({cx}, {cy}) holds no input image"
            i = match[0]
            assert (np.abs(cell[0, 1:11] - PALETTE[y[i]]).max() <= 1), f"cell ({cx}, {cy}): frame colour"
            shown.append(i)
    assert len(shown) == len(set(shown)) and len(shown) >= 150, len(shown)
    assert 0 in shown                                    # the first point is never crowded out


def test_plot_scatter_dots_have_their_class_colour(tmp_path):
    """20 points apart on a grid, class i % 10: at each point's place the
    picture has its class colour at 0.85 over white; nowhere else a dot."""
    g = np.stack(np.meshgrid(np.arange(5.0), np.arange(4.0)), -1).reshape(-1, 2).astype(np.float32)
    y = np.arange(20) % 10
    np.save(tmp_path / "xy.npy", g)
    np.save(tmp_path / "y.npy", y)
    run("plot", "scatter", "-i", tmp_path / "xy.npy", "-l", tmp_path / "y.npy", "-o", tmp_path / "s.png")
    px = pixels(tmp_path / "s.png")
    assert_drawn(px, min_colours=11)
    # the map's frame: 604 x 576 at (76, 50) (figures.c MAP_FRAME: room for the
    # axes' numbers), the bounds padded by 4 %, equal scales
    lo, hi = g.min(0), g.max(0)
    pad = (hi - lo) * np.float32(0.04) + np.float32(1e-6)
    lo, hi = lo - pad, hi + pad
    s = min(604 / (hi[0] - lo[0]), 576 / (hi[1] - lo[1]))
    c = (lo + hi) / 2
    want = np.floor(255 + 0.85 * (PALETTE - 255) + 0.5)
    for (x, yy), k in zip(g, y):
        col, row = int(76 + 302 + (x - c[0]) * s), int(50 + 288 - (yy - c[1]) * s)
        assert np.abs(px[row, col] - want[k]).max() <= 2, f"point ({x}, {yy}) of class {k}: {px[row, col]}"
    counts = palette_pixels(px[:, :690], alpha=0.85)     # left of the legend
    assert (counts >= 2 * 9).all() and (counts <= 2 * 49).all(), counts   # two dots of r = 3 each


def test_plot_scree_and_confusion(tmp_path):
    np.save(tmp_path / "r.npy", np.array([0.5, 0.3, 0.2], np.float32))
    run("plot", "scree", "-i", tmp_path / "r.npy", "-o", tmp_path / "scree.png")
    assert png_size(tmp_path / "scree.png")[0] > 500
    assert scree_bars(pixels(tmp_path / "scree.png"), 3) == [190, 114, 76]   # 380 pixels a 100 %
    # the largest count in the top left cell (confusion_grid finds it by the
    # ramp's darkest colour); the other cells lighter as their counts fall,
    # 0 the ramp's lightest blue-white
    np.save(tmp_path / "cm.npy", np.array([[4, 1], [0, 3]]))
    run("plot", "confusion", "-i", tmp_path / "cm.npy", "-o", tmp_path / "cm.png")
    assert png_size(tmp_path / "cm.png")[0] > 300
    px = pixels(tmp_path / "cm.png")
    assert_drawn(px)
    left, top, cell = confusion_grid(px)
    colour = {(r, c): tuple(px[top + r * cell + 3, left + c * cell + 3]) for r in range(2) for c in range(2)}
    assert colour[0, 0] == (8, 48, 107) and colour[1, 0] == (247, 251, 255), colour
    light = {k: sum(v) for k, v in colour.items()}
    assert light[0, 0] < light[1, 1] < light[0, 1] < light[1, 0], colour


def scree_bars(px, k):
    """Heights in pixels of a scree plot's k bars (the tool's bar colour,
    PALETTE[4], counted down a column inside each bar of the 710-pixel-wide
    plot area that starts at x = 90, figures.c evc_fig_scree)."""
    return [int((np.abs(px[:, 90 + int(i * 710 / k) + 8] - PALETTE[4]).max(axis=1) <= 1).sum()) for i in range(k)]


def test_plot_errors(tmp_path):
    np.save(tmp_path / "xy.npy", np.zeros((10, 2), np.float32))
    np.save(tmp_path / "y.npy", np.zeros(9, np.int64))
    status, _, err = run("plot", "scatter", "-i", tmp_path / "xy.npy", "-l", tmp_path / "y.npy",
                         "-o", tmp_path / "s.png", ok=False)
    assert status == 1 and "9 labels for 10 points" in err
    np.save(tmp_path / "one.npy", np.zeros((10, 1), np.float32))
    status, _, err = run("plot", "scatter", "-i", tmp_path / "one.npy", "-o", tmp_path / "s.png", ok=False)
    assert status == 1 and "needs 2" in err
    np.save(tmp_path / "im.npy", np.zeros((10, 7), np.float32))
    status, _, err = run("plot", "images", "-i", tmp_path / "xy.npy", "--images", tmp_path / "im.npy",
                         "-o", tmp_path / "m.png", ok=False)
    assert status == 1 and "not square" in err


# ---- pca and knn (when this build has them) ---------------------------------------

@skip_unless("pca")
def test_pca_matches_sklearn(tmp_path):
    from sklearn.decomposition import PCA
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(200, 12)) @ rng.normal(size=(12, 12))).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    run("pca", "-i", tmp_path / "x.npy", "-k", 3, "-o", tmp_path / "s.npy", "--save-variance", tmp_path / "v.npy",
        "--save-components", tmp_path / "c.npy", "--save-mean", tmp_path / "m.csv")
    ref = PCA(3, svd_solver="full").fit(x.astype(np.float64))
    s, v, c = np.load(tmp_path / "s.npy"), np.load(tmp_path / "v.npy"), np.load(tmp_path / "c.npy")
    assert s.shape == (200, 3) and v.shape == (3,) and c.shape == (3, 12)
    assert v == pytest.approx(ref.explained_variance_ratio_, rel=1e-3)
    signs = np.sign((c * ref.components_).sum(axis=1))
    assert np.abs(s - ref.transform(x) * signs).max() < 1e-2 * np.abs(s).max()


@skip_unless("knn")
def test_knn_matches_brute_force(tmp_path):
    rng = np.random.default_rng(3)
    ref, q = rng.normal(size=(150, 6)).astype(np.float32), rng.normal(size=(20, 6)).astype(np.float32)
    np.save(tmp_path / "r.npy", ref)
    np.save(tmp_path / "q.npy", q)
    run("knn", "-i", tmp_path / "r.npy", "-q", tmp_path / "q.npy", "-k", 5, "-o", tmp_path / "i.npy",
        "-d", tmp_path / "d.npy")
    d = np.sqrt(((q[:, None, :].astype(np.float64) - ref[None]) ** 2).sum(-1))
    idx = np.load(tmp_path / "i.npy")
    assert idx.shape == (20, 5) and idx.dtype == np.int64
    assert (idx == np.argsort(d, axis=1, kind="stable")[:, :5]).all()
    assert np.load(tmp_path / "d.npy") == pytest.approx(np.sort(d, axis=1)[:, :5], abs=1e-4)
    run("knn", "-i", tmp_path / "r.npy", "-k", 3, "-o", tmp_path / "self.npy")
    self_idx = np.load(tmp_path / "self.npy")
    assert self_idx.shape == (150, 3) and not (self_idx == np.arange(150)[:, None]).any()


@skip_unless("knn")
def test_knn_k_too_large_gives_library_message(tmp_path):
    np.save(tmp_path / "r.npy", np.zeros((4, 2), np.float32))
    status, _, err = run("knn", "-i", tmp_path / "r.npy", "-k", 9, "-o", tmp_path / "i.npy", ok=False)
    assert status == 1 and "EV_ERR_ARGUMENT" in err


# ---- tsne and extract (when this build has them) ------------------------------------

@skip_unless("tsne")
def test_tsne_map_keeps_neighbourhoods(tmp_path):
    from sklearn.datasets import load_digits
    from sklearn.manifold import trustworthiness
    x, _ = load_digits(return_X_y=True)
    x = x[:400].astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    run("tsne", "-i", tmp_path / "x.npy", "-o", tmp_path / "m.npy", "--perplexity", 20, "--iterations", 500,
        "--seed", 3, "--quiet")
    m = np.load(tmp_path / "m.npy")
    assert m.shape == (400, 2) and m.dtype == np.float32 and np.isfinite(m).all()
    assert trustworthiness(x, m, n_neighbors=10) > 0.95
    run("tsne", "-i", tmp_path / "x.npy", "-o", tmp_path / "m2.npy", "--perplexity", 20, "--iterations", 500,
        "--seed", 3, "--quiet")
    assert (np.load(tmp_path / "m2.npy") == m).all(), "same seed, same map"
    run("tsne", "-i", tmp_path / "x.npy", "-o", tmp_path / "m3.csv", "--dims", 3, "--iterations", 300, "--quiet")
    assert np.loadtxt(tmp_path / "m3.csv", delimiter=",").shape == (400, 3)


@skip_unless("tsne")
def test_tsne_fft_method(tmp_path):
    # --method fft: FIt-SNE's FFT-interpolated repulsion, 2-D (and 1-D) only
    from sklearn.datasets import load_digits
    from sklearn.manifold import trustworthiness
    x, _ = load_digits(return_X_y=True)
    x = x[:400].astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    run("tsne", "-i", tmp_path / "x.npy", "-o", tmp_path / "m.npy", "--perplexity", 20, "--iterations", 300,
        "--method", "fft", "--seed", 3, "--quiet")
    m = np.load(tmp_path / "m.npy")
    assert m.shape == (400, 2) and np.isfinite(m).all()
    assert trustworthiness(x, m, n_neighbors=10) > 0.95
    status, _, err = run("tsne", "-i", tmp_path / "x.npy", "-o", tmp_path / "m3.npy", "--dims", 3,
                         "--method", "fft", ok=False)
    assert status == 1 and "1 or 2 dimensions" in err


@skip_unless("tsne")
def test_tsne_perplexity_too_large_gives_library_message(tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32))
    status, _, err = run("tsne", "-i", tmp_path / "x.npy", "-o", tmp_path / "m.npy", "--perplexity", 30, ok=False)
    assert status == 1 and "EV_ERR_ARGUMENT" in err and "perplexity" in err


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    torch = pytest.importorskip("torch")
    from torch import nn

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, 3, padding=1)
            self.relu = nn.ReLU()
            self.flatten = nn.Flatten()
            self.fc = nn.Linear(2 * 8 * 8, 3)

        def forward(self, x):
            return self.fc(self.flatten(self.relu(self.conv(x))))

    torch.manual_seed(0)
    m = Tiny().eval()
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    torch.jit.script(m).save(str(path))
    return m, path


@skip_unless("extract")
def test_extract_matches_pytorch(tmp_path, tiny_model):
    import torch
    model, path = tiny_model
    x = np.random.default_rng(4).integers(0, 256, size=(30, 8, 8)).astype(np.uint8)
    np.save(tmp_path / "x.npy", x)
    _, out, _ = run("extract", "-m", path, "--list-layers")
    assert {"conv", "relu", "fc", "softmax"} <= set(out.split())
    run("extract", "-m", path, "-i", tmp_path / "x.npy", "-l", "relu,fc,softmax", "-o", tmp_path / "out",
        "--batch", 7, "--quiet")
    with torch.no_grad():
        t = torch.from_numpy(x.astype(np.float32) / 255).unsqueeze(1)
        relu = model.relu(model.conv(t)).reshape(30, -1).numpy()
        fc = model(t).numpy()
    assert np.load(tmp_path / "out" / "relu.npy") == pytest.approx(relu, abs=1e-5)
    assert np.load(tmp_path / "out" / "fc.npy") == pytest.approx(fc, abs=1e-5)
    assert np.load(tmp_path / "out" / "softmax.npy") == pytest.approx(softmax(fc), abs=1e-6)


@skip_unless("extract")
def test_extract_errors(tmp_path, tiny_model):
    _, path = tiny_model
    np.save(tmp_path / "x.npy", np.zeros((3, 64), np.float32))
    status, _, err = run("extract", "-m", tmp_path / "none.pt", "-i", tmp_path / "x.npy", "-l", "fc",
                         "-o", tmp_path / "o", ok=False)
    assert status == 1 and "EV_ERR_NOT_FOUND" in err
    status, _, err = run("extract", "-m", path, "-i", tmp_path / "x.npy", "-l", "nope", "-o", tmp_path / "o", ok=False)
    assert status == 1 and "EV_ERR_NOT_FOUND" in err and "fc" in err
    np.save(tmp_path / "odd.npy", np.zeros((3, 7), np.float32))
    status, _, err = run("extract", "-m", path, "-i", tmp_path / "odd.npy", "-l", "fc", "-o", tmp_path / "o", ok=False)
    assert status == 1 and "--shape" in err
    status, _, err = run("extract", "-m", path, "-i", tmp_path / "x.npy", "-l", "fc", "-o", tmp_path / "o",
                         "--shape", "4,4,4", ok=False)
    assert status == 1 and "EV_ERR_ARGUMENT" in err
