#!/usr/bin/python3
"""Accuracy figures of a 50-component PCA of Fashion-MNIST against the
reference of tests/ref/pca_fmnist.py (scikit-learn, exact, float64):
prints 'max_ratio_diff=... min_abs_cos=...'. Input: a .bin written by
bench/pca_bench (50 ratios then 50 x 784 components, float32)."""
import os
import sys

import numpy as np

REF = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "pca", "fmnist_ref.npz")


def figures(ratio, components):
    ref = np.load(REF)
    cos = np.abs(np.sum(components.astype(np.float64) * ref["components"], axis=1))
    return "max_ratio_diff=%.2e min_abs_cos=%.6f" % (
        np.max(np.abs(ratio - ref["ratio"])), cos.min())


if __name__ == "__main__":
    raw = np.fromfile(sys.argv[1], np.float32)
    print(figures(raw[:50], raw[50:].reshape(50, 784)))
