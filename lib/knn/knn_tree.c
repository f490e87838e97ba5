/* Exact k nearest neighbours of low-dimensional rows through a k-d tree.
 *
 * Maps have 2 or 3 columns, and the map measures, the report and the
 * label checks ask for the neighbours of every map point: an exhaustive
 * scan costs n^2 distances (4.9e9 at 70,000 points) where a k-d tree
 * visits a few leaves per query. The tree is built for each search (n log
 * n, about n / 4 nodes of 36 bytes, n row numbers and the rows packed in
 * tree order), so the index keeps
 * nothing new and the result is the exhaustive scan's exactly:
 *
 *  - distances are the same exact double values (ev__knn_exact), and the
 *    k-heap keeps the k best by (distance, index), as the scan does;
 *  - a node is skipped only when the squared gap between the query and its
 *    bounding box is above the current k-th distance. The gap per column is
 *    |q - edge| with the edge one of the node's own coordinates, so each
 *    term is at most that column's term for any row inside, and sums of
 *    non-negative doubles in the same column order are monotone: the box
 *    bound never exceeds a row's computed distance by more than the
 *    roundings (a few units in the last place), and it is shrunk by 1e-12
 *    before it prunes. A row at exactly the k-th distance with a lower
 *    index is therefore never pruned.
 *
 * Queries run in parallel, in blocks, with progress and cancellation as the
 * scan's (knn_search.c). */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "knn_private.h"
#include "knn_tree.h"

enum { LEAF = 12, QBLOCK = 256, MAXD = EV__KNN_TREE_MAX_DIM };
/* The box bound is shrunk by this factor before it prunes: the exact
 * kernel may fuse its multiply-adds (its AVX2 clone), rounding each column
 * once where box_gap rounds twice; the difference is a few units in the
 * last place, far inside 1e-12. */
#define PRUNE (1.0 - 1e-12)

typedef struct node {
  float lo[MAXD], hi[MAXD];
  uint32_t begin, end;   /* rows perm[begin .. end) */
  int32_t left, right;   /* children, -1 at a leaf */
} node;

typedef struct tree {
  const float *ref;
  size_t dim;
  float *pts;            /* the rows in perm order, packed: leaves are
                            read from contiguous memory */
  int64_t *perm;
  node *nodes;
  size_t count, cap;
} tree;

static float coord(const tree *t, int64_t r, size_t j) {
  return t->ref[(size_t)r * t->dim + j];
}

/* Rows perm[a .. b) reordered so that perm[m] holds the row of rank m by
 * column j (ties by row number) and the rows before it are not after it. */
static void select_nth(const tree *t, size_t a, size_t b, size_t m, size_t j) {
  int64_t *p = t->perm;
  while (b - a > 1) {
    /* median of three as the pivot, kept at a */
    size_t mid = a + (b - a) / 2;
    int64_t x = p[a], y = p[mid], z = p[b - 1];
    float fx = coord(t, x, j), fy = coord(t, y, j), fz = coord(t, z, j);
    size_t pick = (fx < fy) == (fy < fz) ? mid : (fy < fx) == (fx < fz) ? a : b - 1;
    int64_t tmp = p[a];
    p[a] = p[pick];
    p[pick] = tmp;
    float pv = coord(t, p[a], j);
    int64_t pi = p[a];
    size_t lt = a + 1;
    for (size_t i = a + 1; i < b; i++) {
      float v = coord(t, p[i], j);
      if (v < pv || (v == pv && p[i] < pi)) {
        tmp = p[lt];
        p[lt] = p[i];
        p[i] = tmp;
        lt++;
      }
    }
    lt--;
    tmp = p[a];
    p[a] = p[lt];
    p[lt] = tmp;
    if (lt == m) return;
    if (m < lt) b = lt;
    else a = lt + 1;
  }
}

/* Node over perm[a .. b), its box, and its children; returns its number. */
static int32_t build(tree *t, size_t a, size_t b) {
  int32_t id = (int32_t)t->count++;
  node *nd = &t->nodes[id];
  nd->begin = (uint32_t)a;
  nd->end = (uint32_t)b;
  nd->left = nd->right = -1;
  for (size_t j = 0; j < t->dim; j++) {
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = a; i < b; i++) {
      float v = coord(t, t->perm[i], j);
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
    nd->lo[j] = lo;
    nd->hi[j] = hi;
  }
  if (b - a <= LEAF) return id;
  size_t split = 0;
  float widest = -1;
  for (size_t j = 0; j < t->dim; j++)
    if (nd->hi[j] - nd->lo[j] > widest) {
      widest = nd->hi[j] - nd->lo[j];
      split = j;
    }
  if (!(widest > 0)) return id; /* every row the same point: one leaf */
  size_t m = a + (b - a) / 2;
  select_nth(t, a, b, m, split);
  int32_t l = build(t, a, m);
  int32_t r = build(t, m, b);
  t->nodes[id].left = l; /* t->nodes does not move: sized in advance */
  t->nodes[id].right = r;
  return id;
}

/* Squared gap from q to the box, summed in column order from 0.0. */
static double box_gap(const node *nd, const float *q, size_t dim) {
  double s = 0;
  for (size_t j = 0; j < dim; j++) {
    double g = 0;
    if (q[j] < nd->lo[j]) g = (double)nd->lo[j] - q[j];
    else if (q[j] > nd->hi[j]) g = (double)q[j] - nd->hi[j];
    s += g * g;
  }
  return s;
}

static void search_one(const tree *t, const ev__knn_job *job, const float *q,
                       int64_t self, ev__topk *h, int32_t *stack) {
  const ev_knn *ix = job->index;
  size_t top = 0;
  stack[top++] = 0;
  while (top > 0) {
    const node *nd = &t->nodes[stack[--top]];
    if (h->size == h->k && box_gap(nd, q, t->dim) * PRUNE > h->d[0]) continue;
    if (nd->left < 0) {
      for (uint32_t i = nd->begin; i < nd->end; i++) {
        int64_t r = t->perm[i];
        if (r == self) continue;
        double d = ev__knn_exact(job->kind, ix->built_p, q,
                                 t->pts + (size_t)i * t->dim, t->dim, 0, 0);
        if (ev__topk_admits(h, d, r)) ev__topk_push(h, d, r);
      }
      continue;
    }
    /* the nearer child last on the stack: visited first */
    const node *l = &t->nodes[nd->left], *r = &t->nodes[nd->right];
    double gl = box_gap(l, q, t->dim), gr = box_gap(r, q, t->dim);
    if (gl <= gr) {
      stack[top++] = nd->right;
      stack[top++] = nd->left;
    } else {
      stack[top++] = nd->left;
      stack[top++] = nd->right;
    }
  }
}

int ev__knn_tree_applies(const ev__knn_job *job) {
  const ev_knn *ix = job->index;
  return (job->kind == EV__KNN_L2 || job->kind == EV__KNN_L2_DIRECT) &&
         ix->dim >= 1 && ix->dim <= EV__KNN_TREE_MAX_DIM && ix->n > 0 &&
         ix->n < (size_t)UINT32_MAX && job->k > 0;
}

ev_status ev__knn_tree_search(const ev__knn_job *job, int64_t *indices,
                              size_t ldi, float *distances, size_t ldd) {
  const ev_knn *ix = job->index;
  size_t n = ix->n, k = job->k;
  size_t cap = 2 * (n / (LEAF / 2) + 1) + 1; /* leaves hold >= LEAF/2 rows */
  size_t depth = 2 * 64 + 2;                 /* stack: 2 per level */
  int T = ev__resolve_threads(ix->threads);
  size_t nblocks = (job->nq + QBLOCK - 1) / QBLOCK;
  if ((size_t)T > nblocks) T = nblocks > 0 ? (int)nblocks : 1;
  size_t bytes_perm, bytes_nodes, bytes_heap;
  if (ev__bytes("the k-d tree", n, 1, sizeof(int64_t), &bytes_perm) != EV_OK ||
      ev__bytes("the k-d tree", cap, 1, sizeof(node), &bytes_nodes) != EV_OK ||
      ev__bytes("the neighbour lists", (size_t)T, k,
                sizeof(double) + sizeof(int64_t), &bytes_heap) != EV_OK)
    return EV_ERR_OVERFLOW;
  tree t = {ix->ref, ix->dim, ev__malloc(n * ix->dim * sizeof(float)),
            ev__malloc(bytes_perm), ev__malloc(bytes_nodes), 0, cap};
  double *hd = ev__malloc((size_t)T * k * sizeof(double));
  int64_t *hi = ev__malloc((size_t)T * k * sizeof(int64_t));
  int32_t *stacks = ev__malloc((size_t)T * depth * sizeof(int32_t));
  ev_status st = EV_OK;
  if (!t.pts || !t.perm || !t.nodes || !hd || !hi || !stacks) {
    st = ev__nomem("the k-d tree", bytes_perm + bytes_nodes + bytes_heap);
    goto done;
  }
  for (size_t i = 0; i < n; i++) t.perm[i] = (int64_t)i;
  build(&t, 0, n);
  for (size_t i = 0; i < n; i++)
    memcpy(t.pts + i * t.dim, t.ref + (size_t)t.perm[i] * t.dim,
           t.dim * sizeof(float));

  int cancelled = 0;
  size_t done_rows = 0;
#pragma omp parallel num_threads(T)
  {
    int w = omp_get_thread_num();
    ev__topk h = {hd + (size_t)w * k, hi + (size_t)w * k, 0, k};
    int32_t *stack = stacks + (size_t)w * depth;
#pragma omp for schedule(dynamic, 1)
    for (size_t b = 0; b < nblocks; b++) {
      int stop;
#pragma omp atomic read
      stop = cancelled;
      if (stop) continue;
      size_t q0 = b * QBLOCK, q1 = q0 + QBLOCK < job->nq ? q0 + QBLOCK : job->nq;
      for (size_t at = q0; at < q1; at++) {
        /* self queries in tree order: neighbouring queries walk the same
         * nodes and leaves, which stay in cache */
        size_t qi = job->self ? (size_t)t.perm[at] : at;
        ev__topk_reset(&h);
        search_one(&t, job, job->q + qi * job->ldq,
                   job->self ? (int64_t)qi : -1, &h, stack);
        ev__knn_write_row(ix, &h, indices + qi * ldi,
                          distances ? distances + qi * ldd : NULL);
      }
      size_t now;
#pragma omp atomic capture
      now = done_rows += q1 - q0;
      if (w == 0 && ix->progress &&
          ev__progress(ix->progress, ix->progress_user, EV_STAGE_KNN, now,
                       job->nq, NAN) != EV_OK) {
#pragma omp atomic write
        cancelled = 1;
      }
    }
  }
  if (cancelled) st = EV_ERR_CANCELLED; /* message set by the callback */
  else if (ix->progress)
    st = ev__progress(ix->progress, ix->progress_user, EV_STAGE_KNN, job->nq,
                      job->nq, NAN);
done:
  ev__free(t.pts);
  ev__free(t.perm);
  ev__free(t.nodes);
  ev__free(hd);
  ev__free(hi);
  ev__free(stacks);
  return st;
}
