/* bench driver: ResNet-18 avgpool activations of N images through
 * libembedviz. Usage: extract_driver MODEL INPUT.f32 N BATCH THREADS OUT.f32
 * Prints one BENCH line; writes the N x 512 activations for the peer's
 * comparison. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "embedviz.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int die(const char *what) {
  fprintf(stderr, "extract_driver: %s: %s\n", what, ev_last_error());
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s MODEL INPUT N BATCH THREADS OUT\n", argv[0]);
    return 2;
  }
  size_t n = strtoul(argv[3], NULL, 10), chw = 3 * 224 * 224, m = 512;
  int batch = atoi(argv[4]), threads = atoi(argv[5]);
  float *x = malloc(n * chw * sizeof *x), *out = malloc(n * m * sizeof *out);
  FILE *f = fopen(argv[2], "rb");
  if (!f || fread(x, sizeof *x, n * chw, f) != n * chw) return 2;
  fclose(f);
  ev_model *model;
  ev_extractor *ex;
  if (ev_model_load(argv[1], EV_DEVICE_CPU, &model)) return die("load");
  if (ev_extractor_create(model, &ex) ||
      ev_extractor_add_layer(ex, "avgpool") ||
      ev_extractor_set(ex, EV_EXTRACT_BATCH_SIZE, batch) ||
      ev_extractor_set(ex, EV_EXTRACT_THREADS, threads))
    return die("extractor");
  /* warm-up: the graph executor profiles its first runs (as in Python) */
  size_t warm = (size_t)batch < n ? (size_t)batch : n;
  if (ev_extractor_run(ex, x, warm, 3, 224, 224, chw, &out, &m))
    return die("warm-up");
  /* The best of EXTRACT_REPS runs (default 3): the machine is shared and
   * noisy, and the peer reports its best of as many. */
  const char *reps_env = getenv("EXTRACT_REPS");
  int reps = reps_env && atoi(reps_env) > 0 ? atoi(reps_env) : 3;
  double secs = 1e300;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    if (ev_extractor_run(ex, x, n, 3, 224, 224, chw, &out, &m))
      return die("run");
    if (now() - t0 < secs) secs = now() - t0;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("BENCH case=extract_resnet18_avgpool_%zu impl=libembedviz "
         "seconds=%.3f peak_mb=%.1f batch=%d threads=%d reps=%d\n",
         n, secs, ru.ru_maxrss / 1024.0, batch, threads, reps);
  f = fopen(argv[6], "wb");
  if (!f || fwrite(out, sizeof *out, n * m, f) != n * m) return 2;
  fclose(f);
  ev_extractor_free(ex);
  ev_model_free(model);
  free(x);
  free(out);
  return 0;
}
