/*
 * report_fmaps.h - the early layer's activations of every point of the
 * interactive map, for the page's side panel (report_fmaps.c).
 */
#ifndef EVCLI_REPORT_FMAPS_H
#define EVCLI_REPORT_FMAPS_H

#include "report.h"

#define EVR_FMAPS_FILE "feature_maps.png"
#define EVR_FMAPS_WIDTH 4096   /* the sprite's width at most, in pixels */

typedef struct evr_fmaps {
  int layer;          /* index into d->layer, -1: none (no early layer) */
  int c, h, w;        /* C x H x W of a row when its file kept that shape; 0: unknown */
  int grid;           /* maps per line inside a cell */
  int cell_w, cell_h; /* one point's cell in the sprite */
  int per_row;        /* cells per sprite row */
  float lo, hi;       /* the one grey scale: lo black, hi white */
} evr_fmaps;

/* What the sprite holds for this report (layer -1: nothing to show). */
void evr_fmaps_plan(const evr_options *o, const evr_data *d, evr_fmaps *p);
/* Write EVR_FMAPS_FILE into the report folder. 0 or 1 (message printed). */
int evr_fmaps_write(const evr_options *o, const evr_data *d, const evr_fmaps *p);
/* The page's description of it: "fmaps:{...},\n" or "fmaps:null,\n". */
void evr_fmaps_js(FILE *f, const evr_data *d, const evr_fmaps *p);

#endif
