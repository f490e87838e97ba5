/* Only in the backend module (libembedviz-torch.so): the library's private
 * functions the shim calls, forwarded to the library that loaded the
 * module through its host table (lib/extract/backend.h). So the shim
 * records errors in the library's ev_last_error(), allocates through the
 * library's allocator (and its test hook: tests/test_oom.c fails
 * allocations inside the shim), and uses the library's threads scope. A
 * program that links the shim's objects in directly (the fuzz harness)
 * uses the library's own definitions and leaves this file out. */
#include "extract/backend.h"

extern const ev__backend_host *ev__module_host;
#define H ev__module_host

ev_status ev__vfail(ev_status status, const char *fmt, va_list ap) {
  return H->vfail(status, fmt, ap);
}

ev_status ev__fail(ev_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ev_status st = H->vfail(status, fmt, ap);
  va_end(ap);
  return st;
}

ev_status ev__nomem(const char *what, size_t bytes) {
  return H->nomem(what, bytes);
}
void *ev__malloc(size_t bytes) { return H->malloc_(bytes); }
void ev__free(void *p) { H->free_(p); }
bool ev__alloc_probe(void) { return H->alloc_probe(); }

ev_status ev__bytes(const char *what, size_t rows, size_t cols, size_t elem,
                    size_t *bytes) {
  return H->bytes(what, rows, cols, elem, bytes);
}
ev_status ev__check_matrix(const char *name, const float *data, size_t rows,
                           size_t cols, size_t ld) {
  return H->check_matrix(name, data, rows, cols, ld);
}
ev_status ev__check_finite(const char *name, const float *data, size_t rows,
                           size_t cols, size_t ld) {
  return H->check_finite(name, data, rows, cols, ld);
}
ev_status ev__param_check(const ev__param_spec *table, size_t n, int id,
                          double value, const char *what) {
  return H->param_check(table, n, id, value, what);
}
ev_status ev__param_bounds(const ev__param_spec *table, size_t n, int id,
                           const char *what, double *lower, double *upper) {
  return H->param_bounds(table, n, id, what, lower, upper);
}
ev_status ev__param_default(const ev__param_spec *table, size_t n, int id,
                            const char *what, double *out) {
  return H->param_default(table, n, id, what, out);
}
void ev__param_defaults(const ev__param_spec *table, size_t n, void *handle) {
  H->param_defaults(table, n, handle);
}
ev_status ev__param_set(const ev__param_spec *table, size_t n, void *handle,
                        int id, double value, const char *what) {
  return H->param_set(table, n, handle, id, value, what);
}
ev_status ev__param_get(const ev__param_spec *table, size_t n,
                        const void *handle, int id, double *value,
                        const char *what) {
  return H->param_get(table, n, handle, id, value, what);
}
ev_status ev__progress(ev_progress_fn cb, void *user, int stage, size_t step,
                       size_t total, double value) {
  return H->progress(cb, user, stage, step, total, value);
}
void ev__threads_begin(ev__threads *scope, int n) {
  H->threads_begin(scope, n);
}
void ev__threads_end(const ev__threads *scope) { H->threads_end(scope); }

const char *ev_last_error(void) { return H->last_error(); }
ev_status ev_last_status(void) { return H->last_status(); }
ev_status ev_dataset_count(const ev_dataset *ds, size_t *n) {
  return H->dataset_count(ds, n);
}
ev_status ev_dataset_item_shape(const ev_dataset *ds, size_t *c, size_t *h,
                                size_t *w) {
  return H->dataset_item_shape(ds, c, h, w);
}
ev_status ev_dataset_read(ev_dataset *ds, size_t first, size_t count,
                          float *out, size_t ld) {
  return H->dataset_read(ds, first, count, out, ld);
}
