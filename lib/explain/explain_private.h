/* Private to lib/explain: the ridge handle and shared helpers. */
#ifndef EV_LIB_EXPLAIN_PRIVATE_H
#define EV_LIB_EXPLAIN_PRIVATE_H

#include "core/core.h"
#include "embedviz/explain.h"

/* A value and where it came from, for ordering. */
typedef struct ev__ranked {
  float key;
  int64_t index;
} ev__ranked;

/* Sort by key, largest first, equal keys by lower index (qsort with a
 * total order, so the result does not depend on qsort's stability). */
void ev__rank_desc(ev__ranked *r, size_t n);

#endif
