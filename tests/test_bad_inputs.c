/* Every public call with every bad input we could think of: each must return
 * the documented status and a message that says what was wrong and what to
 * do. The same rows make docs/errors.md:
 *
 *   ./build/tests/test_bad_inputs --markdown > docs/errors.md   (make errors-table)
 *
 * and a test checks that docs/errors.md equals what this program prints, so
 * the table cannot drift from the library. Temporary files go to a fresh
 * folder shown as <tmp> in the table; fixtures come from tests/data/io.
 * Run from the top of the source tree (as `make check` does). */
#include <ctype.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic.h"
#include "testutil.h"

/* ---- the table --------------------------------------------------------- */

typedef struct row {
  const char *section;
  char call[64];
  char input[160];
  int expected, got;
  char message[1024];
} row;

#define MAX_ROWS 700
static row rows[MAX_ROWS];
static size_t n_rows;
static const char *section = "";
static char tmpdir[64];

/* Replace the temporary folder's name by <tmp> so the table is stable. */
static void scrub(char *dst, size_t cap, const char *src) {
  size_t len = strlen(tmpdir), o = 0;
  while (*src && o + 6 < cap) {
    if (len && strncmp(src, tmpdir, len) == 0) {
      memcpy(dst + o, "<tmp>", 5);
      o += 5;
      src += len;
    } else {
      dst[o++] = *src++;
    }
  }
  dst[o] = '\0';
}

static void add(const char *call, int expected, int got, const char *fmt,
                ...) {
  if (n_rows == MAX_ROWS) return;
  row *r = &rows[n_rows++];
  r->section = section;
  snprintf(r->call, sizeof r->call, "%s", call);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->input, sizeof r->input, fmt, ap);
  va_end(ap);
  r->expected = expected;
  r->got = got;
  scrub(r->message, sizeof r->message, got == EV_OK ? "" : ev_last_error());
}

/* BAD(call, expected status, description of the input, expression). The
 * error is cleared first so a stale message is never recorded. */
#define BAD(call, expected, input, ...)                                       \
  do {                                                                        \
    ev_clear_error();                                                         \
    int st_ = (__VA_ARGS__);                                                  \
    add(call, expected, st_, "%s", input);                                    \
  } while (0)

/* ---- files ------------------------------------------------------------- */

static char *tmp_path(const char *name) {
  static char buf[16][512];
  static int next;
  char *p = buf[next++ % 16];
  snprintf(p, 512, "%s/%s", tmpdir, name);
  return p;
}

static char *tmp_file(const char *name, const void *bytes, size_t len) {
  char *p = tmp_path(name);
  FILE *f = fopen(p, "wb");
  if (f) {
    if (len) fwrite(bytes, 1, len, f);
    fclose(f);
  }
  return p;
}

/* A .npy file with the given header dictionary and `data_bytes` zero bytes
 * of data. */
static char *npy_file(const char *name, const char *dict, size_t data_bytes) {
  char head[256];
  size_t dl = strlen(dict), total = 10 + dl + 1;
  size_t pad = (64 - total % 64) % 64;
  memcpy(head, "\x93NUMPY\x01\x00", 8);
  head[8] = (char)((dl + 1 + pad) & 0xff);
  head[9] = (char)((dl + 1 + pad) >> 8);
  memcpy(head + 10, dict, dl);
  memset(head + 10 + dl, ' ', pad);
  head[10 + dl + pad] = '\n';
  size_t hl = total + pad;
  unsigned char *buf = calloc(1, hl + data_bytes + 1);
  memcpy(buf, head, hl);
  char *p = tmp_file(name, buf, hl + data_bytes);
  free(buf);
  return p;
}

#define FIX(name) "tests/data/io/" name

/* ---- data -------------------------------------------------------------- */

static const size_t HUGE_N = SIZE_MAX / 4 + 1; /* n * d overflows size_t */

/* A 20 x 4 matrix with one NaN or Inf at row 3, column 2 when asked. */
static float *matrix(float poison) {
  float *x = tu_randn(20, 4, 7);
  if (poison != 0) x[3 * 4 + 2] = poison;
  return x;
}

/* ---- pca.h ------------------------------------------------------------- */

static void pca_rows(void) {
  section = "PCA (embedviz/pca.h)";
  ev_pca *p = NULL;
  float *x = matrix(0), *xn = matrix(NAN), *xi = matrix(INFINITY);
  float out[400] = {0};
  double v;
  BAD("ev_pca_create", EV_ERR_ARGUMENT, "out NULL", ev_pca_create(NULL));
  ev_pca_create(&p);
  BAD("ev_pca_set", EV_ERR_ARGUMENT, "handle NULL",
      ev_pca_set(NULL, EV_PCA_CENTER, 1));
  BAD("ev_pca_set", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_pca_set(p, 999, 1));
  BAD("ev_pca_set", EV_ERR_ARGUMENT, "EV_PCA_CENTER = 2 (range 0..1)",
      ev_pca_set(p, EV_PCA_CENTER, 2));
  BAD("ev_pca_set", EV_ERR_ARGUMENT, "EV_PCA_N_COMPONENTS = 1.5 (not whole)",
      ev_pca_set(p, EV_PCA_N_COMPONENTS, 1.5));
  BAD("ev_pca_set", EV_ERR_ARGUMENT, "EV_PCA_N_COMPONENTS = NaN",
      ev_pca_set(p, EV_PCA_N_COMPONENTS, NAN));
  BAD("ev_pca_set", EV_ERR_ARGUMENT, "EV_PCA_VARIANCE_TO_KEEP = 1.5",
      ev_pca_set(p, EV_PCA_VARIANCE_TO_KEEP, 1.5));
  BAD("ev_pca_set", EV_ERR_ARGUMENT, "EV_PCA_SOLVER = 9",
      ev_pca_set(p, EV_PCA_SOLVER, 9));
  BAD("ev_pca_set", EV_ERR_ARGUMENT, "EV_PCA_FITTED_SOLVER (read-only)",
      ev_pca_set(p, EV_PCA_FITTED_SOLVER, 1));
  BAD("ev_pca_get", EV_ERR_ARGUMENT, "handle NULL",
      ev_pca_get(NULL, EV_PCA_CENTER, &v));
  BAD("ev_pca_get", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_pca_get(p, 999, &v));
  BAD("ev_pca_get", EV_ERR_ARGUMENT, "value NULL",
      ev_pca_get(p, EV_PCA_CENTER, NULL));
  BAD("ev_pca_param_bounds", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_pca_param_bounds(999, &v, &v));
  BAD("ev_pca_param_default", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_pca_param_default(999, &v));
  BAD("ev_pca_param_default", EV_ERR_ARGUMENT, "value NULL",
      ev_pca_param_default(EV_PCA_CENTER, NULL));
  BAD("ev_pca_set_progress", EV_ERR_ARGUMENT, "handle NULL",
      ev_pca_set_progress(NULL, NULL, NULL));
  BAD("ev_pca_n_components", EV_ERR_STATE, "before a fit",
      ev_pca_n_components(p, &(size_t){0}));
  BAD("ev_pca_n_features", EV_ERR_STATE, "before a fit",
      ev_pca_n_features(p, &(size_t){0}));
  BAD("ev_pca_components", EV_ERR_STATE, "before a fit",
      ev_pca_components(p, out, 4));
  BAD("ev_pca_mean", EV_ERR_STATE, "before a fit", ev_pca_mean(p, out));
  BAD("ev_pca_explained_variance", EV_ERR_STATE, "before a fit",
      ev_pca_explained_variance(p, out));
  BAD("ev_pca_explained_variance_ratio", EV_ERR_STATE, "before a fit",
      ev_pca_explained_variance_ratio(p, out));
  BAD("ev_pca_singular_values", EV_ERR_STATE, "before a fit",
      ev_pca_singular_values(p, out));
  BAD("ev_pca_transform", EV_ERR_STATE, "before a fit",
      ev_pca_transform(p, x, 20, 4, 4, out, 4));
  BAD("ev_pca_inverse_transform", EV_ERR_STATE, "before a fit",
      ev_pca_inverse_transform(p, out, 20, 4, 4, out, 4));
  BAD("ev_pca_fit", EV_ERR_ARGUMENT, "handle NULL",
      ev_pca_fit(NULL, x, 20, 4, 4));
  BAD("ev_pca_fit", EV_ERR_ARGUMENT, "x NULL", ev_pca_fit(p, NULL, 20, 4, 4));
  BAD("ev_pca_fit", EV_ERR_ARGUMENT, "n = 0", ev_pca_fit(p, x, 0, 4, 4));
  BAD("ev_pca_fit", EV_ERR_ARGUMENT, "n = 1 (needs 2 rows)",
      ev_pca_fit(p, x, 1, 4, 4));
  BAD("ev_pca_fit", EV_ERR_ARGUMENT, "d = 0", ev_pca_fit(p, x, 20, 0, 4));
  BAD("ev_pca_fit", EV_ERR_ARGUMENT, "ld = 3 < d = 4",
      ev_pca_fit(p, x, 20, 4, 3));
  BAD("ev_pca_fit", EV_ERR_NONFINITE, "NaN in x", ev_pca_fit(p, xn, 20, 4, 4));
  BAD("ev_pca_fit", EV_ERR_NONFINITE, "Inf in x", ev_pca_fit(p, xi, 20, 4, 4));
  BAD("ev_pca_fit", EV_ERR_OVERFLOW, "n = SIZE_MAX/4 + 1, d = ld = 4",
      ev_pca_fit(p, x, HUGE_N, 4, 4));
  ev_pca_set(p, EV_PCA_SOLVER, EV_PCA_SOLVER_RANDOMIZED);
  ev_pca_set(p, EV_PCA_VARIANCE_TO_KEEP, 0.9);
  BAD("ev_pca_fit", EV_ERR_ARGUMENT,
      "EV_PCA_SOLVER_RANDOMIZED with EV_PCA_VARIANCE_TO_KEEP",
      ev_pca_fit(p, x, 20, 4, 4));
  ev_pca_set(p, EV_PCA_SOLVER, EV_PCA_SOLVER_AUTO);
  ev_pca_set(p, EV_PCA_VARIANCE_TO_KEEP, 0);
  ev_pca_set(p, EV_PCA_N_COMPONENTS, 2);
  ev_pca_fit(p, x, 20, 4, 4);
  BAD("ev_pca_components", EV_ERR_ARGUMENT, "components NULL (after a fit)",
      ev_pca_components(p, NULL, 4));
  BAD("ev_pca_components", EV_ERR_ARGUMENT, "ld = 3 < d = 4",
      ev_pca_components(p, out, 3));
  BAD("ev_pca_mean", EV_ERR_ARGUMENT, "mean NULL", ev_pca_mean(p, NULL));
  BAD("ev_pca_n_components", EV_ERR_ARGUMENT, "k NULL",
      ev_pca_n_components(p, NULL));
  BAD("ev_pca_transform", EV_ERR_ARGUMENT, "d = 3, fitted on 4 columns",
      ev_pca_transform(p, x, 20, 3, 4, out, 2));
  BAD("ev_pca_transform", EV_ERR_ARGUMENT, "lds = 1 < k = 2",
      ev_pca_transform(p, x, 20, 4, 4, out, 1));
  BAD("ev_pca_transform", EV_ERR_ARGUMENT, "scores NULL",
      ev_pca_transform(p, x, 20, 4, 4, NULL, 2));
  BAD("ev_pca_transform", EV_ERR_ARGUMENT, "n = 0",
      ev_pca_transform(p, x, 0, 4, 4, out, 2));
  BAD("ev_pca_transform", EV_ERR_NONFINITE, "NaN in x",
      ev_pca_transform(p, xn, 20, 4, 4, out, 2));
  BAD("ev_pca_transform", EV_ERR_OVERFLOW, "n = SIZE_MAX/4 + 1",
      ev_pca_transform(p, x, HUGE_N, 4, 4, out, 2));
  BAD("ev_pca_inverse_transform", EV_ERR_ARGUMENT, "k = 3, fitted k = 2",
      ev_pca_inverse_transform(p, out, 20, 3, 3, out + 100, 4));
  BAD("ev_pca_inverse_transform", EV_ERR_ARGUMENT, "ldx = 3 < d = 4",
      ev_pca_inverse_transform(p, out, 20, 2, 2, out + 100, 3));
  out[5] = NAN;
  BAD("ev_pca_inverse_transform", EV_ERR_NONFINITE, "NaN in scores",
      ev_pca_inverse_transform(p, out, 20, 2, 2, out + 100, 4));
  {
    float comp[8] = {1, 0, 0, 0, 0, 1, 0, 0}, mean[4] = {0}, var[2] = {2, 1};
    BAD("ev_pca_set_fit", EV_ERR_ARGUMENT, "handle NULL",
        ev_pca_set_fit(NULL, 2, 4, comp, 4, mean, var, 3, 10));
    BAD("ev_pca_set_fit", EV_ERR_ARGUMENT, "components NULL",
        ev_pca_set_fit(p, 2, 4, NULL, 4, mean, var, 3, 10));
    BAD("ev_pca_set_fit", EV_ERR_ARGUMENT, "explained_variance NULL",
        ev_pca_set_fit(p, 2, 4, comp, 4, mean, NULL, 3, 10));
    BAD("ev_pca_set_fit", EV_ERR_ARGUMENT, "k = 5 > d = 4",
        ev_pca_set_fit(p, 5, 4, comp, 4, mean, var, 3, 10));
    BAD("ev_pca_set_fit", EV_ERR_ARGUMENT, "ld = 3 < d = 4",
        ev_pca_set_fit(p, 2, 4, comp, 3, mean, var, 3, 10));
    BAD("ev_pca_set_fit", EV_ERR_ARGUMENT, "n_samples = 1",
        ev_pca_set_fit(p, 2, 4, comp, 4, mean, var, 3, 1));
    BAD("ev_pca_set_fit", EV_ERR_ARGUMENT, "total_variance = -1",
        ev_pca_set_fit(p, 2, 4, comp, 4, mean, var, -1, 10));
    float negv[2] = {2, -1};
    BAD("ev_pca_set_fit", EV_ERR_ARGUMENT, "a negative variance",
        ev_pca_set_fit(p, 2, 4, comp, 4, mean, negv, 3, 10));
    comp[3] = NAN;
    BAD("ev_pca_set_fit", EV_ERR_NONFINITE, "NaN in components",
        ev_pca_set_fit(p, 2, 4, comp, 4, mean, var, 3, 10));
  }
  ev_pca_free(p);
  free(x);
  free(xn);
  free(xi);
}

/* ---- knn.h ------------------------------------------------------------- */

static void knn_rows(void) {
  section = "kNN (embedviz/knn.h)";
  ev_knn *k = NULL;
  float *x = matrix(0), *xn = matrix(NAN), *xi = matrix(INFINITY);
  int64_t idx[200];
  float dist[200];
  double v;
  BAD("ev_knn_create", EV_ERR_ARGUMENT, "out NULL", ev_knn_create(NULL));
  ev_knn_create(&k);
  BAD("ev_knn_set", EV_ERR_ARGUMENT, "handle NULL",
      ev_knn_set(NULL, EV_KNN_METRIC, 0));
  BAD("ev_knn_set", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_knn_set(k, 999, 0));
  BAD("ev_knn_set", EV_ERR_ARGUMENT, "EV_KNN_METRIC = 6",
      ev_knn_set(k, EV_KNN_METRIC, 6));
  BAD("ev_knn_set", EV_ERR_ARGUMENT, "EV_KNN_MINKOWSKI_P = 0.5",
      ev_knn_set(k, EV_KNN_MINKOWSKI_P, 0.5));
  BAD("ev_knn_set", EV_ERR_ARGUMENT, "EV_KNN_THREADS = -1",
      ev_knn_set(k, EV_KNN_THREADS, -1));
  BAD("ev_knn_set", EV_ERR_ARGUMENT, "EV_KNN_BLOCK_ROWS = 1e9",
      ev_knn_set(k, EV_KNN_BLOCK_ROWS, 1e9));
  BAD("ev_knn_set", EV_ERR_ARGUMENT, "EV_KNN_METRIC = Inf",
      ev_knn_set(k, EV_KNN_METRIC, INFINITY));
  BAD("ev_knn_get", EV_ERR_ARGUMENT, "value NULL",
      ev_knn_get(k, EV_KNN_METRIC, NULL));
  BAD("ev_knn_get", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_knn_get(k, 999, &v));
  BAD("ev_knn_param_bounds", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_knn_param_bounds(999, &v, &v));
  BAD("ev_knn_param_default", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_knn_param_default(999, &v));
  BAD("ev_knn_param_default", EV_ERR_ARGUMENT, "value NULL",
      ev_knn_param_default(EV_KNN_THREADS, NULL));
  BAD("ev_knn_set_progress", EV_ERR_ARGUMENT, "handle NULL",
      ev_knn_set_progress(NULL, NULL, NULL));
  BAD("ev_knn_size", EV_ERR_ARGUMENT, "handle NULL",
      ev_knn_size(NULL, &(size_t){0}, &(size_t){0}));
  BAD("ev_knn_query", EV_ERR_STATE, "before a build",
      ev_knn_query(k, x, 20, 4, 4, 3, idx, 3, dist, 3));
  BAD("ev_knn_query_self", EV_ERR_STATE, "before a build",
      ev_knn_query_self(k, 3, idx, 3, dist, 3));
  BAD("ev_knn_build", EV_ERR_ARGUMENT, "handle NULL",
      ev_knn_build(NULL, x, 20, 4, 4));
  BAD("ev_knn_build", EV_ERR_ARGUMENT, "ref NULL",
      ev_knn_build(k, NULL, 20, 4, 4));
  BAD("ev_knn_build", EV_ERR_ARGUMENT, "n = 0", ev_knn_build(k, x, 0, 4, 4));
  BAD("ev_knn_build", EV_ERR_ARGUMENT, "dim = 0", ev_knn_build(k, x, 20, 0, 4));
  BAD("ev_knn_build", EV_ERR_ARGUMENT, "ld = 3 < dim = 4",
      ev_knn_build(k, x, 20, 4, 3));
  BAD("ev_knn_build", EV_ERR_NONFINITE, "NaN in ref",
      ev_knn_build(k, xn, 20, 4, 4));
  BAD("ev_knn_build", EV_ERR_NONFINITE, "Inf in ref",
      ev_knn_build(k, xi, 20, 4, 4));
  BAD("ev_knn_build", EV_ERR_OVERFLOW, "n = SIZE_MAX/4 + 1, dim = ld = 4",
      ev_knn_build(k, x, HUGE_N, 4, 4));
  ev_knn_build(k, x, 20, 4, 4);
  BAD("ev_knn_query", EV_ERR_ARGUMENT, "queries NULL",
      ev_knn_query(k, NULL, 20, 4, 4, 3, idx, 3, dist, 3));
  BAD("ev_knn_query", EV_ERR_ARGUMENT, "indices NULL",
      ev_knn_query(k, x, 20, 4, 4, 3, NULL, 3, dist, 3));
  BAD("ev_knn_query", EV_ERR_ARGUMENT, "nq = 0",
      ev_knn_query(k, x, 0, 4, 4, 3, idx, 3, dist, 3));
  BAD("ev_knn_query", EV_ERR_ARGUMENT, "dim = 3, index has 4",
      ev_knn_query(k, x, 20, 3, 4, 3, idx, 3, dist, 3));
  BAD("ev_knn_query", EV_ERR_ARGUMENT, "ldq = 3 < dim = 4",
      ev_knn_query(k, x, 20, 4, 3, 3, idx, 3, dist, 3));
  BAD("ev_knn_query", EV_ERR_ARGUMENT, "k = 0",
      ev_knn_query(k, x, 20, 4, 4, 0, idx, 3, dist, 3));
  BAD("ev_knn_query", EV_ERR_ARGUMENT, "k = 21 > n = 20",
      ev_knn_query(k, x, 2, 4, 4, 21, idx, 21, dist, 21));
  BAD("ev_knn_query", EV_ERR_ARGUMENT, "ldi = 2 < k = 3",
      ev_knn_query(k, x, 20, 4, 4, 3, idx, 2, dist, 3));
  BAD("ev_knn_query", EV_ERR_ARGUMENT, "ldd = 2 < k = 3 with distances",
      ev_knn_query(k, x, 20, 4, 4, 3, idx, 3, dist, 2));
  BAD("ev_knn_query", EV_ERR_NONFINITE, "NaN in queries",
      ev_knn_query(k, xn, 20, 4, 4, 3, idx, 3, dist, 3));
  BAD("ev_knn_query", EV_ERR_OVERFLOW, "nq = SIZE_MAX/4 + 1",
      ev_knn_query(k, x, HUGE_N, 4, 4, 3, idx, 3, dist, 3));
  BAD("ev_knn_query_self", EV_ERR_ARGUMENT, "k = 20 = n (own row left out)",
      ev_knn_query_self(k, 20, idx, 20, NULL, 0));
  BAD("ev_knn_query_self", EV_ERR_ARGUMENT, "indices NULL",
      ev_knn_query_self(k, 3, NULL, 3, dist, 3));
  BAD("ev_knn_query_self", EV_ERR_ARGUMENT, "ldi = 2 < k = 3",
      ev_knn_query_self(k, 3, idx, 2, dist, 3));
  {
    ev_array *ro = NULL, *ri = NULL;
    BAD("ev_knn_query_radius", EV_ERR_ARGUMENT, "handle NULL",
        ev_knn_query_radius(NULL, x, 20, 4, 4, 1.0, 0, &ro, &ri, NULL));
    BAD("ev_knn_query_radius", EV_ERR_ARGUMENT, "radius = -1",
        ev_knn_query_radius(k, x, 20, 4, 4, -1.0, 0, &ro, &ri, NULL));
    BAD("ev_knn_query_radius", EV_ERR_ARGUMENT, "radius = Inf",
        ev_knn_query_radius(k, x, 20, 4, 4, INFINITY, 0, &ro, &ri, NULL));
    BAD("ev_knn_query_radius", EV_ERR_ARGUMENT, "offsets NULL",
        ev_knn_query_radius(k, x, 20, 4, 4, 1.0, 0, NULL, &ri, NULL));
    BAD("ev_knn_query_radius", EV_ERR_ARGUMENT, "dim = 3, built on 4",
        ev_knn_query_radius(k, x, 20, 3, 4, 1.0, 0, &ro, &ri, NULL));
    BAD("ev_knn_query_radius", EV_ERR_NONFINITE, "NaN in queries",
        ev_knn_query_radius(k, xn, 20, 4, 4, 1.0, 0, &ro, &ri, NULL));
  }
  ev_knn_set(k, EV_KNN_METRIC, EV_METRIC_COSINE);
  BAD("ev_knn_query", EV_ERR_STATE, "EV_KNN_METRIC changed since the build",
      ev_knn_query(k, x, 20, 4, 4, 3, idx, 3, dist, 3));
  {
    ev_array *ro = NULL, *ri = NULL;
    BAD("ev_knn_query_radius", EV_ERR_STATE, "EV_KNN_METRIC changed since the build",
        ev_knn_query_radius(k, x, 20, 4, 4, 1.0, 0, &ro, &ri, NULL));
  }
  ev_knn_free(k);
  free(x);
  free(xn);
  free(xi);
}

/* ---- score.h ----------------------------------------------------------- */

static void score_rows(void) {
  section = "Scores (embedviz/score.h)";
  float *x = matrix(0), *xn = matrix(NAN), *xi = matrix(INFINITY);
  float out[80], amb[20];
  int32_t t1[20];
  int64_t idx[20], counts[16];
  BAD("ev_softmax", EV_ERR_ARGUMENT, "logits NULL",
      ev_softmax(NULL, 20, 4, 4, out, 4));
  BAD("ev_softmax", EV_ERR_ARGUMENT, "out NULL",
      ev_softmax(x, 20, 4, 4, NULL, 4));
  BAD("ev_softmax", EV_ERR_ARGUMENT, "n = 0", ev_softmax(x, 0, 4, 4, out, 4));
  BAD("ev_softmax", EV_ERR_ARGUMENT, "c = 0", ev_softmax(x, 20, 0, 4, out, 4));
  BAD("ev_softmax", EV_ERR_ARGUMENT, "ld = 3 < c = 4",
      ev_softmax(x, 20, 4, 3, out, 4));
  BAD("ev_softmax", EV_ERR_ARGUMENT, "ldo = 3 < c = 4",
      ev_softmax(x, 20, 4, 4, out, 3));
  BAD("ev_softmax", EV_ERR_NONFINITE, "NaN in logits",
      ev_softmax(xn, 20, 4, 4, out, 4));
  BAD("ev_softmax", EV_ERR_OVERFLOW, "n = SIZE_MAX/4 + 1",
      ev_softmax(x, HUGE_N, 4, 4, out, 4));
  BAD("ev_ambiguity", EV_ERR_ARGUMENT, "scores NULL",
      ev_ambiguity(NULL, 20, 4, 4, EV_SCORE_LOGITS, amb, NULL, NULL, t1, NULL));
  BAD("ev_ambiguity", EV_ERR_ARGUMENT, "n = 0",
      ev_ambiguity(x, 0, 4, 4, EV_SCORE_LOGITS, amb, NULL, NULL, t1, NULL));
  BAD("ev_ambiguity", EV_ERR_ARGUMENT, "c = 1 (needs 2 classes)",
      ev_ambiguity(x, 20, 1, 4, EV_SCORE_LOGITS, amb, NULL, NULL, t1, NULL));
  BAD("ev_ambiguity", EV_ERR_ARGUMENT, "input kind 7",
      ev_ambiguity(x, 20, 4, 4, 7, amb, NULL, NULL, t1, NULL));
  BAD("ev_ambiguity", EV_ERR_ARGUMENT, "probabilities with a negative value",
      ev_ambiguity(x, 20, 4, 4, EV_SCORE_PROBABILITIES, amb, NULL, NULL, t1,
                   NULL));
  float zeros[8] = {0.5f, 0.5f, 0, 0, 0, 0, 0, 0};
  BAD("ev_ambiguity", EV_ERR_ARGUMENT, "probabilities, row 1 sums to 0",
      ev_ambiguity(zeros, 2, 4, 4, EV_SCORE_PROBABILITIES, amb, NULL, NULL, t1,
                   NULL));
  BAD("ev_ambiguity", EV_ERR_NONFINITE, "NaN in logits",
      ev_ambiguity(xn, 20, 4, 4, EV_SCORE_LOGITS, amb, NULL, NULL, t1, NULL));
  BAD("ev_ambiguity", EV_ERR_NONFINITE, "Inf in logits",
      ev_ambiguity(xi, 20, 4, 4, EV_SCORE_LOGITS, amb, NULL, NULL, t1, NULL));
  float a[4] = {0.1f, 0.5f, NAN, 0.2f};
  BAD("ev_most_ambiguous", EV_ERR_ARGUMENT, "ambiguity NULL",
      ev_most_ambiguous(NULL, 4, 2, idx));
  BAD("ev_most_ambiguous", EV_ERR_ARGUMENT, "indices NULL",
      ev_most_ambiguous(a, 4, 2, NULL));
  BAD("ev_most_ambiguous", EV_ERR_ARGUMENT, "n = 0",
      ev_most_ambiguous(a, 0, 0, idx));
  BAD("ev_most_ambiguous", EV_ERR_ARGUMENT, "k = 5 > n = 4",
      ev_most_ambiguous(a, 4, 5, idx));
  BAD("ev_most_ambiguous", EV_ERR_NONFINITE, "NaN in ambiguity",
      ev_most_ambiguous(a, 4, 2, idx));
  int32_t yt[4] = {0, 1, 2, 3}, yp[4] = {0, 1, 1, 3}, yb[4] = {0, 1, 9, 3};
  int32_t yneg[4] = {0, -1, 1, 1};
  BAD("ev_confusion_matrix", EV_ERR_ARGUMENT, "y_true NULL",
      ev_confusion_matrix(NULL, yp, 4, 4, counts, NULL));
  BAD("ev_confusion_matrix", EV_ERR_ARGUMENT, "counts NULL",
      ev_confusion_matrix(yt, yp, 4, 4, NULL, NULL));
  BAD("ev_confusion_matrix", EV_ERR_ARGUMENT, "n = 0",
      ev_confusion_matrix(yt, yp, 0, 4, counts, NULL));
  BAD("ev_confusion_matrix", EV_ERR_ARGUMENT, "n_classes = 0",
      ev_confusion_matrix(yt, yp, 4, 0, counts, NULL));
  BAD("ev_confusion_matrix", EV_ERR_ARGUMENT, "y_pred[2] = 9 >= n_classes = 4",
      ev_confusion_matrix(yt, yb, 4, 4, counts, NULL));
  BAD("ev_confusion_matrix", EV_ERR_ARGUMENT, "y_true[1] = -1",
      ev_confusion_matrix(yneg, yp, 4, 4, counts, NULL));
  BAD("ev_confusion_matrix", EV_ERR_OVERFLOW, "n_classes = 2^32 + 1 (squared)",
      ev_confusion_matrix(yt, yp, 4, ((size_t)1 << 32) + 1, counts, NULL));
  free(x);
  free(xn);
  free(xi);
}

/* ---- tsne.h ------------------------------------------------------------ */

static void tsne_fit_rows(ev_tsne *t, const float *x, const float *xn,
                          const float *xi) {
  BAD("ev_tsne_fit", EV_ERR_ARGUMENT, "handle NULL",
      ev_tsne_fit(NULL, x, 20, 4, 4));
  BAD("ev_tsne_fit", EV_ERR_ARGUMENT, "x NULL", ev_tsne_fit(t, NULL, 20, 4, 4));
  BAD("ev_tsne_fit", EV_ERR_ARGUMENT, "n = 0", ev_tsne_fit(t, x, 0, 4, 4));
  BAD("ev_tsne_fit", EV_ERR_ARGUMENT, "n = 1 (needs 2 rows)",
      ev_tsne_fit(t, x, 1, 4, 4));
  BAD("ev_tsne_fit", EV_ERR_ARGUMENT, "d = 0", ev_tsne_fit(t, x, 20, 0, 4));
  BAD("ev_tsne_fit", EV_ERR_ARGUMENT, "ld = 3 < d = 4",
      ev_tsne_fit(t, x, 20, 4, 3));
  BAD("ev_tsne_fit", EV_ERR_NONFINITE, "NaN in x", ev_tsne_fit(t, xn, 20, 4, 4));
  BAD("ev_tsne_fit", EV_ERR_NONFINITE, "Inf in x", ev_tsne_fit(t, xi, 20, 4, 4));
  BAD("ev_tsne_fit", EV_ERR_OVERFLOW, "n = SIZE_MAX/4 + 1",
      ev_tsne_fit(t, x, HUGE_N, 4, 4));
  BAD("ev_tsne_fit", EV_ERR_ARGUMENT, "perplexity 30 with n = 20 (exact)",
      ev_tsne_fit(t, x, 20, 4, 4));
  ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_BARNES_HUT);
  ev_tsne_set(t, EV_TSNE_PERPLEXITY, 10);
  BAD("ev_tsne_fit", EV_ERR_ARGUMENT, "perplexity 10 with n = 20 (Barnes-Hut)",
      ev_tsne_fit(t, x, 20, 4, 4));
  ev_tsne_set(t, EV_TSNE_PERPLEXITY, 3);
  ev_tsne_set(t, EV_TSNE_N_COMPONENTS, 4);
  BAD("ev_tsne_fit", EV_ERR_ARGUMENT, "Barnes-Hut with EV_TSNE_N_COMPONENTS 4",
      ev_tsne_fit(t, x, 20, 4, 4));
  ev_tsne_set(t, EV_TSNE_N_COMPONENTS, 2);
  ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_EXACT);
  ev_tsne_set(t, EV_TSNE_INIT, EV_TSNE_INIT_GIVEN);
  BAD("ev_tsne_fit", EV_ERR_ARGUMENT, "EV_TSNE_INIT_GIVEN without a map",
      ev_tsne_fit(t, x, 20, 4, 4));
  ev_tsne_set_init(t, x, 10, 2, 4);
  BAD("ev_tsne_fit", EV_ERR_ARGUMENT, "given map of 10 rows, fit of 20",
      ev_tsne_fit(t, x, 20, 4, 4));
  ev_tsne_set(t, EV_TSNE_INIT, EV_TSNE_INIT_PCA);
  ev_tsne_set(t, EV_TSNE_MAX_MEMORY_MB, 1);
  BAD("ev_tsne_fit", EV_ERR_LIMIT,
      "exact method, n = 1000, EV_TSNE_MAX_MEMORY_MB = 1",
      ev_tsne_fit(t, x, 1000, 4, 4));
  ev_tsne_set(t, EV_TSNE_MAX_MEMORY_MB, 1024);
}

static void tsne_input_rows(ev_tsne *t) {
  float d[16] = {0, 1, 2, 3, 1, 0, 1, 2, 2, 1, 0, 1, 3, 2, 1, 0};
  BAD("ev_tsne_fit_distances", EV_ERR_ARGUMENT, "dist NULL",
      ev_tsne_fit_distances(t, NULL, 4, 4));
  BAD("ev_tsne_fit_distances", EV_ERR_ARGUMENT, "n = 0",
      ev_tsne_fit_distances(t, d, 0, 4));
  BAD("ev_tsne_fit_distances", EV_ERR_ARGUMENT, "ld = 3 < n = 4",
      ev_tsne_fit_distances(t, d, 4, 3));
  d[6] = -1;
  BAD("ev_tsne_fit_distances", EV_ERR_ARGUMENT, "a negative distance",
      ev_tsne_fit_distances(t, d, 4, 4));
  d[6] = NAN;
  BAD("ev_tsne_fit_distances", EV_ERR_NONFINITE, "NaN distance",
      ev_tsne_fit_distances(t, d, 4, 4));
  size_t rp[4] = {0, 1, 2, 3}, rp_bad0[4] = {1, 1, 2, 3},
         rp_down[4] = {0, 2, 1, 3};
  int64_t ci[3] = {1, 2, 0}, ci_out[3] = {1, 7, 0};
  float va[3] = {1, 1, 1}, va_neg[3] = {1, -1, 1}, va_nan[3] = {1, NAN, 1},
        va_zero[3] = {0, 0, 0};
  BAD("ev_tsne_fit_affinities", EV_ERR_ARGUMENT, "row_ptr NULL",
      ev_tsne_fit_affinities(t, 3, NULL, ci, va));
  BAD("ev_tsne_fit_affinities", EV_ERR_ARGUMENT, "n = 0",
      ev_tsne_fit_affinities(t, 0, rp, ci, va));
  BAD("ev_tsne_fit_affinities", EV_ERR_ARGUMENT, "row_ptr[0] = 1",
      ev_tsne_fit_affinities(t, 3, rp_bad0, ci, va));
  BAD("ev_tsne_fit_affinities", EV_ERR_ARGUMENT, "row_ptr decreasing",
      ev_tsne_fit_affinities(t, 3, rp_down, ci, va));
  BAD("ev_tsne_fit_affinities", EV_ERR_ARGUMENT, "column 7 >= n = 3",
      ev_tsne_fit_affinities(t, 3, rp, ci_out, va));
  BAD("ev_tsne_fit_affinities", EV_ERR_ARGUMENT, "a negative value",
      ev_tsne_fit_affinities(t, 3, rp, ci, va_neg));
  BAD("ev_tsne_fit_affinities", EV_ERR_NONFINITE, "NaN value",
      ev_tsne_fit_affinities(t, 3, rp, ci, va_nan));
  BAD("ev_tsne_fit_affinities", EV_ERR_ARGUMENT, "all values 0",
      ev_tsne_fit_affinities(t, 3, rp, ci, va_zero));
}

/* t is fitted on 20 rows of 4 columns of x (perplexity 5, exact). */
static void tsne_transform_rows(ev_tsne *t, const float *x, const float *xn,
                                const float *xi, float *out) {
  BAD("ev_tsne_transform", EV_ERR_ARGUMENT, "x NULL",
      ev_tsne_transform(t, NULL, 5, 4, 4, out, 2));
  BAD("ev_tsne_transform", EV_ERR_ARGUMENT, "m = 0",
      ev_tsne_transform(t, x, 0, 4, 4, out, 2));
  BAD("ev_tsne_transform", EV_ERR_ARGUMENT, "d = 3, fitted on 4 columns",
      ev_tsne_transform(t, x, 5, 3, 4, out, 2));
  BAD("ev_tsne_transform", EV_ERR_ARGUMENT, "ld = 3 < d = 4",
      ev_tsne_transform(t, x, 5, 4, 3, out, 2));
  BAD("ev_tsne_transform", EV_ERR_NONFINITE, "NaN in x",
      ev_tsne_transform(t, xn, 20, 4, 4, out, 2));
  BAD("ev_tsne_transform", EV_ERR_NONFINITE, "Inf in x",
      ev_tsne_transform(t, xi, 20, 4, 4, out, 2));
  BAD("ev_tsne_transform", EV_ERR_ARGUMENT, "out NULL",
      ev_tsne_transform(t, x, 5, 4, 4, NULL, 2));
  BAD("ev_tsne_transform", EV_ERR_ARGUMENT, "ldo = 1 < dims = 2",
      ev_tsne_transform(t, x, 5, 4, 4, out, 1));
  BAD("ev_tsne_transform", EV_ERR_OVERFLOW, "m = SIZE_MAX/4 + 1",
      ev_tsne_transform(t, x, HUGE_N, 4, 4, out, 2));
  ev_tsne_set(t, EV_TSNE_TRANSFORM_PERPLEXITY, 7);
  BAD("ev_tsne_transform", EV_ERR_ARGUMENT,
      "transform perplexity 7: 21 neighbours of 20 points",
      ev_tsne_transform(t, x, 5, 4, 4, out, 2));
  ev_tsne_set(t, EV_TSNE_TRANSFORM_PERPLEXITY, 5);
  BAD("ev_tsne_set", EV_ERR_ARGUMENT, "EV_TSNE_KEEP_INDEX = 2",
      ev_tsne_set(t, EV_TSNE_KEEP_INDEX, 2));
  BAD("ev_tsne_set", EV_ERR_ARGUMENT, "EV_TSNE_TRANSFORM_PERPLEXITY = 0.5",
      ev_tsne_set(t, EV_TSNE_TRANSFORM_PERPLEXITY, 0.5));
  BAD("ev_tsne_set", EV_ERR_ARGUMENT, "EV_TSNE_TRANSFORM_LEARNING_RATE = -1",
      ev_tsne_set(t, EV_TSNE_TRANSFORM_LEARNING_RATE, -1));
  ev_tsne_set(t, EV_TSNE_KEEP_INDEX, 0);
  ev_tsne_fit(t, x, 20, 4, 4);
  BAD("ev_tsne_transform", EV_ERR_STATE, "fitted with EV_TSNE_KEEP_INDEX 0",
      ev_tsne_transform(t, x, 5, 4, 4, out, 2));
  ev_tsne_set(t, EV_TSNE_KEEP_INDEX, 1);
  float d[16] = {0, 1, 2, 3, 1, 0, 1, 2, 2, 1, 0, 1, 3, 2, 1, 0};
  ev_tsne_set(t, EV_TSNE_PERPLEXITY, 1);
  ev_tsne_fit_distances(t, d, 4, 4);
  BAD("ev_tsne_transform", EV_ERR_STATE, "fitted from distances",
      ev_tsne_transform(t, x, 5, 4, 4, out, 2));
}

static void tsne_rows(void) {
  section = "t-SNE (embedviz/tsne.h)";
  ev_tsne *t = NULL;
  float *x = tu_randn(1000, 4, 3), *xn = matrix(NAN), *xi = matrix(INFINITY);
  float out[2000];
  double v;
  size_t nnz = 0, rp[21];
  BAD("ev_tsne_create", EV_ERR_ARGUMENT, "out NULL", ev_tsne_create(NULL));
  ev_tsne_create(&t);
  BAD("ev_tsne_set", EV_ERR_ARGUMENT, "handle NULL",
      ev_tsne_set(NULL, EV_TSNE_PERPLEXITY, 5));
  BAD("ev_tsne_set", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_tsne_set(t, 999, 1));
  BAD("ev_tsne_set", EV_ERR_ARGUMENT, "EV_TSNE_PERPLEXITY = 0.5",
      ev_tsne_set(t, EV_TSNE_PERPLEXITY, 0.5));
  BAD("ev_tsne_set", EV_ERR_ARGUMENT, "EV_TSNE_THETA = 2",
      ev_tsne_set(t, EV_TSNE_THETA, 2));
  BAD("ev_tsne_set", EV_ERR_ARGUMENT, "EV_TSNE_N_COMPONENTS = 0",
      ev_tsne_set(t, EV_TSNE_N_COMPONENTS, 0));
  BAD("ev_tsne_set", EV_ERR_ARGUMENT, "EV_TSNE_METHOD = 7",
      ev_tsne_set(t, EV_TSNE_METHOD, 7));
  BAD("ev_tsne_set", EV_ERR_ARGUMENT, "EV_TSNE_LEARNING_RATE = NaN",
      ev_tsne_set(t, EV_TSNE_LEARNING_RATE, NAN));
  BAD("ev_tsne_set", EV_ERR_ARGUMENT, "EV_TSNE_N_ITER = 2.5 (not whole)",
      ev_tsne_set(t, EV_TSNE_N_ITER, 2.5));
  BAD("ev_tsne_get", EV_ERR_ARGUMENT, "value NULL",
      ev_tsne_get(t, EV_TSNE_PERPLEXITY, NULL));
  BAD("ev_tsne_get", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_tsne_get(t, 999, &v));
  BAD("ev_tsne_param_bounds", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_tsne_param_bounds(999, &v, &v));
  BAD("ev_tsne_param_default", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_tsne_param_default(999, &v));
  BAD("ev_tsne_param_default", EV_ERR_ARGUMENT, "value NULL",
      ev_tsne_param_default(EV_TSNE_PERPLEXITY, NULL));
  BAD("ev_tsne_set_progress", EV_ERR_ARGUMENT, "handle NULL",
      ev_tsne_set_progress(NULL, NULL, NULL));
  BAD("ev_tsne_set_init", EV_ERR_ARGUMENT, "y NULL",
      ev_tsne_set_init(t, NULL, 20, 2, 2));
  BAD("ev_tsne_set_init", EV_ERR_ARGUMENT, "n = 0",
      ev_tsne_set_init(t, x, 0, 2, 2));
  BAD("ev_tsne_set_init", EV_ERR_ARGUMENT, "dims = 0",
      ev_tsne_set_init(t, x, 20, 0, 2));
  BAD("ev_tsne_set_init", EV_ERR_ARGUMENT, "ld = 1 < dims = 2",
      ev_tsne_set_init(t, x, 20, 2, 1));
  BAD("ev_tsne_set_init", EV_ERR_NONFINITE, "NaN in y",
      ev_tsne_set_init(t, xn, 20, 4, 4));
  BAD("ev_tsne_embedding", EV_ERR_STATE, "before a fit",
      ev_tsne_embedding(t, out, 2));
  BAD("ev_tsne_kl_divergence", EV_ERR_STATE, "before a fit",
      ev_tsne_kl_divergence(t, &v));
  BAD("ev_tsne_n_iter", EV_ERR_STATE, "before a fit",
      ev_tsne_n_iter(t, &nnz));
  BAD("ev_tsne_affinities", EV_ERR_STATE, "before a fit",
      ev_tsne_affinities(t, NULL, NULL, NULL, &nnz));
  BAD("ev_tsne_size", EV_ERR_ARGUMENT, "handle NULL",
      ev_tsne_size(NULL, &nnz, &nnz));
  BAD("ev_tsne_transform", EV_ERR_ARGUMENT, "handle NULL",
      ev_tsne_transform(NULL, x, 5, 4, 4, out, 2));
  BAD("ev_tsne_transform", EV_ERR_STATE, "before a fit",
      ev_tsne_transform(t, x, 5, 4, 4, out, 2));
  ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_EXACT);
  tsne_fit_rows(t, x, xn, xi);
  tsne_input_rows(t);
  ev_tsne_set(t, EV_TSNE_PERPLEXITY, 5);
  ev_tsne_set(t, EV_TSNE_N_ITER, 10);
  ev_tsne_fit(t, x, 20, 4, 4);
  BAD("ev_tsne_embedding", EV_ERR_ARGUMENT, "out NULL (after a fit)",
      ev_tsne_embedding(t, NULL, 2));
  BAD("ev_tsne_embedding", EV_ERR_ARGUMENT, "ld = 1 < dims = 2",
      ev_tsne_embedding(t, out, 1));
  BAD("ev_tsne_kl_divergence", EV_ERR_ARGUMENT, "kl NULL",
      ev_tsne_kl_divergence(t, NULL));
  BAD("ev_tsne_affinities", EV_ERR_ARGUMENT, "nnz NULL",
      ev_tsne_affinities(t, NULL, NULL, NULL, NULL));
  ev_tsne_affinities(t, NULL, NULL, NULL, &nnz);
  int64_t ci[4];
  float va[4];
  size_t small = 4;
  BAD("ev_tsne_affinities", EV_ERR_ARGUMENT, "*nnz = 4, too small",
      ev_tsne_affinities(t, rp, ci, va, &small));
  tsne_transform_rows(t, x, xn, xi, out);
  ev_tsne_free(t);
  free(x);
  free(xn);
  free(xi);
}

/* ---- io.h: arrays and files -------------------------------------------- */

static void npy_rows(void) {
  ev_array *a = NULL;
  float x[6] = {1, 2, 3, 4, 5, 6};
  size_t shape[9] = {2, 3, 1, 1, 1, 1, 1, 1, 1}, huge[2] = {SIZE_MAX / 2, 4};
  BAD("ev_npy_read", EV_ERR_ARGUMENT, "path NULL", ev_npy_read(NULL, &a));
  BAD("ev_npy_read", EV_ERR_ARGUMENT, "out NULL",
      ev_npy_read(FIX("f4_3x4.npy"), NULL));
  BAD("ev_npy_read", EV_ERR_NOT_FOUND, "no such file",
      ev_npy_read(tmp_path("missing.npy"), &a));
  BAD("ev_npy_read", EV_ERR_IO, "a folder", ev_npy_read(tmpdir, &a));
  BAD("ev_npy_read", EV_ERR_FORMAT, "empty file",
      ev_npy_read(FIX("bad_empty.npy"), &a));
  BAD("ev_npy_read", EV_ERR_FORMAT, "bad magic",
      ev_npy_read(FIX("bad_magic.npy"), &a));
  BAD("ev_npy_read", EV_ERR_FORMAT, "data 5 bytes short",
      ev_npy_read(FIX("bad_truncated.npy"), &a));
  BAD("ev_npy_read", EV_ERR_FORMAT, "header cut short",
      ev_npy_read(tmp_file("head.npy", "\x93NUMPY\x01\x00\x76\x00{'descr'", 17),
                  &a));
  BAD("ev_npy_read", EV_ERR_FORMAT, "dtype <c8 (complex)",
      ev_npy_read(FIX("c8_2.npy"), &a));
  BAD("ev_npy_read", EV_ERR_FORMAT, "no 'shape' in the header",
      ev_npy_read(npy_file("noshape.npy",
                           "{'descr': '<f4', 'fortran_order': False, }", 0),
                  &a));
  BAD("ev_npy_read", EV_ERR_FORMAT, "shape (2, x)",
      ev_npy_read(npy_file("badshape.npy",
                           "{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (2, x), }", 0),
                  &a));
  BAD("ev_npy_read", EV_ERR_FORMAT, "9 dimensions",
      ev_npy_read(npy_file("ndim9.npy",
                           "{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", 4),
                  &a));
  BAD("ev_npy_read", EV_ERR_OVERFLOW, "shape (2^32, 2^32, 2^32)",
      ev_npy_read(FIX("bad_overflow.npy"), &a));
  BAD("ev_npy_read", EV_ERR_FORMAT, "shape (2^40, 16), 64 bytes of data",
      ev_npy_read(FIX("bad_huge.npy"), &a));
  BAD("ev_npy_write_matrix", EV_ERR_ARGUMENT, "path NULL",
      ev_npy_write_matrix(NULL, x, 2, 3, 3));
  BAD("ev_npy_write_matrix", EV_ERR_ARGUMENT, "x NULL",
      ev_npy_write_matrix(tmp_path("w.npy"), NULL, 2, 3, 3));
  BAD("ev_npy_write_matrix", EV_ERR_ARGUMENT, "rows = 0",
      ev_npy_write_matrix(tmp_path("w.npy"), x, 0, 3, 3));
  BAD("ev_npy_write_matrix", EV_ERR_ARGUMENT, "ld = 2 < cols = 3",
      ev_npy_write_matrix(tmp_path("w.npy"), x, 2, 3, 2));
  BAD("ev_npy_write_matrix", EV_ERR_NOT_FOUND, "folder of the path missing",
      ev_npy_write_matrix(tmp_path("no/such/w.npy"), x, 2, 3, 3));
  BAD("ev_npy_write", EV_ERR_ARGUMENT, "dtype 99",
      ev_npy_write(tmp_path("w.npy"), 99, x, 2, shape));
  BAD("ev_npy_write", EV_ERR_ARGUMENT, "ndim = 0",
      ev_npy_write(tmp_path("w.npy"), EV_DTYPE_FLOAT32, x, 0, shape));
  BAD("ev_npy_write", EV_ERR_ARGUMENT, "ndim = 9",
      ev_npy_write(tmp_path("w.npy"), EV_DTYPE_FLOAT32, x, 9, shape));
  BAD("ev_npy_write", EV_ERR_ARGUMENT, "shape NULL",
      ev_npy_write(tmp_path("w.npy"), EV_DTYPE_FLOAT32, x, 2, NULL));
  BAD("ev_npy_write", EV_ERR_ARGUMENT, "data NULL",
      ev_npy_write(tmp_path("w.npy"), EV_DTYPE_FLOAT32, NULL, 2, shape));
  BAD("ev_npy_write", EV_ERR_OVERFLOW, "shape (SIZE_MAX/2, 4)",
      ev_npy_write(tmp_path("w.npy"), EV_DTYPE_FLOAT32, x, 2, huge));
  BAD("ev_npy_write", EV_ERR_NOT_FOUND, "folder of the path missing",
      ev_npy_write(tmp_path("no/such/w.npy"), EV_DTYPE_FLOAT32, x, 2, shape));
}

static void idx_image_rows(void) {
  ev_array *a = NULL;
  BAD("ev_idx_read", EV_ERR_ARGUMENT, "path NULL", ev_idx_read(NULL, &a));
  BAD("ev_idx_read", EV_ERR_ARGUMENT, "out NULL",
      ev_idx_read(FIX("labels_3.idx"), NULL));
  BAD("ev_idx_read", EV_ERR_NOT_FOUND, "no such file",
      ev_idx_read(tmp_path("missing.idx"), &a));
  BAD("ev_idx_read", EV_ERR_IO, "a folder", ev_idx_read(tmpdir, &a));
  BAD("ev_idx_read", EV_ERR_FORMAT, "empty file",
      ev_idx_read(tmp_file("empty.idx", "", 0), &a));
  BAD("ev_idx_read", EV_ERR_FORMAT, "bad magic",
      ev_idx_read(FIX("bad_magic.idx"), &a));
  BAD("ev_idx_read", EV_ERR_FORMAT, "type code 0x07",
      ev_idx_read(FIX("bad_type.idx"), &a));
  BAD("ev_idx_read", EV_ERR_FORMAT, "a dimension of 0",
      ev_idx_read(FIX("bad_zero.idx"), &a));
  BAD("ev_idx_read", EV_ERR_FORMAT, "data 7 bytes short",
      ev_idx_read(FIX("bad_truncated.idx"), &a));
  BAD("ev_idx_read", EV_ERR_FORMAT, "gzip stream cut in half",
      ev_idx_read(FIX("bad_truncated.idx.gz"), &a));
  BAD("ev_idx_read", EV_ERR_FORMAT, "2 bytes after the data",
      ev_idx_read(FIX("bad_long.idx"), &a));
  BAD("ev_idx_read", EV_ERR_OVERFLOW, "sizes whose product overflows",
      ev_idx_read(FIX("bad_overflow.idx"), &a));
  BAD("ev_idx_read", EV_ERR_FORMAT, "huge sizes, little data",
      ev_idx_read(FIX("bad_huge.idx"), &a));
  BAD("ev_image_read", EV_ERR_ARGUMENT, "path NULL",
      ev_image_read(NULL, 0, &a));
  BAD("ev_image_read", EV_ERR_ARGUMENT, "channels = 2",
      ev_image_read(FIX("img_rgb_5x7.png"), 2, &a));
  BAD("ev_image_read", EV_ERR_ARGUMENT, "out NULL",
      ev_image_read(FIX("img_rgb_5x7.png"), 0, NULL));
  BAD("ev_image_read", EV_ERR_NOT_FOUND, "no such file",
      ev_image_read(tmp_path("missing.png"), 0, &a));
  BAD("ev_image_read", EV_ERR_IO, "a folder", ev_image_read(tmpdir, 0, &a));
  BAD("ev_image_read", EV_ERR_FORMAT, "empty file",
      ev_image_read(FIX("bad_empty.gif"), 0, &a));
  BAD("ev_image_read", EV_ERR_FORMAT, "PNG signature then garbage",
      ev_image_read(FIX("bad_garbage.png"), 0, &a));
  BAD("ev_image_read", EV_ERR_FORMAT, "PNG cut short",
      ev_image_read(FIX("bad_truncated.png"), 0, &a));
  BAD("ev_image_read", EV_ERR_FORMAT, "JPEG cut in half",
      ev_image_read(FIX("bad_truncated.jpg"), 0, &a));
  BAD("ev_image_read", EV_ERR_FORMAT, "text named .jpg",
      ev_image_read(FIX("bad_notimage.jpg"), 0, &a));
  float out[4];
  ev_idx_read(FIX("labels_3.idx"), &a);
  BAD("ev_array_to_float", EV_ERR_ARGUMENT, "array NULL",
      ev_array_to_float(NULL, out, 4));
  BAD("ev_array_to_float", EV_ERR_ARGUMENT, "out NULL",
      ev_array_to_float(a, NULL, 4));
  BAD("ev_array_to_float", EV_ERR_ARGUMENT, "count 2 < 3 elements",
      ev_array_to_float(a, out, 2));
  ev_array_free(a);
}

/* ---- io.h: data sets --------------------------------------------------- */

static void dataset_make_rows(void) {
  ev_dataset *ds = NULL;
  const char *paths[2] = {FIX("img_rgb_5x7.png"), FIX("bad_garbage.png")};
  const char *missing[2] = {FIX("img_rgb_5x7.png"), tmp_path("gone.png")};
  const char *nullp[2] = {FIX("img_rgb_5x7.png"), NULL};
  const char *allbad[1] = {FIX("bad_garbage.png")};
  float f[24] = {0};
  BAD("ev_dataset_from_paths", EV_ERR_ARGUMENT, "paths NULL",
      ev_dataset_from_paths(NULL, 2, NULL, 0, &ds));
  BAD("ev_dataset_from_paths", EV_ERR_ARGUMENT, "n = 0",
      ev_dataset_from_paths(paths, 0, NULL, 0, &ds));
  BAD("ev_dataset_from_paths", EV_ERR_ARGUMENT, "out NULL",
      ev_dataset_from_paths(paths, 2, NULL, 0, NULL));
  BAD("ev_dataset_from_paths", EV_ERR_ARGUMENT, "paths[1] NULL",
      ev_dataset_from_paths(nullp, 2, NULL, 0, &ds));
  BAD("ev_dataset_from_paths", EV_ERR_NOT_FOUND, "a missing file",
      ev_dataset_from_paths(missing, 2, NULL, 0, &ds));
  BAD("ev_dataset_from_paths", EV_ERR_FORMAT, "a corrupt file",
      ev_dataset_from_paths(paths, 2, NULL, 0, &ds));
  BAD("ev_dataset_from_paths", EV_ERR_NOT_FOUND, "skip_bad, every file bad",
      ev_dataset_from_paths(allbad, 1, NULL, 1, &ds));
  BAD("ev_dataset_from_folder", EV_ERR_ARGUMENT, "folder NULL",
      ev_dataset_from_folder(NULL, 0, &ds));
  BAD("ev_dataset_from_folder", EV_ERR_NOT_FOUND, "no such folder",
      ev_dataset_from_folder(tmp_path("nofolder"), 0, &ds));
  BAD("ev_dataset_from_folder", EV_ERR_NOT_FOUND, "a folder without images",
      ev_dataset_from_folder(FIX("folder_none"), 0, &ds));
  BAD("ev_dataset_from_folder", EV_ERR_FORMAT, "a corrupt image inside",
      ev_dataset_from_folder(FIX("folder_bad"), 0, &ds));
  BAD("ev_dataset_from_folder", EV_ERR_NOT_FOUND, "a file, not a folder",
      ev_dataset_from_folder(FIX("img_rgb_5x7.png"), 0, &ds));
  BAD("ev_dataset_from_idx", EV_ERR_ARGUMENT, "images_path NULL",
      ev_dataset_from_idx(NULL, NULL, &ds));
  BAD("ev_dataset_from_idx", EV_ERR_NOT_FOUND, "no such images file",
      ev_dataset_from_idx(tmp_path("missing.idx"), NULL, &ds));
  BAD("ev_dataset_from_idx", EV_ERR_FORMAT, "3 images, 2 labels",
      ev_dataset_from_idx(FIX("images_3x4x5.idx"), FIX("labels_2.idx"), &ds));
  BAD("ev_dataset_from_idx", EV_ERR_FORMAT, "labels file truncated",
      ev_dataset_from_idx(FIX("images_3x4x5.idx"), FIX("bad_truncated.idx"),
                          &ds));
  BAD("ev_dataset_from_idx", EV_ERR_FORMAT, "images file of 1 dimension",
      ev_dataset_from_idx(FIX("labels_3.idx"), NULL, &ds));
  BAD("ev_dataset_from_npy", EV_ERR_ARGUMENT, "path NULL",
      ev_dataset_from_npy(NULL, NULL, &ds));
  BAD("ev_dataset_from_npy", EV_ERR_FORMAT, "complex dtype",
      ev_dataset_from_npy(FIX("c8_2.npy"), NULL, &ds));
  BAD("ev_dataset_from_npy", EV_ERR_FORMAT, "float labels",
      ev_dataset_from_npy(FIX("ds_images_4x6x5.npy"), FIX("f4_3x4.npy"), &ds));
  BAD("ev_dataset_from_npy", EV_ERR_FORMAT, "4 images, 5 labels",
      ev_dataset_from_npy(FIX("ds_images_4x6x5.npy"), FIX("i4_5.npy"), &ds));
  BAD("ev_dataset_from_npy", EV_ERR_FORMAT, "1-D float array",
      ev_dataset_from_npy(FIX("i4_5.npy"), NULL, &ds));
  BAD("ev_dataset_from_npy", EV_ERR_FORMAT, "no items (0 x 6 x 5)",
      ev_dataset_from_npy(FIX("ds_empty_0x6x5.npy"), NULL, &ds));
  BAD("ev_dataset_from_floats", EV_ERR_ARGUMENT, "data NULL",
      ev_dataset_from_floats(NULL, 2, 3, 2, 2, 12, NULL, &ds));
  BAD("ev_dataset_from_floats", EV_ERR_ARGUMENT, "n = 0",
      ev_dataset_from_floats(f, 0, 3, 2, 2, 12, NULL, &ds));
  BAD("ev_dataset_from_floats", EV_ERR_ARGUMENT, "c = 0",
      ev_dataset_from_floats(f, 2, 0, 2, 2, 12, NULL, &ds));
  BAD("ev_dataset_from_floats", EV_ERR_ARGUMENT, "ld = 11 < c*h*w = 12",
      ev_dataset_from_floats(f, 2, 3, 2, 2, 11, NULL, &ds));
  f[13] = INFINITY;
  BAD("ev_dataset_from_floats", EV_ERR_NONFINITE, "Inf in data",
      ev_dataset_from_floats(f, 2, 3, 2, 2, 12, NULL, &ds));
  BAD("ev_dataset_from_floats", EV_ERR_OVERFLOW, "c*h*w overflows",
      ev_dataset_from_floats(f, 2, SIZE_MAX / 2, 2, 2, 12, NULL, &ds));
}

static void dataset_use_rows(void) {
  ev_dataset *ds = NULL, *fl = NULL;
  float f[24] = {0}, out[400];
  uint8_t thumb[300];
  int32_t lab[4];
  size_t n, c, h, w;
  double v;
  ev_dataset_from_idx(FIX("images_3x4x5.idx"), FIX("labels_3.idx"), &ds);
  ev_dataset_from_floats(f, 2, 3, 2, 2, 12, NULL, &fl);
  BAD("ev_dataset_set", EV_ERR_ARGUMENT, "handle NULL",
      ev_dataset_set(NULL, EV_DS_CROP, 2));
  BAD("ev_dataset_set", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_dataset_set(ds, 999, 1));
  BAD("ev_dataset_set", EV_ERR_ARGUMENT, "EV_DS_CHANNELS = 2",
      ev_dataset_set(ds, EV_DS_CHANNELS, 2));
  BAD("ev_dataset_set", EV_ERR_ARGUMENT, "EV_DS_RESIZE = -1",
      ev_dataset_set(ds, EV_DS_RESIZE, -1));
  BAD("ev_dataset_set", EV_ERR_ARGUMENT, "EV_DS_STD0 = 0",
      ev_dataset_set(ds, EV_DS_STD0, 0));
  BAD("ev_dataset_set", EV_ERR_ARGUMENT, "EV_DS_SCALE = NaN",
      ev_dataset_set(ds, EV_DS_SCALE, NAN));
  BAD("ev_dataset_get", EV_ERR_ARGUMENT, "value NULL",
      ev_dataset_get(ds, EV_DS_CROP, NULL));
  BAD("ev_dataset_get", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_dataset_get(ds, 999, &v));
  BAD("ev_dataset_param_bounds", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_dataset_param_bounds(999, &v, &v));
  BAD("ev_dataset_param_default", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_dataset_param_default(999, &v));
  BAD("ev_dataset_param_default", EV_ERR_ARGUMENT, "value NULL",
      ev_dataset_param_default(EV_DS_SCALE, NULL));
  BAD("ev_dataset_set_progress", EV_ERR_ARGUMENT, "handle NULL",
      ev_dataset_set_progress(NULL, NULL, NULL));
  BAD("ev_dataset_count", EV_ERR_ARGUMENT, "handle NULL",
      ev_dataset_count(NULL, &n));
  BAD("ev_dataset_count", EV_ERR_ARGUMENT, "n NULL", ev_dataset_count(ds, NULL));
  BAD("ev_dataset_item_shape", EV_ERR_ARGUMENT, "c NULL",
      ev_dataset_item_shape(ds, NULL, &h, &w));
  BAD("ev_dataset_labels", EV_ERR_ARGUMENT, "cap = 2 < 3 items",
      ev_dataset_labels(ds, lab, 2));
  BAD("ev_dataset_labels", EV_ERR_ARGUMENT, "out NULL",
      ev_dataset_labels(ds, NULL, 4));
  BAD("ev_dataset_class_count", EV_ERR_ARGUMENT, "n NULL",
      ev_dataset_class_count(ds, NULL));
  BAD("ev_dataset_read", EV_ERR_ARGUMENT, "handle NULL",
      ev_dataset_read(NULL, 0, 1, out, 20));
  BAD("ev_dataset_read", EV_ERR_ARGUMENT, "out NULL",
      ev_dataset_read(ds, 0, 1, NULL, 20));
  BAD("ev_dataset_read", EV_ERR_ARGUMENT, "count = 0",
      ev_dataset_read(ds, 0, 0, out, 20));
  BAD("ev_dataset_read", EV_ERR_ARGUMENT, "items 2..3 of 3",
      ev_dataset_read(ds, 2, 2, out, 20));
  BAD("ev_dataset_read", EV_ERR_ARGUMENT, "start + count wraps around",
      ev_dataset_read(ds, 2, SIZE_MAX, out, 20));
  BAD("ev_dataset_read", EV_ERR_ARGUMENT, "ld = 19 < 1 x 4 x 5",
      ev_dataset_read(ds, 0, 1, out, 19));
  ev_dataset_set(ds, EV_DS_RESIZE, 8);
  ev_dataset_set(ds, EV_DS_CROP, 12);
  ev_dataset_item_shape(ds, &c, &h, &w);
  BAD("ev_dataset_read", EV_ERR_ARGUMENT, "ld = 20 < 1 x 12 x 12 (crop 12)",
      ev_dataset_read(ds, 0, 1, out, 20));
  BAD("ev_dataset_thumbnail", EV_ERR_ARGUMENT, "item 3 of 3",
      ev_dataset_thumbnail(ds, 3, 8, thumb));
  BAD("ev_dataset_thumbnail", EV_ERR_ARGUMENT, "side = 0",
      ev_dataset_thumbnail(ds, 0, 0, thumb));
  BAD("ev_dataset_thumbnail", EV_ERR_ARGUMENT, "out NULL",
      ev_dataset_thumbnail(ds, 0, 8, NULL));
  BAD("ev_dataset_thumbnail", EV_ERR_UNSUPPORTED, "a float data set",
      ev_dataset_thumbnail(fl, 0, 8, thumb));
  {
    size_t tw, th;
    BAD("ev_dataset_thumbnail_fit", EV_ERR_ARGUMENT, "item 3 of 3",
        ev_dataset_thumbnail_fit(ds, 3, 8, thumb, &tw, &th, NULL));
    BAD("ev_dataset_thumbnail_fit", EV_ERR_ARGUMENT, "side = 0",
        ev_dataset_thumbnail_fit(ds, 0, 0, thumb, &tw, &th, NULL));
    BAD("ev_dataset_thumbnail_fit", EV_ERR_ARGUMENT, "out NULL",
        ev_dataset_thumbnail_fit(ds, 0, 8, NULL, &tw, &th, NULL));
    BAD("ev_dataset_thumbnail_fit", EV_ERR_ARGUMENT, "data set NULL",
        ev_dataset_thumbnail_fit(NULL, 0, 8, thumb, &tw, &th, NULL));
    BAD("ev_dataset_thumbnail_fit", EV_ERR_UNSUPPORTED, "a float data set",
        ev_dataset_thumbnail_fit(fl, 0, 8, thumb, &tw, &th, NULL));
  }
  ev_dataset_free(ds);
  ev_dataset_free(fl);
}

static void io_rows(void) {
  section = "Files and data sets (embedviz/io.h)";
  npy_rows();
  idx_image_rows();
  dataset_make_rows();
  dataset_use_rows();
}

/* ---- issue 15: writes, non-regular files, numerics at the edges -------- */

/* Writes fail without costing the file that was there (the write-step hook
 * of lib/io/atomic.h stands in for a full disk); targets and inputs that
 * are not regular files are refused before any byte moves. */
static void write_and_special_file_rows(void) {
  section = "Writing files, and files that are not regular (embedviz/io.h)";
  float x[4] = {1, 2, 3, 4};
  size_t shape = 4;
  BAD("ev_npy_write_matrix", EV_ERR_NOT_FOUND, "folder does not exist",
      ev_npy_write_matrix(tmp_path("no/such/x.npy"), x, 2, 2, 2));
  BAD("ev_npy_write_matrix", EV_ERR_IO, "path is a folder",
      ev_npy_write_matrix(tmpdir, x, 2, 2, 2));
  BAD("ev_npy_write_matrix", EV_ERR_IO, "/dev/full (a device: refused, "
      "never unlinked)", ev_npy_write_matrix("/dev/full", x, 2, 2, 2));
  char *fifo = tmp_path("fifo.npy");
  mkfifo(fifo, 0644);
  BAD("ev_npy_write", EV_ERR_IO, "path is a FIFO",
      ev_npy_write(fifo, EV_DTYPE_FLOAT32, x, 1, &shape));
  char *good = tmp_path("good.npy");
  ev_npy_write_matrix(good, x, 2, 2, 2);
  ev__test_fail_atomic_step(1);
  BAD("ev_npy_write_matrix", EV_ERR_IO, "disk full while writing (the old "
      "file stays)", ev_npy_write_matrix(good, x, 4, 1, 1));
  ev__test_fail_atomic_step(3);
  BAD("ev_npy_write", EV_ERR_IO, "fsync fails (the old file stays)",
      ev_npy_write(good, EV_DTYPE_FLOAT32, x, 1, &shape));
  ev__test_fail_atomic_step(-1);
  ev_array *a = NULL;
  BAD("ev_image_read", EV_ERR_IO, "/dev/zero (read forever before 1.1)",
      ev_image_read("/dev/zero", 3, &a));
  BAD("ev_image_read", EV_ERR_IO, "a FIFO without a writer",
      ev_image_read(fifo, 3, &a));
  BAD("ev_npy_read", EV_ERR_IO, "/dev/urandom",
      ev_npy_read("/dev/urandom", &a));
  BAD("ev_idx_read", EV_ERR_IO, "/dev/zero", ev_idx_read("/dev/zero", &a));
  ev_dataset *ds = NULL;
  const char *paths[1] = {"/dev/zero"};
  BAD("ev_dataset_from_paths", EV_ERR_IO, "/dev/zero as an item",
      ev_dataset_from_paths(paths, 1, NULL, 0, &ds));
  ev_dataset_free(ds);
}

/* Inputs every check accepts whose results would not be right: refused
 * with what to do. (docs/errors.md lists the ones accepted on purpose.) */
static void edge_numerics_rows(void) {
  section = "Numerics at the edges";
  size_t n = 600, d = 8;
  float *x = tu_randn(n, d, 15);
  for (size_t i = 0; i < n * d; i++) x[i] *= 1e30f;
  ev_pca *pca = NULL;
  ev_pca_create(&pca);
  ev_pca_set(pca, EV_PCA_SOLVER, EV_PCA_SOLVER_SVD);
  BAD("ev_pca_fit", EV_ERR_NONFINITE, "values near 1e30, SVD solver (inf "
      "variance with EV_OK before 1.1)", ev_pca_fit(pca, x, n, d, d));
  ev_pca_set(pca, EV_PCA_SOLVER, EV_PCA_SOLVER_RANDOMIZED);
  ev_pca_set(pca, EV_PCA_N_COMPONENTS, 2);
  BAD("ev_pca_fit", EV_ERR_NONFINITE, "values near 1e30, randomized solver",
      ev_pca_fit(pca, x, n, d, d));
  ev_pca_free(pca);
  ev_tsne *t = NULL;
  ev_tsne_create(&t);
  BAD("ev_tsne_fit", EV_ERR_OVERFLOW, "values near 1e30 (PCA "
      "initialisation)", ev_tsne_fit(t, x, 100, d, d));
  ev_tsne_free(t);
  ev_knn *k = NULL;
  ev_knn_create(&k);
  ev_knn_build(k, x, 1, d, d);
  int64_t idx[1];
  float dist[1];
  BAD("ev_knn_query_self", EV_ERR_ARGUMENT, "an index of one row",
      ev_knn_query_self(k, 1, idx, 1, dist, 1));
  ev_knn_free(k);
  free(x);
  ev_array *a = NULL;
  BAD("ev_npy_read", EV_ERR_FORMAT, "'fortran_order': Yes",
      ev_npy_read(npy_file("fortran_yes.npy", "{'descr': '<f4', "
                           "'fortran_order': Yes, 'shape': (2,), }", 8),
                  &a));
  FILE *f = fopen("tests/data/io/img_rgb_5x7.png", "rb");
  unsigned char png[4096];
  size_t len = f ? fread(png, 1, sizeof png, f) : 0;
  if (f) fclose(f);
  if (len > 60) png[len - 20] ^= 1; /* in the last IDAT or its CRC */
  BAD("ev_image_read", EV_ERR_FORMAT, "PNG with a damaged data chunk "
      "(wrong pixels with EV_OK before 1.1)",
      ev_image_read(tmp_file("damaged.png", png, len), 3, &a));
}

/* ---- explain.h --------------------------------------------------------- */

static void contribution_rows(void) {
  float x[40], out[8];
  for (int i = 0; i < 40; i++) x[i] = (float)((i * 7) % 11);
  ev_pca *pca = NULL, *unfit = NULL;
  ev_pca_create(&pca);
  ev_pca_create(&unfit);
  ev_pca_set(pca, EV_PCA_N_COMPONENTS, 2);
  ev_pca_fit(pca, x, 10, 4, 4);
  int64_t f[4];
  float v[4];
  BAD("ev_pca_contributions", EV_ERR_ARGUMENT, "pca NULL",
      ev_pca_contributions(NULL, 0, x, 1, 4, 4, out, 4));
  BAD("ev_pca_contributions", EV_ERR_STATE, "before a fit",
      ev_pca_contributions(unfit, 0, x, 1, 4, 4, out, 4));
  BAD("ev_pca_contributions", EV_ERR_ARGUMENT, "component 2 of 2 kept",
      ev_pca_contributions(pca, 2, x, 1, 4, 4, out, 4));
  BAD("ev_pca_contributions", EV_ERR_ARGUMENT, "d = 3, fit has 4",
      ev_pca_contributions(pca, 0, x, 1, 3, 3, out, 3));
  BAD("ev_pca_contributions", EV_ERR_ARGUMENT, "x NULL",
      ev_pca_contributions(pca, 0, NULL, 1, 4, 4, out, 4));
  BAD("ev_pca_contributions", EV_ERR_ARGUMENT, "n = 0",
      ev_pca_contributions(pca, 0, x, 0, 4, 4, out, 4));
  BAD("ev_pca_contributions", EV_ERR_ARGUMENT, "out NULL",
      ev_pca_contributions(pca, 0, x, 1, 4, 4, NULL, 4));
  BAD("ev_pca_contributions", EV_ERR_ARGUMENT, "ldo = 3 < d = 4",
      ev_pca_contributions(pca, 0, x, 1, 4, 4, out, 3));
  BAD("ev_pca_contributions", EV_ERR_OVERFLOW, "n * ldx overflows",
      ev_pca_contributions(pca, 0, x, HUGE_N, 4, 4, out, 4));
  x[5] = INFINITY;
  BAD("ev_pca_contributions", EV_ERR_NONFINITE, "Inf in x",
      ev_pca_contributions(pca, 0, x, 2, 4, 4, out, 4));
  x[5] = 1;
  BAD("ev_pca_top_contributions", EV_ERR_ARGUMENT, "top = 0",
      ev_pca_top_contributions(pca, 0, x, 4, 0, f, v));
  BAD("ev_pca_top_contributions", EV_ERR_ARGUMENT, "top = 5 > d = 4",
      ev_pca_top_contributions(pca, 0, x, 4, 5, f, v));
  BAD("ev_pca_top_contributions", EV_ERR_ARGUMENT, "features NULL",
      ev_pca_top_contributions(pca, 0, x, 4, 2, NULL, v));
  BAD("ev_pca_top_contributions", EV_ERR_ARGUMENT, "x NULL",
      ev_pca_top_contributions(pca, 0, NULL, 4, 2, f, v));
  BAD("ev_pca_top_contributions", EV_ERR_ARGUMENT, "component 7",
      ev_pca_top_contributions(pca, 7, x, 4, 2, f, v));
  x[2] = NAN;
  BAD("ev_pca_top_contributions", EV_ERR_NONFINITE, "NaN in x",
      ev_pca_top_contributions(pca, 0, x, 4, 2, f, v));
  BAD("ev_pca_top_contributions", EV_ERR_STATE, "before a fit",
      ev_pca_top_contributions(unfit, 0, x, 4, 2, f, v));
  ev_pca_free(pca);
  ev_pca_free(unfit);
}

static void ridge_setting_rows(ev_ridge *r) {
  double v;
  BAD("ev_ridge_create", EV_ERR_ARGUMENT, "out NULL", ev_ridge_create(NULL));
  BAD("ev_ridge_set", EV_ERR_ARGUMENT, "r NULL",
      ev_ridge_set(NULL, EV_RIDGE_ALPHA, 1));
  BAD("ev_ridge_set", EV_ERR_ARGUMENT, "EV_RIDGE_ALPHA = -1",
      ev_ridge_set(r, EV_RIDGE_ALPHA, -1));
  BAD("ev_ridge_set", EV_ERR_ARGUMENT, "EV_RIDGE_ALPHA = NaN",
      ev_ridge_set(r, EV_RIDGE_ALPHA, NAN));
  BAD("ev_ridge_set", EV_ERR_ARGUMENT, "EV_RIDGE_CRITERION = 2",
      ev_ridge_set(r, EV_RIDGE_CRITERION, 2));
  BAD("ev_ridge_set", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_ridge_set(r, 999, 1));
  BAD("ev_ridge_get", EV_ERR_ARGUMENT, "value NULL",
      ev_ridge_get(r, EV_RIDGE_ALPHA, NULL));
  BAD("ev_ridge_param_bounds", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_ridge_param_bounds(999, &v, &v));
  BAD("ev_ridge_param_default", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_ridge_param_default(999, &v));
  double grid[2] = {1, -1}, inf[1] = {INFINITY};
  BAD("ev_ridge_set_alphas", EV_ERR_ARGUMENT, "r NULL",
      ev_ridge_set_alphas(NULL, grid, 1));
  BAD("ev_ridge_set_alphas", EV_ERR_ARGUMENT, "alphas NULL, count 2",
      ev_ridge_set_alphas(r, NULL, 2));
  BAD("ev_ridge_set_alphas", EV_ERR_ARGUMENT, "alpha -1",
      ev_ridge_set_alphas(r, grid, 2));
  BAD("ev_ridge_set_alphas", EV_ERR_ARGUMENT, "alpha Inf",
      ev_ridge_set_alphas(r, inf, 1));
  BAD("ev_ridge_set_alphas", EV_ERR_ARGUMENT, "count 1001",
      ev_ridge_set_alphas(r, grid, 1001));
}

static void ridge_fit_rows(ev_ridge *r, float *x, float *y) {
  BAD("ev_ridge_fit", EV_ERR_ARGUMENT, "r NULL",
      ev_ridge_fit(NULL, x, 6, 2, 2, y, 2, 2));
  BAD("ev_ridge_fit", EV_ERR_ARGUMENT, "x NULL",
      ev_ridge_fit(r, NULL, 6, 2, 2, y, 2, 2));
  BAD("ev_ridge_fit", EV_ERR_ARGUMENT, "y NULL",
      ev_ridge_fit(r, x, 6, 2, 2, NULL, 2, 2));
  BAD("ev_ridge_fit", EV_ERR_ARGUMENT, "d = 0",
      ev_ridge_fit(r, x, 6, 0, 2, y, 2, 2));
  BAD("ev_ridge_fit", EV_ERR_ARGUMENT, "t = 0",
      ev_ridge_fit(r, x, 6, 2, 2, y, 0, 2));
  BAD("ev_ridge_fit", EV_ERR_ARGUMENT, "ldx = 1 < d = 2",
      ev_ridge_fit(r, x, 6, 2, 1, y, 2, 2));
  BAD("ev_ridge_fit", EV_ERR_ARGUMENT, "2 rows, alpha by leave-one-out",
      ev_ridge_fit(r, x, 2, 2, 2, y, 2, 2));
  BAD("ev_ridge_fit", EV_ERR_OVERFLOW, "n * ldx overflows",
      ev_ridge_fit(r, x, HUGE_N, 2, 2, y, 2, 2));
  x[3] = NAN;
  BAD("ev_ridge_fit", EV_ERR_NONFINITE, "NaN in x",
      ev_ridge_fit(r, x, 6, 2, 2, y, 2, 2));
  x[3] = 1;
  y[11] = -INFINITY;
  BAD("ev_ridge_fit", EV_ERR_NONFINITE, "-Inf in y",
      ev_ridge_fit(r, x, 6, 2, 2, y, 2, 2));
  y[11] = 1;
}

static void ridge_read_rows(ev_ridge *r, ev_ridge *fitted, const float *x) {
  float c[4], out[2];
  double a, r2[2];
  size_t s = 0;
  BAD("ev_ridge_coef", EV_ERR_STATE, "before a fit", ev_ridge_coef(r, c, 2));
  BAD("ev_ridge_coef", EV_ERR_ARGUMENT, "ld = 1 < d = 2",
      ev_ridge_coef(fitted, c, 1));
  BAD("ev_ridge_coef", EV_ERR_ARGUMENT, "coef NULL",
      ev_ridge_coef(fitted, NULL, 2));
  BAD("ev_ridge_intercept", EV_ERR_STATE, "before a fit",
      ev_ridge_intercept(r, c));
  BAD("ev_ridge_intercept", EV_ERR_ARGUMENT, "intercept NULL",
      ev_ridge_intercept(fitted, NULL));
  BAD("ev_ridge_alpha", EV_ERR_STATE, "before a fit", ev_ridge_alpha(r, &a));
  BAD("ev_ridge_alpha", EV_ERR_ARGUMENT, "alpha NULL",
      ev_ridge_alpha(fitted, NULL));
  BAD("ev_ridge_sizes", EV_ERR_STATE, "before a fit",
      ev_ridge_sizes(r, &s, &s, &s));
  BAD("ev_ridge_sizes", EV_ERR_ARGUMENT, "all NULL",
      ev_ridge_sizes(fitted, NULL, NULL, NULL));
  BAD("ev_ridge_r2", EV_ERR_STATE, "before a fit",
      ev_ridge_r2(r, r2, r2, 2));
  BAD("ev_ridge_r2", EV_ERR_ARGUMENT, "both NULL",
      ev_ridge_r2(fitted, NULL, NULL, 2));
  BAD("ev_ridge_r2", EV_ERR_ARGUMENT, "count 3 > 2 targets",
      ev_ridge_r2(fitted, r2, r2, 3));
  BAD("ev_ridge_cv_scores", EV_ERR_STATE, "before a fit",
      ev_ridge_cv_scores(r, NULL, NULL, &s));
  BAD("ev_ridge_cv_scores", EV_ERR_ARGUMENT, "count NULL",
      ev_ridge_cv_scores(fitted, NULL, NULL, NULL));
  s = 1;
  BAD("ev_ridge_cv_scores", EV_ERR_ARGUMENT, "room for 1 of 19",
      ev_ridge_cv_scores(fitted, NULL, r2, &s));
  BAD("ev_ridge_predict", EV_ERR_STATE, "before a fit",
      ev_ridge_predict(r, x, 1, 2, 2, out, 2));
  BAD("ev_ridge_predict", EV_ERR_ARGUMENT, "d = 1, fit has 2",
      ev_ridge_predict(fitted, x, 1, 1, 1, out, 2));
  BAD("ev_ridge_predict", EV_ERR_ARGUMENT, "ldo = 1 < 2 targets",
      ev_ridge_predict(fitted, x, 1, 2, 2, out, 1));
  BAD("ev_ridge_predict", EV_ERR_ARGUMENT, "n = 0",
      ev_ridge_predict(fitted, x, 0, 2, 2, out, 2));
  float bad[2] = {1, NAN};
  BAD("ev_ridge_predict", EV_ERR_NONFINITE, "NaN in x",
      ev_ridge_predict(fitted, bad, 1, 2, 2, out, 2));
}

static void ridge_rows(void) {
  float x[12], y[12];
  for (int i = 0; i < 12; i++) {
    x[i] = (float)((i * 5) % 7);
    y[i] = (float)((i * 3) % 5);
  }
  ev_ridge *r = NULL, *fitted = NULL;
  ev_ridge_create(&r);
  ev_ridge_create(&fitted);
  ev_ridge_fit(fitted, x, 6, 2, 2, y, 2, 2);
  ridge_setting_rows(r);
  ridge_fit_rows(r, x, y);
  ridge_read_rows(r, fitted, x);
  ev_ridge_free(r);
  ev_ridge_free(fitted);
}

static void correlation_rows(void) {
  float x[12], corr[9];
  int64_t order[3];
  for (int i = 0; i < 12; i++) x[i] = (float)((i * 5) % 7);
  BAD("ev_feature_correlation", EV_ERR_ARGUMENT, "x NULL",
      ev_feature_correlation(NULL, 4, 3, 3, corr, 3));
  BAD("ev_feature_correlation", EV_ERR_ARGUMENT, "corr NULL",
      ev_feature_correlation(x, 4, 3, 3, NULL, 3));
  BAD("ev_feature_correlation", EV_ERR_ARGUMENT, "n = 1",
      ev_feature_correlation(x, 1, 3, 3, corr, 3));
  BAD("ev_feature_correlation", EV_ERR_ARGUMENT, "d = 0",
      ev_feature_correlation(x, 4, 0, 3, corr, 3));
  BAD("ev_feature_correlation", EV_ERR_ARGUMENT, "ldc = 2 < d = 3",
      ev_feature_correlation(x, 4, 3, 3, corr, 2));
  BAD("ev_feature_correlation", EV_ERR_OVERFLOW, "n * ldx overflows",
      ev_feature_correlation(x, HUGE_N, 3, 3, corr, 3));
  x[7] = NAN;
  BAD("ev_feature_correlation", EV_ERR_NONFINITE, "NaN in x",
      ev_feature_correlation(x, 4, 3, 3, corr, 3));
  for (int i = 0; i < 9; i++) corr[i] = i % 4 == 0 ? 1.0f : 0.5f;
  BAD("ev_feature_order", EV_ERR_ARGUMENT, "corr NULL",
      ev_feature_order(NULL, 3, 3, order));
  BAD("ev_feature_order", EV_ERR_ARGUMENT, "order NULL",
      ev_feature_order(corr, 3, 3, NULL));
  BAD("ev_feature_order", EV_ERR_ARGUMENT, "d = 0",
      ev_feature_order(corr, 0, 3, order));
  BAD("ev_feature_order", EV_ERR_ARGUMENT, "ldc = 2 < d = 3",
      ev_feature_order(corr, 3, 2, order));
  BAD("ev_feature_order", EV_ERR_OVERFLOW, "d * ldc overflows",
      ev_feature_order(corr, HUGE_N, HUGE_N, order));
  corr[1] = 2.0f;
  BAD("ev_feature_order", EV_ERR_ARGUMENT, "corr[0][1] = 2",
      ev_feature_order(corr, 3, 3, order));
  corr[1] = NAN;
  BAD("ev_feature_order", EV_ERR_NONFINITE, "corr[0][1] NaN",
      ev_feature_order(corr, 3, 3, order));
}

static void explain_rows(void) {
  section = "Explaining a map (embedviz/explain.h)";
  contribution_rows();
  ridge_rows();
  correlation_rows();
}

/* ---- extract.h --------------------------------------------------------- */

/* A tiny traced model in <tmp>/tiny.pt: conv (1 -> 2 channels, 3x3) then
 * flatten and fc (8 -> 3) for 1 x 4 x 4 inputs; and a state dict. */
static int make_models(void) {
  const char *py = getenv("EV_PYTHON") ? getenv("EV_PYTHON") : "/usr/bin/python3";
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "%s -c \"import torch, torch.nn as nn\n"
           "class Tiny(nn.Module):\n"
           "  def __init__(self):\n"
           "    super().__init__()\n"
           "    self.conv = nn.Conv2d(1, 2, 3)\n"
           "    self.fc = nn.Linear(8, 3)\n"
           "  def forward(self, x):\n"
           "    return self.fc(torch.flatten(self.conv(x), 1))\n"
           "torch.manual_seed(0)\n"
           "torch.jit.trace(Tiny().eval(), torch.zeros(1, 1, 4, 4))"
           ".save('%s/tiny.pt')\n"
           "torch.save({'w': torch.zeros(2)}, '%s/state_dict.pt')\"",
           py, tmpdir, tmpdir);
  return system(cmd) == 0;
}

static char *model_prefix(const char *name, long bytes) {
  static unsigned char buf[1 << 16];
  FILE *f = fopen(tmp_path("tiny.pt"), "rb");
  size_t got = f ? fread(buf, 1, sizeof buf, f) : 0;
  if (f) fclose(f);
  if (bytes < 0) bytes = (long)got / 2;
  return tmp_file(name, buf, (size_t)bytes);
}

static void model_rows(ev_model **m) {
  BAD("ev_model_load", EV_ERR_ARGUMENT, "path NULL",
      ev_model_load(NULL, EV_DEVICE_CPU, m));
  BAD("ev_model_load", EV_ERR_ARGUMENT, "out NULL",
      ev_model_load(tmp_path("tiny.pt"), EV_DEVICE_CPU, NULL));
  BAD("ev_model_load", EV_ERR_ARGUMENT, "device 7",
      ev_model_load(tmp_path("tiny.pt"), 7, m));
  BAD("ev_model_load", EV_ERR_NOT_FOUND, "no such file",
      ev_model_load(tmp_path("missing.pt"), EV_DEVICE_CPU, m));
  BAD("ev_model_load", EV_ERR_IO, "a folder",
      ev_model_load(tmpdir, EV_DEVICE_CPU, m));
  BAD("ev_model_load", EV_ERR_FORMAT, "empty file",
      ev_model_load(tmp_file("empty.pt", "", 0), EV_DEVICE_CPU, m));
  BAD("ev_model_load", EV_ERR_FORMAT, "text, not a model",
      ev_model_load(tmp_file("text.pt", "not a model\n", 12), EV_DEVICE_CPU,
                    m));
  BAD("ev_model_load", EV_ERR_FORMAT, "first half of a model",
      ev_model_load(model_prefix("half.pt", -1), EV_DEVICE_CPU, m));
  BAD("ev_model_load", EV_ERR_FORMAT, "first 100 bytes of a model",
      ev_model_load(model_prefix("head.pt", 100), EV_DEVICE_CPU, m));
  BAD("ev_model_load", EV_ERR_FORMAT, "torch.save of a state dict",
      ev_model_load(tmp_path("state_dict.pt"), EV_DEVICE_CPU, m));
  if (!ev_cuda_available())
    BAD("ev_model_load", EV_ERR_UNSUPPORTED, "EV_DEVICE_CUDA without CUDA",
        ev_model_load(tmp_path("tiny.pt"), EV_DEVICE_CUDA, m));
  ev_model_load(tmp_path("tiny.pt"), EV_DEVICE_CPU, m);
  const char *name;
  BAD("ev_model_n_layers", EV_ERR_ARGUMENT, "model NULL",
      ev_model_n_layers(NULL, &(size_t){0}));
  BAD("ev_model_n_layers", EV_ERR_ARGUMENT, "n NULL",
      ev_model_n_layers(*m, NULL));
  BAD("ev_model_layer_name", EV_ERR_ARGUMENT, "i = 99, out of range",
      ev_model_layer_name(*m, 99, &name));
  BAD("ev_model_layer_name", EV_ERR_ARGUMENT, "name NULL",
      ev_model_layer_name(*m, 0, NULL));
  BAD("ev_model_layer_kind", EV_ERR_ARGUMENT, "i = 99, out of range",
      ev_model_layer_kind(*m, 99, &name));
  BAD("ev_model_layer_kind", EV_ERR_ARGUMENT, "kind NULL",
      ev_model_layer_kind(*m, 0, NULL));
}

static void extractor_rows(ev_model *m) {
  ev_extractor *ex = NULL;
  double v;
  size_t cols, dims[8], nd;
  float x[64] = {0}, o0[64], o1[64];
  float *outs[2] = {o0, o1};
  size_t ld[2] = {8, 3}, ld_small[2] = {8, 2};
  BAD("ev_extractor_create", EV_ERR_ARGUMENT, "model NULL",
      ev_extractor_create(NULL, &ex));
  BAD("ev_extractor_create", EV_ERR_ARGUMENT, "out NULL",
      ev_extractor_create(m, NULL));
  ev_extractor_create(m, &ex);
  BAD("ev_extractor_set", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_extractor_set(ex, 999, 1));
  BAD("ev_extractor_set", EV_ERR_ARGUMENT, "EV_EXTRACT_BATCH_SIZE = 0",
      ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, 0));
  BAD("ev_extractor_set", EV_ERR_ARGUMENT, "EV_EXTRACT_POOL = 2",
      ev_extractor_set(ex, EV_EXTRACT_POOL, 2));
  BAD("ev_extractor_get", EV_ERR_ARGUMENT, "value NULL",
      ev_extractor_get(ex, EV_EXTRACT_POOL, NULL));
  BAD("ev_extractor_param_bounds", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_extractor_param_bounds(999, &v, &v));
  BAD("ev_extractor_param_default", EV_ERR_ARGUMENT, "unknown setting 999",
      ev_extractor_param_default(999, &v));
  BAD("ev_extractor_param_default", EV_ERR_ARGUMENT, "value NULL",
      ev_extractor_param_default(EV_EXTRACT_POOL, NULL));
  BAD("ev_extractor_set_progress", EV_ERR_ARGUMENT, "handle NULL",
      ev_extractor_set_progress(NULL, NULL, NULL));
  BAD("ev_extractor_prepare", EV_ERR_STATE, "no layer added",
      ev_extractor_prepare(ex, 1, 4, 4));
  BAD("ev_extractor_run", EV_ERR_STATE, "no layer added",
      ev_extractor_run(ex, x, 2, 1, 4, 4, 16, outs, ld));
  BAD("ev_extractor_add_layer", EV_ERR_ARGUMENT, "name NULL",
      ev_extractor_add_layer(ex, NULL));
  BAD("ev_extractor_add_layer", EV_ERR_NOT_FOUND, "\"layer9\" (no such layer)",
      ev_extractor_add_layer(ex, "layer9"));
  BAD("ev_extractor_add_layer", EV_ERR_NOT_FOUND, "\"conv2:input\" (no such module)",
      ev_extractor_add_layer(ex, "conv2:input"));
  BAD("ev_extractor_add_layer", EV_ERR_NOT_FOUND, "\"softmax:input\" (not a module)",
      ev_extractor_add_layer(ex, "softmax:input"));
  ev_extractor_add_layer(ex, "conv");
  ev_extractor_add_layer(ex, "fc");
  BAD("ev_extractor_add_layer", EV_ERR_ARGUMENT, "\"conv\" added twice",
      ev_extractor_add_layer(ex, "conv"));
  BAD("ev_extractor_n_layers", EV_ERR_ARGUMENT, "n NULL",
      ev_extractor_n_layers(ex, NULL));
  BAD("ev_extractor_layer_cols", EV_ERR_STATE, "before prepare or a run",
      ev_extractor_layer_cols(ex, 0, &cols));
  BAD("ev_extractor_layer_shape", EV_ERR_STATE, "before prepare or a run",
      ev_extractor_layer_shape(ex, 0, dims, &nd));
  BAD("ev_extractor_prepare", EV_ERR_ARGUMENT, "c = 0",
      ev_extractor_prepare(ex, 0, 4, 4));
  BAD("ev_extractor_prepare", EV_ERR_ARGUMENT, "3 channels, model wants 1",
      ev_extractor_prepare(ex, 3, 4, 4));
  BAD("ev_extractor_prepare", EV_ERR_ARGUMENT, "5 x 5 inputs, fc wants 8",
      ev_extractor_prepare(ex, 1, 5, 5));
  ev_extractor_prepare(ex, 1, 4, 4);
  BAD("ev_extractor_layer_cols", EV_ERR_ARGUMENT, "layer 2 of 2",
      ev_extractor_layer_cols(ex, 2, &cols));
  BAD("ev_extractor_layer_shape", EV_ERR_ARGUMENT, "layer 2 of 2",
      ev_extractor_layer_shape(ex, 2, dims, &nd));
  BAD("ev_extractor_run", EV_ERR_ARGUMENT, "x NULL",
      ev_extractor_run(ex, NULL, 2, 1, 4, 4, 16, outs, ld));
  BAD("ev_extractor_run", EV_ERR_ARGUMENT, "n = 0",
      ev_extractor_run(ex, x, 0, 1, 4, 4, 16, outs, ld));
  BAD("ev_extractor_run", EV_ERR_ARGUMENT, "ldx = 15 < c*h*w = 16",
      ev_extractor_run(ex, x, 2, 1, 4, 4, 15, outs, ld));
  BAD("ev_extractor_run", EV_ERR_ARGUMENT, "out NULL",
      ev_extractor_run(ex, x, 2, 1, 4, 4, 16, NULL, ld));
  BAD("ev_extractor_run", EV_ERR_ARGUMENT, "ld[1] = 2 < 3 columns",
      ev_extractor_run(ex, x, 2, 1, 4, 4, 16, outs, ld_small));
  BAD("ev_extractor_run", EV_ERR_ARGUMENT, "2 x 4 x 4 inputs, model wants 1",
      ev_extractor_run(ex, x, 2, 2, 4, 4, 32, outs, ld));
  x[17] = NAN;
  BAD("ev_extractor_run", EV_ERR_NONFINITE, "NaN in x",
      ev_extractor_run(ex, x, 2, 1, 4, 4, 16, outs, ld));
  ev_dataset *ds = NULL;
  ev_dataset_from_idx(FIX("images_3x4x5.idx"), NULL, &ds);
  BAD("ev_extractor_run_dataset", EV_ERR_ARGUMENT, "ds NULL",
      ev_extractor_run_dataset(ex, NULL, outs, ld));
  BAD("ev_extractor_run_dataset", EV_ERR_ARGUMENT,
      "items of 1 x 4 x 5, model wants 1 x 4 x 4",
      ev_extractor_run_dataset(ex, ds, outs, ld));
  ev_dataset_free(ds);
  ev_extractor_free(ex);
}

static void extract_rows(void) {
  section = "Feature extraction (embedviz/extract.h)";
  TU_REQUIRE(ev_extract_available(), "test_bad_inputs.extraction", "libtorch",
             "this build has no libtorch (build with WITH_TORCH=1 and python3-torch installed)");
  ev_model *m = NULL;
  model_rows(&m);
  extractor_rows(m);
  ev_model_free(m);
}

/* ---- the table as Markdown ---------------------------------------------- */

/* Public calls without a failing input: they return a value, not a status
 * (the accessors give 0 or NULL for a NULL handle or an index out of
 * range), or release a handle (NULL is a no-op). */
static const char *const no_status[] = {
    "ev_version_number", "ev_version_string", "ev_status_name",
    "ev_last_error", "ev_last_status", "ev_clear_error", "ev_default_threads",
    "ev_extract_available", "ev_cuda_available", "ev_model_free",
    "ev_extractor_free", "ev_ridge_free", "ev_array_free", "ev_array_dtype", "ev_array_ndim",
    "ev_array_dim", "ev_array_size", "ev_array_data", "ev_dataset_free",
    "ev_dataset_class_name", "ev_dataset_item_path",
    "ev_dataset_skipped_count", "ev_dataset_skipped_path",
    "ev_dataset_skipped_reason", "ev_knn_free", "ev_pca_free", "ev_tsne_free",
};
#define N_NO_STATUS (sizeof no_status / sizeof *no_status)

static void md_escape(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '|') fputs("\\|", f);
    else if (*s == '\n') fputc(' ', f);
    else fputc(*s, f);
  }
}

static void markdown(FILE *f) {
  fputs("# Errors: every bad input we tried\n\n"
        "Generated by `make errors-table` from tests/test_bad_inputs.c, which\n"
        "calls every public call with each bad input below and checks the\n"
        "status; the test also checks that this file is up to date. Do not\n"
        "edit it by hand. `<tmp>` is the test's temporary folder;\n"
        "`tests/data/io/` holds the committed bad files. Every message says\n"
        "what was wrong and what to do; `ev_last_error()` returns it and\n"
        "`ev_last_status()` the status (embedviz/core.h). The Python\n"
        "bindings' and the `embedviz` tool's messages for the same inputs\n"
        "are in [errors-python-cli.md](errors-python-cli.md).\n"
        "\n"
        "Writes never cost the file that was there: the library writes a\n"
        "temporary file beside the target, checks every write, fsyncs and\n"
        "closes it, then renames it over the target; on any failure only the\n"
        "temporary file is removed, and a target that is not a regular file\n"
        "(a device such as /dev/full, a FIFO, a folder) is refused untouched.\n"
        "Readers refuse anything but a regular file before reading a byte.\n"
        "\n"
        "Accepted on purpose at the edges (tests/test_degenerate.c,\n"
        "tests/test_tsne.c): constant data give a PCA with zero variances and\n"
        "ratios, and whitening gives 0 for every component without variance\n"
        "(one whose singular value is at most max(n, d) FLT_EPSILON times the\n"
        "largest, e.g. the second of two rows); t-SNE of constant or\n"
        "duplicated rows gives a finite map (random start when PCA finds no\n"
        "direction); t-SNE of data without structure runs its iterations\n"
        "(the stopping rules are scikit-learn's, docs/tsne.md). Messages\n"
        "longer than 1,023 characters end at a word with \"...\".\n",
        f);
  const char *sec = NULL;
  for (size_t i = 0; i < n_rows; i++) {
    const row *r = &rows[i];
    if (!sec || strcmp(sec, r->section) != 0) {
      sec = r->section;
      fprintf(f, "\n## %s\n\n| Call | Bad input | Status | Message |\n"
                 "|---|---|---|---|\n", sec);
    }
    fprintf(f, "| `%s` | ", r->call);
    md_escape(f, r->input);
    fprintf(f, " | `%s` | ", ev_status_name(r->got));
    md_escape(f, r->message);
    fputs(" |\n", f);
  }
  fputs("\n## Calls without a status\n\nThese return a value, not a status "
        "(accessors give 0 or NULL for a NULL\nhandle or an index out of "
        "range), or release a handle (NULL is a no-op):\n\n", f);
  for (size_t i = 0; i < N_NO_STATUS; i++)
    fprintf(f, "%s`%s`", i ? ", " : "", no_status[i]);
  fputs(".\n", f);
}

static void collect(void) {
  n_rows = 0;
  pca_rows();
  knn_rows();
  score_rows();
  tsne_rows();
  io_rows();
  write_and_special_file_rows();
  edge_numerics_rows();
  explain_rows();
  extract_rows();
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(every_bad_input_gets_its_status) {
  char report[8192] = "";
  size_t bad = 0, o = 0;
  for (size_t i = 0; i < n_rows; i++) {
    const row *r = &rows[i];
    if (r->got == r->expected) continue;
    bad++;
    if (o < sizeof report - 400)
      o += (size_t)snprintf(report + o, sizeof report - o,
                            "\n%s (%s): %s, expected %s: %s", r->call,
                            r->input, ev_status_name(r->got),
                            ev_status_name(r->expected), r->message);
  }
  ck_assert_msg(bad == 0, "%zu of %zu rows differ:%s", bad, n_rows, report);
  ck_assert_msg(n_rows > 200, "only %zu rows", n_rows);
}
END_TEST

/* Verbs that tell the reader what to do; a message without one only says
 * what was wrong. */
static const char *const advice[] = {
    "pass",  "use",   "call",    "check",   "set",     "give",  "ask",
    "remove", "save", "convert", "download", "make",   "rebuild", "add",
    "see",   "compute", "impute", "reduce", "raise",   "lower",
    "replace", "write", "reshape", "copy", "scale", "rescale",
    "standardise", "install", "free", "load", "choose", "keep"};
/* Words that state what is required instead. */
static const char *const requirement[] = {"must", "needs", "need"};
/* Where an order can start: the message's start or one of these before. */
static const char *const clause_start[] = {": ", "; ", ", ", "(", " or ",
                                           " and ", " then ", " to "};

/* `w` as a whole word at p (any case): "because" is not "use". */
static int word_at(const char *p, const char *w) {
  size_t n = strlen(w);
  return strncasecmp(p, w, n) == 0 && !isalpha((unsigned char)p[n]);
}

/* A message says what to do when it states the requirement ("... must be
 * in [0, 1]", "... needs at least 2") or gives an order: an advice verb
 * starting a clause ("...: pass a larger buffer"). Whole words only, and
 * an advice word inside a phrase is no order: "offset" is not "set", and
 * neither is "data set". */
static int gives_advice(const char *msg) {
  for (const char *p = msg; *p; p++) {
    if (p > msg && isalpha((unsigned char)p[-1])) continue;
    for (size_t i = 0; i < sizeof requirement / sizeof *requirement; i++)
      if (word_at(p, requirement[i])) return 1;
    int starts_clause = p == msg;
    for (size_t i = 0; i < sizeof clause_start / sizeof *clause_start; i++) {
      size_t k = strlen(clause_start[i]);
      if ((size_t)(p - msg) >= k && !strncmp(p - k, clause_start[i], k))
        starts_clause = 1;
    }
    if (!starts_clause) continue;
    for (size_t i = 0; i < sizeof advice / sizeof *advice; i++)
      if (word_at(p, advice[i])) return 1;
  }
  return 0;
}

START_TEST(every_message_says_what_to_do) {
  for (size_t i = 0; i < n_rows; i++) {
    const row *r = &rows[i];
    ck_assert_msg(strlen(r->message) >= 30, "%s (%s): message \"%s\" is too "
                  "short to say what was wrong and what to do", r->call,
                  r->input, r->message);
    ck_assert_msg(gives_advice(r->message), "%s (%s): message \"%s\" does "
                  "not say what to do", r->call, r->input, r->message);
  }
}
END_TEST

/* The rule itself, on messages written to pass or fail it: words inside
 * other words ("because", "offset", "misused"), an advice word inside a
 * phrase ("data set", "the use of") and a message that only says what was
 * wrong must not count as advice. */
START_TEST(the_advice_rule_can_say_no) {
  static const char *const no[] = {
      "the file could not be read because it is truncated",
      "the offset 12 is past the end of the data set",
      "the array was misused: its width is wrong",
      "the data set has 3 rows, the use of 2 was expected",
      "the index was built for the cosine metric",
      ""};
  static const char *const yes[] = {
      "k is 0; pass a positive number of neighbours",
      "the image is too large: use a smaller one",
      "perplexity must be below the number of rows",
      "the model needs 3 channels",
      "Rebuild the index with ev_knn_build",
      "the index changed (call ev_knn_build again)"};
  for (size_t i = 0; i < sizeof no / sizeof *no; i++)
    ck_assert_msg(!gives_advice(no[i]), "\"%s\" counted as advice", no[i]);
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
    ck_assert_msg(gives_advice(yes[i]), "\"%s\" not counted as advice",
                  yes[i]);
}
END_TEST

static int in_table(const char *name) {
  for (size_t i = 0; i < n_rows; i++)
    if (strcmp(rows[i].call, name) == 0) return 1;
  for (size_t i = 0; i < N_NO_STATUS; i++)
    if (strcmp(no_status[i], name) == 0) return 1;
  return 0;
}

/* Every EV_API function of the headers in include/embedviz has rows (or is listed as
 * having no status), so a new call cannot be forgotten. */
START_TEST(every_public_call_is_in_the_table) {
  static const char *const headers[] = {"core", "pca", "knn", "score",
                                        "tsne", "io", "extract", "explain"};
  size_t found = 0;
  for (size_t h = 0; h < sizeof headers / sizeof *headers; h++) {
    char path[256], line[512];
    snprintf(path, sizeof path, "include/embedviz/%s.h", headers[h]);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s (run from the source tree)",
                  path);
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "EV_API ", 7) != 0) continue;
      char *paren = strchr(line, '(');
      if (!paren) continue;
      char *start = paren;
      while (start > line && (start[-1] == '_' || (start[-1] >= 'a' &&
             start[-1] <= 'z') || (start[-1] >= '0' && start[-1] <= '9')))
        start--;
      *paren = '\0';
      found++;
      if (strncmp(start, "ev_extract", 10) == 0 ||
          strncmp(start, "ev_model", 8) == 0)
        if (!ev_extract_available()) continue;
      ck_assert_msg(in_table(start), "%s (%s) has no bad-input rows", start,
                    path);
    }
    fclose(f);
  }
  ck_assert_msg(found > 90, "found only %zu public calls", found);
}
END_TEST

START_TEST(docs_errors_md_is_up_to_date) {
  /* the table is of a libtorch build */
  TU_REQUIRE(ev_extract_available(), "test_bad_inputs.docs_errors_md",
             "libtorch", "this build has no libtorch (build with WITH_TORCH=1 and python3-torch installed)");
  char *made = NULL, *doc = NULL;
  size_t made_len = 0;
  FILE *m = open_memstream(&made, &made_len);
  markdown(m);
  fclose(m);
  FILE *f = fopen("docs/errors.md", "rb");
  ck_assert_msg(f != NULL, "docs/errors.md is missing: run make errors-table");
  doc = calloc(1, made_len + 2);
  size_t got = fread(doc, 1, made_len + 1, f);
  fclose(f);
  int same = got == made_len && memcmp(doc, made, made_len) == 0;
  size_t at = 0;
  while (at < got && at < made_len && doc[at] == made[at]) at++;
  free(doc);
  free(made);
  ck_assert_msg(same, "docs/errors.md differs from the library's messages "
                "from byte %zu: run make errors-table and commit it", at);
}
END_TEST

static void remove_tmp(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(int argc, char **argv) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ev_bad_XXXXXX");
  if (!mkdtemp(tmpdir)) return 1;
  if (!ev_extract_available())
    fprintf(stderr, "test_bad_inputs: extraction rows skipped, no libtorch "
            "backend: %s\n", ev_last_error());
  else if (!make_models()) {
    fprintf(stderr, "test_bad_inputs: cannot make the test model "
            "(needs /usr/bin/python3 with torch)\n");
    remove_tmp();
    return 1;
  }
  collect();
  remove_tmp();
  if (argc > 1 && strcmp(argv[1], "--markdown") == 0) {
    markdown(stdout);
    return 0;
  }
  Suite *s = suite_create("bad_inputs");
  TCase *tc = tcase_create("bad_inputs");
  /* The first extraction call loads the backend module and libtorch
   * (about 290 shared objects): seconds on a loaded machine, beyond
   * Check's default 4 s. */
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, every_bad_input_gets_its_status);
  tcase_add_test(tc, every_message_says_what_to_do);
  tcase_add_test(tc, the_advice_rule_can_say_no);
  tcase_add_test(tc, every_public_call_is_in_the_table);
  tcase_add_test(tc, docs_errors_md_is_up_to_date);
  suite_add_tcase(s, tc);
  return tu_run(s) ? 1 : 0;
}
