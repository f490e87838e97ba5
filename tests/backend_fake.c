/* Fake backend modules for tests/test_backend.c, built by the Makefile
 * into build/tests/backend-fake/NAME/libembedviz-torch.so with -DFAKE_NAME:
 *   version  a module of another libembedviz version and backend ABI
 *   oldversion  a module of the same backend ABI and table size, built
 *            with another libembedviz version (1.0.0)
 *   refuses  a module that refuses this library (returns NULL)
 *   noentry  a shared object without the entry point
 *   counts   a module that counts the calls of its entry point (slowly, so
 *            that threads asking at once meet while it loads) and refuses
 *   needslib a module that needs a library which is not on the search path
 *            (as the real one does when libtorch is not installed); the
 *            library is `stub` (FAKE_stub), built in another folder */
#include <stddef.h>

#include "extract/backend.h"

#if defined(FAKE_version)
static const ev__backend table = {
    .abi = 999, .size = sizeof(ev__backend), .version = "0.9.0"};
__attribute__((visibility("default"))) const ev__backend *
ev_backend_entry_v1(const ev__backend_host *host) {
  (void)host;
  return &table;
}
#elif defined(FAKE_oldversion)
static const ev__backend table = {
    .abi = EV__BACKEND_ABI, .size = sizeof(ev__backend), .version = "1.0.0"};
__attribute__((visibility("default"))) const ev__backend *
ev_backend_entry_v1(const ev__backend_host *host) {
  (void)host;
  return &table;
}
#elif defined(FAKE_counts)
#include <time.h>
__attribute__((visibility("default"))) int ev_fake_entry_calls;
__attribute__((visibility("default"))) const ev__backend *
ev_backend_entry_v1(const ev__backend_host *host) {
  struct timespec t = {0, 200 * 1000 * 1000};
  (void)host;
  __atomic_add_fetch(&ev_fake_entry_calls, 1, __ATOMIC_SEQ_CST);
  nanosleep(&t, NULL);
  return NULL;
}
#elif defined(FAKE_stub)
__attribute__((visibility("default"))) int ev_fake_absent_function(void);
int ev_fake_absent_function(void) { return 1; }
#elif defined(FAKE_needslib)
int ev_fake_absent_function(void);
__attribute__((visibility("default"))) const ev__backend *
ev_backend_entry_v1(const ev__backend_host *host) {
  (void)host;
  (void)ev_fake_absent_function(); /* never reached: dlopen fails first */
  return NULL;
}
#elif defined(FAKE_refuses)
__attribute__((visibility("default"))) const ev__backend *
ev_backend_entry_v1(const ev__backend_host *host) {
  (void)host;
  return NULL;
}
#elif defined(FAKE_noentry)
__attribute__((visibility("default"))) int ev_backend_something_else(void);
int ev_backend_something_else(void) { return 1; }
#else
#error "build with -DFAKE_version, -DFAKE_oldversion, -DFAKE_refuses, -DFAKE_noentry, -DFAKE_counts, -DFAKE_needslib or -DFAKE_stub"
#endif
