/* Ranks of given candidates among all rows (the map measures' r(i, j)).
 *
 * Trustworthiness needs, for each row i and each of its k map neighbours
 * j, how many input rows are closer to i than j: k counts per row, not a
 * sorted n x n distance matrix. Each row's distances are made once, block
 * by block, and compared with its k candidate distances.
 *
 * Euclidean rows of 16 or more columns get their distances from SGEMM as
 * |y|^2 - 2 x.y (plus |x|^2), which differs from the exact distance by at
 * most the bound knn_scan.c proves (Higham). A row whose estimate is below
 * a candidate's exact distance by more than the bound is certainly before
 * it; one above by more than the bound certainly after; only the few in
 * between are recomputed exactly in double and compared by (distance,
 * index), the order ev_knn_query uses. So the counts are exact. The other
 * metrics and narrow rows (maps) run the exact distance directly. */
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "core/testhook.h"
#include "knn_private.h"

#define GEMM_MAX_SQNORM 1e30     /* as knn.c: above it the expansion could
                                    overflow */
enum { BQ = 64, BR = 2048, GEMM_MIN_DIM = 16 };

typedef struct rank_job {
  int kind;
  double p;
  const float *x;
  size_t n, d, ld;
  const int64_t *cand;
  size_t m;
  const double *norm;  /* |x_i| in double */
  const float *colv;   /* |x_i|^2 in float (SGEMM path) */
  double max_sq;       /* largest |x_i|^2 */
  int64_t *before;
} rank_job;

static double exact(const rank_job *jb, size_t i, size_t l) {
  return ev__knn_exact(jb->kind, jb->p, jb->x + i * jb->ld, jb->x + l * jb->ld,
                       jb->d, jb->norm[i], jb->norm[l]);
}

/* l comes before candidate j (at exact distance t) in i's order. */
static inline int64_t is_before(double dl, size_t l, double t, int64_t j) {
  return dl < t || (dl == t && (int64_t)l < j);
}

static void rank_direct_row(const rank_job *jb, size_t i, double *t) {
  const int64_t *cand = jb->cand + i * jb->m;
  int64_t *out = jb->before + i * jb->m;
  for (size_t c = 0; c < jb->m; c++) {
    t[c] = exact(jb, i, (size_t)cand[c]);
    out[c] = 0;
  }
  for (size_t l = 0; l < jb->n; l++) {
    if (l == i) continue;
    double dl = exact(jb, i, l);
    for (size_t c = 0; c < jb->m; c++) out[c] += is_before(dl, l, t[c], cand[c]);
  }
}

#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v8f __attribute__((vector_size(32), aligned(4), may_alias));
typedef int v8i __attribute__((vector_size(32)));

/* How many a[j] < lo, j < m; *near = whether any lo <= a[j] <= hi. One
 * pass, so the search for the near ones runs only when there are some. */
EV_CLONES static size_t count_below(const float *a, size_t m, float lo,
                                    float hi, int *near) {
  v8f lv = {lo, lo, lo, lo, lo, lo, lo, lo}, hv = {hi, hi, hi, hi, hi, hi, hi, hi};
  v8i acc = {0, 0, 0, 0, 0, 0, 0, 0}, nr = acc;
  size_t j = 0;
  for (; j + 8 <= m; j += 8) {
    v8f x = *(const v8f *)(a + j);
    v8i below = x < lv;
    acc -= below;
    nr |= ~below & (x <= hv);
  }
  size_t s = 0;
  int any = 0;
  for (int q = 0; q < 8; q++) {
    s += (size_t)acc[q];
    any |= nr[q];
  }
  for (; j < m; j++) {
    s += a[j] < lo;
    any |= a[j] >= lo && a[j] <= hi;
  }
  *near = any != 0;
  return s;
}

/* First j in [from, m) with lo <= a[j] <= hi, or m. */
EV_CLONES static size_t next_near(const float *a, size_t from, size_t m,
                                  float lo, float hi) {
  v8f lv = {lo, lo, lo, lo, lo, lo, lo, lo}, hv = {hi, hi, hi, hi, hi, hi, hi, hi};
  size_t j = from;
  for (; j + 8 <= m; j += 8) {
    v8f x = *(const v8f *)(a + j);
    v8i c = (x >= lv) & (x <= hv);
    if ((c[0] | c[1] | c[2] | c[3] | c[4] | c[5] | c[6] | c[7]) != 0) break;
  }
  for (; j < m; j++)
    if (a[j] >= lo && a[j] <= hi) return j;
  return m;
}

static float round_down(double v) {
  float f = (float)v;
  return (double)f > v ? nextafterf(f, -INFINITY) : f;
}

/* Scratch of one thread for the SGEMM path. */
typedef struct gemm_work {
  float *tile;          /* BQ x BR */
  double *t;            /* BQ x m exact candidate distances */
  float *lo, *hi;       /* BQ x m certain-before / certain-after limits */
} gemm_work;

static void rank_gemm_block(const rank_job *jb, gemm_work *w, size_t q0,
                            size_t mq) {
  size_t m = jb->m, dim = jb->d;
  for (size_t qi = 0; qi < mq; qi++) {
    size_t i = q0 + qi;
    double qn2 = jb->norm[i] * jb->norm[i];
    double e = ev__knn_scan_bound(EV__KNN_L2, dim, jb->norm[i], jb->max_sq);
    for (size_t c = 0; c < m; c++) {
      double t = exact(jb, i, (size_t)jb->cand[i * m + c]);
      w->t[qi * m + c] = t;
      w->lo[qi * m + c] = round_down(t - e - qn2);
      w->hi[qi * m + c] = ev__knn_float_up(t + e - qn2);
      jb->before[i * m + c] = 0;
    }
  }
  for (size_t r0 = 0; r0 < jb->n; r0 += BR) {
    size_t mr = jb->n - r0 < BR ? jb->n - r0 : BR;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mq, (int)mr,
                (int)dim, -2.0f, jb->x + q0 * jb->ld, (int)jb->ld,
                jb->x + r0 * jb->ld, (int)jb->ld, 0.0f, w->tile, (int)mr);
    for (size_t qi = 0; qi < mq; qi++) {
      size_t i = q0 + qi;
      float *row = w->tile + qi * mr;
      for (size_t l = 0; l < mr; l++) row[l] += jb->colv[r0 + l];
      int has_self = i >= r0 && i < r0 + mr;
      for (size_t c = 0; c < m; c++) {
        float lo = w->lo[qi * m + c], hi = w->hi[qi * m + c];
        double t = w->t[qi * m + c];
        int64_t j = jb->cand[i * m + c];
        int near;
        int64_t cnt = (int64_t)count_below(row, mr, lo, hi, &near);
        if (has_self && row[i - r0] < lo) cnt--; /* i is not its own rival */
        for (size_t l = near ? next_near(row, 0, mr, lo, hi) : mr; l < mr;
             l = next_near(row, l + 1, mr, lo, hi))
          if (r0 + l != i) cnt += is_before(exact(jb, i, r0 + l), r0 + l, t, j);
        jb->before[i * m + c] += cnt;
      }
    }
  }
}

static void gemm_work_free(gemm_work *w) {
  ev__free_aligned(w->tile);
  ev__free(w->t);
  ev__free(w->lo);
  ev__free(w->hi);
}

static ev_status run_gemm(const rank_job *jb) {
  int T = omp_get_max_threads();
  gemm_work *ws = ev__calloc((size_t)T, sizeof *ws);
  if (!ws) return ev__nomem("the rank workers", (size_t)T * sizeof *ws);
  ev_status st = EV_OK;
  for (int t = 0; t < T && st == EV_OK; t++) {
    ws[t].tile = ev__malloc_aligned((size_t)BQ * BR * sizeof(float));
    ws[t].t = ev__malloc(BQ * jb->m * sizeof(double));
    ws[t].lo = ev__malloc(BQ * jb->m * sizeof(float));
    ws[t].hi = ev__malloc(BQ * jb->m * sizeof(float));
    if (!ws[t].tile || !ws[t].t || !ws[t].lo || !ws[t].hi)
      st = ev__nomem("the rank tiles", (size_t)BQ * BR * sizeof(float));
  }
  if (st == EV_OK) {
    size_t blocks = (jb->n + BQ - 1) / BQ;
#pragma omp parallel for schedule(dynamic, 1) num_threads(T)
    for (size_t b = 0; b < blocks; b++) {
      size_t q0 = b * BQ, mq = jb->n - q0 < BQ ? jb->n - q0 : BQ;
      rank_gemm_block(jb, &ws[omp_get_thread_num()], q0, mq);
    }
  }
  for (int t = 0; t < T; t++) gemm_work_free(&ws[t]);
  ev__free(ws);
  return st;
}

/* ---- the symmetric SGEMM path: d(i, l) = d(l, i), so each tile of
 * -2 x_i.x_l serves rows i against columns l and, transposed, rows l
 * against columns i: half the SGEMM work of rank_gemm_block. Counts go
 * to per-thread arrays (n x m each) summed at the end. ---- */
enum { SB = 256 };
/* Bytes of per-thread counts the symmetric path may use; above them the
 * row-wise path runs. A variable so that tests can reach both paths
 * (lib/core/testhook.h); never exported. */
size_t ev__test_rank_count_budget = (size_t)256 << 20;

typedef struct sym_limits {
  double *t;      /* n x m exact candidate distances */
  float *lo, *hi; /* n x m certain-before / certain-after limits */
} sym_limits;

static void sym_limits_row(const rank_job *jb, const sym_limits *L,
                           size_t i) {
  double qn2 = jb->norm[i] * jb->norm[i];
  double e = ev__knn_scan_bound(EV__KNN_L2, jb->d, jb->norm[i], jb->max_sq);
  for (size_t c = 0; c < jb->m; c++) {
    size_t a = i * jb->m + c;
    double t = exact(jb, i, (size_t)jb->cand[a]);
    L->t[a] = t;
    L->lo[a] = round_down(t - e - qn2);
    L->hi[a] = ev__knn_float_up(t + e - qn2);
  }
}

/* Rows a0.. (ma) against columns b0.. (mb) of tile (-2 x.y, leading
 * dimension mb, overwritten with the estimates); diag: the same block. */
static void sym_count(const rank_job *jb, const sym_limits *L, float *tile,
                      size_t a0, size_t ma, size_t b0, size_t mb, int diag,
                      int64_t *cnt) {
  size_t m = jb->m;
  for (size_t qi = 0; qi < ma; qi++) {
    size_t i = a0 + qi;
    float *row = tile + qi * mb;
    for (size_t l = 0; l < mb; l++) row[l] += jb->colv[b0 + l];
    for (size_t c = 0; c < m; c++) {
      size_t a = i * m + c;
      float lo = L->lo[a], hi = L->hi[a];
      int near;
      int64_t add = (int64_t)count_below(row, mb, lo, hi, &near);
      if (diag && row[qi] < lo) add--; /* i is not its own rival */
      for (size_t l = near ? next_near(row, 0, mb, lo, hi) : mb; l < mb;
           l = next_near(row, l + 1, mb, lo, hi))
        if (b0 + l != i)
          add += is_before(exact(jb, i, b0 + l), b0 + l, L->t[a], jb->cand[a]);
      cnt[a] += add;
    }
  }
}

static void sym_task(const rank_job *jb, const sym_limits *L, size_t bi,
                     size_t bj, float *tile, float *tile_t, int64_t *cnt) {
  size_t a0 = bi * SB, b0 = bj * SB;
  size_t ma = jb->n - a0 < SB ? jb->n - a0 : SB;
  size_t mb = jb->n - b0 < SB ? jb->n - b0 : SB;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ma, (int)mb,
              (int)jb->d, -2.0f, jb->x + a0 * jb->ld, (int)jb->ld,
              jb->x + b0 * jb->ld, (int)jb->ld, 0.0f, tile, (int)mb);
  if (bi == bj) {
    sym_count(jb, L, tile, a0, ma, b0, mb, 1, cnt);
    return;
  }
  for (size_t r = 0; r < ma; r++)
    for (size_t c = 0; c < mb; c++) tile_t[c * ma + r] = tile[r * mb + c];
  sym_count(jb, L, tile, a0, ma, b0, mb, 0, cnt);
  sym_count(jb, L, tile_t, b0, mb, a0, ma, 0, cnt);
}

/* EV_ERR_LIMIT (quietly: the caller falls back) when the per-thread
 * counts would pass ev__test_rank_count_budget. */
static ev_status run_sym(const rank_job *jb) {
  int T = omp_get_max_threads();
  size_t nm = jb->n * jb->m, cbytes;
  if (!ev__mul3((size_t)T, nm, sizeof(int64_t), &cbytes) ||
      cbytes > ev__test_rank_count_budget)
    return EV_ERR_LIMIT;
  sym_limits L = {ev__malloc(nm * sizeof(double)), ev__malloc(nm * sizeof(float)),
                  ev__malloc(nm * sizeof(float))};
  int64_t *cnt = ev__calloc((size_t)T * nm, sizeof(int64_t));
  float *tiles = ev__malloc_aligned((size_t)T * 2 * SB * SB * sizeof(float));
  ev_status st = EV_OK;
  if (!L.t || !L.lo || !L.hi || !cnt || !tiles) {
    st = ev__nomem("the rank tiles and counts", cbytes + nm * 16);
  } else {
    size_t nb = (jb->n + SB - 1) / SB;
#pragma omp parallel num_threads(T)
    {
      int t = omp_get_thread_num();
#pragma omp for schedule(static)
      for (size_t i = 0; i < jb->n; i++) sym_limits_row(jb, &L, i);
      float *tile = tiles + (size_t)t * 2 * SB * SB, *tile_t = tile + SB * SB;
#pragma omp for schedule(dynamic, 1)
      for (size_t task = 0; task < nb * nb; task++) {
        size_t bi = task / nb, bj = task % nb;
        if (bj >= bi) sym_task(jb, &L, bi, bj, tile, tile_t, cnt + (size_t)t * nm);
      }
#pragma omp for schedule(static)
      for (size_t a = 0; a < nm; a++) {
        int64_t s = 0;
        for (int u = 0; u < T; u++) s += cnt[(size_t)u * nm + a];
        jb->before[a] = s;
      }
    }
  }
  ev__free(L.t);
  ev__free(L.lo);
  ev__free(L.hi);
  ev__free(cnt);
  ev__free_aligned(tiles);
  return st;
}

static ev_status run_direct(const rank_job *jb) {
  int T = omp_get_max_threads();
  size_t bytes;
  if (ev__bytes("the candidate distances", (size_t)T, jb->m, sizeof(double),
                &bytes) != EV_OK)
    return EV_ERR_OVERFLOW;
  double *t = ev__malloc(bytes);
  if (!t) return ev__nomem("the candidate distances", bytes);
#pragma omp parallel for schedule(dynamic, 16) num_threads(T)
  for (size_t i = 0; i < jb->n; i++)
    rank_direct_row(jb, i, t + (size_t)omp_get_thread_num() * jb->m);
  ev__free(t);
  return EV_OK;
}

ev_status ev__knn_rank_candidates(int metric, double p, const float *x,
                                  size_t n, size_t d, size_t ld,
                                  const int64_t *cand, size_t m,
                                  int64_t *before) {
  size_t nb;
  if (ev__bytes("the row norms", n, 1, sizeof(double), &nb) != EV_OK)
    return EV_ERR_OVERFLOW;
  rank_job jb = {ev__knn_direct_kind(metric, p), p, x, n, d, ld, cand, m,
                 NULL, NULL, 0, before};
  double *norm = ev__malloc(nb);
  if (!norm) return ev__nomem("the row norms", nb);
  ev__knn_norms(x, n, d, ld, norm);
  jb.norm = norm;
  double mx = 0;
  for (size_t i = 0; i < n; i++) mx = fmax(mx, norm[i] * norm[i]);
  jb.max_sq = mx;
  ev_status st;
  if (jb.kind == EV__KNN_L2_DIRECT && d >= GEMM_MIN_DIM && mx < GEMM_MAX_SQNORM) {
    float *colv = ev__malloc(n * sizeof(float));
    if (!colv) {
      ev__free(norm);
      return ev__nomem("the row norms", n * sizeof(float));
    }
    for (size_t i = 0; i < n; i++) colv[i] = (float)(norm[i] * norm[i]);
    jb.colv = colv;
    st = run_sym(&jb);
    if (st == EV_ERR_LIMIT) st = run_gemm(&jb);
    ev__free(colv);
  } else {
    st = run_direct(&jb);
  }
  ev__free(norm);
  return st;
}
