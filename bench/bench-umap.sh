#!/usr/bin/env bash
# UMAP of Fashion-MNIST (70,000 images: train then t10k) on 2 threads:
# libembedviz's embedviz.UMAP against Debian's umap-learn 0.5.3 in the same
# run, both at their defaults in 2-D (umap-learn's fit_transform timed whole,
# neighbours included, after a warm-up fit of 2,000 rows so that numba's
# compilation is not counted). Cases: the 784 raw pixels and their PCA to 50.
# Quality for both: trustworthiness (scikit-learn's, 10 neighbours, 10,000-
# row sample) and 10-NN label accuracy in the map. BENCH_UMAP_N=10000 runs
# a smaller set; BENCH_UMAP_CASES="pca50 raw" picks cases.
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
