/* serve_security.h: `swath serve`'s security flags (API keys, public
 * reads, rate limit, CORS, TLS, body limit, connection limits) into the
 * HTTP server's configuration. */
#ifndef SWATH_CLI_SERVE_SECURITY_H
#define SWATH_CLI_SERVE_SECURITY_H

#include <getopt.h>

#include "server/http.h"

#define SWATH_CLI_MAX_CORS 16

typedef struct swath_cli_security {
  const char *api_keys; /* FILE, or "db" */
  int public_read, no_auth;
  const char *rate_limit;
  const char *cors[SWATH_CLI_MAX_CORS];
  int ncors;
} swath_cli_security;

/* The getopt_long entries of the flags (codes from 0x200 up); for a
 * command's option table. */
#define SWATH_CLI_SECURITY_OPTIONS                                                                 \
  {"api-keys", required_argument, NULL, 0x200}, {"public-read", no_argument, NULL, 0x201},         \
      {"no-auth", no_argument, NULL, 0x202}, {"rate-limit", required_argument, NULL, 0x203},       \
      {"cors", required_argument, NULL, 0x204}, {"tls-cert", required_argument, NULL, 0x205},      \
      {"tls-key", required_argument, NULL, 0x206}, {"max-body", required_argument, NULL, 0x207},   \
      {"timeout", required_argument, NULL, 0x208}, {                                               \
    "max-conns-per-ip", required_argument, NULL, 0x209                                             \
  }

#define SWATH_CLI_SECURITY_USAGE                                                                   \
  "  --api-keys     FILE (lines name:sha256-hex) or 'db' (table swath_api_keys in --db):\n"        \
  "                 writes (POST, PUT, PATCH, DELETE) need 'Authorization: Bearer KEY';\n"         \
  "                 make keys with 'swath key add'\n"                                              \
  "  --public-read  with --api-keys: GET and HEAD need no key (default: they do)\n"                \
  "  --no-auth      serve a --host that is not loopback without --api-keys\n"                      \
  "  --rate-limit   N[/s|/m][,BURST]: requests per key (else per client address);\n"               \
  "                 beyond: 429 with Retry-After\n"                                                \
  "  --cors         an Origin allowed to call from a browser ('*': any; repeatable)\n"             \
  "  --tls-cert     PEM certificate (chain), with --tls-key: serve HTTPS\n"                        \
  "  --tls-key      PEM private key of --tls-cert\n"                                               \
  "  --max-body     largest request body in bytes (default 4194304; beyond: 413)\n"                \
  "  --timeout      seconds a connection may stay silent (default 60)\n"                           \
  "  --max-conns-per-ip  connections one client address may hold (default 128; 0: any)\n"

/* 1 if `c` is one of the flags (*rc: the parse result), else 0. */
int swath_cli_security_option(int c, const char *arg, swath_cli_security *sec, swath_http_config *h,
                              int *rc);
/* Check the flags together and open what they name (keys, the rate
 * limiter) into h; `db` is the queue's conninfo (for --api-keys db) or
 * NULL. SWATH_EINVAL with one line. */
int swath_cli_security_open(const swath_cli_security *sec, const char *db, swath_http_config *h);
void swath_cli_security_close(swath_http_config *h);

#endif
