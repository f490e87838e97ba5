/* Extraction over an ev_dataset: read a batch, extract it, repeat, so
 * only one batch of inputs is in memory. */
#include <vector>

#include "extract/shim.h"

/* Read items [first, first + b) and extract them into rows first... */
static ev_status dataset_batch(ev_extractor *ex, ev_dataset *ds, float *buf,
                               size_t first, size_t b, size_t n, size_t c,
                               size_t h, size_t w, float *const *out,
                               const size_t *ld) {
  size_t chw = c * h * w;
  ev_status st = ev_dataset_read(ds, first, b, buf, chw);
  if (st != EV_OK) return st;
  st = ev__check_finite("data set batch", buf, b, chw, chw);
  if (st != EV_OK) return st;
  std::vector<float *> rows(ex->layers.size());
  for (size_t j = 0; j < rows.size(); j++) rows[j] = out[j] + first * ld[j];
  ev__threads scope;
  ev__threads_begin(&scope, ex->threads);
  try {
    ev__quiet quiet;
    c10::InferenceMode inference;
    st = ev__extract_rows(ex, buf, b, c, h, w, chw, rows.data(), ld, first,
                          n);
  } catch (...) {
    st = ev__torch_fail("extracting activations");
  }
  ev__threads_end(&scope);
  return st;
}

extern "C" ev_status ev_extractor_run_dataset(ev_extractor *ex,
                                              ev_dataset *ds,
                                              float *const *out,
                                              const size_t *ld) {
  EV__ARG_NULL_IF(!ex || !ds || !out || !ld, "extractor, ds, out or ld",
                  "pass an extractor from ev_extractor_create, a data set from "
                  "ev_dataset_from_* and an output pointer and leading "
                  "dimension per layer");
  size_t n, c, h, w, bytes;
  ev_status st = ev_dataset_count(ds, &n);
  if (st == EV_OK) st = ev_dataset_item_shape(ds, &c, &h, &w);
  if (st != EV_OK) return st;
  if (n == 0) return ev__fail(EV_ERR_ARGUMENT, "the data set is empty");
  size_t bs = (size_t)ex->batch_size < n ? (size_t)ex->batch_size : n;
  /* the argument checks of a run, on a one-row stand-in for the data */
  float probe = 0;
  st = ev__check_run_args(ex, &probe, 1, 1, 1, 1, 1, out, ld);
  if (st != EV_OK) return st;
  size_t chw;
  if (!ev__mul3(c, h, w, &chw))
    return ev__fail(EV_ERR_OVERFLOW, "item size %zu x %zu x %zu overflows",
                    c, h, w);
  st = ev__bytes("batch of data set items", bs, chw, sizeof(float), &bytes);
  if (st != EV_OK) return st;
  float *buf = (float *)ev__malloc(bytes);
  if (!buf) return ev__nomem("batch of data set items", bytes);
  for (size_t first = 0; first < n && st == EV_OK; first += bs) {
    size_t b = n - first < bs ? n - first : bs;
    st = dataset_batch(ex, ds, buf, first, b, n, c, h, w, out, ld);
  }
  ev__free(buf);
  return st;
}
