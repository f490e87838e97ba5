/*
 * embedviz/pca.h - principal component analysis.
 *
 * Fit once, transform many batches:
 *
 *   ev_pca *pca;
 *   ev_pca_create(&pca);
 *   ev_pca_set(pca, EV_PCA_N_COMPONENTS, 50);
 *   ev_pca_fit(pca, x, n, d, ld);
 *   ev_pca_transform(pca, x, n, d, ld, scores, 50);   // n x 50
 *   ev_pca_free(pca);
 *
 * Conventions follow scikit-learn's PCA: components are rows of a k x d
 * matrix in decreasing order of variance; explained variance is
 * S^2 / (n - 1); explained variance ratio is that over the total variance
 * of the (centred) data: the sum of all d column variances, also when a
 * solver finds only k components. Signs are deterministic: the
 * largest-magnitude loading of each component is positive (ties: the
 * lowest column index). Whitening divides each score by sqrt(explained
 * variance), or gives 0 for a component without variance: one whose
 * singular value is at most max(n, d) x FLT_EPSILON times the largest
 * (numpy's matrix_rank rule; e.g. the second component of two rows).
 *
 * Solvers (docs/pca.md has the details, memory and accuracy):
 *  - COVARIANCE: one pass over the data, blocks of rows centred and
 *    multiplied by SSYRK, summed in double; the k largest eigenpairs of the
 *    d x d covariance by LAPACK dsyevr. Memory 12 d^2 bytes + 32 MiB.
 *  - SVD: a centred copy (4 n d bytes) and LAPACK sgesdd; exact.
 *  - RANDOMIZED: Halko, Martinsson & Tropp (2011), Gaussian test matrix of
 *    k + EV_PCA_OVERSAMPLES columns, power iterations re-orthonormalised by
 *    QR, reading the caller's matrix where it is (no copy; the input is
 *    never changed); for a few components of a large
 *    matrix. Its default 7 iterations match scikit-learn's accuracy; more
 *    make it exact to float precision.
 *  - AUTO: RANDOMIZED when a number of components k is set, min(n, d) > 500,
 *    4 (k + 10) <= min(n, d) and either d > n, d > 4096 or its estimated
 *    cost is below the covariance solver's (n d^2 / 2 + 16 d^3 / 3
 *    against (2 q + 2) n d (k + 10)); else COVARIANCE when d <= n and
 *    d <= 4096; else SVD. Fashion-MNIST's 70,000 x 784 to 50 components
 *    takes COVARIANCE; 5,000 x 3,136 to 50 takes RANDOMIZED.
 */
#ifndef EMBEDVIZ_PCA_H
#define EMBEDVIZ_PCA_H

#include "embedviz/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ev_pca ev_pca;

/* Values of EV_PCA_SOLVER. */
typedef enum ev_pca_solver {
  EV_PCA_SOLVER_AUTO = 0,
  EV_PCA_SOLVER_COVARIANCE = 1, /* d x d covariance + symmetric eigensolver */
  EV_PCA_SOLVER_SVD = 2,        /* full thin SVD of the centred data */
  EV_PCA_SOLVER_RANDOMIZED = 3  /* randomized range finder + small SVD */
} ev_pca_solver;

/* Settings (ev_pca_set / ev_pca_get / ev_pca_param_bounds). */
typedef enum ev_pca_param {
  EV_PCA_N_COMPONENTS = 1,   /* components to keep; 0 (default) = min(n, d),
                                capped at min(n, d) at fit time */
  EV_PCA_VARIANCE_TO_KEEP = 2, /* in (0, 1]: keep the fewest components whose
                                explained variance ratios sum to at least
                                this; 0 (default) = off. Overrides
                                EV_PCA_N_COMPONENTS when set */
  EV_PCA_CENTER = 3,         /* 1 (default): subtract the mean; 0: do not */
  EV_PCA_WHITEN = 4,         /* 1: scale scores to unit variance; default 0 */
  EV_PCA_SOLVER = 5,         /* an ev_pca_solver; default AUTO */
  EV_PCA_SEED = 6,           /* randomized solver's seed; default 0 */
  EV_PCA_POWER_ITERATIONS = 7, /* randomized: -1 (default) = auto (7 when
                                k < 0.1 min(n, d), else 4) */
  EV_PCA_OVERSAMPLES = 8,    /* randomized: extra test vectors; default 10 */
  EV_PCA_THREADS = 9,        /* threads; 0 (default) = all cores */
  EV_PCA_FITTED_SOLVER = 10  /* read-only (ev_pca_get): the ev_pca_solver
                                the last fit ran, 0 before a fit. Setting
                                it gives EV_ERR_ARGUMENT */
} ev_pca_param;

/* A handle with the default settings. EV_ERR_ARGUMENT (out NULL),
 * EV_ERR_NOMEM. Threads: ev_pca_fit, ev_pca_set and ev_pca_set_progress
 * change the handle and need it to themselves; the calls taking a const
 * ev_pca * (ev_pca_transform, ev_pca_inverse_transform and the getters)
 * only read it, so many threads may use one fitted handle at once. */
EV_API ev_status ev_pca_create(ev_pca **out);
/* NULL is a no-op. */
EV_API void ev_pca_free(ev_pca *pca);
/* Change a setting (an ev_pca_param); it applies from the next call.
 * EV_ERR_ARGUMENT for an unknown setting, a value out of range (the handle
 * keeps its value) or EV_PCA_FITTED_SOLVER (read-only). */
EV_API ev_status ev_pca_set(ev_pca *pca, ev_pca_param param, double value);
/* Read a setting. EV_ERR_ARGUMENT for NULL or an unknown setting. */
EV_API ev_status ev_pca_get(const ev_pca *pca, ev_pca_param param,
                            double *value);
/* The valid range of a setting. EV_ERR_ARGUMENT for an unknown one. */
EV_API ev_status ev_pca_param_bounds(ev_pca_param param, double *lower,
                                     double *upper);
/* The default of a setting, the value a new handle has (since 1.1;
 * EV_PCA_FITTED_SOLVER: 0). EV_ERR_ARGUMENT for an unknown setting or a
 * NULL value. */
EV_API ev_status ev_pca_param_default(ev_pca_param param, double *value);
/* Progress of a fit (EV_STAGE_PCA) and cancelling it (the fit returns
 * EV_ERR_CANCELLED and the handle keeps its earlier fit). fn NULL turns it
 * off. EV_ERR_ARGUMENT when pca is NULL. */
EV_API ev_status ev_pca_set_progress(ev_pca *pca, ev_progress_fn fn,
                                     void *user_data);

/* Fit on the n x d matrix x (leading dimension ld). n >= 2. On failure the
 * handle keeps any earlier fit. EV_ERR_ARGUMENT (NULL, zero sizes, n < 2,
 * ld < d, the randomized solver with EV_PCA_VARIANCE_TO_KEEP, sizes beyond
 * LAPACK's 32-bit limits), EV_ERR_NONFINITE (NaN/Inf in x),
 * EV_ERR_OVERFLOW (sizes, or squares beyond float range), EV_ERR_NOMEM,
 * EV_ERR_CANCELLED. EV_ERR_NONFINITE also when the results would not be
 * finite in float (a variance beyond 3.4e38, from data near the float
 * range): scale the data down. */
EV_API ev_status ev_pca_fit(ev_pca *pca, const float *x, size_t n, size_t d,
                            size_t ld);

/* Sizes of the fit: components kept (k) and features (d). EV_ERR_STATE
 * before a fit. */
EV_API ev_status ev_pca_n_components(const ev_pca *pca, size_t *k);
EV_API ev_status ev_pca_n_features(const ev_pca *pca, size_t *d);

/* Copy out the fit. components: k x d (leading dimension ld); mean: d;
 * explained_variance, explained_variance_ratio, singular_values: k.
 * EV_ERR_STATE before a fit. */
EV_API ev_status ev_pca_components(const ev_pca *pca, float *components,
                                   size_t ld);
EV_API ev_status ev_pca_mean(const ev_pca *pca, float *mean);
EV_API ev_status ev_pca_explained_variance(const ev_pca *pca, float *out);
EV_API ev_status ev_pca_explained_variance_ratio(const ev_pca *pca,
                                                 float *out);
EV_API ev_status ev_pca_singular_values(const ev_pca *pca, float *out);

/* scores (n x k, leading dimension lds) = (x - mean) components^T, divided
 * by sqrt(explained variance) when whitening. x is n x d with d the fitted
 * number of features. EV_ERR_STATE before a fit; EV_ERR_ARGUMENT (NULL,
 * zero sizes, d or lds wrong); EV_ERR_NONFINITE; EV_ERR_NOMEM. */
EV_API ev_status ev_pca_transform(const ev_pca *pca, const float *x,
                                  size_t n, size_t d, size_t ldx,
                                  float *scores, size_t lds);

/* x (n x d, leading dimension ldx) = scores components + mean (scores
 * un-whitened first when whitening): the inverse of ev_pca_transform.
 * k must be the fitted number of components. Errors as ev_pca_transform. */
EV_API ev_status ev_pca_inverse_transform(const ev_pca *pca,
                                          const float *scores, size_t n,
                                          size_t k, size_t lds, float *x,
                                          size_t ldx);

/* Give pca a fitted state made elsewhere: a saved fit (the Python
 * bindings' pickles), or another library's PCA. k components of d features
 * (components: k x d, leading dimension ld, one per row), the mean (d
 * floats; NULL: zeros, data that was not centred), the k explained
 * variances, the data's total variance (the ratios are variance / total; 0
 * gives ratios of 0) and the number of samples the fit saw (the singular
 * values are sqrt(variance (n_samples - 1)), and whitening's tolerance
 * uses it). Afterwards the getters, ev_pca_transform and
 * ev_pca_inverse_transform give what they give after ev_pca_fit with that
 * result; whitening follows EV_PCA_WHITEN as always; the settings are not
 * changed. Copied: the arrays may be freed after the call.
 * EV_ERR_ARGUMENT (NULL pca, components or explained_variance; k or d 0,
 * k > d, ld < d, n_samples < 2, a negative variance or total),
 * EV_ERR_NONFINITE (NaN or Inf in any array), EV_ERR_NOMEM; on failure the
 * previous fit stays. Since 1.1. */
EV_API ev_status ev_pca_set_fit(ev_pca *pca, size_t k, size_t d,
                                const float *components, size_t ld,
                                const float *mean,
                                const float *explained_variance,
                                double total_variance, size_t n_samples);

#ifdef __cplusplus
}
#endif
#endif /* EMBEDVIZ_PCA_H */
