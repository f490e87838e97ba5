/* ev_extractor: settings, the chosen layers and the extraction graph. */
#include <string.h>

#include <algorithm>
#include <new>

#include "extract/shim.h"

/* The settings: X(id, lower, upper, whole number, default, field). */
#define EXTRACT_SETTINGS(X)                                     \
  X(EV_EXTRACT_BATCH_SIZE, 1, 1 << 20, true, 32, batch_size)    \
  X(EV_EXTRACT_POOL, 0, 1, true, 0, pool)                       \
  X(EV_EXTRACT_THREADS, 0, 4096, true, 0, threads)
#define SPEC(id, lo, hi, whole, def, field) \
  EV__SPEC(ev__extract_settings, field, EV__SLOT_INT, id, lo, hi, whole, def),
static const ev__param_spec params[] = {EXTRACT_SETTINGS(SPEC)};
static const size_t n_params = sizeof params / sizeof params[0];
EV__SETTINGS_COVER(ev_extract_param, EXTRACT_SETTINGS)

/* What a call needs (EV__ARG_NULL_IF). */
#define EX_ADVICE                                                     \
  "pass a model from ev_model_load or an extractor from "            \
  "ev_extractor_create, and non-NULL arguments"

extern "C" ev_status ev_extractor_create(const ev_model *model,
                                         ev_extractor **out) {
  EV__ARG_NOT_NULL(out, EX_ADVICE);
  *out = nullptr;
  EV__ARG_NOT_NULL(model, EX_ADVICE);
  void *mem = ev__malloc(sizeof(ev_extractor));
  if (!mem) return ev__nomem("extractor", sizeof(ev_extractor));
  ev_extractor *ex = new (mem) ev_extractor();
  ex->model = model;
  ev__param_defaults(params, n_params, static_cast<ev__extract_settings *>(ex));
  *out = ex;
  return EV_OK;
}

extern "C" void ev_extractor_free(ev_extractor *ex) {
  if (!ex) return;
  try {
    ev__quiet quiet;
    ex->~ev_extractor();
  } catch (...) {
  }
  ev__free(ex);
}

extern "C" ev_status ev_extractor_set(ev_extractor *ex,
                                      ev_extract_param param, double value) {
  EV__ARG_NULL_IF(!ex, "extractor", EX_ADVICE);
  return ev__param_set(params, n_params, static_cast<ev__extract_settings *>(ex),
                       param, value, "feature-extractor");
}

extern "C" ev_status ev_extractor_get(const ev_extractor *ex,
                                      ev_extract_param param, double *value) {
  EV__ARG_NULL_IF(!ex || !value, "extractor or value", EX_ADVICE);
  return ev__param_get(params, n_params,
                       static_cast<const ev__extract_settings *>(ex), param,
                       value, "feature-extractor");
}

extern "C" ev_status ev_extractor_param_bounds(ev_extract_param param,
                                               double *lower, double *upper) {
  return ev__param_bounds(params, n_params, param, "feature-extractor", lower,
                          upper);
}

extern "C" ev_status ev_extractor_param_default(ev_extract_param param,
                                                double *value) {
  return ev__param_default(params, n_params, param, "feature-extractor",
                           value);
}

extern "C" ev_status ev_extractor_set_progress(ev_extractor *ex,
                                               ev_progress_fn fn,
                                               void *user_data) {
  EV__ARG_NULL_IF(!ex, "extractor", EX_ADVICE);
  ex->progress = fn;
  ex->progress_user = user_data;
  return EV_OK;
}

/* Levenshtein distance, for suggesting the names nearest a typo. */
static size_t edit_distance(const std::string &a, const std::string &b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) row[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      size_t up = row[j];
      size_t sub = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min(std::min(row[j] + 1, row[j - 1] + 1), sub);
      diag = up;
    }
  }
  return row[b.size()];
}

/* The layer names of m, nearest `name` first (by edit distance; ties in
 * listing order). */
static std::vector<size_t> nearest(const ev_model *m, const std::string &name) {
  std::vector<std::pair<size_t, size_t>> d; /* distance, index */
  for (size_t i = 0; i < m->layers.size(); i++)
    d.emplace_back(edit_distance(name, m->layers[i].name), i);
  std::stable_sort(d.begin(), d.end(),
                   [](const std::pair<size_t, size_t> &a,
                      const std::pair<size_t, size_t> &b) {
                     return a.first < b.first;
                   });
  std::vector<size_t> out;
  for (const auto &p : d) out.push_back(p.second);
  return out;
}

/* "the model has no layer "x": ..." - every name when there are few, else
 * the 10 nearest the typo, how many layers there are and how to list them
 * all. Names are added while the list stays under `budget` bytes, so the
 * message (the library keeps 1,023 bytes) is never cut mid-list, whatever
 * the length of the names (ResNet-18 has 69 layers). */
static ev_status unknown_layer(const ev_model *m, const char *name) {
  const size_t show = 10, budget = 400;
  const size_t n = m->layers.size();
  std::string typed(name), module;
  size_t suffix = typed.size() >= strlen(EV__INPUT_SUFFIX)
                      ? typed.size() - strlen(EV__INPUT_SUFFIX)
                      : std::string::npos;
  if (suffix != std::string::npos &&
      typed.compare(suffix, std::string::npos, EV__INPUT_SUFFIX) == 0)
    module = typed.substr(0, suffix);
  for (const auto &l : m->layers)
    if (!module.empty() && l.name == module)
      return ev__fail(EV_ERR_NOT_FOUND, "layer \"%s\" is not a module, so "
                      "\"%s\" has no input to give: \"<module>:input\" "
                      "takes a submodule's name", l.name.c_str(),
                      typed.substr(0, 200).c_str());
  std::string list;
  size_t listed = 0;
  /* every name, in listing order, when they are few and fit */
  for (size_t i = 0; n <= show + 2 && i < n; i++) {
    const std::string &l = m->layers[i].name;
    if (list.size() + l.size() + 2 > budget) break;
    list += (list.empty() ? "" : ", ") + l;
    listed++;
  }
  if (listed < n) {
    std::vector<size_t> order = nearest(m, module.empty() ? typed : module);
    list.clear();
    listed = 0;
    for (size_t k = 0; k < order.size() && listed < show; k++) {
      const std::string &l = m->layers[order[k]].name;
      if (!list.empty() && list.size() + l.size() + 2 > budget) break;
      list += (list.empty() ? "" : ", ") + l;
      listed++;
    }
  }
  /* "fc:input" of a module that is not there: say which part is wrong */
  std::string what = module.empty()
                         ? "layer \"" + typed.substr(0, 120) + "\""
                         : "module \"" + module.substr(0, 120) +
                               "\" (before \"" EV__INPUT_SUFFIX "\")";
  std::string how = "ev_model_layer_name lists them all; on the command "
                    "line: embedviz extract --model " +
                    m->path.substr(0, 120) + " --list-layers";
  if (listed == n)
    return ev__fail(EV_ERR_NOT_FOUND,
                    "the model has no %s: its %zu layers are %s: use one "
                    "of these names (\"<module>:input\" for a module's "
                    "input)", what.c_str(), n, list.c_str());
  return ev__fail(EV_ERR_NOT_FOUND,
                  "the model has no %s: it has %zu layers; the %zu nearest "
                  "are %s (%s): use one of these names (\"<module>:input\" "
                  "for a module's input)",
                  what.c_str(), n, listed, list.c_str(), how.c_str());
}

/* The layer `name` names: a listed name, or "<module>:input" for a listed
 * submodule. */
static bool find_layer(const ev_model *m, const char *name,
                       ev_layer_ref &ref) {
  for (const auto &l : m->layers)
    if (l.name == name) {
      ref = l;
      return true;
    }
  std::string s(name);
  size_t k = strlen(EV__INPUT_SUFFIX);
  if (s.size() <= k || s.compare(s.size() - k, k, EV__INPUT_SUFFIX) != 0)
    return false;
  std::string path = s.substr(0, s.size() - k);
  for (const auto &l : m->layers)
    if (l.kind == ev_layer_kind::submodule && l.path == path) {
      ref = {s, ev_layer_kind::submodule_input, path, ""};
      return true;
    }
  return false;
}

/* Check the layer can be reached (builds a graph of it alone: each layer
 * is reached independently of the others, so adding n layers costs n
 * small graphs, not n growing ones), then keep it. */
static ev_status add_layer(ev_extractor *ex, const char *name) {
  ev_layer_ref ref;
  if (!find_layer(ex->model, name, ref)) return unknown_layer(ex->model, name);
  for (const auto &l : ex->layers)
    if (l.name == name)
      return ev__fail(EV_ERR_ARGUMENT,
                      "layer \"%s\" was already added: add each "
                      "layer once and use its first output",
                      name);
  std::vector<ev_layer_ref> one{ref};
  std::vector<size_t> index;
  ev__torch_alloc_point();
  if (!ev__extraction_graph(ex->model->module, one, index))
    return ev_last_status();
  ex->layers.push_back(ref);
  ex->code.reset();
  ex->shapes.clear();
  ex->c = ex->h = ex->w = 0;
  return EV_OK;
}

extern "C" ev_status ev_extractor_add_layer(ev_extractor *ex,
                                            const char *name) {
  EV__ARG_NULL_IF(!ex || !name, "extractor or name", EX_ADVICE);
  try {
    ev__quiet quiet;
    return add_layer(ex, name);
  } catch (...) {
    return ev__torch_fail("finding the layer in the model's graph");
  }
}

extern "C" ev_status ev_extractor_n_layers(const ev_extractor *ex,
                                           size_t *n) {
  EV__ARG_NULL_IF(!ex || !n, "extractor or n", EX_ADVICE);
  *n = ex->layers.size();
  return EV_OK;
}

static ev_status check_shapes(const ev_extractor *ex, size_t layer) {
  if (ex->layers.empty())
    return ev__fail(EV_ERR_STATE,
                    "the extractor has no layers yet: add one with "
                    "ev_extractor_add_layer, then call ev_extractor_prepare "
                    "(or ev_extractor_run) before asking for its shape");
  if (layer >= ex->layers.size())
    return ev__fail(EV_ERR_ARGUMENT,
                    "layer %zu does not exist: the "
                    "extractor has %zu layers: ask for 0 .. n - 1",
                    layer, ex->layers.size());
  if (ex->shapes.size() != ex->layers.size())
    return ev__fail(EV_ERR_STATE, "layer shapes are not known yet: call "
                    "ev_extractor_prepare or ev_extractor_run first");
  return EV_OK;
}

extern "C" ev_status ev_extractor_layer_cols(const ev_extractor *ex,
                                             size_t layer, size_t *cols) {
  EV__ARG_NULL_IF(!ex || !cols, "extractor or cols", EX_ADVICE);
  ev_status st = check_shapes(ex, layer);
  if (st != EV_OK) return st;
  const std::vector<int64_t> &s = ex->shapes[layer];
  size_t m = 1;
  size_t upto = ex->pool && s.size() >= 2 ? 1 : s.size();
  for (size_t i = 0; i < upto; i++) m *= (size_t)s[i];
  *cols = m;
  return EV_OK;
}

extern "C" ev_status ev_extractor_layer_shape(const ev_extractor *ex,
                                              size_t layer, size_t dims[8],
                                              size_t *ndim) {
  EV__ARG_NULL_IF(!ex || !dims || !ndim, "extractor, dims or ndim", EX_ADVICE);
  ev_status st = check_shapes(ex, layer);
  if (st != EV_OK) return st;
  const std::vector<int64_t> &s = ex->shapes[layer];
  if (s.size() > 8)
    return ev__fail(EV_ERR_UNSUPPORTED, "layer %zu has %zu dimensions, more "
                    "than the 8 this call gives", layer, s.size());
  for (size_t i = 0; i < s.size(); i++) dims[i] = (size_t)s[i];
  *ndim = s.size();
  return EV_OK;
}
