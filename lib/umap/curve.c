/* The low-dimensional similarity 1 / (1 + a d^(2b)): a and b fitted by
 * least squares as umap-learn's find_ab_params does with scipy's
 * curve_fit (Levenberg-Marquardt from a = b = 1), here with the exact
 * Jacobian. */
#include <math.h>

#include "umap/umap_internal.h"

#define N_POINTS 300
#define MAX_ITERS 500

static double residuals(double a, double b, const double *x, const double *y,
                        double *jac /* N_POINTS x 2 or NULL */) {
  double ss = 0.0;
  for (int i = 0; i < N_POINTS; i++) {
    double p = x[i] > 0.0 ? pow(x[i], 2.0 * b) : 0.0;
    double f = 1.0 / (1.0 + a * p);
    double r = f - y[i];
    ss += r * r;
    if (jac) {
      jac[2 * i] = -p * f * f;
      jac[2 * i + 1] = x[i] > 0.0 ? -a * p * 2.0 * log(x[i]) * f * f : 0.0;
    }
  }
  return ss;
}

ev_status ev__umap_find_ab(double spread, double min_dist, double *a,
                           double *b) {
  double x[N_POINTS], y[N_POINTS], jac[2 * N_POINTS];
  for (int i = 0; i < N_POINTS; i++) {
    x[i] = spread * 3.0 * i / (N_POINTS - 1);
    y[i] = x[i] < min_dist ? 1.0 : exp(-(x[i] - min_dist) / spread);
  }
  double pa = 1.0, pb = 1.0, lambda = 1e-3;
  double ss = residuals(pa, pb, x, y, jac);
  for (int it = 0; it < MAX_ITERS; it++) {
    /* normal equations J^T J + lambda diag(J^T J), J^T r */
    double h00 = 0, h01 = 0, h11 = 0, g0 = 0, g1 = 0;
    for (int i = 0; i < N_POINTS; i++) {
      double pw = x[i] > 0.0 ? pow(x[i], 2.0 * pb) : 0.0;
      double r = 1.0 / (1.0 + pa * pw) - y[i];
      double j0 = jac[2 * i], j1 = jac[2 * i + 1];
      h00 += j0 * j0, h01 += j0 * j1, h11 += j1 * j1;
      g0 += j0 * r, g1 += j1 * r;
    }
    int improved = 0;
    while (lambda < 1e16) {
      double m00 = h00 * (1.0 + lambda), m11 = h11 * (1.0 + lambda);
      double det = m00 * m11 - h01 * h01;
      if (det == 0.0) break;
      double da = -(m11 * g0 - h01 * g1) / det;
      double db = -(m00 * g1 - h01 * g0) / det;
      double na = pa + da, nb = pb + db;
      if (na > 0.0 && nb > 0.0) {
        double nss = residuals(na, nb, x, y, NULL);
        if (nss <= ss) {
          double step = fabs(da) / (fabs(pa) + 1e-12) +
                        fabs(db) / (fabs(pb) + 1e-12);
          pa = na, pb = nb;
          int done = step < 1e-13 || ss - nss <= 1e-16 * ss;
          ss = residuals(pa, pb, x, y, jac);
          lambda /= 10.0;
          improved = done ? 2 : 1;
          break;
        }
      }
      lambda *= 10.0;
    }
    if (improved != 1) break;
  }
  if (!isfinite(pa) || !isfinite(pb))
    return ev__fail(EV_ERR_INTERNAL,
                    "the fit of the UMAP curve for spread %g and min_dist %g "
                    "did not converge: set EV_UMAP_A and EV_UMAP_B",
                    spread, min_dist);
  *a = pa, *b = pb;
  return EV_OK;
}
