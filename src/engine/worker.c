/* worker.c: the loop of `swath worker` (worker.h).
 *
 * The main thread claims, runs and completes; the heartbeat thread only
 * renews. They share the list of claims held (under `mu`) and nothing else:
 * each has its own queue connection (a swath_queue is not thread-safe).
 * One job is set up at a time (its runner kept while tasks of the same job
 * come); a claim of another job closes it and sets the other one up. */
#include "engine/worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "core/progress.h"
#include "engine/heatmap.h"
#include "engine/job.h"
#include "engine/queue.h"
#include "engine/run_int.h"
#include "engine/run_task.h"

#define MAX_BATCH 64

typedef struct wstate {
  const swath_worker_opts *o;
  char owner[256], host[128];
  swath_queue *q;
  /* the job set up now */
  int64_t job_id;
  swath_qjob qjob;
  swath_job *job;
  void *view; /* the queue's store view of the job */
  swath_task_runner *runner;
  /* shared with the heartbeat thread, under mu */
  pthread_mutex_t mu;
  pthread_cond_t cond;
  swath_claim held[MAX_BATCH];
  int nheld;
  int running;  /* index in held of the task running, or -1 */
  int lost_run; /* the running task's lease was lost */
  int quit;
} wstate;

/* ---- the heartbeat ---- */

static void *heartbeat_main(void *arg) {
  wstate *w = arg;
  swath_queue *hq = NULL;
  int period = w->o->lease / 3 > 0 ? w->o->lease / 3 : 1;
  pthread_mutex_lock(&w->mu);
  while (!w->quit) {
    swath_claim c[MAX_BATCH];
    int n = w->nheld, lost[MAX_BATCH] = {0};
    memcpy(c, w->held, (size_t)n * sizeof *c);
    int64_t job = w->job_id;
    pthread_mutex_unlock(&w->mu);
    if (!hq && swath_queue_open(w->o->conninfo, &hq)) {
      swath_warn("heartbeat: %s", swath_error_message());
      hq = NULL;
    }
    int r = hq ? swath_queue_beat(hq, w->owner, w->host, (int)getpid(), job) : -1;
    if (hq && n) r = swath_queue_renew(hq, w->owner, c, n, w->o->lease, lost);
    if (r && hq) swath_warn("heartbeat: %s", swath_error_message());
    pthread_mutex_lock(&w->mu);
    for (int i = 0; !r && i < n; i++) {
      if (!lost[i]) continue;
      /* The claim may have ended meanwhile: find it in the list now. */
      for (int k = 0; k < w->nheld; k++) {
        if (memcmp(&w->held[k], &c[i], sizeof c[i]) != 0) continue;
        if (k == w->running && !w->lost_run) {
          w->lost_run = 1;
          swath_warn("task %d/%lld/%lld: lease lost (taken over, or the job was cancelled): "
                     "stopping it",
                     c[i].mt.z, (long long)c[i].mt.x, (long long)c[i].mt.y);
          if (w->runner) swath_task_runner_abort(w->runner);
        }
      }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += period;
    if (!w->quit) pthread_cond_timedwait(&w->cond, &w->mu, &ts);
  }
  pthread_mutex_unlock(&w->mu);
  swath_queue_close(hq);
  return NULL;
}

/* ---- one job set up at a time ---- */

static void job_close(wstate *w) {
  swath_task_runner_close(w->runner);
  w->runner = NULL;
  swath_job_free(w->job);
  w->job = NULL;
  swath_qjob_clear(&w->qjob);
  if (w->view) swath_store_pg.close(w->view); /* the view, not the connection */
  w->view = NULL;
  w->job_id = 0;
}

/* Set up job `id` for its tasks here; the job's key must be the one it
 * was submitted with (the same inputs, seen from this machine). */
static int job_open(wstate *w, int64_t id) {
  if (w->job_id == id && w->runner) return 0;
  job_close(w);
  int r = swath_queue_job(w->q, id, &w->qjob);
  if (!r) r = swath_job_load_text(w->qjob.path, w->qjob.yaml, &w->job);
  if (!r) r = swath_store_pg_view(w->q, id, w->job->metatiling, &w->view);
  /* The set-up first: an input missing here fails with its own message. */
  if (!r) r = swath_task_runner_open(w->job, w->o->threads, &swath_store_pg, w->view, &w->runner);
  if (!r) {
    char key[17];
    swath_job_key(w->job, key);
    if (strcmp(key, w->qjob.key) != 0)
      r = swath_error_set(SWATH_EINVAL,
                          "job %lld: its inputs or settings read differently on this machine "
                          "(job key %s, submitted as %s): workers must see the same files",
                          (long long)id, key, w->qjob.key);
  }
  if (r) {
    int keep = r;
    job_close(w);
    return keep;
  }
  w->job_id = id;
  swath_info("job %lld: %s set up (%s, zooms %d-%d) -> %s", (long long)id, w->qjob.path,
             w->job->process, w->job->min_zoom, w->job->max_zoom, w->job->out_path);
  return 0;
}

/* ---- one task ---- */

static const char *kind_name(int kind) {
  return kind == SWATH_QTASK_CELL ? "cell" : kind == SWATH_QTASK_TILE ? "tile" : "finish";
}

/* Run claim c (set up already) and report it to the queue. */
static void run_claim(wstate *w, const swath_claim *c, swath_worker_stats *st) {
  swath_task_result res = {0};
  int r;
  if (c->kind == SWATH_QTASK_FINISH) {
    r = swath_task_runner_finish(w->runner);
    /* The heatmap output.heatmap asks for, once every feature is in (as
     * `swath run` builds it after its run); a retried FINISH builds it
     * again. */
    if (!r && w->job->heatmap) r = swath_heatmap_of_job(w->job, w->o->threads, 0);
  } else {
    int max_zoom = c->kind == SWATH_QTASK_CELL ? w->job->max_zoom : c->mt.z;
    r = swath_task_runner_run(w->runner, c->mt, max_zoom, c->attempt, &res);
  }
  pthread_mutex_lock(&w->mu);
  int lost = w->lost_run;
  pthread_mutex_unlock(&w->mu);
  if (r == SWATH_EINTR && (lost || swath__interrupted)) {
    swath_store_pg_discard(w->view);
    if (lost) st->lost++;
    /* Handed back (a claim taken over meanwhile is not ours: the queue
     * ignores it); a cancelled job's task then counts as not running. */
    swath_queue_release(w->q, w->owner, c, 1);
    return;
  }
  if (r) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", swath_error_message());
    swath_store_pg_discard(w->view);
    swath_warn("task %d/%lld/%lld (%s, attempt %d) failed: %s", c->mt.z, (long long)c->mt.x,
               (long long)c->mt.y, kind_name(c->kind), c->attempt, msg);
    st->failed++;
    if (swath_queue_fail(w->q, w->owner, c, msg) == SWATH_EEMPTY) st->lost++;
    return;
  }
  int state = c->kind == SWATH_QTASK_FINISH || res.tiles_written || res.features
                  ? SWATH_QTASK_DONE
                  : SWATH_QTASK_EMPTY;
  r = swath_queue_complete(w->q, w->owner, c, state, res.tiles_written, w->view,
                           c->kind == SWATH_QTASK_FINISH ? NULL : swath_task_runner_commit,
                           w->runner);
  if (r == SWATH_EEMPTY) {
    swath_task_runner_discard(w->runner);
    swath_warn("task %d/%lld/%lld (attempt %d): completion refused, a newer attempt holds it",
               c->mt.z, (long long)c->mt.x, (long long)c->mt.y, c->attempt);
    st->lost++;
    return;
  }
  if (r) {
    swath_task_runner_discard(w->runner);
    swath_warn("task %d/%lld/%lld: cannot complete: %s (it runs again when its lease ends)",
               c->mt.z, (long long)c->mt.x, (long long)c->mt.y, swath_error_message());
    st->failed++;
    return;
  }
  st->tasks++;
  st->tiles += res.tiles_written;
  if (c->kind == SWATH_QTASK_FINISH) {
    if (swath_queue_job_done(w->q, c->job))
      swath_warn("job %lld: %s", (long long)c->job, swath_error_message());
    else
      swath_info("job %lld: done; metadata written to %s", (long long)c->job, w->job->out_path);
    return;
  }
  swath_info("task %d/%lld/%lld (%s, attempt %d): %lld tiles in %.1f s", c->mt.z,
             (long long)c->mt.x, (long long)c->mt.y, kind_name(c->kind), c->attempt,
             (long long)res.tiles_written, res.seconds);
}

/* Set up the claim's job (a failure to do so fails the task, with the
 * reason, for the queue to retry elsewhere) and run it. */
static void do_claim(wstate *w, int i, swath_worker_stats *st) {
  swath_claim c = w->held[i];
  int r = job_open(w, c.job);
  if (r) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", swath_error_message());
    swath_warn("job %lld: cannot set up here: %s", (long long)c.job, msg);
    st->failed++;
    swath_queue_fail(w->q, w->owner, &c, msg);
    return;
  }
  pthread_mutex_lock(&w->mu);
  w->running = i;
  w->lost_run = 0;
  pthread_mutex_unlock(&w->mu);
  run_claim(w, &c, st);
  pthread_mutex_lock(&w->mu);
  w->running = -1;
  pthread_mutex_unlock(&w->mu);
}

/* ---- the loop ---- */

/* 1 if there is nothing left for this worker to wait for. */
static int idle_over(wstate *w) {
  if (w->o->wait) return 0;
  if (w->o->job) {
    swath_qjob j;
    if (swath_queue_job(w->q, w->o->job, &j)) return 1;
    int over = j.state == SWATH_QJOB_DONE || j.state == SWATH_QJOB_FAILED ||
               j.state == SWATH_QJOB_CANCELLED;
    swath_qjob_clear(&j);
    return over;
  }
  /* Any job still to be drained (the newest one that is, whatever the
   * number of jobs the queue has seen). */
  swath_qjob *v = NULL;
  int n = 0;
  unsigned active = 1u << SWATH_QJOB_PLANNING | 1u << SWATH_QJOB_QUEUED | 1u << SWATH_QJOB_RUNNING;
  if (swath_queue_jobs_page(w->q, 0, active, 1, &v, &n)) return 0;
  for (int i = 0; i < n; i++)
    swath_qjob_clear(&v[i]);
  free(v);
  return n == 0;
}

static void drain(wstate *w, swath_worker_stats *st) {
  int idle_polls = 0;
  while (!swath__interrupted) {
    swath_claim c[MAX_BATCH];
    int got = 0;
    if (swath_queue_claim(w->q, w->owner, w->o->job, w->o->batch, w->o->lease, c, &got)) {
      swath_warn("claim: %s", swath_error_message());
      got = 0;
    }
    if (!got) {
      if (idle_over(w)) break;
      /* Poll: 0.2 s at first, up to 2 s, with jitter (many idle workers). */
      int ms = 200 * (1 << (idle_polls < 3 ? idle_polls : 3));
      idle_polls++;
      usleep((useconds_t)(ms / 2 + rand() % ms) * 1000);
      continue;
    }
    idle_polls = 0;
    pthread_mutex_lock(&w->mu);
    memcpy(w->held, c, (size_t)got * sizeof *c);
    w->nheld = got;
    pthread_mutex_unlock(&w->mu);
    int i = 0;
    for (; i < got && !swath__interrupted; i++)
      do_claim(w, i, st);
    if (i < got) swath_queue_release(w->q, w->owner, c + i, got - i);
    pthread_mutex_lock(&w->mu);
    w->nheld = 0;
    pthread_mutex_unlock(&w->mu);
  }
}

int swath_worker_run(const swath_worker_opts *o, swath_worker_stats *st) {
  memset(st, 0, sizeof *st);
  if (o->batch < 1 || o->batch > MAX_BATCH)
    return swath_error_set(SWATH_EINVAL, "--batch %d is not in 1-%d", o->batch, MAX_BATCH);
  if (o->lease < 3) return swath_error_set(SWATH_EINVAL, "--lease %d is under 3 seconds", o->lease);
  double t0 = swath_now();
  wstate *w = calloc(1, sizeof *w);
  if (!w) return swath_error_set(SWATH_ENOMEM, "out of memory");
  w->o = o;
  w->running = -1;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cond, NULL);
  if (gethostname(w->host, sizeof w->host)) snprintf(w->host, sizeof w->host, "unknown");
  w->host[sizeof w->host - 1] = 0;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  srand((unsigned)(now.tv_nsec ^ getpid()));
  snprintf(w->owner, sizeof w->owner, "%s:%d:%08x", w->host, (int)getpid(), (unsigned)rand());
  int r = swath_queue_open(o->conninfo, &w->q);
  pthread_t hb;
  int hb_started = 0;
  swath__signals sig;
  swath__signals_catch(&sig);
  if (!r) {
    hb_started = pthread_create(&hb, NULL, heartbeat_main, w) == 0;
    if (!hb_started) r = swath_error_set(SWATH_EIO, "cannot start the heartbeat thread");
  }
  if (!r) {
    swath_info("worker %s: claiming %s tasks, %d at a time, lease %d s", w->owner,
               o->job ? "one job's" : "any job's", o->batch, o->lease);
    drain(w, st);
    if (swath__interrupted) r = swath_error_set(SWATH_EINTR, "stopped by a signal");
  }
  if (hb_started) {
    pthread_mutex_lock(&w->mu);
    w->quit = 1;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->mu);
    pthread_join(hb, NULL);
  }
  swath__signals_restore(&sig);
  job_close(w);
  swath_queue_close(w->q);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cond);
  free(w);
  st->seconds = swath_now() - t0;
  return r;
}
