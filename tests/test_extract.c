/* Feature extraction: activations from libembedviz equal what Python torch
 * computes (reference files made by tests/ref/extract_models.py into
 * build/tests/extract, generated here on first run), and every bad input
 * gets a clear status. */
#include <pthread.h>
#include <sys/stat.h>

#include "testutil.h"

/* The reference file `name` holding exactly `count` floats. */
static float *ref(const char *name, size_t count) {
  FILE *f = fopen(tu_extract_path(name), "rb");
  ck_assert_msg(f != NULL, "missing reference %s", tu_extract_path(name));
  float *v = malloc((count + 1) * sizeof *v);
  size_t got = fread(v, sizeof *v, count + 1, f);
  fclose(f);
  ck_assert_msg(got == count, "%s has %zu floats, expected %zu", name, got,
                count);
  return v;
}

static float max_diff(const float *a, const float *b, size_t count) {
  float d = 0;
  for (size_t i = 0; i < count; i++)
    if (fabsf(a[i] - b[i]) > d) d = fabsf(a[i] - b[i]);
  return d;
}

static ev_model *load(const char *name) {
  ev_model *m = NULL;
  ck_assert_ev_ok(ev_model_load(tu_extract_path(name), EV_DEVICE_CPU, &m));
  return m;
}

/* Extract `k` layers of `n` inputs and compare each with its reference. */
typedef struct { const char *layer, *file; size_t cols; } expect;

static void check_layers(const char *model, const char *input, size_t n,
                         size_t c, size_t h, size_t w, const expect *e,
                         size_t k, int batch, int pool) {
  ev_model *m = load(model);
  ev_extractor *ex;
  ck_assert_ev_ok(ev_extractor_create(m, &ex));
  ck_assert_ev_ok(ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, batch));
  ck_assert_ev_ok(ev_extractor_set(ex, EV_EXTRACT_POOL, pool));
  float *out[8];
  size_t ld[8];
  for (size_t j = 0; j < k; j++) {
    ck_assert_ev_ok(ev_extractor_add_layer(ex, e[j].layer));
    out[j] = calloc(n * e[j].cols, sizeof(float));
    ld[j] = e[j].cols;
  }
  float *x = ref(input, n * c * h * w);
  ck_assert_ev_ok(ev_extractor_run(ex, x, n, c, h, w, c * h * w, out, ld));
  for (size_t j = 0; j < k; j++) {
    size_t cols;
    ck_assert_ev_ok(ev_extractor_layer_cols(ex, j, &cols));
    ck_assert_uint_eq(cols, e[j].cols);
    float *want = ref(e[j].file, n * cols);
    float d = max_diff(out[j], want, n * cols);
    ck_assert_msg(d <= 1e-5f, "%s %s differs from torch by %g", model,
                  e[j].layer, d);
    free(want);
    free(out[j]);
  }
  free(x);
  ev_extractor_free(ex);
  ev_model_free(m);
}

START_TEST(small_cnn_lists_its_layers) {
  ev_model *m = load("small_cnn.pt");
  size_t n;
  ck_assert_ev_ok(ev_model_n_layers(m, &n));
  const char *want[] = {"features", "features.0", "features.5", "classifier",
                        "classifier.1", "output", "softmax"};
  for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
    int found = 0;
    for (size_t i = 0; i < n; i++) {
      const char *name;
      ck_assert_ev_ok(ev_model_layer_name(m, i, &name));
      found |= strcmp(name, want[k]) == 0;
    }
    ck_assert_msg(found, "layer %s not listed", want[k]);
  }
  ck_assert_uint_eq(n, 12); /* 2 Sequentials, 8 modules, output, softmax */
  const char *name;
  ck_assert_ev(ev_model_layer_name(m, n, &name), EV_ERR_ARGUMENT);
  ev_model_free(m);
}
END_TEST

START_TEST(small_cnn_matches_torch) {
  const expect e[] = {
      {"features.0", "small_cnn_features.0.f32", 4 * 8 * 8},
      {"features.3", "small_cnn_features.3.f32", 8 * 4 * 4},
      {"features", "small_cnn_features.f32", 8 * 2 * 2},
      {"classifier.1", "small_cnn_classifier.1.f32", 10},
      {"output", "small_cnn_output.f32", 10},
      {"softmax", "small_cnn_softmax.f32", 10}};
  /* batch 2 of 5 inputs: three batches, the last one short */
  check_layers("small_cnn.pt", "small_cnn_input.f32", 5, 1, 8, 8, e, 6, 2, 0);
}
END_TEST

START_TEST(pooling_averages_spatial_dims) {
  const expect e[] = {
      {"features.3", "small_cnn_features.3_pooled.f32", 8},
      {"output", "small_cnn_output.f32", 10}};
  check_layers("small_cnn.pt", "small_cnn_input.f32", 5, 1, 8, 8, e, 2, 3, 1);
}
END_TEST

START_TEST(resnet18_scripted_whole_matches_torch) {
  const expect e[] = {
      {"layer1", "resnet18_layer1.f32", 64 * 16 * 16},
      {"layer3.1.conv2", "resnet18_layer3.1.conv2.f32", 256 * 4 * 4},
      {"layer4", "resnet18_layer4.f32", 512 * 2 * 2},
      {"avgpool", "resnet18_avgpool.f32", 512},
      {"fc", "resnet18_fc.f32", 10},
      {"softmax", "resnet18_softmax.f32", 10}};
  check_layers("resnet18.pt", "resnet18_input.f32", 3, 3, 64, 64, e, 6, 2, 0);
}
END_TEST

START_TEST(resnet18_feature_extractor_matches_torch) {
  const expect e[] = {
      {"output[layer1]", "resnet18_fx_layer1.f32", 64 * 16 * 16},
      {"output[layer4]", "resnet18_fx_layer4.f32", 512 * 2 * 2},
      {"output[avgpool]", "resnet18_fx_avgpool.f32", 512},
      {"layer3.1.conv2", "resnet18_layer3.1.conv2.f32", 256 * 4 * 4}};
  check_layers("resnet18_fx.pt", "resnet18_input.f32", 3, 3, 64, 64, e, 4, 3,
               0);
}
END_TEST

START_TEST(tuple_outputs_are_layers) {
  const expect e[] = {{"output[0]", "tuple_net_output0.f32", 4},
                      {"output[1]", "tuple_net_output1.f32", 6},
                      {"body", "tuple_net_output1.f32", 6}};
  check_layers("tuple_net.pt", "tuple_net_input.f32", 2, 3, 5, 5, e, 3, 8, 0);
}
END_TEST

START_TEST(layer_shapes_before_pooling) {
  ev_model *m = load("small_cnn.pt");
  ev_extractor *ex;
  ck_assert_ev_ok(ev_extractor_create(m, &ex));
  ck_assert_ev_ok(ev_extractor_add_layer(ex, "features.3"));
  size_t cols, dims[8], nd;
  ck_assert_ev(ev_extractor_layer_cols(ex, 0, &cols), EV_ERR_STATE);
  ck_assert_ev_ok(ev_extractor_set(ex, EV_EXTRACT_POOL, 1));
  ck_assert_ev_ok(ev_extractor_prepare(ex, 1, 12, 10));
  ck_assert_ev_ok(ev_extractor_layer_shape(ex, 0, dims, &nd));
  ck_assert_uint_eq(nd, 3);
  ck_assert_uint_eq(dims[0], 8);
  ck_assert_uint_eq(dims[1], 6);
  ck_assert_uint_eq(dims[2], 5);
  ck_assert_ev_ok(ev_extractor_layer_cols(ex, 0, &cols));
  ck_assert_uint_eq(cols, 8);
  ck_assert_ev(ev_extractor_layer_cols(ex, 1, &cols), EV_ERR_ARGUMENT);
  ev_extractor_free(ex);
  ev_model_free(m);
}
END_TEST

/* Rows of x spaced by ldx > c*h*w, outputs by ld > cols. */
START_TEST(leading_dimensions_are_honoured) {
  size_t n = 5, chw = 64, ldx = 70, ld = 13;
  float *x0 = ref("small_cnn_input.f32", n * chw);
  float *want = ref("small_cnn_output.f32", n * 10);
  float *x = calloc(n * ldx, sizeof *x), *out = calloc(n * ld, sizeof *out);
  for (size_t i = 0; i < n; i++) memcpy(x + i * ldx, x0 + i * chw, chw * 4);
  ev_model *m = load("small_cnn.pt");
  ev_extractor *ex;
  ck_assert_ev_ok(ev_extractor_create(m, &ex));
  ck_assert_ev_ok(ev_extractor_add_layer(ex, "output"));
  size_t small = 9;
  ck_assert_ev(ev_extractor_run(ex, x, n, 1, 8, 8, ldx, &out, &small),
               EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("ld[0] = 9");
  ck_assert_ev_ok(ev_extractor_run(ex, x, n, 1, 8, 8, ldx, &out, &ld));
  for (size_t i = 0; i < n; i++)
    ck_assert_float_le(max_diff(out + i * ld, want + i * 10, 10), 1e-5f);
  ev_extractor_free(ex);
  ev_model_free(m);
  free(x0); free(want); free(x); free(out);
}
END_TEST

static int cancel_after_first(void *user, int stage, size_t step,
                              size_t total, double value) {
  int *calls = user;
  ck_assert_int_eq(stage, EV_STAGE_EXTRACT);
  ck_assert_uint_eq(total, 5);
  ck_assert_uint_eq(step, (size_t)(*calls + 1) * 2 > 5 ? 5 : (size_t)(*calls + 1) * 2);
  return ++*calls >= 1 && user != NULL && *calls == 1;
}

static int count_batches(void *user, int stage, size_t step, size_t total,
                         double value) {
  int *calls = user;
  ++*calls;
  return *calls == 2 && total == 1000; /* never: total is 5 */
}

START_TEST(progress_per_batch_and_cancel) {
  ev_model *m = load("small_cnn.pt");
  ev_extractor *ex;
  ck_assert_ev_ok(ev_extractor_create(m, &ex));
  ck_assert_ev_ok(ev_extractor_add_layer(ex, "output"));
  ck_assert_ev_ok(ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, 2));
  float *x = ref("small_cnn_input.f32", 5 * 64);
  float *want = ref("small_cnn_output.f32", 5 * 10);
  float out[50];
  float *outs[1] = {out};
  size_t ld = 10;
  int calls = 0;
  ck_assert_ev_ok(ev_extractor_set_progress(ex, cancel_after_first, &calls));
  ck_assert_ev(ev_extractor_run(ex, x, 5, 1, 8, 8, 64, outs, &ld),
               EV_ERR_CANCELLED);
  ck_assert_int_eq(calls, 1);
  /* still usable, and the progress sees all three batches */
  calls = 0;
  ck_assert_ev_ok(ev_extractor_set_progress(ex, count_batches, &calls));
  ck_assert_ev_ok(ev_extractor_run(ex, x, 5, 1, 8, 8, 64, outs, &ld));
  ck_assert_int_eq(calls, 3);
  ck_assert_float_le(max_diff(out, want, 50), 1e-5f);
  ev_extractor_free(ex);
  ev_model_free(m);
  free(x); free(want);
}
END_TEST

START_TEST(bad_model_files) {
  ev_model *m = (ev_model *)&m;
  ck_assert_ev(ev_model_load(tu_extract_path("no_such.pt"), EV_DEVICE_CPU, &m),
               EV_ERR_NOT_FOUND);
  ck_assert_ptr_null(m);
  ck_assert_errmsg_has("does not exist");
  ck_assert_ev(ev_model_load(tu_extract_path("empty.pt"), EV_DEVICE_CPU, &m),
               EV_ERR_FORMAT);
  ck_assert_errmsg_has("is empty");
  ck_assert_ev(ev_model_load(tu_extract_path("truncated.pt"), EV_DEVICE_CPU, &m),
               EV_ERR_FORMAT);
  ck_assert_errmsg_has("torch.jit.save");
  ck_assert_ev(ev_model_load(tu_extract_path("state_dict.pt"), EV_DEVICE_CPU, &m),
               EV_ERR_FORMAT);
  ck_assert_errmsg_has("not a TorchScript model");
  ck_assert_ev(ev_model_load(tu_extract_path("small_cnn_input.f32"), EV_DEVICE_CPU, &m),
               EV_ERR_FORMAT);
  ck_assert_errmsg_has("not a zip archive");
  ck_assert_ev(ev_model_load(tu_extract_dir(), EV_DEVICE_CPU, &m), EV_ERR_IO);
  ck_assert_ev(ev_model_load(NULL, EV_DEVICE_CPU, &m), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_model_load(tu_extract_path("small_cnn.pt"), 7, &m), EV_ERR_ARGUMENT);
  if (!ev_cuda_available()) {
    ck_assert_ev(ev_model_load(tu_extract_path("small_cnn.pt"), EV_DEVICE_CUDA, &m),
                 EV_ERR_UNSUPPORTED);
    ck_assert_errmsg_has("CUDA");
  }
  ev_model_free(NULL);
  ev_extractor_free(NULL);
}
END_TEST

START_TEST(unknown_layer_lists_the_layers) {
  ev_model *m = load("small_cnn.pt");
  ev_extractor *ex;
  ck_assert_ev_ok(ev_extractor_create(m, &ex));
  ck_assert_ev(ev_extractor_add_layer(ex, "layer9"), EV_ERR_NOT_FOUND);
  ck_assert_errmsg_has("no layer \"layer9\"");
  ck_assert_errmsg_has("features.0, features.1");
  ck_assert_ev_ok(ev_extractor_add_layer(ex, "features.0"));
  ck_assert_ev(ev_extractor_add_layer(ex, "features.0"), EV_ERR_ARGUMENT);
  size_t n;
  ck_assert_ev_ok(ev_extractor_n_layers(ex, &n));
  ck_assert_uint_eq(n, 1);
  ev_extractor_free(ex);
  ev_model_free(m);
}
END_TEST

START_TEST(refused_input_shape_says_what_the_model_wants) {
  ev_model *m = load("small_cnn.pt");
  ev_extractor *ex;
  ck_assert_ev_ok(ev_extractor_create(m, &ex));
  ck_assert_ev_ok(ev_extractor_add_layer(ex, "output"));
  float *x = tu_randn(2, 3 * 8 * 8, 1), out[20];
  float *outs[1] = {out};
  size_t ld = 10;
  ck_assert_ev(ev_extractor_run(ex, x, 2, 3, 8, 8, 192, outs, &ld),
               EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("refuses inputs of 3 x 8 x 8");
  ck_assert_errmsg_has("to have 1 channels");
  ck_assert_ev(ev_extractor_prepare(ex, 3, 8, 8), EV_ERR_ARGUMENT);
  /* still usable with the right shape: torch's outputs */
  float *x1 = ref("small_cnn_input.f32", 5 * 64);
  float *want = ref("small_cnn_output.f32", 5 * 10);
  ck_assert_ev_ok(ev_extractor_run(ex, x1, 2, 1, 8, 8, 64, outs, &ld));
  ck_assert_float_le(max_diff(out, want, 20), 1e-5f);
  free(x1); free(want);
  free(x);
  ev_extractor_free(ex);
  ev_model_free(m);
}
END_TEST

START_TEST(bad_arguments) {
  ev_model *m = load("small_cnn.pt");
  ev_extractor *ex;
  ck_assert_ev(ev_extractor_create(NULL, &ex), EV_ERR_ARGUMENT);
  ck_assert_ev_ok(ev_extractor_create(m, &ex));
  float x[64] = {0}, out[10];
  float *outs[1] = {out};
  size_t ld = 10;
  ck_assert_ev(ev_extractor_run(ex, x, 1, 1, 8, 8, 64, outs, &ld),
               EV_ERR_STATE);
  ck_assert_ev(ev_extractor_prepare(ex, 1, 8, 8), EV_ERR_STATE);
  ck_assert_ev_ok(ev_extractor_add_layer(ex, "output"));
  ck_assert_ev(ev_extractor_run(ex, NULL, 1, 1, 8, 8, 64, outs, &ld),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_extractor_run(ex, x, 0, 1, 8, 8, 64, outs, &ld),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_extractor_run(ex, x, 1, 1, 0, 8, 64, outs, &ld),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_extractor_run(ex, x, 1, 1, 8, 8, 63, outs, &ld),
               EV_ERR_ARGUMENT);
  float *nulls[1] = {NULL};
  ck_assert_ev(ev_extractor_run(ex, x, 1, 1, 8, 8, 64, nulls, &ld),
               EV_ERR_ARGUMENT);
  x[17] = NAN;
  ck_assert_ev(ev_extractor_run(ex, x, 1, 1, 8, 8, 64, outs, &ld),
               EV_ERR_NONFINITE);
  ck_assert_errmsg_has("x[0][17]");
  ck_assert_ev(ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, 0),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_extractor_set(ex, EV_EXTRACT_POOL, 2), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_extractor_set(ex, 99, 1), EV_ERR_ARGUMENT);
  double v, lo, hi;
  ck_assert_ev_ok(ev_extractor_get(ex, EV_EXTRACT_BATCH_SIZE, &v));
  ck_assert_double_eq(v, 32);
  ck_assert_ev_ok(ev_extractor_param_bounds(EV_EXTRACT_POOL, &lo, &hi));
  ck_assert_double_eq(lo, 0);
  ck_assert_double_eq(hi, 1);
  ck_assert_ev_ok(ev_extractor_set(ex, EV_EXTRACT_THREADS, 1));
  ck_assert_ev_ok(ev_extractor_get(ex, EV_EXTRACT_THREADS, &v));
  ck_assert_double_eq(v, 1);
  ev_extractor_free(ex);
  ev_model_free(m);
}
END_TEST

/* The same rows from a data set of lib/io, read batch by batch. */
START_TEST(dataset_matches_torch) {
  float *x = ref("small_cnn_input.f32", 5 * 64);
  float *want = ref("small_cnn_output.f32", 5 * 10);
  ev_dataset *ds;
  ck_assert_ev_ok(ev_dataset_from_floats(x, 5, 1, 8, 8, 64, NULL, &ds));
  ev_model *m = load("small_cnn.pt");
  ev_extractor *ex;
  ck_assert_ev_ok(ev_extractor_create(m, &ex));
  ck_assert_ev_ok(ev_extractor_add_layer(ex, "output"));
  ck_assert_ev_ok(ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, 2));
  int calls = 0;
  ck_assert_ev_ok(ev_extractor_set_progress(ex, count_batches, &calls));
  float out[50] = {0};
  float *outs[1] = {out};
  size_t ld = 10;
  ck_assert_ev_ok(ev_extractor_run_dataset(ex, ds, outs, &ld));
  ck_assert_int_eq(calls, 3);
  ck_assert_float_le(max_diff(out, want, 50), 1e-5f);
  calls = 0;
  ck_assert_ev_ok(ev_extractor_set_progress(ex, cancel_after_first, &calls));
  ck_assert_ev(ev_extractor_run_dataset(ex, ds, outs, &ld), EV_ERR_CANCELLED);
  ck_assert_ev(ev_extractor_run_dataset(ex, NULL, outs, &ld),
               EV_ERR_ARGUMENT);
  ev_extractor_free(ex);
  ev_model_free(m);
  ev_dataset_free(ds);
  free(x); free(want);
}
END_TEST

/* One model, two threads, an extractor each. */
typedef struct { ev_model *m; float out[50]; int status; } job;

static void *extract_job(void *arg) {
  job *j = arg;
  ev_extractor *ex;
  float *x = ref("small_cnn_input.f32", 5 * 64);
  float *outs[1] = {j->out};
  size_t ld = 10;
  j->status = ev_extractor_create(j->m, &ex);
  if (!j->status) j->status = ev_extractor_add_layer(ex, "classifier");
  if (!j->status) j->status = ev_extractor_set(ex, EV_EXTRACT_THREADS, 1);
  for (int r = 0; r < 3 && !j->status; r++)
    j->status = ev_extractor_run(ex, x, 5, 1, 8, 8, 64, outs, &ld);
  ev_extractor_free(ex);
  free(x);
  return NULL;
}

START_TEST(model_is_shared_by_threads) {
  ev_model *m = load("small_cnn.pt");
  job jobs[2] = {{m, {0}, -1}, {m, {0}, -1}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, extract_job, &jobs[i]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  float *want = ref("small_cnn_output.f32", 50);
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(jobs[i].status, EV_OK);
    ck_assert_float_le(max_diff(jobs[i].out, want, 50), 1e-5f);
  }
  free(want);
  ev_model_free(m);
}
END_TEST

START_TEST(unsupported_without_libtorch) {
  ev_model *m = (ev_model *)&m;
  ck_assert_ev(ev_model_load("model.pt", EV_DEVICE_CPU, &m),
               EV_ERR_UNSUPPORTED);
  ck_assert_ptr_null(m);
  ck_assert_str_eq(ev_last_error(), "this libembedviz was built without "
                   "libtorch: rebuild with libtorch-dev installed");
  ev_extractor *ex;
  ck_assert_ev(ev_extractor_create(NULL, &ex), EV_ERR_UNSUPPORTED);
  float x = 0, *out = &x;
  size_t ld = 1;
  ck_assert_ev(ev_extractor_run(NULL, &x, 1, 1, 1, 1, 1, &out, &ld),
               EV_ERR_UNSUPPORTED);
  ck_assert_int_eq(ev_cuda_available(), 0);
  ev_model_free(NULL);
  ev_extractor_free(NULL);
}
END_TEST

/* In a build without libtorch only unsupported_without_libtorch runs: that
 * must not pass as if the extraction tests had run. */
START_TEST(extraction_tests_need_libtorch) {
  TU_REQUIRE(ev_extract_available(), "test_extract", "libtorch",
             "this build has no libtorch (build with WITH_TORCH=1 and "
             "python3-torch installed)");
}
END_TEST

int main(void) {
  Suite *s = suite_create("extract");
  TCase *tc = tcase_create("extract");
  tcase_set_timeout(tc, 120);
  if (!ev_extract_available()) {
    tcase_add_test(tc, unsupported_without_libtorch);
    tcase_add_test(tc, extraction_tests_need_libtorch);
  } else if (!tu_have_extract_models()) {
    fprintf(stderr, "test_extract: cannot make the test models "
            "(tests/ref/extract_models.py needs python3-torch)\n");
    return 1;
  } else {
    tcase_add_test(tc, small_cnn_lists_its_layers);
    tcase_add_test(tc, small_cnn_matches_torch);
    tcase_add_test(tc, pooling_averages_spatial_dims);
    tcase_add_test(tc, resnet18_scripted_whole_matches_torch);
    tcase_add_test(tc, resnet18_feature_extractor_matches_torch);
    tcase_add_test(tc, tuple_outputs_are_layers);
    tcase_add_test(tc, layer_shapes_before_pooling);
    tcase_add_test(tc, leading_dimensions_are_honoured);
    tcase_add_test(tc, progress_per_batch_and_cancel);
    tcase_add_test(tc, bad_model_files);
    tcase_add_test(tc, unknown_layer_lists_the_layers);
    tcase_add_test(tc, refused_input_shape_says_what_the_model_wants);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, model_is_shared_by_threads);
    tcase_add_test(tc, dataset_matches_torch);
  }
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
