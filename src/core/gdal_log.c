/* gdal_log.c: see gdal_log.h. The kept messages are thread-local, like
 * GDAL's own last error, so a worker's reason never lands in another
 * worker's message. */
#include "core/gdal_log.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"

static _Thread_local char tls_fail[1024], tls_warn[1024];

/* One line: GDAL (and PROJ through it) may break a message over lines. */
static void keep(char *dst, size_t n, const char *msg) {
  size_t i = 0;
  for (; msg && msg[i] && i + 1 < n; i++)
    dst[i] = msg[i] == '\n' || msg[i] == '\r' || msg[i] == '\t' ? ' ' : msg[i];
  while (i > 0 && dst[i - 1] == ' ')
    i--;
  dst[i] = '\0';
}

void CPL_STDCALL swath_gdal_handler(CPLErr cls, CPLErrorNum num, const char *msg) {
  char line[sizeof tls_fail];
  keep(line, sizeof line, msg);
  if (cls >= CE_Failure)
    memcpy(tls_fail, line, sizeof line);
  else if (cls == CE_Warning)
    memcpy(tls_warn, line, sizeof line);
  /* A fatal error aborts the process right after this: say it always. */
  enum swath_log_level level = cls == CE_Fatal ? SWATH_LOG_ERROR : SWATH_LOG_DEBUG;
  if (cls == CE_Debug)
    swath_log(level, "GDAL debug: %s", line);
  else
    swath_log(level, "GDAL %s %d: %s", cls >= CE_Failure ? "error" : "warning", (int)num, line);
}

void swath_gdal_log_install(void) { CPLSetErrorHandler(swath_gdal_handler); }

void swath_gdal_reset(void) {
  tls_fail[0] = tls_warn[0] = '\0';
  CPLErrorReset();
}

const char *swath_gdal_why(const char *fallback) {
  static _Thread_local char why[sizeof tls_fail];
  if (tls_fail[0]) return tls_fail;
  /* Raised under a handler pushed by the caller (CPLQuietErrorHandler):
   * GDAL still kept it. */
  if (CPLGetLastErrorType() >= CE_Failure && *CPLGetLastErrorMsg()) {
    keep(why, sizeof why, CPLGetLastErrorMsg());
    return why;
  }
  if (tls_warn[0]) return tls_warn;
  if (CPLGetLastErrorType() == CE_Warning && *CPLGetLastErrorMsg()) {
    keep(why, sizeof why, CPLGetLastErrorMsg());
    return why;
  }
  return fallback;
}
