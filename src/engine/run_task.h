/* run_task.h: a queued job's tasks run one at a time in this process (a
 * `swath worker`): the job's set-up once (inputs probed, area, process and
 * its model, output checked), then each task over its own subtree with the
 * run's worker threads and fetch stage, its tiles staged (engine/stage.h)
 * until the queue accepts it. A task makes exactly what `swath run` of the
 * whole job makes under its root: the same plan, restricted to the root
 * (plan.h), over the same store calls (the queue's view of the job).
 *
 * Not thread-safe, except swath_task_runner_abort. */
#ifndef SWATH_ENGINE_RUN_TASK_H
#define SWATH_ENGINE_RUN_TASK_H

#include <stdint.h>

#include "core/area.h"
#include "engine/job.h"
#include "engine/store.h"

typedef struct swath_task_runner swath_task_runner;

typedef struct swath_task_result {
  int64_t tasks;         /* metatiles done or empty */
  int64_t tiles_written; /* tiles staged */
  int64_t features;      /* features kept (a vector process) */
  double seconds;
} swath_task_result;

/* Set the job up for `workers` threads (0: the cores), its state in
 * `store` (not owned; the queue's view of the job). Every check a run
 * makes before writing is made here; SWATH_EINVAL for a job that cannot be
 * run from a queue (an output that is not a folder of tiles, features in a
 * file rather than PostGIS). */
int swath_task_runner_open(const swath_job *job, int workers, const swath_store_vtable *store,
                           void *store_state, swath_task_runner **out);
/* The same set-up and checks, writing nothing (no output folder made, no
 * task can run): what swath submit and swath plan need to know. `yes`: a
 * remote job without area may be as large as it is (engine/job_size.h). */
int swath_task_runner_check(const swath_job *job, int yes, swath_task_runner **out);
/* swath submit: an output folder that holds tiles is refused (SWATH_EINVAL,
 * one line), or with `overwrite` emptied. */
int swath_task_runner_check_output(swath_task_runner *tr, int overwrite);
/* What the set-up found: the area (owned by the runner), whether the job
 * builds overviews from children (its TILE tasks are then overviews), and
 * whether its process finds features. */
const swath_area *swath_task_runner_area(const swath_task_runner *tr);
int swath_task_runner_overviews(const swath_task_runner *tr);
int swath_task_runner_vector(const swath_task_runner *tr);
/* Run the task rooted at metatile `root` down to `max_zoom`, attempt
 * `attempt`: its tiles staged. 0 when every metatile ended done or empty;
 * SWATH_EIO with the first failure's message; SWATH_EINTR when aborted or
 * interrupted. */
int swath_task_runner_run(swath_task_runner *tr, swath_tile root, int max_zoom, int attempt,
                          swath_task_result *res);
/* Stop the running task soon (its lease was lost, the job cancelled): from
 * any thread. */
void swath_task_runner_abort(swath_task_runner *tr);
/* The staged tiles of the last task moved into place (the queue's commit
 * step), or dropped. */
int swath_task_runner_commit(void *tr);
void swath_task_runner_discard(swath_task_runner *tr);
/* The product's metadata (tilejson.json, stac.json, job.yaml) from every
 * task the store records, and the staging folder removed: the FINISH task. */
int swath_task_runner_finish(swath_task_runner *tr);
void swath_task_runner_close(swath_task_runner *tr);

#endif
