/* The KL gradient: attraction over the sparse P, repulsion over all pairs
 * (exactly here, or by the Barnes-Hut tree), KL divergence in the same pass.
 * Each point's sums are made by one thread in a fixed order and reduced
 * sequentially, so the bits do not depend on the thread count. */
#include <math.h>

#include "tsne/tsne_internal.h"

void ev__tsne_repulsion_exact(const double *y, size_t n, size_t dims,
                              double *rep, double *z) {
#pragma omp parallel for schedule(dynamic, 16) if (n >= 1024)
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

/* Attraction of row i; the row's sum of p log w into *plogw when asked. */
static void attract_row(const ev__csr *p, const double *y, size_t dims,
                        size_t i, double *attr, double *plogw) {
  const double *yi = y + i * dims;
  double a[EV__TSNE_MAX_DIMS] = {0}, s = 0.0;
  for (size_t e = p->row_ptr[i]; e < p->row_ptr[i + 1]; e++) {
    const double *yj = y + (size_t)p->col[e] * dims;
    double d2 = 0.0;
    for (size_t k = 0; k < dims; k++) {
      double d = yi[k] - yj[k];
      d2 += d * d;
    }
    double w = 1.0 / (1.0 + d2), pw = p->val[e] * w;
    for (size_t k = 0; k < dims; k++) a[k] += pw * (yi[k] - yj[k]);
    if (plogw) s -= p->val[e] * log1p(d2);
  }
  for (size_t k = 0; k < dims; k++) attr[i * dims + k] = a[k];
  if (plogw) plogw[i] = s;
}

double ev__tsne_attraction(const ev__csr *p, const double *y, size_t dims,
                           double *attr, double *rowlog) {
  size_t n = p->n;
#pragma omp parallel for schedule(dynamic, 256) if (n >= EV__TSNE_PAR_MIN)
  for (size_t i = 0; i < n; i++) attract_row(p, y, dims, i, attr, rowlog);
  double s = 0.0;
  if (rowlog)
    for (size_t i = 0; i < n; i++) s += rowlog[i];
  return s;
}

void ev__tsne_gradient(const ev__csr *p, const double *y, size_t dims,
                       double exaggeration, ev__bhtree *tree, double theta,
                       double p_log_p, double *grad, double *kl,
                       double *scratch) {
  size_t n = p->n, nd = n * dims;
  double *attr = scratch, *rep = attr + nd, *z = rep + nd, *rowlog = z + n;
  if (tree) ev__bhtree_repulsion(tree, y, theta, rep, z);
  else ev__tsne_repulsion_exact(y, n, dims, rep, z);
  double zsum = 0.0;
  for (size_t i = 0; i < n; i++) zsum += z[i];
  double plogw = ev__tsne_attraction(p, y, dims, attr, kl ? rowlog : NULL);
  double inv_z = 1.0 / zsum;
#pragma omp parallel for schedule(static) if (nd >= 2 * EV__TSNE_PAR_MIN)
  for (size_t e = 0; e < nd; e++)
    grad[e] = 4.0 * (exaggeration * attr[e] - rep[e] * inv_z);
  if (kl) *kl = p_log_p - plogw + log(zsum);
}
