"""embedviz report on a small real data set (scikit-learn's 8 x 8 digits):
the folder it writes, the pictures the page refers to, the data inline."""
import html
import html.parser
import json
import re

import numpy as np
import pytest

from cli_util import PALETTE, assert_drawn, browser_test, class_table, palette_pixels, pixels, png_size, run, write_digits_data


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("digits")
    _, y, _, probs = write_digits_data(d, 400)
    return d, probs[:400], y[:400]


def digits_arrays(d):
    """The report's inputs as it reads them: 300 test rows, every train row."""
    return {name: np.load(d / f"{name}.npy") for name in
            ("test_images", "test_labels", "test_feat", "test_softmax", "train_images", "train_labels", "train_feat")}


def sorted_distances(ref, queries, k):
    from sklearn.neighbors import NearestNeighbors
    d, _ = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(ref.astype(np.float64)).kneighbors(
        queries.astype(np.float64))
    return d


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
    _, shot = browser_test(report, "report.png")
    # the screenshot by its pixels: the page drawn, the maps' class colours on it
    px = pixels(shot)
    assert_drawn(px, min_colours=100)
    assert (palette_pixels(px, alpha=0.85, tol=3) >= 5).sum() >= 9


# ---- the report's numbers against scikit-learn and numpy on the same inputs ----

N_TEST = 300


def test_report_self_neighbours_are_sklearns(report, inputs):
    """The clicked point's 10 neighbours (EMBEDVIZ.nn, the penultimate
    layer's features): their distances are scikit-learn's 10 smallest, in
    order (indices may differ only between equally near rows)."""
    a = digits_arrays(inputs[0])
    page = (report / "index.html").read_text()
    m = re.search(r"nn:new Int32Array\(\[([^\]]*)\]\)", page)
    nn = np.array([int(v) for v in m.group(1).split(",")]).reshape(N_TEST, 10)
    feat = a["test_feat"][:N_TEST].astype(np.float64)
    assert (nn != np.arange(N_TEST)[:, None]).all(), "a point is not its own neighbour"
    want = sorted_distances(feat, feat, 11)[:, 1:]
    got = np.linalg.norm(feat[nn] - feat[:, None, :], axis=2)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def thumb_rows(px, side=8, cols=11, title=True):
    """The 8 x 8 images of a picture of rows of thumbnails (query, then its
    neighbours: cells of 2 side + 8 pixels, 16 pixels more before the
    first neighbour), as grey levels."""
    cell, top = 2 * side + 8, 40 if title else 6
    rows = []
    for r in range((px.shape[0] - top) // cell):
        row = []
        for c in range(cols):
            x = 4 + c * cell + (16 if c else 0) + 3
            y = top + r * cell + 3
            g = px[y:y + 2 * side:2, x:x + 2 * side:2, 0]
            row.append(g.reshape(-1))
        rows.append(row)
    return rows


def which(grey_img, grey_set):
    """Rows of grey_set equal to the picture's image (all of them: the digits
    have repeated images)."""
    return np.flatnonzero(np.abs(grey_set - grey_img).max(axis=1) <= 1)


def grey(x):
    return np.floor(np.float32(255) - np.float32(255) * np.clip(x, 0, 1) + np.float32(0.5)).astype(int)


@pytest.mark.parametrize("space", ["pixels", "features"])
def test_report_neighbour_pictures_are_sklearns(report, inputs, space):
    """Read each query and its 10 neighbours back from the pictures' pixels:
    in that space, the neighbours' distances to the query are scikit-learn's
    10 smallest over the training set, in order. A picture with the other
    space's neighbours, or a blank one, fails."""
    a = digits_arrays(inputs[0])
    px = pixels(report / f"neighbours_{space}.png")
    assert_drawn(px)
    test_grey, train_grey = grey(a["test_images"][:N_TEST]), grey(a["train_images"])
    ref = a["train_images"] if space == "pixels" else a["train_feat"]
    qset = a["test_images"] if space == "pixels" else a["test_feat"]
    rows = thumb_rows(px)
    assert len(rows) == 6
    for r, row in enumerate(rows):
        q = which(row[0], test_grey)
        assert len(q), f"row {r}: the query is no test image"
        query = qset[q[0]].astype(np.float64)
        want = sorted_distances(ref, query[None], 10)[0]
        got = []
        for k, img in enumerate(row[1:]):
            t = which(img, train_grey)
            assert len(t), f"row {r}, neighbour {k}: no training image"
            got.append(min(np.linalg.norm(ref[t].astype(np.float64) - query, axis=1),
                           key=lambda v: abs(v - want[k])))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=f"{space}, row {r}")


def test_report_per_class_accuracy_and_ambiguity_are_numpys(report, inputs):
    """The accuracy table is scikit-learn's per-class recall; the ambiguity
    table lists numpy's 12 rows of largest second/first probability ratio,
    with their value, two likeliest classes and true class."""
    from sklearn.metrics import confusion_matrix
    a = digits_arrays(inputs[0])
    p, y = a["test_softmax"][:N_TEST].astype(np.float64), a["test_labels"][:N_TEST]
    page = (report / "index.html").read_text()
    names = json.loads(re.search(r"names:(\[[^\]]*\])", page).group(1))
    assert len(names) == 10
    rows, heads = class_table(page)
    assert heads == ["class", "images", "accuracy", "most often taken for"]
    assert sorted(r["class"] for r in rows) == list(range(10))
    assert [r["name"] for r in sorted(rows, key=lambda r: r["class"])] == names
    cm = confusion_matrix(y, p.argmax(1), labels=range(10))
    recall = cm.diagonal() / cm.sum(1)
    got = np.array([r["accuracy"] for r in sorted(rows, key=lambda r: r["class"])])
    np.testing.assert_allclose(got, recall, atol=1e-6)
    for r in rows:
        assert r["accuracy_text"] == f"{100 * recall[r['class']]:.1f}%"
        assert r["images"] == cm[r["class"]].sum()
    # worst first: accuracy ascending, ties by more images
    keys = [(r["accuracy"], -r["images"], r["class"]) for r in rows]
    assert keys == sorted(keys)

    top = np.sort(p, axis=1)[:, ::-1]
    amb = top[:, 1] / top[:, 0]
    rows = re.findall(r'<tr><td><img src="ambiguous_(\d\d).png" alt="test image (\d+)"></td>'
                      r'<td class="num">(\d+)</td><td class="num">([\d.]+)</td>'
                      r"<td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", page)
    assert len(rows) == 12
    order = np.argsort(-amb, kind="stable")
    for k, (pic, alt, i, value, first, second, true) in enumerate(rows):
        i = int(i)
        assert int(pic) == k and int(alt) == i
        assert abs(float(value) - amb[i]) <= 5e-4 + 1e-6, (i, value, amb[i])
        # the k-th largest ambiguity (a tie may put another row of equal value here)
        assert abs(amb[i] - amb[order[k]]) <= 1e-6, (k, i, order[k])
        ranked = np.argsort(-p[i], kind="stable")
        assert [html.unescape(v) for v in (first, second, true)] == [names[ranked[0]], names[ranked[1]], names[y[i]]]
        # the row's picture is that test image
        g = pixels(report / f"ambiguous_{k:02d}.png")[::2, ::2, 0].reshape(-1)
        assert i in which(g, grey(a["test_images"][:N_TEST])), f"ambiguous_{k:02d}.png is not test image {i}"
    assert len({int(r[2]) for r in rows}) == 12


def test_report_pca_percentage_is_numpys(report, inputs):
    """'the first two principal components explain N% of the variance' of
    the penultimate layer: numpy's eigenvalues of the covariance."""
    a = digits_arrays(inputs[0])
    f = a["test_feat"][:N_TEST].astype(np.float64)
    ev = np.linalg.eigvalsh(np.cov(f, rowvar=False))[::-1]
    two = 100 * ev[:2].sum() / ev.sum()
    page = (report / "index.html").read_text()
    got = int(re.search(r"first two principal components explain (\d+)% of the variance", page).group(1))
    assert abs(got - two) <= 0.5 + 1e-6, (got, two)


def test_report_maps_show_the_class_colours(report, inputs):
    """Each class-coloured map has dots of (nearly) every class colour; the
    sprite holds the test images' thumbnails; the image map holds test
    images in class-coloured frames. A blank or single-colour picture fails."""
    a = digits_arrays(inputs[0])
    for l, name in enumerate(["pixels", "feat", "softmax"]):
        px = pixels(report / f"map_{l}_{name}.png")
        assert_drawn(px)
        assert (palette_pixels(px[:, :690], alpha=0.85, tol=3) >= 5).sum() >= 9, name
    sprite = pixels(report / "sprite.png")
    g = grey(a["test_images"][:N_TEST])
    for i in (0, 1, 63, 64, N_TEST - 1):
        r, c = divmod(i, 64)
        cell = sprite[8 * r:8 * r + 8, 8 * c:8 * c + 8, 0].reshape(-1)
        assert np.abs(cell - g[i]).max() <= 1, f"sprite cell {i} is not test image {i}"
    px = pixels(report / "image_map.png")
    assert_drawn(px)
    assert (palette_pixels(px, tol=1) > 0).sum() >= 9
    # every cell of 12 pixels is white or holds one test image's 8 x 8
    # thumbnail in a 2-pixel frame of that image's class colour
    y = a["test_labels"][:N_TEST]
    side = px.shape[0] // 12
    cells = px[:side * 12, :side * 12].reshape(side, 12, side, 12, 3).swapaxes(1, 2).reshape(-1, 12, 12, 3)
    cells = cells[~(cells == 255).all(axis=(1, 2, 3))]
    inner = cells[:, 2:10, 2:10]
    assert (inner == inner[..., :1]).all(), "thumbnails are grey"
    same = np.abs(inner[..., 0].reshape(len(cells), 1, 64) - g[None]).max(axis=2) <= 1   # cell x test image
    framed = (np.abs(cells[:, None, 0, 1:11] - PALETTE[y][None, :, None]).max(axis=3) <= 1).all(axis=2)
    ok = same & framed
    assert ok.any(axis=1).all(), f"{(~ok.any(axis=1)).sum()} cells of the image map hold no test image in its frame"
    shown = ok.argmax(axis=1)
    assert len(cells) >= N_TEST // 2, f"{len(cells)} thumbnails on the image map"
    assert len(set(shown)) >= N_TEST // 2 - 10


# ---- how far each map can be trusted, and possible label errors ----

LAYER_ROWS = {"pixels": "test_images", "feat": "test_feat", "softmax": "test_softmax"}


def quality_table(page):
    """The rows of the map quality table: layer, what it was measured on, and
    the four numbers."""
    m = re.search(r'<table class="quality">(.*?)</table>', page, re.S)
    assert m, "no map quality table"
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>" + r'<td class="num">([\d.]+)</td>' * 4 + "</tr>",
                      m.group(1))
    return [(html.unescape(r[0]).split(" ")[0], r[1], [float(v) for v in r[2:]]) for r in rows]


def venna_kaski(x, m, k):
    """Trustworthiness of map m for data x (continuity: swap them), with
    the ranks in x counted as include/embedviz/quality.h says: 1 + the rows
    nearer, or as near with a lower index; m's k neighbours ordered the same
    way. Also the values with every tie counted after (lowest) and before
    (highest) a row: any tie order gives a value between them, as long as
    the neighbours in m are not tied at the k-th place (their number is
    returned last)."""
    def sq(z):
        z = z.astype(np.float64)
        return ((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=2)
    dx, dm = sq(x), sq(m)
    n, idx = len(x), np.arange(len(x))
    np.fill_diagonal(dx, np.inf)
    np.fill_diagonal(dm, np.inf)
    s = np.zeros(3)
    tied = 0                                  # rows whose k-th and (k+1)-th neighbours in m are as near
    for i in range(n):
        order = np.lexsort((idx, dm[i]))
        tied += dm[i, order[k - 1]] == dm[i, order[k]]
        for j in order[:k]:
            d, dj = dx[i], dx[i, j]
            ranks = (((d < dj) | ((d == dj) & (idx < j))).sum() + 1, (d <= dj).sum(), (d < dj).sum() + 1)
            s += [max(0, r - k) for r in ranks]
    return (*(1 - s * 2 / (n * k * (2 * n - 3 * k - 1))), tied)


def test_report_map_quality_is_sklearns(report, inputs):
    """Under the maps, one row per map: trustworthiness equal to scikit-
    learn's (n_neighbors=10) on the layer's rows and the map the report saved;
    continuity is the same with the roles swapped; 10-NN kept is the mean
    overlap of scikit-learn's neighbour lists."""
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import NearestNeighbors
    a = digits_arrays(inputs[0])
    page = (report / "index.html").read_text()
    rows = quality_table(page)
    assert [r[0] for r in rows] == ["pixels", "feat", "softmax"]
    for l, (name, on, values) in enumerate(rows):
        x = a[LAYER_ROWS[name]][:N_TEST].astype(np.float64)
        assert on == f"its {x.shape[1]} values"
        assert all(0 <= v <= 1 for v in values), (name, values)
        m = np.load(report / f"map_{l}_{name}.npy").astype(np.float64)
        assert m.shape == (N_TEST, 2)
        # the page's 4 decimals against numpy's Venna-Kaski with the
        # library's documented tie rule (equal distances: the lower row
        # first). scikit-learn orders ties its own way: its value must lie
        # between the tie bounds of the ranks, and within 2e-4 of them
        # when it may also pick other neighbours (the digits' pixels, 1/16
        # steps, have exactly equal distances: measured 8e-5 for the
        # continuity of the pixel map)
        for v, (data, emb) in zip(values[:2], ((x, m), (m, x))):
            mine, lo, hi, tied = venna_kaski(data, emb, 10)
            sk = trustworthiness(data, emb, n_neighbors=10)
            assert abs(v - mine) <= 5e-5 + 1e-9, (name, v, mine)
            slack = 2e-4 if tied else 1e-9
            assert lo - slack <= sk <= hi + slack, (name, sk, lo, hi, tied)
        nx = NearestNeighbors(n_neighbors=11).fit(x).kneighbors(x, return_distance=False)[:, 1:]
        nm = NearestNeighbors(n_neighbors=11).fit(m).kneighbors(m, return_distance=False)[:, 1:]
        kept = np.mean([len(set(p) & set(q)) / 10 for p, q in zip(nx, nm)])
        assert abs(values[2] - kept) <= 5e-3, (name, values[2], kept)   # equal distances may order differently
        # each map's link names its numbers, to 3 decimals (the table's 4
        # decimals rounded again may differ from the value rounded once)
        links = [(float(t), float(c)) for t, c in
                 re.findall(r"\(trustworthiness ([\d.]+), continuity ([\d.]+)\)</a>", page)]
        assert any(abs(t - values[0]) <= 5.1e-4 and abs(c - values[1]) <= 5.1e-4 for t, c in links), (values, links)
    assert "stage map quality" not in page and "<td>map quality</td>" in page


FLIPPED = [3, 17, 42, 77, 120, 161, 205, 250]


@pytest.fixture(scope="module")
def flipped_report(inputs, tmp_path_factory):
    """The digits report with 8 of the first 300 test labels changed to the
    next class: the fake network's probabilities and the features still say
    the true class."""
    import shutil
    d, _, _ = inputs
    f = tmp_path_factory.mktemp("flipped")
    for p in d.iterdir():
        shutil.copy(p, f / p.name)
    y = np.load(d / "test_labels.npy")
    y[FLIPPED] = (y[FLIPPED] + 1) % 10
    np.save(f / "test_labels.npy", y)
    out = tmp_path_factory.mktemp("flipped_report")
    status, _, err = run("report", "--data", f, "-o", out, "-L", "pixels,feat,softmax", "--penultimate", "feat",
                         "-n", 300, "--perplexity", 10, "--iterations", 250, "-q", ok=False)
    if "lacks" in err or "is not available" in err:
        pytest.skip("this libembedviz build lacks what the report needs: " + err.strip())
    assert status == 0, err
    return out, f


def test_report_lists_possible_label_errors(flipped_report, inputs):
    """The section lists flagged rows, highest score first, each with its
    thumbnail, a given label other than the suggested one, the network's
    p(given) from the probabilities; the changed labels are found with the
    true class suggested, and the ringed map is there."""
    out, f = flipped_report
    a = digits_arrays(f)
    y, p = a["test_labels"][:N_TEST], a["test_softmax"][:N_TEST]
    true = digits_arrays(inputs[0])["test_labels"][:N_TEST]
    page = (out / "index.html").read_text()
    names = json.loads(re.search(r"names:(\[[^\]]*\])", page).group(1))
    assert "<h2>6. Possible label errors</h2>" in page
    rows = re.findall(r'<tr><td><img src="label_issue_(\d\d).png" alt="test image (\d+)"></td>'
                      r'<td class="num">(\d+)</td><td>([^<]*)</td><td>([^<]*)</td>'
                      r'<td class="num">([\d.]+)</td><td class="num">([\d.]+)</td><td class="num">(\d+)%</td></tr>',
                      page)
    assert 1 <= len(rows) <= 12
    scores = [float(r[5]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    found = set()
    for k, (pic, alt, i, given, suggested, score, p_given, disagree) in enumerate(rows):
        i = int(i)
        assert int(pic) == k and int(alt) == i
        assert html.unescape(given) == names[y[i]] and given != suggested
        assert abs(float(p_given) - p[i, y[i]]) <= 5e-4 + 1e-6
        assert 0 <= int(disagree) <= 100 and 0 < float(score) <= 1
        g = pixels(out / f"label_issue_{k:02d}.png")[::2, ::2, 0].reshape(-1)
        assert i in which(g, grey(a["test_images"][:N_TEST])), f"label_issue_{k:02d}.png is not test image {i}"
        if i in FLIPPED:
            assert html.unescape(suggested) == names[true[i]]
            found.add(i)
    # confident learning is cautious on 30 images a class: half the changed
    # labels are flagged (5 rows in all when this was written), and most flagged rows are changed ones
    assert len(found) >= 4 and 2 * len(found) > len(rows), (found, rows)
    assert 'src="label_issues.png"' in page
    assert_drawn(pixels(out / "label_issues.png"))


def test_report_without_scores_has_no_label_errors_section(inputs, tmp_path):
    """--features without --scores: the quality table, no label errors and
    no error."""
    d, _, _ = inputs
    out = tmp_path / "r"
    status, _, err = run("report", "--features", d / "test_feat.npy", "--labels", d / "test_labels.npy", "-o", out,
                         "-n", 300, "--perplexity", 10, "--iterations", 250, "-q", ok=False)
    assert status == 0, err
    page = (out / "index.html").read_text()
    assert "Possible label errors" not in page and "label_issue" not in page
    assert not (out / "label_issues.png").exists()
    rows = quality_table(page)
    assert len(rows) == 1 and all(0 <= v <= 1 for v in rows[0][2])


def test_report_ridge_on_the_penultimate_map_is_sklearns(report, inputs):
    """Section 8 fits ridge regressions from the penultimate features to the
    axes of their t-SNE map (map_1_feat.npy): the alpha stated is the one
    scikit-learn's RidgeCV picks by leave-one-out on the library's grid, and
    the R^2 stated are Ridge's at that alpha; the picture is there."""
    from sklearn.linear_model import Ridge, RidgeCV
    from sklearn.metrics import r2_score
    page = (report / "index.html").read_text()
    m = re.search(r"two ridge regressions from its (\d+) features to the map's axes \(alpha ([0-9.e+-]+), chosen by "
                  r"leave-one-out error\)\. They explain R&sup2; = ([0-9.-]+) and ([0-9.-]+) of the axes on the points "
                  r"they were fitted on, and ([0-9.-]+) and ([0-9.-]+) on points left out", page)
    assert m, "no ridge statement on the page"
    feat = np.load(inputs[0] / "test_feat.npy")[:300].astype(np.float64)
    y = np.load(report / "map_1_feat.npy").astype(np.float64)
    assert int(m.group(1)) == 16 and y.shape == (300, 2)
    grid = 10.0 ** np.arange(-3, 6.01, 0.5)
    alpha = RidgeCV(alphas=grid).fit(feat, y).alpha_
    assert float(m.group(2)) == pytest.approx(alpha, rel=1e-2)
    r2 = r2_score(y, Ridge(alpha=alpha).fit(feat, y).predict(feat), multioutput="raw_values")
    np.testing.assert_allclose([float(m.group(3)), float(m.group(4))], r2, atol=0.006)
    assert all(float(m.group(k)) <= float(m.group(k - 2)) + 1e-9 for k in (5, 6))   # left out never beats fitted
    assert 'src="ridge_biplot.png"' in page
    assert png_size(report / "ridge_biplot.png") == (900, 700)
