"""How far a map can be trusted and which labels are probably wrong
(libembedviz's quality.h, since 1.1): scikit-learn's trustworthiness with
its signature, map measures, and label-issue scores and rankings in the
style of cleanlab's find_label_issues."""
import ctypes

import numpy as np

from . import _arrays, _errors, _lib
from ._base import Handle
from .neighbors import _resolve_metric

_vp, _sz, _int, _dbl = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_double
_dp = ctypes.POINTER(ctypes.c_double)
_lib.register({
    "ev_quality_create": (_int, [_vp]),
    "ev_quality_free": (None, [_vp]),
    "ev_quality_set": (_int, [_vp, _int, _dbl]),
    "ev_quality_get": (_int, [_vp, _int, _dp]),
    "ev_quality_param_bounds": (_int, [_int, _dp, _dp]),
    "ev_quality_param_default": (_int, [_int, _dp]),
    "ev_quality_map": (_int, [_vp, _vp, _sz, _sz, _sz, _vp, _sz, _sz, _vp, _vp, _sz]),
    "ev_quality_label_issues": (_int, [_vp, _vp, _sz, _sz, _vp, _sz, _vp, _sz, _sz,
                                       _vp, _sz, _vp]),
    "ev_quality_rank_issues": (_int, [_vp, _sz, _sz, _int, _vp, _vp]),
})

# ev_quality_param, ev_map_measure and ev_issue_field values (quality.h).
_MAP_NEIGHBORS, _ISSUE_NEIGHBORS, _METRIC, _MINKOWSKI_P, _SCORES, _THREADS = range(1, 7)
_MEASURES = ("trustworthiness", "continuity", "knn_preservation", "knn_accuracy")
_FIELDS = ("score", "self_confidence", "margin", "neighbor_disagreement", "flagged")
_N_FIELDS = len(_FIELDS)


def _bad(message):
    return _errors.EmbedvizValueError(message, status=_errors.ERR_ARGUMENT,
                                      status_name="EV_ERR_ARGUMENT")


def _handle(metric="euclidean", n_jobs=None, settings=()):
    code, p, _ = _resolve_metric(metric, 2, None)
    h = Handle("quality")
    h.set(_METRIC, code)
    h.set(_MINKOWSKI_P, p)
    h.set(_THREADS, _arrays.n_jobs_to_threads(n_jobs))
    for param, value in settings:
        h.set(param, value)
    return h


def _count(k, name):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise _bad("%s must be an int >= 1, got %r" % (name, k))
    return int(k)


def map_quality(X, X_embedded, *, n_neighbors=5, metric="euclidean",
                labels=None, n_jobs=None):
    """Return how far a map can be trusted: four measures of its neighbourhoods.

    Trustworthiness and continuity (Venna & Kaski), kNN preservation and
    kNN label accuracy, from one neighbour search in each space
    (docs/quality.md).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The input rows (read as float32).
    X_embedded : array-like of shape (n_samples, n_components)
        The map of the same rows, e.g. TSNE's or PCA's output.
    n_neighbors : int, default 5
        The neighbourhood size k.
    metric : str, default "euclidean"
        A metric name NearestNeighbors accepts (euclidean, sqeuclidean,
        cosine, manhattan, chebyshev, minkowski...); "precomputed" is not
        supported.
    labels : array-like of int, shape (n_samples,), optional
        Class numbers, for knn_accuracy.
    n_jobs : int or None, default None
        Threads (None or -1: every core).

    Returns
    -------
    dict of str to float
        "trustworthiness" (1: no false neighbour in the map), "continuity"
        (1: no neighbour lost), "knn_preservation" (the share of each
        row's k input neighbours that are among its k map neighbours),
        "knn_accuracy" (the share of rows whose map neighbours' majority
        label is their own; NaN without labels).

    Raises
    ------
    EmbedvizValueError
        The row counts differ, n_neighbors is not an int >= 1 or too
        large, or labels has the wrong length.

    See Also
    --------
    trustworthiness : scikit-learn's trustworthiness alone.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import map_quality
    >>> x = np.random.RandomState(0).rand(60, 5).astype(np.float32)
    >>> y = (x[:, 0] > 0.5).astype(int)
    >>> q = map_quality(x, x[:, :2], n_neighbors=5, labels=y)
    >>> {name: round(value, 3) for name, value in q.items()}
    {'trustworthiness': 0.728, 'continuity': 0.859, 'knn_preservation': 0.26, 'knn_accuracy': 1.0}
    >>> map_quality(x, x)["trustworthiness"]
    1.0
    """
    k = _count(n_neighbors, "n_neighbors")
    a, pa, n, d, lda = _arrays.as_matrix(X, "X")
    b, pb, nb, md, ldb = _arrays.as_matrix(X_embedded, "X_embedded")
    if n != nb:
        raise _bad("X has %d rows but X_embedded %d: pass the map of these rows" % (n, nb))
    lab = None
    if labels is not None:
        lab, plab, nl = _arrays.as_vector(labels, np.int32, "labels")
        if nl != n:
            raise _bad("labels has %d values for %d rows" % (nl, n))
    h = _handle(metric, n_jobs, [(_MAP_NEIGHBORS, k)])
    out = np.empty(len(_MEASURES))
    h.call("map", pa, n, d, lda, pb, md, ldb, lab.ctypes.data if lab is not None else None,
           out.ctypes.data, len(_MEASURES))
    return dict(zip(_MEASURES, (float(v) for v in out)))


def trustworthiness(X, X_embedded, *, n_neighbors=5, metric="euclidean"):
    """Return a map's trustworthiness, as scikit-learn's trustworthiness computes it.

    The value of sklearn.manifold.trustworthiness with its signature,
    computed by libembedviz from the map neighbours' ranks only:
    1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in map kNN of i} max(0, r(i, j) - k),
    where r(i, j) is j's rank among i's neighbours in X.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The input rows (read as float32).
    X_embedded : array-like of shape (n_samples, n_components)
        The map of the same rows.
    n_neighbors : int, default 5
        The neighbourhood size k, below n_samples / 2.
    metric : str, default "euclidean"
        A metric name NearestNeighbors accepts (euclidean, sqeuclidean,
        cosine, manhattan, chebyshev, minkowski...); "precomputed" is not
        supported.

    Returns
    -------
    float
        In [0, 1]; 1 when every map neighbour is an input neighbour.

    Raises
    ------
    EmbedvizValueError
        The row counts differ, or n_neighbors is not an int >= 1 below
        n_samples / 2.

    See Also
    --------
    map_quality : Trustworthiness with continuity, kNN preservation and
        accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import trustworthiness
    >>> x = np.random.RandomState(0).rand(60, 5).astype(np.float32)
    >>> round(trustworthiness(x, x[:, :2], n_neighbors=5), 4)
    0.7275
    >>> trustworthiness(x, x)
    1.0
    """
    k = _count(n_neighbors, "n_neighbors")
    a, pa, n, d, lda = _arrays.as_matrix(X, "X")
    b, pb, nb, md, ldb = _arrays.as_matrix(X_embedded, "X_embedded")
    if n != nb:
        raise _bad("X has %d rows but X_embedded %d: pass the map of these rows" % (n, nb))
    if k >= n / 2:
        raise _bad("n_neighbors (%d) should be less than n_samples / 2 (%s)" % (k, n / 2))
    h = _handle(metric, None, [(_MAP_NEIGHBORS, k)])
    out = np.empty(1)
    h.call("map", pa, n, d, lda, pb, md, ldb, None, out.ctypes.data, 1)
    return float(out[0])


def _issue_evidence(labels, probabilities, features, n_neighbors, logits,
                    n_classes, metric, n_jobs):
    if probabilities is None and features is None:
        raise _bad("pass probabilities, features or both")
    lab = np.asarray(labels)
    if lab.ndim != 1:
        raise _bad("labels must be 1-D, got shape %s" % (lab.shape,))
    if lab.size and not np.issubdtype(lab.dtype, np.integer):
        if not np.all(np.mod(lab, 1) == 0):
            raise _bad("labels must be class indices (whole numbers)")
    la, pl, n = _arrays.as_vector(lab, np.int32, "labels")
    ps = pf = None
    lds = d = ldf = 0
    if probabilities is not None:
        s, ps, ns, c, lds = _arrays.as_matrix(probabilities, "probabilities")
        if ns != n:
            raise _bad("probabilities has %d rows for %d labels" % (ns, n))
        if n_classes is not None and c != n_classes:
            raise _bad("probabilities has %d columns but n_classes is %d" % (c, n_classes))
        n_classes = c
    if features is not None:
        f, pf, nf, d, ldf = _arrays.as_matrix(features, "features")
        if nf != n:
            raise _bad("features has %d rows for %d labels" % (nf, n))
    if n_classes is None:
        n_classes = int(la.max(initial=-1)) + 1 if n else 0
        n_classes = max(n_classes, 2)
    h = _handle(metric, n_jobs, [(_ISSUE_NEIGHBORS, _count(n_neighbors, "n_neighbors")),
                                  (_SCORES, 1 if logits else 0)])
    ev, pe = _arrays.empty((n, _N_FIELDS))
    sug, psug = _arrays.empty(n, np.int32)
    h.call("label_issues", pl, n, n_classes, ps, lds, pf, d, ldf, pe, _N_FIELDS, psug)
    return ev, sug


def label_issue_scores(labels, probabilities=None, features=None, n_neighbors=10,
                       *, logits=False, n_classes=None, metric="euclidean", n_jobs=None):
    """Return each row's label-issue score: higher means more likely mislabelled.

    The score is 1 - P(given label), where P is the model's probabilities,
    or the k feature neighbours' distance-weighted label votes; with both,
    1 - sqrt(p(given) * (count_given + 1) / (k + n_classes)), the geometric
    mean of the model's and the neighbours' (add-one smoothed) probability
    of the given label (docs/quality.md).

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        The given labels: class numbers in [0, n_classes).
    probabilities : array-like of shape (n_samples, n_classes), optional
        The model's predicted probabilities (rows summing to 1), or logits
        with logits=True; ideally out-of-sample (cross-validated).
    features : array-like of shape (n_samples, n_features), optional
        Features whose neighbours vote on each row's label (e.g. a layer's
        activations). Give probabilities, features or both.
    n_neighbors : int, default 10
        Neighbours that vote, with features.
    logits : bool, default False
        Whether probabilities holds logits (a softmax is applied first).
    n_classes : int, optional
        The number of classes: probabilities' columns, else the largest
        label + 1 (at least 2).
    metric : str, default "euclidean"
        A metric name NearestNeighbors accepts (euclidean, sqeuclidean,
        cosine, manhattan, chebyshev, minkowski...); "precomputed" is not
        supported.
    n_jobs : int or None, default None
        Threads (None or -1: every core).

    Returns
    -------
    scores : ndarray of shape (n_samples,), float32
        In [0, 1].

    Raises
    ------
    EmbedvizValueError
        Neither probabilities nor features, sizes that do not fit, labels
        that are not class numbers in [0, n_classes).

    See Also
    --------
    label_issue_report : The evidence behind the scores.
    find_label_issues : The rows to relabel, most likely first.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import label_issue_scores
    >>> labels = np.array([0, 0, 1, 1])
    >>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    >>> print(label_issue_scores(labels, probs))
    [0.1 0.8 0.3 0.6]

    With features only, each row's neighbours vote; row 4 sits among
    class 0 but is labelled 1:

    >>> feats = np.array([[0, 0], [0.1, 0], [5, 5], [5.1, 5], [0.05, 0.1], [5, 5.1]])
    >>> print(label_issue_scores([0, 0, 1, 1, 1, 1], features=feats, n_neighbors=2).round(2))
    [0.47 0.47 0.   0.   1.   0.  ]
    """
    ev, _ = _issue_evidence(labels, probabilities, features, n_neighbors, logits,
                            n_classes, metric, n_jobs)
    return ev[:, 0].copy()


def label_issue_report(labels, probabilities=None, features=None, n_neighbors=10,
                       *, logits=False, n_classes=None, metric="euclidean", n_jobs=None):
    """Return the evidence behind label_issue_scores, as per-row arrays.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        The given labels: class numbers in [0, n_classes).
    probabilities : array-like of shape (n_samples, n_classes), optional
        The model's predicted probabilities (rows summing to 1), or logits
        with logits=True; ideally out-of-sample (cross-validated).
    features : array-like of shape (n_samples, n_features), optional
        Features whose neighbours vote on each row's label (e.g. a layer's
        activations). Give probabilities, features or both.
    n_neighbors : int, default 10
        Neighbours that vote, with features.
    logits : bool, default False
        Whether probabilities holds logits (a softmax is applied first).
    n_classes : int, optional
        The number of classes: probabilities' columns, else the largest
        label + 1 (at least 2).
    metric : str, default "euclidean"
        A metric name NearestNeighbors accepts (euclidean, sqeuclidean,
        cosine, manhattan, chebyshev, minkowski...); "precomputed" is not
        supported.
    n_jobs : int or None, default None
        Threads (None or -1: every core).

    Returns
    -------
    dict of str to ndarray of shape (n_samples,)
        "score" (label_issue_scores), "self_confidence" (the model's
        probability of the given label), "margin" (that probability minus
        the largest other class's), "neighbor_disagreement" (the
        neighbours' weighted share of other labels), all float32 with NaN
        where their source was not given; "flagged" (bool: confident
        learning's filter marks the row) and "suggested_label" (int32: the
        likeliest class of P).

    Raises
    ------
    EmbedvizValueError
        As label_issue_scores.

    See Also
    --------
    label_issue_scores : The scores alone.
    find_label_issues : The flagged rows, ranked.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import label_issue_report
    >>> labels = np.array([0, 0, 1, 1])
    >>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    >>> r = label_issue_report(labels, probs)
    >>> print(r["self_confidence"], r["neighbor_disagreement"])
    [0.9 0.2 0.7 0.4] [nan nan nan nan]
    >>> r["flagged"].tolist(), r["suggested_label"].tolist()
    ([False, True, False, True], [0, 1, 1, 0])
    """
    ev, sug = _issue_evidence(labels, probabilities, features, n_neighbors, logits,
                              n_classes, metric, n_jobs)
    out = {name: ev[:, j].copy() for j, name in enumerate(_FIELDS)}
    out["flagged"] = out["flagged"].astype(bool)
    out["suggested_label"] = sug
    return out


def find_label_issues(labels, probabilities=None, features=None, n_neighbors=10,
                      *, logits=False, n_classes=None, metric="euclidean",
                      n_jobs=None, filter_by="confident_learning"):
    """Return the indices of likely label errors, most likely first.

    As cleanlab's find_label_issues(..., return_indices_ranked_by=
    "self_confidence") gives them: the rows confident learning's default
    filter (prune by noise rate) flags on P, ranked by label_issue_scores.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        The given labels: class numbers in [0, n_classes).
    probabilities : array-like of shape (n_samples, n_classes), optional
        The model's predicted probabilities (rows summing to 1), or logits
        with logits=True; ideally out-of-sample (cross-validated).
    features : array-like of shape (n_samples, n_features), optional
        Features whose neighbours vote on each row's label (e.g. a layer's
        activations). Give probabilities, features or both.
    n_neighbors : int, default 10
        Neighbours that vote, with features.
    logits : bool, default False
        Whether probabilities holds logits (a softmax is applied first).
    n_classes : int, optional
        The number of classes: probabilities' columns, else the largest
        label + 1 (at least 2).
    metric : str, default "euclidean"
        A metric name NearestNeighbors accepts (euclidean, sqeuclidean,
        cosine, manhattan, chebyshev, minkowski...); "precomputed" is not
        supported.
    n_jobs : int or None, default None
        Threads (None or -1: every core).
    filter_by : {"confident_learning", None}, default "confident_learning"
        None ranks every row instead of the flagged ones.

    Returns
    -------
    indices : ndarray of int64
        Row indices, highest label_issue_scores first.

    Raises
    ------
    EmbedvizValueError
        As label_issue_scores, or an unknown filter_by.

    See Also
    --------
    label_issue_scores : The scores the rows are ranked by.
    label_issue_report : Why each row was flagged.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import find_label_issues
    >>> labels = np.array([0, 0, 1, 1])
    >>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    >>> find_label_issues(labels, probs).tolist()
    [1, 3]
    >>> find_label_issues(labels, probs, filter_by=None).tolist()
    [1, 3, 2, 0]
    """
    if filter_by not in ("confident_learning", None):
        raise _bad("filter_by must be 'confident_learning' or None, got %r" % (filter_by,))
    ev, _ = _issue_evidence(labels, probabilities, features, n_neighbors, logits,
                            n_classes, metric, n_jobs)
    n = len(ev)
    idx, pi = _arrays.empty(n, np.int64)
    count = ctypes.c_size_t()
    _lib.check(_lib.lib().ev_quality_rank_issues(ev.ctypes.data, n, _N_FIELDS,
                                                 1 if filter_by else 0, pi,
                                                 ctypes.byref(count)))
    return idx[:count.value].copy()
