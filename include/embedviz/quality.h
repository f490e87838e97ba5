/*
 * embedviz/quality.h - how far a map can be trusted, and which labels are
 * probably wrong (since 1.1).
 *
 *   ev_quality *q;
 *   ev_quality_create(&q);
 *   ev_quality_set(q, EV_QUALITY_MAP_NEIGHBORS, 5);
 *   double v[EV_MAP_MEASURES];
 *   ev_quality_map(q, x, n, dim, ldx, map, 2, 2, labels, v, EV_MAP_MEASURES);
 *   // v[EV_MAP_TRUSTWORTHINESS] ... v[EV_MAP_KNN_ACCURACY]
 *
 *   float ev[n * EV_ISSUE_FIELDS];  int32_t suggested[n];
 *   ev_quality_label_issues(q, labels, n, 10, probs, 10, feats, 128, 128,
 *                           ev, EV_ISSUE_FIELDS, suggested);
 *   ev_quality_rank_issues(ev, n, EV_ISSUE_FIELDS, 1, order, &count);
 *   ev_quality_free(q);
 *
 * Map measures (Venna & Kaski, ICANN 2001 and Neural Networks 19, 2006):
 * with k neighbours, r(i, j) the rank of j among i's neighbours in the
 * input space and r'(i, j) its rank in the map,
 *   trustworthiness T = 1 - 2 / (n k (2n - 3k - 1)) sum_i sum_{j in map
 *     kNN of i} max(0, r(i, j) - k)      (scikit-learn's trustworthiness)
 *   continuity C = the same with the roles of input and map swapped,
 *   kNN preservation = mean over rows of |input kNN ∩ map kNN| / k,
 *   kNN accuracy = fraction of rows whose label is the majority label of
 *     their k map neighbours (a tie goes to the tied label met first in
 *     the neighbour list, nearest first).
 * Neighbours come from the exact kNN index (embedviz/knn.h): ties in
 * distance are ordered by the lower row index, and a rank r(i, j) is 1 +
 * the number of rows l != i with d(i, l) < d(i, j), or d(i, l) = d(i, j)
 * and l < j. The ranks are counted for the map neighbours only, blockwise
 * (memory O(n k) per thread, never n x n). scikit-learn sorts whole distance
 * rows with numpy's unstable argsort, so on data with exactly equal
 * distances (integer pixels) the two may differ by about 1e-6; on maps of
 * real-valued data they agree to rounding (docs/quality.md).
 *
 * Label issues (docs/quality.md): each row gets a predicted class
 * distribution P from the model's class scores (probabilities, or logits
 * with EV_QUALITY_SCORES = EV_SCORE_LOGITS), from its k nearest
 * neighbours in feature space (distance-weighted label votes, as
 * scikit-learn's KNeighborsClassifier with weights="distance", the row
 * itself left out), or, when both are given, the product of the two
 * experts: P ∝ p_model(j) (count_j + 1), count_j the neighbours of class
 * j (Laplace's add-one smoothing). The issue score is 1 - P(given label)
 * (self-confidence, cleanlab's default ranking) with one source, and with
 * both 1 - sqrt(p_model(g) (count_g + 1) / (k + c)), one minus the
 * geometric mean of the two experts' probabilities of the given label g.
 * The suggested label is the likeliest class of P, and the row is
 * flagged when confident learning's default filter (prune by noise rate,
 * Northcutt, Jiang & Chuang, JAIR 70, 2021) marks it on P.
 *
 * Threads: a handle is used by one thread at a time; each call uses up to
 * EV_QUALITY_THREADS threads.
 */
#ifndef EMBEDVIZ_QUALITY_H
#define EMBEDVIZ_QUALITY_H

#include "embedviz/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ev_quality ev_quality;

/* Settings (ev_quality_set / ev_quality_get / ev_quality_param_bounds). */
typedef enum ev_quality_param {
  EV_QUALITY_MAP_NEIGHBORS = 1,   /* k of the map measures; default 5
                                     (scikit-learn's); must be < n / 2 */
  EV_QUALITY_ISSUE_NEIGHBORS = 2, /* k of the feature neighbours of label
                                     issues; default 10; must be < n */
  EV_QUALITY_METRIC = 3,          /* an ev_metric (embedviz/knn.h) for the
                                     input rows and the features; default
                                     EV_METRIC_EUCLIDEAN. Maps always use
                                     the Euclidean distance */
  EV_QUALITY_MINKOWSKI_P = 4,     /* p for EV_METRIC_MINKOWSKI; default 2 */
  EV_QUALITY_SCORES = 5,          /* what the class scores given to
                                     ev_quality_label_issues hold: an
                                     ev_score_input (embedviz/score.h);
                                     default EV_SCORE_PROBABILITIES */
  EV_QUALITY_THREADS = 6          /* threads per call; 0 (default) = all */
} ev_quality_param;

/* Make a handle with default settings (since 1.1). EV_ERR_ARGUMENT if out
 * is NULL, EV_ERR_NOMEM. */
EV_API ev_status ev_quality_create(ev_quality **out);
/* Release a handle; NULL is a no-op (since 1.1). */
EV_API void ev_quality_free(ev_quality *q);
/* Change or read a setting (since 1.1). EV_ERR_ARGUMENT, nothing changed,
 * for a value outside ev_quality_param_bounds or an unknown param. */
EV_API ev_status ev_quality_set(ev_quality *q, ev_quality_param param,
                                double value);
EV_API ev_status ev_quality_get(const ev_quality *q, ev_quality_param param,
                                double *value);
/* A setting's valid range and default (since 1.1): MAP_NEIGHBORS and
 * ISSUE_NEIGHBORS [1, 1e6], METRIC [0, 5], MINKOWSKI_P [1, 1e6], SCORES
 * [0, 1], THREADS [0, 1024]. EV_ERR_ARGUMENT for an unknown param. */
EV_API ev_status ev_quality_param_bounds(ev_quality_param param,
                                         double *lower, double *upper);
EV_API ev_status ev_quality_param_default(ev_quality_param param,
                                          double *value);

/* The map measures, in the order ev_quality_map writes them. */
typedef enum ev_map_measure {
  EV_MAP_TRUSTWORTHINESS = 0,
  EV_MAP_CONTINUITY = 1,
  EV_MAP_KNN_PRESERVATION = 2,
  EV_MAP_KNN_ACCURACY = 3
} ev_map_measure;
#define EV_MAP_MEASURES 4

/* Measure how well the map (n x map_dim, leading dimension ldm) keeps the
 * neighbourhoods of the input rows x (n x dim, leading dimension ldx, in
 * EV_QUALITY_METRIC) with k = EV_QUALITY_MAP_NEIGHBORS: values[m] for the
 * first n_values measures of ev_map_measure (1 = trustworthiness only,
 * which is the cheapest; EV_MAP_MEASURES = all). labels (n values, or NULL)
 * serve EV_MAP_KNN_ACCURACY only, which is NaN without them. Since 1.1.
 * EV_ERR_ARGUMENT for NULL x, map or values, n_values = 0 or >
 * EV_MAP_MEASURES, ld < cols, k >= n / 2 (the formula's normalisation needs
 * it), a negative label; EV_ERR_NONFINITE for NaN or Inf in x or map (the
 * message names the position); EV_ERR_OVERFLOW, EV_ERR_NOMEM. On failure
 * values is untouched. */
EV_API ev_status ev_quality_map(const ev_quality *q, const float *x,
                                size_t n, size_t dim, size_t ldx,
                                const float *map, size_t map_dim, size_t ldm,
                                const int32_t *labels, double *values,
                                size_t n_values);

/* The per-row evidence ev_quality_label_issues writes, one column each. */
typedef enum ev_issue_field {
  EV_ISSUE_SCORE = 0,           /* 1 - P(given label), with scores and
                                   features 1 - the geometric mean of the
                                   two experts' p(given label) (see the
                                   top): higher = more likely mislabelled;
                                   the ranking key */
  EV_ISSUE_SELF_CONFIDENCE = 1, /* the model's probability of the given
                                   label (NaN without class scores) */
  EV_ISSUE_MARGIN = 2,          /* normalised margin: model's p(given) -
                                   the largest other p, in [-1, 1] (NaN
                                   without class scores) */
  EV_ISSUE_NEIGHBOR_DISAGREEMENT = 3, /* distance-weighted fraction of the
                                   k feature neighbours labelled otherwise,
                                   in [0, 1] (NaN without features) */
  EV_ISSUE_FLAGGED = 4          /* 1 when confident learning flags the row
                                   on P, else 0 */
} ev_issue_field;
#define EV_ISSUE_FIELDS 5

/* Label-issue evidence for n rows with given labels in [0, n_classes):
 * from class scores (n x n_classes, leading dimension lds; NULL for none)
 * and/or features (n x dim, leading dimension ldf; NULL for none; k =
 * EV_QUALITY_ISSUE_NEIGHBORS, metric EV_QUALITY_METRIC). At least one of
 * the two must be given. Writes evidence (n x EV_ISSUE_FIELDS, leading
 * dimension lde, columns as ev_issue_field) and, unless NULL, suggested
 * (n labels: the likeliest class of P). Since 1.1. EV_ERR_ARGUMENT for NULL
 * labels or evidence, n < 2, n_classes < 2, a label outside [0, n_classes)
 * (the message names the row), probabilities with a negative value or a
 * row not summing to 1 within 1e-3 (the message names the row: pass
 * probabilities, or logits with EV_QUALITY_SCORES = EV_SCORE_LOGITS), k >=
 * n, lde < EV_ISSUE_FIELDS; EV_ERR_NONFINITE for NaN or Inf in scores or
 * features; EV_ERR_OVERFLOW, EV_ERR_NOMEM. Nothing is written on
 * failure. */
EV_API ev_status ev_quality_label_issues(const ev_quality *q,
                                         const int32_t *labels, size_t n,
                                         size_t n_classes, const float *scores,
                                         size_t lds, const float *features,
                                         size_t dim, size_t ldf,
                                         float *evidence, size_t lde,
                                         int32_t *suggested);

/* Rank rows by EV_ISSUE_SCORE of evidence (n x EV_ISSUE_FIELDS, leading
 * dimension lde, from ev_quality_label_issues), highest first, equal
 * scores by lower row: all n rows, or with flagged_only the flagged ones
 * only (cleanlab's find_label_issues ranked by self-confidence). indices
 * needs room for n; *count gets how many were written. Since 1.1.
 * EV_ERR_ARGUMENT for NULL pointers, n = 0, lde < EV_ISSUE_FIELDS;
 * EV_ERR_NONFINITE for a NaN score; EV_ERR_NOMEM. */
EV_API ev_status ev_quality_rank_issues(const float *evidence, size_t n,
                                        size_t lde, int flagged_only,
                                        int64_t *indices, size_t *count);

#ifdef __cplusplus
}
#endif
#endif /* EMBEDVIZ_QUALITY_H */
