/*
 * report.h - the pieces of `embedviz report`: what it reads, what it
 * computes, and the HTML page that shows it.
 */
#ifndef EVCLI_REPORT_H
#define EVCLI_REPORT_H

#include "steps.h"

#define EVR_MAX_LAYERS 8
#define EVR_MAX_STAGES 16
#define EVR_QUERIES 6      /* test images shown with their neighbours */
#define EVR_NEIGHBOURS 10  /* neighbours per query and per clicked point */
#define EVR_AMBIGUOUS 12   /* rows of the ambiguity table */

typedef struct evr_options {
  const char *data_dir;    /* .npy inputs (see docs/cli.md) */
  const char *model;       /* TorchScript model (extraction) */
  const char *dataset;     /* Fashion-MNIST IDX folder (extraction) */
  const char *out_dir;
  const char *layers;      /* comma-separated, "pixels" = the images */
  const char *penultimate, *softmax;
  long samples, train_samples;
  double perplexity;
  long iterations, seed, threads;
} evr_options;

/* The report's inputs: test images with labels and the activations of the
 * layers, training images (and their penultimate activations) for the
 * neighbour search. Images are rows of side x side floats in [0, 1]. */
typedef struct evr_data {
  int side;
  evc_mat images, labels;              /* n x side^2, n x 1 */
  evc_mat train_images, train_labels;  /* m x side^2, m x 1 */
  evc_mat train_feat;                  /* m x d (penultimate), may be empty */
  int n_layers;
  char *layer_name[EVR_MAX_LAYERS];
  evc_mat layer[EVR_MAX_LAYERS];       /* n x d_l ("pixels": the images) */
  int penultimate, softmax;            /* indices into layer[] */
  int n_classes;
  const char *const *class_names;
} evr_data;

/* What the report computes. */
typedef struct evr_results {
  evc_mat map[EVR_MAX_LAYERS];   /* n x 2 maps of each layer */
  evc_mat map3d;                 /* n x 3 map of the penultimate layer */
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
  evc_mat pca_scores;                  /* n x 2 */
  evc_mat pca_ratio;                   /* k x 1 */
  evc_mat pca_components;              /* 2 x d */
  int n_stages;
  const char *stage_name[EVR_MAX_STAGES];
  double stage_seconds[EVR_MAX_STAGES];
} evr_results;

/* Load the inputs from --data (npy) or by extraction. 0 or 1. */
int evr_load(const evr_options *o, evr_data *d);
void evr_data_free(evr_data *d);
void evr_results_free(evr_results *r);

/* A dims-D t-SNE map of x (n x dim), after PCA to 50 dimensions when dim
 * is larger, with the report's settings. out: n x dims, allocated here.
 * 0 or 1. */
int evr_embed(const evr_options *o, const char *what, const evc_mat *x, int dims, evc_mat *out);
/* PCA of x to k components: scores (n x k); optionally ratio and the
 * first components. 0 or 1. */
int evr_pca(const evr_options *o, const evc_mat *x, size_t k, evc_mat *scores, evc_mat *ratio,
            evc_mat *components);

/* The title of layer l in pictures and the page ("relu3 (penultimate)"). */
void evr_layer_title(const evr_data *d, int l, char *buf, size_t len);

/* Write index.html into o->out_dir from d and r (pictures already there). */
int evr_write_html(const evr_options *o, const evr_data *d, const evr_results *r);

#endif
