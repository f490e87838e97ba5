/* ev_umap_transform: new rows placed in a fitted map as umap-learn 0.5's
 * transform does, the training map fixed. */
#include <math.h>
#include <string.h>

#include "umap/umap_internal.h"

#define SMALL_M 10000 /* umap-learn: 100 epochs up to here, 30 above */

static size_t transform_epochs(const ev_umap *u, size_t m) {
  size_t e = (size_t)u->param[EV_UMAP_N_EPOCHS];
  if (e) return e / 3 > 0 ? e / 3 : 1;
  return m <= SMALL_M ? 100 : 30;
}

/* Start each new row at the mean of its neighbours' map positions weighted
 * by their memberships (umap-learn's init_transform). */
static void weighted_start(const ev__umap_graph *g, const float *train,
                           size_t dims, float *y) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < g->n; i++) {
    double sum = 0.0, yi[EV__UMAP_MAX_DIMS];
    for (size_t c = 0; c < dims; c++) yi[c] = 0.0;
    for (size_t e = g->row_ptr[i]; e < g->row_ptr[i + 1]; e++) sum += g->val[e];
    for (size_t e = g->row_ptr[i]; e < g->row_ptr[i + 1]; e++)
      for (size_t c = 0; c < dims; c++)
        yi[c] += g->val[e] / sum * train[(size_t)g->col[e] * dims + c];
    for (size_t c = 0; c < dims; c++) y[i * dims + c] = (float)yi[c];
  }
}

static ev_status place(const ev_umap *u, const float *x, size_t m, size_t ld,
                       float *y) {
  size_t k = u->k, n = u->n, dims = u->dims, bytes;
  ev_status st = ev__bytes("UMAP transform lists", m, k, 12 + 16, &bytes);
  if (st) return st;
  ev__umap_graph g = {0};
  int64_t *idx = ev__malloc(m * k * sizeof *idx);
  float *dist = ev__malloc(m * k * sizeof *dist);
  double *sigma = ev__malloc(m * sizeof *sigma);
  double *rho = ev__malloc(m * sizeof *rho);
  const float *train = u->y;
  if (!idx || !dist || !sigma || !rho) {
    st = ev__nomem("UMAP transform", bytes);
    goto done;
  }
  if ((st = ev_knn_query(u->index, x, m, u->d, ld, k, idx, k, dist, k)))
    goto done;
  double lc = u->param[EV_UMAP_LOCAL_CONNECTIVITY] - 1.0;
  ev__umap_smooth_knn_dist(dist, m, k, lc > 0.0 ? lc : 0.0, sigma, rho);
  if ((st = ev__umap_membership(idx, dist, m, k, n, sigma, rho, 0, &g)))
    goto done;
  weighted_start(&g, train, dims, y);
  size_t n_epochs = transform_epochs(u, m), ran;
  ev__umap_prune(&g, n_epochs);
  ev__umap_sgd o = {.a = u->a, .b = u->b,
                    .gamma = u->param[EV_UMAP_REPULSION_STRENGTH],
                    .alpha = u->param[EV_UMAP_LEARNING_RATE] / 4.0,
                    .negative_rate = u->param[EV_UMAP_NEGATIVE_SAMPLE_RATE],
                    .n_epochs = n_epochs, .dims = dims,
                    .seed = (uint64_t)u->param[EV_UMAP_RANDOM_STATE] ^
                            0x7472616e73666f72ULL,
                    .move_other = 0};
  st = ev__umap_optimize(&g, y, train, &o, u->progress, u->progress_user,
                         &ran);
done:
  ev__umap_graph_free(&g);
  ev__free(idx), ev__free(dist), ev__free(sigma), ev__free(rho);
  return st;
}

ev_status ev_umap_transform(const ev_umap *u, const float *x, size_t m,
                            size_t d, size_t ld, float *out, size_t ldo) {
  EV__ARG_NULL_IF(!u, "the UMAP handle", "make one with ev_umap_create");
  if (!u->fitted)
    return ev__fail(EV_ERR_STATE,
                    "the UMAP handle has no map yet: call ev_umap_fit before "
                    "ev_umap_transform");
  if (!u->index)
    return ev__fail(EV_ERR_STATE,
                    "the map was fitted from neighbour lists "
                    "(ev_umap_fit_knn), so there are no training rows to "
                    "search: fit with ev_umap_fit to transform new rows");
  ev_status st = ev__check_matrix("x", x, m, d, ld);
  if (st) return st;
  if (d != u->d)
    return ev__fail(EV_ERR_ARGUMENT,
                    "x has %zu columns but the map was fitted on %zu: give "
                    "rows of the training width",
                    d, u->d);
  if ((st = ev__check_finite("x", x, m, d, ld)) ||
      (st = ev__check_out_matrix("out", out, m, u->dims, ldo)))
    return st;
  size_t bytes;
  if ((st = ev__bytes("UMAP transform map", m, u->dims, sizeof(float),
                      &bytes)))
    return st;
  float *y = ev__malloc(bytes);
  if (!y) return ev__nomem("UMAP transform map", bytes);
  ev__threads scope;
  ev__threads_begin(&scope, (int)u->param[EV_UMAP_THREADS]);
  st = place(u, x, m, ld, y);
  ev__threads_end(&scope);
  if (!st)
    for (size_t i = 0; i < m; i++)
      for (size_t c = 0; c < u->dims; c++)
        out[i * ldo + c] = y[i * u->dims + c];
  ev__free(y);
  return st;
}
