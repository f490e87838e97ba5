/* Exact distances in double precision between float rows. These define the
 * "true" distances the index ranks by: the SGEMM expansion only pre-selects
 * candidates, and every distance the caller sees comes from here. The loops
 * keep several independent accumulators so that they vectorise without
 * -ffast-math; target_clones adds an AVX2 version picked at load time. */
#include <math.h>
#include <stdint.h>

#include "knn_private.h"

/* 32-byte vectors are split in two without AVX; that is fine. */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));


typedef float v4f __attribute__((vector_size(16), aligned(4), may_alias));

/* Four floats widened to doubles (one vcvtps2pd with AVX). */
static inline v4d load4(const float *p) {
  return __builtin_convertvector(*(const v4f *)p, v4d);
}

static inline v4d vabs(v4d v) {
  const v4l mask = {INT64_MAX, INT64_MAX, INT64_MAX, INT64_MAX};
  return (v4d)((v4l)v & mask);
}
static inline v4d vmax(v4d a, v4d b) {
  v4l m = a > b;
  return (v4d)(((v4l)a & m) | ((v4l)b & ~m));
}
static inline double hsum(v4d a) { return (a[0] + a[1]) + (a[2] + a[3]); }

EV_CLONES static double sq_l2(const float *x, const float *y, size_t dim) {
  v4d a = {0, 0, 0, 0}, b = {0, 0, 0, 0};
  size_t j = 0;
  for (; j + 8 <= dim; j += 8) {
    v4d u = load4(x + j) - load4(y + j), w = load4(x + j + 4) - load4(y + j + 4);
    a += u * u;
    b += w * w;
  }
  double s = hsum(a + b);
  for (; j < dim; j++) {
    double t = (double)x[j] - y[j];
    s += t * t;
  }
  return s;
}

EV_CLONES static double dot(const float *x, const float *y, size_t dim) {
  v4d a = {0, 0, 0, 0}, b = {0, 0, 0, 0};
  size_t j = 0;
  for (; j + 8 <= dim; j += 8) {
    a += load4(x + j) * load4(y + j);
    b += load4(x + j + 4) * load4(y + j + 4);
  }
  double s = hsum(a + b);
  for (; j < dim; j++) s += (double)x[j] * y[j];
  return s;
}

/* |x/|x| - y/|y||^2 / 2 equals 1 - cos(x, y) but keeps its digits when the
 * distance is small (no cancellation): duplicates come out exactly 0. */
EV_CLONES static double half_sq_unit(const float *x, const float *y,
                                     size_t dim, double rx, double ry) {
  v4d a = {0, 0, 0, 0};
  v4d vx = {rx, rx, rx, rx}, vy = {ry, ry, ry, ry};
  size_t j = 0;
  for (; j + 4 <= dim; j += 4) {
    v4d u = load4(x + j) * vx - load4(y + j) * vy;
    a += u * u;
  }
  double s = hsum(a);
  for (; j < dim; j++) {
    double t = x[j] * rx - y[j] * ry;
    s += t * t;
  }
  return 0.5 * s;
}

EV_CLONES static double l1(const float *x, const float *y, size_t dim) {
  v4d a = {0, 0, 0, 0}, b = {0, 0, 0, 0};
  size_t j = 0;
  for (; j + 8 <= dim; j += 8) {
    a += vabs(load4(x + j) - load4(y + j));
    b += vabs(load4(x + j + 4) - load4(y + j + 4));
  }
  double s = hsum(a + b);
  for (; j < dim; j++) s += fabs((double)x[j] - y[j]);
  return s;
}

EV_CLONES static double linf(const float *x, const float *y, size_t dim) {
  v4d a = {0, 0, 0, 0};
  size_t j = 0;
  for (; j + 4 <= dim; j += 4) {
    v4d u = vabs(load4(x + j) - load4(y + j));
    a = vmax(u, a);
  }
  double s = fmax(fmax(a[0], a[1]), fmax(a[2], a[3]));
  for (; j < dim; j++) s = fmax(s, fabs((double)x[j] - y[j]));
  return s;
}

/* The Minkowski distance itself, scaled by the largest difference so that
 * |x - y|^p can neither overflow nor underflow for large p. */
static double lp(const float *x, const float *y, size_t dim, double p) {
  double m = linf(x, y, dim);
  if (m == 0) return 0;
  double s = 0;
  for (size_t j = 0; j < dim; j++) s += pow(fabs((double)x[j] - y[j]) / m, p);
  return m * pow(s, 1.0 / p);
}

double ev__knn_exact(int kind, double p, const float *x, const float *y,
                     size_t dim, double xnorm, double ynorm) {
  switch (kind) {
  case EV__KNN_L2:
  case EV__KNN_L2_DIRECT: return sq_l2(x, y, dim);
  case EV__KNN_COS:
  case EV__KNN_COS_DIRECT: {
    /* A zero row has no direction: distance 1 to everything (as SciPy). */
    if (xnorm == 0 || ynorm == 0) return 1.0;
    double c = half_sq_unit(x, y, dim, 1.0 / xnorm, 1.0 / ynorm);
    return c > 2 ? 2 : c;
  }
  case EV__KNN_L1: return l1(x, y, dim);
  case EV__KNN_LINF: return linf(x, y, dim);
  default: return lp(x, y, dim, p);
  }
}

/* |x| in double, used by the cosine metric and the rounding bounds. */
double ev__knn_norm(const float *x, size_t dim) { return sqrt(dot(x, x, dim)); }

float ev__knn_report(int metric, double p, double ranked) {
  switch (metric) {
  case EV_METRIC_EUCLIDEAN: return (float)sqrt(ranked);
  case EV_METRIC_MINKOWSKI:
    return p == 2 ? (float)sqrt(ranked) : (float)ranked;
  default: return (float)ranked;
  }
}
