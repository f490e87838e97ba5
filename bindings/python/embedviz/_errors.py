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
    """Base class of every error libembedviz and embedviz report.

    Catch it to catch everything the library reports. Each subclass is
    also the built-in exception a Python programmer expects (ValueError,
    MemoryError, FileNotFoundError...), so ``except ValueError`` works too.
    ``str(error)`` is the library's message, which says what was wrong and
    what to do, with the Python parameter names.

    Parameters
    ----------
    message : str
        What went wrong and what to do.
    status : int, optional
        The library's status code (include/embedviz/core.h).
    status_name : str, optional
        The status code's constant name, e.g. "EV_ERR_ARGUMENT".

    Attributes
    ----------
    status : int or None
        The library's status code (EV_ERR_ARGUMENT is 1, ...); None for
        errors found by the Python package alone (e.g. a report failure).
    status_name : str or None
        Its constant's name, e.g. "EV_ERR_ARGUMENT".

    See Also
    --------
    EmbedvizValueError : The most common subclass: a bad argument.

    Examples
    --------
    >>> import numpy as np
    >>> import embedviz
    >>> try:
    ...     embedviz.PCA(n_components=5).fit(np.ones((3, 2)))
    ... except embedviz.EmbedvizError as e:
    ...     print(e.status, e.status_name)
    ...     print(e)
    1 EV_ERR_ARGUMENT
    n_components=5 must be between 1 and min(n_samples, n_features)=2: lower it
    """

    def __init__(self, message, status=None, status_name=None):
        super().__init__(message)
        self.status = status
        self.status_name = status_name


class EmbedvizValueError(EmbedvizError, ValueError):
    """A bad argument: empty input, a value out of range, sizes that do not fit.

    The library's EV_ERR_ARGUMENT, and the checks the Python package makes
    before calling it. Also a ValueError.

    Attributes
    ----------
    status : int or None
        The library's status code, 1 (EV_ERR_ARGUMENT).
    status_name : str or None
        Its constant's name, "EV_ERR_ARGUMENT".

    See Also
    --------
    NonFiniteError, ParameterTypeError, NotFittedError : Its subclasses
        for NaN or Inf, a wrong type and a call out of order.

    Examples
    --------
    >>> import numpy as np
    >>> import embedviz
    >>> x = np.random.RandomState(0).rand(20, 4)
    >>> embedviz.TSNE(perplexity=50).fit(x)
    Traceback (most recent call last):
        ...
    embedviz.EmbedvizValueError: perplexity 50 is too large for 20 points with the Barnes-Hut method ... lower perplexity
    >>> issubclass(embedviz.EmbedvizValueError, ValueError)
    True
    """


class NonFiniteError(EmbedvizValueError):
    """NaN or Inf in an input matrix (EV_ERR_NONFINITE).

    The message names the first such entry. Also a ValueError.

    Attributes
    ----------
    status : int or None
        The library's status code, 2 (EV_ERR_NONFINITE).
    status_name : str or None
        Its constant's name, "EV_ERR_NONFINITE".

    Examples
    --------
    >>> import numpy as np
    >>> import embedviz
    >>> x = np.ones((10, 3))
    >>> x[2, 1] = np.nan
    >>> embedviz.PCA(n_components=2).fit(x)
    Traceback (most recent call last):
        ...
    embedviz.NonFiniteError: x[2][1] is NaN: remove or impute non-finite values before calling
    """


class SizeOverflowError(EmbedvizValueError, OverflowError):
    """Sizes whose product does not fit in memory addresses (EV_ERR_OVERFLOW).

    Raised before anything is allocated. Also a ValueError and an
    OverflowError.

    Attributes
    ----------
    status : int or None
        The library's status code, 3 (EV_ERR_OVERFLOW).
    status_name : str or None
        Its constant's name, "EV_ERR_OVERFLOW".

    Examples
    --------
    >>> import embedviz
    >>> issubclass(embedviz.SizeOverflowError, (ValueError, OverflowError))
    True
    """


class NotFittedError(EmbedvizValueError, AttributeError):
    """A call out of order, e.g. transform before fit (EV_ERR_STATE).

    Like scikit-learn's NotFittedError it is both a ValueError and an
    AttributeError.

    Attributes
    ----------
    status : int or None
        The library's status code, 5 (EV_ERR_STATE).
    status_name : str or None
        Its constant's name, "EV_ERR_STATE".

    Examples
    --------
    >>> import numpy as np
    >>> import embedviz
    >>> embedviz.PCA().transform(np.ones((2, 3)))
    Traceback (most recent call last):
        ...
    embedviz.NotFittedError: This PCA instance is not fitted yet. Call 'fit' with appropriate arguments before using this estimator.
    """


class EmbedvizMemoryError(EmbedvizError, MemoryError):
    """An allocation failed (EV_ERR_NOMEM).

    The library frees what the call allocated and the object stays
    usable. Also a MemoryError.

    Attributes
    ----------
    status : int or None
        The library's status code, 4 (EV_ERR_NOMEM).
    status_name : str or None
        Its constant's name, "EV_ERR_NOMEM".

    See Also
    --------
    MemoryLimitError : The work would pass a configured memory limit.

    Examples
    --------
    >>> import embedviz
    >>> issubclass(embedviz.EmbedvizMemoryError, MemoryError)
    True
    """


class MemoryLimitError(EmbedvizMemoryError):
    """The work would pass a configured memory limit (EV_ERR_LIMIT).

    Raised before the work starts, e.g. by the exact t-SNE on too many
    points; the message says how much it would need and what to use
    instead. Also a MemoryError.

    Attributes
    ----------
    status : int or None
        The library's status code, 7 (EV_ERR_LIMIT).
    status_name : str or None
        Its constant's name, "EV_ERR_LIMIT".

    Examples
    --------
    >>> import numpy as np
    >>> import embedviz
    >>> embedviz.TSNE(method="exact").fit(np.zeros((20000, 2)))
    Traceback (most recent call last):
        ...
    embedviz.MemoryLimitError: the exact method needs about 4577 MiB for its 20000 x 20000 affinities, more than ...: use method='barnes_hut' ...
    >>> issubclass(embedviz.MemoryLimitError, MemoryError)
    True
    """


class EmbedvizOSError(EmbedvizError, OSError):
    """A file or folder could not be read or written (EV_ERR_IO).

    Also an OSError with a meaningful ``errno`` (EIO here, ENOENT for
    EmbedvizFileNotFoundError); ``str(error)`` is the library's message.

    Parameters
    ----------
    message : str
        What went wrong and what to do.
    status : int, optional
        The library's status code.
    status_name : str, optional
        The status code's constant name.
    filename : str, optional
        The file concerned.

    Attributes
    ----------
    status : int or None
        The library's status code, 8 (EV_ERR_IO).
    status_name : str or None
        Its constant's name, "EV_ERR_IO".
    message : str
        The library's message (also ``str(error)``).
    errno : int
        ``errno.EIO`` (``errno.ENOENT`` for EmbedvizFileNotFoundError).
    filename : str or None
        The file concerned, when known.

    Examples
    --------
    >>> import errno
    >>> import embedviz
    >>> e = embedviz.EmbedvizOSError("cannot write out.npy: the disk is full", filename="out.npy")
    >>> isinstance(e, OSError), e.errno == errno.EIO, e.filename
    (True, True, 'out.npy')
    >>> str(e)
    'cannot write out.npy: the disk is full'
    """

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
    """A file, folder or named item does not exist (EV_ERR_NOT_FOUND).

    Also a FileNotFoundError (``errno.ENOENT``). A layer name the model
    lacks raises LayerNotFoundError instead.

    Attributes
    ----------
    status : int or None
        The library's status code, 9 (EV_ERR_NOT_FOUND).
    status_name : str or None
        Its constant's name, "EV_ERR_NOT_FOUND".
    message : str
        The library's message (also ``str(error)``).
    errno : int
        ``errno.ENOENT``.
    filename : str or None
        The file concerned, when known.

    Examples
    --------
    >>> import embedviz
    >>> issubclass(embedviz.EmbedvizFileNotFoundError, FileNotFoundError)
    True
    >>> embedviz.FeatureExtractor("no-such-model.pt")  # doctest: +SKIP
    Traceback (most recent call last):
        ...
    embedviz.EmbedvizFileNotFoundError: model file no-such-model.pt does not exist: check the path
    """

    _errno = errno.ENOENT


class FormatError(EmbedvizValueError):
    """A file or data is malformed, corrupt or truncated (EV_ERR_FORMAT).

    E.g. a model file that is not TorchScript, or a truncated IDX file.
    Also a ValueError.

    Attributes
    ----------
    status : int or None
        The library's status code, 10 (EV_ERR_FORMAT).
    status_name : str or None
        Its constant's name, "EV_ERR_FORMAT".

    Examples
    --------
    >>> import embedviz
    >>> issubclass(embedviz.FormatError, ValueError)
    True
    """


class UnsupportedError(EmbedvizError):
    """Not available in this build or on this machine (EV_ERR_UNSUPPORTED).

    E.g. extraction in a build without libtorch, device="cuda" without a
    GPU, or a C call an older libembedviz lacks (the message names it).

    Attributes
    ----------
    status : int or None
        The library's status code, 11 (EV_ERR_UNSUPPORTED).
    status_name : str or None
        Its constant's name, "EV_ERR_UNSUPPORTED".

    Examples
    --------
    >>> import embedviz
    >>> issubclass(embedviz.UnsupportedError, embedviz.EmbedvizError)
    True
    """


class BackendError(EmbedvizError):
    """The backend (libtorch) reported an error (EV_ERR_BACKEND).

    The message carries libtorch's first line, e.g. a shape mismatch in
    the model's forward pass.

    Attributes
    ----------
    status : int or None
        The library's status code, 12 (EV_ERR_BACKEND).
    status_name : str or None
        Its constant's name, "EV_ERR_BACKEND".

    Examples
    --------
    >>> import embedviz
    >>> issubclass(embedviz.BackendError, embedviz.EmbedvizError)
    True
    """


class InternalError(EmbedvizError):
    """A bug in libembedviz (EV_ERR_INTERNAL): please report it.

    Attributes
    ----------
    status : int or None
        The library's status code, 13 (EV_ERR_INTERNAL).
    status_name : str or None
        Its constant's name, "EV_ERR_INTERNAL".

    Examples
    --------
    >>> import embedviz
    >>> issubclass(embedviz.InternalError, embedviz.EmbedvizError)
    True
    """


class Cancelled(EmbedvizError):
    """A progress callback asked the call to stop (EV_ERR_CANCELLED).

    The object stays usable: fit it again. Ctrl-C raises KeyboardInterrupt
    instead (the call is cancelled the same way).

    Attributes
    ----------
    status : int or None
        The library's status code, 6 (EV_ERR_CANCELLED).
    status_name : str or None
        Its constant's name, "EV_ERR_CANCELLED".

    Examples
    --------
    >>> import numpy as np
    >>> import embedviz
    >>> x = np.random.RandomState(0).rand(20, 4)
    >>> pca = embedviz.PCA(n_components=2, progress=lambda stage, step, total, value: True)
    >>> pca.fit(x)
    Traceback (most recent call last):
        ...
    embedviz.Cancelled: PCA cancelled by the progress callback at step 1 of ...
    >>> pca.set_params(progress=None).fit(x).n_components_
    2
    """


class LibraryNotFoundError(EmbedvizError, OSError):
    """libembedviz.so could not be found or loaded, or its version does not fit.

    The message lists every place that was tried and how to point at the
    library (EMBEDVIZ_LIBRARY). Also an OSError.

    Attributes
    ----------
    status : None
        Not a library status.
    status_name : None
        Not a library status.

    See Also
    --------
    library, use_library : Load the library.

    Examples
    --------
    >>> import embedviz
    >>> embedviz.use_library("/nonexistent/libembedviz.so.1")
    Traceback (most recent call last):
        ...
    embedviz.LibraryNotFoundError: libembedviz could not be loaded. Tried:
      the path given: /nonexistent/libembedviz.so.1 (no such file)
    """


class ToolNotFoundError(EmbedvizError, OSError):
    """The embedviz command-line tool, which `embedviz.report` runs, was not found.

    The message lists every place that was tried and how to point at the
    tool (EMBEDVIZ_CLI). Also an OSError.

    Attributes
    ----------
    status : None
        Not a library status.
    status_name : None
        Not a library status.

    See Also
    --------
    tool_path : Where the tool is looked for.

    Examples
    --------
    >>> import embedviz
    >>> issubclass(embedviz.ToolNotFoundError, OSError)
    True
    """


class ReportError(EmbedvizError):
    """`embedviz.report` failed: the tool's message, its options named as keywords.

    Parameters
    ----------
    message : str
        The tool's message, with its option names said as report()'s
        keywords.
    returncode : int, optional
        The tool's exit status (negative: the signal that killed it).
    command : list of str, optional
        The command line that was run.
    output : str, default ""
        Everything the tool wrote.

    Attributes
    ----------
    returncode : int or None
        The tool's exit status.
    command : list of str or None
        The command line that was run.
    output : str
        Everything the tool wrote, progress included.
    status : int or None
        None, or 1 (EV_ERR_ARGUMENT) for a ReportOptionError.
    status_name : str or None
        None, or "EV_ERR_ARGUMENT" for a ReportOptionError.

    Examples
    --------
    >>> import embedviz
    >>> e = embedviz.ReportError("the embedviz tool was killed by SIGKILL (out of memory?)",
    ...                          returncode=-9, command=["embedviz", "report"], output="")
    >>> e.returncode, str(e)
    (-9, 'the embedviz tool was killed by SIGKILL (out of memory?)')
    """

    def __init__(self, message, returncode=None, command=None, output=""):
        super().__init__(message)
        self.returncode, self.command, self.output = returncode, command, output


class ReportOptionError(ReportError, EmbedvizValueError):
    """`embedviz.report` was given an option value the tool refuses.

    The tool's usage error (exit status 2). Also a ValueError.

    Attributes
    ----------
    returncode : int
        2.
    command : list of str
        The command line that was run.
    output : str
        Everything the tool wrote.
    status : int
        1 (EV_ERR_ARGUMENT).
    status_name : str
        "EV_ERR_ARGUMENT".

    Examples
    --------
    >>> import embedviz
    >>> issubclass(embedviz.ReportOptionError, (embedviz.ReportError, ValueError))
    True
    >>> embedviz.report(images="photos/", output="report", perplexity=-3)  # doctest: +SKIP
    Traceback (most recent call last):
        ...
    embedviz.ReportOptionError: perplexity must be a number > 0, got -3
    """


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
    """A parameter of the wrong type, e.g. perplexity="x".

    Like scikit-learn's InvalidParameterError it is both a ValueError and
    a TypeError.

    Attributes
    ----------
    status : int or None
        The library's status code, 1 (EV_ERR_ARGUMENT).
    status_name : str or None
        Its constant's name, "EV_ERR_ARGUMENT".

    Examples
    --------
    >>> import numpy as np
    >>> import embedviz
    >>> embedviz.TSNE(perplexity="x").fit(np.random.RandomState(0).rand(20, 3))
    Traceback (most recent call last):
        ...
    embedviz.ParameterTypeError: perplexity must be a number, got 'x' (str)
    """


class LayerNotFoundError(EmbedvizValueError, KeyError):
    """A layer name the model does not have.

    Both a ValueError and a KeyError (a missing key, not a missing file);
    the message names the closest layers and ``FeatureExtractor.layers``
    lists them all.

    Attributes
    ----------
    status : int or None
        The library's status code, 9 (EV_ERR_NOT_FOUND).
    status_name : str or None
        Its constant's name, "EV_ERR_NOT_FOUND".

    Examples
    --------
    >>> import embedviz
    >>> e = embedviz.LayerNotFoundError("the model m.pt has no layer 'fc9': did you mean 'fc'?")
    >>> isinstance(e, KeyError), str(e)
    (True, "the model m.pt has no layer 'fc9': did you mean 'fc'?")
    >>> embedviz.FeatureExtractor("resnet18.pt").activations(images, "fc9")  # doctest: +SKIP
    Traceback (most recent call last):
        ...
    embedviz.LayerNotFoundError: the model resnet18.pt has no layer 'fc9': did you mean 'fc'? ...
    """

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
    "EV_TSNE_FFT_INTERPOLATION_POINTS": "n_interpolation_points",
    "EV_TSNE_FFT_MIN_INTERVALS": "min_num_intervals",
    "EV_TSNE_FFT_NEAR_RADIUS": "near_radius",
    "EV_TSNE_KNN_METHOD": "neighbors",
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
    # ridge (explain.Ridge, RidgeCV) and the explain calls
    "EV_RIDGE_ALPHA": "alpha",
    "EV_RIDGE_FIT_INTERCEPT": "fit_intercept",
    "EV_RIDGE_CRITERION": "criterion",
    "EV_RIDGE_THREADS": "n_jobs",
    "ev_ridge_set_alphas": "alphas",
    "ev_ridge_fit": "fit",
    "ev_pca_contributions": "contributions",
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
                                         LayerNotFoundError, ToolNotFoundError, ReportError,
                                         ReportOptionError]:
    _cls.__module__ = "embedviz"
del _cls
