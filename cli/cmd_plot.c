/* cmd_plot.c - embedviz plot: the pictures, one at a time. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "plot.h"

static const char PLOT_HELP[] =
    "Usage: embedviz plot KIND -i INPUT -o PICTURE [options]\n"
    "KIND is one of:\n"
    "  scatter    a 2-D map (n x 2, e.g. from tsne or pca) coloured by class, with a legend\n"
    "  images     the image map: each image's thumbnail at its map position (needs --images)\n"
    "  scree      explained variance ratios (k values, from pca --save-variance)\n"
    "  confusion  a c x c confusion matrix (from confusion)\n\n"
    "  -i, --input FILE     the map, ratios or matrix (.npy or .csv)\n"
    "  -o, --output FILE    the picture: .png, .svg or .pdf (the format by the extension)\n"
    "      --format F       png, svg or pdf, whatever the name (default: by -o's extension,\n"
    "                       png for other names)\n"
    "  -l, --labels FILE    class of each point (n integers): colours and legend\n"
    "  -c, --classes FILE   class names, one a line (default: class_names.txt beside the\n"
    "                       labels, or beside -i for confusion; else class numbers)\n"
    "      --images FILE    images, n x side^2 (grey, values in [0, 1] or [0, 255])\n"
    "      --mark FILE      n values; points with a non-zero value are circled\n"
    "      --title TEXT     a title\n"
    "      --xlabel TEXT    scatter: the x axis' name (default 'dimension 1')\n"
    "      --ylabel TEXT    scatter: the y axis' name (default 'dimension 2')\n"
    "      --variance FILE  scatter of PCA scores: the explained variance ratios\n"
    "                       (pca --save-variance): axes named 'PC1 (29.8 %)', 'PC2 (...)'\n"
    "      --size PX        image map size in pixels (default 1800)\n"
    "      --normalize      confusion: colour and number each row in % of its true class\n"
    "  -q, --quiet          no messages\n"
    "  -h, --help           this help\n";

typedef struct plot_opts {
  const char *kind, *in, *out, *labels, *classes, *images, *mark, *title, *format, *xlabel, *ylabel, *variance;
  long size;
  int normalize;
} plot_opts;

static int plot_parse(int argc, char **argv, plot_opts *o) {
  static const struct option lo[] = {
      {"input", 1, 0, 'i'},  {"output", 1, 0, 'o'}, {"labels", 1, 0, 'l'}, {"classes", 1, 0, 'c'},
      {"images", 1, 0, 'I'}, {"mark", 1, 0, 'M'},   {"title", 1, 0, 'T'},  {"size", 1, 0, 'S'},
      {"quiet", 0, 0, 'q'},  {"help", 0, 0, 'h'},   {"normalize", 0, 0, 'N'}, {"format", 1, 0, 'F'},
      {"xlabel", 1, 0, 'X'}, {"ylabel", 1, 0, 'Y'},  {"variance", 1, 0, 'V'}, {0, 0, 0, 0}};
  int c;
  *o = (plot_opts){.size = 1800};
  optind = 1;
  while ((c = getopt_long(argc, argv, "i:o:l:c:qh", lo, NULL)) != -1) {
    switch (c) {
    case 'i': o->in = optarg; break;
    case 'o': o->out = optarg; break;
    case 'l': o->labels = optarg; break;
    case 'c': o->classes = optarg; break;
    case 'I': o->images = optarg; break;
    case 'M': o->mark = optarg; break;
    case 'T': o->title = optarg; break;
    case 'S': if (evc_parse_long("--size", optarg, 100, 20000, &o->size)) return 2; break;
    case 'N': o->normalize = 1; break;
    case 'F': o->format = optarg; break;
    case 'X': o->xlabel = optarg; break;
    case 'Y': o->ylabel = optarg; break;
    case 'V': o->variance = optarg; break;
    case 'q': evc_quiet = 1; break;
    case 'h': fputs(PLOT_HELP, stdout); return -1;
    default: fputs("Try 'embedviz plot --help'.\n", stderr); return 2;
    }
  }
  if (optind < argc) o->kind = argv[optind++];
  if (!o->kind) return evc_err("plot needs a KIND: scatter, images, scree or confusion") + 1;
  if (strcmp(o->kind, "scatter") && strcmp(o->kind, "images") && strcmp(o->kind, "scree") && strcmp(o->kind, "confusion"))
    return evc_err("unknown plot KIND '%s': use scatter, images, scree or confusion", o->kind) + 1;
  if (!o->in || !o->out) return evc_err("plot needs --input and --output") + 1;
  if ((o->xlabel || o->ylabel || o->variance) && strcmp(o->kind, "scatter"))
    return evc_err("--xlabel, --ylabel and --variance go with plot scatter") + 1;
  if (o->variance && (o->xlabel || o->ylabel))
    return evc_err("--variance names the axes PC1 and PC2: leave out --xlabel and --ylabel") + 1;
  if (optind < argc) return evc_err("plot: unexpected argument '%s'", argv[optind]) + 1;
  /* the format, before any reading or drawing */
  evc_format named = evc_format_of_path(o->out);
  if (o->format) {
    evc_format f;
    if (evc_format_parse("--format", o->format, &f)) return 2;
    if (named != EVC_FORMAT_AUTO && named != f)
      return evc_err("--format %s but the output %s ends in %s: name it %.*s%s or leave out --format", o->format,
                     o->out, strrchr(o->out, '.'), (int)(strrchr(o->out, '.') - o->out), o->out,
                     evc_format_ext(f)) + 1;
    evc_figure_format = f;
  } else if (named != EVC_FORMAT_AUTO && !evc_format_available(named)) {
    return evc_err("cannot write %s: this build's cairo has no %s writer: use .png", o->out,
                   evc_format_ext(named) + 1) + 1;
  }
  return 0;
}

/* Labels (checked against n), class count and names. */

/* class_names.txt in the folder of `path` when there is one (NULL if not):
 * the class names of one's own data travel with its labels.  Without it
 * the picture says "class 3"; no data set's names are assumed. */
static const char *sidecar_names(const char *path, char *buf, size_t len) {
  const char *slash = strrchr(path, '/');
  int dir = slash ? (int)(slash - path) : 0;
  if (snprintf(buf, len, "%.*s%sclass_names.txt", dir, path, slash ? "/" : "") >= (int)len) return NULL;
  return access(buf, R_OK) == 0 ? buf : NULL;
}

static int load_labels(const plot_opts *o, size_t n, evc_mat *y, char ***names, int *n_names, evc_labels *lab) {
  *lab = (evc_labels){0};
  if (!o->labels) return 0;
  if (evc_read_any(o->labels, 1, y)) return 1;
  if (y->rows * y->cols != n) return evc_err("%s has %zu labels for %zu points", o->labels, y->rows * y->cols, n);
  int64_t mx = 0;
  for (size_t k = 0; k < n; k++) {
    if (y->i[k] < 0) return evc_err("%s: label %lld at position %zu is negative", o->labels, (long long)y->i[k], k);
    if (y->i[k] > EVC_MAX_LABEL)
      return evc_err("%s: label %lld at position %zu is larger than %d: number the classes 0, 1, 2, ...",
                     o->labels, (long long)y->i[k], k, EVC_MAX_LABEL);
    mx = y->i[k] > mx ? y->i[k] : mx;
  }
  lab->y = y->i;
  lab->n_classes = (int)mx + 1;
  char side[4096];
  const char *file = o->classes ? o->classes : sidecar_names(o->labels, side, sizeof side);
  if (file) {
    int k = evc_read_class_names(file, names);
    if (k < 0) return 1;
    *n_names = k;
    if (k < lab->n_classes) return evc_err("%s has %d names for %d classes", file, k, lab->n_classes);
    lab->names = (const char *const *)*names;
  }
  return 0;
}

static int plot_map(const plot_opts *o, const evc_mat *in, const evc_labels *lab) {
  if (in->cols < 2) return evc_err("%s has %zu column(s): a map needs 2 (x, y)", o->in, in->cols);
  if (evc_check_points(o->in, in->f, in->rows, in->cols)) return 1;
  if (!strcmp(o->kind, "scatter")) {
    evc_mat mk = {0};
    unsigned char *mark = NULL;
    int rc = 0;
    if (o->mark) {
      if (evc_read_any(o->mark, 0, &mk)) return 1;
      if (mk.rows * mk.cols != in->rows) rc = evc_err("%s has %zu values for %zu points", o->mark, mk.rows * mk.cols, in->rows);
      else if (!(mark = malloc(in->rows))) rc = evc_err("out of memory");
      for (size_t k = 0; !rc && k < in->rows; k++) mark[k] = mk.f[k] != 0;
    }
    char xl[64], yl[64];
    const char *xlabel = o->xlabel ? o->xlabel : "dimension 1", *ylabel = o->ylabel ? o->ylabel : "dimension 2";
    if (!rc && o->variance) {   /* the axes' share of the variance */
      evc_mat v = {0};
      if (evc_read_any(o->variance, 0, &v)) rc = 1;
      for (size_t k = 0; !rc && k < v.rows * v.cols; k++)
        if (!(v.f[k] >= 0 && v.f[k] <= 1))
          rc = evc_err("%s: ratio %g at position %zu is not in [0, 1]: give explained variance ratios "
                       "(pca --save-variance writes them)", o->variance, (double)v.f[k], k);
      if (!rc && v.rows * v.cols < 2)
        rc = evc_err("%s has %zu ratio(s): the axes need the first two components'", o->variance, v.rows * v.cols);
      if (!rc) {
        evc_pc_label(0, v.f, v.rows * v.cols, xl, sizeof xl);
        evc_pc_label(1, v.f, v.rows * v.cols, yl, sizeof yl);
        xlabel = xl, ylabel = yl;
      }
      evc_mat_free(&v);
    }
    if (!rc) rc = evc_fig_scatter_axes(o->out, in->f, in->rows, in->cols, lab, mark, "misclassified", o->title, xlabel,
                                       ylabel) ? 1 : 0;
    free(mark);
    evc_mat_free(&mk);
    return rc;
  }
  evc_mat im = {0};
  if (!o->images) return evc_err("plot images needs --images");
  if (evc_read_any(o->images, 0, &im)) return 1;
  int side = (int)lround(sqrt((double)im.cols)), rc = 0;
  float vmax = 1;
  for (size_t k = 0; k < im.rows * im.cols; k++) vmax = im.f[k] > vmax ? 255 : vmax;
  if ((size_t)side * (size_t)side != im.cols) rc = evc_err("%s: rows of %zu values are not square grey images", o->images, im.cols);
  else if (im.rows != in->rows) rc = evc_err("%s has %zu images for %zu points", o->images, im.rows, in->rows);
  else {
    evc_thumbs t;
    if (evc_thumbs_alloc(&t, im.rows, side)) rc = 1;
    for (size_t i = 0; !rc && i < im.rows; i++) evc_thumbs_put_grey(&t, i, im.f + i * im.cols, vmax);
    t.grey = 1;
    if (!rc) rc = evc_fig_image_map(o->out, in->f, in->rows, in->cols, &t, lab, (int)o->size) ? 1 : 0;
    evc_thumbs_free(&t);
  }
  evc_mat_free(&im);
  return rc;
}

static int plot_confusion(const plot_opts *o, char **names, int n_names, const char *names_file) {
  evc_mat m = {0};
  if (evc_read_any(o->in, 1, &m)) return 1;
  int rc = 0;
  if (m.rows != m.cols) rc = evc_err("%s is %zu x %zu: a confusion matrix is square", o->in, m.rows, m.cols);
  float *acc = malloc(m.rows * sizeof *acc);
  if (!acc) rc = evc_err("out of memory");
  else if (m.rows > EVC_MAX_CONFUSION_CLASSES)
    rc = evc_err("%s has %zu classes: a confusion picture shows at most %d (cells of 2 pixels): plot a subset",
                 o->in, m.rows, EVC_MAX_CONFUSION_CLASSES);
  if (!rc && names && (size_t)n_names < m.rows)
    rc = evc_err("%s has %d names for %zu classes", names_file, n_names, m.rows);
  for (size_t k = 0; !rc && k < m.rows * m.cols; k++)
    if (m.i[k] < 0 || m.i[k] > ((int64_t)1 << 53))
      rc = evc_err("%s: count %lld in row %zu, column %zu is %s: a confusion matrix holds counts", o->in,
                   (long long)m.i[k], k / m.cols, k % m.cols, m.i[k] < 0 ? "negative" : "too large");
  for (size_t r = 0; !rc && r < m.rows; r++) {
    int64_t tot = 0;
    for (size_t c = 0; c < m.cols; c++) tot += m.i[r * m.cols + c];   /* <= 1000 x 2^53: no overflow */
    acc[r] = tot ? (float)m.i[r * m.cols + r] / (float)tot : NAN;
  }
  const char *const *nm = (const char *const *)names;
  if (!rc) rc = evc_fig_confusion_ex(o->out, m.i, (int)m.rows, nm, acc, o->normalize) ? 1 : 0;
  free(acc);
  evc_mat_free(&m);
  return rc;
}

int evc_cmd_plot(int argc, char **argv) {
  plot_opts o;
  int rc = plot_parse(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  if (EVC_OUTS_CHECK(o.out)) return 1;
  evc_mat in = {0}, y = {0};
  char **names = NULL;
  int n_names = 0;
  evc_labels lab = {0};
  if (!strcmp(o.kind, "confusion")) {
    char side[4096];
    const char *file = o.classes ? o.classes : sidecar_names(o.in, side, sizeof side);
    if (file && (n_names = evc_read_class_names(file, &names)) < 0) return 1;
    rc = plot_confusion(&o, names, n_names, file);
  } else if (evc_read_any(o.in, 0, &in)) {
    rc = 1;
  } else if (!strcmp(o.kind, "scree")) {
    for (size_t k = 0; !rc && k < in.rows * in.cols; k++)
      if (!(in.f[k] >= 0 && in.f[k] <= 1))
        rc = evc_err("%s: ratio %g at position %zu is not in [0, 1]: give explained variance ratios "
                     "(pca --save-variance writes them)", o.in, (double)in.f[k], k);
    if (!rc) rc = evc_fig_scree(o.out, in.f, in.rows * in.cols, o.title) ? 1 : 0;
  } else if (!(rc = load_labels(&o, in.rows, &y, &names, &n_names, &lab))) {
    rc = plot_map(&o, &in, &lab);
  }
  for (int k = 0; names && k < n_names; k++) free(names[k]);
  free(names);
  evc_mat_free(&in);
  evc_mat_free(&y);
  if (!rc) evc_info("plot: wrote %s", o.out);
  return rc;
}
