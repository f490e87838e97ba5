/* Image decoding (PNG, JPEG through libjpeg-turbo and through stb_image,
 * BMP, GIF) on any bytes, in memory and through the file readers
 * (ev_image_read, an image-file data set read with fuzzed preprocessing).
 * The input is the raw file, so any image is a seed; the options are taken
 * from the input's length and a byte in its middle. */
#include "fuzz_common.h"
#include "io/io_private.h"

static const char *suffix_of(const uint8_t *d, size_t n) {
  if (n >= 2 && d[0] == 0xFF && d[1] == 0xD8) return ".jpg";
  if (n >= 2 && d[0] == 'B' && d[1] == 'M') return ".bmp";
  if (n >= 3 && memcmp(d, "GIF", 3) == 0) return ".gif";
  return ".png";
}

static void as_dataset(const char *path, uint8_t opt) {
  ev_dataset *ds = NULL;
  ev_status st = ev_dataset_from_paths(&path, 1, NULL, 0, &ds);
  fz_check_status(st);
  if (st) return;
  ev_dataset_set(ds, EV_DS_THREADS, 1);
  ev_dataset_set(ds, EV_DS_CHANNELS, opt & 1 ? 1 : 3);
  ev_dataset_set(ds, EV_DS_RESIZE, (opt >> 1) % 7);
  ev_dataset_set(ds, EV_DS_CROP, (opt >> 4) % 7);
  ev_dataset_set(ds, EV_DS_ON_ERROR, (opt >> 7) & 1);
  size_t c, h, w;
  st = ev_dataset_item_shape(ds, &c, &h, &w);
  fz_check_status(st);
  if (st == EV_OK && c * h * w <= (1u << 18)) {
    float *out = malloc(c * h * w * sizeof *out);
    st = ev_dataset_read(ds, 0, 1, out, c * h * w);
    fz_check_status(st);
    if (st == EV_OK) FZ_REQUIRE(fz_all_finite(out, 1, c * h * w, c * h * w));
    free(out);
  }
  uint8_t thumb[6 * 6 * 3];
  fz_check_status(ev_dataset_thumbnail(ds, 0, 6, thumb));
  ev_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const int chans[3] = {0, 1, 3};
  int channels = chans[size % 3];
  uint8_t opt = size ? data[size / 2] : 0;
  ev__jpeg_disable((size / 3) & 1);
  /* Images of 4 to 179 Mpixel decode for seconds under ASan and tell
   * nothing new: skipped (larger ones are refused from the header, which
   * is cheap and stays fuzzed). */
  size_t pw, ph;
  int pc;
  const char *probe = fz_file(1, suffix_of(data, size), data, size);
  if (ev__image_probe(probe, &pw, &ph, &pc) == EV_OK && pw * ph > (1u << 22) &&
      pw * ph <= 2 * 89478485ull) {
    ev__jpeg_disable(0);
    return 0;
  }
  ev__image img = {0};
  ev_status st = ev__image_decode(data, size, "fuzz", channels, &img);
  fz_check_status(st);
  if (st != EV_OK) FZ_REQUIRE(img.pixels == NULL);
  if (st == EV_OK) {
    FZ_REQUIRE(img.w > 0 && img.h > 0 && img.pixels);
    FZ_REQUIRE(channels ? img.c == channels : img.c >= 1 && img.c <= 4);
    volatile unsigned sum = 0; /* touch every byte: ASan checks the size */
    for (size_t i = 0; i < img.w * img.h * (size_t)img.c; i++)
      sum += img.pixels[i];
    (void)sum;
    ev__free(img.pixels);
  }
  /* the file paths: only for images small enough to resample quickly */
  if (st == EV_OK && img.w * img.h <= (1u << 16)) {
    const char *path = fz_file(0, suffix_of(data, size), data, size);
    ev_array *a = NULL;
    ev_status st2 = ev_image_read(path, channels, &a);
    fz_check_status(st2);
    FZ_REQUIRE(st2 == EV_OK);
    FZ_REQUIRE(ev_array_dim(a, 0) == img.h && ev_array_dim(a, 1) == img.w);
    ev_array_free(a);
    as_dataset(path, opt);
  }
  ev__jpeg_disable(0);
  return 0;
}
