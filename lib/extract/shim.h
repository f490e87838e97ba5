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
#include "embedviz/extract.h"

/* What a layer name refers to. */
enum class ev_layer_kind { submodule, output, output_item, softmax };

struct ev_layer_ref {
  std::string name;
  ev_layer_kind kind;
  std::string path; /* submodule: dotted path; output_item: index or key */
};

struct ev_model {
  torch::jit::Module module;
  torch::Device device{torch::kCPU};
  std::vector<ev_layer_ref> layers;
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
