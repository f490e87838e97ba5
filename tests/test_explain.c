/* embedviz/explain.h: PCA contributions, ridge regression to a map, and
 * the correlation of features with its clustered order. */
#include "testutil.h"

/* ---- PCA contributions -------------------------------------------------- */

static ev_pca *fitted_pca(const float *x, size_t n, size_t d, int whiten) {
  ev_pca *p = NULL;
  ck_assert_ev_ok(ev_pca_create(&p));
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_N_COMPONENTS, 3));
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_WHITEN, whiten));
  ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d));
  return p;
}

/* Each contribution is (x_j - mean_j) loading_kj, and a row of them sums
 * to the score ev_pca_transform gives, whitened or not. */
START_TEST(contributions_sum_to_the_score) {
  size_t n = 60, d = 7;
  float *x = tu_randn(n, d, 3);
  for (size_t i = 0; i < n; i++) x[i * d + 2] = 3 * x[i * d + 1] + 10;
  for (int whiten = 0; whiten <= 1; whiten++) {
    ev_pca *p = fitted_pca(x, n, d, whiten);
    float scores[60 * 3], comp[3 * 7], mean[7], var[3];
    float *c = malloc(n * d * sizeof *c);
    ck_assert_ev_ok(ev_pca_transform(p, x, n, d, d, scores, 3));
    ck_assert_ev_ok(ev_pca_components(p, comp, d));
    ck_assert_ev_ok(ev_pca_mean(p, mean));
    ck_assert_ev_ok(ev_pca_explained_variance(p, var));
    for (size_t k = 0; k < 3; k++) {
      ck_assert_ev_ok(ev_pca_contributions(p, k, x, n, d, d, c, d));
      double scale = whiten ? 1.0 / sqrt(var[k]) : 1.0;
      for (size_t i = 0; i < n; i++) {
        double sum = 0;
        for (size_t j = 0; j < d; j++) {
          double want = (x[i * d + j] - mean[j]) * comp[k * d + j] * scale;
          ck_assert_double_eq_tol(c[i * d + j], want, 1e-5 + 1e-5 * fabs(want));
          sum += c[i * d + j];
        }
        ck_assert_double_eq_tol(sum, scores[i * 3 + k], 1e-4);
      }
    }
    free(c);
    ev_pca_free(p);
  }
  free(x);
}
END_TEST

/* The top contributions are the largest in magnitude, largest first, with
 * their signs. */
START_TEST(top_contributions_are_sorted_by_magnitude) {
  size_t n = 50, d = 9;
  float *x = tu_randn(n, d, 5);
  ev_pca *p = fitted_pca(x, n, d, 0);
  float all[9], v[4];
  int64_t f[4];
  ck_assert_ev_ok(ev_pca_contributions(p, 1, x + 7 * d, 1, d, d, all, d));
  ck_assert_ev_ok(ev_pca_top_contributions(p, 1, x + 7 * d, d, 4, f, v));
  for (size_t i = 0; i < 4; i++) {
    ck_assert_float_eq(v[i], all[f[i]]);
    if (i) ck_assert(fabsf(v[i - 1]) >= fabsf(v[i]));
  }
  /* nothing left out is larger than the fourth */
  for (size_t j = 0; j < d; j++) {
    int taken = 0;
    for (size_t i = 0; i < 4; i++) taken |= f[i] == (int64_t)j;
    if (!taken) ck_assert(fabsf(all[j]) <= fabsf(v[3]));
  }
  ck_assert_ev(ev_pca_top_contributions(p, 3, x, d, 4, f, v), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("component 3 is out of range");
  ev_pca_free(p);
  free(x);
}
END_TEST

/* ---- ridge -------------------------------------------------------------- */

static ev_ridge *ridge_with_alpha(double alpha) {
  ev_ridge *r = NULL;
  ck_assert_ev_ok(ev_ridge_create(&r));
  ck_assert_ev_ok(ev_ridge_set(r, EV_RIDGE_CHOOSE_ALPHA, 0));
  ck_assert_ev_ok(ev_ridge_set(r, EV_RIDGE_ALPHA, alpha));
  return r;
}

/* One feature: slope = Sxy / (Sxx + alpha), intercept = mean(y) - slope
 * mean(x). For x = 0..3, y = 2x + 1: Sxx = 5, Sxy = 10; alpha 1 gives
 * 10 / 6 and 4 - 1.5 * 10 / 6 = 1.5. */
START_TEST(one_feature_by_hand) {
  float x[4] = {0, 1, 2, 3}, y[4] = {1, 3, 5, 7}, coef, b, pred[2];
  ev_ridge *r = ridge_with_alpha(1.0);
  ck_assert_ev_ok(ev_ridge_fit(r, x, 4, 1, 1, y, 1, 1));
  ck_assert_ev_ok(ev_ridge_coef(r, &coef, 1));
  ck_assert_ev_ok(ev_ridge_intercept(r, &b));
  ck_assert_double_eq_tol(coef, 10.0 / 6.0, 1e-6);
  ck_assert_double_eq_tol(b, 1.5, 1e-6);
  float q[2] = {0, 10};
  ck_assert_ev_ok(ev_ridge_predict(r, q, 2, 1, 1, pred, 1));
  ck_assert_double_eq_tol(pred[1], 1.5 + 100.0 / 6.0, 1e-5);
  /* R^2 on the training rows: residuals y - (1.5 + 5/3 x) */
  double res = 0, tot = 0, r2;
  for (int i = 0; i < 4; i++) {
    double e = y[i] - (1.5 + 10.0 / 6.0 * x[i]);
    res += e * e;
    tot += (y[i] - 4.0) * (y[i] - 4.0);
  }
  ck_assert_ev_ok(ev_ridge_r2(r, &r2, NULL, 1));
  ck_assert_double_eq_tol(r2, 1 - res / tot, 1e-12);
  /* without an intercept: slope = sum xy / (sum x^2 + alpha) = 34 / 15 */
  ck_assert_ev_ok(ev_ridge_set(r, EV_RIDGE_FIT_INTERCEPT, 0));
  ck_assert_ev_ok(ev_ridge_fit(r, x, 4, 1, 1, y, 1, 1));
  ck_assert_ev_ok(ev_ridge_coef(r, &coef, 1));
  ck_assert_ev_ok(ev_ridge_intercept(r, &b));
  ck_assert_double_eq_tol(coef, 34.0 / 15.0, 1e-6);
  ck_assert_float_eq(b, 0.0f);
  ev_ridge_free(r);
}
END_TEST

/* The leave-one-out score equals refitting n times without one row each
 * and predicting it (checked by doing exactly that), and R^2_cv is
 * 1 - its sum over the total sum of squares. */
START_TEST(loo_score_is_leave_one_out) {
  enum { N = 12, D = 3, T = 2 };
  float *x = tu_randn(N, D, 11), *noise = tu_randn(N, T, 12), y[N * T];
  for (int i = 0; i < N; i++) {
    y[i * T] = x[i * D] - 2 * x[i * D + 2] + 0.3f * noise[i * T];
    y[i * T + 1] = 0.5f * x[i * D + 1] + 0.3f * noise[i * T + 1] + 4;
  }
  ev_ridge *r = ridge_with_alpha(0.5);
  ck_assert_ev_ok(ev_ridge_fit(r, x, N, D, D, y, T, T));
  double score, alpha, r2cv[T];
  size_t count = 1;
  ck_assert_ev_ok(ev_ridge_cv_scores(r, &alpha, &score, &count));
  ck_assert_uint_eq(count, 1);
  ck_assert_double_eq(alpha, 0.5);
  ck_assert_ev_ok(ev_ridge_r2(r, NULL, r2cv, T));
  double sum = 0, sq[T] = {0, 0}, mean[T] = {0, 0};
  for (int i = 0; i < N; i++)
    for (int j = 0; j < T; j++) mean[j] += y[i * T + j] / N;
  for (int out = 0; out < N; out++) {
    float xs[(N - 1) * D], ys[(N - 1) * T], pred[T];
    for (int i = 0, k = 0; i < N; i++) {
      if (i == out) continue;
      memcpy(xs + k * D, x + i * D, sizeof(float) * D);
      memcpy(ys + k * T, y + i * T, sizeof(float) * T);
      k++;
    }
    ev_ridge *one = ridge_with_alpha(0.5);
    ck_assert_ev_ok(ev_ridge_fit(one, xs, N - 1, D, D, ys, T, T));
    ck_assert_ev_ok(ev_ridge_predict(one, x + out * D, 1, D, D, pred, T));
    for (int j = 0; j < T; j++) {
      double e = y[out * T + j] - pred[j];
      sum += e * e;
      sq[j] += e * e;
    }
    ev_ridge_free(one);
  }
  ck_assert_double_eq_tol(score, sum / (N * T), 1e-4 * score);
  for (int j = 0; j < T; j++) {
    double tot = 0;
    for (int i = 0; i < N; i++)
      tot += (y[i * T + j] - mean[j]) * (y[i * T + j] - mean[j]);
    ck_assert_double_eq_tol(r2cv[j], 1 - sq[j] / tot, 1e-4);
  }
  ev_ridge_free(r);
  free(x);
  free(noise);
}
END_TEST

/* Fewer rows than features: the coefficients solve the normal equations
 * (Xc^T Xc + alpha I) b = Xc^T yc, and the rank says the data alone do
 * not determine them (n - 1 = 4 < 20). */
START_TEST(fewer_rows_than_features) {
  enum { N = 5, D = 20 };
  float *x = tu_randn(N, D, 21), y[N], coef[D], b;
  for (int i = 0; i < N; i++) y[i] = x[i * D] + 2 * x[i * D + 7] - 1;
  ev_ridge *r = ridge_with_alpha(0.7);
  ck_assert_ev_ok(ev_ridge_fit(r, x, N, D, D, y, 1, 1));
  ck_assert_ev_ok(ev_ridge_coef(r, coef, D));
  ck_assert_ev_ok(ev_ridge_intercept(r, &b));
  size_t d, t, rank;
  ck_assert_ev_ok(ev_ridge_sizes(r, &d, &t, &rank));
  ck_assert_uint_eq(d, D);
  ck_assert_uint_eq(t, 1);
  ck_assert_uint_eq(rank, N - 1);
  double xm[D] = {0}, ym = 0;
  for (int i = 0; i < N; i++) {
    ym += y[i] / N;
    for (int j = 0; j < D; j++) xm[j] += x[i * D + j] / (double)N;
  }
  for (int j = 0; j < D; j++) {
    double lhs = 0.7 * coef[j], rhs = 0;
    for (int i = 0; i < N; i++) {
      double xij = x[i * D + j] - xm[j], fit = 0;
      for (int k = 0; k < D; k++) fit += (x[i * D + k] - xm[k]) * coef[k];
      lhs += xij * fit;
      rhs += xij * (y[i] - ym);
    }
    ck_assert_double_eq_tol(lhs, rhs, 1e-4);
  }
  double dot = 0;
  for (int j = 0; j < D; j++) dot += xm[j] * coef[j];
  ck_assert_double_eq_tol(b, ym - dot, 1e-5);
  ev_ridge_free(r);
  free(x);
}
END_TEST

/* Choosing alpha: on an exact line the smallest alpha of the grid wins;
 * on pure noise the largest; the default grid is 10^-3 .. 10^6. GCV and
 * LOO agree on such clear cases. */
START_TEST(alpha_is_chosen_over_the_grid) {
  enum { N = 40, D = 4 };
  float *x = tu_randn(N, D, 31), *noise = tu_randn(N, 1, 32), y[N];
  for (int i = 0; i < N; i++) y[i] = 3 * x[i * D] - x[i * D + 3] + 2;
  for (int crit = EV_RIDGE_LOO; crit <= EV_RIDGE_GCV; crit++) {
    ev_ridge *r = NULL;
    double alpha, r2, r2cv;
    ck_assert_ev_ok(ev_ridge_create(&r));
    ck_assert_ev_ok(ev_ridge_set(r, EV_RIDGE_CRITERION, crit));
    ck_assert_ev_ok(ev_ridge_fit(r, x, N, D, D, y, 1, 1));
    ck_assert_ev_ok(ev_ridge_alpha(r, &alpha));
    ck_assert_double_eq_tol(alpha, 1e-3, 1e-12);
    ck_assert_ev_ok(ev_ridge_r2(r, &r2, &r2cv, 1));
    ck_assert(r2 > 0.999999 && r2cv > 0.99999);
    size_t count = 0;
    ck_assert_ev_ok(ev_ridge_cv_scores(r, NULL, NULL, &count));
    ck_assert_uint_eq(count, EV_RIDGE_DEFAULT_GRID);
    double al[EV_RIDGE_DEFAULT_GRID], sc[EV_RIDGE_DEFAULT_GRID];
    ck_assert_ev_ok(ev_ridge_cv_scores(r, al, sc, &count));
    ck_assert_double_eq_tol(al[EV_RIDGE_DEFAULT_GRID - 1], 1e6, 1e-3);
    ck_assert(sc[0] < sc[EV_RIDGE_DEFAULT_GRID - 1]);
    ck_assert_ev_ok(ev_ridge_fit(r, x, N, D, D, noise, 1, 1));
    ck_assert_ev_ok(ev_ridge_alpha(r, &alpha));
    ck_assert_double_eq_tol(alpha, 1e6, 1e-3);
    ck_assert_ev_ok(ev_ridge_r2(r, &r2, &r2cv, 1));
    ck_assert(r2cv < 0.0 && r2cv > -0.2); /* noise: no better than its mean */
    double grid[3] = {5, 0.1, 5};
    ck_assert_ev_ok(ev_ridge_set_alphas(r, grid, 3));
    ck_assert_ev_ok(ev_ridge_fit(r, x, N, D, D, y, 1, 1));
    ck_assert_ev_ok(ev_ridge_alpha(r, &alpha));
    ck_assert_double_eq(alpha, 0.1);
    ev_ridge_free(r);
  }
  free(x);
  free(noise);
}
END_TEST

START_TEST(ridge_settings_and_state) {
  double lo, hi, def;
  ck_assert_ev_ok(ev_ridge_param_bounds(EV_RIDGE_ALPHA, &lo, &hi));
  ck_assert_double_eq(lo, 0);
  ck_assert_double_eq(hi, 1e12);
  ck_assert_ev_ok(ev_ridge_param_default(EV_RIDGE_ALPHA, &def));
  ck_assert_double_eq(def, 1);
  ck_assert_ev_ok(ev_ridge_param_default(EV_RIDGE_CHOOSE_ALPHA, &def));
  ck_assert_double_eq(def, 1);
  ev_ridge *r = NULL;
  ck_assert_ev_ok(ev_ridge_create(&r));
  ck_assert_ev(ev_ridge_set(r, EV_RIDGE_ALPHA, -1), EV_ERR_ARGUMENT);
  double v;
  ck_assert_ev_ok(ev_ridge_get(r, EV_RIDGE_ALPHA, &v));
  ck_assert_double_eq(v, 1);
  float c;
  ck_assert_ev(ev_ridge_coef(r, &c, 1), EV_ERR_STATE);
  ck_assert_errmsg_has("call ev_ridge_fit");
  /* a failed fit keeps the earlier one */
  float x[4] = {0, 1, 2, 3}, y[4] = {1, 3, 5, 7};
  ck_assert_ev_ok(ev_ridge_set(r, EV_RIDGE_CHOOSE_ALPHA, 0));
  ck_assert_ev_ok(ev_ridge_fit(r, x, 4, 1, 1, y, 1, 1));
  y[2] = NAN;
  ck_assert_ev(ev_ridge_fit(r, x, 4, 1, 1, y, 1, 1), EV_ERR_NONFINITE);
  ck_assert_errmsg_has("y[2][0] is NaN");
  ck_assert_ev_ok(ev_ridge_coef(r, &c, 1));
  ck_assert_double_eq_tol(c, 10.0 / 6.0, 1e-6);
  ev_ridge_free(r);
  ev_ridge_free(NULL);
}
END_TEST

/* ---- correlation and order ---------------------------------------------- */

/* Against a two-pass computation in double, with a column far from zero
 * (mean 1e4) and a constant column (row and column 0, diagonal 1). */
START_TEST(correlation_matches_two_pass) {
  enum { N = 300, D = 6 };
  float *x = tu_randn(N, D, 41);
  for (int i = 0; i < N; i++) {
    x[i * D + 1] = 0.8f * x[i * D] + 0.6f * x[i * D + 1] + 1e4f;
    x[i * D + 3] = -x[i * D + 2] + 0.1f * x[i * D + 3];
    x[i * D + 5] = 7.0f;
  }
  float corr[D * D];
  ck_assert_ev_ok(ev_feature_correlation(x, N, D, D, corr, D));
  double m[D] = {0};
  for (int i = 0; i < N; i++)
    for (int j = 0; j < D; j++) m[j] += x[i * D + j] / (double)N;
  for (int a = 0; a < D - 1; a++)
    for (int b = 0; b < D - 1; b++) {
      double sab = 0, saa = 0, sbb = 0;
      for (int i = 0; i < N; i++) {
        double u = x[i * D + a] - m[a], v = x[i * D + b] - m[b];
        sab += u * v, saa += u * u, sbb += v * v;
      }
      ck_assert_double_eq_tol(corr[a * D + b], sab / sqrt(saa * sbb), 1e-5);
    }
  ck_assert(corr[0 * D + 1] > 0.75);
  ck_assert(corr[2 * D + 3] < -0.99);
  for (int j = 0; j < D; j++) {
    ck_assert_float_eq(corr[5 * D + j], j == 5 ? 1.0f : 0.0f);
    ck_assert_float_eq(corr[j * D + 5], j == 5 ? 1.0f : 0.0f);
  }
  free(x);
}
END_TEST

/* Features 0 and 2 go together, 1 and 3 together (a negative correlation
 * counts as alike): the order is 0 2 1 3. */
START_TEST(order_by_hand) {
  const float corr[16] = {1,   0.1f, 0.9f,  0.2f,  //
                          0.1f, 1,   0.15f, -0.95f, //
                          0.9f, 0.15f, 1,   0.1f,  //
                          0.2f, -0.95f, 0.1f, 1};
  int64_t order[4];
  ck_assert_ev_ok(ev_feature_order(corr, 4, 4, order));
  const int64_t want[4] = {0, 2, 1, 3};
  for (int i = 0; i < 4; i++) ck_assert_int_eq(order[i], want[i]);
  float bad[4] = {1, 1.5f, 1.5f, 1};
  ck_assert_ev(ev_feature_order(bad, 2, 2, order), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("outside [-1, 1]");
}
END_TEST

/* A planted block structure, features shuffled: the order is a
 * permutation in which each block's features are contiguous. */
START_TEST(order_finds_planted_blocks) {
  enum { N = 400, B = 4, PER = 6, D = B * PER };
  float *z = tu_randn(N, B, 51), *e = tu_randn(N, D, 52);
  float *x = malloc(sizeof(float) * N * D);
  int block_of[D];
  uint64_t s = 53;
  int perm[D];
  for (int j = 0; j < D; j++) perm[j] = j;
  for (int j = D - 1; j > 0; j--) {
    int k = (int)(tu_next(&s) % (uint64_t)(j + 1)), t = perm[j];
    perm[j] = perm[k], perm[k] = t;
  }
  for (int j = 0; j < D; j++) block_of[perm[j]] = j / PER;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < D; j++) {
      int col = perm[j];
      x[i * D + col] = z[i * B + j / PER] + 0.5f * e[i * D + j];
    }
  float *corr = malloc(sizeof(float) * D * D);
  int64_t order[D];
  ck_assert_ev_ok(ev_feature_correlation(x, N, D, D, corr, D));
  ck_assert_ev_ok(ev_feature_order(corr, D, D, order));
  int seen[D] = {0};
  for (int i = 0; i < D; i++) {
    ck_assert(order[i] >= 0 && order[i] < D);
    ck_assert_int_eq(seen[order[i]]++, 0);
  }
  int changes = 0;
  for (int i = 1; i < D; i++)
    changes += block_of[order[i]] != block_of[order[i - 1]];
  ck_assert_int_eq(changes, B - 1);
  free(z), free(e), free(x), free(corr);
}
END_TEST

int main(void) {
  Suite *s = suite_create("explain");
  TCase *tc = tcase_create("explain");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, contributions_sum_to_the_score);
  tcase_add_test(tc, top_contributions_are_sorted_by_magnitude);
  tcase_add_test(tc, one_feature_by_hand);
  tcase_add_test(tc, loo_score_is_leave_one_out);
  tcase_add_test(tc, fewer_rows_than_features);
  tcase_add_test(tc, alpha_is_chosen_over_the_grid);
  tcase_add_test(tc, ridge_settings_and_state);
  tcase_add_test(tc, correlation_matches_two_pass);
  tcase_add_test(tc, order_by_hand);
  tcase_add_test(tc, order_finds_planted_blocks);
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
