"""numpy arrays in and out of the library.

Input matrices go to C as (pointer, rows, cols, leading dimension). An array
that is already float32 with contiguous, aligned rows is passed as it is -
no copy - even when it is a view that skips rows or columns of a larger
array (rows may be any multiple of 4 bytes apart, as a leading dimension
allows). Anything else (float64, integers, Fortran order, negative or odd
strides) is converted once with numpy.ascontiguousarray(x, dtype=float32):
float64 values are rounded to the nearest float32.
"""
import numbers

import numpy as np

from . import _errors

_F32 = np.dtype(np.float32)


def _bad(message):
    return _errors.EmbedvizValueError(message, status=_errors.ERR_ARGUMENT,
                                      status_name="EV_ERR_ARGUMENT")


def _is_view_ok(a):
    """True when a 2-D float32 array can be handed to C without a copy."""
    if a.dtype != _F32 or not a.flags.aligned:
        return False
    if a.shape[0] == 0 or a.shape[1] == 0:
        return a.flags.c_contiguous
    if a.shape[1] > 1 and a.strides[1] != 4:
        return False
    if a.shape[0] > 1:
        s0 = a.strides[0]
        return s0 > 0 and s0 % 4 == 0 and s0 // 4 >= a.shape[1]
    return a.shape[1] == 1 or a.strides[1] == 4


def as_matrix(x, name="X"):
    """(array kept alive, pointer, rows, cols, ld) of a 2-D float32 view of x.

    Raises ValueError (EmbedvizValueError) when x is not 2-D or cannot be
    read as real numbers."""
    if hasattr(x, "tocsr") and hasattr(x, "nnz"):      # scipy.sparse, duck-typed
        raise _bad("%s is a sparse matrix, and sparse input is not supported: pass a "
                   "dense array (%s.toarray())" % (name, name))
    a = np.asarray(x)
    if a.dtype.kind == "c":
        raise _bad("Complex data not supported: %s holds complex numbers; pass real "
                   "values" % name)
    if a.dtype.kind not in "fiub":
        try:
            a = a.astype(_F32)
        except (TypeError, ValueError) as e:
            raise _errors.ParameterTypeError(
                "%s cannot be read as numbers (%s): pass a numeric array" % (name, e),
                status=_errors.ERR_ARGUMENT, status_name="EV_ERR_ARGUMENT") from None
    if a.ndim != 2:
        raise _bad("%s must be a 2-D array (samples x features), got %d "
                   "dimension(s) of shape %s: reshape it, e.g. "
                   "x.reshape(len(x), -1) (Reshape your data either using "
                   "x.reshape(-1, 1) if it has a single feature or "
                   "x.reshape(1, -1) if it is a single sample)" % (name, a.ndim, a.shape))
    if not _is_view_ok(a):
        a = np.ascontiguousarray(a, dtype=_F32)
    rows, cols = a.shape
    if rows > 1:
        ld = a.strides[0] // 4
    else:
        ld = cols
    return a, a.ctypes.data, rows, cols, max(ld, cols)


def as_vector(x, dtype, name):
    """(array kept alive, pointer, length) of a contiguous 1-D copy-or-view
    of x in dtype."""
    a = np.asarray(x)
    if a.ndim != 1:
        raise _bad("%s must be 1-D, got shape %s" % (name, a.shape))
    a = np.ascontiguousarray(a, dtype=dtype)
    return a, a.ctypes.data, a.shape[0]


def empty(shape, dtype=np.float32):
    """A new C-contiguous output array and its pointer."""
    a = np.empty(shape, dtype=dtype)
    return a, a.ctypes.data


def n_jobs_to_threads(n_jobs):
    """scikit-learn's n_jobs to the library's thread setting: None and -1
    mean every core (0 in the library: ev_default_threads()), a positive
    number that many threads, -2 all but one, and so on."""
    if n_jobs is None:
        return 0
    if not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise _bad("n_jobs must be None, a positive int or a negative int "
                   "(-1 = every core), got %r" % (n_jobs,))
    n_jobs = int(n_jobs)
    if n_jobs > 0:
        return n_jobs
    if n_jobs == -1:
        return 0
    from . import _lib
    cores = int(_lib.lib().ev_default_threads())
    return max(1, cores + 1 + n_jobs)


def seed_from(random_state):
    """An integer seed from scikit-learn's random_state (None -> 0, so that
    results are reproducible by default)."""
    if random_state is None:
        return 0
    if isinstance(random_state, numbers.Integral):
        if random_state < 0:
            raise _bad("random_state must be >= 0, got %d" % random_state)
        return int(random_state) % (2 ** 53)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2 ** 31 - 1))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2 ** 53))
    raise _bad("random_state must be None, an int, a numpy RandomState or "
               "Generator, got %r" % (random_state,))


def like_input(out, x):
    """out (float32) as float64 when x is a float64 array, as scikit-learn
    returns the caller's floating dtype; the library computed it in float32."""
    dtype = getattr(x, "dtype", None)
    if dtype is None and hasattr(x, "dtypes"):          # a DataFrame
        kinds = {np.dtype(t) for t in x.dtypes}
        dtype = np.dtype(np.float64) if kinds == {np.dtype(np.float64)} else None
    if dtype is not None and np.dtype(dtype) == np.float64:
        return out.astype(np.float64)
    return out


def check_columns(got, want, name, what, owner):
    if got != want:
        raise _bad("%s has %d columns but this %s was fitted with %d %s: pass rows "
                   "with %d columns" % (name, got, owner, want, what, want))


def check_finite(a, name):
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(a))[0]
        raise _errors.NonFiniteError(
            "%s[%d, %d] is %r: remove or replace NaN and infinite values"
            % (name, bad[0], bad[1], float(a[bad[0], bad[1]])),
            status=_errors.ERR_NONFINITE, status_name="EV_ERR_NONFINITE")


def feature_names(x):
    """The column names of a DataFrame (duck-typed: pandas is optional) when
    they are all strings, else None."""
    cols = getattr(x, "columns", None)
    if cols is None or not hasattr(x, "dtypes"):
        return None
    names = list(cols)
    if names and all(isinstance(c, str) for c in names):
        return np.asarray(names, dtype=object)
    return None


def set_feature_names(est, names):
    if names is None:
        est.__dict__.pop("feature_names_in_", None)
    else:
        est.feature_names_in_ = names


def check_feature_names(est, x):
    """scikit-learn's rule: a DataFrame whose names differ from the fitted
    ones is an error."""
    fitted = getattr(est, "feature_names_in_", None)
    names = feature_names(x)
    if fitted is None or names is None:
        return
    if len(names) != len(fitted) or (names != fitted).any():
        raise _bad("the feature names differ from those seen in fit (%s...): pass the "
                   "columns in the order of feature_names_in_"
                   % ", ".join(list(fitted)[:5]))


def check_input_features(est, input_features):
    if input_features is None:
        return
    names = np.asarray(input_features, dtype=object)
    fitted = getattr(est, "feature_names_in_", None)
    if fitted is not None:
        if len(names) != len(fitted) or (names != fitted).any():
            raise _bad("input_features is not equal to feature_names_in_")
    elif len(names) != est.n_features_in_:
        raise _bad("input_features should have length equal to number of features "
                   "(%d), got %d" % (est.n_features_in_, len(names)))


def check_fit_input(a, name, owner, min_samples=1):
    """What scikit-learn's check_array checks before a fit, with its
    wording (its estimator checks look for it): samples, features, NaN and
    infinity."""
    n, d = a.shape
    if n == 0:
        raise _bad("Found array with 0 sample(s) (shape=%s) while a minimum of %d is "
                   "required by %s: pass at least %d rows" % (a.shape, min_samples, owner,
                                                               min_samples))
    if d == 0:
        raise _bad("Found array with 0 feature(s) (shape=%s) while a minimum of 1 is "
                   "required." % (a.shape,))
    if n < min_samples:
        raise _bad("n_samples=%d: %s needs at least %d samples, got %d: pass more rows"
                   % (n, owner, min_samples, n))
    check_no_inf(a, name)


def check_no_inf(a, name):
    """NaN is found and reported by the library; infinity too, but its
    "Inf" is not the "inf" scikit-learn's checks look for."""
    if np.isinf(a).any():
        i, j = np.argwhere(np.isinf(a))[0]
        raise _errors.NonFiniteError(
            "%s[%d][%d] is %s (infinite): remove or impute non-finite values before calling"
            % (name, i, j, "inf" if a[i, j] > 0 else "-inf"),
            status=_errors.ERR_NONFINITE, status_name="EV_ERR_NONFINITE")
