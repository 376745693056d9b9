/* test_gdal_log.c: GDAL's messages through swath (core/gdal_log.h):
 *   - nothing is written at the default verbosity; at debug level each
 *     message is one line "swath: debug: GDAL error N: ..." with its
 *     secrets redacted and its new lines folded;
 *   - swath_gdal_why() gives the thread's last failure, else its last
 *     warning, else the fallback; reset forgets them; a failure raised under
 *     a pushed CPLQuietErrorHandler is still found (through GDAL's own last
 *     error); another thread's messages are not this thread's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <cpl_error.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/gdal_log.h"
#include "core/log.h"
#include "fixture.h"

static void raise_some(void) {
  CPLError(CE_Failure, CPLE_OpenFailed, "cannot open http://h/x.tif?apikey=SECRET42\nsecond line");
  CPLError(CE_Warning, CPLE_AppDefined, "a warning");
}

static void test_quiet_by_default(void **state) {
  (void)state;
  swath_log_set_level(SWATH_LOG_INFO);
  char *out = stderr_of(raise_some);
  assert_string_equal(out, "");
  free(out);
}

static void test_verbose_lines(void **state) {
  (void)state;
  swath_log_set_level(SWATH_LOG_DEBUG);
  char *out = stderr_of(raise_some);
  swath_log_set_level(SWATH_LOG_INFO);
  assert_string_equal(
      out, "swath: debug: GDAL error 4: cannot open http://h/x.tif?apikey=REDACTED second line\n"
           "swath: debug: GDAL warning 1: a warning\n");
  free(out);
}

static void test_why(void **state) {
  (void)state;
  swath_gdal_reset();
  assert_string_equal(swath_gdal_why("none"), "none");
  CPLError(CE_Warning, CPLE_AppDefined, "only a warning");
  assert_string_equal(swath_gdal_why("none"), "only a warning");
  CPLError(CE_Failure, CPLE_AppDefined, "the failure\n");
  CPLError(CE_Warning, CPLE_AppDefined, "a later warning");
  assert_string_equal(swath_gdal_why("none"), "the failure");
  swath_gdal_reset();
  assert_null(swath_gdal_why(NULL));
  /* Under a quiet handler the message never reaches swath's, but GDAL kept it. */
  CPLPushErrorHandler(CPLQuietErrorHandler);
  CPLError(CE_Failure, CPLE_AppDefined, "quietly\tfailed");
  CPLPopErrorHandler();
  assert_string_equal(swath_gdal_why(NULL), "quietly failed");
  swath_gdal_reset();
  CPLPushErrorHandler(swath_gdal_handler);
  CPLError(CE_Failure, CPLE_AppDefined, "pushed");
  CPLPopErrorHandler();
  assert_string_equal(swath_gdal_why(NULL), "pushed");
}

static void *other_thread(void *arg) {
  (void)arg;
  CPLError(CE_Failure, CPLE_AppDefined, "not yours");
  return NULL;
}

static void test_per_thread(void **state) {
  (void)state;
  swath_gdal_reset();
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
  pthread_join(t, NULL);
  assert_string_equal(swath_gdal_why("mine is clean"), "mine is clean");
}

int main(void) {
  swath_gdal_log_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quiet_by_default),
      cmocka_unit_test(test_verbose_lines),
      cmocka_unit_test(test_why),
      cmocka_unit_test(test_per_thread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
