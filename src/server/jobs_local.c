/* jobs_local.c: the job service on one machine (jobs.h's swath_jobs_local):
 * jobs in a SQLite file (jobs_local_db.c), run by runner threads of the
 * serving process with the ordinary engine.
 *
 * A job is checked as `swath run --check` checks it and stored with its
 * job text; a runner takes the oldest job to run and calls swath_run on
 * that text (and builds the heatmap after, as `swath run` does), so a
 * posted job makes exactly what `swath run` of the same job file makes,
 * its state in its own output (.swath/state.sqlite): a run stopped at any
 * moment (the server stopped or killed) resumes where it was when the job
 * is taken again. A cancel marks the job cancelled and sets the run's
 * cancel flag, which the engine checks at every task boundary.
 *
 * Invariants: one lock guards the connection and the list of runs in
 * progress; no run holds it while it computes. A job is held (run) by at
 * most one thread; a job is done only when swath_run returned 0. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/log.h"
#include "engine/heatmap.h"
#include "engine/run.h"
#include "server/jobs_local.h"

/* A job being run by some thread of this process. */
typedef struct jl_run {
  int64_t id;
  atomic_int cancel;
  struct jl_run *next;
} jl_run;

typedef struct jobs_local {
  jl_db db;
  pthread_mutex_t mu;
  pthread_cond_t cond; /* a job queued, a run ended, stopping */
  jl_run *runs;
  int stopping;
  int threads; /* compute threads per run */
  int nrunners;
  pthread_t *runners;
} jobs_local;

/* What the progress callback of a run needs. */
typedef struct jl_progress {
  jobs_local *s;
  int64_t id;
  int64_t tiles_before; /* written by earlier runs of the job */
  double start, last;
} jl_progress;

static void on_progress(void *ud, int64_t finished, int64_t total, int64_t tiles) {
  jl_progress *p = ud;
  double now = swath__jl_now();
  /* a write every half second is plenty for a status document */
  if (now - p->last < 0.5 && finished < total) return;
  p->last = now;
  pthread_mutex_lock(&p->s->mu);
  swath__jl_progress(&p->s->db, p->id, total, finished, p->tiles_before + tiles,
                     now > p->start ? tiles / (now - p->start) : 0);
  pthread_mutex_unlock(&p->s->mu);
}

/* Run job `id` (held by this thread, registered as r) once with swath_run;
 * called and returning without the lock. */
static void run_job(jobs_local *s, jl_run *r, int threads) {
  swath_qjob j;
  pthread_mutex_lock(&s->mu);
  int rc = swath__jl_get(&s->db, r->id, &j);
  pthread_mutex_unlock(&s->mu);
  if (rc) {
    swath_warn("job %lld: %s", (long long)r->id, swath_error_message());
    return;
  }
  swath_job *job = NULL;
  jl_progress p = {s, r->id, j.tiles_written, swath__jl_now(), 0};
  swath_run_stats st = {0};
  rc = swath_job_load_text(j.path, j.yaml, &job);
  if (!rc) {
    swath_info("job %lld: running %s -> %s", (long long)r->id, j.path, j.output);
    swath_run_opts o = {.workers = threads,
                        .progress = 0,
                        .cancel = &r->cancel,
                        .on_progress = on_progress,
                        .progress_ud = &p};
    rc = swath_run(job, &o, &st);
    if (!rc && job->heatmap) rc = swath_heatmap_of_job(job, threads, 0);
  }
  swath_job_free(job);
  swath_qjob_clear(&j);
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", swath_error_message());
  int state = SWATH_QJOB_DONE;
  if (rc && atomic_load(&r->cancel))
    state = SWATH_QJOB_RUNNING; /* cancelled (already marked) or the server stopping */
  else if (rc)
    state = SWATH_QJOB_FAILED;
  pthread_mutex_lock(&s->mu);
  int r2 = 0;
  /* The run's own final figures (the count is in): what the last callback
   * did not see yet. */
  int64_t ended = rc ? st.done + st.empty + st.skipped + st.failed : st.total;
  if (st.total > 0)
    r2 = swath__jl_progress(&s->db, r->id, st.total, ended, p.tiles_before + st.tiles_written, 0);
  if (!r2) r2 = swath__jl_end(&s->db, r->id, state, rc && state == SWATH_QJOB_FAILED ? msg : NULL);
  pthread_mutex_unlock(&s->mu);
  if (r2) swath_warn("job %lld: %s", (long long)r->id, swath_error_message());
  swath_info("job %lld: %s%s%s", (long long)r->id,
             state == SWATH_QJOB_DONE     ? "done"
             : state == SWATH_QJOB_FAILED ? "failed"
                                          : "stopped",
             state == SWATH_QJOB_FAILED ? ": " : "", state == SWATH_QJOB_FAILED ? msg : "");
}

static void add_run(jobs_local *s, jl_run *r, int64_t id) {
  r->id = id;
  atomic_init(&r->cancel, s->stopping);
  r->next = s->runs;
  s->runs = r;
}

static void remove_run(jobs_local *s, jl_run *r) {
  for (jl_run **p = &s->runs; *p; p = &(*p)->next)
    if (*p == r) {
      *p = r->next;
      break;
    }
  pthread_cond_broadcast(&s->cond);
}

static void *runner_main(void *arg) {
  jobs_local *s = arg;
  pthread_mutex_lock(&s->mu);
  while (!s->stopping) {
    int64_t id = 0;
    if (swath__jl_claim(&s->db, 0, &id)) {
      swath_warn("%s", swath_error_message());
      id = 0;
    }
    if (!id) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_sec += 5; /* a claim that failed above is tried again */
      pthread_cond_timedwait(&s->cond, &s->mu, &ts);
      continue;
    }
    jl_run r;
    add_run(s, &r, id);
    pthread_mutex_unlock(&s->mu);
    run_job(s, &r, s->threads);
    pthread_mutex_lock(&s->mu);
    remove_run(s, &r);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

/* ---- the interface ----------------------------------------------------------- */

static int l_submit(void *st, const swath_job *job, const char *path, int max_attempts,
                    int64_t *id) {
  (void)max_attempts; /* a run retries nothing: a failed job is posted again, and resumes */
  jobs_local *s = st;
  swath_run_opts o = {.workers = 1, .progress = 0, .check = 1};
  swath_run_stats rs;
  char key[17], *yaml = NULL;
  int r = swath_run(job, &o, &rs);
  if (!r) r = swath_job_yaml(job, NULL, &yaml);
  if (r) return r;
  swath_job_key(job, key);
  jl_new n = {key,           yaml,          path,     job->out_path,
              job->min_zoom, job->max_zoom, rs.total, rs.check_tiles};
  pthread_mutex_lock(&s->mu);
  r = swath__jl_insert(&s->db, &n, id);
  if (!r) pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->mu);
  free(yaml);
  return r;
}

static int l_get(void *st, int64_t id, swath_qjob *out) {
  jobs_local *s = st;
  pthread_mutex_lock(&s->mu);
  int r = swath__jl_get(&s->db, id, out);
  pthread_mutex_unlock(&s->mu);
  return r;
}

static int l_page(void *st, int64_t before, unsigned states, int limit, swath_qjob **out, int *n) {
  jobs_local *s = st;
  pthread_mutex_lock(&s->mu);
  int r = swath__jl_page(&s->db, before, states, limit, out, n);
  pthread_mutex_unlock(&s->mu);
  return r;
}

static int l_cancel(void *st, int64_t id) {
  jobs_local *s = st;
  pthread_mutex_lock(&s->mu);
  int r = swath__jl_cancel(&s->db, id);
  for (jl_run *x = s->runs; !r && x; x = x->next)
    if (x->id == id) atomic_store(&x->cancel, 1);
  pthread_mutex_unlock(&s->mu);
  return r;
}

/* Take the job and run it here, or wait for the thread that runs it. */
static int l_run_sync(void *st, int64_t id, int threads) {
  jobs_local *s = st;
  int r = 0;
  pthread_mutex_lock(&s->mu);
  while (!r && !s->stopping) {
    int64_t got = 0;
    if ((r = swath__jl_claim(&s->db, id, &got))) break;
    if (got) {
      jl_run x;
      add_run(s, &x, id);
      pthread_mutex_unlock(&s->mu);
      run_job(s, &x, threads);
      pthread_mutex_lock(&s->mu);
      remove_run(s, &x);
      break;
    }
    swath_qjob j;
    if ((r = swath__jl_get(&s->db, id, &j))) break;
    int over = j.state != SWATH_QJOB_QUEUED && j.state != SWATH_QJOB_RUNNING;
    int held = j.workers_alive;
    swath_qjob_clear(&j);
    if (over && !held) break;
    pthread_cond_wait(&s->cond, &s->mu); /* a run ends: remove_run broadcasts */
  }
  pthread_mutex_unlock(&s->mu);
  return r;
}

static void l_close(void *st) {
  jobs_local *s = st;
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  s->stopping = 1;
  for (jl_run *x = s->runs; x; x = x->next)
    atomic_store(&x->cancel, 1);
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->mu);
  for (int i = 0; i < s->nrunners; i++)
    pthread_join(s->runners[i], NULL);
  free(s->runners);
  swath__jl_close(&s->db);
  pthread_cond_destroy(&s->cond);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

int swath_jobs_local_open(const swath_jobs_local_config *cfg, void **st) {
  *st = NULL;
  jobs_local *s = calloc(1, sizeof *s);
  if (!s) return swath_error_set(SWATH_ENOMEM, "out of memory");
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cond, NULL);
  s->threads = cfg->threads;
  int r = swath__jl_open(cfg->path, &s->db);
  if (!r && !(s->runners = calloc((size_t)cfg->workers, sizeof *s->runners)))
    r = swath_error_set(SWATH_ENOMEM, "out of memory");
  for (int i = 0; !r && i < cfg->workers; i++) {
    if (pthread_create(&s->runners[i], NULL, runner_main, s) != 0)
      r = swath_error_set(SWATH_EIO, "serve: cannot start a runner thread");
    else
      s->nrunners++;
  }
  if (r) {
    l_close(s);
    return r;
  }
  *st = s;
  return 0;
}

const swath_jobs_vtable swath_jobs_local = {"local",  l_submit,   l_get,  l_page,
                                            l_cancel, l_run_sync, l_close};
