/* torchvision's Resize and CenterCrop on PIL images, reproduced.
 *
 * torchvision 0.14 resizes a PIL image with Image.resize(size, BILINEAR),
 * i.e. Pillow's ImagingResample: a separable triangle filter whose support
 * is stretched by the scale factor when shrinking (so it antialiases), with
 * the weights of each output pixel normalised to sum 1 and rounded to
 * 22-bit fixed point, a horizontal pass into an 8-bit intermediate image,
 * then a vertical pass, each rounding to 8 bits. Doing the same steps with
 * the same rounding gives the same bytes (tests/test_io.c checks it against
 * torchvision's output). */
#include <math.h>
#include <string.h>

#include "io/io_private.h"

#define PRECISION_BITS (32 - 8 - 2)

void ev__resize_size(size_t h, size_t w, size_t shorter, size_t rh, size_t rw,
                     size_t *oh, size_t *ow) {
  if (rh && rw) {
    *oh = rh;
    *ow = rw;
  } else if (shorter) {
    /* new_long = int(requested * long / short), as torchvision computes it */
    size_t s = w <= h ? w : h, l = w <= h ? h : w;
    size_t nl = (size_t)((double)shorter * (double)l / (double)s);
    *ow = w <= h ? shorter : nl;
    *oh = w <= h ? nl : shorter;
  } else {
    *oh = h;
    *ow = w;
  }
}

static double triangle(double x) {
  x = fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

/* Pillow's precompute_coeffs + normalize_coeffs_8bpc for one axis: for each
 * output pixel, the first input pixel, the count, and ksize weights. */
static size_t axis_coeffs(size_t in, size_t out, int *bounds, int32_t *kk,
                          size_t ksize) {
  double scale = (double)in / (double)out, fscale = scale < 1 ? 1 : scale;
  double support = 1.0 * fscale, ss = 1.0 / fscale;
  double w[ksize];
  for (size_t xx = 0; xx < out; xx++) {
    double center = (xx + 0.5) * scale, sum = 0;
    long xmin = (long)(center - support + 0.5), xmax;
    if (xmin < 0) xmin = 0;
    xmax = (long)(center + support + 0.5);
    if (xmax > (long)in) xmax = (long)in;
    xmax -= xmin;
    for (long x = 0; x < xmax; x++) {
      w[x] = triangle((x + xmin - center + 0.5) * ss);
      sum += w[x];
    }
    int32_t *k = kk + xx * ksize;
    for (size_t x = 0; x < ksize; x++) {
      double v = (long)x < xmax && sum != 0 ? w[x] / sum : 0;
      k[x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PRECISION_BITS)
                             : 0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[2 * xx] = (int)xmin;
    bounds[2 * xx + 1] = (int)xmax;
  }
  return ksize;
}

static size_t ksize_of(size_t in, size_t out) {
  double scale = (double)in / (double)out;
  return (size_t)ceil(scale < 1 ? 1 : scale) * 2 + 1;
}

static unsigned char clip8(int32_t v) {
  if (v >= (1 << PRECISION_BITS << 8)) return 255;
  if (v <= 0) return 0;
  return (unsigned char)(v >> PRECISION_BITS);
}

/* One output pixel per weight row, one register accumulator per channel
 * (as Pillow's ss0..ss3); RGB and grey get their own loops. */
#define HALF (1 << (PRECISION_BITS - 1))

static void horizontal_rgb(const unsigned char *src, size_t w, size_t rows,
                           unsigned char *dst, size_t ow, const int *b,
                           const int32_t *kk, size_t ks) {
  for (size_t y = 0; y < rows; y++) {
    const unsigned char *row = src + y * w * 3;
    unsigned char *o = dst + y * ow * 3;
    for (size_t xx = 0; xx < ow; xx++) {
      const int32_t *k = kk + xx * ks;
      const unsigned char *s = row + (size_t)b[2 * xx] * 3;
      int n = b[2 * xx + 1];
      int32_t a0 = HALF, a1 = HALF, a2 = HALF;
      for (int x = 0; x < n; x++) {
        int32_t kx = k[x];
        a0 += s[3 * x] * kx;
        a1 += s[3 * x + 1] * kx;
        a2 += s[3 * x + 2] * kx;
      }
      o[3 * xx] = clip8(a0);
      o[3 * xx + 1] = clip8(a1);
      o[3 * xx + 2] = clip8(a2);
    }
  }
}

static void horizontal_any(const unsigned char *src, size_t w, int c,
                           size_t rows, unsigned char *dst, size_t ow,
                           const int *b, const int32_t *kk, size_t ks) {
  for (size_t y = 0; y < rows; y++)
    for (size_t xx = 0; xx < ow; xx++) {
      const int32_t *k = kk + xx * ks;
      const unsigned char *s = src + (y * w + (size_t)b[2 * xx]) * (size_t)c;
      int n = b[2 * xx + 1];
      for (int ch = 0; ch < c; ch++) {
        int32_t acc = HALF;
        for (int x = 0; x < n; x++) acc += s[x * c + ch] * k[x];
        dst[(y * ow + xx) * (size_t)c + (size_t)ch] = clip8(acc);
      }
    }
}

static void pass_horizontal(const unsigned char *src, size_t w, int c,
                            size_t rows, unsigned char *dst, size_t ow,
                            const int *b, const int32_t *kk, size_t ks) {
  if (c == 3) horizontal_rgb(src, w, rows, dst, ow, b, kk, ks);
  else horizontal_any(src, w, c, rows, dst, ow, b, kk, ks);
}

/* Row by row: the whole output row accumulates in acc (row entries), one
 * contiguous, vectorisable sweep per source row. */
__attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
static void pass_vertical(const unsigned char *src, size_t w, int c,
                          unsigned char *dst, size_t oh, const int *b,
                          const int32_t *kk, size_t ks,
                          int32_t *restrict acc) {
  size_t row = w * (size_t)c;
  for (size_t yy = 0; yy < oh; yy++) {
    const int32_t *k = kk + yy * ks;
    const unsigned char *s = src + (size_t)b[2 * yy] * row;
    for (size_t i = 0; i < row; i++) acc[i] = HALF;
    for (int y = 0; y < b[2 * yy + 1]; y++) {
      const unsigned char *restrict sr = s + (size_t)y * row;
      const int32_t ky = k[y];
      for (size_t i = 0; i < row; i++) acc[i] += (int32_t)sr[i] * ky;
    }
    unsigned char *restrict o = dst + yy * row;
    for (size_t i = 0; i < row; i++) o[i] = clip8(acc[i]);
  }
}

ev_status ev__resample_bilinear(const unsigned char *src, size_t h, size_t w,
                                int c, unsigned char *dst, size_t oh,
                                size_t ow) {
  if (oh == h && ow == w) {
    memcpy(dst, src, h * w * (size_t)c);
    return EV_OK;
  }
  size_t ksh = ksize_of(w, ow), ksv = ksize_of(h, oh);
  int *bh = ev__malloc(2 * ow * sizeof *bh), *bv = ev__malloc(2 * oh * sizeof *bv);
  int32_t *kh = ev__malloc(ow * ksh * sizeof *kh);
  int32_t *kv = ev__malloc(oh * ksv * sizeof *kv);
  unsigned char *tmp = NULL;
  int32_t *acc = ev__malloc(ow * (size_t)c * sizeof *acc);
  ev_status st = EV_OK;
  if (!bh || !bv || !kh || !kv || !acc) {
    st = ev__nomem("resampling weights", ow * ksh * 4 + oh * ksv * 4);
    goto done;
  }
  axis_coeffs(w, ow, bh, kh, ksh);
  axis_coeffs(h, oh, bv, kv, ksv);
  if (ow == w) { /* vertical pass only */
    pass_vertical(src, w, c, dst, oh, bv, kv, ksv, acc);
    goto done;
  }
  if (oh == h) {
    pass_horizontal(src, w, c, h, dst, ow, bh, kh, ksh);
    goto done;
  }
  /* horizontal pass over the rows the vertical pass will use */
  size_t first = (size_t)bv[0];
  size_t last = (size_t)bv[2 * oh - 2] + (size_t)bv[2 * oh - 1];
  tmp = ev__malloc((last - first) * ow * (size_t)c);
  if (!tmp) {
    st = ev__nomem("a resampled image", (last - first) * ow * (size_t)c);
    goto done;
  }
  pass_horizontal(src + first * w * (size_t)c, w, c, last - first, tmp, ow,
                  bh, kh, ksh);
  for (size_t y = 0; y < oh; y++) bv[2 * y] -= (int)first;
  pass_vertical(tmp, ow, c, dst, oh, bv, kv, ksv, acc);
done:
  ev__free(acc);
  ev__free(bh);
  ev__free(bv);
  ev__free(kh);
  ev__free(kv);
  ev__free(tmp);
  return st;
}

/* Python's round(): halves go to the even neighbour. */
static long round_half_even(size_t twice) {
  long q = (long)(twice / 2);
  if (twice % 2 && q % 2) q++;
  return q;
}

void ev__center_crop_offsets(size_t h, size_t w, size_t ch, size_t cw,
                             long *top, long *left) {
  *top = ch > h ? -(long)((ch - h) / 2) : round_half_even(h - ch);
  *left = cw > w ? -(long)((cw - w) / 2) : round_half_even(w - cw);
}
