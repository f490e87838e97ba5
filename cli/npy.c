/*
 * npy.c - the tool's .npy and CSV files.
 *
 * .npy and IDX go through libembedviz's readers and writer (embedviz/io.h:
 * float32, float64, uint8, int32, int64, either byte order, C or Fortran
 * order); the tool writes float32 matrices and int64 labels. CSV is the
 * tool's own: one row of numbers a line, an optional header line.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Print the message and give the -1 the readers return. */
#define FAIL(...) (evc_err(__VA_ARGS__), -1)

void evc_mat_free(evc_mat *m) {
  if (!m) return;
  free(m->f);
  free(m->i);
  m->f = NULL;
  m->i = NULL;
  m->rows = m->cols = 0;
}

static int alloc_checked(size_t rows, size_t cols, size_t elem, void **p) {
  if (rows && cols > SIZE_MAX / rows / elem) return evc_err("matrix of %zu x %zu is too large", rows, cols);
  *p = malloc(rows * cols * elem + 1);
  if (!*p) return evc_err("out of memory for a %zu x %zu matrix", rows, cols);
  return 0;
}

int evc_mat_alloc_f(evc_mat *m, size_t rows, size_t cols) {
  m->rows = rows; m->cols = cols; m->i = NULL; m->f = NULL;
  return alloc_checked(rows, cols, sizeof(float), (void **)&m->f) ? -1 : 0;
}

int evc_mat_alloc_i(evc_mat *m, size_t rows, size_t cols) {
  m->rows = rows; m->cols = cols; m->i = NULL; m->f = NULL;
  return alloc_checked(rows, cols, sizeof(int64_t), (void **)&m->i) ? -1 : 0;
}

/* ---- .npy and IDX through libembedviz -------------------------------- */

/* v as an int64 label or index; 0 when it is not an integer in range
 * (converting such a double is undefined behaviour). */
static int as_int64(double v, int64_t *out) {
  if (!(v == floor(v)) || v < -9223372036854775808.0 || v >= 9223372036854775808.0) return 0;
  *out = (int64_t)v;
  return 1;
}

/* Integer elements of an integer array, exactly (no trip through float). */
static int64_t int_element(const ev_array *a, size_t k) {
  const void *d = ev_array_data(a);
  switch (ev_array_dtype(a)) {
  case EV_DTYPE_UINT8: return ((const uint8_t *)d)[k];
  case EV_DTYPE_INT32: return ((const int32_t *)d)[k];
  default: return ((const int64_t *)d)[k];
  }
}

/* An ev_array as rows x cols: a 1-D array is n x 1, more dimensions are
 * flattened after the first (images N x H x W -> N x HW). */
static int from_array(const char *path, const ev_array *a, int as_int, evc_mat *out) {
  size_t n = ev_array_size(a), rows = ev_array_dim(a, 0), cols = rows ? n / rows : 0;
  int dt = ev_array_dtype(a), is_float = dt == EV_DTYPE_FLOAT32 || dt == EV_DTYPE_FLOAT64;
  if (rows == 0 || cols == 0)
    return FAIL("%s: the array is empty (%zu x %zu): give at least one row and one column", path, rows, cols);
  if (as_int) {
    if (evc_mat_alloc_i(out, rows, cols)) return -1;
    if (!is_float) {
      for (size_t k = 0; k < n; k++) out->i[k] = int_element(a, k);
      return 0;
    }
    const float *f = ev_array_data(a);
    const double *g = ev_array_data(a);
    for (size_t k = 0; k < n; k++) {
      double v = dt == EV_DTYPE_FLOAT32 ? f[k] : g[k];
      if (!as_int64(v, &out->i[k])) {
        evc_mat_free(out);
        return FAIL("%s: value %g at position %zu is not an integer: give integer labels or indices", path, v, k);
      }
    }
    return 0;
  }
  if (evc_mat_alloc_f(out, rows, cols)) return -1;
  ev_status st = ev_array_to_float(a, out->f, n);
  if (st) { evc_mat_free(out); return evc_lib_err("converting to float", st), -1; }
  return 0;
}

int evc_npy_read(const char *path, int as_int, evc_mat *out) {
  memset(out, 0, sizeof *out);
  ev_array *a = NULL;
  ev_status st = ev_npy_read(path, &a);
  if (st) return evc_err("%s", ev_last_error()), -1;
  int rc = from_array(path, a, as_int, out);
  ev_array_free(a);
  return rc;
}

typedef struct npy_job { const evc_mat *m; int one_d; } npy_job;

static int npy_to(const char *tmp, const void *ctx) {
  const npy_job *j = ctx;
  const evc_mat *m = j->m;
  size_t shape[2] = {m->rows, m->cols}, n1 = m->rows * m->cols;
  ev_status st = m->f ? ev_npy_write(tmp, EV_DTYPE_FLOAT32, m->f, j->one_d ? 1 : 2, j->one_d ? &n1 : shape)
                      : ev_npy_write(tmp, EV_DTYPE_INT64, m->i, j->one_d ? 1 : 2, j->one_d ? &n1 : shape);
  return st ? 1 : 0;   /* evc_out_library says what failed, naming the target */
}

int evc_npy_write(const char *path, const evc_mat *m, int one_d) {
  npy_job j = {m, one_d};
  evc_out o;
  return evc_out_library(&o, path, npy_to, &j) ? -1 : 0;
}

int evc_csv_write(const char *path, const evc_mat *m, const char *header) {
  evc_out o;
  if (evc_out_open(&o, path)) return -1;
  FILE *f = o.f;
  if (header) fprintf(f, "%s\n", header);
  for (size_t r = 0; r < m->rows && !ferror(f); r++) {
    for (size_t c = 0; c < m->cols; c++) {
      if (c) fputc(',', f);
      if (m->f) fprintf(f, "%.9g", m->f[r * m->cols + c]);
      else fprintf(f, "%lld", (long long)m->i[r * m->cols + c]);
    }
    fputc('\n', f);
  }
  return evc_out_commit(&o) ? -1 : 0;
}

static int has_ext(const char *path, const char *ext) {
  size_t n = strlen(path), e = strlen(ext);
  return n >= e && strcasecmp(path + n - e, ext) == 0;
}

/* CSV: count the columns of the first numeric line, then read all values. */
static int csv_read(const char *path, int as_int, evc_mat *out) {
  FILE *f = fopen(path, "r");
  if (!f) return FAIL("%s: %s", path, strerror(errno));
  size_t cap = 1024, n = 0, rows = 0, cols = 0;
  double *v = malloc(cap * sizeof *v);
  char line[1 << 16];
  int rc = 0;
  while (v && rc == 0 && fgets(line, sizeof line, f)) {
    char *p = line, *end;
    size_t c = 0;
    if (strspn(line, " \t\r\n") == strlen(line)) continue;
    while (*p && *p != '\n' && *p != '\r') {
      double x = strtod(p, &end);
      if (end == p) break;
      if (n == cap) { double *nv = realloc(v, (cap *= 2) * sizeof *v); if (!nv) { rc = evc_err("out of memory"); break; } v = nv; }
      v[n++] = x; c++;
      p = end;
      while (*p == ' ' || *p == '\t') p++;
      if (*p == ',') p++;
    }
    if (c == 0 && rows == 0 && n == 0) continue;   /* a header line */
    if (c == 0 || (*p && *p != '\n' && *p != '\r')) rc = evc_err("%s: line %zu is not a row of numbers", path, rows + 1);
    else if (cols && c != cols) rc = evc_err("%s: row %zu has %zu values, the first row %zu", path, rows + 1, c, cols);
    cols = c; rows++;
  }
  fclose(f);
  if (!v) return FAIL("out of memory");
  if (rc == 0 && rows == 0) rc = evc_err("%s: no rows of numbers", path);
  if (rc == 0 && (as_int ? evc_mat_alloc_i(out, rows, cols) : evc_mat_alloc_f(out, rows, cols))) rc = 1;
  for (size_t k = 0; rc == 0 && k < n; k++) {
    if (as_int) {
      if (!as_int64(v[k], &out->i[k])) rc = evc_err("%s: value %g is not an integer", path, v[k]);
    } else {
      out->f[k] = (float)v[k];
    }
  }
  if (rc) evc_mat_free(out);
  free(v);
  return rc ? -1 : 0;
}

/* IDX files (MNIST, Fashion-MNIST), gzipped or not, through libembedviz. */
static int idx_read(const char *path, int as_int, evc_mat *out) {
  ev_array *a = NULL;
  ev_status st = ev_idx_read(path, &a);
  if (st) return evc_lib_err("reading the IDX file", st), -1;
  int rc = from_array(path, a, as_int, out);
  ev_array_free(a);
  return rc;
}

int evc_read_any(const char *path, int as_int, evc_mat *out) {
  memset(out, 0, sizeof *out);
  if (has_ext(path, ".csv")) return csv_read(path, as_int, out);
  if (has_ext(path, "-ubyte") || has_ext(path, "-ubyte.gz") || has_ext(path, ".idx") || has_ext(path, ".idx.gz"))
    return idx_read(path, as_int, out);
  return evc_npy_read(path, as_int, out);
}

int evc_write_any(const char *path, const evc_mat *m, int one_d, const char *csv_header) {
  return has_ext(path, ".csv") ? evc_csv_write(path, m, csv_header) : evc_npy_write(path, m, one_d);
}
