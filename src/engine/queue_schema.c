/* queue_schema.c: opening a queue (connect, then create or migrate the
 * schema) and the locked, retried call every queue function goes through.
 *
 * The schema's version is the row schema_version of swath_meta. Creating
 * or migrating happens in one transaction that first locks swath_meta, so
 * workers opening a new database at the same time wait for each other and
 * the later ones find it made; two CREATE TABLE IF NOT EXISTS of swath_meta
 * itself racing make one fail with a duplicate, and that call is simply run
 * again. A database made by a newer swath is refused: this build would not
 * know what its columns mean.
 *
 * Tables (version 1):
 *   swath_meta     key/value: schema_version
 *   swath_jobs     a job: its text, key and output, state, counters kept by
 *                  the calls that change them (tasks done/empty/failed,
 *                  tiles written, expired leases, refused completions)
 *   swath_tasks    a task: kind, metatile, state, the count of unfinished
 *                  children (waiting), lease (owner, attempt = the fencing
 *                  token, lease_until), tries (attempts that count against
 *                  max_attempts: claims less releases), backoff (not_before),
 *                  the last failure (message, failed_at),
 *                  finished time, tiles written, accepted completions
 *   swath_marks    the engine's marks of a job (store.h), written with the
 *                  completion that made them
 *   swath_runs     the runs (zooms, area) recorded for a job's product
 *   swath_workers  one row per worker process: its last heartbeat */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/queue_internal.h"

static const char *const v1[] = {
    "CREATE TABLE swath_jobs(id bigserial PRIMARY KEY, token text UNIQUE,"
    " key text NOT NULL, yaml text NOT NULL, path text NOT NULL, output text NOT NULL,"
    " state smallint NOT NULL DEFAULT 0, min_zoom int NOT NULL, max_zoom int NOT NULL,"
    " cell_zoom int NOT NULL, overviews boolean NOT NULL,"
    " max_attempts int NOT NULL CHECK (max_attempts >= 1),"
    " created timestamptz NOT NULL DEFAULT now(), started timestamptz, finished timestamptz,"
    " updated timestamptz NOT NULL DEFAULT now(),"
    " tasks bigint NOT NULL DEFAULT 0, tasks_done bigint NOT NULL DEFAULT 0,"
    " tasks_empty bigint NOT NULL DEFAULT 0, tasks_failed bigint NOT NULL DEFAULT 0,"
    " tiles_total bigint NOT NULL DEFAULT 0, tiles_written bigint NOT NULL DEFAULT 0,"
    " expired_leases bigint NOT NULL DEFAULT 0, fenced bigint NOT NULL DEFAULT 0,"
    " lease_s int NOT NULL DEFAULT 0, last_error text)",
    "CREATE INDEX swath_jobs_key ON swath_jobs(key, id)",
    "CREATE TABLE swath_tasks(id bigserial PRIMARY KEY,"
    " job bigint NOT NULL REFERENCES swath_jobs(id) ON DELETE CASCADE,"
    " kind smallint NOT NULL, z int NOT NULL, x bigint NOT NULL, y bigint NOT NULL,"
    " tiles bigint NOT NULL DEFAULT 0, state smallint NOT NULL DEFAULT 1,"
    " waiting int NOT NULL DEFAULT 0, owner text, attempt int NOT NULL DEFAULT 0,"
    " tries int NOT NULL DEFAULT 0, not_before timestamptz NOT NULL DEFAULT '-infinity',"
    " lease_until timestamptz, finished timestamptz, tiles_written bigint NOT NULL DEFAULT 0,"
    " completions int NOT NULL DEFAULT 0, message text, failed_at timestamptz,"
    " UNIQUE (job, z, x, y))",
    /* The claim's scan: only tasks that may be claimable, in claim order. */
    "CREATE INDEX swath_tasks_claim ON swath_tasks(job, kind DESC, z DESC, id)"
    " WHERE state IN (1, 2)",
    "CREATE INDEX swath_tasks_failed ON swath_tasks(job, z, y, x) WHERE state = 5",
    "CREATE INDEX swath_tasks_finished ON swath_tasks(job, finished) WHERE finished IS NOT NULL",
    "CREATE TABLE swath_marks(job bigint NOT NULL REFERENCES swath_jobs(id) ON DELETE CASCADE,"
    " z int NOT NULL, x bigint NOT NULL, y bigint NOT NULL, state smallint NOT NULL,"
    " tx0 bigint, ty0 bigint, tx1 bigint, ty1 bigint, covered bytea, message text,"
    " updated timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (job, z, x, y))",
    "CREATE TABLE swath_runs(job bigint NOT NULL REFERENCES swath_jobs(id) ON DELETE CASCADE,"
    " seq bigserial, min_zoom int NOT NULL, max_zoom int NOT NULL, minx float8, miny float8,"
    " maxx float8, maxy float8, area text NOT NULL, UNIQUE (job, min_zoom, max_zoom, area))",
    "CREATE TABLE swath_workers(owner text PRIMARY KEY, host text, pid int, job bigint,"
    " started timestamptz NOT NULL DEFAULT now(), seen timestamptz NOT NULL DEFAULT now())",
    NULL};

/* steps[v - 1] takes a database from version v - 1 to v. */
static const char *const *const steps[SWATH_QUEUE_SCHEMA] = {v1};

/* The recorded version (0: none) into *v. */
static int read_version(swath_pg *pg, int *v) {
  PGresult *res;
  int r =
      swath__pg_exec(pg, "read the schema version",
                     "SELECT value FROM swath_meta WHERE key = 'schema_version'", 0, NULL, &res);
  if (r) return r;
  *v = PQntuples(res) ? atoi(PQgetvalue(res, 0, 0)) : 0;
  PQclear(res);
  return 0;
}

static int too_new(swath_pg *pg, int v) {
  return swath_error_set(SWATH_EINVAL,
                         "queue at %s: schema version %d is newer than this swath knows (%d): "
                         "use a newer swath",
                         swath__pg_where(pg), v, SWATH_QUEUE_SCHEMA);
}

static int migrate(swath_pg *pg, void *ud) {
  (void)ud;
  int v = 0, r = read_version(pg, &v);
  if (!r && v == SWATH_QUEUE_SCHEMA) return 0;
  if (!r && v > SWATH_QUEUE_SCHEMA) return too_new(pg, v);
  if (r && strcmp(swath__pg_sqlstate(pg), "42P01")) return r; /* not "no such table" */
  if ((r = swath__pg_begin(pg))) return r;
  r = swath__pg_exec(pg, "create swath_meta",
                     "CREATE TABLE IF NOT EXISTS swath_meta(key text PRIMARY KEY,"
                     " value text NOT NULL)",
                     0, NULL, NULL);
  /* Another process created it at the same moment: run again, it exists. */
  if (r && (!strcmp(swath__pg_sqlstate(pg), "23505") || !strcmp(swath__pg_sqlstate(pg), "42P07")))
    return SWATH_ETRANSIENT;
  if (!r)
    r = swath__pg_exec(pg, "lock swath_meta", "LOCK TABLE swath_meta IN EXCLUSIVE MODE", 0, NULL,
                       NULL);
  if (!r) r = read_version(pg, &v);
  if (r) return r;
  if (v > SWATH_QUEUE_SCHEMA) return too_new(pg, v);
  for (; v < SWATH_QUEUE_SCHEMA; v++)
    for (const char *const *s = steps[v]; *s; s++)
      if ((r = swath__pg_exec(pg, "create the schema", *s, 0, NULL, NULL))) return r;
  char ver[24];
  swath__pg_i64(ver, SWATH_QUEUE_SCHEMA);
  const char *p[] = {ver};
  r = swath__pg_exec(pg, "record the schema version",
                     "INSERT INTO swath_meta(key, value) VALUES ('schema_version', $1)"
                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     1, p, NULL);
  return r ? r : swath__pg_commit(pg);
}

int swath__queue_call(swath_queue *q, int (*fn)(swath_pg *pg, void *ud), void *ud) {
  pthread_mutex_lock(&q->lock);
  int r;
  if (q->depth > 0) {
    r = swath_error_set(SWATH_EINTERNAL,
                        "queue: called from inside another call on the same queue (a commit "
                        "function must not use the queue)");
  } else {
    q->depth++;
    r = swath__pg_call(q->pg, fn, ud);
    q->depth--;
  }
  pthread_mutex_unlock(&q->lock);
  return r;
}

int swath__queue_reconnects(swath_queue *q) {
  pthread_mutex_lock(&q->lock);
  int n = swath__pg_reconnects(q->pg);
  pthread_mutex_unlock(&q->lock);
  return n;
}

int swath_queue_open(const char *conninfo, swath_queue **out) {
  *out = NULL;
  swath_queue *q = calloc(1, sizeof *q);
  if (!q) return swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  pthread_mutexattr_t a;
  pthread_mutexattr_init(&a);
  pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&q->lock, &a);
  pthread_mutexattr_destroy(&a);
  int r = swath__pg_open(conninfo, &q->pg);
  if (!r) r = swath__queue_call(q, migrate, NULL);
  /* A server that refuses to make the schema (rights) or keeps dropping us:
   * the conninfo is wrong for a queue, as with one that cannot be reached. */
  if (r == SWATH_EIO) r = swath_error_set(SWATH_EINVAL, "%s", swath_error_message());
  if (r) {
    swath_queue_close(q);
    return r;
  }
  *out = q;
  return 0;
}

void swath_queue_close(swath_queue *q) {
  if (!q) return;
  swath__pg_close(q->pg);
  pthread_mutex_destroy(&q->lock);
  free(q);
}
