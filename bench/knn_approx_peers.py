#!/usr/bin/python3
"""The peers' side of bench-knn-approx.sh: hnswlib (M=16,
ef_construction=200, ef raised until recall reaches the target) and
pynndescent (defaults) on the cases of knn_approx_bench.c, 2 threads.

usage: knn_approx_peers.py OUT_DIR graph|query|graph1m [hnswlib|pynndescent ...]
Recall is against OUT_DIR/exact_CASE.i64 (written by knn_approx_bench).
graph1m: the 1,000,000-row set ($MILLION, default /work/data/million.f32);
recall on every 100th row; hnswlib's ef is tuned on those rows, then all
1,000,000 rows are queried at that ef and timed.
Prints BENCH lines; times are build + query (wall clock), cpu_s the
process's CPU time over the same span."""
import os
import resource
import sys
import time

import numpy as np

TARGET = 0.98
THREADS = 2
STEP = 100


def recall(got, exact):
    k = exact.shape[1]
    return np.mean([len(np.intersect1d(a, b)) for a, b in zip(got, exact)]) / k


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def line(case, impl, secs, rec, extra=""):
    print("BENCH case=knn_approx_%s impl=%s seconds=%.3f peak_mb=%.0f threads=%d "
          "recall=%.4f%s" % (case, impl, secs, peak_mb(), THREADS, rec, extra), flush=True)


def drop_self(ids, k, rows=None):
    """Each row's list without the row itself (first k of the rest)."""
    out = np.empty((ids.shape[0], k), dtype=np.int64)
    rows = np.arange(ids.shape[0]) if rows is None else rows
    for i, row in enumerate(ids):
        out[i] = row[row != rows[i]][:k]
    return out


def main():
    out, case = sys.argv[1], sys.argv[2]
    which = sys.argv[3:] or ["hnswlib", "pynndescent"]
    big = case == "graph1m"
    graph = case in ("graph", "graph1m")
    if big:
        x = np.fromfile(os.environ.get("MILLION", "/work/data/million.f32"),
                        dtype=np.float32).reshape(1000000, 50)
    else:
        x = np.fromfile(os.environ.get("FM70K", f"{out}/fmnist_pca50.f32"),
                        dtype=np.float32).reshape(70000, 50)
    k = 90 if graph else 10
    ref, q = (x, x) if graph else (x[:60000], x[60000:])
    sample = np.arange(0, len(q), STEP) if big else np.arange(len(q))
    exact = np.fromfile(f"{out}/exact_{case}.i64", dtype=np.int64).reshape(len(sample), k)

    if "hnswlib" in which:
        import hnswlib
        t0, c0 = time.monotonic(), cpu()
        index = hnswlib.Index(space="l2", dim=50)
        index.init_index(max_elements=len(ref), M=16, ef_construction=200, random_seed=0)
        index.add_items(ref, num_threads=THREADS)
        build, cbuild = time.monotonic() - t0, cpu() - c0
        print("# hnswlib build %.1f s (cpu %.1f s)" % (build, cbuild), flush=True)
        efs = [100, 120, 150, 200, 300, 400] if graph else [10, 15, 20, 30, 40, 60, 80, 120]
        for ef in efs:
            index.set_ef(ef)
            if big:  # tune ef on the sample rows, then time all rows
                ids, _ = index.knn_query(q[sample], k=k + 1, num_threads=THREADS)
                rec = recall(drop_self(ids.astype(np.int64), k, sample), exact)
                print("# hnswlib ef=%d sample recall %.4f" % (ef, rec), flush=True)
                if rec < TARGET and ef != efs[-1]:
                    continue
            t1, c1 = time.monotonic(), cpu()
            ids, _ = index.knn_query(q, k=k + 1 if graph else k, num_threads=THREADS)
            qs, cq = time.monotonic() - t1, cpu() - c1
            ids = ids.astype(np.int64)
            if graph:
                ids = drop_self(ids[sample], k, sample) if big else drop_self(ids, k)
            rec = recall(ids, exact)
            line(case, "hnswlib", build + qs, rec,
                 " build_s=%.3f query_s=%.3f cpu_s=%.1f ef=%d" % (build, qs, cbuild + cq, ef))
            if rec >= TARGET:
                break

    if "pynndescent" in which:
        import pynndescent
        t0, c0 = time.monotonic(), cpu()
        nnd = pynndescent.NNDescent(ref, n_neighbors=k + 1 if graph else 30, n_jobs=THREADS,
                                    random_state=0)
        if graph:
            ids = nnd.neighbor_graph[0].astype(np.int64)
            ids = drop_self(ids[sample], k, sample)
            line(case, "pynndescent", time.monotonic() - t0, recall(ids, exact),
                 " cpu_s=%.1f (includes numba compilation)" % (cpu() - c0))
        else:
            nnd.prepare()
            build = time.monotonic() - t0
            t1 = time.monotonic()
            ids, _ = nnd.query(q, k=k)
            qs = time.monotonic() - t1
            line(case, "pynndescent", build + qs, recall(ids.astype(np.int64), exact),
                 " build_s=%.3f query_s=%.3f cpu_s=%.1f (includes numba compilation)"
                 % (build, qs, cpu() - c0))


if __name__ == "__main__":
    main()
