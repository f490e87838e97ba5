/* First thresholds for the exact all-points (self) search.
 *
 * The blocked scan (knn_scan.c) keeps each row's threshold at its current
 * k-th distance plus the rounding bound E. It starts open, so with the
 * reference in random order a row offers about k (1 + ln(n / k)) rows to
 * its heap, each with an exact distance in double and a heap update: at
 * 70,000 x 50 and k = 90 that selection cost more CPU than the SGEMM
 * products themselves (docs/knn.md).
 *
 * A tighter start costs little: one random-projection tree (nndescent.c)
 * cuts the rows into groups of about SEED_GROUP near rows; within each
 * group the expanded distances come from one SGEMM, and the k-th smallest
 * of a row's expanded distances to the others of its group, e, gives
 * d_k <= e + E for the row's true k-th nearest distance d_k (any k rows
 * bound the k-th nearest from above). A true neighbour r then has
 * expanded distance at most d_r + E <= e + 2E, so the scan may start at
 * e + 2E and still offers every row that can be among the k nearest. The
 * lists are exactly the same as without the seeds (ties go by index in
 * the heap whatever arrives first); only fewer rows are offered. */
#include <cblas.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

#include "knn_approx.h"
#include "knn_private.h"
#include "core/testhook.h"

enum {
  SEED_MIN_GROUPS = 16,
  SEED_BQ = 256      /* query rows per SGEMM tile of a group */
};

/* Rows per group (at least 4 (k + 1)); 0 turns the seeds off (tests). */
size_t ev__test_knn_seed_group = 1024;
size_t ev__test_knn_seeded;

static size_t group_rows(size_t k) {
  size_t g = 4 * (k + 1);
  return g > ev__test_knn_seed_group ? g : ev__test_knn_seed_group;
}

int ev__knn_seed_applies(const ev__knn_job *job) {
  if (!job->self || job->kind != EV__KNN_L2 || !ev__test_knn_seed_group)
    return 0;
  size_t g = group_rows(job->k);
  return job->index->n / SEED_MIN_GROUPS >= g;
}

/* The (k+1)-th smallest of v[0 .. m) (k < m), v reordered (Hoare's
 * selection). */
static double select_kth(double *v, size_t m, size_t k) {
  ptrdiff_t lo = 0, hi = (ptrdiff_t)m - 1, kk = (ptrdiff_t)k;
  while (lo < hi) {
    double pivot = v[lo + (hi - lo) / 2];
    ptrdiff_t i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) {
        double t = v[i];
        v[i++] = v[j];
        v[j--] = t;
      }
    }
    if (kk <= j) hi = j;
    else if (kk >= i) lo = i;
    else break;
  }
  return v[kk];
}

typedef struct scratch {
  float *rows;  /* the group's rows, packed */
  float *tile;  /* SEED_BQ x group */
  double *v;    /* one row's expanded distances */
} scratch;

static void group_limits(const ev__knn_job *job, const int32_t *r, size_t m,
                         scratch *w, double *limit) {
  const ev_knn *ix = job->index;
  size_t d = ix->dim, k = job->k;
  for (size_t a = 0; a < m; a++)
    memcpy(w->rows + a * d, ix->ref + (size_t)r[a] * d, d * sizeof(float));
  for (size_t a0 = 0; a0 < m; a0 += SEED_BQ) {
    size_t ma = m - a0 < SEED_BQ ? m - a0 : SEED_BQ;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ma, (int)m,
                (int)d, -2.0f, w->rows + a0 * d, (int)d, w->rows, (int)d, 0.0f,
                w->tile, (int)m);
    for (size_t a = 0; a < ma; a++) {
      int32_t ra = r[a0 + a];
      double qn = ix->norm[ra], qn2 = qn * qn;
      const float *t = w->tile + a * m;
      size_t c = 0;
      for (size_t b = 0; b < m; b++)
        if (b != a0 + a) w->v[c++] = qn2 + (double)ix->colv[r[b]] + (double)t[b];
      double e = select_kth(w->v, c, k - 1);
      double E = ev__knn_scan_bound(job->kind, d, qn, ix->max_sqnorm);
      limit[ra] = e + 2 * E;
    }
  }
}

double *ev__knn_seed(const ev__knn_job *job) {
  const ev_knn *ix = job->index;
  size_t n = ix->n, g = group_rows(job->k);
  int T = ev__resolve_threads(ix->threads);
  double *limit = ev__malloc(n * sizeof *limit);
  int32_t *perm = ev__malloc(n * sizeof *perm);
  uint32_t *leaf = ev__malloc((n + 1) * sizeof *leaf);
  uint32_t *grp = ev__malloc((n + 1) * sizeof *grp);
  float *normal = ev__malloc(ix->dim * sizeof *normal);
  scratch *w = ev__calloc((size_t)T, sizeof *w);
  int ok = limit && perm && leaf && grp && normal && w;
  for (int t = 0; ok && t < T; t++) {
    w[t].rows = ev__malloc(2 * g * ix->dim * sizeof(float));
    w[t].tile = ev__malloc((size_t)SEED_BQ * 2 * g * sizeof(float));
    w[t].v = ev__malloc(2 * g * sizeof(double));
    ok = w[t].rows && w[t].tile && w[t].v;
  }
  if (ok) {
    ev__knn_data x = {ix->ref, ix->norm, n, ix->dim, EV__KNN_L2_DIRECT, 2};
    size_t nleaves;
    ev__rptree_build(&x, g, ix->seed ^ 0x5eedull, 0, perm, leaf, &nleaves,
                     normal);
    /* Consecutive leaves (siblings in the tree) make groups of g / 2 to
     * 3g / 2 rows; a short last group joins the one before (< 2g). */
    size_t ng = 0;
    grp[0] = 0;
    for (size_t l = 0; l < nleaves; l++)
      if (leaf[l + 1] - grp[ng] >= g / 2) grp[++ng] = leaf[l + 1];
    if (grp[ng] != n) {
      if (ng > 0) grp[ng] = (uint32_t)n;
      else grp[++ng] = (uint32_t)n;
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(T)
    for (size_t q = 0; q < ng; q++)
      group_limits(job, perm + grp[q], grp[q + 1] - grp[q],
                   &w[omp_get_thread_num()], limit);
  }
  for (int t = 0; w && t < T; t++) {
    ev__free(w[t].rows);
    ev__free(w[t].tile);
    ev__free(w[t].v);
  }
  ev__free(w);
  ev__free(normal);
  ev__free(grp);
  ev__free(leaf);
  ev__free(perm);
  if (!ok) {
    ev__free(limit);
    return NULL;
  }
#pragma omp atomic update
  ev__test_knn_seeded++;
  return limit;
}
