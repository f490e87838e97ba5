"""Quality of a map: the fraction of each row's 10 nearest input neighbours
kept among its 10 nearest map neighbours (averaged), and the 10-NN label
accuracy in the map. Usage: tsne_quality.py DATA N DIMS MAP.f32"""
import sys

import numpy as np


def main():
    data, n, dims, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    y = np.fromfile(path, dtype=np.float32).reshape(n, dims)
    ref = np.fromfile(data + ".knn10", dtype=np.int64).reshape(n, 10)
    labels = np.fromfile(data + ".labels", dtype=np.int32)
    import faiss
    index = faiss.IndexFlatL2(dims)
    index.add(np.ascontiguousarray(y))
    _, nb = index.search(np.ascontiguousarray(y), 11)
    kept, correct = 0, 0
    for i in range(n):
        row = nb[i][nb[i] != i][:10]
        kept += len(np.intersect1d(row, ref[i]))
        correct += np.mean(labels[row] == labels[i])
    print(f"knn10_kept={kept / (10 * n):.4f} knn10_label_acc={correct / n:.4f}")


if __name__ == "__main__":
    main()
