/* Argument checks shared by every public call that takes a matrix. */
#include <math.h>
#include <string.h>

#include "core.h"

ev_status ev__bytes(const char *what, size_t rows, size_t cols, size_t elem,
                    size_t *bytes) {
  if (!ev__mul3(rows, cols, elem, bytes))
    return ev__fail(EV_ERR_OVERFLOW,
                    "%s of %zu x %zu elements of %zu bytes does not fit in "
                    "memory's address range: use fewer rows or columns",
                    what, rows, cols, elem);
  return EV_OK;
}

static ev_status check_shape(const char *name, const void *data, size_t rows,
                             size_t cols, size_t ld) {
  EV__ARG_NULL_IF(!data, "%s", "pass a %zu x %zu matrix", name, rows, cols);
  if (rows == 0 || cols == 0)
    return ev__fail(EV_ERR_ARGUMENT,
                    "%s has %zu rows and %zu columns: both must be at least 1",
                    name, rows, cols);
  if (ld < cols)
    return ev__fail(EV_ERR_ARGUMENT,
                    "%s's leading dimension %zu is less than its %zu columns: "
                    "pass ld >= cols (ld = cols for a packed matrix)",
                    name, ld, cols);
  size_t span, bytes;
  if (!ev__mul(rows - 1, ld, &span) || !ev__add(span, cols, &span) ||
      !ev__mul(span, sizeof(float), &bytes) || bytes > (size_t)PTRDIFF_MAX)
    return ev__fail(EV_ERR_OVERFLOW,
                    "%s's size (%zu rows, leading dimension %zu) overflows the "
                    "address range: check rows and ld",
                    name, rows, ld);
  return EV_OK;
}

ev_status ev__check_matrix(const char *name, const float *data, size_t rows,
                           size_t cols, size_t ld) {
  return check_shape(name, data, rows, cols, ld);
}

ev_status ev__check_out_matrix(const char *name, const float *data,
                               size_t rows, size_t cols, size_t ld) {
  return check_shape(name, data, rows, cols, ld);
}

ev_status ev__check_finite(const char *name, const float *data, size_t rows,
                           size_t cols, size_t ld) {
  for (size_t i = 0; i < rows; i++) {
    const float *row = data + i * ld;
    float acc = 0.0f;
    /* x * 0 is 0 for finite x and NaN for NaN or Inf: one test per row. */
    for (size_t j = 0; j < cols; j++) acc += row[j] * 0.0f;
    if (acc != 0.0f) {
      for (size_t j = 0; j < cols; j++)
        if (!isfinite(row[j]))
          return ev__fail(EV_ERR_NONFINITE,
                          "%s[%zu][%zu] is %s: remove or impute non-finite "
                          "values before calling",
                          name, i, j, isnan(row[j]) ? "NaN" : "Inf");
    }
  }
  return EV_OK;
}

ev__prob_defect ev__probability_rows(const float *x, size_t n, size_t c,
                                     size_t ld, double tol, size_t *row,
                                     size_t *col, double *sum) {
  for (size_t i = 0; i < n; i++) {
    double s = 0.0;
    for (size_t j = 0; j < c; j++) {
      float v = x[i * ld + j];
      if (v < 0.0f) {
        *row = i;
        *col = j;
        return EV__PROB_NEGATIVE;
      }
      s += v;
    }
    if (tol < 0 ? s <= 0.0 : fabs(s - 1.0) > tol) {
      *row = i;
      *sum = s;
      return EV__PROB_SUM;
    }
  }
  return EV__PROB_OK;
}

ev_status ev__packed_copy(const char *name, const char *what, const float *y,
                          size_t n, size_t dims, size_t ld, float **out) {
  ev_status st;
  size_t bytes = 0;
  if ((st = ev__check_matrix(name, y, n, dims, ld)) ||
      (st = ev__check_finite(name, y, n, dims, ld)) ||
      (st = ev__bytes(what, n, dims, sizeof(float), &bytes)))
    return st;
  float *copy = ev__malloc(bytes);
  if (!copy) return ev__nomem(what, bytes);
  for (size_t i = 0; i < n; i++)
    memcpy(copy + i * dims, y + i * ld, dims * sizeof *copy);
  *out = copy;
  return EV_OK;
}

ev_status ev__sparse_out(size_t n, const size_t *row_ptr, const uint32_t *col,
                         const double *val, const float *fval, const char *have,
                         size_t *row_ptr_out, int64_t *col_idx,
                         float *values, size_t *nnz) {
  EV__ARG_NOT_NULL(nnz, "pass the address of a size_t");
  size_t entries = row_ptr[n];
  if (!row_ptr_out && !col_idx && !values) {
    *nnz = entries;
    return EV_OK;
  }
  if (!row_ptr_out || !col_idx || !values)
    return ev__fail(EV_ERR_ARGUMENT,
                    "pass all of row_ptr, col_idx and values, or none of them "
                    "to ask for the number of entries");
  if (*nnz < entries) {
    size_t given = *nnz;
    *nnz = entries;
    return ev__fail(EV_ERR_ARGUMENT,
                    "the arrays hold %zu entries but %s %zu: pass arrays of "
                    "*nnz entries",
                    given, have, entries);
  }
  memcpy(row_ptr_out, row_ptr, (n + 1) * sizeof *row_ptr_out);
  for (size_t e = 0; e < entries; e++) {
    col_idx[e] = col[e];
    values[e] = val ? (float)val[e] : fval[e];
  }
  *nnz = entries;
  return EV_OK;
}
