/* store_sqlite.c: task state in an embedded SQLite file (WAL, so a reader
 * such as a progress query never blocks the run, and several processes can
 * share the file behind busy_timeout).
 *
 * mark() is called by worker threads; marks are buffered under a mutex and
 * written in one transaction by flush(), which the run's ticker calls about
 * once a second, or when the buffer fills. get() looks in the buffer first,
 * then in the table, with one prepared statement under the same mutex. A
 * mark only happens after the task's tiles are in place, so a flushed DONE
 * is always true; a crash loses at most the unflushed marks, whose tasks are
 * simply done again. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "engine/store.h"

#define BUF_MAX 512

typedef struct pending_mark {
  swath_tile t;
  int state;
  char *msg;
} pending_mark;

typedef struct sq_state {
  sqlite3 *db;
  char *path;
  pthread_mutex_t lock;
  sqlite3_stmt *get, *put;
  pending_mark buf[BUF_MAX];
  int nbuf;
} sq_state;

static int fail(sq_state *s, const char *what) {
  return swath_error_set(SWATH_EIO, "state store '%s': %s: %s", s->path, what,
                         s->db ? sqlite3_errmsg(s->db) : "cannot open");
}

static int exec(sq_state *s, const char *sql) {
  return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(s, sql);
}

static void sq_close(void *st);
static int flush_locked(sq_state *s);

static int sq_open(const char *uri, const char *job_key, int reset, void **out) {
  *out = NULL;
  sq_state *s = calloc(1, sizeof *s);
  if (!s || !(s->path = strdup(uri))) {
    free(s);
    return swath_error_set(SWATH_ENOMEM, "state store: out of memory");
  }
  pthread_mutex_init(&s->lock, NULL);
  int r = 0;
  if (sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    r = fail(s, "open");
  if (!r) sqlite3_busy_timeout(s->db, 30000);
  if (!r) r = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                      "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
                      "CREATE TABLE IF NOT EXISTS tasks(z INTEGER, x INTEGER, y INTEGER, state INTEGER,"
                      " message TEXT, attempts INTEGER DEFAULT 1, updated_at INTEGER,"
                      " PRIMARY KEY(z, x, y)) WITHOUT ROWID;");
  if (!r) {
    /* Compare the stored job key in one transaction with the reset, so two
     * processes starting together agree. */
    r = exec(s, "BEGIN IMMEDIATE");
    sqlite3_stmt *q = NULL;
    int same = 0;
    if (!r && sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key='job_key'", -1, &q, NULL) == SQLITE_OK) {
      if (sqlite3_step(q) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(q, 0);
        same = v && strcmp((const char *)v, job_key) == 0;
      }
      sqlite3_finalize(q);
    }
    if (!r && (reset || !same)) {
      r = exec(s, "DELETE FROM tasks");
      if (!r && sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(key, value) VALUES('job_key', ?)", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, job_key, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(q) != SQLITE_DONE) r = fail(s, "store job key");
        sqlite3_finalize(q);
      }
    }
    if (!r) r = exec(s, "COMMIT");
    else sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  }
  if (!r && (sqlite3_prepare_v2(s->db, "SELECT state FROM tasks WHERE z=? AND x=? AND y=?", -1, &s->get, NULL) != SQLITE_OK ||
             sqlite3_prepare_v2(s->db, "INSERT INTO tasks(z, x, y, state, message, updated_at) VALUES(?, ?, ?, ?, ?, ?)"
                                " ON CONFLICT(z, x, y) DO UPDATE SET state=excluded.state, message=excluded.message,"
                                " updated_at=excluded.updated_at, attempts=tasks.attempts+1",
                                -1, &s->put, NULL) != SQLITE_OK))
    r = fail(s, "prepare");
  if (r) {
    sq_close(s);
    return r;
  }
  *out = s;
  return 0;
}

static int sq_get(void *st, swath_tile t, enum swath_task_state *out) {
  sq_state *s = st;
  *out = SWATH_TASK_PENDING;
  pthread_mutex_lock(&s->lock);
  for (int i = s->nbuf - 1; i >= 0; i--) {
    if (s->buf[i].t.z == t.z && s->buf[i].t.x == t.x && s->buf[i].t.y == t.y) {
      *out = (enum swath_task_state)s->buf[i].state;
      pthread_mutex_unlock(&s->lock);
      return 0;
    }
  }
  sqlite3_bind_int(s->get, 1, t.z);
  sqlite3_bind_int64(s->get, 2, t.x);
  sqlite3_bind_int64(s->get, 3, t.y);
  int rc = sqlite3_step(s->get), r = 0;
  if (rc == SQLITE_ROW) *out = (enum swath_task_state)sqlite3_column_int(s->get, 0);
  else if (rc != SQLITE_DONE) r = fail(s, "read task");
  sqlite3_reset(s->get);
  pthread_mutex_unlock(&s->lock);
  return r;
}

static int flush_locked(sq_state *s) {
  if (s->nbuf == 0) return 0;
  int r = exec(s, "BEGIN IMMEDIATE");
  int64_t now = (int64_t)time(NULL);
  for (int i = 0; !r && i < s->nbuf; i++) {
    pending_mark *m = &s->buf[i];
    sqlite3_bind_int(s->put, 1, m->t.z);
    sqlite3_bind_int64(s->put, 2, m->t.x);
    sqlite3_bind_int64(s->put, 3, m->t.y);
    sqlite3_bind_int(s->put, 4, m->state);
    if (m->msg) sqlite3_bind_text(s->put, 5, m->msg, -1, SQLITE_STATIC);
    else sqlite3_bind_null(s->put, 5);
    sqlite3_bind_int64(s->put, 6, now);
    if (sqlite3_step(s->put) != SQLITE_DONE) r = fail(s, "write task");
    sqlite3_reset(s->put);
  }
  if (!r) r = exec(s, "COMMIT");
  else sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  if (!r) {
    for (int i = 0; i < s->nbuf; i++) free(s->buf[i].msg);
    s->nbuf = 0;
  }
  return r;
}

static int sq_mark(void *st, swath_tile t, enum swath_task_state state, const char *message) {
  sq_state *s = st;
  pthread_mutex_lock(&s->lock);
  int r = 0;
  if (s->nbuf == BUF_MAX) r = flush_locked(s);
  if (!r && s->nbuf < BUF_MAX) {
    s->buf[s->nbuf++] = (pending_mark){t, (int)state, message ? strdup(message) : NULL};
  }
  pthread_mutex_unlock(&s->lock);
  return r;
}

static int sq_flush(void *st) {
  sq_state *s = st;
  pthread_mutex_lock(&s->lock);
  int r = flush_locked(s);
  pthread_mutex_unlock(&s->lock);
  return r;
}

static int sq_each_failed(void *st, void (*fn)(void *ud, swath_tile t, const char *msg), void *ud) {
  sq_state *s = st;
  int r = sq_flush(s);
  if (r) return r;
  sqlite3_stmt *q;
  pthread_mutex_lock(&s->lock);
  if (sqlite3_prepare_v2(s->db, "SELECT z, x, y, message FROM tasks WHERE state=3 ORDER BY z, y, x", -1, &q, NULL) != SQLITE_OK) {
    r = fail(s, "list failures");
  } else {
    while (sqlite3_step(q) == SQLITE_ROW) {
      swath_tile t = {sqlite3_column_int(q, 0), sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2)};
      fn(ud, t, (const char *)sqlite3_column_text(q, 3));
    }
    sqlite3_finalize(q);
  }
  pthread_mutex_unlock(&s->lock);
  return r;
}

static void sq_close(void *st) {
  sq_state *s = st;
  if (!s) return;
  if (s->db) flush_locked(s);
  for (int i = 0; i < s->nbuf; i++) free(s->buf[i].msg);
  sqlite3_finalize(s->get);
  sqlite3_finalize(s->put);
  sqlite3_close(s->db);
  pthread_mutex_destroy(&s->lock);
  free(s->path);
  free(s);
}

const swath_store_vtable swath_store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .get = sq_get,
    .mark = sq_mark,
    .flush = sq_flush,
    .each_failed = sq_each_failed,
    .close = sq_close,
};
