/* The KL gradient: attraction over the sparse P, repulsion over all pairs
 * (exactly here, or by the Barnes-Hut tree), KL divergence in the same pass.
 * Each point's sums are made by one thread in a fixed order and reduced
 * sequentially, so the bits do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "tsne/tsne_internal.h"

void ev__tsne_repulsion_exact(const double *y, size_t n, size_t dims,
                              double *rep, double *z) {
#pragma omp for schedule(dynamic, 16) nowait
  for (size_t i = 0; i < n; i++) {
    const double *yi = y + i * dims;
    double f[EV__TSNE_MAX_DIMS] = {0}, zi = 0.0;
    for (size_t j = 0; j < n; j++) {
      if (j == i) continue;
      const double *yj = y + j * dims;
      double d2 = 0.0;
      for (size_t k = 0; k < dims; k++) {
        double d = yi[k] - yj[k];
        d2 += d * d;
      }
      double w = 1.0 / (1.0 + d2);
      zi += w;
      for (size_t k = 0; k < dims; k++) f[k] += w * w * (yi[k] - yj[k]);
    }
    for (size_t k = 0; k < dims; k++) rep[i * dims + k] = f[k];
    z[i] = zi;
  }
}

/* Attraction of row i; the row's sum of p log w into plogw[i] when asked.
 * Inlined with D constant for 1 to 3 dimensions, so that the sums stay in
 * registers. */
static inline __attribute__((always_inline)) void
attract_row(const ev__csr *p, const double *y, const size_t D, size_t i,
            double *attr, double *plogw) {
  const double *yi = y + i * D;
  double a[EV__TSNE_MAX_DIMS], s = 0.0;
  for (size_t k = 0; k < D; k++) a[k] = 0.0;
  for (size_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; e++) {
    const double *yj = y + (size_t)p->col[e] * D;
    double d[EV__TSNE_MAX_DIMS], d2 = 0.0;
    for (size_t k = 0; k < D; k++) {
      d[k] = yi[k] - yj[k];
      d2 += d[k] * d[k];
    }
    double v = p->fval ? (double)p->fval[e] : p->val[e];
    double pw = v / (1.0 + d2);
    for (size_t k = 0; k < D; k++) a[k] += pw * d[k];
    if (plogw) s -= v * log1p(d2);
  }
  for (size_t k = 0; k < D; k++) attr[i * D + k] = a[k];
  if (plogw) plogw[i] = s;
}

/* EV_CLONES (core/core.h): an AVX2 version beside the default one. Both do
 * the same operations on the same lanes (no FMA: ISO C mode keeps products
 * and sums apart), so they give the same bits. */


/* Rows i0 to i1 of a 2-D map: four entries at a time in four lanes, so
 * that the sums are four independent chains of additions rather than one
 * (the chain's latency bounded the one-by-one loop), the lanes added in a
 * fixed order, then the row's last entries one by one. */
EV_CLONES static void attract_rows2(const ev__csr *p, const double *y,
                                 size_t i0, size_t i1, double *attr,
                                 double *plogw) {
  const ev__v4d one = {1.0, 1.0, 1.0, 1.0};
  for (size_t i = i0; i < i1; i++) {
    const double xi = y[2 * i], yi = y[2 * i + 1];
    const ev__v4d vxi = {xi, xi, xi, xi}, vyi = {yi, yi, yi, yi};
    ev__v4d ax = {0.0, 0.0, 0.0, 0.0}, ay = ax, sl = ax;
    size_t e = p->row_ptr[i], end = p->row_ptr[i + 1];
    for (; e + 4 <= end; e += 4) {
      /* lanes built from values, not through memory (a wide load of
       * narrow stores stalls) */
      const double *y0 = y + 2 * (size_t)p->col[e];
      const double *y1 = y + 2 * (size_t)p->col[e + 1];
      const double *y2 = y + 2 * (size_t)p->col[e + 2];
      const double *y3 = y + 2 * (size_t)p->col[e + 3];
      const ev__v4d xj = {y0[0], y1[0], y2[0], y3[0]};
      const ev__v4d yj = {y0[1], y1[1], y2[1], y3[1]};
      ev__v4d v;
      memcpy(&v, p->val + e, sizeof v);
      ev__v4d dx = vxi - xj, dy = vyi - yj;
      ev__v4d d2 = dx * dx + dy * dy;
      ev__v4d pw = v / (one + d2);
      ax += pw * dx;
      ay += pw * dy;
      if (plogw) {
        ev__v4d lg;
        ev__log1p_v4d(&d2, &lg);
        sl -= v * lg;
      }
    }
    double a0 = (ax[0] + ax[1]) + (ax[2] + ax[3]);
    double a1 = (ay[0] + ay[1]) + (ay[2] + ay[3]);
    double s = (sl[0] + sl[1]) + (sl[2] + sl[3]);
    for (; e < end; e++) {
      const double *yj = y + 2 * (size_t)p->col[e];
      double dx = xi - yj[0], dy = yi - yj[1], d2 = dx * dx + dy * dy;
      double pw = p->val[e] / (1.0 + d2);
      a0 += pw * dx;
      a1 += pw * dy;
      if (plogw) s -= p->val[e] * log1p(d2);
    }
    attr[2 * i] = a0;
    attr[2 * i + 1] = a1;
    if (plogw) plogw[i] = s;
  }
}

/* The FFT method's renumbered P keeps its values as floats, and its 2-D
 * attraction reads the map's positions as floats too (a copy made for
 * each gradient): its rows go eight entries at a time in eight float
 * lanes (differences, squared distances and p / (1 + d^2) in one float
 * division), each row's lanes then summed in double in a fixed order.
 * Positions of up to a few hundred units keep differences to about 1e-5
 * units, far inside the repulsion's interpolation error. A neighbour's
 * (x, y) is one 64-bit load: rows c0, c1, c4, c5 and c2, c3, c6, c7 make
 * two vectors whose in-lane shuffles give x and y in entry order (eight
 * loads and two shuffles instead of sixteen inserts). The KL's terms are
 * a separate instance of the loop (with_log), needed every 50
 * iterations. */

static inline __attribute__((always_inline)) void
attract_rows2f_body(const ev__csr *p, const float *y, size_t i0, size_t i1,
                    double *attr, double *plogw, const int with_log) {
  const ev__v8f one = {1, 1, 1, 1, 1, 1, 1, 1};
  for (size_t i = i0; i < i1; i++) {
    const float xi = y[2 * i], yi = y[2 * i + 1];
    ev__v8f ax = {0, 0, 0, 0, 0, 0, 0, 0}, ay = ax;
    ev__v4d sl = {0, 0, 0, 0};
    size_t e = p->row_ptr[i], end = p->row_ptr[i + 1];
    for (; e + 8 <= end; e += 8) {
      const uint32_t *c = p->col + e;
      uint64_t q[8];
      for (int l = 0; l < 8; l++) memcpy(&q[l], y + 2 * (size_t)c[l], 8);
      ev__v4u lo = {q[0], q[1], q[4], q[5]}, hi = {q[2], q[3], q[6], q[7]};
      ev__v8f xj = __builtin_shufflevector((ev__v8f)lo, (ev__v8f)hi, 0, 2, 8,
                                           10, 4, 6, 12, 14);
      ev__v8f yj = __builtin_shufflevector((ev__v8f)lo, (ev__v8f)hi, 1, 3, 9,
                                           11, 5, 7, 13, 15);
      ev__v8f v;
      memcpy(&v, p->fval + e, sizeof v);
      ev__v8f dx = xi - xj, dy = yi - yj, d2 = dx * dx + dy * dy;
      ev__v8f pw = v / (one + d2);
      ax += pw * dx;
      ay += pw * dy;
      if (with_log) {
        /* the eight lanes as two halves of four doubles */
        ev__v4d dlo = __builtin_convertvector(
            __builtin_shufflevector(d2, d2, 0, 1, 2, 3), ev__v4d);
        ev__v4d dhi = __builtin_convertvector(
            __builtin_shufflevector(d2, d2, 4, 5, 6, 7), ev__v4d);
        ev__v4d vlo = __builtin_convertvector(
            __builtin_shufflevector(v, v, 0, 1, 2, 3), ev__v4d);
        ev__v4d vhi = __builtin_convertvector(
            __builtin_shufflevector(v, v, 4, 5, 6, 7), ev__v4d);
        ev__v4d llo, lhi;
        ev__log1p_v4d(&dlo, &llo);
        ev__log1p_v4d(&dhi, &lhi);
        sl -= vlo * llo + vhi * lhi;
      }
    }
    double s = (sl[0] + sl[1]) + (sl[2] + sl[3]);
    double a0 = ev__v8f_sum(&ax), a1 = ev__v8f_sum(&ay);
    for (; e < end; e++) {
      const float *yj = y + 2 * (size_t)p->col[e];
      float dx = xi - yj[0], dy = yi - yj[1], d2 = dx * dx + dy * dy;
      float pw = p->fval[e] / (1.0f + d2);
      a0 += (double)(pw * dx);
      a1 += (double)(pw * dy);
      if (with_log) s -= (double)p->fval[e] * log1p((double)d2);
    }
    attr[2 * i] = a0;
    attr[2 * i + 1] = a1;
    if (with_log) plogw[i] = s;
  }
}

EV_CLONES static void attract_rows2f(const ev__csr *p, const float *y,
                                     size_t i0, size_t i1, double *attr,
                                     double *plogw) {
  if (plogw) attract_rows2f_body(p, y, i0, i1, attr, plogw, 1);
  else attract_rows2f_body(p, y, i0, i1, attr, NULL, 0);
}

#define ATTRACT_CHUNK 256

void ev__tsne_attraction(const ev__csr *p, const double *y, size_t dims,
                         double *attr, double *rowlog) {
  size_t n = p->n;
  if (dims == 2 && !p->fval) {
#pragma omp for schedule(dynamic, 1) nowait
    for (size_t c = 0; c < (n + ATTRACT_CHUNK - 1) / ATTRACT_CHUNK; c++) {
      size_t i0 = c * ATTRACT_CHUNK;
      size_t i1 = i0 + ATTRACT_CHUNK < n ? i0 + ATTRACT_CHUNK : n;
      attract_rows2(p, y, i0, i1, attr, rowlog);
    }
    return;
  }
#pragma omp for schedule(dynamic, ATTRACT_CHUNK) nowait
  for (size_t i = 0; i < n; i++) {
    if (dims == 3) attract_row(p, y, 3, i, attr, rowlog);
    else if (dims == 1) attract_row(p, y, 1, i, attr, rowlog);
    else attract_row(p, y, dims, i, attr, rowlog);
  }
}

/* The 2-D attraction of the FFT method: float values, float positions
 * yf. Work-sharing loop, as ev__tsne_attraction. */
static void attraction2f(const ev__csr *p, const float *yf, double *attr,
                         double *rowlog) {
  size_t n = p->n;
#pragma omp for schedule(dynamic, 1) nowait
  for (size_t c = 0; c < (n + ATTRACT_CHUNK - 1) / ATTRACT_CHUNK; c++) {
    size_t i0 = c * ATTRACT_CHUNK;
    size_t i1 = i0 + ATTRACT_CHUNK < n ? i0 + ATTRACT_CHUNK : n;
    attract_rows2f(p, yf, i0, i1, attr, rowlog);
  }
}

/* grad = 4 (exaggeration attr - rep / Z) and the KL divergence from the
 * per-point sums (added in index order). */
static void combine(size_t n, size_t dims, double exaggeration,
                    const double *attr, const double *rep, double zsum,
                    const double *rowlog, double p_log_p, double *grad,
                    double *kl) {
  size_t nd = n * dims;
  double plogw = 0.0;
  if (kl)
    for (size_t i = 0; i < n; i++) plogw += rowlog[i];
  double inv_z = 1.0 / zsum;
  for (size_t e = 0; e < nd; e++)
    grad[e] = 4.0 * (exaggeration * attr[e] - rep[e] * inv_z);
  if (kl) *kl = p_log_p - plogw + log(zsum);
}

void ev__tsne_gradient(const ev__csr *p, const double *y, size_t dims,
                       double exaggeration, ev__bhtree *tree, double theta,
                       double p_log_p, double *grad, double *kl,
                       double *scratch) {
  size_t n = p->n, nd = n * dims;
  double *attr = scratch, *rep = attr + nd, *z = rep + nd, *rowlog = z + n;
  if (tree) ev__bhtree_build(tree, y);
  /* One parallel region per gradient: on a busy machine every barrier can
   * cost a scheduler time slice. */
#pragma omp parallel if (n >= EV__TSNE_PAR_MIN / 4)
  {
    if (tree) ev__bhtree_repulsion(tree, theta, rep, z);
    else ev__tsne_repulsion_exact(y, n, dims, rep, z);
    ev__tsne_attraction(p, y, dims, attr, kl ? rowlog : NULL);
  }
  double zsum = 0.0;
  for (size_t i = 0; i < n; i++) zsum += z[i];
  combine(n, dims, exaggeration, attr, rep, zsum, rowlog, p_log_p, grad, kl);
}

ev_status ev__tsne_gradient_fft(const ev__csr *p, const double *y,
                                size_t dims, double exaggeration,
                                ev__fftgrid *g, double p_log_p, double *grad,
                                double *kl, double *scratch) {
  size_t n = p->n, nd = n * dims;
  double *attr = scratch, *rep = attr + nd, *z = rep + nd, *rowlog = z + n;
  ev_status st = ev__fftgrid_prepare(g, y);
  if (st) return st;
  /* 2-D with float values (the optimiser's renumbered P): the positions
   * as floats for the attraction, in z's place (unused here) */
  float *yf = dims == 2 && p->fval ? (float *)z : NULL;
#pragma omp parallel if (n >= EV__TSNE_PAR_MIN / 4)
  {
    if (yf) {
#pragma omp for schedule(static)
      for (size_t e = 0; e < nd; e++) yf[e] = (float)y[e];
    }
    ev__fftgrid_repulsion(g, y, rep);
    if (yf) attraction2f(p, yf, attr, kl ? rowlog : NULL);
    else ev__tsne_attraction(p, y, dims, attr, kl ? rowlog : NULL);
  }
  combine(n, dims, exaggeration, attr, rep, ev__fftgrid_z(g), rowlog, p_log_p,
          grad, kl);
  return EV_OK;
}
