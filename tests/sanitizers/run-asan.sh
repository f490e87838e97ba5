#!/usr/bin/env bash
# The whole C test suite under AddressSanitizer + UndefinedBehaviorSanitizer
# (build-asan, made by `make SAN=asan`); not the Python tests (see
# docs/sanitizers.md). No report is allowed: any ASan, LSan or UBSan report makes a
# test program exit non-zero, and run-c.sh counts that as a failure.
# Usage: tests/sanitizers/run-asan.sh build-asan/tests/test_*
# docs/sanitizers.md explains every option and suppression.
set -uo pipefail
cd "$(dirname "$0")/../.."
here=tests/sanitizers
# halt_on_error: the first report ends the program (exit 1, or 23 for leaks).
# detect_stack_use_after_return, check_initialization_order,
# strict_init_order, strict_string_checks: the stricter checks, off by
# default. detect_leaks: LeakSanitizer at exit of every program and of every
# forked Check test. allocator_may_return_null=1: a huge request gives NULL,
# as malloc does, so the library can report EV_ERR_NOMEM instead of ASan
# stopping the program (tests ask for impossible sizes on purpose).
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:\
detect_stack_use_after_return=1:check_initialization_order=1:\
strict_init_order=1:strict_string_checks=1:detect_invalid_pointer_pairs=0:\
allocator_may_return_null=1:print_summary=1:${EV_ASAN_EXTRA:-}"
# Suppressions name libtorch / libgomp / OpenBLAS one-time allocations only.
export LSAN_OPTIONS="suppressions=$PWD/$here/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:report_error_type=1"
# Check's time limits are for native speed.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-4}
# One program per core: most cases run one thread, and the programs are
# independent (each writes its own scratch files).
export EV_TEST_JOBS=${EV_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
# The cases that size their input with tu_size() take their smaller inputs
# here too (the same code paths: tests/testutil.h; docs/testing.md).
export EV_TEST_SMALL=${EV_TEST_SMALL-1}
[ -n "$EV_TEST_SMALL" ] && [ "$EV_TEST_SMALL" != 0 ] && echo "ASan: EV_TEST_SMALL=$EV_TEST_SMALL:" \
  "the cases that use tu_size() run on their smaller inputs (docs/testing.md)"
mkdir -p build/tests   # the tests write their scratch files there
bash tests/run-c.sh "$@"
