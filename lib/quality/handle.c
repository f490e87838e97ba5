/* The quality handle: its settings and the shared neighbour search. */
#include "embedviz/knn.h"
#include "embedviz/score.h"
#include "quality_private.h"

/* The settings: X(id, lower, upper, whole number, default, field, type). */
#define QUALITY_SETTINGS(X)                                              \
  X(EV_QUALITY_MAP_NEIGHBORS, 1, 1e6, true, 5, map_k, SIZE)              \
  X(EV_QUALITY_ISSUE_NEIGHBORS, 1, 1e6, true, 10, issue_k, SIZE)         \
  X(EV_QUALITY_METRIC, 0, 5, true, EV_METRIC_EUCLIDEAN, metric, INT)     \
  X(EV_QUALITY_MINKOWSKI_P, 1, 1e6, false, 2, p, DOUBLE)                 \
  X(EV_QUALITY_SCORES, 0, 1, true, EV_SCORE_PROBABILITIES, scores, INT)  \
  X(EV_QUALITY_THREADS, 0, 1024, true, 0, threads, INT)
#define SPEC(id, lo, hi, whole, def, field, type) \
  EV__SPEC(ev_quality, field, EV__SLOT_##type, id, lo, hi, whole, def),
static const ev__param_spec quality_params[] = {QUALITY_SETTINGS(SPEC)};
#define N_PARAMS (sizeof quality_params / sizeof quality_params[0])
EV__SETTINGS_COVER(ev_quality_param, QUALITY_SETTINGS)

/* Every call on a handle starts here. */
#define NEED_HANDLE(q) \
  EV__ARG_NOT_NULL(q, "make one with ev_quality_create first")

ev_status ev_quality_create(ev_quality **out) {
  EV__ARG_NOT_NULL(out, "pass the address of an ev_quality pointer");
  *out = ev__param_new(sizeof **out, quality_params, N_PARAMS);
  return *out ? EV_OK : ev__nomem("a quality handle", sizeof **out);
}

void ev_quality_free(ev_quality *q) { ev__free(q); }

ev_status ev_quality_set(ev_quality *q, ev_quality_param param, double value) {
  NEED_HANDLE(q);
  return ev__param_set(quality_params, N_PARAMS, q, param, value, "QUALITY");
}

ev_status ev_quality_get(const ev_quality *q, ev_quality_param param,
                         double *value) {
  NEED_HANDLE(q);
  EV__ARG_NOT_NULL(value, "pass a double to fill");
  return ev__param_get(quality_params, N_PARAMS, q, param, value, "QUALITY");
}

ev_status ev_quality_param_bounds(ev_quality_param param, double *lower,
                                  double *upper) {
  return ev__param_bounds(quality_params, N_PARAMS, param, "QUALITY", lower,
                          upper);
}

ev_status ev_quality_param_default(ev_quality_param param, double *value) {
  return ev__param_default(quality_params, N_PARAMS, param, "QUALITY", value);
}

ev_status ev__quality_neighbours(const ev_quality *q, const float *x,
                                 size_t n, size_t dim, size_t ld, int metric,
                                 size_t k, int64_t *indices,
                                 float *distances) {
  ev_knn *ix = NULL;
  ev_status st = ev_knn_create(&ix);
  if (st == EV_OK) st = ev_knn_set(ix, EV_KNN_METRIC, metric);
  if (st == EV_OK && metric == EV_METRIC_MINKOWSKI)
    st = ev_knn_set(ix, EV_KNN_MINKOWSKI_P, q->p);
  if (st == EV_OK) st = ev_knn_set(ix, EV_KNN_THREADS, q->threads);
  if (st == EV_OK) st = ev_knn_build(ix, x, n, dim, ld);
  if (st == EV_OK)
    st = ev_knn_query_self(ix, k, indices, k, distances, k);
  ev_knn_free(ix);
  return st;
}
