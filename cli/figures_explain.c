/*
 * figures_explain.c - the panels of `embedviz explain`: feature maps as
 * heatmaps, bar plots, a map with one point ringed, the ridge biplot and
 * the ordered correlation matrix. Only the primitives of plot.h are used.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "explain_fig.h"

static const unsigned char INK[3] = {40, 40, 40}, GREY[3] = {150, 150, 150}, FRAME[3] = {210, 210, 210},
                           POS[3] = {0xCC, 0x33, 0x11}, NEG[3] = {0x00, 0x77, 0xBB}, BLACK[3] = {0, 0, 0};

evx_rect evx_panel(evc_canvas *cv, evx_rect r, const char *title) {
  evc_rect_outline(cv, r.x, r.y, r.x + r.w, r.y + r.h, 1, FRAME);
  char fit[256];
  evc_text_fit(title, 2, r.w - 16, fit, sizeof fit);
  evc_text(cv, r.x + 8, r.y + 8, fit, 2, INK);
  return (evx_rect){r.x + 10, r.y + 32, r.w - 20, r.h - 42};
}

void evx_lines(evc_canvas *cv, int x, int y, const char *const *lines, int n, int scale) {
  for (int k = 0; k < n; k++) evc_text(cv, x, y + k * 10 * scale, lines[k], scale, INK);
}

/* A perceptually ordered dark-blue -> green -> yellow ramp (five stops
 * after viridis' ends and middle), t in [0, 1]. */
static void ramp(float t, unsigned char rgb[3]) {
  static const float stop[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  float s = t * 4;
  int k = s >= 4 ? 3 : (int)s;
  float f = s - (float)k;
  for (int c = 0; c < 3; c++) rgb[c] = (unsigned char)(stop[k][c] + f * (stop[k + 1][c] - stop[k][c]) + 0.5f);
}

/* -1 blue, 0 white, +1 red. */
static void diverging(float v, unsigned char rgb[3]) {
  static const unsigned char W[3] = {255, 255, 255};
  v = v < -1 ? -1 : v > 1 ? 1 : v;
  const unsigned char *end = v < 0 ? NEG : POS;
  float a = fabsf(v);
  for (int c = 0; c < 3; c++) rgb[c] = (unsigned char)(W[c] + a * (end[c] - W[c]) + 0.5f);
}

void evx_heatmaps(evc_canvas *cv, evx_rect r, const float *maps, int c, int h, int w) {
  float lo = maps[0], hi = maps[0];
  for (size_t k = 0; k < (size_t)c * (size_t)h * (size_t)w; k++) {
    lo = maps[k] < lo ? maps[k] : lo;
    hi = maps[k] > hi ? maps[k] : hi;
  }
  int cols = (int)ceil(sqrt((double)c)), rows = (c + cols - 1) / cols, bar = 80;
  int cell = (r.w - bar) / cols < (r.h - 4) / rows ? (r.w - bar) / cols : (r.h - 4) / rows;
  int side = h > w ? h : w, zoom = (cell - 4) / side;
  if (zoom < 1) zoom = 1;
  float span = hi > lo ? hi - lo : 1;
  unsigned char rgb[3];
  for (int m = 0; m < c; m++) {
    int x0 = r.x + (m % cols) * cell, y0 = r.y + (m / cols) * cell;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        ramp((maps[((size_t)m * h + y) * w + x] - lo) / span, rgb);
        evc_fill_rect(cv, x0 + x * zoom, y0 + y * zoom, x0 + (x + 1) * zoom, y0 + (y + 1) * zoom, rgb, 1);
      }
  }
  /* the one colour scale */
  int bx = r.x + r.w - bar + 14, by = r.y, bh = r.h - 20;
  for (int y = 0; y < bh; y++) {
    ramp(1 - (float)y / (float)(bh - 1), rgb);
    evc_fill_rect(cv, bx, by + y, bx + 14, by + y + 1, rgb, 1);
  }
  char t[32];
  snprintf(t, sizeof t, "%.3g", (double)hi);
  evc_text(cv, bx + 18, by, t, 1, INK);
  snprintf(t, sizeof t, "%.3g", (double)lo);
  evc_text(cv, bx + 18, by + bh - 6, t, 1, INK);
}

void evx_bars(evc_canvas *cv, evx_rect r, const float *v, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; i++) m = fabsf(v[i]) > m ? fabsf(v[i]) : m;
  if (m == 0) m = 1;
  int has_neg = 0;
  for (size_t i = 0; i < n; i++) has_neg |= v[i] < 0;
  int zero = has_neg ? r.y + r.h / 2 : r.y + r.h - 14, half = has_neg ? r.h / 2 - 8 : r.h - 20;
  double bw = (double)r.w / (double)n;
  for (size_t i = 0; i < n; i++) {
    int x0 = r.x + (int)(bw * (double)i), x1 = r.x + (int)(bw * (double)(i + 1));
    if (x1 - x0 > 2) x1--;
    if (x1 <= x0) x1 = x0 + 1;
    int len = (int)lroundf(fabsf(v[i]) / m * (float)half);
    if (v[i] >= 0) evc_fill_rect(cv, x0, zero - len, x1, zero, POS, 1);
    else evc_fill_rect(cv, x0, zero, x1, zero + len, NEG, 1);
  }
  evc_line(cv, (float)r.x, (float)zero, (float)(r.x + r.w), (float)zero, 1, GREY);
  char t[64];
  snprintf(t, sizeof t, "max |value| %.3g, %zu values", (double)m, n);
  evc_text(cv, r.x, r.y + r.h - 8, t, 1, INK);
}

void evx_hbars(evc_canvas *cv, evx_rect r, const int64_t *feature, const float *v, int k) {
  float m = 0;
  for (int i = 0; i < k; i++) m = fabsf(v[i]) > m ? fabsf(v[i]) : m;
  if (m == 0) m = 1;
  int label_w = 60, mid = r.x + label_w + (r.w - label_w) / 2, half = (r.w - label_w) / 2 - 50;
  int row = r.h / (k ? k : 1);
  if (row > 28) row = 28;
  char t[64];
  for (int i = 0; i < k; i++) {
    int y = r.y + i * row, len = (int)lroundf(fabsf(v[i]) / m * (float)half);
    snprintf(t, sizeof t, "f%lld", (long long)feature[i]);
    evc_text(cv, r.x, y + row / 2 - 6, t, 2, INK);
    if (v[i] >= 0) evc_fill_rect(cv, mid, y + 3, mid + len, y + row - 3, POS, 1);
    else evc_fill_rect(cv, mid - len, y + 3, mid, y + row - 3, NEG, 1);
    snprintf(t, sizeof t, "%+.3g", (double)v[i]);
    int tx = v[i] >= 0 ? mid + len + 4 : mid - len - 4 - evc_text_width(t, 1);
    evc_text(cv, tx, y + row / 2 - 3, t, 1, INK);
  }
  evc_line(cv, (float)mid, (float)r.y, (float)mid, (float)(r.y + k * row), 1, GREY);
}

/* The affine map from data to the rectangle (aspect kept). */
typedef struct frame {
  float x0, y0, s;
  evx_rect r;
} frame;

static frame fit_frame(evx_rect r, const float *xy, size_t n) {
  float lo[2] = {xy[0], xy[1]}, hi[2] = {xy[0], xy[1]};
  for (size_t i = 0; i < n; i++)
    for (int a = 0; a < 2; a++) {
      lo[a] = xy[2 * i + a] < lo[a] ? xy[2 * i + a] : lo[a];
      hi[a] = xy[2 * i + a] > hi[a] ? xy[2 * i + a] : hi[a];
    }
  float sx = (float)(r.w - 20) / (hi[0] > lo[0] ? hi[0] - lo[0] : 1);
  float sy = (float)(r.h - 20) / (hi[1] > lo[1] ? hi[1] - lo[1] : 1);
  frame f = {lo[0], hi[1], sx < sy ? sx : sy, r};
  return f;
}

static float fx(const frame *f, float x) { return (float)f->r.x + 10 + (x - f->x0) * f->s; }
static float fy(const frame *f, float y) { return (float)f->r.y + 10 + (f->y0 - y) * f->s; }

static void points(evc_canvas *cv, const frame *f, const float *xy, size_t n, const evc_labels *lab) {
  evc_palette own = {0};
  const evc_palette *pal = lab->palette;
  if (!pal && lab->y && !evc_palette_init(&own, lab->y, n, lab->n_classes)) pal = &own;
  unsigned char rgb[3] = {120, 120, 120};
  float rad = n > 2000 ? 1.5f : 2.5f;
  for (size_t i = 0; i < n; i++) {
    if (pal && lab->y) evc_palette_rgb(pal, lab->y[i], rgb);
    evc_disc(cv, fx(f, xy[2 * i]), fy(f, xy[2 * i + 1]), rad, rgb, 0.8f);
  }
  evc_palette_free(&own);
}

void evx_map(evc_canvas *cv, evx_rect r, const float *xy, size_t n, const evc_labels *lab, size_t index,
             const int64_t *nn, int k) {
  frame f = fit_frame(r, xy, n);
  points(cv, &f, xy, n, lab);
  for (int j = 0; j < k; j++) evc_ring(cv, fx(&f, xy[2 * nn[j]]), fy(&f, xy[2 * nn[j] + 1]), 6, 2, GREY);
  evc_ring(cv, fx(&f, xy[2 * index]), fy(&f, xy[2 * index + 1]), 11, 3, BLACK);
}

void evx_biplot(evc_canvas *cv, evx_rect r, const float *xy, size_t n, const evc_labels *lab, const float *coef,
                size_t d, const int64_t *feature, int k) {
  frame f = fit_frame(r, xy, n);
  points(cv, &f, xy, n, lab);
  float m = 0;
  for (int j = 0; j < k; j++) {
    float a = coef[feature[j]], b = coef[d + (size_t)feature[j]], len = hypotf(a, b);
    m = len > m ? len : m;
  }
  if (m == 0) return;
  float cx = (float)r.x + (float)r.w / 2, cy = (float)r.y + (float)r.h / 2, reach = (float)(r.w < r.h ? r.w : r.h) * 0.4f;
  char t[32];
  for (int j = 0; j < k; j++) {
    float a = coef[feature[j]] / m * reach, b = coef[d + (size_t)feature[j]] / m * reach;
    evc_arrow(cv, cx, cy, cx + a, cy - b, INK);
    snprintf(t, sizeof t, "f%lld", (long long)feature[j]);
    evc_text(cv, (int)(cx + a * 1.08f) - evc_text_width(t, 1) / 2, (int)(cy - b * 1.08f) - 3, t, 1, INK);
  }
}

void evx_corr(evc_canvas *cv, evx_rect r, const float *corr, size_t d, const int64_t *order) {
  int bar = 50, room = (r.w - bar) < r.h ? r.w - bar : r.h;
  double cell = (double)room / (double)d;
  unsigned char rgb[3];
  for (size_t a = 0; a < d; a++)
    for (size_t b = 0; b < d; b++) {
      diverging(corr[(size_t)order[a] * d + (size_t)order[b]], rgb);
      int x0 = r.x + (int)(cell * (double)b), x1 = r.x + (int)(cell * (double)(b + 1));
      int y0 = r.y + (int)(cell * (double)a), y1 = r.y + (int)(cell * (double)(a + 1));
      evc_fill_rect(cv, x0, y0, x1 > x0 ? x1 : x0 + 1, y1 > y0 ? y1 : y0 + 1, rgb, 1);
    }
  int bx = r.x + room + 20, bh = room - 20;
  for (int y = 0; y < bh; y++) {
    diverging(1 - 2 * (float)y / (float)(bh - 1), rgb);
    evc_fill_rect(cv, bx, r.y + y, bx + 14, r.y + y + 1, rgb, 1);
  }
  evc_text(cv, bx, r.y + bh + 4, "-1", 1, INK);
  evc_text(cv, bx + 16, r.y, "+1", 1, INK);
}
