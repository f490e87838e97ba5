#!/usr/bin/env bash
# Guard the ABI: the SONAME, only ev_ symbols exported, and no incompatible
# change against the committed baseline abi/libembedviz.abi (abigail-tools).
# Additions are compatible: they are reported, and `make abi-baseline`
# records them.
set -uo pipefail
lib=$1
cd "$(dirname "$0")/.."
ok=1
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
if [ "$soname" != "libembedviz.so.1" ]; then echo "SONAME is '$soname', expected libembedviz.so.1"; ok=0; fi
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRVW]/ && $3 !~ /^ev_/ {print $3}')
if [ -n "$bad" ]; then echo "exported symbols without the ev_ prefix:"; echo "$bad"; ok=0; fi
nexp=$(nm -D --defined-only "$lib" | awk '$3 ~ /^ev_/' | wc -l)
echo "exported ev_ symbols: $nexp"
ver=$(objdump -T "$lib" | awk '/ ev_version_number$/ {print $(NF-1)}')
if [ "$ver" != "EMBEDVIZ_1.0" ]; then echo "ev_version_number has version node '$ver', expected EMBEDVIZ_1.0"; ok=0; fi

# Version nodes (lib/embedviz.map): every node the baseline knows keeps all
# of the baseline's symbols, and every node older than the header's version
# holds exactly them (a new call in an old node, or an old call moved,
# fails); symbols new since the baseline sit in the node of the header's
# version, EMBEDVIZ_<major>.<minor>, which may grow until it is released.
hver() { awk -v k="EV_VERSION_$1" '$2 == k {print $3}' include/embedviz/core.h; }
major=$(hver MAJOR); minor=$(hver MINOR); patch=$(hver PATCH)
newest="EMBEDVIZ_$major.$minor"
objdump -T "$lib" | awk '$NF ~ /^ev_/ && $(NF-1) ~ /^EMBEDVIZ_/ {print $(NF-1), $NF}' | sort > "${TMPDIR:-/tmp}/ev-abi-now.$$"
now="${TMPDIR:-/tmp}/ev-abi-now.$$"
if [ -f abi/libembedviz.abi ]; then
  sed -n "s/.*<elf-symbol name='\(ev_[^']*\)' version='\([^']*\)'.*/\2 \1/p" abi/libembedviz.abi | sort > "$now.base"
  for node in $(cut -d' ' -f1 "$now.base" | sort -u); do
    diff <(awk -v n="$node" '$1 == n {print $2}' "$now.base") \
         <(awk -v n="$node" '$1 == n {print $2}' "$now") > "$now.diff"
    if [ "$node" = "$newest" ]; then  # only additions: allowed here
      grep -v '^[0-9]*a[0-9,]*$\|^>' "$now.diff" > "$now.diff2"; mv "$now.diff2" "$now.diff"
    fi
    if [ -s "$now.diff" ]; then
      echo "version node $node differs from the baseline's (< baseline, > this build): an old node never changes, and no symbol leaves its node:"
      cat "$now.diff"; ok=0
    fi
  done
  added=$(awk 'NR == FNR {seen[$2] = 1; next} !($2 in seen)' "$now.base" "$now")
  misplaced=$(echo "$added" | awk -v n="$newest" 'NF && $1 != n')
  if [ -n "$misplaced" ]; then
    echo "new symbols outside $newest (the node of the header's version):"; echo "$misplaced"; ok=0
  fi
  [ -n "$added" ] && echo "new since the baseline: $(echo "$added" | awk '{print $2 "@" $1}' | tr '\n' ' ')"
  rm -f "$now.base" "$now.diff"
fi
# Every EV_API function of the headers is exported (the version script hides
# any symbol it does not list).
for f in $(cat include/embedviz/*.h | tr '\n' ' ' | grep -oE 'EV_API [a-z_ ]+[ *]ev_[a-z0-9_]+ *\(' | grep -oE 'ev_[a-z0-9_]+ *\($' | tr -d ' (' | sort -u); do
  grep -q " $f\$" "$now" || { echo "$f is declared EV_API but not exported: add it to lib/embedviz.map's $newest node"; ok=0; }
done
rm -f "$now"

# One version number: the header's, in the library's file name and the
# Python package.
want="$major.$minor.$patch"
case "$lib" in *".so.$want") ;; *) echo "$lib is not named for the header's version $want (Makefile LIBVERSION)"; ok=0 ;; esac
pyver=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' bindings/python/embedviz/__init__.py)
[ "$pyver" = "$want" ] || { echo "bindings/python/embedviz/__init__.py says $pyver, the header $want"; ok=0; }
grep -q 'version = {attr = "embedviz.__version__"}' bindings/python/pyproject.toml ||
  { echo "bindings/python/pyproject.toml does not take its version from embedviz.__version__"; ok=0; }
if [ -f abi/libembedviz.abi ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  abidw --no-corpus-path --headers-dir include --out-file "$tmp/current.abi" "$lib"
  # The handles' layouts are private (abi/opaque-handles.abignore says why):
  # that holds only while no public header defines one.
  if grep -nE 'struct ev_[a-z_]+ *\{' include/embedviz.h include/embedviz/*.h; then
    echo "a public header defines a handle struct: abi/opaque-handles.abignore would hide its changes"; ok=0
  fi
  abidiff --suppressions abi/opaque-handles.abignore abi/libembedviz.abi "$tmp/current.abi" > "$tmp/diff.txt"; rc=$?
  removed_changed=$(grep -E '^(Functions|Variables) changes summary' "$tmp/diff.txt" |
    sed -E 's/.*: ([0-9]+) Removed(\s*\([^)]*\))?, ([0-9]+) Changed.*/\1 \3/' | awk '{s += $1 + $2} END {print s + 0}')
  if [ $((rc & 1)) -ne 0 ] || [ $((rc & 2)) -ne 0 ]; then
    echo "ABI: abidiff failed (exit $rc)"; cat "$tmp/diff.txt"; ok=0
  elif [ $((rc & 8)) -ne 0 ] || [ "$removed_changed" -gt 0 ]; then
    echo "ABI: incompatible change against abi/libembedviz.abi (abidiff exit $rc):"; cat "$tmp/diff.txt"; ok=0
  elif [ $((rc & 4)) -ne 0 ]; then
    echo "ABI: compatible additions against the baseline (run 'make abi-baseline' to record them):"
    head -n 20 "$tmp/diff.txt"
  else
    echo "ABI: same as abi/libembedviz.abi"
  fi
else
  echo "no ABI baseline (abi/libembedviz.abi): run 'make abi-baseline'"; ok=0
fi
[ $ok -eq 1 ] && echo "ABI check: 1 passed, 0 failed" || echo "ABI check: 0 passed, 1 failed"
[ $ok -eq 1 ]
