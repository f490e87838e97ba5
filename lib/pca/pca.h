/* Private parts of the PCA room: the handle, a fit, and the solvers'
 * common contract. */
#ifndef EV_LIB_PCA_H
#define EV_LIB_PCA_H

#include "core/core.h"
#include "embedviz/pca.h"

/* A finished fit. Replaced as a whole, so a failed fit keeps the old one. */
typedef struct ev__pca_fit {
  size_t k, d, n;
  int solver;          /* the ev_pca_solver that ran */
  float *components;   /* k x d, row-major */
  float *mean;         /* d (zeros when not centring) */
  float *variance;     /* k: explained variance S^2 / (n - 1) */
  float *ratio;        /* k: over total_variance */
  float *singular;     /* k */
  double total_variance;
} ev__pca_fit;

struct ev_pca {
  size_t n_components;
  double variance_to_keep;
  int center, whiten, solver, power_iterations, oversamples, threads;
  uint64_t seed;
  ev_progress_fn progress;
  void *progress_user;
  ev__pca_fit *fit;
};

/* What a solver is asked for. */
typedef struct ev__pca_job {
  const float *x;
  size_t n, d, ld;
  const float *mean;   /* d floats, or NULL when not centring */
  size_t k;            /* eigenpairs wanted, 1 <= k <= min(n, d) */
  const ev_pca *pca;   /* settings and progress callback */
} ev__pca_job;

/* What a solver gives: k variances S^2 / (n - 1) in decreasing order
 * (double, variance[k]) and the k components as rows of a k x d float
 * matrix, in memory the solver allocates with ev__malloc. */
typedef struct ev__pca_raw {
  double *variance;
  float *components;
} ev__pca_raw;

/* The covariance solver also finds the mean and total variance in its one
 * pass (job->mean is NULL; it checks finiteness itself). */
ev_status ev__pca_solve_covariance(const ev__pca_job *job, ev__pca_raw *out,
                                   float *mean, double *total);
ev_status ev__pca_solve_svd(const ev__pca_job *job, ev__pca_raw *out);
ev_status ev__pca_solve_randomized(const ev__pca_job *job, ev__pca_raw *out);

/* Power iterations the randomized solver runs for k components. */
int ev__pca_power_iterations(const ev_pca *pca, size_t k, size_t n,
                             size_t d);
/* The solver AUTO picks (documented in docs/pca.md). */
int ev__pca_auto_solver(size_t n, size_t d, size_t k, bool fraction);

void ev__pca_fit_free(ev__pca_fit *fit);

/* The factor whitening multiplies score i by: 1 / sqrt(variance), or 0 for
 * a component without variance (transform.c; the contributions of
 * lib/explain use it too, so their sum is the score). */
float ev__pca_whitening(const ev__pca_fit *f, size_t i);

#endif
