/* IDX files (LeCun's MNIST format, also Fashion-MNIST's): magic 0 0 type
 * ndim, ndim big-endian 32-bit sizes, then the elements big-endian. zlib's
 * gzread reads gzipped and plain files alike. The data is read in growing
 * chunks up to the size the header announces, so a corrupt header asking
 * for terabytes costs no more memory than the file really holds. */
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "io/io_private.h"

typedef struct idx_type {
  int code;
  size_t stored; /* bytes per element in the file */
  int dtype;     /* what it becomes */
} idx_type;

static const idx_type idx_types[] = {
    {0x08, 1, EV_DTYPE_UINT8},  {0x09, 1, EV_DTYPE_INT32},
    {0x0B, 2, EV_DTYPE_INT32},  {0x0C, 4, EV_DTYPE_INT32},
    {0x0D, 4, EV_DTYPE_FLOAT32}, {0x0E, 8, EV_DTYPE_FLOAT64},
};

static ev_status read_exact(gzFile gz, const char *path, void *buf,
                            size_t want, size_t *got) {
  size_t n = 0;
  while (n < want) {
    unsigned chunk = want - n > (1u << 30) ? 1u << 30 : (unsigned)(want - n);
    int r = gzread(gz, (char *)buf + n, chunk);
    if (r < 0) {
      int zerr;
      const char *msg = gzerror(gz, &zerr);
      return ev__fail(zerr == Z_ERRNO ? EV_ERR_IO : EV_ERR_FORMAT,
                      "%s: %s: %s", path,
                      zerr == Z_ERRNO ? "read error" : "corrupt gzip data",
                      zerr == Z_ERRNO ? strerror(errno) : msg);
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  *got = n;
  return EV_OK;
}

/* Read `want` bytes into a buffer grown as the data really arrives. */
static ev_status read_body(gzFile gz, const char *path, size_t want,
                           unsigned char **out) {
  size_t cap = want < (1u << 20) ? want : (1u << 20), have = 0;
  unsigned char *buf = ev__malloc(cap);
  if (!buf) return ev__nomem("IDX data", cap);
  for (;;) {
    size_t got;
    ev_status st = read_exact(gz, path, buf + have, cap - have, &got);
    if (st) { ev__free(buf); return st; }
    have += got;
    if (have < cap || have == want) break;
    size_t ncap = cap > want / 2 ? want : cap * 2;
    unsigned char *nb = ev__realloc(buf, ncap);
    if (!nb) { ev__free(buf); return ev__nomem("IDX data", ncap); }
    buf = nb;
    cap = ncap;
  }
  if (have < want) {
    ev__free(buf);
    return ev__fail(EV_ERR_FORMAT, "%s: truncated: the IDX header announces "
                    "%zu bytes of data, the file holds %zu: download it again",
                    path, want, have);
  }
  unsigned char extra;
  size_t more;
  ev_status st = read_exact(gz, path, &extra, 1, &more);
  if (st == EV_OK && more)
    st = ev__fail(EV_ERR_FORMAT,
                  "%s: the file holds more than the %zu bytes "
                  "of data its IDX header announces: it is corrupt; "
                  "download it again",
                  path, want);
  if (st) { ev__free(buf); return st; }
  *out = buf;
  return EV_OK;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

/* Big-endian stored elements to the array's native dtype. */
static ev_status convert(const idx_type *t, unsigned char *raw, size_t n,
                         ev_array *a) {
  if (t->code == 0x08) {
    a->data = raw;
    return EV_OK;
  }
  if (t->stored == ev__dtype_bytes(t->dtype)) {
    for (size_t i = 0; i < n; i++) {
      unsigned char *p = raw + i * t->stored;
      for (size_t x = 0, y = t->stored - 1; x < y; x++, y--) {
        unsigned char c = p[x]; p[x] = p[y]; p[y] = c;
      }
    }
    a->data = raw;
    return EV_OK;
  }
  int32_t *v = ev__malloc(n * sizeof *v);
  if (!v) {
    ev__free(raw);
    return ev__nomem("IDX data", n * sizeof *v);
  }
  for (size_t i = 0; i < n; i++)
    v[i] = t->stored == 1 ? (int8_t)raw[i]
                          : (int16_t)(raw[2 * i] << 8 | raw[2 * i + 1]);
  ev__free(raw);
  a->data = v;
  return EV_OK;
}

static ev_status read_header(gzFile gz, const char *path,
                             const idx_type **type, size_t *ndim,
                             size_t *shape, size_t *count) {
  unsigned char m[4 + 4 * 255];
  size_t got;
  ev_status st = read_exact(gz, path, m, 4, &got);
  if (st) return st;
  if (got < 4 || m[0] != 0 || m[1] != 0)
    return ev__fail(EV_ERR_FORMAT, "%s: not an IDX file (the magic number "
                    "must start with two zero bytes)", path);
  *type = NULL;
  for (size_t i = 0; i < sizeof idx_types / sizeof *idx_types; i++)
    if (idx_types[i].code == m[2]) *type = &idx_types[i];
  if (!*type)
    return ev__fail(EV_ERR_FORMAT,
                    "%s: IDX type code 0x%02X is unknown "
                    "(0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E are): the file is not "
                    "IDX or is corrupt; download it again",
                    path, m[2]);
  *ndim = m[3];
  if (*ndim == 0 || *ndim > EV_ARRAY_MAX_DIMS)
    return ev__fail(EV_ERR_FORMAT, "%s: IDX with %zu dimensions: 1 to %d are "
                    "supported", path, *ndim, EV_ARRAY_MAX_DIMS);
  if ((st = read_exact(gz, path, m + 4, 4 * *ndim, &got))) return st;
  if (got < 4 * *ndim)
    return ev__fail(EV_ERR_FORMAT, "%s: truncated in the IDX header (%zu "
                    "dimension sizes expected)", path, *ndim);
  *count = 1;
  for (size_t d = 0; d < *ndim; d++) {
    shape[d] = be32(m + 4 + 4 * d);
    if (shape[d] == 0)
      return ev__fail(EV_ERR_FORMAT,
                      "%s: IDX dimension %zu is 0: the file holds "
                      "no data; use a non-empty IDX file",
                      path, d);
    if (!ev__mul(*count, shape[d], count))
      return ev__fail(EV_ERR_OVERFLOW,
                      "%s: the IDX dimensions' product "
                      "overflows size_t: the header is corrupt; "
                      "download it again",
                      path);
  }
  size_t bytes;
  if (!ev__mul(*count, (*type)->stored, &bytes))
    return ev__fail(EV_ERR_OVERFLOW,
                    "%s: the IDX data size overflows "
                    "size_t: the header is corrupt; download it again",
                    path);
  return EV_OK;
}

ev_status ev_idx_read(const char *path, ev_array **out) {
  EV__ARG_NULL_IF(!path || !out, "ev_idx_read: path or out",
                  "pass a file path and the address of an ev_array pointer");
  *out = NULL;
  ev_status st0 = ev__regular_file(path);
  if (st0 != EV_OK) return st0;
  errno = 0;
  gzFile gz = gzopen(path, "rb");
  if (!gz) {
    if (errno == ENOENT || errno == ENOTDIR)
      return ev__fail(EV_ERR_NOT_FOUND, "%s: no such file: check the path",
                      path);
    /* zlib returns NULL without errno when its own state cannot be
     * allocated */
    if (errno == 0 || errno == ENOMEM)
      return ev__fail(EV_ERR_NOMEM, "%s: out of memory opening the file: "
                      "free memory", path);
    return ev__fail(EV_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  }
  const idx_type *t;
  size_t ndim, shape[EV_ARRAY_MAX_DIMS], count;
  unsigned char *raw = NULL;
  ev_array *a = NULL;
  ev_status st = read_header(gz, path, &t, &ndim, shape, &count);
  if (st == EV_OK) st = read_body(gz, path, count * t->stored, &raw);
  gzclose(gz);
  if (st) return st;
  if (!(a = ev__calloc(1, sizeof *a))) {
    ev__free(raw);
    return ev__nomem("an array", sizeof *a);
  }
  a->dtype = t->dtype;
  a->ndim = ndim;
  memcpy(a->shape, shape, ndim * sizeof *shape);
  a->size = count;
  if ((st = convert(t, raw, count, a))) {
    ev__free(a);
    return st;
  }
  *out = a;
  return EV_OK;
}
