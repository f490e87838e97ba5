/* Cancelling from the progress callback at every stage of every call that
 * reports progress, at its first report and at later ones: the call
 * returns EV_ERR_CANCELLED, the callback is not called again, nothing
 * leaks, the handle stays usable (the same call then gives the reference
 * result bit for bit) and keeps what its header promises (PCA its earlier
 * fit, t-SNE its map so far). Memory limits are honoured. */
#include <pthread.h>
#include <sys/stat.h>

#include "core/testhook.h"
#include "testutil.h"

#define D "tests/data/io/"

/* ---- the recording, cancelling callback ---- */
typedef struct report { int stage; size_t step, total; } report;
enum { MAX_REPORTS = 1 << 14 };
static report reps[MAX_REPORTS];
static size_t n_reps;
/* Cancel at the first report of cancel_stage with step >= cancel_step.
 * (Not at the r-th report: how many reports a parallel call makes can
 * depend on scheduling, but every stage reports its last step.) */
static int cancel_stage; /* 0: never */
static size_t cancel_step;
static report cancelled_at;
static pthread_t caller;
static int wrong_thread, after_cancel, did_cancel;

static int progress(void *user, int stage, size_t step, size_t total,
                    double value) {
  (void)user, (void)value;
  if (!pthread_equal(pthread_self(), caller)) wrong_thread = 1;
  if (did_cancel) after_cancel = 1;
  if (n_reps < MAX_REPORTS)
    reps[n_reps] = (report){stage, step, total};
  n_reps++;
  if (cancel_stage == stage && step >= cancel_step && !did_cancel) {
    did_cancel = 1;
    cancelled_at = (report){stage, step, total};
    return 1;
  }
  return 0;
}

/* One call that reports progress. call() makes it and copies its result
 * into out; cancelled(), when set, checks what the handle holds after a
 * cancel at report r (stage, step). */
typedef struct cwalk {
  const char *name;
  ev_status (*call)(void);
  void (*cancelled)(const report *r, const void *ref);
  void *out;
  size_t bytes;
  const int *stages; /* stages the call must report, 0-terminated */
} cwalk;

static long n_cancels, n_walks; /* completed cancels and walks */

static void cancel_at_report(const cwalk *w, const void *ref, long r,
                             long live) {
  n_reps = 0;
  after_cancel = did_cancel = 0;
  cancel_stage = reps[r].stage;
  cancel_step = reps[r].step;
  ev_status st = w->call();
  cancel_stage = 0;
  report at = cancelled_at;
  ck_assert_msg(st == EV_ERR_CANCELLED, "%s cancelled at report %ld (stage "
                "%d step %zu) returned %s (%s)", w->name, r, at.stage,
                at.step, ev_status_name(st), ev_last_error());
  ck_assert_errmsg_has("cancelled");
  ck_assert_msg(!after_cancel, "%s: the callback was called again after "
                "cancelling at report %ld", w->name, r);
  ck_assert_msg(ev__test_live_blocks() == live, "%s: cancelling at report "
                "%ld (stage %d) leaks %ld blocks", w->name, r, at.stage,
                ev__test_live_blocks() - live);
  if (w->cancelled) w->cancelled(&at, ref);
  did_cancel = 0;
  n_reps = 0;
  ck_assert_msg(w->call() == EV_OK, "%s unusable after a cancel: %s",
                w->name, ev_last_error());
  ck_assert_msg(!w->bytes || memcmp(w->out, ref, w->bytes) == 0,
                "%s after a cancel at report %ld differs from the reference",
                w->name, r);
  n_cancels++;
}

/* Cancel at the first, second, middle and last report of every stage;
 * under the sanitizers (tu_small) at the first and last only: the second
 * and middle reports take the same cancel path at another step, and each
 * pick re-runs the call twice (memcheck spent 25 s of CPU on the exact
 * t-SNE's walk with all four). */
static void walk_cancel(const cwalk *w) {
  caller = pthread_self();
  wrong_thread = 0;
  cancel_stage = 0;
  n_reps = 0;
  ck_assert_msg(w->call() == EV_OK, "%s: %s", w->name, ev_last_error());
  n_reps = 0;
  ck_assert_int_eq(w->call(), EV_OK); /* steady state reached */
  long live = ev__test_live_blocks();
  size_t total = n_reps < MAX_REPORTS ? n_reps : MAX_REPORTS;
  report *all = malloc((total + 1) * sizeof *all);
  memcpy(all, reps, total * sizeof *all);
  void *ref = malloc(w->bytes + 1);
  memcpy(ref, w->out, w->bytes);
  ck_assert_msg(!wrong_thread, "%s: progress called on another thread",
                w->name);
  for (const int *s = w->stages; *s; s++) {
    long first = -1, last = -1, count = 0;
    for (size_t i = 0; i < total; i++)
      if (all[i].stage == *s) {
        if (first < 0) first = (long)i;
        last = (long)i;
        count++;
      }
    ck_assert_msg(count > 0, "%s never reports stage %d", w->name, *s);
    long picks[4] = {first, -1, -1, last};
    long seen = 0;
    for (size_t i = 0; i < total; i++)
      if (all[i].stage == *s) {
        if (seen == 1) picks[1] = (long)i;
        if (seen == count / 2) picks[2] = (long)i;
        seen++;
      }
    if (tu_small()) picks[1] = picks[2] = -1;
    for (int p = 0; p < 4; p++) {
      if (picks[p] < 0 || (p > 0 && picks[p] == picks[p - 1])) continue;
      memcpy(reps, all, total * sizeof *all);
      cancel_at_report(w, ref, picks[p], live);
    }
  }
  free(all);
  free(ref);
  n_walks++;
}

static float out[1 << 18];

/* ---- kNN ---- */
static ev_knn *knn;
static float *xk;
/* Under memcheck (EV_TEST_SMALL, tests/testutil.h) 256 rows: still 4
 * blocks of 64 over 2 threads, so the same block, merge and progress
 * paths; every pick below needs only a stage's first, second, middle and
 * last report. */
enum { KN_MAX = 700, KD = 16, KK = 6 };
static size_t KN = KN_MAX;
static ev_status c_knn_query(void) {
  return ev_knn_query(knn, xk, KN, KD, KD, KK, (int64_t *)out, KK,
                      out + 2 * KN * KK, KK);
}
static ev_status c_knn_self(void) {
  return ev_knn_query_self(knn, KK, (int64_t *)out, KK, out + 2 * KN * KK,
                           KK);
}

static void knn_cancel(int metric) {
  static const int stages[] = {EV_STAGE_KNN, 0};
  KN = tu_size(KN_MAX, 256);
  xk = tu_randn(KN, KD, 11);
  ck_assert_ev_ok(ev_knn_create(&knn));
  ck_assert_ev_ok(ev_knn_set(knn, EV_KNN_THREADS, 2));
  ck_assert_ev_ok(ev_knn_set(knn, EV_KNN_METRIC, metric));
  ck_assert_ev_ok(ev_knn_set(knn, EV_KNN_BLOCK_ROWS, 64));
  ck_assert_ev_ok(ev_knn_set_progress(knn, progress, NULL));
  ck_assert_ev_ok(ev_knn_build(knn, xk, KN, KD, KD));
  cwalk w[] = {
      {"ev_knn_query", c_knn_query, NULL, out, KN * KK * 12, stages},
      {"ev_knn_query_self", c_knn_self, NULL, out, KN * KK * 12, stages},
  };
  for (int i = 0; i < 2; i++) walk_cancel(&w[i]);
  ev_knn_free(knn);
  free(xk);
}

START_TEST(knn_euclidean) { knn_cancel(EV_METRIC_EUCLIDEAN); }
END_TEST
START_TEST(knn_chebyshev) { knn_cancel(EV_METRIC_CHEBYSHEV); }
END_TEST

/* ---- PCA ---- */
static ev_pca *pca;
static float *xp;
/* Under memcheck 400 rows: still more rows than features, the same
 * reports (the covariance solver's blocks are 200,000 rows of 40, the
 * randomized one reports its power steps). */
enum { PN_MAX = 3000, PD = 40, PK = 5 };
static size_t PN = PN_MAX;
static ev_status pca_read(float *o) {
  ev_status st = ev_pca_components(pca, o, PD);
  if (st == EV_OK) st = ev_pca_mean(pca, o + PK * PD);
  if (st == EV_OK) st = ev_pca_singular_values(pca, o + PK * PD + PD);
  return st;
}
static ev_status c_pca_fit(void) {
  ev_status st = ev_pca_fit(pca, xp, PN, PD, PD);
  return st == EV_OK ? pca_read(out) : st;
}
/* A cancelled fit keeps the earlier one. */
static void pca_kept(const report *r, const void *ref) {
  static float now[PK * PD + PD + PK];
  ck_assert_ev_ok(pca_read(now));
  ck_assert_msg(memcmp(now, ref, sizeof now) == 0, "a PCA fit cancelled at "
                "step %zu did not keep the earlier fit", r->step);
}

static void pca_cancel(int solver) {
  static const int stages[] = {EV_STAGE_PCA, 0};
  PN = tu_size(PN_MAX, 400);
  xp = tu_randn(PN, PD, 5);
  ck_assert_ev_ok(ev_pca_create(&pca));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_THREADS, 2));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_SOLVER, solver));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_N_COMPONENTS, PK));
  ck_assert_ev_ok(ev_pca_set_progress(pca, progress, NULL));
  cwalk w = {"ev_pca_fit", c_pca_fit, pca_kept, out, (PK * PD + PD + PK) * 4,
             stages};
  walk_cancel(&w);
  ev_pca_free(pca);
  free(xp);
}

START_TEST(pca_covariance) { pca_cancel(EV_PCA_SOLVER_COVARIANCE); }
END_TEST
START_TEST(pca_svd) { pca_cancel(EV_PCA_SOLVER_SVD); }
END_TEST
START_TEST(pca_randomized) { pca_cancel(EV_PCA_SOLVER_RANDOMIZED); }
END_TEST

/* ---- t-SNE ---- */
static ev_tsne *tsne;
static float *xt;
/* Under memcheck 60 rows: the Barnes-Hut tree, the exact sums and the
 * FFT grid are all still built, and the kNN stage of perplexity 10 (30
 * neighbours) has rows to spare. (Each walk re-fits about 20 times: at
 * 120 rows the exact method's walk took 25 s of CPU under memcheck.) */
enum { TN_MAX = 300, TD = 10 };
static size_t TN = TN_MAX;
static ev_status c_tsne_fit(void) {
  ev_status st = ev_tsne_fit(tsne, xt, TN, TD, TD);
  return st == EV_OK ? ev_tsne_embedding(tsne, out, 2) : st;
}
static float *dist;
static ev_status c_tsne_fit_distances(void) {
  ev_status st = ev_tsne_fit_distances(tsne, dist, TN, TN);
  return st == EV_OK ? ev_tsne_embedding(tsne, out, 2) : st;
}
static size_t rp[TN_MAX + 1];
static int64_t ci[TN_MAX * 5];
static float va[TN_MAX * 5];
static ev_status c_tsne_fit_affinities(void) {
  ev_status st = ev_tsne_fit_affinities(tsne, TN, rp, ci, va);
  return st == EV_OK ? ev_tsne_embedding(tsne, out, 2) : st;
}
/* Cancelled while computing affinities: the earlier map is kept.
 * Cancelled while optimising: the map so far and its iteration count. */
static void tsne_kept(const report *r, const void *ref) {
  static float now[TN_MAX * 2];
  size_t n, dims, iters;
  ck_assert_ev_ok(ev_tsne_size(tsne, &n, &dims));
  ck_assert_uint_eq(n, TN);
  ck_assert_uint_eq(dims, 2);
  ck_assert_ev_ok(ev_tsne_embedding(tsne, now, 2));
  ck_assert_ev_ok(ev_tsne_n_iter(tsne, &iters));
  if (r->stage == EV_STAGE_EXAGGERATION || r->stage == EV_STAGE_OPTIMIZE) {
    ck_assert_uint_eq(iters, r->step);
    for (size_t i = 0; i < TN * 2; i++) ck_assert(isfinite(now[i]));
    double kl;
    ck_assert_ev_ok(ev_tsne_kl_divergence(tsne, &kl));
    ck_assert(isfinite(kl));
  } else {
    ck_assert_msg(memcmp(now, ref, TN * 2 * sizeof *now) == 0, "t-SNE cancelled at "
                  "stage %d did not keep the earlier map", r->stage);
  }
}

static void tsne_cancel(int method) {
  static const int bh[] = {EV_STAGE_KNN, EV_STAGE_AFFINITIES,
                           EV_STAGE_EXAGGERATION, EV_STAGE_OPTIMIZE, 0};
  static const int exact[] = {EV_STAGE_AFFINITIES, EV_STAGE_EXAGGERATION,
                              EV_STAGE_OPTIMIZE, 0};
  TN = tu_size(TN_MAX, 60);
  xt = tu_randn(TN, TD, 9);
  dist = malloc(sizeof *dist * TN * TN);
  for (size_t i = 0; i < TN; i++)
    for (size_t j = 0; j < TN; j++) {
      double s = 0;
      for (int k = 0; k < TD; k++)
        s += (xt[i * TD + k] - xt[j * TD + k]) *
             (xt[i * TD + k] - xt[j * TD + k]);
      dist[i * TN + j] = (float)sqrt(s);
    }
  for (size_t i = 0; i < TN; i++) {
    rp[i] = (size_t)i * 5;
    for (int k = 0; k < 5; k++)
      ci[i * 5 + k] = (i + 1 + k * k) % TN, va[i * 5 + k] = 1.0f / (1 + k);
  }
  rp[TN] = TN * 5;
  ck_assert_ev_ok(ev_tsne_create(&tsne));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_THREADS, 2));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_METHOD, method));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_PERPLEXITY, 10));
  /* 3 reports in each optimising stage; under memcheck (tu_size) every 5
   * of 30 iterations instead of every 10 of 60: the same reports, so the
   * same cancel points, and each re-fit after a cancel takes half as long */
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_N_ITER, (double)tu_size(60, 30)));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_EXAGGERATION_ITERATIONS,
                              (double)tu_size(30, 15)));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_PROGRESS_EVERY, (double)tu_size(10, 5)));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_MIN_GRAD_NORM, 0));
  ck_assert_ev_ok(ev_tsne_set_progress(tsne, progress, NULL));
  /* a coarse FFT grid: the cancel points do not depend on it, and the
   * default one (50 intervals a side) makes this walk minutes long under
   * memcheck */
  if (method == EV_TSNE_METHOD_FFT) {
    ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_FFT_MIN_INTERVALS, 8));
    ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_FFT_INTERPOLATION_POINTS, 3));
  }
  static const int optimise[] = {EV_STAGE_EXAGGERATION, EV_STAGE_OPTIMIZE,
                                 0};
  const int *st = method == EV_TSNE_METHOD_EXACT ? exact : bh;
  cwalk w[] = {
      {"ev_tsne_fit_affinities", c_tsne_fit_affinities, tsne_kept, out,
       TN * 2 * 4, optimise},
      {"ev_tsne_fit", c_tsne_fit, tsne_kept, out, TN * 2 * 4, st},
      {"ev_tsne_fit_distances", c_tsne_fit_distances, tsne_kept, out,
       TN * 2 * 4, exact},
  };
  for (int i = 0; i < 3; i++) walk_cancel(&w[i]);
  ev_tsne_free(tsne);
  free(xt);
  free(dist);
}

START_TEST(tsne_exact) { tsne_cancel(EV_TSNE_METHOD_EXACT); }
END_TEST
START_TEST(tsne_barnes_hut) { tsne_cancel(EV_TSNE_METHOD_BARNES_HUT); }
END_TEST
START_TEST(tsne_fft) { tsne_cancel(EV_TSNE_METHOD_FFT); }
END_TEST

/* ---- data sets ---- */
static ev_dataset *ds;
static size_t ds_n, ds_chw;
static ev_status c_ds_read(void) {
  return ev_dataset_read(ds, 0, ds_n, out, ds_chw);
}

START_TEST(dataset_read) {
  static const int stages[] = {EV_STAGE_READ, 0};
  size_t c, h, w;
  /* image files decoded in parallel, and an IDX array */
  for (int src = 0; src < 2; src++) {
    if (src == 0) {
      ck_assert_ev_ok(ev_dataset_from_folder(D "folder", 0, &ds));
      ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_RESIZE, 12));
      ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_CROP, 10));
    } else {
      ck_assert_ev_ok(ev_dataset_from_idx(D "images_3x4x5.idx.gz", NULL,
                                          &ds));
    }
    ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_THREADS, 2));
    ck_assert_ev_ok(ev_dataset_set_progress(ds, progress, NULL));
    ck_assert_ev_ok(ev_dataset_count(ds, &ds_n));
    ck_assert_ev_ok(ev_dataset_item_shape(ds, &c, &h, &w));
    ds_chw = c * h * w;
    cwalk cw = {"ev_dataset_read", c_ds_read, NULL, out, ds_n * ds_chw * 4,
                stages};
    walk_cancel(&cw);
    ev_dataset_free(ds);
  }
}
END_TEST

/* ---- extraction ---- */
static ev_extractor *ex;
static float xin[9 * 64];
static ev_status c_extract_run(void) {
  float *o = out;
  size_t ld = 64;
  return ev_extractor_run(ex, xin, 9, 1, 8, 8, 64, &o, &ld);
}
static ev_status c_extract_dataset(void) {
  float *o = out;
  size_t ld = 64;
  return ev_extractor_run_dataset(ex, ds, &o, &ld);
}

START_TEST(extraction) {
  static const int stages[] = {EV_STAGE_EXTRACT, 0};
  TU_REQUIRE(ev_extract_available(), "test_cancel.extraction", "libtorch",
             ev_last_error());
  ck_assert_msg(tu_have_extract_models(), "cannot make the test models");
  uint64_t s = 1;
  for (size_t i = 0; i < sizeof xin / sizeof *xin; i++)
    xin[i] = (float)tu_normal(&s);
  ev_model *m;
  ck_assert_ev_ok(ev_model_load(tu_extract_path("small_cnn.pt"), EV_DEVICE_CPU, &m));
  ck_assert_ev_ok(ev_extractor_create(m, &ex));
  ck_assert_ev_ok(ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, 2));
  ck_assert_ev_ok(ev_extractor_set(ex, EV_EXTRACT_THREADS, 2));
  ck_assert_ev_ok(ev_extractor_add_layer(ex, "output"));
  ck_assert_ev_ok(ev_extractor_set_progress(ex, progress, NULL));
  ck_assert_ev_ok(ev_dataset_from_floats(xin, 9, 1, 8, 8, 64, NULL, &ds));
  memset(out, 0, sizeof out);
  cwalk w[] = {
      {"ev_extractor_run", c_extract_run, NULL, out, 9 * 64 * 4, stages},
      {"ev_extractor_run_dataset", c_extract_dataset, NULL, out, 9 * 64 * 4,
       stages},
  };
  for (int i = 0; i < 2; i++) walk_cancel(&w[i]);
  /* the data set's own progress reports cancel the extraction too */
  ck_assert_ev_ok(ev_extractor_set_progress(ex, NULL, NULL));
  ck_assert_ev_ok(ev_dataset_set_progress(ds, progress, NULL));
  static const int read_stage[] = {EV_STAGE_READ, 0};
  cwalk r = {"ev_extractor_run_dataset (reading)", c_extract_dataset, NULL,
             out, 9 * 64 * 4, read_stage};
  walk_cancel(&r);
  ev_dataset_free(ds);
  ev_extractor_free(ex);
  ev_model_free(m);
}
END_TEST

/* ---- memory limits ---- */
START_TEST(tsne_memory_limit) {
  /* n (n - 1) 12 bytes just above the lower limit and below the upper:
   * 1200 rows, 16.5 MiB, limits 16 and 17; under memcheck (tu_size) 297
   * rows, 1.006 MiB, limits 1 and 2 (the smallest the setting takes): the
   * same refusals and the same fit */
  const size_t n = tu_size(1200, 297);
  const double lo_mb = (double)tu_size(16, 1), hi_mb = (double)tu_size(17, 2);
  float *x = tu_randn(n, 4, 3);
  ev_tsne *t;
  ck_assert_ev_ok(ev_tsne_create(&t));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_EXACT));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_MAX_MEMORY_MB, lo_mb));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 1));
  long live = ev__test_live_blocks();
  ev__test_fail_alloc(-1, 0);
  ck_assert_ev(ev_tsne_fit(t, x, n, 4, 4), EV_ERR_LIMIT);
  ck_assert_errmsg_has("EV_TSNE_MAX_MEMORY_MB");
  ck_assert_errmsg_has("BARNES_HUT");
  ck_assert_int_eq(ev__test_alloc_count(), 0);
  ck_assert_int_eq(ev__test_live_blocks(), live);
  float *d = calloc((size_t)n * n, sizeof *d);
  for (size_t i = 0; i < (size_t)n * n; i++) d[i] = 1.0f + (float)(i % 7);
  ck_assert_ev(ev_tsne_fit_distances(t, d, n, n), EV_ERR_LIMIT);
  ck_assert_errmsg_has("EV_TSNE_MAX_MEMORY_MB");
  size_t row[n + 1];
  int64_t col[n];
  float v[n];
  for (size_t i = 0; i < n; i++) row[i] = i, col[i] = (int64_t)((i + 1) % n), v[i] = 1;
  row[n] = n;
  /* given sparse affinities stay sparse: no n x n matrix, no limit */
  ck_assert_ev_ok(ev_tsne_fit_affinities(t, n, row, col, v));
  /* under the limit it runs */
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_MAX_MEMORY_MB, hi_mb));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PERPLEXITY, 5));
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, 4, 4));
  ev_tsne_free(t);
  free(x);
  free(d);
}
END_TEST

/* What the walks covered, counted as they ran (one process, so the counts
 * add up across tests): every call walked to its end, and at least the
 * cancels this suite is known to make (at 2 threads: 4 picks a stage, fewer
 * when a stage reports fewer than 4 times). A test that returned early, a
 * call dropped from a walk or a walk that stopped picking makes these
 * smaller, and fails here even though each test alone passed. */
/* 18 walks and 86 to 88 cancels when written (2 cores); 21 and 108 with
 * the FFT t-SNE's three. How often a parallel stage reports depends on
 * scheduling (under valgrind too), so the floor is 4 cancels a walk on
 * average, not the measured count. A new walk raises both. */
enum { KNOWN_WALKS = 21, EXTRACT_WALKS = 3, KNOWN_CANCELS = 84,
       EXTRACT_CANCELS = 12 };
START_TEST(summary) {
  int extract = ev_extract_available();
  long walks = KNOWN_WALKS - (extract ? 0 : EXTRACT_WALKS);
  long cancels = KNOWN_CANCELS - (extract ? 0 : EXTRACT_CANCELS);
  /* under the sanitizers first and last picks only: 76 cancels in the 21
   * walks (70 in 18 without libtorch) when written; the floor is 3 a walk */
  if (tu_small()) cancels = 3 * walks;
  fprintf(stderr, "test_cancel: %ld calls walked, %ld cancels checked\n",
          n_walks, n_cancels);
  ck_assert_msg(n_walks == walks, "%ld calls walked to the end, expected "
                "%ld", n_walks, walks);
  ck_assert_msg(n_cancels >= cancels, "%ld cancels checked, expected at "
                "least %ld", n_cancels, cancels);
}
END_TEST

int main(void) {
  setenv("CK_FORK", "no", 1); /* one process: the summary counts them all */
  Suite *s = suite_create("cancel");
  TCase *tc = tcase_create("cancel");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, knn_euclidean);
  tcase_add_test(tc, knn_chebyshev);
  tcase_add_test(tc, pca_covariance);
  tcase_add_test(tc, pca_svd);
  tcase_add_test(tc, pca_randomized);
  tcase_add_test(tc, tsne_exact);
  tcase_add_test(tc, tsne_barnes_hut);
  tcase_add_test(tc, tsne_fft);
  tcase_add_test(tc, dataset_read);
  tcase_add_test(tc, extraction);
  tcase_add_test(tc, tsne_memory_limit);
  tcase_add_test(tc, summary);
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
