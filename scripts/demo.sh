#!/usr/bin/env bash
# make demo: what a small CNN learned on Fashion-MNIST, as a report folder.
#
#   1. build the embedviz tool (cli/cli.mk);
#   2. train the demo CNN with Debian's python3-torch
#      (scripts/train_demo_model.py: deterministic, about 30 s on 2 cores),
#      unless build/demo/model.pt is already there and newer than the script;
#   3. the test and training images and labels as .npy (by the training
#      script), and the layer activations: extracted by libembedviz from the
#      model (embedviz report --model), or, in builds without libtorch,
#      written by the training script;
#   4. embedviz report -> demo-report/index.html, with the time of each stage.
#
# Environment: BUILD (default build), OUT (default demo-report),
# SAMPLES (test images mapped, default 5000), PYTHON (default /usr/bin/python3),
# DEMO_ARGS (more options for embedviz report).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=${OUT:-demo-report}
SAMPLES=${SAMPLES:-5000}
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

# libembedviz extracts the activations itself when it has libtorch; else the
# training script writes them.
if "$BUILD/embedviz" extract --help | grep -q "not available"; then
  export_args=(); report_args=()
  echo "demo: this libembedviz has no extraction: the activations come from PyTorch"
else
  export_args=(--images-only); report_args=(--model "$work/model.pt")
fi
stamp="$work/npy/.made-with${export_args[*]:+-images-only}"

mkdir -p "$work"
t=$(date +%s.%N)
if [ ! -s "$work/model.pt" ] || [ scripts/train_demo_model.py -nt "$work/model.pt" ] || [ ! -e "$stamp" ]; then
  echo "demo: training the demo CNN on the Fashion-MNIST training set (about 30 s)"
  rm -rf "$work/npy"
  "$PYTHON" scripts/train_demo_model.py --out "$work/model.pt" --export "$work/npy" --export-test "$SAMPLES" \
    "${export_args[@]}"
  touch "$stamp"
else
  echo "demo: $work/model.pt is up to date (delete it to train again)"
fi
echo "demo: model                     $(since "$t") s"

t=$(date +%s.%N)
# shellcheck disable=SC2086
"$BUILD/embedviz" report --data "$work/npy" "${report_args[@]}" --output "$OUT" --samples "$SAMPLES" ${DEMO_ARGS:-}
echo "demo: report                    $(since "$t") s"
echo "demo: total                     $(since "$t_start") s"
echo "demo: open $OUT/index.html"
