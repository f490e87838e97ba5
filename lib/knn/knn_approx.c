/* The approximate method: the search graph made at build time, the greedy
 * graph search for new rows, and the all-points graph for self queries.
 *
 * The search graph joins each row's EV_KNN_GRAPH_DEGREE NN-descent
 * neighbours with up to as many reverse neighbours (the nearest rows that
 * list it), as pynndescent's search graph keeps both directions so that
 * every row can be reached. A query starts from a fixed sample of about
 * sqrt(n) pivot rows (one level of hierarchy, like HNSW's upper layers
 * collapsed into one) and walks the graph best-first, keeping the ef best
 * rows seen (Malkov & Yashunin's search at layer 0, pynndescent's query
 * with a fixed candidate list instead of its epsilon). Every distance is
 * the exact double-precision one of ev__knn_exact, so the neighbours found
 * come out exactly as the exact index reports them. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "core/testhook.h"
#include "knn_approx.h"

#define QUERY_CHUNK 1024 /* queries per progress report and cancel check */

void ev__knn_graph_free(ev__knn_graph *g) {
  if (!g) return;
  ev__free(g->start);
  ev__free(g->adj);
  ev__free(g->pivots);
  ev__free(g);
}

/* ---- the search graph ---- */

typedef struct edge {
  float d;
  int32_t i;
} edge;

static int edge_cmp(const void *a, const void *b) {
  const edge *x = a, *y = b;
  if (x->d != y->d) return x->d < y->d ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

static float rank_dist(const ev__knn_data *x, int32_t a, int32_t b) {
  const float *ya = x->ref + (size_t)a * x->dim, *yb = x->ref + (size_t)b * x->dim;
  if (x->kind == EV__KNN_L2 || x->kind == EV__KNN_L2_DIRECT)
    return ev__knn_sq_l2f(ya, yb, x->dim);
  return (float)ev__knn_exact(x->kind, x->p, ya, yb, x->dim, x->norm[a],
                              x->norm[b]);
}

/* The NN-descent lists plus the nearest reverse edges (at most K per row),
 * deduplicated. Pruning the lists as HNSW's heuristic does (drop j when a
 * kept, nearer neighbour is nearer to j) made queries 30% faster on
 * Fashion-MNIST but cost recall on uniform 20-D data (0.93 against 0.99 at
 * k = 10, tests/test_knn_approx.c): not kept. */
static ev_status link_graph(ev__knn_graph *g, const ev__knn_data *x,
                            const int32_t *fi, const float *fd) {
  size_t n = g->n, K = g->degree, nk = n * K;
  size_t *rs = ev__calloc(n + 1, sizeof *rs);
  edge *rev = ev__malloc(nk * sizeof *rev);
  int32_t *keep = ev__malloc(nk * sizeof *keep), *nkeep = ev__malloc(n * 4);
  g->start = ev__malloc((n + 1) * sizeof *g->start);
  g->adj = ev__malloc(2 * nk * sizeof *g->adj);
  if (!rs || !rev || !keep || !nkeep || !g->start || !g->adj) {
    ev__free(rs);
    ev__free(rev);
    ev__free(keep);
    ev__free(nkeep);
    return ev__nomem("the search graph", nk * 24);
  }
  memcpy(keep, fi, nk * sizeof *keep);
  for (size_t i = 0; i < n; i++) nkeep[i] = (int32_t)K;
  for (size_t i = 0; i < n; i++)
    for (int32_t t = 0; t < nkeep[i]; t++) rs[keep[i * K + t] + 1]++;
  for (size_t i = 0; i < n; i++) rs[i + 1] += rs[i];
  for (size_t i = 0; i < n; i++) /* in row order: deterministic */
    for (int32_t t = 0; t < nkeep[i]; t++) {
      size_t j = (size_t)keep[i * K + t];
      rev[rs[j]++] = (edge){rank_dist(x, (int32_t)i, (int32_t)j), (int32_t)i};
    }
  for (size_t i = n; i > 0; i--) rs[i] = rs[i - 1];
  rs[0] = 0;
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    size_t m = (size_t)nkeep[i];
    g->start[i] = at;
    memcpy(g->adj + at, keep + i * K, m * sizeof *g->adj);
    at += m;
    edge *r = rev + rs[i];
    size_t nr = rs[i + 1] - rs[i], kept = 0;
    qsort(r, nr, sizeof *r, edge_cmp);
    for (size_t t = 0; t < nr && kept < K; t++) {
      int dup = 0;
      for (size_t u = 0; u < m; u++) dup |= keep[i * K + u] == r[t].i;
      if (!dup) g->adj[at + kept++] = r[t].i;
    }
    at += kept;
  }
  g->start[n] = at;
  ev__free(rs);
  ev__free(rev);
  ev__free(keep);
  ev__free(nkeep);
  return EV_OK;
}

/* About sqrt(n) rows by farthest-point traversal from a random row (each
 * next pivot is the row farthest from all pivots so far, ties to the lower
 * index): every well-separated cluster gets one, so a search can start in
 * its query's cluster even where the kNN graph has no edge between
 * clusters. O(n sqrt(n)) distances. */
static ev_status pick_pivots(ev__knn_graph *g, const ev__knn_data *x,
                             uint64_t seed) {
  size_t n = g->n, np = (size_t)ceil(sqrt((double)n));
  if (np > 256) np = 256;
  if (np > n) np = n;
  double *far = ev__malloc(n * sizeof *far);
  g->pivots = ev__malloc(np * sizeof *g->pivots);
  if (!far || !g->pivots) {
    ev__free(far);
    return ev__nomem("the search pivots", n * 8);
  }
  for (size_t i = 0; i < n; i++) far[i] = INFINITY;
  size_t next = ev__hash3(seed, 3, 0, 0) % n;
  for (size_t t = 0; t < np; t++) {
    g->pivots[t] = (int32_t)next;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
      double d = rank_dist(x, (int32_t)i, (int32_t)next);
      if (d < far[i]) far[i] = d;
    }
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
      if (far[i] > far[best]) best = i;
    next = best;
  }
  g->npivots = np;
  ev__free(far);
  return EV_OK;
}

ev_status ev__knn_graph_build(const ev_knn *set, const ev__knn_data *x,
                              ev__knn_graph **out) {
  *out = NULL;
  size_t n = x->n, K = (size_t)set->degree;
  if (K > n - 1) K = n - 1;
  size_t nk;
  if (!ev__mul(n, K, &nk) || nk > PTRDIFF_MAX / 8)
    return ev__fail(EV_ERR_OVERFLOW, "a search graph of %zu rows x %zu "
                    "neighbours does not fit in memory: lower "
                    "EV_KNN_GRAPH_DEGREE", n, K);
  ev__knn_graph *g = ev__calloc(1, sizeof *g);
  int32_t *fi = ev__malloc(nk * sizeof *fi);
  float *fd = ev__malloc(nk * sizeof *fd);
  ev_status st = EV_OK;
  if (!g || !fi || !fd) st = ev__nomem("the search graph", nk * 8);
  if (st == EV_OK) {
    g->n = n;
    g->degree = K;
    ev__nnd_params pr = {K, set->n_iters, set->delta, set->max_candidates,
                         set->seed, set->progress, set->progress_user,
                         ev__resolve_threads(set->threads), 0, 0};
    st = ev__nndescent(x, &pr, fi, fd);
  }
  if (st == EV_OK) st = link_graph(g, x, fi, fd);
  if (st == EV_OK) st = pick_pivots(g, x, set->seed);
  ev__free(fi);
  ev__free(fd);
  if (st != EV_OK) {
    ev__knn_graph_free(g);
    return st;
  }
  *out = g;
  return EV_OK;
}

/* ---- the greedy search ---- */

typedef struct searcher {
  uint32_t *seen, stamp;  /* seen[i] == stamp: visited by this query */
  double *cd;             /* min-heap of rows to expand */
  int32_t *ci;
  size_t cn;
  ev__topk best;          /* the ef best rows found */
  ev__topk fin;           /* the k best of them by exact distance */
} searcher;

static void searcher_free(searcher *s) {
  ev__free(s->seen);
  ev__free(s->cd);
  ev__free(s->ci);
  ev__free(s->best.d);
  ev__free(s->best.i);
  ev__free(s->fin.d);
  ev__free(s->fin.i);
}

static ev_status searcher_alloc(searcher *s, size_t n, size_t ef, size_t k) {
  memset(s, 0, sizeof *s);
  s->seen = ev__calloc(n, sizeof *s->seen);
  s->cd = ev__malloc(n * sizeof *s->cd);
  s->ci = ev__malloc(n * sizeof *s->ci);
  s->best = (ev__topk){ev__malloc(ef * sizeof(double)),
                       ev__malloc(ef * sizeof(int64_t)), 0, ef};
  s->fin = (ev__topk){ev__malloc(k * sizeof(double)),
                      ev__malloc(k * sizeof(int64_t)), 0, k};
  if (!s->seen || !s->cd || !s->ci || !s->best.d || !s->best.i ||
      !s->fin.d || !s->fin.i) {
    searcher_free(s);
    return ev__nomem("the graph search's scratch", n * 16 + ef * 16);
  }
  return EV_OK;
}

static void cand_push(searcher *s, double d, int32_t i) {
  size_t at = s->cn++;
  while (at > 0) {
    size_t up = (at - 1) / 2;
    if (s->cd[up] <= d) break;
    s->cd[at] = s->cd[up];
    s->ci[at] = s->ci[up];
    at = up;
  }
  s->cd[at] = d;
  s->ci[at] = i;
}

static void cand_pop(searcher *s) {
  double d = s->cd[--s->cn];
  int32_t i = s->ci[s->cn];
  size_t at = 0, n = s->cn;
  for (;;) {
    size_t c = 2 * at + 1;
    if (c >= n) break;
    if (c + 1 < n && s->cd[c + 1] < s->cd[c]) c++;
    if (s->cd[c] >= d) break;
    s->cd[at] = s->cd[c];
    s->ci[at] = s->ci[c];
    at = c;
  }
  s->cd[at] = d;
  s->ci[at] = i;
}

/* Squared Euclidean ranks in float on the walk; the rows found are
 * re-ranked exactly at the end (search_one). */
static void visit(searcher *s, const ev_knn *ix, int kind, const float *q,
                  double qn, int32_t r) {
  s->seen[r] = s->stamp;
  const float *y = ix->ref + (size_t)r * ix->dim;
  double d = kind == EV__KNN_L2_DIRECT
                 ? ev__knn_sq_l2f(q, y, ix->dim)
                 : ev__knn_exact(kind, ix->built_p, q, y, ix->dim, qn,
                                 ix->norm[r]);
  if (!ev__topk_admits(&s->best, d, r)) return;
  ev__topk_push(&s->best, d, r);
  cand_push(s, d, r);
}

static void search_one(searcher *s, const ev_knn *ix, const float *q) {
  const ev__knn_graph *g = ix->graph;
  int kind = ev__knn_direct_kind(ix->built_metric, ix->built_p);
  double qn = ev__knn_norm(q, ix->dim);
  if (++s->stamp == 0) { /* wrapped: forget every mark */
    memset(s->seen, 0, g->n * sizeof *s->seen);
    s->stamp = 1;
  }
  ev__topk_reset(&s->best);
  s->cn = 0;
  for (size_t t = 0; t < g->npivots; t++) visit(s, ix, kind, q, qn, g->pivots[t]);
  while (s->cn > 0) {
    double d = s->cd[0];
    int32_t c = s->ci[0];
    if (s->best.size == s->best.k && d > s->best.d[0]) break;
    cand_pop(s);
    for (size_t e = g->start[c]; e < g->start[c + 1]; e++)
      if (s->seen[g->adj[e]] != s->stamp) visit(s, ix, kind, q, qn, g->adj[e]);
  }
  ev__topk_reset(&s->fin); /* exact distances for what was found */
  for (size_t t = 0; t < s->best.size; t++)
    ev__topk_push(&s->fin,
                  kind == EV__KNN_L2_DIRECT
                      ? ev__knn_exact(kind, 0, q,
                                      ix->ref + (size_t)s->best.i[t] * ix->dim,
                                      ix->dim, qn, 0)
                      : s->best.d[t],
                  s->best.i[t]);
  ev__topk_sort(&s->fin);
}

static size_t ef_for(const ev_knn *ix, size_t k) {
  size_t ef = ix->search_ef ? (size_t)ix->search_ef
                            : (k + 16 > 2 * k ? k + 16 : 2 * k);
  if (ef < k) ef = k;
  if (ef > ix->n) ef = ix->n;
  return ef;
}

/* The search graph, made by the first query that needs it: a self query
 * does not, so the all-points graph pays for one NN-descent only. The
 * lock makes concurrent first queries build it once; a failed or cancelled
 * build leaves none, and the next query tries again. */
static ev_status search_graph(const ev_knn *ix) {
  ev_knn *m = (ev_knn *)ix; /* the graph is a cache of the reference */
  ev_status st = EV_OK;
  pthread_mutex_lock(&m->graph_lock);
  if (!m->graph) {
    ev__knn_data x = {ix->ref, ix->norm, ix->n, ix->dim,
                      ev__knn_direct_kind(ix->built_metric, ix->built_p),
                      ix->built_p};
    st = ev__knn_graph_build(ix, &x, &m->graph);
  }
  pthread_mutex_unlock(&m->graph_lock);
  return st;
}

ev_status ev__knn_approx_query(const ev_knn *ix, const float *q, size_t nq,
                               size_t ldq, size_t k, int64_t *indices,
                               size_t ldi, float *distances, size_t ldd) {
  ev_status st = search_graph(ix);
  if (st != EV_OK) return st;
  size_t ef = ef_for(ix, k);
  int T = ev__resolve_threads(ix->threads);
  if ((size_t)T > nq) T = (int)nq;
  searcher *w = ev__calloc((size_t)T, sizeof *w);
  if (!w) return ev__nomem("the search workers", (size_t)T * sizeof *w);
  int made = 0;
  for (; made < T && st == EV_OK; made++)
    st = searcher_alloc(&w[made], ix->n, ef, k);
  if (st != EV_OK) made--;
  for (size_t c0 = 0; c0 < nq && st == EV_OK; c0 += QUERY_CHUNK) {
    size_t c1 = c0 + QUERY_CHUNK < nq ? c0 + QUERY_CHUNK : nq;
#pragma omp parallel for schedule(dynamic, 8) num_threads(T)
    for (size_t i = c0; i < c1; i++) {
      searcher *s = &w[omp_get_thread_num()];
      search_one(s, ix, q + i * ldq);
      for (size_t j = 0; j < k; j++) {
        indices[i * ldi + j] = s->fin.i[j];
        if (distances)
          distances[i * ldd + j] =
              ev__knn_report(ix->built_metric, ix->built_p, s->fin.d[j]);
      }
    }
    if (ix->progress)
      st = ev__progress(ix->progress, ix->progress_user, EV_STAGE_KNN, c1, nq,
                        NAN);
  }
  for (int t = 0; t < made; t++) searcher_free(&w[t]);
  ev__free(w);
  return st;
}

/* ---- the all-points graph ---- */

#define WRITE_AHEAD 8

/* Exact distances for a row's m found neighbours; the k nearest (k =
 * h->k <= m), sorted as the exact index reports them. Row i and its
 * neighbours nb are rows of x; perm, when given, maps them to the caller's
 * rows (row i of x is the caller's perm[i]). */
static void write_row(const ev_knn *ix, const ev__knn_data *x,
                      const int32_t *perm, size_t i, const int32_t *nb,
                      size_t m, ev__topk *h, int64_t *indices, size_t ldi,
                      float *distances, size_t ldd) {
  size_t dim = x->dim;
  const float *xi = x->ref + i * dim;
  size_t k = h->k, out = perm ? (size_t)perm[i] : i;
  ev__topk_reset(h);
  /* the neighbours' rows are scattered: fetch WRITE_AHEAD rows ahead (at
   * 1,000,000 x 50 and k = 90 the loop waited for memory: 14.7 s of 211) */
  for (size_t t = 0; t < m && t < WRITE_AHEAD; t++) ev__prefetch_row(x, (size_t)nb[t]);
  for (size_t t = 0; t < m; t++) {
    if (t + WRITE_AHEAD < m) ev__prefetch_row(x, (size_t)nb[t + WRITE_AHEAD]);
    double d = ev__knn_exact(x->kind, x->p, xi, x->ref + (size_t)nb[t] * dim,
                             dim, x->norm[i], x->norm[nb[t]]);
    int64_t j = perm ? perm[nb[t]] : nb[t];
    if (ev__topk_admits(h, d, j)) ev__topk_push(h, d, j);
  }
  ev__topk_sort(h);
  for (size_t t = 0; t < k; t++) {
    indices[out * ldi + t] = h->i[t];
    if (distances)
      distances[out * ldd + t] = ev__knn_report(ix->built_metric,
                                                ix->built_p, h->d[t]);
  }
}

/* From this many rows (ev__test_knn_reorder_rows, lowered by tests) the
 * self query works on a copy of the rows in the leaf order of one
 * random-projection tree, so that rows near in space are near in memory:
 * NN-descent's lists, candidate heaps and rows are then read from nearby
 * lines more often than from anywhere in a gigabyte. At 1,000,000 x 50, k =
 * 90 (the rows stored copy-major: each row's nearest are 70,000 rows
 * apart), 194.8 s against 210.9 s run back to back on 2 threads, for the
 * copy's 200 MB; the lists are as good (recall 0.9963 both). Below it the
 * lists fit the caches well enough that the copy does not pay. */
size_t ev__test_knn_reorder_rows = 131072;
size_t ev__test_knn_reordered;
#define REORDER_LEAF 64

/* perm (n): the caller's rows in the leaf order of one tree; xr, nr: the
 * rows and norms in that order. */
static ev_status reorder(const ev_knn *ix, const ev__knn_data *x, int T,
                         int32_t **perm, float **xr, double **nr) {
  size_t n = x->n, dim = x->dim, nleaves;
  *perm = ev__malloc(n * sizeof **perm);
  uint32_t *leaf = ev__malloc((n + 1) * sizeof *leaf);
  float *normal = ev__malloc(dim * sizeof *normal);
  *xr = ev__malloc(n * dim * sizeof **xr);
  *nr = ev__malloc(n * sizeof **nr);
  if (!*perm || !leaf || !normal || !*xr || !*nr) {
    ev__free(leaf), ev__free(normal);
    return ev__nomem("the self query's reordered rows",
                     n * (dim * 4 + 20));
  }
  ev__rptree_build(x, REORDER_LEAF, ix->seed ^ 0x0de2ull, 0, *perm, leaf,
                   &nleaves, normal);
  ev__free(leaf);
  ev__free(normal);
  const int32_t *p = *perm;
  float *r = *xr;
  double *q = *nr;
#pragma omp parallel for schedule(static) num_threads(T)
  for (size_t i = 0; i < n; i++) {
    memcpy(r + i * dim, x->ref + (size_t)p[i] * dim, dim * sizeof *r);
    q[i] = x->norm[p[i]];
  }
  return EV_OK;
}

ev_status ev__knn_approx_self(const ev_knn *ix, size_t k, int64_t *indices,
                              size_t ldi, float *distances, size_t ldd) {
  /* NN-descent from its own forest (not from the search graph, which a
   * self query never needs) for at least EV_KNN_GRAPH_DEGREE neighbours:
   * short lists converge badly (recall 0.87 for k = 10 on uniform 20-D
   * rows, 0.997 from lists of 24); the k best of them by exact distance
   * are reported. */
  size_t n = ix->n, nk, kk = (size_t)ix->degree > k ? (size_t)ix->degree : k;
  if (kk > n - 1) kk = n - 1;
  if (!ev__mul(n, kk, &nk) || nk > PTRDIFF_MAX / 8)
    return ev__fail(EV_ERR_OVERFLOW, "neighbour lists of %zu x %zu do not "
                    "fit in memory: ask for fewer neighbours", n, k);
  int T = ev__resolve_threads(ix->threads);
  int32_t *nb = ev__malloc(nk * sizeof *nb);
  float *nd = ev__malloc(nk * sizeof *nd);
  ev_status st = nb && nd ? EV_OK : ev__nomem("the neighbour lists", nk * 8);
  ev__knn_data x = {ix->ref, ix->norm, n, ix->dim,
                    ev__knn_direct_kind(ix->built_metric, ix->built_p),
                    ix->built_p};
  int32_t *perm = NULL;
  float *xr = NULL;
  double *nr = NULL;
  if (st == EV_OK && n >= ev__test_knn_reorder_rows &&
      (st = reorder(ix, &x, T, &perm, &xr, &nr)) == EV_OK) {
    x.ref = xr;
    x.norm = nr;
    __atomic_fetch_add(&ev__test_knn_reordered, 1, __ATOMIC_RELAXED);
  }
  ev__nnd_params pr = {kk, ix->n_iters, ix->delta, ix->max_candidates,
                       ix->seed, ix->progress, ix->progress_user, T, 0,
                       1 /* write_row sorts by exact distance */};
  if (st == EV_OK) st = ev__nndescent(&x, &pr, nb, nd);
  size_t bytes = (size_t)T * k * 16;
  double *hd = st == EV_OK ? ev__malloc(bytes / 2) : NULL;
  int64_t *hi = st == EV_OK ? ev__malloc(bytes / 2) : NULL;
  if (st == EV_OK && (!hd || !hi)) st = ev__nomem("the neighbour lists", bytes);
  if (st == EV_OK) {
#pragma omp parallel num_threads(T)
    {
      int t = omp_get_thread_num();
      ev__topk h = {hd + (size_t)t * k, hi + (size_t)t * k, 0, k};
#pragma omp for schedule(static)
      for (size_t i = 0; i < n; i++)
        write_row(ix, &x, perm, i, nb + i * kk, kk, &h, indices, ldi,
                  distances, ldd);
    }
  }
  if (st == EV_OK && ix->progress)
    st = ev__progress(ix->progress, ix->progress_user, EV_STAGE_KNN, n, n, NAN);
  ev__free(hd);
  ev__free(hi);
  ev__free(nb);
  ev__free(nd);
  ev__free(perm);
  ev__free(xr);
  ev__free(nr);
  return st;
}
