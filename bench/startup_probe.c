/* What a program pays for linking libembedviz (docs/extract.md, "The
 * backend module"): shared objects mapped and RSS at the start of main,
 * then for `work` the same after PCA + kNN + t-SNE on 1,000 x 50, and for
 * `model FILE` the cost of the first extraction call (loading the backend
 * module and libtorch) and of two model loads, for `firstload FILE` the
 * cost of an ev_model_load that is the first extraction call. "libtorch mapped" says
 * whether libtorch or the backend module is in /proc/self/maps.
 * tests/check-example.sh checks the counts (fewer than 30 objects, under
 * 20 MB, no libtorch) against an installed library; bench/bench-startup.sh
 * times it.
 *   cc -O1 -Iinclude bench/startup_probe.c -o probe -Lbuild -lembedviz \
 *      -Wl,-rpath,$PWD/build
 *   ./probe version; ./probe work; ./probe model build/tests/extract/resnet18.pt
 *   ./probe firstload build/tests/extract/resnet18.pt
 *   /usr/bin/time -f "%e s %M kB" ./probe version */
#include <embedviz.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static int torch; /* libtorch or the backend module mapped */
static int objects(void) { /* distinct mapped .so files */
  FILE *f = fopen("/proc/self/maps", "r"); char line[4096], seen[512][256]; int n = 0;
  torch = 0;
  while (fgets(line, sizeof line, f)) {
    char *p = strchr(line, '/'); if (!p || !strstr(p, ".so")) continue;
    p[strcspn(p, "\n")] = 0; int dup = 0;
    if (strstr(p, "/libtorch") || strstr(p, "/libembedviz-torch")) torch = 1;
    for (int i = 0; i < n; i++) if (!strncmp(seen[i], p, 255)) { dup = 1; break; }
    if (!dup && n < 512) { strncpy(seen[n], p, 255); seen[n][255] = 0; n++; }
  }
  fclose(f); return n;
}
static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r"); char line[256]; long kb = -1;
  while (fgets(line, sizeof line, f)) if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
  fclose(f); return kb;
}
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "version";
  int n0 = objects();
  printf("start: %d shared objects, %ld kB RSS, libtorch mapped: %s\n", n0, rss_kb(),
         torch ? "yes" : "no");
  if (!strcmp(mode, "version")) { printf("%s\n", ev_version_string()); return 0; }
  if (!strcmp(mode, "work")) {
    size_t n = 1000, d = 50; float *x = malloc(n * d * 4), *s = malloc(n * 10 * 4), *dist = malloc(n * 10 * 4);
    int64_t *idx = malloc(n * 10 * 8); srand(1);
    for (size_t i = 0; i < n * d; i++) x[i] = rand() / (float)RAND_MAX;
    ev_pca *p; ev_knn *k; ev_tsne *t;
    if (ev_pca_create(&p) || ev_pca_set(p, EV_PCA_N_COMPONENTS, 10) || ev_pca_fit(p, x, n, d, d) ||
        ev_pca_transform(p, x, n, d, d, s, 10)) return 1;
    if (ev_knn_create(&k) || ev_knn_build(k, s, n, 10, 10) || ev_knn_query_self(k, 10, idx, 10, dist, 10)) return 2;
    if (ev_tsne_create(&t) || ev_tsne_fit(t, s, n, 10, 10)) { printf("%s\n", ev_last_error()); return 3; }
    int n1 = objects();
    printf("after work: %d shared objects, %ld kB RSS, libtorch mapped: %s\n", n1, rss_kb(),
           torch ? "yes" : "no");
    return 0;
  }
  if (!strcmp(mode, "firstload") && argc > 2) { /* ev_model_load as the first extraction call */
    ev_model *m = NULL; double t0 = now(); int st = ev_model_load(argv[2], EV_DEVICE_CPU, &m); double t1 = now();
    int n1 = objects();
    printf("first ev_model_load %.1f ms (module, libtorch and the model), status %d; %d shared objects, %ld kB RSS, libtorch mapped: %s\n",
           (t1 - t0) * 1e3, st, n1, rss_kb(), torch ? "yes" : "no");
    ev_model_free(m);
    return st != 0;
  }
  /* model: first and second load */
  double t0 = now(); int ok = ev_extract_available(); double t1 = now();
  ev_model *m = NULL; int st = ev_model_load(argv[2], EV_DEVICE_CPU, &m); double t2 = now();
  ev_model_free(m); m = NULL; double t3 = now();
  st |= ev_model_load(argv[2], EV_DEVICE_CPU, &m); double t4 = now();
  printf("available %d (%.1f ms), first load %.1f ms, second load %.1f ms, status %d; %d shared objects, %ld kB RSS\n",
         ok, (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t4 - t3) * 1e3, st, objects(), rss_kb());
  return 0;
}
