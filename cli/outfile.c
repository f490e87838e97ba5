/*
 * outfile.c - every file the tool writes goes through here, so that an
 * error never costs the user a file they had.
 *
 * A regular file (or a new one) is written to a temporary file beside it
 * (same folder, so same file system), every write and the close checked,
 * fsync'ed, then renamed over the target: a reader sees the old file or the
 * new one, never half of one. On failure only the temporary file, which we
 * made, is removed. A target that exists and is not a regular file (a
 * device such as /dev/null or /dev/full, a pipe) is written in place and
 * never removed or replaced; a folder is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* The folder of path (".": none given) into buf. */
static void folder_of(const char *path, char *buf, size_t len) {
  char copy[PATH_MAX];
  snprintf(copy, sizeof copy, "%s", path);
  snprintf(buf, len, "%s", dirname(copy));
}

static void base_of(const char *path, char *buf, size_t len) {
  char copy[PATH_MAX];
  snprintf(copy, sizeof copy, "%s", path);
  snprintf(buf, len, "%s", basename(copy));
}

/* What the tool will write over: 0 nothing there, 1 a regular file, 2 a
 * device or pipe (written in place); -1 refused (message printed). A
 * symbolic link is followed: the file it points to is replaced, the link
 * stays. real gets the path to write (the link's target). */
static int target_kind(const char *path, char *real, size_t len, struct stat *sb) {
  snprintf(real, len, "%s", path);
  if (!*path) return evc_err("an output path is empty: give a file name"), -1;
  if (stat(path, sb) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return 0;
    return evc_err("cannot write %s: %s", path, strerror(errno)), -1;
  }
  char resolved[PATH_MAX];
  if (realpath(path, resolved)) snprintf(real, len, "%s", resolved);
  if (S_ISDIR(sb->st_mode))
    return evc_err("cannot write %s: it is a folder: give a file name inside it", path), -1;
  return S_ISREG(sb->st_mode) ? 1 : 2;
}

/* Make the temporary file beside real: <folder>/.<name>.XXXXXX. */
static int make_temp(const char *path, const char *real, char *tmp, size_t len) {
  char dir[PATH_MAX], base[NAME_MAX + 1];
  folder_of(real, dir, sizeof dir);
  base_of(real, base, sizeof base);
  base[200] = 0;   /* room for the prefix and suffix within NAME_MAX */
  if ((size_t)snprintf(tmp, len, "%s/.%s.XXXXXX", dir, base) >= len)
    return evc_err("cannot write %s: the path is too long", path), -1;
  int fd = mkstemp(tmp);
  if (fd < 0) {
    struct stat sb;
    int e = errno;
    if (stat(dir, &sb) != 0)
      return evc_err("cannot write %s: the folder %s does not exist: make it first", path, dir), -1;
    if (!S_ISDIR(sb.st_mode)) return evc_err("cannot write %s: %s is not a folder", path, dir), -1;
    return evc_err("cannot write %s: cannot make a file in %s: %s", path, dir, strerror(e)), -1;
  }
  return fd;
}

int evc_out_check(const char *path) {
  char real[PATH_MAX], tmp[PATH_MAX];
  struct stat sb;
  int kind = target_kind(path, real, sizeof real, &sb);
  if (kind < 0) return 1;
  if (kind == 2) {   /* a device or pipe: can we open it for writing? */
    if (access(real, W_OK) != 0) return evc_err("cannot write %s: %s", path, strerror(errno));
    return 0;
  }
  int fd = make_temp(path, real, tmp, sizeof tmp);
  if (fd < 0) return 1;
  close(fd);
  unlink(tmp);
  return 0;
}

int evc_outs_check(const char *const *paths, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (paths[k] && evc_out_check(paths[k])) return 1;
  return 0;
}

int evc_out_open(evc_out *o, const char *path) {
  struct stat sb;
  memset(o, 0, sizeof *o);
  o->path = path;
  int kind = target_kind(path, o->real, sizeof o->real, &sb);
  if (kind < 0) return 1;
  if (kind == 2) {
    o->f = fopen(o->real, "w");
    if (!o->f) return evc_err("cannot write %s: %s", path, strerror(errno));
    return 0;
  }
  int fd = make_temp(path, o->real, o->tmp, sizeof o->tmp);
  if (fd < 0) return 1;
  /* The new file gets the old one's permissions, or the usual ones. */
  mode_t mask = umask(0);
  umask(mask);
  if (fchmod(fd, kind == 1 ? (sb.st_mode & 07777) : (0666 & ~mask)) != 0) { /* keep mkstemp's 0600 */ }
  o->f = fdopen(fd, "w");
  if (!o->f) {
    int e = errno;
    close(fd);
    unlink(o->tmp);
    return evc_err("cannot write %s: %s", path, strerror(e));
  }
  return 0;
}

void evc_out_abort(evc_out *o) {
  if (o->f) fclose(o->f);
  o->f = NULL;
  if (*o->tmp) unlink(o->tmp);   /* ours: a regular file mkstemp made */
  o->tmp[0] = 0;
}

static int failed(evc_out *o, int e) {
  evc_out_abort(o);
  if (e == ENOSPC || e == EDQUOT)
    return evc_err("cannot write %s: %s: free some space or write elsewhere; %s", o->path, strerror(e),
                   "the previous file, if any, is unchanged");
  return evc_err("cannot write %s: %s (the previous file, if any, is unchanged)", o->path, strerror(e ? e : EIO));
}

int evc_out_commit(evc_out *o) {
  if (!o->f) return failed(o, EIO);
  int e = 0;
  if (fflush(o->f) != 0 || ferror(o->f)) e = errno ? errno : EIO;
  if (!e && fsync(fileno(o->f)) != 0 && (*o->tmp || (errno != EINVAL && errno != EROFS && errno != ENOTSUP)))
    e = errno;
  if (!e) {
    FILE *f = o->f;
    o->f = NULL;
    if (fclose(f) != 0) e = errno;
  }
  if (e) return failed(o, e);
  if (*o->tmp) {
    if (rename(o->tmp, o->real) != 0) return failed(o, errno);
    o->tmp[0] = 0;
    /* The rename is durable once the folder is synced too. */
    char dir[PATH_MAX];
    folder_of(o->real, dir, sizeof dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
  }
  return 0;
}

int evc_write_file(const char *path, const void *data, size_t len) {
  evc_out o;
  if (evc_out_open(&o, path)) return 1;
  if (len && fwrite(data, 1, len, o.f) != len) return failed(&o, errno);
  return evc_out_commit(&o);
}

/* Copy a finished file into an open output. */
static int copy_into(evc_out *o, const char *from) {
  FILE *in = fopen(from, "rb");
  if (!in) return failed(o, errno);
  char buf[1 << 16];
  size_t got;
  int e = 0;
  while (!e && (got = fread(buf, 1, sizeof buf, in)) > 0)
    if (fwrite(buf, 1, got, o->f) != got) e = errno ? errno : EIO;
  if (!e && ferror(in)) e = EIO;
  fclose(in);
  return e ? failed(o, e) : 0;
}

/* The library's message names the temporary file: say the target instead. */
static int library_failed(evc_out *o, const char *tmp) {
  char msg[2048];
  const char *m = ev_last_error(), *at = m && *tmp ? strstr(m, tmp) : NULL;
  if (at) snprintf(msg, sizeof msg, "%.*s%s%s", (int)(at - m), m, o->path, at + strlen(tmp));
  else snprintf(msg, sizeof msg, "%s", m && *m ? m : "the library could not write it");
  evc_out_abort(o);
  return evc_err("cannot write %s: %s (the previous file, if any, is unchanged)", o->path, msg);
}

int evc_out_library(evc_out *o, const char *path, evc_lib_writer write, const void *ctx) {
  if (evc_out_open(o, path)) return 1;
  if (*o->tmp) {   /* the library writes our temporary file, we publish it */
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", o->tmp);
    if (write(o->tmp, ctx)) return library_failed(o, tmp);
    FILE *again = fopen(o->tmp, "r+");
    fclose(o->f);
    o->f = again;
    if (!again) return failed(o, errno);
    return evc_out_commit(o);
  }
  /* A device or pipe: write to a private temporary file, then copy. */
  const char *dir = getenv("TMPDIR");
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s/embedviz.XXXXXX", dir && *dir ? dir : "/tmp");
  int fd = mkstemp(tmp);
  if (fd < 0) return failed(o, errno);
  close(fd);
  if (write(tmp, ctx)) {
    int rc = library_failed(o, tmp);
    unlink(tmp);
    return rc;
  }
  int rc = copy_into(o, tmp);
  unlink(tmp);
  return rc ? 1 : evc_out_commit(o);
}
