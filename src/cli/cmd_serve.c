/* cmd_serve.c: `swath serve`, the STAC API over a catalog and/or OGC API -
 * Processes over the PostgreSQL job queue (--db) or, on one machine, a
 * SQLite jobs file run by this process (--jobs) (server/service.h), until SIGINT or
 * SIGTERM. The signals are blocked before the server's threads start, so
 * they inherit the mask and only this thread (in sigwait) receives them. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/serve_security.h"
#include "core/error.h"
#include "server/service.h"

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: swath serve [--catalog DB] [--db CONNINFO | --jobs FILE [--workers N]]\n"
      "                   [--outputs DIR [--inputs DIR]...]\n"
      "                   [--port 8080] [--host 127.0.0.1] [--threads N]\n"
      "                   [--base-url URL] [--count-limit N|none] [--plugin PATH.so]...\n"
      "                   [--sync-tiles N] [--max-attempts N] [--features-db CONNINFO] [--web "
      "DIR]\n"
      "                   [--api-keys FILE|db [--public-read] | --no-auth]\n"
      "                   [--rate-limit N[/s][,BURST]] [--cors ORIGIN]... [--max-body BYTES]\n"
      "                   [--tls-cert FILE --tls-key FILE] [--timeout S] [--max-conns-per-ip N]\n"
      "\n"
      "Serve, in one server, the STAC API over a catalog built with 'swath catalog\n"
      "ingest' (--catalog) and/or OGC API - Processes over the PostgreSQL job queue\n"
      "(--db, or $SWATH_DB, with --outputs) or, on one machine, over a jobs file\n"
      "run by this process (--jobs, with --outputs). Runs until interrupted.\n"
      "\n"
      "  --port         TCP port (0: any free port, printed at start)\n"
      "  --host         address to listen on\n"
      "  --threads      request threads (default 2)\n"
      "  --base-url     prefix for links (default http://<Host header>)\n"
      "  --count-limit  count numberMatched up to N matches and omit it beyond, so\n"
      "                 no request counts millions of rows (default 10000; 0: always\n"
      "                 count; none: never; searches on collections alone are always\n"
      "                 counted)\n"
      "  --db           the queue's PostgreSQL (or $SWATH_DB): serve OGC API - Processes\n"
      "  --jobs         one machine: the SQLite file of the jobs (created if missing),\n"
      "                 run by this process's own runners; no PostgreSQL\n"
      "  --workers      with --jobs: jobs run at once (default 1)\n"
      "  --outputs      the folder posted jobs write under (required with --db or --jobs)\n"
      "  --inputs       a folder posted jobs may read under (repeatable; relative input\n"
      "                 paths resolve against the first; default: remote URLs only)\n"
      "  --plugin       a plugin .so served as a process under its own name (repeatable)\n"
      "  --sync-tiles   jobs of at most N tiles posted without 'Prefer: respond-async'\n"
      "                 run in the request and answer with their results (default 256;\n"
      "                 0: always asynchronous)\n"
      "  --max-attempts attempts per task of a posted job (default 5)\n"
      "  --features-db  PostgreSQL with PostGIS, reachable by every worker, where\n"
      "                 posted detection jobs put their features (a schema per job;\n"
      "                 may be the queue's database); without it they are refused\n"
      "  --web          the map viewer's folder, served at /viewer/ (default: the\n"
      "                 source tree's web/, set up by scripts/install-deps.sh)\n"
      "\nSecurity (docs/service.md):\n" SWATH_CLI_SECURITY_USAGE);
}

#define SERVE_MAX_ROOTS 16

int swath_cmd_serve(int argc, char **argv) {
  static const struct option opts[] = {{"catalog", required_argument, NULL, 'c'},
                                       {"port", required_argument, NULL, 'p'},
                                       {"host", required_argument, NULL, 'H'},
                                       {"threads", required_argument, NULL, 't'},
                                       {"base-url", required_argument, NULL, 'b'},
                                       {"count-limit", required_argument, NULL, 'n'},
                                       {"db", required_argument, NULL, 'D'},
                                       {"outputs", required_argument, NULL, 'O'},
                                       {"inputs", required_argument, NULL, 'I'},
                                       {"plugin", required_argument, NULL, 'P'},
                                       {"sync-tiles", required_argument, NULL, 'S'},
                                       {"max-attempts", required_argument, NULL, 'A'},
                                       {"jobs", required_argument, NULL, 'J'},
                                       {"workers", required_argument, NULL, 'W'},
                                       {"features-db", required_argument, NULL, 'F'},
                                       SWATH_CLI_SECURITY_OPTIONS,
                                       {"web", required_argument, NULL, 'V'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  swath_service_config cfg = {0};
  const char *inputs[SERVE_MAX_ROOTS], *plugins[SERVE_MAX_ROOTS];
  cfg.http.host = "127.0.0.1";
  cfg.http.port = 8080;
  cfg.http.threads = 2;
  cfg.http.per_ip = 128;
  swath_cli_security sec = {0};
  cfg.count_limit = 10000;
  cfg.proc.inputs = inputs;
  cfg.proc.plugins = plugins;
  cfg.proc.sync_tiles = 256;
  cfg.proc.max_attempts = 5;
  long v = 0;
  int c, rc = 0;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    if (swath_cli_http_option(c, optarg, &cfg.http, &rc)) {
      if (rc) return swath_cli_fail(rc);
      continue;
    }
    if (swath_cli_security_option(c, optarg, &sec, &cfg.http, &rc)) {
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
    case 'D':
      cfg.proc.db = optarg;
      break;
    case 'O':
      cfg.proc.outputs = optarg;
      break;
    case 'I':
      if (cfg.proc.ninputs == SERVE_MAX_ROOTS)
        rc = swath_error_set(SWATH_EINVAL, "serve: at most %d --inputs", SERVE_MAX_ROOTS);
      else
        inputs[cfg.proc.ninputs++] = optarg;
      break;
    case 'P':
      if (cfg.proc.nplugins == SERVE_MAX_ROOTS)
        rc = swath_error_set(SWATH_EINVAL, "serve: at most %d --plugin", SERVE_MAX_ROOTS);
      else
        plugins[cfg.proc.nplugins++] = optarg;
      break;
    case 'S':
      if (!(rc = swath_cli_long(optarg, "--sync-tiles", 0, 1L << 40, &v))) cfg.proc.sync_tiles = v;
      break;
    case 'A':
      if (!(rc = swath_cli_long(optarg, "--max-attempts", 1, 100, &v)))
        cfg.proc.max_attempts = (int)v;
      break;
    case 'J':
      cfg.proc.jobs = optarg;
      break;
    case 'W':
      if (!(rc = swath_cli_long(optarg, "--workers", 1, 64, &v))) cfg.proc.workers = (int)v;
      break;
    case 'F':
      cfg.proc.features_db = optarg;
      break;
    case 'V':
      cfg.web = optarg;
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
  if (cfg.proc.jobs && cfg.proc.db)
    return swath_cli_fail(swath_error_set(
        SWATH_EINVAL, "serve: --jobs FILE (one machine) and --db CONNINFO (the PostgreSQL queue) "
                      "exclude each other: give one"));
  if (cfg.proc.jobs && cfg.proc.features_db)
    return swath_cli_fail(swath_error_set(
        SWATH_EINVAL, "serve: --features-db is for the PostgreSQL queue (--db): with --jobs, "
                      "jobs keep their features in their output's GeoPackage"));
  if (cfg.proc.workers && !cfg.proc.jobs)
    return swath_cli_fail(swath_error_set(
        SWATH_EINVAL, "serve: --workers needs --jobs FILE (with --db, run swath worker)"));
  if (cfg.proc.jobs && !cfg.proc.outputs)
    return swath_cli_fail(swath_error_set(
        SWATH_EINVAL, "serve: --jobs needs --outputs DIR (the folder posted jobs write under)"));
  if (!cfg.proc.jobs && !cfg.proc.db && cfg.proc.outputs) cfg.proc.db = getenv("SWATH_DB");
  if (cfg.proc.db && !*cfg.proc.db) cfg.proc.db = NULL;
  if (cfg.proc.db && !cfg.proc.outputs)
    return swath_cli_fail(swath_error_set(
        SWATH_EINVAL, "serve: --db needs --outputs DIR (the folder posted jobs write under)"));
  if (!cfg.proc.db && !cfg.proc.jobs &&
      (cfg.proc.outputs || cfg.proc.ninputs || cfg.proc.nplugins || cfg.proc.features_db))
    return swath_cli_fail(swath_error_set(SWATH_EINVAL,
                                          "serve: --outputs, --inputs, --plugin and --features-db "
                                          "need --db CONNINFO (or $SWATH_DB) or --jobs FILE"));
  cfg.processes = cfg.proc.db != NULL || cfg.proc.jobs != NULL;
  if (!cfg.catalog && !cfg.processes)
    return swath_cli_fail(
        swath_error_set(SWATH_EINVAL, "serve: --catalog DB is required (or --db CONNINFO or --jobs "
                                      "FILE, with --outputs DIR)"));

  if ((rc = swath_cli_security_open(&sec, cfg.proc.db ? cfg.proc.db : getenv("SWATH_DB"),
                                    &cfg.http)))
    return swath_cli_fail(rc);
  sigset_t set;
  swath_cli_block_stop_signals(&set);
  swath_service *srv;
  if ((rc = swath_service_start(&cfg, &srv))) {
    swath_cli_security_close(&cfg.http);
    return swath_cli_fail(rc);
  }
  fprintf(stderr, "swath: serving %s%s%s%s%s%s on %s://%s:%d/ (%d threads)\n",
          cfg.catalog ? "the STAC API for " : "", cfg.catalog ? cfg.catalog : "",
          cfg.catalog && cfg.processes ? " and " : "", cfg.processes ? "OGC API - Processes" : "",
          cfg.proc.jobs ? " over the jobs file " : "", cfg.proc.jobs ? cfg.proc.jobs : "",
          cfg.http.tls_cert ? "https" : "http", cfg.http.host, swath_service_port(srv),
          cfg.http.threads);
  swath_cli_wait_stop(&set);
  swath_service_stop(srv);
  swath_cli_security_close(&cfg.http);
  return 0;
}
