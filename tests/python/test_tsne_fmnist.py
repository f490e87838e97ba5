"""t-SNE quality against scikit-learn on 2,000 Fashion-MNIST images (PCA to
50), Barnes-Hut, the same settings for both: perplexity 30, 1,000 iterations
(250 exaggerated by 12), learning rate auto, PCA start, theta 0.5.

Both maps are scored the same way, by numpy written here (not libembedviz's
own affinities or KL, so a bug there cannot flatter its map): the exact
KL(P || Q) with P the dense joint affinities of perplexity 30 (the t-SNE
paper's binary search on each row's Gaussian width) and Q the Student-t
similarities of the map; and the fraction of each point's 10 nearest input
neighbours kept among its 10 nearest map neighbours. libembedviz must be at least as good, with a small allowance for
the randomness of two different descents. Uses its own small ctypes loader."""
import ctypes as C
import gzip
import os

import numpy as np
import pytest

N, DIMS = 2000, 2
DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
SK_MAPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                       "tsne", "sklearn_maps.npz")
EV_TSNE_N_COMPONENTS, EV_TSNE_METHOD, EV_TSNE_THETA = 1, 3, 4
EV_TSNE_THREADS = 16
EV_TSNE_METHOD_BARNES_HUT = 2


def lib():
    path = os.environ.get("EMBEDVIZ_LIBRARY", "build/libembedviz.so.1")
    ev = C.CDLL(path)
    ev.ev_tsne_create.argtypes = [C.POINTER(C.c_void_p)]
    ev.ev_tsne_free.argtypes = [C.c_void_p]
    ev.ev_tsne_set.argtypes = [C.c_void_p, C.c_int, C.c_double]
    ev.ev_tsne_fit.argtypes = [C.c_void_p, C.c_void_p, C.c_size_t, C.c_size_t,
                               C.c_size_t]
    ev.ev_tsne_set_init.argtypes = [C.c_void_p, C.c_void_p, C.c_size_t,
                                    C.c_size_t, C.c_size_t]
    ev.ev_tsne_embedding.argtypes = [C.c_void_p, C.c_void_p, C.c_size_t]
    ev.ev_tsne_kl_divergence.argtypes = [C.c_void_p, C.POINTER(C.c_double)]
    ev.ev_last_error.restype = C.c_char_p
    return ev


def call(ev, status):
    assert status == 0, ev.ev_last_error().decode()


def tsne(ev, x):
    """A default Barnes-Hut fit: (map, libembedviz's KL)."""
    h = C.c_void_p()
    call(ev, ev.ev_tsne_create(C.byref(h)))
    try:
        for p, v in [(EV_TSNE_N_COMPONENTS, DIMS), (EV_TSNE_THREADS, 2),
                     (EV_TSNE_METHOD, EV_TSNE_METHOD_BARNES_HUT)]:
            call(ev, ev.ev_tsne_set(h, p, v))
        call(ev, ev.ev_tsne_fit(h, x.ctypes.data, N, x.shape[1], x.shape[1]))
        y = np.empty((N, DIMS), dtype=np.float32)
        call(ev, ev.ev_tsne_embedding(h, y.ctypes.data, DIMS))
        kl = C.c_double()
        call(ev, ev.ev_tsne_kl_divergence(h, C.byref(kl)))
        return y, kl.value
    finally:
        ev.ev_tsne_free(h)


def squared_distances(z):
    z = z.astype(np.float64)
    sq = (z * z).sum(1)
    return np.maximum(sq[:, None] + sq[None, :] - 2.0 * (z @ z.T), 0.0)


def joint_affinities(x, perplexity=30.0):
    """Dense P: each row's Gaussian width found by bisection so that the
    row's entropy is ln(perplexity) (all rows at once), then symmetrised."""
    n = len(x)
    off = ~np.eye(n, dtype=bool)
    d = squared_distances(x)
    d = np.where(off, d - np.where(off, d, np.inf).min(1)[:, None], 0.0)
    beta, lo, hi = np.ones(n), np.zeros(n), np.full(n, np.inf)
    for _ in range(200):
        p = np.exp(-d * beta[:, None]) * off
        s = p.sum(1)
        entropy = np.log(s) + beta * (d * p).sum(1) / s
        if np.abs(entropy - np.log(perplexity)).max() < 1e-7:
            break                               # (about 50 rounds, not 200)
        wide = entropy > np.log(perplexity)     # too flat: narrow it
        lo = np.where(wide, beta, lo)
        hi = np.where(wide, hi, beta)
        beta = np.where(np.isinf(hi), beta * 2, (lo + hi) / 2)
    assert np.abs(entropy - np.log(perplexity)).max() < 1e-5
    p /= s[:, None]
    return (p + p.T) / (2 * n)


def kl_divergence(P, y):
    """Exact KL(P || Q) of a map y, Q the Student-t similarities."""
    q = 1.0 / (1.0 + squared_distances(y))
    np.fill_diagonal(q, 0.0)
    q /= q.sum()
    m = P > 0
    return float((P[m] * np.log(P[m] / q[m])).sum())


def neighbours(z, k=10):
    sq = (z * z).sum(1)
    d = sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def kept(x_nb, y):
    y_nb = neighbours(y.astype(np.float64))
    return np.mean([len(np.intersect1d(a, b)) / 10 for a, b in zip(x_nb, y_nb)])


@pytest.mark.skipif(not os.path.exists(DATA), reason="Fashion-MNIST not installed")
def test_quality_at_least_sklearns():
    with gzip.open(DATA, "rb") as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
    x = raw.reshape(-1, 784)[:N].astype(np.float64) / 255.0
    from sklearn.decomposition import PCA
    x = np.ascontiguousarray(PCA(50, svd_solver="full").fit_transform(x),
                             dtype=np.float32)
    ev = lib()
    ours, _ = tsne(ev, x)
    # scikit-learn's map of the same rows, made by tests/ref/tsne_sklearn.py
    # with TSNE(n_components=DIMS, perplexity=30.0, early_exaggeration=12.0,
    # learning_rate="auto", n_iter=1000, init="pca", method="barnes_hut",
    # angle=0.5, random_state=0, n_jobs=2).fit_transform(x) (16 s of CPU
    # in every run when made here)
    with np.load(SK_MAPS) as z:
        theirs = z["fmnist2000_map"]
    assert theirs.shape == (N, DIMS)
    P = joint_affinities(x)
    kl_ours, kl_theirs = kl_divergence(P, ours), kl_divergence(P, theirs)
    x_nb = neighbours(x.astype(np.float64))
    kept_ours, kept_theirs = kept(x_nb, ours), kept(x_nb, theirs)
    print(f"KL {kl_ours:.4f} vs {kl_theirs:.4f}; "
          f"10-NN kept {kept_ours:.4f} vs {kept_theirs:.4f}")
    assert kl_ours <= kl_theirs * 1.01
    assert kept_ours >= kept_theirs - 0.01
