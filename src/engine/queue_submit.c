/* queue_submit.c: swath_queue_submit, streaming a job's tasks into the
 * queue with a memory that does not depend on their number.
 *
 * The job row is committed first, in PLANNING (nothing is claimed from a
 * PLANNING job); the tasks follow in batches of SUBMIT_BATCH rows, each
 * one COPY in its own transaction so a dropped connection costs that batch
 * again, not the whole stream (the iterator cannot be rewound). A batch
 * run again after a COMMIT whose answer was lost is found in the table
 * (its first and last rows) and skipped. Then one transaction on the
 * server sets the children counters of the overview tasks with one
 * set-based UPDATE, adds the FINISH task waiting on every task without a
 * parent task, and makes the job QUEUED; it does nothing if the job is
 * QUEUED already (again, a lost COMMIT answer). The job row carries a
 * random token, so creating it is run again safely too. A failed stream
 * deletes the job; a submitter killed midway leaves a PLANNING job that
 * nothing claims. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "engine/queue_internal.h"

#define SUBMIT_BATCH 4096

typedef struct submit_ctx {
  const swath_qjob_spec *spec;
  char token[64];
  long long job;
  char *buf; /* COPY text of the batch */
  size_t len, cap;
  int rows;
  swath_tile first, last;
  int tried; /* the batch's call ran once already */
  long long ntasks;
} submit_ctx;

static void make_token(char *out, size_t n) {
  unsigned char b[16] = {0};
  FILE *f = fopen("/dev/urandom", "rb");
  size_t got = f ? fread(b, 1, sizeof b, f) : 0;
  if (f) fclose(f);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char hex[33];
  for (int i = 0; i < 16; i++)
    snprintf(hex + 2 * i, 3, "%02x", b[i]);
  snprintf(out, n, "%ld.%ld.%ld.%s", (long)getpid(), (long)ts.tv_sec, ts.tv_nsec,
           got == sizeof b ? hex : "");
}

static int check_spec(const swath_qjob_spec *s) {
  if (!s->key || !*s->key || !s->yaml || !s->output)
    return swath_error_set(SWATH_EINVAL, "queue: submit: the job has no key, text or output");
  if (s->min_zoom < 0 || s->min_zoom > s->max_zoom || s->max_zoom >= SWATH_GRID_MAX_ZOOMS ||
      s->cell_zoom < s->min_zoom || s->cell_zoom > s->max_zoom)
    return swath_error_set(SWATH_EINVAL,
                           "queue: submit: zooms %d-%d with cells at zoom %d: expected "
                           "0 <= min <= cell <= max < %d",
                           s->min_zoom, s->max_zoom, s->cell_zoom, SWATH_GRID_MAX_ZOOMS);
  if (s->max_attempts < 1)
    return swath_error_set(SWATH_EINVAL, "queue: submit: max_attempts %d: expected 1 or more",
                           s->max_attempts);
  return 0;
}

/* The job's text goes in as it is: workers run it, so a byte the server
 * cannot store is refused (class 22: SWATH_EINVAL), never replaced. */
static int create_job(swath_pg *pg, void *ud) {
  submit_ctx *c = ud;
  const swath_qjob_spec *s = c->spec;
  char z0[24], z1[24], zc[24], att[24];
  swath__pg_i64(z0, s->min_zoom);
  swath__pg_i64(z1, s->max_zoom);
  swath__pg_i64(zc, s->cell_zoom);
  swath__pg_i64(att, s->max_attempts);
  const char *p[] = {c->token, s->key, s->yaml, s->path ? s->path : "",   s->output,
                     z0,       z1,     zc,      s->overviews ? "t" : "f", att};
  PGresult *res = NULL;
  int r = swath__pg_exec(pg, "create the job",
                         "INSERT INTO swath_jobs(token, key, yaml, path, output, state, min_zoom,"
                         " max_zoom, cell_zoom, overviews, max_attempts)"
                         " VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10)"
                         " ON CONFLICT (token) DO UPDATE SET token = excluded.token RETURNING id",
                         10, p, &res);
  if (!r) c->job = swath__pg_get_i64(res, 0, 0);
  PQclear(res);
  return r;
}

/* 1 if the task is in the job already. */
static int has_task(swath_pg *pg, long long job, swath_tile t, int *yes) {
  char j[24], z[24], x[24], y[24];
  swath__pg_i64(j, job);
  swath__pg_i64(z, t.z);
  swath__pg_i64(x, (long long)t.x);
  swath__pg_i64(y, (long long)t.y);
  const char *p[] = {j, z, x, y};
  PGresult *res;
  int r = swath__pg_exec(
      pg, "look for a task",
      "SELECT 1 FROM swath_tasks WHERE job = $1 AND z = $2 AND x = $3 AND y = $4", 4, p, &res);
  if (r) return r;
  *yes = PQntuples(res) > 0;
  PQclear(res);
  return 0;
}

static int copy_batch(swath_pg *pg, void *ud) {
  submit_ctx *c = ud;
  int r, a = 0, b = 0;
  if (c->tried) {
    if ((r = has_task(pg, c->job, c->first, &a)) || (r = has_task(pg, c->job, c->last, &b)))
      return r;
    if (a && b) return 0; /* it committed, only the answer was lost */
  }
  c->tried = 1;
  if ((r = swath__pg_begin(pg))) return r;
  r = swath__pg_copy(pg, "insert tasks", "COPY swath_tasks(job, kind, z, x, y, tiles) FROM STDIN",
                     c->buf, c->len);
  if (r && !strcmp(swath__pg_sqlstate(pg), "23505"))
    return swath_error_set(SWATH_EINTERNAL, "queue: submit of job %lld: a task was given twice: %s",
                           c->job, swath_error_message());
  return r ? r : swath__pg_commit(pg);
}

static int add_row(submit_ctx *c, const swath_qtask *t) {
  const swath_qjob_spec *s = c->spec;
  if ((t->kind != SWATH_QTASK_CELL && t->kind != SWATH_QTASK_TILE) || t->mt.z < s->min_zoom ||
      t->mt.z > s->max_zoom || t->mt.x < 0 || t->mt.y < 0 || t->tiles < 0)
    return swath_error_set(SWATH_EINTERNAL,
                           "queue: submit: task kind %d at %d/%lld/%lld (%lld tiles) is not a cell "
                           "or tile of zooms %d-%d",
                           t->kind, t->mt.z, (long long)t->mt.x, (long long)t->mt.y,
                           (long long)t->tiles, s->min_zoom, s->max_zoom);
  if (c->len + 160 > c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 64 * 1024;
    char *b = realloc(c->buf, cap);
    if (!b) return swath_error_set(SWATH_ENOMEM, "queue: out of memory");
    c->buf = b;
    c->cap = cap;
  }
  int k = snprintf(c->buf + c->len, c->cap - c->len, "%lld\t%d\t%d\t%lld\t%lld\t%lld\n", c->job,
                   t->kind, t->mt.z, (long long)t->mt.x, (long long)t->mt.y, (long long)t->tiles);
  c->len += (size_t)k;
  if (c->rows++ == 0) c->first = t->mt;
  c->last = t->mt;
  return 0;
}

static int flush_batch(swath_queue *q, submit_ctx *c) {
  if (c->rows == 0) return 0;
  c->tried = 0;
  int r = swath__queue_call(q, copy_batch, c);
  c->len = 0;
  c->rows = 0;
  return r;
}

static int finalize(swath_pg *pg, void *ud) {
  submit_ctx *c = ud;
  char j[24];
  swath__pg_i64(j, c->job);
  const char *p[] = {j};
  PGresult *res;
  int r = swath__pg_begin(pg);
  if (!r)
    r = swath__pg_exec(pg, "lock the job",
                       "SELECT state, tasks, overviews FROM swath_jobs WHERE id = $1 FOR UPDATE", 1,
                       p, &res);
  if (r) return r;
  int planning = PQntuples(res) && swath__pg_get_i64(res, 0, 0) == SWATH_QJOB_PLANNING;
  int overviews = PQntuples(res) && !strcmp(PQgetvalue(res, 0, 2), "t");
  c->ntasks = PQntuples(res) ? swath__pg_get_i64(res, 0, 1) : 0;
  PQclear(res);
  if (!planning) return 0; /* finalized by the try whose answer was lost */
  if (overviews)
    r = swath__pg_exec(pg, "count the children",
                       "UPDATE swath_tasks p SET waiting = c.n, state = 0"
                       " FROM (SELECT z - 1 AS z, x / 2 AS x, y / 2 AS y, count(*) AS n"
                       "  FROM swath_tasks WHERE job = $1 GROUP BY 1, 2, 3) c"
                       " WHERE p.job = $1 AND p.kind = 1 AND p.z = c.z AND p.x = c.x AND p.y = c.y",
                       1, p, NULL);
  /* Tasks without a parent task: all of them, less those a TILE counts. */
  if (!r)
    r = swath__pg_exec(pg, "add the finish task",
                       "INSERT INTO swath_tasks(job, kind, z, x, y, state, waiting)"
                       " SELECT $1, 2, -1, 0, 0, CASE WHEN n - w > 0 THEN 0 ELSE 1 END, n - w"
                       " FROM (SELECT count(*) AS n, coalesce(sum(waiting) FILTER (WHERE kind = 1),"
                       "  0) AS w FROM swath_tasks WHERE job = $1) s",
                       1, p, NULL);
  if (!r)
    r = swath__pg_exec(pg, "queue the job",
                       "UPDATE swath_jobs SET state = 1, updated = now(),"
                       " tasks = (SELECT count(*) FROM swath_tasks WHERE job = $1),"
                       " tiles_total = (SELECT coalesce(sum(tiles), 0) FROM swath_tasks"
                       "  WHERE job = $1) WHERE id = $1 RETURNING tasks",
                       1, p, &res);
  if (r) return r;
  c->ntasks = swath__pg_get_i64(res, 0, 0);
  PQclear(res);
  return swath__pg_commit(pg);
}

static int delete_job(swath_pg *pg, void *ud) {
  char j[24];
  swath__pg_i64(j, *(long long *)ud);
  const char *p[] = {j};
  return swath__pg_exec(pg, "delete the job", "DELETE FROM swath_jobs WHERE id = $1", 1, p, NULL);
}

int swath_queue_submit(swath_queue *q, const swath_qjob_spec *spec,
                       int (*next)(void *ud, swath_qtask *t), void *ud, int64_t *job_id,
                       int64_t *ntasks) {
  *job_id = 0;
  *ntasks = 0;
  int r = check_spec(spec);
  if (r) return r;
  submit_ctx c = {.spec = spec};
  make_token(c.token, sizeof c.token);
  if ((r = swath__queue_call(q, create_job, &c))) return r;
  swath_qtask t;
  int more;
  while (!r && (more = next(ud, &t)) != 0) {
    if (more < 0) {
      r = more;
      break;
    }
    r = add_row(&c, &t);
    if (!r && c.rows == SUBMIT_BATCH) r = flush_batch(q, &c);
  }
  if (!r) r = flush_batch(q, &c);
  if (!r) r = swath__queue_call(q, finalize, &c);
  free(c.buf);
  if (r) {
    /* The first failure's message is the one to report. */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", swath_error_message());
    swath__queue_call(q, delete_job, &c.job);
    return swath_error_set(r, "%s", msg);
  }
  *job_id = c.job;
  *ntasks = c.ntasks;
  return 0;
}
