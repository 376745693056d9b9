/* job_memory.h: a worker's peak memory for a job, estimated before it
 * runs (swath plan; the memory request of a worker pod).
 *
 * The parts: what the process holds once the job is set up (libraries,
 * inputs probed, process and model loaded: measured, not guessed), the
 * buffers each compute thread holds for one metatile (the input block with
 * its pixel buffer, the output block, the tiles being encoded), the
 * overview tiles half built while a task runs, GDAL's block cache (bounded
 * by GDAL_CACHEMAX) and, for remote inputs, the downloads in flight. The
 * figures are checked against measured peaks by bench/memory.sh. */
#ifndef SWATH_ENGINE_JOB_MEMORY_H
#define SWATH_ENGINE_JOB_MEMORY_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/job.h"
#include "engine/run_task.h"

typedef struct swath_job_memory {
  int workers;        /* compute threads */
  int64_t base;       /* bytes held after the set-up (measured) */
  int64_t per_thread; /* one compute thread's buffers */
  int64_t overviews;  /* overview tiles half built */
  int64_t gdal_cache; /* GDAL's block cache */
  int64_t fetch;      /* remote downloads in flight */
  int64_t model;      /* model instances beyond the one the set-up loaded */
  int64_t total;      /* the estimated peak resident set */
} swath_job_memory;

/* Estimate for `workers` threads (0: the cores) of a worker running the
 * job's queue tasks with cells at `cell_zoom` (a whole run: the job's
 * min_zoom), set up by `tr` (swath_task_runner_check). */
int swath_job_memory_estimate(const swath_job *job, swath_task_runner *tr, int workers,
                              int cell_zoom, swath_job_memory *out);
/* As JSON (bytes, and MiB for people); NULL if out of memory. */
json_t *swath_job_memory_json(const swath_job_memory *m);
/* swath plan's lines, from that JSON. */
void swath_job_memory_print(FILE *f, const json_t *m);

#endif
