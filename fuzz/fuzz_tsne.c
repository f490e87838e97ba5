/* t-SNE with fuzzed sizes, values and settings on tiny problems (n <= 24,
 * a few iterations): from points, from distances and from sparse
 * affinities, with random, PCA or given starts, exact or Barnes-Hut.
 * Every call returns a status; a successful fit of finite data gives a
 * finite map and KL divergence. */
#include "fuzz_common.h"

static void settings(ev_tsne *t, fz_bytes *b, size_t *dims) {
  ev_tsne_set(t, EV_TSNE_THREADS, 1);
  uint8_t s = fz_u8(b), s2 = fz_u8(b);
  *dims = 1 + s % 3;
  if ((s2 & 7) == 7) *dims = 4 + fz_u8(b) % 6; /* exact only */
  ev_tsne_set(t, EV_TSNE_N_COMPONENTS, (double)*dims);
  ev_tsne_set(t, EV_TSNE_METHOD, (s >> 2) % 3);
  ev_tsne_set(t, EV_TSNE_INIT, (s >> 4) % 3);
  ev_tsne_set(t, EV_TSNE_METRIC, (s2 >> 3) % 6);
  ev_tsne_set(t, EV_TSNE_THETA, fz_u8(b) / 255.0);
  ev_tsne_set(t, EV_TSNE_PERPLEXITY, 1 + fz_u8(b) / 16.0);
  ev_tsne_set(t, EV_TSNE_N_ITER, fz_u8(b) % 24);
  ev_tsne_set(t, EV_TSNE_EXAGGERATION_ITERATIONS, fz_u8(b) % 12);
  ev_tsne_set(t, EV_TSNE_PROGRESS_EVERY, 1 + fz_u8(b) % 8);
  ev_tsne_set(t, EV_TSNE_SEED, fz_u8(b));
  if (s2 & 0x40) {
    static const double lr[] = {0, 1e-9, 1, 200, 1e6, 1e12};
    ev_tsne_set(t, EV_TSNE_LEARNING_RATE, lr[fz_u8(b) % 6]);
    ev_tsne_set(t, EV_TSNE_EARLY_EXAGGERATION, 1 + fz_u8(b) * 4);
    ev_tsne_set(t, EV_TSNE_MIN_GAIN, fz_u8(b) / 255.0);
    ev_tsne_set(t, EV_TSNE_MOMENTUM, fz_u8(b) / 255.0);
    ev_tsne_set(t, EV_TSNE_MIN_GRAD_NORM, fz_u8(b) & 1 ? 0 : 1e300);
    ev_tsne_set(t, EV_TSNE_MINKOWSKI_P, 1 + fz_u8(b) / 8.0);
  }
}

static int cancel_at(void *user, int stage, size_t step, size_t total,
                     double value) {
  int *left = user;
  return --*left == 0;
}

static void check_map(ev_tsne *t, size_t n, size_t dims, int finite_in,
                      double lr) {
  size_t rn, rd, it;
  fz_check_status(ev_tsne_size(t, &rn, &rd));
  FZ_REQUIRE(rn == n && rd == dims);
  float *y = malloc(n * dims * sizeof *y);
  fz_check_status(ev_tsne_embedding(t, y, dims));
  double kl;
  fz_check_status(ev_tsne_kl_divergence(t, &kl));
  fz_check_status(ev_tsne_n_iter(t, &it));
  /* a learning rate of 1e12 may legitimately overflow float */
  if (finite_in && lr < 1e6) {
    FZ_REQUIRE(fz_all_finite(y, n, dims, dims));
    FZ_REQUIRE(isfinite(kl) && kl > -1e-3);
  }
  size_t nnz = 0;
  fz_check_status(ev_tsne_affinities(t, NULL, NULL, NULL, &nnz));
  size_t *rp = malloc((n + 1) * sizeof *rp);
  int64_t *ci = malloc((nnz + 1) * sizeof *ci);
  float *v = malloc((nnz + 1) * sizeof *v);
  fz_check_status(ev_tsne_affinities(t, rp, ci, v, &nnz));
  free(rp); free(ci); free(v);
  free(y);
}

/* Sparse affinities: each row gets up to 4 entries from the bytes. */
static ev_status fit_sparse(ev_tsne *t, fz_bytes *b, size_t n) {
  size_t *rp = malloc((n + 1) * sizeof *rp);
  int64_t *ci = malloc(n * 4 * sizeof *ci + 8);
  float *v = malloc(n * 4 * sizeof *v + 4);
  rp[0] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t m = fz_u8(b) % 5;
    rp[i + 1] = rp[i] + m;
    for (size_t j = rp[i]; j < rp[i + 1]; j++) {
      ci[j] = (int8_t)fz_u8(b) % (int64_t)(n + 2); /* sometimes out of range */
      v[j] = fz_float(b);
    }
  }
  if (fz_u8(b) == 0xAA && n) rp[n]++; /* a broken structure */
  ev_status st = ev_tsne_fit_affinities(t, n, rp, ci, v);
  free(rp); free(ci); free(v);
  return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_bytes b = {data, size};
  ev_tsne *t = NULL;
  if (ev_tsne_create(&t)) return 0;
  size_t dims;
  settings(t, &b, &dims);
  double lr;
  ev_tsne_get(t, EV_TSNE_LEARNING_RATE, &lr);
  uint8_t mode = fz_u8(&b);
  size_t n = fz_range(&b, 0, 24), d = fz_range(&b, 0, 8);
  if ((mode & 3) == 2) d = n;
  size_t ld = d + (mode >> 2) % 2;
  float *x = fz_matrix(&b, n ? n : 1, d ? d : 1, ld ? ld : 1);
  if (mode & 0x10) { /* a given start */
    float *y0 = fz_matrix(&b, n ? n : 1, dims, dims);
    fz_check_status(ev_tsne_set_init(t, y0, n, dims, dims));
    free(y0);
  }
  int left = 1 + fz_u8(&b) % 16;
  if (mode & 0x20) ev_tsne_set_progress(t, cancel_at, &left);
  ev_status st;
  int finite = 0;
  switch (mode & 3) {
    case 0:
    case 1:
      st = ev_tsne_fit(t, x, n, d, ld);
      finite = n && d && fz_all_finite(x, n, d, ld);
      break;
    case 2:
      st = ev_tsne_fit_distances(t, x, n, ld);
      finite = n && fz_all_finite(x, n, n, ld);
      break;
    default:
      st = fit_sparse(t, &b, n);
      finite = 1;
      break;
  }
  fz_check_status(st);
  if (n == 0) FZ_REQUIRE(st == EV_ERR_ARGUMENT);
  if (st == EV_OK) check_map(t, n, dims, finite, lr);
  if (st == EV_ERR_CANCELLED) { /* the handle stays usable */
    ev_tsne_set_progress(t, NULL, NULL);
    size_t rn, rd;
    fz_check_status(ev_tsne_size(t, &rn, &rd));
  }
  free(x);
  ev_tsne_free(t);
  return 0;
}
