/* Extraction in a build without libtorch: every call says so. */
#ifndef EV_WITH_TORCH
#include "core/core.h"
#include "embedviz/extract.h"

#define EV_NO_TORCH                                                        \
  ev__fail(EV_ERR_UNSUPPORTED, "this libembedviz was built without "       \
           "libtorch: rebuild with libtorch-dev installed")

int ev_extract_available(void) { return 0; }
int ev_cuda_available(void) { return 0; }

ev_status ev_model_load(const char *path, int device, ev_model **out) {
  if (out) *out = NULL;
  return EV_NO_TORCH;
}
void ev_model_free(ev_model *model) { (void)model; }
ev_status ev_model_n_layers(const ev_model *model, size_t *n) {
  return EV_NO_TORCH;
}
ev_status ev_model_layer_name(const ev_model *model, size_t i,
                              const char **name) {
  return EV_NO_TORCH;
}
ev_status ev_extractor_create(const ev_model *model, ev_extractor **out) {
  if (out) *out = NULL;
  return EV_NO_TORCH;
}
void ev_extractor_free(ev_extractor *ex) { (void)ex; }
ev_status ev_extractor_set(ev_extractor *ex, ev_extract_param param,
                           double value) {
  return EV_NO_TORCH;
}
ev_status ev_extractor_get(const ev_extractor *ex, ev_extract_param param,
                           double *value) {
  return EV_NO_TORCH;
}
ev_status ev_extractor_param_bounds(ev_extract_param param, double *lower,
                                    double *upper) {
  return EV_NO_TORCH;
}
ev_status ev_extractor_param_default(ev_extract_param param, double *value) {
  return EV_NO_TORCH;
}
ev_status ev_extractor_set_progress(ev_extractor *ex, ev_progress_fn fn,
                                    void *user_data) {
  return EV_NO_TORCH;
}
ev_status ev_extractor_add_layer(ev_extractor *ex, const char *name) {
  return EV_NO_TORCH;
}
ev_status ev_extractor_n_layers(const ev_extractor *ex, size_t *n) {
  return EV_NO_TORCH;
}
ev_status ev_extractor_prepare(ev_extractor *ex, size_t c, size_t h,
                               size_t w) {
  return EV_NO_TORCH;
}
ev_status ev_extractor_layer_cols(const ev_extractor *ex, size_t layer,
                                  size_t *cols) {
  return EV_NO_TORCH;
}
ev_status ev_extractor_layer_shape(const ev_extractor *ex, size_t layer,
                                   size_t dims[8], size_t *ndim) {
  return EV_NO_TORCH;
}
ev_status ev_extractor_run(ev_extractor *ex, const float *x, size_t n,
                           size_t c, size_t h, size_t w, size_t ldx,
                           float *const *out, const size_t *ld) {
  return EV_NO_TORCH;
}
ev_status ev_extractor_run_dataset(ev_extractor *ex, ev_dataset *ds,
                                   float *const *out, const size_t *ld) {
  return EV_NO_TORCH;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int ev__extract_none_unused;
#endif
