/* submit.h: a job put into the PostgreSQL queue (engine/queue.h), checked
 * and cut into tasks exactly as `swath submit` does it: the CLI and the
 * job service (server/processes.c) both call this, so a job posted to the
 * service and a `swath submit` of the same job file are the same job (same
 * key, same tasks, same checks). */
#ifndef SWATH_ENGINE_SUBMIT_H
#define SWATH_ENGINE_SUBMIT_H

#include <stdint.h>

#include "engine/job.h"
#include "engine/queue.h"

typedef struct swath_submit_opts {
  int cell_zoom;    /* zoom of the cells; -1: chosen from the job's size */
  int max_attempts; /* attempts per task before FAILED (>= 1) */
  int overwrite;    /* empty an output folder that holds tiles (else refused) */
  int yes;          /* a remote job without area may be as large as it is */
  /* The path recorded with the job (its folder resolves the job text's
   * relative paths on the workers); NULL: realpath(job->path), which must
   * exist. */
  const char *path;
} swath_submit_opts;

typedef struct swath_submit_result {
  int64_t id;     /* the new job's id */
  int64_t ntasks; /* tasks queued, FINISH included */
  int cell_zoom;  /* zoom of the CELL tasks */
  int overviews;  /* 1: cells with overviews built inside; 0: metatiles */
} swath_submit_result;

/* Check the job as `swath run --check` does (swath_task_runner_check and
 * the output's emptiness), then stream its tasks into queue q, or (q NULL)
 * into a queue opened on `conninfo` once the checks have passed. */
int swath_submit(swath_queue *q, const char *conninfo, const swath_job *job,
                 const swath_submit_opts *o, swath_submit_result *res);

#endif
