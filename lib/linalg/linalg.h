/* Private linear-algebra helpers over CBLAS and LAPACKE, shared by the
 * rooms (PCA, and later t-SNE / kNN). Nothing here is exported.
 *
 * Conventions: float data matrices are the caller's row-major n x d with a
 * leading dimension; small working matrices are column-major, so LAPACKE's
 * *_work calls run in place without the transposes its row-major wrappers
 * make. Every workspace comes from ev__malloc (the failure hook reaches it).
 * LAPACK and this OpenBLAS build take 32-bit sizes: callers check
 * ev__fits_blas first. */
#ifndef EV_LIB_LINALG_H
#define EV_LIB_LINALG_H

#include <limits.h>

#include "core/core.h"

/* True when every size fits a BLAS/LAPACK int. */
static inline bool ev__fits_blas(size_t a) { return a <= (size_t)INT_MAX; }

/* Column means and sums of squared deviations of the n x d matrix x, in
 * double (shifted by the first row, so it is accurate even when the mean is
 * large against the spread). Columns are split between threads, so the
 * result does not depend on the thread count. mean, ssd: d doubles. */
void ev__column_moments(const float *x, size_t n, size_t d, size_t ld,
                        double *mean, double *ssd);

/* Add (x - 1 shift^T)^T (x - 1 shift^T) of the rows x[0..rows) to the
 * upper triangle (row-major; the lower triangle column-major) of the d x d
 * double matrix gram, and the column sums of x - 1 shift^T to colsum (d
 * doubles; may be NULL). The block is shifted into work (rows x d floats),
 * multiplied by one SSYRK into cf (d x d floats) and added in double, so
 * float rounding only ever spans one block. shift may be NULL (zero). */
void ev__gram_accumulate(const float *x, size_t rows, size_t d, size_t ld,
                         const float *shift, float *work, float *cf,
                         double *gram, double *colsum);

/* dst (rows x d, packed) = src - 1 mean^T (mean may be NULL: a copy). */
void ev__center_rows(const float *src, size_t rows, size_t d, size_t ld,
                     const float *mean, float *dst);

/* splitmix64's finaliser: a well-mixed 64-bit function of z. */
static inline uint64_t ev__mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* A well-mixed 64-bit hash of a seed and three words (splitmix64 steps):
 * the approximate index's and UMAP's randomness, so their results depend
 * on the seed alone, never on threads or timing. */
static inline uint64_t ev__hash3(uint64_t seed, uint64_t a, uint64_t b,
                                 uint64_t c) {
  uint64_t z = seed ^ 0x9E3779B97F4A7C15ull;
  const uint64_t w[3] = {a, b, c};
  for (int i = 0; i < 3; i++) {
    z += w[i] + 0x9E3779B97F4A7C15ull;
    z = ev__mix64(z);
  }
  return z;
}

/* The library's one random generator (random.c), splitmix64, in two
 * forms. Counter-based: count standard normal floats from seed; element i
 * depends only on (seed, i), so the result does not depend on the thread
 * count. */
void ev__fill_normal(float *a, size_t count, uint64_t seed);
/* Sequential: the next standard normal of the stream *state (Box-Muller
 * over two draws; seed a stream by setting *state). */
double ev__normal_next(uint64_t *state);

/* Replace the m x n column-major a (m >= n) by an orthonormal basis of its
 * columns (Householder QR: sgeqrf + sorgqr). */
ev_status ev__orthonormalize(float *a, size_t m, size_t n, size_t lda);

/* Replace the m x n column-major a (m >= n) by P L from its LU
 * factorisation with partial pivoting (sgetrf): a basis of the same column
 * space, cheaper than QR (n^2 m flops) and well conditioned thanks to the
 * pivoting (|L| <= 1), though not orthonormal. L has a unit diagonal, so
 * the basis keeps full rank even when a does not. */
ev_status ev__lu_basis(float *a, size_t m, size_t n, size_t lda);

/* The k largest eigenpairs of the symmetric d x d column-major double
 * matrix c (lower triangle read; destroyed), in decreasing order: w[k],
 * z (d x k column-major, column j the eigenvector of w[j]). dsyevr
 * computes only those k. */
ev_status ev__sym_top_eigen(double *c, size_t d, size_t k, double *w,
                            double *z);

/* Thin SVD of the m x n column-major float a by sgesdd (jobz 'O'; after an
 * LQ factorisation when m < n): s[min(m, n)] in decreasing order; the left
 * singular vectors (m x min(m, n), column-major, ld m) are written to a
 * when m >= n, else to u (m x m). a is destroyed; right singular vectors
 * are not kept. */
ev_status ev__svd_left(float *a, size_t m, size_t n, float *s, float *u);

/* As ev__svd_left in double (for small matrices where accuracy matters). */
ev_status ev__svd_left_d(double *a, size_t m, size_t n, double *s,
                         double *u);

#endif
