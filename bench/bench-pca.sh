#!/usr/bin/env bash
# PCA of Fashion-MNIST (70,000 x 784 -> 50 components) on 2 threads:
# scikit-learn (its default 'auto' = randomized here, and the exact 'full')
# against libembedviz's solvers, in one run. Accuracy against the exact
# float64 reference of tests/ref/pca_fmnist.py. Needs build/libembedviz.a.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
THREADS=2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude bench/pca_bench.c -o "$tmp/pca_bench" \
  build/libembedviz.a -lopenblas -llapacke -larpack -lfftw3f -lz -lm -fopenmp
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
for solver in auto full; do
  out=$($PY bench/pca_sklearn.py $solver $THREADS)
  echo "BENCH case=pca-fmnist-50 impl=sklearn-$solver $out"
done
run_ev() { # name solver [power iterations]
  local line acc
  line=$("$tmp/pca_bench" "$2" $THREADS "$tmp/out.bin" ${3:-})
  acc=$($PY bench/pca_accuracy.py "$tmp/out.bin")
  echo "BENCH case=pca-fmnist-50 impl=$1 ${line% solver=*} $acc ${line##* }"
}
run_ev libembedviz-auto auto
run_ev libembedviz-svd svd
run_ev libembedviz-randomized randomized
run_ev libembedviz-randomized-q16 randomized 16
