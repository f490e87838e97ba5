"""UMAP with umap-learn's names and shapes over libembedviz's ev_umap."""
import ctypes

import numpy as np

from . import _arrays, _errors, _lib, _progress
from ._base import Estimator, Handle

_vp, _sz, _int, _dbl = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_double
_lib.register({
    "ev_umap_create": (_int, [_vp]),
    "ev_umap_free": (None, [_vp]),
    "ev_umap_set": (_int, [_vp, _int, _dbl]),
    "ev_umap_get": (_int, [_vp, _int, ctypes.POINTER(_dbl)]),
    "ev_umap_param_bounds": (_int, [_int, ctypes.POINTER(_dbl), ctypes.POINTER(_dbl)]),
    "ev_umap_param_default": (_int, [_int, ctypes.POINTER(_dbl)]),
    "ev_umap_set_progress": (_int, [_vp, _lib.PROGRESS_FN, _vp]),
    "ev_umap_set_init": (_int, [_vp, _vp, _sz, _sz, _sz]),
    "ev_umap_fit": (_int, [_vp, _vp, _sz, _sz, _sz]),
    "ev_umap_fit_knn": (_int, [_vp, _sz, _sz, _vp, _sz, _vp, _sz]),
    "ev_umap_restore": (_int, [_vp, _vp, _sz, _sz, _sz, _vp, _sz]),
    "ev_umap_size": (_int, [_vp, ctypes.POINTER(_sz), ctypes.POINTER(_sz)]),
    "ev_umap_embedding": (_int, [_vp, _vp, _sz]),
    "ev_umap_info": (_int, [_vp, _int, ctypes.POINTER(_dbl)]),
    "ev_umap_graph": (_int, [_vp, _vp, _vp, _vp, ctypes.POINTER(_sz)]),
    "ev_umap_transform": (_int, [_vp, _vp, _sz, _sz, _sz, _vp, _sz]),
    "ev_umap_find_ab": (_int, [_dbl, _dbl, ctypes.POINTER(_dbl), ctypes.POINTER(_dbl)]),
})

# ev_umap_param values (umap.h).
(_N_NEIGHBORS, _N_COMPONENTS, _MIN_DIST, _SPREAD, _METRIC, _N_EPOCHS, _LEARNING_RATE,
 _INIT, _NEGATIVE_SAMPLE_RATE, _REPULSION_STRENGTH, _SET_OP_MIX_RATIO,
 _LOCAL_CONNECTIVITY, _RANDOM_STATE, _THREADS, _MINKOWSKI_P, _A, _B, _KNN_METHOD) = range(1, 19)
_NAMES = {_N_NEIGHBORS: "n_neighbors", _N_COMPONENTS: "n_components", _MIN_DIST: "min_dist",
          _SPREAD: "spread", _METRIC: "metric", _N_EPOCHS: "n_epochs",
          _LEARNING_RATE: "learning_rate", _INIT: "init",
          _NEGATIVE_SAMPLE_RATE: "negative_sample_rate",
          _REPULSION_STRENGTH: "repulsion_strength", _SET_OP_MIX_RATIO: "set_op_mix_ratio",
          _LOCAL_CONNECTIVITY: "local_connectivity", _RANDOM_STATE: "random_state",
          _THREADS: "n_jobs", _MINKOWSKI_P: "metric_kwds['p']", _A: "a", _B: "b",
          _KNN_METHOD: "knn_method"}
_KNN_METHODS = {"auto": 0, "exact": 1, "approximate": 2}
_INITS = {"spectral": 0, "random": 1}
_INIT_GIVEN = 2
# ev_umap_info_item values.
_INFO_INIT_USED, _INFO_GRAPH_COMPONENTS, _INFO_N_EPOCHS, _INFO_A, _INFO_B = 1, 2, 3, 4, 5
_INFO_RANDOM_COMPONENTS = 7


def _bad(message):
    return _errors.EmbedvizValueError(message, status=_errors.ERR_ARGUMENT,
                                      status_name="EV_ERR_ARGUMENT")


def find_ab_params(spread, min_dist):
    """umap-learn's find_ab_params(spread, min_dist): the curve's (a, b)."""
    a, b = ctypes.c_double(), ctypes.c_double()
    _lib.check(_lib.lib().ev_umap_find_ab(float(spread), float(min_dist), ctypes.byref(a),
                                          ctypes.byref(b)))
    return a.value, b.value


class UMAP(Estimator):
    """Uniform Manifold Approximation and Projection, computed by libembedviz.

    umap-learn 0.5's names, shapes and defaults. The map is float32 and
    reproducible bit for bit for a seed whatever ``n_jobs`` (umap-learn is
    reproducible only on one thread); ``random_state=None`` means seed 0.
    A disconnected neighbour graph gets umap-learn's per-component spectral
    start (components too small for it are spread at random around their
    place: ``n_random_components_``); ``init_used_`` says which start ran.
    docs/umap.md explains the method.

    Parameters
    ----------
    n_neighbors : int, default 15
        Neighbours of each row in the fuzzy simplicial set.
    n_components : int, default 2
        Dimensions of the map.
    metric : str, default "euclidean"
        euclidean, sqeuclidean, cosine, manhattan, chebyshev or minkowski.
    metric_kwds : dict, optional
        ``{"p": p}`` for minkowski.
    n_epochs : int, optional
        SGD epochs; None: 500 up to 10,000 rows, 200 above (umap-learn's).
    learning_rate : float, default 1.0
        Initial SGD step, decayed linearly to 0.
    init : {"spectral", "random"} or ndarray, default "spectral"
        The start: the graph's Laplacian eigenvectors (ARPACK), random
        positions, or an (n_samples, n_components) array.
    min_dist : float, default 0.1
        How tightly points may pack in the map (<= spread).
    spread : float, default 1.0
        The scale of the embedded points.
    set_op_mix_ratio : float, default 1.0
        1: fuzzy union of the directed graphs, 0: intersection.
    local_connectivity : float, default 1.0
        Neighbours assumed connected at distance 0 (rho).
    repulsion_strength : float, default 1.0
        Weight of the negative samples.
    negative_sample_rate : int, default 5
        Negative samples per positive one.
    a, b : float, optional
        The curve's parameters; None: fitted from min_dist and spread.
    random_state : int, RandomState, Generator or None, default None
        Seed of every random draw.
    n_jobs : int, optional
        Threads (None or -1: all cores); the map does not depend on it.
    verbose : bool, default False
        umap-learn-style progress lines on stderr.
    progress : bool or callable, optional
        True for a bar, or progress(stage, step, total, value) returning
        True to cancel.
    knn_method : {"auto", "exact", "approximate"}, default "auto"
        The neighbour search: "auto" takes NN-descent when n^2 d >=
        3e10 (k / 15)^2 with k = max(n_neighbors, 15) (at n_neighbors 15
        from about 25,000 rows of 50 columns) and the exact search below.

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components), float32
        The map.
    graph_ : scipy.sparse.csr_matrix of shape (n_samples, n_samples)
        The fuzzy set's weights (a tuple (indptr, indices, data) without
        scipy).
    init_used_ : str
        "spectral", "random" or "given".
    n_graph_components_ : int
        Connected components of the neighbour graph (after umap-learn's
        pruning of the weakest edges).
    n_random_components_ : int
        Components of a disconnected graph too small for a spectral layout
        of their own (fewer than 2 x n_components rows), spread at random
        around their place at the start; 0 for a connected graph.
    n_epochs_ : int
        The epochs that ran.
    n_features_in_ : int
        Columns of the fitted rows.

    See Also
    --------
    TSNE : the other map.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import UMAP
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (60, 5)), rng.normal(8, 1, (60, 5))])
    >>> emb = UMAP(n_neighbors=10, n_epochs=50, random_state=0).fit_transform(X)
    >>> emb.shape, emb.dtype
    ((120, 2), dtype('float32'))
    """

    def __init__(self, n_neighbors=15, n_components=2, metric="euclidean", metric_kwds=None,
                 n_epochs=None, learning_rate=1.0, init="spectral", min_dist=0.1, spread=1.0,
                 set_op_mix_ratio=1.0, local_connectivity=1.0, repulsion_strength=1.0,
                 negative_sample_rate=5, a=None, b=None, random_state=None, n_jobs=None,
                 verbose=False, progress=None, knn_method="auto"):
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.metric = metric
        self.metric_kwds = metric_kwds
        self.n_epochs = n_epochs
        self.learning_rate = learning_rate
        self.init = init
        self.min_dist = min_dist
        self.spread = spread
        self.set_op_mix_ratio = set_op_mix_ratio
        self.local_connectivity = local_connectivity
        self.repulsion_strength = repulsion_strength
        self.negative_sample_rate = negative_sample_rate
        self.a = a
        self.b = b
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.progress = progress
        self.knn_method = knn_method

    def _configure(self, h, n):
        from .neighbors import _resolve_metric
        h.set(_N_NEIGHBORS, self.n_neighbors)
        h.set(_N_COMPONENTS, self.n_components)
        h.set(_MIN_DIST, self.min_dist)
        h.set(_SPREAD, self.spread)
        h.set(_N_EPOCHS, 0 if self.n_epochs is None else self.n_epochs)
        h.set(_LEARNING_RATE, self.learning_rate)
        h.set(_NEGATIVE_SAMPLE_RATE, self.negative_sample_rate)
        h.set(_REPULSION_STRENGTH, self.repulsion_strength)
        h.set(_SET_OP_MIX_RATIO, self.set_op_mix_ratio)
        h.set(_LOCAL_CONNECTIVITY, self.local_connectivity)
        h.set(_A, 0 if self.a is None else self.a)
        h.set(_B, 0 if self.b is None else self.b)
        _, hi = h.bounds(_RANDOM_STATE)
        h.set(_RANDOM_STATE, _arrays.seed_from(self.random_state) % (int(hi) + 1))
        h.set(_THREADS, _arrays.n_jobs_to_threads(self.n_jobs))
        if self.knn_method not in _KNN_METHODS:
            raise _bad("knn_method must be 'auto', 'exact' or 'approximate', got %r"
                       % (self.knn_method,))
        h.set(_KNN_METHOD, _KNN_METHODS[self.knn_method])
        code, p, _ = _resolve_metric(self.metric, 2, self.metric_kwds)
        h.set(_MINKOWSKI_P, p)
        h.set(_METRIC, code)
        init = self.init
        if isinstance(init, str):
            if init not in _INITS:
                raise _bad("init must be 'spectral', 'random' or an array, got %r" % init)
            h.set(_INIT, _INITS[init])
        elif n is not None:
            a, ptr, rows, cols, ld = _arrays.as_matrix(init, "init")
            if (rows, cols) != (n, self.n_components):
                raise _bad("init must be an n_samples x n_components array, here %d x %r, "
                           "got %d x %d" % (n, self.n_components, rows, cols))
            h.call("set_init", ptr, rows, cols, ld)
            h.set(_INIT, _INIT_GIVEN)

    def fit(self, X, y=None):
        """Embed the rows of X (converted to float32).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : UMAP

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import UMAP
        >>> X = np.random.default_rng(1).normal(size=(80, 4))
        >>> UMAP(n_neighbors=8, n_epochs=30).fit(X).embedding_.shape
        (80, 2)
        """
        a, ptr, n, d, ld = _arrays.as_matrix(X, "X")
        _arrays.check_fit_input(a, "x", "UMAP", 2)
        if self._handle is None:
            self._handle = Handle("umap", _NAMES)
        h = self._handle
        bar = _progress.resolve(self.progress, self.verbose)
        with h.lock:
            self._configure(h, n)
            _progress.run(lambda: h.lib.ev_umap_fit(h.ptr, ptr, n, d, ld), h.set_progress,
                          h.ptr, bar)
            self._read(h)
        self._raw_data = np.ascontiguousarray(a, dtype=np.float32)
        self.n_features_in_ = d
        return self

    def _read(self, h):
        n, dims = ctypes.c_size_t(), ctypes.c_size_t()
        h.call("size", ctypes.byref(n), ctypes.byref(dims))
        emb, p = _arrays.empty((n.value, dims.value))
        h.call("embedding", p, dims.value)
        self.embedding_ = emb
        info = ctypes.c_double()
        h.call("info", _INFO_INIT_USED, ctypes.byref(info))
        self.init_used_ = {0: "spectral", 1: "random", 2: "given"}[int(info.value)]
        h.call("info", _INFO_GRAPH_COMPONENTS, ctypes.byref(info))
        self.n_graph_components_ = int(info.value)
        h.call("info", _INFO_RANDOM_COMPONENTS, ctypes.byref(info))
        self.n_random_components_ = int(info.value)
        h.call("info", _INFO_N_EPOCHS, ctypes.byref(info))
        self.n_epochs_ = int(info.value)
        h.call("info", _INFO_A, ctypes.byref(info))
        self._a = info.value
        h.call("info", _INFO_B, ctypes.byref(info))
        self._b = info.value
        nnz = ctypes.c_size_t()
        h.call("graph", None, None, None, ctypes.byref(nnz))
        indptr = np.empty(n.value + 1, dtype=np.uintp)
        indices = np.empty(nnz.value, dtype=np.int64)
        data = np.empty(nnz.value, dtype=np.float32)
        h.call("graph", indptr.ctypes.data, indices.ctypes.data, data.ctypes.data,
               ctypes.byref(nnz))
        self._graph_csr = (indptr.astype(np.int64), indices, data)

    @property
    def graph_(self):
        """The fuzzy simplicial set (symmetric), as a sparse matrix.

        scipy.sparse.csr_matrix when scipy is importable, else the tuple
        (indptr, indices, data).

        Returns
        -------
        graph : scipy.sparse.csr_matrix of shape (n_samples, n_samples)

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import UMAP
        >>> X = np.random.default_rng(2).normal(size=(60, 3))
        >>> g = UMAP(n_neighbors=6, n_epochs=20).fit(X).graph_
        >>> g.shape, bool(abs(g - g.T).max() < 1e-6)
        ((60, 60), True)
        """
        if not hasattr(self, "_graph_csr"):
            raise AttributeError("graph_: fit the UMAP first")
        indptr, indices, data = self._graph_csr
        try:
            from scipy.sparse import csr_matrix
        except ImportError:
            return self._graph_csr
        n = len(indptr) - 1
        return csr_matrix((data, indices, indptr), shape=(n, n))

    def fit_transform(self, X, y=None):
        """fit(X) and return the map.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        embedding : ndarray of shape (n_samples, n_components), float32

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import UMAP
        >>> X = np.random.default_rng(3).normal(size=(70, 5))
        >>> UMAP(n_neighbors=7, n_epochs=20).fit_transform(X).shape
        (70, 2)
        """
        return self.fit(X).embedding_

    def transform(self, X):
        """Place new rows in the fitted map, the training map fixed.

        As umap-learn's transform: each new row starts at the weighted mean
        of its training neighbours' places, then a short SGD moves only it.

        Parameters
        ----------
        X : array-like of shape (m, n_features)

        Returns
        -------
        embedding : ndarray of shape (m, n_components), float32

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import UMAP
        >>> X = np.random.default_rng(4).normal(size=(90, 4))
        >>> u = UMAP(n_neighbors=8, n_epochs=30).fit(X)
        >>> u.transform(X[:5]).shape
        (5, 2)
        """
        if not hasattr(self, "embedding_"):
            raise _errors.NotFittedError(
                "This UMAP instance is not fitted yet: call fit before transform",
                status=_errors.ERR_STATE, status_name="EV_ERR_STATE")
        a, ptr, m, d, ld = _arrays.as_matrix(X, "X")
        _arrays.check_no_inf(a, "x")
        if self._handle is None:
            self._restore_handle()
        h = self._handle
        out, po = _arrays.empty((m, self.embedding_.shape[1]))
        bar = _progress.resolve(self.progress, self.verbose)
        with h.lock:
            _progress.run(lambda: h.lib.ev_umap_transform(h.ptr, ptr, m, d, ld, po,
                                                          out.shape[1]),
                          h.set_progress, h.ptr, bar)
        return out

    # ---- pickling ----
    def _restore(self):
        """A UMAP loaded from a pickle keeps its arrays; its native handle
        (the training rows' index and the map, for transform) is rebuilt
        from _raw_data and embedding_ by ev_umap_restore on first use."""

    def _restore_handle(self):
        h = Handle("umap", _NAMES)
        x = self._raw_data
        y = np.ascontiguousarray(self.embedding_, dtype=np.float32)
        with h.lock:
            self._configure(h, None)
            h.set(_N_COMPONENTS, y.shape[1])
            h.call("restore", x.ctypes.data, x.shape[0], x.shape[1], x.shape[1],
                   y.ctypes.data, y.shape[1])
        self._handle = h
