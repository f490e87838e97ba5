/* Range-checked settings, described by a table per handle type. */
#include <math.h>

#include "core.h"

const ev__param_spec *ev__param_find(const ev__param_spec *table, size_t n,
                                     int id) {
  for (size_t i = 0; i < n; i++)
    if (table[i].id == id) return &table[i];
  return NULL;
}

static ev_status unknown(int id, const char *what) {
  return ev__fail(EV_ERR_ARGUMENT,
                  "%d is not a %s setting: use one of the EV_%s_* constants "
                  "from the header",
                  id, what, what);
}

ev_status ev__param_check(const ev__param_spec *table, size_t n, int id,
                          double value, const char *what) {
  const ev__param_spec *s = ev__param_find(table, n, id);
  if (!s) return unknown(id, what);
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
  if (!s) return unknown(id, what);
  if (lower) *lower = s->lower;
  if (upper) *upper = s->upper;
  return EV_OK;
}
