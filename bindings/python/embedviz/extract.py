"""FeatureExtractor: layer activations of a TorchScript model (extract.h),
over numpy batches, image files, image folders and IDX files (io.h)."""
import ctypes
import os

import numpy as np

from . import _arrays, _errors, _lib, _progress

_vp, _sz, _int = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
_szp = ctypes.POINTER(ctypes.c_size_t)
_lib.register({
    "ev_extract_available": (_int, []),
    "ev_model_load": (_int, [ctypes.c_char_p, _int, _vp]),
    "ev_model_free": (None, [_vp]),
    "ev_model_n_layers": (_int, [_vp, _szp]),
    "ev_model_layer_name": (_int, [_vp, _sz, ctypes.POINTER(ctypes.c_char_p)]),
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


class _Dataset:
    """An ev_dataset made from a path (folder, IDX, .npy) or a list of image
    files, freed when collected."""

    def __init__(self, source, settings=(), skip_bad=False):
        L = _lib.lib()
        ptr = ctypes.c_void_p()
        if isinstance(source, (list, tuple)):
            names = [os.fsencode(p) for p in source]
            arr = (ctypes.c_char_p * len(names))(*names)
            _lib.check(L.ev_dataset_from_paths(ctypes.cast(arr, _vp), len(names), None,
                                               int(skip_bad), ctypes.byref(ptr)))
        else:
            path = os.fsencode(source)
            if os.path.isdir(source):
                _lib.check(L.ev_dataset_from_folder(path, int(skip_bad), ctypes.byref(ptr)))
            elif source.endswith(".npy"):
                _lib.check(L.ev_dataset_from_npy(path, None, ctypes.byref(ptr)))
            else:
                _lib.check(L.ev_dataset_from_idx(path, None, ctypes.byref(ptr)))
        self.L, self.ptr = L, ptr.value
        for key, value in settings:
            _lib.check(L.ev_dataset_set(self.ptr, key, float(value)))

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


class FeatureExtractor:
    """The activations of named layers of a TorchScript model, one row per
    input (MATLAB's activations(..., 'OutputAs', 'rows')).

    ``FeatureExtractor("model.pt", device="cpu")`` loads the model;
    ``layers`` lists the names it offers (named submodules, "output",
    "softmax"); ``activations(inputs, layers, batch_size, pool)`` returns a
    dict layer name -> float32 array (n x M), or one array when ``layers``
    is a single name. Rows are flattened in PyTorch's C order (channel, row,
    column); ``pool=True`` averages feature maps over their spatial
    dimensions. ``inputs`` is a numpy batch N x C x H x W (N x H x W is
    taken as one channel) used as it is, a folder of images (one subfolder
    per class), a list of image files, an IDX images file or a .npy file;
    files go through io.h's preprocessing, torchvision's Resize, CenterCrop,
    ToTensor and Normalize: by default images become RGB scaled to [0, 1]
    with ImageNet's normalisation, IDX images grey / 255; the keywords of
    ``activations`` change it (``resize=256, crop=224`` as torchvision's
    ``Resize(256)``, ``CenterCrop(224)``; ``channels``; ``normalize`` or
    ``mean``/``std``; ``skip_bad`` leaves unreadable image files out, listed
    afterwards in ``skipped_``).
    """

    def __init__(self, model_path, device="cpu", *, n_jobs=None, progress=None):
        if device not in _DEVICES:
            raise _bad("device must be 'cpu' or 'cuda', got %r" % (device,))
        self.model_path, self.device = model_path, device
        self.n_jobs, self.progress = n_jobs, progress
        L = _lib.lib()
        ptr = ctypes.c_void_p()
        _lib.check(L.ev_model_load(os.fsencode(model_path), _DEVICES[device], ctypes.byref(ptr)))
        self._L, self._model = L, ptr.value

    def __del__(self):
        if getattr(self, "_model", None):
            self._L.ev_model_free(self._model)
            self._model = None

    @property
    def layers(self):
        """The layer names this model offers."""
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
        """Activations of `layers` (a name or a list; default "output") for
        every input: a dict name -> n x M float32 array (one array when
        `layers` is a single name).

        For files (not numpy batches): `resize` (int: shorter side, or
        (height, width)), `crop` (int or (height, width), centred),
        `channels` (1 or 3), `normalize` ("auto": ImageNet's for 3 channels,
        none for 1; "imagenet"; "none") or per-channel `mean` and `std`, and
        `skip_bad` (leave unreadable images out; see `skipped_`)."""
        settings = _preprocess_settings(resize, crop, channels, normalize, mean, std, skip_bad)
        self.skipped_ = []
        single = isinstance(layers, str)
        names = [layers] if single else list(layers or ["output"])
        if not names:
            raise _bad("layers is empty: name at least one (see .layers)")
        if isinstance(inputs, (list, tuple)) and len(inputs) == 0:
            raise _bad("inputs is an empty list: give at least one image file (or a folder, "
                       "an IDX or .npy file, or a numpy batch)")
        ex = self._extractor(names, batch_size, pool)
        try:
            if isinstance(inputs, (str, os.PathLike, list, tuple)):
                ds = _Dataset(os.fspath(inputs) if not isinstance(inputs, (list, tuple)) else inputs,
                              settings, skip_bad)
                n = ds.count()
                parts = [self._run(ex, names, ds.read(s, min(_READ_CHUNK, n - s)))
                         for s in range(0, n, _READ_CHUNK)]
                out = {k: np.concatenate([p[k] for p in parts]) for k in names}
                self.skipped_ = ds.skipped()
            else:
                out = self._run(ex, names, inputs)
        finally:
            self._L.ev_extractor_free(ex)
        return out[names[0]] if single else out

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
                except _errors.EmbedvizFileNotFoundError:
                    raise self._no_layer(name) from None
        except BaseException:
            self._L.ev_extractor_free(ex)
            raise
        return ex

    def _no_layer(self, name):
        """A missing layer is a bad key, not a missing file: name it and the
        closest names the model has."""
        import difflib
        known = self.layers
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = ("did you mean %s? " % " or ".join(repr(c) for c in close)) if close else ""
        return _errors.LayerNotFoundError(
            "the model %s has no layer %r: %s.layers lists its %d layers"
            % (self.model_path, name, hint, len(known)),
            status=_errors.ERR_NOT_FOUND, status_name="EV_ERR_NOT_FOUND")

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
