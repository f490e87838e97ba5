#!/usr/bin/env bash
# The C tests (the normal build) under valgrind's memcheck: no invalid
# access, no use of uninitialised values, no definite or indirect leak.
# Any such error makes the program exit 99, which run-c.sh counts as a
# failure. Forked Check tests are checked too (valgrind follows fork).
# Usage: tests/sanitizers/run-valgrind.sh build/tests/test_*
# docs/sanitizers.md explains every option and suppression.
set -uo pipefail
cd "$(dirname "$0")/../.."
here=tests/sanitizers
export EV_TEST_WRAPPER="valgrind --tool=memcheck --error-exitcode=99 -q \
--leak-check=full --errors-for-leak-kinds=definite,indirect \
--show-leak-kinds=definite,indirect --num-callers=30 \
--suppressions=$PWD/$here/valgrind.supp"
# Check's per-test time limits are for native speed; memcheck is 20-50x
# slower.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-40}
# memcheck runs a program's threads one at a time: one program per core.
export EV_TEST_JOBS=${EV_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
mkdir -p build/tests
bash tests/run-c.sh "$@"
