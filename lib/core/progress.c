/* Progress reporting and cancellation. */
#include "core.h"

static const char *stage_name(int stage) {
  switch (stage) {
  case EV_STAGE_KNN: return "neighbour search";
  case EV_STAGE_PCA: return "PCA";
  case EV_STAGE_AFFINITIES: return "t-SNE affinities";
  case EV_STAGE_EXAGGERATION: return "t-SNE early exaggeration";
  case EV_STAGE_OPTIMIZE: return "t-SNE optimisation";
  case EV_STAGE_EXTRACT: return "feature extraction";
  case EV_STAGE_READ: return "reading";
  case EV_STAGE_SPECTRAL: return "UMAP spectral initialisation";
  case EV_STAGE_EPOCHS: return "UMAP optimisation";
  default: return "work";
  }
}

ev_status ev__progress(ev_progress_fn cb, void *user, int stage, size_t step,
                       size_t total, double value) {
  if (cb && cb(user, stage, step, total, value) != 0)
    return ev__fail(EV_ERR_CANCELLED,
                    "%s cancelled by the progress callback at step %zu of %zu",
                    stage_name(stage), step, total);
  return EV_OK;
}
