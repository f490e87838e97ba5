/* FFT-interpolated repulsion (Linderman et al., Nature Methods 16, 2019:
 * FIt-SNE), in 1 and 2 dimensions.
 *
 * The map's bounding square is cut into B intervals per axis, each holding
 * p equispaced interpolation nodes at (j + 1/2) / p of its width, so the
 * nodes form one regular grid of N = B p nodes per axis, spacing h. Each
 * point spreads its charges (1 and its coordinates) onto the p^dims nodes
 * of its interval by Lagrange interpolation; the node values are convolved
 * with the kernel 1 / (1 + d^2)^2 by FFT (zero-padded to a length L >= 2N,
 * so the circular convolution is the linear one); the results are
 * interpolated back to the points with the same weights:
 *
 *   phi0 = sum_j K2(y_i, y_j),  phik = sum_j K2(y_i, y_j) y_jk,
 *   rep_ik = y_ik phi0 - phik.
 *
 * Z = sum_ij 1 / (1 + d_ij^2) is only needed as a whole: it is the grid's
 * charge convolved with the kernel 1 / (1 + d^2) and summed against the
 * charge again, which Parseval's identity gives from the charge's spectrum
 * without an inverse transform; minus n for the points themselves.
 *
 * The 2-D transforms go row by row and column by column, so that the rows
 * that are all zero (the padding) are never transformed forward and the
 * rows that are not needed never backward. The rows are transformed 8 at a
 * time (into a per-thread scratch, then transposed) into a transposed half
 * spectrum, so the column transforms (each
 * followed at once by the product with the kernel and the inverse) run
 * over contiguous memory; every such item is one item of a work-sharing
 * loop, transformed by the same single-threaded FFTW plan whoever runs
 * it, 64-byte aligned as the plan's arrays. Points are sorted by interval
 * (stably, by index), and each interval's nodes are summed by one thread
 * over its points in index order. So nothing depends on the thread count.
 * Single precision: the transforms' rounding (about 1e-7 of the largest
 * value) is far below the interpolation error (about 1e-2 at the
 * defaults, docs/tsne.md).
 *
 * Near field (2-D, EV_TSNE_FFT_NEAR_RADIUS r > 0). The kernels vary on
 * the scale of one map unit near d = 0, which is what needs nodes 1/5
 * apart; far out they are smooth. So each kernel K is split as
 * K = F + (K - F): the far kernel F equals K from d = r on and inside is
 * K's Taylor polynomial of degree NEAR_M in t = d^2 about r^2 (it joins K
 * with NEAR_M continuous derivatives and varies on the scale of r), and
 * K - F vanishes from r on. F goes on a grid of intervals r / 2 wide with
 * p_near nodes each (at r = 4, p = 3: 1.5 nodes per unit instead of 5),
 * and the pairs closer than r add K - F exactly: with the points sorted
 * by interval, each point's partners are in the 5 x 5 intervals around its
 * own. Each pair is tested once, from the point that comes first in the
 * intervals' order, and adds to both (three runs of consecutive sorted
 * points per point, 8 at a time in float lanes). In the early, dense map
 * every point would test thousands of pairs, so each iteration compares
 * estimates of both costs (transform work L^2 log L, pairs counted from
 * the intervals' occupancy) and takes the cheaper grid; on Fashion-MNIST's 70,000 points the switch comes a
 * little after the exaggeration. The gradient's error falls too (2-D,
 * 5,000 clustered points over 150 units: 7.2e-4 against 3.0e-2 for the
 * plain grid with the same 3 nodes; docs/tsne.md).
 *
 * Memory: the grids grow with the map (never shrink), to at most
 * max_bytes; beyond that the intervals widen instead. They are
 * reallocated only when the map outgrows them (a few times per fit). */
#include <fftw3.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <string.h>

#include "tsne/tsne_internal.h"

/* FFTW's planner is not thread-safe: every plan is made and destroyed
 * under this lock (executing plans is thread-safe). */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

#define MAX_P EV__TSNE_FFT_MAX_POINTS
#define NEAR_M 2 /* degree in d^2 of the far kernels inside the radius */
#define NEAR_PAD 8 /* the near field's position arrays: lanes past the end */
#define LBUF_PAD 32 /* a thread's near-field buffers: three ranges' rounding */
#define ROWS 8 /* grid rows per row transform (keeps every item aligned) */

typedef struct plans {
  /* 2-D: ROWS real rows -> ROWS columns of the transposed half spectrum
   * and back; 1-D: the line and back */
  fftwf_plan row_fwd, row_inv;
  fftwf_plan col_fwd, col_inv; /* 2-D: one row of the transposed spectrum */
  size_t L, hp; /* 2-D: the rows' half spectra, hp apart in the scratch */

} plans;

struct ev__fftgrid {
  size_t n, dims, min_intervals;
  size_t p;                 /* this iteration's nodes per interval */
  size_t p_plain, p_near;   /* ... without and with the near field */
  double interval_width, max_bytes;
  double inv_den[MAX_P]; /* 1 / Lagrange denominators */
  double node[MAX_P];    /* nodes' positions in the interval, (j + 1/2) / p */
  /* per point: interval, weights (dims x p), sorted order */
  uint32_t *box, *order;
  double *wts;
  size_t *start; /* cap_boxes + 1 */
  /* grids for transforms of length up to cap_L per axis, 64-byte aligned:
   * real grids of rows of lr floats; 2-D spectra transposed, L / 2 + 1
   * rows (one per frequency of the real axis) of ls complex values */
  size_t cap_L, cap_boxes, lr, ls;
  float *charge[3], *out[3], *khat[2];
  fftwf_complex *spec[3];
  /* 2-D: per thread, ROWS half spectra of rows (the row transforms write
   * there contiguously, then the values are transposed into spec) */
  fftwf_complex *rowbuf;
  size_t rowbuf_threads;
  double *zpart; /* Parseval's sum per spectrum row */
  plans pl;
  size_t kern_L;
  double kern_h;
  /* this iteration's grid: N nodes per axis, rows transformed N8 */
  size_t L, B, N, N8, charge_dirty;
  /* N of the last spread on this layout: spreading writes every node of
   * the N x N block (zeros for empty intervals), so with the same N the
   * charges need no clearing */
  size_t spread_N;
  double lo[2], width;
  /* near field (2-D; see "Near field" above): pairs closer than near_r
   * summed exactly, the grid holding only the smooth far kernels */
  double near_r;  /* 0: off */
  int near_force; /* 1: whenever near_r > 0; 0: when estimated cheaper */
  int split;      /* this iteration's grid is the far part's */
  int kern_split; /* ... and so are the kernel spectra */
  /* Taylor coefficients of the far K2 and K1 (ev__fftgrid_near), in
   * double for the kernels' spectra, rounded for the near field's lanes */
  double far_c[2][NEAR_M + 1];
  float fa[NEAR_M + 1], fb[NEAR_M + 1];
  size_t near_n; /* points the buffers below hold (0: none yet) */
  float *px, *py; /* positions in sorted order, from the grid's centre */
  float *fx, *fy, *fz; /* the near field's sums per sorted position */
  float *lbuf;    /* per thread, 3 x lbuf_cap(n) floats (near_strip) */
  size_t lbuf_threads;
  double *nrep;   /* the near field's rep, per point */
  double *nz;     /* its share of Z, per sorted position */
  uint32_t *hist; /* the far grid's interval counts (cost estimate) */
  size_t hist_cap;
  double cand; /* pairs the near field tests this iteration */
};

static size_t n_charges(size_t dims) { return dims + 1; }

/* p nodes per interval from now on: the Lagrange denominators. */
static void set_points(struct ev__fftgrid *g, size_t p) {
  g->p = p;
  for (size_t j = 0; j < p; j++) {
    double d = 1.0;
    for (size_t m = 0; m < p; m++)
      if (m != j) d *= ((double)j - (double)m) / (double)p;
    g->inv_den[j] = 1.0 / d;
    g->node[j] = ((double)j + 0.5) / (double)p;
  }
}
static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }
/* Distance between the rows' half spectra in the row scratch (64-byte
 * aligned rows). */
static size_t rowbuf_stride(size_t L) { return round_up(L / 2 + 1, 8); }
/* Elements of one real grid and of one spectrum for length L. A 2-D
 * real grid keeps only the rows of the nodes (N8 <= L / 2 + ROWS - 1:
 * the padding rows are zero going in and not read coming out), half the
 * transform's rows. */
static size_t real_size(size_t L, size_t dims) {
  return dims == 1 ? round_up(L, 16) : (L / 2 + ROWS) * round_up(L, 16);
}
static size_t spec_size(size_t L, size_t dims) {
  return dims == 1 ? round_up(L / 2 + 1, 8) : (L / 2 + 1) * round_up(L, 8);
}

/* Bytes of all grids for transforms of length L. */
static double grid_bytes(size_t L, size_t dims) {
  double r = (double)real_size(L, dims), h = (double)spec_size(L, dims);
  double nc = (double)n_charges(dims);
  return 2.0 * nc * r * 4.0 + nc * h * 8.0 + 2.0 * h * 4.0 + (double)L * 8.0;
}

/* The smallest length >= m, a multiple of 8, whose other factors are 2, 3,
 * 5 and 7: FFTW is fastest on such sizes. */
static size_t nice_length(size_t m) {
  for (size_t L = round_up(m > 8 ? m : 8, 8);; L += 8) {
    size_t r = L / 8;
    while (r % 2 == 0) r /= 2;
    while (r % 3 == 0) r /= 3;
    while (r % 5 == 0) r /= 5;
    while (r % 7 == 0) r /= 7;
    if (r == 1) return L;
  }
}

static void destroy_plans(plans *pl) {
  fftwf_plan *all[4] = {&pl->row_fwd, &pl->row_inv, &pl->col_fwd,
                        &pl->col_inv};
  pthread_mutex_lock(&planner_lock);
  for (int k = 0; k < 4; k++) {
    if (*all[k]) fftwf_destroy_plan(*all[k]);
    *all[k] = NULL;
  }
  pthread_mutex_unlock(&planner_lock);
  pl->L = 0;
}

static void free_grids(ev__fftgrid *g) {
  destroy_plans(&g->pl);
  for (int c = 0; c < 3; c++) {
    ev__free_aligned(g->charge[c]), g->charge[c] = NULL;
    ev__free_aligned(g->out[c]), g->out[c] = NULL;
    ev__free_aligned(g->spec[c]), g->spec[c] = NULL;
  }
  for (int c = 0; c < 2; c++) ev__free_aligned(g->khat[c]), g->khat[c] = NULL;
  ev__free_aligned(g->rowbuf), g->rowbuf = NULL;
  g->rowbuf_threads = 0;
  ev__free(g->start), g->start = NULL;
  ev__free(g->zpart), g->zpart = NULL;
  g->cap_L = g->cap_boxes = 0;
  g->kern_L = 0;
  g->L = 0;
}

void ev__fftgrid_free(ev__fftgrid *g) {
  if (!g) return;
  free_grids(g);
  ev__free(g->box);
  ev__free(g->order);
  ev__free(g->wts);
  ev__free_aligned(g->px);
  ev__free_aligned(g->py);
  ev__free(g->nrep);
  ev__free(g->nz);
  ev__free_aligned(g->fx);
  ev__free_aligned(g->fy);
  ev__free_aligned(g->fz);
  ev__free_aligned(g->lbuf);
  ev__free(g->hist);
  ev__free(g);
}

/* The interval starts for every layout the grids' length cap_L holds:
 * intervals up to cap_L / (2p) per axis for the smaller of the plain and
 * the near field's nodes per interval. */
static ev_status size_starts(ev__fftgrid *g) {
  size_t pmin = g->p_plain < g->p_near ? g->p_plain : g->p_near;
  size_t b1 = g->cap_L / (2 * pmin), boxes = g->dims == 1 ? b1 : b1 * b1;
  if (g->start && boxes <= g->cap_boxes) return EV_OK;
  size_t *start = ev__malloc((boxes + 1) * sizeof *start);
  if (!start) return ev__nomem("FFT t-SNE grids", (boxes + 1) * sizeof *start);
  ev__free(g->start);
  g->start = start;
  g->cap_boxes = boxes;
  return EV_OK;
}

/* Grids for length L (and their interval starts). */
static ev_status alloc_grids(ev__fftgrid *g, size_t L) {
  free_grids(g);
  size_t dims = g->dims, r = real_size(L, dims), h = spec_size(L, dims);
  int ok = 1;
  for (size_t c = 0; c < n_charges(dims); c++) {
    ok &= (g->charge[c] = ev__malloc_aligned(r * sizeof(float))) != NULL;
    ok &= (g->out[c] = ev__malloc_aligned(r * sizeof(float))) != NULL;
    ok &= (g->spec[c] = ev__malloc_aligned(h * sizeof(fftwf_complex))) != NULL;
  }
  for (int c = 0; c < 2; c++)
    ok &= (g->khat[c] = ev__malloc_aligned(h * sizeof(float))) != NULL;
  ok &= (g->zpart = ev__malloc((L / 2 + 1) * sizeof *g->zpart)) != NULL;
  if (!ok) {
    free_grids(g);
    return ev__nomem("FFT t-SNE grids", (size_t)grid_bytes(L, dims));
  }
  for (size_t c = 0; c < n_charges(dims); c++)
    memset(g->charge[c], 0, r * sizeof(float));
  g->cap_L = L;
  g->charge_dirty = 0;
  g->spread_N = 0;
  ev_status st = size_starts(g);
  if (st) free_grids(g);
  return st;
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
  g->p_plain = g->p_near = p;
  g->interval_width = interval_width, g->max_bytes = max_bytes;
  set_points(g, p);
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

/* The row scratch for the grids' length cap_L and this many threads (the
 * plans are made on it: they are remade when it moves). */
static ev_status alloc_rowbuf(ev__fftgrid *g) {
  size_t threads = (size_t)omp_get_max_threads();
  if (g->rowbuf && g->rowbuf_threads >= threads) return EV_OK;
  size_t bytes = threads * ROWS * rowbuf_stride(g->cap_L) * sizeof(fftwf_complex);
  destroy_plans(&g->pl);
  ev__free_aligned(g->rowbuf);
  g->rowbuf_threads = 0;
  if (!(g->rowbuf = ev__malloc_aligned(bytes)))
    return ev__nomem("FFT t-SNE row transforms", bytes);
  g->rowbuf_threads = threads;
  return EV_OK;
}

/* ---- plans and kernels ---- */

/* 2-D: the row transforms write (and read) the spectrum transposed, so
 * that the column transforms run over contiguous memory; each item is
 * ROWS rows, so every item starts 64-byte aligned, as the plan's arrays. */
static ev_status make_plans(ev__fftgrid *g, size_t L) {
  destroy_plans(&g->pl);
  plans *pl = &g->pl;
  int n = (int)L, lr = (int)g->lr;
  unsigned flags = FFTW_ESTIMATE;
  int ok;
  pthread_mutex_lock(&planner_lock);
  if (g->dims == 1) {
    pl->row_fwd = fftwf_plan_dft_r2c_1d(n, g->charge[0], g->spec[0], flags);
    pl->row_inv = fftwf_plan_dft_c2r_1d(n, g->spec[0], g->out[0], flags);
    ok = pl->row_fwd && pl->row_inv;
  } else {
    int hp = (int)rowbuf_stride(L);
    pl->row_fwd = fftwf_plan_many_dft_r2c(1, &n, ROWS, g->charge[0], NULL, 1,
                                          lr, g->rowbuf, NULL, 1, hp, flags);
    pl->row_inv = fftwf_plan_many_dft_c2r(1, &n, ROWS, g->rowbuf, NULL, 1,
                                          hp, g->out[0], NULL, 1, lr, flags);
    pl->col_fwd = fftwf_plan_dft_1d(n, g->spec[0], g->spec[0], FFTW_FORWARD,
                                    flags);
    pl->col_inv = fftwf_plan_dft_1d(n, g->spec[0], g->spec[0], FFTW_BACKWARD,
                                    flags);
    ok = pl->row_fwd && pl->row_inv && pl->col_fwd && pl->col_inv;
  }
  pthread_mutex_unlock(&planner_lock);
  if (!ok) {
    destroy_plans(pl);
    return ev__fail(EV_ERR_NOMEM,
                    "FFTW could not plan transforms of length %zu: free "
                    "memory or lower EV_TSNE_MAX_MEMORY_MB",
                    L);
  }
  pl->L = L;
  pl->hp = rowbuf_stride(L);
  return EV_OK;
}

/* 2-D: ROWS rows of real grid (lr apart) into ROWS columns of the
 * transposed spectrum s (ls apart), through the scratch rb, and back.
 * FFTW's row transforms writing the transposed spectrum directly were a
 * third slower than writing contiguously and transposing. */
static void rows_forward(const ev__fftgrid *g, const float *rows,
                         fftwf_complex *s, fftwf_complex *rb) {
  size_t H = g->L / 2 + 1, hp = g->pl.hp, ls = g->ls;
  fftwf_execute_dft_r2c(g->pl.row_fwd, (float *)rows, rb);
  for (size_t f = 0; f < H; f++)
    for (size_t q = 0; q < ROWS; q++) {
      s[f * ls + q][0] = rb[q * hp + f][0];
      s[f * ls + q][1] = rb[q * hp + f][1];
    }
}

static void rows_inverse(const ev__fftgrid *g, const fftwf_complex *s,
                         float *rows, fftwf_complex *rb) {
  size_t H = g->L / 2 + 1, hp = g->pl.hp, ls = g->ls;
  for (size_t f = 0; f < H; f++)
    for (size_t q = 0; q < ROWS; q++) {
      rb[q * hp + f][0] = s[f * ls + q][0];
      rb[q * hp + f][1] = s[f * ls + q][1];
    }
  fftwf_execute_dft_c2r(g->pl.row_inv, rb, rows);
}

/* ---- the near field ---- */

/* Relative costs of the transforms (per node and level of a length-L
 * transform, all charges) and of one pair the near field tests, in about
 * nanoseconds of one core (measured, docs/tsne.md). */
#define NEAR_FFT_COST 4.0
#define NEAR_PAIR_COST 0.9
static double fft_work(size_t L) {
  return (double)L * (double)L * log2((double)L);
}

/* The far kernels (which 0: of K2 = 1 / (1 + t)^2, 1: of K1 = 1 / (1 + t),
 * t = d^2): the kernel itself from the radius on, inside it its Taylor
 * polynomial of degree NEAR_M in t about t0 = r^2, so they join the kernel
 * with NEAR_M continuous derivatives and are smooth at the scale of r. */
static double far_kernel(const ev__fftgrid *g, double t, int which) {
  double t0 = g->near_r * g->near_r;
  if (t >= t0) return which == 0 ? 1.0 / ((1.0 + t) * (1.0 + t)) : 1.0 / (1.0 + t);
  double u = t0 - t, v = 0.0;
  for (int q = NEAR_M; q >= 0; q--) v = v * u + g->far_c[which][q];
  return v;
}

ev_status ev__fftgrid_near(ev__fftgrid *g, double radius, size_t p,
                           int force) {
  if (p < 1 || p > MAX_P)
    return ev__fail(EV_ERR_ARGUMENT, "the near field's grid takes 1 to %d "
                    "interpolation points, got %zu", MAX_P, p);
  if (p > g->p_plain && p > g->p_near) {
    double *w = ev__malloc(g->n * g->dims * p * sizeof *w);
    if (!w) return ev__nomem("FFT t-SNE point weights", g->n * g->dims * p * 8);
    ev__free(g->wts);
    g->wts = w;
  }
  size_t was = g->p_near;
  g->p_near = p;
  ev_status st = size_starts(g); /* fewer nodes: more intervals */
  if (st) {
    g->p_near = was;
    return st;
  }
  g->near_r = g->dims == 2 && radius > 0.0 ? radius : 0.0;
  g->near_force = force;
  double t0 = g->near_r * g->near_r;
  for (int q = 0; q <= NEAR_M; q++) {
    g->far_c[0][q] = (double)(q + 1) / pow(1.0 + t0, q + 2);
    g->far_c[1][q] = 1.0 / pow(1.0 + t0, q + 1);
    g->fa[q] = (float)g->far_c[0][q];
    g->fb[q] = (float)g->far_c[1][q];
  }
  return EV_OK;
}

double ev__fftgrid_near_pairs(const ev__fftgrid *g) {
  return g->split ? g->cand : 0.0;
}

/* Floats per buffer of a thread's near-field buffers (each 32-byte
 * aligned). */
static size_t lbuf_cap(size_t n) { return round_up(n + LBUF_PAD, 8); }

/* Buffers of the near field for n points; NULL-safe to call again. */
static ev_status alloc_near(ev__fftgrid *g) {
  size_t n = g->n, threads = (size_t)omp_get_max_threads();
  if (!g->lbuf || g->lbuf_threads < threads) {
    size_t bytes = threads * 3 * lbuf_cap(n) * sizeof(float);
    ev__free_aligned(g->lbuf);
    g->lbuf_threads = 0;
    if (!(g->lbuf = ev__malloc_aligned(bytes)))
      return ev__nomem("FFT t-SNE near field", bytes);
    g->lbuf_threads = threads;
  }
  if (g->near_n == n) return EV_OK;
  size_t fl = (n + NEAR_PAD) * sizeof(float);
  g->px = ev__malloc_aligned(fl);
  g->py = ev__malloc_aligned(fl);
  g->fx = ev__malloc_aligned(fl);
  g->fy = ev__malloc_aligned(fl);
  g->fz = ev__malloc_aligned(fl);
  g->nrep = ev__malloc(2 * n * sizeof *g->nrep);
  g->nz = ev__malloc(n * sizeof *g->nz);
  if (!g->px || !g->py || !g->fx || !g->fy || !g->fz || !g->nrep || !g->nz) {
    ev__free_aligned(g->px), g->px = NULL;
    ev__free_aligned(g->py), g->py = NULL;
    ev__free_aligned(g->fx), g->fx = NULL;
    ev__free_aligned(g->fy), g->fy = NULL;
    ev__free_aligned(g->fz), g->fz = NULL;
    ev__free(g->nrep), g->nrep = NULL;
    ev__free(g->nz), g->nz = NULL;
    return ev__nomem("FFT t-SNE near field", 5 * fl + 24 * n);
  }
  for (size_t k = n; k < n + NEAR_PAD; k++)
    g->px[k] = g->py[k] = g->fx[k] = g->fy[k] = g->fz[k] = 0.0f;
  g->near_n = n;
  return EV_OK;
}

/* Pairs the near field would test on intervals of width w (B per axis):
 * each point against the points of the 5 x 5 intervals around its own. */
static ev_status near_candidates(ev__fftgrid *g, const double *y,
                                 const double *lo, double w, size_t B,
                                 double *cand) {
  size_t cells = B * (B + 1);
  if (cells > g->hist_cap) {
    ev__free(g->hist);
    g->hist_cap = 0;
    if (!(g->hist = ev__malloc(cells * sizeof *g->hist)))
      return ev__nomem("FFT t-SNE near field", cells * sizeof *g->hist);
    g->hist_cap = cells;
  }
  /* row bx: counts at [bx (B + 1) + 1 + by], then prefix sums from 0 */
  uint32_t *h = g->hist;
  memset(h, 0, cells * sizeof *h);
  for (size_t i = 0; i < g->n; i++) {
    double tx = (y[2 * i] - lo[0]) / w, ty = (y[2 * i + 1] - lo[1]) / w;
    size_t bx = tx > 0.0 ? (size_t)tx : 0, by = ty > 0.0 ? (size_t)ty : 0;
    bx = bx < B ? bx : B - 1, by = by < B ? by : B - 1;
    h[bx * (B + 1) + 1 + by]++;
  }
  for (size_t bx = 0; bx < B; bx++)
    for (size_t by = 0; by < B; by++)
      h[bx * (B + 1) + 1 + by] += h[bx * (B + 1) + by];
  double c = 0.0;
  for (size_t bx = 0; bx < B; bx++)
    for (size_t by = 0; by < B; by++) {
      const uint32_t *row = h + bx * (B + 1);
      double own = (double)(row[by + 1] - row[by]);
      if (own == 0.0) continue;
      size_t y0 = by >= 2 ? by - 2 : 0, y1 = by + 3 < B ? by + 3 : B;
      size_t x0 = bx >= 2 ? bx - 2 : 0, x1 = bx + 3 < B ? bx + 3 : B;
      double around = 0.0;
      for (size_t x = x0; x < x1; x++)
        around += (double)(h[x * (B + 1) + y1] - h[x * (B + 1) + y0]);
      c += own * around;
    }
  *cand = c;
  return EV_OK;
}

/* The spectra of both kernels on the circle of length L, spacing h, with
 * the 1 / L^dims of the inverse transform folded in. They are real: the
 * kernels are even. Serial; uses out[0] and spec[0]. */
/* Kernel row a (of L, spacing h) into k[0 .. L). */
static void kernel_row(const ev__fftgrid *g, size_t L, double h, size_t a,
                       int which, float *k) {
  double da = g->dims == 1 ? 0.0 : (double)(a <= L - a ? a : L - a) * h;
  for (size_t b = 0; b < L; b++) {
    double db = (double)(b <= L - b ? b : L - b) * h;
    double t = da * da + db * db, w = 1.0 / (1.0 + t);
    double v = which == 0 ? w * w : w;
    if (g->split) v = far_kernel(g, t, which);
    k[b] = (float)v;
  }
}

static void kernel_spectra(ev__fftgrid *g, size_t L, double h) {
  size_t dims = g->dims, lr = g->lr, ls = g->ls, H = L / 2 + 1;
  double scale = 1.0 / (dims == 1 ? (double)L : (double)L * (double)L);
  for (int which = 0; which < 2; which++) {
    float *k = g->out[0];
    fftwf_complex *s = g->spec[0];
    if (dims == 1) {
      kernel_row(g, L, h, 0, which, k);
      fftwf_execute_dft_r2c(g->pl.row_fwd, k, s);
      for (size_t b = 0; b < H; b++)
        g->khat[which][b] = (float)(s[b][0] * scale);
      continue;
    }
    /* ROWS rows at a time (out[0] holds half the rows) */
    for (size_t r = 0; r < L; r += ROWS) {
      for (size_t a = 0; a < ROWS; a++) kernel_row(g, L, h, r + a, which, k + a * lr);
      rows_forward(g, k, s + r, g->rowbuf);
    }
    for (size_t f = 0; f < H; f++) {
      fftwf_execute_dft(g->pl.col_fwd, s + f * ls, s + f * ls);
      for (size_t r = 0; r < L; r++)
        g->khat[which][f * ls + r] = (float)(s[f * ls + r][0] * scale);
    }
  }
  g->kern_L = L;
  g->kern_h = h;
  g->kern_split = g->split;
}

/* Choose this iteration's grid for y and make sure the buffers, plans and
 * kernel spectra fit it. Serial; the only step that can fail. */
ev_status ev__fftgrid_prepare(ev__fftgrid *g, const double *y) {
  size_t n = g->n, dims = g->dims, p = g->p_plain;
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
  /* the near field: intervals of half its radius, where that is cheaper
   * (the cost model of "Near field" above) or forced */
  int split = 0;
  double near_w = g->near_r / 2.0;
  if (g->near_r > 0.0 && span > 0.0 && span / near_w < 1e5) {
    size_t Bs = (size_t)ceil(span / near_w);
    Bs = Bs > 0 ? Bs : 1;
    size_t Ls = nice_length(2 * Bs * g->p_near);
    if (grid_bytes(Ls, dims) <= g->max_bytes) {
      double cand = 0.0;
      if ((st = near_candidates(g, y, lo, near_w, Bs, &cand))) return st;
      double cost_plain = NEAR_FFT_COST * fft_work(L);
      double cost_split = NEAR_FFT_COST * fft_work(Ls) + NEAR_PAIR_COST * cand;
      if (g->near_force || cost_split < cost_plain) {
        if ((st = alloc_near(g))) return st;
        split = 1, B = Bs, L = Ls, g->cand = cand, p = g->p_near;
      }
    }
  }
  g->split = split;
  if (p != g->p) {
    set_points(g, p);
    g->spread_N = 0; /* another block of nodes, even with the same N */
  }
  if (L > g->cap_L) {
    /* grow by at least a quarter, so the grids are reallocated rarely */
    size_t cap = nice_length(L + L / 4);
    if (grid_bytes(cap, dims) > g->max_bytes) cap = L;
    if ((st = alloc_grids(g, cap))) return st;
  }
  if (L != g->L) {
    /* another layout: what the charges hold is at the wrong place */
    for (size_t c = 0; c < n_charges(dims); c++)
      memset(g->charge[c], 0, real_size(g->cap_L, dims) * sizeof(float));
    g->charge_dirty = 0;
    g->spread_N = 0;
    g->lr = dims == 1 ? 0 : round_up(L, 16);
    g->ls = dims == 1 ? 0 : round_up(L, 8);
    g->L = L;
  }
  if (dims == 2 && (st = alloc_rowbuf(g))) return st;
  if (L != g->pl.L && (st = make_plans(g, L))) return st;
  /* all points on one spot: any width is exact enough; a small one makes
   * the kernel flat over the interval */
  double width = span > 0.0 ? span / (double)B : 1e-3;
  if (span > 0.0 && (double)B * g->interval_width >= span &&
      B > g->min_intervals)
    width = g->interval_width; /* same h, same kernels, while the map grows */
  if (split) width = near_w;
  double h = width / (double)p;
  if (L != g->kern_L || h != g->kern_h || split != g->kern_split)
    kernel_spectra(g, L, h);
  /* zero the charges' rows of the nodes (and any the last grid used) */
  size_t N = B * p, N8 = round_up(N, ROWS);
  size_t rows = dims == 1 ? 1 : N8;
  size_t row_len = dims == 1 ? real_size(L, 1) : g->lr;
  size_t clear = g->charge_dirty > rows ? g->charge_dirty : rows;
  if (N != g->spread_N)
    for (size_t c = 0; c < n_charges(dims); c++)
      memset(g->charge[c], 0, clear * row_len * sizeof(float));
  g->charge_dirty = rows;
  g->spread_N = N;
  g->B = B, g->N = N, g->N8 = N8, g->width = width;
  g->lo[0] = lo[0], g->lo[1] = lo[1];
  return EV_OK;
}

/* ---- spreading and gathering ---- */

/* Interval and Lagrange weights of coordinate v on one axis (p nodes; a
 * constant in the instances below, so the loops unroll: the products are
 * the same, in the same order, for every p). */
static inline __attribute__((always_inline)) size_t
locate(const ev__fftgrid *g, double v, double lo, double *w, const size_t p) {
  double t = (v - lo) / g->width;
  size_t b = t > 0.0 ? (size_t)t : 0;
  if (b >= g->B) b = g->B - 1;
  double u = t - (double)b, diff[MAX_P];
  for (size_t m = 0; m < p; m++) diff[m] = u - g->node[m];
  for (size_t j = 0; j < p; j++) {
    double num = g->inv_den[j];
    for (size_t m = 0; m < j; m++) num *= diff[m];
    for (size_t m = j + 1; m < p; m++) num *= diff[m];
    w[j] = num;
  }
  return b;
}

static inline __attribute__((always_inline)) void
weigh_range(ev__fftgrid *g, const double *y, const size_t p) {
  size_t n = g->n, dims = g->dims;
#pragma omp for schedule(static)
  for (size_t i = 0; i < n; i++) {
    double *w = g->wts + i * dims * p;
    size_t b = locate(g, y[i * dims], g->lo[0], w, p);
    if (dims == 2)
      b = b * g->B + locate(g, y[i * dims + 1], g->lo[1], w + p, p);
    g->box[i] = (uint32_t)b;
  }
}

EV_CLONES static void weigh_points(ev__fftgrid *g, const double *y) {
  switch (g->p) { /* the defaults: 5 (plain grid), 3 (near field) */
  case 3: weigh_range(g, y, 3); break;
  case 5: weigh_range(g, y, 5); break;
  default: weigh_range(g, y, g->p); break;
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

/* Each interval's nodes from its points, in index order, in double, then
 * stored as floats (every node belongs to one interval). 1-D here; 2-D in
 * spread2_p below. */
static void spread1(ev__fftgrid *g, const double *y) {
  size_t p = g->p, B = g->B;
#pragma omp for schedule(dynamic, 16)
  for (size_t b = 0; b < B; b++) {
    double acc[2][MAX_P];
    for (size_t c = 0; c < 2; c++)
      for (size_t j = 0; j < p; j++) acc[c][j] = 0.0;
    for (size_t s = g->start[b]; s < g->start[b + 1]; s++) {
      size_t i = g->order[s];
      const double *w = g->wts + i * p;
      for (size_t j = 0; j < p; j++) {
        acc[0][j] += w[j];
        acc[1][j] += w[j] * y[i];
      }
    }
    /* empty intervals too (zeros): see spread_N */
    for (size_t c = 0; c < 2; c++)
      for (size_t j = 0; j < p; j++)
        g->charge[c][b * p + j] = (float)acc[c][j];
  }
}

static inline __attribute__((always_inline)) void
gather_p(ev__fftgrid *g, const double *y, double *rep, const size_t p) {
  size_t n = g->n, dims = g->dims, lr = g->lr, B = g->B;
#pragma omp for schedule(static) nowait
  for (size_t i = 0; i < n; i++) {
    const double *w = g->wts + i * dims * p, *yi = y + i * dims;
    size_t b = g->box[i];
    double phi[3] = {0, 0, 0};
    if (dims == 1) {
      for (size_t j = 0; j < p; j++)
        for (size_t c = 0; c < 2; c++) phi[c] += w[j] * g->out[c][b * p + j];
      rep[i] = yi[0] * phi[0] - phi[1];
      continue;
    }
    /* the sums in registers (through phi[] they waited on memory) */
    size_t bx = b / B, by = b % B;
    const float *o0 = g->out[0], *o1 = g->out[1], *o2 = g->out[2];
    for (size_t jx = 0; jx < p; jx++) {
      size_t row = (bx * p + jx) * lr + by * p;
      for (size_t jy = 0; jy < p; jy++) {
        double ww = w[jx] * w[p + jy];
        phi[0] += ww * o0[row + jy];
        phi[1] += ww * o1[row + jy];
        phi[2] += ww * o2[row + jy];
      }
    }
    rep[2 * i] = yi[0] * phi[0] - phi[1];
    rep[2 * i + 1] = yi[1] * phi[0] - phi[2];
    if (g->split) {
      rep[2 * i] += g->nrep[2 * i];
      rep[2 * i + 1] += g->nrep[2 * i + 1];
    }
  }
}

/* 2-D spreading (p <= MAX_P = 8; a constant in the instances for 3 and
 * 5): each row of an interval's nodes accumulates as (p + 3) / 4 vectors
 * of 4 doubles over its columns, in registers. Per node the products
 * w_x w_y, w_x w_y y0 and w_x w_y y1 are summed in the points' order. */
_Static_assert(MAX_P <= 8, "spread2_p holds a row of nodes in two vectors");
static inline __attribute__((always_inline)) void
spread2_p(ev__fftgrid *g, const double *y, const size_t p) {
  const size_t lr = g->lr, B = g->B, nv = (p + 3) / 4;
#pragma omp for schedule(dynamic, 16)
  for (size_t b = 0; b < B * B; b++) {
    ev__v4d acc[3][MAX_P][2];
    for (size_t c = 0; c < 3; c++)
      for (size_t jx = 0; jx < p; jx++)
        for (size_t v = 0; v < nv; v++) acc[c][jx][v] = (ev__v4d){0, 0, 0, 0};
    for (size_t s = g->start[b]; s < g->start[b + 1]; s++) {
      size_t i = g->order[s];
      const double *w = g->wts + i * 2 * p, *yi = y + i * 2;
      ev__v4d y0 = {yi[0], yi[0], yi[0], yi[0]}, y1 = {yi[1], yi[1], yi[1], yi[1]};
      double wp[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (size_t jy = 0; jy < p; jy++) wp[jy] = w[p + jy];
      const ev__v4d wy0 = {wp[0], wp[1], wp[2], wp[3]};
      const ev__v4d wy1 = {wp[4], wp[5], wp[6], wp[7]};
      for (size_t jx = 0; jx < p; jx++) {
        ev__v4d wx = {w[jx], w[jx], w[jx], w[jx]};
        for (size_t v = 0; v < nv; v++) {
          ev__v4d ww = wx * (v == 0 ? wy0 : wy1);
          acc[0][jx][v] += ww;
          acc[1][jx][v] += ww * y0;
          acc[2][jx][v] += ww * y1;
        }
      }
    }
    /* empty intervals too (zeros): see spread_N */
    size_t bx = b / B, by = b % B;
    for (size_t c = 0; c < 3; c++)
      for (size_t jx = 0; jx < p; jx++) {
        float *row = g->charge[c] + (bx * p + jx) * lr + by * p;
        for (size_t jy = 0; jy < p; jy++)
          row[jy] = (float)acc[c][jx][jy / 4][jy % 4];
      }
  }
}

/* spread and gather with the node count a constant (the defaults 5 and 3)
 * so their loops unroll, and an AVX2 clone: the same operations in the
 * same order (no contraction into FMA in ISO C), so the same bits. */
EV_CLONES512 static void spread(ev__fftgrid *g, const double *y) {
  if (g->dims == 1) spread1(g, y);
  else if (g->p == 3) spread2_p(g, y, 3);
  else if (g->p == 5) spread2_p(g, y, 5);
  else spread2_p(g, y, g->p);
}

EV_CLONES static void gather(ev__fftgrid *g, const double *y, double *rep) {
  switch (g->p) {
  case 3: gather_p(g, y, rep, 3); break;
  case 5: gather_p(g, y, rep, 5); break;
  default: gather_p(g, y, rep, g->p); break;
  }
}

/* Parseval's identity on the half spectrum s of charge 0 (entries `len`
 * apart, `count` of them, each standing for `twice` + 1 entries of the
 * full spectrum) with the kernel 1 / (1 + d^2). */
static double parseval(const fftwf_complex *s, const float *k1, size_t count,
                       int twice) {
  double z = 0.0;
  for (size_t e = 0; e < count; e++)
    z += ((double)s[e][0] * s[e][0] + (double)s[e][1] * s[e][1]) * k1[e];
  return twice ? 2.0 * z : z;
}

static void scale_by(fftwf_complex *s, const float *k, size_t count) {
  for (size_t e = 0; e < count; e++) {
    s[e][0] *= k[e];
    s[e][1] *= k[e];
  }
}

static void convolve(ev__fftgrid *g) {
  size_t nc = n_charges(g->dims), L = g->L, H = L / 2 + 1;
  if (g->dims == 1) {
#pragma omp for schedule(static, 1)
    for (size_t c = 0; c < nc; c++) {
      fftwf_execute_dft_r2c(g->pl.row_fwd, g->charge[c], g->spec[c]);
      if (c == 0) {
        /* bins 0 and L/2 once, the others twice */
        double z = parseval(g->spec[0], g->khat[1], 1, 0) +
                   parseval(g->spec[0] + 1, g->khat[1] + 1, H - 2, 1) +
                   parseval(g->spec[0] + H - 1, g->khat[1] + H - 1, 1, 0);
        g->zpart[0] = z;
      }
      scale_by(g->spec[c], g->khat[0], H);
      fftwf_execute_dft_c2r(g->pl.row_inv, g->spec[c], g->out[c]);
    }
    return;
  }
  size_t N8 = g->N8, lr = g->lr, ls = g->ls, blocks = N8 / ROWS;
  /* rows of the nodes, every charge, into the transposed spectra */
  fftwf_complex *rb =
      g->rowbuf + (size_t)omp_get_thread_num() * ROWS * g->pl.hp;
#pragma omp for schedule(static)
  for (size_t item = 0; item < nc * blocks; item++) {
    size_t c = item / blocks, r = (item % blocks) * ROWS;
    rows_forward(g, g->charge[c] + r * lr, g->spec[c] + r, rb);
  }
  /* per frequency of the first axis: the padding, the column transform,
   * Parseval's share of Z, the product with the kernel, and back */
#pragma omp for schedule(static)
  for (size_t item = 0; item < nc * H; item++) {
    size_t c = item / H, f = item % H;
    fftwf_complex *s = g->spec[c] + f * ls;
    memset(s + N8, 0, (L - N8) * sizeof *s);
    fftwf_execute_dft(g->pl.col_fwd, s, s);
    if (c == 0)
      g->zpart[f] = parseval(s, g->khat[1] + f * ls, L, f != 0 && 2 * f != L);
    scale_by(s, g->khat[0] + f * ls, L);
    fftwf_execute_dft(g->pl.col_inv, s, s);
  }
  /* rows of the nodes back */
#pragma omp for schedule(static)
  for (size_t item = 0; item < nc * blocks; item++) {
    size_t c = item / blocks, r = (item % blocks) * ROWS;
    rows_inverse(g, g->spec[c] + r, g->out[c] + r * lr, rb);
  }
}

/* ---- the near field's sums ---- */

typedef ev__v8f v8f;
typedef int32_t v8i __attribute__((vector_size(32)));
#define NEAR_PHASES 3 /* strips of intervals apart in one phase */

/* One point's pairs with the positions r0 + m (m in [m0, len), rounded
 * down to 8; only those above `after` count): K - far kernel for the
 * pairs closer than r, the point's sums into its lanes, the partners'
 * (opposite force, same Z) into the range's buffers lx, ly, lz at m,
 * which are 32-byte aligned and written at the same addresses by every
 * point of the interval (so loads after stores forward in the core). */
static inline __attribute__((always_inline)) void
near_range(const float *px, const float *py, size_t r0, size_t m0,
           size_t len, ptrdiff_t after, float xi, float yi, const float *c,
           float *lx, float *ly, float *lz, v8f *ax, v8f *ay, v8f *az) {
  const v8i lane = {0, 1, 2, 3, 4, 5, 6, 7};
  const v8f one = {1, 1, 1, 1, 1, 1, 1, 1};
  const float t0 = c[0], a0 = c[1], a1 = c[2], a2 = c[3], b0 = c[4],
              b1 = c[5], b2 = c[6];
  for (size_t m = m0 & ~(size_t)7; m < len; m += 8) {
    v8f xj, yj;
    memcpy(&xj, px + r0 + m, sizeof xj);
    memcpy(&yj, py + r0 + m, sizeof yj);
    v8f dx = xi - xj, dy = yi - yj, t = dx * dx + dy * dy;
    v8f k1 = one / (one + t), k2 = k1 * k1, u = t0 - t;
    v8f f2 = (a2 * u + a1) * u + a0, f1 = (b2 * u + b1) * u + b0;
    v8i pos = lane + (int32_t)m;
    v8i in = (t < t0) & (pos < (int32_t)len) & (pos > (int32_t)after);
    v8f g2 = (v8f)((v8i)(k2 - f2) & in), g1 = (v8f)((v8i)(k1 - f1) & in);
    v8f gx = g2 * dx, gy = g2 * dy;
    *ax += gx;
    *ay += gy;
    *az += g1;
    *(v8f *)(lx + m) -= gx;
    *(v8f *)(ly + m) -= gy;
    *(v8f *)(lz + m) += g1;
  }
}

/* Row bx of intervals (a strip: consecutive sorted positions), interval
 * by interval: each point of the interval against the points after it in
 * the 5 x 5 intervals around, in the intervals' order: the rest of its own
 * interval and the next two of its strip (one range of positions), and
 * the 5 intervals around in each of the next two strips (one range each).
 * Each pair is tested once and adds to both points' sums, the partner's
 * through the thread's buffers, which go to fx, fy, fz once per interval
 * (in position order). So a strip writes to strips bx to bx + 2 only:
 * strips NEAR_PHASES apart run at the same time, each by one thread in
 * sorted order, and every sum is added up in the same order whatever the
 * thread count. The AVX2 clone and the default one do the same operations
 * on the same lanes (EV_CLONES). */
EV_CLONES static void near_strip(ev__fftgrid *g, size_t bx, float *lbuf) {
  const float *px = g->px, *py = g->py;
  float *fx = g->fx, *fy = g->fy, *fz = g->fz;
  const size_t B = g->B, *start = g->start, cap = lbuf_cap(g->n);
  const float t0 = (float)(g->near_r * g->near_r);
  const float c[7] = {t0, g->fa[0], g->fa[1], g->fa[2],
                      g->fb[0], g->fb[1], g->fb[2]};
  /* each point's pair with itself: no force, K1(0) - F1(0) for Z (the
   * grid holds F1(0) for it, and Z leaves out K1(0) = 1 for every point) */
  const float self = 1.0f - ((c[6] * t0 + c[5]) * t0 + c[4]);
  float *lx = lbuf, *ly = lbuf + cap, *lz = lbuf + 2 * cap;
  for (size_t by = 0; by < B; by++) {
    size_t a0 = start[bx * B + by], a1 = start[bx * B + by + 1];
    if (a0 == a1) continue;
    size_t y0 = by >= 2 ? by - 2 : 0, y1 = by + 3 < B ? by + 3 : B;
    /* the ranges: [r0[q], r0[q] + len[q]), buffers at off[q] */
    size_t r0[3], len[3], off[3], nr = 0, at = 0;
    for (size_t x = bx; x < bx + 3 && x < B; x++) {
      size_t lo = x == bx ? a0 : start[x * B + y0], hi = start[x * B + y1];
      if (hi == lo) continue;
      r0[nr] = lo, len[nr] = hi - lo, off[nr] = at;
      at += (hi - lo + 7) & ~(size_t)7;
      nr++;
    }
    for (size_t e = 0; e < at; e++) lx[e] = ly[e] = lz[e] = 0.0f;
    for (size_t i = a0; i < a1; i++) {
      const float xi = px[i], yi = py[i];
      v8f ax = {0, 0, 0, 0, 0, 0, 0, 0}, ay = ax;
      v8f az = {self, 0, 0, 0, 0, 0, 0, 0};
      for (size_t q = 0; q < nr; q++) {
        /* the own range (q = 0) counts positions after i only */
        ptrdiff_t after = q == 0 ? (ptrdiff_t)(i - a0) : -1;
        near_range(px, py, r0[q], q == 0 ? i - a0 + 1 : 0, len[q], after, xi,
                   yi, c, lx + off[q], ly + off[q], lz + off[q], &ax, &ay,
                   &az);
      }
      fx[i] += (float)ev__v8f_sum(&ax);
      fy[i] += (float)ev__v8f_sum(&ay);
      fz[i] += (float)ev__v8f_sum(&az);
    }
    for (size_t q = 0; q < nr; q++)
      for (size_t m = 0; m < len[q]; m++) {
        fx[r0[q] + m] += lx[off[q] + m];
        fy[r0[q] + m] += ly[off[q] + m];
        fz[r0[q] + m] += lz[off[q] + m];
      }
  }
}

static void near_field(ev__fftgrid *g, const double *y) {
  size_t n = g->n, B = g->B;
  double half = 0.5 * g->width * (double)B;
  double cx = g->lo[0] + half, cy = g->lo[1] + half;
#pragma omp for schedule(static)
  for (size_t s = 0; s < n; s++) {
    size_t i = g->order[s];
    g->px[s] = (float)(y[2 * i] - cx);
    g->py[s] = (float)(y[2 * i + 1] - cy);
    g->fx[s] = g->fy[s] = g->fz[s] = 0.0f;
  }
  for (size_t m = 0; m < NEAR_PHASES; m++) {
#pragma omp for schedule(dynamic, 1)
    for (size_t bx = m; bx < B; bx += NEAR_PHASES)
      near_strip(g, bx,
                 g->lbuf + (size_t)omp_get_thread_num() * 3 * lbuf_cap(n));
  }
#pragma omp for schedule(static)
  for (size_t s = 0; s < n; s++) {
    size_t i = g->order[s];
    g->nrep[2 * i] = g->fx[s];
    g->nrep[2 * i + 1] = g->fy[s];
    g->nz[s] = g->fz[s];
  }
}

void ev__fftgrid_repulsion(ev__fftgrid *g, const double *y, double *rep) {
  weigh_points(g, y);
#pragma omp single
  sort_points(g);
  if (g->split) near_field(g, y);
  spread(g, y);
  convolve(g);
  gather(g, y, rep);
}

const uint32_t *ev__fftgrid_order(const ev__fftgrid *g) { return g->order; }

double ev__fftgrid_z(const ev__fftgrid *g) {
  size_t rows = g->dims == 1 ? 1 : g->L / 2 + 1;
  double z = 0.0;
  for (size_t r = 0; r < rows; r++) z += g->zpart[r];
  if (g->split)
    for (size_t s = 0; s < g->n; s++) z += g->nz[s];
  return z - (double)g->n;
}
