"""Exceptions: every libembedviz status becomes a Python exception that
carries the library's message, and that is also the built-in exception a
Python programmer expects (ValueError, MemoryError, FileNotFoundError...).
Catch EmbedvizError to catch everything the library reports."""
import errno

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


def make_error(status, message, status_name=None):
    """The exception for a failed call: its class from the status, its text
    the library's message."""
    if not message:
        message = "libembedviz failed with %s" % (status_name or status)
    return error_class(status)(message, status=status, status_name=status_name)


# Show the public name (embedviz.NotFittedError) in tracebacks.
for _cls in list(_BY_STATUS.values()) + [EmbedvizError, LibraryNotFoundError]:
    _cls.__module__ = "embedviz"
del _cls
