/* Barnes-Hut repulsion (van der Maaten 2014) on a tree kept in one array.
 *
 * Each iteration the points are sorted by Morton (z-order) code, so that
 * every cell of the binary tree / quadtree / octree is a contiguous range of
 * the sorted points. The tree is then built in pre-order by splitting
 * ranges on the code bits, collapsing single-child chains (a node's cell is
 * the smallest cell holding its points), and each node stores the index of
 * the node after its subtree: traversal is a stackless forward walk through
 * memory. Points are visited in sorted order, so neighbouring threads'
 * iterations walk nearly the same nodes. A cell is summarised by its centre
 * of mass when width^2 < theta^2 distance^2 and it does not hold the point
 * itself; leaves that are not summarised are summed point by point, so
 * theta = 0 gives the exact sums. */
#include <math.h>
#include <string.h>

#include "tsne/tsne_internal.h"

#define LEAF_POINTS 8

typedef struct bh_node {
  double com[EV__TSNE_BH_MAX_DIMS];
  double width2;  /* squared width of the node's cell */
  uint32_t count; /* points in the cell */
  uint32_t first; /* first point (sorted order) */
  uint32_t next;  /* node after this subtree */
  uint32_t leaf;
} bh_node;

struct ev__bhtree {
  size_t n, dims, n_nodes;
  unsigned bits; /* bits per dimension of the codes */
  double size;   /* width of the root cell */
  uint64_t *code, *code_tmp;
  uint32_t *order, *order_tmp;
  double *pos; /* n x dims in sorted order */
  bh_node *node;
};

ev_status ev__bhtree_create(size_t n, size_t dims, ev__bhtree **out) {
  if (n > UINT32_MAX / 2 || dims < 1 || dims > EV__TSNE_BH_MAX_DIMS)
    return ev__fail(EV_ERR_ARGUMENT,
                    "Barnes-Hut takes up to %u points in 1 to 3 dimensions, "
                    "got %zu points in %zu: use the exact method",
                    UINT32_MAX / 2, n, dims);
  ev__bhtree *t = ev__calloc(1, sizeof *t);
  if (!t) return ev__nomem("Barnes-Hut tree", sizeof *t);
  t->n = n;
  t->dims = dims;
  t->bits = dims == 1 ? 32 : dims == 2 ? 24 : 18;
  t->code = ev__malloc(n * sizeof *t->code);
  t->code_tmp = ev__malloc(n * sizeof *t->code_tmp);
  t->order = ev__malloc(n * sizeof *t->order);
  t->order_tmp = ev__malloc(n * sizeof *t->order_tmp);
  t->pos = ev__malloc(n * dims * sizeof *t->pos);
  t->node = ev__malloc((2 * n + 1) * sizeof *t->node);
  if (!t->code || !t->code_tmp || !t->order || !t->order_tmp || !t->pos ||
      !t->node) {
    ev__bhtree_free(t);
    return ev__nomem("Barnes-Hut tree", n * (40 + dims * 8 + 96));
  }
  *out = t;
  return EV_OK;
}

void ev__bhtree_free(ev__bhtree *t) {
  if (!t) return;
  ev__free(t->code);
  ev__free(t->code_tmp);
  ev__free(t->order);
  ev__free(t->order_tmp);
  ev__free(t->pos);
  ev__free(t->node);
  ev__free(t);
}

/* ---- Morton codes and sort ---- */

/* Spread the bits of x: bit b goes to bit 2b (part1by1) or 3b (part1by2). */
static uint64_t part1by1(uint64_t x) {
  x &= 0xffffffffull;
  x = (x | (x << 16)) & 0x0000ffff0000ffffull;
  x = (x | (x << 8)) & 0x00ff00ff00ff00ffull;
  x = (x | (x << 4)) & 0x0f0f0f0f0f0f0f0full;
  x = (x | (x << 2)) & 0x3333333333333333ull;
  x = (x | (x << 1)) & 0x5555555555555555ull;
  return x;
}

static uint64_t part1by2(uint64_t x) {
  x &= 0x1fffffull;
  x = (x | (x << 32)) & 0x001f00000000ffffull;
  x = (x | (x << 16)) & 0x001f0000ff0000ffull;
  x = (x | (x << 8)) & 0x100f00f00f00f00full;
  x = (x | (x << 4)) & 0x10c30c30c30c30c3ull;
  x = (x | (x << 2)) & 0x1249249249249249ull;
  return x;
}

static uint64_t interleave(const uint32_t *q, size_t dims) {
  if (dims == 1) return q[0];
  if (dims == 2) return part1by1(q[0]) | part1by1(q[1]) << 1;
  return part1by2(q[0]) | part1by2(q[1]) << 1 | part1by2(q[2]) << 2;
}

static void morton_codes(ev__bhtree *t, const double *y) {
  size_t n = t->n, dims = t->dims;
  double lo[EV__TSNE_BH_MAX_DIMS], hi[EV__TSNE_BH_MAX_DIMS];
  for (size_t k = 0; k < dims; k++) lo[k] = hi[k] = y[k];
  for (size_t i = 1; i < n; i++)
    for (size_t k = 0; k < dims; k++) {
      double v = y[i * dims + k];
      lo[k] = v < lo[k] ? v : lo[k];
      hi[k] = v > hi[k] ? v : hi[k];
    }
  double size = 0.0;
  for (size_t k = 0; k < dims; k++)
    size = hi[k] - lo[k] > size ? hi[k] - lo[k] : size;
  double cells = ldexp(1.0, (int)t->bits), maxq = cells - 1.0;
  double scale = size > 0.0 ? cells / size : 0.0;
  t->size = size;
  for (size_t i = 0; i < n; i++) {
    uint32_t q[EV__TSNE_BH_MAX_DIMS];
    for (size_t k = 0; k < dims; k++) {
      double v = (y[i * dims + k] - lo[k]) * scale;
      q[k] = (uint32_t)(v < maxq ? v : maxq);
    }
    t->code[i] = interleave(q, dims);
    t->order[i] = (uint32_t)i;
  }
}

/* LSD radix sort of (code, order) on 8-bit digits: stable, so equal codes
 * keep the index order and the result is deterministic. */
static void radix_sort(ev__bhtree *t) {
  size_t n = t->n;
  unsigned total_bits = t->bits * (unsigned)t->dims;
  for (unsigned shift = 0; shift < total_bits; shift += 8) {
    size_t count[257] = {0};
    for (size_t i = 0; i < n; i++) count[((t->code[i] >> shift) & 255) + 1]++;
    for (int d = 0; d < 256; d++) count[d + 1] += count[d];
    for (size_t i = 0; i < n; i++) {
      size_t at = count[(t->code[i] >> shift) & 255]++;
      t->code_tmp[at] = t->code[i];
      t->order_tmp[at] = t->order[i];
    }
    uint64_t *c = t->code;
    t->code = t->code_tmp, t->code_tmp = c;
    uint32_t *o = t->order;
    t->order = t->order_tmp, t->order_tmp = o;
  }
}

/* ---- building ---- */

/* The level (0 = finest) of the highest bit where codes a and b differ. */
static unsigned split_level(uint64_t a, uint64_t b, size_t dims) {
  return (unsigned)((63 - __builtin_clzll(a ^ b)) / dims);
}

static uint32_t build(ev__bhtree *t, size_t lo, size_t hi) {
  size_t dims = t->dims;
  uint32_t id = (uint32_t)t->n_nodes++;
  bh_node *nd = &t->node[id];
  uint64_t a = t->code[lo], b = t->code[hi - 1];
  unsigned level = a == b ? 0 : split_level(a, b, dims) + 1;
  double width = ldexp(t->size, (int)level - (int)t->bits);
  nd->width2 = width * width;
  nd->count = (uint32_t)(hi - lo);
  nd->first = (uint32_t)lo;
  nd->leaf = hi - lo <= LEAF_POINTS || a == b;
  double com[EV__TSNE_BH_MAX_DIMS] = {0};
  if (nd->leaf) {
    for (size_t s = lo; s < hi; s++)
      for (size_t k = 0; k < dims; k++) com[k] += t->pos[s * dims + k];
  } else {
    unsigned shift = (level - 1) * (unsigned)dims;
    uint64_t mask = ((uint64_t)1 << dims) - 1;
    for (size_t s = lo; s < hi;) {
      uint64_t digit = (t->code[s] >> shift) & mask;
      size_t e = s + 1;
      while (e < hi && ((t->code[e] >> shift) & mask) == digit) e++;
      uint32_t c = build(t, s, e);
      for (size_t k = 0; k < dims; k++)
        com[k] += t->node[c].com[k] * t->node[c].count;
      s = e;
    }
    nd = &t->node[id];
  }
  for (size_t k = 0; k < dims; k++) nd->com[k] = com[k] / (double)(hi - lo);
  nd->next = (uint32_t)t->n_nodes;
  return id;
}

void ev__bhtree_build(ev__bhtree *t, const double *y) {
  morton_codes(t, y);
  radix_sort(t);
  size_t dims = t->dims;
  for (size_t s = 0; s < t->n; s++)
    memcpy(t->pos + s * dims, y + (size_t)t->order[s] * dims,
           dims * sizeof *t->pos);
  t->n_nodes = 0;
  build(t, 0, t->n);
}

/* ---- traversal ---- */

static inline __attribute__((always_inline)) void
repel_point(const ev__bhtree *t, const double *yi, size_t s, double theta2,
            const size_t D, double *f, double *zout) {
  const bh_node *node = t->node;
  double z = 0.0, acc[EV__TSNE_BH_MAX_DIMS] = {0};
  size_t nn = t->n_nodes;
  for (size_t id = 0; id < nn;) {
    const bh_node *nd = &node[id];
    double d[EV__TSNE_BH_MAX_DIMS], d2 = 0.0;
    for (size_t k = 0; k < D; k++) {
      d[k] = yi[k] - nd->com[k];
      d2 += d[k] * d[k];
    }
    int holds_self = s - nd->first < nd->count;
    if (!holds_self && nd->width2 < theta2 * d2) {
      double w = 1.0 / (1.0 + d2), cw = nd->count * w;
      z += cw;
      for (size_t k = 0; k < D; k++) acc[k] += cw * w * d[k];
      id = nd->next;
    } else if (nd->leaf) {
      for (size_t p = nd->first; p < nd->first + nd->count; p++) {
        if (p == s) continue;
        const double *yp = t->pos + p * D;
        double e[EV__TSNE_BH_MAX_DIMS], e2 = 0.0;
        for (size_t k = 0; k < D; k++) {
          e[k] = yi[k] - yp[k];
          e2 += e[k] * e[k];
        }
        double w = 1.0 / (1.0 + e2);
        z += w;
        for (size_t k = 0; k < D; k++) acc[k] += w * w * e[k];
      }
      id = nd->next;
    } else {
      id++;
    }
  }
  for (size_t k = 0; k < D; k++) f[k] = acc[k];
  *zout = z;
}

/* A work-sharing loop: called inside a parallel region it shares the
 * points among the threads (no barrier at the end), else it runs alone. */
void ev__bhtree_repulsion(const ev__bhtree *t, double theta, double *rep,
                          double *z) {
  size_t n = t->n, dims = t->dims;
  double theta2 = theta * theta;
#pragma omp for schedule(dynamic, 128) nowait
  for (size_t s = 0; s < n; s++) {
    size_t i = t->order[s];
    const double *yi = t->pos + s * dims;
    if (dims == 2) repel_point(t, yi, s, theta2, 2, rep + i * 2, z + i);
    else if (dims == 3) repel_point(t, yi, s, theta2, 3, rep + i * 3, z + i);
    else repel_point(t, yi, s, theta2, 1, rep + i, z + i);
  }
}

/* s = SIZE_MAX: no node holds the point, no leaf point is skipped. */
void ev__bhtree_repel_one(const ev__bhtree *t, double theta, const double *yi,
                          double *rep, double *z) {
  double theta2 = theta * theta;
  if (t->dims == 2) repel_point(t, yi, SIZE_MAX, theta2, 2, rep, z);
  else if (t->dims == 3) repel_point(t, yi, SIZE_MAX, theta2, 3, rep, z);
  else repel_point(t, yi, SIZE_MAX, theta2, 1, rep, z);
}
