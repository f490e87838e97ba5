/* libembedviz's side of bench-knn-approx.sh: the approximate kNN index on
 * Fashion-MNIST PCA-50 (and the 1,000,000-row set of bench/make_million.py)
 * against the exact one, printing BENCH lines with the time (build +
 * query), CPU time, peak memory and recall against the exact lists.
 *
 * usage: knn_approx_bench OUT_DIR CASE [THREADS]
 *   CASE graph:   all 70,000 rows against themselves, k = 90
 *   CASE query:   10,000 rows (the t10k images) against the other 60,000, k = 10
 *   CASE graph1m: all 1,000,000 rows of the million set, k = 90; recall on
 *                 10,000 sample rows (every 100th), whose exact lists come
 *                 from the exact index queried by those rows (k = 91, the
 *                 row itself dropped)
 *   CASE exact:   the exact index on the graph case (k = 90 self query)
 * The exact lists are computed once and kept in OUT_DIR/exact_CASE.i64 for
 * the peers' scripts. Data: $FM70K (default OUT_DIR/fmnist_pca50.f32) and
 * $MILLION (default /work/data/million.f32). EV_EF, EV_ITERS, EV_DEGREE,
 * EV_CAND, EV_SEED override settings; KNN_BENCH_TRACE=1 prints the wall and
 * CPU time of each progress call of the approximate build + query. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "embedviz.h"

#define CHECK(call)                                                          \
  do {                                                                       \
    if ((call) != EV_OK) {                                                   \
      fprintf(stderr, "%s: %s\n", #call, ev_last_error());                   \
      exit(1);                                                               \
    }                                                                        \
  } while (0)

#define SAMPLE_STEP 100

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* got rows rstep apart (row i of ref is row i * rstep of got). */
static double recall(const int64_t *got, size_t rstep, const int64_t *ref,
                     size_t nq, size_t k) {
  size_t same = 0;
  for (size_t i = 0; i < nq; i++)
    for (size_t a = 0; a < k; a++)
      for (size_t b = 0; b < k; b++)
        if (got[i * rstep * k + a] == ref[i * k + b]) { same++; break; }
  return (double)same / (double)(nq * k);
}

static double trace_t0, trace_c0;
static int trace(void *user, int stage, size_t step, size_t total, double v) {
  (void)user, (void)stage, (void)v;
  fprintf(stderr, "trace %zu/%zu wall %.2f cpu %.2f\n", step, total,
          now() - trace_t0, cpu() - trace_c0);
  return 0;
}

static void opt(ev_knn *ix, const char *env, ev_knn_param p) {
  if (getenv(env)) CHECK(ev_knn_set(ix, p, atof(getenv(env))));
}

static float *load(const char *path, size_t n, size_t dim) {
  FILE *f = fopen(path, "rb");
  float *x = malloc(n * dim * sizeof *x);
  if (!f || !x || fread(x, sizeof *x, n * dim, f) != n * dim) {
    fprintf(stderr, "cannot read %s (%zu x %zu floats)\n", path, n, dim);
    exit(2);
  }
  fclose(f);
  return x;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: knn_approx_bench OUT_DIR graph|query|graph1m|exact [THREADS]\n"); return 2; }
  const char *dir = argv[1], *cas = argv[2];
  int threads = argc > 3 ? atoi(argv[3]) : 2;
  int big = strcmp(cas, "graph1m") == 0, exact_case = strcmp(cas, "exact") == 0;
  int self = big || exact_case || strcmp(cas, "graph") == 0;
  size_t N = big ? 1000000 : 70000, dim = 50, n = self ? N : 60000;
  size_t nq = self ? N : 10000, k = self ? 90 : 10;
  size_t nsample = big ? N / SAMPLE_STEP : nq, rstep = big ? SAMPLE_STEP : 1;
  char path[1024];
  if (big)
    snprintf(path, sizeof path, "%s", getenv("MILLION") ? getenv("MILLION") : "/work/data/million.f32");
  else if (getenv("FM70K"))
    snprintf(path, sizeof path, "%s", getenv("FM70K"));
  else
    snprintf(path, sizeof path, "%s/fmnist_pca50.f32", dir);
  float *x = load(path, N, dim);
  const float *q = self ? NULL : x + n * dim;
  int64_t *ids = malloc(nq * k * sizeof *ids);
  int64_t *exact = malloc(nsample * k * sizeof *exact);
  float *d = malloc(nq * k * sizeof *d);
  ev_knn *ix;
  CHECK(ev_knn_create(&ix));
  CHECK(ev_knn_set(ix, EV_KNN_THREADS, threads));
  snprintf(path, sizeof path, "%s/exact_%s.i64", dir, exact_case ? "graph" : cas);
  FILE *f = fopen(path, "rb");
  int have = f && fread(exact, sizeof *exact, nsample * k, f) == nsample * k;
  if (f) fclose(f);
  f = NULL;
  /* the exact index, timed in the same run (at 1M: the sample rows only) */
  if (!getenv("EV_SKIP_EXACT") || !have) {
    CHECK(ev_knn_set(ix, EV_KNN_METHOD, EV_KNN_METHOD_EXACT));
    double t0 = now(), c0 = cpu();
    CHECK(ev_knn_build(ix, x, n, dim, dim));
    if (big) { /* the sample rows against all, themselves dropped */
      float *sq = malloc(nsample * dim * sizeof *sq);
      int64_t *e1 = malloc(nsample * (k + 1) * sizeof *e1);
      for (size_t i = 0; i < nsample; i++)
        memcpy(sq + i * dim, x + i * SAMPLE_STEP * dim, dim * sizeof *sq);
      CHECK(ev_knn_query(ix, sq, nsample, dim, dim, k + 1, e1, k + 1, NULL, 0));
      for (size_t i = 0; i < nsample; i++) {
        size_t o = 0;
        for (size_t t = 0; t <= k && o < k; t++)
          if (e1[i * (k + 1) + t] != (int64_t)(i * SAMPLE_STEP))
            exact[i * k + o++] = e1[i * (k + 1) + t];
      }
      free(sq);
      free(e1);
    } else if (self) {
      CHECK(ev_knn_query_self(ix, k, exact, k, d, k));
    } else {
      CHECK(ev_knn_query(ix, q, nq, dim, dim, k, exact, k, d, k));
    }
    printf("BENCH case=knn_approx_%s impl=libembedviz-exact%s seconds=%.3f cpu_s=%.3f threads=%d\n",
           cas, big ? "-sample" : "", now() - t0, cpu() - c0, threads);
    fflush(stdout);
    FILE *o = fopen(path, "wb");
    if (!o || fwrite(exact, sizeof *exact, nsample * k, o) != nsample * k) return 2;
    fclose(o);
    if (exact_case) return 0;
  }
  if (f) fclose(f);
  CHECK(ev_knn_set(ix, EV_KNN_METHOD, EV_KNN_METHOD_APPROXIMATE));
  opt(ix, "EV_EF", EV_KNN_SEARCH_EF);
  opt(ix, "EV_ITERS", EV_KNN_N_ITERS);
  opt(ix, "EV_DEGREE", EV_KNN_GRAPH_DEGREE);
  opt(ix, "EV_CAND", EV_KNN_MAX_CANDIDATES);
  opt(ix, "EV_SEED", EV_KNN_SEED);
  opt(ix, "EV_DELTA", EV_KNN_DELTA);
  double t0 = now(), c0 = cpu();
  if (getenv("KNN_BENCH_TRACE")) {
    trace_t0 = t0, trace_c0 = c0;
    CHECK(ev_knn_set_progress(ix, trace, NULL));
  }
  CHECK(ev_knn_build(ix, x, n, dim, dim));
  double t1 = now();
  if (self) CHECK(ev_knn_query_self(ix, k, ids, k, d, k));
  else CHECK(ev_knn_query(ix, q, nq, dim, dim, k, ids, k, d, k));
  double t2 = now(), c2 = cpu();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("BENCH case=knn_approx_%s impl=libembedviz seconds=%.3f build_s=%.3f "
         "query_s=%.3f cpu_s=%.3f peak_mb=%.0f threads=%d recall=%.4f\n",
         cas, t2 - t0, t1 - t0, t2 - t1, c2 - c0, ru.ru_maxrss / 1024.0,
         threads, recall(ids, rstep, exact, nsample, k));
  if (getenv("EV_SAVE")) { /* the lists, for reproducibility checks */
    FILE *o = fopen(getenv("EV_SAVE"), "wb");
    if (!o || fwrite(ids, sizeof *ids, nq * k, o) != nq * k) return 2;
    fclose(o);
  }
  ev_knn_free(ix);
  free(x); free(ids); free(exact); free(d);
  return 0;
}
