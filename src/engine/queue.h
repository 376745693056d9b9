/* queue.h: a job's tasks in a shared queue on PostgreSQL, drained by any
 * number of `swath worker` processes on any number of machines.
 *
 * A submitted job is a row in swath_jobs (its YAML text, key, output, state)
 * and its tasks rows in swath_tasks:
 *   CELL   a metatile at the cell zoom and everything under it down to the
 *          job's top zoom (computed from the inputs, overviews built inside
 *          the cell): seconds to minutes of work;
 *   TILE   one metatile above the cell zoom: an overview of its four
 *          children (claimable when they are all finished: a counter of
 *          unfinished children in the row, not a graph in memory), or, in a
 *          job without overviews, a metatile computed from the inputs;
 *   FINISH one per job: the product's metadata, claimable once every task
 *          without a parent task is finished.
 * A task's parent is the TILE at (z-1, x/2, y/2) when the job has overviews
 * and z is above the lowest zoom; else the FINISH task.
 *
 * Claims take ready tasks with FOR UPDATE SKIP LOCKED, in batches, and
 * give each a lease (owner, expiry, attempt number); a worker renews its
 * leases by heartbeat; a task whose lease expired is claimable again (the
 * job's expired-lease count goes up). Completion is fenced: it is accepted
 * only while the row still holds the caller's attempt (the row locked for
 * the whole transaction, so no claim can take it meanwhile), and the
 * caller's commit function (moving the task's staged files into place)
 * runs inside that transaction; a refused completion is counted on the job
 * and its files are never moved. A failure is retried with exponential
 * backoff and jitter up to the job's max_attempts, then the task is FAILED
 * with the last message.
 *
 * Everything works through pgbouncer in transaction pooling: every call is
 * one transaction (or one statement), no session state, no named prepared
 * statements, no advisory locks; a dropped connection is re-opened and the
 * call retried (a transaction that did not commit did nothing).
 *
 * One swath_queue is one connection. Its calls are serialised by a lock: a
 * thread waits while another's call runs (a heartbeat that must not wait
 * behind a long commit function wants a swath_queue of its own); a call
 * made from inside a call on the same queue (a commit function using it)
 * is refused with SWATH_EINTERNAL. */
#ifndef SWATH_ENGINE_QUEUE_H
#define SWATH_ENGINE_QUEUE_H

#include <stdint.h>

#include "core/grid.h"
#include "engine/store.h"

/* The schema version this build creates and migrates to. */
#define SWATH_QUEUE_SCHEMA 1

enum swath_qtask_kind { SWATH_QTASK_CELL = 0, SWATH_QTASK_TILE = 1, SWATH_QTASK_FINISH = 2 };

enum swath_qtask_state {
  SWATH_QTASK_WAITING = 0, /* children unfinished */
  SWATH_QTASK_READY = 1,
  SWATH_QTASK_RUNNING = 2,
  SWATH_QTASK_DONE = 3,
  SWATH_QTASK_EMPTY = 4,
  SWATH_QTASK_FAILED = 5
};

enum swath_qjob_state {
  SWATH_QJOB_PLANNING = 0, /* tasks being inserted: nothing claimable yet */
  SWATH_QJOB_QUEUED = 1,   /* planned, no task claimed yet */
  SWATH_QJOB_RUNNING = 2,
  SWATH_QJOB_DONE = 3,     /* every task done or empty, FINISH included */
  SWATH_QJOB_FAILED = 4,   /* some task FAILED and nothing else can run */
  SWATH_QJOB_CANCELLED = 5 /* swath cancel: nothing claimable, running tasks dropped */
};

/* Name of a state ("queued", ...). */
const char *swath_qjob_state_name(int state);
const char *swath_qtask_state_name(int state);

typedef struct swath_queue swath_queue;

/* Connect (a libpq conninfo or postgresql:// URI) and create or migrate
 * the schema to SWATH_QUEUE_SCHEMA (a newer schema than this build knows:
 * SWATH_EINVAL naming both versions). SWATH_EINVAL with one line for a
 * server that cannot be reached or refuses (the conninfo's password never
 * in the message). */
int swath_queue_open(const char *conninfo, swath_queue **out);
void swath_queue_close(swath_queue *q);

/* ---- submit ---- */

typedef struct swath_qtask {
  int kind;      /* enum swath_qtask_kind */
  swath_tile mt; /* metatile (z, x, y); FINISH: unused */
  int64_t tiles; /* output tiles the task writes at most (progress) */
} swath_qtask;

typedef struct swath_qjob_spec {
  const char *key;    /* the job key (engine/job.h): same key, same product */
  const char *yaml;   /* the job text, run by every worker */
  const char *path;   /* the job file's path, for messages */
  const char *output; /* the output location */
  int min_zoom, max_zoom;
  int cell_zoom;    /* zoom of the CELL tasks */
  int overviews;    /* TILE tasks are built from their children */
  int max_attempts; /* attempts per task before FAILED (>= 1) */
} swath_qjob_spec;

/* Create a job and stream its tasks into the queue: `next` returns 1 with
 * *t filled, 0 at the end, or a negative code (the submit is rolled back).
 * Rows go in batches (COPY), the memory used does not depend on the number
 * of tasks; the children counters are set by the server afterwards; the
 * FINISH task is added by the queue. The job becomes QUEUED only once
 * every task is in. *job_id gets the new job's id; *ntasks the tasks
 * inserted (FINISH included). */
int swath_queue_submit(swath_queue *q, const swath_qjob_spec *spec,
                       int (*next)(void *ud, swath_qtask *t), void *ud, int64_t *job_id,
                       int64_t *ntasks);

/* ---- claims, leases, completion ---- */

typedef struct swath_claim {
  int64_t job;
  int kind; /* enum swath_qtask_kind */
  swath_tile mt;
  int attempt; /* 1 for the first claim; the fencing token */
  int64_t tiles;
} swath_claim;

/* Claim up to n ready tasks for `owner` (unique per worker process, e.g.
 * host:pid:start), of job `job` (0: of any QUEUED or RUNNING job, oldest
 * job first), with a lease of lease_s seconds. Ready: READY with its
 * backoff passed, or RUNNING with its lease expired. Overview and FINISH
 * tasks go before cells. A job's first claim makes it RUNNING. *got: the
 * number claimed (0: nothing ready now). */
int swath_queue_claim(swath_queue *q, const char *owner, int64_t job, int n, int lease_s,
                      swath_claim *out, int *got);

/* Extend the leases of the n claims to now + lease_s. lost[i] is set to 1
 * for a claim that is not this owner's current attempt any more (expired
 * and taken by another worker) or whose job was cancelled: drop it. */
int swath_queue_renew(swath_queue *q, const char *owner, const swath_claim *c, int n, int lease_s,
                      int *lost);

/* Fenced completion of claim c as DONE or EMPTY, in one transaction: the
 * row locked and checked to be RUNNING with c->attempt and owner (and its
 * job not cancelled); then `commit(ud)` (may be NULL) moves the task's
 * files into place, its marks (the store view's buffer, see
 * swath_store_pg_view) are written, the task finished, its parent's
 * counter decremented (and the parent made READY at zero), the job's
 * counters updated. Returns 0 if accepted; SWATH_EEMPTY if refused
 * (fenced: counted on the job; commit never called); commit's error (the
 * transaction rolled back) or SWATH_EIO otherwise. A connection lost
 * before the COMMIT runs the whole call again, commit included: commit
 * must be safe to run twice (moving files already in place does nothing);
 * a call whose COMMIT went through but whose answer was lost is seen as
 * accepted on the second run (0, nothing done twice). */
int swath_queue_complete(swath_queue *q, const char *owner, const swath_claim *c, int state,
                         int64_t tiles_written, void *marks, int (*commit)(void *ud), void *ud);

/* Fenced failure of claim c with `message`: back to READY with not_before
 * = now + backoff (base 2 s doubled per attempt, capped at 5 min, jitter
 * 0.5-1.5x), or FAILED after the job's max_attempts (and the job FAILED
 * once nothing else can run: no task READY or RUNNING). SWATH_EEMPTY if
 * fenced. A try is a claim not released: an expired lease counts too, and
 * a task whose lease expires on its last try is FAILED (by the next claim)
 * with a message saying so. */
int swath_queue_fail(swath_queue *q, const char *owner, const swath_claim *c, const char *message);

/* Hand back claims not started (a worker stopping): READY again, the
 * attempt not counted as a failure. */
int swath_queue_release(swath_queue *q, const char *owner, const swath_claim *c, int n);

/* ---- jobs ---- */

typedef struct swath_qjob {
  int64_t id;
  char *key, *yaml, *path, *output; /* owned: swath_qjob_clear */
  int state;                        /* enum swath_qjob_state */
  int min_zoom, max_zoom, cell_zoom, overviews, max_attempts;
  double created, started, finished, updated; /* Unix seconds; 0 if not yet */
  int64_t tasks, tasks_done, tasks_empty, tasks_failed, tasks_running, tasks_ready;
  int64_t tiles_total, tiles_written;
  int64_t expired_leases, fenced;
  int workers_alive; /* workers with a heartbeat in the last 3 leases that claimed from it */
  double rate;       /* tiles/s over the last minute of completions (0 if none) */
  double eta;        /* seconds, from the rate (-1 if unknown) */
  char *last_error;  /* the last failure message, or NULL */
} swath_qjob;

void swath_qjob_clear(swath_qjob *j);
/* One job by id (SWATH_ENOTFOUND with one line if none). */
int swath_queue_job(swath_queue *q, int64_t id, swath_qjob *out);
/* The newest `limit` jobs, newest first; *n set; each to be cleared. */
int swath_queue_jobs(swath_queue *q, int limit, swath_qjob **out, int *n);
/* A page of jobs, newest first: at most `limit`, with an id below
 * `before` (0: from the newest), in a state whose bit (1 << state) is set
 * in `states` (0: any). */
int swath_queue_jobs_page(swath_queue *q, int64_t before, unsigned states, int limit,
                          swath_qjob **out, int *n);
/* Stop claims of the job; running tasks are lost at their next renew and
 * their completions refused. A DONE job: SWATH_EINVAL. */
int swath_queue_cancel(swath_queue *q, int64_t id);
/* Re-queue the job's FAILED tasks (attempts reset) and make it RUNNING
 * again (a CANCELLED job too; a DONE one: SWATH_EINVAL); *n the tasks
 * re-queued. */
int swath_queue_retry(swath_queue *q, int64_t id, int64_t *n);
/* Each FAILED task of the job: fn(ud, kind, mt, message). */
int swath_queue_each_failed(swath_queue *q, int64_t id,
                            void (*fn)(void *ud, int kind, swath_tile mt, const char *msg),
                            void *ud);
/* A worker's heartbeat: (owner, host, pid, the job it works on or 0). */
int swath_queue_beat(swath_queue *q, const char *owner, const char *host, int pid, int64_t job);
/* Mark the job DONE (the FINISH task's worker, after the metadata), once
 * the FINISH task's completion was accepted: SWATH_EINVAL while some task,
 * FINISH included, is not DONE or EMPTY. Again on a DONE job: 0. */
int swath_queue_job_done(swath_queue *q, int64_t id);

/* The queue as a whole, for metrics (queue_stats.c): jobs by state,
 * tasks ready to claim and running, tiles written per second over the
 * last minute (every job), workers with a heartbeat in the last minute. */
typedef struct swath_qstats {
  int64_t jobs[SWATH_QJOB_CANCELLED + 1]; /* by enum swath_qjob_state */
  int64_t tasks_ready, tasks_running, workers_alive;
  double tiles_per_s;
} swath_qstats;
int swath_queue_stats(swath_queue *q, swath_qstats *out);

/* ---- the engine's view of one job (store.h) ----
 *
 * A swath_store_vtable over the job's marks in PostgreSQL: get() reads the
 * view's own buffered marks, then those finished tasks committed (the
 * children an overview task is built from), mark() buffers in memory, and the buffer is written by
 * the next swath_queue_complete (pass the state as `marks`), so a task's marks are durable exactly
 * when its completion is accepted. flush() does nothing. tile_limits() aggregates every committed
 * mark of the job. One view per task in progress: a completion writes every mark the view holds.
 * Through the registry ("postgresql"), open(uri, job_key) takes a libpq
 * conninfo and the newest job with that key (none: SWATH_ENOTFOUND) on a
 * connection of its own, and flush() writes the marks. */
extern const swath_store_vtable swath_store_pg;
/* A view of job `job` over connection q (not owned). */
int swath_store_pg_view(swath_queue *q, int64_t job, int metatiling, void **state);
/* Drop the buffered marks (a task that failed or was fenced). */
void swath_store_pg_discard(void *state);

#endif
