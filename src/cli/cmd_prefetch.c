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

static int prefetch_option(void *ud, int c, const char *arg) {
  swath_prefetch_opts *o = ud;
  (void)arg;
  if (c == 'r') o->retry_failed = 1;
  return 0;
}

int swath_cmd_prefetch(int argc, char **argv) {
  static const struct option options[] = {{"retry-failed", no_argument, 0, 'r'}, {0, 0, 0, 0}};
  swath_prefetch_opts o = {.retry_failed = 0, .progress = -1};
  swath_job_cmd cmd = {
      .name = "prefetch", .usage = usage, .options = options, .option = prefetch_option, .ud = &o};
  swath_job *job;
  int st = swath_cli_job_args(&cmd, argc, argv, &job);
  if (st >= 0) return st;
  o.progress = cmd.progress;
  o.yes = cmd.yes;
  swath_prefetch_stats stats;
  int r = swath_prefetch(job, &o, &stats);
  swath_job_free(job);
  return swath_cli_status(r);
}
