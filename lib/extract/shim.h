/* Private to lib/extract: the handles behind embedviz/extract.h and the
 * helpers of the libtorch shim. C++ only; nothing here crosses the C API. */
#ifndef EV_LIB_EXTRACT_SHIM_H
#define EV_LIB_EXTRACT_SHIM_H

#include <torch/csrc/jit/runtime/interpreter.h>
#include <torch/script.h>

#include <memory>
#include <string>
#include <vector>

extern "C" {
#include "core/core.h"
}
/* The shim is the backend module (lib/extract/backend.h): the library's
 * loader (lib/extract/loader.c) defines the public extraction calls and
 * forwards them to the module's table. So that both can be linked into one
 * program (the fuzz harness), the shim's definitions of those calls get
 * the names ev__torch_* here; the sources keep the public names. */
#define ev_extract_available ev__torch_extract_available
#define ev_cuda_available ev__torch_cuda_available
#define ev_model_load ev__torch_model_load
#define ev_model_free ev__torch_model_free
#define ev_model_n_layers ev__torch_model_n_layers
#define ev_model_layer_name ev__torch_model_layer_name
#define ev_model_layer_kind ev__torch_model_layer_kind
#define ev_extractor_create ev__torch_extractor_create
#define ev_extractor_free ev__torch_extractor_free
#define ev_extractor_set ev__torch_extractor_set
#define ev_extractor_get ev__torch_extractor_get
#define ev_extractor_param_bounds ev__torch_extractor_param_bounds
#define ev_extractor_param_default ev__torch_extractor_param_default
#define ev_extractor_set_progress ev__torch_extractor_set_progress
#define ev_extractor_add_layer ev__torch_extractor_add_layer
#define ev_extractor_n_layers ev__torch_extractor_n_layers
#define ev_extractor_prepare ev__torch_extractor_prepare
#define ev_extractor_layer_cols ev__torch_extractor_layer_cols
#define ev_extractor_layer_shape ev__torch_extractor_layer_shape
#define ev_extractor_run ev__torch_extractor_run
#define ev_extractor_run_dataset ev__torch_extractor_run_dataset
#include "embedviz/extract.h"

/* What a layer name refers to: a submodule's output, its input
 * ("<path>:input"), the model's output or an element of it, softmax. */
enum class ev_layer_kind { submodule, submodule_input, output, output_item,
                           softmax };

/* The suffix naming a submodule's input. */
#define EV__INPUT_SUFFIX ":input"

struct ev_layer_ref {
  std::string name;
  ev_layer_kind kind;
  std::string path; /* submodule(_input): dotted path; output_item: index
                       or key */
  std::string cls;  /* submodule: its class name ("Conv2d"); else "" */
};

struct ev_model {
  torch::jit::Module module;
  torch::Device device{torch::kCPU};
  std::vector<ev_layer_ref> layers;
  std::string path; /* the file, for messages */
};

/* The settings of an extractor (extractor.cpp's table stores them here: a
 * plain struct, so offsetof applies). */
struct ev__extract_settings {
  int batch_size, pool, threads;
};

struct ev_extractor : ev__extract_settings {
  const ev_model *model = nullptr;
  std::vector<ev_layer_ref> layers;
  std::unique_ptr<torch::jit::Code> code; /* built on first use */
  bool writes_input = false; /* the graph may modify its input in place */
  std::vector<size_t> index; /* layer i is element index[i] of its tuple */
  ev_progress_fn progress = nullptr;
  void *progress_user = nullptr;
  /* shapes of one input's activations for inputs of c x h x w */
  size_t c = 0, h = 0, w = 0;
  std::vector<std::vector<int64_t>> shapes;
  torch::Tensor staging; /* batch buffer, reused between batches */
};

/* ---- graph.cpp ---- */
/* The layer references a model offers, in listing order. */
std::vector<ev_layer_ref> ev__model_layers(const torch::jit::Module &m);
/* A graph (self, x) -> tuple of the requested activations; layer i is
 * element index[i] (for output kinds: the model's output, element 0). Sets an ev__fail
 * message and returns nullptr when a layer cannot be reached. */
std::shared_ptr<torch::jit::Graph>
ev__extraction_graph(const torch::jit::Module &m,
                     const std::vector<ev_layer_ref> &layers,
                     std::vector<size_t> &index);

/* ---- run.cpp ---- */
/* Extract rows of n inputs in batches into out[j] + i * ld[j]; progress
 * reports done + inputs so far of total. Call inside try, InferenceMode
 * and a thread scope. */
ev_status ev__extract_rows(ev_extractor *ex, const float *x, size_t n,
                           size_t c, size_t h, size_t w, size_t ldx,
                           float *const *out, const size_t *ld, size_t done,
                           size_t total);
/* Arguments of ev_extractor_run, including NaN/Inf in x. */
ev_status ev__check_run_args(const ev_extractor *ex, const float *x, size_t n,
                             size_t c, size_t h, size_t w, size_t ldx,
                             float *const *out, const size_t *ld);

/* ---- errors.cpp ---- */
/* Before a call into libtorch that allocates: throws std::bad_alloc when
 * the test hook fails this allocation point, so tests reach the shim's
 * out-of-memory paths (libtorch's own operator new is out of the hook's
 * reach). */
void ev__torch_alloc_point();
/* Turn the exception being handled into a status and message; `doing`
 * says what we were doing ("loading model.pt"). Call inside catch (...). */
ev_status ev__torch_fail(const char *doing);
/* The last "...Error: ..." line of a libtorch message, without traceback. */
std::string ev__torch_reason(const char *what);

/* Swallows libtorch warnings (TORCH_WARN) for the calls of this scope, so
 * the library never prints them. */
class ev__quiet {
 public:
  ev__quiet();
  ~ev__quiet();
 private:
  c10::WarningHandler *prev_;
};

#endif
