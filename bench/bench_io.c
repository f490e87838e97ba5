/* Driver of bench/bench-io.sh: libembedviz's data set reading.
 *   bench_io jpeg THREADS N PHOTO...   ImageNet preprocessing of N photos
 *   bench_io idx FILE                  read an IDX file (gzipped or not)
 * Prints one BENCH line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "embedviz.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double peak_mb(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return (double)r.ru_maxrss / 1024.0;
}

static int die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, ev_last_error());
  return 1;
}

static int bench_jpeg(int threads, size_t n, int nphotos, char **photos) {
  const char **paths = malloc(n * sizeof *paths);
  for (size_t i = 0; i < n; i++) paths[i] = photos[i % (size_t)nphotos];
  double t0 = now();
  ev_dataset *ds;
  if (ev_dataset_from_paths(paths, n, NULL, 0, &ds)) return die("open");
  ev_dataset_set(ds, EV_DS_THREADS, threads);
  ev_dataset_set(ds, EV_DS_RESIZE, 256);
  ev_dataset_set(ds, EV_DS_CROP, 224);
  size_t batch = 32, item = 3 * 224 * 224;
  float *out = malloc(batch * item * sizeof *out);
  double sum = 0;
  for (size_t s = 0; s < n; s += batch) {
    size_t m = n - s < batch ? n - s : batch;
    if (ev_dataset_read(ds, s, m, out, item)) return die("read");
    sum += out[item / 2];
  }
  double t = now() - t0;
  printf("BENCH case=imagenet_preprocess_jpeg n=%zu impl=libembedviz-%dt "
         "seconds=%.3f peak_mb=%.1f images_per_s=%.1f checksum=%.4f\n", n,
         threads, t, peak_mb(), (double)n / t, sum);
  ev_dataset_free(ds);
  free(out);
  free(paths);
  return 0;
}

static int bench_idx(const char *file) {
  double t0 = now();
  ev_array *a;
  if (ev_idx_read(file, &a)) return die("idx");
  double t = now() - t0;
  printf("BENCH case=idx_read_%s impl=libembedviz seconds=%.3f peak_mb=%.1f "
         "items=%zu\n", strstr(file, "train") ? "train" : "t10k", t,
         peak_mb(), ev_array_dim(a, 0));
  ev_array_free(a);
  return 0;
}

/* Fashion-MNIST as model inputs: 1 x 28 x 28 as stored, and 3 x 32 x 32
 * (replicated, Resize(32), ImageNet-normalised), batches of 256. */
static int bench_idx_dataset(const char *images, const char *labels,
                             int threads) {
  double t0 = now();
  ev_dataset *ds;
  if (ev_dataset_from_idx(images, labels, &ds)) return die("idx data set");
  ev_dataset_set(ds, EV_DS_THREADS, threads);
  size_t n;
  ev_dataset_count(ds, &n);
  float *x = malloc(256 * 3 * 32 * 32 * sizeof *x);
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      ev_dataset_set(ds, EV_DS_CHANNELS, 3);
      ev_dataset_set(ds, EV_DS_RESIZE, 32);
      t0 = now();
    }
    size_t c, h, w;
    ev_dataset_item_shape(ds, &c, &h, &w);
    for (size_t s = 0; s < n; s += 256)
      if (ev_dataset_read(ds, s, n - s < 256 ? n - s : 256, x, c * h * w))
        return die("read");
    printf("BENCH case=fashion_mnist_tensors_%s n=%zu impl=libembedviz-%dt "
           "seconds=%.3f peak_mb=%.1f\n", pass ? "3x32x32" : "1x28x28", n,
           threads, now() - t0, peak_mb());
  }
  free(x);
  ev_dataset_free(ds);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "idxds") == 0)
    return bench_idx_dataset(argv[2], argv[3], atoi(argv[4]));
  if (argc >= 5 && strcmp(argv[1], "jpeg") == 0)
    return bench_jpeg(atoi(argv[2]), (size_t)atol(argv[3]), argc - 4,
                      argv + 4);
  if (argc == 3 && strcmp(argv[1], "idx") == 0) return bench_idx(argv[2]);
  fprintf(stderr, "usage: bench_io jpeg THREADS N PHOTO... | idx FILE\n");
  return 2;
}
