/* test_config.c: the YAML config tree and the job file loader on hostile
 * input (issue 16): every case is refused with SWATH_EINVAL and one message
 * naming the problem, never a crash (double free), a blow-up (aliases) or a
 * read without end (/dev/zero). Also what must keep working: line numbers,
 * quoted scalars, anchors without aliases, nesting up to the limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "engine/job.h"
#include "fixture.h"

static int setup(void **state) {
  (void)state;
  return tmpdir_make("config");
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove();
}

/* Parse `text`; expect SWATH_EINVAL and a message containing `want`. */
static void refused(const char *text, const char *want) {
  swath_cfg *c = (swath_cfg *)0x1;
  swath_error_clear();
  int rc = swath_cfg_parse_string(text, "t.yaml", &c);
  if (rc != SWATH_EINVAL || !strstr(swath_error_message(), want))
    fail_msg("rc %d, message '%s' (expected one naming '%s')", rc, swath_error_message(), want);
  assert_null(c);
}

static char *repeat(const char *head, const char *unit, int n, const char *tail) {
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  char *s = malloc(hl + ul * (size_t)n + tl + 1);
  assert_non_null(s);
  memcpy(s, head, hl);
  for (int i = 0; i < n; i++)
    memcpy(s + hl + ul * (size_t)i, unit, ul);
  memcpy(s + hl + ul * (size_t)n, tail, tl + 1);
  return s;
}

static void good_documents(void **st) {
  (void)st;
  swath_cfg *c;
  assert_int_equal(
      swath_cfg_parse_string("a: 1\nb:\n  - x\n  - 'y'\nc: &anchor {d: 2}\n", "t.yaml", &c), 0);
  assert_int_equal(c->type, SWATH_CFG_MAP);
  assert_int_equal(c->n, 3);
  const swath_cfg *b = swath_cfg_get(c, "b");
  assert_int_equal(b->type, SWATH_CFG_SEQ);
  assert_int_equal(b->n, 2);
  assert_int_equal(b->line, 3);
  assert_int_equal(b->items[1]->line, 4);
  assert_true(b->items[1]->quoted);
  assert_false(b->items[0]->quoted);
  assert_string_equal(swath_cfg_get(swath_cfg_get(c, "c"), "d")->value, "2");
  assert_string_equal(b->items[0]->file, "t.yaml");
  swath_cfg_free(c);
  /* Exactly the limit of nested collections is fine. */
  char *s = repeat("a: ", "[", SWATH_CFG_MAX_DEPTH - 1, "");
  char *t = repeat(s, "]", SWATH_CFG_MAX_DEPTH - 1, "\n");
  assert_int_equal(swath_cfg_parse_string(t, "t.yaml", &c), 0);
  swath_cfg_free(c);
  free(s);
  free(t);
  /* A scalar document is a tree of one node. */
  assert_int_equal(swath_cfg_parse_string("just text", "t.yaml", &c), 0);
  assert_int_equal(c->type, SWATH_CFG_SCALAR);
  swath_cfg_free(c);
}

/* Issue 16 point 1: these went through a double free of the file name. */
static void non_scalar_keys(void **st) {
  (void)st;
  refused("process: convert\n[a, b]: 1\n", "t.yaml:2: a mapping key must be a plain value");
  refused("{a: 1}: 2\n", "mapping key");
  refused("? [a, b]\n: 1\n", "mapping key");
  refused("x:\n  y:\n    {k: v}: 1\n", "t.yaml:3: a mapping key");
}

/* Issue 16 points 1 and 4: too deep, in block and in flow style, and very
 * deep flow nesting (quadratic in libyaml's scanner) refused at once. */
static void too_deep(void **st) {
  (void)st;
  char *s = repeat("a: ", "[", SWATH_CFG_MAX_DEPTH, "");
  char *t = repeat(s, "]", SWATH_CFG_MAX_DEPTH, "\n");
  refused(t, "nested deeper than 64 levels");
  free(s);
  free(t);
  s = repeat("", "[", 100000, "");
  refused(s, "t.yaml:1: nested deeper than 64 levels");
  free(s);
  /* Block style: 70 levels of "k:" with growing indentation. */
  char *b = malloc(70 * 80);
  assert_non_null(b);
  size_t n = 0;
  for (int i = 0; i < 70; i++)
    n += (size_t)sprintf(b + n, "%*sk:\n", i, "");
  refused(b, "t.yaml:65: nested deeper than 64 levels");
  free(b);
}

/* Issue 16 point 3: a "billion laughs" document is refused at its first
 * alias, before anything is expanded. */
static void aliases(void **st) {
  (void)st;
  char *s = malloc(4096);
  assert_non_null(s);
  size_t n = (size_t)sprintf(
      s, "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
  for (char c = 'b'; c <= 'j'; c++) {
    n += (size_t)sprintf(s + n, "%c: &%c [", c, c);
    for (int i = 0; i < 9; i++)
      n += (size_t)sprintf(s + n, "%s*%c", i ? "," : "", c - 1);
    n += (size_t)sprintf(s + n, "]\n");
  }
  refused(s, "t.yaml:2: YAML aliases (*a) are not supported");
  free(s);
  refused("a: &x 1\nb: *x\n", "t.yaml:2: YAML aliases (*x)");
  refused("*x\n", "YAML");
}

static void duplicate_keys(void **st) {
  (void)st;
  refused("inputs:\n  a: x.tif\n  b: y.tif\n  a: z.tif\n", "t.yaml:4: duplicate key 'a'");
  refused("{p: 1, q: 2, p: 3, q: 4}", "duplicate key 'p'");
  /* Many distinct keys are fine (and not quadratic). */
  char *s = malloc(200000 * 24);
  assert_non_null(s);
  size_t n = 0;
  for (int i = 0; i < 200000; i++)
    n += (size_t)sprintf(s + n, "k%d: %d\n", i, i);
  swath_cfg *c;
  assert_int_equal(swath_cfg_parse_string(s, "t.yaml", &c), 0);
  assert_int_equal(c->n, 200000);
  swath_cfg_free(c);
  free(s);
}

/* swath_job_load is what `swath run` calls: expect SWATH_EINVAL naming want. */
static void job_refused(const char *path, const char *want) {
  swath_job *job = (swath_job *)0x1;
  swath_error_clear();
  int rc = swath_job_load(path, &job);
  if (rc != SWATH_EINVAL || !strstr(swath_error_message(), want))
    fail_msg("%s: rc %d, message '%s' (expected one naming '%s')", path, rc, swath_error_message(),
             want);
  assert_null(job);
}

/* Issue 16 point 5: what is not a regular file of sane size is refused
 * before it is read. */
static void job_files(void **st) {
  (void)st;
  char path[256];
  job_refused(tmpdir, "is a directory");
  job_refused("/dev/zero", "/dev/zero: not a regular file");
  job_refused("/dev/urandom", "not a regular file");
  snprintf(path, sizeof path, "%s/fifo.yaml", tmpdir);
  assert_int_equal(mkfifo(path, 0600), 0);
  job_refused(path, "not a regular file"); /* and no wait for a writer */
  snprintf(path, sizeof path, "%s/big.yaml", tmpdir);
  char *big = malloc(SWATH_CFG_MAX_BYTES + 1);
  assert_non_null(big);
  memset(big, '#', SWATH_CFG_MAX_BYTES + 1);
  write_file(path, big, SWATH_CFG_MAX_BYTES + 1);
  job_refused(path, "more than the 1048576 bytes");
  /* At the limit: read (and then refused for its content, not its size). */
  memcpy(big, "a: 1\n", 5);
  write_file(path, big, SWATH_CFG_MAX_BYTES);
  job_refused(path, "big.yaml:1: unknown key 'a' in job");
  free(big);
  snprintf(path, sizeof path, "%s/nul.yaml", tmpdir);
  write_file(path, "process: convert\nzoom: 3\x00\nx: 1\n", 29);
  job_refused(path, "nul.yaml:2: a NUL byte");
  snprintf(path, sizeof path, "%s/missing.yaml", tmpdir);
  job_refused(path, "missing.yaml: cannot read: No such file or directory");
  /* The parse errors above, through the loader. */
  snprintf(path, sizeof path, "%s/key.yaml", tmpdir);
  write_file(path, "process: convert\n[a, b]: 1\n", 27);
  job_refused(path, "key.yaml:2: a mapping key must be a plain value");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(good_documents), cmocka_unit_test(non_scalar_keys),
      cmocka_unit_test(too_deep),       cmocka_unit_test(aliases),
      cmocka_unit_test(duplicate_keys), cmocka_unit_test(job_files),
  };
  /* One case alone (seeing one fail without the others): TEST_ONLY=name. */
  if (getenv("TEST_ONLY")) cmocka_set_test_filter(getenv("TEST_ONLY"));
  return cmocka_run_group_tests(tests, setup, teardown);
}
