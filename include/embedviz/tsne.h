/*
 * embedviz/tsne.h - t-SNE maps: exact, Barnes-Hut and FFT-interpolated.
 *
 * Embed the n rows of a matrix into 2 or 3 dimensions so that rows that are
 * near in the input stay near in the map (van der Maaten & Hinton 2008):
 *
 *   ev_tsne *t;
 *   ev_tsne_create(&t);
 *   ev_tsne_set(t, EV_TSNE_PERPLEXITY, 30);
 *   ev_tsne_set(t, EV_TSNE_SEED, 42);
 *   ev_tsne_fit(t, x, n, d, ld);               // n x d input rows
 *   ev_tsne_embedding(t, y, 2);                // n x 2 map
 *   ev_tsne_free(t);
 *
 * What a fit does, every part a setting:
 *  1. Input affinities. For each row a Gaussian kernel exp(-beta d^2) over
 *     its neighbours, d the EV_TSNE_METRIC distance (for
 *     EV_METRIC_SQEUCLIDEAN the value itself stands for d^2), with beta
 *     found by bisection so that the row's entropy is log(perplexity)
 *     within 1e-5. Barnes-Hut uses the exact k = floor(3 perplexity) nearest
 *     neighbours from the kNN index (embedviz/knn.h); the exact method uses
 *     all other rows. Then P = (P + P^T) / sum, so P sums to 1.
 *     ev_tsne_fit_distances takes a square distance matrix instead of rows;
 *     ev_tsne_fit_affinities takes any non-negative sparse matrix (CSR) and
 *     symmetrises and normalises it the same way.
 *  2. Initialisation: by default the first principal components
 *     (embedviz/pca.h) scaled so the first has standard deviation 1e-4
 *     (openTSNE; scikit-learn since 1.2); or random normal with that spread
 *     from EV_TSNE_SEED; or a caller's map (ev_tsne_set_init). Without rows
 *     to analyse (distances, affinities) or when the data are constant, the
 *     PCA initialisation falls back to the random one.
 *  3. Gradient descent on KL(P || Q) as scikit-learn does it: the first
 *     EV_TSNE_EXAGGERATION_ITERATIONS iterations with P times
 *     EV_TSNE_EARLY_EXAGGERATION and momentum EV_TSNE_MOMENTUM, the rest
 *     with P and EV_TSNE_FINAL_MOMENTUM; adaptive gains (+0.2 when a
 *     coordinate's gradient changes sign, x0.8 otherwise, floor
 *     EV_TSNE_MIN_GAIN), restarted with the momentum at the phase switch;
 *     stop after EV_TSNE_N_ITER iterations in all or when the gradient's norm
 *     falls below EV_TSNE_MIN_GRAD_NORM. The gradient is the true one,
 *     4 sum_j (p_ij - q_ij) q_ij Z (y_i - y_j); the automatic learning rate
 *     is scikit-learn's max(n / early_exaggeration / 4, 50), or openTSNE's
 *     n / exaggeration / 4 in each phase (EV_TSNE_LEARNING_RATE_RULE; the
 *     FFT method's default). P is times EV_TSNE_LATE_EXAGGERATION (default
 *     1) after the early exaggeration.
 *
 * Methods: EV_TSNE_METHOD_EXACT sums the repulsion over all pairs (O(n^2)
 * time per iteration and n^2 memory for the affinities, refused beyond
 * EV_TSNE_MAX_MEMORY_MB); EV_TSNE_METHOD_BARNES_HUT (van der Maaten 2014)
 * summarises far cells of a space-partitioning tree (binary tree, quadtree
 * or octree for 1, 2 or 3 dimensions) when cell width / distance < theta;
 * theta = 0 gives the exact repulsion. EV_TSNE_METHOD_FFT (FIt-SNE,
 * Linderman et al. 2019; since 1.1) interpolates the points' charges onto
 * an equispaced grid (EV_TSNE_FFT_INTERPOLATION_POINTS nodes per interval,
 * at least EV_TSNE_FFT_MIN_INTERVALS intervals per axis, else one per
 * EV_TSNE_FFT_INTERVAL_WIDTH of the map's span) and convolves them with the
 * kernel by FFT (FFTW), for 1-D and 2-D maps; its grids grow with the map
 * up to EV_TSNE_MAX_MEMORY_MB. In 2-D, once the map has spread out, pairs
 * closer than EV_TSNE_FFT_NEAR_RADIUS are summed exactly and a much coarser
 * grid holds the smooth rest (since 1.1; docs/tsne.md "Near field").
 * Barnes-Hut and FFT use the same sparse P.
 * EV_TSNE_METHOD_AUTO takes exact for more than 3 output dimensions, and
 * for n <= 1000 when its affinities fit EV_TSNE_MAX_MEMORY_MB; FFT for 2-D
 * maps of 30,000 points or more (since 1.1; docs/tsne.md gives the
 * measured crossover); Barnes-Hut otherwise.
 *
 * Reproducibility: the same input, settings and EV_TSNE_SEED on the same
 * thread count give bit-identical maps. The t-SNE stages themselves
 * (affinities, gradients, tree, optimiser) give the same bits for any
 * thread count; only the kNN search and the PCA initialisation go through
 * BLAS, whose rounding can change with the thread count.
 *
 * Threads: the fits and setters need the handle to themselves; the calls
 * taking a const ev_tsne * (ev_tsne_embedding, ev_tsne_affinities,
 * ev_tsne_kl_divergence, ...) only read it and may run in several threads
 * at once, but not during a fit. Different handles are independent.
 */
#ifndef EMBEDVIZ_TSNE_H
#define EMBEDVIZ_TSNE_H

#include "embedviz/core.h"
#include "embedviz/knn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ev_tsne ev_tsne;

/* Values of EV_TSNE_METHOD. */
typedef enum ev_tsne_method {
  EV_TSNE_METHOD_AUTO = 0,
  EV_TSNE_METHOD_EXACT = 1,
  EV_TSNE_METHOD_BARNES_HUT = 2,
  EV_TSNE_METHOD_FFT = 3 /* FFT-interpolated repulsion, 1-D and 2-D maps
                            (since 1.1) */
} ev_tsne_method;

/* Values of EV_TSNE_LEARNING_RATE_RULE: the learning rate used when
 * EV_TSNE_LEARNING_RATE is 0 (since 1.1). */
typedef enum ev_tsne_lr_rule {
  EV_TSNE_LR_AUTO = 0,     /* scikit-learn's for exact and Barnes-Hut,
                              openTSNE's for FFT */
  EV_TSNE_LR_SKLEARN = 1,  /* max(n / early_exaggeration / 4, 50), both
                              phases */
  EV_TSNE_LR_OPENTSNE = 2  /* n / exaggeration / 4 in each phase: n / 48
                              with P x 12, then n / 4 (Belkina et al. 2019;
                              openTSNE's n / exaggeration on its gradient,
                              which lacks our factor 4) */
} ev_tsne_lr_rule;

/* Values of EV_TSNE_INIT. */
typedef enum ev_tsne_init {
  EV_TSNE_INIT_PCA = 0,    /* principal components, first at std 1e-4 */
  EV_TSNE_INIT_RANDOM = 1, /* normal with std 1e-4 from EV_TSNE_SEED */
  EV_TSNE_INIT_GIVEN = 2   /* the map passed to ev_tsne_set_init */
} ev_tsne_init;

/* Settings (ev_tsne_set / ev_tsne_get / ev_tsne_param_bounds). */
typedef enum ev_tsne_param {
  EV_TSNE_N_COMPONENTS = 1,     /* map dimensions; default 2. Barnes-Hut:
                                   1 to 3; FFT: 1 or 2; exact: up to 100 */
  EV_TSNE_PERPLEXITY = 2,       /* default 30, at least 1. Must be at most
                                   (n - 1) / 3 for Barnes-Hut and FFT,
                                   n - 1 for exact: larger is refused at
                                   fit time */
  EV_TSNE_METHOD = 3,           /* an ev_tsne_method; default AUTO */
  EV_TSNE_THETA = 4,            /* Barnes-Hut accuracy in [0, 1]; default
                                   0.5; 0 = exact repulsion */
  EV_TSNE_METRIC = 5,           /* input distance, an ev_metric; default
                                   EV_METRIC_EUCLIDEAN */
  EV_TSNE_EARLY_EXAGGERATION = 6,      /* default 12 */
  EV_TSNE_EXAGGERATION_ITERATIONS = 7, /* default 250 */
  EV_TSNE_LEARNING_RATE = 8,    /* default 0 = auto, by
                                   EV_TSNE_LEARNING_RATE_RULE */
  EV_TSNE_MOMENTUM = 9,         /* during exaggeration; default 0.5 */
  EV_TSNE_FINAL_MOMENTUM = 10,  /* afterwards; default 0.8 */
  EV_TSNE_MIN_GAIN = 11,        /* default 0.01 */
  EV_TSNE_N_ITER = 12,          /* iterations in all; default 1000 */
  EV_TSNE_MIN_GRAD_NORM = 13,   /* end the phase when the gain-scaled
                                   gradient's norm is at most this at a
                                   check; default 1e-7; 0 = never */
  EV_TSNE_INIT = 14,            /* an ev_tsne_init; default PCA */
  EV_TSNE_SEED = 15,            /* random initialisation; default 0 */
  EV_TSNE_THREADS = 16,         /* threads; 0 (default) = all cores */
  EV_TSNE_MAX_MEMORY_MB = 17,   /* the exact method's limit for its n x n
                                   affinities, and the FFT method's for its
                                   grids, in MiB; default 1024 */
  EV_TSNE_PROGRESS_EVERY = 18,  /* iterations between progress calls (and
                                   KL evaluations); default 50 */
  EV_TSNE_MINKOWSKI_P = 19,     /* p for EV_METRIC_MINKOWSKI; default 2 */
  EV_TSNE_N_ITER_WITHOUT_PROGRESS = 20, /* stop when the KL divergence has
                                   not improved for more than this many
                                   iterations after the exaggeration;
                                   default 300 (since 1.1) */
  EV_TSNE_LEARNING_RATE_RULE = 21, /* an ev_tsne_lr_rule; default AUTO
                                   (since 1.1) */
  EV_TSNE_LATE_EXAGGERATION = 22, /* P times this after the early
                                   exaggeration; default 1 (since 1.1) */
  EV_TSNE_MAX_STEP_NORM = 23,   /* clip each point's step to this length
                                   (openTSNE: 5); default 0 = no clipping
                                   (since 1.1) */
  EV_TSNE_FFT_INTERPOLATION_POINTS = 24, /* FFT: Lagrange nodes per
                                   interval and axis, 1 to 8; default 5
                                   (since 1.1; openTSNE's 3 gave a worse
                                   map, docs/tsne.md) */
  EV_TSNE_FFT_MIN_INTERVALS = 25, /* FFT: at least this many intervals per
                                   axis; default 50 (since 1.1) */
  EV_TSNE_FFT_INTERVAL_WIDTH = 26, /* FFT: beyond that, one interval per
                                   this much of the map's span; default 1
                                   (since 1.1) */
  /* ev_tsne_transform's settings (since 1.1); openTSNE's defaults */
  EV_TSNE_KEEP_INDEX = 27,      /* 1 (default): a fit from rows keeps the
                                   training rows' neighbour index (a copy
                                   of the n x d rows, plus the approximate
                                   method's graph) for ev_tsne_transform;
                                   0: it is freed after the affinities */
  EV_TSNE_TRANSFORM_PERPLEXITY = 28, /* perplexity of a new row's affinities
                                   to the map's points, over its
                                   floor(3 x this) nearest training rows;
                                   default 5 */
  EV_TSNE_TRANSFORM_N_ITER = 29, /* iterations moving the new points;
                                   default 250 */
  EV_TSNE_TRANSFORM_LEARNING_RATE = 30, /* default 0.1 (on the gradient
                                   without t-SNE's factor 4, as openTSNE) */
  EV_TSNE_TRANSFORM_EXAGGERATION = 31, /* affinities times this; default
                                   1.5 */
  EV_TSNE_TRANSFORM_MAX_GRAD_NORM = 32, /* clip each new point's gradient
                                   to this length; default 0.25; 0 = none */
  EV_TSNE_TRANSFORM_GRID_SPACING = 33, /* 1-D and 2-D maps: node spacing of
                                   the grid on which the map's repulsion is
                                   tabulated once (then interpolated);
                                   default 0.25 map units; 0 = the tree at
                                   every step */
  EV_TSNE_KNN_METHOD = 34,      /* since 1.1: the method of the kNN index
                                   a fit from rows builds for its
                                   Barnes-Hut or FFT affinities, an
                                   ev_knn_method: AUTO (default: NN-descent
                                   when n^2 d >= 1e12, e.g. 1,000,000 x 50;
                                   exact below, e.g. 70,000 x 50), EXACT or
                                   APPROXIMATE (NN-descent, docs/knn.md;
                                   seeded by EV_TSNE_SEED) */
  EV_TSNE_FFT_NEAR_RADIUS = 35, /* since 1.1: FFT, 2-D maps: pairs closer
                                   than this (map units) are summed
                                   exactly and the grid holds only the
                                   smooth rest of the kernels, on
                                   intervals of half this width, on the
                                   iterations where that is estimated
                                   faster (large, spread-out maps; the
                                   early, dense map keeps the plain grid).
                                   Default 4; 0 = off (FIt-SNE's and
                                   openTSNE's method). docs/tsne.md */
  EV_TSNE_FFT_NEAR_POINTS = 36  /* since 1.1: interpolation points per
                                   interval and axis of that grid, 1 to 8;
                                   default 3 */
} ev_tsne_param;

/* Make a handle with default settings. EV_ERR_ARGUMENT if out is NULL,
 * EV_ERR_NOMEM. */
EV_API ev_status ev_tsne_create(ev_tsne **out);

/* Release a handle; NULL is a no-op. */
EV_API void ev_tsne_free(ev_tsne *tsne);

/* Change a setting. EV_ERR_ARGUMENT (and nothing changed) when the value is
 * outside ev_tsne_param_bounds or the param is unknown. */
EV_API ev_status ev_tsne_set(ev_tsne *tsne, ev_tsne_param param,
                             double value);
EV_API ev_status ev_tsne_get(const ev_tsne *tsne, ev_tsne_param param,
                             double *value);
/* The valid range of a setting. */
EV_API ev_status ev_tsne_param_bounds(ev_tsne_param param, double *lower,
                                      double *upper);
/* The default of a setting, the value a new handle has (since 1.1).
 * EV_ERR_ARGUMENT for an unknown param or a NULL value. */
EV_API ev_status ev_tsne_param_default(ev_tsne_param param, double *value);

/* Report progress and allow cancelling: EV_STAGE_KNN (Barnes-Hut from
 * rows) and EV_STAGE_AFFINITIES while the affinities are computed (value
 * NaN), then
 * every EV_TSNE_PROGRESS_EVERY iterations EV_STAGE_EXAGGERATION or
 * EV_STAGE_OPTIMIZE with step = iterations done, total = EV_TSNE_N_ITER and
 * value = the KL divergence at that point (of the true, not exaggerated,
 * P). NULL removes the callback. */
EV_API ev_status ev_tsne_set_progress(ev_tsne *tsne, ev_progress_fn fn,
                                      void *user_data);

/* The starting map for EV_TSNE_INIT_GIVEN: n x dims (leading dimension ld),
 * copied. dims must equal EV_TSNE_N_COMPONENTS and n the rows of the next
 * fit, else that fit fails with EV_ERR_ARGUMENT. EV_ERR_ARGUMENT,
 * EV_ERR_NONFINITE, EV_ERR_NOMEM. */
EV_API ev_status ev_tsne_set_init(ev_tsne *tsne, const float *y, size_t n,
                                  size_t dims, size_t ld);

/* Embed the n x d rows of x (leading dimension ld), n >= 2.
 * EV_ERR_ARGUMENT for NULL or zero sizes, ld < d, a perplexity too large
 * for n (the message gives the largest allowed), Barnes-Hut with more than
 * 3 dimensions or FFT with more than 2, or a given init of the wrong size;
 * EV_ERR_NONFINITE for NaN or Inf; EV_ERR_LIMIT when the exact method, or
 * the FFT method's smallest grids, would pass EV_TSNE_MAX_MEMORY_MB;
 * EV_ERR_OVERFLOW; EV_ERR_NOMEM (also when the FFT grids cannot grow during
 * the descent: the handle keeps its earlier result); EV_ERR_CANCELLED.
 * On a failure before the optimisation starts the handle keeps its earlier
 * result; after a cancel during the optimisation, the map so far and its
 * iteration count can be read. Duplicate rows are fine (they end up close
 * together); rows with all neighbours at one distance (e.g. constant data)
 * get uniform affinities. */
EV_API ev_status ev_tsne_fit(ev_tsne *tsne, const float *x, size_t n,
                             size_t d, size_t ld);

/* As ev_tsne_fit from the n x n matrix of distances between the rows
 * (leading dimension ld; non-negative; the diagonal is ignored; it need not
 * be symmetric: row i gives row i's neighbours). EV_TSNE_METRIC is unused.
 * Errors as ev_tsne_fit, and EV_ERR_ARGUMENT for a negative distance. */
EV_API ev_status ev_tsne_fit_distances(ev_tsne *tsne, const float *dist,
                                       size_t n, size_t ld);

/* As ev_tsne_fit from precomputed affinities: a sparse n x n matrix in CSR
 * form (row_ptr: n + 1 offsets from 0; col_idx and values: row_ptr[n]
 * entries; columns in [0, n), any order, repeats summed; diagonal entries
 * ignored). P = (A + A^T) / sum is used. EV_TSNE_PERPLEXITY and
 * EV_TSNE_METRIC are unused. EV_ERR_ARGUMENT for a bad structure, a
 * negative value or no positive off-diagonal value; EV_ERR_NONFINITE. */
EV_API ev_status ev_tsne_fit_affinities(ev_tsne *tsne, size_t n,
                                        const size_t *row_ptr,
                                        const int64_t *col_idx,
                                        const float *values);

/* Rows and dimensions of the last map (0, 0 before any). */
EV_API ev_status ev_tsne_size(const ev_tsne *tsne, size_t *n, size_t *dims);

/* Copy the last map (n x dims) into out (leading dimension ld >= dims).
 * EV_ERR_STATE before a fit, EV_ERR_ARGUMENT. */
EV_API ev_status ev_tsne_embedding(const ev_tsne *tsne, float *out,
                                   size_t ld);

/* KL(P || Q) of the last map, with Z from the same method as the gradient
 * (Barnes-Hut's Z for Barnes-Hut). EV_ERR_STATE before a fit. */
EV_API ev_status ev_tsne_kl_divergence(const ev_tsne *tsne, double *kl);

/* Iterations run by the last fit (fewer than EV_TSNE_N_ITER after a stop on
 * the gradient norm or a cancel). EV_ERR_STATE before a fit. */
EV_API ev_status ev_tsne_n_iter(const ev_tsne *tsne, size_t *n_iter);

/* The symmetric affinities P of the last fit in CSR form. Call with NULL
 * row_ptr, col_idx and values to get *nnz; then pass arrays of n + 1 and
 * *nnz entries. Columns are sorted within each row. EV_ERR_STATE before a
 * fit, EV_ERR_ARGUMENT when *nnz is too small (it is then set). */
EV_API ev_status ev_tsne_affinities(const ev_tsne *tsne, size_t *row_ptr,
                                    int64_t *col_idx, float *values,
                                    size_t *nnz);

/* Place m new rows (m x d, leading dimension ld) on the map of the last
 * ev_tsne_fit, the map's points fixed (since 1.1), as openTSNE's
 * TSNEEmbedding.transform (Policar, Strazar & Zupan 2019):
 *  1. each new row's k = floor(3 x EV_TSNE_TRANSFORM_PERPLEXITY) nearest
 *     training rows from the neighbour index the fit kept (its metric and
 *     method, see embedviz/knn.h), and Gaussian
 *     affinities p_j|i over them calibrated to that perplexity as the fit's
 *     (each row sums to 1; not symmetrised);
 *  2. each new point starts at the median, per coordinate, of those k
 *     neighbours' map positions;
 *  3. EV_TSNE_TRANSFORM_N_ITER steps of gradient descent (momentum 0.8,
 *     the fit's adaptive gains and EV_TSNE_MIN_GAIN, learning rate
 *     EV_TSNE_TRANSFORM_LEARNING_RATE) on each new point's own
 *     KL(p_.|i || q_.|i), q_j|i = w_ij / sum_l w_il over the map's points,
 *     w = 1 / (1 + d^2): the gradient
 *       e sum_j p_j|i w_ij (y_i - y_j) - sum_j w_ij^2 (y_i - y_j) / sum_j w_ij
 *     with e = EV_TSNE_TRANSFORM_EXAGGERATION, shortened to at most
 *     EV_TSNE_TRANSFORM_MAX_GRAD_NORM. The new points do not act on each
 *     other, so each is placed as if it came alone. The repulsion comes
 *     from a Barnes-Hut tree over the map (EV_TSNE_THETA) for 1 to 3
 *     dimensions, from all map points for more; for 1-D and 2-D maps the
 *     tree's values are tabulated once on a grid of spacing
 *     EV_TSNE_TRANSFORM_GRID_SPACING over the map and a margin (10% of its
 *     span and 1 unit each side; the spacing grows past 2048 nodes per
 *     axis in 2-D) and interpolated linearly (as openTSNE interpolates
 *     its FFT grid); points outside the grid ask the tree.
 * out (m x dims, leading dimension ldo >= dims) gets the positions.
 * Deterministic: the same handle and rows give the same bits on the same
 * thread count (only the neighbour search depends on it). Progress:
 * EV_STAGE_KNN, EV_STAGE_AFFINITIES, then EV_STAGE_OPTIMIZE every
 * EV_TSNE_PROGRESS_EVERY iterations with value = the new points' mean KL
 * divergence; a cancel returns EV_ERR_CANCELLED with out untouched.
 * EV_ERR_STATE before a fit, after a fit from distances or affinities (no
 * rows to search) or with EV_TSNE_KEEP_INDEX 0 at the fit;
 * EV_ERR_ARGUMENT for NULL, m = 0, d other than the training rows' width,
 * ld < d, ldo < dims, or k more than the n training rows;
 * EV_ERR_NONFINITE for NaN or Inf in x; EV_ERR_LIMIT when the work space
 * (about m x (20 k + 8 k dims + 32 dims + 8) bytes, the map, the tree and
 * the grid) would pass
 * EV_TSNE_MAX_MEMORY_MB (transform fewer rows per call); EV_ERR_OVERFLOW;
 * EV_ERR_NOMEM; EV_ERR_CANCELLED. The handle's map does not change; the
 * call needs the handle to itself (it sets the index's progress callback). */
EV_API ev_status ev_tsne_transform(ev_tsne *tsne, const float *x, size_t m,
                                   size_t d, size_t ld, float *out,
                                   size_t ldo);

#ifdef __cplusplus
}
#endif
#endif /* EMBEDVIZ_TSNE_H */
