/* The thread-local last error: a status for programs, a message for people. */
#include <stdio.h>
#include <string.h>

#include "core.h"

#define EV_MSG_CAP 1024

static _Thread_local char tls_message[EV_MSG_CAP];
static _Thread_local ev_status tls_status = EV_OK;

/* A message that does not fit ends at a word boundary with "...", never
 * mid-word or mid-character (callers summarise long lists; this is the
 * safety net). */
static int separator(char c) { return c == ' ' || c == ',' || c == ':'; }

static void end_cleanly(char *m, size_t cap) {
  size_t end = cap - 4; /* room for "..." and the terminator */
  size_t cut = end;
  while (cut > cap / 2 && !separator(m[cut])) cut--;
  if (cut > cap / 2) { /* a word boundary: drop the separators before it */
    while (cut > 0 && separator(m[cut - 1])) cut--;
  } else { /* one long word: cut it, but not inside a UTF-8 character */
    cut = end;
    while (cut > 0 && ((unsigned char)m[cut] & 0xC0) == 0x80) cut--;
  }
  memcpy(m + cut, "...", 4);
}

ev_status ev__vfail(ev_status status, const char *fmt, va_list ap) {
  tls_status = status;
  int n = vsnprintf(tls_message, sizeof tls_message, fmt, ap);
  if (n < 0) tls_message[0] = '\0';
  else if ((size_t)n >= sizeof tls_message) end_cleanly(tls_message, EV_MSG_CAP);
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

ev_status ev__nomem_advice(const char *what, size_t bytes,
                           const char *advice) {
  return ev__fail(EV_ERR_NOMEM,
                  "out of memory allocating %zu bytes for %s: free memory or "
                  "%s",
                  bytes, what, advice);
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
