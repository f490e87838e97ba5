/*
 * plot.h - the tool's pictures: a canvas drawn with cairo and written as
 * PNG, SVG or PDF, with the primitives the figures need, and the figures
 * themselves (class-coloured maps with a legend, image maps, thumbnail
 * grids, confusion matrix, scree plot, PCA biplot).
 */
#ifndef EVCLI_PLOT_H
#define EVCLI_PLOT_H

#include <stddef.h>
#include <stdint.h>

/* ---- palette ------------------------------------------------------------ */

/* Class colours (docs/cli.md, "Colours"). Up to 10 classes: Paul Tol's
 * "muted" qualitative scheme (nine colours told apart by readers with the
 * common colour-vision deficiencies) plus a mid grey as the tenth, the demo's
 * colours. 11 classes and more: Kelly's 22 colours of maximum contrast
 * (1965) without white and grey: 20 colours. Beyond 20 classes the 20
 * largest (by count) have a colour and the others are drawn in one grey,
 * EVC_OTHER_RGB, listed as "other (N classes)". */
#define EVC_PALETTE_SIZE 20
extern const unsigned char EVC_OTHER_RGB[3];

typedef struct evc_palette {
  int n_classes;
  int n_coloured;        /* classes with a colour of their own */
  int n_other;           /* classes with points drawn in EVC_OTHER_RGB */
  int64_t other_points;  /* points of those classes */
  int scheme;            /* 10 (Tol's muted + grey) or EVC_PALETTE_SIZE (Kelly's) */
  int16_t *slot;         /* per class: its colour in the scheme, or -1: "other" */
  int64_t *count;        /* per class: points with that label */
} evc_palette;

/* The colours of n_classes classes from the n labels y (NULL: no counts, the
 * first classes are coloured). Labels outside [0, n_classes) are not
 * counted. The same labels always give the same colours, so the pictures
 * and the page agree. 0, or -1 with a message printed (out of memory). */
int evc_palette_init(evc_palette *p, const int64_t *y, size_t n, int n_classes);
void evc_palette_free(evc_palette *p);  /* NULL or a zeroed palette: nothing */
/* Colour of class c: its own, or EVC_OTHER_RGB (also for c out of range). */
void evc_palette_rgb(const evc_palette *p, int64_t c, unsigned char rgb[3]);
/* The same as "#rrggbb". */
void evc_palette_hex(const evc_palette *p, int64_t c, char out[8]);
/* Colour k (any k; repeats after 10) of the ten-colour scheme, for pictures
 * that need a few fixed colours (the scree plot), not for classes. */
void evc_class_rgb(int64_t k, unsigned char rgb[3]);

/* ---- canvas ------------------------------------------------------------- */

/* A picture of w x h pixels drawn with cairo: every primitive is recorded
 * (two cairo recording surfaces: everything, and the shapes without the
 * text), and evc_canvas_png plays the recording back onto a PNG, SVG or PDF
 * surface, anti-aliased. Coordinates are pixels (PDF: points, 1 px = 1 pt;
 * SVG: px), (0, 0) the top left, y down. Text is DejaVu Sans (EVC_FONT,
 * Debian's fonts-dejavu-core): in PNG and PDF as cairo draws it, in SVG as
 * <text> elements. Draw calls never fail; a failure (out of memory) is
 * reported by the save. */
#define EVC_FONT "DejaVu Sans"
struct _cairo;
struct evc_canvas_text;
typedef struct evc_canvas {
  int w, h;
  int raster;                     /* a pixel picture: never written as SVG/PDF besides (evc_figure_extra) */
  int failed;                     /* out of memory while drawing: the save fails */
  struct _cairo *cr, *shapes;     /* the recordings (cairo_t *) */
  struct evc_canvas_text *text;   /* the text, for the SVG */
  size_t n_text, cap_text;
} evc_canvas;

/* Output formats. */
typedef enum evc_format { EVC_FORMAT_AUTO = 0, EVC_FORMAT_PNG, EVC_FORMAT_SVG, EVC_FORMAT_PDF } evc_format;
/* The format evc_canvas_png writes: AUTO (the default) by the path's
 * extension, .svg or .pdf (any case), PNG for any other name; or the one set
 * here for every save (embedviz plot --format). */
extern evc_format evc_figure_format;
/* SVG or PDF: each figure saved as PNG to a name ending in .png is also
 * written beside it in this format, x.png then x.svg or x.pdf (embedviz
 * report --format); canvases with `raster` set are not. AUTO or PNG: none. */
extern evc_format evc_figure_extra;
/* "png", "svg" or "pdf" into *f: 0, or non-zero with a message naming
 * option opt printed (an unknown name, or one this build's cairo lacks). */
int evc_format_parse(const char *opt, const char *s, evc_format *f);
int evc_format_available(evc_format f);           /* 1: this build writes f */
const char *evc_format_ext(evc_format f);         /* ".png", ".svg", ".pdf" */
evc_format evc_format_of_path(const char *path);  /* by extension; AUTO: none of the three */
evc_format evc_canvas_format(const char *path);   /* what evc_canvas_png(cv, path) writes */

int evc_canvas_init(evc_canvas *cv, int w, int h);  /* white; 0 or -1 (message printed) */
void evc_canvas_free(evc_canvas *cv);               /* a zeroed or freed canvas: nothing */
/* Save the picture to path in evc_canvas_format(path) (see above) through
 * the tool's safe writer (evc_write_file: temporary file, fsync, rename), and
 * the extra format besides (evc_figure_extra). 0 or -1 (message printed). */
int evc_canvas_png(const evc_canvas *cv, const char *path);
/* A one-channel grey picture (w x h bytes), as PNG. 0 or -1. */
int evc_gray_png(const char *path, const unsigned char *g, int w, int h);
/* An RGB picture (w x h x 3 bytes) as a JPEG of the given quality. 0 or -1. */
int evc_rgb_jpg(const char *path, const unsigned char *rgb, int w, int h, int quality);

/* alpha in [0, 1] blends over what is there. */
void evc_fill_rect(evc_canvas *cv, int x0, int y0, int x1, int y1,
                   const unsigned char rgb[3], float alpha);
void evc_rect_outline(evc_canvas *cv, int x0, int y0, int x1, int y1,
                      int width, const unsigned char rgb[3]);
void evc_disc(evc_canvas *cv, float cx, float cy, float r,
              const unsigned char rgb[3], float alpha);
void evc_ring(evc_canvas *cv, float cx, float cy, float r, float width,
              const unsigned char rgb[3]);
void evc_line(evc_canvas *cv, float x0, float y0, float x1, float y1,
              float width, const unsigned char rgb[3]);
/* A line with a filled head at (x1, y1). */
void evc_arrow(evc_canvas *cv, float x0, float y0, float x1, float y1,
               const unsigned char rgb[3]);
/* A line through n points (xy: n x 2), joined round: one path in SVG/PDF. */
void evc_polyline(evc_canvas *cv, const float *xy, int n, float width, const unsigned char rgb[3]);
/* A dashed line: dashes and gaps of `dash` pixels. */
void evc_dashed_line(evc_canvas *cv, float x0, float y0, float x1, float y1,
                     float width, float dash, const unsigned char rgb[3]);
/* Text at size evc_font_px(scale) (scale 2: 14 px), (x, y) the top left of
 * its capitals. UTF-8 is drawn (what DejaVu Sans lacks as a box); control
 * characters as spaces, ill-formed bytes as '?'. */
void evc_text(evc_canvas *cv, int x, int y, const char *s, int scale,
              const unsigned char rgb[3]);
/* The same turned a quarter left, read from bottom to top: (x, y) is the
 * bottom left of the turned text, which reaches up to y - width. */
void evc_text_up(evc_canvas *cv, int x, int y, const char *s, int scale,
                 const unsigned char rgb[3]);
int evc_text_width(const char *s, int scale);   /* advance in pixels, rounded up */
float evc_font_px(int scale);                  /* 8.5 px for scale 1, then 7 px a step */
/* s, or s shortened in the middle to "start...end" (whole characters, the
 * end up to a third of the width), at most max_w pixels wide, into out (len
 * bytes): names that share a long start or end stay apart. */
void evc_text_fit(const char *s, int scale, int max_w, char *out, size_t len);
/* An RGB picture (w x h pixels, rows `stride` bytes apart) with its top
 * left at (x, y), each pixel a square of zoom x zoom (no smoothing): heat
 * maps, images. In SVG and PDF an embedded image. */
void evc_blit_rgb(evc_canvas *cv, float x, float y, const unsigned char *rgb, int w, int h, size_t stride,
                  float zoom);
/* Thumbnail t of a thumbnail set (see evc_thumbs) drawn at (x, y),
 * scaled by an integer zoom: only the picture, centred in its square cell
 * (aspect kept), with a border of `border` pixels in rgb around the
 * picture (NULL: none). */
struct evc_thumbs;
void evc_blit_thumb(evc_canvas *cv, int x, int y, const struct evc_thumbs *t, size_t i, int zoom, int border,
                    const unsigned char *rgb);

/* Axes of a plot area (x0, y0, w, h pixels) showing the data ranges
 * [x->lo, x->hi] left to right and [y->lo, y->hi] bottom to top: the left
 * and bottom lines, ticks outwards at round numbers (1, 2 or 5 times a
 * power of ten; whole numbers only with `integer`) with their values, light
 * grid lines with `grid`, and each axis' label (NULL: none), the y label
 * turned. `percent`: values shown times 100 with "%". Ticks and numbers
 * take about 60 px left of x0 and 44 px below y0 + h (with labels). */
typedef struct evc_axis {
  double lo, hi;
  const char *label;
  int grid, percent, integer;
} evc_axis;
void evc_axes(evc_canvas *cv, int x0, int y0, int w, int h, const evc_axis *x, const evc_axis *y);
/* Round tick values in [lo, hi]: at most max_ticks (> 1) into t; the count.
 * *decimals: digits after the point that tell them apart. */
int evc_ticks(double lo, double hi, int max_ticks, int integer, double *t, int *decimals);
/* "PC<k+1> (29.8 %)" from k explained variance ratios (ratio NULL or k
 * too short: "PC<k+1>"). */
void evc_pc_label(int pc, const float *ratio, size_t k, char *out, size_t len);

/* ---- thumbnails ----------------------------------------------------------- */

/* The report's pictures of its images, at thumbnail size only: n squares
 * of side x side RGB bytes, each picture centred in its square with its
 * aspect ratio kept (w[i] x h[i] pixels, the rest white). Grey data (the
 * demo's) is stored dark on light, as the pictures show it, and grey set. */
typedef struct evc_thumbs {
  int side;
  int grey;             /* every picture grey: the sprite has one channel */
  size_t n;
  unsigned char *px;    /* n x side x side x 3 */
  uint16_t *w, *h;      /* the picture inside square i */
} evc_thumbs;

int evc_thumbs_alloc(evc_thumbs *t, size_t n, int side);   /* 0 or -1 */
void evc_thumbs_free(evc_thumbs *t);
/* Square i as a packed w x h x 3 picture (RGB rows), centred on white. */
void evc_thumbs_put(evc_thumbs *t, size_t i, const unsigned char *rgb, int w, int h);
/* Square i from a grey image of side x side floats (0 = light, vmax = dark). */
void evc_thumbs_put_grey(evc_thumbs *t, size_t i, const float *img, float vmax);

/* ---- figures ------------------------------------------------------------ */

typedef struct evc_labels {
  const int64_t *y;          /* n class labels, or NULL (one colour) */
  int n_classes;
  const char *const *names;  /* n_classes names, or NULL ("class c") */
  /* The classes' colours, or NULL: each figure makes them from y (the same
   * colours; give one to share it with thumbnails and the page). */
  const evc_palette *palette;
} evc_labels;

/* Scatter of n points (xy: n x 2, leading dimension ld) coloured by class,
 * with a legend; points whose `mark` is non-zero are circled. 0 or -1. */
int evc_fig_scatter(const char *path, const float *xy, size_t n, size_t ld,
                    const evc_labels *lab, const unsigned char *mark,
                    const char *title);
/* The same with the legend's name of the ringed points (evc_fig_scatter:
 * "misclassified"). The axes have ticks and no labels. */
int evc_fig_scatter_marked(const char *path, const float *xy, size_t n, size_t ld,
                           const evc_labels *lab, const unsigned char *mark,
                           const char *mark_label, const char *title);
/* The same with axis labels (NULL: none), e.g. "t-SNE 1" or evc_pc_label's. */
int evc_fig_scatter_axes(const char *path, const float *xy, size_t n, size_t ld, const evc_labels *lab,
                         const unsigned char *mark, const char *mark_label, const char *title,
                         const char *xlabel, const char *ylabel);
/* count maps of the same n points side by side (xy[m]: n x 2, leading
 * dimension ld[m]) with titles and one legend below: the depth picture. */
int evc_fig_maps_row(const char *path, const float *const *xy, const size_t *ld, size_t n, int count,
                     const char *const *titles, const evc_labels *lab);
/* Every image's thumbnail at its map position (a grid cell each: the first
 * image to reach a cell keeps it), bordered in its class colour. */
int evc_fig_image_map(const char *path, const float *xy, size_t n, size_t ld,
                      const evc_thumbs *t, const evc_labels *lab,
                      int canvas_px);
/* Rows of thumbnails: row r shows thumbnails idx[r*cols .. r*cols+cols-1]
 * of t (-1: empty), the first column set apart as the query, bordered in
 * the colour of labels[r*cols + c] in pal (labels NULL: dark grey). */
int evc_fig_thumb_rows(const char *path, const evc_thumbs *t,
                       const int64_t *idx, int rows, int cols,
                       const int64_t *labels, const evc_palette *pal,
                       const char *title);
/* One thumbnail, zoomed, the picture only (its own aspect ratio). */
int evc_fig_thumb(const char *path, const evc_thumbs *t, size_t i, int zoom);
/* All n thumbnails in a grid of `per_row` columns, no border, 1:1: the
 * sprite the interactive map draws hovered images from. Grey thumbnails
 * are written as a one-channel PNG, colour ones as a JPEG (photos: a
 * tenth of the bytes): use evc_sprite_name for the file name. */
int evc_fig_sprite(const char *path, const evc_thumbs *t, int per_row);
const char *evc_sprite_name(const evc_thumbs *t);
/* The most classes a confusion picture shows (cells of 2 px). */
#define EVC_MAX_CONFUSION_CLASSES 1000
/* The largest class label the plots take (the legend lists what fits). */
#define EVC_MAX_LABEL 65535
/* 0, or -1 with "<what>: point i has x coordinate nan..." printed. */
int evc_check_points(const char *what, const float *xy, size_t n, size_t ld);
/* Confusion matrix heatmap (c x c counts, rows = true, columns =
 * predicted) with per-class accuracy in a last column and a colour scale.
 * Cells are 2100 / c pixels (between 2 and 52) and coloured by the square
 * root of count / largest count; names label the rows and, turned, the
 * columns, every k-th when cells are smaller than 14 pixels. */
int evc_fig_confusion(const char *path, const int64_t *counts, int c,
                      const char *const *names, const float *accuracy);
/* The same; with rows_normalised each cell is coloured (and numbered) by its
 * share of its row, the true class, so small classes read like large ones. */
int evc_fig_confusion_ex(const char *path, const int64_t *counts, int c,
                         const char *const *names, const float *accuracy,
                         int rows_normalised);
/* Scree: bars of explained variance ratio (the first 40) and the curve of
 * their cumulative sum, on axes with ticks. */
int evc_fig_scree(const char *path, const float *ratio, size_t k,
                  const char *title);
/* Biplot: scores (n x 2, ld) coloured by class, and arrows for the
 * n_arrows features with the largest loadings (comp: 2 x d, leading
 * dimension ldc), labelled "f<index>". */
int evc_fig_biplot(const char *path, const float *scores, size_t n,
                   size_t ld, const evc_labels *lab, const float *comp,
                   size_t d, size_t ldc, int n_arrows, const char *title);
/* The same with the axes named by their share of the variance, "PC1 (29.8 %)",
 * from the k explained variance ratios (NULL: "PC1", "PC2"). */
int evc_fig_biplot_ex(const char *path, const float *scores, size_t n, size_t ld, const evc_labels *lab,
                      const float *comp, size_t d, size_t ldc, int n_arrows, const char *title,
                      const float *ratio, size_t k);
/* The same on any map, its axes named xlabel and ylabel: the arrows of the
 * n_arrows longest (comp[j], comp[ldc + j]) from the map's origin (a ridge
 * regression's weights on a t-SNE map). */
int evc_fig_arrows(const char *path, const float *scores, size_t n, size_t ld, const evc_labels *lab,
                   const float *comp, size_t d, size_t ldc, int n_arrows, const char *title, const char *xlabel,
                   const char *ylabel);

#endif
