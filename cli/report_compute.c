/*
 * report_compute.c - maps for the report: PCA through the public API, and
 * t-SNE after PCA to 50 dimensions (the usual recipe: it removes noise
 * and makes the neighbour search cheap; Kobak & Berens 2019).
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
  free(r->ambiguity);
  free(r->top1);
  free(r->top2);
  free(r->top_prob);
  free(r->confusion);
  free(r->class_accuracy);
  memset(r, 0, sizeof *r);
}

#ifdef EVC_HAVE_PCA
int evr_pca(const evr_options *o, const evc_mat *x, size_t k, evc_mat *scores, evc_mat *ratio, evc_mat *components) {
  ev_pca *p = NULL;
  ev_status st;
  size_t kept = 0;
  int rc = 0;
  if (k > x->cols) k = x->cols;
  if ((st = ev_pca_create(&p)) || (st = ev_pca_set(p, EV_PCA_N_COMPONENTS, (double)k)) ||
      (st = ev_pca_set(p, EV_PCA_THREADS, (double)o->threads)) || (st = ev_pca_set(p, EV_PCA_SEED, (double)o->seed)) ||
      (st = ev_pca_set_progress(p, evc_progress, "pca")))
    rc = evc_lib_err("setting up PCA", st);
  else if ((st = ev_pca_fit(p, x->f, x->rows, x->cols, x->cols)) || (st = ev_pca_n_components(p, &kept)))
    rc = evc_lib_err("PCA", st);
  else if (evc_mat_alloc_f(scores, x->rows, kept))
    rc = 1;
  else if ((st = ev_pca_transform(p, x->f, x->rows, x->cols, x->cols, scores->f, kept)))
    rc = evc_lib_err("PCA transform", st);
  if (!rc && ratio && !(rc = evc_mat_alloc_f(ratio, kept, 1) ? 1 : 0) && (st = ev_pca_explained_variance_ratio(p, ratio->f)))
    rc = evc_lib_err("PCA", st);
  if (!rc && components) {
    float *all = malloc(kept * x->cols * sizeof *all);
    if (!all || evc_mat_alloc_f(components, kept < 2 ? kept : 2, x->cols)) rc = evc_err("out of memory");
    else if ((st = ev_pca_components(p, all, x->cols))) rc = evc_lib_err("PCA", st);
    else memcpy(components->f, all, components->rows * x->cols * sizeof *all);
    free(all);
  }
  evc_progress_done();
  ev_pca_free(p);
  return rc;
}
#else
int evr_pca(const evr_options *o, const evc_mat *x, size_t k, evc_mat *scores, evc_mat *ratio, evc_mat *components) {
  return evc_err("the report needs PCA, which this libembedviz build lacks");
}
#endif

#ifdef EVC_HAVE_TSNE
int evr_tsne(const evr_options *o, const char *what, const evc_mat *x, int dims, evc_mat *out);
#endif

int evr_embed(const evr_options *o, const char *what, const evc_mat *x, int dims, evc_mat *out, int *used_tsne) {
#ifdef EVC_HAVE_TSNE
  evc_mat reduced = {0};
  const evc_mat *in = x;
  if (x->cols > 50) {
    if (evr_pca(o, x, 50, &reduced, NULL, NULL)) return 1;
    in = &reduced;
  }
  int rc = evr_tsne(o, what, in, dims, out);
  evc_mat_free(&reduced);
  *used_tsne = 1;
  return rc;
#else
  /* No t-SNE in this build: the leading principal components instead. */
  *used_tsne = 0;
  return evr_pca(o, x, (size_t)dims, out, NULL, NULL);
#endif
}
