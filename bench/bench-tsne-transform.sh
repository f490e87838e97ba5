#!/usr/bin/env bash
# Placing new points on a t-SNE map (issue 12, part 3), 2 threads: a 2-D map
# of the 60,000 Fashion-MNIST training images (PCA to 50 fitted on them;
# perplexity 30, 1,000 iterations, FFT method), then the 10,000 test images
# placed on it by ev_tsne_transform at its defaults (openTSNE's). Figures:
# the fit's and the transform's seconds, and acc10, the test images' 10-NN
# label accuracy among the training points in the map (majority of the 10
# nearest); input_acc10 is the same vote in the 50-D input, for reference.
# Baselines on the same map: the median start alone (no optimisation,
# TRANSFORM_N_ITER=0), an inverse-distance weighted mean of the 10 nearest
# training rows' places (Python), and the Barnes-Hut tree at every step
# instead of the tabulated field (grid 0). The peer, openTSNE's
# TSNEEmbedding.transform at its defaults after its own fit (defaults, FFT),
# when OPENTSNE_PYTHONPATH points at a build of it outside the repository
# (a folder holding the openTSNE package with its compiled extensions);
# skipped with a message when absent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
THREADS=2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude bench/tsne_transform_bench.c -o "$tmp/tb" \
  build/libembedviz.a -lopenblas -llapacke -larpack -lfftw3f -lz -lm -fopenmp
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
data="$tmp/fm"
$PY bench/tsne_transform_prep.py "$data"
name=tsne-transform-fmnist60k-10k
run() { # impl, env assignments...: one driver run, its figures and quality
  local impl=$1; shift
  line=$(env "$@" "$tmp/tb" "$data.train.f32" 60000 "$data.test.f32" 10000 $THREADS \
    "$tmp/$impl.map.f32" "$tmp/$impl.new.f32")
  q=$($PY bench/tsne_transform_quality.py "$data" "$tmp/$impl.map.f32" "$tmp/$impl.new.f32" ${extra:-})
  echo "BENCH case=$name impl=$impl $line $q"
}
extra=input run libembedviz
extra=
# the same map (given, 0 iterations: only the neighbours are recomputed)
run libembedviz-median-start TSNE_BENCH_MAP="$tmp/libembedviz.map.f32" TSNE_BENCH_TRANSFORM_ITERS=0
run libembedviz-tree TSNE_BENCH_MAP="$tmp/libembedviz.map.f32" TSNE_BENCH_TRANSFORM_GRID=0
q=$($PY bench/tsne_transform_quality.py "$data" "$tmp/libembedviz.map.f32" - weighted-mean)
echo "BENCH case=$name impl=weighted-mean-10nn $q"
if [ -z "${OPENTSNE_PYTHONPATH:-}" ]; then
  echo "BENCH case=$name impl=opentsne skipped: set OPENTSNE_PYTHONPATH to a build of openTSNE (outside the repository)"
else
  line=$($PY bench/tsne_transform_opentsne.py "$OPENTSNE_PYTHONPATH" "$data" $THREADS \
    "$tmp/opentsne.map.f32" "$tmp/opentsne.new.f32")
  q=$($PY bench/tsne_transform_quality.py "$data" "$tmp/opentsne.map.f32" "$tmp/opentsne.new.f32")
  echo "BENCH case=$name impl=opentsne $line $q"
fi
