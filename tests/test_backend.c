/* The libtorch backend module (docs/extract.md): loaded on first use, once,
 * from EMBEDVIZ_BACKEND_DIR or beside the library; refused when missing,
 * unloadable or of another version, with EV_ERR_UNSUPPORTED and a message
 * naming the file; never mapped by a program that does not extract.
 *
 * Loading happens once per process, so every case runs in a child process
 * of its own (fork), which reports back through a pipe. The fake modules
 * are made by the Makefile from tests/backend_fake.c into
 * build/tests/backend-fake/. */
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "extract/backend.h"

#define MODULE "libembedviz-torch.so"

/* What a child found: a status, a flag and the message. */
typedef struct result {
  int status, flag, extra;
  char msg[1024];
} result;

typedef void (*scenario)(result *r, const char *arg);

/* Run fn in a fresh process with EMBEDVIZ_BACKEND_DIR = dir (unset when
 * dir is NULL). */
static result run_child(scenario fn, const char *dir, const char *arg) {
  int fd[2];
  result r;
  memset(&r, 0, sizeof r);
  ck_assert_int_eq(pipe(fd), 0);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(fd[0]);
    if (dir) setenv("EMBEDVIZ_BACKEND_DIR", dir, 1);
    else unsetenv("EMBEDVIZ_BACKEND_DIR");
    result c;
    memset(&c, 0, sizeof c);
    fn(&c, arg);
    ssize_t w = write(fd[1], &c, sizeof c);
    _exit(w == (ssize_t)sizeof c ? 0 : 3);
  }
  close(fd[1]);
  ssize_t got = 0, n;
  while (got < (ssize_t)sizeof r &&
         (n = read(fd[0], (char *)&r + got, sizeof r - (size_t)got)) > 0)
    got += n;
  close(fd[0]);
  int ws = 0;
  waitpid(pid, &ws, 0);
  ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0 &&
                    got == (ssize_t)sizeof r,
                "the child process died (wait status %d)", ws);
  return r;
}

/* The folder of this program (build/tests). */
static const char *exe_dir(void) {
  static char dir[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
  ck_assert_int_gt(n, 0);
  dir[n] = '\0';
  *strrchr(dir, '/') = '\0';
  return dir;
}

static const char *fake_dir(const char *name) {
  static char dir[PATH_MAX + 64];
  snprintf(dir, sizeof dir, "%s/backend-fake/%s", exe_dir(), name);
  return dir;
}

/* 1 when `needle` is in this process's memory map. */
static int mapped(const char *needle) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[4096];
  int found = 0;
  if (!f) return -1;
  while (!found && fgets(line, sizeof line, f)) found = strstr(line, needle) != NULL;
  fclose(f);
  return found;
}

/* ---- children ---- */

/* ev_extract_available, then ev_model_load: both must say why. */
static void try_load(result *r, const char *arg) {
  r->flag = ev_extract_available();
  char first[1024];
  snprintf(first, sizeof first, "%s", ev_last_error());
  ev_model *m = (ev_model *)&r; /* must be set to NULL */
  r->status = ev_model_load(arg ? arg : "/nonexistent/model.pt",
                            EV_DEVICE_CPU, &m);
  r->extra = (m == NULL) && strcmp(first, ev_last_error()) == 0;
  snprintf(r->msg, sizeof r->msg, "%s", ev_last_error());
  /* the other calls say the same, and freeing nothing is harmless */
  double lo, hi;
  if (ev_extractor_param_bounds(EV_EXTRACT_BATCH_SIZE, &lo, &hi) !=
          EV_ERR_UNSUPPORTED ||
      strcmp(first, ev_last_error()) != 0)
    r->extra = 0;
  ev_model_free(NULL);
  ev_extractor_free(NULL);
}

/* Assert the refusal of the module in `dir` and that the message has each
 * of the NULL-terminated needles. */
static void expect_refused(const char *dir, ...) {
  result r = run_child(try_load, dir, NULL);
  ck_assert_int_eq(r.flag, 0);
  ck_assert_msg(r.status == EV_ERR_UNSUPPORTED, "ev_model_load gave %s (%s)",
                ev_status_name(r.status), r.msg);
  ck_assert_msg(r.extra, "the model was not set to NULL, or the calls gave "
                "different messages (%s)", r.msg);
  va_list ap;
  va_start(ap, dir);
  for (const char *s; (s = va_arg(ap, const char *));)
    ck_assert_msg(strstr(r.msg, s), "message \"%s\" does not mention \"%s\"",
                  r.msg, s);
  va_end(ap);
}

START_TEST(missing_backend_is_unsupported_and_named) {
  char tmpl[] = "/tmp/ev-backend-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(tmpl));
  char want[PATH_MAX];
  snprintf(want, sizeof want, "EMBEDVIZ_BACKEND_DIR=%s has no %s", tmpl,
           MODULE);
  expect_refused(tmpl, want, (const char *)NULL);
  rmdir(tmpl);
}
END_TEST

START_TEST(other_version_is_refused) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", fake_dir("version"), MODULE);
  expect_refused(fake_dir("version"), path, "is for libembedviz 0.9.0",
                 "backend ABI 999", EV_VERSION_STRING, (const char *)NULL);
}
END_TEST

/* Same backend ABI and table size, another libembedviz version: refused
 * for the version alone. */
START_TEST(other_version_same_abi_is_refused) {
  char path[PATH_MAX + 64], want[128];
  snprintf(path, sizeof path, "%s/%s", fake_dir("oldversion"), MODULE);
  snprintf(want, sizeof want, "is for libembedviz 1.0.0 (backend ABI %d)",
           EV__BACKEND_ABI);
  expect_refused(fake_dir("oldversion"), path, want, EV_VERSION_STRING,
                 (const char *)NULL);
}
END_TEST

START_TEST(module_refusing_library_is_refused) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", fake_dir("refuses"), MODULE);
  expect_refused(fake_dir("refuses"), path, "refused this libembedviz",
                 (const char *)NULL);
}
END_TEST

START_TEST(module_without_entry_is_refused) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", fake_dir("noentry"), MODULE);
  expect_refused(fake_dir("noentry"), path, "ev_backend_entry_v1",
                 (const char *)NULL);
}
END_TEST

/* A library the module needs cannot be found, as when libtorch is not
 * installed: dlopen's reason names it, and the message says what to
 * install. */
START_TEST(module_missing_a_library_names_it) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", fake_dir("needslib"), MODULE);
  expect_refused(fake_dir("needslib"), path, "cannot load the libtorch backend",
                 "libev-fake-absent.so", "is libtorch installed?",
                 (const char *)NULL);
}
END_TEST

/* dlopen's own reason (here: not an ELF file) is passed on. */
START_TEST(unloadable_module_gives_dlerror) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", fake_dir("garbage"), MODULE);
  expect_refused(fake_dir("garbage"), path, "cannot load the libtorch backend",
                 "ELF", (const char *)NULL);
}
END_TEST

/* Several threads ask at once, with no module: each gets the reason in its
 * own ev_last_error(). */
#define NTHREADS 4
typedef struct job {
  pthread_barrier_t *barrier;
  const char *model;
  int status;
  char msg[256];
} job;

static void *load_job(void *p) {
  job *j = p;
  ev_model *m = NULL;
  pthread_barrier_wait(j->barrier);
  j->status = ev_model_load(j->model, EV_DEVICE_CPU, &m);
  snprintf(j->msg, sizeof j->msg, "%s", ev_last_error());
  ev_model_free(m);
  return NULL;
}

/* r->flag: threads that got `arg`'s expected status; r->status: the first
 * status; r->msg the first message. arg: model path. */
static void concurrent_loads(result *r, const char *arg) {
  pthread_t t[NTHREADS];
  job jobs[NTHREADS];
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, NTHREADS);
  for (int i = 0; i < NTHREADS; i++) {
    jobs[i] = (job){&barrier, arg, -1, ""};
    pthread_create(&t[i], NULL, load_job, &jobs[i]);
  }
  for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&barrier);
  r->status = jobs[0].status;
  snprintf(r->msg, sizeof r->msg, "%s", jobs[0].msg);
  for (int i = 0; i < NTHREADS; i++)
    r->flag += jobs[i].status == jobs[0].status &&
               strcmp(jobs[i].msg, jobs[0].msg) == 0;
  r->extra = mapped("libtorch_cpu") == 1;
}

START_TEST(concurrent_first_loads_without_backend) {
  char tmpl[] = "/tmp/ev-backend-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(tmpl));
  result r = run_child(concurrent_loads, tmpl, "/nonexistent/model.pt");
  rmdir(tmpl);
  ck_assert_int_eq(r.status, EV_ERR_UNSUPPORTED);
  ck_assert_int_eq(r.flag, NTHREADS);
  ck_assert_ptr_nonnull(strstr(r.msg, MODULE));
  /* what memcheck relies on: an empty EMBEDVIZ_BACKEND_DIR keeps libtorch
   * out of the process also after extraction was asked for */
  ck_assert_msg(r.extra == 0, "libtorch was mapped although "
                "EMBEDVIZ_BACKEND_DIR named an empty folder");
}
END_TEST

/* Loading happens once: threads asking at once while the module loads
 * (its entry point takes 200 ms), then more calls, all get the refusal,
 * and the entry point ran once. r->extra: its count of calls. */
static void counted_loads(result *r, const char *arg) {
  concurrent_loads(r, arg);
  int flag = r->flag;
  for (int i = 0; i < 3; i++) flag -= ev_extract_available() != 0;
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", fake_dir("counts"), MODULE);
  void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD); /* loaded, never closed */
  int *calls = h ? (int *)dlsym(h, "ev_fake_entry_calls") : NULL;
  r->extra = calls ? *calls : -1;
  r->flag = flag;
}

START_TEST(first_load_happens_once) {
  result r = run_child(counted_loads, fake_dir("counts"),
                       "/nonexistent/model.pt");
  ck_assert_int_eq(r.status, EV_ERR_UNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(r.msg, "refused this libembedviz"));
  ck_assert_int_eq(r.flag, NTHREADS);
  ck_assert_msg(r.extra == 1, "the module's entry point ran %d times",
                r.extra);
}
END_TEST

/* ---- the real module (built with libtorch) ---- */

/* The real module's cases need it beside this program and no
 * EMBEDVIZ_BACKEND_DIR from the caller (tests/sanitizers/run-valgrind.sh
 * points it at an empty folder so that memcheck never runs libtorch, and
 * allows the skip with EV_ALLOW_SKIPS=libtorch). Otherwise the case fails,
 * unless EV_ALLOW_SKIPS names it (tests/testutil.h TU_REQUIRE): Check
 * would count a case that returns early as a pass. */
#define REQUIRE_REAL_MODULE(id)                                               \
  do {                                                                        \
    const char *env_ = getenv("EMBEDVIZ_BACKEND_DIR");                        \
    char path_[PATH_MAX + 64], why_[PATH_MAX + 128];                          \
    snprintf(path_, sizeof path_, "%s/%s", exe_dir(), MODULE);                \
    snprintf(why_, sizeof why_, "EMBEDVIZ_BACKEND_DIR is set (%s) by the "    \
             "caller", env_ ? env_ : "");                                     \
    TU_REQUIRE(!(env_ && *env_), id, "libtorch", why_);                       \
    snprintf(why_, sizeof why_, "no %s (a build without libtorch)", path_);   \
    TU_REQUIRE(access(path_, F_OK) == 0, id, "libtorch", why_);               \
  } while (0)

/* Before extraction is used nothing of libtorch is mapped; PCA, kNN and
 * t-SNE do not change that; ev_extract_available() loads it. */
static void lazy_load(result *r, const char *arg) {
  r->flag = mapped("libtorch_cpu") == 0 && mapped(MODULE) == 0;
  float *x = tu_randn(200, 8, 7), s[200 * 2], d[200 * 3];
  int64_t idx[200 * 3];
  ev_pca *p = NULL;
  ev_knn *k = NULL;
  ev_tsne *t = NULL;
  r->status = ev_pca_create(&p);
  if (!r->status) r->status = ev_pca_set(p, EV_PCA_N_COMPONENTS, 2);
  if (!r->status) r->status = ev_pca_fit(p, x, 200, 8, 8);
  if (!r->status) r->status = ev_pca_transform(p, x, 200, 8, 8, s, 2);
  if (!r->status) r->status = ev_knn_create(&k);
  if (!r->status) r->status = ev_knn_build(k, x, 200, 8, 8);
  if (!r->status) r->status = ev_knn_query_self(k, 3, idx, 3, d, 3);
  if (!r->status) r->status = ev_tsne_create(&t);
  if (!r->status) r->status = ev_tsne_set(t, EV_TSNE_N_ITER, 250);
  if (!r->status) r->status = ev_tsne_fit(t, x, 200, 8, 8);
  snprintf(r->msg, sizeof r->msg, "%s", ev_last_error());
  ev_pca_free(p);
  ev_knn_free(k);
  ev_tsne_free(t);
  free(x);
  r->flag = r->flag && mapped("libtorch_cpu") == 0 && mapped(MODULE) == 0;
  r->extra = ev_extract_available() == 1 && mapped("libtorch_cpu") == 1 &&
             mapped(MODULE) == 1;
  (void)arg;
}

START_TEST(libtorch_loaded_only_on_first_use) {
  REQUIRE_REAL_MODULE("test_backend.libtorch_loaded_only_on_first_use");
  result r = run_child(lazy_load, NULL, NULL);
  ck_assert_msg(r.status == EV_OK, "PCA/kNN/t-SNE: %s", r.msg);
  ck_assert_msg(r.flag, "libtorch or the module was mapped before extraction");
  ck_assert_msg(r.extra, "ev_extract_available() did not load the module");
}
END_TEST

/* A missing file: the module answers (EV_ERR_NOT_FOUND), so it is loaded. */
START_TEST(env_dir_with_module_is_used) {
  REQUIRE_REAL_MODULE("test_backend.env_dir_with_module_is_used");
  result r = run_child(try_load, exe_dir(), NULL);
  ck_assert_int_eq(r.flag, 1);
  ck_assert_msg(r.status == EV_ERR_NOT_FOUND, "%s: %s",
                ev_status_name(r.status), r.msg);
}
END_TEST

START_TEST(concurrent_first_loads_of_a_model) {
  REQUIRE_REAL_MODULE("test_backend.concurrent_first_loads_of_a_model");
  ck_assert_msg(tu_have_extract_models(), "cannot make the test models "
                "(tests/ref/extract_models.py needs Python torch)");
  char model[PATH_MAX];
  snprintf(model, sizeof model, "%s", tu_extract_path("small_cnn.pt"));
  result r = run_child(concurrent_loads, NULL, model);
  ck_assert_msg(r.status == EV_OK, "%s: %s", ev_status_name(r.status), r.msg);
  ck_assert_int_eq(r.flag, NTHREADS);
  ck_assert_int_eq(r.extra, 1);
}
END_TEST

/* The real module's side of the check: its entry point returns NULL for
 * a library of another version or backend ABI (the library's table is
 * only read up to its version when it is refused). r->flag: refusals of
 * the three bad tables. */
static void real_entry_refuses(result *r, const char *arg) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s", exe_dir(), MODULE);
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(r->msg, sizeof r->msg, "%s", dlerror());
    return;
  }
  ev__backend_entry_fn entry =
      (ev__backend_entry_fn)dlsym(h, EV__BACKEND_ENTRY_NAME);
  if (!entry) {
    snprintf(r->msg, sizeof r->msg, "no %s in %.900s", EV__BACKEND_ENTRY_NAME,
             path);
    return;
  }
  r->status = 1;
  ev__backend_host bad;
  memset(&bad, 0, sizeof bad);
  bad.abi = EV__BACKEND_ABI;
  bad.size = sizeof bad;
  bad.version = "1.0.0";
  r->flag += entry(&bad) == NULL;
  bad.version = EV_VERSION_STRING;
  bad.abi = EV__BACKEND_ABI + 1;
  r->flag += entry(&bad) == NULL;
  bad.abi = EV__BACKEND_ABI;
  bad.size = sizeof bad - sizeof(void *);
  r->flag += entry(&bad) == NULL;
  (void)arg;
}

START_TEST(real_module_refuses_another_library) {
  REQUIRE_REAL_MODULE("test_backend.real_module_refuses_another_library");
  result r = run_child(real_entry_refuses, NULL, NULL);
  ck_assert_msg(r.status == 1, "cannot call the module's entry: %s", r.msg);
  ck_assert_int_eq(r.flag, 3);
}
END_TEST

int main(void) {
  Suite *s = suite_create("backend");
  TCase *tc = tcase_create("backend");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, missing_backend_is_unsupported_and_named);
  tcase_add_test(tc, other_version_is_refused);
  tcase_add_test(tc, other_version_same_abi_is_refused);
  tcase_add_test(tc, module_refusing_library_is_refused);
  tcase_add_test(tc, module_without_entry_is_refused);
  tcase_add_test(tc, unloadable_module_gives_dlerror);
  tcase_add_test(tc, module_missing_a_library_names_it);
  tcase_add_test(tc, concurrent_first_loads_without_backend);
  tcase_add_test(tc, first_load_happens_once);
  tcase_add_test(tc, libtorch_loaded_only_on_first_use);
  tcase_add_test(tc, env_dir_with_module_is_used);
  tcase_add_test(tc, concurrent_first_loads_of_a_model);
  tcase_add_test(tc, real_module_refuses_another_library);
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
