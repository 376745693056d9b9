/* queue_test_store.c: the engine's store view of a job (marks durable
 * with the completion that made them), the "postgresql" store of the
 * registry, the status figures, the end of a job, and pgbouncer restarted
 * in the middle of a run of calls. */
#include <math.h>
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

#include "core/error.h"
#include "engine/queue_internal.h"
#include "engine/store.h"
#include "qt.h"
#include "qt_tests.h"

static const swath_store_vtable *vt = &swath_store_pg;

static int get_state(void *view, int z, long long x, long long y, unsigned char cov[4]) {
  enum swath_task_state s = 99;
  if (vt->get(view, (swath_tile){z, x, y}, &s, cov, cov ? 4 : 0))
    fail_msg("get: %s", swath_error_message());
  return (int)s;
}

static void mark(void *view, int z, long long x, long long y, int s, const swath_tile_range *r,
                 const unsigned char *cov) {
  if (vt->mark(view, (swath_tile){z, x, y}, s, s == SWATH_TASK_FAILED ? "bad" : NULL, r, cov,
               cov ? 4 : 0))
    fail_msg("mark: %s", swath_error_message());
}

static const swath_claim *find(const swath_claim *c, int n, long long x, long long y) {
  for (int i = 0; i < n; i++)
    if (c[i].mt.x == x && c[i].mt.y == y) return &c[i];
  fail_msg("no claim of %lld/%lld", x, y);
  return NULL;
}

void test_store_view(void **state) {
  (void)state;
  qt *t = qt_new("q_view");
  qt_gen g;
  qt_gen_init(&g, 2, 3, 2, 2, 1); /* cells 3/1/0, 3/0/1, 3/1/1 */
  int64_t id = qt_submit(t, &g, "key", 3, NULL);
  swath_claim c[3];
  assert_int_equal(qt_claim(t, "A", id, 3, 60, c), 3);
  void *v1, *v2;
  swath_queue *q2;
  assert_int_equal(swath_store_pg_view(t->q, id, 2, &v1), 0);
  assert_int_equal(swath_queue_open(t->pgb, &q2), 0);
  assert_int_equal(swath_store_pg_view(q2, id + 100, 2, &v2), SWATH_ENOTFOUND);
  assert_null(v2);
  assert_int_equal(swath_store_pg_view(q2, id, 2, &v2), 0);

  /* Buffered: the view sees its own marks, nobody else does. */
  const unsigned char cov[4] = {SWATH_COVERED, SWATH_COVERED, SWATH_COVERED_PARTIAL, 0};
  unsigned char got[4];
  swath_tile_range r = {3, 2, 0, 3, 1};
  mark(v1, 3, 1, 0, SWATH_TASK_STALE, &r, NULL);
  mark(v1, 3, 1, 0, SWATH_TASK_DONE, &r, cov); /* the same tile twice: the last counts */
  mark(v1, 4, 2, 0, SWATH_TASK_EMPTY, NULL, NULL);
  assert_int_equal(get_state(v1, 3, 1, 0, got), SWATH_TASK_DONE);
  assert_memory_equal(got, cov, 4);
  assert_int_equal(get_state(v2, 3, 1, 0, got), SWATH_TASK_PENDING);
  assert_int_equal(qt_i64(t, "SELECT count(*) FROM swath_marks"), 0);
  assert_int_equal(vt->flush(v1), 0); /* a view's flush writes nothing */
  assert_int_equal(qt_i64(t, "SELECT count(*) FROM swath_marks"), 0);
  assert_int_equal(
      swath_queue_complete(t->q, "A", find(c, 3, 1, 0), SWATH_QTASK_DONE, 4, v1, NULL, NULL), 0);
  /* Durable with the completion, covered flags and all. */
  assert_int_equal(get_state(v2, 3, 1, 0, got), SWATH_TASK_DONE);
  assert_memory_equal(got, cov, 4);
  assert_int_equal(get_state(v2, 4, 2, 0, got), SWATH_TASK_EMPTY);
  for (int i = 0; i < 4; i++)
    assert_int_equal(got[i], SWATH_COVERED);
  assert_int_equal(qt_i64(t, "SELECT count(*) FROM swath_marks WHERE job = %lld", (long long)id),
                   2);
  assert_int_equal(
      qt_i64(t, "SELECT tx1 FROM swath_marks WHERE job = %lld AND z = 3", (long long)id), 3);

  /* Discarded marks are never written. */
  mark(v1, 3, 0, 1, SWATH_TASK_DONE, NULL, NULL);
  swath_store_pg_discard(v1);
  assert_int_equal(get_state(v1, 3, 0, 1, NULL), SWATH_TASK_PENDING);
  assert_int_equal(
      swath_queue_complete(t->q, "A", find(c, 3, 0, 1), SWATH_QTASK_EMPTY, 0, v1, NULL, NULL), 0);
  assert_int_equal(get_state(v2, 3, 0, 1, NULL), SWATH_TASK_PENDING);

  /* Nor are a refused completion's. */
  mark(v1, 3, 1, 1, SWATH_TASK_DONE, NULL, NULL);
  swath_claim stale = *find(c, 3, 1, 1);
  stale.attempt += 5;
  assert_int_equal(swath_queue_complete(t->q, "A", &stale, SWATH_QTASK_DONE, 4, v1, NULL, NULL),
                   SWATH_EEMPTY);
  assert_int_equal(get_state(v2, 3, 1, 1, NULL), SWATH_TASK_PENDING);
  swath_store_pg_discard(v1);
  /* A view of another job given to a completion is a bug, said so. */
  int64_t other = qt_submit(t, &g, "other", 3, NULL);
  void *v3;
  assert_int_equal(swath_store_pg_view(t->q, other, 2, &v3), 0);
  mark(v3, 3, 1, 1, SWATH_TASK_DONE, NULL, NULL);
  assert_int_equal(
      swath_queue_complete(t->q, "A", find(c, 3, 1, 1), SWATH_QTASK_DONE, 4, v3, NULL, NULL),
      SWATH_EINTERNAL);
  vt->close(v3);

  /* tile_limits: DONE (and STALE) marks only, a mark without a range as
   * its whole metatile. */
  mark(v1, 4, 3, 1, SWATH_TASK_DONE, NULL, NULL);
  mark(v1, 4, 0, 0, SWATH_TASK_EMPTY, NULL, NULL); /* outside those: not counted */
  swath_tile_range r4 = {4, 4, 0, 5, 1};
  mark(v1, 4, 2, 1, SWATH_TASK_DONE, &r4, NULL);
  assert_int_equal(
      swath_queue_complete(t->q, "A", find(c, 3, 1, 1), SWATH_QTASK_DONE, 4, v1, NULL, NULL), 0);
  swath_tile_range lim[SWATH_GRID_MAX_ZOOMS];
  int have[SWATH_GRID_MAX_ZOOMS];
  assert_int_equal(vt->tile_limits(v2, 2, lim, have), 0);
  assert_int_equal(have[2], 0);
  assert_int_equal(have[3], 1);
  assert_int_equal(have[4], 1);
  assert_true(lim[3].minx == 2 && lim[3].miny == 0 && lim[3].maxx == 3 && lim[3].maxy == 1);
  assert_true(lim[4].minx == 4 && lim[4].miny == 0 && lim[4].maxx == 7 && lim[4].maxy == 3);
  vt->close(v1);
  vt->close(v2);
  swath_queue_close(q2);
  qt_free(t);
}

static void count_failed(void *ud, swath_tile t, const char *msg) {
  assert_string_equal(msg, "bad");
  assert_int_equal(t.z, 4);
  ++*(int *)ud;
}

static void count_run(void *ud, const swath_store_run *run) {
  assert_int_equal(run->max_zoom, 5);
  ++*(int *)ud;
}

void test_store_registry(void **state) {
  (void)state;
  qt *t = qt_new("q_registry");
  const swath_store_vtable *found;
  assert_int_equal(swath_store_find("postgresql", &found), 0);
  assert_ptr_equal(found, &swath_store_pg);
  qt_gen g;
  qt_gen_init(&g, 5, 5, 3, 1, 0);
  qt_submit(t, &g, "kk", 3, NULL);
  int64_t id = qt_submit(t, &g, "kk", 3, NULL); /* the newest with the key */
  void *s;
  int same = 0;
  int64_t done = -1;
  assert_int_equal(vt->open(t->pgb, "nope", &same, &done, &s), SWATH_ENOTFOUND);
  assert_non_null(strstr(swath_error_message(), "no job with key nope"));
  assert_int_equal(vt->open(t->pgb, "kk", &same, &done, &s), 0);
  assert_int_equal(same, 1);
  assert_int_equal(done, 0);
  mark(s, 4, 1, 1, SWATH_TASK_DONE, NULL, NULL);
  mark(s, 4, 0, 1, SWATH_TASK_FAILED, NULL, NULL);
  assert_int_equal(qt_i64(t, "SELECT count(*) FROM swath_marks"), 0);
  if (vt->flush(s)) fail_msg("flush: %s", swath_error_message()); /* its own connection: writes */
  assert_int_equal(qt_i64(t, "SELECT count(*) FROM swath_marks WHERE job = %lld", (long long)id),
                   2);
  int nf = 0, nr = 0;
  assert_int_equal(vt->each_failed(s, count_failed, &nf), 0);
  assert_int_equal(nf, 1);
  swath_store_run run = {2, 5, {0, 0, 1, 1}, "bounds 0,0,1,1"};
  assert_int_equal(vt->add_run(s, &run), 0);
  assert_int_equal(vt->add_run(s, &run), 0); /* once */
  run.area = "bounds 0,0,2,2";
  assert_int_equal(vt->add_run(s, &run), 0);
  assert_int_equal(vt->each_run(s, count_run, &nr), 0);
  assert_int_equal(nr, 2);
  vt->close(s);
  assert_int_equal(vt->open(t->pgb, "kk", &same, &done, &s), 0);
  assert_int_equal(done, 1);
  enum swath_task_state st;
  assert_int_equal(vt->get(s, (swath_tile){4, 1, 1}, &st, NULL, 0), 0);
  assert_int_equal(st, SWATH_TASK_DONE);
  assert_int_equal(vt->reset(s), 0);
  assert_int_equal(vt->get(s, (swath_tile){4, 1, 1}, &st, NULL, 0), 0);
  assert_int_equal(st, SWATH_TASK_PENDING);
  nr = 0;
  assert_int_equal(vt->each_run(s, count_run, &nr), 0);
  assert_int_equal(nr, 0);
  vt->close(s);
  qt_free(t);
}

void test_status(void **state) {
  (void)state;
  qt *t = qt_new("q_status");
  qt_gen g;
  qt_gen_init(&g, 5, 5, 6, 2, 0);
  long long top, cells = qt_gen_count(&g, &top);
  int64_t n, id = qt_submit(t, &g, "key", 3, &n);
  assert_int_equal(swath_queue_beat(t->q, "wA", "hostA", 11, id), 0);
  assert_int_equal(swath_queue_beat(t->q, "wB", "hostB", 12, id), 0);
  assert_int_equal(swath_queue_beat(t->q, "wC", "hostC", 13, 0), 0);
  qt_exec(t, "UPDATE swath_workers SET seen = now() - interval '1 hour' WHERE owner = 'wB'");
  swath_claim c[3];
  assert_int_equal(qt_claim(t, "wA", id, 3, 30, c), 3);
  assert_int_equal(swath_queue_complete(t->q, "wA", &c[0], SWATH_QTASK_DONE, 5, NULL, NULL, NULL),
                   0);
  assert_int_equal(swath_queue_complete(t->q, "wA", &c[1], SWATH_QTASK_DONE, 5, NULL, NULL, NULL),
                   0);
  assert_int_equal(swath_queue_complete(t->q, "wA", &c[2], SWATH_QTASK_EMPTY, 0, NULL, NULL, NULL),
                   0);
  assert_int_equal(qt_claim(t, "wA", id, 1, 30, c), 1);
  assert_int_equal(swath_queue_beat(t->q, "wA", "hostA", 11, id), 0); /* again: one row */
  double window = qt_f64(t,
                         "SELECT least(60, greatest(1, extract(epoch FROM now() - started)))"
                         " FROM swath_jobs WHERE id = %lld",
                         (long long)id);
  swath_qjob j;
  assert_int_equal(swath_queue_job(t->q, id, &j), 0);
  assert_int_equal(j.id, id);
  assert_string_equal(j.key, "key");
  assert_string_equal(j.yaml, "process: convert\n");
  assert_string_equal(j.path, "job.yaml");
  assert_string_equal(j.output, "/tmp/out");
  assert_int_equal(j.state, SWATH_QJOB_RUNNING);
  assert_true(j.min_zoom == 5 && j.max_zoom == 7 && j.cell_zoom == 5 && j.overviews == 0);
  assert_int_equal(j.max_attempts, 3);
  assert_true(j.created > 1.6e9 && j.started >= j.created && j.updated >= j.started);
  assert_true(j.finished == 0);
  assert_int_equal(j.tasks, cells + 1);
  assert_int_equal(j.tasks, n);
  assert_int_equal(j.tasks_done, 2);
  assert_int_equal(j.tasks_empty, 1);
  assert_int_equal(j.tasks_failed, 0);
  assert_int_equal(j.tasks_running, 1);
  assert_int_equal(j.tasks_ready, cells - 4);
  assert_int_equal(j.tiles_total, g.tiles);
  assert_int_equal(j.tiles_written, 10);
  assert_int_equal(j.workers_alive, 1);
  assert_int_equal(qt_i64(t, "SELECT count(*) FROM swath_workers"), 3);
  /* 10 tiles over the time since the job started (under a minute). */
  print_message("# rate %.3f tiles/s (window %.3f s), eta %.1f s\n", j.rate, window, j.eta);
  assert_true(j.rate > 0);
  assert_true(j.rate <= 10 / window * 1.0001 && j.rate > 10 / (window + 2));
  assert_true(j.eta > 0 && fabs(j.eta - (double)(g.tiles - 10) / j.rate) < 1e-6 * j.eta);
  assert_null(j.last_error);
  swath_qjob_clear(&j);
  assert_int_equal(swath_queue_job(t->q, id + 100, &j), SWATH_ENOTFOUND);

  int64_t id2 = qt_submit(t, &g, "key2", 3, NULL);
  swath_qjob *list;
  int k;
  assert_int_equal(swath_queue_jobs(t->q, 10, &list, &k), 0);
  assert_int_equal(k, 2);
  assert_int_equal(list[0].id, id2);
  assert_int_equal(list[1].id, id);
  assert_int_equal(list[0].state, SWATH_QJOB_QUEUED);
  assert_true(list[0].eta == -1 && list[0].rate == 0);
  for (int i = 0; i < k; i++)
    swath_qjob_clear(&list[i]);
  free(list);
  assert_string_equal(swath_qjob_state_name(SWATH_QJOB_CANCELLED), "cancelled");
  assert_string_equal(swath_qjob_state_name(SWATH_QJOB_QUEUED), "queued");
  assert_string_equal(swath_qtask_state_name(SWATH_QTASK_WAITING), "waiting");
  assert_string_equal(swath_qtask_state_name(42), "unknown");
  qt_free(t);
}

void test_job_done(void **state) {
  (void)state;
  qt *t = qt_new("q_done");
  qt_gen g;
  qt_gen_init(&g, 5, 5, 2, 1, 0);
  int64_t id = qt_submit(t, &g, "key", 3, NULL);
  assert_int_equal(swath_queue_job_done(t->q, id), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "2 of its 2 tasks are not finished"));
  swath_claim c;
  assert_int_equal(qt_claim(t, "A", id, 1, 60, &c), 1);
  assert_int_equal(swath_queue_complete(t->q, "A", &c, SWATH_QTASK_DONE, 1, NULL, NULL, NULL), 0);
  assert_int_equal(swath_queue_job_done(t->q, id), SWATH_EINVAL); /* FINISH not done */
  assert_int_equal(qt_claim(t, "A", id, 1, 60, &c), 1);
  assert_int_equal(c.kind, SWATH_QTASK_FINISH);
  assert_int_equal(swath_queue_complete(t->q, "A", &c, SWATH_QTASK_DONE, 0, NULL, NULL, NULL), 0);
  assert_int_equal(qt_job(t, id, "state"), SWATH_QJOB_RUNNING);
  assert_int_equal(swath_queue_job_done(t->q, id), 0);
  assert_int_equal(qt_job(t, id, "state"), SWATH_QJOB_DONE);
  assert_int_equal(swath_queue_job_done(t->q, id), 0);
  swath_qjob j;
  assert_int_equal(swath_queue_job(t->q, id, &j), 0);
  assert_true(j.finished >= j.started && j.eta == 0);
  swath_qjob_clear(&j);
  assert_int_equal(swath_queue_cancel(t->q, id), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "is done"));
  assert_int_equal(swath_queue_job_done(t->q, id + 100), SWATH_ENOTFOUND);
  qt_free(t);
}

/* ---- pgbouncer restarted mid-run ---- */

typedef struct restarting {
  const char *cmd;
  long calls;
  int restart_on; /* restart pgbouncer from inside the commit, on this call */
} restarting;

static void restart(const char *cmd) {
  int rc = system(cmd);
  if (rc != 0) fail_msg("%s: exit status %d", cmd, rc);
}

static int restart_commit(void *ud) {
  restarting *r = ud;
  if (++r->calls == r->restart_on) restart(r->cmd);
  return 0;
}

void test_pgbouncer_restart(void **state) {
  (void)state;
  const char *cmd = qt_env("SWATH_QUEUE_RESTART");
  qt *t = qt_new("q_restart");
  qt_gen g;
  int64_t n;
  /* 0: restarted while a submit streams its tasks (in its second batch). */
  qt_gen_init(&g, 2, 7, 100, 60, 1);
  g.restart_at = 5000;
  g.restart_cmd = cmd;
  long long top, total = qt_gen_count(&g, &top);
  int64_t big = qt_submit(t, &g, "big", 3, &n);
  assert_int_equal(n, total + 1);
  assert_int_equal(qt_i64(t, "SELECT count(*) FROM swath_tasks WHERE job = %lld", (long long)big),
                   total + 1);
  assert_int_equal(
      qt_i64(t, "SELECT waiting FROM swath_tasks WHERE job = %lld AND kind = 2", (long long)big),
      top);
  assert_int_equal(swath__queue_reconnects(t->q), 1);

  qt_gen_init(&g, 5, 5, 160, 1, 0);
  int64_t id = qt_submit(t, &g, "key", 3, &n);
  swath_claim c;
  int k = 0, got;
  pid_t bg = -1;
  while ((got = qt_claim(t, "A", id, 1, 60, &c)) == 1) {
    k++;
    /* 1: restarted inside the transaction of a completion (after its
     * commit function ran): the call is run again, commit included. */
    restarting r = {cmd, 0, k == 10 ? 1 : 0};
    if (k == 20) restart(cmd); /* 2: between a claim and its completion */
    if (k == 30) {
      /* 3: restarted twice from outside while the calls go on. */
      bg = fork();
      assert_true(bg >= 0);
      if (bg == 0) {
        qt_sleep(0.2);
        int a = system(cmd);
        qt_sleep(0.3);
        int b = system(cmd);
        _exit(a || b ? 1 : 0);
      }
    }
    if (swath_queue_complete(t->q, "A", &c, SWATH_QTASK_DONE, 1, NULL, restart_commit, &r))
      fail_msg("complete %d: %s", k, swath_error_message());
    if (k == 10) assert_int_equal(r.calls, 2);
    swath_qjob j;
    if (swath_queue_job(t->q, id, &j)) fail_msg("job: %s", swath_error_message());
    swath_qjob_clear(&j);
    if (swath_queue_beat(t->q, "A", "h", 1, id)) fail_msg("beat: %s", swath_error_message());
    if (k >= 30 && k <= 60) qt_sleep(0.02); /* while the restarts happen */
  }
  int st = 0;
  waitpid(bg, &st, 0);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  int reconnects = swath__queue_reconnects(t->q);
  print_message("# %d tasks claimed and completed; %d reconnections\n", k, reconnects);
  assert_true(reconnects >= 4);
  assert_int_equal(k, n); /* every cell, then FINISH */
  assert_int_equal(c.kind, SWATH_QTASK_FINISH);
  assert_int_equal(qt_i64(t,
                          "SELECT count(*) FROM swath_tasks WHERE job = %lld AND kind = 0"
                          " AND state = 3 AND completions = 1 AND attempt = 1",
                          (long long)id),
                   n - 1);
  qt_free(t);
}
