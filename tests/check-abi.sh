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
if [ -f abi/libembedviz.abi ]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  abidw --no-corpus-path --headers-dir include --out-file "$tmp/current.abi" "$lib"
  abidiff abi/libembedviz.abi "$tmp/current.abi" > "$tmp/diff.txt"; rc=$?
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
