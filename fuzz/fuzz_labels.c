/* Label files: a data set of three fixed 2 x 2 images with a fuzzed label
 * file, IDX (plain or gzipped) when the input starts with two zero bytes,
 * .npy otherwise. Labels, class count and class names must stay
 * consistent whatever the file says. */
#include "fuzz_common.h"

static const char *images_idx, *images_npy;

static const uint8_t idx_images[] = {0, 0, 0x08, 3, 0, 0, 0, 3, 0, 0, 0, 2,
                                     0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8,
                                     9, 10, 11, 12};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  images_idx = fz_file(1, ".idx", idx_images, sizeof idx_images);
  /* the same images as a uint8 .npy */
  char hdr[128];
  int n = snprintf(hdr, sizeof hdr, "{'descr': '|u1', 'fortran_order': "
                   "False, 'shape': (3, 2, 2), }");
  while ((10 + n + 1) % 64) hdr[n++] = ' ';
  hdr[n++] = '\n';
  uint8_t buf[256];
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (uint8_t)n;
  buf[9] = 0;
  memcpy(buf + 10, hdr, (size_t)n);
  memcpy(buf + 10 + n, idx_images + 16, 12);
  images_npy = fz_file(2, ".npy", buf, 10 + (size_t)n + 12);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int idx = size >= 2 && data[0] == 0 && data[1] == 0;
  idx |= size >= 2 && data[0] == 0x1f && data[1] == 0x8b; /* gzip */
  const char *labels = fz_file(0, idx ? ".idx" : ".npy", data, size);
  ev_dataset *ds = NULL;
  ev_status st = idx ? ev_dataset_from_idx(images_idx, labels, &ds)
                     : ev_dataset_from_npy(images_npy, labels, &ds);
  fz_check_status(st);
  if (st) {
    FZ_REQUIRE(ds == NULL);
    return 0;
  }
  size_t n = 0, classes = 0;
  fz_check_status(ev_dataset_count(ds, &n));
  FZ_REQUIRE(n == 3);
  int32_t lab[3];
  FZ_REQUIRE(ev_dataset_labels(ds, lab, 2) == EV_ERR_ARGUMENT);
  fz_check_status(ev_dataset_labels(ds, lab, 3));
  fz_check_status(ev_dataset_class_count(ds, &classes));
  for (size_t i = 0; i < 3; i++) {
    FZ_REQUIRE(lab[i] >= -1);
    FZ_REQUIRE(lab[i] < 0 || (size_t)lab[i] < classes);
  }
  /* named classes up to 2^20 labels (lib/io/dataset.c MAX_NAMED_LABEL) */
  for (size_t i = 0; classes <= (1u << 20) && i < classes && i < 1000; i++)
    FZ_REQUIRE(ev_dataset_class_name(ds, i) != NULL);
  FZ_REQUIRE(ev_dataset_class_name(ds, classes) == NULL);
  ev_dataset_free(ds);
  return 0;
}
