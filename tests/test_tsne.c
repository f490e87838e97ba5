/* t-SNE: gradients against finite differences and the exact sums,
 * calibrated entropies, separated clusters, reproducibility, the three
 * inputs, cancelling, limits and every bad input. */
#include <omp.h>

#include "core/testhook.h"
#include "testutil.h"
#include "testutil_tsne.h"

/* ---- helpers ---- */

/* Fraction of points whose 10 nearest map neighbours all share its label. */
static double knn_label_accuracy(const float *y, size_t n, size_t dims,
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

static double *random_y(size_t n, size_t dims, double scale, uint64_t seed) {
  double *y = malloc(n * dims * sizeof *y);
  for (size_t e = 0; e < n * dims; e++) y[e] = scale * tu_normal(&seed);
  return y;
}

/* ---- gradient ---- */

START_TEST(exact_gradient_matches_finite_differences) {
  size_t n = 25, dims = 2, nd = n * dims;
  ev__csr p;
  tu_random_p(n, 6, 7, &p);
  double *y = random_y(n, dims, 1.0, 11), *g = malloc(nd * sizeof *g);
  double *g2 = malloc(nd * sizeof *g2);
  double *scratch = malloc((2 * nd + 2 * n) * sizeof *scratch);
  double plogp = ev__tsne_entropy_term(&p), kl, klp, klm, h = 1e-6;
  ev__tsne_gradient(&p, y, dims, 1.0, NULL, 0, plogp, g, &kl, scratch);
  ck_assert(kl > 0.0);
  for (size_t e = 0; e < nd; e++) {
    double keep = y[e];
    y[e] = keep + h;
    ev__tsne_gradient(&p, y, dims, 1.0, NULL, 0, plogp, g2, &klp, scratch);
    y[e] = keep - h;
    ev__tsne_gradient(&p, y, dims, 1.0, NULL, 0, plogp, g2, &klm, scratch);
    y[e] = keep;
    double fd = (klp - klm) / (2 * h);
    ck_assert_msg(fabs(fd - g[e]) < 1e-6 + 1e-5 * fabs(g[e]),
                  "coordinate %zu: gradient %.9g, finite difference %.9g", e,
                  g[e], fd);
  }
  ev__csr_free(&p);
  free(y), free(g), free(g2), free(scratch);
}
END_TEST

static void check_bh_theta0(size_t dims) {
  size_t n = 400, nd = n * dims;
  ev__csr p;
  tu_random_p(n, 10, 3, &p);
  double *y = random_y(n, dims, 5.0, 5);
  double *ge = malloc(nd * sizeof *ge), *gb = malloc(nd * sizeof *gb);
  double *scratch = malloc((2 * nd + 2 * n) * sizeof *scratch);
  double plogp = ev__tsne_entropy_term(&p), kle, klb;
  ev__bhtree *tree;
  ck_assert_ev_ok(ev__bhtree_create(n, dims, &tree));
  ev__tsne_gradient(&p, y, dims, 1.0, NULL, 0, plogp, ge, &kle, scratch);
  ev__tsne_gradient(&p, y, dims, 1.0, tree, 0.0, plogp, gb, &klb, scratch);
  double scale = 0;
  for (size_t e = 0; e < nd; e++) scale = fmax(scale, fabs(ge[e]));
  for (size_t e = 0; e < nd; e++)
    ck_assert_msg(fabs(ge[e] - gb[e]) <= 1e-12 * scale,
                  "dims %zu coordinate %zu: exact %.15g, theta 0 %.15g", dims,
                  e, ge[e], gb[e]);
  ck_assert_double_eq_tol(kle, klb, 1e-12);
  /* theta 0.5 is an approximation, but a close one. */
  double err = 0, norm = 0;
  ev__tsne_gradient(&p, y, dims, 1.0, tree, 0.5, plogp, gb, &klb, scratch);
  for (size_t e = 0; e < nd; e++) {
    err += (ge[e] - gb[e]) * (ge[e] - gb[e]);
    norm += ge[e] * ge[e];
  }
  ck_assert_msg(sqrt(err / norm) < 0.05, "theta 0.5 relative error %g",
                sqrt(err / norm));
  ck_assert_double_eq_tol(kle, klb, 0.01 * kle);
  ev__bhtree_free(tree);
  ev__csr_free(&p);
  free(y), free(ge), free(gb), free(scratch);
}

START_TEST(barnes_hut_theta0_matches_exact) {
  check_bh_theta0(1);
  check_bh_theta0(2);
  check_bh_theta0(3);
}
END_TEST

/* A map as t-SNE makes them: 12 tight clusters of 50 (sizes 0.3 to 3)
 * spread over 60 units, P joining each point to points of its own cluster.
 * The far-field approximation is what matters there: whole clusters are
 * summarised by one node. Theta 0.5 (the default) must stay within 2% of
 * the exact gradient in relative L2 norm (measured: 0.9% in 2-D, 0.5% in
 * 3-D; the unclustered map above allows 5%), and the KL it reports within
 * 0.5% (measured 0.1%). */
START_TEST(barnes_hut_theta_half_on_clustered_maps) {
  enum { clusters = 12, per = 50, n = clusters * per, m = 8 };
  for (size_t dims = 2; dims <= 3; dims++) {
    size_t nd = n * dims;
    uint64_t s = 17 + dims;
    double *y = malloc(nd * sizeof *y), centre[3];
    for (size_t c = 0; c < clusters; c++) {
      for (size_t k = 0; k < dims; k++) centre[k] = 60 * tu_uniform(&s) - 30;
      double size = 0.3 + 2.7 * (double)c / (clusters - 1);
      for (size_t i = c * per; i < (c + 1) * per; i++)
        for (size_t k = 0; k < dims; k++)
          y[i * dims + k] = centre[k] + size * tu_normal(&s);
    }
    size_t *rp = malloc((n + 1) * sizeof *rp);
    int64_t *col = malloc(n * m * sizeof *col);
    double *val = malloc(n * m * sizeof *val);
    for (size_t i = 0; i <= n; i++) rp[i] = i * m;
    for (size_t e = 0; e < n * m; e++) {
      size_t i = e / m, c = i / per;
      col[e] = (int64_t)(c * per + (i - c * per + 1 + tu_next(&s) % (per - 1)) % per);
      val[e] = tu_uniform(&s) + 0.01;
    }
    ev__csr p;
    ck_assert_ev_ok(ev__tsne_symmetrize(n, rp, col, val, &p));
    double *ge = malloc(nd * sizeof *ge), *gb = malloc(nd * sizeof *gb);
    double *scratch = malloc((2 * nd + 2 * n) * sizeof *scratch);
    double plogp = ev__tsne_entropy_term(&p), kle, klb, err = 0, norm = 0;
    ev__bhtree *tree;
    ck_assert_ev_ok(ev__bhtree_create(n, dims, &tree));
    ev__tsne_gradient(&p, y, dims, 1.0, NULL, 0, plogp, ge, &kle, scratch);
    ev__tsne_gradient(&p, y, dims, 1.0, tree, 0.5, plogp, gb, &klb, scratch);
    for (size_t e = 0; e < nd; e++) {
      err += (ge[e] - gb[e]) * (ge[e] - gb[e]);
      norm += ge[e] * ge[e];
    }
    fprintf(stderr, "clustered %zu-D map, theta 0.5: gradient relative error "
            "%.4f, KL %.6f vs exact %.6f\n", dims, sqrt(err / norm), klb, kle);
    ck_assert_msg(sqrt(err / norm) < 0.02, "%zu-D: theta 0.5 relative error "
                  "%g on a clustered map", dims, sqrt(err / norm));
    ck_assert_double_eq_tol(klb, kle, 0.005 * kle);
    ev__bhtree_free(tree);
    ev__csr_free(&p);
    free(y), free(ge), free(gb), free(scratch), free(rp), free(col), free(val);
  }
}
END_TEST

START_TEST(barnes_hut_handles_coincident_points) {
  size_t n = 64, dims = 2, nd = n * dims;
  ev__csr p;
  tu_random_p(n, 5, 9, &p);
  double *y = random_y(n, dims, 1.0, 2);
  for (size_t i = 0; i < 40; i++) y[i * 2] = 0.25, y[i * 2 + 1] = -0.5;
  double *ge = malloc(nd * sizeof *ge), *gb = malloc(nd * sizeof *gb);
  double *scratch = malloc((2 * nd + 2 * n) * sizeof *scratch), kl;
  ev__bhtree *tree;
  ck_assert_ev_ok(ev__bhtree_create(n, dims, &tree));
  ev__tsne_gradient(&p, y, dims, 1.0, NULL, 0, 0, ge, &kl, scratch);
  ev__tsne_gradient(&p, y, dims, 1.0, tree, 0.0, 0, gb, &kl, scratch);
  for (size_t e = 0; e < nd; e++) ck_assert_double_eq_tol(ge[e], gb[e], 1e-12);
  ev__bhtree_free(tree);
  ev__csr_free(&p);
  free(y), free(ge), free(gb), free(scratch);
}
END_TEST

/* ---- affinities ---- */

START_TEST(calibrated_entropy_matches_perplexity) {
  size_t n = 2000, k = 90;
  double perplexity = 30;
  uint64_t s = 17;
  float *dist = malloc(n * k * sizeof *dist);
  for (size_t i = 0; i < n; i++) {
    double scale = i % 3 == 0 ? 1e-3 : i % 3 == 1 ? 1.0 : 1e3;
    for (size_t j = 0; j < k; j++)
      dist[i * k + j] = (float)(scale * (1.0 + tu_uniform(&s)));
  }
  double *pc = malloc(n * k * sizeof *pc);
  ck_assert_ev_ok(ev__tsne_conditional(dist, n, k, 0, perplexity, pc, NULL,
                                       NULL));
  for (size_t i = 0; i < n; i++) {
    double h = 0, sum = 0;
    for (size_t j = 0; j < k; j++) {
      double v = pc[i * k + j];
      sum += v;
      if (v > 0) h -= v * log(v);
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-12);
    ck_assert_msg(fabs(h - log(perplexity)) < 1e-5,
                  "row %zu entropy %.9f, log(perplexity) %.9f", i, h,
                  log(perplexity));
  }
  free(dist), free(pc);
}
END_TEST

START_TEST(calibration_by_hand) {
  /* Two neighbours at squared distances 0 and 1: p = (1, e^-b) / (1 + e^-b);
   * perplexity 2 needs b = 0 (uniform). */
  double d2[2] = {0, 1}, p[2], beta;
  double h = ev__tsne_calibrate_row(d2, 2, 2.0, 1e-10, p, &beta);
  ck_assert_double_eq_tol(h, log(2.0), 1e-9);
  ck_assert_double_eq_tol(p[0], 0.5, 1e-3); /* entropy is flat there */
  ck_assert_double_eq_tol(beta, 0.0, 1e-2);
}
END_TEST

START_TEST(symmetrized_affinities_by_hand) {
  /* A = [[0 1 0] [3 0 0] [1 1 0]] -> A + A^T = [[0 4 1] [4 0 1] [1 1 0]],
   * sum 12. */
  size_t rp[4] = {0, 1, 2, 4};
  int64_t col[4] = {1, 0, 0, 1};
  double val[4] = {1, 3, 1, 1};
  ev__csr p;
  ck_assert_ev_ok(ev__tsne_symmetrize(3, rp, col, val, &p));
  ck_assert_uint_eq(p.row_ptr[3], 6);
  double want[6] = {4, 1, 4, 1, 1, 1};
  uint32_t wcol[6] = {1, 2, 0, 2, 0, 1};
  for (int e = 0; e < 6; e++) {
    ck_assert_uint_eq(p.col[e], wcol[e]);
    ck_assert_double_eq_tol(p.val[e], want[e] / 12.0, 1e-15);
  }
  ev__csr_free(&p);
}
END_TEST

/* The fits' symmetrisation of kNN lists (ev__tsne_symmetrize_lists,
 * lean on memory) gives ev__tsne_symmetrize's P bit for bit: lists with
 * mutual and one-way entries, hubs (rows many others hold), the diagonal,
 * zeros, repeats within a row, rows of only zeros, one and two threads. */
START_TEST(list_symmetrisation_matches_general) {
  size_t ns[] = {1, 7, 300, 2000}, ks[] = {1, 3, 15, 40};
  uint64_t s = 99;
  for (int c = 0; c < 4; c++)
    for (int threads = 1; threads <= 2; threads++) {
      size_t n = ns[c] + 1, k = ks[c] < n ? ks[c] : n - 1, nk = n * k;
      int64_t *col = malloc(nk * sizeof *col);
      double *val = malloc(nk * sizeof *val), *v2 = malloc(nk * sizeof *v2);
      uint32_t *c32 = malloc(nk * sizeof *c32);
      size_t *rp = malloc((n + 1) * sizeof *rp);
      for (size_t i = 0; i <= n; i++) rp[i] = i * k;
      for (size_t e = 0; e < nk; e++) {
        size_t i = e / k, r = tu_next(&s) % 16;
        /* mostly near rows (many mutual pairs), some to the first rows
         * (hubs), some repeats, the diagonal and zeros */
        size_t j = r < 10 ? (i + 1 + tu_next(&s) % 12) % n
                   : r < 13 ? tu_next(&s) % (n < 4 ? n : 4)
                   : r < 14 ? i : tu_next(&s) % n;
        col[e] = (int64_t)j;
        val[e] = r == 15 || i % 97 == 5 ? 0.0 : tu_uniform(&s) + 1e-3;
        if (e % k > 0 && tu_next(&s) % 20 == 0) col[e] = col[e - 1];
        c32[e] = (uint32_t)col[e];
        v2[e] = val[e];
      }
      ev__csr want, got;
      ev_status sw = ev__tsne_symmetrize(n, rp, col, val, &want);
      omp_set_num_threads(threads);
      ev_status sg = ev__tsne_symmetrize_lists(n, k, c32, v2, &got);
      ck_assert_int_eq(sg, sw);
      if (sw == EV_OK) {
        ck_assert_uint_eq(got.row_ptr[n], want.row_ptr[n]);
        for (size_t i = 0; i <= n; i++)
          ck_assert_uint_eq(got.row_ptr[i], want.row_ptr[i]);
        for (size_t e = 0; e < want.row_ptr[n]; e++) {
          ck_assert_uint_eq(got.col[e], want.col[e]);
          ck_assert_msg(got.val[e] == want.val[e], "n %zu entry %zu: %.17g "
                        "against %.17g", n, e, got.val[e], want.val[e]);
        }
        ev__csr_free(&want);
        ev__csr_free(&got);
      }
      free(col), free(val), free(v2), free(c32), free(rp);
    }
}
END_TEST

/* ---- whole fits ---- */

static void check_blobs(size_t dims, int method) {
  /* under memcheck (tu_size) 5 x 30 rows: perplexity 20's 60 neighbours
   * still leave rows out, the same trees, sums and stopping checks */
  size_t k = 5, per = tu_size(80, 30), n = k * per, d = 20;
  int labels[400];
  float *x = tu_blobs(k, per, d, 12.0, labels, 21);
  ev_tsne *t = tu_tsne_make(20, method, 1);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_COMPONENTS, dims));
  /* (and 300 iterations, 50 after the exaggeration) */
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, (double)tu_size(500, 300)));
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, d, d));
  float *y = malloc(n * dims * sizeof *y);
  ck_assert_ev_ok(ev_tsne_embedding(t, y, dims));
  double acc = knn_label_accuracy(y, n, dims, labels);
  ck_assert_msg(acc == 1.0, "dims %zu method %d: 10-NN label accuracy %g",
                dims, method, acc);
  double kl;
  size_t iters;
  ck_assert_ev_ok(ev_tsne_kl_divergence(t, &kl));
  ck_assert_ev_ok(ev_tsne_n_iter(t, &iters));
  ck_assert(kl > 0 && kl < 2.0);
  ck_assert_uint_le(iters, 500);
  ev_tsne_free(t);
  free(x), free(y);
}

START_TEST(separated_blobs_stay_separated) {
  check_blobs(2, EV_TSNE_METHOD_BARNES_HUT);
  check_blobs(3, EV_TSNE_METHOD_BARNES_HUT);
  check_blobs(2, EV_TSNE_METHOD_EXACT);
}
END_TEST

START_TEST(same_seed_same_bits) {
  /* under memcheck (tu_size) 3 x 60 rows: still a Barnes-Hut tree of
   * several levels, 2 threads, both starts; 120 iterations (both stages) */
  size_t per = tu_size(200, 60), n = 3 * per, d = 10;
  float *x = tu_blobs(3, per, d, 4.0, NULL, 5);
  for (int init = 0; init < 2; init++) {
    float *y[2];
    for (int r = 0; r < 2; r++) {
      ev_tsne *t = tu_tsne_make(15, EV_TSNE_METHOD_BARNES_HUT, 42);
      ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_THREADS, 2));
      ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_INIT, init));
      ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, (double)tu_size(300, 120)));
      y[r] = tu_tsne_fit_map(t, x, n, d);
      ev_tsne_free(t);
    }
    ck_assert_mem_eq(y[0], y[1], n * 2 * sizeof(float));
    free(y[0]), free(y[1]);
  }
  free(x);
}
END_TEST

static float *affinities_of(ev_tsne *t, size_t n, size_t **rp,
                            int64_t **col, size_t *nnz) {
  ck_assert_ev_ok(ev_tsne_affinities(t, NULL, NULL, NULL, nnz));
  *rp = malloc((n + 1) * sizeof **rp);
  *col = malloc(*nnz * sizeof **col);
  float *val = malloc(*nnz * sizeof *val);
  ck_assert_ev_ok(ev_tsne_affinities(t, *rp, *col, val, nnz));
  return val;
}

/* P from rows, from their distance matrix and from P itself agree. */
static void check_inputs_agree(int method) {
  /* under memcheck (tu_size) 3 x 40 rows: perplexity 20's 60 neighbours
   * still leave rows out of each row's list */
  size_t per = tu_size(100, 40), n = 3 * per, d = 6, nnz[3];
  float *x = tu_blobs(3, per, d, 3.0, NULL, 8);
  float *dist = malloc(n * n * sizeof *dist);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t c = 0; c < d; c++)
        s += (double)(x[i * d + c] - x[j * d + c]) * (x[i * d + c] - x[j * d + c]);
      dist[i * n + j] = (float)sqrt(s);
    }
  size_t *rp[3];
  int64_t *col[3];
  float *val[3];
  ev_tsne *t = tu_tsne_make(20, method, 3);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 50));
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, d, d));
  val[0] = affinities_of(t, n, &rp[0], &col[0], &nnz[0]);
  ck_assert_ev_ok(ev_tsne_fit_distances(t, dist, n, n));
  val[1] = affinities_of(t, n, &rp[1], &col[1], &nnz[1]);
  ck_assert_ev_ok(ev_tsne_fit_affinities(t, n, rp[0], col[0], val[0]));
  val[2] = affinities_of(t, n, &rp[2], &col[2], &nnz[2]);
  /* compare as dense matrices: tiny values may underflow to 0 in float */
  float *dense[3];
  for (int s = 0; s < 3; s++) {
    dense[s] = calloc(n * n, sizeof(float));
    for (size_t i = 0; i < n; i++)
      for (size_t e = rp[s][i]; e < rp[s][i + 1]; e++)
        dense[s][i * n + (size_t)col[s][e]] = val[s][e];
  }
  double total = 0;
  for (size_t e = 0; e < n * n; e++) {
    total += dense[0][e];
    for (int s = 1; s < 3; s++)
      ck_assert_msg(fabsf(dense[s][e] - dense[0][e]) <=
                        1e-4f * dense[0][e] + 1e-9f,
                    "input %d entry %zu: %g vs %g", s, e, dense[s][e],
                    dense[0][e]);
  }
  ck_assert_double_eq_tol(total, 1.0, 1e-5);
  if (method == EV_TSNE_METHOD_BARNES_HUT)
    ck_assert_uint_le(nnz[0], n * 60 * 2);
  else
    ck_assert_uint_eq(nnz[0], n * (n - 1));
  for (int s = 0; s < 3; s++) free(dense[s]);
  for (int s = 0; s < 3; s++) free(rp[s]), free(col[s]), free(val[s]);
  ev_tsne_free(t);
  free(x), free(dist);
}

START_TEST(distances_and_affinities_match_rows) {
  check_inputs_agree(EV_TSNE_METHOD_BARNES_HUT);
  check_inputs_agree(EV_TSNE_METHOD_EXACT);
}
END_TEST

typedef struct seen {
  size_t calls, last_step, stop_at;
  int last_stage;
  double last_kl;
} seen;

static int watch(void *user, int stage, size_t step, size_t total,
                 double value) {
  seen *s = user;
  if (stage == EV_STAGE_EXAGGERATION || stage == EV_STAGE_OPTIMIZE) {
    s->calls++;
    s->last_step = step, s->last_stage = stage, s->last_kl = value;
    ck_assert(isfinite(value) && value > 0);
  }
  return s->stop_at && step >= s->stop_at &&
         (stage == EV_STAGE_EXAGGERATION || stage == EV_STAGE_OPTIMIZE);
}

START_TEST(cancel_keeps_partial_map_and_handle_usable) {
  /* under memcheck (tu_size) 3 x 50 rows: the reports and iteration
   * counts checked here do not depend on n */
  size_t per = tu_size(100, 50), n = 3 * per, d = 5;
  float *x = tu_blobs(3, per, d, 5.0, NULL, 4);
  ev_tsne *t = tu_tsne_make(10, EV_TSNE_METHOD_BARNES_HUT, 9);
  seen s = {.stop_at = 100};
  ck_assert_ev_ok(ev_tsne_set_progress(t, watch, &s));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PROGRESS_EVERY, 25));
  ck_assert_ev(ev_tsne_fit(t, x, n, d, d), EV_ERR_CANCELLED);
  ck_assert_uint_eq(s.calls, 4);
  ck_assert_int_eq(s.last_stage, EV_STAGE_EXAGGERATION);
  size_t iters;
  double kl;
  ck_assert_ev_ok(ev_tsne_n_iter(t, &iters));
  ck_assert_uint_eq(iters, 100);
  ck_assert_ev_ok(ev_tsne_kl_divergence(t, &kl));
  ck_assert(isfinite(kl) && kl > 0);
  float *y = malloc(n * 2 * sizeof *y);
  ck_assert_ev_ok(ev_tsne_embedding(t, y, 2));
  double spread = 0;
  for (size_t e = 0; e < n * 2; e++) {
    ck_assert(isfinite(y[e]));
    spread = fmax(spread, fabs(y[e]));
  }
  ck_assert(spread > 1e-3); /* moved away from the 1e-4 start */
  s = (seen){0};
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, d, d));
  ck_assert_ev_ok(ev_tsne_n_iter(t, &iters));
  ck_assert_uint_eq(iters, 1000);
  ck_assert_uint_eq(s.calls, 40);
  ck_assert_int_eq(s.last_stage, EV_STAGE_OPTIMIZE);
  ck_assert_ev_ok(ev_tsne_kl_divergence(t, &kl));
  ck_assert(kl < s.last_kl * 1.05);
  ev_tsne_free(t);
  free(x), free(y);
}
END_TEST

START_TEST(given_init_is_used) {
  size_t n = 40, d = 3;
  float *x = tu_randn(n, d, 2), *y0 = tu_randn(n, 2, 3);
  float *y = malloc(n * 2 * sizeof *y);
  ev_tsne *t = tu_tsne_make(5, EV_TSNE_METHOD_EXACT, 0);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_INIT, EV_TSNE_INIT_GIVEN));
  ck_assert_ev(ev_tsne_fit(t, x, n, d, d), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("ev_tsne_set_init");
  ck_assert_ev_ok(ev_tsne_set_init(t, y0, n, 2, 2));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 0));
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, d, d));
  ck_assert_ev_ok(ev_tsne_embedding(t, y, 2));
  /* no iterations: the given map, recentred never (0 steps) */
  ck_assert_mem_eq(y, y0, n * 2 * sizeof *y);
  ck_assert_ev_ok(ev_tsne_set_init(t, y0, n - 1, 2, 2));
  ck_assert_ev(ev_tsne_fit(t, x, n, d, d), EV_ERR_ARGUMENT);
  ev_tsne_free(t);
  free(x), free(y0), free(y);
}
END_TEST

/* ---- limits ---- */

START_TEST(exact_memory_limit_names_barnes_hut) {
  size_t n = 2000, d = 2;
  float *x = tu_randn(n, d, 1);
  ev_tsne *t = tu_tsne_make(30, EV_TSNE_METHOD_EXACT, 0);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_MAX_MEMORY_MB, 16));
  ck_assert_ev(ev_tsne_fit(t, x, n, d, d), EV_ERR_LIMIT);
  ck_assert_errmsg_has("EV_TSNE_METHOD_BARNES_HUT");
  ck_assert_errmsg_has("46 MiB");
  ev_tsne_free(t);
  free(x);
}
END_TEST

/* AUTO takes exact for small n only when it fits the memory limit: with a
 * 1 MiB limit, 600 points (4 MiB of affinities) go to Barnes-Hut, whose
 * map equals an explicit Barnes-Hut fit; with the default limit AUTO's map
 * equals an explicit exact fit. */
static void same_map_as(ev_tsne *t, int method, const float *x, size_t n,
                        size_t d) {
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_AUTO));
  float *a = tu_tsne_fit_map(t, x, n, d);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, method));
  float *b = tu_tsne_fit_map(t, x, n, d);
  ck_assert_int_eq(memcmp(a, b, n * 2 * sizeof *a), 0);
  free(a), free(b);
}

START_TEST(auto_respects_memory_limit) {
  /* under memcheck (tu_size) 300 rows: n (n - 1) 12 bytes still above
   * 1 MiB, so AUTO still chooses Barnes-Hut there and exact at 1 GiB;
   * perplexity 10 and 20 iterations (this case took 14.5 s of CPU under
   * memcheck at perplexity 30 and 60 iterations) */
  size_t n = tu_size(600, 300), d = 3;
  float *x = tu_randn(n, d, 2);
  ev_tsne *t = tu_tsne_make((double)tu_size(30, 10), EV_TSNE_METHOD_AUTO, 0);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, (double)tu_size(60, 20)));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_MAX_MEMORY_MB, 1));
  same_map_as(t, EV_TSNE_METHOD_BARNES_HUT, x, n, d);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_MAX_MEMORY_MB, 1024));
  same_map_as(t, EV_TSNE_METHOD_EXACT, x, n, d);
  ev_tsne_free(t);
  free(x);
}
END_TEST

START_TEST(perplexity_too_large_names_largest) {
  size_t n = 50, d = 3;
  float *x = tu_randn(n, d, 1);
  ev_tsne *t = tu_tsne_make(30, EV_TSNE_METHOD_BARNES_HUT, 0);
  ck_assert_ev(ev_tsne_fit(t, x, n, d, d), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("largest allowed is 16.3333");
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_EXACT));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PERPLEXITY, 50));
  ck_assert_ev(ev_tsne_fit(t, x, n, d, d), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("largest allowed is 49");
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PERPLEXITY, 49));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 50));
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, d, d));
  ev_tsne_free(t);
  free(x);
}
END_TEST

/* ---- bad and odd input ---- */

START_TEST(nonfinite_input_refused) {
  size_t n = 30, d = 3;
  float *x = tu_randn(n, d, 1);
  ev_tsne *t = tu_tsne_make(5, EV_TSNE_METHOD_AUTO, 0);
  x[7 * d + 1] = NAN;
  ck_assert_ev(ev_tsne_fit(t, x, n, d, d), EV_ERR_NONFINITE);
  ck_assert_errmsg_has("x[7][1] is NaN");
  x[7 * d + 1] = INFINITY;
  ck_assert_ev(ev_tsne_fit(t, x, n, d, d), EV_ERR_NONFINITE);
  float dist[4] = {0, NAN, 1, 0};
  ck_assert_ev(ev_tsne_fit_distances(t, dist, 2, 2), EV_ERR_NONFINITE);
  size_t rp[3] = {0, 1, 2};
  int64_t col[2] = {1, 0};
  float val[2] = {1, INFINITY};
  ck_assert_ev(ev_tsne_fit_affinities(t, 2, rp, col, val), EV_ERR_NONFINITE);
  ck_assert_ev(ev_tsne_embedding(t, x, 2), EV_ERR_STATE);
  ev_tsne_free(t);
  free(x);
}
END_TEST

static void check_map_finite(ev_tsne *t, size_t n) {
  float *y = malloc(n * 2 * sizeof *y);
  ck_assert_ev_ok(ev_tsne_embedding(t, y, 2));
  for (size_t e = 0; e < n * 2; e++) ck_assert(isfinite(y[e]));
  double kl;
  ck_assert_ev_ok(ev_tsne_kl_divergence(t, &kl));
  ck_assert(isfinite(kl) && kl >= -1e-9);
  free(y);
}

/* Rows i and i + n/2 are the same point: they have the same affinities,
 * and the strongest one to each other, so each copy's nearest point on the
 * map must be its twin. (They need not coincide: t-SNE's repulsion keeps
 * twins about as far apart as other close neighbours once the map has
 * converged; scikit-learn's maps do the same.) Returns how many copies
 * have another point nearer than their twin. */
static size_t twins_apart(ev_tsne *t, size_t n) {
  float *y = malloc(n * 2 * sizeof *y);
  ck_assert_ev_ok(ev_tsne_embedding(t, y, 2));
  size_t apart = 0;
  for (size_t i = 0; i < n; i++) {
    size_t twin = (i + n / 2) % n;
    double dt = hypot(y[2 * i] - y[2 * twin], y[2 * i + 1] - y[2 * twin + 1]);
    for (size_t j = 0; j < n; j++)
      if (j != i && j != twin &&
          hypot(y[2 * i] - y[2 * j], y[2 * i + 1] - y[2 * j + 1]) < dt) {
        apart++;
        break;
      }
  }
  free(y);
  return apart;
}

START_TEST(duplicates_and_constant_data_give_finite_maps) {
  /* under memcheck (tu_size) 140 rows: 70 twins (at 100 some twins end
   * apart after 300 iterations), the same two methods and three inputs */
  size_t n = tu_size(200, 140), d = 4;
  float *x = tu_randn(n, d, 1);
  for (size_t i = n / 2; i < n; i++)
    memcpy(x + i * d, x + (i - n / 2) * d, d * sizeof *x);
  float *x0 = malloc(n * d * sizeof *x0);
  memcpy(x0, x, n * d * sizeof *x0);
  for (int method = 1; method <= 2; method++) {
    ev_tsne *t = tu_tsne_make(10, method, 0);
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 300));
    ck_assert_ev_ok(ev_tsne_fit(t, x0, n, d, d));
    size_t apart = twins_apart(t, n);
    ck_assert_msg(apart == 0, "method %d: %zu of %zu copies have another "
                  "point nearer than their twin", method, apart, n);
    ck_assert_ev_ok(ev_tsne_fit(t, x, n, d, d));
    check_map_finite(t, n);
    for (size_t e = 0; e < n * d; e++) x[e] = e % 2 ? 1.0f : x[e];
    float *c = malloc(n * d * sizeof *c);
    for (size_t e = 0; e < n * d; e++) c[e] = 3.0f;
    ck_assert_ev_ok(ev_tsne_fit(t, c, n, d, d));
    check_map_finite(t, n);
    free(c);
    ev_tsne_free(t);
  }
  free(x0);
  free(x);
}
END_TEST

START_TEST(tiny_inputs) {
  float x[3] = {0.0f, 1.0f, 5.0f};
  ev_tsne *t = tu_tsne_make(1, EV_TSNE_METHOD_AUTO, 0);
  ck_assert_ev(ev_tsne_fit(t, x, 1, 1, 1), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("at least 2 points");
  ck_assert_ev_ok(ev_tsne_fit(t, x, 2, 1, 1)); /* N = 2, D = 1 */
  check_map_finite(t, 2);
  ck_assert_ev_ok(ev_tsne_fit(t, x, 3, 1, 1)); /* N = 3 */
  check_map_finite(t, 3);
  float y[6];
  ck_assert_ev_ok(ev_tsne_embedding(t, y, 2));
  /* the two near points end up nearer than the far one */
  double d01 = hypot(y[0] - y[2], y[1] - y[3]);
  double d02 = hypot(y[0] - y[4], y[1] - y[5]);
  ck_assert(d01 < d02);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_BARNES_HUT));
  ck_assert_ev(ev_tsne_fit(t, x, 3, 1, 1), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("largest allowed is 0.666667");
  ev_tsne_free(t);
}
END_TEST

START_TEST(settings_out_of_range) {
  ev_tsne *t = tu_tsne_make(30, 0, 0);
  double v, lo, hi;
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_N_COMPONENTS, 0), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("EV_TSNE_N_COMPONENTS");
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_PERPLEXITY, 0.5), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_THETA, 1.5), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_METHOD, 4), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_N_ITER, 10.5), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_LEARNING_RATE, -1), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, EV_TSNE_MOMENTUM, NAN), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_set(t, 999, 1), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_get(t, 0, &v), EV_ERR_ARGUMENT);
  ck_assert_ev_ok(ev_tsne_get(t, EV_TSNE_PERPLEXITY, &v));
  ck_assert_double_eq(v, 30);
  ck_assert_ev_ok(ev_tsne_get(t, EV_TSNE_EARLY_EXAGGERATION, &v));
  ck_assert_double_eq(v, 12);
  ck_assert_ev_ok(ev_tsne_get(t, EV_TSNE_EXAGGERATION_ITERATIONS, &v));
  ck_assert_double_eq(v, 250);
  ck_assert_ev_ok(ev_tsne_param_bounds(EV_TSNE_THETA, &lo, &hi));
  ck_assert_double_eq(lo, 0);
  ck_assert_double_eq(hi, 1);
  ck_assert_ev(ev_tsne_set(NULL, EV_TSNE_THETA, 0.1), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_create(NULL), EV_ERR_ARGUMENT);
  ev_tsne_free(NULL);
  /* Barnes-Hut beyond 3 dimensions */
  float *x = tu_randn(200, 3, 1);
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_COMPONENTS, 4));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_BARNES_HUT));
  ck_assert_ev(ev_tsne_fit(t, x, 200, 3, 3), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("EV_TSNE_METHOD_EXACT");
  ck_assert_ev(ev_tsne_fit(t, x, 200, 3, 2), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_fit(t, NULL, 200, 3, 3), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_fit(t, x, 200, 0, 3), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_fit(NULL, x, 200, 3, 3), EV_ERR_ARGUMENT);
  /* the exact method embeds in 4 dimensions */
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_EXACT));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 20));
  ck_assert_ev_ok(ev_tsne_fit(t, x, 200, 3, 3));
  size_t n, dims;
  ck_assert_ev_ok(ev_tsne_size(t, &n, &dims));
  ck_assert_uint_eq(n, 200);
  ck_assert_uint_eq(dims, 4);
  float y[200 * 4];
  ck_assert_ev(ev_tsne_embedding(t, y, 3), EV_ERR_ARGUMENT);
  ev_tsne_free(t);
  free(x);
}
END_TEST

START_TEST(bad_distances_and_affinities) {
  ev_tsne *t = tu_tsne_make(1, EV_TSNE_METHOD_EXACT, 0);
  float dist[9] = {0, 1, 2, 1, 0, -1, 2, 1, 0};
  ck_assert_ev(ev_tsne_fit_distances(t, dist, 3, 3), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("dist[1][2]");
  dist[5] = 1;
  ck_assert_ev_ok(ev_tsne_fit_distances(t, dist, 3, 3));
  size_t rp[4] = {0, 1, 2, 3}, bad_rp[4] = {0, 2, 1, 3};
  int64_t col[3] = {1, 2, 0}, bad_col[3] = {1, 3, 0};
  float val[3] = {1, 1, 1}, neg[3] = {1, -1, 1}, zero[3] = {0, 0, 0};
  ck_assert_ev(ev_tsne_fit_affinities(t, 3, bad_rp, col, val), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_fit_affinities(t, 3, rp, bad_col, val), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("col_idx[1]");
  ck_assert_ev(ev_tsne_fit_affinities(t, 3, rp, col, neg), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_tsne_fit_affinities(t, 3, rp, col, zero), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("no positive value");
  ck_assert_ev(ev_tsne_fit_affinities(t, 3, NULL, col, val), EV_ERR_ARGUMENT);
  ck_assert_ev_ok(ev_tsne_fit_affinities(t, 3, rp, col, val));
  size_t nnz = 1;
  size_t orp[4];
  int64_t ocol[6];
  float oval[6];
  ck_assert_ev(ev_tsne_affinities(t, orp, ocol, oval, &nnz), EV_ERR_ARGUMENT);
  ck_assert_uint_eq(nnz, 6);
  ck_assert_ev_ok(ev_tsne_affinities(t, orp, ocol, oval, &nnz));
  for (int e = 0; e < 6; e++) ck_assert_float_eq_tol(oval[e], 1.0f / 6, 1e-7);
  ev_tsne_free(t);
}
END_TEST

START_TEST(allocation_failures_leak_nothing) {
  /* under memcheck (tu_size) 50 rows: the same allocations (none depends
   * on n being larger), each walk step a cheaper fit */
  size_t n = tu_size(120, 50), d = 4;
  float *x = tu_randn(n, d, 1);
  for (int method = 1; method <= 2; method++) {
    ev_tsne *t = tu_tsne_make(10, method, 0);
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 5));
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

/* One case per test, so CK_RUN_CASE=name runs one. */
#define ADD(s, fn)                                                            \
  do {                                                                        \
    TCase *tc = tcase_create(#fn);                                            \
    tcase_set_timeout(tc, 120);                                               \
    tcase_add_test(tc, fn);                                                   \
    suite_add_tcase(s, tc);                                                   \
  } while (0)

static Suite *tsne_suite(void) {
  Suite *s = suite_create("tsne");
  ADD(s, exact_gradient_matches_finite_differences);
  ADD(s, barnes_hut_theta0_matches_exact);
  ADD(s, barnes_hut_handles_coincident_points);
  ADD(s, calibrated_entropy_matches_perplexity);
  ADD(s, calibration_by_hand);
  ADD(s, symmetrized_affinities_by_hand);
  ADD(s, list_symmetrisation_matches_general);
  ADD(s, separated_blobs_stay_separated);
  ADD(s, same_seed_same_bits);
  ADD(s, distances_and_affinities_match_rows);
  ADD(s, cancel_keeps_partial_map_and_handle_usable);
  ADD(s, given_init_is_used);
  ADD(s, exact_memory_limit_names_barnes_hut);
  ADD(s, auto_respects_memory_limit);
  ADD(s, perplexity_too_large_names_largest);
  ADD(s, nonfinite_input_refused);
  ADD(s, duplicates_and_constant_data_give_finite_maps);
  ADD(s, barnes_hut_theta_half_on_clustered_maps);
  ADD(s, tiny_inputs);
  ADD(s, settings_out_of_range);
  ADD(s, bad_distances_and_affinities);
  ADD(s, allocation_failures_leak_nothing);
  return s;
}

int main(void) { return tu_run(tsne_suite()) ? EXIT_FAILURE : EXIT_SUCCESS; }
