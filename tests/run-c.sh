#!/usr/bin/env bash
# Run the Check test programs given as arguments; sum their results.
# EV_TEST_WRAPPER, when set, is a command put before each program (e.g.
# valgrind with its options: tests/sanitizers/run-valgrind.sh).
# EV_TEST_JOBS (default 1) programs run at once; their outputs are shown
# in the order given. A part that cannot run (no libtorch, no data set)
# fails unless EV_ALLOW_SKIPS names it; the skipped ones are listed.
set -uo pipefail
checks=0; fails=0; bad=(); skipped=()
read -r -a wrapper <<< "${EV_TEST_WRAPPER:-}"
# OpenMP threads that wait at a barrier sleep instead of spinning: two
# programs of 2 or more threads share 2 cores here (and memcheck runs one
# thread at a time), so a spinning thread burns the time another needs.
# Measured: test_tsne_fft's thread-count case 6.4 s of CPU instead of
# 16.8 s (8.5 s wall instead of 21.4). The results do not depend on it.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
jobs=${EV_TEST_JOBS:-1}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# With several jobs the slowest programs start first (measured natively;
# EV_TEST_FIRST replaces the list), so that no long one starts last and
# runs alone at the end.
first=${EV_TEST_FIRST:-test_tsne_fft test_extract test_knn_approx test_umap test_backend test_tsne_stop test_bad_inputs test_extract_messages test_cancel}
args=("$@"); order=()
if [ "$jobs" -gt 1 ]; then
  for f in $first; do
    for i in "${!args[@]}"; do [ "$(basename "${args[$i]}")" = "$f" ] && order+=("$i"); done
  done
fi
for i in "${!args[@]}"; do
  case " ${order[*]:-} " in *" $i "*) ;; *) order+=("$i") ;; esac
done
for i in "${order[@]}"; do
  t=${args[$i]}
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  # wall, user and system seconds of the program (its forked tests and
  # threads included): on a shared machine the CPU time is the steadier.
  ( TIMEFORMAT='%R %U %S'
    { time { CK_XML_LOG_FILE_NAME="$tmp/$i.xml" "${wrapper[@]}" "$t" > "$tmp/$i.out" 2>&1
             echo $? > "$tmp/$i.rc"; }; } \
      2> "$tmp/$i.time" ) &
done
wait
i=0
for t in "$@"; do
  out=$(cat "$tmp/$i.out"); rc=$(cat "$tmp/$i.rc"); i=$((i + 1))
  echo "$out" | tail -n 30
  line=$(echo "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
  if [ -z "$line" ]; then bad+=("$(basename "$t") (no result, exit $rc)"); continue; fi
  while IFS= read -r sk; do skipped+=("$(basename "$t"): ${sk#SKIPPED }"); done \
    < <(echo "$out" | grep -E '^SKIPPED ')
  n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
  f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+), Errors: ([0-9]+).*/\1+\2/')
  checks=$((checks + n)); fails=$((fails + f))
  [ "$rc" -ne 0 ] && [ "$((f))" -eq 0 ] && bad+=("$(basename "$t") (exit $rc)")
done
# Check counts an allowed skip (a test that returned) as a pass: say so.
echo "C tests: $((checks - fails - ${#skipped[@]})) passed, $fails failed${skipped[*]:+, ${#skipped[@]} skipped (allowed)}"
# Each program's wall and CPU (user + system) time, slowest first: where
# this part's time goes.
i=0
for t in "$@"; do
  read -r w u sy < "$tmp/$i.time"
  awk -v w="$w" -v c="$u + $sy" -v n="$(basename "$t")" \
    'BEGIN { split(c, a, " + "); printf "%.1f s (CPU %.1f s) %s\n", w, a[1] + a[2], n }'
  i=$((i + 1))
done > "$tmp/times"
sort -rn "$tmp/times" | head -n 8 | tr '\n' ';' | sed 's/;$//; s/;/, /g; s/^/slowest programs: /'
echo
# The slowest test cases (Check's XML log: each test's wall seconds).
i=0
for t in "$@"; do
  [ -f "$tmp/$i.xml" ] && sed -n 's/.*<id>\(.*\)<\/id>.*/\1/p; s/.*<duration>\(.*\)<\/duration>.*/\1/p' \
    "$tmp/$i.xml" | paste - - | awk -v n="$(basename "$t")" 'NF == 2 { printf "%.1f s %s:%s\n", $2, n, $1 }'
  i=$((i + 1))
done | sort -rn | head -n 10 | tr '\n' ';' | sed 's/;$//; s/;/, /g; s/^/slowest test cases: /'
echo
awk '{ c += $4 } END { printf "CPU time of the programs: %.0f s\n", c }' "$tmp/times"
# Skips are failures (testutil.h's TU_REQUIRE) unless EV_ALLOW_SKIPS names
# them; the allowed ones are listed so that a run says what it left out.
if [ ${#skipped[@]} -gt 0 ]; then
  echo "C test parts skipped (allowed by EV_ALLOW_SKIPS=\"${EV_ALLOW_SKIPS:-}\"):"
  printf '  %s\n' "${skipped[@]}"
fi
[ $fails -eq 0 ] && [ ${#bad[@]} -eq 0 ] || { echo "failing: ${bad[*]:-}"; exit 1; }
