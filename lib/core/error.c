/* The thread-local last error: a status for programs, a message for people. */
#include <stdio.h>
#include <string.h>

#include "core.h"

#define EV_MSG_CAP 1024

static _Thread_local char tls_message[EV_MSG_CAP];
static _Thread_local ev_status tls_status = EV_OK;

ev_status ev__vfail(ev_status status, const char *fmt, va_list ap) {
  tls_status = status;
  if (vsnprintf(tls_message, sizeof tls_message, fmt, ap) < 0)
    tls_message[0] = '\0';
  return status;
}

ev_status ev__fail(ev_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ev__vfail(status, fmt, ap);
  va_end(ap);
  return status;
}

ev_status ev__nomem(const char *what, size_t bytes) {
  if (bytes == 0) /* size not known where it failed */
    return ev__fail(EV_ERR_NOMEM, "out of memory allocating %s: free memory "
                    "or process fewer rows at a time", what);
  return ev__fail(EV_ERR_NOMEM,
                  "out of memory allocating %zu bytes for %s: free memory or "
                  "process fewer rows at a time",
                  bytes, what);
}

const char *ev_last_error(void) { return tls_message; }

ev_status ev_last_status(void) { return tls_status; }

void ev_clear_error(void) {
  tls_status = EV_OK;
  tls_message[0] = '\0';
}

const char *ev_status_name(int status) {
  switch (status) {
  case EV_OK: return "EV_OK";
  case EV_ERR_ARGUMENT: return "EV_ERR_ARGUMENT";
  case EV_ERR_NONFINITE: return "EV_ERR_NONFINITE";
  case EV_ERR_OVERFLOW: return "EV_ERR_OVERFLOW";
  case EV_ERR_NOMEM: return "EV_ERR_NOMEM";
  case EV_ERR_STATE: return "EV_ERR_STATE";
  case EV_ERR_CANCELLED: return "EV_ERR_CANCELLED";
  case EV_ERR_LIMIT: return "EV_ERR_LIMIT";
  case EV_ERR_IO: return "EV_ERR_IO";
  case EV_ERR_NOT_FOUND: return "EV_ERR_NOT_FOUND";
  case EV_ERR_FORMAT: return "EV_ERR_FORMAT";
  case EV_ERR_UNSUPPORTED: return "EV_ERR_UNSUPPORTED";
  case EV_ERR_BACKEND: return "EV_ERR_BACKEND";
  case EV_ERR_INTERNAL: return "EV_ERR_INTERNAL";
  default: return "EV_ERR_UNKNOWN";
  }
}
