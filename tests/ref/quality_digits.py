#!/usr/bin/python3
"""Reference map and trustworthiness for tests/test_quality.c from
scikit-learn. Writes into tests/data/quality/:
  digits_tsne.f32    1797 x 2 t-SNE map of load_digits() (scikit-learn's
                     TSNE, random_state=0, init="pca"), float32 little-endian
  digits_trust.txt   lines "k trustworthiness" for k = 5, 10, 30: scikit-
                     learn's trustworthiness(pixels, map, n_neighbors=k)
The pixels are tests/data/knn/digits_u8.bin (tests/ref/knn_digits.py).
Small integer pixels make many distances tie exactly; scikit-learn orders
ties by numpy's unstable argsort, libembedviz by row index, so the values
agree to about 1e-6, not to rounding (docs/quality.md).
Run: /usr/bin/python3 tests/ref/quality_digits.py
"""
import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.manifold import TSNE, trustworthiness

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "quality")


def main():
    x = load_digits().data.astype(np.float64)
    os.makedirs(OUT, exist_ok=True)
    y = TSNE(random_state=0, init="pca", learning_rate="auto").fit_transform(x)
    y = y.astype(np.float32)
    y.tofile(os.path.join(OUT, "digits_tsne.f32"))
    with open(os.path.join(OUT, "digits_trust.txt"), "w") as f:
        for k in (5, 10, 30):
            f.write("%d %.12f\n" % (k, trustworthiness(x, y, n_neighbors=k)))


if __name__ == "__main__":
    main()
