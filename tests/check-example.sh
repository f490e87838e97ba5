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
# A build without libtorch (WITH_TORCH=0, build-notorch/): extraction says
# so with EV_ERR_UNSUPPORTED, everything else works; the examples run on it.
if $MAKE --no-print-directory -s -j"$(nproc)" BUILD=build-notorch WITH_TORCH=0 all >/dev/null 2>&1 &&
   ! nm -D build-notorch/libembedviz.so | grep -q ' U .*torch'; then
  cat > "$tmp/notorch.c" <<'EOC'
#include <embedviz.h>
#include <stdio.h>
#include <string.h>
int main(void) {
  ev_model *m = (ev_model *)1;
  float x[8] = {1, 2, 3, 4, 5, 6, 7, 9}, s[4];
  ev_pca *p = NULL;
  if (ev_extract_available() != 0) return 1;
  if (ev_model_load("any.pt", EV_DEVICE_CPU, &m) != EV_ERR_UNSUPPORTED || m) return 2;
  if (!strstr(ev_last_error(), "without libtorch")) return 3;
  if (ev_pca_create(&p) || ev_pca_set(p, EV_PCA_N_COMPONENTS, 1) ||
      ev_pca_fit(p, x, 4, 2, 2) || ev_pca_transform(p, x, 4, 2, 2, s, 1)) return 4;
  ev_pca_free(p);
  puts("no-libtorch build: extraction unsupported, PCA works");
  return 0;
}
EOC
  if cc -std=c11 -Iinclude "$tmp/notorch.c" -o "$tmp/notorch" build-notorch/libembedviz.a \
       -lopenblas -llapacke -lz -lm -fopenmp && "$tmp/notorch"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "no-libtorch build: FAILED"
  fi
  for ex in examples/*.c; do
    name=$(basename "$ex" .c)
    if cc -std=c11 -Iinclude "$ex" -o "$tmp/$name.notorch" build-notorch/libembedviz.a \
         -lopenblas -llapacke -lz -lm -fopenmp && "$tmp/$name.notorch" > /dev/null 2>&1; then
      pass=$((pass + 1)); echo "example $name (no libtorch): ok"
    else
      fail=$((fail + 1)); echo "example $name (no libtorch): FAILED"
    fi
  done
else
  fail=$((fail + 1)); echo "the build without libtorch failed"
fi
echo "examples and install: $pass passed, $fail failed"
[ $fail -eq 0 ] && [ $pass -gt 0 ]
