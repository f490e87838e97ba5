/* What lib/knn lends the other rooms of the library: the top-k heap
 * (knn_select.c) and exact dense distance rows (knn_rows.c) to t-SNE, the
 * ranks of given neighbours (knn_rank.c) to the map measures of
 * lib/quality. Nothing here is exported. */
#ifndef EV_LIB_KNN_INTERNAL_H
#define EV_LIB_KNN_INTERNAL_H

#include "core/core.h"
#include "embedviz/knn.h"

/* A bounded max-heap of the k best (distance, index) pairs seen so far,
 * ordered by distance then index, so its root is the current k-th. */
typedef struct ev__topk {
  double *d;
  int64_t *i;
  size_t size, k;
} ev__topk;

void ev__topk_reset(ev__topk *h);
/* True when (d, i) would enter the heap (it beats the root or the heap is
 * not full). */
static inline int ev__topk_admits(const ev__topk *h, double d, int64_t i) {
  return h->size < h->k || d < h->d[0] || (d == h->d[0] && i < h->i[0]);
}
void ev__topk_push(ev__topk *h, double d, int64_t i);
/* Sort the heap's contents nearest first (ties by lower index), in place. */
void ev__topk_sort(ev__topk *h);

/* Squared distances d2[r * n + j] between rows r0 + r (r < rows) and j
 * (j < n) of the n x d matrix x (leading dimension ld), for an ev_metric
 * (with p for EV_METRIC_MINKOWSKI): the distance ev_knn_query reports,
 * squared in double (EV_METRIC_SQEUCLIDEAN: the value itself). norm: |x_i|
 * for every row (ev__knn_norms) for EV_METRIC_COSINE, else unused. Direct
 * exact loops, parallel over the rows; no allocation. */
void ev__knn_distance_rows(int metric, double p, const float *x, size_t n,
                           size_t d, size_t ld, const double *norm,
                           size_t r0, size_t rows, double *d2);
/* norm[i] = |x_i| in double for the n rows of x. */
void ev__knn_norms(const float *x, size_t n, size_t d, size_t ld,
                   double *norm);

/* Ranks of given candidates among all rows, for the map measures: for each
 * row i of the n x d matrix x (leading dimension ld) and each of its m
 * candidates j = cand[i * m + c], before[i * m + c] = the number of rows
 * l != i ordered before j by (distance to i, index), distances exact in
 * double as ev_knn_query ranks them (an ev_metric, p for Minkowski). So
 * 1 + before is j's rank among i's neighbours. Each distance row is made
 * blockwise (SGEMM with an exact check of every row near a candidate's
 * distance for Euclidean data of 16 or more columns, direct exact loops
 * otherwise), in parallel over rows with the calling thread's OpenMP
 * count; memory is O(n + threads x block), never n x n. EV_ERR_NOMEM or
 * EV_ERR_OVERFLOW with a message. */
ev_status ev__knn_rank_candidates(int metric, double p, const float *x,
                                  size_t n, size_t d, size_t ld,
                                  const int64_t *cand, size_t m,
                                  int64_t *before);

#endif
