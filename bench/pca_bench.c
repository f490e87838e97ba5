/* Benchmark driver: PCA of Fashion-MNIST (train + t10k, 70,000 x 784) to
 * 50 components with libembedviz. Usage:
 *   pca_bench SOLVER THREADS OUT.bin [POWER_ITERATIONS]
 * SOLVER: auto, covariance, svd, randomized. Prints
 *   seconds=S peak_mb=M solver=NAME
 * and writes the explained variance ratios (50 floats) and the components
 * (50 x 784 floats) to OUT.bin for bench/pca_accuracy.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#include "embedviz.h"

#define DIR "/usr/share/datasets/fashion-mnist/"
#define K 50

static size_t load(const char *path, float *out, size_t max_rows) {
  gzFile f = gzopen(path, "rb");
  if (!f) return 0;
  unsigned char head[16], row[784];
  size_t rows = 0;
  if (gzread(f, head, 16) == 16)
    while (rows < max_rows && gzread(f, row, 784) == 784) {
      for (int j = 0; j < 784; j++) out[rows * 784 + j] = row[j];
      rows++;
    }
  gzclose(f);
  return rows;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s auto|covariance|svd|randomized THREADS OUT.bin [POWER_ITERATIONS]\n", argv[0]);
    return 2;
  }
  const char *names[] = {"auto", "covariance", "svd", "randomized"};
  int solver = -1;
  for (int i = 0; i < 4; i++)
    if (!strcmp(argv[1], names[i])) solver = i;
  if (solver < 0) return 2;
  float *x = malloc(70000 * 784 * sizeof *x);
  size_t n = load(DIR "train-images-idx3-ubyte.gz", x, 60000);
  n += load(DIR "t10k-images-idx3-ubyte.gz", x + n * 784, 10000);
  if (n != 70000) {
    fprintf(stderr, "could not read Fashion-MNIST from " DIR "\n");
    return 1;
  }
  ev_pca *pca;
  ev_pca_create(&pca);
  ev_pca_set(pca, EV_PCA_N_COMPONENTS, K);
  ev_pca_set(pca, EV_PCA_SOLVER, solver);
  ev_pca_set(pca, EV_PCA_THREADS, atoi(argv[2]));
  if (argc > 4) ev_pca_set(pca, EV_PCA_POWER_ITERATIONS, atoi(argv[4]));
  double t0 = now();
  int st = ev_pca_fit(pca, x, n, 784, 784);
  double t1 = now();
  if (st) {
    fprintf(stderr, "fit failed: %s\n", ev_last_error());
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double used;
  ev_pca_get(pca, EV_PCA_FITTED_SOLVER, &used);
  printf("seconds=%.3f peak_mb=%.0f solver=%s\n", t1 - t0, ru.ru_maxrss / 1024.0,
         names[(int)used]);
  static float out[K + K * 784];
  ev_pca_explained_variance_ratio(pca, out);
  ev_pca_components(pca, out + K, 784);
  FILE *f = fopen(argv[3], "wb");
  if (!f || fwrite(out, sizeof out, 1, f) != 1) return 1;
  fclose(f);
  ev_pca_free(pca);
  free(x);
  return 0;
}
