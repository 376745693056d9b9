/* cmd_key.c: `swath key add|list|remove`, the API keys of `swath serve
 * --api-keys` (server/auth.h). A new key is printed once on stdout; only
 * its SHA-256 digest is stored (a file or the queue's database). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "core/error.h"
#include "server/auth.h"

static void usage(FILE *f) {
  fprintf(f, "usage: swath key add NAME    (--file FILE | --db CONNINFO)\n"
             "       swath key list        (--file FILE | --db CONNINFO)\n"
             "       swath key remove NAME (--file FILE | --db CONNINFO)\n"
             "\n"
             "Make, list and remove the API keys of 'swath serve --api-keys FILE|db'.\n"
             "'add' prints the new key once on stdout and stores only its SHA-256 digest:\n"
             "in FILE (a line name:hexdigest; the file is made if missing) or in the table\n"
             "swath_api_keys of the queue's database (--db, or $SWATH_DB). A running\n"
             "server sees added and removed keys within seconds.\n");
}

static void print_name(void *ud, const char *name) {
  (void)ud;
  printf("%s\n", name);
}

int swath_cmd_key(int argc, char **argv) {
  static const struct option opts[] = {{"file", required_argument, NULL, 'f'},
                                       {"db", required_argument, NULL, 'D'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  const char *file = NULL, *dbflag = NULL;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
    switch (c) {
    case 'f':
      file = optarg;
      break;
    case 'D':
      dbflag = optarg;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case ':':
      return swath_cli_fail(
          swath_error_set(SWATH_EINVAL, "key: option '%s' needs a value", argv[optind - 1]));
    default:
      return swath_cli_fail(swath_error_set(
          SWATH_EINVAL, "key: unknown option '%s' (try 'swath key --help')", argv[optind - 1]));
    }
  }
  const char *verb = optind < argc ? argv[optind] : NULL;
  int want_name = verb && (!strcmp(verb, "add") || !strcmp(verb, "remove"));
  if (!verb || (!want_name && strcmp(verb, "list"))) {
    usage(stderr);
    return 2;
  }
  const char *name = want_name && optind + 1 < argc ? argv[optind + 1] : NULL;
  if (want_name && !name)
    return swath_cli_fail(swath_error_set(SWATH_EINVAL, "key %s: give the key's NAME", verb));
  if (optind + 1 + want_name < argc)
    return swath_cli_fail(swath_error_set(SWATH_EINVAL, "key: unexpected argument '%s'",
                                          argv[optind + 1 + want_name]));
  if (file && dbflag)
    return swath_cli_fail(swath_error_set(SWATH_EINVAL, "key: --file or --db, not both"));
  const char *db = NULL;
  int rc = 0;
  if (!file && (rc = swath_cli_db(dbflag, &db))) return swath_cli_fail(rc);
  if (!strcmp(verb, "list")) return swath_cli_status(swath_auth_list(file, db, print_name, NULL));
  if ((rc = swath_auth_check_name(name))) return swath_cli_fail(rc);
  if (!strcmp(verb, "remove")) {
    rc = file ? swath_auth_remove_file(file, name) : swath_auth_remove_db(db, name);
    if (!rc) fprintf(stderr, "swath: key '%s' removed\n", name);
    return swath_cli_status(rc);
  }
  char key[80], hex[65];
  rc = swath_auth_new_key(key, sizeof key);
  if (!rc) rc = swath_auth_digest_hex(key, hex);
  if (!rc) rc = file ? swath_auth_add_file(file, name, hex) : swath_auth_add_db(db, name, hex);
  if (rc) return swath_cli_status(rc);
  printf("%s\n", key);
  fprintf(stderr, "swath: key '%s' stored as its SHA-256 digest; it is shown only this once\n",
          name);
  return 0;
}
