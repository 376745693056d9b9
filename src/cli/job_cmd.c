/* job_cmd.c: what the commands that take a job file share (`swath run`,
 * `swath prefetch`, and the workers to come): the common flags (--zoom,
 * --bounds, --yes, --progress, --no-progress, --help), the command's own
 * flags handed to its callback, exactly one job file, loading it with the
 * overrides applied, and the exit status of bad input (2, one line). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"

#define JOB_CMD_MAX_OPTIONS 24

static const struct option common[] = {
    {"zoom", required_argument, 0, 'z'}, {"bounds", required_argument, 0, 'b'},
    {"progress", no_argument, 0, 'p'},   {"no-progress", no_argument, 0, 'P'},
    {"yes", no_argument, 0, 'y'},        {"help", no_argument, 0, 'h'}};

int swath_cli_job_args(swath_job_cmd *cmd, int argc, char **argv, struct swath_job **job) {
  struct option longopts[JOB_CMD_MAX_OPTIONS];
  size_t n = sizeof common / sizeof common[0];
  memcpy(longopts, common, sizeof common);
  for (const struct option *o = cmd->options; o && o->name && n < JOB_CMD_MAX_OPTIONS - 1; o++)
    longopts[n++] = *o;
  longopts[n] = (struct option){0, 0, 0, 0};
  const char *zoom = NULL, *bounds = NULL;
  cmd->progress = -1;
  cmd->yes = 0;
  *job = NULL;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
    case 'z':
      zoom = optarg;
      break;
    case 'b':
      bounds = optarg;
      break;
    case 'p':
      cmd->progress = 1;
      break;
    case 'P':
      cmd->progress = 0;
      break;
    case 'y':
      cmd->yes = 1;
      break;
    case 'h':
      cmd->usage(stdout);
      return 0;
    case '?':
      return swath_cli_fail(swath_error_set(
          SWATH_EINVAL, "%s: unknown or incomplete option '%s' (see 'swath %s --help')", cmd->name,
          argv[optind - 1], cmd->name));
    default: {
      int r = cmd->option(cmd->ud, c, optarg);
      if (r) return swath_cli_fail(r);
    }
    }
  }
  if (optind != argc - 1) {
    fprintf(stderr, "swath: %s: expected one job file (see 'swath %s --help')\n", cmd->name,
            cmd->name);
    return 2;
  }
  int st = swath_cli_load_job(argv[optind], zoom, bounds, job);
  return st ? st : -1;
}
