/* Per-query selection over blocks of the reference (private to lib/knn). */
#ifndef EV_LIB_KNN_SCAN_H
#define EV_LIB_KNN_SCAN_H

#include "knn_private.h"

/* Selection state of one block of up to bq queries. */
typedef struct ev__scan {
  size_t bq, k, cap;
  ev__topk *heaps;   /* bq heaps of the k best exact distances */
  double *heap_d;    /* their storage, bq x k */
  int64_t *heap_i;
  int64_t *pend;     /* bq x cap candidates awaiting exact distances */
  size_t *npend;
  float *thr;        /* bq scan thresholds, in the scan's own units */
  double *qn2, *qn;  /* |x|^2 and |x| per query */
  double *bound;     /* bq bounds on |expansion - exact| */
} ev__scan;

ev_status ev__scan_alloc(ev__scan *s, size_t bq, size_t k, size_t cap);
void ev__scan_free(ev__scan *s);

/* Start queries q0 .. q0 + mq - 1 with empty lists. */
void ev__scan_begin(ev__scan *s, const ev__knn_job *job, size_t q0, size_t mq);
/* Offer reference rows r0 .. r0 + mr - 1: SGEMM into tile (mq x mr) and the
 * filtered exact re-rank. */
void ev__scan_gemm_block(ev__scan *s, const ev__knn_job *job, size_t q0,
                         size_t mq, size_t r0, size_t mr, float *tile);
/* The same with direct exact distances (the other metrics). */
void ev__scan_direct_block(ev__scan *s, const ev__knn_job *job, size_t q0,
                           size_t mq, size_t r0, size_t mr);
/* Settle the pending candidates: s->heaps then hold the final lists. */
void ev__scan_finish(ev__scan *s, const ev__knn_job *job, size_t q0,
                     size_t mq);

#endif
