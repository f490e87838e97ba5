/* Core conventions: version, status names, thread-local messages, size
 * checks, settings tables and the allocation failure hook. */
#include <omp.h>
#include <pthread.h>

#include "core/core.h"
#include "core/testhook.h"
#include "testutil.h"

START_TEST(version_matches_header) {
  ck_assert_uint_eq(ev_version_number(), EV_VERSION_NUMBER);
  ck_assert_str_eq(ev_version_string(), EV_VERSION_STRING);
  char buf[32];
  snprintf(buf, sizeof buf, "%d.%d.%d", EV_VERSION_MAJOR, EV_VERSION_MINOR,
           EV_VERSION_PATCH);
  ck_assert_str_eq(buf, EV_VERSION_STRING);
}
END_TEST

START_TEST(status_names) {
  ck_assert_str_eq(ev_status_name(EV_OK), "EV_OK");
  ck_assert_str_eq(ev_status_name(EV_ERR_NONFINITE), "EV_ERR_NONFINITE");
  ck_assert_str_eq(ev_status_name(EV_ERR_INTERNAL), "EV_ERR_INTERNAL");
  ck_assert_str_eq(ev_status_name(999), "EV_ERR_UNKNOWN");
}
END_TEST

START_TEST(error_message_set_and_cleared) {
  ev_clear_error();
  ck_assert_str_eq(ev_last_error(), "");
  ck_assert_int_eq(ev_last_status(), EV_OK);
  ck_assert_int_eq(ev__fail(EV_ERR_LIMIT, "need %d MiB", 42), EV_ERR_LIMIT);
  ck_assert_str_eq(ev_last_error(), "need 42 MiB");
  ck_assert_int_eq(ev_last_status(), EV_ERR_LIMIT);
  ev_clear_error();
  ck_assert_str_eq(ev_last_error(), "");
}
END_TEST

static void *fail_in_thread(void *arg) {
  (void)arg;
  ev__fail(EV_ERR_IO, "other thread");
  return NULL;
}

START_TEST(error_message_is_per_thread) {
  ev__fail(EV_ERR_FORMAT, "main thread");
  pthread_t t;
  pthread_create(&t, NULL, fail_in_thread, NULL);
  pthread_join(t, NULL);
  ck_assert_str_eq(ev_last_error(), "main thread");
  ck_assert_int_eq(ev_last_status(), EV_ERR_FORMAT);
}
END_TEST

START_TEST(matrix_checks) {
  float x[6] = {1, 2, 3, 4, 5, 6};
  ck_assert_ev_ok(ev__check_matrix("x", x, 2, 3, 3));
  ck_assert_ev(ev__check_matrix("x", NULL, 2, 3, 3), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("x is NULL");
  ck_assert_ev(ev__check_matrix("x", x, 0, 3, 3), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("at least 1");
  ck_assert_ev(ev__check_matrix("x", x, 2, 3, 2), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("leading dimension 2");
  ck_assert_ev(ev__check_matrix("x", x, SIZE_MAX / 2, 3, SIZE_MAX / 4),
               EV_ERR_OVERFLOW);
  size_t bytes;
  ck_assert_ev(ev__bytes("buffer", SIZE_MAX / 2, 3, 4, &bytes),
               EV_ERR_OVERFLOW);
  ck_assert_ev_ok(ev__bytes("buffer", 1000, 3, 4, &bytes));
  ck_assert_uint_eq(bytes, 12000);
}
END_TEST

START_TEST(finite_check_names_position) {
  float x[6] = {1, 2, 3, 4, 5, 6};
  ck_assert_ev_ok(ev__check_finite("x", x, 2, 3, 3));
  x[4] = NAN;
  ck_assert_ev(ev__check_finite("x", x, 2, 3, 3), EV_ERR_NONFINITE);
  ck_assert_errmsg_has("x[1][1] is NaN");
  x[4] = 5;
  x[2] = INFINITY;
  ck_assert_ev(ev__check_finite("x", x, 2, 3, 3), EV_ERR_NONFINITE);
  ck_assert_errmsg_has("x[0][2] is Inf");
  /* Outside the view (ld = 3, cols = 2) a NaN is not looked at. */
  ck_assert_ev_ok(ev__check_finite("x", x, 2, 2, 3));
}
END_TEST

enum { P_A = 1, P_B = 2 };
static const ev__param_spec specs[] = {
    {P_A, "EV_T_A", 1, 10, true, 1, 0, EV__SLOT_NONE},
    {P_B, "EV_T_B", 0, 0.5, false, 0, 0, EV__SLOT_NONE},
};

START_TEST(param_table) {
  ck_assert_ev_ok(ev__param_check(specs, 2, P_A, 3, "T"));
  ck_assert_ev(ev__param_check(specs, 2, P_A, 3.5, "T"), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("EV_T_A must be a whole number in [1, 10], got 3.5");
  ck_assert_ev(ev__param_check(specs, 2, P_B, 0.7, "T"), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("[0, 0.5]");
  ck_assert_ev(ev__param_check(specs, 2, P_B, NAN, "T"), EV_ERR_ARGUMENT);
  ck_assert_ev(ev__param_check(specs, 2, 77, 1, "T"), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("77 is not a T setting");
  double lo, hi;
  ck_assert_ev_ok(ev__param_bounds(specs, 2, P_A, "T", &lo, &hi));
  ck_assert(lo == 1 && hi == 10);
}
END_TEST

/* A handle whose settings have every slot type, described by a list as the
 * library's handles are: defaults, set and get go through the table. */
typedef enum { EV_S_D = 1, EV_S_I, EV_S_Z, EV_S_U, EV_S_RO } s_param;
typedef struct s_handle {
  double d;
  int i;
  size_t z;
  uint64_t u;
  double untouched;
} s_handle;
#define S_SETTINGS(X)                                \
  X(EV_S_D, -1, 1, false, 0.25, d, DOUBLE)              \
  X(EV_S_I, 0, 100, true, 7, i, INT)                    \
  X(EV_S_Z, 0, 1e12, true, 1e10, z, SIZE)               \
  X(EV_S_U, 0, 9007199254740991.0, true, 3, u, U64)     \
  X(EV_S_RO, 0, 1, true, 1, untouched, NONE)
#define S_SPEC(id, lo, hi, whole, def, field, type) \
  EV__SPEC(s_handle, field, EV__SLOT_##type, id, lo, hi, whole, def),
static const ev__param_spec s_specs[] = {S_SETTINGS(S_SPEC)};
EV__SETTINGS_COVER(s_param, S_SETTINGS)
_Static_assert(EV__COUNT(S_SETTINGS) == 5, "EV__COUNT counts the list");

START_TEST(param_table_stores_defaults_and_values) {
  s_handle h = {-9, -9, 9, 9, -9};
  ev__param_defaults(s_specs, 5, &h);
  ck_assert(h.d == 0.25 && h.i == 7 && h.z == 10000000000u && h.u == 3);
  ck_assert(h.untouched == -9); /* read-only: not stored */
  double v;
  ck_assert_ev_ok(ev__param_set(s_specs, 5, &h, EV_S_D, -0.5, "S"));
  ck_assert_ev_ok(ev__param_set(s_specs, 5, &h, EV_S_I, 42, "S"));
  ck_assert_ev_ok(ev__param_set(s_specs, 5, &h, EV_S_Z, 123456789012, "S"));
  ck_assert_ev_ok(ev__param_set(s_specs, 5, &h, EV_S_U, 9007199254740991.0, "S"));
  ck_assert(h.d == -0.5 && h.i == 42 && h.z == 123456789012u &&
            h.u == 9007199254740991u);
  ck_assert_ev_ok(ev__param_get(s_specs, 5, &h, EV_S_Z, &v, "S"));
  ck_assert(v == 123456789012.0);
  ck_assert_ev_ok(ev__param_get(s_specs, 5, &h, EV_S_U, &v, "S"));
  ck_assert(v == 9007199254740991.0);
  /* refused values leave the handle as it was */
  ck_assert_ev(ev__param_set(s_specs, 5, &h, EV_S_I, 101, "S"), EV_ERR_ARGUMENT);
  ck_assert_ev(ev__param_set(s_specs, 5, &h, EV_S_RO, 0, "S"), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("EV_S_RO is read-only");
  ck_assert(h.i == 42 && h.untouched == -9);
  ck_assert_ev(ev__param_get(s_specs, 5, &h, 6, &v, "S"), EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("6 is not a S setting: use one of the EV_S_* constants");
  ck_assert_ev_ok(ev__param_default(s_specs, 5, EV_S_Z, "S", &v));
  ck_assert(v == 1e10);
  ck_assert_ev(ev__param_default(s_specs, 5, EV_S_Z, "S", NULL), EV_ERR_ARGUMENT);
}
END_TEST

/* Every setting of every handle from 1 to its last has a default inside its
 * bounds, which is the value a new handle reports; the id after the last
 * is unknown to all three calls. */
typedef ev_status (*bounds_fn)(int, double *, double *);
typedef ev_status (*default_fn)(int, double *);
typedef ev_status (*get_fn)(const void *, int, double *);

static void check_defaults(const char *what, int last, bounds_fn bounds,
                           default_fn fallback, get_fn get, const void *h) {
  for (int id = 1; id <= last + 1; id++) {
    double lo, hi, def = NAN, now = NAN;
    ev_status sb = bounds(id, &lo, &hi), sd = fallback(id, &def);
    if (id == last + 1) {
      ck_assert_msg(sb == EV_ERR_ARGUMENT && sd == EV_ERR_ARGUMENT,
                    "%s setting %d should be unknown", what, id);
      continue;
    }
    ck_assert_msg(sb == EV_OK && sd == EV_OK, "%s setting %d: %s", what, id,
                  ev_last_error());
    ck_assert_msg(lo <= def && def <= hi, "%s setting %d: default %g "
                  "outside [%g, %g]", what, id, def, lo, hi);
    ck_assert_ev_ok(get(h, id, &now));
    ck_assert_msg(now == def, "%s setting %d: a new handle has %g, the "
                  "default is %g", what, id, now, def);
  }
}

START_TEST(new_handles_have_the_table_defaults) {
  ev_tsne *t;
  ev_pca *p;
  ev_knn *k;
  ev_dataset *ds;
  float px[4] = {0, 0, 0, 0};
  ck_assert_ev_ok(ev_tsne_create(&t));
  ck_assert_ev_ok(ev_pca_create(&p));
  ck_assert_ev_ok(ev_knn_create(&k));
  ck_assert_ev_ok(ev_dataset_from_floats(px, 1, 1, 2, 2, 4, NULL, &ds));
  check_defaults("t-SNE", EV_TSNE_FFT_NEAR_POINTS, (bounds_fn)ev_tsne_param_bounds,
                 (default_fn)ev_tsne_param_default, (get_fn)ev_tsne_get, t);
  check_defaults("PCA", EV_PCA_FITTED_SOLVER, (bounds_fn)ev_pca_param_bounds,
                 (default_fn)ev_pca_param_default, (get_fn)ev_pca_get, p);
  check_defaults("kNN", EV_KNN_BUILT_METHOD, (bounds_fn)ev_knn_param_bounds,
                 (default_fn)ev_knn_param_default, (get_fn)ev_knn_get, k);
  check_defaults("data set", EV_DS_ON_ERROR,
                 (bounds_fn)ev_dataset_param_bounds,
                 (default_fn)ev_dataset_param_default,
                 (get_fn)ev_dataset_get, ds);
  ev_umap *u;
  ev_quality *q;
  ck_assert_ev_ok(ev_umap_create(&u));
  ck_assert_ev_ok(ev_quality_create(&q));
  check_defaults("UMAP", EV_UMAP_KNN_METHOD, (bounds_fn)ev_umap_param_bounds,
                 (default_fn)ev_umap_param_default, (get_fn)ev_umap_get, u);
  check_defaults("quality", EV_QUALITY_THREADS, (bounds_fn)ev_quality_param_bounds,
                 (default_fn)ev_quality_param_default, (get_fn)ev_quality_get, q);
  ev_ridge *r;
  ck_assert_ev_ok(ev_ridge_create(&r));
  check_defaults("ridge", EV_RIDGE_THREADS, (bounds_fn)ev_ridge_param_bounds,
                 (default_fn)ev_ridge_param_default, (get_fn)ev_ridge_get, r);
  ev_ridge_free(r);
  ev_umap_free(u);
  ev_quality_free(q);
  /* a few documented ones */
  double v;
  ck_assert_ev_ok(ev_tsne_param_default(EV_TSNE_PERPLEXITY, &v));
  ck_assert(v == 30);
  ck_assert_ev_ok(ev_tsne_param_default(EV_TSNE_MIN_GRAD_NORM, &v));
  ck_assert(v == 1e-7);
  ck_assert_ev_ok(ev_pca_param_default(EV_PCA_OVERSAMPLES, &v));
  ck_assert(v == 10);
  ck_assert_ev_ok(ev_dataset_param_default(EV_DS_SCALE, &v));
  ck_assert(v == 1.0 / 255.0);
  ck_assert_ev_ok(ev_knn_param_default(EV_KNN_MINKOWSKI_P, &v));
  ck_assert(v == 2);
  if (ev_extract_available()) {
    ck_assert_ev_ok(ev_extractor_param_default(EV_EXTRACT_BATCH_SIZE, &v));
    ck_assert(v == 32);
  }
  ev_tsne_free(t);
  ev_pca_free(p);
  ev_knn_free(k);
  ev_dataset_free(ds);
}
END_TEST

START_TEST(alloc_failure_hook) {
  ev__test_fail_alloc(1, 0);
  void *a = ev__malloc(8);
  void *b = ev__malloc(8);
  void *c = ev__malloc(8);
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_null(b);
  ck_assert_ptr_nonnull(c);
  ck_assert_int_eq(ev__test_alloc_count(), 3);
  long live = ev__test_live_blocks();
  ev__free(a);
  ev__free(c);
  ev__free(NULL);
  ck_assert_int_eq(ev__test_live_blocks(), live - 2);
  ev__test_fail_alloc(0, 1);
  ck_assert_ptr_null(ev__malloc(8));
  ck_assert_ptr_null(ev__calloc(2, 8));
  ev__test_fail_alloc(-1, 0);
  void *d = ev__calloc(SIZE_MAX / 2, 4); /* overflow: refused */
  ck_assert_ptr_null(d);
}
END_TEST

static int cancel_at_3(void *user, int stage, size_t step, size_t total,
                       double value) {
  (void)stage; (void)total; (void)value;
  *(int *)user += 1;
  return step >= 3;
}

START_TEST(progress_cancels) {
  int calls = 0;
  ck_assert_ev_ok(ev__progress(NULL, NULL, EV_STAGE_KNN, 1, 10, 0));
  ck_assert_ev_ok(ev__progress(cancel_at_3, &calls, EV_STAGE_KNN, 1, 10, 0));
  ck_assert_ev(ev__progress(cancel_at_3, &calls, EV_STAGE_OPTIMIZE, 3, 10, 0),
               EV_ERR_CANCELLED);
  ck_assert_errmsg_has("t-SNE optimisation cancelled");
  ck_assert_int_eq(calls, 2);
}
END_TEST

START_TEST(threads_scope_restores) {
  ck_assert_int_ge(ev_default_threads(), 1);
  ck_assert_int_eq(ev__resolve_threads(0), ev_default_threads());
  ck_assert_int_eq(ev__resolve_threads(3), 3);
  int before = omp_get_max_threads();
  ev__threads scope;
  ev__threads_begin(&scope, 1);
  ck_assert_int_eq(omp_get_max_threads(), 1);
  ev__threads_end(&scope);
  ck_assert_int_eq(omp_get_max_threads(), before);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("core");
  /* The first extraction call loads the backend module and libtorch
   * (about 290 shared objects): seconds on a loaded machine, beyond
   * Check's default 4 s. */
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, version_matches_header);
  tcase_add_test(tc, status_names);
  tcase_add_test(tc, error_message_set_and_cleared);
  tcase_add_test(tc, error_message_is_per_thread);
  tcase_add_test(tc, matrix_checks);
  tcase_add_test(tc, finite_check_names_position);
  tcase_add_test(tc, param_table);
  tcase_add_test(tc, param_table_stores_defaults_and_values);
  tcase_add_test(tc, new_handles_have_the_table_defaults);
  tcase_add_test(tc, alloc_failure_hook);
  tcase_add_test(tc, progress_cancels);
  tcase_add_test(tc, threads_scope_restores);
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
