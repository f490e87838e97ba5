/* The k-d tree search for low-dimensional Euclidean rows (knn_tree.c),
 * private to lib/knn: ev__knn_search hands it the jobs it applies to. */
#ifndef EV_LIB_KNN_TREE_H
#define EV_LIB_KNN_TREE_H

#include "knn_private.h"

/* The most columns the tree serves (maps have 2 or 3). */
#define EV__KNN_TREE_MAX_DIM 3

/* Non-zero when the job is a Euclidean search of rows of 1 to
 * EV__KNN_TREE_MAX_DIM columns. */
int ev__knn_tree_applies(const ev__knn_job *job);
/* The same result as the exhaustive scan (ev__knn_search), bit for bit. */
ev_status ev__knn_tree_search(const ev__knn_job *job, int64_t *indices,
                              size_t ldi, float *distances, size_t ldd);

#endif
