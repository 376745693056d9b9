/* cmd_run.c: placeholder until the subcommand lands; it fails loudly. */
#include <stdio.h>

#include "cli/commands.h"

int swath_cmd_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "swath: 'run' is not built yet\n");
  return 1;
}
