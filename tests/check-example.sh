#!/usr/bin/env bash
# Install into a scratch prefix, build every example in examples/ against the
# installed library through pkg-config (shared, then static) and run them;
# then check that DESTDIR staging and `make uninstall` leave nothing behind.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
$MAKE --no-print-directory -s install PREFIX="$prefix" >/dev/null || { echo "make install failed"; exit 1; }
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
pass=0; fail=0
for ex in examples/*.c; do
  [ -e "$ex" ] || continue
  name=$(basename "$ex" .c)
  if cc -std=c11 -O1 "$ex" -o "$tmp/$name" $(pkg-config --cflags --libs embedviz) &&
     LD_LIBRARY_PATH=$prefix/lib "$tmp/$name" > "$tmp/$name.out" 2>&1; then
    pass=$((pass + 1)); echo "example $name (shared): ok"
  else
    fail=$((fail + 1)); echo "example $name (shared): FAILED"; cat "$tmp/$name.out" 2>/dev/null
  fi
done
# Static: with only the archive in the prefix, pkg-config --static links it.
cp -a "$prefix" "$tmp/static"; rm -f "$tmp/static"/lib/libembedviz.so*
sed -i "s|$prefix|$tmp/static|g" "$tmp/static/lib/pkgconfig/embedviz.pc"
for ex in examples/*.c; do
  [ -e "$ex" ] || continue
  name=$(basename "$ex" .c)
  if PKG_CONFIG_PATH=$tmp/static/lib/pkgconfig cc -std=c11 -O1 "$ex" -o "$tmp/$name.static" \
       $(PKG_CONFIG_PATH=$tmp/static/lib/pkgconfig pkg-config --cflags --libs --static embedviz) &&
     ! ldd "$tmp/$name.static" | grep -q libembedviz &&
     "$tmp/$name.static" > "$tmp/$name.static.out" 2>&1; then
    pass=$((pass + 1)); echo "example $name (static): ok"
  else
    fail=$((fail + 1)); echo "example $name (static): FAILED"; cat "$tmp/$name.static.out" 2>/dev/null
  fi
done
# DESTDIR staging and uninstall.
stage=$tmp/stage
$MAKE --no-print-directory -s install PREFIX=/usr/local DESTDIR="$stage" >/dev/null
for f in include/embedviz.h include/embedviz/core.h lib/libembedviz.so.1 lib/libembedviz.so lib/libembedviz.a lib/pkgconfig/embedviz.pc; do
  if [ -e "$stage/usr/local/$f" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "not installed: $f"; fi
done
$MAKE --no-print-directory -s uninstall PREFIX=/usr/local DESTDIR="$stage" >/dev/null
left=$(find "$stage" -type f -o -type l)
if [ -z "$left" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "left after uninstall: $left"; fi
echo "examples and install: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
