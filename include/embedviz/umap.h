/*
 * embedviz/umap.h - UMAP maps (since 1.1).
 *
 * Embed the n rows of a matrix so that the fuzzy topological structure of
 * their k-nearest-neighbour graph is kept (McInnes, Healy & Melville,
 * arXiv:1802.03426), with umap-learn 0.5's steps and settings:
 *
 *   ev_umap *u;
 *   ev_umap_create(&u);
 *   ev_umap_set(u, EV_UMAP_N_NEIGHBORS, 15);
 *   ev_umap_set(u, EV_UMAP_RANDOM_STATE, 42);
 *   ev_umap_fit(u, x, n, d, ld);               // n x d input rows
 *   ev_umap_embedding(u, y, 2);                // n x 2 map
 *   ev_umap_transform(u, x_new, m, d, ld, y_new, 2);  // place new rows
 *   ev_umap_free(u);
 *
 * What a fit does (docs/umap.md gives the details and sources):
 *  1. Neighbours: each row's EV_UMAP_N_NEIGHBORS - 1 nearest other rows
 *     from the kNN index (embedviz/knn.h, method EV_UMAP_KNN_METHOD, in
 *     the EV_UMAP_METRIC distance), the row itself counting as the first of
 *     the k, as umap-learn counts it. ev_umap_fit_knn takes the lists.
 *  2. Fuzzy simplicial set: rho_i = the distance to the
 *     EV_UMAP_LOCAL_CONNECTIVITY-th nearest non-zero neighbour, sigma_i by
 *     bisection so that sum_j exp(-(d_ij - rho_i) / sigma_i) = log2(k)
 *     (the smooth_knn_dist rule), membership w_ij = exp(-(d_ij - rho_i) /
 *     sigma_i); then the fuzzy union with mix ratio r:
 *     r (A + A^T - A o A^T) + (1 - r) A o A^T.
 *  3. Edges below max weight / n_epochs are dropped; each remaining edge is
 *     sampled every max_weight / w epochs.
 *  4. Initialisation: spectral (the normalised Laplacian's smallest
 *     non-trivial eigenvectors, by ARPACK), scaled to [-10, 10] plus normal
 *     noise of std 1e-4; random uniform in [-10, 10]; or a caller's map.
 *     A disconnected graph gets umap-learn's per-component layout: each
 *     component its own spectral layout, scaled into half the distance to
 *     its nearest neighbour among the components' places (the axes' ends
 *     for up to 2 x n_components components, else a spectral embedding
 *     of the components' centroids; for more than 1,024 components, a
 *     UMAP map of the centroids, the start then spread to [0, 4 sqrt(k)]
 *     per column for k components); components too small for it are
 *     spread at random around their place (EV_UMAP_INFO_N_RANDOM_COMPONENTS
 *     counts them). An eigensolver failure on a connected graph falls back
 *     to the random start (ev_umap_info's EV_UMAP_INFO_INIT_USED says which
 *     start was used).
 *     Then each column is rescaled to [0, 10], as umap-learn does.
 *  5. SGD over EV_UMAP_N_EPOCHS epochs on the cross entropy with low-
 *     dimensional similarity 1 / (1 + a d^(2b)), a and b fitted by least
 *     squares from EV_UMAP_MIN_DIST and EV_UMAP_SPREAD; for every sampled
 *     edge EV_UMAP_NEGATIVE_SAMPLE_RATE negative samples; gradients clipped
 *     to [-4, 4]; learning rate decaying linearly to 0.
 *
 * Reproducibility: the same input, settings and EV_UMAP_RANDOM_STATE give
 * bit-identical maps whatever the thread count, when the neighbour lists
 * are the same (ev_umap_fit_knn; the exact kNN search and the spectral
 * start use BLAS, whose rounding can change with the thread count). Every
 * random draw is a hash of (seed, epoch, edge, sample), and within an
 * epoch every point moves against the others' positions at the start of
 * the epoch (umap-learn's lock-free updates race instead).
 *
 * Threads: a handle is used by one thread at a time; calls on a const
 * ev_umap * only read it. Different handles are independent (ARPACK, which
 * keeps state between calls, is used by one fit at a time).
 */
#ifndef EMBEDVIZ_UMAP_H
#define EMBEDVIZ_UMAP_H

#include "embedviz/core.h"
#include "embedviz/knn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ev_umap ev_umap;

/* Values of EV_UMAP_INIT. */
typedef enum ev_umap_init {
  EV_UMAP_INIT_SPECTRAL = 0, /* Laplacian eigenvectors (random start when
                                the graph is disconnected) */
  EV_UMAP_INIT_RANDOM = 1,   /* uniform in [-10, 10] from the seed */
  EV_UMAP_INIT_GIVEN = 2     /* the map passed to ev_umap_set_init */
} ev_umap_init;

/* Settings (ev_umap_set / ev_umap_get / ev_umap_param_bounds /
 * ev_umap_param_default), umap-learn's names and defaults. */
typedef enum ev_umap_param {
  EV_UMAP_N_NEIGHBORS = 1,      /* k, the row itself included; default 15,
                                   [2, 1000]. n must be at least k + 1 */
  EV_UMAP_N_COMPONENTS = 2,     /* map dimensions; default 2, [1, 100] */
  EV_UMAP_MIN_DIST = 3,         /* default 0.1, [0, 100]; at most spread */
  EV_UMAP_SPREAD = 4,           /* default 1.0, (0, 100] */
  EV_UMAP_METRIC = 5,           /* an ev_metric; default euclidean */
  EV_UMAP_N_EPOCHS = 6,         /* default 0 = auto: 500 up to 10,000
                                   points, 200 above */
  EV_UMAP_LEARNING_RATE = 7,    /* initial SGD step; default 1 */
  EV_UMAP_INIT = 8,             /* an ev_umap_init; default SPECTRAL */
  EV_UMAP_NEGATIVE_SAMPLE_RATE = 9, /* negatives per positive; default 5 */
  EV_UMAP_REPULSION_STRENGTH = 10,  /* gamma; default 1 */
  EV_UMAP_SET_OP_MIX_RATIO = 11,    /* 1 = fuzzy union, 0 = intersection;
                                       default 1 */
  EV_UMAP_LOCAL_CONNECTIVITY = 12,  /* neighbours assumed connected;
                                       default 1 */
  EV_UMAP_RANDOM_STATE = 13,    /* seed of every random draw; default 0 */
  EV_UMAP_THREADS = 14,         /* threads; 0 (default) = all cores */
  EV_UMAP_MINKOWSKI_P = 15,     /* p for EV_METRIC_MINKOWSKI; default 2 */
  EV_UMAP_A = 16,               /* curve parameter a; default 0 = fitted
                                   from min_dist and spread */
  EV_UMAP_B = 17,               /* curve parameter b; default 0 = fitted */
  EV_UMAP_KNN_METHOD = 18       /* the kNN index's method, an ev_knn_method:
                                   AUTO (default: NN-descent when
                                   n^2 d >= 3e10 (k / 15)^2, k =
                                   max(n_neighbors, 15), e.g. from about
                                   25,000 x 50 at n_neighbors 15; exact
                                   below), EXACT or APPROXIMATE (NN-descent,
                                   docs/knn.md) */
} ev_umap_param;

/* Facts about the last fit (ev_umap_info). */
typedef enum ev_umap_info_item {
  EV_UMAP_INFO_INIT_USED = 1,   /* the ev_umap_init actually used (RANDOM
                                   after a spectral fallback) */
  EV_UMAP_INFO_N_COMPONENTS_GRAPH = 2, /* connected components of the graph */
  EV_UMAP_INFO_N_EPOCHS = 3,    /* epochs run (fewer after a cancel) */
  EV_UMAP_INFO_A = 4,           /* the curve's a */
  EV_UMAP_INFO_B = 5,           /* the curve's b */
  EV_UMAP_INFO_N_EDGES = 6,     /* directed edges optimised */
  EV_UMAP_INFO_N_RANDOM_COMPONENTS = 7 /* since 1.1: components of a
                                   disconnected graph spread at random at
                                   the spectral start (too small for it:
                                   fewer than 2 x n_components rows, or the
                                   eigensolver failed); 0 otherwise */
} ev_umap_info_item;

/* Make a handle with default settings. EV_ERR_ARGUMENT, EV_ERR_NOMEM. */
EV_API ev_status ev_umap_create(ev_umap **out);

/* Release a handle; NULL is a no-op. */
EV_API void ev_umap_free(ev_umap *umap);

/* Change a setting; EV_ERR_ARGUMENT (nothing changed) when the value is
 * outside the bounds or the param is unknown. */
EV_API ev_status ev_umap_set(ev_umap *umap, ev_umap_param param,
                             double value);
EV_API ev_status ev_umap_get(const ev_umap *umap, ev_umap_param param,
                             double *value);
EV_API ev_status ev_umap_param_bounds(ev_umap_param param, double *lower,
                                      double *upper);
EV_API ev_status ev_umap_param_default(ev_umap_param param, double *value);

/* Report progress and allow cancelling: EV_STAGE_KNN (neighbours),
 * EV_STAGE_AFFINITIES (fuzzy set, value NaN), EV_STAGE_SPECTRAL (step =
 * ARPACK iterations), then EV_STAGE_EPOCHS every 10 epochs and at the end
 * (step = epochs done, total = n_epochs, value NaN). NULL removes it. */
EV_API ev_status ev_umap_set_progress(ev_umap *umap, ev_progress_fn fn,
                                      void *user_data);

/* The starting map for EV_UMAP_INIT_GIVEN (n x dims, copied); it must match
 * the next fit's n and EV_UMAP_N_COMPONENTS. EV_ERR_ARGUMENT,
 * EV_ERR_NONFINITE, EV_ERR_NOMEM. */
EV_API ev_status ev_umap_set_init(ev_umap *umap, const float *y, size_t n,
                                  size_t dims, size_t ld);

/* Embed the n x d rows of x (leading dimension ld). The rows are kept (in
 * a kNN index) for ev_umap_transform. EV_ERR_ARGUMENT for NULL or zero
 * sizes, n < EV_UMAP_N_NEIGHBORS + 1, min_dist > spread, a given init of
 * the wrong size; EV_ERR_NONFINITE for NaN or Inf; EV_ERR_OVERFLOW;
 * EV_ERR_NOMEM; EV_ERR_CANCELLED (the handle then keeps its earlier
 * result). Duplicate rows are fine. */
EV_API ev_status ev_umap_fit(ev_umap *umap, const float *x, size_t n,
                             size_t d, size_t ld);

/* As ev_umap_fit from precomputed neighbour lists, umap-learn's
 * precomputed_knn: row i of indices (n x k, leading dimension ldi) and
 * distances (ldd) lists its k nearest rows, nearest first, normally i
 * itself first at distance 0 (an entry equal to i gets weight 0; -1 marks
 * a missing neighbour). k is used as EV_UMAP_N_NEIGHBORS. No rows are
 * kept, so ev_umap_transform is refused afterwards. EV_ERR_ARGUMENT for an
 * index outside [-1, n), a negative distance, k < 2 or n < k + 1;
 * EV_ERR_NONFINITE. */
EV_API ev_status ev_umap_fit_knn(ev_umap *umap, size_t n, size_t k,
                                 const int64_t *indices, size_t ldi,
                                 const float *distances, size_t ldd);

/* Rows and dimensions of the last map (0, 0 before any). */
EV_API ev_status ev_umap_size(const ev_umap *umap, size_t *n, size_t *dims);

/* Copy the last map (n x dims) into out (leading dimension ld >= dims).
 * EV_ERR_STATE before a fit. */
EV_API ev_status ev_umap_embedding(const ev_umap *umap, float *out,
                                   size_t ld);

/* A fact about the last fit. EV_ERR_STATE before a fit, EV_ERR_ARGUMENT
 * for an unknown item. */
EV_API ev_status ev_umap_info(const ev_umap *umap, ev_umap_info_item item,
                              double *value);

/* The fuzzy graph of the last fit (symmetric, before the pruning of weak
 * edges) in CSR form: call with NULL arrays for *nnz, then pass arrays of
 * n + 1 and *nnz entries. Columns sorted within rows. EV_ERR_STATE before
 * a fit; EV_ERR_ARGUMENT when *nnz is too small (it is then set). */
EV_API ev_status ev_umap_graph(const ev_umap *umap, size_t *row_ptr,
                               int64_t *col_idx, float *values, size_t *nnz);

/* Place m new rows (m x d, leading dimension ld) in the last map, as
 * umap-learn's transform: their k nearest training rows, membership
 * weights with local connectivity - 1, start at the weighted mean of the
 * neighbours' map positions, then n_epochs / 3 epochs of SGD (auto: 100
 * for up to 10,000 new rows, 30 above) with learning rate / 4 moving only
 * the new points. out: m x dims
 * (ldo). EV_ERR_STATE before ev_umap_fit (or after ev_umap_fit_knn);
 * EV_ERR_ARGUMENT when d differs from the training width;
 * EV_ERR_NONFINITE; EV_ERR_NOMEM; EV_ERR_CANCELLED. */
EV_API ev_status ev_umap_transform(const ev_umap *umap, const float *x,
                                   size_t m, size_t d, size_t ld, float *out,
                                   size_t ldo);

/* Make the handle as a fit of the n x d rows x with the map y (n x dims,
 * dims = EV_UMAP_N_COMPONENTS, leading dimensions ld and ldy) would leave
 * it, without optimising, so that ev_umap_transform works: for reloading a
 * saved model. The graph is then empty and the curve is fitted from the
 * current settings. Errors as ev_umap_fit (the rows), and EV_ERR_ARGUMENT
 * or EV_ERR_NONFINITE for y. */
EV_API ev_status ev_umap_restore(ev_umap *umap, const float *x, size_t n,
                                 size_t d, size_t ld, const float *y,
                                 size_t ldy);

/* The a and b umap-learn's find_ab_params fits for (spread, min_dist):
 * least squares of 1 / (1 + a x^(2b)) to 1 below min_dist and
 * exp(-(x - min_dist) / spread) above, at 300 points in [0, 3 spread].
 * EV_ERR_ARGUMENT for min_dist outside [0, spread] or spread <= 0. */
EV_API ev_status ev_umap_find_ab(double spread, double min_dist, double *a,
                                 double *b);

#ifdef __cplusplus
}
#endif
#endif /* EMBEDVIZ_UMAP_H */
