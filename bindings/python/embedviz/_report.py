"""embedviz.report(): the `embedviz report` tool from Python.

The report (t-SNE maps by depth, neighbours, ambiguity, confusion, the
interactive page) is built by the command-line tool, so Python runs the
tool rather than a second copy of it: every keyword is the tool's option of
the same name ('_' for '-'), and a new option of the tool is usable from
Python the day it exists. The tool is found, in order:

  1. the environment variable EMBEDVIZ_CLI (the tool, or a folder holding
     it); when it is set nothing else is tried, so a typo is reported;
  2. beside the loaded libembedviz (a build folder holds both), then the
     bin folder of the prefix it is installed in (PREFIX/lib -> PREFIX/bin);
  3. the PATH.
"""
import codecs
import collections
import difflib
import numbers
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

import numpy as np

from . import _errors, _lib, _torchscript

ENV_VAR = "EMBEDVIZ_CLI"
TOOL_NAME = "embedviz"
#: Options whose numpy array values are saved as .npy files, the path given
#: to the tool (issue 11's features-without-a-model: --features F.npy
#: --labels L.npy --scores S.npy). Other arrays are lists of values.
ARRAY_FILE_OPTIONS = ("features", "labels", "scores")
#: Keywords of report() itself, never passed to the tool.
PYTHON_ONLY = ("progress", "example_input")


def _loaded_library_file():
    """The real path of the loaded libembedviz (loading it), or None."""
    try:
        L = _lib.lib()
    except _errors.EmbedvizError:
        return None
    path = L.path
    if path and os.sep in path:
        return os.path.realpath(path)
    try:  # loaded by its soname: ask the loader's map which file it is
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split(None, 5)[-1].strip()
                if os.path.basename(p).startswith("libembedviz.so"):
                    return os.path.realpath(p)
    except OSError:
        pass
    return None


def _candidates():
    """(description, path) pairs in lookup order, and whether EMBEDVIZ_CLI
    decided them."""
    env = os.environ.get(ENV_VAR)
    if env:
        path = os.path.join(env, TOOL_NAME) if os.path.isdir(env) else env
        return [("%s=%s" % (ENV_VAR, env), path)], True
    found = []
    libfile = _loaded_library_file()
    if libfile:
        libdir = os.path.dirname(libfile)
        found.append(("beside the loaded libembedviz", os.path.join(libdir, TOOL_NAME)))
        prefix = os.path.dirname(libdir)
        if os.path.basename(prefix) == "lib":   # multiarch: PREFIX/lib/x86_64-linux-gnu
            prefix = os.path.dirname(prefix)
        found.append(("the bin folder of the loaded libembedviz's prefix",
                      os.path.join(prefix, "bin", TOOL_NAME)))
    else:
        found.append(("beside the loaded libembedviz", None))
    found.append(("the PATH", shutil.which(TOOL_NAME)))
    return found, False


def tool_path():
    """Return the path of the embedviz command-line tool that `report` runs.

    Looked for in the environment variable EMBEDVIZ_CLI (the tool, or a
    folder holding it; when set, nothing else is tried), then beside the
    loaded libembedviz and in its prefix's bin folder, then on the PATH.

    Returns
    -------
    str
        The tool's absolute path.

    Raises
    ------
    ToolNotFoundError
        Nothing was found; the message lists every place tried and how to
        point at the tool.

    See Also
    --------
    report : Runs the tool.

    Examples
    --------
    >>> import embedviz
    >>> embedviz.tool_path()  # doctest: +SKIP
    '/usr/local/bin/embedviz'
    """
    candidates, explicit = _candidates()
    tried = []
    for where, path in candidates:
        if path is None:
            tried.append("%s: libembedviz could not be loaded" % where if "libembedviz" in where
                         else "%s: no %s on it" % (where, TOOL_NAME))
        elif not os.path.isfile(path):
            tried.append("%s: %s (no such file)" % (where, path))
        elif not os.access(path, os.X_OK):
            tried.append("%s: %s (not executable)" % (where, path))
        else:
            return os.path.abspath(path)
    hint = ("set %s to the tool (or fix its value)" % ENV_VAR if explicit else
            "build it with `make` (build/embedviz) and set %s to its path, or put it on the PATH"
            % ENV_VAR)
    raise _errors.ToolNotFoundError(
        "the embedviz command-line tool, which report() runs, was not found. Tried:\n  "
        + "\n  ".join(tried) + "\n" + hint)


_options_cache = {}


def tool_options(tool):
    """The long option names `tool report --help` lists (cached per file
    and modification time)."""
    try:
        key = (tool, os.stat(tool).st_mtime_ns)
    except OSError:
        key = (tool, None)
    if key not in _options_cache:
        try:
            p = subprocess.run([tool, "report", "--help"], stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as e:
            raise _errors.ToolNotFoundError("the embedviz tool %s could not be run: %s" % (tool, e)) from e
        if p.returncode != 0 or "--output" not in p.stdout:
            raise _errors.ToolNotFoundError(
                "%s does not look like the embedviz tool: `%s report --help` exited with %d%s"
                % (tool, tool, p.returncode, (": " + p.stderr.strip()) if p.stderr.strip() else ""))
        _options_cache[key] = set(re.findall(r"--([a-z][a-z0-9-]*)", p.stdout)) - {"help"}
    return _options_cache[key]


def _type_error(message):
    return _errors.ParameterTypeError(message, status=_errors.ERR_ARGUMENT,
                                      status_name="EV_ERR_ARGUMENT")


def _scalar_text(key, value):
    if isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, bytes):
        return os.fsdecode(value)
    if isinstance(value, (bool, np.bool_)):
        raise _type_error("%s: a list of booleans cannot be an option value" % key)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    raise _type_error("%s must be text, a path, a number or a list of them, got %r (%s)"
                      % (key, value, type(value).__name__))


def option_arguments(options, tmpdir=None):
    """The tool's arguments for report()'s keywords, in their order.

    Parameters
    ----------
    options : dict
        Keyword -> value. The option is ``--`` + the keyword with '_' as
        '-'. True gives the bare flag, False and None leave the option out;
        a list or tuple gives its items joined with ','; a path
        (os.PathLike) its text; a number its decimal text. A numpy array
        given to features, labels or scores is saved as NAME.npy in
        `tmpdir` and that path is given; other arrays are lists.
    tmpdir : str, optional
        Where arrays are saved (required when one is given).

    Returns
    -------
    list of str
    """
    args = []
    for key, value in options.items():
        if value is None or value is False or (isinstance(value, np.bool_) and not value):
            continue
        opt = "--" + key.replace("_", "-")
        if value is True or isinstance(value, np.bool_):
            args.append(opt)
            continue
        if isinstance(value, np.ndarray) and key in ARRAY_FILE_OPTIONS:
            if tmpdir is None:
                raise _type_error("%s: an array needs a folder to be saved in" % key)
            path = os.path.join(tmpdir, key + ".npy")
            np.save(path, value)
            args += [opt, path]
            continue
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, (list, tuple)):
            if not value:
                raise _type_error("%s is an empty list: give at least one value" % key)
            args += [opt, ",".join(_scalar_text(key, v) for v in value)]
        else:
            args += [opt, _scalar_text(key, value)]
    return args


def _check_known(options, tool):
    known = tool_options(tool)
    for key in options:
        name = key.replace("_", "-")
        if name in known:
            continue
        close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
        hint = " Did you mean %s?" % " or ".join(c.replace("-", "_") for c in close) if close else ""
        raise _type_error(
            "report() got the keyword %r, but the embedviz tool %s has no --%s option.%s Its options: "
            "%s. A newer tool may have it: rebuild it (make) or point %s at a newer one"
            % (key, tool, name, hint, ", ".join(sorted(k.replace("-", "_") for k in known)), ENV_VAR))


def python_words(message, known):
    """The tool's message with its option names said as report()'s
    keywords: '--perplexity must be...' -> 'perplexity must be...',
    '--data DIR' -> 'data=DIR'."""
    def sub(m):
        name, metavar = m.group(1), m.group(2)
        if name not in known:
            return m.group(0)
        key = name.replace("-", "_")
        return key + "=" + metavar.strip() if metavar else key
    return re.sub(r"(?<![\w-])--([a-z][a-z0-9-]*)( [A-Z][A-Z0-9_]*\b)?", sub, message)


class Report:
    """What `report` made: the report's folder, its index.html and the tool's log.

    `report` returns one; ``str(r)`` and ``os.fspath(r)`` are the
    index.html's path.

    Parameters
    ----------
    folder : str or os.PathLike
        The report folder.
    command : list of str
        The command line that was run.
    log : list of str
        The tool's lines.

    Attributes
    ----------
    index : str
        The absolute path of the report's index.html (also ``str(report)``
        and ``os.fspath(report)``).
    folder : str
        The report folder (the `output` given, absolute).
    url : str
        index.html as a file:// URL, for ``webbrowser.open``.
    command : list of str
        The command line that was run.
    log : list of str
        The tool's lines (progress, stage timings, notes).

    See Also
    --------
    report : Makes the report and returns its Report.

    Examples
    --------
    >>> import os
    >>> from embedviz import Report
    >>> r = Report("/tmp/run1/report", ["embedviz", "report", "--output", "/tmp/run1/report"], [])
    >>> r.index, os.fspath(r) == r.index
    ('/tmp/run1/report/index.html', True)
    >>> r.url
    'file:///tmp/run1/report/index.html'
    """

    def __init__(self, folder, command, log):
        self.folder = os.path.abspath(folder)
        self.index = os.path.join(self.folder, "index.html")
        self.command, self.log = command, log

    @property
    def url(self):
        """The report's index.html as a file:// URL, for ``webbrowser.open``.

        Examples
        --------
        >>> from embedviz import Report
        >>> Report("/tmp/my report", [], []).url
        'file:///tmp/my%20report/index.html'
        """
        import pathlib
        return pathlib.Path(self.index).as_uri()

    def __fspath__(self):
        return self.index

    def __str__(self):
        return self.index

    def __repr__(self):
        return "Report(%r)" % self.index


class _Sink:
    """Where the tool's lines go: Python's stderr (as sys.stderr is when
    the line arrives: a notebook's too), a stream, a callable, or nowhere."""

    def __init__(self, progress):
        if not (progress is None or isinstance(progress, bool) or callable(progress)
                or callable(getattr(progress, "write", None))):
            raise _type_error("progress must be None, True, False, a stream or a callable, got %r"
                              % (progress,))
        self.progress = progress

    def __call__(self, line):
        p = self.progress
        if p is False:
            return False
        if p is None or p is True:
            stream = sys.stderr
        elif callable(getattr(p, "write", None)):
            stream = p
        else:
            return bool(p(line))
        if stream is not None:
            stream.write(line + "\n")
            flush = getattr(stream, "flush", None)
            if flush:
                flush()
        return False


def _stop(proc):
    """End the tool as Ctrl-C would (it then removes what it half wrote),
    then for good if it does not stop."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _run(command, sink):
    """Run the tool, feeding each line (split at '\\n' and '\\r') to sink;
    (exit status, every line, the error lines)."""
    log = collections.deque(maxlen=5000)
    errors = []
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, bufsize=0)
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    pending = ""
    try:
        while True:
            chunk = proc.stdout.read(4096)
            text = decoder.decode(chunk, final=not chunk)
            pending += text
            *lines, pending = re.split(r"\r\n|\r|\n", pending)
            for line in lines:
                line = line.replace("\033[K", "").rstrip()
                if not line:
                    continue
                log.append(line)
                if line.startswith(TOOL_NAME + ": "):   # the failure: said by the exception
                    errors.append(line[len(TOOL_NAME) + 2:])
                    continue
                if sink(line):
                    _stop(proc)
                    raise _errors.Cancelled("report cancelled by the progress callback",
                                            status=_errors.ERR_CANCELLED,
                                            status_name="EV_ERR_CANCELLED")
            if not chunk:
                break
        if pending.strip():
            log.append(pending.strip())
        return proc.wait(), list(log), errors
    except BaseException:
        _stop(proc)
        raise
    finally:
        proc.stdout.close()


def _failure(status, command, log, errors, known):
    if errors:
        message = "\n".join(python_words(e, known) for e in errors)
    elif status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = str(-status)
        message = "the embedviz tool was killed by %s%s" % (
            name, " (out of memory?)" if -status == signal.SIGKILL else "")
    else:
        tail = "\n".join(log[-5:])
        message = "the embedviz tool exited with status %d%s" % (status, ":\n" + tail if tail else "")
    cls = _errors.ReportOptionError if status == 2 else _errors.ReportError
    err = cls(message, returncode=status, command=command, output="\n".join(log))
    err.status, err.status_name = (_errors.ERR_ARGUMENT, "EV_ERR_ARGUMENT") if status == 2 else (None, None)
    return err


def _image_shape(options):
    """The shape the tool gives a model for images: 1 x channels x crop
    (3 x 224 x 224 unless channels= or crop= say otherwise), to trace a
    module that cannot be scripted; None when the options do not say it
    plainly."""
    channels, crop = options.get("channels") or 3, options.get("crop") or 224
    try:
        h, w = (crop, crop) if np.ndim(crop) == 0 else tuple(crop)
        return (1, int(channels), int(h), int(w))
    except (TypeError, ValueError):
        return None


def report(images=None, model=None, output=None, *, progress=None, example_input=None, **options):
    """Make the `embedviz report` folder (index.html and its pictures) from Python.

    The tool's options are keywords of the same name ('_' for '-'), so an
    option a newer tool adds is usable the day it exists.

    Parameters
    ----------
    images : str or os.PathLike, optional
        ``--images``: a folder with one subfolder per class.
    model : str, os.PathLike or torch.nn.Module, optional
        ``--model``: a TorchScript file, or a module, made TorchScript as
        `FeatureExtractor` does (scripted; traced on `example_input` when
        scripting fails) into a temporary file removed afterwards.
    output : str or os.PathLike
        ``--output``: the report folder (required).
    progress : None, bool, stream or callable, optional
        Where the tool's progress and notes go, line by line: None or True
        Python's ``sys.stderr``; False nowhere; a stream (``.write``); a
        callable called with each line (str), which cancels the run by
        returning a true value (raising `Cancelled`).
    example_input : tuple of int, array or tensor, optional
        The input (or its shape) to trace a `model` module that cannot be
        scripted; with `images`, by default 1 x `channels` x `crop` (3 x
        224 x 224, the tool's defaults).
    **options
        Any other option of ``embedviz report --help``, named with '_' for
        '-': ``reference_images``, ``layers``, ``seed``, ``samples``,
        ``train_samples``, ``perplexity``, ``iterations``, ``threads``,
        ``resize``, ``crop``, ``mean``, ``std``, ``channels``,
        ``features``, ``labels``, ``scores``, ``data``, ``dataset``,
        ``penultimate``, ``softmax``, ``quiet``... True gives a flag,
        False/None leave the option out, a list is joined with ','
        (``layers=["pixels", "layer1", "fc"]``, ``mean=[0.5, 0.5, 0.5]``);
        numpy arrays given as ``features``, ``labels`` or ``scores`` are
        saved to temporary .npy files.

    Returns
    -------
    Report
        ``.index`` (index.html's path, also ``str()`` / ``os.fspath()``),
        ``.folder``, ``.url``, ``.command``, ``.log``.

    Raises
    ------
    ToolNotFoundError
        No embedviz tool (see `tool_path`; set EMBEDVIZ_CLI).
    ParameterTypeError
        A keyword the tool has no option for (the message lists its
        options), or a value that is no text, path, number or list.
    ReportOptionError
        The tool refused an option's value (a ValueError).
    ReportError
        The tool failed; the message is the tool's, with its options named
        as the keywords.
    Cancelled, KeyboardInterrupt
        The progress callback or Ctrl-C stopped the run (the tool is
        interrupted and leaves no half-written index.html).

    See Also
    --------
    tool_path : The tool that is run.
    FeatureExtractor : The activations alone, in Python.

    Examples
    --------
    >>> import webbrowser
    >>> import embedviz
    >>> r = embedviz.report(images="photos/val", model="resnet18.pt", output="report",
    ...                     reference_images="photos/train", layers=["pixels", "layer3", "fc"])  # doctest: +SKIP
    >>> webbrowser.open(r.url)  # doctest: +SKIP
    """
    if output is None:
        raise _type_error("report() needs output=: the folder to write the report in")
    tool = tool_path()
    given = {"images": images, "model": model, "output": output}
    given = {k: v for k, v in given.items() if v is not None}
    given.update(options)
    _check_known(given, tool)
    sink = _Sink(progress)
    script = None
    if example_input is None and images is not None:
        example_input = _image_shape(options)
    if model is not None and not isinstance(model, (str, bytes, os.PathLike)):
        if not _torchscript.is_module(model):
            raise _type_error("model must be the path of a TorchScript file or a torch.nn.Module, "
                              "got %r (%s)" % (model, type(model).__name__))
        try:
            script = _torchscript.TorchScriptFile(model, example_input)
        except _torchscript.NeedsExample as e:
            raise _errors.EmbedvizValueError(
                "the torch.nn.Module %s cannot be scripted (%s): give example_input= (an input or "
                "its shape, e.g. (1, 3, 224, 224)) to trace it, or save it with torch.jit.save "
                "and pass the file" % (type(model).__name__, _torchscript._first_line(e.script_error)),
                status=_errors.ERR_ARGUMENT, status_name="EV_ERR_ARGUMENT") from None
        given["model"] = script.path
    try:
        with tempfile.TemporaryDirectory(prefix="embedviz-report-") as tmp:
            command = [tool, "report"] + option_arguments(given, tmp)
            status, log, errors = _run(command, sink)
    finally:
        if script is not None:
            script.close()
    if status != 0:
        raise _failure(status, command, log, errors, tool_options(tool))
    result = Report(output, command, log)
    if not os.path.isfile(result.index):
        raise _errors.ReportError("the embedviz tool finished but %s does not exist" % result.index,
                                  returncode=status, command=command, output="\n".join(log))
    return result
