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

#endif
