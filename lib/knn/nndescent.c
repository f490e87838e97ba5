/* NN-descent (Dong, Charikar & Li, WWW 2011), as pynndescent runs it.
 *
 * Every row keeps a bounded max-heap of its k best (distance, index) pairs,
 * each flagged new or old. A round samples up to max_candidates new and
 * old neighbours per row (random priorities), adds the reverse neighbours
 * the same way, and then joins each row's candidates: every pair (a, b)
 * with at least one new member is a candidate neighbour of a for b and of
 * b for a ("a neighbour of my neighbour is likely my neighbour"). The run
 * stops after n_iters rounds or when a round changes fewer than
 * delta x n x k entries.
 *
 * Reproducible for a seed whatever the thread count: randomness comes from
 * a hash of (seed, round, row, row), and a bounded top-k list ordered by
 * (distance, index) holds the k best of everything offered to it in any
 * order. Rows are updated under a per-row lock; the rejection test reads
 * the current k-th without one, which can only reject what the list would
 * refuse anyway, since the k-th only decreases within a round. So each
 * round's lists, and the count that decides termination, are the same for
 * any interleaving. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "knn_approx.h"

enum { FLAG_OLD = 0, FLAG_NEW = 1, FLAG_FRESH = 2 }; /* fresh: this round */
#define CHUNK_ROWS 4096 /* rows per progress report and cancel check */

typedef struct nnd {
  const ev__knn_data *x;
  size_t n, k, m;        /* rows, list size, candidates per row */
  float *d;              /* n x k heaps: distance, index, flag */
  int32_t *idx;
  uint8_t *flag;
  float *thr;            /* the k-th distance of each row (atomic access) */
  omp_lock_t *lock;
  int32_t *cn, *co;      /* n x m new and old candidates */
  uint64_t *pn, *po;     /* their priorities */
  int32_t *nn, *no;      /* candidate counts */
} nnd;

/* Squared Euclidean in float, 8 lanes at a time: the join only ranks
 * candidates, and every list is re-ranked with exact distances at the end. */
EV_CLONES float ev__knn_sq_l2f(const float *x, const float *y, size_t dim) {
  float a[8] = {0}, r = 0;
  size_t j = 0;
  for (; j + 8 <= dim; j += 8)
    for (int l = 0; l < 8; l++) {
      float t = x[j + l] - y[j + l];
      a[l] += t * t;
    }
  for (; j < dim; j++) r += (x[j] - y[j]) * (x[j] - y[j]);
  return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])) + r;
}

static float dist(const nnd *s, int32_t a, int32_t b) {
  const ev__knn_data *x = s->x;
  if (x->kind == EV__KNN_L2_DIRECT || x->kind == EV__KNN_L2)
    return ev__knn_sq_l2f(x->ref + (size_t)a * x->dim, x->ref + (size_t)b * x->dim,
                  x->dim);
  return (float)ev__knn_exact(x->kind, x->p, x->ref + (size_t)a * x->dim,
                              x->ref + (size_t)b * x->dim, x->dim,
                              x->norm[a], x->norm[b]);
}

static inline int worse(float da, int32_t ia, float db, int32_t ib) {
  return da > db || (da == db && ia > ib);
}

static int contains(const int32_t *v, size_t m, int32_t j) {
  int hit = 0;
  for (size_t t = 0; t < m; t++) hit |= v[t] == j;
  return hit;
}

/* Sift the root of row i's full heap down. */
static void sift_down(float *d, int32_t *ix, uint8_t *fl, size_t size,
                      size_t at) {
  float dv = d[at];
  int32_t iv = ix[at];
  uint8_t fv = fl[at];
  for (;;) {
    size_t c = 2 * at + 1;
    if (c >= size) break;
    if (c + 1 < size && worse(d[c + 1], ix[c + 1], d[c], ix[c])) c++;
    if (!worse(d[c], ix[c], dv, iv)) break;
    d[at] = d[c];
    ix[at] = ix[c];
    fl[at] = fl[c];
    at = c;
  }
  d[at] = dv;
  ix[at] = iv;
  fl[at] = fv;
}

static void heapify(float *d, int32_t *ix, uint8_t *fl, size_t size) {
  for (size_t at = size / 2; at-- > 0;) sift_down(d, ix, fl, size, at);
}

static float load_thr(const nnd *s, int32_t i) {
  float v;
  __atomic_load(&s->thr[i], &v, __ATOMIC_RELAXED);
  return v;
}

/* Offer (dj, j) to row i's list; 1 if it entered. */
static int offer(nnd *s, int32_t i, int32_t j, float dj) {
  if (dj > load_thr(s, i)) return 0;
  size_t k = s->k;
  float *d = s->d + (size_t)i * k;
  int32_t *ix = s->idx + (size_t)i * k;
  uint8_t *fl = s->flag + (size_t)i * k;
  int in = 0;
  omp_set_lock(&s->lock[i]);
  if (worse(d[0], ix[0], dj, j) && !contains(ix, k, j)) {
    d[0] = dj;
    ix[0] = j;
    fl[0] = FLAG_FRESH;
    sift_down(d, ix, fl, k, 0);
    __atomic_store(&s->thr[i], &d[0], __ATOMIC_RELAXED);
    in = 1;
  }
  omp_unset_lock(&s->lock[i]);
  return in;
}

/* ---- initial lists ---- */

static void init_row(nnd *s, int32_t i, const ev__nnd_params *pr) {
  size_t k = s->k, n = s->n, filled = 0;
  float *d = s->d + (size_t)i * k;
  int32_t *ix = s->idx + (size_t)i * k;
  uint8_t *fl = s->flag + (size_t)i * k;
  const ev__knn_graph *g = pr->init;
  if (g) { /* the search graph's forward lists, nearest first */
    size_t take = g->degree < k ? g->degree : k;
    const int32_t *own = g->knn + (size_t)i * g->degree;
    for (size_t t = 0; t < take; t++) ix[filled++] = own[t];
    /* then their neighbours, nearest lists first: most of a longer list
     * lies within two hops of a good short one */
    for (size_t t = 0; t < g->degree && filled < k; t++) {
      const int32_t *hop = g->knn + (size_t)own[t] * g->degree;
      for (size_t u = 0; u < g->degree && filled < k; u++)
        if (hop[u] != i && !contains(ix, filled, hop[u])) ix[filled++] = hop[u];
    }
  }
  for (uint64_t attempt = 0; filled < k; attempt++) {
    int32_t j = (int32_t)(ev__hash3(pr->seed, 1, (uint64_t)i, attempt) % n);
    if (j != i && !contains(ix, filled, j)) ix[filled++] = j;
  }
  for (size_t t = 0; t < k; t++) {
    d[t] = dist(s, i, ix[t]);
    fl[t] = FLAG_NEW;
  }
  heapify(d, ix, fl, k);
  s->thr[i] = d[0];
}

/* ---- candidates ---- */

/* Keep the m lowest-priority candidates of row i (ties by index). */
static void push_cand(nnd *s, int32_t *c, uint64_t *pp, int32_t *cnt,
                      int32_t i, int32_t j, uint64_t prio) {
  size_t m = s->m;
  int32_t *v = c + (size_t)i * m;
  uint64_t *p = pp + (size_t)i * m;
  omp_set_lock(&s->lock[i]);
  size_t size = (size_t)cnt[i];
  if (!contains(v, size, j)) {
    if (size < m) {
      v[size] = j;
      p[size] = prio;
      cnt[i] = (int32_t)(size + 1);
    } else { /* replace the highest priority if this one beats it */
      size_t w = 0;
      for (size_t t = 1; t < m; t++)
        if (p[t] > p[w] || (p[t] == p[w] && v[t] > v[w])) w = t;
      if (prio < p[w] || (prio == p[w] && j < v[w])) {
        v[w] = j;
        p[w] = prio;
      }
    }
  }
  omp_unset_lock(&s->lock[i]);
}

static void make_candidates(nnd *s, uint64_t seed, int round) {
  size_t n = s->n, k = s->k;
  memset(s->nn, 0, n * sizeof *s->nn);
  memset(s->no, 0, n * sizeof *s->no);
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < n; i++) {
    for (size_t t = 0; t < k; t++) {
      int32_t j = s->idx[i * k + t];
      int32_t lo = (int32_t)i < j ? (int32_t)i : j, hi = lo == j ? (int32_t)i : j;
      uint64_t prio = ev__hash3(seed, 2 + (uint64_t)round, (uint64_t)lo,
                                   (uint64_t)hi);
      if (s->flag[i * k + t] != FLAG_OLD) {
        push_cand(s, s->cn, s->pn, s->nn, (int32_t)i, j, prio);
        push_cand(s, s->cn, s->pn, s->nn, j, (int32_t)i, prio);
      } else {
        push_cand(s, s->co, s->po, s->no, (int32_t)i, j, prio);
        push_cand(s, s->co, s->po, s->no, j, (int32_t)i, prio);
      }
    }
  }
  /* Sampled new neighbours become old: they are joined this round. */
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++)
    for (size_t t = 0; t < k; t++)
      if (s->flag[i * k + t] != FLAG_OLD &&
          contains(s->cn + i * s->m, (size_t)s->nn[i], s->idx[i * k + t]))
        s->flag[i * k + t] = FLAG_OLD;
}

/* ---- the local join ---- */

static void join_row(nnd *s, size_t u) {
  const int32_t *cn = s->cn + u * s->m, *co = s->co + u * s->m;
  int32_t nn = s->nn[u], no = s->no[u];
  for (int32_t a = 0; a < nn; a++) {
    int32_t p = cn[a];
    for (int32_t b = a + 1; b < nn; b++) {
      int32_t q = cn[b];
      float d = dist(s, p, q);
      offer(s, p, q, d);
      offer(s, q, p, d);
    }
    for (int32_t b = 0; b < no; b++) {
      int32_t q = co[b];
      if (q == p) continue;
      float d = dist(s, p, q);
      offer(s, p, q, d);
      offer(s, q, p, d);
    }
  }
}

/* Entries that entered this round, now marked new for the next. */
static size_t settle(nnd *s) {
  size_t changed = 0, nk = s->n * s->k;
#pragma omp parallel for schedule(static) reduction(+ : changed)
  for (size_t e = 0; e < nk; e++)
    if (s->flag[e] == FLAG_FRESH) {
      s->flag[e] = FLAG_NEW;
      changed++;
    }
  return changed;
}

/* ---- the run ---- */

static void nnd_free(nnd *s) {
  if (s->lock)
    for (size_t i = 0; i < s->n; i++) omp_destroy_lock(&s->lock[i]);
  ev__free(s->lock);
  ev__free(s->thr);
  ev__free(s->flag);
  ev__free(s->cn);
  ev__free(s->co);
  ev__free(s->pn);
  ev__free(s->po);
  ev__free(s->nn);
  ev__free(s->no);
}

static ev_status nnd_alloc(nnd *s, size_t n, size_t k, size_t m) {
  size_t nm, bytes;
  if (!ev__mul(n, m, &nm) ||
      ev__bytes("the NN-descent candidates", nm, 2 * (4 + 8), 1, &bytes))
    return ev__fail(EV_ERR_OVERFLOW, "NN-descent's candidate lists (%zu rows "
                    "x %zu) do not fit in memory: lower "
                    "EV_KNN_MAX_CANDIDATES", n, m);
  s->lock = ev__malloc(n * sizeof *s->lock);
  s->thr = ev__malloc(n * sizeof *s->thr);
  s->flag = ev__malloc(n * k);
  s->cn = ev__malloc(nm * 4);
  s->co = ev__malloc(nm * 4);
  s->pn = ev__malloc(nm * 8);
  s->po = ev__malloc(nm * 8);
  s->nn = ev__malloc(n * 4);
  s->no = ev__malloc(n * 4);
  if (!s->lock || !s->thr || !s->flag || !s->cn || !s->co || !s->pn ||
      !s->po || !s->nn || !s->no) {
    ev__free(s->lock);
    s->lock = NULL; /* no lock to destroy */
    nnd_free(s);
    return ev__nomem("NN-descent's lists", bytes + n * (k + 20));
  }
  for (size_t i = 0; i < n; i++) omp_init_lock(&s->lock[i]);
  return EV_OK;
}

static int default_iters(size_t n) {
  int it = (int)lround(log2((double)n));
  return it < 5 ? 5 : it;
}

/* Sort each row by (distance, index): heapsort of its max-heap. */
static void sort_rows(nnd *s) {
  size_t k = s->k;
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < s->n; i++) {
    float *d = s->d + i * k;
    int32_t *ix = s->idx + i * k;
    uint8_t *fl = s->flag + i * k;
    for (size_t end = k; end > 1; end--) {
      float td = d[0];
      int32_t ti = ix[0];
      d[0] = d[end - 1];
      ix[0] = ix[end - 1];
      d[end - 1] = td;
      ix[end - 1] = ti;
      fl[0] = fl[end - 1];
      sift_down(d, ix, fl, end - 1, 0);
    }
  }
}

ev_status ev__nndescent(const ev__knn_data *x, const ev__nnd_params *pr,
                        int32_t *idx, float *d) {
  size_t n = x->n, k = pr->k;
  size_t m = pr->max_candidates ? (size_t)pr->max_candidates
                                : (k < 60 ? k : 60);
  nnd s = {x, n, k, m, d, idx, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL};
  ev_status st = nnd_alloc(&s, n, k, m);
  if (st != EV_OK) return st;
  int iters = pr->n_iters ? pr->n_iters : default_iters(n);
  size_t total = (size_t)(iters + 1) * n, done = 0;
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < n; i++) init_row(&s, (int32_t)i, pr);
  done = n;
  if (pr->progress)
    st = ev__progress(pr->progress, pr->progress_user, EV_STAGE_KNN, done,
                      total, NAN);
  for (int round = 0; round < iters && st == EV_OK; round++) {
    make_candidates(&s, pr->seed, round);
    for (size_t c0 = 0; c0 < n && st == EV_OK; c0 += CHUNK_ROWS) {
      size_t c1 = c0 + CHUNK_ROWS < n ? c0 + CHUNK_ROWS : n;
#pragma omp parallel for schedule(dynamic, 16)
      for (size_t u = c0; u < c1; u++) join_row(&s, u);
      done += c1 - c0;
      if (pr->progress)
        st = ev__progress(pr->progress, pr->progress_user, EV_STAGE_KNN,
                          done, total, NAN);
    }
    if (st != EV_OK) break;
    size_t changed = settle(&s);
    if ((double)changed < pr->delta * (double)n * (double)k) break;
  }
  if (st == EV_OK) sort_rows(&s);
  nnd_free(&s);
  return st;
}
