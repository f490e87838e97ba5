"""Why a point sits where it sits (libembedviz's explain.h, since 1.1):
ridge regression from features to a map's axes with scikit-learn's Ridge
and RidgeCV names, and the correlation of features with an order that
clusters them. PCA's per-feature contributions are PCA.contributions."""
import ctypes

import numpy as np

from . import _arrays, _errors, _lib
from ._base import Estimator, Handle

_vp, _sz, _int, _dbl = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_double
_dp = ctypes.POINTER(ctypes.c_double)
_szp = ctypes.POINTER(ctypes.c_size_t)
_lib.register({
    "ev_pca_contributions": (_int, [_vp, _sz, _vp, _sz, _sz, _sz, _vp, _sz]),
    "ev_pca_top_contributions": (_int, [_vp, _sz, _vp, _sz, _sz, _vp, _vp]),
    "ev_ridge_create": (_int, [_vp]),
    "ev_ridge_free": (None, [_vp]),
    "ev_ridge_set": (_int, [_vp, _int, _dbl]),
    "ev_ridge_get": (_int, [_vp, _int, _dp]),
    "ev_ridge_param_bounds": (_int, [_int, _dp, _dp]),
    "ev_ridge_param_default": (_int, [_int, _dp]),
    "ev_ridge_set_alphas": (_int, [_vp, _vp, _sz]),
    "ev_ridge_fit": (_int, [_vp, _vp, _sz, _sz, _sz, _vp, _sz, _sz]),
    "ev_ridge_coef": (_int, [_vp, _vp, _sz]),
    "ev_ridge_intercept": (_int, [_vp, _vp]),
    "ev_ridge_alpha": (_int, [_vp, _dp]),
    "ev_ridge_sizes": (_int, [_vp, _szp, _szp, _szp]),
    "ev_ridge_r2": (_int, [_vp, _vp, _vp, _sz]),
    "ev_ridge_cv_scores": (_int, [_vp, _vp, _vp, _szp]),
    "ev_ridge_predict": (_int, [_vp, _vp, _sz, _sz, _sz, _vp, _sz]),
    "ev_feature_correlation": (_int, [_vp, _sz, _sz, _sz, _vp, _sz]),
    "ev_feature_order": (_int, [_vp, _sz, _sz, _vp]),
})

# ev_ridge_param values (explain.h).
_ALPHA, _CHOOSE_ALPHA, _CRITERION, _FIT_INTERCEPT, _THREADS = range(1, 6)
_CRITERIA = {"loo": 0, "gcv": 1}
_NAMES = {_ALPHA: "alpha", _FIT_INTERCEPT: "fit_intercept", _THREADS: "n_jobs"}


def _bad(message):
    return _errors.EmbedvizValueError(message, status=_errors.ERR_ARGUMENT,
                                      status_name="EV_ERR_ARGUMENT")


def _targets(y, n):
    """(float32 2-D targets, was y 1-D)."""
    a = np.asarray(y)
    one = a.ndim == 1
    if one:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise _bad("y must be 1-D or 2-D (samples x targets), got shape %s" % (a.shape,))
    if a.shape[0] != n:
        raise _bad("X has %d rows but y %d: pass one target row per sample" % (n, a.shape[0]))
    return np.ascontiguousarray(a, dtype=np.float32), one


class _RidgeBase(Estimator):
    """What Ridge and RidgeCV share: the fit through ev_ridge_fit, predict
    and score."""

    def _settings(self, h):
        raise NotImplementedError

    def fit(self, X, y):
        """Fit the coefficients: a closed-form ridge regression of y on X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Converted to float32; the fit itself is in double.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            The targets, e.g. a map's 2 coordinates.

        Returns
        -------
        self : estimator
            The fitted estimator.

        Raises
        ------
        EmbedvizValueError
            A bad parameter, too few rows, or X and y of different lengths.
        NonFiniteError
            X or y holds NaN or Inf.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import Ridge
        >>> x = np.arange(4, dtype=np.float32).reshape(-1, 1)
        >>> r = Ridge(alpha=1.0).fit(x, 2 * x[:, 0] + 1)
        >>> round(float(r.coef_[0]), 4), round(float(r.intercept_), 4)
        (1.6667, 1.5)
        """
        names = _arrays.feature_names(X)
        a, ptr, n, d, ld = _arrays.as_matrix(X, "X")
        _arrays.check_fit_input(a, "x", type(self).__name__, 2)
        yy, one = _targets(y, n)
        t = yy.shape[1]
        h = Handle("ridge", _NAMES)
        self._settings(h)
        h.set(_FIT_INTERCEPT, 1 if self.fit_intercept else 0)
        h.set(_THREADS, _arrays.n_jobs_to_threads(self.n_jobs))
        h.call("fit", ptr, n, d, ld, yy.ctypes.data, t, t)
        coef = np.empty((t, d), dtype=np.float32)
        b = np.empty(t, dtype=np.float32)
        alpha, rank = ctypes.c_double(), ctypes.c_size_t()
        r2, r2cv = np.empty(t), np.empty(t)
        h.call("coef", coef.ctypes.data, d)
        h.call("intercept", b.ctypes.data)
        h.call("alpha", ctypes.byref(alpha))
        h.call("sizes", None, None, ctypes.byref(rank))
        h.call("r2", r2.ctypes.data, r2cv.ctypes.data, t)
        count = ctypes.c_size_t(0)
        h.call("cv_scores", None, None, ctypes.byref(count))
        alphas, scores = np.empty(count.value), np.empty(count.value)
        h.call("cv_scores", alphas.ctypes.data, scores.ctypes.data, ctypes.byref(count))
        self.coef_ = coef[0] if one else coef
        self.intercept_ = float(b[0]) if one else b
        self.n_features_in_ = d
        self.rank_ = int(rank.value)
        self.r2_train_ = float(r2[0]) if one else r2
        self.r2_cv_ = float(r2cv[0]) if one else r2cv
        self._alpha_fit, self._alphas, self._scores = alpha.value, alphas, scores
        self._handle = h
        _arrays.set_feature_names(self, names)
        return self

    def _check_fitted(self):
        if getattr(self, "coef_", None) is None:
            raise _errors.NotFittedError(
                "This %s instance is not fitted yet. Call 'fit' with appropriate "
                "arguments before using this estimator." % type(self).__name__,
                status=_errors.ERR_STATE, status_name="EV_ERR_STATE")

    def predict(self, X):
        """Predict the targets of rows: X coef_^T + intercept_.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the fitted features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            float32, 1-D when the fit's y was 1-D.

        Raises
        ------
        NotFittedError
            fit has not run.
        EmbedvizValueError
            X has another number of columns than the fit.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import Ridge
        >>> x = np.arange(4, dtype=np.float32).reshape(-1, 1)
        >>> Ridge(alpha=0.0).fit(x, 2 * x[:, 0] + 1).predict([[10.0]]).round(4)
        array([21.], dtype=float32)
        """
        self._check_fitted()
        _arrays.check_feature_names(self, X)
        a, ptr, n, d, ld = _arrays.as_matrix(X, "X")
        _arrays.check_no_inf(a, "x")
        _arrays.check_columns(d, self.n_features_in_, "X", "features", type(self).__name__)
        coef = np.atleast_2d(self.coef_)
        t = coef.shape[0]
        out = np.empty((n, t), dtype=np.float32)
        h = self._handle
        if h is None:              # unpickled: the same product in numpy
            _arrays.check_finite(a, "X")
            out[:] = (a.astype(np.float64) @ coef.T.astype(np.float64)
                      + np.atleast_1d(self.intercept_)).astype(np.float32)
        else:
            h.call("predict", ptr, n, d, ld, out.ctypes.data, t)
        return out[:, 0] if np.ndim(self.coef_) == 1 else out

    def score(self, X, y, sample_weight=None):
        """Return the coefficient of determination R² of the prediction, as scikit-learn's score.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the fitted features.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Their true targets.
        sample_weight : None
            Accepted for scikit-learn's signature; weights are not supported.

        Returns
        -------
        score : float
            1 - residual sum of squares / total sum of squares, averaged
            over the targets (scikit-learn's r2_score, "uniform_average").

        Raises
        ------
        EmbedvizValueError
            sample_weight is given.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import Ridge
        >>> x = np.arange(8, dtype=np.float32).reshape(-1, 1)
        >>> Ridge(alpha=0.0).fit(x, 3 * x[:, 0]).score(x, 3 * x[:, 0])
        1.0
        """
        if sample_weight is not None:
            raise _bad("sample_weight is not supported: pass None")
        pred = np.asarray(self.predict(X), dtype=np.float64)
        yy = np.asarray(y, dtype=np.float64)
        if yy.ndim == 1:
            yy, pred = yy[:, None], pred.reshape(len(pred), -1)
        res = ((yy - pred) ** 2).sum(axis=0)
        tot = ((yy - yy.mean(axis=0)) ** 2).sum(axis=0)
        r2 = np.where(tot > 0, 1 - res / np.where(tot > 0, tot, 1),
                      np.where(res == 0, 1.0, 0.0))
        return float(r2.mean())


class Ridge(_RidgeBase):
    """Ridge regression with a given alpha, computed by libembedviz.

    scikit-learn's sklearn.linear_model.Ridge names: minimises
    ||y - X w - b||² + alpha ||w||² with an unpenalised intercept b,
    through one SVD of the centred X (LAPACK, in double). Agrees with
    scikit-learn's Ridge to 1e-5 and works with fewer rows than features
    (rank_ < n_features_in_ then says the data alone do not determine
    the coefficients: the regularisation does).

    Parameters
    ----------
    alpha : float, default 1.0
        The regularisation, >= 0 (0: minimum-norm least squares).
    fit_intercept : bool, default True
        Fit b (centring X and y); False fits none.
    n_jobs : int or None, default None
        Threads (None or -1: every core). Not in scikit-learn.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features), float32
    intercept_ : float or ndarray of shape (n_targets,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str objects
        Only when fitted on a DataFrame whose column names are all strings.
    rank_ : int
        Rank of the centred X (not in scikit-learn).
    r2_train_ : float or ndarray of shape (n_targets,)
        R² on the training rows (optimistic; not in scikit-learn).
    r2_cv_ : float or ndarray of shape (n_targets,)
        R² from the exact leave-one-out errors at alpha (honest; not in
        scikit-learn).

    See Also
    --------
    RidgeCV : The same with alpha chosen by leave-one-out error.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import Ridge
    >>> rng = np.random.RandomState(0)
    >>> x = rng.rand(30, 100).astype(np.float32)     # fewer rows than features
    >>> r = Ridge(alpha=1.0).fit(x, x[:, :2] @ [1.0, -1.0])
    >>> r.coef_.shape, r.rank_
    ((100,), 29)
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, n_jobs=None):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.n_jobs = n_jobs

    def _settings(self, h):
        h.set(_CHOOSE_ALPHA, 0)
        h.set(_ALPHA, self.alpha)


class RidgeCV(_RidgeBase):
    """Ridge regression with alpha chosen over a grid, computed by libembedviz.

    scikit-learn's sklearn.linear_model.RidgeCV names with its default
    choice: the alpha with the lowest mean squared leave-one-out error,
    computed exactly for every alpha from one SVD (scikit-learn calls it
    "GCV"); criterion="gcv" uses generalised cross-validation proper
    (Golub, Heath & Wahba) instead. Equal scores go to the alpha met first.

    Parameters
    ----------
    alphas : array-like of float or None, default None
        The grid; None is the library's 10^-3, 10^-2.5, ..., 10^6 (19
        values; scikit-learn's default is (0.1, 1.0, 10.0)).
    fit_intercept : bool, default True
        Fit an unpenalised intercept.
    criterion : {"loo", "gcv"}, default "loo"
        How alphas are compared. Not in scikit-learn.
    n_jobs : int or None, default None
        Threads (None or -1: every core). Not in scikit-learn.

    Attributes
    ----------
    alpha_ : float
        The chosen alpha.
    best_score_ : float
        Minus the chosen alpha's criterion (mean squared leave-one-out
        error for "loo"), as scikit-learn's best_score_.
    cv_scores_ : ndarray of shape (n_alphas, 2)
        Each alpha of the grid and its criterion, lower is better.
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features), float32
    intercept_ : float or ndarray of shape (n_targets,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str objects
        Only when fitted on a DataFrame whose column names are all strings.
    rank_ : int
        Rank of the centred X.
    r2_train_ : float or ndarray of shape (n_targets,)
        R² on the training rows (optimistic).
    r2_cv_ : float or ndarray of shape (n_targets,)
        R² from the leave-one-out errors at alpha_ (honest).

    See Also
    --------
    Ridge : A given alpha.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import RidgeCV
    >>> rng = np.random.RandomState(0)
    >>> x = rng.rand(50, 5).astype(np.float32)
    >>> r = RidgeCV(alphas=[0.01, 1.0, 100.0]).fit(x, x @ np.arange(5.0))
    >>> r.alpha_, bool(r.r2_cv_ > 0.99)
    (0.01, True)
    """

    def __init__(self, alphas=None, *, fit_intercept=True, criterion="loo", n_jobs=None):
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.criterion = criterion
        self.n_jobs = n_jobs

    def _settings(self, h):
        if self.criterion not in _CRITERIA:
            raise _bad("criterion must be 'loo' or 'gcv', got %r" % (self.criterion,))
        h.set(_CHOOSE_ALPHA, 1)
        h.set(_CRITERION, _CRITERIA[self.criterion])
        if self.alphas is not None:
            grid = np.ascontiguousarray(np.atleast_1d(self.alphas), dtype=np.float64)
            if grid.ndim != 1 or len(grid) == 0:
                raise _bad("alphas must be a non-empty 1-D sequence of floats >= 0")
            h.call("set_alphas", grid.ctypes.data, len(grid))

    def fit(self, X, y):
        """Fit the coefficients with the alpha of the grid that predicts left-out rows best.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Converted to float32; the fit itself is in double.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            The targets, e.g. a map's 2 coordinates.

        Returns
        -------
        self : RidgeCV
            The fitted estimator.

        Raises
        ------
        EmbedvizValueError
            A bad parameter, fewer than 3 rows, or X and y of different
            lengths.
        NonFiniteError
            X or y holds NaN or Inf.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import RidgeCV
        >>> rng = np.random.RandomState(0)
        >>> x = rng.rand(40, 3).astype(np.float32)
        >>> RidgeCV().fit(x, rng.rand(40)).alpha_ >= 1.0     # noise: strong shrinkage
        True
        """
        super().fit(X, y)
        self.alpha_ = float(self._alpha_fit)
        self.cv_scores_ = np.column_stack([self._alphas, self._scores])
        self.best_score_ = -float(self._scores[list(self._alphas).index(self.alpha_)])
        return self


def feature_correlation(X):
    """Return the features' correlation matrix and an order that puts correlated features together.

    Pearson's correlation of the columns of X (numpy.corrcoef(X,
    rowvar=False), except that a column without variance gets 0 against
    every other and 1 on the diagonal, where numpy gives NaN), and the
    leaves of the average-linkage clustering of 1 - |r| in dendrogram
    order (libembedviz's ev_feature_order, docs/explain.md), so that
    ``corr[np.ix_(order, order)]`` shows blocks.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        At least 2 rows; converted to float32.

    Returns
    -------
    corr : ndarray of shape (n_features, n_features), float32
        The correlations.
    order : ndarray of shape (n_features,), int64
        A permutation of the features.

    Raises
    ------
    EmbedvizValueError
        Fewer than 2 rows or no column.
    NonFiniteError
        X holds NaN or Inf.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import feature_correlation
    >>> rng = np.random.RandomState(0)
    >>> a, b = rng.randn(2, 200, 1)
    >>> x = np.hstack([a, b, -a, b + 0.1 * rng.randn(200, 1)])
    >>> corr, order = feature_correlation(x)
    >>> round(float(corr[0, 2]), 3), order.tolist()
    (-1.0, [0, 2, 1, 3])
    """
    a, ptr, n, d, ld = _arrays.as_matrix(X, "X")
    _arrays.check_fit_input(a, "x", "feature_correlation", 2)
    L = _lib.lib()
    corr = np.empty((d, d), dtype=np.float32)
    order = np.empty(d, dtype=np.int64)
    _lib.check(L.ev_feature_correlation(ptr, n, d, ld, corr.ctypes.data, d))
    _lib.check(L.ev_feature_order(corr.ctypes.data, d, d, order.ctypes.data))
    return corr, order
