/* serve_common.c: what the commands that run a server share (`swath serve`,
 * `swath model serve`): the listening flags and running until SIGINT or
 * SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "cli/commands.h"
#include "server/http.h"

int swath_cli_http_option(int c, const char *arg, swath_http_config *h, int *rc) {
  long v = 0;
  switch (c) {
  case 'p':
    if (!(*rc = swath_cli_long(arg, "--port", 0, 65535, &v))) h->port = (int)v;
    return 1;
  case 'H':
    h->host = arg;
    return 1;
  case 't':
    if (!(*rc = swath_cli_long(arg, "--threads", 1, 256, &v))) h->threads = (int)v;
    return 1;
  }
  return 0;
}

void swath_cli_block_stop_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGINT);
  sigaddset(set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, set, NULL);
}

void swath_cli_wait_stop(const sigset_t *set) {
  int sig = 0;
  sigwait(set, &sig);
  fprintf(stderr, "swath: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
}
