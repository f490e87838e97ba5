"""The 1,000,000-row benchmark set of issue 12 (also used by the UMAP and
approximate-kNN benchmarks).

Usage: make_million.py IN.f32 OUT.f32 [N] [FRACTION] [SEED]

IN.f32 is the 70,000 x 50 Fashion-MNIST PCA-50 set written by
bench/tsne_prep.py (float32 rows, IN.f32.labels beside it).  Every row is
repeated 15 times (1,050,000 rows), the copies are cut to the first N
(default 1,000,000) and each copy gets Gaussian noise: independent
N(0, s^2) per coordinate with s = FRACTION x (distance from the source row
to its nearest other row) / sqrt(50), so that the noise vector's expected
length is about FRACTION (default 0.25) of that nearest-neighbour distance.
Rows whose nearest other row is at distance 0 (duplicates) take the median
nearest-neighbour distance instead.  The order is copy-major (rows 0..69,999
are the first copy of every source row, then the second copy, ...), so the
first 70,000 rows are a noisy Fashion-MNIST.  numpy's PCG64 with SEED
(default 20261203) makes the noise: the same arguments give the same bytes.

Writes OUT.f32 (N x 50 float32), OUT.f32.labels (int32, the source row's
label) and OUT.f32.source (int32, the source row's index).
"""
import sys

import numpy as np


def nearest_other_distance(x):
    """Distance from each row to its nearest other row (exact, blocked)."""
    n = x.shape[0]
    xd = x.astype(np.float64)
    sq = np.einsum("ij,ij->i", xd, xd)
    out = np.empty(n)
    for s in range(0, n, 4096):
        e = min(n, s + 4096)
        d2 = sq[s:e, None] - 2.0 * xd[s:e] @ xd.T + sq[None, :]
        d2[np.arange(e - s), np.arange(s, e)] = np.inf
        out[s:e] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    frac = float(sys.argv[4]) if len(sys.argv) > 4 else 0.25
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 20261203
    x = np.fromfile(src, dtype=np.float32).reshape(-1, 50)
    y = np.fromfile(src + ".labels", dtype=np.int32)
    m = x.shape[0]
    if y.shape[0] != m:
        sys.exit("labels do not match the rows")
    reps = 15
    if n > reps * m:
        sys.exit(f"at most {reps * m} rows from {m} source rows")
    nn = nearest_other_distance(x)
    nn[nn == 0] = np.median(nn[nn > 0])
    sigma = frac * nn / np.sqrt(50.0)
    rng = np.random.Generator(np.random.PCG64(seed))
    source = (np.arange(n) % m).astype(np.int32)
    z = np.empty((n, 50), dtype=np.float32)
    for s in range(0, n, 100_000):
        e = min(n, s + 100_000)
        idx = source[s:e]
        noise = rng.standard_normal((e - s, 50)) * sigma[idx, None]
        z[s:e] = (x[idx].astype(np.float64) + noise).astype(np.float32)
    z.tofile(out)
    y[source].astype(np.int32).tofile(out + ".labels")
    source.tofile(out + ".source")
    print(f"{out}: {n} x 50 rows from {m} source rows, noise {frac} x "
          f"nearest-neighbour distance (median {np.median(nn):.4f}), seed {seed}")


if __name__ == "__main__":
    main()
