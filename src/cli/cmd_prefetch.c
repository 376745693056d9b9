/* cmd_prefetch.c: `swath prefetch job.yaml [--zoom Z|Z1-Z2] [--bounds lon/lat]
 * [--retry-failed] [--yes] [--progress|--no-progress]`: warm the cache of a job's
 * remote inputs with exactly the requests `swath run` will make. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"
#include "engine/job.h"
#include "engine/run.h"

static void usage(FILE *f) {
  fprintf(f, "usage: swath prefetch JOB.yaml [options]\n"
             "  --zoom Z|Z1-Z2         zooms (overrides the job's)\n"
             "  --bounds W,S,E,N       area in lon/lat (overrides the job's)\n"
             "  --retry-failed         replay only the requests the last prefetch failed\n"
             "  --yes                  go ahead with a job without area over more than\n"
             "                         1000000 tiles (refused otherwise, exit 2)\n"
             "  --progress             always draw a progress bar\n"
             "  --no-progress          log lines instead of a bar\n"
             "Exit status: 0 all fetched, cached or empty; 1 some failed (listed in\n"
             "{output}/.swath/prefetch-failed.txt); 2 bad input.\n");
}

int swath_cmd_prefetch(int argc, char **argv) {
  static const struct option longopts[] = {
      {"zoom", required_argument, 0, 'z'},   {"bounds", required_argument, 0, 'b'},
      {"retry-failed", no_argument, 0, 'r'}, {"progress", no_argument, 0, 'p'},
      {"no-progress", no_argument, 0, 'P'},  {"yes", no_argument, 0, 'y'},
      {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
  const char *zoom = NULL, *bounds = NULL;
  swath_prefetch_opts o = {.retry_failed = 0, .progress = -1};
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 'z': zoom = optarg; break;
    case 'b': bounds = optarg; break;
    case 'r': o.retry_failed = 1; break;
    case 'y':
      o.yes = 1;
      break;
    case 'p': o.progress = 1; break;
    case 'P': o.progress = 0; break;
    case 'h': usage(stdout); return 0;
    default:
      return swath_cli_fail(swath_error_set(
          SWATH_EINVAL, "prefetch: unknown or incomplete option '%s' (see 'swath prefetch --help')",
          argv[optind - 1]));
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "swath: prefetch: expected one job file (see 'swath prefetch --help')\n");
    return 2;
  }
  swath_job *job;
  int st = swath_cli_load_job(argv[optind], zoom, bounds, &job);
  if (st) return st;
  swath_prefetch_stats stats;
  int r = swath_prefetch(job, &o, &stats);
  swath_job_free(job);
  return swath_cli_status(r);
}
