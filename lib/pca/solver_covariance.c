/* Covariance solver: C = Xc^T Xc accumulated block by block (centre a block
 * of rows, one SSYRK, add in double), then the k largest eigenpairs of C by
 * dsyevr. Peak memory: 12 d^2 + 8 d k bytes plus one block of rows
 * (about 16 MiB); the data are never copied whole. */
#include <math.h>

#include "linalg/linalg.h"
#include "pca/pca.h"

/* Floats in one centred block of rows. */
#define BLOCK_FLOATS ((size_t)4 << 20)

static size_t block_rows(size_t n, size_t d) {
  size_t b = BLOCK_FLOATS / d;
  if (b < 256) b = 256;
  if (b > (size_t)INT_MAX / 2) b = (size_t)INT_MAX / 2;
  return b < n ? b : n;
}

typedef struct cov_work {
  double *gram, *w, *z;
  float *cf, *block;
} cov_work;

static void cov_free(cov_work *c) {
  ev__free(c->gram);
  ev__free(c->w);
  ev__free(c->z);
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
  if (c->gram && c->w && c->z && c->cf && c->block) return EV_OK;
  cov_free(c);
  return ev__nomem("the covariance solver", dd * 12 + rows * d * 4);
}

static ev_status accumulate(const ev__pca_job *job, cov_work *c, size_t rows,
                            size_t steps) {
  const ev_pca *pca = job->pca;
  size_t step = 0;
  for (size_t r = 0; r < job->n; r += rows) {
    size_t b = job->n - r < rows ? job->n - r : rows;
    ev__gram_accumulate(job->x + r * job->ld, b, job->d, job->ld, job->mean,
                        c->block, c->cf, c->gram);
    ev_status st = ev__progress(pca->progress, pca->progress_user,
                                EV_STAGE_PCA, ++step, steps, NAN);
    if (st) return st;
  }
  return EV_OK;
}

ev_status ev__pca_solve_covariance(const ev__pca_job *job, ev__pca_raw *out) {
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
  st = accumulate(job, &c, rows, blocks + 1);
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
