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
 * simply done again. Marks are written in the order they were made, so a
 * parent's STALE is durable before its child's DONE.
 *
 * Tables: meta (the job key), tasks (state, the range of the task's tiles
 * on disk, for the product's tile limits, and the tiles it covered, one bit
 * per tile, NULL for all), runs (the zooms and areas the product was run
 * for). Stores made before the ranges, runs and covered tiles existed are
 * upgraded in place: their tasks have no range (see tile_limits) and count
 * as covering their whole metatile, which is what swath wrote then. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "engine/store.h"
#include "engine/store_cover.h"

#define BUF_MAX 512

typedef struct pending_mark {
  swath_tile t;
  int state;
  char *msg;
  int has_range;
  swath_tile_range range;
  unsigned char *cover; /* covered tiles, packed; NULL: all */
  int cover_len;
} pending_mark;

typedef struct sq_state {
  sqlite3 *db;
  char *path;
  char *job_key;
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

/* 1 if the tasks table has the column, 0 if not, or a negative code. */
static int has_column(sq_state *s, const char *name) {
  sqlite3_stmt *q;
  int found = 0;
  if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM pragma_table_info('tasks') WHERE name=?", -1,
                         &q, NULL) != SQLITE_OK)
    return fail(s, "read the tasks table");
  sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  if (sqlite3_step(q) == SQLITE_ROW) found = sqlite3_column_int(q, 0) > 0;
  sqlite3_finalize(q);
  return found;
}

/* Add the columns a tasks table made by an older swath lacks. */
static int upgrade(sq_state *s) {
  int r = has_column(s, "tx0");
  if (r == 0)
    r = exec(s,
             "ALTER TABLE tasks ADD COLUMN tx0 INTEGER; ALTER TABLE tasks ADD COLUMN ty0 INTEGER;"
             "ALTER TABLE tasks ADD COLUMN tx1 INTEGER; ALTER TABLE tasks ADD COLUMN ty1 INTEGER;");
  if (r < 0) return r;
  r = has_column(s, "covered");
  if (r == 0) r = exec(s, "ALTER TABLE tasks ADD COLUMN covered BLOB");
  return r < 0 ? r : 0;
}

/* One integer from a query with one text parameter (or none). */
static int query_int(sq_state *s, const char *sql, const char *arg, int64_t *out) {
  sqlite3_stmt *q;
  *out = 0;
  if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK) return fail(s, sql);
  if (arg) sqlite3_bind_text(q, 1, arg, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) *out = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(s, sql);
}

static int sq_open(const char *uri, const char *job_key, int *same, int64_t *done, void **out) {
  *out = NULL;
  *same = 0;
  *done = 0;
  sq_state *s = calloc(1, sizeof *s);
  if (!s || !(s->path = strdup(uri)) || !(s->job_key = strdup(job_key))) {
    if (s) free(s->path);
    free(s);
    return swath_error_set(SWATH_ENOMEM, "state store: out of memory");
  }
  pthread_mutex_init(&s->lock, NULL);
  int r = 0;
  if (sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK)
    r = fail(s, "open");
  if (!r) sqlite3_busy_timeout(s->db, 30000);
  if (!r) r = exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
  if (!r) r = exec(s, "BEGIN IMMEDIATE");
  if (!r) {
    r = exec(s, "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
                "CREATE TABLE IF NOT EXISTS tasks(z INTEGER, x INTEGER, y INTEGER, state INTEGER,"
                " message TEXT, attempts INTEGER DEFAULT 1, updated_at INTEGER,"
                " tx0 INTEGER, ty0 INTEGER, tx1 INTEGER, ty1 INTEGER, covered BLOB,"
                " PRIMARY KEY(z, x, y)) WITHOUT ROWID;"
                "CREATE TABLE IF NOT EXISTS runs(seq INTEGER PRIMARY KEY, min_zoom INTEGER, "
                "max_zoom INTEGER,"
                " minx REAL, miny REAL, maxx REAL, maxy REAL, area TEXT, UNIQUE(min_zoom, "
                "max_zoom, area));");
    if (!r) r = upgrade(s);
    int64_t n = 0;
    if (!r)
      r = query_int(s, "SELECT count(*) FROM meta WHERE key='job_key' AND value=?", job_key, &n);
    *same = n > 0;
    if (!r) r = query_int(s, "SELECT count(*) FROM tasks WHERE state IN (1, 4)", NULL, done);
    if (!r)
      r = exec(s, "COMMIT");
    else
      sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  }
  if (!r &&
      (sqlite3_prepare_v2(s->db, "SELECT state, covered FROM tasks WHERE z=? AND x=? AND y=?", -1,
                          &s->get, NULL) != SQLITE_OK ||
       sqlite3_prepare_v2(
           s->db,
           "INSERT INTO tasks(z, x, y, state, message, updated_at, tx0, ty0, tx1, ty1, covered)"
           " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
           " ON CONFLICT(z, x, y) DO UPDATE SET state=excluded.state, message=excluded.message,"
           " updated_at=excluded.updated_at, attempts=tasks.attempts+(excluded.state<>4),"
           " covered=excluded.covered,"
           /* STALE keeps the range of the tiles still on disk */
           " tx0=CASE WHEN excluded.state=4 THEN tasks.tx0 ELSE excluded.tx0 END,"
           " ty0=CASE WHEN excluded.state=4 THEN tasks.ty0 ELSE excluded.ty0 END,"
           " tx1=CASE WHEN excluded.state=4 THEN tasks.tx1 ELSE excluded.tx1 END,"
           " ty1=CASE WHEN excluded.state=4 THEN tasks.ty1 ELSE excluded.ty1 END",
           -1, &s->put, NULL) != SQLITE_OK))
    r = fail(s, "prepare");
  if (r) {
    sq_close(s);
    return r;
  }
  *out = s;
  return 0;
}

static void free_marks(sq_state *s) {
  for (int i = 0; i < s->nbuf; i++) {
    free(s->buf[i].msg);
    free(s->buf[i].cover);
  }
  s->nbuf = 0;
}

static int sq_reset(void *st) {
  sq_state *s = st;
  pthread_mutex_lock(&s->lock);
  free_marks(s);
  /* In one transaction with the key check: a process that adopted the same
   * key meanwhile has nothing dropped. */
  int r = exec(s, "BEGIN IMMEDIATE");
  int64_t same = 0;
  if (!r)
    r = query_int(s, "SELECT count(*) FROM meta WHERE key='job_key' AND value=?", s->job_key,
                  &same);
  if (!r && !same) r = exec(s, "DELETE FROM tasks; DELETE FROM runs;");
  if (!r && !same) {
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO meta(key, value) VALUES('job_key', ?)",
                           -1, &q, NULL) != SQLITE_OK)
      r = fail(s, "store job key");
    else {
      sqlite3_bind_text(q, 1, s->job_key, -1, SQLITE_STATIC);
      if (sqlite3_step(q) != SQLITE_DONE) r = fail(s, "store job key");
      sqlite3_finalize(q);
    }
  }
  if (!r)
    r = exec(s, "COMMIT");
  else
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  pthread_mutex_unlock(&s->lock);
  return r;
}

static int sq_get(void *st, swath_tile t, enum swath_task_state *out, unsigned char *covered,
                  int n) {
  sq_state *s = st;
  *out = SWATH_TASK_PENDING;
  if (covered) swath__cover_unpack(NULL, 0, covered, n);
  pthread_mutex_lock(&s->lock);
  for (int i = s->nbuf - 1; i >= 0; i--) {
    pending_mark *m = &s->buf[i];
    if (m->t.z == t.z && m->t.x == t.x && m->t.y == t.y) {
      *out = (enum swath_task_state)m->state;
      if (covered) swath__cover_unpack(m->cover, m->cover_len, covered, n);
      pthread_mutex_unlock(&s->lock);
      return 0;
    }
  }
  sqlite3_bind_int(s->get, 1, t.z);
  sqlite3_bind_int64(s->get, 2, t.x);
  sqlite3_bind_int64(s->get, 3, t.y);
  int rc = sqlite3_step(s->get), r = 0;
  if (rc == SQLITE_ROW) {
    *out = (enum swath_task_state)sqlite3_column_int(s->get, 0);
    if (covered)
      swath__cover_unpack(sqlite3_column_blob(s->get, 1), sqlite3_column_bytes(s->get, 1), covered,
                          n);
  } else if (rc != SQLITE_DONE) {
    r = fail(s, "read task");
  }
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
    if (m->msg)
      sqlite3_bind_text(s->put, 5, m->msg, -1, SQLITE_STATIC);
    else
      sqlite3_bind_null(s->put, 5);
    sqlite3_bind_int64(s->put, 6, now);
    int64_t rv[4] = {m->range.minx, m->range.miny, m->range.maxx, m->range.maxy};
    for (int k = 0; k < 4; k++) {
      if (m->has_range)
        sqlite3_bind_int64(s->put, 7 + k, rv[k]);
      else
        sqlite3_bind_null(s->put, 7 + k);
    }
    if (m->cover)
      sqlite3_bind_blob(s->put, 11, m->cover, m->cover_len, SQLITE_STATIC);
    else
      sqlite3_bind_null(s->put, 11);
    if (sqlite3_step(s->put) != SQLITE_DONE) r = fail(s, "write task");
    sqlite3_reset(s->put);
  }
  if (!r)
    r = exec(s, "COMMIT");
  else
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  if (!r) free_marks(s);
  return r;
}

static int sq_mark(void *st, swath_tile t, enum swath_task_state state, const char *message,
                   const swath_tile_range *tiles, const unsigned char *covered, int n) {
  sq_state *s = st;
  int all = 1, len = 0;
  for (int i = 0; covered && i < n; i++)
    all &= covered[i] == SWATH_COVERED;
  unsigned char *cover = all ? NULL : swath__cover_pack(covered, n, &len);
  /* Without its covered tiles the mark would claim the whole metatile. */
  if (!all && !cover) return swath_error_set(SWATH_ENOMEM, "state store: out of memory");
  pthread_mutex_lock(&s->lock);
  int r = 0;
  if (s->nbuf == BUF_MAX) r = flush_locked(s);
  if (!r && s->nbuf < BUF_MAX) {
    s->buf[s->nbuf++] = (pending_mark){t,
                                       (int)state,
                                       message ? strdup(message) : NULL,
                                       tiles != NULL,
                                       tiles ? *tiles : (swath_tile_range){0},
                                       cover,
                                       len};
    cover = NULL;
  }
  pthread_mutex_unlock(&s->lock);
  free(cover);
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
  if (sqlite3_prepare_v2(s->db, "SELECT z, x, y, message FROM tasks WHERE state=3 ORDER BY z, y, x",
                         -1, &q, NULL) != SQLITE_OK) {
    r = fail(s, "list failures");
  } else {
    while (sqlite3_step(q) == SQLITE_ROW) {
      swath_tile t = {sqlite3_column_int(q, 0), sqlite3_column_int64(q, 1),
                      sqlite3_column_int64(q, 2)};
      fn(ud, t, (const char *)sqlite3_column_text(q, 3));
    }
    sqlite3_finalize(q);
  }
  pthread_mutex_unlock(&s->lock);
  return r;
}

static int sq_add_run(void *st, const swath_store_run *run) {
  sq_state *s = st;
  sqlite3_stmt *q;
  pthread_mutex_lock(&s->lock);
  int r = 0;
  if (sqlite3_prepare_v2(
          s->db,
          "INSERT OR IGNORE INTO runs(min_zoom, max_zoom, minx, miny, maxx, maxy, area)"
          " VALUES(?, ?, ?, ?, ?, ?, ?)",
          -1, &q, NULL) != SQLITE_OK) {
    r = fail(s, "record the run");
  } else {
    sqlite3_bind_int(q, 1, run->min_zoom);
    sqlite3_bind_int(q, 2, run->max_zoom);
    sqlite3_bind_double(q, 3, run->bounds.minx);
    sqlite3_bind_double(q, 4, run->bounds.miny);
    sqlite3_bind_double(q, 5, run->bounds.maxx);
    sqlite3_bind_double(q, 6, run->bounds.maxy);
    sqlite3_bind_text(q, 7, run->area ? run->area : "", -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE) r = fail(s, "record the run");
    sqlite3_finalize(q);
  }
  pthread_mutex_unlock(&s->lock);
  return r;
}

static int sq_each_run(void *st, void (*fn)(void *ud, const swath_store_run *run), void *ud) {
  sq_state *s = st;
  sqlite3_stmt *q;
  pthread_mutex_lock(&s->lock);
  int r = 0;
  if (sqlite3_prepare_v2(
          s->db, "SELECT min_zoom, max_zoom, minx, miny, maxx, maxy, area FROM runs ORDER BY seq",
          -1, &q, NULL) != SQLITE_OK) {
    r = fail(s, "list the runs");
  } else {
    while (sqlite3_step(q) == SQLITE_ROW) {
      swath_store_run run = {sqlite3_column_int(q, 0),
                             sqlite3_column_int(q, 1),
                             {sqlite3_column_double(q, 2), sqlite3_column_double(q, 3),
                              sqlite3_column_double(q, 4), sqlite3_column_double(q, 5)},
                             (const char *)sqlite3_column_text(q, 6)};
      fn(ud, &run);
    }
    sqlite3_finalize(q);
  }
  pthread_mutex_unlock(&s->lock);
  return r;
}

static int sq_tile_limits(void *st, int m, swath_tile_range limits[SWATH_GRID_MAX_ZOOMS],
                          int have[SWATH_GRID_MAX_ZOOMS]) {
  sq_state *s = st;
  memset(have, 0, SWATH_GRID_MAX_ZOOMS * sizeof *have);
  int r = sq_flush(s);
  if (r) return r;
  sqlite3_stmt *q;
  pthread_mutex_lock(&s->lock);
  if (sqlite3_prepare_v2(s->db,
                         "SELECT z, min(coalesce(tx0, x * ?1)), min(coalesce(ty0, y * ?1)),"
                         " max(coalesce(tx1, x * ?1 + ?1 - 1)), max(coalesce(ty1, y * ?1 + ?1 - 1))"
                         " FROM tasks WHERE state IN (1, 4) GROUP BY z",
                         -1, &q, NULL) != SQLITE_OK) {
    r = fail(s, "read the tile limits");
  } else {
    sqlite3_bind_int(q, 1, m);
    while (sqlite3_step(q) == SQLITE_ROW) {
      int z = sqlite3_column_int(q, 0);
      if (z < 0 || z >= SWATH_GRID_MAX_ZOOMS) continue;
      have[z] = 1;
      limits[z] = (swath_tile_range){z, sqlite3_column_int64(q, 1), sqlite3_column_int64(q, 2),
                                     sqlite3_column_int64(q, 3), sqlite3_column_int64(q, 4)};
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
  free_marks(s);
  sqlite3_finalize(s->get);
  sqlite3_finalize(s->put);
  sqlite3_close(s->db);
  pthread_mutex_destroy(&s->lock);
  free(s->path);
  free(s->job_key);
  free(s);
}

const swath_store_vtable swath_store_sqlite = {
    .name = "sqlite",
    .abi_version = SWATH_STORE_ABI,
    .open = sq_open,
    .reset = sq_reset,
    .get = sq_get,
    .mark = sq_mark,
    .flush = sq_flush,
    .each_failed = sq_each_failed,
    .add_run = sq_add_run,
    .each_run = sq_each_run,
    .tile_limits = sq_tile_limits,
    .close = sq_close,
};
