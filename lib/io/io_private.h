/* Private parts of the io room: the array type, whole-file reading, image
 * decoding and torchvision-equivalent resampling. */
#ifndef EV_LIB_IO_PRIVATE_H
#define EV_LIB_IO_PRIVATE_H

#include <stdio.h>

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

/* EV_ERR_IO when path names anything but a regular file: a folder (fopen
 * succeeds on one, and reading it would give a confusing message), a device
 * such as /dev/zero or a FIFO (reading could never end); EV_OK otherwise,
 * also when it does not exist (the open that follows reports that). */
ev_status ev__regular_file(const char *path);
/* fopen(path, "rb") for regular files only (the check above, made on the
 * open descriptor; a FIFO's open does not wait). EV_ERR_NOT_FOUND,
 * EV_ERR_IO. */
ev_status ev__open_regular(const char *path, FILE **out);
/* Read a whole regular file into an ev__malloc'd buffer. EV_ERR_NOT_FOUND,
 * EV_ERR_IO (with errno's text; not a regular file), EV_ERR_NOMEM. */
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
/* JPEG through the system's libjpeg (jpeg.c): returns 0 when it does not
 * handle the data (no library, not a JPEG, CMYK), else 1 with *status. */
int ev__jpeg_decode(const unsigned char *data, size_t len, const char *path,
                    ev__image *img, ev_status *status);
/* The same, decoded at a reduced DCT scale (1/2, 1/4, 1/8) as PIL's
 * draft(mode, (req_w, req_h)) chooses: the largest that keeps the image at
 * least req_w x req_h; req 0 x 0 decodes at full size. */
int ev__jpeg_decode_draft(const unsigned char *data, size_t len,
                          const char *path, size_t req_w, size_t req_h,
                          ev__image *img, ev_status *status);
int ev__jpeg_available(void);
/* Tests only: non-zero makes stb decode JPEGs even when libjpeg is there. */
void ev__jpeg_disable(int off);
/* EV_ERR_FORMAT when data is a PNG whose chunk CRCs or zlib Adler-32 do
 * not match (png_check.c); EV_OK for anything else, a PNG cut short
 * included (the decoder reports that). */
ev_status ev__png_check(const unsigned char *data, size_t len,
                        const char *path);
/* ev__image_decode of the whole image made to fit a side x side square:
 * resized (PIL's BILINEAR, antialiased) so its longer side is `side`, the
 * shorter rounded (at least 1); a JPEG much larger than that is decoded at
 * a reduced DCT scale first (draft, see ev__jpeg_decode_draft, asking for
 * twice the target as PIL's thumbnail does). img gets 1 (grey) or 3 (RGB)
 * channels; *file_channels the file's own (1..4). */
ev_status ev__image_decode_fit(const unsigned char *data, size_t len,
                               const char *path, size_t side, ev__image *img,
                               int *file_channels);
/* The size an h x w image gets in ev__image_decode_fit. */
void ev__fit_size(size_t h, size_t w, size_t side, size_t *oh, size_t *ow);
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

/* ---- data sets (dataset.c, dataset_read.c, folder.c) ---- */
/* The settings: X(id, lower, upper, whole number, default). The table of
 * dataset.c is made from this list; the value of `id` is p[id]. */
#define EV__DS_SETTINGS(X)                                  \
  X(EV_DS_THREADS, 0, 1024, true, 0)                        \
  X(EV_DS_CHANNELS, 0, 3, true, 0)                          \
  X(EV_DS_RESIZE, 0, 65536, true, 0)                        \
  X(EV_DS_RESIZE_HEIGHT, 0, 65536, true, 0)                 \
  X(EV_DS_RESIZE_WIDTH, 0, 65536, true, 0)                  \
  X(EV_DS_CROP, 0, 65536, true, 0)                          \
  X(EV_DS_CROP_HEIGHT, 0, 65536, true, 0)                   \
  X(EV_DS_CROP_WIDTH, 0, 65536, true, 0)                    \
  X(EV_DS_SCALE, 1e-12, 1e12, false, 1.0 / 255.0)           \
  X(EV_DS_NORMALIZE, 0, 3, true, EV_NORMALIZE_AUTO)         \
  X(EV_DS_MEAN0, -1e12, 1e12, false, 0)                     \
  X(EV_DS_MEAN1, -1e12, 1e12, false, 0)                     \
  X(EV_DS_MEAN2, -1e12, 1e12, false, 0)                     \
  X(EV_DS_STD0, 1e-12, 1e12, false, 1)                      \
  X(EV_DS_STD1, 1e-12, 1e12, false, 1)                      \
  X(EV_DS_STD2, 1e-12, 1e12, false, 1)                      \
  X(EV_DS_ON_ERROR, 0, 1, true, EV_ON_ERROR_FAIL)
/* p[] has a slot for every id from 0 to the number of settings (ids start
 * at 1); dataset.c checks every id fits. */
enum { EV__DS_NPARAMS = EV__COUNT(EV__DS_SETTINGS) + 1 };

typedef struct ev__skip {
  char *path, *reason;
  size_t item; /* SIZE_MAX when left out before the data set was made */
} ev__skip;

struct ev_dataset {
  size_t n;
  /* image files (paths != NULL) or an array (arr): uint8 images
   * N x H x W x C interleaved, or float32 inputs N x C x H x W */
  char **paths;
  size_t first_w, first_h; /* item 0's size, from its header */
  ev_array *arr;
  size_t ac, ah, aw; /* an array item's channels, height, width */
  int32_t *labels;
  char **class_names;
  size_t n_classes;
  double p[EV__DS_NPARAMS];
  ev_progress_fn progress;
  void *progress_user;
  ev__skip *skipped;
  size_t n_skipped, cap_skipped;
};

/* Record a skipped file (copies both strings). EV_ERR_NOMEM. */
ev_status ev__dataset_add_skip(ev_dataset *ds, const char *path,
                               const char *reason, size_t item);
/* Sorted image files of a folder's class subfolders (see
 * ev_dataset_from_folder): paths, labels, class names, all ev__malloc'd. */
ev_status ev__scan_folder(const char *folder, char ***paths, int32_t **labels,
                          size_t *n, char ***classes, size_t *n_classes);
void ev__free_strings(char **s, size_t n);
/* Make a file data set from owned paths/labels/classes (taken over, also on
 * failure). */
ev_status ev__dataset_from_files(char **paths, int32_t *labels, size_t n,
                                 char **classes, size_t n_classes,
                                 int skip_bad, ev_dataset **out);

#endif
