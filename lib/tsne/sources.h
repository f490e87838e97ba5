/* The inputs a t-SNE fit can start from (sources.c). */
#ifndef EV_LIB_TSNE_SOURCES_H
#define EV_LIB_TSNE_SOURCES_H

#include "tsne/tsne_internal.h"

typedef enum ev__source_kind {
  EV__SOURCE_ROWS,       /* n x d points */
  EV__SOURCE_DISTANCES,  /* n x n distances */
  EV__SOURCE_AFFINITIES  /* CSR affinities */
} ev__source_kind;

typedef struct ev__source {
  ev__source_kind kind;
  size_t n, d, ld;
  const float *x;       /* rows */
  const float *dist;    /* distances (ld) */
  const size_t *row_ptr; /* affinities */
  const int64_t *col_idx;
  const float *values;
  double perplexity, minkowski_p;
  int metric, threads;
  int knn_method;       /* rows: an ev_knn_method, AUTO resolved */
  double seed;          /* rows: the approximate index's seed */
  ev_progress_fn cb;
  void *user;
  ev_knn **keep_index; /* rows: not NULL = hand the neighbour index over
                          here (NULL when none was built) */
} ev__source;

/* The kNN index over a rows source's rows, by its metric and threads. */
ev_status ev__tsne_make_index(const ev__source *src, ev_knn **out);

/* The symmetric P of a source: exact = all other rows, else the
 * floor(3 perplexity) nearest. Sizes already checked by the caller. */
ev_status ev__tsne_source_affinities(const ev__source *src, int exact,
                                     ev__csr *p);

#endif
