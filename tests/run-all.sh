#!/usr/bin/env bash
# Every test of libembedviz: the C tests (Check), the ABI check, the
# installed example, the Python tests, the C tests under ASan+UBSan, TSan
# and valgrind, and a short fuzzing run. Prints 'N passed, N failed' last.
# Run through `make check`, which installs missing packages and builds first.
#
# The parts run in two lanes at once (EV_CHECK_LANES=1: one after the
# other). Most parts keep about one core busy (memcheck runs one thread at
# a time, the Python tests mostly one process), so two lanes fill the two
# cores of the machine this is made for (docs/testing.md gives the
# figures).
# Every part's output is shown whole when it ends, with its wall and CPU
# seconds; a part's outcome does not depend on the other lane.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
M="$MAKE --no-print-directory"
lanes=${EV_CHECK_LANES:-2}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sanitizers=1
[ "${EV_SKIP_SANITIZERS:-0}" = 1 ] && sanitizers=0

# A part's command.
part_cmd() {
  case $1 in
    "C tests")            $M check-c ;;
    "ABI check")          $M check-abi ;;
    "build checks")       $M check-build ;;
    "example")            $M check-example ;;
    "Python tests")       $M check-python ;;
    "ASan+UBSan")         $M check-asan ;;
    "TSan")               $M check-tsan ;;
    "valgrind")           $M check-valgrind ;;
    "fuzzing, short run") $M -j2 check-fuzz ;;
    "extra checks")       bash tests/run-extra.sh ;;
  esac
}

# Each part's wall seconds and its CPU seconds (user + system of everything
# it ran): CPU / wall says how many of the cores the part kept busy.
# (`times` reports this shell's children only when run in this shell.)
cpu_now() {
  local f=$tmp/times.$BASHPID
  times > "$f"
  cpu=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, "m"); s += a[1] * 60 + a[2] } print s }' "$f")
}
run_part() {
  local name=$1 f start c0 c1 rc
  f=$tmp/$(echo "$name" | tr -c 'A-Za-z0-9\n' _)
  start=$SECONDS; cpu_now; c0=$cpu
  part_cmd "$name" > "$f.log" 2>&1; rc=$?
  cpu_now; c1=$cpu
  echo "$rc" > "$f.rc"
  # One part's output at a time, whole.
  {
    flock 9
    echo "=== $name"
    cat "$f.log"
    echo "=== $name: $((SECONDS - start)) s (CPU $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.0f", b - a }') s)"
  } 9> "$tmp/print.lock"
}
# The parts, the longest first (measured on the idle 2-core machine,
# docs/testing.md): each lane takes the next part when it is free, so the
# long ones never start last and the lanes end close together.
parts=("Python tests")
left_out=()
if [ $sanitizers = 1 ]; then
  parts+=("valgrind" "ASan+UBSan" "TSan" "fuzzing, short run")
else
  left_out=("ASan+UBSan" "TSan" "valgrind" "fuzzing, short run")
fi
parts+=("C tests" "example" "build checks" "ABI check")
[ -f tests/run-extra.sh ] && parts+=("extra checks")
printf '%s\n' "${parts[@]}" > "$tmp/queue"
next_part() {
  ( flock 8; head -n 1 "$tmp/queue"; sed -i 1d "$tmp/queue" ) 8> "$tmp/queue.lock"
}
run_lane() {
  local p
  while p=$(next_part); [ -n "$p" ]; do run_part "$p"; done
}

# Everything the parts of the normal build share is built first, so that
# two lanes never make the same file.
start=$SECONDS
if ! $M -j"$(nproc 2>/dev/null || echo 2)" check-programs > "$tmp/build.log" 2>&1; then
  cat "$tmp/build.log"; echo "=== building the test programs failed"
  echo "test parts: 0 passed, ${#parts[@]} failed"
  exit 1
fi
echo "=== test programs built: $((SECONDS - start)) s"

for ((l = 0; l < (lanes > 1 ? lanes : 1); l++)); do run_lane & done
wait

passed=0; failed=0; failed_parts=()
for p in "${parts[@]}"; do
  f=$tmp/$(echo "$p" | tr -c 'A-Za-z0-9\n' _)
  if [ "$(cat "$f.rc" 2>/dev/null)" = 0 ]; then passed=$((passed + 1))
  else failed=$((failed + 1)); failed_parts+=("$p"); fi
done
echo "=== summary"
echo "the parts took $((SECONDS - start)) s, building the test programs included"
[ $failed -gt 0 ] && echo "failed parts: $(printf '%s; ' "${failed_parts[@]}" | sed 's/; $//')"
# A quick run says what it did not run, so that it is not read as a full one.
[ ${#left_out[@]} -gt 0 ] && echo "left out by EV_SKIP_SANITIZERS=1: $(printf '%s; ' "${left_out[@]}" | sed 's/; $//')"
[ -n "${EV_ALLOW_SKIPS:-}" ] && echo "skips allowed by EV_ALLOW_SKIPS: $EV_ALLOW_SKIPS (listed above by each part)"
echo "test parts: $passed passed, $failed failed${left_out[*]:+, ${#left_out[@]} left out}"
[ $failed -eq 0 ]
