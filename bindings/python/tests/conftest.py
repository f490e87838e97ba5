"""Shared fixtures: the data sets the tests compare on, and a marker for
calls the loaded library may not have yet."""
import gzip
import os

import numpy as np
import pytest

import embedviz

FMNIST = "/usr/share/datasets/fashion-mnist"


def has_call(name):
    return embedviz.library().has(name)


def needs(name):
    """Skip a test when the loaded library lacks a call (a build without
    that capability); the reason names the call."""
    return pytest.mark.skipif(not has_call(name),
                              reason="libembedviz has no %s() in this build" % name)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's bundled digits: 1,797 x 64 (float32) and labels."""
    from sklearn.datasets import load_digits
    d = load_digits()
    return d.data.astype(np.float32), d.target


@pytest.fixture(scope="session")
def fmnist():
    """Fashion-MNIST test set: 10,000 x 784 pixels / 255 (float32), labels."""
    images = os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")
    if not os.path.exists(images):
        pytest.skip("Fashion-MNIST is not installed (Debian: dataset-fashion-mnist)")
    x = read_idx(images).reshape(-1, 784).astype(np.float32) / 255.0
    y = read_idx(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz"))
    return x, y.astype(np.int64)
