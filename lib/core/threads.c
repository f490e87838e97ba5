/* Per-call thread scopes: OpenMP and OpenBLAS use the handle's count. */
#include <omp.h>

#include "core.h"

/* From OpenBLAS (cblas.h declares them, but we keep the BLAS header out of
 * the core): 0 sequential, 1 pthreads, 2 OpenMP. */
extern int openblas_get_parallel(void);
extern int openblas_get_num_threads(void);
extern void openblas_set_num_threads(int);

int ev_default_threads(void) {
  int n = omp_get_num_procs();
  return n > 0 ? n : 1;
}

int ev__resolve_threads(int n) { return n > 0 ? n : ev_default_threads(); }

void ev__threads_begin(ev__threads *scope, int n) {
  n = ev__resolve_threads(n);
  scope->saved_omp = omp_get_max_threads();
  scope->saved_blas = -1;
  omp_set_num_threads(n); /* this thread's ICV: OpenMP OpenBLAS reads it */
  if (openblas_get_parallel() == 1) { /* pthreads build: process-wide */
    scope->saved_blas = openblas_get_num_threads();
    openblas_set_num_threads(n);
  }
}

void ev__threads_end(const ev__threads *scope) {
  omp_set_num_threads(scope->saved_omp);
  if (scope->saved_blas > 0) openblas_set_num_threads(scope->saved_blas);
}
