/*
 * cli.h - shared pieces of the embedviz command-line tool: matrices read
 * from and written to .npy/CSV, option parsing, progress on standard error,
 * stage timing, and the commands' entry points. The library steps the
 * commands share (PCA, t-SNE, neighbours, extraction) are in steps.h.
 *
 * The tool is a client of the public header only (embedviz.h): nothing here
 * reaches into lib/.
 */
#ifndef EVCLI_H
#define EVCLI_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "embedviz.h"

/* ---- matrices ----------------------------------------------------------- */

/* A dense row-major matrix as the tool holds it: float data or int64
 * labels/indices. A 1-D array is rows x 1. */
typedef struct evc_mat {
  size_t rows, cols;
  float *f;    /* float data (NULL for an integer matrix) */
  int64_t *i;  /* integer data (NULL for a float matrix) */
} evc_mat;

void evc_mat_free(evc_mat *m);
int evc_mat_alloc_f(evc_mat *m, size_t rows, size_t cols);
int evc_mat_alloc_i(evc_mat *m, size_t rows, size_t cols);

/* Read a .npy file (float32/64, int8..int64, uint8..uint64, C order, 1-D or
 * N-D flattened to rows x prod(rest)). as_int: 0 -> float, 1 -> integers.
 * Returns 0 or prints "embedviz: <path>: <what is wrong>" and returns -1. */
int evc_npy_read(const char *path, int as_int, evc_mat *out);
/* Write float32 (m->f) or int64 (m->i) .npy; 1-D when one_d. */
int evc_npy_write(const char *path, const evc_mat *m, int one_d);
/* Write a matrix as CSV with an optional header line. */
int evc_csv_write(const char *path, const evc_mat *m, const char *header);
/* Read a matrix from .npy or, by extension, .csv (numbers, comma-separated,
 * an optional non-numeric header line). */
int evc_read_any(const char *path, int as_int, evc_mat *out);
/* Write by extension: .csv as CSV, anything else as .npy. */
int evc_write_any(const char *path, const evc_mat *m, int one_d,
                  const char *csv_header);

/* ---- files the tool writes (outfile.c) ------------------------------------ */

/* Every output goes to a temporary file beside the target, is fsync'ed and
 * renamed over it: an error leaves the previous file byte for byte and
 * removes only the temporary file. A target that is a device or pipe
 * (/dev/null, /dev/full, a FIFO) is written in place, never removed. */
typedef struct evc_out {
  const char *path;      /* the target as the user gave it */
  char real[PATH_MAX];   /* the file written (a link's target) */
  char tmp[PATH_MAX];    /* the temporary file ("" when writing in place) */
  FILE *f;               /* write here */
} evc_out;

/* Before any long work: can path be written (its folder exists and takes a
 * new file; it is not a folder)? 0, or 1 with the message printed. */
int evc_out_check(const char *path);
/* Start writing path: o->f is open. 0 or 1 (message printed). */
int evc_out_open(evc_out *o, const char *path);
/* Check every write, fsync, close, rename over the target. On any failure
 * the temporary file is removed, the target untouched. 0 or 1 (message). */
int evc_out_commit(evc_out *o);
/* Give up: remove the temporary file; the target is untouched. */
void evc_out_abort(evc_out *o);
/* evc_out_check on each non-NULL path of a list: EVC_OUTS_CHECK(a, b, c). */
int evc_outs_check(const char *const *paths, size_t n);
#define EVC_OUTS_CHECK(...) \
  evc_outs_check((const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))
/* A whole buffer to path, as above. 0 or 1. */
int evc_write_file(const char *path, const void *data, size_t len);
/* For files a library call writes by path: write(tmp, ctx) writes the
 * temporary file (0, or 1 with the library's message in ev_last_error),
 * then it is published as above. 0 or 1 (message printed). */
typedef int (*evc_lib_writer)(const char *tmp, const void *ctx);
int evc_out_library(evc_out *o, const char *path, evc_lib_writer write, const void *ctx);

/* ---- messages, options, progress ----------------------------------------- */

extern int evc_quiet;                 /* --quiet: no progress, no timings */

/* "embedviz: " + message on stderr; returns 1 (the failure exit status). */
int evc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a failed library call: what the tool was doing + the library's
 * message and status name. Returns 1. */
int evc_lib_err(const char *doing, ev_status st);
/* Informational line on stderr unless --quiet. */
void evc_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Option helpers: parse a number strictly; print what was wrong. */
int evc_parse_long(const char *opt, const char *s, long lo, long hi, long *out);
int evc_parse_double(const char *opt, const char *s, double lo, double hi,
                     double *out);
/* "a,b,c" (one number per channel; one number: all three) into out, each
 * within [lo, hi]. 0, or 1 with the message printed. */
int evc_parse_three(const char *opt, const char *s, double lo, double hi, double out[3]);
/* A progress callback for the library: a bar on a terminal, plain lines
 * otherwise, nothing with --quiet. user_data: a const char * label. */
int evc_progress(void *user_data, int stage, size_t step, size_t total,
                 double value);
/* Set by a command's SIGINT handler (Ctrl-C): evc_progress then cancels
 * the library call in progress. */
#include <signal.h>
extern volatile sig_atomic_t evc_interrupted;
/* Close a progress bar line (newline) if one is open. */
void evc_progress_done(void);

/* Wall-clock seconds since an arbitrary start. */
double evc_now(void);

/* ---- commands ------------------------------------------------------------ */

typedef struct evc_command {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
} evc_command;

int evc_cmd_pca(int argc, char **argv);
int evc_cmd_knn(int argc, char **argv);
int evc_cmd_ambiguity(int argc, char **argv);
int evc_cmd_confusion(int argc, char **argv);
int evc_cmd_plot(int argc, char **argv);
int evc_cmd_tsne(int argc, char **argv);
int evc_cmd_umap(int argc, char **argv); /* cmd_umap.c */
int evc_cmd_extract(int argc, char **argv);
int evc_cmd_report(int argc, char **argv);

/* A command whose capability is not available here (extraction: not
 * built, backend module not installed or of another version): --help says
 * so (status 0), anything else fails with a message (status 1); both give
 * the library's reason, ev_last_error(). */
int evc_unavailable(int argc, char **argv, const char *command, const char *capability);

/* Class names of Fashion-MNIST, used when no --classes file is given and
 * there are 10 classes. */
extern const char *const evc_fashion_classes[10];
/* Read class names, one a line; returns the count or -1. names[i] are
 * malloc'ed. */
int evc_read_class_names(const char *path, char ***names);

#endif
