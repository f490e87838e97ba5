"""TSNE against scikit-learn's TSNE at the same settings: trustworthiness
(10 neighbours) within 0.01 of scikit-learn's or better, on digits and a
Fashion-MNIST subset; the other inputs, settings and error paths."""
import os
import types

import numpy as np
import pytest
from sklearn.decomposition import PCA as SkPCA
from sklearn.manifold import trustworthiness
from sklearn.metrics import pairwise_distances

import embedviz
from embedviz import TSNE
from conftest import needs

pytestmark = needs("ev_tsne_create")

# scikit-learn's maps at the settings below, made by tests/ref/tsne_sklearn.py
# (running scikit-learn here cost about 40 s of CPU in every `make check`)
SK_MAPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                       "tests", "data", "tsne", "sklearn_maps.npz")


def sklearn_map(name):
    with np.load(SK_MAPS) as z:
        return z[name]


@pytest.fixture(scope="module")
def digits_maps(digits):
    x, _ = digits
    ours = TSNE(random_state=0).fit(x)
    # SkTSNE(random_state=0, init="pca", learning_rate="auto").fit(x)
    ref = types.SimpleNamespace(embedding_=sklearn_map("digits_map"),
                                kl_divergence_=float(sklearn_map("digits_kl")))
    assert ref.embedding_.shape == x.shape[:1] + (2,)
    return x, ours, ref


def test_digits_trustworthiness_matches_sklearn(digits_maps):
    x, ours, ref = digits_maps
    t_ours = trustworthiness(x, ours.embedding_, n_neighbors=10)
    t_ref = trustworthiness(x, ref.embedding_, n_neighbors=10)
    assert t_ours >= t_ref - 0.01, (t_ours, t_ref)
    assert ours.embedding_.shape == (1797, 2) and ours.embedding_.dtype == np.float32
    assert ours.n_iter_ <= 1000 and ours.n_iter_ > 250
    # The same objective reached: KL within 10% of scikit-learn's.
    assert abs(ours.kl_divergence_ - ref.kl_divergence_) < 0.1 * ref.kl_divergence_
    assert ours.learning_rate_ == pytest.approx(max(1797 / 12 / 4, 50))


def test_fashion_mnist_trustworthiness_matches_sklearn(fmnist):
    x = SkPCA(50, svd_solver="full").fit_transform(fmnist[0][:1500])
    ours = TSNE(random_state=0).fit_transform(x)
    # SkTSNE(random_state=0, init="pca", learning_rate="auto").fit_transform(x)
    ref = sklearn_map("fmnist1500_map")
    t_ours = trustworthiness(x, ours, n_neighbors=10)
    t_ref = trustworthiness(x, ref, n_neighbors=10)
    assert t_ours >= t_ref - 0.01, (t_ours, t_ref)


def test_exact_method_matches_sklearn(digits):
    x = digits[0][:400]
    ours = TSNE(method="exact", random_state=0).fit_transform(x)
    # SkTSNE(method="exact", random_state=0, init="pca", learning_rate="auto").fit_transform(x)
    ref = sklearn_map("exact400_map")
    assert trustworthiness(x, ours, n_neighbors=10) >= trustworthiness(x, ref, n_neighbors=10) - 0.01


def test_reproducible_and_other_inputs(digits):
    x = digits[0][:500]
    a = TSNE(random_state=3, n_iter=300).fit_transform(x)
    np.testing.assert_array_equal(a, TSNE(random_state=3, n_iter=300).fit_transform(x))
    d = pairwise_distances(x).astype(np.float32)
    pre = TSNE(metric="precomputed", init="random", n_iter=300).fit_transform(d)
    assert trustworthiness(x, pre, n_neighbors=10) > 0.95
    start = np.random.default_rng(0).normal(size=(500, 2)).astype(np.float32) * 1e-4
    given = TSNE(init=start, n_iter=300).fit(x)
    # n_iter_ is scikit-learn's count, the last iteration's index (issue 19).
    assert given.n_iter_ == 299 and trustworthiness(x, given.embedding_, n_neighbors=10) > 0.95
    three = TSNE(n_components=3, n_iter=300, metric="cosine").fit_transform(x)
    assert three.shape == (500, 3)


def test_progress_reports_kl_and_cancels(digits):
    x = digits[0][:500]
    seen = []
    TSNE(n_iter=300, progress=lambda *a: seen.append(a)).fit(x)
    stages = [s[0] for s in seen]
    assert "exaggeration" in stages and "optimize" in stages
    kl = [s[3] for s in seen if s[0] == "optimize"]
    assert all(np.isfinite(kl)) and kl[-1] <= kl[0] + 1e-6
    t = TSNE(n_iter=300, progress=lambda stage, *a: stage == "optimize")
    with pytest.raises(embedviz.Cancelled):
        t.fit(x)
    t.progress = None
    assert t.fit(x[:100]).embedding_.shape == (100, 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"perplexity": 500}, "erplexity"),
    ({"method": "fast"}, "method"),
    ({"method": "fft", "n_components": 3}, "method='barnes_hut'"),
    ({"learning_rate": "fast"}, "learning_rate"),
    ({"learning_rate": -1.0}, "learning_rate"),
    ({"init": "spectral"}, "init"),
    ({"init": np.zeros((5, 2))}, ""),
    ({"n_components": 4}, ""),                       # Barnes-Hut: up to 3
    ({"angle": 2.0}, ""),
    ({"metric": "mahalanobis"}, "metric"),
])
def test_bad_settings(digits, kwargs, message):
    with pytest.raises(embedviz.EmbedvizValueError, match=message):
        TSNE(n_iter=250, **kwargs).fit(digits[0][:200])


def test_bad_inputs(digits):
    x = digits[0][:100].copy()
    x[3, 3] = np.nan
    with pytest.raises(embedviz.NonFiniteError):
        TSNE().fit(x)
    with pytest.raises(ValueError, match="square"):
        TSNE(metric="precomputed").fit(np.zeros((4, 5)))
    with pytest.raises(ValueError):
        TSNE().fit(np.zeros((1, 3)))
    with pytest.raises(embedviz.MemoryLimitError) as e:
        TSNE(method="exact").fit(np.random.default_rng(0).random((20000, 2)))
    assert isinstance(e.value, MemoryError)


def test_n_iter_without_progress_reaches_the_library():
    # scikit-learn's rule: at a check (every 50 iterations) after the
    # exaggeration, stop when the KL has not improved for more than this
    # many iterations. 0 stops at the first check without progress; the
    # default (300) lets unstructured data run all its iterations.
    x = np.random.RandomState(0).rand(300, 10).astype(np.float32)
    eager = TSNE(random_state=0, n_iter_without_progress=0).fit(x)
    default = TSNE(random_state=0).fit(x)
    assert default.n_iter_ == 999      # scikit-learn's count: 1,000 iterations ran
    assert 250 < eager.n_iter_ < 999
    assert (eager.n_iter_ + 1) % 50 == 0   # stopped at a check (index + 1 iterations ran)


def test_max_iter_and_n_iter_counted_as_scikit_learn_counts(digits):
    # scikit-learn's n_iter_ is the index of the last iteration (299 after
    # 300); max_iter is scikit-learn 1.5's name of n_iter.
    from sklearn.manifold import TSNE as SkTSNE
    x = digits[0][:200]
    sk = SkTSNE(n_iter=300, random_state=0, init="pca", learning_rate="auto").fit(x)
    ours = TSNE(n_iter=300, random_state=0, n_jobs=1).fit(x)
    by_max = TSNE(max_iter=300, random_state=0, n_jobs=1).fit(x)
    assert sk.n_iter_ == 299
    assert ours.n_iter_ == by_max.n_iter_ == 299
    np.testing.assert_array_equal(by_max.embedding_, ours.embedding_)
    with pytest.raises(embedviz.EmbedvizValueError, match="n_iter=400 and max_iter=300"):
        TSNE(n_iter=400, max_iter=300).fit(x)


def test_neighbors_and_fft_grid_parameters_reach_the_library():
    # openTSNE's names. 3,000 uniform rows in 10-D at perplexity 5 (16
    # neighbours): NN-descent misses a few true neighbours there, so
    # "approx" gives another map than "exact", which "auto" equals (n^2 d
    # is far below AUTO's 1e12).
    x = np.random.default_rng(1).random((3000, 10), dtype=np.float32)
    fit = lambda **kw: TSNE(perplexity=5, n_iter=20, random_state=0, **kw).fit_transform(x)
    exact, auto, approx = fit(neighbors="exact"), fit(), fit(neighbors="approx")
    np.testing.assert_array_equal(exact, auto)
    assert (approx != exact).any()
    with pytest.raises(embedviz.EmbedvizValueError, match="neighbors must be 'auto', 'exact' or 'approx', got 'annoy'"):
        TSNE(neighbors="annoy").fit(x[:100])
    # the grid: 3 points on 20 intervals is another (cheaper) repulsion;
    # None goes back to the library's defaults on the same object. The
    # near field off (near_radius=0): on this small, dense map it would sum
    # every pair exactly and leave the grid's parameters nothing to change
    y = x[:300]
    t = TSNE(method="fft", n_iter=30, random_state=0, near_radius=0)
    default = t.fit_transform(y)
    coarse = t.set_params(n_interpolation_points=3, min_num_intervals=20).fit_transform(y)
    assert (coarse != default).any()
    again = t.set_params(n_interpolation_points=None, min_num_intervals=None).fit_transform(y)
    np.testing.assert_array_equal(again, default)
    assert t.get_params()["n_interpolation_points"] is None
    # the near field on (the library's default radius): the grid's
    # parameters no longer matter here, and the radius reaches the library
    near = t.set_params(near_radius=None).fit_transform(y)
    assert (near != default).any()
    np.testing.assert_array_equal(
        t.set_params(n_interpolation_points=3, min_num_intervals=20).fit_transform(y), near)
    assert (t.set_params(near_radius=0).fit_transform(y) != near).any()


def test_fft_method_keeps_clusters_apart_and_is_reproducible(digits):
    # FIt-SNE's repulsion on the digits: as trustworthy as Barnes-Hut's map
    # within 0.01, bit-identical for a seed, openTSNE's learning rate.
    x, _ = digits
    # 500 iterations: at this size the FFT grid (5 points a interval, at
    # least 50 intervals a side) is most of the time
    fft = TSNE(method="fft", random_state=0, n_iter=500).fit(x)
    bh = TSNE(random_state=0, n_iter=500).fit(x)
    t_fft = trustworthiness(x, fft.embedding_, n_neighbors=10)
    t_bh = trustworthiness(x, bh.embedding_, n_neighbors=10)
    assert t_fft >= t_bh - 0.01, (t_fft, t_bh)
    assert fft.learning_rate_ == pytest.approx(1797 / 4)
    assert abs(fft.kl_divergence_ - bh.kl_divergence_) < 0.1 * bh.kl_divergence_
    # bit-identical for a seed: two shorter fits of a part (the grid, not
    # the data size, is most of an FFT fit's time at this size)
    # (openTSNE's 3 points a interval: a grid 2.8x smaller than the default's)
    once = TSNE(method="fft", random_state=3, n_iter=300,
                n_interpolation_points=3).fit_transform(x[:600])
    again = TSNE(method="fft", random_state=3, n_iter=300,
                 n_interpolation_points=3).fit_transform(x[:600])
    np.testing.assert_array_equal(once, again)
    line = TSNE(method="fft", n_components=1, n_iter=300).fit_transform(x[:500])
    assert line.shape == (500, 1) and np.isfinite(line).all()
