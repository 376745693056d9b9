/* store_pg.c: the engine's state store (store.h) over one queued job's
 * marks in PostgreSQL (swath_marks, swath_runs), registered as
 * "postgresql".
 *
 * Two ways in. swath_store_pg_view(q, job): a view over a worker's queue
 * connection, for one task in progress: mark() only buffers, and the
 * buffer is written by the swath_queue_complete that accepts the task, in
 * its transaction, so a task's marks are durable exactly when its
 * completion is; flush() does nothing; a refused or failed task's marks
 * are dropped (swath_store_pg_discard). Through the registry, open(uri,
 * job_key): uri is a libpq conninfo, the store is the newest job queued
 * with that key (none: SWATH_ENOTFOUND, submit it first), on a connection
 * of its own, and flush() writes the buffer in a transaction of its own.
 *
 * get() looks in the buffer first (a cell's own overviews are built from
 * the marks it made), then in the table. mark() is thread-safe (the view's
 * mutex); calls that talk to the server take the queue's lock, never while
 * holding the view's, except complete(), which holds the queue's and then
 * takes the view's: one order, no deadlock. The covered flags are kept as
 * store_cover.h bits, the same as the SQLite store. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/queue_internal.h"
#include "engine/store_cover.h"

/* Rows per INSERT of marks (10 parameters each, the server allows 65535). */
#define MARK_ROWS 200

typedef struct pg_mark {
  swath_tile t;
  int state;
  char *msg;
  int has_range;
  swath_tile_range range;
  unsigned char *cover; /* NULL: all made */
  int cover_len;
} pg_mark;

typedef struct pg_view {
  swath_queue *q;
  int own; /* opened by URI: the queue is ours to close */
  long long job;
  int m;
  pthread_mutex_t lock;
  pg_mark *buf;
  int n, cap;
} pg_view;

static void free_mark(pg_mark *m) {
  free(m->msg);
  free(m->cover);
}

/* Drop the first k buffered marks. */
static void drop_marks(pg_view *v, int k) {
  pthread_mutex_lock(&v->lock);
  if (k > v->n) k = v->n;
  for (int i = 0; i < k; i++)
    free_mark(&v->buf[i]);
  if (k > 0 && v->n > k) memmove(v->buf, v->buf + k, (size_t)(v->n - k) * sizeof *v->buf);
  v->n -= k;
  pthread_mutex_unlock(&v->lock);
}

static int view_new(swath_queue *q, int own, long long job, int m, pg_view **out) {
  pg_view *v = calloc(1, sizeof *v);
  if (!v) return swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  v->q = q;
  v->own = own;
  v->job = job;
  v->m = m;
  pthread_mutex_init(&v->lock, NULL);
  *out = v;
  return 0;
}

static void pg_close(void *st) {
  pg_view *v = st;
  if (!v) return;
  if (v->own) {
    swath_store_pg.flush(v);
    swath_queue_close(v->q);
  }
  drop_marks(v, v->n);
  free(v->buf);
  pthread_mutex_destroy(&v->lock);
  free(v);
}

/* ---- one-statement helpers over the view's job ---- */

typedef struct sql_ctx {
  const char *what, *sql;
  int n;
  const char *const *p;
  PGresult *res;
} sql_ctx;

static int sql_once(swath_pg *pg, void *ud) {
  sql_ctx *c = ud;
  return swath__pg_exec(pg, c->what, c->sql, c->n, c->p, &c->res);
}

/* Run sql with parameters p[0..n) on the view's queue; *res (or NULL). */
static int run_sql(pg_view *v, const char *what, const char *sql, int n, const char *const *p,
                   PGresult **res) {
  sql_ctx c = {what, sql, n, p, NULL};
  int r = swath__queue_call(v->q, sql_once, &c);
  if (res)
    *res = c.res;
  else
    PQclear(c.res);
  return r;
}

int swath_store_pg_view(swath_queue *q, int64_t job, int metatiling, void **state) {
  *state = NULL;
  pg_view *v = NULL;
  int r = view_new(q, 0, (long long)job, metatiling, &v);
  if (r) return r;
  char j[24];
  swath__pg_i64(j, (long long)job);
  const char *p[] = {j};
  PGresult *res;
  if ((r = run_sql(v, "find the job", "SELECT 1 FROM swath_jobs WHERE id = $1", 1, p, &res))) {
    pg_close(v);
    return r;
  }
  int found = PQntuples(res) > 0;
  PQclear(res);
  if (!found) {
    pg_close(v);
    return swath_error_set(SWATH_ENOTFOUND, "queue: no job %lld", (long long)job);
  }
  *state = v;
  return 0;
}

void swath_store_pg_discard(void *state) {
  pg_view *v = state;
  if (v) drop_marks(v, v->n);
}

static int pg_open(const char *uri, const char *job_key, int *same, int64_t *done, void **state) {
  *state = NULL;
  *same = 0;
  *done = 0;
  swath_queue *q;
  int r = swath_queue_open(uri, &q);
  if (r) return r;
  pg_view *v = NULL;
  if ((r = view_new(q, 1, 0, 0, &v))) {
    swath_queue_close(q);
    return r;
  }
  const char *p[] = {job_key};
  PGresult *res;
  r = run_sql(v, "find the job",
              "SELECT j.id, (SELECT count(*) FROM swath_marks m WHERE m.job = j.id"
              " AND m.state IN (1, 4)) FROM swath_jobs j WHERE j.key = $1 ORDER BY j.id DESC"
              " LIMIT 1",
              1, p, &res);
  if (!r && PQntuples(res) == 0)
    r = swath_error_set(SWATH_ENOTFOUND, "queue at %s: no job with key %s: submit it first",
                        swath__pg_where(q->pg), job_key);
  if (!r) {
    v->job = swath__pg_get_i64(res, 0, 0);
    *done = swath__pg_get_i64(res, 0, 1);
    *same = 1;
  }
  PQclear(res);
  if (r) {
    pg_close(v);
    return r;
  }
  *state = v;
  return 0;
}

static int pg_reset(void *st) {
  pg_view *v = st;
  drop_marks(v, v->n);
  char j[24];
  swath__pg_i64(j, v->job);
  const char *p[] = {j};
  int r = run_sql(v, "drop the marks", "DELETE FROM swath_marks WHERE job = $1", 1, p, NULL);
  return r ? r : run_sql(v, "drop the runs", "DELETE FROM swath_runs WHERE job = $1", 1, p, NULL);
}

/* ---- marks ---- */

static int pg_get(void *st, swath_tile t, enum swath_task_state *out, unsigned char *covered,
                  int n) {
  pg_view *v = st;
  *out = SWATH_TASK_PENDING;
  if (covered) swath__cover_unpack(NULL, 0, covered, n);
  pthread_mutex_lock(&v->lock);
  for (int i = v->n - 1; i >= 0; i--) {
    pg_mark *m = &v->buf[i];
    if (m->t.z == t.z && m->t.x == t.x && m->t.y == t.y) {
      *out = (enum swath_task_state)m->state;
      if (covered) swath__cover_unpack(m->cover, m->cover_len, covered, n);
      pthread_mutex_unlock(&v->lock);
      return 0;
    }
  }
  pthread_mutex_unlock(&v->lock);
  char j[24], z[24], x[24], y[24];
  swath__pg_i64(j, v->job);
  swath__pg_i64(z, t.z);
  swath__pg_i64(x, (long long)t.x);
  swath__pg_i64(y, (long long)t.y);
  const char *p[] = {j, z, x, y};
  PGresult *res;
  int r = run_sql(v, "read a mark",
                  "SELECT state, covered FROM swath_marks WHERE job = $1 AND z = $2 AND x = $3"
                  " AND y = $4",
                  4, p, &res);
  if (r) return r;
  if (PQntuples(res)) {
    *out = (enum swath_task_state)swath__pg_get_i64(res, 0, 0);
    if (covered && !PQgetisnull(res, 0, 1)) {
      size_t len = 0;
      unsigned char *bits = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 1), &len);
      if (!bits) r = swath_error_set(SWATH_ENOMEM, "queue: out of memory");
      swath__cover_unpack(bits, (int)len, covered, n);
      PQfreemem(bits);
    }
  }
  PQclear(res);
  return r;
}

static int pg_mark_(void *st, swath_tile t, enum swath_task_state s, const char *message,
                    const swath_tile_range *tiles, const unsigned char *covered, int n) {
  pg_view *v = st;
  int all = 1, len = 0;
  for (int i = 0; covered && i < n; i++)
    all &= covered[i] == SWATH_COVERED;
  pg_mark m = {t, (int)s, NULL, tiles != NULL, tiles ? *tiles : (swath_tile_range){0}, NULL, 0};
  if (!all && !(m.cover = swath__cover_pack(covered, n, &len)))
    return swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  m.cover_len = len;
  if (message && !(m.msg = swath__pg_utf8(message))) {
    free_mark(&m);
    return swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  }
  pthread_mutex_lock(&v->lock);
  int r = 0;
  if (v->n == v->cap) {
    int cap = v->cap ? v->cap * 2 : 64;
    pg_mark *b = realloc(v->buf, (size_t)cap * sizeof *b);
    if (b) {
      v->buf = b;
      v->cap = cap;
    } else {
      r = swath_error_set(SWATH_ENOMEM, "queue: out of memory");
    }
  }
  if (!r) v->buf[v->n++] = m;
  pthread_mutex_unlock(&v->lock);
  if (r) free_mark(&m);
  return r;
}

/* A mark's tile and place in the buffer, sorted to find each tile's last. */
typedef struct mark_key {
  int z;
  long long x, y;
  int i;
} mark_key;

static int by_tile(const void *a, const void *b) {
  const mark_key *s = a, *t = b;
  if (s->z != t->z) return s->z < t->z ? -1 : 1;
  if (s->x != t->x) return s->x < t->x ? -1 : 1;
  if (s->y != t->y) return s->y < t->y ? -1 : 1;
  return s->i < t->i ? -1 : s->i > t->i;
}

/* Indexes of the last mark of each tile among the first n (one INSERT ...
 * ON CONFLICT may not change a row twice); *k of them. */
static int *last_marks(const pg_mark *buf, int n, int *k) {
  mark_key *keys = malloc((size_t)(n ? n : 1) * sizeof *keys);
  int *idx = malloc((size_t)(n ? n : 1) * sizeof *idx);
  *k = 0;
  if (!keys || !idx) {
    free(keys);
    free(idx);
    return NULL;
  }
  for (int i = 0; i < n; i++)
    keys[i] = (mark_key){buf[i].t.z, (long long)buf[i].t.x, (long long)buf[i].t.y, i};
  qsort(keys, (size_t)n, sizeof *keys, by_tile);
  for (int i = 0; i < n; i++)
    if (i + 1 == n || by_tile(&(mark_key){keys[i].z, keys[i].x, keys[i].y, 0},
                              &(mark_key){keys[i + 1].z, keys[i + 1].x, keys[i + 1].y, 0}))
      idx[(*k)++] = keys[i].i;
  free(keys);
  return idx;
}

/* The text parameters of one mark (10, from p[0]); strings in s[0..9]. */
static int mark_params(const pg_mark *m, char s[9][24], char **hex, const char **p) {
  swath__pg_i64(s[0], m->t.z);
  swath__pg_i64(s[1], (long long)m->t.x);
  swath__pg_i64(s[2], (long long)m->t.y);
  swath__pg_i64(s[3], m->state);
  long long rv[4] = {m->range.minx, m->range.miny, m->range.maxx, m->range.maxy};
  for (int k = 0; k < 4; k++)
    swath__pg_i64(s[4 + k], rv[k]);
  *hex = NULL;
  if (m->cover) {
    if (!(*hex = malloc(2 * (size_t)m->cover_len + 3)))
      return swath_error_set(SWATH_ENOMEM, "queue: out of memory");
    strcpy(*hex, "\\x");
    for (int k = 0; k < m->cover_len; k++)
      snprintf(*hex + 2 + 2 * k, 3, "%02x", m->cover[k]);
  }
  const char *v[10] = {s[0],
                       s[1],
                       s[2],
                       s[3],
                       m->msg,
                       m->has_range ? s[4] : NULL,
                       m->has_range ? s[5] : NULL,
                       m->has_range ? s[6] : NULL,
                       m->has_range ? s[7] : NULL,
                       *hex};
  memcpy(p, v, sizeof v);
  return 0;
}

/* One INSERT of the marks idx[0..k) of the buffer. */
static int insert_marks(swath_pg *pg, const char *job, const pg_mark *buf, const int *idx, int k) {
  size_t cap = 1024 + (size_t)k * 100;
  char *sql = malloc(cap), (*num)[9][24] = malloc((size_t)k * sizeof *num);
  char **hex = calloc((size_t)k, sizeof *hex);
  const char **p = malloc((1 + 10 * (size_t)k) * sizeof *p);
  int r = sql && num && hex && p ? 0 : swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  size_t len = 0;
  if (!r) {
    p[0] = job;
    len = (size_t)snprintf(sql, cap,
                           "INSERT INTO swath_marks(job, z, x, y, state, message, tx0, ty0, tx1,"
                           " ty1, covered) VALUES ");
  }
  for (int i = 0; !r && i < k; i++) {
    r = mark_params(&buf[idx[i]], num[i], &hex[i], p + 1 + 10 * i);
    int b = 2 + 10 * i;
    len += (size_t)snprintf(
        sql + len, cap - len, "%s($1, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d::bytea)",
        i ? ", " : "", b, b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9);
  }
  /* STALE keeps the range of the tiles still on disk (as store_sqlite.c). */
  if (!r)
    snprintf(sql + len, cap - len,
             " ON CONFLICT (job, z, x, y) DO UPDATE SET state = excluded.state,"
             " message = excluded.message, covered = excluded.covered, updated = now(),"
             " tx0 = CASE WHEN excluded.state = 4 THEN swath_marks.tx0 ELSE excluded.tx0 END,"
             " ty0 = CASE WHEN excluded.state = 4 THEN swath_marks.ty0 ELSE excluded.ty0 END,"
             " tx1 = CASE WHEN excluded.state = 4 THEN swath_marks.tx1 ELSE excluded.tx1 END,"
             " ty1 = CASE WHEN excluded.state = 4 THEN swath_marks.ty1 ELSE excluded.ty1 END");
  if (!r) r = swath__pg_exec(pg, "write marks", sql, 1 + 10 * k, p, NULL);
  for (int i = 0; hex && i < k; i++)
    free(hex[i]);
  free(hex);
  free(sql);
  free(num);
  free(p);
  return r;
}

int swath__store_pg_write(void *view, swath_pg *pg, long long job, int *n) {
  pg_view *v = view;
  *n = 0;
  if (v->job != job)
    return swath_error_set(SWATH_EINTERNAL,
                           "queue: the marks of job %lld given to a task of job %lld", v->job, job);
  pthread_mutex_lock(&v->lock);
  int k = 0, r = 0, *idx = last_marks(v->buf, v->n, &k);
  if (!idx) r = swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  char j[24];
  swath__pg_i64(j, job);
  for (int i = 0; !r && i < k; i += MARK_ROWS)
    r = insert_marks(pg, j, v->buf, idx + i, k - i < MARK_ROWS ? k - i : MARK_ROWS);
  if (!r) *n = v->n;
  pthread_mutex_unlock(&v->lock);
  free(idx);
  return r;
}

void swath__store_pg_written(void *view, int n) { drop_marks(view, n); }

typedef struct flush_ctx {
  pg_view *v;
  int n;
} flush_ctx;

static int flush_once(swath_pg *pg, void *ud) {
  flush_ctx *c = ud;
  int r = swath__pg_begin(pg);
  if (!r) r = swath__store_pg_write(c->v, pg, c->v->job, &c->n);
  return r ? r : swath__pg_commit(pg);
}

static int pg_flush(void *st) {
  pg_view *v = st;
  if (!v->own) return 0; /* a view's marks go with the task's completion */
  pthread_mutex_lock(&v->lock);
  int empty = v->n == 0;
  pthread_mutex_unlock(&v->lock);
  if (empty) return 0;
  flush_ctx c = {v, 0};
  int r = swath__queue_call(v->q, flush_once, &c);
  if (!r) drop_marks(v, c.n);
  return r;
}

/* ---- failures, runs, limits ---- */

static int pg_each_failed(void *st, void (*fn)(void *ud, swath_tile t, const char *msg), void *ud) {
  pg_view *v = st;
  int r = pg_flush(v);
  char j[24];
  swath__pg_i64(j, v->job);
  const char *p[] = {j};
  PGresult *res = NULL;
  if (!r)
    r = run_sql(v, "list failed marks",
                "SELECT z, x, y, coalesce(message, '') FROM swath_marks WHERE job = $1"
                " AND state = 3 ORDER BY z, y, x",
                1, p, &res);
  for (int i = 0; !r && i < PQntuples(res); i++)
    fn(ud,
       (swath_tile){(int)swath__pg_get_i64(res, i, 0), swath__pg_get_i64(res, i, 1),
                    swath__pg_get_i64(res, i, 2)},
       PQgetvalue(res, i, 3));
  PQclear(res);
  return r;
}

static int pg_add_run(void *st, const swath_store_run *run) {
  pg_view *v = st;
  char s[7][32];
  swath__pg_i64(s[0], v->job);
  swath__pg_i64(s[1], run->min_zoom);
  swath__pg_i64(s[2], run->max_zoom);
  double b[4] = {run->bounds.minx, run->bounds.miny, run->bounds.maxx, run->bounds.maxy};
  for (int k = 0; k < 4; k++)
    snprintf(s[3 + k], sizeof s[3 + k], "%.17g", b[k]);
  char *area = swath__pg_utf8(run->area ? run->area : "");
  if (!area) return swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  const char *p[] = {s[0], s[1], s[2], s[3], s[4], s[5], s[6], area};
  int r = run_sql(v, "record the run",
                  "INSERT INTO swath_runs(job, min_zoom, max_zoom, minx, miny, maxx, maxy, area)"
                  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                  8, p, NULL);
  free(area);
  return r;
}

static int pg_each_run(void *st, void (*fn)(void *ud, const swath_store_run *run), void *ud) {
  pg_view *v = st;
  char j[24];
  swath__pg_i64(j, v->job);
  const char *p[] = {j};
  PGresult *res;
  int r = run_sql(v, "list the runs",
                  "SELECT min_zoom, max_zoom, minx, miny, maxx, maxy, area FROM swath_runs"
                  " WHERE job = $1 ORDER BY seq",
                  1, p, &res);
  for (int i = 0; !r && i < PQntuples(res); i++) {
    swath_store_run run = {(int)swath__pg_get_i64(res, i, 0),
                           (int)swath__pg_get_i64(res, i, 1),
                           {swath__pg_get_f64(res, i, 2), swath__pg_get_f64(res, i, 3),
                            swath__pg_get_f64(res, i, 4), swath__pg_get_f64(res, i, 5)},
                           PQgetvalue(res, i, 6)};
    fn(ud, &run);
  }
  PQclear(res);
  return r;
}

static int pg_tile_limits(void *st, int m, swath_tile_range limits[SWATH_GRID_MAX_ZOOMS],
                          int have[SWATH_GRID_MAX_ZOOMS]) {
  pg_view *v = st;
  memset(have, 0, SWATH_GRID_MAX_ZOOMS * sizeof *have);
  int r = pg_flush(v);
  char j[24], ms[24];
  swath__pg_i64(j, v->job);
  swath__pg_i64(ms, m);
  const char *p[] = {j, ms};
  PGresult *res = NULL;
  if (!r)
    r = run_sql(v, "read the tile limits",
                "SELECT z, min(coalesce(tx0, x * $2)), min(coalesce(ty0, y * $2)),"
                " max(coalesce(tx1, x * $2 + $2 - 1)), max(coalesce(ty1, y * $2 + $2 - 1))"
                " FROM swath_marks WHERE job = $1 AND state IN (1, 4) GROUP BY z",
                2, p, &res);
  for (int i = 0; !r && i < PQntuples(res); i++) {
    int z = (int)swath__pg_get_i64(res, i, 0);
    if (z < 0 || z >= SWATH_GRID_MAX_ZOOMS) continue;
    have[z] = 1;
    limits[z] = (swath_tile_range){z, swath__pg_get_i64(res, i, 1), swath__pg_get_i64(res, i, 2),
                                   swath__pg_get_i64(res, i, 3), swath__pg_get_i64(res, i, 4)};
  }
  PQclear(res);
  return r;
}

const swath_store_vtable swath_store_pg = {
    .name = "postgresql",
    .abi_version = SWATH_STORE_ABI,
    .open = pg_open,
    .reset = pg_reset,
    .get = pg_get,
    .mark = pg_mark_,
    .flush = pg_flush,
    .each_failed = pg_each_failed,
    .add_run = pg_add_run,
    .each_run = pg_each_run,
    .tile_limits = pg_tile_limits,
    .close = pg_close,
};
