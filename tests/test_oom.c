/* Out of memory, every allocation of every public call that allocates.
 *
 * For each scenario: a reference run counts the call's allocations
 * (ev__test_alloc_count) and keeps its result; then allocation 0, 1, ...,
 * count - 1 is made to fail in turn (lib/core/testhook.h). Each failed run
 * must return EV_ERR_NOMEM with a message, leave the library's live block
 * count where it was before the call (nothing leaked, nothing of the
 * handle's earlier state lost), and the handle must still work: a run
 * without failure right after gives the reference result again. A sticky
 * failure from the middle of the call on is tried too. Sizes whose product
 * overflows are refused with EV_ERR_OVERFLOW before anything is allocated.
 *
 * Everything runs on one thread so that the allocation order, and so the
 * results, are the same from run to run. */
#include <sys/stat.h>
#include <unistd.h>

#include "core/testhook.h"
#include "testutil.h"

/* ---- the walker --------------------------------------------------------- */

typedef struct scenario {
  const char *name;
  void *(*setup)(void);           /* makes handles and inputs; no failure */
  ev_status (*call)(void *ctx);   /* the calls under test */
  void (*keep)(void *ctx);        /* after the reference run: keep the result */
  int (*same)(void *ctx);         /* after a later success: 1 if it matches */
  void (*teardown)(void *ctx);
} scenario;

static void walk(const scenario *sc) {
  long live_start = ev__test_live_blocks();
  void *ctx = sc->setup();
  ev__test_fail_alloc(-1, 0);
  ck_assert_msg(sc->call(ctx) == EV_OK, "%s: reference run failed: %s", sc->name, ev_last_error());
  long count = ev__test_alloc_count();
  if (sc->keep) sc->keep(ctx);
  for (long i = 0; i <= count; i++) {
    /* i == count: a sticky failure from the middle of the call on. */
    long at = i < count ? i : count / 2;
    long live = ev__test_live_blocks();
    ev_clear_error();
    ev__test_fail_alloc(at, i == count);
    ev_status st = sc->call(ctx);
    ev__test_fail_alloc(-1, 0);
    if (count == 0) break;
    ck_assert_msg(st == EV_ERR_NOMEM, "%s: allocation %ld of %ld failed, the call returned %s (%s)",
                  sc->name, at, count, ev_status_name(st), ev_last_error());
    ck_assert_msg(*ev_last_error() != '\0', "%s: EV_ERR_NOMEM without a message", sc->name);
    ck_assert_msg(ev__test_live_blocks() == live, "%s: allocation %ld failed: %ld blocks leaked", sc->name,
                  at, ev__test_live_blocks() - live);
    /* The handle is still usable and gives the same result. */
    ck_assert_msg(sc->call(ctx) == EV_OK, "%s: run after failing allocation %ld failed: %s", sc->name, at,
                  ev_last_error());
    if (sc->same) ck_assert_msg(sc->same(ctx), "%s: result differs after failing allocation %ld", sc->name, at);
  }
  sc->teardown(ctx);
  ck_assert_msg(ev__test_live_blocks() == live_start, "%s: %ld blocks left after teardown", sc->name,
                ev__test_live_blocks() - live_start);
  fprintf(stderr, "oom: %-28s allocations failed in turn: %ld\n", sc->name, count);
}

static int same_floats(const float *a, const float *b, size_t n) {
  return memcmp(a, b, n * sizeof *a) == 0;
}

/* ---- PCA ---------------------------------------------------------------- */

enum { PN = 120, PD = 16, PK = 5 };

typedef struct pca_ctx {
  ev_pca *p;
  float *x, scores[PN * PK], back[PN * PD], comp[PK * PD], ref[PN * PK + PN * PD + PK * PD];
} pca_ctx;

static void *pca_setup(int solver) {
  pca_ctx *c = calloc(1, sizeof *c);
  c->x = tu_randn(PN, PD, 11);
  ck_assert_ev_ok(ev_pca_create(&c->p));
  ck_assert_ev_ok(ev_pca_set(c->p, EV_PCA_N_COMPONENTS, PK));
  ck_assert_ev_ok(ev_pca_set(c->p, EV_PCA_SOLVER, solver));
  ck_assert_ev_ok(ev_pca_set(c->p, EV_PCA_THREADS, 1));
  return c;
}
static void *pca_setup_cov(void) { return pca_setup(EV_PCA_SOLVER_COVARIANCE); }
static void *pca_setup_svd(void) { return pca_setup(EV_PCA_SOLVER_SVD); }
static void *pca_setup_rnd(void) { return pca_setup(EV_PCA_SOLVER_RANDOMIZED); }

static ev_status pca_call(void *v) {
  pca_ctx *c = v;
  ev_status st = ev_pca_fit(c->p, c->x, PN, PD, PD);
  if (!st) st = ev_pca_transform(c->p, c->x, PN, PD, PD, c->scores, PK);
  if (!st) st = ev_pca_inverse_transform(c->p, c->scores, PN, PK, PK, c->back, PD);
  if (!st) st = ev_pca_components(c->p, c->comp, PD);
  return st;
}
static void pca_keep(void *v) {
  pca_ctx *c = v;
  memcpy(c->ref, c->scores, sizeof c->scores);
  memcpy(c->ref + PN * PK, c->back, sizeof c->back);
  memcpy(c->ref + PN * PK + PN * PD, c->comp, sizeof c->comp);
}
static int pca_same(void *v) {
  pca_ctx *c = v;
  return same_floats(c->ref, c->scores, PN * PK) && same_floats(c->ref + PN * PK, c->back, PN * PD) &&
         same_floats(c->ref + PN * PK + PN * PD, c->comp, PK * PD);
}
static void pca_teardown(void *v) {
  pca_ctx *c = v;
  ev_pca_free(c->p);
  free(c->x);
  free(c);
}

/* ---- kNN ---------------------------------------------------------------- */

enum { KN = 300, KQ = 40, KD = 12, KK = 7 };

typedef struct knn_ctx {
  ev_knn *k;
  int metric;
  float *ref_rows, *q, dist[(KQ + KN) * KK], rdist[(KQ + KN) * KK];
  int64_t idx[(KQ + KN) * KK], ridx[(KQ + KN) * KK];
} knn_ctx;

static void *knn_setup(int metric) {
  knn_ctx *c = calloc(1, sizeof *c);
  c->metric = metric;
  c->ref_rows = tu_randn(KN, KD, 5);
  c->q = tu_randn(KQ, KD, 6);
  ck_assert_ev_ok(ev_knn_create(&c->k));
  ck_assert_ev_ok(ev_knn_set(c->k, EV_KNN_METRIC, metric));
  ck_assert_ev_ok(ev_knn_set(c->k, EV_KNN_MINKOWSKI_P, 3));
  ck_assert_ev_ok(ev_knn_set(c->k, EV_KNN_THREADS, 1));
  ck_assert_ev_ok(ev_knn_set(c->k, EV_KNN_BLOCK_ROWS, 16));
  return c;
}
static void *knn_setup_l2(void) { return knn_setup(EV_METRIC_EUCLIDEAN); }
static void *knn_setup_cos(void) { return knn_setup(EV_METRIC_COSINE); }
static void *knn_setup_mink(void) { return knn_setup(EV_METRIC_MINKOWSKI); }

static ev_status knn_call(void *v) {
  knn_ctx *c = v;
  ev_status st = ev_knn_build(c->k, c->ref_rows, KN, KD, KD);
  if (!st) st = ev_knn_query(c->k, c->q, KQ, KD, KD, KK, c->idx, KK, c->dist, KK);
  if (!st) st = ev_knn_query_self(c->k, KK, c->idx + KQ * KK, KK, c->dist + KQ * KK, KK);
  return st;
}
static void knn_keep(void *v) {
  knn_ctx *c = v;
  memcpy(c->ridx, c->idx, sizeof c->idx);
  memcpy(c->rdist, c->dist, sizeof c->dist);
}
static int knn_same(void *v) {
  knn_ctx *c = v;
  return memcmp(c->ridx, c->idx, sizeof c->idx) == 0 && same_floats(c->rdist, c->dist, (KQ + KN) * KK);
}
static void knn_teardown(void *v) {
  knn_ctx *c = v;
  ev_knn_free(c->k);
  free(c->ref_rows);
  free(c->q);
  free(c);
}

/* Queries against one index built once: the query alone, with the index
 * untouched by its failures. */
static void *knn_query_setup(void) {
  knn_ctx *c = knn_setup(EV_METRIC_EUCLIDEAN);
  ck_assert_ev_ok(ev_knn_build(c->k, c->ref_rows, KN, KD, KD));
  return c;
}
static ev_status knn_query_call(void *v) {
  knn_ctx *c = v;
  return ev_knn_query(c->k, c->q, KQ, KD, KD, KK, c->idx, KK, c->dist, KK);
}

/* ---- t-SNE -------------------------------------------------------------- */

enum { TN = 70, TD = 6 };

typedef struct tsne_ctx {
  ev_tsne *t;
  int method, source;
  float *x, *dist, map[TN * 3], ref[TN * 3];
  size_t row_ptr[TN + 1];
  int64_t cols[TN * 8];
  float vals[TN * 8];
} tsne_ctx;

static void *tsne_setup(int method, int dims, int source) {
  tsne_ctx *c = calloc(1, sizeof *c);
  c->method = method;
  c->source = source;
  c->x = tu_randn(TN, TD, 21);
  c->dist = malloc(sizeof(float) * TN * TN);
  for (size_t i = 0; i < TN; i++)
    for (size_t j = 0; j < TN; j++) {
      double s = 0;
      for (size_t d = 0; d < TD; d++) s += (c->x[i * TD + d] - c->x[j * TD + d]) * (c->x[i * TD + d] - c->x[j * TD + d]);
      c->dist[i * TN + j] = (float)sqrt(s);
    }
  /* A ring of affinities for the CSR source: each row's 8 next rows. */
  for (size_t i = 0; i <= TN; i++) c->row_ptr[i] = i * 8;
  for (size_t i = 0; i < TN; i++)
    for (size_t j = 0; j < 8; j++) {
      c->cols[i * 8 + j] = (int64_t)((i + j + 1) % TN);
      c->vals[i * 8 + j] = 1.0f / (float)(j + 1);
    }
  ck_assert_ev_ok(ev_tsne_create(&c->t));
  ck_assert_ev_ok(ev_tsne_set(c->t, EV_TSNE_METHOD, method));
  ck_assert_ev_ok(ev_tsne_set(c->t, EV_TSNE_N_COMPONENTS, dims));
  ck_assert_ev_ok(ev_tsne_set(c->t, EV_TSNE_PERPLEXITY, 8));
  ck_assert_ev_ok(ev_tsne_set(c->t, EV_TSNE_N_ITER, 60));
  ck_assert_ev_ok(ev_tsne_set(c->t, EV_TSNE_EXAGGERATION_ITERATIONS, 20));
  ck_assert_ev_ok(ev_tsne_set(c->t, EV_TSNE_THREADS, 1));
  return c;
}
static void *tsne_setup_bh(void) { return tsne_setup(EV_TSNE_METHOD_BARNES_HUT, 2, 0); }
static void *tsne_setup_bh3(void) { return tsne_setup(EV_TSNE_METHOD_BARNES_HUT, 3, 0); }
static void *tsne_setup_exact(void) { return tsne_setup(EV_TSNE_METHOD_EXACT, 2, 0); }
static void *tsne_setup_dist(void) { return tsne_setup(EV_TSNE_METHOD_BARNES_HUT, 2, 1); }
static void *tsne_setup_csr(void) { return tsne_setup(EV_TSNE_METHOD_BARNES_HUT, 2, 2); }

static ev_status tsne_call(void *v) {
  tsne_ctx *c = v;
  ev_status st = c->source == 0   ? ev_tsne_fit(c->t, c->x, TN, TD, TD)
                 : c->source == 1 ? ev_tsne_fit_distances(c->t, c->dist, TN, TN)
                                  : ev_tsne_fit_affinities(c->t, TN, c->row_ptr, c->cols, c->vals);
  size_t n, dims, nnz;
  if (!st) st = ev_tsne_size(c->t, &n, &dims);
  if (!st) st = ev_tsne_embedding(c->t, c->map, dims);
  if (!st) st = ev_tsne_affinities(c->t, NULL, NULL, NULL, &nnz);
  return st;
}
static void tsne_keep(void *v) {
  tsne_ctx *c = v;
  memcpy(c->ref, c->map, sizeof c->map);
}
static int tsne_same(void *v) {
  tsne_ctx *c = v;
  return same_floats(c->ref, c->map, TN * 3);
}
static void tsne_teardown(void *v) {
  tsne_ctx *c = v;
  ev_tsne_free(c->t);
  free(c->x);
  free(c->dist);
  free(c);
}

/* ---- scoring ------------------------------------------------------------ */

enum { SN = 50, SC = 4 };

typedef struct score_ctx {
  float *logits, probs[SN * SC], amb[SN], margin[SN], ent[SN], ref[SN];
  int32_t top1[SN], top2[SN], y[SN];
  int64_t idx[10], counts[SC * SC];
  float acc[SC];
} score_ctx;

static void *score_setup(void) {
  score_ctx *c = calloc(1, sizeof *c);
  c->logits = tu_randn(SN, SC, 3);
  for (int i = 0; i < SN; i++) c->y[i] = i % SC;
  return c;
}
static ev_status score_call(void *v) {
  score_ctx *c = v;
  ev_status st = ev_softmax(c->logits, SN, SC, SC, c->probs, SC);
  if (!st) st = ev_ambiguity(c->logits, SN, SC, SC, EV_SCORE_LOGITS, c->amb, c->margin, c->ent, c->top1, c->top2);
  if (!st) st = ev_most_ambiguous(c->amb, SN, 10, c->idx);
  if (!st) st = ev_confusion_matrix(c->y, c->top1, SN, SC, c->counts, c->acc);
  return st;
}
static void score_keep(void *v) {
  score_ctx *c = v;
  memcpy(c->ref, c->amb, sizeof c->amb);
}
static int score_same(void *v) {
  score_ctx *c = v;
  return same_floats(c->ref, c->amb, SN);
}
static void score_teardown(void *v) {
  score_ctx *c = v;
  free(c->logits);
  free(c);
}

/* ---- files and data sets ------------------------------------------------ */

#define IO "tests/data/io/"

typedef struct io_ctx {
  int what;
  float out[4 * 3 * 64 * 64], ref[4 * 3 * 64 * 64];
  uint8_t thumb[16 * 16 * 3];
  char tmp[64];
} io_ctx;

static void *io_setup(int what) {
  io_ctx *c = calloc(1, sizeof *c);
  c->what = what;
  snprintf(c->tmp, sizeof c->tmp, "/tmp/ev_oom_%d.npy", (int)getpid());
  return c;
}
static void *io_setup_arrays(void) { return io_setup(0); }
static void *io_setup_paths(void) { return io_setup(1); }
static void *io_setup_folder(void) { return io_setup(2); }
static void *io_setup_idx(void) { return io_setup(3); }
static void *io_setup_npy_ds(void) { return io_setup(4); }
static void *io_setup_floats(void) { return io_setup(5); }

/* Read every kind of array file and write .npy; the floats of the last
 * image are the result. */
static ev_status io_arrays(io_ctx *c) {
  static const char *npy[] = {IO "f4_3x4.npy", IO "f8_2x3.npy", IO "u1_2x3x4.npy", IO "i8_5.npy",
                              IO "f4_fortran_3x4.npy", IO "f4_bigendian_2x2.npy", IO "f4_v3_2x2.npy"};
  static const char *img[] = {IO "img_rgb_5x7.png", IO "img_grey_6x4.png", IO "img_rgba_3x4.png",
                              IO "img_pal_4x6.gif", IO "img_rgb_5x7.bmp", IO "img_photo_37x53.jpg",
                              IO "img_blocks_16x16.jpg"};
  ev_status st = EV_OK;
  ev_array *a = NULL;
  for (size_t i = 0; !st && i < sizeof npy / sizeof *npy; i++) {
    st = ev_npy_read(npy[i], &a);
    if (!st) st = ev_npy_write(c->tmp, ev_array_dtype(a), ev_array_data(a), 1, (size_t[]){ev_array_size(a)});
    ev_array_free(a);
    a = NULL;
  }
  static const char *idx[] = {IO "images_3x4x5.idx", IO "images_3x4x5.idx.gz", IO "labels_3.idx.gz", IO "floats_2x2.idx"};
  for (size_t i = 0; !st && i < sizeof idx / sizeof *idx; i++) {
    st = ev_idx_read(idx[i], &a);
    ev_array_free(a);
    a = NULL;
  }
  for (size_t i = 0; !st && i < sizeof img / sizeof *img; i++)
    for (int ch = 0; !st && ch <= 3; ch += (ch == 0 ? 1 : 2)) {
      st = ev_image_read(img[i], ch, &a);
      if (!st) st = ev_array_to_float(a, c->out, ev_array_size(a));
      ev_array_free(a);
      a = NULL;
    }
  if (!st) st = ev_npy_write_matrix(c->tmp, c->out, 3, 4, 4);
  return st;
}

static ev_status io_dataset(io_ctx *c) {
  static const char *paths[] = {IO "img_rgb_5x7.png", IO "img_photo_37x53.jpg", IO "img_pal_4x6.gif",
                                IO "img_rgb_5x7.bmp"};
  static const int32_t labels[] = {0, 1, 1, 2};
  ev_dataset *ds = NULL;
  ev_status st;
  switch (c->what) {
  case 1: st = ev_dataset_from_paths(paths, 4, labels, 0, &ds); break;
  case 2: st = ev_dataset_from_folder(IO "folder", 0, &ds); break;
  case 3: st = ev_dataset_from_idx(IO "images_3x4x5.idx.gz", IO "labels_3.idx.gz", &ds); break;
  case 4: st = ev_dataset_from_npy(IO "ds_images_4x6x5.npy", IO "ds_labels_4.npy", &ds); break;
  default: {
    float *x = tu_randn(3, 2 * 4 * 4, 8);
    st = ev_dataset_from_floats(x, 3, 2, 4, 4, 2 * 4 * 4, NULL, &ds);
    free(x);
  }
  }
  if (st) return st;
  size_t n = 0, ch, h, w;
  if (c->what != 5) {
    ev_dataset_set(ds, EV_DS_RESIZE, 8);
    ev_dataset_set(ds, EV_DS_CROP, 6);
    ev_dataset_set(ds, EV_DS_THREADS, 1);
  }
  st = ev_dataset_count(ds, &n);
  if (!st) st = ev_dataset_item_shape(ds, &ch, &h, &w);
  if (!st) st = ev_dataset_read(ds, 0, n < 4 ? n : 4, c->out, ch * h * w);
  if (!st && c->what != 5) st = ev_dataset_thumbnail(ds, 0, 16, c->thumb);
  ev_dataset_free(ds);
  return st;
}

static ev_status io_call(void *v) {
  io_ctx *c = v;
  return c->what == 0 ? io_arrays(c) : io_dataset(c);
}
static void io_keep(void *v) {
  io_ctx *c = v;
  memcpy(c->ref, c->out, sizeof c->out);
}
static int io_same(void *v) {
  io_ctx *c = v;
  return same_floats(c->ref, c->out, sizeof c->out / sizeof *c->out);
}
static void io_teardown(void *v) {
  io_ctx *c = v;
  remove(c->tmp);
  free(c);
}

/* ---- extraction (the library's own allocations; libtorch's are its own) -- */

static const char *models = "build/tests/extract";

typedef struct ex_ctx {
  ev_model *m;
  float *x, out0[5 * 128], out1[5 * 10], ref[5 * 138];
} ex_ctx;

static void *ex_setup(void) {
  ex_ctx *c = calloc(1, sizeof *c);
  char p[512];
  snprintf(p, sizeof p, "%s/small_cnn.pt", models);
  ck_assert_ev_ok(ev_model_load(p, EV_DEVICE_CPU, &c->m));
  c->x = tu_randn(5, 64, 2);
  return c;
}
/* An extractor made, run on a batch and on a data set, and freed. */
static ev_status ex_call(void *v) {
  ex_ctx *c = v;
  ev_extractor *ex = NULL;
  ev_status st = ev_extractor_create(c->m, &ex);
  if (!st) st = ev_extractor_add_layer(ex, "features.3");
  if (!st) st = ev_extractor_add_layer(ex, "softmax");
  if (!st) st = ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, 2);
  if (!st) st = ev_extractor_set(ex, EV_EXTRACT_THREADS, 1);
  if (!st) st = ev_extractor_set(ex, EV_EXTRACT_POOL, 0);
  if (!st) st = ev_extractor_prepare(ex, 1, 8, 8);
  float *outs[2] = {c->out0, c->out1};
  size_t lds[2] = {128, 10};
  if (!st) st = ev_extractor_run(ex, c->x, 5, 1, 8, 8, 64, outs, lds);
  ev_dataset *ds = NULL;
  if (!st) st = ev_dataset_from_floats(c->x, 5, 1, 8, 8, 64, NULL, &ds);
  if (!st) st = ev_extractor_run_dataset(ex, ds, outs, lds);
  ev_dataset_free(ds);
  ev_extractor_free(ex);
  return st;
}
static void ex_keep(void *v) {
  ex_ctx *c = v;
  memcpy(c->ref, c->out0, sizeof c->out0);
  memcpy(c->ref + 5 * 128, c->out1, sizeof c->out1);
}
static int ex_same(void *v) {
  ex_ctx *c = v;
  return same_floats(c->ref, c->out0, 5 * 128) && same_floats(c->ref + 5 * 128, c->out1, 50);
}
static void ex_teardown(void *v) {
  ex_ctx *c = v;
  ev_model_free(c->m);
  free(c->x);
  free(c);
}

/* ---- the tests ---------------------------------------------------------- */

static const scenario scenarios[] = {
    {"pca covariance", pca_setup_cov, pca_call, pca_keep, pca_same, pca_teardown},
    {"pca svd", pca_setup_svd, pca_call, pca_keep, pca_same, pca_teardown},
    {"pca randomized", pca_setup_rnd, pca_call, pca_keep, pca_same, pca_teardown},
    {"knn euclidean", knn_setup_l2, knn_call, knn_keep, knn_same, knn_teardown},
    {"knn cosine", knn_setup_cos, knn_call, knn_keep, knn_same, knn_teardown},
    {"knn minkowski", knn_setup_mink, knn_call, knn_keep, knn_same, knn_teardown},
    {"knn query on a built index", knn_query_setup, knn_query_call, knn_keep, knn_same, knn_teardown},
    {"tsne barnes-hut 2-D", tsne_setup_bh, tsne_call, tsne_keep, tsne_same, tsne_teardown},
    {"tsne barnes-hut 3-D", tsne_setup_bh3, tsne_call, tsne_keep, tsne_same, tsne_teardown},
    {"tsne exact", tsne_setup_exact, tsne_call, tsne_keep, tsne_same, tsne_teardown},
    {"tsne from distances", tsne_setup_dist, tsne_call, tsne_keep, tsne_same, tsne_teardown},
    {"tsne from affinities", tsne_setup_csr, tsne_call, tsne_keep, tsne_same, tsne_teardown},
    {"scores", score_setup, score_call, score_keep, score_same, score_teardown},
    {"npy, idx, images", io_setup_arrays, io_call, io_keep, io_same, io_teardown},
    {"data set of paths", io_setup_paths, io_call, io_keep, io_same, io_teardown},
    {"data set of a folder", io_setup_folder, io_call, io_keep, io_same, io_teardown},
    {"data set of IDX", io_setup_idx, io_call, io_keep, io_same, io_teardown},
    {"data set of .npy", io_setup_npy_ds, io_call, io_keep, io_same, io_teardown},
    {"data set of floats", io_setup_floats, io_call, io_keep, io_same, io_teardown},
};
#define N_SCENARIOS (sizeof scenarios / sizeof *scenarios)

START_TEST(every_allocation_fails_cleanly) {
  walk(&scenarios[_i]);
}
END_TEST

START_TEST(extraction_allocations_fail_cleanly) {
  static const scenario sc = {"extraction", ex_setup, ex_call, ex_keep, ex_same, ex_teardown};
  walk(&sc);
}
END_TEST

/* Handles themselves: creating fails cleanly and sets *out to NULL. */
START_TEST(create_fails_cleanly) {
  long live = ev__test_live_blocks();
  ev_pca *p = (ev_pca *)1;
  ev_knn *k = (ev_knn *)1;
  ev_tsne *t = (ev_tsne *)1;
  ev__test_fail_alloc(0, 1);
  ck_assert_ev(ev_pca_create(&p), EV_ERR_NOMEM);
  ck_assert_ev(ev_knn_create(&k), EV_ERR_NOMEM);
  ck_assert_ev(ev_tsne_create(&t), EV_ERR_NOMEM);
  ev__test_fail_alloc(-1, 0);
  ck_assert_ptr_null(p);
  ck_assert_ptr_null(k);
  ck_assert_ptr_null(t);
  /* Constructors of arrays and data sets. */
  ev_array *a = (ev_array *)1;
  ev_dataset *ds = (ev_dataset *)1;
  float x[2 * 4 * 4] = {0};
  const char *paths[] = {IO "img_rgb_5x7.png"};
  ev__test_fail_alloc(0, 1);
  ck_assert_ev(ev_npy_read(IO "f4_3x4.npy", &a), EV_ERR_NOMEM);
  ck_assert_ptr_null(a);
  a = (ev_array *)1;
  ck_assert_ev(ev_idx_read(IO "images_3x4x5.idx.gz", &a), EV_ERR_NOMEM);
  ck_assert_ptr_null(a);
  a = (ev_array *)1;
  ck_assert_ev(ev_image_read(IO "img_rgb_5x7.png", 3, &a), EV_ERR_NOMEM);
  ck_assert_ptr_null(a);
  ck_assert_ev(ev_dataset_from_floats(x, 1, 2, 4, 4, 32, NULL, &ds), EV_ERR_NOMEM);
  ck_assert_ptr_null(ds);
  ds = (ev_dataset *)1;
  ck_assert_ev(ev_dataset_from_paths(paths, 1, NULL, 0, &ds), EV_ERR_NOMEM);
  ck_assert_ptr_null(ds);
  ds = (ev_dataset *)1;
  ck_assert_ev(ev_dataset_from_folder(IO "folder", 0, &ds), EV_ERR_NOMEM);
  ck_assert_ptr_null(ds);
  ev__test_fail_alloc(-1, 0);
  ck_assert_int_eq(ev__test_live_blocks(), live);
}
END_TEST

/* Sizes whose product overflows size_t: EV_ERR_OVERFLOW before any
 * allocation. */
START_TEST(overflowing_sizes_are_refused_before_allocating) {
  const size_t huge = SIZE_MAX / 2 + 1;
  float x[4] = {1, 2, 3, 4}, out[4];
  ev_pca *p;
  ev_knn *k;
  ev_tsne *t;
  ck_assert_ev_ok(ev_pca_create(&p));
  ck_assert_ev_ok(ev_knn_create(&k));
  ck_assert_ev_ok(ev_tsne_create(&t));
  ev__test_fail_alloc(-1, 0);
  ck_assert_ev(ev_pca_fit(p, x, huge, 4, 4), EV_ERR_OVERFLOW);
  ck_assert_ev(ev_knn_build(k, x, huge, 4, 4), EV_ERR_OVERFLOW);
  ck_assert_ev(ev_knn_build(k, x, 4, huge, huge), EV_ERR_OVERFLOW);
  ck_assert_ev(ev_tsne_fit(t, x, huge, 4, 4), EV_ERR_OVERFLOW);
  ck_assert_ev(ev_tsne_fit_distances(t, x, huge, huge), EV_ERR_OVERFLOW);
  ck_assert_ev(ev_softmax(x, huge, 4, 4, out, 4), EV_ERR_OVERFLOW);
  ev_dataset *ds = NULL;
  ck_assert_ev(ev_dataset_from_floats(x, huge, 4, 4, 4, 64, NULL, &ds), EV_ERR_OVERFLOW);
  ck_assert_ev(ev_npy_write("/tmp/ev_oom_never.npy", EV_DTYPE_FLOAT32, x, 2, (size_t[]){huge, 4}), EV_ERR_OVERFLOW);
  ck_assert_int_eq(ev__test_alloc_count(), 0);
  ev_pca_free(p);
  ev_knn_free(k);
  ev_tsne_free(t);
}
END_TEST

static int have_models(void) {
  struct stat st;
  char p[512];
  snprintf(p, sizeof p, "%s/ok", models);
  if (stat(p, &st) == 0) return 1;
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/ref/extract_models.py %s >/dev/null", models);
  return system(cmd) == 0 && stat(p, &st) == 0;
}

int main(void) {
  Suite *s = suite_create("oom");
  TCase *tc = tcase_create("oom");
  tcase_set_timeout(tc, 600);
  tcase_add_loop_test(tc, every_allocation_fails_cleanly, 0, (int)N_SCENARIOS);
  tcase_add_test(tc, create_fails_cleanly);
  tcase_add_test(tc, overflowing_sizes_are_refused_before_allocating);
  if (ev_extract_available()) {
    if (!have_models()) {
      fprintf(stderr, "test_oom: cannot make the extraction test models\n");
      return 1;
    }
    tcase_add_test(tc, extraction_allocations_fail_cleanly);
  }
  suite_add_tcase(s, tc);
  return tu_run(s) ? 1 : 0;
}
