/* Running inputs through the extraction graph in batches and writing each
 * layer's rows into the caller's matrices. */
#include <string.h>

#include <new>

#include <torch/csrc/jit/ir/alias_analysis.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/interpreter.h>

#include "extract/shim.h"

/* The extraction graph, flattened and compiled for the TorchScript
 * interpreter on first use. We run it with a plain interpreter rather than
 * a graph executor: the profiling executor's passes (mutation removal,
 * specialisation) cost about twice eager PyTorch's peak memory on ResNet-18
 * (measured: 721 MB against 509 MB for 64 images at batch 32), for no
 * speed gain on CPU. */
static void ensure_code(ev_extractor *ex) {
  if (ex->code) return;
  ev__torch_alloc_point();
  std::vector<size_t> index;
  std::shared_ptr<torch::jit::Graph> g =
      ev__extraction_graph(ex->model->module, ex->layers, index);
  if (!g) throw std::runtime_error(ev_last_error());
  torch::jit::Inline(*g);
  torch::jit::EliminateDeadCode(g);
  /* Batches of the caller's rows are handed to the model without a copy
   * unless the graph may write into its input (or an alias of it). */
  ex->writes_input = torch::jit::AliasDb(g).hasWriters(g->inputs()[1]);
  ex->code.reset(new torch::jit::Code(g, "ev_extract"));
  ex->index = std::move(index);
}

/* Layer i's activations of a batch, as returned by the model. */
static torch::Tensor pick(const ev_extractor *ex, const c10::ivalue::Tuple &t,
                          size_t i) {
  const ev_layer_ref &l = ex->layers[i];
  const c10::IValue &v = t.elements()[ex->index[i]];
  switch (l.kind) {
    case ev_layer_kind::submodule:
    case ev_layer_kind::submodule_input:
    case ev_layer_kind::output:
      return v.toTensor();
    case ev_layer_kind::softmax:
      return torch::softmax(v.toTensor(), 1);
    case ev_layer_kind::output_item:
      break;
  }
  if (v.isTuple()) return v.toTupleRef().elements()[std::stoul(l.path)].toTensor();
  if (v.isList()) return v.toListRef()[std::stoul(l.path)].toTensor();
  return v.toGenericDict().at(l.path).toTensor();
}

/* Forward one batch; EV_ERR_ARGUMENT naming the input shape when the model
 * refuses it (libtorch says what it wanted). */
static ev_status forward(ev_extractor *ex, const torch::Tensor &x,
                         c10::intrusive_ptr<c10::ivalue::Tuple> &out) {
  /* A forward of two or more tensors would reach libtorch's interpreter
   * with one and fail an internal assertion that asks for a PyTorch bug
   * report: say what the library feeds instead. */
  size_t inputs =
      ex->model->module.get_method("forward").function().getSchema()
          .arguments().size() - 1;
  if (inputs != 1)
    return ev__fail(EV_ERR_UNSUPPORTED,
                    "the model's forward takes %zu arguments, but the "
                    "library feeds it one tensor (a batch of N x C x H x W "
                    "inputs): wrap the model in a module whose forward "
                    "takes one tensor, and script or trace that",
                    inputs);
  try {
    torch::jit::Stack stack{ex->model->module._ivalue(),
                            x.to(ex->model->device)};
    torch::jit::InterpreterState state(*ex->code);
    state.run(stack);
    out = stack.back().toTuple();
    return EV_OK;
  } catch (const std::bad_alloc &) {
    throw;
  } catch (const std::exception &e) {
    /* The interpreter rethrows kernel errors as std::runtime_error with a
     * TorchScript traceback; the reason is its last line. */
    const c10::Error *ce = dynamic_cast<const c10::Error *>(&e);
    std::string r =
        ev__torch_reason(ce ? ce->what_without_backtrace() : e.what());
    if (x.size(1) == 1 && r.find("channels") != std::string::npos)
      return ev__fail(EV_ERR_ARGUMENT, "the model refuses inputs of 1 x "
                      "%lld x %lld: %s: the inputs are grey (1 channel) and "
                      "the model wants more: set EV_DS_CHANNELS to 3 on the "
                      "data set (grey replicated as PIL's convert(\"RGB\")), "
                      "or pass inputs with the model's channels",
                      (long long)x.size(2), (long long)x.size(3), r.c_str());
    return ev__fail(EV_ERR_ARGUMENT, "the model refuses inputs of %lld x %lld "
                    "x %lld: %s: give inputs of the shape the model was "
                    "made for", (long long)x.size(1), (long long)x.size(2),
                    (long long)x.size(3), r.c_str());
  }
}

/* Per-input activations of each layer (CPU, float, 2-d: rows x cols). */
static ev_status batch_rows(ev_extractor *ex, const torch::Tensor &x,
                            std::vector<torch::Tensor> &rows) {
  c10::intrusive_ptr<c10::ivalue::Tuple> out;
  ev__torch_alloc_point();
  ev_status st = forward(ex, x, out);
  if (st != EV_OK) return st;
  int64_t b = x.size(0);
  rows.clear();
  std::vector<std::vector<int64_t>> shapes;
  for (size_t i = 0; i < ex->layers.size(); i++) {
    const c10::IValue &v = out->elements()[ex->index[i]];
    if (ex->layers[i].kind == ev_layer_kind::softmax && v.isTensor() &&
        v.toTensor().dim() < 2)
      return ev__fail(EV_ERR_UNSUPPORTED,
                      "layer \"softmax\" is the softmax over the classes of "
                      "the model's output, but this model returns %s (a "
                      "tensor of %lld dimensions), not N x classes scores: "
                      "use layer \"output\" or another layer",
                      v.toTensor().dim() == 0
                          ? "one number for the whole batch"
                          : "one number per input",
                      (long long)v.toTensor().dim());
    torch::Tensor t = pick(ex, *out, i);
    if (t.dim() == 0)
      return ev__fail(EV_ERR_UNSUPPORTED, "layer \"%s\" gives one number "
                      "for the whole batch (a 0-dimensional tensor, e.g. a "
                      "sum or a loss), not one row per input: choose a layer "
                      "whose output has the batch as its first dimension",
                      ex->layers[i].name.c_str());
    if (t.dim() < 1 || t.size(0) != b)
      return ev__fail(EV_ERR_UNSUPPORTED, "layer \"%s\" gives a tensor of "
                      "%lld dimensions whose first is not the batch of %lld: "
                      "choose another layer", ex->layers[i].name.c_str(),
                      (long long)t.dim(), (long long)b);
    shapes.emplace_back(t.sizes().begin() + 1, t.sizes().end());
    if (ex->pool && t.dim() >= 3) {
      std::vector<int64_t> spatial;
      for (int64_t d = 2; d < t.dim(); d++) spatial.push_back(d);
      t = t.mean(spatial);
    }
    rows.push_back(t.to(torch::kCPU, torch::kFloat).reshape({b, -1})
                       .contiguous());
  }
  ex->shapes = std::move(shapes);
  return EV_OK;
}

static ev_status copy_batch(torch::Tensor &staging, const float *x,
                            size_t b, size_t chw, size_t ldx) {
  float *dst = staging.data_ptr<float>();
  if (ldx == chw) {
    memcpy(dst, x, b * chw * sizeof(float));
  } else {
    for (size_t i = 0; i < b; i++)
      memcpy(dst + i * chw, x + i * ldx, chw * sizeof(float));
  }
  return EV_OK;
}

static void set_prepared(ev_extractor *ex, size_t c, size_t h, size_t w) {
  ex->c = c;
  ex->h = h;
  ex->w = w;
}

static ev_status prepare(ev_extractor *ex, size_t c, size_t h, size_t w) {
  ensure_code(ex);
  torch::Tensor zero =
      torch::zeros({1, (int64_t)c, (int64_t)h, (int64_t)w});
  std::vector<torch::Tensor> rows;
  ev_status st = batch_rows(ex, zero, rows);
  if (st == EV_OK) set_prepared(ex, c, h, w);
  return st;
}

extern "C" ev_status ev_extractor_prepare(ev_extractor *ex, size_t c,
                                          size_t h, size_t w) {
  EV__ARG_NULL_IF(!ex, "extractor", "pass an extractor from "
                  "ev_extractor_create and an output pointer and leading "
                  "dimension per layer");
  if (ex->layers.empty())
    return ev__fail(EV_ERR_STATE, "no layers: call ev_extractor_add_layer "
                    "first");
  if (!c || !h || !w)
    return ev__fail(EV_ERR_ARGUMENT,
                    "input size %zu x %zu x %zu has a zero: "
                    "pass c, h and w of at least 1",
                    c, h, w);
  ev__threads scope;
  ev__threads_begin(&scope, ex->threads);
  ev_status st;
  try {
    ev__quiet quiet;
    c10::InferenceMode inference;
    st = prepare(ex, c, h, w);
  } catch (...) {
    st = ev__torch_fail("working out the layer shapes");
  }
  ev__threads_end(&scope);
  return st;
}

/* Write a batch's rows to out[j] from row `first`; on the first batch of a
 * new input size, check the caller's leading dimensions first. */
static ev_status store(const ev_extractor *ex,
                       const std::vector<torch::Tensor> &rows, size_t first,
                       float *const *out, const size_t *ld) {
  for (size_t j = 0; j < rows.size(); j++) {
    size_t cols = (size_t)rows[j].size(1);
    if (ld[j] < cols)
      return ev__fail(EV_ERR_ARGUMENT, "ld[%zu] = %zu is less than the %zu "
                      "columns of layer \"%s\": see ev_extractor_layer_cols",
                      j, ld[j], cols, ex->layers[j].name.c_str());
  }
  for (size_t j = 0; j < rows.size(); j++) {
    const float *src = rows[j].data_ptr<float>();
    size_t b = (size_t)rows[j].size(0), cols = (size_t)rows[j].size(1);
    for (size_t i = 0; i < b; i++)
      memcpy(out[j] + (first + i) * ld[j], src + i * cols,
             cols * sizeof(float));
  }
  return EV_OK;
}

ev_status ev__extract_rows(ev_extractor *ex, const float *x, size_t n,
                           size_t c, size_t h, size_t w, size_t ldx,
                           float *const *out, const size_t *ld, size_t done,
                           size_t total) {
  ensure_code(ex);
  size_t chw = c * h * w, bs = (size_t)ex->batch_size;
  if (bs > n) bs = n;
  torch::Tensor staging;
  bool copy = ex->writes_input || ldx != chw;
  if (copy)
    staging = torch::empty({(int64_t)bs, (int64_t)c, (int64_t)h, (int64_t)w});
  std::vector<torch::Tensor> rows;
  for (size_t first = 0; first < n; first += bs) {
    size_t b = n - first < bs ? n - first : bs;
    torch::Tensor batch;
    if (copy) {
      batch = staging.narrow(0, 0, (int64_t)b);
      copy_batch(batch, x + first * ldx, b, chw, ldx);
    } else { /* read only: the graph never writes to its input */
      batch = torch::from_blob(const_cast<float *>(x + first * ldx),
                               {(int64_t)b, (int64_t)c, (int64_t)h,
                                (int64_t)w});
    }
    ev_status st = batch_rows(ex, batch, rows);
    if (st == EV_OK) st = store(ex, rows, first, out, ld);
    if (st != EV_OK) return st;
    set_prepared(ex, c, h, w);
    st = ev__progress(ex->progress, ex->progress_user, EV_STAGE_EXTRACT,
                      done + first + b, total, NAN);
    if (st != EV_OK) return st;
  }
  return EV_OK;
}

ev_status ev__check_run_args(const ev_extractor *ex, const float *x,
                                size_t n, size_t c, size_t h, size_t w,
                                size_t ldx, float *const *out,
                                const size_t *ld) {
  EV__ARG_NULL_IF(!ex || !out || !ld, "extractor, out or ld",
                  "pass an extractor from ev_extractor_create and an output "
                  "pointer and leading dimension per layer");
  if (ex->layers.empty())
    return ev__fail(EV_ERR_STATE, "no layers: call ev_extractor_add_layer "
                    "first");
  size_t chw;
  if (!c || !h || !w)
    return ev__fail(EV_ERR_ARGUMENT, "input size %zu x %zu x %zu has a zero",
                    c, h, w);
  if (!ev__mul3(c, h, w, &chw))
    return ev__fail(EV_ERR_OVERFLOW, "input size %zu x %zu x %zu overflows",
                    c, h, w);
  ev_status st = ev__check_matrix("x", x, n, chw, ldx);
  if (st != EV_OK) return st;
  for (size_t j = 0; j < ex->layers.size(); j++)
    EV__ARG_NULL_IF(!out[j], "out[%zu] (layer \"%s\")", "pass an extractor "
                    "from ev_extractor_create and an output pointer and "
                    "leading dimension per layer",
                    j, ex->layers[j].name.c_str());
  return ev__check_finite("x", x, n, chw, ldx);
}

extern "C" ev_status ev_extractor_run(ev_extractor *ex, const float *x,
                                      size_t n, size_t c, size_t h, size_t w,
                                      size_t ldx, float *const *out,
                                      const size_t *ld) {
  ev_status st = ev__check_run_args(ex, x, n, c, h, w, ldx, out, ld);
  if (st != EV_OK) return st;
  ev__threads scope;
  ev__threads_begin(&scope, ex->threads);
  try {
    ev__quiet quiet;
    c10::InferenceMode inference;
    st = ev__extract_rows(ex, x, n, c, h, w, ldx, out, ld, 0, n);
  } catch (...) {
    st = ev__torch_fail("extracting activations");
  }
  ev__threads_end(&scope);
  return st;
}
