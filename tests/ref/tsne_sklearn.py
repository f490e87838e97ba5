#!/usr/bin/python3
"""scikit-learn's t-SNE maps that the Python t-SNE tests compare against,
made once here instead of on every `make check` (about 40 s of CPU there).
Writes tests/data/tsne/sklearn_maps.npz:

  digits_map, digits_kl   TSNE(random_state=0, init="pca",
                          learning_rate="auto") of load_digits() as float32
                          (bindings/python/tests/test_tsne.py, the digits
                          fixture); its kl_divergence_
  exact400_map            the same with method="exact" on the first 400
                          digits (test_exact_method_matches_sklearn)
  fmnist1500_map          the same on PCA(50, svd_solver="full") of the
                          first 1,500 Fashion-MNIST test images / 255
                          (test_fashion_mnist_trustworthiness_matches_sklearn)
  fmnist2000_map          tests/python/test_tsne_fmnist.py's settings
                          (perplexity 30, early exaggeration 12, 1,000
                          iterations, PCA start, angle 0.5, n_jobs=2) on
                          PCA(50, svd_solver="full") of the first 2,000
                          training images / 255, as float32

The tests score these maps and libembedviz's with the same code, so a
change in libembedviz cannot move the reference. Made with Debian
bookworm's scikit-learn 1.2.1 and numpy 1.24 (a few minutes):
    /usr/bin/python3 tests/ref/tsne_sklearn.py
"""
import gzip
import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

FMNIST = "/usr/share/datasets/fashion-mnist"
OUT = os.path.join(os.path.dirname(__file__), "..", "data", "tsne")


def idx_images(name, n):
    with gzip.open(os.path.join(FMNIST, name), "rb") as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    return raw.reshape(-1, 784)[:n]


def main():
    out = {}
    x = load_digits().data.astype(np.float32)
    t = TSNE(random_state=0, init="pca", learning_rate="auto").fit(x)
    out["digits_map"] = t.embedding_.astype(np.float32)
    out["digits_kl"] = np.float64(t.kl_divergence_)
    out["exact400_map"] = TSNE(method="exact", random_state=0, init="pca",
                               learning_rate="auto").fit_transform(x[:400]).astype(np.float32)
    f = idx_images("t10k-images-idx3-ubyte.gz", 1500).astype(np.float32) / 255.0
    f = PCA(50, svd_solver="full").fit_transform(f)
    out["fmnist1500_map"] = TSNE(random_state=0, init="pca",
                                 learning_rate="auto").fit_transform(f).astype(np.float32)
    g = idx_images("train-images-idx3-ubyte.gz", 2000).astype(np.float64) / 255.0
    g = np.ascontiguousarray(PCA(50, svd_solver="full").fit_transform(g), dtype=np.float32)
    out["fmnist2000_map"] = TSNE(n_components=2, perplexity=30.0, early_exaggeration=12.0,
                                 learning_rate="auto", n_iter=1000, init="pca",
                                 method="barnes_hut", angle=0.5, random_state=0,
                                 n_jobs=2).fit_transform(g).astype(np.float32)
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, "sklearn_maps.npz"), **out)
    for k, v in out.items():
        print(k, v.shape, v if v.ndim == 0 else "")


if __name__ == "__main__":
    main()
