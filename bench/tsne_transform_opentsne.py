"""openTSNE's side of bench-tsne-transform.sh: its TSNE (perplexity 30, FFT
gradients, PCA start) on the 60,000 training rows with libembedviz's
schedule, 1,000 iterations of which 250 exaggerated by 12 (openTSNE's own
defaults stop at 250 + 500; the rest at its defaults), then
TSNEEmbedding.transform at its defaults on the 10,000 test rows, each
timed. openTSNE (1.0.4) is not packaged by Debian: build it from its public
source outside the repository (bench/build-peers.sh) and point at the
folder holding the package.
  tsne_transform_opentsne.py OPENTSNE_PYTHONPATH PREFIX THREADS MAP.f32 NEW.f32
Prints "fit_seconds=F transform_seconds=T peak_mb=M"."""
import resource
import sys
import time

import numpy as np


def main():
    where, prefix, threads, map_out, new_out = sys.argv[1:6]
    sys.path.insert(0, where)
    from openTSNE import TSNE
    xtr = np.fromfile(prefix + ".train.f32", dtype=np.float32).reshape(-1, 50).astype(np.float64)
    xte = np.fromfile(prefix + ".test.f32", dtype=np.float32).reshape(-1, 50).astype(np.float64)
    t0 = time.monotonic()
    emb = TSNE(perplexity=30, n_jobs=int(threads), random_state=0,
               negative_gradient_method="fft", initialization="pca",
               early_exaggeration=12, early_exaggeration_iter=250, n_iter=750).fit(xtr)
    fit_s = time.monotonic() - t0
    t0 = time.monotonic()
    new = emb.transform(xte)
    transform_s = time.monotonic() - t0
    np.ascontiguousarray(emb, dtype=np.float32).tofile(map_out)
    np.ascontiguousarray(new, dtype=np.float32).tofile(new_out)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"fit_seconds={fit_s:.2f} transform_seconds={transform_s:.2f} peak_mb={peak:.0f}")


if __name__ == "__main__":
    main()
