/* NN-descent (Dong, Charikar & Li, WWW 2011) started from a forest of
 * random-projection trees, in the layout pynndescent made fast.
 *
 * 1. Initial lists. Without a previous graph: a forest of random-projection
 *    trees (Dasgupta & Freund's RP trees as pynndescent builds them: split
 *    each node by the hyperplane halfway between two random rows of it,
 *    until at most `leaf` rows are left) and every pair of rows in each
 *    leaf is a candidate neighbour. Leaves are joined in parallel (rows of
 *    one leaf belong to one thread, no locks); trees are built a batch at a
 *    time, one per thread, each with its own permutation. Rows still short
 *    are filled with random rows.
 * 2. Rounds. Every row keeps a bounded max-heap of its k best (distance,
 *    index) pairs, each flagged new or old. A round samples up to
 *    max_candidates new and old neighbours per row, forward and reverse, by
 *    random priority into per-row bounded heaps (each thread fills only the
 *    rows it owns, so no locks), marks the sampled new ones old, and joins
 *    each row's candidates pairwise (pairs with at least one new member).
 *    The join runs over blocks of rows: the threads write the pairs that
 *    beat a row's current k-th into their own buffers, then each thread
 *    applies the updates of the rows it owns. It stops after n_iters rounds
 *    or when a round leaves fewer than delta x n x k new entries.
 *
 * Reproducible for a seed whatever the thread count: randomness is a hash
 * of (seed, stage, ...); the distance of a pair is a symmetric function of
 * the two rows, the same in every stage; a bounded top-k list ordered by
 * (distance, index) without duplicates ends with the k best of everything
 * offered to it, in any order; the blocks are fixed row ranges and every
 * block's updates are filtered with the lists as they were before it; and
 * the count that ends the run is of entries present at the round's end. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/testhook.h"
#include "knn_approx.h"

enum { FLAG_OLD = 0, FLAG_NEW = 1, FLAG_FRESH = 2 }; /* fresh: this round */
#define EMPTY INT32_MAX /* an empty slot: (INFINITY, EMPTY) is worse than any row */
/* Updates buffered per thread (at least one row's pairs, twice), lowered
 * by tests (lib/core/testhook.h) to make the join redo blocks. */
size_t ev__test_nnd_block_updates = (size_t)1 << 21;
/* The share of a buffer the next block is sized to fill (tests raise it
 * above 1 to make blocks overflow). */
double ev__test_nnd_block_fill = 0.5;
/* Blocks the join redid since the program started (tests read it). */
size_t ev__test_nnd_redone_blocks;
#define MAX_TREES 64
#define PREFETCH 16 /* entries ahead */

typedef struct update {
  int32_t row, cand;
  float d;
} update;

typedef struct nnd {
  const ev__knn_data *x;
  size_t n, k, m;        /* rows, list size, candidates per row */
  int T;                 /* threads */
  float *d;              /* n x k heaps: distance, index, flag */
  int32_t *idx;
  uint8_t *flag;
  uint32_t *fill;        /* n: entries in each list (k once full) */
  uint64_t *cn, *co;     /* n x m new and old candidates (max-heaps of
                            (priority << 32) | row) */
  update *buf;           /* T x cap */
  size_t cap;            /* updates per thread's buffer */
  size_t *nbuf;          /* T counts (padded) */
} nnd;

/* Unaligned 8-float vectors (GCC/clang vector extensions). */
typedef float v8f __attribute__((vector_size(32), aligned(4), may_alias));

/* By pointer: an AVX vector passed by value to a function built without
 * AVX changes the ABI (clang -Wpsabi). */
static inline float hsum8(const v8f *p) {
  v8f a = *p;
  return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

/* Squared Euclidean in float, 32 lanes at a time (four independent 8-lane
 * sums, so the additions' latency overlaps: a single 8-lane sum waited 4
 * cycles per 8 columns), then 8 lanes, then one: the join only ranks
 * candidates, and every list is re-ranked with exact distances at the
 * end. Symmetric bit for bit: (x - y)^2 == (y - x)^2. */
EV_CLONES float ev__knn_sq_l2f(const float *x, const float *y, size_t dim) {
  v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
  float r = 0;
  size_t j = 0;
  for (; j + 32 <= dim; j += 32) {
    v8f t0 = *(const v8f *)(x + j) - *(const v8f *)(y + j);
    v8f t1 = *(const v8f *)(x + j + 8) - *(const v8f *)(y + j + 8);
    v8f t2 = *(const v8f *)(x + j + 16) - *(const v8f *)(y + j + 16);
    v8f t3 = *(const v8f *)(x + j + 24) - *(const v8f *)(y + j + 24);
    a0 += t0 * t0;
    a1 += t1 * t1;
    a2 += t2 * t2;
    a3 += t3 * t3;
  }
  for (; j + 8 <= dim; j += 8) {
    v8f t = *(const v8f *)(x + j) - *(const v8f *)(y + j);
    a0 += t * t;
  }
  for (; j < dim; j++) r += (x[j] - y[j]) * (x[j] - y[j]);
  v8f sum = (a0 + a2) + (a1 + a3);
  return hsum8(&sum) + r;
}

/* The ranking distance of rows a and b; dist(a, b) == dist(b, a). */
static float dist(const ev__knn_data *x, int32_t a, int32_t b) {
  if (x->kind == EV__KNN_L2_DIRECT || x->kind == EV__KNN_L2)
    return ev__knn_sq_l2f(x->ref + (size_t)a * x->dim, x->ref + (size_t)b * x->dim,
                          x->dim);
  if (a > b) { int32_t t = a; a = b; b = t; }
  return (float)ev__knn_exact(x->kind, x->p, x->ref + (size_t)a * x->dim,
                              x->ref + (size_t)b * x->dim, x->dim,
                              x->norm[a], x->norm[b]);
}

static inline int worse(float da, int32_t ia, float db, int32_t ib) {
  return da > db || (da == db && ia > ib);
}

static inline __attribute__((always_inline)) int contains(const int32_t *v, size_t m, int32_t j) {
  int hit = 0;
#pragma omp simd reduction(| : hit)
  for (size_t t = 0; t < m; t++) hit |= v[t] == j;
  return hit;
}

/* Sift entry `at` of a full max-heap down. */
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

/* Offer (dj, j) to row i's list (only the thread owning row i calls it);
 * 1 if it entered. A list holds fill[i] entries, a max-heap in its first
 * fill[i] slots: while it is not full every new row enters, by a sift up
 * from the end (about two levels on average) rather than a sift down from
 * the root through empty slots (the whole depth each time: 44 % of the
 * first trees' time at 1,000,000 rows). The entries kept are the same. */
EV_CLONES static int offer(nnd *s, int32_t i, int32_t j, float dj, uint8_t flag) {
  size_t k = s->k, c = s->fill[i];
  float *d = s->d + (size_t)i * k;
  int32_t *ix = s->idx + (size_t)i * k;
  uint8_t *fl = s->flag + (size_t)i * k;
  if (c < k) {
    if (contains(ix, c, j)) return 0;
    while (c > 0) {
      size_t up = (c - 1) / 2;
      if (!worse(dj, j, d[up], ix[up])) break; /* the parent is worse */
      d[c] = d[up];
      ix[c] = ix[up];
      fl[c] = fl[up];
      c = up;
    }
    d[c] = dj;
    ix[c] = j;
    fl[c] = flag;
    s->fill[i]++;
    return 1;
  }
  if (!worse(d[0], ix[0], dj, j) || contains(ix, k, j)) return 0;
  d[0] = dj;
  ix[0] = j;
  fl[0] = flag;
  sift_down(d, ix, fl, k, 0);
  return 1;
}

/* ---- the random-projection forest ---- */

typedef struct rptree {
  int32_t *perm;         /* n rows, leaves contiguous */
  uint32_t *leaf;        /* leaf boundaries: leaf t is perm[leaf[t], leaf[t+1]) */
  size_t nleaves;
} rptree;

/* A dot product in 32 lanes as ev__knn_sq_l2f (a fixed order: the same on
 * every machine of one build). */
EV_CLONES static float dot8(const float *x, const float *y, size_t dim) {
  v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
  float r = 0;
  size_t j = 0;
  for (; j + 32 <= dim; j += 32) {
    a0 += *(const v8f *)(x + j) * *(const v8f *)(y + j);
    a1 += *(const v8f *)(x + j + 8) * *(const v8f *)(y + j + 8);
    a2 += *(const v8f *)(x + j + 16) * *(const v8f *)(y + j + 16);
    a3 += *(const v8f *)(x + j + 24) * *(const v8f *)(y + j + 24);
  }
  for (; j + 8 <= dim; j += 8) a0 += *(const v8f *)(x + j) * *(const v8f *)(y + j);
  for (; j < dim; j++) r += x[j] * y[j];
  v8f sum = (a0 + a2) + (a1 + a3);
  return hsum8(&sum) + r;
}

/* Which side of node `h`'s hyperplane row r falls on. */
static int side(const ev__knn_data *x, const float *normal, float off,
                int32_t r, uint64_t h) {
  float m = off + dot8(normal, x->ref + (size_t)r * x->dim, x->dim);
  if (m == 0) return (int)(ev__hash3(h, 7, (uint64_t)r, 0) & 1);
  return m > 0;
}

#define SPLIT_AHEAD 8

static void split(const ev__knn_data *x, rptree *t, size_t lo, size_t hi,
                  size_t leaf, uint64_t h, float *normal, int depth) {
  size_t size = hi - lo;
  if (size <= leaf || depth > 200) {
    t->leaf[++t->nleaves] = (uint32_t)hi;
    return;
  }
  size_t a = lo + ev__hash3(h, 1, 0, 0) % size;
  size_t b = lo + ev__hash3(h, 2, 0, 0) % (size - 1);
  if (b >= a) b++;
  const float *ya = x->ref + (size_t)t->perm[a] * x->dim;
  const float *yb = x->ref + (size_t)t->perm[b] * x->dim;
  float off = 0;
  if (x->kind == EV__KNN_COS || x->kind == EV__KNN_COS_DIRECT) {
    /* angular: through the origin, between the two directions */
    double na = x->norm[t->perm[a]], nb = x->norm[t->perm[b]];
    float ia = na > 0 ? (float)(1 / na) : 0, ib = nb > 0 ? (float)(1 / nb) : 0;
    for (size_t j = 0; j < x->dim; j++) normal[j] = ya[j] * ia - yb[j] * ib;
  } else {
    for (size_t j = 0; j < x->dim; j++) {
      normal[j] = ya[j] - yb[j];
      off -= normal[j] * 0.5f * (ya[j] + yb[j]);
    }
  }
  size_t i = lo, e = hi; /* [lo, i): side 1, [e, hi): side 0 */
  while (i < e) {
    /* the next row tested is perm[i] or one swapped in from the end, both
     * scattered over the rows: fetch ahead from both ends (at 1,000,000
     * rows the splits waited for memory) */
    if (i + SPLIT_AHEAD < e) {
      ev__prefetch_row(x, (size_t)t->perm[i + SPLIT_AHEAD]);
      ev__prefetch_row(x, (size_t)t->perm[e - 1 - SPLIT_AHEAD]);
    }
    if (side(x, normal, off, t->perm[i], h)) i++;
    else {
      e--;
      int32_t tmp = t->perm[i];
      t->perm[i] = t->perm[e];
      t->perm[e] = tmp;
    }
  }
  if (i == lo || i == hi) i = lo + size / 2; /* degenerate: halve */
  split(x, t, lo, i, leaf, ev__hash3(h, 3, 0, 0), normal, depth + 1);
  split(x, t, i, hi, leaf, ev__hash3(h, 4, 0, 0), normal, depth + 1);
}

static void build_tree(const ev__knn_data *x, rptree *t, size_t leaf,
                       uint64_t seed, size_t tree, float *normal) {
  for (size_t i = 0; i < x->n; i++) t->perm[i] = (int32_t)i;
  t->leaf[0] = 0;
  t->nleaves = 0;
  split(x, t, 0, x->n, leaf, ev__hash3(seed, 5, tree, 0), normal, 0);
}

void ev__rptree_build(const ev__knn_data *x, size_t leaf_size, uint64_t seed,
                      size_t tree, int32_t *perm, uint32_t *leaf,
                      size_t *nleaves, float *normal) {
  rptree t = {perm, leaf, 0};
  build_tree(x, &t, leaf_size, seed, tree, normal);
  *nleaves = t.nleaves;
}

/* Ask for row i's data and the roots of its list ahead of their use. */
static inline void fetch_list(const nnd *s, size_t i) {
  ev__prefetch_row(s->x, i);
  __builtin_prefetch(s->d + i * s->k);
  __builtin_prefetch(s->idx + i * s->k);
}

/* Whether (dj, j) beats row i's current k-th (offer's first test, here
 * where it inlines: in the later trees most pairs fail it). */
static inline int beats(const nnd *s, int32_t i, int32_t j, float dj) {
  size_t at = (size_t)i * s->k;
  return s->fill[i] < s->k || worse(s->d[at], s->idx[at], dj, j);
}

static void join_leaf(nnd *s, const int32_t *r, size_t size) {
  /* a leaf's rows are scattered: ask for all of them before the first
   * row's pairs touch each of them */
  for (size_t a = 0; a < size; a++) fetch_list(s, (size_t)r[a]);
  for (size_t a = 0; a < size; a++)
    for (size_t b = a + 1; b < size; b++) {
      float d = dist(s->x, r[a], r[b]);
      if (beats(s, r[a], r[b], d)) offer(s, r[a], r[b], d, FLAG_NEW);
      if (beats(s, r[b], r[a], d)) offer(s, r[b], r[a], d, FLAG_NEW);
    }
}

static size_t default_trees(size_t n) {
  size_t t = 5 + (size_t)lround(pow((double)n, 0.25));
  return t < 32 ? t : 32;
}

/* Rows of more than FOREST_DIMS columns are split in a random projection
 * to FOREST_DIMS columns (entries +-1 from the seed: Achlioptas, PODS
 * 2001): a split is then a dot product of FOREST_DIMS instead of dim
 * values, and projections keep distances (Johnson-Lindenstrauss), so the
 * leaves hold near rows as before. The leaves' pairs are still ranked by
 * their distance in all columns. At 70,000 x 784 the splits' dot products
 * were 42 % of NN-descent's time (docs/knn.md). */
#define FOREST_DIMS 32

/* z = the rows projected (n x FOREST_DIMS), zn their norms (double, for
 * the angular split); a function of the rows and the seed only. */
EV_CLONES static void project_rows(const ev__knn_data *x, const float *r,
                                   float *z, double *zn, int threads) {
  size_t P = FOREST_DIMS;
#pragma omp parallel for schedule(static) num_threads(threads)
  for (size_t i = 0; i < x->n; i++) {
    const float *xi = x->ref + i * x->dim;
    double q = 0;
    for (size_t p = 0; p < P; p++) {
      float v = dot8(r + p * x->dim, xi, x->dim);
      z[i * P + p] = v;
      q += (double)v * v;
    }
    zn[i] = sqrt(q);
  }
}

static ev_status forest(nnd *s, const ev__nnd_params *pr, size_t total) {
  const ev__knn_data *x = s->x;
  size_t n = s->n, T = (size_t)s->T;
  ev__knn_data proj = *x; /* the rows the trees split */
  float *z = NULL, *r = NULL;
  double *zn = NULL;
  if (x->dim > FOREST_DIMS) {
    z = ev__malloc(n * FOREST_DIMS * sizeof *z);
    zn = ev__malloc(n * sizeof *zn);
    r = ev__malloc(FOREST_DIMS * x->dim * sizeof *r);
    if (!z || !zn || !r) {
      ev__free(z), ev__free(zn), ev__free(r);
      return ev__nomem("the random-projection trees' projected rows",
                       n * (FOREST_DIMS * 4 + 8));
    }
    for (size_t e = 0; e < FOREST_DIMS * x->dim; e++)
      r[e] = (ev__hash3(pr->seed, 6, e / 64, 0) >> (e % 64)) & 1 ? 1.0f : -1.0f;
    project_rows(x, r, z, zn, s->T);
    ev__free(r);
    proj.ref = z;
    proj.norm = zn;
    proj.dim = FOREST_DIMS;
  }
  size_t trees = pr->n_trees ? (size_t)pr->n_trees : default_trees(n);
  size_t leaf = s->k < 10 ? 10 : s->k > 60 ? 60 : s->k;
  if (trees > MAX_TREES) trees = MAX_TREES;
  size_t batch = T < trees ? T : trees;
  rptree *t = ev__calloc(batch, sizeof *t);
  float *normal = ev__malloc(batch * x->dim * sizeof *normal);
  int ok = t && normal;
  for (size_t b = 0; ok && b < batch; b++) {
    t[b].perm = ev__malloc(n * sizeof *t[b].perm);
    t[b].leaf = ev__malloc((n + 1) * sizeof *t[b].leaf);
    ok = t[b].perm && t[b].leaf;
  }
  ev_status st = ok ? EV_OK : ev__nomem("the random-projection trees",
                                        batch * n * 8);
  for (size_t t0 = 0; st == EV_OK && t0 < trees; t0 += batch) {
    size_t nb = trees - t0 < batch ? trees - t0 : batch;
#pragma omp parallel for schedule(static, 1) num_threads(s->T)
    for (size_t b = 0; b < nb; b++)
      build_tree(&proj, &t[b], leaf, pr->seed, t0 + b, normal + b * x->dim);
    for (size_t b = 0; b < nb; b++) {
      const rptree *tr = &t[b];
#pragma omp parallel for schedule(dynamic, 64) num_threads(s->T)
      for (size_t l = 0; l < tr->nleaves; l++)
        join_leaf(s, tr->perm + tr->leaf[l], tr->leaf[l + 1] - tr->leaf[l]);
    }
    if (pr->progress)
      st = ev__progress(pr->progress, pr->progress_user, EV_STAGE_KNN, 0,
                        total, NAN);
  }
  for (size_t b = 0; t && b < batch; b++) {
    ev__free(t[b].perm);
    ev__free(t[b].leaf);
  }
  ev__free(t);
  ev__free(normal);
  ev__free(z);
  ev__free(zn);
  return st;
}

/* ---- initial lists ---- */

static void init_row(nnd *s, int32_t i, const ev__nnd_params *pr) {
  size_t k = s->k, n = s->n;
  /* fill what is still empty with random rows */
  for (uint64_t attempt = 0; s->fill[i] < k && attempt < 64 * k; attempt++) {
    int32_t j = (int32_t)(ev__hash3(pr->seed, 1, (uint64_t)i, attempt) % n);
    if (j != i) offer(s, i, j, dist(s->x, i, j), FLAG_NEW);
  }
  for (size_t j = 0; s->fill[i] < k && j < n; j++) /* tiny n: every row */
    if ((int32_t)j != i) offer(s, i, (int32_t)j, dist(s->x, i, (int32_t)j), FLAG_NEW);
}

/* ---- candidates ---- */

/* A candidate is one 64-bit key, (priority << 32) | row: the key order is
 * the (priority, row) order, and one array holds a row's heap. */
static inline __attribute__((always_inline)) int ckey_has(const uint64_t *v, size_t m, uint64_t key) {
  int hit = 0;
#pragma omp simd reduction(| : hit)
  for (size_t t = 0; t < m; t++) hit |= v[t] == key;
  return hit;
}

/* Keep the m lowest keys offered to a row (max-heap): r[0] is the count,
 * r[1..m] the heap, so the count and the root share a cache line. A
 * pair's key is the same from both rows, so a row offered one neighbour
 * twice (forward and reverse) holds it once. */
static inline __attribute__((always_inline)) void push_cand(uint64_t *r,
                                                            size_t m,
                                                            uint64_t key) {
  size_t size = (size_t)r[0], at;
  uint64_t *v = r + 1;
  if (size == m && v[0] <= key) return;
  if (ckey_has(v, size, key)) return;
  if (size < m) { /* sift up */
    at = size;
    r[0] = size + 1;
    while (at > 0) {
      size_t up = (at - 1) / 2;
      if (v[up] >= key) break;
      v[at] = v[up];
      at = up;
    }
  } else { /* replace the root, sift down */
    at = 0;
    for (;;) {
      size_t c = 2 * at + 1;
      if (c >= m) break;
      if (c + 1 < m && v[c + 1] > v[c]) c++;
      if (v[c] <= key) break;
      v[at] = v[c];
      at = c;
    }
  }
  v[at] = key;
}

/* The sampling priority of the pair (a, b) in a round (rs: the round's
 * seed), the same from both rows, in the high half of a key for row j. */
static inline uint64_t ckey(uint64_t rs, int32_t a, int32_t b, int32_t j) {
  uint64_t lo = (uint32_t)(a < b ? a : b), hi = (uint32_t)(a < b ? b : a);
  return (ev__mix64(rs ^ (lo << 32 | hi)) & ~(uint64_t)0xffffffff) |
         (uint32_t)j;
}

/* Rows [lo, hi) of thread t (fixed ranges: the result does not depend on
 * which thread owns which). */
static void own_range(size_t n, int T, int t, size_t *lo, size_t *hi) {
  *lo = n * (size_t)t / (size_t)T;
  *hi = n * (size_t)(t + 1) / (size_t)T;
}

/* Thread t's part of make_candidates: the candidates of its rows. */
EV_CLONES static void sample_rows(nnd *s, uint64_t rs, size_t lo, size_t hi) {
  size_t n = s->n, k = s->k, m = s->m, w = m + 1;
  for (size_t i = lo; i < hi; i++) s->cn[i * w] = s->co[i * w] = 0;
  size_t nk = n * k;
  for (size_t i = 0; i < n; i++) {
    int own_i = i >= lo && i < hi;
    for (size_t e = i * k; e < (i + 1) * k; e++) {
      /* the reverse pushes go to random rows: fetch ahead */
      if (e + PREFETCH < nk) {
        size_t f = e + PREFETCH;
        int32_t jf = s->idx[f];
        if (jf != EMPTY && (size_t)jf >= lo && (size_t)jf < hi)
          __builtin_prefetch((s->flag[f] != FLAG_OLD ? s->cn : s->co) +
                             (size_t)jf * w);
      }
      int32_t j = s->idx[e];
      if (j == EMPTY) continue;
      int own_j = (size_t)j >= lo && (size_t)j < hi;
      if (!own_i && !own_j) continue;
      uint64_t *c = s->flag[e] != FLAG_OLD ? s->cn : s->co;
      if (own_i) push_cand(c + i * w, m, ckey(rs, (int32_t)i, j, j));
      if (own_j)
        push_cand(c + (size_t)j * w, m, ckey(rs, (int32_t)i, j, (int32_t)i));
    }
  }
}

static void make_candidates(nnd *s, uint64_t seed, int round) {
  size_t n = s->n, k = s->k, m = s->m, w = m + 1;
  uint64_t rs = ev__hash3(seed, 16 + (uint64_t)round, 0, 0);
#pragma omp parallel num_threads(s->T)
  {
    int t = omp_get_thread_num(), T = omp_get_num_threads();
    size_t lo, hi;
    own_range(n, T, t, &lo, &hi);
    sample_rows(s, rs, lo, hi);
#pragma omp barrier
    /* sampled new neighbours become old: they are joined this round. An
     * entry was sampled iff its key is within the row's candidate heap
     * (not full, or not above its root). */
    for (size_t i = lo; i < hi; i++) {
      const uint64_t *r = s->cn + i * w;
      for (size_t e = i * k; e < (i + 1) * k; e++) {
        if (s->flag[e] == FLAG_OLD || s->idx[e] == EMPTY) continue;
        if (r[0] < m || ckey(rs, (int32_t)i, s->idx[e], s->idx[e]) <= r[1])
          s->flag[e] = FLAG_OLD;
      }
    }
  }
}

/* ---- the local join ---- */

/* A candidate pair: buffered for each row whose list it would enter and
 * does not hold yet. Most pairs that beat a row's k-th are already in its
 * list (98% at k = 90 on Fashion-MNIST): the check is made here, where the
 * join's rows' lists are in cache (each row is paired with up to 2 x
 * max_candidates others in a row's join), rather than when the update is
 * applied. The lists are not written during the join, so this is the state
 * before the block, whichever thread looks. */
static inline __attribute__((always_inline)) void pair(nnd *s, update *b, size_t *nb, int32_t p, int32_t q) {
  float d = dist(s->x, p, q);
  size_t k = s->k;
  const int32_t *ip = s->idx + (size_t)p * k, *iq = s->idx + (size_t)q * k;
  /* a full buffer counts on without writing: the block is then redone */
  if (worse(s->d[(size_t)p * k], ip[0], d, q) && !contains(ip, k, q)) {
    if (*nb < s->cap) b[*nb] = (update){p, q, d};
    (*nb)++;
  }
  if (worse(s->d[(size_t)q * k], iq[0], d, p) && !contains(iq, k, p)) {
    if (*nb < s->cap) b[*nb] = (update){q, p, d};
    (*nb)++;
  }
}

static size_t row_pairs(const nnd *s, size_t u) {
  size_t nn = (size_t)s->cn[u * (s->m + 1)], no = (size_t)s->co[u * (s->m + 1)];
  return 2 * (nn * (nn - (nn > 0)) / 2 + nn * no);
}

EV_CLONES static void join_row(nnd *s, size_t u, update *b, size_t *nb) {
  const uint64_t *cn = s->cn + u * (s->m + 1) + 1, *co = s->co + u * (s->m + 1) + 1;
  int32_t nn = (int32_t)cn[-1], no = (int32_t)co[-1];
  /* the candidates are scattered rows: ask for them before the pairs
   * need them */
  for (int32_t a = 0; a < nn + no; a++)
    fetch_list(s, (uint32_t)(a < nn ? cn[a] : co[a - nn]));
  for (int32_t a = 0; a < nn; a++) {
    int32_t p = (int32_t)(uint32_t)cn[a];
    for (int32_t c = a + 1; c < nn; c++)
      pair(s, b, nb, p, (int32_t)(uint32_t)cn[c]);
    for (int32_t c = 0; c < no; c++) {
      int32_t q = (int32_t)(uint32_t)co[c];
      if (q != p) pair(s, b, nb, p, q);
    }
  }
}

/* One round's joins, block by block; returns the status of progress.
 *
 * A block's pairs are filtered against the lists as they were before it,
 * so its updates, and their number, are a function of the data alone. A
 * block of rows whose pairs could all write updates fits any thread's
 * buffer, but with the membership check about 1 % of the pairs do (k = 90,
 * Fashion-MNIST), so such blocks were small: about 40 a round, each ending
 * in two barriers, where a thread whose partner the shared machine had
 * descheduled spun. The next block is sized from the updates per row of
 * the last one, for half a buffer; a block whose updates overflow a buffer
 * (their total is above one buffer: only then can a thread's share be) is
 * redone at the size that always fits. The sizes are functions of the data
 * only, so the lists stay the same on any thread count. */
static ev_status join_all(nnd *s, const ev__nnd_params *pr, size_t *done,
                          size_t total) {
  size_t n = s->n;
  ev_status st = EV_OK;
  size_t u0 = 0;
  double per_row = -1; /* updates per row of the last block; -1: none yet */
  while (u0 < n && st == EV_OK) {
    /* the block that always fits: as many rows as fit one buffer if every
     * pair wrote two updates */
    size_t safe = u0, need = 0;
    while (safe < n && need + row_pairs(s, safe) <= s->cap) need += row_pairs(s, safe++);
    if (safe == u0) safe = u0 + 1; /* cannot happen: cap >= row_max */
    size_t u1 = safe;
    if (per_row >= 0) {
      double rows = ev__test_nnd_block_fill * (double)s->cap /
                    (per_row > 1e-3 ? per_row : 1e-3);
      if (rows > (double)(n - u0)) u1 = n;
      else if ((size_t)rows > u1 - u0) u1 = u0 + (size_t)rows;
    }
    size_t sum = 0;
    for (int again = 1; again;) {
      int T = s->T;
#pragma omp parallel num_threads(T)
      {
        int t = omp_get_thread_num(), TT = omp_get_num_threads();
        update *b = s->buf + (size_t)t * s->cap;
        size_t nb = 0;
#pragma omp for schedule(dynamic, 16)
        for (size_t u = u0; u < u1; u++) join_row(s, u, b, &nb);
        s->nbuf[(size_t)t * 8] = nb;
        for (int o = TT; o < T && t == 0; o++) s->nbuf[(size_t)o * 8] = 0;
#pragma omp barrier
        size_t all = 0;
        for (int o = 0; o < TT; o++) all += s->nbuf[(size_t)o * 8];
        size_t lo, hi;
        own_range(n, TT, t, &lo, &hi);
        for (int o = 0; all <= s->cap && o < TT; o++) {
          const update *ob = s->buf + (size_t)o * s->cap;
          size_t on = s->nbuf[(size_t)o * 8];
          for (size_t e = 0; e < on; e++)
            if ((size_t)ob[e].row >= lo && (size_t)ob[e].row < hi) {
              offer(s, ob[e].row, ob[e].cand, ob[e].d, FLAG_FRESH);
            }
        }
      }
      sum = 0;
      for (int o = 0; o < T; o++) sum += s->nbuf[(size_t)o * 8];
      again = sum > s->cap; /* nothing applied: redo it smaller */
      if (again) {
        u1 = safe;
        __atomic_fetch_add(&ev__test_nnd_redone_blocks, 1, __ATOMIC_RELAXED);
      }
    }
    per_row = (double)sum / (double)(u1 - u0);
    *done += u1 - u0;
    u0 = u1;
    if (pr->progress)
      st = ev__progress(pr->progress, pr->progress_user, EV_STAGE_KNN, *done,
                        total, NAN);
  }
  return st;
}

/* Entries that entered this round, now marked new for the next. */
static size_t settle(nnd *s) {
  size_t changed = 0, nk = s->n * s->k;
#pragma omp parallel for schedule(static) reduction(+ : changed) num_threads(s->T)
  for (size_t e = 0; e < nk; e++)
    if (s->flag[e] == FLAG_FRESH) {
      s->flag[e] = FLAG_NEW;
      changed++;
    }
  return changed;
}

/* ---- the run ---- */

static void nnd_free(nnd *s) {
  ev__free(s->flag);
  ev__free(s->cn);
  ev__free(s->co);
  ev__free(s->fill);
  ev__free(s->buf);
  ev__free(s->nbuf);
}

static ev_status nnd_alloc(nnd *s, size_t n, size_t k, size_t m) {
  size_t nm, bytes;
  if (!ev__mul(n, m, &nm) ||
      ev__bytes("the NN-descent candidates", nm, 2 * (4 + 4), 1, &bytes))
    return ev__fail(EV_ERR_OVERFLOW, "NN-descent's candidate lists (%zu rows "
                    "x %zu) do not fit in memory: lower "
                    "EV_KNN_MAX_CANDIDATES", n, m);
  s->flag = ev__malloc(n * k);
  s->cn = ev__malloc((nm + n) * 8);
  s->co = ev__malloc((nm + n) * 8);
  s->fill = ev__calloc(n, sizeof *s->fill);
  size_t row_max = 2 * (m * (m - 1) / 2 + m * m); /* row_pairs' most */
  s->cap = ev__test_nnd_block_updates > row_max ? ev__test_nnd_block_updates
                                                 : row_max;
  s->buf = ev__malloc((size_t)s->T * s->cap * sizeof *s->buf);
  s->nbuf = ev__calloc((size_t)s->T * 8, sizeof *s->nbuf);
  if (!s->flag || !s->cn || !s->co || !s->fill ||
      !s->buf || !s->nbuf) {
    nnd_free(s);
    return ev__nomem("NN-descent's lists", bytes + n * (k + 12) +
                     (size_t)s->T * s->cap * sizeof *s->buf);
  }
  return EV_OK;
}

static int default_iters(size_t n) {
  int it = (int)lround(log2((double)n));
  return it < 5 ? 5 : it;
}

/* Sort each row by (distance, index): heapsort of its max-heap. */
static void sort_rows(nnd *s) {
  size_t k = s->k;
#pragma omp parallel for schedule(static) num_threads(s->T)
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
                                : (k < 20 ? k : 20);
  nnd s;
  memset(&s, 0, sizeof s);
  s.x = x;
  s.n = n;
  s.k = k;
  s.m = m;
  s.T = pr->threads > 0 ? pr->threads : 1;
  s.d = d;
  s.idx = idx;
  ev_status st = nnd_alloc(&s, n, k, m);
  if (st != EV_OK) return st;
  int iters = pr->n_iters ? pr->n_iters : default_iters(n);
  size_t total = (size_t)(iters + 1) * n, done = 0;
  for (size_t e = 0; e < n * k; e++) {
    d[e] = INFINITY;
    idx[e] = EMPTY;
  }
  st = forest(&s, pr, total);

  if (st == EV_OK) {
#pragma omp parallel for schedule(dynamic, 256) num_threads(s.T)
    for (size_t i = 0; i < n; i++) init_row(&s, (int32_t)i, pr);
    done = n;
    if (pr->progress)
      st = ev__progress(pr->progress, pr->progress_user, EV_STAGE_KNN, done,
                        total, NAN);
  }
  for (int round = 0; round < iters && st == EV_OK; round++) {
    make_candidates(&s, pr->seed, round);
    st = join_all(&s, pr, &done, total);
    if (st != EV_OK) break;
    size_t changed = settle(&s);
    if ((double)changed < pr->delta * (double)n * (double)k) break;
  }
  if (st == EV_OK && !pr->unsorted) sort_rows(&s);
  nnd_free(&s);
  return st;
}
