#!/usr/bin/env bash
# Approximate kNN: libembedviz's NN-descent index against hnswlib (M=16,
# ef_construction=200, ef raised until recall >= 0.98) and pynndescent, all
# on 2 threads, in the same run.
#   knn_approx_query   the 10,000 t10k rows against the 60,000 others, k = 10
#   knn_approx_graph   all 70,000 Fashion-MNIST PCA-50 rows, k = 90 (t-SNE's graph)
#   knn_approx_graph1m the 1,000,000-row set of bench/make_million.py, k = 90
#                      (KNN_BENCH_1M=1; the peers there only with
#                      KNN_BENCH_1M_PEERS=1: hnswlib's build alone takes about
#                      20 minutes on 2 cores, pynndescent longer)
# Recall is against the exact index's lists (computed once, kept in
# bench/out; at 1M on every 100th row). The exact index's own time is
# printed where it computes them (impl=libembedviz-exact).
# Data: FM70K (default /work/data/fm70k.f32, else bench/knn_prep.py's
# output), MILLION (default /work/data/million.f32).
# Prints BENCH lines (seconds = build + query wall clock, cpu_s, recall).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
OUT=bench/out
mkdir -p "$OUT"
[ -f build/libembedviz.a ] || make --no-print-directory all
if [ -z "${FM70K:-}" ] && [ -f /work/data/fm70k.f32 ]; then export FM70K=/work/data/fm70k.f32; fi
if [ -z "${FM70K:-}" ]; then
  [ -f "$OUT/fmnist_pca50.f32" ] || $PY bench/knn_prep.py "$OUT"
  export FM70K="$OUT/fmnist_pca50.f32"
fi
export MILLION="${MILLION:-/work/data/million.f32}"
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude bench/knn_approx_bench.c \
  -o "$OUT/knn_approx_bench" build/libembedviz.a -lopenblas -lm -fopenmp
have_peers=0
$PY -c 'import hnswlib, pynndescent' 2>/dev/null && have_peers=1
cases="query graph"
[ "${KNN_BENCH_1M:-0}" = 1 ] && cases="$cases graph1m"
for case in $cases; do
  echo "# $case: load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$OUT/knn_approx_bench" "$OUT" "$case" 2
  if [ $have_peers = 0 ]; then
    echo "# $case: hnswlib or pynndescent missing (apt-get install python3-hnswlib python3-pynndescent): peers skipped"
  elif [ "$case" != graph1m ]; then
    $PY bench/knn_approx_peers.py "$OUT" "$case"
  elif [ "${KNN_BENCH_1M_PEERS:-0}" = 1 ]; then
    $PY bench/knn_approx_peers.py "$OUT" "$case" hnswlib
  else
    echo "# graph1m: peers skipped (KNN_BENCH_1M_PEERS=1 runs hnswlib, ~30 minutes)"
  fi
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
