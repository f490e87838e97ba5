/*
 * embedviz/explain.h - why a point sits where it sits on a map (since 1.1).
 *
 * Three pieces of numerics behind the "explain" figures (docs/explain.md):
 *
 *  - PCA contributions: a PCA score is a sum over features,
 *      score_k(x) = sum_j (x_j - mean_j) loading_kj,
 *    and each term is the feature's contribution to component k.
 *
 *      float c[d];
 *      ev_pca_contributions(pca, 0, x, 1, d, d, c, d);   // PC1, one row
 *      int64_t f[10]; float v[10];
 *      ev_pca_top_contributions(pca, 0, x, d, 10, f, v);  // largest |c|
 *
 *  - Ridge regression from features (n x d) to map coordinates (n x t),
 *    closed form through one SVD of the centred features, the
 *    regularisation alpha given or chosen over a grid by leave-one-out
 *    error (the hat-matrix shortcut scikit-learn's RidgeCV uses and calls
 *    GCV) or by generalised cross-validation proper:
 *
 *      ev_ridge *r;
 *      ev_ridge_create(&r);
 *      ev_ridge_fit(r, feats, n, d, d, map, 2, 2);
 *      ev_ridge_coef(r, coef, d);                 // 2 x d
 *      double alpha, r2[2], r2_cv[2];
 *      ev_ridge_alpha(r, &alpha);
 *      ev_ridge_r2(r, r2, r2_cv, 2);
 *      ev_ridge_free(r);
 *
 *  - The correlation matrix of the features and an order of the features
 *    by hierarchical clustering that puts correlated features together:
 *
 *      ev_feature_correlation(feats, n, d, d, corr, d);
 *      ev_feature_order(corr, d, d, order);
 *
 * Threads: a ridge handle is used by one thread at a time; the calls
 * without a handle may be called from any thread.
 */
#ifndef EMBEDVIZ_EXPLAIN_H
#define EMBEDVIZ_EXPLAIN_H

#include "embedviz/core.h"
#include "embedviz/pca.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- PCA contributions -------------------------------------------------- */

/* The contributions of each feature of the rows x (n x d, leading
 * dimension ldx; d the fitted number of features) to PCA component
 * `component` (0 = PC1) of a fitted pca: out[i][j] = (x[i][j] - mean_j)
 * components[component][j], divided by sqrt(explained variance) when the
 * handle whitens (0 for a component without variance, as
 * ev_pca_transform). Row i of out (n x d, leading dimension ldo) sums to
 * the score ev_pca_transform gives, up to rounding (the sum here is
 * float, the transform's a BLAS product). Since 1.1. EV_ERR_STATE before
 * a fit; EV_ERR_ARGUMENT for NULL pointers, n = 0, d not the fitted
 * number of features, ldx or ldo < d, component >= the number of
 * components kept; EV_ERR_NONFINITE for NaN or Inf in x (the message
 * names the position); EV_ERR_OVERFLOW. out is untouched on failure. */
EV_API ev_status ev_pca_contributions(const ev_pca *pca, size_t component,
                                      const float *x, size_t n, size_t d,
                                      size_t ldx, float *out, size_t ldo);

/* The `top` largest contributions in absolute value of the one row x (d
 * floats) to component `component`, largest first, equal magnitudes by
 * lower feature index: features[top] their indices, values[top] the signed
 * contributions (values may be NULL). top is capped at d by the caller:
 * top > d is refused. Since 1.1. Errors as ev_pca_contributions, and
 * EV_ERR_ARGUMENT for top = 0 or top > d, features NULL; EV_ERR_NOMEM. */
EV_API ev_status ev_pca_top_contributions(const ev_pca *pca,
                                          size_t component, const float *x,
                                          size_t d, size_t top,
                                          int64_t *features, float *values);

/* ---- Ridge regression --------------------------------------------------- */

typedef struct ev_ridge ev_ridge;

/* Values of EV_RIDGE_CRITERION: how alpha is chosen over the grid. */
typedef enum ev_ridge_criterion {
  EV_RIDGE_LOO = 0, /* mean squared leave-one-out error over rows and
                       outputs, by the shortcut e_i / (1 - h_ii) with h the
                       hat matrix (intercept included): what scikit-learn's
                       RidgeCV does by default (it calls it GCV) */
  EV_RIDGE_GCV = 1  /* generalised cross-validation (Golub, Heath & Wahba,
                       Technometrics 21, 1979): mean squared residual over
                       (1 - trace(H) / n)^2 */
} ev_ridge_criterion;

/* Settings (ev_ridge_set / ev_ridge_get / ev_ridge_param_bounds). */
typedef enum ev_ridge_param {
  EV_RIDGE_ALPHA = 1,         /* the regularisation when it is not chosen;
                                 default 1 (scikit-learn's Ridge); 0 gives
                                 the minimum-norm least-squares fit */
  EV_RIDGE_CHOOSE_ALPHA = 2,  /* 1 (default): choose alpha over the grid by
                                 EV_RIDGE_CRITERION; 0: use EV_RIDGE_ALPHA */
  EV_RIDGE_CRITERION = 3,     /* an ev_ridge_criterion; default EV_RIDGE_LOO */
  EV_RIDGE_FIT_INTERCEPT = 4, /* 1 (default): centre features and targets
                                 and fit an unpenalised intercept; 0: none */
  EV_RIDGE_THREADS = 5        /* threads; 0 (default) = all cores */
} ev_ridge_param;

/* The default grid of alphas: 10^-3, 10^-2.5, ..., 10^6 (19 values).
 * ev_ridge_set_alphas replaces it. */
#define EV_RIDGE_DEFAULT_GRID 19

/* Make a handle with default settings (since 1.1). EV_ERR_ARGUMENT if out
 * is NULL, EV_ERR_NOMEM. */
EV_API ev_status ev_ridge_create(ev_ridge **out);
/* Release a handle; NULL is a no-op (since 1.1). */
EV_API void ev_ridge_free(ev_ridge *r);
/* Change or read a setting (since 1.1). EV_ERR_ARGUMENT, nothing changed,
 * for a value outside ev_ridge_param_bounds or an unknown param. */
EV_API ev_status ev_ridge_set(ev_ridge *r, ev_ridge_param param,
                              double value);
EV_API ev_status ev_ridge_get(const ev_ridge *r, ev_ridge_param param,
                              double *value);
/* A setting's valid range and default (since 1.1): ALPHA [0, 1e12],
 * CHOOSE_ALPHA and FIT_INTERCEPT [0, 1], CRITERION [0, 1], THREADS
 * [0, 1024]. EV_ERR_ARGUMENT for an unknown param or a NULL pointer. */
EV_API ev_status ev_ridge_param_bounds(ev_ridge_param param, double *lower,
                                       double *upper);
EV_API ev_status ev_ridge_param_default(ev_ridge_param param, double *value);
/* The grid alpha is chosen from when EV_RIDGE_CHOOSE_ALPHA is 1: count
 * values (copied), each finite and >= 0; alphas NULL with count 0 restores
 * the default grid. Equal scores go to the alpha met first. Since 1.1.
 * EV_ERR_ARGUMENT for a NULL handle, alphas NULL with count > 0, count >
 * 1000, a negative or non-finite alpha; EV_ERR_NOMEM. */
EV_API ev_status ev_ridge_set_alphas(ev_ridge *r, const double *alphas,
                                     size_t count);

/* Fit the t targets y (n x t, leading dimension ldy) on the features x
 * (n x d, leading dimension ldx): minimise |y - x coef^T - 1 b^T|^2 +
 * alpha |coef|^2 per target, through the thin SVD of the centred x (LAPACK
 * dgesdd, in double), which gives every alpha of the grid at the cost of
 * one. Works with fewer rows than features (n <= d, the usual case for a
 * few hundred points of a wide layer): alpha > 0 makes the problem well
 * posed, and ev_ridge_sizes' rank tells such a fit apart. Memory: 8 (n d +
 * n r + r d) bytes for r = min(n, d), plus LAPACK's workspace (the
 * centred copy and both sets of singular vectors, in double). Singular
 * values at most max(n, d) DBL_EPSILON times the largest count as 0.
 * r2_cv is -Inf when a row's leverage is 1 (alpha 0 with n <= d): leave-
 * one-out cannot predict it. Since 1.1.
 * EV_ERR_ARGUMENT for NULL pointers, n < 2 (n < 3 when choosing alpha by
 * leave-one-out), d or t = 0, ld < cols, sizes beyond LAPACK's 32-bit
 * limits; EV_ERR_NONFINITE for NaN or Inf in x or y; EV_ERR_OVERFLOW,
 * EV_ERR_NOMEM. On failure the handle keeps its earlier fit. */
EV_API ev_status ev_ridge_fit(ev_ridge *r, const float *x, size_t n,
                              size_t d, size_t ldx, const float *y, size_t t,
                              size_t ldy);

/* The fit (since 1.1; EV_ERR_STATE before a fit, EV_ERR_ARGUMENT for NULL
 * pointers or a buffer too small). coef: t x d (leading dimension ld >=
 * d), as scikit-learn's coef_; intercept: t floats. */
EV_API ev_status ev_ridge_coef(const ev_ridge *r, float *coef, size_t ld);
EV_API ev_status ev_ridge_intercept(const ev_ridge *r, float *intercept);
/* The alpha the fit used (chosen or given). */
EV_API ev_status ev_ridge_alpha(const ev_ridge *r, double *alpha);
/* The fitted sizes: features d, targets t, and the rank of the centred
 * features (<= min(n - 1, d) with an intercept): rank < d means the data
 * do not determine every coefficient (fewer rows than features, or
 * collinear features) and the regularisation picks them. */
EV_API ev_status ev_ridge_sizes(const ev_ridge *r, size_t *d, size_t *t,
                                size_t *rank);
/* The coefficient of determination of each of the first `count` (<= t)
 * targets: r2_train on the training rows (optimistic, since the fit saw
 * them; 1 - residual sum of squares / total sum of squares), and r2_cv
 * from the leave-one-out errors at the fitted alpha (the honest estimate:
 * 1 - sum of squared leave-one-out errors / total sum of squares). A
 * target without variance gets 1 when fitted exactly, else 0 (scikit-
 * learn's r2_score). Either pointer may be NULL. */
EV_API ev_status ev_ridge_r2(const ev_ridge *r, double *r2_train,
                             double *r2_cv, size_t count);
/* The criterion's value for each alpha of the grid (the grid's length
 * into *count; with scores NULL only that), lower is better; after a fit
 * with a given alpha, the one value at that alpha. */
EV_API ev_status ev_ridge_cv_scores(const ev_ridge *r, double *alphas,
                                    double *scores, size_t *count);
/* out (n x t, leading dimension ldo) = x coef^T + 1 intercept^T for rows x
 * (n x d, leading dimension ldx). Since 1.1. EV_ERR_STATE before a fit;
 * EV_ERR_ARGUMENT for NULL pointers, n = 0, d not the fitted features, ld
 * too small; EV_ERR_NONFINITE. */
EV_API ev_status ev_ridge_predict(const ev_ridge *r, const float *x,
                                  size_t n, size_t d, size_t ldx, float *out,
                                  size_t ldo);

/* ---- Correlation of features --------------------------------------------- */

/* Pearson's correlation of the d features (columns) of x (n x d, leading
 * dimension ldx) into corr (d x d, leading dimension ldc): the covariance
 * accumulated blockwise, each block of rows by SSYRK and the blocks summed
 * in double (rows shifted by the first row, so a large mean costs no
 * accuracy; memory 12 d^2 bytes + 16 MiB), scaled
 * by the standard deviations and clamped to [-1, 1]. A column without
 * variance (all its values equal) has no correlation: its row and column
 * are 0 and its diagonal 1, where numpy's corrcoef gives NaN. Threads: all
 * cores (ev_default_threads). Since 1.1. EV_ERR_ARGUMENT for NULL
 * pointers, n < 2, d = 0, ld < d, d beyond BLAS's 32-bit limit;
 * EV_ERR_NONFINITE for NaN or Inf in x; EV_ERR_OVERFLOW, EV_ERR_NOMEM. */
EV_API ev_status ev_feature_correlation(const float *x, size_t n, size_t d,
                                        size_t ldx, float *corr, size_t ldc);

/* An order of the d features that puts correlated ones side by side: the
 * leaves of the average-linkage clustering (UPGMA) of the distances
 * 1 - |corr[i][j]| (a feature and its negative count as alike), in
 * dendrogram order, each merge putting first the cluster that holds the
 * lower feature index. corr is d x d (leading dimension ldc; only the
 * upper triangle read), order gets a permutation of 0..d-1. Merges by the
 * nearest-neighbour chain, O(d^2) time, memory 4 d^2 bytes; equal
 * distances go to the lower index, so the order is reproducible. Since
 * 1.1. EV_ERR_ARGUMENT for NULL pointers, d = 0, ldc < d, a value outside
 * [-1, 1]; EV_ERR_NONFINITE for NaN; EV_ERR_OVERFLOW, EV_ERR_NOMEM. */
EV_API ev_status ev_feature_order(const float *corr, size_t d, size_t ldc,
                                  int64_t *order);

#ifdef __cplusplus
}
#endif
#endif /* EMBEDVIZ_EXPLAIN_H */
