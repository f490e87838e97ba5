/* Writing files never costs the caller the file they had (issue 15, item 3):
 * every failing write leaves a previous good file byte for byte, nothing but
 * a regular file is ever replaced or removed, and no temporary file is left
 * behind. Failures come three ways: the library's write-step hook (each
 * step made to fail in turn), a real limit on the file size (RLIMIT_FSIZE in
 * a forked child: EFBIG from the kernel), and a full tmpfs when this runs as
 * root and can mount one. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/atomic.h"
#include "testutil.h"

static char dir[64];

static void make_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/ev_writes_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "umount -q %.40s/full_fs 2>/dev/null; rm -rf %.40s",
           dir, dir);
  ck_assert_int_eq(system(cmd), 0);
}

/* A path in the test's folder, in one of 8 buffers used in turn. */
static const char *in_dir(const char *name) {
  static char buf[8][256];
  static int next;
  char *p = buf[next++ % 8];
  snprintf(p, 256, "%.64s/%.128s", dir, name);
  return p;
}

/* The whole file, or NULL when it cannot be read; *len its size. */
static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  *len = 0;
  if (!f) return NULL;
  size_t cap = 1 << 20;
  unsigned char *b = malloc(cap);
  *len = fread(b, 1, cap, f);
  fclose(f);
  return b;
}

/* Entries of a folder other than . and .. (a left temporary file shows). */
static int entries(const char *path) {
  DIR *d = opendir(path);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static float *ramp(size_t n, float start) {
  float *x = malloc(n * sizeof *x);
  for (size_t i = 0; i < n; i++) x[i] = start + (float)i;
  return x;
}

/* Each step of a write (every write of data, the flush, the fsync, the
 * close, the rename) made to fail in turn: the old file stays byte for
 * byte, the folder holds only it, and the message says the old file is
 * unchanged. Then the write without failure replaces it. */
START_TEST(every_failing_step_keeps_the_old_file) {
  make_dir();
  const char *path = in_dir("scores.npy");
  float *old = ramp(6, 1.0f), *new_x = ramp(4000, -5.0f);
  ck_assert_ev_ok(ev_npy_write_matrix(path, old, 2, 3, 3));
  size_t good_len, len;
  unsigned char *good = slurp(path, &good_len);
  ck_assert_uint_eq(good_len, 128 + 6 * 4);
  long failures = 0;
  for (long step = 0;; step++) {
    ev__test_fail_atomic_step(step);
    ev_status st = ev_npy_write_matrix(path, new_x, 1000, 4, 4);
    long steps = ev__test_atomic_steps();
    ev__test_fail_atomic_step(-1);
    if (st == EV_OK) {
      ck_assert_int_gt(step, 4); /* header, 1000 rows, flush, fsync, ... */
      ck_assert_int_le(steps, step);
      break;
    }
    failures++;
    ck_assert_int_eq(st, EV_ERR_IO);
    ck_assert_errmsg_has("scores.npy");
    ck_assert_errmsg_has("is unchanged");
    unsigned char *now = slurp(path, &len);
    ck_assert_ptr_nonnull(now);
    ck_assert_uint_eq(len, good_len);
    ck_assert_mem_eq(now, good, good_len);
    free(now);
    ck_assert_int_eq(entries(dir), 1);
  }
  ck_assert_int_eq(failures, 1000 + 1 + 4); /* rows, header, 4 closing */
  ev_array *a;
  ck_assert_ev_ok(ev_npy_read(path, &a));
  ck_assert_uint_eq(ev_array_dim(a, 0), 1000);
  ck_assert_float_eq(((const float *)ev_array_data(a))[3999], 3994.0f);
  ev_array_free(a);
  ck_assert_int_eq(entries(dir), 1);
  free(good);
  free(old);
  free(new_x);
  remove_dir();
}
END_TEST

/* A real failure from the kernel: in a child limited to 4 KiB files
 * (RLIMIT_FSIZE, SIGXFSZ ignored so write() returns EFBIG), writing 40 KB
 * over a 152-byte file fails and the file is as it was. */
START_TEST(file_size_limit_keeps_the_old_file) {
  make_dir();
  const char *path = in_dir("big.npy");
  float *old = ramp(6, 7.0f);
  ck_assert_ev_ok(ev_npy_write_matrix(path, old, 3, 2, 2));
  size_t good_len, len;
  unsigned char *good = slurp(path, &good_len);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {4096, 4096};
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(3);
    float *x = ramp(10000, 0.0f);
    ev_status st = ev_npy_write_matrix(path, x, 100, 100, 100);
    int ok = st == EV_ERR_IO && strstr(ev_last_error(), "File too large");
    free(x);
    free(old);
    free(good);
    _exit(ok ? 0 : 1);
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "the limited write did not fail with EV_ERR_IO naming EFBIG");
  unsigned char *now = slurp(path, &len);
  ck_assert_uint_eq(len, good_len);
  ck_assert_mem_eq(now, good, good_len);
  ck_assert_int_eq(entries(dir), 1);
  free(now);
  free(good);
  free(old);
  remove_dir();
}
END_TEST

/* A full file system (a 16 KiB tmpfs, when this runs as root and may mount
 * one): overwriting a good file with more than fits fails and keeps it. */
START_TEST(full_file_system_keeps_the_old_file) {
  make_dir();
  char fs[128], cmd[256];
  snprintf(fs, sizeof fs, "%s/full_fs", dir);
  ck_assert_int_eq(mkdir(fs, 0755), 0);
  if (mount("tmpfs", fs, "tmpfs", 0, "size=16k") != 0) {
    char why[160];
    snprintf(why, sizeof why, "mounting a 16 KiB tmpfs failed (%s): run as "
             "root", strerror(errno));
    remove_dir();
    TU_REQUIRE(0, "test_writes.full_file_system_keeps_the_old_file", "tmpfs",
               why);
  }
  snprintf(cmd, sizeof cmd, "%s/x.npy", fs);
  float *old = ramp(1000, 3.0f), *big = ramp(5000, 0.0f);
  ck_assert_ev_ok(ev_npy_write_matrix(cmd, old, 250, 4, 4)); /* 4 KB */
  size_t good_len, len;
  unsigned char *good = slurp(cmd, &good_len);
  ck_assert_ev(ev_npy_write_matrix(cmd, big, 1000, 5, 5), EV_ERR_IO);
  ck_assert_errmsg_has("No space left on device");
  unsigned char *now = slurp(cmd, &len);
  ck_assert_uint_eq(len, good_len);
  ck_assert_mem_eq(now, good, good_len);
  ck_assert_int_eq(entries(fs), 1);
  free(now);
  free(good);
  free(old);
  free(big);
  ck_assert_int_eq(umount(fs), 0);
  remove_dir();
}
END_TEST

/* /dev/full as root was deleted by the old unlink(): a copy of the device
 * (mknod, as root) or, without root, a FIFO: refused before anything is
 * written, and still there, still the same kind of node, afterwards. */
START_TEST(non_regular_targets_are_refused_and_kept) {
  make_dir();
  float x[4] = {1, 2, 3, 4};
  const char *full = in_dir("full");
  if (mknod(full, S_IFCHR | 0666, makedev(1, 7)) == 0) {
    ck_assert_ev(ev_npy_write_matrix(full, x, 2, 2, 2), EV_ERR_IO);
    ck_assert_errmsg_has("character device, not a regular file");
    struct stat sb;
    ck_assert_int_eq(lstat(full, &sb), 0);
    ck_assert(S_ISCHR(sb.st_mode));
    ck_assert_uint_eq(sb.st_rdev, makedev(1, 7));
  }
  const char *fifo = in_dir("pipe.npy");
  ck_assert_int_eq(mkfifo(fifo, 0644), 0);
  size_t shape = 4;
  ck_assert_ev(ev_npy_write(fifo, EV_DTYPE_FLOAT32, x, 1, &shape), EV_ERR_IO);
  ck_assert_errmsg_has("FIFO");
  struct stat sb;
  ck_assert_int_eq(lstat(fifo, &sb), 0);
  ck_assert(S_ISFIFO(sb.st_mode));
  ck_assert_ev(ev_npy_write_matrix(dir, x, 2, 2, 2), EV_ERR_IO);
  ck_assert_errmsg_has("is a folder");
  ck_assert_int_eq(entries(dir), geteuid() == 0 ? 2 : 1);
  remove_dir();
}
END_TEST

/* The new file keeps the old one's permission bits; a link is followed, so
 * the link stays a link and its file gets the new data; a missing folder
 * is EV_ERR_NOT_FOUND. */
START_TEST(modes_links_and_missing_folders) {
  make_dir();
  float x[4] = {1, 2, 3, 4};
  const char *path = in_dir("kept.npy");
  ck_assert_ev_ok(ev_npy_write_matrix(path, x, 2, 2, 2));
  ck_assert_int_eq(chmod(path, 0640), 0);
  ck_assert_ev_ok(ev_npy_write_matrix(path, x, 1, 4, 4));
  struct stat sb;
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 07777, 0640);
  mode_t mask = umask(022);
  const char *fresh = in_dir("fresh.npy");
  ck_assert_ev_ok(ev_npy_write_matrix(fresh, x, 1, 4, 4));
  umask(mask);
  ck_assert_int_eq(stat(fresh, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 07777, 0644);
  char link[256];
  snprintf(link, sizeof link, "%s/link.npy", dir);
  ck_assert_int_eq(symlink("kept.npy", link), 0);
  ck_assert_ev_ok(ev_npy_write_matrix(link, x, 4, 1, 1));
  ck_assert_int_eq(lstat(link, &sb), 0);
  ck_assert(S_ISLNK(sb.st_mode));
  ev_array *a;
  ck_assert_ev_ok(ev_npy_read(path, &a));
  ck_assert_uint_eq(ev_array_dim(a, 0), 4);
  ev_array_free(a);
  ck_assert_ev(ev_npy_write_matrix(in_dir("no/such/x.npy"), x, 2, 2, 2),
               EV_ERR_NOT_FOUND);
  ck_assert_errmsg_has("folder exists");
  ck_assert_int_eq(entries(dir), 3);
  remove_dir();
}
END_TEST

static Suite *writes_suite(void) {
  Suite *s = suite_create("writes");
  TCase *tc = tcase_create("writes");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, every_failing_step_keeps_the_old_file);
  tcase_add_test(tc, file_size_limit_keeps_the_old_file);
  tcase_add_test(tc, full_file_system_keeps_the_old_file);
  tcase_add_test(tc, non_regular_targets_are_refused_and_kept);
  tcase_add_test(tc, modes_links_and_missing_folders);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run(writes_suite()) ? EXIT_FAILURE : EXIT_SUCCESS; }
