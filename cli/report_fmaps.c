/*
 * report_fmaps.c - the early layer's activations of every point of the
 * interactive map as one grey PNG, each point a cell of its C maps (or,
 * when the layer's shape is not known, its values row by row), all on one
 * scale (the layer's minimum black, maximum white). The page draws the
 * clicked point's cell in its side panel: no computation in the browser,
 * the page stays offline, and the file is about C x H x W bytes a point
 * before compression (the demo's pool1, 16 x 14 x 14: 31 MB raw for
 * 10,000 points, a fraction of that as PNG).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_fmaps.h"

/* C x H x W from a .npy file's header when its shape is (n, C, H, W). */
static void npy_shape(const char *dir, const char *layer, size_t cols, evr_fmaps *p) {
  char path[4096], head[1024];
  snprintf(path, sizeof path, "%s/test_%s.npy", dir, layer);
  FILE *f = fopen(path, "rb");
  if (!f) return;
  size_t got = fread(head, 1, sizeof head - 1, f);
  fclose(f);
  head[got] = 0;
  for (size_t k = 0; k < got; k++)
    if (!head[k]) head[k] = ' ';
  const char *s = strstr(head, "'shape'");
  s = s ? strchr(s, '(') : NULL;
  if (!s) return;
  long v[5];
  int n = 0;
  while (n < 5) {
    char *end;
    long x = strtol(s + 1, &end, 10);
    if (end == s + 1) break;
    v[n++] = x;
    s = strchr(end, ',');
    if (!s) break;
  }
  if (n == 4 && v[1] > 0 && v[2] > 0 && v[3] > 0 && (size_t)(v[1] * v[2] * v[3]) == cols)
    p->c = (int)v[1], p->h = (int)v[2], p->w = (int)v[3];
}

void evr_fmaps_plan(const evr_options *o, const evr_data *d, evr_fmaps *p) {
  memset(p, 0, sizeof *p);
  p->layer = d->early;
  if (p->layer < 0) return;
  const evc_mat *x = &d->layer[p->layer];
  if (o->data_dir && !o->model) npy_shape(o->data_dir, d->layer_name[p->layer], x->cols, p);
  if (p->c) {
    p->grid = (int)ceil(sqrt((double)p->c));
    p->cell_w = p->grid * p->w;
    p->cell_h = (p->c + p->grid - 1) / p->grid * p->h;
  } else {   /* the values row by row, in a near-square block */
    p->grid = 0;
    p->cell_w = (int)ceil(sqrt((double)x->cols));
    p->cell_h = (int)((x->cols + (size_t)p->cell_w - 1) / (size_t)p->cell_w);
  }
  p->per_row = EVR_FMAPS_WIDTH / p->cell_w;
  if (p->per_row < 1) p->per_row = 1;
  p->lo = p->hi = x->f[0];
  for (size_t k = 0; k < x->rows * x->cols; k++) {
    p->lo = x->f[k] < p->lo ? x->f[k] : p->lo;
    p->hi = x->f[k] > p->hi ? x->f[k] : p->hi;
  }
}

/* Value k of a row: where it goes in the cell. */
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
  const evc_mat *x = &d->layer[p->layer];
  size_t n = x->rows, rows = (n + (size_t)p->per_row - 1) / (size_t)p->per_row;
  int W = p->per_row * p->cell_w, H = (int)rows * p->cell_h;
  unsigned char *g = calloc((size_t)W * (size_t)H, 1);
  if (!g) return evc_err("out of memory for the feature maps (%d x %d pixels)", W, H);
  float span = p->hi > p->lo ? p->hi - p->lo : 1;
  for (size_t i = 0; i < n; i++) {
    int ox = (int)(i % (size_t)p->per_row) * p->cell_w, oy = (int)(i / (size_t)p->per_row) * p->cell_h;
    for (size_t k = 0; k < x->cols; k++) {
      int cx, cy;
      place(p, k, &cx, &cy);
      float v = (x->f[i * x->cols + k] - p->lo) / span * 255.0f;
      g[(size_t)(oy + cy) * (size_t)W + (size_t)(ox + cx)] = (unsigned char)lroundf(v < 0 ? 0 : v > 255 ? 255 : v);
    }
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", o->out_dir, EVR_FMAPS_FILE);
  int rc = evc_gray_png(path, g, W, H) ? 1 : 0;
  free(g);
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
  fprintf(f, "\",c:%d,h:%d,w:%d,grid:%d,cellW:%d,cellH:%d,perRow:%d,cols:%zu,lo:%.4g,hi:%.4g},\n", p->c, p->h, p->w,
          p->grid, p->cell_w, p->cell_h, p->per_row, d->layer[p->layer].cols, (double)p->lo, (double)p->hi);
}
