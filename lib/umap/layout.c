/* UMAP's SGD (umap-learn's optimize_layout_euclidean) made reproducible
 * for any thread count: every point moves against the positions the
 * others had at the start of the epoch (a copy), each point's edges are
 * processed in CSR order by one thread, and every negative sample is a
 * hash of (seed, epoch, edge, sample).
 *
 * Speed (docs/umap.md "SGD"): the map is single precision (as umap-learn's
 * float32 maps); a point's attractions run one by one, in edge order, while
 * its negative samples of the epoch are collected and then applied eight at
 * a time in vector lanes against the point's position after its
 * attractions; d^b is exp2(b log2 d) from short polynomials in float. The
 * AVX2 clone and the default one do the same operations on the same lanes
 * (no FMA: ISO C mode keeps products and sums apart), so they give the
 * same bits. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "umap/umap_internal.h"

#define CLIP 4.0f
#define PROGRESS_EVERY 10
/* Below this many edges an epoch runs on one thread (same result). */
#define PAR_MIN_EDGES 20000
/* Negative samples collected per point, and edge samples per point of a
 * group of 8, before they are applied. */
#define NEG_BATCH 512
#define POS_BATCH 128
#define GOLDEN 0x9E3779B97F4A7C15ull

/* pow_v and clip_v return vectors but are always inlined: no ABI crosses. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

/* ---- d^b = exp2(b log2 d) in float, relative error about 3e-7 ---- */

/* log2(1 + t) / t-series: log2 m = 2/ln2 atanh((m - 1)/(m + 1)) for the
 * mantissa m in [sqrt(1/2), sqrt(2)); |t| <= 0.1716, the first omitted
 * term below 5e-8. */
#define L1 2.8853900817779268f /* 2 / ln 2 */
#define L3 0.9617966939259756f /* L1 / 3 */
#define L5 0.5770780163555854f /* L1 / 5 */
#define L7 0.4121985831111324f /* L1 / 7 */
/* 2^f = e^(f ln2) for f in [-1/2, 1/2]: Taylor to the sixth power. */
#define E1 0.6931471805599453f
#define E2 0.2402265069591007f
#define E3 0.0555041086648216f
#define E4 0.0096181291076285f
#define E5 0.0013333558146428f
#define E6 0.0001540353039338f

static inline __attribute__((always_inline)) v8f pow_v(v8f x, float b) {
  const v8f tiny = {FLT_MIN, FLT_MIN, FLT_MIN, FLT_MIN,
                    FLT_MIN, FLT_MIN, FLT_MIN, FLT_MIN};
  x = (v8f)(((v8i)x & (v8i)(x >= tiny)) | ((v8i)tiny & (v8i)(x < tiny)));
  v8i bits = (v8i)x;
  v8i e = ((bits >> 23) & 0xff) - 127;
  v8f m = (v8f)((bits & 0x7fffff) | 0x3f800000);
  v8i big = (v8i)(m > 1.41421356f);
  m = (v8f)(((v8i)(m * 0.5f) & big) | ((v8i)m & ~big));
  e -= big; /* big is -1 where true */
  v8f t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
  v8f l = __builtin_convertvector(e, v8f) +
          t * (L1 + t2 * (L3 + t2 * (L5 + t2 * L7)));
  v8f y = b * l;
  v8i lo = (v8i)(y < -126.0f), hi = (v8i)(y > 126.0f);
  const v8f cl = {-126.0f, -126.0f, -126.0f, -126.0f,
                  -126.0f, -126.0f, -126.0f, -126.0f};
  y = (v8f)(((v8i)y & ~(lo | hi)) | ((v8i)cl & lo) | ((v8i)(-cl) & hi));
  v8i n = __builtin_convertvector(y + 127.5f, v8i) - 127;
  v8f f = (y - __builtin_convertvector(n, v8f)) * 1.0f;
  v8f p = 1.0f + f * (E1 + f * (E2 + f * (E3 + f * (E4 + f * (E5 + f * E6)))));
  return (v8f)((v8i)p + (n << 23));
}

void ev__umap_pow8(const float *x, float b, float *out) {
  v8f v;
  memcpy(&v, x, sizeof v);
  v = pow_v(v, b);
  memcpy(out, &v, sizeof v);
}

static inline __attribute__((always_inline)) v8f clip_v(v8f v) {
  const v8f c = {CLIP, CLIP, CLIP, CLIP, CLIP, CLIP, CLIP, CLIP};
  v8i hi = (v8i)(v > c), lo = (v8i)(v < -c);
  return (v8f)(((v8i)v & ~(hi | lo)) | ((v8i)c & hi) | ((v8i)(-c) & lo));
}

/* ---- the schedule ---- */

/* umap-learn's make_epochs_per_sample samples an edge of weight w every
 * max / w epochs. Here that is a formula rather than a counter per edge
 * (nothing per edge is written during the epochs, and a quarter of the
 * memory is read): with r = w / max, the edge's m-th sample falls in the
 * first epoch ep with floor(ep r) >= m, and that sample draws
 * floor(m rate) - floor((m - 1) rate) negative samples, so rate per
 * positive sample on average, as umap-learn (whose count per sample varies
 * with the epochs since the last one). */
static ev_status rates_init(const ev__umap_graph *g, float **rate) {
  size_t nnz = g->row_ptr[g->n];
  *rate = ev__malloc((nnz ? nnz : 1) * sizeof **rate);
  if (!*rate) return ev__nomem("UMAP edge schedule", nnz * sizeof **rate);
  double mx = 0.0;
  for (size_t e = 0; e < nnz; e++)
    if (g->val[e] > mx) mx = g->val[e];
  for (size_t e = 0; e < nnz; e++)
    (*rate)[e] = g->val[e] > 0.0 ? (float)(g->val[e] / mx) : 0.0f;
  return EV_OK;
}

typedef struct params {
  float a, b, two_ab, two_gb, attract, alpha;
  size_t dims, n_tail;
  uint64_t key, nnz, pairs; /* the negative samples' random stream */
} params;

/* The repulsion of cur from the nb points tail[idx[0..nb)], all against the
 * same cur, eight lanes at a time, summed per coordinate into acc in a
 * fixed order (lane by lane). A coincident point pushes by CLIP per
 * coordinate, as umap-learn. */
static inline __attribute__((always_inline)) void repel_body(const float *cur, const float *tail,
                         const uint32_t *idx, size_t nb, const params *p,
                         float *acc, size_t dims) {
  const v8f zero = {0};
  for (size_t s = 0; s < nb; s += 8) {
    size_t lanes = nb - s < 8 ? nb - s : 8;
    const float *o[8];
    v8i valid;
    for (size_t l = 0; l < 8; l++) {
      o[l] = tail + (size_t)idx[s + (l < lanes ? l : 0)] * dims;
      valid[l] = l < lanes ? -1 : 0;
    }
    v8f d2 = zero, df[EV__UMAP_MAX_DIMS];
    for (size_t c = 0; c < dims; c++) {
      v8f oc = {o[0][c], o[1][c], o[2][c], o[3][c],
                o[4][c], o[5][c], o[6][c], o[7][c]};
      df[c] = cur[c] - oc;
      d2 += df[c] * df[c];
    }
    v8f gc = p->two_gb / ((0.001f + d2) * (p->a * pow_v(d2, p->b) + 1.0f));
    v8i pos = (v8i)(d2 > zero);
    for (size_t c = 0; c < dims; c++) {
      v8f gr = clip_v(gc * df[c]);
      v8i g = ((v8i)gr & pos) | ((v8i)(zero + CLIP) & ~pos);
      gr = (v8f)(g & valid);
      acc[c] += ((gr[0] + gr[1]) + (gr[2] + gr[3])) +
                ((gr[4] + gr[5]) + (gr[6] + gr[7]));
    }
  }
}

EV_CLONES static void repel(const float *cur, const float *tail,
                         const uint32_t *idx, size_t nb, const params *p,
                         float *acc) {
  /* the 2-D map with its loops over coordinates unrolled */
  if (p->dims == 2) repel_body(cur, tail, idx, nb, p, acc, 2);
  else repel_body(cur, tail, idx, nb, p, acc, p->dims);
}

/* The attractions of up to 8 points (head rows i0 + l), point l in lane l
 * taking its cnt[l] samples pos[l][0..cnt[l]) one after the other, as
 * umap-learn (each step from the position the last one left): eight
 * independent chains side by side instead of one. */
static inline __attribute__((always_inline)) void attract_lanes_body(float *head, size_t i0, size_t nl,
                                 const uint32_t (*pos)[POS_BATCH],
                                 const size_t *cnt, const float *tail,
                                 const params *p, float step, size_t dims) {
  size_t maxc = 0;
  const v8f zero = {0};
  v8f cur[EV__UMAP_MAX_DIMS];
  for (size_t c = 0; c < dims; c++) {
    cur[c] = zero;
    for (size_t l = 0; l < nl; l++) cur[c][l] = head[(i0 + l) * dims + c];
  }
  for (size_t l = 0; l < nl; l++)
    if (cnt[l] > maxc) maxc = cnt[l];
  for (size_t t = 0; t < maxc; t++) {
    const float *o[8];
    v8i active;
    for (size_t l = 0; l < 8; l++) {
      int on = l < nl && t < cnt[l];
      o[l] = on ? tail + (size_t)pos[l][t] * dims : tail;
      active[l] = on ? -1 : 0;
    }
    v8f d2 = zero;
    for (size_t c = 0; c < dims; c++) {
      v8f oc = {o[0][c], o[1][c], o[2][c], o[3][c],
                o[4][c], o[5][c], o[6][c], o[7][c]};
      v8f df = cur[c] - oc;
      d2 += df * df;
    }
    v8i use = active & (v8i)(d2 > zero);
    v8f safe = (v8f)(((v8i)d2 & use) | ((v8i)(zero + 1.0f) & ~use));
    v8f pb = pow_v(safe, p->b);
    v8f gc = -p->two_ab * (pb / safe) / (p->a * pb + 1.0f);
    for (size_t c = 0; c < dims; c++) {
      v8f oc = {o[0][c], o[1][c], o[2][c], o[3][c],
                o[4][c], o[5][c], o[6][c], o[7][c]};
      cur[c] += (v8f)((v8i)(clip_v(gc * (cur[c] - oc)) * step) & use);
    }
  }
  for (size_t c = 0; c < dims; c++)
    for (size_t l = 0; l < nl; l++) head[(i0 + l) * dims + c] = cur[c][l];
}

EV_CLONES static void attract_lanes(float *head, size_t i0, size_t nl,
                                 const uint32_t (*pos)[POS_BATCH],
                                 const size_t *cnt, const float *tail,
                                 const params *p, float step) {
  /* the 2-D map with its loops over coordinates unrolled */
  if (p->dims == 2) attract_lanes_body(head, i0, nl, pos, cnt, tail, p, step, 2);
  else attract_lanes_body(head, i0, nl, pos, cnt, tail, p, step, p->dims);
}

/* Repel cur from nb negative samples. */
static void flush_neg(float *cur, const float *tail, const uint32_t *idx,
                      size_t nb, const params *p) {
  float acc[EV__UMAP_MAX_DIMS];
  if (!nb) return;
  for (size_t c = 0; c < p->dims; c++) acc[c] = 0.0f;
  repel(cur, tail, idx, nb, p, acc);
  for (size_t c = 0; c < p->dims; c++) cur[c] += acc[c] * p->alpha;
}

/* The samples of points i0 to i0 + nl - 1 (nl <= 8) in epoch `epoch`:
 * head rows (updated in place) against tail (positions at the start of the
 * epoch). Each point's edges due this epoch attract it one after the other
 * in edge order (attract_lanes), then their negative samples repel it, all
 * computed at its position after the attractions and summed (umap-learn
 * alternates one attraction and its negatives). A point's result does not
 * depend on the other points of the group or on where a full buffer is
 * emptied: its attractions stay in order and each batch of negatives
 * follows the attractions collected before it. */
static void group_epoch(const ev__umap_graph *g, size_t i0, size_t nl,
                        float *head, const float *tail, const float *r_edge,
                        const ev__umap_sgd *o, const params *p, size_t epoch,
                        int self_tail) {
  size_t dims = p->dims;
  double ep = (double)epoch, rate = o->negative_rate;
  uint32_t pos[8][POS_BATCH], neg[8][NEG_BATCH];
  size_t cnt[8] = {0}, nn[8] = {0};
  float step_a = p->attract * p->alpha;
  if (epoch == 0) return; /* no edge is due before epoch 1 */
  for (size_t l = 0; l < nl; l++) {
    size_t i = i0 + l, end = g->row_ptr[i + 1];
    for (size_t e = g->row_ptr[i]; e < end; e++) {
      double r = (double)r_edge[e];
      int64_t m = (int64_t)(ep * r);
      if (m <= (int64_t)((ep - 1.0) * r)) continue;
      uint32_t j = g->col[e];
      __builtin_prefetch(tail + (size_t)j * dims);
      if (cnt[l] == POS_BATCH) {
        attract_lanes(head, i0, nl, pos, cnt, tail, p, step_a);
        memset(cnt, 0, sizeof cnt);
      }
      pos[l][cnt[l]++] = j;
      size_t n_neg = (size_t)((int64_t)((double)m * rate) -
                              (int64_t)((double)(m - 1) * rate));
      /* splitmix64's stream at position ((epoch nnz + e) pairs + k / 2) */
      uint64_t h = p->key + ((uint64_t)epoch * p->nnz + e) * p->pairs * GOLDEN,
               z = 0;
      for (size_t k = 0; k < n_neg; k++) {
        /* two samples from each 64-bit hash: its high then its low half */
        uint32_t u;
        if (!(k & 1)) {
          z = ev__mix64(h + (k / 2) * GOLDEN);
          u = (uint32_t)(z >> 32);
        } else {
          u = (uint32_t)z;
        }
        uint32_t t = (uint32_t)(((uint64_t)u * (uint64_t)p->n_tail) >> 32);
        if (self_tail && t == i) continue;
        __builtin_prefetch(tail + (size_t)t * dims);
        if (nn[l] == NEG_BATCH) {
          attract_lanes(head, i0, nl, pos, cnt, tail, p, step_a);
          memset(cnt, 0, sizeof cnt);
          flush_neg(head + i * dims, tail, neg[l], nn[l], p), nn[l] = 0;
        }
        neg[l][nn[l]++] = t;
      }
    }
  }
  attract_lanes(head, i0, nl, pos, cnt, tail, p, step_a);
  for (size_t l = 0; l < nl; l++)
    flush_neg(head + (i0 + l) * dims, tail, neg[l], nn[l], p);
}

ev_status ev__umap_optimize(const ev__umap_graph *g, float *head,
                            const float *tail, const ev__umap_sgd *o,
                            ev_progress_fn cb, void *user, size_t *epochs) {
  size_t n = g->n, dims = o->dims, n_tail = tail ? g->cols : n;
  *epochs = 0;
  float *r_edge;
  ev_status st = rates_init(g, &r_edge);
  if (st) return st;
  float *prev = NULL;
  if (!tail) {
    size_t bytes;
    if ((st = ev__bytes("UMAP map copy", n, dims, sizeof(float), &bytes)) ||
        !(prev = ev__malloc(bytes))) {
      ev__free(r_edge);
      return st ? st : ev__nomem("UMAP map copy", n * dims * sizeof(float));
    }
  }
  params p = {.a = (float)o->a, .b = (float)o->b,
              .two_ab = (float)(2.0 * o->a * o->b),
              .two_gb = (float)(2.0 * o->gamma * o->b),
              .attract = o->move_other ? 2.0f : 1.0f,
              .dims = dims, .n_tail = n_tail,
              .key = ev__mix64(o->seed ^ 0x756d61702d736764ull),
              .nnz = g->row_ptr[n],
              .pairs = (uint64_t)(o->negative_rate / 2.0) + 2};
  int par = g->row_ptr[n] >= PAR_MIN_EDGES;
  for (size_t epoch = 0; epoch < o->n_epochs; epoch++) {
    /* umap-learn runs epoch 0 at the initial rate and lowers it after
     * each epoch: epoch e >= 1 runs at alpha (1 - (e - 1) / n_epochs) */
    double done = epoch > 0 ? (double)(epoch - 1) : 0.0;
    p.alpha = (float)(o->alpha * (1.0 - done / (double)o->n_epochs));
    const float *from = tail;
    if (!tail) {
      memcpy(prev, head, n * dims * sizeof *prev);
      from = prev;
    }
#pragma omp parallel for schedule(dynamic, 32) if (par)
    for (size_t i0 = 0; i0 < n; i0 += 8)
      group_epoch(g, i0, n - i0 < 8 ? n - i0 : 8, head, from, r_edge, o, &p,
                  epoch, !tail);
    *epochs = epoch + 1;
    if ((epoch + 1) % PROGRESS_EVERY == 0 || epoch + 1 == o->n_epochs) {
      st = ev__progress(cb, user, EV_STAGE_EPOCHS, epoch + 1, o->n_epochs,
                        NAN);
      if (st) break;
    }
  }
  ev__free(prev);
  ev__free(r_edge);
  return st;
}
