/* Exact kNN with fuzzed sizes, values, metric and k: build, query,
 * query_self. Results must be valid indices with distances in order. */
#include "fuzz_common.h"

static void check_result(const int64_t *idx, const float *dist, size_t m,
                         size_t k, size_t n, size_t self_row_base) {
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < k; j++) {
      int64_t v = idx[i * k + j];
      FZ_REQUIRE(v >= 0 && (size_t)v < n);
      if (self_row_base) FZ_REQUIRE((size_t)v != i);
      float dv = dist[i * k + j];
      FZ_REQUIRE(!isnan(dv) && dv >= 0);
      if (j) FZ_REQUIRE(dist[i * k + j - 1] <= dv);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_bytes b = {data, size};
  ev_knn *ix = NULL;
  if (ev_knn_create(&ix)) return 0;
  ev_knn_set(ix, EV_KNN_THREADS, 1);
  uint8_t s = fz_u8(&b);
  ev_knn_set(ix, EV_KNN_METRIC, s % 6);
  ev_knn_set(ix, EV_KNN_MINKOWSKI_P, 1 + fz_u8(&b) / 16.0);
  ev_knn_set(ix, EV_KNN_BLOCK_ROWS, (s >> 3) % 5);
  size_t n = fz_range(&b, 0, 48), d = fz_range(&b, 0, 20);
  size_t ld = d + fz_u8(&b) % 2, k = fz_range(&b, 0, 12);
  float *ref = fz_matrix(&b, n ? n : 1, d, ld ? ld : 1);
  ev_status st = ev_knn_build(ix, ref, n, d, ld);
  fz_check_status(st);
  if (st == EV_OK) {
    FZ_REQUIRE(fz_all_finite(ref, n, d, ld));
    size_t m = fz_range(&b, 1, 16);
    float *q = fz_matrix(&b, m, d, d);
    int64_t *idx = malloc((m > n ? m : n) * (k + 1) * sizeof *idx);
    float *dist = malloc((m > n ? m : n) * (k + 1) * sizeof *dist);
    st = ev_knn_query(ix, q, m, d, d, k, idx, k, dist, k);
    fz_check_status(st);
    if (st == EV_OK) check_result(idx, dist, m, k, n, 0);
    st = ev_knn_query_self(ix, k, idx, k, dist, k);
    fz_check_status(st);
    if (st == EV_OK) check_result(idx, dist, n, k, n, 1);
    if (k == 0 || k >= n) FZ_REQUIRE(st == EV_ERR_ARGUMENT);
    free(q); free(idx); free(dist);
  }
  free(ref);
  ev_knn_free(ix);
  return 0;
}
