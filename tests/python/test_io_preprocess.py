"""libembedviz's image preprocessing against torchvision 0.14 on real photos
(scikit-learn's sample images china.jpg and flower.jpg, 427 x 640 JPEG),
through a tiny ctypes loader of the C API (not the bindings: this tests the
library itself). Also: .npy files written by the library read by numpy.

libembedviz decodes JPEG with the system's libjpeg-turbo (opened at run
time), the library Debian's PIL uses, so the tensors are the same to float
rounding; its stb fallback is checked in tests/test_io.c."""
import ctypes
import os

import numpy as np
import pytest
from PIL import Image



def torchvision_transforms():
    """Imported by the tests that compare with torchvision only, so that a
    missing torch does not skip the torch-free tests of this file."""
    pytest.importorskip("torch")
    return pytest.importorskip("torchvision.transforms")


LIB = os.environ.get("EMBEDVIZ_LIBRARY",
                     os.path.join(os.path.dirname(__file__), "..", "..", "build",
                                  "libembedviz.so.1"))
IMAGES = "/usr/lib/python3/dist-packages/sklearn/datasets/images"
PHOTOS = [os.path.join(IMAGES, f) for f in ("china.jpg", "flower.jpg")]
EV_DS_RESIZE, EV_DS_CROP = 3, 6

lib = ctypes.CDLL(LIB)
lib.ev_dataset_from_paths.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_size_t,
                                      ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
lib.ev_dataset_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_double]
lib.ev_dataset_read.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t,
                                ctypes.c_void_p, ctypes.c_size_t]
lib.ev_dataset_free.argtypes = [ctypes.c_void_p]
lib.ev_last_error.restype = ctypes.c_char_p
lib.ev_image_read.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p]
lib.ev_array_data.restype = ctypes.c_void_p
lib.ev_array_data.argtypes = [ctypes.c_void_p]
lib.ev_array_size.restype = ctypes.c_size_t
lib.ev_array_size.argtypes = [ctypes.c_void_p]
lib.ev_array_free.argtypes = [ctypes.c_void_p]
lib.ev_npy_write_matrix.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t,
                                    ctypes.c_size_t, ctypes.c_size_t]


def ok(status):
    assert status == 0, lib.ev_last_error().decode()


def ours(paths, resize, crop):
    arr = (ctypes.c_char_p * len(paths))(*[p.encode() for p in paths])
    ds = ctypes.c_void_p()
    ok(lib.ev_dataset_from_paths(arr, len(paths), None, 0, ctypes.byref(ds)))
    ok(lib.ev_dataset_set(ds, EV_DS_RESIZE, resize))
    ok(lib.ev_dataset_set(ds, EV_DS_CROP, crop))
    out = np.zeros((len(paths), 3, crop, crop), np.float32)
    ok(lib.ev_dataset_read(ds, 0, len(paths), out.ctypes.data, 3 * crop * crop))
    lib.ev_dataset_free(ds)
    return out


def theirs(path, resize, crop):
    transforms = torchvision_transforms()
    tf = transforms.Compose([transforms.Resize(resize), transforms.CenterCrop(crop),
                             transforms.ToTensor(),
                             transforms.Normalize([0.485, 0.456, 0.406],
                                                  [0.229, 0.224, 0.225])])
    return tf(Image.open(path).convert("RGB")).numpy()


def decoded(path):
    a = ctypes.c_void_p()
    ok(lib.ev_image_read(path.encode(), 3, ctypes.byref(a)))
    n = lib.ev_array_size(a)
    px = np.ctypeslib.as_array(ctypes.cast(lib.ev_array_data(a),
                                           ctypes.POINTER(ctypes.c_uint8)), (n,)).copy()
    lib.ev_array_free(a)
    return px


@pytest.mark.skipif(not all(map(os.path.exists, PHOTOS)), reason="no sample photos")
@pytest.mark.parametrize("resize,crop", [(256, 224), (64, 56)])
def test_imagenet_preprocessing_on_jpeg_photos(resize, crop):
    got = ours(PHOTOS, resize, crop)
    for i, p in enumerate(PHOTOS):
        want = theirs(p, resize, crop)
        diff = np.abs(got[i] - want)
        # one 8-bit level is 1/255/0.225 = 0.0174 after normalisation
        level = 1 / 255 / 0.225
        print(f"{os.path.basename(p)} {resize}/{crop}: max {diff.max():.4f} "
              f"mean {diff.mean():.5f} ({diff.max() / level:.1f} levels)")
        # libembedviz decodes JPEG with the libjpeg-turbo PIL uses: exact
        assert diff.max() <= 1e-6


@pytest.mark.skipif(not all(map(os.path.exists, PHOTOS)), reason="no sample photos")
def test_same_pixels_give_same_tensor(tmp_path):
    """Re-encode the photo losslessly: then we match torchvision to float
    rounding, the whole pipeline included."""
    png = str(tmp_path / "china.png")
    Image.open(PHOTOS[0]).convert("RGB").save(png)
    got = ours([png], 256, 224)[0]
    want = theirs(png, 256, 224)
    assert np.abs(got - want).max() <= 1e-6


@pytest.mark.skipif(not all(map(os.path.exists, PHOTOS)), reason="no sample photos")
def test_jpeg_decoding_close_to_libjpeg():
    for p in PHOTOS:
        want = np.asarray(Image.open(p).convert("RGB")).reshape(-1).astype(int)
        got = decoded(p).astype(int)
        diff = np.abs(got - want)
        print(f"{os.path.basename(p)} decode: max {diff.max()} mean {diff.mean():.4f}")
        assert diff.max() == 0


def test_npy_written_is_read_by_numpy(tmp_path):
    x = np.arange(30, dtype=np.float32).reshape(5, 6)
    p = str(tmp_path / "m.npy")
    ok(lib.ev_npy_write_matrix(p.encode(), x.ctypes.data, 5, 4, 6))
    np.testing.assert_array_equal(np.load(p), x[:, :4])
