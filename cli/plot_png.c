/*
 * plot_png.c - the class palette and the canvas the figures are drawn on:
 * cairo recording surfaces, played back onto a PNG, SVG or PDF surface when
 * saved; text in DejaVu Sans through cairo's text API. Raw pixel pictures
 * (the sprite: one-channel PNG, or JPEG, which cairo does not write) go
 * through stb_image_write.
 */
#include <math.h>
#include <stdint.h>
#include <strings.h>

#include <cairo.h>
#ifdef CAIRO_HAS_PDF_SURFACE
#include <cairo-pdf.h>
#endif
#ifdef CAIRO_HAS_SVG_SURFACE
#include <cairo-svg.h>
#endif
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

/* ---- the canvas: cairo ---------------------------------------------------- */

evc_format evc_figure_format = EVC_FORMAT_AUTO;
evc_format evc_figure_extra = EVC_FORMAT_AUTO;

int evc_format_parse(const char *opt, const char *s, evc_format *f) {
  static const char *const names[] = {"png", "svg", "pdf"};
  for (int k = 0; k < 3; k++)
    if (!strcmp(s, names[k])) {
      *f = (evc_format)(k + 1);
      if (!evc_format_available(*f))
        return evc_err("%s %s: this build's cairo cannot write %s (it lacks the %s surface): use png", opt, s,
                       s, *f == EVC_FORMAT_SVG ? "SVG" : "PDF");
      return 0;
    }
  return evc_err("%s must be png, svg or pdf, got '%s'", opt, s);
}

int evc_format_available(evc_format f) {
  switch (f) {
  case EVC_FORMAT_PNG: return 1;
#ifdef CAIRO_HAS_SVG_SURFACE
  case EVC_FORMAT_SVG: return 1;
#endif
#ifdef CAIRO_HAS_PDF_SURFACE
  case EVC_FORMAT_PDF: return 1;
#endif
  default: return 0;
  }
}

const char *evc_format_ext(evc_format f) {
  return f == EVC_FORMAT_SVG ? ".svg" : f == EVC_FORMAT_PDF ? ".pdf" : ".png";
}

/* The format a name's extension says (any case), or AUTO for none of ours. */
evc_format evc_format_of_path(const char *path) {
  const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
  if (!dot || (slash && slash > dot)) return EVC_FORMAT_AUTO;
  if (!strcasecmp(dot, ".png")) return EVC_FORMAT_PNG;
  if (!strcasecmp(dot, ".svg")) return EVC_FORMAT_SVG;
  if (!strcasecmp(dot, ".pdf")) return EVC_FORMAT_PDF;
  return EVC_FORMAT_AUTO;
}

/* One piece of text as the SVG writes it: a <text> element. */
struct evc_canvas_text {
  float x, y, size;    /* the baseline's start, the font size in pixels */
  int up;              /* turned a quarter left */
  unsigned char rgb[3];
  char *s;             /* valid UTF-8 without control characters */
};

static void font_setup(cairo_t *cr) {
  cairo_font_options_t *fo = cairo_font_options_create();
  /* unhinted metrics: the same widths in PNG, PDF and SVG */
  cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
  cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
  cairo_set_font_options(cr, fo);
  cairo_font_options_destroy(fo);
  cairo_select_font_face(cr, EVC_FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
}

static cairo_t *record(int w, int h) {
  cairo_rectangle_t ext = {0, 0, w, h};
  cairo_surface_t *s = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &ext);
  cairo_t *cr = cairo_create(s);
  cairo_surface_destroy(s);   /* cr holds it */
  font_setup(cr);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  return cr;
}

int evc_canvas_init(evc_canvas *cv, int w, int h) {
  *cv = (evc_canvas){.w = w, .h = h};
  if (w <= 0 || h <= 0 || w > 32767 || h > 32767)
    return evc_err("a picture of %d x %d pixels cannot be drawn (1 to 32767 each way)", w, h), -1;
  cv->cr = record(w, h);
  cv->shapes = record(w, h);
  if (cairo_status(cv->cr) || cairo_status(cv->shapes)) {
    evc_canvas_free(cv);
    return evc_err("out of memory for a %d x %d picture", w, h), -1;
  }
  return 0;
}

void evc_canvas_free(evc_canvas *cv) {
  if (cv->cr) cairo_destroy(cv->cr);
  if (cv->shapes) cairo_destroy(cv->shapes);
  for (size_t k = 0; k < cv->n_text; k++) free(cv->text[k].s);
  free(cv->text);
  *cv = (evc_canvas){0};
}

/* Every shape goes to both recordings: cv->cr (with the text: PNG, PDF) and
 * cv->shapes (the SVG's shapes, its text written as <text>). */
#define EACH_CR(cv, c) for (cairo_t *const *c##_p = (cairo_t *const[]){(cv)->cr, (cv)->shapes, NULL}, *c; \
                            (c = *c##_p) != NULL; c##_p++)

static void source(cairo_t *cr, const unsigned char rgb[3], float alpha) {
  cairo_set_source_rgba(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0, alpha > 1 ? 1 : alpha);
}

void evc_fill_rect(evc_canvas *cv, int x0, int y0, int x1, int y1, const unsigned char rgb[3], float alpha) {
  if (x1 <= x0 || y1 <= y0 || alpha <= 0) return;
  EACH_CR(cv, cr) {
    cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
    source(cr, rgb, alpha);
    cairo_fill(cr);
  }
}

void evc_rect_outline(evc_canvas *cv, int x0, int y0, int x1, int y1, int width, const unsigned char rgb[3]) {
  if (x1 <= x0 || y1 <= y0 || width <= 0) return;
  /* the band between the outer and the inner rectangle, whole pixels */
  EACH_CR(cv, cr) {
    cairo_save(cr);
    cairo_set_fill_rule(cr, CAIRO_FILL_RULE_EVEN_ODD);
    cairo_rectangle(cr, x0, y0, x1 - x0, y1 - y0);
    if (x1 - x0 > 2 * width && y1 - y0 > 2 * width)
      cairo_rectangle(cr, x0 + width, y0 + width, x1 - x0 - 2 * width, y1 - y0 - 2 * width);
    source(cr, rgb, 1);
    cairo_fill(cr);
    cairo_restore(cr);
  }
}

void evc_disc(evc_canvas *cv, float cx, float cy, float r, const unsigned char rgb[3], float alpha) {
  if (!(r > 0) || alpha <= 0) return;
  EACH_CR(cv, cr) {
    cairo_new_sub_path(cr);
    cairo_arc(cr, cx, cy, r, 0, 2 * M_PI);
    source(cr, rgb, alpha);
    cairo_fill(cr);
  }
}

void evc_ring(evc_canvas *cv, float cx, float cy, float r, float width, const unsigned char rgb[3]) {
  if (!(r > 0) || !(width > 0)) return;
  EACH_CR(cv, cr) {
    cairo_new_sub_path(cr);
    cairo_arc(cr, cx, cy, r, 0, 2 * M_PI);
    cairo_set_line_width(cr, width);
    source(cr, rgb, 1);
    cairo_stroke(cr);
  }
}

void evc_line(evc_canvas *cv, float x0, float y0, float x1, float y1, float width, const unsigned char rgb[3]) {
  if (!(width > 0)) return;
  EACH_CR(cv, cr) {
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_set_line_width(cr, width);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    source(cr, rgb, 1);
    cairo_stroke(cr);
  }
}

void evc_polyline(evc_canvas *cv, const float *xy, int n, float width, const unsigned char rgb[3]) {
  if (n < 2 || !(width > 0)) return;
  EACH_CR(cv, cr) {
    cairo_move_to(cr, xy[0], xy[1]);
    for (int k = 1; k < n; k++) cairo_line_to(cr, xy[2 * k], xy[2 * k + 1]);
    cairo_set_line_width(cr, width);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    source(cr, rgb, 1);
    cairo_stroke(cr);
  }
}

void evc_dashed_line(evc_canvas *cv, float x0, float y0, float x1, float y1, float width, float dash,
                     const unsigned char rgb[3]) {
  if (!(width > 0)) return;
  double d[2] = {dash, dash};
  EACH_CR(cv, cr) {
    cairo_save(cr);
    cairo_set_dash(cr, d, 2, 0);
    cairo_move_to(cr, x0, y0);
    cairo_line_to(cr, x1, y1);
    cairo_set_line_width(cr, width);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT);
    source(cr, rgb, 1);
    cairo_stroke(cr);
    cairo_restore(cr);
  }
}

/* A shaft of 1.5 px and a filled head 9 px long. */
void evc_arrow(evc_canvas *cv, float x0, float y0, float x1, float y1, const unsigned char rgb[3]) {
  float a = atan2f(y1 - y0, x1 - x0), len = hypotf(x1 - x0, y1 - y0), head = len < 18 ? len / 2 : 9;
  float bx = x1 - head * 0.8f * cosf(a), by = y1 - head * 0.8f * sinf(a);
  evc_line(cv, x0, y0, bx, by, 1.5f, rgb);
  EACH_CR(cv, cr) {
    cairo_move_to(cr, x1, y1);
    cairo_line_to(cr, x1 - head * cosf(a - 0.4f), y1 - head * sinf(a - 0.4f));
    cairo_line_to(cr, x1 - head * cosf(a + 0.4f), y1 - head * sinf(a + 0.4f));
    cairo_close_path(cr);
    source(cr, rgb, 1);
    cairo_fill(cr);
  }
}

/* ---- text ------------------------------------------------------------------ */

/* The font size of text scale s: 7 px a step (stb_easy_font's old scale 1 =
 * 6 px high capitals, about the same), 8.5 px for scale 1. */
float evc_font_px(int scale) { return scale <= 1 ? 8.5f : 7.0f * (float)scale; }

/* The bytes of one well-formed UTF-8 character at p (1 to 4), or 0. */
static int utf8_len(const unsigned char *p) {
  if (p[0] < 0x80) return 1;
  int n = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3 : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
  if (!n) return 0;
  unsigned char lo = 0x80, hi = 0xBF;   /* the second byte: no overlong forms, no surrogates, <= U+10FFFF */
  if (p[0] == 0xE0) lo = 0xA0;
  if (p[0] == 0xED) hi = 0x9F;
  if (p[0] == 0xF0) lo = 0x90;
  if (p[0] == 0xF4) hi = 0x8F;
  if (p[1] < lo || p[1] > hi) return 0;
  for (int k = 2; k < n; k++)
    if ((p[k] & 0xC0) != 0x80) return 0;
  return n;
}

/* s as cairo takes it (valid UTF-8, else it fails for good): control
 * characters become spaces, each ill-formed byte a '?'. */
static void printable(const char *s, char *out, size_t len) {
  size_t k = 0;
  const unsigned char *p = (const unsigned char *)s;
  while (*p && k + 5 < len) {
    int n = utf8_len(p);
    if (n == 1) out[k++] = *p < 32 || *p == 127 ? ' ' : (char)*p;
    else if (n) memcpy(out + k, p, (size_t)n), k += (size_t)n;
    else out[k++] = '?', n = 1;
    p += n;
  }
  out[k] = 0;
}

static cairo_t *measurer(void) {
  static cairo_t *cr;
  if (!cr) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
    cr = cairo_create(s);
    cairo_surface_destroy(s);
    font_setup(cr);
  }
  return cr;
}

int evc_text_width(const char *s, int scale) {
  char text[1024];
  cairo_text_extents_t e;
  printable(s, text, sizeof text);
  cairo_t *cr = measurer();
  cairo_set_font_size(cr, evc_font_px(scale));
  cairo_text_extents(cr, text, &e);
  return (int)ceil(e.x_advance);
}

/* Baseline below the top: 0.76 of the size (DejaVu Sans' capitals are 0.73
 * high), so the top left of capitals is (x, y) as before. */
static void text_at(evc_canvas *cv, float x, float y, const char *s, int scale, const unsigned char rgb[3], int up) {
  char text[1024];
  printable(s, text, sizeof text);
  if (!*text) return;
  float size = evc_font_px(scale), asc = roundf(0.76f * size);
  float bx = up ? x + asc : x, by = up ? y : y + asc;
  cairo_t *cr = cv->cr;
  cairo_save(cr);
  cairo_set_font_size(cr, size);
  cairo_translate(cr, bx, by);
  if (up) cairo_rotate(cr, -M_PI / 2);
  cairo_move_to(cr, 0, 0);
  source(cr, rgb, 1);
  cairo_show_text(cr, text);
  cairo_restore(cr);
  if (cv->failed) return;
  if (cv->n_text == cv->cap_text) {
    size_t cap = cv->cap_text ? 2 * cv->cap_text : 64;
    struct evc_canvas_text *t = realloc(cv->text, cap * sizeof *t);
    if (!t) { cv->failed = 1; return; }
    cv->text = t;
    cv->cap_text = cap;
  }
  char *copy = strdup(text);
  if (!copy) { cv->failed = 1; return; }
  cv->text[cv->n_text++] = (struct evc_canvas_text){bx, by, size, up, {rgb[0], rgb[1], rgb[2]}, copy};
}

void evc_text(evc_canvas *cv, int x, int y, const char *s, int scale, const unsigned char rgb[3]) {
  text_at(cv, (float)x, (float)y, s, scale, rgb, 0);
}

void evc_text_up(evc_canvas *cv, int x, int y, const char *s, int scale, const unsigned char rgb[3]) {
  text_at(cv, (float)x, (float)y, s, scale, rgb, 1);
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

void evc_blit_rgb(evc_canvas *cv, float x, float y, const unsigned char *rgb, int w, int h, size_t stride,
                  float zoom) {
  if (w <= 0 || h <= 0 || !(zoom > 0)) return;
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  if (cairo_surface_status(img)) { cv->failed = 1; cairo_surface_destroy(img); return; }
  cairo_surface_flush(img);
  unsigned char *data = cairo_image_surface_get_data(img);
  int cs = cairo_image_surface_get_stride(img);
  for (int r = 0; r < h; r++) {
    uint32_t *row = (uint32_t *)(void *)(data + (size_t)r * (size_t)cs);
    const unsigned char *p = rgb + (size_t)r * stride;
    for (int c = 0; c < w; c++, p += 3) row[c] = 0xFF000000u | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
  }
  cairo_surface_mark_dirty(img);
  EACH_CR(cv, cr) {
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, zoom, zoom);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);   /* pixels stay squares */
    cairo_rectangle(cr, 0, 0, w, h);
    cairo_fill(cr);
    cairo_restore(cr);
  }
  cairo_surface_destroy(img);
}

void evc_blit_thumb(evc_canvas *cv, int x, int y, const evc_thumbs *t, size_t i, int zoom, int border,
                    const unsigned char *rgb) {
  int s = t->side, w = t->w[i], h = t->h[i], x0 = (s - w) / 2, y0 = (s - h) / 2;
  const unsigned char *sq = t->px + i * (size_t)s * (size_t)s * 3;
  /* the picture's top left corner on the canvas, inside the border */
  int px0 = x + border + x0 * zoom, py0 = y + border + y0 * zoom;
  evc_blit_rgb(cv, (float)px0, (float)py0, sq + ((size_t)y0 * (size_t)s + (size_t)x0) * 3, w, h, (size_t)s * 3,
               (float)zoom);
  if (border && rgb)
    evc_rect_outline(cv, px0 - border, py0 - border, px0 + w * zoom + border, py0 + h * zoom + border, border, rgb);
}

/* ---- saving ------------------------------------------------------------------ */

/* cairo's writers and stb's JPEG writer hand over the file in pieces: kept
 * in memory, then written through the tool's atomic writer (evc_write_file). */
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

static cairo_status_t membuf_write(void *ctx, const unsigned char *data, unsigned int size) {
  membuf *m = ctx;
  membuf_add(m, (void *)(uintptr_t)data, (int)size);
  return m->failed ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

static void membuf_str(membuf *m, const char *s) { membuf_add(m, (void *)(uintptr_t)s, (int)strlen(s)); }

/* The recording of cr played onto the surface out; its status. */
static cairo_status_t replay(cairo_t *rec, cairo_surface_t *out) {
  cairo_t *cr = cairo_create(out);
  cairo_set_source_surface(cr, cairo_get_target(rec), 0, 0);
  cairo_paint(cr);
  cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  cairo_surface_finish(out);
  if (!st) st = cairo_surface_status(out);
  return st;
}

static void xml_escaped(membuf *m, const char *s) {
  for (; *s; s++) {
    const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '"' ? "&quot;" : NULL;
    if (e) membuf_str(m, e);
    else membuf_add(m, (void *)(uintptr_t)s, 1);
  }
}

/* cairo's SVG of the shapes, then the text as <text> elements in DejaVu
 * Sans (selectable, searchable, editable), before the closing </svg>. */
static cairo_status_t write_svg(const evc_canvas *cv, membuf *m) {
#ifdef CAIRO_HAS_SVG_SURFACE
  cairo_surface_t *s = cairo_svg_surface_create_for_stream(membuf_write, m, cv->w, cv->h);
  cairo_svg_surface_set_document_unit(s, CAIRO_SVG_UNIT_PX);
  cairo_status_t st = replay(cv->shapes, s);
  cairo_surface_destroy(s);
  if (st) return st;
  const char *end = NULL;
  for (size_t k = m->len >= 6 ? m->len - 6 : 0; k > 0 && !end; k--)
    if (!memcmp(m->p + k, "</svg>", 6)) end = (const char *)m->p + k;
  if (!end) return CAIRO_STATUS_WRITE_ERROR;
  m->len = (size_t)(end - (const char *)m->p);
  char buf[256];
  snprintf(buf, sizeof buf, "<g font-family=\"%s, sans-serif\" xml:space=\"preserve\">\n", EVC_FONT);
  membuf_str(m, buf);
  for (size_t k = 0; k < cv->n_text; k++) {
    const struct evc_canvas_text *t = &cv->text[k];
    snprintf(buf, sizeof buf, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.1f\" fill=\"#%02x%02x%02x\"", t->x, t->y,
             t->size, t->rgb[0], t->rgb[1], t->rgb[2]);
    membuf_str(m, buf);
    if (t->up) {
      snprintf(buf, sizeof buf, " transform=\"rotate(-90 %.2f %.2f)\"", t->x, t->y);
      membuf_str(m, buf);
    }
    membuf_str(m, ">");
    xml_escaped(m, t->s);
    membuf_str(m, "</text>\n");
  }
  membuf_str(m, "</g>\n</svg>\n");
  return m->failed ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
#else
  (void)cv, (void)m;
  return CAIRO_STATUS_WRITE_ERROR;
#endif
}

static cairo_status_t write_pdf(const evc_canvas *cv, membuf *m) {
#ifdef CAIRO_HAS_PDF_SURFACE
  cairo_surface_t *s = cairo_pdf_surface_create_for_stream(membuf_write, m, cv->w, cv->h);
  cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "embedviz");
  cairo_status_t st = replay(cv->cr, s);
  cairo_surface_destroy(s);
  return st;
#else
  (void)cv, (void)m;
  return CAIRO_STATUS_WRITE_ERROR;
#endif
}

static cairo_status_t write_png(const evc_canvas *cv, membuf *m) {
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, cv->w, cv->h);
  cairo_t *cr = cairo_create(s);
  cairo_set_source_surface(cr, cairo_get_target(cv->cr), 0, 0);
  cairo_paint(cr);
  cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  if (!st) st = cairo_surface_write_to_png_stream(s, membuf_write, m);
  cairo_surface_destroy(s);
  return st;
}

static int save_as(const evc_canvas *cv, const char *path, evc_format f) {
  if (cv->failed || cairo_status(cv->cr) || cairo_status(cv->shapes))
    return evc_err("drawing the picture %s failed: %s", path,
                   cv->failed ? "out of memory" : cairo_status_to_string(cairo_status(cv->cr) ? cairo_status(cv->cr)
                                                                         : cairo_status(cv->shapes))), -1;
  if (!evc_format_available(f))
    return evc_err("cannot write %s: this build's cairo has no %s writer", path, evc_format_ext(f) + 1), -1;
  membuf m = {0};
  cairo_status_t st = f == EVC_FORMAT_SVG ? write_svg(cv, &m) : f == EVC_FORMAT_PDF ? write_pdf(cv, &m)
                                                                                     : write_png(cv, &m);
  if (st || m.failed) {
    free(m.p);
    return evc_err("encoding the %d x %d picture %s failed: %s", cv->w, cv->h, path,
                   m.failed ? "out of memory" : cairo_status_to_string(st)), -1;
  }
  int rc = evc_write_file(path, m.p, m.len);
  free(m.p);
  return rc ? -1 : 0;
}

evc_format evc_canvas_format(const char *path) {
  if (evc_figure_format != EVC_FORMAT_AUTO) return evc_figure_format;
  evc_format f = evc_format_of_path(path);
  return f == EVC_FORMAT_AUTO ? EVC_FORMAT_PNG : f;
}

int evc_canvas_png(const evc_canvas *cv, const char *path) {
  evc_format f = evc_canvas_format(path);
  if (save_as(cv, path, f)) return -1;
  /* the report's figure files besides its PNGs: x.png, then x.svg or x.pdf */
  if (f == EVC_FORMAT_PNG && !cv->raster && evc_figure_extra > EVC_FORMAT_PNG &&
      evc_format_of_path(path) == EVC_FORMAT_PNG) {
    size_t n = strlen(path);
    char *other = malloc(n + 1);
    if (!other) return evc_err("out of memory"), -1;
    memcpy(other, path, n - 4);
    memcpy(other + n - 4, evc_format_ext(evc_figure_extra), 5);
    int rc = save_as(cv, other, evc_figure_extra);
    free(other);
    return rc;
  }
  return 0;
}

/* Encode in memory, then write through the tool's atomic writer: stb's own
 * file writer ignores write errors. */
int evc_gray_png(const char *path, const unsigned char *g, int w, int h) {
  int len = 0;
  stbi_write_png_compression_level = 9;
  unsigned char *png = stbi_write_png_to_mem(g, w, w, h, 1, &len);
  if (!png) return evc_err("out of memory encoding the %d x %d picture %s", w, h, path), -1;
  int rc = evc_write_file(path, png, (size_t)len);
  free(png);
  return rc ? -1 : 0;
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
