/* Range-checked settings, described by a table per handle type. */
#include <math.h>
#include <string.h>

#include "core.h"

const ev__param_spec *ev__param_find(const ev__param_spec *table, size_t n,
                                     int id) {
  for (size_t i = 0; i < n; i++)
    if (table[i].id == id) return &table[i];
  return NULL;
}

/* "999 is not a PCA setting: use one of the EV_PCA_* constants": the
 * prefix is that of the table's first name, up to its second '_'. */
static ev_status unknown(const ev__param_spec *table, size_t n, int id,
                         const char *what) {
  const char *name = n ? table[0].name : "EV_";
  const char *u = strchr(name, '_');
  u = u ? strchr(u + 1, '_') : NULL;
  int len = u ? (int)(u - name) + 1 : (int)strlen(name);
  return ev__fail(EV_ERR_ARGUMENT,
                  "%d is not a %s setting: use one of the %.*s* constants "
                  "from the header",
                  id, what, len, name);
}

ev_status ev__param_check(const ev__param_spec *table, size_t n, int id,
                          double value, const char *what) {
  const ev__param_spec *s = ev__param_find(table, n, id);
  if (!s) return unknown(table, n, id, what);
  if (isnan(value) || value < s->lower || value > s->upper)
    return ev__fail(EV_ERR_ARGUMENT, "%s must be %s in [%g, %g], got %g",
                    s->name, s->integer ? "a whole number" : "a number",
                    s->lower, s->upper, value);
  if (s->integer && value != floor(value))
    return ev__fail(EV_ERR_ARGUMENT,
                    "%s must be a whole number in [%g, %g], got %g", s->name,
                    s->lower, s->upper, value);
  return EV_OK;
}

ev_status ev__param_bounds(const ev__param_spec *table, size_t n, int id,
                           const char *what, double *lower, double *upper) {
  const ev__param_spec *s = ev__param_find(table, n, id);
  if (!s) return unknown(table, n, id, what);
  if (lower) *lower = s->lower;
  if (upper) *upper = s->upper;
  return EV_OK;
}

ev_status ev__param_default(const ev__param_spec *table, size_t n, int id,
                            const char *what, double *out) {
  const ev__param_spec *s = ev__param_find(table, n, id);
  if (!s) return unknown(table, n, id, what);
  EV__ARG_NULL_IF(!out, "value", "pass the address of a double");
  *out = s->fallback;
  return EV_OK;
}

static void store(const ev__param_spec *s, void *handle, double v) {
  char *at = (char *)handle + s->offset;
  switch (s->slot) {
  case EV__SLOT_DOUBLE: *(double *)(void *)at = v; break;
  case EV__SLOT_INT: *(int *)(void *)at = (int)v; break;
  case EV__SLOT_SIZE: *(size_t *)(void *)at = (size_t)v; break;
  case EV__SLOT_U64: *(uint64_t *)(void *)at = (uint64_t)v; break;
  case EV__SLOT_NONE: break;
  }
}

void ev__param_defaults(const ev__param_spec *table, size_t n, void *handle) {
  for (size_t i = 0; i < n; i++) store(&table[i], handle, table[i].fallback);
}

void *ev__param_new(size_t size, const ev__param_spec *table, size_t n) {
  void *h = ev__calloc(1, size);
  if (h) ev__param_defaults(table, n, h);
  return h;
}

ev_status ev__param_set(const ev__param_spec *table, size_t n, void *handle,
                        int id, double value, const char *what) {
  ev_status st = ev__param_check(table, n, id, value, what);
  if (st) return st;
  const ev__param_spec *s = ev__param_find(table, n, id);
  if (s->slot == EV__SLOT_NONE)
    return ev__fail(EV_ERR_ARGUMENT, "%s is read-only: it cannot be set",
                    s->name);
  store(s, handle, value);
  return EV_OK;
}

ev_status ev__param_get(const ev__param_spec *table, size_t n,
                        const void *handle, int id, double *value,
                        const char *what) {
  const ev__param_spec *s = ev__param_find(table, n, id);
  if (!s) return unknown(table, n, id, what);
  const char *at = (const char *)handle + s->offset;
  switch (s->slot) {
  case EV__SLOT_DOUBLE: *value = *(const double *)(const void *)at; break;
  case EV__SLOT_INT: *value = *(const int *)(const void *)at; break;
  case EV__SLOT_SIZE: *value = (double)*(const size_t *)(const void *)at; break;
  case EV__SLOT_U64: *value = (double)*(const uint64_t *)(const void *)at; break;
  case EV__SLOT_NONE: break;
  }
  return EV_OK;
}
