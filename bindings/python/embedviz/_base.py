"""What every estimator shares: scikit-learn's get_params/set_params/repr,
and ownership of one library handle (made on first use, freed with the
object)."""
import ctypes
import inspect
import numbers
import threading
import weakref

import numpy as np

from . import _errors, _lib

try:  # scikit-learn is optional: its base classes when present, else object.
    from sklearn.base import BaseEstimator as _SkBase
    from sklearn.base import TransformerMixin
except ImportError:  # exercised by test_estimator_checks.py without scikit-learn
    _SkBase = object

    class TransformerMixin:
        """Stands in for sklearn.base.TransformerMixin without scikit-learn."""

#: The layout of the state a pickle carries (Estimator.__getstate__). A
#: pickle with a higher number comes from a newer embedviz and is refused.
STATE_VERSION = 1
_STATE_KEY = "_embedviz_state_version"
# Attributes that are rebuilt rather than pickled: native handles, locks.
_TRANSIENT = ("_handle", "_lock")


class Estimator(_SkBase):
    """scikit-learn's parameter protocol without depending on it: the
    constructor's keyword arguments are the parameters, stored unchanged and
    validated when fit runs (as scikit-learn does). When scikit-learn is
    importable this is also a ``sklearn.base.BaseEstimator``.

    Pickling and ``copy.deepcopy`` save the parameters and the fitted
    attributes (plain numpy arrays and numbers) with a state version
    number; the native handle is rebuilt from them on load (see
    ``_restore``)."""

    # The native handle, made by the first fit (a class attribute, so that
    # __init__ sets only parameters, as scikit-learn requires).
    _handle = None
    _lock = None

    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in _TRANSIENT}
        state[_STATE_KEY] = STATE_VERSION
        return state

    def __setstate__(self, state):
        state = dict(state)
        version = state.pop(_STATE_KEY, None)
        if not isinstance(version, int):
            raise _errors.EmbedvizValueError(
                "this %s pickle has no embedviz state version: it was not written by "
                "embedviz's %s; fit the estimator again" % (type(self).__name__,
                                                           type(self).__name__),
                status=_errors.ERR_ARGUMENT, status_name="EV_ERR_ARGUMENT")
        if version > STATE_VERSION:
            from . import __version__
            raise _errors.EmbedvizValueError(
                "this %s was pickled by a newer embedviz (state version %d; embedviz %s "
                "reads up to %d): upgrade embedviz to load it, or fit it again"
                % (type(self).__name__, version, __version__, STATE_VERSION),
                status=_errors.ERR_ARGUMENT, status_name="EV_ERR_ARGUMENT")
        state.pop("_sklearn_version", None)
        self.__dict__.update(state)
        for name in _TRANSIENT:
            self.__dict__.setdefault(name, None)
        self._restore()

    def _restore(self):
        """Rebuild what is not pickled (after __setstate__)."""

    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind != p.VAR_KEYWORD]

    def get_params(self, deep=True):
        """Return the estimator's parameters: its constructor's keywords and their values.

        scikit-learn's protocol (``clone``, grid searches and pipelines use
        it).

        Parameters
        ----------
        deep : bool, default True
            Accepted for scikit-learn's signature; the parameters hold no
            estimators, so it changes nothing.

        Returns
        -------
        params : dict of str to object
            Parameter name -> value, as given (validated when fit runs).

        See Also
        --------
        set_params : Change parameters.

        Examples
        --------
        >>> from embedviz import PCA
        >>> params = PCA(n_components=3, whiten=True).get_params()
        >>> params["n_components"], params["whiten"], params["svd_solver"]
        (3, True, 'auto')
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set parameters by name and return the estimator.

        The values are stored as given and validated by the next fit, as
        scikit-learn does; a fitted model keeps its fit until then.

        Parameters
        ----------
        **params
            Parameter name -> new value; each name must be a parameter of
            the constructor.

        Returns
        -------
        self : estimator
            The same object, for chaining.

        Raises
        ------
        EmbedvizValueError
            A name that is not a parameter (the message lists the valid
            ones).

        See Also
        --------
        get_params : The parameters and their values.

        Examples
        --------
        >>> from embedviz import NearestNeighbors
        >>> NearestNeighbors().set_params(n_neighbors=3, metric="cosine")
        NearestNeighbors(n_neighbors=3, metric='cosine')
        >>> NearestNeighbors().set_params(k=3)
        Traceback (most recent call last):
            ...
        embedviz.EmbedvizValueError: invalid parameter 'k' for NearestNeighbors: valid parameters are n_neighbors, ...
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise _errors.EmbedvizValueError(
                    "invalid parameter %r for %s: valid parameters are %s"
                    % (name, type(self).__name__, ", ".join(valid)),
                    status=_errors.ERR_ARGUMENT, status_name="EV_ERR_ARGUMENT")
            setattr(self, name, value)
        return self

    def __repr__(self):
        sig = inspect.signature(type(self).__init__)
        changed = []
        for name in self._param_names():
            default = sig.parameters[name].default
            value = getattr(self, name)
            if default is inspect.Parameter.empty or value is not default and value != default:
                changed.append("%s=%r" % (name, value))
        return "%s(%s)" % (type(self).__name__, ", ".join(changed))


class Handle:
    """One library handle (ev_pca *, ev_knn *, ...), freed when the owner is
    collected. `kind` is the call prefix, e.g. "pca"."""

    def __init__(self, kind, names=None):
        L = _lib.lib()
        self.kind = kind
        self.names = names or {}     # setting code -> Python parameter name
        self.lib = L
        ptr = ctypes.c_void_p()
        _lib.check(getattr(L, "ev_%s_create" % kind)(ctypes.byref(ptr)))
        self.ptr = ptr.value
        self.lock = threading.RLock()
        self._finalizer = weakref.finalize(self, getattr(L, "ev_%s_free" % kind), self.ptr)

    def call(self, name, *args):
        """ev_<kind>_<name>(handle, *args), raising on failure."""
        _lib.check(getattr(self.lib, "ev_%s_%s" % (self.kind, name))(self.ptr, *args))

    def set(self, param, value):
        if not isinstance(value, (numbers.Real, bool, np.bool_)):
            name = self.names.get(param, "setting %d of %s" % (param, self.kind))
            raise _errors.ParameterTypeError(
                "%s must be a number, got %r (%s)" % (name, value, type(value).__name__),
                status=_errors.ERR_ARGUMENT, status_name="EV_ERR_ARGUMENT")
        _lib.check(getattr(self.lib, "ev_%s_set" % self.kind)(self.ptr, param, float(value)))

    def get(self, param):
        out = ctypes.c_double()
        self.call("get", param, ctypes.byref(out))
        return out.value

    def default(self, param):
        """The library's default of a setting (ev_<kind>_param_default)."""
        return param_default(self.kind, param)

    def bounds(self, param):
        lo, hi = ctypes.c_double(), ctypes.c_double()
        _lib.check(getattr(self.lib, "ev_%s_param_bounds" % self.kind)(
            param, ctypes.byref(lo), ctypes.byref(hi)))
        return lo.value, hi.value

    @property
    def set_progress(self):
        return getattr(self.lib, "ev_%s_set_progress" % self.kind)

    def free(self):
        self._finalizer()


def param_default(kind, param):
    """The library's default of setting `param` of a `kind` handle ("tsne",
    "pca", "knn", "dataset", "extractor"): the one place defaults live
    (ev_<kind>_param_default, libembedviz 1.1)."""
    out = ctypes.c_double()
    _lib.check(getattr(_lib.lib(), "ev_%s_param_default" % kind)(param, ctypes.byref(out)))
    return out.value
