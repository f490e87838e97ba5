/* Private to lib/quality: the handle. */
#ifndef EV_LIB_QUALITY_PRIVATE_H
#define EV_LIB_QUALITY_PRIVATE_H

#include "core/core.h"
#include "embedviz/quality.h"

struct ev_quality {
  size_t map_k;     /* EV_QUALITY_MAP_NEIGHBORS */
  size_t issue_k;   /* EV_QUALITY_ISSUE_NEIGHBORS */
  int metric;       /* EV_QUALITY_METRIC */
  double p;         /* EV_QUALITY_MINKOWSKI_P */
  int scores;       /* EV_QUALITY_SCORES */
  int threads;      /* EV_QUALITY_THREADS */
};

/* The k nearest rows of each row (itself left out) of x in a metric,
 * through an ev_knn index with the handle's threads: indices n x k and,
 * unless NULL, distances n x k. */
ev_status ev__quality_neighbours(const ev_quality *q, const float *x,
                                 size_t n, size_t dim, size_t ld, int metric,
                                 size_t k, int64_t *indices,
                                 float *distances);

#endif
