/* cmd_extract.c - embedviz extract: layer activations of a model. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report_layers.h"
#include "steps.h"

static const char EXTRACT_HELP[] =
    "Usage: embedviz extract -m MODEL.pt -i IMAGES.npy -l LAYER[,LAYER...] -o DIR [options]\n"
    "Run a TorchScript model on a data set and write each layer's activations,\n"
    "one row per input, as DIR/<layer>.npy (n x M float32).\n\n"
    "  -m, --model FILE      TorchScript model (torch.jit.save of a scripted or traced module)\n"
    "  -i, --input FILE      inputs: n images as .npy (n x C x H x W, n x H x W or n x H*W)\n"
    "  -l, --layers LIST     comma-separated layer names (see --list-layers); 'softmax'\n"
    "                        and 'output' are always there\n"
    "  -o, --output DIR      folder for the .npy files (made when missing)\n"
    "      --shape C,H,W     the input shape when the file does not say (default: 1 x s x s\n"
    "                        for square rows, 3 x s x s for rows of 3 s^2)\n"
    "      --scale S         divide the inputs by S (default: 255 when values exceed 1)\n"
    "      --pool            average feature maps over their spatial dimensions\n"
    "      --batch N         inputs per forward pass (default 64)\n"
    "      --list-layers     print the model's layer names, each with its module's kind\n"
    "                        (Conv2d, Linear...; none for output and softmax), and stop\n"
    "      --report-layers   print the layers 'embedviz report' maps when none are named\n"
    "                        (for inputs of --shape, default 3,224,224), and stop\n"
    "  -t, --threads N       threads (default: all cores)\n"
    "  -q, --quiet           no progress\n"
    "  -h, --help            this help\n";

typedef struct extract_opts {
  const char *model, *in, *layers, *out, *shape;
  double scale;
  long batch, threads;
  int pool, list, report_layers;
} extract_opts;

static int extract_parse(int argc, char **argv, extract_opts *o) {
  static const struct option lo[] = {
      {"model", 1, 0, 'm'}, {"input", 1, 0, 'i'}, {"layers", 1, 0, 'l'},   {"output", 1, 0, 'o'},
      {"shape", 1, 0, 'S'}, {"scale", 1, 0, 'C'}, {"pool", 0, 0, 'P'},     {"batch", 1, 0, 'B'},
      {"list-layers", 0, 0, 'L'}, {"report-layers", 0, 0, 'R'}, {"threads", 1, 0, 't'}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'},
      {0, 0, 0, 0}};
  int c;
  *o = (extract_opts){.scale = 0, .batch = 64};
  optind = 1;
  while ((c = getopt_long(argc, argv, "m:i:l:o:t:qh", lo, NULL)) != -1) {
    int bad = 0;
    switch (c) {
    case 'm': o->model = optarg; break;
    case 'i': o->in = optarg; break;
    case 'l': o->layers = optarg; break;
    case 'o': o->out = optarg; break;
    case 'S': o->shape = optarg; break;
    case 'C': bad = evc_parse_double("--scale", optarg, 1e-12, 1e12, &o->scale); break;
    case 'P': o->pool = 1; break;
    case 'B': bad = evc_parse_long("--batch", optarg, 1, 1 << 20, &o->batch); break;
    case 'L': o->list = 1; break;
    case 'R': o->report_layers = 1; break;
    case 't': bad = evc_parse_long("--threads", optarg, 0, 1024, &o->threads); break;
    case 'q': evc_quiet = 1; break;
    case 'h': fputs(EXTRACT_HELP, stdout); return -1;
    default: fputs("Try 'embedviz extract --help'.\n", stderr); return 2;
    }
    if (bad) return 2;
  }
  if (!o->model) return evc_err("extract needs --model (see embedviz extract --help)") + 1;
  if (!o->list && !o->report_layers && (!o->in || !o->layers || !o->out))
    return evc_err("extract needs --input, --layers and --output (see embedviz extract --help)") + 1;
  if (optind < argc) return evc_err("extract: unexpected argument '%s'", argv[optind]) + 1;
  return 0;
}

/* C, H, W of rows of `cols` values: given, or guessed for grey/RGB squares. */
static int input_shape(const char *given, size_t cols, size_t chw[3]) {
  if (given) {
    unsigned long c, h, w;
    char end;
    if (sscanf(given, "%lu,%lu,%lu%c", &c, &h, &w, &end) != 3 || !c || !h || !w)
      return evc_err("--shape needs C,H,W, e.g. 1,28,28; got '%s'", given);
    chw[0] = c; chw[1] = h; chw[2] = w;
  } else {
    size_t s1 = (size_t)lround(sqrt((double)cols)), s3 = (size_t)lround(sqrt((double)cols / 3));
    if (s1 * s1 == cols) chw[0] = 1, chw[1] = chw[2] = s1;
    else if (3 * s3 * s3 == cols) chw[0] = 3, chw[1] = chw[2] = s3;
    else return evc_err("cannot tell the image shape of rows of %zu values: give --shape C,H,W", cols);
  }
  if (chw[0] * chw[1] * chw[2] != cols)
    return evc_err("--shape %zu,%zu,%zu is %zu values, the rows have %zu", chw[0], chw[1], chw[2],
                   chw[0] * chw[1] * chw[2], cols);
  return 0;
}

static int list_layers(const char *path) {
  ev_model *model = NULL;
  size_t n = 0;
  ev_status st;
  if ((st = ev_model_load(path, EV_DEVICE_CPU, &model)) || (st = ev_model_n_layers(model, &n))) {
    ev_model_free(model);
    return evc_lib_err("loading the model", st);
  }
  int width = 0;
  for (size_t i = 0; i < n; i++) {
    const char *name;
    if (ev_model_layer_name(model, i, &name) == EV_OK && (int)strlen(name) > width) width = (int)strlen(name);
  }
  for (size_t i = 0; i < n; i++) {
    const char *name, *kind = "";
    if (ev_model_layer_name(model, i, &name) != EV_OK) continue;
    ev_model_layer_kind(model, i, &kind);
    if (*kind) printf("%-*s  %s\n", width, name, kind);
    else printf("%s\n", name);
  }
  ev_model_free(model);
  return 0;
}

/* The layers `embedviz report` would choose (report_layers.h). */
static int print_report_layers(const extract_opts *o) {
  size_t chw[3] = {3, 224, 224};
  unsigned long c, h, w;
  char end;
  if (o->shape && (sscanf(o->shape, "%lu,%lu,%lu%c", &c, &h, &w, &end) != 3 || !c || !h || !w))
    return evc_err("--shape needs C,H,W, e.g. 1,28,28; got '%s'", o->shape);
  if (o->shape) chw[0] = c, chw[1] = h, chw[2] = w;
  evr_layer_choice ch;
  if (evr_choose_layers(o->model, chw[0], chw[1], chw[2], &ch)) return 1;
  printf("pixels\n");
  if (ch.early >= 0) printf("early        %s\n", ch.name[ch.early]);
  printf("penultimate  %s\nscores       %s\n%s\n", ch.name[ch.penultimate], ch.name[ch.scores], ch.why);
  return 0;
}

/* Scale the inputs: by the given factor, or by 255 when they look like bytes. */
static void scale_inputs(evc_mat *x, double scale) {
  if (scale == 0) {
    float mx = 0;
    for (size_t k = 0; k < x->rows * x->cols; k++) mx = x->f[k] > mx ? x->f[k] : mx;
    scale = mx > 1.5f ? 255 : 1;
  }
  if (scale != 1)
    for (size_t k = 0; k < x->rows * x->cols; k++) x->f[k] = (float)(x->f[k] / scale);
}

static int make_folder(const char *dir) {
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) return evc_err("cannot make the folder %s: %s", dir, strerror(errno));
  return 0;
}

static int write_layers(const char *dir, char **names, int n, const evc_mat *out) {
  if (make_folder(dir)) return 1;
  for (int l = 0; l < n; l++) {
    char path[4096], safe[256];
    snprintf(safe, sizeof safe, "%s", names[l]);
    for (char *p = safe; *p; p++) if (*p == '/' || *p == '[' || *p == ']') *p = '_';
    snprintf(path, sizeof path, "%s/%s.npy", dir, safe);
    if (evc_npy_write(path, &out[l], 0)) return 1;
    evc_info("extract: %s: %zu x %zu -> %s", names[l], out[l].rows, out[l].cols, path);
  }
  return 0;
}

int evc_cmd_extract(int argc, char **argv) {
  /* Decided at run time: the library says whether it can extract. */
  if (!ev_extract_available()) return evc_unavailable(argc, argv, "extract", "extraction (libtorch)");
  extract_opts o;
  int rc = extract_parse(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  if (o.list) return list_layers(o.model);
  if (o.report_layers) return print_report_layers(&o);
  evc_mat x = {0}, out[64] = {{0}};
  char *list = strdup(o.layers), *names[64], *save = NULL;
  int n = 0;
  size_t chw[3];
  for (char *t = list ? strtok_r(list, ",", &save) : NULL; t && n < 64; t = strtok_r(NULL, ",", &save)) names[n++] = t;
  double t0 = evc_now();
  char probe[4096];
  snprintf(probe, sizeof probe, "%s/.embedviz-probe", o.out);
  if (list && n && (make_folder(o.out) || EVC_OUTS_CHECK(probe))) rc = 1;   /* before the extraction */
  else if (!list || n == 0) rc = evc_err("--layers needs at least one layer name");
  else if (evc_read_any(o.in, 0, &x) || input_shape(o.shape, x.cols, chw)) rc = 1;
  else {
    scale_inputs(&x, o.scale);
    rc = evc_extract_layers(o.model, &x, chw, (const char *const *)names, n, o.pool, o.batch, o.threads, "extract", out, NULL) ||
         write_layers(o.out, names, n, out);
  }
  if (!rc) evc_info("extract: %zu inputs, %d layers in %.2f s", x.rows, n, evc_now() - t0);
  for (int l = 0; l < n; l++) evc_mat_free(&out[l]);
  evc_mat_free(&x);
  free(list);
  return rc;
}
