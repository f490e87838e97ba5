/* ev_model: a TorchScript module loaded with its submodule calls kept
 * visible, and the list of layer names it offers. */
#include <torch/cuda.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <mutex>
#include <new>

#include <caffe2/serialize/versions.h>

#include "extract/shim.h"
#include "extract/zipcheck.h"

extern "C" int ev_extract_available(void) { return 1; }

extern "C" int ev_cuda_available(void) {
  try {
    return torch::cuda::is_available() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

/* Cheap checks before libtorch sees the file, so the common mistakes get
 * precise statuses: missing, unreadable, empty, not a zip archive. */
static ev_status check_file(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    return errno == ENOENT
               ? ev__fail(EV_ERR_NOT_FOUND, "model file %s does not exist: "
                          "check the path", path)
               : ev__fail(EV_ERR_IO, "cannot read model file %s: %s", path,
                          strerror(errno));
  if (!S_ISREG(st.st_mode))
    return ev__fail(EV_ERR_IO,
                    "model file %s is not a regular file: give the "
                    "path of a TorchScript file",
                    path);
  FILE *f = fopen(path, "rb");
  if (!f)
    return ev__fail(EV_ERR_IO, "cannot open model file %s: %s", path,
                    strerror(errno));
  unsigned char magic[4] = {0};
  size_t got = fread(magic, 1, 4, f);
  fclose(f);
  if (st.st_size == 0)
    return ev__fail(EV_ERR_FORMAT, "model file %s is empty: save the model "
                    "again with torch.jit.save", path);
  if (got < 4 || memcmp(magic, "PK\3\4", 4) != 0)
    return ev__fail(EV_ERR_FORMAT, "model file %s is not TorchScript (not a "
                    "zip archive): save it with torch.jit.save("
                    "torch.jit.script(model), path)", path);
  return ev__check_torch_zip(path, caffe2::serialize::kMinSupportedFileFormatVersion,
                             caffe2::serialize::kMaxSupportedFileFormatVersion);
}

/* Inlining everything at load would erase the submodule calls we need.
 * The mode is process-wide in libtorch, so it is switched off only for the
 * load, under a lock. */
static torch::jit::Module load_module(const char *path, torch::Device dev) {
  static std::mutex lock;
  std::lock_guard<std::mutex> guard(lock);
  bool &inline_mode = torch::jit::getInlineEverythingMode();
  bool saved = inline_mode;
  inline_mode = false;
  try {
    torch::jit::Module m = torch::jit::load(path, dev);
    inline_mode = saved;
    return m;
  } catch (...) {
    inline_mode = saved;
    throw;
  }
}

static ev_status load_into(ev_model *m, const char *path) {
  try {
    ev__quiet quiet;
    ev__torch_alloc_point();
    m->module = load_module(path, m->device);
    m->module.eval();
    m->layers = ev__model_layers(m->module);
    m->path = path;
    return EV_OK;
  } catch (const std::bad_alloc &) {
    return ev__fail(EV_ERR_NOMEM, "out of memory loading model %s", path);
  } catch (const c10::Error &e) {
    std::string r = ev__torch_reason(e.what_without_backtrace());
    return ev__fail(EV_ERR_FORMAT, "model file %s is not a TorchScript model "
                    "or is damaged (%s): save it with torch.jit.save("
                    "torch.jit.script(model), path)", path, r.c_str());
  } catch (...) {
    return ev__torch_fail("loading the model");
  }
}

extern "C" ev_status ev_model_load(const char *path, int device,
                                   ev_model **out) {
  EV__ARG_NOT_NULL(out, "pass a model from ev_model_load and a result pointer");
  *out = nullptr;
  EV__ARG_NOT_NULL(path, "pass a model from ev_model_load and a result pointer");
  if (device != EV_DEVICE_CPU && device != EV_DEVICE_CUDA)
    return ev__fail(EV_ERR_ARGUMENT,
                    "device %d is not EV_DEVICE_CPU (0) or "
                    "EV_DEVICE_CUDA (1): use one of them",
                    device);
  if (device == EV_DEVICE_CUDA && !ev_cuda_available())
    return ev__fail(EV_ERR_UNSUPPORTED, "no CUDA device: this libtorch has "
                    "no CUDA support or sees no GPU; use EV_DEVICE_CPU");
  ev_status st = check_file(path);
  if (st != EV_OK) return st;
  void *mem = ev__malloc(sizeof(ev_model));
  if (!mem) return ev__nomem("model", sizeof(ev_model));
  ev_model *m;
  try {
    m = new (mem) ev_model();
  } catch (...) {
    ev__free(mem);
    return ev__nomem("model", sizeof(ev_model));
  }
  if (device == EV_DEVICE_CUDA) m->device = torch::Device(torch::kCUDA, 0);
  st = load_into(m, path);
  if (st != EV_OK) {
    ev_model_free(m);
    return st;
  }
  *out = m;
  return EV_OK;
}

extern "C" void ev_model_free(ev_model *model) {
  if (!model) return;
  model->~ev_model();
  ev__free(model);
}

extern "C" ev_status ev_model_n_layers(const ev_model *model, size_t *n) {
  EV__ARG_NULL_IF(!model || !n, "model or n", "pass a model from ev_model_load "
                  "and a result pointer");
  *n = model->layers.size();
  return EV_OK;
}

extern "C" ev_status ev_model_layer_name(const ev_model *model, size_t i,
                                         const char **name) {
  EV__ARG_NULL_IF(!model || !name, "model or name", "pass a model from "
                  "ev_model_load and a result pointer");
  if (i >= model->layers.size())
    return ev__fail(EV_ERR_ARGUMENT,
                    "layer %zu does not exist: the model "
                    "has %zu layers: ask for 0 .. n - 1 "
                    "(ev_model_n_layers)",
                    i, model->layers.size());
  *name = model->layers[i].name.c_str();
  return EV_OK;
}

extern "C" ev_status ev_model_layer_kind(const ev_model *model, size_t i,
                                         const char **kind) {
  EV__ARG_NULL_IF(!model || !kind, "model or kind", "pass a model from "
                  "ev_model_load and a result pointer");
  if (i >= model->layers.size())
    return ev__fail(EV_ERR_ARGUMENT,
                    "layer %zu does not exist: the model "
                    "has %zu layers: ask for 0 .. n - 1 "
                    "(ev_model_n_layers)",
                    i, model->layers.size());
  *kind = model->layers[i].cls.c_str();
  return EV_OK;
}
