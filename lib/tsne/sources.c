/* Affinities from the three kinds of input: rows (through the kNN index),
 * a distance matrix, or the caller's sparse affinities. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embedviz/knn.h"
#include "tsne/sources.h"

/* ---- rows ---- */

static ev_status make_index(const ev__source *src, ev_knn **out) {
  ev_knn *index = NULL;
  ev_status st = ev_knn_create(&index);
  if (!st) st = ev_knn_set(index, EV_KNN_METRIC, src->metric);
  if (!st && src->metric == EV_METRIC_MINKOWSKI)
    st = ev_knn_set(index, EV_KNN_MINKOWSKI_P, src->minkowski_p);
  if (!st) st = ev_knn_set(index, EV_KNN_THREADS, src->threads);
  if (!st) st = ev_knn_set_progress(index, src->cb, src->user);
  if (!st) st = ev_knn_build(index, src->x, src->n, src->d, src->ld);
  if (st) ev_knn_free(index);
  else *out = index;
  return st;
}

/* Barnes-Hut: the exact k nearest rows, calibrated, symmetrised. */
static ev_status rows_knn(const ev__source *src, size_t k, ev__csr *p) {
  size_t n = src->n, cells, bytes;
  ev_status st = ev__bytes("neighbour lists", n, k, 8 + 4 + 8, &bytes);
  if (st) return st;
  cells = n * k;
  int64_t *idx = ev__malloc(cells * sizeof *idx);
  float *dist = ev__malloc(cells * sizeof *dist);
  double *pc = ev__malloc(cells * sizeof *pc);
  size_t *row_ptr = ev__malloc((n + 1) * sizeof *row_ptr);
  ev_knn *index = NULL;
  if (!idx || !dist || !pc || !row_ptr) {
    st = ev__nomem("neighbour lists", bytes);
    goto done;
  }
  if ((st = make_index(src, &index))) goto done;
  if ((st = ev_knn_query_self(index, k, idx, k, dist, k))) goto done;
  ev_knn_free(index);
  index = NULL;
  st = ev__tsne_conditional(dist, n, k, src->metric == EV_METRIC_SQEUCLIDEAN,
                            src->perplexity, pc, src->cb, src->user);
  if (st) goto done;
  for (size_t i = 0; i <= n; i++) row_ptr[i] = i * k;
  st = ev__tsne_symmetrize(n, row_ptr, idx, pc, p);
done:
  ev_knn_free(index);
  ev__free(idx);
  ev__free(dist);
  ev__free(pc);
  ev__free(row_ptr);
  return st;
}

/* Exact method on rows: each block of rows against all rows. */
typedef struct rows_ctx {
  const ev__source *src;
  ev_knn *index;
  int64_t *idx;
  float *dist;
} rows_ctx;

static ev_status rows_block(void *vctx, size_t r0, size_t rows, double *d2) {
  rows_ctx *c = vctx;
  const ev__source *s = c->src;
  size_t n = s->n;
  ev_status st = ev_knn_query(c->index, s->x + r0 * s->ld, rows, s->d, s->ld,
                              n, c->idx, n, c->dist, n);
  if (st) return st;
  int squared = s->metric == EV_METRIC_SQEUCLIDEAN;
#pragma omp parallel for schedule(static)
  for (size_t r = 0; r < rows; r++)
    for (size_t j = 0; j < n; j++) {
      double v = c->dist[r * n + j];
      d2[r * n + (size_t)c->idx[r * n + j]] = squared ? v : v * v;
    }
  return EV_OK;
}

static ev_status rows_dense(const ev__source *src, ev__csr *p) {
  size_t n = src->n;
  size_t block = ((size_t)32 << 20) / (n * sizeof(double));
  block = block < 1 ? 1 : block > n ? n : block;
  rows_ctx c = {src, NULL, NULL, NULL};
  c.idx = ev__malloc(block * n * sizeof *c.idx);
  c.dist = ev__malloc(block * n * sizeof *c.dist);
  ev_status st = EV_OK;
  if (!c.idx || !c.dist) st = ev__nomem("distance rows", block * n * 12);
  if (!st) st = make_index(src, &c.index);
  if (!st)
    st = ev__tsne_dense_affinities(n, src->perplexity, rows_block, &c, p,
                                   src->cb, src->user);
  ev_knn_free(c.index);
  ev__free(c.idx);
  ev__free(c.dist);
  return st;
}

/* ---- distance matrix ---- */

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

/* Max-heap on (distance, index) keeping the k smallest of a row. */
static void sift_down(float *hd, int64_t *hi, size_t k, size_t at) {
  for (;;) {
    size_t l = 2 * at + 1, r = l + 1, top = at;
    if (l < k && (hd[l] > hd[top] || (hd[l] == hd[top] && hi[l] > hi[top])))
      top = l;
    if (r < k && (hd[r] > hd[top] || (hd[r] == hd[top] && hi[r] > hi[top])))
      top = r;
    if (top == at) return;
    float td = hd[at];
    int64_t ti = hi[at];
    hd[at] = hd[top], hi[at] = hi[top];
    hd[top] = td, hi[top] = ti;
    at = top;
  }
}

static void select_row(const float *row, size_t n, size_t self, size_t k,
                       float *hd, int64_t *hi) {
  size_t m = 0, j = 0;
  for (; j < n && m < k; j++)
    if (j != self) hd[m] = row[j], hi[m] = (int64_t)j, m++;
  for (size_t a = k / 2; a-- > 0;) sift_down(hd, hi, k, a);
  for (; j < n; j++) {
    if (j == self || row[j] >= hd[0]) continue;
    hd[0] = row[j], hi[0] = (int64_t)j;
    sift_down(hd, hi, k, 0);
  }
}

static ev_status distances_knn(const ev__source *src, size_t k, ev__csr *p) {
  size_t n = src->n, bytes;
  ev_status st = ev__bytes("neighbour lists", n, k, 8 + 4 + 8, &bytes);
  if (st) return st;
  int64_t *idx = ev__malloc(n * k * sizeof *idx);
  float *dist = ev__malloc(n * k * sizeof *dist);
  double *pc = ev__malloc(n * k * sizeof *pc);
  size_t *row_ptr = ev__malloc((n + 1) * sizeof *row_ptr);
  if (!idx || !dist || !pc || !row_ptr) {
    st = ev__nomem("neighbour lists", bytes);
    goto done;
  }
#pragma omp parallel for schedule(dynamic, 64)
  for (size_t i = 0; i < n; i++)
    select_row(src->dist + i * src->ld, n, i, k, dist + i * k, idx + i * k);
  st = ev__tsne_conditional(dist, n, k, 0, src->perplexity, pc, src->cb,
                            src->user);
  if (st) goto done;
  for (size_t i = 0; i <= n; i++) row_ptr[i] = i * k;
  st = ev__tsne_symmetrize(n, row_ptr, idx, pc, p);
done:
  ev__free(idx);
  ev__free(dist);
  ev__free(pc);
  ev__free(row_ptr);
  return st;
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
    return exact ? rows_dense(src, p) : rows_knn(src, k, p);
  case EV__SOURCE_DISTANCES:
    return exact ? ev__tsne_dense_affinities(src->n, src->perplexity,
                                             distances_block, (void *)src, p,
                                             src->cb, src->user)
                 : distances_knn(src, k, p);
  default:
    return given_affinities(src, p);
  }
}
