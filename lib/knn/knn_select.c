/* Partial selection: a bounded max-heap of the k best (distance, index)
 * pairs. Its root is the current k-th neighbour, so a candidate is one
 * comparison away from rejection, and selecting k of n costs O(n + k log k
 * log(n/k)) rather than a full sort. Ties go to the lower index, which makes
 * the result independent of the order in which candidates arrive (blocks,
 * threads). */
#include "knn_private.h"

/* a is "worse" (farther) than b. */
static inline int worse(double da, int64_t ia, double db, int64_t ib) {
  return da > db || (da == db && ia > ib);
}

void ev__topk_reset(ev__topk *h) { h->size = 0; }

static void sift_down(double *d, int64_t *idx, size_t size, size_t at) {
  double dv = d[at];
  int64_t iv = idx[at];
  for (;;) {
    size_t c = 2 * at + 1;
    if (c >= size) break;
    if (c + 1 < size && worse(d[c + 1], idx[c + 1], d[c], idx[c])) c++;
    if (!worse(d[c], idx[c], dv, iv)) break;
    d[at] = d[c];
    idx[at] = idx[c];
    at = c;
  }
  d[at] = dv;
  idx[at] = iv;
}

void ev__topk_push(ev__topk *h, double d, int64_t i) {
  if (h->size < h->k) { /* sift the new leaf up */
    size_t at = h->size++;
    while (at > 0) {
      size_t parent = (at - 1) / 2;
      if (!worse(d, i, h->d[parent], h->i[parent])) break;
      h->d[at] = h->d[parent];
      h->i[at] = h->i[parent];
      at = parent;
    }
    h->d[at] = d;
    h->i[at] = i;
  } else if (!worse(d, i, h->d[0], h->i[0])) { /* replace the k-th */
    h->d[0] = d;
    h->i[0] = i;
    sift_down(h->d, h->i, h->size, 0);
  }
}

void ev__topk_sort(ev__topk *h) {
  /* Heapsort: repeatedly move the farthest to the end. */
  for (size_t end = h->size; end > 1; end--) {
    double td = h->d[0];
    int64_t ti = h->i[0];
    h->d[0] = h->d[end - 1];
    h->i[0] = h->i[end - 1];
    h->d[end - 1] = td;
    h->i[end - 1] = ti;
    sift_down(h->d, h->i, end - 1, 0);
  }
}

void ev__knn_write_row(const ev_knn *ix, ev__topk *h, int64_t *indices,
                       float *distances) {
  ev__topk_sort(h);
  for (size_t j = 0; j < h->size; j++) indices[j] = h->i[j];
  if (distances)
    for (size_t j = 0; j < h->size; j++)
      distances[j] = ev__knn_report(ix->built_metric, ix->built_p, h->d[j]);
}
