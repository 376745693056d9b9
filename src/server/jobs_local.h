/* jobs_local.h: the parts of the one-machine job backend (jobs.h's
 * swath_jobs_local): the jobs file (jobs_local_db.c) under the runners
 * (jobs_local.c). Internal to src/server. */
#ifndef SWATH_SERVER_JOBS_LOCAL_H
#define SWATH_SERVER_JOBS_LOCAL_H

#include <sqlite3.h>
#include <stdint.h>

#include "engine/queue.h"
#include "server/jobs.h"

typedef struct jl_db {
  sqlite3 *db;
  char *path;
  int lock_fd; /* holds the flock that keeps a second server off the file */
} jl_db;

typedef struct jl_new {
  const char *key, *yaml, *path, *output;
  int min_zoom, max_zoom;
  int64_t tasks, tiles_total;
} jl_new;

double swath__jl_now(void);
/* Lock, open or create, check or create the schema, release jobs left held
 * by a process that died. Bad files: SWATH_EINVAL, one line. */
int swath__jl_open(const char *path, jl_db *d);
void swath__jl_close(jl_db *d);
int swath__jl_insert(jl_db *d, const jl_new *n, int64_t *id);
int swath__jl_get(jl_db *d, int64_t id, swath_qjob *out);
int swath__jl_page(jl_db *d, int64_t before, unsigned states, int limit, swath_qjob **out, int *n);
/* The oldest job to run (queued, or running and not held), or job `only`
 * if it is one (0: any): made running and held. *id 0 if none. */
int swath__jl_claim(jl_db *d, int64_t only, int64_t *id);
int swath__jl_progress(jl_db *d, int64_t id, int64_t tasks, int64_t done, int64_t tiles,
                       double rate);
/* A run of the job ended: released, and (if it is still running) in
 * `state` with `error` (NULL: none). */
int swath__jl_end(jl_db *d, int64_t id, int state, const char *error);
/* Cancelled (a done job: SWATH_EINVAL; a cancelled one: 0). */
int swath__jl_cancel(jl_db *d, int64_t id);

#endif
