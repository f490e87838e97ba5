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

/* ---- Layer kinds and "<module>:input" layers -------------------------------
 * Models of tests/ref/layer_choice_models.py (torchvision's ResNet-18 and
 * MobileNetV2 with 12 classes, a small VGG, the demo's CNN...), made on
 * first use into EV_EXTRACT_LAYERS_TESTDATA or build/tests/extract_layers,
 * with the inputs of modules as PyTorch's forward pre-hooks see them. */

static const char *layers_path(const char *name) {
  static _Thread_local char buf[4096];
  const char *d = getenv("EV_EXTRACT_LAYERS_TESTDATA");
  snprintf(buf, sizeof buf, "%s/%s", d ? d : "build/tests/extract_layers",
           name);
  return buf;
}

static int have_layer_models(void) {
  struct stat st;
  if (stat(layers_path("ok"), &st) == 0) return 1;
  char cmd[8192], dir[4096];
  snprintf(dir, sizeof dir, "%s", layers_path(""));
  const char *py = getenv("EV_PYTHON") ? getenv("EV_PYTHON") : "/usr/bin/python3";
  snprintf(cmd, sizeof cmd, "%s tests/ref/layer_choice_models.py %s", py, dir);
  return system(cmd) == 0 && stat(layers_path("ok"), &st) == 0;
}

/* The reference file `name` of that set, holding exactly `count` floats. */
static float *layers_ref(const char *name, size_t count) {
  FILE *f = fopen(layers_path(name), "rb");
  ck_assert_msg(f != NULL, "missing reference %s", layers_path(name));
  float *v = malloc((count + 1) * sizeof *v);
  size_t got = fread(v, sizeof *v, count + 1, f);
  fclose(f);
  ck_assert_msg(got == count, "%s has %zu floats, expected %zu", name, got,
                count);
  return v;
}

static ev_model *load_layers_model(const char *name) {
  ck_assert_msg(have_layer_models(), "cannot make the models of "
                "tests/ref/layer_choice_models.py (python3-torch, "
                "python3-torchvision)");
  ev_model *m = NULL;
  ck_assert_ev_ok(ev_model_load(layers_path(name), EV_DEVICE_CPU, &m));
  return m;
}

/* The kind of the layer called `name`, or NULL when it is not listed. */
static const char *kind_of(const ev_model *m, const char *name) {
  size_t n;
  ck_assert_ev_ok(ev_model_n_layers(m, &n));
  for (size_t i = 0; i < n; i++) {
    const char *s, *kind = NULL;
    ck_assert_ev_ok(ev_model_layer_name(m, i, &s));
    if (strcmp(s, name) == 0) {
      ck_assert_ev_ok(ev_model_layer_kind(m, i, &kind));
      return kind;
    }
  }
  return NULL;
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
  return ++*calls == 1; /* cancel at the first report */
}

/* Counts the reports of a 5-row run in batches of 2: one per batch, at
 * rows 2, 4 and 5 of 5; never cancels. */
static int count_batches(void *user, int stage, size_t step, size_t total,
                         double value) {
  int *calls = user;
  ++*calls;
  ck_assert_int_eq(stage, EV_STAGE_EXTRACT);
  ck_assert_uint_eq(total, 5);
  ck_assert_uint_eq(step, *calls * 2 > 5 ? 5 : (size_t)*calls * 2);
  ck_assert(isnan(value));
  return 0;
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

START_TEST(layer_kinds_are_module_classes) {
  ev_model *m = load_layers_model("resnet18.pt");
  static const char *const want[][2] = {
      {"conv1", "Conv2d"},     {"bn1", "BatchNorm2d"},   {"relu", "ReLU"},
      {"maxpool", "MaxPool2d"}, {"layer1", "Sequential"},
      {"layer1.0", "BasicBlock"}, {"layer2.0.downsample.0", "Conv2d"},
      {"avgpool", "AdaptiveAvgPool2d"}, {"fc", "Linear"}, {"output", ""},
      {"softmax", ""}};
  for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
    const char *kind = kind_of(m, want[k][0]);
    ck_assert_msg(kind != NULL, "layer %s not listed", want[k][0]);
    ck_assert_msg(strcmp(kind, want[k][1]) == 0, "%s is \"%s\", not %s",
                  want[k][0], kind, want[k][1]);
  }
  size_t n;
  const char *kind;
  ck_assert_ev_ok(ev_model_n_layers(m, &n));
  ck_assert_ev(ev_model_layer_kind(m, n, &kind), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("has 69 layers");
  ck_assert_ev(ev_model_layer_kind(m, 0, NULL), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_model_layer_kind(NULL, 0, &kind), EV_ERR_ARGUMENT);
  ev_model_free(m);
  /* a class of the model's own, and a Softmax module of the demo's CNN */
  m = load_layers_model("demo_cnn.pt");
  ck_assert_str_eq(kind_of(m, "softmax"), "Softmax");
  ck_assert_str_eq(kind_of(m, "pool1"), "MaxPool2d");
  ev_model_free(m);
}
END_TEST

/* Extract `layer` of the set's model `name` on its input (n x c x h x w)
 * and compare with PyTorch's `file` (cols per input). */
static void check_input_layer(const char *name, const char *layer,
                              const char *file, size_t n, size_t c, size_t h,
                              size_t w, size_t cols) {
  char path[256];
  ev_model *m = load_layers_model(name);
  ev_extractor *ex;
  ck_assert_ev_ok(ev_extractor_create(m, &ex));
  ck_assert_ev_ok(ev_extractor_add_layer(ex, layer));
  ck_assert_ev_ok(ev_extractor_prepare(ex, c, h, w));
  size_t got;
  ck_assert_ev_ok(ev_extractor_layer_cols(ex, 0, &got));
  ck_assert_uint_eq(got, cols);
  snprintf(path, sizeof path, "%.*s_input.f32", (int)(strlen(name) - 3), name);
  float *x = layers_ref(path, n * c * h * w), *out = calloc(n * cols, 4);
  float *outs[1] = {out};
  size_t ld[1] = {cols};
  ck_assert_ev_ok(ev_extractor_run(ex, x, n, c, h, w, c * h * w, outs, ld));
  float *want = layers_ref(file, n * cols);
  float d = max_diff(out, want, n * cols);
  ck_assert_msg(d <= 1e-5f, "%s %s differs from torch by %g", name, layer, d);
  free(want), free(out), free(x);
  ev_extractor_free(ex);
  ev_model_free(m);
}

/* The penultimate features, as the input of the last Linear. */
START_TEST(module_inputs_match_torch) {
  check_input_layer("resnet18.pt", "fc:input", "resnet18_fc_input.f32", 2, 3,
                    64, 64, 512);
  check_input_layer("resnet18.pt", "layer2.0.conv1:input",
                    "resnet18_layer2.0.conv1_input.f32", 2, 3, 64, 64,
                    64 * 16 * 16);
  check_input_layer("vgg_like.pt", "classifier.6:input",
                    "vgg_like_classifier.6_input.f32", 2, 3, 32, 32, 32);
  check_input_layer("mobilenet_v2.pt", "classifier.1:input",
                    "mobilenet_v2_classifier.1_input.f32", 1, 3, 64, 64,
                    1280);
  check_input_layer("demo_cnn.pt", "fc2:input", "demo_cnn_fc2_input.f32", 2,
                    1, 28, 28, 64);
  check_input_layer("prob_net.pt", "head:input", "prob_net_head_input.f32",
                    2, 3, 16, 16, 16);
}
END_TEST

/* With EV_EXTRACT_POOL, an input feature map is averaged like any other;
 * a module whose call was inlined to reach a submodule still gives its
 * input, whichever is added first. */
START_TEST(module_inputs_pool_and_mix_with_submodules) {
  ev_model *m = load_layers_model("resnet18.pt");
  static const char *const orders[2][3] = {
      {"layer2.0.conv1", "layer2.0.conv1:input", "layer2:input"},
      {"layer2:input", "layer2.0.conv1:input", "layer2.0.conv1"}};
  float *x = layers_ref("resnet18_input.f32", 2 * 3 * 64 * 64);
  float *full = layers_ref("resnet18_layer2.0.conv1_input.f32",
                           2 * 64 * 16 * 16);
  float want[2 * 64];
  for (size_t i = 0; i < 2 * 64; i++) {
    double sum = 0;
    for (size_t k = 0; k < 16 * 16; k++) sum += full[i * 256 + k];
    want[i] = (float)(sum / 256);
  }
  for (int o = 0; o < 2; o++) {
    ev_extractor *ex;
    ck_assert_ev_ok(ev_extractor_create(m, &ex));
    ck_assert_ev_ok(ev_extractor_set(ex, EV_EXTRACT_POOL, 1));
    float out[3][2 * 128], *outs[3] = {out[0], out[1], out[2]};
    size_t ld[3] = {128, 128, 128};
    for (int j = 0; j < 3; j++)
      ck_assert_ev_ok(ev_extractor_add_layer(ex, orders[o][j]));
    ck_assert_ev_ok(ev_extractor_run(ex, x, 2, 3, 64, 64, 3 * 64 * 64, outs,
                                     ld));
    for (int j = 0; j < 3; j++) {
      size_t cols;
      ck_assert_ev_ok(ev_extractor_layer_cols(ex, (size_t)j, &cols));
      const char *l = orders[o][j];
      ck_assert_uint_eq(cols, strcmp(l, "layer2.0.conv1") == 0 ? 128 : 64);
      if (strcmp(l, "layer2.0.conv1") == 0) continue;
      /* layer2's input is its first block's input */
      float d = 0;
      for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < 64; k++)
          d = fmaxf(d, fabsf(out[j][i * 128 + k] - want[i * 64 + k]));
      ck_assert_msg(d <= 1e-5f, "%s (order %d) differs by %g", l, o, d);
    }
    ev_extractor_free(ex);
  }
  free(full), free(x);
  ev_model_free(m);
}
END_TEST

/* ResNet-18 has 69 layer names: the message gives the count, the 10
 * nearest, how to list them all, and is never cut mid-list. */
START_TEST(unknown_layer_of_a_resnet_is_summarised) {
  ev_model *m = load_layers_model("resnet18.pt");
  ev_extractor *ex;
  ck_assert_ev_ok(ev_extractor_create(m, &ex));
  ck_assert_ev(ev_extractor_add_layer(ex, "layer3.1.conv3"), EV_ERR_NOT_FOUND);
  const char *msg = ev_last_error();
  ck_assert_uint_lt(strlen(msg), 1000);
  ck_assert_errmsg_has("the model has no layer \"layer3.1.conv3\": it has "
                       "69 layers; the 10 nearest are layer3.1.conv1, "
                       "layer3.1.conv2, ");
  ck_assert_errmsg_has("resnet18.pt --list-layers): use one of these names");
  ck_assert_msg(strstr(msg, "layer1.0.bn1") == NULL, "not the nearest: %s",
                msg);
  /* a typo in the module of "<module>:input" */
  ck_assert_ev(ev_extractor_add_layer(ex, "fcc:input"), EV_ERR_NOT_FOUND);
  ck_assert_errmsg_has("no module \"fcc\" (before \":input\"): it has 69 "
                       "layers; the 10 nearest are fc, ");
  ck_assert_ev(ev_extractor_add_layer(ex, "softmax:input"), EV_ERR_NOT_FOUND);
  ck_assert_errmsg_has("layer \"softmax\" is not a module");
  /* a name of 2,000 characters: the list still ends whole */
  char *longname = malloc(2001);
  memset(longname, 'x', 2000);
  longname[2000] = '\0';
  ck_assert_ev(ev_extractor_add_layer(ex, longname), EV_ERR_NOT_FOUND);
  ck_assert_errmsg_has("(\"<module>:input\" for a module's input)");
  free(longname);
  size_t n;
  ck_assert_ev_ok(ev_extractor_n_layers(ex, &n));
  ck_assert_uint_eq(n, 0);
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
  const char *kind;
  ck_assert_ev(ev_model_layer_kind(NULL, 0, &kind), EV_ERR_UNSUPPORTED);
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
    tcase_add_test(tc, layer_kinds_are_module_classes);
    tcase_add_test(tc, module_inputs_match_torch);
    tcase_add_test(tc, module_inputs_pool_and_mix_with_submodules);
    tcase_add_test(tc, unknown_layer_of_a_resnet_is_summarised);
  }
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
