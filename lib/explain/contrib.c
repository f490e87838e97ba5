/* PCA contributions: a score taken apart into its per-feature terms. */
#include <math.h>
#include <stdlib.h>

#include "explain/explain_private.h"
#include "pca/pca.h"

static ev_status check_fit(const ev_pca *pca, size_t component, size_t d,
                           const char *call) {
  EV__ARG_NOT_NULL(pca, "make one with ev_pca_create and fit it first");
  const ev__pca_fit *f = pca->fit;
  if (!f)
    return ev__fail(EV_ERR_STATE,
                    "the PCA has no fit yet: call ev_pca_fit before %s", call);
  if (component >= f->k)
    return ev__fail(EV_ERR_ARGUMENT,
                    "component %zu is out of range: the fit kept %zu "
                    "component%s; pass 0 to %zu",
                    component, f->k, f->k == 1 ? "" : "s", f->k - 1);
  if (d != f->d)
    return ev__fail(EV_ERR_ARGUMENT,
                    "x has %zu columns but the fit has %zu features: pass "
                    "rows with %zu columns",
                    d, f->d, f->d);
  return EV_OK;
}

/* (x - mean) * loading * scale for the n rows, into out. */
static void contributions(const ev__pca_fit *f, float scale,
                          const float *loading, const float *x, size_t n,
                          size_t ldx, float *out, size_t ldo) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < f->d; j++)
      out[i * ldo + j] = (x[i * ldx + j] - f->mean[j]) * loading[j] * scale;
}

ev_status ev_pca_contributions(const ev_pca *pca, size_t component,
                               const float *x, size_t n, size_t d,
                               size_t ldx, float *out, size_t ldo) {
  ev_status st = check_fit(pca, component, d, "ev_pca_contributions");
  if (!st) st = ev__check_matrix("x", x, n, d, ldx);
  if (!st) st = ev__check_out_matrix("out", out, n, d, ldo);
  if (!st) st = ev__check_finite("x", x, n, d, ldx);
  if (st) return st;
  const ev__pca_fit *f = pca->fit;
  float scale = pca->whiten ? ev__pca_whitening(f, component) : 1.0f;
  contributions(f, scale, f->components + component * f->d, x, n, ldx, out,
                ldo);
  return EV_OK;
}

ev_status ev_pca_top_contributions(const ev_pca *pca, size_t component,
                                   const float *x, size_t d, size_t top,
                                   int64_t *features, float *values) {
  ev_status st = check_fit(pca, component, d, "ev_pca_top_contributions");
  if (st) return st;
  EV__ARG_NOT_NULL(x, "pass the row to explain (d floats)");
  EV__ARG_NOT_NULL(features, "pass room for top feature indices");
  if (top == 0 || top > d)
    return ev__fail(EV_ERR_ARGUMENT,
                    "top = %zu: pass a count from 1 to the %zu features", top,
                    d);
  if ((st = ev__check_finite("x", x, 1, d, d))) return st;
  float *c = ev__malloc(d * sizeof *c);
  ev__ranked *rank = ev__malloc(d * sizeof *rank);
  if (!c || !rank) {
    ev__free(c);
    ev__free(rank);
    return ev__nomem("contributions", d * (sizeof *c + sizeof *rank));
  }
  const ev__pca_fit *f = pca->fit;
  float scale = pca->whiten ? ev__pca_whitening(f, component) : 1.0f;
  contributions(f, scale, f->components + component * f->d, x, 1, d, c, d);
  for (size_t j = 0; j < d; j++) rank[j] = (ev__ranked){fabsf(c[j]), (int64_t)j};
  ev__rank_desc(rank, d);
  for (size_t i = 0; i < top; i++) {
    features[i] = rank[i].index;
    if (values) values[i] = c[rank[i].index];
  }
  ev__free(c);
  ev__free(rank);
  return EV_OK;
}

static int by_key_desc(const void *a, const void *b) {
  const ev__ranked *p = a, *q = b;
  if (p->key != q->key) return p->key > q->key ? -1 : 1;
  return (p->index > q->index) - (p->index < q->index);
}

void ev__rank_desc(ev__ranked *r, size_t n) {
  qsort(r, n, sizeof *r, by_key_desc);
}
