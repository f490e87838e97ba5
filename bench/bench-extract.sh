#!/usr/bin/env bash
# make bench, extraction case: ResNet-18 avgpool activations of N images of
# 3 x 224 x 224 through libembedviz and through Python torch (torchvision's
# create_feature_extractor, inference mode) on the same libtorch, with the
# same threads and batch size. Env: EXTRACT_N (256), EXTRACT_BATCH (32),
# EXTRACT_THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
N=${EXTRACT_N:-256}; B=${EXTRACT_BATCH:-32}; T=${EXTRACT_THREADS:-2}
D=build/bench/extract
mkdir -p "$D"
# libtorch comes with the backend module build/libembedviz-torch.so, which
# the library loads on first use (docs/extract.md).
if [ ! -f build/libembedviz-torch.so ]; then
  echo "BENCH case=extract_resnet18_avgpool_$N impl=libembedviz skipped=no-libtorch"
  exit 0
fi
cc -std=c11 -O2 -Iinclude bench/extract_driver.c -o "$D/driver" build/libembedviz.a \
  -lopenblas -llapacke -larpack -lfftw3f -lz -lm -fopenmp -ldl -lpthread
export EMBEDVIZ_BACKEND_DIR=$PWD/build
[ -f "$D/input.f32" ] && [ "$(stat -c %s "$D/input.f32")" = $((N * 3 * 224 * 224 * 4)) ] &&
  [ -f "$D/resnet18_224.pt" ] || "$PY" bench/extract_peer.py make "$D" "$N"
"$D/driver" "$D/resnet18_224.pt" "$D/input.f32" "$N" "$B" "$T" "$D/ours.f32"
"$PY" bench/extract_peer.py run "$D" "$N" "$B" "$T" "$D/ours.f32"
