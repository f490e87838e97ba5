"""TSNE with scikit-learn's names and shapes over libembedviz's ev_tsne."""
import ctypes
import numbers
import warnings

import numpy as np

from . import _arrays, _errors, _lib, _progress
from ._base import Estimator, Handle

_lib.register({
    "ev_tsne_create": (ctypes.c_int, [ctypes.c_void_p]),
    "ev_tsne_free": (None, [ctypes.c_void_p]),
    "ev_tsne_set": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int, ctypes.c_double]),
    "ev_tsne_get": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_double)]),
    "ev_tsne_param_bounds": (ctypes.c_int, [ctypes.c_int, ctypes.POINTER(ctypes.c_double),
                                            ctypes.POINTER(ctypes.c_double)]),
    "ev_tsne_param_default": (ctypes.c_int, [ctypes.c_int, ctypes.POINTER(ctypes.c_double)]),
    "ev_tsne_set_progress": (ctypes.c_int, [ctypes.c_void_p, _lib.PROGRESS_FN, ctypes.c_void_p]),
    "ev_tsne_set_init": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_size_t] * 3),
    "ev_tsne_fit": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_size_t] * 3),
    "ev_tsne_fit_distances": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_size_t] * 2),
    "ev_tsne_size": (ctypes.c_int, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                                    ctypes.POINTER(ctypes.c_size_t)]),
    "ev_tsne_embedding": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]),
    "ev_tsne_kl_divergence": (ctypes.c_int, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_double)]),
    "ev_tsne_n_iter": (ctypes.c_int, [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t)]),
    "ev_tsne_transform": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_size_t] * 3
                          + [ctypes.c_void_p, ctypes.c_size_t]),
})

# ev_tsne_param values (tsne.h).
(_N_COMPONENTS, _PERPLEXITY, _METHOD, _THETA, _METRIC, _EARLY_EXAGGERATION,
 _EXAGGERATION_ITERATIONS, _LEARNING_RATE, _MOMENTUM, _FINAL_MOMENTUM, _MIN_GAIN,
 _N_ITER, _MIN_GRAD_NORM, _INIT, _SEED, _THREADS, _MAX_MEMORY_MB, _PROGRESS_EVERY,
 _MINKOWSKI_P, _N_ITER_WITHOUT_PROGRESS) = range(1, 21)
# The Python parameter behind each setting, for messages.
_NAMES = {_N_COMPONENTS: "n_components", _PERPLEXITY: "perplexity", _THETA: "angle",
          _EARLY_EXAGGERATION: "early_exaggeration", _LEARNING_RATE: "learning_rate",
          _N_ITER: "n_iter", _MIN_GRAD_NORM: "min_grad_norm", _SEED: "random_state",
          _THREADS: "n_jobs", _MINKOWSKI_P: "metric_params['p']", _METRIC: "metric",
          _METHOD: "method", _INIT: "init",
          _N_ITER_WITHOUT_PROGRESS: "n_iter_without_progress"}
_METHODS = {"auto": 0, "exact": 1, "barnes_hut": 2, "fft": 3}
# Settings of libembedviz 1.1 (not every library this binding loads has them).
_LEARNING_RATE_RULE = 21
_LR_AUTO = 0
(_TRANSFORM_PERPLEXITY, _TRANSFORM_N_ITER, _TRANSFORM_LEARNING_RATE,
 _TRANSFORM_EXAGGERATION, _TRANSFORM_MAX_GRAD_NORM) = range(28, 33)
_NAMES.update({_TRANSFORM_PERPLEXITY: "transform(perplexity=)",
               _TRANSFORM_N_ITER: "transform(n_iter=)",
               _TRANSFORM_LEARNING_RATE: "transform(learning_rate=)",
               _TRANSFORM_EXAGGERATION: "transform(exaggeration=)",
               _TRANSFORM_MAX_GRAD_NORM: "transform(max_grad_norm=)"})
_INIT_PCA, _INIT_RANDOM, _INIT_GIVEN = 0, 1, 2
_FFT_INTERPOLATION_POINTS, _FFT_MIN_INTERVALS, _KNN_METHOD = 24, 25, 34
_FFT_NEAR_RADIUS = 35
_NAMES.update({_FFT_INTERPOLATION_POINTS: "n_interpolation_points",
               _FFT_MIN_INTERVALS: "min_num_intervals", _KNN_METHOD: "neighbors",
               _FFT_NEAR_RADIUS: "near_radius"})
# openTSNE's names of the neighbour search; ev_knn_method values (knn.h)
_NEIGHBORS = {"auto": 0, "exact": 1, "approx": 2}


def _set_1_1(h, param, value):
    """A setting libembedviz 1.1 added: value, or the library's default when
    None (the handle may hold an earlier fit's value). A 1.0 library, which
    does not have the setting, runs its defaults; a value asked of it is
    refused with the library's message."""
    if value is None:
        try:
            value = h.default(param)
        except _errors.EmbedvizError:
            return
    h.set(param, value)


def _bad(message):
    return _errors.EmbedvizValueError(message, status=_errors.ERR_ARGUMENT,
                                      status_name="EV_ERR_ARGUMENT")


class TSNE(Estimator):
    """t-distributed stochastic neighbour embedding, computed by libembedviz.

    scikit-learn's sklearn.manifold.TSNE names, shapes and defaults
    (perplexity 30, early exaggeration 12 for 250 iterations, learning rate
    "auto" = max(n / early_exaggeration / 4, 50), PCA initialisation,
    Barnes-Hut with angle 0.5). Differences: the map is float32;
    ``random_state=None`` means seed 0 (reproducible); ``method`` may also be
    "auto" (exact up to 1,000 points, FFT for 2-D maps from 30,000) or
    "fft" (FIt-SNE's FFT-interpolated repulsion, 1 or 2
    components, with openTSNE's learning rate when "auto": n /
    early_exaggeration / 4 during the exaggeration, n / 4 after);
    ``metric`` is one of euclidean,
    sqeuclidean, cosine, manhattan, chebyshev, minkowski or "precomputed"
    (a square distance matrix). The run stops as scikit-learn's does: on
    ``n_iter``, or at a check every 50 iterations on ``min_grad_norm`` or
    ``n_iter_without_progress``. With a metric
    other than euclidean the kernel is exp(-beta d^2) (scikit-learn uses
    exp(-beta d) for those). Extensions: ``progress`` (True for a bar on
    stderr, or a callable progress(stage, step, total, value) that gets the
    KL divergence every 50 iterations and returns True to cancel);
    ``verbose`` > 0 shows the bar too.

    Parameters
    ----------
    n_components : int, default 2
    perplexity : float, default 30.0
    early_exaggeration : float, default 12.0
    learning_rate : float or "auto", default "auto"
    n_iter : int, default 1000
        Iterations in all (scikit-learn 1.2's name).
    n_iter_without_progress : int, default 300
    min_grad_norm : float, default 1e-7
    metric : str, default "euclidean"
    metric_params : dict or None, default None
    init : "pca", "random" or ndarray of shape (n_samples, n_components)
    verbose : int, default 0
        1 prints scikit-learn's "[t-SNE] ..." lines on stdout and draws the
        progress bar on stderr; 2 adds a line every 50 iterations.
    random_state : None, int, RandomState or Generator, default None
        None means seed 0 (reproducible).
    method : {"barnes_hut", "exact", "fft", "auto"}, default "barnes_hut"
    angle : float, default 0.5
    n_jobs : int or None, default None
    progress : None, True or callable, default None
    max_iter : int or None, default None
        scikit-learn 1.5's name of n_iter; when given it wins (giving both,
        different, is refused).
    neighbors : {"auto", "exact", "approx"}, default "auto"
        openTSNE's name: how the nearest neighbours behind the affinities
        are found. "exact": the exhaustive search; "approx": NN-descent
        (recall about 0.99); "auto": approximate when n^2 x n_features
        reaches 1e12 (about 140,000 rows of 50 columns), exact below.
        (libembedviz 1.1)
    n_interpolation_points : int or None, default None
        method "fft": interpolation nodes per grid interval, 1 to 8 (None:
        the library's 5; openTSNE's default is 3, cheaper and a little
        less accurate). (libembedviz 1.1)
    min_num_intervals : int or None, default None
        method "fft": at least this many grid intervals per axis (None: the
        library's 50, as openTSNE). (libembedviz 1.1)
    near_radius : float or None, default None
        method "fft", 2-D: pairs closer than this (map units) are summed
        exactly and only the smooth rest goes on a coarser grid, on the
        iterations where that is cheaper (None: the library's 4; 0: off,
        openTSNE's and FIt-SNE's plain grid; libembedviz's own parameter,
        not openTSNE's). (libembedviz 1.1)

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components), float32
        float32 as scikit-learn's TSNE returns.
    kl_divergence_ : float
    n_iter_ : int
        scikit-learn's count: the index of the last iteration run (999
        after 1,000 iterations).
    learning_rate_ : float
        The rate after the exaggeration (scikit-learn's rule: the same
        during it; method "fft" with learning_rate "auto": n / 4).
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import TSNE
    >>> x = np.random.RandomState(0).rand(60, 5).astype(np.float32)
    >>> TSNE(perplexity=5, n_iter=250).fit_transform(x).shape
    (60, 2)
    """

    def __init__(self, n_components=2, *, perplexity=30.0, early_exaggeration=12.0,
                 learning_rate="auto", n_iter=1000, n_iter_without_progress=300,
                 min_grad_norm=1e-7, metric="euclidean", metric_params=None,
                 init="pca", verbose=0, random_state=None, method="barnes_hut",
                 angle=0.5, n_jobs=None, progress=None, max_iter=None, neighbors="auto",
                 n_interpolation_points=None, min_num_intervals=None, near_radius=None):
        self.n_components = n_components
        self.perplexity = perplexity
        self.early_exaggeration = early_exaggeration
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.n_iter_without_progress = n_iter_without_progress
        self.min_grad_norm = min_grad_norm
        self.metric = metric
        self.metric_params = metric_params
        self.init = init
        self.verbose = verbose
        self.random_state = random_state
        self.method = method
        self.angle = angle
        self.n_jobs = n_jobs
        self.progress = progress
        self.max_iter = max_iter
        self.neighbors = neighbors
        self.n_interpolation_points = n_interpolation_points
        self.min_num_intervals = min_num_intervals
        self.near_radius = near_radius

    def _configure(self, h, n):
        if self.method not in _METHODS:
            raise _bad("method must be 'barnes_hut', 'exact', 'fft' or 'auto', got %r"
                       % (self.method,))
        h.set(_METHOD, _METHODS[self.method])
        h.set(_N_COMPONENTS, self.n_components)
        h.set(_PERPLEXITY, self.perplexity)
        h.set(_EARLY_EXAGGERATION, self.early_exaggeration)
        lr = self.learning_rate
        if isinstance(lr, str):
            if lr != "auto":
                raise _bad("learning_rate must be 'auto' or a positive number, got %r" % lr)
            lr = 0
        elif not isinstance(lr, numbers.Real) or not lr > 0:
            raise _bad("learning_rate must be 'auto' or a positive number, got %r" % (lr,))
        h.set(_LEARNING_RATE, lr)
        h.set(_N_ITER, self._iterations())
        h.set(_MIN_GRAD_NORM, self.min_grad_norm)
        h.set(_N_ITER_WITHOUT_PROGRESS, self.n_iter_without_progress)
        h.set(_THETA, self.angle)
        if self.neighbors not in _NEIGHBORS:
            raise _bad("neighbors must be 'auto', 'exact' or 'approx', got %r"
                       % (self.neighbors,))
        _set_1_1(h, _KNN_METHOD, None if self.neighbors == "auto"
                 else _NEIGHBORS[self.neighbors])
        _set_1_1(h, _FFT_INTERPOLATION_POINTS, self.n_interpolation_points)
        _set_1_1(h, _FFT_MIN_INTERVALS, self.min_num_intervals)
        _set_1_1(h, _FFT_NEAR_RADIUS, self.near_radius)
        _, hi = h.bounds(_SEED)
        h.set(_SEED, _arrays.seed_from(self.random_state) % (int(hi) + 1))
        h.set(_THREADS, _arrays.n_jobs_to_threads(self.n_jobs))
        if self.metric != "precomputed":
            from .neighbors import _resolve_metric
            code, p, _ = _resolve_metric(self.metric, 2, self.metric_params)
            h.set(_MINKOWSKI_P, p)
            h.set(_METRIC, code)
        init = self.init
        if isinstance(init, str):
            if init not in ("pca", "random"):
                raise _bad("init must be 'pca', 'random' or an array, got %r" % init)
            h.set(_INIT, _INIT_PCA if init == "pca" else _INIT_RANDOM)
        else:
            a, ptr, rows, cols, ld = _arrays.as_matrix(init, "init")
            if (rows, cols) != (n, self.n_components):
                raise _bad("init must be an n_samples x n_components array, here %d x %r, got %d x %d"
                           % (n, self.n_components, rows, cols))
            h.call("set_init", ptr, rows, cols, ld)
            h.set(_INIT, _INIT_GIVEN)

    def _iterations(self):
        """max_iter (scikit-learn >= 1.5's name) when given, else n_iter."""
        if self.max_iter is None:
            return self.n_iter
        if self.n_iter != 1000 and self.n_iter != self.max_iter:
            raise _bad("n_iter=%r and max_iter=%r disagree: they are two names of one "
                       "setting (max_iter is scikit-learn 1.5's); pass only max_iter"
                       % (self.n_iter, self.max_iter))
        return self.max_iter

    def fit(self, X, y=None):
        """Embed the rows of X, or the points of a square distance matrix.

        With metric="precomputed", X is the (n_samples, n_samples) matrix of
        distances between the points.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples,
            n_samples) distances with metric="precomputed"
            Converted to float32 (the library computes in float32).
        y : ignored

        Returns
        -------
        self : TSNE

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import TSNE
        >>> X = np.random.default_rng(0).normal(size=(60, 5))
        >>> TSNE(perplexity=10, max_iter=250, random_state=0).fit(X).embedding_.shape
        (60, 2)
        """
        a, ptr, n, d, ld = _arrays.as_matrix(X, "X")
        _arrays.check_fit_input(a, "x", "TSNE", 2)
        if self.metric == "precomputed" and n != d:
            raise _bad("metric='precomputed' needs a square distance matrix, got %d x %d" % (n, d))
        if self._handle is None:
            self._handle = Handle("tsne", _NAMES)
        h = self._handle
        bar = _progress.resolve(self.progress, self.verbose)
        with h.lock:
            self._configure(h, n)
            progress = _Reports(bar, self.verbose, int(h.get(_EXAGGERATION_ITERATIONS)),
                                self._iterations())
            progress.begin(self, n, d)
            if self.metric == "precomputed":
                call = lambda: h.lib.ev_tsne_fit_distances(h.ptr, ptr, n, ld)
            else:
                call = lambda: h.lib.ev_tsne_fit(h.ptr, ptr, n, d, ld)
            _progress.run(call, h.set_progress, h.ptr, progress)
            self._read(h)
        progress.end(self)
        # The training rows, for a transform after unpickling (_restore_handle);
        # as UMAP's _raw_data.
        self._fit_X = (None if self.metric == "precomputed"
                       else np.ascontiguousarray(a, dtype=np.float32))
        self.n_features_in_ = d
        if self.learning_rate != "auto":
            self.learning_rate_ = float(self.learning_rate)
        elif self._fft_method(n):
            self.learning_rate_ = n / 4.0      # openTSNE's rule, after the exaggeration
        else:
            self.learning_rate_ = max(n / float(self.early_exaggeration) / 4, 50.0)
        return self

    def _read(self, h):
        n, dims = ctypes.c_size_t(), ctypes.c_size_t()
        h.call("size", ctypes.byref(n), ctypes.byref(dims))
        emb, p = _arrays.empty((n.value, dims.value))
        h.call("embedding", p, dims.value)
        kl = ctypes.c_double()
        h.call("kl_divergence", ctypes.byref(kl))
        it = ctypes.c_size_t()
        h.call("n_iter", ctypes.byref(it))
        self.embedding_ = emb
        self.kl_divergence_ = kl.value
        # scikit-learn's count: the index of the last iteration run (999
        # after 1,000 iterations); the library says how many ran.
        self.n_iter_ = max(int(it.value) - 1, 0)

    def _fft_method(self, n):
        """Whether the fit used the FFT method (AUTO: 2-D maps from 30,000
        points, as the library decides)."""
        return self.method == "fft" or (self.method == "auto" and self.n_components == 2
                                        and n >= 30000)

    def fit_transform(self, X, y=None):
        """Embed the rows of X and return the map: fit(X), then its embedding_.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples, n_samples)
            The rows to embed, converted to float32 (the library computes
            in float32); with metric="precomputed", their square distance
            matrix.
        y : None
            Ignored (scikit-learn's signature).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components), float32
            The map, also kept as embedding_ (float32, as scikit-learn's
            TSNE returns).

        Raises
        ------
        EmbedvizValueError
            A bad parameter; e.g. a perplexity too large for n_samples (the
            message says the largest allowed).
        NonFiniteError
            X holds NaN or Inf.
        Cancelled
            The progress callback returned True.

        See Also
        --------
        trustworthiness, map_quality : How far the map can be trusted.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import PCA, TSNE, trustworthiness
        >>> x = np.random.RandomState(0).rand(100, 10).astype(np.float32)
        >>> tsne = TSNE(perplexity=10)
        >>> emb = tsne.fit_transform(x)
        >>> emb.shape, emb.dtype, tsne.n_iter_
        ((100, 2), dtype('float32'), 999)
        >>> trustworthiness(x, emb) > trustworthiness(x, PCA(n_components=2).fit_transform(x))
        True
        """
        return self.fit(X).embedding_

    def transform(self, X, *, perplexity=5.0, n_iter=250, learning_rate=0.1,
                  exaggeration=1.5, max_grad_norm=0.25):
        """Place new rows on the fitted map, the map's points fixed.

        As openTSNE's ``TSNEEmbedding.transform`` (Policar et al. 2019), with
        its defaults: each new row's affinities to its floor(3 perplexity)
        nearest training rows, a start at the median of their map
        positions, then ``n_iter`` steps of gradient descent in which only
        the new points move and do not act on each other (so a row's place
        does not depend on the other rows passed with it). scikit-learn's
        TSNE has no transform. Needs a fit on rows by this object (not
        ``metric="precomputed"``, not one loaded from a pickle, which keeps
        the map but not the training rows).

        Parameters
        ----------
        X : array-like of shape (m, n_features)
            New rows, of the training rows' width.
        perplexity : float, default 5.0
        n_iter : int, default 250
            0 returns the median starts.
        learning_rate : float, default 0.1
        exaggeration : float, default 1.5
        max_grad_norm : float, default 0.25
            Each point's gradient is shortened to this length (0: never).

        Returns
        -------
        X_new : ndarray of shape (m, n_components), float32

        Raises
        ------
        NotFittedError
            Before fit, after a fit on distances, or after loading from a
            pickle.
        EmbedvizValueError
            Rows of another width; 3 x perplexity more than the training
            rows.
        NonFiniteError
            X holds NaN or Inf.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import TSNE
        >>> X = np.random.default_rng(0).normal(size=(90, 5))
        >>> tsne = TSNE(perplexity=10, max_iter=250).fit(X)
        >>> tsne.transform(X[:4]).shape
        (4, 2)
        """
        if not hasattr(self, "embedding_"):
            raise _errors.NotFittedError(
                "This TSNE instance is not fitted yet: call fit before transform",
                status=_errors.ERR_STATE, status_name="EV_ERR_STATE")
        if getattr(self, "_fit_X", None) is None:
            raise _errors.NotFittedError(
                "this TSNE was fitted on distances (metric='precomputed'), so there are "
                "no training rows to search: fit it on rows to transform new rows",
                status=_errors.ERR_STATE, status_name="EV_ERR_STATE")
        a, ptr, m, d, ld = _arrays.as_matrix(X, "X")
        _arrays.check_no_inf(a, "x")
        if self._handle is None:
            self._restore_handle()
        h = self._handle
        n_train = self.embedding_.shape[0]
        if 3 * perplexity > n_train and n_train >= 3:
            # openTSNE's rule: the perplexity lowered to what the map allows
            warnings.warn("transform perplexity %g needs %d neighbours, more than the "
                          "%d training rows: using %g" % (perplexity, int(3 * perplexity),
                                                          n_train, n_train / 3.0))
            perplexity = n_train / 3.0
        dims = self.embedding_.shape[1]
        out, po = _arrays.empty((m, dims))
        bar = _progress.resolve(self.progress, self.verbose)
        with h.lock:
            h.set(_TRANSFORM_PERPLEXITY, perplexity)
            h.set(_TRANSFORM_N_ITER, n_iter)
            h.set(_TRANSFORM_LEARNING_RATE, learning_rate)
            h.set(_TRANSFORM_EXAGGERATION, exaggeration)
            h.set(_TRANSFORM_MAX_GRAD_NORM, max_grad_norm)
            _progress.run(lambda: h.lib.ev_tsne_transform(h.ptr, ptr, m, d, ld, po, dims),
                          h.set_progress, h.ptr, bar)
        return out

    def _more_tags(self):
        # scikit-learn's transformer checks assume fit(X).transform(X) equals
        # fit_transform(X); a t-SNE transform places rows on the fixed map
        # (openTSNE's transform behaves the same), so training rows land
        # near, not on, their own places (tests/test_tsne_transform.c
        # bounds how near). The map is float32 whatever the input.
        why = ("t-SNE's transform places rows on the fitted map; it does not "
               "reproduce fit_transform's map")
        return {"preserves_dtype": [np.float32],
                "_xfail_checks": {"check_transformer_general": why,
                                  "check_transformer_data_not_an_array": why}}

    # ---- pickling ----
    def _restore_handle(self):
        """A TSNE loaded from a pickle keeps embedding_ and _fit_X; its
        native handle (the training rows' index, for transform) is rebuilt by
        a fit of _fit_X that starts at embedding_ and runs no iteration, so
        the map stays the pickled one."""
        h = Handle("tsne", _NAMES)
        x = self._fit_X
        y = np.ascontiguousarray(self.embedding_, dtype=np.float32)
        with h.lock:
            self._configure(h, x.shape[0])
            h.call("set_init", y.ctypes.data, y.shape[0], y.shape[1], y.shape[1])
            h.set(_INIT, _INIT_GIVEN)
            h.set(_N_ITER, 0)
            h.call("fit", x.ctypes.data, x.shape[0], x.shape[1], x.shape[1])
        self._handle = h


class _Reports(_progress.Closing):
    """What TSNE's verbose and progress bar show, from the library's reports.

    verbose >= 1 prints scikit-learn's "[t-SNE] ..." lines on stdout
    (verbose >= 2 adds one line per report, every 50 iterations). The bar
    counts each phase on its own: the exaggeration phase's iterations out of
    its length, the optimisation phase's out of the rest (the library counts
    both out of n_iter). A user's callable gets the library's reports
    unchanged."""

    def __init__(self, user, verbose, exaggeration, n_iter):
        self.user, self.verbose = user, int(verbose or 0)
        self.exag = min(exaggeration, n_iter)
        self.n_iter = n_iter
        self.t0 = self.t_stage = self.t_report = 0.0
        self.last_step = 0
        self.said = set()

    def start(self):
        if isinstance(self.user, _progress.ProgressBar):
            self.user.start()

    def close(self):
        if isinstance(self.user, _progress.ProgressBar):
            self.user.close()

    def _print(self, text):
        if self.verbose:
            import sys
            print("[t-SNE] " + text, file=sys.stdout, flush=True)

    def begin(self, est, n, d):
        import time
        self.t0 = self.t_stage = self.t_report = time.monotonic()
        self.n = n
        barnes_hut = est.method == "barnes_hut" or (est.method == "auto" and n > 1000)
        if barnes_hut and est.metric != "precomputed":
            self._print("Computing %d nearest neighbors..."
                        % min(n - 1, int(3.0 * float(est.perplexity) + 1)))

    def end(self, est):
        self._print("KL divergence after %d iterations: %f" % (est.n_iter_ + 1,
                                                                est.kl_divergence_))

    def __call__(self, stage, step, total, value):
        import time
        now = time.monotonic()
        first = stage not in self.said     # one line per phase
        if stage in ("knn", "affinities") and total and step >= total:
            self.said.add(stage)
        if stage == "knn" and total and step >= total and first:
            self._print("Computed neighbors for %d samples in %.3fs..."
                        % (self.n, now - self.t_stage))
            self.t_stage = now
        elif stage == "affinities" and total and step >= total and first:
            self._print("Computed conditional probabilities for sample %d / %d"
                        % (step, total))
            self.t_stage = now
        elif stage in ("exaggeration", "optimize"):
            if self.verbose >= 2:
                self._print("Iteration %d: error = %.7f (%d iterations in %.3fs)"
                            % (step, value, step - self.last_step, now - self.t_report))
            self.t_report, self.last_step = now, step
            if stage == "exaggeration" and step >= self.exag:
                self._print("KL divergence after %d iterations with early exaggeration: %f"
                            % (step, value))
        if self.user is None:
            return False
        if isinstance(self.user, _progress.ProgressBar):
            if stage == "exaggeration":
                total = self.exag
            elif stage == "optimize":
                step, total = step - self.exag, self.n_iter - self.exag
        return self.user(stage, step, total, value)
