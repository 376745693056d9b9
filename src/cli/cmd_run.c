/* cmd_run.c: `swath run job.yaml [--zoom Z|Z1-Z2] [--bounds lon/lat] [--workers N]
 * [--overwrite] [--check] [--yes] [--progress|--no-progress]`. Flags override the job file. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"
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

int swath_cmd_run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"zoom", required_argument, 0, 'z'},   {"bounds", required_argument, 0, 'b'},
      {"workers", required_argument, 0, 'w'}, {"overwrite", no_argument, 0, 'o'},
      {"progress", no_argument, 0, 'p'},     {"no-progress", no_argument, 0, 'P'},
      {"check", no_argument, 0, 'c'},        {"yes", no_argument, 0, 'y'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  const char *zoom = NULL, *bounds = NULL;
  swath_run_opts o = {.workers = 0, .overwrite = 0, .progress = -1};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 'z': zoom = optarg; break;
    case 'b': bounds = optarg; break;
    case 'w': {
      char *end;
      long v = strtol(optarg, &end, 10);
      if (*end || v < 1 || v > 1024) {
        return swath_cli_fail(swath_error_set(
            SWATH_EINVAL, "--workers: expected a number from 1 to 1024, got '%s'", optarg));
      }
      o.workers = (int)v;
      break;
    }
    case 'o': o.overwrite = 1; break;
    case 'c': o.check = 1; break;
    case 'y': o.yes = 1; break;
    case 'p': o.progress = 1; break;
    case 'P': o.progress = 0; break;
    case 'h': usage(stdout); return 0;
    default:
      return swath_cli_fail(swath_error_set(
          SWATH_EINVAL, "run: unknown or incomplete option '%s' (see 'swath run --help')",
          argv[optind - 1]));
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "swath: run: expected one job file (see 'swath run --help')\n");
    return 2;
  }
  swath_job *job;
  int st = swath_cli_load_job(argv[optind], zoom, bounds, &job);
  if (st) return st;
  swath_run_stats stats;
  int r = swath_run(job, &o, &stats);
  swath_job_free(job);
  return swath_cli_status(r);
}
