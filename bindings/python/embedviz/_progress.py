"""Long calls: progress reports, cancelling, Ctrl-C, and exceptions that
must never cross into C.

run() makes one library call. When the caller asked for progress (a Python
callable or a text bar), or when it runs on the main thread where Ctrl-C
must work, it installs a ctypes callback on the handle for the duration of
the call. The callback:

  - forwards (stage, step, total, value) to the user's callable or bar;
  - cancels the call (returns 1) when the callable returns a true value,
    when the callable raised (the exception is kept and re-raised after the
    call returns: a Python exception must not unwind through C frames), or
    when Ctrl-C was pressed.

Ctrl-C: on the main thread, SIGINT's handler is replaced for the duration of
the call by one that only sets a flag (the default handler would raise
KeyboardInterrupt inside the callback, where ctypes could only print and
drop it). The next progress report cancels the call, the library returns
EV_ERR_CANCELLED with everything freed, the handler is restored, and
KeyboardInterrupt is raised from the Python call: the object is still usable.
"""
import signal
import sys
import threading
import time

from . import _errors, _lib

STAGES = {
    1: "knn", 2: "pca", 3: "affinities", 4: "exaggeration", 5: "optimize",
    6: "extract", 7: "read", 8: "spectral", 9: "epochs",
}
_TITLES = {
    "knn": "neighbour search", "pca": "PCA", "affinities": "t-SNE affinities",
    "exaggeration": "t-SNE exaggeration", "optimize": "t-SNE optimisation",
    "extract": "feature extraction", "read": "reading",
    "spectral": "UMAP spectral start", "epochs": "UMAP epochs",
}


class ProgressBar:
    """A tqdm-like text progress bar, one line per stage of a long call.

    Give it as ``progress=`` to an estimator or FeatureExtractor (what
    ``progress=True`` makes, on stderr). On a terminal it redraws its line
    about ten times a second; elsewhere (a log file, a StringIO) it writes
    one line when each stage ends. A line shows the stage, the bar, the
    steps done out of all, the time spent and left, the rate and, for
    t-SNE, the KL divergence.

    Parameters
    ----------
    stream : file-like, optional
        Where the bar is written (``write`` and ``flush``); None means
        ``sys.stderr`` (as it is when the bar is made).
    min_interval : float, default 0.1
        The least time in seconds between two redraws on a terminal.

    Attributes
    ----------
    stream : file-like
        The stream written to.
    tty : bool
        Whether the stream is a terminal (then the line is redrawn in
        place).
    min_interval : float
        As given.
    stage : str or None
        The stage being shown ("knn", "pca", "affinities", "exaggeration",
        "optimize", "extract", "read"), None between calls.

    See Also
    --------
    PCA, NearestNeighbors, TSNE, FeatureExtractor : Their ``progress``
        parameter takes a ProgressBar, True or a callable.

    Notes
    -----
    The bar is the callable ``bar(stage, step, total, value)`` that every
    ``progress`` parameter takes; it returns False (it never cancels). A
    callable of your own returns True to cancel the call, which then
    raises `Cancelled`.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from embedviz import PCA, ProgressBar
    >>> log = io.StringIO()
    >>> x = np.random.RandomState(0).rand(200, 8).astype(np.float32)
    >>> _ = PCA(n_components=2, progress=ProgressBar(log)).fit(x)
    >>> print(log.getvalue(), end="")
    PCA ...|########################| ...]
    """

    WIDTH = 24

    def __init__(self, stream=None, min_interval=0.1):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.min_interval = min_interval
        self.stage = None
        self.started = 0.0
        # When the last report (of any stage) came: a stage's work began
        # then, not at its own first report (which arrives with step > 0).
        self.last_report = time.monotonic()
        self.last_draw = 0.0
        self.line = ""
        self.done = False

    def _format(self, stage, step, total, value):
        elapsed = time.monotonic() - self.started
        frac = min(1.0, step / total) if total else 0.0
        filled = int(round(frac * self.WIDTH))
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        rate = step / elapsed if elapsed > 0 and step else 0.0
        eta = (total - step) / rate if rate > 0 and total >= step else 0.0
        text = "%-20s |%s| %d/%d [%s<%s, %.1f/s]" % (
            _TITLES.get(stage, stage), bar, step, total, _clock(elapsed),
            _clock(eta), rate)
        if value == value:  # not NaN
            text += " KL %.4f" % value if stage in ("exaggeration", "optimize") \
                else " %.4g" % value
        return text

    def __call__(self, stage, step, total, value):
        now = time.monotonic()
        if stage != self.stage:
            self.close()
            self.stage, self.started, self.last_draw = stage, self.last_report, 0.0
            self.done = False
        self.last_report = now
        done = total and step >= total
        if self.tty:
            if done or now - self.last_draw >= self.min_interval:
                self.line = self._format(stage, step, total, value)
                self.stream.write("\r" + self.line)
                self.stream.flush()
                self.last_draw = now
        elif not self.done:
            self.line = self._format(stage, step, total, value)
            if done:
                self.stream.write(self.line + "\n")
                self.stream.flush()
                self.line = ""
        self.done = self.done or bool(done)
        return False

    def start(self):
        """Mark the start of a call: its first stage's time counts from now.

        The estimators call it when a call begins; call it yourself only
        when you drive a bar with your own reports.

        See Also
        --------
        close : End the line of the stage shown.

        Examples
        --------
        >>> import io
        >>> from embedviz import ProgressBar
        >>> log = io.StringIO()
        >>> bar = ProgressBar(log)
        >>> bar.start()
        >>> bar("knn", 10, 10, float("nan"))
        False
        >>> print(log.getvalue(), end="")
        neighbour search |########################| 10/10 [00:00<00:00, ...]
        """
        self.last_report = time.monotonic()

    def close(self):
        """End the line of the stage shown, if one is open.

        The estimators call it when a call ends (also when it fails), so
        that what is written next starts on a new line. Closing twice does
        nothing more.

        See Also
        --------
        start : Mark the start of a call.

        Examples
        --------
        >>> import io
        >>> from embedviz import ProgressBar
        >>> log = io.StringIO()
        >>> bar = ProgressBar(log)
        >>> bar.start()
        >>> bar("pca", 1, 2, float("nan"))
        False
        >>> log.getvalue()
        ''
        >>> bar.close()
        >>> print(log.getvalue(), end="")
        PCA |############------------| 1/2 [...]
        """
        if self.tty and self.line:
            self.stream.write("\n")
            self.stream.flush()
        elif self.line:
            self.stream.write(self.line + "\n")
            self.stream.flush()
        self.line = ""
        self.stage = None
        self.done = False


class Closing:
    """A progress wrapper that run() starts and closes around the call, as a
    bar."""

    def start(self):
        pass

    def close(self):
        pass


def _clock(seconds):
    seconds = int(seconds)
    return "%02d:%02d" % (seconds // 60, seconds % 60)


def resolve(progress, verbose=0):
    """A user's `progress` setting -> a callable or None: True (or verbose)
    gives a ProgressBar on stderr; a callable is used as it is."""
    if progress is None or progress is False:
        return ProgressBar() if verbose else None
    if progress is True:
        return ProgressBar()
    if callable(progress):
        return progress
    raise _errors.EmbedvizValueError(
        "progress must be None, True (a bar on stderr) or a callable "
        "progress(stage, step, total, value) -> bool, got %r" % (progress,),
        status=_errors.ERR_ARGUMENT, status_name="EV_ERR_ARGUMENT")


class _Session:
    """The state one call's callback shares with run()."""

    def __init__(self, user):
        self.user = user
        self.interrupted = False
        self.user_cancelled = False
        self.exception = None

    def callback(self, _user_data, stage, step, total, value):
        # Nothing may escape: ctypes would print and return 0.
        try:
            if self.interrupted or self.exception is not None:
                return 1
            if self.user is not None:
                if self.user(STAGES.get(stage, str(stage)), int(step),
                             int(total), float(value)):
                    self.user_cancelled = True
                    return 1
            return 1 if self.interrupted else 0
        except BaseException as e:  # noqa: B902 - re-raised after the call
            self.exception = e
            return 1

    def on_sigint(self, signum, frame):
        self.interrupted = True


def _sigint_is_ours_to_take():
    """Ctrl-C handling is possible (main thread) and wanted (the handler is
    Python's default, not one the application installed)."""
    return (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler)


def installs_callback(progress):
    """Whether run() will install a callback on the handle for this call
    (callers that share a handle between threads must then hold it
    exclusively)."""
    return progress is not None or _sigint_is_ours_to_take()


def run(call, set_progress=None, handle=None, progress=None):
    """Make `call()` (a library call returning a status) with progress
    reports and cancelling, and raise the exception for its status.

    set_progress(handle, fn, user_data) is the handle's ev_X_set_progress,
    or None for calls without progress."""
    want_sigint = _sigint_is_ours_to_take()
    if set_progress is None or (progress is None and not want_sigint):
        _lib.check(call())
        return
    session = _Session(progress)
    if isinstance(progress, (ProgressBar, Closing)):
        progress.start()
    fn = _lib.PROGRESS_FN(session.callback)
    _lib.check(set_progress(handle, fn, None))
    old = None
    try:
        if want_sigint:
            old = signal.signal(signal.SIGINT, session.on_sigint)
        status = call()
        error = None
        if status != 0:
            try:
                _lib.check(status)
            except _errors.EmbedvizError as e:
                error = e
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
        set_progress(handle, _lib.PROGRESS_FN(), None)
        if isinstance(progress, (ProgressBar, Closing)):
            progress.close()
    if session.exception is not None:
        raise session.exception
    if session.interrupted:
        raise KeyboardInterrupt
    if error is not None:
        raise error
