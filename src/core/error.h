/* error.h: return codes and the per-thread error message.
 *
 * Every fallible function returns 0 or a negative SWATH_E* code. The function
 * that detects a failure records one line (what, where, why) with
 * swath_error_set(); callers pass the code up without rewording it, so the
 * line that reaches the user is written where the most is known. The message
 * lives in thread-local storage: worker threads never clobber each other. */
#ifndef SWATH_CORE_ERROR_H
#define SWATH_CORE_ERROR_H

#include <stdarg.h>
#include <stddef.h>

enum swath_err {
  SWATH_OK = 0,
  SWATH_EINVAL = -1,   /* bad input: config, flag, file, request (exit 2) */
  SWATH_EIO = -2,      /* an I/O or library failure at run time (exit 1) */
  SWATH_ENOMEM = -3,   /* allocation failed */
  SWATH_ENOTFOUND = -4, /* a named thing does not exist */
  SWATH_EEMPTY = -5,   /* not an error for callers that expect it: no data */
  SWATH_EINTERNAL = -6, /* a bug: an invariant did not hold */
  SWATH_EINTR = -7,    /* interrupted by the user */
  SWATH_ETRANSIENT = -8 /* a retryable remote failure */
};

/* Record the message for the calling thread and return `code`, so that
 * `return swath_error_set(SWATH_EINVAL, "...")` is the idiom. An argument
 * may be swath_error_message() itself, to add context to a message. */
int swath_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int swath_error_vset(int code, const char *fmt, va_list ap);
/* Copy `in` to `out` (n bytes, NUL included; cut short rather than split an
 * escape) with control characters written out: \n, \r, \t, other C0
 * bytes, DEL and UTF-8 C1 controls as \xHH. The result is one line that
 * cannot move the cursor or change the terminal. Returns its length.
 * swath_error_set and the logger apply it to every message. */
size_t swath_escape_controls(const char *in, char *out, size_t n);
/* The calling thread's last message ("" if none). Valid until the next set. */
const char *swath_error_message(void);
int swath_error_code(void);
void swath_error_clear(void);
/* Process exit status for a code: 0 ok, 2 bad input, 1 anything else. */
int swath_error_exit_status(int code);

#endif
