/* ev_umap_fit, ev_umap_fit_knn and ev_umap_transform: neighbours, fuzzy
 * graph, start, SGD, as umap-learn 0.5's fit and transform. */
#include <math.h>
#include <string.h>

#include "umap/umap_internal.h"

#define SMALL_N 10000 /* umap-learn: 500 epochs up to here, 200 above */
/* EV_UMAP_KNN_METHOD AUTO: NN-descent when the exact search's n^2 d
 * multiply-adds reach AUTO_APPROXIMATE_WORK x (k / 15)^2 for k =
 * max(n_neighbors, 15), the exact search below. The exact search costs n^2 d
 * whatever k; NN-descent for lists of k about n k^2 d. Measured for
 * n_neighbors 15 (CPU seconds, 2 threads, Fashion-MNIST, docs/umap.md): at
 * 50 columns exact 0.96 / NN-descent 1.24 at 20,000 rows (n^2 d = 2e10),
 * 2.84 / 2.18 at 30,000 (4.5e10), 11.7 / 5.9 at 70,000; at 784 columns
 * 0.47 / 0.60 at 3,000 (7e9), 1.23 / 1.16 at 6,000 (2.8e10); NN-descent's
 * lists (recall 0.995 at 70,000 x 50) gave maps as trustworthy as the
 * exact ones. For k = 90 the threshold is 1.1e12, where the exact graph of
 * 70,000 x 50 (2.5e11) is the cheaper one (docs/knn.md). umap-learn:
 * NN-descent from 4,096 rows. */
#define AUTO_APPROXIMATE_WORK 3e10
/* Up to this many graph components take umap-learn's places, from a dense
 * components x components affinity of their centroids (1,024: an 8 MB
 * matrix); more take places from a UMAP map of the centroids (places.c):
 * the dense matrix would be 78 GB for the 70,000 components of the
 * 1,000,000-row test set, where umap-learn's multi_component_layout fails.
 * Without input rows (ev_umap_fit_knn) they take the random start. */
#define MAX_COMPONENT_PLACES 1024

/* ---- checks, all before any work ---- */

static ev_status check_plan(const ev_umap *u, size_t n, size_t k) {
  if (n > UINT32_MAX / 2)
    return ev__fail(EV_ERR_ARGUMENT,
                    "UMAP takes up to %u points, got %zu: embed a sample",
                    UINT32_MAX / 2, n);
  if (n < k + 1)
    return ev__fail(EV_ERR_ARGUMENT,
                    "UMAP with n_neighbors %zu needs at least %zu points, got "
                    "%zu: lower EV_UMAP_N_NEIGHBORS to at most %zu",
                    k, k + 1, n, n > 2 ? n - 1 : 2);
  double md = u->param[EV_UMAP_MIN_DIST], sp = u->param[EV_UMAP_SPREAD];
  if (md > sp)
    return ev__fail(EV_ERR_ARGUMENT,
                    "min_dist %g is larger than spread %g: lower "
                    "EV_UMAP_MIN_DIST or raise EV_UMAP_SPREAD",
                    md, sp);
  size_t dims = (size_t)u->param[EV_UMAP_N_COMPONENTS];
  if ((int)u->param[EV_UMAP_INIT] == EV_UMAP_INIT_GIVEN &&
      (!u->given || u->given_n != n || u->given_dims != dims))
    return ev__fail(EV_ERR_ARGUMENT,
                    "EV_UMAP_INIT_GIVEN needs a %zu x %zu map from "
                    "ev_umap_set_init, have %zu x %zu: set one of that size",
                    n, dims, u->given ? u->given_n : 0,
                    u->given ? u->given_dims : 0);
  return EV_OK;
}

static size_t fit_epochs(const ev_umap *u, size_t n) {
  size_t e = (size_t)u->param[EV_UMAP_N_EPOCHS];
  return e ? e : (n <= SMALL_N ? 500 : 200);
}

double ev__umap_knn_method(const ev_umap *u, size_t n, size_t d) {
  double m = u->param[EV_UMAP_KNN_METHOD];
  if (m != EV_KNN_METHOD_AUTO) return m;
  double k = u->param[EV_UMAP_N_NEIGHBORS] / 15.0;
  if (k < 1.0) k = 1.0;
  return (double)n * (double)n * (double)d >= AUTO_APPROXIMATE_WORK * k * k
             ? EV_KNN_METHOD_APPROXIMATE
             : EV_KNN_METHOD_EXACT;
}

/* The approximate index's NN-descent lists hold n_neighbors rows (the
 * index's default is 24), so the fit's self query of n_neighbors - 1 reads
 * them, as umap-learn's NN-descent runs for n_neighbors: at 70,000 x 50
 * the build took 8.7 instead of 11.6 CPU seconds, 99.5 % of the exact
 * lists kept (docs/umap.md). The index's bounds are [4, 256]. */
static double graph_degree(size_t k) {
  return k < 4 ? 4.0 : k > 256 ? 256.0 : (double)k;
}

static ev_status curve(const ev_umap *u, double *a, double *b) {
  if (u->param[EV_UMAP_A] > 0.0 && u->param[EV_UMAP_B] > 0.0) {
    *a = u->param[EV_UMAP_A], *b = u->param[EV_UMAP_B];
    return EV_OK;
  }
  return ev__umap_find_ab(u->param[EV_UMAP_SPREAD], u->param[EV_UMAP_MIN_DIST],
                          a, b);
}

/* ---- the start ---- */

static void init_random(double *y, size_t count, uint64_t seed) {
  for (size_t e = 0; e < count; e++) {
    uint64_t h = ev__hash3(seed, 0x7a4d, e, 0);
    y[e] = -10.0 + 20.0 * (double)(h >> 11) * 0x1.0p-53;
  }
}

/* Each column to [0, 10], as umap-learn 0.5 does after every start. */
static void rescale(double *y, size_t n, size_t dims) {
  for (size_t c = 0; c < dims; c++) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
      lo = fmin(lo, y[i * dims + c]);
      hi = fmax(hi, y[i * dims + c]);
    }
    if (!(hi > lo)) continue;
    for (size_t i = 0; i < n; i++)
      y[i * dims + c] = 10.0 * (y[i * dims + c] - lo) / (hi - lo);
  }
}

/* A start of k > MAX_COMPONENT_PLACES components from [0, 10] to
 * [0, 4 sqrt(k)] per column, about 16 units^2 per component. Nothing pulls
 * components together, so in [0, 10] the epochs spend themselves pushing
 * crowded components apart (70,000 of them are 0.04 apart there), which
 * shuffles neighbouring ones: on a 100,000-row set of 7,000 Fashion-MNIST
 * rows x 14-15 noisy copies (bench/make_million.py) the start's
 * trustworthiness was 0.99 and the map's 0.74; spread out to
 * [0, c sqrt(k)] the map kept 0.86, 0.93, 0.96 and 0.98 for c = 0.5, 1, 2
 * and 4. umap-learn rescales every start to [0, 10], but has no start for
 * so many components (docs/umap.md). */
static void spread_out(double *y, size_t count, size_t k) {
  double f = 4.0 * sqrt((double)k) / 10.0;
  for (size_t e = 0; e < count; e++) y[e] *= f;
}

static ev_status initialise(ev_umap *u, const ev__umap_graph *g,
                            const uint32_t *labels, size_t n_components,
                            const ev__umap_rows *rows, double *y, size_t dims,
                            int *used) {
  size_t n = g->n;
  uint64_t seed = (uint64_t)u->param[EV_UMAP_RANDOM_STATE];
  int init = (int)u->param[EV_UMAP_INIT];
  *used = init;
  u->n_random_components = 0;
  if (init == EV_UMAP_INIT_GIVEN) {
    for (size_t e = 0; e < n * dims; e++) y[e] = u->given[e];
  } else if (init == EV_UMAP_INIT_SPECTRAL) {
    size_t spread = 0;
    ev_status st;
    if (n_components == 1)
      st = ev__umap_spectral(g, dims, seed, y, u->progress, u->progress_user);
    else if (n_components <= MAX_COMPONENT_PLACES)
      st = ev__umap_spectral_components(g, labels, n_components, rows, dims,
                                        seed, y, u->progress, u->progress_user,
                                        &spread, NULL);
    else
      st = ev__umap_many_components(u, g, labels, n_components, rows, dims,
                                    seed, y, &spread);
    if (st == EV_ERR_CANCELLED || st == EV_ERR_NOMEM ||
        st == EV_ERR_OVERFLOW)
      return st;
    if (st) { /* as umap-learn on ArpackError */
      *used = EV_UMAP_INIT_RANDOM;
      if (n_components > MAX_COMPONENT_PLACES)
        u->n_random_components = n_components;
    } else {
      u->n_random_components = spread;
    }
  } else {
    *used = EV_UMAP_INIT_RANDOM;
  }
  if (*used == EV_UMAP_INIT_RANDOM) init_random(y, n * dims, seed);
  rescale(y, n, dims);
  if (init == EV_UMAP_INIT_SPECTRAL && *used == EV_UMAP_INIT_SPECTRAL &&
      n_components > MAX_COMPONENT_PLACES)
    spread_out(y, n * dims, n_components);
  return EV_OK;
}

/* ---- the fit from neighbour lists (n x k, self normally first) ---- */

static ev_status copy_graph(const ev__umap_graph *g, ev__umap_graph *out) {
  size_t nnz = g->row_ptr[g->n];
  memset(out, 0, sizeof *out);
  out->n = g->n, out->cols = g->cols;
  out->row_ptr = ev__malloc((g->n + 1) * sizeof *out->row_ptr);
  out->col = ev__malloc((nnz ? nnz : 1) * sizeof *out->col);
  out->val = ev__malloc((nnz ? nnz : 1) * sizeof *out->val);
  if (!out->row_ptr || !out->col || !out->val) {
    ev__umap_graph_free(out);
    return ev__nomem("UMAP graph copy", nnz * 12);
  }
  memcpy(out->row_ptr, g->row_ptr, (g->n + 1) * sizeof *out->row_ptr);
  memcpy(out->col, g->col, nnz * sizeof *out->col);
  memcpy(out->val, g->val, nnz * sizeof *out->val);
  return EV_OK;
}

typedef struct result {
  ev__umap_graph graph, pruned;
  double *y;
  float *yf;
  uint32_t *labels;
  double *sigma, *rho;
} result;

static void result_free(result *r) {
  ev__umap_graph_free(&r->graph);
  ev__umap_graph_free(&r->pruned);
  ev__free(r->y), ev__free(r->yf), ev__free(r->labels);
  ev__free(r->sigma), ev__free(r->rho);
}

static ev_status embed_lists(ev_umap *u, const int64_t *idx, const float *dist,
                             size_t n, size_t k, size_t d, ev_knn *index,
                             const ev__umap_rows *rows) {
  size_t dims = (size_t)u->param[EV_UMAP_N_COMPONENTS], bytes;
  result r = {0};
  ev__umap_graph a = {0};
  ev_status st = ev__bytes("UMAP map", n, dims, sizeof(double), &bytes);
  if (st) return st;
  r.y = ev__malloc(bytes);
  r.yf = ev__malloc(n * dims * sizeof *r.yf);
  r.labels = ev__malloc(2 * n * sizeof *r.labels);
  r.sigma = ev__malloc(n * sizeof *r.sigma);
  r.rho = ev__malloc(n * sizeof *r.rho);
  if (!r.y || !r.yf || !r.labels || !r.sigma || !r.rho) {
    st = ev__nomem("UMAP map", bytes * 2 + n * 24);
    goto done;
  }
  ev__umap_smooth_knn_dist(dist, n, k, u->param[EV_UMAP_LOCAL_CONNECTIVITY],
                           r.sigma, r.rho);
  if ((st = ev__umap_membership(idx, dist, n, k, n, r.sigma, r.rho, 1, &a)) ||
      (st = ev__umap_fuzzy_union(&a, u->param[EV_UMAP_SET_OP_MIX_RATIO],
                                 &r.graph)) ||
      (st = ev__progress(u->progress, u->progress_user, EV_STAGE_AFFINITIES,
                         n, n, NAN)))
    goto done;
  if (r.graph.row_ptr[n] == 0) {
    st = ev__fail(EV_ERR_ARGUMENT,
                  "the fuzzy graph has no edges (set_op_mix_ratio %g keeps "
                  "only mutual neighbours and there are none): raise "
                  "EV_UMAP_SET_OP_MIX_RATIO",
                  u->param[EV_UMAP_SET_OP_MIX_RATIO]);
    goto done;
  }
  /* components of the pruned graph, the one the start lays out (as
   * umap-learn's spectral_layout) */
  size_t n_comp;
  size_t n_epochs = fit_epochs(u, n);
  double ca, cb;
  if ((st = curve(u, &ca, &cb))) goto done;
  if ((st = copy_graph(&r.graph, &r.pruned))) goto done;
  /* umap-learn prunes at max / n_epochs, or at max / its default epochs
   * when n_epochs is 10 or fewer */
  ev__umap_prune(&r.pruned, n_epochs > 10 ? n_epochs
                                          : (n <= SMALL_N ? 500 : 200));
  n_comp = ev__umap_components(&r.pruned, r.labels, r.labels + n);
  int used;
  if ((st = initialise(u, &r.pruned, r.labels, n_comp, rows, r.y, dims,
                       &used)))
    goto done;
  ev__umap_sgd o = {.a = ca, .b = cb,
                    .gamma = u->param[EV_UMAP_REPULSION_STRENGTH],
                    .alpha = u->param[EV_UMAP_LEARNING_RATE],
                    .negative_rate = u->param[EV_UMAP_NEGATIVE_SAMPLE_RATE],
                    .n_epochs = n_epochs, .dims = dims,
                    .seed = (uint64_t)u->param[EV_UMAP_RANDOM_STATE],
                    .move_other = 1};
  size_t ran = 0;
  for (size_t e = 0; e < n * dims; e++) r.yf[e] = (float)r.y[e];
  if ((st = ev__umap_optimize(&r.pruned, r.yf, NULL, &o, u->progress,
                              u->progress_user, &ran)))
    goto done;
  /* keep the result */
  ev__free(u->y);
  ev__umap_graph_free(&u->graph);
  ev_knn_free(u->index);
  u->y = r.yf, r.yf = NULL;
  u->graph = r.graph, memset(&r.graph, 0, sizeof r.graph);
  u->index = index;
  index = NULL;
  u->n = n, u->d = d, u->k = k, u->dims = dims, u->epochs_run = ran;
  u->n_edges = r.pruned.row_ptr[n];
  u->n_graph_components = n_comp;
  u->init_used = used;
  u->a = ca, u->b = cb;
  u->fitted = 1;
done:
  ev__umap_graph_free(&a);
  result_free(&r);
  ev_knn_free(index);
  return st;
}

/* ---- public fits ---- */

static ev_status fit_rows(ev_umap *u, const float *x, size_t n, size_t d,
                          size_t ld, size_t k) {
  size_t bytes;
  ev_status st = ev__bytes("UMAP neighbour lists", n, k, 12, &bytes);
  if (st) return st;
  ev_knn *index = NULL;
  int64_t *idx = ev__malloc(n * k * sizeof *idx);
  float *dist = ev__malloc(n * k * sizeof *dist);
  if (!idx || !dist) {
    st = ev__nomem("UMAP neighbour lists", bytes);
    goto done;
  }
  int metric = (int)u->param[EV_UMAP_METRIC];
  if (!(st = ev_knn_create(&index)) &&
      !(st = ev_knn_set(index, EV_KNN_METRIC, metric)) &&
      !(st = ev_knn_set(index, EV_KNN_MINKOWSKI_P,
                        u->param[EV_UMAP_MINKOWSKI_P])) &&
      !(st = ev_knn_set(index, EV_KNN_THREADS, u->param[EV_UMAP_THREADS])) &&
      !(st = ev_knn_set(index, EV_KNN_METHOD, ev__umap_knn_method(u, n, d))) &&
      !(st = ev_knn_set(index, EV_KNN_GRAPH_DEGREE, graph_degree(k))) &&
      !(st = ev_knn_set(index, EV_KNN_SEED, u->param[EV_UMAP_RANDOM_STATE])) &&
      !(st = ev_knn_set_progress(index, u->progress, u->progress_user)) &&
      !(st = ev_knn_build(index, x, n, d, ld)))
    /* the k - 1 nearest others after the row itself, as umap-learn */
    st = ev_knn_query_self(index, k - 1, idx + 1, k, dist + 1, k);
  if (st) goto done;
  for (size_t i = 0; i < n; i++) idx[i * k] = (int64_t)i, dist[i * k] = 0.0f;
  ev__umap_rows rows = {x, d, ld, metric, u->param[EV_UMAP_MINKOWSKI_P]};
  st = embed_lists(u, idx, dist, n, k, d, index, &rows);
  index = NULL; /* embed_lists keeps or frees it */
done:
  ev_knn_free(index);
  ev__free(idx);
  ev__free(dist);
  return st;
}

ev_status ev_umap_fit(ev_umap *u, const float *x, size_t n, size_t d,
                      size_t ld) {
  EV__ARG_NULL_IF(!u, "the UMAP handle", "make one with ev_umap_create");
  ev_status st = ev__check_matrix("x", x, n, d, ld);
  if (st || (st = ev__check_finite("x", x, n, d, ld))) return st;
  size_t k = (size_t)u->param[EV_UMAP_N_NEIGHBORS];
  if ((st = check_plan(u, n, k))) return st;
  ev__threads scope;
  ev__threads_begin(&scope, (int)u->param[EV_UMAP_THREADS]);
  st = fit_rows(u, x, n, d, ld, k);
  ev__threads_end(&scope);
  return st;
}

ev_status ev_umap_fit_knn(ev_umap *u, size_t n, size_t k,
                          const int64_t *indices, size_t ldi,
                          const float *distances, size_t ldd) {
  EV__ARG_NULL_IF(!u, "the UMAP handle", "make one with ev_umap_create");
  if (!indices || !distances || n == 0 || k < 2 || ldi < k || ldd < k)
    return ev__fail(EV_ERR_ARGUMENT,
                    "pass n x k neighbour indices and distances with k >= 2 "
                    "and leading dimensions >= k (got n %zu, k %zu, ldi %zu, "
                    "ldd %zu)",
                    n, k, ldi, ldd);
  ev_status st = check_plan(u, n, k);
  if (st) return st;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < k; j++) {
      int64_t c = indices[i * ldi + j];
      float v = distances[i * ldd + j];
      if (c < -1 || c >= (int64_t)n)
        return ev__fail(EV_ERR_ARGUMENT,
                        "indices[%zu][%zu] is %lld: give rows in [0, %zu) or "
                        "-1 for a missing neighbour",
                        i, j, (long long)c, n);
      if (!isfinite(v))
        return ev__fail(EV_ERR_NONFINITE,
                        "distances[%zu][%zu] is not finite: give finite "
                        "distances",
                        i, j);
      if (v < 0.0f)
        return ev__fail(EV_ERR_ARGUMENT,
                        "distances[%zu][%zu] is %g: distances must be >= 0", i,
                        j, (double)v);
    }
  size_t bytes;
  if ((st = ev__bytes("UMAP neighbour lists", n, k, 12, &bytes))) return st;
  int64_t *idx = ev__malloc(n * k * sizeof *idx);
  float *dist = ev__malloc(n * k * sizeof *dist);
  if (!idx || !dist) {
    ev__free(idx), ev__free(dist);
    return ev__nomem("UMAP neighbour lists", bytes);
  }
  for (size_t i = 0; i < n; i++) {
    memcpy(idx + i * k, indices + i * ldi, k * sizeof *idx);
    memcpy(dist + i * k, distances + i * ldd, k * sizeof *dist);
  }
  ev__threads scope;
  ev__threads_begin(&scope, (int)u->param[EV_UMAP_THREADS]);
  st = embed_lists(u, idx, dist, n, k, 0, NULL, NULL);
  ev__threads_end(&scope);
  ev__free(idx), ev__free(dist);
  return st;
}

ev_status ev_umap_restore(ev_umap *u, const float *x, size_t n, size_t d,
                          size_t ld, const float *y, size_t ldy) {
  EV__ARG_NULL_IF(!u, "the UMAP handle", "make one with ev_umap_create");
  size_t dims = (size_t)u->param[EV_UMAP_N_COMPONENTS];
  size_t k = (size_t)u->param[EV_UMAP_N_NEIGHBORS];
  ev_status st = ev__check_matrix("x", x, n, d, ld);
  if (st || (st = ev__check_finite("x", x, n, d, ld)) ||
      (st = ev__check_matrix("y", y, n, dims, ldy)) ||
      (st = ev__check_finite("y", y, n, dims, ldy)) ||
      (st = check_plan(u, n, k)))
    return st;
  double ca, cb;
  if ((st = curve(u, &ca, &cb))) return st;
  float *yf = ev__malloc(n * dims * sizeof *yf);
  size_t *rp = ev__calloc(n + 1, sizeof *rp);
  ev_knn *index = NULL;
  if (!yf || !rp) {
    st = ev__nomem("UMAP map", n * dims * sizeof *yf);
    goto done;
  }
  ev__threads scope;
  ev__threads_begin(&scope, (int)u->param[EV_UMAP_THREADS]);
  if (!(st = ev_knn_create(&index)) &&
      !(st = ev_knn_set(index, EV_KNN_METRIC, u->param[EV_UMAP_METRIC])) &&
      !(st = ev_knn_set(index, EV_KNN_MINKOWSKI_P,
                        u->param[EV_UMAP_MINKOWSKI_P])) &&
      !(st = ev_knn_set(index, EV_KNN_THREADS, u->param[EV_UMAP_THREADS])) &&
      !(st = ev_knn_set(index, EV_KNN_METHOD, ev__umap_knn_method(u, n, d))) &&
      !(st = ev_knn_set(index, EV_KNN_GRAPH_DEGREE, graph_degree(k))) &&
      !(st = ev_knn_set(index, EV_KNN_SEED, u->param[EV_UMAP_RANDOM_STATE])))
    st = ev_knn_build(index, x, n, d, ld);
  ev__threads_end(&scope);
  if (st) goto done;
  for (size_t i = 0; i < n; i++)
    memcpy(yf + i * dims, y + i * ldy, dims * sizeof *yf);
  ev__free(u->y);
  ev__umap_graph_free(&u->graph);
  ev_knn_free(u->index);
  u->y = yf, yf = NULL;
  u->graph.n = u->graph.cols = n;
  u->graph.row_ptr = rp, rp = NULL;
  u->index = index, index = NULL;
  (void)ev_knn_set_progress(u->index, u->progress, u->progress_user);
  u->n = n, u->d = d, u->k = k, u->dims = dims, u->epochs_run = 0;
  u->n_edges = 0, u->n_graph_components = 0;
  u->init_used = EV_UMAP_INIT_GIVEN;
  u->a = ca, u->b = cb;
  u->fitted = 1;
done:
  ev__free(yf), ev__free(rp);
  ev_knn_free(index);
  return st;
}
