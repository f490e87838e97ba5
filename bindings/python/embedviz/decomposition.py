"""PCA with scikit-learn's names and shapes over libembedviz's ev_pca."""
import numbers

import numpy as np

from . import _arrays, _errors, _progress
from ._base import Estimator, Handle, TransformerMixin

# ev_pca_param values (pca.h).
_N_COMPONENTS, _VARIANCE_TO_KEEP, _CENTER, _WHITEN = 1, 2, 3, 4
_SOLVER, _SEED, _POWER_ITERATIONS, _OVERSAMPLES, _THREADS = 5, 6, 7, 8, 9
_NAMES = {_N_COMPONENTS: "n_components", _VARIANCE_TO_KEEP: "n_components", _WHITEN: "whiten",
          _SOLVER: "svd_solver", _SEED: "random_state", _POWER_ITERATIONS: "iterated_power",
          _OVERSAMPLES: "n_oversamples", _THREADS: "n_jobs"}

# scikit-learn's svd_solver names -> ev_pca_solver. "arpack" computes an
# exact truncated decomposition in scikit-learn; the covariance
# eigensolver is exact too, so it stands in for it.
_SOLVERS = {"auto": 0, "covariance_eigh": 1, "full": 2, "randomized": 3,
            "arpack": 1}


def _mle_rank(spectrum, n):
    """The rank that maximises Minka's Laplace approximation of the PCA
    evidence ("Automatic choice of dimensionality for PCA", NIPS 2000)
    over the eigenvalues `spectrum` (all of them, n samples)."""
    from math import lgamma, log, pi
    d = len(spectrum)
    lam = np.maximum(spectrum, np.finfo(np.float64).tiny)
    best, best_ll = 0, -np.inf
    for k in range(1, d):
        if spectrum[k - 1] < 1e-15:
            break
        pu = -k * log(2.0) + sum(lgamma((d - i) / 2.0) - log(pi) * (d - i) / 2.0
                                 for i in range(k))
        pl = -n / 2.0 * np.log(lam[:k]).sum()
        v = max(lam[k:].sum() / (d - k), 1e-15)
        pv = -n * (d - k) / 2.0 * log(v)
        m = d * k - k * (k + 1) / 2.0
        pp = log(2.0 * pi) * (m + k) / 2.0
        inv = 1.0 / np.concatenate([lam[:k], np.full(d - k, v)])
        pa = 0.0
        for i in range(k):
            j = np.arange(i + 1, d)
            pa += (np.log((inv[j] - inv[i]) * (lam[i] - lam[j])) + log(n)).sum()
        ll = pu + pl + pv + pp - pa / 2.0 - k * log(n) / 2.0
        if ll > best_ll:
            best, best_ll = k, ll
    return best


def _bad(message):
    return _errors.EmbedvizValueError(message, status=_errors.ERR_ARGUMENT,
                                      status_name="EV_ERR_ARGUMENT")


class PCA(TransformerMixin, Estimator):
    """Principal component analysis, computed by libembedviz.

    scikit-learn's sklearn.decomposition.PCA names, shapes and attributes, so
    ``from embedviz import PCA`` replaces ``from sklearn.decomposition import
    PCA``. The computation is float32; float64 input gives float64 output
    (rounded from float32), as scikit-learn returns the caller's dtype.

    Parameters
    ----------
    n_components : int, float in (0, 1], "mle" or None, default None
        Components to keep; a float keeps enough for that share of the
        variance; None keeps min(n_samples, n_features).
    copy : bool, default True
        Accepted for compatibility; the input is never modified.
    whiten : bool, default False
        Scale the scores to unit variance.
    svd_solver : {"auto", "full", "covariance_eigh", "randomized", "arpack"}
        "arpack" is computed exactly by the covariance eigensolver.
    tol : float, default 0.0
        Accepted for compatibility; no effect.
    iterated_power : int or "auto", default "auto"
        Power iterations of the randomized solver.
    n_oversamples : int, default 10
        Extra random vectors of the randomized solver.
    power_iteration_normalizer : str, default "auto"
        Accepted for compatibility; no effect.
    random_state : None, int, RandomState or Generator, default None
        Seed of the randomized solver; None means 0 (reproducible).
    n_jobs : int or None, default None
        Threads (None or -1: every core). Not in scikit-learn.
    progress : None, True or callable, default None
        True draws a bar on stderr; a callable progress(stage, step, total,
        value) returning True cancels. Not in scikit-learn.

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features), float32
    mean_ : ndarray of shape (n_features,), float32
    explained_variance_ : ndarray of shape (n_components_,), float32
    explained_variance_ratio_ : ndarray of shape (n_components_,), float32
    singular_values_ : ndarray of shape (n_components_,), float32
    noise_variance_ : float
    n_components_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str objects
        Only when fitted on a DataFrame whose column names are all strings.
    n_samples_ : int

    See Also
    --------
    TSNE : A non-linear 2-D map, initialised by PCA.
    NearestNeighbors : Neighbours in the PCA scores.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import PCA
    >>> x = np.random.RandomState(0).rand(100, 10).astype(np.float32)
    >>> PCA(n_components=3).fit_transform(x).shape
    (100, 3)

    Rank-3 data with a little noise: "mle" and a 99 % share of variance
    both find its 3 components.

    >>> rng = np.random.RandomState(0)
    >>> x = rng.rand(500, 3) @ rng.rand(3, 10) + 0.01 * rng.randn(500, 10)
    >>> PCA(n_components="mle").fit(x).n_components_, PCA(n_components=0.99).fit(x).n_components_
    (3, 3)
    """

    def __init__(self, n_components=None, *, copy=True, whiten=False,
                 svd_solver="auto", tol=0.0, iterated_power="auto",
                 n_oversamples=10, power_iteration_normalizer="auto",
                 random_state=None, n_jobs=None, progress=None):
        self.n_components = n_components
        self.copy = copy
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.tol = tol
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.progress = progress

    # ---- settings ----
    def _configure(self, h, n, d):
        nc = self.n_components
        if nc is None:
            h.set(_VARIANCE_TO_KEEP, 0)
            h.set(_N_COMPONENTS, 0)
        elif nc is True:
            # scikit-learn 1.2 takes True as the int 1 (one component).
            h.set(_VARIANCE_TO_KEEP, 0)
            h.set(_N_COMPONENTS, 1)
        elif nc is False:
            raise _bad("n_components=False would keep no component (scikit-learn returns an "
                       "empty result): pass an int >= 1, a float in (0, 1] or None")
        elif isinstance(nc, str):
            if nc != "mle":
                raise _bad("n_components=%r is not supported: pass an int, 'mle', a "
                           "float in (0, 1] or None" % (nc,))
            if n < d:
                raise _bad("n_components='mle' is only supported if n_samples >= "
                           "n_features, got %d < %d: pass an int instead" % (n, d))
            h.set(_VARIANCE_TO_KEEP, 0)
            h.set(_N_COMPONENTS, 0)
        elif isinstance(nc, numbers.Integral) and not isinstance(nc, bool):
            if not 1 <= nc <= min(n, d):
                raise _bad("n_components=%d must be between 1 and "
                           "min(n_samples, n_features)=%d: lower it" % (nc, min(n, d)))
            h.set(_VARIANCE_TO_KEEP, 0)
            h.set(_N_COMPONENTS, int(nc))
        elif isinstance(nc, numbers.Real) and 0 < nc <= 1:
            h.set(_N_COMPONENTS, 0)
            h.set(_VARIANCE_TO_KEEP, float(nc))
        else:
            raise _bad("n_components=%r must be None, an int >= 1 or a float "
                       "in (0, 1] (the share of variance to keep)" % (nc,))
        h.set(_WHITEN, 1 if self.whiten else 0)
        if self.svd_solver not in _SOLVERS:
            raise _bad("svd_solver=%r is not one of %s" % (
                self.svd_solver, ", ".join(sorted(_SOLVERS))))
        h.set(_SOLVER, _SOLVERS[self.svd_solver])
        _, hi = h.bounds(_SEED)
        h.set(_SEED, _arrays.seed_from(self.random_state) % (int(hi) + 1))
        power = self.iterated_power
        if isinstance(power, str):
            if power != "auto":
                raise _bad("iterated_power must be 'auto' or an int >= 0, got %r" % power)
            power = -1
        h.set(_POWER_ITERATIONS, power)
        h.set(_OVERSAMPLES, self.n_oversamples)
        h.set(_THREADS, _arrays.n_jobs_to_threads(self.n_jobs))

    # ---- fit ----
    def fit(self, X, y=None):
        """Fit the model: the components, mean and variances of X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Converted to float32 (the library computes in float32); a
            DataFrame's string column names become feature_names_in_.
        y : None
            Ignored (scikit-learn's signature).

        Returns
        -------
        self : PCA
            The fitted estimator.

        Raises
        ------
        EmbedvizValueError
            A bad parameter (the message names it), or X with fewer than 2
            rows or no column.
        NonFiniteError
            X holds NaN or Inf.
        Cancelled
            The progress callback returned True.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import PCA
        >>> rng = np.random.RandomState(0)
        >>> x = rng.rand(500, 3) @ rng.rand(3, 10) + 0.01 * rng.randn(500, 10)  # rank 3 + noise
        >>> pca = PCA(n_components=3).fit(x)
        >>> pca.components_.shape, pca.n_components_, pca.n_samples_
        ((3, 10), 3, 500)
        >>> bool(pca.explained_variance_ratio_.sum() > 0.99)
        True
        """
        names = _arrays.feature_names(X)
        a, ptr, n, d, ld = _arrays.as_matrix(X, "X")
        _arrays.check_fit_input(a, "x", "PCA", 2)
        if self._handle is None:
            self._handle = Handle("pca", _NAMES)
        h = self._handle
        with h.lock:
            self._configure(h, max(n, 1), max(d, 1))
            _progress.run(lambda: h.lib.ev_pca_fit(h.ptr, ptr, n, d, ld),
                          h.set_progress, h.ptr, _progress.resolve(self.progress))
            self._read_fit(h, n)
            if self.n_components == "mle":
                # Minka's choice from the full spectrum, then the fit with
                # that many components (a second fit).
                k = _mle_rank(self.explained_variance_.astype(np.float64), n)
                h.set(_N_COMPONENTS, max(k, 1))
                _progress.run(lambda: h.lib.ev_pca_fit(h.ptr, ptr, n, d, ld),
                              h.set_progress, h.ptr, _progress.resolve(self.progress))
                self._read_fit(h, n)
        self._whiten_fit = bool(self.whiten)
        _arrays.set_feature_names(self, names)
        return self

    def _read_fit(self, h, n):
        import ctypes
        k, d = ctypes.c_size_t(), ctypes.c_size_t()
        h.call("n_components", ctypes.byref(k))
        h.call("n_features", ctypes.byref(d))
        k, d = k.value, d.value
        comps, p = _arrays.empty((k, d))
        h.call("components", p, d)
        mean, p = _arrays.empty(d)
        h.call("mean", p)
        ev, p = _arrays.empty(k)
        h.call("explained_variance", p)
        ratio, p = _arrays.empty(k)
        h.call("explained_variance_ratio", p)
        sv, p = _arrays.empty(k)
        h.call("singular_values", p)
        self.components_ = comps
        self.mean_ = mean
        self.explained_variance_ = ev
        self.explained_variance_ratio_ = ratio
        self.singular_values_ = sv
        self.n_components_ = k
        self.n_features_in_ = d
        self.n_samples_ = n
        self.noise_variance_ = self._noise_variance(n, d)

    def _noise_variance(self, n, d):
        """scikit-learn's noise_variance_: the mean of the eigenvalues left
        out, from the total variance that the ratios imply."""
        k, rank = self.n_components_, min(n, d)
        ev = self.explained_variance_.astype(np.float64)
        ratio = self.explained_variance_ratio_.astype(np.float64)
        if k >= rank or k == 0 or not ratio[0] > 0:
            return 0.0
        total = ev[0] / ratio[0]
        return float(max(total - ev.sum(), 0.0) / (rank - k))

    def _check_fitted(self):
        if getattr(self, "components_", None) is None:
            raise _errors.NotFittedError(
                "This PCA instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator.",
                status=_errors.ERR_STATE, status_name="EV_ERR_STATE")

    # ---- use ----
    def transform(self, X):
        """Project X on the components: its PCA scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the fitted features (and, after fitting on a
            DataFrame, the same column names).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            float64 when X is float64 (as scikit-learn), else float32; the
            computation is float32 either way. Whitened with whiten=True.

        Raises
        ------
        NotFittedError
            fit has not run.
        EmbedvizValueError
            X has another number of columns than the fit.

        See Also
        --------
        inverse_transform : Back to the feature space.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import PCA
        >>> rng = np.random.RandomState(0)
        >>> x = rng.rand(500, 3) @ rng.rand(3, 10) + 0.01 * rng.randn(500, 10)  # rank 3 + noise
        >>> pca = PCA(n_components=3).fit(x)
        >>> z = pca.transform(x[:5])
        >>> z.shape, z.dtype
        ((5, 3), dtype('float64'))
        >>> pca.transform(x[:5].astype(np.float32)).dtype
        dtype('float32')
        """
        self._check_fitted()
        _arrays.check_feature_names(self, X)
        a, ptr, n, d, ld = _arrays.as_matrix(X, "X")
        _arrays.check_no_inf(a, "x")
        h = self._handle
        if h is None:
            _arrays.check_columns(d, self.n_features_in_, "X", "features", type(self).__name__)
            _arrays.check_finite(a, "X")
            return _arrays.like_input(self._project_numpy(a), X)
        out, op = _arrays.empty((n, self.n_components_))
        with h.lock:
            _progress.run(lambda: h.lib.ev_pca_transform(
                h.ptr, ptr, n, d, ld, op, self.n_components_))
        return _arrays.like_input(out, X)

    def contributions(self, X, component=0):
        """Return each feature's contribution to one component's score: (x_j - mean_j) loading_j.

        A row of the result sums to that row's score from transform (up to
        float32 rounding), so the largest entries say which features put
        the row where it is along the component (libembedviz's
        ev_pca_contributions; whitened like the scores with whiten=True).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_features,)
            Rows with the fitted features; a 1-D array is one row.
        component : int, default 0
            The component, 0 for PC1.

        Returns
        -------
        contributions : ndarray of shape (n_samples, n_features), float32
            1-D when X is 1-D.

        Raises
        ------
        NotFittedError
            fit has not run.
        EmbedvizValueError
            X has another number of columns than the fit, or component is
            not in [0, n_components_).

        See Also
        --------
        transform : The scores, the sums of the contributions.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import PCA
        >>> x = np.random.RandomState(0).rand(100, 6).astype(np.float32)
        >>> pca = PCA(n_components=2).fit(x)
        >>> c = pca.contributions(x[:3], component=1)
        >>> c.shape, bool(np.allclose(c.sum(axis=1), pca.transform(x[:3])[:, 1], atol=1e-5))
        ((3, 6), True)
        """
        self._check_fitted()
        one = np.ndim(X) == 1
        rows = np.asarray(X).reshape(1, -1) if one else X
        a, ptr, n, d, ld = _arrays.as_matrix(rows, "X")
        _arrays.check_columns(d, self.n_features_in_, "X", "features", type(self).__name__)
        if isinstance(component, bool) or not isinstance(component, (int, np.integer)) \
                or not 0 <= component < self.n_components_:
            raise _bad("component must be an int in [0, %d), got %r"
                       % (self.n_components_, component))
        out = np.empty((n, d), dtype=np.float32)
        h = self._handle
        if h is None or not h.lib.has("ev_pca_contributions"):
            _arrays.check_finite(a, "X")
            scale = self._whitening()[0][component] if self._whiten_fit else np.float32(1)
            out[:] = (a - self.mean_) * self.components_[component] * scale
        else:
            from . import explain  # noqa: F401  (registers the signatures)
            with h.lock:
                h.call("contributions", int(component), ptr, n, d, ld, out.ctypes.data, d)
        return out[0] if one else out

    def fit_transform(self, X, y=None):
        """Fit the model on X and return X's scores: fit(X) then transform(X).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            As for fit.
        y : None
            Ignored (scikit-learn's signature).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            As transform returns.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import PCA
        >>> rng = np.random.RandomState(0)
        >>> x = rng.rand(500, 3) @ rng.rand(3, 10) + 0.01 * rng.randn(500, 10)  # rank 3 + noise
        >>> PCA(n_components=2, whiten=True).fit_transform(x).std(axis=0, ddof=1).round(3).tolist()
        [1.0, 1.0]
        """
        self.fit(X)
        return self.transform(X)

    def inverse_transform(self, X):
        """Map scores back to the feature space: the rows the components reconstruct.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
            Scores, as transform returns them.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            float64 when X is float64, else float32.

        Raises
        ------
        NotFittedError
            fit has not run.

        See Also
        --------
        transform : The other way.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import PCA
        >>> rng = np.random.RandomState(0)
        >>> x = rng.rand(500, 3) @ rng.rand(3, 10) + 0.01 * rng.randn(500, 10)  # rank 3 + noise
        >>> pca = PCA(n_components=3).fit(x)
        >>> back = pca.inverse_transform(pca.transform(x))
        >>> bool(np.abs(back - x).max() < 0.05)  # only the noise is lost
        True
        """
        self._check_fitted()
        a, ptr, n, k, ld = _arrays.as_matrix(X, "X")
        h = self._handle
        if h is None:
            _arrays.check_columns(k, self.n_components_, "X", "components", type(self).__name__)
            return _arrays.like_input(self._inverse_numpy(a), X)
        out, op = _arrays.empty((n, self.n_features_in_))
        with h.lock:
            _progress.run(lambda: h.lib.ev_pca_inverse_transform(
                h.ptr, ptr, n, k, ld, op, self.n_features_in_))
        return _arrays.like_input(out, X)

    def get_precision(self):
        """Return the model's precision matrix, the inverse of get_covariance().

        Returns
        -------
        precision : ndarray of shape (n_features, n_features), float64

        Raises
        ------
        NotFittedError
            fit has not run.

        See Also
        --------
        get_covariance : Its inverse.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import PCA
        >>> rng = np.random.RandomState(0)
        >>> x = rng.rand(500, 3) @ rng.rand(3, 10) + 0.01 * rng.randn(500, 10)  # rank 3 + noise
        >>> pca = PCA(n_components=3).fit(x)
        >>> np.allclose(pca.get_precision() @ pca.get_covariance(), np.eye(10))
        True
        """
        return np.linalg.inv(self.get_covariance())

    def score_samples(self, X):
        """Return the log-likelihood of each row of X under the probabilistic PCA model.

        Tipping and Bishop's model, as scikit-learn computes it: a Gaussian
        with get_covariance()'s covariance, in float64 from the fitted
        arrays.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the fitted features.

        Returns
        -------
        ll : ndarray of shape (n_samples,), float64

        Raises
        ------
        NotFittedError
            fit has not run.

        See Also
        --------
        score : Their mean.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import PCA
        >>> rng = np.random.RandomState(0)
        >>> x = rng.rand(500, 3) @ rng.rand(3, 10) + 0.01 * rng.randn(500, 10)  # rank 3 + noise
        >>> pca = PCA(n_components=3).fit(x)
        >>> pca.score_samples(x[:2]).round(1).tolist()
        [21.8, 23.2]
        """
        self._check_fitted()
        a = _arrays.as_matrix(X, "X")[0]
        _arrays.check_columns(a.shape[1], self.n_features_in_, "X", "features", type(self).__name__)
        centred = np.asarray(X, dtype=np.float64) - self.mean_.astype(np.float64)
        precision = self.get_precision()
        sign, logdet = np.linalg.slogdet(precision)
        if sign <= 0:
            logdet = -np.inf
        d = self.n_features_in_
        return (-0.5 * np.einsum("ij,ij->i", centred, centred @ precision)
                - 0.5 * (d * np.log(2 * np.pi) - logdet))

    def score(self, X, y=None):
        """Return the mean log-likelihood of the rows of X, the mean of score_samples(X).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with the fitted features.
        y : None
            Ignored (scikit-learn's signature).

        Returns
        -------
        ll : float

        See Also
        --------
        score_samples : Each row's log-likelihood.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import PCA
        >>> rng = np.random.RandomState(0)
        >>> x = rng.rand(500, 3) @ rng.rand(3, 10) + 0.01 * rng.randn(500, 10)  # rank 3 + noise
        >>> round(PCA(n_components=3).fit(x).score(x), 1)
        21.1
        """
        return float(np.mean(self.score_samples(X)))

    def get_feature_names_out(self, input_features=None):
        """Return the names of the output columns: "pca0", "pca1", ... (scikit-learn's).

        Parameters
        ----------
        input_features : array-like of str, optional
            Ignored, except that it must match feature_names_in_ when given.

        Returns
        -------
        names : ndarray of str objects, shape (n_components_,)

        Raises
        ------
        NotFittedError
            fit has not run.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import PCA
        >>> rng = np.random.RandomState(0)
        >>> x = rng.rand(500, 3) @ rng.rand(3, 10) + 0.01 * rng.randn(500, 10)  # rank 3 + noise
        >>> PCA(n_components=3).fit(x).get_feature_names_out().tolist()
        ['pca0', 'pca1', 'pca2']
        """
        self._check_fitted()
        _arrays.check_input_features(self, input_features)
        return np.asarray(["pca%d" % i for i in range(self.n_components_)], dtype=object)

    def get_covariance(self):
        """Return the data covariance the model implies, by scikit-learn's formula.

        components_.T diag(explained_variance_ - noise_variance_)
        components_ + noise_variance_ I, in float64 (with whiten=True the
        components are scaled back first).

        Returns
        -------
        cov : ndarray of shape (n_features, n_features), float64

        Raises
        ------
        NotFittedError
            fit has not run.

        See Also
        --------
        get_precision : Its inverse.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import PCA
        >>> rng = np.random.RandomState(0)
        >>> x = rng.rand(500, 3) @ rng.rand(3, 10) + 0.01 * rng.randn(500, 10)  # rank 3 + noise
        >>> pca = PCA().fit(x)  # every component: the sample covariance itself
        >>> np.allclose(pca.get_covariance(), np.cov(x, rowvar=False), atol=1e-5)
        True
        """
        self._check_fitted()
        comps = self.components_.astype(np.float64)
        var = self.explained_variance_.astype(np.float64)
        if getattr(self, "_whiten_fit", self.whiten):
            comps = comps * np.sqrt(var)[:, None]
        diff = np.maximum(var - self.noise_variance_, 0.0)
        cov = (comps.T * diff) @ comps
        cov.flat[::cov.shape[0] + 1] += self.noise_variance_
        return cov

    # ---- pickling ----
    def _restore(self):
        """A PCA loaded from a pickle gets its native handle back through
        ev_pca_set_fit (since 1.1): the saved float32 components, mean and
        variances become the handle's fit, so transform and
        inverse_transform are the library's again, bit for bit
        (bindings/python/tests/test_pickle.py). With an older library
        (no ev_pca_set_fit) they run in numpy from the same arrays, with
        the library's operations in the library's order (rows centred in
        float32, one float32 GEMM with the components, whitening by
        1/sqrt(variance) in float32), equal to the native result to 1e-6
        relative. fit() makes a fresh handle either way."""
        if getattr(self, "components_", None) is None:
            return
        from ._lib import lib
        if not lib().has("ev_pca_set_fit"):
            return
        import ctypes
        comps = np.ascontiguousarray(self.components_, dtype=np.float32)
        mean = np.ascontiguousarray(self.mean_, dtype=np.float32)
        var = np.ascontiguousarray(self.explained_variance_, dtype=np.float32)
        ratio = np.asarray(self.explained_variance_ratio_, dtype=np.float64)
        total = float(var[0]) / ratio[0] if len(var) and ratio[0] > 0 else 0.0
        k, d = comps.shape
        h = Handle("pca", _NAMES)
        fp = ctypes.POINTER(ctypes.c_float)
        with h.lock:
            h.set(_WHITEN, 1 if self._whiten_fit else 0)
            h.call("set_fit", k, d, comps.ctypes.data_as(fp), d,
                   mean.ctypes.data_as(fp), var.ctypes.data_as(fp), total,
                   int(self.n_samples_))
        self._handle = h

    def _project_numpy(self, a):
        comps, mean = self.components_, self.mean_
        n, d = a.shape
        out = np.empty((n, comps.shape[0]), dtype=np.float32)
        rows = max(64, (4 << 20) // max(d, 1))
        for r in range(0, n, rows):
            out[r:r + rows] = (a[r:r + rows] - mean) @ comps.T
        if self._whiten_fit:
            out *= self._whitening()[0]
        return out

    def _whitening(self):
        """The library's per-component whitening factors (transform.c)."""
        var = self.explained_variance_.astype(np.float32)
        n, d = self.n_samples_, self.n_features_in_
        tol = float(max(n, d)) * float(np.finfo(np.float32).eps)
        floor = float(var[0]) * tol * tol if len(var) else 0.0
        keep = (var > np.finfo(np.float32).tiny) & (var.astype(np.float64) > floor)
        w = np.zeros(len(var), dtype=np.float32)
        w[keep] = np.float32(1) / np.sqrt(var[keep])
        return w, keep, var

    def _inverse_numpy(self, a):
        comps = self.components_
        if self._whiten_fit:
            _, keep, var = self._whitening()
            s = np.where(keep, np.sqrt(var), np.float32(0)).astype(np.float32)
            comps = (s[:, None] * comps).astype(np.float32)
        return (a @ comps + self.mean_).astype(np.float32)
