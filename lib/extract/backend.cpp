/* The module's entry point (lib/extract/backend.h): checks the library that
 * loads it and hands over the table of the extraction calls. */
#include <string.h>

/* shim.h first: it renames the public calls before extract.h declares
 * them. */
#include "extract/shim.h"
#include "extract/backend.h"

/* The library's functions, for lib/extract/module/host.c. Set once, by
 * the entry point, before the library can call anything else. */
extern "C" const ev__backend_host *ev__module_host;
const ev__backend_host *ev__module_host = nullptr;

namespace {
/* shim.h maps the public names to the module's own (ev__torch_*). */
const ev__backend table = {
    EV__BACKEND_ABI,
    sizeof(ev__backend),
    EV_VERSION_STRING,
    ev_cuda_available,
    ev_model_load,
    ev_model_free,
    ev_model_n_layers,
    ev_model_layer_name,
    ev_extractor_create,
    ev_extractor_free,
    ev_extractor_set,
    ev_extractor_get,
    ev_extractor_param_bounds,
    ev_extractor_param_default,
    ev_extractor_set_progress,
    ev_extractor_add_layer,
    ev_extractor_n_layers,
    ev_extractor_prepare,
    ev_extractor_layer_cols,
    ev_extractor_layer_shape,
    ev_extractor_run,
    ev_extractor_run_dataset,
    ev_model_layer_kind,
};
}  // namespace

/* NULL (the library says so) unless the library is the one this module
 * was built with: same table layout and same version. */
extern "C" __attribute__((visibility("default"))) const ev__backend *
ev_backend_entry_v1(const ev__backend_host *host) {
  if (!host || host->abi != EV__BACKEND_ABI ||
      host->size != sizeof(ev__backend_host) || !host->version ||
      strcmp(host->version, EV_VERSION_STRING) != 0)
    return nullptr;
  ev__module_host = host;
  return &table;
}
