/*
 * report_fmaps.h - the early layer's feature maps of the points of the
 * interactive map, for the page's side panel (report_fmaps.c).
 */
#ifndef EVCLI_REPORT_FMAPS_H
#define EVCLI_REPORT_FMAPS_H

#include "report.h"

#define EVR_FMAPS_FILE "feature_maps.png"
#define EVR_FMAPS_WIDTH 4096     /* the sprite's width at most, in pixels */
#define EVR_FMAPS_BUDGET 32.0    /* default --feature-maps-budget, megabytes */
#define EVR_FMAPS_MIN_SIDE 14    /* maps are averaged down to no less than this
                                    side (the demo's pool1 maps are 14 x 14) */

typedef struct evr_fmaps {
  int layer;          /* index into d->layer, -1: none (no early layer) */
  int c, h, w;        /* C x H x W maps as the sprite holds them; c 0: the
                         layer has no spatial shape, its values row by row */
  int h0, w0, step;   /* the maps as the layer gives them, and the side of
                         the blocks averaged into one sprite pixel */
  size_t n, shown;    /* points, points with a cell (evr_fmaps_row) */
  size_t cols;        /* values of a cell */
  int grid;           /* maps per line inside a cell */
  int cell_w, cell_h; /* one point's cell in the sprite */
  int per_row;        /* cells per sprite row */
  float lo, hi;       /* the one grey scale: lo black, hi white */
  double budget;      /* megabytes allowed */
} evr_fmaps;

/* How maps of c x h x w for n points fit budget megabytes (10^6 grey
 * pixels): the smallest block side *step (maps of ceil(h / step) x
 * ceil(w / step)) that keeps all n, averaging down to EVR_FMAPS_MIN_SIDE
 * at most; when even that is too large, *shown < n points keep their maps
 * (evenly spread over the rows, evr_fmaps_row). c = 0: rows of h values,
 * never averaged. */
void evr_fmaps_fit(size_t n, int c, int h, int w, double budget, int *step, size_t *shown);
/* The test row of the j-th of `shown` cells among n rows. */
static inline size_t evr_fmaps_row(size_t j, size_t n, size_t shown) {
  return shown >= n ? j : (size_t)((unsigned long long)j * n / shown);
}
/* Average the c maps of h0 x w0 at src over step x step blocks into dst
 * (c x ceil(h0 / step) x ceil(w0 / step)); edge blocks average what they
 * hold. */
void evr_fmaps_shrink(const float *src, int c, int h0, int w0, int step, float *dst);

/* What the sprite holds for this report (layer -1: nothing to show). */
void evr_fmaps_plan(const evr_options *o, const evr_data *d, evr_fmaps *p);
/* Write EVR_FMAPS_FILE into the report folder. 0 or 1 (message printed). */
int evr_fmaps_write(const evr_options *o, const evr_data *d, const evr_fmaps *p);
/* The page's description of it: "fmaps:{...},\n" or "fmaps:null,\n". */
void evr_fmaps_js(FILE *f, const evr_data *d, const evr_fmaps *p);

#endif
