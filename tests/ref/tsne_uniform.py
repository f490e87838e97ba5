#!/usr/bin/python3
"""scikit-learn's t-SNE on unstructured data, the reference figures of
tests/test_tsne.c (uniform_data_runs_its_iterations).

    /usr/bin/python3 tests/ref/tsne_uniform.py

The data are those of the C test: n x 10 floats uniform in [0, 1) from the
splitmix64 generator of tests/testutil.h (tu_uniform), seed 15 + n. Uniform
data have no cluster structure, so the gradient stays small for a long
time: the case where stopping on the gradient too early leaves every point
on one spot. scikit-learn (Debian's python3-sklearn) runs with its defaults
(Barnes-Hut, perplexity 30, PCA initialisation, automatic learning rate);
the script prints, per size, its iterations, its final KL divergence and
the map's spread (standard deviation of the coordinates). The C test
asserts the KL divergence within the bounds its comment gives.

Output with Debian bookworm's scikit-learn 1.2.1 (about 3 minutes):
    n=200: n_iter_=999 kl=1.0089 spread=5.803
    n=1000: n_iter_=999 kl=1.9588 spread=16.499
    n=3000: n_iter_=999 kl=2.5819 spread=25.663
(n_iter_ is scikit-learn's last iteration index: 999 is all 1,000.)
"""
import numpy as np
from sklearn.manifold import TSNE

M64 = (1 << 64) - 1


def uniform(n, d, seed):
    out = np.empty(n * d)
    s = seed
    for i in range(n * d):
        s = (s + 0x9E3779B97F4A7C15) & M64
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z ^= z >> 31
        out[i] = (z >> 11) * (1.0 / 9007199254740992.0)
    return out.reshape(n, d).astype(np.float32)


def main():
    for n in (200, 1000, 3000):
        x = uniform(n, 10, 15 + n)
        t = TSNE(random_state=0, init="pca", learning_rate="auto")
        y = t.fit_transform(x)
        print(f"n={n}: n_iter_={t.n_iter_} kl={t.kl_divergence_:.4f} "
              f"spread={y.std():.3f}")


if __name__ == "__main__":
    main()
