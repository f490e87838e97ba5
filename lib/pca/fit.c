/* ev_pca_fit: checks, the solver choice, and turning a solver's raw
 * eigenpairs into a fit (number of components, signs, ratios). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "linalg/linalg.h"
#include "pca/pca.h"

/* Largest d for which AUTO forms the d x d covariance (12 d^2 bytes:
 * 192 MiB at 4096). */
#define COVARIANCE_MAX_D 4096

/* The randomized solver fits when a number of components is asked for and
 * it is small against the data (as scikit-learn's rule). */
static bool randomized_fits(size_t m, size_t k, bool fraction) {
  return !fraction && m > 500 && 4 * (k + 10) <= m;
}

/* Power iterations for k components of data of rank m <= min(n, d) when
 * none are set (scikit-learn's rule). */
static int auto_power_iterations(size_t k, size_t m) {
  return 10 * k < m ? 7 : 4;
}

/* Rough costs in multiply-adds at BLAS-3 speed. Covariance: the Gram
 * matrix (n d^2 / 2) plus dsyevr's reduction to tridiagonal form (about
 * (2/3) d^3 at BLAS-2 speed, counted 8 times: 16/3 d^3). Randomized: each of
 * the q power iterations and the final projections pass twice over the
 * data with k + 10 columns, plus the orthonormalisations. */
static double covariance_cost(size_t n, size_t d) {
  return 0.5 * (double)n * d * d + 16.0 / 3.0 * (double)d * d * d;
}

static double randomized_cost(size_t n, size_t d, size_t k) {
  size_t m = n < d ? n : d, l = k + 10;
  size_t q = (size_t)auto_power_iterations(k, m);
  return (2.0 * q + 2.0) * n * d * l + (q + 1.0) * 2.0 * (n + d) * l * l;
}

int ev__pca_auto_solver(size_t n, size_t d, size_t k, bool fraction) {
  size_t m = n < d ? n : d;
  bool rnd = randomized_fits(m, k, fraction);
  if (d <= n && d <= COVARIANCE_MAX_D &&
      !(rnd && randomized_cost(n, d, k) < covariance_cost(n, d)))
    return EV_PCA_SOLVER_COVARIANCE;
  return rnd ? EV_PCA_SOLVER_RANDOMIZED : EV_PCA_SOLVER_SVD;
}

int ev__pca_power_iterations(const ev_pca *pca, size_t k, size_t n,
                             size_t d) {
  if (pca->power_iterations >= 0) return pca->power_iterations;
  size_t m = n < d ? n : d;
  return auto_power_iterations(k, m);
}

static ev_status check_fit_args(const ev_pca *pca, const float *x, size_t n,
                                size_t d, size_t ld) {
  EV__ARG_NOT_NULL(pca, "call ev_pca_create");
  ev_status st = ev__check_matrix("x", x, n, d, ld);
  if (st) return st;
  if (n < 2)
    return ev__fail(EV_ERR_ARGUMENT,
                    "PCA needs at least 2 rows to estimate a variance, got "
                    "%zu: pass more samples",
                    n);
  return EV_OK;
}

static ev_status check_solver(const ev_pca *pca, int solver, size_t n,
                              size_t d, size_t ld) {
  size_t nd;
  if (solver == EV_PCA_SOLVER_RANDOMIZED && pca->variance_to_keep > 0)
    return ev__fail(EV_ERR_ARGUMENT,
                    "the randomized solver needs a number of components, but "
                    "EV_PCA_VARIANCE_TO_KEEP is set: set it to 0 and set "
                    "EV_PCA_N_COMPONENTS, or use another EV_PCA_SOLVER");
  if (solver == EV_PCA_SOLVER_COVARIANCE)
    return ev__bytes("the covariance matrix", d, d, 3 * sizeof(float), &nd);
  if (solver == EV_PCA_SOLVER_SVD &&
      (!ev__mul(n, d, &nd) || !ev__fits_blas(nd) || !ev__fits_blas(d)))
    return ev__fail(EV_ERR_ARGUMENT,
                    "the SVD solver needs n x d = %zu x %zu below 2^31 "
                    "elements: use EV_PCA_SOLVER_COVARIANCE or RANDOMIZED",
                    n, d);
  if (solver == EV_PCA_SOLVER_RANDOMIZED &&
      (!ev__fits_blas(n) || !ev__fits_blas(ld)))
    return ev__fail(EV_ERR_ARGUMENT,
                    "the randomized solver needs n and ld below 2^31, got %zu "
                    "and %zu: use EV_PCA_SOLVER_COVARIANCE",
                    n, ld);
  return EV_OK;
}

/* Components to keep: the fewest whose ratios reach the fraction. */
static size_t kept(const ev_pca *pca, const double *var, size_t k,
                   double total) {
  if (pca->variance_to_keep <= 0 || total <= 0) return k;
  double sum = 0;
  for (size_t i = 0; i < k; i++) {
    sum += var[i];
    if (sum >= pca->variance_to_keep * total) return i + 1;
  }
  return k;
}

/* Make the largest-magnitude loading positive (ties: lowest index). */
static void fix_sign(float *v, size_t d) {
  size_t arg = 0;
  for (size_t j = 1; j < d; j++)
    if (fabsf(v[j]) > fabsf(v[arg])) arg = j;
  if (v[arg] < 0)
    for (size_t j = 0; j < d; j++) v[j] = -v[j];
}

/* The inputs were finite, but their squares can pass the float range (a
 * variance of (1e20)^2 is inf in float): check what the solver gives back
 * rather than hand out inf with EV_OK. */
static ev_status check_results(const ev__pca_fit *f) {
  const char *what = NULL;
  size_t at = 0;
  if (!isfinite(f->total_variance))
    what = "the total variance";
  for (size_t i = 0; !what && i < f->k; i++) {
    if (!isfinite(f->variance[i]) || !isfinite(f->singular[i]))
      what = "the explained variance of component", at = i + 1;
    for (size_t j = 0; !what && j < f->d; j++)
      if (!isfinite(f->components[i * f->d + j]))
        what = "a loading of component", at = i + 1;
  }
  if (!what) return EV_OK;
  char num[32] = "";
  if (at) snprintf(num, sizeof num, " %zu", at);
  return ev__fail(EV_ERR_NONFINITE,
                  "%s%s is not finite in float: the data's squared values "
                  "pass the float range (about 3.4e38); scale the data down "
                  "(for example divide by its largest absolute value, or "
                  "standardise each column) and fit again",
                  what, num);
}

static ev_status make_fit(const ev_pca *pca, const ev__pca_raw *raw,
                          size_t k, size_t n, size_t d, const float *mean,
                          double total, int solver, ev__pca_fit **out) {
  ev__pca_fit *f = ev__calloc(1, sizeof *f);
  if (!f) return ev__nomem("a PCA fit", sizeof *f);
  f->k = kept(pca, raw->variance, k, total);
  f->d = d, f->n = n, f->solver = solver, f->total_variance = total;
  f->components = ev__malloc(f->k * d * sizeof(float));
  f->mean = ev__malloc(d * sizeof(float));
  f->variance = ev__malloc(f->k * sizeof(float));
  f->ratio = ev__malloc(f->k * sizeof(float));
  f->singular = ev__malloc(f->k * sizeof(float));
  if (!f->components || !f->mean || !f->variance || !f->ratio ||
      !f->singular) {
    size_t bytes = f->k * d * sizeof(float);
    ev__pca_fit_free(f);
    return ev__nomem("the PCA fit", bytes);
  }
  memcpy(f->components, raw->components, f->k * d * sizeof(float));
  memcpy(f->mean, mean, d * sizeof(float));
  for (size_t i = 0; i < f->k; i++) {
    double v = raw->variance[i] > 0 ? raw->variance[i] : 0;
    f->variance[i] = (float)v;
    f->ratio[i] = total > 0 ? (float)(v / total) : 0.0f;
    f->singular[i] = (float)sqrt(v * (double)(n - 1));
    fix_sign(f->components + i * d, d);
  }
  ev_status st = check_results(f);
  if (st) {
    ev__pca_fit_free(f);
    return st;
  }
  *out = f;
  return EV_OK;
}


/* Mean (as floats) and total variance, from one pass in double. */
static ev_status moments(const ev_pca *pca, const float *x, size_t n,
                         size_t d, size_t ld, float *mean, double *total) {
  double *m = ev__malloc(2 * d * sizeof *m);
  if (!m) return ev__nomem("column moments", 2 * d * sizeof *m);
  ev__column_moments(x, n, d, ld, m, m + d);
  double ss = 0;
  for (size_t j = 0; j < d; j++) {
    ss += m[d + j];
    if (!pca->center) ss += (double)n * m[j] * m[j]; /* about zero */
    mean[j] = pca->center ? (float)m[j] : 0.0f;
  }
  *total = ss / (double)(n - 1);
  ev__free(m);
  return EV_OK;
}

static ev_status fit_checked(ev_pca *pca, const float *x, size_t n, size_t d,
                             size_t ld) {
  size_t m = n < d ? n : d;
  bool fraction = pca->variance_to_keep > 0;
  size_t k = fraction || !pca->n_components ? m
             : pca->n_components < m        ? pca->n_components
                                            : m;
  int solver = pca->solver ? pca->solver
                           : ev__pca_auto_solver(n, d, k, fraction);
  ev_status st = check_solver(pca, solver, n, d, ld);
  if (st) return st;
  float *mean = ev__malloc(d * sizeof *mean);
  if (!mean) return ev__nomem("the mean", d * sizeof *mean);
  double total = 0;
  ev__pca_raw raw = {NULL, NULL};
  ev__pca_fit *fit = NULL;
  ev__pca_job job = {x, n, d, ld, NULL, k, pca};
  if (solver == EV_PCA_SOLVER_COVARIANCE) {
    st = ev__pca_solve_covariance(&job, &raw, mean, &total);
  } else {
    st = ev__check_finite("x", x, n, d, ld);
    if (!st) st = moments(pca, x, n, d, ld, mean, &total);
    job.mean = pca->center ? mean : NULL;
    if (!st && solver == EV_PCA_SOLVER_SVD) st = ev__pca_solve_svd(&job, &raw);
    else if (!st) st = ev__pca_solve_randomized(&job, &raw);
  }
  if (!st) st = make_fit(pca, &raw, k, n, d, mean, total, solver, &fit);
  ev__free(raw.variance);
  ev__free(raw.components);
  ev__free(mean);
  if (st) return st;
  ev__pca_fit_free(pca->fit);
  pca->fit = fit;
  return EV_OK;
}

ev_status ev_pca_fit(ev_pca *pca, const float *x, size_t n, size_t d,
                     size_t ld) {
  ev_status st = check_fit_args(pca, x, n, d, ld);
  if (st) return st;
  ev__threads scope;
  ev__threads_begin(&scope, pca->threads);
  st = fit_checked(pca, x, n, d, ld);
  ev__threads_end(&scope);
  return st;
}

ev_status ev_pca_set_fit(ev_pca *pca, size_t k, size_t d,
                         const float *components, size_t ld,
                         const float *mean, const float *explained_variance,
                         double total_variance, size_t n_samples) {
  EV__ARG_NOT_NULL(pca, "make one with ev_pca_create first");
  EV__ARG_NOT_NULL(explained_variance, "pass the k explained variances");
  ev_status st = ev__check_matrix("components", components, k, d, ld);
  if (st) return st;
  if (k > d)
    return ev__fail(EV_ERR_ARGUMENT, "k = %zu components of %zu features: "
                    "pass k <= d (a PCA has at most as many components as "
                    "features)", k, d);
  if (n_samples < 2)
    return ev__fail(EV_ERR_ARGUMENT, "n_samples is %zu: a fit needs at "
                    "least 2 samples (pass the number the fit saw)", n_samples);
  if ((st = ev__check_finite("components", components, k, d, ld)) ||
      (mean && (st = ev__check_finite("mean", mean, 1, d, d))) ||
      (st = ev__check_finite("explained_variance", explained_variance, 1, k, k)))
    return st;
  if (!isfinite(total_variance) || total_variance < 0)
    return ev__fail(EV_ERR_ARGUMENT, "total_variance is %g: pass the data's "
                    "total variance (>= 0, finite)", total_variance);
  for (size_t i = 0; i < k; i++)
    if (explained_variance[i] < 0)
      return ev__fail(EV_ERR_ARGUMENT, "explained_variance[%zu] is %g: "
                      "pass variances >= 0 (a variance cannot be negative)", i,
                      (double)explained_variance[i]);
  ev__pca_fit *f = ev__calloc(1, sizeof *f);
  if (!f) return ev__nomem("a PCA fit", sizeof *f);
  f->k = k, f->d = d, f->n = n_samples, f->solver = pca->solver;
  f->total_variance = total_variance;
  f->components = ev__malloc(k * d * sizeof(float));
  f->mean = ev__malloc(d * sizeof(float));
  f->variance = ev__malloc(k * sizeof(float));
  f->ratio = ev__malloc(k * sizeof(float));
  f->singular = ev__malloc(k * sizeof(float));
  if (!f->components || !f->mean || !f->variance || !f->ratio ||
      !f->singular) {
    ev__pca_fit_free(f);
    return ev__nomem("the PCA fit", k * d * sizeof(float));
  }
  for (size_t i = 0; i < k; i++) {
    memcpy(f->components + i * d, components + i * ld, d * sizeof(float));
    double v = explained_variance[i];
    f->variance[i] = (float)v;
    f->ratio[i] = total_variance > 0 ? (float)(v / total_variance) : 0.0f;
    f->singular[i] = (float)sqrt(v * (double)(n_samples - 1));
  }
  if (mean) memcpy(f->mean, mean, d * sizeof(float));
  else memset(f->mean, 0, d * sizeof(float));
  ev__pca_fit_free(pca->fit);
  pca->fit = f;
  return EV_OK;
}
