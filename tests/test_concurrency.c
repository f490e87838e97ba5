/* Concurrency: many threads, each with its own handles (PCA, kNN, t-SNE,
 * scores, file and data set reads), and many threads querying one shared
 * kNN index and one shared model (each with its own extractor), give
 * bit-identical results to one thread, and each thread keeps its own last
 * error. Built with `make SAN=tsan` it is the ThreadSanitizer test. Every
 * handle uses 1 thread of its own, so the results do not depend on BLAS's
 * thread count and the test stays fast under the sanitizer. */
#include <pthread.h>
#include <sys/stat.h>

#include "testutil.h"

#define D "tests/data/io/"

/* Under ThreadSanitizer the library's own OpenMP teams stay out (libgomp
 * is not instrumented: its barriers would look like races). */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif
enum { THREADS = 6, ROUNDS = 2 };

/* ---- the work each thread does with its own handles ---- */
enum { N = 200, DIM = 16, K = 5, PCS = 4, TN = 120 };
static float *x; /* N x DIM, shared read-only input */

typedef struct result {
  float scores[N * PCS];
  int64_t nn[N * K];
  float nd[N * K];
  float map[TN * 2];
  float amb[N];
  int32_t top[N];
  float npy[12];
  uint8_t idx[3 * 4 * 5];
  uint8_t img[5 * 7 * 3];
  float items[5 * 3 * 6 * 6];
  char err[256];
  int status;
} result;

static ev_status own_pca(result *r) {
  ev_pca *p;
  ev_status st = ev_pca_create(&p);
  if (st) return st;
  ev_pca_set(p, EV_PCA_THREADS, 1);
  ev_pca_set(p, EV_PCA_N_COMPONENTS, PCS);
  st = ev_pca_fit(p, x, N, DIM, DIM);
  if (!st) st = ev_pca_transform(p, x, N, DIM, DIM, r->scores, PCS);
  ev_pca_free(p);
  return st;
}

static ev_status own_knn(result *r) {
  ev_knn *k;
  ev_status st = ev_knn_create(&k);
  if (st) return st;
  ev_knn_set(k, EV_KNN_THREADS, 1);
  st = ev_knn_build(k, x, N, DIM, DIM);
  if (!st) st = ev_knn_query_self(k, K, r->nn, K, r->nd, K);
  ev_knn_free(k);
  return st;
}

static ev_status own_tsne(result *r) {
  ev_tsne *t;
  ev_status st = ev_tsne_create(&t);
  if (st) return st;
  ev_tsne_set(t, EV_TSNE_THREADS, 1);
  ev_tsne_set(t, EV_TSNE_METHOD, EV_TSNE_METHOD_BARNES_HUT);
  ev_tsne_set(t, EV_TSNE_PERPLEXITY, 10);
  ev_tsne_set(t, EV_TSNE_N_ITER, 60);
  ev_tsne_set(t, EV_TSNE_EXAGGERATION_ITERATIONS, 30);
  st = ev_tsne_fit(t, x, TN, DIM, DIM);
  if (!st) st = ev_tsne_embedding(t, r->map, 2);
  ev_tsne_free(t);
  return st;
}

static ev_status own_reads(result *r) {
  ev_array *a;
  ev_status st = ev_npy_read(D "f4_3x4.npy", &a);
  if (st) return st;
  memcpy(r->npy, ev_array_data(a), sizeof r->npy);
  ev_array_free(a);
  if ((st = ev_idx_read(D "images_3x4x5.idx.gz", &a))) return st;
  memcpy(r->idx, ev_array_data(a), sizeof r->idx);
  ev_array_free(a);
  if ((st = ev_image_read(D "img_rgb_5x7.png", 3, &a))) return st;
  memcpy(r->img, ev_array_data(a), sizeof r->img);
  ev_array_free(a);
  /* A folder's files are probed by an OpenMP team of all cores when the
   * data set is made; under TSan an IDX data set stands in. */
  ev_dataset *ds;
  st = UNDER_TSAN ? ev_dataset_from_idx(D "images_3x4x5.idx.gz", NULL, &ds)
                  : ev_dataset_from_folder(D "folder", 0, &ds);
  if (st) return st;
  ev_dataset_set(ds, EV_DS_THREADS, 1);
  ev_dataset_set(ds, EV_DS_RESIZE, 7);
  ev_dataset_set(ds, EV_DS_CROP, 6);
  if (UNDER_TSAN) ev_dataset_set(ds, EV_DS_CHANNELS, 3);
  st = ev_dataset_read(ds, 0, UNDER_TSAN ? 3 : 5, r->items, 3 * 6 * 6);
  ev_dataset_free(ds);
  return st;
}

static void own_work(result *r) {
  memset(r, 0, sizeof *r);
  ev_status st = own_pca(r);
  if (!st) st = own_knn(r);
  if (!st) st = own_tsne(r);
  if (!st) st = ev_ambiguity(x, N, DIM, DIM, EV_SCORE_LOGITS, r->amb, NULL,
                             NULL, r->top, NULL);
  if (!st) st = own_reads(r);
  /* a failure of this thread gives this thread's message */
  ev_knn *k = NULL;
  if (!st && ev_knn_create(&k) == EV_OK) {
    float q = 0;
    int64_t i;
    if (ev_knn_query(k, &q, 1, 1, 1, 1, &i, 1, NULL, 1) != EV_ERR_STATE)
      st = EV_ERR_INTERNAL;
    snprintf(r->err, sizeof r->err, "%s", ev_last_error());
    ev_knn_free(k);
  }
  r->status = st;
}

static void *own_thread(void *arg) {
  result *r = arg;
  for (int round = 0; round < ROUNDS; round++) own_work(r);
  return NULL;
}

static void check_same(const void *a, const void *b, size_t bytes,
                       const char *what, int t) {
  ck_assert_msg(memcmp(a, b, bytes) == 0, "thread %d: %s differs from the "
                "single-thread result", t, what);
}

START_TEST(own_handles_per_thread) {
  static result ref, got[THREADS];
  own_work(&ref);
  ck_assert_msg(ref.status == EV_OK, "single thread: %s", ev_last_error());
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++)
    ck_assert_int_eq(pthread_create(&th[t], NULL, own_thread, &got[t]), 0);
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  for (int t = 0; t < THREADS; t++) {
    ck_assert_msg(got[t].status == EV_OK, "thread %d failed: %s", t,
                  ev_status_name(got[t].status));
    check_same(got[t].scores, ref.scores, sizeof ref.scores, "PCA", t);
    check_same(got[t].nn, ref.nn, sizeof ref.nn, "kNN indices", t);
    check_same(got[t].nd, ref.nd, sizeof ref.nd, "kNN distances", t);
    check_same(got[t].map, ref.map, sizeof ref.map, "t-SNE map", t);
    check_same(got[t].amb, ref.amb, sizeof ref.amb, "ambiguity", t);
    check_same(got[t].top, ref.top, sizeof ref.top, "top class", t);
    check_same(got[t].npy, ref.npy, sizeof ref.npy, ".npy read", t);
    check_same(got[t].idx, ref.idx, sizeof ref.idx, "IDX read", t);
    check_same(got[t].img, ref.img, sizeof ref.img, "image read", t);
    check_same(got[t].items, ref.items, sizeof ref.items, "data set read", t);
    ck_assert_str_eq(got[t].err, ref.err);
  }
}
END_TEST

/* ---- one shared kNN index ---- */
static ev_knn *shared_index;
enum { SQ = 150 };
typedef struct query_job {
  int metric_k;
  int64_t idx[SQ * K];
  float dist[SQ * K];
  int status;
} query_job;

static void query_shared(query_job *j, int self) {
  for (int round = 0; round < 3; round++) {
    j->status = self ? ev_knn_query_self(shared_index, K, j->idx, K, j->dist,
                                         K)
                     : ev_knn_query(shared_index, x + DIM, SQ, DIM, DIM, K,
                                    j->idx, K, j->dist, K);
    if (j->status) return;
  }
}
static void *query_thread(void *arg) {
  query_job *j = arg;
  query_shared(j, 0);
  return NULL;
}

/* SGEMM metrics (Euclidean, cosine) and direct loops (city block), with
 * 1 and 2 threads per query. */
START_TEST(one_knn_index_many_threads) {
  static const int metrics[] = {EV_METRIC_EUCLIDEAN, EV_METRIC_COSINE,
                                EV_METRIC_CITYBLOCK};
  ck_assert_ev_ok(ev_knn_create(&shared_index));
  for (int run = 0; run < 6; run++) {
    int threads = UNDER_TSAN ? 1 : 1 + run % 2;
    ck_assert_ev_ok(ev_knn_set(shared_index, EV_KNN_METRIC, metrics[run / 2]));
    ck_assert_ev_ok(ev_knn_set(shared_index, EV_KNN_THREADS, threads));
    ck_assert_ev_ok(ev_knn_build(shared_index, x, N, DIM, DIM));
    static query_job ref, got[THREADS];
    query_shared(&ref, 0);
    ck_assert_ev_ok(ref.status);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
      ck_assert_int_eq(pthread_create(&th[t], NULL, query_thread, &got[t]),
                       0);
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < THREADS; t++) {
      ck_assert_ev_ok(got[t].status);
      check_same(got[t].idx, ref.idx, sizeof ref.idx, "shared kNN indices",
                 t);
      check_same(got[t].dist, ref.dist, sizeof ref.dist,
                 "shared kNN distances", t);
    }
  }
  ev_knn_free(shared_index);
  shared_index = NULL;
}
END_TEST

/* ---- one fitted PCA, transforms in many threads ---- */
static ev_pca *shared_pca;
typedef struct pca_job {
  float scores[N * PCS], back[N * DIM];
  int status;
} pca_job;
static void transform_shared(pca_job *j) {
  for (int round = 0; round < 3; round++) {
    j->status = ev_pca_transform(shared_pca, x, N, DIM, DIM, j->scores, PCS);
    if (!j->status)
      j->status = ev_pca_inverse_transform(shared_pca, j->scores, N, PCS, PCS,
                                           j->back, DIM);
    if (j->status) return;
  }
}
static void *transform_thread(void *arg) {
  transform_shared(arg);
  return NULL;
}

START_TEST(one_pca_many_threads) {
  ck_assert_ev_ok(ev_pca_create(&shared_pca));
  ck_assert_ev_ok(ev_pca_set(shared_pca, EV_PCA_THREADS, 1));
  ck_assert_ev_ok(ev_pca_set(shared_pca, EV_PCA_N_COMPONENTS, PCS));
  ck_assert_ev_ok(ev_pca_set(shared_pca, EV_PCA_WHITEN, 1));
  ck_assert_ev_ok(ev_pca_fit(shared_pca, x, N, DIM, DIM));
  static pca_job ref, got[THREADS];
  transform_shared(&ref);
  ck_assert_ev_ok(ref.status);
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++)
    ck_assert_int_eq(pthread_create(&th[t], NULL, transform_thread, &got[t]),
                     0);
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  for (int t = 0; t < THREADS; t++) {
    ck_assert_ev_ok(got[t].status);
    check_same(got[t].scores, ref.scores, sizeof ref.scores,
               "shared PCA transform", t);
    check_same(got[t].back, ref.back, sizeof ref.back,
               "shared PCA inverse transform", t);
  }
  ev_pca_free(shared_pca);
}
END_TEST

/* ---- one shared model, an extractor per thread ---- */
static ev_model *shared_model;
static _Thread_local int load_own; /* this thread loads its own model */
enum { XN = 6, XC = 64 };
static float xin[XN * 64];
typedef struct extract_job {
  float rows[2][XN * XC];
  int status;
} extract_job;

static void extract_shared(extract_job *j) {
  ev_extractor *ex;
  ev_model *own = NULL;
  if (load_own && (j->status = ev_model_load(tu_extract_path("small_cnn.pt"),
                                             EV_DEVICE_CPU, &own)))
    return;
  j->status = ev_extractor_create(own ? own : shared_model, &ex);
  if (j->status) {
    ev_model_free(own);
    return;
  }
  ev_extractor_set(ex, EV_EXTRACT_THREADS, 1);
  ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, 4);
  j->status = ev_extractor_add_layer(ex, "output");
  if (!j->status) j->status = ev_extractor_add_layer(ex, "softmax");
  float *out[2] = {j->rows[0], j->rows[1]};
  size_t ld[2] = {XC, XC};
  for (int round = 0; round < 2 && !j->status; round++)
    j->status = ev_extractor_run(ex, xin, XN, 1, 8, 8, 64, out, ld);
  ev_extractor_free(ex);
  ev_model_free(own);
}
/* Odd threads load their own model while the others use the shared one:
 * loads and graph building run at the same time. */
static void *extract_thread(void *arg) {
  load_own = (int)(((extract_job *)arg)->status);
  extract_shared(arg);
  return NULL;
}

START_TEST(one_model_many_threads) {
  TU_REQUIRE(ev_extract_available(), "test_concurrency.one_model_many_threads",
             "libtorch", ev_last_error());
  ck_assert_msg(tu_have_extract_models(), "cannot make the test models "
                "(tests/ref/extract_models.py)");
  uint64_t s = 5;
  for (size_t i = 0; i < sizeof xin / sizeof *xin; i++)
    xin[i] = (float)tu_normal(&s);
  ck_assert_ev_ok(ev_model_load(tu_extract_path("small_cnn.pt"), EV_DEVICE_CPU,
                                &shared_model));
  static extract_job ref, got[THREADS];
  extract_shared(&ref);
  ck_assert_msg(ref.status == EV_OK, "%s", ev_last_error());
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; t++) {
    got[t].status = t % 2; /* load_own for extract_thread */
    ck_assert_int_eq(pthread_create(&th[t], NULL, extract_thread, &got[t]),
                     0);
  }
  for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
  for (int t = 0; t < THREADS; t++) {
    ck_assert_msg(got[t].status == EV_OK, "thread %d: %s", t,
                  ev_status_name(got[t].status));
    check_same(got[t].rows, ref.rows, sizeof ref.rows, "extracted rows", t);
  }
  ev_model_free(shared_model);
}
END_TEST

int main(void) {
  x = tu_randn(N, DIM, 21);
  Suite *s = suite_create("concurrency");
  TCase *tc = tcase_create("concurrency");
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, own_handles_per_thread);
  tcase_add_test(tc, one_knn_index_many_threads);
  tcase_add_test(tc, one_pca_many_threads);
  tcase_add_test(tc, one_model_many_threads);
  suite_add_tcase(s, tc);
  int failed = tu_run(s);
  free(x);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
