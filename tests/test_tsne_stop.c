/* t-SNE's stopping rules follow scikit-learn's _gradient_descent (issue 15):
 * checks every 50 iterations only, min_grad_norm ending a phase (the
 * exaggeration phase's end starts the second phase, it does not end the
 * fit), n_iter_without_progress in the second phase only. Before, the fit
 * ended the first time the gradient was small, also during the
 * exaggeration, and uniform data stopped after 29 iterations on one spot. */
#include "testutil.h"

/* n x 10 uniform floats in [0, 1), seed 15 + n: tests/ref/tsne_uniform.py
 * makes the same numbers for scikit-learn. */
static float *uniform(size_t n) {
  uint64_t s = 15 + n;
  float *x = malloc(n * 10 * sizeof *x);
  for (size_t i = 0; i < n * 10; i++) x[i] = (float)tu_uniform(&s);
  return x;
}

/* Standard deviation of all the map's coordinates (scikit-learn's y.std()). */
static double spread(const ev_tsne *t, size_t n) {
  float *y = malloc(n * 2 * sizeof *y);
  ck_assert_ev_ok(ev_tsne_embedding(t, y, 2));
  double m = 0, v = 0;
  for (size_t i = 0; i < 2 * n; i++) m += y[i];
  m /= (double)(2 * n);
  for (size_t i = 0; i < 2 * n; i++) v += (y[i] - m) * (y[i] - m);
  free(y);
  return sqrt(v / (double)(2 * n));
}

static ev_tsne *fit(size_t n, const float *x) {
  ev_tsne *t;
  ck_assert_ev_ok(ev_tsne_create(&t));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_BARNES_HUT));
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, 10, 10));
  return t;
}

/* scikit-learn (Debian's python3-sklearn; tests/ref/tsne_uniform.py prints
 * these) on the same data, defaults, Barnes-Hut: it runs its 1,000
 * iterations and ends with KL 1.0089 (200 rows), 1.9588 (1,000), 2.5819
 * (3,000) and spreads 5.80, 16.5, 25.7. Ours: 1,000 iterations, KL 1.9620
 * at 1,000 rows and 2.5808 at 3,000, spreads 18.2 and 29.3. The maps
 * differ in their random details (kNN ties, PCA signs, summation order).
 * At 200 rows one map's details weigh most: the KL depends on which local
 * optimum the descent finds, and that changes with the processor (libm's
 * and OpenBLAS's code paths move the PCA start in its last bits): ours was
 * 1.0306 on an Intel Xeon and is 1.1103 on an AMD EPYC. scikit-learn's own
 * KL at 200 rows spans 1.002 to 1.072 over random_state 0 to 5, ours with
 * a random start 1.002 to 1.100 over 8 seeds. So the KL is asserted within
 * 4 % of scikit-learn's at 1,000 and 3,000 rows and within 12 % at 200,
 * and the spread within 0.8 to 1.25 times; a fit stopped early is far
 * outside both (29 iterations left a KL above 3 and a spread of 1e-8). */
static const struct {
  size_t n;
  double kl, kl_tol, spread;
} sklearn_uniform[] = {{200, 1.0089, 0.12, 5.80}, {1000, 1.9588, 0.04, 16.5},
                       {3000, 2.5819, 0.04, 25.7}};

START_TEST(uniform_data_runs_its_iterations) {
  size_t n = sklearn_uniform[_i].n;
  float *x = uniform(n);
  ev_tsne *t = fit(n, x);
  size_t iters;
  double kl;
  ck_assert_ev_ok(ev_tsne_n_iter(t, &iters));
  ck_assert_ev_ok(ev_tsne_kl_divergence(t, &kl));
  ck_assert_uint_eq(iters, 1000);
  double sk = sklearn_uniform[_i].kl, s = spread(t, n);
  ck_assert_msg(fabs(kl - sk) < sklearn_uniform[_i].kl_tol * sk,
                "n = %zu: KL %.4f, scikit-learn %.4f", n, kl, sk);
  ck_assert_msg(s > 0.8 * sklearn_uniform[_i].spread &&
                    s < 1.25 * sklearn_uniform[_i].spread,
                "n = %zu: spread %.3f, scikit-learn %.3f", n, s,
                sklearn_uniform[_i].spread);
  ev_tsne_free(t);
  free(x);
}
END_TEST

/* A min_grad_norm no gradient is below the first check (iteration 50):
 * it ends the exaggeration phase there, the second phase starts at once,
 * and its first check (iteration 100) ends the fit. Exactly 100
 * iterations: the rule is looked at only every 50. */
START_TEST(gradient_rule_ends_each_phase_at_a_check) {
  size_t n = 200, iters;
  float *x = uniform(n);
  ev_tsne *t;
  ck_assert_ev_ok(ev_tsne_create(&t));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_MIN_GRAD_NORM, 1e300));
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, 10, 10));
  ck_assert_ev_ok(ev_tsne_n_iter(t, &iters));
  ck_assert_uint_eq(iters, 100);
  /* 0 turns the rule off */
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_MIN_GRAD_NORM, 0));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 400));
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, 10, 10));
  ck_assert_ev_ok(ev_tsne_n_iter(t, &iters));
  ck_assert_uint_eq(iters, 400);
  ev_tsne_free(t);
  free(x);
}
END_TEST

/* n_iter_without_progress: a window of 0 ends the second phase at the
 * first check whose KL is not below the best so far, always at a multiple
 * of 50 after the exaggeration; it never ends the exaggeration phase (500
 * iterations here). A huge window runs every iteration. */
START_TEST(progress_rule_applies_after_exaggeration) {
  size_t n = 300, iters;
  float *x = uniform(n);
  ev_tsne *t;
  ck_assert_ev_ok(ev_tsne_create(&t));
  double v;
  ck_assert_ev_ok(ev_tsne_get(t, EV_TSNE_N_ITER_WITHOUT_PROGRESS, &v));
  ck_assert_double_eq(v, 300);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER_WITHOUT_PROGRESS, 0));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_EXAGGERATION_ITERATIONS, 500));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 3000));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_BARNES_HUT));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_LEARNING_RATE, 200));
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, 10, 10));
  ck_assert_ev_ok(ev_tsne_n_iter(t, &iters));
  ck_assert_uint_gt(iters, 550); /* a second check is needed to see none */
  ck_assert_uint_lt(iters, 3000);
  ck_assert_uint_eq(iters % 50, 0);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER_WITHOUT_PROGRESS, 1e9));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 1200));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_MIN_GRAD_NORM, 0));
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, 10, 10));
  ck_assert_ev_ok(ev_tsne_n_iter(t, &iters));
  ck_assert_uint_eq(iters, 1200);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_N_ITER_WITHOUT_PROGRESS, -1),
               EV_ERR_ARGUMENT);
  ev_tsne_free(t);
  free(x);
}
END_TEST

static Suite *stop_suite(void) {
  Suite *s = suite_create("tsne_stop");
  TCase *tc = tcase_create("stop");
  tcase_set_timeout(tc, 600);
  /* under ASan (tu_small; memcheck leaves this program out) the 200 and
   * 1,000 rows: the 3,000 run takes the same paths and was 60 % of the
   * program's 25 s of CPU there */
  tcase_add_loop_test(tc, uniform_data_runs_its_iterations, 0,
                      tu_small() ? 2 : sizeof sklearn_uniform / sizeof *sklearn_uniform);
  tcase_add_test(tc, gradient_rule_ends_each_phase_at_a_check);
  tcase_add_test(tc, progress_rule_applies_after_exaggeration);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run(stop_suite()) ? EXIT_FAILURE : EXIT_SUCCESS; }
