/*
 * embedviz/knn.h - k-nearest-neighbour search, exact or approximate.
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
 * The search is exhaustive and exact: the result is the k nearest rows by
 * distances computed in double precision from the float rows, nearest
 * first, equal distances ordered by the lower reference index, the same
 * whatever the thread count or block size. Euclidean, squared Euclidean and
 * cosine distances are first estimated as |x|^2 - 2 x.y + |y|^2 (or from
 * x.y / |y| for cosine) with the cross term from blocked SGEMM, as FAISS's
 * flat index does: memory is bounded by the block size, never an n_q x n_ref
 * matrix. Every row whose estimate is within a proven rounding bound of the
 * current k-th distance is then recomputed exactly, so the float expansion
 * never decides the answer (see docs/knn.md). The other metrics use direct
 * loops over cache-sized blocks. Reported distances are the double values
 * rounded to float.
 *
 * Approximate method (since 1.1, EV_KNN_METHOD): for large references
 * ev_knn_query_self runs NN-descent (Dong et al., WWW 2011) for its k (at
 * least EV_KNN_GRAPH_DEGREE); the first ev_knn_query by new rows makes a
 * neighbour graph the same way and queries walk it (greedy best-first
 * search from sqrt(n) pivot rows); ev_knn_build only copies the rows. The
 * lists then
 * hold most, not all, of the true k nearest (EV_KNN_N_ITERS,
 * EV_KNN_MAX_CANDIDATES, EV_KNN_GRAPH_DEGREE and EV_KNN_SEARCH_EF trade
 * time for recall), each with the distance and in the order the exact
 * search reports, and the same for a seed whatever the thread count. AUTO
 * (the default) uses it from EV_KNN_AUTO_ROWS rows (default 200,000). An approximate index
 * answers a query exactly when the search would touch most rows anyway
 * (2 ef >= n, or k >= n / 4 - 1 in self mode). With the approximate
 * method the query that runs NN-descent reports its progress
 * (EV_STAGE_KNN) and can be cancelled; a cancelled graph is not kept.
 *
 * Threads: ev_knn_query, ev_knn_query_self, ev_knn_size and ev_knn_get do
 * not modify the index (the approximate search graph is made once, under
 * a lock, by the first query that needs it), so many threads may query one
 * built index at once
 * (each call uses up to EV_KNN_THREADS threads) and get the same results as
 * one thread (tests/test_concurrency.c). The progress callback is then
 * called by each querying thread for its own query, possibly at the same
 * time: make it thread-safe. ev_knn_set, ev_knn_set_progress, ev_knn_build
 * and ev_knn_free must not run while another thread uses the index.
 */
#ifndef EMBEDVIZ_KNN_H
#define EMBEDVIZ_KNN_H

#include "embedviz/core.h"
#include "embedviz/io.h"

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
  EV_KNN_BLOCK_ROWS = 4,  /* query rows per block, 0 (default) = 256 for the
                             SGEMM metrics, 32 for the others. The SGEMM
                             reference block is 4 x this (default 1024), so
                             scratch is about threads x 4 x block^2 floats
                             plus threads x block x k neighbour entries. The
                             result does not depend on it */
  /* Approximate search (since 1.1; docs/knn.md "Approximate neighbours").
   * Like the metric, the method and the settings of the search graph are
   * fixed at ev_knn_build: changing EV_KNN_METHOD, EV_KNN_AUTO_ROWS or
   * EV_KNN_GRAPH_DEGREE afterwards makes queries fail with EV_ERR_STATE
   * until the next build. The others apply to each query. */
  EV_KNN_METHOD = 5,      /* an ev_knn_method; default EV_KNN_METHOD_AUTO */
  EV_KNN_AUTO_ROWS = 6,   /* AUTO picks the approximate method for a
                             reference of at least this many rows, exact
                             below; [1, 2^53], default 200,000 (since
                             1.1; docs/knn.md says why: the exact graph
                             is faster at 70,000 rows, the approximate
                             one at 10^6) */
  EV_KNN_SEED = 7,        /* seed of the approximate method's random
                             choices; [0, 2^53], default 0. Results are
                             bit-identical for a seed, whatever the thread
                             count */
  EV_KNN_GRAPH_DEGREE = 8,/* neighbours per row of the graph that the
                             first approximate query by new rows makes,
                             and the shortest lists an approximate self
                             query runs NN-descent for; [4, 256], default
                             24 */
  EV_KNN_N_ITERS = 9,     /* most NN-descent rounds; [0, 1000], 0 (default)
                             = max(5, round(log2 n)) */
  EV_KNN_DELTA = 10,      /* NN-descent stops when a round changes fewer
                             than delta x n x k list entries; [0, 1],
                             default 0.005 (0.001 before this release;
                             docs/knn.md). 0 runs all rounds */
  EV_KNN_MAX_CANDIDATES = 11, /* NN-descent's sample of new and of old
                             neighbours joined per row and round (rho x k
                             in Dong et al.); [0, 1024], 0 (default) =
                             min(20, k) (since 1.1 the start is a
                             random-projection forest, docs/knn.md) */
  EV_KNN_SEARCH_EF = 12,  /* candidate list of the greedy graph search for
                             new rows (ef); [0, 1e6], 0 (default) =
                             max(k + 16, 2 k); larger is slower with higher
                             recall. Never below k */
  EV_KNN_BUILT_METHOD = 13 /* read-only: the method the last ev_knn_build
                             chose, EV_KNN_METHOD_EXACT or
                             EV_KNN_METHOD_APPROXIMATE (AUTO before a
                             build); ev_knn_set refuses it */
} ev_knn_param;

/* Values of EV_KNN_METHOD (since 1.1). */
typedef enum ev_knn_method {
  EV_KNN_METHOD_AUTO = 0,        /* approximate from EV_KNN_AUTO_ROWS rows */
  EV_KNN_METHOD_EXACT = 1,       /* the exhaustive search above */
  EV_KNN_METHOD_APPROXIMATE = 2  /* NN-descent graph and graph search: most
                                    but not all true neighbours (recall
                                    about 0.99 at the defaults, docs/knn.md),
                                    each with its exact distance */
} ev_knn_method;

/* Make an empty index with default settings. EV_ERR_ARGUMENT if out is
 * NULL, EV_ERR_NOMEM. */
EV_API ev_status ev_knn_create(ev_knn **out);

/* Release an index; NULL is a no-op. */
EV_API void ev_knn_free(ev_knn *index);

/* Change a setting. EV_ERR_ARGUMENT (and nothing changed) when the value is
 * outside ev_knn_param_bounds or the param is unknown. ev_knn_get fails the
 * same way for an unknown param or a NULL value. */
EV_API ev_status ev_knn_set(ev_knn *index, ev_knn_param param,
                            double value);
EV_API ev_status ev_knn_get(const ev_knn *index, ev_knn_param param,
                            double *value);
/* The valid range of a setting: EV_KNN_METRIC [0, 5], EV_KNN_MINKOWSKI_P
 * [1, 1e6], EV_KNN_THREADS [0, 1024], EV_KNN_BLOCK_ROWS [0, 65536].
 * EV_ERR_ARGUMENT for an unknown param. */
EV_API ev_status ev_knn_param_bounds(ev_knn_param param, double *lower,
                                     double *upper);
/* The default of a setting, the value a new index has (since 1.1).
 * EV_ERR_ARGUMENT for an unknown param or a NULL value. */
EV_API ev_status ev_knn_param_default(ev_knn_param param, double *value);

/* Report progress of queries (EV_STAGE_KNN, step = query rows done, about
 * once per block, then step = total at the end; in NN-descent, step = rows
 * joined out of total = n x (rounds + 1)) and allow cancelling them:
 * the query then returns EV_ERR_CANCELLED, the outputs hold nothing
 * meaningful, the index is unchanged. The callback runs on the thread that
 * called the query. NULL removes the callback. EV_ERR_ARGUMENT if index is
 * NULL. */
EV_API ev_status ev_knn_set_progress(ev_knn *index, ev_progress_fn fn,
                                     void *user_data);

/* Index the n x dim reference matrix ref (leading dimension ld). The rows
 * are copied: ref may be freed afterwards. Replaces any earlier reference.
 * EV_ERR_ARGUMENT for NULL or zero sizes or ld < dim, EV_ERR_NONFINITE for
 * NaN or Inf, EV_ERR_OVERFLOW, EV_ERR_NOMEM; on failure the index keeps its
 * previous reference. */
EV_API ev_status ev_knn_build(ev_knn *index, const float *ref, size_t n,
                              size_t dim, size_t ld);

/* Rows and dimension of the indexed reference (0, 0 before a build).
 * EV_ERR_ARGUMENT for a NULL argument. */
EV_API ev_status ev_knn_size(const ev_knn *index, size_t *n, size_t *dim);

/* For each of the nq rows of queries (nq x dim, leading dimension ldq), the
 * k nearest reference rows: indices (nq x k, leading dimension ldi) and,
 * unless distances is NULL, their distances in the index's metric (nq x k,
 * leading dimension ldd). EV_ERR_STATE before a build or after a change of
 * EV_KNN_METRIC / EV_KNN_MINKOWSKI_P since it; EV_ERR_ARGUMENT for NULL
 * queries or indices, zero nq or dim, ldq < dim, ldi < k (ldd < k with
 * distances), dim different from the reference's, k = 0 or k > n;
 * EV_ERR_OVERFLOW when an output's extent does not fit the address space;
 * EV_ERR_NONFINITE for NaN or Inf in queries; EV_ERR_CANCELLED;
 * EV_ERR_NOMEM. */
EV_API ev_status ev_knn_query(const ev_knn *index, const float *queries,
                              size_t nq, size_t dim, size_t ldq, size_t k,
                              int64_t *indices, size_t ldi, float *distances,
                              size_t ldd);

/* Every reference row against the reference, leaving each row out of its
 * own list by index (so k <= n - 1; a duplicate of a row still appears in
 * its list, at distance 0): the neighbour graph t-SNE's affinities use.
 * Outputs are n x k. Errors as ev_knn_query. */
EV_API ev_status ev_knn_query_self(const ev_knn *index, size_t k,
                                   int64_t *indices, size_t ldi,
                                   float *distances, size_t ldd);

/* Every reference row within `radius` of each query, as scikit-learn's
 * NearestNeighbors.radius_neighbors: distance <= radius in the index's
 * metric (EV_METRIC_EUCLIDEAN: the distance, not its square;
 * EV_METRIC_SQEUCLIDEAN: the squared distance). Always exact, also on an
 * approximate index (the stored reference rows are scanned), with the
 * distances computed as ev_knn_query's. queries NULL (nq, dim and ldq then
 * ignored): the reference rows themselves, each left out of its own list by
 * index, as radius_neighbors() without X. The answer is in compressed rows,
 * three new 1-d arrays the caller frees with ev_array_free: *offsets,
 * nq + 1 int64 (EV_DTYPE_INT64), where query q's neighbours are entries
 * offsets[q] .. offsets[q + 1] - 1 of *indices (int64 reference rows) and,
 * unless distances is NULL, of *distances (float32). sort 1: each query's
 * neighbours nearest first (ties by lower index); 0: by index. The answer's
 * size is what the radius makes it (up to nq x n entries: a large radius
 * asks for a lot of memory, EV_ERR_NOMEM when it is not there). Errors as
 * ev_knn_query, plus EV_ERR_ARGUMENT for NULL offsets or indices, and a
 * radius that is negative or not finite; nothing is written on failure.
 * Since 1.1. */
EV_API ev_status ev_knn_query_radius(const ev_knn *index,
                                     const float *queries, size_t nq,
                                     size_t dim, size_t ldq, double radius,
                                     int sort, ev_array **offsets,
                                     ev_array **indices,
                                     ev_array **distances);

#ifdef __cplusplus
}
#endif
#endif /* EMBEDVIZ_KNN_H */
