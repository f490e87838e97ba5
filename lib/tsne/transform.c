/* ev_tsne_transform: new rows placed on a fitted map, the map fixed, as
 * openTSNE's TSNEEmbedding.transform (Policar, Strazar & Zupan 2019): each
 * new row's affinities to its nearest training rows, a start at the median
 * of their map positions, then a short descent in which only the new
 * points move and do not act on each other. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "tsne/tsne_internal.h"

#define MOMENTUM 0.8 /* openTSNE transform's momentum, both phases */

/* Why there is nothing to search. */
static ev_status need_index(const ev_tsne *t) {
  if (!t->fitted)
    return ev__fail(EV_ERR_STATE,
                    "the t-SNE handle has no map yet: call ev_tsne_fit "
                    "before ev_tsne_transform");
  if (t->index) return EV_OK;
  if (t->index_absent == EV__INDEX_NOT_ROWS)
    return ev__fail(EV_ERR_STATE,
                    "the map was fitted from distances or affinities, so "
                    "there are no training rows to search: use ev_tsne_fit "
                    "on the rows to transform new rows");
  return ev__fail(EV_ERR_STATE,
                  "the map was fitted with EV_TSNE_KEEP_INDEX = 0, so its "
                  "neighbour index was freed: set EV_TSNE_KEEP_INDEX = 1 "
                  "and fit again to transform new rows");
}

/* Each new row's start: the median of its k neighbours' map positions, per
 * coordinate (the mean of the middle two for even k). scratch: k doubles
 * per thread. */
static void median_start(const int64_t *idx, size_t m, size_t k,
                         const double *map, size_t dims, double *y,
                         double *scratch) {
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < m; i++) {
    double *v = scratch + (size_t)omp_get_thread_num() * k;
    for (size_t c = 0; c < dims; c++) {
      for (size_t j = 0; j < k; j++) {
        double x = map[(size_t)idx[i * k + j] * dims + c];
        size_t at = j;
        for (; at > 0 && v[at - 1] > x; at--) v[at] = v[at - 1];
        v[at] = x;
      }
      y[i * dims + c] = k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
    }
  }
}

/* Repulsion on yi from every map point (maps of more than 3 dimensions). */
static void repel_all(const double *map, size_t n, size_t dims,
                      const double *yi, double *rep, double *z) {
  double s = 0.0;
  for (size_t c = 0; c < dims; c++) rep[c] = 0.0;
  for (size_t j = 0; j < n; j++) {
    const double *yj = map + j * dims;
    double d2 = 0.0;
    for (size_t c = 0; c < dims; c++) d2 += (yi[c] - yj[c]) * (yi[c] - yj[c]);
    double w = 1.0 / (1.0 + d2);
    s += w;
    for (size_t c = 0; c < dims; c++) rep[c] += w * w * (yi[c] - yj[c]);
  }
  *z = s;
}

/* The fixed map's repulsion field on 1-D and 2-D maps: z and rep (as
 * ev__bhtree_repel_one gives them) tabulated once at the nodes of a regular
 * grid over the map and a margin, then interpolated (linearly, bilinearly)
 * wherever a new point is; outside the grid the tree answers. */
#define FIELD_MAX_NODES_1D ((size_t)1 << 20)
#define FIELD_MAX_NODES_2D ((size_t)2048) /* per axis */

typedef struct field {
  size_t dims, nodes[2];
  double lo[2], h;
  double *val; /* per node: z, rep[0..dims) */
} field;

/* Nodes per axis and the spacing for a map with bounds lo..hi: spacing h
 * unless that passes the node cap. */
static void field_plan(const float *map, size_t n, size_t dims, double h,
                       field *f) {
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (size_t i = 0; i < n; i++)
    for (size_t c = 0; c < dims; c++) {
      double v = map[i * dims + c];
      lo[c] = v < lo[c] ? v : lo[c];
      hi[c] = v > hi[c] ? v : hi[c];
    }
  size_t cap = dims == 1 ? FIELD_MAX_NODES_1D : FIELD_MAX_NODES_2D;
  double span[2] = {0, 0}, widest = 0.0;
  for (size_t c = 0; c < dims; c++) {
    double margin = 1.0 + 0.1 * (hi[c] - lo[c]);
    lo[c] -= margin, hi[c] += margin;
    span[c] = hi[c] - lo[c];
    widest = span[c] > widest ? span[c] : widest;
  }
  if (widest / h > (double)(cap - 1)) h = widest / (double)(cap - 1);
  f->dims = dims, f->h = h;
  for (size_t c = 0; c < 2; c++) {
    f->lo[c] = c < dims ? lo[c] : 0.0;
    f->nodes[c] = c < dims ? (size_t)ceil(span[c] / h) + 1 : 1;
  }
}

static size_t field_count(const field *f) {
  return f->nodes[0] * f->nodes[1];
}

static void field_fill(field *f, const ev__bhtree *tree, double theta) {
  size_t count = field_count(f), dims = f->dims, per = 1 + dims;
#pragma omp parallel for schedule(dynamic, 256)
  for (size_t e = 0; e < count; e++) {
    double pos[2] = {f->lo[0] + (double)(e % f->nodes[0]) * f->h,
                     f->lo[1] + (double)(e / f->nodes[0]) * f->h};
    double *v = f->val + e * per;
    ev__bhtree_repel_one(tree, theta, pos, v + 1, v);
  }
}

/* z and rep at y by interpolation; 0 when y is outside the grid. */
static int field_at(const field *f, const double *y, double *rep, double *z) {
  size_t dims = f->dims, per = 1 + dims, cell[2] = {0, 0};
  double frac[2] = {0, 0};
  for (size_t c = 0; c < dims; c++) {
    double u = (y[c] - f->lo[c]) / f->h;
    if (!(u >= 0.0) || u >= (double)(f->nodes[c] - 1)) return 0;
    cell[c] = (size_t)u;
    frac[c] = u - (double)cell[c];
  }
  double acc[1 + 2] = {0, 0, 0};
  for (size_t corner = 0; corner < ((size_t)1 << dims); corner++) {
    double w = 1.0;
    size_t at = 0, stride = 1;
    for (size_t c = 0; c < dims; c++) {
      size_t up = (corner >> c) & 1;
      w *= up ? frac[c] : 1.0 - frac[c];
      at += (cell[c] + up) * stride;
      stride *= f->nodes[c];
    }
    const double *v = f->val + at * per;
    for (size_t q = 0; q < per; q++) acc[q] += w * v[q];
  }
  *z = acc[0];
  for (size_t c = 0; c < dims; c++) rep[c] = acc[1 + c];
  return 1;
}

typedef struct place_job {
  const field *grid;      /* NULL: the tree at every step */
  const ev__bhtree *tree; /* NULL: repel_all */
  const double *map;
  size_t n, dims, k;
  const double *nb; /* m x k x dims: the neighbours' map positions */
  const double *p;  /* m x k, rows sum to 1 */
  double theta, exaggeration, lr, max_grad, min_gain;
} place_job;

/* One step of point i (y, update, gains: its dims values); with kl not
 * NULL, *kl = its KL(p || q) at the position before the step. */
static void step_point(const place_job *j, size_t i, double *y,
                       double *update, double *gains, double *kl) {
  size_t dims = j->dims;
  double rep[EV__TSNE_MAX_DIMS], attr[EV__TSNE_MAX_DIMS] = {0}, z;
  if (!j->grid || !field_at(j->grid, y, rep, &z)) {
    if (j->tree) ev__bhtree_repel_one(j->tree, j->theta, y, rep, &z);
    else repel_all(j->map, j->n, dims, y, rep, &z);
  }
  double plogw = 0.0, plogp = 0.0;
  for (size_t e = 0; e < j->k; e++) {
    const double *yj = j->nb + (i * j->k + e) * dims;
    double d[EV__TSNE_MAX_DIMS], d2 = 0.0, pij = j->p[i * j->k + e];
    for (size_t c = 0; c < dims; c++) {
      d[c] = y[c] - yj[c];
      d2 += d[c] * d[c];
    }
    double w = 1.0 / (1.0 + d2);
    for (size_t c = 0; c < dims; c++) attr[c] += pij * w * d[c];
    if (kl && pij > 0.0) {
      plogw += pij * log(w);
      plogp += pij * log(pij);
    }
  }
  /* sum_j p_j = 1: KL = sum p log p - sum p log w + log z */
  if (kl) *kl = plogp - plogw + log(z);
  double g[EV__TSNE_MAX_DIMS], norm2 = 0.0;
  for (size_t c = 0; c < dims; c++) {
    g[c] = j->exaggeration * attr[c] - (z > 0.0 ? rep[c] / z : 0.0);
    norm2 += g[c] * g[c];
  }
  double shrink = j->max_grad > 0.0 && norm2 > j->max_grad * j->max_grad
                      ? j->max_grad / sqrt(norm2)
                      : 1.0;
  for (size_t c = 0; c < dims; c++) {
    double gc = g[c] * shrink, gain = gains[c];
    gain = update[c] * gc < 0.0 ? gain + 0.2 : gain * 0.8;
    gains[c] = gain < j->min_gain ? j->min_gain : gain;
    update[c] = MOMENTUM * update[c] - j->lr * gains[c] * gc;
    y[c] += update[c];
  }
}

/* The descent. Every point is independent of the others, so each runs its
 * iterations alone up to the next report (one parallel loop per report,
 * not per iteration: a busy machine makes per-iteration barriers costly),
 * and the result is the same bits on any thread count. */
static ev_status descend(const ev_tsne *t, const place_job *j, size_t m,
                         double *y, double *work) {
  size_t dims = j->dims, nd = m * dims;
  double *update = work, *gains = work + nd, *kl = work + 2 * nd;
  for (size_t e = 0; e < nd; e++) update[e] = 0.0, gains[e] = 1.0;
  size_t n_iter = (size_t)t->param[EV_TSNE_TRANSFORM_N_ITER];
  size_t every = (size_t)t->param[EV_TSNE_PROGRESS_EVERY];
  for (size_t it0 = 0, it1; it0 < n_iter; it0 = it1) {
    it1 = t->progress ? (it0 / every + 1) * every : n_iter;
    if (it1 > n_iter) it1 = n_iter;
    int report = t->progress && it1 % every == 0;
#pragma omp parallel for schedule(dynamic, 16) if (m >= 64)
    for (size_t i = 0; i < m; i++)
      for (size_t it = it0; it < it1; it++)
        step_point(j, i, y + i * dims, update + i * dims, gains + i * dims,
                   report && it + 1 == it1 ? kl + i : NULL);
    if (report) {
      double mean = 0.0;
      for (size_t i = 0; i < m; i++) mean += kl[i];
      ev_status st = ev__progress(t->progress, t->progress_user,
                                  EV_STAGE_OPTIMIZE, it1, n_iter,
                                  mean / (double)m);
      if (st) return st;
    }
  }
  return EV_OK;
}

/* Work space in bytes: lists (idx 8, dist 4, p 8 and the neighbour's
 * place 8 dims per entry), the new map and its update, gains and KL, the
 * map in doubles, its tree and the repulsion grid. */
static ev_status work_bytes(size_t m, size_t k, size_t n, size_t dims,
                            const field *grid, size_t *lists, size_t *points,
                            size_t *total) {
  size_t map, tree, sum, nodes = 0;
  ev_status st;
  if ((st = ev__bytes("t-SNE transform lists", m, k, 20 + 8 * dims,
                      lists)) ||
      (st = ev__bytes("t-SNE transform points", m, 3 * dims + 1,
                      sizeof(double), points)) ||
      (st = ev__bytes("t-SNE map copy", n, dims, sizeof(double), &map)) ||
      (st = ev__bytes("Barnes-Hut tree", n, 40 + 8 * dims + 96, 1, &tree)))
    return st;
  if (grid && (st = ev__bytes("t-SNE transform repulsion grid",
                              field_count(grid), 1 + dims, sizeof(double),
                              &nodes)))
    return st;
  if (!ev__add(*lists, *points, &sum) || !ev__add(sum, map, &sum) ||
      !ev__add(sum, tree, &sum) || !ev__add(sum, nodes, &sum))
    return ev__fail(EV_ERR_OVERFLOW,
                    "the t-SNE transform's work space overflows size_t: "
                    "transform fewer rows per call");
  *total = sum;
  return EV_OK;
}

static ev_status place(ev_tsne *t, const float *x, size_t m, size_t d,
                       size_t ld, size_t k, field *grid, double *y) {
  size_t n = t->n, dims = t->dims, nd;
  double metric = EV_METRIC_EUCLIDEAN;
  ev_status st = ev_knn_get(t->index, EV_KNN_METRIC, &metric);
  if (st) return st;
  nd = m * dims;
  int64_t *idx = ev__malloc(m * k * sizeof *idx);
  float *dist = ev__malloc(m * k * sizeof *dist);
  double *p = ev__malloc(m * k * sizeof *p);
  double *map = ev__malloc(n * dims * sizeof *map);
  double *nb = ev__malloc(m * k * dims * sizeof *nb);
  double *work = ev__malloc((2 * nd + m) * sizeof *work);
  double *scratch = ev__malloc((size_t)omp_get_max_threads() * k * sizeof *scratch);
  ev__bhtree *tree = NULL;
  if (!idx || !dist || !p || !map || !nb || !work || !scratch) {
    st = ev__nomem("t-SNE transform", m * k * (20 + 8 * dims) +
                                          n * dims * 8 + (2 * nd + m) * 8);
    goto done;
  }
  if ((st = ev_knn_set_progress(t->index, t->progress, t->progress_user)) ||
      (st = ev_knn_query(t->index, x, m, d, ld, k, idx, k, dist, k)))
    goto done;
  st = ev__tsne_conditional(dist, m, k, (int)metric == EV_METRIC_SQEUCLIDEAN,
                            t->param[EV_TSNE_TRANSFORM_PERPLEXITY], p,
                            t->progress, t->progress_user);
  if (st) goto done;
  for (size_t e = 0; e < n * dims; e++) map[e] = t->y[e];
  median_start(idx, m, k, map, dims, y, scratch);
  for (size_t e = 0; e < m * k; e++)
    for (size_t c = 0; c < dims; c++)
      nb[e * dims + c] = map[(size_t)idx[e] * dims + c];
  if (dims <= EV__TSNE_BH_MAX_DIMS) {
    if ((st = ev__bhtree_create(n, dims, &tree))) goto done;
    ev__bhtree_build(tree, map);
  }
  if (grid) {
    size_t bytes = field_count(grid) * (1 + dims) * sizeof *grid->val;
    if (!(grid->val = ev__malloc(bytes))) {
      st = ev__nomem("t-SNE transform repulsion grid", bytes);
      goto done;
    }
    field_fill(grid, tree, t->param[EV_TSNE_THETA]);
  }
  place_job job = {.grid = grid, .tree = tree, .map = map, .n = n, .dims = dims, .k = k,
                   .nb = nb, .p = p, .theta = t->param[EV_TSNE_THETA],
                   .exaggeration = t->param[EV_TSNE_TRANSFORM_EXAGGERATION],
                   .lr = t->param[EV_TSNE_TRANSFORM_LEARNING_RATE],
                   .max_grad = t->param[EV_TSNE_TRANSFORM_MAX_GRAD_NORM],
                   .min_gain = t->param[EV_TSNE_MIN_GAIN]};
  st = descend(t, &job, m, y, work);
done:
  if (grid) ev__free(grid->val), grid->val = NULL;
  ev__bhtree_free(tree);
  ev__free(idx), ev__free(dist), ev__free(p), ev__free(map), ev__free(nb);
  ev__free(work), ev__free(scratch);
  return st;
}

ev_status ev_tsne_transform(ev_tsne *t, const float *x, size_t m, size_t d,
                            size_t ld, float *out, size_t ldo) {
  EV__ARG_NULL_IF(!t, "the t-SNE handle", "make one with ev_tsne_create");
  ev_status st = need_index(t);
  if (st || (st = ev__check_matrix("x", x, m, d, ld))) return st;
  size_t train_n = 0, train_d = 0;
  if ((st = ev_knn_size(t->index, &train_n, &train_d))) return st;
  if (d != train_d)
    return ev__fail(EV_ERR_ARGUMENT,
                    "x has %zu columns but the map was fitted on %zu: give "
                    "rows of the training width",
                    d, train_d);
  if ((st = ev__check_finite("x", x, m, d, ld)) ||
      (st = ev__check_out_matrix("out", out, m, t->dims, ldo)))
    return st;
  double perp = t->param[EV_TSNE_TRANSFORM_PERPLEXITY];
  size_t k = (size_t)floor(3.0 * perp);
  if (k > t->n)
    return ev__fail(EV_ERR_ARGUMENT,
                    "EV_TSNE_TRANSFORM_PERPLEXITY %g takes floor(3 x %g) = "
                    "%zu neighbours, more than the map's %zu points: lower "
                    "it to at most %g",
                    perp, perp, k, t->n, (double)t->n / 3.0);
  field plan = {0}, *grid = NULL;
  double spacing = t->param[EV_TSNE_TRANSFORM_GRID_SPACING];
  if (t->dims <= 2 && spacing > 0.0) {
    field_plan(t->y, t->n, t->dims, spacing, &plan);
    grid = &plan;
  }
  size_t lists = 0, points = 0, total = 0;
  if ((st = work_bytes(m, k, t->n, t->dims, grid, &lists, &points, &total)))
    return st;
  double limit = t->param[EV_TSNE_MAX_MEMORY_MB];
  if ((double)total / 1048576.0 > limit)
    return ev__fail(EV_ERR_LIMIT,
                    "transforming %zu rows needs about %.0f MiB of work "
                    "space, more than EV_TSNE_MAX_MEMORY_MB = %g: transform "
                    "fewer rows per call (or raise the limit)",
                    m, (double)total / 1048576.0, limit);
  double *y = ev__malloc(m * t->dims * sizeof *y);
  if (!y) return ev__nomem("t-SNE transform map", m * t->dims * sizeof *y);
  ev__threads scope;
  ev__threads_begin(&scope, (int)t->param[EV_TSNE_THREADS]);
  st = place(t, x, m, d, ld, k, grid, y);
  ev__threads_end(&scope);
  if (!st)
    for (size_t i = 0; i < m; i++)
      for (size_t c = 0; c < t->dims; c++)
        out[i * ldo + c] = (float)y[i * t->dims + c];
  ev__free(y);
  return st;
}
