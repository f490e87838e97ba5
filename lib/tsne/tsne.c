/* The t-SNE handle: settings, the caller's initial map, and the results. */
#include <math.h>
#include <string.h>

#include "tsne/tsne_internal.h"

#define SPEC(id, lo, hi, integer) {id, #id, lo, hi, integer}
static const ev__param_spec tsne_params[] = {
    SPEC(EV_TSNE_N_COMPONENTS, 1, EV__TSNE_MAX_DIMS, true),
    SPEC(EV_TSNE_PERPLEXITY, 1, 1e9, false),
    SPEC(EV_TSNE_METHOD, 0, 2, true),
    SPEC(EV_TSNE_THETA, 0, 1, false),
    SPEC(EV_TSNE_METRIC, 0, 5, true),
    SPEC(EV_TSNE_EARLY_EXAGGERATION, 1, 1000, false),
    SPEC(EV_TSNE_EXAGGERATION_ITERATIONS, 0, 1e9, true),
    SPEC(EV_TSNE_LEARNING_RATE, 0, 1e12, false),
    SPEC(EV_TSNE_MOMENTUM, 0, 1, false),
    SPEC(EV_TSNE_FINAL_MOMENTUM, 0, 1, false),
    SPEC(EV_TSNE_MIN_GAIN, 0, 1, false),
    SPEC(EV_TSNE_N_ITER, 0, 1e9, true),
    SPEC(EV_TSNE_MIN_GRAD_NORM, 0, 1e300, false),
    SPEC(EV_TSNE_INIT, 0, 2, true),
    SPEC(EV_TSNE_SEED, 0, 9007199254740992.0, true),
    SPEC(EV_TSNE_THREADS, 0, 4096, true),
    SPEC(EV_TSNE_MAX_MEMORY_MB, 1, 1e9, true),
    SPEC(EV_TSNE_PROGRESS_EVERY, 1, 1e9, true),
    SPEC(EV_TSNE_MINKOWSKI_P, 1, 1e6, false),
    SPEC(EV_TSNE_N_ITER_WITHOUT_PROGRESS, 0, 1e9, true),
};
#define N_SPECS (sizeof tsne_params / sizeof tsne_params[0])

static void set_defaults(ev_tsne *t) {
  double *p = t->param;
  p[EV_TSNE_N_COMPONENTS] = 2;
  p[EV_TSNE_PERPLEXITY] = 30;
  p[EV_TSNE_METHOD] = EV_TSNE_METHOD_AUTO;
  p[EV_TSNE_THETA] = 0.5;
  p[EV_TSNE_METRIC] = EV_METRIC_EUCLIDEAN;
  p[EV_TSNE_EARLY_EXAGGERATION] = 12;
  p[EV_TSNE_EXAGGERATION_ITERATIONS] = 250;
  p[EV_TSNE_LEARNING_RATE] = 0;
  p[EV_TSNE_MOMENTUM] = 0.5;
  p[EV_TSNE_FINAL_MOMENTUM] = 0.8;
  p[EV_TSNE_MIN_GAIN] = 0.01;
  p[EV_TSNE_N_ITER] = 1000;
  p[EV_TSNE_MIN_GRAD_NORM] = 1e-7;
  p[EV_TSNE_INIT] = EV_TSNE_INIT_PCA;
  p[EV_TSNE_SEED] = 0;
  p[EV_TSNE_THREADS] = 0;
  p[EV_TSNE_MAX_MEMORY_MB] = 1024;
  p[EV_TSNE_PROGRESS_EVERY] = 50;
  p[EV_TSNE_MINKOWSKI_P] = 2;
  p[EV__TSNE_SLOT(EV_TSNE_N_ITER_WITHOUT_PROGRESS)] = 300;
}

ev_status ev_tsne_create(ev_tsne **out) {
  if (!out)
    return ev__fail(EV_ERR_ARGUMENT,
                    "out is NULL: pass the address of an ev_tsne pointer");
  *out = NULL;
  ev_tsne *t = ev__calloc(1, sizeof *t);
  if (!t) return ev__nomem("t-SNE handle", sizeof *t);
  set_defaults(t);
  *out = t;
  return EV_OK;
}

void ev_tsne_free(ev_tsne *t) {
  if (!t) return;
  ev__free(t->given);
  ev__free(t->y);
  ev__csr_free(&t->p);
  ev__free(t);
}

static ev_status need_handle(const ev_tsne *t) {
  return t ? EV_OK
           : ev__fail(EV_ERR_ARGUMENT,
                      "the t-SNE handle is NULL: make one with ev_tsne_create");
}

ev_status ev_tsne_set(ev_tsne *t, int param, double value) {
  ev_status st = need_handle(t);
  if (st) return st;
  st = ev__param_check(tsne_params, N_SPECS, param, value, "TSNE");
  if (st) return st;
  t->param[EV__TSNE_SLOT(param)] = value;
  return EV_OK;
}

ev_status ev_tsne_get(const ev_tsne *t, int param, double *value) {
  ev_status st = need_handle(t);
  if (st) return st;
  if (!value)
    return ev__fail(EV_ERR_ARGUMENT,
                    "value is NULL: pass the address of a double");
  st = ev__param_bounds(tsne_params, N_SPECS, param, "TSNE", NULL, NULL);
  if (st) return st;
  *value = t->param[EV__TSNE_SLOT(param)];
  return EV_OK;
}

ev_status ev_tsne_param_bounds(int param, double *lower, double *upper) {
  return ev__param_bounds(tsne_params, N_SPECS, param, "TSNE", lower, upper);
}

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
  ev_status st = need_handle(t);
  if (st || (st = ev__check_matrix("y", y, n, dims, ld)) ||
      (st = ev__check_finite("y", y, n, dims, ld)))
    return st;
  size_t bytes;
  if ((st = ev__bytes("initial map", n, dims, sizeof(float), &bytes)))
    return st;
  float *copy = ev__malloc(bytes);
  if (!copy) return ev__nomem("initial map", bytes);
  for (size_t i = 0; i < n; i++)
    memcpy(copy + i * dims, y + i * ld, dims * sizeof *copy);
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
  if (!kl)
    return ev__fail(EV_ERR_ARGUMENT,
                    "kl is NULL: pass the address of a double");
  *kl = t->kl;
  return EV_OK;
}

ev_status ev_tsne_n_iter(const ev_tsne *t, size_t *n_iter) {
  ev_status st = need_result(t);
  if (st) return st;
  if (!n_iter) return ev__fail(EV_ERR_ARGUMENT, "n_iter is NULL: pass &n");
  *n_iter = t->n_iter;
  return EV_OK;
}

ev_status ev_tsne_affinities(const ev_tsne *t, size_t *row_ptr,
                             int64_t *col_idx, float *values, size_t *nnz) {
  ev_status st = need_result(t);
  if (st) return st;
  if (!nnz)
    return ev__fail(EV_ERR_ARGUMENT,
                    "nnz is NULL: pass the address of a size_t");
  size_t have = t->p.row_ptr[t->n];
  if (!row_ptr && !col_idx && !values) {
    *nnz = have;
    return EV_OK;
  }
  if (!row_ptr || !col_idx || !values)
    return ev__fail(EV_ERR_ARGUMENT,
                    "pass all of row_ptr, col_idx and values, or none of them "
                    "to ask for the number of entries");
  if (*nnz < have) {
    size_t given = *nnz;
    *nnz = have;
    return ev__fail(EV_ERR_ARGUMENT,
                    "the arrays hold %zu entries but the affinities have %zu: "
                    "pass arrays of *nnz entries",
                    given, have);
  }
  memcpy(row_ptr, t->p.row_ptr, (t->n + 1) * sizeof *row_ptr);
  for (size_t e = 0; e < have; e++) {
    col_idx[e] = t->p.col[e];
    values[e] = (float)t->p.val[e];
  }
  *nnz = have;
  return EV_OK;
}
