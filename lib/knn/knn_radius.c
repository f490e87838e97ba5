/* Radius queries: every reference row within a distance of each query
 * (scikit-learn's radius_neighbors), exact, in CSR form.
 *
 * The same blocked exhaustive scan as the k-nearest search (knn_search.c,
 * knn_scan.c) with a fixed threshold instead of a shrinking one: Euclidean
 * and cosine blocks get their cross terms from SGEMM, and a reference row
 * whose float expansion is within the proven rounding bound of the radius
 * (Higham's bound, see knn_scan.c) has its distance recomputed exactly in
 * double and is kept when that is <= the radius; the other metrics run the
 * exact distance directly. So the answer is the exact set by double
 * precision distances, whatever the blocking and the thread count.
 *
 * Threads share the query blocks. Each block collects its (query, row,
 * distance) triples in its own growing buffer, sorts them by query (a
 * counting sort: the scan already visits rows in increasing order, so each
 * query's rows stay sorted by index) and keeps the result; the blocks are
 * then concatenated in query order. Memory is the answer itself plus one
 * SGEMM tile per thread. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "io/io_private.h"
#include "knn_private.h"

enum { RAD_BQ = 128, RAD_BR = 1024, RAD_DIRECT_BQ = 32 };

typedef struct triples {
  uint32_t *q;    /* query within the block */
  int64_t *r;     /* reference row */
  double *d;      /* exact distance, ranking form */
  size_t len, cap;
} triples;

typedef struct block_result {
  size_t *count;  /* per query of the block */
  int64_t *r;     /* the block's rows, query by query */
  double *d;
  size_t len;
} block_result;

typedef struct rad_shared {
  const ev__knn_job *job;
  double radius;          /* ranking form */
  size_t bq, br, nqb;
  block_result *blocks;
  int failed;             /* out of memory in a worker */
  int cancelled;
} rad_shared;

static int is_gemm(int kind) { return kind == EV__KNN_L2 || kind == EV__KNN_COS; }

static int triples_push(triples *t, uint32_t q, int64_t r, double d) {
  if (t->len == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 1024;
    uint32_t *nq = ev__realloc(t->q, cap * sizeof *nq);
    if (nq) t->q = nq;
    int64_t *nr = nq ? ev__realloc(t->r, cap * sizeof *nr) : NULL;
    if (nr) t->r = nr;
    double *nd = nr ? ev__realloc(t->d, cap * sizeof *nd) : NULL;
    if (!nd) return 0;
    t->d = nd;
    t->cap = cap;
  }
  t->q[t->len] = q;
  t->r[t->len] = r;
  t->d[t->len++] = d;
  return 1;
}

static const float *query_row(const ev__knn_job *job, size_t q) {
  return job->q + q * job->ldq;
}

/* One query block against the whole reference, into t. 0 when out of
 * memory. */
static int scan_block(const rad_shared *sh, size_t q0, size_t mq, float *tile,
                      double *qn, float *thr, triples *t) {
  const ev__knn_job *job = sh->job;
  const ev_knn *ix = job->index;
  int gemm = is_gemm(job->kind), cos = job->kind == EV__KNN_COS;
  for (size_t qi = 0; qi < mq; qi++) {
    double n = job->self ? ix->norm[q0 + qi]
                         : ev__knn_norm(query_row(job, q0 + qi), ix->dim);
    qn[qi] = n;
    double bound = ev__knn_scan_bound(job->kind, ix->dim, n, ix->max_sqnorm);
    thr[qi] = cos ? ev__knn_float_up((sh->radius + bound - 1) * n)
                  : ev__knn_float_up(sh->radius + bound - n * n);
  }
  for (size_t r0 = 0; r0 < ix->n; r0 += sh->br) {
    size_t mr = ix->n - r0 < sh->br ? ix->n - r0 : sh->br;
    if (gemm)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mq, (int)mr,
                  (int)ix->dim, cos ? -1.0f : -2.0f, query_row(job, q0),
                  (int)job->ldq, ix->ref + r0 * ix->dim, (int)ix->dim, 0.0f,
                  tile, (int)mr);
    for (size_t qi = 0; qi < mq; qi++) {
      const float *x = query_row(job, q0 + qi), *row = gemm ? tile + qi * mr : NULL;
      const float *colv = gemm ? ix->colv + r0 : NULL;
      int64_t self = job->self ? (int64_t)(q0 + qi) : -1;
      float th = thr[qi];
      for (size_t j = 0; j < mr; j++) {
        if (gemm && !(cos ? row[j] * colv[j] <= th : row[j] + colv[j] <= th))
          continue;
        int64_t r = (int64_t)(r0 + j);
        if (r == self) continue;
        double d = ev__knn_exact(job->kind, ix->built_p, x,
                                 ix->ref + (size_t)r * ix->dim, ix->dim,
                                 qn[qi], ix->norm[r]);
        if (d <= sh->radius && !triples_push(t, (uint32_t)qi, r, d)) return 0;
      }
    }
  }
  return 1;
}

/* The block's triples grouped by query (stable: rows stay in index order). */
static int keep_block(rad_shared *sh, size_t qb, size_t mq, const triples *t) {
  block_result *b = &sh->blocks[qb];
  b->count = ev__calloc(mq + 1, sizeof *b->count);
  b->r = ev__malloc((t->len ? t->len : 1) * sizeof *b->r);
  b->d = ev__malloc((t->len ? t->len : 1) * sizeof *b->d);
  size_t *at = ev__malloc((mq + 1) * sizeof *at);
  if (!b->count || !b->r || !b->d || !at) {
    ev__free(at);
    return 0;
  }
  for (size_t e = 0; e < t->len; e++) b->count[t->q[e]]++;
  at[0] = 0;
  for (size_t qi = 0; qi < mq; qi++) at[qi + 1] = at[qi] + b->count[qi];
  for (size_t e = 0; e < t->len; e++) {
    size_t to = at[t->q[e]]++;
    b->r[to] = t->r[e];
    b->d[to] = t->d[e];
  }
  b->len = t->len;
  ev__free(at);
  return 1;
}

static void report(rad_shared *sh, size_t done) {
  const ev_knn *ix = sh->job->index;
  if (ix->progress &&
      ev__progress(ix->progress, ix->progress_user, EV_STAGE_KNN, done,
                   sh->job->nq, NAN) != EV_OK) {
#pragma omp atomic write
    sh->cancelled = 1;
  }
}

static void run_blocks(rad_shared *sh, int T) {
  size_t done = 0;
#pragma omp parallel num_threads(T)
  {
    const ev_knn *ix = sh->job->index;
    float *tile = is_gemm(sh->job->kind)
                      ? ev__malloc_aligned(sh->bq * sh->br * sizeof(float))
                      : NULL;
    double *qn = ev__malloc(sh->bq * sizeof *qn);
    float *thr = ev__malloc(sh->bq * sizeof *thr);
    triples t = {0};
    int ok = qn && thr && (tile || !is_gemm(sh->job->kind));
    if (!ok) {
#pragma omp atomic write
      sh->failed = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (size_t qb = 0; qb < sh->nqb; qb++) {
      int stop, bad;
#pragma omp atomic read
      stop = sh->cancelled;
#pragma omp atomic read
      bad = sh->failed;
      if (stop || bad) continue;
      size_t q0 = qb * sh->bq, mq = sh->job->nq - q0 < sh->bq
                                        ? sh->job->nq - q0 : sh->bq;
      t.len = 0;
      if (!scan_block(sh, q0, mq, tile, qn, thr, &t) ||
          !keep_block(sh, qb, mq, &t)) {
#pragma omp atomic write
        sh->failed = 1;
        continue;
      }
#pragma omp atomic update
      done += mq;
      if (omp_get_thread_num() == 0) {
        size_t d;
#pragma omp atomic read
        d = done;
        report(sh, d);
      }
    }
    (void)ix;
    ev__free_aligned(tile);
    ev__free(qn);
    ev__free(thr);
    ev__free(t.q);
    ev__free(t.r);
    ev__free(t.d);
  }
}

typedef struct pair {
  double d;
  int64_t r;
} pair;

static int by_distance(const void *a, const void *b) {
  const pair *x = a, *y = b;
  if (x->d != y->d) return x->d < y->d ? -1 : 1;
  return (x->r > y->r) - (x->r < y->r);
}

/* Concatenate the blocks: offsets (nq + 1), rows and reported distances. */
static ev_status assemble(const rad_shared *sh, int sort, int64_t *offsets,
                          int64_t *rows, float *dist) {
  const ev__knn_job *job = sh->job;
  const ev_knn *ix = job->index;
  size_t at = 0, widest = 0;
  offsets[0] = 0;
  for (size_t qb = 0; qb < sh->nqb; qb++) {
    const block_result *b = &sh->blocks[qb];
    size_t q0 = qb * sh->bq, mq = job->nq - q0 < sh->bq ? job->nq - q0 : sh->bq;
    size_t e = 0;
    for (size_t qi = 0; qi < mq; qi++) {
      size_t c = b->count[qi];
      if (c > widest) widest = c;
      for (size_t u = 0; u < c; u++, e++, at++) {
        rows[at] = b->r[e];
        if (dist) dist[at] = ev__knn_report(ix->built_metric, ix->built_p, b->d[e]);
      }
      offsets[q0 + qi + 1] = (int64_t)at;
    }
  }
  if (!sort || widest < 2) return EV_OK;
  /* Sort each row by (distance, index): distances again from the blocks,
   * in double, so that equal reported floats keep their exact order. */
  pair *p = ev__malloc(widest * sizeof *p);
  if (!p) return ev__nomem("the sort of a row", widest * sizeof *p);
  for (size_t qb = 0; qb < sh->nqb; qb++) {
    const block_result *b = &sh->blocks[qb];
    size_t q0 = qb * sh->bq, mq = job->nq - q0 < sh->bq ? job->nq - q0 : sh->bq;
    size_t e = 0;
    for (size_t qi = 0; qi < mq; qi++) {
      size_t c = b->count[qi], base = (size_t)offsets[q0 + qi];
      for (size_t u = 0; u < c; u++) p[u] = (pair){b->d[e + u], b->r[e + u]};
      qsort(p, c, sizeof *p, by_distance);
      for (size_t u = 0; u < c; u++) {
        rows[base + u] = p[u].r;
        if (dist) dist[base + u] = ev__knn_report(ix->built_metric, ix->built_p, p[u].d);
      }
      e += c;
    }
  }
  ev__free(p);
  return EV_OK;
}

ev_status ev__knn_radius(const ev__knn_job *job, double radius, int sort,
                         ev_array **offsets, ev_array **rows,
                         ev_array **distances) {
  const ev_knn *ix = job->index;
  int gemm = is_gemm(job->kind);
  rad_shared sh = {job, radius, gemm ? RAD_BQ : RAD_DIRECT_BQ, 0, 0, NULL, 0, 0};
  if (ix->block_rows) sh.bq = (size_t)ix->block_rows;
  if (sh.bq > job->nq) sh.bq = job->nq;
  sh.br = gemm ? RAD_BR : ix->n;
  if (sh.br > ix->n) sh.br = ix->n;
  sh.nqb = job->nq / sh.bq + (job->nq % sh.bq != 0);
  int T = ev__resolve_threads(ix->threads);
  if ((size_t)T > sh.nqb) T = (int)sh.nqb;
  sh.blocks = ev__calloc(sh.nqb, sizeof *sh.blocks);
  if (!sh.blocks) return ev__nomem("the radius results", sh.nqb * sizeof *sh.blocks);
  run_blocks(&sh, T);
  ev_status st = EV_OK;
  if (sh.cancelled) st = EV_ERR_CANCELLED; /* message set by the callback */
  else if (sh.failed) st = ev__nomem("the neighbours within the radius", 0);
  size_t n_all = 0;
  for (size_t qb = 0; st == EV_OK && qb < sh.nqb; qb++) n_all += sh.blocks[qb].len;
  ev_array *ao = NULL, *ar = NULL, *ad = NULL;
  size_t n_off = job->nq + 1;
  if (st == EV_OK) st = ev__array_new(EV_DTYPE_INT64, 1, &n_off, "offsets", &ao);
  if (st == EV_OK) st = ev__array_new(EV_DTYPE_INT64, 1, &n_all, "indices", &ar);
  if (st == EV_OK && distances)
    st = ev__array_new(EV_DTYPE_FLOAT32, 1, &n_all, "distances", &ad);
  if (st == EV_OK)
    st = assemble(&sh, sort, ao->data, ar->data, ad ? ad->data : NULL);
  if (st == EV_OK && ix->progress)
    st = ev__progress(ix->progress, ix->progress_user, EV_STAGE_KNN, job->nq,
                      job->nq, NAN);
  for (size_t qb = 0; qb < sh.nqb; qb++) {
    ev__free(sh.blocks[qb].count);
    ev__free(sh.blocks[qb].r);
    ev__free(sh.blocks[qb].d);
  }
  ev__free(sh.blocks);
  if (st != EV_OK) {
    ev_array_free(ao);
    ev_array_free(ar);
    ev_array_free(ad);
    return st;
  }
  *offsets = ao;
  *rows = ar;
  if (distances) *distances = ad;
  return EV_OK;
}
