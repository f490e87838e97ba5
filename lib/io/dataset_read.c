/* Reading a data set's items as model inputs: decode, convert channels,
 * resize, center crop, ToTensor, Normalize (torchvision's order), in
 * parallel over the items of a batch, in chunks so that a progress callback
 * can cancel between them and memory stays at one image per thread. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "io/io_private.h"

static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};

typedef struct pipeline {
  int c_out;             /* channels of the output */
  size_t rs, rh, rw;     /* Resize(rs) or Resize((rh, rw)) */
  size_t ch, cw;         /* CenterCrop((ch, cw)); 0 = none */
  float scale, mean[3], std[3];
  int normalize;
} pipeline;

static int is_float(const ev_dataset *ds) {
  return ds->arr && ds->arr->dtype == EV_DTYPE_FLOAT32;
}

static ev_status make_pipeline(const ev_dataset *ds, pipeline *p) {
  const double *s = ds->p;
  int src_c = ds->paths ? 3 : (int)(ds->ac == 4 ? 3 : ds->ac);
  p->c_out = s[EV_DS_CHANNELS] ? (int)s[EV_DS_CHANNELS] : src_c;
  if (is_float(ds) && !((size_t)p->c_out == ds->ac ||
                        (ds->ac == 1 && p->c_out == 3)))
    return ev__fail(EV_ERR_ARGUMENT, "the data set's float inputs have %zu "
                    "channels: EV_DS_CHANNELS %d cannot be made of them (0, "
                    "%zu%s)", ds->ac, p->c_out, ds->ac,
                    ds->ac == 1 ? " or 3" : "");
  p->rs = (size_t)s[EV_DS_RESIZE];
  p->rh = (size_t)s[EV_DS_RESIZE_HEIGHT];
  p->rw = (size_t)s[EV_DS_RESIZE_WIDTH];
  p->ch = (size_t)(s[EV_DS_CROP_HEIGHT] && s[EV_DS_CROP_WIDTH]
                       ? s[EV_DS_CROP_HEIGHT] : s[EV_DS_CROP]);
  p->cw = (size_t)(s[EV_DS_CROP_HEIGHT] && s[EV_DS_CROP_WIDTH]
                       ? s[EV_DS_CROP_WIDTH] : s[EV_DS_CROP]);
  p->scale = (float)s[EV_DS_SCALE];
  int norm = (int)s[EV_DS_NORMALIZE];
  if (norm == EV_NORMALIZE_AUTO)
    norm = p->c_out == 3 ? EV_NORMALIZE_IMAGENET : EV_NORMALIZE_NONE;
  p->normalize = norm != EV_NORMALIZE_NONE;
  for (int c = 0; c < 3; c++) {
    int k = p->c_out == 1 ? 0 : c;
    p->mean[c] = norm == EV_NORMALIZE_IMAGENET ? imagenet_mean[k]
                                               : (float)s[EV_DS_MEAN0 + k];
    p->std[c] = norm == EV_NORMALIZE_IMAGENET ? imagenet_std[k]
                                              : (float)s[EV_DS_STD0 + k];
  }
  return EV_OK;
}

/* Output height and width of an h x w source. */
static void out_size(const pipeline *p, size_t h, size_t w, size_t *oh,
                     size_t *ow) {
  ev__resize_size(h, w, p->rs, p->rh, p->rw, oh, ow);
  if (p->ch) { *oh = p->ch; *ow = p->cw; }
}

ev_status ev_dataset_item_shape(const ev_dataset *ds, size_t *c, size_t *h,
                                size_t *w) {
  EV__ARG_NULL_IF(!ds || !c || !h || !w, "data set or an output",
                  "pass a data set from an ev_dataset_from_* call and an "
                  "output buffer");
  pipeline p;
  ev_status st = make_pipeline(ds, &p);
  if (st) return st;
  if (is_float(ds)) {
    *c = (size_t)p.c_out; *h = ds->ah; *w = ds->aw;
    return EV_OK;
  }
  out_size(&p, ds->paths ? ds->first_h : ds->ah,
           ds->paths ? ds->first_w : ds->aw, h, w);
  *c = (size_t)p.c_out;
  if (*h == 0 || *w == 0)
    return ev__fail(EV_ERR_FORMAT, "the resize settings make item 0 empty "
                    "(%zu x %zu): use a larger EV_DS_RESIZE", *h, *w);
  return EV_OK;
}

/* Item i as an 8-bit image with `wc` channels, resized: wc is 1 for grey
 * sources of RGB outputs (replicated later, which commutes with resizing). */
static ev_status item_image(const ev_dataset *ds, size_t i, int c_out,
                            const pipeline *p, ev__image *img,
                            int *skippable) {
  ev_status st;
  *skippable = 0;
  if (ds->paths) {
    unsigned char *data;
    size_t len;
    if ((st = ev__read_file(ds->paths[i], &data, &len))) {
      *skippable = st != EV_ERR_NOMEM;
      return st;
    }
    st = ev__image_decode(data, len, ds->paths[i], 0, img);
    ev__free(data);
    if (st) { *skippable = st != EV_ERR_NOMEM; return st; }
  } else {
    size_t bytes = ds->ah * ds->aw * ds->ac;
    img->pixels = ev__malloc(bytes);
    if (!img->pixels) return ev__nomem("an image", bytes);
    memcpy(img->pixels, (unsigned char *)ds->arr->data + i * bytes, bytes);
    img->h = ds->ah; img->w = ds->aw; img->c = (int)ds->ac;
  }
  int wc = c_out == 3 && img->c <= 2 ? 1 : c_out;
  if ((st = ev__image_convert(img, wc, "item"))) goto fail;
  size_t rh, rw;
  ev__resize_size(img->h, img->w, p->rs, p->rh, p->rw, &rh, &rw);
  if (rh == 0 || rw == 0) {
    st = ev__fail(EV_ERR_FORMAT, "item %zu resizes to %zu x %zu: use a "
                  "larger EV_DS_RESIZE", i, rh, rw);
    goto fail;
  }
  if (rh != img->h || rw != img->w) {
    unsigned char *r = ev__malloc(rh * rw * (size_t)wc);
    if (!r) { st = ev__nomem("a resized image", rh * rw * wc); goto fail; }
    if ((st = ev__resample_bilinear(img->pixels, img->h, img->w, wc, r, rh,
                                    rw))) {
      ev__free(r);
      goto fail;
    }
    ev__free(img->pixels);
    img->pixels = r; img->h = rh; img->w = rw;
  }
  return EV_OK;
fail:
  ev__free(img->pixels);
  img->pixels = NULL;
  return st;
}

/* Center crop (zero padding outside), ToTensor, Normalize: C x oh x ow. */
static void to_tensor(const ev__image *img, const pipeline *p, size_t oh,
                      size_t ow, float *out) {
  long top, left;
  ev__center_crop_offsets(img->h, img->w, oh, ow, &top, &left);
  for (int ch = 0; ch < p->c_out; ch++) {
    int sc = img->c == 1 ? 0 : ch;
    float m = p->mean[ch], s = p->std[ch];
    for (size_t y = 0; y < oh; y++) {
      long sy = top + (long)y;
      float *o = out + ((size_t)ch * oh + y) * ow;
      for (size_t x = 0; x < ow; x++) {
        long sx = left + (long)x;
        unsigned v = sy >= 0 && sx >= 0 && (size_t)sy < img->h &&
                             (size_t)sx < img->w
                         ? img->pixels[((size_t)sy * img->w + (size_t)sx) *
                                           (size_t)img->c + (size_t)sc]
                         : 0;
        float f = (float)v * p->scale;
        o[x] = p->normalize ? (f - m) / s : f;
      }
    }
  }
}

static ev_status read_item(const ev_dataset *ds, const pipeline *p, size_t i,
                           size_t c, size_t h, size_t w, float *out,
                           int *skippable) {
  *skippable = 0;
  if (is_float(ds)) {
    size_t plane = ds->ah * ds->aw, item = plane * ds->ac;
    const float *src = (const float *)ds->arr->data + i * item;
    for (size_t k = 0; k < c; k++)
      memcpy(out + k * plane, src + (ds->ac == 1 ? 0 : k * plane),
             plane * sizeof *out);
    return EV_OK;
  }
  ev__image img;
  ev_status st = item_image(ds, i, p->c_out, p, &img, skippable);
  if (st) return st;
  size_t oh = p->ch ? p->ch : img.h, ow = p->ch ? p->cw : img.w;
  if (oh != h || ow != w) {
    ev__free(img.pixels);
    return ev__fail(EV_ERR_FORMAT, "item %zu (%s) is %zu x %zu x %zu after "
                    "preprocessing, item 0 is %zu x %zu x %zu: set "
                    "EV_DS_CROP (and EV_DS_RESIZE) so every item has one "
                    "shape", i, ds->paths ? ds->paths[i] : "array", c, oh,
                    ow, c, h, w);
  }
  to_tensor(&img, p, h, w, out);
  ev__free(img.pixels);
  return EV_OK;
}

typedef struct chunk_result {
  ev_status st;
  int skippable;
  char *msg; /* made on the worker's thread, where ev_last_error holds it */
} chunk_result;

/* Decode items [first, first + m) in parallel into out. */
static void read_chunk(const ev_dataset *ds, const pipeline *p, size_t first,
                       size_t m, size_t c, size_t h, size_t w, float *out,
                       size_t ld, chunk_result *res) {
  /* Files: one item at a time (decoding times vary). Arrays: items are
   * cheap and alike, so hand them out in blocks, and stay on one thread
   * when the whole chunk is too little work to share (spinning threads of
   * a busy machine would cost more). */
  size_t src = ds->paths ? 0 : ds->ah * ds->aw;
  size_t grain = 1, work = m * (c * h * w + src);
  int threads = omp_get_max_threads();
  if (!ds->paths) grain = m / (size_t)(4 * threads) + 1;
  int parallel = ds->paths || work >= ((size_t)1 << 21);
#pragma omp parallel for schedule(dynamic, grain) if (parallel)
  for (size_t j = 0; j < m; j++) {
    chunk_result *r = &res[j];
    r->st = read_item(ds, p, first + j, c, h, w, out + j * ld, &r->skippable);
    r->msg = r->st ? ev__strdup(ev_last_error()) : NULL;
  }
}

/* Handle the failures of a chunk: skip (zero item, listed) or fail with the
 * first item's message, given on the calling thread. */
static ev_status settle_chunk(ev_dataset *ds, size_t first, size_t m,
                              size_t chw, float *out, size_t ld,
                              const chunk_result *res) {
  int skip = ds->p[EV_DS_ON_ERROR] == EV_ON_ERROR_SKIP;
  for (size_t j = 0; j < m; j++) {
    if (res[j].st == EV_OK) continue;
    if (!res[j].msg) return ev__nomem("an error message", 0);
    if (!skip || !res[j].skippable)
      return ev__fail(res[j].st, "%s", res[j].msg);
    memset(out + j * ld, 0, chw * sizeof *out);
    ev_status st = ev__dataset_add_skip(ds, ds->paths[first + j], res[j].msg,
                                        first + j);
    if (st) return st;
  }
  return EV_OK;
}

/* Items per parallel chunk: at least 4 per thread, and enough output
 * (about 4 Mi floats) that small items (28 x 28) do not pay a parallel
 * region each; progress is reported per chunk. */
static size_t chunk_items(size_t chw, size_t count) {
  size_t by_threads = (size_t)omp_get_max_threads() * 4;
  size_t by_size = ((size_t)1 << 22) / chw;
  size_t k = by_size > by_threads ? by_size : by_threads;
  return k < count ? k : count;
}

static ev_status read_batch(ev_dataset *ds, const pipeline *p, size_t start,
                            size_t count, size_t c, size_t h, size_t w,
                            float *out, size_t ld) {
  size_t chunk = chunk_items(c * h * w, count);
  chunk_result *res = ev__malloc(chunk * sizeof *res);
  if (!res) return ev__nomem("batch bookkeeping", chunk * sizeof *res);
  ev_status st = EV_OK;
  for (size_t done = 0; st == EV_OK && done < count;) {
    size_t m = count - done < chunk ? count - done : chunk;
    read_chunk(ds, p, start + done, m, c, h, w, out + done * ld, ld, res);
    st = settle_chunk(ds, start + done, m, c * h * w, out + done * ld, ld,
                      res);
    for (size_t j = 0; j < m; j++) ev__free(res[j].msg);
    done += m;
    if (st == EV_OK)
      st = ev__progress(ds->progress, ds->progress_user, EV_STAGE_READ, done,
                        count, NAN);
  }
  ev__free(res);
  return st;
}

ev_status ev_dataset_read(ev_dataset *ds, size_t start, size_t count,
                          float *out, size_t ld) {
  EV__ARG_NULL_IF(!ds || !out, "ev_dataset_read: data set or out",
                  "pass a data set from an ev_dataset_from_* call and an "
                  "output buffer");
  if (count == 0 || start > ds->n || count > ds->n - start)
    return ev__fail(EV_ERR_ARGUMENT, "items [%zu, %zu + %zu) are not in the "
                    "data set of %zu items: ask for at least one item, all "
                    "below %zu", start, start, count, ds->n, ds->n);
  size_t c, h, w, chw;
  ev_status st = ev_dataset_item_shape(ds, &c, &h, &w);
  if (st) return st;
  if (!ev__mul3(c, h, w, &chw))
    return ev__fail(EV_ERR_OVERFLOW, "an item of %zu x %zu x %zu overflows",
                    c, h, w);
  if ((st = ev__check_out_matrix("out", out, count, chw, ld))) return st;
  pipeline p;
  if ((st = make_pipeline(ds, &p))) return st;
  ev__threads scope;
  ev__threads_begin(&scope, ev__resolve_threads((int)ds->p[EV_DS_THREADS]));
  st = read_batch(ds, &p, start, count, c, h, w, out, ld);
  ev__threads_end(&scope);
  return st;
}

ev_status ev_dataset_thumbnail(ev_dataset *ds, size_t i, size_t side,
                               uint8_t *out) {
  if (!ds || !out || side == 0 || side > 65536)
    return ev__fail(EV_ERR_ARGUMENT, "ev_dataset_thumbnail: data set or out "
                    "is NULL, or side is not in [1, 65536]: pass a data set, "
                    "room for side * side * 3 bytes and a side in range");
  if (i >= ds->n)
    return ev__fail(EV_ERR_ARGUMENT, "item %zu is not in the data set of %zu "
                    "items: ask for an item below %zu", i, ds->n, ds->n);
  if (is_float(ds))
    return ev__fail(EV_ERR_UNSUPPORTED, "the data set holds float model "
                    "inputs, not images: no thumbnail; use a data set of "
                    "images (ev_dataset_from_folder, _paths, _npy or _idx)");
  pipeline p = {.c_out = 3, .rs = side, .ch = side, .cw = side};
  ev__image img;
  int skippable;
  ev_status st = item_image(ds, i, 3, &p, &img, &skippable);
  if (st) return st;
  long top, left;
  ev__center_crop_offsets(img.h, img.w, side, side, &top, &left);
  for (size_t y = 0; y < side; y++)
    for (size_t x = 0; x < side; x++) {
      long sy = top + (long)y, sx = left + (long)x;
      int in = sy >= 0 && sx >= 0 && (size_t)sy < img.h && (size_t)sx < img.w;
      for (int ch = 0; ch < 3; ch++)
        out[(y * side + x) * 3 + (size_t)ch] =
            in ? img.pixels[((size_t)sy * img.w + (size_t)sx) * (size_t)img.c +
                            (size_t)(img.c == 1 ? 0 : ch)]
               : 0;
    }
  ev__free(img.pixels);
  return EV_OK;
}

/* Item i of an image array as an 8-bit image (a copy). */
static ev_status array_item(const ev_dataset *ds, size_t i, ev__image *img) {
  size_t bytes = ds->ah * ds->aw * ds->ac;
  img->pixels = ev__malloc(bytes);
  if (!img->pixels) return ev__nomem("an image", bytes);
  memcpy(img->pixels, (unsigned char *)ds->arr->data + i * bytes, bytes);
  img->h = ds->ah;
  img->w = ds->aw;
  img->c = (int)ds->ac;
  return EV_OK;
}

/* An array item fitted as ev__image_decode_fit fits a file. */
static ev_status array_item_fit(const ev_dataset *ds, size_t i, size_t side,
                                ev__image *img, int *file_channels) {
  ev_status st = array_item(ds, i, img);
  if (st) return st;
  *file_channels = img->c;
  size_t th, tw;
  ev__fit_size(img->h, img->w, side, &th, &tw);
  if (th != img->h || tw != img->w) {
    unsigned char *r = ev__malloc(th * tw * (size_t)img->c);
    if (!r) st = ev__nomem("a thumbnail", th * tw * (size_t)img->c);
    else if ((st = ev__resample_bilinear(img->pixels, img->h, img->w, img->c,
                                         r, th, tw)))
      ev__free(r);
    ev__free(img->pixels);
    img->pixels = st ? NULL : r;
    img->h = th;
    img->w = tw;
  }
  return st;
}

ev_status ev_dataset_thumbnail_fit(const ev_dataset *ds, size_t i,
                                   size_t side, uint8_t *out, size_t *width,
                                   size_t *height, int *file_channels) {
  if (!ds || !out || !width || !height || side == 0 || side > 65536)
    return ev__fail(EV_ERR_ARGUMENT, "ev_dataset_thumbnail_fit: data set, "
                    "out, width or height is NULL, or side is not in [1, "
                    "65536]: pass a data set, room for side * side * 3 bytes, "
                    "the addresses of the width and height, and a side in "
                    "range");
  if (i >= ds->n)
    return ev__fail(EV_ERR_ARGUMENT, "item %zu is not in the data set of %zu "
                    "items: ask for an item below %zu", i, ds->n, ds->n);
  if (is_float(ds))
    return ev__fail(EV_ERR_UNSUPPORTED, "the data set holds float model "
                    "inputs, not images: no thumbnail; use a data set of "
                    "images (ev_dataset_from_folder, _paths, _npy or _idx)");
  ev__image img;
  int fc = 0;
  ev_status st;
  if (ds->paths) {
    unsigned char *data;
    size_t len;
    if ((st = ev__read_file(ds->paths[i], &data, &len))) return st;
    st = ev__image_decode_fit(data, len, ds->paths[i], side, &img, &fc);
    ev__free(data);
  } else {
    st = array_item_fit(ds, i, side, &img, &fc);
  }
  if (st) return st;
  /* RGB out: grey replicated, alpha already dropped */
  size_t n = img.w * img.h;
  int c = img.c >= 3 ? 3 : 1;
  for (size_t k = 0; k < n; k++)
    for (int ch = 0; ch < 3; ch++)
      out[k * 3 + (size_t)ch] =
          img.pixels[k * (size_t)img.c + (size_t)(c == 1 ? 0 : ch)];
  *width = img.w;
  *height = img.h;
  if (file_channels) *file_channels = fc;
  ev__free(img.pixels);
  return EV_OK;
}
