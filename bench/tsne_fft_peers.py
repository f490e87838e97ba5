"""The FFT-accelerated t-SNE peers for bench-tsne.sh, at their defaults
(perplexity 30, 1,000 iterations, PCA start, FFT gradients), timed on the
fit alone. Neither is packaged by Debian: build them from their public
sources outside the repository and point at them.

  tsne_fft_peers.py opentsne OPENTSNE_PYTHONPATH DATA N THREADS OUT.f32
  tsne_fft_peers.py fitsne FITSNE_DIR DATA N THREADS OUT.f32

openTSNE: a folder holding the built openTSNE package (its C extensions
compiled). FIt-SNE: its source folder, with fast_tsne.py and the compiled
bin/fast_tsne. Prints "seconds=S peak_mb=M kl=K iters=1000"."""
import resource
import sys
import time

import numpy as np


def main():
    peer, where, data, n, threads, out = sys.argv[1:7]
    n, threads = int(n), int(threads)
    x = np.fromfile(data, dtype=np.float32).reshape(n, 50).astype(np.float64)
    sys.path.insert(0, where)
    kl = float("nan")
    if peer == "opentsne":
        from openTSNE import TSNE
        t0 = time.monotonic()
        emb = TSNE(n_jobs=threads, random_state=0, negative_gradient_method="fft").fit(x)
        seconds = time.monotonic() - t0
        kl = float(getattr(emb, "kl_divergence", float("nan")))
        y = np.asarray(emb)
    else:
        from fast_tsne import fast_tsne
        t0 = time.monotonic()
        y = fast_tsne(x, nthreads=threads, seed=0, initialization="pca")
        seconds = time.monotonic() - t0
    np.ascontiguousarray(y, dtype=np.float32).tofile(out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"seconds={seconds:.2f} peak_mb={peak:.0f} kl={kl:.4f} iters=1000")


if __name__ == "__main__":
    main()
