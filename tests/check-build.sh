#!/usr/bin/env bash
# Build hygiene that no C test can see:
#  1. every C header compiles on its own and included twice (its include
#     guard covers all of it);
#  2. the typed setters: passing another handle's setting to a setter is a
#     compile error under -Werror=enum-conversion (gcc >= 10 and clang);
#  3. scripts/install-deps.sh, which `make check` runs every time, is quiet
#     and runs no apt-get when nothing is missing, and does run it when a
#     package is missing (apt-get is a stub here that records its calls);
#  4. the tool (cli/): its objects depend on the headers they include
#     (-MMD -MP), an edit in cli/ rebuilds build/embedviz for check-python,
#     and the commands stand side by side: a cmd_*.c file defines nothing
#     but its commands' entry points, which only main.c calls; what they
#     share is in cli/steps.c; no EVC_HAVE_* build flags.
set -uo pipefail
cd "$(dirname "$0")/.."
CC=${CC:-cc}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
passed=0; failed=0
ok() { passed=$((passed + 1)); }
bad() { echo "FAIL: $*"; failed=$((failed + 1)); }

# 1. headers
for h in include/embedviz.h include/embedviz/*.h lib/*/*.h; do
  grep -q 'namespace\|#include <torch\|std::' "$h" && continue   # C++ only
  inc=${h#include/}; inc=${inc#lib/}
  printf '#include "%s"\n#include "%s"\nint ev_check_build_unit;\n' "$inc" "$inc" > "$tmp/twice.c"
  if $CC -std=c11 -D_GNU_SOURCE -fopenmp -Iinclude -Ilib -fsyntax-only "$tmp/twice.c" 2> "$tmp/err"; then ok
  else bad "$h does not compile when included twice:"; head -5 "$tmp/err"; fi
done

# 2. typed setters
cat > "$tmp/mixup.c" <<'C'
#include <embedviz.h>
int f(ev_tsne *t);
int f(ev_tsne *t) { return (int)ev_tsne_set(t, SETTING, 2); }
C
for cc in gcc clang; do
  command -v $cc > /dev/null || { echo "($cc not installed: skipped)"; continue; }
  if $cc -std=c11 -Iinclude -Werror=enum-conversion -DSETTING=EV_TSNE_THREADS -fsyntax-only "$tmp/mixup.c"; then ok
  else bad "$cc refuses ev_tsne_set(t, EV_TSNE_THREADS, 2)"; fi
  if $cc -std=c11 -Iinclude -Werror=enum-conversion -DSETTING=EV_KNN_THREADS -fsyntax-only "$tmp/mixup.c" 2> "$tmp/err"; then
    bad "$cc accepts ev_tsne_set(t, EV_KNN_THREADS, 2) under -Werror=enum-conversion"
  elif grep -q 'enum-conversion' "$tmp/err"; then ok
  else bad "$cc refuses the mix-up, but not for enum-conversion:"; cat "$tmp/err"; fi
done

# 3. install-deps.sh
mkdir -p "$tmp/bin"
for stub in apt-get sudo update-alternatives; do
  printf '#!/bin/sh\necho "%s $*" >> "%s/calls"\n' "$stub" "$tmp" > "$tmp/bin/$stub"
  chmod +x "$tmp/bin/$stub"
done
out=$(PATH="$tmp/bin:$PATH" bash scripts/install-deps.sh 2>&1); rc=$?
if [ $rc -ne 0 ]; then bad "install-deps.sh failed with everything installed (exit $rc): $out"
elif [ -n "$out" ]; then bad "install-deps.sh printed with everything installed: $out"
elif grep -q apt-get "$tmp/calls" 2> /dev/null; then bad "install-deps.sh ran apt-get with everything installed: $(cat "$tmp/calls")"
else ok; fi
rm -f "$tmp/calls"
printf 'make\nev-no-such-package\n' > "$tmp/list"
PATH="$tmp/bin:$PATH" EV_DEPS_LIST="$tmp/list" bash scripts/install-deps.sh > /dev/null 2>&1
if grep -q '^apt-get install .* ev-no-such-package$' "$tmp/calls" 2> /dev/null &&
   ! grep -qE '(^| )make( |$)' "$tmp/calls"; then ok
else bad "install-deps.sh with a missing package: expected 'apt-get install ... ev-no-such-package' only, got: $(cat "$tmp/calls" 2> /dev/null)"; fi

# 4. the tool
MAKE=${MAKE:-make}
BUILD=${BUILD:-build}
if ! $MAKE --no-print-directory -s BUILD="$BUILD" "$BUILD/embedviz" > "$tmp/err" 2>&1; then
  bad "the tool does not build:"; tail -5 "$tmp/err"
else
  # What-if (-W) dry runs: nothing is touched (-o: the flags file, remade
  # on every run, counts as unchanged). plot.h is included by the drawing
  # files, not by the knn command.
  $MAKE --no-print-directory -n -o "$BUILD/cli/flags" -W cli/plot.h BUILD="$BUILD" "$BUILD/embedviz" > "$tmp/plan" 2>&1
  if grep -q ' cli/figures\.c ' "$tmp/plan" && ! grep -q ' cli/cmd_knn\.c ' "$tmp/plan" &&
     grep -q -- "-o $BUILD/embedviz " "$tmp/plan"; then ok
  else bad "after an edit of cli/plot.h, expected figures.c rebuilt, cmd_knn.c not, the tool relinked; make would run:"; cat "$tmp/plan"; fi
  $MAKE --no-print-directory -n -o "$BUILD/cli/flags" -W cli/steps.c BUILD="$BUILD" check-python > "$tmp/plan" 2>&1
  if grep -q ' cli/steps\.c ' "$tmp/plan" && grep -q -- "-o $BUILD/embedviz " "$tmp/plan"; then ok
  else bad "after an edit of cli/steps.c, check-python would not rebuild $BUILD/embedviz:"; cat "$tmp/plan"; fi
  crossed=""
  for o in "$BUILD"/cli/cmd_*.o; do
    extra=$(nm -g --defined-only "$o" | awk '$3 !~ /^evc_cmd_/ {print $3}')
    [ -n "$extra" ] && crossed+=" $(basename "$o" .o) defines $extra;"
  done
  for o in "$BUILD"/cli/*.o; do
    [ "$(basename "$o")" = main.o ] && continue
    calls=$(nm -u "$o" | awk '$2 ~ /^evc_cmd_/ {print $2}')
    [ -n "$calls" ] && crossed+=" $(basename "$o" .o) calls $calls;"
  done
  if [ -z "$crossed" ]; then ok
  else bad "commands reach into each other (shared steps belong in cli/steps.c):$crossed"; fi
  if grep -rn 'EVC_HAVE_' cli/ fuzz/fuzz.mk; then bad "build flags decide the tool's capabilities (ask the library at run time)"
  else ok; fi
fi

echo "build checks: $passed passed, $failed failed"
[ $failed -eq 0 ]
