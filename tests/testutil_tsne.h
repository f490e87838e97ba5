/* Helpers shared by the t-SNE tests (test_tsne.c, test_tsne_fft.c) that
 * reach the room's private header. */
#ifndef EV_TESTUTIL_TSNE_H
#define EV_TESTUTIL_TSNE_H

#include "testutil.h"
#include "tsne/tsne_internal.h"

/* Random symmetric P over n points with m neighbours each. */
static inline void tu_random_p(size_t n, size_t m, uint64_t seed,
                               ev__csr *p) {
  size_t *rp = malloc((n + 1) * sizeof *rp);
  int64_t *col = malloc(n * m * sizeof *col);
  double *val = malloc(n * m * sizeof *val);
  for (size_t i = 0; i <= n; i++) rp[i] = i * m;
  for (size_t e = 0; e < n * m; e++) {
    col[e] = (int64_t)(tu_next(&seed) % n);
    val[e] = tu_uniform(&seed) + 0.01;
  }
  ck_assert_ev_ok(ev__tsne_symmetrize(n, rp, col, val, p));
  free(rp);
  free(col);
  free(val);
}

#endif
