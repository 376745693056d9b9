/* commands.h: one function per subcommand, one file each (cmd_*.c). Each
 * parses its flags, calls the library, and returns the process exit status:
 * 0 success, 1 a run-time failure, 2 bad input (one line on stderr). */
#ifndef SWATH_CLI_COMMANDS_H
#define SWATH_CLI_COMMANDS_H

int swath_cmd_run(int argc, char **argv);
int swath_cmd_prefetch(int argc, char **argv);
int swath_cmd_tiles(int argc, char **argv);
int swath_cmd_processes(int argc, char **argv);
int swath_cmd_catalog(int argc, char **argv);
int swath_cmd_serve(int argc, char **argv);

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

struct swath_job;
/* Load a job file and apply --zoom / --bounds overrides (NULL: none). On
 * failure prints the error, frees what was loaded and returns the exit
 * status; 0 with *out set otherwise. */
int swath_cli_load_job(const char *path, const char *zoom, const char *bounds, struct swath_job **out);

#endif
