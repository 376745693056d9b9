/* cmd_status.c: `swath status [JOB] [--json]`, `swath cancel JOB` and
 * `swath retry JOB --failed` over the PostgreSQL queue (--db or $SWATH_DB). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/json_out.h"
#include "engine/queue.h"
#include "engine/queue_report.h"

typedef struct qargs {
  const char *db;
  int64_t job; /* 0: none given */
  int json, failed, limit;
} qargs;

static void usage(FILE *f, const char *cmd) {
  if (strcmp(cmd, "status") == 0)
    fprintf(f, "usage: swath status [JOB] --db CONNINFO [--json] [--limit N]\n"
               "  progress of one job, or of the newest N jobs (default 20): state, tasks by\n"
               "  state, tiles written, rate and ETA, workers alive, expired leases, fenced\n"
               "  completions, the last error\n");
  else if (strcmp(cmd, "cancel") == 0)
    fprintf(f, "usage: swath cancel JOB --db CONNINFO\n"
               "  no more claims for the job; running workers drop its tasks at their next\n"
               "  heartbeat\n");
  else
    fprintf(f, "usage: swath retry JOB --failed --db CONNINFO\n"
               "  queue the job's failed tasks again (attempts reset)\n");
}

/* Parse the flags and the optional/required job id; -1 to go on, else the
 * exit status. */
static int parse(int argc, char **argv, const char *cmd, int need_job, qargs *a) {
  static const struct option options[] = {
      {"db", required_argument, 0, 'D'}, {"json", no_argument, 0, 'J'},
      {"failed", no_argument, 0, 'F'},   {"limit", required_argument, 0, 'L'},
      {"help", no_argument, 0, 'h'},     {0, 0, 0, 0}};
  memset(a, 0, sizeof *a);
  a->limit = 20;
  int c, r = 0;
  long v;
  optind = 1;
  while (!r && (c = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (c) {
    case 'D':
      a->db = optarg;
      break;
    case 'J':
      a->json = 1;
      break;
    case 'F':
      a->failed = 1;
      break;
    case 'L':
      if (!(r = swath_cli_long(optarg, "--limit", 1, 10000, &v))) a->limit = (int)v;
      break;
    case 'h':
      usage(stdout, cmd);
      return 0;
    default:
      usage(stderr, cmd);
      return 2;
    }
  }
  if (!r && optind < argc) {
    if (!(r = swath_cli_long(argv[optind], "job id", 1, LONG_MAX, &v))) a->job = v;
    optind++;
  }
  if (!r && optind < argc)
    r = swath_error_set(SWATH_EINVAL, "%s: unexpected argument '%s'", cmd, argv[optind]);
  if (!r && need_job && !a->job)
    r = swath_error_set(SWATH_EINVAL, "%s: which job? give its id (swath status lists them)", cmd);
  if (!r) r = swath_cli_db(a->db, &a->db);
  return r ? swath_cli_fail(r) : -1;
}

static int print_json(json_t *v) {
  char *s = v ? json_dumps(v, JSON_INDENT(2)) : NULL;
  json_decref(v);
  if (!s) return swath_error_set(SWATH_ENOMEM, "out of memory");
  printf("%s\n", s);
  free(s);
  return 0;
}

int swath_cmd_status(int argc, char **argv) {
  qargs a;
  int st = parse(argc, argv, "status", 0, &a);
  if (st >= 0) return st;
  swath_queue *q = NULL;
  int r = swath_queue_open(a.db, &q);
  if (!r && a.job) {
    swath_qjob j;
    if (!(r = swath_queue_job(q, a.job, &j))) {
      if (a.json)
        r = print_json(swath_qjob_json(&j));
      else
        swath_qjob_print(stdout, &j);
      swath_qjob_clear(&j);
    }
  } else if (!r) {
    swath_qjob *v = NULL;
    int n = 0;
    if (!(r = swath_queue_jobs(q, a.limit, &v, &n))) {
      json_t *arr = a.json ? json_array() : NULL;
      for (int i = 0; i < n; i++) {
        if (arr)
          json_array_append_new(arr, swath_qjob_json(&v[i]));
        else
          swath_qjob_print(stdout, &v[i]);
        swath_qjob_clear(&v[i]);
      }
      free(v);
      if (arr) r = print_json(arr);
      if (!a.json && n == 0) printf("no jobs\n");
    }
  }
  swath_queue_close(q);
  return swath_cli_status(r);
}

int swath_cmd_cancel(int argc, char **argv) {
  qargs a;
  int st = parse(argc, argv, "cancel", 1, &a);
  if (st >= 0) return st;
  swath_queue *q = NULL;
  int r = swath_queue_open(a.db, &q);
  if (!r) r = swath_queue_cancel(q, a.job);
  if (!r)
    fprintf(stderr,
            "swath: info: job %lld cancelled: no more claims; running tasks are dropped "
            "at their next heartbeat\n",
            (long long)a.job);
  swath_queue_close(q);
  return swath_cli_status(r);
}

int swath_cmd_retry(int argc, char **argv) {
  qargs a;
  int st = parse(argc, argv, "retry", 1, &a);
  if (st >= 0) return st;
  if (!a.failed)
    return swath_cli_fail(swath_error_set(
        SWATH_EINVAL, "retry: say what to retry: --failed (the job's failed tasks)"));
  swath_queue *q = NULL;
  int64_t n = 0;
  int r = swath_queue_open(a.db, &q);
  if (!r) r = swath_queue_retry(q, a.job, &n);
  if (!r)
    fprintf(stderr, "swath: info: job %lld: %lld failed task(s) queued again\n", (long long)a.job,
            (long long)n);
  swath_queue_close(q);
  return swath_cli_status(r);
}
