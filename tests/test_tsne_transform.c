/* ev_tsne_transform: training rows land on their own places, new rows of a
 * cluster land in that cluster, same bits twice, cancel, the refusals. */
#include "core/testhook.h"
#include "testutil.h"

/* Squared distance between rows i of a and j of b (dims columns). */
static double dist2(const float *a, size_t i, const float *b, size_t j,
                    size_t dims) {
  double s = 0;
  for (size_t c = 0; c < dims; c++) {
    double t = (double)a[i * dims + c] - b[j * dims + c];
    s += t * t;
  }
  return s;
}

/* Fraction of the m points q whose k nearest map points y (n of them) are
 * mostly (> k / 2) of the point's own label. */
static double knn_vote_accuracy(const float *q, const int *ql, size_t m,
                                const float *y, const int *yl, size_t n,
                                size_t dims, size_t k) {
  size_t good = 0;
  double *d = malloc(n * sizeof *d);
  for (size_t i = 0; i < m; i++) {
    for (size_t j = 0; j < n; j++) d[j] = dist2(q, i, y, j, dims);
    size_t same = 0;
    for (size_t r = 0; r < k; r++) {
      size_t best = 0;
      for (size_t j = 1; j < n; j++)
        if (d[j] < d[best]) best = j;
      same += yl[best] == ql[i];
      d[best] = INFINITY;
    }
    good += 2 * same > k;
  }
  free(d);
  return (double)good / (double)m;
}

/* A fitted handle on 4 blobs of `per` rows in 10 dimensions. */
static ev_tsne *fitted_blobs(int method, size_t dims, size_t per, float **x,
                             int *labels, float **y) {
  size_t n = 4 * per, d = 10;
  *x = tu_blobs(4, per, d, 6.0, labels, 21);
  ev_tsne *t = NULL;
  ck_assert_ev_ok(ev_tsne_create(&t));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PERPLEXITY, 20));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, method));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_COMPONENTS, (double)dims));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_SEED, 3));
  /* 400 iterations (250 exaggerated) instead of 1000: the four blobs are
   * laid out and the checks below keep their margins (measured: 589 to
   * 600 of 600 training rows near their places where 570 are needed; the
   * grid's worst offset 0.0066 against 0.05), at 2.4x less CPU (TSan
   * spent 57 s on this program with 1000) */
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 400));
  ck_assert_ev_ok(ev_tsne_fit(t, *x, n, d, d));
  *y = malloc(n * dims * sizeof **y);
  ck_assert_ev_ok(ev_tsne_embedding(t, *y, dims));
  return t;
}

/* The same with 150 rows a blob: 600 rows. */
static ev_tsne *fitted(int method, size_t dims, float **x, int *labels,
                       float **y) {
  return fitted_blobs(method, dims, 150, x, labels, y);
}

/* Training rows transformed: each lands closer to its own fitted place
 * than the median distance from a point to its 5th nearest map neighbour,
 * for 95% of the rows, and among its cluster's points for all. `per` rows
 * a blob (the exact method's fit costs n^2 an iteration: 75 keeps it to a
 * second natively, a minute under ASan). */
static void check_training_rows(int method, size_t dims, size_t per) {
  size_t n = 4 * per;
  int labels[600];
  float *x, *y;
  ck_assert(n <= 600);
  ev_tsne *t = fitted_blobs(method, dims, per, &x, labels, &y);
  float *z = malloc(n * dims * sizeof *z);
  ck_assert_ev_ok(ev_tsne_transform(t, x, n, 10, 10, z, dims));
  /* the scale: each map point's 5th nearest map neighbour */
  double *fifth = malloc(n * sizeof *fifth), *d = malloc(n * sizeof *d);
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < n; j++)
      d[j] = j == i ? INFINITY : dist2(y, i, y, j, dims);
    for (size_t r = 0; r < 5; r++) {
      size_t best = 0;
      for (size_t j = 1; j < n; j++)
        if (d[j] < d[best]) best = j;
      fifth[i] = d[best];
      d[best] = INFINITY;
    }
  }
  memcpy(d, fifth, n * sizeof *d);
  for (size_t i = 1; i < n; i++) /* insertion sort for the median */
    for (size_t j = i; j > 0 && d[j - 1] > d[j]; j--) {
      double s = d[j];
      d[j] = d[j - 1], d[j - 1] = s;
    }
  double scale = d[n / 2];
  size_t near = 0;
  for (size_t i = 0; i < n; i++) near += dist2(z, i, y, i, dims) < scale;
  ck_assert_msg(near >= n * 95 / 100, "%zu of %zu rows near their place",
                near, n);
  double acc = knn_vote_accuracy(z, labels, n, y, labels, n, dims, 10);
  ck_assert_msg(acc == 1.0, "10-NN vote accuracy %g", acc);
  ev_tsne_free(t);
  free(x), free(y), free(z), free(fifth), free(d);
}

START_TEST(training_rows_land_near_their_places) {
  check_training_rows(EV_TSNE_METHOD_BARNES_HUT, 2, 150);
}
END_TEST

START_TEST(training_rows_exact_and_other_dimensions) {
  check_training_rows(EV_TSNE_METHOD_EXACT, 2, 75); /* index built for it */
  check_training_rows(EV_TSNE_METHOD_BARNES_HUT, 1, 150);
  check_training_rows(EV_TSNE_METHOD_EXACT, 4, 75); /* repulsion from all */
}
END_TEST

START_TEST(new_rows_land_in_their_cluster) {
  size_t m = 200;
  int labels[600], new_labels[600];
  float *x, *y;
  ev_tsne *t = fitted(EV_TSNE_METHOD_BARNES_HUT, 2, &x, labels, &y);
  /* other draws around the same centres */
  float *xn = tu_blobs(4, 150, 10, 6.0, new_labels, 77);
  float *z = malloc(m * 2 * sizeof *z);
  /* every third row: all four clusters */
  float *q = malloc(m * 10 * sizeof *q);
  int ql[200];
  for (size_t i = 0; i < m; i++) {
    memcpy(q + i * 10, xn + (3 * i) * 10, 10 * sizeof *q);
    ql[i] = new_labels[3 * i];
  }
  ck_assert_ev_ok(ev_tsne_transform(t, q, m, 10, 10, z, 2));
  double acc = knn_vote_accuracy(z, ql, m, y, labels, 600, 2, 10);
  ck_assert_msg(acc >= 0.99, "10-NN vote accuracy %g", acc);
  /* the handle's map is unchanged */
  float *y2 = malloc(600 * 2 * sizeof *y2);
  ck_assert_ev_ok(ev_tsne_embedding(t, y2, 2));
  ck_assert_mem_eq(y, y2, 600 * 2 * sizeof *y);
  /* no iterations: the median start, already in the cluster; the descent
   * moves the points */
  float *z0 = malloc(m * 2 * sizeof *z0);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_TRANSFORM_N_ITER, 0));
  ck_assert_ev_ok(ev_tsne_transform(t, q, m, 10, 10, z0, 2));
  ck_assert(knn_vote_accuracy(z0, ql, m, y, labels, 600, 2, 10) >= 0.99);
  ck_assert(memcmp(z0, z, m * 2 * sizeof *z) != 0);
  ev_tsne_free(t);
  free(x), free(y), free(xn), free(z), free(q), free(y2), free(z0);
}
END_TEST

/* The tabulated repulsion (1-D, 2-D) against the tree at every step: the
 * same places within a small fraction of the map's typical neighbour
 * distance, and the interpolated field within 2% of the tree's. */
START_TEST(grid_and_tree_agree) {
  int labels[600];
  float *x, *y;
  ev_tsne *t = fitted(EV_TSNE_METHOD_BARNES_HUT, 2, &x, labels, &y);
  float *a = malloc(600 * 2 * sizeof *a), *b = malloc(600 * 2 * sizeof *b);
  ck_assert_ev_ok(ev_tsne_transform(t, x, 600, 10, 10, a, 2));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_TRANSFORM_GRID_SPACING, 0));
  ck_assert_ev_ok(ev_tsne_transform(t, x, 600, 10, 10, b, 2));
  double worst = 0, mean = 0;
  for (size_t i = 0; i < 600; i++) {
    double d = sqrt(dist2(a, i, b, i, 2));
    worst = fmax(worst, d);
    mean += d / 600;
  }
  /* the map's nearest-neighbour distances are about 0.5 to 1 here */
  ck_assert_msg(mean < 0.01 && worst < 0.05, "mean %g, worst %g", mean, worst);
  ck_assert(memcmp(a, b, 600 * 2 * sizeof *a) != 0); /* two paths ran */
  ev_tsne_free(t);
  free(x), free(y), free(a), free(b);
}
END_TEST

START_TEST(same_rows_same_bits) {
  int labels[600];
  float *x, *y;
  ev_tsne *t = fitted(EV_TSNE_METHOD_BARNES_HUT, 2, &x, labels, &y);
  float *xn = tu_randn(50, 10, 5);
  float a[100], b[100], c[100];
  ck_assert_ev_ok(ev_tsne_transform(t, xn, 50, 10, 10, a, 2));
  ck_assert_ev_ok(ev_tsne_transform(t, xn, 50, 10, 10, b, 2));
  ck_assert_mem_eq(a, b, sizeof a);
  /* a row's place does not depend on the other new rows */
  ck_assert_ev_ok(ev_tsne_transform(t, xn + 10 * 10, 5, 10, 10, c, 2));
  ck_assert_mem_eq(a + 20, c, 10 * sizeof *c);
  /* a second handle fitted the same way places them the same */
  float *x2, *y2;
  ev_tsne *t2 = fitted(EV_TSNE_METHOD_BARNES_HUT, 2, &x2, labels, &y2);
  ck_assert_ev_ok(ev_tsne_transform(t2, xn, 50, 10, 10, c, 2));
  ck_assert_mem_eq(a, c, sizeof a);
  ev_tsne_free(t), ev_tsne_free(t2);
  free(x), free(y), free(x2), free(y2), free(xn);
}
END_TEST

typedef struct seen {
  size_t calls, last_step, stop_at, knn, affinities;
  double last_kl;
} seen;

static int watch(void *user, int stage, size_t step, size_t total,
                 double value) {
  seen *s = user;
  (void)total;
  if (stage == EV_STAGE_KNN) s->knn++;
  if (stage == EV_STAGE_AFFINITIES) s->affinities++;
  if (stage != EV_STAGE_OPTIMIZE) return 0;
  ck_assert(isfinite(value) && value > 0);
  s->calls++;
  s->last_step = step, s->last_kl = value;
  return s->stop_at && step >= s->stop_at;
}

START_TEST(progress_and_cancel) {
  int labels[600];
  float *x, *y;
  ev_tsne *t = fitted(EV_TSNE_METHOD_BARNES_HUT, 2, &x, labels, &y);
  float *z = malloc(600 * 2 * sizeof *z), *z2 = malloc(600 * 2 * sizeof *z2);
  for (size_t e = 0; e < 1200; e++) z[e] = -7.0f;
  seen s = {.stop_at = 100};
  ck_assert_ev_ok(ev_tsne_set_progress(t, watch, &s));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PROGRESS_EVERY, 25));
  ck_assert_ev(ev_tsne_transform(t, x, 600, 10, 10, z, 2), EV_ERR_CANCELLED);
  ck_assert_errmsg_has("cancel");
  ck_assert_uint_eq(s.calls, 4);
  ck_assert_uint_eq(s.last_step, 100);
  for (size_t e = 0; e < 1200; e++) ck_assert(z[e] == -7.0f);
  /* usable afterwards: all 250 iterations, 10 reports, KL falls */
  s = (seen){0};
  ck_assert_ev_ok(ev_tsne_transform(t, x, 600, 10, 10, z, 2));
  ck_assert_uint_eq(s.calls, 10);
  ck_assert_uint_eq(s.last_step, 250);
  ck_assert(s.affinities >= 1);
  /* the same result as without a callback */
  ck_assert_ev_ok(ev_tsne_set_progress(t, NULL, NULL));
  ck_assert_ev_ok(ev_tsne_transform(t, x, 600, 10, 10, z2, 2));
  ck_assert_mem_eq(z, z2, 1200 * sizeof *z);
  ev_tsne_free(t);
  free(x), free(y), free(z), free(z2);
}
END_TEST

START_TEST(refusals_say_why) {
  float *x = tu_randn(90, 4, 1), out[200];
  float nan_row[8] = {0, 0, 0, 0, 0, NAN, 0, 0};
  ev_tsne *t = NULL;
  ck_assert_ev_ok(ev_tsne_create(&t));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PERPLEXITY, 5));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 50));
  ck_assert_ev(ev_tsne_transform(t, x, 2, 4, 4, out, 2), EV_ERR_STATE);
  ck_assert_errmsg_has("call ev_tsne_fit before ev_tsne_transform");
  ck_assert_ev_ok(ev_tsne_fit(t, x, 90, 4, 4));
  ck_assert_ev(ev_tsne_transform(t, x, 2, 3, 4, out, 2), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("x has 3 columns but the map was fitted on 4");
  ck_assert_ev(ev_tsne_transform(t, x, 0, 4, 4, out, 2), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_transform(t, nan_row, 2, 4, 4, out, 2),
               EV_ERR_NONFINITE);
  ck_assert_ev(ev_tsne_transform(t, x, 2, 4, 4, out, 1), EV_ERR_ARGUMENT);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_TRANSFORM_PERPLEXITY, 31));
  ck_assert_ev(ev_tsne_transform(t, x, 2, 4, 4, out, 2), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("lower it to at most 30");
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_TRANSFORM_PERPLEXITY, 30));
  ck_assert_ev_ok(ev_tsne_transform(t, x, 2, 4, 4, out, 2));
  /* 3000 rows of 90 neighbours (perplexity 30): about 10 MiB */
  float *many = calloc(3000 * 4, sizeof *many), *many_out = NULL;
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_MAX_MEMORY_MB, 9));
  ck_assert_ev(ev_tsne_transform(t, many, 3000, 4, 4, out, 2),
               EV_ERR_LIMIT);
  ck_assert_errmsg_has("transform fewer rows per call");
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_MAX_MEMORY_MB, 11));
  many_out = malloc(3000 * 2 * sizeof *many_out);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_TRANSFORM_N_ITER, 1));
  ck_assert_ev_ok(ev_tsne_transform(t, many, 3000, 4, 4, many_out, 2));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_TRANSFORM_N_ITER, 250));
  free(many), free(many_out);
  /* a failed fit keeps the earlier map and its index */
  ck_assert_ev(ev_tsne_fit(t, x, 1, 4, 4), EV_ERR_ARGUMENT);
  ck_assert_ev_ok(ev_tsne_transform(t, x, 2, 4, 4, out, 2));
  /* fitted from distances: no rows to search */
  float *dist = calloc(10 * 10, sizeof *dist);
  for (size_t i = 0; i < 10; i++)
    for (size_t j = 0; j < 10; j++) dist[i * 10 + j] = (float)(i > j ? i - j : j - i);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PERPLEXITY, 2));
  ck_assert_ev_ok(ev_tsne_fit_distances(t, dist, 10, 10));
  ck_assert_ev(ev_tsne_transform(t, x, 2, 4, 4, out, 2), EV_ERR_STATE);
  ck_assert_errmsg_has("use ev_tsne_fit on the rows to transform new rows");
  /* not kept */
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PERPLEXITY, 5));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_KEEP_INDEX, 0));
  ck_assert_ev_ok(ev_tsne_fit(t, x, 90, 4, 4));
  ck_assert_ev(ev_tsne_transform(t, x, 2, 4, 4, out, 2), EV_ERR_STATE);
  ck_assert_errmsg_has("set EV_TSNE_KEEP_INDEX = 1");
  ev_tsne_free(t);
  free(x), free(dist);
}
END_TEST

START_TEST(allocation_failures_leak_nothing) {
  float *x = tu_randn(90, 4, 1), out[40];
  ev_tsne *t = NULL;
  ck_assert_ev_ok(ev_tsne_create(&t));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PERPLEXITY, 5));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 30));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_TRANSFORM_N_ITER, 10));
  ck_assert_ev_ok(ev_tsne_fit(t, x, 90, 4, 4));
  float ref[40];
  ev__test_fail_alloc(-1, 0);
  ck_assert_ev_ok(ev_tsne_transform(t, x, 20, 4, 4, ref, 2));
  long total = ev__test_alloc_count(), base = ev__test_live_blocks();
  ck_assert(total > 3);
  for (long k = 0; k < total; k++) {
    ev__test_fail_alloc(k, 1);
    int st = ev_tsne_transform(t, x, 20, 4, 4, out, 2);
    ev__test_fail_alloc(-1, 0);
    ck_assert_msg(st == EV_ERR_NOMEM, "failing allocation %ld gave %s", k,
                  ev_status_name(st));
    ck_assert_int_eq(ev__test_live_blocks(), base);
  }
  ck_assert_ev_ok(ev_tsne_transform(t, x, 20, 4, 4, out, 2));
  ck_assert_mem_eq(out, ref, sizeof ref);
  ev_tsne_free(t);
  free(x);
}
END_TEST

#define ADD(s, fn)                                                            \
  do {                                                                        \
    TCase *tc = tcase_create(#fn);                                            \
    tcase_set_timeout(tc, 120);                                               \
    tcase_add_test(tc, fn);                                                   \
    suite_add_tcase(s, tc);                                                   \
  } while (0)

/* The cases that fit 600-point maps, tagged "large" (left out under
 * memcheck, tests/testutil.h); the small ones run everywhere. */
#define ADD_LARGE(s, fn)                                                      \
  do {                                                                        \
    TCase *tc = tu_tcase_large(#fn, 300);                                     \
    tcase_add_test(tc, fn);                                                   \
    suite_add_tcase(s, tc);                                                   \
  } while (0)

static Suite *transform_suite(void) {
  Suite *s = suite_create("tsne_transform");
  ADD_LARGE(s, training_rows_land_near_their_places);
  ADD_LARGE(s, training_rows_exact_and_other_dimensions);
  ADD_LARGE(s, new_rows_land_in_their_cluster);
  ADD_LARGE(s, grid_and_tree_agree);
  ADD_LARGE(s, same_rows_same_bits);
  ADD_LARGE(s, progress_and_cancel);
  ADD(s, refusals_say_why);
  ADD(s, allocation_failures_leak_nothing);
  return s;
}

int main(void) {
  return tu_run(transform_suite()) ? EXIT_FAILURE : EXIT_SUCCESS;
}
