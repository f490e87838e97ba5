#!/usr/bin/env bash
# make bench, the main job on a person's own data: embedviz report --images
# over N synthetic JPEG photos of about 500 x 375 in 20 class folders (20 %
# shown, 80 % the reference set: every photo goes through the network)
# with a scripted ResNet-18 (random weights) at torchvision's ImageNet
# preprocessing, under /usr/bin/time -v. Prints the peak memory and the
# extraction time (decoding + forward passes) against the report's own
# stages (everything else). Issue 11's target, at N = 20000: peak under
# 2 GiB, own stages under 25 % of the extraction.
# Env: REPORT_N (2000), REPORT_THREADS (0: all cores), BENCH_CACHE (the
# photos are made once there; default /tmp/embedviz-bench).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
N=${REPORT_N:-2000}; T=${REPORT_THREADS:-0}
CACHE=${BENCH_CACHE:-/tmp/embedviz-bench}/report-folder-$N
if [ ! -f build/libembedviz-torch.so ]; then
  echo "BENCH case=report_folder_$N impl=libembedviz skipped=no-libtorch"
  exit 0
fi
[ -x build/embedviz ] || make -s build/embedviz
"$PY" bench/report_folder_data.py "$CACHE" "$N"
OUT=build/bench/report-folder-$N
LOG=build/bench/report-folder-$N.log
mkdir -p build/bench
export EMBEDVIZ_BACKEND_DIR=$PWD/build
/usr/bin/time -v build/embedviz report --images "$CACHE/test" --reference-images "$CACHE/train" \
  --model "$CACHE/resnet18.pt" -o "$OUT" --train-samples "$N" --samples "$N" --threads "$T" > /dev/null 2> "$LOG"
awk -v n="$N" '
  /^stage / { s = $(NF-1); if ($0 ~ /^stage extraction/) fwd += s; else own += s }
  /Maximum resident set size/ { rss = $NF / 1024 }
  /Elapsed \(wall clock\)/ { wall = $NF }
  END { printf "BENCH case=report_folder_%d impl=libembedviz wall=%s peak_mb=%.0f extraction_s=%.1f own_s=%.1f own_over_extraction=%.2f\n",
               n, wall, rss, fwd, own, (fwd > 0 ? own / fwd : 0) }' "$LOG"
grep '^stage ' "$LOG" | sed 's/^/  /'
