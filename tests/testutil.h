/* Helpers shared by the C tests (Check). */
#ifndef EV_TESTUTIL_H
#define EV_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "embedviz.h"

/* A passing Check assertion costs nothing. Check's own ck_assert_msg (which
 * every ck_assert_* macro expands to) records each passing assertion's
 * place with _mark_point, a write(2) of a message to the test's parent
 * process: about 20 us natively (200,000 passing assertions took over 4 s
 * of wall time) and far more under memcheck, while tests check every entry
 * of arrays of thousands. Here a passing assertion does nothing and a
 * failing one fails exactly as before (same file, line and message); only
 * the place Check gives for a crash or a timeout ("after this point") is
 * the test's start or its last mark_point() instead of its last passing
 * assertion (ASan, UBSan and valgrind print a crash's stack anyway). */
#undef ck_assert_msg
#define ck_assert_msg(expr, ...)                                              \
  ((expr) ? (void)0                                                           \
          : _ck_assert_failed(__FILE__, __LINE__,                             \
                              "Assertion '" #expr "' failed", ##__VA_ARGS__))

/* Assert a call's status, printing the library's message when it differs. */
#define ck_assert_ev(call, expected)                                          \
  do {                                                                        \
    int ev_st_ = (call);                                                      \
    ck_assert_msg(ev_st_ == (expected), "%s returned %s (%s), expected %s",   \
                  #call, ev_status_name(ev_st_), ev_last_error(),             \
                  ev_status_name(expected));                                  \
  } while (0)

#define ck_assert_ev_ok(call) ck_assert_ev(call, EV_OK)

/* Assert that the last error message mentions `needle`. */
#define ck_assert_errmsg_has(needle)                                          \
  ck_assert_msg(strstr(ev_last_error(), (needle)) != NULL,                    \
                "message \"%s\" does not mention \"%s\"", ev_last_error(),    \
                (needle))

/* Deterministic pseudo-random numbers (splitmix64) for test data. */
static inline uint64_t tu_next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static inline double tu_uniform(uint64_t *s) {
  return (double)(tu_next(s) >> 11) * (1.0 / 9007199254740992.0);
}
static inline double tu_normal(uint64_t *s) {
  double u = tu_uniform(s), v = tu_uniform(s);
  if (u < 1e-300) u = 1e-300;
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}
/* A rows x cols matrix of standard normal floats (caller frees). */
static inline float *tu_randn(size_t rows, size_t cols, uint64_t seed) {
  float *m = malloc(rows * cols * sizeof *m);
  for (size_t i = 0; i < rows * cols; i++) m[i] = (float)tu_normal(&seed);
  return m;
}

/* k Gaussian blobs of `per` points in d dimensions, centres `sep` apart
 * (blob c shifted by sep (c + 1) along axis c mod d); labels, if given,
 * get each row's blob (caller frees). */
static inline float *tu_blobs(size_t k, size_t per, size_t d, double sep,
                              int *labels, uint64_t seed) {
  float *x = tu_randn(k * per, d, seed);
  for (size_t c = 0; c < k; c++)
    for (size_t i = 0; i < per; i++) {
      size_t r = c * per + i;
      x[r * d + c % d] += (float)(sep * (double)(c + 1));
      if (labels) labels[r] = (int)c;
    }
  return x;
}

/* A t-SNE handle with the given perplexity, method and seed. */
static inline ev_tsne *tu_tsne_make(double perplexity, int method,
                                    double seed) {
  ev_tsne *t = NULL;
  ck_assert_ev_ok(ev_tsne_create(&t));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_PERPLEXITY, perplexity));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_METHOD, method));
  ck_assert_ev_ok(ev_tsne_set(t, EV_TSNE_SEED, seed));
  return t;
}

/* Fit t to the packed n x d rows x and return its map (caller frees). */
static inline float *tu_tsne_fit_map(ev_tsne *t, const float *x, size_t n,
                                     size_t d) {
  ck_assert_ev_ok(ev_tsne_fit(t, x, n, d, d));
  size_t rows, dims;
  ck_assert_ev_ok(ev_tsne_size(t, &rows, &dims));
  float *y = malloc(rows * dims * sizeof *y);
  ck_assert_ev_ok(ev_tsne_embedding(t, y, dims));
  return y;
}

/* A test case of statistical checks at sizes that take minutes under
 * valgrind's memcheck (50x slower than native): tagged "large", which
 * tests/sanitizers/run-valgrind.sh leaves out (CK_EXCLUDE_TAGS) and says
 * so. They run natively, under ASan and under TSan; the small cases of the
 * same code (bad inputs, allocation failures, cancel) stay in memcheck. */
static inline TCase *tu_tcase_large(const char *name, double timeout) {
  TCase *tc = tcase_create(name);
  tcase_set_tags(tc, "large");
  tcase_set_timeout(tc, timeout);
  return tc;
}

/* Smaller inputs under the slow tools. tests/sanitizers/run-valgrind.sh
 * sets EV_TEST_SMALL=1 (memcheck runs code 20-50x slower than natively,
 * and its threads one at a time): tu_size(full, small) is then `small`,
 * else `full`. A case uses it only where the smaller input takes the same
 * code paths (more than one block, several OpenMP chunks, a real tree:
 * each use says what it keeps), so memcheck still checks every access of
 * those paths; the full sizes run natively, under ASan and under TSan.
 * docs/testing.md lists the cases that use it. */
static inline int tu_small(void) {
  const char *v = getenv("EV_TEST_SMALL");
  return v && *v && strcmp(v, "0") != 0;
}
static inline size_t tu_size(size_t full, size_t small) {
  return tu_small() ? small : full;
}

/* Run a suite and return the number of failures (for main). */
static inline int tu_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed;
}

/* The extraction test set (TorchScript models and Python torch's outputs,
 * made by tests/ref/extract_models.py): its folder, EV_EXTRACT_TESTDATA or
 * build/tests/extract. */
static inline const char *tu_extract_dir(void) {
  const char *d = getenv("EV_EXTRACT_TESTDATA");
  return d ? d : "build/tests/extract";
}

/* The set's file name, in a per-thread buffer that the next call on the
 * same thread overwrites. */
static inline const char *tu_extract_path(const char *name) {
  static _Thread_local char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", tu_extract_dir(), name);
  return buf;
}

/* 1 when the set is there, made now with Python torch (EV_PYTHON, default
 * /usr/bin/python3) if it was not; 0 when it cannot be made. */
static inline int tu_have_extract_models(void) {
  char ok[4096], cmd[8192];
  struct stat st;
  snprintf(ok, sizeof ok, "%s/ok", tu_extract_dir());
  if (stat(ok, &st) == 0) return 1;
  const char *py = getenv("EV_PYTHON") ? getenv("EV_PYTHON") : "/usr/bin/python3";
  snprintf(cmd, sizeof cmd, "%s tests/ref/extract_models.py %s", py, tu_extract_dir());
  return system(cmd) == 0 && stat(ok, &st) == 0;
}

/* A test part that cannot run here (no libtorch, a data set missing...).
 * A skip fails the test, saying what is missing, unless EV_ALLOW_SKIPS (a
 * space-separated list) names the part's id or the missing thing's key:
 * Check counts a test that returns early as a pass, so the suite must not
 * pass by doing nothing. An allowed skip prints "SKIPPED" (run-c.sh lists
 * them). Use: TU_REQUIRE(ev_extract_available(), "test_x.name", "libtorch",
 * "this build has no libtorch (extraction)"); */
static inline int tu_skip_allowed(const char *id, const char *key) {
  const char *v = getenv("EV_ALLOW_SKIPS");
  char buf[4096], *save = NULL;
  if (!v) return 0;
  snprintf(buf, sizeof buf, "%s", v);
  for (char *t = strtok_r(buf, " ,", &save); t; t = strtok_r(NULL, " ,", &save))
    if (!strcmp(t, id) || !strcmp(t, key)) return 1;
  return 0;
}
#define TU_REQUIRE(cond, id, key, missing)                                    \
  do {                                                                        \
    if (!(cond)) {                                                            \
      if (tu_skip_allowed((id), (key))) {                                     \
        fprintf(stderr, "SKIPPED %s (EV_ALLOW_SKIPS): %s\n", (id), (missing)); \
        return;                                                               \
      }                                                                       \
      ck_abort_msg("%s cannot run: %s. Install what is missing, or set "      \
                   "EV_ALLOW_SKIPS=\"%s\" (or \"%s\") to skip it",          \
                   (id), (missing), (id), (key));                             \
    }                                                                         \
  } while (0)

#endif
