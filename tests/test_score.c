/* Ambiguity, margin, entropy, softmax, the most ambiguous rows and the
 * confusion matrix, on hand-computed values. */
#include "testutil.h"

/* -(0.1 ln 0.1 + 0.6 ln 0.6 + 0.3 ln 0.3) */
#define H_163 0.89794572

START_TEST(ambiguity_of_probabilities) {
  /* Row 1 is row 0 unnormalised; row 2 a tie; row 3 certain. A 4th
   * column outside the view (ld = 4) must be ignored. */
  float p[] = {0.1f, 0.6f, 0.3f, -9, 1, 6, 3, -9, 0.5f, 0.5f, 0, -9, 0, 0, 1, -9};
  float amb[4], mar[4], ent[4];
  int32_t t1[4], t2[4];
  ck_assert_ev_ok(ev_ambiguity(p, 4, 3, 4, EV_SCORE_PROBABILITIES, amb, mar,
                               ent, t1, t2));
  for (int i = 0; i < 2; i++) {
    ck_assert_float_eq_tol(amb[i], 0.5f, 1e-6);
    ck_assert_float_eq_tol(mar[i], 0.3f, 1e-6);
    ck_assert_float_eq_tol(ent[i], H_163, 1e-6);
    ck_assert_int_eq(t1[i], 1);
    ck_assert_int_eq(t2[i], 2);
  }
  ck_assert_float_eq_tol(amb[2], 1.0f, 1e-7);
  ck_assert_float_eq_tol(mar[2], 0.0f, 1e-7);
  ck_assert_float_eq_tol(ent[2], log(2.0), 1e-6);
  ck_assert_int_eq(t1[2], 0); /* tie: lower class first */
  ck_assert_int_eq(t2[2], 1);
  ck_assert_float_eq_tol(amb[3], 0.0f, 1e-7);
  ck_assert_float_eq_tol(ent[3], 0.0f, 1e-7);
  ck_assert_int_eq(t1[3], 2);
  ck_assert_int_eq(t2[3], 0);
}
END_TEST

START_TEST(ambiguity_of_logits_is_stable) {
  float l[] = {0, (float)log(6.0), (float)log(3.0),
               1000, 1000 + (float)log(2.0), -1000};
  float amb[2], ent[2];
  int32_t t1[2];
  ck_assert_ev_ok(
      ev_ambiguity(l, 2, 3, 3, EV_SCORE_LOGITS, amb, NULL, ent, t1, NULL));
  ck_assert_float_eq_tol(amb[0], 0.5f, 1e-6);
  ck_assert_float_eq_tol(ent[0], H_163, 1e-6);
  /* p ~ 1/3, 2/3, 0; the float logit 1000 + ln 2 is rounded, so compare
   * with the exact ratio of the floats given. */
  ck_assert_float_eq_tol(amb[1], exp(1000.0 - (double)l[4]), 1e-6);
  ck_assert_int_eq(t1[1], 1);
  /* entropy of (1/3, 2/3, 0): ln 3 - 2/3 ln 2, to the rounding of the
   * logit; and exactly that of the floats given */
  double r = exp((double)l[4] - 1000.0), p1 = 1 / (1 + r), p2 = r / (1 + r);
  ck_assert_float_eq_tol(ent[1], -(p1 * log(p1) + p2 * log(p2)), 1e-6);
  ck_assert_float_eq_tol(ent[1], log(3.0) - 2.0 / 3 * log(2.0), 5e-5);
}
END_TEST

START_TEST(softmax_rows_sum_to_one) {
  float l[] = {1, 2, 3, 800, 800, 800};
  float out[6];
  ck_assert_ev_ok(ev_softmax(l, 2, 3, 3, out, 3));
  double e1 = exp(-2.0), e2 = exp(-1.0), s = e1 + e2 + 1.0;
  ck_assert_float_eq_tol(out[0], e1 / s, 1e-7);
  ck_assert_float_eq_tol(out[2], 1.0 / s, 1e-7);
  for (int j = 3; j < 6; j++) ck_assert_float_eq_tol(out[j], 1.0 / 3, 1e-7);
  ck_assert_ev_ok(ev_softmax(l, 2, 3, 3, l, 3)); /* in place */
  ck_assert_float_eq_tol(l[1], e2 / s, 1e-7);
  ck_assert_ev(ev_softmax(l, 2, 3, 3, l, 4), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("in-place");
}
END_TEST

START_TEST(ambiguity_bad_input) {
  float p[] = {0.2f, 0.8f, -0.1f, 1.1f, 0, 0};
  float amb[3];
  ck_assert_ev(ev_ambiguity(p, 2, 2, 2, EV_SCORE_PROBABILITIES, amb, NULL,
                            NULL, NULL, NULL),
               EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("scores[1][0] = -0.1 is negative");
  ck_assert_ev(ev_ambiguity(p + 4, 1, 2, 2, EV_SCORE_PROBABILITIES, amb,
                            NULL, NULL, NULL, NULL),
               EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("row 0 sums to 0");
  ck_assert_ev(ev_ambiguity(p, 3, 1, 1, EV_SCORE_LOGITS, amb, NULL, NULL,
                            NULL, NULL),
               EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("at least 2");
  ck_assert_ev(ev_ambiguity(p, 1, 2, 2, 7, amb, NULL, NULL, NULL, NULL),
               EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("EV_SCORE_LOGITS");
  ck_assert_ev(ev_ambiguity(NULL, 1, 2, 2, 0, amb, NULL, NULL, NULL, NULL),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_ambiguity(p, 0, 2, 2, 0, amb, NULL, NULL, NULL, NULL),
               EV_ERR_ARGUMENT);
  p[1] = NAN;
  ck_assert_ev(ev_ambiguity(p, 1, 2, 2, EV_SCORE_LOGITS, amb, NULL, NULL,
                            NULL, NULL),
               EV_ERR_NONFINITE);
  ck_assert_errmsg_has("scores[0][1] is NaN");
  ck_assert_ev(ev_softmax(p, SIZE_MAX / 2, 2, SIZE_MAX / 4, amb, 2),
               EV_ERR_OVERFLOW);
}
END_TEST

START_TEST(most_ambiguous_partial_selection) {
  float a[] = {0.2f, 0.9f, 0.5f, 0.9f, 0.1f};
  int64_t idx[5];
  ck_assert_ev_ok(ev_most_ambiguous(a, 5, 3, idx));
  ck_assert_int_eq(idx[0], 1);
  ck_assert_int_eq(idx[1], 3);
  ck_assert_int_eq(idx[2], 2);
  ck_assert_ev_ok(ev_most_ambiguous(a, 5, 5, idx));
  int64_t want[] = {1, 3, 2, 0, 4};
  for (int i = 0; i < 5; i++) ck_assert_int_eq(idx[i], want[i]);
  ck_assert_ev_ok(ev_most_ambiguous(a, 5, 1, idx));
  ck_assert_int_eq(idx[0], 1);
}
END_TEST

START_TEST(most_ambiguous_matches_sort) {
  /* Against a full sort on random values with many ties. */
  enum { N = 2000, K = 137 };
  static float a[N];
  static int64_t got[K], order[N];
  uint64_t s = 7;
  for (int i = 0; i < N; i++) a[i] = (float)(tu_next(&s) % 50) / 50.0f;
  for (int i = 0; i < N; i++) order[i] = i;
  for (int i = 1; i < N; i++) /* insertion sort: desc value, asc index */
    for (int j = i; j > 0 && (a[order[j]] > a[order[j - 1]]); j--) {
      int64_t t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
    }
  ck_assert_ev_ok(ev_most_ambiguous(a, N, K, got));
  for (int i = 0; i < K; i++) ck_assert_int_eq(got[i], order[i]);
}
END_TEST

START_TEST(most_ambiguous_bad_input) {
  float a[] = {0.2f, NAN};
  int64_t idx[2];
  ck_assert_ev(ev_most_ambiguous(a, 2, 3, idx), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("k must be in [1, n]");
  ck_assert_ev(ev_most_ambiguous(a, 2, 0, idx), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_most_ambiguous(NULL, 2, 1, idx), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_most_ambiguous(a, 2, 1, idx), EV_ERR_NONFINITE);
  ck_assert_errmsg_has("ambiguity[1] is NaN");
}
END_TEST

START_TEST(confusion_matrix_counts) {
  int32_t yt[] = {0, 0, 1, 1, 2};
  int32_t yp[] = {0, 1, 1, 1, 0};
  int64_t cm[16];
  float acc[4];
  ck_assert_ev_ok(ev_confusion_matrix(yt, yp, 5, 3, cm, acc));
  int64_t want[] = {1, 1, 0, 0, 2, 0, 1, 0, 0};
  for (int i = 0; i < 9; i++) ck_assert_int_eq(cm[i], want[i]);
  ck_assert_float_eq_tol(acc[0], 0.5f, 1e-7);
  ck_assert_float_eq_tol(acc[1], 1.0f, 1e-7);
  ck_assert_float_eq_tol(acc[2], 0.0f, 1e-7);
  ck_assert_ev_ok(ev_confusion_matrix(yt, yp, 5, 4, cm, acc));
  ck_assert(isnan(acc[3])); /* a class with no true sample */
  ck_assert_int_eq(cm[1 * 4 + 1], 2);
}
END_TEST

START_TEST(confusion_matrix_bad_input) {
  int32_t yt[] = {0, 3};
  int32_t yp[] = {0, 1};
  int64_t cm[9];
  ck_assert_ev(ev_confusion_matrix(yt, yp, 2, 3, cm, NULL), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("y_true[1] = 3 is not a class in [0, 3)");
  yt[1] = -1;
  ck_assert_ev(ev_confusion_matrix(yt, yp, 2, 3, cm, NULL), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_confusion_matrix(yt, yp, 0, 3, cm, NULL), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_confusion_matrix(NULL, yp, 2, 3, cm, NULL), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("y_true is NULL");
  ck_assert_ev(ev_confusion_matrix(yt, yp, 2, SIZE_MAX / 4, cm, NULL),
               EV_ERR_OVERFLOW);
}
END_TEST

int main(void) {
  Suite *s = suite_create("score");
  TCase *tc = tcase_create("score");
  tcase_add_test(tc, ambiguity_of_probabilities);
  tcase_add_test(tc, ambiguity_of_logits_is_stable);
  tcase_add_test(tc, softmax_rows_sum_to_one);
  tcase_add_test(tc, ambiguity_bad_input);
  tcase_add_test(tc, most_ambiguous_partial_selection);
  tcase_add_test(tc, most_ambiguous_matches_sort);
  tcase_add_test(tc, most_ambiguous_bad_input);
  tcase_add_test(tc, confusion_matrix_counts);
  tcase_add_test(tc, confusion_matrix_bad_input);
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
