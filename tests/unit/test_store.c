/* test_store.c: the SQLite task store: marks survive a flush and a process
 * that dies without closing; another job key is reported and nothing is
 * dropped until reset; failures are listed; concurrent marks from threads
 * all land; tile limits come from the tasks' tile ranges (a STALE mark keeps
 * the range; a store made before ranges existed is upgraded and its tasks
 * count as whole metatiles); runs are recorded once each; the tiles a task
 * covered come back as marked, from the buffer and from the table, and
 * tasks of stores made before they were kept cover their whole metatile. */
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
#include <sqlite3.h>

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
  assert_int_equal(vt->get(s, (swath_tile){z, x, y}, &v, NULL, 0), 0);
  return v;
}

/* Open as a run does when the folder holds no other job's tiles: adopt the key. */
static void *open_key(const char *key) {
  void *s;
  int same;
  int64_t done;
  assert_int_equal(vt->open(path, key, &same, &done, &s), 0);
  if (!same) assert_int_equal(vt->reset(s), 0);
  return s;
}

static void persistence_and_job_key(void **st) {
  (void)st;
  void *s;
  int same = -1;
  int64_t done = -1;
  assert_int_equal(vt->open(path, "key-a", &same, &done, &s), 0);
  assert_int_equal(same, 0); /* a new store is no job's yet */
  assert_int_equal(done, 0);
  assert_int_equal(vt->reset(s), 0);
  vt->mark(s, (swath_tile){5, 1, 2}, SWATH_TASK_DONE, NULL, NULL, NULL, 0);
  vt->mark(s, (swath_tile){5, 1, 3}, SWATH_TASK_EMPTY, NULL, NULL, NULL, 0);
  vt->mark(s, (swath_tile){5, 1, 4}, SWATH_TASK_STALE, NULL, NULL, NULL, 0);
  assert_int_equal(get(s, 5, 1, 2), SWATH_TASK_DONE); /* seen before a flush too */
  assert_int_equal(vt->flush(s), 0);
  vt->close(s);
  assert_int_equal(vt->open(path, "key-a", &same, &done, &s), 0);
  assert_int_equal(same, 1);
  assert_int_equal(done, 2); /* DONE and STALE: tiles on disk */
  assert_int_equal(get(s, 5, 1, 2), SWATH_TASK_DONE);
  assert_int_equal(get(s, 5, 1, 3), SWATH_TASK_EMPTY);
  assert_int_equal(get(s, 5, 1, 4), SWATH_TASK_STALE);
  assert_int_equal(get(s, 5, 9, 9), SWATH_TASK_PENDING);
  vt->close(s);
  /* Another job key: reported, nothing dropped until reset. */
  assert_int_equal(vt->open(path, "key-b", &same, &done, &s), 0);
  assert_int_equal(same, 0);
  assert_int_equal(done, 2);
  assert_int_equal(get(s, 5, 1, 2), SWATH_TASK_DONE);
  assert_int_equal(vt->reset(s), 0);
  assert_int_equal(get(s, 5, 1, 2), SWATH_TASK_PENDING);
  vt->close(s);
  assert_int_equal(vt->open(path, "key-b", &same, &done, &s), 0);
  assert_int_equal(same, 1);
  assert_int_equal(done, 0);
  vt->close(s);
}

static void survives_a_dead_process(void **st) {
  (void)st;
  pid_t pid = fork();
  if (pid == 0) {
    void *s;
    int same;
    int64_t done;
    if (vt->open(path, "key-c", &same, &done, &s) || vt->reset(s)) _exit(3);
    vt->mark(s, (swath_tile){7, 10, 20}, SWATH_TASK_DONE, NULL, NULL, NULL, 0);
    vt->flush(s);
    vt->mark(s, (swath_tile){7, 10, 21}, SWATH_TASK_DONE, NULL, NULL, NULL, 0); /* never flushed */
    _exit(0);                                                                   /* no close */
  }
  int status;
  waitpid(pid, &status, 0);
  assert_int_equal(WEXITSTATUS(status), 0);
  void *s = open_key("key-c");
  assert_int_equal(get(s, 7, 10, 20), SWATH_TASK_DONE);
  assert_int_equal(get(s, 7, 10, 21), SWATH_TASK_PENDING);
  vt->close(s);
}

static int nruns, run_zooms[8];
static void count_runs(void *ud, const swath_store_run *run) {
  (void)ud;
  if (nruns < 8) run_zooms[nruns] = run->max_zoom;
  nruns++;
}

static void *marker(void *arg) {
  void *s = ((void **)arg)[0];
  int id = (int)(intptr_t)((void **)arg)[1];
  for (int i = 0; i < 1000; i++)
    vt->mark(s, (swath_tile){12, id, i}, i % 10 ? SWATH_TASK_DONE : SWATH_TASK_FAILED, "boom", NULL,
             NULL, 0);
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
  void *s = open_key("key-d");
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
  s = open_key("key-d");
  for (int id = 0; id < 4; id++)
    for (int i = 0; i < 1000; i += 37) assert_int_equal(get(s, 12, id, i), i % 10 ? SWATH_TASK_DONE : SWATH_TASK_FAILED);
  vt->close(s);
}

static void unwritable(void **st) {
  (void)st;
  void *s;
  int same;
  int64_t done;
  assert_true(vt->open("/nonexistent-dir/x/state.sqlite", "k", &same, &done, &s) < 0);
}

static void limits_and_runs(void **st) {
  (void)st;
  void *s = open_key("key-e");
  swath_tile_range a = {9, 100, 200, 101, 200}, b = {9, 104, 198, 105, 199};
  vt->mark(s, (swath_tile){9, 50, 100}, SWATH_TASK_DONE, NULL, &a, NULL, 0);
  vt->mark(s, (swath_tile){9, 52, 99}, SWATH_TASK_DONE, NULL, &b, NULL, 0);
  vt->mark(s, (swath_tile){9, 60, 60}, SWATH_TASK_EMPTY, NULL, NULL, NULL,
           0); /* no tiles: not in the limits */
  vt->mark(s, (swath_tile){9, 61, 61}, SWATH_TASK_FAILED, "x", NULL, NULL, 0); /* likewise */
  vt->mark(s, (swath_tile){8, 26, 49}, SWATH_TASK_DONE, NULL,
           &(swath_tile_range){8, 52, 99, 52, 99}, NULL, 0);
  vt->mark(s, (swath_tile){8, 26, 49}, SWATH_TASK_STALE, NULL, NULL, NULL, 0); /* keeps its range */
  swath_tile_range lim[SWATH_GRID_MAX_ZOOMS];
  int have[SWATH_GRID_MAX_ZOOMS];
  assert_int_equal(vt->tile_limits(s, 2, lim, have), 0);
  assert_int_equal(have[9], 1);
  assert_int_equal(have[8], 1);
  assert_int_equal(have[7], 0);
  assert_int_equal(lim[9].minx, 100);
  assert_int_equal(lim[9].maxx, 105);
  assert_int_equal(lim[9].miny, 198);
  assert_int_equal(lim[9].maxy, 200);
  assert_int_equal(lim[8].minx, 52);
  assert_int_equal(lim[8].maxy, 99);
  /* A task recorded again with another range: the new one counts. */
  vt->mark(s, (swath_tile){9, 52, 99}, SWATH_TASK_DONE, NULL,
           &(swath_tile_range){9, 104, 199, 104, 199}, NULL, 0);
  assert_int_equal(vt->tile_limits(s, 2, lim, have), 0);
  assert_int_equal(lim[9].maxx, 104);
  assert_int_equal(lim[9].miny, 199);
  /* Runs: each zoom range and area once, oldest first. */
  swath_store_run r1 = {12, 15, {1, 2, 3, 4}, "the inputs' footprint"},
                  r2 = {12, 16, {0, 0, 1, 1}, "bounds 1,2,3,4"};
  assert_int_equal(vt->add_run(s, &r1), 0);
  assert_int_equal(vt->add_run(s, &r2), 0);
  assert_int_equal(vt->add_run(s, &r1), 0);
  vt->close(s);
  s = open_key("key-e");
  nruns = 0;
  assert_int_equal(vt->each_run(s, count_runs, NULL), 0);
  assert_int_equal(nruns, 2);
  assert_int_equal(run_zooms[0], 15);
  assert_int_equal(run_zooms[1], 16);
  vt->close(s);
  /* Another job: runs and tasks go with the reset. */
  int same;
  int64_t done;
  assert_int_equal(vt->open(path, "key-f", &same, &done, &s), 0);
  assert_int_equal(vt->reset(s), 0);
  nruns = 0;
  assert_int_equal(vt->each_run(s, count_runs, NULL), 0);
  assert_int_equal(nruns, 0);
  assert_int_equal(vt->tile_limits(s, 2, lim, have), 0);
  assert_int_equal(have[9], 0);
  vt->close(s);
}

static void check_covered(void *s, swath_tile t, const unsigned char *want, int n) {
  unsigned char got[4096];
  enum swath_task_state v;
  memset(got, 7, sizeof got);
  assert_int_equal(vt->get(s, t, &v, got, n), 0);
  for (int i = 0; i < n; i++)
    assert_int_equal(got[i], want ? want[i] : 1);
}

static void upgrades_an_old_store(void **st) {
  (void)st;
  /* The tables as swath made them before tile ranges and runs. */
  char old[160];
  snprintf(old, sizeof old, "%s/old.sqlite", dir);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
  assert_int_equal(
      sqlite3_exec(
          db,
          "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
          " CREATE TABLE tasks(z INTEGER, x INTEGER, y INTEGER, state INTEGER, message TEXT,"
          " attempts INTEGER DEFAULT 1, updated_at INTEGER, PRIMARY KEY(z, x, y)) WITHOUT ROWID;"
          " INSERT INTO meta VALUES('job_key', 'old');"
          " INSERT INTO tasks VALUES(10, 3, 4, 1, NULL, 1, 0);",
          NULL, NULL, NULL),
      SQLITE_OK);
  sqlite3_close(db);
  void *s;
  int same;
  int64_t done;
  assert_int_equal(vt->open(old, "old", &same, &done, &s), 0);
  assert_int_equal(same, 1);
  assert_int_equal(done, 1);
  swath_tile_range lim[SWATH_GRID_MAX_ZOOMS];
  int have[SWATH_GRID_MAX_ZOOMS];
  assert_int_equal(vt->tile_limits(s, 4, lim, have), 0);
  assert_int_equal(have[10], 1); /* the whole metatile 3,4 at metatiling 4 */
  assert_int_equal(lim[10].minx, 12);
  assert_int_equal(lim[10].maxx, 15);
  assert_int_equal(lim[10].miny, 16);
  assert_int_equal(lim[10].maxy, 19);
  vt->mark(s, (swath_tile){10, 3, 5}, SWATH_TASK_DONE, NULL,
           &(swath_tile_range){10, 13, 21, 13, 21}, NULL, 0);
  assert_int_equal(vt->tile_limits(s, 4, lim, have), 0);
  assert_int_equal(lim[10].maxy, 21);
  /* Its task covers the whole metatile (swath wrote whole ones then); a
   * task recorded now keeps the tiles it covered. */
  check_covered(s, (swath_tile){10, 3, 4}, NULL, 16);
  unsigned char half[16] = {1, 1, 1, 1, 1, 1, 1, 1};
  vt->mark(s, (swath_tile){10, 3, 6}, SWATH_TASK_DONE, NULL, NULL, half, 16);
  assert_int_equal(vt->flush(s), 0);
  check_covered(s, (swath_tile){10, 3, 6}, half, 16);
  vt->close(s);
  /* A store with tile ranges but made before covered tiles were kept. */
  snprintf(old, sizeof old, "%s/ranges.sqlite", dir);
  assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
  assert_int_equal(
      sqlite3_exec(
          db,
          "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
          " CREATE TABLE tasks(z INTEGER, x INTEGER, y INTEGER, state INTEGER, message TEXT,"
          " attempts INTEGER DEFAULT 1, updated_at INTEGER, tx0 INTEGER, ty0 INTEGER,"
          " tx1 INTEGER, ty1 INTEGER, PRIMARY KEY(z, x, y)) WITHOUT ROWID;"
          " INSERT INTO meta VALUES('job_key', 'old');"
          " INSERT INTO tasks VALUES(10, 3, 4, 1, NULL, 1, 0, 12, 16, 13, 17);",
          NULL, NULL, NULL),
      SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(vt->open(old, "old", &same, &done, &s), 0);
  check_covered(s, (swath_tile){10, 3, 4}, NULL, 16);
  vt->mark(s, (swath_tile){10, 3, 6}, SWATH_TASK_DONE, NULL, NULL, half, 16);
  assert_int_equal(vt->flush(s), 0);
  check_covered(s, (swath_tile){10, 3, 6}, half, 16);
  vt->close(s);
}

static void covered_tiles(void **st) {
  (void)st;
  void *s = open_key("key-g");
  unsigned char c16[16], c4096[4096], ones[16];
  for (int i = 0; i < 16; i++)
    c16[i] = (unsigned char)(i % 4 < 2 && i < 12);
  for (int i = 0; i < 4096; i++)
    c4096[i] = (unsigned char)((i * 7919) % 3 == 0);
  memset(ones, 1, sizeof ones);
  swath_tile a = {9, 1, 1}, b = {9, 1, 2}, c = {9, 1, 3}, d = {9, 1, 4};
  vt->mark(s, a, SWATH_TASK_DONE, NULL, NULL, c16, 16);
  vt->mark(s, b, SWATH_TASK_EMPTY, NULL, NULL, c4096, 4096); /* metatiling 64 */
  vt->mark(s, c, SWATH_TASK_DONE, NULL, NULL, NULL, 0);
  vt->mark(s, d, SWATH_TASK_DONE, NULL, NULL, ones, 16);
  check_covered(s, a, c16, 16); /* from the buffer */
  check_covered(s, b, c4096, 4096);
  assert_int_equal(vt->flush(s), 0);
  check_covered(s, a, c16, 16); /* from the table */
  check_covered(s, b, c4096, 4096);
  check_covered(s, c, NULL, 16);
  check_covered(s, d, NULL, 16);
  check_covered(s, (swath_tile){9, 7, 7}, NULL, 16); /* not recorded */
  vt->close(s);
  s = open_key("key-g");
  check_covered(s, a, c16, 16);
  /* Recorded again, whole. */
  vt->mark(s, a, SWATH_TASK_DONE, NULL, NULL, NULL, 0);
  check_covered(s, a, NULL, 16);
  assert_int_equal(vt->flush(s), 0);
  check_covered(s, a, NULL, 16);
  vt->close(s);
  /* Only the cut tasks hold bits in the table. */
  sqlite3 *db;
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(
      sqlite3_prepare_v2(db, "SELECT count(*) FROM tasks WHERE covered IS NOT NULL", -1, &q, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(q, 0), 1);
  sqlite3_finalize(q);
  sqlite3_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(persistence_and_job_key),
      cmocka_unit_test(survives_a_dead_process),
      cmocka_unit_test(concurrent_marks_and_failures),
      cmocka_unit_test(unwritable),
      cmocka_unit_test(limits_and_runs),
      cmocka_unit_test(upgrades_an_old_store),
      cmocka_unit_test(covered_tiles),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
