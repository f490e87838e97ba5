/* Reaching any named submodule of a TorchScript model.
 *
 * A scripted model's forward graph, loaded with inlining off, keeps each
 * submodule call as prim::CallMethod on a prim::GetAttr chain from self.
 * To get the activation of "layer3.1.conv2" we copy forward's graph, inline
 * the calls that lead there (self._forward_impl, then layer3.forward, then
 * layer3.1.forward) until a call of layer3.1.conv2.forward is visible, and
 * return its value as an extra output. The model itself is never changed,
 * so it can be shared by threads and extractors. */
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <unordered_map>

#include "extract/shim.h"

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;
namespace attr = c10::attr;
namespace prim = c10::prim;

static torch::jit::GraphFunction &forward_fn(const torch::jit::Module &m) {
  return torch::jit::toGraphFunction(m.get_method("forward").function());
}

/* Entries "output", "output[i]", "output[key]" for what forward returns. */
static void add_outputs(const torch::jit::Module &m,
                        std::vector<ev_layer_ref> &out) {
  std::shared_ptr<Graph> g = forward_fn(m).graph();
  Value *ret = g->outputs()[0];
  Node *node = ret->node();
  if (ret->type()->kind() == c10::TypeKind::TensorType) {
    out.push_back({"output", ev_layer_kind::output, "", ""});
    out.push_back({"softmax", ev_layer_kind::softmax, "", ""});
    return;
  }
  if (auto tuple = ret->type()->cast<c10::TupleType>()) {
    for (size_t i = 0; i < tuple->elements().size(); i++)
      if (tuple->elements()[i]->kind() == c10::TypeKind::TensorType)
        out.push_back({"output[" + std::to_string(i) + "]",
                       ev_layer_kind::output_item, std::to_string(i), ""});
  } else if (node->kind() == prim::ListConstruct) {
    for (size_t i = 0; i < node->inputs().size(); i++)
      out.push_back({"output[" + std::to_string(i) + "]",
                     ev_layer_kind::output_item, std::to_string(i), ""});
  } else if (node->kind() == prim::DictConstruct) {
    for (size_t i = 0; i + 1 < node->inputs().size(); i += 2) {
      c10::optional<c10::IValue> key = torch::jit::toIValue(node->input(i));
      if (key && key->isString())
        out.push_back({"output[" + key->toStringRef() + "]",
                       ev_layer_kind::output_item, key->toStringRef(), ""});
    }
  }
}

/* A module's class name without its qualification: "Linear" for
 * __torch__.torch.nn.modules.linear.Linear (TorchScript's name mangling,
 * "___torch_mangle_3", sits in the qualification, not in the name). */
static std::string class_name(const torch::jit::Module &m) {
  auto q = m.type()->name();
  return q ? q->name() : std::string();
}

std::vector<ev_layer_ref> ev__model_layers(const torch::jit::Module &m) {
  std::vector<ev_layer_ref> out;
  for (const auto &nm : m.named_modules())
    if (!nm.name.empty())
      out.push_back({nm.name, ev_layer_kind::submodule, nm.name,
                     class_name(nm.value)});
  std::vector<ev_layer_ref> outputs;
  add_outputs(m, outputs);
  for (auto &o : outputs) { /* a submodule of the same name wins */
    bool taken = false;
    for (const auto &l : out) taken = taken || l.name == o.name;
    if (!taken) out.push_back(o);
  }
  return out;
}

/* The dotted module path of every module value in the top block of g
 * ("" for self). */
static std::unordered_map<Value *, std::string> module_paths(Graph &g) {
  std::unordered_map<Value *, std::string> paths;
  paths[g.inputs()[0]] = "";
  for (Node *n : g.nodes()) {
    if (n->kind() != prim::GetAttr) continue;
    auto it = paths.find(n->input(0));
    auto cls = n->output()->type()->cast<c10::ClassType>();
    if (it == paths.end() || !cls || !cls->is_module()) continue;
    const std::string &base = it->second;
    paths[n->output()] = base.empty() ? n->s(attr::name)
                                      : base + "." + n->s(attr::name);
  }
  return paths;
}

/* Graph outputs that hold the results and first tensor inputs of
 * submodule calls we inlined (path -> output indices; no_input when the
 * call had no tensor input). Outputs, not Value pointers: inlining a nested
 * call later rewires outputs with replaceAllUsesWith but frees the values
 * it replaces. */
static const size_t no_input = (size_t)-1;
struct inlined_call {
  size_t output, input;
};
typedef std::unordered_map<std::string, inlined_call> inlined_calls;

/* The first tensor argument of a call (input 0 is the module). */
static Value *first_tensor_input(Node *call) {
  for (size_t i = 1; i < call->inputs().size(); i++)
    if (call->input(i)->type()->kind() == c10::TypeKind::TensorType)
      return call->input(i);
  return nullptr;
}

static void inline_call(Graph &g, Node *call, const std::string &path,
                        inlined_calls &done) {
  auto cls = call->input(0)->type()->expect<c10::ClassType>();
  const std::string method = call->s(attr::name);
  torch::jit::Function &f = cls->getMethod(method);
  bool record = method == "forward" && !path.empty() && !done.count(path);
  /* registered before inlining: the input is a value of g that inlining
   * leaves alone, and as an output it follows later rewiring */
  size_t in = no_input;
  if (record) {
    Value *x = first_tensor_input(call);
    if (x) in = g.registerOutput(x);
  }
  /* false: the callee's own graph, calls kept; true would take its
   * optimised graph, where every nested call is already inlined. */
  std::vector<Value *> outs =
      torch::jit::inlineCallTo(call, &torch::jit::toGraphFunction(f), false);
  if (record && outs.size() == 1) done[path] = {g.registerOutput(outs[0]), in};
}

/* The value of the first call of path.forward in g's top block (its first
 * tensor input when `input`), inlining the calls that contain it; nullptr
 * when forward never calls it (or calls it without a tensor input). */
static Value *find_call(Graph &g, const std::string &path, bool input,
                        inlined_calls &done) {
  for (int round = 0; round < 256; round++) {
    auto it = done.find(path);
    if (it != done.end()) {
      size_t k = input ? it->second.input : it->second.output;
      return k == no_input ? nullptr : g.outputs()[k];
    }
    auto paths = module_paths(g);
    Node *enclosing = nullptr;
    std::string enclosing_path;
    for (Node *n : g.nodes()) {
      if (n->kind() != prim::CallMethod) continue;
      auto pit = paths.find(n->input(0));
      if (pit == paths.end()) continue;
      const std::string &p = pit->second;
      if (p == path && n->s(attr::name) == "forward")
        return input ? first_tensor_input(n) : n->output();
      /* a call of an enclosing module, or of a helper method of the
       * module itself (ResNet's _forward_impl) */
      bool contains = p.empty() || p == path ||
                      (path.size() > p.size() &&
                       path.compare(0, p.size(), p) == 0 &&
                       path[p.size()] == '.');
      if (contains && !enclosing) {
        enclosing = n;
        enclosing_path = p;
      }
    }
    if (!enclosing) return nullptr;
    inline_call(g, enclosing, enclosing_path, done);
  }
  return nullptr;
}

std::shared_ptr<Graph>
ev__extraction_graph(const torch::jit::Module &m,
                     const std::vector<ev_layer_ref> &layers,
                     std::vector<size_t> &index) {
  std::shared_ptr<Graph> g = forward_fn(m).graph()->copy();
  /* Register each value as a graph output at once: inlining a later
   * layer's enclosing call then rewires it with replaceAllUsesWith.
   * Output 0 stays the model's own output. */
  index.assign(layers.size(), 0);
  bool need_output = false;
  inlined_calls done;
  for (size_t i = 0; i < layers.size(); i++) {
    const ev_layer_ref &l = layers[i];
    bool input = l.kind == ev_layer_kind::submodule_input;
    if (l.kind != ev_layer_kind::submodule && !input) {
      need_output = true;
      continue;
    }
    Value *v = find_call(*g, l.path, input, done);
    if (!v && input && find_call(*g, l.path, false, done)) {
      ev__fail(EV_ERR_UNSUPPORTED, "layer \"%s\": forward calls \"%s\" "
               "without a tensor argument, so it has no input to give: "
               "choose another layer", l.name.c_str(), l.path.c_str());
      return nullptr;
    }
    if (!v) {
      ev__fail(EV_ERR_UNSUPPORTED, "layer \"%s\" is a submodule that "
               "forward never calls outside control flow, so it has no "
               "activation: choose a layer forward uses", l.name.c_str());
      return nullptr;
    }
    if (v->type()->kind() != c10::TypeKind::TensorType) {
      ev__fail(EV_ERR_UNSUPPORTED, "layer \"%s\" returns %s, not a tensor: "
               "choose one of its submodules", l.name.c_str(),
               v->type()->repr_str().c_str());
      return nullptr;
    }
    index[i] = g->registerOutput(v);
  }
  /* One tuple output instead of many; without the model's output when no
   * layer needs it, so dead code elimination drops what follows the last
   * requested layer (e.g. fc after avgpool). */
  std::vector<Value *> values;
  if (need_output) values.push_back(g->outputs()[0]);
  for (size_t i = 0; i < layers.size(); i++) {
    if (layers[i].kind != ev_layer_kind::submodule &&
        layers[i].kind != ev_layer_kind::submodule_input)
      continue;
    Value *v = g->outputs()[index[i]];
    index[i] = values.size();
    values.push_back(v);
  }
  while (g->outputs().size() > 0) g->eraseOutput(g->outputs().size() - 1);
  Node *tuple = g->createTuple(values);
  g->appendNode(tuple);
  g->registerOutput(tuple->output());
  torch::jit::EliminateDeadCode(g);
  return g;
}
