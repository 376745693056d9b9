/* serve_security.c: the security flags of `swath serve` (serve_security.h).
 *
 * Invariant: a server reachable from other machines (a --host that is not
 * a loopback address) never starts without API keys unless --no-auth says
 * so explicitly. */
#include "cli/serve_security.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/commands.h"
#include "core/error.h"
#include "server/auth.h"
#include "server/ratelimit.h"

int swath_cli_security_option(int c, const char *arg, swath_cli_security *sec, swath_http_config *h,
                              int *rc) {
  long v = 0;
  *rc = 0;
  switch (c) {
  case 0x200:
    sec->api_keys = arg;
    return 1;
  case 0x201:
    sec->public_read = 1;
    return 1;
  case 0x202:
    sec->no_auth = 1;
    return 1;
  case 0x203:
    sec->rate_limit = arg;
    return 1;
  case 0x204:
    if (sec->ncors == SWATH_CLI_MAX_CORS)
      *rc = swath_error_set(SWATH_EINVAL, "serve: at most %d --cors", SWATH_CLI_MAX_CORS);
    else if (!*arg || (strcmp(arg, "*") && !strstr(arg, "://")))
      *rc = swath_error_set(SWATH_EINVAL, "--cors '%s': an origin (scheme://host[:port]) or '*'",
                            arg);
    else
      sec->cors[sec->ncors++] = arg;
    return 1;
  case 0x205:
    h->tls_cert = arg;
    return 1;
  case 0x206:
    h->tls_key = arg;
    return 1;
  case 0x207:
    if (!(*rc = swath_cli_long(arg, "--max-body", 1, 1L << 40, &v))) h->max_body = (size_t)v;
    return 1;
  case 0x208:
    if (!(*rc = swath_cli_long(arg, "--timeout", 1, 86400, &v))) h->timeout_s = (int)v;
    return 1;
  case 0x209:
    if (!(*rc = swath_cli_long(arg, "--max-conns-per-ip", 0, 100000, &v))) h->per_ip = (int)v;
    return 1;
  }
  return 0;
}

/* Every address `host` names is a loopback one. */
static int loopback(const char *host) {
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, NULL, &hints, &ai) || !ai) return 0; /* the server says why */
  int all = 1;
  for (struct addrinfo *p = ai; p; p = p->ai_next) {
    if (p->ai_family == AF_INET) {
      const struct sockaddr_in *a = (const void *)p->ai_addr;
      all &= (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else if (p->ai_family == AF_INET6) {
      const struct sockaddr_in6 *a = (const void *)p->ai_addr;
      all &= IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    } else {
      all = 0;
    }
  }
  freeaddrinfo(ai);
  return all;
}

int swath_cli_security_open(const swath_cli_security *sec, const char *db, swath_http_config *h) {
  if (sec->public_read && !sec->api_keys)
    return swath_error_set(SWATH_EINVAL, "serve: --public-read needs --api-keys");
  if (sec->no_auth && sec->api_keys)
    return swath_error_set(SWATH_EINVAL, "serve: --no-auth and --api-keys contradict each other");
  if (!sec->api_keys && !sec->no_auth && !loopback(h->host ? h->host : "127.0.0.1"))
    return swath_error_set(SWATH_EINVAL,
                           "serve: --host %s is reachable from other machines: give --api-keys "
                           "FILE|db, or --no-auth to serve it open",
                           h->host);
  if ((h->tls_cert != NULL) != (h->tls_key != NULL))
    return swath_error_set(SWATH_EINVAL, "serve: --tls-cert and --tls-key go together");
  int rc = 0;
  if (sec->api_keys && !strcmp(sec->api_keys, "db")) {
    if (!db)
      return swath_error_set(SWATH_EINVAL, "serve: --api-keys db needs --db CONNINFO (or "
                                           "$SWATH_DB)");
    rc = swath_auth_open_db(db, &h->auth);
  } else if (sec->api_keys) {
    rc = swath_auth_open_file(sec->api_keys, &h->auth);
  }
  h->public_read = sec->public_read;
  if (!rc && sec->rate_limit) {
    double rate, burst;
    rc = swath_ratelimit_parse(sec->rate_limit, &rate, &burst);
    if (!rc) rc = swath_ratelimit_new(rate, burst, &h->rate);
  }
  h->cors = sec->cors;
  h->ncors = sec->ncors;
  if (rc) swath_cli_security_close(h);
  return rc;
}

void swath_cli_security_close(swath_http_config *h) {
  swath_auth_close(h->auth);
  swath_ratelimit_free(h->rate);
  h->auth = NULL;
  h->rate = NULL;
}
