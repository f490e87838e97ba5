/*
 * embedviz/core.h - version, status codes, error messages, threads and
 * progress callbacks shared by every libembedviz handle.
 *
 * Read this first; the capability headers (pca.h, knn.h, score.h, ...) build
 * on these conventions:
 *
 *  - Every call that can fail returns an ev_status. EV_OK (0) is success.
 *    On failure, ev_last_error() returns a message for people that says what
 *    was wrong and what to do. The message is per thread and stays until the
 *    next failing call on the same thread.
 *  - Handles are opaque. ev_X_create() makes one, ev_X_free() releases it;
 *    freeing NULL is a no-op. A handle is used by one thread at a time unless
 *    its header says otherwise; different handles are independent.
 *  - Settings are enum values set one at a time with ev_X_set(h, param, value)
 *    and read with ev_X_get(); ev_X_param_bounds() gives each setting's valid
 *    range. A value out of range is refused with EV_ERR_ARGUMENT and the
 *    handle keeps its previous value. New settings are new enum values, so
 *    the ABI never changes for them.
 *  - Matrices are row-major float: a pointer, a row count, a column count and
 *    a leading dimension (the distance in floats between the starts of two
 *    consecutive rows, ld >= cols), as in CBLAS with CblasRowMajor. A caller
 *    can so pass a view into a larger array without a copy.
 *  - Output buffers are owned by the caller. No pointer into a handle
 *    outlives the handle, and none is returned unless a header says so.
 *  - The library never prints, exits or aborts.
 */
#ifndef EMBEDVIZ_CORE_H
#define EMBEDVIZ_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EV_BUILDING_LIBRARY) && defined(__GNUC__)
#define EV_API __attribute__((visibility("default")))
#else
#define EV_API
#endif

/* ---- Version ------------------------------------------------------------ */

/* The one place the version is written: the Makefile's library file name
 * and the Python package's version are derived from these three lines
 * (tests/check-abi.sh checks they agree). A release that adds calls bumps
 * MINOR and adds a version node to lib/embedviz.map. */
#define EV_VERSION_MAJOR 1
#define EV_VERSION_MINOR 1
#define EV_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH, so 1.1.0 is 10100. */
#define EV_VERSION_NUMBER \
  (EV_VERSION_MAJOR * 10000 + EV_VERSION_MINOR * 100 + EV_VERSION_PATCH)
#define EV_VERSION_STR_(x) #x
#define EV_VERSION_STR(x) EV_VERSION_STR_(x)
/* "1.1.0" */
#define EV_VERSION_STRING                                      \
  EV_VERSION_STR(EV_VERSION_MAJOR) "." EV_VERSION_STR(EV_VERSION_MINOR) \
  "." EV_VERSION_STR(EV_VERSION_PATCH)

/* The version of the library actually loaded, which may be newer than the
 * header a program was compiled with (EV_VERSION_NUMBER). */
EV_API unsigned ev_version_number(void);
EV_API const char *ev_version_string(void);

/* ---- Status codes ----------------------------------------------------- */

typedef enum ev_status {
  EV_OK = 0,
  EV_ERR_ARGUMENT = 1,    /* NULL pointer, zero size, value out of range,
                             sizes that do not fit together */
  EV_ERR_NONFINITE = 2,   /* NaN or Inf in an input matrix */
  EV_ERR_OVERFLOW = 3,    /* sizes whose product does not fit in size_t */
  EV_ERR_NOMEM = 4,       /* an allocation failed */
  EV_ERR_STATE = 5,       /* call out of order, e.g. transform before fit */
  EV_ERR_CANCELLED = 6,   /* a progress callback asked to stop */
  EV_ERR_LIMIT = 7,       /* the work would pass a configured memory limit */
  EV_ERR_IO = 8,          /* a file or folder could not be read or written */
  EV_ERR_NOT_FOUND = 9,   /* a file, folder or named item does not exist */
  EV_ERR_FORMAT = 10,     /* a file or data is malformed, corrupt or truncated */
  EV_ERR_UNSUPPORTED = 11,/* not available in this build or on this machine */
  EV_ERR_BACKEND = 12,    /* the backend (libtorch) reported an error */
  EV_ERR_INTERNAL = 13    /* a bug in libembedviz: please report it */
} ev_status;

/* A short constant name for a status ("EV_ERR_ARGUMENT"); never NULL. */
EV_API const char *ev_status_name(int status);

/* The message of the last failure on the calling thread, or "" if none.
 * The pointer stays valid until the next libembedviz call on this thread. */
EV_API const char *ev_last_error(void);

/* The status of the last failure on the calling thread, or EV_OK. */
EV_API ev_status ev_last_status(void);

/* Forget the last failure on the calling thread. */
EV_API void ev_clear_error(void);

/* ---- Threads ------------------------------------------------------------ */

/* Each handle has a thread-count setting (EV_X_THREADS). 0 means
 * ev_default_threads(). The count covers the library's own OpenMP loops and
 * the BLAS calls they make together: no call uses more threads than that,
 * so two handles of 1 thread each on two application threads use two
 * cores. (OpenBLAS's OpenMP build, which `make deps` selects, honours the
 * count per calling thread; with its pthreads build the count is applied
 * process-wide for the duration of each call.) */
EV_API int ev_default_threads(void);

/* ---- Progress and cancellation ------------------------------------------ */

/* Stages reported to progress callbacks. */
typedef enum ev_stage {
  EV_STAGE_KNN = 1,          /* neighbour search: step = query rows done */
  EV_STAGE_PCA = 2,          /* PCA fit: step = solver steps done */
  EV_STAGE_AFFINITIES = 3,   /* t-SNE input affinities: step = rows done */
  EV_STAGE_EXAGGERATION = 4, /* t-SNE early exaggeration: step = iteration */
  EV_STAGE_OPTIMIZE = 5,     /* t-SNE main phase: step = iteration */
  EV_STAGE_EXTRACT = 6,      /* feature extraction: step = inputs done */
  EV_STAGE_READ = 7,         /* reading a data set: step = items read */
  EV_STAGE_SPECTRAL = 8,     /* UMAP spectral start: step = eigensolver
                                iterations (since 1.1) */
  EV_STAGE_EPOCHS = 9        /* UMAP optimisation: step = epoch (since 1.1) */
} ev_stage;

/* Called by long calls every so often, on the thread that made the call.
 * stage is an ev_stage; step of total is done; value is a stage's figure of
 * merit where it has one (t-SNE: the KL divergence, else NaN).
 * Return 0 to go on, non-zero to cancel: the call then returns
 * EV_ERR_CANCELLED, leaks nothing, and the handle stays usable. */
typedef int (*ev_progress_fn)(void *user_data, int stage, size_t step,
                              size_t total, double value);

#ifdef __cplusplus
}
#endif
#endif /* EMBEDVIZ_CORE_H */
