/* The extraction API of embedviz/extract.h, in the library: each call
 * loads the libtorch backend module (libembedviz-torch.so, see
 * lib/extract/backend.h and docs/extract.md) the first time extraction is
 * used, once per process, and forwards to it. When the module cannot be
 * loaded every call returns EV_ERR_UNSUPPORTED with the reason (not
 * installed, libtorch missing, another version), and the library never
 * loads libtorch for programs that do not extract. */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "extract/backend.h"
#include "embedviz/io.h"

/* The installed module's folder, $(LIBDIR)/embedviz, set by the Makefile. */
#ifndef EV_BACKEND_DIR
#define EV_BACKEND_DIR "/usr/local/lib/embedviz"
#endif
/* 0: built with WITH_TORCH=0, so no module was built with this library. */
#ifndef EV_WITH_TORCH
#define EV_WITH_TORCH 1
#endif

/* Linked in only when a program links the module's objects itself. */
#pragma weak ev_backend_entry_v1

static const ev__backend_host host = {
    EV__BACKEND_ABI,
    sizeof(ev__backend_host),
    EV_VERSION_STRING,
    ev__vfail,
    ev__nomem,
    ev__malloc,
    ev__free,
    ev__alloc_probe,
    ev__bytes,
    ev__check_matrix,
    ev__check_finite,
    ev__param_check,
    ev__param_bounds,
    ev__param_default,
    ev__param_defaults,
    ev__param_set,
    ev__param_get,
    ev__progress,
    ev__threads_begin,
    ev__threads_end,
    ev_last_error,
    ev_last_status,
    ev_dataset_count,
    ev_dataset_item_shape,
    ev_dataset_read,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const ev__backend *backend;  /* written once, under `once` */
static char why[1024];              /* why backend is NULL */

/* The folder of the library (or of the program it is linked into). */
static int own_folder(char *dir, size_t cap) {
  Dl_info info;
  char path[PATH_MAX];
  const char *p = NULL;
  if (dladdr((void *)own_folder, &info) && info.dli_fname &&
      strchr(info.dli_fname, '/') && realpath(info.dli_fname, path))
    p = path;
  if (!p) {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = '\0';
    p = path;
  }
  const char *slash = strrchr(p, '/');
  size_t len = (size_t)(slash - p);
  if (len + 1 > cap) return 0;
  memcpy(dir, p, len);
  dir[len] = '\0';
  return 1;
}

/* Check the module's table; NULL with `why` set when it is not for us. */
static const ev__backend *accept_table(const char *path, void *handle,
                                       ev__backend_entry_fn entry) {
  const ev__backend *t = entry(&host);
  if (!t) {
    snprintf(why, sizeof why, "the libtorch backend %s refused this "
             "libembedviz %s (backend ABI %d): it was built for another "
             "version of libembedviz; install the module built with this "
             "library (make install)", path, EV_VERSION_STRING,
             EV__BACKEND_ABI);
    return NULL;
  }
  if (t->abi != EV__BACKEND_ABI || t->size != sizeof(ev__backend) ||
      !t->version || strcmp(t->version, EV_VERSION_STRING) != 0) {
    snprintf(why, sizeof why, "the libtorch backend %s is for libembedviz "
             "%.32s (backend ABI %u), this library is %s (backend ABI %d): "
             "install the module built with this library (make install)",
             path, t->version ? t->version : "?", (unsigned)t->abi,
             EV_VERSION_STRING, EV__BACKEND_ABI);
    return NULL;
  }
  (void)handle; /* never closed: libtorch cannot be unloaded safely */
  return t;
}

/* Load the module at path (which exists). */
static const ev__backend *load_file(const char *path) {
  /* RTLD_LOCAL: libtorch's symbols stay out of the program's namespace. */
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    snprintf(why, sizeof why, "cannot load the libtorch backend %s: %s "
             "(is libtorch installed? on Debian: apt-get install "
             "libtorch-dev)", path, e ? e : "unknown error");
    return NULL;
  }
  dlerror();
  ev__backend_entry_fn entry =
      (ev__backend_entry_fn)dlsym(h, EV__BACKEND_ENTRY_NAME);
  if (!entry) {
    snprintf(why, sizeof why, "%s is not a libembedviz backend module: it "
             "has no %s; reinstall libembedviz", path,
             EV__BACKEND_ENTRY_NAME);
    return NULL;
  }
  return accept_table(path, h, entry);
}

static void load_once(void) {
  if (ev_backend_entry_v1) { /* the module's objects are linked in */
    backend = accept_table("linked into this program", NULL,
                           ev_backend_entry_v1);
    return;
  }
  char path[PATH_MAX + 64];
  const char *env = getenv(EV__BACKEND_ENV);
  if (env && *env) {
    snprintf(path, sizeof path, "%s/%s", env, EV__BACKEND_FILE);
    if (access(path, F_OK) == 0) {
      backend = load_file(path);
    } else {
      snprintf(why, sizeof why, "extraction needs the libtorch backend "
               "module, and %s=%s has no %s: point %s at the folder that "
               "has it, or unset it to use the installed one",
               EV__BACKEND_ENV, env, EV__BACKEND_FILE, EV__BACKEND_ENV);
    }
    return;
  }
  /* Beside the library (build tree, Python package), in its embedviz/
   * subfolder (installed), then in the folder given at build time. */
  char own[PATH_MAX], dirs[3][PATH_MAX + 16];
  int n = 0;
  if (own_folder(own, sizeof own)) {
    snprintf(dirs[n++], sizeof dirs[0], "%s", own);
    snprintf(dirs[n++], sizeof dirs[0], "%s/embedviz", own);
  }
  if (n == 0 || (strcmp(dirs[0], EV_BACKEND_DIR) != 0 &&
                 strcmp(dirs[1], EV_BACKEND_DIR) != 0))
    snprintf(dirs[n++], sizeof dirs[0], "%s", EV_BACKEND_DIR);
  for (int i = 0; i < n; i++) {
    if (snprintf(path, sizeof path, "%s/%s", dirs[i], EV__BACKEND_FILE) >=
        (int)sizeof path)
      continue;
    if (access(path, F_OK) == 0) {
      backend = load_file(path);
      return;
    }
  }
  if (!EV_WITH_TORCH) {
    snprintf(why, sizeof why, "this libembedviz was built without libtorch: "
             "rebuild with libtorch-dev installed");
    return;
  }
  int len = snprintf(why, sizeof why, "extraction needs the libtorch "
                     "backend module %s, which is not installed: looked in ",
                     EV__BACKEND_FILE);
  for (int i = 0; i < n && len >= 0 && (size_t)len < sizeof why; i++)
    len += snprintf(why + len, sizeof why - (size_t)len, "%s%s",
                    i == 0 ? "" : i + 1 == n ? " and " : ", ", dirs[i]);
  if (len >= 0 && (size_t)len < sizeof why)
    snprintf(why + len, sizeof why - (size_t)len, ". Build libembedviz "
             "with libtorch-dev installed and install it (make install), "
             "or set %s to the folder that has it", EV__BACKEND_ENV);
}

/* The backend, or NULL with EV_ERR_UNSUPPORTED and the reason recorded. */
static const ev__backend *get(void) {
  pthread_once(&once, load_once);
  if (!backend) ev__fail(EV_ERR_UNSUPPORTED, "%s", why);
  return backend;
}

#define CALL(expr)                                                        \
  do {                                                                    \
    const ev__backend *be = get();                                        \
    if (!be) return EV_ERR_UNSUPPORTED;                                   \
    return be->expr;                                                      \
  } while (0)

int ev_extract_available(void) { return get() != NULL; }

int ev_cuda_available(void) {
  const ev__backend *be = get();
  return be ? be->cuda_available() : 0;
}

ev_status ev_model_load(const char *path, int device, ev_model **out) {
  if (out) *out = NULL;
  CALL(model_load(path, device, out));
}

/* A model or extractor exists only when the backend is loaded. */
void ev_model_free(ev_model *model) {
  if (model && backend) backend->model_free(model);
}
ev_status ev_model_n_layers(const ev_model *model, size_t *n) {
  CALL(model_n_layers(model, n));
}
ev_status ev_model_layer_name(const ev_model *model, size_t i,
                              const char **name) {
  CALL(model_layer_name(model, i, name));
}
ev_status ev_model_layer_kind(const ev_model *model, size_t i,
                              const char **kind) {
  CALL(model_layer_kind(model, i, kind));
}
ev_status ev_extractor_create(const ev_model *model, ev_extractor **out) {
  if (out) *out = NULL;
  CALL(extractor_create(model, out));
}
void ev_extractor_free(ev_extractor *ex) {
  if (ex && backend) backend->extractor_free(ex);
}
ev_status ev_extractor_set(ev_extractor *ex, ev_extract_param param,
                           double value) {
  CALL(extractor_set(ex, param, value));
}
ev_status ev_extractor_get(const ev_extractor *ex, ev_extract_param param,
                           double *value) {
  CALL(extractor_get(ex, param, value));
}
ev_status ev_extractor_param_bounds(ev_extract_param param, double *lower,
                                    double *upper) {
  CALL(extractor_param_bounds(param, lower, upper));
}
ev_status ev_extractor_param_default(ev_extract_param param, double *value) {
  CALL(extractor_param_default(param, value));
}
ev_status ev_extractor_set_progress(ev_extractor *ex, ev_progress_fn fn,
                                    void *user_data) {
  CALL(extractor_set_progress(ex, fn, user_data));
}
ev_status ev_extractor_add_layer(ev_extractor *ex, const char *name) {
  CALL(extractor_add_layer(ex, name));
}
ev_status ev_extractor_n_layers(const ev_extractor *ex, size_t *n) {
  CALL(extractor_n_layers(ex, n));
}
ev_status ev_extractor_prepare(ev_extractor *ex, size_t c, size_t h,
                               size_t w) {
  CALL(extractor_prepare(ex, c, h, w));
}
ev_status ev_extractor_layer_cols(const ev_extractor *ex, size_t layer,
                                  size_t *cols) {
  CALL(extractor_layer_cols(ex, layer, cols));
}
ev_status ev_extractor_layer_shape(const ev_extractor *ex, size_t layer,
                                   size_t dims[8], size_t *ndim) {
  CALL(extractor_layer_shape(ex, layer, dims, ndim));
}
ev_status ev_extractor_run(ev_extractor *ex, const float *x, size_t n,
                           size_t c, size_t h, size_t w, size_t ldx,
                           float *const *out, const size_t *ld) {
  CALL(extractor_run(ex, x, n, c, h, w, ldx, out, ld));
}
ev_status ev_extractor_run_dataset(ev_extractor *ex, ev_dataset *ds,
                                   float *const *out, const size_t *ld) {
  CALL(extractor_run_dataset(ex, ds, out, ld));
}
