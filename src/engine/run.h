/* run.h: execute a job on this machine: plan its tasks, process them on a
 * pool of worker threads, build overviews, record state so a rerun resumes. */
#ifndef SWATH_ENGINE_RUN_H
#define SWATH_ENGINE_RUN_H

#include <stdatomic.h>
#include <stdint.h>

#include "engine/job.h"
#include "io/fetch.h"

typedef struct swath_run_opts {
  int workers;   /* compute threads; 0 = number of cores */
  int overwrite; /* redo every task of the run's area and zooms; replace another job's tiles */
  int progress;  /* -1: bar on a terminal, log lines otherwise; 0: lines; 1: bar */
  int check;     /* check everything a run checks before it writes, then stop: write nothing */
  int yes;       /* go ahead with a remote job without area above SWATH_NO_AREA_MAX_TILES */
  /* For a run inside a longer-lived process (the job service's runners):
   * `cancel`, when set by another thread, stops the run at a task boundary
   * as SIGINT does (SWATH_EINTR; the next run resumes); with it, the run
   * leaves SIGINT and SIGTERM to its caller (no handlers installed).
   * `on_progress` is called by the run's supervising thread as tasks end
   * and about once a second: tasks finished (done, empty, failed, or done
   * by an earlier run) of `total` (an estimate until counted), tiles
   * written by this run. NULL: none (swath run). */
  const atomic_int *cancel;
  void (*on_progress)(void *ud, int64_t finished, int64_t total, int64_t tiles_written);
  void *progress_ud;
} swath_run_opts;

typedef struct swath_run_stats {
  int64_t total;                        /* tasks (process tiles over all zooms) */
  int64_t done, empty, failed, skipped; /* skipped: finished by an earlier run */
  int64_t leaves,
      overviews; /* tasks computed from the inputs / overview tasks built (done or empty) */
  int64_t tiles_written;
  int64_t pixels; /* output pixels computed from the inputs */
  double seconds;
  double read_busy, compute_busy, write_busy; /* thread-seconds per stage */
  int workers;
  swath_fetch_stats fetch; /* remote inputs, all fetchers summed (busy: the busiest) */
  /* Cached tiles of remote inputs: decoded by a read / taken from the
   * run's tile memo (decoded by another read); the memos' budget and peak. */
  uint64_t tile_decodes, tile_memo_hits;
  size_t tile_memo_budget, tile_memo_peak;
  int vector;                /* a vector process: */
  int64_t features;          /*   the features its tiles kept */
  char process_summary[512]; /* the process's own line (a model's busy time), or "" */
  int64_t check_tiles;       /* opts->check: output tiles of the plan (total: its tasks) */
} swath_run_stats;

/* Run the job. Returns 0 when every task ended done or empty; SWATH_EIO when
 * some failed (they are listed in {output}/.swath/failed.txt and retried by
 * the next run); SWATH_EINVAL for bad input found before anything ran
 * (a remote job without area too large to go ahead without opts->yes:
 * engine/job_size.h). The tasks are counted while the run starts: the
 * progress shows an estimate until the count is in.
 * With opts->check: 0 when the job passes every check at start (inputs
 * opened, remote services answering, area, process, output options and
 * folder), and nothing is written, not even the output folder; stats->total
 * and stats->check_tiles then count the plan's tasks and tiles. */
int swath_run(const swath_job *job, const swath_run_opts *opts, swath_run_stats *stats);

typedef struct swath_prefetch_opts {
  int retry_failed; /* replay only the previous prefetch's failure list */
  int progress;     /* as swath_run_opts.progress */
  int yes;          /* as swath_run_opts.yes */
} swath_prefetch_opts;

typedef struct swath_prefetch_stats {
  int64_t requests; /* distinct requests of the job (or in the replayed list) */
  int64_t fetched, cached, empty, failed, aborted;
  uint64_t bytes, attempts;
  double seconds;
} swath_prefetch_stats;

/* Warm the cache of the job's remote inputs: every request a run of the job
 * would make, computed by the same function the run uses. Requests go out
 * at once; the progress total is an estimate (from the process tiles walked
 * so far) until the walk is over. Failed requests
 * go to {output}/.swath/prefetch-failed.txt (URL, cache path, reason), which
 * retry_failed replays. Returns 0 if everything ended fetched, cached or
 * empty; SWATH_EIO if some failed; SWATH_EINVAL for bad input (including a
 * job without remote inputs). */
int swath_prefetch(const swath_job *job, const swath_prefetch_opts *opts,
                   swath_prefetch_stats *stats);

/* Where a job keeps its state and failure list. */
#define SWATH_STATE_DIR ".swath"

#endif
