/* Column means and sums of squared deviations, in double. */
#include "linalg/linalg.h"

/* Columns per thread task: wide enough for vector loads, narrow enough that
 * the accumulators stay in L1. */
#define MOMENT_TILE 128

void ev__column_moments(const float *x, size_t n, size_t d, size_t ld,
                        double *mean, double *ssd) {
  size_t tiles = (d + MOMENT_TILE - 1) / MOMENT_TILE;
#pragma omp parallel for schedule(static)
  for (size_t t = 0; t < tiles; t++) {
    size_t j0 = t * MOMENT_TILE;
    size_t w = d - j0 < MOMENT_TILE ? d - j0 : MOMENT_TILE;
    double s1[MOMENT_TILE], s2[MOMENT_TILE], shift[MOMENT_TILE];
    for (size_t j = 0; j < w; j++) {
      shift[j] = x[j0 + j]; /* the first row: removes most cancellation */
      s1[j] = s2[j] = 0.0;
    }
    for (size_t i = 0; i < n; i++) {
      const float *row = x + i * ld + j0;
      for (size_t j = 0; j < w; j++) {
        double v = (double)row[j] - shift[j];
        s1[j] += v;
        s2[j] += v * v;
      }
    }
    for (size_t j = 0; j < w; j++) {
      double m = s1[j] / (double)n;
      mean[j0 + j] = shift[j] + m;
      double q = s2[j] - s1[j] * m;
      ssd[j0 + j] = q > 0.0 ? q : 0.0;
    }
  }
}
