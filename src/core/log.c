/* log.c: see log.h. One formatted buffer per call, one write(2) per line,
 * with secrets redacted (core/secret.h): a log line is written, so it never
 * holds an API key. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/secret.h"

static enum swath_log_level g_level = SWATH_LOG_INFO; /* set at start-up only */

void swath_log_set_level(enum swath_log_level level) { g_level = level; }
enum swath_log_level swath_log_get_level(void) { return g_level; }

void swath_log(enum swath_log_level level, const char *fmt, ...) {
  if (level < g_level) return;
  static const char *names[] = {"debug", "info", "warning", "error"};
  char buf[2048];
  int n = snprintf(buf, sizeof buf, "swath: %s: ", names[level]);
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n] = '\0';
  char line[sizeof buf + 64];
  size_t m = swath_redact(buf, line, sizeof line - 1);
  if (m > sizeof line - 2) m = sizeof line - 2;
  line[m++] = '\n';
  ssize_t w = write(STDERR_FILENO, line, m);
  (void)w;
}
