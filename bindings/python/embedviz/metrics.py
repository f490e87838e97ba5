"""How sure a network is of its predictions, and where it goes wrong:
ambiguity scores and confusion matrices (libembedviz's score.h)."""
import collections

import numpy as np

from . import _arrays, _errors, _lib

_PROBABILITIES, _LOGITS = 0, 1

#: Per-row figures of a batch of predictions (see scores()).
Scores = collections.namedtuple("Scores", "ambiguity margin entropy top1 top2")


def _bad(message):
    return _errors.EmbedvizValueError(message, status=_errors.ERR_ARGUMENT,
                                      status_name="EV_ERR_ARGUMENT")


def scores(probs, *, logits=False):
    """Return each prediction's ambiguity, margin, entropy and top two classes.

    Per row of probs (n x n_classes): ambiguity (second-largest
    probability / largest: 0 = certain, 1 = a tie), margin (largest minus
    second-largest), entropy (natural log), top1 and top2 (the two likeliest
    classes; ties go to the lower index). Rows are normalised by their sum;
    with logits=True they are logits and go through a softmax first.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
        Probabilities, or logits with logits=True.
    logits : bool, default False
        Whether the rows are logits (a softmax is applied first).

    Returns
    -------
    scores : Scores (a named tuple) of ndarrays of shape (n_samples,)
        ambiguity, margin, entropy (float32), top1, top2 (int32).

    Raises
    ------
    EmbedvizValueError
        probs is not a non-empty 2-D array.
    NonFiniteError
        probs holds NaN or Inf.

    See Also
    --------
    ambiguity : The ambiguity alone.
    most_ambiguous : The rows to look at first.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import scores
    >>> s = scores(np.array([[0.5, 0.5], [0.1, 0.9]], np.float32))
    >>> print(s.ambiguity, s.margin)
    [1.         0.11111112] [0.  0.8]
    >>> s.top1.tolist(), s.top2.tolist()
    ([0, 1], [1, 0])
    """
    a, ptr, n, c, ld = _arrays.as_matrix(probs, "probs")
    amb, pa = _arrays.empty(n)
    margin, pm = _arrays.empty(n)
    entropy, pe = _arrays.empty(n)
    top1, p1 = _arrays.empty(n, np.int32)
    top2, p2 = _arrays.empty(n, np.int32)
    _lib.check(_lib.lib().ev_ambiguity(ptr, n, c, ld, _LOGITS if logits else _PROBABILITIES,
                                       pa, pm, pe, p1, p2))
    return Scores(amb, margin, entropy, top1, top2)


def ambiguity(probs, *, logits=False):
    """Return the ambiguity of each prediction: second-largest probability / largest.

    MATLAB's measure: 0 = certain, 1 = a tie between the top two classes.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes)
        Probabilities, or logits with logits=True.
    logits : bool, default False
        Whether the rows are logits (a softmax is applied first).

    Returns
    -------
    ambiguity : ndarray of shape (n_samples,), float32

    See Also
    --------
    scores : Ambiguity with margin, entropy and the top two classes.
    most_ambiguous : The indices of the most ambiguous rows.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import ambiguity
    >>> ambiguity(np.array([[0.8, 0.2], [0.5, 0.5]], np.float32)).tolist()
    [0.25, 1.0]
    """
    a, ptr, n, c, ld = _arrays.as_matrix(probs, "probs")
    amb, pa = _arrays.empty(n)
    _lib.check(_lib.lib().ev_ambiguity(ptr, n, c, ld, _LOGITS if logits else _PROBABILITIES,
                                       pa, None, None, None, None))
    return amb


def most_ambiguous(probs, k, *, logits=False):
    """Return the indices of the k most ambiguous rows, most ambiguous first.

    Equal values keep their row order.

    Parameters
    ----------
    probs : array-like of shape (n_samples, n_classes) or (n_samples,)
        Probabilities (or logits with logits=True), or ambiguity values
        already computed by `ambiguity`.
    k : int
        How many rows, at most n_samples.
    logits : bool, default False
        Whether the rows are logits (a softmax is applied first).

    Returns
    -------
    indices : ndarray of shape (k,), int64

    See Also
    --------
    ambiguity : The values it ranks.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import most_ambiguous
    >>> most_ambiguous(np.array([[0.9, 0.1], [0.5, 0.5]], np.float32), 1).tolist()
    [1]
    """
    values = np.asarray(probs)
    if values.ndim == 2:
        values = ambiguity(values, logits=logits)
    a, ptr, n = _arrays.as_vector(values, np.float32, "ambiguity")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise _bad("k must be an int >= 1, got %r" % (k,))
    idx, pi = _arrays.empty(int(k), np.int64)
    _lib.check(_lib.lib().ev_most_ambiguous(ptr, n, int(k), pi))
    return idx


def softmax(logits):
    """Return the row-wise softmax of logits, computed stably, in float32.

    Parameters
    ----------
    logits : array-like of shape (n_samples, n_classes)
        Any finite values; each row's largest is subtracted first.

    Returns
    -------
    probs : ndarray of shape (n_samples, n_classes), float32
        Each row sums to 1.

    See Also
    --------
    scores : Takes logits directly with logits=True.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import softmax
    >>> softmax(np.zeros((1, 2))).tolist()
    [[0.5, 0.5]]
    """
    a, ptr, n, c, ld = _arrays.as_matrix(logits, "logits")
    out, po = _arrays.empty((n, c))
    _lib.check(_lib.lib().ev_softmax(ptr, n, c, ld, po, c))
    return out


def _check_labels(name, y):
    """Float labels must be whole numbers: a NaN matches no label and would
    silently drop its sample; 1.5 is a bug upstream, not a class."""
    if y.dtype.kind == "f" or y.dtype.kind == "c":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _bad("%s[%d] is %r, not a class label: labels must be integers (or "
                       "strings); %d such value(s) in %s" % (name, i, y[i].item(), int(bad.sum()), name))
    elif y.dtype.kind == "O":
        for i, v in enumerate(y):
            if isinstance(v, float) and not (np.isfinite(v) and v == round(v)):
                raise _bad("%s[%d] is %r, not a class label: labels must be integers (or strings)"
                           % (name, i, v))


def _encode(y_true, y_pred, labels):
    """Labels -> class indices in [0, n_classes), the way scikit-learn's
    confusion_matrix orders them: `labels` as given, else the sorted union
    of both. Pairs with a label outside `labels` are dropped, as
    scikit-learn does."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim != 1 or p.ndim != 1:
        raise _bad("y_true and y_pred must be 1-D, got shapes %s and %s" % (t.shape, p.shape))
    for name, y in (("y_true", t), ("y_pred", p)):
        _check_labels(name, y)
    if t.shape != p.shape:
        raise _bad("y_true and y_pred have different lengths (%d and %d)" % (len(t), len(p)))
    if labels is None:
        labels = np.unique(np.concatenate([t, p])) if t.size else np.array([], dtype=t.dtype)
    else:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.size == 0:
            raise _bad("labels must be a non-empty 1-D list of labels")
        if np.unique(labels).size != labels.size:
            raise _bad("labels holds duplicates")
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]

    def index(y):
        pos = np.searchsorted(sorted_labels, y)
        pos = np.clip(pos, 0, max(len(sorted_labels) - 1, 0))
        known = sorted_labels[pos] == y if len(sorted_labels) else np.zeros(len(y), bool)
        return order[pos].astype(np.int32), known

    ti, tk = index(t)
    pi, pk = index(p)
    keep = tk & pk
    return ti[keep], pi[keep], labels


def confusion_matrix(y_true, y_pred, *, labels=None, sample_weight=None,
                     normalize=None):
    """Return the confusion matrix, as scikit-learn's confusion_matrix does.

    C[i, j] counts the samples of true class labels[i] predicted as
    labels[j], computed by libembedviz.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels: integers or strings (float labels must be whole
        numbers).
    y_pred : array-like of shape (n_samples,)
        Predicted labels, of the same kind.
    labels : array-like of shape (n_classes,), optional
        The labels in the matrix's order; pairs with a label outside it are
        left out. None: the sorted union of y_true and y_pred.
    sample_weight : None
        Accepted for scikit-learn's signature; only None is supported.
    normalize : {None, "true", "pred", "all"}, default None
        None gives counts; "true" makes rows sum to 1, "pred" columns,
        "all" the whole matrix (0 where a row or column is empty).

    Returns
    -------
    C : ndarray of shape (n_classes, n_classes)
        int64 counts, or float64 when normalised.

    Raises
    ------
    EmbedvizValueError
        Lengths differ, a label is NaN or fractional, labels holds
        duplicates, both are empty, sample_weight is given or normalize is
        unknown.

    See Also
    --------
    per_class_accuracy : The diagonal over the row sums, for integer labels.

    Examples
    --------
    >>> from embedviz import confusion_matrix
    >>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2]).tolist()
    [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    >>> confusion_matrix(["cat", "dog", "dog"], ["cat", "cat", "dog"], normalize="true").tolist()
    [[1.0, 0.0], [0.5, 0.5]]
    """
    if sample_weight is not None:
        raise _bad("sample_weight is not supported: pass None")
    if normalize not in (None, "true", "pred", "all"):
        raise _bad("normalize must be None, 'true', 'pred' or 'all', got %r" % (normalize,))
    ti, pi, labels = _encode(y_true, y_pred, labels)
    nc = len(labels)
    counts, pc = _arrays.empty((nc, nc), np.int64)
    if nc == 0:
        raise _bad("y_true and y_pred are empty: pass at least one label")
    if len(ti) == 0:
        counts[:] = 0
    else:
        _lib.check(_lib.lib().ev_confusion_matrix(ti.ctypes.data, pi.ctypes.data,
                                                  len(ti), nc, pc, None))
    if normalize is None:
        return counts
    c = counts.astype(np.float64)
    with np.errstate(all="ignore"):
        if normalize == "true":
            c = c / c.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            c = c / c.sum(axis=0, keepdims=True)
        else:
            c = c / c.sum()
    return np.nan_to_num(c)


def per_class_accuracy(y_true, y_pred, n_classes=None):
    """Return the share of each class's samples predicted correctly.

    For integer labels in [0, n_classes).

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n_samples,)
        True and predicted class numbers.
    n_classes : int or None, default None
        None: the largest label + 1.

    Returns
    -------
    accuracy : ndarray of shape (n_classes,), float32
        NaN for a class with no sample.

    See Also
    --------
    confusion_matrix : Every pair of true and predicted class.

    Examples
    --------
    >>> from embedviz import per_class_accuracy
    >>> per_class_accuracy([0, 0, 1], [0, 1, 1]).tolist()
    [0.5, 1.0]
    """
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if n_classes is None:
        n_classes = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    ta, tp, n = _arrays.as_vector(t, np.int32, "y_true")
    pa, pp, m = _arrays.as_vector(p, np.int32, "y_pred")
    if n != m:
        raise _bad("y_true and y_pred have different lengths (%d and %d)" % (n, m))
    counts, pc = _arrays.empty((max(n_classes, 0), max(n_classes, 0)), np.int64)
    acc, pa_out = _arrays.empty(max(n_classes, 0))
    _lib.check(_lib.lib().ev_confusion_matrix(tp, pp, n, n_classes, pc, pa_out))
    return acc
