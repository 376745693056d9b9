/* queue_pg.c: claims, leases and the fenced end of a task (complete, fail,
 * release), each one call that can be run again whole.
 *
 * The fencing token is the task's attempt number, raised by every claim
 * and never lowered; `tries` (claims less releases) is what counts against
 * the job's max_attempts, so an expired lease counts as a try and a task
 * whose workers keep dying ends FAILED instead of looping. Leases use the
 * server's clock only.
 *
 * complete() and fail() lock the task row, check that it still holds the
 * caller's RUNNING attempt, and only then change anything, in the same
 * transaction. If the check finds the caller's own completion (or failure)
 * already applied, it was a COMMIT whose answer was lost to a dropped
 * connection: the call reports success again and changes nothing, so a
 * task's `completions` is 1 however often the call ran. A claim is made
 * safe to run again the same way: each claim call draws a token and
 * stamps it into the rows it takes (as their not_before, which a RUNNING
 * task does not use otherwise: the claim condition reads it only for
 * READY tasks, and a token is a moment of January 1970, long past); run
 * again after a dropped connection, the call first looks for rows of its
 * owner holding its token, and if the first run's COMMIT went through
 * answers with those instead of claiming more (which would leave the
 * first run's tasks claimed by nobody until their leases expired). Lock
 * order is task, then its parent task, then the job row, everywhere. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "engine/queue_internal.h"

static int settle_job(swath_pg *pg, void *ud) { return swath__queue_settle(pg, *(long long *)ud); }

/* ---- claim ---- */

typedef struct claim_ctx {
  const char *owner;
  long long job;
  int n, lease_s;
  swath_claim *out;
  int got;
  long long token; /* this call's (microseconds after the epoch, below 2^40) */
  int runs;        /* times claim_once ran */
} claim_ctx;

/* The claims of the result's rows (job, kind, z, x, y, attempt, tiles). */
static void claims_of(PGresult *res, claim_ctx *c) {
  int k = PQntuples(res);
  for (int i = 0; i < k && i < c->n; i++)
    c->out[i] = (swath_claim){swath__pg_get_i64(res, i, 0),
                              (int)swath__pg_get_i64(res, i, 1),
                              {(int)swath__pg_get_i64(res, i, 2), swath__pg_get_i64(res, i, 3),
                               swath__pg_get_i64(res, i, 4)},
                              (int)swath__pg_get_i64(res, i, 5),
                              swath__pg_get_i64(res, i, 6)};
  c->got = k < c->n ? k : c->n;
}

/* Run again: the rows an earlier run of this call committed, if any, as
 * its claims (c->got of them). */
static int claimed_before(swath_pg *pg, claim_ctx *c) {
  char token[24];
  swath__pg_i64(token, c->token);
  const char *p[] = {c->owner, token};
  PGresult *res;
  int r = swath__pg_exec(pg, "claim tasks (again)",
                         "SELECT job, kind, z, x, y, attempt, tiles FROM swath_tasks"
                         " WHERE state = 2 AND owner = $1"
                         " AND not_before = to_timestamp(0) + $2::bigint * interval '1 microsecond'"
                         " ORDER BY job, kind DESC, z DESC",
                         2, p, &res);
  if (r) return r;
  claims_of(res, c);
  PQclear(res);
  return 0;
}

/* Expired leases of tasks out of tries become FAILED (a worker that dies
 * on a task every time). 1 in *any if some did. */
static int fail_exhausted(swath_pg *pg, const char *job, int *any) {
  const char *p[] = {job};
  PGresult *res;
  int r = swath__pg_exec(
      pg, "fail tasks out of tries",
      "WITH f AS (UPDATE swath_tasks t SET state = 5, finished = now(), lease_until = NULL,"
      "  message = 'attempt ' || t.attempt || ' stopped without an answer (its lease expired), "
      "the last of ' || t.tries || ' tries'"
      "  WHERE t.id IN (SELECT t2.id FROM swath_tasks t2 JOIN swath_jobs j ON j.id = t2.job"
      "   WHERE j.state IN (1, 2) AND ($1::bigint = 0 OR t2.job = $1) AND t2.state = 2"
      "   AND t2.lease_until < now() AND t2.tries >= j.max_attempts FOR UPDATE OF t2 SKIP LOCKED)"
      "  RETURNING t.job, t.message)"
      " UPDATE swath_jobs j SET tasks_failed = j.tasks_failed + f.n,"
      "  expired_leases = j.expired_leases + f.n, last_error = f.msg, updated = now()"
      " FROM (SELECT job, count(*) AS n, max(message) AS msg FROM f GROUP BY job) f"
      " WHERE j.id = f.job RETURNING j.id",
      1, p, &res);
  if (r) return r;
  *any = PQntuples(res) > 0;
  PQclear(res);
  return 0;
}

static int claim_once(swath_pg *pg, void *ud) {
  claim_ctx *c = ud;
  char job[24], n[24], lease[24], token[24];
  swath__pg_i64(job, c->job);
  swath__pg_i64(n, c->n);
  swath__pg_i64(lease, c->lease_s);
  swath__pg_i64(token, c->token);
  c->got = 0;
  int r = c->runs++ ? claimed_before(pg, c) : 0;
  if (r || c->got) return r;
  int failed = 0;
  if ((r = fail_exhausted(pg, job, &failed))) return r;
  const char *p[] = {job, n, c->owner, lease, token};
  PGresult *res;
  r = swath__pg_exec(
      pg, "claim tasks",
      "WITH c AS (SELECT t.id, t.state = 2 AS expired FROM swath_tasks t"
      "  JOIN swath_jobs j ON j.id = t.job"
      "  WHERE j.state IN (1, 2) AND ($1::bigint = 0 OR t.job = $1)"
      "  AND ((t.state = 1 AND t.not_before <= now())"
      "   OR (t.state = 2 AND t.lease_until < now() AND t.tries < j.max_attempts))"
      "  ORDER BY t.job, t.kind DESC, t.z DESC, t.id LIMIT $2 FOR UPDATE OF t SKIP LOCKED),"
      " u AS (UPDATE swath_tasks t SET state = 2, owner = $3, attempt = t.attempt + 1,"
      "  tries = t.tries + 1, lease_until = now() + make_interval(secs => $4::int),"
      "  not_before = to_timestamp(0) + $5::bigint * interval '1 microsecond'"
      "  FROM c WHERE t.id = c.id"
      "  RETURNING t.job, t.kind, t.z, t.x, t.y, t.attempt, t.tiles, c.expired),"
      " j AS (UPDATE swath_jobs j SET state = CASE WHEN j.state = 1 THEN 2 ELSE j.state END,"
      "  started = coalesce(j.started, now()), expired_leases = j.expired_leases + e.n,"
      "  lease_s = $4::int"
      "  FROM (SELECT job, count(*) FILTER (WHERE expired) AS n FROM u GROUP BY job) e"
      "  WHERE j.id = e.job AND (j.state = 1 OR e.n > 0 OR j.lease_s <> $4::int))"
      " SELECT job, kind, z, x, y, attempt, tiles FROM u ORDER BY job, kind DESC, z DESC",
      5, p, &res);
  if (r) return r;
  claims_of(res, c);
  PQclear(res);
  /* Nothing to hand out: maybe nothing can run any more. */
  if (failed || c->got == 0) r = swath__queue_settle(pg, c->job);
  return r;
}

int swath__queue_claim_run(swath_queue *q, const char *owner, int64_t job, int n, int lease_s,
                           long long token, int runs, swath_claim *out, int *got) {
  *got = 0;
  if (!owner || !*owner || n < 1 || lease_s < 1)
    return swath_error_set(SWATH_EINVAL, "queue: claim: needs an owner, n >= 1 and lease >= 1 s");
  claim_ctx c = {owner, (long long)job, n, lease_s, out, 0, token, runs};
  int r = swath__queue_call(q, claim_once, &c);
  *got = r ? 0 : c.got;
  return r;
}

int swath_queue_claim(swath_queue *q, const char *owner, int64_t job, int n, int lease_s,
                      swath_claim *out, int *got) {
  /* A token per call: the clock's microseconds and a counter, folded
   * below 2^40 (a moment of January 1970); unique among one owner's
   * calls, which is all it must be. */
  static _Atomic unsigned long long seq;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  unsigned long long t =
      (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
  long long token = (long long)((t * 64 + seq++ % 64) & ((1ULL << 40) - 1));
  return swath__queue_claim_run(q, owner, job, n, lease_s, token, 0, out, got);
}

/* ---- claims as arrays (renew, release) ---- */

/* Five array literals {job}, {z}, {x}, {y}, {attempt} of the claims. */
static int claim_arrays(const swath_claim *c, int n, char *a[5]) {
  size_t cap = 24 * (size_t)n + 3;
  for (int k = 0; k < 5; k++)
    if (!(a[k] = malloc(cap))) return swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  size_t len[5] = {0};
  for (int i = 0; i <= n; i++) {
    long long v[5] = {0};
    if (i < n) {
      long long w[5] = {c[i].job, c[i].mt.z, (long long)c[i].mt.x, (long long)c[i].mt.y,
                        c[i].attempt};
      memcpy(v, w, sizeof v);
    }
    for (int k = 0; k < 5; k++) {
      if (i == n)
        len[k] += (size_t)snprintf(a[k] + len[k], cap - len[k], "}");
      else
        len[k] += (size_t)snprintf(a[k] + len[k], cap - len[k], "%s%lld", i ? "," : "{", v[k]);
    }
  }
  if (n == 0)
    for (int k = 0; k < 5; k++)
      snprintf(a[k], cap, "{}");
  return 0;
}

static void free_arrays(char *a[5]) {
  for (int k = 0; k < 5; k++)
    free(a[k]);
}

typedef struct renew_ctx {
  const char *owner;
  const swath_claim *c;
  int n, lease_s, release;
  int *lost;
} renew_ctx;

static int renew_once(swath_pg *pg, void *ud) {
  renew_ctx *c = ud;
  char *a[5] = {0}, lease[24];
  int r = claim_arrays(c->c, c->n, a);
  swath__pg_i64(lease, c->lease_s);
  const char *p[] = {c->owner, lease, a[0], a[1], a[2], a[3], a[4]};
  PGresult *res = NULL;
  if (!r && !c->release)
    r = swath__pg_exec(
        pg, "renew leases",
        "UPDATE swath_tasks t SET lease_until = now() + make_interval(secs => $2::int)"
        " FROM swath_jobs j, unnest($3::bigint[], $4::int[], $5::bigint[], $6::bigint[],"
        "  $7::int[]) AS c(job, z, x, y, attempt)"
        " WHERE t.job = c.job AND t.z = c.z AND t.x = c.x AND t.y = c.y AND t.attempt = c.attempt"
        " AND t.owner = $1 AND t.state = 2 AND j.id = t.job AND j.state IN (1, 2)"
        " RETURNING t.job, t.z, t.x, t.y, t.attempt",
        7, p, &res);
  /* Still held: READY again, the try not counted; the attempt stays
   * raised, so the released claim can never complete. */
  if (!r && c->release)
    r = swath__pg_exec(pg, "release tasks",
                       "UPDATE swath_tasks t SET state = 1, tries = t.tries - 1, lease_until = NULL"
                       " FROM unnest($3::bigint[], $4::int[], $5::bigint[], $6::bigint[],"
                       "  $7::int[]) AS c(job, z, x, y, attempt)"
                       " WHERE $2::int >= 0 AND t.job = c.job AND t.z = c.z AND t.x = c.x"
                       " AND t.y = c.y AND t.attempt = c.attempt AND t.owner = $1 AND t.state = 2",
                       7, p, NULL);
  free_arrays(a);
  if (r || c->release) return r;
  for (int i = 0; i < c->n; i++) {
    c->lost[i] = 1;
    for (int k = 0; k < PQntuples(res); k++)
      if (swath__pg_get_i64(res, k, 0) == c->c[i].job &&
          swath__pg_get_i64(res, k, 1) == c->c[i].mt.z &&
          swath__pg_get_i64(res, k, 2) == c->c[i].mt.x &&
          swath__pg_get_i64(res, k, 3) == c->c[i].mt.y &&
          swath__pg_get_i64(res, k, 4) == c->c[i].attempt)
        c->lost[i] = 0;
  }
  PQclear(res);
  return 0;
}

int swath_queue_renew(swath_queue *q, const char *owner, const swath_claim *c, int n, int lease_s,
                      int *lost) {
  if (n <= 0) return 0;
  if (!owner || lease_s < 1)
    return swath_error_set(SWATH_EINVAL, "queue: renew: needs an owner and a lease >= 1 s");
  renew_ctx x = {owner, c, n, lease_s, 0, lost};
  return swath__queue_call(q, renew_once, &x);
}

int swath_queue_release(swath_queue *q, const char *owner, const swath_claim *c, int n) {
  if (n <= 0) return 0;
  if (!owner) return swath_error_set(SWATH_EINVAL, "queue: release: needs an owner");
  renew_ctx x = {owner, c, n, 0, 1, NULL};
  return swath__queue_call(q, renew_once, &x);
}

/* ---- the fence ---- */

enum { HELD = 0, APPLIED = 1, FENCED = 2 };

typedef struct fence {
  char id[24], parent[24];
  int max_attempts, tries;
  int verdict;
} fence;

/* Lock claim c's row and say whether the caller still holds it (HELD),
 * already ended it with `ended` (APPLIED), or not (FENCED, the message
 * set). Also reads the parent task (complete) and the tries (fail). */
static int lock_task(swath_pg *pg, const char *owner, const swath_claim *c, const char *ended,
                     int need_job, fence *f) {
  char j[24], z[24], x[24], y[24];
  swath__pg_i64(j, c->job);
  swath__pg_i64(z, c->mt.z);
  swath__pg_i64(x, (long long)c->mt.x);
  swath__pg_i64(y, (long long)c->mt.y);
  const char *p[] = {j, z, x, y};
  PGresult *res;
  int r = swath__pg_exec(
      pg, "lock the task",
      "SELECT t.id, t.state, t.owner, t.attempt, j.state, t.tries, j.max_attempts,"
      " coalesce((SELECT o.id FROM swath_tasks o WHERE j.overviews AND t.kind <> 2"
      "   AND o.job = t.job AND o.kind = 1 AND o.z = t.z - 1 AND o.x = t.x / 2 AND o.y = t.y / 2),"
      "  (SELECT o.id FROM swath_tasks o WHERE t.kind <> 2 AND o.job = t.job AND o.z = -1"
      "   AND o.x = 0 AND o.y = 0))"
      " FROM swath_tasks t JOIN swath_jobs j ON j.id = t.job"
      " WHERE t.job = $1 AND t.z = $2 AND t.x = $3 AND t.y = $4 FOR UPDATE OF t",
      4, p, &res);
  if (r) return r;
  if (PQntuples(res) == 0) {
    PQclear(res);
    f->verdict = FENCED;
    swath_error_set(SWATH_EEMPTY, "queue: job %lld has no task %d/%lld/%lld", (long long)c->job,
                    c->mt.z, (long long)c->mt.x, (long long)c->mt.y);
    return 0;
  }
  snprintf(f->id, sizeof f->id, "%s", PQgetvalue(res, 0, 0));
  snprintf(f->parent, sizeof f->parent, "%s", PQgetvalue(res, 0, 7));
  int state = (int)swath__pg_get_i64(res, 0, 1), attempt = (int)swath__pg_get_i64(res, 0, 3);
  int job_state = (int)swath__pg_get_i64(res, 0, 4);
  const char *holder = PQgetisnull(res, 0, 2) ? "" : PQgetvalue(res, 0, 2);
  f->tries = (int)swath__pg_get_i64(res, 0, 5);
  f->max_attempts = (int)swath__pg_get_i64(res, 0, 6);
  int mine = attempt == c->attempt && !strcmp(holder, owner);
  if (mine && strchr(ended, '0' + state))
    f->verdict = APPLIED;
  else if (mine && state == SWATH_QTASK_RUNNING && (!need_job || job_state != SWATH_QJOB_CANCELLED))
    f->verdict = HELD;
  else {
    f->verdict = FENCED;
    swath_error_set(SWATH_EEMPTY,
                    "queue: job %lld task %d/%lld/%lld attempt %d of %s refused: %s%s, attempt %d "
                    "of %s",
                    (long long)c->job, c->mt.z, (long long)c->mt.x, (long long)c->mt.y, c->attempt,
                    owner,
                    job_state == SWATH_QJOB_CANCELLED ? "the job is cancelled; the task is " : "",
                    swath_qtask_state_name(state), attempt, *holder ? holder : "nobody");
  }
  PQclear(res);
  return 0;
}

/* A refused completion, counted on the job (after the rollback). */
static int count_fenced(swath_pg *pg, long long job) {
  char msg[1024], j[24];
  snprintf(msg, sizeof msg, "%s", swath_error_message());
  swath__pg_i64(j, job);
  const char *p[] = {j};
  int r = swath__pg_exec(pg, "rollback", "ROLLBACK", 0, NULL, NULL);
  if (!r)
    r = swath__pg_exec(pg, "count a refused completion",
                       "UPDATE swath_jobs SET fenced = fenced + 1 WHERE id = $1", 1, p, NULL);
  return r ? r : swath_error_set(SWATH_EEMPTY, "%s", msg);
}

typedef struct complete_ctx {
  const char *owner;
  const swath_claim *c;
  int state;
  long long tiles;
  void *marks;
  int (*commit)(void *ud);
  void *ud;
  int nmarks;
  int commit_r;     /* commit's own error, passed on as it is */
  long long failed; /* the job's FAILED tasks, after */
} complete_ctx;

static int complete_once(swath_pg *pg, void *ud) {
  complete_ctx *c = ud;
  fence f = {0};
  c->nmarks = 0;
  c->commit_r = 0;
  c->failed = 0;
  int r = swath__pg_begin(pg);
  if (!r) r = lock_task(pg, c->owner, c->c, "34", 1, &f);
  if (r) return r;
  if (f.verdict == APPLIED) {
    c->nmarks = INT_MAX; /* written by the try that committed */
    return 0;
  }
  if (f.verdict == FENCED) return count_fenced(pg, c->c->job);
  /* Not run again for a commit error, even one it calls transient. */
  if (c->commit && (r = c->commit(c->ud)))
    return (c->commit_r = r) == SWATH_ETRANSIENT ? SWATH_EIO : r;
  if (c->marks && (r = swath__store_pg_write(c->marks, pg, c->c->job, &c->nmarks))) return r;
  char j[24], st[24], tw[24];
  swath__pg_i64(j, c->c->job);
  swath__pg_i64(st, c->state);
  swath__pg_i64(tw, c->tiles);
  const char *p[] = {j, st, tw, f.id, *f.parent ? f.parent : NULL};
  PGresult *res;
  r = swath__pg_exec(
      pg, "finish the task",
      "WITH t AS (UPDATE swath_tasks SET state = $2::smallint, finished = now(),"
      "  tiles_written = $3::bigint, completions = completions + 1, lease_until = NULL"
      "  WHERE id = $4::bigint RETURNING id),"
      " p AS (UPDATE swath_tasks SET waiting = waiting - 1,"
      "  state = CASE WHEN waiting = 1 AND state = 0 THEN 1 ELSE state END"
      "  WHERE id = $5::bigint RETURNING id)"
      " UPDATE swath_jobs SET tasks_done = tasks_done + ($2::int = 3)::int,"
      "  tasks_empty = tasks_empty + ($2::int = 4)::int,"
      "  tiles_written = tiles_written + $3::bigint, updated = now()"
      " WHERE id = $1 AND (SELECT count(*) FROM t) = 1 RETURNING tasks_failed",
      5, p, &res);
  if (r) return r;
  if (PQntuples(res) != 1) {
    PQclear(res);
    return swath_error_set(SWATH_EINTERNAL, "queue: job %lld: the locked task %s vanished",
                           (long long)c->c->job, f.id);
  }
  c->failed = swath__pg_get_i64(res, 0, 0);
  PQclear(res);
  return swath__pg_commit(pg);
}

int swath_queue_complete(swath_queue *q, const char *owner, const swath_claim *c, int state,
                         int64_t tiles_written, void *marks, int (*commit)(void *ud), void *ud) {
  if (state != SWATH_QTASK_DONE && state != SWATH_QTASK_EMPTY)
    return swath_error_set(SWATH_EINVAL, "queue: complete: state %d is not DONE or EMPTY", state);
  if (!owner) return swath_error_set(SWATH_EINVAL, "queue: complete: needs an owner");
  complete_ctx x = {owner, c, state, tiles_written, marks, commit, ud, 0, 0, 0};
  int r = swath__queue_call(q, complete_once, &x);
  if (r && x.commit_r) r = x.commit_r;
  if (!r && marks) swath__store_pg_written(marks, x.nmarks);
  /* A task finished while another had failed: maybe nothing can run now. */
  long long job = c->job;
  if (!r && x.failed > 0) r = swath__queue_call(q, settle_job, &job);
  return r;
}

/* ---- fail ---- */

typedef struct fail_ctx {
  const char *owner;
  const swath_claim *c;
  char *msg;
  int failed; /* the task ended FAILED */
} fail_ctx;

static int fail_once(swath_pg *pg, void *ud) {
  fail_ctx *c = ud;
  fence f = {0};
  c->failed = 0;
  int r = swath__pg_begin(pg);
  if (!r) r = lock_task(pg, c->owner, c->c, "15", 0, &f);
  if (r) return r;
  if (f.verdict == APPLIED) return 0;
  if (f.verdict == FENCED) return SWATH_EEMPTY; /* not a completion: not counted */
  char j[24];
  swath__pg_i64(j, c->c->job);
  const char *p[] = {f.id, c->msg, j};
  c->failed = f.tries >= f.max_attempts;
  if (c->failed)
    r = swath__pg_exec(
        pg, "fail the task",
        "WITH t AS (UPDATE swath_tasks SET state = 5, message = $2, finished = now(),"
        "  failed_at = now(), lease_until = NULL WHERE id = $1::bigint RETURNING id)"
        " UPDATE swath_jobs SET tasks_failed = tasks_failed + 1, last_error = $2,"
        "  updated = now() WHERE id = $3::bigint AND (SELECT count(*) FROM t) = 1",
        3, p, NULL);
  else
    /* Backoff: 2 s doubled per try, at most 5 min, times 0.5-1.5 (jitter). */
    r = swath__pg_exec(pg, "put the task back",
                       "WITH t AS (UPDATE swath_tasks SET state = 1, message = $2,"
                       "  lease_until = NULL, failed_at = now(), not_before = now()"
                       "  + make_interval(secs => least(300, 2 * power(2, least(tries - 1, 20)))"
                       "  * (0.5 + random())) WHERE id = $1::bigint RETURNING id)"
                       " UPDATE swath_jobs SET last_error = $2, updated = now()"
                       " WHERE id = $3::bigint AND (SELECT count(*) FROM t) = 1",
                       3, p, NULL);
  return r ? r : swath__pg_commit(pg);
}

int swath_queue_fail(swath_queue *q, const char *owner, const swath_claim *c, const char *message) {
  if (!owner) return swath_error_set(SWATH_EINVAL, "queue: fail: needs an owner");
  fail_ctx x = {owner, c, swath__pg_utf8(message ? message : "failed (no message)"), 0};
  if (!x.msg) return swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  int r = swath__queue_call(q, fail_once, &x);
  free(x.msg);
  long long job = c->job;
  if (!r && x.failed) r = swath__queue_call(q, settle_job, &job);
  return r;
}
