#!/usr/bin/python3
"""Reference for the Fashion-MNIST PCA test: scikit-learn's PCA (exact
'full' solver, in float64) on the 70,000 x 784 train+t10k images, first 50
components. Writes tests/data/pca/fmnist_ref.npz (ratio, variance,
components as float32). Run: /usr/bin/python3 tests/ref/pca_fmnist.py"""
import gzip
import os

import numpy as np
from sklearn.decomposition import PCA

FMNIST = "/usr/share/datasets/fashion-mnist"
OUT = os.path.join(os.path.dirname(__file__), "..", "data", "pca", "fmnist_ref.npz")


def load_fmnist():
    parts = []
    for name in ("train", "t10k"):
        with gzip.open(f"{FMNIST}/{name}-images-idx3-ubyte.gz") as f:
            raw = f.read()
        parts.append(np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 784))
    return np.vstack(parts).astype(np.float32)


def main():
    x = load_fmnist().astype(np.float64)
    pca = PCA(n_components=50, svd_solver="full").fit(x)
    np.savez_compressed(
        OUT,
        ratio=pca.explained_variance_ratio_,
        variance=pca.explained_variance_,
        components=pca.components_.astype(np.float32),
    )


if __name__ == "__main__":
    main()
