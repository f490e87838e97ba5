/* The approximate method of the kNN index (private to lib/knn): the
 * NN-descent neighbour graph (nndescent.c) and the greedy graph search for
 * new rows (knn_approx.c). */
#ifndef EV_LIB_KNN_APPROX_H
#define EV_LIB_KNN_APPROX_H

#include "knn_private.h"
#include "linalg/linalg.h"

/* Default of EV_KNN_AUTO_ROWS (docs/knn.md says why). */
#define EV__KNN_AUTO_ROWS 200000.0 /* exact below 200,000 rows (docs/knn.md) */

/* The rows the approximate method works on. */
typedef struct ev__knn_data {
  const float *ref;       /* n x dim, packed */
  const double *norm;     /* |y| per row */
  size_t n, dim;
  int kind;               /* a direct ev__knn_kind */
  double p;
} ev__knn_data;

/* The search graph of an approximate index: row i's neighbours are
 * adj[start[i] .. start[i + 1]), its `degree` NN-descent neighbours
 * then up to `degree` nearest reverse neighbours; pivots are the
 * rows every search starts from. */
typedef struct ev__knn_graph {
  size_t n, degree;
  size_t *start;
  int32_t *adj;
  int32_t *pivots;
  size_t npivots;
} ev__knn_graph;

void ev__knn_graph_free(ev__knn_graph *g);

/* Ask for row r of x ahead of its use (its first 256 bytes: the hardware
 * fetches the rest of a wide row itself). */
static inline void ev__prefetch_row(const ev__knn_data *x, size_t r) {
  const char *row = (const char *)(x->ref + r * x->dim);
  size_t bytes = x->dim * sizeof *x->ref;
  for (size_t b = 0; b < bytes && b < 256; b += 64) __builtin_prefetch(row + b);
}

/* Squared Euclidean distance in float (8 lanes): for ranking only. */
float ev__knn_sq_l2f(const float *x, const float *y, size_t dim);

/* NN-descent settings for one run. */
typedef struct ev__nnd_params {
  size_t k;
  int n_iters;            /* 0 = max(5, round(log2 n)) */
  double delta;
  int max_candidates;     /* 0 = min(60, k) */
  uint64_t seed;
  ev_progress_fn progress;
  void *progress_user;
  int threads;            /* resolved thread count (>= 1) */
  int n_trees;            /* 0 = min(32, 5 + round(n^0.25)) */
  int unsorted;           /* 1: leave each row's list in heap order */
} ev__nnd_params;

/* The approximate k nearest of every row among the others (k <= n - 1,
 * n >= 2): idx and d (n x k, packed) sorted by (float distance, index)
 * unless pr->unsorted,
 * d in the ranking form of ev__knn_exact rounded to float. */
ev_status ev__nndescent(const ev__knn_data *x, const ev__nnd_params *pr,
                        int32_t *idx, float *d);

/* One random-projection tree of NN-descent's forest: perm (n entries)
 * gets the rows with each leaf contiguous, leaf (n + 1 entries) the
 * nleaves + 1 boundaries (leaf t is perm[leaf[t] .. leaf[t + 1])). Leaves
 * hold at most leaf_size rows (a split that keeps failing stops after 200
 * levels) and can be much smaller. normal: dim floats of scratch. A
 * function of the rows, seed and tree number only. */
void ev__rptree_build(const ev__knn_data *x, size_t leaf_size, uint64_t seed,
                      size_t tree, int32_t *perm, uint32_t *leaf,
                      size_t *nleaves, float *normal);

/* Build the search graph of the index's reference (called by the first
 * query by new rows). */
ev_status ev__knn_graph_build(const ev_knn *settings, const ev__knn_data *x,
                              ev__knn_graph **out);

/* Approximate ev_knn_query / ev_knn_query_self on a built approximate
 * index; arguments already checked. The query makes the search graph if
 * the index has none yet (under the index's graph_lock); the self query
 * runs NN-descent for its k. */
ev_status ev__knn_approx_query(const ev_knn *ix, const float *q, size_t nq,
                               size_t ldq, size_t k, int64_t *indices,
                               size_t ldi, float *distances, size_t ldd);
ev_status ev__knn_approx_self(const ev_knn *ix, size_t k, int64_t *indices,
                              size_t ldi, float *distances, size_t ldd);

#endif
