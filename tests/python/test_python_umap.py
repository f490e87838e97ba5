"""embedviz.UMAP: umap-learn's names and shapes, reproducibility, transform,
graph_, pickling, and errors."""
import pickle

import numpy as np
import pytest

import embedviz
from embedviz import UMAP


def blobs(n=450, d=8, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    x = rng.normal(size=(n, d)).astype(np.float32)
    x[np.arange(n), labels] += 25.0
    return x, labels


def label_accuracy(y, labels, k=10):
    d = ((y[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nb = np.argsort(d, axis=1)[:, :k]
    return (labels[nb] == labels[:, None]).mean()


def test_defaults_are_umap_learns():
    u = UMAP()
    assert (u.n_neighbors, u.n_components, u.min_dist, u.spread, u.learning_rate,
            u.negative_sample_rate, u.set_op_mix_ratio, u.local_connectivity,
            u.repulsion_strength, u.init, u.metric) == (15, 2, 0.1, 1.0, 1.0, 5, 1.0, 1.0, 1.0,
                                                        "spectral", "euclidean")
    a, b = embedviz.umap.find_ab_params(1.0, 0.1)
    # umap-learn 0.5.3: find_ab_params(1.0, 0.1) = (1.5769434601962196, 0.8950608779914887)
    assert a == pytest.approx(1.5769434601962196, rel=1e-4)
    assert b == pytest.approx(0.8950608779914887, rel=1e-4)


def test_fit_transform_keeps_clusters_and_says_which_start():
    x, labels = blobs()
    u = UMAP(random_state=1, n_epochs=200)
    y = u.fit_transform(x)
    assert y.shape == (450, 2) and y.dtype == np.float32 and np.isfinite(y).all()
    assert label_accuracy(y, labels) > 0.99
    # a disconnected graph: each blob laid out spectrally around its place
    assert u.n_graph_components_ == 3 and u.init_used_ == "spectral"
    assert u.n_random_components_ == 0
    assert u.n_epochs_ == 200 and u._a == pytest.approx(1.577, abs=1e-3)


def test_same_seed_same_bits_on_any_thread_count():
    rng = np.random.default_rng(4)
    t = np.linspace(0, 2 * np.pi, 500, endpoint=False)
    x = np.c_[np.cos(t), np.sin(t), 0.05 * rng.normal(size=500)].astype(np.float32)
    y1 = UMAP(random_state=7, n_jobs=1, n_epochs=100).fit_transform(x)
    y2 = UMAP(random_state=7, n_jobs=2, n_epochs=100).fit_transform(x)
    y3 = UMAP(random_state=8, n_jobs=2, n_epochs=100).fit_transform(x)
    assert np.array_equal(y1, y2)
    assert not np.array_equal(y1, y3)


def test_component_places_same_bits_on_any_thread_count():
    """Five blobs: five graph components placed by the spectral embedding
    of their centroids, which ran with the threads' BLAS (maps 8.5 apart
    after 20 epochs on 1 and 2 threads); now on one thread, the same bits."""
    rng = np.random.RandomState(0)
    for n, d in [(300, 64), (300, 10)]:  # the rows the case below follows
        rng.randn(n, d), rng.randn(5, d)
    x = (rng.randn(2000, 20) + np.repeat(rng.randn(5, 20) * 4, 400, axis=0)).astype(np.float32)
    u1 = UMAP(random_state=0, n_jobs=1, n_epochs=20)
    y1 = u1.fit_transform(x)
    y2 = UMAP(random_state=0, n_jobs=2, n_epochs=20).fit_transform(x)
    assert u1.n_graph_components_ == 5
    assert np.array_equal(y1, y2)


def test_graph_is_the_symmetric_fuzzy_set():
    sparse = pytest.importorskip("scipy.sparse")
    x, _ = blobs(200)
    g = UMAP(random_state=0, n_epochs=50).fit(x).graph_
    assert sparse.issparse(g) and g.shape == (200, 200)
    assert abs(g - g.T).max() < 1e-6
    assert g.data.min() > 0 and g.data.max() <= 1.0
    # each row has at least its 14 neighbours
    assert (np.diff(g.indptr) >= 14).all()


def test_transform_places_training_and_new_rows():
    x, labels = blobs(600)
    u = UMAP(random_state=2, n_epochs=200).fit(x)
    t = u.transform(x[:30])
    extent = np.ptp(u.embedding_, axis=0).max()
    assert np.abs(t - u.embedding_[:30]).max() < 0.1 * extent
    xn, ln = blobs(60, seed=5)
    tn = u.transform(xn)
    d = ((tn[:, None, :] - u.embedding_[None]) ** 2).sum(-1)
    assert (labels[np.argmin(d, axis=1)] == ln).all()


def test_pickle_keeps_the_map_and_transform():
    x, _ = blobs(300)
    u = UMAP(random_state=3, n_epochs=100).fit(x)
    t = u.transform(x[:20])
    v = pickle.loads(pickle.dumps(u))
    assert np.array_equal(v.embedding_, u.embedding_)
    assert np.array_equal(v.transform(x[:20]), t)
    assert (v.graph_ != u.graph_).nnz == 0


def test_errors_say_what_to_change():
    x, _ = blobs(10)
    with pytest.raises(embedviz.EmbedvizValueError, match="at most 9"):
        UMAP().fit(x)
    with pytest.raises(embedviz.EmbedvizValueError, match="EV_UMAP_SPREAD"):
        UMAP(n_neighbors=5, min_dist=2.0).fit(x)
    bad = x.copy()
    bad[3, 2] = np.nan
    with pytest.raises(embedviz.NonFiniteError):
        UMAP(n_neighbors=5).fit(bad)
    with pytest.raises(embedviz.NotFittedError):
        UMAP().transform(x)
    u = UMAP(n_neighbors=5, n_epochs=20).fit(x)
    with pytest.raises(embedviz.EmbedvizValueError, match="fitted on 8"):
        u.transform(x[:, :4])
    with pytest.raises(embedviz.EmbedvizValueError, match="init"):
        UMAP(n_neighbors=5, init="pca").fit(x)
    with pytest.raises(embedviz.EmbedvizValueError, match="knn_method"):
        UMAP(n_neighbors=5, knn_method="hnsw").fit(x)


def test_approximate_neighbours_keep_clusters():
    x, labels = blobs(900)
    y = UMAP(random_state=1, n_epochs=100, knn_method="approximate").fit_transform(x)
    assert label_accuracy(y, labels) > 0.99


def test_duplicates_and_given_init():
    base, _ = blobs(30)
    x = np.repeat(base, 5, axis=0)
    y = UMAP(n_epochs=50).fit_transform(x)
    assert np.isfinite(y).all()
    start = np.random.default_rng(0).uniform(size=(150, 2)).astype(np.float32)
    u = UMAP(n_epochs=10, init=start).fit(x)
    assert u.init_used_ == "given"
