/*
 * plot_png.c - an RGB canvas with anti-aliased discs and lines, text from
 * stb_easy_font, thumbnails, written as PNG (or JPEG) with stb_image_write.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

#include "cli.h"
#include "plot.h"

/* Up to 10 classes: Paul Tol's muted scheme (https://personal.sron.nl/~pault/,
 * "Colour schemes and templates", 2021), plus mid grey for a tenth class:
 * the demo's colours. */
static const unsigned char TOL_MUTED[10][3] = {
    {0xCC, 0x66, 0x77}, {0x33, 0x22, 0x88}, {0xDD, 0xCC, 0x77}, {0x11, 0x77, 0x33}, {0x88, 0xCC, 0xEE},
    {0x88, 0x22, 0x55}, {0x44, 0xAA, 0x99}, {0x99, 0x99, 0x33}, {0xAA, 0x44, 0x99}, {0x77, 0x77, 0x77}};

/* 11 classes and more: Kelly's colours of maximum contrast (K. L. Kelly,
 * "Twenty-two colors of maximum contrast", Color Engineering 3(6):26-27,
 * 1965; sRGB of the ISCC-NBS centroids), in Kelly's order, without white
 * (the background) and grey (kept for "other"). The closest pair, yellow
 * and greenish yellow, is 10.0 apart in CIEDE2000; each is at least 21.9
 * from the grey and 20.3 from white (tests/python/test_cli_figures_classes.py
 * measures it on the pictures). */
static const unsigned char KELLY[EVC_PALETTE_SIZE][3] = {
    {0x22, 0x22, 0x22}, {0xF3, 0xC3, 0x00}, {0x87, 0x56, 0x92}, {0xF3, 0x84, 0x00}, {0xA1, 0xCA, 0xF1},
    {0xBE, 0x00, 0x32}, {0xC2, 0xB2, 0x80}, {0x00, 0x88, 0x56}, {0xE6, 0x8F, 0xAC}, {0x00, 0x67, 0xA5},
    {0xF9, 0x93, 0x79}, {0x60, 0x4E, 0x97}, {0xF6, 0xA6, 0x00}, {0xB3, 0x44, 0x6C}, {0xDC, 0xD3, 0x00},
    {0x88, 0x2D, 0x17}, {0x8D, 0xB6, 0x00}, {0x65, 0x45, 0x22}, {0xE2, 0x58, 0x22}, {0x2B, 0x3D, 0x26}};

const unsigned char EVC_OTHER_RGB[3] = {0x84, 0x84, 0x82};   /* Kelly's grey */

void evc_class_rgb(int64_t c, unsigned char rgb[3]) {
  int k = (int)(((c % 10) + 10) % 10);
  memcpy(rgb, TOL_MUTED[k], 3);
}

typedef struct class_count { int64_t count; int c; } class_count;

/* Largest first; ties by class number. */
static int by_count(const void *a, const void *b) {
  const class_count *x = a, *y = b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  return (x->c > y->c) - (x->c < y->c);
}

int evc_palette_init(evc_palette *p, const int64_t *y, size_t n, int n_classes) {
  *p = (evc_palette){0};
  if (n_classes <= 0) return 0;
  p->n_classes = n_classes;
  p->slot = malloc((size_t)n_classes * sizeof *p->slot);
  p->count = calloc((size_t)n_classes, sizeof *p->count);
  class_count *order = malloc((size_t)n_classes * sizeof *order);
  if (!p->slot || !p->count || !order) {
    free(order);
    evc_palette_free(p);
    return evc_err("out of memory for the colours of %d classes", n_classes), -1;
  }
  for (size_t i = 0; y && i < n; i++)
    if (y[i] >= 0 && y[i] < n_classes) p->count[y[i]]++;
  for (int c = 0; c < n_classes; c++) order[c] = (class_count){p->count[c], c};
  /* Up to the palette's size every class has its own colour; beyond, the
   * largest classes take them (without labels: the first classes). */
  if (n_classes > EVC_PALETTE_SIZE && y) qsort(order, (size_t)n_classes, sizeof *order, by_count);
  p->n_coloured = n_classes < EVC_PALETTE_SIZE ? n_classes : EVC_PALETTE_SIZE;
  enum { OTHER = -1, CHOSEN = -2 };
  for (int c = 0; c < n_classes; c++) p->slot[c] = OTHER;
  for (int k = 0; k < p->n_coloured; k++) p->slot[order[k].c] = CHOSEN;
  /* colours in class order, as the legend lists the classes */
  for (int c = 0, k = 0; c < n_classes; c++)
    if (p->slot[c] == CHOSEN) p->slot[c] = (int16_t)k++;
  for (int c = 0; c < n_classes; c++)
    if (p->slot[c] == OTHER && p->count[c]) p->n_other++, p->other_points += p->count[c];
  p->scheme = n_classes <= 10 ? 10 : EVC_PALETTE_SIZE;
  free(order);
  return 0;
}

void evc_palette_free(evc_palette *p) {
  if (!p) return;
  free(p->slot);
  free(p->count);
  *p = (evc_palette){0};
}

void evc_palette_rgb(const evc_palette *p, int64_t c, unsigned char rgb[3]) {
  int s = p && c >= 0 && c < p->n_classes ? p->slot[c] : -1;
  if (s < 0) memcpy(rgb, EVC_OTHER_RGB, 3);
  else memcpy(rgb, p->scheme == 10 ? TOL_MUTED[s] : KELLY[s], 3);
}

void evc_palette_hex(const evc_palette *p, int64_t c, char out[8]) {
  unsigned char rgb[3];
  evc_palette_rgb(p, c, rgb);
  snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

int evc_canvas_init(evc_canvas *cv, int w, int h) {
  cv->w = w;
  cv->h = h;
  cv->px = malloc((size_t)w * (size_t)h * 3);
  if (!cv->px) return evc_err("out of memory for a %d x %d picture", w, h), -1;
  memset(cv->px, 255, (size_t)w * (size_t)h * 3);
  return 0;
}

void evc_canvas_free(evc_canvas *cv) {
  free(cv->px);
  cv->px = NULL;
}

/* Encode in memory, then write through the tool's atomic writer: stb's own
 * file writer ignores write errors. */
static int png_write(const char *path, const unsigned char *px, int w, int h, int channels) {
  int len = 0;
  stbi_write_png_compression_level = 9;
  unsigned char *png = stbi_write_png_to_mem(px, w * channels, w, h, channels, &len);
  if (!png) return evc_err("out of memory encoding the %d x %d picture %s", w, h, path), -1;
  int rc = evc_write_file(path, png, (size_t)len);
  free(png);
  return rc ? -1 : 0;
}

int evc_gray_png(const char *path, const unsigned char *g, int w, int h) { return png_write(path, g, w, h, 1); }

int evc_canvas_png(const evc_canvas *cv, const char *path) { return png_write(path, cv->px, cv->w, cv->h, 3); }

static void blend(evc_canvas *cv, int x, int y, const unsigned char rgb[3], float a) {
  if (x < 0 || y < 0 || x >= cv->w || y >= cv->h || a <= 0) return;
  unsigned char *p = cv->px + ((size_t)y * (size_t)cv->w + (size_t)x) * 3;
  if (a >= 1) { memcpy(p, rgb, 3); return; }
  for (int k = 0; k < 3; k++) p[k] = (unsigned char)(p[k] + a * (rgb[k] - p[k]) + 0.5f);
}

void evc_fill_rect(evc_canvas *cv, int x0, int y0, int x1, int y1, const unsigned char rgb[3], float alpha) {
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) blend(cv, x, y, rgb, alpha);
}

void evc_rect_outline(evc_canvas *cv, int x0, int y0, int x1, int y1, int width, const unsigned char rgb[3]) {
  evc_fill_rect(cv, x0, y0, x1, y0 + width, rgb, 1);
  evc_fill_rect(cv, x0, y1 - width, x1, y1, rgb, 1);
  evc_fill_rect(cv, x0, y0, x0 + width, y1, rgb, 1);
  evc_fill_rect(cv, x1 - width, y0, x1, y1, rgb, 1);
}

/* Coverage of a pixel by a disc, from the distance of its centre to the
 * edge: one pixel of linear ramp is enough anti-aliasing for dots. */
void evc_disc(evc_canvas *cv, float cx, float cy, float r, const unsigned char rgb[3], float alpha) {
  for (int y = (int)floorf(cy - r - 1); y <= (int)ceilf(cy + r + 1); y++)
    for (int x = (int)floorf(cx - r - 1); x <= (int)ceilf(cx + r + 1); x++) {
      float d = hypotf(x + 0.5f - cx, y + 0.5f - cy), cover = r + 0.5f - d;
      if (cover > 0) blend(cv, x, y, rgb, alpha * (cover > 1 ? 1 : cover));
    }
}

void evc_ring(evc_canvas *cv, float cx, float cy, float r, float width, const unsigned char rgb[3]) {
  for (int y = (int)floorf(cy - r - width); y <= (int)ceilf(cy + r + width); y++)
    for (int x = (int)floorf(cx - r - width); x <= (int)ceilf(cx + r + width); x++) {
      float d = fabsf(hypotf(x + 0.5f - cx, y + 0.5f - cy) - r), cover = width / 2 + 0.5f - d;
      if (cover > 0) blend(cv, x, y, rgb, cover > 1 ? 1 : cover);
    }
}

/* Distance of each pixel near the segment to it, as for discs. */
void evc_line(evc_canvas *cv, float x0, float y0, float x1, float y1, float width, const unsigned char rgb[3]) {
  float dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy, hw = width / 2;
  int xa = (int)floorf(fminf(x0, x1) - width - 1), xb = (int)ceilf(fmaxf(x0, x1) + width + 1);
  int ya = (int)floorf(fminf(y0, y1) - width - 1), yb = (int)ceilf(fmaxf(y0, y1) + width + 1);
  for (int y = ya; y <= yb; y++)
    for (int x = xa; x <= xb; x++) {
      float px = x + 0.5f - x0, py = y + 0.5f - y0;
      float t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      float d = hypotf(px - t * dx, py - t * dy), cover = hw + 0.5f - d;
      if (cover > 0) blend(cv, x, y, rgb, cover > 1 ? 1 : cover);
    }
}

void evc_arrow(evc_canvas *cv, float x0, float y0, float x1, float y1, const unsigned char rgb[3]) {
  evc_line(cv, x0, y0, x1, y1, 2, rgb);
  float a = atan2f(y1 - y0, x1 - x0), head = 10;
  evc_line(cv, x1, y1, x1 - head * cosf(a - 0.45f), y1 - head * sinf(a - 0.45f), 2, rgb);
  evc_line(cv, x1, y1, x1 - head * cosf(a + 0.45f), y1 - head * sinf(a + 0.45f), 2, rgb);
}

/* stb_easy_font draws ASCII 32..126 and indexes its table with any other
 * byte (out of bounds for UTF-8 names and control characters): each UTF-8
 * sequence or other byte becomes one '?', tabs and newlines a space. */
static void printable(const char *s, char *out, size_t len) {
  size_t k = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p && k + 1 < len; p++) {
    if (*p >= 32 && *p < 127) out[k++] = (char)*p;
    else if (*p < 32 || *p == 127) out[k++] = ' ';
    else if ((*p & 0xC0) != 0x80) out[k++] = '?';   /* a lead byte; continuation bytes are skipped */
  }
  out[k] = 0;
}

/* stb_easy_font emits quads of 4 vertices (x, y, z, rgba: 16 bytes each);
 * each becomes a rectangle, upright or turned (up: reading bottom to top). */
static void text_quads(evc_canvas *cv, int x, int y, const char *s, int scale, const unsigned char rgb[3], int up) {
  static char buf[160000];
  char text[1024];
  printable(s, text, sizeof text);
  int quads = stb_easy_font_print(0, 0, text, NULL, buf, sizeof buf);
  for (int q = 0; q < quads; q++) {
    float *v0 = (float *)(buf + q * 64), *v2 = (float *)(buf + q * 64 + 32);
    int u0 = (int)(v0[0] * scale), w0 = (int)(v0[1] * scale), u1 = (int)(v2[0] * scale), w1 = (int)(v2[1] * scale);
    if (up) evc_fill_rect(cv, x + w0, y - u1, x + w1, y - u0, rgb, 1);
    else evc_fill_rect(cv, x + u0, y + w0, x + u1, y + w1, rgb, 1);
  }
}

void evc_text(evc_canvas *cv, int x, int y, const char *s, int scale, const unsigned char rgb[3]) {
  text_quads(cv, x, y, s, scale, rgb, 0);
}

void evc_text_up(evc_canvas *cv, int x, int y, const char *s, int scale, const unsigned char rgb[3]) {
  text_quads(cv, x, y, s, scale, rgb, 1);
}

int evc_text_width(const char *s, int scale) {
  char text[1024];
  printable(s, text, sizeof text);
  return stb_easy_font_width(text) * scale;
}

/* s shortened in the middle, so that names sharing a long start (or end)
 * stay apart: its end, up to a third of max_w, after the longest start that
 * still fits with "..." between them. Whole UTF-8 characters only. */
void evc_text_fit(const char *s, int scale, int max_w, char *out, size_t len) {
  snprintf(out, len, "%s", s);
  if (evc_text_width(out, scale) <= max_w) return;
  size_t n = strlen(out), tail = n, head;
  char *buf = malloc(n + 4);
  if (!buf || evc_text_width("...", scale) > max_w) {
    free(buf);
    snprintf(out, len, "%s", buf ? "" : "...");
    return;
  }
  /* the end: step back a character while it stays within a third */
  for (;;) {
    size_t t = tail;
    do t--; while (t > 0 && ((unsigned char)out[t] & 0xC0) == 0x80);
    if (t == 0 || evc_text_width(out + t, scale) > max_w / 3) break;
    tail = t;
  }
  for (head = tail; ; ) {
    memcpy(buf, out, head);
    memcpy(buf + head, "...", 3);
    memcpy(buf + head + 3, out + tail, n - tail + 1);
    if (head == 0 || evc_text_width(buf, scale) <= max_w) break;
    do head--; while (head > 0 && ((unsigned char)out[head] & 0xC0) == 0x80);
  }
  snprintf(out, len, "%s", buf);
  free(buf);
}

void evc_blit_thumb(evc_canvas *cv, int x, int y, const evc_thumbs *t, size_t i, int zoom, int border,
                    const unsigned char *rgb) {
  int s = t->side, w = t->w[i], h = t->h[i], x0 = (s - w) / 2, y0 = (s - h) / 2;
  const unsigned char *sq = t->px + i * (size_t)s * (size_t)s * 3;
  /* the picture's top left corner on the canvas, inside the border */
  int px0 = x + border + x0 * zoom, py0 = y + border + y0 * zoom;
  for (int r = 0; r < h * zoom; r++)
    for (int c = 0; c < w * zoom; c++)
      blend(cv, px0 + c, py0 + r, sq + ((size_t)(y0 + r / zoom) * (size_t)s + (size_t)(x0 + c / zoom)) * 3, 1);
  if (border && rgb)
    evc_rect_outline(cv, px0 - border, py0 - border, px0 + w * zoom + border, py0 + h * zoom + border, border, rgb);
}

/* stb's JPEG writer calls this with each piece of the file. */
typedef struct membuf { unsigned char *p; size_t len, cap; int failed; } membuf;
static void membuf_add(void *ctx, void *data, int size) {
  membuf *m = ctx;
  if (m->failed || size <= 0) return;
  if (m->len + (size_t)size > m->cap) {
    size_t cap = (m->cap ? 2 * m->cap : 1 << 16) + (size_t)size;
    unsigned char *np = realloc(m->p, cap);
    if (!np) { m->failed = 1; return; }
    m->p = np;
    m->cap = cap;
  }
  memcpy(m->p + m->len, data, (size_t)size);
  m->len += (size_t)size;
}

int evc_rgb_jpg(const char *path, const unsigned char *rgb, int w, int h, int quality) {
  membuf m = {0};
  int ok = stbi_write_jpg_to_func(membuf_add, &m, w, h, 3, rgb, quality);
  if (!ok || m.failed) {
    free(m.p);
    return evc_err("out of memory encoding the %d x %d picture %s", w, h, path), -1;
  }
  int rc = evc_write_file(path, m.p, m.len);
  free(m.p);
  return rc ? -1 : 0;
}
