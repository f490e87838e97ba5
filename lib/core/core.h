/* Private core of libembedviz: errors, allocation, size checks, threads and
 * settings tables. Every room includes this; nothing here is exported. */
#ifndef EV_LIB_CORE_H
#define EV_LIB_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "embedviz/core.h"

#if defined(__GNUC__)
#define EV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define EV_NODISCARD __attribute__((warn_unused_result))
#else
#define EV_PRINTF(a, b)
#define EV_NODISCARD
#endif

/* An AVX2 version of a kernel beside the default one, picked at load time
 * by an IFUNC resolver. Not under ThreadSanitizer: its instrumented
 * resolver would run before the sanitizer's runtime is up. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && \
    !defined(__SANITIZE_THREAD__)
#define EV_CLONES __attribute__((target_clones("avx2", "default")))
/* ... and an AVX-512 one (32 vector registers), for kernels that keep
 * many accumulators */
#define EV_CLONES512 \
  __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define EV_CLONES
#define EV_CLONES512
#endif

/* ---- errors ---- */

/* Record status and a printf-style message for the calling thread and
 * return status, so a failure is one line: return ev__fail(...). */
ev_status ev__fail(ev_status status, const char *fmt, ...) EV_PRINTF(2, 3);
ev_status ev__vfail(ev_status status, const char *fmt, va_list ap);
/* Out-of-memory failure with a message naming what was being allocated. */
ev_status ev__nomem(const char *what, size_t bytes);
/* The same with the caller's advice in place of "process fewer rows at a
 * time", for memory that does not grow with the rows. */
ev_status ev__nomem_advice(const char *what, size_t bytes,
                           const char *advice);

/* Refuse a NULL argument (as libgit2's GIT_ASSERT_ARG): when `null` holds,
 * return EV_ERR_ARGUMENT with the message "<what> is NULL: <advice>".
 * what and advice are string literals (printf formats whose arguments
 * follow, in order); the advice says what to pass instead. Use inside a
 * function that returns ev_status:
 *   EV__ARG_NULL_IF(!ds || !n, "data set or n", "pass a data set ...");
 *   EV__ARG_NOT_NULL(out, "pass the address of an ev_pca pointer");
 * The second names the argument as it is written. */
#define EV__ARG_NULL_IF(null, what, ...)                                \
  do {                                                                  \
    if (null)                                                           \
      return ev__fail(EV_ERR_ARGUMENT, what " is NULL: " __VA_ARGS__); \
  } while (0)
#define EV__ARG_NOT_NULL(arg, ...) EV__ARG_NULL_IF(!(arg), #arg, __VA_ARGS__)

/* ---- allocation: every allocation of the library goes through these, so
 * the test hook (lib/core/testhook.h) can make any of them fail. ---- */
void *ev__malloc(size_t bytes);
void *ev__calloc(size_t count, size_t size);
void *ev__realloc(void *p, size_t bytes);
void ev__free(void *p);
/* 64-byte aligned allocation for hot buffers; release with ev__free_aligned. */
void *ev__malloc_aligned(size_t bytes);
void ev__free_aligned(void *p);

/* An allocation point for memory another library allocates for us
 * (libtorch's tensors and graphs): false when the test hook makes this
 * allocation number fail, so the caller can act as if that library ran
 * out of memory (the extraction shim throws std::bad_alloc). Costs one
 * atomic increment. */
bool ev__alloc_probe(void);

/* Duplicate a string with ev__malloc (NULL on failure). */
char *ev__strdup(const char *s);

/* ---- sizes ---- */
/* *out = a * b; false (and *out untouched) on overflow. */
static inline bool ev__mul(size_t a, size_t b, size_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline bool ev__mul3(size_t a, size_t b, size_t c, size_t *out) {
  size_t t;
  return ev__mul(a, b, &t) && ev__mul(t, c, out);
}
static inline bool ev__add(size_t a, size_t b, size_t *out) {
  return !__builtin_add_overflow(a, b, out);
}

/* Bytes for rows x cols elements of elem bytes, failing with EV_ERR_OVERFLOW
 * and a message naming `what` when it does not fit. */
ev_status ev__bytes(const char *what, size_t rows, size_t cols, size_t elem,
                    size_t *bytes);

/* Check a caller's matrix argument: non-NULL data, rows >= 1, cols >= 1,
 * ld >= cols, (rows - 1) * ld + cols addressable. `name` names the argument
 * in the message ("x", "queries"). */
ev_status ev__check_matrix(const char *name, const float *data, size_t rows,
                           size_t cols, size_t ld);
/* As above for an output matrix. */
ev_status ev__check_out_matrix(const char *name, const float *data,
                               size_t rows, size_t cols, size_t ld);
/* EV_ERR_NONFINITE, naming the first row and column with NaN or Inf. */
ev_status ev__check_finite(const char *name, const float *data, size_t rows,
                           size_t cols, size_t ld);

/* A packed copy (n x dims, caller frees with ev__free) of the caller's
 * matrix y (leading dimension ld), checked as ev__check_matrix and
 * ev__check_finite do; `what` names the copy in an out-of-memory message. */
ev_status ev__packed_copy(const char *name, const char *what, const float *y,
                          size_t n, size_t dims, size_t ld, float **out);

/* Copy a sparse n-row matrix (row_ptr, col, and val or, when val is
 * NULL, fval) out to the caller's arrays as float values, or with all
 * three NULL report its size in *nnz: the contract of ev_tsne_affinities and ev_umap_graph. `have` says what
 * holds the entries, for the message: "the affinities have". */
ev_status ev__sparse_out(size_t n, const size_t *row_ptr, const uint32_t *col,
                         const double *val, const float *fval, const char *have,
                         size_t *row_ptr_out, int64_t *col_idx,
                         float *values, size_t *nnz);

/* What ev__probability_rows finds wrong first, row by row. */
typedef enum ev__prob_defect {
  EV__PROB_OK,
  EV__PROB_NEGATIVE, /* a value below 0, at (*row, *col) */
  EV__PROB_SUM       /* row *row sums to *sum: not positive (tol < 0), or
                        farther than tol from 1 */
} ev__prob_defect;
/* The one rule for rows of class probabilities (n x c, leading dimension
 * ld), summed in double: ev_ambiguity accepts any positive sum (tol < 0),
 * the quality handle a sum within tol of 1. Each caller words its message. */
ev__prob_defect ev__probability_rows(const float *x, size_t n, size_t c,
                                     size_t ld, double tol, size_t *row,
                                     size_t *col, double *sum);

/* ---- threads ---- */
/* The number of threads a setting of n means (0: ev_default_threads()). */
int ev__resolve_threads(int n);

/* Scope in which OpenMP loops and BLAS calls on this thread use n threads.
 * Begin at the start of a public call and end before every return. */
typedef struct ev__threads {
  int saved_omp;
  int saved_blas;
} ev__threads;
void ev__threads_begin(ev__threads *scope, int n);
void ev__threads_end(const ev__threads *scope);

/* ---- settings tables ----
 * Each handle describes its settings in one table: bounds, default and
 * where the handle keeps the value. Creation, ev_X_set, ev_X_get,
 * ev_X_param_bounds and ev_X_param_default all read that table, so a
 * setting's default and range are written once. A table is made from a
 * list macro, LIST(X) = X(id, lower, upper, whole, default) ..., which also
 * gives EV__SETTINGS_COVER its proof that the table covers the enum. */

/* The type of the field a setting is stored in. */
typedef enum ev__slot_type {
  EV__SLOT_NONE,   /* not stored: read-only, the handle's code reports it */
  EV__SLOT_DOUBLE,
  EV__SLOT_INT,
  EV__SLOT_SIZE,   /* size_t */
  EV__SLOT_U64     /* uint64_t */
} ev__slot_type;

typedef struct ev__param_spec {
  int id;
  const char *name;   /* the enum constant's name, for messages */
  double lower, upper;
  bool integer;       /* the value must be a whole number */
  double fallback;    /* the default */
  size_t offset;      /* of the field in the handle */
  ev__slot_type slot;
} ev__param_spec;

/* One table entry from a list entry, for a handle of type T whose setting
 * `id` lives in field `field` of slot type `slot`. */
#define EV__SPEC(T, field, slot, id, lo, hi, whole, def) \
  {id, #id, lo, hi, whole, def, offsetof(T, field), slot}

/* Compile-time proof that LIST names every value of enum type E, each
 * once, and nothing else: a switch with one case per entry and no default
 * fails the build (-Wswitch, made an error here) when E gains a value the
 * list lacks, and a repeated entry is a duplicate case. */
#define EV__CASE(id, ...) case id:
#define EV__SETTINGS_COVER(E, LIST)                                   \
  _Pragma("GCC diagnostic push")                                      \
  _Pragma("GCC diagnostic error \"-Wswitch\"")                        \
  static inline int ev__covers_##E(E p) {                             \
    switch (p) { LIST(EV__CASE) return 1; }                           \
    return 0;                                                         \
  }                                                                   \
  _Pragma("GCC diagnostic pop")
/* How many entries LIST has (an integer constant expression). */
#define EV__PLUS_ONE(...) +1
#define EV__COUNT(LIST) (0 LIST(EV__PLUS_ONE))

/* A new zeroed handle of `size` bytes with every setting of `table` at its
 * default; NULL when out of memory. */
void *ev__param_new(size_t size, const ev__param_spec *table, size_t n);

/* The four settings calls of a handle type T whose settings are of enum
 * type P and described by the array `table`: ev_<prefix>_set, _get,
 * _param_bounds and _param_default. `need` is a function refusing a NULL
 * handle (EV_OK otherwise); `what` names the handle in messages ("TSNE").
 * For handles whose calls add nothing of their own (read-only settings
 * answered by the handle's code write their own set and get). */
#define EV__SETTINGS_CALLS(prefix, T, P, table, what, need)                 \
  ev_status ev_##prefix##_set(T *h, P param, double value) {                \
    ev_status st = need(h);                                                 \
    if (st) return st;                                                      \
    return ev__param_set(table, sizeof table / sizeof table[0], h, param,   \
                         value, what);                                      \
  }                                                                         \
  ev_status ev_##prefix##_get(const T *h, P param, double *value) {         \
    ev_status st = need(h);                                                 \
    if (st) return st;                                                      \
    EV__ARG_NOT_NULL(value, "pass the address of a double");                \
    return ev__param_get(table, sizeof table / sizeof table[0], h, param,   \
                         value, what);                                      \
  }                                                                         \
  ev_status ev_##prefix##_param_bounds(P param, double *lower,              \
                                       double *upper) {                     \
    return ev__param_bounds(table, sizeof table / sizeof table[0], param,   \
                            what, lower, upper);                            \
  }                                                                         \
  ev_status ev_##prefix##_param_default(P param, double *value) {           \
    return ev__param_default(table, sizeof table / sizeof table[0], param,  \
                             what, value);                                  \
  }

/* Find the spec of `id` in a table; NULL if none. */
const ev__param_spec *ev__param_find(const ev__param_spec *table, size_t n,
                                     int id);
/* Check `value` against the spec of `id`: EV_ERR_ARGUMENT with a message
 * giving the valid range, or naming the unknown id with `what` ("PCA"). */
ev_status ev__param_check(const ev__param_spec *table, size_t n, int id,
                          double value, const char *what);
ev_status ev__param_bounds(const ev__param_spec *table, size_t n, int id,
                           const char *what, double *lower, double *upper);
/* The default of `id` into *out (EV_ERR_ARGUMENT for an unknown id or a
 * NULL out). */
ev_status ev__param_default(const ev__param_spec *table, size_t n, int id,
                            const char *what, double *out);
/* Store every setting's default in `handle`. */
void ev__param_defaults(const ev__param_spec *table, size_t n, void *handle);
/* Check and store a value (EV_ERR_ARGUMENT, handle unchanged, when it is
 * out of range, the id unknown or the setting read-only). */
ev_status ev__param_set(const ev__param_spec *table, size_t n, void *handle,
                        int id, double value, const char *what);
/* Read a stored value (EV_ERR_ARGUMENT for an unknown id; a read-only
 * setting is the caller's to report). */
ev_status ev__param_get(const ev__param_spec *table, size_t n,
                        const void *handle, int id, double *value,
                        const char *what);

/* ---- progress ---- */
/* Call cb if set; EV_ERR_CANCELLED (with a message naming the stage) when it
 * asks to stop, EV_OK otherwise. */
ev_status ev__progress(ev_progress_fn cb, void *user, int stage, size_t step,
                       size_t total, double value);

#endif
