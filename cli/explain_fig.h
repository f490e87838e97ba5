/*
 * explain_fig.h - the panels of `embedviz explain` (figures_explain.c),
 * each drawn into a rectangle of a canvas with the primitives of plot.h.
 */
#ifndef EVCLI_EXPLAIN_FIG_H
#define EVCLI_EXPLAIN_FIG_H

#include "plot.h"

typedef struct evx_rect {
  int x, y, w, h;
} evx_rect;

/* A panel's frame and title; returns the rectangle left inside it. */
evx_rect evx_panel(evc_canvas *cv, evx_rect r, const char *title);
/* Lines of text, top to bottom, from (x, y). */
void evx_lines(evc_canvas *cv, int x, int y, const char *const *lines, int n, int scale);
/* C feature maps (C x H x W floats) as a grid of heatmaps, one colour scale
 * for all (min..max of every map, shown by a bar). */
void evx_heatmaps(evc_canvas *cv, evx_rect r, const float *maps, int c, int h, int w);
/* n values as vertical bars around a zero line. */
void evx_bars(evc_canvas *cv, evx_rect r, const float *v, size_t n);
/* k labelled horizontal bars (signed), largest first: label "f<feature>". */
void evx_hbars(evc_canvas *cv, evx_rect r, const int64_t *feature, const float *v, int k);
/* A map (n x 2) coloured by class, row `index` ringed in black and its
 * neighbours (nn[0..k)) ringed in grey. */
void evx_map(evc_canvas *cv, evx_rect r, const float *xy, size_t n, const evc_labels *lab, size_t index,
             const int64_t *nn, int k);
/* The map with arrows for the k features feature[0..k) whose ridge
 * weights (coef: 2 x d, leading dimension d) are largest. */
void evx_biplot(evc_canvas *cv, evx_rect r, const float *xy, size_t n, const evc_labels *lab, const float *coef,
                size_t d, const int64_t *feature, int k);
/* The d x d correlation matrix in the given order, blue (-1) to white (0)
 * to red (+1), with its colour bar. */
void evx_corr(evc_canvas *cv, evx_rect r, const float *corr, size_t d, const int64_t *order);

#endif
