"""embedviz report --maps tsne,umap: a UMAP map of each layer beside its
t-SNE map (scikit-learn's 8 x 8 digits, as test_cli_report.py); the
default report has none."""
import html.parser

import numpy as np
import pytest

from cli_util import browser_test, png_size, run, write_digits_data

LAYERS = ["pixels", "feat", "softmax"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("digits_umap")
    y = write_digits_data(d, 400)[1]
    return d, y[:400]


def make_report(d, out, *extra):
    status, _, err = run("report", "--data", d, "-o", out, "-L", ",".join(LAYERS), "--penultimate", "feat",
                         "-n", 300, "--perplexity", 10, "--iterations", 250, "-q", *extra, ok=False)
    if "lacks" in err or "is not available" in err:
        pytest.skip("this libembedviz build lacks what the report needs: " + err.strip())
    assert status == 0, err
    return out


@pytest.fixture(scope="module")
def umap_report(inputs, tmp_path_factory):
    return make_report(inputs[0], tmp_path_factory.mktemp("report_umap"), "--maps", "tsne,umap")


class Imgs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.srcs = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.srcs.append(dict(attrs).get("src"))


def shown_rows(report):
    """The test rows the report shows, in its order (the data inline)."""
    return np.load(report / "map_0_pixels.npy").shape[0]


def test_page_shows_a_umap_map_of_every_layer(umap_report):
    page = (umap_report / "index.html").read_text()
    imgs = Imgs()
    imgs.feed(page)
    for l, name in enumerate(LAYERS):
        src = f"map_{l}_{name}_umap.png"
        assert src in imgs.srcs, f"index.html does not show {src}"
        assert png_size(umap_report / src) == (900, 700)
        assert f"UMAP: {name}" in page
    # the t-SNE maps are still there (linked, and in maps_by_depth.png)
    assert "maps_by_depth.png" in imgs.srcs
    for l, name in enumerate(LAYERS):
        assert f'href="map_{l}_{name}.png"' in page and (umap_report / f"map_{l}_{name}.png").is_file()


def test_umap_maps_have_one_point_per_row_and_differ_from_tsne(umap_report):
    n = shown_rows(umap_report)
    assert n == 300
    for l, name in enumerate(LAYERS):
        u = np.load(umap_report / f"map_{l}_{name}_umap.npy")
        t = np.load(umap_report / f"map_{l}_{name}.npy")
        assert u.shape == (n, 2) and u.dtype == np.float32
        assert np.isfinite(u).all()
        assert u.std(axis=0).min() > 0.1, "a collapsed map"
        assert not np.allclose(u, t), "the UMAP file holds the t-SNE map"


def test_umap_map_keeps_the_classes_apart(umap_report, inputs):
    """The softmax layer's classes (mostly right by construction) stay
    together on its UMAP map: 10-NN label accuracy well above chance
    (0.1) and near the t-SNE map's."""
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.model_selection import cross_val_score
    _, y = inputs
    page_labels = y[:300]
    for which in ("map_2_softmax_umap.npy", "map_2_softmax.npy"):
        m = np.load(umap_report / which)
        acc = cross_val_score(KNeighborsClassifier(10), m, page_labels, cv=5).mean()
        assert acc > 0.8, f"{which}: 10-NN label accuracy {acc:.3f}"


def test_umap_maps_are_reproducible(umap_report, inputs, tmp_path):
    again = make_report(inputs[0], tmp_path / "again", "--maps", "umap,tsne", "-L", "pixels,feat,softmax")
    for l, name in enumerate(LAYERS):
        a = np.load(umap_report / f"map_{l}_{name}_umap.npy")
        b = np.load(again / f"map_{l}_{name}_umap.npy")
        assert np.array_equal(a, b)


def test_default_report_has_no_umap_maps(inputs, tmp_path):
    out = make_report(inputs[0], tmp_path / "plain")
    assert not list(out.glob("*_umap.*"))
    assert "UMAP" not in (out / "index.html").read_text()


@pytest.mark.parametrize("value, says", [("umap", "leaves out tsne"), ("tsne,pca", "tsne or tsne,umap"),
                                         ("", "leaves out tsne")])
def test_bad_maps_values(inputs, tmp_path, value, says):
    status, _, err = run("report", "--data", inputs[0], "-o", tmp_path / "r", "--maps", value, ok=False)
    assert status == 2 and says in err, err
    assert not (tmp_path / "r").exists()


def test_umap_report_in_headless_chromium(umap_report):
    """tests/browser/test_report.py on the report with UMAP maps: every
    picture loads (the UMAP ones too), no console error."""
    browser_test(umap_report, "report_umap.png")
