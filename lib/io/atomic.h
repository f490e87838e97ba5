/* Writing a file so that an error never costs the caller the file they had
 * (SQLite's standard): the bytes go to a new temporary file in the target's
 * folder, every write is checked, then fflush, fsync and close (checked),
 * then rename over the target. On any failure only the temporary file,
 * which this code created, is removed; the target is never unlinked.
 *
 *   ev__atomic_file af;
 *   ev_status st = ev__atomic_open(&af, path);
 *   if (st) return st;
 *   ev__atomic_write(&af, header, hlen);      // failures are sticky:
 *   ev__atomic_write(&af, data, len);         // later writes do nothing
 *   return ev__atomic_commit(&af);            // or ev__atomic_abort(&af)
 *
 * Targets: a missing path or a regular file (a symbolic link is followed
 * and the file it names replaced, so the link stays). Anything else (a
 * folder, a device such as /dev/full, a FIFO, a socket) is refused with
 * EV_ERR_IO before anything is written. The new file gets the old file's
 * permission bits, or 0666 minus the umask for a new one. Messages name
 * the target, never the temporary file. Not for concurrent writers of one
 * path: the last rename wins, each file whole. */
#ifndef EV_LIB_IO_ATOMIC_H
#define EV_LIB_IO_ATOMIC_H

#include <stdio.h>

#include "core/core.h"

typedef struct ev__atomic_file {
  FILE *f;
  char *target; /* where the file goes (a link resolved) */
  char *tmp;    /* the temporary file beside it */
  const char *name; /* the caller's path, for messages */
  ev_status st;     /* the first failure, EV_OK so far */
} ev__atomic_file;

/* Create the temporary file. EV_ERR_ARGUMENT (path NULL or empty),
 * EV_ERR_NOT_FOUND (the folder does not exist), EV_ERR_IO (not a regular
 * file, folder not writable, ...), EV_ERR_NOMEM. Nothing to release on
 * failure. */
ev_status ev__atomic_open(ev__atomic_file *af, const char *path);
/* Append len bytes. Returns the file's status: the first failure stays,
 * and writes after it do nothing. */
ev_status ev__atomic_write(ev__atomic_file *af, const void *data, size_t len);
/* Record a failure found by the caller (e.g. a bad argument found late),
 * so that commit aborts. Returns st. */
ev_status ev__atomic_fail(ev__atomic_file *af, ev_status st);
/* Flush, fsync, close and rename over the target; on any failure (also an
 * earlier one) remove the temporary file and return the first failure.
 * Releases af in every case. */
ev_status ev__atomic_commit(ev__atomic_file *af);
/* Give up: remove the temporary file, release af. */
void ev__atomic_abort(ev__atomic_file *af);

/* Tests only (hidden, reachable through libembedviz.a): make step number
 * `n` (0-based from this call) of every atomic write fail with ENOSPC, a
 * step being one write of data, the flush, the fsync, the close or the
 * rename; n < 0 turns it off. ev__test_atomic_steps gives the steps made
 * since the last call to ev__test_fail_atomic_step. */
void ev__test_fail_atomic_step(long n);
long ev__test_atomic_steps(void);

#endif
