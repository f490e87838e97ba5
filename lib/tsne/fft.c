/* FFT-interpolated repulsion (Linderman et al., Nature Methods 16, 2019:
 * FIt-SNE), in 1 and 2 dimensions.
 *
 * The map's bounding square is cut into B intervals per axis, each holding
 * p equispaced interpolation nodes at (j + 1/2) / p of its width, so the
 * nodes form one regular grid of N = B p nodes per axis, spacing h. Each
 * point spreads its charges (1 and its coordinates) onto the p^dims nodes
 * of its interval by Lagrange interpolation; the node values are convolved
 * with the kernels 1 / (1 + d^2)^2 and 1 / (1 + d^2) by FFT (zero-padded to
 * a length L >= 2N, so the circular convolution is the linear one); the
 * results are interpolated back to the points with the same weights:
 *
 *   phi0 = sum_j K2(y_i, y_j),  phik = sum_j K2(y_i, y_j) y_jk,
 *   phiz = sum_j K1(y_i, y_j)
 *   rep_ik = y_ik phi0 - phik,  z_i = phiz - 1 (the point itself).
 *
 * Determinism: points are sorted by interval (stably, by index), and each
 * interval's nodes are summed by one thread over its points in index
 * order; the transforms are single-threaded FFTW plans made with
 * FFTW_ESTIMATE on 64-byte aligned buffers. So the sums do not depend on
 * the thread count.
 *
 * Memory: the grids grow with the map (never shrink), to at most
 * max_bytes; beyond that the intervals widen instead. They are
 * reallocated only when the map outgrows them (a few times per fit). */
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "tsne/tsne_internal.h"

/* FFTW's planner is not thread-safe: every plan is made and destroyed
 * under this lock (executing plans is thread-safe). */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

#define MAX_P EV__TSNE_FFT_MAX_POINTS

struct ev__fftgrid {
  size_t n, dims, p, min_intervals;
  double interval_width, max_bytes;
  double den[MAX_P]; /* Lagrange denominators */
  /* per point: interval, weights (dims x p), sorted order */
  uint32_t *box, *order;
  double *wts;
  size_t *start; /* cap_boxes + 1 */
  /* grids, for transforms of length up to cap_L per axis */
  size_t cap_L, cap_boxes;
  double *charge[3], *out[4], *khat[2];
  fftw_complex *spec[4];
  /* plans for length L */
  fftw_plan fwd, inv;
  size_t plan_L;
  /* kernel spectra for (L, h) */
  size_t kern_L;
  double kern_h;
  /* this iteration's grid */
  size_t L, B, rows_dirty;
  double lo[2], width;
};

static size_t n_charges(size_t dims) { return dims + 1; }
static size_t n_outputs(size_t dims) { return dims + 2; }
/* Elements of one real grid and of one half spectrum. */
static size_t real_size(size_t L, size_t dims) { return dims == 1 ? L : L * L; }
static size_t half_size(size_t L, size_t dims) {
  return dims == 1 ? L / 2 + 1 : L * (L / 2 + 1);
}

/* Bytes of all grids for transforms of length L. */
static double grid_bytes(size_t L, size_t dims) {
  double r = (double)real_size(L, dims), h = (double)half_size(L, dims);
  return (double)(n_charges(dims) + n_outputs(dims)) * r * 8.0 +
         (double)n_outputs(dims) * h * 16.0 + 2.0 * h * 8.0;
}

/* The smallest even length >= m whose odd part is 3^b 5^c 7^d: FFTW is
 * fastest on such sizes. */
static size_t nice_length(size_t m) {
  for (size_t L = m + (m & 1);; L += 2) {
    size_t r = L / 2;
    while (r % 2 == 0) r /= 2;
    while (r % 3 == 0) r /= 3;
    while (r % 5 == 0) r /= 5;
    while (r % 7 == 0) r /= 7;
    if (r == 1) return L;
  }
}

static void free_grids(ev__fftgrid *g) {
  pthread_mutex_lock(&planner_lock);
  if (g->fwd) fftw_destroy_plan(g->fwd);
  if (g->inv) fftw_destroy_plan(g->inv);
  pthread_mutex_unlock(&planner_lock);
  g->fwd = g->inv = NULL;
  g->plan_L = 0;
  for (int c = 0; c < 3; c++) ev__free_aligned(g->charge[c]), g->charge[c] = NULL;
  for (int c = 0; c < 4; c++) {
    ev__free_aligned(g->out[c]), g->out[c] = NULL;
    ev__free_aligned(g->spec[c]), g->spec[c] = NULL;
  }
  for (int c = 0; c < 2; c++) ev__free_aligned(g->khat[c]), g->khat[c] = NULL;
  ev__free(g->start);
  g->start = NULL;
  g->cap_L = g->cap_boxes = 0;
  g->kern_L = 0;
}

void ev__fftgrid_free(ev__fftgrid *g) {
  if (!g) return;
  free_grids(g);
  ev__free(g->box);
  ev__free(g->order);
  ev__free(g->wts);
  ev__free(g);
}

/* Grids for length L (and intervals up to L / (2p) per axis). */
static ev_status alloc_grids(ev__fftgrid *g, size_t L) {
  free_grids(g);
  size_t dims = g->dims, r = real_size(L, dims), h = half_size(L, dims);
  size_t b1 = L / (2 * g->p), boxes = dims == 1 ? b1 : b1 * b1;
  int ok = 1;
  for (size_t c = 0; c < n_charges(dims); c++)
    ok &= (g->charge[c] = ev__malloc_aligned(r * sizeof(double))) != NULL;
  for (size_t c = 0; c < n_outputs(dims); c++) {
    ok &= (g->out[c] = ev__malloc_aligned(r * sizeof(double))) != NULL;
    ok &= (g->spec[c] = ev__malloc_aligned(h * sizeof(fftw_complex))) != NULL;
  }
  for (int c = 0; c < 2; c++)
    ok &= (g->khat[c] = ev__malloc_aligned(h * sizeof(double))) != NULL;
  ok &= (g->start = ev__malloc((boxes + 1) * sizeof *g->start)) != NULL;
  if (!ok) {
    free_grids(g);
    return ev__nomem("FFT t-SNE grids", (size_t)grid_bytes(L, dims));
  }
  for (size_t c = 0; c < n_charges(dims); c++)
    memset(g->charge[c], 0, r * sizeof(double));
  g->cap_L = L;
  g->cap_boxes = boxes;
  g->rows_dirty = 0;
  return EV_OK;
}

ev_status ev__fftgrid_create(size_t n, size_t dims, size_t p,
                             size_t min_intervals, double interval_width,
                             double max_bytes, ev__fftgrid **out) {
  if (dims < 1 || dims > 2 || p < 1 || p > MAX_P || n > UINT32_MAX / 2)
    return ev__fail(EV_ERR_ARGUMENT,
                    "the FFT method embeds up to %u points in 1 or 2 "
                    "dimensions with 1 to %d interpolation points, got %zu "
                    "points in %zu dimensions, %zu points: use Barnes-Hut",
                    UINT32_MAX / 2, MAX_P, n, dims, p);
  ev__fftgrid *g = ev__calloc(1, sizeof *g);
  if (!g) return ev__nomem("FFT t-SNE grids", sizeof *g);
  g->n = n, g->dims = dims, g->p = p, g->min_intervals = min_intervals;
  g->interval_width = interval_width, g->max_bytes = max_bytes;
  for (size_t j = 0; j < p; j++) {
    double d = 1.0;
    for (size_t m = 0; m < p; m++)
      if (m != j) d *= ((double)j - (double)m) / (double)p;
    g->den[j] = d;
  }
  g->box = ev__malloc(n * sizeof *g->box);
  g->order = ev__malloc(n * sizeof *g->order);
  g->wts = ev__malloc(n * dims * p * sizeof *g->wts);
  ev_status st = EV_OK;
  if (!g->box || !g->order || !g->wts)
    st = ev__nomem("FFT t-SNE point weights", n * (8 + dims * p * 8));
  else
    st = alloc_grids(g, nice_length(2 * min_intervals * p));
  if (st) {
    ev__fftgrid_free(g);
    return st;
  }
  *out = g;
  return EV_OK;
}

double ev__fftgrid_min_bytes(size_t dims, size_t p, size_t min_intervals) {
  return grid_bytes(nice_length(2 * min_intervals * p), dims);
}

/* ---- plans and kernels ---- */

static ev_status make_plans(ev__fftgrid *g, size_t L) {
  int len[2] = {(int)L, (int)L}, rank = (int)g->dims;
  unsigned flags = FFTW_ESTIMATE;
  pthread_mutex_lock(&planner_lock);
  if (g->fwd) fftw_destroy_plan(g->fwd);
  if (g->inv) fftw_destroy_plan(g->inv);
  g->fwd = fftw_plan_dft_r2c(rank, len, g->charge[0], g->spec[0], flags);
  g->inv = fftw_plan_dft_c2r(rank, len, g->spec[0], g->out[0], flags);
  pthread_mutex_unlock(&planner_lock);
  g->plan_L = g->fwd && g->inv ? L : 0;
  if (!g->plan_L)
    return ev__fail(EV_ERR_NOMEM,
                    "FFTW could not plan a transform of %zu^%zu points: "
                    "free memory or lower EV_TSNE_MAX_MEMORY_MB",
                    L, g->dims);
  return EV_OK;
}

/* The spectra of both kernels on the circle of length L, spacing h, with
 * the 1 / L^dims of the inverse transform folded in. They are real: the
 * kernels are even. Uses out[0] and spec[0] as workspace. */
static void kernel_spectra(ev__fftgrid *g, size_t L, double h) {
  size_t dims = g->dims, hs = half_size(L, dims);
  double scale = 1.0 / (double)real_size(L, dims);
  for (int which = 0; which < 2; which++) {
    double *k = g->out[0];
    for (size_t a = 0; a < (dims == 1 ? 1 : L); a++) {
      double da = dims == 1 ? 0.0 : (double)(a <= L - a ? a : L - a) * h;
      for (size_t b = 0; b < L; b++) {
        double db = (double)(b <= L - b ? b : L - b) * h;
        double w = 1.0 / (1.0 + da * da + db * db);
        k[a * L + b] = which == 0 ? w * w : w;
      }
    }
    fftw_execute_dft_r2c(g->fwd, k, g->spec[0]);
    for (size_t e = 0; e < hs; e++) g->khat[which][e] = g->spec[0][e][0] * scale;
  }
  g->kern_L = L;
  g->kern_h = h;
}

/* Choose this iteration's grid for y and make sure the buffers, plans and
 * kernel spectra fit it. Serial; the only step that can fail. */
ev_status ev__fftgrid_prepare(ev__fftgrid *g, const double *y) {
  size_t n = g->n, dims = g->dims, p = g->p;
  double lo[2] = {y[0], dims == 2 ? y[1] : 0}, hi[2] = {lo[0], lo[1]};
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < dims; k++) {
      double v = y[i * dims + k];
      lo[k] = v < lo[k] ? v : lo[k];
      hi[k] = v > hi[k] ? v : hi[k];
    }
  double span = hi[0] - lo[0];
  if (dims == 2 && hi[1] - lo[1] > span) span = hi[1] - lo[1];
  /* intervals: at least min_intervals, else one per interval_width */
  double want = ceil(span / g->interval_width);
  size_t B = g->min_intervals;
  if (want > (double)B) B = want < 1e9 ? (size_t)want : (size_t)1e9;
  size_t L = nice_length(2 * B * p);
  while (B > g->min_intervals && grid_bytes(L, dims) > g->max_bytes) {
    B = B * 9 / 10 > g->min_intervals ? B * 9 / 10 : g->min_intervals;
    L = nice_length(2 * B * p);
  }
  ev_status st;
  if (L > g->cap_L) {
    /* grow by at least a quarter, so the grids are reallocated rarely */
    size_t cap = nice_length(L + L / 4);
    if (grid_bytes(cap, dims) > g->max_bytes) cap = L;
    if ((st = alloc_grids(g, cap))) return st;
  }
  if (L != g->plan_L && (st = make_plans(g, L))) return st;
  /* all points on one spot: any width is exact enough; a small one makes
   * the kernel flat over the interval */
  double width = span > 0.0 ? span / (double)B : 1e-3;
  if (span > 0.0 && (double)B * g->interval_width >= span &&
      B > g->min_intervals)
    width = g->interval_width; /* same h, same kernels, while the map grows */
  double h = width / (double)p;
  if (L != g->kern_L || h != g->kern_h) kernel_spectra(g, L, h);
  /* the charge grids must be zero outside the nodes written below */
  size_t rows = dims == 1 ? 1 : B * p, row_len = dims == 1 ? L : L;
  if (g->L != L) g->rows_dirty = g->cap_L; /* layout changed: clear all */
  size_t clear = g->rows_dirty > rows ? g->rows_dirty : rows;
  if (dims == 1) clear = 1;
  if (clear * row_len > real_size(g->cap_L, dims))
    clear = real_size(g->cap_L, dims) / row_len;
  for (size_t c = 0; c < n_charges(dims); c++)
    memset(g->charge[c], 0, clear * row_len * sizeof(double));
  g->rows_dirty = rows;
  g->L = L, g->B = B, g->width = width;
  g->lo[0] = lo[0], g->lo[1] = lo[1];
  return EV_OK;
}

/* ---- spreading and gathering ---- */

/* Interval and Lagrange weights of coordinate v on one axis. */
static inline size_t locate(const ev__fftgrid *g, double v, double lo,
                            double *w) {
  size_t p = g->p;
  double t = (v - lo) / g->width;
  size_t b = t > 0.0 ? (size_t)t : 0;
  if (b >= g->B) b = g->B - 1;
  double u = t - (double)b;
  for (size_t j = 0; j < p; j++) {
    double num = 1.0;
    for (size_t m = 0; m < p; m++)
      if (m != j) num *= u - ((double)m + 0.5) / (double)p;
    w[j] = num / g->den[j];
  }
  return b;
}

static void weigh_points(ev__fftgrid *g, const double *y) {
  size_t n = g->n, dims = g->dims, p = g->p;
#pragma omp for schedule(static)
  for (size_t i = 0; i < n; i++) {
    double *w = g->wts + i * dims * p;
    size_t b = locate(g, y[i * dims], g->lo[0], w);
    if (dims == 2) b = b * g->B + locate(g, y[i * dims + 1], g->lo[1], w + p);
    g->box[i] = (uint32_t)b;
  }
}

/* Stable counting sort of the points by interval. */
static void sort_points(ev__fftgrid *g) {
  size_t n = g->n, boxes = g->dims == 1 ? g->B : g->B * g->B;
  size_t *start = g->start;
  memset(start, 0, (boxes + 1) * sizeof *start);
  for (size_t i = 0; i < n; i++) start[g->box[i] + 1]++;
  for (size_t b = 0; b < boxes; b++) start[b + 1] += start[b];
  for (size_t i = 0; i < n; i++) g->order[start[g->box[i]]++] = (uint32_t)i;
  for (size_t b = boxes; b > 0; b--) start[b] = start[b - 1];
  start[0] = 0;
}

static void spread(ev__fftgrid *g, const double *y) {
  size_t dims = g->dims, p = g->p, L = g->L, B = g->B;
  size_t boxes = dims == 1 ? B : B * B;
#pragma omp for schedule(dynamic, 16)
  for (size_t b = 0; b < boxes; b++) {
    for (size_t s = g->start[b]; s < g->start[b + 1]; s++) {
      size_t i = g->order[s];
      const double *w = g->wts + i * dims * p, *yi = y + i * dims;
      if (dims == 1) {
        for (size_t j = 0; j < p; j++) {
          size_t node = b * p + j;
          g->charge[0][node] += w[j];
          g->charge[1][node] += w[j] * yi[0];
        }
        continue;
      }
      size_t bx = b / B, by = b % B;
      for (size_t jx = 0; jx < p; jx++)
        for (size_t jy = 0; jy < p; jy++) {
          size_t node = (bx * p + jx) * L + by * p + jy;
          double ww = w[jx] * w[p + jy];
          g->charge[0][node] += ww;
          g->charge[1][node] += ww * yi[0];
          g->charge[2][node] += ww * yi[1];
        }
    }
  }
}

static void gather(ev__fftgrid *g, const double *y, double *rep, double *z) {
  size_t n = g->n, dims = g->dims, p = g->p, L = g->L, B = g->B;
#pragma omp for schedule(static) nowait
  for (size_t i = 0; i < n; i++) {
    const double *w = g->wts + i * dims * p, *yi = y + i * dims;
    size_t b = g->box[i];
    double phi[4] = {0, 0, 0, 0};
    if (dims == 1) {
      for (size_t j = 0; j < p; j++)
        for (size_t c = 0; c < 3; c++) phi[c] += w[j] * g->out[c][b * p + j];
      rep[i] = yi[0] * phi[0] - phi[1];
      z[i] = phi[2] - 1.0;
      continue;
    }
    size_t bx = b / B, by = b % B;
    for (size_t jx = 0; jx < p; jx++)
      for (size_t jy = 0; jy < p; jy++) {
        size_t node = (bx * p + jx) * L + by * p + jy;
        double ww = w[jx] * w[p + jy];
        for (size_t c = 0; c < 4; c++) phi[c] += ww * g->out[c][node];
      }
    rep[2 * i] = yi[0] * phi[0] - phi[1];
    rep[2 * i + 1] = yi[1] * phi[0] - phi[2];
    z[i] = phi[3] - 1.0;
  }
}

/* Forward transforms of the charges, products with the kernel spectra
 * (output c: charge c times K2 for c < n_charges, charge 0 times K1 for
 * the last), inverse transforms. */
static void convolve(ev__fftgrid *g) {
  size_t dims = g->dims, nc = n_charges(dims), no = n_outputs(dims);
  size_t hs = half_size(g->L, dims);
#pragma omp for schedule(static, 1)
  for (size_t c = 0; c < nc; c++)
    fftw_execute_dft_r2c(g->fwd, g->charge[c], g->spec[c]);
#pragma omp for schedule(static)
  for (size_t e = 0; e < hs; e++) {
    double k1 = g->khat[1][e], k2 = g->khat[0][e];
    g->spec[no - 1][e][0] = g->spec[0][e][0] * k1;
    g->spec[no - 1][e][1] = g->spec[0][e][1] * k1;
    for (size_t c = 0; c < nc; c++) {
      g->spec[c][e][0] *= k2;
      g->spec[c][e][1] *= k2;
    }
  }
#pragma omp for schedule(static, 1)
  for (size_t c = 0; c < no; c++)
    fftw_execute_dft_c2r(g->inv, g->spec[c], g->out[c]);
}

void ev__fftgrid_repulsion(ev__fftgrid *g, const double *y, double *rep,
                           double *z) {
  weigh_points(g, y);
#pragma omp single
  sort_points(g);
  spread(g, y);
  convolve(g);
  gather(g, y, rep, z);
}
