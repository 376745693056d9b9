/* cmd_run.c: `swath run job.yaml [--zoom Z|Z1-Z2] [--bounds lon/lat] [--workers N]
 * [--overwrite] [--check] [--yes] [--progress|--no-progress]`. Flags override the job file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"
#include "engine/heatmap.h"
#include "engine/job.h"
#include "engine/run.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: swath run JOB.yaml [options]\n"
          "  --zoom Z|Z1-Z2         zooms to process (overrides the job's)\n"
          "  --bounds W,S,E,N       area in lon/lat (overrides the job's)\n"
          "  --workers N            compute threads (default: number of cores)\n"
          "  --overwrite            redo the area's finished tiles; replace another job's tiles\n"
          "  --check                check the job as a run does before it writes (inputs,\n"
          "                         servers, area, process, output), then stop: write nothing\n"
          "  --yes                  go ahead with a remote job without area over more than\n"
          "                         1000000 tiles (refused otherwise, exit 2)\n"
          "  --progress             always draw a progress bar\n"
          "  --no-progress          log lines instead of a bar\n");
}

static int run_option(void *ud, int c, const char *arg) {
  swath_run_opts *o = ud;
  switch (c) {
  case 'w': {
    char *end;
    long v = strtol(arg, &end, 10);
    if (*end || v < 1 || v > 1024)
      return swath_error_set(SWATH_EINVAL, "--workers: expected a number from 1 to 1024, got '%s'",
                             arg);
    o->workers = (int)v;
    break;
  }
  case 'o':
    o->overwrite = 1;
    break;
  case 'c':
    o->check = 1;
    break;
  }
  return 0;
}

int swath_cmd_run(int argc, char **argv) {
  static const struct option options[] = {{"workers", required_argument, 0, 'w'},
                                          {"overwrite", no_argument, 0, 'o'},
                                          {"check", no_argument, 0, 'c'},
                                          {0, 0, 0, 0}};
  swath_run_opts o = {.workers = 0, .overwrite = 0, .progress = -1};
  swath_job_cmd cmd = {
      .name = "run", .usage = usage, .options = options, .option = run_option, .ud = &o};
  swath_job *job;
  int st = swath_cli_job_args(&cmd, argc, argv, &job);
  if (st >= 0) return st;
  o.progress = cmd.progress;
  o.yes = cmd.yes;
  swath_run_stats stats;
  int r = swath_run(job, &o, &stats);
  if (!r && !o.check && job->heatmap) r = swath_heatmap_of_job(job, o.workers, o.progress);
  swath_job_free(job);
  return swath_cli_status(r);
}
