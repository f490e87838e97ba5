/*
 * report_folder.c - the report's inputs from a person's own data:
 *
 *   --images DIR --model FILE   DIR/<class>/<image> (torchvision's
 *                               ImageFolder layout) through a TorchScript
 *                               classifier, batch by batch
 *   --features F --labels L [--scores S] [--images DIR or LIST]
 *                               features computed elsewhere, no model
 *
 * Pictures are kept at thumbnail size only (EVR_THUMB_SIDE, aspect kept);
 * "pixels" are EVR_PIXEL_SIDE^2 x 3 rows of the picture fitted in a square.
 * Full-size images are decoded one per thread at a time, never held.
 */
#include <dirent.h>
#include <errno.h>
#include <omp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "report.h"
#include "report_fmaps.h"
#include "report_layers.h"

/* ---- the folder as ImageFolder sees it ----------------------------------- */

static int is_image_name(const char *name) {
  static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp", ".gif"};
  size_t n = strlen(name);
  for (size_t k = 0; k < sizeof ext / sizeof *ext; k++) {
    size_t e = strlen(ext[k]);
    if (n > e && !strcasecmp(name + n - e, ext[k])) return 1;
  }
  return 0;
}

static int is_dir(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int by_bytes(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The sorted names in dir (not hidden): sub-folders or the other entries. */
static int list_names(const char *dir, int want_dirs, char ***out, size_t *n) {
  DIR *dd = opendir(dir);
  *out = NULL;
  *n = 0;
  if (!dd) return evc_err("%s: cannot open the folder (%s): check the path", dir, strerror(errno));
  size_t cap = 0;
  struct dirent *e;
  char path[4096];
  int rc = 0;
  while (!rc && (e = readdir(dd))) {
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (is_dir(path) != want_dirs) continue;
    if (*n == cap) {
      char **nv = realloc(*out, (cap = cap ? 2 * cap : 64) * sizeof *nv);
      if (!nv) { rc = evc_err("out of memory"); break; }
      *out = nv;
    }
    if (!((*out)[(*n)++] = strdup(e->d_name))) rc = evc_err("out of memory");
  }
  closedir(dd);
  if (!rc && *n) qsort(*out, *n, sizeof **out, by_bytes);
  return rc;
}

static void free_strings(char **s, size_t n) {
  for (size_t k = 0; s && k < n; k++) free(s[k]);
  free(s);
}

static int push_str(char ***v, size_t *n, const char *s) {
  char **nv = realloc(*v, (*n + 1) * sizeof *nv);
  if (!nv) return evc_err("out of memory");
  *v = nv;
  if (!(nv[*n] = strdup(s))) return evc_err("out of memory");
  (*n)++;
  return 0;
}

/* Check DIR as torchvision's ImageFolder would take it, before any long
 * work: class sub-folders, none without images. Files that are not images
 * by name are listed (ignored); with paths non-NULL, every image file in
 * ImageFolder order (labels too). */
static int scan_classes(const char *dir, evr_data *d, char ***paths, int32_t **labels, size_t *n_paths,
                        char ***classes, size_t *n_classes) {
  char **subs = NULL, **files = NULL, path[4096];
  size_t n_subs = 0, n_files = 0;
  if (!is_dir(dir)) return evc_err("--images %s is not a folder: give the folder that holds one sub-folder of images per class", dir);
  if (list_names(dir, 1, &subs, &n_subs)) return 1;
  int rc = 0;
  if (n_subs == 0)
    rc = evc_err("%s has no class sub-folders: put the images of each class in a folder of its own, %s/<class>/<image> "
                 "(torchvision's ImageFolder layout)", dir, dir);
  if (!rc && list_names(dir, 0, &files, &n_files)) rc = 1;
  for (size_t k = 0; !rc && k < n_files; k++) {   /* loose files next to the class folders */
    snprintf(path, sizeof path, "%s/%s", dir, files[k]);
    rc = push_str(&d->ignored, &d->n_ignored, path);
  }
  free_strings(files, n_files);
  for (size_t c = 0; !rc && c < n_subs; c++) {
    snprintf(path, sizeof path, "%s/%s", dir, subs[c]);
    files = NULL;
    n_files = 0;
    if (list_names(path, 0, &files, &n_files)) { rc = 1; break; }
    size_t images = 0;
    for (size_t k = 0; !rc && k < n_files; k++) {
      char full[8192];
      snprintf(full, sizeof full, "%s/%s", path, files[k]);
      if (!is_image_name(files[k])) { rc = push_str(&d->ignored, &d->n_ignored, full); continue; }
      images++;
      if (paths) {
        int32_t *nl = realloc(*labels, (*n_paths + 1) * sizeof *nl);
        if (!nl) { rc = evc_err("out of memory"); break; }
        *labels = nl;
        nl[*n_paths] = (int32_t)c;
        rc = push_str(paths, n_paths, full);
      }
    }
    free_strings(files, n_files);
    if (!rc && images == 0)
      rc = evc_err("the class folder %s has no image files (.png, .jpg, .jpeg, .bmp, .gif): add its images or remove the "
                   "folder (torchvision's ImageFolder refuses it too)", path);
    if (!rc && classes) rc = push_str(classes, n_classes, subs[c]);
  }
  free_strings(subs, n_subs);
  return rc;
}

/* ---- choosing rows: a seeded, per-class selection --------------------------- */

static uint64_t mix(uint64_t x) {   /* splitmix64 */
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

typedef struct keyed { uint64_t key; size_t i; } keyed;
static int by_key(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  return x->key < y->key ? -1 : x->key > y->key;
}

/* For each class c, pick want(c) of its items (labels[i] == c) at random
 * (seed), marking them in pick. want(c) = round(frac * count), at least
 * min_one when the class has 2 or more items; frac 1 picks all. */
static int pick_per_class(const int64_t *labels, size_t n, int n_classes, double frac, int min_one, long seed,
                          unsigned char *pick) {
  keyed *k = malloc((n ? n : 1) * sizeof *k);
  size_t *count = calloc((size_t)n_classes + 1, sizeof *count), *taken = calloc((size_t)n_classes + 1, sizeof *taken);
  if (!k || !count || !taken) { free(k); free(count); free(taken); return evc_err("out of memory"); }
  for (size_t i = 0; i < n; i++) {
    k[i].key = mix((uint64_t)seed * 0x100000001B3ull ^ mix(i));
    k[i].i = i;
    count[labels[i] >= 0 && labels[i] < n_classes ? labels[i] : n_classes]++;
  }
  qsort(k, n, sizeof *k, by_key);
  memset(pick, 0, n);
  for (size_t j = 0; j < n; j++) {
    size_t i = k[j].i;
    int64_t c = labels[i] >= 0 && labels[i] < n_classes ? labels[i] : n_classes;
    size_t want = (size_t)floor(frac * (double)count[c] + 0.5);
    if (min_one && want == 0 && count[c] >= 2) want = 1;
    if (taken[c] < want) taken[c]++, pick[i] = 1;
  }
  free(k);
  free(count);
  free(taken);
  return 0;
}

/* ---- thumbnails and pixel rows ----------------------------------------------- */

/* Item items[j] of ds: its thumbnail into t (slot j, unless t is NULL) and
 * its pixel row into pix row j (a picture fitted in EVR_PIXEL_SIDE, values
 * in [0, 1], mid grey around it). ok[j] 0 with why[j] for a file that
 * cannot be read. Parallel: ev_dataset_thumbnail_fit changes nothing. */
static int pictures_of(const ev_dataset *ds, const size_t *items, size_t n, evc_thumbs *t, evc_mat *pix,
                       unsigned char *ok, char **why, size_t *grey, long threads) {
  const int P = EVR_PIXEL_SIDE, T = EVR_THUMB_SIDE;
  size_t greys = 0;
  int failed = 0;
  if (threads > 0) omp_set_num_threads((int)threads);
#pragma omp parallel reduction(+ : greys)
  {
    unsigned char *buf = malloc((size_t)T * T * 3);
    if (!buf) failed = 1;
#pragma omp for schedule(dynamic, 8)
    for (size_t j = 0; j < n; j++) {
      if (!buf || evc_interrupted) continue;
      size_t w, h;
      int fc = 3;
      ev_status st = EV_OK;
      ok[j] = 1;
      if (t && (st = ev_dataset_thumbnail_fit(ds, items[j], (size_t)T, buf, &w, &h, &fc)) == EV_OK)
        evc_thumbs_put(t, j, buf, (int)w, (int)h);
      if (!st) st = ev_dataset_thumbnail_fit(ds, items[j], (size_t)P, buf, &w, &h, &fc);
      if (st) {
        ok[j] = 0;
        why[j] = strdup(ev_last_error());
        continue;
      }
      greys += fc <= 2;
      float *row = pix->f + j * pix->cols;
      for (size_t k = 0; k < pix->cols; k++) row[k] = 0.5f;
      size_t x0 = ((size_t)P - w) / 2, y0 = ((size_t)P - h) / 2;
      for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++)
          for (int c = 0; c < 3; c++)
            row[((y0 + y) * (size_t)P + x0 + x) * 3 + (size_t)c] = buf[(y * w + x) * 3 + (size_t)c] / 255.0f;
    }
    free(buf);
  }
  if (failed) return evc_err("out of memory");
  if (evc_interrupted) return evc_err("cancelled (Ctrl-C): nothing was written");
  *grey += greys;
  return 0;
}

/* ---- extraction --------------------------------------------------------------- */

typedef struct model_run {
  ev_model *model;
  ev_extractor *ex;
  int n;                              /* layers asked of the model */
  const char *name[EVR_MAX_LAYERS];
  size_t cols[EVR_MAX_LAYERS];
  size_t shape[EVR_MAX_LAYERS][3];    /* C x H x W before pooling, or 0s */
} model_run;

static void model_free(model_run *m) {
  ev_extractor_free(m->ex);
  ev_model_free(m->model);
  memset(m, 0, sizeof *m);
}

static int progress(void *user, int stage, size_t step, size_t total, double value) {
  if (evc_interrupted) return 1;
  return evc_progress(user, stage, step, total, value);
}

/* Apply the preprocessing options to a data set. */
static int set_preprocessing(const evr_options *o, ev_dataset *ds) {
  ev_status st;
  if ((st = ev_dataset_set(ds, EV_DS_CHANNELS, (double)o->channels)) ||
      (st = ev_dataset_set(ds, EV_DS_RESIZE, (double)o->resize)) ||
      (st = ev_dataset_set(ds, EV_DS_CROP, (double)o->crop)) ||
      (st = ev_dataset_set(ds, EV_DS_THREADS, (double)o->threads)))
    return evc_lib_err("setting the preprocessing", st);
  if (o->mean_given || o->std_given) {
    if ((st = ev_dataset_set(ds, EV_DS_NORMALIZE, EV_NORMALIZE_CUSTOM))) return evc_lib_err("--mean/--std", st);
    static const double inet_m[3] = {0.485, 0.456, 0.406}, inet_s[3] = {0.229, 0.224, 0.225};
    for (int c = 0; c < 3; c++) {
      double m = o->mean_given ? o->mean[c] : o->channels == 1 ? 0 : inet_m[c];
      double s = o->std_given ? o->std[c] : o->channels == 1 ? 1 : inet_s[c];
      if ((st = ev_dataset_set(ds, (ev_dataset_param)(EV_DS_MEAN0 + c), m)) ||
          (st = ev_dataset_set(ds, (ev_dataset_param)(EV_DS_STD0 + c), s)))
        return evc_lib_err("--mean/--std", st);
    }
  }
  return 0;
}

/* The layers, from --layers or chosen for the model (report_layers.h). */
static int layer_names(const evr_options *o, evr_data *d, evr_layer_choice *ch) {
  memset(ch, 0, sizeof *ch);
  if (!o->layers_given) {
    if (evr_choose_layers(o->model, (size_t)o->channels, (size_t)o->crop, (size_t)o->crop, ch)) return 1;
    snprintf(d->layers_why, sizeof d->layers_why, "Layers (no --layers given): %s.", ch->why);
    return 0;
  }
  char *list = strdup(o->layers), *save = NULL;
  if (!list) return evc_err("out of memory");
  for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    if (ch->n == 4 || ch->n == EVR_MAX_LAYERS) { free(list); return evc_err("--layers: at most 4 layers with --images"); }
    snprintf(ch->name[ch->n++], EVR_LAYER_NAME_MAX, "%s", t);
  }
  free(list);
  if (ch->n < 2) return evc_err("--layers needs at least the penultimate and the scores layer, e.g. --layers pixels,layer1,avgpool,output");
  ch->early = -1;
  ch->penultimate = ch->n - 2;
  ch->scores = ch->n - 1;
  for (int l = 0; l < ch->n; l++) {
    if (o->penultimate_given && !strcmp(ch->name[l], o->penultimate)) ch->penultimate = l;
    if (o->softmax_given && !strcmp(ch->name[l], o->softmax)) ch->scores = l;
  }
  if (o->penultimate_given && strcmp(ch->name[ch->penultimate], o->penultimate))
    return evc_err("the penultimate layer '%s' is not in --layers: add it", o->penultimate);
  if (o->softmax_given && strcmp(ch->name[ch->scores], o->softmax))
    return evc_err("the scores layer '%s' is not in --layers: add it", o->softmax);
  snprintf(d->layers_why, sizeof d->layers_why, "Layers named with --layers: the penultimate layer is %s, the class "
           "scores %s.", ch->name[ch->penultimate], ch->name[ch->scores]);
  return 0;
}

/* Load the model and ask for the layers; their shapes for c x crop x crop.
 * Fails early (seconds) on a file that is not TorchScript, an unknown
 * layer, or a class count that is not the folder's. */
static int open_model(const evr_options *o, evr_data *d, const evr_layer_choice *ch, model_run *m) {
  ev_status st;
  memset(m, 0, sizeof *m);
  if ((st = ev_model_load(o->model, EV_DEVICE_CPU, &m->model))) return evc_lib_err("loading the model", st);
  if ((st = ev_extractor_create(m->model, &m->ex)) ||
      (st = ev_extractor_set(m->ex, EV_EXTRACT_BATCH_SIZE, (double)o->batch)) ||
      (st = ev_extractor_set(m->ex, EV_EXTRACT_POOL, 1)) ||
      (st = ev_extractor_set(m->ex, EV_EXTRACT_THREADS, (double)o->threads)))
    return evc_lib_err("setting up the extraction", st);
  char *pool = d->pooling;
  size_t used = 0;
  for (int l = 0; l < ch->n; l++) {
    if (!strcmp(ch->name[l], "pixels")) continue;
    if ((st = ev_extractor_add_layer(m->ex, ch->name[l]))) return evc_lib_err("choosing the layers", st);
    m->name[m->n++] = ch->name[l];
  }
  if ((st = ev_extractor_prepare(m->ex, (size_t)o->channels, (size_t)o->crop, (size_t)o->crop)))
    return evc_lib_err("preparing the model for the images", st);
  for (int l = 0; l < m->n; l++) {
    size_t dims[8], nd = 0;
    if ((st = ev_extractor_layer_cols(m->ex, (size_t)l, &m->cols[l])) ||
        (st = ev_extractor_layer_shape(m->ex, (size_t)l, dims, &nd)))
      return evc_lib_err("the layers' shapes", st);
    for (int k = 0; nd == 3 && k < 3; k++) m->shape[l][k] = dims[k];
    if (nd >= 3 && used < sizeof d->pooling) {
      used += (size_t)snprintf(pool + used, sizeof d->pooling - used, "%s%s gives %zu x %zu x %zu feature maps per image, "
                               "averaged over their positions (global average pooling) to %zu values",
                               used ? "; " : "", m->name[l], dims[0], dims[1], dims[2], m->cols[l]);
    }
  }
  if (used == 0) snprintf(pool, sizeof d->pooling, "Every layer gives one vector per image; nothing was pooled.");
  else if (used < sizeof d->pooling) snprintf(pool + used, sizeof d->pooling - used, ", so memory stays small "
                                              "whatever the number of images.");
  return 0;
}

/* Run the data set through the model; out[l] (n x cols) allocated here.
 * Items the library found corrupt while reading are flagged in bad. */
static int run_model(model_run *m, ev_dataset *ds, size_t n, const char *label, evc_mat *out, unsigned char *bad) {
  float *dst[EVR_MAX_LAYERS];
  size_t ld[EVR_MAX_LAYERS];
  for (int l = 0; l < m->n; l++) {
    if (evc_mat_alloc_f(&out[l], n, m->cols[l])) return 1;
    dst[l] = out[l].f;
    ld[l] = m->cols[l];
  }
  ev_status st;
  if ((st = ev_extractor_set_progress(m->ex, progress, (void *)label)) ||
      (st = ev_dataset_set_progress(ds, progress, (void *)label)))
    return evc_lib_err("the extraction", st);
  st = ev_extractor_run_dataset(m->ex, ds, dst, ld);
  evc_progress_done();
  if (st == EV_ERR_CANCELLED && evc_interrupted) return evc_err("cancelled (Ctrl-C): nothing was written");
  if (st) return evc_lib_err("running the model over the images", st);
  /* a file that became unreadable between the headers and the batch */
  for (size_t s = 0; s < ev_dataset_skipped_count(ds); s++) {
    const char *p = ev_dataset_skipped_path(ds, s);
    for (size_t i = 0; i < n; i++)
      if (!strcmp(p, ev_dataset_item_path(ds, i))) bad[i] = 1;
  }
  return 0;
}

/* ---- assembling the data ------------------------------------------------------ */

static int add_skip(evr_data *d, const char *path, const char *reason) {
  evr_skip *ns = realloc(d->skipped, (d->n_skipped + 1) * sizeof *ns);
  if (!ns) return evc_err("out of memory");
  d->skipped = ns;
  ns[d->n_skipped].path = strdup(path);
  ns[d->n_skipped].reason = strdup(reason ? reason : "unreadable");
  d->n_skipped++;
  return 0;
}

static int copy_skipped(evr_data *d, const ev_dataset *ds) {
  for (size_t s = 0; s < ev_dataset_skipped_count(ds); s++)
    if (add_skip(d, ev_dataset_skipped_path(ds, s), ev_dataset_skipped_reason(ds, s))) return 1;
  return 0;
}

static int own_class_names(evr_data *d, const ev_dataset *ds, size_t n_classes) {
  d->own_names = calloc(n_classes ? n_classes : 1, sizeof *d->own_names);
  if (!d->own_names) return evc_err("out of memory");
  for (size_t c = 0; c < n_classes; c++) {
    const char *nm = ev_dataset_class_name(ds, c);
    if (!(d->own_names[c] = strdup(nm ? nm : "?"))) return evc_err("out of memory");
  }
  d->n_classes = (int)n_classes;
  d->class_names = (const char *const *)d->own_names;
  return 0;
}

/* Keep rows where keep[i] (in order) of m. */
static void keep_rows_where(evc_mat *m, const unsigned char *keep, size_t n) {
  size_t k = 0, w = m->cols;
  for (size_t i = 0; i < n; i++) {
    if (!keep[i]) continue;
    if (k != i) {
      if (m->f) memmove(m->f + k * w, m->f + i * w, w * sizeof *m->f);
      else memmove(m->i + k * w, m->i + i * w, w * sizeof *m->i);
    }
    k++;
  }
  m->rows = k;
}

static void keep_thumbs_where(evc_thumbs *t, const unsigned char *keep, size_t n) {
  size_t k = 0, sq = (size_t)t->side * (size_t)t->side * 3;
  for (size_t i = 0; i < n; i++) {
    if (!keep[i]) continue;
    if (k != i) {
      memmove(t->px + k * sq, t->px + i * sq, sq);
      t->w[k] = t->w[i];
      t->h[k] = t->h[i];
    }
    k++;
  }
  t->n = k;
}

/* Rows picked out of m into out (allocated). */
static int gather(const evc_mat *m, const int64_t *rows, size_t n, evc_mat *out) {
  if (m->f ? evc_mat_alloc_f(out, n, m->cols) : evc_mat_alloc_i(out, n, m->cols)) return 1;
  for (size_t k = 0; k < n; k++) {
    if (m->f) memcpy(out->f + k * m->cols, m->f + (size_t)rows[k] * m->cols, m->cols * sizeof *m->f);
    else memcpy(out->i + k * m->cols, m->i + (size_t)rows[k] * m->cols, m->cols * sizeof *m->i);
  }
  return 0;
}

/* Without a reference set: split the test rows per class, 80 % searched,
 * 20 % as queries. */
static int split_rows(const evr_options *o, evr_data *d) {
  size_t n = d->labels.rows;
  unsigned char *held = malloc(n ? n : 1);
  int64_t *ref = malloc((n ? n : 1) * sizeof *ref);
  d->query_rows = malloc((n ? n : 1) * sizeof *d->query_rows);
  if (!held || !ref || !d->query_rows) { free(held); free(ref); return evc_err("out of memory"); }
  if (pick_per_class(d->labels.i, n, d->n_classes, 0.2, 1, o->seed, held)) { free(held); free(ref); return 1; }
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (held[i]) d->query_rows[d->n_query_rows++] = (int64_t)i;
    else ref[m++] = (int64_t)i;
  }
  free(held);
  int rc = m < 2 || d->n_query_rows == 0
               ? evc_err("%zu images are too few to split into a reference set and queries for the neighbours: give "
                         "more images, or a reference folder with --reference-images", n)
               : 0;
  if (!rc && d->has_images) rc = gather(&d->images, ref, m, &d->train_images);
  if (!rc) rc = gather(&d->labels, ref, m, &d->train_labels) || gather(&d->layer[d->penultimate], ref, m, &d->train_feat);
  if (rc) { free(ref); return 1; }
  d->ref_shown = ref;
  snprintf(d->split, sizeof d->split, "No reference set was given (--reference-images), so the %zu test images were "
           "split per class at random (seed %ld): %zu (about 80%%) form the reference set the neighbours are searched "
           "in, %zu (about 20%%) are the queries shown with their neighbours. Every other section uses all %zu.",
           n, o->seed, m, d->n_query_rows, n);
  return 0;
}

/* The scores layer: probabilities (non-negative rows summing to 1) are
 * used as they are; anything else gets a softmax for the ambiguity and the
 * confusion matrix, and the page says so. */
static int check_scores(evr_data *d, const char *name, char *note, size_t len) {
  const evc_mat *s = &d->layer[d->softmax];
  int prob = 1;
  for (size_t i = 0; prob && i < s->rows; i++) {
    double sum = 0;
    for (size_t c = 0; c < s->cols; c++) {
      float v = s->f[i * s->cols + c];
      if (!(v >= 0)) prob = 0;
      sum += v;
    }
    if (fabs(sum - 1) > 1e-3) prob = 0;
  }
  if (prob) {
    snprintf(note, len, " The scores layer (%s) gives probabilities (each row non-negative, summing to 1): they are "
             "used as they are.", name);
    return 0;
  }
  if (evc_mat_alloc_f(&d->probs, s->rows, s->cols)) return 1;
  ev_status st = ev_softmax(s->f, s->rows, s->cols, s->cols, d->probs.f, s->cols);
  if (st) return evc_lib_err("the softmax of the scores", st);
  snprintf(note, len, " The scores layer (%s) gives logits, not probabilities (its rows are not non-negative values "
           "summing to 1): softmax was applied to them for the ambiguity and the confusion matrix; its map shows the "
           "scores as the model gives them.", name);
  return 0;
}

static int set_layer(evr_data *d, const char *name, evc_mat *m) {
  if (d->n_layers == EVR_MAX_LAYERS) return evc_err("at most %d layers", EVR_MAX_LAYERS);
  d->layer_name[d->n_layers] = strdup(name);
  d->layer[d->n_layers++] = *m;
  memset(m, 0, sizeof *m);
  return d->layer_name[d->n_layers - 1] ? 0 : evc_err("out of memory");
}

static int copy_pixels_layer(evr_data *d) {
  evc_mat m = {0};
  if (evc_mat_alloc_f(&m, d->images.rows, d->images.cols)) return 1;
  memcpy(m.f, d->images.f, d->images.rows * d->images.cols * sizeof *m.f);
  return set_layer(d, "pixels", &m);
}

/* ---- --images DIR --model FILE -------------------------------------------------- */

typedef struct folder_set {
  ev_dataset *all;     /* the folder */
  ev_dataset *ds;      /* the images used, in order */
  size_t n;
  unsigned char *bad;  /* n: left out after all */
  size_t skip0;        /* ds's skipped files listed before the extraction */
} folder_set;

/* The folder's data set, its items subsampled (per class) to at most cap,
 * their pictures, and a data set of the images whose pictures could be
 * made. items: the folder items used. */
static int open_folder(const evr_options *o, const char *dir, long cap, evr_data *d, folder_set *f, evc_thumbs *t,
                       evc_mat *pix, int32_t **labels_out) {
  ev_status st;
  memset(f, 0, sizeof *f);
  if ((st = ev_dataset_from_folder(dir, 1, &f->all))) return evc_lib_err("reading the image folder", st);
  if (copy_skipped(d, f->all)) return 1;
  size_t n_all, n_classes;
  ev_dataset_count(f->all, &n_all);
  ev_dataset_class_count(f->all, &n_classes);
  int32_t *lab32 = malloc(n_all * sizeof *lab32);
  int64_t *lab = malloc(n_all * sizeof *lab);
  unsigned char *use = malloc(n_all ? n_all : 1);
  size_t *items = malloc((n_all ? n_all : 1) * sizeof *items);
  int rc = !lab32 || !lab || !use || !items ? evc_err("out of memory") : 0;
  if (!rc) {
    ev_dataset_labels(f->all, lab32, n_all);
    for (size_t i = 0; i < n_all; i++) lab[i] = lab32[i];
    if ((size_t)cap < n_all) rc = pick_per_class(lab, n_all, (int)n_classes, (double)cap / (double)n_all, 1, o->seed, use);
    else memset(use, 1, n_all);
  }
  size_t n = 0;
  for (size_t i = 0; !rc && i < n_all; i++)
    if (use[i]) items[n++] = i;
  char **why = rc ? NULL : calloc(n ? n : 1, sizeof *why);
  unsigned char *ok = rc ? NULL : malloc(n ? n : 1);
  if (!rc && (!why || !ok)) rc = evc_err("out of memory");
  if (!rc && t) rc = evc_thumbs_alloc(t, n, EVR_THUMB_SIDE) ? 1 : 0;
  if (!rc) rc = evc_mat_alloc_f(pix, n, (size_t)EVR_PIXEL_SIDE * EVR_PIXEL_SIDE * 3);
  if (!rc) rc = pictures_of(f->all, items, n, t, pix, ok, why, &d->n_grey_files, o->threads);
  /* the images whose pictures could be made form the data set used */
  const char **paths = rc ? NULL : malloc((n ? n : 1) * sizeof *paths);
  int32_t *labels = rc ? NULL : malloc((n ? n : 1) * sizeof *labels);
  if (!rc && (!paths || !labels)) rc = evc_err("out of memory");
  size_t m = 0;
  for (size_t j = 0; !rc && j < n; j++) {
    if (!ok[j]) { rc = add_skip(d, ev_dataset_item_path(f->all, items[j]), why[j]); continue; }
    paths[m] = ev_dataset_item_path(f->all, items[j]);
    labels[m++] = lab32[items[j]];
  }
  if (!rc && m < n) {
    keep_rows_where(pix, ok, n);
    if (t) keep_thumbs_where(t, ok, n);
  }
  if (!rc && m == 0) rc = evc_err("%s: none of its images could be read (see the reasons above)", dir);
  if (!rc && (st = ev_dataset_from_paths(paths, m, labels, 1, &f->ds))) rc = evc_lib_err("reading the images", st);
  if (!rc) rc = copy_skipped(d, f->ds) || set_preprocessing(o, f->ds);
  if (!rc) f->skip0 = ev_dataset_skipped_count(f->ds);
  if (!rc) {
    size_t n_ds;
    ev_dataset_count(f->ds, &n_ds);
    if (n_ds != m) rc = evc_err("%s: %zu of its images became unreadable while the report ran", dir, m - n_ds);
    f->n = m;
    f->bad = calloc(m ? m : 1, 1);
    if (!f->bad) rc = evc_err("out of memory");
  }
  if (!rc) *labels_out = labels, labels = NULL;
  for (size_t j = 0; why && j < n; j++) free(why[j]);
  free(why);
  free(ok);
  free(paths);
  free(labels);
  free(lab32);
  free(lab);
  free(use);
  free(items);
  return rc;
}

static void folder_set_free(folder_set *f) {
  ev_dataset_free(f->ds);
  ev_dataset_free(f->all);
  free(f->bad);
  memset(f, 0, sizeof *f);
}

/* Drop the rows a batch found corrupt (rare: the headers were fine). */
static int drop_bad(evr_data *d, folder_set *f, evc_mat *out, int n_out, evc_mat *pix, evc_thumbs *t, evc_mat *lab) {
  for (size_t s = f->skip0; s < ev_dataset_skipped_count(f->ds); s++)   /* found while reading batches */
    if (add_skip(d, ev_dataset_skipped_path(f->ds, s), ev_dataset_skipped_reason(f->ds, s))) return 1;
  size_t bad = 0;
  for (size_t i = 0; i < f->n; i++) bad += f->bad[i];
  if (!bad) return 0;
  unsigned char *keep = malloc(f->n);
  if (!keep) return evc_err("out of memory");
  for (size_t i = 0; i < f->n; i++) keep[i] = !f->bad[i];
  for (int l = 0; l < n_out; l++) keep_rows_where(&out[l], keep, f->n);
  keep_rows_where(pix, keep, f->n);
  keep_rows_where(lab, keep, f->n);
  if (t) keep_thumbs_where(t, keep, f->n);
  free(keep);
  return 0;
}

/* The early layer's feature maps for the page's side panel (report_fmaps.h):
 * the layer is kept pooled for its map, so the images the panel shows go
 * through the model again, unpooled, batch by batch, each row averaged
 * down at once. Which images and how far down: evr_fmaps_fit within
 * --feature-maps-budget. (explain: o->maps_layer for row o->maps_row.) */
static int early_maps(const evr_options *o, evr_data *d, const folder_set *fs, const model_run *m) {
  const char *layer = o->maps_one ? o->maps_layer : d->early >= 0 ? d->layer_name[d->early] : NULL;
  size_t n = d->labels.rows, shown = 1, batch = (size_t)o->batch, dims[8], nd = 0, cols = 0, c, h, w;
  if (!layer || (o->maps_one && (o->maps_row < 0 || (size_t)o->maps_row >= n))) return 0;
  int step = 1;
  ev_extractor *ex = NULL;
  ev_status st;
  if ((st = ev_extractor_create(m->model, &ex)) || (st = ev_extractor_set(ex, EV_EXTRACT_POOL, 0)) ||
      (st = ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, (double)batch)) ||
      (st = ev_extractor_set(ex, EV_EXTRACT_THREADS, (double)o->threads)) || (st = ev_extractor_add_layer(ex, layer)) ||
      (st = ev_extractor_prepare(ex, (size_t)o->channels, (size_t)o->crop, (size_t)o->crop)) ||
      (st = ev_extractor_layer_cols(ex, 0, &cols)) || (st = ev_extractor_layer_shape(ex, 0, dims, &nd))) {
    ev_extractor_free(ex);
    return evc_lib_err("setting up the feature maps' extraction", st);
  }
  if (nd != 3) {   /* not a stack of maps: the panel shows its values */
    ev_extractor_free(ex);
    return 0;
  }
  if (!o->maps_one) evr_fmaps_fit(n, (int)dims[0], (int)dims[1], (int)dims[2], o->fmaps_budget, &step, &shown);
  size_t sh[3] = {dims[0], dims[1], dims[2]};
  size_t per = sh[0] * ((sh[1] + (size_t)step - 1) / (size_t)step) * ((sh[2] + (size_t)step - 1) / (size_t)step);
  const char **paths = malloc(shown * sizeof *paths);
  size_t *item = malloc((n ? n : 1) * sizeof *item);
  float *in = NULL, *out = NULL;
  ev_dataset *ds = NULL;
  int rc = !paths || !item ? evc_err("out of memory") : 0;
  for (size_t i = 0, r = 0; !rc && i < fs->n; i++)   /* test row -> item, bad ones dropped */
    if (!fs->bad[i]) item[r++] = i;
  for (size_t j = 0; !rc && j < shown; j++)
    paths[j] = ev_dataset_item_path(fs->ds, item[o->maps_one ? (size_t)o->maps_row : evr_fmaps_row(j, n, shown)]);
  if (!rc && (st = ev_dataset_from_paths(paths, shown, NULL, 0, &ds))) rc = evc_lib_err("reading the images again for the feature maps", st);
  if (!rc) rc = set_preprocessing(o, ds);
  if (!rc && (st = ev_dataset_item_shape(ds, &c, &h, &w))) rc = evc_lib_err("the images' shape", st);
  if (!rc && (!(in = malloc(batch * c * h * w * sizeof *in)) || !(out = malloc(batch * cols * sizeof *out))))
    rc = evc_err("out of memory for the feature maps (a batch of %zu images)", batch);
  if (!rc) rc = evc_mat_alloc_f(&d->maps, shown, per);
  for (size_t j = 0; !rc && j < shown; j += batch) {
    size_t b = shown - j < batch ? shown - j : batch;
    float *dst[1] = {out};
    if (evc_interrupted) rc = evc_err("cancelled (Ctrl-C): nothing was written");
    else if ((st = ev_dataset_read(ds, j, b, in, c * h * w)) || (st = ev_extractor_run(ex, in, b, c, h, w, c * h * w, dst, &cols)))
      rc = evc_lib_err("extracting the feature maps", st);
    for (size_t k = 0; !rc && k < b; k++)
      evr_fmaps_shrink(out + k * cols, (int)sh[0], (int)sh[1], (int)sh[2], step, d->maps.f + (j + k) * per);
    if (!o->maps_one) evc_progress("feature maps", EV_STAGE_EXTRACT, j + b, shown, 0);
  }
  evc_progress_done();
  if (!rc) {
    d->maps_step = step;
    memcpy(d->maps_shape, sh, sizeof sh);
  } else {
    evc_mat_free(&d->maps);
  }
  if (!rc && !o->maps_one) {
    size_t used = strlen(d->pooling);
    char shrunk[160] = "";
    if (step > 1)
      snprintf(shrunk, sizeof shrunk, ", each map averaged over %d x %d blocks to %zu x %zu", step, step,
               (sh[1] + (size_t)step - 1) / (size_t)step, (sh[2] + (size_t)step - 1) / (size_t)step);
    snprintf(d->pooling + used, sizeof d->pooling - used, " The side panel's feature maps of %s come from a second, "
             "unpooled pass over %s%zu of the %zu images%s, within --feature-maps-budget %g MB.",
             layer, shown < n ? "" : "all ", shown, n, shrunk, o->fmaps_budget);
  }
  ev_extractor_free(ex);
  ev_dataset_free(ds);
  free(in);
  free(out);
  free(paths);
  free(item);
  return rc;
}

static int labels_mat(const int32_t *l32, size_t n, evc_mat *m) {
  if (evc_mat_alloc_i(m, n, 1)) return 1;
  for (size_t i = 0; i < n; i++) m->i[i] = l32[i];
  return 0;
}

static void describe_prep(const evr_options *o, evr_data *d) {
  char norm[200];
  if (o->mean_given || o->std_given) {
    double m[3], sd[3];
    for (int c = 0; c < 3; c++) {
      static const double im[3] = {0.485, 0.456, 0.406}, is[3] = {0.229, 0.224, 0.225};
      m[c] = o->mean_given ? o->mean[c] : o->channels == 1 ? 0 : im[c];
      sd[c] = o->std_given ? o->std[c] : o->channels == 1 ? 1 : is[c];
    }
    if (o->channels == 1)
      snprintf(norm, sizeof norm, "Normalize(mean %g, std %g)", m[0], sd[0]);
    else
      snprintf(norm, sizeof norm, "Normalize(mean %g, %g, %g, std %g, %g, %g)", m[0], m[1], m[2], sd[0], sd[1], sd[2]);
  }
  else if (o->channels == 3)
    snprintf(norm, sizeof norm, "Normalize(ImageNet's mean 0.485, 0.456, 0.406 and std 0.229, 0.224, 0.225)");
  else
    snprintf(norm, sizeof norm, "no normalisation");
  snprintf(d->prep, sizeof d->prep, "Each image was read as %s, then Resize(%ld), CenterCrop(%ld), ToTensor, %s "
           "(torchvision's preprocessing; change it with --resize, --crop, --mean, --std, --channels).",
           o->channels == 1 ? "grey (convert(\"L\"))" : "RGB (convert(\"RGB\"))", o->resize, o->crop, norm);
}

int evr_load_folder(const evr_options *o, evr_data *d) {
  memset(d, 0, sizeof *d);
  d->kind = EVR_FOLDER;
  d->has_images = 1;
  d->grey_model = o->channels == 1;
  d->early = d->softmax = -1;
  char **classes = NULL, **ref_classes = NULL;
  size_t n_classes = 0, n_ref_classes = 0;
  if (!ev_extract_available())
    return evc_err("--model needs extraction, which is not available (%s). Extract the features elsewhere and use "
                   "--features F.npy --labels L.npy instead", ev_last_error());
  if (scan_classes(o->images, d, NULL, NULL, NULL, &classes, &n_classes)) return free_strings(classes, n_classes), 1;
  int rc = 0;
  if (o->reference_images) {
    rc = scan_classes(o->reference_images, d, NULL, NULL, NULL, &ref_classes, &n_ref_classes);
    for (size_t c = 0; !rc && c < (n_classes > n_ref_classes ? n_classes : n_ref_classes); c++)
      if (c >= n_classes || c >= n_ref_classes || strcmp(classes[c], ref_classes[c]))
        rc = evc_err("the class folders of --reference-images %s differ from those of --images %s (%s): give both the "
                     "same class sub-folders", o->reference_images, o->images,
                     c >= n_classes ? "an extra class there" : c >= n_ref_classes ? "a class missing there" : "first at a different name");
  }
  free_strings(ref_classes, n_ref_classes);
  free_strings(classes, n_classes);
  if (rc) return 1;
  /* the model first: a wrong file, layer or class count fails in seconds */
  evr_layer_choice ch;
  model_run m;
  memset(&m, 0, sizeof m);
  if (layer_names(o, d, &ch) || open_model(o, d, &ch, &m)) { model_free(&m); return 1; }
  int scores_at = -1, pen_at = -1;
  for (int l = 0; l < m.n; l++) {
    if (!strcmp(m.name[l], ch.name[ch.scores])) scores_at = l;
    if (!strcmp(m.name[l], ch.name[ch.penultimate])) pen_at = l;
  }
  if (scores_at < 0 || pen_at < 0) {
    model_free(&m);
    return evc_err("the penultimate and scores layers cannot be the input pixels: name model layers");
  }
  if (m.cols[scores_at] != n_classes) {
    evc_err("the model gives %zu class scores (layer '%s') but %s has %zu class folders: give the folder the "
            "model was trained for, or the model trained on these classes", m.cols[scores_at], ch.name[ch.scores],
            o->images, n_classes);
    model_free(&m);
    return 1;
  }
  describe_prep(o, d);
  folder_set fs, fr;
  memset(&fr, 0, sizeof fr);
  evc_mat out[EVR_MAX_LAYERS] = {{0}}, rout[EVR_MAX_LAYERS] = {{0}};
  int32_t *l32 = NULL, *r32 = NULL;
  double t0 = evc_now();
  rc = open_folder(o, o->images, o->samples, d, &fs, &d->thumbs, &d->images, &l32) || labels_mat(l32, fs.n, &d->labels);
  if (!rc && o->reference_images)
    rc = open_folder(o, o->reference_images, o->train_samples, d, &fr, NULL, &d->train_images, &r32) ||
         labels_mat(r32, fr.n, &d->train_labels);
  d->seconds_pictures = evc_now() - t0;
  t0 = evc_now();
  if (!rc) rc = run_model(&m, fs.ds, fs.n, "test images", out, fs.bad) ||
                drop_bad(d, &fs, out, m.n, &d->images, &d->thumbs, &d->labels);
  if (!rc && o->reference_images)
    rc = run_model(&m, fr.ds, fr.n, "reference images", rout, fr.bad) ||
         drop_bad(d, &fr, rout, m.n, &d->train_images, NULL, &d->train_labels);
  d->seconds_model = evc_now() - t0;
  if (!rc) rc = own_class_names(d, fs.all, n_classes);
  if (!rc) {   /* the layers in their order, "pixels" from the pixel rows */
    for (int l = 0; !rc && l < ch.n; l++) {
      int at = d->n_layers;
      if (!strcmp(ch.name[l], "pixels")) { rc = copy_pixels_layer(d); continue; }
      for (int k = 0; k < m.n; k++)
        if (!strcmp(m.name[k], ch.name[l])) {
          rc = set_layer(d, ch.name[l], &out[k]);
          memcpy(d->layer_shape[at], m.shape[k], sizeof m.shape[k]);
        }
      if (l == ch.penultimate) d->penultimate = at;
      if (l == ch.scores) d->softmax = at;
      if (l == ch.early && !o->layers_given) d->early = at;
    }
  }
  if (!rc && (d->early >= 0 || o->maps_one)) {
    t0 = evc_now();
    rc = early_maps(o, d, &fs, &m);
    d->seconds_model += evc_now() - t0;
  }
  if (!rc && o->reference_images) {
    d->train_feat = rout[pen_at];
    memset(&rout[pen_at], 0, sizeof rout[pen_at]);
    d->ref_ds = fr.ds;
    fr.ds = NULL;
    d->ref_items = malloc((fr.n ? fr.n : 1) * sizeof *d->ref_items);   /* rows -> items, bad ones dropped */
    if (!d->ref_items) rc = evc_err("out of memory");
    for (size_t i = 0, k = 0; !rc && i < fr.n; i++)
      if (!fr.bad[i]) d->ref_items[k++] = (int64_t)i;
    size_t nq = d->labels.rows;   /* every test image may be a query */
    d->query_rows = malloc((nq ? nq : 1) * sizeof *d->query_rows);
    if (!d->query_rows) rc = evc_err("out of memory");
    for (size_t i = 0; !rc && i < nq; i++) d->query_rows[i] = (int64_t)i;
    d->n_query_rows = nq;
    snprintf(d->split, sizeof d->split, "The neighbours are searched among %zu images of the reference folder %s "
             "(--reference-images).", d->train_labels.rows, o->reference_images);
  } else if (!rc) {
    rc = split_rows(o, d);
  }
  char note[600] = "";
  if (!rc) rc = check_scores(d, ch.name[ch.scores], note, sizeof note);
  if (!rc) {
    size_t n_all = 0;
    ev_dataset_count(fs.all, &n_all);
    int cut = snprintf(d->source, sizeof d->source, "%zu images of %zu classes from %s%s, through the model %s.%s",
                       d->labels.rows, n_classes, o->images,
                       (size_t)o->samples < n_all ? " (a per-class random sample, --samples)" : "", o->model, note);
    (void)cut;
    /* files whose channels the model's input changed */
    d->n_converted = o->channels == 3 ? d->n_grey_files : d->labels.rows - d->n_grey_files;
  }
  for (int l = 0; l < EVR_MAX_LAYERS; l++) evc_mat_free(&out[l]), evc_mat_free(&rout[l]);
  free(l32);
  free(r32);
  folder_set_free(&fs);
  folder_set_free(&fr);
  model_free(&m);
  d->thumbs.grey = 0;
  return rc;
}

/* ---- --features F --labels L [--scores S] [--images DIR or LIST] ------------------ */

/* The image paths of --images for --features: every image file of a class
 * folder in ImageFolder order, or the lines of a list file. */
static int feature_image_paths(const evr_options *o, evr_data *d, char ***paths, size_t *n, char ***classes,
                               size_t *n_classes) {
  if (is_dir(o->images)) {
    int32_t *lab = NULL;
    int rc = scan_classes(o->images, d, paths, &lab, n, classes, n_classes);
    free(lab);
    return rc;
  }
  FILE *f = fopen(o->images, "r");
  if (!f) return evc_err("--images %s: %s: give a folder of class folders or a text file with one image path a line",
                         o->images, strerror(errno));
  char line[8192];
  int rc = 0;
  while (!rc && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (*line) rc = push_str(paths, n, line);
  }
  fclose(f);
  if (!rc && *n == 0) rc = evc_err("--images %s lists no image paths (one a line)", o->images);
  return rc;
}

/* Pictures of the rows: thumbnails and pixel rows, row i from path i; rows
 * whose file cannot be read get a blank picture and are listed. */
static int feature_pictures(const evr_options *o, evr_data *d, char **paths, size_t n) {
  ev_dataset *ds = NULL;
  ev_status st = ev_dataset_from_paths((const char *const *)paths, n, NULL, 1, &ds);
  if (st) return evc_lib_err("reading the images", st);
  size_t n_ds = 0;
  ev_dataset_count(ds, &n_ds);
  size_t *items = malloc((n ? n : 1) * sizeof *items), *row_of = malloc((n_ds ? n_ds : 1) * sizeof *row_of);
  char **why = calloc(n_ds ? n_ds : 1, sizeof *why);
  unsigned char *ok = malloc(n_ds ? n_ds : 1);
  evc_thumbs t = {0};
  evc_mat pix = {0};
  int rc = !items || !row_of || !why || !ok ? evc_err("out of memory") : 0;
  /* items are the readable paths in order */
  for (size_t i = 0, k = 0; !rc && i < n && k < n_ds; i++)
    if (!strcmp(paths[i], ev_dataset_item_path(ds, k))) items[k] = k, row_of[k++] = i;
  if (!rc) rc = evc_thumbs_alloc(&t, n_ds, EVR_THUMB_SIDE) || evc_mat_alloc_f(&pix, n_ds, (size_t)EVR_PIXEL_SIDE * EVR_PIXEL_SIDE * 3);
  if (!rc) rc = pictures_of(ds, items, n_ds, &t, &pix, ok, why, &d->n_grey_files, o->threads);
  if (!rc) rc = copy_skipped(d, ds) || evc_thumbs_alloc(&d->thumbs, n, EVR_THUMB_SIDE) ||
                evc_mat_alloc_f(&d->images, n, pix.cols);
  if (!rc) {
    for (size_t k = 0; k < n * pix.cols; k++) d->images.f[k] = 0.5f;
    for (size_t k = 0; !rc && k < n_ds; k++) {
      size_t i = row_of[k], sq = (size_t)t.side * (size_t)t.side * 3;
      if (!ok[k]) { rc = add_skip(d, paths[i], why[k]); continue; }
      memcpy(d->thumbs.px + i * sq, t.px + k * sq, sq);
      d->thumbs.w[i] = t.w[k];
      d->thumbs.h[i] = t.h[k];
      memcpy(d->images.f + i * pix.cols, pix.f + k * pix.cols, pix.cols * sizeof *pix.f);
    }
  }
  for (size_t k = 0; why && k < n_ds; k++) free(why[k]);
  free(why);
  free(ok);
  free(items);
  free(row_of);
  evc_thumbs_free(&t);
  evc_mat_free(&pix);
  ev_dataset_free(ds);
  return rc;
}

int evr_load_features(const evr_options *o, evr_data *d) {
  memset(d, 0, sizeof *d);
  d->kind = EVR_FEATURES;
  d->early = d->softmax = -1;
  evc_mat feat = {0}, scores = {0};
  if (!o->labels) return evc_err("--features needs --labels L.npy (one class number per row)");
  if (evc_read_any(o->features, 0, &feat) || evc_read_any(o->labels, 1, &d->labels) ||
      (o->scores && evc_read_any(o->scores, 0, &scores))) {
    evc_mat_free(&feat);
    evc_mat_free(&scores);
    return 1;
  }
  size_t n = feat.rows;
  int rc = 0;
  if (d->labels.rows * d->labels.cols != n)
    rc = evc_err("%s has %zu labels for the %zu rows of %s: give one label per row", o->labels,
                 d->labels.rows * d->labels.cols, n, o->features);
  if (!rc && o->scores && scores.rows != n)
    rc = evc_err("%s has %zu rows, %s has %zu: give one row of class scores per row of features", o->scores,
                 scores.rows, o->features, n);
  d->labels.rows = n;
  d->labels.cols = 1;
  int max = -1;
  for (size_t i = 0; !rc && i < n; i++) {
    if (d->labels.i[i] < 0 || d->labels.i[i] > 100000)
      rc = evc_err("%s: label %lld at row %zu is not a class number (0, 1, ...)", o->labels, (long long)d->labels.i[i], i);
    else if (d->labels.i[i] > max) max = (int)d->labels.i[i];
  }
  d->n_classes = max + 1;
  if (!rc && o->scores && (int)scores.cols < d->n_classes)
    rc = evc_err("%s has %zu columns of class scores, the labels go up to class %d: give one column per class",
                 o->scores, scores.cols, max);
  if (!rc && o->scores) d->n_classes = (int)scores.cols;
  char **paths = NULL, **classes = NULL;
  size_t n_paths = 0, n_classes = 0, n_all = n;
  if (!rc && o->images) {
    rc = feature_image_paths(o, d, &paths, &n_paths, &classes, &n_classes);
    if (!rc && n_paths != n)
      rc = evc_err("--images %s gives %zu images for the %zu rows of %s: row i of the features must be image i (in "
                   "ImageFolder order for a folder)", o->images, n_paths, n, o->features);
  }
  if (!rc && n > (size_t)o->samples) {   /* a per-class random sample of the rows */
    unsigned char *keep = malloc(n);
    if (!keep || pick_per_class(d->labels.i, n, d->n_classes, (double)o->samples / (double)n, 1, o->seed, keep)) {
      free(keep);
      rc = keep ? 1 : evc_err("out of memory");
    } else {
      keep_rows_where(&feat, keep, n);
      keep_rows_where(&d->labels, keep, n);
      if (o->scores) keep_rows_where(&scores, keep, n);
      size_t k = 0;
      for (size_t i = 0; paths && i < n; i++) {
        if (keep[i]) paths[k++] = paths[i];
        else free(paths[i]);
      }
      if (paths) n_paths = k;
      n = feat.rows;
      free(keep);
    }
  }
  if (!rc && o->images) {
    rc = feature_pictures(o, d, paths, n);
    d->has_images = !rc;
  }
  if (!rc) {   /* class names: the folder's when they cover the labels */
    d->own_names = calloc((size_t)d->n_classes + 1, sizeof *d->own_names);
    if (!d->own_names) rc = evc_err("out of memory");
    for (int c = 0; !rc && c < d->n_classes; c++) {
      char buf[32];
      snprintf(buf, sizeof buf, "class %d", c);
      d->own_names[c] = strdup((size_t)c < n_classes && (int)n_classes >= d->n_classes ? classes[c] : buf);
    }
    d->class_names = (const char *const *)d->own_names;
  }
  free_strings(paths, n_paths);
  free_strings(classes, n_classes);
  if (!rc && d->has_images) rc = copy_pixels_layer(d);
  if (!rc) {
    d->penultimate = d->n_layers;
    rc = set_layer(d, "features", &feat);
  }
  char note[600] = "";
  if (!rc && o->scores) {
    d->softmax = d->n_layers;
    rc = set_layer(d, "scores", &scores) || check_scores(d, "scores", note, sizeof note);
  }
  if (!rc) rc = split_rows(o, d);
  if (!rc) {
    snprintf(d->source, sizeof d->source, "%zu rows%s of features from %s (the penultimate layer), labels from %s%s%s%s. "
             "No model was run.%s%s", n, n < n_all ? " (a per-class random sample, --samples)" : "", o->features, o->labels, o->scores ? ", class scores from " : "",
             o->scores ? o->scores : "", o->scores ? "" : " (no class scores: no ambiguity or confusion sections)",
             note, d->has_images ? "" : " No images were given (--images): the report has no pictures.");
    snprintf(d->layers_why, sizeof d->layers_why, "The maps show the features%s%s.", d->has_images ? ", the pixels" : "",
             o->scores ? " and the class scores" : "");
  }
  evc_mat_free(&feat);
  evc_mat_free(&scores);
  return rc;
}

/* ---- the reference rows' pictures ------------------------------------------------- */

int evr_reference_thumbs(const evr_data *d, const int64_t *rows, size_t n, evc_thumbs *t) {
  int side = d->kind == EVR_DEMO ? d->side : EVR_THUMB_SIDE;
  if (evc_thumbs_alloc(t, n, side)) return 1;
  t->grey = d->thumbs.grey;
  size_t sq = (size_t)side * (size_t)side * 3;
  unsigned char *buf = malloc(sq);
  if (!buf) return evc_thumbs_free(t), evc_err("out of memory");
  for (size_t k = 0; k < n; k++) {
    if (d->kind == EVR_DEMO) {
      evc_thumbs_put_grey(t, k, d->train_images.f + (size_t)rows[k] * d->train_images.cols, 1);
    } else if (d->ref_shown) {
      size_t i = (size_t)d->ref_shown[rows[k]];
      memcpy(t->px + k * sq, d->thumbs.px + i * sq, sq);
      t->w[k] = d->thumbs.w[i];
      t->h[k] = d->thumbs.h[i];
    } else if (d->ref_ds) {
      size_t w, h;
      if (ev_dataset_thumbnail_fit(d->ref_ds, (size_t)d->ref_items[rows[k]], (size_t)side, buf, &w, &h, NULL) == EV_OK)
        evc_thumbs_put(t, k, buf, (int)w, (int)h);
    }
  }
  free(buf);
  return 0;
}
