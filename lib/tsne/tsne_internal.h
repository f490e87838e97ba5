/* Private parts of t-SNE: affinities, gradients, the Barnes-Hut tree and the
 * optimiser. Shared by the files of lib/tsne and the tests; nothing here is exported. */
#ifndef EV_LIB_TSNE_INTERNAL_H
#define EV_LIB_TSNE_INTERNAL_H

#include "core/core.h"
#include "embedviz/tsne.h"

/* Largest map dimension (exact method). */
#define EV__TSNE_MAX_DIMS 100
/* Per-iteration loops over fewer points than this run on one thread: a
 * parallel region costs more than the work (and much more on a busy
 * machine). Results do not depend on it. */
#define EV__TSNE_PAR_MIN 4096
/* Barnes-Hut map dimensions: 1 to 3. */
#define EV__TSNE_BH_MAX_DIMS 3
/* FFT map dimensions: 1 or 2; interpolation points per interval: up to 8. */
#define EV__TSNE_FFT_MAX_DIMS 2
#define EV__TSNE_FFT_MAX_POINTS 8

/* Eight float lanes, and their sum in double in a fixed order (the same
 * bits from the AVX2 clone and the default one): the FFT method's near
 * field (fft.c) and its float attraction (gradient.c). */
typedef float ev__v8f __attribute__((vector_size(32)));
static inline double ev__v8f_sum(const ev__v8f *p) {
  ev__v8f v = *p;
  return (((double)v[0] + v[1]) + ((double)v[2] + v[3])) +
         (((double)v[4] + v[5]) + ((double)v[6] + v[7]));
}

/* Four double lanes, and four 64-bit words (the attractions, the
 * spreading of fft.c, the log1p below). */
typedef double ev__v4d __attribute__((vector_size(32)));
typedef uint64_t ev__v4u __attribute__((vector_size(32)));

/* log1p(x) in four double lanes, for x >= 0 (squared map distances: the
 * KL divergence's log w terms, every 50 iterations). u = 1 + x = m 2^e
 * with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m - 1) / (m + 1),
 * |s| <= 0.172, by its odd series to s^23 (the next term is below 2^-60
 * of the sum); e ln 2 in two parts; then the rounding of 1 + x put back
 * ((x - (u - 1)) / u, u - 1 being exact). Within a few units in the last
 * place of glibc's log1p (2.8 at most in 80 million tries), for every
 * x >= 0 up to 2^1000; no table, no branch, so the AVX2 clone and the
 * default one give the same bits (plain products and sums: ISO C mode
 * does not fuse them). */
static inline __attribute__((always_inline)) void
ev__log1p_v4d(const ev__v4d *xp, ev__v4d *out) {
  const ev__v4d x = *xp;
  const ev__v4d one = {1, 1, 1, 1}, half = {0.5, 0.5, 0.5, 0.5};
  ev__v4d u = one + x;
  ev__v4d corr = (x - (u - one)) / u;
  ev__v4u bits = (ev__v4u)u;
  /* the biased exponent as a double: 2^52 + e_biased, less 2^52 + 1023 */
  ev__v4u eb = (bits >> 52) | (ev__v4u){0x4330000000000000u,
      0x4330000000000000u, 0x4330000000000000u, 0x4330000000000000u};
  ev__v4d e = (ev__v4d)eb - (ev__v4d){4503599627371519.0, 4503599627371519.0,
                                      4503599627371519.0, 4503599627371519.0};
  const uint64_t mant = 0x000fffffffffffffu, one_bits = 0x3ff0000000000000u;
  ev__v4d m = (ev__v4d)((bits & (ev__v4u){mant, mant, mant, mant}) |
                        (ev__v4u){one_bits, one_bits, one_bits, one_bits});
  /* m in [1, 2): above sqrt(2) take m / 2 and e + 1 */
  const double r2 = 1.4142135623730951;
  ev__v4u big = (ev__v4u)(m > (ev__v4d){r2, r2, r2, r2});
  m = (ev__v4d)(((ev__v4u)(m * half) & big) | ((ev__v4u)m & ~big));
  e = e + (ev__v4d)((ev__v4u)one & big);
  ev__v4d s = (m - one) / (m + one), s2 = s * s;
  ev__v4d t = (ev__v4d){1.0 / 23, 1.0 / 23, 1.0 / 23, 1.0 / 23};
  static const double c[11] = {1.0 / 21, 1.0 / 19, 1.0 / 17, 1.0 / 15,
                               1.0 / 13, 1.0 / 11, 1.0 / 9,  1.0 / 7,
                               1.0 / 5,  1.0 / 3,  1.0};
  for (int k = 0; k < 11; k++) t = t * s2 + (ev__v4d){c[k], c[k], c[k], c[k]};
  const double ln2_hi = 6.93147180369123816490e-01; /* 0x3fe62e42fee00000 */
  const double ln2_lo = 1.90821492927058770002e-10;
  ev__v4d lm = (s + s) * t;
  *out = e * (ev__v4d){ln2_hi, ln2_hi, ln2_hi, ln2_hi} +
         ((lm + corr) + e * (ev__v4d){ln2_lo, ln2_lo, ln2_lo, ln2_lo});
}

/* Sparse symmetric affinities, rows sorted by column, sum 1. */
typedef struct ev__csr {
  size_t n;
  size_t *row_ptr; /* n + 1 */
  uint32_t *col;   /* row_ptr[n] */
  double *val;     /* row_ptr[n] */
  float *fval;     /* instead of val (NULL then) in the FFT method's
                      renumbered copy: a third less memory and traffic for
                      the attraction, which streams it every iteration;
                      and in the FFT method's P itself once the optimiser
                      has it (ev__csr_float_values) */
} ev__csr;

void ev__csr_free(ev__csr *p);
/* Turn p's double values into floats in their own block, shrunk to half
 * (fval set, val NULL): 4 bytes less per entry. When the shrinking fails
 * (EV_ERR_NOMEM) the floats are in place all the same. */
ev_status ev__csr_float_values(ev__csr *p);
/* count 8-byte values (doubles when to_float, else int64 ids < 2^32) as
 * 4-byte ones (floats, or uint32) at the start of their own block, which
 * is then shrunk to half: the shrunk block, or NULL when the shrinking
 * fails (block is then still the block to free, narrowed all the same). */
void *ev__narrow_in_place(void *block, size_t count, int to_float);

/* ---- affinities (affinities.c) ---- */

/* Calibrate one row: d2[0..k) squared distances; p[0..k) gets the Gaussian
 * weights (sum 1) whose entropy is log(perplexity) within tol. Returns the
 * entropy reached (natural log); *beta the precision found. */
double ev__tsne_calibrate_row(const double *d2, size_t k, double perplexity,
                              double tol, double *p, double *beta);

/* Conditional rows for n rows of k neighbour distances (n x k, leading
 * dimension k; squared = 0: square them first). pc: n x k. Parallel over
 * rows; reports EV_STAGE_AFFINITIES between blocks. */
ev_status ev__tsne_conditional(const float *dist, size_t n, size_t k,
                               int squared, double perplexity, double *pc,
                               ev_progress_fn cb, void *user);

/* P = (A + A^T) / sum from rows given as CSR (row_ptr, col as int64, val);
 * diagonal entries dropped, repeats summed. EV_ERR_ARGUMENT when nothing
 * positive remains. */
ev_status ev__tsne_symmetrize(size_t n, const size_t *row_ptr,
                              const int64_t *col, const double *val,
                              ev__csr *out);
/* The same P from k entries per row (col, val: n x k, overwritten) with
 * less memory: no sorted copies of A and A^T beside P (at 1,000,000 rows
 * and k = 90, 2.9 GB less), only P, the rows and a few bytes a row. */
ev_status ev__tsne_symmetrize_lists(size_t n, size_t k, uint32_t *col,
                                    double *val, ev__csr *out);

/* Exact-method affinities from a callback giving each row's squared
 * distances to all n rows (self included, ignored). */
typedef ev_status (*ev__row_dist_fn)(void *ctx, size_t row0, size_t rows,
                                     double *d2 /* rows x n */);
ev_status ev__tsne_dense_affinities(size_t n, double perplexity,
                                    ev__row_dist_fn rows_fn, void *ctx,
                                    ev__csr *out, ev_progress_fn cb,
                                    void *user);

/* sum p log p over the stored entries. */
double ev__tsne_entropy_term(const ev__csr *p);

/* ---- gradient (gradient.c, bhtree.c) ---- */

typedef struct ev__bhtree ev__bhtree;
ev_status ev__bhtree_create(size_t n, size_t dims, ev__bhtree **out);
void ev__bhtree_free(ev__bhtree *t);
/* Build the tree over y (n x dims), on the calling thread. */
void ev__bhtree_build(ev__bhtree *t, const double *y);
/* For every point the repulsion rep[i] = sum_cells cnt w^2 (y_i - c) and
 * z[i] = sum cnt w. The loops here and below are orphaned work-sharing
 * loops without a closing barrier: inside a parallel region the threads
 * share them, outside it they run on the calling thread. */
void ev__bhtree_repulsion(const ev__bhtree *t, double theta, double *rep,
                          double *z);

/* Exact O(n^2) repulsion with the same outputs. */
void ev__tsne_repulsion_exact(const double *y, size_t n, size_t dims,
                              double *rep, double *z);

/* attr[i] = sum_j p_ij w_ij (y_i - y_j); with rowlog (n doubles) not NULL,
 * rowlog[i] = sum_j p_ij log w_ij. */
void ev__tsne_attraction(const ev__csr *p, const double *y, size_t dims,
                         double *attr, double *rowlog);

/* The whole gradient of KL(P||Q) with P times exaggeration, and (when kl is
 * not NULL) KL(P||Q) for the true P. tree NULL: exact repulsion. scratch:
 * 2 n dims + 2 n doubles. */
void ev__tsne_gradient(const ev__csr *p, const double *y, size_t dims,
                       double exaggeration, ev__bhtree *tree, double theta,
                       double p_log_p, double *grad, double *kl,
                       double *scratch);

/* FFT-interpolated repulsion (fft.c). Grids of p nodes per interval, at
 * least min_intervals intervals per axis, else one per interval_width of
 * the map's span, the grids' memory at most max_bytes (the intervals widen
 * beyond). */
typedef struct ev__fftgrid ev__fftgrid;
ev_status ev__fftgrid_create(size_t n, size_t dims, size_t p,
                             size_t min_intervals, double interval_width,
                             double max_bytes, ev__fftgrid **out);
void ev__fftgrid_free(ev__fftgrid *g);
/* Bytes of the smallest grids (min_intervals per axis). */
double ev__fftgrid_min_bytes(size_t dims, size_t p, size_t min_intervals);
/* Fit the grid to y (n x dims): serial, outside a parallel region; the
 * only step that allocates (when the map outgrows the grids) and can fail. */
ev_status ev__fftgrid_prepare(ev__fftgrid *g, const double *y);
/* rep as ev__bhtree_repulsion, for the y given to the last
 * ev__fftgrid_prepare. Work-sharing loops with barriers: called by every
 * thread of a parallel region, or outside one. */
void ev__fftgrid_repulsion(ev__fftgrid *g, const double *y, double *rep);
/* The points sorted by interval (index order within one) at the last
 * repulsion: the k-th point in that order is order[k]. */
const uint32_t *ev__fftgrid_order(const ev__fftgrid *g);
/* 2-D: sum the pairs closer than radius exactly and only the smooth rest
 * on a grid of p nodes per interval of radius / 2 (fft.c, "Near field"),
 * on iterations where that is estimated cheaper (force: on every
 * iteration). radius 0: off (the default). Fails on p out of range or
 * when the points' weights cannot grow. */
ev_status ev__fftgrid_near(ev__fftgrid *g, double radius, size_t p,
                           int force);
/* The pairs the near field tested in the last repulsion (0: not used). */
double ev__fftgrid_near_pairs(const ev__fftgrid *g);
/* Z = sum over pairs i != j of 1 / (1 + d_ij^2), of the last repulsion. */
double ev__fftgrid_z(const ev__fftgrid *g);

/* As ev__tsne_gradient with the FFT repulsion. Fails only when the grids
 * must grow and cannot (EV_ERR_NOMEM). */
ev_status ev__tsne_gradient_fft(const ev__csr *p, const double *y,
                                size_t dims, double exaggeration,
                                ev__fftgrid *g, double p_log_p, double *grad,
                                double *kl, double *scratch);

/* ---- the handle (tsne.c, fit.c) ---- */

/* The settings: X(id, lower, upper, whole number, default). The table of
 * tsne.c is made from this list; the value of `id` is param[id]. */
#define EV__TSNE_SETTINGS(X)                                      \
  X(EV_TSNE_N_COMPONENTS, 1, EV__TSNE_MAX_DIMS, true, 2)          \
  X(EV_TSNE_PERPLEXITY, 1, 1e9, false, 30)                        \
  X(EV_TSNE_METHOD, 0, 3, true, EV_TSNE_METHOD_AUTO)              \
  X(EV_TSNE_THETA, 0, 1, false, 0.5)                              \
  X(EV_TSNE_METRIC, 0, 5, true, EV_METRIC_EUCLIDEAN)              \
  X(EV_TSNE_EARLY_EXAGGERATION, 1, 1000, false, 12)               \
  X(EV_TSNE_EXAGGERATION_ITERATIONS, 0, 1e9, true, 250)           \
  X(EV_TSNE_LEARNING_RATE, 0, 1e12, false, 0)                     \
  X(EV_TSNE_MOMENTUM, 0, 1, false, 0.5)                           \
  X(EV_TSNE_FINAL_MOMENTUM, 0, 1, false, 0.8)                     \
  X(EV_TSNE_MIN_GAIN, 0, 1, false, 0.01)                          \
  X(EV_TSNE_N_ITER, 0, 1e9, true, 1000)                           \
  X(EV_TSNE_MIN_GRAD_NORM, 0, 1e300, false, 1e-7)                 \
  X(EV_TSNE_INIT, 0, 2, true, EV_TSNE_INIT_PCA)                   \
  X(EV_TSNE_SEED, 0, 9007199254740992.0, true, 0)                 \
  X(EV_TSNE_THREADS, 0, 4096, true, 0)                            \
  X(EV_TSNE_MAX_MEMORY_MB, 1, 1e9, true, 1024)                    \
  X(EV_TSNE_PROGRESS_EVERY, 1, 1e9, true, 50)                     \
  X(EV_TSNE_MINKOWSKI_P, 1, 1e6, false, 2)                       \
  X(EV_TSNE_N_ITER_WITHOUT_PROGRESS, 0, 1e9, true, 300)          \
  X(EV_TSNE_LEARNING_RATE_RULE, 0, 2, true, EV_TSNE_LR_AUTO)      \
  X(EV_TSNE_LATE_EXAGGERATION, 1, 1000, false, 1)                 \
  X(EV_TSNE_MAX_STEP_NORM, 0, 1e300, false, 0)                    \
  X(EV_TSNE_FFT_INTERPOLATION_POINTS, 1, EV__TSNE_FFT_MAX_POINTS, true, 5) \
  X(EV_TSNE_FFT_MIN_INTERVALS, 1, 10000, true, 50)                \
  X(EV_TSNE_FFT_INTERVAL_WIDTH, 1e-3, 1e3, false, 1)               \
  X(EV_TSNE_KEEP_INDEX, 0, 1, true, 1)                            \
  X(EV_TSNE_TRANSFORM_PERPLEXITY, 1, 1e9, false, 5)               \
  X(EV_TSNE_TRANSFORM_N_ITER, 0, 1e9, true, 250)                  \
  X(EV_TSNE_TRANSFORM_LEARNING_RATE, 0, 1e12, false, 0.1)         \
  X(EV_TSNE_TRANSFORM_EXAGGERATION, 1e-3, 1000, false, 1.5)       \
  X(EV_TSNE_TRANSFORM_MAX_GRAD_NORM, 0, 1e300, false, 0.25)       \
  X(EV_TSNE_TRANSFORM_GRID_SPACING, 0, 1e6, false, 0.25)          \
  X(EV_TSNE_KNN_METHOD, 0, 2, true, EV_KNN_METHOD_AUTO)           \
  X(EV_TSNE_FFT_NEAR_RADIUS, 0, 1e3, false, 4)                    \
  X(EV_TSNE_FFT_NEAR_POINTS, 1, EV__TSNE_FFT_MAX_POINTS, true, 3)
/* param[] has a slot for every id from 0 to the number of settings (ids
 * start at 1); tsne.c checks every id fits. */
enum { EV__TSNE_N_PARAMS = EV__COUNT(EV__TSNE_SETTINGS) + 1 };

struct ev_tsne {
  double param[EV__TSNE_N_PARAMS];
  ev_progress_fn progress;
  void *progress_user;
  float *given;             /* ev_tsne_set_init's map */
  size_t given_n, given_dims;
  /* the last result */
  int fitted;
  size_t n, dims, n_iter;
  double kl;
  float *y;
  ev__csr p;
  /* for ev_tsne_transform: the training rows' neighbour index (NULL when
   * the fit was not from rows or EV_TSNE_KEEP_INDEX was 0) and why not */
  ev_knn *index;
  int index_absent; /* an ev__index_absent */
};

/* Why a fitted handle has no neighbour index. */
enum ev__index_absent {
  EV__INDEX_KEPT = 0,
  EV__INDEX_NOT_ROWS = 1,   /* ev_tsne_fit_distances / _affinities */
  EV__INDEX_NOT_KEPT = 2    /* EV_TSNE_KEEP_INDEX was 0 */
};

/* The repulsion rep (dims values) and z, as ev__bhtree_repulsion, on a
 * point yi that is not in the tree, from all the tree's points
 * (ev_tsne_transform). Reads the tree only: any thread. */
void ev__bhtree_repel_one(const ev__bhtree *t, double theta, const double *yi,
                          double *rep, double *z);

/* ---- optimiser (optimize.c) ---- */

typedef struct ev__tsne_opt {
  int barnes_hut, fft, lr_rule; /* lr_rule: scikit-learn's or openTSNE's */
  double theta, exaggeration, late_exaggeration, learning_rate;
  double momentum, final_momentum, max_step_norm;
  double min_gain, min_grad_norm;
  size_t fft_points, fft_min_intervals, fft_near_points;
  double fft_interval_width, fft_max_bytes, fft_near_radius;
  size_t n_iter, exaggeration_iters, progress_every, n_iter_without_progress;
} ev__tsne_opt;

/* Iterations between two checks of the stopping rules (scikit-learn's
 * TSNE._N_ITER_CHECK). */
#define EV__TSNE_N_ITER_CHECK 50

/* Run the descent on y (n x dims, double) in place. *iters gets the
 * iterations done and *kl the KL divergence of the final y, also after a
 * cancel (EV_ERR_CANCELLED). The FFT method, which reads P only as floats,
 * turns p's values into floats (ev__csr_float_values). */
ev_status ev__tsne_optimize(ev__csr *p, double *y, size_t dims,
                            const ev__tsne_opt *o, ev_progress_fn cb,
                            void *user, size_t *iters, double *kl);

#endif
