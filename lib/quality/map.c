/* How well a map keeps the input's neighbourhoods: trustworthiness,
 * continuity (Venna & Kaski), kNN preservation and kNN label accuracy,
 * from the exact kNN index and the ranks of the neighbours only. */
#include <math.h>

#include "embedviz/knn.h"
#include "knn/knn_internal.h"
#include "quality_private.h"

/* 1 - 2 / (n k (2n - 3k - 1)) sum max(0, rank - k), rank = before + 1. */
static double venna_kaski(const int64_t *before, size_t n, size_t k) {
  double s = 0;
  for (size_t a = 0; a < n * k; a++)
    if (before[a] + 1 > (int64_t)k) s += (double)(before[a] + 1 - (int64_t)k);
  double nn = (double)n, kk = (double)k;
  return 1.0 - s * (2.0 / (nn * kk * (2.0 * nn - 3.0 * kk - 1.0)));
}

static double preservation(const int64_t *a, const int64_t *b, size_t n,
                           size_t k) {
  size_t kept = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t u = 0; u < k; u++)
      for (size_t v = 0; v < k; v++)
        if (a[i * k + u] == b[i * k + v]) {
          kept++;
          break;
        }
  return (double)kept / ((double)n * (double)k);
}

/* Fraction of rows whose label is the majority of their map neighbours'
 * (a tie goes to the tied label met first, nearest first). */
static double knn_accuracy(const int64_t *nb, const int32_t *labels,
                           size_t n, size_t k) {
  size_t right = 0;
  for (size_t i = 0; i < n; i++) {
    const int64_t *row = nb + i * k;
    size_t best = 0;
    int32_t vote = -1;
    for (size_t u = 0; u < k; u++) {
      int32_t c = labels[row[u]];
      size_t cnt = 0;
      for (size_t v = 0; v < k; v++) cnt += labels[row[v]] == c;
      if (cnt > best) {
        best = cnt;
        vote = c;
      }
    }
    right += vote == labels[i];
  }
  return (double)right / (double)n;
}

static ev_status check_map_args(const ev_quality *q, const float *x, size_t n,
                                size_t dim, size_t ldx, const float *map,
                                size_t map_dim, size_t ldm,
                                const int32_t *labels, double *values,
                                size_t n_values) {
  EV__ARG_NOT_NULL(q, "make one with ev_quality_create first");
  EV__ARG_NOT_NULL(values, "pass room for n_values doubles");
  if (n_values == 0 || n_values > EV_MAP_MEASURES)
    return ev__fail(EV_ERR_ARGUMENT,
                    "n_values is %zu: ask for 1 to %d measures (the first "
                    "n_values of ev_map_measure)", n_values, EV_MAP_MEASURES);
  ev_status st = ev__check_matrix("x", x, n, dim, ldx);
  if (st == EV_OK) st = ev__check_matrix("map", map, n, map_dim, ldm);
  if (st != EV_OK) return st;
  if (2 * q->map_k >= n)
    return ev__fail(EV_ERR_ARGUMENT,
                    "EV_QUALITY_MAP_NEIGHBORS is %zu but the map measures "
                    "need fewer than n / 2 = %.1f neighbours for %zu rows: "
                    "lower it", q->map_k, (double)n / 2, n);
  if (labels)
    for (size_t i = 0; i < n; i++)
      if (labels[i] < 0)
        return ev__fail(EV_ERR_ARGUMENT,
                        "labels[%zu] is %d: labels must be >= 0 (pass NULL "
                        "when there are none)", i, (int)labels[i]);
  st = ev__check_finite("x", x, n, dim, ldx);
  if (st == EV_OK) st = ev__check_finite("map", map, n, map_dim, ldm);
  return st;
}

static ev_status measure(const ev_quality *q, const float *x, size_t n,
                         size_t dim, size_t ldx, const float *map,
                         size_t map_dim, size_t ldm, const int32_t *labels,
                         double *out, size_t n_values, int64_t *map_nb,
                         int64_t *in_nb, int64_t *before) {
  size_t k = q->map_k;
  ev_status st = ev__quality_neighbours(q, map, n, map_dim, ldm,
                                        EV_METRIC_EUCLIDEAN, k, map_nb, NULL);
  if (st == EV_OK)
    st = ev__knn_rank_candidates(q->metric, q->p, x, n, dim, ldx, map_nb, k,
                                 before);
  if (st != EV_OK) return st;
  out[EV_MAP_TRUSTWORTHINESS] = venna_kaski(before, n, k);
  if (n_values <= EV_MAP_CONTINUITY) return EV_OK;
  st = ev__quality_neighbours(q, x, n, dim, ldx, q->metric, k, in_nb, NULL);
  if (st == EV_OK)
    st = ev__knn_rank_candidates(EV_METRIC_EUCLIDEAN, 2, map, n, map_dim, ldm,
                                 in_nb, k, before);
  if (st != EV_OK) return st;
  out[EV_MAP_CONTINUITY] = venna_kaski(before, n, k);
  out[EV_MAP_KNN_PRESERVATION] = preservation(in_nb, map_nb, n, k);
  out[EV_MAP_KNN_ACCURACY] = labels ? knn_accuracy(map_nb, labels, n, k) : NAN;
  return EV_OK;
}

ev_status ev_quality_map(const ev_quality *q, const float *x, size_t n,
                         size_t dim, size_t ldx, const float *map,
                         size_t map_dim, size_t ldm, const int32_t *labels,
                         double *values, size_t n_values) {
  ev_status st = check_map_args(q, x, n, dim, ldx, map, map_dim, ldm, labels,
                                values, n_values);
  if (st != EV_OK) return st;
  size_t bytes;
  if (ev__bytes("the neighbour lists", n, q->map_k, 3 * sizeof(int64_t),
                &bytes) != EV_OK)
    return EV_ERR_OVERFLOW;
  int64_t *map_nb = ev__malloc(bytes);
  if (!map_nb) return ev__nomem("the neighbour lists", bytes);
  int64_t *in_nb = map_nb + n * q->map_k, *before = in_nb + n * q->map_k;
  double out[EV_MAP_MEASURES];
  ev__threads scope;
  ev__threads_begin(&scope, q->threads);
  st = measure(q, x, n, dim, ldx, map, map_dim, ldm, labels, out, n_values,
               map_nb, in_nb, before);
  ev__threads_end(&scope);
  ev__free(map_nb);
  if (st == EV_OK)
    for (size_t m = 0; m < n_values; m++) values[m] = out[m];
  return st;
}
