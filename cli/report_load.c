/*
 * report_load.c - the report's inputs, from a folder of .npy files:
 *
 *   test_images.npy   n x side^2 floats in [0, 1] (or 0..255, rescaled)
 *   test_labels.npy   n integers
 *   test_<layer>.npy  n x d activations of each named layer
 *   train_images.npy, train_labels.npy   the training set (or a subset)
 *   train_<penultimate>.npy              its penultimate activations
 *
 * (scripts/train_demo_model.py --export writes exactly these.) With
 * --model, only the images and labels are read and the activations are
 * extracted by libembedviz from the model.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

void evr_data_free(evr_data *d) {
  evc_mat_free(&d->images);
  evc_mat_free(&d->labels);
  evc_mat_free(&d->train_images);
  evc_mat_free(&d->train_labels);
  evc_mat_free(&d->train_feat);
  for (int l = 0; l < d->n_layers; l++) {
    free(d->layer_name[l]);
    evc_mat_free(&d->layer[l]);
  }
  for (int c = 0; d->own_names && c < d->n_classes; c++) free(d->own_names[c]);
  free(d->own_names);
  evc_mat_free(&d->probs);
  evc_mat_free(&d->maps);
  evc_thumbs_free(&d->thumbs);
  free(d->query_rows);
  free(d->ref_shown);
  free(d->ref_items);
  ev_dataset_free(d->ref_ds);
  for (size_t k = 0; k < d->n_skipped; k++) free(d->skipped[k].path), free(d->skipped[k].reason);
  free(d->skipped);
  for (size_t k = 0; k < d->n_ignored; k++) free(d->ignored[k]);
  free(d->ignored);
  memset(d, 0, sizeof *d);
}

/* Keep the first `keep` rows (no copy: the rows are at the front). */
static void keep_rows(evc_mat *m, size_t keep) {
  if (m->rows > keep) m->rows = keep;
}

static int read_in(const char *dir, const char *name, int as_int, evc_mat *m) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return evc_read_any(path, as_int, m) ? 1 : 0;
}

/* Images: square rows, values scaled to [0, 1]. */
static int check_images(const char *what, evc_mat *m, int *side) {
  int s = (int)lround(sqrt((double)m->cols));
  if ((size_t)s * (size_t)s != m->cols) return evc_err("%s: rows of %zu values are not square grey images", what, m->cols);
  if (*side && s != *side) return evc_err("%s: images of side %d, the test images have %d", what, s, *side);
  *side = s;
  float mx = 0;
  for (size_t k = 0; k < m->rows * m->cols; k++) mx = m->f[k] > mx ? m->f[k] : mx;
  if (mx > 1.5f)
    for (size_t k = 0; k < m->rows * m->cols; k++) m->f[k] /= 255.0f;
  return 0;
}

static int check_labels(const char *what, const evc_mat *y, size_t n, int *n_classes) {
  if (y->rows * y->cols < n) return evc_err("%s: %zu labels for %zu images", what, y->rows * y->cols, n);
  for (size_t k = 0; k < n; k++) {
    if (y->i[k] < 0 || y->i[k] > 1000) return evc_err("%s: label %lld at %zu is not a class number", what, (long long)y->i[k], k);
    if (y->i[k] + 1 > *n_classes) *n_classes = (int)y->i[k] + 1;
  }
  return 0;
}

/* C x H x W from a .npy file's header when its shape is (n, C, H, W) and
 * rows of cols values; else shape stays {0, 0, 0}. */
static void npy_shape(const char *path, size_t cols, size_t shape[3]) {
  char head[1024];
  FILE *f = fopen(path, "rb");
  if (!f) return;
  size_t got = fread(head, 1, sizeof head - 1, f);
  fclose(f);
  head[got] = 0;
  for (size_t k = 0; k < got; k++)
    if (!head[k]) head[k] = ' ';
  const char *s = strstr(head, "'shape'");
  s = s ? strchr(s, '(') : NULL;
  if (!s) return;
  long v[5];
  int n = 0;
  while (n < 5) {
    char *end;
    long x = strtol(s + 1, &end, 10);
    if (end == s + 1) break;
    v[n++] = x;
    s = strchr(end, ',');
    if (!s) break;
  }
  if (n == 4 && v[1] > 0 && v[2] > 0 && v[3] > 0 && (size_t)v[1] * (size_t)v[2] * (size_t)v[3] == cols)
    shape[0] = (size_t)v[1], shape[1] = (size_t)v[2], shape[2] = (size_t)v[3];
}

/* The layer list: "pixels" is the images themselves. */
static int load_layers(const evr_options *o, evr_data *d) {
  char *list = strdup(o->layers), *save = NULL;
  int rc = list ? 0 : evc_err("out of memory");
  for (char *t = list ? strtok_r(list, ",", &save) : NULL; t && !rc; t = strtok_r(NULL, ",", &save)) {
    if (d->n_layers == EVR_MAX_LAYERS) { rc = evc_err("at most %d layers", EVR_MAX_LAYERS); break; }
    int l = d->n_layers++;
    d->layer_name[l] = strdup(t);
    if (!strcmp(t, "pixels")) {
      if (evc_mat_alloc_f(&d->layer[l], d->images.rows, d->images.cols)) rc = 1;
      else memcpy(d->layer[l].f, d->images.f, d->images.rows * d->images.cols * sizeof(float));
      continue;
    }
    if (o->model) continue;   /* extracted below, all layers in one pass */
    char name[300];
    snprintf(name, sizeof name, "test_%s.npy", t);
    if (read_in(o->data_dir, name, 0, &d->layer[l])) rc = 1;
    else if (d->layer[l].rows < d->images.rows)
      rc = evc_err("%s/%s has %zu rows for %zu images", o->data_dir, name, d->layer[l].rows, d->images.rows);
    else keep_rows(&d->layer[l], d->images.rows);
    if (!rc) {
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", o->data_dir, name);
      npy_shape(path, d->layer[l].cols, d->layer_shape[l]);
    }
  }
  free(list);
  return rc;
}

static int find_layer(const evr_data *d, const char *name, const char *role) {
  for (int l = 0; l < d->n_layers; l++)
    if (!strcmp(d->layer_name[l], name)) return l;
  evc_err("the %s layer '%s' is not in --layers: add it", role, name);
  return -1;
}

void evr_map_file(const evr_data *d, int l, const char *ext, char *buf, size_t len) {
  int at = snprintf(buf, len, "map_%d_", l);
  if (at < 0 || (size_t)at >= len) return;
  size_t k = (size_t)at;
  for (const char *c = d->layer_name[l]; *c && k + 1 < len; c++, k++) {
    unsigned char u = (unsigned char)*c;
    int ok = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '.' || u == '-' ||
             u == '_';
    buf[k] = ok ? (char)u : '_';
  }
  buf[k] = 0;
  snprintf(buf + k, len - k, "%s", ext);
}

void evr_layer_title(const evr_data *d, int l, char *buf, size_t len) {
  const char *name = d->layer_name[l];
  snprintf(buf, len, "%s%s", name,
           !strcmp(name, "pixels") ? "" : l == d->penultimate ? " (penultimate)" :
           l == d->softmax ? (d->kind == EVR_DEMO ? "" : " (class scores)") :
           l == d->early ? " (early layer)" : "");
}

/* With --model: every layer but the pixels from the model, for the test
 * images; the penultimate layer for the training images. */
static int extract_layers(const evr_options *o, evr_data *d) {
  const char *names[EVR_MAX_LAYERS];
  int idx[EVR_MAX_LAYERS], n = 0;
  evc_mat out[EVR_MAX_LAYERS] = {{0}};
  size_t chw[3] = {1, (size_t)d->side, (size_t)d->side}, shape[EVR_MAX_LAYERS][3];
  if (!ev_extract_available())
    return evc_err("extraction is not available (%s). Use --data with test_<layer>.npy files instead of --model",
                   ev_last_error());
  for (int l = 0; l < d->n_layers; l++)
    if (strcmp(d->layer_name[l], "pixels")) names[n] = d->layer_name[l], idx[n++] = l;
  if (n && evc_extract_layers(o->model, &d->images, chw, names, n, 0, 256, o->threads, "test images", out, shape))
    return 1;
  for (int k = 0; k < n; k++) {
    d->layer[idx[k]] = out[k];
    memcpy(d->layer_shape[idx[k]], shape[k], sizeof shape[k]);
  }
  const char *pen = o->penultimate;
  evc_mat tf[1] = {{0}};
  if (evc_extract_layers(o->model, &d->train_images, chw, &pen, 1, 0, 256, o->threads, "training images", tf, NULL)) return 1;
  d->train_feat = tf[0];
  return 0;
}

/* The class names: --classes FILE, else class_names.txt in the --data or
 * --dataset folder, else Fashion-MNIST's for a --dataset folder named so
 * (the demo's), else none (the page and pictures say "class 3"): a data set
 * of one's own never gets Fashion-MNIST's names for being of 10 classes. */
static int class_names(const evr_options *o, evr_data *d) {
  char path[4096];
  const char *dir = o->data_dir ? o->data_dir : o->dataset, *file = o->classes;
  if (!file) {
    snprintf(path, sizeof path, "%s/class_names.txt", dir);
    if (access(path, R_OK) == 0) file = path;
  }
  if (file) {
    char **names = NULL;
    int k = evc_read_class_names(file, &names);
    if (k < 0) return 1;
    d->own_names = names;
    if (k < d->n_classes) {
      for (int c = 0; c < k; c++) free(names[c]);
      free(names);
      d->own_names = NULL;
      return evc_err("%s has %d class names for %d classes: give one name a line for each class", file, k, d->n_classes);
    }
    for (int c = d->n_classes; c < k; c++) free(names[c]);   /* evr_data_free frees n_classes of them */
    d->class_names = (const char *const *)names;
    return 0;
  }
  d->fashion = o->dataset && !o->data_dir && d->n_classes == 10 && strcasestr(o->dataset, "fashion");
  d->class_names = d->fashion ? evc_fashion_classes : NULL;
  return 0;
}

/* NaN or Inf in a layer would fail deep inside t-SNE or PCA with a message
 * that cannot name the layer: say here which layer, row and column. */
static int check_finite(const char *source, const char *layer, const evc_mat *m) {
  for (size_t k = 0; k < m->rows * m->cols; k++)
    if (!isfinite(m->f[k]))
      return evc_err("layer '%s' (%s) has %g at row %zu, column %zu: the activations must be finite numbers; "
                     "check the model or the exported file, or leave the layer out of --layers",
                     layer, source, (double)m->f[k], k / m->cols, k % m->cols);
  return 0;
}

static int check_layers_finite(const evr_options *o, const evr_data *d) {
  char src[400];
  for (int l = 0; l < d->n_layers; l++) {
    if (!strcmp(d->layer_name[l], "pixels")) snprintf(src, sizeof src, "the test images");
    else if (o->model) snprintf(src, sizeof src, "extracted from %s", o->model);
    else snprintf(src, sizeof src, "%s/test_%s.npy", o->data_dir, d->layer_name[l]);
    if (check_finite(src, d->layer_name[l], &d->layer[l])) return 1;
  }
  if (o->model) snprintf(src, sizeof src, "training images, extracted from %s", o->model);
  else snprintf(src, sizeof src, "%s/train_%s.npy", o->data_dir, o->penultimate);
  return check_finite(src, o->penultimate, &d->train_feat);
}

/* The demo's pictures: its grey test images, dark on light. */
static int grey_thumbs(evr_data *d) {
  if (evc_thumbs_alloc(&d->thumbs, d->images.rows, d->side)) return 1;
  d->thumbs.grey = 1;
  for (size_t i = 0; i < d->images.rows; i++) evc_thumbs_put_grey(&d->thumbs, i, d->images.f + i * d->images.cols, 1);
  return 0;
}

int evr_load(const evr_options *o, evr_data *d) {
  memset(d, 0, sizeof *d);
  d->kind = EVR_DEMO;
  d->has_images = 1;
  d->early = -1;
  int rc;
  if (o->dataset) {   /* Fashion-MNIST's (or MNIST's) IDX files */
    rc = read_in(o->dataset, "t10k-images-idx3-ubyte.gz", 0, &d->images) ||
         read_in(o->dataset, "t10k-labels-idx1-ubyte.gz", 1, &d->labels) ||
         read_in(o->dataset, "train-images-idx3-ubyte.gz", 0, &d->train_images) ||
         read_in(o->dataset, "train-labels-idx1-ubyte.gz", 1, &d->train_labels);
  } else {
    rc = read_in(o->data_dir, "test_images.npy", 0, &d->images) || read_in(o->data_dir, "test_labels.npy", 1, &d->labels) ||
         read_in(o->data_dir, "train_images.npy", 0, &d->train_images) ||
         read_in(o->data_dir, "train_labels.npy", 1, &d->train_labels);
  }
  if (rc) return 1;
  keep_rows(&d->images, (size_t)o->samples);
  keep_rows(&d->train_images, (size_t)o->train_samples);
  if (check_images("test_images.npy", &d->images, &d->side) || check_images("train_images.npy", &d->train_images, &d->side) ||
      check_labels("test_labels.npy", &d->labels, d->images.rows, &d->n_classes) ||
      check_labels("train_labels.npy", &d->train_labels, d->train_images.rows, &d->n_classes) || load_layers(o, d))
    return 1;
  if (o->model && extract_layers(o, d)) return 1;
  keep_rows(&d->labels, d->images.rows);
  keep_rows(&d->train_labels, d->train_images.rows);
  if ((d->penultimate = find_layer(d, o->penultimate, "penultimate")) < 0 || (d->softmax = find_layer(d, o->softmax, "softmax")) < 0)
    return 1;
  if ((int)d->layer[d->softmax].cols < d->n_classes)
    return evc_err("the softmax layer has %zu columns for %d classes", d->layer[d->softmax].cols, d->n_classes);
  d->n_classes = (int)d->layer[d->softmax].cols;
  if (class_names(o, d)) return 1;
  char name[300];
  snprintf(name, sizeof name, "train_%s.npy", o->penultimate);
  if (!o->model && read_in(o->data_dir, name, 0, &d->train_feat)) return 1;
  keep_rows(&d->train_feat, d->train_images.rows);
  if (d->train_feat.rows != d->train_images.rows || d->train_feat.cols != d->layer[d->penultimate].cols)
    return evc_err("%s/%s is %zu x %zu, expected %zu x %zu", o->data_dir, name, d->train_feat.rows, d->train_feat.cols,
                   d->train_images.rows, d->layer[d->penultimate].cols);
  if (d->n_layers > 1 && strcmp(d->layer_name[1], "pixels") && d->penultimate != 1 && d->softmax != 1) d->early = 1;
  return check_layers_finite(o, d) || grey_thumbs(d);
}
