/* run_int.h: what the parts of a run share (private to src/engine/run*.c).
 *
 *   run_setup.c    set-up shared by swath_run and swath_prefetch: inputs
 *                  probed, area, process, the checks before any write, and
 *                  the product's metadata at the end
 *   run_workers.c  the compute stage: worker threads, one task each
 *   run_fetch.c    the fetch stage (a run's read-ahead) and prefetch's walk
 *   run_supervise.c  signals, the main thread's progress loop, failure lists
 *   run.c          swath_run and swath_prefetch: orchestration
 *
 * run_ctx is the one state of a run; its counters, the plan and every store
 * call are guarded by run_ctx.lock. */
#ifndef SWATH_ENGINE_RUN_INT_H
#define SWATH_ENGINE_RUN_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "core/area.h"
#include "core/progress.h"
#include "engine/overview.h"
#include "engine/plan.h"
#include "engine/run.h"
#include "engine/store.h"
#include "io/features.h"
#include "io/fetch.h"
#include "io/sink.h"
#include "io/source.h"
#include "io/tile_memo.h"
#include "process/process.h"

/* The bounded queue between the fetch and compute stages. */
#define FETCH_AHEAD_TASKS 128
#define FETCH_AHEAD_BYTES ((int64_t)256 << 20)
#define FETCH_RING 1024 /* > FETCH_AHEAD_TASKS */
/* Submitted cache paths remembered to skip the tiles neighbouring leaves
 * share (a direct-mapped set of hashes: bounded memory, catches the
 * near-in-order repeats that matter). */
#define SEEN_SLOTS (1u << 16)
/* Decoded tiles kept per worker thread (io/tile_memo.h). The workers take
 * consecutive metatiles of the plan's Morton order, so neighbours run side
 * by side (their shared tiles are decoded once, the second thread waiting
 * for the first) or one pair after the other (the next pair's top rows
 * read right after the last pair's bottom rows): those shared tiles were
 * decoded shortly before. Neighbours across a quadrant's edge come several
 * metatiles later. bench/detect.sh, 2 workers, metatiling 8, a 304 px
 * buffer (a block: 12 x 12 RGB tiles of 192 KB): over 2 x 2 metatiles,
 * 8 MB in all caught 27% of the repeated decodes, 16 MB 79%, 24 MB all;
 * over 8 x 8, 32 MB saved 18% of the 8464 decodes, 64 MB 30%, 128 MB 30%
 * too (the rest are neighbours a quadrant or more apart). A budget that
 * grew with the area would break the flat peak memory. */
#define TILE_MEMO_PER_WORKER ((size_t)32 << 20)

typedef struct run_ctx {
  const swath_job *job;
  const swath_grid *g;
  int m;      /* metatiling */
  int buffer; /* pixel buffer actually read */
  swath_process proc;
  void *proc_state;
  swath_process_info info;
  swath_input_desc *descs;
  swath_source_info *src_info;
  swath_source_spec *specs;           /* per input */
  const swath_source_vtable **src_vt; /* per input */
  swath_dtype out_dtype;              /* what is written */
  int sink_bands;                     /* data bands written */
  int average;                        /* overview resampling */
  const swath_sink_vtable *sink;
  void *sink_state;
  swath_sink_cfg sink_cfg; /* what the sink was opened with (swath__open_output) */
  const swath_store_vtable *store;
  void *store_state;
  /* A vector process's features store (NULL for raster processes). */
  const swath_features_store_vtable *fstore;
  void *fstore_state;
  swath_plan *plan;
  swath_overview_ctx ov; /* how overviews are built (set once the sink is open) */
  int overviews;         /* zooms below the top are built from children */
  /* One task of a queued job (run_task.c): the plan walks only the subtree
   * of scope_root, zooms scope_root.z to scope_max. */
  int has_scope, scope_max;
  swath_tile scope_root;

  pthread_mutex_t lock; /* guards the plan, counters, node buffers' allocation */
  pthread_cond_t cond;
  int in_flight;
  int stop;                 /* interrupted or fatal: hand out no more tasks */
  const atomic_int *cancel; /* the caller's stop flag (swath_run_opts.cancel), or NULL */
  /* A vector process's workers read the next task's inputs while the
   * process runs (run_ahead.c). */
  int read_ahead;
  int64_t done, empty, failed, tiles_written, pixels;
  int64_t leaves, built; /* tasks computed from the inputs / overviews built */
  int64_t features;      /* features kept (vector processes) */
  int64_t stale_below;   /* overview tasks below the run's zooms now older than their children */
  double read_busy, compute_busy, write_busy;
  FILE *failures;
  char first_failure[512]; /* the first failed task's message ("" if none) */

  swath_fetcher **fetchers; /* per input; NULL for inputs that fetch nothing */
  unsigned char *offline;   /* per input: remote, offline (no fetcher; prefetch checks the cache) */
  swath_source_held *held;  /* per input: what its checking open fetched, written by the next */
  int nremote;              /* remote inputs, offline ones included */
  /* Per input: the decoded tiles its workers' handles share (remote inputs
   * of a run whose memo_budget > 0; else NULL), also in specs[i].memo. */
  swath_tile_memo **memos;
  /* Bytes of each remote input's memo; 0: none (set before the set-up). */
  size_t memo_budget;
  /* fetch stage accounting, under lock */
  int64_t fetch_seq, compute_seq; /* leaves submitted by the fetch stage / computed */
  int64_t ahead_bytes;
  int64_t ring[FETCH_RING];
} run_ctx;

typedef struct worker {
  run_ctx *rc;
  void **src;       /* per input source state */
  swath_area *area; /* own copy (area queries are not thread-safe); NULL with metatiling 1 */
  int failed_open;  /* the code its inputs' open failed with (open_msg says why), or 0 */
  char open_msg[512];
} worker;

/* A leaf's inputs, read (swath__read_leaf): one block per input (owned). */
typedef struct swath__leaf_inputs {
  swath_tile mt;
  swath_raster *in; /* per input; NULL if not read */
  int any;          /* some input had data here */
  int r;            /* the read's result; msg says why when not 0 */
  char msg[1024];
  double t_read;
} swath__leaf_inputs;

/* run_workers.c: read a leaf's inputs through the worker's handles (never
 * two threads on one worker's handles at once). */
int swath__read_leaf(worker *w, swath_tile mt, swath__leaf_inputs *li);
void swath__leaf_inputs_free(const run_ctx *rc, swath__leaf_inputs *li);
/* A vector process's task; pre: its inputs read ahead (consumed) or NULL. */
void swath__run_vector_task(worker *w, swath_task *t, swath__leaf_inputs *pre);
/* The next task of the plan (1), waiting for one while tasks are in
 * flight when `wait`; 0: none (now, or any more). A task taken is in
 * flight until swath__task_finished. */
int swath__claim_task(run_ctx *rc, swath_task *t, int wait);
void swath__task_finished(run_ctx *rc);
/* run_ahead.c: a worker's loop over a vector process's tasks with the next
 * task's inputs read by a second thread while this one runs the process. */
void swath__vector_loop(worker *w);
/* Whether vector processes read ahead: $SWATH_READ_AHEAD 0 or 1; unset,
 * when the run has fewer workers than the host has cores (anything else:
 * SWATH_EINVAL). */
int swath__read_ahead_option(int nworkers, int *on);

typedef struct walk {
  run_ctx *rc;
  swath_plan *plan;
  void **src;         /* the walker's own handles of the remote inputs */
  uint64_t *seen;     /* SEEN_SLOTS hashes of submitted cache paths */
  int prefetch;       /* swath_prefetch: tally outcomes, list failures */
  pthread_mutex_t mu; /* guards what follows */
  int64_t requests;   /* submitted (each ends in one callback) */
  int64_t leaves;     /* prefetch: leaves walked so far */
  int64_t fetched, cached, empty, failed, aborted; /* callbacks so far, by outcome */
  int fed;                                         /* every request has been submitted */
  FILE *failures;
} walk;

typedef struct walk_tag {
  walk *w;
  int64_t seq; /* the leaf's place in the fetch order (run) */
  int input;   /* for the failure list: enough to replay the request */
  int width, height;
  unsigned kinds;
} walk_tag;

typedef struct walk_submit {
  walk *w;
  int input;
  int64_t seq;
  int rc;
} walk_submit;

typedef struct prefetch_feed {
  walk *w;
  FILE *replay; /* the previous failure list, or NULL: walk the plan */
  int rc;       /* read after the join */
} prefetch_feed;

/* ---- run_supervise.c ---- */

/* Set by SIGINT/SIGTERM only, while caught. */
extern volatile sig_atomic_t swath__interrupted;

typedef struct swath__signals {
  struct sigaction old_int, old_term;
} swath__signals;

/* Catch SIGINT and SIGTERM into swath__interrupted (cleared first); restore
 * what was there before. */
void swath__signals_catch(swath__signals *saved);
void swath__signals_restore(const swath__signals *saved);
/* SWATH_EINTR with the message that says how to resume. */
int swath__interrupted_error(void);
/* Whether the run must stop at the next task boundary: a signal, or its
 * caller's cancel flag. */
static inline int swath__stopping(const run_ctx *rc) {
  return swath__interrupted || (rc->cancel && atomic_load(rc->cancel));
}

/* What one tick of the progress loop found. */
typedef struct swath__tick {
  int64_t finished, failed;
  int64_t total;  /* a new total, or -1: unchanged */
  int estimate;   /* the new total is a guess */
  int over;       /* the work is over: the last tick */
  char extra[96]; /* what the progress shows after the counts ("" : nothing) */
} swath__tick;
/* One tick: wait a little (the tick decides how: a condition, a sleep),
 * then fill `t`. */
typedef void (*swath__tick_fn)(void *ud, swath__tick *t);
/* The main thread's loop while the threads work: tick, then draw the
 * progress (at most every min_draw seconds, and at the end), until a tick
 * says the work is over; the progress is ended then. */
void swath__supervise(swath_progress *pg, swath__tick_fn tick, void *ud, double min_draw);

/* Cancel what every fetcher of the inputs still has queued. */
void swath__fetch_cancel_all(const run_ctx *rc, const char *why);
/* Close a failure list (NULL: none), and remove it if nothing was listed. */
void swath__failure_list_close(FILE *f, const char *path);

/* ---- run_workers.c ---- */

/* What a leaf reads from every input (the fetch stage asks for the same). */
swath_read_req swath__leaf_req(const run_ctx *rc, swath_tile mt);

/* The compute threads of a run, each with its own input handles and area. */
typedef struct swath__workers {
  worker *w;
  pthread_t *threads;
  int n, started;
} swath__workers;
/* Make n workers (no thread started yet). */
int swath__workers_new(swath__workers *p, run_ctx *rc, const swath_area *area, int n);
/* Start the threads; SWATH_EIO if none started. */
int swath__workers_start(swath__workers *p);
/* Join the started threads; `r` if set, else the error a worker's inputs
 * failed to open with, else 0. */
int swath__workers_join(swath__workers *p, int r);
/* Close the workers' handles (after the join). */
void swath__workers_free(swath__workers *p, run_ctx *rc);

/* ---- run_fetch.c ---- */

int swath__walk_init(walk *w, run_ctx *rc, const swath_area *area, int overviews,
                     const swath_store_vtable *store, void *store_state);
void swath__walk_free(walk *w);
void swath__fetch_totals(const run_ctx *rc, swath_fetch_stats *sum);
void *swath__prefetch_main(void *arg);

/* A run's fetch stage: a thread ahead of the workers, for the inputs that
 * fetch (offline ones read the cache only); nothing without them. */
typedef struct swath__fetch_stage {
  walk w;
  pthread_t thread;
  int online;  /* some input fetches: w is made (and freed by stop) */
  int running; /* the thread started */
} swath__fetch_stage;
int swath__fetch_stage_start(swath__fetch_stage *fs, run_ctx *rc, const swath_area *area,
                             int overviews, int redo);
/* Computing is over: drop what the stage still has queued, counting the
 * fetchers' figures into `stats` first (the cancel counts aborts), then
 * join and free it. Returns 1 if it counted them, 0 if the thread never
 * ran (`stats` left alone). */
int swath__fetch_stage_stop(swath__fetch_stage *fs, run_ctx *rc, swath_fetch_stats *stats);

/* ---- run_task.c ---- */

struct swath_task_runner;
/* The run context a task runner set up (for job_memory.c's estimate). */
run_ctx *swath__task_runner_ctx(struct swath_task_runner *tr);

/* ---- run_setup.c ---- */

/* A run's context over `job` (released by swath__run_ctx_free). */
void swath__run_ctx_init(run_ctx *rc, const swath_job *job);
void swath__run_ctx_free(run_ctx *rc, swath_area *area);
/* mkdir -p: 0, or -1 with errno set (the caller says what it was for). */
int swath__mkdir_p(const char *path);
/* The job's state folder, {output}/.swath, into buf, made if missing. */
int swath__state_dir(const swath_job *job, char *buf, size_t n);
const char *swath__remote_input(const run_ctx *rc);
int swath__top_zoom_only(const run_ctx *rc);
int swath__run_setup(run_ctx *rc, swath_area **area, int yes);
/* The budget of a run's tile memo per remote input: TILE_MEMO_PER_WORKER
 * per worker, or SWATH_TILE_MEMO_MB (0: no memo). SWATH_EINVAL for a value
 * that is not a whole number of MB. */
int swath__memo_budget(int nworkers, size_t *bytes);
/* The memos' figures summed over the inputs, into stats. */
void swath__memo_totals(const run_ctx *rc, swath_run_stats *stats);
/* The output opened in check mode after the set-up: overviews decided
 * (*overviews), the area's lon/lat extent, the sink checked, and the last
 * check before anything is written. */
int swath__open_output(run_ctx *rc, const swath_area *area, int overwrite, int *overviews,
                       swath_lonlat_extent *lonlat);
/* Once every check has passed: the output made, the state store opened
 * and claimed for the job (*redo: every task is done again), the run
 * recorded, the failure list opened. */
int swath__open_state(run_ctx *rc, const swath_area *area, int overwrite, int overviews, int *redo);
int swath__check_only(run_ctx *rc, const swath_area *area, int overviews, int64_t *tasks,
                      int64_t *tiles);
/* The plan of the run's zooms over `area`, or of its scope (has_scope). */
int swath__plan_new(const run_ctx *rc, const swath_area *area, int overviews,
                    const swath_store_vtable *store, void *store_state, swath_plan **out);
int swath__finish_product(run_ctx *rc, const swath_job *job, swath_bounds area_bounds,
                          const swath_lonlat_extent *lonlat);

#endif
