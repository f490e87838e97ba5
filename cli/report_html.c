/*
 * report_html.c - index.html of a report: the story in eight sections, the
 * pictures by relative name, the data of the interactive maps inline, and
 * the script and style inline (cli/report.js and cli/report.css, turned
 * into C strings at build time), so the page works offline from the folder.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "report.h"
#include "report_fmaps.h"
#include "report_assets.h"   /* REPORT_JS, REPORT_CSS (generated) */

static void html_text(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else if (*s == '"') fputs("&quot;", f);
    else fputc(*s, f);
  }
}

/* A JavaScript (and JSON) string: quotes, backslashes, control characters
 * and < > & escaped, so no name can end the string or the script. */
static void js_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\' || *p == '<' || *p == '>' || *p == '&' || *p < 32 || *p == 127)
      fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static const char *cname(const evr_data *d, int64_t c, char *buf, size_t len) {
  if (d->class_names && c >= 0 && c < d->n_classes) return d->class_names[c];
  snprintf(buf, len, "class %lld", (long long)c);
  return buf;
}

/* ---- the data of the interactive maps --------------------------------- */

static void js_floats(FILE *f, const char *key, const evc_mat *m, size_t cols) {
  fprintf(f, "%s:new Float32Array([", key);
  for (size_t i = 0; i < m->rows; i++)
    for (size_t c = 0; c < cols; c++) fprintf(f, "%s%.3g", i || c ? "," : "", m->f[i * m->cols + c]);
  fputs("]),\n", f);
}

/* Class names and colours: one colour per class, as in the pictures (the
 * same palette from the same labels), "other" classes in otherColour. */
static int write_classes(FILE *f, const evr_data *d) {
  char buf[32], hex[8];
  evc_palette pal;
  if (evc_palette_init(&pal, d->labels.i, d->labels.rows, d->n_classes)) return 1;
  fputs("names:[", f);
  for (int c = 0; c < d->n_classes; c++) {
    if (c) fputc(',', f);
    js_string(f, cname(d, c, buf, sizeof buf));
  }
  fputs("],\ncolours:[", f);
  for (int c = 0; c < d->n_classes; c++) {
    evc_palette_hex(&pal, c, hex);
    fprintf(f, "%s\"%s\"", c ? "," : "", hex);
  }
  fputs("],\ncoloured:new Uint8Array([", f);
  for (int c = 0; c < d->n_classes; c++) fprintf(f, "%s%d", c ? "," : "", pal.slot[c] >= 0);
  fprintf(f, "]),\notherColour:\"#%02x%02x%02x\",\n", EVC_OTHER_RGB[0], EVC_OTHER_RGB[1], EVC_OTHER_RGB[2]);
  evc_palette_free(&pal);
  return 0;
}

static int write_data(FILE *f, const evr_options *o, const evr_data *d, const evr_results *r) {
  size_t n = d->labels.rows;
  fputs("<script>window.EMBEDVIZ={\n", f);
  if (write_classes(f, d)) return 1;
  evr_fmaps fm;
  evr_fmaps_plan(o, d, &fm);
  evr_fmaps_js(f, d, &fm);
  if (d->has_images)
    fprintf(f, "sprite:{file:\"%s\",side:%d,perRow:64,grey:%d},\nk:%zu,\n", evc_sprite_name(&d->thumbs),
            d->thumbs.side, d->thumbs.grey, r->nn_self.cols);
  else
    fprintf(f, "sprite:null,\nk:%zu,\n", r->nn_self.cols);
  fputs("labels:new Int16Array([", f);
  for (size_t i = 0; i < n; i++) fprintf(f, "%s%lld", i ? "," : "", (long long)d->labels.i[i]);
  fputs("]),\npred:new Int16Array([", f);
  for (size_t i = 0; i < n; i++) fprintf(f, "%s%d", i ? "," : "", r->top1[i]);
  fputs("]),\nprob:new Float32Array([", f);
  for (size_t i = 0; i < n; i++) fprintf(f, "%s%.2f", i ? "," : "", r->top_prob[i]);
  fputs("]),\nnn:new Int32Array([", f);
  for (size_t i = 0; i < n * r->nn_self.cols; i++) fprintf(f, "%s%lld", i ? "," : "", (long long)r->nn_self.i[i]);
  fputs("]),\n", f);
  js_floats(f, "map", &r->map[d->penultimate], 2);
  js_floats(f, "map3d", &r->map3d, 3);
  fputs("};</script>\n", f);
  return 0;
}

/* ---- sections ------------------------------------------------------------ */

/* With report --format svg or pdf, the caption links the figure's file in
 * that format (written beside the PNG, evc_figure_extra). */
static void vector_link(FILE *f, const char *src) {
  size_t n = strlen(src);
  if (evc_figure_extra <= EVC_FORMAT_PNG || n < 4 || strcmp(src + n - 4, ".png")) return;
  const char *ext = evc_format_ext(evc_figure_extra);
  fprintf(f, " (<a href=\"%.*s%s\">%s</a>)", (int)(n - 4), src, ext, evc_figure_extra == EVC_FORMAT_SVG ? "SVG" : "PDF");
}

static void figure_class(FILE *f, const char *cls, const char *src, const char *caption) {
  fprintf(f, "<figure%s%s%s><img src=\"%s\" alt=\"", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "", src);
  html_text(f, caption);
  fputs("\"><figcaption>", f);
  html_text(f, caption);
  vector_link(f, src);
  fputs("</figcaption></figure>\n", f);
}

static void figure(FILE *f, const char *src, const char *caption) { figure_class(f, NULL, src, caption); }

static void section_depth(FILE *f, const evr_data *d, const evr_results *r) {
  fprintf(f, "<h2>1. What each depth sees</h2>\n<p class=\"lead\">t-SNE maps of the same %zu test images, from the raw "
             "pixels to the class probabilities, each point coloured by its true class. The network was never told "
             "to make clusters: they appear, and sharpen with depth, because the features it learns to classify "
             "separate the classes.</p>\n<div class=\"row\">\n", d->labels.rows);
  figure_class(f, "wide", "maps_by_depth.png", "the test images mapped at each depth, coloured by true class");
  fputs("</div>\n<p>Each map alone, larger: ", f);
  char src[320], cap[320];
  for (int l = 0; l < d->n_layers; l++) {
    evr_map_file(d, l, ".png", src, sizeof src);
    evr_layer_title(d, l, cap, sizeof cap);
    fprintf(f, "%s<a href=\"%s\">", l ? ", " : "", src);
    html_text(f, cap);
    if (r->has_quality)
      fprintf(f, " (trustworthiness %.3f, continuity %.3f)", r->quality[l][EV_MAP_TRUSTWORTHINESS],
              r->quality[l][EV_MAP_CONTINUITY]);
    fputs("</a>", f);
  }
  fputs(".</p>\n", f);
  if (r->umap[0].f) {   /* --maps tsne,umap */
    fputs("<p>UMAP maps of the same images beside them (McInnes et al. 2018; 15 neighbours, the same rows as "
          "t-SNE; docs/umap.md). UMAP keeps more of the layout between clusters at its defaults; the other "
          "figures of this page use the t-SNE maps.</p>\n<div class=\"row umap\">\n", f);
    for (int l = 0; l < d->n_layers; l++) {
      evr_map_file(d, l, "_umap.png", src, sizeof src);
      evr_layer_title(d, l, cap, sizeof cap);
      char text[400];
      snprintf(text, sizeof text, "UMAP: %s", cap);
      figure(f, src, text);
    }
    fputs("</div>\n", f);
  }
  if (!r->has_quality) return;
  int k = r->has_quality;
  fprintf(f, "<p>How far each map can be trusted, with the %d nearest neighbours of each image (docs/quality.md). "
             "<b>Trustworthiness</b>: are the neighbours on the map true neighbours in the layer, or did the map "
             "bring strangers together? <b>Continuity</b>: are the layer's true neighbours kept together on the "
             "map, or torn apart? Both are 1 for a perfect map and about 0.5 for a random one. <b>%d-NN kept</b>: "
             "the fraction of each image's %d nearest neighbours in the layer that are among its %d nearest on "
             "the map. <b>%d-NN label accuracy</b>: how often an image's class is the majority class of its %d "
             "nearest neighbours on the map. Each map is measured against the rows it was made from, with the "
             "Euclidean distance: the layer's values, or for a layer of more than %d values its first 50 "
             "principal components, the rows t-SNE started from.</p>\n<table class=\"quality\"><tr><th>layer</th>"
             "<th>measured on</th><th>trustworthiness</th><th>continuity</th><th>%d-NN kept</th>"
             "<th>%d-NN label accuracy</th></tr>\n", k, k, k, k, k, k, EVR_QUALITY_WIDE, k, k);
  for (int l = 0; l < d->n_layers; l++) {
    evr_layer_title(d, l, cap, sizeof cap);
    fputs("<tr><td>", f);
    html_text(f, cap);
    if (r->quality_cols[l] == d->layer[l].cols)
      fprintf(f, "</td><td>its %zu values</td>", d->layer[l].cols);
    else
      fprintf(f, "</td><td>%zu principal components of %zu values</td>", r->quality_cols[l], d->layer[l].cols);
    for (int m = 0; m < EV_MAP_MEASURES; m++) fprintf(f, "<td class=\"num\">%.4f</td>", r->quality[l][m]);
    fputs("</tr>\n", f);
  }
  fputs("</table>\n", f);
}

static void section_3d_and_images(FILE *f, const evr_data *d) {
  fprintf(f, "<h2>2. The penultimate layer in three dimensions</h2>\n<p class=\"lead\">Drag to turn the map, scroll "
             "to zoom. Nearer points are larger and darker.</p>\n<div class=\"legend\"></div>\n"
             "<canvas id=\"map3d\" class=\"map\" width=\"700\" height=\"700\"></canvas>\n");
  if (!d->has_images) {
    fputs("<h2>3. The image map</h2>\n<p class=\"lead\">No images were given (--images), so there are no pictures: "
          "no image map and no nearest-neighbour pictures.</p>\n", f);
    return;
  }
  fprintf(f, "<h2>3. The image map</h2>\n<p class=\"lead\">Each test image's thumbnail at its place on the map of the "
             "penultimate layer (%s), bordered in its class colour; where images would overlap the first one is "
             "shown. Neighbours on the map look alike to the network.</p>\n<div class=\"row\">",
          d->layer_name[d->penultimate]);
  figure_class(f, "big", "image_map.png", "image map of the penultimate layer");
  fputs("</div>\n", f);
  if (d->kind == EVR_DEMO)
    fputs("<h2>4. Nearest neighbours: pixels against features</h2>\n<p class=\"lead\">Test images (left) and "
          "their 10 nearest training images, borders in the class colour. In pixel space neighbours share "
          "brightness and outline, whatever they are; in the penultimate layer's feature space they share the "
          "class. (The test images are those of six classes where this contrast is clearest among the first "
          "1,000.)</p>\n<div class=\"row\">", f);
  else {
    fputs("<h2>4. Nearest neighbours: pixels against features</h2>\n<p class=\"lead\">Query images (left) and "
          "their 10 nearest reference images, borders in the class colour. In pixel space (each picture fitted in "
          "32 x 32 pixels, aspect kept, as 32 x 32 x 3 colour values) neighbours share colours and layout, "
          "whatever they show; in the penultimate layer's feature space they share the class. (The queries are "
          "those of six classes where this contrast is clearest.) ", f);
    html_text(f, d->split);
    fputs("</p>\n<div class=\"row\">", f);
  }
  figure(f, "neighbours_pixels.png", "nearest in pixel space");
  figure(f, "neighbours_features.png", "nearest in feature space");
  fputs("</div>\n", f);
}

static void section_ambiguity(FILE *f, const evr_data *d, const evr_results *r) {
  char b1[32], b2[32], b3[32];
  fprintf(f, "<h2>5. The most ambiguous images</h2>\n<p class=\"lead\">Ambiguity is the second-largest class probability "
        "over the largest: 0 when the network is sure, 1 when it cannot choose between two classes. The most "
        "ambiguous images are often truly between classes%s.</p>\n"
        "<div class=\"row\"><div><table class=\"ambiguous\"><tr>%s<th>#</th><th>ambiguity</th>"
        "<th>likeliest</th><th>second</th><th>true class</th></tr>\n",
        d->fashion ? " (shirt or T-shirt, coat or pullover)" : "", d->has_images ? "<th>image</th>" : "");
  for (int k = 0; k < r->n_ambiguous; k++) {
    int64_t i = r->most_ambiguous[k];
    fputs("<tr>", f);
    if (d->has_images) fprintf(f, "<td><img src=\"ambiguous_%02d.png\" alt=\"test image %lld\"></td>", k, (long long)i);
    fprintf(f, "<td class=\"num\">%lld</td><td class=\"num\">%.3f</td><td>", (long long)i, r->ambiguity[i]);
    html_text(f, cname(d, r->top1[i], b1, 32));
    fputs("</td><td>", f);
    html_text(f, cname(d, r->top2[i], b2, 32));
    fputs("</td><td>", f);
    html_text(f, cname(d, d->labels.i[i], b3, 32));
    fputs("</td></tr>\n", f);
  }
  fputs("</table></div>\n", f);
  figure(f, "softmax_misclassified.png", "the map of the class scores with the misclassified images circled");
  fputs("</div>\n", f);
}

static void section_issues(FILE *f, const evr_data *d, const evr_results *r) {
  if (!r->has_issues) return;
  char b1[32], b2[32];
  fprintf(f, "<h2>6. Possible label errors</h2>\n<p class=\"lead\">Images whose given label is probably wrong. "
             "Each image gets two opinions on its class: the network's probabilities, and the labels of its "
             "%d nearest neighbours in the penultimate layer (%s), weighted by distance. The score is 1 minus "
             "the geometric mean of the two opinions' probability of the given label; confident learning's "
             "filter (Northcutt, Jiang &amp; Chuang, 2021), applied to the product of the two opinions, flags the "
             "likely errors, and the suggested label is that product's likeliest class (docs/quality.md). ",
          r->issue_k, d->layer_name[d->penultimate]);
  if (!r->n_flagged) {
    fputs("No image was flagged.</p>\n", f);
    return;
  }
  fprintf(f, "%d image%s flagged%s.</p>\n<div class=\"row\"><div><table class=\"issues\"><tr>%s<th>#</th>"
             "<th>given label</th><th>suggested label</th><th>score</th><th>network's p(given)</th>"
             "<th>neighbours disagreeing</th></tr>\n", r->n_flagged, r->n_flagged == 1 ? " was" : "s were",
          r->n_flagged > r->n_issues ? "; the most likely are shown" : "", d->has_images ? "<th>image</th>" : "");
  for (int k = 0; k < r->n_issues; k++) {
    int64_t i = r->issues[k];
    const float *ev = r->issue_ev + (size_t)i * EV_ISSUE_FIELDS;
    fputs("<tr>", f);
    if (d->has_images) fprintf(f, "<td><img src=\"label_issue_%02d.png\" alt=\"test image %lld\"></td>", k, (long long)i);
    fprintf(f, "<td class=\"num\">%lld</td><td>", (long long)i);
    html_text(f, cname(d, d->labels.i[i], b1, 32));
    fputs("</td><td>", f);
    html_text(f, cname(d, r->suggested[i], b2, 32));
    fprintf(f, "</td><td class=\"num\">%.3f</td><td class=\"num\">%.3f</td><td class=\"num\">%.0f%%</td></tr>\n",
            ev[EV_ISSUE_SCORE], ev[EV_ISSUE_SELF_CONFIDENCE], 100 * ev[EV_ISSUE_NEIGHBOR_DISAGREEMENT]);
  }
  fputs("</table></div>\n", f);
  figure(f, "label_issues.png", "the map of the penultimate layer with these images circled");
  fputs("</div>\n", f);
}

/* Rows of the per-class table, worst first: lowest accuracy, then more
 * images, then class order; classes without images last. */
typedef struct class_row { float acc; int64_t count; int c; } class_row;
static int worst_first(const void *a, const void *b) {
  const class_row *x = a, *y = b;
  int nx = !isfinite(x->acc), ny = !isfinite(y->acc);
  if (nx != ny) return nx - ny;
  if (!nx && x->acc != y->acc) return x->acc < y->acc ? -1 : 1;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  return (x->c > y->c) - (x->c < y->c);
}

/* The per-class table: name (with its colour), images, accuracy and the
 * class it is most often taken for; sortable by clicking a header
 * (report.js), worst first as written. */
static int class_table(FILE *f, const evr_data *d, const evr_results *r) {
  int c = d->n_classes;
  class_row *row = calloc((size_t)c, sizeof *row);
  evc_palette pal;
  if (!row || evc_palette_init(&pal, d->labels.i, d->labels.rows, c)) {
    free(row);
    return evc_err("out of memory for the table of %d classes", c);
  }
  for (int k = 0; k < c; k++) row[k].acc = r->class_accuracy[k], row[k].c = k;
  for (int k = 0; k < c * c; k++) row[k / c].count += r->confusion[k];
  qsort(row, (size_t)c, sizeof *row, worst_first);
  fputs("<div class=\"tablebox\"><table class=\"classes sortable\" id=\"class-table\"><thead><tr>"
        "<th data-sort=\"text\">class</th><th data-sort=\"num\">images</th>"
        "<th data-sort=\"num\" aria-sort=\"ascending\">accuracy</th>"
        "<th data-sort=\"text\">most often taken for</th></tr></thead>\n<tbody>\n", f);
  char b1[32], b2[32], hex[8];
  for (int k = 0; k < c; k++) {
    int q = row[k].c, worst = -1;
    for (int p = 0; p < c; p++)
      if (p != q && r->confusion[(size_t)q * c + p] > 0 && (worst < 0 || r->confusion[(size_t)q * c + p] >
                                                                           r->confusion[(size_t)q * c + worst]))
        worst = p;
    evc_palette_hex(&pal, q, hex);
    fprintf(f, "<tr data-class=\"%d\"><td><i class=\"dot\" style=\"background:%s\"></i>", q, hex);
    html_text(f, cname(d, q, b1, sizeof b1));
    fprintf(f, "</td><td class=\"num\">%lld</td>", (long long)row[k].count);
    float acc = r->class_accuracy[q];
    if (isfinite(acc)) fprintf(f, "<td class=\"num\" data-v=\"%.6f\">%.1f%%</td><td>", acc, 100 * acc);
    else fputs("<td class=\"num\" data-v=\"\">-</td><td>", f);
    if (worst >= 0) {
      html_text(f, cname(d, worst, b2, sizeof b2));
      fprintf(f, " (%lld)", (long long)r->confusion[(size_t)q * c + worst]);
    }
    fputs("</td></tr>\n", f);
  }
  fputs("</tbody></table></div>\n", f);
  evc_palette_free(&pal);
  free(row);
  return 0;
}


/* The ridge regressions on the penultimate layer's t-SNE map: why a point
 * sits where it sits, as far as a linear model of the features can say. */
static const char *ridge_rows_note(const evr_results *r, const evr_data *d, char *buf, size_t len) {
  if (r->ridge_rows >= d->labels.rows) return "";
  snprintf(buf, len, "; fitted on %zu of the %zu images, spread evenly over them", r->ridge_rows, d->labels.rows);
  return buf;
}

static void section_ridge(FILE *f, const evr_data *d, const evr_results *r) {
  char buf[160];
  if (!r->ridge_coef.f) return;
  const evc_mat *x = &d->layer[d->penultimate];
  fprintf(f, "<p class=\"lead\">Why the points sit where they sit on the t-SNE map of the penultimate layer: two "
             "ridge regressions from its %zu features to the map's axes (alpha %.3g, chosen by leave-one-out error%s). "
             "They explain R&sup2; = %.2f and %.2f of the axes on the points they were fitted on, and %.2f and %.2f on "
             "points left out, the honest figures: a t-SNE axis is not a linear function of the features, and a low "
             "left-out R&sup2; says the arrows describe the map only roughly.%s The arrows are the 8 features with "
             "the largest weights.</p>\n<div class=\"row\">",
          x->cols, r->ridge_alpha, ridge_rows_note(r, d, buf, sizeof buf), r->ridge_r2[0], r->ridge_r2[1], r->ridge_r2_cv[0], r->ridge_r2_cv[1],
          r->ridge_rank < x->cols ? " The features span fewer dimensions than there are features (or there are fewer "
                                    "points than features): the regularisation sets the weights the data leave open."
                                  : "");
  figure(f, "ridge_biplot.png", "t-SNE map of the penultimate layer with the ridge weights as arrows");
  fputs("</div>\n", f);
}

static int section_confusion_pca(FILE *f, const evr_data *d, const evr_results *r) {
  fprintf(f, "<h2>7. Where the network goes wrong</h2>\n<p class=\"lead\">Accuracy on these %zu test images: "
             "<b>%.1f%%</b>. The confusions sit between garments of the same shape.</p>\n<div class=\"row\">",
          d->labels.rows, 100 * r->accuracy);
  /* many classes: a larger picture, and the full size a click away */
  fprintf(f, "<figure%s><a href=\"confusion.png\"><img src=\"confusion.png\" alt=\"confusion matrix\"></a>"
             "<figcaption>confusion matrix (rows: true class) and per-class accuracy%s",
          d->n_classes > 20 ? " class=\"big\"" : "", d->n_classes > 20 ? "; click for the full size" : "");
  vector_link(f, "confusion.png");
  fputs("</figcaption></figure>\n", f);
  fputs("<div><p class=\"note\">Each class, the worst first; click a header to sort, a name to find its "
        "images on the map below.</p>\n", f);
  if (class_table(f, d, r)) return 1;
  fputs("</div></div>\n", f);
  float two = r->pca_ratio.rows > 1 ? r->pca_ratio.f[0] + r->pca_ratio.f[1] : r->pca_ratio.f[0];
  fprintf(f, "<h2>8. PCA of the penultimate layer</h2>\n<p class=\"lead\">A linear view of the same features: the "
             "first two principal components explain %.0f%% of the variance. The arrows are the features with the "
             "largest loadings on them: the directions the network uses most.</p>\n<div class=\"row\">",
          100 * two);
  figure(f, "pca_biplot.png", "PCA map with the strongest loadings as arrows");
  figure(f, "pca_scree.png", "scree plot: explained variance per component");
  fputs("</div>\n", f);
  section_ridge(f, d, r);
  return 0;
}

static void section_interactive(FILE *f, const evr_data *d) {
  int side = d->has_images ? d->thumbs.side : 28;
  fprintf(f, "<h2 id=\"explore\">9. Explore</h2>\n<p class=\"lead\">The map of the penultimate layer. Hover a point "
        "to see its %slabel and prediction; click it to list its nearest neighbours in feature space. Type a "
        "class name to light up its images.</p>\n"
        "<div class=\"search\"><label for=\"class-search\">Find a class</label> <input type=\"search\" "
        "id=\"class-search\" list=\"class-list\" placeholder=\"class name\" autocomplete=\"off\">"
        "<datalist id=\"class-list\"></datalist> <span id=\"search-status\" aria-live=\"polite\"></span></div>\n"
        "<div class=\"legend\"></div>\n<div class=\"row\"><div class=\"mapbox\">"
        "<canvas id=\"imap\" class=\"map\" width=\"700\" height=\"700\"></canvas>"
        "<div id=\"tip\" hidden><canvas width=\"%d\" height=\"%d\"%s></canvas><div class=\"tip-text\"></div></div>"
        "</div>\n<div id=\"nn-list\"><p>Click a point.</p></div></div>\n", d->has_images ? "image, " : "",
        side, side, d->has_images ? (d->thumbs.grey ? "" : " class=\"photo\"") : " hidden");
}

/* Where the data came from and what was done to it: the facts a reader
 * needs to trust the pictures. */
static void section_data(FILE *f, const evr_data *d) {
  if (d->kind == EVR_DEMO) return;
  fputs("<h2>The data</h2>\n<ul class=\"facts\">\n<li>", f);
  html_text(f, d->source);
  fputs("</li>\n", f);
  const char *facts[4] = {d->prep, d->layers_why, d->pooling, d->split};
  for (int k = 0; k < 4; k++) {
    if (!*facts[k] || (k == 3 && !d->has_images)) continue;
    fputs("<li>", f);
    html_text(f, facts[k]);
    fputs("</li>\n", f);
  }
  if (d->n_converted && d->kind == EVR_FOLDER && d->grey_model)
    fprintf(f, "<li>%zu colour image%s converted to grey for the model's one input channel (convert(\"L\")); "
               "the thumbnails show them in colour.</li>\n", d->n_converted, d->n_converted == 1 ? " was" : "s were");
  else if (d->n_converted)
    fprintf(f, "<li>%zu grey image%s converted to RGB for the model (convert(\"RGB\"): the grey value in each "
               "channel).</li>\n", d->n_converted, d->n_converted == 1 ? " was" : "s were");
  if (d->has_images)
    fprintf(f, "<li>Thumbnails keep each image's colour and aspect ratio; they are stored at %d x %d pixels at most, "
               "never at full size.</li>\n", d->thumbs.side, d->thumbs.side);
  fputs("</ul>\n", f);
  if (d->n_skipped) {
    fprintf(f, "<details class=\"skipped\" open><summary>%zu file%s could not be read and %s left out</summary>"
               "<table><tr><th>file</th><th>why</th></tr>\n", d->n_skipped, d->n_skipped == 1 ? "" : "s",
            d->n_skipped == 1 ? "was" : "were");
    for (size_t k = 0; k < d->n_skipped; k++) {
      fputs("<tr><td>", f);
      html_text(f, d->skipped[k].path);
      fputs("</td><td>", f);
      html_text(f, d->skipped[k].reason);
      fputs("</td></tr>\n", f);
    }
    fputs("</table></details>\n", f);
  }
  if (d->n_ignored) {
    fprintf(f, "<details class=\"ignored\"><summary>%zu file%s not read: not %s by name (.png, .jpg, .jpeg, "
               ".bmp, .gif), as torchvision's ImageFolder ignores them</summary><ul>\n", d->n_ignored,
            d->n_ignored == 1 ? " was" : "s were", d->n_ignored == 1 ? "an image file" : "image files");
    for (size_t k = 0; k < d->n_ignored; k++) {
      fputs("<li>", f);
      html_text(f, d->ignored[k]);
      fputs("</li>\n", f);
    }
    fputs("</ul></details>\n", f);
  }
}

/* PCA alone, when there are no class scores (no confusion section). */
static void section_pca_only(FILE *f, const evr_data *d, const evr_results *r) {
  float two = r->pca_ratio.rows > 1 ? r->pca_ratio.f[0] + r->pca_ratio.f[1] : r->pca_ratio.f[0];
  fprintf(f, "<h2>5. The class scores</h2>\n<p class=\"lead\">No class scores were given (--scores): no ambiguity, "
             "no confusion matrix, no possible label errors.</p>\n<h2>8. PCA of the penultimate layer</h2>\n<p class=\"lead\">A linear view "
             "of the same features: the first two principal components explain %.0f%% of the variance. The arrows "
             "are the features with the largest loadings on them: the directions the network uses most.</p>\n"
             "<div class=\"row\">", 100 * two);
  figure(f, "pca_biplot.png", "PCA map with the strongest loadings as arrows");
  figure(f, "pca_scree.png", "scree plot: explained variance per component");
  fputs("</div>\n", f);
  section_ridge(f, d, r);
}

static void section_timings(FILE *f, const evr_results *r) {
  double total = 0;
  fputs("<h2>How this report was made</h2>\n<p>By <code>embedviz report</code> with libembedviz ", f);
  html_text(f, ev_version_string());
  fputs(". Time of each stage:</p>\n<table class=\"timings\">", f);
  for (int s = 0; s < r->n_stages; s++) {
    fprintf(f, "<tr><td>%s</td><td class=\"num\">%.2f s</td></tr>", r->stage_name[s], r->stage_seconds[s]);
    total += r->stage_seconds[s];
  }
  fprintf(f, "<tr><th>total</th><th class=\"num\">%.2f s</th></tr></table>\n", total);
}

int evr_write_html(const evr_options *o, const evr_data *d, const evr_results *r) {
  char path[4096];
  snprintf(path, sizeof path, "%s/index.html", o->out_dir);
  evc_out out;
  if (evc_out_open(&out, path)) return 1;
  FILE *f = out.f;
  fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>What the network learned"
             "</title>\n<style>\n%s</style>\n</head><body>\n<h1>What the network learned</h1>\n",
          REPORT_CSS);
  if (d->fashion)
    fprintf(f, "<p class=\"lead\">A small convolutional network trained on Fashion-MNIST, looked at layer by layer "
               "on %zu test images with libembedviz.</p>\n", d->labels.rows);
  else
    fprintf(f, "<p class=\"lead\">A network looked at layer by layer on %zu images of %d classes with "
               "libembedviz.</p>\n", d->labels.rows, d->n_classes);
  section_data(f, d);
  section_depth(f, d, r);
  section_3d_and_images(f, d);
  if (d->softmax >= 0) {
    section_ambiguity(f, d, r);
    section_issues(f, d, r);
    if (section_confusion_pca(f, d, r)) return evc_out_abort(&out), 1;
  } else {
    section_pca_only(f, d, r);
  }
  section_interactive(f, d);
  section_timings(f, r);
  if (write_data(f, o, d, r)) return evc_out_abort(&out), 1;
  fprintf(f, "<script>\n%s</script>\n</body></html>\n", REPORT_JS);
  if (evc_interrupted) {   /* Ctrl-C while writing: no index.html at all */
    evc_out_abort(&out);
    return 1;
  }
  return evc_out_commit(&out);   /* index.html appears whole, or the old one stays */
}
