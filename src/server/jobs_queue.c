/* jobs_queue.c: the job service's jobs in the PostgreSQL queue (jobs.h).
 *
 * A posted job enters the queue through swath_submit, exactly as `swath
 * submit` puts it there, and `swath worker` processes run it. Each server
 * thread holds its own queue connection (opened on first use, closed when
 * the thread ends), so no request waits behind another's query. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/submit.h"
#include "engine/worker.h"
#include "server/jobs.h"

typedef struct jobs_queue {
  char *conninfo;
  pthread_key_t key;
} jobs_queue;

static void close_queue(void *q) { swath_queue_close(q); }

static int queue(jobs_queue *s, swath_queue **out) {
  swath_queue *q = pthread_getspecific(s->key);
  if (!q) {
    int rc = swath_queue_open(s->conninfo, &q);
    if (rc) return rc;
    pthread_setspecific(s->key, q);
  }
  *out = q;
  return 0;
}

int swath_jobs_queue_open(const char *conninfo, void **st) {
  *st = NULL;
  swath_queue *probe = NULL;
  int rc = swath_queue_open(conninfo, &probe);
  if (rc) return rc;
  swath_queue_close(probe);
  jobs_queue *s = calloc(1, sizeof *s);
  if (!s || !(s->conninfo = strdup(conninfo))) {
    free(s);
    return swath_error_set(SWATH_ENOMEM, "out of memory");
  }
  if (pthread_key_create(&s->key, close_queue) != 0) {
    free(s->conninfo);
    free(s);
    return swath_error_set(SWATH_EIO, "serve: cannot create thread key");
  }
  *st = s;
  return 0;
}

static int q_submit(void *st, const swath_job *job, const char *path, int max_attempts,
                    int64_t *id) {
  swath_queue *q;
  swath_submit_result res;
  swath_submit_opts so = {.cell_zoom = -1, .max_attempts = max_attempts, .path = path};
  int rc = queue(st, &q);
  if (!rc) rc = swath_submit(q, NULL, job, &so, &res);
  if (!rc) *id = res.id;
  return rc;
}

static int q_get(void *st, int64_t id, swath_qjob *out) {
  swath_queue *q;
  int rc = queue(st, &q);
  return rc ? rc : swath_queue_job(q, id, out);
}

static int q_page(void *st, int64_t before, unsigned states, int limit, swath_qjob **out, int *n) {
  swath_queue *q;
  int rc = queue(st, &q);
  return rc ? rc : swath_queue_jobs_page(q, before, states, limit, out, n);
}

static int q_cancel(void *st, int64_t id) {
  swath_queue *q;
  int rc = queue(st, &q);
  return rc ? rc : swath_queue_cancel(q, id);
}

/* This thread becomes one more worker on the job until it is drained. */
static int q_run_sync(void *st, int64_t id, int threads) {
  jobs_queue *s = st;
  swath_worker_opts wo = {
      .conninfo = s->conninfo, .threads = threads, .job = id, .batch = 1, .lease = 60};
  swath_worker_stats ws;
  return swath_worker_run(&wo, &ws);
}

static void q_close(void *st) {
  jobs_queue *s = st;
  if (!s) return;
  /* The threads that served are gone (their connections closed with them). */
  pthread_key_delete(s->key);
  free(s->conninfo);
  free(s);
}

const swath_jobs_vtable swath_jobs_queue = {"postgresql", q_submit,   q_get,  q_page,
                                            q_cancel,     q_run_sync, q_close};
