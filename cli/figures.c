/*
 * figures.c - the report's pictures, drawn on the canvas of plot_png.c.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plot.h"

static const unsigned char BLACK[3] = {0, 0, 0}, GREY[3] = {120, 120, 120}, LIGHT[3] = {225, 225, 225};

static void class_name(const evc_labels *lab, int c, char *buf, size_t len) {
  if (lab && lab->names) snprintf(buf, len, "%s", lab->names[c]);
  else snprintf(buf, len, "class %d", c);
}

int evc_check_points(const char *what, const float *xy, size_t n, size_t ld) {
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < 2; k++)
      if (!isfinite(xy[i * ld + k]))
        return evc_err("%s: point %zu has %s coordinate %g: a map needs finite numbers (remove or fix that row)",
                       what, i, k ? "y" : "x", (double)xy[i * ld + k]);
  return 0;
}

/* Bounding box of n points, padded by 4% so no dot touches the frame. -1
 * (message printed) for NaN/Inf or a spread beyond the float range, which
 * would put every dot off the picture. */
static int bounds(const float *xy, size_t n, size_t ld, float b[4]) {
  if (evc_check_points("the map", xy, n, ld)) return -1;
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (size_t i = 0; i < n; i++)
    for (int k = 0; k < 2; k++) {
      double v = xy[i * ld + k];
      lo[k] = v < lo[k] ? v : lo[k];
      hi[k] = v > hi[k] ? v : hi[k];
    }
  for (int k = 0; k < 2; k++) {
    double pad = (hi[k] - lo[k]) * 0.04 + 1e-6 * (1 + fabs(lo[k]) + fabs(hi[k]));
    if (!((hi[k] - lo[k]) + 2 * pad <= FLT_MAX / 4))
      return evc_err("the map's %s coordinates span %g to %g, too wide to draw: scale the map down", k ? "y" : "x",
                     lo[k], hi[k]), -1;
    b[2 * k] = (float)(lo[k] - pad);
    b[2 * k + 1] = (float)(hi[k] + pad);
  }
  return 0;
}

typedef struct frame { int x0, y0, w, h; float b[4]; int equal; } frame;

/* Map data to pixels; y grows upwards. With equal, one scale for both axes
 * (maps keep their shape). */
static void to_px(const frame *f, float x, float y, float *px, float *py) {
  float sx = f->w / (f->b[1] - f->b[0]), sy = f->h / (f->b[3] - f->b[2]);
  if (f->equal) sx = sy = fminf(sx, sy);
  float cx = (f->b[0] + f->b[1]) / 2, cy = (f->b[2] + f->b[3]) / 2;
  *px = f->x0 + f->w / 2.0f + (x - cx) * sx;
  *py = f->y0 + f->h / 2.0f - (y - cy) * sy;
}

/* The data ranges a frame shows (with equal, the wider one than b). */
static void frame_range(const frame *f, evc_axis *x, evc_axis *y) {
  double sx = f->w / ((double)f->b[1] - f->b[0]), sy = f->h / ((double)f->b[3] - f->b[2]);
  if (f->equal) sx = sy = fmin(sx, sy);
  double cx = ((double)f->b[0] + f->b[1]) / 2, cy = ((double)f->b[2] + f->b[3]) / 2;
  x->lo = cx - f->w / 2.0 / sx, x->hi = cx + f->w / 2.0 / sx;
  y->lo = cy - f->h / 2.0 / sy, y->hi = cy + f->h / 2.0 / sy;
}

int evc_ticks(double lo, double hi, int max_ticks, int integer, double *t, int *decimals) {
  *decimals = 0;
  if (!(hi > lo) || !isfinite(hi - lo) || max_ticks < 2) return 0;
  static const double m[3] = {1, 2, 5};
  double step = 0;
  for (int e = (int)floor(log10((hi - lo) / max_ticks)) - 1; !step; e++)
    for (int k = 0; k < 3 && !step; k++) {
      double s = m[k] * pow(10, e);
      if (integer && s < 1) continue;
      if (floor(hi / s + 1e-9) - ceil(lo / s - 1e-9) + 1 <= max_ticks) step = s;
    }
  int n = 0;
  for (double k = ceil(lo / step - 1e-9); k <= floor(hi / step + 1e-9) && n < max_ticks; k++) {
    double v = k * step;
    t[n++] = fabs(v) < step * 1e-9 ? 0 : v;   /* no "-0" */
  }
  *decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
  return n;
}

static void tick_text(double v, int decimals, int percent, char *buf, size_t len) {
  if (percent) {
    decimals = decimals > 2 ? decimals - 2 : 0;
    snprintf(buf, len, "%.*f%%", decimals, 100 * v);
  } else if (fabs(v) >= 1e6) {
    snprintf(buf, len, "%.3g", v);
  } else {
    snprintf(buf, len, "%.*f", decimals, v);
  }
}

void evc_pc_label(int pc, const float *ratio, size_t k, char *out, size_t len) {
  if (ratio && pc >= 0 && (size_t)pc < k && isfinite(ratio[pc]))
    snprintf(out, len, "PC%d (%.1f %%)", pc + 1, 100.0 * ratio[pc]);
  else
    snprintf(out, len, "PC%d", pc + 1);
}

void evc_axes(evc_canvas *cv, int x0, int y0, int w, int h, const evc_axis *x, const evc_axis *y) {
  static const unsigned char INK[3] = {50, 50, 50}, GRID[3] = {230, 230, 230};
  double t[32];
  int dec, widest = 0;
  char buf[48];
  int nt = evc_ticks(x->lo, x->hi, w / 55 + 2 < 16 ? w / 55 + 2 : 16, x->integer, t, &dec);
  for (int k = 0; k < nt; k++) {
    int px = x0 + (int)lround((t[k] - x->lo) / (x->hi - x->lo) * w);
    if (x->grid) evc_fill_rect(cv, px, y0, px + 1, y0 + h, GRID, 1);
    evc_fill_rect(cv, px, y0 + h, px + 1, y0 + h + 5, INK, 1);
    tick_text(t[k], dec, x->percent, buf, sizeof buf);
    evc_text(cv, px - evc_text_width(buf, 2) / 2, y0 + h + 9, buf, 2, INK);
  }
  nt = evc_ticks(y->lo, y->hi, h / 45 + 2 < 11 ? h / 45 + 2 : 11, y->integer, t, &dec);
  for (int k = 0; k < nt; k++) {
    int py = y0 + h - (int)lround((t[k] - y->lo) / (y->hi - y->lo) * h);
    if (y->grid) evc_fill_rect(cv, x0, py, x0 + w, py + 1, GRID, 1);
    evc_fill_rect(cv, x0 - 5, py, x0, py + 1, INK, 1);
    tick_text(t[k], dec, y->percent, buf, sizeof buf);
    int tw = evc_text_width(buf, 2);
    widest = tw > widest ? tw : widest;
    evc_text(cv, x0 - 8 - tw, py - 5, buf, 2, INK);
  }
  evc_fill_rect(cv, x0 - 1, y0 + h, x0 + w, y0 + h + 1, INK, 1);   /* bottom */
  evc_fill_rect(cv, x0 - 1, y0, x0, y0 + h + 1, INK, 1);           /* left */
  if (x->label) evc_text(cv, x0 + w / 2 - evc_text_width(x->label, 2) / 2, y0 + h + 30, x->label, 2, BLACK);
  if (y->label) {
    int lx = x0 - 8 - widest - 22;
    evc_text_up(cv, lx < 2 ? 2 : lx, y0 + h / 2 + evc_text_width(y->label, 2) / 2, y->label, 2, BLACK);
  }
}

/* A fixed pseudo-random drawing order, so no class is always on top. */
static size_t *draw_order(size_t n) {
  size_t *o = malloc(n * sizeof *o);
  if (!o) return NULL;
  for (size_t i = 0; i < n; i++) o[i] = i;
  uint64_t s = 0x2545F4914F6CDD1Dull;
  for (size_t i = n; i > 1; i--) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    size_t j = (size_t)(s % i), t = o[i - 1];
    o[i - 1] = o[j]; o[j] = t;
  }
  return o;
}

/* The palette of lab's classes: lab->palette, or one made into *own from
 * its n labels (free *own after). NULL when out of memory (message printed). */
static const evc_palette *palette_of(const evc_labels *lab, size_t n, evc_palette *own) {
  *own = (evc_palette){0};
  if (lab && lab->palette) return lab->palette;
  if (lab && lab->y && evc_palette_init(own, lab->y, n, lab->n_classes)) return NULL;
  return own;
}

/* A point's colour: its class's, or dark grey without labels. */
static void point_rgb(const evc_labels *lab, const evc_palette *pal, size_t i, unsigned char rgb[3]) {
  static const unsigned char NONE[3] = {60, 60, 60};
  if (lab && lab->y) evc_palette_rgb(pal, lab->y[i], rgb);
  else memcpy(rgb, NONE, 3);
}

static int is_other(const evc_labels *lab, const evc_palette *pal, size_t i) {
  return lab && lab->y && (lab->y[i] < 0 || lab->y[i] >= pal->n_classes || pal->slot[lab->y[i]] < 0);
}

/* What a legend lists: the coloured classes in class order, then -1 for
 * "other (N classes)" when some of those have points. Returns the count. */
static int legend_entries(const evc_labels *lab, const evc_palette *pal, int *cls) {
  int k = 0;
  if (!lab || !lab->y) return 0;
  for (int c = 0; c < pal->n_classes; c++)
    if (pal->slot[c] >= 0) cls[k++] = c;
  if (pal->n_other && pal->other_points) cls[k++] = -1;
  return k;
}

/* One legend entry: a disc of radius r at (x + r, y + 8), the name after it
 * at text_dx, shortened to max_w pixels. */
static void legend_entry(evc_canvas *cv, int x, int y, const evc_labels *lab, const evc_palette *pal, int c, float r,
                         int scale, int text_dx, int text_dy, int max_w) {
  char name[256], fitted[256];
  unsigned char rgb[3];
  if (c < 0) {
    memcpy(rgb, EVC_OTHER_RGB, 3);
    snprintf(name, sizeof name, "other (%d classes)", pal->n_other);
    if (evc_text_width(name, scale) > max_w) snprintf(name, sizeof name, "other (%d)", pal->n_other);
  } else {
    evc_palette_rgb(pal, c, rgb);
    class_name(lab, c, name, sizeof name);
  }
  evc_disc(cv, x + r, y + 8, r, rgb, 1);
  evc_text_fit(name, scale, max_w, fitted, sizeof fitted);
  evc_text(cv, x + text_dx, y + text_dy, fitted, scale, BLACK);
}

/* Entries in rows of 26 px from (x, y) down to the bottom edge, in as many
 * columns (side by side, to the right edge) as they need, and the ring of the
 * marked points, named mark_label (NULL: no marks), after them. */
static void legend(evc_canvas *cv, int x, int y, const evc_labels *lab, const evc_palette *pal,
                   const char *mark_label) {
  int with_mark = mark_label != NULL;
  int cls[EVC_PALETTE_SIZE + 1], entries = legend_entries(lab, pal, cls);
  int fit = (cv->h - y - 30 - (with_mark ? 26 : 0)) / 26;
  if (fit < 1) fit = 1;
  int cols = (entries + fit - 1) / fit, rows = cols > 1 ? (entries + cols - 1) / cols : entries;
  if (cols < 1) cols = 1;
  int col_w = (cv->w - x - 6) / cols;
  for (int k = 0; k < entries; k++)
    legend_entry(cv, x + (k / (rows ? rows : 1)) * col_w, y + 26 * (k % (rows ? rows : 1)), lab, pal, cls[k], 7, 2,
                 22, 2, col_w - 28);
  if (with_mark) {
    int yy = y + 26 * rows + 8;
    evc_ring(cv, x + 7, yy + 8, 7, 1.5f, BLACK);
    evc_text(cv, x + 22, yy + 2, mark_label, 2, BLACK);
  }
}

/* Dots of one map in a frame, in the fixed drawing order: "other" classes
 * first, so the coloured classes are on top. */
static int draw_points(evc_canvas *cv, const frame *f, const float *xy, size_t n, size_t ld, const evc_labels *lab,
                       const evc_palette *pal, float r, float alpha) {
  size_t *order = draw_order(n);
  if (!order) return evc_err("out of memory"), -1;
  for (int pass = 0; pass < 2; pass++)
    for (size_t k = 0; k < n; k++) {
      size_t i = order[k];
      if (is_other(lab, pal, i) != !pass) continue;
      unsigned char rgb[3];
      point_rgb(lab, pal, i, rgb);
      float px, py;
      to_px(f, xy[i * ld], xy[i * ld + 1], &px, &py);
      evc_disc(cv, px, py, r, rgb, alpha);
    }
  free(order);
  return 0;
}

/* The plot area of the 900 x 700 scatter and biplot pictures (tests/python
 * test_cli_figures_classes.py map_pixel uses it). */
#define MAP_FRAME {76, 50, 604, 576, {0}, 1}

static int scatter(evc_canvas *cv, const float *xy, size_t n, size_t ld, const evc_labels *lab, const evc_palette *pal,
                   const unsigned char *mark, const char *mark_label, const char *title, const char *xlabel,
                   const char *ylabel) {
  frame f = MAP_FRAME;
  if (bounds(xy, n, ld, f.b)) return -1;
  if (title) evc_text(cv, 20, 14, title, 3, BLACK);
  evc_axis ax = {.label = xlabel}, ay = {.label = ylabel};
  frame_range(&f, &ax, &ay);
  evc_axes(cv, f.x0, f.y0, f.w, f.h, &ax, &ay);
  float r = n > 20000 ? 1.6f : n > 5000 ? 2.2f : 3.0f;
  if (!mark) {
    if (draw_points(cv, &f, xy, n, ld, lab, pal, r, 0.85f)) return -1;
  } else {
    /* The marked points are the message: the others are drawn faint, the
     * marked ones on top in their class colour with a thin dark ring, so a
     * crowded map still shows where they are and what they were. */
    for (int pass = 0; pass < 2; pass++)
      for (size_t i = 0; i < n; i++) {
        if (!mark[i] != !pass) continue;
        unsigned char rgb[3];
        point_rgb(lab, pal, i, rgb);
        float px, py;
        to_px(&f, xy[i * ld], xy[i * ld + 1], &px, &py);
        evc_disc(cv, px, py, r, rgb, pass ? 1.0f : 0.25f);
        if (pass) evc_ring(cv, px, py, r + 1.5f, 1.0f, BLACK);
      }
  }
  legend(cv, 700, 60, lab, pal, mark ? mark_label : NULL);
  return 0;
}

int evc_fig_scatter(const char *path, const float *xy, size_t n, size_t ld, const evc_labels *lab,
                    const unsigned char *mark, const char *title) {
  return evc_fig_scatter_marked(path, xy, n, ld, lab, mark, "misclassified", title);
}

int evc_fig_scatter_marked(const char *path, const float *xy, size_t n, size_t ld, const evc_labels *lab,
                           const unsigned char *mark, const char *mark_label, const char *title) {
  return evc_fig_scatter_axes(path, xy, n, ld, lab, mark, mark_label, title, NULL, NULL);
}

int evc_fig_scatter_axes(const char *path, const float *xy, size_t n, size_t ld, const evc_labels *lab,
                         const unsigned char *mark, const char *mark_label, const char *title, const char *xlabel,
                         const char *ylabel) {
  evc_palette own;
  const evc_palette *pal = palette_of(lab, n, &own);
  evc_canvas cv = {0};
  int rc = !pal || evc_canvas_init(&cv, 900, 700) ||
           scatter(&cv, xy, n, ld, lab, pal, mark, mark_label, title, xlabel, ylabel) || evc_canvas_png(&cv, path)
               ? -1 : 0;
  evc_canvas_free(&cv);
  evc_palette_free(&own);
  return rc;
}

/* The legend below the maps: as many columns as the widest name allows in
 * width w (at most the entries, at least 1), rows of 34 px. */
static int below_columns(const evc_labels *lab, const evc_palette *pal, int w, int *col_w) {
  int cls[EVC_PALETTE_SIZE + 1], entries = legend_entries(lab, pal, cls), widest = 0;
  char name[256];
  for (int k = 0; k < entries; k++) {
    if (cls[k] < 0) snprintf(name, sizeof name, "other (%d classes)", pal->n_other);
    else class_name(lab, cls[k], name, sizeof name);
    int tw = evc_text_width(name, 3);
    widest = tw > widest ? tw : widest;
  }
  int cols = w / (widest + 56);
  cols = cols < 1 ? 1 : cols > entries ? (entries ? entries : 1) : cols;
  if (entries > 0) {   /* balanced: the fewest columns for the rows needed */
    int rows = (entries + cols - 1) / cols;
    cols = (entries + rows - 1) / rows;
  }
  *col_w = w / cols;
  return cols;
}

static void legend_below(evc_canvas *cv, int x0, int y0, int w, const evc_labels *lab, const evc_palette *pal) {
  int cls[EVC_PALETTE_SIZE + 1], entries = legend_entries(lab, pal, cls), col_w;
  int cols = below_columns(lab, pal, w, &col_w);
  for (int k = 0; k < entries; k++)
    legend_entry(cv, x0 + (k % cols) * col_w, y0 + 34 * (k / cols), lab, pal, cls[k], 8, 3, 24, 1, col_w - 32);
}

int evc_fig_maps_row(const char *path, const float *const *xy, const size_t *ld, size_t n, int count,
                     const char *const *titles, const evc_labels *lab) {
  evc_palette own;
  const evc_palette *pal = palette_of(lab, n, &own);
  if (!pal) return -1;
  int cls[EVC_PALETTE_SIZE + 1], entries = legend_entries(lab, pal, cls), col_w;
  int panel = 520, gap = 16, width = count * panel + (count + 1) * gap;
  int cols = below_columns(lab, pal, width - 2 * gap, &col_w);
  int legend_h = entries ? 34 * ((entries + cols - 1) / cols) + 24 : 0;
  evc_canvas cv;
  if (evc_canvas_init(&cv, width, panel + 50 + legend_h)) {
    evc_palette_free(&own);
    return -1;
  }
  int rc = 0;
  for (int m = 0; m < count && !rc; m++) {
    int x0 = gap + m * (panel + gap);
    frame f = {x0, 50, panel, panel, {0}, 1};
    if (bounds(xy[m], n, ld[m], f.b)) { rc = -1; break; }
    evc_rect_outline(&cv, x0, 50, x0 + panel, 50 + panel, 1, LIGHT);
    if (titles) evc_text(&cv, x0 + 6, 14, titles[m], 3, BLACK);
    rc = draw_points(&cv, &f, xy[m], n, ld[m], lab, pal, n > 5000 ? 1.6f : 2.2f, 0.85f);
  }
  if (!rc) {
    legend_below(&cv, gap, panel + 72, cv.w - 2 * gap, lab, pal);
    rc = evc_canvas_png(&cv, path);
  }
  evc_canvas_free(&cv);
  evc_palette_free(&own);
  return rc;
}

int evc_thumbs_alloc(evc_thumbs *t, size_t n, int side) {
  memset(t, 0, sizeof *t);
  t->side = side;
  t->n = n;
  t->px = malloc((n ? n : 1) * (size_t)side * (size_t)side * 3);
  t->w = malloc((n ? n : 1) * sizeof *t->w);
  t->h = malloc((n ? n : 1) * sizeof *t->h);
  if (!t->px || !t->w || !t->h) {
    evc_thumbs_free(t);
    return evc_err("out of memory for %zu thumbnails of %d x %d", n, side, side), -1;
  }
  memset(t->px, 255, n * (size_t)side * (size_t)side * 3);
  for (size_t i = 0; i < n; i++) t->w[i] = t->h[i] = (uint16_t)side;
  return 0;
}

void evc_thumbs_free(evc_thumbs *t) {
  free(t->px);
  free(t->w);
  free(t->h);
  memset(t, 0, sizeof *t);
}

void evc_thumbs_put(evc_thumbs *t, size_t i, const unsigned char *rgb, int w, int h) {
  size_t s = (size_t)t->side;
  unsigned char *sq = t->px + i * s * s * 3;
  memset(sq, 255, s * s * 3);
  int x0 = (t->side - w) / 2, y0 = (t->side - h) / 2;
  for (int y = 0; y < h; y++) memcpy(sq + ((size_t)(y0 + y) * s + (size_t)x0) * 3, rgb + (size_t)y * (size_t)w * 3, (size_t)w * 3);
  t->w[i] = (uint16_t)w;
  t->h[i] = (uint16_t)h;
}

void evc_thumbs_put_grey(evc_thumbs *t, size_t i, const float *img, float vmax) {
  size_t s = (size_t)t->side;
  unsigned char *sq = t->px + i * s * s * 3;
  for (size_t k = 0; k < s * s; k++) {
    float v = img[k] / vmax;
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    sq[3 * k] = sq[3 * k + 1] = sq[3 * k + 2] = (unsigned char)(255 - 255 * v + 0.5f);
  }
  t->w[i] = t->h[i] = (uint16_t)t->side;
}

int evc_fig_image_map(const char *path, const float *xy, size_t n, size_t ld, const evc_thumbs *t,
                      const evc_labels *lab, int canvas_px) {
  int cell = t->side + 4, cells = canvas_px / cell;
  evc_palette own;
  const evc_palette *pal = palette_of(lab, n, &own);
  if (!pal) return -1;
  evc_canvas cv;
  if (evc_canvas_init(&cv, cells * cell, cells * cell)) { evc_palette_free(&own); return -1; }
  unsigned char *taken = calloc((size_t)cells * (size_t)cells, 1);
  if (!taken) { evc_palette_free(&own); evc_canvas_free(&cv); return evc_err("out of memory"), -1; }
  frame f = {0, 0, cells * cell - 1, cells * cell - 1, {0}, 1};
  if (bounds(xy, n, ld, f.b)) { evc_palette_free(&own); free(taken); evc_canvas_free(&cv); return -1; }
  for (size_t i = 0; i < n; i++) {
    float px, py;
    to_px(&f, xy[i * ld], xy[i * ld + 1], &px, &py);
    int cx = (int)(px / cell), cy = (int)(py / cell);
    if (cx < 0 || cy < 0 || cx >= cells || cy >= cells || taken[cy * cells + cx]) continue;
    taken[cy * cells + cx] = 1;
    unsigned char rgb[3];
    point_rgb(lab, pal, i, rgb);
    evc_blit_thumb(&cv, cx * cell, cy * cell, t, i, 1, 2, rgb);
  }
  evc_palette_free(&own);
  free(taken);
  int rc = evc_canvas_png(&cv, path);
  evc_canvas_free(&cv);
  return rc;
}

int evc_fig_thumb_rows(const char *path, const evc_thumbs *t, const int64_t *idx, int rows, int cols,
                       const int64_t *labels, const evc_palette *pal, const char *title) {
  /* small (grey 28 px) thumbnails twice their size, photos 1:1 */
  int zoom = t->side < 48 ? 2 : 1, cell = t->side * zoom + 8, top = title ? 40 : 6, gap = 16;
  evc_canvas cv;
  if (evc_canvas_init(&cv, cols * cell + gap + 8, top + rows * cell + 6)) return -1;
  if (title) {   /* shortened in the middle to the picture's width */
    char fitted[512];
    evc_text_fit(title, 2, cv.w - 16, fitted, sizeof fitted);
    evc_text(&cv, 8, 10, fitted, 2, BLACK);
  }
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++) {
      int64_t i = idx[(size_t)r * cols + c];
      if (i < 0) continue;
      unsigned char rgb[3] = {60, 60, 60};
      if (labels) evc_palette_rgb(pal, labels[(size_t)r * cols + c], rgb);
      int x = 4 + c * cell + (c > 0 ? gap : 0);
      evc_blit_thumb(&cv, x, top + r * cell, t, (size_t)i, zoom, 3, rgb);
    }
  int rc = evc_canvas_png(&cv, path);
  evc_canvas_free(&cv);
  return rc;
}

int evc_fig_thumb(const char *path, const evc_thumbs *t, size_t i, int zoom) {
  evc_canvas cv;
  int w = t->w[i], h = t->h[i];
  if (evc_canvas_init(&cv, w * zoom, h * zoom)) return -1;
  cv.raster = 1;   /* a pixel picture: PNG only */
  /* the square's picture lands at the canvas' origin */
  evc_blit_thumb(&cv, -(t->side - w) / 2 * zoom, -(t->side - h) / 2 * zoom, t, i, zoom, 0, NULL);
  int rc = evc_canvas_png(&cv, path);
  evc_canvas_free(&cv);
  return rc;
}

const char *evc_sprite_name(const evc_thumbs *t) { return t->grey ? "sprite.png" : "sprite.jpg"; }

int evc_fig_sprite(const char *path, const evc_thumbs *t, int per_row) {
  /* Grey: one channel, a third of the bytes of RGB for thousands of images. */
  size_t s = (size_t)t->side, rows = (t->n + (size_t)per_row - 1) / (size_t)per_row, w = (size_t)per_row * s;
  int ch = t->grey ? 1 : 3;
  if (rows == 0) rows = 1;
  unsigned char *g = malloc(w * rows * s * (size_t)ch);
  if (!g) return evc_err("out of memory"), -1;
  memset(g, 255, w * rows * s * (size_t)ch);
  for (size_t i = 0; i < t->n; i++)
    for (size_t r = 0; r < s; r++)
      for (size_t c = 0; c < s; c++) {
        const unsigned char *p = t->px + ((i * s + r) * s + c) * 3;
        size_t y = (i / (size_t)per_row) * s + r, x = (i % (size_t)per_row) * s + c;
        memcpy(g + (y * w + x) * (size_t)ch, p, (size_t)ch);
      }
  int rc = t->grey ? evc_gray_png(path, g, (int)w, (int)(rows * s)) : evc_rgb_jpg(path, g, (int)w, (int)(rows * s), 88);
  free(g);
  return rc;
}

/* Blues ramp for counts, white at 0: readable for every colour vision. */
static void ramp(float t, unsigned char rgb[3]) {
  static const float lo[3] = {247, 251, 255}, hi[3] = {8, 48, 107};
  for (int k = 0; k < 3; k++) rgb[k] = (unsigned char)(lo[k] + t * (hi[k] - lo[k]));
}

/* Where the parts of a confusion picture go: cells of `cell` pixels from
 * (left, top); row names every `step` rows and turned column names every
 * `step` columns, shortened to LABEL_MAX pixels. */
#define LABEL_MAX 260
typedef struct cm_layout { int c, cell, step, left, top, acc_x, bar_x, bar_h, w, h, numbers; } cm_layout;
/* numbers: 0 (none), or the scale of the numbers in the cells */

static void cm_label(const char *const *names, int r, char *buf, size_t len) {
  char full[256];
  if (names) snprintf(full, sizeof full, "%s", names[r]);
  else snprintf(full, sizeof full, "class %d", r);
  evc_text_fit(full, 2, LABEL_MAX, buf, len);
}

static cm_layout cm_place(int c, const char *const *names, const int64_t *counts, int rows_normalised) {
  cm_layout L = {.c = c};
  L.cell = 2100 / c;
  L.cell = L.cell > 52 ? 52 : L.cell < 2 ? 2 : L.cell;
  /* labels 14 px high with descenders, 4 px apart, on every 1st, 2nd, 5th,
   * 10th, 20th... class */
  static const int nice[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};
  for (int k = 0; k < (int)(sizeof nice / sizeof *nice) && !L.step; k++)
    if (nice[k] * L.cell >= 18 || nice[k] == 1000) L.step = nice[k];
  int widest = 0;
  char buf[256];
  for (int r = 0; r < c; r += L.step) {
    cm_label(names, r, buf, sizeof buf);
    int w = evc_text_width(buf, 2);
    widest = w > widest ? w : widest;
  }
  int grid = c * L.cell;
  L.left = 16 + widest + 10;
  L.top = 50 + (widest > evc_text_width("accuracy", 2) ? widest : evc_text_width("accuracy", 2)) + 10;
  L.acc_x = L.left + grid + 10;
  L.bar_x = L.acc_x + 70;
  L.bar_h = grid > 400 ? 400 : grid < 160 ? 160 : grid;
  int64_t max = 1;
  for (int k = 0; k < c * c; k++) max = counts[k] > max ? counts[k] : max;
  snprintf(buf, sizeof buf, rows_normalised ? "100%%" : "%lld", (long long)max);
  L.w = L.bar_x + 18 + 8 + evc_text_width(buf, 2) + 16;
  L.h = L.top + (grid > L.bar_h ? grid : L.bar_h) + 30;
  /* numbers in the cells, all at one scale, when the widest fits */
  snprintf(buf, sizeof buf, "%lld", rows_normalised ? 100LL : (long long)max);
  L.numbers = L.cell >= 20 && evc_text_width(buf, 2) <= L.cell - 4 ? 2 : L.cell >= 14 && evc_text_width(buf, 1) <= L.cell - 4;
  return L;
}

/* The colour scale: the ramp from 0 (bottom) to the largest value (top),
 * with ticks at 0, 1/16, 1/4, 9/16 and 1 of it (the ramp is by square root). */
static void cm_colour_bar(evc_canvas *cv, const cm_layout *L, int64_t max, int rows_normalised) {
  int x = L->bar_x, y0 = L->top, h = L->bar_h;
  for (int k = 0; k < h; k++) {
    unsigned char rgb[3];
    ramp(1 - (float)k / (float)(h - 1), rgb);
    evc_fill_rect(cv, x, y0 + k, x + 18, y0 + k + 1, rgb, 1);
  }
  evc_rect_outline(cv, x - 1, y0 - 1, x + 19, y0 + h + 1, 1, GREY);
  evc_text(cv, x - 10, y0 - 30, rows_normalised ? "% of row" : "count", 2, BLACK);
  for (int q = 0; q <= 4; q++) {
    float t = q / 4.0f;
    char buf[32];
    int ty = y0 + (int)((1 - t) * (h - 1));
    if (rows_normalised) snprintf(buf, sizeof buf, "%.0f%%", 100.0 * t * t);
    else snprintf(buf, sizeof buf, "%.0f", (double)max * t * t);
    evc_fill_rect(cv, x + 18, ty, x + 23, ty + 1, BLACK, 1);
    evc_text(cv, x + 26, ty - 6, buf, 2, BLACK);
  }
}

/* The share of row r in column q, or the count over the largest count. */
static float cm_value(const int64_t *counts, int c, int r, int q, const int64_t *row_total, int64_t max) {
  int64_t v = counts[(size_t)r * c + q];
  if (row_total) return row_total[r] ? (float)((double)v / (double)row_total[r]) : 0;
  return (float)((double)v / (double)max);
}

/* Cells as rectangles, or, beyond 200 classes (40,000 cells and more), as
 * one picture of the grid at 1:1, so a vector file stays small. */
static int cm_cells(evc_canvas *cv, const cm_layout *L, const int64_t *counts, const int64_t *row_total, int64_t max) {
  int c = L->c, cell = L->cell, gap = cell > 4, grid = c * cell;
  char buf[32];
  unsigned char *img = NULL;
  if (c > 200) {
    if (!(img = malloc((size_t)grid * (size_t)grid * 3))) return evc_err("out of memory"), -1;
    memset(img, 255, (size_t)grid * (size_t)grid * 3);
  }
  for (int r = 0; r < c; r++)
    for (int q = 0; q < c; q++) {
      float v = cm_value(counts, c, r, q, row_total, max), t = sqrtf(v);
      unsigned char rgb[3];
      ramp(t, rgb);
      int x = L->left + q * cell, y = L->top + r * cell;
      if (img) {
        for (int yy = 0; yy < cell - gap; yy++)
          for (int xx = 0; xx < cell - gap; xx++)
            memcpy(img + ((size_t)(r * cell + yy) * (size_t)grid + (size_t)(q * cell + xx)) * 3, rgb, 3);
        continue;
      }
      evc_fill_rect(cv, x, y, x + cell - gap, y + cell - gap, rgb, 1);
      /* zeros are left out of small cells: the ones that are not stand out */
      if (!L->numbers || (cell < 40 && !counts[(size_t)r * c + q])) continue;
      if (row_total) snprintf(buf, sizeof buf, v > 0 && v < 0.005f ? "<1" : "%.0f", 100.0 * v);
      else snprintf(buf, sizeof buf, "%lld", (long long)counts[(size_t)r * c + q]);
      const unsigned char *ink = t > 0.5f ? (const unsigned char[3]){255, 255, 255} : BLACK;
      int scale = L->numbers;
      evc_text(cv, x + cell / 2 - evc_text_width(buf, scale) / 2, y + cell / 2 - 3 * scale, buf, scale, ink);
    }
  if (img) evc_blit_rgb(cv, (float)L->left, (float)L->top, img, grid, grid, (size_t)grid * 3, 1);
  free(img);
  return 0;
}

static void cm_labels(evc_canvas *cv, const cm_layout *L, const char *const *names, const float *accuracy) {
  char buf[256];
  for (int r = 0; r < L->c; r += L->step) {
    int mid = L->top + r * L->cell + L->cell / 2;
    cm_label(names, r, buf, sizeof buf);
    evc_text(cv, L->left - 10 - evc_text_width(buf, 2), mid - 6, buf, 2, BLACK);
    /* the same name turned, above column r, read upwards */
    evc_text_up(cv, L->left + r * L->cell + L->cell / 2 - 6, L->top - 10, buf, 2, BLACK);
    if (L->step > 1) {   /* ticks: which row and column a label names */
      evc_fill_rect(cv, L->left - 6, mid, L->left - 1, mid + 1, BLACK, 1);
      int cx = L->left + r * L->cell + L->cell / 2;
      evc_fill_rect(cv, cx, L->top - 6, cx + 1, L->top - 1, BLACK, 1);
    }
    if (!accuracy) continue;
    if (isfinite(accuracy[r])) snprintf(buf, sizeof buf, "%.0f%%", 100 * accuracy[r]);
    else snprintf(buf, sizeof buf, "-");
    evc_text(cv, L->acc_x, mid - 6, buf, 2, BLACK);
  }
  if (accuracy) evc_text_up(cv, L->acc_x + 4, L->top - 10, "accuracy", 2, GREY);
}

/* The picture stays under about 2,700 x 2,500 pixels whatever the class
 * count: cells shrink (52 px for up to 40 classes, at least 2 px), numbers
 * are written only in cells wide enough for them, names are shortened to
 * 260 px and thinned to every k-th class when cells are smaller than a
 * line of text. */
int evc_fig_confusion_ex(const char *path, const int64_t *counts, int c, const char *const *names,
                         const float *accuracy, int rows_normalised) {
  if (c < 1 || c > EVC_MAX_CONFUSION_CLASSES)
    return evc_err("a confusion picture shows 1 to %d classes, got %d: plot a subset of the classes",
                   EVC_MAX_CONFUSION_CLASSES, c), -1;
  for (int k = 0; k < c * c; k++)
    if (counts[k] < 0)
      return evc_err("count %lld in row %d, column %d is negative: a confusion matrix holds counts",
                     (long long)counts[k], k / c, k % c), -1;
  int64_t max = 1, *row_total = NULL;
  for (int k = 0; k < c * c; k++) max = counts[k] > max ? counts[k] : max;
  if (rows_normalised) {
    if (!(row_total = calloc((size_t)c, sizeof *row_total))) return evc_err("out of memory"), -1;
    for (int k = 0; k < c * c; k++) row_total[k / c] += counts[k];
  }
  cm_layout L = cm_place(c, names, counts, rows_normalised);
  evc_canvas cv;
  if (evc_canvas_init(&cv, L.w, L.h)) { free(row_total); return -1; }
  evc_text(&cv, 16, 14, rows_normalised ? "Confusion matrix, each row in % of its true class (columns: predicted)"
                                        : "Confusion matrix (rows: true class, columns: predicted)", 2, BLACK);
  if (cm_cells(&cv, &L, counts, row_total, max)) { free(row_total); evc_canvas_free(&cv); return -1; }
  cm_labels(&cv, &L, names, accuracy);
  cm_colour_bar(&cv, &L, max, rows_normalised);
  free(row_total);
  int rc = evc_canvas_png(&cv, path);
  evc_canvas_free(&cv);
  return rc;
}

int evc_fig_confusion(const char *path, const int64_t *counts, int c, const char *const *names,
                      const float *accuracy) {
  return evc_fig_confusion_ex(path, counts, c, names, accuracy, 0);
}

int evc_fig_scree(const char *path, const float *ratio, size_t k, const char *title) {
  size_t shown = k < 40 ? k : 40;
  if (k == 0) return evc_err("a scree plot needs at least one explained variance ratio"), -1;
  for (size_t i = 0; i < k; i++)
    if (!(ratio[i] >= 0 && ratio[i] <= 1))
      return evc_err("explained variance ratio %g at position %zu is not in [0, 1]: give ratios such as "
                     "pca --save-variance writes", (double)ratio[i], i), -1;
  int x0 = 90, y0 = 60, w = 710, h = 380;
  evc_canvas cv;
  if (evc_canvas_init(&cv, x0 + w + 40, y0 + h + 70)) return -1;
  if (title) {   /* shortened to end before the legend, top right */
    char fitted[512];
    int room = x0 + w - (22 + evc_text_width("explained variance", 2) + 24 + 22 + evc_text_width("cumulative", 2));
    evc_text_fit(title, 3, room - 20 - 16, fitted, sizeof fitted);
    evc_text(&cv, 20, 14, fitted, 3, BLACK);
  }
  evc_axis ax = {0.5, shown + 0.5, "principal component", 0, 0, 1}, ay = {0, 1, "share of the variance", 1, 1, 0};
  evc_axes(&cv, x0, y0, w, h, &ax, &ay);
  float bw = (float)w / (float)shown, cum = 0;
  unsigned char bar[3], line[3];
  evc_class_rgb(4, bar);
  evc_class_rgb(1, line);
  for (size_t i = 0; i < shown; i++) {
    int xa = x0 + (int)(i * bw) + (bw > 6 ? 2 : 0), xb = x0 + (int)((i + 1) * bw) - (bw > 6 ? 2 : 0);
    evc_fill_rect(&cv, xa, y0 + h - (int)lroundf(h * ratio[i]), xb, y0 + h, bar, 1);
  }
  /* the cumulative curve over the bars, its points on the bars' centres */
  float curve[2 * 40];
  for (size_t i = 0; i < shown; i++) {
    cum += ratio[i];
    curve[2 * i] = x0 + (i + 0.5f) * bw;
    curve[2 * i + 1] = y0 + h - h * fminf(cum, 1);
  }
  evc_polyline(&cv, curve, (int)shown, 2, line);
  cum = 0;
  for (size_t i = 0; i < shown; i++) {
    cum += ratio[i];
    evc_disc(&cv, x0 + (i + 0.5f) * bw, y0 + h - h * fminf(cum, 1), 3.5f, line, 1);
  }
  /* the legend in one line above the plot area, at its right end: never
   * over the bars or the curve */
  int w1 = evc_text_width("explained variance", 2), w2 = evc_text_width("cumulative", 2);
  int lx = x0 + w - (22 + w1 + 24 + 22 + w2), ly = y0 - 26;
  evc_fill_rect(&cv, lx, ly + 1, lx + 14, ly + 15, bar, 1);
  evc_text(&cv, lx + 22, ly + 3, "explained variance", 2, BLACK);
  lx += 22 + w1 + 24;
  evc_line(&cv, lx, ly + 8, lx + 14, ly + 8, 2, line);
  evc_disc(&cv, lx + 7, ly + 8, 3.5f, line, 1);
  evc_text(&cv, lx + 22, ly + 3, "cumulative", 2, BLACK);
  int rc = evc_canvas_png(&cv, path);
  evc_canvas_free(&cv);
  return rc;
}

/* The n_arrows features with the largest loading length sqrt(c1^2 + c2^2). */
static void strongest(const float *comp, size_t d, size_t ldc, int n_arrows, size_t *best) {
  for (int a = 0; a < n_arrows; a++) best[a] = SIZE_MAX;
  for (size_t j = 0; j < d; j++) {
    float len = hypotf(comp[j], comp[ldc + j]);
    for (int a = 0; a < n_arrows; a++) {
      if (best[a] == SIZE_MAX || len > hypotf(comp[best[a]], comp[ldc + best[a]])) {
        memmove(best + a + 1, best + a, (size_t)(n_arrows - a - 1) * sizeof *best);
        best[a] = j;
        break;
      }
    }
  }
}

int evc_fig_biplot(const char *path, const float *scores, size_t n, size_t ld, const evc_labels *lab,
                   const float *comp, size_t d, size_t ldc, int n_arrows, const char *title) {
  return evc_fig_biplot_ex(path, scores, n, ld, lab, comp, d, ldc, n_arrows, title, NULL, 0);
}

int evc_fig_biplot_ex(const char *path, const float *scores, size_t n, size_t ld, const evc_labels *lab,
                      const float *comp, size_t d, size_t ldc, int n_arrows, const char *title, const float *ratio,
                      size_t k) {
  char xl[64], yl[64];
  evc_pc_label(0, ratio, k, xl, sizeof xl);
  evc_pc_label(1, ratio, k, yl, sizeof yl);
  return evc_fig_arrows(path, scores, n, ld, lab, comp, d, ldc, n_arrows, title, xl, yl);
}

int evc_fig_arrows(const char *path, const float *scores, size_t n, size_t ld, const evc_labels *lab,
                   const float *comp, size_t d, size_t ldc, int n_arrows, const char *title, const char *xl,
                   const char *yl) {
  evc_palette own;
  const evc_palette *pal = palette_of(lab, n, &own);
  evc_canvas cv = {0};
  frame f = MAP_FRAME;
  if (!pal || evc_canvas_init(&cv, 900, 700) || bounds(scores, n, ld, f.b)) {
    evc_palette_free(&own);
    evc_canvas_free(&cv);
    return -1;
  }
  if (title) evc_text(&cv, 20, 14, title, 3, BLACK);
  evc_axis ax = {.label = xl}, ay = {.label = yl};
  frame_range(&f, &ax, &ay);
  evc_axes(&cv, f.x0, f.y0, f.w, f.h, &ax, &ay);
  if (draw_points(&cv, &f, scores, n, ld, lab, pal, 2.2f, 0.5f)) {
    evc_palette_free(&own);
    evc_canvas_free(&cv);
    return -1;
  }
  size_t best[32];
  if (n_arrows > 32) n_arrows = 32;
  strongest(comp, d, ldc, n_arrows, best);
  float ox, oy, maxlen = 1e-12f;
  to_px(&f, 0, 0, &ox, &oy);
  for (int a = 0; a < n_arrows && best[a] != SIZE_MAX; a++)
    maxlen = fmaxf(maxlen, hypotf(comp[best[a]], comp[ldc + best[a]]));
  float reach = 0.45f * fminf(f.b[1] - f.b[0], f.b[3] - f.b[2]) / maxlen;
  for (int a = 0; a < n_arrows && best[a] != SIZE_MAX; a++) {
    float tx, ty;
    to_px(&f, comp[best[a]] * reach, comp[ldc + best[a]] * reach, &tx, &ty);
    evc_arrow(&cv, ox, oy, tx, ty, BLACK);
    char buf[24];
    snprintf(buf, sizeof buf, "f%zu", best[a]);
    evc_text(&cv, (int)tx + (tx >= ox ? 4 : -4 - evc_text_width(buf, 2)), (int)ty - 6, buf, 2, BLACK);
  }
  legend(&cv, 700, 60, lab, pal, 0);
  int rc = evc_canvas_png(&cv, path);
  evc_canvas_free(&cv);
  evc_palette_free(&own);
  return rc;
}
