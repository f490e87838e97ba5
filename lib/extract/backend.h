/* The contract between libembedviz and its extraction backend module
 * (libembedviz-torch.so, built from the C++ files of lib/extract, zipcheck.c and
 * module/host.c):
 * plain C, shared by the loader (lib/extract/loader.c, in the library) and
 * the module (lib/extract/backend.cpp, lib/extract/module/host.c).
 *
 * The module exports one symbol, EV__BACKEND_ENTRY. The library calls it
 * once with its host table (the library's error, allocation, checking and
 * data set functions, which the module uses instead of its own so that
 * ev_last_error(), the allocation-failure test hook and the threads scope
 * stay the library's); it returns the module's table of extraction
 * functions, or NULL when it refuses this library. Both sides check the
 * other's abi and version: a table is used only when abi, size and the
 * library version (EV_VERSION_STRING) match exactly, since the module is
 * built together with one library version.
 *
 * The first three fields of both tables (abi, size, version) never move,
 * so a module or library of any version can read them and say what is
 * wrong. Change EV__BACKEND_ABI whenever a table changes. */
#ifndef EV_LIB_EXTRACT_BACKEND_H
#define EV_LIB_EXTRACT_BACKEND_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "embedviz/extract.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EV__BACKEND_ABI 2 /* 2: model_layer_kind (1.1) */
/* The module's file name, looked for in the folders docs/extract.md lists. */
#define EV__BACKEND_FILE "libembedviz-torch.so"
/* The environment variable naming the one folder to look in instead. */
#define EV__BACKEND_ENV "EMBEDVIZ_BACKEND_DIR"
#define EV__BACKEND_ENTRY_NAME "ev_backend_entry_v1"

/* What the library gives the module. */
typedef struct ev__backend_host {
  uint32_t abi;        /* EV__BACKEND_ABI of the library */
  uint32_t size;       /* sizeof(ev__backend_host) */
  const char *version; /* EV_VERSION_STRING of the library */
  ev_status (*vfail)(ev_status status, const char *fmt, va_list ap);
  ev_status (*nomem)(const char *what, size_t bytes);
  void *(*malloc_)(size_t bytes);
  void (*free_)(void *p);
  bool (*alloc_probe)(void);
  ev_status (*bytes)(const char *what, size_t rows, size_t cols, size_t elem,
                     size_t *bytes);
  ev_status (*check_matrix)(const char *name, const float *data, size_t rows,
                            size_t cols, size_t ld);
  ev_status (*check_finite)(const char *name, const float *data, size_t rows,
                            size_t cols, size_t ld);
  ev_status (*param_check)(const ev__param_spec *table, size_t n, int id,
                           double value, const char *what);
  ev_status (*param_bounds)(const ev__param_spec *table, size_t n, int id,
                            const char *what, double *lower, double *upper);
  ev_status (*param_default)(const ev__param_spec *table, size_t n, int id,
                             const char *what, double *out);
  void (*param_defaults)(const ev__param_spec *table, size_t n, void *handle);
  ev_status (*param_set)(const ev__param_spec *table, size_t n, void *handle,
                         int id, double value, const char *what);
  ev_status (*param_get)(const ev__param_spec *table, size_t n,
                         const void *handle, int id, double *value,
                         const char *what);
  ev_status (*progress)(ev_progress_fn cb, void *user, int stage, size_t step,
                        size_t total, double value);
  void (*threads_begin)(ev__threads *scope, int n);
  void (*threads_end)(const ev__threads *scope);
  const char *(*last_error)(void);
  ev_status (*last_status)(void);
  ev_status (*dataset_count)(const ev_dataset *ds, size_t *n);
  ev_status (*dataset_item_shape)(const ev_dataset *ds, size_t *c, size_t *h,
                                  size_t *w);
  ev_status (*dataset_read)(ev_dataset *ds, size_t first, size_t count,
                            float *out, size_t ld);
} ev__backend_host;

/* What the module gives the library: the extraction API of
 * embedviz/extract.h, call for call. */
typedef struct ev__backend {
  uint32_t abi;        /* EV__BACKEND_ABI of the module */
  uint32_t size;       /* sizeof(ev__backend) */
  const char *version; /* EV_VERSION_STRING the module was built for */
  int (*cuda_available)(void);
  ev_status (*model_load)(const char *path, int device, ev_model **out);
  void (*model_free)(ev_model *model);
  ev_status (*model_n_layers)(const ev_model *model, size_t *n);
  ev_status (*model_layer_name)(const ev_model *model, size_t i,
                                const char **name);
  ev_status (*extractor_create)(const ev_model *model, ev_extractor **out);
  void (*extractor_free)(ev_extractor *ex);
  ev_status (*extractor_set)(ev_extractor *ex, ev_extract_param param,
                             double value);
  ev_status (*extractor_get)(const ev_extractor *ex, ev_extract_param param,
                             double *value);
  ev_status (*extractor_param_bounds)(ev_extract_param param, double *lower,
                                      double *upper);
  ev_status (*extractor_param_default)(ev_extract_param param,
                                       double *value);
  ev_status (*extractor_set_progress)(ev_extractor *ex, ev_progress_fn fn,
                                      void *user_data);
  ev_status (*extractor_add_layer)(ev_extractor *ex, const char *name);
  ev_status (*extractor_n_layers)(const ev_extractor *ex, size_t *n);
  ev_status (*extractor_prepare)(ev_extractor *ex, size_t c, size_t h,
                                 size_t w);
  ev_status (*extractor_layer_cols)(const ev_extractor *ex, size_t layer,
                                    size_t *cols);
  ev_status (*extractor_layer_shape)(const ev_extractor *ex, size_t layer,
                                     size_t dims[8], size_t *ndim);
  ev_status (*extractor_run)(ev_extractor *ex, const float *x, size_t n,
                             size_t c, size_t h, size_t w, size_t ldx,
                             float *const *out, const size_t *ld);
  ev_status (*extractor_run_dataset)(ev_extractor *ex, ev_dataset *ds,
                                     float *const *out, const size_t *ld);
  ev_status (*model_layer_kind)(const ev_model *model, size_t i,
                                const char **kind);
} ev__backend;

/* The entry point's type. It must not call the host before it has checked
 * host->abi, host->size and host->version. */
typedef const ev__backend *(*ev__backend_entry_fn)(const ev__backend_host *);

/* Defined by lib/extract/backend.cpp. Declared weak in the loader: a
 * program that links the module's objects in (the fuzz harness) uses it
 * without dlopen. */
const ev__backend *ev_backend_entry_v1(const ev__backend_host *host);

#ifdef __cplusplus
}
#endif
#endif
