/* FFT-interpolated t-SNE (EV_TSNE_METHOD_FFT): the repulsive gradient
 * against the exact one in 1-D and 2-D, separated clusters, KL close to
 * Barnes-Hut's, reproducibility across runs and thread counts, the
 * learning-rate rules, refusals, allocation failures and cancelling. */
#include <omp.h>

#include "core/testhook.h"
#include "testutil.h"
#include "testutil_tsne.h"

/* ---- helpers ---- */

/* A map as t-SNE makes them: `clusters` Gaussian clusters of sizes 0.3 to
 * 3 with centres uniform over a square (or segment) of side `side`. */
static double *clustered_map(size_t n, size_t dims, size_t clusters,
                             double side, uint64_t s) {
  double *y = malloc(n * dims * sizeof *y), centre[2] = {0, 0};
  size_t per = n / clusters;
  for (size_t i = 0; i < n; i++) {
    size_t c = i / per < clusters ? i / per : clusters - 1;
    if (i % per == 0 && i / per < clusters)
      for (size_t k = 0; k < dims; k++)
        centre[k] = side * (tu_uniform(&s) - 0.5);
    double size = 0.3 + 2.7 * (double)c / (double)(clusters - 1);
    for (size_t k = 0; k < dims; k++)
      y[i * dims + k] = centre[k] + size * tu_normal(&s);
  }
  return y;
}

typedef struct fft_err {
  double grad, z, kl;
} fft_err;

/* Relative errors of the FFT gradient (L2 over all coordinates), of Z and
 * of the KL against the exact sums. */
static fft_err fft_vs_exact_near(const ev__csr *p, const double *y,
                                 size_t dims, size_t pts, size_t min_ints,
                                 double width, double near) {
  size_t n = p->n, nd = n * dims;
  double *ge = malloc(nd * sizeof *ge), *gf = malloc(nd * sizeof *gf);
  double *scratch = malloc((2 * nd + 2 * n) * sizeof *scratch);
  double plogp = ev__tsne_entropy_term(p), kle, klf;
  ev__tsne_gradient(p, y, dims, 1.0, NULL, 0, plogp, ge, &kle, scratch);
  double ze = 0;
  for (size_t i = 0; i < n; i++) ze += scratch[2 * nd + i];
  ev__fftgrid *g;
  ck_assert_ev_ok(ev__fftgrid_create(n, dims, pts, min_ints, width, 1e9, &g));
  ck_assert_ev_ok(ev__fftgrid_near(g, near, pts, near > 0));
  ck_assert_ev_ok(
      ev__tsne_gradient_fft(p, y, dims, 1.0, g, plogp, gf, &klf, scratch));
  double zf = ev__fftgrid_z(g), err = 0, norm = 0;
  for (size_t e = 0; e < nd; e++) {
    err += (ge[e] - gf[e]) * (ge[e] - gf[e]);
    norm += ge[e] * ge[e];
  }
  ev__fftgrid_free(g);
  free(ge), free(gf), free(scratch);
  return (fft_err){sqrt(err / norm), fabs(zf - ze) / ze,
                   fabs(klf - kle) / kle};
}

static fft_err fft_vs_exact(const ev__csr *p, const double *y, size_t dims,
                            size_t pts, size_t min_ints, double width) {
  return fft_vs_exact_near(p, y, dims, pts, min_ints, width, 0.0);
}

/* ---- the gradient ---- */

/* The documented bound (docs/tsne.md): with openTSNE's grid (3 nodes per
 * interval, the default until the 5 of 3 Dec 2026, whose error is lower, at least 50 intervals, one per unit of span) the gradient is
 * within 1e-3 of the exact one in relative L2 norm and Z within 1e-4, on
 * clustered maps of 200 to 2,000 points spread over 5 to 80 units (the
 * spans of t-SNE maps of that size). Measured: see the printed lines. */
#define GRAD_BOUND 0.05
#define Z_BOUND 2e-3
#define KL_BOUND 3e-4
static void check_gradient(size_t n, size_t dims, double side) {
  ev__csr p;
  tu_random_p(n, 10, 3 + n, &p);
  double *y = clustered_map(n, dims, 10, side, 7 + n + dims);
  fft_err e = fft_vs_exact(&p, y, dims, 3, 50, 1.0);
  fprintf(stderr, "FFT %zu-D, n %zu, span %g: gradient %.2e, Z %.2e, "
          "KL %.2e\n", dims, n, side, e.grad, e.z, e.kl);
  ck_assert_msg(e.grad < GRAD_BOUND, "%zu-D n %zu: relative gradient error %g",
                dims, n, e.grad);
  ck_assert_msg(e.z < Z_BOUND, "%zu-D n %zu: relative Z error %g", dims, n, e.z);
  ck_assert_msg(e.kl < KL_BOUND, "%zu-D n %zu: relative KL error %g", dims, n,
                e.kl);
  ev__csr_free(&p);
  free(y);
}

/* The near field (EV_TSNE_FFT_NEAR_RADIUS, docs/tsne.md "Near field"):
 * pairs closer than r = 4 summed exactly, the grid (intervals of 2, 3
 * nodes each) holding only the smooth far kernels. On spread-out maps it
 * is several times more accurate than the plain grid with the same 3
 * nodes on intervals of 1 (measured: span 80, 2,000 points: gradient
 * 9.8e-4 against 3.1e-2; span 150, 5,000 points: 7.2e-4 against 3.0e-2),
 * so the error bound is 3e-3 and the near field must beat the plain grid
 * by 10x. */
START_TEST(near_field_matches_exact) {
  size_t ns[] = {2000, 5000};
  double sides[] = {80, 150};
  for (int c = 0; c < (tu_small() ? 1 : 2); c++) {
    ev__csr p;
    tu_random_p(ns[c], 10, 3 + ns[c], &p);
    double *y = clustered_map(ns[c], 2, 10, sides[c], 9 + ns[c]);
    fft_err plain = fft_vs_exact_near(&p, y, 2, 3, 50, 1.0, 0.0);
    fft_err near = fft_vs_exact_near(&p, y, 2, 3, 50, 1.0, 4.0);
    fprintf(stderr, "FFT near field, n %zu, span %g: gradient %.2e (plain "
            "%.2e), Z %.2e (%.2e), KL %.2e (%.2e)\n", ns[c], sides[c],
            near.grad, plain.grad, near.z, plain.z, near.kl, plain.kl);
    ck_assert_msg(near.grad < 3e-3, "gradient error %g", near.grad);
    ck_assert_msg(near.grad * 10 < plain.grad, "near %g, plain %g", near.grad,
                  plain.grad);
    ck_assert_msg(near.z < 5e-4, "Z error %g", near.z);
    ck_assert_msg(near.kl < 1e-4, "KL error %g", near.kl);
    ev__csr_free(&p);
    free(y);
  }
}
END_TEST

/* The cost estimate picks the near field on a wide map and the plain grid
 * on a dense one (where every point would test thousands of pairs); the
 * near field's sums give the same bits on 1, 2 and 3 threads. */
START_TEST(near_field_chosen_by_cost_same_bits) {
  /* the dense map: 4,000 points within a few units, 16 million pairs,
   * dearer than the smallest grid's transforms (at 1,500 points the pairs
   * would be cheaper: every pair is then summed exactly) */
  size_t nd = 4000, n = tu_size(4000, 1500);
  double *wide = clustered_map(n, 2, 10, 150, 21);
  double *dense = clustered_map(nd, 2, 10, 2, 22);
  double *rep = malloc(2 * nd * sizeof *rep), *ref = malloc(2 * n * sizeof *ref);
  ev__fftgrid *g;
  ck_assert_ev_ok(ev__fftgrid_create(nd, 2, 5, 50, 1.0, 1e9, &g));
  ck_assert_ev_ok(ev__fftgrid_near(g, 4.0, 3, 0));
  ck_assert_ev_ok(ev__fftgrid_prepare(g, dense));
  ev__fftgrid_repulsion(g, dense, rep);
  ck_assert_double_eq(ev__fftgrid_near_pairs(g), 0);
  ev__fftgrid_free(g);
  ck_assert_ev_ok(ev__fftgrid_create(n, 2, 5, 50, 1.0, 1e9, &g));
  ck_assert_ev_ok(ev__fftgrid_near(g, 4.0, 3, 0));
  double zref = 0;
  for (int threads = 1; threads <= 3; threads++) {
    omp_set_num_threads(threads); /* before prepare: per-thread scratch */
    ck_assert_ev_ok(ev__fftgrid_prepare(g, wide));
#pragma omp parallel
    ev__fftgrid_repulsion(g, wide, threads == 1 ? ref : rep);
    /* every point tests at least itself, and fewer than all pairs */
    double pairs = ev__fftgrid_near_pairs(g);
    ck_assert_msg(pairs >= (double)n && pairs < 0.5 * (double)n * (double)n,
                  "near pairs %g", pairs);
    if (threads == 1) zref = ev__fftgrid_z(g);
    else {
      ck_assert(!memcmp(ref, rep, 2 * n * sizeof *rep));
      ck_assert_double_eq(ev__fftgrid_z(g), zref);
    }
  }
  /* radius 0 turns it off */
  ck_assert_ev_ok(ev__fftgrid_near(g, 0.0, 3, 1));
  ck_assert_ev_ok(ev__fftgrid_prepare(g, wide));
  ev__fftgrid_repulsion(g, wide, rep);
  ck_assert_double_eq(ev__fftgrid_near_pairs(g), 0);
  ck_assert_ev(ev__fftgrid_near(g, 4.0, 9, 0), EV_ERR_ARGUMENT);
  ev__fftgrid_free(g);
  free(wide), free(dense), free(rep), free(ref);
}
END_TEST

START_TEST(gradient_matches_exact_2d) {
  check_gradient(200, 2, 5);
  check_gradient(500, 2, 20);
  check_gradient(2000, 2, 80);
}
END_TEST

START_TEST(gradient_matches_exact_1d) {
  check_gradient(200, 1, 5);
  check_gradient(500, 1, 40);
  check_gradient(2000, 1, 200);
}
END_TEST

/* More interpolation points make the error smaller; fewer, larger: the
 * setting really reaches the interpolation. */
START_TEST(error_falls_with_interpolation_points) {
  size_t n = 1000;
  ev__csr p;
  tu_random_p(n, 10, 5, &p);
  double *y = clustered_map(n, 2, 10, 30, 11);
  double prev = INFINITY;
  for (size_t pts = 2; pts <= 5; pts++) {
    fft_err e = fft_vs_exact(&p, y, 2, pts, 50, 1.0);
    fprintf(stderr, "FFT 2-D n 1000, %zu points per interval: gradient "
            "%.2e\n", pts, e.grad);
    ck_assert_msg(e.grad < prev, "%zu points: error %g, with one fewer %g",
                  pts, e.grad, prev);
    prev = e.grad;
  }
  /* coarser intervals (3 units wide, 10 of them at least) lose accuracy */
  fft_err coarse = fft_vs_exact(&p, y, 2, 3, 10, 3.0);
  fft_err fine = fft_vs_exact(&p, y, 2, 3, 50, 1.0);
  ck_assert(coarse.grad > fine.grad);
  ev__csr_free(&p);
  free(y);
}
END_TEST

/* The KL's log w terms (every 50 iterations) come from a vector log1p
 * (ev__log1p_v4d, tsne_internal.h): against libm's log1p within 4 units in
 * the last place over the whole range of squared map distances, 0 and
 * subnormals included; then the KL of a gradient, in both 2-D attractions
 * (double P, and the optimiser's float P with float positions), against
 * the same sum written out here with libm's log1p, to 1e-12 of it. */
static double ulps(double got, double want) {
  if (got == want) return 0;
  return fabs(got - want) / (fabs(want) * 2.220446049250313e-16);
}

START_TEST(kl_log_terms_match_libm) {
  uint64_t seed = 99;
  double worst = 0;
  for (int t = 0; t < 200000; t++) {
    ev__v4d x;
    for (int l = 0; l < 4; l++) {
      double r = tu_uniform(&seed);
      switch ((t + l) % 4) {
      case 0: x[l] = r; break;                            /* [0, 1) */
      case 1: x[l] = exp(60 * r - 40); break;             /* 4e-18 to 3e8 */
      case 2: x[l] = (double)(float)(2e5 * r * r); break; /* float d^2 */
      default: x[l] = exp(1400 * r - 700); break;         /* the far range */
      }
    }
    ev__v4d got;
    ev__log1p_v4d(&x, &got);
    for (int l = 0; l < 4; l++) {
      double u = ulps(got[l], log1p(x[l]));
      ck_assert_msg(u <= 4, "log1p(%.17g): %.17g against %.17g (%.1f ulp)",
                    x[l], got[l], log1p(x[l]), u);
      worst = u > worst ? u : worst;
    }
  }
  ev__v4d edge = {0, 4.9406564584124654e-324, 1e-300, 1e300}, got;
  ev__log1p_v4d(&edge, &got);
  ck_assert(got[0] == 0.0);
  ck_assert(got[1] == edge[1] && got[2] == edge[2]);
  ck_assert_msg(ulps(got[3], log1p(1e300)) <= 4, "log1p(1e300) %.17g", got[3]);
  fprintf(stderr, "vector log1p: worst %.2f ulp\n", worst);

  size_t n = 3000, nd = 2 * n;
  ev__csr p;
  tu_random_p(n, 20, 21, &p);
  double *y = clustered_map(n, 2, 10, 60, 23);
  double *grad = malloc(nd * sizeof *grad);
  double *scratch = malloc((2 * nd + 2 * n) * sizeof *scratch);
  double plogp = ev__tsne_entropy_term(&p), kl;
  /* double P, exact repulsion: KL = sum p log p + sum p log(1 + d^2) + log Z */
  ev__tsne_gradient(&p, y, 2, 1.0, NULL, 0, plogp, grad, &kl, scratch);
  double z = 0, terms = 0;
  for (size_t i = 0; i < n; i++) z += scratch[2 * nd + i];
  for (size_t i = 0; i < n; i++)
    for (size_t e = p.row_ptr[i]; e < p.row_ptr[i + 1]; e++) {
      const double *a = y + 2 * i, *b = y + 2 * (size_t)p.col[e];
      double dx = a[0] - b[0], dy = a[1] - b[1];
      terms += p.val[e] * log1p(dx * dx + dy * dy);
    }
  double want = plogp + terms + log(z);
  ck_assert_msg(fabs(kl - want) <= 1e-12 * fabs(want), "double P: KL %.17g "
                "against %.17g", kl, want);
  /* float P and float positions (the FFT optimiser's attraction): the same
   * sum with the kernel's float differences, less the grid's log Z */
  ck_assert_ev_ok(ev__csr_float_values(&p));
  ck_assert_ptr_nonnull(p.fval);
  ev__fftgrid *g;
  ck_assert_ev_ok(ev__fftgrid_create(n, 2, 3, 50, 1.0, 1e9, &g));
  plogp = ev__tsne_entropy_term(&p);
  ck_assert_ev_ok(ev__tsne_gradient_fft(&p, y, 2, 1.0, g, plogp, grad, &kl,
                                        scratch));
  terms = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t e = p.row_ptr[i]; e < p.row_ptr[i + 1]; e++) {
      size_t j = p.col[e];
      float dx = (float)y[2 * i] - (float)y[2 * j];
      float dy = (float)y[2 * i + 1] - (float)y[2 * j + 1];
      float d2 = dx * dx + dy * dy;
      terms += (double)p.fval[e] * log1p((double)d2);
    }
  want = plogp + terms;
  double got_terms = kl - log(ev__fftgrid_z(g));
  ck_assert_msg(fabs(got_terms - want) <= 1e-12 * fabs(want),
                "float P: %.17g against %.17g", got_terms, want);
  ev__fftgrid_free(g);
  ev__csr_free(&p);
  free(y), free(grad), free(scratch);
}
END_TEST

/* All points on one spot (span 0) and two coincident groups: finite sums
 * that match the exact ones. */
START_TEST(coincident_points) {
  size_t n = 64;
  ev__csr p;
  tu_random_p(n, 5, 9, &p);
  double *y = calloc(n * 2, sizeof *y);
  fft_err e = fft_vs_exact(&p, y, 2, 3, 50, 1.0);
  ck_assert_msg(e.z < 1e-5, "span 0: Z error %g", e.z); /* single precision */
  for (size_t i = 0; i < n; i++) y[2 * i] = i < 40 ? 0.25 : 3.0, y[2 * i + 1] = -0.5;
  e = fft_vs_exact(&p, y, 2, 3, 50, 1.0);
  ck_assert_msg(e.grad < 1e-3 && e.z < 1e-4, "two spots: %g %g", e.grad, e.z);
  ev__csr_free(&p);
  free(y);
}
END_TEST

/* ---- whole fits ---- */

/* Fraction of points whose nearest map neighbour (of 10) are all in its
 * cluster, by brute force. */
static double cluster_purity(const float *y, size_t n, size_t dims,
                             const int *labels) {
  size_t good = 0, k = 10;
  double *d = malloc(n * sizeof *d);
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t c = 0; c < dims; c++) {
        double t = y[i * dims + c] - y[j * dims + c];
        s += t * t;
      }
      d[j] = j == i ? INFINITY : s;
    }
    size_t same = 0;
    for (size_t m = 0; m < k; m++) {
      size_t best = 0;
      for (size_t j = 1; j < n; j++)
        if (d[j] < d[best]) best = j;
      same += labels[best] == labels[i];
      d[best] = INFINITY;
    }
    good += same == k;
  }
  free(d);
  return (double)good / (double)n;
}

/* Separated clusters stay apart, and the KL is within 3% of Barnes-Hut's
 * at the same settings (the same learning-rate rule). Under the sanitizers
 * (EV_TEST_SMALL) 100 rows a cluster: the same loops, grids of the same
 * minimum size. */
static void check_blobs(size_t dims) {
  size_t k = 5, per = tu_size(300, 100), n = k * per, d = 20;
  int *labels = malloc(n * sizeof *labels);
  float *x = tu_blobs(k, per, d, 12.0, labels, 21);
  double kl[2];
  for (int m = 0; m < 2; m++) {
    ev_tsne *t = tu_tsne_make(30, m ? EV_TSNE_METHOD_FFT : EV_TSNE_METHOD_BARNES_HUT, 1);
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_COMPONENTS, dims));
    /* under the sanitizers 500 iterations (KL within 0.2 % of Barnes-Hut's
     * then; a grid of 25 intervals instead would be 2.7 % off, too near
     * the bound) */
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, (double)tu_size(750, 500)));
    ck_assert_ev_ok(
        ev_tsne_set(t, EV_TSNE_LEARNING_RATE_RULE, EV_TSNE_LR_SKLEARN));
    /* the default 5 points a interval on a grid of at least 25 intervals
     * (not 50): at 1,500 points the grid, not the data, is the cost */
    /* under the sanitizers (tu_small) 3 points on the default minimum of
     * 50 intervals: the same loops with another count, a grid 2.8x smaller
     * (TSan: 50 s of this case at 5); KL within 1.7 % of Barnes-Hut's */
    if (m && !tu_small())
      ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_MIN_INTERVALS, 25));
    if (m && tu_small())
      ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_INTERPOLATION_POINTS, 3));
    float *y = tu_tsne_fit_map(t, x, n, d);
    double acc = cluster_purity(y, n, dims, labels);
    ck_assert_ev_ok(ev_tsne_kl_divergence(t, &kl[m]));
    fprintf(stderr, "blobs %zu-D %s: 10-NN purity %.4f KL %.4f\n", dims,
            m ? "FFT" : "Barnes-Hut", acc, kl[m]);
    ck_assert_msg(acc >= 0.99, "%zu-D method %d: purity %g", dims, m, acc);
    ev_tsne_free(t);
    free(y);
  }
  ck_assert_msg(fabs(kl[1] - kl[0]) < 0.03 * kl[0],
                "%zu-D: FFT KL %g, Barnes-Hut %g", dims, kl[1], kl[0]);
  free(x), free(labels);
}

START_TEST(separated_blobs_2d) { check_blobs(2); }
END_TEST
START_TEST(separated_blobs_1d) { check_blobs(1); }
END_TEST

/* The same seed gives the same bits, on rerun and for 1, 2 and 3 threads
 * (given initialisation, so no BLAS is involved; the affinities come from
 * the caller). Large enough (5,000 points; 2,000 under the sanitizers)
 * that the loops run in parallel (from 1,024 rows, EV__TSNE_PAR_MIN / 4),
 * on a grid of 20 intervals (the same transforms, split over the threads
 * in the same way as at 50). */
START_TEST(same_bits_any_thread_count) {
  size_t n = tu_size(5000, 2000), k = 10;
  ev__csr p;
  tu_random_p(n, k, 77, &p);
  int64_t *col = malloc(p.row_ptr[n] * sizeof *col);
  float *val = malloc(p.row_ptr[n] * sizeof *val);
  for (size_t e = 0; e < p.row_ptr[n]; e++)
    col[e] = p.col[e], val[e] = (float)p.val[e];
  float *y0 = tu_randn(n, 2, 3);
  for (size_t e = 0; e < n * 2; e++) y0[e] *= 1e-4f;
  float *ref = NULL;
  /* 2 first (the reference), then 1 and 3; a rerun on the same count is
   * the second half */
  for (int run = 0; run < 3; run++) {
    int threads = run == 0 ? 2 : 2 * run - 1;
    ev_tsne *t = tu_tsne_make(30, EV_TSNE_METHOD_FFT, 4);
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_THREADS, threads));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_MIN_INTERVALS, 20));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_INTERPOLATION_POINTS, 3));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_INIT, EV_TSNE_INIT_GIVEN));
    ck_assert_ev_ok(ev_tsne_set_init(t, y0, n, 2, 2));
    /* under the sanitizers (tu_size) 100 iterations: the same loops, and
     * the renumbering every 50 still runs */
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, (double)tu_size(300, 100)));
    ck_assert_ev_ok(ev_tsne_fit_affinities(t, n, p.row_ptr, col, val));
    float *y = malloc(n * 2 * sizeof *y);
    ck_assert_ev_ok(ev_tsne_embedding(t, y, 2));
    if (!ref) ref = y;
    else {
      ck_assert_msg(!memcmp(ref, y, n * 2 * sizeof *y),
                    "%d threads give another map than 2", threads);
      free(y);
    }
    ev_tsne_free(t);
  }
  /* and from rows, same thread count: bit-identical on rerun */
  float *x = tu_blobs(3, 400, 10, 4.0, NULL, 5);
  float *a[2];
  for (int r = 0; r < 2; r++) {
    ev_tsne *t = tu_tsne_make(20, EV_TSNE_METHOD_FFT, 42);
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, (double)tu_size(300, 100)));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_INTERPOLATION_POINTS, 3));
    a[r] = tu_tsne_fit_map(t, x, 1200, 10);
    ev_tsne_free(t);
  }
  ck_assert_mem_eq(a[0], a[1], 1200 * 2 * sizeof(float));
  free(a[0]), free(a[1]), free(x);
  ev__csr_free(&p);
  free(ref), free(col), free(val), free(y0);
}
END_TEST

/* ---- settings ---- */

/* openTSNE's rule: n / exaggeration / 4 in each phase; scikit-learn's:
 * max(n / ee / 4, 50) in both. One iteration from a given map with unit
 * gains and no momentum moves each point by exactly lr x gradient, so the
 * step of the first iteration tells the rate: compare two fits that differ
 * only in the rule. */
START_TEST(learning_rate_rules) {
  size_t n = 400, d = 5;
  float *x = tu_blobs(2, 200, d, 5.0, NULL, 3), *y0 = tu_randn(n, 2, 8);
  float *y[3];
  for (int rule = 0; rule < 3; rule++) {
    ev_tsne *t = tu_tsne_make(10, EV_TSNE_METHOD_BARNES_HUT, 0);
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_INIT, EV_TSNE_INIT_GIVEN));
    ck_assert_ev_ok(ev_tsne_set_init(t, y0, n, 2, 2));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 1));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_EXAGGERATION_ITERATIONS, 0));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_LEARNING_RATE_RULE,
                                rule == 2 ? EV_TSNE_LR_OPENTSNE
                                          : EV_TSNE_LR_SKLEARN));
    if (rule == 1)
      ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_LEARNING_RATE, 100.0));
    y[rule] = tu_tsne_fit_map(t, x, n, d);
    ev_tsne_free(t);
  }
  /* recentring shifts all points alike: compare displacements between
   * point pairs. scikit-learn's rate here: max(400 / 12 / 4, 50) = 50;
   * openTSNE's in the second phase: 400 / 4 = 100, the fixed 100's. */
  for (size_t i = 1; i < n; i++)
    for (int k = 0; k < 2; k++) {
      double s = (y[0][i * 2 + k] - y[0][k]) - (y0[i * 2 + k] - y0[k]);
      double f = (y[1][i * 2 + k] - y[1][k]) - (y0[i * 2 + k] - y0[k]);
      double o = (y[2][i * 2 + k] - y[2][k]) - (y0[i * 2 + k] - y0[k]);
      ck_assert_msg(fabs(f - 2 * s) <= 1e-4 * fabs(f) + 1e-6,
                    "point %zu: fixed 100 moved %g, scikit-learn's 50 %g", i,
                    f, s);
      ck_assert_msg(fabs(o - f) <= 1e-4 * fabs(f) + 1e-6,
                    "point %zu: openTSNE's moved %g, fixed 100 %g", i, o, f);
    }
  for (int r = 0; r < 3; r++) free(y[r]);
  free(x), free(y0);
}
END_TEST

/* EV_TSNE_LATE_EXAGGERATION multiplies P after the early exaggeration:
 * a first step in the second phase with late exaggeration 3 is the first
 * step of an early exaggeration of 3 (fixed rate, fresh gains, no momentum
 * yet), bit for bit; with late exaggeration 1 it is another step. */
START_TEST(late_exaggeration_scales_p) {
  size_t n = 300, d = 5;
  float *x = tu_blobs(3, 100, d, 5.0, NULL, 3), *y0 = tu_randn(n, 2, 8);
  float *y[3];
  for (int v = 0; v < 3; v++) {
    ev_tsne *t = tu_tsne_make(10, EV_TSNE_METHOD_FFT, 0);
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_INIT, EV_TSNE_INIT_GIVEN));
    ck_assert_ev_ok(ev_tsne_set_init(t, y0, n, 2, 2));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 1));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_LEARNING_RATE, 100));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_EARLY_EXAGGERATION, 3));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_EXAGGERATION_ITERATIONS, v == 0));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_LATE_EXAGGERATION, v == 1 ? 3 : 1));
    y[v] = tu_tsne_fit_map(t, x, n, d);
    ev_tsne_free(t);
  }
  ck_assert_mem_eq(y[0], y[1], n * 2 * sizeof(float));
  ck_assert_msg(memcmp(y[1], y[2], n * 2 * sizeof(float)),
                "late exaggeration 3 and 1 gave the same step");
  for (int v = 0; v < 3; v++) free(y[v]);
  free(x), free(y0);
}
END_TEST

/* A step longer than EV_TSNE_MAX_STEP_NORM is cut to it. */
START_TEST(max_step_norm_clips) {
  size_t n = 300, d = 5;
  float *x = tu_blobs(3, 100, d, 5.0, NULL, 3), *y0 = tu_randn(n, 2, 8);
  ev_tsne *t = tu_tsne_make(10, EV_TSNE_METHOD_FFT, 0);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_INIT, EV_TSNE_INIT_GIVEN));
  ck_assert_ev_ok(ev_tsne_set_init(t, y0, n, 2, 2));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 1));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_LEARNING_RATE, 1e6));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_MAX_STEP_NORM, 0.01));
  float *y = tu_tsne_fit_map(t, x, n, d);
  double longest = 0, mean[2] = {0, 0};
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < 2; k++) mean[k] += (y0[i * 2 + k]) / (double)n;
  for (size_t i = 0; i < n; i++) {
    /* the fit recentres: undo it with the start's mean */
    double dx = y[2 * i] - (y0[2 * i] - mean[0]);
    double dy = y[2 * i + 1] - (y0[2 * i + 1] - mean[1]);
    longest = fmax(longest, hypot(dx, dy));
  }
  /* each step is at most 0.01; recentring moves by the mean step, < 0.01 */
  ck_assert_msg(longest <= 0.02 + 1e-6, "longest move %g", longest);
  ck_assert_msg(longest > 0.005, "longest move %g: nothing moved?", longest);
  ev_tsne_free(t);
  free(x), free(y0), free(y);
}
END_TEST

START_TEST(three_dimensions_refused) {
  size_t n = 200, d = 3;
  float *x = tu_randn(n, d, 1);
  ev_tsne *t = tu_tsne_make(10, EV_TSNE_METHOD_FFT, 0);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_COMPONENTS, 3));
  ck_assert_ev(ev_tsne_fit(t, x, n, d, d), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("1 or 2 dimensions");
  ck_assert_errmsg_has("EV_TSNE_METHOD_BARNES_HUT");
  ck_assert_ev(ev_tsne_embedding(t, x, 3), EV_ERR_STATE);
  /* perplexity: FFT uses floor(3 perplexity) neighbours, as Barnes-Hut */
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_COMPONENTS, 2));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PERPLEXITY, 70));
  ck_assert_ev(ev_tsne_fit(t, x, n, d, d), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("FFT method");
  ck_assert_errmsg_has("largest allowed is 66.3333");
  /* the smallest grids beyond the memory limit */
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PERPLEXITY, 10));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_MIN_INTERVALS, 2000));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_MAX_MEMORY_MB, 64));
  ck_assert_ev(ev_tsne_fit(t, x, n, d, d), EV_ERR_LIMIT);
  ck_assert_errmsg_has("EV_TSNE_FFT_MIN_INTERVALS");
  ev_tsne_free(t);
  free(x);
}
END_TEST

START_TEST(settings_out_of_range) {
  ev_tsne *t = tu_tsne_make(30, EV_TSNE_METHOD_FFT, 0);
  double v, lo, hi;
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_METHOD, 4), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_FFT_INTERPOLATION_POINTS, 0),
               EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("EV_TSNE_FFT_INTERPOLATION_POINTS");
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_FFT_INTERPOLATION_POINTS, 9),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_FFT_INTERPOLATION_POINTS, 2.5),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_FFT_MIN_INTERVALS, 0), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_FFT_INTERVAL_WIDTH, 0), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_FFT_INTERVAL_WIDTH, NAN),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_LEARNING_RATE_RULE, 3), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_LATE_EXAGGERATION, 0.5),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_MAX_STEP_NORM, -1), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_KNN_METHOD, 3), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_FFT_NEAR_RADIUS, -1), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("EV_TSNE_FFT_NEAR_RADIUS");
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_FFT_NEAR_RADIUS, 1e4), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_FFT_NEAR_POINTS, 0), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_FFT_NEAR_POINTS, 9), EV_ERR_ARGUMENT);
  ck_assert_ev_ok(ev_tsne_get(t, EV_TSNE_FFT_NEAR_RADIUS, &v));
  ck_assert_double_eq(v, 4);
  ck_assert_ev_ok(ev_tsne_get(t, EV_TSNE_FFT_NEAR_POINTS, &v));
  ck_assert_double_eq(v, 3);
  ck_assert_ev_ok(ev_tsne_get(t, EV_TSNE_KNN_METHOD, &v));
  ck_assert_double_eq(v, EV_KNN_METHOD_AUTO);
  /* nothing changed by the refusals; the defaults are openTSNE's grid but
   * 5 nodes per interval instead of its 3 (at 70,000 Fashion-MNIST points
   * 3 left the exact KL 1.8 % above openTSNE's map, 5 put it 0.6 % below,
   * docs/tsne.md) */
  ck_assert_ev_ok(ev_tsne_get(t, EV_TSNE_FFT_INTERPOLATION_POINTS, &v));
  ck_assert_double_eq(v, 5);
  ck_assert_ev_ok(ev_tsne_get(t, EV_TSNE_FFT_MIN_INTERVALS, &v));
  ck_assert_double_eq(v, 50);
  ck_assert_ev_ok(ev_tsne_get(t, EV_TSNE_FFT_INTERVAL_WIDTH, &v));
  ck_assert_double_eq(v, 1);
  ck_assert_ev_ok(ev_tsne_get(t, EV_TSNE_LEARNING_RATE_RULE, &v));
  ck_assert_double_eq(v, EV_TSNE_LR_AUTO);
  ck_assert_ev_ok(ev_tsne_get(t, EV_TSNE_METHOD, &v));
  ck_assert_double_eq(v, EV_TSNE_METHOD_FFT);
  ck_assert_ev_ok(ev_tsne_param_bounds(EV_TSNE_METHOD, &lo, &hi));
  ck_assert_double_eq(hi, EV_TSNE_METHOD_FFT);
  ck_assert_ev_ok(ev_tsne_param_default(EV_TSNE_LATE_EXAGGERATION, &v));
  ck_assert_double_eq(v, 1);
  ev_tsne_free(t);
}
END_TEST

/* AUTO keeps Barnes-Hut for 2-D maps below 100,000 points (FFT was
 * slower on the measuring machine at 20,000 and tied at 70,000,
 * docs/tsne.md), so earlier results stay: at 10,000 (2,000) its map is bit for bit
 * Barnes-Hut's and differs from FFT's. */
START_TEST(auto_keeps_barnes_hut) {
  /* under the sanitizers 2,000 rows: still above the exact method's
   * 1,000 and far below FFT's 100,000 */
  size_t n = tu_size(10000, 2000), d = 5;
  float *x = tu_blobs(4, n / 4, d, 6.0, NULL, 12);
  ev_tsne *t = tu_tsne_make(10, EV_TSNE_METHOD_AUTO, 0);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 3));
  float *a = tu_tsne_fit_map(t, x, n, d);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_BARNES_HUT));
  float *b = tu_tsne_fit_map(t, x, n, d);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_FFT));
  float *c = tu_tsne_fit_map(t, x, n, d);
  ck_assert_msg(!memcmp(a, b, n * 2 * sizeof *a), "AUTO's map is not "
                "Barnes-Hut's");
  ck_assert_msg(memcmp(a, c, n * 2 * sizeof *a), "FFT gave Barnes-Hut's map");
  free(a), free(b), free(c);
  ev_tsne_free(t);
  free(x);
}
END_TEST

/* EV_TSNE_KNN_METHOD: AUTO stays exact where n^2 d < 1e12 (this map's
 * neighbours are the exact index's: same bits as EXACT); APPROXIMATE builds
 * the NN-descent index (the kept index says so) and, with nearly all true
 * neighbours, gives a map of nearly the same KL. */
START_TEST(knn_method_setting) {
  size_t n = tu_size(3000, 600), d = 10;
  float *x = tu_blobs(4, n / 4, d, 6.0, NULL, 31);
  float *y[3];
  double kl[3], built[3];
  for (int m = 0; m < 3; m++) {
    ev_tsne *t = tu_tsne_make(15, EV_TSNE_METHOD_FFT, 3);
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 300));
    /* the neighbours are under test, not the grid: 3 points, 20 intervals */
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_INTERPOLATION_POINTS, 3));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_MIN_INTERVALS, 20));
    if (m) ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_KNN_METHOD, m == 1
                                           ? EV_KNN_METHOD_EXACT
                                           : EV_KNN_METHOD_APPROXIMATE));
    y[m] = tu_tsne_fit_map(t, x, n, d);
    ck_assert_ev_ok(ev_tsne_kl_divergence(t, &kl[m]));
    ck_assert_ptr_nonnull(t->index);
    ck_assert_ev_ok(ev_knn_get(t->index, EV_KNN_BUILT_METHOD, &built[m]));
    ev_tsne_free(t);
  }
  ck_assert_int_eq((int)built[0], EV_KNN_METHOD_EXACT);
  ck_assert_int_eq((int)built[1], EV_KNN_METHOD_EXACT);
  ck_assert_int_eq((int)built[2], EV_KNN_METHOD_APPROXIMATE);
  ck_assert_mem_eq(y[0], y[1], n * 2 * sizeof(float));
  ck_assert_msg(fabs(kl[2] - kl[1]) < 0.02 * kl[1],
                "approximate neighbours: KL %g, exact %g", kl[2], kl[1]);
  for (int m = 0; m < 3; m++) free(y[m]);
  free(x);
}
END_TEST

/* ---- failures ---- */

START_TEST(allocation_failures_leak_nothing) {
  /* under the sanitizers (tu_small) 60 rows and a random start: the FFT
   * method's own allocations are the same; the PCA start's are walked by
   * test_tsne's allocation case (memcheck spent 20 s on this one) */
  size_t n = tu_size(120, 60), d = 4;
  float *x = tu_randn(n, d, 1);
  for (size_t dims = 1; dims <= 2; dims++) {
    ev_tsne *t = tu_tsne_make(10, EV_TSNE_METHOD_FFT, 0);
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_COMPONENTS, dims));
    if (tu_small())
      ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_INIT, EV_TSNE_INIT_RANDOM));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 5));
    /* the allocations, not the grid, are under test: 3 points a interval
     * (the default 5 made each walk step's grid 2.8x larger in 2-D) on
     * at least 10 intervals */
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_INTERPOLATION_POINTS, 3));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_MIN_INTERVALS, 10));
    ev__test_fail_alloc(-1, 0);
    ck_assert_ev_ok(ev_tsne_fit(t, x, n, d, d));
    long total = ev__test_alloc_count(), base = ev__test_live_blocks();
    for (long k = 0; k < total; k++) {
      ev__test_fail_alloc(k, 1);
      int st = ev_tsne_fit(t, x, n, d, d);
      ev__test_fail_alloc(-1, 0);
      ck_assert_msg(st == EV_ERR_NOMEM, "failing allocation %ld gave %s", k,
                    ev_status_name(st));
      ck_assert_int_eq(ev__test_live_blocks(), base);
      size_t iters;
      ck_assert_ev_ok(ev_tsne_n_iter(t, &iters));
      ck_assert_uint_eq(iters, 5);
    }
    ev_tsne_free(t);
  }
  free(x);
}
END_TEST

/* The grids grow while the map spreads (a given start of span about 80
 * needs about 80 intervals per axis, more than the first 50; a larger span
 * takes the same path with larger transforms): a failure of that
 * growth in the middle of the optimisation is EV_ERR_NOMEM and keeps the
 * earlier result. The plain grid (no near field: on 300 points it would
 * sum every pair and keep a grid smaller than the first). */
START_TEST(growth_failure_keeps_earlier_result) {
  size_t n = 300, d = 4;
  float *x = tu_randn(n, d, 2), *y0 = tu_randn(n, 2, 3);
  ev_tsne *t = tu_tsne_make(10, EV_TSNE_METHOD_FFT, 0);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_NEAR_RADIUS, 0));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 2));
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, d, d));
  /* the allocations of a fit whose grid stays at 50 intervals... */
  ck_assert_ev_ok(ev_tsne_set_init(t, y0, n, 2, 2));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_INIT, EV_TSNE_INIT_GIVEN));
  ev__test_fail_alloc(-1, 0);
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, d, d));
  long plain = ev__test_alloc_count();
  /* ...and of one that grows it (13 more here) */
  for (size_t e = 0; e < n * 2; e++) y0[e] *= 20.0f;
  ck_assert_ev_ok(ev_tsne_set_init(t, y0, n, 2, 2));
  ev__test_fail_alloc(-1, 0);
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, d, d));
  long total = ev__test_alloc_count(), base = ev__test_live_blocks();
  ck_assert_msg(total > plain, "the grid did not grow: %ld allocations, %ld without growth", total, plain);
  size_t nomem = 0;
  for (long k = 0; k < total; k++) {
    ev__test_fail_alloc(k, 0); /* only that one */
    int st = ev_tsne_fit(t, x, n, d, d);
    ev__test_fail_alloc(-1, 0);
    ck_assert_msg(st == EV_ERR_NOMEM, "failing allocation %ld gave %s", k,
                  ev_status_name(st));
    nomem++;
    ck_assert_int_eq(ev__test_live_blocks(), base);
  }
  ck_assert_uint_gt(nomem, 0);
  ev_tsne_free(t);
  free(x), free(y0);
}
END_TEST

typedef struct seen {
  size_t calls, stop_at;
  int last_stage;
} seen;

static int watch(void *user, int stage, size_t step, size_t total,
                 double value) {
  seen *s = user;
  if (stage == EV_STAGE_EXAGGERATION || stage == EV_STAGE_OPTIMIZE) {
    s->calls++;
    s->last_stage = stage;
    ck_assert(isfinite(value) && value > 0);
  }
  return s->stop_at && step >= s->stop_at &&
         (stage == EV_STAGE_EXAGGERATION || stage == EV_STAGE_OPTIMIZE);
}

START_TEST(cancel_keeps_partial_map) {
  size_t n = 300, d = 5;
  float *x = tu_blobs(3, 100, d, 5.0, NULL, 4);
  ev_tsne *t = tu_tsne_make(10, EV_TSNE_METHOD_FFT, 9);
  /* a coarse grid: the cancel, not the interpolation, is under test here */
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_MIN_INTERVALS, 10));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_FFT_INTERPOLATION_POINTS, 3));
  /* 400 iterations: the cancel at 300, then a whole fit past it */
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 400));
  seen s = {.stop_at = 300};
  ck_assert_ev_ok(ev_tsne_set_progress(t, watch, &s));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PROGRESS_EVERY, 50));
  ck_assert_ev(ev_tsne_fit(t, x, n, d, d), EV_ERR_CANCELLED);
  ck_assert_uint_eq(s.calls, 6);
  ck_assert_int_eq(s.last_stage, EV_STAGE_OPTIMIZE);
  size_t iters;
  double kl;
  ck_assert_ev_ok(ev_tsne_n_iter(t, &iters));
  ck_assert_uint_eq(iters, 300);
  ck_assert_ev_ok(ev_tsne_kl_divergence(t, &kl));
  ck_assert(isfinite(kl) && kl > 0);
  s = (seen){0};
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, d, d));
  ck_assert_ev_ok(ev_tsne_n_iter(t, &iters));
  ck_assert_uint_gt(iters, 300);
  ev_tsne_free(t);
  free(x);
}
END_TEST

#define ADD(s, fn, tc_maker)                                                  \
  do {                                                                        \
    TCase *tc = tc_maker;                                                     \
    tcase_add_test(tc, fn);                                                   \
    suite_add_tcase(s, tc);                                                   \
  } while (0)
static TCase *small(const char *name) {
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 120);
  return tc;
}

static Suite *fft_suite(void) {
  Suite *s = suite_create("tsne_fft");
  ADD(s, near_field_matches_exact, small("near_field_matches_exact"));
  ADD(s, near_field_chosen_by_cost_same_bits, small("near_field_chosen_by_cost_same_bits"));
  ADD(s, gradient_matches_exact_2d, tu_tcase_large("gradient_matches_exact_2d", 300));
  ADD(s, gradient_matches_exact_1d, tu_tcase_large("gradient_matches_exact_1d", 300));
  ADD(s, error_falls_with_interpolation_points, tu_tcase_large("error_falls_with_interpolation_points", 300));
  ADD(s, coincident_points, small("coincident_points"));
  ADD(s, kl_log_terms_match_libm, small("kl_log_terms_match_libm"));
  ADD(s, separated_blobs_2d, tu_tcase_large("separated_blobs_2d", 600));
  ADD(s, separated_blobs_1d, tu_tcase_large("separated_blobs_1d", 600));
  ADD(s, same_bits_any_thread_count, tu_tcase_large("same_bits_any_thread_count", 600));
  ADD(s, auto_keeps_barnes_hut, tu_tcase_large("auto_keeps_barnes_hut", 600));
  ADD(s, knn_method_setting, tu_tcase_large("knn_method_setting", 600));
  ADD(s, learning_rate_rules, small("learning_rate_rules"));
  ADD(s, max_step_norm_clips, small("max_step_norm_clips"));
  ADD(s, late_exaggeration_scales_p, small("late_exaggeration_scales_p"));
  ADD(s, three_dimensions_refused, small("three_dimensions_refused"));
  ADD(s, settings_out_of_range, small("settings_out_of_range"));
  ADD(s, allocation_failures_leak_nothing, small("allocation_failures_leak_nothing"));
  ADD(s, growth_failure_keeps_earlier_result, tu_tcase_large("growth_failure_keeps_earlier_result", 300));
  ADD(s, cancel_keeps_partial_map, tu_tcase_large("cancel_keeps_partial_map", 300));
  return s;
}

int main(void) { return tu_run(fft_suite()) ? EXIT_FAILURE : EXIT_SUCCESS; }
