/* run_ahead.c: read-ahead for the workers of a vector process (detect,
 * contours): while a worker runs the process over one task's inputs, a
 * second thread of its own reads the inputs of the worker's next task.
 *
 * Why: a model's worker used to read (decode the cached tiles, paste the
 * mosaic) and then run the model, so the model waited for every read. With
 * the next read overlapped, the model waits only where the host has no
 * core left for reading (every core running a model instance): then the
 * two share the CPU as before, so a run reads ahead by default only when
 * it has fewer workers than the host has cores ($SWATH_READ_AHEAD 1 or 0
 * decides otherwise: 1 where the model runs on a server).
 *
 * Invariants: the reader uses the worker's own input handles, and never at
 * the same time as the worker (the worker reads a task inline only while
 * the reader is idle, and takes a read-ahead task's inputs only once the
 * reader is done). A task is taken ahead only if the plan has one ready at
 * once, so read-ahead never holds a worker back; it costs one more set of
 * input blocks per worker (job_memory.c counts it). Vector processes only:
 * their tasks are leaves at one zoom with no parent to wait for. A run
 * stopping (interrupted, a fatal error) drops a task read ahead without
 * running it: it was never recorded, so a resumed run does it. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "engine/run_int.h"

int swath__read_ahead_option(int nworkers, int *on) {
  const char *v = getenv("SWATH_READ_AHEAD");
  /* With a model instance on every core, the reader would only take the
   * CPU from one (bench/detect.sh, 2 workers on 2 cores: (b)/(a) 0.871
   * reading inline, 0.858-0.862 reading ahead). */
  *on = nworkers < sysconf(_SC_NPROCESSORS_ONLN);
  if (!v || !*v) return 0;
  if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
    return swath_error_set(SWATH_EINVAL,
                           "SWATH_READ_AHEAD: '%s' is not 0 (read inline) or 1 (read ahead)", v);
  *on = v[0] == '1';
  return 0;
}

typedef struct reader {
  worker *w;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int posted; /* a leaf to read (mt) */
  int ready;  /* its inputs are in li */
  int quit;
  swath_tile mt;
  swath__leaf_inputs li;
} reader;

static void *reader_main(void *arg) {
  reader *rd = arg;
  pthread_mutex_lock(&rd->mu);
  for (;;) {
    while (!rd->posted && !rd->quit)
      pthread_cond_wait(&rd->cv, &rd->mu);
    if (rd->quit) break;
    swath_tile mt = rd->mt;
    pthread_mutex_unlock(&rd->mu);
    swath__leaf_inputs li;
    swath__read_leaf(rd->w, mt, &li);
    pthread_mutex_lock(&rd->mu);
    rd->li = li;
    rd->posted = 0;
    rd->ready = 1;
    pthread_cond_broadcast(&rd->cv);
  }
  pthread_mutex_unlock(&rd->mu);
  return NULL;
}

static void post(reader *rd, swath_tile mt) {
  pthread_mutex_lock(&rd->mu);
  rd->mt = mt;
  rd->posted = 1;
  rd->ready = 0;
  pthread_cond_broadcast(&rd->cv);
  pthread_mutex_unlock(&rd->mu);
}

static void take(reader *rd, swath__leaf_inputs *li) {
  pthread_mutex_lock(&rd->mu);
  while (!rd->ready)
    pthread_cond_wait(&rd->cv, &rd->mu);
  *li = rd->li;
  rd->ready = 0;
  pthread_mutex_unlock(&rd->mu);
}

void swath__vector_loop(worker *w) {
  run_ctx *rc = w->rc;
  reader rd;
  memset(&rd, 0, sizeof rd);
  rd.w = w;
  pthread_mutex_init(&rd.mu, NULL);
  pthread_cond_init(&rd.cv, NULL);
  pthread_t th;
  /* Without a reader thread the loop reads every task inline. */
  int started = pthread_create(&th, NULL, reader_main, &rd) == 0;

  swath_task cur, next;
  swath__leaf_inputs li;
  int have = swath__claim_task(rc, &cur, 1), pre = 0;
  while (have) {
    if (!pre) swath__read_leaf(w, cur.mt, &li);
    int ahead = started && swath__claim_task(rc, &next, 0);
    if (ahead) post(&rd, next.mt);
    swath__run_vector_task(w, &cur, &li);
    swath__leaf_inputs_free(rc, &li); /* (consumed unless the task failed before) */
    swath__task_finished(rc);
    if (ahead) {
      take(&rd, &li);
      pthread_mutex_lock(&rc->lock);
      int stop = rc->stop || swath__stopping(rc);
      pthread_mutex_unlock(&rc->lock);
      if (stop) {
        swath__leaf_inputs_free(rc, &li);
        swath__task_finished(rc);
        break;
      }
      cur = next;
      pre = 1;
    } else {
      have = swath__claim_task(rc, &cur, 1);
      pre = 0;
    }
  }

  if (started) {
    pthread_mutex_lock(&rd.mu);
    rd.quit = 1;
    pthread_cond_broadcast(&rd.cv);
    pthread_mutex_unlock(&rd.mu);
    pthread_join(th, NULL);
  }
  pthread_cond_destroy(&rd.cv);
  pthread_mutex_destroy(&rd.mu);
}
