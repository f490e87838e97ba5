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
    """A tqdm-like text bar on a stream (stderr by default). On a terminal
    it redraws one line per stage about ten times a second; elsewhere (a
    log file) it writes one line when each stage ends."""

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
        """A call begins: its first stage's work starts now."""
        self.last_report = time.monotonic()

    def close(self):
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
