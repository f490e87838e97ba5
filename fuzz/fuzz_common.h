/* Shared pieces of the libFuzzer harnesses: turning the fuzzer's bytes into
 * files (the readers take paths), sizes, settings and float matrices.
 *
 * Every harness follows the same contract: whatever the bytes, the library
 * must return a status (no crash, no sanitizer report, no leak), and what it
 * returns on success must be self-consistent (checked with FZ_REQUIRE, which
 * traps so that libFuzzer records the input). */
#ifndef EV_FUZZ_COMMON_H
#define EV_FUZZ_COMMON_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embedviz.h"

/* An invariant of a successful call: a failure is a library bug. */
#define FZ_REQUIRE(cond)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, \
              #cond);                                                      \
      __builtin_trap();                                                    \
    }                                                                      \
  } while (0)

/* A status must be one of the documented codes, with a message on failure. */
static inline void fz_check_status(ev_status st) {
  if (st == EV_ERR_INTERNAL)
    fprintf(stderr, "EV_ERR_INTERNAL: %s\n", ev_last_error());
  FZ_REQUIRE(st >= EV_OK && st <= EV_ERR_INTERNAL);
  FZ_REQUIRE(st != EV_ERR_INTERNAL);
  if (st != EV_OK) FZ_REQUIRE(ev_last_error()[0] != 0);
}

/* ---- files ---- */

#define FZ_MAX_FILES 4
static char fz_paths[FZ_MAX_FILES][256];

static void fz_remove_files(void) {
  for (int i = 0; i < FZ_MAX_FILES; i++)
    if (fz_paths[i][0]) unlink(fz_paths[i]);
}

/* Write bytes to temporary file number slot (0..3), whose name ends with
 * suffix (fixed at the first call for that slot); returns its path. The
 * files live in $TMPDIR (default /tmp) and go at exit. */
static inline const char *fz_file(int slot, const char *suffix,
                                  const uint8_t *data, size_t size) {
  if (!fz_paths[slot][0]) {
    const char *dir = getenv("TMPDIR");
    snprintf(fz_paths[slot], sizeof fz_paths[slot], "%s/evfuzz-XXXXXX%s",
             dir && *dir ? dir : "/tmp", suffix);
    int fd = mkstemps(fz_paths[slot], (int)strlen(suffix));
    if (fd < 0) { perror("mkstemps"); abort(); }
    close(fd);
    static int registered;
    if (!registered++) atexit(fz_remove_files);
  }
  FILE *f = fopen(fz_paths[slot], "wb");
  if (!f) { perror(fz_paths[slot]); abort(); }
  if (size && fwrite(data, 1, size, f) != size) { perror("fwrite"); abort(); }
  fclose(f);
  return fz_paths[slot];
}

/* ---- reading the fuzzer's bytes ---- */

typedef struct fz_bytes {
  const uint8_t *p;
  size_t n;
} fz_bytes;

static inline uint8_t fz_u8(fz_bytes *b) {
  if (!b->n) return 0;
  b->n--;
  return *b->p++;
}
static inline uint16_t fz_u16(fz_bytes *b) {
  return (uint16_t)(fz_u8(b) | fz_u8(b) << 8);
}
static inline uint32_t fz_u32(fz_bytes *b) {
  uint32_t v = fz_u16(b);
  return v | (uint32_t)fz_u16(b) << 16;
}
/* A size in [lo, hi]. */
static inline size_t fz_range(fz_bytes *b, size_t lo, size_t hi) {
  return lo + (hi > lo ? fz_u16(b) % (hi - lo + 1) : 0);
}

/* One float: a selector byte picks an edge value (NaN, +-Inf, denormals,
 * the extremes, zero and -0), a small integer, or 4 raw bytes. Most picks
 * are ordinary so that inputs get past the NaN/Inf checks. */
static inline float fz_float(fz_bytes *b) {
  static const float edge[] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY,
                               FLT_MIN, 1e-45f, -1e-45f, FLT_MAX, -FLT_MAX,
                               1e-30f, 1e30f, 1e19f, -1e19f, 3e-39f,
                               16777217.0f};
  uint8_t s = fz_u8(b);
  if (s < 16) return edge[s];
  if (s < 128) return (float)((int)s - 72) / 8.0f; /* -7..7 in eighths */
  if (s < 192) return (float)((int)fz_u8(b) - 128) * 0.37f;
  uint32_t u = fz_u32(b);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* A rows x cols matrix with leading dimension ld >= cols (extra columns are
 * filled with NaN: the library must never read them). malloc'd. */
static inline float *fz_matrix(fz_bytes *b, size_t rows, size_t cols,
                               size_t ld) {
  float *m = (float *)malloc(rows * ld * sizeof *m + 1);
  if (!m) abort();
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < ld; j++)
      m[i * ld + j] = j < cols ? fz_float(b) : NAN;
  return m;
}

static inline int fz_all_finite(const float *x, size_t rows, size_t cols,
                                size_t ld) {
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++)
      if (!isfinite(x[i * ld + j])) return 0;
  return 1;
}

#endif
