/*
 * report_layers.c - the report's default layers (report_layers.h).
 *
 * First version, by layer names alone (named_modules order): the early
 * layer is the first top-level module after the stem whose name starts
 * with "layer" or contains "pool"/"features", else the second top-level
 * module; the penultimate layer is the leaf module called before the last
 * leaf; the scores are "output".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report_layers.h"

static int is_leaf(const char *const *names, size_t n, size_t i) {
  size_t len = strlen(names[i]);
  for (size_t j = 0; j < n; j++)
    if (j != i && strncmp(names[j], names[i], len) == 0 && names[j][len] == '.') return 0;
  return 1;
}

static int is_pseudo(const char *s) {
  return !strcmp(s, "output") || !strcmp(s, "softmax") || !strncmp(s, "output[", 7);
}

int evr_choose_layers(const char *model_path, size_t c, size_t h, size_t w, evr_layer_choice *out) {
  (void)c, (void)h, (void)w;
  memset(out, 0, sizeof *out);
  ev_model *m = NULL;
  ev_status st = ev_model_load(model_path, EV_DEVICE_CPU, &m);
  if (st) return evc_lib_err("loading the model", st);
  size_t n = 0;
  ev_model_n_layers(m, &n);
  const char **names = calloc(n ? n : 1, sizeof *names);
  if (!names) {
    ev_model_free(m);
    return evc_err("out of memory");
  }
  for (size_t i = 0; i < n; i++) ev_model_layer_name(m, i, &names[i]);
  long early = -1, last = -1, before = -1, top = 0;
  for (size_t i = 0; i < n; i++) {
    if (is_pseudo(names[i])) continue;
    if (!strchr(names[i], '.')) {
      top++;
      if (early < 0 && top > 1 &&
          (!strncmp(names[i], "layer", 5) || strstr(names[i], "pool") || strstr(names[i], "features")))
        early = (long)i;
    }
    if (is_leaf(names, n, i)) before = last, last = (long)i;
  }
  int rc = 0;
  if (before < 0) {
    rc = evc_err("%s: cannot find a penultimate layer among its %zu layers: name the layers with --layers", model_path, n);
  } else {
    out->n = 0;
    snprintf(out->name[out->n++], EVR_LAYER_NAME_MAX, "pixels");
    if (early >= 0 && early != before) {
      out->early = out->n;
      snprintf(out->name[out->n++], EVR_LAYER_NAME_MAX, "%s", names[early]);
    }
    out->penultimate = out->n;
    snprintf(out->name[out->n++], EVR_LAYER_NAME_MAX, "%s", names[before]);
    out->scores = out->n;
    snprintf(out->name[out->n++], EVR_LAYER_NAME_MAX, "output");
    snprintf(out->why, sizeof out->why, "chosen by their names: %s is the module called before the last one (%s)",
             names[before], names[last]);
  }
  free(names);
  ev_model_free(m);
  return rc;
}
