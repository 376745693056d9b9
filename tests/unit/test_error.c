/* test_error.c: the thread-local error message is one line whatever it
 * quotes (issue 16: a bandmath expression or a YAML key with a newline
 * made a multi-line message). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <string.h>

#include "core/error.h"

static void control_characters_are_escaped(void **st) {
  (void)st;
  assert_int_equal(swath_error_set(SWATH_EINVAL, "key '%s'", "a\nb\r\tc\x01\x1b[31md\x7f"),
                   SWATH_EINVAL);
  assert_string_equal(swath_error_message(), "key 'a\\nb\\r\\tc\\x01\\x1b[31md\\x7f'");
  /* UTF-8 passes as it is. */
  swath_error_set(SWATH_EINVAL, "%s", "Z\xc3\xbcrich");
  assert_string_equal(swath_error_message(), "Z\xc3\xbcrich");
  /* The current message as an argument still works (prefixing). */
  swath_error_set(SWATH_EINVAL, "inner");
  swath_error_set(SWATH_EINVAL, "outer: %s", swath_error_message());
  assert_string_equal(swath_error_message(), "outer: inner");
  /* Escapes that would pass the buffer end the message, whole. */
  char big[2000];
  memset(big, '\n', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  swath_error_set(SWATH_EINVAL, "%s", big);
  size_t n = strlen(swath_error_message());
  assert_true(n > 1000 && n < 1024 && n % 2 == 0);
  assert_null(strchr(swath_error_message(), '\n'));
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(control_characters_are_escaped)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
