/*
 * report.h - the pieces of `embedviz report`: what it reads, what it
 * computes, and the HTML page that shows it.
 */
#ifndef EVCLI_REPORT_H
#define EVCLI_REPORT_H

#include "plot.h"
#include "steps.h"

#define EVR_MAX_LAYERS 8
#define EVR_MAX_STAGES 24
#define EVR_QUERIES 6      /* test images shown with their neighbours */
#define EVR_NEIGHBOURS 10  /* neighbours per query and per clicked point */
#define EVR_AMBIGUOUS 12   /* rows of the ambiguity table */
#define EVR_QUALITY_K 10   /* neighbours of the map quality measures */
#define EVR_QUALITY_WIDE 1000  /* wider layers are measured on their first 50
                                  principal components (as t-SNE saw them) */
#define EVR_ISSUES 12      /* rows of the possible label errors table */
#define EVR_RIDGE_ROWS 2000  /* rows the ridge on the map is fitted on, at most */

typedef struct evr_options {
  const char *data_dir;    /* .npy inputs (see docs/cli.md) */
  const char *model;       /* TorchScript model (extraction) */
  const char *dataset;     /* Fashion-MNIST IDX folder (extraction) */
  const char *images;      /* --images: a folder of class folders (or, with
                              --features, a list file of image paths) */
  const char *reference_images;  /* --reference-images: neighbours' set */
  const char *features, *labels, *scores;  /* --features mode (no model) */
  const char *out_dir;
  const char *layers;      /* comma-separated, "pixels" = the images */
  const char *penultimate, *softmax;
  int layers_given, penultimate_given, softmax_given;
  long samples, train_samples;
  double perplexity;
  long iterations, seed, threads;
  long resize, crop, channels, batch;   /* preprocessing of --images */
  double mean[3], std[3];
  int mean_given, std_given;
  double fmaps_budget;     /* --feature-maps-budget: megabytes (10^6 grey
                              pixels) of the side panel's feature maps */
  const char *classes;     /* --classes: class names, one a line */
  int umap_maps;           /* --maps tsne,umap: a UMAP map of each layer too */
  /* explain --images: the maps of layer maps_layer (unpooled) for test row
   * maps_row only, into evr_data.maps (maps_one set) */
  int maps_one;
  long maps_row;
  const char *maps_layer;
} evr_options;

/* Where the report's data came from. */
enum { EVR_DEMO = 0, EVR_FOLDER = 1, EVR_FEATURES = 2 };

/* A file the report left out, and why. */
typedef struct evr_skip {
  char *path, *reason;
} evr_skip;

/* The report's inputs: test images with labels and the activations of the
 * layers, reference ("training") rows for the neighbour search. Image rows
 * (images, train_images) are what "pixels" means: the demo's side x side
 * grey values in [0, 1], or for photos EVR_PIXEL_SIDE^2 x 3 RGB values in
 * [0, 1] of the picture fitted in a square (aspect kept, mid grey around).
 * Pictures are thumbnails only (thumbs). */
#define EVR_PIXEL_SIDE 32   /* pixel rows of photos: 32 x 32 x 3 */
#define EVR_THUMB_SIDE 64   /* thumbnails of photos */
typedef struct evr_data {
  int kind;                            /* EVR_DEMO, EVR_FOLDER, EVR_FEATURES */
  int side;                            /* the demo's image side */
  int has_images;                      /* pixel rows and thumbnails exist */
  evc_mat images, labels;              /* n x p (pixel rows; may be empty), n x 1 */
  evc_mat train_images, train_labels;  /* m x p, m x 1 */
  evc_mat train_feat;                  /* m x d (penultimate), may be empty */
  int n_layers;
  char *layer_name[EVR_MAX_LAYERS];
  evc_mat layer[EVR_MAX_LAYERS];       /* n x d_l ("pixels": the images) */
  size_t layer_shape[EVR_MAX_LAYERS][3];  /* C x H x W of one input's
                                          activation before pooling (from the
                                          model, or a .npy file of n x C x H x
                                          W), {0, 0, 0}: not feature maps */
  /* The early layer's maps for the page's side panel when layer[early]
   * holds them pooled (--images --model; explain: options.maps_layer's
   * maps of options.maps_row): row j for test row
   * evr_fmaps_row(j, n, maps.rows) (report_fmaps.h), C x ceil(H / maps_step) x
   * ceil(W / maps_step), the maps averaged over maps_step^2 blocks; else
   * empty and the panel reads layer[early]. */
  evc_mat maps;
  size_t maps_shape[3];                /* C x H x W of the maps before averaging */
  int maps_step;
  int penultimate, softmax, early;     /* indices into layer[]; softmax and
                                          early -1 when there is none */
  int n_classes;
  const char *const *class_names;
  char **own_names;                    /* the names, when made here */
  int fashion;                         /* Fashion-MNIST's classes (the demo's) */
  evc_mat probs;                       /* n x c softmax of logit scores, or empty
                                          (the scores layer holds probabilities) */
  evc_thumbs thumbs;                   /* n thumbnails of the test images */
  /* the neighbour search: candidate query rows (NULL: the first rows), and
   * where the reference rows' pictures come from */
  int64_t *query_rows;
  size_t n_query_rows;
  int64_t *ref_shown;                  /* m: reference row -> test row, or NULL */
  ev_dataset *ref_ds;                  /* else their data set, */
  int64_t *ref_items;                  /* reference row -> its item */
  /* what the page says about the data */
  evr_skip *skipped;
  size_t n_skipped;
  char **ignored;                      /* files not read (not image names) */
  size_t n_ignored;
  size_t n_grey_files, n_converted;    /* grey files shown/fed as RGB; files
                                          converted to the model's channels */
  int grey_model;                      /* --channels 1 */
  char source[1024], split[1024], layers_why[1024], pooling[1024], prep[512];
  double seconds_pictures, seconds_model;   /* parts of loading (--images) */
} evr_data;

/* What the report computes. */
typedef struct evr_results {
  evc_mat map[EVR_MAX_LAYERS];   /* n x 2 maps of each layer */
  evc_mat map3d;                 /* n x 3 map of the penultimate layer */
  evc_mat umap[EVR_MAX_LAYERS];  /* n x 2 UMAP maps (--maps tsne,umap), else empty */
  int64_t queries[EVR_QUERIES];
  evc_mat nn_pixels, nn_features;      /* EVR_QUERIES x EVR_NEIGHBOURS (train rows) */
  evc_mat nn_self;                     /* n x EVR_NEIGHBOURS (test rows, feature space) */
  float *ambiguity;                    /* n */
  int32_t *top1, *top2;                /* n */
  float *top_prob;                     /* n: probability of the likeliest class */
  int64_t most_ambiguous[EVR_AMBIGUOUS];
  int n_ambiguous;   /* EVR_AMBIGUOUS, or the image count when smaller */
  int64_t *confusion;                  /* c x c */
  float *class_accuracy;               /* c */
  double accuracy;
  /* how far each map can be trusted (ev_quality_map, k = EVR_QUALITY_K,
   * on the layer's rows): trustworthiness, continuity, kNN kept, kNN
   * label accuracy */
  double quality[EVR_MAX_LAYERS][EV_MAP_MEASURES];
  int has_quality;                     /* 0, or the k used */
  size_t quality_cols[EVR_MAX_LAYERS]; /* columns measured on: the layer's,
                                          or 50 principal components */
  /* possible label errors (ev_quality_label_issues from the class scores
   * and the penultimate features): n x EV_ISSUE_FIELDS evidence, n
   * suggested labels, the flagged rows highest score first (at most
   * EVR_ISSUES); has_issues 0 without class scores */
  float *issue_ev;
  int32_t *suggested;
  int64_t issues[EVR_ISSUES];
  int n_issues, n_flagged, has_issues, issue_k;   /* issue_k: feature neighbours used */
  evc_mat pca_scores;                  /* n x 2 */
  evc_mat pca_ratio;                   /* k x 1 */
  evc_mat pca_components;              /* 2 x d */
  /* ridge regressions from the penultimate features to the axes of its
   * t-SNE map (ev_ridge: alpha by leave-one-out), their R^2 on the rows
   * fitted and left out */
  evc_mat ridge_coef;                  /* 2 x d, empty when not fitted */
  double ridge_alpha, ridge_r2[2], ridge_r2_cv[2];
  size_t ridge_rank, ridge_rows;       /* rows fitted: all, or EVR_RIDGE_ROWS
                                          spread evenly */
  int n_stages;
  const char *stage_name[EVR_MAX_STAGES];
  double stage_seconds[EVR_MAX_STAGES];
} evr_results;

/* Load the inputs from --data (npy) or by extraction. 0 or 1. */
int evr_load(const evr_options *o, evr_data *d);
/* Load a folder of class folders through a model (--images --model), or
 * features computed elsewhere (--features): report_folder.c. 0 or 1. */
int evr_load_folder(const evr_options *o, evr_data *d);
int evr_load_features(const evr_options *o, evr_data *d);
/* The thumbnails of reference rows rows[0..n) into t (allocated here). */
int evr_reference_thumbs(const evr_data *d, const int64_t *rows, size_t n, evc_thumbs *t);

void evr_data_free(evr_data *d);
void evr_results_free(evr_results *r);

/* A dims-D t-SNE map of x (n x dim), after PCA to 50 dimensions when dim
 * is larger, with the report's settings. out: n x dims, allocated here.
 * 0 or 1. */
int evr_embed(const evr_options *o, const char *what, const evc_mat *x, int dims, evc_mat *out);
/* A 2-D UMAP map of x (n x dim) for --maps tsne,umap: the rows t-SNE
 * starts from (PCA to 50 dimensions when dim is larger), 15 neighbours (n - 1
 * for fewer rows), the report's seed and threads. out: n x 2, allocated
 * here. 0 or 1. */
int evr_embed_umap(const evr_options *o, const char *what, const evc_mat *x, evc_mat *out);
/* PCA of x to k components: scores (n x k); optionally ratio and the
 * first components. 0 or 1. */
int evr_pca(const evr_options *o, const evc_mat *x, size_t k, evc_mat *scores, evc_mat *ratio,
            evc_mat *components);

/* The file name of layer l's map with suffix ext (".png", ".npy"):
 * "map_<l>_<layer>" with every character but letters, digits, '.', '-' and
 * '_' as '_', so that a layer such as "fc:input" gives a name a browser
 * reads as a relative link (a ':' would make "map_2_fc:" a URL scheme) and
 * that any file system takes. */
void evr_map_file(const evr_data *d, int l, const char *ext, char *buf, size_t len);

/* The title of layer l in pictures and the page ("relu3 (penultimate)"). */
void evr_layer_title(const evr_data *d, int l, char *buf, size_t len);

/* Write index.html into o->out_dir from d and r (pictures already there). */
int evr_write_html(const evr_options *o, const evr_data *d, const evr_results *r);

#endif
