"""Exceptions: every libembedviz status becomes a Python exception that
carries the library's message, and that is also the built-in exception a
Python programmer expects (ValueError, MemoryError, FileNotFoundError...).
Catch EmbedvizError to catch everything the library reports."""
import errno
import re

# Status codes of include/embedviz/core.h.
OK = 0
ERR_ARGUMENT = 1
ERR_NONFINITE = 2
ERR_OVERFLOW = 3
ERR_NOMEM = 4
ERR_STATE = 5
ERR_CANCELLED = 6
ERR_LIMIT = 7
ERR_IO = 8
ERR_NOT_FOUND = 9
ERR_FORMAT = 10
ERR_UNSUPPORTED = 11
ERR_BACKEND = 12
ERR_INTERNAL = 13


class EmbedvizError(Exception):
    """Base class of every error libembedviz reports.

    ``status`` is the library's status code (an int, see core.h) and
    ``status_name`` its constant name, e.g. "EV_ERR_ARGUMENT"."""

    def __init__(self, message, status=None, status_name=None):
        super().__init__(message)
        self.status = status
        self.status_name = status_name


class EmbedvizValueError(EmbedvizError, ValueError):
    """A bad argument: NULL/empty input, a value out of range, sizes that do
    not fit together (EV_ERR_ARGUMENT)."""


class NonFiniteError(EmbedvizValueError):
    """NaN or Inf in an input matrix (EV_ERR_NONFINITE)."""


class SizeOverflowError(EmbedvizValueError, OverflowError):
    """Sizes whose product does not fit in memory addresses (EV_ERR_OVERFLOW)."""


class NotFittedError(EmbedvizValueError, AttributeError):
    """A call out of order, e.g. transform before fit (EV_ERR_STATE). Like
    scikit-learn's NotFittedError it is both a ValueError and an
    AttributeError."""


class EmbedvizMemoryError(EmbedvizError, MemoryError):
    """An allocation failed (EV_ERR_NOMEM)."""


class MemoryLimitError(EmbedvizMemoryError):
    """The work would pass a configured memory limit (EV_ERR_LIMIT)."""


class EmbedvizOSError(EmbedvizError, OSError):
    """A file or folder could not be read or written (EV_ERR_IO)."""

    _errno = errno.EIO

    def __init__(self, message, status=None, status_name=None, filename=None):
        # OSError's (errno, strerror, filename) form keeps e.errno meaningful;
        # str(e) stays the library's message.
        OSError.__init__(self, self._errno, message, *([filename] if filename else []))
        self.status = status
        self.status_name = status_name
        self.message = message

    def __str__(self):
        return self.message


class EmbedvizFileNotFoundError(EmbedvizOSError, FileNotFoundError):
    """A file, folder or named item does not exist (EV_ERR_NOT_FOUND)."""

    _errno = errno.ENOENT


class FormatError(EmbedvizValueError):
    """A file or data is malformed, corrupt or truncated (EV_ERR_FORMAT)."""


class UnsupportedError(EmbedvizError):
    """Not available in this build of the library or on this machine
    (EV_ERR_UNSUPPORTED), e.g. extraction in a build without libtorch."""


class BackendError(EmbedvizError):
    """The backend (libtorch) reported an error (EV_ERR_BACKEND)."""


class InternalError(EmbedvizError):
    """A bug in libembedviz (EV_ERR_INTERNAL): please report it."""


class Cancelled(EmbedvizError):
    """A progress callback asked the call to stop (EV_ERR_CANCELLED). The
    object stays usable. Ctrl-C raises KeyboardInterrupt instead."""


class LibraryNotFoundError(EmbedvizError, OSError):
    """libembedviz.so could not be found or loaded, or its version does not
    fit this package. The message lists every place that was tried."""


_BY_STATUS = {
    ERR_ARGUMENT: EmbedvizValueError,
    ERR_NONFINITE: NonFiniteError,
    ERR_OVERFLOW: SizeOverflowError,
    ERR_NOMEM: EmbedvizMemoryError,
    ERR_STATE: NotFittedError,
    ERR_CANCELLED: Cancelled,
    ERR_LIMIT: MemoryLimitError,
    ERR_IO: EmbedvizOSError,
    ERR_NOT_FOUND: EmbedvizFileNotFoundError,
    ERR_FORMAT: FormatError,
    ERR_UNSUPPORTED: UnsupportedError,
    ERR_BACKEND: BackendError,
    ERR_INTERNAL: InternalError,
}


def error_class(status):
    """The exception class raised for a status code."""
    return _BY_STATUS.get(status, EmbedvizError)


class ParameterTypeError(EmbedvizValueError, TypeError):
    """A parameter of the wrong type, e.g. perplexity="x". Like
    scikit-learn's InvalidParameterError it is both a ValueError and a
    TypeError."""


class LayerNotFoundError(EmbedvizValueError, KeyError):
    """A layer name the model does not have. Both a ValueError and a
    KeyError (a missing key, not a missing file)."""

    def __str__(self):      # KeyError would quote the message
        return self.args[0] if self.args else ""


# The library's messages name its C settings and calls; through Python the
# user wrote scikit-learn's parameter names, so say those. Longest names
# first is not needed: the pattern matches whole identifiers.
PYTHON_NAMES = {
    # t-SNE (manifold.TSNE)
    "EV_TSNE_N_COMPONENTS": "n_components",
    "EV_TSNE_PERPLEXITY": "perplexity",
    "EV_TSNE_THETA": "angle",
    "EV_TSNE_METHOD": "method",
    "EV_TSNE_METHOD_EXACT": "method='exact'",
    "EV_TSNE_METHOD_BARNES_HUT": "method='barnes_hut'",
    "EV_TSNE_METHOD_FFT": "method='fft'",
    "EV_TSNE_METRIC": "metric",
    "EV_TSNE_EARLY_EXAGGERATION": "early_exaggeration",
    "EV_TSNE_LEARNING_RATE": "learning_rate",
    "EV_TSNE_N_ITER": "n_iter",
    "EV_TSNE_MIN_GRAD_NORM": "min_grad_norm",
    "EV_TSNE_INIT": "init",
    "EV_TSNE_INIT_GIVEN": "init=<array>",
    "EV_TSNE_INIT_PCA": "init='pca'",
    "EV_TSNE_INIT_RANDOM": "init='random'",
    "ev_tsne_set_init": "the init array",
    "EV_TSNE_SEED": "random_state",
    "EV_TSNE_THREADS": "n_jobs",
    "EV_TSNE_MINKOWSKI_P": "metric_params={'p': ...}",
    "ev_tsne_set_progress": "progress",
    # PCA (decomposition.PCA)
    "EV_PCA_N_COMPONENTS": "n_components",
    "EV_PCA_VARIANCE_TO_KEEP": "n_components (a float: the share of variance)",
    "EV_PCA_WHITEN": "whiten",
    "EV_PCA_SOLVER": "svd_solver",
    "EV_PCA_SOLVER_COVARIANCE": "svd_solver='covariance_eigh'",
    "EV_PCA_SOLVER_SVD": "svd_solver='full'",
    "EV_PCA_SOLVER_RANDOMIZED": "svd_solver='randomized'",
    "EV_PCA_SEED": "random_state",
    "EV_PCA_POWER_ITERATIONS": "iterated_power",
    "EV_PCA_OVERSAMPLES": "n_oversamples",
    "EV_PCA_THREADS": "n_jobs",
    "ev_pca_set_progress": "progress",
    # neighbours (neighbors.NearestNeighbors)
    "EV_KNN_METRIC": "metric",
    "EV_KNN_MINKOWSKI_P": "p",
    "EV_KNN_THREADS": "n_jobs",
    "ev_knn_set_progress": "progress",
    # extraction (FeatureExtractor)
    "EV_EXTRACT_BATCH_SIZE": "batch_size",
    "EV_EXTRACT_POOL": "pool",
    "EV_EXTRACT_THREADS": "n_jobs",
    "ev_extractor_add_layer": "layers",
    "ev_extractor_set_progress": "progress",
    "EV_DS_CHANNELS": "channels",
    "EV_DS_RESIZE": "resize",
    "EV_DS_RESIZE_HEIGHT": "resize[0]",
    "EV_DS_RESIZE_WIDTH": "resize[1]",
    "EV_DS_CROP": "crop",
    "EV_DS_CROP_HEIGHT": "crop[0]",
    "EV_DS_CROP_WIDTH": "crop[1]",
    "EV_DS_NORMALIZE": "normalize",
    "EV_DS_MEAN0": "mean[0]", "EV_DS_MEAN1": "mean[1]", "EV_DS_MEAN2": "mean[2]",
    "EV_DS_STD0": "std[0]", "EV_DS_STD1": "std[1]", "EV_DS_STD2": "std[2]",
    "EV_DS_ON_ERROR": "skip_bad",
    "EV_DS_THREADS": "n_jobs",
}
_C_NAME = re.compile(r"\b(?:EV_[A-Z0-9_]+|ev_[a-z0-9_]+)\b")


def pythonize(message):
    """The library's message with its C setting and call names replaced by
    the Python parameters they stand for (PYTHON_NAMES)."""
    return _C_NAME.sub(lambda m: PYTHON_NAMES.get(m.group(0), m.group(0)), message)


def make_error(status, message, status_name=None):
    """The exception for a failed call: its class from the status, its text
    the library's message in Python's words (pythonize)."""
    if not message:
        message = "libembedviz failed with %s" % (status_name or status)
    return error_class(status)(pythonize(message), status=status, status_name=status_name)


# Show the public name (embedviz.NotFittedError) in tracebacks.
for _cls in list(_BY_STATUS.values()) + [EmbedvizError, LibraryNotFoundError, ParameterTypeError,
                                         LayerNotFoundError]:
    _cls.__module__ = "embedviz"
del _cls
