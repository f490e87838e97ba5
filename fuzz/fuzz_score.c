/* Scoring with fuzzed sizes and values: softmax, ambiguity of
 * probabilities or logits, the most ambiguous rows, confusion matrices with
 * labels in and out of range. */
#include "fuzz_common.h"

static void ambiguity(fz_bytes *b) {
  size_t n = fz_range(b, 0, 32), c = fz_range(b, 0, 12);
  size_t ld = c + fz_u8(b) % 2;
  int input = fz_u8(b) % 3; /* 2 is not a valid kind */
  float *s = fz_matrix(b, n ? n : 1, c, ld ? ld : 1);
  float *amb = malloc((n + 1) * 4), *mar = malloc((n + 1) * 4),
        *ent = malloc((n + 1) * 4), *sm = malloc((n ? n : 1) * (c + 1) * 4);
  int32_t *t1 = malloc((n + 1) * 4), *t2 = malloc((n + 1) * 4);
  ev_status st = ev_softmax(s, n, c, ld, sm, c ? c : 1);
  fz_check_status(st);
  if (st == EV_OK) FZ_REQUIRE(fz_all_finite(sm, n, c, c));
  st = ev_ambiguity(s, n, c, ld, input, amb, mar, ent, t1, t2);
  fz_check_status(st);
  if (st == EV_OK) {
    FZ_REQUIRE(input != 2 && c >= 2);
    for (size_t i = 0; i < n; i++) {
      FZ_REQUIRE(t1[i] >= 0 && (size_t)t1[i] < c);
      FZ_REQUIRE(t2[i] >= 0 && (size_t)t2[i] < c && t2[i] != t1[i]);
      FZ_REQUIRE(!isnan(amb[i]) && !isnan(mar[i]) && !isnan(ent[i]));
    }
    size_t k = fz_range(b, 0, n + 1);
    int64_t *top = malloc((k + 1) * sizeof *top);
    st = ev_most_ambiguous(amb, n, k, top);
    fz_check_status(st);
    if (st == EV_OK)
      for (size_t i = 0; i < k; i++) {
        FZ_REQUIRE(top[i] >= 0 && (size_t)top[i] < n);
        if (i) FZ_REQUIRE(amb[top[i - 1]] >= amb[top[i]]);
      }
    free(top);
  }
  free(s); free(amb); free(mar); free(ent); free(sm); free(t1); free(t2);
}

static void confusion(fz_bytes *b) {
  size_t n = fz_range(b, 0, 64), c = fz_range(b, 0, 16);
  int32_t *yt = malloc((n + 1) * 4), *yp = malloc((n + 1) * 4);
  for (size_t i = 0; i < n; i++) {
    yt[i] = (int8_t)fz_u8(b) % 20;
    yp[i] = (int8_t)fz_u8(b) % 20;
  }
  int64_t *counts = malloc((c * c + 1) * sizeof *counts);
  float *acc = malloc((c + 1) * sizeof *acc);
  ev_status st = ev_confusion_matrix(yt, yp, n, c, counts,
                                     fz_u8(b) & 1 ? acc : NULL);
  fz_check_status(st);
  if (st == EV_OK) {
    int64_t total = 0;
    for (size_t i = 0; i < c * c; i++) {
      FZ_REQUIRE(counts[i] >= 0);
      total += counts[i];
    }
    FZ_REQUIRE((size_t)total == n);
  }
  free(yt); free(yp); free(counts); free(acc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_bytes b = {data, size};
  if (fz_u8(&b) & 1) ambiguity(&b);
  else confusion(&b);
  return 0;
}
