/* log.h: levelled logging to stderr. The level is set once at start-up from
 * the CLI (-v / -q) or SWATH_LOG; lines are written whole so concurrent
 * threads never interleave within a line. */
#ifndef SWATH_CORE_LOG_H
#define SWATH_CORE_LOG_H

enum swath_log_level { SWATH_LOG_DEBUG, SWATH_LOG_INFO, SWATH_LOG_WARN, SWATH_LOG_ERROR, SWATH_LOG_QUIET };

void swath_log_set_level(enum swath_log_level level);
enum swath_log_level swath_log_get_level(void);
void swath_log(enum swath_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define swath_debug(...) swath_log(SWATH_LOG_DEBUG, __VA_ARGS__)
#define swath_info(...) swath_log(SWATH_LOG_INFO, __VA_ARGS__)
#define swath_warn(...) swath_log(SWATH_LOG_WARN, __VA_ARGS__)
#define swath_errorf(...) swath_log(SWATH_LOG_ERROR, __VA_ARGS__)

#endif
