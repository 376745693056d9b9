/* cmd_queue.c: the commands of a job drained through the PostgreSQL queue
 * (engine/queue.h): `swath submit`, `swath worker`, `swath status`, `swath
 * cancel`, `swath retry`. The database is --db CONNINFO or $SWATH_DB (a
 * libpq conninfo or postgresql:// URI, directly or through pgbouncer). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/json_out.h"
#include "engine/job.h"
#include "engine/queue.h"
#include "engine/submit.h"
#include "engine/worker.h"

int swath_cli_db(const char *flag, const char **out) {
  *out = flag ? flag : getenv("SWATH_DB");
  if (!*out || !**out)
    return swath_error_set(SWATH_EINVAL,
                           "no queue database: give --db CONNINFO (or set SWATH_DB), e.g. "
                           "--db postgresql://swath@db-host/swath");
  return 0;
}

/* A job id argument: a whole number >= 1. */
static int job_id_arg(const char *s, int64_t *id) {
  long v;
  int r = swath_cli_long(s, "job id", 1, LONG_MAX, &v);
  if (!r) *id = v;
  return r;
}

/* ---- swath submit ---- */

static void submit_usage(FILE *f) {
  fprintf(f,
          "usage: swath submit JOB.yaml --db CONNINFO [options]\n"
          "  --db CONNINFO          the queue's PostgreSQL (or $SWATH_DB)\n"
          "  --zoom Z|Z1-Z2         zooms to process (overrides the job's)\n"
          "  --bounds W,S,E,N       area in lon/lat (overrides the job's)\n"
          "  --cell-zoom Z          zoom of the cells (default: chosen from the job's size)\n"
          "  --max-attempts N       attempts per task before it fails (default 5)\n"
          "  --overwrite            delete the tiles the output folder holds (refused otherwise)\n"
          "  --yes                  go ahead with a remote job without area over more than\n"
          "                         1000000 tiles\n"
          "Checks the job as `swath run --check` does, then queues its tasks and prints the\n"
          "job id. The job file's folder, its inputs and the output must be at the same\n"
          "paths on every worker's machine (a shared folder).\n");
}

typedef struct submit_opts {
  const char *db;
  long cell_zoom, max_attempts;
  int overwrite;
} submit_opts;

static int submit_option(void *ud, int c, const char *arg) {
  submit_opts *o = ud;
  switch (c) {
  case 'D':
    o->db = arg;
    return 0;
  case 'C':
    return swath_cli_long(arg, "--cell-zoom", 0, SWATH_GRID_MAX_ZOOMS - 1, &o->cell_zoom);
  case 'A':
    return swath_cli_long(arg, "--max-attempts", 1, 100, &o->max_attempts);
  case 'o':
    o->overwrite = 1;
    return 0;
  }
  return 0;
}

/* Queue the job's tasks (engine/submit.h). */
static int submit(const swath_job *job, const submit_opts *o, int yes, const char *db) {
  swath_submit_opts so = {.cell_zoom = (int)o->cell_zoom,
                          .max_attempts = (int)o->max_attempts,
                          .overwrite = o->overwrite,
                          .yes = yes};
  swath_submit_result res;
  int r = swath_submit(NULL, db, job, &so, &res);
  if (!r) {
    fprintf(stderr, "swath: info: job %lld: %lld tasks queued (%s at zoom %d), zooms %d-%d -> %s\n",
            (long long)res.id, (long long)res.ntasks, res.overviews ? "cells" : "metatiles",
            res.overviews ? res.cell_zoom : job->max_zoom, job->min_zoom, job->max_zoom,
            job->out_path);
    printf("%lld\n", (long long)res.id);
  }
  return r;
}

int swath_cmd_submit(int argc, char **argv) {
  static const struct option options[] = {{"db", required_argument, 0, 'D'},
                                          {"cell-zoom", required_argument, 0, 'C'},
                                          {"max-attempts", required_argument, 0, 'A'},
                                          {"overwrite", no_argument, 0, 'o'},
                                          {0, 0, 0, 0}};
  submit_opts o = {.cell_zoom = -1, .max_attempts = 5};
  swath_job_cmd cmd = {.name = "submit",
                       .usage = submit_usage,
                       .options = options,
                       .option = submit_option,
                       .ud = &o};
  swath_job *job;
  int st = swath_cli_job_args(&cmd, argc, argv, &job);
  if (st >= 0) return st;
  const char *db;
  int r = swath_cli_db(o.db, &db);
  if (!r) r = submit(job, &o, cmd.yes, db);
  swath_job_free(job);
  return swath_cli_status(r);
}

/* ---- swath worker ---- */

static void worker_usage(FILE *f) {
  fprintf(f, "usage: swath worker --db CONNINFO [options]\n"
             "  --db CONNINFO          the queue's PostgreSQL, directly or through pgbouncer\n"
             "                         (or $SWATH_DB)\n"
             "  --workers N            compute threads per task (default: number of cores)\n"
             "  --job ID               only this job's tasks (default: any job's, oldest first)\n"
             "  --batch N              tasks claimed at once (default 1)\n"
             "  --lease S              seconds a claim lasts without a heartbeat (default 60)\n"
             "  --wait                 when there is nothing to do, wait for new jobs instead\n"
             "                         of exiting\n"
             "Runs until the queue has no work left (or, with --job, that job has ended), or\n"
             "until SIGINT/SIGTERM (the running task stops; its claim is handed back).\n");
}

int swath_cmd_worker(int argc, char **argv) {
  static const struct option options[] = {
      {"db", required_argument, 0, 'D'},    {"workers", required_argument, 0, 'w'},
      {"job", required_argument, 0, 'j'},   {"batch", required_argument, 0, 'b'},
      {"lease", required_argument, 0, 'l'}, {"wait", no_argument, 0, 'W'},
      {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
  swath_worker_opts o = {.batch = 1, .lease = 60};
  const char *db = NULL;
  long v;
  int c, r = 0;
  optind = 1;
  while (!r && (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (c) {
    case 'D':
      db = optarg;
      break;
    case 'w':
      if (!(r = swath_cli_long(optarg, "--workers", 1, 1024, &v))) o.threads = (int)v;
      break;
    case 'j':
      r = job_id_arg(optarg, &o.job);
      break;
    case 'b':
      if (!(r = swath_cli_long(optarg, "--batch", 1, 64, &v))) o.batch = (int)v;
      break;
    case 'l':
      if (!(r = swath_cli_long(optarg, "--lease", 3, 86400, &v))) o.lease = (int)v;
      break;
    case 'W':
      o.wait = 1;
      break;
    case 'h':
      worker_usage(stdout);
      return 0;
    default:
      worker_usage(stderr);
      return 2;
    }
  }
  if (!r && optind < argc)
    r = swath_error_set(SWATH_EINVAL, "worker: unexpected argument '%s'", argv[optind]);
  if (!r) r = swath_cli_db(db, &o.conninfo);
  if (r) return swath_cli_fail(r);
  swath_worker_stats st;
  r = swath_worker_run(&o, &st);
  fprintf(stderr,
          "swath: info: worker: %lld tasks done, %lld failed here, %lld dropped (lease lost or "
          "completion refused), %lld tiles, %.1f s\n",
          (long long)st.tasks, (long long)st.failed, (long long)st.lost, (long long)st.tiles,
          st.seconds);
  return swath_cli_status(r);
}
