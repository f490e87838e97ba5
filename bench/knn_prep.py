#!/usr/bin/python3
"""Decode Fashion-MNIST into raw float32 files for bench-knn.sh.

Writes into bench/out/ (gitignored):
  fmnist_train.f32  60000 x 784, pixels scaled to [0, 1]
  fmnist_t10k.f32   10000 x 784
  fmnist_pca50.f32  70000 x 50, the first 50 principal components of all
                    70,000 images (scikit-learn PCA, full SVD solver)
"""
import gzip
import os
import sys

import numpy as np
from sklearn.decomposition import PCA

SRC = "/usr/share/datasets/fashion-mnist"


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, rows, cols = np.frombuffer(data[:16], dtype=">u4")
    if magic != 2051:
        sys.exit(f"{path}: not an IDX image file (magic {magic})")
    pixels = np.frombuffer(data[16:], dtype=np.uint8, count=n * rows * cols)
    return pixels.reshape(n, rows * cols).astype(np.float32) / 255.0


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/out"
    os.makedirs(out, exist_ok=True)
    train = read_idx_images(f"{SRC}/train-images-idx3-ubyte.gz")
    test = read_idx_images(f"{SRC}/t10k-images-idx3-ubyte.gz")
    train.tofile(f"{out}/fmnist_train.f32")
    test.tofile(f"{out}/fmnist_t10k.f32")
    both = np.vstack([train, test])
    pcs = PCA(n_components=50, svd_solver="full").fit_transform(both)
    np.ascontiguousarray(pcs, dtype=np.float32).tofile(f"{out}/fmnist_pca50.f32")


if __name__ == "__main__":
    main()
