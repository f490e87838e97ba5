/* Private parts of the io room: the array type, whole-file reading, image
 * decoding and torchvision-equivalent resampling. */
#ifndef EV_LIB_IO_PRIVATE_H
#define EV_LIB_IO_PRIVATE_H

#include "core/core.h"
#include "embedviz/io.h"

struct ev_array {
  int dtype;
  size_t ndim;
  size_t shape[EV_ARRAY_MAX_DIMS];
  size_t size; /* elements */
  void *data;  /* ev__malloc'd, size * ev__dtype_bytes(dtype) bytes */
};

size_t ev__dtype_bytes(int dtype);
/* A new array of dtype and shape with uninitialised data; EV_ERR_OVERFLOW
 * when the shape's bytes do not fit (message names `path`). */
ev_status ev__array_new(int dtype, size_t ndim, const size_t *shape,
                        const char *path, ev_array **out);

/* Read a whole file into an ev__malloc'd buffer. EV_ERR_NOT_FOUND,
 * EV_ERR_IO (with errno's text), EV_ERR_NOMEM. */
ev_status ev__read_file(const char *path, unsigned char **data, size_t *len);
/* Read at most cap bytes of the start of a file. */
ev_status ev__read_head(const char *path, unsigned char *buf, size_t cap,
                        size_t *len);

/* ---- images (image.c) ---- */
/* Decoded 8-bit image, H x W x C interleaved; pixels from ev__malloc. */
typedef struct ev__image {
  unsigned char *pixels;
  size_t w, h;
  int c;
} ev__image;

/* Decode an encoded image in memory; `path` names it in messages.
 * channels 0 keeps the file's, 1 and 3 convert as PIL does. */
ev_status ev__image_decode(const unsigned char *data, size_t len,
                           const char *path, int channels, ev__image *img);
/* Read only the header: width, height and channels (1..4). */
ev_status ev__image_probe(const char *path, size_t *w, size_t *h, int *c);
/* Convert in place to 1 or 3 channels (PIL's convert("L") / "RGB"). */
ev_status ev__image_convert(ev__image *img, int channels, const char *path);
/* True when the name ends with an image extension the decoder knows. */
int ev__is_image_name(const char *name);

/* ---- resampling (resample.c) ---- */
/* torchvision's Resize(size) output size for an h x w image: shorter side
 * to `shorter`, or exactly rh x rw when both are non-zero. */
void ev__resize_size(size_t h, size_t w, size_t shorter, size_t rh, size_t rw,
                     size_t *oh, size_t *ow);
/* PIL's Image.resize(BILINEAR) of an 8-bit interleaved h x w x c image
 * (antialiased when shrinking) into dst (oh x ow x c). EV_ERR_NOMEM. */
ev_status ev__resample_bilinear(const unsigned char *src, size_t h, size_t w,
                                int c, unsigned char *dst, size_t oh,
                                size_t ow);
/* torchvision's CenterCrop offsets: top and left in the (zero-padded)
 * image; negative when the crop is larger than the image. */
void ev__center_crop_offsets(size_t h, size_t w, size_t ch, size_t cw,
                             long *top, long *left);

#endif
