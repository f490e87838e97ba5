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
    {P_A, "EV_T_A", 1, 10, true},
    {P_B, "EV_T_B", 0, 0.5, false},
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
  tcase_add_test(tc, version_matches_header);
  tcase_add_test(tc, status_names);
  tcase_add_test(tc, error_message_set_and_cleared);
  tcase_add_test(tc, error_message_is_per_thread);
  tcase_add_test(tc, matrix_checks);
  tcase_add_test(tc, finite_check_names_position);
  tcase_add_test(tc, param_table);
  tcase_add_test(tc, alloc_failure_hook);
  tcase_add_test(tc, progress_cancels);
  tcase_add_test(tc, threads_scope_restores);
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
