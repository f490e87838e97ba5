/* The approximate kNN method (EV_KNN_METHOD_APPROXIMATE): recall against
 * the exact index on clustered and uniform data for the all-points graph
 * and for new rows, every metric, distances and order exactly as the exact
 * index reports them, bit-identical reruns for a seed on 1 and 2 threads,
 * bad inputs, cancelling and the AUTO rule. */
#include "core/testhook.h"
#include "testutil.h"

/* n x dim rows: uniform in the unit cube, or 20 Gaussian clusters of
 * spread 0.05 around uniform centres. */
static float *make_data(size_t n, size_t dim, int clustered, uint64_t seed) {
  float *x = malloc(n * dim * sizeof *x);
  float centres[20 * 64];
  for (size_t c = 0; c < 20 * dim; c++) centres[c] = (float)tu_uniform(&seed);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < dim; j++)
      x[i * dim + j] = clustered
          ? centres[(i % 20) * dim + j] + 0.05f * (float)tu_normal(&seed)
          : (float)tu_uniform(&seed);
  return x;
}

static ev_knn *index_of(int method, int metric, double p, const float *x,
                        size_t n, size_t dim, int threads) {
  ev_knn *ix = NULL;
  ck_assert_ev_ok(ev_knn_create(&ix));
  ck_assert_ev_ok(ev_knn_set(ix, EV_KNN_METHOD, method));
  ck_assert_ev_ok(ev_knn_set(ix, EV_KNN_METRIC, metric));
  ck_assert_ev_ok(ev_knn_set(ix, EV_KNN_MINKOWSKI_P, p));
  ck_assert_ev_ok(ev_knn_set(ix, EV_KNN_THREADS, threads));
  ck_assert_ev_ok(ev_knn_build(ix, x, n, dim, dim));
  return ix;
}

/* Recall of (ai, ad) against the exact (ei, ed), nq x k; every neighbour
 * found must carry the exact index's distance for it, and each list must
 * be sorted by distance, ties by lower index. */
static double check_lists(const int64_t *ai, const float *ad,
                          const int64_t *ei, const float *ed, size_t nq,
                          size_t k) {
  size_t same = 0;
  for (size_t i = 0; i < nq; i++)
    for (size_t a = 0; a < k; a++) {
      if (a > 0)
        ck_assert_msg(ad[i * k + a - 1] <= ad[i * k + a],
                      "row %zu: entries %zu and %zu out of order", i, a - 1, a);
      for (size_t b = 0; b < k; b++)
        if (ai[i * k + a] == ei[i * k + b]) {
          ck_assert_msg(ad[i * k + a] == ed[i * k + b],
                        "row %zu: neighbour %lld at %.9g, the exact index "
                        "says %.9g", i, (long long)ai[i * k + a],
                        ad[i * k + a], ed[i * k + b]);
          same++;
          break;
        }
    }
  return (double)same / (double)(nq * k);
}

/* Approximate against exact: the all-points graph and queries by nq new
 * rows (q), k neighbours; returns the lower of the two recalls. */
static double recall_of(int metric, double p, const float *x, size_t n,
                        size_t dim, const float *q, size_t nq, size_t k) {
  ev_knn *ex = index_of(EV_KNN_METHOD_EXACT, metric, p, x, n, dim, 2);
  ev_knn *ap = index_of(EV_KNN_METHOD_APPROXIMATE, metric, p, x, n, dim, 2);
  double built;
  ck_assert_ev_ok(ev_knn_get(ap, EV_KNN_BUILT_METHOD, &built));
  ck_assert_int_eq((int)built, EV_KNN_METHOD_APPROXIMATE);
  size_t rows = n > nq ? n : nq;
  int64_t *ei = malloc(rows * k * sizeof *ei), *ai = malloc(rows * k * sizeof *ai);
  float *ed = malloc(rows * k * sizeof *ed), *ad = malloc(rows * k * sizeof *ad);
  ck_assert_ev_ok(ev_knn_query_self(ex, k, ei, k, ed, k));
  ck_assert_ev_ok(ev_knn_query_self(ap, k, ai, k, ad, k));
  double graph = check_lists(ai, ad, ei, ed, n, k);
  ck_assert_ev_ok(ev_knn_query(ex, q, nq, dim, dim, k, ei, k, ed, k));
  ck_assert_ev_ok(ev_knn_query(ap, q, nq, dim, dim, k, ai, k, ad, k));
  double query = check_lists(ai, ad, ei, ed, nq, k);
  printf("metric %d p %g k %zu: graph recall %.4f, query recall %.4f\n",
         metric, p, k, graph, query);
  fflush(stdout);
  free(ei); free(ai); free(ed); free(ad);
  ev_knn_free(ex);
  ev_knn_free(ap);
  return graph < query ? graph : query;
}

START_TEST(recall_on_uniform_and_clustered_data) {
  size_t n = 5000, dim = 20, nq = 500;
  for (int clustered = 0; clustered <= 1; clustered++) {
    float *x = make_data(n + nq, dim, clustered, 7 + clustered);
    for (size_t k = 10; k <= 30; k += 20) {
      double r = recall_of(EV_METRIC_EUCLIDEAN, 2, x, n, dim, x + n * dim, nq, k);
      ck_assert_msg(r >= 0.98, "%s data, k = %zu: recall %.4f < 0.98",
                    clustered ? "clustered" : "uniform", k, r);
    }
    free(x);
  }
}
END_TEST

START_TEST(recall_for_every_metric) {
  size_t n = 2000, dim = 12, nq = 200;
  float *x = make_data(n + nq, dim, 1, 11);
  const struct { int metric; double p; } m[] = {
      {EV_METRIC_EUCLIDEAN, 2}, {EV_METRIC_SQEUCLIDEAN, 2},
      {EV_METRIC_COSINE, 2},    {EV_METRIC_CITYBLOCK, 2},
      {EV_METRIC_MINKOWSKI, 3}, {EV_METRIC_CHEBYSHEV, 2}};
  for (size_t t = 0; t < sizeof m / sizeof m[0]; t++) {
    double r = recall_of(m[t].metric, m[t].p, x, n, dim, x + n * dim, nq, 10);
    ck_assert_msg(r >= 0.98, "metric %d: recall %.4f < 0.98", m[t].metric, r);
  }
  free(x);
}
END_TEST

/* Same seed: bit-identical on 1 and 2 threads; another seed: other lists. */
/* ---- real data: the 1,797 digits of scikit-learn (tests/data/knn) ---- */

static float *read_digits(void) {
  enum { N = 1797, D = 64 };
  char path[512];
  const char *slash = strrchr(__FILE__, '/');
  snprintf(path, sizeof path, "%.*sdata/knn/digits_u8.bin",
           slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s (run from the source tree)", path);
  unsigned char *px = malloc(N * D);
  ck_assert_uint_eq(fread(px, 1, N * D, f), N * D);
  fclose(f);
  float *x = malloc(N * D * sizeof *x);
  for (int i = 0; i < N * D; i++) x[i] = px[i];
  free(px);
  return x;
}

/* The all-points graph of the digits (pixel rows with many near-ties) at
 * k = 10 (the build's lists), 60 (NN-descent again from the build's graph)
 * and queries by 300 of the rows against the other 1,497: recall >= 0.98
 * against the exact index, with the exact distances; 1 and 2 threads give
 * the same bits. Measured: graph 1.0000 / 0.9986, queries 0.9977 / 0.9992. */
START_TEST(recall_and_reproducibility_on_the_digits) {
  enum { N = 1797, D = 64, NQ = 300 };
  float *x = read_digits();
  size_t ks[] = {10, 60};
  /* under the sanitizers (tu_size) k = 10 only: k above the graph's degree
   * (the two-hop start) runs in allocation_failures_leak_nothing too */
  for (size_t c = 0; c < tu_size(2, 1); c++) {
    size_t k = ks[c];
    ev_knn *ex = index_of(EV_KNN_METHOD_EXACT, EV_METRIC_EUCLIDEAN, 2, x, N, D, 2);
    ev_knn *a1 = index_of(EV_KNN_METHOD_APPROXIMATE, EV_METRIC_EUCLIDEAN, 2, x,
                          N, D, 1);
    ev_knn *a2 = index_of(EV_KNN_METHOD_APPROXIMATE, EV_METRIC_EUCLIDEAN, 2, x,
                          N, D, 2);
    int64_t *ei = malloc(N * k * sizeof *ei), *i1 = malloc(N * k * sizeof *i1);
    int64_t *i2 = malloc(N * k * sizeof *i2);
    float *ed = malloc(N * k * sizeof *ed), *d1 = malloc(N * k * sizeof *d1);
    float *d2 = malloc(N * k * sizeof *d2);
    ck_assert_ev_ok(ev_knn_query_self(ex, k, ei, k, ed, k));
    ck_assert_ev_ok(ev_knn_query_self(a1, k, i1, k, d1, k));
    ck_assert_ev_ok(ev_knn_query_self(a2, k, i2, k, d2, k));
    double r = check_lists(i1, d1, ei, ed, N, k);
    printf("digits k %zu: graph recall %.4f\n", k, r);
    ck_assert_msg(r >= 0.98, "digits graph recall %.4f at k = %zu", r, k);
    ck_assert_int_eq(memcmp(i1, i2, N * k * sizeof *i1), 0);
    ck_assert_int_eq(memcmp(d1, d2, N * k * sizeof *d1), 0);
    ev_knn_free(ex);
    ev_knn_free(a1);
    ev_knn_free(a2);
    /* new rows: the last NQ digits against the others */
    size_t n = N - NQ;
    ex = index_of(EV_KNN_METHOD_EXACT, EV_METRIC_EUCLIDEAN, 2, x, n, D, 2);
    a2 = index_of(EV_KNN_METHOD_APPROXIMATE, EV_METRIC_EUCLIDEAN, 2, x, n, D, 2);
    ck_assert_ev_ok(ev_knn_query(ex, x + n * D, NQ, D, D, k, ei, k, ed, k));
    ck_assert_ev_ok(ev_knn_query(a2, x + n * D, NQ, D, D, k, i2, k, d2, k));
    r = check_lists(i2, d2, ei, ed, NQ, k);
    printf("digits k %zu: query recall %.4f\n", k, r);
    ck_assert_msg(r >= 0.98, "digits query recall %.4f at k = %zu", r, k);
    ev_knn_free(ex);
    ev_knn_free(a2);
    free(ei); free(i1); free(i2); free(ed); free(d1); free(d2);
  }
  free(x);
}
END_TEST

START_TEST(reproducible_for_a_seed_whatever_the_threads) {
  size_t n = 3000, dim = 16, nq = 300, k = 15;
  float *x = make_data(n + nq, dim, 1, 5);
  int64_t *i1 = malloc(n * k * sizeof *i1), *i2 = malloc(n * k * sizeof *i2);
  float *d1 = malloc(n * k * sizeof *d1), *d2 = malloc(n * k * sizeof *d2);
  ev_knn *a = index_of(EV_KNN_METHOD_APPROXIMATE, EV_METRIC_EUCLIDEAN, 2, x, n,
                       dim, 1);
  ev_knn *b = index_of(EV_KNN_METHOD_APPROXIMATE, EV_METRIC_EUCLIDEAN, 2, x, n,
                       dim, 2);
  /* One round leaves the lists far from converged, so they still show
   * every random choice: a choice made per thread would differ here. */
  ck_assert_ev_ok(ev_knn_set(a, EV_KNN_N_ITERS, 1));
  ck_assert_ev_ok(ev_knn_set(b, EV_KNN_N_ITERS, 1));
  ck_assert_ev_ok(ev_knn_build(a, x, n, dim, dim));
  ck_assert_ev_ok(ev_knn_build(b, x, n, dim, dim));
  ck_assert_ev_ok(ev_knn_query_self(a, k, i1, k, d1, k));
  ck_assert_ev_ok(ev_knn_query_self(b, k, i2, k, d2, k));
  ck_assert_int_eq(memcmp(i1, i2, n * k * sizeof *i1), 0);
  ck_assert_int_eq(memcmp(d1, d2, n * k * sizeof *d1), 0);
  ck_assert_ev_ok(ev_knn_query(a, x + n * dim, nq, dim, dim, k, i1, k, d1, k));
  ck_assert_ev_ok(ev_knn_query(b, x + n * dim, nq, dim, dim, k, i2, k, d2, k));
  ck_assert_int_eq(memcmp(i1, i2, nq * k * sizeof *i1), 0);
  ck_assert_int_eq(memcmp(d1, d2, nq * k * sizeof *d1), 0);
  /* k above the graph's degree runs NN-descent again: also reproducible. */
  size_t k2 = 40;
  int64_t *j1 = malloc(n * k2 * sizeof *j1), *j2 = malloc(n * k2 * sizeof *j2);
  ck_assert_ev_ok(ev_knn_query_self(a, k2, j1, k2, NULL, 0));
  ck_assert_ev_ok(ev_knn_query_self(b, k2, j2, k2, NULL, 0));
  ck_assert_int_eq(memcmp(j1, j2, n * k2 * sizeof *j1), 0);
  /* A different seed takes other random choices (other trees, other
   * samples): after one round the lists still show them. */
  ck_assert_ev_ok(ev_knn_set(b, EV_KNN_SEED, 12345));
  ck_assert_ev_ok(ev_knn_build(b, x, n, dim, dim));
  ck_assert_ev_ok(ev_knn_query_self(a, k, i1, k, NULL, 0));
  ck_assert_ev_ok(ev_knn_query_self(b, k, i2, k, NULL, 0));
  ck_assert_int_ne(memcmp(i1, i2, n * k * sizeof *i1), 0);
  free(i1); free(i2); free(d1); free(d2); free(j1); free(j2); free(x);
  ev_knn_free(a);
  ev_knn_free(b);
}
END_TEST

/* n x dim clustered rows (seed), their exact self lists of k (ei, ed),
 * and an approximate index of them on 1 thread (a) and on 2 (b), with
 * room for each one's self lists (i1, d1 and i2, d2). */
typedef struct two_runs {
  float *x;
  int64_t *i1, *i2, *ei;
  float *d1, *d2, *ed;
  ev_knn *ex, *a, *b;
} two_runs;

static two_runs two_runs_make(size_t n, size_t dim, size_t k, uint64_t seed) {
  two_runs r;
  r.x = make_data(n, dim, 1, seed);
  r.i1 = malloc(n * k * sizeof *r.i1), r.i2 = malloc(n * k * sizeof *r.i2);
  r.ei = malloc(n * k * sizeof *r.ei);
  r.d1 = malloc(n * k * sizeof *r.d1), r.d2 = malloc(n * k * sizeof *r.d2);
  r.ed = malloc(n * k * sizeof *r.ed);
  r.ex = index_of(EV_KNN_METHOD_EXACT, EV_METRIC_EUCLIDEAN, 2, r.x, n, dim, 2);
  ck_assert_ev_ok(ev_knn_query_self(r.ex, k, r.ei, k, r.ed, k));
  r.a = index_of(EV_KNN_METHOD_APPROXIMATE, EV_METRIC_EUCLIDEAN, 2, r.x, n,
                 dim, 1);
  r.b = index_of(EV_KNN_METHOD_APPROXIMATE, EV_METRIC_EUCLIDEAN, 2, r.x, n,
                 dim, 2);
  return r;
}

static void two_runs_free(two_runs *r) {
  free(r->i1); free(r->i2); free(r->ei); free(r->d1); free(r->d2);
  free(r->ed); free(r->x);
  ev_knn_free(r->ex);
  ev_knn_free(r->a);
  ev_knn_free(r->b);
}

/* NN-descent's join buffers its updates a block of rows at a time and
 * sizes the next block from the last one's updates per row; a block whose
 * updates overflow a thread's buffer is redone smaller. With buffers of
 * 20,000 updates and blocks sized for 4 buffers, most blocks are redone,
 * and the lists
 * are still the same on 1 and 2 threads, carry the exact distances and
 * keep their recall. 40 columns: the trees split the projected rows. */
START_TEST(join_redoes_overflowing_blocks_reproducibly) {
  size_t n = 2000, k = 15;
  two_runs r2 = two_runs_make(n, 40, k, 11);
  int64_t *i1 = r2.i1, *i2 = r2.i2, *ei = r2.ei;
  float *d1 = r2.d1, *d2 = r2.d2, *ed = r2.ed;
  ev_knn *a = r2.a, *b = r2.b;
  size_t before = ev__test_nnd_redone_blocks;
  ev__test_nnd_block_updates = 20000;
  ev__test_nnd_block_fill = 4;
  ck_assert_ev_ok(ev_knn_query_self(a, k, i1, k, d1, k));
  size_t redone = ev__test_nnd_redone_blocks - before;
  ck_assert_ev_ok(ev_knn_query_self(b, k, i2, k, d2, k));
  ev__test_nnd_block_updates = (size_t)1 << 21;
  ev__test_nnd_block_fill = 0.5;
  ck_assert_msg(redone > 0, "no block was redone");
  ck_assert_int_eq(memcmp(i1, i2, n * k * sizeof *i1), 0);
  ck_assert_int_eq(memcmp(d1, d2, n * k * sizeof *d1), 0);
  double r = check_lists(i1, d1, ei, ed, n, k);
  printf("small join buffers: %zu blocks redone, recall %.4f\n", redone, r);
  ck_assert_msg(r >= 0.98, "recall %.4f < 0.98", r);
  two_runs_free(&r2);
}
END_TEST

/* From ev__test_knn_reorder_rows rows the self query runs NN-descent on a
 * copy of the rows in one tree's leaf order and maps its lists back: the
 * lists must name the caller's rows (every neighbour at the exact index's
 * distance for it, never the row itself), keep their recall, and stay the
 * same on 1 and 2 threads. */
START_TEST(self_query_in_leaf_order_names_the_callers_rows) {
  size_t n = 3000, k = 20;
  two_runs r2 = two_runs_make(n, 24, k, 13);
  int64_t *i1 = r2.i1, *i2 = r2.i2, *ei = r2.ei;
  float *d1 = r2.d1, *d2 = r2.d2, *ed = r2.ed;
  ev_knn *a = r2.a, *b = r2.b;
  size_t before = ev__test_knn_reordered, rows = ev__test_knn_reorder_rows;
  ev__test_knn_reorder_rows = 1000;
  ck_assert_ev_ok(ev_knn_query_self(a, k, i1, k, d1, k));
  ck_assert_ev_ok(ev_knn_query_self(b, k, i2, k, d2, k));
  ev__test_knn_reorder_rows = rows;
  ck_assert_uint_eq(ev__test_knn_reordered - before, 2);
  ck_assert_int_eq(memcmp(i1, i2, n * k * sizeof *i1), 0);
  ck_assert_int_eq(memcmp(d1, d2, n * k * sizeof *d1), 0);
  for (size_t i = 0; i < n; i++)
    for (size_t t = 0; t < k; t++)
      ck_assert_msg(i1[i * k + t] != (int64_t)i && i1[i * k + t] >= 0 &&
                    i1[i * k + t] < (int64_t)n, "row %zu lists %lld", i,
                    (long long)i1[i * k + t]);
  double r = check_lists(i1, d1, ei, ed, n, k);
  /* the same index without the reordering, for comparison */
  ck_assert_ev_ok(ev_knn_query_self(a, k, i2, k, d2, k));
  ck_assert_uint_eq(ev__test_knn_reordered - before, 2);
  double r0 = check_lists(i2, d2, ei, ed, n, k);
  printf("self query in leaf order: recall %.4f (in the caller's order %.4f)\n",
         r, r0);
  ck_assert_msg(r >= 0.98, "recall %.4f < 0.98", r);
  ck_assert_int_ne(memcmp(i1, i2, n * k * sizeof *i1), 0); /* other trees */
  two_runs_free(&r2);
}
END_TEST

/* The build only copies the rows; the first query by new rows makes the
 * search graph, a self query never needs it: its answer is the same
 * whether or not a query made the graph before, and the next build drops
 * the graph. */
START_TEST(search_graph_made_by_the_first_query) {
  size_t n = tu_size(1000, 400), dim = 8, nq = 50, k = 10;
  float *x = make_data(n + nq, dim, 1, 21);
  int64_t *a = malloc(n * k * sizeof *a), *b = malloc(n * k * sizeof *b);
  int64_t *qa = malloc(nq * k * sizeof *qa), *qb = malloc(nq * k * sizeof *qb);
  long live = ev__test_live_blocks();
  ev_knn *ix = index_of(EV_KNN_METHOD_APPROXIMATE, EV_METRIC_EUCLIDEAN, 2, x,
                        n, dim, 2);
  /* the index holds the copy, its norms and nothing else yet */
  long built = ev__test_live_blocks();
  ck_assert_int_le(built - live, 4);
  ck_assert_ev_ok(ev_knn_query_self(ix, k, a, k, NULL, 0));
  ck_assert_int_eq(ev__test_live_blocks(), built);
  ck_assert_ev_ok(ev_knn_query(ix, x + n * dim, nq, dim, dim, k, qa, k, NULL, 0));
  ck_assert_int_gt(ev__test_live_blocks(), built); /* the graph, kept */
  ck_assert_ev_ok(ev_knn_query_self(ix, k, b, k, NULL, 0));
  ck_assert_mem_eq(a, b, n * k * sizeof *a);
  ck_assert_ev_ok(ev_knn_build(ix, x, n, dim, dim));
  ck_assert_int_eq(ev__test_live_blocks(), built); /* dropped */
  ck_assert_ev_ok(ev_knn_query(ix, x + n * dim, nq, dim, dim, k, qb, k, NULL, 0));
  ck_assert_mem_eq(qa, qb, nq * k * sizeof *qa);
  ck_assert_ev_ok(ev_knn_query_self(ix, k, b, k, NULL, 0));
  ck_assert_mem_eq(a, b, n * k * sizeof *a);
  double delta;
  ck_assert_ev_ok(ev_knn_param_default(EV_KNN_DELTA, &delta));
  ck_assert_double_eq(delta, 0.005);
  ev_knn_free(ix);
  free(a); free(b); free(qa); free(qb); free(x);
}
END_TEST

START_TEST(auto_picks_approximate_from_auto_rows) {
  double def, v;
  ck_assert_ev_ok(ev_knn_param_default(EV_KNN_METHOD, &def));
  ck_assert_int_eq((int)def, EV_KNN_METHOD_AUTO);
  ck_assert_ev_ok(ev_knn_param_default(EV_KNN_AUTO_ROWS, &def));
  ck_assert_double_eq(def, 200000.0); /* exact at 70,000, approximate at 10^6 */
  float *x = make_data(1000, 8, 0, 3);
  ev_knn *ix = NULL;
  ck_assert_ev_ok(ev_knn_create(&ix));
  ck_assert_ev_ok(ev_knn_get(ix, EV_KNN_BUILT_METHOD, &v));
  ck_assert_int_eq((int)v, EV_KNN_METHOD_AUTO); /* nothing built yet */
  ck_assert_ev_ok(ev_knn_set(ix, EV_KNN_AUTO_ROWS, 1000));
  ck_assert_ev_ok(ev_knn_build(ix, x, 999, 8, 8));
  ck_assert_ev_ok(ev_knn_get(ix, EV_KNN_BUILT_METHOD, &v));
  ck_assert_int_eq((int)v, EV_KNN_METHOD_EXACT);
  ck_assert_ev_ok(ev_knn_build(ix, x, 1000, 8, 8));
  ck_assert_ev_ok(ev_knn_get(ix, EV_KNN_BUILT_METHOD, &v));
  ck_assert_int_eq((int)v, EV_KNN_METHOD_APPROXIMATE);
  /* The default threshold keeps 1,000 rows exact. */
  ck_assert_ev_ok(ev_knn_set(ix, EV_KNN_AUTO_ROWS, def));
  ck_assert_ev(ev_knn_query_self(ix, 5, (int64_t[5000]){0}, 5, NULL, 0),
               EV_ERR_STATE); /* changed since the build */
  ck_assert_errmsg_has("EV_KNN_AUTO_ROWS");
  ck_assert_ev_ok(ev_knn_build(ix, x, 1000, 8, 8));
  ck_assert_ev_ok(ev_knn_get(ix, EV_KNN_BUILT_METHOD, &v));
  ck_assert_int_eq((int)v, EV_KNN_METHOD_EXACT);
  ev_knn_free(ix);
  free(x);
}
END_TEST

START_TEST(settings_and_bad_inputs) {
  double lo, hi;
  ck_assert_ev_ok(ev_knn_param_bounds(EV_KNN_GRAPH_DEGREE, &lo, &hi));
  ck_assert_double_eq(lo, 4);
  ck_assert_double_eq(hi, 256);
  ev_knn *ix = NULL;
  ck_assert_ev_ok(ev_knn_create(&ix));
  ck_assert_ev(ev_knn_set(ix, EV_KNN_METHOD, 3), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_knn_set(ix, EV_KNN_GRAPH_DEGREE, 3), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_knn_set(ix, EV_KNN_DELTA, 1.5), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_knn_set(ix, EV_KNN_BUILT_METHOD, 1), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("read-only");
  ck_assert_ev_ok(ev_knn_set(ix, EV_KNN_METHOD, EV_KNN_METHOD_APPROXIMATE));
  size_t n = 200, dim = 4;
  float *x = make_data(n, dim, 0, 9);
  ck_assert_ev(ev_knn_build(ix, x, 0, dim, dim), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_knn_build(ix, x, n, 0, dim), EV_ERR_ARGUMENT);
  x[17] = NAN;
  ck_assert_ev(ev_knn_build(ix, x, n, dim, dim), EV_ERR_NONFINITE);
  x[17] = 0.5f;
  ck_assert_ev_ok(ev_knn_build(ix, x, n, dim, dim));
  int64_t *idx = malloc(n * n * sizeof *idx);
  ck_assert_ev(ev_knn_query_self(ix, n, idx, n, NULL, 0), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("ask for at most 199 neighbours");
  ck_assert_ev(ev_knn_query(ix, x, 1, dim, dim, n + 1, idx, n + 1, NULL, 0),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_knn_query(ix, x, 0, dim, dim, 3, idx, 3, NULL, 0),
               EV_ERR_ARGUMENT);
  float q[4] = {0, NAN, 0, 0};
  ck_assert_ev(ev_knn_query(ix, q, 1, dim, dim, 3, idx, 3, NULL, 0),
               EV_ERR_NONFINITE);
  /* k = n - 1 on an approximate index: answered exactly (small n). */
  ck_assert_ev_ok(ev_knn_query_self(ix, n - 1, idx, n - 1, NULL, 0));
  ck_assert_int_eq(idx[0] == 0, 0);
  ck_assert_ev_ok(ev_knn_set(ix, EV_KNN_METHOD, EV_KNN_METHOD_EXACT));
  ck_assert_ev(ev_knn_query_self(ix, 3, idx, 3, NULL, 0), EV_ERR_STATE);
  ck_assert_errmsg_has("call ev_knn_build again");
  free(idx);
  free(x);
  ev_knn_free(ix);
}
END_TEST

static int cancel_at(void *user, int stage, size_t step, size_t total,
                     double value) {
  (void)step; (void)total; (void)value;
  ck_assert_int_eq(stage, EV_STAGE_KNN);
  return ++*(int *)user >= 2;
}

START_TEST(progress_and_cancel) {
  size_t n = 3000, dim = 8, k = 40;
  float *x = make_data(n, dim, 1, 13), *y = make_data(500, dim, 0, 14);
  ev_knn *ix = index_of(EV_KNN_METHOD_APPROXIMATE, EV_METRIC_EUCLIDEAN, 2, y,
                        500, dim, 2);
  int calls = 0;
  ck_assert_ev_ok(ev_knn_set_progress(ix, cancel_at, &calls));
  /* The approximate build only copies the rows: the queries make the
   * lists, so it reports nothing. */
  ck_assert_ev_ok(ev_knn_build(ix, x, n, dim, dim));
  ck_assert_int_eq(calls, 0);
  /* A cancelled self query (NN-descent). */
  int64_t *idx = malloc(n * k * sizeof *idx);
  long live = ev__test_live_blocks();
  ck_assert_ev(ev_knn_query_self(ix, k, idx, k, NULL, 0), EV_ERR_CANCELLED);
  ck_assert_errmsg_has("cancelled");
  ck_assert_int_eq(calls, 2);
  ck_assert_int_eq(ev__test_live_blocks(), live);
  /* A cancelled query by new rows, while it makes the search graph: no
   * graph is kept, the next query makes it. */
  calls = 0;
  ck_assert_ev(ev_knn_query(ix, x, n, dim, dim, 5, idx, 5, NULL, 0),
               EV_ERR_CANCELLED);
  ck_assert_int_eq(calls, 2);
  ck_assert_int_eq(ev__test_live_blocks(), live);
  /* ... and one cancelled after the graph is made (its first report is
   * the graph's last one, its second after the first 1,024 rows). */
  ck_assert_ev_ok(ev_knn_set_progress(ix, NULL, NULL));
  ck_assert_ev_ok(ev_knn_query(ix, x, 10, dim, dim, 5, idx, 5, NULL, 0));
  calls = 0;
  ck_assert_ev_ok(ev_knn_set_progress(ix, cancel_at, &calls));
  ck_assert_ev(ev_knn_query(ix, x, n, dim, dim, 5, idx, 5, NULL, 0),
               EV_ERR_CANCELLED);
  ck_assert_int_eq(calls, 2);
  ck_assert_ev_ok(ev_knn_set_progress(ix, NULL, NULL));
  ck_assert_ev_ok(ev_knn_query_self(ix, k, idx, k, NULL, 0)); /* usable */
  ck_assert_int_ne(idx[0], 0);
  free(idx);
  free(x);
  free(y);
  ev_knn_free(ix);
}
END_TEST

/* Every allocation of the approximate build, self query (k below and above
 * EV_KNN_GRAPH_DEGREE) and query (search graph included) failing in turn:
 * EV_ERR_NOMEM, nothing leaked, the index usable. */
START_TEST(allocation_failures_leak_nothing) {
  /* under memcheck (tu_size) 160 rows: still several NN-descent rounds over
   * lists of 30 and a graph of degree 8; each walk step cheaper */
  size_t n = tu_size(400, 160), dim = 6, k = 30;
  float *x = make_data(n, dim, 1, 17);
  ev_knn *ix = index_of(EV_KNN_METHOD_APPROXIMATE, EV_METRIC_EUCLIDEAN, 2, x,
                        n, dim, 2);
  ck_assert_ev_ok(ev_knn_set(ix, EV_KNN_GRAPH_DEGREE, 8));
  ck_assert_ev_ok(ev_knn_build(ix, x, n, dim, dim));
  int64_t *want = malloc(n * k * sizeof *want), *got = malloc(n * k * sizeof *got);
  size_t reorder_rows = ev__test_knn_reorder_rows;
  for (int pass = 0; pass < 4; pass++) {
    /* pass 3: the self query on the rows in leaf order */
    ev__test_knn_reorder_rows = pass == 3 ? 100 : reorder_rows;
    size_t kk = pass == 0 ? 5 : k; /* below and above the degree */
    size_t rows = pass == 2 ? 50 : n;
    if (pass != 2) ck_assert_ev_ok(ev_knn_query_self(ix, kk, want, kk, NULL, 0));
    else ck_assert_ev_ok(ev_knn_query(ix, x, rows, dim, dim, 5, want, 5, NULL, 0));
    if (pass == 2) kk = 5;
    for (long at = 0;; at++) {
      /* a new build drops the search graph: the query makes it again */
      if (pass == 2) ck_assert_ev_ok(ev_knn_build(ix, x, n, dim, dim));
      long live = ev__test_live_blocks();
      ev__test_fail_alloc(at, 0);
      int st = pass != 2 ? ev_knn_query_self(ix, kk, got, kk, NULL, 0)
                         : ev_knn_query(ix, x, rows, dim, dim, 5, got, 5, NULL, 0);
      ev__test_fail_alloc(-1, 0);
      /* a query keeps the search graph it made, even when a later
       * allocation failed: the next build drops it */
      if (pass == 2) ck_assert_ev_ok(ev_knn_build(ix, x, n, dim, dim));
      ck_assert_int_eq(ev__test_live_blocks(), live);
      if (st == EV_OK) {
        ck_assert_mem_eq(got, want, rows * kk * sizeof *got);
        break;
      }
      ck_assert_int_eq(st, EV_ERR_NOMEM);
    }
  }
  ev__test_knn_reorder_rows = reorder_rows;
  ck_assert_ev_ok(ev_knn_query_self(ix, k, want, k, NULL, 0));
  for (long at = 0;; at++) { /* a failed build keeps the old reference */
    long live = ev__test_live_blocks();
    ev__test_fail_alloc(at, 0);
    int st = ev_knn_build(ix, x, n, dim, dim);
    ev__test_fail_alloc(-1, 0);
    if (st == EV_OK) break;
    ck_assert_int_eq(st, EV_ERR_NOMEM);
    ck_assert_int_eq(ev__test_live_blocks(), live);
    ck_assert_ev_ok(ev_knn_query_self(ix, k, got, k, NULL, 0));
    ck_assert_mem_eq(got, want, n * k * sizeof *got);
  }
  free(want);
  free(got);
  free(x);
  ev_knn_free(ix);
}
END_TEST

int main(void) {
  Suite *s = suite_create("knn_approx");
  TCase *big = tu_tcase_large("recall", 300);
  tcase_add_test(big, recall_on_uniform_and_clustered_data);
  tcase_add_test(big, recall_for_every_metric);
  tcase_add_test(big, recall_and_reproducibility_on_the_digits);
  tcase_add_test(big, reproducible_for_a_seed_whatever_the_threads);
  tcase_add_test(big, progress_and_cancel);
  /* large: 47 s under memcheck; allocation_failures_leak_nothing runs the
   * reordered path there */
  tcase_add_test(big, self_query_in_leaf_order_names_the_callers_rows);
  suite_add_tcase(s, big);
  TCase *tc = tcase_create("knn_approx");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, search_graph_made_by_the_first_query);
  tcase_add_test(tc, join_redoes_overflowing_blocks_reproducibly);
  tcase_add_test(tc, auto_picks_approximate_from_auto_rows);
  tcase_add_test(tc, settings_and_bad_inputs);
  tcase_add_test(tc, allocation_failures_leak_nothing);
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
