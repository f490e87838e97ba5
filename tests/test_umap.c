/* UMAP: the fuzzy graph, the curve, the map, reproducibility, transform
 * and every bad input of issue 13. */
#include "core/testhook.h"
#include "testutil.h"
#include "umap/umap_internal.h"

/* n points in `centres` well-separated Gaussian blobs in d dimensions
 * (blob c centred at 30 e_c); labels out. */
static float *blobs(size_t n, size_t d, size_t centres, int *labels,
                    uint64_t seed) {
  float *x = tu_randn(n, d, seed);
  for (size_t i = 0; i < n; i++) {
    labels[i] = (int)(i % centres);
    x[i * d + (size_t)labels[i] % d] += 30.0f;
  }
  return x;
}

/* A noisy ring in 3-D: one connected graph, so the spectral start runs. */
static float *ring(size_t n, uint64_t seed) {
  float *x = malloc(n * 3 * sizeof *x);
  for (size_t i = 0; i < n; i++) {
    double t = 6.283185307179586 * (double)i / (double)n;
    x[i * 3] = (float)(10.0 * cos(t) + 0.3 * tu_normal(&seed));
    x[i * 3 + 1] = (float)(10.0 * sin(t) + 0.3 * tu_normal(&seed));
    x[i * 3 + 2] = (float)(0.3 * tu_normal(&seed));
  }
  return x;
}

static ev_umap *made(size_t threads, double seed) {
  ev_umap *u = NULL;
  ck_assert_ev_ok(ev_umap_create(&u));
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_THREADS, (double)threads));
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_RANDOM_STATE, seed));
  return u;
}

static float *embed(ev_umap *u, const float *x, size_t n, size_t d) {
  ck_assert_ev_ok(ev_umap_fit(u, x, n, d, d));
  float *y = malloc(n * 2 * sizeof *y);
  ck_assert_ev_ok(ev_umap_embedding(u, y, 2));
  return y;
}

/* Share of points whose `k` nearest map neighbours carry their label. */
static double knn_label_accuracy(const float *y, size_t n, const int *lab,
                                 size_t k) {
  size_t hits = 0;
  double *best = malloc(k * sizeof *best);
  size_t *who = malloc(k * sizeof *who);
  for (size_t i = 0; i < n; i++) {
    size_t m = 0;
    for (size_t j = 0; j < n; j++) {
      if (j == i) continue;
      double dx = y[i * 2] - y[j * 2], dy = y[i * 2 + 1] - y[j * 2 + 1];
      double dd = dx * dx + dy * dy;
      if (m < k) m++;
      else if (dd >= best[k - 1]) continue;
      size_t p = m - 1;
      while (p > 0 && best[p - 1] > dd) {
        best[p] = best[p - 1], who[p] = who[p - 1];
        p--;
      }
      best[p] = dd, who[p] = j;
    }
    for (size_t e = 0; e < k; e++) hits += lab[who[e]] == lab[i];
  }
  free(best), free(who);
  return (double)hits / (double)(n * k);
}

/* The last fit's start: its graph's components, the start used and the
 * components spread at random. */
static void expect_start(const ev_umap *u, double components, double init,
                         double spread) {
  double v;
  ck_assert_ev_ok(ev_umap_info(u, EV_UMAP_INFO_N_COMPONENTS_GRAPH, &v));
  ck_assert_double_eq(v, components);
  ck_assert_ev_ok(ev_umap_info(u, EV_UMAP_INFO_INIT_USED, &v));
  ck_assert_double_eq(v, init);
  ck_assert_ev_ok(ev_umap_info(u, EV_UMAP_INFO_N_RANDOM_COMPONENTS, &v));
  ck_assert_double_eq(v, spread);
}

/* ---- the fuzzy simplicial set ---- */

START_TEST(smooth_knn_dist_rows_sum_to_log2_k) {
  size_t n = 50, k = 15;
  float *dist = malloc(n * k * sizeof *dist);
  uint64_t s = 7;
  for (size_t i = 0; i < n; i++) {
    dist[i * k] = 0.0f; /* the row itself */
    float acc = 0.0f;
    for (size_t j = 1; j < k; j++) {
      acc += (float)(0.05 + tu_uniform(&s));
      dist[i * k + j] = acc;
    }
  }
  double sigma[50], rho[50];
  ev__umap_smooth_knn_dist(dist, n, k, 1.0, sigma, rho);
  for (size_t i = 0; i < n; i++) {
    ck_assert_double_eq(rho[i], dist[i * k + 1]); /* nearest non-zero */
    double sum = 0.0;
    for (size_t j = 1; j < k; j++) {
      double dd = dist[i * k + j] - rho[i];
      sum += dd > 0 ? exp(-dd / sigma[i]) : 1.0;
    }
    ck_assert_double_eq_tol(sum, log2(15.0), 1e-4);
  }
  /* local connectivity 2: rho is the second non-zero distance, and 1.5
   * interpolates half way */
  ev__umap_smooth_knn_dist(dist, n, k, 2.0, sigma, rho);
  ck_assert_double_eq(rho[0], dist[2]);
  ev__umap_smooth_knn_dist(dist, n, k, 1.5, sigma, rho);
  ck_assert_double_eq_tol(rho[0], 0.5 * (dist[1] + dist[2]), 1e-6);
  free(dist);
}
END_TEST

START_TEST(fuzzy_union_by_hand) {
  /* A = [[0, .5, 0], [.2, 0, 1], [0, 0, 0]] as neighbour lists through the
   * membership step: with rho = 0 and sigma = 1, weight exp(-d); pick d so
   * that the weights are .5, .2 and 1 (d = 0 gives 1). */
  int64_t idx[] = {0, 1, 1, 0, 2, -1}; /* rows of 2: self first */
  float dist[] = {0, (float)-log(0.5), 0, (float)-log(0.2), -1, 0};
  /* row 1: self skipped via entry 0 = itself? give it explicitly */
  int64_t idx2[] = {0, 1, 0, 2, 2, -1};
  float dist2[] = {0, (float)-log(0.5), (float)-log(0.2), 0, 0, 0};
  (void)idx, (void)dist;
  double sigma[3] = {1, 1, 1}, rho[3] = {0, 0, 0};
  ev__umap_graph a = {0}, g = {0};
  ck_assert_ev_ok(ev__umap_membership(idx2, dist2, 3, 2, 3, sigma, rho, 1, &a));
  /* row 0: {1: .5}; row 1: {0: .2, 2: 1}; row 2: itself only -> empty */
  ck_assert_uint_eq(a.row_ptr[3], 3);
  ck_assert_double_eq_tol(a.val[0], 0.5, 1e-6);
  ck_assert_double_eq_tol(a.val[1], 0.2, 1e-6);
  ck_assert_double_eq_tol(a.val[2], 1.0, 1e-12);
  ck_assert_ev_ok(ev__umap_fuzzy_union(&a, 1.0, &g));
  /* union: (0,1) = (1,0) = .5 + .2 - .1 = .6; (1,2) = (2,1) = 1 */
  ck_assert_uint_eq(g.row_ptr[1], 1);
  ck_assert_uint_eq(g.row_ptr[2], 3);
  ck_assert_uint_eq(g.row_ptr[3], 4);
  ck_assert_uint_eq(g.col[0], 1);
  ck_assert_double_eq_tol(g.val[0], 0.6, 1e-6);
  ck_assert_uint_eq(g.col[1], 0);
  ck_assert_double_eq_tol(g.val[1], 0.6, 1e-6);
  ck_assert_uint_eq(g.col[2], 2);
  ck_assert_double_eq_tol(g.val[2], 1.0, 1e-12);
  ck_assert_uint_eq(g.col[3], 1);
  ck_assert_double_eq_tol(g.val[3], 1.0, 1e-12);
  ev__umap_graph_free(&g);
  /* intersection (mix 0): only the mutual pair, .5 x .2 */
  ck_assert_ev_ok(ev__umap_fuzzy_union(&a, 0.0, &g));
  ck_assert_uint_eq(g.row_ptr[3], 2);
  ck_assert_double_eq_tol(g.val[0], 0.1, 1e-6);
  ck_assert_double_eq_tol(g.val[1], 0.1, 1e-6);
  /* half way: .5 (.6) + .5 (.1) = .35 and .5 (1) = .5 */
  ev__umap_graph_free(&g);
  ck_assert_ev_ok(ev__umap_fuzzy_union(&a, 0.5, &g));
  ck_assert_double_eq_tol(g.val[0], 0.35, 1e-6);
  ck_assert_double_eq_tol(g.val[2], 0.5, 1e-12);
  ev__umap_graph_free(&g);
  ev__umap_graph_free(&a);
}
END_TEST

/* ---- the curve ---- */

START_TEST(find_ab_matches_umap_learn) {
  /* umap-learn 0.5.3 (Debian umap-learn 0.5.3+dfsg-2), made with
   * /usr/bin/python3 -c "from umap.umap_ import find_ab_params as f;
   *   print(f(spread, min_dist))" for each row */
  static const double ref[][4] = {
      /* min_dist, spread, a, b */
      {0.1, 1.0, 1.5769434601962196, 0.8950608779914887},
      {0.0, 1.0, 1.9328083975546724, 0.7904949734010681},
      {0.5, 1.0, 0.583030020479462, 1.3341669929263487},
      {0.25, 2.0, 0.41627349693884963, 0.9218551322340262},
      {0.001, 0.5, 5.776298979906886, 0.7925153070223354},
      {1.0, 1.0, 0.11497568285252263, 1.9292371466948077},
  };
  for (size_t r = 0; r < sizeof ref / sizeof ref[0]; r++) {
    double a, b;
    ck_assert_ev_ok(ev_umap_find_ab(ref[r][1], ref[r][0], &a, &b));
    ck_assert_msg(fabs(a - ref[r][2]) < 1e-4 * ref[r][2] &&
                      fabs(b - ref[r][3]) < 1e-4 * ref[r][3],
                  "min_dist %g spread %g: a %.9g b %.9g, umap-learn %.9g %.9g",
                  ref[r][0], ref[r][1], a, b, ref[r][2], ref[r][3]);
  }
  double a, b;
  ck_assert_ev(ev_umap_find_ab(1.0, 2.0, &a, &b), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("raise spread");
}
END_TEST

/* ---- the SGD's power ---- */

START_TEST(sgd_power_matches_pow) {
  /* d^b of the SGD against pow in double, within 5e-6 relative (the
   * rounding of b log2 x in float grows with |log2 x|), for the b of several curves and
   * squared distances from 1e-6 to 1e6 (2,048 values, log-spaced) */
  static const float bs[] = {0.7904950f, 0.8950609f, 1.3341670f, 1.9292371f,
                             0.5f, 1.0f};
  double worst = 0.0;
  for (size_t k = 0; k < sizeof bs / sizeof bs[0]; k++)
    for (int s = 0; s < 2048; s += 8) {
      float x[8], y[8];
      for (int l = 0; l < 8; l++)
        x[l] = (float)pow(10.0, -6.0 + 12.0 * (s + l) / 2047.0);
      ev__umap_pow8(x, bs[k], y);
      for (int l = 0; l < 8; l++) {
        double want = pow((double)x[l], (double)bs[k]);
        double rel = fabs((double)y[l] - want) / want;
        if (rel > worst) worst = rel;
        ck_assert_msg(rel < 5e-6, "%g^%g: %.9g, pow %.9g", (double)x[l],
                      (double)bs[k], (double)y[l], want);
      }
    }
  ck_assert_double_gt(worst, 0.0); /* an approximation, not pow itself */
}
END_TEST

/* ---- maps ---- */

START_TEST(separated_clusters_stay_apart) {
  size_t n = 600, d = 10;
  int lab[600];
  float *x = blobs(n, d, 3, lab, 11);
  ev_umap *u = made(2, 3);
  float *y = embed(u, x, n, d);
  double acc = knn_label_accuracy(y, n, lab, 10);
  ck_assert_msg(acc > 0.999, "10-NN label accuracy in the map %g", acc);
  /* the blobs' kNN graph falls apart: each blob laid out spectrally */
  expect_start(u, 3, EV_UMAP_INIT_SPECTRAL, 0);
  double v;
  ck_assert_ev_ok(ev_umap_info(u, EV_UMAP_INFO_N_EPOCHS, &v));
  ck_assert_double_eq(v, 500); /* auto, n <= 10,000 */
  for (size_t e = 0; e < n * 2; e++) ck_assert(isfinite(y[e]));
  /* the approximate neighbour search (NN-descent) keeps them apart too */
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_KNN_METHOD, EV_KNN_METHOD_APPROXIMATE));
  float *z = embed(u, x, n, d);
  acc = knn_label_accuracy(z, n, lab, 10);
  ck_assert_msg(acc > 0.999, "approximate: 10-NN label accuracy %g", acc);
  free(z), free(y), free(x);
  ev_umap_free(u);
}
END_TEST

START_TEST(ring_gets_spectral_start_and_keeps_neighbours) {
  size_t n = 800;
  float *x = ring(n, 5);
  ev_umap *u = made(2, 1);
  float *y = embed(u, x, n, 3);
  expect_start(u, 1, EV_UMAP_INIT_SPECTRAL, 0);
  /* label each point by its arc (16 arcs): map neighbours stay on the arc */
  int lab[800];
  for (size_t i = 0; i < n; i++) lab[i] = (int)(i * 16 / n);
  double acc = knn_label_accuracy(y, n, lab, 5);
  ck_assert_msg(acc > 0.85, "5-NN arc accuracy in the map %g", acc);
  free(y), free(x);
  ev_umap_free(u);
}
END_TEST

START_TEST(same_seed_same_bits_any_thread_count) {
  /* enough edges (about 20 per point) for the SGD's parallel loop */
  size_t n = 2000;
  float *x = ring(n, 9);
  ev_umap *u1 = made(1, 42), *u2 = made(2, 42), *u3 = made(2, 43);
  /* 100 epochs, not 500: every epoch runs the same loops */
  ev_umap *all[3] = {u1, u2, u3};
  for (int k = 0; k < 3; k++) ck_assert_ev_ok(ev_umap_set(all[k], EV_UMAP_N_EPOCHS, 100));
  float *y1 = embed(u1, x, n, 3), *y2 = embed(u2, x, n, 3);
  float *y1b = embed(u1, x, n, 3), *y3 = embed(u3, x, n, 3);
  ck_assert_int_eq(memcmp(y1, y1b, n * 2 * sizeof *y1), 0);
  ck_assert_int_eq(memcmp(y1, y2, n * 2 * sizeof *y1), 0);
  ck_assert_int_ne(memcmp(y1, y3, n * 2 * sizeof *y1), 0);
  free(y1), free(y2), free(y1b), free(y3), free(x);
  ev_umap_free(u1), ev_umap_free(u2), ev_umap_free(u3);
}
END_TEST

START_TEST(transform_of_training_rows_lands_near_them) {
  size_t n = 600, d = 10, m = 60;
  int lab[600];
  float *x = blobs(n, d, 3, lab, 21);
  ev_umap *u = made(2, 7);
  float *y = embed(u, x, n, d);
  float *t = malloc(m * 2 * sizeof *t);
  ck_assert_ev_ok(ev_umap_transform(u, x, m, d, d, t, 2));
  /* the map's extent, and each transformed row's distance to its own spot */
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < 2; c++) {
      lo[c] = fmin(lo[c], y[i * 2 + c]);
      hi[c] = fmax(hi[c], y[i * 2 + c]);
    }
  double extent = hypot(hi[0] - lo[0], hi[1] - lo[1]), worst = 0.0;
  for (size_t i = 0; i < m; i++)
    worst = fmax(worst, hypot(t[i * 2] - y[i * 2], t[i * 2 + 1] - y[i * 2 + 1]));
  ck_assert_msg(worst < 0.1 * extent, "worst %g of extent %g", worst, extent);
  /* and new rows of a blob land in that blob */
  float *xn = blobs(30, d, 3, lab, 99);
  ck_assert_ev_ok(ev_umap_transform(u, xn, 30, d, d, t, 2));
  int tl[630];
  float *all = malloc(630 * 2 * sizeof *all);
  memcpy(all, y, n * 2 * sizeof *y);
  memcpy(all + n * 2, t, 30 * 2 * sizeof *t);
  for (size_t i = 0; i < n; i++) tl[i] = (int)(i % 3);
  for (size_t i = 0; i < 30; i++) tl[n + i] = lab[i];
  ck_assert_msg(knn_label_accuracy(all, 630, tl, 5) > 0.999, "new rows");
  free(all), free(xn), free(t), free(y), free(x);
  ev_umap_free(u);
}
END_TEST

START_TEST(fit_knn_matches_fit_from_rows) {
  size_t n = 300, d = 5, k = 15;
  float *x = tu_randn(n, d, 3);
  ev_umap *u = made(1, 5), *v = made(1, 5);
  /* 500 epochs (the default at this size); 100 under memcheck: the same loops */
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_EPOCHS, (double)tu_size(500, 100)));
  ck_assert_ev_ok(ev_umap_set(v, EV_UMAP_N_EPOCHS, (double)tu_size(500, 100)));
  float *y = embed(u, x, n, d);
  /* the same lists from the kNN index, self first */
  ev_knn *ix;
  int64_t *idx = malloc(n * k * sizeof *idx);
  float *dist = malloc(n * k * sizeof *dist);
  ck_assert_ev_ok(ev_knn_create(&ix));
  ck_assert_ev_ok(ev_knn_build(ix, x, n, d, d));
  ck_assert_ev_ok(ev_knn_query_self(ix, k - 1, idx + 1, k, dist + 1, k));
  for (size_t i = 0; i < n; i++) idx[i * k] = (int64_t)i, dist[i * k] = 0;
  ck_assert_ev_ok(ev_umap_fit_knn(v, n, k, idx, k, dist, k));
  float *z = malloc(n * 2 * sizeof *z);
  ck_assert_ev_ok(ev_umap_embedding(v, z, 2));
  ck_assert_int_eq(memcmp(y, z, n * 2 * sizeof *y), 0);
  /* no rows kept: transform is refused with what to do */
  ck_assert_ev(ev_umap_transform(v, x, 1, d, d, z, 2), EV_ERR_STATE);
  ck_assert_errmsg_has("ev_umap_fit");
  /* the graph getter: symmetric weights in (0, 1] */
  size_t nnz;
  ck_assert_ev_ok(ev_umap_graph(v, NULL, NULL, NULL, &nnz));
  ck_assert_uint_ge(nnz, n * (k - 1));
  size_t *rp = malloc((n + 1) * sizeof *rp);
  int64_t *ci = malloc(nnz * sizeof *ci);
  float *val = malloc(nnz * sizeof *val);
  ck_assert_ev_ok(ev_umap_graph(v, rp, ci, val, &nnz));
  for (size_t e = 0; e < nnz; e++) ck_assert(val[e] > 0 && val[e] <= 1.0f);
  free(rp), free(ci), free(val);
  ev_knn_free(ix);
  free(idx), free(dist), free(z), free(y), free(x);
  ev_umap_free(u), ev_umap_free(v);
}
END_TEST

START_TEST(auto_neighbour_search_by_exact_work) {
  ev_umap *u = made(1, 0);
  /* n_neighbors 15: NN-descent from n^2 d = 3e10: Fashion-MNIST 70,000 x
   * 784 (3.8e12) and its PCA-50 (2.5e11), 25,000 x 50 (3.1e10) NN-descent,
   * 24,000 x 50 (2.9e10) and 6,000 x 784 (2.8e10) exact */
  ck_assert_double_eq(ev__umap_knn_method(u, 70000, 784), EV_KNN_METHOD_APPROXIMATE);
  ck_assert_double_eq(ev__umap_knn_method(u, 70000, 50), EV_KNN_METHOD_APPROXIMATE);
  ck_assert_double_eq(ev__umap_knn_method(u, 25000, 50), EV_KNN_METHOD_APPROXIMATE);
  ck_assert_double_eq(ev__umap_knn_method(u, 24000, 50), EV_KNN_METHOD_EXACT);
  ck_assert_double_eq(ev__umap_knn_method(u, 6000, 784), EV_KNN_METHOD_EXACT);
  /* n_neighbors 90: from 3e10 x 36 = 1.08e12 (70,000 x 50 exact, 36,000 x
   * 784 = 1.02e12 exact, 38,000 x 784 = 1.13e12 NN-descent); below 15 as 15 */
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_NEIGHBORS, 90));
  ck_assert_double_eq(ev__umap_knn_method(u, 70000, 50), EV_KNN_METHOD_EXACT);
  ck_assert_double_eq(ev__umap_knn_method(u, 36000, 784), EV_KNN_METHOD_EXACT);
  ck_assert_double_eq(ev__umap_knn_method(u, 38000, 784), EV_KNN_METHOD_APPROXIMATE);
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_NEIGHBORS, 5));
  ck_assert_double_eq(ev__umap_knn_method(u, 24000, 50), EV_KNN_METHOD_EXACT);
  ck_assert_double_eq(ev__umap_knn_method(u, 25000, 50), EV_KNN_METHOD_APPROXIMATE);
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_KNN_METHOD, EV_KNN_METHOD_EXACT));
  ck_assert_double_eq(ev__umap_knn_method(u, 70000, 784), EV_KNN_METHOD_EXACT);
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_KNN_METHOD, EV_KNN_METHOD_APPROXIMATE));
  ck_assert_double_eq(ev__umap_knn_method(u, 100, 2), EV_KNN_METHOD_APPROXIMATE);
  ev_umap_free(u);
}
END_TEST

/* ---- bad input ---- */

START_TEST(bad_inputs_say_what_to_change) {
  ev_umap *u = made(1, 0);
  float *x = tu_randn(20, 3, 1), y[40] = {0};
  ck_assert_ev(ev_umap_embedding(u, y, 2), EV_ERR_STATE);
  ck_assert_ev(ev_umap_transform(u, x, 2, 3, 3, y, 2), EV_ERR_STATE);
  ck_assert_errmsg_has("ev_umap_fit");
  /* too few points for n_neighbors */
  ck_assert_ev(ev_umap_fit(u, x, 15, 3, 3), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("lower EV_UMAP_N_NEIGHBORS to at most 14");
  /* min_dist > spread */
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_MIN_DIST, 2.0));
  ck_assert_ev(ev_umap_fit(u, x, 20, 3, 3), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("raise EV_UMAP_SPREAD");
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_MIN_DIST, 0.1));
  /* NaN and Inf */
  x[7] = NAN;
  ck_assert_ev(ev_umap_fit(u, x, 20, 3, 3), EV_ERR_NONFINITE);
  ck_assert_errmsg_has("x[2][1]");
  x[7] = INFINITY;
  ck_assert_ev(ev_umap_fit(u, x, 20, 3, 3), EV_ERR_NONFINITE);
  x[7] = 0.5f;
  /* settings out of range leave the old value */
  double v;
  ck_assert_ev(ev_umap_set(u, EV_UMAP_N_NEIGHBORS, 1), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_umap_set(u, EV_UMAP_SET_OP_MIX_RATIO, 1.5), EV_ERR_ARGUMENT);
  ck_assert_ev_ok(ev_umap_get(u, EV_UMAP_N_NEIGHBORS, &v));
  ck_assert_double_eq(v, 15);
  ck_assert_ev_ok(ev_umap_param_default(EV_UMAP_MIN_DIST, &v));
  ck_assert_double_eq(v, 0.1);
  ck_assert_ev_ok(ev_umap_param_default(EV_UMAP_NEGATIVE_SAMPLE_RATE, &v));
  ck_assert_double_eq(v, 5);
  /* a fit, then a transform with another width */
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_EPOCHS, 20));
  ck_assert_ev_ok(ev_umap_fit(u, x, 20, 3, 3));
  ck_assert_ev(ev_umap_transform(u, x, 2, 2, 3, y, 2), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("fitted on 3");
  x[1] = NAN;
  ck_assert_ev(ev_umap_transform(u, x, 2, 3, 3, y, 2), EV_ERR_NONFINITE);
  /* a given start of the wrong size */
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_INIT, EV_UMAP_INIT_GIVEN));
  ck_assert_ev_ok(ev_umap_set_init(u, y, 5, 2, 2));
  x[1] = 0.0f;
  ck_assert_ev(ev_umap_fit(u, x, 20, 3, 3), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("20 x 2");
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_INIT, EV_UMAP_INIT_SPECTRAL));
  /* neighbour lists with an index out of range */
  int64_t idx[20 * 2];
  float dist[20 * 2];
  for (size_t i = 0; i < 20; i++)
    idx[2 * i] = (int64_t)i, idx[2 * i + 1] = (int64_t)((i + 1) % 20),
    dist[2 * i] = 0, dist[2 * i + 1] = 1;
  idx[9] = 20;
  ck_assert_ev(ev_umap_fit_knn(u, 20, 2, idx, 2, dist, 2), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("indices[4][1] is 20");
  ev_umap_free(u);
  ev_umap_free(NULL);
  free(x);
}
END_TEST

START_TEST(duplicates_work) {
  /* 200 rows: 20 distinct points, each 10 times */
  size_t n = 200, d = 4;
  float *base = tu_randn(20, d, 4), *x = malloc(n * d * sizeof *x);
  for (size_t i = 0; i < n; i++)
    memcpy(x + i * d, base + (i % 20) * d, d * sizeof *x);
  ev_umap *u = made(2, 0);
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_EPOCHS, (double)tu_size(500, 100)));
  float *y = embed(u, x, n, d);
  for (size_t e = 0; e < n * 2; e++) ck_assert(isfinite(y[e]));
  free(y), free(x), free(base);
  ev_umap_free(u);
}
END_TEST

static int cancel_at_epoch(void *user, int stage, size_t step, size_t total,
                           double value) {
  (void)total, (void)value;
  int *seen = user;
  if (stage == EV_STAGE_EPOCHS) {
    *seen = (int)step;
    return step >= 20;
  }
  return 0;
}

START_TEST(cancel_keeps_earlier_map) {
  size_t n = 300, d = 5;
  float *x = tu_randn(n, d, 8);
  ev_umap *u = made(1, 0);
  /* the cancel at epoch 20 is under test: 60 epochs, not the default 500 */
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_EPOCHS, 60));
  float *y = embed(u, x, n, d);
  int seen = 0;
  ck_assert_ev_ok(ev_umap_set_progress(u, cancel_at_epoch, &seen));
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_RANDOM_STATE, 9));
  ck_assert_ev(ev_umap_fit(u, x, n, d, d), EV_ERR_CANCELLED);
  ck_assert_int_eq(seen, 20);
  ck_assert_errmsg_has("UMAP optimisation");
  float *z = malloc(n * 2 * sizeof *z);
  ck_assert_ev_ok(ev_umap_embedding(u, z, 2));
  ck_assert_int_eq(memcmp(y, z, n * 2 * sizeof *y), 0);
  free(z), free(y), free(x);
  ev_umap_free(u);
}
END_TEST

static int count_calls(void *user, int stage, size_t step, size_t total,
                       double value) {
  (void)stage, (void)step, (void)total, (void)value;
  ++*(int *)user;
  return 0;
}

/* The fit's neighbour index is kept for transform; it must report through
 * the handle's callback of the moment, not the one the fit ran with (the
 * Python bindings free that callback after the fit: transform from another
 * thread then called freed memory). */
START_TEST(transform_reports_to_the_current_callback) {
  size_t n = 300, d = 5;
  float *x = tu_randn(n, d, 8), t[4 * 2];
  ev_umap *u = made(1, 0);
  int fit_calls = 0, later_calls = 0;
  /* the callbacks are under test, not the layout: 50 epochs */
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_EPOCHS, 50));
  ck_assert_ev_ok(ev_umap_set_progress(u, count_calls, &fit_calls));
  ck_assert_ev_ok(ev_umap_fit(u, x, n, d, d));
  int after_fit = fit_calls;
  ck_assert_int_gt(after_fit, 0);
  ck_assert_ev_ok(ev_umap_set_progress(u, count_calls, &later_calls));
  ck_assert_ev_ok(ev_umap_transform(u, x, 4, d, d, t, 2));
  ck_assert_int_eq(fit_calls, after_fit);
  ck_assert_int_gt(later_calls, 0);
  int after_transform = later_calls;
  ck_assert_ev_ok(ev_umap_set_progress(u, NULL, NULL));
  ck_assert_ev_ok(ev_umap_transform(u, x, 4, d, d, t, 2));
  ck_assert_int_eq(fit_calls, after_fit);
  ck_assert_int_eq(later_calls, after_transform);
  free(x);
  ev_umap_free(u);
}
END_TEST

START_TEST(allocation_failures_leak_nothing) {
  size_t n = 120, d = 4;
  float *x = tu_randn(n, d, 1), t[2 * 2];
  ev_umap *u = made(1, 0);
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_EPOCHS, 5));
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_NEIGHBORS, 10));
  ev__test_fail_alloc(-1, 0);
  ck_assert_ev_ok(ev_umap_fit(u, x, n, d, d));
  float *y = malloc(n * 2 * sizeof *y), *z = malloc(n * 2 * sizeof *z);
  ck_assert_ev_ok(ev_umap_embedding(u, y, 2));
  double used;
  ck_assert_ev_ok(ev_umap_info(u, EV_UMAP_INFO_INIT_USED, &used));
  ck_assert_double_eq(used, EV_UMAP_INIT_SPECTRAL);
  long total = ev__test_alloc_count(), base = ev__test_live_blocks();
  for (long k = 0; k < total; k++) {
    ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_RANDOM_STATE, 1));
    ev__test_fail_alloc(k, 1);
    int st = ev_umap_fit(u, x, n, d, d);
    ev__test_fail_alloc(-1, 0);
    ck_assert_msg(st == EV_ERR_NOMEM, "failing allocation %ld gave %s", k,
                  ev_status_name(st));
    ck_assert_int_eq(ev__test_live_blocks(), base);
    ck_assert_ev_ok(ev_umap_embedding(u, z, 2)); /* the earlier map kept */
    ck_assert_int_eq(memcmp(y, z, n * 2 * sizeof *y), 0);
  }
  ev__test_fail_alloc(-1, 0);
  ck_assert_ev_ok(ev_umap_transform(u, x, 2, d, d, t, 2));
  total = ev__test_alloc_count();
  for (long k = 0; k < total; k++) {
    ev__test_fail_alloc(k, 1);
    int st = ev_umap_transform(u, x, 2, d, d, t, 2);
    ev__test_fail_alloc(-1, 0);
    ck_assert_msg(st == EV_ERR_NOMEM, "transform: allocation %ld gave %s", k,
                  ev_status_name(st));
    ck_assert_int_eq(ev__test_live_blocks(), base);
  }
  free(y), free(z), free(x);
  ev_umap_free(u);
}
END_TEST

/* count rings of m points in 3-D, ring r shifted by 60 along axis r % 3
 * and by 60 r along the other two (far apart: one component each);
 * lab[i] = ring, arc[i] = one of 12 arcs of its ring. */
static float *rings(size_t count, size_t m, int *lab, int *arc) {
  float *x = malloc(count * m * 3 * sizeof *x);
  for (size_t r = 0; r < count; r++) {
    float *one = ring(m, 70 + r);
    for (size_t i = 0; i < m; i++) {
      size_t at = r * m + i;
      for (size_t j = 0; j < 3; j++)
        x[at * 3 + j] = one[i * 3 + j] + 60.0f * (float)r * (j == r % 3 ? 2 : 1);
      lab[at] = (int)r;
      arc[at] = (int)(r * 12 + i * 12 / m);
    }
    free(one);
  }
  return x;
}

/* Each group's points sit in a region of their own: the distance between
 * any two groups' centroids is at least 1.5 x the larger of their mean
 * radii (umap-learn's start scales a component into half the distance to
 * the nearest other place, so circles may touch; a random start puts every
 * centroid near the middle). */
static void groups_apart(const float *y, size_t n, const int *lab, int groups) {
  double cx[16] = {0}, cy[16] = {0}, rad[16] = {0};
  size_t cnt[16] = {0};
  for (size_t i = 0; i < n; i++) {
    cx[lab[i]] += y[i * 2], cy[lab[i]] += y[i * 2 + 1], cnt[lab[i]]++;
  }
  for (int g = 0; g < groups; g++) cx[g] /= (double)cnt[g], cy[g] /= (double)cnt[g];
  for (size_t i = 0; i < n; i++)
    rad[lab[i]] += hypot(y[i * 2] - cx[lab[i]], y[i * 2 + 1] - cy[lab[i]]) /
                   (double)cnt[lab[i]];
  for (int a = 0; a < groups; a++)
    for (int b = a + 1; b < groups; b++) {
      double d = hypot(cx[a] - cx[b], cy[a] - cy[b]);
      ck_assert_msg(d >= 1.5 * fmax(rad[a], rad[b]),
                    "groups %d and %d: centroids %g apart, mean radii %g, %g",
                    a, b, d, rad[a], rad[b]);
    }
}

/* The start itself: one epoch at a learning rate of 1e-6 moves no point by
 * more than 4e-6 (steps are clipped to 4). */
static float *start_of(ev_umap *u, const float *x, size_t n, size_t d) {
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_EPOCHS, 1));
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_LEARNING_RATE, 1e-6));
  return embed(u, x, n, d);
}

/* A disconnected graph gets umap-learn's per-component start: each ring
 * laid out spectrally (its arcs stay together, which a random start would
 * not give) inside its own region (groups_apart), for few components
 * (the ends of the axes) and for more than 2 x dims (places from the
 * spectral embedding of the ring centroids). */
START_TEST(disconnected_graph_gets_a_spectral_start_per_component) {
  size_t counts[2] = {3, 7}, m = 150;
  for (int t = 0; t < 2; t++) {
    size_t n = counts[t] * m;
    int *lab = malloc(n * sizeof *lab), *arc = malloc(n * sizeof *arc);
    float *x = rings(counts[t], m, lab, arc);
    ev_umap *u = made(2, 5);
    float *y = start_of(u, x, n, 3);
    expect_start(u, (double)counts[t], EV_UMAP_INIT_SPECTRAL, 0);
    groups_apart(y, n, lab, (int)counts[t]);
    double arcs_kept = knn_label_accuracy(y, n, arc, 5);
    ck_assert_msg(arcs_kept > 0.8, "%zu rings: 5-NN arc accuracy of the start "
                  "%g (a random start gives about 1/12)", counts[t], arcs_kept);
    /* the same start on one thread, bit for bit */
    ev_umap *u1 = made(1, 5);
    float *y1 = start_of(u1, x, n, 3);
    ck_assert_mem_eq(y, y1, n * 2 * sizeof *y);
    free(y1), free(y), free(x), free(lab), free(arc);
    ev_umap_free(u1);
    ev_umap_free(u);
  }
}
END_TEST

/* Neighbour lists with a component of two rows (each the other's only
 * neighbour) beside two rings: the pair is too small for a spectral
 * layout and is spread at random around its place, said so; the rings
 * still get theirs. */
START_TEST(small_components_spread_at_random_and_said_so) {
  size_t m = 150, n = 2 * m + 2, k = 10;
  int *lab = malloc(n * sizeof *lab), *arc = malloc(n * sizeof *arc);
  float *x = rings(2, m, lab, arc);
  int64_t *idx = malloc(n * k * sizeof *idx);
  float *dist = malloc(n * k * sizeof *dist);
  ev_knn *ix = NULL;
  ck_assert_ev_ok(ev_knn_create(&ix));
  ck_assert_ev_ok(ev_knn_build(ix, x, 2 * m, 3, 3));
  for (size_t i = 0; i < 2 * m; i++) idx[i * k] = (int64_t)i, dist[i * k] = 0;
  ck_assert_ev_ok(ev_knn_query_self(ix, k - 1, idx + 1, k, dist + 1, k));
  ev_knn_free(ix);
  for (size_t p = 0; p < 2; p++) {
    size_t i = 2 * m + p;
    for (size_t j = 0; j < k; j++) idx[i * k + j] = -1, dist[i * k + j] = 0;
    idx[i * k] = (int64_t)i;
    idx[i * k + 1] = (int64_t)(2 * m + 1 - p), dist[i * k + 1] = 1.0f;
    lab[i] = 2, arc[i] = 100;
  }
  ev_umap *u = made(2, 5);
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_NEIGHBORS, (double)k));
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_EPOCHS, 1));
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_LEARNING_RATE, 1e-6));
  ck_assert_ev_ok(ev_umap_fit_knn(u, n, k, idx, k, dist, k));
  float *y = malloc(n * 2 * sizeof *y);
  ck_assert_ev_ok(ev_umap_embedding(u, y, 2));
  expect_start(u, 3, EV_UMAP_INIT_SPECTRAL, 1);
  groups_apart(y, n, lab, 3);
  double arcs_kept = knn_label_accuracy(y, 2 * m, arc, 5);
  ck_assert_msg(arcs_kept > 0.8, "5-NN arc accuracy of the start %g", arcs_kept);
  /* the pair's points are apart (spread, not one spot) and nearer each
   * other than any ring point */
  double dx = y[(2 * m) * 2] - y[(2 * m + 1) * 2];
  double dy = y[(2 * m) * 2 + 1] - y[(2 * m + 1) * 2 + 1];
  double pair = sqrt(dx * dx + dy * dy), nearest = INFINITY;
  for (size_t i = 0; i < 2 * m; i++) {
    double ex = y[i * 2] - y[(2 * m) * 2], ey = y[i * 2 + 1] - y[(2 * m) * 2 + 1];
    nearest = fmin(nearest, sqrt(ex * ex + ey * ey));
  }
  ck_assert_msg(pair > 1e-3 && pair < nearest, "pair %g apart, nearest ring "
                "point %g", pair, nearest);
  free(y), free(idx), free(dist), free(x), free(lab), free(arc);
  ev_umap_free(u);
}
END_TEST

/* The per-component start (7 rings: places from the centroids' spectral
 * embedding, a sub-graph and a solve per ring): every allocation that
 * fails gives EV_ERR_NOMEM, leaks nothing and keeps the earlier map. */
START_TEST(component_start_allocation_failures_leak_nothing) {
  size_t m = 30, n = 7 * m;
  int lab[210], arc[210];
  float *x = rings(7, m, lab, arc);
  ev_umap *u = made(1, 0);
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_EPOCHS, 5));
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_NEIGHBORS, 10));
  ev__test_fail_alloc(-1, 0);
  ck_assert_ev_ok(ev_umap_fit(u, x, n, 3, 3));
  double v;
  ck_assert_ev_ok(ev_umap_info(u, EV_UMAP_INFO_N_COMPONENTS_GRAPH, &v));
  ck_assert_double_eq(v, 7);
  float *y = malloc(n * 2 * sizeof *y), *z = malloc(n * 2 * sizeof *z);
  ck_assert_ev_ok(ev_umap_embedding(u, y, 2));
  long total = ev__test_alloc_count(), base = ev__test_live_blocks();
  for (long k = 0; k < total; k++) {
    ev__test_fail_alloc(k, 1);
    int st = ev_umap_fit(u, x, n, 3, 3);
    ev__test_fail_alloc(-1, 0);
    ck_assert_msg(st == EV_ERR_NOMEM, "failing allocation %ld gave %s", k,
                  ev_status_name(st));
    ck_assert_int_eq(ev__test_live_blocks(), base);
    ck_assert_ev_ok(ev_umap_embedding(u, z, 2));
    ck_assert_int_eq(memcmp(y, z, n * 2 * sizeof *y), 0);
  }
  free(y), free(z), free(x);
  ev_umap_free(u);
}
END_TEST

/* 1,100 two-point components (each point's only neighbour its twin, the
 * pairs far apart): more components than the component places take
 * (1,024), so the random start, said so, instead of a 1,100 x 1,100
 * dense layout (at a million rows that matrix was 78 GB). */
START_TEST(many_components_get_the_random_start) {
  size_t pairs = 1100, n = 2 * pairs, k = 2;
  int64_t *idx = malloc(n * k * sizeof *idx);
  float *dist = malloc(n * k * sizeof *dist);
  for (size_t i = 0; i < n; i++) {
    idx[i * k] = (int64_t)i, dist[i * k] = 0.0f;
    idx[i * k + 1] = (int64_t)(i ^ 1), dist[i * k + 1] = 1.0f;
  }
  ev_umap *u;
  ck_assert_ev_ok(ev_umap_create(&u));
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_NEIGHBORS, 2));
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_EPOCHS, 20));
  ck_assert_ev_ok(ev_umap_fit_knn(u, n, k, idx, k, dist, k));
  double used, comps, spread;
  ck_assert_ev_ok(ev_umap_info(u, EV_UMAP_INFO_INIT_USED, &used));
  ck_assert_ev_ok(ev_umap_info(u, EV_UMAP_INFO_N_COMPONENTS_GRAPH, &comps));
  ck_assert_ev_ok(ev_umap_info(u, EV_UMAP_INFO_N_RANDOM_COMPONENTS, &spread));
  ck_assert_double_eq(comps, (double)pairs);
  ck_assert_double_eq(used, EV_UMAP_INIT_RANDOM);
  ck_assert_double_eq(spread, (double)pairs);
  float *y = malloc(n * 2 * sizeof *y);
  ck_assert_ev_ok(ev_umap_embedding(u, y, 2));
  for (size_t e = 0; e < 2 * n; e++) ck_assert(isfinite(y[e]));
  free(y), free(idx), free(dist);
  ev_umap_free(u);
}
END_TEST

/* 1,100 points of a ring, each with three copies a thousandth of the
 * ring's spacing apart (n_neighbors 3: each copy's neighbours are its
 * twins, so 1,100 components, more than umap-learn's dense component
 * places take): the places come from a UMAP map of the components'
 * centroids, so neighbouring ring points start near each other (5-NN arc
 * accuracy above 0.8 where the random start of the last session gave
 * about 1/12), the same bits on 1 and 2 threads, and the start spans
 * [0, 4 sqrt(components)] per column instead of [0, 10]. Tagged large:
 * more than 1,024 components need thousands of rows, and the two fits
 * took 30 s of CPU under memcheck (natively 0.4 s; ASan runs it). */
START_TEST(many_components_get_places_from_their_centroids) {
  size_t sources = 1100, copies = 3, n = sources * copies;
  float *x = malloc(n * 3 * sizeof *x);
  int *arc = malloc(n * sizeof *arc);
  uint64_t seed = 11;
  for (size_t i = 0; i < n; i++) {
    size_t s = i % sources;
    double t = 6.283185307179586 * (double)s / (double)sources;
    x[i * 3] = (float)(10.0 * cos(t) + 5e-5 * tu_normal(&seed));
    x[i * 3 + 1] = (float)(10.0 * sin(t) + 5e-5 * tu_normal(&seed));
    x[i * 3 + 2] = (float)(5e-5 * tu_normal(&seed));
    arc[i] = (int)(s * 12 / sources);
  }
  ev_umap *u = made(2, 3), *u1 = made(1, 3);
  ck_assert_ev_ok(ev_umap_set(u, EV_UMAP_N_NEIGHBORS, 3));
  ck_assert_ev_ok(ev_umap_set(u1, EV_UMAP_N_NEIGHBORS, 3));
  float *y = start_of(u, x, n, 3), *y1 = start_of(u1, x, n, 3);
  expect_start(u, (double)sources, EV_UMAP_INIT_SPECTRAL, (double)sources);
  double arcs_kept = knn_label_accuracy(y, n, arc, 5);
  ck_assert_msg(arcs_kept > 0.8, "5-NN arc accuracy of the start %g (a "
                "random start gives about 1/12)", arcs_kept);
  ck_assert_mem_eq(y, y1, n * 2 * sizeof *y);
  /* spread out to [0, 4 sqrt(1100)] per column instead of [0, 10], so
   * that the epochs need not push the components apart */
  for (size_t c = 0; c < 2; c++) {
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
      lo = fminf(lo, y[i * 2 + c]), hi = fmaxf(hi, y[i * 2 + c]);
    ck_assert_msg(fabsf(hi - lo - 132.66f) < 0.1f, "column %zu spans %g", c,
                  (double)(hi - lo));
  }
  free(y), free(y1), free(x), free(arc);
  ev_umap_free(u), ev_umap_free(u1);
}
END_TEST

#define ADD(s, fn, large)                                                     \
  do {                                                                        \
    TCase *tc = (large) ? tu_tcase_large(#fn, 300) : tcase_create(#fn);       \
    if (!(large)) tcase_set_timeout(tc, 120);                                 \
    tcase_add_test(tc, fn);                                                   \
    suite_add_tcase(s, tc);                                                   \
  } while (0)

static Suite *umap_suite(void) {
  Suite *s = suite_create("umap");
  ADD(s, smooth_knn_dist_rows_sum_to_log2_k, 0);
  ADD(s, fuzzy_union_by_hand, 0);
  ADD(s, find_ab_matches_umap_learn, 0);
  ADD(s, sgd_power_matches_pow, 0);
  ADD(s, separated_clusters_stay_apart, 1);
  ADD(s, ring_gets_spectral_start_and_keeps_neighbours, 1);
  ADD(s, disconnected_graph_gets_a_spectral_start_per_component, 1);
  ADD(s, small_components_spread_at_random_and_said_so, 0);
  ADD(s, same_seed_same_bits_any_thread_count, 1);
  ADD(s, transform_of_training_rows_lands_near_them, 1);
  ADD(s, fit_knn_matches_fit_from_rows, 0);
  ADD(s, auto_neighbour_search_by_exact_work, 0);
  ADD(s, bad_inputs_say_what_to_change, 0);
  ADD(s, duplicates_work, 0);
  ADD(s, cancel_keeps_earlier_map, 0);
  ADD(s, transform_reports_to_the_current_callback, 0);
  ADD(s, allocation_failures_leak_nothing, 0);
  ADD(s, component_start_allocation_failures_leak_nothing, 0);
  ADD(s, many_components_get_the_random_start, 0);
  ADD(s, many_components_get_places_from_their_centroids, 1);
  return s;
}

int main(void) { return tu_run(umap_suite()) ? EXIT_FAILURE : EXIT_SUCCESS; }
