/* The blocked exhaustive search.
 *
 * Work is cut into items: a block of query rows against a chunk of the
 * reference. With many queries there is one chunk (threads share the query
 * blocks, each running its own single-threaded SGEMM); with few queries the
 * reference is split into one chunk per thread and the per-chunk top-k
 * lists are merged at the end. Either way scratch is bounded by the block
 * sizes, never n_q x n.
 *
 * Euclidean and cosine items get their cross terms from SGEMM (see
 * knn_scan.c for the candidate filter that makes the result exact); the
 * other metrics run direct loops over cache-sized reference blocks.
 * Euclidean rows of 1 to 3 columns (maps) go to the k-d tree of
 * knn_tree.c instead, which gives the same lists. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "knn_private.h"
#include "knn_scan.h"
#include "knn_tree.h"

/* Block sizes: the SGEMM tile (bq x br floats) stays within a core's L2;
 * direct loops keep a reference block of about 256 KiB hot. */
enum { GEMM_BQ = 256, GEMM_BR = 1024, DIRECT_BQ = 32 };
#define HEAP_BUDGET ((size_t)4 << 20) /* heap entries per thread */

typedef struct plan {
  size_t bq, br;          /* query and reference rows per block */
  size_t nqb;             /* query blocks */
  size_t nchunk, chunk;   /* reference chunks and rows per chunk */
  int threads;
} plan;

static int is_gemm(int kind) { return kind == EV__KNN_L2 || kind == EV__KNN_COS; }

static size_t div_up(size_t a, size_t b) { return a / b + (a % b != 0); }

static void make_plan(const ev__knn_job *job, plan *pl) {
  const ev_knn *ix = job->index;
  int gemm = is_gemm(job->kind);
  size_t k = job->k;
  pl->threads = ev__resolve_threads(ix->threads);
  size_t bq = ix->block_rows ? (size_t)ix->block_rows
                             : (gemm ? GEMM_BQ : DIRECT_BQ);
  size_t per_query = k;
  if (bq * per_query > HEAP_BUDGET) bq = HEAP_BUDGET / per_query;
  if (bq < 1) bq = 1;
  if (bq > job->nq) bq = job->nq;
  size_t br;
  if (gemm) {
    br = ix->block_rows ? 4 * (size_t)ix->block_rows : GEMM_BR;
  } else {
    br = ((size_t)256 << 10) / (ix->dim * sizeof(float));
    if (br < 16) br = 16;
  }
  pl->bq = bq;
  pl->br = br;
  pl->nqb = div_up(job->nq, bq);
  /* Few query blocks: split the reference too, so every thread works. Each
   * chunk keeps at least k + 1 rows so its list fills. */
  size_t nchunk = 1, T = (size_t)pl->threads;
  if (pl->nqb < 2 * T && T > 1) {
    nchunk = T;
    size_t most = ix->n / (k + 1);
    if (nchunk > most) nchunk = most;
    if (nchunk < 1) nchunk = 1;
  }
  pl->nchunk = nchunk;
  pl->chunk = div_up(ix->n, nchunk);
  if (pl->br > pl->chunk) pl->br = pl->chunk; /* no tile wider than needed */
}

/* ---- per-thread scratch ---- */

typedef struct worker {
  ev__scan scan;       /* per-query selection state for a query block */
  float *tile;         /* bq x br SGEMM output */
} worker;

static void worker_free(worker *w) {
  ev__scan_free(&w->scan);
  ev__free_aligned(w->tile);
}

static ev_status worker_alloc(worker *w, const ev__knn_job *job,
                              const plan *pl) {
  memset(w, 0, sizeof *w);
  if (ev__scan_alloc(&w->scan, pl->bq, job->k) != EV_OK)
    return EV_ERR_NOMEM;
  if (is_gemm(job->kind)) {
    size_t bytes;
    if (ev__bytes("the distance tile", pl->bq, pl->br, sizeof(float),
                  &bytes) != EV_OK)
      return EV_ERR_OVERFLOW;
    w->tile = ev__malloc_aligned(bytes);
    if (!w->tile) return ev__nomem("the distance tile", bytes);
  }
  return EV_OK;
}

/* ---- one item: a query block against a reference chunk ---- */

typedef struct shared {
  const ev__knn_job *job;
  const plan *pl;
  int64_t *indices;
  size_t ldi;
  float *distances;
  size_t ldd;
  double *merge_d;     /* nq x nchunk x k, when nchunk > 1 */
  int64_t *merge_i;
  int cancelled;
} shared;

static void write_sorted(const shared *sh, size_t qrow, ev__topk *h) {
  ev__knn_write_row(sh->job->index, h, sh->indices + qrow * sh->ldi,
                    sh->distances ? sh->distances + qrow * sh->ldd : NULL);
}

static void run_item(shared *sh, worker *w, size_t item) {
  const ev__knn_job *job = sh->job;
  const plan *pl = sh->pl;
  const ev_knn *ix = job->index;
  size_t qb = item / pl->nchunk, c = item % pl->nchunk;
  size_t q0 = qb * pl->bq, mq = job->nq - q0 < pl->bq ? job->nq - q0 : pl->bq;
  size_t r_begin = c * pl->chunk;
  size_t r_end = r_begin + pl->chunk < ix->n ? r_begin + pl->chunk : ix->n;

  ev__scan_begin(&w->scan, job, q0, mq);
  for (size_t r0 = r_begin; r0 < r_end; r0 += pl->br) {
    int stop;
#pragma omp atomic read
    stop = sh->cancelled;
    if (stop) return;
    size_t mr = r_end - r0 < pl->br ? r_end - r0 : pl->br;
    if (is_gemm(job->kind))
      ev__scan_gemm_block(&w->scan, job, q0, mq, r0, mr, w->tile);
    else
      ev__scan_direct_block(&w->scan, job, q0, mq, r0, mr);
  }

  for (size_t qi = 0; qi < mq; qi++) {
    ev__topk *h = &w->scan.heaps[qi];
    if (pl->nchunk == 1) {
      write_sorted(sh, q0 + qi, h);
      continue;
    }
    size_t at = ((q0 + qi) * pl->nchunk + c) * job->k;
    for (size_t j = 0; j < job->k; j++) {
      sh->merge_d[at + j] = j < h->size ? h->d[j] : INFINITY;
      sh->merge_i[at + j] = j < h->size ? h->i[j] : INT64_MAX;
    }
  }
}

/* Combine the per-chunk lists of each query into its final k. */
static void merge_chunks(shared *sh, worker *w) {
  const ev__knn_job *job = sh->job;
  size_t m = sh->pl->nchunk * job->k;
  ev__topk *h = &w->scan.heaps[0];
  for (size_t q = 0; q < job->nq; q++) {
    ev__topk_reset(h);
    for (size_t j = 0; j < m; j++) {
      size_t at = q * m + j;
      if (sh->merge_i[at] != INT64_MAX)
        ev__topk_push(h, sh->merge_d[at], sh->merge_i[at]);
    }
    write_sorted(sh, q, h);
  }
}

/* Called after each item by the calling thread only (OpenMP thread 0), so
 * the callback runs on the thread that made the call. */
static void report(shared *sh, size_t *done_units) {
  const ev_knn *ix = sh->job->index;
  if (!ix->progress) return;
  size_t done;
#pragma omp atomic read
  done = *done_units;
  if (ev__progress(ix->progress, ix->progress_user, EV_STAGE_KNN,
                   done / sh->pl->nchunk, sh->job->nq, NAN) != EV_OK) {
#pragma omp atomic write
    sh->cancelled = 1;
  }
}

static void run_items(shared *sh, worker *workers) {
  const plan *pl = sh->pl;
  size_t items = pl->nqb * pl->nchunk, done_units = 0;
  int T = pl->threads;
  if ((size_t)T > items) T = (int)items;
#pragma omp parallel num_threads(T)
  {
    int t = omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
    for (size_t it = 0; it < items; it++) {
      int stop;
#pragma omp atomic read
      stop = sh->cancelled;
      if (stop) continue;
      run_item(sh, &workers[t], it);
      size_t q0 = (it / pl->nchunk) * pl->bq, rows = sh->job->nq - q0;
      if (rows > pl->bq) rows = pl->bq;
#pragma omp atomic update
      done_units += rows;
      if (t == 0) report(sh, &done_units);
    }
  }
}

ev_status ev__knn_search(const ev__knn_job *job, int64_t *indices, size_t ldi,
                         float *distances, size_t ldd) {
  if (ev__knn_tree_applies(job))
    return ev__knn_tree_search(job, indices, ldi, distances, ldd);
  ev__knn_job seeded;
  double *seed = NULL;
  if (!job->seed && ev__knn_seed_applies(job) && (seed = ev__knn_seed(job))) {
    seeded = *job;
    seeded.seed = seed;
    job = &seeded;
  }
  plan pl;
  make_plan(job, &pl);
  int T = pl.threads;
  size_t items = pl.nqb * pl.nchunk;
  if ((size_t)T > items) T = (int)items;
  shared sh = {job, &pl, indices, ldi, distances, ldd, NULL, NULL, 0};
  ev_status st = EV_OK;
  worker *workers = ev__calloc((size_t)T, sizeof *workers);
  if (!workers) {
    ev__free(seed);
    return ev__nomem("the search workers", T * sizeof *workers);
  }
  int made = 0;
  for (; made < T && st == EV_OK; made++)
    st = worker_alloc(&workers[made], job, &pl);
  if (st == EV_OK && pl.nchunk > 1) {
    size_t cnt, bytes;
    if (!ev__mul3(job->nq, pl.nchunk, job->k, &cnt) ||
        ev__bytes("the merge lists", cnt, 1, sizeof(double), &bytes) != EV_OK)
      st = ev__fail(EV_ERR_OVERFLOW, "the merge lists do not fit in memory: "
                                     "ask for fewer neighbours");
    else if (!(sh.merge_d = ev__malloc(bytes)) ||
             !(sh.merge_i = ev__malloc(bytes)))
      st = ev__nomem("the merge lists", 2 * bytes);
  }
  if (st == EV_OK) {
    run_items(&sh, workers);
    if (sh.cancelled) st = EV_ERR_CANCELLED; /* message set by the callback */
    else if (pl.nchunk > 1) merge_chunks(&sh, &workers[0]);
  }
  if (st == EV_OK && job->index->progress)
    st = ev__progress(job->index->progress, job->index->progress_user,
                      EV_STAGE_KNN, job->nq, job->nq, NAN);
  ev__free(seed);
  ev__free(sh.merge_d);
  ev__free(sh.merge_i);
  for (int t = 0; t < made; t++) worker_free(&workers[t]);
  ev__free(workers);
  return st;
}
