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
