/* The PCA handle: creation, settings, and reading a fit out. */
#include <string.h>

#include "pca/pca.h"

/* The settings: X(id, lower, upper, whole number, default, field, type). */
#define PCA_SETTINGS(X)                                                     \
  X(EV_PCA_N_COMPONENTS, 0, 2147483647.0, true, 0, n_components, SIZE)      \
  X(EV_PCA_VARIANCE_TO_KEEP, 0, 1, false, 0, variance_to_keep, DOUBLE)      \
  X(EV_PCA_CENTER, 0, 1, true, 1, center, INT)                              \
  X(EV_PCA_WHITEN, 0, 1, true, 0, whiten, INT)                              \
  X(EV_PCA_SOLVER, 0, 3, true, EV_PCA_SOLVER_AUTO, solver, INT)             \
  X(EV_PCA_SEED, 0, 9007199254740991.0, true, 0, seed, U64)                 \
  X(EV_PCA_POWER_ITERATIONS, -1, 100, true, -1, power_iterations, INT)      \
  X(EV_PCA_OVERSAMPLES, 0, 10000, true, 10, oversamples, INT)               \
  X(EV_PCA_THREADS, 0, 4096, true, 0, threads, INT)                         \
  X(EV_PCA_FITTED_SOLVER, 0, 3, true, 0, fit, NONE)
#define SPEC(id, lo, hi, whole, def, field, type) \
  EV__SPEC(ev_pca, field, EV__SLOT_##type, id, lo, hi, whole, def),
static const ev__param_spec pca_params[] = {PCA_SETTINGS(SPEC)};
#define N_PARAMS (sizeof pca_params / sizeof pca_params[0])
EV__SETTINGS_COVER(ev_pca_param, PCA_SETTINGS)

ev_status ev_pca_create(ev_pca **out) {
  EV__ARG_NOT_NULL(out, "pass the address of an ev_pca pointer");
  *out = ev__param_new(sizeof **out, pca_params, N_PARAMS);
  return *out ? EV_OK : ev__nomem("a PCA handle", sizeof **out);
}

void ev__pca_fit_free(ev__pca_fit *fit) {
  if (!fit) return;
  ev__free(fit->components);
  ev__free(fit->mean);
  ev__free(fit->variance);
  ev__free(fit->ratio);
  ev__free(fit->singular);
  ev__free(fit);
}

void ev_pca_free(ev_pca *pca) {
  if (!pca) return;
  ev__pca_fit_free(pca->fit);
  ev__free(pca);
}

ev_status ev_pca_set(ev_pca *pca, ev_pca_param param, double value) {
  EV__ARG_NOT_NULL(pca, "call ev_pca_create");
  ev_status st = ev__param_check(pca_params, N_PARAMS, param, value, "PCA");
  if (st) return st;
  if (param == EV_PCA_FITTED_SOLVER)
    return ev__fail(EV_ERR_ARGUMENT,
                    "EV_PCA_FITTED_SOLVER is read-only (it reports what the "
                    "last fit used): set EV_PCA_SOLVER instead");
  return ev__param_set(pca_params, N_PARAMS, pca, param, value, "PCA");
}

ev_status ev_pca_get(const ev_pca *pca, ev_pca_param param, double *value) {
  EV__ARG_NOT_NULL(pca, "pass a handle and a result");
  EV__ARG_NOT_NULL(value, "pass a handle and a result");
  if (param == EV_PCA_FITTED_SOLVER) {
    *value = pca->fit ? pca->fit->solver : 0;
    return EV_OK;
  }
  return ev__param_get(pca_params, N_PARAMS, pca, param, value, "PCA");
}

ev_status ev_pca_param_bounds(ev_pca_param param, double *lower,
                              double *upper) {
  return ev__param_bounds(pca_params, N_PARAMS, param, "PCA", lower, upper);
}

ev_status ev_pca_param_default(ev_pca_param param, double *value) {
  return ev__param_default(pca_params, N_PARAMS, param, "PCA", value);
}

ev_status ev_pca_set_progress(ev_pca *pca, ev_progress_fn fn,
                              void *user_data) {
  EV__ARG_NOT_NULL(pca, "call ev_pca_create");
  pca->progress = fn;
  pca->progress_user = user_data;
  return EV_OK;
}

/* ---- reading the fit ---- */

static ev_status fitted(const ev_pca *pca, const void *out, const char *what) {
  EV__ARG_NOT_NULL(pca, "call ev_pca_create");
  EV__ARG_NULL_IF(!out, "%s", "pass a buffer for it", what);
  if (!pca->fit)
    return ev__fail(EV_ERR_STATE,
                    "the PCA has no fit yet: call ev_pca_fit before reading "
                    "%s",
                    what);
  return EV_OK;
}

ev_status ev_pca_n_components(const ev_pca *pca, size_t *k) {
  ev_status st = fitted(pca, k, "the number of components");
  if (st) return st;
  *k = pca->fit->k;
  return EV_OK;
}

ev_status ev_pca_n_features(const ev_pca *pca, size_t *d) {
  ev_status st = fitted(pca, d, "the number of features");
  if (st) return st;
  *d = pca->fit->d;
  return EV_OK;
}

ev_status ev_pca_components(const ev_pca *pca, float *components,
                            size_t ld) {
  ev_status st = fitted(pca, components, "components");
  if (st) return st;
  const ev__pca_fit *f = pca->fit;
  st = ev__check_out_matrix("components", components, f->k, f->d, ld);
  if (st) return st;
  for (size_t i = 0; i < f->k; i++)
    memcpy(components + i * ld, f->components + i * f->d,
           f->d * sizeof(float));
  return EV_OK;
}

static ev_status copy_vector(const ev_pca *pca, float *out, const char *what,
                             size_t which) {
  ev_status st = fitted(pca, out, what);
  if (st) return st;
  const ev__pca_fit *f = pca->fit;
  const float *src[] = {f->mean, f->variance, f->ratio, f->singular};
  memcpy(out, src[which], (which == 0 ? f->d : f->k) * sizeof(float));
  return EV_OK;
}

ev_status ev_pca_mean(const ev_pca *pca, float *mean) {
  return copy_vector(pca, mean, "mean", 0);
}
ev_status ev_pca_explained_variance(const ev_pca *pca, float *out) {
  return copy_vector(pca, out, "explained variance", 1);
}
ev_status ev_pca_explained_variance_ratio(const ev_pca *pca, float *out) {
  return copy_vector(pca, out, "explained variance ratio", 2);
}
ev_status ev_pca_singular_values(const ev_pca *pca, float *out) {
  return copy_vector(pca, out, "singular values", 3);
}
