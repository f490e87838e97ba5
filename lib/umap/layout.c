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
#define NEG_BATCH 1024 /* at least one edge's samples (rate <= 1000) */
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

/* The 2-D positions of eight rows as an x vector and a y vector: one
 * 64-bit load per row, then two shuffles (instead of sixteen scalar
 * inserts). */
typedef uint64_t v4u __attribute__((vector_size(32)));
static inline __attribute__((always_inline)) void gather2(const float *tail,
                                                          const uint32_t *row,
                                                          v8f *x, v8f *y) {
  uint64_t q[8];
  for (size_t l = 0; l < 8; l++) memcpy(&q[l], tail + (size_t)row[l] * 2, 8);
  v4u lo = {q[0], q[1], q[2], q[3]}, hi = {q[4], q[5], q[6], q[7]};
  /* __builtin_shufflevector: gcc (from 12) and clang both have it (the
   * TSan and fuzz builds use clang; gcc's __builtin_shuffle is gcc only) */
  *x = __builtin_shufflevector((v8f)lo, (v8f)hi, 0, 2, 4, 6, 8, 10, 12, 14);
  *y = __builtin_shufflevector((v8f)lo, (v8f)hi, 1, 3, 5, 7, 9, 11, 13, 15);
}

/* ---- the schedule ---- */

/* umap-learn's make_epochs_per_sample samples an edge of weight w every
 * max / w epochs. Here that is a formula rather than a counter per edge
 * (nothing per edge is written during the epochs): with r = w / max as a
 * fraction of 2^31, R = round(r 2^31), the edge's m-th sample falls in the
 * first epoch ep with floor(ep R / 2^31) >= m, so it is due in epoch ep
 * when (ep - 1) R mod 2^31 + R carries past 2^31 (a 32-bit multiply and
 * an add, no floating point). That sample draws floor(m rate) -
 * floor((m - 1) rate) negative samples, so rate per positive sample on
 * average, as umap-learn (whose count per sample varies with the epochs
 * since the last one). */
#define FIX_ONE 0x80000000u
static ev_status rates_init(const ev__umap_graph *g, uint32_t **rate) {
  size_t nnz = g->row_ptr[g->n];
  *rate = ev__malloc((nnz ? nnz : 1) * sizeof **rate);
  if (!*rate) return ev__nomem("UMAP edge schedule", nnz * sizeof **rate);
  double mx = 0.0;
  for (size_t e = 0; e < nnz; e++)
    if (g->val[e] > mx) mx = g->val[e];
  for (size_t e = 0; e < nnz; e++)
    (*rate)[e] = g->val[e] > 0.0
                     ? (uint32_t)llround(g->val[e] / mx * (double)FIX_ONE)
                     : 0u;
  return EV_OK;
}

typedef struct params {
  float a, b, two_ab, two_gb, attract, alpha;
  size_t dims, n_tail;
  uint64_t key, nnz; /* the negative samples' random stream */
  size_t whole_rate; /* negative samples per sample when the rate is a
                        whole number, else 0 */
} params;

/* The repulsion of cur from the nb points tail[idx[0..nb)], all against the
 * same cur, eight lanes at a time, summed per coordinate in eight lane
 * accumulators that are added up (in a fixed order) into acc at the end. A
 * coincident point pushes by CLIP per coordinate, as umap-learn. */
static inline __attribute__((always_inline)) void repel_body(const float *cur, const float *tail,
                         const uint32_t *idx, size_t nb, const params *p,
                         float *acc, size_t dims) {
  const v8f zero = {0};
  v8f sum[EV__UMAP_MAX_DIMS];
  for (size_t c = 0; c < dims; c++) sum[c] = zero;
  for (size_t s = 0; s < nb; s += 8) {
    size_t lanes = nb - s < 8 ? nb - s : 8;
    uint32_t row[8];
    v8i valid;
    for (size_t l = 0; l < 8; l++) {
      row[l] = idx[s + (l < lanes ? l : 0)];
      valid[l] = l < lanes ? -1 : 0;
    }
    v8f d2 = zero, df[EV__UMAP_MAX_DIMS];
    if (dims == 2) {
      v8f ox, oy;
      gather2(tail, row, &ox, &oy);
      df[0] = cur[0] - ox, df[1] = cur[1] - oy;
      d2 = df[0] * df[0] + df[1] * df[1];
    } else {
      for (size_t c = 0; c < dims; c++) {
        v8f oc;
        for (size_t l = 0; l < 8; l++) oc[l] = tail[(size_t)row[l] * dims + c];
        df[c] = cur[c] - oc;
        d2 += df[c] * df[c];
      }
    }
    v8f gc = p->two_gb / ((0.001f + d2) * (p->a * pow_v(d2, p->b) + 1.0f));
    v8i pos = (v8i)(d2 > zero);
    for (size_t c = 0; c < dims; c++) {
      v8f gr = clip_v(gc * df[c]);
      v8i g = ((v8i)gr & pos) | ((v8i)(zero + CLIP) & ~pos);
      sum[c] += (v8f)(g & valid);
    }
  }
  for (size_t c = 0; c < dims; c++) {
    v8f v = sum[c];
    acc[c] += ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
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
    uint32_t row[8];
    v8i active;
    for (size_t l = 0; l < 8; l++) {
      int on = l < nl && t < cnt[l];
      row[l] = on ? pos[l][t] : 0;
      active[l] = on ? -1 : 0;
    }
    v8f d2 = zero, oc[EV__UMAP_MAX_DIMS];
    if (dims == 2) {
      gather2(tail, row, &oc[0], &oc[1]);
    } else {
      for (size_t c = 0; c < dims; c++)
        for (size_t l = 0; l < 8; l++) oc[c][l] = tail[(size_t)row[l] * dims + c];
    }
    for (size_t c = 0; c < dims; c++) {
      v8f df = cur[c] - oc[c];
      d2 += df * df;
    }
    v8i use = active & (v8i)(d2 > zero);
    v8f safe = (v8f)(((v8i)d2 & use) | ((v8i)(zero + 1.0f) & ~use));
    v8f pb = pow_v(safe, p->b);
    /* one division on the chain: -2ab d^(2(b-1)) / (1 + a d^(2b)) */
    v8f gc = (-p->two_ab * pb) / (safe * (p->a * pb + 1.0f));
    for (size_t c = 0; c < dims; c++)
      cur[c] += (v8f)((v8i)(clip_v(gc * (cur[c] - oc[c])) * step) & use);
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
                        float *head, const float *tail, const uint32_t *fix,
                        const ev__umap_sgd *o, const params *p, size_t epoch,
                        int self_tail) {
  size_t dims = p->dims;
  double rate = o->negative_rate;
  uint32_t pos[8][POS_BATCH], neg[8][NEG_BATCH];
  size_t cnt[8] = {0}, nn[8] = {0};
  float step_a = p->attract * p->alpha;
  uint32_t before = (uint32_t)(epoch - 1); /* mod 2^32: enough mod 2^31 */
  uint64_t n_tail = p->n_tail, base = p->key + (uint64_t)epoch * p->nnz * GOLDEN;
  if (epoch == 0) return; /* no edge is due before epoch 1 */
  for (size_t l = 0; l < nl; l++) {
    size_t i = i0 + l, end = g->row_ptr[i + 1];
    for (size_t e0 = g->row_ptr[i]; e0 < end; e0 += POS_BATCH) {
      /* the edges due this epoch, without a branch per edge (which one is
       * due is data, not a pattern a predictor learns) */
      uint32_t due[POS_BATCH];
      size_t nd = 0, e1 = end - e0 < POS_BATCH ? end : e0 + POS_BATCH;
      for (size_t e = e0; e < e1; e++) {
        uint32_t r = fix[e];
        due[nd] = (uint32_t)(e - e0);
        nd += ((before * r) & (FIX_ONE - 1)) + r >= FIX_ONE;
      }
      for (size_t q = 0; q < nd; q++) {
        size_t e = e0 + due[q];
        uint32_t j = g->col[e];
        __builtin_prefetch(tail + (size_t)j * dims);
        size_t n_neg = p->whole_rate;
        if (!n_neg && rate > 0.0) {
          int64_t m = (int64_t)(((uint64_t)epoch * fix[e]) >> 31);
          n_neg = (size_t)((int64_t)((double)m * rate) -
                           (int64_t)((double)(m - 1) * rate));
        }
        /* full buffers are emptied before the edge that would not fit:
         * where depends on the data only */
        if (cnt[l] == POS_BATCH || nn[l] + n_neg > NEG_BATCH) {
          attract_lanes(head, i0, nl, pos, cnt, tail, p, step_a);
          memset(cnt, 0, sizeof cnt);
          flush_neg(head + i * dims, tail, neg[l], nn[l], p), nn[l] = 0;
        }
        pos[l][cnt[l]++] = j;
        /* the edge's stream: splitmix64 of (seed, epoch, edge), then a
         * 64-bit LCG whose high halves are the samples (the point itself
         * is skipped) */
        uint64_t z = ev__mix64(base + e * GOLDEN);
        uint32_t *out = neg[l];
        size_t w = nn[l];
        for (size_t k = 0; k < n_neg && w < NEG_BATCH; k++) {
          z = z * 6364136223846793005ull + 1442695040888963407ull;
          uint32_t t = (uint32_t)(((z >> 32) * n_tail) >> 32);
          __builtin_prefetch(tail + (size_t)t * dims);
          out[w] = t;
          w += !(self_tail && t == i);
        }
        nn[l] = w;
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
  uint32_t *r_edge;
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
              .whole_rate = o->negative_rate == floor(o->negative_rate)
                                ? (size_t)o->negative_rate
                                : 0};
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
