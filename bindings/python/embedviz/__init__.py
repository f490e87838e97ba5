"""embedviz: libembedviz from Python.

Look at what a neural network has learned - PCA, exact nearest neighbours,
ambiguity of predictions - with scikit-learn's names and shapes, computed by
the C library libembedviz through ctypes (no compiler needed at install
time)::

    from embedviz import PCA, NearestNeighbors, ambiguity, confusion_matrix

    scores = PCA(n_components=50).fit_transform(features)
    dist, idx = NearestNeighbors(n_neighbors=10).fit(features).kneighbors()

The library is found through the EMBEDVIZ_LIBRARY environment variable,
then beside this package, then on the system's search path (see
embedviz.library()). Errors raise exceptions derived from EmbedvizError
that carry the library's message. See docs/python.md.
"""
from ._errors import (  # noqa: F401
    BackendError, Cancelled, EmbedvizError, EmbedvizFileNotFoundError,
    EmbedvizMemoryError, EmbedvizOSError, EmbedvizValueError, FormatError,
    InternalError, LayerNotFoundError, LibraryNotFoundError, MemoryLimitError,
    NonFiniteError, NotFittedError, ParameterTypeError, SizeOverflowError,
    UnsupportedError)
from ._lib import lib as _lib_handle
from ._lib import use_library  # noqa: F401
from ._progress import ProgressBar  # noqa: F401
from .decomposition import PCA  # noqa: F401
from .metrics import (  # noqa: F401
    ambiguity, confusion_matrix, most_ambiguous, per_class_accuracy, scores,
    softmax)
from .extract import FeatureExtractor  # noqa: F401
from .manifold import TSNE  # noqa: F401
from .umap import UMAP  # noqa: F401
from .neighbors import NearestNeighbors  # noqa: F401
from .quality import (  # noqa: F401
    find_label_issues, label_issue_report, label_issue_scores, map_quality,
    trustworthiness)

# The library version this package is released with: include/embedviz/core.h's
# EV_VERSION_* (tests/check-abi.sh checks they agree).
__version__ = "1.1.0"

__all__ = [
    "PCA", "TSNE", "UMAP", "NearestNeighbors", "FeatureExtractor", "ambiguity", "most_ambiguous", "scores",
    "softmax", "confusion_matrix", "per_class_accuracy", "trustworthiness",
    "map_quality", "label_issue_scores", "label_issue_report", "find_label_issues",
    "EmbedvizError", "EmbedvizValueError", "NonFiniteError",
    "SizeOverflowError", "NotFittedError", "EmbedvizMemoryError",
    "MemoryLimitError", "EmbedvizOSError", "EmbedvizFileNotFoundError",
    "FormatError", "UnsupportedError", "BackendError", "InternalError",
    "Cancelled", "LibraryNotFoundError", "ParameterTypeError", "LayerNotFoundError", "ProgressBar", "library",
    "library_version", "use_library", "default_threads",
]


def library():
    """The loaded library (loading it on first use); its ``path`` attribute
    says which file was loaded. Raises LibraryNotFoundError."""
    return _lib_handle()


def library_version():
    """The loaded library's version string, e.g. "1.0.0"."""
    return _lib_handle().version


def default_threads():
    """Threads the library uses when a setting says 0 / n_jobs=None."""
    return int(_lib_handle().ev_default_threads())
