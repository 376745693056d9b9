/* log.c: see log.h. One formatted buffer per call, one write(2) per line,
 * with secrets redacted (core/secret.h): a log line is written, so it never
 * holds an API key. Control characters in the message are written out
 * (swath_escape_controls), so a value quoted in a warning cannot split the
 * line or drive the terminal. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/secret.h"

static enum swath_log_level g_level = SWATH_LOG_INFO; /* set at start-up only */

void swath_log_set_level(enum swath_log_level level) { g_level = level; }
enum swath_log_level swath_log_get_level(void) { return g_level; }

void swath_log(enum swath_log_level level, const char *fmt, ...) {
  if (level < g_level) return;
  static const char *names[] = {"debug", "info", "warning", "error"};
  char msg[2048], buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char red[sizeof msg];
  swath_redact(msg, red, sizeof red);
  int n = snprintf(buf, sizeof buf, "swath: %s: ", names[level]);
  n += (int)swath_escape_controls(red, buf + n, sizeof buf - (size_t)n - 1);
  buf[n++] = '\n';
  ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
  (void)w;
}
