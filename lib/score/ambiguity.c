/* Ambiguity, margin and entropy of predictions; softmax. */
#include <math.h>

#include "core/core.h"
#include "embedviz/score.h"

static ev_status check_scores(const char *name, const float *x, size_t n,
                              size_t c, size_t ld) {
  ev_status st = ev__check_matrix(name, x, n, c, ld);
  if (st == EV_OK) st = ev__check_finite(name, x, n, c, ld);
  return st;
}

/* Softmax of one row in double: exp(x - max) / sum. */
static void softmax_row(const float *x, size_t c, double *p) {
  double mx = x[0];
  for (size_t j = 1; j < c; j++) mx = x[j] > mx ? x[j] : mx;
  double sum = 0.0;
  for (size_t j = 0; j < c; j++) sum += (p[j] = exp((double)x[j] - mx));
  for (size_t j = 0; j < c; j++) p[j] /= sum;
}

ev_status ev_softmax(const float *logits, size_t n, size_t c, size_t ld,
                     float *out, size_t ldo) {
  ev_status st = check_scores("logits", logits, n, c, ld);
  if (st == EV_OK) st = ev__check_out_matrix("out", out, n, c, ldo);
  if (st != EV_OK) return st;
  if (out == logits && ldo != ld)
    return ev__fail(EV_ERR_ARGUMENT,
                    "in-place softmax needs ldo == ld (got %zu and %zu)", ldo,
                    ld);
  for (size_t i = 0; i < n; i++) {
    const float *x = logits + i * ld;
    float *y = out + i * ldo;
    float mx = x[0];
    for (size_t j = 1; j < c; j++) mx = x[j] > mx ? x[j] : mx;
    double sum = 0.0;
    for (size_t j = 0; j < c; j++) sum += exp((double)x[j] - mx);
    for (size_t j = 0; j < c; j++) y[j] = (float)(exp((double)x[j] - mx) / sum);
  }
  return EV_OK;
}

/* Probability rows: non-negative and not all zero. */
static ev_status check_probabilities(const float *x, size_t n, size_t c,
                                     size_t ld) {
  size_t i = 0, j = 0;
  double sum = 0;
  switch (ev__probability_rows(x, n, c, ld, -1, &i, &j, &sum)) {
  case EV__PROB_NEGATIVE:
    return ev__fail(EV_ERR_ARGUMENT,
                    "probability scores[%zu][%zu] = %g is negative: pass "
                    "probabilities, or logits with EV_SCORE_LOGITS",
                    i, j, (double)x[i * ld + j]);
  case EV__PROB_SUM:
    return ev__fail(EV_ERR_ARGUMENT,
                    "probability row %zu sums to 0: every row needs a "
                    "positive probability",
                    i);
  case EV__PROB_OK: break;
  }
  return EV_OK;
}

/* The two largest of p (ties to the lower index). */
static void top_two(const double *p, size_t c, size_t *a, size_t *b) {
  size_t i1 = p[1] > p[0] ? 1 : 0, i2 = 1 - i1;
  for (size_t j = 2; j < c; j++) {
    if (p[j] > p[i1]) {
      i2 = i1;
      i1 = j;
    } else if (p[j] > p[i2]) {
      i2 = j;
    }
  }
  *a = i1;
  *b = i2;
}

ev_status ev_ambiguity(const float *scores, size_t n, size_t c, size_t ld,
                       int input, float *ambiguity, float *margin,
                       float *entropy, int32_t *top1, int32_t *top2) {
  ev_status st = check_scores("scores", scores, n, c, ld);
  if (st != EV_OK) return st;
  if (c < 2)
    return ev__fail(EV_ERR_ARGUMENT,
                    "scores has %zu class column: ambiguity needs at least 2",
                    c);
  if (c > INT32_MAX)
    return ev__fail(EV_ERR_ARGUMENT, "%zu classes do not fit in int32", c);
  if (input != EV_SCORE_PROBABILITIES && input != EV_SCORE_LOGITS)
    return ev__fail(EV_ERR_ARGUMENT,
                    "input kind %d is unknown: use EV_SCORE_PROBABILITIES or "
                    "EV_SCORE_LOGITS",
                    input);
  if (input == EV_SCORE_PROBABILITIES &&
      (st = check_probabilities(scores, n, c, ld)) != EV_OK)
    return st;
  size_t bytes;
  if ((st = ev__bytes("a probability row", c, 1, sizeof(double), &bytes)))
    return st;
  double *p = ev__malloc(bytes);
  if (!p) return ev__nomem("a probability row", bytes);
  for (size_t i = 0; i < n; i++) {
    const float *x = scores + i * ld;
    if (input == EV_SCORE_LOGITS) {
      softmax_row(x, c, p);
    } else {
      double sum = 0.0;
      for (size_t j = 0; j < c; j++) sum += x[j];
      for (size_t j = 0; j < c; j++) p[j] = x[j] / sum;
    }
    size_t a, b;
    top_two(p, c, &a, &b);
    if (ambiguity) ambiguity[i] = (float)(p[b] / p[a]);
    if (margin) margin[i] = (float)(p[a] - p[b]);
    if (entropy) {
      double h = 0.0;
      for (size_t j = 0; j < c; j++)
        if (p[j] > 0.0) h -= p[j] * log(p[j]);
      entropy[i] = (float)h;
    }
    if (top1) top1[i] = (int32_t)a;
    if (top2) top2[i] = (int32_t)b;
  }
  ev__free(p);
  return EV_OK;
}
