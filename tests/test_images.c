/* Image files: decoding breadth against PIL's pixels (issue 21), damaged
 * PNGs refused rather than decoded into wrong pixels, and files that are
 * not regular files (devices, FIFOs) refused at once instead of read
 * forever (issue 15). Fixtures: tests/data/images/, made by
 * tests/ref/images_make_fixtures.py with PIL. */
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include "core/testhook.h"
#include "testutil.h"

#define D "tests/data/images/"

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  unsigned char *b = malloc(1 << 16);
  *len = fread(b, 1, 1 << 16, f);
  fclose(f);
  return b;
}

static void spill(const char *path, const unsigned char *b, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(b, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

/* Each kind decodes to exactly PIL's Image.open(f).convert("RGB"). 16-bit
 * grey is the odd one: PIL opens it as 32-bit integers and convert("RGB")
 * clips at 255 (a sample of 256 becomes 255, 200 stays 200), where a
 * scaling decoder would give 0 and 0; the library follows PIL, as its
 * models were trained on PIL's pixels. */
static const char *const kinds[] = {
    "grey16.png",     "rgb16.png",       "palette_trns.png",
    "grey_alpha.png", "interlaced.png",  "progressive.jpg",
    "cmyk.jpg",       "rgba32.bmp",      "rgb8.png"};

START_TEST(decodes_as_pil) {
  char img[256], ref[256];
  snprintf(img, sizeof img, D "%s", kinds[_i]);
  snprintf(ref, sizeof ref, D "%.*s.rgb",
           (int)(strrchr(kinds[_i], '.') - kinds[_i]), kinds[_i]);
  size_t len;
  unsigned char *want = slurp(ref, &len);
  ck_assert_uint_eq(len, 7 * 13 * 3);
  ev_array *a = NULL;
  ck_assert_ev_ok(ev_image_read(img, 3, &a));
  ck_assert_uint_eq(ev_array_dim(a, 0), 7);
  ck_assert_uint_eq(ev_array_dim(a, 1), 13);
  ck_assert_uint_eq(ev_array_dim(a, 2), 3);
  const unsigned char *got = ev_array_data(a);
  size_t diff = 0, first = len;
  for (size_t i = 0; i < len; i++)
    if (got[i] != want[i]) {
      diff++;
      if (first == len) first = i;
    }
  ck_assert_msg(diff == 0,
                "%s: %zu of %zu bytes differ from PIL's, first at %zu "
                "(%u, PIL %u)",
                kinds[_i], diff, len, first, first < len ? got[first] : 0,
                first < len ? want[first] : 0);
  ev_array_free(a);
  free(want);
}
END_TEST

/* Offset of the first IDAT chunk's data, and its length. */
static size_t idat(const unsigned char *b, size_t len, size_t *n) {
  for (size_t i = 8; i + 12 <= len;) {
    size_t l = (size_t)b[i] << 24 | b[i + 1] << 16 | b[i + 2] << 8 | b[i + 3];
    if (memcmp(b + i + 4, "IDAT", 4) == 0) {
      *n = l;
      return i + 8;
    }
    i += 12 + l;
  }
  ck_abort_msg("no IDAT");
  return 0;
}

static void put_crc(unsigned char *b, size_t data, size_t n) {
  uint32_t c = (uint32_t)crc32(0, b + data - 4, (uInt)n + 4);
  unsigned char *p = b + data + n;
  p[0] = c >> 24, p[1] = c >> 16, p[2] = c >> 8, p[3] = (unsigned char)c;
}

static char tmp[64];

static void make_tmp(void) {
  snprintf(tmp, sizeof tmp, "/tmp/ev_images_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void remove_tmp(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  ck_assert_int_eq(system(cmd), 0);
}

/* A byte changed in the middle of the compressed pixels: stb alone decoded
 * it with EV_OK. The CRC catches it; with the CRC made to match, zlib's
 * Adler-32 (or the stream's structure) does. Both EV_ERR_FORMAT naming the
 * file. A data set with skip-bad lists the file with the reason. */
START_TEST(damaged_png_is_refused_and_listed) {
  make_tmp();
  size_t len, n;
  unsigned char *b = slurp(D "rgb8.png", &len);
  size_t at = idat(b, len, &n);
  b[at + n / 2] ^= 0x01;
  char bad[200], bad2[200], good[200], dir[128];
  snprintf(dir, sizeof dir, "%s/photos", tmp);
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  snprintf(bad, sizeof bad, "%s/a_crc.png", dir);
  snprintf(bad2, sizeof bad2, "%s/b_adler.png", dir);
  snprintf(good, sizeof good, "%s/c_good.png", dir);
  spill(bad, b, len);
  put_crc(b, at, n);
  spill(bad2, b, len);
  b[at + n / 2] ^= 0x01;
  put_crc(b, at, n);
  spill(good, b, len);
  ev_array *a = NULL;
  ck_assert_ev(ev_image_read(bad, 3, &a), EV_ERR_FORMAT);
  ck_assert_errmsg_has("a_crc.png: damaged PNG: the CRC of its IDAT chunk");
  ck_assert_ev(ev_image_read(bad2, 3, &a), EV_ERR_FORMAT);
  ck_assert_errmsg_has("b_adler.png: damaged PNG");
  ck_assert_ptr_null(a);
  ck_assert_ev_ok(ev_image_read(good, 3, &a));
  ev_array_free(a);
  ev_dataset *ds;
  ck_assert_ev_ok(ev_dataset_from_folder(dir, 1, &ds));
  size_t count, c, h, w;
  ck_assert_ev_ok(ev_dataset_count(ds, &count));
  ck_assert_uint_eq(count, 3); /* headers are fine: found while reading */
  ck_assert_ev_ok(ev_dataset_item_shape(ds, &c, &h, &w));
  float *batch = malloc(3 * c * h * w * sizeof *batch);
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 3, batch, c * h * w));
  ck_assert_uint_eq(ev_dataset_skipped_count(ds), 2);
  ck_assert_str_eq(ev_dataset_skipped_path(ds, 0), bad);
  ck_assert_ptr_nonnull(strstr(ev_dataset_skipped_reason(ds, 0), "CRC"));
  ck_assert_str_eq(ev_dataset_skipped_path(ds, 1), bad2);
  ck_assert_ptr_nonnull(
      strstr(ev_dataset_skipped_reason(ds, 1), "damaged PNG"));
  free(batch);
  ev_dataset_free(ds);
  free(b);
  remove_tmp();
}
END_TEST

/* /dev/zero and /dev/urandom used to be read until memory ran out; a FIFO
 * without a writer blocked the open. All refused at once, naming what they
 * are, by every reader. A FIFO named like an image in a data set folder is
 * listed as skipped. */
START_TEST(non_regular_files_are_refused) {
  ev_array *a = NULL;
  ck_assert_ev(ev_image_read("/dev/zero", 3, &a), EV_ERR_IO);
  ck_assert_errmsg_has("/dev/zero is a character device, not a regular file");
  ck_assert_ev(ev_image_read("/dev/urandom", 0, &a), EV_ERR_IO);
  ck_assert_ev(ev_npy_read("/dev/zero", &a), EV_ERR_IO);
  ck_assert_errmsg_has("not a regular file");
  ck_assert_ev(ev_idx_read("/dev/urandom", &a), EV_ERR_IO);
  ck_assert_errmsg_has("not a regular file");
  ck_assert_ptr_null(a);
  make_tmp();
  char dir[128], fifo[160], good[160];
  snprintf(dir, sizeof dir, "%s/photos", tmp);
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  snprintf(fifo, sizeof fifo, "%s/a_pipe.png", dir);
  snprintf(good, sizeof good, "%s/b_good.png", dir);
  ck_assert_int_eq(mkfifo(fifo, 0644), 0);
  size_t len;
  unsigned char *b = slurp(D "rgb8.png", &len);
  spill(good, b, len);
  ck_assert_ev(ev_image_read(fifo, 3, &a), EV_ERR_IO);
  ck_assert_errmsg_has("a FIFO (named pipe), not a regular file");
  ck_assert_ev(ev_npy_read(fifo, &a), EV_ERR_IO);
  ck_assert_ev(ev_idx_read(fifo, &a), EV_ERR_IO);
  ev_dataset *ds;
  ck_assert_ev(ev_dataset_from_folder(dir, 0, &ds), EV_ERR_IO);
  ck_assert_errmsg_has("FIFO");
  ck_assert_ev_ok(ev_dataset_from_folder(dir, 1, &ds));
  size_t count;
  ck_assert_ev_ok(ev_dataset_count(ds, &count));
  ck_assert_uint_eq(count, 1);
  ck_assert_uint_eq(ev_dataset_skipped_count(ds), 1);
  ck_assert_str_eq(ev_dataset_skipped_path(ds, 0), fifo);
  ck_assert_ptr_nonnull(strstr(ev_dataset_skipped_reason(ds, 0), "FIFO"));
  ev_dataset_free(ds);
  free(b);
  remove_tmp();
}
END_TEST

/* A large regular file that is no image is refused from its first bytes,
 * without reading (or allocating for) the rest. */
START_TEST(non_image_refused_from_its_signature) {
  make_tmp();
  char p[128];
  snprintf(p, sizeof p, "%s/zeros.png", tmp);
  FILE *f = fopen(p, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fseek(f, 64L << 20, SEEK_SET), 0); /* 64 MiB, sparse */
  ck_assert_int_ne(fputc(0, f), EOF);
  ck_assert_int_eq(fclose(f), 0);
  ev_array *a = NULL;
  ev__test_fail_alloc(-1, 0);
  ck_assert_ev(ev_image_read(p, 3, &a), EV_ERR_FORMAT);
  ck_assert_int_eq(ev__test_alloc_count(), 0);
  ck_assert_errmsg_has("zeros.png: not a PNG, JPEG, BMP or GIF image");
  remove_tmp();
}
END_TEST

static Suite *images_suite(void) {
  Suite *s = suite_create("images");
  TCase *tc = tcase_create("images");
  tcase_set_timeout(tc, 30);
  tcase_add_loop_test(tc, decodes_as_pil, 0, sizeof kinds / sizeof *kinds);
  tcase_add_test(tc, damaged_png_is_refused_and_listed);
  tcase_add_test(tc, non_regular_files_are_refused);
  tcase_add_test(tc, non_image_refused_from_its_signature);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) { return tu_run(images_suite()) ? EXIT_FAILURE : EXIT_SUCCESS; }
