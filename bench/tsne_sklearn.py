"""scikit-learn's TSNE (Barnes-Hut) on the bench data with the same settings
as libembedviz: perplexity 30, 1,000 iterations, 250 exaggerated by 12,
learning rate 'auto', PCA initialisation, theta 0.5.
Usage: tsne_sklearn.py DATA N DIMS THREADS OUT.f32"""
import resource
import sys
import time

import numpy as np


def main():
    data, n, dims, threads, out = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                   int(sys.argv[4]), sys.argv[5])
    x = np.fromfile(data, dtype=np.float32).reshape(n, 50)
    from sklearn.manifold import TSNE
    t = TSNE(n_components=dims, perplexity=30.0, early_exaggeration=12.0,
             learning_rate="auto", n_iter=1000, init="pca", method="barnes_hut",
             angle=0.5, random_state=0, n_jobs=threads)
    start = time.perf_counter()
    y = t.fit_transform(x)
    seconds = time.perf_counter() - start
    y.astype(np.float32).tofile(out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"seconds={seconds:.2f} peak_mb={peak:.0f} kl={t.kl_divergence_:.4f} "
          f"iters={t.n_iter_}")


if __name__ == "__main__":
    main()
