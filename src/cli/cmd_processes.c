/* cmd_processes.c: placeholder until the subcommand lands; it fails loudly. */
#include <stdio.h>

#include "cli/commands.h"

int swath_cmd_processes(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "swath: 'processes' is not built yet\n");
  return 1;
}
