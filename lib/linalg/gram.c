/* Blocked, centred Gram matrix: one SSYRK per block of rows, summed in
 * double. */
#include <cblas.h>

#include "linalg/linalg.h"

void ev__center_rows(const float *src, size_t rows, size_t d, size_t ld,
                     const float *mean, float *dst) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < rows; i++) {
    const float *s = src + i * ld;
    float *o = dst + i * d;
    if (mean)
      for (size_t j = 0; j < d; j++) o[j] = s[j] - mean[j];
    else
      for (size_t j = 0; j < d; j++) o[j] = s[j];
  }
}

void ev__gram_accumulate(const float *x, size_t rows, size_t d, size_t ld,
                         const float *mean, float *work, float *cf,
                         double *gram) {
  ev__center_rows(x, rows, d, ld, mean, work);
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)rows, 1.0f,
              work, (int)d, 0.0f, cf, (int)d);
#pragma omp parallel for schedule(dynamic, 16)
  for (size_t i = 0; i < d; i++)
    for (size_t j = i; j < d; j++) gram[i * d + j] += cf[i * d + j];
}
