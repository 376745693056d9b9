/* http.c: the libmicrohttpd wrapper behind http.h.
 *
 * Invariants: every request gets exactly one response, JSON unless a
 * handler set raw bytes; a failure to build one becomes a 500 JSON error,
 * never a dropped connection. Request bodies are capped (413 beyond
 * max_body) and freed when MHD reports the request complete. Nothing here
 * knows about STAC: routing, arguments, bodies and JSON errors only. */
#include "server/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <time.h>

#include "core/error.h"
#include "core/json_out.h"
#include "core/log.h"
#include "server/http_internal.h"
#include "server/metrics.h"

#define MAX_PARAMS 8
#define MAX_ARGS 64

#define MAX_APIS 8

struct swath_http_server {
  struct MHD_Daemon *d;
  swath_http_api apis[MAX_APIS];
  int napis;
  swath_http_config cfg;
  char *base_url;
  char *tls_cert, *tls_key; /* PEM text (MHD reads it at start) */
  int port;
};

/* Per-connection output buffer (MHD's socket context): JSON bodies are
 * dumped into it and sent from it without a copy. MHD handles the next
 * request of a connection only after the previous response is sent, so one
 * buffer per connection is enough; bodies larger than OUT_KEEP get their
 * own allocation, freed with the response, so idle keep-alive connections
 * hold at most OUT_KEEP bytes each. */
#define OUT_KEEP (1u << 20)
struct out {
  char *p;
  size_t len, cap;
  int own; /* p is a one-off allocation (MHD frees it), not the connection's */
  struct conn_buf *cb;
};
struct conn_buf {
  char *p;
  size_t cap;
};

/* Per-connection state for one request (MHD's con_cls): its body, and
 * what was decided when its headers came (route, who asks). */
struct conn {
  char *body;
  size_t len, cap;
  int too_big;
  double t0; /* headers in (monotonic s) */
  const swath_http_route *route;
  void *app;
  int public_read; /* the route's API is read without a key */
  int path_known;
  char allow[128];
  char who[96]; /* "key NAME" or the client's address: for the log */
  char *param_buf;
  const char *params[MAX_PARAMS];
};

struct swath_http_request {
  struct MHD_Connection *c;
  const char *method, *path;
  const char *params[MAX_PARAMS];
  char *param_buf;
  const char *keys[MAX_ARGS], *vals[MAX_ARGS];
  size_t nargs;
  const char *body;
  size_t body_len;
  char base[300];
};

/* ---- accessors ------------------------------------------------------------ */

const char *swath_http_method(const swath_http_request *rq) { return rq->method; }
const char *swath_http_path(const swath_http_request *rq) { return rq->path; }
const char *swath_http_param(const swath_http_request *rq, int i) {
  return i >= 0 && i < MAX_PARAMS ? rq->params[i] : NULL;
}
const char *swath_http_query(const swath_http_request *rq, const char *key) {
  return MHD_lookup_connection_value(rq->c, MHD_GET_ARGUMENT_KIND, key);
}
size_t swath_http_query_all(const swath_http_request *rq, const char *const **keys,
                            const char *const **vals) {
  *keys = rq->keys;
  *vals = rq->vals;
  return rq->nargs;
}
const char *swath_http_header(const swath_http_request *rq, const char *name) {
  return MHD_lookup_connection_value(rq->c, MHD_HEADER_KIND, name);
}
const char *swath_http_body(const swath_http_request *rq, size_t *len) {
  if (len) *len = rq->body_len;
  return rq->body;
}
const char *swath_http_base_url(const swath_http_request *rq) { return rq->base; }

/* ---- responses ----------------------------------------------------------- */

void swath_http_json(swath_http_response *rs, int status, json_t *body) {
  free(rs->raw);
  rs->raw = NULL;
  json_decref(rs->json);
  rs->json = body;
  rs->status = status;
}

void swath_http_bytes(swath_http_response *rs, int status, char *body, size_t len) {
  json_decref(rs->json);
  rs->json = NULL;
  free(rs->raw);
  rs->raw = body;
  rs->raw_len = len;
  rs->status = status;
}

void swath_http_error(swath_http_response *rs, int status, const char *code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char clean[1024]; /* messages quote what clients sent: keep the JSON valid */
  swath__http_clean_utf8(msg, clean, sizeof clean);
  rs->content_type = "application/json";
  swath_http_json(rs, status, json_pack("{s:s, s:s}", "code", code, "description", clean));
}

void swath_http_problem(swath_http_response *rs, int status, const char *type, const char *title,
                        const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char clean[1024];
  swath__http_clean_utf8(msg, clean, sizeof clean);
  swath_http_json(rs, status,
                  json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", title, "status", status,
                            "detail", clean));
  rs->content_type = "application/problem+json";
}

void swath_http_fail(swath_http_response *rs, int code) {
  const char *msg = swath_error_message();
  if (!msg || !*msg) msg = "unknown error";
  if (code == SWATH_EINVAL)
    swath_http_error(rs, 400, "InvalidParameterValue", "%s", msg);
  else if (code == SWATH_ENOTFOUND)
    swath_http_error(rs, 404, "NotFound", "%s", msg);
  else
    swath_http_error(rs, 500, "ServerError", "%s", msg);
}

/* ---- routing ------------------------------------------------------------- */

/* Match path against pattern; {} segments are copied into buf. */
static int match(const char *pattern, const char *path, swath_http_request *rq, char *buf) {
  int np = 0;
  const char *p = pattern, *s = path;
  char *w = buf;
  /* a trailing slash is the same resource, except for the root */
  size_t plen = strlen(path);
  if (plen > 1 && path[plen - 1] == '/') plen--;
  const char *end = path + plen;
  while (*p && s < end) {
    if (p[0] == '{' && p[1] == '}') {
      const char *slash = memchr(s, '/', (size_t)(end - s));
      size_t n = slash ? (size_t)(slash - s) : (size_t)(end - s);
      if (n == 0 || np == MAX_PARAMS) return 0;
      memcpy(w, s, n);
      w[n] = '\0';
      rq->params[np++] = w;
      w += n + 1;
      s += n;
      p += 2;
    } else {
      if (*p != *s) return 0;
      p++, s++;
    }
  }
  return *p == '\0' && s == end;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
  (void)kind;
  swath_http_request *rq = cls;
  if (rq->nargs == MAX_ARGS) return MHD_NO;
  rq->keys[rq->nargs] = key;
  rq->vals[rq->nargs] = value ? value : "";
  rq->nargs++;
  return MHD_YES;
}

/* Only characters a host name or address can hold go into links. */
static int clean_host(const char *h) {
  if (!h || !*h || strlen(h) > 200) return 0;
  for (const char *p = h; *p; p++)
    if (!(*p == '.' || *p == ':' || *p == '-' || *p == '[' || *p == ']' || *p == '_' ||
          (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
      return 0;
  return 1;
}

static int out_append(const char *buf, size_t n, void *data) {
  struct out *o = data;
  if (o->len + n <= o->cap) {
    memcpy(o->p + o->len, buf, n);
    o->len += n;
    return 0;
  }
  size_t cap = o->cap ? o->cap : 64 << 10;
  while (cap < o->len + n)
    cap *= 2;
  if (!o->own && cap > OUT_KEEP) {
    /* too large to keep with the connection: a one-off buffer */
    char *p = malloc(cap);
    if (!p) return -1;
    memcpy(p, o->p, o->len);
    o->p = p;
    o->own = 1;
  } else {
    char *p = realloc(o->p, cap);
    if (!p) return -1;
    o->p = p;
    if (!o->own) o->cb->p = p, o->cb->cap = cap;
  }
  o->cap = cap;
  memcpy(o->p + o->len, buf, n);
  o->len += n;
  return 0;
}

static enum MHD_Result send_response(struct MHD_Connection *c, swath_http_response *rs,
                                     const char *origin) {
  char *body = NULL;
  size_t len = 0;
  enum MHD_ResponseMemoryMode mode = MHD_RESPMEM_MUST_FREE;
  if (rs->raw) {
    body = rs->raw;
    len = rs->raw_len;
    rs->raw = NULL;
  } else {
    if (!rs->json)
      swath__http_problem(rs, 500, "Internal Server Error", "ServerError",
                          "handler produced no response");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_buf *cb = ci ? ci->socket_context : NULL;
    /* the connection's buffer, or (no socket context) a one-off buffer */
    struct out o = cb ? (struct out){cb->p, 0, cb->cap, 0, cb} : (struct out){NULL, 0, 0, 1, NULL};
    int ok = swath_json_write(rs->json, SWATH_JSON_DIGITS, out_append, &o) == 0;
    if (!ok && o.own) free(o.p);
    if (ok) {
      body = o.p;
      len = o.len;
      mode = o.own ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT;
    }
    if (!ok) {
      static const char oom[] = "{\"code\":\"ServerError\",\"description\":\"out of memory\"}";
      body = (char *)oom;
      len = sizeof oom - 1;
      mode = MHD_RESPMEM_PERSISTENT;
      rs->status = 500;
    }
  }
  /* HEAD: MHD sends the headers of this response (its Content-Length
   * included) without the body */
  struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
  if (!r) {
    if (mode == MHD_RESPMEM_MUST_FREE) free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          rs->content_type ? rs->content_type : "application/json");
  if (origin) {
    MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(r, "Access-Control-Expose-Headers", "Location, Retry-After, ETag");
    MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
  }
  for (char *save, *line = strtok_r(rs->header, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char *colon = strchr(line, ':');
    if (!colon) continue;
    *colon = '\0';
    MHD_add_response_header(r, line, colon + 1 + (colon[1] == ' '));
  }
  enum MHD_Result ok = MHD_queue_response(c, (unsigned)rs->status, r);
  MHD_destroy_response(r);
  return ok;
}

static double mono_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The route of (method, url) into st: the first whose pattern and method
 * match, its app and {} segments; else whether the path is known at all
 * and the methods it allows. */
static int resolve(swath_http_server *srv, struct conn *st, const char *url, const char *method) {
  st->param_buf = malloc(strlen(url) + MAX_PARAMS + 1);
  if (!st->param_buf) return -1;
  int head = strcmp(method, "HEAD") == 0;
  swath_http_request tmp;
  memset(&tmp, 0, sizeof tmp);
  for (int a = 0; a < srv->napis && !st->route; a++) {
    for (const swath_http_route *r = srv->apis[a].routes; r->pattern; r++) {
      if (!match(r->pattern, url, &tmp, st->param_buf)) continue;
      st->path_known = 1;
      size_t al = strlen(st->allow);
      snprintf(st->allow + al, sizeof st->allow - al, "%s%s", al ? ", " : "", r->method);
      if (!strcmp(r->method, method) || (head && !strcmp(r->method, "GET"))) {
        st->route = r;
        st->app = srv->apis[a].app;
        st->public_read = srv->apis[a].public_read;
        memcpy(st->params, tmp.params, sizeof st->params);
        break;
      }
    }
  }
  return 0;
}

/* Send rs as the request's answer: counted, logged (with who asked, never
 * a key) and given CORS headers where the Origin is allowed. */
static enum MHD_Result answer(swath_http_server *srv, struct MHD_Connection *c, struct conn *st,
                              const char *method, const char *url, swath_http_response *rs) {
  if (!rs->status) rs->status = 200;
  swath_metrics_observe(srv->cfg.metrics, st->route, method, rs->status, mono_now() - st->t0);
  swath_debug("http: %s %s -> %d (%s)", method, url, rs->status, st->who);
  enum MHD_Result ok = send_response(c, rs, swath__http_cors(&srv->cfg, c));
  json_decref(rs->json);
  free(rs->raw);
  return ok;
}

/* Append a body chunk (beyond max_body: only remember it was too big). */
static int take_body(swath_http_server *srv, struct conn *st, const char *data, size_t n) {
  if (st->too_big || st->len + n > srv->cfg.max_body) {
    st->too_big = 1;
    return 0;
  }
  if (st->len + n + 1 > st->cap) {
    size_t cap = st->cap ? st->cap : 4096;
    while (cap < st->len + n + 1)
      cap *= 2;
    char *b = realloc(st->body, cap);
    if (!b) return -1;
    st->body = b;
    st->cap = cap;
  }
  memcpy(st->body + st->len, data, n);
  st->len += n;
  st->body[st->len] = '\0';
  return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls) {
  (void)version;
  swath_http_server *srv = cls;
  struct conn *st = *con_cls;
  if (!st) {
    /* the headers are in: decide what can be decided before the body */
    if (!(st = calloc(1, sizeof *st))) return MHD_NO;
    *con_cls = st;
    st->t0 = mono_now();
    if (resolve(srv, st, url, method)) return MHD_NO;
    swath_http_response rs = {0};
    if (swath__http_guard(&srv->cfg, c, method, st->public_read, st->path_known ? st->allow : "",
                          st->who, sizeof st->who, &rs))
      return answer(srv, c, st, method, url, &rs);
    return MHD_YES;
  }
  if (*upload_size) {
    if (take_body(srv, st, upload_data, *upload_size)) return MHD_NO;
    *upload_size = 0;
    return MHD_YES;
  }

  swath_http_request rq;
  memset(&rq, 0, sizeof rq);
  rq.c = c;
  rq.method = method;
  rq.path = url;
  rq.body = st->body ? st->body : "";
  rq.body_len = st->len;
  memcpy(rq.params, st->params, sizeof rq.params);
  const char *scheme = srv->tls_cert ? "https" : "http";
  if (srv->base_url) {
    snprintf(rq.base, sizeof rq.base, "%s", srv->base_url);
  } else {
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (clean_host(host))
      snprintf(rq.base, sizeof rq.base, "%s://%s", scheme, host);
    else
      snprintf(rq.base, sizeof rq.base, "%s://%s:%d", scheme, srv->cfg.host, srv->port);
  }
  swath_http_response rs = {0};
  if (st->too_big) {
    swath__http_problem(&rs, 413, "Payload Too Large", "PayloadTooLarge",
                        "request body is larger than %zu bytes", srv->cfg.max_body);
  } else if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &rq) > MAX_ARGS) {
    swath__http_problem(&rs, 400, "Bad Request", "InvalidParameterValue",
                        "more than %d query parameters", MAX_ARGS);
  } else if (st->route) {
    swath_error_clear();
    st->route->fn(st->app, &rq, &rs);
  } else if (st->path_known) {
    swath__http_problem(&rs, 405, "Method Not Allowed", "MethodNotAllowed",
                        "%s is not allowed on %s (allowed: %s)", method, url, st->allow);
    snprintf(rs.header, sizeof rs.header, "Allow: %s, OPTIONS", st->allow);
  } else {
    swath__http_problem(&rs, 404, "Not Found", "NotFound", "no such resource: %s", url);
  }
  return answer(srv, c, st, method, url, &rs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls, (void)c, (void)toe;
  struct conn *st = *con_cls;
  if (!st) return;
  free(st->body);
  free(st->param_buf);
  free(st);
  *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  (void)cls, (void)c;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    *socket_context = calloc(1, sizeof(struct conn_buf)); /* NULL: a buffer per response */
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
    struct conn_buf *cb = *socket_context;
    free(cb->p);
    free(cb);
    *socket_context = NULL;
  }
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
  (void)cls;
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && msg[n - 1] == '\n')
    msg[--n] = '\0';
  swath_warn("http: %s", msg);
}

int swath_http_start(const swath_http_config *cfg, const swath_http_route *routes, void *app,
                     swath_http_server **out) {
  swath_http_api api = {.routes = routes, .app = app};
  return swath_http_start_apis(cfg, &api, 1, out);
}

int swath_http_start_apis(const swath_http_config *cfg, const swath_http_api *apis, int n,
                          swath_http_server **out) {
  *out = NULL;
  if (n < 1 || n > MAX_APIS)
    return swath_error_set(SWATH_EINTERNAL, "http: %d APIs in one server (1-%d)", n, MAX_APIS);
  swath_http_server *s = calloc(1, sizeof *s);
  if (!s) return swath_error_set(SWATH_ENOMEM, "http: out of memory");
  s->cfg = *cfg;
  if (!s->cfg.host) s->cfg.host = "127.0.0.1";
  if (s->cfg.threads < 1) s->cfg.threads = 2;
  if (!s->cfg.max_body) s->cfg.max_body = 4 << 20;
  memcpy(s->apis, apis, (size_t)n * sizeof *apis);
  s->napis = n;
  if (cfg->base_url) {
    s->base_url = strdup(cfg->base_url);
    size_t n = s->base_url ? strlen(s->base_url) : 0;
    while (n > 0 && s->base_url[n - 1] == '/')
      s->base_url[--n] = '\0';
  }
  if (cfg->port < 0 || cfg->port > 65535) {
    free(s->base_url);
    free(s);
    return swath_error_set(SWATH_EINVAL, "--port: %d is not a port number", cfg->port);
  }
  struct addrinfo hints = {0}, *ai = NULL;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  char port[16];
  snprintf(port, sizeof port, "%d", cfg->port);
  int gai = getaddrinfo(s->cfg.host, port, &hints, &ai);
  if (gai != 0 || !ai) {
    free(s->base_url);
    free(s);
    return swath_error_set(SWATH_EINVAL, "--host: cannot resolve '%s': %s", cfg->host,
                           gai_strerror(gai));
  }
  unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
  if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  int rc = 0;
  if (cfg->tls_cert || cfg->tls_key) {
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
      rc = swath_error_set(SWATH_EINVAL, "--tls-cert: this libmicrohttpd has no TLS");
    else
      rc = swath__http_tls_load(cfg->tls_cert, cfg->tls_key, &s->tls_cert, &s->tls_key);
    flags |= MHD_USE_TLS;
  }
  struct MHD_OptionItem o[16];
  int k = 0;
  o[k++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
  o[k++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, ai->ai_addr};
  o[k++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, s->cfg.threads, NULL};
  o[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s};
  o[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s};
  /* an idle or trickling client is dropped after timeout_s without a byte */
  o[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                   s->cfg.timeout_s > 0 ? s->cfg.timeout_s : 60, NULL};
  if (s->cfg.per_ip > 0)
    o[k++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->cfg.per_ip, NULL};
  if (s->tls_cert) {
    o[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
    o[k++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
  }
  o[k++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  if (!rc)
    s->d = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_ARRAY,
                            o, MHD_OPTION_END);
  freeaddrinfo(ai);
  if (!rc && !s->d)
    rc = swath_error_set(SWATH_EIO,
                         "http: cannot listen on %s:%d (in use, or not an address "
                         "of this machine?)",
                         cfg->host ? cfg->host : "127.0.0.1", cfg->port);
  if (rc) {
    free(s->tls_cert);
    free(s->tls_key);
    free(s->base_url);
    free(s);
    return rc;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : cfg->port;
  *out = s;
  return 0;
}

int swath_http_port(const swath_http_server *s) { return s->port; }

void swath_http_stop(swath_http_server *s) {
  if (!s) return;
  if (s->d) MHD_stop_daemon(s->d);
  free(s->tls_cert);
  free(s->tls_key);
  free(s->base_url);
  free(s);
}
