/* queue_test_lease.c: leases, fencing, failures with backoff, a job that
 * can run no more, cancel, release, and a commit function that fails or
 * calls the queue. Jobs here are a row of cells at zoom 5 without
 * overviews (qt_gen: w cells less the one at x = 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "engine/queue_internal.h"
#include "qt.h"
#include "qt_tests.h"

/* A job of w - 1 cells in a row (plus FINISH). */
static int64_t row_job(qt *t, int w, int max_attempts) {
  qt_gen g;
  qt_gen_init(&g, 5, 5, w, 1, 0);
  return qt_submit(t, &g, "row", max_attempts, NULL);
}

static long long task_i64(qt *t, const swath_claim *c, const char *column) {
  return qt_i64(t,
                "SELECT %s FROM swath_tasks WHERE job = %lld AND z = %d AND x = %lld AND y = %lld",
                column, (long long)c->job, c->mt.z, (long long)c->mt.x, (long long)c->mt.y);
}

void test_lease_expiry(void **state) {
  (void)state;
  qt *t = qt_new("q_lease");
  int64_t id = row_job(t, 2, 5);
  swath_claim a, b, x;
  assert_int_equal(qt_claim(t, "A", id, 1, 2, &a), 1);
  assert_int_equal(a.attempt, 1);
  assert_int_equal(qt_claim(t, "B", id, 1, 60, &x), 0); /* leased */
  qt_sleep(2.6);
  assert_int_equal(qt_claim(t, "B", id, 1, 60, &b), 1);
  assert_int_equal(b.attempt, 2);
  assert_true(b.mt.z == a.mt.z && b.mt.x == a.mt.x && b.mt.y == a.mt.y);
  assert_int_equal(qt_job(t, id, "expired_leases"), 1);

  /* The old attempt is lost: renew says so, its completion is refused,
   * its commit never called, and the refusal counted. */
  int lost = -1;
  assert_int_equal(swath_queue_renew(t->q, "A", &a, 1, 60, &lost), 0);
  assert_int_equal(lost, 1);
  assert_int_equal(swath_queue_renew(t->q, "B", &b, 1, 60, &lost), 0);
  assert_int_equal(lost, 0);
  long commits = 0;
  assert_int_equal(
      swath_queue_complete(t->q, "A", &a, SWATH_QTASK_DONE, 4, NULL, qt_count_commit, &commits),
      SWATH_EEMPTY);
  assert_non_null(strstr(swath_error_message(), "attempt 1 of A refused"));
  assert_int_equal(commits, 0);
  assert_int_equal(qt_job(t, id, "fenced"), 1);
  /* Even with the right attempt number but another owner. */
  swath_claim forged = b;
  assert_int_equal(swath_queue_complete(t->q, "A", &forged, SWATH_QTASK_DONE, 4, NULL,
                                        qt_count_commit, &commits),
                   SWATH_EEMPTY);
  assert_int_equal(qt_job(t, id, "fenced"), 2);
  assert_int_equal(
      swath_queue_complete(t->q, "B", &b, SWATH_QTASK_DONE, 4, NULL, qt_count_commit, &commits), 0);
  assert_int_equal(commits, 1);
  assert_int_equal(task_i64(t, &b, "completions"), 1);
  assert_int_equal(task_i64(t, &b, "state"), SWATH_QTASK_DONE);
  /* The same completion again (as after a lost COMMIT answer): accepted,
   * nothing done twice. */
  assert_int_equal(
      swath_queue_complete(t->q, "B", &b, SWATH_QTASK_DONE, 4, NULL, qt_count_commit, &commits), 0);
  assert_int_equal(commits, 1);
  assert_int_equal(task_i64(t, &b, "completions"), 1);
  assert_int_equal(qt_job(t, id, "tasks_done"), 1);

  /* A lease renewed in time is not taken. */
  id = row_job(t, 2, 5);
  assert_int_equal(qt_claim(t, "A", id, 1, 2, &a), 1);
  qt_sleep(1.0);
  assert_int_equal(swath_queue_renew(t->q, "A", &a, 1, 3, &lost), 0);
  assert_int_equal(lost, 0);
  qt_sleep(1.5);
  assert_int_equal(qt_claim(t, "B", id, 1, 60, &x), 0);
  assert_int_equal(qt_job(t, id, "expired_leases"), 0);
  qt_free(t);
}

/* The backoff of the task's last failure, in seconds. */
static double delay(qt *t, const swath_claim *c) {
  return qt_f64(
      t,
      "SELECT extract(epoch FROM not_before - failed_at) FROM swath_tasks WHERE job = %lld"
      " AND z = %d AND x = %lld AND y = %lld",
      (long long)c->job, c->mt.z, (long long)c->mt.x, (long long)c->mt.y);
}

static void fail_ok(qt *t, const swath_claim *c, const char *msg) {
  if (swath_queue_fail(t->q, "A", c, msg)) fail_msg("fail: %s", swath_error_message());
}

typedef struct failures {
  int n;
  swath_tile mt;
  char msg[100];
} failures;

static void on_failed(void *ud, int kind, swath_tile mt, const char *msg) {
  failures *f = ud;
  assert_int_equal(kind, SWATH_QTASK_CELL);
  f->n++;
  f->mt = mt;
  snprintf(f->msg, sizeof f->msg, "%s", msg);
}

void test_fail_backoff(void **state) {
  (void)state;
  qt *t = qt_new("q_fail");
  int64_t id = row_job(t, 2, 3);
  swath_claim c, x;
  assert_int_equal(qt_claim(t, "A", id, 1, 60, &c), 1);
  fail_ok(t, &c, "boom 1");
  assert_int_equal(task_i64(t, &c, "state"), SWATH_QTASK_READY);
  double d1 = delay(t, &c);
  assert_true(d1 >= 1.0 && d1 <= 3.0);                  /* 2 s, jitter 0.5-1.5 */
  assert_int_equal(qt_claim(t, "A", id, 1, 60, &x), 0); /* not before not_before */
  qt_exec(t, "UPDATE swath_tasks SET not_before = now() WHERE job = %lld", (long long)id);
  assert_int_equal(qt_claim(t, "A", id, 1, 60, &c), 1);
  assert_int_equal(c.attempt, 2);
  fail_ok(t, &c, "boom 2");
  double d2 = delay(t, &c);
  assert_true(d2 >= 2.0 && d2 <= 6.0); /* 4 s */
  qt_exec(t, "UPDATE swath_tasks SET not_before = now() WHERE job = %lld", (long long)id);
  assert_int_equal(qt_claim(t, "A", id, 1, 60, &c), 1);
  fail_ok(t, &c, "boom 3");
  /* Out of attempts: FAILED with the last message, and the job with it
   * (its FINISH can never run). */
  assert_int_equal(task_i64(t, &c, "state"), SWATH_QTASK_FAILED);
  char *msg =
      qt_text(t, "SELECT message FROM swath_tasks WHERE job = %lld AND kind = 0", (long long)id);
  assert_string_equal(msg, "boom 3");
  free(msg);
  assert_int_equal(qt_job(t, id, "state"), SWATH_QJOB_FAILED);
  assert_int_equal(qt_job(t, id, "tasks_failed"), 1);
  failures f = {0};
  assert_int_equal(swath_queue_each_failed(t->q, id, on_failed, &f), 0);
  assert_int_equal(f.n, 1);
  assert_string_equal(f.msg, "boom 3");
  assert_true(f.mt.x == c.mt.x && f.mt.y == c.mt.y && f.mt.z == c.mt.z);
  swath_qjob j;
  assert_int_equal(swath_queue_job(t->q, id, &j), 0);
  assert_string_equal(j.last_error, "boom 3");
  swath_qjob_clear(&j);
  assert_int_equal(qt_claim(t, "A", id, 1, 60, &x), 0);

  /* retry: back in the queue with its tries reset, the job running. */
  int64_t n = -1;
  assert_int_equal(swath_queue_retry(t->q, id, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(qt_job(t, id, "state"), SWATH_QJOB_RUNNING);
  assert_int_equal(qt_job(t, id, "tasks_failed"), 0);
  assert_int_equal(qt_claim(t, "A", id, 1, 60, &c), 1);
  assert_int_equal(c.attempt, 4);
  assert_int_equal(task_i64(t, &c, "tries"), 1);
  assert_int_equal(swath_queue_complete(t->q, "A", &c, SWATH_QTASK_DONE, 1, NULL, NULL, NULL), 0);
  assert_int_equal(qt_claim(t, "A", id, 1, 60, &c), 1);
  assert_int_equal(c.kind, SWATH_QTASK_FINISH);

  /* The delay doubles per attempt up to 5 min, with jitter. */
  id = row_job(t, 4, 30);
  swath_claim three[3];
  assert_int_equal(qt_claim(t, "A", id, 3, 60, three), 3);
  qt_exec(t, "UPDATE swath_tasks SET tries = 5 WHERE job = %lld AND x = %lld", (long long)id,
          (long long)three[1].mt.x);
  qt_exec(t, "UPDATE swath_tasks SET tries = 12 WHERE job = %lld AND x = %lld", (long long)id,
          (long long)three[2].mt.x);
  for (int i = 0; i < 3; i++)
    fail_ok(t, &three[i], "boom");
  double a = delay(t, &three[0]), b = delay(t, &three[1]), cap = delay(t, &three[2]);
  print_message("# delays: attempt 1 %.2f s, attempt 5 %.2f s, attempt 12 %.2f s\n", a, b, cap);
  assert_true(a >= 1.0 && a <= 3.0);
  assert_true(b >= 16.0 && b <= 48.0);   /* 32 s */
  assert_true(cap >= 150 && cap <= 450); /* capped at 300 s */
  /* Jitter: eight first failures get eight delays (0.5-1.5 times 2 s). */
  id = row_job(t, 9, 30);
  swath_claim eight[8];
  assert_int_equal(qt_claim(t, "A", id, 8, 60, eight), 8);
  double lo = 1e9, hi = -1e9;
  for (int i = 0; i < 8; i++)
    fail_ok(t, &eight[i], "boom");
  for (int i = 0; i < 8; i++) {
    double d = delay(t, &eight[i]);
    lo = d < lo ? d : lo;
    hi = d > hi ? d : hi;
  }
  print_message("# 8 first delays from %.3f to %.3f s\n", lo, hi);
  assert_true(lo >= 1.0 && hi <= 3.0);
  assert_true(hi - lo > 0.25);
  qt_free(t);
}

void test_nothing_can_run(void **state) {
  (void)state;
  qt *t = qt_new("q_stuck");
  /* One task FAILED while another runs: the job goes on; once that one is
   * done nothing can run (FINISH waits on the failed one): FAILED. */
  int64_t id = row_job(t, 3, 1);
  swath_claim c[2];
  assert_int_equal(qt_claim(t, "A", id, 2, 60, c), 2);
  fail_ok(t, &c[0], "bad tile");
  assert_int_equal(qt_job(t, id, "state"), SWATH_QJOB_RUNNING);
  assert_int_equal(swath_queue_complete(t->q, "A", &c[1], SWATH_QTASK_DONE, 1, NULL, NULL, NULL),
                   0);
  assert_int_equal(qt_job(t, id, "state"), SWATH_QJOB_FAILED);
  assert_true(qt_job(t, id, "extract(epoch FROM finished)") > 0);

  /* A worker that dies on its last try: its expired lease fails the task. */
  id = row_job(t, 2, 1);
  assert_int_equal(qt_claim(t, "A", id, 1, 1, c), 1);
  qt_sleep(1.6);
  assert_int_equal(qt_claim(t, "B", id, 1, 60, c), 0);
  assert_int_equal(task_i64(t, c, "state"), SWATH_QTASK_FAILED);
  char *msg =
      qt_text(t, "SELECT message FROM swath_tasks WHERE job = %lld AND kind = 0", (long long)id);
  assert_non_null(strstr(msg, "lease expired"));
  free(msg);
  assert_int_equal(qt_job(t, id, "expired_leases"), 1);
  assert_int_equal(qt_job(t, id, "state"), SWATH_QJOB_FAILED);
  qt_free(t);
}

void test_cancel(void **state) {
  (void)state;
  qt *t = qt_new("q_cancel");
  int64_t id = row_job(t, 4, 3);
  swath_claim a, x[4];
  assert_int_equal(qt_claim(t, "A", id, 1, 60, &a), 1);
  assert_int_equal(swath_queue_cancel(t->q, id), 0);
  assert_int_equal(qt_job(t, id, "state"), SWATH_QJOB_CANCELLED);
  int lost = 0;
  assert_int_equal(swath_queue_renew(t->q, "A", &a, 1, 60, &lost), 0);
  assert_int_equal(lost, 1);
  assert_int_equal(qt_claim(t, "B", id, 4, 60, x), 0);
  assert_int_equal(qt_claim(t, "B", 0, 4, 60, x), 0);
  long commits = 0;
  assert_int_equal(
      swath_queue_complete(t->q, "A", &a, SWATH_QTASK_DONE, 1, NULL, qt_count_commit, &commits),
      SWATH_EEMPTY);
  assert_non_null(strstr(swath_error_message(), "the job is cancelled"));
  assert_int_equal(commits, 0);
  assert_int_equal(qt_job(t, id, "fenced"), 1);
  assert_int_equal(swath_queue_cancel(t->q, id), 0); /* again: nothing changes */
  assert_int_equal(swath_queue_cancel(t->q, id + 100), SWATH_ENOTFOUND);
  /* retry resumes a cancelled job. */
  int64_t n = -1;
  assert_int_equal(swath_queue_retry(t->q, id, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(qt_job(t, id, "state"), SWATH_QJOB_RUNNING);
  assert_int_equal(qt_claim(t, "B", id, 4, 60, x), 2);
  qt_free(t);
}

void test_release(void **state) {
  (void)state;
  qt *t = qt_new("q_release");
  int64_t id = row_job(t, 5, 2);
  swath_claim a[3], b[4];
  assert_int_equal(qt_claim(t, "A", id, 3, 60, a), 3);
  assert_int_equal(swath_queue_release(t->q, "A", a, 2), 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(task_i64(t, &a[i], "state"), SWATH_QTASK_READY);
    assert_int_equal(task_i64(t, &a[i], "tries"), 0);
  }
  assert_int_equal(task_i64(t, &a[2], "state"), SWATH_QTASK_RUNNING);
  /* A released claim can no longer complete. */
  assert_int_equal(swath_queue_complete(t->q, "A", &a[0], SWATH_QTASK_DONE, 1, NULL, NULL, NULL),
                   SWATH_EEMPTY);
  assert_int_equal(qt_claim(t, "B", id, 4, 60, b), 3);
  int again = 0;
  for (int i = 0; i < 3; i++)
    if (b[i].attempt == 2) {
      again++;
      /* Released tries do not count: one failure of 2 allowed leaves it READY. */
      assert_int_equal(swath_queue_fail(t->q, "B", &b[i], "once"), 0);
      assert_int_equal(task_i64(t, &b[i], "state"), SWATH_QTASK_READY);
    }
  assert_int_equal(again, 2);
  qt_free(t);
}

/* A claim run again (a dropped connection after its COMMIT) answers with
 * the tasks its first run took, not more: none is left claimed by nobody. */
void test_claim_again(void **state) {
  (void)state;
  qt *t = qt_new("q_claim_again");
  int64_t id = row_job(t, 5, 2);
  swath_claim a[2], b[2], c[2];
  int got = 0;
  assert_int_equal(swath__queue_claim_run(t->q, "A", id, 2, 60, 4242, 0, a, &got), 0);
  assert_int_equal(got, 2);
  assert_int_equal(swath__queue_claim_run(t->q, "A", id, 2, 60, 4242, 1, b, &got), 0);
  assert_int_equal(got, 2);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(b[i].mt.x, a[i].mt.x);
    assert_int_equal(b[i].mt.y, a[i].mt.y);
    assert_int_equal(b[i].attempt, 1);
  }
  assert_int_equal(
      qt_i64(t, "SELECT count(*) FROM swath_tasks WHERE job = %lld AND state = 2", (long long)id),
      2);
  /* Another call (another token): new tasks; another owner's run with the
   * same token finds none of A's (and the job's four cells are all
   * claimed now). */
  assert_int_equal(swath__queue_claim_run(t->q, "A", id, 2, 60, 4243, 1, c, &got), 0);
  assert_int_equal(got, 2);
  assert_true(c[0].mt.x != a[0].mt.x || c[0].mt.y != a[0].mt.y);
  assert_int_equal(swath__queue_claim_run(t->q, "B", id, 1, 60, 4242, 1, c, &got), 0);
  assert_int_equal(got, 0);
  assert_int_equal(
      qt_i64(t, "SELECT count(*) FROM swath_tasks WHERE job = %lld AND state = 2", (long long)id),
      4);
  /* Tokens leave released tasks claimable at once. */
  assert_int_equal(swath_queue_release(t->q, "A", a, 2), 0);
  assert_int_equal(qt_claim(t, "C", id, 2, 60, c), 2);
  qt_free(t);
}

static int failing_commit(void *ud) {
  ++*(long *)ud;
  return swath_error_set(SWATH_EIO, "cannot move the tiles");
}

static int transient_commit(void *ud) {
  ++*(long *)ud;
  return swath_error_set(SWATH_ETRANSIENT, "the disk is busy");
}

typedef struct nested {
  swath_queue *q;
  int64_t job;
  int r;
} nested;

static int nested_commit(void *ud) {
  nested *n = ud;
  swath_qjob j;
  n->r = swath_queue_job(n->q, n->job, &j);
  if (!n->r) swath_qjob_clear(&j);
  return n->r;
}

void test_commit_error(void **state) {
  (void)state;
  qt *t = qt_new("q_commit");
  int64_t id = row_job(t, 2, 3);
  swath_claim c;
  assert_int_equal(qt_claim(t, "A", id, 1, 60, &c), 1);
  long calls = 0;
  assert_int_equal(
      swath_queue_complete(t->q, "A", &c, SWATH_QTASK_DONE, 1, NULL, failing_commit, &calls),
      SWATH_EIO);
  assert_string_equal(swath_error_message(), "cannot move the tiles");
  assert_int_equal(calls, 1);
  /* Rolled back: still the caller's, nothing finished. */
  assert_int_equal(task_i64(t, &c, "state"), SWATH_QTASK_RUNNING);
  assert_int_equal(task_i64(t, &c, "completions"), 0);
  assert_int_equal(qt_job(t, id, "tasks_done"), 0);
  /* Its code passed on as it is, and a commit is not run again by the
   * queue, even when it calls its error transient. */
  calls = 0;
  assert_int_equal(
      swath_queue_complete(t->q, "A", &c, SWATH_QTASK_DONE, 1, NULL, transient_commit, &calls),
      SWATH_ETRANSIENT);
  assert_string_equal(swath_error_message(), "the disk is busy");
  assert_int_equal(calls, 1);
  assert_int_equal(task_i64(t, &c, "state"), SWATH_QTASK_RUNNING);
  /* A commit function that calls the queue is refused, not run inside. */
  nested n = {t->q, id, 0};
  assert_int_equal(
      swath_queue_complete(t->q, "A", &c, SWATH_QTASK_DONE, 1, NULL, nested_commit, &n),
      SWATH_EINTERNAL);
  assert_int_equal(n.r, SWATH_EINTERNAL);
  assert_int_equal(swath_queue_complete(t->q, "A", &c, SWATH_QTASK_DONE, 1, NULL, NULL, NULL), 0);
  assert_int_equal(task_i64(t, &c, "completions"), 1);
  qt_free(t);
}
