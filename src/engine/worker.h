/* worker.h: `swath worker`: claim tasks from the PostgreSQL queue
 * (engine/queue.h), run them (engine/run_task.h), complete them fenced,
 * until there is nothing left to do or the process is stopped.
 *
 * A heartbeat thread, with its own connection, renews the leases of the
 * claimed tasks every third of a lease and records the worker as alive; a
 * lease found lost (taken over after it expired, or the job cancelled)
 * stops the task at once and its staged tiles are dropped. SIGINT/SIGTERM
 * stop the running task, hand back the claims not started and exit; kill
 * -9 leaves the leases to expire, and the tasks run again elsewhere. */
#ifndef SWATH_ENGINE_WORKER_H
#define SWATH_ENGINE_WORKER_H

#include <stdint.h>

typedef struct swath_worker_opts {
  const char *conninfo; /* the queue's database (directly or through pgbouncer) */
  int threads;          /* compute threads per task (0: the cores) */
  int64_t job;          /* only this job's tasks (0: any job's, oldest first) */
  int batch;            /* tasks claimed at once (>= 1) */
  int lease;            /* seconds a claim lasts without a heartbeat (>= 3) */
  int wait;             /* when idle, keep polling for new jobs instead of exiting */
} swath_worker_opts;

typedef struct swath_worker_stats {
  int64_t tasks;  /* tasks completed and accepted */
  int64_t failed; /* tasks that failed here (retried by the queue) */
  int64_t lost;   /* tasks dropped: lease lost or completion refused (fenced) */
  int64_t tiles;  /* tiles written by accepted tasks */
  double seconds;
} swath_worker_stats;

/* Returns 0 when the work ran out (or, with o->job, that job ended);
 * SWATH_EINTR when stopped by a signal; SWATH_EINVAL for a queue that
 * cannot be reached at start. Task failures are the queue's business (it
 * retries them) and do not make the worker fail. */
int swath_worker_run(const swath_worker_opts *o, swath_worker_stats *st);

#endif
