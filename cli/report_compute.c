/*
 * report_compute.c - maps for the report: t-SNE after PCA to 50 dimensions
 * (the usual recipe: it removes noise and makes the neighbour search cheap;
 * Kobak & Berens 2019), through the shared steps (steps.h).
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

void evr_results_free(evr_results *r) {
  for (int l = 0; l < EVR_MAX_LAYERS; l++) evc_mat_free(&r->map[l]);
  evc_mat_free(&r->map3d);
  evc_mat_free(&r->nn_pixels);
  evc_mat_free(&r->nn_features);
  evc_mat_free(&r->nn_self);
  evc_mat_free(&r->pca_scores);
  evc_mat_free(&r->pca_ratio);
  evc_mat_free(&r->pca_components);
  evc_mat_free(&r->ridge_coef);
  free(r->ambiguity);
  free(r->top1);
  free(r->top2);
  free(r->top_prob);
  free(r->confusion);
  free(r->class_accuracy);
  free(r->issue_ev);
  free(r->suggested);
  memset(r, 0, sizeof *r);
}

int evr_pca(const evr_options *o, const evc_mat *x, size_t k, evc_mat *scores, evc_mat *ratio, evc_mat *components) {
  return evc_pca_run(x, k, o->seed, o->threads, scores, ratio, components);
}

int evr_embed(const evr_options *o, const char *what, const evc_mat *x, int dims, evc_mat *out) {
  evc_tsne_opts t;
  evc_tsne_defaults(&t);
  t.dims = dims;
  t.perplexity = o->perplexity;
  /* A few images cannot have 30 neighbours: the largest perplexity that
   * fits (3 x perplexity neighbours of n - 1), said once. */
  double most = ((double)x->rows - 1) / 3;
  if (t.perplexity > most && most >= 1) {
    static int said = 0;
    if (!said++) evc_info("report: only %zu images: t-SNE perplexity lowered from %g to %.3g", x->rows, t.perplexity, most);
    t.perplexity = most;
  }
  t.iterations = (double)o->iterations;
  t.seed = (double)o->seed;
  t.threads = (double)o->threads;
  return evc_tsne_run(&t, what, x, out, NULL);
}
