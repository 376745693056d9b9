/* commands.h: one function per subcommand, one file each (cmd_*.c). Each
 * parses its flags, calls the library, and returns the process exit status:
 * 0 success, 1 a run-time failure, 2 bad input (one line on stderr). */
#ifndef SWATH_CLI_COMMANDS_H
#define SWATH_CLI_COMMANDS_H

#include <signal.h>
#include <stdio.h>

int swath_cmd_run(int argc, char **argv);
int swath_cmd_prefetch(int argc, char **argv);
int swath_cmd_tiles(int argc, char **argv);
int swath_cmd_processes(int argc, char **argv);
int swath_cmd_catalog(int argc, char **argv);
int swath_cmd_serve(int argc, char **argv);
int swath_cmd_model(int argc, char **argv);
int swath_cmd_export(int argc, char **argv);
int swath_cmd_heatmap(int argc, char **argv);
int swath_cmd_submit(int argc, char **argv);
int swath_cmd_worker(int argc, char **argv);
int swath_cmd_status(int argc, char **argv);
int swath_cmd_cancel(int argc, char **argv);
int swath_cmd_retry(int argc, char **argv);
int swath_cmd_plan(int argc, char **argv);
int swath_cmd_key(int argc, char **argv);

/* Print "swath: <msg>" for the calling thread's last error and return the
 * exit status that goes with `code`. */
int swath_cli_fail(int code);
/* The exit status for a command's result: 0, 130 when interrupted, else as
 * swath_cli_fail (which prints the message). */
int swath_cli_status(int code);

/* Parse a whole number in [lo, hi] for option `what` (error set: 0 or
 * SWATH_EINVAL). */
int swath_cli_long(const char *s, const char *what, long lo, long hi, long *v);
/* --count-limit: a whole number (0: count always), or "none" (-1: never
 * count, numberMatched left out). */
int swath_cli_count_limit(const char *s, long *v);

/* serve_common.c: a server's listening flags, --port ('p'), --host ('H')
 * and --threads ('t'), into `h` (1 if `c` is one of them; *rc gets the
 * parse result); and running until SIGINT or SIGTERM: block them before
 * the server starts its threads, then wait (a line says which came). */
struct swath_http_config;
int swath_cli_http_option(int c, const char *arg, struct swath_http_config *h, int *rc);
void swath_cli_block_stop_signals(sigset_t *set);
void swath_cli_wait_stop(const sigset_t *set);

/* The queue's database: --db's value (`flag`), else $SWATH_DB; SWATH_EINVAL
 * with one line saying how to give it if neither (cmd_queue.c). */
int swath_cli_db(const char *flag, const char **out);

struct swath_job;
/* Load a job file and apply --zoom / --bounds overrides (NULL: none). On
 * failure prints the error, frees what was loaded and returns the exit
 * status; 0 with *out set otherwise. */
int swath_cli_load_job(const char *path, const char *zoom, const char *bounds,
                       struct swath_job **out);

struct option;
/* A command over one job file (job_cmd.c). */
typedef struct swath_job_cmd {
  const char *name;             /* "run", "prefetch": for messages */
  void (*usage)(FILE *f);       /* --help */
  const struct option *options; /* the command's own flags, ended by a zero entry */
  /* One of the command's own flags (c: its getopt code, arg: its value or
   * NULL): 0, or SWATH_EINVAL with the message set. */
  int (*option)(void *ud, int c, const char *arg);
  void *ud;
  int progress, yes; /* out: --progress/--no-progress (-1: auto), --yes */
} swath_job_cmd;
/* Parse a job command's flags and load its one job file with --zoom and
 * --bounds applied: -1 with *job set (the caller frees it), or the exit
 * status to return (0 after --help, 2 for bad input, one line printed). */
int swath_cli_job_args(swath_job_cmd *cmd, int argc, char **argv, struct swath_job **job);

#endif
