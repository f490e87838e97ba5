"""Ridge, RidgeCV, PCA.contributions and feature_correlation (explain.h)
against scikit-learn and numpy."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.linear_model import Ridge as SkRidge
from sklearn.linear_model import RidgeCV as SkRidgeCV
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

import embedviz
from embedviz import PCA, Ridge, RidgeCV, feature_correlation

from conftest import needs

pytestmark = needs("ev_ridge_fit")


def _data(n, d, t=2, seed=0, noise=0.5):
    rng = np.random.RandomState(seed)
    x = (rng.randn(n, d) + 3).astype(np.float32)
    w = rng.randn(d, t)
    y = (x.astype(np.float64) @ w + noise * rng.randn(n, t) + 5).astype(np.float32)
    return x, y


@pytest.mark.parametrize("n,d", [(200, 30), (40, 100)])
@pytest.mark.parametrize("alpha", [1e-3, 0.1, 1.0, 10.0, 1000.0])
def test_ridge_matches_scikit_learn(n, d, alpha):
    x, y = _data(n, d)
    ours = Ridge(alpha=alpha).fit(x, y)
    sk = SkRidge(alpha=alpha).fit(x.astype(np.float64), y.astype(np.float64))
    scale = max(1.0, np.abs(sk.coef_).max())
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(ours.intercept_, sk.intercept_, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.predict(x), sk.predict(x.astype(np.float64)),
                               rtol=1e-5, atol=1e-4)
    assert ours.score(x, y) == pytest.approx(sk.score(x.astype(np.float64), y), abs=1e-5)
    # the library's training R^2 per target is scikit-learn's per-target r2
    from sklearn.metrics import r2_score
    per = r2_score(y, sk.predict(x.astype(np.float64)), multioutput="raw_values")
    np.testing.assert_allclose(ours.r2_train_, per, atol=1e-5)
    assert ours.rank_ == min(n - 1, d)


def test_ridge_one_target_and_no_intercept():
    x, y = _data(80, 6, t=1)
    ours = Ridge(alpha=2.0, fit_intercept=False).fit(x, y[:, 0])
    sk = SkRidge(alpha=2.0, fit_intercept=False).fit(x.astype(np.float64), y[:, 0])
    assert ours.coef_.shape == (6,)
    assert ours.intercept_ == 0.0
    np.testing.assert_allclose(ours.coef_, sk.coef_, atol=1e-5)


@pytest.mark.parametrize("n,d", [(120, 10), (30, 80)])
def test_ridgecv_chooses_scikit_learns_alpha(n, d):
    x, y = _data(n, d, noise=2.0, seed=3)
    grid = np.logspace(-3, 4, 15)
    ours = RidgeCV(alphas=grid).fit(x, y)
    sk = SkRidgeCV(alphas=grid).fit(x.astype(np.float64), y.astype(np.float64))
    assert ours.alpha_ == sk.alpha_
    assert ours.best_score_ == pytest.approx(sk.best_score_, rel=1e-4)
    np.testing.assert_allclose(ours.coef_, sk.coef_, atol=1e-5 * max(1, np.abs(sk.coef_).max()))
    assert ours.cv_scores_.shape == (15, 2)
    assert ours.cv_scores_[:, 1].argmin() == list(grid).index(sk.alpha_)


def test_ridgecv_loo_is_brute_force_leave_one_out():
    x, y = _data(25, 4, noise=1.0, seed=7)
    r = RidgeCV(alphas=[0.3]).fit(x, y)
    err = []
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        sk = SkRidge(alpha=0.3).fit(x[keep].astype(np.float64), y[keep].astype(np.float64))
        err.append((y[i] - sk.predict(x[i:i + 1].astype(np.float64))[0]) ** 2)
    err = np.array(err)
    assert -r.best_score_ == pytest.approx(err.mean(), rel=1e-4)
    tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    np.testing.assert_allclose(r.r2_cv_, 1 - err.sum(axis=0) / tot, atol=1e-4)


def test_ridge_on_a_tsne_map_is_honest_about_r2():
    # the train R^2 beats the leave-one-out R^2 when n < d
    x, _ = _data(60, 200, seed=9)
    y = np.random.RandomState(1).randn(60, 2).astype(np.float32)   # unrelated "map"
    r = RidgeCV().fit(x, y)
    assert (r.r2_cv_ < 0.1).all()
    assert (r.r2_train_ > r.r2_cv_).all()


def test_ridge_pickles_and_refuses_bad_input():
    x, y = _data(30, 5)
    r = pickle.loads(pickle.dumps(Ridge(alpha=0.5).fit(x, y)))
    np.testing.assert_allclose(r.predict(x), Ridge(alpha=0.5).fit(x, y).predict(x), atol=1e-4)
    with pytest.raises(embedviz.EmbedvizValueError, match="alpha must be a number in"):
        Ridge(alpha=-1).fit(x, y)
    with pytest.raises(embedviz.EmbedvizValueError, match="X has 30 rows but y 29"):
        Ridge().fit(x, y[:-1])
    with pytest.raises(embedviz.NonFiniteError):
        Ridge().fit(x, np.where(np.arange(30)[:, None] == 3, np.nan, y))
    with pytest.raises(embedviz.NotFittedError):
        Ridge().predict(x)
    with pytest.raises(embedviz.EmbedvizValueError, match="criterion"):
        RidgeCV(criterion="kfold").fit(x, y)


@pytest.mark.parametrize("whiten", [False, True])
def test_contributions_match_numpy(whiten):
    rng = np.random.RandomState(2)
    x = (rng.randn(150, 12) @ rng.randn(12, 12)).astype(np.float32)
    pca = PCA(n_components=4, whiten=whiten).fit(x)
    for k in range(4):
        c = pca.contributions(x, component=k)
        want = (x.astype(np.float64) - pca.mean_) * pca.components_[k]
        if whiten:
            want /= np.sqrt(pca.explained_variance_[k])
        np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(c.sum(axis=1), pca.transform(x)[:, k], atol=1e-4)
    one = pca.contributions(x[5], component=1)
    assert one.shape == (12,)
    np.testing.assert_allclose(one, pca.contributions(x[5:6], 1)[0])
    with pytest.raises(embedviz.EmbedvizValueError, match="component must be"):
        pca.contributions(x, component=4)
    # an unpickled PCA gives the same
    again = pickle.loads(pickle.dumps(pca))
    np.testing.assert_allclose(again.contributions(x, 2), pca.contributions(x, 2), atol=1e-6)


def test_correlation_matches_numpy_and_constant_columns_are_zero():
    rng = np.random.RandomState(4)
    x = rng.randn(500, 8).astype(np.float32)
    x[:, 1] = 0.7 * x[:, 0] + 0.3 * x[:, 1] + 1e4
    x[:, 5] = 2.5
    corr, order = feature_correlation(x)
    keep = [0, 1, 2, 3, 4, 6, 7]
    want = np.corrcoef(x[:, keep].astype(np.float64), rowvar=False)
    np.testing.assert_allclose(corr[np.ix_(keep, keep)], want, atol=1e-5)
    assert corr[5, 5] == 1.0 and not corr[5, keep].any() and not corr[keep, 5].any()
    assert sorted(order.tolist()) == list(range(8))


def test_order_clusters_a_planted_block_structure():
    rng = np.random.RandomState(5)
    blocks, per, n = 5, 8, 600
    z = rng.randn(n, blocks)
    perm = rng.permutation(blocks * per)
    x = np.empty((n, blocks * per), dtype=np.float32)
    block_of = np.empty(blocks * per, dtype=int)
    for j in range(blocks * per):
        x[:, perm[j]] = z[:, j // per] * (1 if j % 2 else -1) + 0.6 * rng.randn(n)
        block_of[perm[j]] = j // per
    corr, order = feature_correlation(x)
    assert sorted(order.tolist()) == list(range(blocks * per))
    runs = 1 + int((np.diff(block_of[order]) != 0).sum())
    assert runs == blocks            # every block contiguous
    # and the identity order is not (the features were shuffled)
    assert 1 + int((np.diff(block_of) != 0).sum()) > blocks


def test_ridge_default_alpha_is_the_librarys():
    import inspect
    from embedviz import _base, explain
    assert inspect.signature(Ridge.__init__).parameters["alpha"].default == \
        _base.param_default("ridge", explain._ALPHA) == 1.0
    assert _base.param_default("ridge", explain._CHOOSE_ALPHA) == 1.0   # the C default chooses


# scikit-learn's own checks for regressors: 28 each (scikit-learn 1.2.1),
# all pass, none marked as expected to fail.
@parametrize_with_checks([Ridge(n_jobs=1), RidgeCV(n_jobs=1)])
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


def test_the_regressor_checks_ran():
    counts = [sum(1 for _ in check_estimator(e, generate_only=True)) for e in (Ridge(), RidgeCV())]
    assert counts == [28, 28]
