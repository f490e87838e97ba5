/*
 * steps.c - the steps the commands share (steps.h): one library handle
 * each, made, configured, run, read and freed here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "steps.h"

/* ---- PCA ------------------------------------------------------------------ */

/* Whatever was asked beyond the scores: the ratios, the first two
 * components. 0 or 1. */
static int pca_extras(const ev_pca *p, size_t kept, size_t d, evc_mat *ratio, evc_mat *components) {
  ev_status st;
  if (ratio && evc_mat_alloc_f(ratio, kept, 1)) return 1;
  if (ratio && (st = ev_pca_explained_variance_ratio(p, ratio->f))) return evc_lib_err("PCA", st);
  if (!components) return 0;
  float *all = malloc(kept * d * sizeof *all);
  int rc = 0;
  if (!all || evc_mat_alloc_f(components, kept < 2 ? kept : 2, d)) rc = evc_err("out of memory");
  else if ((st = ev_pca_components(p, all, d))) rc = evc_lib_err("PCA", st);
  else memcpy(components->f, all, components->rows * d * sizeof *all);
  free(all);
  return rc;
}

/* evc_pca_run, and when extra is not NULL the same projection of its rows
 * into extra_scores (extra->rows x kept). */
static int pca_run(const evc_mat *x, const evc_mat *extra, size_t k, long seed, long threads, evc_mat *scores,
                   evc_mat *extra_scores, evc_mat *ratio, evc_mat *components) {
  ev_pca *p = NULL;
  ev_status st;
  size_t kept = 0;
  int rc = 0;
  if (k > x->cols) k = x->cols;
  /* The solver is the library's AUTO rule (docs/pca.md), which takes the
   * randomized one for a few components of a wide matrix. */
  if ((st = ev_pca_create(&p)) || (st = ev_pca_set(p, EV_PCA_N_COMPONENTS, (double)k)) ||
      (st = ev_pca_set(p, EV_PCA_THREADS, (double)threads)) || (st = ev_pca_set(p, EV_PCA_SEED, (double)seed)) ||
      (st = ev_pca_set(p, EV_PCA_SOLVER, EV_PCA_SOLVER_AUTO)) ||
      (st = ev_pca_set_progress(p, evc_progress, "pca")))
    rc = evc_lib_err("setting up PCA", st);
  else if ((st = ev_pca_fit(p, x->f, x->rows, x->cols, x->cols)) || (st = ev_pca_n_components(p, &kept)))
    rc = evc_lib_err("PCA", st);
  else if (evc_mat_alloc_f(scores, x->rows, kept))
    rc = 1;
  else if ((st = ev_pca_transform(p, x->f, x->rows, x->cols, x->cols, scores->f, kept)))
    rc = evc_lib_err("PCA transform", st);
  else if (extra && evc_mat_alloc_f(extra_scores, extra->rows, kept))
    rc = 1;
  else if (extra && (st = ev_pca_transform(p, extra->f, extra->rows, extra->cols, extra->cols, extra_scores->f,
                                           kept)))
    rc = evc_lib_err("PCA transform of the --transform rows", st);
  if (!rc) rc = pca_extras(p, kept, x->cols, ratio, components);
  evc_progress_done();
  ev_pca_free(p);
  return rc;
}

int evc_pca_run(const evc_mat *x, size_t k, long seed, long threads, evc_mat *scores, evc_mat *ratio,
                evc_mat *components) {
  return pca_run(x, NULL, k, seed, threads, scores, NULL, ratio, components);
}

/* ---- t-SNE ---------------------------------------------------------------- */

void evc_tsne_defaults(evc_tsne_opts *o) {
  *o = (evc_tsne_opts){.dims = 2, .perplexity = 30, .pca = -1, .method = NAN, .theta = NAN, .metric = NAN,
                       .iterations = NAN, .learning_rate = NAN, .early_exaggeration = NAN,
                       .exaggeration_iterations = NAN, .init = NAN, .seed = 0, .threads = 0};
}

/* Settings as (param, value) pairs, applied in order; NAN = leave default. */
static ev_status tsne_configure(ev_tsne *t, const evc_tsne_opts *o, const char *label) {
  const struct { ev_tsne_param param; double value; } set[] = {
      {EV_TSNE_N_COMPONENTS, o->dims}, {EV_TSNE_PERPLEXITY, o->perplexity}, {EV_TSNE_METHOD, o->method},
      {EV_TSNE_THETA, o->theta}, {EV_TSNE_METRIC, o->metric}, {EV_TSNE_N_ITER, o->iterations},
      {EV_TSNE_LEARNING_RATE, o->learning_rate}, {EV_TSNE_EARLY_EXAGGERATION, o->early_exaggeration},
      {EV_TSNE_EXAGGERATION_ITERATIONS, o->exaggeration_iterations}, {EV_TSNE_INIT, o->init},
      {EV_TSNE_SEED, o->seed}, {EV_TSNE_THREADS, o->threads}};
  for (size_t k = 0; k < sizeof set / sizeof set[0]; k++) {
    if (isnan(set[k].value)) continue;
    ev_status st = ev_tsne_set(t, set[k].param, set[k].value);
    if (st) return st;
  }
  return ev_tsne_set_progress(t, evc_progress, (void *)label);
}

/* PCA to k components first (the usual t-SNE recipe), then t-SNE. */
int evc_tsne_run(const evc_tsne_opts *o, const char *label, const evc_mat *x, evc_mat *map, double *kl) {
  return evc_tsne_run_transform(o, label, x, NULL, map, NULL, kl);
}

int evc_tsne_run_transform(const evc_tsne_opts *o, const char *label, const evc_mat *x, const evc_mat *tx,
                           evc_mat *map, evc_mat *tmap, double *kl) {
  evc_mat reduced = {0}, treduced = {0};
  const evc_mat *in = x, *tin = tx;
  long k = o->pca < 0 ? (x->cols > 50 ? 50 : 0) : o->pca;
  if (tx && tx->cols != x->cols)
    return evc_err("the --transform rows have %zu columns but the input has %zu: give rows of the input's width",
                   tx->cols, x->cols);
  if (k > 0 && (size_t)k < x->cols) {
    if (pca_run(x, tx, (size_t)k, (long)o->seed, (long)o->threads, &reduced, tx ? &treduced : NULL, NULL, NULL))
      return 1;
    in = &reduced;
    if (tx) tin = &treduced;
  }
  ev_tsne *t = NULL;
  ev_status st;
  int rc = 0;
  if ((st = ev_tsne_create(&t)) || (st = tsne_configure(t, o, label))) rc = evc_lib_err("setting up t-SNE", st);
  else if ((st = ev_tsne_fit(t, in->f, in->rows, in->cols, in->cols))) rc = evc_lib_err("t-SNE", st);
  else if (evc_mat_alloc_f(map, in->rows, (size_t)o->dims)) rc = 1;
  else if ((st = ev_tsne_embedding(t, map->f, (size_t)o->dims))) rc = evc_lib_err("reading the t-SNE map", st);
  else if (kl && (st = ev_tsne_kl_divergence(t, kl))) rc = evc_lib_err("t-SNE", st);
  evc_progress_done();
  if (!rc && tin) {
    if (evc_mat_alloc_f(tmap, tin->rows, (size_t)o->dims)) rc = 1;
    else if ((st = ev_tsne_transform(t, tin->f, tin->rows, tin->cols, tin->cols, tmap->f, (size_t)o->dims)))
      rc = evc_lib_err("placing the --transform rows", st);
    evc_progress_done();
    if (rc) evc_mat_free(tmap);
  }
  if (rc) evc_mat_free(map);
  ev_tsne_free(t);
  evc_mat_free(&reduced);
  evc_mat_free(&treduced);
  return rc;
}

/* ---- neighbours ----------------------------------------------------------- */

const char *const evc_metric_names[EVC_N_METRICS] = {"euclidean", "sqeuclidean", "cosine",
                                                     "cityblock", "minkowski",   "chebyshev"};

int evc_parse_metric(const char *s, double *out) {
  for (int m = 0; m < EVC_N_METRICS; m++)
    if (!strcmp(s, evc_metric_names[m])) { *out = m; return 0; }
  return evc_err("unknown --metric '%s': use euclidean, sqeuclidean, cosine, cityblock, minkowski or chebyshev", s);
}

int evc_knn_run(const evc_mat *ref, const evc_mat *q, size_t k, double metric, double minkowski_p, long threads,
                evc_mat *ind, evc_mat *dist) {
  ev_knn *idx = NULL;
  size_t m = q ? q->rows : ref->rows, ldd = dist ? k : 0;
  ev_status st;
  int rc = 0;
  if (evc_mat_alloc_i(ind, m, k) || (dist && evc_mat_alloc_f(dist, m, k)))
    rc = 1;
  else if ((st = ev_knn_create(&idx)) || (st = ev_knn_set(idx, EV_KNN_METRIC, metric)) ||
           (st = ev_knn_set(idx, EV_KNN_MINKOWSKI_P, minkowski_p)) ||
           (st = ev_knn_set(idx, EV_KNN_THREADS, (double)threads)) ||
           (st = ev_knn_set_progress(idx, evc_progress, "knn")))
    rc = evc_lib_err("setting up the index", st);
  else if ((st = ev_knn_build(idx, ref->f, ref->rows, ref->cols, ref->cols)))
    rc = evc_lib_err("building the index", st);
  else if ((st = q ? ev_knn_query(idx, q->f, q->rows, q->cols, q->cols, k, ind->i, k, dist ? dist->f : NULL, ldd)
                   : ev_knn_query_self(idx, k, ind->i, k, dist ? dist->f : NULL, ldd)))
    rc = evc_lib_err("the neighbour search", st);
  evc_progress_done();
  ev_knn_free(idx);
  if (rc) {
    evc_mat_free(ind);
    if (dist) evc_mat_free(dist);
  }
  return rc;
}

/* ---- extraction ----------------------------------------------------------- */

int evc_extract_layers(const char *model_path, const evc_mat *x, const size_t chw[3], const char *const *layers,
                       int n_layers, int pool, long batch, long threads, const char *label, evc_mat *out,
                       size_t (*shape)[3]) {
  ev_model *model = NULL;
  ev_extractor *ex = NULL;
  ev_status st;
  int rc = 0;
  float *dst[64];
  size_t ld[64], cols;
  if (!ev_extract_available()) return evc_err("extraction is not available: %s", ev_last_error());
  if (n_layers > 64) return evc_err("at most 64 layers at once");
  if ((st = ev_model_load(model_path, EV_DEVICE_CPU, &model))) return evc_lib_err("loading the model", st);
  if ((st = ev_extractor_create(model, &ex)) || (st = ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, (double)batch)) ||
      (st = ev_extractor_set(ex, EV_EXTRACT_POOL, pool)) || (st = ev_extractor_set(ex, EV_EXTRACT_THREADS, (double)threads)) ||
      (st = ev_extractor_set_progress(ex, evc_progress, (void *)label)))
    rc = evc_lib_err("setting up the extraction", st);
  for (int l = 0; !rc && l < n_layers; l++)
    if ((st = ev_extractor_add_layer(ex, layers[l]))) rc = evc_lib_err("choosing the layers", st);
  if (!rc && (st = ev_extractor_prepare(ex, chw[0], chw[1], chw[2]))) rc = evc_lib_err("preparing the extraction", st);
  for (int l = 0; !rc && l < n_layers; l++) {
    if ((st = ev_extractor_layer_cols(ex, (size_t)l, &cols))) rc = evc_lib_err("the extraction", st);
    else if (evc_mat_alloc_f(&out[l], x->rows, cols)) rc = 1;
    else dst[l] = out[l].f, ld[l] = cols;
    size_t dims[8], nd = 0;
    if (!rc && shape && (st = ev_extractor_layer_shape(ex, (size_t)l, dims, &nd))) rc = evc_lib_err("the extraction", st);
    else if (!rc && shape) for (int k = 0; k < 3; k++) shape[l][k] = nd == 3 ? dims[k] : 0;
  }
  if (!rc && (st = ev_extractor_run(ex, x->f, x->rows, chw[0], chw[1], chw[2], x->cols, dst, ld)))
    rc = evc_lib_err("the extraction", st);
  evc_progress_done();
  for (int l = 0; rc && l < n_layers; l++) evc_mat_free(&out[l]);
  ev_extractor_free(ex);
  ev_model_free(model);
  return rc;
}
