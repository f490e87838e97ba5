"""Quality of new points placed on a t-SNE map, for bench-tsne-transform.sh:
the new points' 10-NN label accuracy among the training points in the map
(majority vote of the 10 nearest training map points, scikit-learn's
KNeighborsClassifier), and for reference the same vote in the 50-D input.
  tsne_transform_quality.py PREFIX MAP.f32 NEW.f32 [input]
  tsne_transform_quality.py PREFIX MAP.f32 - weighted-mean
Prints "acc10=A" (and "input_acc10=B" with "input"). With "-" and
"weighted-mean" the new points are not read but placed by the simplest
baseline: the mean of their 10 nearest training rows' map places (50-D
Euclidean neighbours) weighted by 1 / distance, no optimisation."""
import sys

import numpy as np
from sklearn.neighbors import KNeighborsClassifier


def vote(train, ytr, test, yte):
    clf = KNeighborsClassifier(n_neighbors=10, n_jobs=2).fit(train, ytr)
    return float(np.mean(clf.predict(test) == yte))


def main():
    prefix, map_path, new_path = sys.argv[1:4]
    ytr = np.fromfile(prefix + ".train.labels", dtype=np.int32)
    yte = np.fromfile(prefix + ".test.labels", dtype=np.int32)
    y = np.fromfile(map_path, dtype=np.float32).reshape(len(ytr), 2)
    mode = sys.argv[4] if len(sys.argv) > 4 else ""
    xtr = np.fromfile(prefix + ".train.f32", dtype=np.float32).reshape(len(ytr), 50)
    xte = np.fromfile(prefix + ".test.f32", dtype=np.float32).reshape(len(yte), 50)
    if mode == "weighted-mean":
        from sklearn.neighbors import NearestNeighbors
        dist, nb = NearestNeighbors(n_neighbors=10, n_jobs=2).fit(xtr).kneighbors(xte)
        w = 1.0 / np.maximum(dist, 1e-12)
        z = (y[nb] * w[:, :, None]).sum(1) / w.sum(1)[:, None]
    else:
        z = np.fromfile(new_path, dtype=np.float32).reshape(len(yte), 2)
    out = f"acc10={vote(y, ytr, z, yte):.4f}"
    if mode == "input":
        out += f" input_acc10={vote(xtr, ytr, xte, yte):.4f}"
    print(out)


if __name__ == "__main__":
    main()
