/* Confident learning's default filter (Northcutt, Jiang & Chuang, JAIR 70,
 * 2021; cleanlab's find_label_issues with filter_by="prune_by_noise_rate"):
 *  1. per-class thresholds t_j = mean P_j over the rows labelled j;
 *  2. the confident joint C[given][true]: a row counts under the class
 *     whose P_j >= t_j (the likeliest class when several are), rows with
 *     none are left out; its diagonal is at least 1;
 *  3. calibration: each row of C scaled to the count of its given label,
 *     the whole to n, rounded keeping row totals;
 *  4. for each given class k and other class j, the C[k][j] rows labelled
 *     k with the largest P_j - P_k are flagged (classes with one row are
 *     left alone);
 *  5. a row whose likeliest class is its given label is never flagged. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quality_private.h"
#include "quality_issues.h"

typedef struct keyed {
  double key;
  int64_t row;
} keyed;

/* Larger key first, then lower row. */
static int by_key_desc(const void *a, const void *b) {
  const keyed *x = a, *y = b;
  if (x->key != y->key) return x->key > y->key ? -1 : 1;
  return (x->row > y->row) - (x->row < y->row);
}

/* Round a row of floats to integers keeping its rounded total: the
 * entries furthest from their rounding absorb the difference. */
static void round_keep_total(const double *f, int64_t *out, size_t c,
                             keyed *scratch) {
  double total = 0;
  int64_t sum = 0;
  for (size_t j = 0; j < c; j++) {
    total += f[j];
    out[j] = (int64_t)llround(f[j]);
    sum += out[j];
  }
  int64_t want = (int64_t)llround(total), diff = want - sum;
  if (diff == 0) return;
  for (size_t j = 0; j < c; j++)
    scratch[j] = (keyed){diff > 0 ? f[j] - (double)out[j]
                                  : (double)out[j] - f[j], (int64_t)j};
  qsort(scratch, c, sizeof *scratch, by_key_desc);
  int64_t step = diff > 0 ? 1 : -1;
  for (size_t u = 0; diff != 0; u = (u + 1) % c) {
    size_t j = (size_t)scratch[u].row;
    if (step < 0 && out[j] == 0) continue;
    out[j] += step;
    diff -= step;
  }
}

static size_t argmax_row(const double *p, size_t c, int32_t prefer) {
  size_t best = 0;
  double bv = -INFINITY;
  for (size_t j = 0; j < c; j++) {
    double v = p[j] + ((int32_t)j == prefer ? 1e-6 : 0);
    if (v > bv) {
      bv = v;
      best = j;
    }
  }
  return best;
}

ev_status ev__confident_flags(const double *P, const int32_t *labels,
                              size_t n, size_t c, float *flag, size_t ldf) {
  size_t cc = c * c;
  double *t = ev__calloc(c, sizeof(double)), *cal = ev__calloc(cc, sizeof(double));
  int64_t *cnt = ev__calloc(c, sizeof(int64_t)), *cj = ev__calloc(cc, sizeof(int64_t));
  keyed *sel = ev__malloc((n > c ? n : c) * sizeof(keyed));
  ev_status st = EV_OK;
  if (!t || !cal || !cnt || !cj || !sel) {
    st = ev__nomem("the confident joint", cc * 16 + n * sizeof(keyed));
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    cnt[labels[i]]++;
    t[labels[i]] += P[i * c + (size_t)labels[i]];
  }
  for (size_t j = 0; j < c; j++) t[j] = cnt[j] ? t[j] / (double)cnt[j] : 1e300;
  for (size_t i = 0; i < n; i++) {
    const double *p = P + i * c;
    size_t hits = 0, guess = 0;
    for (size_t j = 0; j < c; j++)
      if (p[j] >= t[j] - 1e-6) {
        if (!hits) guess = j;
        hits++;
      }
    if (!hits) continue;
    if (hits > 1) guess = argmax_row(p, c, -1);
    cj[(size_t)labels[i] * c + guess]++;
  }
  for (size_t j = 0; j < c; j++)
    if (cj[j * c + j] < 1) cj[j * c + j] = 1;
  double total = 0;
  for (size_t k = 0; k < c; k++) {
    double row = 0;
    for (size_t j = 0; j < c; j++) row += (double)cj[k * c + j];
    for (size_t j = 0; j < c; j++)
      cal[k * c + j] = (double)cj[k * c + j] / (row > 0 ? row : 1e-300) *
                       (double)cnt[k];
    total += (double)cnt[k];
  }
  double all = 0;
  for (size_t a = 0; a < cc; a++) all += cal[a];
  for (size_t a = 0; a < cc; a++) cal[a] *= total / (all > 0 ? all : 1e-300);
  for (size_t k = 0; k < c; k++)
    round_keep_total(cal + k * c, cj + k * c, c, sel);

  for (size_t i = 0; i < n; i++) flag[i * ldf] = 0;
  for (size_t k = 0; k < c; k++) {
    if (cnt[k] <= 1) continue;
    for (size_t j = 0; j < c; j++) {
      int64_t prune = cj[k * c + j];
      if (j == k || prune <= 0) continue;
      size_t m = 0;
      for (size_t i = 0; i < n; i++)
        if ((size_t)labels[i] == k)
          sel[m++] = (keyed){P[i * c + j] - P[i * c + k], (int64_t)i};
      qsort(sel, m, sizeof *sel, by_key_desc);
      for (size_t u = 0; u < m && u < (size_t)prune; u++)
        flag[(size_t)sel[u].row * ldf] = 1;
    }
  }
  for (size_t i = 0; i < n; i++)
    if (argmax_row(P + i * c, c, labels[i]) == (size_t)labels[i])
      flag[i * ldf] = 0;
done:
  ev__free(t);
  ev__free(cal);
  ev__free(cnt);
  ev__free(cj);
  ev__free(sel);
  return st;
}
