/* Full SVD solver: a centred copy of the data (n x d floats) and sgesdd.
 * The copy, read as the column-major d x n matrix Xc^T, has the components
 * as its left singular vectors, which sgesdd (jobz 'O') writes over the
 * copy when d >= n, or into a d x d matrix when d < n. Peak memory: 4 n d
 * bytes plus sgesdd's workspace (about 4 min(n,d)^2 floats + that min
 * times max(n,d) floats). */
#include <math.h>
#include <string.h>

#include "linalg/linalg.h"
#include "pca/pca.h"

ev_status ev__pca_solve_svd(const ev__pca_job *job, ev__pca_raw *out) {
  const ev_pca *pca = job->pca;
  size_t n = job->n, d = job->d, k = job->k, m = n < d ? n : d;
  float *a = ev__malloc(n * d * sizeof *a); /* sizes checked by the caller */
  float *s = ev__malloc(m * sizeof *s);
  float *u = d < n ? ev__malloc(d * d * sizeof *u) : NULL;
  double *var = ev__malloc(k * sizeof *var);
  float *comp = ev__malloc(k * d * sizeof *comp);
  ev_status st = EV_OK;
  if (!a || !s || (d < n && !u) || !var || !comp)
    st = ev__nomem("the SVD solver's centred copy", n * d * sizeof *a);
  if (!st) {
    ev__center_rows(job->x, n, d, job->ld, job->mean, a);
    st = ev__progress(pca->progress, pca->progress_user, EV_STAGE_PCA, 1, 2,
                      NAN);
  }
  if (!st) st = ev__svd_left(a, d, n, s, u);
  if (!st) {
    const float *left = d >= n ? a : u;
    memcpy(comp, left, k * d * sizeof *comp);
    for (size_t i = 0; i < k; i++)
      var[i] = (double)s[i] * s[i] / (double)(n - 1);
    st = ev__progress(pca->progress, pca->progress_user, EV_STAGE_PCA, 2, 2,
                      NAN);
  }
  ev__free(a);
  ev__free(s);
  ev__free(u);
  if (st) {
    ev__free(var);
    ev__free(comp);
    return st;
  }
  out->variance = var;
  out->components = comp;
  return EV_OK;
}
