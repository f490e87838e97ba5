/* The UMAP handle: settings, the caller's initial map, and the results. */
#include <math.h>
#include <string.h>

#include "umap/umap_internal.h"

#define SPEC(id, lo, hi, whole, def) \
  EV__SPEC(ev_umap, param[id], EV__SLOT_DOUBLE, id, lo, hi, whole, def),
static const ev__param_spec umap_params[] = {EV__UMAP_SETTINGS(SPEC)};
#define N_SPECS (sizeof umap_params / sizeof umap_params[0])
EV__SETTINGS_COVER(ev_umap_param, EV__UMAP_SETTINGS)
#define FITS(id, ...) \
  _Static_assert(id > 0 && (int)id < (int)EV__UMAP_N_PARAMS, #id " has no slot in param[]");
EV__UMAP_SETTINGS(FITS)

ev_status ev_umap_create(ev_umap **out) {
  EV__ARG_NOT_NULL(out, "pass the address of an ev_umap pointer");
  *out = ev__param_new(sizeof **out, umap_params, N_SPECS);
  return *out ? EV_OK : ev__nomem("UMAP handle", sizeof **out);
}

void ev_umap_free(ev_umap *u) {
  if (!u) return;
  ev__free(u->given);
  ev__free(u->y);
  ev__umap_graph_free(&u->graph);
  ev_knn_free(u->index);
  ev__free(u);
}

static ev_status need_handle(const ev_umap *u) {
  EV__ARG_NULL_IF(!u, "the UMAP handle", "make one with ev_umap_create");
  return EV_OK;
}

EV__SETTINGS_CALLS(umap, ev_umap, ev_umap_param, umap_params, "UMAP",
                   need_handle)

ev_status ev_umap_set_progress(ev_umap *u, ev_progress_fn fn,
                               void *user_data) {
  ev_status st = need_handle(u);
  if (st) return st;
  u->progress = fn;
  u->progress_user = user_data;
  /* The fit's neighbour index, kept for transform, reports through the
   * handle's callback of the moment, never a replaced (maybe freed) one. */
  return u->index ? ev_knn_set_progress(u->index, fn, user_data) : EV_OK;
}

ev_status ev_umap_set_init(ev_umap *u, const float *y, size_t n, size_t dims,
                           size_t ld) {
  float *copy = NULL;
  ev_status st = need_handle(u);
  if (st || (st = ev__packed_copy("y", "initial map", y, n, dims, ld, &copy)))
    return st;
  ev__free(u->given);
  u->given = copy;
  u->given_n = n;
  u->given_dims = dims;
  return EV_OK;
}

ev_status ev_umap_find_ab(double spread, double min_dist, double *a,
                          double *b) {
  EV__ARG_NOT_NULL(a, "pass the address of a double");
  EV__ARG_NOT_NULL(b, "pass the address of a double");
  if (!(spread > 0.0) || !isfinite(spread))
    return ev__fail(EV_ERR_ARGUMENT, "spread is %g: give a positive spread",
                    spread);
  if (!(min_dist >= 0.0) || min_dist > spread)
    return ev__fail(EV_ERR_ARGUMENT,
                    "min_dist %g is outside [0, spread = %g]: lower min_dist "
                    "or raise spread",
                    min_dist, spread);
  return ev__umap_find_ab(spread, min_dist, a, b);
}

/* ---- results ---- */

static ev_status need_result(const ev_umap *u) {
  ev_status st = need_handle(u);
  if (st) return st;
  if (!u->fitted)
    return ev__fail(EV_ERR_STATE,
                    "the UMAP handle has no map yet: call ev_umap_fit first");
  return EV_OK;
}

ev_status ev_umap_size(const ev_umap *u, size_t *n, size_t *dims) {
  ev_status st = need_handle(u);
  if (st) return st;
  if (n) *n = u->fitted ? u->n : 0;
  if (dims) *dims = u->fitted ? u->dims : 0;
  return EV_OK;
}

ev_status ev_umap_embedding(const ev_umap *u, float *out, size_t ld) {
  ev_status st = need_result(u);
  if (st || (st = ev__check_out_matrix("out", out, u->n, u->dims, ld)))
    return st;
  for (size_t i = 0; i < u->n; i++)
    memcpy(out + i * ld, u->y + i * u->dims, u->dims * sizeof *out);
  return EV_OK;
}

ev_status ev_umap_info(const ev_umap *u, ev_umap_info_item item,
                       double *value) {
  ev_status st = need_result(u);
  if (st) return st;
  EV__ARG_NOT_NULL(value, "pass the address of a double");
  switch (item) {
  case EV_UMAP_INFO_INIT_USED: *value = u->init_used; break;
  case EV_UMAP_INFO_N_COMPONENTS_GRAPH:
    *value = (double)u->n_graph_components;
    break;
  case EV_UMAP_INFO_N_EPOCHS: *value = (double)u->epochs_run; break;
  case EV_UMAP_INFO_A: *value = u->a; break;
  case EV_UMAP_INFO_B: *value = u->b; break;
  case EV_UMAP_INFO_N_EDGES: *value = (double)u->n_edges; break;
  case EV_UMAP_INFO_N_RANDOM_COMPONENTS:
    *value = (double)u->n_random_components;
    break;
  default:
    return ev__fail(EV_ERR_ARGUMENT,
                    "unknown UMAP info item %d: use an ev_umap_info_item",
                    (int)item);
  }
  return EV_OK;
}

ev_status ev_umap_graph(const ev_umap *u, size_t *row_ptr, int64_t *col_idx,
                        float *values, size_t *nnz) {
  ev_status st = need_result(u);
  if (st) return st;
  return ev__sparse_out(u->n, u->graph.row_ptr, u->graph.col, u->graph.val, NULL,
                        "the graph has", row_ptr, col_idx, values, nnz);
}
