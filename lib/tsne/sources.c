/* Affinities from the three kinds of input: rows (the kNN index's
 * neighbours, or for the exact method the kNN room's exact distance rows),
 * a distance matrix, or the caller's sparse affinities. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embedviz/knn.h"
#include "knn/knn_internal.h"
#include "tsne/sources.h"

/* ---- rows ---- */

ev_status ev__tsne_make_index(const ev__source *src, ev_knn **out) {
  ev_knn *index = NULL;
  ev_status st = ev_knn_create(&index);
  if (!st) st = ev_knn_set(index, EV_KNN_METRIC, src->metric);
  if (!st && src->metric == EV_METRIC_MINKOWSKI)
    st = ev_knn_set(index, EV_KNN_MINKOWSKI_P, src->minkowski_p);
  if (!st) st = ev_knn_set(index, EV_KNN_THREADS, src->threads);
  if (!st) st = ev_knn_set(index, EV_KNN_METHOD, src->knn_method);
  if (!st) st = ev_knn_set(index, EV_KNN_SEED, src->seed);
  if (!st) st = ev_knn_set_progress(index, src->cb, src->user);
  if (!st) st = ev_knn_build(index, src->x, src->n, src->d, src->ld);
  if (st) ev_knn_free(index);
  else *out = index;
  return st;
}

/* ---- Barnes-Hut: the k nearest, calibrated, symmetrised ---- */

/* Fills idx and dist (n x k, nearest first) with each row's k nearest other
 * rows; scratch: n x k doubles it may use. */
typedef ev_status (*neighbours_fn)(const ev__source *src, size_t k,
                                   int64_t *idx, float *dist,
                                   double *scratch);

/* Rows: the kNN index's self query; the index handed over when asked. */
static ev_status rows_neighbours(const ev__source *src, size_t k,
                                 int64_t *idx, float *dist, double *scratch) {
  ev_knn *index = NULL;
  ev_status st = ev__tsne_make_index(src, &index);
  if (!st) st = ev_knn_query_self(index, k, idx, k, dist, k);
  if (!st && src->keep_index) *src->keep_index = index;
  else ev_knn_free(index);
  return st;
}

/* A distance matrix: the k smallest of each row but the diagonal, by the
 * kNN room's top-k heap (ties to the lower index, as the index's), kept in
 * scratch's row. */
static ev_status distances_neighbours(const ev__source *src, size_t k,
                                      int64_t *idx, float *dist,
                                      double *scratch) {
  size_t n = src->n;
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < n; i++) {
    const float *row = src->dist + i * src->ld;
    ev__topk h = {scratch + i * k, idx + i * k, 0, k};
    for (size_t j = 0; j < n; j++)
      if (j != i && ev__topk_admits(&h, row[j], (int64_t)j))
        ev__topk_push(&h, row[j], (int64_t)j);
    ev__topk_sort(&h);
    for (size_t e = 0; e < k; e++) dist[i * k + e] = (float)h.d[e];
  }
  return EV_OK;
}

static ev_status sparse_affinities(const ev__source *src, size_t k,
                                   neighbours_fn find, ev__csr *p) {
  size_t n = src->n, bytes;
  ev_status st = ev__bytes("neighbour lists", n, k, 8 + 4 + 8, &bytes);
  if (st) return st;
  int64_t *idx = ev__malloc(n * k * sizeof *idx);
  float *dist = ev__malloc(n * k * sizeof *dist);
  double *pc = ev__malloc(n * k * sizeof *pc);
  if (!idx || !dist || !pc) {
    st = ev__nomem("neighbour lists", bytes);
    goto done;
  }
  if ((st = find(src, k, idx, dist, pc))) goto done;
  int squared = src->kind == EV__SOURCE_ROWS &&
                src->metric == EV_METRIC_SQEUCLIDEAN;
  st = ev__tsne_conditional(dist, n, k, squared, src->perplexity, pc,
                            src->cb, src->user);
  if (st) goto done;
  /* The memory peak of a large fit: keep only what P is made of (the ids
   * as uint32, the values) while it is made (docs/tsne.md "Memory"). */
  ev__free(dist);
  dist = NULL;
  uint32_t *ids = ev__narrow_in_place(idx, n * k, 0);
  if (!ids) {
    st = ev__nomem("neighbour ids", n * k * sizeof *ids);
    goto done;
  }
  idx = NULL;
  st = ev__tsne_symmetrize_lists(n, k, ids, pc, p);
  ev__free(ids);
done:
  ev__free(idx);
  ev__free(dist);
  ev__free(pc);
  return st;
}

/* ---- exact method: every row's distances to all rows ---- */

typedef struct rows_ctx {
  const ev__source *src;
  double *norm; /* |x_i| for the cosine metric, else NULL */
} rows_ctx;

static ev_status rows_block(void *vctx, size_t r0, size_t rows, double *d2) {
  const rows_ctx *c = vctx;
  const ev__source *s = c->src;
  ev__knn_distance_rows(s->metric, s->minkowski_p, s->x, s->n, s->d, s->ld,
                        c->norm, r0, rows, d2);
  return EV_OK;
}

static ev_status rows_dense(const ev__source *src, ev__csr *p) {
  rows_ctx c = {src, NULL};
  if (src->metric == EV_METRIC_COSINE) {
    c.norm = ev__malloc(src->n * sizeof *c.norm);
    if (!c.norm) return ev__nomem("row norms", src->n * sizeof *c.norm);
    ev__knn_norms(src->x, src->n, src->d, src->ld, c.norm);
  }
  ev_status st = ev__tsne_dense_affinities(src->n, src->perplexity,
                                           rows_block, &c, p, src->cb,
                                           src->user);
  ev__free(c.norm);
  return st;
}

static ev_status distances_block(void *vctx, size_t r0, size_t rows,
                                 double *d2) {
  const ev__source *s = vctx;
  size_t n = s->n;
#pragma omp parallel for schedule(static)
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < n; j++) {
      double v = s->dist[(r0 + r) * s->ld + j];
      d2[r * n + j] = v * v;
    }
  return EV_OK;
}

/* ---- caller's affinities ---- */

static ev_status given_affinities(const ev__source *src, ev__csr *p) {
  size_t n = src->n, nnz = src->row_ptr[n];
  double *val = ev__malloc((nnz ? nnz : 1) * sizeof *val);
  if (!val) return ev__nomem("affinity values", nnz * sizeof *val);
  for (size_t e = 0; e < nnz; e++) val[e] = src->values[e];
  ev_status st = ev__tsne_symmetrize(n, src->row_ptr, src->col_idx, val, p);
  ev__free(val);
  return st;
}

ev_status ev__tsne_source_affinities(const ev__source *src, int exact,
                                     ev__csr *p) {
  size_t k = (size_t)floor(3.0 * src->perplexity);
  switch (src->kind) {
  case EV__SOURCE_ROWS:
    return exact ? rows_dense(src, p)
                 : sparse_affinities(src, k, rows_neighbours, p);
  case EV__SOURCE_DISTANCES:
    return exact ? ev__tsne_dense_affinities(src->n, src->perplexity,
                                             distances_block, (void *)src, p,
                                             src->cb, src->user)
                 : sparse_affinities(src, k, distances_neighbours, p);
  default:
    return given_affinities(src, p);
  }
}
