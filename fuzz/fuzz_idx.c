/* ev_idx_read on any bytes (plain or gzipped: zlib reads both), then the
 * same file as an IDX image data set, read with fuzzed preprocessing. */
#include "fuzz_common.h"

static void check_array(const ev_array *a, size_t size) {
  size_t nd = ev_array_ndim(a), n = 1;
  FZ_REQUIRE(nd >= 1 && nd <= EV_ARRAY_MAX_DIMS);
  for (size_t d = 0; d < nd; d++) {
    FZ_REQUIRE(ev_array_dim(a, d) > 0);
    n *= ev_array_dim(a, d);
  }
  FZ_REQUIRE(n == ev_array_size(a));
  float *f = malloc(n * sizeof *f + 1);
  fz_check_status(ev_array_to_float(a, f, n));
  free(f);
  (void)size;
}

static void as_dataset(const char *path, fz_bytes *b) {
  ev_dataset *ds = NULL;
  ev_status st = ev_dataset_from_idx(path, NULL, &ds);
  fz_check_status(st);
  if (st) return;
  ev_dataset_set(ds, EV_DS_THREADS, 1);
  ev_dataset_set(ds, EV_DS_CHANNELS, fz_u8(b) & 1 ? 3 : 1);
  ev_dataset_set(ds, EV_DS_RESIZE, fz_u8(b) % 9);
  ev_dataset_set(ds, EV_DS_CROP, fz_u8(b) % 9);
  size_t n = 0, c, h, w;
  fz_check_status(ev_dataset_count(ds, &n));
  st = ev_dataset_item_shape(ds, &c, &h, &w);
  fz_check_status(st);
  if (st == EV_OK && n && c * h * w <= (1u << 16)) {
    float *out = malloc(c * h * w * sizeof *out);
    fz_check_status(ev_dataset_read(ds, n - 1, 1, out, c * h * w));
    free(out);
    uint8_t thumb[8 * 8 * 3];
    fz_check_status(ev_dataset_thumbnail(ds, 0, 8, thumb));
  }
  ev_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fz_file(0, ".idx", data, size);
  ev_array *a = NULL;
  ev_status st = ev_idx_read(path, &a);
  fz_check_status(st);
  if (st == EV_OK) {
    check_array(a, size);
    ev_array_free(a);
  }
  /* settings from the last bytes, so the file's start stays the header */
  fz_bytes b = {size >= 3 ? data + size - 3 : data, size >= 3 ? 3 : 0};
  as_dataset(path, &b);
  return 0;
}
