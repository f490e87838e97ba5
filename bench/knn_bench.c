/* libembedviz's side of bench-knn.sh: build an index and query it on the
 * Fashion-MNIST cases, print a BENCH line with the time, the peak memory and
 * the recall against FAISS's neighbour ids (fraction of identical ids).
 *
 * usage: knn_bench OUT_DIR CASE [THREADS]  (CASE: fmnist_784 |
 *        fmnist_pca50_self | fmnist_map2d_self) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "embedviz.h"

static float *load(const char *dir, const char *name, size_t rows, size_t dim) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "cannot open %s: run bench/knn_prep.py\n", path); exit(2); }
  float *m = malloc(rows * dim * sizeof *m);
  if (!m || fread(m, sizeof *m, rows * dim, f) != rows * dim) {
    fprintf(stderr, "%s: short read\n", path);
    exit(2);
  }
  fclose(f);
  return m;
}

/* Fraction of FAISS's ids (as sets per row) that we also return. */
static double recall(const char *dir, const char *cas, const int64_t *ids,
                     size_t nq, size_t k) {
  char path[1024];
  snprintf(path, sizeof path, "%s/faiss_%s.i64", dir, cas);
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  int64_t *ref = malloc(nq * k * sizeof *ref);
  size_t got = fread(ref, sizeof *ref, nq * k, f);
  fclose(f);
  if (got != nq * k) { free(ref); return -1; }
  size_t same = 0;
  for (size_t i = 0; i < nq; i++)
    for (size_t a = 0; a < k; a++)
      for (size_t b = 0; b < k; b++)
        if (ids[i * k + a] == ref[i * k + b]) { same++; break; }
  free(ref);
  return (double)same / (double)(nq * k);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define CHECK(call)                                                          \
  do {                                                                       \
    if ((call) != EV_OK) {                                                   \
      fprintf(stderr, "%s: %s\n", #call, ev_last_error());                   \
      return 1;                                                              \
    }                                                                        \
  } while (0)

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: knn_bench OUT_DIR CASE [THREADS]\n"); return 2; }
  const char *dir = argv[1], *cas = argv[2];
  int threads = argc > 3 ? atoi(argv[3]) : 2;
  int map = strcmp(cas, "fmnist_map2d_self") == 0;
  int self = map || strcmp(cas, "fmnist_pca50_self") == 0;
  size_t n = self ? 70000 : 60000, dim = self ? 50 : 784, nq = self ? 70000 : 10000;
  size_t k = self ? 91 : 10;
  float *ref = load(dir, self ? "fmnist_pca50.f32" : "fmnist_train.f32", n, dim);
  if (map) { /* the PCA map: the first two principal components, k = 10 */
    for (size_t i = 0; i < n; i++) {
      ref[2 * i] = ref[i * dim];
      ref[2 * i + 1] = ref[i * dim + 1];
    }
    dim = 2;
    k = 10;
  }
  float *q = self ? NULL : load(dir, "fmnist_t10k.f32", nq, dim);
  int64_t *ids = malloc(nq * k * sizeof *ids);
  float *dist = malloc(nq * k * sizeof *dist);
  ev_knn *ix;
  double t0 = now();
  CHECK(ev_knn_create(&ix));
  CHECK(ev_knn_set(ix, EV_KNN_THREADS, threads));
  if (getenv("EV_BLOCK")) CHECK(ev_knn_set(ix, EV_KNN_BLOCK_ROWS, atoi(getenv("EV_BLOCK"))));
  CHECK(ev_knn_build(ix, ref, n, dim, dim));
  if (self)
    CHECK(ev_knn_query_self(ix, k, ids, k, dist, k));
  else
    CHECK(ev_knn_query(ix, q, nq, dim, dim, k, ids, k, dist, k));
  double secs = now() - t0;
  ev_knn_free(ix);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("BENCH case=knn_%s impl=libembedviz seconds=%.3f peak_mb=%.0f "
         "threads=%d recall_vs_faiss=%.6f\n",
         cas, secs, ru.ru_maxrss / 1024.0, threads, recall(dir, cas, ids, nq, k));
  free(ref); free(q); free(ids); free(dist);
  return 0;
}
