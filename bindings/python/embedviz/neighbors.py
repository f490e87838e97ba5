"""NearestNeighbors with scikit-learn's names and shapes over libembedviz's
exact kNN index (ev_knn)."""
import math
import numbers
import threading

import numpy as np

from . import _arrays, _errors, _progress
from ._base import Estimator, Handle

# ev_knn_param and ev_metric values (knn.h).
_METRIC, _MINKOWSKI_P, _THREADS = 1, 2, 3
_METHOD = 5  # EV_KNN_METHOD (since 1.1)
# algorithm -> ev_knn_method: "auto" lets the library pick the approximate
# index from EV_KNN_AUTO_ROWS rows (by default never yet); scikit-learn's exact
# algorithms all mean the exhaustive search.
_ALGORITHMS = {"auto": 0, "brute": 1, "kd_tree": 1, "ball_tree": 1,
               "approximate": 2}
_EUCLIDEAN, _SQEUCLIDEAN, _COSINE, _CITYBLOCK, _MINKOWSKI, _CHEBYSHEV = range(6)

# scikit-learn metric names -> (ev_metric, the name scikit-learn reports
# as effective_metric_).
_METRICS = {
    "euclidean": (_EUCLIDEAN, "euclidean"), "l2": (_EUCLIDEAN, "euclidean"),
    "sqeuclidean": (_SQEUCLIDEAN, "sqeuclidean"),
    "cosine": (_COSINE, "cosine"),
    "cityblock": (_CITYBLOCK, "manhattan"), "manhattan": (_CITYBLOCK, "manhattan"),
    "l1": (_CITYBLOCK, "manhattan"),
    "chebyshev": (_CHEBYSHEV, "chebyshev"), "infinity": (_CHEBYSHEV, "chebyshev"),
}


def _bad(message):
    return _errors.EmbedvizValueError(message, status=_errors.ERR_ARGUMENT,
                                      status_name="EV_ERR_ARGUMENT")


def _resolve_metric(metric, p, metric_params):
    """(ev_metric, Minkowski p, effective metric name)."""
    params = dict(metric_params or {})
    if "p" in params:
        p = params.pop("p")
    if params:
        raise _bad("metric_params %s are not supported (only 'p')" % sorted(params))
    if not isinstance(metric, str):
        raise _bad("metric must be a name (euclidean, sqeuclidean, cosine, "
                   "manhattan, chebyshev, minkowski); callables and "
                   "'precomputed' are not supported, got %r" % (metric,))
    if metric == "minkowski":
        if not isinstance(p, numbers.Real) or not p >= 1:
            raise _bad("p=%r must be a number >= 1 for the Minkowski metric" % (p,))
        if p == 2:
            return _EUCLIDEAN, 2.0, "euclidean"
        if p == 1:
            return _CITYBLOCK, 2.0, "manhattan"
        if math.isinf(p):
            return _CHEBYSHEV, 2.0, "chebyshev"
        return _MINKOWSKI, float(p), "minkowski"
    if metric not in _METRICS:
        raise _bad("metric=%r is not supported: use one of %s" % (
            metric, ", ".join(sorted(list(_METRICS) + ["minkowski"]))))
    code, name = _METRICS[metric]
    return code, 2.0, name


class _SharedLock:
    """Many readers or one writer. Queries that install no callback only
    read the index, which knn.h allows from many threads at once; builds and
    queries that install a progress callback on the handle need it alone."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    def shared(self):
        return _Held(self, False)

    def exclusive(self):
        return _Held(self, True)


class _Held:
    def __init__(self, lock, exclusive):
        self.lock, self.exclusive = lock, exclusive

    def __enter__(self):
        c = self.lock._cond
        with c:
            if self.exclusive:
                c.wait_for(lambda: not self.lock._writer and self.lock._readers == 0)
                self.lock._writer = True
            else:
                c.wait_for(lambda: not self.lock._writer)
                self.lock._readers += 1

    def __exit__(self, *exc):
        c = self.lock._cond
        with c:
            if self.exclusive:
                self.lock._writer = False
            else:
                self.lock._readers -= 1
            c.notify_all()


class NearestNeighbors(Estimator):
    """Exact k-nearest-neighbour search, computed by libembedviz.

    scikit-learn's sklearn.neighbors.NearestNeighbors names and shapes; the
    search is always exhaustive (what scikit-learn calls algorithm="brute"),
    so ``leaf_size`` is accepted and has no effect, and radius searches
    are not offered. ``algorithm="approximate"`` uses the library's
    approximate index instead (NN-descent and a graph search: most, not
    all, true neighbours, each with its exact distance; docs/knn.md);
    ``"auto"`` (the default) follows the library's rule, which stays
    exact for now (docs/knn.md);
    ``"brute"``, ``"kd_tree"`` and ``"ball_tree"`` are exact. Distances come back as float32,
    indices as int64. Metrics: euclidean (l2), sqeuclidean, cosine,
    manhattan (cityblock, l1), chebyshev (infinity) and minkowski with
    p >= 1. Extension: ``progress`` (True for a bar on stderr, or a callable
    progress(stage, step, total, value) returning True to cancel).

    A fitted object may be queried from many threads at once.
    """

    def __init__(self, *, n_neighbors=5, radius=1.0, algorithm="auto",
                 leaf_size=30, metric="minkowski", p=2, metric_params=None,
                 n_jobs=None, progress=None):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.metric = metric
        self.p = p
        self.metric_params = metric_params
        self.n_jobs = n_jobs
        self.progress = progress
        self._handle = None
        self._lock = _SharedLock()

    def fit(self, X, y=None):
        """Index the rows of X (copied into the library). Returns self."""
        code, p, name = _resolve_metric(self.metric, self.p, self.metric_params)
        threads = _arrays.n_jobs_to_threads(self.n_jobs)
        if self.algorithm not in _ALGORITHMS:
            raise _bad("algorithm=%r is not supported: use one of %s" % (
                self.algorithm, ", ".join(sorted(_ALGORITHMS))))
        a, ptr, n, d, ld = _arrays.as_matrix(X, "X")
        with self._lock.exclusive():
            if self._handle is None:
                self._handle = Handle("knn")
            h = self._handle
            h.set(_MINKOWSKI_P, p)
            h.set(_METRIC, code)
            h.set(_THREADS, threads)
            h.set(_METHOD, _ALGORITHMS[self.algorithm])
            _progress.run(lambda: h.lib.ev_knn_build(h.ptr, ptr, n, d, ld))
        self.effective_metric_ = name
        self.effective_metric_params_ = {"p": p} if code == _MINKOWSKI else {}
        self.n_samples_fit_ = n
        self.n_features_in_ = d
        return self

    def _check_fitted(self):
        if getattr(self, "n_samples_fit_", None) is None:
            raise _errors.NotFittedError(
                "This NearestNeighbors instance is not fitted yet. Call "
                "'fit' with appropriate arguments before using this estimator.",
                status=_errors.ERR_STATE, status_name="EV_ERR_STATE")

    def _k(self, n_neighbors):
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise _bad("n_neighbors must be an int >= 1, got %r" % (k,))
        return int(k)

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """The n_neighbors nearest indexed rows of each row of X, nearest
        first: (distances, indices), each n_queries x n_neighbors, or only
        the indices when return_distance is False. With X=None the indexed
        rows are queried and none counts as its own neighbour."""
        self._check_fitted()
        k = self._k(n_neighbors)
        if X is None:
            nq, query = self.n_samples_fit_, None
        else:
            a, ptr, nq, d, ld = _arrays.as_matrix(X, "X")
            query = (ptr, nq, d, ld)
        ind, ip = _arrays.empty((nq, k), np.int64)
        dist, dp = (_arrays.empty((nq, k)) if return_distance else (None, None))
        progress = _progress.resolve(self.progress)
        if _progress.installs_callback(progress):
            held = self._lock.exclusive()
        else:
            held = self._lock.shared()
        with held:
            h = self._handle
            if query is None:
                call = lambda: h.lib.ev_knn_query_self(h.ptr, k, ip, k, dp, k)
            else:
                call = lambda: h.lib.ev_knn_query(h.ptr, *query, k, ip, k, dp, k)
            _progress.run(call, h.set_progress, h.ptr, progress)
        return (dist, ind) if return_distance else ind

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """scikit-learn's sparse kNN graph (needs scipy): rows are queries,
        entries 1 ("connectivity") or the distance ("distance")."""
        if mode not in ("connectivity", "distance"):
            raise _bad("mode must be 'connectivity' or 'distance', got %r" % (mode,))
        from scipy.sparse import csr_matrix
        dist, ind = self.kneighbors(X, n_neighbors, return_distance=True)
        nq, k = ind.shape
        data = np.ones(nq * k) if mode == "connectivity" else dist.ravel().astype(np.float64)
        return csr_matrix((data, ind.ravel(), np.arange(0, nq * k + 1, k)),
                          shape=(nq, self.n_samples_fit_))

    def __getstate__(self):
        raise TypeError("NearestNeighbors holds a native index and cannot be "
                        "pickled: fit it again from the data")
