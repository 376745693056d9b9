/* jobs_local_db.c: the jobs file of the one-machine job service: a SQLite
 * file with a `jobs` table and a `meta` table holding its schema version
 * (jobs_local.h).
 *
 * Invariants: a job's state is one of engine/queue.h's job states by name
 * (queued, running, done, failed, cancelled); `held` is 1 exactly while a
 * thread of the process that holds the file runs the job, so a job left
 * `running` with held = 0 was being run by a process that died and is
 * taken again. Every call runs under the caller's lock (one connection). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "server/jobs_local.h"

static const char *const SCHEMA =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS jobs("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " key TEXT NOT NULL, yaml TEXT NOT NULL, path TEXT NOT NULL, output TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN ('queued','running','done','failed','cancelled')),"
    " min_zoom INTEGER NOT NULL, max_zoom INTEGER NOT NULL,"
    " created REAL NOT NULL, started REAL, finished REAL, updated REAL NOT NULL,"
    " tasks INTEGER NOT NULL DEFAULT 0, tasks_done INTEGER NOT NULL DEFAULT 0,"
    " tiles_total INTEGER NOT NULL DEFAULT 0, tiles_written INTEGER NOT NULL DEFAULT 0,"
    " rate REAL NOT NULL DEFAULT 0, last_error TEXT, held INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, id);";

double swath__jl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int db_error(jl_db *d, const char *what) {
  return swath_error_set(SWATH_EIO, "jobs file %s: %s: %s", d->path, what, sqlite3_errmsg(d->db));
}

static int exec(jl_db *d, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(d->db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
  int r = swath_error_set(SWATH_EINVAL, "--jobs %s: %s", d->path, msg ? msg : "SQLite error");
  sqlite3_free(msg);
  return r;
}

/* The schema version the file records (0: a new file). */
static int schema_version(jl_db *d, int *v) {
  *v = 0;
  sqlite3_stmt *st;
  int tables = 0, meta = 0;
  int rc = sqlite3_prepare_v2(d->db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st,
                              NULL);
  if (rc != SQLITE_OK)
    return swath_error_set(SWATH_EINVAL, "--jobs %s: not a swath jobs file: %s", d->path,
                           sqlite3_errmsg(d->db));
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *n = (const char *)sqlite3_column_text(st, 0);
    tables++;
    meta |= n && !strcmp(n, "meta");
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return swath_error_set(SWATH_EINVAL, "--jobs %s: not a swath jobs file: %s", d->path,
                           sqlite3_errmsg(d->db));
  if (!tables) return 0;
  if (!meta)
    return swath_error_set(SWATH_EINVAL,
                           "--jobs %s: a SQLite file of something else (no meta table): not a "
                           "swath jobs file",
                           d->path);
  if (sqlite3_prepare_v2(d->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st,
                         NULL) != SQLITE_OK)
    return db_error(d, "reading its schema version");
  if (sqlite3_step(st) == SQLITE_ROW) *v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (*v < 1)
    return swath_error_set(SWATH_EINVAL, "--jobs %s: no schema version: not a swath jobs file",
                           d->path);
  return 0;
}

/* The file to ourselves: a second `swath serve` on it would run its jobs
 * twice. The lock is a flock on a descriptor of our own, independent of
 * SQLite's fcntl locks. */
static int lock_file(jl_db *d) {
  d->lock_fd = open(d->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (d->lock_fd < 0)
    return swath_error_set(SWATH_EINVAL, "--jobs %s: cannot write it: %s", d->path,
                           strerror(errno));
  if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0)
    return swath_error_set(SWATH_EINVAL, "--jobs %s: in use by another swath serve", d->path);
  return 0;
}

int swath__jl_open(const char *path, jl_db *d) {
  memset(d, 0, sizeof *d);
  d->lock_fd = -1;
  if (!(d->path = strdup(path))) return swath_error_set(SWATH_ENOMEM, "out of memory");
  int r = lock_file(d);
  if (r) return r;
  if (sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
    return swath_error_set(SWATH_EINVAL, "--jobs %s: cannot open it: %s", path,
                           d->db ? sqlite3_errmsg(d->db) : "out of memory");
  sqlite3_busy_timeout(d->db, 10000);
  int v = 0;
  if (sqlite3_exec(d->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return swath_error_set(SWATH_EINVAL, "--jobs %s: not a swath jobs file: %s", path,
                           sqlite3_errmsg(d->db));
  if (!(r = schema_version(d, &v))) {
    if (v > SWATH_JOBS_LOCAL_SCHEMA)
      r = swath_error_set(SWATH_EINVAL,
                          "--jobs %s: schema version %d is newer than this build's %d: use a "
                          "newer swath",
                          path, v, SWATH_JOBS_LOCAL_SCHEMA);
    else if (!(r = exec(d, SCHEMA)))
      r = exec(d, "INSERT OR IGNORE INTO meta VALUES ('schema_version', '1')");
  }
  /* Jobs a process that died was running: taken again by the runners. */
  if (!r) r = exec(d, "UPDATE jobs SET held = 0 WHERE held <> 0");
  if (!r) r = exec(d, "COMMIT");
  if (!r && sqlite3_db_readonly(d->db, "main") == 1)
    r = swath_error_set(SWATH_EINVAL, "--jobs %s: cannot write it (read-only)", path);
  return r;
}

void swath__jl_close(jl_db *d) {
  if (d->db) sqlite3_close(d->db);
  if (d->lock_fd >= 0) close(d->lock_fd); /* releases the flock */
  free(d->path);
  memset(d, 0, sizeof *d);
  d->lock_fd = -1;
}

static int state_of(const char *s) {
  for (int i = SWATH_QJOB_QUEUED; i <= SWATH_QJOB_CANCELLED; i++)
    if (s && !strcmp(s, swath_qjob_state_name(i))) return i;
  return SWATH_QJOB_FAILED;
}

static char *dup_col(sqlite3_stmt *st, int i) {
  const char *t = (const char *)sqlite3_column_text(st, i);
  return t ? strdup(t) : NULL;
}

#define COLS                                                                                       \
  "id, key, yaml, path, output, state, min_zoom, max_zoom, created, coalesce(started, 0),"         \
  " coalesce(finished, 0), updated, tasks, tasks_done, tiles_total, tiles_written, rate,"          \
  " last_error, held"

static int row(sqlite3_stmt *st, swath_qjob *j) {
  memset(j, 0, sizeof *j);
  j->id = sqlite3_column_int64(st, 0);
  j->key = dup_col(st, 1);
  j->yaml = dup_col(st, 2);
  j->path = dup_col(st, 3);
  j->output = dup_col(st, 4);
  j->state = state_of((const char *)sqlite3_column_text(st, 5));
  j->min_zoom = sqlite3_column_int(st, 6);
  j->max_zoom = sqlite3_column_int(st, 7);
  j->cell_zoom = j->min_zoom; /* one run does every zoom */
  j->max_attempts = 1;
  j->created = sqlite3_column_double(st, 8);
  j->started = sqlite3_column_double(st, 9);
  j->finished = sqlite3_column_double(st, 10);
  j->updated = sqlite3_column_double(st, 11);
  j->tasks = sqlite3_column_int64(st, 12);
  j->tasks_done = sqlite3_column_int64(st, 13);
  if (j->tasks_done > j->tasks) j->tasks_done = j->tasks;
  j->tiles_total = sqlite3_column_int64(st, 14);
  j->tiles_written = sqlite3_column_int64(st, 15);
  j->rate = sqlite3_column_double(st, 16);
  j->eta = -1;
  j->last_error = dup_col(st, 17);
  int held = sqlite3_column_int(st, 18);
  j->workers_alive = held;
  j->tasks_running = held && j->tasks_done < j->tasks;
  j->tasks_ready = j->state == SWATH_QJOB_QUEUED || j->state == SWATH_QJOB_RUNNING
                       ? j->tasks - j->tasks_done - j->tasks_running
                       : 0;
  if (!j->key || !j->yaml || !j->path || !j->output) {
    swath_qjob_clear(j);
    return swath_error_set(SWATH_ENOMEM, "out of memory");
  }
  return 0;
}

int swath__jl_insert(jl_db *d, const jl_new *n, int64_t *id) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(d->db,
                         "INSERT INTO jobs(key, yaml, path, output, state, min_zoom, max_zoom,"
                         " created, updated, tasks, tiles_total) VALUES (?, ?, ?, ?, 'queued', ?,"
                         " ?, ?, ?, ?, ?)",
                         -1, &st, NULL) != SQLITE_OK)
    return db_error(d, "adding a job");
  double now = swath__jl_now();
  sqlite3_bind_text(st, 1, n->key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, n->yaml, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, n->path, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, n->output, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 5, n->min_zoom);
  sqlite3_bind_int(st, 6, n->max_zoom);
  sqlite3_bind_double(st, 7, now);
  sqlite3_bind_double(st, 8, now);
  sqlite3_bind_int64(st, 9, n->tasks);
  sqlite3_bind_int64(st, 10, n->tiles_total);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return db_error(d, "adding a job");
  *id = sqlite3_last_insert_rowid(d->db);
  return 0;
}

int swath__jl_get(jl_db *d, int64_t id, swath_qjob *out) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(d->db, "SELECT " COLS " FROM jobs WHERE id = ?", -1, &st, NULL) !=
      SQLITE_OK)
    return db_error(d, "reading a job");
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st), r;
  if (rc == SQLITE_ROW)
    r = row(st, out);
  else if (rc == SQLITE_DONE)
    r = swath_error_set(SWATH_ENOTFOUND, "no job %lld", (long long)id);
  else
    r = db_error(d, "reading a job");
  sqlite3_finalize(st);
  return r;
}

int swath__jl_page(jl_db *d, int64_t before, unsigned states, int limit, swath_qjob **out, int *n) {
  *out = NULL;
  *n = 0;
  char in[160] = "";
  size_t len = 0;
  for (int s = SWATH_QJOB_QUEUED; s <= SWATH_QJOB_CANCELLED; s++)
    if (states & 1u << s)
      len += (size_t)snprintf(in + len, sizeof in - len, "%s'%s'", len ? "," : "",
                              swath_qjob_state_name(s));
  char sql[512];
  snprintf(sql, sizeof sql, "SELECT " COLS " FROM jobs WHERE id < ?%s%s%s ORDER BY id DESC LIMIT ?",
           states ? " AND state IN (" : "", states ? (len ? in : "''") : "", states ? ")" : "");
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(d->db, sql, -1, &st, NULL) != SQLITE_OK)
    return db_error(d, "listing jobs");
  sqlite3_bind_int64(st, 1, before > 0 ? before : INT64_MAX);
  sqlite3_bind_int(st, 2, limit);
  swath_qjob *jobs = calloc((size_t)(limit > 0 ? limit : 1), sizeof *jobs);
  int r = jobs ? 0 : swath_error_set(SWATH_ENOMEM, "out of memory"), rc;
  while (!r && *n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
    if (!(r = row(st, &jobs[*n]))) (*n)++;
  if (!r && *n < limit && rc != SQLITE_DONE) r = db_error(d, "listing jobs");
  sqlite3_finalize(st);
  if (r) {
    for (int i = 0; i < *n; i++)
      swath_qjob_clear(&jobs[i]);
    free(jobs);
    *n = 0;
    return r;
  }
  *out = jobs;
  return 0;
}

int swath__jl_claim(jl_db *d, int64_t only, int64_t *id) {
  *id = 0;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(d->db,
                         "SELECT id FROM jobs WHERE state IN ('queued', 'running') AND held = 0"
                         " AND (? = 0 OR id = ?) ORDER BY id LIMIT 1",
                         -1, &st, NULL) != SQLITE_OK)
    return db_error(d, "claiming a job");
  sqlite3_bind_int64(st, 1, only);
  sqlite3_bind_int64(st, 2, only);
  int rc = sqlite3_step(st);
  int64_t got = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(d, "claiming a job");
  if (!got) return 0;
  if (sqlite3_prepare_v2(d->db,
                         "UPDATE jobs SET state = 'running', held = 1,"
                         " started = coalesce(started, ?1), updated = ?1 WHERE id = ?2",
                         -1, &st, NULL) != SQLITE_OK)
    return db_error(d, "claiming a job");
  sqlite3_bind_double(st, 1, swath__jl_now());
  sqlite3_bind_int64(st, 2, got);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return db_error(d, "claiming a job");
  *id = got;
  return 0;
}

int swath__jl_progress(jl_db *d, int64_t id, int64_t tasks, int64_t done, int64_t tiles,
                       double rate) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(d->db,
                         "UPDATE jobs SET tasks = ?, tasks_done = ?, tiles_written = ?, rate = ?,"
                         " updated = ? WHERE id = ?",
                         -1, &st, NULL) != SQLITE_OK)
    return db_error(d, "recording progress");
  sqlite3_bind_int64(st, 1, tasks);
  sqlite3_bind_int64(st, 2, done);
  sqlite3_bind_int64(st, 3, tiles);
  sqlite3_bind_double(st, 4, rate);
  sqlite3_bind_double(st, 5, swath__jl_now());
  sqlite3_bind_int64(st, 6, id);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : db_error(d, "recording progress");
}

int swath__jl_end(jl_db *d, int64_t id, int state, const char *error) {
  sqlite3_stmt *st;
  /* A job cancelled meanwhile stays cancelled; one the server stops (state
   * running) stays running, released, to be taken again at the next start. */
  if (sqlite3_prepare_v2(d->db,
                         "UPDATE jobs SET held = 0, updated = ?1,"
                         " state = CASE WHEN state = 'running' THEN ?2 ELSE state END,"
                         " finished = CASE WHEN ?2 <> 'running' OR state <> 'running' THEN ?1"
                         " ELSE finished END,"
                         " last_error = CASE WHEN state = 'running' AND ?3 IS NOT NULL THEN ?3"
                         " ELSE last_error END,"
                         " rate = 0 WHERE id = ?4",
                         -1, &st, NULL) != SQLITE_OK)
    return db_error(d, "ending a job");
  sqlite3_bind_double(st, 1, swath__jl_now());
  sqlite3_bind_text(st, 2, swath_qjob_state_name(state), -1, SQLITE_STATIC);
  if (error)
    sqlite3_bind_text(st, 3, error, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, 3);
  sqlite3_bind_int64(st, 4, id);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : db_error(d, "ending a job");
}

int swath__jl_cancel(jl_db *d, int64_t id) {
  swath_qjob j;
  int r = swath__jl_get(d, id, &j);
  if (r) return r;
  int state = j.state, held = j.workers_alive;
  swath_qjob_clear(&j);
  if (state == SWATH_QJOB_DONE)
    return swath_error_set(SWATH_EINVAL, "job %lld is done: nothing to cancel", (long long)id);
  if (state == SWATH_QJOB_CANCELLED) return 0;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(d->db,
                         "UPDATE jobs SET state = 'cancelled', updated = ?1,"
                         " finished = CASE WHEN ?2 THEN finished ELSE ?1 END WHERE id = ?3",
                         -1, &st, NULL) != SQLITE_OK)
    return db_error(d, "cancelling a job");
  sqlite3_bind_double(st, 1, swath__jl_now());
  sqlite3_bind_int(st, 2, held);
  sqlite3_bind_int64(st, 3, id);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : db_error(d, "cancelling a job");
}
