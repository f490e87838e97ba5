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
_EUCLIDEAN, _SQEUCLIDEAN, _COSINE, _CITYBLOCK, _MINKOWSKI, _CHEBYSHEV = range(6)

# algorithm -> ev_knn_method: scikit-learn's names all mean the exact,
# exhaustive search ("auto" follows the library's rule, which stays exact
# for now: docs/knn.md); "approximate" is the library's approximate index.
_ALGORITHMS = {"auto": 0, "brute": 1, "kd_tree": 1, "ball_tree": 1,
               "approximate": 2}

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
    """Exact nearest-neighbour search, computed by libembedviz.

    scikit-learn's sklearn.neighbors.NearestNeighbors names and shapes. The
    search is exhaustive and exact (scikit-learn's algorithm="brute") for
    every scikit-learn ``algorithm`` name; equal distances are ordered by
    lower index. ``algorithm="approximate"`` uses the library's approximate
    index instead (NN-descent and a graph search: most, not all, true
    neighbours, each with its exact distance; docs/knn.md); radius searches
    are exact only with the exact search. The computation is float32; distances come back
    float64 for float64 input, indices as int64.

    Parameters
    ----------
    n_neighbors : int, default 5
    radius : float, default 1.0
        Default radius of radius_neighbors.
    algorithm : {"auto", "ball_tree", "kd_tree", "brute", "approximate"}, default "auto"
        scikit-learn's names give the exact search; "approximate" the
        approximate index; anything else is refused.
    leaf_size : int, default 30
        Accepted for compatibility; no effect.
    metric : str, default "minkowski"
        euclidean (l2), sqeuclidean, cosine, manhattan (cityblock, l1),
        chebyshev (infinity), minkowski, or "precomputed" (fit takes a square
        distance matrix, queries a n_queries x n_samples_fit_ one).
    p : float >= 1, default 2
        Minkowski power.
    metric_params : dict or None, default None
        Only {"p": ...}.
    n_jobs : int or None, default None
        Threads (None or -1: every core).
    progress : None, True or callable, default None
        True draws a bar on stderr; a callable progress(stage, step, total,
        value) returning True cancels. Not in scikit-learn.

    Attributes
    ----------
    effective_metric_ : str
    effective_metric_params_ : dict
    n_samples_fit_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str objects
        Only when fitted on a DataFrame whose column names are all strings.

    Notes
    -----
    A fitted object may be queried from many threads at once. It pickles
    with its indexed rows and rebuilds the native index on load.

    See Also
    --------
    PCA : Fewer dimensions first makes the search faster.
    map_quality : How well a map keeps these neighbourhoods.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import NearestNeighbors
    >>> x = np.array([[0, 0], [0, 1], [5, 5]], dtype=np.float32)
    >>> dist, idx = NearestNeighbors(n_neighbors=1).fit(x).kneighbors([[0, 0.9]])
    >>> int(idx[0, 0])
    1
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

    def fit(self, X, y=None):
        """Index the rows of X (copied into the library).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples, n_samples)
            The rows to search, converted to float32 (the library computes
            in float32); with metric="precomputed", their square distance
            matrix.
        y : None
            Ignored (scikit-learn's signature).

        Returns
        -------
        self : NearestNeighbors
            The fitted estimator.

        Raises
        ------
        EmbedvizValueError
            An unknown algorithm or metric, a bad p, an empty X, or a
            precomputed matrix that is not square or holds negative values.
        NonFiniteError
            X holds NaN or Inf.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import NearestNeighbors
        >>> x = np.array([[0, 0], [0, 1], [5, 5]], dtype=np.float32)
        >>> nn = NearestNeighbors(n_neighbors=2, metric="manhattan").fit(x)
        >>> nn.n_samples_fit_, nn.n_features_in_, nn.effective_metric_
        (3, 2, 'manhattan')
        """
        if self.algorithm not in _ALGORITHMS:
            raise _bad("algorithm=%r is not one of %s (all but 'approximate' give "
                       "the same exact result)" % (
                           self.algorithm, ", ".join(sorted(_ALGORITHMS))))
        if self.metric == "precomputed":
            code, p, name = None, 2.0, "precomputed"
        else:
            code, p, name = _resolve_metric(self.metric, self.p, self.metric_params)
        threads = _arrays.n_jobs_to_threads(self.n_jobs)
        names = _arrays.feature_names(X)
        a, ptr, n, d, ld = _arrays.as_matrix(X, "X")
        _arrays.check_fit_input(a, "ref", "NearestNeighbors", 1)
        if code is None:
            if n != d:
                raise _bad("metric='precomputed' needs a square distance matrix "
                           "(n_samples x n_samples), got %d x %d" % (n, d))
            _arrays.check_finite(a, "X")
            if (a < 0).any():
                raise _bad("metric='precomputed' needs distances >= 0: X holds negative values")
            # Distances to the fitted points, queried as points of an index
            # over the identity: see _precomputed_query.
            a = np.ascontiguousarray(a)
        if self.__dict__.get("_lock") is None:
            self._lock = _SharedLock()
        with self._lock.exclusive():
            self._build(a if code is None else (a, ptr, n, d, ld), code, p, threads)
        # The rows the index holds, kept to rebuild it after unpickling (as
        # scikit-learn keeps _fit_X); a precomputed matrix is kept in float64.
        self._fit_X = np.array(a if code is not None else X,
                               dtype=np.float32 if code is not None else np.float64, order="C")
        self._fit_dtype = np.empty(0, dtype=np.float64 if _arrays.like_input(
            np.empty(0, np.float32), X).dtype == np.float64 else np.float32)
        self._fit_code, self._fit_p, self._fit_threads = code, p, threads
        self.effective_metric_ = name
        self.effective_metric_params_ = {"p": p} if code == _MINKOWSKI else {}
        self.n_samples_fit_ = n
        self.n_features_in_ = d
        _arrays.set_feature_names(self, names)
        return self

    def _build(self, data, code, p, threads):
        """(Re)build the native index; the caller holds the lock exclusively."""
        if code is None:          # precomputed: no index, see kneighbors
            return
        a, ptr, n, d, ld = data if isinstance(data, tuple) else (
            data, data.ctypes.data, data.shape[0], data.shape[1], data.shape[1])
        if self._handle is None:
            self._handle = Handle("knn")
        h = self._handle
        h.set(_MINKOWSKI_P, p)
        h.set(_METRIC, code)
        h.set(_THREADS, threads)
        h.set(_METHOD, _ALGORITHMS[self.algorithm])
        _progress.run(lambda: h.lib.ev_knn_build(h.ptr, ptr, n, d, ld))

    def _restore(self):
        """After unpickling: rebuild the native index from the saved rows
        (_fit_X), giving the same answers as the pickled object."""
        self._lock = _SharedLock()
        if getattr(self, "_fit_X", None) is not None:
            with self._lock.exclusive():
                self._build(self._fit_X, self._fit_code, self._fit_p, self._fit_threads)

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
        """The nearest indexed rows of each query, nearest first.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), optional
            The queries; with metric="precomputed", their distances to the
            fitted points, (n_queries, n_samples_fit_). None queries the
            indexed rows, none counting as its own neighbour.
        n_neighbors : int, optional
            Neighbours per query; None means the estimator's n_neighbors.
        return_distance : bool, default True
            Whether to return the distances too.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
            float64 when X (or the fitted data, for X=None) is float64, else
            float32; computed in float32. Only when return_distance.
        indices : ndarray of int64, shape (n_queries, n_neighbors)
            Equal distances are ordered by lower index.

        Raises
        ------
        NotFittedError
            fit has not run.
        EmbedvizValueError
            n_neighbors is not an int >= 1 or is more than the indexed rows
            (other than the query, for X=None), or X has another number of
            columns than the fit.

        See Also
        --------
        kneighbors_graph : The same as a sparse matrix.
        radius_neighbors : Every row within a distance.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import NearestNeighbors
        >>> x = np.array([[0, 0], [0, 1], [5, 5]], dtype=np.float32)
        >>> nn = NearestNeighbors(n_neighbors=2).fit(x)
        >>> dist, idx = nn.kneighbors([[0, 0.9]])
        >>> print(dist.round(2), idx)
        [[0.1 0.9]] [[1 0]]
        >>> nn.kneighbors(return_distance=False)  # the fitted rows, each without itself
        array([[1, 2],
               [0, 2],
               [1, 0]])
        """
        self._check_fitted()
        k = self._k(n_neighbors)
        like = self._fit_dtype if X is None else X
        if X is not None:
            _arrays.check_feature_names(self, X)
        limit = self.n_samples_fit_ - (1 if X is None else 0)
        if k > limit:
            raise _bad("n_neighbors=%d must be at most the number of indexed samples%s (%d): "
                       "lower n_neighbors" % (k, " other than the query" if X is None else "",
                                              limit))
        if self._fit_code is None:
            dist, ind = self._precomputed_query(X, k)
        else:
            dist, ind = self._query(X, k, return_distance)
        if not return_distance:
            return ind
        return _arrays.like_input(dist, like), ind

    def _query(self, X, k, return_distance=True):
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
        return dist, ind

    def _precomputed_query(self, X, k):
        """metric="precomputed": the k smallest distances of each row, ties
        by lower index (a stable sort), the row's own point left out when
        X is None."""
        if X is None:
            dmat = self._fit_X.copy()
            np.fill_diagonal(dmat, np.inf)
        else:
            _arrays.as_matrix(X, "X")
            dmat = np.asarray(X, dtype=np.float64)
            _arrays.check_columns(dmat.shape[1], self.n_samples_fit_, "X", "samples (columns of a "
                                  "precomputed distance matrix)", "NearestNeighbors")
            _arrays.check_finite(dmat, "X")
        ind = np.argsort(dmat, axis=1, kind="stable")[:, :k].astype(np.int64)
        dist = np.take_along_axis(dmat, ind, axis=1)
        return dist, ind

    def radius_neighbors(self, X=None, radius=None, return_distance=True,
                         sort_results=False):
        """Find every indexed row within `radius` of each query (distance <= radius).

        scikit-learn's rule, found exactly by the library
        (ev_knn_query_radius: one blocked scan, docs/knn.md).

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), optional
            The queries (with metric="precomputed", their distances to the
            fitted points). None queries the indexed rows, none counting as
            its own neighbour.
        radius : float, optional
            The distance limit, >= 0; None means the estimator's radius.
        return_distance : bool, default True
            Whether to return the distances too.
        sort_results : bool, default False
            True: each row's neighbours nearest first (ties by lower index);
            False: in index order (as scikit-learn's brute force gives them).

        Returns
        -------
        distances : ndarray of shape (n_queries,) of ndarrays (object)
            Only when return_distance.
        indices : ndarray of shape (n_queries,) of int64 ndarrays (object)

        Raises
        ------
        NotFittedError
            fit has not run.
        EmbedvizValueError
            A negative or non-finite radius, or sort_results without
            return_distance.

        See Also
        --------
        radius_neighbors_graph : The same as a sparse matrix.
        kneighbors : A fixed number of neighbours.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import NearestNeighbors
        >>> x = np.array([[0, 0], [0, 1], [5, 5]], dtype=np.float32)
        >>> nn = NearestNeighbors(radius=1.5).fit(x)
        >>> dist, idx = nn.radius_neighbors([[0, 0.9]], sort_results=True)
        >>> print(idx[0], dist[0].round(2))
        [1 0] [0.1 0.9]
        >>> [i.tolist() for i in nn.radius_neighbors(return_distance=False)]
        [[1], [0], []]
        """
        self._check_fitted()
        r = self.radius if radius is None else radius
        if isinstance(r, bool) or not isinstance(r, numbers.Real) or not r >= 0 \
                or not np.isfinite(r):
            raise _bad("radius must be a finite number >= 0, got %r" % (r,))
        if sort_results and not return_distance:
            raise _bad("return_distance must be True if sort_results is True")
        if X is not None:
            _arrays.check_feature_names(self, X)
        like = self._fit_dtype if X is None else X
        if self._fit_code is None:
            offsets, ind, dist = self._precomputed_radius(X, float(r), sort_results)
        else:
            offsets, ind, dist = self._radius_query(X, float(r), sort_results,
                                                    return_distance)
        nq = len(offsets) - 1
        out_i = np.empty(nq, dtype=object)
        out_d = np.empty(nq, dtype=object)
        for q in range(nq):
            a, b = offsets[q], offsets[q + 1]
            out_i[q] = ind[a:b]
            if return_distance:
                out_d[q] = _arrays.like_input(dist[a:b], like)
        return (out_d, out_i) if return_distance else out_i

    def _radius_query(self, X, r, sort_results, return_distance):
        """The library's radius query, its three arrays copied to numpy."""
        import ctypes
        if X is None:
            query = (None, 0, 0, 0)
        else:
            a, ptr, nq, d, ld = _arrays.as_matrix(X, "X")
            query = (ptr, nq, d, ld)
        progress = _progress.resolve(self.progress)
        held = (self._lock.exclusive() if _progress.installs_callback(progress)
                else self._lock.shared())
        arrays = [ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()]
        with held:
            h = self._handle
            lib = h.lib
            try:
                _progress.run(lambda: lib.ev_knn_query_radius(
                    h.ptr, *query, r, 1 if sort_results else 0,
                    ctypes.byref(arrays[0]), ctypes.byref(arrays[1]),
                    ctypes.byref(arrays[2]) if return_distance else None),
                    h.set_progress, h.ptr, progress)
                out = []
                for arr, dtype in zip(arrays, (np.int64, np.int64, np.float32)):
                    if not arr.value:
                        out.append(None)
                        continue
                    n = lib.ev_array_dim(arr, 0)
                    data = lib.ev_array_data(arr)
                    out.append(np.ctypeslib.as_array(
                        ctypes.cast(data, ctypes.POINTER(np.ctypeslib.as_ctypes_type(dtype))),
                        shape=(n,)).copy() if n else np.zeros(0, dtype))
            finally:
                for arr in arrays:
                    if arr.value:
                        lib.ev_array_free(arr)
        return out[0], out[1], out[2]

    def _precomputed_radius(self, X, r, sort_results):
        """metric="precomputed": the entries <= r of each row (the row's own
        point left out when X is None), in compressed rows."""
        if X is None:
            dmat = self._fit_X.copy()
            np.fill_diagonal(dmat, np.inf)
        else:
            _arrays.as_matrix(X, "X")
            dmat = np.asarray(X, dtype=np.float64)
            _arrays.check_columns(dmat.shape[1], self.n_samples_fit_, "X", "samples (columns of a "
                                  "precomputed distance matrix)", "NearestNeighbors")
            _arrays.check_finite(dmat, "X")
        rows, cols = np.nonzero(dmat <= r)
        d = dmat[rows, cols]
        if sort_results:
            order = np.lexsort((cols, d, rows))
            rows, cols, d = rows[order], cols[order], d[order]
        offsets = np.searchsorted(rows, np.arange(dmat.shape[0] + 1))
        return offsets, cols.astype(np.int64), d

    def _fit_rows(self, which):
        if self._fit_code is None:
            raise _bad("metric='precomputed' has no rows to query: pass X")
        return self._fit_X[which]

    def radius_neighbors_graph(self, X=None, radius=None, mode="connectivity",
                               sort_results=False):
        """Return the graph of the rows within `radius`, as a sparse matrix (needs scipy).

        scikit-learn's radius_neighbors_graph: entry (i, j) is set when
        indexed row j is within `radius` of query i.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), optional
            As for radius_neighbors; None queries the indexed rows.
        radius : float, optional
            None means the estimator's radius.
        mode : {"connectivity", "distance"}, default "connectivity"
            Entries 1, or the distances (float64).
        sort_results : bool, default False
            Each row's entries nearest first.

        Returns
        -------
        graph : scipy.sparse.csr_matrix of shape (n_queries, n_samples_fit_)

        Raises
        ------
        EmbedvizValueError
            An unknown mode, or as radius_neighbors.

        See Also
        --------
        radius_neighbors : The same as arrays.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import NearestNeighbors
        >>> x = np.array([[0, 0], [0, 1], [5, 5]], dtype=np.float32)
        >>> nn = NearestNeighbors(radius=1.5).fit(x)
        >>> nn.radius_neighbors_graph([[0, 0.9]]).toarray()
        array([[1., 1., 0.]])
        """
        if mode not in ("connectivity", "distance"):
            raise _bad("mode must be 'connectivity' or 'distance', got %r" % (mode,))
        from scipy.sparse import csr_matrix
        dist, ind = self.radius_neighbors(X, radius, return_distance=True,
                                          sort_results=sort_results)
        counts = np.array([len(i) for i in ind], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(counts)])
        cols = np.concatenate(list(ind)) if len(ind) else np.zeros(0, np.int64)
        if mode == "connectivity":
            data = np.ones(len(cols))
        else:
            data = (np.concatenate(list(dist)).astype(np.float64) if len(dist)
                    else np.zeros(0))
        return csr_matrix((data, cols, indptr), shape=(len(ind), self.n_samples_fit_))

    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """Return the k-nearest-neighbour graph as a sparse matrix (needs scipy).

        scikit-learn's kneighbors_graph: row i holds query i's n_neighbors
        nearest indexed rows.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), optional
            As for kneighbors; None queries the indexed rows, none counting
            as its own neighbour.
        n_neighbors : int, optional
            Neighbours per query; None means the estimator's n_neighbors.
        mode : {"connectivity", "distance"}, default "connectivity"
            Entries 1, or the distances (float64).

        Returns
        -------
        graph : scipy.sparse.csr_matrix of shape (n_queries, n_samples_fit_)

        Raises
        ------
        EmbedvizValueError
            An unknown mode, or as kneighbors.

        See Also
        --------
        kneighbors : The same as arrays.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import NearestNeighbors
        >>> x = np.array([[0, 0], [0, 1], [5, 5]], dtype=np.float32)
        >>> nn = NearestNeighbors(n_neighbors=1).fit(x)
        >>> nn.kneighbors_graph().toarray()
        array([[0., 1., 0.],
               [1., 0., 0.],
               [0., 1., 0.]])
        >>> nn.kneighbors_graph([[5, 4]], mode="distance").toarray()
        array([[0., 0., 1.]])
        """
        if mode not in ("connectivity", "distance"):
            raise _bad("mode must be 'connectivity' or 'distance', got %r" % (mode,))
        from scipy.sparse import csr_matrix
        dist, ind = self.kneighbors(X, n_neighbors, return_distance=True)
        nq, k = ind.shape
        data = np.ones(nq * k) if mode == "connectivity" else dist.ravel().astype(np.float64)
        return csr_matrix((data, ind.ravel(), np.arange(0, nq * k + 1, k)),
                          shape=(nq, self.n_samples_fit_))

