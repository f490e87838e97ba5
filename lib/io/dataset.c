/* ev_dataset: the items of a data set (image files, IDX, .npy, a caller's
 * floats) with labels, class names and preprocessing settings. Reading
 * batches is in dataset_read.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/io_private.h"

#define SPEC(id, lo, hi, whole, def) \
  EV__SPEC(ev_dataset, p[id], EV__SLOT_DOUBLE, id, lo, hi, whole, def),
static const ev__param_spec ds_params[] = {EV__DS_SETTINGS(SPEC)};
#define N_DS_PARAMS (sizeof ds_params / sizeof *ds_params)
EV__SETTINGS_COVER(ev_dataset_param, EV__DS_SETTINGS)
#define FITS(id, ...) \
  _Static_assert(id > 0 && (int)id < (int)EV__DS_NPARAMS, #id " has no slot in p[]");
EV__DS_SETTINGS(FITS)

/* Labels above this get no class name (names are made up front). */
#define MAX_NAMED_LABEL (1 << 20)

/* What a call on a data set needs (EV__ARG_NULL_IF). */
#define DS_ADVICE \
  "pass a data set from an ev_dataset_from_* call and non-NULL arguments"

static ev_status new_dataset(size_t n, ev_dataset **out) {
  ev_dataset *ds = ev__calloc(1, sizeof *ds);
  int32_t *labels = ev__malloc(n * sizeof *labels);
  if (!ds || !labels) {
    ev__free(ds);
    ev__free(labels);
    return ev__nomem("a data set", n * sizeof *labels);
  }
  for (size_t i = 0; i < n; i++) labels[i] = -1;
  ds->n = n;
  ds->labels = labels;
  ev__param_defaults(ds_params, N_DS_PARAMS, ds);
  *out = ds;
  return EV_OK;
}

void ev_dataset_free(ev_dataset *ds) {
  if (!ds) return;
  ev__free_strings(ds->paths, ds->n);
  ev_array_free(ds->arr);
  ev__free(ds->labels);
  ev__free_strings(ds->class_names, ds->n_classes);
  for (size_t i = 0; i < ds->n_skipped; i++) {
    ev__free(ds->skipped[i].path);
    ev__free(ds->skipped[i].reason);
  }
  ev__free(ds->skipped);
  ev__free(ds);
}

ev_status ev__dataset_add_skip(ev_dataset *ds, const char *path,
                               const char *reason, size_t item) {
  for (size_t i = 0; item != SIZE_MAX && i < ds->n_skipped; i++)
    if (ds->skipped[i].item == item) return EV_OK;
  if (ds->n_skipped == ds->cap_skipped) {
    size_t cap = ds->cap_skipped ? 2 * ds->cap_skipped : 8;
    ev__skip *ns = ev__realloc(ds->skipped, cap * sizeof *ns);
    if (!ns) return ev__nomem("the list of skipped files", cap * sizeof *ns);
    ds->skipped = ns;
    ds->cap_skipped = cap;
  }
  ev__skip s = {ev__strdup(path), ev__strdup(reason), item};
  if (!s.path || !s.reason) {
    ev__free(s.path);
    ev__free(s.reason);
    return ev__nomem("the list of skipped files", 0);
  }
  ds->skipped[ds->n_skipped++] = s;
  return EV_OK;
}

/* Class names "0".."max" for labelled array data sets. */
static ev_status number_classes(ev_dataset *ds) {
  int32_t max = -1;
  for (size_t i = 0; i < ds->n; i++)
    if (ds->labels[i] > max) max = ds->labels[i];
  if (max < 0 || max >= MAX_NAMED_LABEL) {
    ds->n_classes = max < 0 ? 0 : (size_t)max + 1;
    return EV_OK;
  }
  char **names = ev__calloc((size_t)max + 1, sizeof *names);
  if (!names) return ev__nomem("class names", 0);
  for (int32_t c = 0; c <= max; c++) {
    char buf[16];
    snprintf(buf, sizeof buf, "%d", (int)c);
    if (!(names[c] = ev__strdup(buf))) {
      ev__free_strings(names, (size_t)max + 1);
      return ev__nomem("class names", 0);
    }
  }
  ds->class_names = names;
  ds->n_classes = (size_t)max + 1;
  return EV_OK;
}

static ev_status check_labels(const int32_t *labels, size_t n) {
  for (size_t i = 0; labels && i < n; i++)
    if (labels[i] < -1)
      return ev__fail(EV_ERR_ARGUMENT, "labels[%zu] is %d: labels are class "
                      "numbers from 0, or -1 for none", i, (int)labels[i]);
  return EV_OK;
}

/* The header of every file, read in parallel (files are independent):
 * status, size, and for failures the message, made on the worker's thread
 * where ev_last_error holds it. */
typedef struct probe {
  ev_status st;
  size_t w, h;
  char *msg;
} probe;

static ev_status probe_files(char *const *paths, size_t n, probe **out) {
  probe *pr = ev__calloc(n, sizeof *pr);
  if (!pr) return ev__nomem("file headers", n * sizeof *pr);
  ev__threads scope;
  ev__threads_begin(&scope, 0);
#pragma omp parallel for schedule(dynamic, 8)
  for (size_t i = 0; i < n; i++) {
    int c;
    pr[i].st = ev__image_probe(paths[i], &pr[i].w, &pr[i].h, &c);
    if (pr[i].st) pr[i].msg = ev__strdup(ev_last_error());
  }
  ev__threads_end(&scope);
  *out = pr;
  return EV_OK;
}

static void free_probes(probe *pr, size_t n) {
  for (size_t i = 0; pr && i < n; i++) ev__free(pr[i].msg);
  ev__free(pr);
}

/* Keep the readable files (or fail on the first unreadable one). */
static ev_status keep_readable(ev_dataset *ds, char **paths,
                               const int32_t *labels, size_t n,
                               const probe *pr, int skip_bad, size_t *kept) {
  *kept = 0;
  for (size_t i = 0; i < n; i++) {
    ev_status pst = pr[i].st;
    if (pst && (!pr[i].msg || pst == EV_ERR_NOMEM))
      return ev__fail(pst == EV_ERR_NOMEM || !pr[i].msg ? EV_ERR_NOMEM : pst,
                      "%s: out of memory reading the image's header",
                      paths[i]);
    if (pst && !skip_bad) return ev__fail(pst, "%s", pr[i].msg);
    if (pst) {
      ev_status st = ev__dataset_add_skip(ds, paths[i], pr[i].msg, SIZE_MAX);
      if (st) return st;
      ev__free(paths[i]);
    } else {
      if (*kept == 0) { ds->first_w = pr[i].w; ds->first_h = pr[i].h; }
      ds->labels[*kept] = labels ? labels[i] : -1;
      paths[(*kept)++] = paths[i];
    }
    if (i >= *kept) paths[i] = NULL;
  }
  return EV_OK;
}

ev_status ev__dataset_from_files(char **paths, int32_t *labels, size_t n,
                                 char **classes, size_t n_classes,
                                 int skip_bad, ev_dataset **out) {
  ev_dataset *ds = NULL;
  probe *pr = NULL;
  size_t kept = 0;
  ev_status st = new_dataset(n, &ds);
  if (st == EV_OK) st = probe_files(paths, n, &pr);
  if (st == EV_OK) st = keep_readable(ds, paths, labels, n, pr, skip_bad,
                                      &kept);
  if (st == EV_OK && kept == 0)
    st = ev__fail(EV_ERR_NOT_FOUND, "none of the %zu image files could be "
                  "read (the first: %s): see ev_dataset_skipped_reason", n,
                  ds->n_skipped ? ds->skipped[0].reason : "");
  free_probes(pr, n);
  ev__free(labels);
  if (st) {
    ev__free_strings(paths, n);
    ev__free_strings(classes, n_classes);
    ev_dataset_free(ds);
    return st;
  }
  ds->n = kept;
  ds->paths = paths;
  ds->class_names = classes;
  ds->n_classes = n_classes;
  ds->p[EV_DS_ON_ERROR] = skip_bad ? EV_ON_ERROR_SKIP : EV_ON_ERROR_FAIL;
  if (!classes && (st = number_classes(ds))) {
    ev_dataset_free(ds);
    return st;
  }
  *out = ds;
  return EV_OK;
}

ev_status ev_dataset_from_paths(const char *const *paths, size_t n,
                                const int32_t *labels, int skip_bad,
                                ev_dataset **out) {
  if (!paths || !out || n == 0)
    return ev__fail(EV_ERR_ARGUMENT,
                    "ev_dataset_from_paths: paths or out is "
                    "NULL, or n is 0: pass n paths and the address of an "
                    "ev_dataset pointer");
  *out = NULL;
  for (size_t i = 0; i < n; i++)
    EV__ARG_NULL_IF(!paths[i], "paths[%zu]", DS_ADVICE, i);
  ev_status st = check_labels(labels, n);
  if (st) return st;
  char **own = ev__calloc(n, sizeof *own);
  int32_t *lab = labels ? ev__malloc(n * sizeof *lab) : NULL;
  if (!own || (labels && !lab)) {
    ev__free(own);
    ev__free(lab);
    return ev__nomem("a list of paths", n * sizeof *own);
  }
  if (labels) memcpy(lab, labels, n * sizeof *lab);
  for (size_t i = 0; i < n; i++)
    if (!(own[i] = ev__strdup(paths[i]))) {
      ev__free_strings(own, n);
      ev__free(lab);
      return ev__nomem("a list of paths", strlen(paths[i]) + 1);
    }
  return ev__dataset_from_files(own, lab, n, NULL, 0, skip_bad, out);
}

ev_status ev_dataset_from_folder(const char *folder, int skip_bad,
                                 ev_dataset **out) {
  EV__ARG_NULL_IF(!folder || !out, "ev_dataset_from_folder: folder or out",
                  DS_ADVICE);
  *out = NULL;
  char **paths, **classes;
  int32_t *labels;
  size_t n, n_classes;
  ev_status st = ev__scan_folder(folder, &paths, &labels, &n, &classes,
                                 &n_classes);
  if (st) return st;
  if (n_classes == 0) { /* loose images: no labels, no classes */
    ev__free(labels);
    labels = NULL;
    ev__free(classes);
    classes = NULL;
    ev_dataset *ds;
    st = ev__dataset_from_files(paths, NULL, n, NULL, 0, skip_bad, &ds);
    if (st == EV_OK) { ds->n_classes = 0; *out = ds; }
    return st;
  }
  return ev__dataset_from_files(paths, labels, n, classes, n_classes,
                                skip_bad, out);
}

/* ---- arrays ---- */

/* Take over an array of items: uint8 images or float inputs. */
static ev_status from_array(ev_array *a, const char *path, ev_dataset **out) {
  size_t c, h, w, nd = a->ndim;
  if (a->size == 0) {
    ev_array_free(a);
    return ev__fail(EV_ERR_FORMAT, "%s: the array is empty (a dimension is "
                    "0): a data set needs at least one item", path);
  }
  if (a->dtype == EV_DTYPE_UINT8) {
    if (nd == 3) { h = a->shape[1]; w = a->shape[2]; c = 1; }
    else if (nd == 4 && (a->shape[3] == 1 || a->shape[3] == 3 ||
                         a->shape[3] == 4)) {
      h = a->shape[1]; w = a->shape[2]; c = a->shape[3];
    } else {
      ev_array_free(a);
      return ev__fail(EV_ERR_FORMAT, "%s: uint8 images must be N x H x W or "
                      "N x H x W x C with C 1, 3 or 4", path);
    }
  } else if (a->dtype == EV_DTYPE_FLOAT32 || a->dtype == EV_DTYPE_FLOAT64) {
    if (nd == 2) { c = 1; h = 1; w = a->shape[1]; }
    else if (nd == 3) { c = 1; h = a->shape[1]; w = a->shape[2]; }
    else if (nd == 4) { c = a->shape[1]; h = a->shape[2]; w = a->shape[3]; }
    else {
      ev_array_free(a);
      return ev__fail(EV_ERR_FORMAT, "%s: float inputs must be N x D, "
                      "N x H x W or N x C x H x W, not %zu-D", path, nd);
    }
  } else {
    ev_array_free(a);
    return ev__fail(EV_ERR_FORMAT, "%s: data set arrays must be uint8 "
                    "(images) or float (model inputs), not integer", path);
  }
  if (a->dtype == EV_DTYPE_FLOAT64) { /* narrow once, in place */
    float *f = a->data;
    const double *d = a->data;
    for (size_t i = 0; i < a->size; i++) f[i] = (float)d[i];
    a->dtype = EV_DTYPE_FLOAT32;
  }
  ev_dataset *ds;
  ev_status st = new_dataset(a->shape[0], &ds);
  if (st) { ev_array_free(a); return st; }
  ds->arr = a;
  ds->ac = c; ds->ah = h; ds->aw = w;
  *out = ds;
  return EV_OK;
}

/* Labels from an integer array of N elements. */
static ev_status take_labels(ev_dataset *ds, ev_array *l, const char *path) {
  ev_status st = EV_OK;
  if (l->ndim != 1 || l->shape[0] != ds->n)
    st = ev__fail(EV_ERR_FORMAT,
                  "%s: %zu labels expected (one per item), "
                  "the file has shape %zu%s: pass the labels of these "
                  "items",
                  path, ds->n, l->shape[0], l->ndim > 1 ? " x ..." : "");
  for (size_t i = 0; st == EV_OK && i < ds->n; i++) {
    int64_t v;
    switch (l->dtype) {
      case EV_DTYPE_UINT8: v = ((uint8_t *)l->data)[i]; break;
      case EV_DTYPE_INT32: v = ((int32_t *)l->data)[i]; break;
      case EV_DTYPE_INT64: v = ((int64_t *)l->data)[i]; break;
      default:
        st = ev__fail(EV_ERR_FORMAT, "%s: labels must be integers", path);
        continue;
    }
    if (v < -1 || v > INT32_MAX)
      st = ev__fail(EV_ERR_FORMAT, "%s: label %zu is %lld: labels are class "
                    "numbers from 0, or -1 for none", path, i, (long long)v);
    else ds->labels[i] = (int32_t)v;
  }
  ev_array_free(l);
  return st ? st : number_classes(ds);
}

typedef ev_status (*array_reader)(const char *, ev_array **);

static ev_status from_files(array_reader rd, const char *path,
                            const char *labels_path, ev_dataset **out) {
  EV__ARG_NULL_IF(!path || !out, "the data set's path or out", DS_ADVICE);
  *out = NULL;
  ev_array *a, *l = NULL;
  ev_status st = rd(path, &a);
  if (st) return st;
  if (labels_path && (st = rd(labels_path, &l))) {
    ev_array_free(a);
    return st;
  }
  ev_dataset *ds;
  if ((st = from_array(a, path, &ds))) {
    ev_array_free(l);
    return st;
  }
  if (l && (st = take_labels(ds, l, labels_path))) {
    ev_dataset_free(ds);
    return st;
  }
  *out = ds;
  return EV_OK;
}

ev_status ev_dataset_from_idx(const char *images_path,
                              const char *labels_path, ev_dataset **out) {
  return from_files(ev_idx_read, images_path, labels_path, out);
}

ev_status ev_dataset_from_npy(const char *path, const char *labels_path,
                              ev_dataset **out) {
  return from_files(ev_npy_read, path, labels_path, out);
}

ev_status ev_dataset_from_floats(const float *data, size_t n, size_t c,
                                 size_t h, size_t w, size_t ld,
                                 const int32_t *labels, ev_dataset **out) {
  size_t chw;
  EV__ARG_NOT_NULL(out, DS_ADVICE);
  *out = NULL;
  if (c == 0 || h == 0 || w == 0)
    return ev__fail(EV_ERR_ARGUMENT,
                    "an item of %zu x %zu x %zu is empty: "
                    "pass c, h and w of at least 1",
                    c, h, w);
  if (!ev__mul3(c, h, w, &chw))
    return ev__fail(EV_ERR_OVERFLOW,
                    "an item of %zu x %zu x %zu floats "
                    "overflows size_t: check c, h and w",
                    c, h, w);
  ev_status st = ev__check_matrix("data", data, n, chw, ld);
  if (st == EV_OK) st = ev__check_finite("data", data, n, chw, ld);
  if (st == EV_OK) st = check_labels(labels, n);
  if (st) return st;
  ev_array *a;
  size_t shape[4] = {n, c, h, w};
  if ((st = ev__array_new(EV_DTYPE_FLOAT32, 4, shape, "data", &a))) return st;
  for (size_t i = 0; i < n; i++)
    memcpy((float *)a->data + i * chw, data + i * ld, chw * sizeof *data);
  ev_dataset *ds;
  if ((st = from_array(a, "data", &ds))) return st;
  if (labels) {
    memcpy(ds->labels, labels, n * sizeof *labels);
    if ((st = number_classes(ds))) {
      ev_dataset_free(ds);
      return st;
    }
  }
  *out = ds;
  return EV_OK;
}

/* ---- settings and accessors ---- */

ev_status ev_dataset_set(ev_dataset *ds, ev_dataset_param param,
                         double value) {
  EV__ARG_NULL_IF(!ds, "data set", DS_ADVICE);
  ev_status st = ev__param_check(ds_params, N_DS_PARAMS, param, value,
                                 "data set");
  if (st) return st;
  if (param == EV_DS_CHANNELS && value == 2)
    return ev__fail(EV_ERR_ARGUMENT, "EV_DS_CHANNELS must be 0, 1 or 3, got "
                    "2");
  return ev__param_set(ds_params, N_DS_PARAMS, ds, param, value, "data set");
}

ev_status ev_dataset_get(const ev_dataset *ds, ev_dataset_param param,
                         double *value) {
  EV__ARG_NULL_IF(!ds || !value, "data set or value", DS_ADVICE);
  return ev__param_get(ds_params, N_DS_PARAMS, ds, param, value, "data set");
}

ev_status ev_dataset_param_bounds(ev_dataset_param param, double *lower,
                                  double *upper) {
  return ev__param_bounds(ds_params, N_DS_PARAMS, param, "data set", lower,
                          upper);
}

ev_status ev_dataset_param_default(ev_dataset_param param, double *value) {
  return ev__param_default(ds_params, N_DS_PARAMS, param, "data set", value);
}

ev_status ev_dataset_set_progress(ev_dataset *ds, ev_progress_fn fn,
                                  void *user_data) {
  EV__ARG_NULL_IF(!ds, "data set", DS_ADVICE);
  ds->progress = fn;
  ds->progress_user = user_data;
  return EV_OK;
}

ev_status ev_dataset_count(const ev_dataset *ds, size_t *n) {
  EV__ARG_NULL_IF(!ds || !n, "data set or n", DS_ADVICE);
  *n = ds->n;
  return EV_OK;
}

ev_status ev_dataset_labels(const ev_dataset *ds, int32_t *out, size_t cap) {
  EV__ARG_NULL_IF(!ds || !out, "data set or out", DS_ADVICE);
  if (cap < ds->n)
    return ev__fail(EV_ERR_ARGUMENT, "out has room for %zu labels, the data "
                    "set has %zu items: pass room for %zu", cap, ds->n,
                    ds->n);
  memcpy(out, ds->labels, ds->n * sizeof *out);
  return EV_OK;
}

ev_status ev_dataset_class_count(const ev_dataset *ds, size_t *n) {
  EV__ARG_NULL_IF(!ds || !n, "data set or n", DS_ADVICE);
  *n = ds->n_classes;
  return EV_OK;
}

const char *ev_dataset_class_name(const ev_dataset *ds, size_t i) {
  return ds && ds->class_names && i < ds->n_classes ? ds->class_names[i]
                                                    : NULL;
}

const char *ev_dataset_item_path(const ev_dataset *ds, size_t i) {
  return ds && ds->paths && i < ds->n ? ds->paths[i] : NULL;
}

size_t ev_dataset_skipped_count(const ev_dataset *ds) {
  return ds ? ds->n_skipped : 0;
}
const char *ev_dataset_skipped_path(const ev_dataset *ds, size_t i) {
  return ds && i < ds->n_skipped ? ds->skipped[i].path : NULL;
}
const char *ev_dataset_skipped_reason(const ev_dataset *ds, size_t i) {
  return ds && i < ds->n_skipped ? ds->skipped[i].reason : NULL;
}
