/* Image decoding with stb_image (Debian's libstb-dev, v2.27), compiled here
 * as private static functions: no stbi_ symbol leaves the library, its
 * allocations go through ev__malloc (so the failure hook reaches them), it
 * never asserts or touches stdio, and its failure reason is thread-local.
 * Channel conversions follow PIL's Image.convert, which torchvision's
 * loaders use. */
#include <string.h>

#include "io/io_private.h"

/* stb's failure reasons do not always say "outofmem" when an allocation
 * failed deep inside a decoder: remember it per thread instead. */
static _Thread_local int stb_out_of_memory;
static void *stb_malloc(size_t n) {
  void *p = ev__malloc(n);
  if (!p) stb_out_of_memory = 1;
  return p;
}
static void *stb_realloc(void *q, size_t n) {
  void *p = ev__realloc(q, n);
  if (!p) stb_out_of_memory = 1;
  return p;
}

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_ASSERT(x) ((void)0)
#define STBI_MALLOC(sz) stb_malloc(sz)
#define STBI_REALLOC(p, sz) stb_realloc(p, sz)
#define STBI_FREE(p) ev__free(p)
#define STBI_MAX_DIMENSIONS (1 << 24)
#if defined(__GNUC__)
/* stb 2.27 declares a static function it never defines: a warning at the
 * end of the file, so this one stays off for the whole file. */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wtype-limits"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static const char *const image_exts[] = {".png", ".jpg", ".jpeg", ".bmp",
                                         ".gif"};

int ev__is_image_name(const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < sizeof image_exts / sizeof *image_exts; i++) {
    size_t e = strlen(image_exts[i]);
    if (n > e && strcasecmp(name + n - e, image_exts[i]) == 0) return 1;
  }
  return 0;
}

/* stb_image 2.27 trusts a JPEG's Huffman tables in two ways:
 * - a DHT segment's sixteen code-length counts summing past 256 make
 *   stbi__build_huffman and the value loop write past the 257- and 256-byte
 *   tables of its decoder state (stb 2.28 added the check);
 * - a scan (SOS) may name a table no DHT defined: stb then decodes with its
 *   uninitialised decoder state and indexes its tables with whatever that
 *   memory holds (reads out of bounds).
 * Both were found by fuzz/fuzz_image.c. Walk the markers, entropy-coded
 * data included (progressive files define tables between scans), and refuse
 * such a file before stb sees it. libjpeg-turbo, which decodes JPEGs first
 * when it is installed, fills the standard tables in for a baseline file
 * without DHT (Motion-JPEG frames); stb cannot, and would fail on them.
 * Returns 0 for a bad table, -1 for a scan using an undefined one, 1
 * otherwise (not a JPEG, or nothing wrong that stb would trip on). */
static int jpeg_tables_ok(const unsigned char *d, size_t n) {
  if (n < 2 || d[0] != 0xFF || d[1] != 0xD8) return 1;
  unsigned char defined[2][4] = {{0}};
  int progressive = 0;
  size_t i = 2;
  while (i + 4 <= n) {
    unsigned m = d[i + 1];
    if (d[i] != 0xFF || m == 0xFF) { i++; continue; }
    if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD9)) {
      i += 2; /* stuffing, TEM, RSTn, SOI, EOI: no length */
      continue;
    }
    size_t len = (size_t)d[i + 2] << 8 | d[i + 3], end = i + 2 + len;
    if (m == 0xC2) progressive = 1;
    if (m == 0xC4) {
      /* as stb: tables until the segment's length is used up, the last
       * one read across its end (and zeros past the file's end) */
      size_t p = i + 4;
      while (p < end && p < n) {
        size_t count = 0;
        for (size_t k = p + 1; k <= p + 16 && k < n; k++) count += d[k];
        if (count > 256) return 0;
        unsigned tc = d[p] >> 4, th = d[p] & 15;
        if (tc <= 1 && th <= 3) defined[tc][th] = 1; /* else stb refuses */
        p += 17 + count;
      }
    }
    if (m == 0xDA && i + 5 <= n) {
      /* Ns components (id, Td << 4 | Ta), then Ss, Se, Ah << 4 | Al */
      size_t ns = d[i + 4], q = i + 5 + 2 * ns;
      if (q + 3 > n) return 1; /* stb fails on the truncated header */
      unsigned ss = d[q], ah = d[q + 2] >> 4;
      /* as stb decodes: a baseline scan uses both tables; a progressive
       * one uses the DC table in a first DC scan, the AC table in any AC
       * scan and none in a DC refinement */
      int use_dc = !progressive || (ss == 0 && ah == 0);
      int use_ac = !progressive || ss != 0;
      for (size_t k = 0; k < ns; k++) {
        unsigned td = d[i + 6 + 2 * k] >> 4, ta = d[i + 6 + 2 * k] & 15;
        if (td > 3 || ta > 3) continue; /* stb refuses ("bad DC huff") */
        if ((use_dc && !defined[0][td]) || (use_ac && !defined[1][ta]))
          return -1;
      }
    }
    i = end;
  }
  return 1;
}

/* stb's reason, made into our message. */
static ev_status decode_fail(const char *path) {
  const char *why = stbi_failure_reason();
  if (stb_out_of_memory || (why && strcmp(why, "outofmem") == 0))
    return ev__fail(EV_ERR_NOMEM, "%s: out of memory decoding the image",
                    path);
  if (why && strcmp(why, "too large") == 0)
    return ev__fail(EV_ERR_OVERFLOW, "%s: the image's dimensions pass 2^24 "
                    "pixels a side or overflow: it cannot be decoded", path);
  return ev__fail(EV_ERR_FORMAT,
                  "%s: not a readable PNG, JPEG, BMP or GIF "
                  "image (%s): the file is corrupt, truncated or of an "
                  "unsupported kind: replace it, or convert it to PNG",
                  path, why ? why : "unknown reason");
}

/* A 16-bit grey PNG (IHDR bit depth 16, colour type 0). */
static int png_grey16(const unsigned char *d, size_t n) {
  static const unsigned char sig[8] = {137, 'P', 'N', 'G', 13, 10, 26, 10};
  return n >= 33 && memcmp(d, sig, 8) == 0 && memcmp(d + 12, "IHDR", 4) == 0 &&
         d[24] == 16 && d[25] == 0;
}

/* PIL opens a 16-bit grey PNG as mode "I" (32-bit integers), and its
 * convert("RGB") and convert("L") clip each value to 0..255 rather than
 * scale it (stb keeps the high byte: 256 would become 1, PIL gives 255).
 * Models trained through torchvision saw PIL's pixels, so give those. */
static unsigned char *load_grey16_as_pil(const unsigned char *data,
                                         size_t len, int *w, int *h, int *c) {
  stbi_us *v = stbi_load_16_from_memory(data, (int)len, w, h, c, 1);
  if (!v) return NULL;
  size_t n = (size_t)*w * (size_t)*h;
  unsigned char *px = ev__malloc(n ? n : 1);
  if (!px) {
    stb_out_of_memory = 1;
  } else {
    for (size_t i = 0; i < n; i++) px[i] = v[i] > 255 ? 255 : (unsigned char)v[i];
  }
  ev__free(v);
  *c = 1;
  return px;
}

/* PIL refuses images of more than twice Image.MAX_IMAGE_PIXELS
 * (DecompressionBombError), so torchvision never sees them. The guard
 * matters: a GIF or JPEG header of a few bytes can announce 65535 x 65535
 * pixels, and the decoders allocate and fill the whole canvas (gigabytes,
 * found by fuzz/fuzz_image.c). */
#define MAX_IMAGE_PIXELS (2 * 89478485ull)

static int info(const unsigned char *data, size_t len, int *w, int *h,
                int *c);

/* Decode, at a reduced DCT scale for a JPEG when req_w x req_h asks for
 * it (ev__jpeg_decode_draft). */
static ev_status decode_draft(const unsigned char *data, size_t len,
                              const char *path, int channels, size_t req_w,
                              size_t req_h, ev__image *img) {
  if (len > INT32_MAX)
    return ev__fail(EV_ERR_FORMAT, "%s: image files over 2 GiB are not "
                    "supported", path);
  int iw, ih, ic;
  if (info(data, len, &iw, &ih, &ic) &&
      (unsigned long long)iw * (unsigned long long)ih > MAX_IMAGE_PIXELS)
    return ev__fail(EV_ERR_LIMIT, "%s: the image has %d x %d pixels, more "
                    "than the %llu PIL decodes (a decompression bomb?): "
                    "resize it first", path, iw, ih, MAX_IMAGE_PIXELS);
  ev_status st = ev__png_check(data, len, path);
  if (st) return st;
  if (!ev__jpeg_decode_draft(data, len, path, req_w, req_h, img, &st)) {
    int tables = jpeg_tables_ok(data, len);
    if (tables == 0)
      return ev__fail(EV_ERR_FORMAT, "%s: corrupt JPEG: a Huffman table "
                      "declares more than 256 codes", path);
    if (tables < 0)
      return ev__fail(EV_ERR_FORMAT, "%s: corrupt JPEG: a scan uses a "
                      "Huffman table the file never defines (install "
                      "libjpeg-turbo, libjpeg62-turbo, to read Motion-JPEG "
                      "frames without tables)", path);
    int w, h, c;
    stb_out_of_memory = 0;
    unsigned char *px = png_grey16(data, len)
                            ? load_grey16_as_pil(data, len, &w, &h, &c)
                            : stbi_load_from_memory(data, (int)len, &w, &h,
                                                    &c, 0);
    if (px && stb_out_of_memory) { /* as in ev__image_probe */
      ev__free(px);
      px = NULL;
    }
    if (!px) return decode_fail(path);
    if (w <= 0 || h <= 0) { /* stb accepts a BMP of width 0 (fuzz_image) */
      ev__free(px);
      return ev__fail(EV_ERR_FORMAT, "%s: the image is %d x %d pixels: "
                      "the file is corrupt", path, w, h);
    }
    img->pixels = px;
    img->w = (size_t)w;
    img->h = (size_t)h;
    img->c = c;
  } else if (st) {
    return st;
  }
  st = channels ? ev__image_convert(img, channels, path) : EV_OK;
  if (st) {
    ev__free(img->pixels);
    img->pixels = NULL;
  }
  return st;
}

ev_status ev__image_decode(const unsigned char *data, size_t len,
                           const char *path, int channels, ev__image *img) {
  return decode_draft(data, len, path, channels, 0, 0, img);
}

void ev__fit_size(size_t h, size_t w, size_t side, size_t *oh, size_t *ow) {
  size_t lo = h < w ? h : w, hi = h < w ? w : h;
  size_t s = (size_t)((double)lo * (double)side / (double)hi + 0.5);
  if (s < 1) s = 1;
  *oh = h < w ? s : side;
  *ow = h < w ? side : s;
}

ev_status ev__image_decode_fit(const unsigned char *data, size_t len,
                               const char *path, size_t side, ev__image *img,
                               int *file_channels) {
  int iw, ih, ic;
  size_t th = side, tw = side;
  if (info(data, len, &iw, &ih, &ic) && iw > 0 && ih > 0)
    ev__fit_size((size_t)ih, (size_t)iw, side, &th, &tw);
  /* as PIL's thumbnail(): draft to twice the target, then resample */
  ev_status st = decode_draft(data, len, path, 0, 2 * tw, 2 * th, img);
  if (st) return st;
  *file_channels = img->c;
  /* grey stays one channel through the resize (the caller replicates it);
   * alpha is dropped as convert("RGB") and convert("L") drop it */
  if ((st = ev__image_convert(img, img->c <= 2 ? 1 : 3, path))) goto fail;
  ev__fit_size(img->h, img->w, side, &th, &tw);
  if (th != img->h || tw != img->w) {
    unsigned char *r = ev__malloc(th * tw * (size_t)img->c);
    if (!r) { st = ev__nomem("a thumbnail", th * tw * (size_t)img->c); goto fail; }
    if ((st = ev__resample_bilinear(img->pixels, img->h, img->w, img->c, r,
                                    th, tw))) {
      ev__free(r);
      goto fail;
    }
    ev__free(img->pixels);
    img->pixels = r;
    img->h = th;
    img->w = tw;
  }
  return EV_OK;
fail:
  ev__free(img->pixels);
  img->pixels = NULL;
  return st;
}

/* PIL's convert("L"): L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16, the
 * ITU-R 601-2 weights 0.299, 0.587, 0.114 in 16-bit fixed point
 * (libImaging/Convert.c). */
static unsigned char luma(const unsigned char *p) {
  return (unsigned char)((19595u * p[0] + 38470u * p[1] + 7471u * p[2] +
                          0x8000u) >> 16);
}

ev_status ev__image_convert(ev__image *img, int channels, const char *path) {
  int c = img->c;
  if (c == channels) return EV_OK;
  size_t n = img->w * img->h;
  unsigned char *src = img->pixels, *dst;
  if (channels < c) { /* shrinking: in place, front to back */
    dst = src;
  } else {
    dst = ev__malloc(n * (size_t)channels);
    if (!dst) return ev__nomem("a converted image", n * (size_t)channels);
  }
  for (size_t i = 0; i < n; i++) {
    const unsigned char *s = src + i * (size_t)c;
    unsigned char *d = dst + i * (size_t)channels;
    if (channels == 1) {
      d[0] = c >= 3 ? luma(s) : s[0];
    } else if (c >= 3) {
      unsigned char r = s[0], g = s[1], b = s[2];
      d[0] = r; d[1] = g; d[2] = b;
    } else {
      unsigned char v = s[0];
      d[0] = d[1] = d[2] = v;
    }
  }
  if (dst != src) ev__free(src);
  img->pixels = dst;
  img->c = channels;
  (void)path;
  return EV_OK;
}

/* The header is in the first bytes of every format; only when stb cannot
 * find it there (a JPEG with large metadata) is the whole file read. */
#define PROBE_HEAD (64 * 1024)

static int info(const unsigned char *data, size_t len, int *w, int *h,
                int *c) {
  stb_out_of_memory = 0;
  if (jpeg_tables_ok(data, len) == 0) /* a scan table is checked at decoding */
    return stbi__err("bad DHT header", "Corrupt JPEG");
  return len <= INT32_MAX && stbi_info_from_memory(data, (int)len, w, h, c);
}

ev_status ev__image_probe(const char *path, size_t *w, size_t *h, int *c) {
  unsigned char *data = ev__malloc(PROBE_HEAD);
  if (!data) return ev__nomem("an image header", PROBE_HEAD);
  size_t len;
  int iw, ih, ic, ok;
  ev_status st = ev__read_head(path, data, PROBE_HEAD, &len);
  if (st) { ev__free(data); return st; }
  ok = info(data, len, &iw, &ih, &ic);
  if (!ok && len == PROBE_HEAD) {
    ev__free(data);
    if ((st = ev__read_file(path, &data, &len))) return st;
    ok = info(data, len, &iw, &ih, &ic);
  }
  ev__free(data);
  /* stb tries each format in turn: an allocation that failed while trying
   * one it is not is out of memory all the same, even when a later format
   * matched. */
  if (!ok || stb_out_of_memory) return decode_fail(path);
  if (iw <= 0 || ih <= 0 || iw > STBI_MAX_DIMENSIONS ||
      ih > STBI_MAX_DIMENSIONS)
    return ev__fail(EV_ERR_OVERFLOW, "%s: image of %d x %d pixels is beyond "
                    "the decoder's 2^24 a side", path, iw, ih);
  if ((unsigned long long)iw * (unsigned long long)ih > MAX_IMAGE_PIXELS)
    return ev__fail(EV_ERR_LIMIT, "%s: the image has %d x %d pixels, more "
                    "than the %llu PIL decodes (a decompression bomb?): "
                    "resize it first", path, iw, ih, MAX_IMAGE_PIXELS);
  *w = (size_t)iw;
  *h = (size_t)ih;
  *c = ic;
  return EV_OK;
}

/* PNG, JPEG (SOI), BMP or GIF: the formats the decoder is built with. */
static int known_signature(const unsigned char *d, size_t n) {
  static const unsigned char png[4] = {0x89, 'P', 'N', 'G'};
  return (n >= 4 && memcmp(d, png, 4) == 0) ||
         (n >= 2 && d[0] == 0xFF && d[1] == 0xD8) ||
         (n >= 2 && d[0] == 'B' && d[1] == 'M') ||
         (n >= 4 && memcmp(d, "GIF8", 4) == 0);
}

ev_status ev_image_read(const char *path, int channels, ev_array **out) {
  EV__ARG_NULL_IF(!path || !out, "ev_image_read: path or out",
                  "pass a file path and the address of an ev_array pointer");
  *out = NULL;
  if (channels != 0 && channels != 1 && channels != 3)
    return ev__fail(EV_ERR_ARGUMENT, "ev_image_read: channels must be 0 (as "
                    "stored), 1 or 3, got %d", channels);
  unsigned char head[8], *data;
  size_t len;
  /* The signature first: a large file of something else is refused
   * without being read whole. */
  ev_status st = ev__read_head(path, head, sizeof head, &len);
  if (st) return st;
  if (!known_signature(head, len))
    return ev__fail(EV_ERR_FORMAT,
                    "%s: not a PNG, JPEG, BMP or GIF image (its first bytes "
                    "are none of their signatures): give an image file, or "
                    "convert it to PNG",
                    path);
  st = ev__read_file(path, &data, &len);
  if (st) return st;
  ev__image img;
  st = ev__image_decode(data, len, path, channels, &img);
  ev__free(data);
  if (st) return st;
  ev_array *a = ev__calloc(1, sizeof *a);
  if (!a) {
    ev__free(img.pixels);
    return ev__nomem("an array", sizeof *a);
  }
  a->dtype = EV_DTYPE_UINT8;
  a->ndim = 3;
  a->shape[0] = img.h;
  a->shape[1] = img.w;
  a->shape[2] = (size_t)img.c;
  a->size = img.h * img.w * (size_t)img.c;
  a->data = img.pixels;
  *out = a;
  return EV_OK;
}
