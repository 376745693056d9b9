/* http.h: a small HTTP server on libmicrohttpd for swath's JSON APIs (the
 * STAC API, OGC API - Processes; tiles and metrics later).
 *
 * An API is a table of routes (method + path pattern with {} segments) and
 * one opaque app pointer. Handlers fill a response (status + JSON, or raw
 * bytes); errors are JSON bodies {"code": ..., "description": ...} as OGC
 * APIs expect. Requests run on MHD's thread pool: handlers must be
 * thread-safe (keep per-thread state behind a pthread key, as stac.c does
 * with its SQLite connections). One server may serve several APIs. Bodies are read whole up to
 * max_body bytes (larger: 413). Paths are matched after MHD's percent-decoding.
 *
 * Before a request's body is read, http_guard.c answers CORS preflights,
 * takes a rate-limit token (429), asks for an API key (401) and refuses a
 * declared body far over max_body (413): an unauthenticated client never
 * makes the server read a body. The server's own errors (404, 405, 413, 401,
 * 429) are RFC 7807 problem details that also carry the OGC/STAC "code"
 * and "description" members. */
#ifndef SWATH_SERVER_HTTP_H
#define SWATH_SERVER_HTTP_H

#include <jansson.h>
#include <stddef.h>

typedef struct swath_http_request swath_http_request;
typedef struct swath_http_server swath_http_server;

typedef struct swath_http_response {
  int status;
  json_t *json; /* body as JSON (owned; compact when sent) */
  char *raw;    /* or raw bytes (owned, malloc'd) */
  size_t raw_len;
  const char *content_type; /* default application/json */
  char header[512];         /* more header lines, "Name: value", '\n'-separated, or "" */
} swath_http_response;

typedef void (*swath_http_handler)(void *app, const swath_http_request *rq,
                                   swath_http_response *rs);

typedef struct swath_http_route {
  const char *method;  /* "GET", "POST"...; GET routes answer HEAD too */
  const char *pattern; /* "/collections/{}/items/{}" */
  swath_http_handler fn;
} swath_http_route;

typedef struct swath_http_config {
  const char *host;     /* address to bind (default 127.0.0.1) */
  int port;             /* 0: any free port (see swath_http_port) */
  int threads;          /* MHD thread pool size (default 2) */
  const char *base_url; /* for links; default http://<Host header> */
  size_t max_body;      /* default 4 MiB */
  /* ---- security and metrics (all optional; see http_guard.c) ---- */
  struct swath_auth *auth;      /* API keys asked (NULL: none) */
  int public_read;              /* with auth: GET, HEAD need no key */
  struct swath_ratelimit *rate; /* per key name, else client address (NULL: none) */
  const char *const *cors;      /* origins answered with CORS headers ("*": any) */
  int ncors;                    /* 0: no CORS headers */
  const char *tls_cert;         /* PEM certificate (chain) and key files: HTTPS */
  const char *tls_key;
  int timeout_s;                 /* idle connection timeout (default 60 s) */
  int per_ip;                    /* connections per client address (0: no limit) */
  struct swath_metrics *metrics; /* requests counted and timed (NULL: not) */
} swath_http_config;

/* One API served: its route table and the app its handlers get. */
typedef struct swath_http_api {
  const swath_http_route *routes;
  void *app;
  int public_read; /* with API keys: its GET and HEAD routes need none (files without data) */
} swath_http_api;

/* Start serving in background threads. Routes and app must outlive the
 * server. */
int swath_http_start(const swath_http_config *cfg, const swath_http_route *routes, void *app,
                     swath_http_server **out);
/* The same for n APIs in one server: a request goes to the first route,
 * in table order, whose pattern and method match (so a table listed first
 * overrides the paths of those after it). The array is copied. */
int swath_http_start_apis(const swath_http_config *cfg, const swath_http_api *apis, int n,
                          swath_http_server **out);
int swath_http_port(const swath_http_server *s);
void swath_http_stop(swath_http_server *s);

/* ---- request accessors (valid during the handler) ------------------------ */
const char *swath_http_method(const swath_http_request *rq);
const char *swath_http_path(const swath_http_request *rq);
/* The i-th {} segment of the matched pattern. */
const char *swath_http_param(const swath_http_request *rq, int i);
/* A query-string argument, or NULL. */
const char *swath_http_query(const swath_http_request *rq, const char *key);
/* All query-string arguments, in order; arrays valid during the handler. */
size_t swath_http_query_all(const swath_http_request *rq, const char *const **keys,
                            const char *const **vals);
const char *swath_http_header(const swath_http_request *rq, const char *name);
const char *swath_http_body(const swath_http_request *rq, size_t *len);
/* "http://host:port" (no trailing slash) for links. */
const char *swath_http_base_url(const swath_http_request *rq);

/* ---- response helpers ---------------------------------------------------- */
/* Set a JSON body (stolen) and status. */
void swath_http_json(swath_http_response *rs, int status, json_t *body);
/* Set a body of bytes (stolen, malloc'd) and status. */
void swath_http_bytes(swath_http_response *rs, int status, char *body, size_t len);
/* An OGC-style JSON error: {"code": code, "description": <message>}. */
void swath_http_error(swath_http_response *rs, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* An RFC 7807 problem detail (application/problem+json): type URI, title,
 * status and the detail. */
void swath_http_problem(swath_http_response *rs, int status, const char *type, const char *title,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The error for a swath return code with the thread's last message:
 * SWATH_EINVAL 400, SWATH_ENOTFOUND 404, anything else 500. */
void swath_http_fail(swath_http_response *rs, int swath_code);

#endif
