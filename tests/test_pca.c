/* PCA: worked examples, exact constructions with known answers for every
 * solver, transform round trips, settings and every bad input. The
 * Fashion-MNIST comparison with scikit-learn is tests/python/
 * test_pca_fmnist.py. */
#include <stdbool.h>
#include "core/testhook.h"
#include "testutil.h"

static const int solvers[] = {EV_PCA_SOLVER_COVARIANCE, EV_PCA_SOLVER_SVD,
                              EV_PCA_SOLVER_RANDOMIZED};

static ev_pca *make(int solver, size_t k) {
  ev_pca *p = NULL;
  ck_assert_ev_ok(ev_pca_create(&p));
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_SOLVER, solver));
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_N_COMPONENTS, (double)k));
  return p;
}

/* Four points on two axes around (10, -5): variances 8/3 and 2/3. */
static const float cross[8] = {12, -5, 8, -5, 10, -4, 10, -6};

START_TEST(worked_example_2d) {
  for (int s = 0; s < 3; s++) {
    ev_pca *p = make(solvers[s], 0);
    ck_assert_ev_ok(ev_pca_fit(p, cross, 4, 2, 2));
    size_t k;
    ck_assert_ev_ok(ev_pca_n_components(p, &k));
    ck_assert_uint_eq(k, 2);
    float c[4], mean[2], ev[2], ratio[2], sv[2], scores[8];
    ck_assert_ev_ok(ev_pca_components(p, c, 2));
    ck_assert_ev_ok(ev_pca_mean(p, mean));
    ck_assert_ev_ok(ev_pca_explained_variance(p, ev));
    ck_assert_ev_ok(ev_pca_explained_variance_ratio(p, ratio));
    ck_assert_ev_ok(ev_pca_singular_values(p, sv));
    ck_assert_float_eq_tol(mean[0], 10, 1e-6);
    ck_assert_float_eq_tol(mean[1], -5, 1e-6);
    ck_assert_float_eq_tol(ev[0], 8.0 / 3, 1e-5);
    ck_assert_float_eq_tol(ev[1], 2.0 / 3, 1e-5);
    ck_assert_float_eq_tol(ratio[0], 0.8, 1e-6);
    ck_assert_float_eq_tol(ratio[1], 0.2, 1e-6);
    ck_assert_float_eq_tol(sv[0], sqrt(8), 1e-5);
    ck_assert_float_eq_tol(sv[1], sqrt(2), 1e-5);
    /* Signs: the largest loading positive, so exactly (1,0) and (0,1). */
    ck_assert_float_eq_tol(c[0], 1, 1e-6);
    ck_assert_float_eq_tol(c[1], 0, 1e-6);
    ck_assert_float_eq_tol(c[3], 1, 1e-6);
    ck_assert_ev_ok(ev_pca_transform(p, cross, 4, 2, 2, scores, 2));
    const float want[8] = {2, 0, -2, 0, 0, 1, 0, -1};
    for (int i = 0; i < 8; i++) ck_assert_float_eq_tol(scores[i], want[i], 1e-5);
    ev_pca_free(p);
  }
}
END_TEST

/* Points on the diagonal of 3-D space: one component (1,1,1)/sqrt(3) with
 * all the variance; the tie among its loadings goes to column 0. */
START_TEST(worked_example_3d_rank_one) {
  const float x[12] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3};
  for (int s = 0; s < 2; s++) {
    ev_pca *p = make(solvers[s], 1);
    ck_assert_ev_ok(ev_pca_fit(p, x, 4, 3, 3));
    float c[3], ev, ratio;
    ck_assert_ev_ok(ev_pca_components(p, c, 3));
    ck_assert_ev_ok(ev_pca_explained_variance(p, &ev));
    ck_assert_ev_ok(ev_pca_explained_variance_ratio(p, &ratio));
    for (int j = 0; j < 3; j++) ck_assert_float_eq_tol(c[j], 1 / sqrt(3), 1e-6);
    ck_assert_float_eq_tol(ev, 5.0, 1e-5); /* 3 * (2.25+0.25)*2 / 3 */
    ck_assert_float_eq_tol(ratio, 1.0, 1e-6);
    ev_pca_free(p);
  }
}
END_TEST

/* ---- exact construction: x = mean + sum_i sigma_i h_i v_i^T with h_i
 * columns of a Sylvester-Hadamard matrix (orthogonal, centred, +-1) and
 * v_i columns of the Householder reflection I - 2 u u^T / u^T u with
 * u = (1, 2, ..., d). Its PCA is known exactly: components v_i, explained
 * variance sigma_i^2 n / (n - 1). ---- */
static int hadamard(size_t i, size_t j) {
  return __builtin_popcountll(i & j) & 1 ? -1 : 1;
}
static double householder(size_t d, size_t row, size_t col) {
  double uu = d * (d + 1.0) * (2 * d + 1.0) / 6;
  return (row == col) - 2.0 * (row + 1.0) * (col + 1.0) / uu;
}
static const double sigma[5] = {5, 4, 3, 2, 1};

static float *construct(size_t n, size_t d, size_t ld) {
  float *x = calloc(n * ld, sizeof *x);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++) {
      double v = 3.0 + 0.5 * j; /* the mean */
      for (size_t c = 0; c < 5; c++)
        v += sigma[c] * hadamard(i, c + 1) * householder(d, j, c);
      x[i * ld + j] = (float)v;
    }
  return x;
}

/* The known component c, with the sign rule applied. */
static void known_component(size_t d, size_t c, double *v) {
  size_t arg = 0;
  for (size_t j = 0; j < d; j++) {
    v[j] = householder(d, j, c);
    if (fabs(v[j]) > fabs(v[arg])) arg = j;
  }
  if (v[arg] < 0)
    for (size_t j = 0; j < d; j++) v[j] = -v[j];
}

static void check_construction(ev_pca *p, size_t n, size_t d) {
  float ev[5], ratio[5], mean[256], *c = malloc(5 * d * sizeof *c);
  double v[256];
  ck_assert_ev_ok(ev_pca_components(p, c, d));
  ck_assert_ev_ok(ev_pca_explained_variance(p, ev));
  ck_assert_ev_ok(ev_pca_explained_variance_ratio(p, ratio));
  ck_assert_ev_ok(ev_pca_mean(p, mean));
  for (size_t i = 0; i < 5; i++) {
    double want = sigma[i] * sigma[i] * n / (n - 1.0);
    ck_assert_float_eq_tol(ev[i], want, 1e-5 * want);
    ck_assert_float_eq_tol(ratio[i], sigma[i] * sigma[i] / 55.0, 1e-6);
    known_component(d, i, v);
    for (size_t j = 0; j < d; j++) ck_assert_float_eq_tol(c[i * d + j], v[j], 2e-5);
  }
  for (size_t j = 0; j < d; j++) ck_assert_float_eq_tol(mean[j], 3 + 0.5 * j, 1e-5);
  free(c);
}

START_TEST(known_construction_every_solver) {
  for (int s = 0; s < 3; s++) {
    float *x = construct(64, 16, 16);
    ev_pca *p = make(solvers[s], 5);
    ck_assert_ev_ok(ev_pca_fit(p, x, 64, 16, 16));
    check_construction(p, 64, 16);
    ev_pca_free(p);
    free(x);
  }
}
END_TEST

START_TEST(randomized_qr_and_lu_power_steps) {
  /* q <= 2 re-normalises by QR, q > 2 by LU; both are exact here. */
  float *x = construct(64, 16, 16);
  for (int q = 0; q <= 4; q += 2) {
    ev_pca *p = make(EV_PCA_SOLVER_RANDOMIZED, 5);
    ck_assert_ev_ok(ev_pca_set(p, EV_PCA_POWER_ITERATIONS, q));
    ck_assert_ev_ok(ev_pca_fit(p, x, 64, 16, 16));
    check_construction(p, 64, 16);
    ev_pca_free(p);
  }
  free(x);
}
END_TEST

START_TEST(known_construction_wide) { /* d > n: the SVD and randomized */
  float *x = construct(32, 200, 200);
  for (int s = 1; s < 3; s++) {
    ev_pca *p = make(solvers[s], 5);
    ck_assert_ev_ok(ev_pca_fit(p, x, 32, 200, 200));
    check_construction(p, 32, 200);
    ev_pca_free(p);
  }
  ev_pca *p = make(EV_PCA_SOLVER_AUTO, 5);
  ck_assert_ev_ok(ev_pca_fit(p, x, 32, 200, 200));
  double used;
  ck_assert_ev_ok(ev_pca_get(p, EV_PCA_FITTED_SOLVER, &used));
  ck_assert_int_eq((int)used, EV_PCA_SOLVER_SVD);
  check_construction(p, 32, 200);
  ev_pca_free(p);
  free(x);
}
END_TEST

START_TEST(leading_dimensions) {
  size_t n = 64, d = 16, ld = 21;
  float *packed = construct(n, d, d), *padded = construct(n, d, ld);
  for (size_t i = 0; i < n; i++)
    for (size_t j = d; j < ld; j++) padded[i * ld + j] = NAN; /* never read */
  for (int s = 0; s < 3; s++) {
    ev_pca *a = make(solvers[s], 5), *b = make(solvers[s], 5);
    ck_assert_ev_ok(ev_pca_fit(a, packed, n, d, d));
    ck_assert_ev_ok(ev_pca_fit(b, padded, n, d, ld));
    float ca[5 * 16], cb[5 * 20], sa[64 * 5], sb[64 * 9];
    ck_assert_ev_ok(ev_pca_components(a, ca, 16));
    ck_assert_ev_ok(ev_pca_components(b, cb, 20));
    for (size_t i = 0; i < 5; i++)
      for (size_t j = 0; j < d; j++)
        ck_assert_float_eq_tol(ca[i * 16 + j], cb[i * 20 + j], 1e-6);
    ck_assert_ev_ok(ev_pca_transform(a, packed, n, d, d, sa, 5));
    ck_assert_ev_ok(ev_pca_transform(b, padded, n, d, ld, sb, 9));
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < 5; j++)
        ck_assert_float_eq_tol(sa[i * 5 + j], sb[i * 9 + j], 1e-4);
    ev_pca_free(a);
    ev_pca_free(b);
  }
  free(packed);
  free(padded);
}
END_TEST

START_TEST(whiten_gives_unit_variance) {
  size_t n = 64, d = 16;
  float *x = construct(n, d, d), s[64 * 5], back[64 * 16];
  ev_pca *p = make(EV_PCA_SOLVER_COVARIANCE, 5);
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_WHITEN, 1));
  ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d));
  ck_assert_ev_ok(ev_pca_transform(p, x, n, d, d, s, 5));
  for (size_t j = 0; j < 5; j++) {
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) sum += s[i * 5 + j], sq += s[i * 5 + j] * s[i * 5 + j];
    ck_assert_double_eq_tol(sum / n, 0, 1e-5);
    ck_assert_double_eq_tol(sq / (n - 1), 1, 1e-4);
  }
  /* Whitened scores of the construction are +-sqrt((n-1)/n) h_i. */
  ck_assert_float_eq_tol(fabsf(s[3 * 5 + 2]), sqrt(63.0 / 64), 1e-5);
  ck_assert_ev_ok(ev_pca_inverse_transform(p, s, n, 5, 5, back, d));
  for (size_t i = 0; i < n * d; i++) ck_assert_float_eq_tol(back[i], x[i], 1e-4);
  ev_pca_free(p);
  free(x);
}
END_TEST

START_TEST(inverse_transform_round_trip) {
  size_t n = 50, d = 7;
  float *x = tu_randn(n, d, 11), s[50 * 7], back[50 * 9];
  for (int s_ = 0; s_ < 3; s_++) {
    ev_pca *p = make(solvers[s_], 0); /* all 7: exact reconstruction */
    ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d));
    ck_assert_ev_ok(ev_pca_transform(p, x, n, d, d, s, 7));
    ck_assert_ev_ok(ev_pca_inverse_transform(p, s, n, 7, 7, back, 9));
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < d; j++)
        ck_assert_float_eq_tol(back[i * 9 + j], x[i * d + j], 1e-4);
    ev_pca_free(p);
  }
  /* With fewer components: the best rank-5 approximation of the
   * construction is the construction itself. */
  float *c = construct(64, 16, 16), sc[64 * 5], bc[64 * 16];
  ev_pca *p = make(EV_PCA_SOLVER_SVD, 5);
  ck_assert_ev_ok(ev_pca_fit(p, c, 64, 16, 16));
  ck_assert_ev_ok(ev_pca_transform(p, c, 64, 16, 16, sc, 5));
  ck_assert_ev_ok(ev_pca_inverse_transform(p, sc, 64, 5, 5, bc, 16));
  for (size_t i = 0; i < 64 * 16; i++) ck_assert_float_eq_tol(bc[i], c[i], 1e-4);
  ev_pca_free(p);
  free(c);
  free(x);
}
END_TEST

START_TEST(variance_fraction_selects_components) {
  /* Ratios 25, 16, 9, 4, 1 over 55: cumulative .4545 .7455 .9091 .9818 1. */
  const double fraction[] = {0.4, 0.5, 0.8, 0.95};
  const size_t want[] = {1, 2, 3, 4};
  float *x = construct(64, 16, 16);
  for (int s = 0; s < 2; s++)
    for (int f = 0; f < 4; f++) {
      ev_pca *p = make(solvers[s], 2); /* overridden by the fraction */
      ck_assert_ev_ok(ev_pca_set(p, EV_PCA_VARIANCE_TO_KEEP, fraction[f]));
      ck_assert_ev_ok(ev_pca_fit(p, x, 64, 16, 16));
      size_t k;
      ck_assert_ev_ok(ev_pca_n_components(p, &k));
      ck_assert_uint_eq(k, want[f]);
      ev_pca_free(p);
    }
  free(x);
}
END_TEST

START_TEST(signs_and_solvers_agree_on_random_data) {
  size_t n = 300, d = 40, k = 6;
  float *x = tu_randn(n, d, 5);
  for (size_t i = 0; i < n; i++) /* decaying column scales: clear gaps */
    for (size_t j = 0; j < d; j++) x[i * d + j] *= (float)(1.0 + 8.0 / (1 + j * j)) + 0.3f * x[i * d + (j + 1) % d];
  float c[3][6 * 40], ev[3][6];
  for (int s = 0; s < 3; s++) {
    ev_pca *p = make(solvers[s], k);
    ck_assert_ev_ok(ev_pca_set(p, EV_PCA_POWER_ITERATIONS, 20));
    ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d));
    ck_assert_ev_ok(ev_pca_components(p, c[s], d));
    ck_assert_ev_ok(ev_pca_explained_variance(p, ev[s]));
    for (size_t i = 0; i < k; i++) {
      size_t arg = 0;
      for (size_t j = 1; j < d; j++)
        if (fabsf(c[s][i * d + j]) > fabsf(c[s][i * d + arg])) arg = j;
      ck_assert_float_gt(c[s][i * d + arg], 0);
    }
    ev_pca_free(p);
  }
  for (int s = 1; s < 3; s++)
    for (size_t i = 0; i < k * d; i++) ck_assert_float_eq_tol(c[s][i], c[0][i], 2e-4);
  for (int s = 1; s < 3; s++)
    for (size_t i = 0; i < k; i++) ck_assert_float_eq_tol(ev[s][i], ev[0][i], 1e-4 * ev[0][i]);
  free(x);
}
END_TEST

/* The randomized solver at its default settings (power iterations auto: 7
 * here, 10 oversamples) on data that is not low-rank: 20 directions of
 * variance 100 * 0.8^j (j = 0..19, 100 down to 1.4) in a random basis,
 * plus isotropic noise of variance 0.5 in all 300 dimensions, so the tail
 * is full rank (its top near 0.5 (1 + sqrt(300/2000))^2 = 0.98). Against
 * the exact covariance solver, for 20 components. The tolerance is the
 * theory's: subspace iteration with l = k + p = 30 vectors and q power
 * iterations finds component i to an angle of about
 * (lambda_31 / lambda_i)^((2q + 1) / 2) (Halko, Martinsson & Tropp 2011,
 * sec. 4.5 and 10.4; lambda from the exact solver), and its variance, a
 * Rayleigh quotient, to about that squared. Allowed: 3 times those, plus
 * float rounding (1e-4 rad, 1e-5 relative). Measured: the weakest
 * component 1.3e-3 rad against a bound of 1.7e-3. With 5 power iterations
 * instead of 7 it fails (at component 15). */
START_TEST(randomized_defaults_on_full_rank_data) {
  size_t n = 2000, d = 300, k = 20, q = 7, l = k + 10;
  uint64_t s = 99;
  float *basis = tu_randn(k, d, 41), *x = tu_randn(n, d, 43);
  for (size_t c = 0; c < k; c++) { /* Gram-Schmidt: orthonormal rows */
    for (size_t b = 0; b < c; b++) {
      double dot = 0;
      for (size_t j = 0; j < d; j++) dot += basis[c * d + j] * basis[b * d + j];
      for (size_t j = 0; j < d; j++) basis[c * d + j] -= (float)dot * basis[b * d + j];
    }
    double nrm = 0;
    for (size_t j = 0; j < d; j++) nrm += basis[c * d + j] * basis[c * d + j];
    for (size_t j = 0; j < d; j++) basis[c * d + j] /= (float)sqrt(nrm);
  }
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++) x[i * d + j] *= (float)sqrt(0.5);
    for (size_t c = 0; c < k; c++) {
      double a = sqrt(100 * pow(0.8, (double)c)) * tu_normal(&s);
      for (size_t j = 0; j < d; j++) x[i * d + j] += (float)a * basis[c * d + j];
    }
  }
  float *ce = malloc((l + 1) * d * sizeof *ce), *cr = malloc(k * d * sizeof *cr);
  float ve[31], vr[20];
  ev_pca *p = make(EV_PCA_SOLVER_COVARIANCE, l + 1);
  ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d));
  ck_assert_ev_ok(ev_pca_components(p, ce, d));
  ck_assert_ev_ok(ev_pca_explained_variance(p, ve));
  ev_pca_free(p);
  p = make(EV_PCA_SOLVER_RANDOMIZED, k); /* every other setting default */
  ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d));
  ck_assert_ev_ok(ev_pca_components(p, cr, d));
  ck_assert_ev_ok(ev_pca_explained_variance(p, vr));
  for (size_t c = 0; c < k; c++) {
    double diff = 0, sum = 0; /* the angle, stable near 0: 2 asin(|a - b| / 2) */
    for (size_t j = 0; j < d; j++) {
      diff += pow((double)cr[c * d + j] - ce[c * d + j], 2);
      sum += pow((double)cr[c * d + j] + ce[c * d + j], 2);
    }
    double angle = 2 * asin(fmin(1.0, sqrt(fmin(diff, sum)) / 2));
    double bound = pow(ve[l] / ve[c], (2.0 * q + 1) / 2);
    double rel = fabs(vr[c] - ve[c]) / ve[c];
    if (c == 0 || c == k - 1)
      fprintf(stderr, "randomized PCA defaults, component %zu: %.2e rad "
              "(bound %.2e), variance %.2e relative\n", c, angle, bound, rel);
    ck_assert_msg(angle <= 3 * bound + 1e-4, "component %zu: %g rad from "
                  "the exact one, allowed %g", c, angle, 3 * bound + 1e-4);
    ck_assert_msg(rel <= 3 * bound * bound + 1e-5, "component %zu: variance "
                  "%g relative, allowed %g", c, rel, 3 * bound * bound + 1e-5);
  }
  ev_pca_free(p);
  free(basis), free(x), free(ce), free(cr);
}
END_TEST

/* Threads: the mean, the Gram sums and the test matrix are split so that
 * they do not depend on the thread count; OpenBLAS's kernels usually are
 * too, but this is not promised, so the test allows float rounding. */
START_TEST(threads_one_and_two_agree) {
  /* under memcheck (tu_size) 1,500 rows: still split over both threads */
  size_t n = tu_size(5000, 1500), d = 64;
  float *x = tu_randn(n, d, 3);
  for (int s = 0; s < 3; s++) {
    float c[2][8 * 64], ev[2][8];
    for (int t = 0; t < 2; t++) {
      ev_pca *p = make(solvers[s], 8);
      ck_assert_ev_ok(ev_pca_set(p, EV_PCA_THREADS, t + 1));
      ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d));
      ck_assert_ev_ok(ev_pca_components(p, c[t], d));
      ck_assert_ev_ok(ev_pca_explained_variance(p, ev[t]));
      ev_pca_free(p);
    }
    for (size_t i = 0; i < 8; i++) ck_assert_float_eq_tol(ev[1][i], ev[0][i], 1e-5 * ev[0][i]);
    /* Random data have close eigenvalues: compare the top component only. */
    for (size_t j = 0; j < d; j++) ck_assert_float_eq_tol(c[1][j], c[0][j], 1e-3);
  }
  free(x);
}
END_TEST

/* Internal: the AUTO rule (hidden symbol, reachable from libembedviz.a). */
int ev__pca_auto_solver(size_t n, size_t d, size_t k, bool fraction);

START_TEST(auto_rule_costs) {
  /* Fashion-MNIST to 50: the Gram matrix is cheap, covariance is exact. */
  ck_assert_int_eq(ev__pca_auto_solver(70000, 784, 50, false), EV_PCA_SOLVER_COVARIANCE);
  /* A wide convolution layer: dsyevr on 3136 x 3136 costs more than the
   * randomized passes. */
  ck_assert_int_eq(ev__pca_auto_solver(5000, 3136, 50, false), EV_PCA_SOLVER_RANDOMIZED);
  /* A variance fraction needs every eigenvalue: exact. */
  ck_assert_int_eq(ev__pca_auto_solver(5000, 3136, 50, true), EV_PCA_SOLVER_COVARIANCE);
  /* Small or nearly full rank: exact. */
  ck_assert_int_eq(ev__pca_auto_solver(1000, 64, 5, false), EV_PCA_SOLVER_COVARIANCE);
  ck_assert_int_eq(ev__pca_auto_solver(5000, 3136, 1000, false), EV_PCA_SOLVER_COVARIANCE);
  ck_assert_int_eq(ev__pca_auto_solver(300, 5000, 3, false), EV_PCA_SOLVER_SVD);
  ck_assert_int_eq(ev__pca_auto_solver(100000, 5000, 10, false), EV_PCA_SOLVER_RANDOMIZED);
}
END_TEST

START_TEST(auto_rule_and_no_centring) {
  double used;
  float *x = construct(64, 16, 16);
  ev_pca *p = make(EV_PCA_SOLVER_AUTO, 5);
  ck_assert_ev_ok(ev_pca_get(p, EV_PCA_FITTED_SOLVER, &used));
  ck_assert_int_eq((int)used, 0);
  ck_assert_ev_ok(ev_pca_fit(p, x, 64, 16, 16));
  ck_assert_ev_ok(ev_pca_get(p, EV_PCA_FITTED_SOLVER, &used));
  ck_assert_int_eq((int)used, EV_PCA_SOLVER_COVARIANCE);
  ev_pca_free(p);
  free(x);
  /* Wide, large and few components: randomized. */
  /* (under memcheck, tu_size: 520 x 600, still wider than tall with more
   * than 500 rows, so the same branch of the rule) */
  size_t wn = tu_size(600, 520), wd = tu_size(5000, 600);
  float *w = tu_randn(wn, wd, 9);
  p = make(EV_PCA_SOLVER_AUTO, 3);
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_THREADS, 2));
  ck_assert_ev_ok(ev_pca_fit(p, w, wn, wd, wd));
  ck_assert_ev_ok(ev_pca_get(p, EV_PCA_FITTED_SOLVER, &used));
  ck_assert_int_eq((int)used, EV_PCA_SOLVER_RANDOMIZED);
  ev_pca_free(p);
  free(w);
  /* Without centring: the mean is zero and the variance is about 0. */
  const float y[6] = {3, 4, 3, 4, 6, 8};
  p = make(EV_PCA_SOLVER_COVARIANCE, 1);
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_CENTER, 0));
  ck_assert_ev_ok(ev_pca_fit(p, y, 3, 2, 2));
  float c[2], ev, ratio, mean[2], score;
  ck_assert_ev_ok(ev_pca_components(p, c, 2));
  ck_assert_ev_ok(ev_pca_explained_variance(p, &ev));
  ck_assert_ev_ok(ev_pca_explained_variance_ratio(p, &ratio));
  ck_assert_ev_ok(ev_pca_mean(p, mean));
  ck_assert_float_eq_tol(c[0], 0.6, 1e-6);
  ck_assert_float_eq_tol(c[1], 0.8, 1e-6);
  ck_assert_float_eq_tol(ev, 75, 1e-4); /* (25 + 25 + 100) / 2 */
  ck_assert_float_eq_tol(ratio, 1, 1e-6);
  ck_assert_float_eq(mean[0], 0);
  ck_assert_ev_ok(ev_pca_transform(p, y + 4, 1, 2, 2, &score, 1));
  ck_assert_float_eq_tol(score, 10, 1e-5);
  ev_pca_free(p);
}
END_TEST

START_TEST(bad_inputs) {
  ev_pca *p = NULL;
  float x[8], out[8];
  memcpy(x, cross, sizeof x);
  ck_assert_ev(ev_pca_create(NULL), EV_ERR_ARGUMENT);
  ck_assert_ev_ok(ev_pca_create(&p));
  ev_pca_free(NULL);
  ck_assert_ev(ev_pca_fit(NULL, x, 4, 2, 2), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("ev_pca_create");
  ck_assert_ev(ev_pca_fit(p, NULL, 4, 2, 2), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("x is NULL");
  ck_assert_ev(ev_pca_fit(p, x, 0, 2, 2), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("at least 1");
  ck_assert_ev(ev_pca_fit(p, x, 4, 0, 2), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_pca_fit(p, x, 1, 2, 2), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("at least 2 rows");
  ck_assert_ev(ev_pca_fit(p, x, 4, 2, 1), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("leading dimension 1");
  ck_assert_ev(ev_pca_fit(p, x, SIZE_MAX / 4, 2, SIZE_MAX / 8), EV_ERR_OVERFLOW);
  x[5] = NAN;
  ck_assert_ev(ev_pca_fit(p, x, 4, 2, 2), EV_ERR_NONFINITE);
  ck_assert_errmsg_has("x[2][1] is NaN");
  x[5] = INFINITY;
  ck_assert_ev(ev_pca_fit(p, x, 4, 2, 2), EV_ERR_NONFINITE);
  ck_assert_errmsg_has("Inf");
  for (int sv = 1; sv < 3; sv++) { /* the other solvers check up front */
    ck_assert_ev_ok(ev_pca_set(p, EV_PCA_SOLVER, solvers[sv]));
    ck_assert_ev(ev_pca_fit(p, x, 4, 2, 2), EV_ERR_NONFINITE);
    ck_assert_errmsg_has("x[2][1] is Inf");
  }
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_SOLVER, EV_PCA_SOLVER_COVARIANCE));
  float big[8] = {1e30f, 0, -1e30f, 1, 0, 2, 5e29f, 3};
  ck_assert_ev(ev_pca_fit(p, big, 4, 2, 2), EV_ERR_OVERFLOW);
  ck_assert_errmsg_has("rescale");
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_SOLVER, EV_PCA_SOLVER_AUTO));
  x[5] = -4;
  /* Before a fit. */
  size_t k;
  ck_assert_ev(ev_pca_transform(p, x, 4, 2, 2, out, 2), EV_ERR_STATE);
  ck_assert_errmsg_has("call ev_pca_fit");
  ck_assert_ev(ev_pca_inverse_transform(p, x, 4, 2, 2, out, 2), EV_ERR_STATE);
  ck_assert_ev(ev_pca_n_components(p, &k), EV_ERR_STATE);
  ck_assert_ev(ev_pca_n_features(p, &k), EV_ERR_STATE);
  ck_assert_ev(ev_pca_components(p, out, 2), EV_ERR_STATE);
  ck_assert_ev(ev_pca_mean(p, out), EV_ERR_STATE);
  ck_assert_ev(ev_pca_explained_variance(p, out), EV_ERR_STATE);
  ck_assert_ev(ev_pca_explained_variance_ratio(p, out), EV_ERR_STATE);
  ck_assert_ev(ev_pca_singular_values(p, out), EV_ERR_STATE);
  /* Randomized solver with a variance fraction. */
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_SOLVER, EV_PCA_SOLVER_RANDOMIZED));
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_VARIANCE_TO_KEEP, 0.9));
  ck_assert_ev(ev_pca_fit(p, x, 4, 2, 2), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("needs a number of components");
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_VARIANCE_TO_KEEP, 0));
  /* After a fit: wrong sizes. */
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_N_COMPONENTS, 1));
  ck_assert_ev_ok(ev_pca_fit(p, x, 4, 2, 2));
  ck_assert_ev_ok(ev_pca_n_features(p, &k));
  ck_assert_uint_eq(k, 2);
  ck_assert_ev(ev_pca_transform(p, x, 2, 4, 4, out, 1), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("x has 4 columns but the fit has 2 features");
  ck_assert_ev(ev_pca_transform(p, x, 4, 2, 2, NULL, 1), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("scores is NULL");
  ck_assert_ev(ev_pca_transform(p, x, 4, 2, 2, out, 0), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_pca_inverse_transform(p, out, 4, 2, 2, x, 2), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("scores has 2 columns but the fit has 1 components");
  ck_assert_ev(ev_pca_components(p, out, 1), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_pca_mean(p, NULL), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("mean is NULL");
  out[0] = NAN;
  ck_assert_ev(ev_pca_inverse_transform(p, out, 1, 1, 1, x, 2), EV_ERR_NONFINITE);
  ck_assert_errmsg_has("scores[0][0] is NaN");
  ev_pca_free(p);
}
END_TEST

START_TEST(settings_and_bounds) {
  ev_pca *p;
  double v, lo, hi;
  ck_assert_ev_ok(ev_pca_create(&p));
  const int params[] = {EV_PCA_N_COMPONENTS, EV_PCA_VARIANCE_TO_KEEP,
                        EV_PCA_CENTER, EV_PCA_WHITEN, EV_PCA_SOLVER,
                        EV_PCA_SEED, EV_PCA_POWER_ITERATIONS,
                        EV_PCA_OVERSAMPLES, EV_PCA_THREADS};
  const double defaults[] = {0, 0, 1, 0, 0, 0, -1, 10, 0};
  for (int i = 0; i < 9; i++) {
    ck_assert_ev_ok(ev_pca_get(p, params[i], &v));
    ck_assert_double_eq(v, defaults[i]);
    ck_assert_ev_ok(ev_pca_param_bounds(params[i], &lo, &hi));
    ck_assert_ev(ev_pca_set(p, params[i], hi + 1), EV_ERR_ARGUMENT);
    ck_assert_ev(ev_pca_set(p, params[i], lo - 1), EV_ERR_ARGUMENT);
    ck_assert_ev(ev_pca_set(p, params[i], NAN), EV_ERR_ARGUMENT);
    ck_assert_ev_ok(ev_pca_get(p, params[i], &v)); /* unchanged */
    ck_assert_double_eq(v, defaults[i]);
    ck_assert_ev_ok(ev_pca_set(p, params[i], hi));
    ck_assert_ev_ok(ev_pca_get(p, params[i], &v));
    ck_assert_double_eq(v, hi);
  }
  ck_assert_ev(ev_pca_set(p, EV_PCA_SOLVER, 1.5), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("EV_PCA_SOLVER must be a whole number in [0, 3]");
  ck_assert_ev(ev_pca_set(p, EV_PCA_VARIANCE_TO_KEEP, 1.5), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("EV_PCA_VARIANCE_TO_KEEP");
  ck_assert_ev(ev_pca_set(p, EV_PCA_FITTED_SOLVER, 1), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("read-only");
  ck_assert_ev(ev_pca_set(p, 99, 1), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("99 is not a PCA setting");
  ck_assert_ev(ev_pca_get(p, 99, &v), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_pca_get(p, EV_PCA_SEED, NULL), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_pca_get(NULL, EV_PCA_SEED, &v), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_pca_set(NULL, EV_PCA_SEED, 1), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_pca_param_bounds(0, &lo, &hi), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_pca_set_progress(NULL, NULL, NULL), EV_ERR_ARGUMENT);
  ev_pca_free(p);
}
END_TEST

static int cancel_at(void *user, int stage, size_t step, size_t total,
                     double value) {
  int *calls = user;
  ck_assert_int_eq(stage, EV_STAGE_PCA);
  ck_assert_uint_le(step, total);
  calls[0]++;
  return (int)step >= calls[1];
}

START_TEST(cancel_keeps_earlier_fit) {
  size_t n = 64, d = 16;
  float *x = construct(n, d, d);
  for (int s = 0; s < 3; s++) {
    ev_pca *p = make(solvers[s], 5);
    int calls[2] = {0, 1000};
    ck_assert_ev_ok(ev_pca_set_progress(p, cancel_at, calls));
    ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d));
    ck_assert_int_ge(calls[0], 2);
    ck_assert_ev_ok(ev_pca_set(p, EV_PCA_N_COMPONENTS, 3));
    calls[1] = 1;
    ck_assert_ev(ev_pca_fit(p, x, n, d, d), EV_ERR_CANCELLED);
    ck_assert_errmsg_has("PCA cancelled");
    size_t k;
    ck_assert_ev_ok(ev_pca_n_components(p, &k));
    ck_assert_uint_eq(k, 5); /* the earlier fit */
    check_construction(p, n, d);
    ck_assert_ev_ok(ev_pca_set_progress(p, NULL, NULL));
    ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d)); /* still usable */
    ck_assert_ev_ok(ev_pca_n_components(p, &k));
    ck_assert_uint_eq(k, 3);
    ev_pca_free(p);
  }
  free(x);
}
END_TEST

/* Every allocation of a fit or transform may fail: NOMEM, no leak, and
 * the handle keeps its earlier fit. */
/* ev_pca_set_fit: a fit copied from one handle into a fresh one answers
 * every getter and both transforms bit for bit, whitened or not; bad
 * arguments leave the previous fit in place. */
START_TEST(set_fit_restores_a_saved_fit) {
  size_t n = 120, d = 9, k = 4;
  float *x = tu_randn(n, d, 41);
  for (size_t i = 0; i < n; i++) x[i * d + 2] += 3.0f * x[i * d]; /* structure */
  for (int whiten = 0; whiten < 2; whiten++) {
    ev_pca *a, *b;
    ck_assert_ev_ok(ev_pca_create(&a));
    ck_assert_ev_ok(ev_pca_set(a, EV_PCA_N_COMPONENTS, (double)k));
    ck_assert_ev_ok(ev_pca_set(a, EV_PCA_WHITEN, whiten));
    ck_assert_ev_ok(ev_pca_fit(a, x, n, d, d));
    float comp[4 * 9], mean[9], var[4], ratio[4], sv[4];
    ck_assert_ev_ok(ev_pca_components(a, comp, d));
    ck_assert_ev_ok(ev_pca_mean(a, mean));
    ck_assert_ev_ok(ev_pca_explained_variance(a, var));
    ck_assert_ev_ok(ev_pca_explained_variance_ratio(a, ratio));
    ck_assert_ev_ok(ev_pca_singular_values(a, sv));
    double total = var[0] / ratio[0];
    ck_assert_ev_ok(ev_pca_create(&b));
    float none[4 * 120];
    ck_assert_ev(ev_pca_transform(b, x, n, d, d, none, k), EV_ERR_STATE);
    ck_assert_ev_ok(ev_pca_set(b, EV_PCA_WHITEN, whiten));
    ck_assert_ev_ok(ev_pca_set_fit(b, k, d, comp, d, mean, var, total, n));
    size_t kb, db;
    ck_assert_ev_ok(ev_pca_n_components(b, &kb));
    ck_assert_ev_ok(ev_pca_n_features(b, &db));
    ck_assert_uint_eq(kb, k);
    ck_assert_uint_eq(db, d);
    float c2[4 * 9], m2[9], v2[4], r2[4], s2[4];
    ck_assert_ev_ok(ev_pca_components(b, c2, d));
    ck_assert_ev_ok(ev_pca_mean(b, m2));
    ck_assert_ev_ok(ev_pca_explained_variance(b, v2));
    ck_assert_ev_ok(ev_pca_explained_variance_ratio(b, r2));
    ck_assert_ev_ok(ev_pca_singular_values(b, s2));
    ck_assert_mem_eq(c2, comp, sizeof comp);
    ck_assert_mem_eq(m2, mean, sizeof mean);
    ck_assert_mem_eq(v2, var, sizeof var);
    for (size_t i = 0; i < k; i++) {
      ck_assert_float_eq_tol(r2[i], ratio[i], 1e-6);
      ck_assert_float_eq_tol(s2[i], sv[i], 1e-5 * sv[i]);
    }
    float *ya = malloc(n * k * sizeof *ya), *yb = malloc(n * k * sizeof *yb);
    float *za = malloc(n * d * sizeof *za), *zb = malloc(n * d * sizeof *zb);
    ck_assert_ev_ok(ev_pca_transform(a, x, n, d, d, ya, k));
    ck_assert_ev_ok(ev_pca_transform(b, x, n, d, d, yb, k));
    ck_assert_mem_eq(ya, yb, n * k * sizeof *ya);
    ck_assert_ev_ok(ev_pca_inverse_transform(a, ya, n, k, k, za, d));
    ck_assert_ev_ok(ev_pca_inverse_transform(b, ya, n, k, k, zb, d));
    ck_assert_mem_eq(za, zb, n * d * sizeof *za);
    /* bad arguments: refused, the fit just set stays */
    float bad[4] = {var[0], -1, var[2], var[3]};
    ck_assert_ev(ev_pca_set_fit(b, k, d, comp, d, mean, bad, total, n), EV_ERR_ARGUMENT);
    ck_assert_errmsg_has("explained_variance[1]");
    bad[1] = NAN;
    ck_assert_ev(ev_pca_set_fit(b, k, d, comp, d, mean, bad, total, n), EV_ERR_NONFINITE);
    ck_assert_ev(ev_pca_set_fit(b, k, d, comp, d, mean, var, total, 1), EV_ERR_ARGUMENT);
    ck_assert_errmsg_has("n_samples is 1");
    ck_assert_ev(ev_pca_set_fit(b, d + 1, d, comp, d, mean, var, total, n), EV_ERR_ARGUMENT);
    ck_assert_ev(ev_pca_set_fit(b, k, d, comp, d - 1, mean, var, total, n), EV_ERR_ARGUMENT);
    ck_assert_ev(ev_pca_set_fit(b, k, d, NULL, d, mean, var, total, n), EV_ERR_ARGUMENT);
    ck_assert_ev(ev_pca_set_fit(b, k, d, comp, d, mean, NULL, total, n), EV_ERR_ARGUMENT);
    ck_assert_ev(ev_pca_set_fit(b, k, d, comp, d, mean, var, -1, n), EV_ERR_ARGUMENT);
    ck_assert_ev(ev_pca_set_fit(NULL, k, d, comp, d, mean, var, total, n), EV_ERR_ARGUMENT);
    ck_assert_ev_ok(ev_pca_transform(b, x, n, d, d, yb, k));
    ck_assert_mem_eq(ya, yb, n * k * sizeof *ya);
    /* a NULL mean is zero: the scores of uncentred data */
    ck_assert_ev_ok(ev_pca_set_fit(b, k, d, comp, d, NULL, var, total, n));
    ck_assert_ev_ok(ev_pca_mean(b, m2));
    for (size_t j = 0; j < d; j++) ck_assert_float_eq(m2[j], 0.0f);
    /* allocation failures keep the old fit and leak nothing */
    long live = ev__test_live_blocks();
    for (long at = 0;; at++) {
      ev__test_fail_alloc(at, 0);
      int st = ev_pca_set_fit(b, k, d, comp, d, mean, var, total, n);
      ev__test_fail_alloc(-1, 0);
      if (st == EV_OK) break;
      ck_assert_int_eq(st, EV_ERR_NOMEM);
      ck_assert_int_eq(ev__test_live_blocks(), live);
      ck_assert_ev_ok(ev_pca_mean(b, m2));
      for (size_t j = 0; j < d; j++) ck_assert_float_eq(m2[j], 0.0f);
    }
    ck_assert_ev_ok(ev_pca_transform(b, x, n, d, d, yb, k));
    ck_assert_mem_eq(ya, yb, n * k * sizeof *ya);
    free(ya);
    free(yb);
    free(za);
    free(zb);
    ev_pca_free(a);
    ev_pca_free(b);
  }
  free(x);
}
END_TEST

START_TEST(allocation_failures) {
  size_t n = 64, d = 16;
  float *x = construct(n, d, d), s[64 * 5], back[64 * 16];
  for (int sv = 0; sv < 3; sv++) {
    ev_pca *p = make(solvers[sv], 5);
    ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d));
    ck_assert_ev_ok(ev_pca_set(p, EV_PCA_WHITEN, 1));
    for (long fail = 0;; fail++) {
      long live = ev__test_live_blocks();
      ev__test_fail_alloc(fail, 0);
      int st = ev_pca_fit(p, x, n, d, d);
      if (st == EV_OK) st = ev_pca_transform(p, x, n, d, d, s, 5);
      if (st == EV_OK) st = ev_pca_inverse_transform(p, s, n, 5, 5, back, d);
      long used = ev__test_alloc_count();
      ev__test_fail_alloc(-1, 0);
      if (st == EV_OK) {
        ck_assert_int_lt(fail, used + 1);
        break;
      }
      ck_assert_int_eq(st, EV_ERR_NOMEM);
      ck_assert_int_eq(ev__test_live_blocks(), live);
      check_construction(p, n, d);
    }
    ev_pca_free(p);
  }
  free(x);
}
END_TEST

int main(void) {
  Suite *s = suite_create("pca");
  TCase *tc = tcase_create("pca");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, worked_example_2d);
  tcase_add_test(tc, worked_example_3d_rank_one);
  tcase_add_test(tc, known_construction_every_solver);
  tcase_add_test(tc, known_construction_wide);
  tcase_add_test(tc, randomized_qr_and_lu_power_steps);
  tcase_add_test(tc, leading_dimensions);
  tcase_add_test(tc, whiten_gives_unit_variance);
  tcase_add_test(tc, inverse_transform_round_trip);
  tcase_add_test(tc, variance_fraction_selects_components);
  tcase_add_test(tc, signs_and_solvers_agree_on_random_data);
  tcase_add_test(tc, threads_one_and_two_agree);
  tcase_add_test(tc, auto_rule_and_no_centring);
  tcase_add_test(tc, auto_rule_costs);
  tcase_add_test(tc, bad_inputs);
  tcase_add_test(tc, settings_and_bounds);
  tcase_add_test(tc, cancel_keeps_earlier_fit);
  tcase_add_test(tc, allocation_failures);
  tcase_add_test(tc, set_fit_restores_a_saved_fit);
  suite_add_tcase(s, tc);
  /* 2000 x 300, two solvers: a statistical check, left out under memcheck */
  TCase *large = tu_tcase_large("pca_large", 120);
  tcase_add_test(large, randomized_defaults_on_full_rank_data);
  suite_add_tcase(s, large);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
