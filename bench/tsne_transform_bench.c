/* libembedviz side of the t-SNE transform bench.
 *   tsne_transform_bench TRAIN N TEST M THREADS MAP.f32 NEW.f32
 * Fits a 2-D map of the N x 50 float32 rows of TRAIN (perplexity 30, 1,000
 * iterations, the FFT method: TSNE_BENCH_METHOD=bh for Barnes-Hut), writes
 * it to MAP.f32, then places the M x 50 rows of TEST on it with
 * ev_tsne_transform at its defaults (openTSNE's) and writes them to
 * NEW.f32. TSNE_BENCH_TRANSFORM_ITERS sets EV_TSNE_TRANSFORM_N_ITER (0:
 * the median start alone, the no-optimisation baseline) and
 * TSNE_BENCH_TRANSFORM_GRID EV_TSNE_TRANSFORM_GRID_SPACING (0: the
 * Barnes-Hut tree at every step); with
 * TSNE_BENCH_MAP=FILE the map is not fitted but read from FILE (the fit
 * given as the start, 0 iterations) so several transforms share one map.
 * Prints "fit_seconds=F transform_seconds=T peak_mb=M". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "embedviz.h"

#define D 50

static float *read_f32(const char *path, size_t count) {
  FILE *f = fopen(path, "rb");
  float *x = malloc(count * sizeof *x);
  if (!f || !x || fread(x, sizeof *x, count, f) != count) {
    fprintf(stderr, "cannot read %zu floats from %s\n", count, path);
    exit(1);
  }
  fclose(f);
  return x;
}

static void write_f32(const char *path, const float *y, size_t count) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(y, sizeof *y, count, f) != count || fclose(f)) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void check(int st, const char *what) {
  if (st) {
    fprintf(stderr, "%s: %s: %s\n", what, ev_status_name(st), ev_last_error());
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: tsne_transform_bench TRAIN N TEST M THREADS "
                    "MAP.f32 NEW.f32\n");
    return 2;
  }
  size_t n = strtoul(argv[2], NULL, 10), m = strtoul(argv[4], NULL, 10);
  float *x = read_f32(argv[1], n * D), *q = read_f32(argv[3], m * D);
  float *y = malloc(n * 2 * sizeof *y), *z = malloc(m * 2 * sizeof *z);
  ev_tsne *t;
  check(ev_tsne_create(&t), "create");
  check(ev_tsne_set(t, EV_TSNE_THREADS, atof(argv[5])), "threads");
  const char *method = getenv("TSNE_BENCH_METHOD");
  check(ev_tsne_set(t, EV_TSNE_METHOD,
                    method && !strcmp(method, "bh") ? EV_TSNE_METHOD_BARNES_HUT
                                                    : EV_TSNE_METHOD_FFT),
        "method");
  const char *iters = getenv("TSNE_BENCH_TRANSFORM_ITERS");
  if (iters)
    check(ev_tsne_set(t, EV_TSNE_TRANSFORM_N_ITER, atof(iters)), "iters");
  const char *grid = getenv("TSNE_BENCH_TRANSFORM_GRID");
  if (grid)
    check(ev_tsne_set(t, EV_TSNE_TRANSFORM_GRID_SPACING, atof(grid)), "grid");
  const char *given = getenv("TSNE_BENCH_MAP");
  if (given && *given) {
    float *map = read_f32(given, n * 2);
    check(ev_tsne_set_init(t, map, n, 2, 2), "init");
    check(ev_tsne_set(t, EV_TSNE_INIT, EV_TSNE_INIT_GIVEN), "init");
    check(ev_tsne_set(t, EV_TSNE_N_ITER, 0), "iterations");
    free(map);
  }
  double t0 = now();
  check(ev_tsne_fit(t, x, n, D, D), "fit");
  double fit_s = now() - t0;
  check(ev_tsne_embedding(t, y, 2), "embedding");
  write_f32(argv[6], y, n * 2);
  t0 = now();
  check(ev_tsne_transform(t, q, m, D, D, z, 2), "transform");
  double transform_s = now() - t0;
  write_f32(argv[7], z, m * 2);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("fit_seconds=%.2f transform_seconds=%.2f peak_mb=%.0f\n", fit_s,
         transform_s, ru.ru_maxrss / 1024.0);
  ev_tsne_free(t);
  free(x), free(q), free(y), free(z);
  return 0;
}
