/* queue_test.c: the PostgreSQL job queue (engine/queue.h) against a real
 * server behind a real pgbouncer in transaction pooling, run by
 * tests/integration/test_queue.sh: `swath_queuetest [NAME]` runs the tests
 * whose name matches NAME (a cmocka filter, "*" wildcards), each in a
 * database of its own. This file: schema, submit, concurrent claims and
 * the order of overview tasks; queue_test_lease.c: leases, fencing,
 * failures, cancel, release; queue_test_store.c: the store view, status
 * figures, the end of a job, and a pgbouncer restart mid-run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/error.h"
#include "qt.h"
#include "qt_tests.h"

/* Children of fork that wait on a pipe: closing it starts them at once. */
static int gate_fork(int n, int (*fn)(int i, void *ud), void *ud, pid_t *pids) {
  int gate[2];
  assert_int_equal(pipe(gate), 0);
  for (int i = 0; i < n; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      close(gate[1]);
      char b;
      if (read(gate[0], &b, 1) < 0) _exit(9);
      _exit(fn(i, ud));
    }
  }
  close(gate[0]);
  close(gate[1]);
  return 0;
}

static int wait_all(int n, pid_t *pids) {
  int bad = 0;
  for (int i = 0; i < n; i++) {
    int st = 0;
    waitpid(pids[i], &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      fprintf(stderr, "child %d: %s %d\n", i, WIFEXITED(st) ? "exit status" : "signal",
              WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
      bad++;
    }
  }
  return bad;
}

/* ---- schema ---- */

static int open_child(int i, void *ud) {
  (void)i;
  swath_queue *q;
  int r = swath_queue_open(ud, &q);
  if (r) fprintf(stderr, "open: %s\n", swath_error_message());
  swath_queue_close(q);
  return r ? 1 : 0;
}

static void test_schema(void **state) {
  (void)state;
  qt *t = qt_new("q_schema");
  assert_int_equal(qt_i64(t, "SELECT value::int FROM swath_meta WHERE key = 'schema_version'"),
                   SWATH_QUEUE_SCHEMA);
  assert_int_equal(qt_i64(t, "SELECT count(*) FROM pg_tables WHERE tablename IN ('swath_meta',"
                             " 'swath_jobs', 'swath_tasks', 'swath_marks', 'swath_runs',"
                             " 'swath_workers')"),
                   6);
  /* Opened again: nothing to do, nothing lost. */
  int64_t n;
  qt_gen g;
  qt_gen_init(&g, 3, 4, 4, 4, 1);
  int64_t id = qt_submit(t, &g, "k", 2, &n);
  swath_queue *q2;
  assert_int_equal(swath_queue_open(t->pgb, &q2), 0);
  swath_qjob j;
  assert_int_equal(swath_queue_job(q2, id, &j), 0);
  assert_int_equal(j.tasks, n);
  swath_qjob_clear(&j);
  swath_queue_close(q2);

  /* Six workers opening a new database at the same moment all succeed. */
  qt *t2 = qt_new("q_schema_race");
  qt_exec(t2, "DROP TABLE swath_workers, swath_runs, swath_marks, swath_tasks, swath_jobs,"
              " swath_meta");
  pid_t pids[6];
  gate_fork(6, open_child, t2->pgb, pids);
  assert_int_equal(wait_all(6, pids), 0);
  assert_int_equal(qt_i64(t2, "SELECT count(*) FROM swath_meta"), 1);
  qt_free(t2);

  /* A newer schema is refused, naming both versions. */
  qt_exec(t, "UPDATE swath_meta SET value = '%d' WHERE key = 'schema_version'",
          SWATH_QUEUE_SCHEMA + 1);
  assert_int_equal(swath_queue_open(t->pgb, &q2), SWATH_EINVAL);
  char want[100];
  snprintf(want, sizeof want, "schema version %d is newer than this swath knows (%d)",
           SWATH_QUEUE_SCHEMA + 1, SWATH_QUEUE_SCHEMA);
  if (!strstr(swath_error_message(), want)) fail_msg("message: %s", swath_error_message());
  qt_free(t);

  /* No server, or a conninfo that does not parse: one line, no password. */
  assert_int_equal(swath_queue_open("host=127.0.0.1 port=1 user=u password=Sekr1t dbname=d"
                                    " connect_timeout=3",
                                    &q2),
                   SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "127.0.0.1:1/d"));
  assert_null(strstr(swath_error_message(), "Sekr1t"));
  assert_null(strchr(swath_error_message(), '\n'));
  assert_int_equal(swath_queue_open("host=127.0.0.1 password Sekr1t", &q2), SWATH_EINVAL);
  assert_null(strstr(swath_error_message(), "Sekr1t"));
  assert_int_equal(swath_queue_open("postgresql://u:Sekr1t@127.0.0.1:1/d?connect_timeout=3", &q2),
                   SWATH_EINVAL);
  assert_null(strstr(swath_error_message(), "Sekr1t"));
}

/* ---- submit ---- */

/* Every TILE's counter is the number of its children in the job, and the
 * FINISH task's the number of tasks without a parent task. */
static void check_counters(qt *t, const qt_gen *g, int64_t id, long long orphans) {
  char sql[300];
  snprintf(sql, sizeof sql,
           "SELECT z, x, y, waiting, state FROM swath_tasks WHERE job = %lld AND kind = 1",
           (long long)id);
  PGresult *r = PQexec(t->admin, sql);
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  long long tiles = 0, total, top;
  total = qt_gen_count(g, &top);
  for (int i = 0; i < PQntuples(r); i++) {
    int z = atoi(PQgetvalue(r, i, 0));
    long long x = atoll(PQgetvalue(r, i, 1)), y = atoll(PQgetvalue(r, i, 2));
    int want = 0;
    for (int k = 0; g->overviews && k < 4; k++)
      want += qt_gen_has(g, z + 1, 2 * x + (k & 1), 2 * y + (k >> 1));
    assert_true(qt_gen_has(g, z, x, y));
    assert_int_equal(atoi(PQgetvalue(r, i, 3)), want);
    assert_int_equal(atoi(PQgetvalue(r, i, 4)), want ? SWATH_QTASK_WAITING : SWATH_QTASK_READY);
    tiles++;
  }
  PQclear(r);
  long long cells =
      qt_i64(t, "SELECT count(*) FROM swath_tasks WHERE job = %lld AND kind = 0", (long long)id);
  assert_int_equal(cells + tiles, total);
  assert_int_equal(
      qt_i64(t, "SELECT waiting FROM swath_tasks WHERE job = %lld AND kind = 2", (long long)id),
      orphans);
  assert_int_equal(
      qt_i64(t, "SELECT state FROM swath_tasks WHERE job = %lld AND kind = 2", (long long)id),
      orphans ? SWATH_QTASK_WAITING : SWATH_QTASK_READY);
}

static long long maxrss_kb(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

static void test_submit(void **state) {
  (void)state;
  qt *t = qt_new("q_submit");
  qt_gen g;
  qt_gen_init(&g, 2, 7, 60, 45, 1);
  long long top, total = qt_gen_count(&g, &top);
  assert_true(total > 3000);
  int64_t n, id = qt_submit(t, &g, "key-a", 3, &n);
  assert_int_equal(n, total + 1);
  assert_int_equal(g.given, total);
  assert_int_equal(qt_i64(t, "SELECT state FROM swath_jobs WHERE id = %lld", (long long)id),
                   SWATH_QJOB_QUEUED);
  assert_int_equal(qt_i64(t, "SELECT tiles_total FROM swath_jobs WHERE id = %lld", (long long)id),
                   g.tiles);
  check_counters(t, &g, id, top);

  /* Without overviews, TILEs are computed and every task waits on FINISH. */
  qt_gen_init(&g, 2, 5, 12, 9, 0);
  g.tiles_above = 1;
  total = qt_gen_count(&g, &top);
  id = qt_submit(t, &g, "key-b", 3, &n);
  assert_int_equal(n, total + 1);
  check_counters(t, &g, id, total);

  /* A failing stream, a task given twice (in a later batch), a job text
   * the server cannot store: refused, nothing left. */
  long long jobs = qt_i64(t, "SELECT count(*) FROM swath_jobs");
  swath_qjob_spec bad = qt_spec(&g, "key-bad", 3);
  bad.yaml = "process: convert # caf\xe9\n";
  assert_int_equal(swath_queue_submit(t->q, &bad, qt_gen_next, &g, &id, &n), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "create the job: invalid byte sequence"));
  qt_gen_init(&g, 2, 7, 60, 45, 1);
  g.fail_after = 100;
  swath_qjob_spec s = qt_spec(&g, "key-c", 3);
  assert_int_equal(swath_queue_submit(t->q, &s, qt_gen_next, &g, &id, &n), SWATH_EIO);
  assert_string_equal(swath_error_message(), "generator: stopped on purpose");
  qt_gen_init(&g, 2, 7, 100, 60, 1);
  g.dup_at = 5000; /* in the second batch */
  assert_int_equal(swath_queue_submit(t->q, &s, qt_gen_next, &g, &id, &n), SWATH_EINTERNAL);
  assert_non_null(strstr(swath_error_message(), "a task was given twice"));
  assert_int_equal(qt_i64(t, "SELECT count(*) FROM swath_jobs"), jobs);
  assert_int_equal(qt_i64(t, "SELECT count(*) FROM swath_tasks WHERE job NOT IN (SELECT id FROM"
                             " swath_jobs)"),
                   0);

  /* The memory does not follow the number of tasks: 300000 of them (some
   * 7 MB as COPY text) grow the peak by less than 3 MB. */
  qt_gen_init(&g, 2, 10, 600, 550, 0);
  long long before = maxrss_kb();
  id = qt_submit(t, &g, "key-big", 3, &n);
  long long grown = maxrss_kb() - before;
  assert_true(g.given > 290000);
  assert_int_equal(n, g.given + 1);
  print_message("# %lld tasks submitted; peak RSS grew by %lld kB\n", (long long)g.given, grown);
  assert_true(grown < 3 * 1024);
  qt_free(t);
}

/* ---- claims ---- */

typedef struct claimers {
  const char *pgb, *pg, *dir;
  int64_t job;
} claimers;

static int count_commit(void *ud) {
  ++*(long *)ud;
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One claimer: claims, checks that an overview's children (or, for FINISH,
 * every other task) are finished, logs the claim, completes. */
static int claimer(int i, void *ud) {
  claimers *c = ud;
  swath_queue *q;
  if (swath_queue_open(c->pgb, &q)) return 10;
  PGconn *db = PQconnectdb(c->pg);
  char path[300], owner[32];
  snprintf(path, sizeof path, "%s/claims.%d", c->dir, i);
  snprintf(owner, sizeof owner, "w%d", i);
  FILE *f = fopen(path, "w");
  if (!f || PQstatus(db) != CONNECTION_OK) return 11;
  int n = 1 + 3 * i, rc = 0;
  long commits = 0;
  swath_claim cl[16];
  double t0 = now_s();
  while (!rc) {
    int got;
    if (now_s() - t0 > 180) rc = 4;
    if (!rc && swath_queue_claim(q, owner, c->job, n, 60, cl, &got)) rc = 2;
    if (!rc && got == 0) {
      swath_qjob j;
      if (swath_queue_job(q, c->job, &j)) rc = 2;
      int st = j.state;
      swath_qjob_clear(&j);
      if (st == SWATH_QJOB_DONE) break;
      usleep(3000);
    }
    for (int k = 0; !rc && k < got; k++) {
      swath_claim *x = &cl[k];
      long long open = 0;
      if (x->kind == SWATH_QTASK_TILE)
        open = qt_i64_on(db,
                         "SELECT count(*) FROM swath_tasks WHERE job = %lld AND z = %d AND"
                         " x / 2 = %lld AND y / 2 = %lld AND state NOT IN (3, 4)",
                         (long long)x->job, x->mt.z + 1, (long long)x->mt.x, (long long)x->mt.y);
      if (x->kind == SWATH_QTASK_FINISH)
        open = qt_i64_on(db,
                         "SELECT count(*) FROM swath_tasks WHERE job = %lld AND kind <> 2 AND"
                         " state NOT IN (3, 4)",
                         (long long)x->job);
      if (open) {
        fprintf(stderr, "%s claimed %d/%lld/%lld with %lld unfinished below\n", owner, x->mt.z,
                (long long)x->mt.x, (long long)x->mt.y, open);
        rc = 3;
      }
      fprintf(f, "%d %d %lld %lld %d\n", x->kind, x->mt.z, (long long)x->mt.x, (long long)x->mt.y,
              x->attempt);
      if (!rc && swath_queue_complete(q, owner, x, SWATH_QTASK_DONE, x->tiles, NULL, count_commit,
                                      &commits))
        rc = 2;
      if (!rc && x->kind == SWATH_QTASK_FINISH && swath_queue_job_done(q, c->job)) rc = 2;
    }
  }
  if (rc == 2) fprintf(stderr, "%s: %s\n", owner, swath_error_message());
  fprintf(f, "commits %ld\n", commits);
  fclose(f);
  PQfinish(db);
  swath_queue_close(q);
  return rc;
}

typedef struct seen {
  int kind, z;
  long long x, y;
} seen;

static int by_task(const void *a, const void *b) {
  const seen *s = a, *t = b;
  if (s->z != t->z) return s->z - t->z;
  if (s->x != t->x) return s->x < t->x ? -1 : 1;
  return s->y < t->y ? -1 : s->y > t->y;
}

static void test_claims_concurrent(void **state) {
  (void)state;
  qt *t = qt_new("q_claims");
  qt_gen g;
  qt_gen_init(&g, 1, 6, 48, 40, 1);
  int64_t n, id = qt_submit(t, &g, "key", 3, &n);
  char dir[] = "/tmp/swath-queuetest.XXXXXX";
  assert_non_null(mkdtemp(dir));
  claimers c = {t->pgb, t->pg, dir, id};
  enum { N = 4 };
  pid_t pids[N];
  gate_fork(N, claimer, &c, pids);
  assert_int_equal(wait_all(N, pids), 0);

  seen *all = calloc((size_t)n, sizeof *all);
  long long k = 0, commits = 0, per[N] = {0};
  for (int i = 0; i < N; i++) {
    char path[300], line[200];
    snprintf(path, sizeof path, "%s/claims.%d", dir, i);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
      long v;
      seen s;
      int attempt;
      if (sscanf(line, "commits %ld", &v) == 1) {
        commits += v;
        continue;
      }
      assert_int_equal(sscanf(line, "%d %d %lld %lld %d", &s.kind, &s.z, &s.x, &s.y, &attempt), 5);
      assert_true(k < n);
      all[k++] = s;
      per[i]++;
    }
    fclose(f);
    unlink(path);
  }
  rmdir(dir);
  /* Every task handed out exactly once, to one owner, and drained. */
  assert_int_equal(k, n);
  qsort(all, (size_t)k, sizeof *all, by_task);
  for (long long i = 1; i < k; i++)
    if (!by_task(&all[i - 1], &all[i]))
      fail_msg("task %d/%lld/%lld claimed twice", all[i].z, all[i].x, all[i].y);
  free(all);
  assert_int_equal(commits, n);
  print_message("# %lld tasks; claims per worker %lld %lld %lld %lld\n", (long long)n, per[0],
                per[1], per[2], per[3]);
  assert_int_equal(qt_i64(t,
                          "SELECT count(*) FROM swath_tasks WHERE job = %lld AND state = 3"
                          " AND attempt = 1 AND completions = 1",
                          (long long)id),
                   n);
  assert_int_equal(qt_i64(t, "SELECT state FROM swath_jobs WHERE id = %lld", (long long)id),
                   SWATH_QJOB_DONE);
  assert_int_equal(qt_i64(t, "SELECT tasks_done FROM swath_jobs WHERE id = %lld", (long long)id),
                   n);
  qt_free(t);
}

static int claim_n(qt *t, int64_t job, int n, swath_claim *out) {
  int got = -1;
  if (swath_queue_claim(t->q, "solo", job, n, 60, out, &got))
    fail_msg("claim: %s", swath_error_message());
  return got;
}

static void done(qt *t, const swath_claim *c, int state) {
  if (swath_queue_complete(t->q, "solo", c, state, 1, NULL, NULL, NULL))
    fail_msg("complete: %s", swath_error_message());
}

static void test_overview_order(void **state) {
  (void)state;
  qt *t = qt_new("q_order");
  qt_gen g;
  qt_gen_init(&g, 2, 3, 2, 2, 1); /* cells (1,0) (0,1) (1,1) under TILE 2/0/0 */
  int64_t n, id = qt_submit(t, &g, "key", 3, &n);
  assert_int_equal(n, 5);
  swath_claim c[8], d[8];
  assert_int_equal(claim_n(t, id, 8, c), 3);
  for (int i = 0; i < 3; i++)
    assert_int_equal(c[i].kind, SWATH_QTASK_CELL);
  assert_int_equal(qt_i64(t, "SELECT state FROM swath_jobs WHERE id = %lld", (long long)id),
                   SWATH_QJOB_RUNNING);
  done(t, &c[0], SWATH_QTASK_DONE);
  done(t, &c[1], SWATH_QTASK_EMPTY);
  assert_int_equal(claim_n(t, id, 8, d), 0);
  assert_int_equal(
      qt_i64(t, "SELECT waiting FROM swath_tasks WHERE job = %lld AND kind = 1", (long long)id), 1);
  done(t, &c[2], SWATH_QTASK_DONE);
  assert_int_equal(claim_n(t, id, 8, d), 1);
  assert_int_equal(d[0].kind, SWATH_QTASK_TILE);
  assert_int_equal(d[0].mt.z, 2);
  assert_int_equal(claim_n(t, id, 8, c), 0); /* FINISH waits on the TILE */
  done(t, &d[0], SWATH_QTASK_DONE);
  assert_int_equal(claim_n(t, id, 8, c), 1);
  assert_int_equal(c[0].kind, SWATH_QTASK_FINISH);

  /* Oldest job first (job 0: any), its overview tasks before its cells. */
  qt_gen_init(&g, 2, 3, 2, 2, 1);
  int64_t id2 = qt_submit(t, &g, "key2", 3, &n);
  qt_gen_init(&g, 2, 3, 2, 2, 1);
  qt_submit(t, &g, "key3", 3, &n);
  qt_exec(t, "UPDATE swath_tasks SET state = 1, waiting = 0 WHERE job = %lld AND kind = 1",
          (long long)id2);
  done(t, &c[0], SWATH_QTASK_DONE); /* the first job's FINISH: done */
  assert_int_equal(claim_n(t, 0, 2, d), 2);
  assert_int_equal(d[0].job, id2);
  assert_int_equal(d[0].kind, SWATH_QTASK_TILE);
  assert_int_equal(d[1].kind, SWATH_QTASK_CELL);
  qt_free(t);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schema),
      cmocka_unit_test(test_submit),
      cmocka_unit_test(test_claims_concurrent),
      cmocka_unit_test(test_overview_order),
      cmocka_unit_test(test_lease_expiry),
      cmocka_unit_test(test_fail_backoff),
      cmocka_unit_test(test_nothing_can_run),
      cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_release),
      cmocka_unit_test(test_claim_again),
      cmocka_unit_test(test_commit_error),
      cmocka_unit_test(test_store_view),
      cmocka_unit_test(test_store_registry),
      cmocka_unit_test(test_status),
      cmocka_unit_test(test_job_done),
      cmocka_unit_test(test_pgbouncer_restart),
  };
  if (argc > 1) cmocka_set_test_filter(argv[1]);
  return cmocka_run_group_tests_name("queue", tests, NULL, NULL);
}
