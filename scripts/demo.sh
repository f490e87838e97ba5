#!/usr/bin/env bash
# make demo: what a small CNN learned on Fashion-MNIST, as a report folder.
#
#   1. build the embedviz tool (cli/cli.mk);
#   2. train the demo CNN with Debian's python3-torch
#      (scripts/train_demo_model.py: deterministic, 40 to 106 s on 2 idle cores by processor),
#      unless build/demo/model.pt is already there and newer than the script;
#   3. embedviz report -> demo-report/index.html, with the time of each
#      stage: libembedviz reads the Fashion-MNIST IDX files, extracts the
#      layers from the model, and maps them (in builds without libtorch the
#      training script writes the images and activations as .npy instead).
#
# Environment: BUILD (default build), OUT (default demo-report),
# DATASET (default /usr/share/datasets/fashion-mnist),
# SAMPLES (test images mapped, default 10000: the whole test set), PYTHON (default /usr/bin/python3),
# DEMO_ARGS (more options for embedviz report).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=${OUT:-demo-report}
SAMPLES=${SAMPLES:-10000}
# The demo maps the whole test set with scikit-learn's 1000 t-SNE iterations and
# looks for neighbours among all 60,000 training images.
DEMO_ARGS=${DEMO_ARGS:---iterations 1000 --train-samples 60000}
PYTHON=${PYTHON:-/usr/bin/python3}
MAKE=${MAKE:-make}
work=$BUILD/demo
t_start=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# The tool: through the Makefile when it includes cli/cli.mk, else alongside it.
if grep -q 'cli/cli.mk' Makefile; then mk=(); else mk=(-f Makefile -f cli/cli.mk); fi
t=$(date +%s.%N)
$MAKE --no-print-directory -s "${mk[@]}" "$BUILD/embedviz"
echo "demo: build the tool            $(since "$t") s"

DATASET=${DATASET:-/usr/share/datasets/fashion-mnist}
# libembedviz reads the IDX files and extracts the activations itself when it
# has libtorch; otherwise the training script writes them as .npy files.
if "$BUILD/embedviz" extract --help | grep -q "not available"; then
  with_torch=0
  train_args=(--export "$work/npy" --export-test "$SAMPLES")
  report_args=(--data "$work/npy")
  echo "demo: this libembedviz has no extraction: the activations come from PyTorch"
else
  with_torch=1
  train_args=()
  report_args=(--dataset "$DATASET" --model "$work/model.pt")
fi
stamp="$work/.made-with-torch-$with_torch"

mkdir -p "$work"
t=$(date +%s.%N)
if [ ! -s "$work/model.pt" ] || [ scripts/train_demo_model.py -nt "$work/model.pt" ] || [ ! -e "$stamp" ]; then
  echo "demo: training the demo CNN on the Fashion-MNIST training set (40 to 106 s on 2 idle cores, by processor)"
  rm -f "$work"/.made-with-torch-*
  "$PYTHON" scripts/train_demo_model.py --out "$work/model.pt" --data "$DATASET" "${train_args[@]}"
  touch "$stamp"
else
  echo "demo: $work/model.pt is up to date (delete it to train again)"
fi
echo "demo: model                     $(since "$t") s"

t=$(date +%s.%N)
# shellcheck disable=SC2086
"$BUILD/embedviz" report "${report_args[@]}" --output "$OUT" --samples "$SAMPLES" ${DEMO_ARGS:-}
echo "demo: report                    $(since "$t") s"
echo "demo: total                     $(since "$t_start") s"
echo "demo: open $OUT/index.html"
