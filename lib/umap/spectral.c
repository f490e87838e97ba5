/* UMAP's spectral start: the eigenvectors of the normalised Laplacian
 * L = I - D^-1/2 W D^-1/2 with the smallest eigenvalues but the trivial
 * one, as umap-learn's spectral_layout, by ARPACK's implicitly restarted
 * Lanczos (dsaupd / dseupd, Debian's libarpack2). ARPACK is asked for the
 * largest eigenvalues of 2I - L = I + D^-1/2 W D^-1/2, which has the same
 * eigenvectors, a spectrum in [0, 2], and converges without a shift-invert
 * factorisation (umap-learn asks scipy's eigsh for which="SM" of L). */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <string.h>

#include <arpack/arpack.h>

#include "umap/umap_internal.h"

/* Lanczos basis: umap-learn's max(2 k + 1, sqrt(n)), capped so that the
 * basis (n x ncv doubles) stays bounded for millions of points. */
#define NCV_CAP 96
#define TOL 1e-4
#define PROGRESS_EVERY 50

/* ARPACK keeps its state in Fortran SAVE variables between reverse-
 * communication calls: one solve at a time in the process. */
static pthread_mutex_t arpack_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct op {
  const ev__umap_graph *g;
  const double *dinv; /* D^-1/2 */
  int threads;
} op;

/* out = (I + D^-1/2 W D^-1/2) in, one row per iteration: the same bits for
 * any thread count. */
static void apply(const op *o, const double *in, double *out) {
  const ev__umap_graph *g = o->g;
#pragma omp parallel for schedule(static) num_threads(o->threads)
  for (size_t i = 0; i < g->n; i++) {
    double s = 0.0;
    for (size_t e = g->row_ptr[i]; e < g->row_ptr[i + 1]; e++)
      s += g->val[e] * o->dinv[g->col[e]] * in[g->col[e]];
    out[i] = in[i] + o->dinv[i] * s;
  }
}

typedef struct work {
  double *resid, *v, *workd, *workl, *d, *z, *dinv;
  a_int *select;
} work;

static void work_free(work *w) {
  ev__free(w->resid), ev__free(w->v), ev__free(w->workd);
  ev__free(w->workl), ev__free(w->d), ev__free(w->z), ev__free(w->dinv);
  ev__free(w->select);
}

static ev_status work_alloc(work *w, size_t n, size_t nev, size_t ncv) {
  memset(w, 0, sizeof *w);
  size_t bytes;
  ev_status st = ev__bytes("spectral start", n, ncv + nev + 6,
                           sizeof(double), &bytes);
  if (st) return st;
  w->resid = ev__malloc(n * sizeof(double));
  w->v = ev__malloc(n * ncv * sizeof(double));
  w->workd = ev__malloc(3 * n * sizeof(double));
  w->workl = ev__malloc(ncv * (ncv + 8) * sizeof(double));
  w->d = ev__malloc(nev * sizeof(double));
  w->z = ev__malloc(n * nev * sizeof(double));
  w->dinv = ev__malloc(n * sizeof(double));
  w->select = ev__calloc(ncv, sizeof(a_int)); /* dseupd_c reads it */
  if (!w->resid || !w->v || !w->workd || !w->workl || !w->d || !w->z ||
      !w->dinv || !w->select) {
    work_free(w);
    return ev__nomem("spectral start", bytes);
  }
  return EV_OK;
}

/* The reverse-communication loop; *converged gets ARPACK's count. */
static ev_status solve(const op *o, work *w, size_t n, size_t nev,
                       size_t ncv, ev_progress_fn cb, void *user) {
  a_int ido = 0, info = 1, iparam[11] = {0}, ipntr[14] = {0};
  a_int lworkl = (a_int)(ncv * (ncv + 8));
  size_t maxiter = 5 * n, steps = 0;
  iparam[0] = 1, iparam[2] = (a_int)(maxiter > 100000 ? 100000 : maxiter),
  iparam[6] = 1;
  for (size_t i = 0; i < n; i++) w->resid[i] = 1.0; /* umap-learn's v0 */
  for (;;) {
    dsaupd_c(&ido, "I", (a_int)n, "LA", (a_int)nev, TOL, w->resid, (a_int)ncv,
             w->v, (a_int)n, iparam, ipntr, w->workd, w->workl, lworkl,
             &info);
    if (ido == -1 || ido == 1) {
      apply(o, w->workd + ipntr[0] - 1, w->workd + ipntr[1] - 1);
      if (++steps % PROGRESS_EVERY == 0) {
        ev_status st = ev__progress(cb, user, EV_STAGE_SPECTRAL, steps,
                                    (size_t)iparam[2] * ncv, NAN);
        if (st) return st;
      }
      continue;
    }
    break;
  }
  if (info != 0 || iparam[4] < (a_int)nev)
    return ev__fail(EV_ERR_UNSUPPORTED,
                    "ARPACK did not converge (info %d, %d of %zu "
                    "eigenvectors)",
                    (int)info, (int)iparam[4], nev);
  a_int rinfo = 0;
  dseupd_c(1, "A", w->select, w->d, w->z, (a_int)n, 0.0, "I", (a_int)n, "LA",
           (a_int)nev, TOL, w->resid, (a_int)ncv, w->v, (a_int)n, iparam,
           ipntr, w->workd, w->workl, lworkl, &rinfo);
  if (rinfo != 0)
    return ev__fail(EV_ERR_UNSUPPORTED, "ARPACK's dseupd failed (info %d)",
                    (int)rinfo);
  return ev__progress(cb, user, EV_STAGE_SPECTRAL, steps, steps, NAN);
}

ev_status ev__umap_spectral(const ev__umap_graph *g, size_t dims,
                            uint64_t seed, double *y, ev_progress_fn cb,
                            void *user) {
  size_t n = g->n, nev = dims + 1;
  size_t ncv = (size_t)sqrt((double)n);
  if (ncv < 2 * nev + 1) ncv = 2 * nev + 1;
  if (ncv > NCV_CAP && NCV_CAP > 2 * nev + 1) ncv = NCV_CAP;
  if (ncv >= n)
    return ev__fail(EV_ERR_UNSUPPORTED,
                    "%zu points are too few for the spectral start of %zu "
                    "dimensions",
                    n, dims);
  work w;
  ev_status st = work_alloc(&w, n, nev, ncv);
  if (st) return st;
  for (size_t i = 0; i < n; i++) {
    double deg = 0.0;
    for (size_t e = g->row_ptr[i]; e < g->row_ptr[i + 1]; e++)
      deg += g->val[e];
    w.dinv[i] = deg > 0.0 ? 1.0 / sqrt(deg) : 0.0;
  }
  op o = {g, w.dinv, omp_get_max_threads()};
  /* ARPACK's own BLAS calls on one thread: their rounding then does not
   * depend on the thread count; the product above uses them all */
  ev__threads one;
  ev__threads_begin(&one, 1);
  pthread_mutex_lock(&arpack_lock);
  st = solve(&o, &w, n, nev, ncv, cb, user);
  pthread_mutex_unlock(&arpack_lock);
  ev__threads_end(&one);
  if (!st) {
    /* d ascending: drop the largest (trivial) and take the next dims */
    double mx = 0.0;
    for (size_t c = 0; c < dims; c++)
      for (size_t i = 0; i < n; i++) {
        double v = w.z[(nev - 2 - c) * n + i];
        y[i * dims + c] = v;
        if (fabs(v) > mx) mx = fabs(v);
      }
    if (!(mx > 0.0) || !isfinite(mx))
      st = ev__fail(EV_ERR_UNSUPPORTED, "the eigenvectors are zero");
    else {
      double expansion = 10.0 / mx;
      for (size_t e = 0; e < n * dims; e++) {
        uint64_t h = ev__hash3(seed, 0x5bec, e, 0);
        /* Box-Muller from two 53-bit uniforms of one hash pair */
        uint64_t h2 = ev__hash3(seed, 0x5bec, e, 1);
        double u1 = ((h >> 11) + 0.5) * 0x1.0p-53;
        double u2 = (h2 >> 11) * 0x1.0p-53;
        double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
        y[e] = y[e] * expansion + 1e-4 * z;
      }
    }
  }
  work_free(&w);
  return st;
}
