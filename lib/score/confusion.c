/* Confusion matrix and per-class accuracy. */
#include <math.h>
#include <string.h>

#include "core/core.h"
#include "embedviz/score.h"

static ev_status check_labels(const char *name, const int32_t *y, size_t n,
                              size_t n_classes) {
  for (size_t i = 0; i < n; i++)
    if (y[i] < 0 || (size_t)y[i] >= n_classes)
      return ev__fail(EV_ERR_ARGUMENT,
                      "%s[%zu] = %d is not a class in [0, %zu): pass labels "
                      "0 .. n_classes - 1",
                      name, i, (int)y[i], n_classes);
  return EV_OK;
}

ev_status ev_confusion_matrix(const int32_t *y_true, const int32_t *y_pred,
                              size_t n, size_t n_classes, int64_t *counts,
                              float *per_class_accuracy) {
#define ADVICE \
  "pass n labels in y_true and y_pred and room for n_classes x n_classes counts"
  EV__ARG_NOT_NULL(y_true, ADVICE);
  EV__ARG_NOT_NULL(y_pred, ADVICE);
  EV__ARG_NOT_NULL(counts, ADVICE);
#undef ADVICE
  if (n == 0 || n_classes == 0)
    return ev__fail(EV_ERR_ARGUMENT,
                    "%zu labels of %zu classes: both must be at least 1", n,
                    n_classes);
  size_t bytes;
  ev_status st = ev__bytes("the confusion matrix", n_classes, n_classes,
                           sizeof(int64_t), &bytes);
  if (st != EV_OK) return st;
  if ((st = check_labels("y_true", y_true, n, n_classes)) != EV_OK ||
      (st = check_labels("y_pred", y_pred, n, n_classes)) != EV_OK)
    return st;
  memset(counts, 0, bytes);
  for (size_t i = 0; i < n; i++)
    counts[(size_t)y_true[i] * n_classes + (size_t)y_pred[i]]++;
  if (per_class_accuracy) {
    for (size_t c = 0; c < n_classes; c++) {
      int64_t total = 0;
      for (size_t j = 0; j < n_classes; j++) total += counts[c * n_classes + j];
      per_class_accuracy[c] =
          total ? (float)((double)counts[c * n_classes + c] / (double)total)
                : NAN;
    }
  }
  return EV_OK;
}
