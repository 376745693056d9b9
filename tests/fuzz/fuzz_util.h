/* fuzz_util.h: what the libFuzzer targets share (docs/fuzzing.md).
 *
 * Each fuzz_<name>.c feeds one parser of outside input the way swath does
 * and checks the project's rule for bad input on top of the sanitizers:
 * a failure is a return code with exactly one non-empty line of message,
 * and (for parsers of user input) a code that exits 2. A message that
 * says "(null)" is a NULL string passed to printf's %s (undefined
 * behaviour; glibc prints "(null)"): often a read of freed memory inside
 * a library that is not instrumented (jansson), which ASan cannot see
 * (unless the input itself says "(null" or "null)", also once decoded: XML entities
 * and JSON escapes are skipped when looking, and a target whose input is
 * encoded further, base64, passes its decoded form to fuzz_null_ok_in). A
 * broken rule aborts, which libFuzzer reports like a crash. */
#ifndef SWATH_FUZZ_UTIL_H
#define SWATH_FUZZ_UTIL_H

#include <cpl_error.h>
#include <ctype.h>
#include <gdal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* GDAL drivers registered, GDAL's and swath's log lines silenced. */
static inline void fuzz_init(void) {
  GDALAllRegister();
  CPLSetErrorHandler(CPLQuietErrorHandler);
  swath_log_set_level(SWATH_LOG_QUIET);
}

/* The input being run, for fuzz_check_rc. */
static const uint8_t *g_fuzz_data;
static size_t g_fuzz_size;

static int g_fuzz_null_ok; /* the input says "(null)" itself */

/* Does s (n bytes) say want (5 characters), once XML entity references
 * (&...;) and JSON \uXXXX escapes, which could spell it or split it, are
 * skipped? */
static inline int fuzz_says(const char *s, size_t n, const char *want) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    size_t j = i;
    if (s[i] == '&') { /* &name; or &#123; */
      do
        j++;
      while (j < n && j - i < 12 && (isalnum((unsigned char)s[j]) || s[j] == '#'));
      if (j >= n || s[j] != ';') j = i; /* no entity: a plain '&' */
    }
    if (s[i] == '\\' && i + 5 < n && s[i + 1] == 'u' && isxdigit((unsigned char)s[i + 2]) &&
        isxdigit((unsigned char)s[i + 3]) && isxdigit((unsigned char)s[i + 4]) &&
        isxdigit((unsigned char)s[i + 5]))
      j = i + 5;           /* \uXXXX */
    if (j != i && j < n) { /* an escape: it may stand for any one character */
      k++;
      i = j;
    } else {
      k = s[i] == want[k] ? k + 1 : s[i] == want[0];
    }
    if (k == 5) return 1;
  }
  return 0;
}

/* Does the input say "(null" or "null)"? A message that quotes it may add
 * the other parenthesis itself ("sortby (%s)" of "null)n,..."); then a
 * message may say "(null)": remembered for fuzz_check_rc. */
static inline void fuzz_null_ok_in(const void *p, size_t n) {
  if (fuzz_says(p, n, "(null") || fuzz_says(p, n, "null)")) g_fuzz_null_ok = 1;
}

/* Call first in LLVMFuzzerTestOneInput. */
static inline void fuzz_input(const uint8_t *data, size_t size) {
  g_fuzz_data = data;
  g_fuzz_size = size;
  g_fuzz_null_ok = 0;
  fuzz_null_ok_in(data, size);
}

/* A NUL-terminated copy of the input (caller frees). */
static inline char *fuzz_str(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) abort();
  memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

/* rc is 0, or a failure with one line of message; exit_status_2: a
 * failure must be the user's (exit status 2, as for SWATH_EINVAL). */
static inline void fuzz_check_rc(int rc, const char *what, int exit_status_2) {
  if (rc == 0) return;
  const char *m = swath_error_message();
  if (!m[0] || strchr(m, '\n') || (strstr(m, "(null)") && !g_fuzz_null_ok) ||
      (exit_status_2 && swath_error_exit_status(rc) != 2)) {
    fprintf(stderr, "%s: rc %d (exit status %d) with message '%s'\n", what, rc,
            swath_error_exit_status(rc), m);
    abort();
  }
}

#endif
