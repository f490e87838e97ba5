/* Concurrency: many threads at once, each with its own handles, and many
 * threads sharing one kNN index and one model, give bit-for-bit the results
 * of one thread alone. `make check-tsan` runs this file under
 * ThreadSanitizer.
 *
 * Each worker uses one thread inside the library (the *_THREADS settings =
 * 1), as an application that parallelises over its own threads would; the
 * library's own parallel loops are covered by each room's tests. */
#include <pthread.h>
#include <sys/stat.h>

#include "testutil.h"

enum { WORKERS = 6, ROUNDS = 2 };

/* ---- one thread's pipeline over its own handles ------------------------- */

enum { N = 150, D = 10, K = 4, NN = 5 };

typedef struct result {
  float scores[N * K], map[N * 2], amb[N], img[5 * 7 * 3];
  int64_t idx[N * NN];
  double kl;
  ev_status st;
} result;

static float *data;

static ev_status pipeline(result *r) {
  ev_pca *p = NULL;
  ev_knn *k = NULL;
  ev_tsne *t = NULL;
  ev_array *a = NULL;
  ev_status st = ev_pca_create(&p);
  if (!st) st = ev_pca_set(p, EV_PCA_N_COMPONENTS, K);
  if (!st) st = ev_pca_set(p, EV_PCA_THREADS, 1);
  if (!st) st = ev_pca_fit(p, data, N, D, D);
  if (!st) st = ev_pca_transform(p, data, N, D, D, r->scores, K);
  if (!st) st = ev_knn_create(&k);
  if (!st) st = ev_knn_set(k, EV_KNN_THREADS, 1);
  if (!st) st = ev_knn_build(k, r->scores, N, K, K);
  if (!st) st = ev_knn_query_self(k, NN, r->idx, NN, NULL, 0);
  if (!st) st = ev_tsne_create(&t);
  if (!st) st = ev_tsne_set(t, EV_TSNE_THREADS, 1);
  if (!st) st = ev_tsne_set(t, EV_TSNE_PERPLEXITY, 10);
  if (!st) st = ev_tsne_set(t, EV_TSNE_N_ITER, 120);
  if (!st) st = ev_tsne_fit(t, data, N, D, D);
  if (!st) st = ev_tsne_embedding(t, r->map, 2);
  if (!st) st = ev_tsne_kl_divergence(t, &r->kl);
  if (!st) st = ev_ambiguity(r->scores, N, K, K, EV_SCORE_LOGITS, r->amb, NULL, NULL, NULL, NULL);
  if (!st) st = ev_image_read("tests/data/io/img_rgb_5x7.png", 3, &a);
  if (!st) st = ev_array_to_float(a, r->img, 5 * 7 * 3);
  ev_array_free(a);
  ev_tsne_free(t);
  ev_knn_free(k);
  ev_pca_free(p);
  return st;
}

static void *pipeline_worker(void *arg) {
  result *r = arg;
  for (int i = 0; i < ROUNDS && r->st == EV_OK; i++) r->st = pipeline(r);
  return NULL;
}

static void run_threads(void *(*fn)(void *), void *args, size_t size) {
  pthread_t th[WORKERS];
  for (int i = 0; i < WORKERS; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, fn, (char *)args + i * size), 0);
  for (int i = 0; i < WORKERS; i++) pthread_join(th[i], NULL);
}

START_TEST(threads_with_their_own_handles) {
  data = tu_randn(N, D, 7);
  result *ref = calloc(1, sizeof *ref), *r = calloc(WORKERS, sizeof *r);
  ck_assert_ev_ok(pipeline(ref));
  run_threads(pipeline_worker, r, sizeof *r);
  for (int i = 0; i < WORKERS; i++) {
    ck_assert_msg(r[i].st == EV_OK, "worker %d: %s", i, ev_status_name(r[i].st));
    ck_assert(memcmp(r[i].scores, ref->scores, sizeof ref->scores) == 0);
    ck_assert(memcmp(r[i].idx, ref->idx, sizeof ref->idx) == 0);
    ck_assert(memcmp(r[i].map, ref->map, sizeof ref->map) == 0);
    ck_assert(r[i].kl == ref->kl);
    ck_assert(memcmp(r[i].amb, ref->amb, sizeof ref->amb) == 0);
    ck_assert(memcmp(r[i].img, ref->img, sizeof ref->img) == 0);
  }
  free(ref);
  free(r);
  free(data);
}
END_TEST

/* ---- one kNN index, many querying threads ------------------------------- */

enum { RN = 2000, QN = 300, KD = 16, KK = 9 };

typedef struct query_job {
  const ev_knn *index;
  const float *q;
  int64_t idx[QN * KK];
  float dist[QN * KK];
  ev_status st;
} query_job;

static void *query_worker(void *arg) {
  query_job *j = arg;
  for (int i = 0; i < ROUNDS && j->st == EV_OK; i++)
    j->st = ev_knn_query(j->index, j->q, QN, KD, KD, KK, j->idx, KK, j->dist, KK);
  return NULL;
}

static void shared_index(int metric) {
  float *ref_rows = tu_randn(RN, KD, 1), *q = tu_randn(QN, KD, 2);
  ev_knn *index;
  ck_assert_ev_ok(ev_knn_create(&index));
  ck_assert_ev_ok(ev_knn_set(index, EV_KNN_METRIC, metric));
  ck_assert_ev_ok(ev_knn_set(index, EV_KNN_THREADS, 1));
  ck_assert_ev_ok(ev_knn_build(index, ref_rows, RN, KD, KD));
  query_job *ref = calloc(1, sizeof *ref), *jobs = calloc(WORKERS, sizeof *jobs);
  ck_assert_ev_ok(ev_knn_query(index, q, QN, KD, KD, KK, ref->idx, KK, ref->dist, KK));
  for (int i = 0; i < WORKERS; i++) jobs[i].index = index, jobs[i].q = q;
  run_threads(query_worker, jobs, sizeof *jobs);
  for (int i = 0; i < WORKERS; i++) {
    ck_assert_msg(jobs[i].st == EV_OK, "worker %d: %s", i, ev_status_name(jobs[i].st));
    ck_assert(memcmp(jobs[i].idx, ref->idx, sizeof ref->idx) == 0);
    ck_assert(memcmp(jobs[i].dist, ref->dist, sizeof ref->dist) == 0);
  }
  ev_knn_free(index);
  free(ref);
  free(jobs);
  free(ref_rows);
  free(q);
}

START_TEST(threads_share_one_knn_index) {
  shared_index(EV_METRIC_EUCLIDEAN);
  shared_index(EV_METRIC_COSINE);
  shared_index(EV_METRIC_CITYBLOCK);
}
END_TEST

/* ---- one model, many extracting threads --------------------------------- */

static const char *models = "build/tests/extract";

typedef struct extract_job {
  const ev_model *model;
  const float *x;
  float out[6 * 10], feat[6 * 8];
  ev_status st;
} extract_job;

static ev_status extract_once(extract_job *j) {
  ev_extractor *ex = NULL;
  ev_status st = ev_extractor_create(j->model, &ex);
  if (!st) st = ev_extractor_add_layer(ex, "softmax");
  if (!st) st = ev_extractor_add_layer(ex, "features.3");
  if (!st) st = ev_extractor_set(ex, EV_EXTRACT_THREADS, 1);
  if (!st) st = ev_extractor_set(ex, EV_EXTRACT_POOL, 1);
  if (!st) st = ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, 4);
  float *outs[2] = {j->out, j->feat};
  size_t lds[2] = {10, 8};
  if (!st) st = ev_extractor_run(ex, j->x, 6, 1, 8, 8, 64, outs, lds);
  ev_extractor_free(ex);
  return st;
}

static void *extract_worker(void *arg) {
  extract_job *j = arg;
  for (int i = 0; i < ROUNDS && j->st == EV_OK; i++) j->st = extract_once(j);
  return NULL;
}

START_TEST(threads_share_one_model) {
  char path[512];
  snprintf(path, sizeof path, "%s/small_cnn.pt", models);
  ev_model *m;
  ck_assert_ev_ok(ev_model_load(path, EV_DEVICE_CPU, &m));
  float *x = tu_randn(6, 64, 4);
  extract_job *ref = calloc(1, sizeof *ref), *jobs = calloc(WORKERS, sizeof *jobs);
  ref->model = m, ref->x = x;
  ck_assert_ev_ok(extract_once(ref));
  for (int i = 0; i < WORKERS; i++) jobs[i].model = m, jobs[i].x = x;
  run_threads(extract_worker, jobs, sizeof *jobs);
  for (int i = 0; i < WORKERS; i++) {
    ck_assert_msg(jobs[i].st == EV_OK, "worker %d: %s", i, ev_status_name(jobs[i].st));
    ck_assert(memcmp(jobs[i].out, ref->out, sizeof ref->out) == 0);
    ck_assert(memcmp(jobs[i].feat, ref->feat, sizeof ref->feat) == 0);
  }
  free(ref);
  free(jobs);
  free(x);
  ev_model_free(m);
}
END_TEST

/* ---- the thread-local error message ------------------------------------- */

static void *error_worker(void *arg) {
  long id = (long)(intptr_t)arg;
  for (int i = 0; i < 200; i++) {
    ev_knn *k = NULL;
    size_t n = (size_t)id;  /* worker 0 asks for 0 rows */
    float x[4] = {1, 2, 3, 4};
    ev_knn_create(&k);
    ev_knn_set(k, EV_KNN_THREADS, 1);
    ev_status st = ev_knn_build(k, x, n ? 2 : 0, 2, 2);
    const char *msg = ev_last_error();
    int ok = n ? (st == EV_OK && ev_last_status() == EV_OK) : (st == EV_ERR_ARGUMENT && strstr(msg, "0") != NULL);
    ev_knn_free(k);
    if (!ok) return (void *)1;
  }
  return NULL;
}

START_TEST(error_messages_are_per_thread) {
  pthread_t th[WORKERS];
  for (long i = 0; i < WORKERS; i++) pthread_create(&th[i], NULL, error_worker, (void *)(intptr_t)(i % 2));
  for (int i = 0; i < WORKERS; i++) {
    void *bad;
    pthread_join(th[i], &bad);
    ck_assert_msg(bad == NULL, "worker %d saw another thread's status or message", i);
  }
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
  Suite *s = suite_create("concurrency");
  TCase *tc = tcase_create("concurrency");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, threads_with_their_own_handles);
  tcase_add_test(tc, threads_share_one_knn_index);
  tcase_add_test(tc, error_messages_are_per_thread);
  if (ev_extract_available()) {
    if (!have_models()) {
      fprintf(stderr, "test_concurrency: cannot make the extraction test models\n");
      return 1;
    }
    tcase_add_test(tc, threads_share_one_model);
  }
  suite_add_tcase(s, tc);
  return tu_run(s) ? 1 : 0;
}
