/* Input affinities: Gaussian kernels calibrated to a perplexity, then
 * symmetrised and normalised (van der Maaten & Hinton 2008, section 2). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tsne/tsne_internal.h"

#define CALIBRATE_MAX_STEPS 200
#define CALIBRATE_TOL 1e-7
#define ROWS_PER_REPORT 4096

void ev__csr_free(ev__csr *p) {
  if (!p) return;
  ev__free(p->row_ptr);
  ev__free(p->col);
  ev__free(p->val);
  ev__free(p->fval);
  memset(p, 0, sizeof *p);
}

void *ev__narrow_in_place(void *block, size_t count, int to_float) {
  /* A run of 1024 at a time through buf (memcpy: no aliasing of the two
   * views): each run's 4-byte values land below every 8-byte value not
   * read yet. */
  unsigned char *bytes = block;
  unsigned char buf[1024 * 4];
  for (size_t e0 = 0; e0 < count; e0 += 1024) {
    size_t m = count - e0 < 1024 ? count - e0 : 1024;
    for (size_t e = 0; e < m; e++) {
      if (to_float) {
        double v;
        memcpy(&v, bytes + (e0 + e) * 8, 8);
        float f = (float)v;
        memcpy(buf + e * 4, &f, 4);
      } else {
        int64_t v;
        memcpy(&v, bytes + (e0 + e) * 8, 8);
        uint32_t u = (uint32_t)v;
        memcpy(buf + e * 4, &u, 4);
      }
    }
    memmove(bytes + e0 * 4, buf, m * 4);
  }
  return ev__realloc(block, count * 4);
}

ev_status ev__csr_float_values(ev__csr *p) {
  size_t nnz = p->row_ptr[p->n];
  if (!p->val || nnz == 0) return EV_OK;
  float *f = ev__narrow_in_place(p->val, nnz, 1);
  p->fval = f ? f : (float *)(void *)p->val;
  p->val = NULL;
  /* (a shrinking realloc does not fail in practice; when it does, the
   * floats are in place and the call fails like any allocation) */
  return f ? EV_OK : ev__nomem("t-SNE affinities as floats", nnz * 4);
}

/* Entropy decreases as beta grows; bisection on beta, doubling or halving
 * until the target is bracketed. Distances are shifted by their minimum so
 * that the largest weight is exactly 1 and the sum never underflows. */
double ev__tsne_calibrate_row(const double *d2, size_t k, double perplexity,
                              double tol, double *p, double *beta_out) {
  double target = log(perplexity), dmin = INFINITY, mean = 0.0;
  for (size_t j = 0; j < k; j++) dmin = d2[j] < dmin ? d2[j] : dmin;
  for (size_t j = 0; j < k; j++) mean += d2[j] - dmin;
  mean /= (double)k;
  double beta = mean > 0.0 ? 1.0 / mean : 1.0, lo = 0.0, hi = INFINITY;
  double h = 0.0, sum = 1.0;
  for (int step = 0; step < CALIBRATE_MAX_STEPS; step++) {
    double sdp = 0.0;
    sum = 0.0;
    for (size_t j = 0; j < k; j++) {
      double w = exp(-beta * (d2[j] - dmin));
      p[j] = w;
      sum += w;
      sdp += w * (d2[j] - dmin);
    }
    h = log(sum) + beta * sdp / sum;
    if (fabs(h - target) < tol) break;
    if (h > target) {
      lo = beta;
      beta = isinf(hi) ? beta * 2.0 : 0.5 * (beta + hi);
    } else {
      hi = beta;
      beta = 0.5 * (lo + beta);
    }
  }
  for (size_t j = 0; j < k; j++) p[j] /= sum;
  if (beta_out) *beta_out = beta;
  return h;
}

/* Finite data can have distances beyond float's range (coordinates past
 * ~1e19 squared): the calibration would then turn them into NaN
 * affinities and a NaN map returned as a success (found by
 * fuzz/fuzz_tsne.c). */
static ev_status distances_overflow(void) {
  return ev__fail(EV_ERR_NONFINITE, "distances between the rows overflow "
                  "single precision (coordinates too large): rescale the "
                  "data, e.g. standardise each column");
}

ev_status ev__tsne_conditional(const float *dist, size_t n, size_t k,
                               int squared, double perplexity, double *pc,
                               ev_progress_fn cb, void *user) {
  int nt = omp_get_max_threads();
  size_t bytes;
  ev_status st = ev__bytes("calibration scratch", (size_t)nt, k,
                           sizeof(double), &bytes);
  if (st) return st;
  for (size_t i = 0; i < n * k; i++)
    if (!isfinite(dist[i])) return distances_overflow();
  double *scratch = ev__malloc(bytes);
  if (!scratch) return ev__nomem("calibration scratch", bytes);
  for (size_t r0 = 0; r0 < n; r0 += ROWS_PER_REPORT) {
    size_t r1 = r0 + ROWS_PER_REPORT < n ? r0 + ROWS_PER_REPORT : n;
#pragma omp parallel for schedule(dynamic, 64)
    for (size_t i = r0; i < r1; i++) {
      double *d2 = scratch + (size_t)omp_get_thread_num() * k;
      const float *row = dist + i * k;
      for (size_t j = 0; j < k; j++)
        d2[j] = squared ? (double)row[j] : (double)row[j] * row[j];
      ev__tsne_calibrate_row(d2, k, perplexity, CALIBRATE_TOL, pc + i * k,
                             NULL);
    }
    st = ev__progress(cb, user, EV_STAGE_AFFINITIES, r1, n, NAN);
    if (st) break;
  }
  ev__free(scratch);
  return st;
}

double ev__tsne_entropy_term(const ev__csr *p) {
  double s = 0.0;
  size_t nnz = p->row_ptr[p->n];
  for (size_t e = 0; e < nnz; e++) {
    double v = p->val ? p->val[e] : (double)p->fval[e];
    if (v > 0.0) s += v * log(v);
  }
  return s;
}

/* ---- exact method: every row against every other row ---- */

static size_t dense_block_rows(size_t n) {
  size_t b = ((size_t)32 << 20) / (n * sizeof(double)); /* ~32 MiB */
  if (b < 1) b = 1;
  return b < n ? b : n;
}

/* Calibrate rows [r0, r0 + rows) from their dense squared distances into
 * the CSR rows, which hold every column but the diagonal. */
static void calibrate_dense_rows(size_t n, size_t r0, size_t rows,
                                 const double *d2, double perplexity,
                                 double *scratch, double *val) {
#pragma omp parallel for schedule(dynamic, 4)
  for (size_t r = 0; r < rows; r++) {
    size_t i = r0 + r;
    double *row = scratch + (size_t)omp_get_thread_num() * (n - 1);
    const double *src = d2 + r * n;
    memcpy(row, src, i * sizeof *row);
    memcpy(row + i, src + i + 1, (n - 1 - i) * sizeof *row);
    ev__tsne_calibrate_row(row, n - 1, perplexity, CALIBRATE_TOL,
                           val + i * (n - 1), NULL);
  }
}

/* (p_j|i + p_i|j) / 2n in place; each pair is touched by one i only. */
static void symmetrize_dense(size_t n, double *val) {
  double scale = 1.0 / (2.0 * (double)n);
#pragma omp parallel for schedule(dynamic, 16)
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++) {
      double *a = val + i * (n - 1) + (j - 1), *b = val + j * (n - 1) + i;
      double s = (*a + *b) * scale;
      *a = s;
      *b = s;
    }
}

static ev_status alloc_dense_csr(size_t n, ev__csr *out) {
  size_t nnz, bytes_v, bytes_c, bytes_r;
  ev_status st = ev__bytes("exact affinities", n, n - 1, sizeof(double),
                           &bytes_v);
  if (st) return st;
  nnz = n * (n - 1);
  bytes_c = nnz * sizeof(uint32_t);
  bytes_r = (n + 1) * sizeof(size_t);
  out->n = n;
  out->row_ptr = ev__malloc(bytes_r);
  out->col = ev__malloc(bytes_c);
  out->val = ev__malloc(bytes_v);
  if (!out->row_ptr || !out->col || !out->val) {
    ev__csr_free(out);
    return ev__nomem("exact affinities", bytes_v + bytes_c);
  }
  for (size_t i = 0; i <= n; i++) out->row_ptr[i] = i * (n - 1);
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) {
    uint32_t *c = out->col + i * (n - 1);
    for (size_t j = 0, e = 0; j < n; j++)
      if (j != i) c[e++] = (uint32_t)j;
  }
  return EV_OK;
}

ev_status ev__tsne_dense_affinities(size_t n, double perplexity,
                                    ev__row_dist_fn rows_fn, void *ctx,
                                    ev__csr *out, ev_progress_fn cb,
                                    void *user) {
  ev__csr p = {0};
  ev_status st = alloc_dense_csr(n, &p);
  if (st) return st;
  size_t block = dense_block_rows(n), nt = (size_t)omp_get_max_threads();
  double *d2 = ev__malloc(block * n * sizeof *d2);
  double *scratch = ev__malloc(nt * (n - 1) * sizeof *scratch);
  if (!d2 || !scratch) {
    st = ev__nomem("exact affinity rows", (block + nt) * n * sizeof *d2);
    goto done;
  }
  for (size_t r0 = 0; r0 < n && !st; r0 += block) {
    size_t rows = r0 + block < n ? block : n - r0;
    st = rows_fn(ctx, r0, rows, d2);
    for (size_t r = 0; r < rows && !st; r++)
      for (size_t j = 0; j < n && !st; j++)
        if (j != r0 + r && !isfinite(d2[r * n + j])) st = distances_overflow();
    if (st) break;
    calibrate_dense_rows(n, r0, rows, d2, perplexity, scratch, p.val);
    st = ev__progress(cb, user, EV_STAGE_AFFINITIES, r0 + rows, n, NAN);
  }
  if (!st) symmetrize_dense(n, p.val);
done:
  ev__free(d2);
  ev__free(scratch);
  if (st) ev__csr_free(&p);
  else *out = p;
  return st;
}

/* ---- sparse rows: P = (A + A^T) / sum ---- */

typedef struct entry {
  uint32_t col;
  double val;
} entry;

static int cmp_entry(const void *a, const void *b) {
  uint32_t x = ((const entry *)a)->col, y = ((const entry *)b)->col;
  return (x > y) - (x < y);
}

/* A's rows without diagonal or zero entries, sorted, repeats summed. */
static ev_status own_rows(size_t n, const size_t *row_ptr, const int64_t *col,
                          const double *val, size_t *o_ptr, entry **o_out) {
  size_t nnz = row_ptr[n];
  entry *o = ev__malloc((nnz ? nnz : 1) * sizeof *o);
  if (!o) return ev__nomem("affinity rows", nnz * sizeof *o);
  o_ptr[0] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t start = o_ptr[i], m = start;
    for (size_t e = row_ptr[i]; e < row_ptr[i + 1]; e++)
      if ((size_t)col[e] != i && val[e] > 0.0)
        o[m++] = (entry){(uint32_t)col[e], val[e]};
    qsort(o + start, m - start, sizeof *o, cmp_entry);
    size_t w = start;
    for (size_t e = start; e < m; e++) {
      if (w > start && o[w - 1].col == o[e].col) o[w - 1].val += o[e].val;
      else o[w++] = o[e];
    }
    o_ptr[i + 1] = w;
  }
  *o_out = o;
  return EV_OK;
}

/* Row i of A^T, filled by source row in increasing order: sorted. */
static ev_status transpose_rows(size_t n, const size_t *o_ptr, const entry *o,
                                size_t *t_ptr, entry **t_out) {
  size_t nnz = o_ptr[n];
  entry *t = ev__malloc((nnz ? nnz : 1) * sizeof *t);
  size_t *fill = ev__calloc(n + 1, sizeof *fill);
  if (!t || !fill) {
    ev__free(t);
    ev__free(fill);
    return ev__nomem("transposed affinities", nnz * sizeof *t);
  }
  for (size_t e = 0; e < nnz; e++) fill[o[e].col + 1]++;
  for (size_t i = 0; i < n; i++) fill[i + 1] += fill[i];
  memcpy(t_ptr, fill, (n + 1) * sizeof *t_ptr);
  for (size_t i = 0; i < n; i++)
    for (size_t e = o_ptr[i]; e < o_ptr[i + 1]; e++)
      t[fill[o[e].col]++] = (entry){(uint32_t)i, o[e].val};
  ev__free(fill);
  *t_out = t;
  return EV_OK;
}

/* v /= its sum (added in index order). */
static void normalise(double *v, size_t count) {
  double sum = 0.0;
  for (size_t e = 0; e < count; e++) sum += v[e];
  for (size_t e = 0; e < count; e++) v[e] /= sum;
}

/* Merge two sorted rows; with out NULL only count. */
static size_t merge_row(const entry *a, size_t na, const entry *b, size_t nb,
                        uint32_t *col, double *val) {
  size_t i = 0, j = 0, m = 0;
  while (i < na || j < nb) {
    uint32_t c;
    double v;
    if (j >= nb || (i < na && a[i].col < b[j].col)) {
      c = a[i].col, v = a[i].val, i++;
    } else if (i >= na || b[j].col < a[i].col) {
      c = b[j].col, v = b[j].val, j++;
    } else {
      c = a[i].col, v = a[i].val + b[j].val, i++, j++;
    }
    if (col) col[m] = c, val[m] = v;
    m++;
  }
  return m;
}

ev_status ev__tsne_symmetrize(size_t n, const size_t *row_ptr,
                              const int64_t *col, const double *val,
                              ev__csr *out) {
  ev__csr p = {0};
  entry *o = NULL, *t = NULL;
  size_t *o_ptr = ev__malloc((n + 1) * sizeof *o_ptr);
  size_t *t_ptr = ev__malloc((n + 1) * sizeof *t_ptr);
  p.row_ptr = ev__malloc((n + 1) * sizeof *p.row_ptr);
  ev_status st = EV_OK;
  if (!o_ptr || !t_ptr || !p.row_ptr) {
    st = ev__nomem("affinity row offsets", 3 * (n + 1) * sizeof(size_t));
    goto done;
  }
  if ((st = own_rows(n, row_ptr, col, val, o_ptr, &o))) goto done;
  if ((st = transpose_rows(n, o_ptr, o, t_ptr, &t))) goto done;
  p.n = n;
  p.row_ptr[0] = 0;
  for (size_t i = 0; i < n; i++)
    p.row_ptr[i + 1] = p.row_ptr[i] + merge_row(o + o_ptr[i], o_ptr[i + 1] - o_ptr[i],
                                                t + t_ptr[i], t_ptr[i + 1] - t_ptr[i],
                                                NULL, NULL);
  size_t nnz = p.row_ptr[n];
  if (nnz == 0) {
    st = ev__fail(EV_ERR_ARGUMENT,
                  "the affinities have no positive value off the diagonal: "
                  "give each point at least one neighbour with a weight > 0");
    goto done;
  }
  p.col = ev__malloc(nnz * sizeof *p.col);
  p.val = ev__malloc(nnz * sizeof *p.val);
  if (!p.col || !p.val) {
    st = ev__nomem("symmetric affinities", nnz * 12);
    goto done;
  }
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < n; i++)
    merge_row(o + o_ptr[i], o_ptr[i + 1] - o_ptr[i], t + t_ptr[i],
              t_ptr[i + 1] - t_ptr[i], p.col + p.row_ptr[i],
              p.val + p.row_ptr[i]);
  normalise(p.val, nnz);
done:
  ev__free(o);
  ev__free(t);
  ev__free(o_ptr);
  ev__free(t_ptr);
  if (st) ev__csr_free(&p);
  else *out = p;
  return st;
}

/* ---- kNN lists: P = (A + A^T) / sum in place ----
 * ev__tsne_symmetrize's result, bit for bit, for A given as k entries per
 * row. Each row is cleaned where it lies (the diagonal and values <= 0
 * dropped, columns sorted, repeats summed in sorted order: own_rows).
 * An entry i -> j is "mutual" when j's row holds i too (a binary search
 * from the lower of the two rows, which also sums the pair's two values
 * into both; one bit per entry, each row's bits in words of its own). Row i of P is
 * then row i of A, each mutual value plus A_ji (merge_row's a + b),
 * followed by the A_ji of the rows j that hold i without i holding j,
 * which come in increasing j; one merge of the two sorted parts puts the
 * row in column order. */

/* Sort keys[0 .. m) (bottom-up merge sort through tmp). */
static void sort_keys(uint64_t *keys, uint64_t *tmp, size_t m) {
  for (size_t w = 1; w < m; w *= 2) {
    for (size_t lo = 0; lo < m; lo += 2 * w) {
      size_t mid = lo + w < m ? lo + w : m, hi = lo + 2 * w < m ? lo + 2 * w : m;
      size_t a = lo, b = mid, o = lo;
      while (a < mid && b < hi) tmp[o++] = keys[a] <= keys[b] ? keys[a++] : keys[b++];
      while (a < mid) tmp[o++] = keys[a++];
      while (b < hi) tmp[o++] = keys[b++];
    }
    memcpy(keys, tmp, m * sizeof *keys);
  }
}

/* Row i cleaned in place: its count. scratch: 3k words. */
static uint32_t clean_row(size_t i, size_t k, uint32_t *col, double *val,
                          uint64_t *scratch) {
  uint64_t *keys = scratch, *tmp = scratch + k;
  double *v = (double *)(void *)(scratch + 2 * k);
  size_t m = 0;
  for (size_t e = 0; e < k; e++)
    if (col[e] != i && val[e] > 0.0)
      keys[m++] = (uint64_t)col[e] << 32 | (uint64_t)e;
  sort_keys(keys, tmp, m);
  for (size_t e = 0; e < k; e++) v[e] = val[e];
  size_t w = 0;
  for (size_t e = 0; e < m; e++) {
    uint32_t c = (uint32_t)(keys[e] >> 32);
    double x = v[keys[e] & 0xffffffffu];
    if (w > 0 && col[w - 1] == c) val[w - 1] += x;
    else col[w] = c, val[w++] = x;
  }
  return (uint32_t)w;
}

/* Position of column c in sorted row r (m entries), or m. */
static size_t find_col(const uint32_t *r, size_t m, uint32_t c) {
  size_t lo = 0, hi = m;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (r[mid] < c) lo = mid + 1;
    else hi = mid;
  }
  return lo < m && r[lo] == c ? lo : m;
}

ev_status ev__tsne_symmetrize_lists(size_t n, size_t k, uint32_t *col,
                                    double *val, ev__csr *out) {
  ev__csr p = {0};
  ev_status st = EV_OK;
  size_t T = (size_t)omp_get_max_threads(), W = (k + 63) / 64;
  uint32_t *cnt = ev__malloc(n * sizeof *cnt);
  size_t *cur = ev__calloc(n + 1, sizeof *cur);
  uint64_t *mut = ev__calloc(n * W, sizeof *mut);
  uint64_t *scratch = ev__malloc(T * 3 * k * sizeof *scratch);
  p.row_ptr = ev__malloc((n + 1) * sizeof *p.row_ptr);
  if (!cnt || !cur || !mut || !scratch || !p.row_ptr) {
    st = ev__nomem("affinity rows", n * (20 + 8 * W) + T * 24 * k);
    goto done;
  }
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < n; i++)
    cnt[i] = clean_row(i, k, col + i * k, val + i * k,
                       scratch + (size_t)omp_get_thread_num() * 3 * k);
  /* Each pair looked up once, from its lower row: when row j > i holds i
   * too, both entries are marked mutual and both take A_ij + A_ji (the
   * same sum either way round), so no row is searched again below. Row
   * j's entry for i is touched by this pair alone; the bits of a row's
   * word can come from several threads, hence the atomic or. */
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < n; i++)
    for (size_t e = 0; e < cnt[i]; e++) {
      uint32_t j = col[i * k + e];
      if (j < i) continue;
      size_t at = find_col(col + (size_t)j * k, cnt[j], (uint32_t)i);
      if (at == cnt[j]) continue;
      double sum = val[i * k + e] + val[(size_t)j * k + at];
      val[i * k + e] = sum;
      val[(size_t)j * k + at] = sum;
      __atomic_fetch_or(&mut[i * W + e / 64], (uint64_t)1 << (e % 64),
                        __ATOMIC_RELAXED);
      __atomic_fetch_or(&mut[(size_t)j * W + at / 64],
                        (uint64_t)1 << (at % 64), __ATOMIC_RELAXED);
    }
#define IS_MUTUAL(i, e) ((mut[(i) * W + (e) / 64] >> ((e) % 64)) & 1)
  /* row lengths: own entries, plus the others' non-mutual entries */
  for (size_t i = 0; i < n; i++) cur[i + 1] = cnt[i];
  for (size_t i = 0; i < n; i++)
    for (size_t e = 0; e < cnt[i]; e++)
      if (!IS_MUTUAL(i, e)) cur[col[i * k + e] + 1]++;
  p.n = n;
  p.row_ptr[0] = 0;
  size_t most = 0;
  for (size_t i = 0; i < n; i++) {
    p.row_ptr[i + 1] = p.row_ptr[i] + cur[i + 1];
    most = cur[i + 1] > most ? cur[i + 1] : most;
  }
  size_t nnz = p.row_ptr[n];
  if (nnz == 0) {
    st = ev__fail(EV_ERR_ARGUMENT,
                  "the affinities have no positive value off the diagonal: "
                  "give each point at least one neighbour with a weight > 0");
    goto done;
  }
  ev__free(scratch);
  p.col = ev__malloc(nnz * sizeof *p.col);
  p.val = ev__malloc(nnz * sizeof *p.val);
  /* per thread: a row's columns (most, rounded to even) and values */
  size_t stride = (most + 1) / 2 + most;
  scratch = ev__malloc(T * stride * sizeof *scratch);
  if (!p.col || !p.val || !scratch) {
    st = ev__nomem("symmetric affinities", nnz * 12 + T * stride * 8);
    goto done;
  }
  /* own entries (the mutual ones summed above, as merge_row does) */
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < n; i++) {
    size_t o = p.row_ptr[i];
    memcpy(p.col + o, col + i * k, cnt[i] * sizeof *p.col);
    memcpy(p.val + o, val + i * k, cnt[i] * sizeof *p.val);
  }
  /* the others' entries, by increasing source row */
  for (size_t i = 0; i < n; i++) cur[i] = p.row_ptr[i] + cnt[i];
  for (size_t j = 0; j < n; j++)
    for (size_t e = 0; e < cnt[j]; e++) {
      if (IS_MUTUAL(j, e)) continue;
      size_t at = cur[col[j * k + e]]++;
      p.col[at] = (uint32_t)j;
      p.val[at] = val[j * k + e];
    }
#undef IS_MUTUAL
  /* merge the two sorted parts of each row */
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < n; i++) {
    size_t o = p.row_ptr[i], na = cnt[i], len = p.row_ptr[i + 1] - o;
    if (len == na || na == 0) continue;
    uint64_t *mine = scratch + (size_t)omp_get_thread_num() * stride;
    uint32_t *tc = (uint32_t *)(void *)mine;
    double *tv = (double *)(void *)(mine + (most + 1) / 2);
    size_t a = 0, b = na, m = 0;
    while (a < na || b < len) {
      int from_a = b >= len || (a < na && p.col[o + a] < p.col[o + b]);
      size_t s = from_a ? a++ : b++;
      tc[m] = p.col[o + s], tv[m++] = p.val[o + s];
    }
    memcpy(p.col + o, tc, len * sizeof *tc);
    memcpy(p.val + o, tv, len * sizeof *tv);
  }
  normalise(p.val, nnz);
done:
  ev__free(cnt);
  ev__free(cur);
  ev__free(mut);
  ev__free(scratch);
  if (st) ev__csr_free(&p);
  else *out = p;
  return st;
}
