/* Projecting rows on the components and back. Rows are centred block by
 * block (about 16 MiB of floats at a time), so a huge x is never copied
 * whole and a large mean costs no accuracy. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "linalg/linalg.h"
#include "pca/pca.h"

#define BLOCK_FLOATS ((size_t)4 << 20)

static size_t block_rows(size_t n, size_t d) {
  size_t b = BLOCK_FLOATS / d;
  if (b < 64) b = 64;
  if (b > (size_t)INT_MAX / 2) b = (size_t)INT_MAX / 2;
  return b < n ? b : n;
}

/* 1 / sqrt(variance), or 0 for a component without variance. "Without"
 * is numpy's matrix_rank rule in float: a singular value at most
 * max(n, d) x FLT_EPSILON x the largest is rounding noise (two rows give one
 * real component and a second of about 1e-14 relative variance, which
 * whitening would blow up into noise scores of order 1). */
float ev__pca_whitening(const ev__pca_fit *f, size_t i) {
  double tol = (double)(f->n > f->d ? f->n : f->d) * FLT_EPSILON;
  double floor = (double)f->variance[0] * tol * tol;
  if (f->variance[i] <= FLT_MIN || (double)f->variance[i] <= floor)
    return 0.0f;
  return 1.0f / sqrtf(f->variance[i]);
}

static ev_status check_common(const ev_pca *pca, const float *in, size_t n,
                              size_t cols, size_t ldi, const char *in_name,
                              size_t want, const char *what) {
  EV__ARG_NOT_NULL(pca, "call ev_pca_create");
  if (!pca->fit)
    return ev__fail(EV_ERR_STATE,
                    "the PCA has no fit yet: call ev_pca_fit before %s", what);
  ev_status st = ev__check_matrix(in_name, in, n, cols, ldi);
  if (st) return st;
  if (cols != want)
    return ev__fail(EV_ERR_ARGUMENT,
                    "%s has %zu columns but the fit has %zu %s: pass rows "
                    "with %zu columns",
                    in_name, cols, want,
                    want == pca->fit->d ? "features" : "components", want);
  return EV_OK;
}

static ev_status check_ld(size_t ld1, size_t ld2) {
  if (!ev__fits_blas(ld1) || !ev__fits_blas(ld2))
    return ev__fail(EV_ERR_ARGUMENT,
                    "leading dimensions must be below 2^31 (BLAS limit), got "
                    "%zu and %zu",
                    ld1, ld2);
  return EV_OK;
}

static void project(const ev_pca *pca, const float *x, size_t n, size_t ldx,
                    float *buf, size_t rows, float *scores, size_t lds) {
  const ev__pca_fit *f = pca->fit;
  size_t d = f->d, k = f->k;
  for (size_t r = 0; r < n; r += rows) {
    size_t b = n - r < rows ? n - r : rows;
    const float *src = x + r * ldx;
    size_t lda = ldx;
    if (pca->center) {
      ev__center_rows(src, b, d, ldx, f->mean, buf);
      src = buf, lda = d;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)k,
                (int)d, 1.0f, src, (int)lda, f->components, (int)d, 0.0f,
                scores + r * lds, (int)lds);
  }
  if (!pca->whiten) return;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < k; j++)
      scores[i * lds + j] *= ev__pca_whitening(f, j);
}

ev_status ev_pca_transform(const ev_pca *pca, const float *x, size_t n,
                           size_t d, size_t ldx, float *scores, size_t lds) {
  ev_status st = check_common(pca, x, n, d, ldx, "x", pca && pca->fit
                                                          ? pca->fit->d : 0,
                              "ev_pca_transform");
  if (!st) st = ev__check_out_matrix("scores", scores, n, pca->fit->k, lds);
  if (!st) st = check_ld(ldx, lds);
  if (!st) st = ev__check_finite("x", x, n, d, ldx);
  if (st) return st;
  size_t rows = block_rows(n, d);
  float *buf = NULL;
  if (pca->center && !(buf = ev__malloc_aligned(rows * d * sizeof *buf)))
    return ev__nomem("a block of centred rows", rows * d * sizeof *buf);
  ev__threads scope;
  ev__threads_begin(&scope, pca->threads);
  project(pca, x, n, ldx, buf, rows, scores, lds);
  ev__threads_end(&scope);
  ev__free_aligned(buf);
  return EV_OK;
}

/* The components scaled back by sqrt(variance) when whitening. */
static const float *loadings(const ev_pca *pca, float **owned) {
  const ev__pca_fit *f = pca->fit;
  *owned = NULL;
  if (!pca->whiten) return f->components;
  float *w = ev__malloc(f->k * f->d * sizeof *w);
  if (!w) return NULL;
  for (size_t i = 0; i < f->k; i++) {
    float s = ev__pca_whitening(f, i) > 0 ? sqrtf(f->variance[i]) : 0.0f;
    for (size_t j = 0; j < f->d; j++)
      w[i * f->d + j] = s * f->components[i * f->d + j];
  }
  return *owned = w;
}

ev_status ev_pca_inverse_transform(const ev_pca *pca, const float *scores,
                                   size_t n, size_t k, size_t lds, float *x,
                                   size_t ldx) {
  ev_status st = check_common(pca, scores, n, k, lds, "scores",
                              pca && pca->fit ? pca->fit->k : 0,
                              "ev_pca_inverse_transform");
  if (!st) st = ev__check_out_matrix("x", x, n, pca->fit->d, ldx);
  if (!st) st = check_ld(ldx, lds);
  if (!st) st = ev__check_finite("scores", scores, n, k, lds);
  if (st) return st;
  const ev__pca_fit *f = pca->fit;
  float *owned;
  const float *w = loadings(pca, &owned);
  if (!w) return ev__nomem("whitened loadings", f->k * f->d * sizeof(float));
  size_t rows = (size_t)INT_MAX / 2;
  ev__threads scope;
  ev__threads_begin(&scope, pca->threads);
  for (size_t r = 0; r < n; r += rows) {
    size_t b = n - r < rows ? n - r : rows;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b,
                (int)f->d, (int)k, 1.0f, scores + r * lds, (int)lds, w,
                (int)f->d, 0.0f, x + r * ldx, (int)ldx);
  }
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < f->d; j++) x[i * ldx + j] += f->mean[j];
  ev__threads_end(&scope);
  ev__free(owned);
  return EV_OK;
}
