/*
 * npy.c - the tool's .npy and CSV files.
 *
 * The .npy format (NumPy's NEP 1): a magic string, a version, a header
 * length, a Python dict literal {'descr': ..., 'fortran_order': ...,
 * 'shape': (...)} padded so the data starts on a 64-byte boundary, then the
 * raw data. The tool reads little-endian numbers of any common type in C
 * order and writes float32 and int64.
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

/* ---- reading ---------------------------------------------------------- */

/* Find "'key':" in the header dict and return a pointer past the colon. */
static const char *dict_value(const char *hdr, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "'%s'", key);
  const char *p = strstr(hdr, pat);
  if (!p) return NULL;
  p = strchr(p + strlen(pat), ':');
  if (!p) return NULL;
  p++;
  while (*p == ' ') p++;
  return p;
}

typedef struct npy_header {
  char kind;    /* 'f', 'i', 'u', 'b' */
  int size;     /* bytes per element */
  size_t shape[8];
  int ndim;
} npy_header;

static int parse_header(const char *path, const char *hdr, npy_header *h) {
  const char *d = dict_value(hdr, "descr"), *fo = dict_value(hdr, "fortran_order"),
             *sh = dict_value(hdr, "shape");
  if (!d || !fo || !sh || *d != '\'' || strnlen(d, 4) < 4)
    return evc_err("%s: not a .npy file (header lacks descr, fortran_order or shape)", path);
  char endian = d[1];
  h->kind = d[2];
  h->size = atoi(d + 3);
  if (endian == '>' && h->size > 1)
    return evc_err("%s: big-endian data is not supported: save it little-endian (arr.astype('<f4'))", path);
  if (!strchr("fiub", h->kind) || (h->kind == 'f' && h->size != 4 && h->size != 8) ||
      (h->kind != 'f' && h->size != 1 && h->size != 2 && h->size != 4 && h->size != 8))
    return evc_err("%s: unsupported element type %.6s: use float32, float64 or an integer type", path, d);
  if (strncmp(fo, "True", 4) == 0)
    return evc_err("%s: Fortran-order arrays are not supported: save np.ascontiguousarray(arr)", path);
  if (*sh != '(') return evc_err("%s: malformed shape in the .npy header", path);
  h->ndim = 0;
  const char *p = sh + 1;
  while (*p && *p != ')') {
    while (*p == ' ' || *p == ',') p++;
    if (*p == ')') break;
    if (!isdigit((unsigned char)*p) || h->ndim == 8) return evc_err("%s: malformed shape in the .npy header", path);
    h->shape[h->ndim++] = strtoull(p, (char **)&p, 10);
  }
  return 0;
}

/* v as an int64 label or index; 0 when it is not an integer in range
 * (converting such a double is undefined behaviour). */
static int as_int64(double v, int64_t *out) {
  if (!(v == floor(v)) || v < -9223372036854775808.0 || v >= 9223372036854775808.0) return 0;
  *out = (int64_t)v;
  return 1;
}

static double element(const unsigned char *p, char kind, int size) {
  switch (kind) {
  case 'f': if (size == 4) { float v; memcpy(&v, p, 4); return v; }
            else { double v; memcpy(&v, p, 8); return v; }
  case 'b': return p[0] != 0;
  case 'u': { uint64_t v = 0; memcpy(&v, p, (size_t)size); return (double)v; }
  default: {
    int64_t v = 0;
    memcpy(&v, p, (size_t)size);
    int shift = 64 - 8 * size;   /* sign-extend the little-endian value */
    if (shift) v = (int64_t)((uint64_t)v << shift) >> shift;
    return (double)v;
  }
  }
}

static int read_payload(FILE *f, const char *path, const npy_header *h, int as_int,
                        evc_mat *out) {
  size_t rows = h->ndim ? h->shape[0] : 1, cols = 1;
  for (int k = 1; k < h->ndim; k++)
    if (__builtin_mul_overflow(cols, h->shape[k], &cols)) return evc_err("%s: the array's shape is too large", path);
  if (rows == 0 || cols == 0) return evc_err("%s: the array is empty", path);
  /* the data must be in the file before its size is allocated */
  long here = ftell(f), end = -1;
  if (here >= 0 && fseek(f, 0, SEEK_END) == 0) end = ftell(f);
  if (end < 0 || fseek(f, here, SEEK_SET) != 0) return evc_err("%s: cannot seek", path);
  if (cols > SIZE_MAX / rows || rows * cols > (size_t)(end - here) / (size_t)h->size)
    return evc_err("%s: truncated: the header announces %zu x %zu values, the file holds %ld bytes of data",
                   path, rows, cols, end - here);
  if ((as_int ? evc_mat_alloc_i(out, rows, cols) : evc_mat_alloc_f(out, rows, cols)) != 0) return -1;
  size_t n = rows * cols, chunk = 1 << 16;
  unsigned char *buf = malloc(chunk * (size_t)h->size);
  if (!buf) { evc_mat_free(out); return evc_err("out of memory"); }
  for (size_t done = 0; done < n;) {
    size_t want = n - done < chunk ? n - done : chunk;
    if (fread(buf, (size_t)h->size, want, f) != want) {
      free(buf); evc_mat_free(out);
      return evc_err("%s: truncated: %zu of %zu values present", path, done, n);
    }
    for (size_t k = 0; k < want; k++) {
      double v = element(buf + k * (size_t)h->size, h->kind, h->size);
      if (as_int) {
        if (!as_int64(v, &out->i[done + k])) {
          free(buf); evc_mat_free(out);
          return evc_err("%s: value %g at position %zu is not an integer (labels and indices must be integers)", path, v, done + k);
        }
      } else {
        out->f[done + k] = (float)v;
      }
    }
    done += want;
  }
  free(buf);
  return 0;
}

int evc_npy_read(const char *path, int as_int, evc_mat *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f) return FAIL("%s: %s", path, strerror(errno));
  unsigned char pre[10];
  if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) {
    fclose(f);
    return FAIL("%s: not a .npy file (no \\x93NUMPY magic): write it with numpy.save", path);
  }
  size_t hlen = pre[8] | (size_t)pre[9] << 8;
  if (pre[6] >= 2) {
    unsigned char more[2];
    if (fread(more, 1, 2, f) != 2) { fclose(f); return FAIL("%s: truncated header", path); }
    hlen |= (size_t)more[0] << 16 | (size_t)more[1] << 24;
  }
  if (hlen > (1u << 24)) {   /* numpy writes a few hundred bytes */
    fclose(f);
    return FAIL("%s: a .npy header of %zu bytes is implausible: the file is corrupt", path, hlen);
  }
  char *hdr = calloc(hlen + 1, 1);
  npy_header h = {0};
  int rc = -1;
  if (!hdr) evc_err("out of memory");
  else if (fread(hdr, 1, hlen, f) != hlen) evc_err("%s: truncated header", path);
  else if (parse_header(path, hdr, &h) == 0) rc = read_payload(f, path, &h, as_int, out);
  free(hdr);
  fclose(f);
  return rc ? -1 : 0;
}

/* ---- writing ---------------------------------------------------------- */

int evc_npy_write(const char *path, const evc_mat *m, int one_d) {
  FILE *f = fopen(path, "wb");
  if (!f) return FAIL("cannot write %s: %s", path, strerror(errno));
  char dict[160];
  if (one_d)
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu,), }",
             m->f ? "<f4" : "<i8", m->rows * m->cols);
  else
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }",
             m->f ? "<f4" : "<i8", m->rows, m->cols);
  size_t len = strlen(dict), total = 10 + len + 1;
  size_t pad = (64 - total % 64) % 64;
  fwrite("\x93NUMPY\x01\x00", 1, 8, f);
  unsigned short hl = (unsigned short)(len + pad + 1);
  unsigned char hb[2] = {(unsigned char)(hl & 0xff), (unsigned char)(hl >> 8)};
  fwrite(hb, 1, 2, f);
  fputs(dict, f);
  for (size_t k = 0; k < pad; k++) fputc(' ', f);
  fputc('\n', f);
  size_t n = m->rows * m->cols;
  size_t w = m->f ? fwrite(m->f, sizeof(float), n, f) : fwrite(m->i, sizeof(int64_t), n, f);
  int bad = (w != n) | (fclose(f) != 0);
  if (bad) return FAIL("cannot write %s: %s", path, strerror(errno));
  return 0;
}

int evc_csv_write(const char *path, const evc_mat *m, const char *header) {
  FILE *f = fopen(path, "w");
  if (!f) return FAIL("cannot write %s: %s", path, strerror(errno));
  if (header) fprintf(f, "%s\n", header);
  for (size_t r = 0; r < m->rows; r++) {
    for (size_t c = 0; c < m->cols; c++) {
      if (c) fputc(',', f);
      if (m->f) fprintf(f, "%.9g", m->f[r * m->cols + c]);
      else fprintf(f, "%lld", (long long)m->i[r * m->cols + c]);
    }
    fputc('\n', f);
  }
  if (fclose(f) != 0) return FAIL("cannot write %s: %s", path, strerror(errno));
  return 0;
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

#ifdef EVC_HAVE_IO
/* IDX files (MNIST, Fashion-MNIST), gzipped or not, through libembedviz. */
static int idx_read(const char *path, int as_int, evc_mat *out) {
  ev_array *a = NULL;
  ev_status st = ev_idx_read(path, &a);
  if (st) return evc_lib_err("reading the IDX file", st), -1;
  size_t n = ev_array_size(a), rows = ev_array_dim(a, 0), cols = rows ? n / rows : 0;
  int rc = evc_mat_alloc_f(out, rows, cols);
  if (!rc && (st = ev_array_to_float(a, out->f, n))) rc = evc_lib_err("reading the IDX file", st);
  ev_array_free(a);
  if (!rc && as_int) {
    evc_mat m;
    if ((rc = evc_mat_alloc_i(&m, rows, cols)) == 0) {
      for (size_t k = 0; rc == 0 && k < n; k++)
        if (!as_int64(out->f[k], &m.i[k])) rc = evc_err("%s: value %g is not an integer", path, out->f[k]);
      if (rc) evc_mat_free(&m);
      evc_mat_free(out);
      *out = m;
    }
  }
  if (rc) evc_mat_free(out);
  return rc ? -1 : 0;
}
#endif

int evc_read_any(const char *path, int as_int, evc_mat *out) {
  memset(out, 0, sizeof *out);
  if (has_ext(path, ".csv")) return csv_read(path, as_int, out);
#ifdef EVC_HAVE_IO
  if (has_ext(path, "-ubyte") || has_ext(path, "-ubyte.gz") || has_ext(path, ".idx") || has_ext(path, ".idx.gz"))
    return idx_read(path, as_int, out);
#endif
  return evc_npy_read(path, as_int, out);
}

int evc_write_any(const char *path, const evc_mat *m, int one_d, const char *csv_header) {
  return has_ext(path, ".csv") ? evc_csv_write(path, m, csv_header) : evc_npy_write(path, m, one_d);
}
