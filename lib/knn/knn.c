/* The kNN index handle: settings, build and the checked public queries. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "knn_approx.h"
#include "knn_private.h"

/* The settings: X(id, lower, upper, whole number, default, field, type). */
#define KNN_SETTINGS(X)                                                   \
  X(EV_KNN_METRIC, 0, 5, true, EV_METRIC_EUCLIDEAN, metric, INT)          \
  X(EV_KNN_MINKOWSKI_P, 1, 1e6, false, 2, p, DOUBLE)                      \
  X(EV_KNN_THREADS, 0, 1024, true, 0, threads, INT)                       \
  X(EV_KNN_BLOCK_ROWS, 0, 65536, true, 0, block_rows, INT)                \
  X(EV_KNN_METHOD, 0, 2, true, EV_KNN_METHOD_AUTO, method, INT)           \
  X(EV_KNN_AUTO_ROWS, 1, 9007199254740992.0, true, EV__KNN_AUTO_ROWS,     \
    auto_rows, SIZE)                                                      \
  X(EV_KNN_SEED, 0, 9007199254740992.0, true, 0, seed, U64)               \
  X(EV_KNN_GRAPH_DEGREE, 4, 256, true, 24, degree, INT)                   \
  X(EV_KNN_N_ITERS, 0, 1000, true, 0, n_iters, INT)                       \
  X(EV_KNN_DELTA, 0, 1, false, 0.005, delta, DOUBLE)                      \
  X(EV_KNN_MAX_CANDIDATES, 0, 1024, true, 0, max_candidates, INT)         \
  X(EV_KNN_SEARCH_EF, 0, 1e6, true, 0, search_ef, INT)                    \
  X(EV_KNN_BUILT_METHOD, 0, 2, true, 0, built_method, NONE)
#define SPEC(id, lo, hi, whole, def, field, type) \
  EV__SPEC(ev_knn, field, EV__SLOT_##type, id, lo, hi, whole, def),
static const ev__param_spec knn_params[] = {KNN_SETTINGS(SPEC)};
#define N_PARAMS (sizeof knn_params / sizeof knn_params[0])
EV__SETTINGS_COVER(ev_knn_param, KNN_SETTINGS)

/* Above this |x|^2 the float expansion could overflow; below this norm the
 * cosine expansion could underflow: such data takes the direct path. */
#define GEMM_MAX_SQNORM 1e30
#define GEMM_MIN_NORM 1e-15

/* Every call on an index starts here. */
#define NEED_INDEX(ix) \
  EV__ARG_NULL_IF(!(ix), "index", "make one with ev_knn_create first")

ev_status ev_knn_create(ev_knn **out) {
  EV__ARG_NOT_NULL(out, "pass the address of an ev_knn pointer");
  *out = ev__param_new(sizeof **out, knn_params, N_PARAMS);
  if (!*out) return ev__nomem("a kNN index", sizeof **out);
  pthread_mutex_init(&(*out)->graph_lock, NULL);
  return EV_OK;
}

static void drop_reference(ev_knn *ix) {
  ev__free_aligned(ix->ref);
  ev__free(ix->colv);
  ev__free(ix->norm);
  ev__knn_graph_free(ix->graph);
  ix->graph = NULL;
  ix->ref = NULL;
  ix->colv = NULL;
  ix->norm = NULL;
  ix->n = ix->dim = 0;
}

void ev_knn_free(ev_knn *ix) {
  if (!ix) return;
  drop_reference(ix);
  pthread_mutex_destroy(&ix->graph_lock);
  ev__free(ix);
}

ev_status ev_knn_set(ev_knn *ix, ev_knn_param param, double value) {
  NEED_INDEX(ix);
  return ev__param_set(knn_params, N_PARAMS, ix, param, value, "KNN");
}

ev_status ev_knn_get(const ev_knn *ix, ev_knn_param param, double *value) {
  NEED_INDEX(ix);
  EV__ARG_NOT_NULL(value, "pass a double to fill");
  if (param == EV_KNN_BUILT_METHOD) { /* read-only */
    *value = ix->ref ? ix->built_method : EV_KNN_METHOD_AUTO;
    return EV_OK;
  }
  return ev__param_get(knn_params, N_PARAMS, ix, param, value, "KNN");
}

ev_status ev_knn_param_bounds(ev_knn_param param, double *lower,
                              double *upper) {
  return ev__param_bounds(knn_params, N_PARAMS, param, "KNN", lower, upper);
}

ev_status ev_knn_param_default(ev_knn_param param, double *value) {
  return ev__param_default(knn_params, N_PARAMS, param, "KNN", value);
}

ev_status ev_knn_set_progress(ev_knn *ix, ev_progress_fn fn, void *user) {
  NEED_INDEX(ix);
  ix->progress = fn;
  ix->progress_user = fn ? user : NULL;
  return EV_OK;
}

ev_status ev_knn_size(const ev_knn *ix, size_t *n, size_t *dim) {
  NEED_INDEX(ix);
  EV__ARG_NULL_IF(!n || !dim, "n or dim", "pass two size_t to fill");
  *n = ix->n;
  *dim = ix->dim;
  return EV_OK;
}

/* ---- build ---- */

typedef struct built {
  float *ref, *colv;
  double *norm, max_sqnorm, min_norm;
} built;

static int metric_is_l2(int metric, double p) {
  return metric == EV_METRIC_EUCLIDEAN || metric == EV_METRIC_SQEUCLIDEAN ||
         (metric == EV_METRIC_MINKOWSKI && p == 2);
}

/* Copy the rows and precompute the norms the searches need. */
static void fill_reference(const ev_knn *ix, built *b, const float *src,
                           size_t n, size_t dim, size_t ld) {
  int l2 = metric_is_l2(ix->metric, ix->p), cos = ix->metric == EV_METRIC_COSINE;
  double max_sq = 0, min_nz = INFINITY;
#pragma omp parallel for schedule(static) reduction(max : max_sq) \
    reduction(min : min_nz)
  for (size_t i = 0; i < n; i++) {
    memcpy(b->ref + i * dim, src + i * ld, dim * sizeof(float));
    double nr = ev__knn_norm(b->ref + i * dim, dim);
    b->norm[i] = nr;
    if (l2) b->colv[i] = (float)(nr * nr);
    if (cos) b->colv[i] = nr > 0 ? (float)(1.0 / nr) : 0.0f;
    if (nr * nr > max_sq) max_sq = nr * nr;
    if (nr > 0 && nr < min_nz) min_nz = nr;
  }
  b->max_sqnorm = max_sq;
  b->min_norm = min_nz;
}

/* The method a build of n rows uses: AUTO is approximate from
 * EV_KNN_AUTO_ROWS rows; a reference of one row is always exact. */
static int resolve_method(const ev_knn *ix, size_t n) {
  int m = ix->method;
  if (m == EV_KNN_METHOD_AUTO)
    m = n >= ix->auto_rows ? EV_KNN_METHOD_APPROXIMATE : EV_KNN_METHOD_EXACT;
  return n < 2 ? EV_KNN_METHOD_EXACT : m;
}

ev_status ev_knn_build(ev_knn *ix, const float *ref, size_t n, size_t dim,
                       size_t ld) {
  NEED_INDEX(ix);
  ev_status st = ev__check_matrix("ref", ref, n, dim, ld);
  if (st != EV_OK) return st;
  if (n > (size_t)INT64_MAX)
    return ev__fail(EV_ERR_OVERFLOW, "ref has %zu rows, more than int64 "
                    "indices can name: index fewer rows", n);
  if ((st = ev__check_finite("ref", ref, n, dim, ld)) != EV_OK) return st;
  size_t bytes, nbytes;
  if ((st = ev__bytes("the reference copy", n, dim, sizeof(float), &bytes)) ||
      (st = ev__bytes("the reference norms", n, 1, sizeof(double), &nbytes)))
    return st;
  int need_colv = metric_is_l2(ix->metric, ix->p) ||
                  ix->metric == EV_METRIC_COSINE;
  built b = {ev__malloc_aligned(bytes), need_colv ? ev__malloc(n * 4) : NULL,
             ev__malloc(nbytes), 0, 0};
  if (!b.ref || (need_colv && !b.colv) || !b.norm) {
    ev__free_aligned(b.ref);
    ev__free(b.colv);
    ev__free(b.norm);
    return ev__nomem("the reference copy and its norms", bytes + nbytes);
  }
  ev__threads scope;
  ev__threads_begin(&scope, ix->threads);
  fill_reference(ix, &b, ref, n, dim, ld);
  int method = resolve_method(ix, n);
  /* The approximate method's neighbour lists are made by the queries: the
   * self query runs NN-descent for its own k, the first query by new rows
   * makes the search graph (knn_approx.c). */
  if (method == EV_KNN_METHOD_APPROXIMATE && n > INT32_MAX)
    st = ev__fail(EV_ERR_LIMIT, "the approximate method indexes at most %d "
                  "rows, got %zu: set EV_KNN_METHOD to EV_KNN_METHOD_EXACT",
                  INT32_MAX, n);
  ev__threads_end(&scope);
  if (st != EV_OK) {
    ev__free_aligned(b.ref);
    ev__free(b.colv);
    ev__free(b.norm);
    return st;
  }
  drop_reference(ix);
  ix->built_method = method;
  ix->built_auto_method = ix->method;
  ix->built_auto_rows = ix->auto_rows;
  ix->built_degree = ix->degree;
  ix->ref = b.ref;
  ix->colv = b.colv;
  ix->norm = b.norm;
  ix->max_sqnorm = b.max_sqnorm;
  ix->min_norm = b.min_norm;
  ix->n = n;
  ix->dim = dim;
  ix->built_metric = ix->metric;
  ix->built_p = ix->p;
  return EV_OK;
}

/* ---- queries ---- */

static ev_status check_ready(const ev_knn *ix) {
  NEED_INDEX(ix);
  if (!ix->ref)
    return ev__fail(EV_ERR_STATE, "the index has no reference rows yet: call "
                    "ev_knn_build before querying");
  if (ix->metric != ix->built_metric ||
      (ix->metric == EV_METRIC_MINKOWSKI && ix->p != ix->built_p))
    return ev__fail(EV_ERR_STATE, "EV_KNN_METRIC or EV_KNN_MINKOWSKI_P "
                    "changed since ev_knn_build: call ev_knn_build again");
  if (ix->method != ix->built_auto_method ||
      ix->auto_rows != ix->built_auto_rows || ix->degree != ix->built_degree)
    return ev__fail(EV_ERR_STATE, "EV_KNN_METHOD, EV_KNN_AUTO_ROWS or "
                    "EV_KNN_GRAPH_DEGREE changed since ev_knn_build: call "
                    "ev_knn_build again");
  return EV_OK;
}

static ev_status check_k(const ev_knn *ix, size_t k, int self) {
  if (k == 0)
    return ev__fail(EV_ERR_ARGUMENT, "k = 0: ask for at least 1 neighbour");
  if (!self && k > ix->n)
    return ev__fail(EV_ERR_ARGUMENT, "k = %zu is larger than the %zu "
                    "reference rows: ask for at most %zu neighbours",
                    k, ix->n, ix->n);
  if (self && ix->n < 2)
    return ev__fail(EV_ERR_ARGUMENT, "a self query needs an index of at "
                    "least 2 rows (each row is left out of its own list), "
                    "this one has %zu: build the index on more rows",
                    ix->n);
  if (self && k > ix->n - 1)
    return ev__fail(EV_ERR_ARGUMENT, "k = %zu needs more than the %zu "
                    "reference rows in self mode, which leaves each row out "
                    "of its own list: ask for at most %zu neighbours",
                    k, ix->n, ix->n - 1);
  return EV_OK;
}

/* An nq x k output with leading dimension ld: non-NULL, ld >= k, and
 * addressable. */
static ev_status check_output(const char *name, const void *p, size_t nq,
                              size_t k, size_t ld, size_t elem) {
  EV__ARG_NULL_IF(!p, "%s", "pass an %zu x %zu buffer", name, nq, k);
  if (ld < k)
    return ev__fail(EV_ERR_ARGUMENT, "the leading dimension of %s is %zu, "
                    "less than k = %zu: pass ld >= k", name, ld, k);
  size_t span, bytes;
  if (!ev__mul(nq - 1, ld, &span) || !ev__add(span, k, &span) ||
      !ev__mul(span, elem, &bytes) || bytes > (size_t)PTRDIFF_MAX)
    return ev__fail(EV_ERR_OVERFLOW, "%s's size (%zu rows, leading dimension "
                    "%zu) overflows the address range: check nq and ld",
                    name, nq, ld);
  return EV_OK;
}

static ev_status check_outputs(size_t nq, size_t k, const int64_t *indices,
                               size_t ldi, const float *distances, size_t ldd) {
  ev_status st = check_output("indices", indices, nq, k, ldi, sizeof *indices);
  if (st == EV_OK && distances)
    st = check_output("distances", distances, nq, k, ldd, sizeof *distances);
  return st;
}

/* Which kernel ranks this call: the SGEMM paths when the float expansion
 * can neither overflow nor underflow, else direct loops. */
static int choose_kind(const ev_knn *ix, double q_max_sq, double q_min_norm) {
  int gemm_ok = ix->dim <= 100000 && ix->max_sqnorm < GEMM_MAX_SQNORM &&
                q_max_sq < GEMM_MAX_SQNORM;
  int kind = ev__knn_direct_kind(ix->built_metric, ix->built_p);
  if (kind == EV__KNN_L2_DIRECT && gemm_ok) return EV__KNN_L2;
  if (kind == EV__KNN_COS_DIRECT && gemm_ok &&
      ix->min_norm >= GEMM_MIN_NORM && q_min_norm >= GEMM_MIN_NORM)
    return EV__KNN_COS;
  return kind;
}

int ev__knn_direct_kind(int metric, double p) {
  if (metric_is_l2(metric, p)) return EV__KNN_L2_DIRECT;
  if (metric == EV_METRIC_COSINE) return EV__KNN_COS_DIRECT;
  if (metric == EV_METRIC_CITYBLOCK || (metric == EV_METRIC_MINKOWSKI && p == 1))
    return EV__KNN_L1;
  if (metric == EV_METRIC_CHEBYSHEV) return EV__KNN_LINF;
  return EV__KNN_LP;
}

static void query_norm_range(const float *q, size_t nq, size_t dim,
                             size_t ldq, double *max_sq, double *min_nz) {
  double mx = 0, mn = INFINITY;
#pragma omp parallel for schedule(static) reduction(max : mx) \
    reduction(min : mn)
  for (size_t i = 0; i < nq; i++) {
    double nr = ev__knn_norm(q + i * ldq, dim);
    if (nr * nr > mx) mx = nr * nr;
    if (nr > 0 && nr < mn) mn = nr;
  }
  *max_sq = mx;
  *min_nz = mn;
}

/* An approximate index answers exactly when the graph search would touch
 * most rows anyway: a query whose candidate list (ef) is at least half
 * the rows, or a self query of k >= n / 4 - 1 (docs/knn.md). */
static int use_approx(const ev_knn *ix, size_t k, int self) {
  if (ix->built_method != EV_KNN_METHOD_APPROXIMATE) return 0;
  if (self) return 4 * (k + 1) <= ix->n;
  size_t ef = ix->search_ef > 0 && (size_t)ix->search_ef > k
                  ? (size_t)ix->search_ef : k + 16 > 2 * k ? k + 16 : 2 * k;
  return 2 * ef < ix->n;
}

static ev_status run(const ev__knn_job *job, int64_t *indices, size_t ldi,
                     float *distances, size_t ldd) {
  ev__threads scope;
  ev__threads_begin(&scope, job->index->threads);
  ev_status st = ev__knn_search(job, indices, ldi, distances, ldd);
  ev__threads_end(&scope);
  return st;
}

ev_status ev_knn_query(const ev_knn *ix, const float *queries, size_t nq,
                       size_t dim, size_t ldq, size_t k, int64_t *indices,
                       size_t ldi, float *distances, size_t ldd) {
  ev_status st = check_ready(ix);
  if (st != EV_OK) return st;
  if ((st = ev__check_matrix("queries", queries, nq, dim, ldq)) != EV_OK)
    return st;
  if (dim != ix->dim)
    return ev__fail(EV_ERR_ARGUMENT, "queries have %zu columns but the index "
                    "was built on %zu: pass queries with %zu columns",
                    dim, ix->dim, ix->dim);
  if ((st = check_k(ix, k, 0)) != EV_OK ||
      (st = check_outputs(nq, k, indices, ldi, distances, ldd)) != EV_OK)
    return st;
  if ((st = ev__check_finite("queries", queries, nq, dim, ldq)) != EV_OK)
    return st;
  double q_max_sq, q_min_norm;
  ev__threads scope;
  ev__threads_begin(&scope, ix->threads);
  query_norm_range(queries, nq, dim, ldq, &q_max_sq, &q_min_norm);
  ev__threads_end(&scope);
  if (use_approx(ix, k, 0)) {
    ev__threads_begin(&scope, ix->threads);
    st = ev__knn_approx_query(ix, queries, nq, ldq, k, indices, ldi,
                              distances, ldd);
    ev__threads_end(&scope);
    return st;
  }
  int kind = choose_kind(ix, q_max_sq, q_min_norm);
  if (ldq > INT_MAX && (kind == EV__KNN_L2 || kind == EV__KNN_COS))
    kind = kind == EV__KNN_L2 ? EV__KNN_L2_DIRECT : EV__KNN_COS_DIRECT;
  ev__knn_job job = {ix, queries, nq, ldq, 0, k, kind, NULL};
  return run(&job, indices, ldi, distances, ldd);
}

ev_status ev_knn_query_self(const ev_knn *ix, size_t k, int64_t *indices,
                            size_t ldi, float *distances, size_t ldd) {
  ev_status st = check_ready(ix);
  if (st != EV_OK) return st;
  if ((st = check_k(ix, k, 1)) != EV_OK ||
      (st = check_outputs(ix->n, k, indices, ldi, distances, ldd)) != EV_OK)
    return st;
  if (use_approx(ix, k, 1)) {
    ev__threads scope;
    ev__threads_begin(&scope, ix->threads);
    st = ev__knn_approx_self(ix, k, indices, ldi, distances, ldd);
    ev__threads_end(&scope);
    return st;
  }
  int kind = choose_kind(ix, ix->max_sqnorm, ix->min_norm);
  ev__knn_job job = {ix, ix->ref, ix->n, ix->dim, 1, k, kind, NULL};
  return run(&job, indices, ldi, distances, ldd);
}

ev_status ev_knn_query_radius(const ev_knn *ix, const float *queries,
                              size_t nq, size_t dim, size_t ldq,
                              double radius, int sort, ev_array **offsets,
                              ev_array **indices, ev_array **distances) {
  ev_status st = check_ready(ix);
  if (st != EV_OK) return st;
  EV__ARG_NULL_IF(!offsets || !indices, "%s",
                  "pass the addresses of two ev_array pointers (and one for "
                  "the distances, or NULL)", !offsets ? "offsets" : "indices");
  if (!(radius >= 0) || isinf(radius))
    return ev__fail(EV_ERR_ARGUMENT, "radius is %g: pass a finite distance "
                    ">= 0", radius);
  int self = queries == NULL;
  if (!self) {
    if ((st = ev__check_matrix("queries", queries, nq, dim, ldq)) != EV_OK)
      return st;
    if (dim != ix->dim)
      return ev__fail(EV_ERR_ARGUMENT, "queries have %zu columns but the "
                      "index was built on %zu: pass queries with %zu columns",
                      dim, ix->dim, ix->dim);
    if ((st = ev__check_finite("queries", queries, nq, dim, ldq)) != EV_OK)
      return st;
  }
  double q_max_sq = ix->max_sqnorm, q_min_norm = ix->min_norm;
  ev__threads scope;
  ev__threads_begin(&scope, ix->threads);
  if (!self) query_norm_range(queries, nq, dim, ldq, &q_max_sq, &q_min_norm);
  int kind = choose_kind(ix, q_max_sq, q_min_norm);
  if (!self && ldq > INT_MAX && (kind == EV__KNN_L2 || kind == EV__KNN_COS))
    kind = kind == EV__KNN_L2 ? EV__KNN_L2_DIRECT : EV__KNN_COS_DIRECT;
  /* the radius in the ranking form: squared for the Euclidean kinds (but
   * EV_METRIC_SQEUCLIDEAN reports the square itself) */
  double r = radius;
  if ((kind == EV__KNN_L2 || kind == EV__KNN_L2_DIRECT) &&
      ix->built_metric != EV_METRIC_SQEUCLIDEAN)
    r = radius * radius;
  ev__knn_job job = {ix, self ? ix->ref : queries, self ? ix->n : nq,
                     self ? ix->dim : ldq, self, 0, kind, NULL};
  ev_array *o = NULL, *i = NULL, *d = NULL;
  st = ev__knn_radius(&job, r, sort != 0, &o, &i, distances ? &d : NULL);
  ev__threads_end(&scope);
  if (st != EV_OK) return st;
  *offsets = o;
  *indices = i;
  if (distances) *distances = d;
  return EV_OK;
}
