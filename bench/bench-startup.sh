#!/usr/bin/env bash
# What a program pays for linking libembedviz.so.1 (issue 20, docs/extract.md
# "What it costs and saves"): bench/startup_probe.c linked against
# build/libembedviz.so.1,
#   version  prints ev_version_string() only: start to exit, averaged over
#            RUNS runs (default 20), and max RSS (/usr/bin/time);
#   work     PCA + kNN + t-SNE on 1,000 x 50: shared objects and RSS at the
#            start of main and after the work, and the run's time;
#   model    (when the test models exist, build/tests/extract) the first
#            extraction call (loading the backend module and libtorch, once)
#            and two ResNet-18 loads; firstload: an ev_model_load of
#            ResNet-18 that is the process's first extraction call.
# Targets: fewer than 30 shared objects, under 50 ms from start to exit, under
# 20 MB resident before the program's own work, no libtorch mapped. Prints
#   BENCH case=NAME impl=libembedviz seconds=S peak_mb=M ...
# and "target ... MISSED" (exit 1) for a target not met. The counts alone are
# checked by `make check` (tests/check-example.sh); timing is only here.
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
make -s build/libembedviz.so.1 >/dev/null || { echo "build failed"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -O1 -Iinclude bench/startup_probe.c -o "$tmp/probe" -Lbuild -lembedviz \
  -Wl,-rpath,"$PWD/build" || { echo "cannot build bench/startup_probe.c"; exit 1; }
status=0
verdict() { # verdict NAME OK
  if [ "$2" = 1 ]; then echo "target $1: met"; else echo "target $1: MISSED"; status=1; fi
}
field() { # field LINE-PREFIX N: the Nth number of the probe's line
  grep "^$1" | grep -o '[0-9]\+' | sed -n "${2}p"
}
export -n EMBEDVIZ_BACKEND_DIR

# The machine's own cost of starting a program (an empty C program linking
# nothing), for comparison: on a loaded machine it is most of the wall time.
echo 'int main(void) { return 0; }' > "$tmp/empty.c" && cc "$tmp/empty.c" -o "$tmp/empty"
t0=$(date +%s%N)
for _ in $(seq "$RUNS"); do "$tmp/empty"; done
t1=$(date +%s%N)
echo "BENCH case=startup-empty-program impl=libc-only seconds=$(awk -v n=$(( (t1 - t0) / RUNS / 1000 )) 'BEGIN{printf "%.3f", n/1e6}') runs=$RUNS"

# version: start to exit, mean of RUNS runs; max RSS of one run.
"$tmp/probe" version > /dev/null
t0=$(date +%s%N)
for _ in $(seq "$RUNS"); do "$tmp/probe" version > /dev/null; done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / RUNS / 1000000 ))
# CPU time (user + sys) per run: what the start costs, less dependent on
# the machine's load than the wall time.
cpu_ms=$(for _ in $(seq "$RUNS"); do /usr/bin/time -f "%U %S" "$tmp/probe" version 2>&1 >/dev/null | tail -1; done |
         awk '{c += $1 + $2; n++} END {printf "%d", c / n * 1000}')
out=$(/usr/bin/time -f "time %e s %M kB" "$tmp/probe" version 2>&1)
objs=$(echo "$out" | field start: 1); kb=$(echo "$out" | field time 3)
echo "BENCH case=startup-version impl=libembedviz seconds=$(awk -v m=$ms 'BEGIN{printf "%.3f", m/1000}') peak_mb=$(awk -v k=$kb 'BEGIN{printf "%.1f", k/1024}') objects=$objs cpu_ms=$cpu_ms runs=$RUNS torch=$(echo "$out" | grep -o 'mapped: [a-z]*' | head -1 | cut -d' ' -f2)"
verdict "version program: $objs shared objects < 30" $(( objs < 30 ))
verdict "version program: ${ms} ms start to exit < 50 ms (mean of $RUNS)" $(( ms < 50 ))
verdict "version program: $kb kB max RSS < 20 MB" $(( kb < 20480 ))
echo "$out" | grep -q 'libtorch mapped: no'; verdict "version program: no libtorch mapped" $(( $? == 0 ))

# work: the start of main (before its own work), and after it.
out=$(/usr/bin/time -f "time %e s %M kB" "$tmp/probe" work 2>&1)
objs=$(echo "$out" | field start: 1); kb0=$(echo "$out" | field start: 2)
objs1=$(echo "$out" | field "after work:" 1); kb1=$(echo "$out" | field "after work:" 2)
secs=$(echo "$out" | grep '^time' | awk '{print $2}'); peak=$(echo "$out" | field time 3)
echo "BENCH case=startup-pca-knn-tsne-1000 impl=libembedviz seconds=$secs peak_mb=$(awk -v k=$peak 'BEGIN{printf "%.1f", k/1024}') objects_at_start=$objs rss_at_start_kb=$kb0 objects_after=$objs1 rss_after_kb=$kb1"
verdict "PCA + kNN + t-SNE program: $objs shared objects at start, $objs1 after < 30" $(( objs < 30 && objs1 < 30 ))
verdict "PCA + kNN + t-SNE program: $kb0 kB RSS before its work < 20 MB" $(( kb0 < 20480 ))
[ "$(echo "$out" | grep -c 'libtorch mapped: no')" = 2 ]
verdict "PCA + kNN + t-SNE program: no libtorch mapped" $(( $? == 0 ))

# model: the one-time cost of the first extraction call.
model=build/tests/extract/resnet18.pt
if [ -f build/libembedviz-torch.so ] && [ -f "$model" ]; then
  # first_cost MODE LINE CASE: three runs of the probe's MODE, its LINE and
  # the milliseconds printed after it as the BENCH case CASE
  first_cost() {
    for _ in 1 2 3; do
      out=$(/usr/bin/time -f "time %e s %M kB" "$tmp/probe" "$1" "$model" 2>&1)
      echo "$out" | grep "^${2%% *}"
      ms=$(echo "$out" | grep -o "$2 [(]*[0-9.]* ms" | grep -o '[0-9.]* ms' | cut -d' ' -f1)
      echo "BENCH case=$3 impl=libembedviz seconds=$(awk -v m="$ms" 'BEGIN{printf "%.3f", m/1000}') peak_mb=$(awk -v k=$(echo "$out" | field time 3) 'BEGIN{printf "%.1f", k/1024}')"
    done
  }
  first_cost model "available 1" first-extraction-call
  first_cost firstload "first ev_model_load" first-ev_model_load-resnet18
else
  echo "first extraction call: not measured (no build/libembedviz-torch.so or $model;" \
    "build/tests/test_extract makes the models)"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $status
