"""Fashion-MNIST for the t-SNE transform bench: the 60,000 training images
and the 10,000 test images scaled to [0, 1], a PCA to 50 fitted on the
training images alone (scikit-learn, float64) and applied to both; writes
OUT.train.f32 (60,000 x 50 float32), OUT.test.f32 (10,000 x 50) and their
int32 labels (OUT.train.labels, OUT.test.labels)."""
import gzip
import sys

import numpy as np

D = "/usr/share/datasets/fashion-mnist/"


def idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def main():
    out = sys.argv[1]
    xtr = idx(D + "train-images-idx3-ubyte.gz", 16).reshape(-1, 784) / 255.0
    xte = idx(D + "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784) / 255.0
    from sklearn.decomposition import PCA
    pca = PCA(50, svd_solver="full").fit(xtr)
    for name, x, lab in (("train", xtr, "train-labels-idx1-ubyte.gz"),
                         ("test", xte, "t10k-labels-idx1-ubyte.gz")):
        z = np.ascontiguousarray(pca.transform(x).astype(np.float32))
        z.tofile(f"{out}.{name}.f32")
        idx(D + lab, 8).astype(np.int32).tofile(f"{out}.{name}.labels")


if __name__ == "__main__":
    main()
