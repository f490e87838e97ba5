/* Atomic file replacement (atomic.h): temporary file, checked writes,
 * fsync, rename. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic.h"

static atomic_long fail_step = -1, steps = 0;
static atomic_ulong tmp_counter = 0;

void ev__test_fail_atomic_step(long n) {
  atomic_store(&steps, 0);
  atomic_store(&fail_step, n);
}

long ev__test_atomic_steps(void) { return atomic_load(&steps); }

/* One step of a write; non-zero (errno ENOSPC) when the test hook says
 * this one fails. */
static int injected_failure(void) {
  long s = atomic_fetch_add(&steps, 1), f = atomic_load(&fail_step);
  if (f >= 0 && s == f) {
    errno = ENOSPC;
    return 1;
  }
  return 0;
}

static const char *kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a folder";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

/* The path to replace: path itself, or the file a link names. */
static ev_status resolve_target(const char *path, char **target, int *exists,
                                mode_t *mode) {
  struct stat sb;
  *exists = 0;
  if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) {
    char *real = realpath(path, NULL);
    if (!real)
      return ev__fail(EV_ERR_IO,
                      "%s is a symbolic link to a missing file (%s): write to "
                      "the file's own path, or create it first",
                      path, strerror(errno));
    *target = ev__strdup(real);
    free(real);
  } else {
    *target = ev__strdup(path);
  }
  if (!*target) return ev__nomem("a file name", strlen(path) + 1);
  if (stat(*target, &sb) == 0) {
    if (!S_ISREG(sb.st_mode)) {
      ev__free(*target);
      return ev__fail(EV_ERR_IO,
                      "%s is %s, not a regular file: the library writes only "
                      "regular files (it writes a new file and renames it "
                      "over the old one, so an error never costs the old "
                      "one): give the path of a file",
                      path, kind_of(sb.st_mode));
    }
    *exists = 1;
    *mode = sb.st_mode & 07777;
  } else if (errno != ENOENT) {
    int e = errno;
    ev__free(*target);
    return ev__fail(e == ENOTDIR ? EV_ERR_NOT_FOUND : EV_ERR_IO,
                    "%s: cannot write there: %s: check the path", path,
                    strerror(e));
  }
  return EV_OK;
}

/* A new file beside the target: "<folder>/.<name>.tmp-<pid>-<count>". */
static int create_tmp(const char *target, char **tmp) {
  const char *slash = strrchr(target, '/');
  size_t dirlen = slash ? (size_t)(slash - target) + 1 : 0;
  const char *base = slash ? slash + 1 : target;
  size_t cap = strlen(target) + 64;
  *tmp = ev__malloc(cap);
  if (!*tmp) {
    errno = ENOMEM;
    return -1;
  }
  for (int attempt = 0; attempt < 100; attempt++) {
    unsigned long c = atomic_fetch_add(&tmp_counter, 1);
    snprintf(*tmp, cap, "%.*s.%s.tmp-%ld-%lu", (int)dirlen, target, base,
             (long)getpid(), c);
    int fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) {
      if (fd < 0) {
        int e = errno;
        ev__free(*tmp);
        *tmp = NULL;
        errno = e;
      }
      return fd;
    }
  }
  ev__free(*tmp);
  *tmp = NULL;
  errno = EEXIST;
  return -1;
}

ev_status ev__atomic_open(ev__atomic_file *af, const char *path) {
  memset(af, 0, sizeof *af);
  if (!path || !*path)
    return ev__fail(EV_ERR_ARGUMENT, "the output path is %s: pass a file path",
                    path ? "empty" : "NULL");
  int exists;
  mode_t mode = 0;
  ev_status st = resolve_target(path, &af->target, &exists, &mode);
  if (st) return st;
  int fd = create_tmp(af->target, &af->tmp);
  if (fd < 0) {
    int e = errno;
    ev__free(af->target);
    if (e == ENOMEM) return ev__nomem("a file name", strlen(path) + 64);
    return ev__fail(e == ENOENT || e == ENOTDIR ? EV_ERR_NOT_FOUND
                                                : EV_ERR_IO,
                    "%s: cannot create a file in its folder: %s: check that "
                    "the folder exists and is writable",
                    path, strerror(e));
  }
  if ((exists && fchmod(fd, mode) != 0) || !(af->f = fdopen(fd, "wb"))) {
    int e = errno;
    close(fd);
    unlink(af->tmp);
    ev__free(af->tmp);
    ev__free(af->target);
    return ev__fail(EV_ERR_IO, "%s: cannot prepare the file: %s", path,
                    strerror(e));
  }
  af->name = path;
  return EV_OK;
}

static ev_status write_failed(ev__atomic_file *af, const char *what, int e) {
  return af->st = ev__fail(
             EV_ERR_IO,
             "%s: %s failed: %s: free some space or write elsewhere; the file "
             "that was at this path (if any) is unchanged",
             af->name, what, strerror(e));
}

ev_status ev__atomic_write(ev__atomic_file *af, const void *data,
                           size_t len) {
  if (af->st || len == 0) return af->st;
  errno = 0;
  if (injected_failure() || fwrite(data, 1, len, af->f) != len)
    return write_failed(af, "writing", errno ? errno : EIO);
  return EV_OK;
}

ev_status ev__atomic_fail(ev__atomic_file *af, ev_status st) {
  if (!af->st) af->st = st;
  return st;
}

static void release(ev__atomic_file *af) {
  ev__free(af->tmp);
  ev__free(af->target);
  memset(af, 0, sizeof *af);
}

void ev__atomic_abort(ev__atomic_file *af) {
  if (af->f) fclose(af->f);
  if (af->tmp) unlink(af->tmp); /* our own new regular file */
  release(af);
}

/* Make the rename itself durable; a folder that cannot be synced (some
 * file systems refuse) costs durability, not data, so it is not an error. */
static void sync_folder(const char *target) {
  const char *slash = strrchr(target, '/');
  char dir[PATH_MAX];
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == target) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - target), target);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

ev_status ev__atomic_commit(ev__atomic_file *af) {
  if (!af->st && (injected_failure() || fflush(af->f) != 0))
    write_failed(af, "writing", errno);
  if (!af->st && (injected_failure() || fsync(fileno(af->f)) != 0))
    write_failed(af, "fsync", errno);
  FILE *f = af->f;
  af->f = NULL;
  int closed = fclose(f) == 0;
  if (!af->st && (injected_failure() || !closed)) write_failed(af, "close", errno);
  if (!af->st && (injected_failure() || rename(af->tmp, af->target) != 0))
    write_failed(af, "replacing the file", errno);
  ev_status st = af->st;
  if (st) unlink(af->tmp);
  else sync_folder(af->target);
  release(af);
  return st;
}
