/* ev_npy_read on any bytes: a status, never a crash; on success the array
 * is self-consistent and converts to float. Then the same file as a .npy
 * data set (images or model inputs), one item read. */
#include "fuzz_common.h"

static void as_dataset(const char *path, uint8_t opt) {
  ev_dataset *ds = NULL;
  ev_status st = ev_dataset_from_npy(path, NULL, &ds);
  fz_check_status(st);
  if (st) return;
  ev_dataset_set(ds, EV_DS_THREADS, 1);
  ev_dataset_set(ds, EV_DS_CHANNELS, (opt & 3) == 3 ? 0 : opt & 3);
  ev_dataset_set(ds, EV_DS_RESIZE, (opt >> 2) % 5);
  ev_dataset_set(ds, EV_DS_CROP, (opt >> 5) % 5);
  size_t n = 0, c, h, w;
  fz_check_status(ev_dataset_count(ds, &n));
  FZ_REQUIRE(n >= 1);
  st = ev_dataset_item_shape(ds, &c, &h, &w);
  fz_check_status(st);
  if (st == EV_OK && c * h * w <= (1u << 16)) {
    float *out = malloc(c * h * w * sizeof *out + 1);
    fz_check_status(ev_dataset_read(ds, n - 1, 1, out, c * h * w));
    free(out);
    uint8_t thumb[4 * 4 * 3];
    fz_check_status(ev_dataset_thumbnail(ds, 0, 4, thumb));
  }
  ev_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fz_file(0, ".npy", data, size);
  ev_array *a = NULL;
  ev_status st = ev_npy_read(path, &a);
  fz_check_status(st);
  if (st != EV_OK) {
    FZ_REQUIRE(a == NULL);
    return 0;
  }
  size_t nd = ev_array_ndim(a), n = 1;
  FZ_REQUIRE(nd >= 1 && nd <= EV_ARRAY_MAX_DIMS);
  for (size_t d = 0; d < nd; d++) n *= ev_array_dim(a, d);
  FZ_REQUIRE(n == ev_array_size(a));
  FZ_REQUIRE(ev_array_dim(a, nd) == 0);
  int dt = ev_array_dtype(a);
  FZ_REQUIRE(dt >= EV_DTYPE_FLOAT32 && dt <= EV_DTYPE_INT64);
  /* the file holds the data, so n is bounded by its size */
  FZ_REQUIRE(n <= size);
  float *f = malloc(n * sizeof *f + 1);
  if (n) FZ_REQUIRE(ev_array_to_float(a, f, n - 1) == EV_ERR_ARGUMENT);
  fz_check_status(ev_array_to_float(a, f, n));
  free(f);
  ev_array_free(a);
  as_dataset(path, size ? data[size - 1] : 0);
  return 0;
}
