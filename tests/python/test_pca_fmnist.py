"""PCA on Fashion-MNIST (70,000 x 784) against scikit-learn: the first 50
components, for every solver, to 1e-4 in explained variance ratio and 1e-3
in absolute cosine. The reference (scikit-learn's exact solver in float64)
is made by tests/ref/pca_fmnist.py into tests/data/pca/fmnist_ref.npz.
Calls the library through a few ctypes lines of its own (independent of
the Python bindings)."""
import ctypes
import gzip
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
FMNIST = "/usr/share/datasets/fashion-mnist"
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))

SOLVER = {"covariance": 1, "svd": 2, "randomized": 3}
N_COMPONENTS, SOLVER_PARAM, POWER_ITERATIONS, THREADS = 1, 5, 7, 9


def library():
    path = os.environ.get("EMBEDVIZ_LIBRARY",
                          os.path.join(ROOT, "build", "libembedviz.so.1"))
    lib = ctypes.CDLL(path)
    lib.ev_pca_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_double]
    lib.ev_pca_fit.argtypes = [ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_size_t] * 3
    for name in ("ev_pca_explained_variance_ratio", "ev_pca_free"):
        getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_void_p][: 2 if "ratio" in name else 1]
    lib.ev_pca_components.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.ev_last_error.restype = ctypes.c_char_p
    return lib


def fit(lib, x, solver, power_iterations=-1):
    handle = ctypes.c_void_p()
    assert lib.ev_pca_create(ctypes.byref(handle)) == 0
    try:
        for param, value in ((N_COMPONENTS, 50), (SOLVER_PARAM, SOLVER[solver]),
                             (POWER_ITERATIONS, power_iterations), (THREADS, 2)):
            assert lib.ev_pca_set(handle, param, value) == 0
        st = lib.ev_pca_fit(handle, x.ctypes.data, x.shape[0], x.shape[1], x.shape[1])
        assert st == 0, lib.ev_last_error().decode()
        ratio = np.zeros(50, np.float32)
        comps = np.zeros((50, x.shape[1]), np.float32)
        assert lib.ev_pca_explained_variance_ratio(handle, ratio.ctypes.data) == 0
        assert lib.ev_pca_components(handle, comps.ctypes.data, x.shape[1]) == 0
        return ratio, comps
    finally:
        lib.ev_pca_free(handle)


@pytest.fixture(scope="module")
def data():
    if not os.path.exists(f"{FMNIST}/train-images-idx3-ubyte.gz"):
        pytest.skip("Fashion-MNIST not installed (Debian: dataset-fashion-mnist)")
    from pca_fmnist import OUT, load_fmnist
    ref = np.load(OUT)
    return load_fmnist(), ref["ratio"], ref["components"].astype(np.float64)


# (solver, power iterations, components held to the cosine bound). The
# randomized solver with its default 7 power iterations (scikit-learn's
# choice) is as accurate as scikit-learn's randomized PCA: ratios to 1e-4,
# but the 49th-50th components, whose variances nearly tie with the next
# ones, only to |cos| ~ 0.95 (scikit-learn's: ~ 0.93); 16 iterations give
# all 50 to 1e-3 (docs/pca.md).
@pytest.mark.parametrize("solver,power_iterations,exact", [
    ("covariance", -1, 50), ("svd", -1, 50), ("randomized", 16, 50),
    ("randomized", -1, 40)])
def test_matches_sklearn(data, solver, power_iterations, exact):
    x, ref_ratio, ref_comps = data
    ratio, comps = fit(library(), x, solver, power_iterations)
    assert np.max(np.abs(ratio - ref_ratio)) < 1e-4
    cos = np.abs(np.sum(comps * ref_comps, axis=1))[:exact]
    assert cos.min() > 1 - 1e-3, f"{solver}: min |cos| {cos.min()} at {cos.argmin()}"
    # The sign rule: each component's largest-magnitude loading is positive.
    top = comps[np.arange(50), np.argmax(np.abs(comps), axis=1)]
    assert np.all(top > 0)
