"""Fashion-MNIST for the t-SNE bench: the first N images of train + test,
scaled to [0, 1], PCA to 50 (scikit-learn, float64, then float32); writes
N x 50 float32 rows to OUT and the int32 labels to OUT.labels, and the exact
10 nearest neighbours of every row (FAISS flat index) to OUT.knn10."""
import gzip
import sys

import numpy as np

D = "/usr/share/datasets/fashion-mnist/"


def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    x = np.concatenate([idx(D + "train-images-idx3-ubyte.gz", 16),
                        idx(D + "t10k-images-idx3-ubyte.gz", 16)])
    y = np.concatenate([idx(D + "train-labels-idx1-ubyte.gz", 8),
                        idx(D + "t10k-labels-idx1-ubyte.gz", 8)])
    x = x.reshape(-1, 784)[:n].astype(np.float64) / 255.0
    from sklearn.decomposition import PCA
    z = PCA(50, svd_solver="full").fit_transform(x).astype(np.float32)
    z = np.ascontiguousarray(z)
    z.tofile(out)
    y[:n].astype(np.int32).tofile(out + ".labels")
    import faiss
    index = faiss.IndexFlatL2(50)
    index.add(z)
    _, nb = index.search(z, 11)
    # drop each row itself (duplicates aside, it comes first)
    own = np.arange(n)[:, None]
    keep = np.array([r[r != i][:10] for r, i in zip(nb, own[:, 0])])
    keep.astype(np.int64).tofile(out + ".knn10")


if __name__ == "__main__":
    main()
