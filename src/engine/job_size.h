/* job_size.h: how big a job is, known before its first task.
 *
 * A job's tasks are counted in a thread of their own (swath_task_count), so
 * a run starts at once and its progress shows an estimate until the count
 * is in. A job with a remote input and no area covers its inputs' whole
 * footprint (for an XYZ service, the whole grid): swath_job_size_check says
 * what it is about to ask the servers, and refuses above
 * SWATH_NO_AREA_MAX_TILES tiles unless the user confirmed (--yes). Never a
 * question on stdin: swath runs in scripts and CI. */
#ifndef SWATH_ENGINE_JOB_SIZE_H
#define SWATH_ENGINE_JOB_SIZE_H

#include <stdint.h>

#include "core/area.h"
#include "engine/job.h"

/* Tiles (at the zooms computed from the inputs) above which a job with a
 * remote input and no area is refused without --yes: the world at Web
 * Mercator zoom 10 (1048576 tiles) is over, zoom 9 is under. */
#define SWATH_NO_AREA_MAX_TILES 1000000

typedef struct swath_task_count swath_task_count;

/* Start counting the metatiles of `area` at zooms z0..z1 (metatiling m) in a
 * new thread, on a clone of the area (the caller's stays its own). */
int swath_task_count_start(const swath_grid *g, const swath_area *area, int z0, int z1, int m,
                           swath_task_count **out);
/* The total: exact (*exact = 1) once counted; until then the zooms counted
 * so far plus estimates of the others (swath_area_estimate_tiles). */
int64_t swath_task_count_get(swath_task_count *c, int *exact);
/* Wait at most `seconds` for the count to end; 1 if it is exact. */
int swath_task_count_wait(swath_task_count *c, double seconds);
/* Stop counting if it still is, join the thread, free. NULL is a no-op. */
void swath_task_count_free(swath_task_count *c);

/* A job with remote input `remote` (its name; NULL: no remote input) and no
 * area, over more than SWATH_NO_AREA_MAX_TILES tiles at the zooms computed
 * from the inputs (the top zoom with overviews, else all; about one request
 * each): SWATH_EINVAL, one line that says how many tiles over what and how
 * to go ahead, unless `yes`. Else 0. Logs nothing: called while the job is
 * checked, where bad input gets one line only. */
int swath_job_size_check(const swath_job *job, const swath_area *area, const char *remote,
                         int overviews, int yes);
/* Log what such a job is about to do, once it starts: an info line, or a
 * warning above the limit (it got there with --yes). Nothing for a job
 * with an area. */
void swath_job_size_note(const swath_job *job, const swath_area *area, const char *remote,
                         int overviews);

#endif
