/* LAPACKE *_work calls with workspaces from ev__malloc: a workspace query,
 * one allocation, the call. LAPACK's own info codes become EV_ERR_INTERNAL
 * (they only arise from bad arguments, which callers rule out) except for
 * non-convergence, which is reported as what it is. */
#include <lapacke.h>

#include "linalg/linalg.h"

static ev_status lapack_failed(const char *routine, lapack_int info) {
  if (info > 0)
    return ev__fail(EV_ERR_INTERNAL,
                    "%s did not converge (info %d): the input may be badly "
                    "scaled; rescale it or try another EV_PCA_SOLVER",
                    routine, (int)info);
  return ev__fail(EV_ERR_INTERNAL,
                  "%s rejected argument %d: a bug in libembedviz, please "
                  "report it",
                  routine, (int)-info);
}

ev_status ev__orthonormalize(float *a, size_t m, size_t n, size_t lda) {
  lapack_int M = (lapack_int)m, N = (lapack_int)n, L = (lapack_int)lda;
  float q1 = 0, q2 = 0;
  float *tau = ev__malloc(n * sizeof *tau);
  if (!tau) return ev__nomem("QR reflector scales", n * sizeof *tau);
  lapack_int info =
      LAPACKE_sgeqrf_work(LAPACK_COL_MAJOR, M, N, a, L, tau, &q1, -1);
  if (info == 0)
    info = LAPACKE_sorgqr_work(LAPACK_COL_MAJOR, M, N, N, a, L, tau, &q2, -1);
  if (info != 0) {
    ev__free(tau);
    return lapack_failed("sgeqrf/sorgqr", info);
  }
  size_t lwork = (size_t)(q1 > q2 ? q1 : q2) + 1;
  float *work = ev__malloc(lwork * sizeof *work);
  if (!work) {
    ev__free(tau);
    return ev__nomem("QR workspace", lwork * sizeof *work);
  }
  info = LAPACKE_sgeqrf_work(LAPACK_COL_MAJOR, M, N, a, L, tau, work,
                             (lapack_int)lwork);
  if (info == 0)
    info = LAPACKE_sorgqr_work(LAPACK_COL_MAJOR, M, N, N, a, L, tau, work,
                               (lapack_int)lwork);
  ev__free(work);
  ev__free(tau);
  return info == 0 ? EV_OK : lapack_failed("sgeqrf/sorgqr", info);
}

ev_status ev__sym_top_eigen(double *c, size_t d, size_t k, double *w,
                            double *z) {
  lapack_int D = (lapack_int)d, m = 0, qi = 0, info;
  double qw = 0;
  char range = k == d ? 'A' : 'I';
  lapack_int il = D - (lapack_int)k + 1, iu = D;
  lapack_int *isuppz = ev__malloc(2 * d * sizeof *isuppz);
  if (!isuppz) return ev__nomem("eigenvector support", 2 * d * sizeof(int));
  info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'V', range, 'L', D, c, D, 0, 0,
                             il, iu, 0.0, &m, w, z, D, isuppz, &qw, -1, &qi,
                             -1);
  if (info != 0) {
    ev__free(isuppz);
    return lapack_failed("dsyevr", info);
  }
  size_t lwork = (size_t)qw + 1, liwork = (size_t)qi + 1;
  double *work = ev__malloc(lwork * sizeof *work);
  lapack_int *iwork = ev__malloc(liwork * sizeof *iwork);
  if (!work || !iwork) {
    ev__free(work);
    ev__free(iwork);
    ev__free(isuppz);
    return ev__nomem("eigensolver workspace", lwork * sizeof *work);
  }
  info = LAPACKE_dsyevr_work(LAPACK_COL_MAJOR, 'V', range, 'L', D, c, D, 0, 0,
                             il, iu, 0.0, &m, w, z, D, isuppz, work,
                             (lapack_int)lwork, iwork, (lapack_int)liwork);
  ev__free(work);
  ev__free(iwork);
  ev__free(isuppz);
  if (info != 0) return lapack_failed("dsyevr", info);
  if ((size_t)m != k)
    return ev__fail(EV_ERR_INTERNAL,
                    "dsyevr found %d of %zu eigenpairs: please report it",
                    (int)m, k);
  /* Ascending from LAPACK; we want the largest first. */
  for (size_t a = 0, b = k - 1; a < b; a++, b--) {
    double t = w[a];
    w[a] = w[b];
    w[b] = t;
    for (size_t i = 0; i < d; i++) {
      t = z[a * d + i];
      z[a * d + i] = z[b * d + i];
      z[b * d + i] = t;
    }
  }
  return EV_OK;
}

/* sgesdd / dgesdd with jobz 'O'; VT is needed (and allocated) only when
 * m >= n, U only when m < n. */
#define SVD_LEFT(NAME, T, CALL, ROUTINE)                                       \
  ev_status NAME(T *a, size_t m, size_t n, T *s, T *u) {                      \
    lapack_int M = (lapack_int)m, N = (lapack_int)n, info;                    \
    size_t mn = m < n ? m : n;                                                \
    size_t nvt = m >= n ? n * n : 1;                                          \
    T q = 0, dummy_u = 0;                                                      \
    T *vt = ev__malloc(nvt * sizeof *vt);                                     \
    lapack_int *iwork = ev__malloc(8 * mn * sizeof *iwork);                   \
    if (!vt || !iwork) {                                                      \
      ev__free(vt);                                                           \
      ev__free(iwork);                                                        \
      return ev__nomem("SVD workspace", nvt * sizeof *vt);                    \
    }                                                                         \
    T *uu = m >= n ? &dummy_u : u;                                            \
    lapack_int ldu = m >= n ? 1 : M, ldvt = m >= n ? N : 1;                   \
    info = CALL(LAPACK_COL_MAJOR, 'O', M, N, a, M, s, uu, ldu, vt, ldvt, &q,  \
                -1, iwork);                                                   \
    T *work = NULL;                                                           \
    size_t lwork = (size_t)q + 1;                                             \
    if (info == 0) {                                                          \
      work = ev__malloc(lwork * sizeof *work);                                \
      if (!work) {                                                            \
        ev__free(vt);                                                         \
        ev__free(iwork);                                                      \
        return ev__nomem("SVD workspace", lwork * sizeof *work);              \
      }                                                                       \
      info = CALL(LAPACK_COL_MAJOR, 'O', M, N, a, M, s, uu, ldu, vt, ldvt,    \
                  work, (lapack_int)lwork, iwork);                            \
    }                                                                         \
    ev__free(work);                                                           \
    ev__free(vt);                                                             \
    ev__free(iwork);                                                          \
    return info == 0 ? EV_OK : lapack_failed(ROUTINE, info);                  \
  }

SVD_LEFT(ev__svd_left, float, LAPACKE_sgesdd_work, "sgesdd")
SVD_LEFT(ev__svd_left_d, double, LAPACKE_dgesdd_work, "dgesdd")
