"""t-SNE quality against scikit-learn on 2,000 Fashion-MNIST images (PCA to
50), Barnes-Hut, the same settings for both: perplexity 30, 1,000 iterations
(250 exaggerated by 12), learning rate auto, PCA start, theta 0.5.

Both maps are scored the same way: the exact KL(P || Q) against libembedviz's
P (theta = 0, no iterations, the map given as the start) and the fraction of
each point's 10 nearest input neighbours kept among its 10 nearest map
neighbours. libembedviz must be at least as good, with a small allowance for
the randomness of two different descents. Uses its own small ctypes loader."""
import ctypes as C
import gzip
import os

import numpy as np
import pytest

N, DIMS = 2000, 2
DATA = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
EV_TSNE_N_COMPONENTS, EV_TSNE_METHOD, EV_TSNE_THETA = 1, 3, 4
EV_TSNE_N_ITER, EV_TSNE_INIT, EV_TSNE_THREADS = 12, 14, 16
EV_TSNE_METHOD_BARNES_HUT, EV_TSNE_INIT_GIVEN = 2, 2


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


def tsne(ev, x, given=None):
    """(map, KL): a default Barnes-Hut fit, or the exact KL of a given map."""
    h = C.c_void_p()
    call(ev, ev.ev_tsne_create(C.byref(h)))
    try:
        for p, v in [(EV_TSNE_N_COMPONENTS, DIMS), (EV_TSNE_THREADS, 2),
                     (EV_TSNE_METHOD, EV_TSNE_METHOD_BARNES_HUT)]:
            call(ev, ev.ev_tsne_set(h, p, v))
        if given is not None:
            given = np.ascontiguousarray(given, dtype=np.float32)
            call(ev, ev.ev_tsne_set_init(h, given.ctypes.data, N, DIMS, DIMS))
            for p, v in [(EV_TSNE_INIT, EV_TSNE_INIT_GIVEN), (EV_TSNE_N_ITER, 0),
                         (EV_TSNE_THETA, 0)]:
                call(ev, ev.ev_tsne_set(h, p, v))
        call(ev, ev.ev_tsne_fit(h, x.ctypes.data, N, x.shape[1], x.shape[1]))
        y = np.empty((N, DIMS), dtype=np.float32)
        call(ev, ev.ev_tsne_embedding(h, y.ctypes.data, DIMS))
        kl = C.c_double()
        call(ev, ev.ev_tsne_kl_divergence(h, C.byref(kl)))
        return y, kl.value
    finally:
        ev.ev_tsne_free(h)


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
    from sklearn.manifold import TSNE
    x = np.ascontiguousarray(PCA(50, svd_solver="full").fit_transform(x),
                             dtype=np.float32)
    ev = lib()
    ours, _ = tsne(ev, x)
    theirs = TSNE(n_components=DIMS, perplexity=30.0, early_exaggeration=12.0,
                  learning_rate="auto", n_iter=1000, init="pca",
                  method="barnes_hut", angle=0.5, random_state=0,
                  n_jobs=2).fit_transform(x)
    _, kl_ours = tsne(ev, x, ours)
    _, kl_theirs = tsne(ev, x, theirs)
    x_nb = neighbours(x.astype(np.float64))
    kept_ours, kept_theirs = kept(x_nb, ours), kept(x_nb, theirs)
    print(f"KL {kl_ours:.4f} vs {kl_theirs:.4f}; "
          f"10-NN kept {kept_ours:.4f} vs {kept_theirs:.4f}")
    assert kl_ours <= kl_theirs * 1.01
    assert kept_ours >= kept_theirs - 0.01
