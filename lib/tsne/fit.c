/* ev_tsne_fit and its siblings: check the input against the settings,
 * compute the affinities, initialise, optimise, keep the result. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "embedviz/pca.h"
#include "linalg/linalg.h"
#include "tsne/sources.h"

#define AUTO_EXACT_MAX_N 1000
/* AUTO takes the FFT method for 2-D maps from this many points. Measured
 * on the 2-core machine with the FFT method's near field (docs/tsne.md):
 * the two took about the same CPU time at 20,000 points (FFT 10 % more)
 * and FFT half of Barnes-Hut's at 40,000, with a lower KL divergence at
 * both; FFT's cost grows with the map's area (about n), Barnes-Hut's as
 * n log n. Below it AUTO gives the maps it gave before 1.1. */
#define AUTO_FFT_MIN_N 30000
#define INIT_STD 1e-4

/* ---- choices and limits, all checked before any work ---- */

/* Whether the exact method's n x (n - 1) affinities (12 bytes each with
 * their workspace) fit EV_TSNE_MAX_MEMORY_MB. */
static int exact_fits(const ev_tsne *t, size_t n) {
  size_t bytes;
  return n > 0 && ev__mul3(n, n - 1, 12, &bytes) &&
         (double)bytes / 1048576.0 <= t->param[EV_TSNE_MAX_MEMORY_MB];
}

/* The method a fit uses: AUTO resolved. */
static int resolve_method(const ev_tsne *t, size_t n, size_t dims) {
  int method = (int)t->param[EV_TSNE_METHOD];
  if (method != EV_TSNE_METHOD_AUTO) return method;
  if (dims > EV__TSNE_BH_MAX_DIMS ||
      (n <= AUTO_EXACT_MAX_N && exact_fits(t, n)))
    return EV_TSNE_METHOD_EXACT;
  if (dims == 2 && n >= AUTO_FFT_MIN_N) return EV_TSNE_METHOD_FFT;
  return EV_TSNE_METHOD_BARNES_HUT;
}

/* EV_TSNE_KNN_METHOD AUTO: NN-descent when the exact search's n^2 d
 * multiply-adds reach this, the exact search below (UMAP's rule,
 * lib/umap/fit.c). 70,000 x 50 (2.5e11) stays exact: the search takes
 * seconds there; 1,000,000 x 50 (5e13) would take hours exactly. */
#define AUTO_APPROXIMATE_WORK 1e12

static int resolve_knn_method(const ev_tsne *t, size_t n, size_t d) {
  int m = (int)t->param[EV_TSNE_KNN_METHOD];
  if (m != EV_KNN_METHOD_AUTO) return m;
  return (double)n * (double)n * (double)d >= AUTO_APPROXIMATE_WORK
             ? EV_KNN_METHOD_APPROXIMATE
             : EV_KNN_METHOD_EXACT;
}

static double grid_limit_bytes(const ev_tsne *t) {
  return t->param[EV_TSNE_MAX_MEMORY_MB] * 1048576.0;
}

static ev_status check_fft(const ev_tsne *t, size_t dims) {
  if (dims > EV__TSNE_FFT_MAX_DIMS)
    return ev__fail(EV_ERR_ARGUMENT,
                    "the FFT method embeds in 1 or 2 dimensions, "
                    "EV_TSNE_N_COMPONENTS is %zu: use "
                    "EV_TSNE_METHOD_BARNES_HUT for 3 dimensions (or "
                    "EV_TSNE_METHOD_EXACT for more)",
                    dims);
  size_t pts = (size_t)t->param[EV_TSNE_FFT_INTERPOLATION_POINTS];
  size_t ints = (size_t)t->param[EV_TSNE_FFT_MIN_INTERVALS];
  double need = ev__fftgrid_min_bytes(dims, pts, ints);
  if (need > grid_limit_bytes(t))
    return ev__fail(EV_ERR_LIMIT,
                    "the FFT method's smallest grids (%zu intervals of %zu "
                    "points per axis) take %.0f MiB, more than "
                    "EV_TSNE_MAX_MEMORY_MB = %g: lower "
                    "EV_TSNE_FFT_MIN_INTERVALS or "
                    "EV_TSNE_FFT_INTERPOLATION_POINTS (or raise the limit)",
                    ints, pts, need / 1048576.0,
                    t->param[EV_TSNE_MAX_MEMORY_MB]);
  return EV_OK;
}

static ev_status check_plan(const ev_tsne *t, const ev__source *src,
                            int method, size_t dims) {
  size_t n = src->n;
  int exact = method == EV_TSNE_METHOD_EXACT;
  if (n < 2)
    return ev__fail(EV_ERR_ARGUMENT,
                    "t-SNE needs at least 2 points, got %zu: a single point "
                    "has no neighbours to keep",
                    n);
  if (n > UINT32_MAX / 2)
    return ev__fail(EV_ERR_ARGUMENT,
                    "t-SNE takes up to %u points, got %zu: embed a sample",
                    UINT32_MAX / 2, n);
  ev_status st;
  if (method == EV_TSNE_METHOD_FFT && (st = check_fft(t, dims))) return st;
  if (!exact && dims > EV__TSNE_BH_MAX_DIMS)
    return ev__fail(EV_ERR_ARGUMENT,
                    "Barnes-Hut embeds in 1 to 3 dimensions, "
                    "EV_TSNE_N_COMPONENTS is %zu: use EV_TSNE_METHOD_EXACT "
                    "or fewer dimensions",
                    dims);
  double perp = t->param[EV_TSNE_PERPLEXITY];
  if (src->kind != EV__SOURCE_AFFINITIES) {
    double most = exact ? (double)(n - 1) : (double)(n - 1) / 3.0;
    if (perp > most)
      return ev__fail(
          EV_ERR_ARGUMENT,
          "perplexity %g is too large for %zu points with the %s method "
          "(%s): the largest allowed is %g; lower EV_TSNE_PERPLEXITY",
          perp, n,
          exact ? "exact"
                : method == EV_TSNE_METHOD_FFT ? "FFT" : "Barnes-Hut",
          exact ? "it must be at most n - 1"
                : "it uses floor(3 x perplexity) neighbours of n - 1",
          most);
    if (exact) {
      double limit = t->param[EV_TSNE_MAX_MEMORY_MB];
      if (!exact_fits(t, n))
        return ev__fail(EV_ERR_LIMIT,
                        "the exact method needs about %.0f MiB for its %zu x "
                        "%zu affinities, more than EV_TSNE_MAX_MEMORY_MB = "
                        "%g: use EV_TSNE_METHOD_BARNES_HUT (or raise the "
                        "limit)",
                        (double)n * (double)(n - 1) * 12.0 / 1048576.0, n, n,
                        limit);
    }
  }
  int init = (int)t->param[EV_TSNE_INIT];
  if (init == EV_TSNE_INIT_GIVEN &&
      (!t->given || t->given_n != n || t->given_dims != dims))
    return ev__fail(EV_ERR_ARGUMENT,
                    "EV_TSNE_INIT_GIVEN needs a %zu x %zu map from "
                    "ev_tsne_set_init, have %zu x %zu: set one of that size",
                    n, dims, t->given ? t->given_n : 0,
                    t->given ? t->given_dims : 0);
  return EV_OK;
}

/* ---- initialisation ---- */

static void init_random(double *y, size_t n, size_t dims, size_t from_col,
                        double seed) {
  uint64_t s = (uint64_t)seed;
  for (size_t i = 0; i < n; i++)
    for (size_t k = from_col; k < dims; k++)
      y[i * dims + k] = INIT_STD * ev__normal_next(&s);
}

/* The first principal components scaled so the first has std 1e-4; the
 * number of columns filled (0 when PCA finds no spread). */
static ev_status init_pca(const ev_tsne *t, const ev__source *src, double *y,
                          size_t dims, size_t *filled) {
  size_t n = src->n, k = 0;
  *filled = 0;
  ev_pca *pca = NULL;
  float *scores = NULL;
  ev_status st = ev_pca_create(&pca);
  if (!st) st = ev_pca_set(pca, EV_PCA_N_COMPONENTS, (double)dims);
  if (!st) st = ev_pca_set(pca, EV_PCA_THREADS, t->param[EV_TSNE_THREADS]);
  if (!st) st = ev_pca_fit(pca, src->x, n, src->d, src->ld);
  if (!st) st = ev_pca_n_components(pca, &k);
  if (!st && !(scores = ev__malloc(n * k * sizeof *scores)))
    st = ev__nomem("PCA initialisation", n * k * sizeof *scores);
  if (!st) st = ev_pca_transform(pca, src->x, n, src->d, src->ld, scores, k);
  if (!st) {
    double mean = 0.0, var = 0.0;
    for (size_t i = 0; i < n; i++) mean += scores[i * k];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++)
      var += (scores[i * k] - mean) * (scores[i * k] - mean);
    double sd = sqrt(var / (double)n);
    if (sd > 0.0 && isfinite(sd)) {
      for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < k && c < dims; c++)
          y[i * dims + c] = scores[i * k + c] / sd * INIT_STD;
      *filled = k < dims ? k : dims;
    }
  }
  ev__free(scores);
  ev_pca_free(pca);
  if (st == EV_ERR_OVERFLOW || st == EV_ERR_NONFINITE) {
    /* The caller asked for a t-SNE, not a PCA: say where the PCA comes
     * from and what helps. */
    char why[640];
    snprintf(why, sizeof why, "%s", ev_last_error());
    st = ev__fail(st,
                  "x's values are too large for t-SNE's default "
                  "initialisation, a PCA of x (%s): scale x down, e.g. "
                  "divide it by its largest absolute value (the affinities "
                  "do not depend on x's scale), or set EV_TSNE_INIT to "
                  "EV_TSNE_INIT_RANDOM",
                  why);
  }
  return st;
}

static ev_status initialise(const ev_tsne *t, const ev__source *src,
                            double *y, size_t dims) {
  size_t n = src->n, filled = 0;
  int init = (int)t->param[EV_TSNE_INIT];
  if (init == EV_TSNE_INIT_GIVEN) {
    for (size_t e = 0; e < n * dims; e++) y[e] = t->given[e];
    return EV_OK;
  }
  if (init == EV_TSNE_INIT_PCA && src->kind == EV__SOURCE_ROWS && n >= 2) {
    ev_status st = init_pca(t, src, y, dims, &filled);
    if (st) return st;
  }
  init_random(y, n, dims, filled, t->param[EV_TSNE_SEED]);
  return EV_OK;
}

/* ---- the fit ---- */

static void options(const ev_tsne *t, int method, ev__tsne_opt *o) {
  const double *p = t->param;
  o->barnes_hut = method == EV_TSNE_METHOD_BARNES_HUT;
  o->fft = method == EV_TSNE_METHOD_FFT;
  o->theta = p[EV_TSNE_THETA];
  o->exaggeration = p[EV_TSNE_EARLY_EXAGGERATION];
  o->late_exaggeration = p[EV_TSNE_LATE_EXAGGERATION];
  o->learning_rate = p[EV_TSNE_LEARNING_RATE];
  o->lr_rule = (int)p[EV_TSNE_LEARNING_RATE_RULE];
  if (o->lr_rule == EV_TSNE_LR_AUTO)
    o->lr_rule = o->fft ? EV_TSNE_LR_OPENTSNE : EV_TSNE_LR_SKLEARN;
  o->max_step_norm = p[EV_TSNE_MAX_STEP_NORM];
  o->fft_points = (size_t)p[EV_TSNE_FFT_INTERPOLATION_POINTS];
  o->fft_min_intervals = (size_t)p[EV_TSNE_FFT_MIN_INTERVALS];
  o->fft_interval_width = p[EV_TSNE_FFT_INTERVAL_WIDTH];
  o->fft_near_radius = p[EV_TSNE_FFT_NEAR_RADIUS];
  o->fft_near_points = (size_t)p[EV_TSNE_FFT_NEAR_POINTS];
  o->fft_max_bytes = grid_limit_bytes(t);
  o->momentum = p[EV_TSNE_MOMENTUM];
  o->final_momentum = p[EV_TSNE_FINAL_MOMENTUM];
  o->min_gain = p[EV_TSNE_MIN_GAIN];
  o->min_grad_norm = p[EV_TSNE_MIN_GRAD_NORM];
  o->n_iter = (size_t)p[EV_TSNE_N_ITER];
  o->exaggeration_iters = (size_t)p[EV_TSNE_EXAGGERATION_ITERATIONS];
  o->progress_every = (size_t)p[EV_TSNE_PROGRESS_EVERY];
  o->n_iter_without_progress = (size_t)p[EV_TSNE_N_ITER_WITHOUT_PROGRESS];
}

/* Replace the handle's result with this one (the map in floats), and the
 * neighbour index with *index (taken: set to NULL). */
static ev_status keep(ev_tsne *t, const ev__source *src, ev__csr *p,
                      const double *y, size_t n, size_t dims, size_t iters,
                      double kl, ev_knn **index) {
  float *yf = ev__malloc(n * dims * sizeof *yf);
  if (!yf) return ev__nomem("t-SNE map", n * dims * sizeof *yf);
  for (size_t e = 0; e < n * dims; e++) yf[e] = (float)y[e];
  ev__free(t->y);
  ev__csr_free(&t->p);
  ev_knn_free(t->index);
  t->y = yf;
  t->p = *p;
  memset(p, 0, sizeof *p);
  t->index = *index;
  *index = NULL;
  t->index_absent = t->index                       ? EV__INDEX_KEPT
                    : src->kind != EV__SOURCE_ROWS ? EV__INDEX_NOT_ROWS
                                                   : EV__INDEX_NOT_KEPT;
  t->n = n, t->dims = dims, t->n_iter = iters, t->kl = kl;
  t->fitted = 1;
  return EV_OK;
}

static ev_status run(ev_tsne *t, const ev__source *src, int method,
                     size_t dims) {
  int exact = method == EV_TSNE_METHOD_EXACT;
  size_t n = src->n, iters = 0, bytes;
  ev__csr p = {0};
  double kl = NAN, *y = NULL;
  ev_knn *index = NULL;
  ev__source s = *src;
  if (s.kind == EV__SOURCE_ROWS && t->param[EV_TSNE_KEEP_INDEX] != 0.0)
    s.keep_index = &index;
  ev_status st = ev__bytes("t-SNE map", n, dims, sizeof(double), &bytes);
  if (st) return st;
  if (!(y = ev__malloc(bytes))) return ev__nomem("t-SNE map", bytes);
  if ((st = ev__tsne_source_affinities(&s, exact, &p))) goto done;
  /* The exact method computes its distances without an index: build one
   * for ev_tsne_transform (without progress calls, so the stages stay as
   * documented). */
  if (s.keep_index && !index) {
    ev__source quiet = s;
    quiet.cb = NULL;
    if ((st = ev__tsne_make_index(&quiet, &index))) goto done;
  }
  if ((st = initialise(t, src, y, dims))) goto done;
  ev__tsne_opt o;
  options(t, method, &o);
  st = ev__tsne_optimize(&p, y, dims, &o, src->cb, src->user, &iters, &kl);
  if (st == EV_OK || st == EV_ERR_CANCELLED) {
    ev_status kept = keep(t, src, &p, y, n, dims, iters, kl, &index);
    if (kept) st = kept;
  }
done:
  ev__csr_free(&p);
  ev__free(y);
  ev_knn_free(index);
  return st;
}

static ev_status fit(ev_tsne *t, ev__source *src) {
  size_t dims = (size_t)t->param[EV_TSNE_N_COMPONENTS];
  int method = resolve_method(t, src->n, dims);
  src->perplexity = t->param[EV_TSNE_PERPLEXITY];
  src->metric = (int)t->param[EV_TSNE_METRIC];
  src->minkowski_p = t->param[EV_TSNE_MINKOWSKI_P];
  src->threads = (int)t->param[EV_TSNE_THREADS];
  src->knn_method = resolve_knn_method(t, src->n, src->d);
  src->seed = t->param[EV_TSNE_SEED];
  src->cb = t->progress;
  src->user = t->progress_user;
  ev_status st = check_plan(t, src, method, dims);
  if (st) return st;
  ev__threads scope;
  ev__threads_begin(&scope, src->threads);
  st = run(t, src, method, dims);
  ev__threads_end(&scope);
  return st;
}

ev_status ev_tsne_fit(ev_tsne *t, const float *x, size_t n, size_t d,
                      size_t ld) {
  EV__ARG_NULL_IF(!t, "the t-SNE handle", "make one with ev_tsne_create");
  ev_status st = ev__check_matrix("x", x, n, d, ld);
  if (st || (st = ev__check_finite("x", x, n, d, ld))) return st;
  ev__source src = {.kind = EV__SOURCE_ROWS, .n = n, .d = d, .ld = ld, .x = x};
  return fit(t, &src);
}

ev_status ev_tsne_fit_distances(ev_tsne *t, const float *dist, size_t n,
                                size_t ld) {
  EV__ARG_NULL_IF(!t, "the t-SNE handle", "make one with ev_tsne_create");
  ev_status st = ev__check_matrix("dist", dist, n, n, ld);
  if (st || (st = ev__check_finite("dist", dist, n, n, ld))) return st;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      if (j != i && dist[i * ld + j] < 0.0f)
        return ev__fail(EV_ERR_ARGUMENT,
                        "dist[%zu][%zu] is %g: distances must be >= 0", i, j,
                        (double)dist[i * ld + j]);
  ev__source src = {.kind = EV__SOURCE_DISTANCES, .n = n, .d = n, .ld = ld,
                    .dist = dist};
  return fit(t, &src);
}

static ev_status check_csr(size_t n, const size_t *row_ptr,
                           const int64_t *col_idx, const float *values) {
  if (!row_ptr || !col_idx || !values || n == 0)
    return ev__fail(EV_ERR_ARGUMENT,
                    "pass n >= 2 and non-NULL row_ptr, col_idx and values");
  if (row_ptr[0] != 0)
    return ev__fail(EV_ERR_ARGUMENT,
                    "row_ptr[0] is %zu: CSR offsets must start at 0",
                    row_ptr[0]);
  for (size_t i = 0; i < n; i++)
    if (row_ptr[i + 1] < row_ptr[i])
      return ev__fail(EV_ERR_ARGUMENT,
                      "row_ptr decreases at row %zu: offsets must not "
                      "decrease",
                      i);
  for (size_t e = 0; e < row_ptr[n]; e++) {
    if (col_idx[e] < 0 || (uint64_t)col_idx[e] >= n)
      return ev__fail(EV_ERR_ARGUMENT,
                      "col_idx[%zu] is %lld: columns must be in [0, %zu)", e,
                      (long long)col_idx[e], n);
    if (!isfinite(values[e]))
      return ev__fail(EV_ERR_NONFINITE,
                      "values[%zu] is not finite: give finite affinities", e);
    if (values[e] < 0.0f)
      return ev__fail(EV_ERR_ARGUMENT,
                      "values[%zu] is %g: affinities must be >= 0", e,
                      (double)values[e]);
  }
  return EV_OK;
}

ev_status ev_tsne_fit_affinities(ev_tsne *t, size_t n, const size_t *row_ptr,
                                 const int64_t *col_idx,
                                 const float *values) {
  EV__ARG_NULL_IF(!t, "the t-SNE handle", "make one with ev_tsne_create");
  ev_status st = check_csr(n, row_ptr, col_idx, values);
  if (st) return st;
  ev__source src = {.kind = EV__SOURCE_AFFINITIES, .n = n, .row_ptr = row_ptr,
                    .col_idx = col_idx, .values = values};
  return fit(t, &src);
}
