"""A torch.nn.Module as a TorchScript file libembedviz can load.

The library loads models through libtorch's C++ loader (ev_model_load), so
a Python module is first made TorchScript: torch.jit.script, and when that
fails, torch.jit.trace with an example input. The file is a temporary one,
owned by the returned TorchScriptFile and removed when it is closed or
collected. torch is never imported here: a Module can only come from a
program that has imported torch already, so it is taken from sys.modules.
"""
import os
import sys
import tempfile
import weakref

from . import _errors


def torch_module_class():
    """torch.nn.Module when the program has imported torch, else None
    (importing torch here would cost seconds for every path-only caller)."""
    torch = sys.modules.get("torch")
    nn = getattr(torch, "nn", None) if torch is not None else None
    return getattr(nn, "Module", None)


def is_module(obj):
    cls = torch_module_class()
    return cls is not None and isinstance(obj, cls)


def _bad(message):
    return _errors.EmbedvizValueError(message, status=_errors.ERR_ARGUMENT,
                                      status_name="EV_ERR_ARGUMENT")


def _first_line(exc):
    text = str(exc).strip() or type(exc).__name__
    line = text.splitlines()[0].strip()
    if len(line) > 200:   # tracer messages quote whole tensors
        line = line[:197] + "..."
    return "%s: %s" % (type(exc).__name__, line)


def _module_device(module, torch):
    for p in module.parameters():
        return p.device
    for b in module.buffers():
        return b.device
    return torch.device("cpu")


def example_tensor(example, module, torch):
    """The example input as a tensor on the module's device: a shape (a
    tuple of ints) gives zeros of that shape; an array or a tensor is used
    as it is (as float32 when it is not floating point)."""
    device = _module_device(module, torch)
    if isinstance(example, (tuple, list)) and all(isinstance(d, int) and not isinstance(d, bool)
                                                  for d in example):
        if not example or min(example) < 1:
            raise _bad("example_input must be a shape of positive sizes, e.g. (1, 3, 224, 224), "
                       "got %r" % (tuple(example),))
        return torch.zeros(tuple(example), device=device)
    t = torch.as_tensor(example)
    if not t.is_floating_point():
        t = t.float()
    return t.to(device)


def _script(module, torch):
    if isinstance(module, torch.jit.ScriptModule):
        return module
    return torch.jit.script(module)


def _trace(module, example, torch):
    """torch.jit.trace in eval mode without gradients (a module traced in
    training mode would keep its dropout and batch statistics), leaving the
    caller's module in the mode it was in."""
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            return torch.jit.trace(module, example_tensor(example, module, torch), check_trace=False)
    finally:
        module.train(was_training)


def shape_text(example):
    shape = getattr(example, "shape", example)
    return "(%s)" % ", ".join(str(int(d)) for d in shape)


class TorchScriptFile:
    """A temporary TorchScript file made from a torch.nn.Module.

    Parameters
    ----------
    module : torch.nn.Module
        The model. A ``torch.jit.ScriptModule`` is saved as it is; any other
        module is scripted, or traced when scripting fails.
    example_input : tuple of int, array or tensor, optional
        What tracing runs the module on: a shape such as ``(1, 3, 224,
        224)`` (zeros) or an input. Without it, a module that cannot be
        scripted raises `NeedsExample` so that the caller can trace it later
        on the shape of its data.

    Attributes
    ----------
    path : str
        The file; removed by `close` or when this object is collected.
    how : str
        "scripted", "traced" or "saved" (a ScriptModule as it was).
    """

    def __init__(self, module, example_input=None):
        import torch  # only reached with a Module, so torch is imported already
        self.path, self.how = None, None
        self._finalizer = None
        script_error = None
        how = "saved" if isinstance(module, torch.jit.ScriptModule) else "scripted"
        try:
            scripted = _script(module, torch)
        except Exception as e:  # noqa: BLE001 - torch raises many kinds here
            scripted, script_error = None, e
        if scripted is None:
            if example_input is None:
                raise NeedsExample(script_error)
            try:
                scripted, how = _trace(module, example_input, torch), "traced"
            except _errors.EmbedvizError:
                raise
            except Exception as e:  # noqa: BLE001
                raise conversion_error(module, script_error, e, example_input) from e
        fd, path = tempfile.mkstemp(prefix="embedviz-model-", suffix=".pt")
        os.close(fd)
        self._finalizer = weakref.finalize(self, _remove, path)
        try:
            torch.jit.save(scripted, path)
        except Exception as e:
            self.close()
            raise _bad("the %s model %s could not be saved as TorchScript: %s"
                       % (how, type(module).__name__, _first_line(e))) from e
        self.path, self.how = path, how
        self.script_error = script_error

    def close(self):
        """Remove the file (again: a no-op)."""
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


class NeedsExample(Exception):
    """Scripting failed and no example input was given to trace with."""

    def __init__(self, script_error):
        super().__init__(str(script_error))
        self.script_error = script_error


def conversion_error(module, script_error, trace_error, example_input):
    """The error when neither scripting nor tracing made TorchScript: both
    failures, and what to do."""
    return _bad(
        "could not make the torch.nn.Module %s TorchScript: torch.jit.script failed (%s), and "
        "torch.jit.trace on an input of shape %s failed (%s). Make forward() scriptable, give "
        "example_input= an input the model accepts, or save the model yourself with "
        "torch.jit.save and pass the file"
        % (type(module).__name__, _first_line(script_error), shape_text(example_input),
           _first_line(trace_error)))
