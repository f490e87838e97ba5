/* The t-SNE handle: settings, the caller's initial map, and the results. */
#include <math.h>
#include <string.h>

#include "tsne/tsne_internal.h"

#define SPEC(id, lo, hi, whole, def) \
  EV__SPEC(ev_tsne, param[id], EV__SLOT_DOUBLE, id, lo, hi, whole, def),
static const ev__param_spec tsne_params[] = {EV__TSNE_SETTINGS(SPEC)};
#define N_SPECS (sizeof tsne_params / sizeof tsne_params[0])
EV__SETTINGS_COVER(ev_tsne_param, EV__TSNE_SETTINGS)
#define FITS(id, ...) \
  _Static_assert(id > 0 && (int)id < (int)EV__TSNE_N_PARAMS, #id " has no slot in param[]");
EV__TSNE_SETTINGS(FITS)

ev_status ev_tsne_create(ev_tsne **out) {
  EV__ARG_NOT_NULL(out, "pass the address of an ev_tsne pointer");
  *out = ev__param_new(sizeof **out, tsne_params, N_SPECS);
  return *out ? EV_OK : ev__nomem("t-SNE handle", sizeof **out);
}

void ev_tsne_free(ev_tsne *t) {
  if (!t) return;
  ev__free(t->given);
  ev__free(t->y);
  ev__csr_free(&t->p);
  ev_knn_free(t->index);
  ev__free(t);
}

static ev_status need_handle(const ev_tsne *t) {
  EV__ARG_NULL_IF(!t, "the t-SNE handle", "make one with ev_tsne_create");
  return EV_OK;
}

EV__SETTINGS_CALLS(tsne, ev_tsne, ev_tsne_param, tsne_params, "TSNE",
                   need_handle)

ev_status ev_tsne_set_progress(ev_tsne *t, ev_progress_fn fn,
                               void *user_data) {
  ev_status st = need_handle(t);
  if (st) return st;
  t->progress = fn;
  t->progress_user = user_data;
  return EV_OK;
}

ev_status ev_tsne_set_init(ev_tsne *t, const float *y, size_t n, size_t dims,
                           size_t ld) {
  float *copy = NULL;
  ev_status st = need_handle(t);
  if (st || (st = ev__packed_copy("y", "initial map", y, n, dims, ld, &copy)))
    return st;
  ev__free(t->given);
  t->given = copy;
  t->given_n = n;
  t->given_dims = dims;
  return EV_OK;
}

/* ---- results ---- */

static ev_status need_result(const ev_tsne *t) {
  ev_status st = need_handle(t);
  if (st) return st;
  if (!t->fitted)
    return ev__fail(EV_ERR_STATE,
                    "the t-SNE handle has no map yet: call ev_tsne_fit first");
  return EV_OK;
}

ev_status ev_tsne_size(const ev_tsne *t, size_t *n, size_t *dims) {
  ev_status st = need_handle(t);
  if (st) return st;
  if (n) *n = t->fitted ? t->n : 0;
  if (dims) *dims = t->fitted ? t->dims : 0;
  return EV_OK;
}

ev_status ev_tsne_embedding(const ev_tsne *t, float *out, size_t ld) {
  ev_status st = need_result(t);
  if (st || (st = ev__check_out_matrix("out", out, t->n, t->dims, ld)))
    return st;
  for (size_t i = 0; i < t->n; i++)
    memcpy(out + i * ld, t->y + i * t->dims, t->dims * sizeof *out);
  return EV_OK;
}

ev_status ev_tsne_kl_divergence(const ev_tsne *t, double *kl) {
  ev_status st = need_result(t);
  if (st) return st;
  EV__ARG_NOT_NULL(kl, "pass the address of a double");
  *kl = t->kl;
  return EV_OK;
}

ev_status ev_tsne_n_iter(const ev_tsne *t, size_t *n_iter) {
  ev_status st = need_result(t);
  if (st) return st;
  EV__ARG_NOT_NULL(n_iter, "pass &n");
  *n_iter = t->n_iter;
  return EV_OK;
}

ev_status ev_tsne_affinities(const ev_tsne *t, size_t *row_ptr,
                             int64_t *col_idx, float *values, size_t *nnz) {
  ev_status st = need_result(t);
  if (st) return st;
  return ev__sparse_out(t->n, t->p.row_ptr, t->p.col, t->p.val, t->p.fval,
                        "the affinities have", row_ptr, col_idx, values, nnz);
}
