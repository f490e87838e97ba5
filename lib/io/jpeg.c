/* JPEG decoding with the system's libjpeg-turbo when it is installed, so
 * JPEG pixels are the very bytes PIL (hence torchvision) decodes on this
 * machine: Debian's python3-pil uses the same libjpeg.so.62 with the same
 * defaults (islow IDCT, fancy upsampling). The library is opened at run
 * time (dlopen), so libembedviz gains no link dependency; without it, or
 * for colour spaces PIL converts differently (CMYK, YCCK), stb_image
 * decodes instead (within a few levels, see docs/io.md). libjpeg allocates
 * with its own malloc: the test allocation hook does not reach it. */
#include "io/io_private.h"

#if defined(__has_include) && __has_include(<jpeglib.h>)
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct jpeg_api {
  struct jpeg_error_mgr *(*std_error)(struct jpeg_error_mgr *);
  void (*create)(j_decompress_ptr, int, size_t);
  void (*mem_src)(j_decompress_ptr, const unsigned char *, unsigned long);
  int (*read_header)(j_decompress_ptr, boolean);
  boolean (*start)(j_decompress_ptr);
  JDIMENSION (*read_scanlines)(j_decompress_ptr, JSAMPARRAY, JDIMENSION);
  boolean (*finish)(j_decompress_ptr);
  void (*destroy)(j_decompress_ptr);
} jpeg_api;

static jpeg_api api;
static int have_api;
static pthread_once_t api_once = PTHREAD_ONCE_INIT;

static int jpeg_disabled; /* tests: force the stb path */
void ev__jpeg_disable(int off) { jpeg_disabled = off; }

static void load_api(void) {
  void *h = dlopen("libjpeg.so.62", RTLD_NOW | RTLD_LOCAL);
  if (!h) return;
  *(void **)&api.std_error = dlsym(h, "jpeg_std_error");
  *(void **)&api.create = dlsym(h, "jpeg_CreateDecompress");
  *(void **)&api.mem_src = dlsym(h, "jpeg_mem_src");
  *(void **)&api.read_header = dlsym(h, "jpeg_read_header");
  *(void **)&api.start = dlsym(h, "jpeg_start_decompress");
  *(void **)&api.read_scanlines = dlsym(h, "jpeg_read_scanlines");
  *(void **)&api.finish = dlsym(h, "jpeg_finish_decompress");
  *(void **)&api.destroy = dlsym(h, "jpeg_destroy_decompress");
  have_api = api.std_error && api.create && api.mem_src && api.read_header &&
             api.start && api.read_scanlines && api.finish && api.destroy;
}

typedef struct err_mgr {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
  int truncated;
  unsigned char *pixels; /* freed after a longjmp */
} err_mgr;

static void on_error(j_common_ptr c) {
  err_mgr *e = (err_mgr *)c->err;
  e->pub.format_message(c, e->msg);
  longjmp(e->jump, 1);
}

/* Never print. A premature end of data is an error for us, as it is for
 * PIL ("image file is truncated"); other warnings are ignored as PIL does. */
static void on_message(j_common_ptr c, int level) {
  err_mgr *e = (err_mgr *)c->err;
  if (level < 0 && e->pub.msg_code == JWRN_JPEG_EOF) e->truncated = 1;
}

int ev__jpeg_available(void) {
  pthread_once(&api_once, load_api);
  return have_api && !jpeg_disabled;
}

/* PIL's JpegImageFile.draft(mode, (req_w, req_h)): the largest of the DCT
 * scales 1/8, 1/4, 1/2 that keeps the image at least req_w x req_h (the
 * output is ceil(size / scale)); 1 when nothing is asked. */
static unsigned draft_scale(size_t w, size_t h, size_t req_w, size_t req_h) {
  if (!req_w || !req_h) return 1;
  size_t s = w / req_w < h / req_h ? w / req_w : h / req_h;
  return s >= 8 ? 8 : s >= 4 ? 4 : s >= 2 ? 2 : 1;
}

static ev_status decode(struct jpeg_decompress_struct *ci, err_mgr *e,
                        const char *path, size_t req_w, size_t req_h,
                        ev__image *img, int *handled) {
  if (ci->jpeg_color_space != JCS_GRAYSCALE &&
      ci->jpeg_color_space != JCS_YCbCr && ci->jpeg_color_space != JCS_RGB)
    return EV_OK; /* not handled: stb decodes it */
  *handled = 1;
  int c = ci->jpeg_color_space == JCS_GRAYSCALE ? 1 : 3;
  ci->out_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  ci->scale_num = 1;
  ci->scale_denom = draft_scale(ci->image_width, ci->image_height, req_w,
                                req_h);
  api.start(ci);
  size_t w = ci->output_width, h = ci->output_height, bytes;
  if (w > (1u << 24) || h > (1u << 24) || !ev__mul3(w, h, (size_t)c, &bytes))
    return ev__fail(EV_ERR_OVERFLOW, "%s: JPEG of %zu x %zu pixels is too "
                    "large", path, w, h);
  if (!(e->pixels = ev__malloc(bytes))) return ev__nomem("an image", bytes);
  while (ci->output_scanline < ci->output_height) {
    JSAMPROW row = e->pixels + (size_t)ci->output_scanline * w * (size_t)c;
    api.read_scanlines(ci, &row, 1);
  }
  api.finish(ci);
  if (e->truncated)
    return ev__fail(EV_ERR_FORMAT,
                    "%s: the JPEG data is truncated: the file "
                    "is incomplete: copy or download it again",
                    path);
  img->pixels = e->pixels;
  e->pixels = NULL;
  img->w = w;
  img->h = h;
  img->c = c;
  return EV_OK;
}

int ev__jpeg_decode(const unsigned char *data, size_t len, const char *path,
                    ev__image *img, ev_status *status) {
  return ev__jpeg_decode_draft(data, len, path, 0, 0, img, status);
}

int ev__jpeg_decode_draft(const unsigned char *data, size_t len,
                          const char *path, size_t req_w, size_t req_h,
                          ev__image *img, ev_status *status) {
  if (len < 3 || data[0] != 0xFF || data[1] != 0xD8 || len > 0xFFFFFFFFu ||
      !ev__jpeg_available())
    return 0;
  struct jpeg_decompress_struct ci;
  err_mgr e;
  memset(&e, 0, sizeof e);
  ci.err = api.std_error(&e.pub);
  e.pub.error_exit = on_error;
  e.pub.emit_message = on_message;
  int handled = 0;
  if (setjmp(e.jump)) {
    api.destroy(&ci);
    ev__free(e.pixels);
    *status = ev__fail(EV_ERR_FORMAT,
                       "%s: not a readable JPEG image (%s): "
                       "the file is corrupt or truncated: replace it",
                       path, e.msg);
    return 1;
  }
  api.create(&ci, JPEG_LIB_VERSION, sizeof ci);
  api.mem_src(&ci, data, (unsigned long)len);
  api.read_header(&ci, TRUE);
  ev_status st = decode(&ci, &e, path, req_w, req_h, img, &handled);
  api.destroy(&ci);
  ev__free(e.pixels);
  *status = st;
  return handled;
}

#else /* no libjpeg headers at build time: stb decodes every JPEG */
void ev__jpeg_disable(int off) { (void)off; }
int ev__jpeg_available(void) { return 0; }
int ev__jpeg_decode(const unsigned char *data, size_t len, const char *path,
                    ev__image *img, ev_status *status) {
  (void)data; (void)len; (void)path; (void)img; (void)status;
  return 0;
}
int ev__jpeg_decode_draft(const unsigned char *data, size_t len,
                          const char *path, size_t req_w, size_t req_h,
                          ev__image *img, ev_status *status) {
  (void)req_w; (void)req_h;
  return ev__jpeg_decode(data, len, path, img, status);
}
#endif
