#!/usr/bin/env bash
# UMAP of Fashion-MNIST (70,000 images: train then t10k) on 2 threads:
# libembedviz's embedviz.UMAP against Debian's umap-learn 0.5.3 in the same
# run, both at their defaults in 2-D (umap-learn's fit_transform timed whole,
# neighbours included, after a warm-up fit of 2,000 rows so that numba's
# compilation is not counted). Cases: the 784 raw pixels and their PCA to 50.
# Quality for both: trustworthiness (scikit-learn's, 10 neighbours, 10,000-
# row sample) and 10-NN label accuracy in the map. BENCH_UMAP_N=10000 runs
# a smaller set; BENCH_UMAP_CASES="pca50 raw" picks cases.
# BENCH_UMAP_KNN_METHOD=exact/approximate forces libembedviz's kNN method.
# BENCH_UMAP_MILLION=1 adds the issue's 1,000,000 x 50 set
# (/work/data/million.f32 or BENCH_UMAP_MILLION_DATA, from
# bench/make_million.py): libembedviz alone (umap-learn would take most of
# an hour there), under /usr/bin/time -v for the peak RSS; a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
THREADS=2
N=${BENCH_UMAP_N:-70000}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS NUMBA_NUM_THREADS=$THREADS
export EMBEDVIZ_LIBRARY=$PWD/build/libembedviz.so.1 PYTHONPATH=$PWD/bindings/python
if ! $PY -c "import umap" 2>/dev/null; then
  echo "bench-umap: umap-learn is not installed (Debian umap-learn): skipped" >&2
  exit 0
fi
$PY bench/umap_bench.py prep "$tmp" "$N"
echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
for c in ${BENCH_UMAP_CASES:-pca50 raw}; do
  if [ "$c" = raw ]; then d=784; else d=50; fi
  for impl in libembedviz umap-learn; do
    map="$tmp/$impl.f32"
    line=$($PY bench/umap_bench.py fit "$impl" "$tmp/$c.f32" "$N" "$d" "$map" 2>/dev/null | tail -1)
    q=$($PY bench/umap_bench.py quality "$tmp/$c.f32" "$N" "$d" "$map" "$tmp/labels.i32")
    echo "BENCH case=umap-fmnist$((N / 1000))k-$c impl=$impl $line $q load=$(cut -d' ' -f1 /proc/loadavg)"
  done
done
if [ "${BENCH_UMAP_MILLION:-0}" = 1 ]; then
  data=${BENCH_UMAP_MILLION_DATA:-/work/data/million.f32}
  if [ ! -f "$data" ]; then
    echo "bench-umap: $data is missing (bench/make_million.py): million case skipped" >&2
  else
    rows=$(( $(stat -c %s "$data") / 200 ))
    echo "# million: $rows rows, load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
    if ! /usr/bin/time -v -o "$tmp/time.txt" $PY bench/umap_bench.py fit libembedviz "$data" "$rows" 50 \
      "$tmp/million.f32" >"$tmp/fit.txt" 2>"$tmp/fit.err"; then
      echo "bench-umap: the million fit failed:" >&2; cat "$tmp/fit.err" "$tmp/time.txt" >&2; exit 1
    fi
    line=$(tail -1 "$tmp/fit.txt")
    rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$tmp/time.txt")
    cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.1f", u + s}' "$tmp/time.txt")
    q=$($PY bench/umap_bench.py quality "$data" "$rows" 50 "$tmp/million.f32" "$data.labels")
    echo "BENCH case=umap-million rows=$rows impl=libembedviz $line cpu_seconds=$cpu peak_rss_mb=$rss $q load=$(cut -d' ' -f1 /proc/loadavg)"
  fi
fi
