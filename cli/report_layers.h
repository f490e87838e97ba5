/*
 * report_layers.h - the layers `embedviz report` maps when the person
 * names none (--layers absent): the input pixels, one early layer, the
 * penultimate layer (the input of the model's last linear layer) and the
 * class scores.
 */
#ifndef EVCLI_REPORT_LAYERS_H
#define EVCLI_REPORT_LAYERS_H

#include <stddef.h>

#define EVR_LAYER_NAME_MAX 256

typedef struct evr_layer_choice {
  int n;                                      /* names used, <= 4 */
  char name[4][EVR_LAYER_NAME_MAX];           /* "pixels" first */
  int early, penultimate, scores;             /* indices into name[]; early
                                                 is -1 when the model has no
                                                 early layer (no feature
                                                 maps): then n is 3 */
  char why[512];                              /* one sentence for the page:
                                                 how they were found */
} evr_layer_choice;

/* Choose the layers of the TorchScript model at model_path for inputs of
 * c x h x w. The scores layer gives what the model returns: the report
 * checks whether its rows are probabilities and applies softmax when they
 * are logits. The rules are in report_layers.c and docs/cli.md ("Layers
 * chosen for you"); they need one forward pass of one probe input. Prints
 * its message and returns 1 when the model cannot be read, refuses inputs
 * of c x h x w, returns no single tensor, or has no layer to choose; 0
 * otherwise. */
int evr_choose_layers(const char *model_path, size_t c, size_t h, size_t w, evr_layer_choice *out);

#endif
