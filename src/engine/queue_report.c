/* queue_report.c: a queued job's figures, as JSON and as text (queue_report.h). */
#include "engine/queue_report.h"

#include <math.h>
#include <time.h>

/* The ETA means something only while the job can still progress. */
static double eta(const swath_qjob *j) {
  return j->state == SWATH_QJOB_QUEUED || j->state == SWATH_QJOB_RUNNING ? j->eta : -1;
}

double swath_qjob_percent(const swath_qjob *j) {
  if (j->tasks <= 0) return 0;
  double p = 100.0 * (double)(j->tasks_done + j->tasks_empty + j->tasks_failed) / (double)j->tasks;
  return p > 100 ? 100 : p;
}

/* Unix seconds as ISO 8601 UTC into buf; "" for 0 (not yet). */
static const char *iso(double t, char buf[32]) {
  buf[0] = 0;
  if (t <= 0) return buf;
  time_t s = (time_t)t;
  struct tm tm;
  gmtime_r(&s, &tm);
  strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

static void set_time(json_t *o, const char *k, double t) {
  char b[32];
  json_object_set_new(o, k, t > 0 ? json_string(iso(t, b)) : json_null());
}

json_t *swath_qjob_json(const swath_qjob *j) {
  json_t *o = json_object();
  if (!o) return NULL;
  json_object_set_new(o, "id", json_integer(j->id));
  json_object_set_new(o, "state", json_string(swath_qjob_state_name(j->state)));
  json_object_set_new(o, "job", json_string(j->path ? j->path : ""));
  json_object_set_new(o, "output", json_string(j->output ? j->output : ""));
  json_object_set_new(o, "key", json_string(j->key ? j->key : ""));
  json_object_set_new(o, "zooms", json_pack("[ii]", j->min_zoom, j->max_zoom));
  json_object_set_new(o, "cell_zoom", json_integer(j->cell_zoom));
  json_object_set_new(o, "progress", json_real(round(swath_qjob_percent(j) * 10) / 10));
  json_object_set_new(o, "tasks",
                      json_pack("{sI sI sI sI sI sI}", "total", (json_int_t)j->tasks, "done",
                                (json_int_t)j->tasks_done, "empty", (json_int_t)j->tasks_empty,
                                "failed", (json_int_t)j->tasks_failed, "running",
                                (json_int_t)j->tasks_running, "ready", (json_int_t)j->tasks_ready));
  json_object_set_new(o, "tiles_written", json_integer(j->tiles_written));
  json_object_set_new(o, "tiles_per_second", json_real(round(j->rate * 10) / 10));
  json_object_set_new(o, "eta_seconds",
                      j->eta >= 0 ? json_integer((json_int_t)j->eta) : json_null());
  json_object_set_new(o, "workers_alive", json_integer(j->workers_alive));
  json_object_set_new(o, "expired_leases", json_integer(j->expired_leases));
  json_object_set_new(o, "fenced_completions", json_integer(j->fenced));
  json_object_set_new(o, "last_error", j->last_error ? json_string(j->last_error) : json_null());
  set_time(o, "created", j->created);
  set_time(o, "started", j->started);
  set_time(o, "finished", j->finished);
  set_time(o, "updated", j->updated);
  return o;
}

void swath_qjob_print(FILE *f, const swath_qjob *j) {
  char b[32];
  fprintf(f, "job %lld: %s, %.1f%%  %s -> %s\n", (long long)j->id, swath_qjob_state_name(j->state),
          swath_qjob_percent(j), j->path ? j->path : "", j->output ? j->output : "");
  fprintf(f,
          "  tasks: %lld of %lld finished (%lld done, %lld empty, %lld failed), %lld running, "
          "%lld ready\n",
          (long long)(j->tasks_done + j->tasks_empty + j->tasks_failed), (long long)j->tasks,
          (long long)j->tasks_done, (long long)j->tasks_empty, (long long)j->tasks_failed,
          (long long)j->tasks_running, (long long)j->tasks_ready);
  fprintf(f, "  tiles: %lld written, %.1f tiles/s over the last minute",
          (long long)j->tiles_written, j->rate);
  double e = eta(j);
  if (e >= 0)
    fprintf(f, ", ETA %02d:%02d:%02d", (int)(e / 3600), (int)((long)e % 3600 / 60),
            (int)((long)e % 60));
  fprintf(f, "\n  workers alive: %d; leases expired: %lld; completions refused (fenced): %lld\n",
          j->workers_alive, (long long)j->expired_leases, (long long)j->fenced);
  fprintf(f, "  created %s", iso(j->created, b));
  if (j->started > 0) fprintf(f, ", started %s", iso(j->started, b));
  if (j->finished > 0) fprintf(f, ", finished %s", iso(j->finished, b));
  fprintf(f, "\n");
  if (j->last_error) fprintf(f, "  last error: %s\n", j->last_error);
}
