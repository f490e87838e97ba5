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

#include "knn/knn_internal.h"
#include "linalg/linalg.h"
#include "umap/umap_internal.h"

/* Lanczos basis: umap-learn's max(2 k + 1, sqrt(n)), capped: a restart
 * orthogonalises against the whole basis, so a large one costs more than
 * the extra restarts of a small one. At 70,000 x 50 (2-D) the cap of 96
 * took 2.8 CPU seconds, 32 took 1.6 for the same eigenvectors (principal
 * angles' cosines 1 - 1.5e-6), on one thread. */
#define NCV_CAP 32
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

/* The dims eigenvectors after the trivial one of I + D^-1/2 W D^-1/2 (the
 * normalised Laplacian's smallest non-trivial ones), unscaled, into y
 * (n x dims). ARPACK; EV_ERR_UNSUPPORTED when it fails or n is too small
 * for its basis. */
static ev_status spectral_vectors(const ev__umap_graph *g, size_t dims,
                                  double *y, ev_progress_fn cb, void *user) {
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
  /* All on one thread: ARPACK's own BLAS calls so that their rounding
   * does not depend on the thread count, and the sparse product too: its
   * few milliseconds per step do not pay for a second thread that spins
   * while ARPACK works (two threads took 2.8 to 3.8 CPU seconds at 70,000
   * rows against 1.8 to 2.1 on one, and no less wall time under load) */
  op o = {g, w.dinv, 1};
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
  }
  work_free(&w);
  return st;
}

/* umap-learn's last touch to a spectral start: scaled so that the largest
 * |coordinate| is 10, plus normal noise of standard deviation 1e-4. */
static ev_status finish(double *y, size_t count, uint64_t seed) {
  double mx = 0.0;
  for (size_t e = 0; e < count; e++)
    if (fabs(y[e]) > mx) mx = fabs(y[e]);
  if (!(mx > 0.0) || !isfinite(mx))
    return ev__fail(EV_ERR_UNSUPPORTED, "the eigenvectors are zero");
  double expansion = 10.0 / mx;
  for (size_t e = 0; e < count; e++) {
    uint64_t h = ev__hash3(seed, 0x5bec, e, 0);
    /* Box-Muller from two 53-bit uniforms of one hash pair */
    uint64_t h2 = ev__hash3(seed, 0x5bec, e, 1);
    double u1 = ((h >> 11) + 0.5) * 0x1.0p-53;
    double u2 = (h2 >> 11) * 0x1.0p-53;
    double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    y[e] = y[e] * expansion + 1e-4 * z;
  }
  return EV_OK;
}

ev_status ev__umap_spectral(const ev__umap_graph *g, size_t dims,
                            uint64_t seed, double *y, ev_progress_fn cb,
                            void *user) {
  ev_status st = spectral_vectors(g, dims, y, cb, user);
  return st ? st : finish(y, g->n * dims, seed);
}

/* ---- several components: umap-learn's multi_component_layout ----
 *
 * Each component gets a place (the meta embedding) and its own spectral
 * layout scaled into half the distance to the nearest other place; the
 * components too small for it (fewer than 2 dims rows, or dims + 1 or
 * fewer) or whose eigensolver fails are spread uniformly around their
 * place. Places: with at most 2 dims components, the ends of the axes
 * (+e_1, ..., -e_1, ...); with more, a spectral embedding of the
 * components' centroids in the input (affinity exp(-distance^2), the
 * normalised Laplacian of those affinities, eigenvectors over sqrt(degree),
 * each signed so its largest entry is positive, divided by the largest
 * value), as scikit-learn's SpectralEmbedding gives umap-learn; without
 * input rows (a fit from neighbour lists) or when every affinity
 * underflows, uniform places in [0, 10). */

static double uniform(uint64_t seed, uint64_t tag, uint64_t a, uint64_t b) {
  return (ev__hash3(seed, tag, a, b) >> 11) * 0x1.0p-53;
}

/* Places from the centroids (k x d float, row-major): meta (k x dims).
 * EV_ERR_UNSUPPORTED (quietly) when the affinities degenerate. */
static ev_status centroid_places(const float *cen, size_t k, size_t d,
                                 int metric, double p, size_t dims,
                                 double *meta) {
  size_t bytes;
  ev_status st = ev__bytes("the component places", k, k, 2 * sizeof(double),
                           &bytes);
  if (st) return st;
  double *a = ev__malloc(k * k * sizeof *a), *z = ev__malloc(k * k * sizeof *z);
  double *deg = ev__malloc(k * sizeof *deg), *w = ev__malloc(k * sizeof *w);
  double *norm = ev__malloc(k * sizeof *norm);
  if (!a || !z || !deg || !w || !norm) {
    st = ev__nomem("the component places", bytes);
    goto done;
  }
  ev__knn_norms(cen, k, d, d, norm);
  ev__knn_distance_rows(metric, p, cen, k, d, d, norm, 0, k, a);
  for (size_t i = 0; i < k; i++) {
    deg[i] = 0.0;
    for (size_t j = 0; j < k; j++) {
      /* a holds squared distances (sqeuclidean: the distance itself) */
      double d2 = metric == EV_METRIC_SQEUCLIDEAN ? a[i * k + j] * a[i * k + j]
                                                  : a[i * k + j];
      a[i * k + j] = i == j ? 0.0 : exp(-d2); /* no self-loops, as scipy */
      deg[i] += a[i * k + j];
    }
  }
  for (size_t i = 0; i < k; i++)
    if (!(deg[i] > 1e-300)) {
      st = EV_ERR_UNSUPPORTED;
      goto done;
    }
  for (size_t i = 0; i < k; i++)
    for (size_t j = 0; j < k; j++)
      a[i * k + j] /= sqrt(deg[i]) * sqrt(deg[j]);
  /* the dims + 1 largest of D^-1/2 A D^-1/2: the smallest of the Laplacian */
  if ((st = ev__sym_top_eigen(a, k, dims + 1, w, z))) goto done;
  double mx = -INFINITY;
  for (size_t c = 0; c < dims; c++) {
    const double *v = z + (c + 1) * k;
    size_t at = 0;
    for (size_t i = 0; i < k; i++)
      if (fabs(v[i] / sqrt(deg[i])) > fabs(v[at] / sqrt(deg[at]))) at = i;
    double sign = v[at] / sqrt(deg[at]) < 0 ? -1.0 : 1.0;
    for (size_t i = 0; i < k; i++) {
      meta[i * dims + c] = sign * v[i] / sqrt(deg[i]);
      if (meta[i * dims + c] > mx) mx = meta[i * dims + c];
    }
  }
  if (!(mx > 0.0) || !isfinite(mx)) {
    st = EV_ERR_UNSUPPORTED;
    goto done;
  }
  for (size_t e = 0; e < k * dims; e++) meta[e] /= mx;
done:
  ev__free(a), ev__free(z), ev__free(deg), ev__free(w), ev__free(norm);
  return st;
}

ev_status ev__umap_centroids(const ev__umap_rows *rows, const uint32_t *labels,
                            size_t n, size_t k, float **out) {
  size_t d = rows->d, bytes;
  ev_status st = ev__bytes("the component centroids", k, d + 1,
                           sizeof(double), &bytes);
  if (st) return st;
  double *sum = ev__calloc(k * d, sizeof *sum);
  size_t *cnt = ev__calloc(k, sizeof *cnt);
  float *cen = ev__malloc(k * d * sizeof *cen);
  if (!sum || !cnt || !cen) {
    ev__free(sum), ev__free(cnt), ev__free(cen);
    return ev__nomem("the component centroids", bytes);
  }
  for (size_t i = 0; i < n; i++) {
    const float *r = rows->x + i * rows->ld;
    for (size_t j = 0; j < d; j++) sum[labels[i] * d + j] += r[j];
    cnt[labels[i]]++;
  }
  for (size_t c = 0; c < k; c++)
    for (size_t j = 0; j < d; j++)
      cen[c * d + j] = (float)(sum[c * d + j] / (double)cnt[c]);
  ev__free(sum), ev__free(cnt);
  *out = cen;
  return EV_OK;
}

static ev_status places(const ev__umap_rows *rows, const uint32_t *labels,
                        size_t n, size_t k, size_t dims, uint64_t seed,
                        double *meta) {
  if (k <= 2 * dims) {
    memset(meta, 0, k * dims * sizeof *meta);
    size_t half = (k + 1) / 2;
    for (size_t c = 0; c < k; c++)
      meta[c * dims + c % half] = c < half ? 1.0 : -1.0;
    return EV_OK;
  }
  ev_status st = EV_ERR_UNSUPPORTED;
  if (rows && rows->x) {
    float *cen = NULL;
    if ((st = ev__umap_centroids(rows, labels, n, k, &cen))) return st;
    /* on one thread: the distances' SGEMM and dsyevr then round the same
     * way on any thread count (with the threads' BLAS, 5 blobs of 2,000
     * rows gave places 2.6e-5 apart on 1 and 2 threads, maps 34 apart) */
    ev__threads one;
    ev__threads_begin(&one, 1);
    st = centroid_places(cen, k, rows->d, rows->metric, rows->p, dims, meta);
    ev__threads_end(&one);
    ev__free(cen);
    if (st != EV_ERR_UNSUPPORTED) return st;
  }
  for (size_t e = 0; e < k * dims; e++) meta[e] = 10.0 * uniform(seed, 0x3e7a, e, 0);
  return EV_OK;
}

/* The sub-graph of component c (members' rows, columns renumbered by pos). */
static ev_status subgraph(const ev__umap_graph *g, const uint32_t *member,
                          size_t m, const uint32_t *pos, ev__umap_graph *out) {
  size_t nnz = 0;
  for (size_t a = 0; a < m; a++)
    nnz += g->row_ptr[member[a] + 1] - g->row_ptr[member[a]];
  memset(out, 0, sizeof *out);
  out->n = out->cols = m;
  out->row_ptr = ev__malloc((m + 1) * sizeof *out->row_ptr);
  out->col = ev__malloc((nnz ? nnz : 1) * sizeof *out->col);
  out->val = ev__malloc((nnz ? nnz : 1) * sizeof *out->val);
  if (!out->row_ptr || !out->col || !out->val) {
    ev__umap_graph_free(out);
    return ev__nomem("a component's graph", nnz * 12 + m * 8);
  }
  size_t at = 0;
  out->row_ptr[0] = 0;
  for (size_t a = 0; a < m; a++) {
    for (size_t e = g->row_ptr[member[a]]; e < g->row_ptr[member[a] + 1]; e++) {
      out->col[at] = pos[g->col[e]];
      out->val[at++] = g->val[e];
    }
    out->row_ptr[a + 1] = at;
  }
  return EV_OK;
}

/* Progress of the per-component solves as one count: components done. */
typedef struct comp_progress {
  ev_progress_fn cb;
  void *user;
  size_t done, count;
} comp_progress;

static int comp_report(void *user, int stage, size_t step, size_t total,
                       double value) {
  (void)step, (void)total, (void)value;
  comp_progress *cp = user;
  return cp->cb(cp->user, stage, cp->done, cp->count, NAN);
}

ev_status ev__umap_spectral_components(const ev__umap_graph *g,
                                       const uint32_t *labels, size_t k,
                                       const ev__umap_rows *rows, size_t dims,
                                       uint64_t seed, double *y,
                                       ev_progress_fn cb, void *user,
                                       size_t *n_random,
                                       const ev__umap_places *given) {
  size_t n = g->n, bytes;
  *n_random = 0;
  ev_status st = ev__bytes("the component layout", n, 3, sizeof(uint32_t),
                           &bytes);
  if (st) return st;
  double *meta = ev__malloc(k * dims * sizeof *meta);
  double *part = ev__malloc(n * dims * sizeof *part);
  uint32_t *order = ev__malloc(n * sizeof *order), *pos = ev__malloc(n * sizeof *pos);
  size_t *start = ev__calloc(k + 1, sizeof *start);
  if (!meta || !part || !order || !pos || !start) {
    st = ev__nomem("the component layout", bytes + k * dims * 8 + n * dims * 8);
    goto done;
  }
  if (given) memcpy(meta, given->meta, k * dims * sizeof *meta);
  else if ((st = places(rows, labels, n, k, dims, seed, meta))) goto done;
  /* members of each component, in row order */
  for (size_t i = 0; i < n; i++) start[labels[i] + 1]++;
  for (size_t c = 0; c < k; c++) start[c + 1] += start[c];
  for (size_t i = 0; i < n; i++) {
    size_t c = labels[i];
    order[start[c]++] = (uint32_t)i;
  }
  for (size_t c = k; c > 0; c--) start[c] = start[c - 1];
  start[0] = 0;
  for (size_t c = 0; c < k; c++)
    for (size_t a = start[c]; a < start[c + 1]; a++)
      pos[order[a]] = (uint32_t)(a - start[c]);
  comp_progress cp = {cb, user, 0, k};
  for (size_t c = 0; c < k && !st; c++) {
    size_t m = start[c + 1] - start[c];
    const uint32_t *member = order + start[c];
    const double *place = meta + c * dims;
    /* half the distance to the nearest other place */
    double range = given ? given->range[c] : INFINITY;
    for (size_t o = 0; o < k && !given; o++) {
      double s = 0;
      for (size_t j = 0; j < dims; j++) {
        double t = meta[o * dims + j] - place[j];
        s += t * t;
      }
      if (s > 0 && sqrt(s) / 2 < range) range = sqrt(s) / 2;
    }
    if (!isfinite(range)) range = 1.0; /* every place the same */
    int spread = m < 2 * dims || m <= dims + 1 ||
                 (given && m < given->min_spectral);
    if (!spread) {
      ev__umap_graph sub;
      if ((st = subgraph(g, member, m, pos, &sub))) break;
      st = spectral_vectors(&sub, dims, part, cb ? comp_report : NULL, &cp);
      ev__umap_graph_free(&sub);
      if (st == EV_ERR_UNSUPPORTED) {
        st = EV_OK;
        spread = 1;
      } else if (st) {
        break;
      } else {
        double mx = 0.0;
        for (size_t e = 0; e < m * dims; e++)
          if (fabs(part[e]) > mx) mx = fabs(part[e]);
        for (size_t a = 0; a < m; a++)
          for (size_t j = 0; j < dims; j++)
            y[member[a] * dims + j] = part[a * dims + j] * (range / mx) + place[j];
      }
    }
    if (spread) {
      (*n_random)++;
      for (size_t a = 0; a < m; a++)
        for (size_t j = 0; j < dims; j++)
          y[member[a] * dims + j] =
              place[j] + range * (2.0 * uniform(seed, 0xc0a5, member[a], j) - 1.0);
    }
    cp.done = c + 1;
    if ((st = ev__progress(cb, user, EV_STAGE_SPECTRAL, c + 1, k, NAN))) break;
  }
  if (!st) st = finish(y, n * dims, seed);
done:
  ev__free(meta), ev__free(part), ev__free(order), ev__free(pos);
  ev__free(start);
  return st;
}
