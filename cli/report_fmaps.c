/*
 * report_fmaps.c - the early layer's feature maps of the points of the
 * interactive map as one grey PNG, each point a cell of its C maps (or,
 * when the layer has no spatial shape, its values row by row), all on one
 * scale (the minimum black, the maximum white). The page draws the clicked
 * point's cell in its side panel: no computation in the browser, and the
 * page stays offline.
 *
 * The sprite keeps within a budget (--feature-maps-budget, 32 MB of grey
 * pixels by default): the demo's pool1, 16 x 14 x 14, is 31.4 MB for 10,000
 * points and fits whole; ResNet-18's layer1 at 224 px, 64 x 56 x 56, is
 * 200,704 pixels a point, so its maps are averaged over 4 x 4 blocks to
 * 14 x 14 and 2,551 of 10,000 points keep them. The page says which.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_fmaps.h"

static size_t cell_pixels(int c, int h, int w, int step) {
  if (!c) return (size_t)h;
  return (size_t)c * (size_t)((h + step - 1) / step) * (size_t)((w + step - 1) / step);
}

void evr_fmaps_fit(size_t n, int c, int h, int w, double budget, int *step, size_t *shown) {
  double room = budget * 1e6;
  int s = 1;
  /* larger blocks while the maps do not fit and stay EVR_FMAPS_MIN_SIDE wide */
  while (c && (h + s) / (s + 1) >= EVR_FMAPS_MIN_SIDE && (w + s) / (s + 1) >= EVR_FMAPS_MIN_SIDE &&
         (double)n * (double)cell_pixels(c, h, w, s) > room)
    s++;
  *step = s;
  double per = (double)cell_pixels(c, h, w, s), fit = floor(room / per);
  *shown = fit >= (double)n ? n : fit < 1 ? 1 : (size_t)fit;
}

void evr_fmaps_shrink(const float *src, int c, int h0, int w0, int step, float *dst) {
  int h = (h0 + step - 1) / step, w = (w0 + step - 1) / step;
  for (int m = 0; m < c; m++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        double sum = 0;
        int k = 0;
        for (int yy = y * step; yy < (y + 1) * step && yy < h0; yy++)
          for (int xx = x * step; xx < (x + 1) * step && xx < w0; xx++, k++)
            sum += src[((size_t)m * (size_t)h0 + (size_t)yy) * (size_t)w0 + (size_t)xx];
        dst[((size_t)m * (size_t)h + (size_t)y) * (size_t)w + (size_t)x] = (float)(sum / k);
      }
}

/* The rows the sprite is made from: d->maps (already averaged) or the
 * early layer (averaged here, per row). */
static const evc_mat *source(const evr_data *d, const evr_fmaps *p) {
  return d->maps.f ? &d->maps : &d->layer[p->layer];
}

void evr_fmaps_plan(const evr_options *o, const evr_data *d, evr_fmaps *p) {
  memset(p, 0, sizeof *p);
  p->layer = d->early;
  if (p->layer < 0) return;
  const evc_mat *x = &d->layer[p->layer];
  const size_t *sh = d->layer_shape[p->layer];
  p->budget = o->fmaps_budget > 0 ? o->fmaps_budget : EVR_FMAPS_BUDGET;
  p->n = x->rows;
  if (d->maps.f) {   /* made at load time (evr_load_folder) */
    p->c = (int)d->maps_shape[0], p->h0 = (int)d->maps_shape[1], p->w0 = (int)d->maps_shape[2];
    p->step = d->maps_step;
    p->shown = d->maps.rows;
  } else if (sh[0] * sh[1] * sh[2] == x->cols && x->cols) {
    p->c = (int)sh[0], p->h0 = (int)sh[1], p->w0 = (int)sh[2];
    evr_fmaps_fit(p->n, p->c, p->h0, p->w0, p->budget, &p->step, &p->shown);
  } else {
    p->c = 0;
    evr_fmaps_fit(p->n, 0, (int)x->cols, 1, p->budget, &p->step, &p->shown);
  }
  if (p->c) {
    p->h = (p->h0 + p->step - 1) / p->step;
    p->w = (p->w0 + p->step - 1) / p->step;
    p->cols = (size_t)p->c * (size_t)p->h * (size_t)p->w;
    p->grid = (int)ceil(sqrt((double)p->c));
    p->cell_w = p->grid * p->w;
    p->cell_h = (p->c + p->grid - 1) / p->grid * p->h;
  } else {   /* the values row by row, in a near-square block */
    p->cols = x->cols;
    p->cell_w = (int)ceil(sqrt((double)x->cols));
    p->cell_h = (int)((x->cols + (size_t)p->cell_w - 1) / (size_t)p->cell_w);
  }
  p->per_row = EVR_FMAPS_WIDTH / p->cell_w;
  if (p->per_row < 1) p->per_row = 1;
  const evc_mat *s = source(d, p);
  p->lo = p->hi = s->f[0];
  for (size_t k = 0; k < s->rows * s->cols; k++) {
    p->lo = s->f[k] < p->lo ? s->f[k] : p->lo;
    p->hi = s->f[k] > p->hi ? s->f[k] : p->hi;
  }
}

/* Value k of a cell: where it goes in the cell. */
static void place(const evr_fmaps *p, size_t k, int *cx, int *cy) {
  if (!p->c) {
    *cx = (int)(k % (size_t)p->cell_w), *cy = (int)(k / (size_t)p->cell_w);
    return;
  }
  size_t hw = (size_t)p->h * (size_t)p->w, m = k / hw, r = k % hw;
  *cx = (int)(m % (size_t)p->grid) * p->w + (int)(r % (size_t)p->w);
  *cy = (int)(m / (size_t)p->grid) * p->h + (int)(r / (size_t)p->w);
}

int evr_fmaps_write(const evr_options *o, const evr_data *d, const evr_fmaps *p) {
  if (p->layer < 0) return 0;
  const evc_mat *s = source(d, p);
  size_t rows = (p->shown + (size_t)p->per_row - 1) / (size_t)p->per_row;
  int W = p->per_row * p->cell_w, H = (int)rows * p->cell_h;
  unsigned char *g = calloc((size_t)W * (size_t)H, 1);
  float *cell = malloc(p->cols * sizeof *cell);
  if (!g || !cell) {
    free(g);
    free(cell);
    return evc_err("out of memory for the feature maps (%d x %d pixels)", W, H);
  }
  float span = p->hi > p->lo ? p->hi - p->lo : 1;
  for (size_t j = 0; j < p->shown; j++) {
    int ox = (int)(j % (size_t)p->per_row) * p->cell_w, oy = (int)(j / (size_t)p->per_row) * p->cell_h;
    const float *v;
    if (d->maps.f) v = s->f + j * s->cols;
    else if (p->c && p->step > 1)
      evr_fmaps_shrink(s->f + evr_fmaps_row(j, p->n, p->shown) * s->cols, p->c, p->h0, p->w0, p->step, cell), v = cell;
    else v = s->f + evr_fmaps_row(j, p->n, p->shown) * s->cols;
    for (size_t k = 0; k < p->cols; k++) {
      int cx, cy;
      place(p, k, &cx, &cy);
      float t = (v[k] - p->lo) / span * 255.0f;
      g[(size_t)(oy + cy) * (size_t)W + (size_t)(ox + cx)] = (unsigned char)lroundf(t < 0 ? 0 : t > 255 ? 255 : t);
    }
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", o->out_dir, EVR_FMAPS_FILE);
  int rc = evc_gray_png(path, g, W, H) ? 1 : 0;
  free(g);
  free(cell);
  return rc;
}

void evr_fmaps_js(FILE *f, const evr_data *d, const evr_fmaps *p) {
  if (p->layer < 0) {
    fputs("fmaps:null,\n", f);
    return;
  }
  fprintf(f, "fmaps:{file:\"%s\",layer:\"", EVR_FMAPS_FILE);
  for (const char *s = d->layer_name[p->layer]; *s; s++)
    if (*s == '"' || *s == '\\' || *s == '<') fprintf(f, "\\u%04x", (unsigned char)*s);
    else fputc(*s, f);
  fprintf(f, "\",c:%d,h:%d,w:%d,h0:%d,w0:%d,step:%d,grid:%d,cellW:%d,cellH:%d,perRow:%d,cols:%zu,lo:%.4g,hi:%.4g,"
          "n:%zu,shown:%zu,budget:%g},\n", p->c, p->h, p->w, p->h0, p->w0, p->step, p->grid, p->cell_w, p->cell_h,
          p->per_row, d->layer[p->layer].cols, (double)p->lo, (double)p->hi, p->n, p->shown, p->budget);
  /* which rows have a cell, when not all: the page finds a point's cell */
  fputs("fmapsRows:", f);
  if (p->shown >= p->n) {
    fputs("null,\n", f);
    return;
  }
  fputs("new Int32Array([", f);
  for (size_t j = 0; j < p->shown; j++) fprintf(f, "%s%zu", j ? "," : "", evr_fmaps_row(j, p->n, p->shown));
  fputs("]),\n", f);
}
