/* Fake backend modules for tests/test_backend.c, built by the Makefile
 * into build/tests/backend-fake/NAME/libembedviz-torch.so with -DFAKE_NAME:
 *   version  a module of another libembedviz version and backend ABI
 *   oldversion  a module of the same backend ABI and table size, built
 *            with another libembedviz version (1.0.0)
 *   refuses  a module that refuses this library (returns NULL)
 *   noentry  a shared object without the entry point */
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
#error "build with -DFAKE_version, -DFAKE_oldversion, -DFAKE_refuses or -DFAKE_noentry"
#endif
