/* Extraction messages that passed libtorch's words through or pointed the
 * wrong way (issue 15, item 5): a layer typo on a model of many layers, a
 * shape asked before any layer, a model of two inputs, a model whose
 * output is one number, grey inputs into a 3-channel model. Models from
 * tests/ref/extract_message_models.py (Python torch), made on first use
 * in EV_EXTRACT_MSG_TESTDATA or build/tests/extract_msg. */
#include "testutil.h"

static const char *dir(void) {
  const char *d = getenv("EV_EXTRACT_MSG_TESTDATA");
  return d ? d : "build/tests/extract_msg";
}

static const char *model_path(const char *name) {
  static _Thread_local char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", dir(), name);
  return buf;
}

static int have_models(void) {
  char ok[4096], cmd[8192];
  struct stat st;
  snprintf(ok, sizeof ok, "%s/ok", dir());
  if (stat(ok, &st) == 0) return 1;
  const char *py = getenv("EV_PYTHON") ? getenv("EV_PYTHON") : "/usr/bin/python3";
  snprintf(cmd, sizeof cmd, "%s tests/ref/extract_message_models.py %s", py,
           dir());
  return system(cmd) == 0 && stat(ok, &st) == 0;
}

/* The extraction backend must be there (or EV_ALLOW_SKIPS names it). */
#define NEED_TORCH()                                                      \
  TU_REQUIRE(ev_extract_available(), "test_extract_messages", "libtorch", \
             "the libtorch extraction backend cannot be loaded")

static ev_extractor *open_model(const char *name, ev_model **m) {
  ck_assert_ev_ok(ev_model_load(model_path(name), EV_DEVICE_CPU, m));
  ev_extractor *ex;
  ck_assert_ev_ok(ev_extractor_create(*m, &ex));
  return ex;
}

/* 70 layers: the message used to list every name and was cut at 1,023
 * bytes mid-word. Now the 10 nearest the typo and how many more. */
START_TEST(layer_typo_lists_the_nearest_names) {
  NEED_TORCH();
  ck_assert(have_models());
  ev_model *m;
  ev_extractor *ex = open_model("many_layers.pt", &m);
  size_t n;
  ck_assert_ev_ok(ev_model_n_layers(m, &n));
  ck_assert_uint_gt(n, 70);
  ck_assert_ev(ev_extractor_add_layer(ex, "body.block_7"), EV_ERR_NOT_FOUND);
  const char *msg = ev_last_error();
  ck_assert_uint_lt(strlen(msg), 700);
  ck_assert_msg(strstr(msg, "...") == NULL, "cut: %s", msg);
  ck_assert_errmsg_has("the model has no layer \"body.block_7\"");
  char count[96];
  snprintf(count, sizeof count, "it has %zu layers; the 10 nearest are "
           "body.block_07, ", n); /* one edit away: listed first */
  ck_assert_errmsg_has(count);
  ck_assert_errmsg_has("ev_model_layer_name lists them all");
  ck_assert_errmsg_has("embedviz extract --model ");
  ck_assert_errmsg_has("many_layers.pt --list-layers");
  ev_extractor_free(ex);
  ev_model_free(m);
}
END_TEST

/* ev_extractor_layer_cols before any layer said "layer 0 does not exist". */
START_TEST(shape_before_any_layer_points_to_add_layer) {
  NEED_TORCH();
  ck_assert(have_models());
  ev_model *m;
  ev_extractor *ex = open_model("rgb_conv.pt", &m);
  size_t cols;
  ck_assert_ev(ev_extractor_layer_cols(ex, 0, &cols), EV_ERR_STATE);
  ck_assert_errmsg_has("no layers yet: add one with ev_extractor_add_layer");
  ev_extractor_free(ex);
  ev_model_free(m);
}
END_TEST

/* forward(x, y) reached libtorch's interpreter with one tensor: "INTERNAL
 * ASSERT FAILED ... please report a bug to PyTorch". */
START_TEST(two_input_model_says_one_tensor) {
  NEED_TORCH();
  ck_assert(have_models());
  ev_model *m;
  ev_extractor *ex = open_model("two_inputs.pt", &m);
  ev_status st = ev_extractor_add_layer(ex, "output");
  if (st == EV_OK) st = ev_extractor_prepare(ex, 1, 2, 2);
  ck_assert_int_eq(st, EV_ERR_UNSUPPORTED);
  ck_assert_errmsg_has("forward takes 2 arguments");
  ck_assert_errmsg_has("one tensor");
  ck_assert_msg(strstr(ev_last_error(), "PyTorch") == NULL, "%s",
                ev_last_error());
  ev_extractor_free(ex);
  ev_model_free(m);
}
END_TEST

/* A model returning x.sum(): its output and the softmax on it gave raw
 * libtorch text ("Dimension out of range ..."). */
START_TEST(scalar_output_says_what_is_wrong) {
  NEED_TORCH();
  ck_assert(have_models());
  static const char *const layers[] = {"softmax", "output"};
  static const char *const says[] = {
      "layer \"softmax\" is the softmax over the classes",
      "layer \"output\" gives one number for the whole batch"};
  for (int k = 0; k < 2; k++) {
    ev_model *m;
    ev_extractor *ex = open_model("scalar_out.pt", &m);
    ck_assert_ev_ok(ev_extractor_add_layer(ex, layers[k]));
    ck_assert_ev(ev_extractor_prepare(ex, 1, 2, 2), EV_ERR_UNSUPPORTED);
    ck_assert_errmsg_has(says[k]);
    ck_assert_msg(strstr(ev_last_error(), "libtorch failed") == NULL, "%s",
                  ev_last_error());
    ev_extractor_free(ex);
    ev_model_free(m);
  }
}
END_TEST

/* Grey inputs into a 3-channel model: torch's words, plus what to do. */
START_TEST(grey_into_rgb_model_suggests_channels) {
  NEED_TORCH();
  ck_assert(have_models());
  ev_model *m;
  ev_extractor *ex = open_model("rgb_conv.pt", &m);
  ck_assert_ev_ok(ev_extractor_add_layer(ex, "output"));
  float x[16] = {0};
  float out[64];
  float *outs[1] = {out};
  size_t ld[1] = {64};
  ck_assert_ev(ev_extractor_run(ex, x, 1, 1, 4, 4, 16, outs, ld),
               EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("EV_DS_CHANNELS");
  ev_extractor_free(ex);
  ev_model_free(m);
}
END_TEST

static Suite *messages_suite(void) {
  Suite *s = suite_create("extract_messages");
  TCase *tc = tcase_create("messages");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, layer_typo_lists_the_nearest_names);
  tcase_add_test(tc, shape_before_any_layer_points_to_add_layer);
  tcase_add_test(tc, two_input_model_says_one_tensor);
  tcase_add_test(tc, scalar_output_says_what_is_wrong);
  tcase_add_test(tc, grey_into_rgb_model_suggests_channels);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return tu_run(messages_suite()) ? EXIT_FAILURE : EXIT_SUCCESS;
}
