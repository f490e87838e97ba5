/* PCA with fuzzed sizes, values and settings: fit, the fitted arrays,
 * transform and inverse transform. Whatever the matrix (NaN, Inf,
 * denormals, huge or tiny values, constant columns, n < d), every call
 * returns a status, and a fit of finite data gives finite results. */
#include "fuzz_common.h"

static void settings(ev_pca *p, fz_bytes *b) {
  ev_pca_set(p, EV_PCA_THREADS, 1);
  uint8_t s = fz_u8(b);
  ev_pca_set(p, EV_PCA_SOLVER, s & 3);
  ev_pca_set(p, EV_PCA_CENTER, (s >> 2) & 1 ? 0 : 1);
  ev_pca_set(p, EV_PCA_WHITEN, (s >> 3) & 1);
  ev_pca_set(p, EV_PCA_N_COMPONENTS, fz_u8(b) % 12);
  if ((s >> 4) & 1) ev_pca_set(p, EV_PCA_VARIANCE_TO_KEEP, fz_u8(b) / 255.0);
  if ((s >> 5) & 1) ev_pca_set(p, EV_PCA_POWER_ITERATIONS, fz_u8(b) % 6);
  if ((s >> 6) & 1) ev_pca_set(p, EV_PCA_OVERSAMPLES, fz_u8(b) % 8);
  ev_pca_set(p, EV_PCA_SEED, fz_u8(b));
}

static void use_fit(ev_pca *p, const float *x, size_t n, size_t d, size_t ld,
                    int finite) {
  size_t k = 0, dd = 0;
  fz_check_status(ev_pca_n_components(p, &k));
  fz_check_status(ev_pca_n_features(p, &dd));
  FZ_REQUIRE(dd == d && k >= 1 && k <= (n < d ? n : d));
  float *comp = malloc(k * d * sizeof *comp), *mean = malloc(d * 4),
        *var = malloc(k * 4), *ratio = malloc(k * 4), *sv = malloc(k * 4);
  fz_check_status(ev_pca_components(p, comp, d));
  fz_check_status(ev_pca_mean(p, mean));
  fz_check_status(ev_pca_explained_variance(p, var));
  fz_check_status(ev_pca_explained_variance_ratio(p, ratio));
  fz_check_status(ev_pca_singular_values(p, sv));
  if (finite) {
    FZ_REQUIRE(fz_all_finite(mean, 1, d, d));
    for (size_t j = 0; j < k; j++) FZ_REQUIRE(!(var[j] < 0) && !(sv[j] < 0));
  }
  float *scores = malloc(n * k * sizeof *scores);
  ev_status st = ev_pca_transform(p, x, n, d, ld, scores, k);
  fz_check_status(st);
  if (st == EV_OK) {
    float *back = malloc(n * d * sizeof *back);
    fz_check_status(ev_pca_inverse_transform(p, scores, n, k, k, back, d));
    free(back);
  }
  /* wrong sizes are refused */
  FZ_REQUIRE(ev_pca_transform(p, x, n, d + 1, ld + 1, scores, k) ==
             EV_ERR_ARGUMENT);
  free(scores);
  free(comp); free(mean); free(var); free(ratio); free(sv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_bytes b = {data, size};
  ev_pca *p = NULL;
  if (ev_pca_create(&p)) return 0;
  settings(p, &b);
  size_t n = fz_range(&b, 0, 40), d = fz_range(&b, 0, 24);
  size_t ld = d + fz_u8(&b) % 3;
  float *x = fz_matrix(&b, n ? n : 1, d, ld ? ld : 1);
  ev_status st = ev_pca_fit(p, x, n, d, ld);
  fz_check_status(st);
  if (n == 0 || d == 0) FZ_REQUIRE(st == EV_ERR_ARGUMENT);
  if (st == EV_OK) {
    int finite = fz_all_finite(x, n, d, ld);
    FZ_REQUIRE(finite);
    use_fit(p, x, n, d, ld, finite);
    /* refit on other data leaves a usable handle either way */
    x[0] = fz_float(&b);
    fz_check_status(ev_pca_fit(p, x, n, d, ld));
  } else {
    size_t k;
    FZ_REQUIRE(ev_pca_n_components(p, &k) == EV_ERR_STATE);
  }
  free(x);
  ev_pca_free(p);
  return 0;
}
