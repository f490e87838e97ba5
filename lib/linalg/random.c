/* The library's random numbers, all from splitmix64's mixer: counter-based
 * normals (element i depends only on (seed, i), so test matrices are the
 * same whatever the thread count) and a sequential normal stream. */
#include <math.h>

#include "linalg/linalg.h"

static double uniform01(uint64_t seed, uint64_t counter) {
  uint64_t z = ev__mix64(seed * 0x9E3779B97F4A7C15ull + counter + 1);
  return ((double)(z >> 11) + 0.5) * (1.0 / 9007199254740992.0); /* (0,1) */
}

void ev__fill_normal(float *a, size_t count, uint64_t seed) {
  size_t pairs = (count + 1) / 2;
  seed = ev__mix64(seed ^ 0x5DEECE66Dull);
#pragma omp parallel for schedule(static)
  for (size_t p = 0; p < pairs; p++) { /* Box-Muller: two per pair */
    double u = uniform01(seed, 2 * p), v = uniform01(seed, 2 * p + 1);
    double r = sqrt(-2.0 * log(u)), t = 6.283185307179586 * v;
    a[2 * p] = (float)(r * cos(t));
    if (2 * p + 1 < count) a[2 * p + 1] = (float)(r * sin(t));
  }
}

/* splitmix64's next state and output. */
static uint64_t next(uint64_t *state) {
  return ev__mix64(*state += 0x9E3779B97F4A7C15ull);
}

double ev__normal_next(uint64_t *state) {
  uint64_t a = next(state), b = next(state);
  double u = ((a >> 11) + 1) * (1.0 / 9007199254740993.0); /* (0, 1] */
  double v = (b >> 11) * (1.0 / 9007199254740992.0);       /* [0, 1) */
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}
