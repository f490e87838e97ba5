/* io: .npy, IDX and image reading, folders of classes, and torchvision's
 * preprocessing, against fixtures made by tests/ref/io_make_fixtures.py
 * (numpy, PIL, torchvision 0.14). Run from the project's root. */
#include <unistd.h>

#include "core/testhook.h"
#include "io/io_private.h"
#include "testutil.h"

#define D "tests/data/io/"

static ev_array *load_npy(const char *path) {
  ev_array *a = NULL;
  ck_assert_ev_ok(ev_npy_read(path, &a));
  return a;
}

static void assert_u8_equal(const ev_array *a, const ev_array *b) {
  ck_assert_uint_eq(ev_array_size(a), ev_array_size(b));
  ck_assert_int_eq(ev_array_dtype(a), EV_DTYPE_UINT8);
  ck_assert_int_eq(ev_array_dtype(b), EV_DTYPE_UINT8);
  const uint8_t *x = ev_array_data(a), *y = ev_array_data(b);
  for (size_t i = 0; i < ev_array_size(a); i++)
    ck_assert_msg(x[i] == y[i], "byte %zu: %u != %u", i, x[i], y[i]);
}

/* ---- .npy ---- */

START_TEST(npy_write_read_round_trip) {
  float x[3 * 6];
  for (int i = 0; i < 18; i++) x[i] = (float)i * 0.5f - 3;
  const char *p = "build/tests/io_rt.npy";
  ck_assert_ev_ok(ev_npy_write_matrix(p, x, 3, 4, 6)); /* a view: ld 6 */
  ev_array *a = load_npy(p);
  ck_assert_int_eq(ev_array_dtype(a), EV_DTYPE_FLOAT32);
  ck_assert_uint_eq(ev_array_ndim(a), 2);
  ck_assert_uint_eq(ev_array_dim(a, 0), 3);
  ck_assert_uint_eq(ev_array_dim(a, 1), 4);
  ck_assert_uint_eq(ev_array_dim(a, 2), 0);
  const float *y = ev_array_data(a);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++) ck_assert_float_eq(y[i * 4 + j], x[i * 6 + j]);
  ev_array_free(a);
  int64_t lab[5] = {4, -1, 0, 1LL << 40, 2};
  size_t n = 5;
  ck_assert_ev_ok(ev_npy_write(p, EV_DTYPE_INT64, lab, 1, &n));
  a = load_npy(p);
  ck_assert_int_eq(ev_array_dtype(a), EV_DTYPE_INT64);
  ck_assert_uint_eq(ev_array_ndim(a), 1);
  ck_assert(memcmp(ev_array_data(a), lab, sizeof lab) == 0);
  ev_array_free(a);
  /* numpy pads the header so the data starts at a multiple of 64 */
  FILE *f = fopen(p, "rb");
  fseek(f, 0, SEEK_END);
  ck_assert_int_eq((ftell(f) - 40) % 64, 0);
  fclose(f);
  unlink(p);
}
END_TEST

START_TEST(npy_reads_numpy_files) {
  ev_array *a = load_npy(D "f4_3x4.npy");
  const float *f = ev_array_data(a);
  for (int i = 0; i < 12; i++) ck_assert_float_eq(f[i], i / 4.0f);
  ev_array_free(a);

  a = load_npy(D "f8_2x3.npy");
  ck_assert_int_eq(ev_array_dtype(a), EV_DTYPE_FLOAT64);
  ck_assert_double_eq(((const double *)ev_array_data(a))[5], -6e10);
  float conv[6];
  ck_assert_ev(ev_array_to_float(a, conv, 5), EV_ERR_ARGUMENT);
  ck_assert_ev_ok(ev_array_to_float(a, conv, 6));
  ck_assert_float_eq(conv[1], -2.25f);
  ck_assert_float_eq(conv[4], 5e-3f);
  ev_array_free(a);

  a = load_npy(D "u1_2x3x4.npy");
  ck_assert_uint_eq(ev_array_ndim(a), 3);
  ck_assert_uint_eq(((const uint8_t *)ev_array_data(a))[23], 23);
  ev_array_free(a);

  a = load_npy(D "i4_5.npy");
  ck_assert_int_eq(ev_array_dtype(a), EV_DTYPE_INT32);
  ck_assert_int_eq(((const int32_t *)ev_array_data(a))[1], -1);
  ck_assert_int_eq(((const int32_t *)ev_array_data(a))[3], 7);
  ev_array_free(a);

  a = load_npy(D "i8_5.npy");
  ck_assert_int_eq(((const int64_t *)ev_array_data(a))[4], 5);
  ev_array_free(a);

  a = load_npy(D "f4_2x3x2x2.npy");
  ck_assert_uint_eq(ev_array_ndim(a), 4);
  ck_assert_uint_eq(ev_array_dim(a, 1), 3);
  ck_assert_float_eq(((const float *)ev_array_data(a))[17], 17);
  ev_array_free(a);
}
END_TEST

START_TEST(npy_fortran_bigendian_and_versions) {
  /* np.asfortranarray(arange(12).reshape(3, 4)): given back in C order */
  ev_array *a = load_npy(D "f4_fortran_3x4.npy");
  ck_assert_uint_eq(ev_array_dim(a, 0), 3);
  const float *f = ev_array_data(a);
  for (int i = 0; i < 12; i++) ck_assert_float_eq(f[i], i);
  ev_array_free(a);
  const char *same[] = {D "f4_bigendian_2x2.npy", D "f4_v2_2x2.npy",
                        D "f4_v3_2x2.npy"};
  for (int k = 0; k < 3; k++) {
    a = load_npy(same[k]);
    f = ev_array_data(a);
    ck_assert_int_eq(ev_array_dtype(a), EV_DTYPE_FLOAT32);
    for (int i = 0; i < 4; i++) ck_assert_float_eq(f[i], i + 1);
    ev_array_free(a);
  }
}
END_TEST

START_TEST(npy_bad_inputs) {
  ev_array *a = NULL;
  ck_assert_ev(ev_npy_read(D "no_such.npy", &a), EV_ERR_NOT_FOUND);
  ck_assert_errmsg_has("no_such.npy");
  ck_assert_ev(ev_npy_read(D "bad_empty.npy", &a), EV_ERR_FORMAT);
  ck_assert_errmsg_has("not a .npy file");
  ck_assert_ev(ev_npy_read(D "bad_truncated.npy", &a), EV_ERR_FORMAT);
  ck_assert_errmsg_has("truncated");
  ck_assert_errmsg_has("48 bytes");
  ck_assert_ev(ev_npy_read(D "bad_magic.npy", &a), EV_ERR_FORMAT);
  ck_assert_ev(ev_npy_read(D "c8_2.npy", &a), EV_ERR_FORMAT);
  ck_assert_errmsg_has("'<c8' is not supported");
  ck_assert_ev(ev_npy_read(D "bad_overflow.npy", &a), EV_ERR_OVERFLOW);
  ck_assert_ev(ev_npy_read(D "bad_huge.npy", &a), EV_ERR_FORMAT);
  ck_assert_ev(ev_npy_read(D, &a), EV_ERR_IO); /* a folder */
  ck_assert_ptr_null(a);
  ck_assert_ev(ev_npy_read(NULL, &a), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_npy_read(D "f4_3x4.npy", NULL), EV_ERR_ARGUMENT);
  float x[4] = {1, 2, 3, 4};
  ck_assert_ev(ev_npy_write_matrix("build/no/such/dir.npy", x, 2, 2, 2),
               EV_ERR_NOT_FOUND);
  ck_assert_ev(ev_npy_write_matrix("build/tests/x.npy", x, 2, 2, 1),
               EV_ERR_ARGUMENT);
  size_t shape[2] = {2, 0};
  ck_assert_ev(ev_npy_write("build/tests/x.npy", EV_DTYPE_FLOAT32, x, 2,
                            shape), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_npy_write("build/tests/x.npy", 99, x, 1, shape),
               EV_ERR_ARGUMENT);
  ev_array_free(NULL);
  ck_assert_uint_eq(ev_array_ndim(NULL), 0);
}
END_TEST

/* ---- IDX ---- */

START_TEST(idx_plain_and_gzip) {
  ev_array *a = NULL, *g = NULL;
  ck_assert_ev_ok(ev_idx_read(D "images_3x4x5.idx", &a));
  ck_assert_ev_ok(ev_idx_read(D "images_3x4x5.idx.gz", &g));
  ck_assert_uint_eq(ev_array_ndim(a), 3);
  ck_assert_uint_eq(ev_array_dim(a, 0), 3);
  ck_assert_uint_eq(ev_array_dim(a, 1), 4);
  ck_assert_uint_eq(ev_array_dim(a, 2), 5);
  assert_u8_equal(a, g);
  /* the pixels are the file's bytes after the 16-byte header */
  uint8_t raw[16 + 60];
  FILE *f = fopen(D "images_3x4x5.idx", "rb");
  ck_assert_uint_eq(fread(raw, 1, sizeof raw, f), sizeof raw);
  fclose(f);
  ck_assert(memcmp(ev_array_data(a), raw + 16, 60) == 0);
  ev_array_free(a);
  ev_array_free(g);
  ck_assert_ev_ok(ev_idx_read(D "labels_3.idx.gz", &a));
  const uint8_t *l = ev_array_data(a);
  ck_assert(ev_array_ndim(a) == 1 && l[0] == 9 && l[1] == 0 && l[2] == 3);
  ev_array_free(a);
  ck_assert_ev_ok(ev_idx_read(D "floats_2x2.idx", &a));
  ck_assert_int_eq(ev_array_dtype(a), EV_DTYPE_FLOAT32);
  ck_assert_float_eq(((const float *)ev_array_data(a))[1], -2);
  ck_assert_float_eq(((const float *)ev_array_data(a))[2], 0.25f);
  ev_array_free(a);
  ck_assert_ev_ok(ev_idx_read(D "shorts_3.idx", &a));
  ck_assert_int_eq(ev_array_dtype(a), EV_DTYPE_INT32);
  ck_assert_int_eq(((const int32_t *)ev_array_data(a))[0], -2);
  ck_assert_int_eq(((const int32_t *)ev_array_data(a))[1], 300);
  ev_array_free(a);
}
END_TEST

START_TEST(idx_bad_inputs) {
  ev_array *a = NULL;
  ck_assert_ev(ev_idx_read(D "no_such.idx", &a), EV_ERR_NOT_FOUND);
  ck_assert_ev(ev_idx_read(D "bad_truncated.idx", &a), EV_ERR_FORMAT);
  ck_assert_errmsg_has("bad_truncated.idx: truncated");
  ck_assert_errmsg_has("announces 60 bytes");
  ck_assert_ev(ev_idx_read(D "bad_truncated.idx.gz", &a), EV_ERR_FORMAT);
  ck_assert_errmsg_has("bad_truncated.idx.gz");
  ck_assert_ev(ev_idx_read(D "bad_magic.idx", &a), EV_ERR_FORMAT);
  ck_assert_errmsg_has("not an IDX file");
  ck_assert_ev(ev_idx_read(D "bad_type.idx", &a), EV_ERR_FORMAT);
  ck_assert_errmsg_has("0x07");
  ck_assert_ev(ev_idx_read(D "bad_long.idx", &a), EV_ERR_FORMAT);
  ck_assert_errmsg_has("more than");
  ck_assert_ev(ev_idx_read(D "bad_overflow.idx", &a), EV_ERR_OVERFLOW);
  /* 2^31 x 2^31 x 3 bytes announced, 8 present: no huge allocation */
  ck_assert_ev(ev_idx_read(D "bad_huge.idx", &a), EV_ERR_FORMAT);
  ck_assert_errmsg_has("truncated");
  ck_assert_ev(ev_idx_read(D "bad_zero.idx", &a), EV_ERR_FORMAT);
  ck_assert_ev(ev_idx_read(D "bad_empty.npy", &a), EV_ERR_FORMAT);
  ck_assert_ev(ev_idx_read(NULL, &a), EV_ERR_ARGUMENT);
  ck_assert_ptr_null(a);
}
END_TEST

#define FMNIST "/usr/share/datasets/fashion-mnist/"

START_TEST(idx_fashion_mnist_test_set) {
  TU_REQUIRE(access(FMNIST "t10k-labels-idx1-ubyte.gz", R_OK) == 0,
             "test_io.idx_fashion_mnist_test_set", "fashion-mnist",
             "Fashion-MNIST is not in " FMNIST " (Debian: dataset-fashion-mnist)");
  ev_dataset *ds;
  ck_assert_ev_ok(ev_dataset_from_idx(FMNIST "t10k-images-idx3-ubyte.gz",
                                      FMNIST "t10k-labels-idx1-ubyte.gz",
                                      &ds));
  size_t n, c, h, w, k;
  ck_assert_ev_ok(ev_dataset_count(ds, &n));
  ck_assert_ev_ok(ev_dataset_item_shape(ds, &c, &h, &w));
  ck_assert_ev_ok(ev_dataset_class_count(ds, &k));
  ck_assert(n == 10000 && c == 1 && h == 28 && w == 28 && k == 10);
  int32_t *lab = malloc(n * sizeof *lab);
  ck_assert_ev_ok(ev_dataset_labels(ds, lab, n));
  ck_assert_int_eq(lab[0], 9); /* t10k[0] is an ankle boot */
  ck_assert_int_eq(lab[1], 2); /* a pullover */
  free(lab);
  float x[28 * 28];
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 1, x, 28 * 28));
  ck_assert_float_eq(x[0], 0); /* a dark border */
  float mx = 0;
  for (int i = 0; i < 28 * 28; i++) mx = x[i] > mx ? x[i] : mx;
  ck_assert(mx > 0.9f && mx <= 1.0f);
  ev_dataset_free(ds);
}
END_TEST

/* ---- images ---- */

START_TEST(images_of_every_format) {
  ev_array *ref = load_npy(D "img_rgb_5x7.npy"), *a;
  const char *same[] = {D "img_rgb_5x7.png", D "img_rgb_5x7.bmp"};
  for (int k = 0; k < 2; k++) {
    ck_assert_ev_ok(ev_image_read(same[k], 0, &a));
    ck_assert(ev_array_dim(a, 0) == 5 && ev_array_dim(a, 1) == 7 &&
              ev_array_dim(a, 2) == 3);
    assert_u8_equal(a, ref);
    ev_array_free(a);
  }
  ev_array_free(ref);
  /* RGB to grey as PIL's convert("L") */
  ref = load_npy(D "img_rgb_5x7_L.npy");
  ck_assert_ev_ok(ev_image_read(D "img_rgb_5x7.png", 1, &a));
  ck_assert_uint_eq(ev_array_dim(a, 2), 1);
  assert_u8_equal(a, ref);
  ev_array_free(a);
  ev_array_free(ref);

  ref = load_npy(D "img_grey_6x4.npy");
  ck_assert_ev_ok(ev_image_read(D "img_grey_6x4.png", 0, &a));
  assert_u8_equal(a, ref);
  ev_array_free(a);
  ck_assert_ev_ok(ev_image_read(D "img_grey_6x4.png", 3, &a)); /* replicated */
  const uint8_t *g = ev_array_data(ref), *p = ev_array_data(a);
  for (int i = 0; i < 24; i++)
    ck_assert(p[3 * i] == g[i] && p[3 * i + 1] == g[i] && p[3 * i + 2] == g[i]);
  ev_array_free(a);
  ev_array_free(ref);

  ref = load_npy(D "img_rgba_3x4.npy");
  ck_assert_ev_ok(ev_image_read(D "img_rgba_3x4.png", 0, &a));
  assert_u8_equal(a, ref);
  ev_array_free(a);
  ck_assert_ev_ok(ev_image_read(D "img_rgba_3x4.png", 3, &a)); /* alpha dropped */
  g = ev_array_data(ref);
  p = ev_array_data(a);
  for (int i = 0; i < 12; i++)
    for (int ch = 0; ch < 3; ch++) ck_assert(p[3 * i + ch] == g[4 * i + ch]);
  ev_array_free(a);
  ev_array_free(ref);

  ref = load_npy(D "img_pal_4x6.npy");
  ck_assert_ev_ok(ev_image_read(D "img_pal_4x6.gif", 3, &a));
  assert_u8_equal(a, ref);
  ev_array_free(a);
  ev_array_free(ref);

  ref = load_npy(D "img_blocks_16x16.npy"); /* as PIL (libjpeg) decodes it */
  ck_assert_ev_ok(ev_image_read(D "img_blocks_16x16.jpg", 3, &a));
  assert_u8_equal(a, ref);
  ev_array_free(a);
  ev_array_free(ref);
}
END_TEST

/* JPEG: with the system's libjpeg-turbo, PIL's very pixels; with the stb
 * fallback, within a few levels (different IDCT and chroma upsampling). */
START_TEST(jpeg_decoders) {
  ev_array *ref = load_npy(D "img_photo_37x53.npy"), *a;
  const uint8_t *r = ev_array_data(ref);
  int no_turbo = 0;
  for (int stb = 0; stb < 2; stb++) {
    ev__jpeg_disable(stb);
    if (!stb && !ev__jpeg_available()) {
      no_turbo = 1;
      continue;
    }
    ck_assert_ev_ok(ev_image_read(D "img_photo_37x53.jpg", 0, &a));
    ck_assert_uint_eq(ev_array_size(a), 37 * 53 * 3);
    const uint8_t *p = ev_array_data(a);
    int worst = 0;
    for (size_t i = 0; i < 37 * 53 * 3; i++)
      worst = abs(p[i] - r[i]) > worst ? abs(p[i] - r[i]) : worst;
    ck_assert_int_le(worst, stb ? 8 : 0);
    ev_array_free(a);
    ck_assert_ev(ev_image_read(D "bad_truncated.jpg", 3, &a), EV_ERR_FORMAT);
    ck_assert_errmsg_has("bad_truncated.jpg");
    ck_assert_ev(ev_image_read(D "bad_notimage.jpg", 3, &a), EV_ERR_FORMAT);
  }
  ev__jpeg_disable(0);
  ev_array_free(ref);
  /* the stb path ran; the libjpeg-turbo one must too */
  TU_REQUIRE(!no_turbo, "test_io.jpeg_decoders", "libjpeg-turbo",
             "libjpeg-turbo cannot be loaded (Debian: libjpeg62-turbo)");
}
END_TEST

START_TEST(images_bad_inputs) {
  ev_array *a = NULL;
  ck_assert_ev(ev_image_read(D "no_such.png", 0, &a), EV_ERR_NOT_FOUND);
  ck_assert_errmsg_has("no_such.png");
  const char *bad[] = {D "bad_truncated.png", D "bad_garbage.png",
                       D "bad_notimage.jpg", D "bad_empty.gif",
                       D "f4_3x4.npy"};
  for (int k = 0; k < 5; k++) {
    ck_assert_ev(ev_image_read(bad[k], 3, &a), EV_ERR_FORMAT);
    ck_assert_errmsg_has(bad[k]);
  }
  ck_assert_ev(ev_image_read(D "img_rgb_5x7.png", 2, &a), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_image_read(NULL, 0, &a), EV_ERR_ARGUMENT);
  ck_assert_ptr_null(a);
}
END_TEST

/* A PNG whose header claims 2^31-1 x 2^31-1 pixels: refused before any
 * allocation of that size. */
START_TEST(images_huge_dimensions_refused) {
  uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                   0, 0, 0, 13, 'I', 'H', 'D', 'R',
                   0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff,
                   8, 2, 0, 0, 0, 0, 0, 0, 0};
  const char *p = "build/tests/io_huge.png";
  FILE *f = fopen(p, "wb");
  fwrite(png, 1, sizeof png, f);
  fclose(f);
  ev_array *a = NULL;
  int st = ev_image_read(p, 0, &a);
  ck_assert_msg(st == EV_ERR_OVERFLOW || st == EV_ERR_FORMAT, "%s",
                ev_status_name(st));
  ck_assert_ptr_null(a);
  unlink(p);
}
END_TEST

/* ---- preprocessing against torchvision ---- */

/* Read the single-image data set of `file` and compare with torchvision's
 * tensor in `ref`: returns the largest absolute difference. */
static float compare_with_ref(ev_dataset *ds, const char *ref_path) {
  ev_array *ref = load_npy(ref_path);
  size_t c, h, w;
  ck_assert_ev_ok(ev_dataset_item_shape(ds, &c, &h, &w));
  ck_assert_uint_eq(c, ev_array_dim(ref, 0));
  ck_assert_uint_eq(h, ev_array_dim(ref, 1));
  ck_assert_uint_eq(w, ev_array_dim(ref, 2));
  float *x = malloc(c * h * w * sizeof *x);
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 1, x, c * h * w));
  const float *r = ev_array_data(ref);
  float worst = 0;
  for (size_t i = 0; i < c * h * w; i++) {
    float d = fabsf(x[i] - r[i]);
    worst = d > worst ? d : worst;
  }
  free(x);
  ev_array_free(ref);
  return worst;
}

static ev_dataset *one_image(const char *path) {
  ev_dataset *ds = NULL;
  ck_assert_ev_ok(ev_dataset_from_paths(&path, 1, NULL, 0, &ds));
  return ds;
}

START_TEST(preprocessing_matches_torchvision) {
  static const struct {
    const char *file, *ref;
    int resize, rh, rw, crop, ch, cw;
  } cases[] = {
      {"pre_a_37x53.png", "pre_a_resize16_crop14.npy", 16, 0, 0, 14, 0, 0},
      {"pre_b_61x29.png", "pre_b_resize16_crop14.npy", 16, 0, 0, 14, 0, 0},
      {"pre_a_37x53.png", "pre_a_resize48_crop45.npy", 48, 0, 0, 45, 0, 0},
      {"pre_b_61x29.png", "pre_b_resize20x10.npy", 0, 20, 10, 0, 0, 0},
      {"pre_a_37x53.png", "pre_a_crop40.npy", 0, 0, 0, 40, 0, 0},
      {"pre_b_61x29.png", "pre_b_crop_odd.npy", 0, 0, 0, 0, 10, 6},
  };
  char file[256], ref[256];
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    snprintf(file, sizeof file, D "%s", cases[k].file);
    snprintf(ref, sizeof ref, D "%s", cases[k].ref);
    ev_dataset *ds = one_image(file);
    ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_RESIZE, cases[k].resize));
    ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_RESIZE_HEIGHT, cases[k].rh));
    ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_RESIZE_WIDTH, cases[k].rw));
    ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_CROP, cases[k].crop));
    ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_CROP_HEIGHT, cases[k].ch));
    ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_CROP_WIDTH, cases[k].cw));
    float worst = compare_with_ref(ds, ref);
    /* the same bytes as PIL, then float32 ops in torch's order */
    ck_assert_msg(worst <= 1e-6f, "%s: max |difference| %g", cases[k].ref,
                  worst);
    ev_dataset_free(ds);
  }
}
END_TEST

START_TEST(preprocessing_grey) {
  ev_dataset *ds = one_image(D "pre_a_37x53.png");
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_CHANNELS, 1));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_RESIZE, 12));
  float worst = compare_with_ref(ds, D "pre_a_grey_resize12.npy");
  ck_assert_msg(worst <= 1e-6f, "max |difference| %g", worst);
  ev_dataset_free(ds);
}
END_TEST

START_TEST(thumbnail_matches_pil) {
  ev_dataset *ds = one_image(D "pre_b_61x29.png");
  ev_array *ref = load_npy(D "pre_b_thumb16.npy");
  uint8_t t[16 * 16 * 3];
  ck_assert_ev_ok(ev_dataset_thumbnail(ds, 0, 16, t));
  ck_assert(memcmp(t, ev_array_data(ref), sizeof t) == 0);
  ck_assert_ev(ev_dataset_thumbnail(ds, 1, 16, t), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_thumbnail(ds, 0, 0, t), EV_ERR_ARGUMENT);
  ev_array_free(ref);
  ev_dataset_free(ds);
}
END_TEST

/* ev_dataset_thumbnail_fit: the whole image, aspect kept, as PIL's
 * draft("RGB", twice the size) + convert("RGB") + resize(BILINEAR)
 * (fixtures of io_make_fixtures.py's fit_fixtures). */
static void assert_fit(const char *file, size_t side, const char *ref_path,
                       int want_channels, int tol) {
  ev_dataset *ds = one_image(file);
  ev_array *ref = load_npy(ref_path);
  uint8_t *t = malloc(side * side * 3);
  size_t w = 0, h = 0;
  int fc = 0;
  ck_assert_ev_ok(ev_dataset_thumbnail_fit(ds, 0, side, t, &w, &h, &fc));
  ck_assert_uint_eq(h, ev_array_dim(ref, 0));
  ck_assert_uint_eq(w, ev_array_dim(ref, 1));
  ck_assert_uint_eq(w > h ? w : h, side);
  ck_assert_int_eq(fc, want_channels);
  const uint8_t *r = ev_array_data(ref);
  int worst = 0;
  for (size_t k = 0; k < w * h * 3; k++) {
    int d = abs((int)t[k] - (int)r[k]);
    worst = d > worst ? d : worst;
  }
  ck_assert_msg(worst <= tol, "%s at %zu: max |difference| %d", file, side,
                worst);
  free(t);
  ev_array_free(ref);
  ev_dataset_free(ds);
}

START_TEST(thumbnail_fit_keeps_aspect_and_colour) {
  /* 203 x 150 JPEG to 24 x 18: drafted at 1/4 (51 x 38), then resampled;
   * without the draft the pixels differ by up to 5 levels here */
  if (ev__jpeg_available())
    assert_fit(D "fit_photo_203x150.jpg", 24, D "fit_photo_203x150_24.npy",
               3, 1);
  assert_fit(D "fit_photo_203x150.jpg", 64, D "fit_photo_203x150_64.npy", 3,
             ev__jpeg_available() ? 1 : 8);
  assert_fit(D "pre_b_61x29.png", 16, D "fit_b_61x29_16.npy", 3, 0);
  assert_fit(D "img_grey_6x4.png", 12, D "fit_grey_6x4_12.npy", 1, 0);
  /* a colour photo stays colour: its channels differ somewhere */
  ev_dataset *ds = one_image(D "fit_photo_203x150.jpg");
  uint8_t t[32 * 32 * 3];
  size_t w, h;
  ck_assert_ev_ok(ev_dataset_thumbnail_fit(ds, 0, 32, t, &w, &h, NULL));
  ck_assert_uint_eq(w, 32);
  ck_assert_uint_eq(h, 24); /* 150 * 32 / 203 = 23.6 */
  int differ = 0;
  for (size_t k = 0; k < w * h; k++)
    differ += t[3 * k] != t[3 * k + 1] || t[3 * k + 1] != t[3 * k + 2];
  ck_assert_int_gt(differ, (int)(w * h / 2));
  ev_dataset_free(ds);
}
END_TEST

START_TEST(thumbnail_fit_bad_inputs) {
  ev_dataset *ds = one_image(D "pre_b_61x29.png");
  uint8_t t[8 * 8 * 3];
  size_t w, h;
  ck_assert_ev(ev_dataset_thumbnail_fit(NULL, 0, 8, t, &w, &h, NULL),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_thumbnail_fit(ds, 0, 8, NULL, &w, &h, NULL),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_thumbnail_fit(ds, 0, 8, t, NULL, &h, NULL),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_thumbnail_fit(ds, 0, 0, t, &w, &h, NULL),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_thumbnail_fit(ds, 1, 8, t, &w, &h, NULL),
               EV_ERR_ARGUMENT);
  ck_assert_errmsg_has("not in the data set");
  ev_dataset_free(ds);
  float x[2 * 3 * 4] = {0};
  ck_assert_ev_ok(ev_dataset_from_floats(x, 2, 1, 3, 4, 12, NULL, &ds));
  ck_assert_ev(ev_dataset_thumbnail_fit(ds, 0, 8, t, &w, &h, NULL),
               EV_ERR_UNSUPPORTED);
  ev_dataset_free(ds);
  /* a file that turns bad after the data set was made */
  const char *p = "build/tests/io_fit_gone.png";
  FILE *f = fopen(p, "wb");
  FILE *g = fopen(D "img_rgb_5x7.png", "rb");
  char buf[4096];
  size_t got = fread(buf, 1, sizeof buf, g);
  fclose(g);
  fwrite(buf, 1, got, f);
  fclose(f);
  ck_assert_ev_ok(ev_dataset_from_paths(&p, 1, NULL, 0, &ds));
  f = fopen(p, "wb");
  fwrite("not an image", 1, 12, f);
  fclose(f);
  ck_assert_ev(ev_dataset_thumbnail_fit(ds, 0, 8, t, &w, &h, NULL),
               EV_ERR_FORMAT);
  ck_assert_uint_eq(ev_dataset_skipped_count(ds), 0); /* nothing changed */
  ev_dataset_free(ds);
  unlink(p);
}
END_TEST

/* An image above PIL's decompression-bomb limit (but below 2^24 a side) is
 * refused when the data set reads the headers, so skip_bad leaves it out
 * and lists it, instead of failing later while batches are read. */
START_TEST(dataset_leaves_out_images_above_the_pixel_limit) {
  uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
                   0, 0, 0, 13, 'I', 'H', 'D', 'R',
                   0, 0, 0x4e, 0x20, 0, 0, 0x27, 0x10, /* 20000 x 10000 */
                   8, 2, 0, 0, 0, 0, 0, 0, 0};
  const char *p = "build/tests/io_bomb.png";
  FILE *f = fopen(p, "wb");
  fwrite(png, 1, sizeof png, f);
  fclose(f);
  const char *paths[2] = {D "img_rgb_5x7.png", p};
  ev_dataset *ds = NULL;
  ck_assert_ev_ok(ev_dataset_from_paths(paths, 2, NULL, 1, &ds));
  size_t n;
  ck_assert_ev_ok(ev_dataset_count(ds, &n));
  ck_assert_uint_eq(n, 1);
  ck_assert_uint_eq(ev_dataset_skipped_count(ds), 1);
  ck_assert_str_eq(ev_dataset_skipped_path(ds, 0), p);
  ck_assert_ptr_nonnull(strstr(ev_dataset_skipped_reason(ds, 0), "20000 x 10000 pixels, more than"));
  ev_dataset_free(ds);
  ck_assert_ev(ev_dataset_from_paths(paths, 2, NULL, 0, &ds), EV_ERR_LIMIT);
  unlink(p);
}
END_TEST

/* ---- folders of classes ---- */

START_TEST(folder_classes_sorted) {
  ev_dataset *ds;
  ck_assert_ev_ok(ev_dataset_from_folder(D "folder", 0, &ds));
  size_t n, k;
  ck_assert_ev_ok(ev_dataset_count(ds, &n));
  ck_assert_ev_ok(ev_dataset_class_count(ds, &k));
  ck_assert_uint_eq(n, 5);
  ck_assert_uint_eq(k, 3); /* "empty" holds no image: no class */
  ck_assert_str_eq(ev_dataset_class_name(ds, 0), "Zebra");
  ck_assert_str_eq(ev_dataset_class_name(ds, 1), "cat");
  ck_assert_str_eq(ev_dataset_class_name(ds, 2), "dog");
  ck_assert_ptr_null(ev_dataset_class_name(ds, 3));
  const char *want[] = {"Zebra/only.gif", "cat/m.jpg", "cat/z.bmp",
                        "dog/a.PNG", "dog/b.png"};
  const int value[] = {100, 80, 60, 40, 20}; /* each file's grey level */
  int32_t lab[5], want_lab[5] = {0, 1, 1, 2, 2};
  ck_assert_ev_ok(ev_dataset_labels(ds, lab, 5));
  ck_assert_ev(ev_dataset_labels(ds, lab, 4), EV_ERR_ARGUMENT);
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_NORMALIZE, EV_NORMALIZE_NONE));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_SCALE, 1));
  float x[5 * 3 * 16];
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 5, x, 3 * 16));
  for (int i = 0; i < 5; i++) {
    const char *p = ev_dataset_item_path(ds, (size_t)i);
    ck_assert_str_eq(p + strlen(p) - strlen(want[i]), want[i]);
    ck_assert_int_eq(lab[i], want_lab[i]);
    ck_assert_float_eq_tol(x[i * 48 + 17], value[i], 1); /* jpg: +-1 */
  }
  ck_assert_ptr_null(ev_dataset_item_path(ds, 5));
  uint8_t thumb[8 * 8 * 3];
  ck_assert_ev_ok(ev_dataset_thumbnail(ds, 4, 8, thumb));
  for (size_t b = 0; b < sizeof thumb; b++) /* dog/b.png: grey 20 all over */
    ck_assert_uint_eq(thumb[b], 20);
  ev_dataset_free(ds);
}
END_TEST

START_TEST(folder_without_images) {
  ev_dataset *ds = NULL;
  ck_assert_ev(ev_dataset_from_folder(D "folder_none", 0, &ds),
               EV_ERR_NOT_FOUND);
  ck_assert_errmsg_has("no image files");
  ck_assert_ev(ev_dataset_from_folder(D "no_such_folder", 0, &ds),
               EV_ERR_NOT_FOUND);
  ck_assert_ev(ev_dataset_from_folder(NULL, 0, &ds), EV_ERR_ARGUMENT);
  ck_assert_ptr_null(ds);
  /* loose images: one data set without labels */
  ck_assert_ev_ok(ev_dataset_from_folder(D "folder_loose", 0, &ds));
  size_t n, k;
  int32_t lab[2];
  ck_assert_ev_ok(ev_dataset_count(ds, &n));
  ck_assert_ev_ok(ev_dataset_class_count(ds, &k));
  ck_assert_ev_ok(ev_dataset_labels(ds, lab, 2));
  ck_assert(n == 2 && k == 0 && lab[0] == -1 && lab[1] == -1);
  ev_dataset_free(ds);
}
END_TEST

START_TEST(corrupt_images_fail_or_skip) {
  ev_dataset *ds = NULL;
  ck_assert_ev(ev_dataset_from_folder(D "folder_bad", 0, &ds), EV_ERR_FORMAT);
  ck_assert_errmsg_has("broken.png");
  ck_assert_ptr_null(ds);

  ck_assert_ev_ok(ev_dataset_from_folder(D "folder_bad", 1, &ds));
  size_t n;
  ck_assert_ev_ok(ev_dataset_count(ds, &n));
  ck_assert_uint_eq(n, 2); /* cut.png's header is fine: found when read */
  ck_assert_uint_eq(ev_dataset_skipped_count(ds), 1);
  ck_assert_ptr_nonnull(strstr(ev_dataset_skipped_path(ds, 0), "broken.png"));
  ck_assert_ptr_nonnull(ev_dataset_skipped_reason(ds, 0));
  ck_assert_ptr_null(ev_dataset_skipped_path(ds, 1));
  double v;
  ck_assert_ev_ok(ev_dataset_get(ds, EV_DS_ON_ERROR, &v));
  ck_assert(v == EV_ON_ERROR_SKIP);
  float x[2 * 3 * 5 * 7];
  for (int i = 0; i < 2 * 105; i++) x[i] = 42;
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 2, x, 105));
  ck_assert_uint_eq(ev_dataset_skipped_count(ds), 2);
  ck_assert_ptr_nonnull(strstr(ev_dataset_skipped_path(ds, 1), "cut.png"));
  /* items: cut.png (zeros), good.png */
  ck_assert_float_eq(x[0], 0);
  ck_assert_float_eq(x[104], 0);
  ck_assert(x[105] != 42 && x[105] != 0);
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 2, x, 105)); /* listed once */
  ck_assert_uint_eq(ev_dataset_skipped_count(ds), 2);
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_ON_ERROR, EV_ON_ERROR_FAIL));
  ck_assert_ev(ev_dataset_read(ds, 0, 2, x, 105), EV_ERR_FORMAT);
  ck_assert_errmsg_has("cut.png");
  ck_assert_ev_ok(ev_dataset_read(ds, 1, 1, x, 105)); /* still usable */
  ev_dataset_free(ds);

  const char *paths[] = {D "img_rgb_5x7.png", D "no_such.png"};
  ck_assert_ev(ev_dataset_from_paths(paths, 2, NULL, 0, &ds),
               EV_ERR_NOT_FOUND);
  ck_assert_errmsg_has("no_such.png");
  const char *none[] = {D "bad_notimage.jpg"};
  ck_assert_ev(ev_dataset_from_paths(none, 1, NULL, 1, &ds), EV_ERR_NOT_FOUND);
  ck_assert_errmsg_has("none of the 1 image files");
}
END_TEST

START_TEST(images_of_different_sizes_need_a_crop) {
  const char *paths[] = {D "pre_a_37x53.png", D "pre_b_61x29.png"};
  int32_t labels[] = {1, 0};
  ev_dataset *ds;
  ck_assert_ev_ok(ev_dataset_from_paths(paths, 2, labels, 0, &ds));
  size_t c, h, w, k;
  ck_assert_ev_ok(ev_dataset_item_shape(ds, &c, &h, &w));
  ck_assert(c == 3 && h == 37 && w == 53);
  ck_assert_ev_ok(ev_dataset_class_count(ds, &k));
  ck_assert_uint_eq(k, 2);
  ck_assert_str_eq(ev_dataset_class_name(ds, 1), "1");
  float *x = malloc(2 * 3 * 37 * 53 * sizeof *x);
  ck_assert_ev(ev_dataset_read(ds, 0, 2, x, 3 * 37 * 53), EV_ERR_FORMAT);
  ck_assert_errmsg_has("set EV_DS_CROP");
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_RESIZE, 16));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_CROP, 14));
  ck_assert_ev_ok(ev_dataset_item_shape(ds, &c, &h, &w));
  ck_assert(c == 3 && h == 14 && w == 14);
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 2, x, 3 * 14 * 14));
  /* item 1 is torchvision's tensor of pre_b */
  ev_array *ref = load_npy(D "pre_b_resize16_crop14.npy");
  const float *r = ev_array_data(ref);
  for (int i = 0; i < 3 * 14 * 14; i++)
    ck_assert_float_eq_tol(x[3 * 14 * 14 + i], r[i], 1e-6);
  ev_array_free(ref);
  free(x);
  int32_t bad[] = {0, -2};
  ev_dataset *ds2 = NULL;
  ck_assert_ev(ev_dataset_from_paths(paths, 2, bad, 0, &ds2), EV_ERR_ARGUMENT);
  ev_dataset_free(ds);
}
END_TEST

/* ---- arrays as data sets ---- */

START_TEST(dataset_from_npy_images) {
  ev_dataset *ds;
  ck_assert_ev_ok(ev_dataset_from_npy(D "ds_images_4x6x5.npy",
                                      D "ds_labels_4.npy", &ds));
  ev_array *img = load_npy(D "ds_images_4x6x5.npy");
  const uint8_t *u = ev_array_data(img);
  size_t c, h, w, k;
  ck_assert_ev_ok(ev_dataset_item_shape(ds, &c, &h, &w));
  ck_assert(c == 1 && h == 6 && w == 5);
  ck_assert_ev_ok(ev_dataset_class_count(ds, &k));
  ck_assert_uint_eq(k, 3);
  ck_assert_str_eq(ev_dataset_class_name(ds, 2), "2");
  ck_assert_ptr_null(ev_dataset_item_path(ds, 0));
  float x[4 * 30];
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 4, x, 30));
  for (int i = 0; i < 120; i++) ck_assert_float_eq(x[i], u[i] * (1 / 255.0f));
  /* as RGB for an ImageNet model: replicated, ImageNet-normalised */
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_CHANNELS, 3));
  float y[2 * 90];
  ck_assert_ev_ok(ev_dataset_read(ds, 2, 1, y + 90, 90));
  const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
  for (int ch = 0; ch < 3; ch++)
    for (int i = 0; i < 30; i++)
      ck_assert_float_eq_tol(y[90 + ch * 30 + i],
                             (u[60 + i] / 255.0f - mean[ch]) / sd[ch], 1e-6);
  uint8_t t[4 * 4 * 3];
  ck_assert_ev_ok(ev_dataset_thumbnail(ds, 0, 4, t));
  /* grey, replicated to RGB, between the image's darkest and lightest */
  uint8_t lo = 255, hi = 0;
  for (int i = 0; i < 30; i++) lo = u[i] < lo ? u[i] : lo, hi = u[i] > hi ? u[i] : hi;
  for (int i = 0; i < 16; i++) {
    ck_assert(t[3 * i] == t[3 * i + 1] && t[3 * i] == t[3 * i + 2]);
    ck_assert(t[3 * i] >= lo && t[3 * i] <= hi);
  }
  /* at side 5 (the width) no resize: the centre 5 rows of 6, from row
   * int(round(0.5)) = 0 as torchvision's CenterCrop, exactly */
  uint8_t t5[5 * 5 * 3];
  ck_assert_ev_ok(ev_dataset_thumbnail(ds, 1, 5, t5));
  for (int r = 0; r < 5; r++)
    for (int col = 0; col < 5; col++)
      for (int ch = 0; ch < 3; ch++)
        ck_assert_uint_eq(t5[(r * 5 + col) * 3 + ch], u[30 + r * 5 + col]);
  ev_array_free(img);
  ev_dataset_free(ds);
  ck_assert_ev(ev_dataset_from_npy(D "ds_images_4x6x5.npy", D "i4_5.npy", &ds),
               EV_ERR_FORMAT);
  ck_assert_errmsg_has("4 labels expected");
  ck_assert_ev(ev_dataset_from_npy(D "i4_5.npy", NULL, &ds), EV_ERR_FORMAT);
  ck_assert_ev(ev_dataset_from_npy(D "ds_empty_0x6x5.npy", NULL, &ds),
               EV_ERR_FORMAT);
  ck_assert_errmsg_has("empty");
  ck_assert_ev(ev_dataset_from_idx(D "images_3x4x5.idx", D "labels_2.idx", &ds),
               EV_ERR_FORMAT);
  ck_assert_ev_ok(ev_dataset_from_idx(D "images_3x4x5.idx.gz", NULL, &ds));
  ck_assert_ev_ok(ev_dataset_class_count(ds, &k));
  ck_assert_uint_eq(k, 0);
  ev_dataset_free(ds);
}
END_TEST

START_TEST(dataset_from_floats) {
  float in[2 * 10];
  for (int i = 0; i < 20; i++) in[i] = (float)i - 5;
  int32_t lab[2] = {1, 0};
  ev_dataset *ds;
  ck_assert_ev_ok(ev_dataset_from_floats(in, 2, 1, 2, 4, 10, lab, &ds));
  size_t c, h, w;
  ck_assert_ev_ok(ev_dataset_item_shape(ds, &c, &h, &w));
  ck_assert(c == 1 && h == 2 && w == 4);
  float out[2 * 24];
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 2, out, 8));
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 8; j++) ck_assert_float_eq(out[i * 8 + j], in[i * 10 + j]);
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_CHANNELS, 3));
  ck_assert_ev(ev_dataset_read(ds, 0, 2, out, 8), EV_ERR_ARGUMENT); /* ld */
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 2, out, 24));
  ck_assert_float_eq(out[24 + 16 + 3], in[10 + 3]);
  uint8_t t[3];
  ck_assert_ev(ev_dataset_thumbnail(ds, 0, 1, t), EV_ERR_UNSUPPORTED);
  ev_dataset_free(ds);
  in[7] = NAN;
  ck_assert_ev(ev_dataset_from_floats(in, 2, 1, 2, 4, 10, NULL, &ds),
               EV_ERR_NONFINITE);
  ck_assert_ev(ev_dataset_from_floats(in, 2, 0, 2, 4, 10, NULL, &ds),
               EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_from_floats(in, 2, 1, 2, 4, 7, NULL, &ds),
               EV_ERR_ARGUMENT);
}
END_TEST

/* ---- settings, ranges, progress, threads, allocation failures ---- */

START_TEST(dataset_settings) {
  ev_dataset *ds = one_image(D "img_rgb_5x7.png");
  double lo, hi, v;
  ck_assert_ev_ok(ev_dataset_param_bounds(EV_DS_CHANNELS, &lo, &hi));
  ck_assert(lo == 0 && hi == 3);
  ck_assert_ev_ok(ev_dataset_get(ds, EV_DS_SCALE, &v));
  ck_assert_double_eq(v, 1 / 255.0);
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_RESIZE, 10));
  ck_assert_ev(ev_dataset_set(ds, EV_DS_RESIZE, -1), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_set(ds, EV_DS_RESIZE, 2.5), EV_ERR_ARGUMENT);
  ck_assert_ev_ok(ev_dataset_get(ds, EV_DS_RESIZE, &v));
  ck_assert_double_eq(v, 10);
  ck_assert_ev(ev_dataset_set(ds, EV_DS_CHANNELS, 2), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_set(ds, EV_DS_STD0, 0), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_set(ds, 999, 0), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_get(ds, 999, &v), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_set(NULL, EV_DS_RESIZE, 1), EV_ERR_ARGUMENT);
  /* custom normalisation of a grey item */
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_RESIZE, 0));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_CHANNELS, 1));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_NORMALIZE, EV_NORMALIZE_CUSTOM));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_MEAN0, 0.5));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_STD0, 0.25));
  ev_array *L = load_npy(D "img_rgb_5x7_L.npy");
  float x[35];
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 1, x, 35));
  const uint8_t *l = ev_array_data(L);
  for (int i = 0; i < 35; i++)
    ck_assert_float_eq_tol(x[i], (l[i] / 255.0f - 0.5f) / 0.25f, 1e-6);
  ck_assert_ev(ev_dataset_read(ds, 0, 2, x, 35), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_read(ds, 1, 1, x, 35), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_read(ds, 0, 0, x, 35), EV_ERR_ARGUMENT);
  ck_assert_ev(ev_dataset_read(ds, 0, 1, NULL, 35), EV_ERR_ARGUMENT);
  ev_array_free(L);
  ev_dataset_free(ds);
  ev_dataset_free(NULL);
}
END_TEST

static int cancel_after_first(void *user, int stage, size_t step, size_t total,
                              double value) {
  (void)value; (void)total;
  ck_assert_int_eq(stage, EV_STAGE_READ);
  *(size_t *)user = step;
  return 1;
}

START_TEST(progress_cancels_and_threads_agree) {
  ev_dataset *ds;
  ck_assert_ev_ok(ev_dataset_from_npy(D "ds_images_4x6x5.npy", NULL, &ds));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_RESIZE, 9));
  size_t c, h, w;
  ck_assert_ev_ok(ev_dataset_item_shape(ds, &c, &h, &w));
  ck_assert(h == 10 && w == 9); /* 6 x 5: shorter side 5 -> 9, 6 -> 10.8 */
  float a[4 * 90], b[4 * 90];
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_THREADS, 1));
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 4, a, 90));
  ck_assert_ev_ok(ev_dataset_set(ds, EV_DS_THREADS, 2));
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 4, b, 90));
  ck_assert(memcmp(a, b, sizeof a) == 0);
  size_t step = 0;
  ck_assert_ev_ok(ev_dataset_set_progress(ds, cancel_after_first, &step));
  ck_assert_ev(ev_dataset_read(ds, 0, 4, b, 90), EV_ERR_CANCELLED);
  ck_assert_uint_gt(step, 0);
  ck_assert_ev_ok(ev_dataset_set_progress(ds, NULL, NULL));
  ck_assert_ev_ok(ev_dataset_read(ds, 0, 4, b, 90));
  ck_assert(memcmp(a, b, sizeof a) == 0);
  ev_dataset_free(ds);
}
END_TEST

/* Every allocation of each call fails in turn: the call reports
 * EV_ERR_NOMEM (or succeeds) and leaks nothing. */
START_TEST(allocation_failures_leak_nothing) {
  for (int which = 0; which < 5; which++) {
    for (long k = 0; k < 200; k++) {
      long live = ev__test_live_blocks();
      ev__test_fail_alloc(k, 0);
      ev_array *a = NULL;
      ev_dataset *ds = NULL;
      int st;
      float x[3 * 14 * 14];
      switch (which) {
        case 0: st = ev_npy_read(D "f4_fortran_3x4.npy", &a); break;
        case 1: st = ev_idx_read(D "images_3x4x5.idx.gz", &a); break;
        case 2: st = ev_image_read(D "img_rgb_5x7.png", 1, &a); break;
        case 3: st = ev_dataset_from_folder(D "folder", 1, &ds); break;
        default:
          ev__test_fail_alloc(-1, 0);
          ds = one_image(D "pre_a_37x53.png");
          ev_dataset_set(ds, EV_DS_RESIZE, 16);
          ev_dataset_set(ds, EV_DS_CROP, 14);
          live = ev__test_live_blocks();
          ev__test_fail_alloc(k, 0);
          st = ev_dataset_read(ds, 0, 1, x, 3 * 14 * 14);
          ev__test_fail_alloc(-1, 0);
          ck_assert_int_eq(ev__test_live_blocks(), live);
          ev_dataset_free(ds);
          ds = NULL;
          live = ev__test_live_blocks();
          break;
      }
      long used = ev__test_alloc_count();
      ev__test_fail_alloc(-1, 0);
      ck_assert_msg(st == EV_OK || st == EV_ERR_NOMEM, "case %d alloc %ld: %s",
                    which, k, ev_status_name(st));
      ev_array_free(a);
      ev_dataset_free(ds);
      ck_assert_msg(ev__test_live_blocks() == live, "case %d alloc %ld leaks",
                    which, k);
      if (st == EV_OK && k >= used) break;
    }
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("io");
  TCase *tc = tcase_create("io");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, npy_write_read_round_trip);
  tcase_add_test(tc, npy_reads_numpy_files);
  tcase_add_test(tc, npy_fortran_bigendian_and_versions);
  tcase_add_test(tc, npy_bad_inputs);
  tcase_add_test(tc, idx_plain_and_gzip);
  tcase_add_test(tc, idx_bad_inputs);
  tcase_add_test(tc, idx_fashion_mnist_test_set);
  tcase_add_test(tc, images_of_every_format);
  tcase_add_test(tc, jpeg_decoders);
  tcase_add_test(tc, images_bad_inputs);
  tcase_add_test(tc, images_huge_dimensions_refused);
  tcase_add_test(tc, preprocessing_matches_torchvision);
  tcase_add_test(tc, preprocessing_grey);
  tcase_add_test(tc, thumbnail_matches_pil);
  tcase_add_test(tc, thumbnail_fit_keeps_aspect_and_colour);
  tcase_add_test(tc, thumbnail_fit_bad_inputs);
  tcase_add_test(tc, dataset_leaves_out_images_above_the_pixel_limit);
  tcase_add_test(tc, folder_classes_sorted);
  tcase_add_test(tc, folder_without_images);
  tcase_add_test(tc, corrupt_images_fail_or_skip);
  tcase_add_test(tc, images_of_different_sizes_need_a_crop);
  tcase_add_test(tc, dataset_from_npy_images);
  tcase_add_test(tc, dataset_from_floats);
  tcase_add_test(tc, dataset_settings);
  tcase_add_test(tc, progress_cancels_and_threads_agree);
  tcase_add_test(tc, allocation_failures_leak_nothing);
  suite_add_tcase(s, tc);
  return tu_run(s) ? EXIT_FAILURE : EXIT_SUCCESS;
}
