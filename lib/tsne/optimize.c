/* Gradient descent with momentum and adaptive gains (Jacobs 1988), in the
 * two phases of scikit-learn's TSNE: early exaggeration, then the rest. */
#include <math.h>
#include <string.h>

#include "tsne/tsne_internal.h"

/* Points per item of the step's parallel loop: its sums of squares are
 * added up per item, then in item order (the same for any thread count). */
#define STEP_CHUNK 4096

typedef struct opt_buffers {
  double *grad, *update, *gains, *scratch;
  double *part; /* per STEP_CHUNK points, the step's sum of squares */
  ev__bhtree *tree;
  ev__fftgrid *grid;
} opt_buffers;

static void free_buffers(opt_buffers *b) {
  ev__free(b->grad);
  ev__free(b->update);
  ev__free(b->gains);
  ev__free(b->scratch);
  ev__free(b->part);
  ev__bhtree_free(b->tree);
  ev__fftgrid_free(b->grid);
}

static ev_status alloc_buffers(size_t n, size_t dims, const ev__tsne_opt *o,
                               opt_buffers *b) {
  size_t nd, bytes;
  memset(b, 0, sizeof *b);
  ev_status st = ev__bytes("t-SNE optimiser state", n, dims, sizeof(double),
                           &bytes);
  if (st) return st;
  nd = n * dims;
  b->grad = ev__malloc(bytes);
  b->update = ev__malloc(bytes);
  b->gains = ev__malloc(bytes);
  b->scratch = ev__malloc((2 * nd + 2 * n) * sizeof(double));
  b->part = ev__malloc((n / STEP_CHUNK + 1) * sizeof(double));
  if (!b->grad || !b->update || !b->gains || !b->scratch || !b->part) {
    free_buffers(b);
    return ev__nomem("t-SNE optimiser state", 5 * bytes);
  }
  if (o->barnes_hut && (st = ev__bhtree_create(n, dims, &b->tree))) {
    free_buffers(b);
    return st;
  }
  if (o->fft && ((st = ev__fftgrid_create(n, dims, o->fft_points,
                                          o->fft_min_intervals,
                                          o->fft_interval_width,
                                          o->fft_max_bytes, &b->grid)) ||
                 (st = ev__fftgrid_near(b->grid, o->fft_near_radius,
                                        o->fft_near_points, 0)))) {
    free_buffers(b);
    return st;
  }
  return EV_OK;
}

/* ---- the points in the map's order (FFT method) ----
 * The attraction reads y_j of every neighbour j of each point i, and the
 * FFT method spreads onto the grid and interpolates back point by point:
 * in the caller's order all three jump through memory (a point's
 * neighbours are anywhere in the data). So every RELABEL_EVERY iterations
 * the points are renumbered in the order of their grid intervals (the
 * grid's stable sort of the last gradient): then neighbours in the map,
 * which after the first iterations are P's neighbours too, are close in
 * memory. P is copied with rows and columns renumbered, each row's entries
 * in their original order (a point's attraction is the same sum); y, the
 * update and the gains follow; the map goes back in the caller's order.
 * Only the order of sums over points changes (rounding); the renumbering
 * depends only on the map, so not on the thread count. */
#define RELABEL_EVERY 50

typedef struct relabel {
  ev__csr p;      /* the caller's P, renumbered */
  uint32_t *perm; /* current number -> caller's */
  uint32_t *inv;  /* caller's number -> current */
  uint32_t *next; /* scratch */
} relabel;

static void relabel_free(relabel *r) {
  ev__csr_free(&r->p);
  ev__free(r->perm);
  ev__free(r->inv);
  ev__free(r->next);
  memset(r, 0, sizeof *r);
}

/* A copy of p in its own order. */
static ev_status relabel_init(relabel *r, const ev__csr *p) {
  size_t n = p->n, nnz = p->row_ptr[n];
  memset(r, 0, sizeof *r);
  r->p.n = n;
  r->p.row_ptr = ev__malloc((n + 1) * sizeof *r->p.row_ptr);
  r->p.col = ev__malloc(nnz * sizeof *r->p.col);
  r->p.fval = ev__malloc(nnz * sizeof *r->p.fval);
  r->perm = ev__malloc(n * sizeof *r->perm);
  r->inv = ev__malloc(n * sizeof *r->inv);
  r->next = ev__malloc(n * sizeof *r->next);
  if (!r->p.row_ptr || !r->p.col || !r->p.fval || !r->perm || !r->inv ||
      !r->next) {
    relabel_free(r);
    return ev__nomem("t-SNE affinities in the map's order",
                     nnz * 8 + n * 20);
  }
  memcpy(r->p.row_ptr, p->row_ptr, (n + 1) * sizeof *r->p.row_ptr);
  memcpy(r->p.col, p->col, nnz * sizeof *r->p.col);
  memcpy(r->p.fval, p->fval, nnz * sizeof *r->p.fval);
  for (size_t i = 0; i < n; i++) r->perm[i] = r->inv[i] = (uint32_t)i;
  return EV_OK;
}

/* Renumber so that the current point order[k] becomes point k; the
 * per-point arrays a[0..count) (n x dims) follow, through tmp. */
static void relabel_apply(relabel *r, const ev__csr *p, const uint32_t *order,
                          size_t dims, double **a, int count, double *tmp) {
  size_t n = p->n;
  for (size_t k = 0; k < n; k++) r->next[k] = r->perm[order[k]];
  uint32_t *t = r->perm;
  r->perm = r->next, r->next = t;
  for (size_t k = 0; k < n; k++) r->inv[r->perm[k]] = (uint32_t)k;
  for (int c = 0; c < count; c++) {
    for (size_t k = 0; k < n; k++)
      for (size_t d = 0; d < dims; d++)
        tmp[k * dims + d] = a[c][(size_t)order[k] * dims + d];
    memcpy(a[c], tmp, n * dims * sizeof *tmp);
  }
  size_t *rp = r->p.row_ptr;
  rp[0] = 0;
  for (size_t k = 0; k < n; k++)
    rp[k + 1] = rp[k] + p->row_ptr[r->perm[k] + 1] - p->row_ptr[r->perm[k]];
#pragma omp parallel for schedule(dynamic, 1024) if (n >= EV__TSNE_PAR_MIN)
  for (size_t k = 0; k < n; k++) {
    size_t src = p->row_ptr[r->perm[k]], len = rp[k + 1] - rp[k];
    for (size_t e = 0; e < len; e++) {
      r->p.col[rp[k] + e] = r->inv[p->col[src + e]];
      r->p.fval[rp[k] + e] = p->fval[src + e];
    }
  }
}

/* y (current order) back into the caller's order, through tmp. */
static void relabel_restore(const relabel *r, size_t n, size_t dims,
                            double *y, double *tmp) {
  for (size_t k = 0; k < n; k++)
    for (size_t d = 0; d < dims; d++)
      tmp[(size_t)r->perm[k] * dims + d] = y[k * dims + d];
  memcpy(y, tmp, n * dims * sizeof *tmp);
}

static void restart_phase(double *update, double *gains, size_t nd) {
  for (size_t e = 0; e < nd; e++) update[e] = 0.0, gains[e] = 1.0;
}

/* One step; returns the norm of the gain-scaled gradient, the figure
 * scikit-learn compares with min_grad_norm. With max_step > 0 each point's
 * update (momentum included) is shortened to at most that length, as
 * openTSNE's max_step_norm. */
static void step_range(double *y, const double *grad, double *update,
                       double *gains, size_t i0, size_t i1, size_t dims,
                       double momentum, double lr, double min_gain,
                       double max_step, double *part) {
  double norm2 = 0.0;
  for (size_t i = i0; i < i1; i++) {
    double len2 = 0.0;
    for (size_t e = i * dims; e < (i + 1) * dims; e++) {
      double g = grad[e], gain = gains[e];
      gain = update[e] * g < 0.0 ? gain + 0.2 : gain * 0.8;
      gain = gain < min_gain ? min_gain : gain;
      gains[e] = gain;
      norm2 += (gain * g) * (gain * g);
      update[e] = momentum * update[e] - lr * gain * g;
      len2 += update[e] * update[e];
    }
    double shrink = max_step > 0.0 && len2 > max_step * max_step
                        ? max_step / sqrt(len2)
                        : 1.0;
    for (size_t e = i * dims; e < (i + 1) * dims; e++) {
      update[e] *= shrink;
      y[e] += update[e];
    }
  }
  *part = norm2;
}

static double step(double *y, const double *grad, double *update,
                   double *gains, size_t n, size_t dims, double momentum,
                   double lr, double min_gain, double max_step,
                   double *part) {
  size_t chunks = (n + STEP_CHUNK - 1) / STEP_CHUNK;
#pragma omp parallel for schedule(static) if (n >= EV__TSNE_PAR_MIN)
  for (size_t c = 0; c < chunks; c++)
    step_range(y, grad, update, gains, c * STEP_CHUNK,
               (c + 1) * STEP_CHUNK < n ? (c + 1) * STEP_CHUNK : n, dims,
               momentum, lr, min_gain, max_step, &part[c]);
  double norm2 = 0.0;
  for (size_t c = 0; c < chunks; c++) norm2 += part[c];
  return sqrt(norm2);
}

/* The learning rate of a phase with P times exaggeration: the caller's, or
 * the rule's (scikit-learn's is the same in both phases). */
static double phase_rate(const ev__tsne_opt *o, size_t n,
                         double exaggeration) {
  if (o->learning_rate > 0.0) return o->learning_rate;
  if (o->lr_rule == EV_TSNE_LR_OPENTSNE)
    return (double)n / exaggeration / 4.0;
  double lr = (double)n / o->exaggeration / 4.0;
  return lr < 50.0 ? 50.0 : lr;
}

/* The gradient by the method of the options. */
static ev_status gradient(const ev__csr *p, const double *y, size_t dims,
                          const ev__tsne_opt *o, opt_buffers *b,
                          double exaggeration, double plogp, double *kl) {
  if (b->grid)
    return ev__tsne_gradient_fft(p, y, dims, exaggeration, b->grid, plogp,
                                 b->grad, kl, b->scratch);
  ev__tsne_gradient(p, y, dims, exaggeration, b->tree, o->theta, plogp,
                    b->grad, kl, b->scratch);
  return EV_OK;
}

/* The map's centre has no effect on the cost; keeping it at 0 keeps the
 * tree's coordinates small. */
static void recentre(double *y, size_t n, size_t dims) {
  double mean[EV__TSNE_MAX_DIMS] = {0};
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < dims; k++) mean[k] += y[i * dims + k];
  for (size_t k = 0; k < dims; k++) mean[k] /= (double)n;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < dims; k++) y[i * dims + k] -= mean[k];
}

/* scikit-learn's stopping rules (_gradient_descent with _N_ITER_CHECK):
 * every EV__TSNE_N_ITER_CHECK iterations (counted from the start of the
 * fit), and at no other time, a phase ends when the gain-scaled gradient's
 * norm is at most min_grad_norm, or when the KL divergence has not improved
 * on its phase's best for more than the phase's window. Each phase starts
 * its own best (none) at its first iteration. The exaggeration phase's
 * window is its own length, so only the gradient rule can end it, and
 * ending it early starts the second phase at once rather than ending the
 * fit. The second phase's window is n_iter_without_progress. */
typedef struct phase_watch {
  size_t best_iter;
  double best_kl;
} phase_watch;

static void watch_start(phase_watch *w, size_t it) {
  w->best_iter = it;
  w->best_kl = INFINITY;
}

/* Whether the phase ends after iteration it (0-based), given the KL of
 * the map after it (NaN when not computed: the window cannot run out in
 * the exaggeration phase, so it needs none). */
static int watch_stops(phase_watch *w, size_t it, double kl, double norm,
                       size_t window, double min_grad_norm) {
  if (!isnan(kl)) {
    if (kl < w->best_kl) {
      w->best_kl = kl;
      w->best_iter = it;
    } else if (it - w->best_iter > window) {
      return 1;
    }
  }
  return min_grad_norm > 0.0 && norm <= min_grad_norm;
}

ev_status ev__tsne_optimize(ev__csr *caller_p, double *y, size_t dims,
                            const ev__tsne_opt *o, ev_progress_fn cb,
                            void *user, size_t *iters, double *kl_out) {
  const ev__csr *p = caller_p;
  size_t n = p->n, nd = n * dims;
  opt_buffers b;
  relabel rl = {0};
  double plogp = ev__tsne_entropy_term(p), kl = NAN;
  ev_status st = alloc_buffers(n, dims, o, &b);
  if (st) return st;
  /* The FFT method reads P as floats only (the renumbered copy; and
   * ev_tsne_affinities hands floats out): the caller's P keeps floats
   * from here on, before the copy is made, so that at most P in floats
   * and its copy are held (12 + 8 bytes an entry before: at 1,000,000
   * points that was 0.5 GB more at the peak). */
  if (b.grid && ((st = ev__csr_float_values(caller_p)) ||
                 (st = relabel_init(&rl, p)))) {
    free_buffers(&b);
    return st;
  }
  if (b.grid) p = &rl.p;
  size_t exag_end = o->exaggeration_iters; /* first iteration of phase 2 */
  phase_watch watch;
  watch_start(&watch, 0);
  restart_phase(b.update, b.gains, nd);
  *iters = 0;
  for (size_t it = 0; it < o->n_iter; it++) {
    int exaggerating = it < exag_end;
    if (it == exag_end && it > 0) {
      restart_phase(b.update, b.gains, nd);
      watch_start(&watch, it);
    }
    int report = cb && o->progress_every && (it + 1) % o->progress_every == 0;
    int check = (it + 1) % EV__TSNE_N_ITER_CHECK == 0;
    int want_kl = report || (check && !exaggerating);
    kl = NAN;
    double exaggeration =
        exaggerating ? o->exaggeration : o->late_exaggeration;
    if ((st = gradient(p, y, dims, o, &b, exaggeration, plogp,
                       want_kl ? &kl : NULL)))
      break;
    double norm = step(y, b.grad, b.update, b.gains, n, dims,
                       exaggerating ? o->momentum : o->final_momentum,
                       phase_rate(o, n, exaggeration), o->min_gain,
                       o->max_step_norm, b.part);
    recentre(y, n, dims);
    if (b.grid && it % RELABEL_EVERY == 0) {
      double *per_point[3] = {y, b.update, b.gains};
      relabel_apply(&rl, caller_p, ev__fftgrid_order(b.grid), dims,
                    per_point, 3, b.grad);
    }
    *iters = it + 1;
    if (report &&
        (st = ev__progress(cb, user,
                           exaggerating ? EV_STAGE_EXAGGERATION
                                        : EV_STAGE_OPTIMIZE,
                           it + 1, o->n_iter, kl)))
      break;
    if (!check) continue;
    /* The KL above is of the map before this step, as in scikit-learn,
     * whose objective returns the error and the gradient together. */
    if (exaggerating) {
      if (watch_stops(&watch, it, NAN, norm, exag_end, o->min_grad_norm))
        exag_end = it + 1;
    } else if (watch_stops(&watch, it, kl, norm, o->n_iter_without_progress,
                           o->min_grad_norm)) {
      break;
    }
  }
  /* The KL divergence of the map handed back, cancelled or not. */
  if (st == EV_OK || st == EV_ERR_CANCELLED) {
    ev_status last = gradient(p, y, dims, o, &b, 1.0, plogp, &kl);
    if (last) st = last;
  }
  *kl_out = kl;
  if (b.grid) relabel_restore(&rl, n, dims, y, b.grad);
  relabel_free(&rl);
  free_buffers(&b);
  return st;
}
