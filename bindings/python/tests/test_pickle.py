"""Pickling, joblib and copy.deepcopy of every estimator, fitted or not
(issue 19), and scikit-learn's tools that need them: GridSearchCV with
n_jobs=2 and Pipeline(memory=...)."""
import copy
import io
import pickle

import numpy as np
import pytest

import embedviz
from embedviz import PCA, TSNE, UMAP, NearestNeighbors
from embedviz import _base


def joblib_round_trip(obj, tmp_path):
    import joblib
    path = tmp_path / "model.joblib"
    joblib.dump(obj, path)
    return joblib.load(path)


@pytest.mark.parametrize("cls", [PCA, TSNE, UMAP, NearestNeighbors])
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_unfitted_estimators_copy_with_their_parameters(cls, how):
    est = cls(n_jobs=1)
    est.set_params(**({"n_components": 3} if cls is not NearestNeighbors else {"n_neighbors": 3}))
    out = pickle.loads(pickle.dumps(est)) if how == "pickle" else copy.deepcopy(est)
    assert out is not est
    assert out.get_params() == est.get_params()
    assert repr(out) == repr(est)


@pytest.mark.parametrize("whiten", [False, True])
@pytest.mark.parametrize("n_components", [10, 0.9, None])
def test_pca_joblib_round_trip_gives_identical_transforms(digits, tmp_path, whiten, n_components):
    x = digits[0]
    p = PCA(n_components, whiten=whiten).fit(x)
    q = joblib_round_trip(p, tmp_path)
    for name in ("components_", "mean_", "explained_variance_", "explained_variance_ratio_",
                 "singular_values_"):
        np.testing.assert_array_equal(getattr(q, name), getattr(p, name))
    assert (q.n_components_, q.noise_variance_) == (p.n_components_, p.noise_variance_)
    # The loaded PCA has a native handle again (ev_pca_set_fit): its
    # transforms are the library's, bit for bit.
    assert q._handle is not None
    t_native, t_loaded = p.transform(x), q.transform(x)
    np.testing.assert_array_equal(t_loaded, t_native)
    inv_native, inv_loaded = p.inverse_transform(t_native), q.inverse_transform(t_native)
    np.testing.assert_array_equal(inv_loaded, inv_native)
    # Without the handle (a library older than 1.1) the numpy path repeats
    # the library's float32 steps: the library's results to 1e-6 (bit for
    # bit when numpy's GEMM splits the sums as the library's does).
    q._handle = None
    np.testing.assert_allclose(q.transform(x), t_native, rtol=1e-6,
                               atol=1e-6 * np.abs(t_native).max())
    np.testing.assert_allclose(q.inverse_transform(t_native), inv_native, rtol=1e-6,
                               atol=1e-6 * np.abs(inv_native).max())
    # Bad input is refused as the native transform refuses it.
    with pytest.raises(embedviz.EmbedvizValueError, match="columns"):
        q.transform(x[:, :10])
    bad = x[:3].copy()
    bad[1, 2] = np.nan
    with pytest.raises(embedviz.NonFiniteError):
        q.transform(bad)
    # Fitting again makes a native handle.
    q.fit(x)
    np.testing.assert_array_equal(q.transform(x), t_native)


def test_pca_deepcopy_is_independent(digits):
    x = digits[0]
    p = PCA(5).fit(x)
    c = copy.deepcopy(p)
    t = p.transform(x)
    # the copy has its own native handle with the same fit: bit for bit
    np.testing.assert_array_equal(c.transform(x), t)
    p.set_params(n_components=2).fit(x)
    assert c.transform(x).shape == (len(x), 5)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan", "minkowski"])
def test_nearest_neighbors_joblib_round_trip_rebuilds_the_index(digits, tmp_path, metric):
    # 600 rows and 300 queries (1,500 rows made the Minkowski case 10 s long:
    # p = 3 costs a pow() per coordinate)
    x = digits[0][:900]
    nn = NearestNeighbors(n_neighbors=7, metric=metric, p=3).fit(x[:600])
    loaded = joblib_round_trip(nn, tmp_path)
    assert loaded._handle is not None          # a native index again
    for q in (None, x[600:]):
        d1, i1 = nn.kneighbors(q)
        d2, i2 = loaded.kneighbors(q)
        np.testing.assert_array_equal(i2, i1)
        np.testing.assert_array_equal(d2, d1)
    assert loaded.effective_metric_ == nn.effective_metric_
    c = copy.deepcopy(nn)
    np.testing.assert_array_equal(c.kneighbors(x[600:])[1], nn.kneighbors(x[600:])[1])


def test_tsne_joblib_round_trip_keeps_the_map(digits, tmp_path):
    t = TSNE(n_iter=250, random_state=0, n_jobs=1).fit(digits[0][:300])
    loaded = joblib_round_trip(t, tmp_path)
    np.testing.assert_array_equal(loaded.embedding_, t.embedding_)
    assert (loaded.kl_divergence_, loaded.n_iter_) == (t.kl_divergence_, t.n_iter_)
    assert copy.deepcopy(t).embedding_ is not t.embedding_


def test_umap_joblib_round_trip_keeps_the_map_and_places_new_rows_alike(digits, tmp_path):
    # (embedviz.distributed ships a fitted UMAP to Dask workers this way)
    x = digits[0][:500]
    u = UMAP(n_neighbors=10, n_epochs=60, random_state=0, n_jobs=1).fit(x[:400])
    loaded = joblib_round_trip(u, tmp_path)
    np.testing.assert_array_equal(loaded.embedding_, u.embedding_)
    copied = copy.deepcopy(loaded)
    placed = loaded.transform(x[400:])
    assert placed.shape == (100, 2) and np.isfinite(placed).all()
    np.testing.assert_array_equal(copied.transform(x[400:]), placed)
    np.testing.assert_array_equal(u.transform(x[400:]), placed)


def test_a_pickle_from_a_newer_version_is_refused_clearly(digits):
    p = PCA(2).fit(digits[0])
    state = p.__getstate__()
    assert state["_embedviz_state_version"] == _base.STATE_VERSION
    state["_embedviz_state_version"] = _base.STATE_VERSION + 1
    fresh = PCA.__new__(PCA)
    with pytest.raises(embedviz.EmbedvizValueError, match="newer embedviz.*upgrade embedviz"):
        fresh.__setstate__(state)
    # The same through pickle itself: patch the version the writer tags.
    old = _base.STATE_VERSION
    _base.STATE_VERSION = 99
    try:
        data = pickle.dumps(PCA(2))
    finally:
        _base.STATE_VERSION = old
    with pytest.raises(embedviz.EmbedvizValueError, match="state version 99"):
        pickle.loads(data)


def test_grid_search_with_two_jobs_over_a_pipeline(digits):
    from sklearn.model_selection import GridSearchCV
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    x, y = digits
    pipe = Pipeline([("pca", PCA(n_jobs=1)), ("knn", KNeighborsClassifier())])
    grid = GridSearchCV(pipe, {"pca__n_components": [5, 20], "knn__n_neighbors": [1, 5]},
                        cv=3, n_jobs=2)
    grid.fit(x, y)
    assert grid.best_score_ > 0.9
    assert set(grid.best_params_) == {"pca__n_components", "knn__n_neighbors"}
    # The refitted best pipeline is a usable, fitted embedviz PCA.
    best = grid.best_estimator_
    assert isinstance(best.named_steps["pca"], PCA)
    assert (best.predict(x) == y).mean() > 0.95


def test_pipeline_memory_caches_the_fitted_pca(digits, tmp_path):
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    x, y = digits
    pipe = Pipeline([("pca", PCA(10)), ("knn", KNeighborsClassifier())], memory=str(tmp_path))
    pipe.fit(x, y)
    first = pipe.predict(x)
    again = Pipeline([("pca", PCA(10)), ("knn", KNeighborsClassifier())],
                     memory=str(tmp_path)).fit(x, y)
    # The second fit loaded the cached PCA (a copy rebuilt on load).
    assert again.named_steps["pca"]._handle is not None
    np.testing.assert_array_equal(again.predict(x), first)
