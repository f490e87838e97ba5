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
    """Trustworthiness, continuity (Venna & Kaski), kNN preservation and kNN
    label accuracy of a map, as a dict of floats (knn_accuracy is NaN
    without labels). X: input rows (n x d), X_embedded: the map (n x m)."""
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
    """scikit-learn's sklearn.manifold.trustworthiness (same signature and
    value) computed by libembedviz from the map neighbours' ranks only:
    1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in map kNN of i} max(0, r(i, j) - k).
    Inputs are read as float32; metric is a name NearestNeighbors accepts
    ('precomputed' is not supported)."""
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
    """Per-row label-issue score, shape (n,), higher = more likely
    mislabelled: 1 - P(given label), where P is the model's probabilities,
    the k feature neighbours' distance-weighted label votes; with both,
    1 - sqrt(p(given) * (count_given + 1) / (k + n_classes)), the geometric
    mean of the model's and the neighbours' (add-one smoothed) probability of
    the given label (docs/quality.md). labels are class indices in
    [0, n_classes); probabilities rows must sum to 1 (or pass logits=True)."""
    ev, _ = _issue_evidence(labels, probabilities, features, n_neighbors, logits,
                            n_classes, metric, n_jobs)
    return ev[:, 0].copy()


def label_issue_report(labels, probabilities=None, features=None, n_neighbors=10,
                       *, logits=False, n_classes=None, metric="euclidean", n_jobs=None):
    """The evidence behind label_issue_scores: a dict of per-row arrays
    (score, self_confidence, margin, neighbor_disagreement, flagged,
    suggested_label) with NaN where a source was not given."""
    ev, sug = _issue_evidence(labels, probabilities, features, n_neighbors, logits,
                              n_classes, metric, n_jobs)
    out = {name: ev[:, j].copy() for j, name in enumerate(_FIELDS)}
    out["flagged"] = out["flagged"].astype(bool)
    out["suggested_label"] = sug
    return out


def find_label_issues(labels, probabilities=None, features=None, n_neighbors=10,
                      *, logits=False, n_classes=None, metric="euclidean",
                      n_jobs=None, filter_by="confident_learning"):
    """Indices of likely label errors, most likely first, as cleanlab's
    find_label_issues(..., return_indices_ranked_by="self_confidence") gives
    them: the rows confident learning's default filter (prune by noise rate)
    flags on P, ranked by label_issue_scores. filter_by=None ranks every row."""
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
