/* LAPACKE *_work calls with workspaces from ev__malloc: a workspace query,
 * one allocation, the call. LAPACK's own info codes become EV_ERR_INTERNAL
 * (they only arise from bad arguments, which callers rule out) except for
 * non-convergence, which is reported as what it is. */
#include <float.h>
#include <lapacke.h>
#include <math.h>

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

static ev_status svd_left_direct(float *a, size_t m, size_t n, float *s,
                                 float *u);

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

SVD_LEFT(svd_left_direct, float, LAPACKE_sgesdd_work, "sgesdd")
SVD_LEFT(ev__svd_left_d, double, LAPACKE_dgesdd_work, "dgesdd")

/* For a short wide a (m < n) sgesdd would also form the m x n right
 * singular vectors, which we do not want: factor a = L Q first (sgelqf,
 * 2 n m^2 flops) and take the SVD of the m x m L, whose left singular
 * vectors are a's. */
static ev_status svd_left_unscaled(float *a, size_t m, size_t n, float *s,
                                   float *u) {
  if (m >= n) return svd_left_direct(a, m, n, s, u);
  lapack_int M = (lapack_int)m, N = (lapack_int)n, info;
  float q = 0;
  float *tau = ev__malloc(m * sizeof *tau);
  if (!tau) return ev__nomem("LQ reflector scales", m * sizeof *tau);
  info = LAPACKE_sgelqf_work(LAPACK_COL_MAJOR, M, N, a, M, tau, &q, -1);
  size_t lwork = (size_t)q + 1;
  float *work = info ? NULL : ev__malloc(lwork * sizeof *work);
  if (!info && !work) {
    ev__free(tau);
    return ev__nomem("LQ workspace", lwork * sizeof *work);
  }
  if (!info)
    info = LAPACKE_sgelqf_work(LAPACK_COL_MAJOR, M, N, a, M, tau, work,
                               (lapack_int)lwork);
  ev__free(work);
  ev__free(tau);
  if (info) return lapack_failed("sgelqf", info);
  /* L: the lower triangle of a's first m columns, into u (m x m). */
  for (size_t j = 0; j < m; j++)
    for (size_t i = 0; i < m; i++) u[j * m + i] = i >= j ? a[j * m + i] : 0;
  return svd_left_direct(u, m, m, s, NULL); /* square: vectors over u */
}

/* OpenBLAS's sgesdd never returns (sbdsqr loops) on some matrices with
 * entries near FLT_MAX (found by fuzz/fuzz_pca.c), and squares of such
 * entries overflow anyway. Scaling by a power of two, exact for normal
 * numbers, brings the largest entry near 1; the singular values are scaled
 * back and the vectors do not change. */
ev_status ev__svd_left(float *a, size_t m, size_t n, float *s, float *u) {
  float amax = 0;
  for (size_t i = 0; i < m * n; i++) {
    float v = fabsf(a[i]);
    if (!(v <= FLT_MAX))
      return ev__fail(EV_ERR_NONFINITE, "the SVD's input overflowed single "
                      "precision: the data's values are too large; rescale "
                      "them");
    if (v > amax) amax = v;
  }
  int e = amax > 0x1p60f || (amax > 0 && amax < 0x1p-60f) ? -ilogbf(amax) : 0;
  if (e)
    for (size_t i = 0; i < m * n; i++) a[i] = ldexpf(a[i], e);
  ev_status st = svd_left_unscaled(a, m, n, s, u);
  if (!st && e)
    for (size_t i = 0; i < (m < n ? m : n); i++) s[i] = ldexpf(s[i], -e);
  return st;
}

ev_status ev__lu_basis(float *a, size_t m, size_t n, size_t lda) {
  lapack_int *ipiv = ev__malloc(n * sizeof *ipiv);
  if (!ipiv) return ev__nomem("LU pivots", n * sizeof *ipiv);
  lapack_int info = LAPACKE_sgetrf_work(LAPACK_COL_MAJOR, (lapack_int)m,
                                        (lapack_int)n, a, (lapack_int)lda,
                                        ipiv);
  if (info < 0) { /* info > 0 (a zero pivot) leaves a unit column: fine */
    ev__free(ipiv);
    return lapack_failed("sgetrf", info);
  }
  for (size_t j = 0; j < n; j++) { /* keep L: unit diagonal, no U */
    for (size_t i = 0; i < j; i++) a[j * lda + i] = 0.0f;
    a[j * lda + j] = 1.0f;
  }
  /* Undo the row interchanges (last first): a = P L. */
  LAPACKE_slaswp_work(LAPACK_COL_MAJOR, (lapack_int)n, a, (lapack_int)lda, 1,
                      (lapack_int)n, ipiv, -1);
  ev__free(ipiv);
  return EV_OK;
}
