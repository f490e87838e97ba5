/* The most ambiguous rows: a partial selection with a bounded heap. */
#include <math.h>

#include "core/core.h"
#include "embedviz/score.h"

/* Order of "more ambiguous": higher value, then lower index. */
static bool before(const float *v, int64_t a, int64_t b) {
  return v[a] > v[b] || (v[a] == v[b] && a < b);
}

/* Min-heap on `before`: the root is the least ambiguous of those kept. */
static void sift_down(int64_t *h, size_t size, size_t i, const float *v) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < size && before(v, h[m], h[l])) m = l;
    if (r < size && before(v, h[m], h[r])) m = r;
    if (m == i) return;
    int64_t t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

ev_status ev_most_ambiguous(const float *ambiguity, size_t n, size_t k,
                            int64_t *indices) {
#define ADVICE \
  "pass the n ambiguity values (from ev_ambiguity) and room for k indices"
  EV__ARG_NOT_NULL(ambiguity, ADVICE);
  EV__ARG_NOT_NULL(indices, ADVICE);
#undef ADVICE
  if (n == 0 || k == 0 || k > n)
    return ev__fail(EV_ERR_ARGUMENT,
                    "asked for the %zu most ambiguous of %zu rows: k must be "
                    "in [1, n]",
                    k, n);
  for (size_t i = 0; i < n; i++)
    if (isnan(ambiguity[i]))
      return ev__fail(EV_ERR_NONFINITE,
                      "ambiguity[%zu] is NaN: compute it with ev_ambiguity",
                      i);
  int64_t *h = indices; /* the heap lives in the output */
  for (size_t i = 0; i < k; i++) h[i] = (int64_t)i;
  for (size_t i = k / 2; i-- > 0;) sift_down(h, k, i, ambiguity);
  for (size_t i = k; i < n; i++) {
    if (before(ambiguity, (int64_t)i, h[0])) {
      h[0] = (int64_t)i;
      sift_down(h, k, 0, ambiguity);
    }
  }
  /* Heap sort in place: repeatedly move the least ambiguous to the end. */
  for (size_t size = k; size > 1; size--) {
    int64_t t = h[0];
    h[0] = h[size - 1];
    h[size - 1] = t;
    sift_down(h, size - 1, 0, ambiguity);
  }
  return EV_OK;
}
