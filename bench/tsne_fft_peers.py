"""The FFT-accelerated t-SNE peers for bench-tsne.sh, timed on the fit alone
(neighbours, affinities, PCA start and optimisation), with libembedviz's
schedule: perplexity 30, 1,000 iterations of which the first 250 exaggerated
by 12, PCA start, FFT gradients; everything else at the peer's defaults
(learning rate, grid, momentum, approximate neighbours by Annoy). Neither is
packaged by Debian: build them from their public sources outside the
repository (bench/build-peers.sh) and point at them.

  tsne_fft_peers.py opentsne OPENTSNE_PYTHONPATH DATA N THREADS OUT.f32
  tsne_fft_peers.py fitsne FITSNE_DIR DATA N THREADS OUT.f32

openTSNE (1.0.4): a folder holding the built openTSNE package (its C
extensions compiled in place); TSNE(early_exaggeration_iter=250,
n_iter=750) as its own defaults stop at 250 + 500. FIt-SNE (1.2.1): its
source folder, with fast_tsne.py and the compiled bin/fast_tsne;
fast_tsne(max_iter=1000) as its default is 750. FIt-SNE's wrapper writes
data.dat and result.dat in the current folder and its program prints its
progress on standard output: both are kept out of the way (a temporary
folder, standard output sent to standard error). Each peer's own KL is the
one it reports at the end (openTSNE's embedding.kl_divergence, FIt-SNE's
loss at iteration 1,000; both estimate Z from the FFT field).
Prints "seconds=S cpu_s=C peak_mb=M kl=K iters=1000"."""
import contextlib
import os
import resource
import sys
import tempfile
import time

import numpy as np

ITERS, EXAG_ITERS = 1000, 250


@contextlib.contextmanager
def stdout_to_stderr():
    """Sends file descriptor 1 (the peer's C++ progress printing, and child
    processes') to standard error, so the caller's $(...) sees only our line."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main():
    peer, where, data, n, threads, out = sys.argv[1:7]
    n, threads = int(n), int(threads)
    out = os.path.abspath(out)
    x = np.fromfile(data, dtype=np.float32).reshape(n, 50).astype(np.float64)
    sys.path.insert(0, os.path.abspath(where))
    kl = float("nan")
    if peer == "opentsne":
        from openTSNE import TSNE
        with stdout_to_stderr():
            t0 = time.monotonic()
            emb = TSNE(perplexity=30, n_jobs=threads, random_state=0,
                       negative_gradient_method="fft", initialization="pca",
                       early_exaggeration=12, early_exaggeration_iter=EXAG_ITERS,
                       n_iter=ITERS - EXAG_ITERS).fit(x)
            seconds = time.monotonic() - t0
        kl = float(getattr(emb, "kl_divergence", None) or float("nan"))
        y = np.asarray(emb)
    elif peer == "fitsne":
        from fast_tsne import fast_tsne
        with tempfile.TemporaryDirectory() as work, stdout_to_stderr():
            here = os.getcwd()
            os.chdir(work)
            try:
                t0 = time.monotonic()
                y, loss = fast_tsne(x, perplexity=30, max_iter=ITERS,
                                    stop_early_exag_iter=EXAG_ITERS, early_exag_coeff=12,
                                    nbody_algo="FFT", nthreads=threads, seed=0,
                                    initialization="pca", return_loss=True)
                seconds = time.monotonic() - t0
            finally:
                os.chdir(here)
        kl = float(loss[-1])
    else:
        sys.exit(f"tsne_fft_peers.py: unknown peer {peer!r} (opentsne or fitsne)")
    np.ascontiguousarray(y, dtype=np.float32).tofile(out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if peer == "fitsne":  # the work is done in its child process
        peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0)
    # cpu_s: user + system CPU of this process and its children (FIt-SNE's
    # binary), Python's start and the data's reading included
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    print(f"seconds={seconds:.2f} cpu_s={cpu:.1f} peak_mb={peak:.0f} kl={kl:.4f} "
          f"iters={ITERS}")


if __name__ == "__main__":
    main()
