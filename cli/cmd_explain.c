/*
 * cmd_explain.c - embedviz explain: one input's story and why it sits
 * where it sits on the maps, as one figure.
 *
 * From the report's inputs (--data .npy folder, --dataset IDX files with
 * --model, or --images class folders with --model): the image with its
 * true and predicted class and ambiguity; the first convolutional layer's
 * feature maps (from --model, or from a test_<layer>.npy that kept its
 * C x H x W shape; a layer without spatial maps is said to be one and shown
 * as its vector); the penultimate feature vector; the point ringed with its
 * nearest neighbours on the t-SNE (or UMAP, --map umap) and PCA maps of the
 * penultimate layer; the largest PCA contributions to PC1 and PC2; the
 * ridge regression of the features on that map (alpha by leave-one-out,
 * R^2 on the training rows and left-out rows) as a biplot; and the
 * features' correlation matrix in the order of their clustering. The
 * numbers are printed too.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "explain_fig.h"
#include "report.h"

int evc_cmd_explain(int argc, char **argv); /* main.c lists it */

#define EVX_NEIGHBOURS 8
#define EVX_TOP 10       /* contributions and ridge arrows shown */
#define EVX_MAX_CORR 256 /* features in the correlation picture (largest variance) */

static const char EXPLAIN_HELP[] =
    "Usage: embedviz explain (--data DIR | --dataset DIR --model FILE |\n"
    "                         --images DIR --model FILE) --index N [-o OUT.png] [options]\n"
    "One test image's story, as one picture: the image, its true and predicted\n"
    "class and ambiguity, the first convolutional layer's feature maps, its\n"
    "penultimate feature vector, its place on the t-SNE (or UMAP) and PCA maps\n"
    "with its nearest neighbours, the features that place it on PC1 and PC2 (PCA\n"
    "contributions), a ridge regression of the features on the t-SNE or UMAP map\n"
    "(biplot, R^2 in the title) and the features' correlation matrix ordered by\n"
    "clustering.\n\n"
    "  -d, --data DIR         the report's .npy folder (test_images, test_labels,\n"
    "                         test_<layer>, train_images, train_labels,\n"
    "                         train_<penultimate>; see docs/cli.md)\n"
    "  -D, --dataset DIR      with --model: the test images and labels from the IDX\n"
    "                         files of DIR (t10k-*), the layers from the model\n"
    "  -i, --images DIR       with --model: DIR/<class>/<image> as the report reads\n"
    "                         it (layers chosen for the model; N counts the images\n"
    "                         in ImageFolder order, after --samples' per-class pick)\n"
    "  -x, --index N          the test image to explain (0 = the first)\n"
    "  -o, --output FILE      the picture (default explain.png)\n"
    "  -m, --model FILE       TorchScript model: feature maps of its first Conv2d\n"
    "                         layer for this image\n"
    "      --layer NAME       --data without --model: the layer whose maps to show,\n"
    "                         read from test_<NAME>.npy (default pool1 when that\n"
    "                         file exists); a file of rows (n x d) has no spatial maps\n"
    "      --penultimate NAME the penultimate layer (default relu3; --images: chosen)\n"
    "      --softmax NAME     the class scores layer (default softmax; --images: chosen)\n"
    "      --classes FILE     class names, one a line (default: DIR/class_names.txt,\n"
    "                         Fashion-MNIST's for a --dataset folder named fashion...,\n"
    "                         else class numbers; --images: the folders' names)\n"
    "      --map tsne|umap    the map the point is ringed on and the ridge regression\n"
    "                         is fitted to (default tsne)\n"
    "      --neighbors K      UMAP's n_neighbors (default 15)\n"
    "      --map-output F.npy also write that map (n x 2) to F.npy\n"
    "      --maps-output F.npy also write the feature maps shown (C x H*W) to F.npy\n"
    "  -n, --samples N        test images read (default 5000)\n"
    "      --train-samples N  training rows read (default 10000)\n"
    "      --perplexity P     t-SNE perplexity (default 30)\n"
    "      --iterations N     t-SNE iterations (default 750)\n"
    "      --seed N           seed (default 0)\n"
    "      --resize N, --crop N, --mean A,B,C, --std A,B,C, --channels 1|3, --batch N\n"
    "                         --images' preprocessing, as embedviz report's\n"
    "  -t, --threads N        threads (default: all cores)\n"
    "  -q, --quiet            no progress\n"
    "  -h, --help             this help\n";

typedef struct evx_options {
  evr_options r;
  const char *out, *model, *layer, *map_out, *maps_out;
  long index, neighbors;
  int index_given, umap;
} evx_options;

static int parse(int argc, char **argv, evx_options *o) {
  static const struct option lo[] = {
      {"data", 1, 0, 'd'},        {"index", 1, 0, 'x'},      {"output", 1, 0, 'o'},  {"model", 1, 0, 'm'},
      {"layer", 1, 0, 'l'},       {"penultimate", 1, 0, 'P'}, {"softmax", 1, 0, 'S'}, {"samples", 1, 0, 'n'},
      {"train-samples", 1, 0, 'N'}, {"perplexity", 1, 0, 'p'}, {"iterations", 1, 0, 'I'}, {"seed", 1, 0, 's'},
      {"threads", 1, 0, 't'},     {"quiet", 0, 0, 'q'},      {"help", 0, 0, 'h'},    {"dataset", 1, 0, 'D'},
      {"images", 1, 0, 'i'},      {"classes", 1, 0, 'K'},    {"map", 1, 0, 'A'},     {"neighbors", 1, 0, 'k'},
      {"map-output", 1, 0, 'O'},  {"resize", 1, 0, 'r'},     {"crop", 1, 0, 'c'},    {"mean", 1, 0, 'M'},
      {"std", 1, 0, 'T'},         {"channels", 1, 0, 'H'},   {"batch", 1, 0, 'B'},   {"maps-output", 1, 0, 'W'},
      {0, 0, 0, 0}};
  *o = (evx_options){.out = "explain.png", .neighbors = 15};
  o->r = (evr_options){.penultimate = "relu3", .softmax = "softmax", .samples = 5000, .train_samples = 10000,
                       .perplexity = 30, .iterations = 750, .resize = 256, .crop = 224, .channels = 3, .batch = 32};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "d:D:i:x:o:m:n:t:qh", lo, NULL)) != -1) {
    switch (c) {
    case 'd': o->r.data_dir = optarg; break;
    case 'D': o->r.dataset = optarg; break;
    case 'i': o->r.images = optarg; break;
    case 'x': if (evc_parse_long("--index", optarg, 0, 1L << 40, &o->index)) return 2; o->index_given = 1; break;
    case 'o': o->out = optarg; break;
    case 'm': o->model = optarg; break;
    case 'l': o->layer = optarg; break;
    case 'P': o->r.penultimate = optarg; o->r.penultimate_given = 1; break;
    case 'S': o->r.softmax = optarg; o->r.softmax_given = 1; break;
    case 'K': o->r.classes = optarg; break;
    case 'A':
      if (strcmp(optarg, "tsne") && strcmp(optarg, "umap"))
        return evc_err("--map is tsne or umap, got '%s'", optarg) + 1;
      o->umap = !strcmp(optarg, "umap");
      break;
    case 'k': if (evc_parse_long("--neighbors", optarg, 2, 1000, &o->neighbors)) return 2; break;
    case 'O': o->map_out = optarg; break;
    case 'W': o->maps_out = optarg; break;
    case 'r': if (evc_parse_long("--resize", optarg, 1, 65536, &o->r.resize)) return 2; break;
    case 'c': if (evc_parse_long("--crop", optarg, 1, 65536, &o->r.crop)) return 2; break;
    case 'H': if (evc_parse_long("--channels", optarg, 1, 3, &o->r.channels) || (o->r.channels == 2 && evc_err("--channels is 1 (grey) or 3 (RGB), got 2"))) return 2; break;
    case 'B': if (evc_parse_long("--batch", optarg, 1, 65536, &o->r.batch)) return 2; break;
    case 'M': if (evc_parse_three("--mean", optarg, -1e6, 1e6, o->r.mean)) return 2; o->r.mean_given = 1; break;
    case 'T': if (evc_parse_three("--std", optarg, 1e-9, 1e6, o->r.std)) return 2; o->r.std_given = 1; break;
    case 'n': if (evc_parse_long("--samples", optarg, 20, 1L << 30, &o->r.samples)) return 2; break;
    case 'N': if (evc_parse_long("--train-samples", optarg, 10, 1L << 30, &o->r.train_samples)) return 2; break;
    case 'p': if (evc_parse_double("--perplexity", optarg, 1, 1000, &o->r.perplexity)) return 2; break;
    case 'I': if (evc_parse_long("--iterations", optarg, 50, 100000, &o->r.iterations)) return 2; break;
    case 's': if (evc_parse_long("--seed", optarg, 0, 2147483647L, &o->r.seed)) return 2; break;
    case 't': if (evc_parse_long("--threads", optarg, 0, 1024, &o->r.threads)) return 2; break;
    case 'q': evc_quiet = 1; break;
    case 'h': fputs(EXPLAIN_HELP, stdout); return -1;
    default: fputs("Try 'embedviz explain --help'.\n", stderr); return 2;
    }
  }
  if (optind < argc) return evc_err("explain: unexpected argument '%s'", argv[optind]) + 1;
  int sources = !!o->r.data_dir + !!o->r.dataset + !!o->r.images;
  if (sources != 1)
    return evc_err("explain needs one of --data DIR (the report's .npy folder), --dataset DIR with --model FILE, or "
                   "--images DIR with --model FILE, and --index N") + 1;
  if ((o->r.dataset || o->r.images) && !o->model)
    return evc_err("--%s DIR needs --model FILE (a TorchScript classifier): the layers come from it",
                   o->r.dataset ? "dataset" : "images") + 1;
  if (!o->index_given) return evc_err("explain needs --index N: the test image to explain (0 = the first)") + 1;
  if (o->model && o->layer) return evc_err("--layer reads maps from a file; with --model the first Conv2d layer is used: give one of them") + 1;
  if (o->r.images && (o->r.penultimate_given || o->r.softmax_given || o->r.classes))
    return evc_err("with --images the layers are chosen for the model and the class folders name the classes: leave "
                   "out --penultimate, --softmax and --classes") + 1;
  o->r.model = o->r.dataset || o->r.images ? o->model : NULL;
  return 0;
}

static int file_exists(const char *dir, const char *name) {
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/test_%s.npy", dir, name);
  return stat(path, &st) == 0;
}

/* The index against the data, before anything is computed: the labels
 * file is small. (--images: checked once the folder is read.) */
static int check_index(const evx_options *o) {
  char path[4096];
  evc_mat y = {0};
  if (o->r.images) return 0;
  if (o->r.dataset) snprintf(path, sizeof path, "%s/t10k-labels-idx1-ubyte.gz", o->r.dataset);
  else snprintf(path, sizeof path, "%s/test_labels.npy", o->r.data_dir);
  if (evc_read_any(path, 1, &y)) return 1;
  size_t n = y.rows * y.cols, used = n < (size_t)o->r.samples ? n : (size_t)o->r.samples;
  evc_mat_free(&y);
  if ((size_t)o->index >= used)
    return evc_err("--index %ld is outside the data: %s has %zu test images%s; pass an index from 0 to %zu", o->index,
                   path, n, used < n ? " (fewer read with --samples)" : "", used ? used - 1 : 0);
  return 0;
}

/* ---- the feature maps ------------------------------------------------------ */

typedef struct maps {
  float *v;            /* c x h x w, or the vector (h = w = 1) */
  int c, h, w, spatial;
  char what[4608];
} maps;

/* The name of the model's first Conv2d layer into name, or "" when it has
 * none. 0, or 1 with the message printed. */
static int first_conv(const char *path, char *name, size_t len) {
  ev_model *model = NULL;
  ev_status st = ev_model_load(path, EV_DEVICE_CPU, &model);
  if (st) return evc_lib_err("loading the model", st);
  size_t nl = 0;
  *name = 0;
  st = ev_model_n_layers(model, &nl);
  for (size_t l = 0; !st && l < nl && !*name; l++) {
    const char *kind = NULL, *nm = NULL;
    if (!ev_model_layer_kind(model, l, &kind) && kind && !strcmp(kind, "Conv2d") && !ev_model_layer_name(model, l, &nm))
      snprintf(name, len, "%s", nm);
  }
  ev_model_free(model);
  if (st) return evc_lib_err("listing the model's layers", st);
  if (!*name) return evc_err("%s has no Conv2d layer: there are no feature maps to show; leave out --model", path);
  return 0;
}

/* The first Conv2d layer of the model, for the one image (the data's grey
 * side x side rows, as the model takes them). */
static int maps_from_model(const evx_options *o, const evr_data *d, maps *m) {
  char conv[256];
  if (first_conv(o->model, conv, sizeof conv)) return 1;
  ev_model *model = NULL;
  ev_extractor *ex = NULL;
  ev_status st = ev_model_load(o->model, EV_DEVICE_CPU, &model);
  if (st) return evc_lib_err("loading the model", st);
  size_t dims[8], nd = 0, cols = 0, side = (size_t)d->side;
  if (!st) st = ev_extractor_create(model, &ex);
  if (!st) st = ev_extractor_set(ex, EV_EXTRACT_THREADS, (double)o->r.threads);
  if (!st) st = ev_extractor_add_layer(ex, conv);
  if (!st) st = ev_extractor_prepare(ex, 1, side, side);
  if (!st) st = ev_extractor_layer_cols(ex, 0, &cols);
  if (!st) st = ev_extractor_layer_shape(ex, 0, dims, &nd);
  if (!st && !(m->v = malloc(cols * sizeof(float)))) st = EV_ERR_NOMEM;
  if (!st) {
    float *out[1] = {m->v};
    size_t ld[1] = {cols};
    st = ev_extractor_run(ex, d->images.f + (size_t)o->index * d->images.cols, 1, 1, side, side, d->images.cols, out, ld);
  }
  if (!st) {
    m->spatial = nd == 3;
    m->c = nd == 3 ? (int)dims[0] : (int)cols;
    m->h = nd == 3 ? (int)dims[1] : 1;
    m->w = nd == 3 ? (int)dims[2] : 1;
    snprintf(m->what, sizeof m->what, "%s (first Conv2d of the model): %d maps of %d x %d", conv, m->c, m->h, m->w);
  }
  ev_extractor_free(ex);
  ev_model_free(model);
  return st ? evc_lib_err("extracting the first convolutional layer", st) : 0;
}

/* --images: the maps the folder's loading extracted for the one image
 * (evr_options.maps_layer, unpooled: evr_data.maps). */
static int maps_from_folder(const evr_data *d, const char *conv, maps *m) {
  if (!d->maps.f) return evc_err("the model's first Conv2d layer %s gives no feature maps for the images", conv);
  size_t cols = d->maps.cols;
  if (!(m->v = malloc(cols * sizeof(float)))) return evc_err("out of memory");
  memcpy(m->v, d->maps.f, cols * sizeof(float));
  m->spatial = 1;
  m->c = (int)d->maps_shape[0], m->h = (int)d->maps_shape[1], m->w = (int)d->maps_shape[2];
  snprintf(m->what, sizeof m->what, "%s (first Conv2d of the model): %d maps of %d x %d", conv, m->c, m->h, m->w);
  return 0;
}

/* From test_<layer>.npy: maps when the file kept n x C x H x W, else the
 * row as a vector, said to be one. */
static int maps_from_file(const evx_options *o, const char *layer, maps *m) {
  char path[4096];
  snprintf(path, sizeof path, "%s/test_%s.npy", o->r.data_dir, layer);
  ev_array *a = NULL;
  ev_status st = ev_npy_read(path, &a);
  if (st) return evc_lib_err("reading the layer's maps", st);
  size_t nd = ev_array_ndim(a), per = 1, rows = ev_array_dim(a, 0);
  for (size_t k = 1; k < nd; k++) per *= ev_array_dim(a, k);
  float *all = (size_t)o->index < rows ? malloc(rows * per * sizeof(float)) : NULL;
  m->v = malloc(per * sizeof(float));
  st = all && m->v ? ev_array_to_float(a, all, rows * per) : EV_ERR_NOMEM;
  if (!st) memcpy(m->v, all + (size_t)o->index * per, per * sizeof(float));
  free(all);
  if ((size_t)o->index >= rows) {
    ev_array_free(a);
    return evc_err("%s has %zu rows: --index %ld is outside it", path, rows, o->index);
  }
  if (!st) {
    m->spatial = nd == 4;
    m->c = m->spatial ? (int)ev_array_dim(a, 1) : (int)per;
    m->h = m->spatial ? (int)ev_array_dim(a, 2) : 1;
    m->w = m->spatial ? (int)ev_array_dim(a, 3) : 1;
    if (m->spatial)
      snprintf(m->what, sizeof m->what, "%s: %d maps of %d x %d", layer, m->c, m->h, m->w);
    else
      snprintf(m->what, sizeof m->what, "%s has no spatial maps (%s holds rows of %zu values): its vector; give "
               "--model for the first Conv2d layer's maps", layer, path, per);
  }
  ev_array_free(a);
  return st ? evc_lib_err("reading the layer's maps", st) : 0;
}

/* ---- the numbers ------------------------------------------------------------ */

typedef struct story {
  size_t n, d, index;
  const float *feat;                 /* n x d penultimate rows */
  evc_mat map;                       /* n x 2: t-SNE, or UMAP (umap set) */
  int umap;
  float *pca;                        /* n x 2 */
  float ratio[2];
  int64_t nn[EVX_NEIGHBOURS];
  int64_t top_pc[2][EVX_TOP];
  float top_val[2][EVX_TOP];
  int n_top;
  float *coef, intercept[2];         /* 2 x d */
  double alpha, r2[2], r2_cv[2];
  size_t rank;
  int64_t arrows[EVX_TOP];
  float *corr;                       /* dc x dc */
  int64_t *order, *corr_cols;        /* dc each: the order, and which features */
  size_t dc;
  int true_label, predicted;
  float prob, ambiguity;
} story;

static void story_free(story *s) {
  evc_mat_free(&s->map);
  free(s->pca);
  free(s->coef);
  free(s->corr);
  free(s->order);
  free(s->corr_cols);
}

/* The nearest test rows to row i in feature space (Euclidean, i left out,
 * ties by the lower row). */
static void neighbours(story *s) {
  double best[EVX_NEIGHBOURS];
  int k = 0;
  for (size_t j = 0; j < s->n; j++) {
    if (j == s->index) continue;
    double dist = 0;
    for (size_t c = 0; c < s->d; c++) {
      double e = (double)s->feat[j * s->d + c] - s->feat[s->index * s->d + c];
      dist += e * e;
    }
    int at = k < EVX_NEIGHBOURS ? k++ : EVX_NEIGHBOURS;
    while (at > 0 && best[at - 1] > dist) {
      if (at < EVX_NEIGHBOURS) best[at] = best[at - 1], s->nn[at] = s->nn[at - 1];
      at--;
    }
    if (at < EVX_NEIGHBOURS) best[at] = dist, s->nn[at] = (int64_t)j;
  }
}

static int pca_story(const evx_options *o, story *s) {
  ev_pca *p = NULL;
  ev_status st = ev_pca_create(&p);
  if (!st) st = ev_pca_set(p, EV_PCA_N_COMPONENTS, 2);
  if (!st) st = ev_pca_set(p, EV_PCA_THREADS, (double)o->r.threads);
  if (!st) st = ev_pca_fit(p, s->feat, s->n, s->d, s->d);
  if (!st && !(s->pca = malloc(s->n * 2 * sizeof(float)))) st = EV_ERR_NOMEM;
  if (!st) st = ev_pca_transform(p, s->feat, s->n, s->d, s->d, s->pca, 2);
  if (!st) st = ev_pca_explained_variance_ratio(p, s->ratio);
  s->n_top = s->d < EVX_TOP ? (int)s->d : EVX_TOP;
  for (size_t k = 0; !st && k < 2; k++)
    st = ev_pca_top_contributions(p, k, s->feat + s->index * s->d, s->d, (size_t)s->n_top, s->top_pc[k], s->top_val[k]);
  ev_pca_free(p);
  return st ? evc_lib_err("the PCA contributions", st) : 0;
}

/* Ridge from the features to the t-SNE or UMAP map, alpha by leave-one-out over
 * the library's grid; the arrows are the features with the largest
 * weights (length of (w_x, w_y)). */
static int ridge_story(const evx_options *o, story *s) {
  ev_ridge *r = NULL;
  ev_status st = ev_ridge_create(&r);
  if (!st) st = ev_ridge_set(r, EV_RIDGE_THREADS, (double)o->r.threads);
  if (!st) st = ev_ridge_fit(r, s->feat, s->n, s->d, s->d, s->map.f, 2, 2);
  if (!st && !(s->coef = malloc(2 * s->d * sizeof(float)))) st = EV_ERR_NOMEM;
  if (!st) st = ev_ridge_coef(r, s->coef, s->d);
  if (!st) st = ev_ridge_intercept(r, s->intercept);
  if (!st) st = ev_ridge_alpha(r, &s->alpha);
  if (!st) st = ev_ridge_r2(r, s->r2, s->r2_cv, 2);
  if (!st) st = ev_ridge_sizes(r, NULL, NULL, &s->rank);
  ev_ridge_free(r);
  if (st) return evc_lib_err("the ridge regression on the map", st);
  /* the n_top largest weights, by a partial selection */
  unsigned char *taken = calloc(s->d, 1);
  if (!taken) return evc_err("out of memory");
  for (int k = 0; k < s->n_top; k++) {
    size_t best = 0;
    float bw = -1;
    for (size_t j = 0; j < s->d; j++) {
      float w = hypotf(s->coef[j], s->coef[s->d + j]);
      if (!taken[j] && w > bw) bw = w, best = j;
    }
    taken[best] = 1;
    s->arrows[k] = (int64_t)best;
  }
  free(taken);
  return 0;
}

/* The correlation of the features (the EVX_MAX_CORR of largest variance
 * when there are more) and its clustered order. */
static int corr_story(story *s) {
  size_t d = s->d, dc = d < EVX_MAX_CORR ? d : EVX_MAX_CORR;
  s->dc = dc;
  s->corr_cols = malloc(dc * sizeof(int64_t));
  s->order = malloc(dc * sizeof(int64_t));
  s->corr = malloc(dc * dc * sizeof(float));
  float *sub = malloc(s->n * dc * sizeof(float));
  double *var = calloc(d, sizeof(double));
  unsigned char *taken = calloc(d, 1);
  int rc = !s->corr_cols || !s->order || !s->corr || !sub || !var || !taken ? evc_err("out of memory") : 0;
  for (size_t j = 0; !rc && j < d; j++) {
    double m = 0, q = 0;
    for (size_t i = 0; i < s->n; i++) m += s->feat[i * d + j];
    m /= (double)s->n;
    for (size_t i = 0; i < s->n; i++) q += (s->feat[i * d + j] - m) * (s->feat[i * d + j] - m);
    var[j] = q;
  }
  for (size_t k = 0; !rc && k < dc; k++) {   /* the largest variances, in feature order below */
    size_t best = 0;
    double bv = -1;
    for (size_t j = 0; j < d; j++)
      if (!taken[j] && var[j] > bv) bv = var[j], best = j;
    taken[best] = 1;
  }
  for (size_t j = 0, k = 0; !rc && j < d; j++)
    if (taken[j]) s->corr_cols[k++] = (int64_t)j;
  for (size_t i = 0; !rc && i < s->n; i++)
    for (size_t k = 0; k < dc; k++) sub[i * dc + k] = s->feat[i * d + (size_t)s->corr_cols[k]];
  ev_status st = EV_OK;
  if (!rc) st = ev_feature_correlation(sub, s->n, dc, dc, s->corr, dc);
  if (!rc && !st) st = ev_feature_order(s->corr, dc, dc, s->order);
  free(sub);
  free(var);
  free(taken);
  if (!rc && st) rc = evc_lib_err("the correlation of the features", st);
  return rc;
}

static int predict_story(const evr_data *d, story *s) {
  const evc_mat *p = d->probs.f ? &d->probs : &d->layer[d->softmax];
  const float *row = p->f + s->index * p->cols;
  int32_t top1 = 0, top2 = 0;
  ev_status st = ev_ambiguity(row, 1, p->cols, p->cols, EV_SCORE_PROBABILITIES, &s->ambiguity, NULL, NULL, &top1, &top2);
  if (st) return evc_lib_err("scoring the prediction", st);
  float sum = 0;
  for (size_t k = 0; k < p->cols; k++) sum += row[k];
  s->predicted = top1;
  s->prob = sum > 0 ? row[top1] / sum : 0;
  s->true_label = (int)d->labels.i[s->index];
  return 0;
}

static void class_name(const evr_data *d, int c, char *out, size_t len) {
  if (d->class_names && c >= 0 && c < d->n_classes) snprintf(out, len, "%d (%s)", c, d->class_names[c]);
  else snprintf(out, len, "%d", c);
}

/* The numbers on standard output, one fact a line. */
static void print_story(const evr_data *d, const story *s, const maps *m) {
  char t[128], p[128];
  class_name(d, s->true_label, t, sizeof t);
  class_name(d, s->predicted, p, sizeof p);
  printf("index %zu\ntrue %s\npredicted %s probability %.4f ambiguity %.4f\n", s->index, t, p, (double)s->prob,
         (double)s->ambiguity);
  printf("maps %s\n", m->what);
  printf("neighbours");
  for (int k = 0; k < EVX_NEIGHBOURS; k++) printf(" %lld", (long long)s->nn[k]);
  for (int c = 0; c < 2; c++) {
    printf("\npc%d_variance %.4f\npc%d_contributions", c + 1, (double)s->ratio[c], c + 1);
    for (int k = 0; k < s->n_top; k++) printf(" f%lld:%+.6g", (long long)s->top_pc[c][k], (double)s->top_val[c][k]);
  }
  printf("\nridge map %s\nridge alpha %.6g rank %zu of %zu features%s\n", s->umap ? "umap" : "tsne", s->alpha, s->rank, s->d,
         s->rank < s->d ? (s->n <= s->d ? " (fewer rows than features: the regularisation sets the weights the data "
                                           "leave open)"
                                         : " (the centred features span fewer dimensions than there are features: "
                                           "the regularisation sets the weights the data leave open)")
                        : "");
  printf("ridge r2_train %.4f %.4f r2_leave_one_out %.4f %.4f\n", s->r2[0], s->r2[1], s->r2_cv[0], s->r2_cv[1]);
  printf("ridge arrows");
  for (int k = 0; k < s->n_top; k++) printf(" f%lld", (long long)s->arrows[k]);
  printf("\ncorrelation_order");
  for (size_t k = 0; k < s->dc; k++) printf(" %lld", (long long)s->corr_cols[s->order[k]]);
  printf("\n");
}

/* ---- the picture ---------------------------------------------------------- */

#define ROW_H 520
#define TOP 44

static void draw_input(evc_canvas *cv, evx_rect r, const evr_data *d, const story *s) {
  evx_rect in = evx_panel(cv, r, "the input");
  int zoom = (in.w - 20) / d->thumbs.side;
  if (zoom * d->thumbs.side > 260) zoom = 260 / d->thumbs.side;
  if (zoom < 1) zoom = 1;
  evc_blit_thumb(cv, in.x, in.y, &d->thumbs, s->index, zoom, 0, NULL);
  char l0[128], l1[160], l2[160], l3[96], t[96];
  snprintf(l0, sizeof l0, "test image %zu", s->index);
  class_name(d, s->true_label, t, sizeof t);
  snprintf(l1, sizeof l1, "true: %s", t);
  class_name(d, s->predicted, t, sizeof t);
  snprintf(l2, sizeof l2, "predicted: %s, p = %.2f", t, (double)s->prob);
  snprintf(l3, sizeof l3, "ambiguity %.3f", (double)s->ambiguity);
  const char *lines[4] = {l0, l1, l2, l3};
  evx_lines(cv, in.x, in.y + zoom * d->thumbs.side + 14, lines, 4, 2);
}

static void draw_maps(evc_canvas *cv, evx_rect r, const maps *m) {
  evx_rect in = evx_panel(cv, r, m->spatial ? m->what : "no spatial maps: the layer's vector");
  if (m->spatial) {
    evx_heatmaps(cv, in, m->v, m->c, m->h, m->w);
    return;
  }
  char fit[4608];
  evc_text_fit(m->what, 1, in.w, fit, sizeof fit);
  evc_text(cv, in.x, in.y, fit, 1, (const unsigned char[3]){40, 40, 40});
  evx_bars(cv, (evx_rect){in.x, in.y + 16, in.w, in.h - 16}, m->v, (size_t)m->c);
}

static int draw(const evx_options *o, const evr_data *d, const story *s, const maps *m) {
  evc_canvas cv;
  if (evc_canvas_init(&cv, 1800, TOP + 3 * ROW_H)) return evc_err("out of memory for the picture");
  char t[512], pen[300];
  char name[64];
  class_name(d, s->true_label, name, sizeof name);
  snprintf(t, sizeof t, "Why test image %zu (class %s) sits where it sits", s->index, name);
  evc_text(&cv, 16, 12, t, 3, (const unsigned char[3]){20, 20, 20});
  snprintf(pen, sizeof pen, "%s", d->layer_name[d->penultimate]);
  draw_input(&cv, (evx_rect){0, TOP, 440, ROW_H}, d, s);
  draw_maps(&cv, (evx_rect){440, TOP, 680, ROW_H}, m);
  snprintf(t, sizeof t, "penultimate layer %s: %zu features", pen, s->d);
  evx_bars(&cv, evx_panel(&cv, (evx_rect){1120, TOP, 680, ROW_H}, t), s->feat + s->index * s->d, s->d);
  evc_palette pal = {0};
  evc_palette_init(&pal, d->labels.i, s->n, d->n_classes);
  evc_labels lab = {d->labels.i, d->n_classes, d->class_names, &pal};
  int y = TOP + ROW_H;
  const char *map = s->umap ? "UMAP" : "t-SNE";
  snprintf(t, sizeof t, "%s of %s, ringed: %d nearest neighbours", map, pen, EVX_NEIGHBOURS);
  evx_map(&cv, evx_panel(&cv, (evx_rect){0, y, 600, ROW_H}, t), s->map.f, s->n, &lab, s->index, s->nn, EVX_NEIGHBOURS);
  snprintf(t, sizeof t, "PCA of %s: PC1 (%.1f %%) x PC2 (%.1f %%)", pen, 100.0 * s->ratio[0], 100.0 * s->ratio[1]);
  evx_map(&cv, evx_panel(&cv, (evx_rect){600, y, 600, ROW_H}, t), s->pca, s->n, &lab, s->index, s->nn, EVX_NEIGHBOURS);
  snprintf(t, sizeof t, "ridge to %s x, y: R2 %.2f, %.2f (left out %.2f, %.2f)", map, s->r2[0], s->r2[1],
           s->r2_cv[0], s->r2_cv[1]);
  evx_biplot(&cv, evx_panel(&cv, (evx_rect){1200, y, 600, ROW_H}, t), s->map.f, s->n, &lab, s->coef, s->d, s->arrows,
             s->n_top);
  y += ROW_H;
  for (int c = 0; c < 2; c++) {
    snprintf(t, sizeof t, "largest contributions to PC%d (x - mean) x loading", c + 1);
    evx_hbars(&cv, evx_panel(&cv, (evx_rect){600 * c, y, 600, ROW_H}, t), s->top_pc[c], s->top_val[c], s->n_top);
  }
  snprintf(t, sizeof t, "correlation of %zu features, clustered order", s->dc);
  evx_corr(&cv, evx_panel(&cv, (evx_rect){1200, y, 600, ROW_H}, t), s->corr, s->dc, s->order);
  evc_palette_free(&pal);
  int rc = evc_canvas_png(&cv, o->out) ? 1 : 0;
  evc_canvas_free(&cv);
  return rc;
}

/* ---- the command ---------------------------------------------------------- */

/* The 2-D UMAP map of the penultimate rows (umap-learn's defaults but
 * n_neighbors, the seed and the threads). */
static int umap_map(const evx_options *o, const evc_mat *x, evc_mat *out) {
  ev_umap *u = NULL;
  double k = (double)o->neighbors < (double)x->rows - 1 ? (double)o->neighbors : (double)x->rows - 1;
  ev_status st = ev_umap_create(&u);
  int rc = 0;
  if (!st) st = ev_umap_set(u, EV_UMAP_N_NEIGHBORS, k);
  if (!st) st = ev_umap_set(u, EV_UMAP_RANDOM_STATE, (double)o->r.seed);
  if (!st) st = ev_umap_set(u, EV_UMAP_THREADS, (double)o->r.threads);
  if (!st) st = ev_umap_set_progress(u, evc_progress, "umap");
  if (st) rc = evc_lib_err("setting up UMAP", st);
  else if ((st = ev_umap_fit(u, x->f, x->rows, x->cols, x->cols))) rc = evc_lib_err("UMAP", st);
  else if (evc_mat_alloc_f(out, x->rows, 2)) rc = 1;
  else if ((st = ev_umap_embedding(u, out->f, 2))) rc = evc_lib_err("reading the UMAP map", st);
  evc_progress_done();
  ev_umap_free(u);
  if (rc) evc_mat_free(out);
  return rc;
}

/* The data: the report's loaders, with the penultimate and scores layers
 * (and, for --images, the first Conv2d's maps of the one image). */
static int load(const evx_options *o, evr_data *d, char *conv, size_t len) {
  char layers[1024];
  evx_options oo = *o;
  if (o->r.images) {
    if (first_conv(o->model, conv, len)) return 1;
    oo.r.maps_one = 1;
    oo.r.maps_row = o->index;
    oo.r.maps_layer = conv;
    if (evr_load_folder(&oo.r, d)) return 1;
    if ((size_t)o->index >= d->labels.rows)
      return evc_err("--index %ld is outside the data: %s gives %zu images; pass an index from 0 to %zu", o->index,
                     o->r.images, d->labels.rows, d->labels.rows - 1);
    return 0;
  }
  snprintf(layers, sizeof layers, "pixels,%s,%s", o->r.penultimate, o->r.softmax);
  oo.r.layers = layers;
  return evr_load(&oo.r, d);
}

static int run(const evx_options *o) {
  const char *early = o->model || !o->r.data_dir ? NULL
                      : o->layer ? o->layer : file_exists(o->r.data_dir, "pool1") ? "pool1" : NULL;
  if (early && (!strcmp(early, o->r.penultimate) || !strcmp(early, o->r.softmax))) early = NULL;
  evr_data d;
  story s = {0};
  maps m = {0};
  char conv[256] = "";
  int rc = load(o, &d, conv, sizeof conv);
  if (!rc) {
    s.n = d.labels.rows;
    s.index = (size_t)o->index;
    s.feat = d.layer[d.penultimate].f;
    s.d = d.layer[d.penultimate].cols;
    s.umap = o->umap;
    if (s.n < 3) rc = evc_err("explain needs at least 3 test images, got %zu", s.n);
  }
  if (!rc) rc = o->r.images ? maps_from_folder(&d, conv, &m) : o->model ? maps_from_model(o, &d, &m)
                : early ? maps_from_file(o, early, &m) : 0;
  if (!rc && !m.v) {   /* no layer to show: the penultimate vector, said so */
    m.c = (int)s.d;
    m.h = m.w = 1;
    m.v = malloc(s.d * sizeof(float));
    if (m.v) memcpy(m.v, s.feat + s.index * s.d, s.d * sizeof(float));
    snprintf(m.what, sizeof m.what, "no convolutional layer given (no test_pool1.npy, no --layer, no --model): "
             "the penultimate vector");
  }
  if (!rc) rc = o->umap ? umap_map(o, &d.layer[d.penultimate], &s.map)
                        : evr_embed(&o->r, "penultimate", &d.layer[d.penultimate], 2, &s.map);
  if (!rc && o->map_out) rc = evc_write_any(o->map_out, &s.map, 0, NULL) ? 1 : 0;
  if (!rc && o->maps_out) {
    evc_mat mm = {.f = m.v, .rows = (size_t)m.c, .cols = (size_t)m.h * (size_t)m.w};
    rc = evc_write_any(o->maps_out, &mm, 0, NULL) ? 1 : 0;
  }
  if (!rc) {
    neighbours(&s);
    rc = predict_story(&d, &s) || pca_story(o, &s) || ridge_story(o, &s) || corr_story(&s);
  }
  if (!rc) rc = draw(o, &d, &s, &m);
  if (!rc) print_story(&d, &s, &m);
  free(m.v);
  story_free(&s);
  evr_data_free(&d);
  return rc;
}

int evc_cmd_explain(int argc, char **argv) {
  evx_options o;
  int rc = parse(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  if (EVC_OUTS_CHECK(o.out, o.map_out, o.maps_out) || check_index(&o)) return 1;
  return run(&o);
}
