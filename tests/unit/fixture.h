/* fixture.h: what the unit tests share, so that none keeps its own copy: a
 * temporary folder per test program (made in the group setup, removed with
 * all it holds in the teardown), files written into it, a float comparison
 * that names the expression, and the stderr of a function. Header-only
 * like gdal_bytes.h: each test program is one file. Include after cmocka.h.
 *
 * The folder's path is `tmpdir`, "" until tmpdir_make; a program makes at
 * most one at a time. */
#ifndef SWATH_TEST_FIXTURE_H
#define SWATH_TEST_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* `a` within `eps` of `b`, or the test fails naming `a` and both values. */
#define NEAR(a, b, eps)                                                                            \
  do {                                                                                             \
    double a_ = (a), b_ = (b);                                                                     \
    if (!(fabs(a_ - b_) <= (eps)))                                                                 \
      fail_msg("%s = %.17g, expected %.17g (+-%g)", #a, a_, b_, (double)(eps));                    \
  } while (0)

static char tmpdir[64] __attribute__((unused));

/* Make /tmp/swath-test-NAME-XXXXXX (mkdtemp) the program's `tmpdir`.
 * 0, or -1 if it cannot be made. */
static inline int tmpdir_make(const char *name) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/swath-test-%s-XXXXXX", name);
  return mkdtemp(tmpdir) ? 0 : -1;
}

/* Remove `tmpdir` and everything in it. 0, or -1 if rm fails. */
static inline int tmpdir_remove(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

/* `tmpdir`/`name`; the last four answers stay valid, so a call may take
 * a few of them. */
static inline const char *tmp_path(const char *name) {
  static char p[4][160];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
  return p[k];
}

/* Write `text` to `tmpdir`/`name`; returns the path, valid until the next
 * call. */
static inline const char *write_tmp(const char *name, const char *text) {
  static char path[128];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

/* Write `n` bytes of `data` to `path`. */
static inline void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  fclose(f);
}

/* Run fn with stderr sent to a file; return what it wrote (caller frees). */
static inline char *stderr_of(void (*fn)(void)) {
  char path[] = "/tmp/swath-test-stderr-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  fn();
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  size_t n = (size_t)lseek(fd, 0, SEEK_END);
  char *s = calloc(1, n + 1);
  assert_non_null(s);
  assert_int_equal(pread(fd, s, n, 0), (ssize_t)n);
  close(fd);
  unlink(path);
  return s;
}

#endif
