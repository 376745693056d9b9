/* qt.h: helpers of the queue test driver (queue_test.c): a database of its
 * own per test, reached through pgbouncer for the queue and directly for
 * the test's own look at the tables, and a job generator whose tasks and
 * counters the test knows without asking the queue.
 *
 * Environment: SWATH_QUEUE_PGB, SWATH_QUEUE_PG: libpq conninfos without a
 * dbname, through pgbouncer and straight to the server;
 * SWATH_QUEUE_RESTART: a command that restarts pgbouncer. */
#ifndef SWATH_TESTS_QT_H
#define SWATH_TESTS_QT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "engine/queue.h"

typedef struct qt {
  char db[64];
  char pgb[600], pg[600]; /* conninfos of the test's database */
  PGconn *admin;          /* straight to the server */
  swath_queue *q;         /* through pgbouncer */
} qt;

/* A new database `name` (dropped first if left over) with the queue open
 * on it. Fails the test on any error. */
qt *qt_new(const char *name);
void qt_free(qt *t);
/* The environment variable, or the test fails. */
const char *qt_env(const char *name);

/* SQL on the test's own connection (printf-style; numbers only). */
long long qt_i64(qt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
double qt_f64(qt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The first value as text (the caller frees it; NULL for SQL NULL). */
char *qt_text(qt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qt_exec(qt *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same on any connection; -1 on error (children of fork use these). */
long long qt_i64_on(PGconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A job: cells at cell_zoom over a W x H grid of which a fixed pattern
 * is left out (so parents have 1 to 4 children), with, if overviews,
 * every TILE above them down to min_zoom that has some cell under it. */
typedef struct qt_gen {
  int min_zoom, cell_zoom, w, h, overviews;
  int tiles_above;      /* give the TILEs (default: overviews) */
  long long fail_after; /* next() returns SWATH_EIO after this many (0: never) */
  long long dup_at;     /* give the task at this index twice (0: never) */
  long long restart_at; /* run restart_cmd before this task (0: never) */
  const char *restart_cmd;
  /* cursor */
  int z;
  long long x, y, given;
  long long tiles; /* sum of the tasks' tiles given so far */
} qt_gen;

void qt_gen_init(qt_gen *g, int min_zoom, int cell_zoom, int w, int h, int overviews);
int qt_gen_next(void *ud, swath_qtask *t);
/* 1 if the generated job has a task at (z, x, y). */
int qt_gen_has(const qt_gen *g, int z, long long x, long long y);
/* The tasks of the job, FINISH excluded, and those at min_zoom. */
long long qt_gen_count(const qt_gen *g, long long *top);
swath_qjob_spec qt_spec(const qt_gen *g, const char *key, int max_attempts);
/* Claims of `owner` (the test fails on an error); the number claimed. */
int qt_claim(qt *t, const char *owner, int64_t job, int n, int lease_s, swath_claim *out);
/* A column of the job's row. */
long long qt_job(qt *t, int64_t job, const char *column);
/* Sleep s seconds. */
void qt_sleep(double s);
/* A commit function that counts its calls in *(long *)ud. */
int qt_count_commit(void *ud);
/* Submit a generated job; its id. */
int64_t qt_submit(qt *t, qt_gen *g, const char *key, int max_attempts, int64_t *ntasks);

#endif
