/* Exact selection on top of the SGEMM expansion.
 *
 * The expansion |x|^2 - 2 x.y + |y|^2 in float differs from the exact
 * distance d(x, y) by at most E = (gamma_dim + 3u)(|x|^2 + max|y|^2), with
 * u = 2^-24 and gamma_dim = dim u / (1 - dim u), whatever order SGEMM sums
 * in (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed.,
 * section 3.1). So a row can be among the k nearest only if its expanded
 * distance is at most (current exact k-th) + E. A row that passes this
 * cheap, vectorised filter gets its distance recomputed exactly in double
 * at once (its row is still in cache from the SGEMM) and offered to the
 * k-heap, which tightens the threshold straight away. The result is the
 * exact k nearest by double-precision distances, ties by index, independent
 * of blocking and threads; only about k (1 + ln(n / k)) rows per query are
 * recomputed when the reference comes in random order, fewer when the
 * self search seeds the thresholds (knn_seed.c).
 *
 * Cosine runs the same way on -x.y / |y| against (d_k + E - 1)|x|, with
 * E = gamma_dim + 8u. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "knn_scan.h"


ev_status ev__scan_alloc(ev__scan *s, size_t bq, size_t k) {
  memset(s, 0, sizeof *s);
  s->bq = bq;
  s->k = k;
  size_t hk;
  if (!ev__mul(bq, k, &hk))
    return ev__fail(EV_ERR_OVERFLOW, "neighbour lists of %zu x %zu do not fit "
                    "in memory: ask for fewer neighbours", bq, k);
  s->heaps = ev__calloc(bq, sizeof *s->heaps);
  s->heap_d = ev__calloc(hk, sizeof(double));
  s->heap_i = ev__calloc(hk, sizeof(int64_t));
  s->thr = ev__calloc(bq, sizeof(float));
  s->qn2 = ev__calloc(bq, sizeof(double));
  s->qn = ev__calloc(bq, sizeof(double));
  s->bound = ev__calloc(bq, sizeof(double));
  if (!s->heaps || !s->heap_d || !s->heap_i || !s->thr || !s->qn2 || !s->qn || !s->bound)
    return ev__nomem("the neighbour lists", hk * 16);
  for (size_t q = 0; q < bq; q++)
    s->heaps[q] = (ev__topk){s->heap_d + q * k, s->heap_i + q * k, 0, k};
  return EV_OK;
}

void ev__scan_free(ev__scan *s) {
  ev__free(s->heaps);
  ev__free(s->heap_d);
  ev__free(s->heap_i);
  ev__free(s->thr);
  ev__free(s->qn2);
  ev__free(s->qn);
  ev__free(s->bound);
  memset(s, 0, sizeof *s);
}

static const float *query_row(const ev__knn_job *job, size_t q) {
  return job->q + q * job->ldq;
}

void ev__scan_begin(ev__scan *s, const ev__knn_job *job, size_t q0,
                    size_t mq) {
  const ev_knn *ix = job->index;
  for (size_t qi = 0; qi < mq; qi++) {
    ev__topk_reset(&s->heaps[qi]);
    double n = job->self ? ix->norm[q0 + qi]
                         : ev__knn_norm(query_row(job, q0 + qi), ix->dim);
    s->qn[qi] = n;
    s->qn2[qi] = n * n;
    s->thr[qi] = job->seed ? ev__knn_float_up(job->seed[q0 + qi] - n * n)
                           : INFINITY;
    s->bound[qi] = ev__knn_scan_bound(job->kind, ix->dim, n, ix->max_sqnorm);
  }
}

/* Offer reference row r to query qi with its exact distance; when the heap
 * is full, tighten the scan threshold to the new k-th plus the bound. */
static void offer(ev__scan *s, const ev__knn_job *job, size_t q0, size_t qi,
                  int64_t r) {
  const ev_knn *ix = job->index;
  ev__topk *h = &s->heaps[qi];
  double d = ev__knn_exact(job->kind, 0, query_row(job, q0 + qi),
                           ix->ref + (size_t)r * ix->dim, ix->dim, s->qn[qi],
                           ix->norm[r]);
  if (!ev__topk_admits(h, d, r)) return;
  ev__topk_push(h, d, r);
  if (h->size < h->k) return;
  double limit = h->d[0] + s->bound[qi];
  float t = job->kind == EV__KNN_COS ? ev__knn_float_up((limit - 1) * s->qn[qi])
                                     : ev__knn_float_up(limit - s->qn2[qi]);
  if (t < s->thr[qi]) s->thr[qi] = t; /* a seed may be tighter still */
}

#pragma GCC diagnostic ignored "-Wpsabi"

typedef float v8f __attribute__((vector_size(32), aligned(4), may_alias));
typedef int v8i __attribute__((vector_size(32)));


static inline int any8(v8i c) {
  return (c[0] | c[1] | c[2] | c[3] | c[4] | c[5] | c[6] | c[7]) != 0;
}

/* First j in [from, m) with a[j] + b[j] <= t (Euclidean), or m. */
EV_CLONES static size_t next_add(const float *a, const float *b, size_t from,
                                 size_t m, float t) {
  size_t j = from;
  v8f tv = {t, t, t, t, t, t, t, t};
  for (; j + 16 <= m; j += 16) {
    v8f x0 = *(const v8f *)(a + j) + *(const v8f *)(b + j);
    v8f x1 = *(const v8f *)(a + j + 8) + *(const v8f *)(b + j + 8);
    if (any8((x0 <= tv) | (x1 <= tv))) break;
  }
  for (; j < m; j++)
    if (a[j] + b[j] <= t) return j;
  return m;
}

/* First j in [from, m) with a[j] * b[j] <= t (cosine), or m. */
EV_CLONES static size_t next_mul(const float *a, const float *b, size_t from,
                                 size_t m, float t) {
  size_t j = from;
  v8f tv = {t, t, t, t, t, t, t, t};
  for (; j + 16 <= m; j += 16) {
    v8f x0 = *(const v8f *)(a + j) * *(const v8f *)(b + j);
    v8f x1 = *(const v8f *)(a + j + 8) * *(const v8f *)(b + j + 8);
    if (any8((x0 <= tv) | (x1 <= tv))) break;
  }
  for (; j < m; j++)
    if (a[j] * b[j] <= t) return j;
  return m;
}

static void scan_row(ev__scan *s, const ev__knn_job *job, size_t q0,
                     size_t qi, const float *row, size_t r0, size_t mr) {
  const float *colv = job->index->colv + r0;
  int cos = job->kind == EV__KNN_COS;
  int64_t self = job->self ? (int64_t)(q0 + qi) : -1;
  size_t j = 0;
  for (;;) {
    j = cos ? next_mul(row, colv, j, mr, s->thr[qi])
            : next_add(row, colv, j, mr, s->thr[qi]);
    if (j >= mr) break;
    int64_t r = (int64_t)(r0 + j);
    if (r != self) offer(s, job, q0, qi, r);
    j++;
  }
}

void ev__scan_gemm_block(ev__scan *s, const ev__knn_job *job, size_t q0,
                         size_t mq, size_t r0, size_t mr, float *tile) {
  const ev_knn *ix = job->index;
  /* Euclidean: tile = -2 x.y; cosine: tile = -x.y. */
  float alpha = job->kind == EV__KNN_COS ? -1.0f : -2.0f;
  ev__knn_gemm_nt(mq, mr, ix->dim, alpha, query_row(job, q0), job->ldq,
                  ix->ref + r0 * ix->dim, ix->dim, tile, mr);
  for (size_t qi = 0; qi < mq; qi++)
    scan_row(s, job, q0, qi, tile + qi * mr, r0, mr);
}

void ev__scan_direct_block(ev__scan *s, const ev__knn_job *job, size_t q0,
                           size_t mq, size_t r0, size_t mr) {
  const ev_knn *ix = job->index;
  for (size_t qi = 0; qi < mq; qi++) {
    const float *x = query_row(job, q0 + qi);
    ev__topk *h = &s->heaps[qi];
    int64_t self = job->self ? (int64_t)(q0 + qi) : -1;
    for (size_t j = 0; j < mr; j++) {
      int64_t r = (int64_t)(r0 + j);
      if (r == self) continue;
      double d = ev__knn_exact(job->kind, ix->built_p, x,
                               ix->ref + (size_t)r * ix->dim, ix->dim,
                               s->qn[qi], ix->norm[r]);
      if (ev__topk_admits(h, d, r)) ev__topk_push(h, d, r);
    }
  }
}
