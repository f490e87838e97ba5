/* Exact dense distance rows for the other rooms (t-SNE's exact method):
 * the same exact distances an ev_knn query reports, without an index, a
 * selection or a scatter. */
#include "knn_private.h"

void ev__knn_norms(const float *x, size_t n, size_t d, size_t ld,
                   double *norm) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) norm[i] = ev__knn_norm(x + i * ld, d);
}

void ev__knn_distance_rows(int metric, double p, const float *x, size_t n,
                           size_t d, size_t ld, const double *norm,
                           size_t r0, size_t rows, double *d2) {
  int kind = ev__knn_direct_kind(metric, p);
  int cos = kind == EV__KNN_COS_DIRECT, squared = metric == EV_METRIC_SQEUCLIDEAN;
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t r = 0; r < rows; r++) {
    const float *xr = x + (r0 + r) * ld;
    double nr = cos ? norm[r0 + r] : 0;
    for (size_t j = 0; j < n; j++) {
      double ranked = ev__knn_exact(kind, p, xr, x + j * ld, d, nr,
                                    cos ? norm[j] : 0);
      double v = ev__knn_report(metric, p, ranked);
      d2[r * n + j] = squared ? v : v * v;
    }
  }
}
