/* error.c: thread-local last-error message; see error.h for the convention.
 * Messages reach stderr, failure lists and the state store, so they are
 * stored with their secrets redacted (core/secret.h). Every message is also
 * made safe for a terminal here, once: values quoted from job files, flags
 * and remote data may hold newlines or escape sequences, and a message must
 * stay one line that cannot rewrite the screen. */
#include "core/error.h"

#include <stdio.h>
#include <string.h>

#include "core/secret.h"

static _Thread_local char tls_msg[1024];
static _Thread_local int tls_code;

size_t swath_escape_controls(const char *in, char *out, size_t n) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  if (n == 0) return 0;
  for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
    char esc[8];
    size_t k = 0;
    unsigned c = *p;
    /* C1 controls (U+0080-U+009F) are the two bytes C2 80-9F in UTF-8;
     * some terminals act on them as they do on ESC sequences. */
    int c1 = c == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f;
    if (c == '\n' || c == '\r' || c == '\t') {
      esc[k++] = '\\';
      esc[k++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
    } else if (c < 0x20 || c == 0x7f || c1) {
      for (int i = 0; i < 1 + c1; i++) {
        unsigned b = p[i];
        esc[k++] = '\\', esc[k++] = 'x', esc[k++] = hex[b >> 4], esc[k++] = hex[b & 15];
      }
      p += c1;
    } else {
      esc[k++] = (char)c;
    }
    if (o + k >= n) break; /* never half an escape */
    memcpy(out + o, esc, k);
    o += k;
  }
  out[o] = '\0';
  return o;
}

int swath_error_vset(int code, const char *fmt, va_list ap) {
  /* Through a copy, so the current message may be an argument (prefixing);
   * escaping leaves an already escaped message as it is. */
  char buf[sizeof tls_msg];
  vsnprintf(buf, sizeof buf, fmt, ap);
  char red[sizeof tls_msg];
  swath_redact(buf, red, sizeof red);
  swath_escape_controls(red, tls_msg, sizeof tls_msg);
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
