/* The fuzzy simplicial set of UMAP: smooth_knn_dist, membership strengths
 * and the fuzzy union, as umap-learn 0.5 computes them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "umap/umap_internal.h"

#define SMOOTH_K_TOLERANCE 1e-5
#define MIN_K_DIST_SCALE 1e-3
#define BISECTION_STEPS 64

void ev__umap_graph_free(ev__umap_graph *g) {
  if (!g) return;
  ev__free(g->row_ptr);
  ev__free(g->col);
  ev__free(g->val);
  memset(g, 0, sizeof *g);
}

static ev_status graph_alloc(ev__umap_graph *g, size_t n, size_t cols,
                             size_t nnz) {
  memset(g, 0, sizeof *g);
  g->n = n, g->cols = cols;
  g->row_ptr = ev__calloc(n + 1, sizeof *g->row_ptr);
  g->col = ev__malloc((nnz ? nnz : 1) * sizeof *g->col);
  g->val = ev__malloc((nnz ? nnz : 1) * sizeof *g->val);
  if (!g->row_ptr || !g->col || !g->val) {
    ev__umap_graph_free(g);
    return ev__nomem("UMAP graph", nnz * (sizeof(uint32_t) + sizeof(double)));
  }
  return EV_OK;
}

/* rho: the local_connectivity-th smallest non-zero distance, interpolated
 * between neighbours for a fractional value. */
static double row_rho(const float *d, size_t k, double lc) {
  size_t nz = 0, first = k;
  for (size_t j = 0; j < k; j++)
    if (d[j] > 0.0f) {
      if (first == k) first = j;
      nz++;
    }
  if (nz == 0) return 0.0;
  /* the non-zero distances in order are d[first..k) minus zeros; lists are
   * sorted, so zeros come first and d[first + m] is the m-th non-zero */
  if ((double)nz >= lc) {
    size_t index = (size_t)floor(lc);
    double interp = lc - (double)index;
    if (index > 0) {
      double rho = d[first + index - 1];
      if (interp > SMOOTH_K_TOLERANCE)
        rho += interp * ((double)d[first + index] - d[first + index - 1]);
      return rho;
    }
    return interp * d[first];
  }
  return d[k - 1];
}

void ev__umap_smooth_knn_dist(const float *dist, size_t n, size_t k,
                              double local_connectivity, double *sigma,
                              double *rho) {
  double target = log2((double)k), mean_all = 0.0;
  for (size_t e = 0; e < n * k; e++) mean_all += dist[e];
  mean_all /= (double)(n * k);
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < n; i++) {
    const float *d = dist + i * k;
    double r = row_rho(d, k, local_connectivity);
    double lo = 0.0, hi = INFINITY, mid = 1.0;
    for (int it = 0; it < BISECTION_STEPS; it++) {
      double psum = 0.0;
      for (size_t j = 1; j < k; j++) {
        double dd = d[j] - r;
        psum += dd > 0.0 ? exp(-(dd / mid)) : 1.0;
      }
      if (fabs(psum - target) < SMOOTH_K_TOLERANCE) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2.0;
      } else {
        lo = mid;
        mid = isinf(hi) ? mid * 2.0 : (lo + hi) / 2.0;
      }
    }
    double mean_i = 0.0;
    for (size_t j = 0; j < k; j++) mean_i += d[j];
    mean_i /= (double)k;
    double floor_ = MIN_K_DIST_SCALE * (r > 0.0 ? mean_i : mean_all);
    sigma[i] = mid < floor_ ? floor_ : mid;
    rho[i] = r;
  }
}

typedef struct entry {
  uint32_t col;
  double val;
} entry;

static int by_col(const void *pa, const void *pb) {
  const entry *a = pa, *b = pb;
  return (a->col > b->col) - (a->col < b->col);
}

ev_status ev__umap_membership(const int64_t *idx, const float *dist, size_t n,
                              size_t k, size_t cols, const double *sigma,
                              const double *rho, int skip_self,
                              ev__umap_graph *out) {
  size_t nnz = n * k;
  entry *tmp = ev__malloc((nnz ? nnz : 1) * sizeof *tmp);
  if (!tmp) return ev__nomem("UMAP memberships", nnz * sizeof *tmp);
  ev_status st = graph_alloc(out, n, cols, nnz);
  if (st) {
    ev__free(tmp);
    return st;
  }
  size_t *count = out->row_ptr + 1;
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t i = 0; i < n; i++) {
    entry *row = tmp + i * k;
    size_t m = 0;
    for (size_t j = 0; j < k; j++) {
      int64_t c = idx[i * k + j];
      if (c < 0 || (skip_self && (size_t)c == i)) continue;
      double v, dd = dist[i * k + j] - rho[i];
      if (dd <= 0.0 || sigma[i] == 0.0) v = 1.0;
      else v = exp(-(dd / sigma[i]));
      if (v <= 0.0) continue;
      row[m].col = (uint32_t)c;
      row[m].val = v;
      m++;
    }
    qsort(row, m, sizeof *row, by_col);
    size_t w = 0; /* repeats summed, as scipy's coo -> csr does */
    for (size_t e = 0; e < m; e++) {
      if (w > 0 && row[w - 1].col == row[e].col) row[w - 1].val += row[e].val;
      else row[w++] = row[e];
    }
    count[i] = w;
  }
  out->row_ptr[0] = 0;
  for (size_t i = 0; i < n; i++) out->row_ptr[i + 1] += out->row_ptr[i];
  for (size_t i = 0; i < n; i++) {
    size_t o = out->row_ptr[i];
    for (size_t e = 0; e < out->row_ptr[i + 1] - o; e++) {
      out->col[o + e] = tmp[i * k + e].col;
      out->val[o + e] = tmp[i * k + e].val;
    }
  }
  ev__free(tmp);
  return EV_OK;
}

/* The transpose of a, columns sorted (filled in row order). */
static ev_status transpose(const ev__umap_graph *a, ev__umap_graph *t) {
  size_t nnz = a->row_ptr[a->n];
  ev_status st = graph_alloc(t, a->cols, a->n, nnz);
  if (st) return st;
  for (size_t e = 0; e < nnz; e++) t->row_ptr[a->col[e] + 1]++;
  for (size_t i = 0; i < t->n; i++) t->row_ptr[i + 1] += t->row_ptr[i];
  size_t *fill = ev__malloc((t->n ? t->n : 1) * sizeof *fill);
  if (!fill) {
    ev__umap_graph_free(t);
    return ev__nomem("UMAP graph transpose", t->n * sizeof *fill);
  }
  memcpy(fill, t->row_ptr, t->n * sizeof *fill);
  for (size_t i = 0; i < a->n; i++)
    for (size_t e = a->row_ptr[i]; e < a->row_ptr[i + 1]; e++) {
      size_t p = fill[a->col[e]]++;
      t->col[p] = (uint32_t)i;
      t->val[p] = a->val[e];
    }
  ev__free(fill);
  return EV_OK;
}

ev_status ev__umap_fuzzy_union(const ev__umap_graph *a, double mix,
                               ev__umap_graph *out) {
  ev__umap_graph t;
  ev_status st = transpose(a, &t);
  if (st) return st;
  size_t n = a->n, cap = 2 * a->row_ptr[n];
  if ((st = graph_alloc(out, n, n, cap))) {
    ev__umap_graph_free(&t);
    return st;
  }
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    size_t p = a->row_ptr[i], pe = a->row_ptr[i + 1];
    size_t q = t.row_ptr[i], qe = t.row_ptr[i + 1];
    while (p < pe || q < qe) {
      uint32_t c;
      double x = 0.0, y = 0.0;
      if (q >= qe || (p < pe && a->col[p] < t.col[q])) {
        c = a->col[p], x = a->val[p++];
      } else if (p >= pe || t.col[q] < a->col[p]) {
        c = t.col[q], y = t.val[q++];
      } else {
        c = a->col[p], x = a->val[p++], y = t.val[q++];
      }
      double prod = x * y;
      double v = mix * (x + y - prod) + (1.0 - mix) * prod;
      if (v != 0.0) {
        out->col[w] = c;
        out->val[w++] = v;
      }
    }
    out->row_ptr[i + 1] = w;
  }
  ev__umap_graph_free(&t);
  return EV_OK;
}

size_t ev__umap_components(const ev__umap_graph *g, uint32_t *labels,
                           uint32_t *stack) {
  size_t n = g->n, count = 0;
  for (size_t i = 0; i < n; i++) labels[i] = UINT32_MAX;
  for (size_t s = 0; s < n; s++) {
    if (labels[s] != UINT32_MAX) continue;
    size_t top = 0;
    stack[top++] = (uint32_t)s;
    labels[s] = (uint32_t)count;
    while (top) {
      uint32_t v = stack[--top];
      for (size_t e = g->row_ptr[v]; e < g->row_ptr[v + 1]; e++) {
        uint32_t u = g->col[e];
        if (labels[u] == UINT32_MAX) {
          labels[u] = (uint32_t)count;
          stack[top++] = u;
        }
      }
    }
    count++;
  }
  return count;
}

void ev__umap_prune(ev__umap_graph *g, size_t n_epochs) {
  size_t n = g->n, w = 0, start = 0;
  double mx = 0.0;
  for (size_t e = 0; e < g->row_ptr[n]; e++)
    if (g->val[e] > mx) mx = g->val[e];
  double cut = mx / (double)n_epochs;
  for (size_t i = 0; i < n; i++) {
    size_t end = g->row_ptr[i + 1];
    for (size_t e = start; e < end; e++)
      if (g->val[e] >= cut) {
        g->col[w] = g->col[e];
        g->val[w++] = g->val[e];
      }
    start = end;
    g->row_ptr[i + 1] = w;
  }
}
