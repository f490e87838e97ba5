/*
 * steps.h - the steps the embedviz commands share: PCA, t-SNE (after PCA),
 * a neighbour search and layer extraction, each one library handle made,
 * configured, run and read.
 *
 * The commands (cmd_*.c, and report through report_*.c) use these side by
 * side; no command calls another command's entry point or internals, and
 * no step calls a command. A step prints its own message on failure and
 * returns 1, or returns 0; the outputs it allocates are freed by the
 * caller with evc_mat_free (and freed by the step when it fails).
 */
#ifndef EVCLI_STEPS_H
#define EVCLI_STEPS_H

#include "cli.h"

/* ---- PCA ------------------------------------------------------------------ */

/* PCA of x to k components (capped at its columns), the library's AUTO
 * solver: scores (n x k) and, unless NULL, the explained variance ratios
 * (k) and the first two components (2 x d). */
int evc_pca_run(const evc_mat *x, size_t k, long seed, long threads, evc_mat *scores, evc_mat *ratio,
                evc_mat *components);

/* ---- t-SNE ---------------------------------------------------------------- */

/* t-SNE options; NAN fields keep the library's defaults. */
typedef struct evc_tsne_opts {
  int dims;
  long pca;   /* reduce to this many components first; -1: 50 when wider */
  double perplexity, method, theta, metric, iterations, learning_rate, early_exaggeration,
      exaggeration_iterations, init, seed, threads;
} evc_tsne_opts;
void evc_tsne_defaults(evc_tsne_opts *o);
/* The map (n x dims, allocated) of x, after PCA to o->pca components when
 * x is wider; kl (may be NULL) gets the final KL divergence. label names
 * the work in progress lines. */
int evc_tsne_run(const evc_tsne_opts *o, const char *label, const evc_mat *x, evc_mat *map, double *kl);
/* As evc_tsne_run, then the rows of tx (unless NULL; x's width, reduced by
 * the same PCA) placed on the map by ev_tsne_transform: tmap (tx->rows x
 * dims, allocated). */
int evc_tsne_run_transform(const evc_tsne_opts *o, const char *label, const evc_mat *x, const evc_mat *tx,
                           evc_mat *map, evc_mat *tmap, double *kl);

/* ---- neighbours ----------------------------------------------------------- */

/* The distance names of EV_KNN_METRIC and EV_TSNE_METRIC, in enum order. */
#define EVC_N_METRICS 6
extern const char *const evc_metric_names[EVC_N_METRICS];
/* --metric NAME to its enum value; 0, or 1 with the message printed. */
int evc_parse_metric(const char *s, double *out);

/* The k nearest rows of ref (exact index) for every row of q, or, when q
 * is NULL, for every row of ref among the others. metric and minkowski_p
 * as EV_KNN_METRIC and EV_KNN_MINKOWSKI_P. ind (rows x k int64) is
 * allocated here, and dist (rows x k float) unless it is NULL. */
int evc_knn_run(const evc_mat *ref, const evc_mat *q, size_t k, double metric, double minkowski_p, long threads,
                evc_mat *ind, evc_mat *dist);

/* ---- extraction ----------------------------------------------------------- */

/* Activations of n_layers named layers of a TorchScript model for the rows
 * of x (images of chw[0] x chw[1] x chw[2], values as the model expects):
 * out[l] (n x M_l) allocated here. Unless shape is NULL, shape[l] gets
 * layer l's activation shape for one input before pooling, C x H x W, when
 * it is a stack of feature maps (3 dimensions), else {0, 0, 0}. In a
 * library without libtorch (ev_extract_available() is 0) it says so and
 * returns 1. */
int evc_extract_layers(const char *model_path, const evc_mat *x, const size_t chw[3], const char *const *layers,
                       int n_layers, int pool, long batch, long threads, const char *label, evc_mat *out,
                       size_t (*shape)[3]);

#endif
