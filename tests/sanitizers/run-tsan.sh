#!/usr/bin/env bash
# The C tests that run threads, under ThreadSanitizer (build-tsan, made by
# `make SAN=tsan` with clang and LLVM's libomp). No report is allowed: the
# first one ends the program with exit 66, which run-c.sh counts as a
# failure. Usage: tests/sanitizers/run-tsan.sh build-tsan/tests/test_*
# docs/sanitizers.md explains every option.
set -uo pipefail
cd "$(dirname "$0")/../.."
here=tests/sanitizers
llvm=/usr/lib/llvm-14/lib
# Archer (LLVM's OpenMP tool for TSan) annotates libomp's barriers, tasks
# and locks so TSan sees OpenMP's happens-before edges.
export OMP_TOOL_LIBRARIES=$llvm/libarcher.so
export ARCHER_OPTIONS="verbose=0"
# ignore_noninstrumented_modules: OpenBLAS, libtorch and libomp are not
# built with TSan; their own memory accesses are invisible to it anyway, and
# this drops the ones it sees through interceptors (memcpy, memset) from
# inside them, which Archer's documentation asks for with libomp.
# halt_on_error: the first report ends the program.
# suppressions: see the file; none names our code.
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:\
ignore_noninstrumented_modules=1:suppressions=$PWD/$here/tsan.supp:\
${EV_TSAN_EXTRA:-}"
# TSan makes code 5-15x slower; Check's time limits are for native speed.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-20}
# Archer crashes in its exit handler in forked children (a libomp-14 + fork
# problem, not a report), so Check runs the tests in one process.
export CK_FORK=no
# The cases that size their input with tu_size() take their smaller inputs
# here too (the same code paths: tests/testutil.h; docs/testing.md).
export EV_TEST_SMALL=${EV_TEST_SMALL-1}
[ -n "$EV_TEST_SMALL" ] && [ "$EV_TEST_SMALL" != 0 ] && echo "TSan: EV_TEST_SMALL=$EV_TEST_SMALL:" \
  "the cases that use tu_size() run on their smaller inputs (docs/testing.md)"
mkdir -p build/tests
bash tests/run-c.sh "$@"
