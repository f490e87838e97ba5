"""Quality of new points placed on a t-SNE map, for bench-tsne-transform.sh:
the new points' 10-NN label accuracy among the training points in the map
(majority vote of the 10 nearest training map points, scikit-learn's
KNeighborsClassifier), and for reference the same vote in the 50-D input.
  tsne_transform_quality.py PREFIX MAP.f32 NEW.f32 [input]
Prints "acc10=A" (and "input_acc10=B" with the last argument)."""
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
    z = np.fromfile(new_path, dtype=np.float32).reshape(len(yte), 2)
    out = f"acc10={vote(y, ytr, z, yte):.4f}"
    if len(sys.argv) > 4:
        xtr = np.fromfile(prefix + ".train.f32", dtype=np.float32).reshape(len(ytr), 50)
        xte = np.fromfile(prefix + ".test.f32", dtype=np.float32).reshape(len(yte), 50)
        out += f" input_acc10={vote(xtr, ytr, xte, yte):.4f}"
    print(out)


if __name__ == "__main__":
    main()
