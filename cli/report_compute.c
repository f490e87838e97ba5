/*
 * report_compute.c - maps for the report: t-SNE after PCA to 50 dimensions
 * (the usual recipe: it removes noise and makes the neighbour search cheap;
 * Kobak & Berens 2019), through the shared steps (steps.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedviz/umap.h"

#include "report.h"

void evr_results_free(evr_results *r) {
  for (int l = 0; l < EVR_MAX_LAYERS; l++) evc_mat_free(&r->map[l]), evc_mat_free(&r->umap[l]);
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

int evr_embed_umap(const evr_options *o, const char *what, const evc_mat *x, evc_mat *out) {
  evc_mat pcs = {0};
  const evc_mat *rows = x;
  if (x->cols > 50) {   /* as t-SNE's rows (evr_embed) */
    if (evr_pca(o, x, 50, &pcs, NULL, NULL)) return 1;
    rows = &pcs;
  }
  double k = x->rows > 16 ? 15 : (double)x->rows - 1;
  ev_umap *u = NULL;
  char label[160];
  snprintf(label, sizeof label, "UMAP %s", what);
  int rc = 0;
  ev_status st = ev_umap_create(&u);
  if (!st) st = ev_umap_set(u, EV_UMAP_N_NEIGHBORS, k < 2 ? 2 : k);
  if (!st) st = ev_umap_set(u, EV_UMAP_RANDOM_STATE, (double)o->seed);
  if (!st) st = ev_umap_set(u, EV_UMAP_THREADS, (double)o->threads);
  if (!st) st = ev_umap_set_progress(u, evc_progress, label);
  if (st) rc = evc_lib_err("setting up UMAP", st);
  else if ((st = ev_umap_fit(u, rows->f, rows->rows, rows->cols, rows->cols))) rc = evc_lib_err("UMAP", st);
  else if (evc_mat_alloc_f(out, rows->rows, 2)) rc = 1;
  else if ((st = ev_umap_embedding(u, out->f, 2))) rc = evc_lib_err("reading the UMAP map", st);
  evc_progress_done();
  ev_umap_free(u);
  evc_mat_free(&pcs);
  if (rc) evc_mat_free(out);
  return rc;
}
