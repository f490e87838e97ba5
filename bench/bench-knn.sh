#!/usr/bin/env bash
# Exact kNN on Fashion-MNIST: libembedviz against FAISS's flat index
# (IndexFlatL2), both on 2 threads, in the same run.
#   knn_fmnist_784         10,000 t10k queries x 60,000 train rows, 784-D, k = 10
#   knn_fmnist_pca50_self  all 70,000 images against themselves, PCA-50, k = 91
#   knn_fmnist_map2d_self  their PCA map (2 columns) against itself, k = 10
#                          (the k-d tree path; scikit-learn's kd_tree too)
# Prints BENCH lines (seconds, peak_mb, recall_vs_faiss = fraction of FAISS's
# neighbour ids we also return) and the time ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
OUT=bench/out
mkdir -p "$OUT"
[ -f build/libembedviz.a ] || make --no-print-directory all
if [ ! -f "$OUT/fmnist_pca50.f32" ] || [ ! -f "$OUT/fmnist_t10k.f32" ]; then
  $PY bench/knn_prep.py "$OUT"
fi
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude bench/knn_bench.c -o "$OUT/knn_bench" \
  build/libembedviz.a -lopenblas -lm -fopenmp
for case in fmnist_784 fmnist_pca50_self fmnist_map2d_self; do
  peer=$($PY bench/knn_faiss.py "$OUT" "$case")
  echo "$peer"
  peer=$(grep faiss <<<"$peer")
  ours=$("$OUT/knn_bench" "$OUT" "$case" 2)
  echo "$ours"
  secs() { sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$1"; }
  awk -v f="$(secs "$peer")" -v o="$(secs "$ours")" -v c="$case" \
    'BEGIN { printf "# knn_%s: libembedviz takes %.2fx the time of FAISS (%.2fx faster)\n", c, o / f, f / o }'
done
