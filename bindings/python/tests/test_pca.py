"""PCA against scikit-learn's PCA (float64, exact solver) on digits and a
Fashion-MNIST subset. Components are compared up to sign: libembedviz
makes each component's largest-magnitude loading positive (scikit-learn
1.5's rule); the scikit-learn installed here may flip by U instead."""
import numpy as np
import pytest
from sklearn.decomposition import PCA as SkPCA

import embedviz
from embedviz import PCA
from conftest import needs

pytestmark = needs("ev_pca_create")


def align(ours, ref):
    """Signs of ref's rows (and score columns) that match ours."""
    return np.sign(np.sum(ours.astype(np.float64) * ref, axis=1))


@pytest.mark.parametrize("solver", ["auto", "full", "covariance_eigh", "arpack", "randomized"])
@pytest.mark.parametrize("whiten", [False, True])
def test_matches_sklearn_on_digits(digits, solver, whiten):
    x, _ = digits
    ours = PCA(n_components=10, whiten=whiten, svd_solver=solver).fit(x)
    ref = SkPCA(n_components=10, whiten=whiten, svd_solver="full").fit(x.astype(np.float64))
    s = align(ours.components_, ref.components_)
    tol = 2e-3 if solver == "randomized" else 1e-4
    np.testing.assert_allclose(ours.components_, ref.components_ * s[:, None], atol=tol)
    np.testing.assert_allclose(ours.mean_, ref.mean_, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-4)
    np.testing.assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-4)
    np.testing.assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-4)
    np.testing.assert_allclose(ours.noise_variance_, ref.noise_variance_, rtol=1e-4)
    assert ours.n_components_ == 10 and ours.n_features_in_ == 64 and ours.n_samples_ == 1797
    scores = ours.transform(x)
    assert scores.dtype == np.float32 and scores.shape == (1797, 10)
    ref_scores = ref.transform(x) * s[None, :]
    scale = np.abs(ref_scores).max()
    np.testing.assert_allclose(scores, ref_scores, atol=(5e-3 if solver == "randomized" else 1e-4) * scale)
    back = ours.inverse_transform(scores)
    np.testing.assert_allclose(back, ref.inverse_transform(ref.transform(x)), atol=2e-3 * 16)
    cov = ref.get_covariance()
    np.testing.assert_allclose(ours.get_covariance(), cov, atol=(3e-3 if solver == "randomized" else 1e-4) * np.abs(cov).max())


def test_matches_sklearn_on_fashion_mnist(fmnist):
    x = fmnist[0][:2000]
    ours = PCA(n_components=50, svd_solver="full").fit(x)
    ref = SkPCA(n_components=50, svd_solver="full").fit(x.astype(np.float64))
    np.testing.assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-4, atol=1e-7)
    s = align(ours.components_, ref.components_)
    # Leading components are well separated; their loadings agree closely.
    np.testing.assert_allclose(ours.components_[:20], (ref.components_ * s[:, None])[:20], atol=2e-3)
    cos = np.abs(np.sum(ours.components_ * ref.components_, axis=1))
    assert cos.min() > 0.99


def test_auto_on_fashion_mnist_subset_is_randomized_and_close(fmnist):
    """2,000 x 784 with 50 components: the cost rule picks the randomized
    solver (as scikit-learn's 'auto' does). Its leading ratios are exact to
    1e-4 and the tail within 2e-2 relative; scikit-learn's own randomized
    solver is off by 1.3e-2 on this data."""
    x = fmnist[0][:2000]
    auto = PCA(n_components=50).fit(x)
    rand = PCA(n_components=50, svd_solver="randomized").fit(x)
    np.testing.assert_array_equal(auto.explained_variance_ratio_, rand.explained_variance_ratio_)
    ref = SkPCA(n_components=50, svd_solver="full").fit(x.astype(np.float64))
    np.testing.assert_allclose(auto.explained_variance_ratio_[:10], ref.explained_variance_ratio_[:10], rtol=1e-4)
    np.testing.assert_allclose(auto.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=2e-2)
    cos = np.abs(np.sum(auto.components_[:10] * ref.components_[:10], axis=1))
    assert cos.min() > 0.999


def test_fit_transform_equals_fit_then_transform(digits):
    x, _ = digits
    a = PCA(5).fit_transform(x)
    b = PCA(5).fit(x).transform(x)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_variance_to_keep_and_all_components(digits):
    x, _ = digits
    for frac in (0.5, 0.9, 0.99):
        assert PCA(frac).fit(x).n_components_ == SkPCA(frac, svd_solver="full").fit(x).n_components_
    full = PCA().fit(x)
    assert full.n_components_ == 64
    np.testing.assert_allclose(full.explained_variance_ratio_.sum(), 1.0, rtol=1e-5)
    assert full.noise_variance_ == 0.0


def test_input_conversion_and_views_without_copy(digits):
    x, _ = digits
    from embedviz import _arrays
    big = np.zeros((1797, 80), np.float32)
    big[:, 8:72] = x
    view = big[:, 8:72]                       # leading dimension 80, no copy
    assert _arrays.as_matrix(view)[1] == view.ctypes.data
    assert _arrays.as_matrix(x)[1] == x.ctypes.data
    every_other = x[::2]                      # leading dimension 128
    assert _arrays.as_matrix(every_other)[1] == every_other.ctypes.data
    assert _arrays.as_matrix(every_other)[4] == 128
    ref = PCA(4).fit(x).transform(x)
    np.testing.assert_allclose(PCA(4).fit(view).transform(view), ref, rtol=1e-5, atol=1e-4)
    # float64, Fortran order, int and list inputs are converted to float32.
    for other in (x.astype(np.float64), np.asfortranarray(x), x.astype(np.int32)):
        np.testing.assert_allclose(PCA(4).fit(other).transform(other), ref, rtol=1e-5, atol=1e-4)
    odd = x[:, ::2]
    assert _arrays.as_matrix(odd)[1] != odd.ctypes.data
    lst = x[:10].tolist()
    assert PCA(2).fit_transform(lst).shape == (10, 2)


def test_params_protocol():
    p = PCA(3, whiten=True)
    assert p.get_params()["n_components"] == 3 and p.get_params()["whiten"] is True
    assert p.set_params(n_components=5) is p and p.n_components == 5
    assert repr(p) == "PCA(n_components=5, whiten=True)"
    with pytest.raises(ValueError, match="invalid parameter"):
        p.set_params(bogus=1)


def test_refit_keeps_working_and_seed(digits):
    x, _ = digits
    p = PCA(3, svd_solver="randomized", random_state=7)
    a = p.fit(x).components_.copy()
    b = p.fit(x).components_
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(PCA(3, svd_solver="randomized", random_state=7).fit(x).components_, a)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_components": 0}, "n_components"),
    ({"n_components": 65}, "between 1 and"),
    ({"n_components": "most"}, "not supported"),   # "mle" is supported since issue 19
    ({"svd_solver": "lobpcg"}, "svd_solver"),
    ({"iterated_power": "many"}, "iterated_power"),
    ({"iterated_power": -5}, "EV_PCA_POWER_ITERATIONS|power"),
    ({"n_oversamples": -1}, "OVERSAMPLES|oversamples"),
    ({"random_state": -1}, "random_state"),
    ({"n_jobs": 0}, "n_jobs"),
])
def test_bad_settings_raise_value_error(digits, kwargs, message):
    x, _ = digits
    with pytest.raises(embedviz.EmbedvizValueError, match=message):
        PCA(**kwargs).fit(x)


def test_bad_inputs(digits):
    x, _ = digits
    with pytest.raises(ValueError, match="2-D"):
        PCA(2).fit(x[0])
    with pytest.raises(ValueError):
        PCA(2).fit(np.zeros((0, 4), np.float32))
    with pytest.raises(ValueError, match="complex"):
        PCA(2).fit(x.astype(np.complex64))
    with pytest.raises(ValueError, match="numbers"):
        PCA(2).fit([["a", "b"], ["c", "d"]])
    bad = x.copy()
    bad[5, 7] = np.nan
    with pytest.raises(embedviz.NonFiniteError) as e:
        PCA(2).fit(bad)
    assert isinstance(e.value, ValueError) and e.value.status_name == "EV_ERR_NONFINITE"
    with pytest.raises(embedviz.NotFittedError):
        PCA(2).transform(x)
    with pytest.raises(AttributeError):          # scikit-learn's NotFittedError is one too
        PCA(2).inverse_transform(x[:, :2])
    p = PCA(2).fit(x)
    with pytest.raises(ValueError):
        p.transform(x[:, :10])                   # 10 features, fitted on 64
    with pytest.raises(ValueError):
        p.inverse_transform(x[:, :3])            # 3 scores, 2 components
    inf = x[:4].copy()
    inf[0, 0] = np.inf
    with pytest.raises(embedviz.NonFiniteError):
        p.transform(inf)
    # The failed calls left the fit in place.
    assert p.transform(x[:3]).shape == (3, 2)


def test_pickled_pca_transforms_as_before(digits):
    # Pickling used to be refused; tests/test_pickle.py covers it in full.
    import pickle
    p = PCA(2).fit(digits[0])
    q = pickle.loads(pickle.dumps(p))
    np.testing.assert_array_equal(q.transform(digits[0]), p.transform(digits[0]))


def test_mle_score_precision_and_feature_names_match_scikit_learn(digits):
    # Issue 19's missing PCA API, against scikit-learn on the same data.
    from sklearn.decomposition import PCA as SkPCA
    x = digits[0].astype(np.float64)
    rs = np.random.RandomState(0)
    low_rank = rs.randn(500, 3) @ rs.randn(3, 12) + 0.1 * rs.randn(500, 12)
    for data in (x, low_rank, x[:, 10:30]):
        assert PCA("mle").fit(data).n_components_ == \
            SkPCA("mle", svd_solver="full").fit(data).n_components_
    with pytest.raises(embedviz.EmbedvizValueError, match="n_samples >= n_features"):
        PCA("mle").fit(x[:20])
    ours, sk = PCA(10).fit(x), SkPCA(10, svd_solver="full").fit(x)
    assert ours.score(x) == pytest.approx(sk.score(x), rel=1e-5)
    np.testing.assert_allclose(ours.score_samples(x[:50]), sk.score_samples(x[:50]), rtol=1e-4)
    np.testing.assert_allclose(ours.get_precision(), sk.get_precision(),
                               atol=1e-4 * np.abs(sk.get_precision()).max())
    assert list(ours.get_feature_names_out()) == list(sk.get_feature_names_out())
    # float64 in, float64 out (computed in float32); float32 stays float32.
    assert ours.transform(x).dtype == np.float64
    assert ours.fit_transform(x).dtype == np.float64
    assert ours.inverse_transform(ours.transform(x)).dtype == np.float64
    assert ours.transform(digits[0]).dtype == np.float32


class _Frame:
    """Enough of a pandas DataFrame (pandas is not installed here): named
    columns, dtypes and conversion to an array."""

    def __init__(self, values, columns):
        self.values, self.columns = values, columns
        self.dtypes = [values.dtype] * values.shape[1]

    def __array__(self, dtype=None):
        return self.values if dtype is None else self.values.astype(dtype)


def test_feature_names_in_from_a_data_frame(digits):
    x = digits[0][:, :6]
    names = ["f%d" % i for i in range(6)]
    p = PCA(2).fit(_Frame(x, names))
    assert list(p.feature_names_in_) == names
    with pytest.raises(ValueError, match="feature names differ"):
        p.transform(_Frame(x, names[::-1]))
    assert not hasattr(PCA(2).fit(x), "feature_names_in_")
    assert not hasattr(p.fit(x), "feature_names_in_")   # a refit on an array forgets them
