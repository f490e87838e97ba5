/* The start of a graph of many components. umap-learn's
 * multi_component_layout places components by a spectral embedding of a
 * dense components x components affinity of their centroids: 78 GB for
 * the 70,000 components of the 1,000,000-row test set, so it stops at
 * MAX_COMPONENT_PLACES (fit.c). Beyond that the places come from a UMAP
 * map of the centroids themselves (their own kNN graph, fuzzy set,
 * spectral start and epochs, the fit's settings): the centroids' neighbours
 * end up near each other, as the dense spectral places intend, in
 * O(k log k) memory and time instead of O(k^2). Each component is then
 * laid out inside half the distance from its place to the nearest place
 * among its centroid's graph neighbours: its own spectral layout from
 * MIN_SPECTRAL rows, spread at random below (a few rows have no shape
 * worth a solve, and 70,000 solves would cost more than the map). */
#include <math.h>
#include <string.h>

#include "umap/umap_internal.h"

#define MIN_SPECTRAL 100

/* The inner fit's progress, reported as the outer fit's start. */
typedef struct relay {
  ev_progress_fn cb;
  void *user;
} relay;

static int relay_progress(void *user, int stage, size_t step, size_t total,
                          double value) {
  (void)stage, (void)value;
  const relay *r = user;
  return r->cb(r->user, EV_STAGE_SPECTRAL, step, total, NAN);
}

/* A map of the k centroids (k x dims into meta) and the half-distance from
 * each to its nearest graph neighbour there (range). */
static ev_status centroid_map(const ev_umap *u, const float *cen, size_t k,
                              size_t d, size_t dims, double *meta,
                              double *range) {
  ev_umap *v = NULL;
  ev_status st = ev_umap_create(&v);
  if (st) return st;
  memcpy(v->param, u->param, sizeof v->param);
  size_t nn = (size_t)u->param[EV_UMAP_N_NEIGHBORS];
  v->param[EV_UMAP_N_NEIGHBORS] = (double)(nn < k - 1 ? nn : k - 1);
  v->param[EV_UMAP_N_EPOCHS] = 0; /* the defaults for k rows */
  v->param[EV_UMAP_INIT] = EV_UMAP_INIT_SPECTRAL;
  v->param[EV_UMAP_LEARNING_RATE] = 1.0;
  relay r = {u->progress, u->progress_user};
  if (u->progress) {
    v->progress = relay_progress;
    v->progress_user = &r;
  }
  if ((st = ev_umap_fit(v, cen, k, d, d))) goto done;
  for (size_t e = 0; e < k * dims; e++) meta[e] = v->y[e];
  const ev__umap_graph *g = &v->graph;
  double sum = 0.0;
  size_t have = 0;
  for (size_t c = 0; c < k; c++) {
    double best = INFINITY;
    for (size_t e = g->row_ptr[c]; e < g->row_ptr[c + 1]; e++) {
      double s = 0.0;
      for (size_t j = 0; j < dims; j++) {
        double t = meta[g->col[e] * dims + j] - meta[c * dims + j];
        s += t * t;
      }
      if (s > 0.0 && s < best) best = s;
    }
    range[c] = isfinite(best) ? sqrt(best) / 2.0 : 0.0;
    if (range[c] > 0.0) sum += range[c], have++;
  }
  /* a centroid whose neighbours all sit on it takes the mean range */
  double fallback = have ? sum / (double)have : 1.0;
  for (size_t c = 0; c < k; c++)
    if (!(range[c] > 0.0)) range[c] = fallback;
done:
  ev_umap_free(v);
  return st;
}

ev_status ev__umap_many_components(const ev_umap *u, const ev__umap_graph *g,
                                   const uint32_t *labels, size_t k,
                                   const ev__umap_rows *rows, size_t dims,
                                   uint64_t seed, double *y,
                                   size_t *n_random) {
  if (!rows || !rows->x) return EV_ERR_UNSUPPORTED;
  float *cen = NULL;
  ev_status st = ev__umap_centroids(rows, labels, g->n, k, &cen);
  if (st) return st;
  double *meta = ev__malloc(k * dims * sizeof *meta);
  double *range = ev__malloc(k * sizeof *range);
  if (!meta || !range) {
    st = ev__nomem("the component places", k * (dims + 1) * sizeof(double));
    goto done;
  }
  st = centroid_map(u, cen, k, rows->d, dims, meta, range);
  if (st == EV_ERR_CANCELLED || st == EV_ERR_NOMEM || st == EV_ERR_OVERFLOW)
    goto done;
  if (st) {
    st = EV_ERR_UNSUPPORTED;
    goto done;
  }
  ev__umap_places given = {meta, range, MIN_SPECTRAL};
  st = ev__umap_spectral_components(g, labels, k, rows, dims, seed, y,
                                    u->progress, u->progress_user, n_random,
                                    &given);
done:
  ev__free(cen), ev__free(meta), ev__free(range);
  return st;
}
