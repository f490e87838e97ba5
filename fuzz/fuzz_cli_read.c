/* The embedviz tool's readers of outside data (cli/npy.c, cli/util.c):
 * its own .npy reader, its CSV reader, IDX through the library, and the
 * class-names file. The input's first bytes choose the reader as a user's
 * file name would (.npy magic -> .npy, IDX or gzip magic -> .idx, else
 * .csv); the parity of its length chooses floats or integers. */
#include "fuzz_common.h"
#include "cli.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  evc_quiet = 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *ext = ".csv";
  if (size >= 6 && memcmp(data, "\x93NUMPY", 6) == 0) ext = ".npy";
  else if (size >= 2 && ((data[0] == 0 && data[1] == 0) ||
                         (data[0] == 0x1f && data[1] == 0x8b)))
    ext = ".idx";
  int slot = ext[1] == 'n' ? 0 : ext[1] == 'i' ? 1 : 2;
  const char *path = fz_file(slot, ext, data, size);
  int as_int = (int)(size & 1);
  evc_mat m;
  int rc = evc_read_any(path, as_int, &m);
  FZ_REQUIRE(rc == 0 || rc == -1);
  if (rc == 0) {
    FZ_REQUIRE(m.rows >= 1 && m.cols >= 1);
    FZ_REQUIRE(as_int ? m.i != NULL : m.f != NULL);
    volatile double sum = 0; /* touch every element */
    for (size_t k = 0; k < m.rows * m.cols; k++)
      sum += as_int ? (double)m.i[k] : m.f[k];
    (void)sum;
    evc_mat_free(&m);
  } else {
    FZ_REQUIRE(m.f == NULL && m.i == NULL);
  }
  if (slot == 2) { /* text: also as a --classes file */
    char **names = NULL;
    int n = evc_read_class_names(path, &names);
    for (int i = 0; i < n; i++) free(names[i]);
    if (n > 0) free(names);
  }
  return 0;
}
