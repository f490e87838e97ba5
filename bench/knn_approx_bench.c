/* libembedviz's side of bench-knn-approx.sh: the approximate kNN index on
 * Fashion-MNIST PCA-50 against the exact one, printing BENCH lines with the
 * time (build + query), peak memory and recall against the exact lists.
 *
 * usage: knn_approx_bench OUT_DIR CASE [THREADS]
 *   CASE graph: all 70,000 rows against themselves, k = 90
 *   CASE query: 10,000 rows (the t10k images) against the other 60,000, k = 10
 * The exact lists are computed once and kept in OUT_DIR/exact_CASE.i64 for
 * the peers' scripts. EV_EF, EV_ITERS, EV_DEGREE, EV_CAND override settings. */
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

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double recall(const int64_t *got, const int64_t *ref, size_t nq,
                     size_t k) {
  size_t same = 0;
  for (size_t i = 0; i < nq; i++)
    for (size_t a = 0; a < k; a++)
      for (size_t b = 0; b < k; b++)
        if (got[i * k + a] == ref[i * k + b]) { same++; break; }
  return (double)same / (double)(nq * k);
}

static void run(ev_knn *ix, const float *x, size_t n, size_t dim, int self,
                const float *q, size_t nq, size_t k, int64_t *ids, float *d) {
  CHECK(ev_knn_build(ix, x, n, dim, dim));
  if (self) CHECK(ev_knn_query_self(ix, k, ids, k, d, k));
  else CHECK(ev_knn_query(ix, q, nq, dim, dim, k, ids, k, d, k));
}

static void opt(ev_knn *ix, const char *env, ev_knn_param p) {
  if (getenv(env)) CHECK(ev_knn_set(ix, p, atof(getenv(env))));
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: knn_approx_bench OUT_DIR graph|query [THREADS]\n"); return 2; }
  const char *dir = argv[1], *cas = argv[2];
  int threads = argc > 3 ? atoi(argv[3]) : 2, self = strcmp(cas, "graph") == 0;
  size_t N = 70000, dim = 50, n = self ? N : 60000, nq = self ? N : 10000;
  size_t k = self ? 90 : 10;
  char path[1024];
  snprintf(path, sizeof path, "%s/fmnist_pca50.f32", dir);
  FILE *f = fopen(path, "rb");
  float *x = malloc(N * dim * sizeof *x);
  if (!f || fread(x, sizeof *x, N * dim, f) != N * dim) {
    fprintf(stderr, "cannot read %s: run bench/knn_prep.py\n", path);
    return 2;
  }
  fclose(f);
  const float *q = self ? NULL : x + n * dim;
  int64_t *ids = malloc(nq * k * sizeof *ids), *exact = malloc(nq * k * sizeof *exact);
  float *d = malloc(nq * k * sizeof *d);
  ev_knn *ix;
  CHECK(ev_knn_create(&ix));
  CHECK(ev_knn_set(ix, EV_KNN_THREADS, threads));
  snprintf(path, sizeof path, "%s/exact_%s.i64", dir, cas);
  f = fopen(path, "rb");
  if (!f || fread(exact, sizeof *exact, nq * k, f) != nq * k) {
    CHECK(ev_knn_set(ix, EV_KNN_METHOD, EV_KNN_METHOD_EXACT));
    run(ix, x, n, dim, self, q, nq, k, exact, d);
    FILE *o = fopen(path, "wb");
    if (!o || fwrite(exact, sizeof *exact, nq * k, o) != nq * k) return 2;
    fclose(o);
  }
  if (f) fclose(f);
  CHECK(ev_knn_set(ix, EV_KNN_METHOD, EV_KNN_METHOD_APPROXIMATE));
  opt(ix, "EV_EF", EV_KNN_SEARCH_EF);
  opt(ix, "EV_ITERS", EV_KNN_N_ITERS);
  opt(ix, "EV_DEGREE", EV_KNN_GRAPH_DEGREE);
  opt(ix, "EV_CAND", EV_KNN_MAX_CANDIDATES);
  double t0 = now();
  CHECK(ev_knn_build(ix, x, n, dim, dim));
  double t1 = now();
  if (self) CHECK(ev_knn_query_self(ix, k, ids, k, d, k));
  else CHECK(ev_knn_query(ix, q, nq, dim, dim, k, ids, k, d, k));
  double t2 = now();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("BENCH case=knn_approx_%s impl=libembedviz seconds=%.3f build_s=%.3f "
         "query_s=%.3f peak_mb=%.0f threads=%d recall=%.4f\n",
         cas, t2 - t0, t1 - t0, t2 - t1, ru.ru_maxrss / 1024.0, threads,
         recall(ids, exact, nq, k));
  ev_knn_free(ix);
  free(x); free(ids); free(exact); free(d);
  return 0;
}
