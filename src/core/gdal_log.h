/* gdal_log.h: GDAL's errors and warnings go through swath, not to stderr.
 *
 * GDAL prints "ERROR 6: ..." and "Warning 1: ..." lines of its own unless a
 * handler takes them. swath installs one process-wide handler at start-up
 * (CPLSetErrorHandler: every thread that has not pushed a handler of its
 * own uses it, so worker, fetch and HTTP server threads alike). It prints
 * nothing at the default verbosity: it keeps the calling thread's last GDAL
 * failure (and, apart, its last warning), and the code that reports the
 * failure puts that reason into its one-line message about the file
 * (swath_gdal_why). With -v every message is also logged, as
 * "swath: debug: GDAL error N: ...", through swath_log, so with its secrets
 * redacted like every other line. */
#ifndef SWATH_CORE_GDAL_LOG_H
#define SWATH_CORE_GDAL_LOG_H

#include <cpl_error.h>

/* Install the handler (process-wide, once, before GDALAllRegister). */
void swath_gdal_log_install(void);

/* The handler itself, for code that pushes a handler around a call whose
 * messages it reports itself: CPLPushErrorHandler(swath_gdal_handler) is
 * as quiet as CPLQuietErrorHandler at the default verbosity, but keeps the
 * reason for swath_gdal_why() and shows it at -v. */
void CPL_STDCALL swath_gdal_handler(CPLErr cls, CPLErrorNum num, const char *msg);

/* Forget the calling thread's kept GDAL messages (and GDAL's own last
 * error), so that the next swath_gdal_why() says why the next call failed. */
void swath_gdal_reset(void);

/* The calling thread's last GDAL failure since swath_gdal_reset(), else its
 * last warning, else `fallback`; on one line (new lines and tabs become
 * spaces). Valid until the thread's next GDAL message. */
const char *swath_gdal_why(const char *fallback);

#endif
