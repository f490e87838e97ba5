/* Ridge regression by one SVD of the centred features.
 *
 * With Xc = U diag(s) V^T (thin, r = min(n, d) singular values) and the
 * centred targets Yc, every alpha costs only products with U:
 *   coef^T   = V diag(s / (s^2 + alpha)) U^T Yc
 *   fitted   = U diag(s^2 / (s^2 + alpha)) U^T Yc   (+ the means)
 *   h_ii     = 1/n + sum_k U_ik^2 s_k^2 / (s_k^2 + alpha)
 * the last being the diagonal of the hat matrix with the unpenalised
 * intercept, which gives the leave-one-out residuals e_i / (1 - h_ii)
 * (Allen's PRESS) and GCV's trace. Everything is double: the float inputs
 * are widened once. */
#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "explain/explain_private.h"
#include "linalg/linalg.h"

typedef struct ridge_fit {
  size_t d, t, rank;
  double alpha;
  float *coef;       /* t x d */
  float *intercept;  /* t */
  double *r2, *r2_cv; /* t each */
  size_t n_scores;
  double *alphas, *scores; /* n_scores each */
} ridge_fit;

struct ev_ridge {
  double alpha;
  int choose, criterion, intercept, threads;
  double *grid;  /* NULL: the default grid */
  size_t grid_n;
  ridge_fit *fit;
};

#define RIDGE_SETTINGS(X)                                           \
  X(EV_RIDGE_ALPHA, 0, 1e12, false, 1, alpha, DOUBLE)               \
  X(EV_RIDGE_CHOOSE_ALPHA, 0, 1, true, 1, choose, INT)              \
  X(EV_RIDGE_CRITERION, 0, 1, true, EV_RIDGE_LOO, criterion, INT)   \
  X(EV_RIDGE_FIT_INTERCEPT, 0, 1, true, 1, intercept, INT)          \
  X(EV_RIDGE_THREADS, 0, 1024, true, 0, threads, INT)
#define SPEC(id, lo, hi, whole, def, field, type) \
  EV__SPEC(ev_ridge, field, EV__SLOT_##type, id, lo, hi, whole, def),
static const ev__param_spec ridge_params[] = {RIDGE_SETTINGS(SPEC)};
#define N_PARAMS (sizeof ridge_params / sizeof ridge_params[0])
EV__SETTINGS_COVER(ev_ridge_param, RIDGE_SETTINGS)

static ev_status need_handle(const ev_ridge *r) {
  EV__ARG_NOT_NULL(r, "make one with ev_ridge_create first");
  return EV_OK;
}

EV__SETTINGS_CALLS(ridge, ev_ridge, ev_ridge_param, ridge_params, "RIDGE",
                   need_handle)

ev_status ev_ridge_create(ev_ridge **out) {
  EV__ARG_NOT_NULL(out, "pass the address of an ev_ridge pointer");
  *out = ev__param_new(sizeof **out, ridge_params, N_PARAMS);
  return *out ? EV_OK : ev__nomem("a ridge handle", sizeof **out);
}

static void fit_free(ridge_fit *f) {
  if (!f) return;
  ev__free(f->coef);
  ev__free(f->intercept);
  ev__free(f->r2);
  ev__free(f->r2_cv);
  ev__free(f->alphas);
  ev__free(f->scores);
  ev__free(f);
}

void ev_ridge_free(ev_ridge *r) {
  if (!r) return;
  fit_free(r->fit);
  ev__free(r->grid);
  ev__free(r);
}

ev_status ev_ridge_set_alphas(ev_ridge *r, const double *alphas,
                              size_t count) {
  ev_status st = need_handle(r);
  if (st) return st;
  if (count && !alphas)
    return ev__fail(EV_ERR_ARGUMENT, "alphas is NULL with count %zu: pass "
                    "the grid, or NULL and 0 for the default grid", count);
  if (count > 1000)
    return ev__fail(EV_ERR_ARGUMENT, "a grid of %zu alphas is too long: "
                    "pass at most 1000", count);
  for (size_t i = 0; i < count; i++)
    if (!(alphas[i] >= 0) || !isfinite(alphas[i]))
      return ev__fail(EV_ERR_ARGUMENT, "alphas[%zu] = %g: pass finite "
                      "alphas >= 0", i, alphas[i]);
  double *copy = NULL;
  if (count) {
    copy = ev__malloc(count * sizeof *copy);
    if (!copy) return ev__nomem("the alpha grid", count * sizeof *copy);
    memcpy(copy, alphas, count * sizeof *copy);
  }
  ev__free(r->grid);
  r->grid = copy;
  r->grid_n = count;
  return EV_OK;
}

/* ---- the fit ------------------------------------------------------------ */

/* What one SVD gives, shared by every alpha. */
typedef struct svd_state {
  size_t n, d, t, r, rank;
  int intercept;
  double *u;    /* n x r, column-major */
  double *s;    /* r */
  double *vt;   /* r x d, column-major (ld r) */
  double *yc;   /* n x t, column-major: centred targets */
  double *uty;  /* r x t, column-major: U^T Yc */
  double *fit;  /* n x t work: fitted values */
  double *h;    /* n work: hat diagonal */
  double *f;    /* r work: filter factors */
} svd_state;

static ev_status lapack_failed(lapack_int info) {
  if (info > 0)
    return ev__fail(EV_ERR_INTERNAL, "dgesdd did not converge (info %d): "
                    "rescale the features and try again", (int)info);
  return ev__fail(EV_ERR_INTERNAL, "dgesdd rejected argument %d: a bug in "
                  "libembedviz, please report it", (int)-info);
}

/* Thin SVD of the n x d column-major a (destroyed) into st->u, s, vt. */
static ev_status svd(double *a, svd_state *st) {
  lapack_int M = (lapack_int)st->n, N = (lapack_int)st->d;
  lapack_int R = (lapack_int)st->r;
  double q = 0;
  lapack_int *iwork = ev__malloc(8 * st->r * sizeof *iwork);
  if (!iwork) return ev__nomem("SVD workspace", 8 * st->r * sizeof *iwork);
  lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', M, N, a, M,
                                        st->s, st->u, M, st->vt, R, &q, -1,
                                        iwork);
  double *work = NULL;
  if (info == 0) {
    size_t lwork = (size_t)q + 1;
    work = ev__malloc(lwork * sizeof *work);
    if (!work) {
      ev__free(iwork);
      return ev__nomem("SVD workspace", lwork * sizeof *work);
    }
    info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', M, N, a, M, st->s,
                               st->u, M, st->vt, R, work, (lapack_int)lwork,
                               iwork);
  }
  ev__free(work);
  ev__free(iwork);
  return info == 0 ? EV_OK : lapack_failed(info);
}

/* Filter factors s^2 / (s^2 + alpha) for alpha, fitted values into
 * st->fit and the hat diagonal into st->h. */
static void smooth(svd_state *st, double alpha) {
  size_t n = st->n, r = st->r, t = st->t;
  for (size_t k = 0; k < r; k++) {
    double s2 = st->s[k] * st->s[k];
    st->f[k] = k < st->rank ? s2 / (s2 + alpha) : 0.0;
  }
  /* fit = U diag(f) U^T Yc, in two steps through a scaled copy of uty. */
  double *w = st->fit + n * t; /* r x t scratch after fit */
  for (size_t j = 0; j < t; j++)
    for (size_t k = 0; k < r; k++) w[j * r + k] = st->f[k] * st->uty[j * r + k];
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)t,
              (int)r, 1.0, st->u, (int)n, w, (int)r, 0.0, st->fit, (int)n);
  double base = st->intercept ? 1.0 / (double)n : 0.0;
  for (size_t i = 0; i < n; i++) st->h[i] = base;
  for (size_t k = 0; k < r; k++) {
    const double *uk = st->u + k * n;
    double fk = st->f[k];
    if (fk == 0.0) continue;
    for (size_t i = 0; i < n; i++) st->h[i] += uk[i] * uk[i] * fk;
  }
}

/* The criterion at the alpha smooth() last ran with. */
static double criterion(const svd_state *st, int which) {
  size_t n = st->n, t = st->t;
  double sum = 0.0;
  if (which == EV_RIDGE_GCV) {
    double trace = st->intercept ? 1.0 : 0.0;
    for (size_t k = 0; k < st->r; k++) trace += st->f[k];
    for (size_t j = 0; j < t; j++)
      for (size_t i = 0; i < n; i++) {
        double e = st->yc[j * n + i] - st->fit[j * n + i];
        sum += e * e;
      }
    double den = 1.0 - trace / (double)n;
    return den > 0 ? sum / (double)(n * t) / (den * den) : INFINITY;
  }
  for (size_t i = 0; i < n; i++) {
    double den = 1.0 - st->h[i];
    if (!(den > 1e-12)) return INFINITY;
    for (size_t j = 0; j < t; j++) {
      double e = (st->yc[j * n + i] - st->fit[j * n + i]) / den;
      sum += e * e;
    }
  }
  return sum / (double)(n * t);
}

static const double *grid_of(const ev_ridge *r, double *def, size_t *count) {
  if (!r->choose) {
    def[0] = r->alpha;
    *count = 1;
    return def;
  }
  if (r->grid) {
    *count = r->grid_n;
    return r->grid;
  }
  for (size_t i = 0; i < EV_RIDGE_DEFAULT_GRID; i++)
    def[i] = pow(10.0, -3.0 + 0.5 * (double)i);
  *count = EV_RIDGE_DEFAULT_GRID;
  return def;
}

/* Coefficients, intercepts and R^2 at alpha (smooth() has run with it). */
static void finish(const svd_state *st, double alpha, const double *xmean,
                   const double *ymean, const double *ss_tot, ridge_fit *out) {
  size_t n = st->n, d = st->d, t = st->t, r = st->r;
  double *g = st->fit + n * t; /* r x t scratch */
  for (size_t j = 0; j < t; j++)
    for (size_t k = 0; k < r; k++) {
      double s = st->s[k];
      double gk = k < st->rank ? s / (s * s + alpha) : 0.0;
      g[j * r + k] = gk * st->uty[j * r + k];
    }
  /* coef row j = (V g)[:, j] = VT^T g[:, j]; the intercept from the
   * double coefficients. */
  for (size_t j = 0; j < t; j++) {
    double dot = 0.0;
    for (size_t c = 0; c < d; c++) {
      double b = 0.0;
      for (size_t k = 0; k < r; k++) b += st->vt[c * r + k] * g[j * r + k];
      out->coef[j * d + c] = (float)b;
      dot += xmean[c] * b;
    }
    double b0 = st->intercept ? ymean[j] - dot : 0.0;
    out->intercept[j] = (float)b0;
    double res = 0.0, loo = 0.0;
    for (size_t i = 0; i < n; i++) {
      double e = st->yc[j * n + i] - st->fit[j * n + i];
      double den = 1.0 - st->h[i];
      res += e * e;
      loo += den > 1e-12 ? (e / den) * (e / den) : INFINITY;
    }
    if (ss_tot[j] > 0) {
      out->r2[j] = 1.0 - res / ss_tot[j];
      out->r2_cv[j] = 1.0 - loo / ss_tot[j];
    } else {
      out->r2[j] = res == 0.0 ? 1.0 : 0.0;
      out->r2_cv[j] = loo == 0.0 ? 1.0 : 0.0;
    }
  }
}

static ev_status check_fit_args(const ev_ridge *r, const float *x, size_t n,
                                size_t d, size_t ldx, const float *y,
                                size_t t, size_t ldy) {
  ev_status st = need_handle(r);
  if (!st) st = ev__check_matrix("x", x, n, d, ldx);
  if (!st) st = ev__check_matrix("y", y, n, t, ldy);
  if (st) return st;
  size_t least = r->choose && r->criterion == EV_RIDGE_LOO ? 3 : 2;
  if (n < least)
    return ev__fail(EV_ERR_ARGUMENT, "ridge regression on %zu rows: pass at "
                    "least %zu rows%s", n, least, least == 3 ? " to choose "
                    "alpha by leave-one-out" : "");
  if (!ev__fits_blas(n) || !ev__fits_blas(d) || !ev__fits_blas(t))
    return ev__fail(EV_ERR_ARGUMENT, "ridge on %zu x %zu features with %zu "
                    "targets passes LAPACK's 32-bit limit: pass fewer rows "
                    "or features", n, d, t);
  size_t bytes;
  if ((st = ev__bytes("the centred features", n, d, sizeof(double), &bytes)))
    return st;
  if ((st = ev__check_finite("x", x, n, d, ldx))) return st;
  return ev__check_finite("y", y, n, t, ldy);
}

/* The allocations of one fit. */
typedef struct ridge_work {
  double *a, *xmean, *ymean, *ss_tot;
} ridge_work;

static void work_free(ridge_work *w, svd_state *st) {
  ev__free(w->a);
  ev__free(w->xmean);
  ev__free(w->ymean);
  ev__free(w->ss_tot);
  ev__free(st->u);
  ev__free(st->s);
  ev__free(st->vt);
  ev__free(st->yc);
  ev__free(st->uty);
  ev__free(st->fit);
  ev__free(st->h);
  ev__free(st->f);
}

static ev_status work_alloc(ridge_work *w, svd_state *st, size_t grid) {
  size_t n = st->n, d = st->d, t = st->t, r = st->r, b1, b2, b3;
  if (!ev__mul(n, r, &b1) || !ev__mul(r, d, &b2) || !ev__mul(n + r, t, &b3))
    return ev__fail(EV_ERR_OVERFLOW, "the SVD of %zu x %zu features does "
                    "not fit in memory: pass fewer rows or features", n, d);
  w->a = ev__malloc(n * d * sizeof(double));
  w->xmean = ev__calloc(d, sizeof(double));
  w->ymean = ev__calloc(t, sizeof(double));
  w->ss_tot = ev__calloc(t, sizeof(double));
  st->u = ev__malloc(b1 * sizeof(double));
  st->s = ev__malloc(r * sizeof(double));
  st->vt = ev__malloc(b2 * sizeof(double));
  st->yc = ev__malloc(n * t * sizeof(double));
  st->uty = ev__malloc(r * t * sizeof(double));
  st->fit = ev__malloc(b3 * sizeof(double));
  st->h = ev__malloc(n * sizeof(double));
  st->f = ev__malloc(r * sizeof(double));
  (void)grid;
  if (w->a && w->xmean && w->ymean && w->ss_tot && st->u && st->s &&
      st->vt && st->yc && st->uty && st->fit && st->h && st->f)
    return EV_OK;
  return ev__nomem("the ridge SVD", (n * d + b1 + b2) * sizeof(double));
}

/* Means (in double), the centred features column-major into w->a, the
 * centred targets into st->yc and the targets' total sums of squares. */
static void centre(const float *x, size_t ldx, const float *y, size_t ldy,
                   ridge_work *w, svd_state *st) {
  size_t n = st->n, d = st->d, t = st->t;
  for (size_t i = 0; i < n; i++) {
    for (size_t c = 0; c < d; c++) w->xmean[c] += x[i * ldx + c];
    for (size_t j = 0; j < t; j++) w->ymean[j] += y[i * ldy + j];
  }
  for (size_t c = 0; c < d; c++) w->xmean[c] /= (double)n;
  for (size_t j = 0; j < t; j++) w->ymean[j] /= (double)n;
  double keep = st->intercept ? 1.0 : 0.0;
  for (size_t c = 0; c < d; c++)
    for (size_t i = 0; i < n; i++)
      w->a[c * n + i] = (double)x[i * ldx + c] - keep * w->xmean[c];
  for (size_t j = 0; j < t; j++)
    for (size_t i = 0; i < n; i++) {
      double dev = (double)y[i * ldy + j] - w->ymean[j];
      w->ss_tot[j] += dev * dev;
      st->yc[j * n + i] = (double)y[i * ldy + j] - keep * w->ymean[j];
    }
}

static ridge_fit *fit_new(size_t d, size_t t, size_t count) {
  ridge_fit *f = ev__calloc(1, sizeof *f);
  if (!f) return NULL;
  f->coef = ev__malloc(t * d * sizeof *f->coef);
  f->intercept = ev__malloc(t * sizeof *f->intercept);
  f->r2 = ev__malloc(t * sizeof *f->r2);
  f->r2_cv = ev__malloc(t * sizeof *f->r2_cv);
  f->alphas = ev__malloc(count * sizeof *f->alphas);
  f->scores = ev__malloc(count * sizeof *f->scores);
  if (f->coef && f->intercept && f->r2 && f->r2_cv && f->alphas && f->scores)
    return f;
  fit_free(f);
  return NULL;
}

static ev_status run_fit(const ev_ridge *r, const float *x, size_t ldx,
                         const float *y, size_t ldy, svd_state *st,
                         ridge_work *w, ridge_fit **out) {
  double def[EV_RIDGE_DEFAULT_GRID];
  size_t count;
  const double *grid = grid_of(r, def, &count);
  if (count == 0)
    return ev__fail(EV_ERR_STATE, "the alpha grid is empty: call "
                    "ev_ridge_set_alphas with a grid or set "
                    "EV_RIDGE_CHOOSE_ALPHA to 0");
  ev_status s = work_alloc(w, st, count);
  if (s) return s;
  centre(x, ldx, y, ldy, w, st);
  if ((s = svd(w->a, st))) return s;
  double tol = (double)(st->n > st->d ? st->n : st->d) * DBL_EPSILON *
               st->s[0];
  st->rank = 0;
  while (st->rank < st->r && st->s[st->rank] > tol) st->rank++;
  cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)st->r,
              (int)st->t, (int)st->n, 1.0, st->u, (int)st->n, st->yc,
              (int)st->n, 0.0, st->uty, (int)st->r);
  ridge_fit *f = fit_new(st->d, st->t, count);
  if (!f) return ev__nomem("the ridge fit", st->d * st->t * sizeof(float));
  size_t best = 0;
  for (size_t g = 0; g < count; g++) {
    smooth(st, grid[g]);
    f->alphas[g] = grid[g];
    f->scores[g] = criterion(st, r->criterion);
    if (f->scores[g] < f->scores[best]) best = g;
  }
  f->n_scores = count;
  f->d = st->d;
  f->t = st->t;
  f->rank = st->rank;
  f->alpha = grid[best];
  smooth(st, f->alpha);
  finish(st, f->alpha, w->xmean, w->ymean, w->ss_tot, f);
  *out = f;
  return EV_OK;
}

ev_status ev_ridge_fit(ev_ridge *r, const float *x, size_t n, size_t d,
                       size_t ldx, const float *y, size_t t, size_t ldy) {
  ev_status s = check_fit_args(r, x, n, d, ldx, y, t, ldy);
  if (s) return s;
  svd_state st = {.n = n, .d = d, .t = t, .r = n < d ? n : d,
                  .intercept = r->intercept};
  ridge_work w = {0};
  ridge_fit *f = NULL;
  ev__threads scope;
  ev__threads_begin(&scope, ev__resolve_threads(r->threads));
  s = run_fit(r, x, ldx, y, ldy, &st, &w, &f);
  ev__threads_end(&scope);
  work_free(&w, &st);
  if (s) return s;
  fit_free(r->fit);
  r->fit = f;
  return EV_OK;
}

/* ---- reading the fit ---------------------------------------------------- */

static ev_status need_fit(const ev_ridge *r, const char *call) {
  ev_status st = need_handle(r);
  if (st) return st;
  if (!r->fit)
    return ev__fail(EV_ERR_STATE, "the ridge handle has no fit yet: call "
                    "ev_ridge_fit before %s", call);
  return EV_OK;
}

ev_status ev_ridge_coef(const ev_ridge *r, float *coef, size_t ld) {
  ev_status st = need_fit(r, "ev_ridge_coef");
  if (!st) st = ev__check_out_matrix("coef", coef, r->fit->t, r->fit->d, ld);
  if (st) return st;
  for (size_t j = 0; j < r->fit->t; j++)
    memcpy(coef + j * ld, r->fit->coef + j * r->fit->d,
           r->fit->d * sizeof *coef);
  return EV_OK;
}

ev_status ev_ridge_intercept(const ev_ridge *r, float *intercept) {
  ev_status st = need_fit(r, "ev_ridge_intercept");
  if (st) return st;
  EV__ARG_NOT_NULL(intercept, "pass room for one float per target");
  memcpy(intercept, r->fit->intercept, r->fit->t * sizeof *intercept);
  return EV_OK;
}

ev_status ev_ridge_alpha(const ev_ridge *r, double *alpha) {
  ev_status st = need_fit(r, "ev_ridge_alpha");
  if (st) return st;
  EV__ARG_NOT_NULL(alpha, "pass the address of a double");
  *alpha = r->fit->alpha;
  return EV_OK;
}

ev_status ev_ridge_sizes(const ev_ridge *r, size_t *d, size_t *t,
                         size_t *rank) {
  ev_status st = need_fit(r, "ev_ridge_sizes");
  if (st) return st;
  if (!d && !t && !rank)
    return ev__fail(EV_ERR_ARGUMENT, "d, t and rank are all NULL: pass the "
                    "address of at least one");
  if (d) *d = r->fit->d;
  if (t) *t = r->fit->t;
  if (rank) *rank = r->fit->rank;
  return EV_OK;
}

ev_status ev_ridge_r2(const ev_ridge *r, double *r2_train, double *r2_cv,
                      size_t count) {
  ev_status st = need_fit(r, "ev_ridge_r2");
  if (st) return st;
  if (!r2_train && !r2_cv)
    return ev__fail(EV_ERR_ARGUMENT, "r2_train and r2_cv are both NULL: pass "
                    "room for count doubles in at least one");
  if (count == 0 || count > r->fit->t)
    return ev__fail(EV_ERR_ARGUMENT, "count = %zu: pass 1 to the %zu "
                    "targets of the fit", count, r->fit->t);
  for (size_t j = 0; j < count; j++) {
    if (r2_train) r2_train[j] = r->fit->r2[j];
    if (r2_cv) r2_cv[j] = r->fit->r2_cv[j];
  }
  return EV_OK;
}

ev_status ev_ridge_cv_scores(const ev_ridge *r, double *alphas,
                             double *scores, size_t *count) {
  ev_status st = need_fit(r, "ev_ridge_cv_scores");
  if (st) return st;
  EV__ARG_NOT_NULL(count, "pass the address of a size_t");
  if (!scores && !alphas) {
    *count = r->fit->n_scores;
    return EV_OK;
  }
  if (*count < r->fit->n_scores)
    return ev__fail(EV_ERR_ARGUMENT, "room for %zu scores, the fit has %zu: "
                    "pass room for %zu (ask with scores NULL)", *count,
                    r->fit->n_scores, r->fit->n_scores);
  for (size_t g = 0; g < r->fit->n_scores; g++) {
    if (alphas) alphas[g] = r->fit->alphas[g];
    if (scores) scores[g] = r->fit->scores[g];
  }
  *count = r->fit->n_scores;
  return EV_OK;
}

ev_status ev_ridge_predict(const ev_ridge *r, const float *x, size_t n,
                           size_t d, size_t ldx, float *out, size_t ldo) {
  ev_status st = need_fit(r, "ev_ridge_predict");
  if (!st) st = ev__check_matrix("x", x, n, d, ldx);
  if (!st) st = ev__check_out_matrix("out", out, n, r->fit->t, ldo);
  if (st) return st;
  const ridge_fit *f = r->fit;
  if (d != f->d)
    return ev__fail(EV_ERR_ARGUMENT, "x has %zu columns but the fit has %zu "
                    "features: pass rows with %zu columns", d, f->d, f->d);
  if ((st = ev__check_finite("x", x, n, d, ldx))) return st;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < f->t; j++) {
      double s = f->intercept[j];
      for (size_t c = 0; c < d; c++)
        s += (double)x[i * ldx + c] * f->coef[j * d + c];
      out[i * ldo + j] = (float)s;
    }
  return EV_OK;
}
