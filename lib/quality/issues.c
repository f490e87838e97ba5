/* Label-issue evidence: one predicted class distribution P per row (the
 * model's scores, the feature neighbours' weighted votes, or their mean),
 * then self-confidence, margins, the neighbours' disagreement and
 * confident learning's flag on P. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "embedviz/knn.h"
#include "embedviz/score.h"
#include "quality_issues.h"
#include "quality_private.h"

/* Probability rows: non-negative, each summing to 1 within 1e-3. */
static ev_status check_probabilities(const float *s, size_t n, size_t c,
                                     size_t ld) {
  size_t i = 0, j = 0;
  double sum = 0;
  switch (ev__probability_rows(s, n, c, ld, 1e-3, &i, &j, &sum)) {
  case EV__PROB_NEGATIVE:
    return ev__fail(EV_ERR_ARGUMENT,
                    "scores[%zu][%zu] is %g: probabilities cannot be "
                    "negative; for logits set EV_QUALITY_SCORES to "
                    "EV_SCORE_LOGITS", i, j, (double)s[i * ld + j]);
  case EV__PROB_SUM:
    return ev__fail(EV_ERR_ARGUMENT,
                    "row %zu of scores sums to %.6g, not 1: pass "
                    "probabilities (softmax outputs), or logits with "
                    "EV_QUALITY_SCORES = EV_SCORE_LOGITS", i, sum);
  case EV__PROB_OK: break;
  }
  return EV_OK;
}

static ev_status check_issue_args(const ev_quality *q, const int32_t *labels,
                                  size_t n, size_t c, const float *scores,
                                  size_t lds, const float *features,
                                  size_t dim, size_t ldf, float *evidence,
                                  size_t lde) {
  EV__ARG_NOT_NULL(q, "make one with ev_quality_create first");
  EV__ARG_NULL_IF(!labels || !evidence, "%s",
                  "pass the n given labels and room for n x EV_ISSUE_FIELDS "
                  "evidence floats", labels ? "evidence" : "labels");
  if (!scores && !features)
    return ev__fail(EV_ERR_ARGUMENT, "scores and features are both NULL: "
                    "pass class scores, features or both");
  if (n < 2 || c < 2)
    return ev__fail(EV_ERR_ARGUMENT, "%zu rows of %zu classes: label issues "
                    "need at least 2 rows and 2 classes", n, c);
  if (lde < EV_ISSUE_FIELDS)
    return ev__fail(EV_ERR_ARGUMENT, "lde is %zu: the evidence has %d "
                    "columns, so lde must be at least that", lde,
                    EV_ISSUE_FIELDS);
  for (size_t i = 0; i < n; i++)
    if (labels[i] < 0 || (size_t)labels[i] >= c)
      return ev__fail(EV_ERR_ARGUMENT, "labels[%zu] is %d, outside [0, %zu): "
                      "give labels as class indices below n_classes", i,
                      (int)labels[i], c);
  ev_status st = EV_OK;
  if (scores) {
    st = ev__check_matrix("scores", scores, n, c, lds);
    if (st == EV_OK) st = ev__check_finite("scores", scores, n, c, lds);
    if (st == EV_OK && q->scores == EV_SCORE_PROBABILITIES)
      st = check_probabilities(scores, n, c, lds);
    if (st != EV_OK) return st;
  }
  if (features) {
    if (q->issue_k >= n)
      return ev__fail(EV_ERR_ARGUMENT, "EV_QUALITY_ISSUE_NEIGHBORS is %zu but "
                      "there are only %zu rows: it must be below n", q->issue_k,
                      n);
    st = ev__check_matrix("features", features, n, dim, ldf);
    if (st == EV_OK) st = ev__check_finite("features", features, n, dim, ldf);
  }
  return st;
}

/* The model's distribution per row (softmax of logits, or the
 * probabilities normalised by their sum) into pm (n x c, packed). */
static ev_status model_distribution(const ev_quality *q, const float *s,
                                    size_t n, size_t c, size_t lds,
                                    double *pm, float *tmp) {
  for (size_t i = 0; i < n; i++) {
    const float *row = s + i * lds;
    if (q->scores == EV_SCORE_LOGITS) {
      ev_status st = ev_softmax(row, 1, c, c, tmp, c);
      if (st != EV_OK) return st;
      row = tmp;
    }
    double sum = 0;
    for (size_t j = 0; j < c; j++) sum += row[j];
    for (size_t j = 0; j < c; j++) pm[i * c + j] = row[j] / sum;
  }
  return EV_OK;
}

/* The neighbours' distance-weighted votes per row into pk (n x c): weight
 * 1 / d, or only the neighbours at distance 0 when there are such (as
 * scikit-learn's KNeighborsClassifier with weights="distance"). */
static void neighbour_distribution(const int64_t *nb, const float *dist,
                                   const int32_t *labels, size_t n, size_t c,
                                   size_t k, double *pk) {
  for (size_t i = 0; i < n; i++) {
    double *p = pk + i * c, sum = 0;
    const int64_t *row = nb + i * k;
    const float *d = dist + i * k;
    int zero = d[0] == 0; /* nearest first */
    for (size_t j = 0; j < c; j++) p[j] = 0;
    for (size_t u = 0; u < k; u++) {
      double w = zero ? (d[u] == 0) : 1.0 / d[u];
      p[labels[row[u]]] += w;
      sum += w;
    }
    for (size_t j = 0; j < c; j++) p[j] /= sum;
  }
}

static void write_evidence(const int32_t *labels, size_t n, size_t c,
                           const double *pm, const double *pk,
                           const double *P, float *ev, size_t lde,
                           int32_t *suggested) {
  for (size_t i = 0; i < n; i++) {
    size_t g = (size_t)labels[i];
    const double *p = P + i * c;
    float *e = ev + i * lde;
    e[EV_ISSUE_SCORE] = (float)(1.0 - p[g]);
    e[EV_ISSUE_SELF_CONFIDENCE] = pm ? (float)pm[i * c + g] : NAN;
    if (pm) {
      double other = -INFINITY;
      for (size_t j = 0; j < c; j++)
        if (j != g && pm[i * c + j] > other) other = pm[i * c + j];
      e[EV_ISSUE_MARGIN] = (float)(pm[i * c + g] - other);
    } else {
      e[EV_ISSUE_MARGIN] = NAN;
    }
    e[EV_ISSUE_NEIGHBOR_DISAGREEMENT] = pk ? (float)(1.0 - pk[i * c + g]) : NAN;
    if (suggested) {
      size_t best = 0;
      for (size_t j = 1; j < c; j++)
        if (p[j] > p[best]) best = j;
      suggested[i] = (int32_t)best;
    }
  }
}

ev_status ev_quality_label_issues(const ev_quality *q, const int32_t *labels,
                                  size_t n, size_t c, const float *scores,
                                  size_t lds, const float *features,
                                  size_t dim, size_t ldf, float *evidence,
                                  size_t lde, int32_t *suggested) {
  ev_status st = check_issue_args(q, labels, n, c, scores, lds, features,
                                  dim, ldf, evidence, lde);
  if (st != EV_OK) return st;
  size_t k = features ? q->issue_k : 0, nc, nk, bytes;
  if (!ev__mul(n, c, &nc) || !ev__mul(n, k, &nk) ||
      ev__bytes("the class distributions", nc, 3, sizeof(double), &bytes) != EV_OK)
    return ev__fail(EV_ERR_OVERFLOW, "%zu rows of %zu classes do not fit in "
                    "memory", n, c);
  double *pm = scores ? ev__malloc(nc * sizeof(double)) : NULL;
  double *pk = features ? ev__malloc(nc * sizeof(double)) : NULL;
  double *P = (scores && features) ? ev__malloc(nc * sizeof(double)) : NULL;
  float *tmp = ev__malloc(c * sizeof(float));
  int64_t *nb = features ? ev__malloc(nk * sizeof(int64_t) + 1) : NULL;
  float *dist = features ? ev__malloc(nk * sizeof(float) + 1) : NULL;
  /* The flags go to a column of their own first: nothing is written to
   * the caller's evidence unless everything succeeds. */
  float *flag = ev__malloc(n * sizeof(float));
  if ((scores && !pm) || (features && (!pk || !nb || !dist)) ||
      (scores && features && !P) || !tmp || !flag) {
    st = ev__nomem("the class distributions", bytes);
    goto done;
  }
  ev__threads scope;
  ev__threads_begin(&scope, q->threads);
  if (scores) st = model_distribution(q, scores, n, c, lds, pm, tmp);
  if (st == EV_OK && features)
    st = ev__quality_neighbours(q, features, n, dim, ldf, q->metric, k, nb,
                                dist);
  ev__threads_end(&scope);
  if (st != EV_OK) goto done;
  if (features) neighbour_distribution(nb, dist, labels, n, c, k, pk);
  const double *use = pm ? pm : pk;
  if (P) {
    /* Both together, as two independent experts (a product, naive
     * Bayes): the model's distribution times the neighbours' class
     * frequencies with Laplace's add-one smoothing, (count_j + 1) /
     * (k + c), so that a class no neighbour has still keeps the model's
     * odds (scaled by 1 / (k + c)) rather than zero. */
    for (size_t i = 0; i < n; i++) {
      double sum = 0, *row = P + i * c;
      for (size_t j = 0; j < c; j++) row[j] = 1.0;
      for (size_t u = 0; u < k; u++) row[labels[nb[i * k + u]]] += 1.0;
      for (size_t j = 0; j < c; j++) {
        row[j] *= pm[i * c + j];
        sum += row[j];
      }
      for (size_t j = 0; j < c; j++) row[j] = sum > 0 ? row[j] / sum : 1.0 / (double)c;
    }
    use = P;
  }
  st = ev__confident_flags(use, labels, n, c, flag, 1);
  if (st != EV_OK) goto done;
  write_evidence(labels, n, c, pm, pk, use, evidence, lde, suggested);
  if (P) {
    /* The ranking key: 1 - the geometric mean of the two experts'
     * probabilities of the given label, sqrt(p_model(g) (count_g + 1) /
     * (k + c)): a row ranks high when the model AND the neighbours find
     * its label improbable. On Fashion-MNIST with 10 % of the labels
     * flipped (bench/quality_bench.py issues, six noise seeds) it ranks
     * the flipped rows above the model's self-confidence alone in every
     * seed, in precision among the top 1,000 and in ROC AUC; the
     * normalised product (P above) ties it in two of them. */
    for (size_t i = 0; i < n; i++) {
      size_t g = (size_t)labels[i], same = 0;
      for (size_t u = 0; u < k; u++) same += labels[nb[i * k + u]] == labels[i];
      double pl = ((double)same + 1.0) / ((double)k + (double)c);
      evidence[i * lde + EV_ISSUE_SCORE] = (float)(1.0 - sqrt(pm[i * c + g] * pl));
    }
  }
  for (size_t i = 0; i < n; i++) evidence[i * lde + EV_ISSUE_FLAGGED] = flag[i];
done:
  ev__free(pm);
  ev__free(pk);
  ev__free(P);
  ev__free(tmp);
  ev__free(nb);
  ev__free(dist);
  ev__free(flag);
  return st;
}

typedef struct scored {
  float s;
  int64_t row;
} scored;

static int by_score_desc(const void *a, const void *b) {
  const scored *x = a, *y = b;
  if (x->s != y->s) return x->s > y->s ? -1 : 1;
  return (x->row > y->row) - (x->row < y->row);
}

ev_status ev_quality_rank_issues(const float *evidence, size_t n, size_t lde,
                                 int flagged_only, int64_t *indices,
                                 size_t *count) {
  EV__ARG_NULL_IF(!evidence || !indices || !count, "%s",
                  "pass the evidence of ev_quality_label_issues, room for n "
                  "indices and a count",
                  !evidence ? "evidence" : !indices ? "indices" : "count");
  if (n == 0 || lde < EV_ISSUE_FIELDS)
    return ev__fail(EV_ERR_ARGUMENT, "n is %zu and lde %zu: n must be at "
                    "least 1 and lde at least %d", n, lde, EV_ISSUE_FIELDS);
  for (size_t i = 0; i < n; i++)
    if (isnan(evidence[i * lde + EV_ISSUE_SCORE]))
      return ev__fail(EV_ERR_NONFINITE, "the score of row %zu is NaN: rank "
                      "the evidence ev_quality_label_issues wrote", i);
  scored *s = ev__malloc(n * sizeof *s);
  if (!s) return ev__nomem("the ranking", n * sizeof *s);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!flagged_only || evidence[i * lde + EV_ISSUE_FLAGGED] != 0)
      s[m++] = (scored){evidence[i * lde + EV_ISSUE_SCORE], (int64_t)i};
  qsort(s, m, sizeof *s, by_score_desc);
  for (size_t u = 0; u < m; u++) indices[u] = s[u].row;
  *count = m;
  ev__free(s);
  return EV_OK;
}
