/* cmd_serve.c: `swath serve`, the STAC API over a catalog until SIGINT or
 * SIGTERM. The signals are blocked before the server's threads start, so
 * they inherit the mask and only this thread (in sigwait) receives them. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"
#include "server/stac.h"

static void usage(FILE *f) {
  fprintf(f, "usage: swath serve --catalog DB [--port 8080] [--host 127.0.0.1] [--threads N]\n"
             "                   [--base-url URL] [--count-limit N|none]\n"
             "\n"
             "Serve the STAC API (landing page, /conformance, /collections, items, /search)\n"
             "over a catalog built with 'swath catalog ingest'. Runs until interrupted.\n"
             "\n"
             "  --port         TCP port (0: any free port, printed at start)\n"
             "  --host         address to listen on\n"
             "  --threads      request threads (default 2)\n"
             "  --base-url     prefix for links (default http://<Host header>)\n"
             "  --count-limit  count numberMatched up to N matches and omit it beyond, so\n"
             "                 no request counts millions of rows (default 10000; 0: always\n"
             "                 count; none: never; searches on collections alone are always\n"
             "                 counted)\n");
}

int swath_cmd_serve(int argc, char **argv) {
  static const struct option opts[] = {
      {"catalog", required_argument, NULL, 'c'},  {"port", required_argument, NULL, 'p'},
      {"host", required_argument, NULL, 'H'},     {"threads", required_argument, NULL, 't'},
      {"base-url", required_argument, NULL, 'b'}, {"count-limit", required_argument, NULL, 'n'},
      {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
  swath_stac_config cfg = {0};
  cfg.http.host = "127.0.0.1";
  cfg.http.port = 8080;
  cfg.http.threads = 2;
  cfg.count_limit = 10000;
  long v = 0;
  int c, rc = 0;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    if (swath_cli_http_option(c, optarg, &cfg.http, &rc)) {
      if (rc) return swath_cli_fail(rc);
      continue;
    }
    switch (c) {
    case 'c':
      cfg.catalog = optarg;
      break;
    case 'b':
      cfg.http.base_url = optarg;
      break;
    case 'n':
      if (!(rc = swath_cli_count_limit(optarg, &v))) cfg.count_limit = v;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case ':':
      rc = swath_error_set(SWATH_EINVAL, "serve: option '%s' needs a value", argv[optind - 1]);
      break;
    default:
      rc = swath_error_set(SWATH_EINVAL, "serve: unknown option '%s' (try 'swath serve --help')",
                           argv[optind - 1]);
    }
    if (rc) return swath_cli_fail(rc);
  }
  if (optind < argc)
    return swath_cli_fail(
        swath_error_set(SWATH_EINVAL, "serve: unexpected argument '%s'", argv[optind]));
  if (!cfg.catalog)
    return swath_cli_fail(swath_error_set(SWATH_EINVAL, "serve: --catalog DB is required"));

  sigset_t set;
  swath_cli_block_stop_signals(&set);
  swath_stac_server *srv;
  if ((rc = swath_stac_start(&cfg, &srv))) return swath_cli_fail(rc);
  fprintf(stderr, "swath: serving the STAC API for %s on http://%s:%d/ (%d threads)\n", cfg.catalog,
          cfg.http.host, swath_stac_port(srv), cfg.http.threads);
  swath_cli_wait_stop(&set);
  swath_stac_stop(srv);
  return 0;
}
