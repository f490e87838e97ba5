/*
 * embedviz/knn.h - exact k-nearest-neighbour search.
 *
 * Build an index once on a reference matrix, query it many times:
 *
 *   ev_knn *index;
 *   ev_knn_create(&index);
 *   ev_knn_set(index, EV_KNN_METRIC, EV_METRIC_EUCLIDEAN);
 *   ev_knn_build(index, ref, n_ref, dim, ld_ref);        // copies ref
 *   ev_knn_query(index, q, n_q, dim, ld_q, 10, idx, 10, dist, 10);
 *   ev_knn_free(index);
 *
 * The search is exhaustive, so the result is the true k nearest rows up to
 * floating-point rounding. Rows come nearest first; equal distances are
 * ordered by the lower reference index. Euclidean, squared Euclidean and
 * cosine distances are computed as |x|^2 - 2 x.y + |y|^2 (or 1 - x.y for
 * normalised rows) with the cross term from blocked SGEMM, as FAISS's flat
 * index does: memory is bounded by the block size, never an n_q x n_ref
 * matrix. Rounding can make that expansion differ from the direct formula
 * by about 1e-6 relative to |x|^2 + |y|^2; tiny negative values are clamped
 * to 0.
 *
 * Threads: ev_knn_query and ev_knn_query_self do not modify the index, so
 * many threads may query one built index at once (each call uses up to
 * EV_KNN_THREADS threads). ev_knn_set, ev_knn_build and ev_knn_free must not
 * run while another thread uses the index.
 */
#ifndef EMBEDVIZ_KNN_H
#define EMBEDVIZ_KNN_H

#include "embedviz/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ev_knn ev_knn;

/* Distance metrics (values of EV_KNN_METRIC). */
typedef enum ev_metric {
  EV_METRIC_EUCLIDEAN = 0,   /* sqrt(sum (x - y)^2) */
  EV_METRIC_SQEUCLIDEAN = 1, /* sum (x - y)^2 */
  EV_METRIC_COSINE = 2,      /* 1 - x.y / (|x| |y|); a zero row has
                                distance 1 to everything */
  EV_METRIC_CITYBLOCK = 3,   /* sum |x - y| (Manhattan, L1) */
  EV_METRIC_MINKOWSKI = 4,   /* (sum |x - y|^p)^(1/p), p = EV_KNN_MINKOWSKI_P */
  EV_METRIC_CHEBYSHEV = 5    /* max |x - y| (L-infinity) */
} ev_metric;

/* Settings of an index (ev_knn_set / ev_knn_get / ev_knn_param_bounds). */
typedef enum ev_knn_param {
  EV_KNN_METRIC = 1,      /* an ev_metric; default EV_METRIC_EUCLIDEAN.
                             Changing it after ev_knn_build rebuilds
                             nothing: build again (EV_ERR_STATE until then) */
  EV_KNN_MINKOWSKI_P = 2, /* p >= 1 for EV_METRIC_MINKOWSKI; default 2 */
  EV_KNN_THREADS = 3,     /* threads per call; 0 (default) = all cores */
  EV_KNN_BLOCK_ROWS = 4   /* rows per block of the distance computation,
                             0 (default) = chosen from the dimension; bounds
                             scratch memory to about threads x block x block
                             floats */
} ev_knn_param;

/* Make an empty index with default settings. EV_ERR_ARGUMENT if out is
 * NULL, EV_ERR_NOMEM. */
EV_API ev_status ev_knn_create(ev_knn **out);

/* Release an index; NULL is a no-op. */
EV_API void ev_knn_free(ev_knn *index);

/* Change a setting. EV_ERR_ARGUMENT (and nothing changed) when the value is
 * outside ev_knn_param_bounds or the param is unknown. */
EV_API ev_status ev_knn_set(ev_knn *index, int param, double value);
EV_API ev_status ev_knn_get(const ev_knn *index, int param, double *value);
/* The valid range of a setting. */
EV_API ev_status ev_knn_param_bounds(int param, double *lower, double *upper);

/* Report progress of queries (EV_STAGE_KNN, step = query rows done) and
 * allow cancelling them. NULL removes the callback. */
EV_API ev_status ev_knn_set_progress(ev_knn *index, ev_progress_fn fn,
                                     void *user_data);

/* Index the n x dim reference matrix ref (leading dimension ld). The rows
 * are copied: ref may be freed afterwards. Replaces any earlier reference.
 * EV_ERR_ARGUMENT for NULL or zero sizes or ld < dim, EV_ERR_NONFINITE for
 * NaN or Inf, EV_ERR_OVERFLOW, EV_ERR_NOMEM; on failure the index keeps its
 * previous reference. */
EV_API ev_status ev_knn_build(ev_knn *index, const float *ref, size_t n,
                              size_t dim, size_t ld);

/* Rows and dimension of the indexed reference (0, 0 before a build). */
EV_API ev_status ev_knn_size(const ev_knn *index, size_t *n, size_t *dim);

/* For each of the nq rows of queries (nq x dim, leading dimension ldq), the
 * k nearest reference rows: indices (nq x k, leading dimension ldi) and,
 * unless distances is NULL, their distances in the index's metric (nq x k,
 * leading dimension ldd). EV_ERR_STATE before a build; EV_ERR_ARGUMENT when
 * dim differs from the reference's, k is 0 or k > n; EV_ERR_NONFINITE;
 * EV_ERR_CANCELLED; EV_ERR_NOMEM. */
EV_API ev_status ev_knn_query(const ev_knn *index, const float *queries,
                              size_t nq, size_t dim, size_t ldq, size_t k,
                              int64_t *indices, size_t ldi, float *distances,
                              size_t ldd);

/* Every reference row against the reference, leaving each row out of its
 * own list (so k <= n - 1): the neighbour graph t-SNE's affinities use.
 * Outputs are n x k. Errors as ev_knn_query. */
EV_API ev_status ev_knn_query_self(const ev_knn *index, size_t k,
                                   int64_t *indices, size_t ldi,
                                   float *distances, size_t ldd);

#ifdef __cplusplus
}
#endif
#endif /* EMBEDVIZ_KNN_H */
