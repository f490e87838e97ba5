#!/usr/bin/env bash
# t-SNE of Fashion-MNIST (PCA to 50) on 2 threads: libembedviz's Barnes-Hut
# against scikit-learn's TSNE(method='barnes_hut') in the same run, same
# settings (perplexity 30, 1,000 iterations, 250 exaggerated by 12, learning
# rate auto, PCA init, theta 0.5). Cases: 10,000 points in 2-D and 3-D, and
# 70,000 in 2-D (scikit-learn takes a long while there: BENCH_TSNE_QUICK=1
# skips it; BENCH_TSNE_CASES="N:DIMS ..." picks cases). In 2-D also the FFT
# method (libembedviz-fft) and, when OPENTSNE_PYTHONPATH / FITSNE_DIR point
# at their builds (bench/build-peers.sh makes them from their sources,
# outside the repository), openTSNE 1.0.4 and FIt-SNE 1.2.1 with the same
# schedule (bench/tsne_fft_peers.py). BENCH_TSNE_IMPLS="libembedviz-fft
# opentsne fitsne" runs only the implementations named (of libembedviz
# libembedviz-fft sklearn opentsne fitsne libembedviz-theta0.45).
# BENCH_TSNE_MILLION=1 adds the 1,000,000 x 50 case of issue 12 (long: the
# whole fit, approximate neighbours included, of BENCH_TSNE_MILLION_DATA,
# default /work/data/million.f32 from bench/make_million.py; only ours, FFT,
# 2 threads, under /usr/bin/time -v for the peak memory; no exact KL, which
# would need the n^2 sums).
# Quality for all: each program's own KL, the exact KL(P || Q)
# of both maps against the same P (kl_exact), the fraction of 10 nearest
# input neighbours kept in the map, and 10-NN label accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
THREADS=2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -O2 -D_GNU_SOURCE -Iinclude bench/tsne_bench.c -o "$tmp/tsne_bench" \
  build/libembedviz.a -lopenblas -llapacke -larpack -lfftw3f -lz -lm -fopenmp
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS

# BENCH_TSNE_IMPLS="A B ...": only those implementations (all when unset).
wanted() { [ -z "${BENCH_TSNE_IMPLS:-}" ] || case " $BENCH_TSNE_IMPLS " in *" $1 "*) true ;; *) false ;; esac; }
# BENCH_TSNE_CASES="N:DIMS ..." runs only those cases.
cases="10000:2 10000:3"
[ "${BENCH_TSNE_QUICK:-0}" = 1 ] || cases="$cases 70000:2"
cases=${BENCH_TSNE_CASES:-$cases}
prepared=""
for c in $cases; do
  n=${c%:*}; dims=${c#*:}
  data="$tmp/fmnist$n.f32"
  case " $prepared " in *" $n "*) ;; *) $PY bench/tsne_prep.py "$n" "$data"; prepared="$prepared $n";; esac
  name="tsne-fmnist$((n / 1000))k-${dims}d"
  # libembedviz-fft: EV_TSNE_METHOD_FFT (2-D only) at its defaults
  # (openTSNE's grid with 5 nodes per interval, its learning rate); BENCH_TSNE_SKLEARN=0 leaves out
  # scikit-learn.
  impls="libembedviz"
  [ "$dims" -le 2 ] && impls="$impls libembedviz-fft"
  [ "${BENCH_TSNE_SKLEARN:-1}" = 0 ] || impls="$impls sklearn"
  for impl in $impls; do
    wanted $impl || continue
    map="$tmp/$impl.f32"
    if [ $impl = libembedviz ]; then
      line=$("$tmp/tsne_bench" fit "$data" "$n" "$dims" $THREADS "$map")
    elif [ $impl = libembedviz-fft ]; then
      line=$(TSNE_BENCH_METHOD=fft "$tmp/tsne_bench" fit "$data" "$n" "$dims" $THREADS "$map")
    else
      line=$($PY bench/tsne_sklearn.py "$data" "$n" "$dims" $THREADS "$map")
    fi
    kl=$("$tmp/tsne_bench" kl "$data" "$n" "$dims" $THREADS "$map")
    q=$($PY bench/tsne_quality.py "$data" "$n" "$dims" "$map")
    echo "BENCH case=$name impl=$impl $line $kl $q"
  done
  # The FFT peers, when built outside the repository: openTSNE
  # (OPENTSNE_PYTHONPATH: a folder with the openTSNE package) and FIt-SNE
  # (FITSNE_DIR: a folder with its fast_tsne.py and bin/fast_tsne), both
  # with FFT gradients and our schedule (1,000 iterations, 250 exaggerated by
  # 12, PCA start), the rest at their defaults, 2-D only.
  if [ "$dims" = 2 ]; then
    for peer in opentsne fitsne; do
      wanted $peer || continue
      case $peer in
        opentsne) where=${OPENTSNE_PYTHONPATH:-}; var=OPENTSNE_PYTHONPATH ;;
        fitsne) where=${FITSNE_DIR:-}; var=FITSNE_DIR ;;
      esac
      if [ -z "$where" ]; then
        echo "BENCH case=$name impl=$peer skipped: set $var to a build of it (outside the repository)"
        continue
      fi
      map="$tmp/$peer.f32"
      line=$($PY bench/tsne_fft_peers.py "$peer" "$where" "$data" "$n" $THREADS "$map")
      kl=$("$tmp/tsne_bench" kl "$data" "$n" "$dims" $THREADS "$map")
      q=$($PY bench/tsne_quality.py "$data" "$n" "$dims" "$map")
      echo "BENCH case=$name impl=$peer $line $kl $q"
    done
  fi
  # At 70,000 points also the speed at equal quality: Barnes-Hut's theta
  # lowered to 0.4, where our map's exact KL falls below scikit-learn's.
  if [ "$n" -ge 70000 ] && wanted libembedviz-theta0.45; then
    map="$tmp/libembedviz.f32"
    line=$(TSNE_BENCH_THETA=0.45 "$tmp/tsne_bench" fit "$data" "$n" "$dims" $THREADS "$map")
    kl=$("$tmp/tsne_bench" kl "$data" "$n" "$dims" $THREADS "$map")
    q=$($PY bench/tsne_quality.py "$data" "$n" "$dims" "$map")
    echo "BENCH case=$name impl=libembedviz-theta0.45 $line $kl $q"
  fi
done

# The 1,000,000-point case (opt-in): the whole fit from the 50-D rows,
# neighbours by NN-descent (EV_TSNE_KNN_METHOD AUTO picks it there), with
# progress on stderr so the stages' times can be read.
if [ "${BENCH_TSNE_MILLION:-0}" = 1 ]; then
  data=${BENCH_TSNE_MILLION_DATA:-/work/data/million.f32}
  if [ ! -f "$data" ]; then
    echo "BENCH case=tsne-million-2d skipped: make $data with bench/make_million.py"
  else
    load=$(cut -d' ' -f1 /proc/loadavg)
    line=$(TSNE_BENCH_METHOD=fft TSNE_BENCH_STAGES=1 /usr/bin/time -v \
      "$tmp/tsne_bench" fit "$data" 1000000 2 $THREADS "$tmp/million.f32" 2>"$tmp/million.log")
    rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$tmp/million.log")
    cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u + s}' "$tmp/million.log")
    stages=$(grep '^stage' "$tmp/million.log" | tr '\n' ' ')
    echo "BENCH case=tsne-million-2d impl=libembedviz-fft $line cpu_s=$cpu peak_rss_kb=$rss load=$load $stages"
  fi
fi
