/* Inputs at the edges that used to give a wrong answer with EV_OK, or a
 * message that did not help (issue 15): PCA of data near the float range,
 * whitening a rank-deficient fit, t-SNE of huge values, a self query on one
 * row, .npy headers with a fortran_order that is neither True nor False,
 * labels outside the classes, and messages longer than the buffer. */
#include <unistd.h>

#include "core/testhook.h"
#include "testutil.h"

/* Values near 1e30: finite, but their squares pass float's 3.4e38. The
 * SVD and randomized solvers returned explained_variance_[0] = inf with
 * EV_OK; every solver now refuses with EV_ERR_NONFINITE (or, the
 * covariance solver, EV_ERR_OVERFLOW as before) and says to scale. */
START_TEST(pca_results_beyond_float_range_refused) {
  size_t n = 600, d = 8;
  float *x = tu_randn(n, d, 15);
  for (size_t i = 0; i < n * d; i++) x[i] *= 1e30f;
  static const int solvers[] = {EV_PCA_SOLVER_SVD, EV_PCA_SOLVER_RANDOMIZED};
  for (size_t s = 0; s < 2; s++) {
    ev_pca *pca;
    ck_assert_ev_ok(ev_pca_create(&pca));
    ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_SOLVER, solvers[s]));
    ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_N_COMPONENTS, 2));
    ck_assert_ev(ev_pca_fit(pca, x, n, d, d), EV_ERR_NONFINITE);
    ck_assert_errmsg_has("explained variance of component 1 is not finite");
    ck_assert_errmsg_has("scale the data down");
    size_t k;
    ck_assert_ev(ev_pca_n_components(pca, &k), EV_ERR_STATE); /* no fit */
    ev_pca_free(pca);
  }
  /* the same data scaled down fit, with finite variances */
  for (size_t i = 0; i < n * d; i++) x[i] *= 1e-30f;
  ev_pca *pca;
  ck_assert_ev_ok(ev_pca_create(&pca));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_SOLVER, EV_PCA_SOLVER_SVD));
  ck_assert_ev_ok(ev_pca_fit(pca, x, n, d, d));
  float var[8];
  ck_assert_ev_ok(ev_pca_explained_variance(pca, var));
  ck_assert(isfinite(var[0]) && var[0] > 0.5f && var[0] < 2.0f);
  ev_pca_free(pca);
  free(x);
}
END_TEST

/* Two rows have one direction of variance; the second component's
 * variance is rounding noise (about 1e-14 of the first). Whitening divided
 * the noise scores by its square root, giving scores of order 1; the
 * header promises 0 for a component without variance. */
START_TEST(whitening_rank_deficient_gives_zero) {
  float x[2 * 3] = {1.0f, 2.0f, 3.5f, -0.5f, 4.0f, 1.25f};
  ev_pca *pca;
  ck_assert_ev_ok(ev_pca_create(&pca));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_WHITEN, 1));
  static const int solvers[] = {EV_PCA_SOLVER_COVARIANCE, EV_PCA_SOLVER_SVD};
  for (size_t s = 0; s < 2; s++) {
    ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_SOLVER, solvers[s]));
    ck_assert_ev_ok(ev_pca_fit(pca, x, 2, 3, 3));
    size_t k;
    ck_assert_ev_ok(ev_pca_n_components(pca, &k));
    ck_assert_uint_eq(k, 2);
    float scores[4];
    ck_assert_ev_ok(ev_pca_transform(pca, x, 2, 3, 3, scores, 2));
    /* the real component, whitened: +-1 / sqrt(2) * sqrt(n - 1) = +-0.707 */
    ck_assert_float_eq_tol(fabsf(scores[0]), 0.70710678f, 1e-5f);
    ck_assert_float_eq_tol(scores[0], -scores[2], 1e-5f);
    ck_assert_msg(scores[1] == 0.0f && scores[3] == 0.0f,
                  "solver %d: scores of the zero-variance component %g, %g",
                  solvers[s], scores[1], scores[3]);
  }
  ev_pca_free(pca);
}
END_TEST

/* t-SNE of values near 1e30: the caller asked for no PCA, so the message
 * says the PCA is t-SNE's default initialisation and what to do. */
START_TEST(tsne_huge_values_message_names_initialisation) {
  size_t n = 100, d = 5;
  float *x = tu_randn(n, d, 16);
  for (size_t i = 0; i < n * d; i++) x[i] *= 1e30f;
  ev_tsne *t;
  ck_assert_ev_ok(ev_tsne_create(&t));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 50));
  ev_status st = ev_tsne_fit(t, x, n, d, d);
  ck_assert_msg(st == EV_ERR_OVERFLOW || st == EV_ERR_NONFINITE,
                "status %s", ev_status_name(st));
  ck_assert_errmsg_has("t-SNE's default initialisation, a PCA of x");
  ck_assert_errmsg_has("EV_TSNE_INIT_RANDOM");
  ck_assert_msg(strncmp(ev_last_error(), "the PCA", 7) != 0, "%s",
                ev_last_error());
  ev_tsne_free(t);
  free(x);
}
END_TEST

/* A self query on a one-row index asked for "at most 0 neighbours". */
START_TEST(self_query_on_one_row_says_two_rows) {
  float x[3] = {1, 2, 3};
  ev_knn *k;
  ck_assert_ev_ok(ev_knn_create(&k));
  ck_assert_ev_ok(ev_knn_build(k, x, 1, 3, 3));
  int64_t idx[1];
  float dist[1];
  ck_assert_ev(ev_knn_query_self(k, 1, idx, 1, dist, 1), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("needs an index of at least 2 rows");
  ck_assert_msg(strstr(ev_last_error(), "at most 0") == NULL, "%s",
                ev_last_error());
  ev_knn_free(k);
}
END_TEST

/* The covariance solver's memory is 12 d^2 bytes whatever n is: "process
 * fewer rows" could not help. */
START_TEST(covariance_nomem_advice_fits_its_memory) {
  size_t n = 50, d = 40;
  float *x = tu_randn(n, d, 17);
  ev_pca *pca;
  ck_assert_ev_ok(ev_pca_create(&pca));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_SOLVER, EV_PCA_SOLVER_COVARIANCE));
  /* each allocation of the fit made to fail in turn, until the
   * solver's own */
  int seen = 0;
  for (long a = 0; !seen; a++) {
    ev__test_fail_alloc(a, 0);
    ev_status st = ev_pca_fit(pca, x, n, d, d);
    ev__test_fail_alloc(-1, 0);
    ck_assert_int_eq(st, EV_ERR_NOMEM);
    seen = strstr(ev_last_error(), "covariance solver") != NULL;
  }
  ck_assert_errmsg_has("d = 40 features");
  ck_assert_errmsg_has("reduce the number of features d");
  ck_assert_msg(strstr(ev_last_error(), "fewer rows") == NULL, "%s",
                ev_last_error());
  ev_pca_free(pca);
  free(x);
}
END_TEST

/* 'fortran_order': Yes (or anything but True / False) was read as C
 * order. */
START_TEST(npy_fortran_order_must_be_a_bool) {
  char path[] = "/tmp/ev_degenerate_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  static const char *const values[] = {"Yes", "1", "true", "Falsey"};
  for (size_t v = 0; v < 4; v++) {
    char dict[128], head[128];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '<f4', 'fortran_order': %s, 'shape': (2, "
                     "2), }",
                     values[v]);
    memset(head, ' ', sizeof head);
    memcpy(head, "\x93NUMPY\x01\x00\x76\x00", 10);
    memcpy(head + 10, dict, (size_t)n);
    head[127] = '\n';
    float data[4] = {1, 2, 3, 4};
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    ck_assert_int_eq(pwrite(fd, head, 128, 0), 128);
    ck_assert_int_eq(pwrite(fd, data, 16, 128), 16);
    ev_array *a = NULL;
    ck_assert_ev(ev_npy_read(path, &a), EV_ERR_FORMAT);
    char want[64];
    snprintf(want, sizeof want, "'fortran_order' is %s, not True or False",
             values[v]);
    ck_assert_errmsg_has(want);
    ck_assert_ptr_null(a);
  }
  close(fd);
  unlink(path);
}
END_TEST

/* The C API takes int32 labels, so a NaN label cannot reach it as such; a
 * binding that casts a float NaN to int32 gets INT32_MIN (numpy's cast on
 * x86), which is refused naming the position: it is never dropped. */
START_TEST(confusion_label_outside_classes_refused) {
  int32_t truth[4] = {0, 1, INT32_MIN, 1}, pred[4] = {0, 1, 1, 1};
  int64_t counts[4];
  float acc[2];
  ck_assert_ev(ev_confusion_matrix(truth, pred, 4, 2, counts, acc),
               EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("[2]");
}
END_TEST

/* A message longer than the 1,023 characters kept ends at a word with
 * "...", not mid-word; a single long word is cut whole-character. */
START_TEST(long_messages_end_cleanly) {
  char path[1400];
  size_t o = 0;
  o += (size_t)snprintf(path, sizeof path, "/nonexistent");
  while (o < 1300) o += (size_t)snprintf(path + o, sizeof path - o, "/folder name");
  ev_array *a;
  ck_assert_ev(ev_npy_read(path, &a), EV_ERR_NOT_FOUND);
  const char *m = ev_last_error();
  size_t len = strlen(m);
  ck_assert_uint_le(len, 1023);
  ck_assert_uint_gt(len, 900);
  ck_assert_str_eq(m + len - 3, "...");
  /* what comes before "..." is the start of the full text, ending with a
   * whole word: "name" or "/folder" */
  ck_assert_int_eq(strncmp(m, path, len - 3), 0);
  ck_assert_msg(strncmp(m + len - 7, "name", 4) == 0 ||
                    strncmp(m + len - 10, "/folder", 7) == 0,
                "ends mid-word: %s", m + len - 20);
  /* one long word: cut at the end of the buffer, still "..." */
  memset(path, 'x', 1300);
  path[0] = '/';
  path[1300] = 0;
  ck_assert_int_ne(ev_npy_read(path, &a), EV_OK); /* ENAMETOOLONG: IO */
  m = ev_last_error();
  ck_assert_uint_eq(strlen(m), 1023);
  ck_assert_str_eq(m + 1020, "...");
}
END_TEST

static Suite *degenerate_suite(void) {
  Suite *s = suite_create("degenerate");
  TCase *tc = tcase_create("degenerate");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, pca_results_beyond_float_range_refused);
  tcase_add_test(tc, whitening_rank_deficient_gives_zero);
  tcase_add_test(tc, tsne_huge_values_message_names_initialisation);
  tcase_add_test(tc, self_query_on_one_row_says_two_rows);
  tcase_add_test(tc, covariance_nomem_advice_fits_its_memory);
  tcase_add_test(tc, npy_fortran_order_must_be_a_bool);
  tcase_add_test(tc, confusion_label_outside_classes_refused);
  tcase_add_test(tc, long_messages_end_cleanly);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run(degenerate_suite()) ? EXIT_FAILURE : EXIT_SUCCESS;
}
