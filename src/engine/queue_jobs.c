/* queue_jobs.c: a job as a whole: its figures for `swath status`, cancel,
 * retry, the list of failures, workers' heartbeats, and the end states.
 *
 * The counters of finished tasks live in the job row (kept by complete,
 * fail and retry in their transactions); ready and running tasks are
 * counted on the claim index, which holds only those. The rate is the
 * tiles of the tasks finished in the last minute (or since the job
 * started, if later) over that time, from the server's clock; the ETA is
 * the tiles left at that rate. A worker is alive for a job when its last
 * heartbeat named the job and is younger than three of the job's leases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/queue_internal.h"

const char *swath_qjob_state_name(int state) {
  static const char *const names[] = {"planning", "queued", "running",
                                      "done",     "failed", "cancelled"};
  return state >= 0 && state <= SWATH_QJOB_CANCELLED ? names[state] : "unknown";
}

const char *swath_qtask_state_name(int state) {
  static const char *const names[] = {"waiting", "ready", "running", "done", "empty", "failed"};
  return state >= 0 && state <= SWATH_QTASK_FAILED ? names[state] : "unknown";
}

int swath__queue_settle(swath_pg *pg, long long job) {
  char j[24];
  swath__pg_i64(j, job);
  const char *p[] = {j};
  return swath__pg_exec(pg, "settle the job",
                        "UPDATE swath_jobs j SET state = 4, finished = now(), updated = now()"
                        " WHERE j.state IN (1, 2) AND ($1::bigint = 0 OR j.id = $1)"
                        " AND j.tasks_failed > 0 AND NOT EXISTS (SELECT 1 FROM swath_tasks t"
                        "  WHERE t.job = j.id AND t.state IN (1, 2))",
                        1, p, NULL);
}

void swath_qjob_clear(swath_qjob *j) {
  if (!j) return;
  free(j->key);
  free(j->yaml);
  free(j->path);
  free(j->output);
  free(j->last_error);
  memset(j, 0, sizeof *j);
}

/* ---- reading jobs ---- */

#define JOB_COLUMNS                                                                                \
  "SELECT j.id, j.key, j.yaml, j.path, j.output, j.state, j.min_zoom, j.max_zoom, j.cell_zoom,"    \
  " j.overviews::int, j.max_attempts, extract(epoch FROM j.created),"                              \
  " coalesce(extract(epoch FROM j.started), 0), coalesce(extract(epoch FROM j.finished), 0),"      \
  " extract(epoch FROM j.updated), j.tasks, j.tasks_done, j.tasks_empty, j.tasks_failed,"          \
  " (SELECT count(*) FROM swath_tasks t WHERE t.job = j.id AND t.state = 2),"                      \
  " (SELECT count(*) FROM swath_tasks t WHERE t.job = j.id AND t.state = 1),"                      \
  " j.tiles_total, j.tiles_written, j.expired_leases, j.fenced,"                                   \
  " (SELECT count(*) FROM swath_workers w WHERE w.job = j.id"                                      \
  "  AND w.seen > now() - make_interval(secs => 3 * greatest(j.lease_s, 1))),"                     \
  " (SELECT coalesce(sum(t.tiles_written), 0) FROM swath_tasks t WHERE t.job = j.id"               \
  "  AND t.finished > now() - interval '60 s'),"                                                   \
  " least(60, greatest(1, extract(epoch FROM now() - j.started))), j.last_error"                   \
  " FROM swath_jobs j "

static char *dup_value(const PGresult *res, int row, int col) {
  return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

static int read_job(const PGresult *res, int i, swath_qjob *j) {
  memset(j, 0, sizeof *j);
  long long v[32];
  for (int c = 0; c < 28; c++)
    v[c] = swath__pg_get_i64(res, i, c);
  j->id = v[0];
  j->key = dup_value(res, i, 1);
  j->yaml = dup_value(res, i, 2);
  j->path = dup_value(res, i, 3);
  j->output = dup_value(res, i, 4);
  j->last_error = dup_value(res, i, 28);
  j->state = (int)v[5];
  j->min_zoom = (int)v[6];
  j->max_zoom = (int)v[7];
  j->cell_zoom = (int)v[8];
  j->overviews = (int)v[9];
  j->max_attempts = (int)v[10];
  j->created = swath__pg_get_f64(res, i, 11);
  j->started = swath__pg_get_f64(res, i, 12);
  j->finished = swath__pg_get_f64(res, i, 13);
  j->updated = swath__pg_get_f64(res, i, 14);
  j->tasks = v[15];
  j->tasks_done = v[16];
  j->tasks_empty = v[17];
  j->tasks_failed = v[18];
  j->tasks_running = v[19];
  j->tasks_ready = v[20];
  j->tiles_total = v[21];
  j->tiles_written = v[22];
  j->expired_leases = v[23];
  j->fenced = v[24];
  j->workers_alive = (int)v[25];
  double recent = swath__pg_get_f64(res, i, 26), window = swath__pg_get_f64(res, i, 27);
  j->rate = j->started > 0 && window > 0 ? recent / window : 0;
  long long left = j->tiles_total > j->tiles_written ? j->tiles_total - j->tiles_written : 0;
  j->eta = j->state == SWATH_QJOB_DONE ? 0 : j->rate > 0 ? (double)left / j->rate : -1;
  if (!j->key || !j->yaml || !j->path || !j->output) {
    swath_qjob_clear(j);
    return swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  }
  return 0;
}

typedef struct jobs_ctx {
  long long id; /* one job, or 0: the newest `limit` */
  int limit;
  long long before; /* a page: ids below this (0: none) */
  unsigned states;  /* a page: states wanted (bit 1 << state; 0: any) */
  swath_qjob *out;
  int n;
} jobs_ctx;

static int jobs_once(swath_pg *pg, void *ud) {
  jobs_ctx *c = ud;
  char a[24], b[24], s[24];
  swath__pg_i64(a, c->id ? c->id : c->limit);
  swath__pg_i64(b, c->before);
  swath__pg_i64(s, (long long)c->states);
  const char *p[] = {a, b, s};
  PGresult *res;
  int r =
      swath__pg_exec(pg, "read jobs",
                     c->id ? JOB_COLUMNS "WHERE j.id = $1"
                           : JOB_COLUMNS "WHERE ($2::bigint = 0 OR j.id < $2::bigint)"
                                         " AND ($3::bigint = 0 OR ($3::bigint >> j.state) & 1 = 1)"
                                         " ORDER BY j.id DESC LIMIT $1",
                     c->id ? 1 : 3, p, &res);
  if (r) return r;
  int k = PQntuples(res);
  c->n = 0;
  c->out = k ? calloc((size_t)k, sizeof *c->out) : NULL;
  if (k && !c->out) r = swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  for (int i = 0; !r && i < k; i++)
    if (!(r = read_job(res, i, &c->out[i]))) c->n++;
  PQclear(res);
  if (r) {
    for (int i = 0; i < c->n; i++)
      swath_qjob_clear(&c->out[i]);
    free(c->out);
    c->out = NULL;
    c->n = 0;
  }
  return r;
}

int swath_queue_jobs_page(swath_queue *q, int64_t before, unsigned states, int limit,
                          swath_qjob **out, int *n) {
  *out = NULL;
  *n = 0;
  if (limit < 1) return 0;
  jobs_ctx c = {0, limit, before, states, NULL, 0};
  int r = swath__queue_call(q, jobs_once, &c);
  if (r) return r;
  *out = c.out;
  *n = c.n;
  return 0;
}

int swath_queue_job(swath_queue *q, int64_t id, swath_qjob *out) {
  memset(out, 0, sizeof *out);
  jobs_ctx c = {id, 1, 0, 0, NULL, 0};
  int r = id > 0 ? swath__queue_call(q, jobs_once, &c) : 0;
  if (r) return r;
  if (c.n == 0) return swath_error_set(SWATH_ENOTFOUND, "queue: no job %lld", (long long)id);
  *out = c.out[0];
  free(c.out);
  return 0;
}

int swath_queue_jobs(swath_queue *q, int limit, swath_qjob **out, int *n) {
  *out = NULL;
  *n = 0;
  if (limit < 1) return 0;
  jobs_ctx c = {0, limit, 0, 0, NULL, 0};
  int r = swath__queue_call(q, jobs_once, &c);
  if (r) return r;
  *out = c.out;
  *n = c.n;
  return 0;
}

/* ---- changing a job ---- */

/* After an UPDATE of job `id` that changed no row: why not. */
static int why_not(swath_pg *pg, long long id, const char *what) {
  char j[24];
  swath__pg_i64(j, id);
  const char *p[] = {j};
  PGresult *res;
  int r = swath__pg_exec(pg, "read the job",
                         "SELECT state, tasks, tasks_done + tasks_empty FROM swath_jobs"
                         " WHERE id = $1",
                         1, p, &res);
  if (r) return r;
  if (PQntuples(res) == 0) {
    PQclear(res);
    return swath_error_set(SWATH_ENOTFOUND, "queue: no job %lld", id);
  }
  int state = (int)swath__pg_get_i64(res, 0, 0);
  long long tasks = swath__pg_get_i64(res, 0, 1), ended = swath__pg_get_i64(res, 0, 2);
  PQclear(res);
  if (state == SWATH_QJOB_QUEUED || state == SWATH_QJOB_RUNNING)
    return swath_error_set(SWATH_EINVAL,
                           "queue: job %lld: %s: %lld of its %lld tasks are not "
                           "finished",
                           id, what, tasks - ended, tasks);
  return swath_error_set(SWATH_EINVAL, "queue: job %lld is %s: cannot %s it", id,
                         swath_qjob_state_name(state), what);
}

typedef struct job_ctx {
  long long id;
  long long n;
} job_ctx;

/* One UPDATE of job `id` that returns its id: 0 if it changed the row,
 * else why not (`what` names the change). */
static int update_job(swath_pg *pg, long long id, const char *what, const char *sql) {
  char j[24];
  swath__pg_i64(j, id);
  const char *p[] = {j};
  PGresult *res;
  int r = swath__pg_exec(pg, what, sql, 1, p, &res);
  if (r) return r;
  int k = PQntuples(res);
  PQclear(res);
  return k ? 0 : why_not(pg, id, what);
}

static int cancel_once(swath_pg *pg, void *ud) {
  job_ctx *c = ud;
  return update_job(pg, c->id, "cancel",
                    "UPDATE swath_jobs SET state = 5,"
                    " finished = CASE WHEN state = 5 THEN finished ELSE now() END,"
                    " updated = now() WHERE id = $1 AND state <> 3 RETURNING id");
}

int swath_queue_cancel(swath_queue *q, int64_t id) {
  job_ctx c = {id, 0};
  return swath__queue_call(q, cancel_once, &c);
}

static int retry_once(swath_pg *pg, void *ud) {
  job_ctx *c = ud;
  char j[24];
  swath__pg_i64(j, c->id);
  const char *p[] = {j};
  PGresult *res;
  int r = swath__pg_begin(pg);
  if (!r)
    r = swath__pg_exec(pg, "re-queue failed tasks",
                       "UPDATE swath_tasks SET state = 1, tries = 0, lease_until = NULL,"
                       " not_before = '-infinity', finished = NULL WHERE job = $1 AND state = 5",
                       1, p, &res);
  if (r) return r;
  c->n = strtoll(PQcmdTuples(res), NULL, 10);
  PQclear(res);
  char n[24];
  swath__pg_i64(n, c->n);
  const char *p2[] = {j, n};
  r = swath__pg_exec(pg, "resume the job",
                     "UPDATE swath_jobs SET state = CASE WHEN state = 1 THEN 1 ELSE 2 END,"
                     " tasks_failed = tasks_failed - $2::bigint, finished = NULL, updated = now()"
                     " WHERE id = $1 AND state IN (1, 2, 4, 5) RETURNING id",
                     2, p2, &res);
  if (r) return r;
  int k = PQntuples(res);
  PQclear(res);
  return k ? swath__pg_commit(pg) : why_not(pg, c->id, "retry");
}

int swath_queue_retry(swath_queue *q, int64_t id, int64_t *n) {
  job_ctx c = {id, 0};
  int r = swath__queue_call(q, retry_once, &c);
  *n = r ? 0 : c.n;
  return r;
}

static int done_once(swath_pg *pg, void *ud) {
  job_ctx *c = ud;
  return update_job(pg, c->id, "finish",
                    "UPDATE swath_jobs SET state = 3,"
                    " finished = CASE WHEN state = 3 THEN finished ELSE now() END,"
                    " updated = now() WHERE id = $1 AND state IN (1, 2, 3)"
                    " AND tasks_done + tasks_empty = tasks RETURNING id");
}

int swath_queue_job_done(swath_queue *q, int64_t id) {
  job_ctx c = {id, 0};
  return swath__queue_call(q, done_once, &c);
}

/* ---- failures, heartbeats ---- */

#define FAILED_PAGE 1000

typedef struct failed_ctx {
  long long id;
  int z;
  long long x, y; /* the last task seen, in (z, y, x) order */
  PGresult *res;
} failed_ctx;

static int failed_page(swath_pg *pg, void *ud) {
  failed_ctx *c = ud;
  char j[24], z[24], x[24], y[24], n[24];
  swath__pg_i64(j, c->id);
  swath__pg_i64(z, c->z);
  swath__pg_i64(x, c->x);
  swath__pg_i64(y, c->y);
  swath__pg_i64(n, FAILED_PAGE);
  const char *p[] = {j, z, y, x, n};
  return swath__pg_exec(pg, "list failed tasks",
                        "SELECT kind, z, x, y, coalesce(message, '') FROM swath_tasks"
                        " WHERE job = $1 AND state = 5 AND (z, y, x) > ($2::int, $3::bigint,"
                        " $4::bigint) ORDER BY z, y, x LIMIT $5",
                        5, p, &c->res);
}

int swath_queue_each_failed(swath_queue *q, int64_t id,
                            void (*fn)(void *ud, int kind, swath_tile mt, const char *msg),
                            void *ud) {
  failed_ctx c = {id, -2, -1, -1, NULL};
  /* Page by page, each page one statement: a long list holds no transaction. */
  for (;;) {
    int r = swath__queue_call(q, failed_page, &c);
    if (r) return r;
    int k = PQntuples(c.res);
    for (int i = 0; i < k; i++) {
      swath_tile t = {(int)swath__pg_get_i64(c.res, i, 1), swath__pg_get_i64(c.res, i, 2),
                      swath__pg_get_i64(c.res, i, 3)};
      fn(ud, (int)swath__pg_get_i64(c.res, i, 0), t, PQgetvalue(c.res, i, 4));
      c.z = t.z;
      c.x = (long long)t.x;
      c.y = (long long)t.y;
    }
    PQclear(c.res);
    if (k < FAILED_PAGE) return 0;
  }
}

typedef struct beat_ctx {
  const char *owner, *host;
  int pid;
  long long job;
} beat_ctx;

static int beat_once(swath_pg *pg, void *ud) {
  beat_ctx *c = ud;
  char pid[24], job[24];
  swath__pg_i64(pid, c->pid);
  swath__pg_i64(job, c->job);
  const char *p[] = {c->owner, c->host, pid, c->job ? job : NULL};
  return swath__pg_exec(pg, "heartbeat",
                        "INSERT INTO swath_workers(owner, host, pid, job) VALUES ($1, $2, $3, $4)"
                        " ON CONFLICT (owner) DO UPDATE SET host = excluded.host,"
                        " pid = excluded.pid, job = excluded.job, seen = now()",
                        4, p, NULL);
}

int swath_queue_beat(swath_queue *q, const char *owner, const char *host, int pid, int64_t job) {
  if (!owner || !*owner) return swath_error_set(SWATH_EINVAL, "queue: beat: needs an owner");
  char *o = swath__pg_utf8(owner), *h = swath__pg_utf8(host ? host : "");
  beat_ctx c = {o, h, pid, (long long)job};
  int r = o && h ? swath__queue_call(q, beat_once, &c)
                 : swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  free(o);
  free(h);
  return r;
}
