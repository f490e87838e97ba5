#!/usr/bin/python3
"""scikit-learn's PCA of Fashion-MNIST (70,000 x 784, float32) to 50
components on THREADS threads. Usage: pca_sklearn.py SOLVER THREADS.
Prints 'seconds=S peak_mb=M max_ratio_diff=... min_abs_cos=...'."""
import os
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "ref"))
from pca_fmnist import load_fmnist  # noqa: E402
from pca_accuracy import figures  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402


def main():
    solver, threads = sys.argv[1], int(sys.argv[2])
    x = load_fmnist()
    with threadpool_limits(limits=threads):
        t0 = time.perf_counter()
        pca = PCA(n_components=50, svd_solver=solver, random_state=0).fit(x)
        seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("seconds=%.3f peak_mb=%.0f %s" % (
        seconds, peak, figures(pca.explained_variance_ratio_, pca.components_)))


if __name__ == "__main__":
    main()
