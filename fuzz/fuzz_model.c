/* ev_model_load on any bytes, up to where libtorch takes over: the shim's
 * own checks (missing, empty, not a zip, a damaged zip container) and then
 * libtorch's reader, whose exceptions must all become statuses. Whatever
 * the file, the result is a status or a model whose layers can be listed. */
#include "fuzz_common.h"

/* built as C++: it links the libtorch shim */
#ifdef __cplusplus
extern "C"
#endif
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fz_file(0, ".pt", data, size);
  ev_model *m = NULL;
  ev_status st = ev_model_load(path, EV_DEVICE_CPU, &m);
  fz_check_status(st);
  if (st != EV_OK) {
    FZ_REQUIRE(m == NULL);
    FZ_REQUIRE(st == EV_ERR_FORMAT || st == EV_ERR_NOMEM ||
               st == EV_ERR_BACKEND);
    return 0;
  }
  size_t n = 0;
  fz_check_status(ev_model_n_layers(m, &n));
  for (size_t i = 0; i < n; i++) {
    const char *name = NULL;
    fz_check_status(ev_model_layer_name(m, i, &name));
    FZ_REQUIRE(name && *name);
  }
  ev_model_free(m);
  return 0;
}
