#!/usr/bin/env bash
# Build hygiene that no C test can see:
#  1. every C header compiles on its own and included twice (its include
#     guard covers all of it);
#  2. the typed setters: passing another handle's setting to a setter is a
#     compile error under -Werror=enum-conversion (gcc >= 10 and clang);
#  3. scripts/install-deps.sh, which `make check` runs every time, is quiet
#     and runs no apt-get when nothing is missing, and does run it when a
#     package is missing (apt-get is a stub here that records its calls).
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

echo "build checks: $passed passed, $failed failed"
[ $failed -eq 0 ]
