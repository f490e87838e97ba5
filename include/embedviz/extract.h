/*
 * embedviz/extract.h - layer activations of TorchScript models (libtorch).
 *
 * What MATLAB's activations(net, X, layer, 'OutputAs', 'rows') and
 * torchvision's create_feature_extractor do: load a trained network, name
 * the layers you want, get one row of activations per input.
 *
 *   ev_model *model;
 *   ev_model_load("resnet18.pt", EV_DEVICE_CPU, &model);
 *   ev_extractor *ex;
 *   ev_extractor_create(model, &ex);
 *   ev_extractor_add_layer(ex, "avgpool");          // layer 0
 *   ev_extractor_add_layer(ex, "softmax");          // layer 1
 *   ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, 32);
 *   size_t m0, m1;
 *   ev_extractor_prepare(ex, 3, 224, 224);          // shapes for 3x224x224
 *   ev_extractor_layer_cols(ex, 0, &m0);            // 512
 *   ev_extractor_layer_cols(ex, 1, &m1);            // 1000
 *   float *out[2] = {malloc(n * m0 * 4), malloc(n * m1 * 4)};
 *   size_t ld[2] = {m0, m1};
 *   ev_extractor_run(ex, images, n, 3, 224, 224, 3 * 224 * 224, out, ld);
 *   ev_extractor_free(ex);
 *   ev_model_free(model);
 *
 * Layers. A model lists the names it can give (ev_model_layer_name):
 *  - every named submodule, by its dotted path as in PyTorch's
 *    named_modules(): "layer1", "layer3.1.conv2", "features.3", "avgpool",
 *    "fc". Its activation is what the submodule's forward returns, also
 *    when the model's own forward does not return it. If forward calls the
 *    submodule more than once, the first call counts.
 *  - "output": what the model's forward returns, when that is a tensor;
 *    "output[i]" for each element of a returned tuple or list and
 *    "output[key]" for each entry of a returned dict (e.g. a scripted
 *    create_feature_extractor model), when the graph builds them visibly.
 *  - "softmax": the softmax over dimension 1 of a 2-d "output", the class
 *    probabilities used for ambiguity scoring (embedviz/score.h).
 * A submodule with one of these names takes precedence over them.
 * Not listed, but accepted by ev_extractor_add_layer for every listed
 * submodule (since 1.1):
 *  - "<module>:input": the first tensor argument of that submodule's
 *    forward at its first call. The input of a classifier's last Linear
 *    is the penultimate features: "fc:input" in a ResNet (the flattened
 *    avgpool output), "classifier.6:input" in a VGG.
 * ev_model_layer_kind gives each listed layer's module class ("Linear",
 * "Conv2d"...), so a program can pick layers by kind.
 *
 * Rows. Each input gives one row per layer. The row is the layer's
 * activation for that input flattened in PyTorch's C order (for a C x H x W
 * feature map: channel, then row, then column, i.e. index c*H*W + h*W + w),
 * so M = C * H * W. With EV_EXTRACT_POOL = 1, feature maps of 3 or more
 * dimensions are averaged over their spatial dimensions (global average
 * pooling) and the row has M = C values; 1-d activations are unchanged.
 *
 * Inputs are batches of N x C x H x W floats from the caller, or a data set
 * of lib/io (ev_extractor_run_dataset); N is split into batches of EV_EXTRACT_BATCH_SIZE, so memory grows with the batch, not
 * with N (the outputs are the caller's buffers).
 *
 * Threads. A model may be shared by any number of threads, each with its
 * own extractor; an extractor is used by one thread at a time. Models may
 * be loaded in several threads at once, also while others extract (loads
 * are serialised inside: libtorch's inline mode is process-wide). Results
 * are the same as from one thread (tests/test_concurrency.c). Inference
 * runs without autograd (torch::InferenceMode). EV_EXTRACT_THREADS sets
 * the OpenMP thread count of the calling thread for the duration of each
 * run, which libtorch's CPU kernels (OpenMP backend, as in Debian) follow;
 * oneDNN convolutions also use OpenMP. libtorch's intra-op count is
 * process-wide (at::set_num_threads); we do not change it behind the
 * application's back, but the per-thread OpenMP setting is what bounds the
 * kernels of this build.
 *
 * libtorch is used through a backend module, libembedviz-torch.so, which
 * the library loads once, on the first call of this header (thread-safe),
 * from $EMBEDVIZ_BACKEND_DIR, beside the library, or its install folder
 * (docs/extract.md). When it cannot be loaded (not installed, libtorch
 * missing, another version, or a build without libtorch) every call below
 * that needs it returns EV_ERR_UNSUPPORTED, and ev_last_error() says why,
 * naming the file; ev_extract_available() returns 0.
 */
#ifndef EMBEDVIZ_EXTRACT_H
#define EMBEDVIZ_EXTRACT_H

#include "embedviz/core.h"
#include "embedviz/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when the libtorch backend module is loaded (this call loads it on first
 * use), 0 otherwise; then ev_last_error() says why (EV_ERR_UNSUPPORTED). */
EV_API int ev_extract_available(void);

/* ---- Models --------------------------------------------------------------- */

typedef struct ev_model ev_model;

/* Devices for ev_model_load. */
typedef enum ev_device {
  EV_DEVICE_CPU = 0,
  EV_DEVICE_CUDA = 1 /* the first CUDA device, when libtorch has one */
} ev_device;

/* 1 when the libtorch in use sees a CUDA device, else 0. */
EV_API int ev_cuda_available(void);

/* Load a TorchScript file (torch.jit.save of a scripted or traced module)
 * onto `device`, in evaluation mode. The model is read-only afterwards and
 * may be shared by threads. Errors: EV_ERR_ARGUMENT (NULL, unknown device),
 * EV_ERR_NOT_FOUND (no such file), EV_ERR_IO (unreadable), EV_ERR_FORMAT
 * (empty, truncated, or not TorchScript, e.g. a torch.save state dict),
 * EV_ERR_UNSUPPORTED (CUDA asked but not available; built without
 * libtorch), EV_ERR_NOMEM, EV_ERR_BACKEND. */
EV_API ev_status ev_model_load(const char *path, int device, ev_model **out);

/* NULL is a no-op. Free every extractor of the model first. */
EV_API void ev_model_free(ev_model *model);

/* The number of layer names the model offers (see the top of this file). */
EV_API ev_status ev_model_n_layers(const ev_model *model, size_t *n);

/* The i-th layer name, 0 <= i < n. *name points into the model and stays
 * valid until ev_model_free. EV_ERR_ARGUMENT when i is out of range. */
EV_API ev_status ev_model_layer_name(const ev_model *model, size_t i,
                                     const char **name);

/* The class name of the i-th layer's module, without its qualification
 * (since 1.1): "Linear", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d",
 * "Sequential", "BasicBlock", or the name of a class of the model's own
 * ("SmallCNN" for __main__.SmallCNN); "" for the layers that are not
 * modules ("output", "output[i]", "softmax"). *kind points into the model
 * and stays valid until ev_model_free. EV_ERR_ARGUMENT when i is out of
 * range or an argument is NULL; EV_ERR_UNSUPPORTED without the backend. */
EV_API ev_status ev_model_layer_kind(const ev_model *model, size_t i,
                                     const char **kind);

/* ---- Extractors ------------------------------------------------------------ */

typedef struct ev_extractor ev_extractor;

/* Settings (ev_extractor_set / _get / ev_extractor_param_bounds). */
typedef enum ev_extract_param {
  EV_EXTRACT_BATCH_SIZE = 1, /* inputs per forward pass; default 32 */
  EV_EXTRACT_POOL = 2,       /* 1: global average over the spatial
                                dimensions (a C x H x W map gives C
                                values); 0 (default): the whole map,
                                flattened */
  EV_EXTRACT_THREADS = 3     /* threads; 0 (default) = all cores */
} ev_extract_param;

/* An extractor of `model`, which must outlive it. No layers yet. */
EV_API ev_status ev_extractor_create(const ev_model *model,
                                     ev_extractor **out);
/* NULL is a no-op. */
EV_API void ev_extractor_free(ev_extractor *ex);
EV_API ev_status ev_extractor_set(ev_extractor *ex, ev_extract_param param,
                                  double value);
EV_API ev_status ev_extractor_get(const ev_extractor *ex,
                                  ev_extract_param param, double *value);
EV_API ev_status ev_extractor_param_bounds(ev_extract_param param,
                                           double *lower, double *upper);
/* The default of a setting, the value a new extractor has (since 1.1).
 * EV_ERR_ARGUMENT for an unknown param or a NULL value; EV_ERR_UNSUPPORTED
 * in a build without libtorch, as ev_extractor_param_bounds. */
EV_API ev_status ev_extractor_param_default(ev_extract_param param,
                                            double *value);
/* Progress per batch (EV_STAGE_EXTRACT, step = inputs done) and cancel. */
EV_API ev_status ev_extractor_set_progress(ev_extractor *ex, ev_progress_fn fn,
                                           void *user_data);

/* Ask for the layer `name` (a listed name, or "<module>:input" for a
 * listed submodule: see the top of this file); it becomes output number
 * ev_extractor_n_layers - 1. EV_ERR_NOT_FOUND when the model has no such
 * layer: the message lists the names when there are at most 12, else the
 * 10 nearest the name given, how many there are and how to list them all
 * (never cut mid-list). EV_ERR_UNSUPPORTED when the layer exists but
 * forward never calls it, it returns something other than a tensor, or
 * (for ":input") forward calls it without a tensor argument;
 * EV_ERR_ARGUMENT when it was already added. */
EV_API ev_status ev_extractor_add_layer(ev_extractor *ex, const char *name);

/* The number of layers asked for. */
EV_API ev_status ev_extractor_n_layers(const ev_extractor *ex, size_t *n);

/* Work out every layer's shape for inputs of c x h x w, with one forward
 * pass of one zero input. ev_extractor_run does this itself when the input
 * size changes. EV_ERR_STATE (no layers), EV_ERR_ARGUMENT (the model
 * refuses the shape: the message says what it wanted), EV_ERR_BACKEND. */
EV_API ev_status ev_extractor_prepare(ev_extractor *ex, size_t c, size_t h,
                                      size_t w);

/* Columns M of layer `layer`'s rows (after pooling). EV_ERR_STATE before
 * ev_extractor_prepare or a run. */
EV_API ev_status ev_extractor_layer_cols(const ev_extractor *ex, size_t layer,
                                         size_t *cols);

/* The activation shape of one input for layer `layer`, before pooling:
 * *ndim dimensions (at most 8) in dims, e.g. {64, 56, 56}. EV_ERR_STATE
 * before ev_extractor_prepare or a run. */
EV_API ev_status ev_extractor_layer_shape(const ev_extractor *ex,
                                          size_t layer, size_t dims[8],
                                          size_t *ndim);

/* Run the n inputs x (n rows of c*h*w floats, row i starting at x + i*ldx,
 * ldx >= c*h*w, each in C x H x W order) through the model in batches.
 * Row i of layer j goes to out[j] + i*ld[j] (ld[j] >= the layer's cols),
 * for each of the ev_extractor_n_layers layers. On failure rows already
 * written may hold results. Errors: EV_ERR_ARGUMENT (NULL, zero sizes,
 * ld too small, input shape refused by the model: the message gives what
 * it wanted), EV_ERR_NONFINITE (NaN/Inf in x), EV_ERR_STATE (no layers),
 * EV_ERR_CANCELLED, EV_ERR_NOMEM, EV_ERR_BACKEND, EV_ERR_UNSUPPORTED. */
EV_API ev_status ev_extractor_run(ev_extractor *ex, const float *x, size_t n,
                                  size_t c, size_t h, size_t w, size_t ldx,
                                  float *const *out, const size_t *ld);

/* Run every item of the data set `ds` (embedviz/io.h) through the model:
 * batches of EV_EXTRACT_BATCH_SIZE items are read with ev_dataset_read
 * (with its preprocessing settings) and extracted, so memory holds one
 * batch of inputs. Row i of layer j, for item i, goes to out[j] + i*ld[j];
 * out[j] has room for ev_dataset_count rows. Progress reports items done
 * after each batch (EV_STAGE_EXTRACT). Errors as ev_extractor_run, plus
 * those of ev_dataset_read (EV_ERR_IO, EV_ERR_FORMAT, ...). */
EV_API ev_status ev_extractor_run_dataset(ev_extractor *ex, ev_dataset *ds,
                                          float *const *out, const size_t *ld);

#ifdef __cplusplus
}
#endif
#endif /* EMBEDVIZ_EXTRACT_H */
