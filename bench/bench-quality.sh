#!/usr/bin/env bash
# Map quality and label issues (bench/quality_bench.py prints the BENCH lines):
#   trustworthiness_fmnist10000_{50,784}d  trustworthiness (k = 5) of 10,000
#       Fashion-MNIST test images, 50 principal components and raw pixels,
#       libembedviz against scikit-learn's, same run (value and time ratio);
#   label_issues_fmnist_test_flip10  the test set with 10 % of its labels
#       flipped (seed 0), the demo CNN's softmax and relu3 activations:
#       precision among the top 1,000 and ROC AUC of the combined ranking
#       against the self-confidence baseline 1 - p(given label).
# The demo CNN is build/demo/model.pt (MODEL=...), trained with
# scripts/train_demo_model.py when absent, as make demo does.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
BUILD=${BUILD:-build}
MODEL=${MODEL:-$BUILD/demo/model.pt}
[ -f "$BUILD/libembedviz.so.1" ] || make --no-print-directory all
export EMBEDVIZ_LIBRARY=$PWD/$BUILD/libembedviz.so.1
for d in 50 784; do
  $PY bench/quality_bench.py trust 10000 "$d"
done
if [ ! -s "$MODEL" ]; then
  echo "# training the demo CNN into $MODEL (scripts/train_demo_model.py)"
  $PY scripts/train_demo_model.py --out "$MODEL" --quiet
fi
$PY bench/quality_bench.py issues "$MODEL"
