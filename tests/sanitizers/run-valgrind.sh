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
# libtorch stays out of memcheck: valgrind 3.19 stops with SIGILL inside
# libhwy (which Debian's libtorch pulls in through OpenCV) on processors
# whose instructions it does not emulate, and ResNet-sized work takes
# minutes under it. The library loads libtorch only through its backend
# module, on first use of extraction, so pointing EMBEDVIZ_BACKEND_DIR at
# an empty folder keeps it out; each program's extraction cases then print
# that they were skipped and why, and ASan (make check-asan) runs them.
empty=$(mktemp -d); trap 'rmdir "$empty"' EXIT
export EMBEDVIZ_BACKEND_DIR=$empty
# The skips are deliberate here: EV_ALLOW_SKIPS names them (tests/testutil.h
# TU_REQUIRE), so each is printed as SKIPPED instead of failing.
export EV_ALLOW_SKIPS="${EV_ALLOW_SKIPS:+$EV_ALLOW_SKIPS }libtorch"
echo "valgrind: EMBEDVIZ_BACKEND_DIR=$empty (empty): libtorch is not loaded," \
  "the extraction cases are skipped here and run under ASan"
# Smaller inputs where they take the same code paths (tests/testutil.h
# tu_size; docs/testing.md lists the cases): memcheck checks every access
# of those paths in a fraction of the time; the full sizes run natively and
# under ASan and TSan.
export EV_TEST_SMALL=${EV_TEST_SMALL-1}
[ -n "$EV_TEST_SMALL" ] && [ "$EV_TEST_SMALL" != 0 ] && echo "valgrind: EV_TEST_SMALL=$EV_TEST_SMALL:" \
  "the cases that use tu_size() run on their smaller inputs (docs/testing.md)"
# Test cases tagged "large" (tests/testutil.h tu_tcase_large: statistical
# checks on thousands of rows, minutes each under memcheck) are left out;
# they run natively, under ASan and under TSan.
export CK_EXCLUDE_TAGS=${CK_EXCLUDE_TAGS-large}
[ -n "$CK_EXCLUDE_TAGS" ] && echo "valgrind: test cases tagged '$CK_EXCLUDE_TAGS' are left out" \
  "(CK_EXCLUDE_TAGS; they run natively and under ASan and TSan):" \
  "$(grep -l 'tu_tcase_large(' tests/test_*.c 2>/dev/null | xargs -r -n1 basename | tr '\n' ' ')"
# A program that links libtorch or the backend module at start (as the
# ASan build's do) would bring libtorch in whatever the folder says: refuse
# it here rather than let memcheck stop in libhwy.
for prog in "$@"; do
  if readelf -d "$prog" 2>/dev/null | grep NEEDED | grep -Eqi 'torch|c10|opencv'; then
    echo "valgrind: $prog links libtorch or the backend module at start; memcheck runs" \
      "only programs that load it on use (the normal build's)"
    exit 1
  fi
done
# The programs slowest under memcheck start first (measured on the 2-core
# AMD EPYC machine with EV_TEST_SMALL=1: test_knn 74 s, test_tsne 59 s,
# test_umap 39 s, test_quality 37 s, test_cancel 32 s, test_pca 30 s), so
# that none of them starts last.
export EV_TEST_FIRST=${EV_TEST_FIRST:-test_knn test_tsne test_umap test_quality test_cancel test_pca}
mkdir -p build/tests
bash tests/run-c.sh "$@"
