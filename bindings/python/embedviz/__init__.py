"""embedviz: libembedviz from Python.

Look at what a neural network has learned - PCA, exact nearest neighbours,
ambiguity of predictions - with scikit-learn's names and shapes, computed by
the C library libembedviz through ctypes (no compiler needed at install
time)::

    from embedviz import PCA, NearestNeighbors, ambiguity, confusion_matrix

    scores = PCA(n_components=50).fit_transform(features)
    dist, idx = NearestNeighbors(n_neighbors=10).fit(features).kneighbors()

Your own model and photos as they are: FeatureExtractor takes a
torch.nn.Module, and extract() on a folder of class subfolders returns the
rows with their labels, class names and files; report() makes the whole
HTML report by running the `embedviz report` tool::

    res = FeatureExtractor(net).extract("photos/", "avgpool", pool=True)
    res["avgpool"], res.labels, res.classes, res.paths
    embedviz.report(images="photos/", model=net, output="report")

The library is found through the EMBEDVIZ_LIBRARY environment variable,
then beside this package, then on the system's search path (see
embedviz.library()). Errors raise exceptions derived from EmbedvizError
that carry the library's message. See docs/python.md.
"""
from ._errors import (  # noqa: F401
    BackendError, Cancelled, EmbedvizError, EmbedvizFileNotFoundError,
    EmbedvizMemoryError, EmbedvizOSError, EmbedvizValueError, FormatError,
    InternalError, LayerNotFoundError, LibraryNotFoundError, MemoryLimitError,
    NonFiniteError, NotFittedError, ParameterTypeError, ReportError,
    ReportOptionError, SizeOverflowError, ToolNotFoundError, UnsupportedError)
from ._lib import lib as _lib_handle
from ._lib import use_library  # noqa: F401
from ._progress import ProgressBar  # noqa: F401
from .decomposition import PCA  # noqa: F401
from .metrics import (  # noqa: F401
    ambiguity, confusion_matrix, most_ambiguous, per_class_accuracy, scores,
    softmax)
from .extract import FeatureExtractor, Features  # noqa: F401
from .manifold import TSNE  # noqa: F401
from .umap import UMAP  # noqa: F401
from .neighbors import NearestNeighbors  # noqa: F401
from ._report import Report, report, tool_path  # noqa: F401
from .explain import Ridge, RidgeCV, feature_correlation  # noqa: F401
from .quality import (  # noqa: F401
    find_label_issues, label_issue_report, label_issue_scores, map_quality,
    trustworthiness)

# The library version this package is released with: include/embedviz/core.h's
# EV_VERSION_* (`make wheel` writes it here from the header; tests/check-abi.sh
# checks that the source tree's copy agrees).
__version__ = "1.1.0"

__all__ = [
    "PCA", "TSNE", "UMAP", "NearestNeighbors", "FeatureExtractor", "Features", "report", "Report",
    "tool_path", "ambiguity", "most_ambiguous", "scores",
    "softmax", "confusion_matrix", "per_class_accuracy", "trustworthiness",
    "map_quality", "label_issue_scores", "label_issue_report", "find_label_issues",
    "Ridge", "RidgeCV", "feature_correlation",
    "EmbedvizError", "EmbedvizValueError", "NonFiniteError",
    "SizeOverflowError", "NotFittedError", "EmbedvizMemoryError",
    "MemoryLimitError", "EmbedvizOSError", "EmbedvizFileNotFoundError",
    "FormatError", "UnsupportedError", "BackendError", "InternalError",
    "Cancelled", "LibraryNotFoundError", "ParameterTypeError", "LayerNotFoundError",
    "ToolNotFoundError", "ReportError", "ReportOptionError", "ProgressBar", "library",
    "library_version", "use_library", "default_threads",
]


def library():
    """Return the loaded libembedviz, loading it on first use.

    The library is found through EMBEDVIZ_LIBRARY, then beside this
    package, then on the system's search path (docs/python.md).

    Returns
    -------
    Library
        The loaded library: ``path`` is the file (or soname) that was
        loaded, ``version`` its version string, ``has(name)`` whether it
        exports a C call.

    Raises
    ------
    LibraryNotFoundError
        No libembedviz could be loaded, or its major version does not fit
        this package; the message lists every place tried.

    See Also
    --------
    use_library : Load a libembedviz from a given path instead.
    library_version : The loaded library's version string.

    Examples
    --------
    >>> import embedviz
    >>> lib = embedviz.library()
    >>> lib.path  # doctest: +ELLIPSIS
    '...libembedviz.so...'
    >>> lib.has("ev_pca_fit")
    True
    """
    return _lib_handle()


def library_version():
    """Return the loaded libembedviz's version string.

    Returns
    -------
    str
        "MAJOR.MINOR.PATCH", e.g. "1.1.0"; the major version is always this
        package's (1).

    Raises
    ------
    LibraryNotFoundError
        No libembedviz could be loaded.

    See Also
    --------
    library : The loaded library itself.

    Examples
    --------
    >>> import embedviz
    >>> embedviz.library_version().split(".")[0]
    '1'
    """
    return _lib_handle().version


def default_threads():
    """Return the threads the library uses when a setting says 0 or n_jobs=None.

    Returns
    -------
    int
        The processors OpenMP sees (``omp_get_num_procs``), at least 1.

    Examples
    --------
    >>> import embedviz
    >>> embedviz.default_threads() >= 1
    True
    """
    return int(_lib_handle().ev_default_threads())
