/*
 * report_layers.c - the report's default layers (report_layers.h), chosen
 * by the layers' module kinds (ev_model_layer_kind) and one forward pass
 * of a probe input of the report's size. The rules (docs/cli.md, "Layers
 * chosen for you"):
 *
 *  - pixels: the input itself;
 *  - early: the first pooling layer (MaxPool2d, AvgPool2d...: not the
 *    adaptive ones, not one whose output is 1 x 1), or, when its next
 *    sibling is a stage of blocks (a module with submodules) at the same
 *    resolution, that stage (ResNet: maxpool, then layer1; DenseNet:
 *    features.pool0, then features.denseblock1). Without a pooling layer:
 *    the last of the outermost modules whose C x H x W output is at the
 *    first resolution below the input's (MobileNetV2: features.1;
 *    ConvNeXt: features.1). None when no module gives a feature map;
 *  - penultimate: "<L>:input" for the last Linear L, the one whose output
 *    is the model's output (itself, its softmax or log-softmax) on the
 *    probe; when none is, the last Linear listed. Without a Linear: the
 *    output of the last module whose width is not the class count (the
 *    module before the output);
 *  - scores: "output".
 *
 * Modules are taken in the order the model lists them (named_modules:
 * registration order, the call order of torchvision's models and of
 * Sequential stacks); the probe decides the last Linear by value, which is
 * call order whatever the registration order was. The probe costs two
 * forward passes of one input (shapes, then values) through the outer two
 * levels of modules, the Linears and the pooling layers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report_layers.h"

/* One layer of the model and what the probe pass found. */
typedef struct probe_layer {
  const char *name, *kind;
  int depth;      /* dots in the name; -1: not a module (output...) */
  int slot;       /* its output in the probe extractor, -1: not probed */
  size_t ndim, dims[8], cols;
  const float *row; /* the probe input's pooled row */
} probe_layer;

typedef struct probe {
  ev_model *model;
  ev_extractor *ex;
  size_t n;             /* layers of the model */
  probe_layer *layer;
  int n_slots;
  float *rows;          /* every probed layer's pooled row */
  long output;          /* index of "output", -1 when there is none */
} probe;

static int is_pool(const char *kind) {
  return strstr(kind, "Pool") && strncmp(kind, "Adaptive", 8) != 0;
}

/* Worth probing: Linears and pooling layers anywhere, the outer two levels
 * of modules, the output; with `narrow`, the Linears and the output only. */
static int wanted(const probe_layer *l, int narrow) {
  if (l->depth < 0) return !strcmp(l->name, "output");
  if (!strcmp(l->kind, "Linear")) return 1;
  return !narrow && (l->depth <= 1 || is_pool(l->kind));
}

static int has_submodules(const probe *p, size_t i) {
  size_t len = strlen(p->layer[i].name);
  for (size_t j = 0; j < p->n; j++)
    if (p->layer[j].depth >= 0 && !strncmp(p->layer[j].name, p->layer[i].name, len) &&
        p->layer[j].name[len] == '.')
      return 1;
  return 0;
}

/* H * W of a layer's C x H x W feature map; 0 for anything else, and for
 * Linears (whose 3-d outputs, in ConvNeXt's blocks, are channels-last). */
static size_t spatial(const probe_layer *l) {
  if (l->slot < 0 || l->ndim != 3 || !strcmp(l->kind, "Linear")) return 0;
  return l->dims[1] * l->dims[2];
}

static void probe_free(probe *p) {
  ev_extractor_free(p->ex);
  ev_model_free(p->model);
  free(p->layer);
  free(p->rows);
}

/* A deterministic probe input in [-1, 1): the same choice every run. */
static float *probe_input(size_t count) {
  float *x = malloc(count * sizeof *x);
  unsigned long long s = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; x && i < count; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x[i] = (float)((double)(s >> 40) / (double)(1ull << 23)) - 1.0f;
  }
  return x;
}

/* Load the model and list its layers with their kinds. */
static int probe_list(const char *path, probe *p) {
  ev_status st = ev_model_load(path, EV_DEVICE_CPU, &p->model);
  if (!st) st = ev_model_n_layers(p->model, &p->n);
  if (st) return evc_lib_err("loading the model", st);
  p->layer = calloc(p->n ? p->n : 1, sizeof *p->layer);
  if (!p->layer) return evc_err("out of memory");
  p->output = -1;
  for (size_t i = 0; i < p->n; i++) {
    probe_layer *l = &p->layer[i];
    if ((st = ev_model_layer_name(p->model, i, &l->name)) || (st = ev_model_layer_kind(p->model, i, &l->kind)))
      return evc_lib_err("listing the model's layers", st);
    l->depth = -1;
    if (*l->kind) {
      l->depth = 0;
      for (const char *s = l->name; *s; s++) l->depth += *s == '.';
    }
    if (!strcmp(l->name, "output")) p->output = (long)i;
  }
  if (p->output < 0)
    return evc_err("%s: the model does not return one tensor of class scores (it has no layer \"output\"): "
                   "name the layers with --layers", path);
  return 0;
}

/* One forward pass of the probe input of c x h x w through the layers
 * worth probing (pooled rows), recording their shapes and rows. A layer
 * forward never calls, or that gives no tensor, is left out. */
static ev_status probe_run(probe *p, size_t c, size_t h, size_t w, int narrow) {
  ev_extractor_free(p->ex);
  p->ex = NULL;
  p->n_slots = 0;
  ev_status st = ev_extractor_create(p->model, &p->ex);
  if (!st) st = ev_extractor_set(p->ex, EV_EXTRACT_POOL, 1);
  if (st) return st;
  for (size_t i = 0; i < p->n; i++) {
    probe_layer *l = &p->layer[i];
    l->slot = -1;
    if (wanted(l, narrow) && ev_extractor_add_layer(p->ex, l->name) == EV_OK) l->slot = p->n_slots++;
  }
  if (p->layer[p->output].slot < 0) { /* say why the output is out of reach */
    st = ev_extractor_add_layer(p->ex, "output");
    return st ? st : EV_ERR_UNSUPPORTED;
  }
  if ((st = ev_extractor_prepare(p->ex, c, h, w))) return st;
  size_t total = 0;
  for (size_t i = 0; i < p->n; i++) {
    probe_layer *l = &p->layer[i];
    if (l->slot < 0) continue;
    ev_extractor_layer_shape(p->ex, (size_t)l->slot, l->dims, &l->ndim);
    ev_extractor_layer_cols(p->ex, (size_t)l->slot, &l->cols);
    total += l->cols;
  }
  float **out = calloc((size_t)p->n_slots, sizeof *out);
  size_t *ld = calloc((size_t)p->n_slots, sizeof *ld);
  float *x = probe_input(c * h * w);
  free(p->rows);
  p->rows = malloc((total ? total : 1) * sizeof *p->rows);
  st = !out || !ld || !x || !p->rows ? EV_ERR_NOMEM : EV_OK;
  for (size_t i = 0, at = 0; !st && i < p->n; i++) {
    probe_layer *l = &p->layer[i];
    if (l->slot < 0) continue;
    out[l->slot] = p->rows + at;
    l->row = p->rows + at;
    ld[l->slot] = l->cols;
    at += l->cols;
  }
  if (!st) st = ev_extractor_run(p->ex, x, 1, c, h, w, c * h * w, out, ld);
  free(out), free(ld), free(x);
  return st;
}

/* Probe the model; when a module of the wide set breaks the pass (say, a
 * module whose rows are not one per input), probe the Linears alone. */
static int probe_model(const char *path, size_t c, size_t h, size_t w, probe *p) {
  int rc = probe_list(path, p);
  if (rc) return rc;
  ev_status st = probe_run(p, c, h, w, 0);
  if (st && st != EV_ERR_NOMEM) st = probe_run(p, c, h, w, 1);
  if (st == EV_ERR_NOMEM && !ev_last_error()[0]) return evc_err("out of memory");
  if (st) return evc_lib_err("running the model once to choose its layers", st);
  return 0;
}

/* Whether v (k values) is the model's output o itself, its softmax or its
 * log-softmax, to float precision. */
static int gives_output(const float *v, const float *o, size_t k) {
  double mx = -INFINITY, sum = 0, scale = 1, d[3] = {0, 0, 0};
  for (size_t j = 0; j < k; j++) mx = v[j] > mx ? v[j] : mx;
  for (size_t j = 0; j < k; j++) sum += exp(v[j] - mx), scale = fmax(scale, fabs(o[j]));
  double lse = mx + log(sum);
  for (size_t j = 0; j < k; j++) {
    d[0] = fmax(d[0], fabs(v[j] - o[j]));
    d[1] = fmax(d[1], fabs(exp(v[j] - lse) - o[j]));
    d[2] = fmax(d[2], fabs(v[j] - lse - o[j]));
  }
  double tol = 1e-4 * scale;
  return d[0] <= tol || d[1] <= tol || d[2] <= tol;
}

/* The penultimate layer into out->name[out->n]; its reason into why. */
static int choose_penultimate(const probe *p, evr_layer_choice *out, char *why, size_t cap) {
  const probe_layer *o = &p->layer[p->output];
  long match = -1, last = -1, last_k = -1;
  for (size_t i = 0; i < p->n; i++) {
    const probe_layer *l = &p->layer[i];
    if (l->slot < 0 || l->depth < 0 || strcmp(l->kind, "Linear")) continue;
    last = (long)i;
    if (l->cols == o->cols) last_k = (long)i;
    if (l->cols == o->cols && gives_output(l->row, o->row, o->cols)) match = (long)i;
  }
  char *name = out->name[out->n];
  if (match >= 0 || last >= 0) {
    long i = match >= 0 ? match : last_k >= 0 ? last_k : last;
    snprintf(name, EVR_LAYER_NAME_MAX, "%s:input", p->layer[i].name);
    if (match >= 0)
      snprintf(why, cap, "%s (the features that %s, the last linear layer, turns into the class scores)", name,
               p->layer[i].name);
    else
      snprintf(why, cap, "%s (the input of %s, the last linear layer the model lists)", name, p->layer[i].name);
    return 0;
  }
  /* no Linear: the last module, walking back from the output, whose rows are
   * not class-sized (the classifier's convolution, pooling and flattening
   * are) */
  for (size_t k = p->n; k-- > 0;) {
    const probe_layer *l = &p->layer[k];
    if (l->slot < 0 || l->depth < 0 || l->cols == o->cols) continue;
    snprintf(name, EVR_LAYER_NAME_MAX, "%s", l->name);
    snprintf(why, cap, "%s (the model has no linear layer: the output of the module before its class-sized "
             "layers)", name);
    return 0;
  }
  return 1;
}

/* The first pooling layer (listing order) with a feature map larger than
 * 1 x 1, or -1. */
static long first_pool(const probe *p) {
  for (size_t i = 0; i < p->n; i++)
    if (p->layer[i].depth >= 0 && is_pool(p->layer[i].kind) && spatial(&p->layer[i]) > 1) return (long)i;
  return -1;
}

/* The stage after a pooling layer: its next sibling (the next module of
 * its depth in its container) when that has submodules and the pooling
 * layer's resolution, as ResNet's layer1 after maxpool; -1. */
static long stage_after(const probe *p, size_t pool) {
  const probe_layer *l = &p->layer[pool];
  for (size_t j = pool + 1; j < p->n; j++) {
    const probe_layer *t = &p->layer[j];
    if (t->depth < 0 || t->depth < l->depth) return -1; /* its container ended */
    if (t->depth > l->depth) continue;                  /* inside the pooling layer */
    return has_submodules(p, j) && spatial(t) == spatial(l) ? (long)j : -1;
  }
  return -1;
}

/* Whether a probed submodule of layer i gives a feature map of another
 * resolution than i's (a trunk that starts at the input's resolution). */
static int spans_resolutions(const probe *p, size_t i) {
  size_t len = strlen(p->layer[i].name), s = spatial(&p->layer[i]);
  for (size_t j = i + 1; j < p->n; j++)
    if (!strncmp(p->layer[j].name, p->layer[i].name, len) && p->layer[j].name[len] == '.' &&
        spatial(&p->layer[j]) && spatial(&p->layer[j]) != s)
      return 1;
  return 0;
}

/* Without a pooling layer: at the first resolution below the input's, the
 * last of the outermost modules; -1 when no module gives a feature map. */
static long first_downsampled(const probe *p, size_t h, size_t w) {
  size_t first = 0;
  long pick = -1;
  for (size_t i = 0; i < p->n; i++) {
    size_t s = spatial(&p->layer[i]);
    if (p->layer[i].depth >= 0 && s > 1 && s < h * w && s > first) first = s;
  }
  int depth = 1 << 30;
  for (size_t i = 0; first && i < p->n; i++) {
    const probe_layer *l = &p->layer[i];
    if (l->depth < 0 || spatial(l) != first || l->depth > depth || spans_resolutions(p, i)) continue;
    depth = l->depth, pick = (long)i;
  }
  return pick;
}

/* The early layer, or none: into out->name[out->n], its reason into why. */
static int choose_early(const probe *p, size_t h, size_t w, evr_layer_choice *out, char *why, size_t cap) {
  char *name = out->name[out->n];
  long pool = first_pool(p), stage = pool >= 0 ? stage_after(p, (size_t)pool) : -1;
  if (stage >= 0) {
    snprintf(name, EVR_LAYER_NAME_MAX, "%s", p->layer[stage].name);
    snprintf(why, cap, "%s (the stage after the first pooling layer, %s)", name, p->layer[pool].name);
  } else if (pool >= 0) {
    snprintf(name, EVR_LAYER_NAME_MAX, "%s", p->layer[pool].name);
    snprintf(why, cap, "%s (the first pooling layer)", name);
  } else {
    long i = first_downsampled(p, h, w);
    if (i < 0) return 1;
    snprintf(name, EVR_LAYER_NAME_MAX, "%s", p->layer[i].name);
    snprintf(why, cap, "%s (the model has no pooling layer: the last outer module at the first resolution below the "
             "input's)",
             name);
  }
  return 0;
}

int evr_choose_layers(const char *model_path, size_t c, size_t h, size_t w, evr_layer_choice *out) {
  memset(out, 0, sizeof *out);
  out->early = -1;
  probe p = {0};
  int rc = probe_model(model_path, c, h, w, &p);
  char early_why[256] = "", pen_why[256] = "";
  if (!rc) {
    snprintf(out->name[out->n++], EVR_LAYER_NAME_MAX, "pixels");
    if (!choose_early(&p, h, w, out, early_why, sizeof early_why)) out->early = out->n++;
    out->penultimate = out->n;
    if (choose_penultimate(&p, out, pen_why, sizeof pen_why))
      rc = evc_err("%s: no layer before the output gives features (all are class-sized): name the layers with "
                   "--layers (embedviz extract --model %s --list-layers lists them)", model_path, model_path);
  }
  if (!rc) {
    out->n++;
    /* an early layer that is also the penultimate one is mapped once */
    if (out->early >= 0 && !strcmp(out->name[out->early], out->name[out->penultimate])) {
      out->penultimate = out->early, out->early = -1, out->n--;
      early_why[0] = '\0';
    }
    out->scores = out->n;
    snprintf(out->name[out->n++], EVR_LAYER_NAME_MAX, "output");
    snprintf(out->why, sizeof out->why, "Layers chosen by their kinds: the pixels, %s%s%s and output (what the "
             "model returns, its class scores).", early_why, *early_why ? ", " : "", pen_why);
  }
  probe_free(&p);
  return rc;
}
