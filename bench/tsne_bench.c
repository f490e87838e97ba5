/* libembedviz side of the t-SNE bench.
 *   tsne_bench fit DATA N DIMS THREADS OUT.f32   time a default fit
 *     (Barnes-Hut; TSNE_BENCH_METHOD=fft for the FFT method)
 *   tsne_bench kl  DATA N DIMS THREADS MAP.f32   exact KL(P || Q) of a map
 * DATA holds N x 50 float32 rows. The kl mode computes P the same way for
 * every map (perplexity 30, exact 90 neighbours) and Q with the exact
 * (theta = 0) sums, so maps from different programs compare fairly. */
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

/* TSNE_BENCH_STAGES=1: on stderr, when each stage is first reported
 * ("stage=NAME@SECONDS", from the start of the fit), so the neighbour
 * search's share of a long fit can be read. */
static double fit_start;
static int last_stage = -1, trace;

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* TSNE_BENCH_TRACE=1 as well: every progress call of the iterations
 * ("iter=STEP@WALL,CPU"), so the cost of each stretch of the fit can be
 * read. */
static int stages(void *user, int stage, size_t step, size_t total,
                  double value) {
  static const char *names[] = {"?", "knn", "pca", "affinities",
                                "exaggeration", "optimize"};
  (void)user, (void)total, (void)value;
  if (stage != last_stage) {
    fprintf(stderr, "stage=%s@%.1f\n",
            stage >= 0 && stage <= 5 ? names[stage] : "?", now() - fit_start);
    last_stage = stage;
  }
  if (trace && stage >= 4)
    fprintf(stderr, "iter=%zu@%.2f,%.2f\n", step, now() - fit_start,
            cpu_now());
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: tsne_bench fit|kl DATA N DIMS THREADS FILE\n");
    return 2;
  }
  int kl_mode = strcmp(argv[1], "kl") == 0;
  size_t n = strtoul(argv[3], NULL, 10), dims = strtoul(argv[4], NULL, 10);
  float *x = read_f32(argv[2], n * D), *y = malloc(n * dims * sizeof *y);
  ev_tsne *t;
  check(ev_tsne_create(&t), "create");
  check(ev_tsne_set(t, EV_TSNE_N_COMPONENTS, (double)dims), "dims");
  check(ev_tsne_set(t, EV_TSNE_THREADS, atof(argv[5])), "threads");
  /* TSNE_BENCH_METHOD=fft: the FFT method for the fit (default Barnes-Hut);
   * the kl mode always sums exactly */
  const char *method = getenv("TSNE_BENCH_METHOD");
  int fft = method && !strcmp(method, "fft") && !kl_mode;
  check(ev_tsne_set(t, EV_TSNE_METHOD,
                    fft ? EV_TSNE_METHOD_FFT : EV_TSNE_METHOD_BARNES_HUT),
        "method");
  /* TSNE_BENCH_FFT_POINTS: interpolation points per interval (default: the
   * library's, 5) */
  const char *pts = getenv("TSNE_BENCH_FFT_POINTS");
  if (pts && !kl_mode)
    check(ev_tsne_set(t, EV_TSNE_FFT_INTERPOLATION_POINTS, atof(pts)),
          "interpolation points");
  /* TSNE_BENCH_LR=sklearn|opentsne: the learning-rate rule (default: the
   * method's, scikit-learn's for Barnes-Hut, openTSNE's for FFT) */
  const char *lr = getenv("TSNE_BENCH_LR");
  if (lr && !kl_mode)
    check(ev_tsne_set(t, EV_TSNE_LEARNING_RATE_RULE,
                      !strcmp(lr, "opentsne") ? EV_TSNE_LR_OPENTSNE
                                              : EV_TSNE_LR_SKLEARN),
          "learning-rate rule");
  /* TSNE_BENCH_THETA: another Barnes-Hut accuracy for the fit (default
   * 0.5, scikit-learn's angle) */
  const char *theta = getenv("TSNE_BENCH_THETA");
  if (theta && !kl_mode) check(ev_tsne_set(t, EV_TSNE_THETA, atof(theta)), "theta");
  /* TSNE_BENCH_MOMENTUM, TSNE_BENCH_MAX_STEP: the exaggeration phase's
   * momentum and the step clip (default: the library's) */
  const char *mom = getenv("TSNE_BENCH_MOMENTUM");
  if (mom && !kl_mode) check(ev_tsne_set(t, EV_TSNE_MOMENTUM, atof(mom)), "momentum");
  const char *mstep = getenv("TSNE_BENCH_MAX_STEP");
  if (mstep && !kl_mode)
    check(ev_tsne_set(t, EV_TSNE_MAX_STEP_NORM, atof(mstep)), "max step norm");
  /* TSNE_BENCH_KNN=exact|approximate: the neighbour search of the fit
   * (default: the library's AUTO, NN-descent from n^2 d >= 1e12) */
  const char *knn = getenv("TSNE_BENCH_KNN");
  if (knn && !kl_mode)
    check(ev_tsne_set(t, EV_TSNE_KNN_METHOD,
                      !strcmp(knn, "exact") ? EV_KNN_METHOD_EXACT
                                            : EV_KNN_METHOD_APPROXIMATE),
          "kNN method");
  /* TSNE_BENCH_ITERS: fewer iterations for profiling (default 1,000) */
  const char *iters_env = getenv("TSNE_BENCH_ITERS");
  if (iters_env && !kl_mode)
    check(ev_tsne_set(t, EV_TSNE_N_ITER, atof(iters_env)), "iterations");
  if (kl_mode) {
    float *map = read_f32(argv[6], n * dims);
    check(ev_tsne_set_init(t, map, n, dims, dims), "init");
    check(ev_tsne_set(t, EV_TSNE_INIT, EV_TSNE_INIT_GIVEN), "init");
    check(ev_tsne_set(t, EV_TSNE_N_ITER, 0), "iterations");
    check(ev_tsne_set(t, EV_TSNE_THETA, 0), "theta");
  }
  trace = getenv("TSNE_BENCH_TRACE") != NULL;
  if (getenv("TSNE_BENCH_STAGES") && !kl_mode)
    check(ev_tsne_set_progress(t, stages, NULL), "progress");
  double start = now();
  fit_start = start;
  check(ev_tsne_fit(t, x, n, D, D), "fit");
  double seconds = now() - start, kl;
  size_t iters;
  check(ev_tsne_kl_divergence(t, &kl), "kl");
  check(ev_tsne_n_iter(t, &iters), "iterations");
  if (kl_mode) {
    printf("kl_exact=%.4f\n", kl);
  } else {
    check(ev_tsne_embedding(t, y, dims), "embedding");
    FILE *f = fopen(argv[6], "wb");
    if (!f || fwrite(y, sizeof *y, n * dims, f) != n * dims) return 1;
    fclose(f);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* cpu_s: user + system CPU of the whole fit (reading the data aside),
     * the figure to compare on a busy machine */
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
                 ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    printf("seconds=%.2f cpu_s=%.1f peak_mb=%.0f kl=%.4f iters=%zu\n",
           seconds, cpu, ru.ru_maxrss / 1024.0, kl, iters);
  }
  ev_tsne_free(t);
  free(x), free(y);
  return 0;
}
