/* run_task.c: one queued task at a time over a job set up once (run_task.h).
 *
 * The run's parts are reused as they are: swath__run_setup and
 * swath__open_output check and open everything (with the output's
 * "another job's tiles" check off: the queue's workers share the folder
 * and keep no state.sqlite there; swath submit ran every check against the
 * folder first), the plan is the run's restricted to the task's root
 * (rc->has_scope), and the fetch stage and worker threads are started and
 * joined for each task. The process (and its model) stays loaded between
 * tasks; the worker threads open their input handles per task, which costs
 * a dataset open, not a download. */
#include "engine/run_task.h"

#include <cpl_conv.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "engine/product.h"
#include "engine/run_int.h"
#include "engine/stage.h"

struct swath_task_runner {
  run_ctx rc;
  swath_area *area;
  swath_lonlat_extent lonlat;
  swath_stage *stage;              /* NULL for a vector process (no tiles) */
  const swath_sink_vtable *out_vt; /* the output's own sink instance */
  void *out_state;
  int nworkers;
  int overviews;
  int opened; /* rc and area to free */
};

/* The vector process's features go where every worker writes: PostGIS. */
static int open_features(swath_task_runner *tr) {
  run_ctx *rc = &tr->rc;
  const swath_job *job = rc->job;
  char key[17];
  swath_job_key(job, key);
  swath_features_cfg fc = {
      .path = job->features, .crs = rc->g->crs, .job = key, .model = rc->proc.vt->name};
  int r = swath_features_ogr.open(&fc, &rc->fstore_state);
  if (!r) rc->fstore = &swath_features_ogr;
  return r;
}

/* Set-up shared by open and check: everything but the output's creation. */
static int setup(const swath_job *job, int workers, int yes, swath_task_runner **out) {
  *out = NULL;
  if (!CPLGetConfigOption("GDAL_CACHEMAX", NULL)) CPLSetConfigOption("GDAL_CACHEMAX", "128");
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  swath_task_runner *tr = calloc(1, sizeof *tr);
  if (!tr) return swath_error_set(SWATH_ENOMEM, "out of memory");
  run_ctx *rc = &tr->rc;
  swath__run_ctx_init(rc, job);
  tr->opened = 1;
  tr->nworkers = workers > 0 ? workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (tr->nworkers < 1) tr->nworkers = 1;
  int r = swath_sink_find(job->sink, &rc->sink);
  if (!r) r = swath__read_ahead_option(tr->nworkers, &rc->read_ahead);
  if (!r) r = swath__run_setup(rc, &tr->area, yes);
  if (!r && rc->info.features) r = swath_sink_find("none", &rc->sink);
  if (!r) r = swath__open_output(rc, tr->area, 1, &tr->overviews, &tr->lonlat);
  rc->overviews = tr->overviews;
  if (!r && rc->info.features && (!job->features || strncmp(job->features, "PG:", 3) != 0))
    r = swath_error_set(SWATH_EINVAL,
                        "%s: output.features '%s' is a file: workers on several machines "
                        "write features into PostGIS (a PG: connection), not a file",
                        job->path, job->features ? job->features : "");
  if (!r && !rc->info.features && strcmp(rc->sink->name, "tiledir") != 0)
    r = swath_error_set(SWATH_EINVAL,
                        "output sink '%s' cannot be staged for queued tasks (a folder of tile "
                        "files can): run the job with swath run",
                        rc->sink->name);
  if (r) {
    swath_task_runner_close(tr);
    return r;
  }
  *out = tr;
  return 0;
}

int swath_task_runner_check(const swath_job *job, int yes, swath_task_runner **out) {
  return setup(job, 1, yes, out);
}

int swath_task_runner_check_output(swath_task_runner *tr, int overwrite) {
  run_ctx *rc = &tr->rc;
  if (!rc->sink->has_tiles(rc->sink_state)) return 0;
  if (!overwrite)
    return swath_error_set(SWATH_EINVAL,
                           "output '%s' already holds tiles: a queued job starts from an empty "
                           "folder; use --overwrite to delete them, or another output path",
                           rc->job->out_path);
  swath_info("output %s: deleting its tiles (--overwrite)", rc->job->out_path);
  return rc->sink->clear(rc->sink_state);
}

int swath_task_runner_open(const swath_job *job, int workers, const swath_store_vtable *store,
                           void *store_state, swath_task_runner **out) {
  swath_task_runner *tr;
  int r = setup(job, workers, 1 /* swath submit checked the size */, &tr);
  if (r) return r;
  run_ctx *rc = &tr->rc;
  r = rc->sink->create(rc->sink_state);
  if (!r && rc->info.features) r = open_features(tr);
  if (!r && !rc->info.features)
    r = swath_stage_new(rc->sink, rc->sink_state, &rc->sink_cfg, &tr->stage);
  if (r) {
    swath_task_runner_close(tr);
    return r;
  }
  /* The store is the queue's (not closed here). Tiles go through the stage,
   * and overviews read the task's own tiles there. */
  rc->store = store;
  rc->store_state = store_state;
  rc->overviews = tr->overviews;
  tr->out_vt = rc->sink;
  tr->out_state = rc->sink_state;
  if (tr->stage) {
    rc->sink = &swath_sink_staged;
    rc->sink_state = tr->stage;
  }
  rc->ov = (swath_overview_ctx){rc->g,          rc->m,         rc->sink,   rc->sink_state,
                                rc->sink_bands, rc->out_dtype, rc->average};
  *out = tr;
  return 0;
}

run_ctx *swath__task_runner_ctx(struct swath_task_runner *tr) { return &tr->rc; }

const swath_area *swath_task_runner_area(const swath_task_runner *tr) { return tr->area; }
int swath_task_runner_vector(const swath_task_runner *tr) { return tr->rc.info.features != 0; }
int swath_task_runner_overviews(const swath_task_runner *tr) { return tr->overviews; }

/* The counters of one task, zeroed before it starts. */
static void reset_counters(run_ctx *rc) {
  rc->in_flight = 0;
  rc->stop = 0;
  rc->done = rc->empty = rc->failed = rc->tiles_written = rc->pixels = 0;
  rc->leaves = rc->built = rc->features = rc->stale_below = 0;
  rc->fetch_seq = rc->compute_seq = rc->ahead_bytes = 0;
  memset(rc->ring, 0, sizeof rc->ring);
  rc->first_failure[0] = 0;
}

/* Wait until the plan is finished, stopped or interrupted, and nothing is
 * in flight; then tell the workers to leave. */
static void wait_task(run_ctx *rc) {
  pthread_mutex_lock(&rc->lock);
  while (
      !((swath_plan_finished(rc->plan) || rc->stop || swath__interrupted) && rc->in_flight == 0)) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&rc->cond, &rc->lock, &ts);
  }
  rc->stop = 1;
  pthread_cond_broadcast(&rc->cond);
  pthread_mutex_unlock(&rc->lock);
}

/* The fetch stage and the workers over the plan, from start to join. */
static int execute_task(swath_task_runner *tr) {
  run_ctx *rc = &tr->rc;
  swath__workers pool = {0};
  swath__fetch_stage fs;
  int r = swath__workers_new(&pool, rc, tr->area, tr->nworkers);
  if (!r) r = swath__fetch_stage_start(&fs, rc, tr->area, tr->overviews, 0);
  if (!r) {
    r = swath__workers_start(&pool);
    if (!r) wait_task(rc);
    r = swath__workers_join(&pool, r);
    swath_fetch_stats unused;
    swath__fetch_stage_stop(&fs, rc, &unused);
  }
  /* The stage's stop cancelled what it had queued: the next task fetches. */
  for (int i = 0; rc->fetchers && i < rc->job->ninputs; i++)
    if (rc->fetchers[i]) swath_fetch_resume(rc->fetchers[i]);
  swath__workers_free(&pool, rc);
  return r;
}

int swath_task_runner_run(swath_task_runner *tr, swath_tile root, int max_zoom, int attempt,
                          swath_task_result *res) {
  run_ctx *rc = &tr->rc;
  memset(res, 0, sizeof *res);
  double t0 = swath_now();
  reset_counters(rc);
  rc->has_scope = 1;
  rc->scope_root = root;
  rc->scope_max = max_zoom;
  int r = tr->stage ? swath_stage_begin(tr->stage, root, attempt) : 0;
  if (!r) r = swath__plan_new(rc, tr->area, tr->overviews, rc->store, rc->store_state, &rc->plan);
  if (!r) r = execute_task(tr);
  int finished = rc->plan && swath_plan_finished(rc->plan);
  swath_plan_free(rc->plan);
  rc->plan = NULL;
  if (!r && swath__interrupted)
    r = swath_error_set(SWATH_EINTR, "interrupted");
  else if (!r && rc->failed)
    r = swath_error_set(SWATH_EIO, "%s", rc->first_failure);
  else if (!r && !finished)
    r = swath_error_set(SWATH_EINTR, "task %d/%lld/%lld stopped before its end", root.z,
                        (long long)root.x, (long long)root.y);
  res->tasks = rc->done + rc->empty;
  res->tiles_written = rc->tiles_written;
  res->features = rc->features;
  res->seconds = swath_now() - t0;
  if (r) swath_task_runner_discard(tr);
  return r;
}

void swath_task_runner_abort(swath_task_runner *tr) {
  run_ctx *rc = &tr->rc;
  pthread_mutex_lock(&rc->lock);
  rc->stop = 1;
  pthread_cond_broadcast(&rc->cond);
  pthread_mutex_unlock(&rc->lock);
}

int swath_task_runner_commit(void *ud) {
  swath_task_runner *tr = ud;
  return tr->stage ? swath_stage_commit(tr->stage) : 0;
}

void swath_task_runner_discard(swath_task_runner *tr) {
  if (tr->stage) swath_stage_discard(tr->stage);
}

int swath_task_runner_finish(swath_task_runner *tr) {
  run_ctx *rc = &tr->rc;
  const swath_job *job = rc->job;
  int r = swath_product_record_run(job, rc->store, rc->store_state, swath_area_bounds(tr->area));
  /* (The staged sink hands the metadata to the output's instance.) */
  if (!r) r = swath__finish_product(rc, job, swath_area_bounds(tr->area), &tr->lonlat);
  if (!r) swath_stage_remove_all(job->out_path);
  return r;
}

void swath_task_runner_close(swath_task_runner *tr) {
  if (!tr) return;
  run_ctx *rc = &tr->rc;
  swath_stage_free(tr->stage);
  /* The queue owns the store; the output's own sink instance is closed. */
  rc->store = NULL;
  rc->store_state = NULL;
  if (tr->out_vt) rc->sink = tr->out_vt, rc->sink_state = tr->out_state;
  if (tr->opened) swath__run_ctx_free(rc, tr->area);
  free(tr);
}
