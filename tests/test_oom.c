/* Out of memory: every allocation of every public call that allocates is
 * made to fail in turn (lib/core/testhook.h). The call must return
 * EV_ERR_NOMEM (or succeed with the right result where the allocation is
 * optional), leak nothing, keep the handle usable: the same call run again
 * gives the reference result bit for bit. Then every allocation from the
 * first on fails at once (sticky). Sizes whose products overflow are
 * refused with EV_ERR_OVERFLOW before anything is allocated. */
#include <sys/stat.h>

#include "core/testhook.h"
#include "testutil.h"

#define D "tests/data/io/"

/* One public call under test. call() makes it and copies what it computed
 * into out (bytes long); kept(), when set, copies the handle's current
 * result into out: after a failed call it must still be the reference (the
 * handle kept its earlier result). */
typedef struct walk {
  const char *name;
  ev_status (*call)(void);
  ev_status (*kept)(void);
  void *out;
  size_t bytes;
} walk;

static long n_calls, n_points;

/* A handle pointer a failed create or read must set back to NULL. */
#define SENTINEL ((void *)16)
static ev_status null_on_failure(ev_status st, const void *handle) {
  ck_assert_msg(st == EV_OK || handle == NULL, "a failed call (%s: %s) "
                "left *out set", ev_status_name(st), ev_last_error());
  return st;
}

static void same_as(const walk *w, const void *ref, const char *when,
                    long i) {
  if (!w->bytes) return;
  ck_assert_msg(memcmp(w->out, ref, w->bytes) == 0,
                "%s: result differs from the reference %s %ld", w->name,
                when, i);
}

/* Fail allocation i (or, sticky, every allocation from i on). */
static void fail_one(const walk *w, const void *ref, long i, int sticky,
                     long live) {
  ev__test_fail_alloc(i, sticky);
  ev_status st = w->call();
  ev__test_fail_alloc(-1, 0);
  if (st == EV_OK) { /* an optional allocation: the result must be right */
    same_as(w, ref, "after an optional allocation failed", i);
  } else {
    ck_assert_msg(st == EV_ERR_NOMEM, "%s: failing allocation %ld%s gave %s "
                  "(%s), expected EV_ERR_NOMEM", w->name, i,
                  sticky ? " on" : "", ev_status_name(st), ev_last_error());
    ck_assert_msg(strstr(ev_last_error(), "memory") != NULL,
                  "%s: message \"%s\" does not say memory", w->name,
                  ev_last_error());
    if (w->kept) {
      ck_assert_int_eq(w->kept(), EV_OK);
      same_as(w, ref, "kept after failing allocation", i);
    }
  }
  ck_assert_msg(ev__test_live_blocks() == live, "%s: failing allocation "
                "%ld%s leaks %ld blocks", w->name, i, sticky ? " on" : "",
                ev__test_live_blocks() - live);
  ck_assert_msg(w->call() == EV_OK, "%s: not usable after failing "
                "allocation %ld: %s", w->name, i, ev_last_error());
  same_as(w, ref, "after failing allocation", i);
  ck_assert_int_eq(ev__test_live_blocks(), live);
}

static void walk_call(const walk *w) {
  ev__test_fail_alloc(-1, 0);
  ck_assert_msg(w->call() == EV_OK, "%s: %s", w->name, ev_last_error());
  long live = ev__test_live_blocks(); /* the steady state after a call */
  void *ref = malloc(w->bytes + 1);
  if (w->bytes) memcpy(ref, w->out, w->bytes);
  ev__test_fail_alloc(-1, 0);
  ck_assert_int_eq(w->call(), EV_OK);
  long count = ev__test_alloc_count();
  same_as(w, ref, "on a second run", 0);
  ck_assert_int_eq(ev__test_live_blocks(), live);
  for (long i = 0; i < count; i++) fail_one(w, ref, i, 0, live);
  if (count > 0) fail_one(w, ref, 0, 1, live);
  n_calls++;
  n_points += count;
  free(ref);
}

static void walk_all(const walk *w, size_t n) {
  for (size_t i = 0; i < n; i++) walk_call(&w[i]);
}

/* ---- data shared by the cases ---- */
static float *x;              /* N x DIM */
static float out[1 << 16];    /* results of a call */
enum { N = 64, DIM = 12, K = 5 };

static void data_setup(void) {
  if (!x) x = tu_randn(N, DIM, 7);
}

/* ---- score ---- */
static ev_status c_softmax(void) {
  return ev_softmax(x, N, DIM, DIM, out, DIM);
}
static ev_status c_ambiguity(void) {
  return ev_ambiguity(x, N, DIM, DIM, EV_SCORE_LOGITS, out, out + N,
                      out + 2 * N, (int32_t *)(out + 3 * N),
                      (int32_t *)(out + 4 * N));
}
static ev_status c_most_ambiguous(void) {
  return ev_most_ambiguous(x, N, 10, (int64_t *)out);
}
static ev_status c_confusion(void) {
  int32_t t[N], p[N];
  for (int i = 0; i < N; i++) t[i] = i % 4, p[i] = (i * 7) % 4;
  return ev_confusion_matrix(t, p, N, 4, (int64_t *)out, out + 64);
}

START_TEST(score_calls) {
  data_setup();
  walk w[] = {
      {"ev_softmax", c_softmax, NULL, out, N * DIM * 4},
      {"ev_ambiguity", c_ambiguity, NULL, out, 5 * N * 4},
      {"ev_most_ambiguous", c_most_ambiguous, NULL, out, 10 * 8},
      {"ev_confusion_matrix", c_confusion, NULL, out, 64 * 4 + 4 * 4},
  };
  walk_all(w, sizeof w / sizeof w[0]);
}
END_TEST

/* ---- kNN ---- */
static ev_knn *knn;
static ev_status knn_result(void) {
  return ev_knn_query(knn, x, 9, DIM, DIM, K, (int64_t *)out, K,
                      out + 9 * K * 2, K);
}
static ev_status c_knn_create(void) {
  ev_knn *k = SENTINEL;
  ev_status st = ev_knn_create(&k);
  st = null_on_failure(st, k);
  if (st == EV_OK) ev_knn_free(k);
  return st;
}
static ev_status c_knn_build(void) {
  ev_status st = ev_knn_build(knn, x, N, DIM, DIM);
  return st == EV_OK ? knn_result() : st;
}
static ev_status c_knn_query(void) {
  return ev_knn_query(knn, x + DIM, N - 1, DIM, DIM, K, (int64_t *)out, K,
                      out + (N - 1) * K * 2, K);
}
static ev_status c_knn_self(void) {
  return ev_knn_query_self(knn, K, (int64_t *)out, K, out + N * K * 2, K);
}

static void knn_walk(int metric) {
  data_setup();
  ck_assert_ev_ok(ev_knn_create(&knn));
  ck_assert_ev_ok(ev_knn_set(knn, EV_KNN_THREADS, 1));
  ck_assert_ev_ok(ev_knn_set(knn, EV_KNN_METRIC, metric));
  ck_assert_ev_ok(ev_knn_set(knn, EV_KNN_BLOCK_ROWS, 8));
  walk w[] = {
      {"ev_knn_create", c_knn_create, NULL, NULL, 0},
      {"ev_knn_build", c_knn_build, knn_result, out, 9 * K * 12},
      {"ev_knn_query", c_knn_query, NULL, out, (N - 1) * K * 12},
      {"ev_knn_query_self", c_knn_self, NULL, out, N * K * 12},
  };
  walk_all(w, sizeof w / sizeof w[0]);
  ev_knn_free(knn);
  knn = NULL;
}

START_TEST(knn_calls_euclidean) { knn_walk(EV_METRIC_EUCLIDEAN); }
END_TEST
START_TEST(knn_calls_cosine) { knn_walk(EV_METRIC_COSINE); }
END_TEST
START_TEST(knn_calls_cityblock) { knn_walk(EV_METRIC_CITYBLOCK); }
END_TEST

/* Two threads: scratch made per thread, failures inside the team. */
START_TEST(knn_calls_two_threads) {
  data_setup();
  ck_assert_ev_ok(ev_knn_create(&knn));
  ck_assert_ev_ok(ev_knn_set(knn, EV_KNN_THREADS, 2));
  ck_assert_ev_ok(ev_knn_set(knn, EV_KNN_BLOCK_ROWS, 8));
  ck_assert_ev_ok(ev_knn_build(knn, x, N, DIM, DIM));
  walk w = {"ev_knn_query_self (2 threads)", c_knn_self, NULL, out,
            N * K * 12};
  walk_call(&w);
  ev_knn_free(knn);
  knn = NULL;
}
END_TEST

/* ---- PCA ---- */
static ev_pca *pca;
static ev_status pca_result(void) {
  size_t k;
  ev_status st = ev_pca_n_components(pca, &k);
  if (st == EV_OK) st = ev_pca_components(pca, out, DIM);
  if (st == EV_OK) st = ev_pca_mean(pca, out + k * DIM);
  if (st == EV_OK) st = ev_pca_explained_variance(pca, out + k * DIM + DIM);
  return st;
}
static ev_status c_pca_create(void) {
  ev_pca *p = SENTINEL;
  ev_status st = ev_pca_create(&p);
  st = null_on_failure(st, p);
  if (st == EV_OK) ev_pca_free(p);
  return st;
}
static ev_status c_pca_fit(void) {
  ev_status st = ev_pca_fit(pca, x, N, DIM, DIM);
  return st == EV_OK ? pca_result() : st;
}
static ev_status c_pca_transform(void) {
  return ev_pca_transform(pca, x, N, DIM, DIM, out, 4);
}
static ev_status c_pca_inverse(void) {
  return ev_pca_inverse_transform(pca, x, N, 4, DIM, out, DIM);
}

static void pca_walk(int solver, int whiten) {
  data_setup();
  ck_assert_ev_ok(ev_pca_create(&pca));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_THREADS, 1));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_SOLVER, solver));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_N_COMPONENTS, 4));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_WHITEN, whiten));
  walk w[] = {
      {"ev_pca_create", c_pca_create, NULL, NULL, 0},
      {"ev_pca_fit", c_pca_fit, pca_result, out, (4 * DIM + DIM + 4) * 4},
      {"ev_pca_transform", c_pca_transform, NULL, out, N * 4 * 4},
      {"ev_pca_inverse_transform", c_pca_inverse, NULL, out, N * DIM * 4},
  };
  walk_all(w, sizeof w / sizeof w[0]);
  ev_pca_free(pca);
  pca = NULL;
}

START_TEST(pca_calls_covariance) { pca_walk(EV_PCA_SOLVER_COVARIANCE, 0); }
END_TEST
START_TEST(pca_calls_svd) { pca_walk(EV_PCA_SOLVER_SVD, 1); }
END_TEST
START_TEST(pca_calls_randomized) { pca_walk(EV_PCA_SOLVER_RANDOMIZED, 0); }
END_TEST

START_TEST(pca_variance_to_keep) {
  data_setup();
  ck_assert_ev_ok(ev_pca_create(&pca));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_THREADS, 1));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_VARIANCE_TO_KEEP, 0.5));
  walk w = {"ev_pca_fit (variance to keep)", c_pca_fit, NULL, out, 4 * DIM};
  walk_call(&w);
  ev_pca_free(pca);
  pca = NULL;
}
END_TEST

/* ---- t-SNE ---- */
static ev_tsne *tsne;
enum { TN = 40 };
static ev_status tsne_result(void) {
  memset(out, 0, sizeof out);
  ev_status st = ev_tsne_embedding(tsne, out, 2);
  size_t nnz = 2000;
  if (st == EV_OK)
    st = ev_tsne_affinities(tsne, (size_t *)(out + 2 * TN),
                            (int64_t *)(out + 4 * TN + 2), out + 8192, &nnz);
  return st;
}
static ev_status tsne_map(void) { return ev_tsne_embedding(tsne, out, 2); }
static ev_status c_tsne_create(void) {
  ev_tsne *t = SENTINEL;
  ev_status st = ev_tsne_create(&t);
  st = null_on_failure(st, t);
  if (st == EV_OK) ev_tsne_free(t);
  return st;
}
static ev_status c_tsne_fit(void) {
  ev_status st = ev_tsne_fit(tsne, x, TN, DIM, DIM);
  return st == EV_OK ? tsne_map() : st;
}
static float dist[TN * TN];
static ev_status c_tsne_fit_distances(void) {
  ev_status st = ev_tsne_fit_distances(tsne, dist, TN, TN);
  return st == EV_OK ? tsne_map() : st;
}
static size_t rp[TN + 1];
static int64_t ci[TN * 3];
static float vals[TN * 3];
static ev_status c_tsne_fit_affinities(void) {
  ev_status st = ev_tsne_fit_affinities(tsne, TN, rp, ci, vals);
  return st == EV_OK ? tsne_map() : st;
}
static ev_status c_tsne_set_init(void) {
  ev_status st = ev_tsne_set_init(tsne, x, TN, 2, DIM);
  if (st == EV_OK) st = ev_tsne_fit(tsne, x, TN, DIM, DIM);
  return st == EV_OK ? tsne_map() : st;
}

static void tsne_inputs(void) {
  data_setup();
  for (int i = 0; i < TN; i++) {
    for (int j = 0; j < TN; j++) {
      double s = 0;
      for (int k = 0; k < DIM; k++) {
        double d = x[i * DIM + k] - x[j * DIM + k];
        s += d * d;
      }
      dist[i * TN + j] = (float)sqrt(s);
    }
    rp[i] = (size_t)i * 3;
    for (int k = 0; k < 3; k++) {
      ci[i * 3 + k] = (i + 1 + k * 7) % TN;
      vals[i * 3 + k] = 1.0f + (float)k;
    }
  }
  rp[TN] = TN * 3;
}

static void tsne_walk(int method, int init) {
  tsne_inputs();
  ck_assert_ev_ok(ev_tsne_create(&tsne));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_THREADS, 1));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_METHOD, method));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_PERPLEXITY, 5));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_N_ITER, 12));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_EXAGGERATION_ITERATIONS, 6));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_PROGRESS_EVERY, 5));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_INIT, init));
  walk w[] = {
      {"ev_tsne_create", c_tsne_create, NULL, NULL, 0},
      {"ev_tsne_fit", c_tsne_fit, NULL, out, TN * 2 * 4},
      {"ev_tsne_fit_distances", c_tsne_fit_distances, NULL, out, TN * 2 * 4},
      {"ev_tsne_fit_affinities", c_tsne_fit_affinities, NULL, out,
       TN * 2 * 4},
  };
  walk_all(w, sizeof w / sizeof w[0]);
  /* the affinities getter of the last fit */
  walk a = {"ev_tsne_affinities", tsne_result, NULL, out, sizeof out};
  walk_call(&a);
  ev_tsne_free(tsne);
  tsne = NULL;
}

START_TEST(tsne_calls_exact_pca_init) {
  tsne_walk(EV_TSNE_METHOD_EXACT, EV_TSNE_INIT_PCA);
}
END_TEST
START_TEST(tsne_calls_barnes_hut_random_init) {
  tsne_walk(EV_TSNE_METHOD_BARNES_HUT, EV_TSNE_INIT_RANDOM);
}
END_TEST
START_TEST(tsne_given_init) {
  tsne_inputs();
  ck_assert_ev_ok(ev_tsne_create(&tsne));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_THREADS, 1));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_PERPLEXITY, 5));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_N_ITER, 8));
  ck_assert_ev_ok(ev_tsne_set(tsne, EV_TSNE_INIT, EV_TSNE_INIT_GIVEN));
  walk w = {"ev_tsne_set_init", c_tsne_set_init, NULL, out, TN * 2 * 4};
  walk_call(&w);
  ev_tsne_free(tsne);
  tsne = NULL;
}
END_TEST

/* ---- io: arrays ---- */
static const char *rpath;
static int rchannels;
/* Read with `reader` and copy shape, dtype and data into out. */
static ev_status array_out(ev_status st, ev_array *a) {
  if (st != EV_OK) return st;
  memset(out, 0, sizeof out);
  size_t nd = ev_array_ndim(a), *o = (size_t *)out;
  o[0] = (size_t)ev_array_dtype(a);
  o[1] = nd;
  for (size_t i = 0; i < nd; i++) o[2 + i] = ev_array_dim(a, i);
  size_t bytes = ev_array_size(a);
  switch (ev_array_dtype(a)) {
    case EV_DTYPE_FLOAT64: case EV_DTYPE_INT64: bytes *= 8; break;
    case EV_DTYPE_FLOAT32: case EV_DTYPE_INT32: bytes *= 4; break;
  }
  if (bytes > sizeof out - 128) bytes = sizeof out - 128;
  memcpy((char *)out + 128, ev_array_data(a), bytes);
  ev_array_free(a);
  return EV_OK;
}
static ev_status c_npy_read(void) {
  ev_array *a = SENTINEL;
  ev_status st = ev_npy_read(rpath, &a);
  return array_out(null_on_failure(st, a), a);
}
static ev_status c_idx_read(void) {
  ev_array *a = SENTINEL;
  ev_status st = ev_idx_read(rpath, &a);
  return array_out(null_on_failure(st, a), a);
}
static ev_status c_image_read(void) {
  ev_array *a = SENTINEL;
  ev_status st = ev_image_read(rpath, rchannels, &a);
  return array_out(null_on_failure(st, a), a);
}

START_TEST(array_readers) {
  static const char *npy[] = {"f4_3x4.npy", "f4_fortran_3x4.npy",
                              "f4_bigendian_2x2.npy", "f4_v3_2x2.npy",
                              "u1_2x3x4.npy", "i8_5.npy"};
  static const char *idx[] = {"images_3x4x5.idx", "images_3x4x5.idx.gz",
                              "labels_3.idx.gz", "shorts_3.idx"};
  static const struct { const char *f; int ch; } img[] = {
      {"img_rgb_5x7.png", 0}, {"img_rgba_3x4.png", 1},
      {"img_grey_6x4.png", 3}, {"img_photo_37x53.jpg", 3},
      {"img_rgb_5x7.bmp", 0}, {"img_pal_4x6.gif", 0}};
  static char p[256];
  rpath = p;
  for (size_t i = 0; i < sizeof npy / sizeof *npy; i++) {
    snprintf(p, sizeof p, D "%s", npy[i]);
    walk w = {"ev_npy_read", c_npy_read, NULL, out, sizeof out};
    walk_call(&w);
  }
  for (size_t i = 0; i < sizeof idx / sizeof *idx; i++) {
    snprintf(p, sizeof p, D "%s", idx[i]);
    walk w = {"ev_idx_read", c_idx_read, NULL, out, sizeof out};
    walk_call(&w);
  }
  for (size_t i = 0; i < sizeof img / sizeof *img; i++) {
    snprintf(p, sizeof p, D "%s", img[i].f);
    rchannels = img[i].ch;
    walk w = {"ev_image_read", c_image_read, NULL, out, sizeof out};
    walk_call(&w);
  }
}
END_TEST

static const char *wpath = "build/tests/oom_out.npy";
static ev_status c_npy_write_matrix(void) {
  return ev_npy_write_matrix(wpath, x, 5, 3, DIM);
}
static ev_status c_npy_write(void) {
  size_t shape[2] = {4, 6};
  return ev_npy_write(wpath, EV_DTYPE_FLOAT32, x, 2, shape);
}

START_TEST(array_writers) {
  data_setup();
  walk w[] = {{"ev_npy_write_matrix", c_npy_write_matrix, NULL, NULL, 0},
              {"ev_npy_write", c_npy_write, NULL, NULL, 0}};
  walk_all(w, 2);
  remove(wpath);
}
END_TEST

/* ---- io: data sets ---- */
static ev_dataset *ds;
/* Everything a data set tells about itself, and all its items. */
static ev_status ds_result(void) {
  size_t n, c, h, w, k;
  memset(out, 0, sizeof out);
  ev_status st = ev_dataset_count(ds, &n);
  if (st == EV_OK) st = ev_dataset_item_shape(ds, &c, &h, &w);
  if (st == EV_OK) st = ev_dataset_class_count(ds, &k);
  if (st != EV_OK) return st;
  size_t *o = (size_t *)out;
  o[0] = n, o[1] = c, o[2] = h, o[3] = w, o[4] = k;
  st = ev_dataset_read(ds, 0, n, out + 1024, c * h * w);
  o[5] = ev_dataset_skipped_count(ds);
  for (size_t i = 0; i < o[5] && i < 4; i++)
    snprintf((char *)(o + 128) + 64 * i, 64, "%s",
             ev_dataset_skipped_path(ds, i));
  char *names = (char *)(o + 8);
  for (size_t i = 0; i < k && i < 8; i++)
    snprintf(names + 32 * i, 32, "%s", ev_dataset_class_name(ds, i));
  if (st == EV_OK) st = ev_dataset_labels(ds, (int32_t *)(names + 256), 64);
  return st;
}
typedef ev_status (*ds_maker)(ev_dataset **);
static ds_maker make;
static ev_status c_ds_make(void) {
  ev_dataset *d = SENTINEL;
  ev_status st = make(&d);
  st = null_on_failure(st, d);
  if (st != EV_OK) return st;
  ev_dataset_set(d, EV_DS_THREADS, 1);
  ev_dataset_set(d, EV_DS_RESIZE, 6);
  ev_dataset_set(d, EV_DS_CROP, 5);
  ds = d;
  st = ds_result();
  ev_dataset_free(d);
  ds = NULL;
  return st;
}
static ev_status m_folder(ev_dataset **d) {
  return ev_dataset_from_folder(D "folder", 0, d);
}
static ev_status m_folder_skip(ev_dataset **d) {
  return ev_dataset_from_folder(D "folder_bad", 1, d);
}
static ev_status m_paths(ev_dataset **d) {
  static const char *p[] = {D "img_rgb_5x7.png", D "img_photo_37x53.jpg",
                            D "img_pal_4x6.gif"};
  static const int32_t l[] = {2, 0, 1};
  return ev_dataset_from_paths(p, 3, l, 0, d);
}
/* Unreadable files left out when made, corrupt ones found while reading. */
static ev_status m_paths_skip(ev_dataset **d) {
  static const char *p[] = {D "bad_truncated.png", D "img_rgb_5x7.png",
                            D "bad_garbage.png", D "bad_truncated.jpg",
                            D "img_grey_6x4.png"};
  return ev_dataset_from_paths(p, 5, NULL, 1, d);
}
static ev_status m_idx(ev_dataset **d) {
  return ev_dataset_from_idx(D "images_3x4x5.idx.gz", D "labels_3.idx", d);
}
static ev_status m_npy(ev_dataset **d) {
  return ev_dataset_from_npy(D "ds_images_4x6x5.npy", D "ds_labels_4.npy",
                             d);
}
static ev_status m_floats(ev_dataset **d) {
  static const int32_t l[] = {0, 1, 0, 2};
  return ev_dataset_from_floats(x, 4, 1, 2, 3, DIM, l, d);
}

/* Reading and thumbnails on a data set made once. */
static ev_status c_ds_read(void) { return ds_result(); }
static ev_status c_ds_thumb(void) {
  return ev_dataset_thumbnail(ds, 1, 7, (uint8_t *)out);
}

START_TEST(dataset_calls) {
  data_setup();
  ds_maker makers[] = {m_folder, m_folder_skip, m_paths, m_idx, m_npy,
                       m_floats, m_paths_skip};
  const char *names[] = {"ev_dataset_from_folder",
                         "ev_dataset_from_folder (skip bad)",
                         "ev_dataset_from_paths", "ev_dataset_from_idx",
                         "ev_dataset_from_npy", "ev_dataset_from_floats",
                         "ev_dataset_from_paths (skip bad) + read"};
  for (size_t i = 0; i < 7; i++) {
    make = makers[i];
    walk w = {names[i], c_ds_make, NULL, out, sizeof out};
    walk_call(&w);
  }
  ck_assert_ev_ok(ev_dataset_from_folder(D "folder", 0, &ds));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_THREADS, 1));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_RESIZE, 9));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_CROP, 8));
  walk w[] = {{"ev_dataset_read", c_ds_read, NULL, out, sizeof out},
              {"ev_dataset_thumbnail", c_ds_thumb, NULL, out, 7 * 7 * 3}};
  walk_all(w, 2);
  /* items decoded in parallel: a failure in a worker thread */
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_THREADS, 2));
  walk_call(&w[0]);
  ev_dataset_free(ds);
  ds = NULL;
}
END_TEST

/* ---- overflow: refused before anything is allocated ---- */
#define OVERFLOWS(call)                                                       \
  do {                                                                        \
    ev__test_fail_alloc(-1, 0);                                               \
    long live_ = ev__test_live_blocks();                                      \
    ck_assert_ev(call, EV_ERR_OVERFLOW);                                      \
    ck_assert_msg(ev__test_alloc_count() == 0, "%s allocated %ld blocks "     \
                  "before refusing", #call, ev__test_alloc_count());          \
    ck_assert_int_eq(ev__test_live_blocks(), live_);                          \
  } while (0)

START_TEST(overflowing_sizes_allocate_nothing) {
  const size_t huge = SIZE_MAX / 2 + 3;
  float f[4] = {0};
  int64_t idx[4];
  int32_t lab[4] = {0};
  ev_knn *k;
  ev_pca *p;
  ev_tsne *t;
  ev_array *a;
  ev_dataset *d;
  ck_assert_ev_ok(ev_knn_create(&k));
  ck_assert_ev_ok(ev_pca_create(&p));
  ck_assert_ev_ok(ev_tsne_create(&t));
  OVERFLOWS(ev_softmax(f, huge, 2, 2, f, 2));
  OVERFLOWS(ev_ambiguity(f, huge, 2, 2, 0, f, NULL, NULL, NULL, NULL));
  OVERFLOWS(ev_confusion_matrix(lab, lab, 1, huge, idx, NULL));
  OVERFLOWS(ev_knn_build(k, f, huge, 2, 2));
  OVERFLOWS(ev_knn_build(k, f, 3, 2, huge));
  OVERFLOWS(ev_pca_fit(p, f, huge, 2, 2));
  OVERFLOWS(ev_tsne_fit(t, f, huge, 2, 2));
  OVERFLOWS(ev_tsne_fit_distances(t, f, huge, huge));
  OVERFLOWS(ev_tsne_set_init(t, f, huge, 2, 2));
  OVERFLOWS(ev_dataset_from_floats(f, 2, huge, 2, 2, 4, lab, &d));
  OVERFLOWS(ev_dataset_from_floats(f, huge, 1, 1, 1, 1, lab, &d));
  size_t shape[2] = {huge, 4};
  OVERFLOWS(ev_npy_write(wpath, EV_DTYPE_FLOAT32, f, 2, shape));
  /* A file's header must be read to know its shape: the .npy reader
   * holds the header text (one block, freed) but allocates nothing for the
   * data. */
  ev__test_fail_alloc(-1, 0);
  long live = ev__test_live_blocks();
  ck_assert_ev(ev_npy_read(D "bad_overflow.npy", &a), EV_ERR_OVERFLOW);
  ck_assert_int_le(ev__test_alloc_count(), 1);
  ck_assert_int_eq(ev__test_live_blocks(), live);
  ck_assert_ptr_null(a);
  OVERFLOWS(ev_idx_read(D "bad_overflow.idx", &a));
  /* kNN queries whose outputs overflow */
  ck_assert_ev_ok(ev_knn_build(k, f, 2, 2, 2));
  OVERFLOWS(ev_knn_query(k, f, huge, 2, 2, 1, idx, 1, NULL, 1));
  ev_knn_free(k);
  ev_pca_free(p);
  ev_tsne_free(t);
  remove(wpath);
}
END_TEST

/* ---- extraction (C-side allocations and the shim's bad_alloc) ---- */
static ev_model *model;
static ev_extractor *ex;
static float xin[5 * 64];
static ev_status c_model_load(void) {
  ev_model *m = SENTINEL;
  ev_status st = ev_model_load(tu_extract_path("small_cnn.pt"), EV_DEVICE_CPU, &m);
  st = null_on_failure(st, m);
  if (st != EV_OK) return st;
  size_t n = 0;
  st = ev_model_n_layers(m, &n);
  *(size_t *)out = n;
  ev_model_free(m);
  return st;
}
static ev_status c_extractor(void) {
  ev_extractor *e = SENTINEL;
  ev_status st = ev_extractor_create(model, &e);
  st = null_on_failure(st, e);
  if (st == EV_OK) st = ev_extractor_set(e, EV_EXTRACT_THREADS, 1);
  if (st == EV_OK) st = ev_extractor_set(e, EV_EXTRACT_BATCH_SIZE, 2);
  if (st == EV_OK) st = ev_extractor_add_layer(e, "output");
  if (st == EV_OK) st = ev_extractor_prepare(e, 1, 8, 8);
  size_t cols = 0;
  if (st == EV_OK) st = ev_extractor_layer_cols(e, 0, &cols);
  float *o = out;
  size_t ld = 64;
  if (st == EV_OK) st = ev_extractor_run(e, xin, 5, 1, 8, 8, 64, &o, &ld);
  if (e != SENTINEL) ev_extractor_free(e);
  return st;
}
static ev_status c_extract_run(void) {
  float *o = out;
  size_t ld = 64;
  return ev_extractor_run(ex, xin, 5, 1, 8, 8, 64, &o, &ld);
}
static ev_status c_extract_dataset(void) {
  float *o = out;
  size_t ld = 64;
  return ev_extractor_run_dataset(ex, ds, &o, &ld);
}

START_TEST(extract_calls) {
  TU_REQUIRE(ev_extract_available(), "test_oom.extract_calls", "libtorch",
             ev_last_error());
  ck_assert_msg(tu_have_extract_models(), "cannot make the test models");
  uint64_t s = 3;
  for (size_t i = 0; i < sizeof xin / sizeof *xin; i++)
    xin[i] = (float)tu_normal(&s);
  memset(out, 0, sizeof out);
  ck_assert_ev_ok(ev_model_load(tu_extract_path("small_cnn.pt"), EV_DEVICE_CPU,
                                &model));
  ck_assert_ev_ok(ev_extractor_create(model, &ex));
  ck_assert_ev_ok(ev_extractor_set(ex, EV_EXTRACT_THREADS, 1));
  ck_assert_ev_ok(ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, 2));
  ck_assert_ev_ok(ev_extractor_add_layer(ex, "output"));
  ck_assert_ev_ok(ev_dataset_from_floats(xin, 5, 1, 8, 8, 64, NULL, &ds));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_THREADS, 1));
  size_t cols;
  ck_assert_ev_ok(ev_extractor_prepare(ex, 1, 8, 8));
  ck_assert_ev_ok(ev_extractor_layer_cols(ex, 0, &cols));
  ck_assert_uint_le(cols, 64);
  walk w[] = {
      {"ev_model_load", c_model_load, NULL, out, sizeof(size_t)},
      {"ev_extractor_create .. run", c_extractor, NULL, out, 5 * 64 * 4},
      {"ev_extractor_run", c_extract_run, NULL, out, 5 * 64 * 4},
      {"ev_extractor_run_dataset", c_extract_dataset, NULL, out, 5 * 64 * 4},
  };
  walk_all(w, sizeof w / sizeof w[0]);
  ev_dataset_free(ds);
  ds = NULL;
  ev_extractor_free(ex);
  ev_model_free(model);
}
END_TEST

/* What the walks covered, counted as they ran (one process, so the counts
 * add up across tests): every call sequence walked to its end, and at
 * least the allocation points this suite is known to fail one by one. A
 * test that returned early, a sequence dropped or an allocation no longer
 * counted makes these smaller, and fails here even though each test alone
 * passed. */
/* 73 sequences and 972 points when written (2 cores); 79 and 1015 with
 * the explain calls (6 sequences, 43 points); the floor leaves
 * room for allocations that depend on the thread count. A new walk raises
 * KNOWN_CALLS; a change that removes allocations may lower KNOWN_POINTS. */
enum { KNOWN_CALLS = 79, EXTRACT_CALLS = 4, KNOWN_POINTS = 990,
       EXTRACT_POINTS = 21 };
/* ---- explain.h ---- */
static ev_ridge *ridge;
static ev_status ridge_result(void) {
  ev_status st = ev_ridge_coef(ridge, out, DIM);
  if (st == EV_OK) st = ev_ridge_intercept(ridge, out + 2 * DIM);
  return st;
}
static ev_status c_ridge_create(void) {
  ev_ridge *r = SENTINEL;
  ev_status st = ev_ridge_create(&r);
  st = null_on_failure(st, r);
  if (st == EV_OK) ev_ridge_free(r);
  return st;
}
static ev_status c_ridge_alphas(void) {
  const double grid[3] = {0.1, 1, 10};
  return ev_ridge_set_alphas(ridge, grid, 3);
}
static ev_status c_ridge_fit(void) {
  /* targets: the first two columns' sum and difference */
  float y[N * 2];
  for (int i = 0; i < N; i++) y[2 * i] = x[i * DIM] + x[i * DIM + 1], y[2 * i + 1] = x[i * DIM] - x[i * DIM + 1];
  ev_status st = ev_ridge_fit(ridge, x, N, DIM, DIM, y, 2, 2);
  return st == EV_OK ? ridge_result() : st;
}
static ev_status c_top_contributions(void) {
  return ev_pca_top_contributions(pca, 1, x, DIM, 5, (int64_t *)out, out + 16);
}
static ev_status c_correlation(void) {
  return ev_feature_correlation(x, N, DIM, DIM, out, DIM);
}
static ev_status c_feature_order(void) {
  float corr[DIM * DIM];
  ev_status st = ev_feature_correlation(x, N, DIM, DIM, corr, DIM);
  return st == EV_OK ? ev_feature_order(corr, DIM, DIM, (int64_t *)out) : st;
}

START_TEST(explain_calls) {
  data_setup();
  ck_assert_ev_ok(ev_pca_create(&pca));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_THREADS, 1));
  ck_assert_ev_ok(ev_pca_set(pca, EV_PCA_N_COMPONENTS, 3));
  ck_assert_ev_ok(ev_pca_fit(pca, x, N, DIM, DIM));
  ck_assert_ev_ok(ev_ridge_create(&ridge));
  ck_assert_ev_ok(ev_ridge_set(ridge, EV_RIDGE_THREADS, 1));
  walk w[] = {
      {"ev_pca_top_contributions", c_top_contributions, NULL, out, 5 * 8 + 16 * 4 + 5 * 4},
      {"ev_ridge_create", c_ridge_create, NULL, NULL, 0},
      {"ev_ridge_set_alphas", c_ridge_alphas, NULL, NULL, 0},
      {"ev_ridge_fit", c_ridge_fit, ridge_result, out, (2 * DIM + 2) * 4},
      {"ev_feature_correlation", c_correlation, NULL, out, DIM * DIM * 4},
      {"ev_feature_order", c_feature_order, NULL, out, DIM * 8},
  };
  walk_all(w, sizeof w / sizeof w[0]);
  ev_ridge_free(ridge);
  ridge = NULL;
  ev_pca_free(pca);
  pca = NULL;
}
END_TEST

START_TEST(summary) {
  int extract = ev_extract_available();
  long calls = KNOWN_CALLS - (extract ? 0 : EXTRACT_CALLS);
  long points = KNOWN_POINTS - (extract ? 0 : EXTRACT_POINTS);
  fprintf(stderr, "test_oom: %ld public calls walked, %ld allocation points "
          "failed one by one\n", n_calls, n_points);
  ck_assert_msg(n_calls == calls, "%ld call sequences walked to the end, "
                "expected %ld", n_calls, calls);
  ck_assert_msg(n_points >= points, "%ld allocation points failed, expected "
                "at least %ld", n_points, points);
}
END_TEST

int main(void) {
  setenv("CK_FORK", "no", 1); /* one process: the summary counts them all */
  Suite *s = suite_create("oom");
  TCase *tc = tcase_create("oom");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, score_calls);
  tcase_add_test(tc, knn_calls_euclidean);
  tcase_add_test(tc, knn_calls_cosine);
  tcase_add_test(tc, knn_calls_cityblock);
  tcase_add_test(tc, knn_calls_two_threads);
  tcase_add_test(tc, pca_calls_covariance);
  tcase_add_test(tc, pca_calls_svd);
  tcase_add_test(tc, pca_calls_randomized);
  tcase_add_test(tc, pca_variance_to_keep);
  tcase_add_test(tc, tsne_calls_exact_pca_init);
  tcase_add_test(tc, tsne_calls_barnes_hut_random_init);
  tcase_add_test(tc, tsne_given_init);
  tcase_add_test(tc, array_readers);
  tcase_add_test(tc, array_writers);
  tcase_add_test(tc, dataset_calls);
  tcase_add_test(tc, overflowing_sizes_allocate_nothing);
  tcase_add_test(tc, extract_calls);
  tcase_add_test(tc, explain_calls);
  tcase_add_test(tc, summary);
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
