"""FeatureExtractor: layer activations of a TorchScript model (extract.h),
over numpy batches, image files, image folders and IDX files (io.h); a
torch.nn.Module is made TorchScript first (_torchscript.py)."""
import ctypes
import os

import numpy as np

from . import _arrays, _errors, _lib, _progress, _torchscript

_vp, _sz, _int = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
_szp = ctypes.POINTER(ctypes.c_size_t)
_lib.register({
    "ev_extract_available": (_int, []),
    "ev_model_load": (_int, [ctypes.c_char_p, _int, _vp]),
    "ev_model_free": (None, [_vp]),
    "ev_model_n_layers": (_int, [_vp, _szp]),
    "ev_model_layer_name": (_int, [_vp, _sz, ctypes.POINTER(ctypes.c_char_p)]),
    "ev_model_layer_kind": (_int, [_vp, _sz, ctypes.POINTER(ctypes.c_char_p)]),  # since 1.1
    "ev_extractor_create": (_int, [_vp, _vp]),
    "ev_extractor_free": (None, [_vp]),
    "ev_extractor_set": (_int, [_vp, _int, ctypes.c_double]),
    "ev_extractor_param_default": (_int, [_int, ctypes.POINTER(ctypes.c_double)]),
    "ev_extractor_set_progress": (_int, [_vp, _lib.PROGRESS_FN, _vp]),
    "ev_extractor_add_layer": (_int, [_vp, ctypes.c_char_p]),
    "ev_extractor_prepare": (_int, [_vp, _sz, _sz, _sz]),
    "ev_extractor_layer_cols": (_int, [_vp, _sz, _szp]),
    "ev_extractor_run": (_int, [_vp, _vp, _sz, _sz, _sz, _sz, _sz, _vp, _vp]),
    "ev_dataset_from_paths": (_int, [_vp, _sz, _vp, _int, _vp]),
    "ev_dataset_from_folder": (_int, [ctypes.c_char_p, _int, _vp]),
    "ev_dataset_from_idx": (_int, [ctypes.c_char_p, ctypes.c_char_p, _vp]),
    "ev_dataset_from_npy": (_int, [ctypes.c_char_p, ctypes.c_char_p, _vp]),
    "ev_dataset_free": (None, [_vp]),
    "ev_dataset_set": (_int, [_vp, _int, ctypes.c_double]),
    "ev_dataset_param_default": (_int, [_int, ctypes.POINTER(ctypes.c_double)]),
    "ev_dataset_skipped_count": (_sz, [_vp]),
    "ev_dataset_skipped_path": (ctypes.c_char_p, [_vp, _sz]),
    "ev_dataset_skipped_reason": (ctypes.c_char_p, [_vp, _sz]),
    "ev_dataset_class_count": (_int, [_vp, _szp]),
    "ev_dataset_class_name": (ctypes.c_char_p, [_vp, _sz]),
    "ev_dataset_item_path": (ctypes.c_char_p, [_vp, _sz]),
    "ev_dataset_count": (_int, [_vp, _szp]),
    "ev_dataset_item_shape": (_int, [_vp, _szp, _szp, _szp]),
    "ev_dataset_read": (_int, [_vp, _sz, _sz, _vp, _sz]),
    "ev_dataset_labels": (_int, [_vp, _vp, _sz]),
})

_BATCH_SIZE, _POOL, _THREADS = 1, 2, 3
_DEVICES = {"cpu": 0, "cuda": 1}
_READ_CHUNK = 512
# io.h's ev_dataset_param and ev_normalize values.
_DS = {"threads": 1, "channels": 2, "resize": 3, "resize_h": 4, "resize_w": 5, "crop": 6,
       "crop_h": 7, "crop_w": 8, "scale": 9, "normalize": 10, "mean": 11, "std": 14, "on_error": 17}
_NORMALIZE = {None: 0, "auto": 0, "none": 1, "imagenet": 2}


def _preprocess_settings(resize, crop, channels, normalize, mean, std, skip_bad):
    """(key, value) pairs for ev_dataset_set from torchvision-like options."""
    out = []
    for name, v in (("resize", resize), ("crop", crop)):
        if v is None:
            continue
        if np.ndim(v) == 0:
            out.append((_DS[name], int(v)))
        elif len(v) == 2:
            out += [(_DS[name + "_h"], int(v[0])), (_DS[name + "_w"], int(v[1]))]
        else:
            raise _bad("%s must be an int or a (height, width) pair, got %r" % (name, v))
    if channels is not None:
        out.append((_DS["channels"], int(channels)))
    if (mean is None) != (std is None):
        raise _bad("give mean and std together (one value per channel)")
    if mean is not None:
        if len(mean) != len(std) or not 1 <= len(mean) <= 3:
            raise _bad("mean and std need one value per channel (1 or 3), got %d and %d"
                       % (len(mean), len(std)))
        out.append((_DS["normalize"], 3))
        out += [(_DS["mean"] + i, float(m)) for i, m in enumerate(mean)]
        out += [(_DS["std"] + i, float(v)) for i, v in enumerate(std)]
    elif normalize not in _NORMALIZE:
        raise _bad("normalize must be 'auto', 'none' or 'imagenet', got %r" % (normalize,))
    else:
        out.append((_DS["normalize"], _NORMALIZE[normalize]))
    if skip_bad:
        out.append((_DS["on_error"], 1))
    return out


def _bad(message):
    return _errors.EmbedvizValueError(message, status=_errors.ERR_ARGUMENT,
                                      status_name="EV_ERR_ARGUMENT")


def _labels_array(labels, n):
    """labels as n int32 class numbers (-1: no label)."""
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != n:
        raise _bad("labels must be one class number per input (%d), got shape %s" % (n, y.shape))
    if y.dtype.kind not in "iub":
        if y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all():
            y = y.astype(np.int64)
        else:
            raise _bad("labels must be whole class numbers (0, 1, ...; -1 for none), got dtype %s"
                       % y.dtype)
    if len(y) and y.min() < -1:
        raise _bad("labels must be class numbers >= 0 (-1 for none), got %d" % y.min())
    if len(y) and y.max() > np.iinfo(np.int32).max:
        raise _bad("labels must be class numbers below 2^31, got %d" % y.max())
    return np.ascontiguousarray(y, dtype=np.int32)


class _Dataset:
    """An ev_dataset made from a path (folder, IDX, .npy) or a list of image
    files, freed when collected."""

    def __init__(self, source, settings=(), skip_bad=False, labels=None):
        L = _lib.lib()
        ptr = ctypes.c_void_p()
        if isinstance(source, (list, tuple)):
            names = [os.fsencode(p) for p in source]
            arr = (ctypes.c_char_p * len(names))(*names)
            y = None
            if labels is not None:
                y = _labels_array(labels, len(names))
            _lib.check(L.ev_dataset_from_paths(ctypes.cast(arr, _vp), len(names),
                                               None if y is None else y.ctypes.data,
                                               int(skip_bad), ctypes.byref(ptr)))
        else:
            path = os.fsencode(source)
            if os.path.isdir(source):
                if labels is not None:
                    raise _bad("labels: a folder's labels are its class subfolders; give labels only "
                               "with a list of image files, or an IDX or .npy labels file with an "
                               "IDX or .npy images file")
                _lib.check(L.ev_dataset_from_folder(path, int(skip_bad), ctypes.byref(ptr)))
            else:
                if labels is not None and not isinstance(labels, (str, bytes, os.PathLike)):
                    raise _bad("labels: with an IDX or .npy images file give the path of its labels "
                               "file, got %s" % type(labels).__name__)
                lab = None if labels is None else os.fsencode(labels)
                if source.endswith(".npy"):
                    _lib.check(L.ev_dataset_from_npy(path, lab, ctypes.byref(ptr)))
                else:
                    _lib.check(L.ev_dataset_from_idx(path, lab, ctypes.byref(ptr)))
        self.L, self.ptr = L, ptr.value
        for key, value in settings:
            _lib.check(L.ev_dataset_set(self.ptr, key, float(value)))

    def labels(self):
        out = np.empty(self.count(), np.int32)
        _lib.check(self.L.ev_dataset_labels(self.ptr, out.ctypes.data, len(out)))
        return out

    def classes(self):
        n = ctypes.c_size_t()
        _lib.check(self.L.ev_dataset_class_count(self.ptr, ctypes.byref(n)))
        names = [self.L.ev_dataset_class_name(self.ptr, i) for i in range(n.value)]
        return [None if b is None else os.fsdecode(b) for b in names]

    def paths(self):
        """The file of each item, or None for the items of an array file."""
        got = [self.L.ev_dataset_item_path(self.ptr, i) for i in range(self.count())]
        if all(p is None for p in got):
            return None
        return [None if p is None else os.fsdecode(p) for p in got]

    def skipped_reasons(self):
        n = self.L.ev_dataset_skipped_count(self.ptr)
        return [(os.fsdecode(self.L.ev_dataset_skipped_path(self.ptr, i)),
                 (self.L.ev_dataset_skipped_reason(self.ptr, i) or b"").decode("utf-8", "replace"))
                for i in range(n)]

    def skipped(self):
        n = self.L.ev_dataset_skipped_count(self.ptr)
        return [os.fsdecode(self.L.ev_dataset_skipped_path(self.ptr, i)) for i in range(n)]

    def __del__(self):
        if getattr(self, "ptr", None):
            self.L.ev_dataset_free(self.ptr)
            self.ptr = None

    def count(self):
        n = ctypes.c_size_t()
        _lib.check(self.L.ev_dataset_count(self.ptr, ctypes.byref(n)))
        return n.value

    def shape(self):
        c, h, w = ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_size_t()
        _lib.check(self.L.ev_dataset_item_shape(self.ptr, ctypes.byref(c), ctypes.byref(h),
                                                ctypes.byref(w)))
        return c.value, h.value, w.value

    def read(self, start, count):
        c, h, w = self.shape()
        out = np.empty((count, c, h, w), np.float32)
        _lib.check(self.L.ev_dataset_read(self.ptr, start, count, out.ctypes.data, c * h * w))
        return out


class Features:
    """What `FeatureExtractor.extract` returns: the activations and what each row is.

    Parameters
    ----------
    features : dict of str to numpy.ndarray
        Layer name -> activations, one row per input.
    labels : numpy.ndarray of int32 or None
        The class number of each row (-1: none).
    classes : list of str
        The class names by number.
    paths : list of str or None
        The file of each row.
    skipped : list of (str, str)
        (path, reason) of each file left out.

    Attributes
    ----------
    features : dict of str to numpy.ndarray
        Layer name -> float32 array of shape (n, M), one row per input, in
        the order of `paths` (also for a single layer name).
    labels : numpy.ndarray of int32, shape (n,), or None
        The class number of each row: for a folder, the index of its class
        subfolder in `classes` (torchvision's ``ImageFolder.targets``); for
        other sources the labels given or read from their labels file; -1
        for a row without a label. None when the inputs carry no labels.
    classes : list of str
        The class names by number: for a folder its class subfolders, sorted
        as torchvision's ``ImageFolder.classes`` (byte order); otherwise the
        numbers as text ("0", "1", ...). Empty without labels.
    paths : list of str, or None
        The image file of each row (torchvision's ``ImageFolder.samples``
        paths, ``[p for p, _ in samples]``); None for array inputs (a numpy
        batch, an IDX or .npy file), whose row i is item i.
    skipped : list of (str, str)
        With ``skip_bad=True``: (path, reason) of every file left out, and
        of files found corrupt while reading, whose rows are all zeros.
    class_to_idx : dict of str to int
        Class name -> number, as torchvision's ``ImageFolder.class_to_idx``.

    See Also
    --------
    FeatureExtractor.extract : Makes one.

    Notes
    -----
    ``result[name]`` is ``result.features[name]``; ``len(result)`` is the
    number of rows.

    Examples
    --------
    >>> import numpy as np
    >>> from embedviz import Features
    >>> res = Features({"fc": np.zeros((3, 4), np.float32)}, np.array([0, 1, 1], np.int32),
    ...                ["cat", "dog"], ["p/cat/1.jpg", "p/dog/1.jpg", "p/dog/2.jpg"], [])
    >>> res["fc"].shape, len(res), res.classes[res.labels[2]]
    ((3, 4), 3, 'dog')
    >>> res
    Features(3 rows; layers fc: 4; 2 classes)
    """

    def __init__(self, features, labels, classes, paths, skipped):
        self.features, self.labels, self.classes = features, labels, classes
        self.paths, self.skipped = paths, skipped

    @property
    def class_to_idx(self):
        """Class name -> number, as torchvision's ``ImageFolder.class_to_idx``.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import Features
        >>> res = Features({"fc": np.zeros((2, 4))}, np.array([0, 1]), ["cat", "dog"], None, [])
        >>> res.class_to_idx
        {'cat': 0, 'dog': 1}
        """
        return {name: i for i, name in enumerate(self.classes)}

    def __getitem__(self, layer):
        return self.features[layer]

    def __len__(self):
        return len(next(iter(self.features.values())))

    def __repr__(self):
        return "Features(%d rows; layers %s; %d classes%s)" % (
            len(self), ", ".join("%s: %d" % (k, v.shape[1]) for k, v in self.features.items()),
            len(self.classes), "; %d skipped" % len(self.skipped) if self.skipped else "")


class FeatureExtractor:
    """The activations of named layers of a model, one row per input.

    As MATLAB's ``activations(..., 'OutputAs', 'rows')``, computed by
    libembedviz's libtorch backend (loaded on first use).

    Parameters
    ----------
    model : str, os.PathLike or torch.nn.Module
        A TorchScript file, or a ``torch.nn.Module``. A module is made
        TorchScript with ``torch.jit.script``; when that fails, with
        ``torch.jit.trace`` (in eval mode, without gradients) on
        `example_input`, or, without one, on the first item of the data
        given to `activations` / `extract`. The TorchScript is saved to a
        temporary file this object owns (`model_path`), removed by `close`
        or when the object is collected, and loaded from there as any
        file. torch is imported only when a module is given.
    device : {"cpu", "cuda"}, default "cpu"
    n_jobs : int, optional
        Threads (None or -1: every core).
    progress : bool or callable, optional
        A progress bar (True) or a callable ``(stage, step, total, value)``
        that cancels by returning a true value.
    example_input : tuple of int, array or tensor, optional
        An input, or a shape such as ``(1, 3, 224, 224)`` (zeros), to trace
        a module that cannot be scripted.
    model_path : str, optional
        The former name of `model`.

    Attributes
    ----------
    model_path : str or None
        The TorchScript file loaded (for a module, the temporary file; None
        while a module waits to be traced on the data).
    conversion : str or None
        None for a file; for a module "scripted", "traced" or "saved" (a
        ``torch.jit.ScriptModule`` as it was).
    layers : list of str
        The layer names the model offers: named submodules, "output",
        "softmax".
    layer_kinds : dict of str to str
        The module class of each layer ("Linear", "Conv2d", ...; "" for
        output and softmax).
    skipped_ : list of str
        After a run with ``skip_bad=True``: the files left out.

    Raises
    ------
    FileNotFoundError, FormatError
        The file does not exist or is not TorchScript.
    EmbedvizValueError
        A module that neither scripting nor tracing makes TorchScript (the
        message gives both failures), or a bad `device`.
    ParameterTypeError
        `model` is neither a path nor a ``torch.nn.Module``.

    Notes
    -----
    Inputs are a numpy batch N x C x H x W (N x H x W is taken as one
    channel) used as it is, a folder of images (one subfolder per class), a
    list of image files, an IDX images file or a .npy file. Files go
    through io.h's preprocessing, torchvision's Resize, CenterCrop, ToTensor
    and Normalize: by default images become RGB scaled to [0, 1] with
    ImageNet's normalisation, IDX images grey / 255. Rows are flattened in
    PyTorch's C order (channel, row, column); ``pool=True`` averages feature
    maps over their spatial dimensions.

    See Also
    --------
    Features : What `extract` returns.
    report : The whole HTML report from a model and a folder of images.

    Examples
    --------
    >>> import torchvision  # doctest: +SKIP
    >>> from embedviz import FeatureExtractor
    >>> fx = FeatureExtractor(torchvision.models.resnet18(num_classes=12))  # doctest: +SKIP
    >>> res = fx.extract("photos/", ["avgpool", "softmax"], pool=True,
    ...                  resize=256, crop=224)  # doctest: +SKIP
    >>> res["avgpool"].shape, res.labels[:3], res.classes[:2], res.paths[0]  # doctest: +SKIP
    ((240, 512), array([0, 0, 0], dtype=int32), ['cat', 'dog'], 'photos/cat/1.jpg')
    """

    def __init__(self, model=None, device="cpu", *, n_jobs=None, progress=None, example_input=None,
                 model_path=None):
        if model_path is not None:
            if model is not None:
                raise _bad("give model or model_path (its former name), not both")
            model = model_path
        if device not in _DEVICES:
            raise _bad("device must be 'cpu' or 'cuda', got %r" % (device,))
        self.device, self.n_jobs, self.progress = device, n_jobs, progress
        self._L, self._model, self._file, self._pending = _lib.lib(), None, None, None
        self.model_path, self.conversion = None, None
        if isinstance(model, (str, bytes, os.PathLike)):
            self.model_path = os.fsdecode(model)
            self._what = "the model %s" % self.model_path
            self._load(self.model_path)
        elif _torchscript.is_module(model):
            self._what = "the torch.nn.Module %s" % type(model).__name__
            try:
                self._file = _torchscript.TorchScriptFile(model, example_input)
            except _torchscript.NeedsExample as e:
                self._pending = (model, e.script_error)
            else:
                self._load_file()
        else:
            raise _errors.ParameterTypeError(
                "model must be the path of a TorchScript file or a torch.nn.Module, got %r (%s)"
                % (model, type(model).__name__),
                status=_errors.ERR_ARGUMENT, status_name="EV_ERR_ARGUMENT")

    def _load(self, path):
        ptr = ctypes.c_void_p()
        _lib.check(self._L.ev_model_load(os.fsencode(path), _DEVICES[self.device], ctypes.byref(ptr)))
        self._model = ptr.value

    def _load_file(self):
        try:
            self._load(self._file.path)
        except BaseException:
            self._file.close()
            raise
        self.model_path, self.conversion = self._file.path, self._file.how

    def _ensure_model(self, example):
        """Trace a module that could not be scripted on `example` (the first
        item of the data), once."""
        if self._model is not None:
            return
        if self._pending is None:
            raise _errors.NotFittedError("this FeatureExtractor was closed: make a new one",
                                         status=_errors.ERR_STATE, status_name="EV_ERR_STATE")
        module, script_error = self._pending
        import torch
        try:
            traced = _torchscript._trace(module, example, torch)
        except Exception as e:  # noqa: BLE001 - torch raises many kinds here
            raise _torchscript.conversion_error(module, script_error, e, example) from e
        self._file = _torchscript.TorchScriptFile(traced)
        self._file.how = "traced"
        self._load_file()
        self._pending = None

    def close(self):
        """Free the model and remove a temporary TorchScript file.

        The extractor cannot be used afterwards; calling close again does
        nothing. A ``with`` block calls it at its end; otherwise it runs
        when the object is collected.

        Examples
        --------
        >>> from embedviz import FeatureExtractor
        >>> with FeatureExtractor("resnet18.pt") as fx:  # doctest: +SKIP
        ...     rows = fx.activations("photos/", "avgpool", pool=True)
        >>> fx = FeatureExtractor(net)  # doctest: +SKIP
        >>> fx.model_path  # doctest: +SKIP
        '/tmp/embedviz-...pt'
        >>> fx.close()  # doctest: +SKIP
        """
        if getattr(self, "_model", None):
            self._L.ev_model_free(self._model)
            self._model = None
        if getattr(self, "_file", None) is not None:
            self._file.close()
        self._pending = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def __repr__(self):
        how = " (%s)" % self.conversion if self.conversion else ""
        return "FeatureExtractor(%s%s, device=%r)" % (self._what, how, self.device)

    @property
    def layers(self):
        """The layer names this model offers.

        Every named submodule by its dotted path (as ``named_modules()``
        spells it), "output" (or its elements, "output[0]"...) and
        "softmax"; each is a `layers` value of `activations` and `extract`.
        Not listed but accepted: "<module>:input", the input of a
        submodule (e.g. "fc:input", a ResNet's penultimate features;
        docs/extract.md).

        Raises
        ------
        EmbedvizValueError
            A module that could not be scripted and waits to be traced on
            the data (give example_input= to trace it at once).

        Examples
        --------
        >>> from embedviz import FeatureExtractor
        >>> FeatureExtractor("resnet18.pt").layers[:4]  # doctest: +SKIP
        ['conv1', 'bn1', 'relu', 'maxpool']
        """
        if self._model is None:
            if self._pending is not None:
                raise _bad("%s has no layer list yet: torch.jit.script failed (%s), so it is traced "
                           "on the first data given to activations() or extract(); give "
                           "example_input= to trace it at once"
                           % (self._what, _torchscript._first_line(self._pending[1])))
            self._ensure_model(None)
        n = ctypes.c_size_t()
        _lib.check(self._L.ev_model_n_layers(self._model, ctypes.byref(n)))
        names = []
        for i in range(n.value):
            name = ctypes.c_char_p()
            _lib.check(self._L.ev_model_layer_name(self._model, i, ctypes.byref(name)))
            names.append(name.value.decode())
        return names

    def activations(self, inputs, layers=None, batch_size=None, pool=False, *, resize=None,
                    crop=None, channels=None, normalize="auto", mean=None, std=None,
                    skip_bad=False):
        """Activations of `layers` for every input.

        Parameters
        ----------
        inputs : numpy.ndarray, str, os.PathLike or list of str
            A batch N x C x H x W (or N x H x W), a folder of images with
            one subfolder per class, a list of image files, an IDX images
            file or a .npy file.
        layers : str or list of str, default "output"
            Layer names (see `layers`).
        batch_size : int, optional
            Inputs per forward pass (the library's default: 32).
        pool : bool, default False
            Average feature maps over their spatial dimensions.
        resize : int or (int, int), optional
            For files: the shorter side (torchvision's ``Resize(int)``), or
            (height, width).
        crop : int or (int, int), optional
            For files: a centred crop (``CenterCrop``).
        channels : {1, 3}, optional
            For files: grey or RGB.
        normalize : {"auto", "imagenet", "none"}, default "auto"
            "auto": ImageNet's mean and std for 3 channels, none for 1.
        mean, std : sequence of float, optional
            Per-channel normalisation (given together).
        skip_bad : bool, default False
            Leave unreadable image files out; they are listed in
            ``skipped_``.

        Returns
        -------
        dict of str to numpy.ndarray, or numpy.ndarray
            Layer name -> float32 array (n, M); one array when `layers` is
            a single name. `extract` also returns the labels, class names
            and file paths.

        Raises
        ------
        LayerNotFoundError
            A layer name the model does not have.
        FileNotFoundError, FormatError
            An input file or folder is missing or unreadable (unless
            skip_bad).
        EmbedvizValueError
            Inputs of the wrong shape or a bad preprocessing option.

        See Also
        --------
        extract : The same rows with their labels, class names and files.

        Examples
        --------
        >>> import numpy as np
        >>> from embedviz import FeatureExtractor
        >>> fx = FeatureExtractor("resnet18.pt")  # doctest: +SKIP
        >>> fx.activations(np.zeros((2, 3, 224, 224), np.float32), "fc").shape  # doctest: +SKIP
        (2, 1000)
        >>> out = fx.activations("photos/", ["layer4", "fc"], pool=True)  # doctest: +SKIP
        >>> out["layer4"].shape  # doctest: +SKIP
        (240, 512)
        """
        out, single, _ = self._extract(inputs, layers, batch_size, pool, resize, crop, channels,
                                       normalize, mean, std, skip_bad, None)
        return next(iter(out.values())) if single else out

    def extract(self, inputs, layers=None, batch_size=None, pool=False, *, labels=None, resize=None,
                crop=None, channels=None, normalize="auto", mean=None, std=None, skip_bad=False):
        """Activations of `layers` for every input, with each row's label, class and file.

        Parameters
        ----------
        inputs, layers, batch_size, pool, resize, crop, channels, normalize, mean, std, skip_bad
            As in `activations`.
        labels : array of int, str or os.PathLike, optional
            For a list of image files or a numpy batch: the class number of
            each input (-1: none). For an IDX or .npy images file: the path
            of its labels file (IDX, or a .npy integer vector). A folder's
            labels are its class subfolders.

        Returns
        -------
        Features
            ``features`` (layer name -> float32 array (n, M), also for a
            single name), ``labels`` (int32 (n,) or None), ``classes``
            (names by class number), ``paths`` (the file of each row, or
            None for arrays) and ``skipped`` ((path, reason) pairs).

        See Also
        --------
        activations : The activations alone.

        Examples
        --------
        >>> from embedviz import FeatureExtractor
        >>> fx = FeatureExtractor("resnet18.pt")  # doctest: +SKIP
        >>> res = fx.extract("photos/", "avgpool", pool=True)  # doctest: +SKIP
        >>> res["avgpool"].shape, res.classes, res.labels[:4], res.paths[0]  # doctest: +SKIP
        """
        out, _, ds = self._extract(inputs, layers, batch_size, pool, resize, crop, channels,
                                   normalize, mean, std, skip_bad, labels)
        if ds is None:
            n = len(next(iter(out.values())))
            y = None if labels is None else _labels_array(labels, n)
            top = int(y.max()) if y is not None and len(y) else -1
            return Features(out, y, [str(c) for c in range(top + 1)], None, [])
        classes = ds.classes()
        return Features(out, ds.labels() if classes else None, classes, ds.paths(),
                        ds.skipped_reasons())

    def _extract(self, inputs, layers, batch_size, pool, resize, crop, channels, normalize, mean,
                 std, skip_bad, labels):
        """(layer name -> rows, whether `layers` was one name, the data set
        or None for a numpy batch)."""
        settings = _preprocess_settings(resize, crop, channels, normalize, mean, std, skip_bad)
        self.skipped_ = []
        single = isinstance(layers, str)
        names = [layers] if single else list(layers or ["output"])
        if not names:
            raise _bad("layers is empty: name at least one (see .layers)")
        if isinstance(inputs, (list, tuple)) and len(inputs) == 0:
            raise _bad("inputs is an empty list: give at least one image file (or a folder, "
                       "an IDX or .npy file, or a numpy batch)")
        is_files = isinstance(inputs, (str, bytes, os.PathLike, list, tuple))
        # A loaded model checks the layer names before the files are listed.
        ex = self._extractor(names, batch_size, pool) if self._model is not None else None
        try:
            if is_files:
                source = list(inputs) if isinstance(inputs, (list, tuple)) else os.fsdecode(inputs)
                ds = _Dataset(source, settings, skip_bad, labels)
                n = ds.count()
                if ex is None:
                    self._ensure_model(ds.read(0, 1))
                    ex = self._extractor(names, batch_size, pool)
                parts = [self._run(ex, names, ds.read(s, min(_READ_CHUNK, n - s)))
                         for s in range(0, n, _READ_CHUNK)]
                out = {k: np.concatenate([p[k] for p in parts]) for k in names}
                self.skipped_ = ds.skipped()
                return out, single, ds
            if ex is None:
                x = np.asarray(inputs, dtype=np.float32)
                if x.ndim not in (3, 4) or len(x) == 0:
                    raise _bad("inputs must be N x C x H x W (or N x H x W) with N >= 1, got shape %s"
                               % (x.shape,))
                self._ensure_model(x[:1, None] if x.ndim == 3 else x[:1])
                ex = self._extractor(names, batch_size, pool)
            return self._run(ex, names, inputs), single, None
        finally:
            if ex is not None:
                self._L.ev_extractor_free(ex)

    def _extractor(self, names, batch_size, pool):
        ptr = ctypes.c_void_p()
        _lib.check(self._L.ev_extractor_create(self._model, ctypes.byref(ptr)))
        ex = ptr.value
        try:
            if batch_size is not None:  # else the library's default (32)
                _lib.check(self._L.ev_extractor_set(ex, _BATCH_SIZE, float(batch_size)))
            _lib.check(self._L.ev_extractor_set(ex, _POOL, 1.0 if pool else 0.0))
            _lib.check(self._L.ev_extractor_set(ex, _THREADS,
                                                float(_arrays.n_jobs_to_threads(self.n_jobs))))
            for name in names:
                if not isinstance(name, str):
                    raise _errors.ParameterTypeError(
                        "layers must be layer names (str), got %r (%s)" % (name, type(name).__name__),
                        status=_errors.ERR_ARGUMENT, status_name="EV_ERR_ARGUMENT")
                try:
                    _lib.check(self._L.ev_extractor_add_layer(ex, name.encode()))
                except _errors.EmbedvizFileNotFoundError as e:
                    raise self._no_layer(name, str(e)) from None
        except BaseException:
            self._L.ev_extractor_free(ex)
            raise
        return ex

    def _no_layer(self, name, message=None):
        """A missing layer is a bad key, not a missing file: name it, the
        closest names the model has, and the '<module>:input' form (the
        library's message, which lists or summarises the names, is kept
        as the error's cause text when there is one)."""
        import difflib
        known = self.layers
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = ("did you mean %s? " % " or ".join(repr(c) for c in close)) if close else ""
        err = _errors.LayerNotFoundError(
            "%s has no layer %r: %s.layers lists its %d layers; '<module>:input' "
            "gives the input of a module (e.g. 'fc:input')"
            % (self._what, name, hint, len(known)),
            status=_errors.ERR_NOT_FOUND, status_name="EV_ERR_NOT_FOUND")
        err.library_message = message
        return err

    @property
    def layer_kinds(self):
        """The module class of each layer of `layers`, by layer name.

        "Linear", "Conv2d", "BasicBlock", ...; "" for output and softmax
        (ev_model_layer_kind, since 1.1). A layer "<module>:input" (not
        listed) gives the input of that module: "fc:input" is a ResNet's
        penultimate features.

        Returns
        -------
        kinds : dict of str to str
            layer name -> module class name.

        Examples
        --------
        >>> fx = FeatureExtractor("model.pt")            # doctest: +SKIP
        >>> fx.layer_kinds["fc"]                         # doctest: +SKIP
        'Linear'
        """
        names = self.layers
        if not self._L.has("ev_model_layer_kind"):
            raise _errors.UnsupportedError(
                "the libembedviz at %s is older than 1.1 and has no ev_model_layer_kind()"
                % getattr(self._L, "path", "?"), status=_errors.ERR_UNSUPPORTED,
                status_name="EV_ERR_UNSUPPORTED")
        kinds = {}
        for i, name in enumerate(names):
            kind = ctypes.c_char_p()
            _lib.check(self._L.ev_model_layer_kind(self._model, i, ctypes.byref(kind)))
            kinds[name] = kind.value.decode()
        return kinds

    def _run(self, ex, names, batch):
        x = np.asarray(batch)
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4:
            raise _bad("inputs must be N x C x H x W (or N x H x W), got shape %s" % (x.shape,))
        x = np.ascontiguousarray(x, dtype=np.float32)
        n, c, h, w = x.shape
        _lib.check(self._L.ev_extractor_prepare(ex, c, h, w))
        outs, lds = [], []
        for i in range(len(names)):
            cols = ctypes.c_size_t()
            _lib.check(self._L.ev_extractor_layer_cols(ex, i, ctypes.byref(cols)))
            outs.append(np.empty((n, cols.value), np.float32))
            lds.append(cols.value)
        ptrs = (ctypes.c_void_p * len(outs))(*[o.ctypes.data for o in outs])
        ld = (ctypes.c_size_t * len(outs))(*lds)
        _progress.run(lambda: self._L.ev_extractor_run(ex, x.ctypes.data, n, c, h, w, c * h * w,
                                                       ptrs, ld),
                      self._L.ev_extractor_set_progress, ex, _progress.resolve(self.progress))
        return dict(zip(names, outs))
