#!/usr/bin/env bash
# Approximate kNN on Fashion-MNIST PCA-50: libembedviz's NN-descent index
# against hnswlib (M=16, ef_construction=200, ef raised until recall >= 0.98)
# and pynndescent, all on 2 threads, in the same run.
#   knn_approx_graph  all 70,000 rows against themselves, k = 90 (t-SNE's graph)
#   knn_approx_query  the 10,000 t10k rows against the 60,000 others, k = 10
# Recall is against the exact index's lists (computed once, kept in bench/out).
# Prints BENCH lines (seconds = build + query, recall).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
OUT=bench/out
mkdir -p "$OUT"
[ -f build/libembedviz.a ] || make --no-print-directory all
[ -f "$OUT/fmnist_pca50.f32" ] || $PY bench/knn_prep.py "$OUT"
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude bench/knn_approx_bench.c \
  -o "$OUT/knn_approx_bench" build/libembedviz.a -lopenblas -lm -fopenmp
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for case in query graph; do
  "$OUT/knn_approx_bench" "$OUT" "$case" 2
  if $PY -c 'import hnswlib, pynndescent' 2>/dev/null; then
    $PY bench/knn_approx_peers.py "$OUT" "$case"
  else
    echo "# $case: hnswlib or pynndescent missing (apt-get install python3-hnswlib python3-pynndescent): peers skipped"
  fi
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
