/* Regression tests for the bugs the fuzzers found (docs/fuzzing.md). Each
 * replays the failing input, or the smallest call that reaches the same
 * code, and checks the status the library now gives. The inputs are also
 * in fuzz/corpus/, which `check-fuzz` replays under the sanitizers. */
#include <dirent.h>
#include <float.h>

#include "io/io_private.h"
#include "testutil.h"

#define CORPUS "fuzz/corpus/"

/* stb_image 2.27 wrote past its Huffman tables on a DHT segment declaring
 * more than 256 codes; such a JPEG is now refused before stb sees it. */
START_TEST(jpeg_huffman_overflow_refused) {
  ev_array *a = NULL;
  ev__jpeg_disable(1); /* the stb path: CMYK files take it anyway */
  ck_assert_ev(ev_image_read(CORPUS "image/regress-stb-dht-overflow.jpg", 0,
                             &a), EV_ERR_FORMAT);
  ck_assert_errmsg_has("regress-stb-dht-overflow.jpg");
  ev__jpeg_disable(0);
  ck_assert_ptr_null(a);
  /* the probe of an image-file data set reads the header with stb too */
  const char *p = CORPUS "image/regress-stb-dht-overflow.jpg";
  ev_dataset *ds = NULL;
  ck_assert_ev(ev_dataset_from_paths(&p, 1, NULL, 0, &ds), EV_ERR_FORMAT);
  ck_assert_errmsg_has("regress-stb-dht-overflow.jpg");
  ck_assert_ptr_null(ds);
  /* a good JPEG still decodes through stb */
  ev__jpeg_disable(1);
  ck_assert_ev_ok(ev_image_read("tests/data/io/img_blocks_16x16.jpg", 0, &a));
  ev__jpeg_disable(0);
  ck_assert_uint_eq(ev_array_dim(a, 0), 16);
  ev_array_free(a);
}
END_TEST

/* A scan naming Huffman tables no DHT segment defines made stb 2.27 decode
 * with its uninitialised decoder state (reads out of bounds, seen by UBSan
 * when the heap held 0xFF bytes). Such a JPEG is refused before stb sees
 * it; the file is the 16 x 16 test JPEG with its scan pointed at DC table 2
 * and AC table 3. */
START_TEST(jpeg_undefined_huffman_table_refused) {
  ev_array *a = NULL;
  ev__jpeg_disable(1);
  ck_assert_ev(ev_image_read(CORPUS "image/regress-stb-undefined-huffman-"
                             "table.jpg", 0, &a), EV_ERR_FORMAT);
  ev__jpeg_disable(0);
  ck_assert_errmsg_has("never defines");
  ck_assert_ptr_null(a);
  /* the progressive test photo (tables defined between scans) and a
   * baseline one still decode through stb */
  const char *good[] = {"tests/data/io/img_progressive_24x20.jpg",
                        "tests/data/io/img_blocks_16x16.jpg"};
  for (int g = 0; g < 2; g++) {
    ev__jpeg_disable(1);
    ck_assert_ev_ok(ev_image_read(good[g], 0, &a));
    ev__jpeg_disable(0);
    ck_assert_uint_gt(ev_array_dim(a, 0), 0);
    ev_array_free(a);
    a = NULL;
  }
}
END_TEST

/* A 32-byte GIF announcing 5126 x 64030 pixels made stb allocate and fill
 * a 1.3 GB canvas; images beyond PIL's decompression-bomb limit are now
 * refused from their header. */
START_TEST(image_pixel_limit) {
  ev_array *a = NULL;
  ck_assert_ev(ev_image_read(CORPUS "image/regress-gif-canvas-bomb.gif", 0,
                             &a), EV_ERR_LIMIT);
  ck_assert_errmsg_has("5126 x 64030");
  ck_assert_ptr_null(a);
  /* stb accepted a BMP of width 0: an image without pixels */
  ck_assert_ev(ev_image_read(CORPUS "image/regress-bmp-width-0.bmp", 3, &a),
               EV_ERR_FORMAT);
  ck_assert_errmsg_has("0 x 5");
  ck_assert_ptr_null(a);
}
END_TEST

/* Data near FLT_MAX overflow the float products of the randomized solver:
 * EV_ERR_NONFINITE (was EV_ERR_INTERNAL from LAPACK's NaN check). The same
 * data scaled by 2^-64 fit (their first variance, 1.4e38, is near FLT_MAX
 * itself): EV_OK, and then everything given is finite and the fit is the
 * fit of the same data scaled by 2^-80 (ratios and components equal,
 * variances 2^32 times), so a solver that returned inf or NaN with EV_OK,
 * the very bug class of this file, fails. */
static void overflow_data(float *x, size_t nd, int shift) {
  for (size_t i = 0; i < nd; i++)
    x[i] = ldexpf((float)((i * 7 % 5 < 2 ? -1 : 1) * (double)FLT_MAX *
                          (1 + i % 3) / 3), -shift);
}

START_TEST(pca_randomized_overflow_is_nonfinite) {
  enum { n = 20, d = 10, k = 2 };
  float x[n * d];
  overflow_data(x, n * d, 0);
  /* in float, FLT_MAX * 3 / 3 is Inf: the input check refused the data
   * before the solver ever ran; these are all finite */
  for (size_t i = 0; i < n * d; i++) ck_assert(isfinite(x[i]));
  ev_pca *p;
  ck_assert_ev_ok(ev_pca_create(&p));
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_SOLVER, EV_PCA_SOLVER_RANDOMIZED));
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_N_COMPONENTS, k));
  ck_assert_ev(ev_pca_fit(p, x, n, d, d), EV_ERR_NONFINITE);
  ck_assert_errmsg_has("rescale");
  /* near FLT_MAX but representable: EV_OK with finite, right outputs */
  float comp[2][k * d], var[2][k], ratio[2][k], mean[2][d], y[2][n * k];
  for (int s = 0; s < 2; s++) {
    overflow_data(x, n * d, s ? 80 : 64);
    ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d));
    ck_assert_ev_ok(ev_pca_components(p, comp[s], d));
    ck_assert_ev_ok(ev_pca_explained_variance(p, var[s]));
    ck_assert_ev_ok(ev_pca_explained_variance_ratio(p, ratio[s]));
    ck_assert_ev_ok(ev_pca_mean(p, mean[s]));
    ck_assert_ev_ok(ev_pca_transform(p, x, n, d, d, y[s], k));
    for (size_t i = 0; i < k * d; i++) ck_assert(isfinite(comp[s][i]));
    for (size_t i = 0; i < k; i++)
      ck_assert(isfinite(var[s][i]) && var[s][i] > 0 && isfinite(ratio[s][i]));
    for (size_t i = 0; i < d; i++) ck_assert(isfinite(mean[s][i]));
    for (size_t i = 0; i < n * k; i++) ck_assert(isfinite(y[s][i]));
  }
  ck_assert_float_gt(var[0][0], 1e38f); /* it really was near FLT_MAX */
  for (size_t c = 0; c < k; c++) {
    ck_assert_float_eq_tol(ratio[0][c], ratio[1][c], 1e-5f);
    ck_assert_double_eq_tol(var[0][c], ldexp(var[1][c], 32),
                            1e-4 * ldexp(var[1][c], 32));
    double dot = 0; /* components up to sign */
    for (size_t j = 0; j < d; j++) dot += comp[0][c * d + j] * comp[1][c * d + j];
    double sign = dot < 0 ? -1 : 1;
    for (size_t j = 0; j < d; j++)
      ck_assert_float_eq_tol(comp[0][c * d + j], sign * comp[1][c * d + j], 1e-4f);
    double top = 0; /* scores and mean scale by 2^16, to float rounding */
    for (size_t i = 0; i < n; i++) top = fmax(top, fabsf(y[1][i * k + c]));
    for (size_t i = 0; i < n; i++)
      ck_assert_double_eq_tol(y[0][i * k + c], sign * ldexp(y[1][i * k + c], 16),
                              1e-4 * ldexp(top, 16));
  }
  double top = 0;
  for (size_t j = 0; j < d; j++) top = fmax(top, fabsf(mean[1][j]));
  ck_assert_double_gt(top, 0);
  for (size_t j = 0; j < d; j++)
    ck_assert_double_eq_tol(mean[0][j], ldexp(mean[1][j], 16), 1e-5 * ldexp(top, 16));
  /* the handle stays usable */
  for (size_t i = 0; i < n * d; i++) x[i] = (float)((i * 37) % 11) - 5;
  ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d));
  ev_pca_free(p);
}
END_TEST

/* OpenBLAS's sgesdd never returned on this matrix (one entry -FLT_MAX);
 * the SVD input is now scaled by a power of two first. Check's per-test
 * timeout catches a hang. */
START_TEST(pca_svd_huge_entry_terminates) {
  size_t n = 18, d = 13;
  float *x = calloc(n * d, sizeof *x);
  const float row0[13] = {0x1.68p+2f, -0x1.fffffep+127f, -0.0f, 0, 0,
                          -0x1.d9999ap+1f, 0x1.4p+2f, -0x1.1729d6p+43f,
                          -0x1.2p+1f, 0, 0, 0, 0};
  memcpy(x, row0, sizeof row0);
  ev_pca *p;
  ck_assert_ev_ok(ev_pca_create(&p));
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_THREADS, 1));
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_SOLVER, EV_PCA_SOLVER_SVD));
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_WHITEN, 1));
  ck_assert_ev_ok(ev_pca_set(p, EV_PCA_N_COMPONENTS, 8));
  /* It terminates; its first variance, FLT_MAX^2 / 17, is beyond float,
   * so the fit is refused (it returned inf with EV_OK before issue 15). */
  ck_assert_ev(ev_pca_fit(p, x, n, d, d), EV_ERR_NONFINITE);
  for (size_t j = 0; j < d; j++) x[j] *= 0x1p-64f;
  ck_assert_ev_ok(ev_pca_fit(p, x, n, d, d));
  /* one non-zero row: a single direction, along the -FLT_MAX column */
  float comp[8 * 13], ratio[8];
  ck_assert_ev_ok(ev_pca_components(p, comp, d));
  ck_assert_ev_ok(ev_pca_explained_variance_ratio(p, ratio));
  ck_assert_float_eq_tol(fabsf(comp[1]), 1.0f, 1e-6f);
  ck_assert_float_eq_tol(ratio[0], 1.0f, 1e-6f);
  ev_pca_free(p);
  free(x);
}
END_TEST

/* Finite coordinates whose squared distances pass FLT_MAX gave a NaN map
 * with EV_OK; now EV_ERR_NONFINITE, for the exact and the Barnes-Hut
 * method. */
START_TEST(tsne_distance_overflow_is_nonfinite) {
  float x[4 * 2] = {0, 0, 3e21f, 0, 0, -2e21f, 1, 1};
  for (int method = 1; method <= 2; method++) {
    ev_tsne *t;
    ck_assert_ev_ok(ev_tsne_create(&t));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, method));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METRIC, EV_METRIC_SQEUCLIDEAN));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PERPLEXITY, 1));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_N_ITER, 10));
    ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_INIT, EV_TSNE_INIT_RANDOM));
    ck_assert_ev(ev_tsne_fit(t, x, 4, 2, 2), EV_ERR_NONFINITE);
    ck_assert_errmsg_has("rescale");
    size_t n, dims;
    ck_assert_ev_ok(ev_tsne_size(t, &n, &dims));
    ck_assert_uint_eq(n, 0); /* no map was made */
    ev_tsne_free(t);
  }
}
END_TEST

/* libtorch 1.13 leaked its zip reader when the version record was bad;
 * the shim now refuses such files itself. */
START_TEST(model_bad_version_refused) {
  TU_REQUIRE(ev_extract_available(), "test_fuzz.model_bad_version_refused",
             "libtorch", ev_last_error());
  ev_model *m = NULL;
  ck_assert_ev(ev_model_load(CORPUS "model/regress-bad-version.pt",
                             EV_DEVICE_CPU, &m), EV_ERR_FORMAT);
  ck_assert_errmsg_has("version record");
  ck_assert_ptr_null(m);
  ck_assert_ev(ev_model_load(CORPUS "model/plain.zip", EV_DEVICE_CPU, &m),
               EV_ERR_FORMAT);
  ck_assert_ev(ev_model_load(CORPUS "model/regress-version-as-folder.pt",
                             EV_DEVICE_CPU, &m), EV_ERR_FORMAT);
  ck_assert_errmsg_has("folder");
  ck_assert_ev(ev_model_load(CORPUS "model/regress-version-unsupported-"
                             "method.zip", EV_DEVICE_CPU, &m), EV_ERR_FORMAT);
  ck_assert_ev(ev_model_load(CORPUS "model/truncated.pt", EV_DEVICE_CPU, &m),
               EV_ERR_FORMAT);
  /* damaged code and debug records: libtorch's ErrorReport::what() threw
   * inside noexcept and the process ended in std::terminate */
  ck_assert_ev(ev_model_load(CORPUS "model/regress-errorreport-terminate.pt",
                             EV_DEVICE_CPU, &m), EV_ERR_FORMAT);
  ck_assert_errmsg_has("does not compile");
  ck_assert_ev(ev_model_load(CORPUS "model/regress-errorreport-assert.pt",
                             EV_DEVICE_CPU, &m), EV_ERR_FORMAT);
  ck_assert_ev_ok(ev_model_load(CORPUS "model/linear.pt", EV_DEVICE_CPU, &m));
  size_t n;
  ck_assert_ev_ok(ev_model_n_layers(m, &n));
  ck_assert_uint_ge(n, 2); /* fc, act, output... */
  ev_model_free(m);
}
END_TEST

/* Every file of fuzz_model's corpus, as `make check-fuzz` used to replay
 * it (its run never mutated them: -runs=0): the same check as the harness,
 * a status with no model and a message, or a model whose layers all have
 * names. This runs natively and under ASan + UBSan (make check-asan), so
 * check-fuzz no longer builds the libtorch shim with clang for it (about
 * 35 s of CPU); fuzz-long still mutates the corpus with fuzz_model. */
START_TEST(model_corpus_replays) {
  TU_REQUIRE(ev_extract_available(), "test_fuzz.model_corpus_replays",
             "libtorch", ev_last_error());
  DIR *dir = opendir(CORPUS "model");
  ck_assert_ptr_nonnull(dir);
  size_t files = 0, loaded = 0;
  for (struct dirent *e; (e = readdir(dir));) {
    if (e->d_name[0] == '.') continue;
    char path[512];
    snprintf(path, sizeof path, CORPUS "model/%s", e->d_name);
    ev_model *m = NULL;
    ev_status st = ev_model_load(path, EV_DEVICE_CPU, &m);
    files++;
    if (st != EV_OK) {
      ck_assert_msg(st == EV_ERR_FORMAT || st == EV_ERR_NOMEM ||
                        st == EV_ERR_BACKEND,
                    "%s: %s", path, ev_status_name(st));
      ck_assert_ptr_null(m);
      ck_assert_msg(strlen(ev_last_error()) > 0, "%s: no message", path);
      continue;
    }
    size_t n = 0;
    ck_assert_ev_ok(ev_model_n_layers(m, &n));
    for (size_t i = 0; i < n; i++) {
      const char *name = NULL;
      ck_assert_ev_ok(ev_model_layer_name(m, i, &name));
      ck_assert(name && *name);
    }
    ev_model_free(m);
    loaded++;
  }
  closedir(dir);
  /* the committed corpus: 10 files, 2 of them models (linear.pt, tiny.pt;
   * state_dict.pt holds weights only and is refused) */
  ck_assert_uint_ge(files, 10);
  ck_assert_uint_ge(loaded, 2);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fuzz regressions");
  TCase *tc = tcase_create("found by the fuzzers");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, jpeg_huffman_overflow_refused);
  tcase_add_test(tc, jpeg_undefined_huffman_table_refused);
  tcase_add_test(tc, image_pixel_limit);
  tcase_add_test(tc, pca_randomized_overflow_is_nonfinite);
  tcase_add_test(tc, pca_svd_huge_entry_terminates);
  tcase_add_test(tc, tsne_distance_overflow_is_nonfinite);
  tcase_add_test(tc, model_bad_version_refused);
  tcase_add_test(tc, model_corpus_replays);
  suite_add_tcase(s, tc);
  return tu_run(s) ? 1 : 0;
}
