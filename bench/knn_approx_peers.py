#!/usr/bin/python3
"""The peers' side of bench-knn-approx.sh: hnswlib (M=16,
ef_construction=200, ef raised until recall reaches the target) and
pynndescent (defaults) on the cases of knn_approx_bench.c, 2 threads.

usage: knn_approx_peers.py OUT_DIR graph|query
Recall is against OUT_DIR/exact_CASE.i64 (written by knn_approx_bench).
Prints BENCH lines; times are build + query (wall clock)."""
import resource
import sys
import time

import numpy as np

TARGET = 0.98
THREADS = 2


def recall(got, exact):
    k = exact.shape[1]
    return np.mean([len(np.intersect1d(a, b)) for a, b in zip(got, exact)]) / k


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def line(case, impl, secs, rec, extra=""):
    print("BENCH case=knn_approx_%s impl=%s seconds=%.3f peak_mb=%.0f threads=%d "
          "recall=%.4f%s" % (case, impl, secs, peak_mb(), THREADS, rec, extra), flush=True)


def drop_self(ids, k):
    """Each row's list without the row itself (first k of the rest)."""
    out = np.empty((ids.shape[0], k), dtype=np.int64)
    for i, row in enumerate(ids):
        out[i] = row[row != i][:k]
    return out


def main():
    out, case = sys.argv[1], sys.argv[2]
    x = np.fromfile(f"{out}/fmnist_pca50.f32", dtype=np.float32).reshape(70000, 50)
    graph = case == "graph"
    k = 90 if graph else 10
    ref, q = (x, x) if graph else (x[:60000], x[60000:])
    exact = np.fromfile(f"{out}/exact_{case}.i64", dtype=np.int64).reshape(len(q), k)

    import hnswlib
    t0 = time.monotonic()
    index = hnswlib.Index(space="l2", dim=50)
    index.init_index(max_elements=len(ref), M=16, ef_construction=200, random_seed=0)
    index.add_items(ref, num_threads=THREADS)
    build = time.monotonic() - t0
    for ef in ([100, 120, 150, 200, 300, 400] if graph else [10, 15, 20, 30, 40, 60, 80, 120]):
        index.set_ef(ef)
        t1 = time.monotonic()
        ids, _ = index.knn_query(q, k=k + 1 if graph else k, num_threads=THREADS)
        ids = drop_self(ids.astype(np.int64), k) if graph else ids.astype(np.int64)
        qs = time.monotonic() - t1
        rec = recall(ids, exact)
        line(case, "hnswlib", build + qs, rec, " build_s=%.3f query_s=%.3f ef=%d" % (build, qs, ef))
        if rec >= TARGET:
            break

    import pynndescent
    t0 = time.monotonic()
    nnd = pynndescent.NNDescent(ref, n_neighbors=k + 1 if graph else 30, n_jobs=THREADS,
                                random_state=0)
    if graph:
        ids = drop_self(nnd.neighbor_graph[0].astype(np.int64), k)
        line(case, "pynndescent", time.monotonic() - t0, recall(ids, exact),
             " (includes numba compilation)")
    else:
        nnd.prepare()
        build = time.monotonic() - t0
        t1 = time.monotonic()
        ids, _ = nnd.query(q, k=k)
        qs = time.monotonic() - t1
        line(case, "pynndescent", build + qs, recall(ids.astype(np.int64), exact),
             " build_s=%.3f query_s=%.3f (includes numba compilation)" % (build, qs))


if __name__ == "__main__":
    main()
