#!/usr/bin/env bash
# Every test of libembedviz: the C tests (Check), the ABI check, the
# installed example, the Python tests, then the C tests under ASan+UBSan,
# TSan and valgrind. Prints 'N passed, N failed' last.
# Run through `make check`, which installs missing packages and builds first.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
passed=0; failed=0; failed_parts=(); left_out=()
# Each part's wall seconds and its CPU seconds (user + system of everything
# it ran): CPU / wall says how many of the cores the part kept busy.
# (`times` reports this shell's children only when run in this shell.)
cpu_file=$(mktemp); trap 'rm -f "$cpu_file"' EXIT
cpu_now() { times > "$cpu_file"; cpu=$(awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, a, "m"); s += a[1] * 60 + a[2] } print s }' "$cpu_file"); }
part() {
  local name=$1; shift
  echo "=== $name"
  local start=$SECONDS c0 c1; cpu_now; c0=$cpu
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failed_parts+=("$name"); fi
  cpu_now; c1=$cpu
  echo "=== $name: $((SECONDS - start)) s (CPU $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.0f", b - a }') s)"
}
part "C tests"        $MAKE --no-print-directory check-c
part "ABI check"      $MAKE --no-print-directory check-abi
part "build checks"   $MAKE --no-print-directory check-build
part "example"        $MAKE --no-print-directory check-example
part "Python tests"   $MAKE --no-print-directory check-python
# Sanitizers and memcheck (docs/sanitizers.md); EV_SKIP_SANITIZERS=1 leaves
# them out for a quick run.
if [ "${EV_SKIP_SANITIZERS:-0}" != 1 ]; then
  part "ASan+UBSan"     $MAKE --no-print-directory check-asan
  part "TSan"           $MAKE --no-print-directory check-tsan
  part "valgrind"       $MAKE --no-print-directory check-valgrind
  part "fuzzing, short run" $MAKE --no-print-directory -j2 check-fuzz
else
  left_out=("ASan+UBSan" "TSan" "valgrind" "fuzzing, short run")
fi
[ -f tests/run-extra.sh ] && part "extra checks" bash tests/run-extra.sh
echo "=== summary"
[ $failed -gt 0 ] && echo "failed parts: ${failed_parts[*]}"
# A quick run says what it did not run, so that it is not read as a full one.
[ ${#left_out[@]} -gt 0 ] && echo "left out by EV_SKIP_SANITIZERS=1: $(printf '%s; ' "${left_out[@]}" | sed 's/; $//')"
[ -n "${EV_ALLOW_SKIPS:-}" ] && echo "skips allowed by EV_ALLOW_SKIPS: $EV_ALLOW_SKIPS (listed above by each part)"
echo "test parts: $passed passed, $failed failed${left_out[*]:+, ${#left_out[@]} left out}"
[ $failed -eq 0 ]
