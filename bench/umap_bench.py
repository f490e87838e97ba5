#!/usr/bin/python3
"""UMAP of Fashion-MNIST: libembedviz's embedviz.UMAP against umap-learn.

  umap_bench.py prep OUT N            write OUT/raw.f32 (N x 784, pixels in
                                      [0, 1]; train then t10k), OUT/pca50.f32
                                      (PCA to 50 of those N rows) and
                                      OUT/labels.i32
  umap_bench.py fit IMPL DATA N D MAP  time IMPL's fit_transform (2-D,
                                      defaults, random_state 0) and write the
                                      map; IMPL = libembedviz or umap-learn
  umap_bench.py quality DATA N D MAP LABELS
                                      trustworthiness (scikit-learn's, 10
                                      neighbours, 10,000-row sample, seed 0)
                                      and 10-NN label accuracy in the map
Threads come from OMP_NUM_THREADS / NUMBA_NUM_THREADS (bench-umap.sh sets
2). umap-learn is run on 2,000 rows first so that numba's compilation is
not timed.
"""
import gzip
import os
import resource
import sys
import time

import numpy as np

SRC = "/usr/share/datasets/fashion-mnist"


def read_idx(path, offset, dtype=np.uint8):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read()[offset:], dtype=dtype)


def prep(out, n):
    os.makedirs(out, exist_ok=True)
    imgs = np.vstack([read_idx(f"{SRC}/train-images-idx3-ubyte.gz", 16).reshape(-1, 784),
                      read_idx(f"{SRC}/t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)])
    labels = np.concatenate([read_idx(f"{SRC}/train-labels-idx1-ubyte.gz", 8),
                             read_idx(f"{SRC}/t10k-labels-idx1-ubyte.gz", 8)])
    x = (imgs[:n].astype(np.float32) / 255.0)
    x.tofile(f"{out}/raw.f32")
    labels[:n].astype(np.int32).tofile(f"{out}/labels.i32")
    from sklearn.decomposition import PCA
    pcs = PCA(n_components=50, svd_solver="randomized", random_state=0).fit_transform(x)
    np.ascontiguousarray(pcs, dtype=np.float32).tofile(f"{out}/pca50.f32")


def fit(impl, data, n, d, path):
    x = np.fromfile(data, dtype=np.float32).reshape(n, d)
    if impl == "umap-learn":
        import warnings
        warnings.filterwarnings("ignore")
        import umap
        umap.UMAP(random_state=None).fit_transform(x[:2000])  # numba compiles here
        model = umap.UMAP(n_components=2, n_jobs=int(os.environ.get("NUMBA_NUM_THREADS", "2")))
    else:
        import embedviz
        model = embedviz.UMAP(n_components=2, random_state=0,
                              n_jobs=int(os.environ.get("OMP_NUM_THREADS", "2")),
                              knn_method=os.environ.get("BENCH_UMAP_KNN_METHOD", "auto"))
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    y = model.fit_transform(x)
    secs = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    np.ascontiguousarray(y, dtype=np.float32).tofile(path)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    extra = ""
    if impl != "umap-learn":
        extra = f" init={model.init_used_} graph_components={model.n_graph_components_}"
    print(f"seconds={secs:.2f} cpu_seconds={cpu:.1f} peak_mb={peak:.0f}{extra}")


def quality(data, n, d, path, labels_path):
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import NearestNeighbors
    x = np.fromfile(data, dtype=np.float32).reshape(n, d)
    y = np.fromfile(path, dtype=np.float32).reshape(n, 2)
    labels = np.fromfile(labels_path, dtype=np.int32)[:n]
    rows = np.random.RandomState(0).choice(n, size=min(n, 10000), replace=False)
    t = trustworthiness(x[rows], y[rows], n_neighbors=10)
    _, nb = NearestNeighbors(n_neighbors=11).fit(y).kneighbors(y)
    acc = np.mean(labels[nb[:, 1:]] == labels[:, None])
    print(f"trustworthiness10={t:.4f} knn10_label_acc={acc:.4f}")


def main():
    mode = sys.argv[1]
    if mode == "prep":
        prep(sys.argv[2], int(sys.argv[3]))
    elif mode == "fit":
        fit(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif mode == "quality":
        quality(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
