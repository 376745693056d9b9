/* processes.h: OGC API - Processes 1.0 (core, ogc-process-description,
 * json, oas30, job-list, dismiss) over a job backend (server/jobs.h): the
 * PostgreSQL job queue (engine/queue.h) or, on one machine, a SQLite jobs
 * file with runner threads in this process; served by http.h.
 *
 * A posted job is turned into a job text (server/exec_request.h: only
 * paths under the configured roots), loaded and submitted: to the queue
 * with swath_submit, exactly as `swath submit` does (the queue's `swath
 * worker` processes run it), or to the jobs file after `swath run
 * --check`'s checks (a runner runs it with swath_run). Below sync_tiles
 * tiles and without `Prefer: respond-async`, the request's thread runs
 * the job itself (or waits for the runner that took it) and answers with
 * its results. */
#ifndef SWATH_SERVER_PROCESSES_H
#define SWATH_SERVER_PROCESSES_H

#include <stdint.h>

#include "server/http.h"

typedef struct swath_processes_config {
  const char *db;            /* the queue's conninfo (NULL with jobs) */
  const char *jobs;          /* one machine: the SQLite jobs file (NULL: the queue at db) */
  int workers;               /* with jobs: runner threads (0: 1) */
  const char *outputs;       /* the outputs root (must exist) */
  const char *const *inputs; /* input roots (must exist); may be none */
  int ninputs;
  const char *const *plugins; /* plugin .so files served by their process names */
  int nplugins;
  int64_t sync_tiles;      /* most tiles of a job run synchronously (0: never) */
  int max_attempts;        /* attempts per task (swath submit's default: 5) */
  int sync_threads;        /* compute threads of a run in this process (0: the cores) */
  const char *features_db; /* PostGIS for posted vector jobs' features (NULL: refused) */
} swath_processes_config;

typedef struct swath_processes swath_processes;

/* Resolve the roots, load the plugins and reach the queue (SWATH_EINVAL
 * with one line naming what is wrong). */
int swath_processes_open(const swath_processes_config *cfg, swath_processes **out);
swath_http_api swath_processes_api(swath_processes *p);
/* Close after the server that served it has stopped. */
void swath_processes_close(swath_processes *p);

/* ---- for the other handlers of the API (results served, ...) ---- */
struct swath_qjob;
/* The job whose id is the request's first {} segment, into *j (to be
 * cleared): 1; or 0 with the answer already given (404 no-such-job, 400). */
int swath__processes_job(swath_processes *s, const swath_http_request *rq, swath_http_response *rs,
                         struct swath_qjob *j);
/* Jobs by state (counts[SWATH_QJOB_CANCELLED + 1], by enum
 * swath_qjob_state), through the backend's pages: /metrics's figures for
 * the one-machine backend, whose jobs are few. */
int swath__processes_job_counts(swath_processes *s, int64_t *counts);
/* The service's memory of successful jobs' pyramids (results_tiles.c). */
struct swath_pyramids *swath__processes_pyramids(swath_processes *s);
/* The outputs root, resolved (no trailing slash). */
const char *swath__processes_outputs(const swath_processes *s);

/* ---- processes_doc.c: the documents (shared by the handlers) ---- */
/* The process list entry (full: the description with its inputs). */
json_t *swath__process_doc(const char *id, const char *description, const void *params, int full,
                           const char *base);
/* A job's status document (OGC statusInfo). */
json_t *swath__job_status(const struct swath_qjob *j, const char *base);
/* The results document of a successful job (links to its results served
 * under `base`, results.h). */
json_t *swath__job_results(const struct swath_qjob *j, const char *outputs_root, const char *base);
/* The OGC status name of a queue state. */
const char *swath__job_status_name(int state);

#endif
