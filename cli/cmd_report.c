/*
 * cmd_report.c - embedviz report: from a trained network's activations to
 * a folder with index.html and the pictures it shows. Each stage is timed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plot.h"
#include "report.h"
#include "report_fmaps.h"

static const char REPORT_HELP[] =
    "Usage: embedviz report --images DIR --model FILE [-o OUT] [options]\n"
    "       embedviz report --features F.npy --labels L.npy [--scores S.npy] [--images DIR] [-o OUT]\n"
    "       embedviz report --data DIR [-o OUT] [options]   (the demo's .npy files)\n"
    "The whole story of what a network learned, as a folder with index.html (works\n"
    "offline) and its pictures: t-SNE maps by depth, a 3-D map, the image map,\n"
    "nearest neighbours in pixel and feature space, the most ambiguous images,\n"
    "the confusion matrix, PCA of the penultimate layer and an interactive map.\n\n"
    "Your own data:\n"
    "  -i, --images DIR       a folder with one sub-folder of images per class\n"
    "                         (DIR/<class>/<image>, torchvision's ImageFolder layout);\n"
    "                         with --features: that folder or a text file listing\n"
    "                         one image path a line, row i of F being image i\n"
    "  -m, --model FILE       the TorchScript classifier (torch.jit.save); with\n"
    "                         --data: extract the layers from it\n"
    "      --reference-images DIR2  the images the neighbours are searched in (a\n"
    "                         training folder); default: a per-class 80/20 split of\n"
    "                         DIR by --seed\n"
    "      --resize N         Resize(N) before the crop (default 256)\n"
    "      --crop N           CenterCrop(N) (default 224)\n"
    "      --mean A,B,C       Normalize's mean (default ImageNet's 0.485,0.456,0.406)\n"
    "      --std A,B,C        Normalize's std (default ImageNet's 0.229,0.224,0.225)\n"
    "      --channels 1|3     the model's input channels (default 3; 1: grey)\n"
    "      --batch N          images per forward pass (default 32)\n"
    "      --features F.npy   features computed elsewhere (the penultimate layer):\n"
    "                         no model, no libtorch needed\n"
    "      --labels L.npy     with --features: one class number per row\n"
    "      --scores S.npy     with --features: class scores or probabilities per row\n\n"
    "The demo's data:\n"
    "  -d, --data DIR         folder of .npy inputs: test_images, test_labels,\n"
    "                         test_<layer> for each layer, train_images,\n"
    "                         train_labels, train_<penultimate> (see docs/cli.md)\n"
    "  -D, --dataset DIR      with --model: read the images and labels from the IDX files\n"
    "                         of DIR (t10k-* for testing, train-* for neighbours), e.g.\n"
    "                         /usr/share/datasets/fashion-mnist\n"
    "      --classes FILE     with --data or --dataset: class names, one a line (default:\n"
    "                         DIR/class_names.txt; Fashion-MNIST's for a --dataset\n"
    "                         folder named fashion...; else class numbers)\n\n"
    "Common:\n"
    "  -o, --output DIR       the report folder (default demo-report)\n"
    "  -L, --layers LIST      layers mapped by depth, comma-separated; 'pixels' is the\n"
    "                         images (default: with --images, chosen for the model:\n"
    "                         pixels, an early layer, the penultimate layer, the\n"
    "                         scores; with --data, pixels,pool1,relu3,softmax)\n"
    "      --penultimate NAME the penultimate layer (default: relu3 with --data, the\n"
    "                         last but one of --layers with --images)\n"
    "      --softmax NAME     the class scores layer (default: softmax with --data,\n"
    "                         the last of --layers with --images)\n"
    "  -n, --samples N        test images to show (default 5000; more: a per-class\n"
    "                         random sample)\n"
    "      --train-samples N  reference images searched for neighbours (default 10000)\n"
    "      --perplexity P     t-SNE perplexity (default 30)\n"
    "      --iterations N     t-SNE iterations (default 750)\n"
    "      --maps LIST        tsne (default) or tsne,umap: also a UMAP map of each\n"
    "                         layer (same rows, 15 neighbours), beside its t-SNE map\n"
    "      --seed N           seed of every random choice (default 0)\n"
    "  -t, --threads N        threads (default: all cores)\n"
    "      --feature-maps-budget MB  megabytes of grey pixels for the early layer's\n"
    "                         feature maps of the clicked point (default 32): larger\n"
    "                         maps are averaged down (to 14 x 14 at most), then only\n"
    "                         some points keep theirs; the page says which\n"
    "      --format F         png (default), svg or pdf: the figures are also written\n"
    "                         in F beside their PNGs (the page shows the PNGs and\n"
    "                         links each to its SVG or PDF)\n"
    "  -q, --quiet            no progress, no timings\n"
    "  -h, --help             this help\n";

/* --maps LIST: "tsne" (the default) or "tsne,umap" (either order): UMAP
 * maps beside the t-SNE maps, which the rest of the page is drawn on. */
static int parse_maps(const char *list, evr_options *o) {
  int tsne = 0, umap = 0;
  const char *c = list;
  while (*c) {
    size_t len = strcspn(c, ",");
    if (len == 4 && !strncmp(c, "tsne", 4)) tsne = 1;
    else if (len == 4 && !strncmp(c, "umap", 4)) umap = 1;
    else return evc_err("--maps takes tsne or tsne,umap, got '%s': the kinds are tsne and umap", list);
    c += len;
    if (*c == ',') c++;
  }
  if (!tsne)
    return evc_err("--maps '%s' leaves out tsne: the page's other figures are drawn on the t-SNE maps, so give "
                   "tsne,umap", list);
  o->umap_maps = umap;
  return 0;
}

static int report_parse(int argc, char **argv, evr_options *o) {
  static const struct option lo[] = {
      {"data", 1, 0, 'd'},        {"output", 1, 0, 'o'},     {"layers", 1, 0, 'L'},    {"penultimate", 1, 0, 'P'},
      {"softmax", 1, 0, 'S'},     {"samples", 1, 0, 'n'},    {"train-samples", 1, 0, 'N'},
      {"perplexity", 1, 0, 'p'},  {"iterations", 1, 0, 'I'}, {"seed", 1, 0, 's'},      {"threads", 1, 0, 't'},
      {"model", 1, 0, 'm'},       {"dataset", 1, 0, 'D'},    {"quiet", 0, 0, 'q'},     {"help", 0, 0, 'h'},
      {"images", 1, 0, 'i'},      {"reference-images", 1, 0, 'R'}, {"features", 1, 0, 'F'},
      {"labels", 1, 0, 'Y'},      {"scores", 1, 0, 'C'},     {"resize", 1, 0, 'r'},    {"crop", 1, 0, 'c'},
      {"mean", 1, 0, 'M'},        {"std", 1, 0, 'T'},        {"channels", 1, 0, 'H'},  {"batch", 1, 0, 'B'},
      {"format", 1, 0, 'f'},      {"feature-maps-budget", 1, 0, 'G'}, {"classes", 1, 0, 'K'},
      {"maps", 1, 0, 'U'},        {0, 0, 0, 0}};
  *o = (evr_options){.out_dir = "demo-report", .layers = "pixels,pool1,relu3,softmax", .penultimate = "relu3",
                     .softmax = "softmax", .samples = 5000, .train_samples = 10000, .perplexity = 30,
                     .iterations = 750, .resize = 256, .crop = 224, .channels = 3, .batch = 32,
                     .fmaps_budget = EVR_FMAPS_BUDGET};
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "d:D:m:o:L:n:t:i:qh", lo, NULL)) != -1) {
    switch (c) {
    case 'd': o->data_dir = optarg; break;
    case 'o': o->out_dir = optarg; break;
    case 'L': o->layers = optarg; o->layers_given = 1; break;
    case 'P': o->penultimate = optarg; o->penultimate_given = 1; break;
    case 'S': o->softmax = optarg; o->softmax_given = 1; break;
    case 'm': o->model = optarg; break;
    case 'D': o->dataset = optarg; break;
    case 'i': o->images = optarg; break;
    case 'R': o->reference_images = optarg; break;
    case 'F': o->features = optarg; break;
    case 'Y': o->labels = optarg; break;
    case 'C': o->scores = optarg; break;
    case 'r': if (evc_parse_long("--resize", optarg, 1, 65536, &o->resize)) return 2; break;
    case 'c': if (evc_parse_long("--crop", optarg, 1, 65536, &o->crop)) return 2; break;
    case 'H': if (evc_parse_long("--channels", optarg, 1, 3, &o->channels) || (o->channels == 2 && evc_err("--channels is 1 (grey) or 3 (RGB), got 2"))) return 2; break;
    case 'B': if (evc_parse_long("--batch", optarg, 1, 65536, &o->batch)) return 2; break;
    case 'M': if (evc_parse_three("--mean", optarg, -1e6, 1e6, o->mean)) return 2; o->mean_given = 1; break;
    case 'T': if (evc_parse_three("--std", optarg, 1e-9, 1e6, o->std)) return 2; o->std_given = 1; break;
    case 'n': if (evc_parse_long("--samples", optarg, 20, 1L << 30, &o->samples)) return 2; break;
    case 'N': if (evc_parse_long("--train-samples", optarg, EVR_NEIGHBOURS, 1L << 30, &o->train_samples)) return 2; break;
    case 'p': if (evc_parse_double("--perplexity", optarg, 1, 1000, &o->perplexity)) return 2; break;
    case 'I': if (evc_parse_long("--iterations", optarg, 50, 100000, &o->iterations)) return 2; break;
    case 's': if (evc_parse_long("--seed", optarg, 0, 2147483647L, &o->seed)) return 2; break;
    case 't': if (evc_parse_long("--threads", optarg, 0, 1024, &o->threads)) return 2; break;
    case 'G': if (evc_parse_double("--feature-maps-budget", optarg, 0.001, 1e5, &o->fmaps_budget)) return 2; break;
    case 'K': o->classes = optarg; break;
    case 'U': if (parse_maps(optarg, o)) return 2; break;
    case 'f': if (evc_format_parse("--format", optarg, &evc_figure_extra)) return 2; break;
    case 'q': evc_quiet = 1; break;
    case 'h': fputs(REPORT_HELP, stdout); return -1;
    default: fputs("Try 'embedviz report --help'.\n", stderr); return 2;
    }
  }
  if (optind < argc) return evc_err("report: unexpected argument '%s'", argv[optind]) + 1;
  if (o->classes && (o->features || o->images))
    return evc_err("--classes goes with --data or --dataset: with --images the class folders' names are the class "
                   "names") + 1;
  if (o->features) {
    if (o->model || o->data_dir || o->dataset || o->reference_images)
      return evc_err("--features gives the report without a model: leave out --model, --data, --dataset and "
                     "--reference-images") + 1;
    if (!o->labels) return evc_err("--features needs --labels L.npy (one class number per row of features)") + 1;
    return 0;
  }
  if (o->labels || o->scores) return evc_err("--labels and --scores go with --features F.npy") + 1;
  if (o->images) {
    if (o->data_dir || o->dataset) return evc_err("--images reads the images itself: leave out --data and --dataset") + 1;
    if (!o->model) return evc_err("--images DIR needs --model FILE (a TorchScript classifier), or --features F.npy "
                                  "with features computed elsewhere") + 1;
    return 0;
  }
  if (o->reference_images) return evc_err("--reference-images goes with --images DIR") + 1;
  if (!o->data_dir && !(o->dataset && o->model))
    return evc_err("report needs --images DIR and --model FILE, --features F.npy and --labels L.npy, --data DIR, or "
                   "--dataset DIR and --model FILE (see embedviz report --help)") + 1;
  return 0;
}

/* ---- stages ------------------------------------------------------------- */

static double stage_t0;
static void stage_begin(void) { stage_t0 = evc_now(); }
static void stage_end(evr_results *r, const char *name) {
  if (r->n_stages == EVR_MAX_STAGES) return;
  r->stage_name[r->n_stages] = name;
  r->stage_seconds[r->n_stages++] = evc_now() - stage_t0;
  evc_info("stage %-22s %7.2f s", name, evc_now() - stage_t0);
}

static int stage_maps(const evr_options *o, const evr_data *d, evr_results *r) {
  for (int l = 0; l < d->n_layers; l++) {
    stage_begin();
    if (evr_embed(o, d->layer_name[l], &d->layer[l], 2, &r->map[l])) return 1;
    stage_end(r, d->layer_name[l]);
  }
  stage_begin();
  if (evr_embed(o, "3-D", &d->layer[d->penultimate], 3, &r->map3d)) return 1;
  stage_end(r, "3-D map");
  for (int l = 0; o->umap_maps && l < d->n_layers; l++) {
    stage_begin();
    if (evr_embed_umap(o, d->layer_name[l], &d->layer[l], &r->umap[l])) return 1;
    stage_end(r, "UMAP map");
  }
  return 0;
}

/* The labels as int32 (the quality calls' type), or NULL (out of memory). */
static int32_t *labels32(const evr_data *d) {
  size_t n = d->labels.rows;
  int32_t *y = malloc((n ? n : 1) * sizeof *y);
  for (size_t i = 0; y && i < n; i++) y[i] = (int32_t)d->labels.i[i];
  return y;
}

/* How far each map can be trusted: ev_quality_map of every layer's 2-D map
 * against that layer's rows (what the map was made from), k = 10; a layer
 * of more than EVR_QUALITY_WIDE columns on its first 50 principal
 * components, the rows t-SNE started from (the demo's pool1 has 3,136:
 * about a minute more at 10,000 images otherwise). */
static int stage_quality(const evr_options *o, const evr_data *d, evr_results *r) {
  stage_begin();
  size_t n = d->labels.rows, k = EVR_QUALITY_K;
  if (2 * k >= n) k = (n - 1) / 2;   /* the measures need k < n / 2 */
  if (k == 0) {
    evc_info("report: only %zu images: no map quality measures", n);
    return 0;
  }
  ev_quality *q = NULL;
  int32_t *y = labels32(d);
  ev_status st = y ? ev_quality_create(&q) : EV_ERR_NOMEM;
  if (!st) st = ev_quality_set(q, EV_QUALITY_MAP_NEIGHBORS, (double)k);
  if (!st) st = ev_quality_set(q, EV_QUALITY_THREADS, (double)o->threads);
  for (int l = 0; !st && l < d->n_layers; l++) {
    const evc_mat *x = &d->layer[l], *m = &r->map[l];
    evc_mat pcs = {0};
    if (x->cols > EVR_QUALITY_WIDE) {   /* all pairs of thousands of columns: minutes at 10,000 rows */
      if (evr_pca(o, x, 50, &pcs, NULL, NULL)) {
        ev_quality_free(q);
        free(y);
        return 1;
      }
      x = &pcs;
    }
    r->quality_cols[l] = x->cols;
    st = ev_quality_map(q, x->f, x->rows, x->cols, x->cols, m->f, m->cols, m->cols, y, r->quality[l], EV_MAP_MEASURES);
    evc_mat_free(&pcs);
    if (!st)
      evc_info("report: map of %s: trustworthiness %.4f, continuity %.4f, %zu-NN kept %.4f, %zu-NN accuracy %.4f",
               d->layer_name[l], r->quality[l][0], r->quality[l][1], k, r->quality[l][2], k, r->quality[l][3]);
  }
  ev_quality_free(q);
  free(y);
  if (st) return evc_lib_err("measuring the maps' quality", st);
  r->has_quality = (int)k;
  stage_end(r, "map quality");
  return 0;
}

/* Possible label errors: ev_quality_label_issues from the class
 * probabilities and the penultimate features, the rows confident learning
 * flags, highest score first. Nothing without class scores. */
static int stage_issues(const evr_options *o, const evr_data *d, evr_results *r) {
  if (d->softmax < 0) return 0;
  stage_begin();
  const evc_mat *p = d->probs.f ? &d->probs : &d->layer[d->softmax];
  size_t n = d->labels.rows, c = p->cols;
  const evc_mat *feat = &d->layer[d->penultimate];
  size_t k = n <= 10 ? n - 1 : 10;
  ev_quality *q = NULL;
  int32_t *y = labels32(d);
  int64_t *order = malloc((n ? n : 1) * sizeof *order);
  r->issue_ev = malloc((n ? n : 1) * EV_ISSUE_FIELDS * sizeof(float));
  r->suggested = malloc((n ? n : 1) * sizeof(int32_t));
  ev_status st = y && order && r->issue_ev && r->suggested ? ev_quality_create(&q) : EV_ERR_NOMEM;
  if (!st) st = ev_quality_set(q, EV_QUALITY_ISSUE_NEIGHBORS, (double)k);
  if (!st) st = ev_quality_set(q, EV_QUALITY_THREADS, (double)o->threads);
  if (!st)
    st = ev_quality_label_issues(q, y, n, c, p->f, p->cols, feat->f, feat->cols, feat->cols, r->issue_ev,
                                 EV_ISSUE_FIELDS, r->suggested);
  size_t count = 0;
  if (!st) st = ev_quality_rank_issues(r->issue_ev, n, EV_ISSUE_FIELDS, 1, order, &count);
  if (!st) {
    r->n_flagged = (int)count;
    r->n_issues = count < EVR_ISSUES ? (int)count : EVR_ISSUES;
    memcpy(r->issues, order, (size_t)r->n_issues * sizeof *order);
    r->has_issues = 1;
    r->issue_k = (int)k;
  }
  ev_quality_free(q);
  free(y);
  free(order);
  if (st) return evc_lib_err("finding possible label errors", st);
  evc_info("report: %d possible label errors flagged", r->n_flagged);
  stage_end(r, "label issues");
  return 0;
}

/* The EVR_NEIGHBOURS nearest reference rows of each query row, or, when
 * queries is NULL, of each reference row among the others. */
static int knn(const evr_options *o, const evc_mat *ref, const evc_mat *queries, evc_mat *out) {
  /* A point is not its own neighbour: a few images have fewer than 10. */
  size_t k = !queries && ref->rows <= EVR_NEIGHBOURS ? ref->rows - 1 : EVR_NEIGHBOURS;
  if (k == 0) return evc_err("the report needs at least 2 test images");
  if (queries && ref->rows < EVR_NEIGHBOURS)
    return evc_err("the reference set has %zu images: the neighbours section needs at least %d: give more images or "
                   "a larger --reference-images folder", ref->rows, EVR_NEIGHBOURS);
  return evc_knn_run(ref, queries, k, EV_METRIC_EUCLIDEAN, 2, o->threads, out, NULL);
}

/* How many of row q's neighbours (reference rows) share the query's class. */
static int agree(const evr_data *d, const evc_mat *nn, size_t q, int64_t label) {
  int same = 0;
  for (int k = 0; k < EVR_NEIGHBOURS; k++) same += d->train_labels.i[nn->i[q * EVR_NEIGHBOURS + k]] == label;
  return same;
}

/* Queries that tell the story: among the candidate test rows (cand[0..nc)),
 * for each class the one whose feature-space neighbours agree with its
 * class most and its pixel-space neighbours least; then the classes where
 * that contrast is largest, in class order. chosen gets candidate indices. */
static void pick_queries(const evr_data *d, const int64_t *cand_rows, const evc_mat *pix, const evc_mat *feat,
                         size_t cand, evr_results *r, int64_t *chosen) {
  int best[1024], score[1024], nc = d->n_classes < 1024 ? d->n_classes : 1024;
  for (int c = 0; c < nc; c++) best[c] = -1, score[c] = -100;
  for (size_t q = 0; q < cand; q++) {
    int64_t y = d->labels.i[cand_rows[q]];
    int s = 2 * agree(d, feat, q, y) - agree(d, pix, q, y);
    if (y < nc && s > score[y]) score[y] = s, best[y] = (int)q;
  }
  int picked = 0;
  unsigned char taken[1024] = {0};
  while (picked < EVR_QUERIES) {
    int pick = -1;
    for (int c = 0; c < nc; c++)
      if (!taken[c] && best[c] >= 0 && (pick < 0 || score[c] > score[pick])) pick = c;
    if (pick < 0) break;
    taken[pick] = 1;
    picked++;
  }
  int k = 0;
  for (int c = 0; c < nc && k < EVR_QUERIES; c++)
    if (taken[c]) chosen[k++] = best[c];
  for (size_t q = 0; k < EVR_QUERIES; q++) chosen[k++] = (int64_t)(q % cand);   /* fewer classes than queries */
  for (k = 0; k < EVR_QUERIES; k++) r->queries[k] = cand_rows[chosen[k]];
}

/* Keep the rows of nn (cand x k) listed in rows, in that order. */
static int select_rows(const evc_mat *nn, const int64_t *rows, evc_mat *out) {
  if (evc_mat_alloc_i(out, EVR_QUERIES, EVR_NEIGHBOURS)) return 1;
  for (int q = 0; q < EVR_QUERIES; q++)
    memcpy(out->i + q * EVR_NEIGHBOURS, nn->i + rows[q] * EVR_NEIGHBOURS, EVR_NEIGHBOURS * sizeof(int64_t));
  return 0;
}

/* The candidate query rows of x into out. */
static int take_rows(const evc_mat *x, const int64_t *rows, size_t n, evc_mat *out) {
  if (evc_mat_alloc_f(out, n, x->cols)) return 1;
  for (size_t q = 0; q < n; q++) memcpy(out->f + q * x->cols, x->f + (size_t)rows[q] * x->cols, x->cols * sizeof(float));
  return 0;
}

static int stage_neighbours(const evr_options *o, const evr_data *d, evr_results *r) {
  stage_begin();
  const evc_mat *feat = &d->layer[d->penultimate];
  int rc = 0;
  if (d->has_images) {   /* pixels against features: needs the pictures */
    size_t n = d->labels.rows, all = d->query_rows ? d->n_query_rows : n, cand = all > 1000 ? 1000 : all;
    int64_t *rows = malloc((cand ? cand : 1) * sizeof *rows), chosen[EVR_QUERIES];
    evc_mat pix = {0}, fe = {0}, qpix = {0}, qfeat = {0};
    if (!rows) return evc_err("out of memory");
    /* the demo's first 1,000 test images; a folder's rows are in class
     * order, so its candidates are spread evenly over all of them */
    for (size_t q = 0; q < cand; q++) rows[q] = d->query_rows ? d->query_rows[q * all / cand] : (int64_t)q;
    rc = take_rows(&d->images, rows, cand, &qpix) || take_rows(feat, rows, cand, &qfeat) ||
         knn(o, &d->train_images, &qpix, &pix) || knn(o, &d->train_feat, &qfeat, &fe);
    if (!rc) {
      pick_queries(d, rows, &pix, &fe, cand, r, chosen);
      rc = select_rows(&pix, chosen, &r->nn_pixels) || select_rows(&fe, chosen, &r->nn_features);
    }
    free(rows);
    evc_mat_free(&pix);
    evc_mat_free(&fe);
    evc_mat_free(&qpix);
    evc_mat_free(&qfeat);
  }
  if (!rc) rc = knn(o, feat, NULL, &r->nn_self);
  if (!rc) stage_end(r, "nearest neighbours");
  return rc;
}

static int stage_scores(const evr_data *d, evr_results *r) {
  stage_begin();
  size_t n = d->labels.rows;
  /* without class scores (--features alone): nothing to score, every
   * prediction unknown */
  r->top1 = malloc((n ? n : 1) * sizeof(int32_t));
  r->top_prob = malloc((n ? n : 1) * sizeof(float));
  if (!r->top1 || !r->top_prob) return evc_err("out of memory");
  if (d->softmax < 0) {
    for (size_t i = 0; i < n; i++) r->top1[i] = -1, r->top_prob[i] = 0;
    return 0;
  }
  const evc_mat *p = d->probs.f ? &d->probs : &d->layer[d->softmax];
  size_t c = p->cols;
  int32_t *yt = malloc(n * sizeof *yt);
  r->ambiguity = malloc(n * sizeof(float));
  r->top2 = malloc(n * sizeof(int32_t));
  r->confusion = malloc(c * c * sizeof(int64_t));
  r->class_accuracy = malloc(c * sizeof(float));
  if (!yt || !r->ambiguity || !r->top2 || !r->confusion || !r->class_accuracy) {
    free(yt);
    return evc_err("out of memory");
  }
  for (size_t i = 0; i < n; i++) yt[i] = (int32_t)d->labels.i[i];
  ev_status st = ev_ambiguity(p->f, n, c, c, EV_SCORE_PROBABILITIES, r->ambiguity, NULL, NULL, r->top1, r->top2);
  r->n_ambiguous = n < EVR_AMBIGUOUS ? (int)n : EVR_AMBIGUOUS;
  if (r->n_ambiguous < EVR_AMBIGUOUS)
    evc_info("report: only %zu images: the ambiguity table shows all %d instead of the %d most ambiguous", n,
             r->n_ambiguous, EVR_AMBIGUOUS);
  if (!st) st = ev_most_ambiguous(r->ambiguity, n, (size_t)r->n_ambiguous, r->most_ambiguous);
  if (!st) st = ev_confusion_matrix(yt, r->top1, n, c, r->confusion, r->class_accuracy);
  free(yt);
  if (st) return evc_lib_err("scoring the predictions", st);
  size_t right = 0;
  for (size_t i = 0; i < n; i++) {
    float s = 0;
    for (size_t k = 0; k < c; k++) s += p->f[i * c + k];
    r->top_prob[i] = s > 0 ? p->f[i * c + (size_t)r->top1[i]] / s : 0;
    right += r->top1[i] == d->labels.i[i];
  }
  r->accuracy = (double)right / (double)n;
  stage_end(r, "ambiguity, confusion");
  return 0;
}

static int stage_pca(const evr_options *o, const evr_data *d, evr_results *r) {
  stage_begin();
  const evc_mat *x = &d->layer[d->penultimate];
  evc_mat scores = {0};
  size_t k = x->cols < 50 ? x->cols : 50;
  if (k > x->rows) k = x->rows;   /* a few images: at most one component each */
  if (evr_pca(o, x, k, &scores, &r->pca_ratio, &r->pca_components)) return 1;
  int rc = evc_mat_alloc_f(&r->pca_scores, x->rows, 2) ? 1 : 0;
  for (size_t i = 0; !rc && i < x->rows; i++) {
    r->pca_scores.f[2 * i] = scores.f[i * scores.cols];
    r->pca_scores.f[2 * i + 1] = scores.cols > 1 ? scores.f[i * scores.cols + 1] : 0;
  }
  evc_mat_free(&scores);
  if (!rc) stage_end(r, "PCA");
  return rc;
}

/* Why a point sits where it sits on the penultimate layer's t-SNE map: two
 * ridge regressions from the features to its axes (the library's closed
 * form, alpha by leave-one-out over its grid), R^2 on the rows fitted and
 * on left-out rows. */
static int stage_ridge(const evr_options *o, const evr_data *d, evr_results *r) {
  stage_begin();
  const evc_mat *x = &d->layer[d->penultimate], *y = &r->map[d->penultimate];
  ev_ridge *rg = NULL;
  ev_status st = EV_OK;
  if (x->rows < 3) return 0;
  /* at most EVR_RIDGE_ROWS rows, evenly spread: the fit's SVD grows with
   * rows x features^2 (a 2,048-wide layer takes minutes on 5,000 rows) */
  size_t n = x->rows < EVR_RIDGE_ROWS ? x->rows : EVR_RIDGE_ROWS;
  float *xs = malloc(n * x->cols * sizeof *xs), *ys = malloc(n * 2 * sizeof *ys);
  if (!xs || !ys || evc_mat_alloc_f(&r->ridge_coef, 2, x->cols)) {
    free(xs);
    free(ys);
    return evc_err("out of memory for the ridge regression");
  }
  for (size_t j = 0; j < n; j++) {
    size_t i = (size_t)((unsigned long long)j * x->rows / n);
    memcpy(xs + j * x->cols, x->f + i * x->cols, x->cols * sizeof *xs);
    memcpy(ys + 2 * j, y->f + 2 * i, 2 * sizeof *ys);
  }
  r->ridge_rows = n;
  if ((st = ev_ridge_create(&rg)) || (st = ev_ridge_set(rg, EV_RIDGE_THREADS, (double)o->threads)) ||
      (st = ev_ridge_fit(rg, xs, n, x->cols, x->cols, ys, 2, 2)) ||
      (st = ev_ridge_coef(rg, r->ridge_coef.f, x->cols)) || (st = ev_ridge_alpha(rg, &r->ridge_alpha)) ||
      (st = ev_ridge_r2(rg, r->ridge_r2, r->ridge_r2_cv, 2)) || (st = ev_ridge_sizes(rg, NULL, NULL, &r->ridge_rank)))
    evc_mat_free(&r->ridge_coef);
  ev_ridge_free(rg);
  free(xs);
  free(ys);
  if (st) return evc_lib_err("the ridge regression on the penultimate layer's map", st);
  stage_end(r, "ridge on the map");
  return 0;
}

/* ---- pictures ------------------------------------------------------------ */

static int path_in(const evr_options *o, const char *name, char *buf, size_t len) {
  snprintf(buf, len, "%s/%s", o->out_dir, name);
  return 0;
}

/* Layer l's map as a picture (map_<i>_<layer><suffix>.png) and its
 * coordinates beside it (.npy), to check or reuse its numbers. kind names
 * the map ("t-SNE", "UMAP") in the title and on the axes. */
static int picture_map(const evr_options *o, const evr_data *d, int l, const evc_mat *map, const char *suffix,
                       const char *kind, const evc_labels *lab) {
  char path[4096], name[320], title[320], ext[32], xl[32], yl[32];
  snprintf(ext, sizeof ext, "%s.png", suffix);
  evr_map_file(d, l, ext, name, sizeof name);
  snprintf(title, sizeof title, "%s: %s", kind, d->layer_name[l]);
  snprintf(xl, sizeof xl, "%s 1", kind);
  snprintf(yl, sizeof yl, "%s 2", kind);
  path_in(o, name, path, sizeof path);
  if (evc_fig_scatter_axes(path, map->f, map->rows, map->cols, lab, NULL, NULL, title, xl, yl)) return 1;
  snprintf(ext, sizeof ext, "%s.npy", suffix);
  evr_map_file(d, l, ext, name, sizeof name);
  path_in(o, name, path, sizeof path);
  return evc_npy_write(path, map, 0) ? 1 : 0;
}

static int pictures_maps(const evr_options *o, const evr_data *d, const evr_results *r, const evc_labels *lab) {
  char path[4096], title[320];
  size_t n = d->labels.rows;
  for (int l = 0; l < d->n_layers; l++)
    if (picture_map(o, d, l, &r->map[l], "", "t-SNE", lab)) return 1;
  for (int l = 0; o->umap_maps && l < d->n_layers; l++)   /* --maps tsne,umap */
    if (picture_map(o, d, l, &r->umap[l], "_umap", "UMAP", lab)) return 1;
  /* The depth picture: every layer's map side by side, one legend. */
  const float *xy[EVR_MAX_LAYERS];
  size_t ld[EVR_MAX_LAYERS];
  char titles[EVR_MAX_LAYERS][96];
  const char *tp[EVR_MAX_LAYERS];
  for (int l = 0; l < d->n_layers; l++) {
    xy[l] = r->map[l].f;
    ld[l] = r->map[l].cols;
    evr_layer_title(d, l, titles[l], sizeof titles[l]);
    tp[l] = titles[l];
  }
  path_in(o, "maps_by_depth.png", path, sizeof path);
  if (evc_fig_maps_row(path, xy, ld, n, d->n_layers, tp, lab)) return 1;
  if (d->softmax >= 0) {
    unsigned char *wrong = malloc(n ? n : 1);
    if (!wrong) return evc_err("out of memory");
    for (size_t i = 0; i < n; i++) wrong[i] = r->top1[i] != d->labels.i[i];
    path_in(o, "softmax_misclassified.png", path, sizeof path);
    const evc_mat *sm = &r->map[d->softmax];
    snprintf(title, sizeof title, "%s: misclassified images circled", d->layer_name[d->softmax]);
    int rc = evc_fig_scatter_axes(path, sm->f, sm->rows, sm->cols, lab, wrong, "misclassified",
                                  d->kind == EVR_DEMO ? "softmax: misclassified images circled" : title, "t-SNE 1",
                                  "t-SNE 2");
    free(wrong);
    if (rc) return 1;
  }
  if (r->n_issues) {   /* the possible label errors ringed on the penultimate map */
    unsigned char *ring = calloc(n ? n : 1, 1);
    if (!ring) return evc_err("out of memory");
    for (int k = 0; k < r->n_issues; k++) ring[r->issues[k]] = 1;
    path_in(o, "label_issues.png", path, sizeof path);
    const evc_mat *pm = &r->map[d->penultimate];
    snprintf(title, sizeof title, "%s: possible label errors circled", d->layer_name[d->penultimate]);
    int rc = evc_fig_scatter_axes(path, pm->f, pm->rows, pm->cols, lab, ring, "label error?", title, "t-SNE 1",
                                  "t-SNE 2");
    free(ring);
    if (rc) return 1;
  }
  if (!d->has_images) return 0;
  path_in(o, "image_map.png", path, sizeof path);
  const evc_mat *pm = &r->map[d->penultimate];
  return evc_fig_image_map(path, pm->f, pm->rows, pm->cols, &d->thumbs, lab, d->thumbs.grey ? 1800 : 2448) ? 1 : 0;
}

static int pictures_neighbours(const evr_options *o, const evr_data *d, const evr_results *r, const evc_palette *pal) {
  char path[4096];
  const int cols = 1 + EVR_NEIGHBOURS, cells = EVR_QUERIES * cols;
  /* One thumbnail set per picture: each query's test image, then its
   * neighbours among the reference images. */
  const evc_mat *nn[2] = {&r->nn_pixels, &r->nn_features};
  const char *file[2] = {"neighbours_pixels.png", "neighbours_features.png"};
  const char *title[2] = {"10 nearest reference images in pixel space", "10 nearest reference images in feature space"};
  if (d->kind == EVR_DEMO)
    title[0] = "10 nearest training images in pixel space", title[1] = "10 nearest training images in feature space";
  int64_t idx[EVR_QUERIES * (1 + EVR_NEIGHBOURS)], lab[EVR_QUERIES * (1 + EVR_NEIGHBOURS)], ref[EVR_QUERIES * EVR_NEIGHBOURS];
  int rc = 0;
  for (int s = 0; s < 2 && !rc; s++) {
    evc_thumbs t = {0}, refs = {0};
    for (int k = 0; k < EVR_QUERIES * EVR_NEIGHBOURS; k++) ref[k] = nn[s]->i[k];
    if (evr_reference_thumbs(d, ref, EVR_QUERIES * EVR_NEIGHBOURS, &refs) || evc_thumbs_alloc(&t, cells, d->thumbs.side)) {
      evc_thumbs_free(&refs);
      return 1;
    }
    t.grey = d->thumbs.grey;
    size_t sq = (size_t)t.side * (size_t)t.side * 3;
    for (int q = 0; q < EVR_QUERIES; q++)
      for (int k = 0; k < cols; k++) {
        size_t cell = (size_t)(q * cols + k), from = k ? (size_t)(q * EVR_NEIGHBOURS + k - 1) : (size_t)r->queries[q];
        const evc_thumbs *src = k ? &refs : &d->thumbs;
        memcpy(t.px + cell * sq, src->px + from * sq, sq);
        t.w[cell] = src->w[from];
        t.h[cell] = src->h[from];
        idx[cell] = (int64_t)cell;
        lab[cell] = k ? d->train_labels.i[nn[s]->i[q * EVR_NEIGHBOURS + k - 1]] : d->labels.i[r->queries[q]];
      }
    path_in(o, file[s], path, sizeof path);
    rc = evc_fig_thumb_rows(path, &t, idx, EVR_QUERIES, cols, lab, pal, title[s]) ? 1 : 0;
    evc_thumbs_free(&t);
    evc_thumbs_free(&refs);
  }
  return rc;
}

static int pictures_rest(const evr_options *o, const evr_data *d, const evr_results *r, const evc_labels *lab) {
  char path[4096], name[64];
  for (int k = 0; d->has_images && d->softmax >= 0 && k < r->n_ambiguous; k++) {
    snprintf(name, sizeof name, "ambiguous_%02d.png", k);
    path_in(o, name, path, sizeof path);
    if (evc_fig_thumb(path, &d->thumbs, (size_t)r->most_ambiguous[k], d->thumbs.grey ? 2 : 1)) return 1;
  }
  for (int k = 0; d->has_images && r->has_issues && k < r->n_issues; k++) {
    snprintf(name, sizeof name, "label_issue_%02d.png", k);
    path_in(o, name, path, sizeof path);
    if (evc_fig_thumb(path, &d->thumbs, (size_t)r->issues[k], d->thumbs.grey ? 2 : 1)) return 1;
  }
  path_in(o, "confusion.png", path, sizeof path);
  if (d->softmax >= 0 && evc_fig_confusion(path, r->confusion, d->n_classes, d->class_names, r->class_accuracy)) return 1;
  path_in(o, "pca_scree.png", path, sizeof path);
  if (evc_fig_scree(path, r->pca_ratio.f, r->pca_ratio.rows, "Explained variance of the penultimate layer")) return 1;
  path_in(o, "pca_biplot.png", path, sizeof path);
  const evc_mat *x = &d->layer[d->penultimate];
  if (evc_fig_biplot_ex(path, r->pca_scores.f, r->pca_scores.rows, 2, lab, r->pca_components.f, x->cols, x->cols, 8,
                        "PCA of the penultimate layer, strongest loadings", r->pca_ratio.f, r->pca_ratio.rows))
    return 1;
  if (r->ridge_coef.f) {
    char title[200], xl[64], yl[64];
    snprintf(title, sizeof title, "Ridge from the penultimate layer to its t-SNE map, largest weights");
    snprintf(xl, sizeof xl, "t-SNE 1 (R2 %.2f, left out %.2f)", r->ridge_r2[0], r->ridge_r2_cv[0]);
    snprintf(yl, sizeof yl, "t-SNE 2 (R2 %.2f, left out %.2f)", r->ridge_r2[1], r->ridge_r2_cv[1]);
    path_in(o, "ridge_biplot.png", path, sizeof path);
    const evc_mat *m = &r->map[d->penultimate];
    if (evc_fig_arrows(path, m->f, m->rows, 2, lab, r->ridge_coef.f, x->cols, x->cols, 8, title, xl, yl)) return 1;
  }
  evr_fmaps fm;   /* the clicked point's feature maps on the page */
  evr_fmaps_plan(o, d, &fm);
  if (evr_fmaps_write(o, d, &fm)) return 1;
  if (!d->has_images) return 0;
  path_in(o, evc_sprite_name(&d->thumbs), path, sizeof path);
  return evc_fig_sprite(path, &d->thumbs, 64) ? 1 : 0;
}

static int stage_pictures(const evr_options *o, const evr_data *d, evr_results *r) {
  stage_begin();
  /* one palette for every picture (and the page makes the same one) */
  evc_palette pal;
  if (evc_palette_init(&pal, d->labels.i, d->labels.rows, d->n_classes)) return 1;
  evc_labels lab = {d->labels.i, d->n_classes, d->class_names, &pal};
  int rc = pictures_maps(o, d, r, &lab) || (d->has_images && pictures_neighbours(o, d, r, &pal)) ||
           pictures_rest(o, d, r, &lab);
  evc_palette_free(&pal);
  if (rc) return 1;
  stage_end(r, "pictures");
  return 0;
}

static int made_dir;   /* the report folder is new: removed again (if empty) on failure */
static int make_dir(const char *dir) {
  made_dir = mkdir(dir, 0755) == 0;
  if (!made_dir && errno != EEXIST) return evc_err("cannot make the folder %s: %s", dir, strerror(errno));
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) return evc_err("%s exists and is not a folder", dir);
  return 0;
}

/* Ctrl-C: the work in progress stops at its next progress report and the
 * report is not written (a second Ctrl-C ends the program at once). */
static void on_interrupt(int sig) {
  evc_interrupted = 1;
  signal(sig, SIG_DFL);
}

static int load(const evr_options *o, evr_data *d) {
  if (o->features) return evr_load_features(o, d);
  if (o->images) return evr_load_folder(o, d);
  return evr_load(o, d);
}

int evc_cmd_report(int argc, char **argv) {
  evr_options o;
  int rc = report_parse(argc, argv, &o);
  if (rc) return rc < 0 ? 0 : rc;
  evr_data d;
  evr_results r;
  memset(&r, 0, sizeof r);
  memset(&d, 0, sizeof d);
  double t0 = evc_now();
  char index[4096];
  snprintf(index, sizeof index, "%s/index.html", o.out_dir);
  if (make_dir(o.out_dir) || EVC_OUTS_CHECK(index)) return 1;   /* before minutes of work */
  void (*old_int)(int) = signal(SIGINT, on_interrupt);
  stage_begin();
  rc = load(&o, &d);
  if (!rc && d.kind == EVR_FOLDER) {   /* loading's parts: the pictures, the model's passes, the rest */
    double all = evc_now() - stage_t0;
    r.stage_name[0] = "thumbnails, pixel rows";
    r.stage_seconds[0] = d.seconds_pictures;
    r.stage_name[1] = "extraction (decoding + forward passes)";
    r.stage_seconds[1] = d.seconds_model;
    r.stage_name[2] = "load (folder, model, rest)";
    r.stage_seconds[2] = all - d.seconds_pictures - d.seconds_model;
    r.n_stages = 3;
    for (int k = 0; k < 3; k++) evc_info("stage %-22s %7.2f s", r.stage_name[k], r.stage_seconds[k]);
  } else if (!rc) {
    stage_end(&r, "load");
  }
  if (!rc) {
    evc_info("report: %zu test images, %zu reference images, %d layers", d.labels.rows, d.train_labels.rows, d.n_layers);
    rc = stage_scores(&d, &r) || stage_maps(&o, &d, &r) || stage_quality(&o, &d, &r) || stage_neighbours(&o, &d, &r) ||
         stage_issues(&o, &d, &r) || stage_pca(&o, &d, &r) || stage_ridge(&o, &d, &r) ||
         stage_pictures(&o, &d, &r);
  }
  if (!rc && evc_interrupted) rc = 1;
  if (!rc) {   /* the page lists the stages before it; its own time goes to stderr */
    stage_begin();
    if (!(rc = evr_write_html(&o, &d, &r))) stage_end(&r, "page");
  }
  if (evc_interrupted) {
    evc_err("cancelled (Ctrl-C): %s was not written (any earlier one is unchanged)", index);
    rc = 130;
  }
  signal(SIGINT, old_int);
  if (rc && made_dir) rmdir(o.out_dir);   /* only when nothing was written in it */
  if (!rc) evc_info("report: %s/index.html in %.1f s (accuracy %.4f)", o.out_dir, evc_now() - t0, r.accuracy);
  evr_results_free(&r);
  evr_data_free(&d);
  return rc;
}
