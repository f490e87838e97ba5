/*
 * embedviz/io.h - reading the data sets people feed the library: .npy
 * arrays, IDX files (MNIST, Fashion-MNIST), images (PNG, JPEG, BMP, GIF) and
 * folders of images, with torchvision's preprocessing.
 *
 * Arrays: a file is read into an ev_array, an opaque n-dimensional array the
 * caller frees:
 *
 *   ev_array *a;
 *   ev_npy_read("features.npy", &a);                  // or ev_idx_read, ev_image_read
 *   size_t n = ev_array_dim(a, 0), d = ev_array_dim(a, 1);
 *   const float *x = ev_array_data(a);                // when ev_array_dtype is EV_DTYPE_FLOAT32
 *   ev_array_free(a);
 *   ev_npy_write_matrix("scores.npy", x, n, d, ld);
 *
 * Data sets: an ev_dataset gives the items of a data set to a model as
 * N x C x H x W float tensors, batch by batch, with labels and class names:
 *
 *   ev_dataset *ds;
 *   ev_dataset_from_folder("photos/", 1, &ds);        // one subfolder per class;
 *                                                     // 1: skip unreadable files
 *   ev_dataset_set(ds, EV_DS_RESIZE, 256);            // torchvision's Resize(256)
 *   ev_dataset_set(ds, EV_DS_CROP, 224);              // CenterCrop(224)
 *   size_t n, c, h, w;
 *   ev_dataset_count(ds, &n);
 *   ev_dataset_item_shape(ds, &c, &h, &w);            // 3, 224, 224
 *   ev_dataset_read(ds, 0, 64, batch, c * h * w);     // items 0..63
 *   ev_dataset_free(ds);
 *
 * The preprocessing reproduces torchvision 0.14 on PIL images:
 * Image.open(p).convert("RGB" or "L"), Resize, CenterCrop, ToTensor,
 * Normalize (docs/io.md gives the measured difference).
 *
 * Threads: an ev_array is read-only once made and may be read by any number
 * of threads. An ev_dataset is used by one thread at a time
 * (ev_dataset_read and ev_dataset_thumbnail record skipped files in it);
 * different handles are independent, and the readers (ev_npy_read,
 * ev_idx_read, ev_image_read) may run in any number of threads at once.
 * ev_dataset_read decodes the items of a batch in parallel (EV_DS_THREADS).
 */
#ifndef EMBEDVIZ_IO_H
#define EMBEDVIZ_IO_H

#include "embedviz/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Arrays ------------------------------------------------------------- */

typedef struct ev_array ev_array;

/* Element types of an ev_array. */
typedef enum ev_dtype {
  EV_DTYPE_FLOAT32 = 1, /* numpy <f4 */
  EV_DTYPE_FLOAT64 = 2, /* numpy <f8 */
  EV_DTYPE_UINT8 = 3,   /* numpy |u1: images, IDX ubyte */
  EV_DTYPE_INT32 = 4,   /* numpy <i4: labels */
  EV_DTYPE_INT64 = 5    /* numpy <i8: labels */
} ev_dtype;

/* The most dimensions an ev_array has. */
#define EV_ARRAY_MAX_DIMS 8

/* Release an array; NULL is a no-op. */
EV_API void ev_array_free(ev_array *a);
/* The element type (an ev_dtype), or 0 for NULL. */
EV_API int ev_array_dtype(const ev_array *a);
/* Number of dimensions (1..EV_ARRAY_MAX_DIMS; 0 for NULL). */
EV_API size_t ev_array_ndim(const ev_array *a);
/* Length of dimension axis, or 0 when a is NULL or axis >= ndim. */
EV_API size_t ev_array_dim(const ev_array *a, size_t axis);
/* Number of elements (the product of the dimensions). */
EV_API size_t ev_array_size(const ev_array *a);
/* The elements, C order (last index fastest), of the array's dtype. Valid
 * until ev_array_free. */
EV_API const void *ev_array_data(const ev_array *a);
/* Copy the elements converted to float into out (room for count floats,
 * count >= ev_array_size). EV_ERR_ARGUMENT for NULL or a short buffer. */
EV_API ev_status ev_array_to_float(const ev_array *a, float *out,
                                   size_t count);

/* ---- .npy files ----------------------------------------------------------
 * numpy's format (versions 1.0, 2.0, 3.0). Read: dtypes f4, f8, u1, i4, i8,
 * little- or big-endian (kept as stored, in native byte order); Fortran
 * order is transposed to C order. */

/* Read a .npy file. EV_ERR_NOT_FOUND (no such file), EV_ERR_IO (also for
 * anything but a regular file: a folder, a device such as /dev/zero, a
 * FIFO), EV_ERR_FORMAT (bad magic, header, 'fortran_order' other than True
 * or False, unsupported dtype, truncated data; the message names the file
 * and what was expected), EV_ERR_OVERFLOW (a shape whose size does
 * not fit in memory's address range), EV_ERR_NOMEM, EV_ERR_ARGUMENT. */
EV_API ev_status ev_npy_read(const char *path, ev_array **out);

/* Write the rows x cols float matrix x (leading dimension ld) as a 2-D <f4
 * array, replacing the file. The writers never cost the caller the file
 * that was there: they write a temporary file in the same folder, check
 * every write, fsync and close it, then rename it over path; on any error
 * the old file is untouched and only the temporary file is removed. A
 * symbolic link is followed (the file it names is replaced). The new file
 * keeps the old file's permission bits (a new one gets 0666 minus the
 * umask). A path that exists and is not a regular file (a folder, a device
 * such as /dev/full, a FIFO, a socket) is refused, nothing written or
 * removed. EV_ERR_ARGUMENT, EV_ERR_NOT_FOUND (the folder does not exist),
 * EV_ERR_IO (not a regular file, folder not writable, disk full: the
 * message names the path and errno's text), EV_ERR_NOMEM. */
EV_API ev_status ev_npy_write_matrix(const char *path, const float *x,
                                     size_t rows, size_t cols, size_t ld);

/* Write a contiguous C-order array of dtype (an ev_dtype) and shape
 * (ndim 1..EV_ARRAY_MAX_DIMS), e.g. labels: ev_npy_write(p, EV_DTYPE_INT32,
 * labels, 1, &n). Written as ev_npy_write_matrix writes (nothing lost on
 * failure). EV_ERR_ARGUMENT, EV_ERR_OVERFLOW, EV_ERR_NOT_FOUND, EV_ERR_IO,
 * EV_ERR_NOMEM. */
EV_API ev_status ev_npy_write(const char *path, int dtype, const void *data,
                              size_t ndim, const size_t *shape);

/* ---- IDX files (MNIST, Fashion-MNIST) -------------------------------------
 * Big-endian header: 0, 0, type code, ndim, then ndim 32-bit sizes; gzipped
 * (.gz) or plain, both read transparently. Type 0x08 (ubyte) gives UINT8,
 * 0x09 (sbyte) and 0x0B (short) and 0x0C (int) give INT32, 0x0D FLOAT32,
 * 0x0E FLOAT64. */

/* Read an IDX file: images are N x H x W uint8, labels N uint8.
 * EV_ERR_NOT_FOUND, EV_ERR_IO (also: not a regular file), EV_ERR_FORMAT (bad magic, zero size, data
 * shorter or longer than the header says: the message names the file and
 * the expected size), EV_ERR_OVERFLOW, EV_ERR_NOMEM, EV_ERR_ARGUMENT. */
EV_API ev_status ev_idx_read(const char *path, ev_array **out);

/* ---- Images -------------------------------------------------------------- */

/* Decode a PNG, JPEG (baseline and progressive), BMP or GIF (first frame)
 * into an H x W x C uint8 array (stb_image; JPEG with the system's
 * libjpeg-turbo when installed: PIL's decoder, so the pixels are PIL's).
 * channels 0 keeps the file's channels (1 grey, 2 grey + alpha, 3 RGB,
 * 4 RGBA); 1 converts to grey as PIL's
 * convert("L") (ITU-R 601-2 luma, alpha dropped); 3 converts to RGB as
 * convert("RGB") (grey replicated, alpha dropped). A PNG's chunk CRCs and
 * its zlib stream's Adler-32 are checked: a damaged file is refused, never
 * decoded into wrong pixels. EV_ERR_NOT_FOUND, EV_ERR_IO (also for anything
 * but a regular file, e.g. /dev/zero or a FIFO: refused before reading),
 * EV_ERR_FORMAT (not an image, corrupt, damaged (CRC or Adler-32),
 * truncated, unsupported variant; the message names the file), EV_ERR_OVERFLOW (dimensions beyond
 * 2^24 a side), EV_ERR_LIMIT (more than 178956970 pixels, where PIL raises
 * DecompressionBombError), EV_ERR_NOMEM, EV_ERR_ARGUMENT (channels not 0, 1
 * or 3). */
EV_API ev_status ev_image_read(const char *path, int channels, ev_array **out);

/* ---- Data sets ----------------------------------------------------------- */

typedef struct ev_dataset ev_dataset;

/* Settings of a data set (ev_dataset_set / _get / _param_bounds). The
 * preprocessing of an item is, in order: convert to EV_DS_CHANNELS,
 * resize, center crop, scale (ToTensor), normalize. It applies to image
 * sources (files, IDX, uint8 .npy); float sources are used as they are. */
typedef enum ev_dataset_param {
  EV_DS_THREADS = 1,      /* threads decoding a batch; 0 (default) = all */
  EV_DS_CHANNELS = 2,     /* 1 (grey) or 3 (RGB) channels out; 0 (default) =
                             3 for image files, the source's otherwise */
  EV_DS_RESIZE = 3,       /* Resize(n): shorter side to n, bilinear with
                             PIL's antialiasing; 0 (default) = no resize */
  EV_DS_RESIZE_HEIGHT = 4,/* Resize((h, w)) when both are set (overrides */
  EV_DS_RESIZE_WIDTH = 5, /* EV_DS_RESIZE); 0 (default) = unset */
  EV_DS_CROP = 6,         /* CenterCrop(n), square; 0 (default) = none */
  EV_DS_CROP_HEIGHT = 7,  /* CenterCrop((h, w)) when both are set */
  EV_DS_CROP_WIDTH = 8,
  EV_DS_SCALE = 9,        /* pixel value multiplier; default 1/255
                             (ToTensor) */
  EV_DS_NORMALIZE = 10,   /* an ev_normalize; default EV_NORMALIZE_AUTO */
  EV_DS_MEAN0 = 11,       /* EV_NORMALIZE_CUSTOM: mean of channel 0.. */
  EV_DS_MEAN1 = 12,
  EV_DS_MEAN2 = 13,
  EV_DS_STD0 = 14,        /* ..and standard deviation (default 1) */
  EV_DS_STD1 = 15,
  EV_DS_STD2 = 16,
  EV_DS_ON_ERROR = 17     /* an ev_on_error; default EV_ON_ERROR_FAIL */
} ev_dataset_param;

/* Values of EV_DS_NORMALIZE. */
typedef enum ev_normalize {
  EV_NORMALIZE_AUTO = 0,     /* ImageNet's for 3 channels, none for 1 */
  EV_NORMALIZE_NONE = 1,
  EV_NORMALIZE_IMAGENET = 2, /* mean 0.485 0.456 0.406, std 0.229 0.224 0.225 */
  EV_NORMALIZE_CUSTOM = 3    /* EV_DS_MEAN0.. and EV_DS_STD0.. */
} ev_normalize;

/* Values of EV_DS_ON_ERROR: what an unreadable or corrupt image file does. */
typedef enum ev_on_error {
  EV_ON_ERROR_FAIL = 0, /* the call fails with EV_ERR_FORMAT / EV_ERR_IO */
  EV_ON_ERROR_SKIP = 1  /* files found unreadable when the data set is made
                           are left out; one found corrupt while reading a
                           batch gives an all-zero item. Both are listed by
                           ev_dataset_skipped_path */
} ev_on_error;

/* Make a data set of image files. labels (n int32, may be NULL: then every
 * label is -1) is copied. Every file's header is read now, so a missing or
 * unreadable file is reported here. skip_bad: 1 leaves such files out
 * (listed by ev_dataset_skipped_path; at least one must be readable, else
 * EV_ERR_NOT_FOUND) and sets EV_DS_ON_ERROR to SKIP; 0 fails on the first.
 * EV_ERR_ARGUMENT, EV_ERR_NOT_FOUND, EV_ERR_IO, EV_ERR_FORMAT, EV_ERR_NOMEM. */
EV_API ev_status ev_dataset_from_paths(const char *const *paths, size_t n,
                                       const int32_t *labels, int skip_bad,
                                       ev_dataset **out);

/* Make a data set of a folder with one subfolder per class, as MATLAB's
 * imageDatastore(..., 'LabelSource', 'foldernames') and torchvision's
 * ImageFolder: the class is the subfolder's name, classes sorted by name
 * (byte order) and numbered from 0, files sorted by name within a class.
 * Image files are recognised by extension, in any case: .png .jpg .jpeg
 * .bmp .gif; a subfolder without any is no class; deeper folders are not
 * read. Image files directly in the folder (no class subfolders) form one
 * data set without labels. skip_bad: 1 leaves unreadable files out (listed
 * by ev_dataset_skipped_path; EV_DS_ON_ERROR starts as SKIP), 0 fails on
 * the first. EV_ERR_NOT_FOUND (no folder, or no image in it), EV_ERR_IO,
 * EV_ERR_FORMAT, EV_ERR_NOMEM, EV_ERR_ARGUMENT. */
EV_API ev_status ev_dataset_from_folder(const char *folder, int skip_bad,
                                        ev_dataset **out);

/* Make a data set of an IDX images file (N x H x W uint8, gzipped or not)
 * and, unless labels_path is NULL, its IDX labels file (N uint8). Items are
 * grey images (EV_DS_CHANNELS 3 replicates them). Errors as ev_idx_read,
 * and EV_ERR_FORMAT when the two files disagree on N. */
EV_API ev_status ev_dataset_from_idx(const char *images_path,
                                     const char *labels_path,
                                     ev_dataset **out);

/* Make a data set of a .npy array and, unless labels_path is NULL, a .npy
 * label vector (integer dtype, N). A uint8 array of N x H x W or
 * N x H x W x C (C 1 or 3) holds images and is preprocessed; a float array
 * of N x C x H x W, N x H x W or N x D holds model-ready inputs, used as
 * they are (converted to float32; a 1-channel one is replicated when
 * EV_DS_CHANNELS is 3). Errors as ev_npy_read, and EV_ERR_FORMAT for other
 * shapes or dtypes. */
EV_API ev_status ev_dataset_from_npy(const char *path,
                                     const char *labels_path,
                                     ev_dataset **out);

/* Make a data set of the caller's n x c x h x w float inputs (item i starts
 * at data + i * ld, ld >= c * h * w), copied, used as they are.
 * EV_ERR_ARGUMENT, EV_ERR_NONFINITE, EV_ERR_OVERFLOW, EV_ERR_NOMEM. */
EV_API ev_status ev_dataset_from_floats(const float *data, size_t n,
                                        size_t c, size_t h, size_t w,
                                        size_t ld, const int32_t *labels,
                                        ev_dataset **out);

/* Release a data set; NULL is a no-op. */
EV_API void ev_dataset_free(ev_dataset *ds);

/* Change a setting (an ev_dataset_param). EV_ERR_ARGUMENT (and nothing
 * changed) when the value is outside ev_dataset_param_bounds or the param
 * is unknown. */
EV_API ev_status ev_dataset_set(ev_dataset *ds, ev_dataset_param param,
                                double value);
EV_API ev_status ev_dataset_get(const ev_dataset *ds, ev_dataset_param param,
                                double *value);
EV_API ev_status ev_dataset_param_bounds(ev_dataset_param param,
                                         double *lower, double *upper);
/* The default of a setting, the value a new data set has (since 1.1;
 * ev_dataset_from_paths and _from_folder with skip_bad set EV_DS_ON_ERROR
 * to SKIP). EV_ERR_ARGUMENT for an unknown param or a NULL value. */
EV_API ev_status ev_dataset_param_default(ev_dataset_param param,
                                          double *value);
/* Report progress of ev_dataset_read (EV_STAGE_READ, step = items done of
 * the batch) and allow cancelling it. NULL removes the callback. */
EV_API ev_status ev_dataset_set_progress(ev_dataset *ds, ev_progress_fn fn,
                                         void *user_data);

/* Number of items. */
EV_API ev_status ev_dataset_count(const ev_dataset *ds, size_t *n);
/* The shape C x H x W of one preprocessed item under the current settings
 * (for image files of different sizes without a crop, that of item 0).
 * EV_ERR_ARGUMENT, EV_ERR_FORMAT (the settings give an empty image). */
EV_API ev_status ev_dataset_item_shape(const ev_dataset *ds, size_t *c,
                                       size_t *h, size_t *w);
/* Copy the n labels (int32; -1 for items without a label) into out
 * (room for cap >= n). */
EV_API ev_status ev_dataset_labels(const ev_dataset *ds, int32_t *out,
                                   size_t cap);
/* Number of classes (folder data sets: subfolders; otherwise 1 + the
 * largest label, 0 without labels). */
EV_API ev_status ev_dataset_class_count(const ev_dataset *ds, size_t *n);
/* Name of class i (folder data sets: the subfolder's name; others: the
 * label as decimal text), or NULL when i is out of range, and for every i
 * of a data set whose largest label is 2^20 or more (no names are made for
 * so many classes). Valid until the data set is freed. */
EV_API const char *ev_dataset_class_name(const ev_dataset *ds, size_t i);
/* The file item i comes from, or NULL for items of an array (IDX, .npy,
 * floats: the item is index i of the source). Valid until freed. */
EV_API const char *ev_dataset_item_path(const ev_dataset *ds, size_t i);

/* Read items [start, start + count) preprocessed into out: item j at
 * out + j * ld, C x H x W floats (channel-major, as torch's N x C x H x W),
 * ld >= C * H * W. Items are decoded in parallel; memory beyond out is
 * about one decoded image per thread. EV_ERR_ARGUMENT (NULL, count 0, range
 * beyond the data set, ld too small), EV_ERR_FORMAT (an image is corrupt, or
 * its preprocessed shape differs from ev_dataset_item_shape: set a resize
 * and crop), EV_ERR_IO, EV_ERR_NOMEM, EV_ERR_CANCELLED. */
EV_API ev_status ev_dataset_read(ev_dataset *ds, size_t start, size_t count,
                                 float *out, size_t ld);

/* A side x side x 3 RGB uint8 thumbnail of item i (shorter side resized to
 * side, center-cropped, as the preprocessing does) for picture maps: out has
 * room for side * side * 3 bytes. Float sources give EV_ERR_UNSUPPORTED.
 * Other errors as ev_dataset_read. */
EV_API ev_status ev_dataset_thumbnail(ev_dataset *ds, size_t i, size_t side,
                                      uint8_t *out);

/* The whole of item i, aspect ratio kept, for picture maps and galleries
 * (since 1.1): resized (bilinear with PIL's antialiasing) so that its
 * longer side is `side` (enlarged when smaller; the shorter side rounded,
 * at least 1), as RGB (grey replicated, alpha dropped). out gets *height
 * rows of *width pixels, packed (row stride *width * 3): room for side *
 * side * 3 bytes. A JPEG at least twice the target's size is decoded at a
 * reduced DCT scale (1/2, 1/4 or 1/8, as PIL's draft(); several times
 * faster), then resampled: the pixels are those of PIL's
 * im.draft("RGB", (2 * w, 2 * h)); im.convert("RGB").resize((w, h),
 * Image.BILINEAR). *file_channels (NULL: not wanted) gets the channels the
 * file (or array) has: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA, so a caller
 * can say how many grey images were shown or fed as RGB. The settings of
 * the data set do not apply. It changes nothing in the data set (a failure
 * is not added to the skipped files): several threads may call it on one
 * data set at once, with no other call on that data set meanwhile.
 * EV_ERR_ARGUMENT (NULL, side 0 or above 65536, i out of range),
 * EV_ERR_UNSUPPORTED (float sources), and the errors of ev_image_read
 * (EV_ERR_NOT_FOUND, EV_ERR_IO, EV_ERR_FORMAT, EV_ERR_LIMIT,
 * EV_ERR_NOMEM). */
EV_API ev_status ev_dataset_thumbnail_fit(const ev_dataset *ds, size_t i,
                                          size_t side, uint8_t *out,
                                          size_t *width, size_t *height,
                                          int *file_channels);

/* Files left out or found corrupt (EV_ON_ERROR_SKIP), each listed once:
 * their number, and the path and message of skipped file i (NULL when out
 * of range). The strings stay valid until the data set is freed. */
EV_API size_t ev_dataset_skipped_count(const ev_dataset *ds);
EV_API const char *ev_dataset_skipped_path(const ev_dataset *ds, size_t i);
EV_API const char *ev_dataset_skipped_reason(const ev_dataset *ds, size_t i);

#ifdef __cplusplus
}
#endif
#endif /* EMBEDVIZ_IO_H */
