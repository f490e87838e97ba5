/* The library's allocator, with the test hook that makes allocations fail. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "testhook.h"

static atomic_long fail_at = -1;   /* allocation number to fail, -1: never */
static atomic_int fail_sticky = 0;
static atomic_long alloc_count = 0;
static atomic_long live_blocks = 0;

void ev__test_fail_alloc(long n, int sticky) {
  atomic_store(&alloc_count, 0);
  atomic_store(&fail_sticky, sticky != 0);
  atomic_store(&fail_at, n);
}

long ev__test_alloc_count(void) { return atomic_load(&alloc_count); }
long ev__test_live_blocks(void) { return atomic_load(&live_blocks); }

/* True when this allocation is to fail on purpose. */
static bool injected_failure(void) {
  long at = atomic_load_explicit(&fail_at, memory_order_relaxed);
  long k = atomic_fetch_add_explicit(&alloc_count, 1, memory_order_relaxed);
  if (at < 0) return false;
  return k == at || (k > at && atomic_load(&fail_sticky));
}

bool ev__alloc_probe(void) { return !injected_failure(); }

void *ev__malloc(size_t bytes) {
  if (injected_failure()) return NULL;
  void *p = malloc(bytes ? bytes : 1);
  if (p) atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
  return p;
}

void *ev__calloc(size_t count, size_t size) {
  size_t bytes;
  if (!ev__mul(count, size, &bytes)) return NULL;
  if (injected_failure()) return NULL;
  void *p = calloc(bytes ? bytes : 1, 1);
  if (p) atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
  return p;
}

void *ev__realloc(void *old, size_t bytes) {
  if (!old) return ev__malloc(bytes);
  if (injected_failure()) return NULL;
  return realloc(old, bytes ? bytes : 1);
}

void ev__free(void *p) {
  if (!p) return;
  atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
  free(p);
}

void *ev__malloc_aligned(size_t bytes) {
  if (injected_failure()) return NULL;
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) return NULL;
  atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
  return p;
}

void ev__free_aligned(void *p) { ev__free(p); }

char *ev__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = ev__malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}
