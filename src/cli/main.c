/* main.c: the swath command line. A table of subcommands; everything they
 * do lives in the library. Start-up registers GDAL drivers once and, where
 * the binary is linked with tcmalloc, tells it how to treat freed memory. */
#include <gdal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/gdal_log.h"
#include "core/log.h"
#include "engine/job.h"

#ifdef SWATH_TCMALLOC
#include <gperftools/malloc_extension_c.h>
#endif

struct command {
  const char *name;
  int (*fn)(int argc, char **argv);
  const char *help;
};

static const struct command commands[] = {
    {"run", swath_cmd_run, "process a job file into a tile pyramid"},
    {"prefetch", swath_cmd_prefetch, "download a job's remote imagery into the cache"},
    {"tiles", swath_cmd_tiles, "list the tiles of a grid over bounds or an area"},
    {"processes", swath_cmd_processes, "list built-in processes and their parameters"},
    {"catalog", swath_cmd_catalog, "ingest, search and rank satellite scenes"},
    {"serve", swath_cmd_serve, "serve the STAC API over a catalog"},
    {"key", swath_cmd_key, "make, list and remove the API keys of swath serve"},
    {"model", swath_cmd_model, "show a model's inputs and outputs; run one batch"},
    {"export", swath_cmd_export, "write detected features as GeoJSON, CSV, FlatGeobuf or GPKG"},
    {"heatmap", swath_cmd_heatmap, "map the density of detected features as tiles"},
    {"plan", swath_cmd_plan, "a job's tasks per zoom, its cells, a worker's peak memory"},
    {"submit", swath_cmd_submit, "queue a job's tasks in PostgreSQL for swath workers"},
    {"worker", swath_cmd_worker, "run queued tasks until the queue is drained"},
    {"status", swath_cmd_status, "progress of queued jobs"},
    {"cancel", swath_cmd_cancel, "stop a queued job"},
    {"retry", swath_cmd_retry, "queue a job's failed tasks again"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f) {
  fprintf(f, "usage: swath [-v|-q] <command> [options]\n\ncommands:\n");
  for (const struct command *c = commands; c->name; c++)
    fprintf(f, "  %-10s %s\n", c->name, c->help);
  fprintf(f, "\nRun 'swath <command> --help' for a command's options.\n");
}

int swath_cli_fail(int code) {
  const char *msg = swath_error_message();
  fprintf(stderr, "swath: %s\n", msg && *msg ? msg : "unknown error");
  return swath_error_exit_status(code);
}

int swath_cli_long(const char *s, const char *what, long lo, long hi, long *v) {
  char *end;
  long n = strtol(s, &end, 10);
  if (end == s || *end || n < lo || n > hi)
    return swath_error_set(SWATH_EINVAL, "%s: expected a whole number in %ld-%ld, got '%s'", what,
                           lo, hi, s);
  *v = n;
  return 0;
}

int swath_cli_count_limit(const char *s, long *v) {
  if (!strcmp(s, "none")) {
    *v = -1;
    return 0;
  }
  int rc = swath_cli_long(s, "--count-limit", 0, 1L << 40, v);
  if (rc)
    rc = swath_error_set(SWATH_EINVAL,
                         "--count-limit: expected a whole number in 0-%ld or 'none', got '%s'",
                         1L << 40, s);
  return rc;
}

int swath_cli_status(int code) {
  if (code == SWATH_EINTR) {
    swath_cli_fail(code);
    return 130;
  }
  return code ? swath_cli_fail(code) : 0;
}

int swath_cli_load_job(const char *path, const char *zoom, const char *bounds, swath_job **out) {
  swath_job *job = NULL;
  int r = swath_job_load(path, &job);
  if (!r && zoom) r = swath_job_set_zoom(job, zoom);
  if (!r && bounds) r = swath_job_set_bounds(job, bounds);
  if (r) {
    if (job) swath_job_free(job);
    *out = NULL;
    return swath_cli_fail(r);
  }
  *out = job;
  return 0;
}

int main(int argc, char **argv) {
  /* SQLite's allocation statistics take a global mutex on every malloc and
   * free (bulk catalog builds make tens of millions); swath never reads
   * them. Before any connection is opened, as sqlite3_config requires. */
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (strcmp(argv[i], "-v") == 0)
      swath_log_set_level(SWATH_LOG_DEBUG);
    else if (strcmp(argv[i], "-q") == 0)
      swath_log_set_level(SWATH_LOG_WARN);
    else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else {
      return swath_cli_fail(swath_error_set(SWATH_EINVAL, "unknown option '%s'", argv[i]));
    }
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  for (const struct command *c = commands; c->name; c++) {
    if (strcmp(argv[i], c->name) == 0) {
#ifdef SWATH_TCMALLOC
      /* tcmalloc keeps freed memory for reuse. The catalog commands hand it
       * back to the system at once: a 10M-row ingest's index builds free
       * gigabytes (peak RSS 5.0 GB kept, 4.0 GB handed back; glibc 3.9).
       * The others keep the default: the server's per-request garbage and
       * the engine's per-metatile buffers are reused (handing them back
       * cost `run` about 1 s of system time per pyramid benchmark). */
      if (strcmp(c->name, "catalog") == 0)
        MallocExtension_SetNumericProperty("tcmalloc.aggressive_memory_decommit", 1);
#endif
      /* GDAL's messages go through swath's (core/gdal_log.h), from the
       * first one (driver registration) on. */
      swath_gdal_log_install();
      GDALAllRegister();
      int rc = c->fn(argc - i, argv + i);
      GDALDestroyDriverManager();
      return rc;
    }
  }
  return swath_cli_fail(
      swath_error_set(SWATH_EINVAL, "unknown command '%s' (try 'swath --help')", argv[i]));
}
