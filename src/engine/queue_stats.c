/* queue_stats.c: the queue's figures as a whole (swath_queue_stats), for
 * the server's /metrics.
 *
 * Cheap by construction: jobs are grouped by state (one row per job),
 * ready and running tasks are counted on the claim index (it holds only
 * those), and the recent tiles are summed on the finished index of the
 * jobs updated in the last minute only. */
#include <string.h>

#include "core/error.h"
#include "engine/queue_internal.h"

static int stats_once(swath_pg *pg, void *ud) {
  swath_qstats *s = ud;
  memset(s, 0, sizeof *s);
  PGresult *res;
  int r = swath__pg_exec(pg, "count jobs by state",
                         "SELECT state, count(*) FROM swath_jobs GROUP BY state", 0, NULL, &res);
  if (r) return r;
  for (int i = 0; i < PQntuples(res); i++) {
    long long st = swath__pg_get_i64(res, i, 0);
    if (st >= 0 && st <= SWATH_QJOB_CANCELLED) s->jobs[st] = swath__pg_get_i64(res, i, 1);
  }
  PQclear(res);
  r = swath__pg_exec(pg, "count tasks",
                     "SELECT (SELECT count(*) FROM swath_tasks WHERE state = 1),"
                     " (SELECT count(*) FROM swath_tasks WHERE state = 2),"
                     " (SELECT coalesce(sum(t.tiles_written), 0) FROM swath_jobs j"
                     "  JOIN swath_tasks t ON t.job = j.id AND t.finished > now() - interval '60 s'"
                     "  WHERE j.updated > now() - interval '60 s'),"
                     " (SELECT count(*) FROM swath_workers WHERE seen > now() - interval '60 s')",
                     0, NULL, &res);
  if (r) return r;
  s->tasks_ready = swath__pg_get_i64(res, 0, 0);
  s->tasks_running = swath__pg_get_i64(res, 0, 1);
  s->tiles_per_s = swath__pg_get_f64(res, 0, 2) / 60.0;
  s->workers_alive = swath__pg_get_i64(res, 0, 3);
  PQclear(res);
  return 0;
}

int swath_queue_stats(swath_queue *q, swath_qstats *out) {
  return swath__queue_call(q, stats_once, out);
}
