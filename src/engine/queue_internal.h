/* queue_internal.h: what the queue's files (queue_*.c, store_pg.c) share:
 * the queue object, the locked call wrapper, the task and job states as
 * the SQL text spells them, and the store view's hooks for complete().
 *
 * A swath_queue is one connection behind a mutex: a call from another
 * thread waits; a call from inside a call on the same queue (complete's
 * commit function calling the queue) is refused with SWATH_EINTERNAL
 * rather than run inside the open transaction. */
#ifndef SWATH_ENGINE_QUEUE_INTERNAL_H
#define SWATH_ENGINE_QUEUE_INTERNAL_H

#include <pthread.h>

#include "engine/pg_conn.h"
#include "engine/queue.h"

struct swath_queue {
  swath_pg *pg;
  pthread_mutex_t lock; /* recursive, to see a nested call and refuse it */
  int depth;
};

/* fn(pg, ud) under the queue's lock, retried whole on a dropped connection. */
int swath__queue_call(swath_queue *q, int (*fn)(swath_pg *pg, void *ud), void *ud);
/* swath_queue_claim with its token given, as the call's `runs`-th run
 * (0: the first): tests run a claim "again" as a dropped connection
 * would, after its first run committed. */
int swath__queue_claim_run(swath_queue *q, const char *owner, int64_t job, int n, int lease_s,
                           long long token, int runs, swath_claim *out, int *got);
/* Reconnections so far (tests prove a restart was met and survived). */
int swath__queue_reconnects(swath_queue *q);

/* The job FAILED if some task FAILED and no task is READY or RUNNING: every
 * WAITING task then waits, through its children, on a FAILED one, so
 * nothing can run any more. job 0: every QUEUED or RUNNING job. One
 * statement; run after the commit that changed the tasks, so it sees the
 * other workers' commits too. */
int swath__queue_settle(swath_pg *pg, long long job);

/* Write the marks the view buffered, inside the caller's transaction;
 * *n gets how many (the first n of the buffer, dropped by written() once
 * the transaction committed). SWATH_EINTERNAL if the view is of another
 * job. */
int swath__store_pg_write(void *view, swath_pg *pg, long long job, int *n);
void swath__store_pg_written(void *view, int n);

#endif
