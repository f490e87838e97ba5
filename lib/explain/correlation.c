/* Correlation of features, and an order of them by hierarchical clustering.
 */
#include <math.h>

#include "explain/explain_private.h"
#include "linalg/linalg.h"

#define BLOCK_FLOATS ((size_t)4 << 20) /* 16 MiB of rows per SSYRK */

static ev_status check_corr_args(const float *x, size_t n, size_t d,
                                 size_t ldx, const float *corr, size_t ldc) {
  ev_status st = ev__check_matrix("x", x, n, d, ldx);
  if (!st) st = ev__check_out_matrix("corr", corr, d, d, ldc);
  if (st) return st;
  if (n < 2)
    return ev__fail(EV_ERR_ARGUMENT, "a correlation needs at least 2 rows, "
                    "got %zu: pass more rows", n);
  if (!ev__fits_blas(d) || !ev__fits_blas(ldx))
    return ev__fail(EV_ERR_ARGUMENT, "%zu features (leading dimension %zu) "
                    "pass BLAS's 32-bit limit: pass fewer features", d, ldx);
  size_t bytes;
  if ((st = ev__bytes("the covariance", d, d, sizeof(double), &bytes)))
    return st;
  return ev__check_finite("x", x, n, d, ldx);
}

ev_status ev_feature_correlation(const float *x, size_t n, size_t d,
                                 size_t ldx, float *corr, size_t ldc) {
  ev_status st = check_corr_args(x, n, d, ldx, corr, ldc);
  if (st) return st;
  size_t rows = BLOCK_FLOATS / d;
  if (rows < 64) rows = 64;
  if (rows > n) rows = n;
  if (rows > (size_t)INT_MAX / 2) rows = (size_t)INT_MAX / 2;
  double *gram = ev__calloc(d * d, sizeof *gram);
  double *sum = ev__calloc(d, sizeof *sum);
  float *cf = ev__malloc(d * d * sizeof *cf);
  float *work = ev__malloc(rows * d * sizeof *work);
  if (!gram || !sum || !cf || !work) {
    ev__free(gram);
    ev__free(sum);
    ev__free(cf);
    ev__free(work);
    return ev__nomem("the covariance", d * d * (sizeof *gram + sizeof *cf));
  }
  ev__threads scope;
  ev__threads_begin(&scope, ev__resolve_threads(0));
  for (size_t r = 0; r < n; r += rows) {
    size_t b = n - r < rows ? n - r : rows;
    /* shifted by the first row, so a large mean costs no accuracy */
    ev__gram_accumulate(x + r * ldx, b, d, ldx, x, work, cf, gram, sum);
  }
  ev__threads_end(&scope);
  /* co-moments about the mean: G_ij - S_i S_j / n (upper triangle) */
  for (size_t i = 0; i < d; i++)
    for (size_t j = i; j < d; j++)
      gram[i * d + j] -= sum[i] * sum[j] / (double)n;
  for (size_t i = 0; i < d; i++) {
    double vi = gram[i * d + i];
    corr[i * ldc + i] = 1.0f;
    for (size_t j = i + 1; j < d; j++) {
      double vj = gram[j * d + j], r = 0.0;
      if (vi > 0 && vj > 0) r = gram[i * d + j] / sqrt(vi * vj);
      if (r > 1.0) r = 1.0;
      if (r < -1.0) r = -1.0;
      corr[i * ldc + j] = corr[j * ldc + i] = (float)r;
    }
  }
  ev__free(gram);
  ev__free(sum);
  ev__free(cf);
  ev__free(work);
  return EV_OK;
}

/* ---- the order: average linkage by the nearest-neighbour chain --------- */

typedef struct linkage {
  size_t d;
  float *dist;      /* d x d, symmetric, between the active clusters' slots */
  size_t *size;     /* per slot */
  size_t *node;     /* per slot: its tree node (leaves 0..d-1) */
  size_t *minleaf;  /* per slot: its lowest feature index */
  unsigned char *active;
  size_t *left, *right; /* per internal node (index node - d) */
  size_t *chain;
} linkage;

/* The nearest active slot to a: the chain's previous slot wins ties (so
 * the chain cannot cycle), then the lower slot. */
static size_t nearest(const linkage *L, size_t a, size_t prev, int has_prev) {
  size_t best = has_prev ? prev : SIZE_MAX;
  float bd = has_prev ? L->dist[a * L->d + prev] : INFINITY;
  for (size_t k = 0; k < L->d; k++) {
    if (k == a || !L->active[k]) continue;
    float dk = L->dist[a * L->d + k];
    if (best == SIZE_MAX || dk < bd) {
      best = k;
      bd = dk;
    }
  }
  return best;
}

/* Merge slots a and b into the lower one (Lance-Williams for UPGMA). */
static void merge(linkage *L, size_t a, size_t b, size_t new_node) {
  size_t s = a < b ? a : b, o = a < b ? b : a, d = L->d;
  double na = (double)L->size[s], nb = (double)L->size[o];
  for (size_t k = 0; k < d; k++) {
    if (!L->active[k] || k == s || k == o) continue;
    float v = (float)((na * L->dist[s * d + k] + nb * L->dist[o * d + k]) /
                      (na + nb));
    L->dist[s * d + k] = L->dist[k * d + s] = v;
  }
  int s_first = L->minleaf[s] < L->minleaf[o];
  L->left[new_node - d] = s_first ? L->node[s] : L->node[o];
  L->right[new_node - d] = s_first ? L->node[o] : L->node[s];
  L->size[s] += L->size[o];
  if (L->minleaf[o] < L->minleaf[s]) L->minleaf[s] = L->minleaf[o];
  L->node[s] = new_node;
  L->active[o] = 0;
}

static void cluster(linkage *L) {
  size_t d = L->d, len = 0, next_node = d;
  for (size_t merges = 0; merges + 1 < d; merges++) {
    if (len == 0) {
      size_t first = 0;
      while (!L->active[first]) first++;
      L->chain[len++] = first;
    }
    for (;;) {
      size_t a = L->chain[len - 1];
      size_t prev = len >= 2 ? L->chain[len - 2] : 0;
      size_t b = nearest(L, a, prev, len >= 2);
      if (len >= 2 && b == prev) {
        len -= 2;
        merge(L, a, b, next_node++);
        break;
      }
      L->chain[len++] = b;
    }
  }
}

/* Leaves of the tree from `root`, left first (an explicit stack). */
static void leaves(const linkage *L, size_t root, int64_t *order) {
  size_t *stack = L->chain, top = 0, out = 0, d = L->d;
  stack[top++] = root;
  while (top) {
    size_t v = stack[--top];
    if (v < d) {
      order[out++] = (int64_t)v;
    } else {
      stack[top++] = L->right[v - d];
      stack[top++] = L->left[v - d];
    }
  }
}

static ev_status check_order_args(const float *corr, size_t d, size_t ldc,
                                  const int64_t *order) {
  ev_status st = ev__check_matrix("corr", corr, d, d, ldc);
  if (st) return st;
  EV__ARG_NOT_NULL(order, "pass room for d feature indices");
  for (size_t i = 0; i < d; i++)
    for (size_t j = i + 1; j < d; j++) {
      float v = corr[i * ldc + j];
      if (isnan(v))
        return ev__fail(EV_ERR_NONFINITE, "corr[%zu][%zu] is NaN: pass a "
                        "correlation matrix from ev_feature_correlation "
                        "(it gives 0 for columns without variance)", i, j);
      if (!(fabsf(v) <= 1.0f + 1e-5f))
        return ev__fail(EV_ERR_ARGUMENT, "corr[%zu][%zu] = %g is outside "
                        "[-1, 1]: pass a correlation matrix", i, j, v);
    }
  size_t bytes;
  return ev__bytes("the distance matrix", d, d, sizeof(float), &bytes);
}

ev_status ev_feature_order(const float *corr, size_t d, size_t ldc,
                           int64_t *order) {
  ev_status st = check_order_args(corr, d, ldc, order);
  if (st) return st;
  if (d == 1) {
    order[0] = 0;
    return EV_OK;
  }
  linkage L = {.d = d};
  L.dist = ev__malloc(d * d * sizeof *L.dist);
  L.size = ev__malloc(d * sizeof *L.size);
  L.node = ev__malloc(d * sizeof *L.node);
  L.minleaf = ev__malloc(d * sizeof *L.minleaf);
  L.active = ev__malloc(d);
  L.left = ev__malloc(d * sizeof *L.left);
  L.right = ev__malloc(d * sizeof *L.right);
  L.chain = ev__malloc(2 * d * sizeof *L.chain);
  if (L.dist && L.size && L.node && L.minleaf && L.active && L.left &&
      L.right && L.chain) {
    for (size_t i = 0; i < d; i++) {
      L.size[i] = 1;
      L.node[i] = L.minleaf[i] = i;
      L.active[i] = 1;
      L.dist[i * d + i] = 0;
      for (size_t j = i + 1; j < d; j++)
        L.dist[i * d + j] = L.dist[j * d + i] =
            1.0f - fminf(fabsf(corr[i * ldc + j]), 1.0f);
    }
    cluster(&L);
    leaves(&L, 2 * d - 2, order);
  } else {
    st = ev__nomem("the clustering's distances", d * d * sizeof *L.dist);
  }
  ev__free(L.dist);
  ev__free(L.size);
  ev__free(L.node);
  ev__free(L.minleaf);
  ev__free(L.active);
  ev__free(L.left);
  ev__free(L.right);
  ev__free(L.chain);
  return st;
}
