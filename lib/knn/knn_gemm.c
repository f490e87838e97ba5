/* The exact search's cross terms, C = alpha A B^T, on AVX-512 where the
 * BLAS does not use it.
 *
 * Debian's OpenBLAS 0.3.21 picks its Haswell (AVX2) kernels on CPUs it
 * does not know, such as AMD's with AVX-512 (Zen 4 and 5): there its SGEMM
 * ran at about 100 GFLOP/s per core on the 50-column rows of a PCA, and
 * the same library forced to its SkylakeX kernels (OPENBLAS_CORETYPE)
 * made the 70,000-row graph 27 % faster. A library cannot choose
 * OpenBLAS's kernels once it is loaded, so on such a CPU the search's
 * tiles come from this kernel instead: B is packed 48 columns at a time
 * (K x 48 floats, on the stack: K <= EV__KNN_GEMM_KMAX = 128, 24 KiB, small
 * enough for the small stacks of threads callers make), and 8 rows of A
 * at a time run against the panel in 24 zmm accumulators with fused
 * multiply-adds (the row loops unrolled so that they stay in registers).
 * Any summation order keeps the filter's error bound
 * (knn_scan.c), so the lists are the same, bit for bit, either way; only
 * which rows are re-ranked exactly can differ. */
#include <cblas.h>
#include <strings.h>

#include "core/testhook.h"
#include "knn_private.h"

#pragma weak openblas_get_corename

/* -1: decide from the CPU and the BLAS; 0: always the BLAS; 1: this
 * kernel whenever the CPU has AVX-512F (tests: lib/core/testhook.h). */
int ev__test_knn_own_gemm = -1;

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_OWN 1
enum { NR = 48, MR = 8 };

__attribute__((target("avx512f"))) static inline
    __attribute__((always_inline)) void
    rows(const float *A, size_t lda, const float *P, size_t K, float alpha,
         float *C, size_t ldc, const int R, const __mmask16 m[3]) {
  __m512 c0[MR], c1[MR], c2[MR];
#pragma GCC unroll 8
  for (int i = 0; i < R; i++)
    c0[i] = c1[i] = c2[i] = _mm512_setzero_ps();
  for (size_t k = 0; k < K; k++) {
    __m512 b0 = _mm512_load_ps(P + k * NR);
    __m512 b1 = _mm512_load_ps(P + k * NR + 16);
    __m512 b2 = _mm512_load_ps(P + k * NR + 32);
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
      __m512 a = _mm512_set1_ps(A[(size_t)i * lda + k]);
      c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);
      c2[i] = _mm512_fmadd_ps(a, b2, c2[i]);
    }
  }
  const __m512 al = _mm512_set1_ps(alpha);
#pragma GCC unroll 8
  for (int i = 0; i < R; i++) {
    float *o = C + (size_t)i * ldc;
    _mm512_mask_storeu_ps(o, m[0], _mm512_mul_ps(c0[i], al));
    _mm512_mask_storeu_ps(o + 16, m[1], _mm512_mul_ps(c1[i], al));
    _mm512_mask_storeu_ps(o + 32, m[2], _mm512_mul_ps(c2[i], al));
  }
}

static __mmask16 lanes(size_t count) {
  return count >= 16 ? (__mmask16)0xffff
                     : (__mmask16)((1u << count) - 1u);
}

__attribute__((target("avx512f"))) static void
own_gemm(size_t m, size_t n, size_t K, float alpha, const float *A,
         size_t lda, const float *B, size_t ldb, float *C, size_t ldc) {
  float P[EV__KNN_GEMM_KMAX * NR] __attribute__((aligned(64)));
  for (size_t c0 = 0; c0 < n; c0 += NR) {
    size_t nc = n - c0 < NR ? n - c0 : NR;
    for (size_t j = 0; j < NR; j++) {
      if (j < nc) {
        const float *b = B + (c0 + j) * ldb;
        for (size_t k = 0; k < K; k++) P[k * NR + j] = b[k];
      } else {
        for (size_t k = 0; k < K; k++) P[k * NR + j] = 0.0f;
      }
    }
    const __mmask16 mk[3] = {lanes(nc), lanes(nc > 16 ? nc - 16 : 0),
                             lanes(nc > 32 ? nc - 32 : 0)};
    size_t r = 0;
    for (; r + MR <= m; r += MR)
      rows(A + r * lda, lda, P, K, alpha, C + r * ldc + c0, ldc, MR, mk);
    const float *a = A + r * lda;
    float *c = C + r * ldc + c0;
    switch (m - r) {
    case 7: rows(a, lda, P, K, alpha, c, ldc, 7, mk); break;
    case 6: rows(a, lda, P, K, alpha, c, ldc, 6, mk); break;
    case 5: rows(a, lda, P, K, alpha, c, ldc, 5, mk); break;
    case 4: rows(a, lda, P, K, alpha, c, ldc, 4, mk); break;
    case 3: rows(a, lda, P, K, alpha, c, ldc, 3, mk); break;
    case 2: rows(a, lda, P, K, alpha, c, ldc, 2, mk); break;
    case 1: rows(a, lda, P, K, alpha, c, ldc, 1, mk); break;
    default: break;
    }
  }
}

/* Whether the BLAS runs AVX-512 kernels itself: OpenBLAS's core names
 * for the CPUs it drives with AVX2 ones; other BLAS libraries are
 * trusted. */
static int blas_has_avx512(void) {
  if (!openblas_get_corename) return 1;
  const char *core = openblas_get_corename();
  return !core || (strcasecmp(core, "Haswell") != 0 &&
                   strcasecmp(core, "Zen") != 0);
}

static int own_applies(size_t K) {
  if (K == 0 || K > EV__KNN_GEMM_KMAX || ev__test_knn_own_gemm == 0) return 0;
  /* 0: no AVX-512; 1: AVX-512 and a BLAS without it; 2: both have it.
   * The same whichever thread decides first. */
  static int found = -1;
  int f;
#pragma omp atomic read
  f = found;
  if (f < 0) {
    __builtin_cpu_init();
    f = !__builtin_cpu_supports("avx512f") ? 0 : blas_has_avx512() ? 2 : 1;
#pragma omp atomic write
    found = f;
  }
  return f != 0 && (ev__test_knn_own_gemm > 0 || f == 1);
}
#else
#define HAVE_OWN 0
#endif

int ev__knn_own_gemm_applies(size_t K) {
#if HAVE_OWN
  return own_applies(K);
#else
  (void)K;
  return 0;
#endif
}

void ev__knn_gemm_nt(size_t m, size_t n, size_t K, float alpha,
                     const float *A, size_t lda, const float *B, size_t ldb,
                     float *C, size_t ldc) {
#if HAVE_OWN
  if (own_applies(K)) {
    own_gemm(m, n, K, alpha, A, lda, B, ldb, C, ldc);
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)K,
              alpha, A, (int)lda, B, (int)ldb, 0.0f, C, (int)ldc);
}
