#!/usr/bin/python3
"""Reference neighbours for tests/test_knn.c from scikit-learn's brute force.

Writes into tests/data/knn/:
  digits_u8.bin          1797 x 64 pixels of load_digits() (uint8, 0..16)
  digits_<metric>.i32    1797 x 10 neighbour ids, self mode (each point left
                         out of its own list), int32 little-endian
  digits_<metric>.f32    their distances, float32 little-endian
for metric in euclidean, cityblock, cosine. The pixels are small
integers, so many distances tie exactly; the C test compares ids where
scikit-learn's order is unambiguous and the distances everywhere.
"""
import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.neighbors import NearestNeighbors

OUT = os.path.join(os.path.dirname(__file__), "..", "data", "knn")
K = 10


def main():
    x = load_digits().data.astype(np.float64)
    os.makedirs(OUT, exist_ok=True)
    x.astype(np.uint8).tofile(os.path.join(OUT, "digits_u8.bin"))
    for metric in ("euclidean", "cityblock", "cosine"):
        nn = NearestNeighbors(n_neighbors=K, algorithm="brute", metric=metric)
        nn.fit(x)
        dist, ids = nn.kneighbors()  # no X: each point left out of its list
        ids.astype("<i4").tofile(os.path.join(OUT, f"digits_{metric}.i32"))
        dist.astype("<f4").tofile(os.path.join(OUT, f"digits_{metric}.f32"))


if __name__ == "__main__":
    main()
