#!/usr/bin/env bash
# Install into a scratch prefix, build every example in examples/ against the
# installed library through pkg-config (shared, then static through
# `--static embedviz` and embedviz-static.pc, with the shared library
# installed beside the archive) and run them; check what a program that
# does not extract maps (bench/startup_probe.c: objects, memory, no
# libtorch), that the library links no libtorch and that both kinds of
# program find the installed backend module, and name it when it is gone;
# then check that DESTDIR staging and `make uninstall` leave nothing behind.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# An install builds the loader for its prefix (build/backend-flags), which
# relinks the libraries: that happens in a copy of build/ (times kept, so
# only the loader is rebuilt), never in build/ itself, which the other
# lane of `make check` links its test programs against meanwhile.
B=$tmp/build
cp -a build "$B" || { echo "cannot copy build/ (run make first)"; exit 1; }
prefix=$tmp/prefix
$MAKE --no-print-directory -s BUILD="$B" install PREFIX="$prefix" >/dev/null || { echo "make install failed"; exit 1; }
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
# Static, with libembedviz.so installed beside the archive: the README's
# line `pkg-config --cflags --libs --static embedviz` (its Cflags.private
# -Wl,-Bstatic makes -lembedviz take the archive) and embedviz-static.pc
# (which names the archive). The program must not need libembedviz.so.1.
for pc in embedviz embedviz-static; do
  for ex in examples/*.c; do
    [ -e "$ex" ] || continue
    name=$(basename "$ex" .c)
    if cc -std=c11 -O1 "$ex" -o "$tmp/$name.static" \
         $(pkg-config --cflags --libs --static $pc) &&
       ! readelf -d "$tmp/$name.static" | grep NEEDED | grep -q libembedviz &&
       "$tmp/$name.static" > "$tmp/$name.static.out" 2>&1; then
      pass=$((pass + 1)); echo "example $name (static, pkg-config --static $pc): ok"
    else
      fail=$((fail + 1)); echo "example $name (static, pkg-config --static $pc): FAILED"
      readelf -d "$tmp/$name.static" 2>/dev/null | grep NEEDED; cat "$tmp/$name.static.out" 2>/dev/null
    fi
  done
done
# The library links no libtorch, c10 or OpenCV; the backend module is
# installed in lib/embedviz/ and found there by a program linked against the
# shared library and by a static one (its folder is compiled in); renamed,
# both say which file they looked for.
if readelf -d "$prefix/lib/libembedviz.so.1" | grep NEEDED | grep -Eqi 'torch|c10|opencv'; then
  fail=$((fail + 1)); echo "libembedviz.so.1 links libtorch:"; readelf -d "$prefix/lib/libembedviz.so.1" | grep NEEDED
else
  pass=$((pass + 1)); echo "libembedviz.so.1 links no libtorch, c10 or OpenCV: ok"
fi
# What a program that does not extract pays for linking the installed
# libembedviz.so.1 (issue 20): bench/startup_probe.c, printing only the
# version, then PCA + kNN + t-SNE on 1,000 rows, maps fewer than 30 shared
# objects and under 20 MB resident at the start of main, and no libtorch or
# backend module before or after its work. Counts and maps only: the
# timing is in bench/bench-startup.sh.
if cc -O1 bench/startup_probe.c -o "$tmp/probe" $(pkg-config --cflags --libs embedviz); then
  for mode in version work; do
    out=$(env -u EMBEDVIZ_BACKEND_DIR LD_LIBRARY_PATH=$prefix/lib "$tmp/probe" $mode 2>&1)
    if echo "$out" | awk -v mode=$mode '
         /^(start|after work): / { lines++; n = $(NF - 8) + 0; kb = $(NF - 5) + 0
           if (n < 1 || n >= 30 || $NF != "no" || ($1 == "start:" && (kb < 1 || kb >= 20480))) bad = 1 }
         END { exit !(lines == (mode == "work" ? 2 : 1) && !bad) }'; then
      pass=$((pass + 1)); echo "startup ($mode): $(echo "$out" | grep -E '^(start|after work):' | tr '\n' ';') ok"
    else
      fail=$((fail + 1)); echo "startup ($mode): FAILED (want < 30 shared objects, < 20 MB at start, no libtorch):"; echo "$out"
    fi
  done
else
  fail=$((fail + 1)); echo "cannot build bench/startup_probe.c against the installed library"
fi
if [ -e "$B/libembedviz-torch.so" ]; then
  cat > "$tmp/backend.c" <<'EOC'
#include <embedviz.h>
#include <stdio.h>
int main(void) {
  ev_model *m = NULL;
  int st = ev_model_load("/nonexistent/model.pt", EV_DEVICE_CPU, &m);
  printf("%s: %s\n", ev_status_name(st), ev_last_error());
  return 0;
}
EOC
  cc -std=c11 "$tmp/backend.c" -o "$tmp/backend.shared" $(pkg-config --cflags --libs embedviz) &&
    cc -std=c11 "$tmp/backend.c" -o "$tmp/backend.static" $(pkg-config --cflags --libs embedviz-static) ||
    { fail=$((fail + 1)); echo "cannot build the backend probe"; }
  mod=$prefix/lib/embedviz/libembedviz-torch.so
  for kind in shared static; do
    out=$(env -u EMBEDVIZ_BACKEND_DIR LD_LIBRARY_PATH=$prefix/lib "$tmp/backend.$kind" 2>&1)
    if [ -f "$mod" ] && [[ "$out" == EV_ERR_NOT_FOUND:* ]]; then
      pass=$((pass + 1)); echo "installed backend module found ($kind): ok"
    else
      fail=$((fail + 1)); echo "installed backend module not used ($kind): $out"
    fi
  done
  mv "$mod" "$mod.away"
  for kind in shared static; do
    out=$(env -u EMBEDVIZ_BACKEND_DIR LD_LIBRARY_PATH=$prefix/lib "$tmp/backend.$kind" 2>&1)
    if [[ "$out" == EV_ERR_UNSUPPORTED:* ]] && [[ "$out" == *libembedviz-torch.so* ]] &&
       [[ "$out" == *"$prefix/lib/embedviz"* ]]; then
      pass=$((pass + 1)); echo "backend module missing ($kind): EV_ERR_UNSUPPORTED naming it: ok"
    else
      fail=$((fail + 1)); echo "backend module missing ($kind): $out"
    fi
  done
  mv "$mod.away" "$mod"
fi
# DESTDIR staging and uninstall.
stage=$tmp/stage
$MAKE --no-print-directory -s BUILD="$B" install PREFIX=/usr/local DESTDIR="$stage" >/dev/null
files="include/embedviz.h include/embedviz/core.h lib/libembedviz.so.1 lib/libembedviz.so lib/libembedviz.a lib/pkgconfig/embedviz.pc lib/pkgconfig/embedviz-static.pc"
[ -e "$B/libembedviz-torch.so" ] && files="$files lib/embedviz/libembedviz-torch.so"
for f in $files; do
  if [ -e "$stage/usr/local/$f" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "not installed: $f"; fi
done
# The .pc files are made for this install's prefix, not the previous one's.
for pc in embedviz embedviz-static; do
  if grep -qx 'prefix=/usr/local' "$stage/usr/local/lib/pkgconfig/$pc.pc" 2>/dev/null; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "$pc.pc of the second install is not for its prefix /usr/local:"
    grep '^prefix=' "$stage/usr/local/lib/pkgconfig/$pc.pc"
  fi
done
$MAKE --no-print-directory -s BUILD="$B" uninstall PREFIX=/usr/local DESTDIR="$stage" >/dev/null
left=$(find "$stage" -type f -o -type l)
if [ -z "$left" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "left after uninstall: $left"; fi
# A build without libtorch (WITH_TORCH=0, build-notorch/): extraction says
# so with EV_ERR_UNSUPPORTED, everything else works; the examples run on it.
# Its module folder is one that does not exist, so that a module installed
# on this machine is not picked up.
if $MAKE --no-print-directory -s -j"$(nproc)" BUILD=build-notorch WITH_TORCH=0 BACKEND_DIR="$tmp/none" all >/dev/null 2>&1 &&
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
       -lopenblas -llapacke -larpack -lfftw3f -lz -lm -fopenmp && "$tmp/notorch"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "no-libtorch build: FAILED"
  fi
  for ex in examples/*.c; do
    name=$(basename "$ex" .c)
    if cc -std=c11 -Iinclude "$ex" -o "$tmp/$name.notorch" build-notorch/libembedviz.a \
         -lopenblas -llapacke -larpack -lfftw3f -lz -lm -fopenmp && "$tmp/$name.notorch" > /dev/null 2>&1; then
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
