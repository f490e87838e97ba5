/* Where a UMAP fit's time goes: wall and CPU seconds of each stage, split
 * by the progress callback (the kNN search until its last report, the
 * fuzzy set until EV_STAGE_AFFINITIES, the start until its last report,
 * the epochs to the end).
 *
 * usage: umap_stages DATA.f32 N D [THREADS] [KNN_METHOD] [OUT.f32]
 * build: cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude bench/umap_stages.c \
 *          -o umap_stages -Lbuild -lembedviz -Wl,-rpath,$PWD/build */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "embedviz.h"

static double now(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

enum { STAGES = 10 };
static double last_wall[STAGES], last_cpu[STAGES];
static int seen[STAGES];

static int progress(void *user, int stage, size_t step, size_t total,
                    double value) {
  (void)user, (void)step, (void)total, (void)value;
  if (stage > 0 && stage < STAGES) {
    last_wall[stage] = now(CLOCK_MONOTONIC);
    last_cpu[stage] = now(CLOCK_PROCESS_CPUTIME_ID);
    seen[stage] = 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s DATA.f32 N D [THREADS] [KNN_METHOD] [OUT]\n",
            argv[0]);
    return 2;
  }
  size_t n = strtoul(argv[2], NULL, 10), d = strtoul(argv[3], NULL, 10);
  int threads = argc > 4 ? atoi(argv[4]) : 2;
  int method = argc > 5 ? atoi(argv[5]) : EV_KNN_METHOD_AUTO;
  float *x = malloc(n * d * sizeof *x), *y = malloc(n * 2 * sizeof *y);
  FILE *f = fopen(argv[1], "rb");
  if (!f || !x || !y || fread(x, sizeof *x, n * d, f) != n * d) {
    fprintf(stderr, "cannot read %zu x %zu floats from %s\n", n, d, argv[1]);
    return 2;
  }
  fclose(f);
  ev_umap *u;
  if (ev_umap_create(&u) || ev_umap_set(u, EV_UMAP_THREADS, threads) ||
      ev_umap_set(u, EV_UMAP_KNN_METHOD, method) ||
      ev_umap_set_progress(u, progress, NULL))
    return 1;
  double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
  ev_status st = ev_umap_fit(u, x, n, d, d);
  double w1 = now(CLOCK_MONOTONIC), c1 = now(CLOCK_PROCESS_CPUTIME_ID);
  if (st) {
    fprintf(stderr, "fit: %s\n", ev_last_error());
    return 1;
  }
  /* stage ends in order; a stage not seen ends where the previous did */
  int order[4] = {EV_STAGE_KNN, EV_STAGE_AFFINITIES, EV_STAGE_SPECTRAL,
                  EV_STAGE_EPOCHS};
  const char *name[4] = {"knn", "fuzzy", "start", "epochs"};
  double pw = w0, pc = c0;
  printf("n=%zu d=%zu threads=%d total_wall=%.2f total_cpu=%.2f", n, d,
         threads, w1 - w0, c1 - c0);
  for (int s = 0; s < 4; s++) {
    double ew = seen[order[s]] ? last_wall[order[s]] : pw;
    double ec = seen[order[s]] ? last_cpu[order[s]] : pc;
    if (s == 3) ew = w1, ec = c1;
    printf(" %s=%.2f/%.2f", name[s], ew - pw, ec - pc);
    pw = ew, pc = ec;
  }
  double init, comps, rnd;
  ev_umap_info(u, EV_UMAP_INFO_INIT_USED, &init);
  ev_umap_info(u, EV_UMAP_INFO_N_COMPONENTS_GRAPH, &comps);
  ev_umap_info(u, EV_UMAP_INFO_N_RANDOM_COMPONENTS, &rnd);
  printf(" init=%g components=%g random_components=%g (wall/cpu s)\n", init,
         comps, rnd);
  if (argc > 6) {
    ev_umap_embedding(u, y, 2);
    FILE *o = fopen(argv[6], "wb");
    if (!o || fwrite(y, sizeof *y, n * 2, o) != n * 2) return 2;
    fclose(o);
  }
  ev_umap_free(u);
  free(x), free(y);
  return 0;
}
