/* Covariance solver, one pass over the data: C = (X - 1 s^T)^T (X - 1 s^T)
 * accumulated block by block (shift a block of rows, one SSYRK, add in
 * double) with s the mean of the first block, then centred exactly by
 * C - n (m - s)(m - s)^T with m the mean from the same pass, and the k
 * largest eigenpairs of C by dsyevr. The shift keeps the float products
 * small where the mean is large; the rank-one correction is done in
 * double. NaN or Inf show up on C's diagonal, so the data are checked
 * only when that happens (for the message). Peak memory: 12 d^2 + 8 d k
 * bytes plus one block of rows (about 32 MiB); the data are never copied
 * whole. */
#include <math.h>
#include <stdio.h>

#include "linalg/linalg.h"
#include "pca/pca.h"

/* Floats in one centred block of rows. */
#define BLOCK_FLOATS ((size_t)8 << 20)

static size_t block_rows(size_t n, size_t d) {
  size_t b = BLOCK_FLOATS / d;
  if (b < 256) b = 256;
  if (b > (size_t)INT_MAX / 2) b = (size_t)INT_MAX / 2;
  return b < n ? b : n;
}

typedef struct cov_work {
  double *gram, *w, *z, *sums; /* sums: 2 d (column sums, then scratch) */
  float *cf, *block, *shift;
} cov_work;

static void cov_free(cov_work *c) {
  ev__free(c->gram);
  ev__free(c->w);
  ev__free(c->z);
  ev__free(c->sums);
  ev__free(c->shift);
  ev__free_aligned(c->cf);
  ev__free_aligned(c->block);
}

static ev_status cov_alloc(cov_work *c, size_t d, size_t k, size_t rows) {
  size_t dd = d * d; /* checked by the caller with ev__bytes */
  c->gram = ev__calloc(dd, sizeof(double));
  c->w = ev__malloc(d * sizeof(double));
  c->z = ev__malloc(d * k * sizeof(double));
  c->cf = ev__malloc_aligned(dd * sizeof(float));
  c->block = ev__malloc_aligned(rows * d * sizeof(float));
  c->sums = ev__calloc(2 * d, sizeof(double));
  c->shift = ev__malloc(d * sizeof(float));
  if (c->gram && c->w && c->z && c->cf && c->block && c->sums && c->shift)
    return EV_OK;
  cov_free(c);
  /* 12 d^2 bytes whatever n is: fewer rows would not help */
  char what[96];
  snprintf(what, sizeof what,
           "the covariance solver (12 d^2 bytes for d = %zu features)", d);
  return ev__nomem_advice(
      what,
      dd * 12 + rows * d * 4,
      "reduce the number of features d, or use EV_PCA_SOLVER_RANDOMIZED "
      "(memory about 4 (n + d) (k + 10) bytes) for a few components");
}

static ev_status accumulate(const ev__pca_job *job, cov_work *c, size_t rows,
                            size_t steps) {
  const ev_pca *pca = job->pca;
  size_t step = 0;
  for (size_t r = 0; r < job->n; r += rows) {
    size_t b = job->n - r < rows ? job->n - r : rows;
    const float *shift = job->pca->center ? c->shift : NULL;
    ev__gram_accumulate(job->x + r * job->ld, b, job->d, job->ld, shift,
                        c->block, c->cf, c->gram, shift ? c->sums : NULL);
    ev_status st = ev__progress(pca->progress, pca->progress_user,
                                EV_STAGE_PCA, ++step, steps, NAN);
    if (st) return st;
  }
  return EV_OK;
}

/* The shift: the mean of the first block of rows (0 without centring). */
static void choose_shift(const ev__pca_job *job, cov_work *c, size_t rows) {
  size_t d = job->d;
  if (!job->pca->center) return;
  ev__column_moments(job->x, rows, d, job->ld, c->w, c->z);
  for (size_t j = 0; j < d; j++) c->shift[j] = (float)c->w[j];
}

/* Centre exactly, report the mean and the total variance (the trace). */
static ev_status finish(const ev__pca_job *job, cov_work *c, float *mean,
                        double *total) {
  size_t n = job->n, d = job->d;
  double *delta = c->sums + d, trace = 0;
  for (size_t j = 0; j < d; j++) {
    delta[j] = job->pca->center ? c->sums[j] / (double)n : 0.0;
    mean[j] = job->pca->center ? (float)(c->shift[j] + delta[j]) : 0.0f;
  }
  for (size_t i = 0; i < d; i++) {
    for (size_t j = i; j < d; j++)
      c->gram[i * d + j] -= (double)n * delta[i] * delta[j];
    trace += c->gram[i * d + i];
  }
  if (!isfinite(trace)) {
    ev_status st = ev__check_finite("x", job->x, n, d, job->ld);
    if (st) return st;
    return ev__fail(EV_ERR_OVERFLOW,
                    "x's sums of squares overflow single precision: rescale "
                    "x (e.g. divide by its largest magnitude) before the "
                    "PCA");
  }
  *total = trace / (double)(n - 1);
  return EV_OK;
}

ev_status ev__pca_solve_covariance(const ev__pca_job *job, ev__pca_raw *out,
                                   float *mean, double *total) {
  size_t n = job->n, d = job->d, k = job->k;
  if (!ev__fits_blas(d))
    return ev__fail(EV_ERR_ARGUMENT,
                    "the covariance solver needs d below 2^31, got %zu: use "
                    "EV_PCA_SOLVER_RANDOMIZED",
                    d);
  size_t rows = block_rows(n, d), blocks = (n + rows - 1) / rows;
  cov_work c = {0};
  ev_status st = cov_alloc(&c, d, k, rows);
  if (st) return st;
  choose_shift(job, &c, rows);
  st = accumulate(job, &c, rows, blocks + 1);
  if (!st) st = finish(job, &c, mean, total);
  if (!st) st = ev__sym_top_eigen(c.gram, d, k, c.w, c.z);
  if (!st)
    st = ev__progress(job->pca->progress, job->pca->progress_user,
                      EV_STAGE_PCA, blocks + 1, blocks + 1, NAN);
  float *comp = st ? NULL : ev__malloc(k * d * sizeof *comp);
  if (!st && !comp) st = ev__nomem("components", k * d * sizeof *comp);
  if (!st) {
    for (size_t i = 0; i < k * d; i++) comp[i] = (float)c.z[i];
    for (size_t i = 0; i < k; i++) c.w[i] /= (double)(n - 1);
    out->variance = c.w; /* handed over */
    out->components = comp;
    c.w = NULL;
  }
  cov_free(&c);
  return st;
}
