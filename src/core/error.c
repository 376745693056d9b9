/* error.c: thread-local last-error message; see error.h for the convention.
 * Messages reach stderr, failure lists and the state store, so they are
 * stored with their secrets redacted (core/secret.h). */
#include "core/error.h"

#include <stdio.h>
#include <string.h>

#include "core/secret.h"

static _Thread_local char tls_msg[1024];
static _Thread_local int tls_code;

int swath_error_vset(int code, const char *fmt, va_list ap) {
  /* Through a copy, so the current message may be an argument (prefixing). */
  char buf[sizeof tls_msg];
  vsnprintf(buf, sizeof buf, fmt, ap);
  swath_redact(buf, tls_msg, sizeof tls_msg);
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
