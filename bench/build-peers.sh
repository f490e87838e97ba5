#!/usr/bin/env bash
# Builds the FFT t-SNE peers of bench-tsne.sh and bench-tsne-transform.sh,
# openTSNE 1.0.4 and FIt-SNE 1.2.1, from source trees you already have,
# OUTSIDE this repository (their code is never part of libembedviz). It
# fetches nothing: get the sources first, for instance
#   git clone https://github.com/pavlin-policar/openTSNE && git -C openTSNE checkout v1.0.4
#   git clone https://github.com/KlugerLab/FIt-SNE && git -C FIt-SNE checkout v1.2.1
# (or `git archive v1.0.4 | tar -x -C DIR` from a clone), then
#   OPENTSNE_SRC=/path/to/openTSNE FITSNE_SRC=/path/to/FIt-SNE bench/build-peers.sh
# Either variable may be left out to build only the other. Each tree is built
# in place:
#   openTSNE: `python3 setup.py build_ext --inplace` with Debian's
#     /usr/bin/python3, numpy, scipy and scikit-learn; its setup.py takes
#     FFTW (matrix_mul_fftw3.pyx) when fftw3.h compiles, else numpy's FFT; it
#     adds -O3 -ffast-math -march=native and OpenMP itself.
#   FIt-SNE: its README's command,
#     g++ -std=c++11 -O3 src/sptree.cpp src/tsne.cpp src/nbodyfft.cpp \
#       -o bin/fast_tsne -pthread -lfftw3 -lm
#     and its Python wrapper fast_tsne.py (which runs bin/fast_tsne).
# Needs (Debian, as root; build tools for the peers, not project dependencies):
#   apt-get install -y cython3 libfftw3-dev g++ python3-numpy python3-scipy python3-sklearn
# At the end it prints the variables the benchmarks read:
#   OPENTSNE_PYTHONPATH=$OPENTSNE_SRC FITSNE_DIR=$FITSNE_SRC bench/bench-tsne.sh
set -euo pipefail
PY=/usr/bin/python3
repo=$(cd "$(dirname "$0")/.." && pwd -P)
die() { echo "build-peers.sh: $*" >&2; exit 1; }
[ -n "${OPENTSNE_SRC:-}${FITSNE_SRC:-}" ] ||
  die "set OPENTSNE_SRC and/or FITSNE_SRC to the source trees (see the top of this script)"
outside() { # refuse a tree inside this repository
  local d; d=$(cd "$1" && pwd -P) || die "$1: no such folder"
  case "$d/" in "$repo"/*) die "$1 is inside the repository: build the peers outside it" ;; esac
  echo "$d"
}
vars=""
if [ -n "${OPENTSNE_SRC:-}" ]; then
  src=$(outside "$OPENTSNE_SRC")
  [ -f "$src/setup.py" ] && [ -f "$src/openTSNE/version.py" ] || die "$src: not an openTSNE source tree"
  $PY -c "import Cython, numpy, scipy, sklearn" 2>/dev/null ||
    die "openTSNE needs Cython, numpy, scipy, scikit-learn: apt-get install -y cython3 python3-numpy python3-scipy python3-sklearn"
  version=$(sed -n 's/^__version__ *= *"\(.*\)"/\1/p' "$src/openTSNE/version.py")
  [ "$version" = 1.0.4 ] || echo "build-peers.sh: openTSNE $version, the benchmarks were set for 1.0.4" >&2
  echo "== openTSNE $version in $src"
  (cd "$src" && $PY setup.py build_ext --inplace) > "$src/build-peers.log" 2>&1 ||
    { tail -20 "$src/build-peers.log" >&2; die "openTSNE's build failed (log: $src/build-peers.log)"; }
  grep -E "FFTW3|openmp" "$src/build-peers.log" || true
  got=$(cd / && PYTHONPATH="$src" $PY -c "import openTSNE, openTSNE._tsne, openTSNE._matrix_mul.matrix_mul; print(openTSNE.__version__)") ||
    die "openTSNE built but does not import"
  echo "openTSNE $got imports from $src"
  vars="$vars OPENTSNE_PYTHONPATH=$src"
fi
if [ -n "${FITSNE_SRC:-}" ]; then
  src=$(outside "$FITSNE_SRC")
  [ -f "$src/src/tsne.cpp" ] && [ -f "$src/fast_tsne.py" ] || die "$src: not a FIt-SNE source tree"
  echo '#include <fftw3.h>' | g++ -x c++ -fsyntax-only - 2>/dev/null ||
    die "FIt-SNE needs FFTW's headers: apt-get install -y libfftw3-dev"
  version=$(sed -n 's/^ *version_number = "\(.*\)"/\1/p' "$src/fast_tsne.py")
  [ "$version" = 1.2.1 ] || echo "build-peers.sh: FIt-SNE $version, the benchmarks were set for 1.2.1" >&2
  echo "== FIt-SNE $version in $src"
  mkdir -p "$src/bin"
  (cd "$src" && g++ -std=c++11 -O3 src/sptree.cpp src/tsne.cpp src/nbodyfft.cpp \
    -o bin/fast_tsne -pthread -lfftw3 -lm -Wno-address-of-packed-member) > "$src/build-peers.log" 2>&1 ||
    { tail -20 "$src/build-peers.log" >&2; die "FIt-SNE's build failed (log: $src/build-peers.log)"; }
  (cd / && PYTHONPATH="$src" $PY -c "import fast_tsne") || die "FIt-SNE's fast_tsne.py does not import"
  echo "FIt-SNE built: $src/bin/fast_tsne"
  vars="$vars FITSNE_DIR=$src"
fi
echo "Run the benchmarks with:"
echo " $vars bench/bench-tsne.sh"
[ -z "${OPENTSNE_SRC:-}" ] || echo "  OPENTSNE_PYTHONPATH=$(outside "$OPENTSNE_SRC") bench/bench-tsne-transform.sh"
