/* UMAP's SGD (umap-learn's optimize_layout_euclidean) made reproducible
 * for any thread count: every point moves against the positions the
 * others had at the start of the epoch (a copy), each point's edges are
 * processed in CSR order by one thread, and every negative sample is a
 * hash of (seed, epoch, edge, sample). */
#include <math.h>
#include <string.h>

#include "umap/umap_internal.h"

#define CLIP 4.0
#define PROGRESS_EVERY 10
/* Below this many edges an epoch runs on one thread (same result). */
#define PAR_MIN_EDGES 20000

/* d^b in single precision, as umap-learn's float32 maps compute it: about
 * twice as fast as pow() and the SGD's noise dwarfs the difference. */
static inline double pow_f(double d, double b) {
  return (double)powf((float)d, (float)b);
}

static inline double clip(double v) {
  return v > CLIP ? CLIP : (v < -CLIP ? -CLIP : v);
}

typedef struct edges {
  double *eps, *next, *next_neg; /* per edge */
} edges;

static void edges_free(edges *s) {
  ev__free(s->eps), ev__free(s->next), ev__free(s->next_neg);
}

/* umap-learn's make_epochs_per_sample: max weight / weight epochs between
 * two samples of an edge. */
static ev_status edges_init(const ev__umap_graph *g, double rate, edges *s) {
  size_t nnz = g->row_ptr[g->n], bytes = (nnz ? nnz : 1) * sizeof(double);
  s->eps = ev__malloc(bytes);
  s->next = ev__malloc(bytes);
  s->next_neg = ev__malloc(bytes);
  if (!s->eps || !s->next || !s->next_neg) {
    edges_free(s);
    return ev__nomem("UMAP edge schedule", 3 * bytes);
  }
  double mx = 0.0;
  for (size_t e = 0; e < nnz; e++)
    if (g->val[e] > mx) mx = g->val[e];
  for (size_t e = 0; e < nnz; e++) {
    s->eps[e] = g->val[e] > 0.0 ? mx / g->val[e] : -1.0;
    s->next[e] = s->eps[e];
    s->next_neg[e] = rate > 0.0 ? s->eps[e] / rate : INFINITY;
  }
  return EV_OK;
}

/* One point's edges in epoch `epoch`: cur (its position, updated in place)
 * against tail (positions at the start of the epoch). */
static void point_epoch(const ev__umap_graph *g, size_t i, double *cur,
                        const double *tail, size_t n_tail, edges *s,
                        const ev__umap_sgd *o, size_t epoch, double alpha,
                        int self_tail) {
  size_t dims = o->dims;
  double a = o->a, b = o->b, ep = (double)epoch;
  double attract = o->move_other ? 2.0 : 1.0;
  for (size_t e = g->row_ptr[i]; e < g->row_ptr[i + 1]; e++) {
    if (!(s->next[e] <= ep) || s->eps[e] <= 0.0) continue;
    const double *other = tail + (size_t)g->col[e] * dims;
    double d2 = 0.0;
    for (size_t c = 0; c < dims; c++)
      d2 += (cur[c] - other[c]) * (cur[c] - other[c]);
    if (d2 > 0.0) {
      double pb = pow_f(d2, b);
      double gc = -2.0 * a * b * (pb / d2) / (a * pb + 1.0);
      for (size_t c = 0; c < dims; c++)
        cur[c] += attract * clip(gc * (cur[c] - other[c])) * alpha;
    }
    s->next[e] += s->eps[e];
    double eneg = s->eps[e] / o->negative_rate;
    size_t n_neg = o->negative_rate > 0.0
                       ? (size_t)fmax(0.0, (ep - s->next_neg[e]) / eneg)
                       : 0;
    for (size_t p = 0; p < n_neg; p++) {
      uint64_t h = ev__hash3(o->seed, epoch, e, p);
      size_t k = (size_t)(((h >> 32) * (uint64_t)n_tail) >> 32);
      if (self_tail && k == i) continue;
      other = tail + k * dims;
      d2 = 0.0;
      for (size_t c = 0; c < dims; c++)
        d2 += (cur[c] - other[c]) * (cur[c] - other[c]);
      if (d2 > 0.0) {
        double gc = 2.0 * o->gamma * b /
                    ((0.001 + d2) * (a * pow_f(d2, b) + 1.0));
        for (size_t c = 0; c < dims; c++)
          cur[c] += (gc > 0.0 ? clip(gc * (cur[c] - other[c])) : 0.0) * alpha;
      } else {
        for (size_t c = 0; c < dims; c++) cur[c] += CLIP * alpha;
      }
    }
    if (n_neg) s->next_neg[e] += (double)n_neg * eneg;
  }
}

ev_status ev__umap_optimize(const ev__umap_graph *g, double *head,
                            const double *tail, const ev__umap_sgd *o,
                            ev_progress_fn cb, void *user, size_t *epochs) {
  size_t n = g->n, dims = o->dims, n_tail = tail ? g->cols : n;
  *epochs = 0;
  edges s;
  ev_status st = edges_init(g, o->negative_rate, &s);
  if (st) return st;
  double *prev = NULL;
  if (!tail) {
    size_t bytes;
    if ((st = ev__bytes("UMAP map copy", n, dims, sizeof(double), &bytes)) ||
        !(prev = ev__malloc(bytes))) {
      edges_free(&s);
      return st ? st : ev__nomem("UMAP map copy", n * dims * sizeof(double));
    }
  }
  int par = g->row_ptr[n] >= PAR_MIN_EDGES;
  for (size_t epoch = 0; epoch < o->n_epochs; epoch++) {
    /* umap-learn runs epoch 0 at the initial rate and lowers it after
     * each epoch: epoch e >= 1 runs at alpha (1 - (e - 1) / n_epochs) */
    double done = epoch > 0 ? (double)(epoch - 1) : 0.0;
    double alpha = o->alpha * (1.0 - done / (double)o->n_epochs);
    const double *from = tail;
    if (!tail) {
      memcpy(prev, head, n * dims * sizeof *prev);
      from = prev;
    }
#pragma omp parallel for schedule(dynamic, 256) if (par)
    for (size_t i = 0; i < n; i++)
      point_epoch(g, i, head + i * dims, from, n_tail, &s, o, epoch, alpha,
                  !tail);
    *epochs = epoch + 1;
    if ((epoch + 1) % PROGRESS_EVERY == 0 || epoch + 1 == o->n_epochs) {
      st = ev__progress(cb, user, EV_STAGE_EPOCHS, epoch + 1, o->n_epochs,
                        NAN);
      if (st) break;
    }
  }
  ev__free(prev);
  edges_free(&s);
  return st;
}
