/* ev_array: the n-dimensional array every reader returns, and whole-file
 * reading shared by the readers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io_private.h"

size_t ev__dtype_bytes(int dtype) {
  switch (dtype) {
    case EV_DTYPE_FLOAT32: return 4;
    case EV_DTYPE_FLOAT64: return 8;
    case EV_DTYPE_UINT8: return 1;
    case EV_DTYPE_INT32: return 4;
    case EV_DTYPE_INT64: return 8;
    default: return 0;
  }
}

ev_status ev__array_new(int dtype, size_t ndim, const size_t *shape,
                        const char *path, ev_array **out) {
  size_t elem = ev__dtype_bytes(dtype);
  if (elem == 0 || ndim == 0 || ndim > EV_ARRAY_MAX_DIMS)
    return ev__fail(EV_ERR_INTERNAL, "array of dtype %d and %zu dimensions",
                    dtype, ndim);
  size_t size = 1, bytes;
  for (size_t i = 0; i < ndim; i++)
    if (!ev__mul(size, shape[i], &size))
      return ev__fail(EV_ERR_OVERFLOW,
                      "%s: the array's shape has more elements than fit in "
                      "memory: the header is probably corrupt", path);
  if (!ev__mul(size, elem, &bytes))
    return ev__fail(EV_ERR_OVERFLOW,
                    "%s: the array's %zu elements do not fit in memory", path,
                    size);
  ev_array *a = ev__calloc(1, sizeof *a);
  void *data = ev__malloc(bytes ? bytes : 1);
  if (!a || !data) {
    ev__free(a);
    ev__free(data);
    return ev__nomem("an array", bytes);
  }
  a->dtype = dtype;
  a->ndim = ndim;
  memcpy(a->shape, shape, ndim * sizeof *shape);
  a->size = size;
  a->data = data;
  *out = a;
  return EV_OK;
}

void ev_array_free(ev_array *a) {
  if (!a) return;
  ev__free(a->data);
  ev__free(a);
}

int ev_array_dtype(const ev_array *a) { return a ? a->dtype : 0; }
size_t ev_array_ndim(const ev_array *a) { return a ? a->ndim : 0; }
size_t ev_array_dim(const ev_array *a, size_t axis) {
  return a && axis < a->ndim ? a->shape[axis] : 0;
}
size_t ev_array_size(const ev_array *a) { return a ? a->size : 0; }
const void *ev_array_data(const ev_array *a) { return a ? a->data : NULL; }

ev_status ev_array_to_float(const ev_array *a, float *out, size_t count) {
  EV__ARG_NULL_IF(!a || !out, "array or out", "pass an array from ev_npy_read, "
                  "ev_idx_read or ev_image_read and a buffer for its floats");
  if (count < a->size)
    return ev__fail(EV_ERR_ARGUMENT,
                    "out has room for %zu floats, the array has %zu: pass a "
                    "larger buffer", count, a->size);
  size_t n = a->size;
  switch (a->dtype) {
    case EV_DTYPE_FLOAT32: memcpy(out, a->data, n * sizeof *out); break;
    case EV_DTYPE_FLOAT64:
      for (size_t i = 0; i < n; i++) out[i] = (float)((double *)a->data)[i];
      break;
    case EV_DTYPE_UINT8:
      for (size_t i = 0; i < n; i++) out[i] = ((uint8_t *)a->data)[i];
      break;
    case EV_DTYPE_INT32:
      for (size_t i = 0; i < n; i++) out[i] = (float)((int32_t *)a->data)[i];
      break;
    case EV_DTYPE_INT64:
      for (size_t i = 0; i < n; i++) out[i] = (float)((int64_t *)a->data)[i];
      break;
    default: return ev__fail(EV_ERR_INTERNAL, "array of dtype %d", a->dtype);
  }
  return EV_OK;
}

static const char *kind_of(mode_t m) {
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

static ev_status not_regular(const char *path, mode_t m) {
  if (S_ISDIR(m))
    return ev__fail(EV_ERR_IO,
                    "%s is a folder, not a file: give the path of "
                    "the file to read",
                    path);
  return ev__fail(EV_ERR_IO,
                  "%s is %s, not a regular file: the library reads only "
                  "regular files (a device or pipe can stream without end): "
                  "copy the data into a file and give its path",
                  path, kind_of(m));
}

ev_status ev__regular_file(const char *path) {
  struct stat sb;
  if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
    return not_regular(path, sb.st_mode);
  return EV_OK;
}

static ev_status open_fail(const char *path) {
  int e = errno;
  if (e == ENOENT || e == ENOTDIR)
    return ev__fail(EV_ERR_NOT_FOUND, "%s: no such file: check the path",
                    path);
  return ev__fail(EV_ERR_IO, "%s: cannot open: %s", path, strerror(e));
}

/* Open for reading only when it is a regular file, checked on the open
 * descriptor (no window between check and open). O_NONBLOCK so that
 * opening a FIFO without a writer returns at once instead of waiting. */
ev_status ev__open_regular(const char *path, FILE **out) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return open_fail(path);
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return ev__fail(EV_ERR_IO, "%s: cannot examine: %s", path, strerror(e));
  }
  if (!S_ISREG(sb.st_mode)) {
    close(fd);
    return not_regular(path, sb.st_mode);
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  FILE *f = fdopen(fd, "rb");
  if (!f) {
    int e = errno;
    close(fd);
    return ev__fail(EV_ERR_IO, "%s: cannot open: %s", path, strerror(e));
  }
  *out = f;
  return EV_OK;
}

ev_status ev__read_file(const char *path, unsigned char **data, size_t *len) {
  FILE *f;
  ev_status st0 = ev__open_regular(path, &f);
  if (st0 != EV_OK) return st0;
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = ev__malloc(cap);
  if (!buf) {
    fclose(f);
    return ev__nomem("a file buffer", cap);
  }
  for (;;) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    size_t ncap;
    if (!ev__mul(cap, 2, &ncap)) break;
    unsigned char *nb = ev__realloc(buf, ncap);
    if (!nb) {
      ev__free(buf);
      fclose(f);
      return ev__nomem("a file buffer", ncap);
    }
    buf = nb;
    cap = ncap;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    ev__free(buf);
    return ev__fail(EV_ERR_IO, "%s: read error: %s", path, strerror(errno));
  }
  *data = buf;
  *len = n;
  return EV_OK;
}

ev_status ev__read_head(const char *path, unsigned char *buf, size_t cap,
                        size_t *len) {
  FILE *f;
  ev_status st0 = ev__open_regular(path, &f);
  if (st0 != EV_OK) return st0;
  size_t n = fread(buf, 1, cap, f);
  int err = ferror(f);
  fclose(f);
  if (err)
    return ev__fail(EV_ERR_IO, "%s: read error: %s", path, strerror(errno));
  *len = n;
  return EV_OK;
}
