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
 * The parts live in run_setup.c, run_workers.c and run_fetch.c
 * (engine/run_int.h). */
#include "engine/run.h"

#include <cpl_conv.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "engine/job_size.h"
#include "engine/product.h"
#include "engine/run_int.h"

volatile sig_atomic_t swath__interrupted; /* set by SIGINT/SIGTERM only */
static void on_signal(int sig) {
  (void)sig;
  swath__interrupted = 1;
}

static void summary(const swath_run_stats *s) {
  swath_info(
      "finished in %.1f s: %lld tasks (%lld done, %lld empty, %lld already done, %lld failed), "
      "%lld computed from the inputs, %lld overviews built, "
      "%lld tiles written, %.1f tiles/s, %.2f Mpx/s",
      s->seconds, (long long)s->total, (long long)s->done, (long long)s->empty,
      (long long)s->skipped, (long long)s->failed, (long long)s->leaves, (long long)s->overviews,
      (long long)s->tiles_written, s->seconds > 0 ? s->tiles_written / s->seconds : 0,
      s->seconds > 0 ? s->pixels / s->seconds / 1e6 : 0);
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
  if (cap > 0)
    swath_info("busy: read %.0f%%, compute %.0f%%, write %.0f%% of %d worker threads",
               100 * s->read_busy / cap, 100 * s->compute_busy / cap, 100 * s->write_busy / cap,
               s->workers);
}

int swath_run(const swath_job *job, const swath_run_opts *opts, swath_run_stats *stats) {
  memset(stats, 0, sizeof *stats);
  double t_start = swath_now();
  /* A bounded block cache: peak memory must not follow the input size. */
  if (!CPLGetConfigOption("GDAL_CACHEMAX", NULL)) CPLSetConfigOption("GDAL_CACHEMAX", "128");
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");

  run_ctx rc_s = {0}, *rc = &rc_s;
  rc->job = job;
  rc->g = &job->grid;
  rc->m = job->metatiling;
  rc->sink = &swath_sink_tiledir;
  rc->store = &swath_store_sqlite;
  pthread_mutex_init(&rc->lock, NULL);
  pthread_cond_init(&rc->cond, NULL);
  swath_area *area = NULL;
  worker *workers = NULL;
  pthread_t *threads = NULL;
  int nworkers = opts->workers > 0 ? opts->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (nworkers < 1) nworkers = 1;
  int r = 0;

  swath_task_count *count = NULL; /* counts stats->total while the run starts */
  if ((r = swath__run_setup(rc, &area, opts->yes))) goto out;

  /* Sink first: an unwritable output must fail before any state is created. */
  int overviews = job->overviews;
  if (overviews && !swath_plan_grid_is_quadtree(rc->g, job->min_zoom, job->max_zoom)) {
    swath_warn("grid %s: zooms %d-%d do not halve, so every zoom is computed from the inputs",
               rc->g->name, job->min_zoom, job->max_zoom);
    overviews = 0;
  }
  swath_lonlat_extent lonlat;
  if ((r = swath_area_lonlat_extent(rc->g, area, &lonlat))) goto out;
  /* The input's colour table still names the output's values when the
   * process kept the input's categorical flag and its single band. */
  const swath_source_info *in0 = &rc->src_info[0];
  int palette =
      rc->info.categorical && in0->palette_n > 0 && in0->bands == 1 && rc->sink_bands == 1;
  swath_sink_cfg sc = {
      .path = job->out_path,
      .format = job->format,
      .dtype = rc->out_dtype,
      .bands = rc->sink_bands,
      .alpha = strcmp(job->format, "JPEG") != 0 &&
               !(strcmp(job->format, "GTiff") == 0 && job->has_nodata),
      .has_nodata = job->has_nodata,
      .nodata = job->nodata,
      .compression = job->compression,
      .quality = job->quality,
      .grid = rc->g,
      .min_zoom = job->min_zoom,
      .max_zoom = job->max_zoom,
      .name = job->process,
      .lonlat = lonlat,
      .bounds = swath_area_bounds(area),
      .palette = palette ? (const unsigned char(*)[4])in0->palette : NULL,
      .palette_n = palette ? in0->palette_n : 0,
      .link_empty = job->link_empty,
      .check = 1, /* nothing is made before every check has passed */
  };
  if ((r = rc->sink->open(&sc, &rc->sink_state))) goto out;
  if ((r = swath__check_output(rc, opts->overwrite))) goto out;
  if (opts->check) {
    r = swath__check_only(rc, area, overviews);
    goto out;
  }
  if ((r = rc->sink->create(rc->sink_state))) goto out;
  rc->overviews = overviews;
  rc->ov = (swath_overview_ctx){rc->g,          rc->m,         rc->sink,   rc->sink_state,
                                rc->sink_bands, rc->out_dtype, rc->average};

  char state_dir[4096], path[4200], key[17];
  snprintf(state_dir, sizeof state_dir, "%s/%s", job->out_path, SWATH_STATE_DIR);
  if (swath__mkdir_p(state_dir)) {
    r = swath_error_set(SWATH_EINVAL, "output: cannot create '%s': %s", state_dir, strerror(errno));
    goto out;
  }
  swath_job_key(job, key);
  snprintf(path, sizeof path, "%s/state.sqlite", state_dir);
  int same = 0, redo = 0;
  int64_t recorded = 0;
  if ((r = rc->store->open(path, key, &same, &recorded, &rc->store_state))) goto out;
  /* One product per folder: another job's tiles are refused or (--overwrite) deleted. */
  if ((r = swath_product_claim(job, rc->store, rc->store_state, same, recorded, rc->sink,
                               rc->sink_state, opts->overwrite, &redo)))
    goto out;
  if ((r = swath_product_add_run(job, rc->store, rc->store_state, swath_area_bounds(area))))
    goto out;
  snprintf(path, sizeof path, "%s/failed.txt", state_dir);
  rc->failures = fopen(path, "w");

  if ((r = swath_task_count_start(rc->g, area, job->min_zoom, job->max_zoom, rc->m, &count)))
    goto out;
  int exact; /* a small count is in at once: the first line is exact */
  swath_task_count_wait(count, 0.2);
  stats->total = swath_task_count_get(count, &exact);
  if ((r = swath_plan_new(rc->g, area, job->min_zoom, job->max_zoom, rc->m, overviews, rc->store,
                          rc->store_state, &rc->plan)))
    goto out;
  if (redo) swath_plan_redo(rc->plan);
  swath_job_size_note(job, area, swath__remote_input(rc), swath__top_zoom_only(rc));
  swath_info("%s: %s%lld tasks at zooms %d-%d (%dx%d metatiles) on %d workers -> %s", job->path,
             exact ? "" : "about ", (long long)stats->total, job->min_zoom, job->max_zoom, rc->m,
             rc->m, nworkers, job->out_path);

  /* Workers, each with its own input handles. */
  workers = calloc((size_t)nworkers, sizeof *workers);
  threads = calloc((size_t)nworkers, sizeof *threads);
  if (!workers || !threads) {
    r = swath_error_set(SWATH_ENOMEM, "out of memory");
    goto out;
  }
  for (int i = 0; i < nworkers && !r; i++) {
    workers[i].rc = rc;
    workers[i].src = calloc((size_t)job->ninputs, sizeof(void *));
    workers[i].area = rc->m > 1 ? swath_area_clone(area) : NULL;
    if (!workers[i].src || (rc->m > 1 && !workers[i].area))
      r = swath_error_set(SWATH_ENOMEM, "out of memory");
  }
  if (r) goto out;

  swath__interrupted = 0;
  struct sigaction sa = {0}, old_int, old_term;
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  int started = 0, fetching = 0;
  pthread_t fetch_thread;
  walk fw;
  memset(&fw, 0, sizeof fw);
  /* A fetch stage for the inputs that fetch (offline ones read the cache only). */
  int online = 0;
  for (int i = 0; i < job->ninputs; i++)
    online |= rc->fetchers[i] != NULL;
  if (online) {
    if ((r = swath__walk_init(&fw, rc, area, overviews, &swath__ro_store, rc))) goto out_walk;
    if (redo) swath_plan_redo(fw.plan);
    fetching = pthread_create(&fetch_thread, NULL, swath__fetch_main, &fw) == 0;
  }
  for (; started < nworkers; started++)
    if (pthread_create(&threads[started], NULL, swath__worker_main, &workers[started])) break;
  if (started == 0) {
    r = swath_error_set(SWATH_EIO, "cannot start worker threads");
  } else {
    swath_progress pg;
    swath_progress_init(&pg, "tasks", stats->total, opts->progress);
    swath_progress_set_total(&pg, stats->total, !exact);
    for (;;) {
      pthread_mutex_lock(&rc->lock);
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      int finished =
          (swath_plan_finished(rc->plan) || rc->stop || swath__interrupted) && rc->in_flight == 0;
      if (!finished) pthread_cond_timedwait(&rc->cond, &rc->lock, &ts);
      int64_t finished_tasks = rc->done + rc->empty + rc->failed;
      const swath_plan_counts *pc = swath_plan_counts_get(rc->plan);
      finished_tasks += pc->skipped + pc->empty;
      int64_t failed = rc->failed;
      rc->store->flush(rc->store_state);
      pthread_mutex_unlock(&rc->lock);
      if (!exact) {
        int64_t total = swath_task_count_get(count, &exact);
        swath_progress_set_total(&pg, total, !exact);
      }
      swath_progress_show(&pg, finished_tasks, failed);
      if (finished) break;
    }
    swath_progress_end(&pg);
    /* Workers leave once the plan is finished; wake any that wait. */
    pthread_mutex_lock(&rc->lock);
    rc->stop = 1;
    pthread_cond_broadcast(&rc->cond);
    pthread_mutex_unlock(&rc->lock);
  }
  for (int i = 0; i < started; i++)
    pthread_join(threads[i], NULL);
  for (int i = 0; i < started && !r; i++)
    if (workers[i].failed_open)
      r = swath_error_set(workers[i].failed_open, "%s", workers[i].open_msg);
  if (fetching) {
    /* Computing is over: what the fetch stage still has queued is not needed. */
    pthread_mutex_lock(&rc->lock);
    rc->stop = 1;
    pthread_cond_broadcast(&rc->cond);
    pthread_mutex_unlock(&rc->lock);
    swath__fetch_totals(rc, &stats->fetch); /* before the cancel counts aborts */
    for (int i = 0; i < job->ninputs; i++)
      if (rc->fetchers[i]) swath_fetch_cancel(rc->fetchers[i], "the run is over");
    pthread_join(fetch_thread, NULL);
  }
out_walk:
  if (online) swath__walk_free(&fw);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  if (!r) r = rc->store->flush(rc->store_state);

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
  if (!fetching) swath__fetch_totals(rc, &stats->fetch);
  if (!r) r = swath__finish_product(rc, job, swath_area_bounds(area), &lonlat);
  stats->seconds = swath_now() - t_start;
  summary(stats);
  if (!r && swath__interrupted)
    r = swath_error_set(SWATH_EINTR, "interrupted; run the same command again to resume");
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

out:
  if (workers) {
    for (int i = 0; i < nworkers; i++) {
      for (int k = 0; workers[i].src && k < job->ninputs; k++)
        if (workers[i].src[k]) rc->src_vt[k]->close(workers[i].src[k]);
      free(workers[i].src);
      swath_area_free(workers[i].area);
    }
  }
  free(workers);
  free(threads);
  if (rc->failures) {
    long size = ftell(rc->failures);
    fclose(rc->failures);
    if (size == 0) {
      snprintf(path, sizeof path, "%s/%s/failed.txt", job->out_path, SWATH_STATE_DIR);
      unlink(path);
    }
  }
  swath_task_count_free(count);
  swath_plan_free(rc->plan);
  swath__run_ctx_free(rc, area);
  return r;
}

int swath_prefetch(const swath_job *job, const swath_prefetch_opts *opts,
                   swath_prefetch_stats *stats) {
  memset(stats, 0, sizeof *stats);
  double t_start = swath_now();
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  run_ctx rc_s = {0}, *rc = &rc_s;
  rc->job = job;
  rc->g = &job->grid;
  rc->m = job->metatiling;
  pthread_mutex_init(&rc->lock, NULL);
  pthread_cond_init(&rc->cond, NULL);
  swath_area *area = NULL;
  walk w;
  memset(&w, 0, sizeof w);
  int walk_made = 0;
  FILE *replay = NULL;
  char state_dir[4096], path[4200], old[4300];
  swath_task_count *leaves = NULL; /* the process tiles the walk will visit */
  int r = swath__run_setup(rc, &area, opts->yes);
  if (!r && !rc->nremote)
    r = swath_error_set(SWATH_EINVAL, "%s: no remote inputs (xyz, wmts, wms): nothing to prefetch",
                        job->path);
  int overviews =
      job->overviews && swath_plan_grid_is_quadtree(rc->g, job->min_zoom, job->max_zoom);
  snprintf(state_dir, sizeof state_dir, "%s/%s", job->out_path, SWATH_STATE_DIR);
  snprintf(path, sizeof path, "%s/prefetch-failed.txt", state_dir);
  snprintf(old, sizeof old, "%s.replay", path);
  if (!r && swath__mkdir_p(state_dir))
    r = swath_error_set(SWATH_EINVAL, "output: cannot create '%s': %s", state_dir, strerror(errno));
  if (!r && opts->retry_failed) {
    if (rename(path, old) != 0 && errno != ENOENT)
      r = swath_error_set(SWATH_EIO, "cannot move '%s' aside: %s", path, strerror(errno));
    else if (!(replay = fopen(old, "r")))
      swath_info("%s: no failures to retry", path);
  }
  if (!r) {
    walk_made = 1; /* swath__walk_init leaves it freeable whatever happens */
    r = swath__walk_init(&w, rc, area, overviews, NULL, NULL);
  }
  /* No pass to count the requests first: over a large area it would keep
   * the servers waiting for minutes. The progress total is estimated from
   * the requests per process tile so far until the walk is over. */
  if (!r && !opts->retry_failed)
    r = swath_task_count_start(rc->g, area, overviews ? job->max_zoom : job->min_zoom,
                               job->max_zoom, rc->m, &leaves);
  if (!r && (opts->retry_failed ? replay != NULL : 1)) {
    w.prefetch = 1;
    if (!(w.failures = fopen(path, "w")))
      r = swath_error_set(SWATH_EINVAL, "cannot write '%s': %s", path, strerror(errno));
  }
  if (!r && w.prefetch) {
    swath_job_size_note(job, area, swath__remote_input(rc), swath__top_zoom_only(rc));
    int exact = 0;
    if (leaves) swath_task_count_wait(leaves, 0.2);
    int64_t nleaves = leaves ? swath_task_count_get(leaves, &exact) : 0;
    if (leaves)
      swath_info("%s: prefetching the requests of %s%lld process tiles at zooms %d-%d into %s",
                 job->path, exact ? "" : "about ", (long long)nleaves, job->min_zoom, job->max_zoom,
                 job->cache_dir);
    else
      swath_info("%s: prefetching the failed requests at zooms %d-%d into %s", job->path,
                 job->min_zoom, job->max_zoom, job->cache_dir);
    swath__interrupted = 0;
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    prefetch_feed pf = {&w, replay, 0};
    pthread_t th;
    if (pthread_create(&th, NULL, swath__prefetch_main, &pf)) {
      r = swath_error_set(SWATH_EIO, "cannot start a thread");
    } else {
      swath_progress pg;
      swath_progress_init(&pg, "requests", -1, opts->progress);
      /* Poll often (the end of a short run should not wait), draw 5 times a
       * second. Over when everything is submitted and has had its callback. */
      double drawn = 0;
      for (;;) {
        pthread_mutex_lock(&w.mu);
        int64_t finished = w.fetched + w.cached + w.empty + w.failed + w.aborted;
        int64_t failed = w.failed + w.aborted, requests = w.requests, walked = w.leaves;
        int fed = w.fed, over = w.fed && finished >= w.requests;
        pthread_mutex_unlock(&w.mu);
        if (fed) {
          swath_progress_set_total(&pg, requests, 0);
        } else if (leaves && walked > 0) {
          nleaves = swath_task_count_get(leaves, &exact);
          double guess = (double)requests * (double)nleaves / (double)walked;
          swath_progress_set_total(&pg, guess > requests ? (int64_t)guess : requests, 1);
        }
        if (over || swath_now() - drawn >= 0.2) {
          swath_progress_show(&pg, finished, failed);
          drawn = swath_now();
        }
        if (swath__interrupted)
          for (int i = 0; i < job->ninputs; i++)
            if (rc->fetchers[i]) swath_fetch_cancel(rc->fetchers[i], "interrupted");
        if (over) break;
        usleep(10000);
      }
      pthread_join(th, NULL);
      swath_progress_end(&pg);
      if (pf.rc) r = pf.rc;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
  }
  if (w.failures) {
    long size = ftell(w.failures);
    fclose(w.failures);
    if (size == 0) unlink(path);
  }
  if (replay) {
    fclose(replay);
    unlink(old);
  }
  stats->fetched = w.fetched;
  stats->cached = w.cached;
  stats->empty = w.empty;
  stats->failed = w.failed;
  stats->aborted = w.aborted;
  stats->requests = w.requests;
  swath_fetch_stats fs;
  swath__fetch_totals(rc, &fs);
  stats->bytes = fs.bytes;
  stats->attempts = fs.requests;
  stats->seconds = swath_now() - t_start;
  if (!r && w.prefetch) {
    swath_info(
        "prefetch finished in %.1f s: %lld requests: %lld fetched, %lld already cached, %lld "
        "empty, "
        "%lld failed, %lld aborted; %.1f MB in %llu HTTP requests (%.1f requests/s, %llu retries)",
        stats->seconds, (long long)stats->requests, (long long)stats->fetched,
        (long long)stats->cached, (long long)stats->empty, (long long)stats->failed,
        (long long)stats->aborted, stats->bytes / 1e6, (unsigned long long)fs.requests,
        stats->seconds > 0 ? fs.requests / stats->seconds : 0, (unsigned long long)fs.retries);
    if (fs.cache_invalid)
      swath_warn("%llu cached file(s) failed the checks a download gets (damaged): requested again",
                 (unsigned long long)fs.cache_invalid);
    if (swath__interrupted)
      r = swath_error_set(SWATH_EINTR, "interrupted; run the same command again to resume");
    else if (stats->failed || stats->aborted)
      r = swath_error_set(SWATH_EIO,
                          "%lld request(s) failed; listed in %s; retry them with --retry-failed",
                          (long long)(stats->failed + stats->aborted), path);
  }
  if (walk_made) swath__walk_free(&w);
  swath_task_count_free(leaves);
  swath__run_ctx_free(rc, area);
  return r;
}
