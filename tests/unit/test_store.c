/* test_store.c: the SQLite task store: marks survive a flush and a process
 * that dies without closing, a new job key or --overwrite forgets them,
 * failures are listed, and concurrent marks from threads all land. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/store.h"

static const swath_store_vtable *vt = &swath_store_sqlite;
static char dir[64], path[128];

static int setup(void **st) {
  (void)st;
  strcpy(dir, "/tmp/swath-test-store-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/state.sqlite", dir);
  return 0;
}
static int teardown(void **st) {
  (void)st;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static enum swath_task_state get(void *s, int z, int x, int y) {
  enum swath_task_state v;
  assert_int_equal(vt->get(s, (swath_tile){z, x, y}, &v), 0);
  return v;
}

static void persistence_and_job_key(void **st) {
  (void)st;
  void *s;
  assert_int_equal(vt->open(path, "key-a", 0, &s), 0);
  vt->mark(s, (swath_tile){5, 1, 2}, SWATH_TASK_DONE, NULL);
  vt->mark(s, (swath_tile){5, 1, 3}, SWATH_TASK_EMPTY, NULL);
  assert_int_equal(get(s, 5, 1, 2), SWATH_TASK_DONE); /* seen before a flush too */
  assert_int_equal(vt->flush(s), 0);
  vt->close(s);
  assert_int_equal(vt->open(path, "key-a", 0, &s), 0);
  assert_int_equal(get(s, 5, 1, 2), SWATH_TASK_DONE);
  assert_int_equal(get(s, 5, 1, 3), SWATH_TASK_EMPTY);
  assert_int_equal(get(s, 5, 9, 9), SWATH_TASK_PENDING);
  vt->close(s);
  /* Same key with reset (--overwrite): forgotten. */
  assert_int_equal(vt->open(path, "key-a", 1, &s), 0);
  assert_int_equal(get(s, 5, 1, 2), SWATH_TASK_PENDING);
  vt->mark(s, (swath_tile){5, 1, 2}, SWATH_TASK_DONE, NULL);
  vt->close(s); /* close flushes */
  /* Another job key: forgotten. */
  assert_int_equal(vt->open(path, "key-b", 0, &s), 0);
  assert_int_equal(get(s, 5, 1, 2), SWATH_TASK_PENDING);
  vt->close(s);
}

static void survives_a_dead_process(void **st) {
  (void)st;
  pid_t pid = fork();
  if (pid == 0) {
    void *s;
    if (vt->open(path, "key-c", 1, &s)) _exit(3);
    vt->mark(s, (swath_tile){7, 10, 20}, SWATH_TASK_DONE, NULL);
    vt->flush(s);
    vt->mark(s, (swath_tile){7, 10, 21}, SWATH_TASK_DONE, NULL); /* never flushed */
    _exit(0);                                                    /* no close */
  }
  int status;
  waitpid(pid, &status, 0);
  assert_int_equal(WEXITSTATUS(status), 0);
  void *s;
  assert_int_equal(vt->open(path, "key-c", 0, &s), 0);
  assert_int_equal(get(s, 7, 10, 20), SWATH_TASK_DONE);
  assert_int_equal(get(s, 7, 10, 21), SWATH_TASK_PENDING);
  vt->close(s);
}

static void *marker(void *arg) {
  void *s = ((void **)arg)[0];
  int id = (int)(intptr_t)((void **)arg)[1];
  for (int i = 0; i < 1000; i++) vt->mark(s, (swath_tile){12, id, i}, i % 10 ? SWATH_TASK_DONE : SWATH_TASK_FAILED, "boom");
  return NULL;
}

static int nfailed;
static void count_failed(void *ud, swath_tile t, const char *msg) {
  (void)ud, (void)t;
  assert_string_equal(msg, "boom");
  nfailed++;
}

static void concurrent_marks_and_failures(void **st) {
  (void)st;
  void *s;
  assert_int_equal(vt->open(path, "key-d", 1, &s), 0);
  pthread_t th[4];
  void *args[4][2];
  for (int i = 0; i < 4; i++) {
    args[i][0] = s;
    args[i][1] = (void *)(intptr_t)i;
    pthread_create(&th[i], NULL, marker, args[i]);
  }
  for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
  nfailed = 0;
  assert_int_equal(vt->each_failed(s, count_failed, NULL), 0);
  assert_int_equal(nfailed, 400);
  vt->close(s);
  assert_int_equal(vt->open(path, "key-d", 0, &s), 0);
  for (int id = 0; id < 4; id++)
    for (int i = 0; i < 1000; i += 37) assert_int_equal(get(s, 12, id, i), i % 10 ? SWATH_TASK_DONE : SWATH_TASK_FAILED);
  vt->close(s);
}

static void unwritable(void **st) {
  (void)st;
  void *s;
  assert_true(vt->open("/nonexistent-dir/x/state.sqlite", "k", 0, &s) < 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(persistence_and_job_key),
      cmocka_unit_test(survives_a_dead_process),
      cmocka_unit_test(concurrent_marks_and_failures),
      cmocka_unit_test(unwritable),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
