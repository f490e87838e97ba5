/*
 * embedviz/score.h - how sure a network is of its predictions, and where it
 * goes wrong.
 *
 * Ambiguity of a prediction is the second-largest class probability divided
 * by the largest (MATLAB's measure): 0 = certain, 1 = a tie between the top
 * two classes. The margin (largest minus second-largest probability) and
 * the entropy (natural log) are given too. Inputs are N x C matrices of
 * probabilities (each row is normalised by its sum first) or of logits
 * (turned into probabilities by a numerically stable softmax).
 *
 * Threads: these calls have no state; any number of threads may call them
 * at once.
 */
#ifndef EMBEDVIZ_SCORE_H
#define EMBEDVIZ_SCORE_H

#include "embedviz/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the rows given to ev_ambiguity hold. */
typedef enum ev_score_input {
  EV_SCORE_PROBABILITIES = 0, /* non-negative, not all zero; rows are
                                 normalised by their sum */
  EV_SCORE_LOGITS = 1         /* any finite values; softmax is applied */
} ev_score_input;

/* out (n x c, leading dimension ldo) = softmax of each row of logits (n x c,
 * leading dimension ld), computed as exp(x - max) / sum so that large logits
 * do not overflow. out may equal logits when ldo == ld. EV_ERR_ARGUMENT,
 * EV_ERR_NONFINITE, EV_ERR_OVERFLOW. */
EV_API ev_status ev_softmax(const float *logits, size_t n, size_t c,
                            size_t ld, float *out, size_t ldo);

/* Per row of scores (n x c, leading dimension ld, c >= 2): ambiguity,
 * margin, entropy (each n floats), the likeliest class and the second
 * likeliest (each n int32; ties go to the lower class index). Any output
 * may be NULL when not wanted. EV_ERR_ARGUMENT for NULL scores, n = 0,
 * c < 2, an unknown input kind, or (probabilities) a negative value or a
 * row summing to 0 (the message names the row); EV_ERR_NONFINITE. */
EV_API ev_status ev_ambiguity(const float *scores, size_t n, size_t c,
                              size_t ld, int input, float *ambiguity,
                              float *margin, float *entropy, int32_t *top1,
                              int32_t *top2);

/* The k rows with the highest ambiguity (n values), most ambiguous first;
 * equal values in increasing row order. k <= n. NaN values are refused
 * (EV_ERR_NONFINITE). */
EV_API ev_status ev_most_ambiguous(const float *ambiguity, size_t n, size_t k,
                                   int64_t *indices);

/* Confusion matrix of n labels in [0, n_classes): counts (n_classes x
 * n_classes, row = true class, column = predicted class) and, unless NULL,
 * per_class_accuracy (n_classes floats: correct / true count of the class,
 * NaN for a class with no true sample). EV_ERR_ARGUMENT for NULL inputs,
 * n = 0, n_classes = 0 or a label outside [0, n_classes) (the message names
 * the first such position); EV_ERR_OVERFLOW. */
EV_API ev_status ev_confusion_matrix(const int32_t *y_true,
                                     const int32_t *y_pred, size_t n,
                                     size_t n_classes, int64_t *counts,
                                     float *per_class_accuracy);

#ifdef __cplusplus
}
#endif
#endif /* EMBEDVIZ_SCORE_H */
