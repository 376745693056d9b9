/* jobs.h: where the job service (server/processes.c) keeps its jobs and
 * how they run: one interface, two backends.
 *
 *   jobs_queue.c  the PostgreSQL queue (engine/queue.h): swath_submit cuts
 *                 the job into tasks, `swath worker` processes anywhere run
 *                 them; one connection per server thread.
 *   jobs_local.c  one machine: a SQLite file holds the jobs, runner threads
 *                 of the serving process run each with swath_run (its own
 *                 state in the output, so a run resumes as `swath run`
 *                 resumes); no PostgreSQL.
 *
 * Both describe a job as engine/queue.h's swath_qjob, so the documents
 * (processes_doc.c) and every handler are the same over either. Every call
 * may come from any server thread at any time. */
#ifndef SWATH_SERVER_JOBS_H
#define SWATH_SERVER_JOBS_H

#include <stdint.h>

#include "engine/job.h"
#include "engine/queue.h"

typedef struct swath_jobs_vtable {
  const char *name; /* "postgresql", "local" */
  /* A loaded job (its text the job's own, its path recorded with it),
   * checked as `swath submit` (queue) or `swath run --check` (local) check
   * it, then stored: *id the new job's id. Bad jobs: SWATH_EINVAL with one
   * line; nothing stored. */
  int (*submit)(void *st, const swath_job *job, const char *path, int max_attempts, int64_t *id);
  /* One job (SWATH_ENOTFOUND with one line if none), to be cleared. */
  int (*get)(void *st, int64_t id, swath_qjob *out);
  /* As swath_queue_jobs_page: newest first, ids below `before` (0: any),
   * states in the bit set `states` (0: any), at most `limit`. */
  int (*page)(void *st, int64_t before, unsigned states, int limit, swath_qjob **out, int *n);
  /* Stop the job (running work stops soon, nothing more of it runs). A
   * finished (done) job: SWATH_EINVAL. */
  int (*cancel)(void *st, int64_t id);
  /* Run the job to its end in the calling thread (`threads` compute
   * threads, 0: the cores), or wait for whoever runs it: the synchronous
   * execution. 0 once it ended, whatever its state. */
  int (*run_sync)(void *st, int64_t id, int threads);
  /* Stop what runs (jobs stay as they are, to go on at the next start)
   * and free. */
  void (*close)(void *st);
} swath_jobs_vtable;

typedef struct swath_jobs {
  const swath_jobs_vtable *vt;
  void *st;
} swath_jobs;

extern const swath_jobs_vtable swath_jobs_queue;
extern const swath_jobs_vtable swath_jobs_local;

/* The PostgreSQL queue at conninfo (reached once, to fail early). */
int swath_jobs_queue_open(const char *conninfo, void **st);

typedef struct swath_jobs_local_config {
  const char *path; /* the SQLite file (created if missing) */
  int workers;      /* runner threads (>= 1) */
  int threads;      /* compute threads of each run (0: the cores) */
} swath_jobs_local_config;

/* The schema version of the jobs file this build creates (a newer one is
 * refused naming both). */
#define SWATH_JOBS_LOCAL_SCHEMA 1

/* Open (or create) the jobs file, take jobs left running by a process
 * that died back into the queue, and start the runners. SWATH_EINVAL with
 * one line for a file that cannot be written, is not a jobs file, has a
 * newer schema, or is in use by another `swath serve`. */
int swath_jobs_local_open(const swath_jobs_local_config *cfg, void **st);

#endif
