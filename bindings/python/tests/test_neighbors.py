"""NearestNeighbors against scikit-learn's brute-force search. Equal
distances are frequent on digits (integer pixels): libembedviz orders them
by the lower index, scikit-learn's argpartition in no fixed order. So the
reference is scikit-learn's pairwise_distances (float64) sorted by
(distance, index): our indices must equal it exactly, and our distances
must equal scikit-learn's NearestNeighbors(algorithm="brute") distances."""
import threading

import numpy as np
import pytest
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors as SkNN

import embedviz
from embedviz import NearestNeighbors
from conftest import needs

pytestmark = needs("ev_knn_create")


def reference(x, q, k, metric, p=2, exclude_self=False):
    kw = {"p": p} if metric == "minkowski" else {}
    d = pairwise_distances(q.astype(np.float64), x.astype(np.float64), metric=metric, **kw)
    if exclude_self:
        np.fill_diagonal(d, np.inf)
    key = np.round(d, 8)                       # rounding noise is not an order
    order = np.lexsort((np.broadcast_to(np.arange(d.shape[1]), d.shape), key), axis=1)[:, :k]
    return np.take_along_axis(d, order, 1), order


CASES = [("minkowski", 2), ("euclidean", 2), ("l2", 2), ("sqeuclidean", 2), ("cosine", 2),
         ("manhattan", 2), ("cityblock", 2), ("l1", 2), ("chebyshev", 2), ("minkowski", 1),
         ("minkowski", 3), ("minkowski", np.inf)]


@pytest.mark.parametrize("metric, p", CASES)
def test_digits_matches_brute_force_exactly(digits, metric, p):
    x, _ = digits
    q = x[::9] if p != 3 else x[::60]          # general p is the slow path
    ours = NearestNeighbors(n_neighbors=10, metric=metric, p=p).fit(x)
    dist, ind = ours.kneighbors(q)
    assert dist.dtype == np.float32 and ind.dtype == np.int64 and ind.shape == (len(q), 10)
    ref_d, ref_i = reference(x, q, 10, "minkowski" if metric == "minkowski" else metric, p)
    np.testing.assert_array_equal(ind, ref_i)
    sk_d, _ = SkNN(n_neighbors=10, metric=metric, p=p, algorithm="brute").fit(x).kneighbors(q)
    np.testing.assert_allclose(dist, sk_d, rtol=1e-5, atol=1e-5)


def test_effective_metric(digits):
    x = digits[0][:50]
    assert NearestNeighbors().fit(x).effective_metric_ == "euclidean"
    assert NearestNeighbors(p=1).fit(x).effective_metric_ == "manhattan"
    assert NearestNeighbors(metric="l1").fit(x).effective_metric_ == "manhattan"
    m = NearestNeighbors(p=3).fit(x)
    assert m.effective_metric_ == "minkowski" and m.effective_metric_params_ == {"p": 3.0}
    assert NearestNeighbors(metric="minkowski", metric_params={"p": 1}).fit(x).effective_metric_ == "manhattan"
    assert m.n_samples_fit_ == 50 and m.n_features_in_ == 64


def test_fashion_mnist_matches_brute_force(fmnist):
    x = fmnist[0][:4000]
    q = fmnist[0][4000:4300]
    for metric in ("euclidean", "cosine"):
        dist, ind = NearestNeighbors(n_neighbors=15, metric=metric).fit(x).kneighbors(q)
        ref_d, ref_i = reference(x, q, 15, metric)
        np.testing.assert_array_equal(ind, ref_i)
        sk_d, sk_i = SkNN(n_neighbors=15, metric=metric, algorithm="brute").fit(x).kneighbors(q)
        np.testing.assert_allclose(dist, sk_d, rtol=1e-5, atol=1e-5)
        # Where scikit-learn's row has no equal distances, its order is ours.
        untied = np.all(np.diff(sk_d, axis=1) > 1e-6, axis=1)
        assert untied.mean() > 0.9
        np.testing.assert_array_equal(ind[untied], sk_i[untied])


def test_query_the_index_itself(digits):
    x, _ = digits
    nn = NearestNeighbors(n_neighbors=5).fit(x)
    dist, ind = nn.kneighbors()
    ref_d, ref_i = reference(x, x, 5, "euclidean", exclude_self=True)
    np.testing.assert_array_equal(ind, ref_i)
    assert not np.any(ind == np.arange(len(x))[:, None])
    sk_d, _ = SkNN(n_neighbors=5, algorithm="brute").fit(x).kneighbors()
    np.testing.assert_allclose(dist, sk_d, rtol=1e-5, atol=1e-5)
    only = nn.kneighbors(x[:7], n_neighbors=3, return_distance=False)
    assert only.shape == (7, 3) and np.all(only[:, 0] == np.arange(7))


def test_kneighbors_graph(digits):
    x = digits[0][:200]
    nn = NearestNeighbors(n_neighbors=4).fit(x)
    g = nn.kneighbors_graph(mode="distance").toarray()
    ref_d, ref_i = reference(x, x, 4, "euclidean", exclude_self=True)
    ref = np.zeros((200, 200))
    np.put_along_axis(ref, ref_i, ref_d, 1)
    np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-5)
    assert nn.kneighbors_graph(x[:3]).sum() == 12


def test_threads_query_one_index_side_by_side(fmnist):
    """Worker threads query one index at once; each result equals the
    single-threaded one."""
    x = fmnist[0][:3000]
    nn = NearestNeighbors(n_neighbors=5, n_jobs=1).fit(x)
    parts = [fmnist[0][3000 + 100 * i:3100 + 100 * i] for i in range(4)]
    expected = [nn.kneighbors(p)[1] for p in parts]
    got = [None] * 4

    def work(i):
        got[i] = nn.kneighbors(parts[i])[1]
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(e, g)


@pytest.mark.parametrize("kwargs, message", [
    ({"metric": "mahalanobis"}, "not supported"),
    ({"metric": lambda a, b: 0.0}, "callables"),
    ({"metric": "minkowski", "p": 0.5}, ">= 1"),
    ({"metric_params": {"w": [1, 2]}}, "metric_params"),
    ({"n_jobs": 0}, "n_jobs"),
])
def test_bad_settings(digits, kwargs, message):
    with pytest.raises(embedviz.EmbedvizValueError, match=message):
        NearestNeighbors(**kwargs).fit(digits[0])


def test_bad_inputs(digits):
    x, _ = digits
    with pytest.raises(embedviz.NotFittedError):
        NearestNeighbors().kneighbors(x)
    nn = NearestNeighbors(n_neighbors=3).fit(x[:10])
    with pytest.raises(ValueError):
        nn.kneighbors(x[:2, :5])                  # wrong dimension
    with pytest.raises(ValueError):
        nn.kneighbors(x[:2], n_neighbors=11)      # more than indexed
    with pytest.raises(ValueError):
        nn.kneighbors(n_neighbors=10)             # self-query: at most n - 1
    with pytest.raises(ValueError, match="n_neighbors"):
        nn.kneighbors(x[:2], n_neighbors=0)
    bad = x[:4].copy()
    bad[2, 3] = np.inf
    with pytest.raises(embedviz.NonFiniteError):
        nn.kneighbors(bad)
    with pytest.raises(embedviz.NonFiniteError):
        NearestNeighbors().fit(bad)
    with pytest.raises(ValueError):
        NearestNeighbors().fit(np.zeros((0, 3)))
    assert nn.kneighbors(x[:2])[1].shape == (2, 3)    # still usable


def test_approximate_algorithm(digits):
    """algorithm="approximate" finds nearly all of the exact neighbours, each
    with its exact distance; "auto" stays exact below 100,000 rows."""
    x, _ = digits
    exact_d, exact_i = NearestNeighbors(n_neighbors=10, algorithm="brute").fit(x).kneighbors()
    approx = NearestNeighbors(n_neighbors=10, algorithm="approximate").fit(x)
    d, i = approx.kneighbors()
    hits = [len(np.intersect1d(a, b)) for a, b in zip(i, exact_i)]
    assert np.mean(hits) / 10 >= 0.98
    for row in range(len(x)):                       # exact distances
        common, ia, ie = np.intersect1d(i[row], exact_i[row], return_indices=True)
        np.testing.assert_array_equal(d[row][ia], exact_d[row][ie])
    assert np.all(np.diff(d, axis=1) >= 0)
    qd, qi = approx.kneighbors(x[:50] + 0.01)       # new rows
    ed, ei = NearestNeighbors(n_neighbors=10).fit(x).kneighbors(x[:50] + 0.01)
    assert np.mean([len(np.intersect1d(a, b)) for a, b in zip(qi, ei)]) / 10 >= 0.98
    auto_d, auto_i = NearestNeighbors(n_neighbors=10, algorithm="auto").fit(x).kneighbors()
    np.testing.assert_array_equal(auto_i, exact_i)  # 1,797 rows: exact
    with pytest.raises(embedviz.EmbedvizValueError, match="algorithm"):
        NearestNeighbors(algorithm="annoy").fit(x)


def _same_radius_results(ours, theirs, atol, radius=None):
    """Same points in index order, distances to atol. A point whose float64
    distance is within atol of the radius may fall on either side in
    float32 (the library's precision): such points may differ, no other."""
    (d1, i1), (d2, i2) = ours, theirs
    assert len(i1) == len(i2)
    for a, b, da, db in zip(i1, i2, d1, d2):
        if radius is not None and len(a) != len(b):
            only_theirs = ~np.isin(b, a)
            assert np.all(np.abs(db[only_theirs] - radius) < atol), db[only_theirs]
            keep = np.isin(a, b)
            assert np.all(np.abs(da[~keep] - radius) < atol), da[~keep]
            a, da, b, db = a[keep], da[keep], b[~only_theirs], db[~only_theirs]
        np.testing.assert_array_equal(a, b)        # same points, in index order
        np.testing.assert_allclose(da, db, atol=atol)


@pytest.mark.parametrize("radius", [5.0, 7.0])
def test_radius_neighbors_equal_scikit_learn_on_fashion_mnist(fmnist, radius):
    from sklearn.neighbors import NearestNeighbors as SkNN
    x = fmnist[0][:4000]
    q = fmnist[0][9500:9800]
    ours = NearestNeighbors(radius=radius).fit(x)
    sk = SkNN(radius=radius, algorithm="brute").fit(x.astype(np.float64))
    got = ours.radius_neighbors(q)
    sizes = [len(i) for i in got[1]]
    assert max(sizes) > 16 and min(sizes) == 0          # rows of very different sizes
    _same_radius_results(got, sk.radius_neighbors(q.astype(np.float64)), 1e-4, radius)
    # X=None: each indexed row's neighbours other than itself.
    _same_radius_results(ours.radius_neighbors(), sk.radius_neighbors(), 1e-4, radius)
    d, i = ours.radius_neighbors(q, sort_results=True)
    assert all((np.diff(row) >= 0).all() for row in d)
    g1 = ours.radius_neighbors_graph(q, mode="distance")
    g2 = sk.radius_neighbors_graph(q.astype(np.float64), mode="distance")
    assert abs((g1 != 0).sum() - (g2 != 0).sum()) <= 3    # boundary points only
    assert (g1 != 0).sum() > 1000


def test_radius_neighbors_equal_scikit_learn_on_digits(digits):
    from sklearn.neighbors import NearestNeighbors as SkNN
    x = digits[0]
    for metric in ("euclidean", "manhattan", "cosine"):
        # Radii no distance of integer data can equal (float32 vs float64).
        r = {"euclidean": 22.3, "manhattan": 120.5, "cosine": 0.1}[metric]
        ours = NearestNeighbors(metric=metric).fit(x)
        sk = SkNN(metric=metric, algorithm="brute").fit(x.astype(np.float64))
        _same_radius_results(ours.radius_neighbors(x[:200], r),
                             sk.radius_neighbors(x[:200].astype(np.float64), r), 1e-3)
        ours_graph = ours.radius_neighbors_graph(None, r)
        assert (ours_graph != sk.radius_neighbors_graph(None, r)).nnz == 0


def test_precomputed_metric_and_unknown_algorithms(digits):
    from sklearn.metrics import pairwise_distances
    from sklearn.neighbors import NearestNeighbors as SkNN
    # Digits plus noise: integer data would give exact ties, which
    # scikit-learn orders arbitrarily.
    x = digits[0][:500] + np.random.RandomState(0).rand(500, 64)
    dist = pairwise_distances(x)
    ours = NearestNeighbors(n_neighbors=4, metric="precomputed").fit(dist)
    sk = SkNN(n_neighbors=4, metric="precomputed").fit(dist)
    for q in (None, dist[:40]):
        d1, i1 = ours.kneighbors(q)
        d2, i2 = sk.kneighbors(q)
        np.testing.assert_array_equal(i1, i2)
        np.testing.assert_allclose(d1, d2)
        for sort in (False, True):
            r = float(np.median(dist)) / 2
            got = ours.radius_neighbors(q, r, sort_results=sort)
            want = sk.radius_neighbors(q, r, sort_results=sort)
            for a, b in zip(got[1], want[1]):
                np.testing.assert_array_equal(a, b)
            for a, b in zip(got[0], want[0]):
                np.testing.assert_allclose(a, b)
    with pytest.raises(embedviz.EmbedvizValueError, match="square"):
        NearestNeighbors(metric="precomputed").fit(dist[:10])
    # Issue 19: "bogus" was accepted.
    with pytest.raises(embedviz.EmbedvizValueError, match="algorithm='bogus' is not one of"):
        NearestNeighbors(algorithm="bogus").fit(x)
    for name in ("auto", "ball_tree", "kd_tree", "brute"):
        NearestNeighbors(algorithm=name).fit(x)


def test_radius_neighbors_every_row_and_none(digits):
    """A radius that takes every row gives n - 1 neighbours per indexed row
    (itself left out) and n per query; radius 0 only exact duplicates."""
    x = digits[0][:300].astype(np.float32)
    nn = NearestNeighbors().fit(x)
    d, i = nn.radius_neighbors(None, 1e6)
    assert all(len(row) == 299 for row in i)
    assert all(q not in row for q, row in enumerate(i))
    d, i = nn.radius_neighbors(x[:5], 1e6, sort_results=True)
    assert all(len(row) == 300 and row[0] == q for q, row in enumerate(i))
    assert all((np.diff(row) >= 0).all() for row in d)
    dup = np.vstack([x[:3], x[:1]])
    d, i = NearestNeighbors().fit(dup).radius_neighbors(None, 0.0)
    assert [list(row) for row in i] == [[3], [], [], [0]]
    with pytest.raises(embedviz.EmbedvizValueError, match="radius"):
        nn.radius_neighbors(x[:2], float("inf"))
