#!/usr/bin/python3
"""The peer: FAISS's exact flat index (IndexFlatL2) on the same cases as
bench/knn_bench.c, on 2 threads. Prints a BENCH line per case and saves the
neighbour ids (int64, nq x k) for the recall figure of the C driver.

usage: knn_faiss.py OUT_DIR CASE
  (CASE: fmnist_784 | fmnist_pca50_self | fmnist_map2d_self; the map case,
  the first two principal components of the 70,000 images, k = 10, also
  times scikit-learn's kd_tree NearestNeighbors, the usual exact choice for
  2-D rows)
"""
import resource
import sys
import time

import faiss
import numpy as np


def load(path, dim):
    return np.fromfile(path, dtype=np.float32).reshape(-1, dim)


def main():
    out, case = sys.argv[1], sys.argv[2]
    faiss.omp_set_num_threads(2)
    if case == "fmnist_784":
        ref = load(f"{out}/fmnist_train.f32", 784)
        qry = load(f"{out}/fmnist_t10k.f32", 784)
        k = 10
    elif case == "fmnist_map2d_self":
        ref = np.ascontiguousarray(load(f"{out}/fmnist_pca50.f32", 50)[:, :2])
        qry = ref
        k = 10
        from sklearn.neighbors import NearestNeighbors
        t0 = time.perf_counter()
        NearestNeighbors(n_neighbors=k, algorithm="kd_tree", n_jobs=2).fit(ref).kneighbors()
        secs = time.perf_counter() - t0
        print(f"BENCH case=knn_{case} impl=scikit-learn-kd_tree seconds={secs:.3f} threads=2")
    else:
        ref = load(f"{out}/fmnist_pca50.f32", 50)
        qry = ref
        k = 91
    t0 = time.perf_counter()
    index = faiss.IndexFlatL2(ref.shape[1])
    index.add(ref)
    if case == "fmnist_784":
        _, ids = index.search(qry, k)
    else:
        # Self mode: ask for one more and drop each point itself.
        _, ids1 = index.search(qry, k + 1)
        ids = np.empty((qry.shape[0], k), dtype=np.int64)
        for i in range(qry.shape[0]):
            row = ids1[i][ids1[i] != i]
            ids[i] = row[:k]
    secs = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    ids.astype(np.int64).tofile(f"{out}/faiss_{case}.i64")
    print(f"BENCH case=knn_{case} impl=faiss-IndexFlatL2 seconds={secs:.3f} "
          f"peak_mb={peak:.0f} threads=2 recall_vs_faiss=1.000000")


if __name__ == "__main__":
    main()
