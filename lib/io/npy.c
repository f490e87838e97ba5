/* numpy's .npy format: a magic string, a version, a header that is a Python
 * dict literal ({'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), })
 * padded with spaces to a multiple of 64 bytes, then the raw elements.
 * Reference: numpy/lib/format.py (NEP 1). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/io_private.h"

#define NPY_MAGIC "\x93NUMPY"

typedef struct npy_header {
  int dtype;
  int swap;    /* stored big-endian */
  int fortran;
  size_t ndim;
  size_t shape[EV_ARRAY_MAX_DIMS];
} npy_header;

/* Value text of 'key' in the header dict, or NULL. */
static const char *dict_value(const char *h, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "'%s'", key);
  const char *p = strstr(h, pat);
  if (!p) {
    snprintf(pat, sizeof pat, "\"%s\"", key);
    p = strstr(h, pat);
  }
  if (!p) return NULL;
  p += strlen(pat);
  while (isspace((unsigned char)*p)) p++;
  if (*p != ':') return NULL;
  p++;
  while (isspace((unsigned char)*p)) p++;
  return p;
}

static ev_status parse_descr(const char *v, const char *path, npy_header *h) {
  if (!v || (*v != '\'' && *v != '"'))
    return ev__fail(EV_ERR_FORMAT, "%s: .npy header has no 'descr' string: "
                    "a structured dtype? save a plain numeric array", path);
  char q = *v++, d[16];
  size_t n = 0;
  while (v[n] && v[n] != q && n < sizeof d - 1) { d[n] = v[n]; n++; }
  d[n] = 0;
  char order = d[0], kind = n > 1 ? d[1] : 0;
  int bytes = n > 2 ? atoi(d + 2) : 0;
  h->swap = order == '>';
  if (order != '<' && order != '>' && order != '|' && order != '=')
    kind = 0;
  if (kind == 'f' && bytes == 4) h->dtype = EV_DTYPE_FLOAT32;
  else if (kind == 'f' && bytes == 8) h->dtype = EV_DTYPE_FLOAT64;
  else if (kind == 'u' && bytes == 1) h->dtype = EV_DTYPE_UINT8;
  else if (kind == 'i' && bytes == 4) h->dtype = EV_DTYPE_INT32;
  else if (kind == 'i' && bytes == 8) h->dtype = EV_DTYPE_INT64;
  else
    return ev__fail(EV_ERR_FORMAT,
                    "%s: dtype '%s' is not supported: convert it with "
                    "numpy's astype to float32, float64, uint8, int32 or "
                    "int64", path, d);
  return EV_OK;
}

static ev_status parse_shape(const char *v, const char *path, npy_header *h) {
  if (!v || *v != '(')
    return ev__fail(EV_ERR_FORMAT,
                    "%s: .npy header has no 'shape' tuple: the "
                    "file is corrupt; write it again with numpy.save",
                    path);
  v++;
  h->ndim = 0;
  for (;;) {
    while (isspace((unsigned char)*v) || *v == ',') v++;
    if (*v == ')') break;
    if (!isdigit((unsigned char)*v))
      return ev__fail(EV_ERR_FORMAT,
                      "%s: .npy shape is malformed: the file is "
                      "corrupt; write it again with numpy.save",
                      path);
    if (h->ndim == EV_ARRAY_MAX_DIMS)
      return ev__fail(EV_ERR_FORMAT,
                      "%s: more than %d dimensions are not "
                      "supported: reshape the array before saving it",
                      path, EV_ARRAY_MAX_DIMS);
    errno = 0;
    char *end;
    unsigned long long d = strtoull(v, &end, 10);
    if (errno || d > SIZE_MAX)
      return ev__fail(EV_ERR_OVERFLOW, "%s: a dimension of the .npy shape "
                      "does not fit in size_t", path);
    h->shape[h->ndim++] = (size_t)d;
    v = end;
  }
  if (h->ndim == 0)
    return ev__fail(EV_ERR_FORMAT, "%s: a 0-dimensional (scalar) .npy array "
                    "is not supported: save an array of shape (1,)", path);
  return EV_OK;
}

/* 'fortran_order' must be the literal True or False, as numpy requires:
 * anything else (Yes, 1, a missing key) would silently pick an order. */
static int is_literal(const char *v, const char *word) {
  size_t n = strlen(word);
  return strncmp(v, word, n) == 0 &&
         (v[n] == ',' || v[n] == '}' || isspace((unsigned char)v[n]));
}

static ev_status parse_fortran(const char *v, const char *path,
                               npy_header *h) {
  if (v && is_literal(v, "True")) h->fortran = 1;
  else if (v && is_literal(v, "False")) h->fortran = 0;
  else if (!v)
    return ev__fail(EV_ERR_FORMAT,
                    "%s: the .npy header has no 'fortran_order': the file is "
                    "corrupt or was not written by numpy; write it again "
                    "with numpy.save",
                    path);
  else {
    size_t n = 0;
    while (n < 24 && v[n] && v[n] != ',' && v[n] != '}') n++;
    return ev__fail(EV_ERR_FORMAT,
                    "%s: the .npy header's 'fortran_order' is %.*s, not True "
                    "or False: the file is corrupt or was not written by "
                    "numpy; write it again with numpy.save",
                    path, (int)n, v);
  }
  return EV_OK;
}

/* Read magic, version and header dict; leaves f at the data. */
static ev_status read_header(FILE *f, const char *path, npy_header *h) {
  unsigned char pre[12];
  size_t got = fread(pre, 1, 10, f);
  if (got < 10 || memcmp(pre, NPY_MAGIC, 6) != 0)
    return ev__fail(EV_ERR_FORMAT,
                    "%s: not a .npy file (no \\x93NUMPY "
                    "magic%s): write it with numpy.save",
                    path, got < 10 ? ", file too short" : "");
  unsigned major = pre[6];
  size_t hlen;
  if (major == 1) {
    hlen = pre[8] | (size_t)pre[9] << 8;
  } else if (major == 2 || major == 3) {
    if (fread(pre + 10, 1, 2, f) != 2)
      return ev__fail(EV_ERR_FORMAT, "%s: .npy file truncated in its header",
                      path);
    hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
           (size_t)pre[11] << 24;
  } else {
    return ev__fail(EV_ERR_FORMAT, "%s: .npy format version %u.%u is not "
                    "supported (1.0, 2.0 and 3.0 are)", path, major, pre[7]);
  }
  if (hlen > (1u << 24))
    return ev__fail(EV_ERR_FORMAT, "%s: .npy header of %zu bytes is "
                    "implausible: the file is corrupt", path, hlen);
  char *text = ev__malloc(hlen + 1);
  if (!text) return ev__nomem("a .npy header", hlen + 1);
  ev_status st = EV_OK;
  if (fread(text, 1, hlen, f) != hlen) {
    st = ev__fail(EV_ERR_FORMAT,
                  "%s: .npy file truncated in its header "
                  "(%zu bytes expected): write it again with numpy.save",
                  path, hlen);
  } else {
    text[hlen] = 0;
    st = parse_fortran(dict_value(text, "fortran_order"), path, h);
    if (st == EV_OK) st = parse_descr(dict_value(text, "descr"), path, h);
    if (st == EV_OK) st = parse_shape(dict_value(text, "shape"), path, h);
  }
  ev__free(text);
  return st;
}

static void swap_bytes(unsigned char *p, size_t n, size_t elem) {
  for (size_t i = 0; i < n; i++, p += elem)
    for (size_t a = 0, b = elem - 1; a < b; a++, b--) {
      unsigned char t = p[a]; p[a] = p[b]; p[b] = t;
    }
}

/* Fortran order (first index fastest) to C order, through a copy. */
static ev_status fortran_to_c(ev_array *a) {
  size_t elem = ev__dtype_bytes(a->dtype), bytes = a->size * elem;
  unsigned char *dst = ev__malloc(bytes ? bytes : 1), *src = a->data;
  if (!dst) return ev__nomem("a transposed .npy array", bytes);
  size_t idx[EV_ARRAY_MAX_DIMS] = {0}, fstride[EV_ARRAY_MAX_DIMS];
  fstride[0] = 1;
  for (size_t d = 1; d < a->ndim; d++)
    fstride[d] = fstride[d - 1] * a->shape[d - 1];
  for (size_t i = 0; i < a->size; i++) {
    size_t off = 0;
    for (size_t d = 0; d < a->ndim; d++) off += idx[d] * fstride[d];
    memcpy(dst + i * elem, src + off * elem, elem);
    for (size_t d = a->ndim; d-- > 0;) {
      if (++idx[d] < a->shape[d]) break;
      idx[d] = 0;
    }
  }
  ev__free(a->data);
  a->data = dst;
  return EV_OK;
}

static ev_status read_data(FILE *f, const char *path, const npy_header *h,
                           ev_array **out) {
  long pos = ftell(f);
  if (pos < 0 || fseek(f, 0, SEEK_END) != 0)
    return ev__fail(EV_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
  long end = ftell(f);
  if (end < pos || fseek(f, pos, SEEK_SET) != 0)
    return ev__fail(EV_ERR_IO, "%s: cannot seek: %s", path, strerror(errno));
  size_t have = (size_t)(end - pos), want, size = 1;
  size_t elem = ev__dtype_bytes(h->dtype);
  for (size_t d = 0; d < h->ndim; d++)
    if (!ev__mul(size, h->shape[d], &size))
      return ev__fail(EV_ERR_OVERFLOW,
                      "%s: the .npy shape has more elements "
                      "than fit in memory: the header is corrupt; "
                      "write it again with numpy.save",
                      path);
  if (!ev__mul(size, elem, &want))
    return ev__fail(EV_ERR_OVERFLOW,
                    "%s: the .npy data would need more "
                    "bytes than fit in memory: the header is corrupt",
                    path);
  if (have != want)
    return ev__fail(EV_ERR_FORMAT,
                    "%s: the header announces %zu elements "
                    "(%zu bytes of data) but the file has %zu bytes of "
                    "data: the file is %s; write it again with numpy.save",
                    path, size, want, have,
                    have < want ? "truncated" : "corrupt");
  ev_array *a;
  ev_status st = ev__array_new(h->dtype, h->ndim, h->shape, path, &a);
  if (st) return st;
  if (fread(a->data, 1, want, f) != want) {
    ev_array_free(a);
    return ev__fail(EV_ERR_IO, "%s: read error: %s", path, strerror(errno));
  }
  if (h->swap) swap_bytes(a->data, size, elem);
  if (h->fortran && h->ndim > 1 && (st = fortran_to_c(a))) {
    ev_array_free(a);
    return st;
  }
  *out = a;
  return EV_OK;
}

ev_status ev_npy_read(const char *path, ev_array **out) {
  EV__ARG_NULL_IF(!path || !out, "ev_npy_read: path or out",
                  "pass a file path and the address of an ev_array pointer "
                  "(read) or the data (write)");
  *out = NULL;
  FILE *f;
  ev_status st0 = ev__open_regular(path, &f);
  if (st0 != EV_OK) return st0;
  npy_header h;
  ev_status st = read_header(f, path, &h);
  if (st == EV_OK) st = read_data(f, path, &h, out);
  fclose(f);
  return st;
}

/* ---- writing ---- */

static const char *descr_of(int dtype) {
  switch (dtype) {
    case EV_DTYPE_FLOAT32: return "<f4";
    case EV_DTYPE_FLOAT64: return "<f8";
    case EV_DTYPE_UINT8: return "|u1";
    case EV_DTYPE_INT32: return "<i4";
    case EV_DTYPE_INT64: return "<i8";
    default: return NULL;
  }
}

/* Magic, version and the dict, padded so the data starts at a multiple of
 * 64 bytes as numpy writes it. */
static ev_status write_header(ev__atomic_file *af, int dtype, size_t ndim,
                              const size_t *shape) {
  char dict[512];
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': "
                   "False, 'shape': (", descr_of(dtype));
  for (size_t d = 0; d < ndim; d++)
    n += snprintf(dict + n, sizeof dict - n, "%zu,%s", shape[d],
                  d + 1 < ndim ? " " : "");
  if (ndim > 1) n--; /* numpy writes (2, 3) but (5,) */
  n += snprintf(dict + n, sizeof dict - n, "), }");
  size_t total = 10 + (size_t)n + 1;
  size_t padded = (total + 63) / 64 * 64, hlen = padded - 10;
  unsigned char head[10 + sizeof dict + 64] = {
      0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
      (unsigned char)(hlen >> 8)};
  memcpy(head + 10, dict, (size_t)n);
  memset(head + 10 + n, ' ', padded - 1 - (10 + (size_t)n));
  head[padded - 1] = '\n';
  return ev__atomic_write(af, head, padded);
}

ev_status ev_npy_write_matrix(const char *path, const float *x, size_t rows,
                              size_t cols, size_t ld) {
  EV__ARG_NULL_IF(!path, "ev_npy_write_matrix: path", "pass a file path and "
                  "the address of an ev_array pointer (read) or the data "
                  "(write)");
  ev_status st = ev__check_matrix("x", x, rows, cols, ld);
  if (st) return st;
  ev__atomic_file af;
  if ((st = ev__atomic_open(&af, path))) return st;
  size_t shape[2] = {rows, cols};
  st = write_header(&af, EV_DTYPE_FLOAT32, 2, shape);
  for (size_t i = 0; st == EV_OK && i < rows; i++)
    st = ev__atomic_write(&af, x + i * ld, cols * sizeof *x);
  return ev__atomic_commit(&af);
}

ev_status ev_npy_write(const char *path, int dtype, const void *data,
                       size_t ndim, const size_t *shape) {
  EV__ARG_NULL_IF(!path || !data || !shape, "ev_npy_write: path, data or shape",
                  "pass a file path and the address of an ev_array pointer "
                  "(read) or the data (write)");
  if (!descr_of(dtype))
    return ev__fail(EV_ERR_ARGUMENT,
                    "ev_npy_write: dtype %d is not an "
                    "ev_dtype: use one of EV_DTYPE_*",
                    dtype);
  if (ndim == 0 || ndim > EV_ARRAY_MAX_DIMS)
    return ev__fail(EV_ERR_ARGUMENT, "ev_npy_write: ndim must be in [1, %d], "
                    "got %zu", EV_ARRAY_MAX_DIMS, ndim);
  size_t size = 1, bytes;
  for (size_t d = 0; d < ndim; d++) {
    if (shape[d] == 0)
      return ev__fail(EV_ERR_ARGUMENT, "ev_npy_write: shape[%zu] is 0", d);
    if (!ev__mul(size, shape[d], &size))
      return ev__fail(EV_ERR_OVERFLOW,
                      "ev_npy_write: the shape's size "
                      "overflows size_t: check the shape");
  }
  ev_status st = ev__bytes("the .npy data", size, 1, ev__dtype_bytes(dtype),
                           &bytes);
  if (st) return st;
  ev__atomic_file af;
  if ((st = ev__atomic_open(&af, path))) return st;
  if (!write_header(&af, dtype, ndim, shape))
    ev__atomic_write(&af, data, bytes);
  return ev__atomic_commit(&af);
}
