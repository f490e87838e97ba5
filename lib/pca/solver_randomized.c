/* Randomized solver (Halko, Martinsson & Tropp 2011, algorithms 4.3/4.4
 * and 5.1): a Gaussian test matrix of k + oversamples columns, q power
 * iterations re-normalised on both sides (LU when q > 2, else QR, as
 * scikit-learn), a final QR, then the SVD of the small projected matrix in
 * double. The data are centred implicitly
 * (Xc Q = X Q - 1 (mean^T Q), Xc^T Y = X^T Y - mean (1^T Y)), so the
 * solver reads the caller's matrix in place: peak memory is (n + 3 d) l
 * floats with l = k + oversamples, plus the fit. */
#include <cblas.h>
#include <math.h>

#include "linalg/linalg.h"
#include "pca/pca.h"

typedef struct rnd_work {
  size_t l;
  float *q;  /* d x l, column-major: the current basis on the feature side */
  float *y;  /* n x l, column-major: the current basis on the sample side */
  double *z; /* d x l for the final SVD */
  double *s; /* l singular values */
} rnd_work;

/* y = (x - 1 mean^T) q */
static void apply_x(const ev__pca_job *job, rnd_work *w) {
  int n = (int)job->n, d = (int)job->d, l = (int)w->l;
  cblas_sgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, l, d, 1.0f, job->x,
              (int)job->ld, w->q, d, 0.0f, w->y, n);
  if (!job->mean) return;
#pragma omp parallel for schedule(static)
  for (int j = 0; j < l; j++) {
    double r = 0;
    for (int i = 0; i < d; i++) r += (double)job->mean[i] * w->q[j * d + i];
    float rf = (float)r;
    float *col = w->y + (size_t)j * n;
    for (int i = 0; i < n; i++) col[i] -= rf;
  }
}

/* q = (x - 1 mean^T)^T y */
static void apply_xt(const ev__pca_job *job, rnd_work *w) {
  int n = (int)job->n, d = (int)job->d, l = (int)w->l;
  cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, l, n, 1.0f,
              job->x, (int)job->ld, w->y, n, 0.0f, w->q, d);
  if (!job->mean) return;
#pragma omp parallel for schedule(static)
  for (int j = 0; j < l; j++) {
    double s = 0;
    const float *col = w->y + (size_t)j * n;
    for (int i = 0; i < n; i++) s += col[i];
    for (int i = 0; i < d; i++) w->q[j * d + i] -= (float)(job->mean[i] * s);
  }
}

/* A basis of a's columns for a power step: LU (P L) when there are more
 * than 2 steps, else QR, as scikit-learn's 'auto' normaliser. */
static ev_status power_basis(float *a, size_t m, size_t l, int q) {
  return q > 2 ? ev__lu_basis(a, m, l, m) : ev__orthonormalize(a, m, l, m);
}

static ev_status range_finder(const ev__pca_job *job, rnd_work *w, int q) {
  const ev_pca *pca = job->pca;
  size_t n = job->n, d = job->d, l = w->l;
  ev__fill_normal(w->q, d * l, pca->seed);
  ev_status st = EV_OK;
  for (int it = 0; it < q && !st; it++) {
    apply_x(job, w);
    st = power_basis(w->y, n, l, q);
    if (!st) {
      apply_xt(job, w);
      st = power_basis(w->q, d, l, q);
    }
    if (!st)
      st = ev__progress(pca->progress, pca->progress_user, EV_STAGE_PCA,
                        (size_t)it + 1, (size_t)q + 1, NAN);
  }
  if (st) return st;
  apply_x(job, w);
  return ev__orthonormalize(w->y, n, l, n);
}

/* Finite data can still overflow the float products of the power steps
 * (values near FLT_MAX); LAPACK then meets NaN and refuses it, which must
 * not read as a bug of ours (found by fuzz/fuzz_pca.c). */
static ev_status basis_finite(const double *z, size_t count) {
  for (size_t i = 0; i < count; i++)
    if (!isfinite(z[i]))
      return ev__fail(EV_ERR_NONFINITE, "the randomized PCA solver "
                      "overflowed single precision: the data's values are "
                      "too large; rescale them or use "
                      "EV_PCA_SOLVER_COVARIANCE");
  return EV_OK;
}

static void rnd_free(rnd_work *w) {
  ev__free_aligned(w->q);
  ev__free_aligned(w->y);
  ev__free(w->z);
  ev__free(w->s);
}

ev_status ev__pca_solve_randomized(const ev__pca_job *job, ev__pca_raw *out) {
  size_t n = job->n, d = job->d, k = job->k, m = n < d ? n : d;
  int q = ev__pca_power_iterations(job->pca, k, n, d);
  rnd_work w = {0};
  w.l = k + (size_t)job->pca->oversamples < m ? k + job->pca->oversamples : m;
  size_t bytes;
  ev_status st = ev__bytes("the randomized solver's basis", n + 3 * d, w.l,
                           sizeof(float), &bytes);
  if (st) return st;
  w.q = ev__malloc_aligned(d * w.l * sizeof(float));
  w.y = ev__malloc_aligned(n * w.l * sizeof(float));
  w.z = ev__malloc(d * w.l * sizeof(double));
  w.s = ev__malloc(w.l * sizeof(double));
  double *var = ev__malloc(k * sizeof *var);
  float *comp = ev__malloc(k * d * sizeof *comp);
  if (!w.q || !w.y || !w.z || !w.s || !var || !comp)
    st = ev__nomem("the randomized solver", bytes);
  if (!st) st = range_finder(job, &w, q);
  if (!st) {
    apply_xt(job, &w); /* q = B^T = Xc^T Y, d x l */
    for (size_t i = 0; i < d * w.l; i++) w.z[i] = w.q[i];
    st = basis_finite(w.z, d * w.l);
    if (!st) st = ev__svd_left_d(w.z, d, w.l, w.s, NULL);
  }
  if (!st) {
    for (size_t i = 0; i < k * d; i++) comp[i] = (float)w.z[i];
    for (size_t i = 0; i < k; i++) var[i] = w.s[i] * w.s[i] / (double)(n - 1);
    st = ev__progress(job->pca->progress, job->pca->progress_user,
                      EV_STAGE_PCA, (size_t)q + 1, (size_t)q + 1, NAN);
  }
  rnd_free(&w);
  if (st) {
    ev__free(var);
    ev__free(comp);
    return st;
  }
  out->variance = var;
  out->components = comp;
  return EV_OK;
}
