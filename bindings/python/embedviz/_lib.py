"""Finding, loading and checking libembedviz.so, and calling into it.

The library is looked for, in order:
  1. the path in the environment variable EMBEDVIZ_LIBRARY (a file, or a
     folder holding libembedviz.so.1); when it is set nothing else is tried;
  2. beside this package (embedviz/libembedviz.so.1, embedviz/libembedviz.so);
  3. the system's search path: the soname libembedviz.so.1 through the
     dynamic loader (LD_LIBRARY_PATH, ld.so.cache), then what
     ctypes.util.find_library("embedviz") finds.
The first that loads is kept. Its major version must equal this package's.

Extraction needs the library's libtorch backend module,
libembedviz-torch.so, which the library itself loads on first use from
beside itself (so a package that carries libembedviz.so.1 carries the
module in the same folder), from its installed embedviz/ subfolder, or
from the folder in EMBEDVIZ_BACKEND_DIR (docs/extract.md). `import
embedviz` and everything but FeatureExtractor never load libtorch.

It is loaded with ctypes.CDLL, which releases the GIL for the duration of
every call, so that Python threads run side by side with the library's work.
"""
import ctypes
import ctypes.util
import os
import threading

from . import _errors

#: The library major version this package is written for, and the least
#: minor version it needs (the calls it binds appeared in 1.0).
LIBRARY_MAJOR = 1
LIBRARY_MIN_MINOR = 0
SONAME = "libembedviz.so.%d" % LIBRARY_MAJOR
ENV_VAR = "EMBEDVIZ_LIBRARY"

_c_size_p = ctypes.POINTER(ctypes.c_size_t)
_c_double_p = ctypes.POINTER(ctypes.c_double)
_vp = ctypes.c_void_p
_sz = ctypes.c_size_t
_int = ctypes.c_int
_dbl = ctypes.c_double

#: int (*)(void *user, int stage, size_t step, size_t total, double value)
PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, _vp, ctypes.c_int, ctypes.c_size_t,
                               ctypes.c_size_t, ctypes.c_double)

# name -> (restype, argtypes). Every call returning ev_status returns c_int.
# Pointers to arrays travel as c_void_p (numpy's .ctypes.data), out-params
# as byref(). Calls missing from the loaded library raise UnsupportedError
# when first used, so that an older or partial build still serves the rest.
_SIGNATURES = {
    # core.h
    "ev_version_number": (ctypes.c_uint, []),
    "ev_version_string": (ctypes.c_char_p, []),
    "ev_status_name": (ctypes.c_char_p, [_int]),
    "ev_last_error": (ctypes.c_char_p, []),
    "ev_last_status": (_int, []),
    "ev_clear_error": (None, []),
    "ev_default_threads": (_int, []),
    # score.h
    "ev_softmax": (_int, [_vp, _sz, _sz, _sz, _vp, _sz]),
    "ev_ambiguity": (_int, [_vp, _sz, _sz, _sz, _int, _vp, _vp, _vp, _vp, _vp]),
    "ev_most_ambiguous": (_int, [_vp, _sz, _sz, _vp]),
    "ev_confusion_matrix": (_int, [_vp, _vp, _sz, _sz, _vp, _vp]),
    # knn.h
    "ev_knn_create": (_int, [_vp]),
    "ev_knn_free": (None, [_vp]),
    "ev_knn_set": (_int, [_vp, _int, _dbl]),
    "ev_knn_get": (_int, [_vp, _int, _c_double_p]),
    "ev_knn_param_bounds": (_int, [_int, _c_double_p, _c_double_p]),
    "ev_knn_param_default": (_int, [_int, _c_double_p]),  # since 1.1
    "ev_knn_set_progress": (_int, [_vp, PROGRESS_FN, _vp]),
    "ev_knn_build": (_int, [_vp, _vp, _sz, _sz, _sz]),
    "ev_knn_size": (_int, [_vp, _c_size_p, _c_size_p]),
    "ev_knn_query": (_int, [_vp, _vp, _sz, _sz, _sz, _sz, _vp, _sz, _vp, _sz]),
    "ev_knn_query_self": (_int, [_vp, _sz, _vp, _sz, _vp, _sz]),
    "ev_knn_query_radius": (_int, [_vp, _vp, _sz, _sz, _sz, _dbl, _int, _vp, _vp,
                                   _vp]),  # since 1.1
    # io.h: the arrays the radius query returns
    "ev_array_free": (None, [_vp]),
    "ev_array_dim": (_sz, [_vp, _sz]),
    "ev_array_data": (_vp, [_vp]),
    # pca.h
    "ev_pca_create": (_int, [_vp]),
    "ev_pca_free": (None, [_vp]),
    "ev_pca_set": (_int, [_vp, _int, _dbl]),
    "ev_pca_get": (_int, [_vp, _int, _c_double_p]),
    "ev_pca_param_bounds": (_int, [_int, _c_double_p, _c_double_p]),
    "ev_pca_param_default": (_int, [_int, _c_double_p]),  # since 1.1
    "ev_pca_set_progress": (_int, [_vp, PROGRESS_FN, _vp]),
    "ev_pca_fit": (_int, [_vp, _vp, _sz, _sz, _sz]),
    "ev_pca_n_components": (_int, [_vp, _c_size_p]),
    "ev_pca_n_features": (_int, [_vp, _c_size_p]),
    "ev_pca_components": (_int, [_vp, _vp, _sz]),
    "ev_pca_mean": (_int, [_vp, _vp]),
    "ev_pca_explained_variance": (_int, [_vp, _vp]),
    "ev_pca_explained_variance_ratio": (_int, [_vp, _vp]),
    "ev_pca_singular_values": (_int, [_vp, _vp]),
    "ev_pca_transform": (_int, [_vp, _vp, _sz, _sz, _sz, _vp, _sz]),
    "ev_pca_inverse_transform": (_int, [_vp, _vp, _sz, _sz, _sz, _vp, _sz]),
    "ev_pca_set_fit": (_int, [_vp, _sz, _sz, _vp, _sz, _vp, _vp, _dbl, _sz]),  # since 1.1
}


def register(signatures):
    """Add call signatures (name -> (restype, argtypes)); used by the
    modules of capabilities whose headers came later."""
    _SIGNATURES.update(signatures)


class Library:
    """A loaded libembedviz: attribute access gives the typed C function."""

    def __init__(self, cdll, path):
        self._cdll = cdll
        self.path = path
        self._funcs = {}

    def has(self, name):
        try:
            getattr(self._cdll, name)
            return True
        except AttributeError:
            return False

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._funcs[name]
        except KeyError:
            pass
        try:
            fn = getattr(self._cdll, name)
        except AttributeError:
            raise _errors.UnsupportedError(
                "the libembedviz at %s has no %s(): it is older than this "
                "package or was built without that capability; install a "
                "newer libembedviz or point %s at one" % (self.path, name, ENV_VAR),
                status=_errors.ERR_UNSUPPORTED,
                status_name="EV_ERR_UNSUPPORTED") from None
        restype, argtypes = _SIGNATURES[name]
        fn.restype = restype
        fn.argtypes = argtypes
        self._funcs[name] = fn
        return fn

    @property
    def version(self):
        return self.ev_version_string().decode()

    @property
    def version_number(self):
        return int(self.ev_version_number())


def _candidates():
    """(description, path-or-name) pairs in lookup order."""
    env = os.environ.get(ENV_VAR)
    if env:
        path = os.path.join(env, SONAME) if os.path.isdir(env) else env
        return [("%s=%s" % (ENV_VAR, env), path)], True
    here = os.path.dirname(os.path.abspath(__file__))
    found = [("beside the package", os.path.join(here, name))
             for name in (SONAME, "libembedviz.so")]
    found.append(("the system's search path", SONAME))
    name = ctypes.util.find_library("embedviz")
    if name and name != SONAME:
        found.append(("ctypes.util.find_library('embedviz')", name))
    return found, False


def _open(path):
    # RTLD_GLOBAL is not needed: the library resolves its own dependencies.
    return ctypes.CDLL(path)


def _check_version(lib):
    try:
        number = lib.version_number
    except _errors.EmbedvizError:
        raise _errors.LibraryNotFoundError(
            "%s is not libembedviz (no ev_version_number)" % lib.path) from None
    major, minor = number // 10000, number // 100 % 100
    if major != LIBRARY_MAJOR or minor < LIBRARY_MIN_MINOR:
        raise _errors.LibraryNotFoundError(
            "%s is libembedviz %s, but this package needs %d.x (x >= %d): "
            "install a matching libembedviz or point %s at one"
            % (lib.path, lib.version, LIBRARY_MAJOR, LIBRARY_MIN_MINOR, ENV_VAR))


def load_library(path=None):
    """Load libembedviz (from `path`, else by the lookup order above), check
    its version and return it. Raises LibraryNotFoundError naming every
    place tried."""
    if path is not None:
        candidates, explicit = [("the path given", os.fspath(path))], True
    else:
        candidates, explicit = _candidates()
    tried = []
    for where, target in candidates:
        if os.sep in target and not os.path.exists(target):
            tried.append("%s: %s (no such file)" % (where, target))
            continue
        try:
            cdll = _open(target)
        except OSError as e:
            tried.append("%s: %s (%s)" % (where, target, e))
            continue
        lib = Library(cdll, getattr(cdll, "_name", target))
        _check_version(lib)
        return lib
    hint = ("" if explicit else
            "; build it with `make` and set %s to build/%s, or `make install` "
            "it" % (ENV_VAR, SONAME))
    raise _errors.LibraryNotFoundError(
        "libembedviz could not be loaded. Tried:\n  " + "\n  ".join(tried) + "\n" + hint.lstrip("; "))


_lock = threading.Lock()
_loaded = None


def lib():
    """The library, loaded on first use."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                _loaded = load_library()
    return _loaded


def use_library(path):
    """Load libembedviz from `path` and use it from now on.

    Objects made before keep the library they were made with; everything
    made afterwards, and `library`, use the new one.

    Parameters
    ----------
    path : str or os.PathLike
        The library file (e.g. build/libembedviz.so.1), or a soname the
        dynamic loader finds (e.g. "libembedviz.so.1").

    Returns
    -------
    Library
        The loaded library (as `library` returns it from now on).

    Raises
    ------
    LibraryNotFoundError
        `path` does not exist, cannot be loaded, is not libembedviz or has
        another major version; the library in use stays in use.

    See Also
    --------
    library : The library in use.

    Examples
    --------
    >>> import embedviz
    >>> lib = embedviz.use_library(embedviz.library().path)
    >>> lib is embedviz.library(), lib.version == embedviz.library_version()
    (True, True)
    >>> embedviz.use_library("/nonexistent/libembedviz.so.1")
    Traceback (most recent call last):
        ...
    embedviz.LibraryNotFoundError: libembedviz could not be loaded. Tried:
      the path given: /nonexistent/libembedviz.so.1 (no such file)
    """
    global _loaded
    new = load_library(path)
    with _lock:
        _loaded = new
    return new


def last_error():
    """(status, status name, message) of the last failure on this thread."""
    L = lib()
    status = int(L.ev_last_status())
    name = L.ev_status_name(status).decode()
    message = (L.ev_last_error() or b"").decode("utf-8", "replace")
    return status, name, message


def check(status):
    """Raise the exception for a non-zero status returned by a call made on
    this thread, with the library's message."""
    if status == 0:
        return
    L = lib()
    name = L.ev_status_name(status).decode()
    message = ""
    if int(L.ev_last_status()) == status:
        message = (L.ev_last_error() or b"").decode("utf-8", "replace")
    raise _errors.make_error(status, message, name)
