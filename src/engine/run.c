/* run.c: one job on one machine.
 *
 *   set-up (main thread): open inputs once for their footprints, build the
 *     area, initialise the process, open the sink and the state store; every
 *     check on user input happens here, before any tile is written.
 *   workers (N threads): take the next task from the plan under one lock;
 *     each owns its input handles (GDAL handles are not shared); read,
 *     process, cut into tiles, write, record, and hand the halved pixels to
 *     the parent so overviews are built as soon as their children are done.
 *   fetch stage (1 thread, only with remote inputs): walks the same plan
 *     order over its own copy of the plan and submits each leaf's remote
 *     requests (the sources' requests(), the function their read() uses)
 *     to the inputs' fetchers, at most FETCH_AHEAD_TASKS leaves and
 *     FETCH_AHEAD_BYTES of downloaded tiles ahead of the compute stage: the
 *     queue between the stages is bounded in bytes, so memory and disk
 *     read-ahead stay flat for any area. A worker whose tiles are not in the
 *     cache yet fetches them itself, through the same fetcher.
 *   ticker (main thread): progress, and a store flush about once a second.
 *
 * swath_prefetch runs the fetch stage alone over the whole plan (no sink, no
 * store) with its own progress, summary and failure list.
 *
 * A task's state is recorded only after its tiles were renamed into place,
 * so kill -9 at any moment costs at most the tasks in flight.
 *
 * The parts live in run_setup.c, run_workers.c, run_fetch.c and
 * run_supervise.c (engine/run_int.h); this file only puts them in order. */
#include "engine/run.h"

#include <cpl_conv.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "engine/job_size.h"
#include "engine/run_int.h"

/* ---- swath run ---- */

static void summary(const swath_run_stats *s) {
  swath_info(
      "finished in %.1f s: %lld tasks (%lld done, %lld empty, %lld already done, %lld failed), "
      "%lld computed from the inputs, %lld overviews built, "
      "%lld tiles written, %.1f tiles/s, %.2f Mpx/s",
      s->seconds, (long long)s->total, (long long)s->done, (long long)s->empty,
      (long long)s->skipped, (long long)s->failed, (long long)s->leaves, (long long)s->overviews,
      (long long)s->tiles_written, s->seconds > 0 ? s->tiles_written / s->seconds : 0,
      s->seconds > 0 ? s->pixels / s->seconds / 1e6 : 0);
  if (s->vector) swath_info("features: %lld kept by their tiles", (long long)s->features);
  if (s->process_summary[0]) swath_info("%s", s->process_summary);
  double cap = s->seconds * s->workers;
  const swath_fetch_stats *f = &s->fetch;
  /* The parts add up to the requests: one that joined a download already in
   * flight shares its outcome, counted once, there; what the fetch stage
   * still had queued when computing ended was dropped. */
  uint64_t ended = f->fetched + f->cached + f->empty + f->failed + f->aborted + f->coalesced;
  char dropped[64] = "";
  if (f->submitted > ended)
    snprintf(dropped, sizeof dropped, ", %llu not needed any more",
             (unsigned long long)(f->submitted - ended));
  if (f->submitted)
    swath_info(
        "fetch: %llu requests (%llu fetched, %llu cached, %llu empty, %llu failed, %llu aborted, "
        "%llu joined a download in flight%s), %.1f MB, fetch stage busy %.0f%% of the run",
        (unsigned long long)f->submitted, (unsigned long long)f->fetched,
        (unsigned long long)f->cached, (unsigned long long)f->empty, (unsigned long long)f->failed,
        (unsigned long long)f->aborted, (unsigned long long)f->coalesced, dropped, f->bytes / 1e6,
        s->seconds > 0 ? 100 * f->busy_seconds / s->seconds : 0);
  uint64_t pastes = s->tile_decodes + s->tile_memo_hits;
  if (pastes)
    swath_info("tiles: %llu cached tiles pasted, %llu decoded, %llu from the tile memo (%.0f%%; "
               "budget %.0f MB, peak %.1f MB)",
               (unsigned long long)pastes, (unsigned long long)s->tile_decodes,
               (unsigned long long)s->tile_memo_hits, 100.0 * s->tile_memo_hits / pastes,
               s->tile_memo_budget / 1048576.0, s->tile_memo_peak / 1048576.0);
  if (cap > 0)
    swath_info("busy: read %.0f%%, compute %.0f%%, write %.0f%% of %d worker threads",
               100 * s->read_busy / cap, 100 * s->compute_busy / cap, 100 * s->write_busy / cap,
               s->workers);
}

/* The plan of the run, after the task count started: a small count is in
 * at once, so the first line is exact. */
static int plan_run(run_ctx *rc, const swath_area *area, int overviews, int redo, int nworkers,
                    swath_task_count **count, int *exact, swath_run_stats *stats) {
  const swath_job *job = rc->job;
  int r = swath_task_count_start(rc->g, area, job->min_zoom, job->max_zoom, rc->m, count);
  if (r) return r;
  swath_task_count_wait(*count, 0.2);
  stats->total = swath_task_count_get(*count, exact);
  if ((r = swath__plan_new(rc, area, overviews, rc->store, rc->store_state, &rc->plan))) return r;
  if (redo) swath_plan_redo(rc->plan);
  swath_job_size_note(job, area, swath__remote_input(rc), swath__top_zoom_only(rc));
  swath_info("%s: %s%lld tasks at zooms %d-%d (%dx%d metatiles) on %d workers -> %s", job->path,
             *exact ? "" : "about ", (long long)stats->total, job->min_zoom, job->max_zoom, rc->m,
             rc->m, nworkers, job->out_path);
  return 0;
}

typedef struct run_ticker {
  run_ctx *rc;
  swath_task_count *count;
  int exact; /* the count is in */
  int64_t total;
  const swath_run_opts *opts;
} run_ticker;

/* swath__tick_fn of a run: woken by every finished task, or once a second
 * to flush the store. */
static void run_tick(void *ud, swath__tick *t) {
  run_ticker *k = ud;
  run_ctx *rc = k->rc;
  pthread_mutex_lock(&rc->lock);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 1;
  int finished =
      (swath_plan_finished(rc->plan) || rc->stop || swath__stopping(rc)) && rc->in_flight == 0;
  if (!finished) pthread_cond_timedwait(&rc->cond, &rc->lock, &ts);
  const swath_plan_counts *pc = swath_plan_counts_get(rc->plan);
  t->finished = rc->done + rc->empty + rc->failed + pc->skipped + pc->empty;
  t->failed = rc->failed;
  if (rc->fstore) snprintf(t->extra, sizeof t->extra, "%lld features", (long long)rc->features);
  rc->store->flush(rc->store_state);
  pthread_mutex_unlock(&rc->lock);
  if (!k->exact) {
    t->total = k->total = swath_task_count_get(k->count, &k->exact);
    t->estimate = !k->exact;
  }
  t->over = finished;
  if (k->opts->on_progress)
    k->opts->on_progress(k->opts->progress_ud, t->finished, k->total, rc->tiles_written);
}

/* The threads of a run, from start to join: the fetch stage, the workers,
 * and the main thread's ticker until the plan is finished or stopped. */
static int execute(run_ctx *rc, const swath_area *area, swath__workers *pool, int overviews,
                   int redo, swath_task_count *count, int exact, const swath_run_opts *opts,
                   swath_run_stats *stats, int *fetch_counted) {
  swath__signals sig;
  /* A run with a cancel flag is stopped by its caller, who owns the signals. */
  if (!opts->cancel) swath__signals_catch(&sig);
  swath__fetch_stage fs;
  int r = swath__fetch_stage_start(&fs, rc, area, overviews, redo);
  if (!r) r = swath__workers_start(pool);
  if (!r) {
    swath_progress pg;
    swath_progress_init(&pg, "tasks", stats->total, opts->progress);
    swath_progress_set_total(&pg, stats->total, !exact);
    run_ticker k = {rc, count, exact, stats->total, opts};
    swath__supervise(&pg, run_tick, &k, 0);
    /* Workers leave once the plan is finished; wake any that wait. */
    pthread_mutex_lock(&rc->lock);
    rc->stop = 1;
    pthread_cond_broadcast(&rc->cond);
    pthread_mutex_unlock(&rc->lock);
  }
  r = swath__workers_join(pool, r);
  *fetch_counted = swath__fetch_stage_stop(&fs, rc, &stats->fetch);
  if (!opts->cancel) swath__signals_restore(&sig);
  return r;
}

/* The figures of a run that went as far as its threads. */
static void collect_stats(const run_ctx *rc, swath_task_count *count, int nworkers,
                          int fetch_counted, swath_run_stats *stats) {
  int exact;
  /* The count outlives only runs cut short; it is in long before a whole run ends. */
  swath_task_count_wait(count, swath_plan_finished(rc->plan) ? 3600 : 0);
  stats->total = swath_task_count_get(count, &exact);
  const swath_plan_counts *pc = swath_plan_counts_get(rc->plan);
  stats->done = rc->done;
  stats->leaves = rc->leaves;
  stats->overviews = rc->built;
  stats->empty = rc->empty + pc->empty;
  stats->skipped = pc->skipped;
  stats->failed = rc->failed;
  stats->tiles_written = rc->tiles_written;
  stats->pixels = rc->pixels;
  stats->read_busy = rc->read_busy;
  stats->compute_busy = rc->compute_busy;
  stats->write_busy = rc->write_busy;
  stats->workers = nworkers;
  stats->vector = rc->info.features;
  stats->features = rc->features;
  if (!fetch_counted) swath__fetch_totals(rc, &stats->fetch);
  swath__memo_totals(rc, stats);
}

/* What a run that went as far as its threads returns, and its warnings. */
static int run_result(const run_ctx *rc, int r) {
  const swath_job *job = rc->job;
  if (!r && swath__stopping(rc))
    r = swath__interrupted_error();
  else if (!r && !swath_plan_finished(rc->plan))
    r = swath_error_set(SWATH_EINTERNAL, "the plan did not finish (a bug): rerun to resume");
  else if (!r && rc->failed)
    r = swath_error_set(SWATH_EIO,
                        "%lld task(s) failed; listed in %s/%s/failed.txt; run again to retry",
                        (long long)rc->failed, job->out_path, SWATH_STATE_DIR);
  if (rc->stale_below)
    swath_warn("%lld overview task(s) at zoom %d, below this run's zooms, are now older than their "
               "children: "
               "run again with --zoom from %d (or lower) over this area to rebuild them",
               (long long)rc->stale_below, job->min_zoom - 1, job->min_zoom - 1);
  return r;
}

int swath_run(const swath_job *job, const swath_run_opts *opts, swath_run_stats *stats) {
  memset(stats, 0, sizeof *stats);
  double t_start = swath_now();
  /* A bounded block cache: peak memory must not follow the input size. */
  if (!CPLGetConfigOption("GDAL_CACHEMAX", NULL)) CPLSetConfigOption("GDAL_CACHEMAX", "128");
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");

  run_ctx rc_s, *rc = &rc_s;
  swath__run_ctx_init(rc, job);
  rc->cancel = opts->cancel;
  swath_area *area = NULL;
  swath__workers pool = {0};
  swath_task_count *count = NULL; /* counts stats->total while the run starts */
  swath_lonlat_extent lonlat;
  int nworkers = opts->workers > 0 ? opts->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (nworkers < 1) nworkers = 1;
  int overviews = 0, redo = 0, exact = 0, fetch_counted = 0;

  int r = swath_sink_find(job->sink, &rc->sink);
  if (!r) r = swath_store_find(job->store, &rc->store);
  if (!r) r = swath__memo_budget(nworkers, &rc->memo_budget);
  if (!r) r = swath__read_ahead_option(nworkers, &rc->read_ahead);
  if (!r) r = swath__run_setup(rc, &area, opts->yes);
  if (!r && rc->info.features) r = swath_sink_find("none", &rc->sink); /* no tiles */
  if (!r) r = swath__open_output(rc, area, opts->overwrite, &overviews, &lonlat);
  if (!r && opts->check) {
    r = swath__check_only(rc, area, overviews, &stats->total, &stats->check_tiles);
    goto out;
  }
  if (!r) r = swath__open_state(rc, area, opts->overwrite, overviews, &redo);
  if (!r) r = plan_run(rc, area, overviews, redo, nworkers, &count, &exact, stats);
  /* Workers, each with its own input handles. */
  if (!r) r = swath__workers_new(&pool, rc, area, nworkers);
  if (r) goto out;

  r = execute(rc, area, &pool, overviews, redo, count, exact, opts, stats, &fetch_counted);
  if (!r) r = rc->store->flush(rc->store_state);
  collect_stats(rc, count, nworkers, fetch_counted, stats);
  if (!r) r = swath__finish_product(rc, job, swath_area_bounds(area), &lonlat);
  stats->seconds = swath_now() - t_start;
  if (rc->proc.vt->summary)
    rc->proc.vt->summary(rc->proc_state, stats->seconds, stats->process_summary,
                         sizeof stats->process_summary);
  summary(stats);
  r = run_result(rc, r);

out:
  swath__workers_free(&pool, rc);
  char path[4200];
  snprintf(path, sizeof path, "%s/%s/failed.txt", job->out_path, SWATH_STATE_DIR);
  swath__failure_list_close(rc->failures, path);
  swath_task_count_free(count);
  swath_plan_free(rc->plan);
  swath__run_ctx_free(rc, area);
  return r;
}

/* ---- swath prefetch ---- */

/* A prefetch: the run's set-up, then one walk over the plan (or over the
 * previous failure list) without sink or store. */
typedef struct prefetch_run {
  run_ctx rc;
  swath_area *area;
  walk w;
  int walk_made; /* w must be freed */
  int overviews;
  FILE *replay;             /* the previous failure list, moved aside to `old` */
  swath_task_count *leaves; /* the process tiles the walk will visit */
  char path[4200], old[4300];
} prefetch_run;

/* Everything before the walk starts: set-up, the state folder, the list
 * to replay (--retry-failed), the walker, the count, the failure list. */
static int prefetch_prepare(prefetch_run *p, const swath_prefetch_opts *opts) {
  run_ctx *rc = &p->rc;
  const swath_job *job = rc->job;
  char state_dir[4096];
  int r = swath__run_setup(rc, &p->area, opts->yes);
  if (!r && !rc->nremote)
    r = swath_error_set(SWATH_EINVAL, "%s: no remote inputs (xyz, wmts, wms): nothing to prefetch",
                        job->path);
  p->overviews = job->overviews && swath_plan_grid_is_quadtree(rc->g, job->min_zoom, job->max_zoom);
  snprintf(p->path, sizeof p->path, "%s/%s/prefetch-failed.txt", job->out_path, SWATH_STATE_DIR);
  snprintf(p->old, sizeof p->old, "%s.replay", p->path);
  if (!r) r = swath__state_dir(job, state_dir, sizeof state_dir);
  if (!r && opts->retry_failed) {
    if (rename(p->path, p->old) != 0 && errno != ENOENT)
      r = swath_error_set(SWATH_EIO, "cannot move '%s' aside: %s", p->path, strerror(errno));
    else if (!(p->replay = fopen(p->old, "r")))
      swath_info("%s: no failures to retry", p->path);
  }
  if (!r) {
    p->walk_made = 1; /* walk_init leaves it freeable whatever happens */
    r = swath__walk_init(&p->w, rc, p->area, p->overviews, NULL, NULL);
  }
  /* No pass to count the requests first: over a large area it would keep
   * the servers waiting for minutes. The progress total is estimated from
   * the requests per process tile so far until the walk is over. */
  if (!r && !opts->retry_failed)
    r = swath_task_count_start(rc->g, p->area, p->overviews ? job->max_zoom : job->min_zoom,
                               job->max_zoom, rc->m, &p->leaves);
  if (!r && (opts->retry_failed ? p->replay != NULL : 1)) {
    p->w.prefetch = 1;
    if (!(p->w.failures = fopen(p->path, "w")))
      r = swath_error_set(SWATH_EINVAL, "cannot write '%s': %s", p->path, strerror(errno));
  }
  return r;
}

typedef struct prefetch_ticker {
  prefetch_run *p;
  int ticks;
} prefetch_ticker;

/* swath__tick_fn of a prefetch: poll often (the end of a short prefetch
 * should not wait). Over when everything is submitted and has had its
 * callback. */
static void prefetch_tick(void *ud, swath__tick *t) {
  prefetch_ticker *k = ud;
  prefetch_run *p = k->p;
  walk *w = &p->w;
  if (k->ticks++) usleep(10000);
  pthread_mutex_lock(&w->mu);
  int64_t finished = w->fetched + w->cached + w->empty + w->failed + w->aborted;
  int64_t failed = w->failed + w->aborted, requests = w->requests, walked = w->leaves;
  int fed = w->fed, over = w->fed && finished >= w->requests;
  pthread_mutex_unlock(&w->mu);
  if (fed) {
    t->total = requests;
    t->estimate = 0;
  } else if (p->leaves && walked > 0) {
    int exact;
    int64_t nleaves = swath_task_count_get(p->leaves, &exact);
    double guess = (double)requests * (double)nleaves / (double)walked;
    t->total = guess > requests ? (int64_t)guess : requests;
    t->estimate = 1;
  }
  t->finished = finished;
  t->failed = failed;
  t->over = over;
  if (swath__interrupted) swath__fetch_cancel_all(&p->rc, "interrupted");
}

/* The walk on its own thread, the main thread drawing the progress. */
static int prefetch_execute(prefetch_run *p, const swath_prefetch_opts *opts) {
  run_ctx *rc = &p->rc;
  const swath_job *job = rc->job;
  swath_job_size_note(job, p->area, swath__remote_input(rc), swath__top_zoom_only(rc));
  int exact = 0;
  if (p->leaves) swath_task_count_wait(p->leaves, 0.2);
  int64_t nleaves = p->leaves ? swath_task_count_get(p->leaves, &exact) : 0;
  if (p->leaves)
    swath_info("%s: prefetching the requests of %s%lld process tiles at zooms %d-%d into %s",
               job->path, exact ? "" : "about ", (long long)nleaves, job->min_zoom, job->max_zoom,
               job->cache_dir);
  else
    swath_info("%s: prefetching the failed requests at zooms %d-%d into %s", job->path,
               job->min_zoom, job->max_zoom, job->cache_dir);
  swath__signals sig;
  swath__signals_catch(&sig);
  prefetch_feed pf = {&p->w, p->replay, 0};
  pthread_t th;
  int r = 0;
  if (pthread_create(&th, NULL, swath__prefetch_main, &pf)) {
    r = swath_error_set(SWATH_EIO, "cannot start a thread");
  } else {
    swath_progress pg;
    swath_progress_init(&pg, "requests", -1, opts->progress);
    prefetch_ticker k = {p, 0};
    swath__supervise(&pg, prefetch_tick, &k, 0.2);
    pthread_join(th, NULL);
    if (pf.rc) r = pf.rc;
  }
  swath__signals_restore(&sig);
  return r;
}

/* The figures, the summary and what the prefetch returns. */
static int prefetch_report(prefetch_run *p, int r, double t_start, swath_prefetch_stats *stats) {
  walk *w = &p->w;
  stats->fetched = w->fetched;
  stats->cached = w->cached;
  stats->empty = w->empty;
  stats->failed = w->failed;
  stats->aborted = w->aborted;
  stats->requests = w->requests;
  swath_fetch_stats fs;
  swath__fetch_totals(&p->rc, &fs);
  stats->bytes = fs.bytes;
  stats->attempts = fs.requests;
  stats->seconds = swath_now() - t_start;
  if (r || !w->prefetch) return r;
  swath_info("prefetch finished in %.1f s: %lld requests: %lld fetched, %lld already cached, %lld "
             "empty, "
             "%lld failed, %lld aborted; %.1f MB in %llu HTTP requests (%.1f requests/s, %llu "
             "retries)",
             stats->seconds, (long long)stats->requests, (long long)stats->fetched,
             (long long)stats->cached, (long long)stats->empty, (long long)stats->failed,
             (long long)stats->aborted, stats->bytes / 1e6, (unsigned long long)fs.requests,
             stats->seconds > 0 ? fs.requests / stats->seconds : 0, (unsigned long long)fs.retries);
  if (fs.cache_invalid)
    swath_warn("%llu cached file(s) failed the checks a download gets (damaged): requested again",
               (unsigned long long)fs.cache_invalid);
  if (swath__interrupted) return swath__interrupted_error();
  if (stats->failed || stats->aborted)
    return swath_error_set(SWATH_EIO,
                           "%lld request(s) failed; listed in %s; retry them with --retry-failed",
                           (long long)(stats->failed + stats->aborted), p->path);
  return 0;
}

int swath_prefetch(const swath_job *job, const swath_prefetch_opts *opts,
                   swath_prefetch_stats *stats) {
  memset(stats, 0, sizeof *stats);
  double t_start = swath_now();
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  prefetch_run *p = calloc(1, sizeof *p);
  if (!p) return swath_error_set(SWATH_ENOMEM, "out of memory");
  swath__run_ctx_init(&p->rc, job);
  int r = prefetch_prepare(p, opts);
  if (!r && p->w.prefetch) r = prefetch_execute(p, opts);
  swath__failure_list_close(p->w.failures, p->path);
  if (p->replay) {
    fclose(p->replay);
    unlink(p->old);
  }
  r = prefetch_report(p, r, t_start, stats);
  if (p->walk_made) swath__walk_free(&p->w);
  swath_task_count_free(p->leaves);
  swath__run_ctx_free(&p->rc, p->area);
  return r;
}
