/* Map quality (trustworthiness, continuity, kNN preservation and accuracy)
 * and label issues: hand-computed cases, brute force, scikit-learn's
 * trustworthiness on the digits, and every bad input. */
#include "testutil.h"
#include "core/testhook.h"

static ev_quality *make_quality(size_t map_k) {
  ev_quality *q;
  ck_assert_ev_ok(ev_quality_create(&q));
  ck_assert_ev_ok(ev_quality_set(q, EV_QUALITY_MAP_NEIGHBORS, (double)map_k));
  return q;
}

/* Six points on a line, the map swaps the places of points 2 and 5.
 * By hand (ties by lower index, k = 2): the map neighbours' input ranks
 * beyond k add up to 3 + 3 + 2 + 2 + 1 + 2 = 13, so T = 1 - 2 / (6 * 2 *
 * 5) * 13 = 17/30; the input neighbours' map ranks give the same sum for
 * C; each row keeps one of its two neighbours (preservation 1/2); the
 * majority label of the map neighbours is right for rows 0, 1, 3. */
START_TEST(hand_computed_line) {
  float x[] = {0, 1, 2, 3, 4, 5};
  float y[] = {0, 1, 5, 3, 4, 2};
  int32_t labels[] = {0, 0, 0, 1, 1, 1};
  ev_quality *q = make_quality(2);
  double v[EV_MAP_MEASURES];
  ck_assert_ev_ok(ev_quality_map(q, x, 6, 1, 1, y, 1, 1, labels, v,
                                 EV_MAP_MEASURES));
  ck_assert_double_eq_tol(v[EV_MAP_TRUSTWORTHINESS], 17.0 / 30, 1e-15);
  ck_assert_double_eq_tol(v[EV_MAP_CONTINUITY], 17.0 / 30, 1e-15);
  ck_assert_double_eq_tol(v[EV_MAP_KNN_PRESERVATION], 0.5, 1e-15);
  ck_assert_double_eq_tol(v[EV_MAP_KNN_ACCURACY], 0.5, 1e-15);
  ev_quality_free(q);
}
END_TEST

/* A map that is the input itself keeps every neighbourhood. */
START_TEST(perfect_map_scores_one) {
  size_t n = 400, d = 20;
  float *x = tu_randn(n, d, 7);
  ev_quality *q = make_quality(10);
  double v[EV_MAP_MEASURES];
  ck_assert_ev_ok(ev_quality_map(q, x, n, d, d, x, d, d, NULL, v,
                                 EV_MAP_MEASURES));
  ck_assert_double_eq(v[EV_MAP_TRUSTWORTHINESS], 1.0);
  ck_assert_double_eq(v[EV_MAP_CONTINUITY], 1.0);
  ck_assert_double_eq(v[EV_MAP_KNN_PRESERVATION], 1.0);
  ck_assert(isnan(v[EV_MAP_KNN_ACCURACY])); /* no labels */
  ev_quality_free(q);
  free(x);
}
END_TEST

/* Brute force: every distance row sorted by (distance, index). */
static double brute_trust(const float *x, size_t n, size_t d,
                          const float *y, size_t md, size_t k) {
  double *dx = malloc(n * sizeof *dx), *dy = malloc(n * sizeof *dy);
  double s = 0;
  for (size_t i = 0; i < n; i++) {
    for (size_t l = 0; l < n; l++) {
      double a = 0, b = 0;
      for (size_t c = 0; c < d; c++) {
        double t = (double)x[i * d + c] - x[l * d + c];
        a += t * t;
      }
      for (size_t c = 0; c < md; c++) {
        double t = (double)y[i * md + c] - y[l * md + c];
        b += t * t;
      }
      dx[l] = a;
      dy[l] = b;
    }
    /* map neighbours: the k smallest dy by (value, index), self excluded */
    for (size_t l = 0; l < n; l++) {
      if (l == i) continue;
      size_t mr = 0, xr = 0;
      for (size_t u = 0; u < n; u++) {
        if (u == i) continue;
        mr += dy[u] < dy[l] || (dy[u] == dy[l] && u < l);
        xr += dx[u] < dx[l] || (dx[u] == dx[l] && u < l);
      }
      if (mr < k && xr + 1 > k) s += (double)(xr + 1 - k);
    }
  }
  free(dx);
  free(dy);
  return 1 - s * 2.0 / ((double)n * k * (2.0 * n - 3.0 * k - 1.0));
}

/* The SGEMM path (40 columns) and the direct path (3 columns) count the
 * same ranks as a brute-force sort, with exact ties: integer data and
 * duplicated rows. */
START_TEST(ranks_match_brute_force) {
  size_t n = 300;
  for (size_t d = 3; d <= 40; d += 37) {
    float *x = tu_randn(n, d, 11 + d), *y = tu_randn(n, 2, 12);
    for (size_t a = 0; a < n * d; a++) x[a] = roundf(2 * x[a]);
    memcpy(x + 10 * d, x + 20 * d, d * sizeof *x); /* a duplicate row */
    for (size_t k = 1; k <= 20; k += 19) {
      ev_quality *q = make_quality(k);
      double v, want = brute_trust(x, n, d, y, 2, k);
      ck_assert_ev_ok(ev_quality_map(q, x, n, d, d, y, 2, 2, NULL, &v, 1));
      ck_assert_double_eq_tol(v, want, 1e-12);
      /* the row-wise SGEMM pass, which runs when the symmetric pass's
       * per-thread counts would not fit its budget */
      size_t budget = ev__test_rank_count_budget;
      ev__test_rank_count_budget = 0;
      ck_assert_ev_ok(ev_quality_map(q, x, n, d, d, y, 2, 2, NULL, &v, 1));
      ev__test_rank_count_budget = budget;
      ck_assert_double_eq_tol(v, want, 1e-12);
      ev_quality_free(q);
    }
    free(x);
    free(y);
  }
}
END_TEST

static void *read_fixture(const char *dir, const char *name, size_t bytes) {
  char path[512];
  const char *slash = strrchr(__FILE__, '/');
  snprintf(path, sizeof path, "%.*sdata/%s/%s",
           slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__, dir, name);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s (run from the source tree)", path);
  void *buf = calloc(1, bytes + 1);
  size_t got = fread(buf, 1, bytes, f);
  fclose(f);
  ck_assert_msg(got == bytes || bytes > 4096, "short read of %s", path);
  return buf;
}

/* scikit-learn's trustworthiness of a t-SNE map of the digits
 * (tests/ref/quality_digits.py): equal to 1e-6 (ties of the integer
 * pixels are ordered differently, see quality.h). */
START_TEST(digits_match_scikit_learn) {
  enum { N = 1797, D = 64 };
  unsigned char *px = read_fixture("knn", "digits_u8.bin", N * D);
  float *map = read_fixture("quality", "digits_tsne.f32", N * 2 * sizeof(float));
  char *text = read_fixture("quality", "digits_trust.txt", 8192);
  float *x = malloc(N * D * sizeof *x);
  for (size_t a = 0; a < N * D; a++) x[a] = px[a];
  int lines = 0;
  for (char *at = text; *at;) {
    int k;
    double want;
    int used;
    if (sscanf(at, "%d %lf%n", &k, &want, &used) != 2) break;
    at += used;
    ev_quality *q = make_quality((size_t)k);
    double v;
    ck_assert_ev_ok(ev_quality_map(q, x, N, D, D, map, 2, 2, NULL, &v, 1));
    ck_assert_msg(fabs(v - want) <= 1e-6, "k=%d: %.9f, scikit-learn %.9f", k,
                  v, want);
    ev_quality_free(q);
    lines++;
    /* under memcheck (tu_small) the first k only: the others take the
     * same accesses with another k */
    if (tu_small()) break;
  }
  ck_assert_int_eq(lines, (int)tu_size(3, 1));
  free(px);
  free(map);
  free(text);
  free(x);
}
END_TEST

/* Three clusters of 20 points; point 7 of cluster 0 is labelled 1. */
enum { CN = 60, CC = 3, FOREIGN = 7 };
static void clusters(float *feat, int32_t *labels, float *probs) {
  uint64_t s = 3;
  for (int i = 0; i < CN; i++) {
    int c = i / 20;
    feat[2 * i] = (float)(10 * c + tu_normal(&s));
    feat[2 * i + 1] = (float)(10 * (c % 2) + tu_normal(&s));
    labels[i] = i == FOREIGN ? 1 : c;
    for (int j = 0; j < CC; j++) probs[i * CC + j] = j == c ? 0.9f : 0.05f;
  }
}

static void check_foreign_first(const float *ev, const int32_t *sug) {
  int64_t order[CN];
  size_t count;
  ck_assert_ev_ok(ev_quality_rank_issues(ev, CN, EV_ISSUE_FIELDS, 0, order,
                                         &count));
  ck_assert_uint_eq(count, CN);
  ck_assert_int_eq(order[0], FOREIGN);
  ck_assert_ev_ok(ev_quality_rank_issues(ev, CN, EV_ISSUE_FIELDS, 1, order,
                                         &count));
  ck_assert_uint_eq(count, 1); /* confident learning flags only it */
  ck_assert_int_eq(order[0], FOREIGN);
  ck_assert_int_eq(sug[FOREIGN], 0);
  ck_assert_float_eq(ev[FOREIGN * EV_ISSUE_FIELDS + EV_ISSUE_FLAGGED], 1);
}

START_TEST(foreign_label_ranks_first) {
  float feat[CN * 2], probs[CN * CC], ev[CN * EV_ISSUE_FIELDS];
  int32_t labels[CN], sug[CN];
  clusters(feat, labels, probs);
  ev_quality *q;
  ck_assert_ev_ok(ev_quality_create(&q));
  /* from the probabilities: score 1 - p(given) = 0.95, margin -0.85 */
  ck_assert_ev_ok(ev_quality_label_issues(q, labels, CN, CC, probs, CC, NULL,
                                          0, 0, ev, EV_ISSUE_FIELDS, sug));
  const float *e = ev + FOREIGN * EV_ISSUE_FIELDS;
  ck_assert_float_eq_tol(e[EV_ISSUE_SCORE], 0.95f, 1e-6);
  ck_assert_float_eq_tol(e[EV_ISSUE_SELF_CONFIDENCE], 0.05f, 1e-6);
  ck_assert_float_eq_tol(e[EV_ISSUE_MARGIN], -0.85f, 1e-6);
  ck_assert(isnan(e[EV_ISSUE_NEIGHBOR_DISAGREEMENT]));
  ck_assert_float_eq_tol(ev[0 * EV_ISSUE_FIELDS + EV_ISSUE_MARGIN], 0.85f, 1e-6);
  check_foreign_first(ev, sug);
  /* from the features alone: all 10 neighbours carry label 0 */
  ck_assert_ev_ok(ev_quality_label_issues(q, labels, CN, CC, NULL, 0, feat, 2,
                                          2, ev, EV_ISSUE_FIELDS, sug));
  ck_assert_float_eq(e[EV_ISSUE_NEIGHBOR_DISAGREEMENT], 1.0f);
  ck_assert_float_eq(e[EV_ISSUE_SCORE], 1.0f);
  ck_assert(isnan(e[EV_ISSUE_SELF_CONFIDENCE]));
  check_foreign_first(ev, sug);
  /* both: no neighbour has the given label (count 0 of k = 10, c = 3
   * classes), so the score is 1 - sqrt(0.05 * (0 + 1) / (10 + 3)); the
   * product P ∝ (0.9 * 11, 0.05 * 1, 0.05 * 1) suggests class 0 */
  ck_assert_ev_ok(ev_quality_label_issues(q, labels, CN, CC, probs, CC, feat,
                                          2, 2, ev, EV_ISSUE_FIELDS, sug));
  ck_assert_float_eq_tol(e[EV_ISSUE_SCORE], 1 - sqrt(0.05 / 13.0), 1e-6);
  /* a row of its cluster: every neighbour shares its label (count 10) */
  ck_assert_float_eq_tol(ev[0 * EV_ISSUE_FIELDS + EV_ISSUE_SCORE],
                         1 - sqrt(probs[0 * CC + labels[0]] * 11.0 / 13.0), 1e-6);
  check_foreign_first(ev, sug);
  ev_quality_free(q);
}
END_TEST

/* Logits give the evidence of their softmax. */
START_TEST(logits_with_the_flag) {
  float feat[CN * 2], probs[CN * CC], logits[CN * CC];
  float a[CN * EV_ISSUE_FIELDS], b[CN * EV_ISSUE_FIELDS];
  int32_t labels[CN];
  clusters(feat, labels, probs);
  for (int i = 0; i < CN * CC; i++) logits[i] = logf(probs[i]) + 3.0f;
  ev_quality *q;
  ck_assert_ev_ok(ev_quality_create(&q));
  ck_assert_ev_ok(ev_quality_label_issues(q, labels, CN, CC, probs, CC, NULL,
                                          0, 0, a, EV_ISSUE_FIELDS, NULL));
  ck_assert_ev(ev_quality_label_issues(q, labels, CN, CC, logits, CC, NULL,
                                       0, 0, b, EV_ISSUE_FIELDS, NULL),
               EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("EV_SCORE_LOGITS");
  ck_assert_ev_ok(ev_quality_set(q, EV_QUALITY_SCORES, EV_SCORE_LOGITS));
  ck_assert_ev_ok(ev_quality_label_issues(q, labels, CN, CC, logits, CC, NULL,
                                          0, 0, b, EV_ISSUE_FIELDS, NULL));
  for (int i = 0; i < CN * EV_ISSUE_FIELDS; i++)
    if (!(isnan(a[i]) && isnan(b[i]))) /* no features: disagreement NaN */
      ck_assert_float_eq_tol(a[i], b[i], 1e-6);
  ev_quality_free(q);
}
END_TEST

START_TEST(settings_table) {
  double lo, hi, def;
  ck_assert_ev_ok(ev_quality_param_default(EV_QUALITY_MAP_NEIGHBORS, &def));
  ck_assert_double_eq(def, 5);
  ck_assert_ev_ok(ev_quality_param_default(EV_QUALITY_ISSUE_NEIGHBORS, &def));
  ck_assert_double_eq(def, 10);
  ck_assert_ev_ok(ev_quality_param_bounds(EV_QUALITY_METRIC, &lo, &hi));
  ck_assert_double_eq(hi, 5);
  ev_quality *q;
  ck_assert_ev_ok(ev_quality_create(&q));
  ck_assert_ev(ev_quality_set(q, EV_QUALITY_MAP_NEIGHBORS, 0), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_quality_set(q, EV_QUALITY_SCORES, 2), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_quality_set(q, (ev_quality_param)99, 1), EV_ERR_ARGUMENT);
  ck_assert_ev_ok(ev_quality_get(q, EV_QUALITY_MAP_NEIGHBORS, &def));
  ck_assert_double_eq(def, 5);
  ev_quality_free(q);
  ev_quality_free(NULL);
}
END_TEST

START_TEST(map_bad_input) {
  size_t n = 20;
  float *x = tu_randn(n, 3, 1), *y = tu_randn(n, 2, 2);
  int32_t labels[20] = {0};
  double v[EV_MAP_MEASURES] = {-7, -7, -7, -7};
  ev_quality *q = make_quality(10);
  ck_assert_ev(ev_quality_map(q, x, n, 3, 3, y, 2, 2, NULL, v, 4),
               EV_ERR_ARGUMENT); /* k = n / 2 */
  ck_assert_errmsg_has("fewer than n / 2");
  ck_assert_ev_ok(ev_quality_set(q, EV_QUALITY_MAP_NEIGHBORS, 3));
  ck_assert_ev(ev_quality_map(NULL, x, n, 3, 3, y, 2, 2, NULL, v, 4),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_quality_map(q, NULL, n, 3, 3, y, 2, 2, NULL, v, 4),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_quality_map(q, x, n, 3, 3, y, 2, 2, NULL, NULL, 4),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_quality_map(q, x, n, 3, 3, y, 2, 2, NULL, v, 5),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_quality_map(q, x, n, 3, 2, y, 2, 2, NULL, v, 4),
               EV_ERR_ARGUMENT); /* ld < dim */
  labels[4] = -1;
  ck_assert_ev(ev_quality_map(q, x, n, 3, 3, y, 2, 2, labels, v, 4),
               EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("labels[4]");
  y[2 * 5 + 1] = NAN;
  ck_assert_ev(ev_quality_map(q, x, n, 3, 3, y, 2, 2, NULL, v, 4),
               EV_ERR_NONFINITE);
  ck_assert_errmsg_has("map");
  y[2 * 5 + 1] = 0;
  x[3 * 3] = INFINITY;
  ck_assert_ev(ev_quality_map(q, x, n, 3, 3, y, 2, 2, NULL, v, 4),
               EV_ERR_NONFINITE);
  for (int m = 0; m < 4; m++) ck_assert_double_eq(v[m], -7); /* untouched */
  ev_quality_free(q);
  free(x);
  free(y);
}
END_TEST

START_TEST(issues_bad_input) {
  float feat[CN * 2], probs[CN * CC], ev[CN * EV_ISSUE_FIELDS];
  int32_t labels[CN], sug[CN];
  clusters(feat, labels, probs);
  for (int i = 0; i < CN * EV_ISSUE_FIELDS; i++) ev[i] = -7;
  for (int i = 0; i < CN; i++) sug[i] = -7;
  ev_quality *q;
  ck_assert_ev_ok(ev_quality_create(&q));
#define ISSUES(lab, n, c, p, f, lde) \
  ev_quality_label_issues(q, lab, n, c, p, CC, f, 2, 2, ev, lde, sug)
  ck_assert_ev(ISSUES(labels, CN, CC, NULL, NULL, 5), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("both NULL");
  ck_assert_ev(ISSUES(NULL, CN, CC, probs, NULL, 5), EV_ERR_ARGUMENT);
  ck_assert_ev(ISSUES(labels, 1, CC, probs, NULL, 5), EV_ERR_ARGUMENT);
  ck_assert_ev(ISSUES(labels, CN, 1, probs, NULL, 5), EV_ERR_ARGUMENT);
  ck_assert_ev(ISSUES(labels, CN, CC, probs, NULL, 4), EV_ERR_ARGUMENT);
  labels[9] = 3; /* outside [0, 3) */
  ck_assert_ev(ISSUES(labels, CN, CC, probs, NULL, 5), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("labels[9] is 3, outside [0, 3)");
  labels[9] = 0;
  probs[4 * CC] = 0.5f; /* row 4 sums to 0.6 */
  ck_assert_ev(ISSUES(labels, CN, CC, probs, NULL, 5), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("row 4 of scores sums to 0.6, not 1");
  probs[4 * CC] = -0.1f;
  ck_assert_ev(ISSUES(labels, CN, CC, probs, NULL, 5), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("negative");
  probs[4 * CC] = NAN;
  ck_assert_ev(ISSUES(labels, CN, CC, probs, NULL, 5), EV_ERR_NONFINITE);
  probs[4 * CC] = 0.9f;
  feat[11] = NAN;
  ck_assert_ev(ISSUES(labels, CN, CC, NULL, feat, 5), EV_ERR_NONFINITE);
  ck_assert_errmsg_has("features");
  feat[11] = 0;
  ck_assert_ev_ok(ev_quality_set(q, EV_QUALITY_ISSUE_NEIGHBORS, CN));
  ck_assert_ev(ISSUES(labels, CN, CC, NULL, feat, 5), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("it must be below n");
#undef ISSUES
  for (int i = 0; i < CN * EV_ISSUE_FIELDS; i++) ck_assert_float_eq(ev[i], -7);
  for (int i = 0; i < CN; i++) ck_assert_int_eq(sug[i], -7);
  int64_t order[CN];
  size_t count = 99;
  ev[0] = NAN;
  ck_assert_ev(ev_quality_rank_issues(ev, CN, 5, 0, order, &count),
               EV_ERR_NONFINITE);
  ck_assert_ev(ev_quality_rank_issues(ev, CN, 4, 0, order, &count),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_quality_rank_issues(ev, CN, 5, 0, NULL, &count),
               EV_ERR_ARGUMENT);
  ck_assert_uint_eq(count, 99);
  ev_quality_free(q);
}
END_TEST

int main(void) {
  Suite *s = suite_create("quality");
  TCase *tc = tcase_create("quality");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, hand_computed_line);
  tcase_add_test(tc, perfect_map_scores_one);
  tcase_add_test(tc, ranks_match_brute_force);
  tcase_add_test(tc, digits_match_scikit_learn);
  tcase_add_test(tc, foreign_label_ranks_first);
  tcase_add_test(tc, logits_with_the_flag);
  tcase_add_test(tc, settings_table);
  tcase_add_test(tc, map_bad_input);
  tcase_add_test(tc, issues_bad_input);
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
