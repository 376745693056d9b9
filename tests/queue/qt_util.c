/* qt_util.c: see qt.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/error.h"
#include "qt.h"

const char *qt_env(const char *name) {
  const char *v = getenv(name);
  if (!v || !*v) fail_msg("%s is not set (tests/integration/test_queue.sh sets it)", name);
  return v;
}

static PGresult *run_on(PGconn *c, const char *fmt, va_list ap) {
  char sql[4096];
  vsnprintf(sql, sizeof sql, fmt, ap);
  PGresult *r = PQexec(c, sql);
  ExecStatusType s = PQresultStatus(r);
  if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
    fprintf(stderr, "SQL failed: %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return NULL;
  }
  return r;
}

static PGresult *run(qt *t, const char *fmt, va_list ap) {
  PGresult *r = run_on(t->admin, fmt, ap);
  if (!r) fail_msg("SQL failed (see above)");
  return r;
}

long long qt_i64(qt *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  PGresult *r = run(t, fmt, ap);
  va_end(ap);
  if (PQntuples(r) < 1) fail_msg("query returned no row");
  long long v = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return v;
}

double qt_f64(qt *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  PGresult *r = run(t, fmt, ap);
  va_end(ap);
  if (PQntuples(r) < 1) fail_msg("query returned no row");
  double v = PQgetisnull(r, 0, 0) ? 0 : strtod(PQgetvalue(r, 0, 0), NULL);
  PQclear(r);
  return v;
}

char *qt_text(qt *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  PGresult *r = run(t, fmt, ap);
  va_end(ap);
  char *v = PQntuples(r) && !PQgetisnull(r, 0, 0) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
  PQclear(r);
  return v;
}

void qt_exec(qt *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  PQclear(run(t, fmt, ap));
  va_end(ap);
}

long long qt_i64_on(PGconn *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  PGresult *r = run_on(c, fmt, ap);
  va_end(ap);
  if (!r || PQntuples(r) < 1) {
    PQclear(r);
    return -1;
  }
  long long v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return v;
}

static void quiet(void *ud, const char *message) {
  (void)ud;
  (void)message;
}

qt *qt_new(const char *name) {
  qt *t = calloc(1, sizeof *t);
  assert_non_null(t);
  snprintf(t->db, sizeof t->db, "%s", name);
  char info[700];
  snprintf(info, sizeof info, "%s dbname=postgres", qt_env("SWATH_QUEUE_PG"));
  PGconn *c = PQconnectdb(info);
  if (PQstatus(c) != CONNECTION_OK) fail_msg("cannot connect: %s", PQerrorMessage(c));
  PQsetNoticeProcessor(c, quiet, NULL);
  char sql[200];
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
  PQclear(PQexec(c, sql));
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) fail_msg("%s: %s", sql, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
  snprintf(t->pgb, sizeof t->pgb, "%s dbname=%s", qt_env("SWATH_QUEUE_PGB"), name);
  snprintf(t->pg, sizeof t->pg, "%s dbname=%s", qt_env("SWATH_QUEUE_PG"), name);
  t->admin = PQconnectdb(t->pg);
  if (PQstatus(t->admin) != CONNECTION_OK) fail_msg("cannot connect: %s", PQerrorMessage(t->admin));
  int rc = swath_queue_open(t->pgb, &t->q);
  if (rc) fail_msg("swath_queue_open: %s", swath_error_message());
  return t;
}

void qt_free(qt *t) {
  if (!t) return;
  swath_queue_close(t->q);
  PQfinish(t->admin);
  free(t);
}

/* ---- the generated job ---- */

static int cell_kept(const qt_gen *g, long long x, long long y) {
  return x >= 0 && y >= 0 && x < g->w && y < g->h && (x * 7 + y * 13) % 11 != 0;
}

int qt_gen_has(const qt_gen *g, int z, long long x, long long y) {
  if (z == g->cell_zoom) return cell_kept(g, x, y);
  if (z > g->cell_zoom || z < g->min_zoom || (!g->tiles_above && z != g->cell_zoom)) return 0;
  for (int i = 0; i < 4; i++)
    if (qt_gen_has(g, z + 1, 2 * x + (i & 1), 2 * y + (i >> 1))) return 1;
  return 0;
}

void qt_gen_init(qt_gen *g, int min_zoom, int cell_zoom, int w, int h, int overviews) {
  memset(g, 0, sizeof *g);
  g->min_zoom = min_zoom;
  g->cell_zoom = cell_zoom;
  g->w = w;
  g->h = h;
  g->overviews = overviews;
  g->tiles_above = overviews;
  g->z = cell_zoom;
}

/* Columns and rows of zoom z that may hold a task. */
static void level(const qt_gen *g, int z, long long *cols, long long *rows) {
  int s = g->cell_zoom - z;
  *cols = ((long long)g->w + (1LL << s) - 1) >> s;
  *rows = ((long long)g->h + (1LL << s) - 1) >> s;
}

int qt_gen_next(void *ud, swath_qtask *t) {
  qt_gen *g = ud;
  int low = g->tiles_above ? g->min_zoom : g->cell_zoom;
  for (;;) {
    if (g->z < low) return 0;
    long long cols, rows;
    level(g, g->z, &cols, &rows);
    if (g->y >= rows) {
      g->z--;
      g->x = g->y = 0;
      continue;
    }
    long long x = g->x, y = g->y;
    if (++g->x >= cols) {
      g->x = 0;
      g->y++;
    }
    if (!qt_gen_has(g, g->z, x, y)) continue;
    if (g->restart_at && g->given == g->restart_at && system(g->restart_cmd) != 0)
      return swath_error_set(SWATH_EIO, "generator: %s failed", g->restart_cmd);
    if (g->fail_after && g->given == g->fail_after)
      return swath_error_set(SWATH_EIO, "generator: stopped on purpose");
    *t = (swath_qtask){
        g->z == g->cell_zoom ? SWATH_QTASK_CELL : SWATH_QTASK_TILE, {g->z, x, y}, 4 + (x + y) % 3};
    g->given++;
    g->tiles += t->tiles;
    if (g->dup_at && g->given == g->dup_at) {
      /* the same task again on the next call */
      g->x = x;
      g->y = y;
      g->dup_at = 0;
    }
    return 1;
  }
}

long long qt_gen_count(const qt_gen *g, long long *top) {
  long long n = 0;
  *top = 0;
  int low = g->tiles_above ? g->min_zoom : g->cell_zoom;
  for (int z = g->cell_zoom; z >= low; z--) {
    long long cols, rows;
    level(g, z, &cols, &rows);
    for (long long y = 0; y < rows; y++)
      for (long long x = 0; x < cols; x++)
        if (qt_gen_has(g, z, x, y)) {
          n++;
          if (z == low) ++*top;
        }
  }
  return n;
}

swath_qjob_spec qt_spec(const qt_gen *g, const char *key, int max_attempts) {
  return (swath_qjob_spec){key,          "process: convert\n", "job.yaml",
                           "/tmp/out",   g->min_zoom,          g->cell_zoom + 2,
                           g->cell_zoom, g->overviews,         max_attempts};
}

int64_t qt_submit(qt *t, qt_gen *g, const char *key, int max_attempts, int64_t *ntasks) {
  swath_qjob_spec s = qt_spec(g, key, max_attempts);
  int64_t id = 0, n = 0;
  int r = swath_queue_submit(t->q, &s, qt_gen_next, g, &id, &n);
  if (r) fail_msg("submit: %s", swath_error_message());
  if (ntasks) *ntasks = n;
  return id;
}

int qt_claim(qt *t, const char *owner, int64_t job, int n, int lease_s, swath_claim *out) {
  int got = -1;
  if (swath_queue_claim(t->q, owner, job, n, lease_s, out, &got))
    fail_msg("claim: %s", swath_error_message());
  return got;
}

long long qt_job(qt *t, int64_t job, const char *column) {
  return qt_i64(t, "SELECT %s FROM swath_jobs WHERE id = %lld", column, (long long)job);
}

void qt_sleep(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts)) {
  }
}

int qt_count_commit(void *ud) {
  ++*(long *)ud;
  return 0;
}
