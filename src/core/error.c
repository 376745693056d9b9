/* error.c: thread-local last-error message; see error.h for the convention.
 * Invariant: the message is one line. Control characters that reach it
 * from input (a YAML key or an expression with a newline, a server's
 * reply) are written as escapes (\n, \t, \x01), so that a message never
 * spans lines and never carries terminal control sequences. */
#include "core/error.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char tls_msg[1024];
static _Thread_local int tls_code;

int swath_error_vset(int code, const char *fmt, va_list ap) {
  /* Through a copy, so the current message may be an argument (prefixing). */
  char buf[sizeof tls_msg];
  vsnprintf(buf, sizeof buf, fmt, ap);
  size_t w = 0;
  for (const unsigned char *p = (const unsigned char *)buf; *p; p++) {
    char esc[5] = {(char)*p, 0};
    if (*p < 0x20 || *p == 0x7f) {
      const char *named = *p == '\n' ? "\\n" : *p == '\r' ? "\\r" : *p == '\t' ? "\\t" : NULL;
      if (named)
        snprintf(esc, sizeof esc, "%s", named);
      else
        snprintf(esc, sizeof esc, "\\x%02x", *p);
    }
    size_t n = strlen(esc);
    if (w + n >= sizeof tls_msg) break;
    memcpy(tls_msg + w, esc, n);
    w += n;
  }
  tls_msg[w] = '\0';
  tls_code = code;
  return code;
}

int swath_error_set(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  swath_error_vset(code, fmt, ap);
  va_end(ap);
  return code;
}

const char *swath_error_message(void) { return tls_msg; }
int swath_error_code(void) { return tls_code; }

void swath_error_clear(void) {
  tls_msg[0] = '\0';
  tls_code = 0;
}

int swath_error_exit_status(int code) {
  if (code == SWATH_OK) return 0;
  if (code == SWATH_EINVAL || code == SWATH_ENOTFOUND) return 2;
  return 1;
}
