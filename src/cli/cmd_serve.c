/* cmd_serve.c: placeholder until the subcommand lands; it fails loudly. */
#include <stdio.h>

#include "cli/commands.h"

int swath_cmd_serve(int argc, char **argv) {
  (void)argc;
  (void)argv;
  fprintf(stderr, "swath: 'serve' is not built yet\n");
  return 1;
}
