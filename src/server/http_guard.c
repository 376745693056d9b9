/* http_guard.c: the HTTP server's gate (http_internal.h): CORS, rate
 * limit, API keys, body size, TLS files.
 *
 * Invariants: a key is never logged or echoed, only the name it was stored
 * under; the rate limit is taken before the key is checked, so guessing
 * keys is limited like any other request; a preflight needs no key (a
 * browser sends none) and answers only what --cors allows. */
#include <gnutls/gnutls.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "core/error.h"
#include "server/auth.h"
#include "server/http_internal.h"
#include "server/ratelimit.h"

/* Copy s into out with bytes that are not UTF-8 (or controls) as '?'. */
void swath__http_clean_utf8(const char *s, char *out, size_t n) {
  size_t o = 0;
  const unsigned char *p = (const unsigned char *)s;
  while (*p && o + 5 < n) {
    int len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
    int ok = len > 0 && !(*p < 0x20 || *p == 0x7f);
    for (int k = 1; ok && k < len; k++)
      ok = (p[k] & 0xC0) == 0x80;
    if (ok && len == 2) ok = *p >= 0xC2;
    if (ok && len == 3) ok = !(*p == 0xE0 && p[1] < 0xA0) && !(*p == 0xED && p[1] >= 0xA0);
    if (ok && len == 4)
      ok = *p <= 0xF4 && !(*p == 0xF0 && p[1] < 0x90) && !(*p == 0xF4 && p[1] >= 0x90);
    if (!ok) {
      out[o++] = '?';
      p++;
      continue;
    }
    memcpy(out + o, p, (size_t)len);
    o += (size_t)len;
    p += len;
  }
  out[o] = '\0';
}

void swath__http_problem(swath_http_response *rs, int status, const char *title, const char *code,
                         const char *fmt, ...) {
  char msg[1024], clean[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  swath__http_clean_utf8(msg, clean, sizeof clean);
  swath_http_json(rs, status,
                  json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "type", "about:blank", "title", title,
                            "status", status, "detail", clean, "code", code, "description", clean));
  rs->content_type = "application/problem+json";
}

void swath__http_client(struct MHD_Connection *c, char *buf, size_t n) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  snprintf(buf, n, "unknown");
  if (!ci || !ci->client_addr) return;
  const struct sockaddr *sa = ci->client_addr;
  socklen_t len =
      sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (getnameinfo(sa, len, buf, (socklen_t)n, NULL, 0, NI_NUMERICHOST)) snprintf(buf, n, "unknown");
}

const char *swath__http_cors(const swath_http_config *cfg, struct MHD_Connection *c) {
  if (cfg->ncors < 1) return NULL;
  const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
  for (int i = 0; i < cfg->ncors; i++) {
    if (!strcmp(cfg->cors[i], "*")) return "*";
    if (origin && !strcmp(cfg->cors[i], origin)) return origin;
  }
  return NULL;
}

static void add_header(swath_http_response *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_header(swath_http_response *rs, const char *fmt, ...) {
  size_t used = strlen(rs->header);
  if (used && used + 1 < sizeof rs->header) rs->header[used++] = '\n', rs->header[used] = '\0';
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rs->header + used, sizeof rs->header - used, fmt, ap);
  va_end(ap);
}

static double mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The bearer token of the request, or NULL (*present: an Authorization
 * header was sent). */
static const char *bearer(struct MHD_Connection *c, int *present) {
  const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  *present = h != NULL;
  if (!h || strncasecmp(h, "Bearer ", 7)) return NULL;
  h += 7;
  while (*h == ' ')
    h++;
  return *h ? h : NULL;
}

int swath__http_guard(const swath_http_config *cfg, struct MHD_Connection *c, const char *method,
                      int public_route, const char *allow, char *who, size_t nwho,
                      swath_http_response *rs) {
  char addr[64];
  swath__http_client(c, addr, sizeof addr);
  int read = !strcmp(method, "GET") || !strcmp(method, "HEAD");
  if (!strcmp(method, "OPTIONS") && *allow) {
    /* a CORS preflight, or a client asking what the path allows */
    snprintf(who, nwho, "%s", addr);
    rs->status = 204;
    rs->raw = strdup("");
    rs->raw_len = 0;
    add_header(rs, "Allow: %s, OPTIONS", allow);
    if (swath__http_cors(cfg, c)) {
      add_header(rs, "Access-Control-Allow-Methods: %s, OPTIONS", allow);
      add_header(rs, "Access-Control-Allow-Headers: Authorization, Content-Type, Prefer");
      add_header(rs, "Access-Control-Max-Age: 600");
    }
    return 1;
  }
  /* who is asking: a valid key's name, else the address */
  int present = 0, valid = 0;
  char name[80] = "";
  const char *token = bearer(c, &present);
  if (cfg->auth && token) valid = swath_auth_check(cfg->auth, token, name, sizeof name);
  if (valid)
    snprintf(who, nwho, "key %s", name);
  else
    snprintf(who, nwho, "%s", addr);
  if (cfg->rate) {
    int wait = swath_ratelimit_take(cfg->rate, who, mono());
    if (wait > 0) {
      swath__http_problem(rs, 429, "Too Many Requests", "TooManyRequests",
                          "rate limit exceeded; retry in %d s", wait);
      add_header(rs, "Retry-After: %d", wait);
      return 1;
    }
  }
  int public = read && (cfg->public_read || public_route);
  if (cfg->auth && !valid && (present || !public)) {
    if (present) {
      swath__http_problem(rs, 401, "Unauthorized", "Unauthorized",
                          "the API key is not valid (Authorization: Bearer KEY)");
      add_header(rs, "WWW-Authenticate: Bearer realm=\"swath\", error=\"invalid_token\"");
    } else {
      swath__http_problem(rs, 401, "Unauthorized", "Unauthorized",
                          "%s needs an API key (Authorization: Bearer KEY)",
                          read ? "reading" : "this method");
      add_header(rs, "WWW-Authenticate: Bearer realm=\"swath\"");
    }
    return 1;
  }
  /* A body a little over the limit is read and dropped, so that clients
   * that send it whole before reading (most) see the 413; one far over it
   * is refused now and the connection closed, unread. */
  const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
  unsigned long long far = (unsigned long long)cfg->max_body * 16;
  if (far < (64ull << 20)) far = 64ull << 20;
  if (cl) {
    char *end;
    unsigned long long v = strtoull(cl, &end, 10);
    if (end != cl && v > far) {
      swath__http_problem(rs, 413, "Payload Too Large", "PayloadTooLarge",
                          "request body of %llu bytes is larger than %zu bytes", v, cfg->max_body);
      return 1;
    }
  }
  return 0;
}

/* ---- TLS files ------------------------------------------------------------ */

static int slurp(const char *path, const char *flag, char **out) {
  FILE *f = fopen(path, "rb");
  if (!f) return swath_error_set(SWATH_EINVAL, "%s %s: cannot read it", flag, path);
  char *buf = NULL;
  size_t n = 0, cap = 0;
  char chunk[8192];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (n + got + 1 > cap || n + got > (1u << 20)) {
      if (n + got > (1u << 20)) {
        free(buf);
        fclose(f);
        return swath_error_set(SWATH_EINVAL, "%s %s: larger than 1 MiB, not a PEM file", flag,
                               path);
      }
      cap = (n + got + 1) * 2;
      char *p = realloc(buf, cap);
      if (!p) {
        free(buf);
        fclose(f);
        return swath_error_set(SWATH_ENOMEM, "out of memory");
      }
      buf = p;
    }
    memcpy(buf + n, chunk, got);
    n += got;
  }
  int err = ferror(f);
  fclose(f);
  if (err || n == 0) {
    free(buf);
    return swath_error_set(SWATH_EINVAL, "%s %s: %s", flag, path, err ? "read error" : "empty");
  }
  buf[n] = '\0';
  *out = buf;
  return 0;
}

int swath__http_tls_load(const char *cert, const char *key, char **cert_pem, char **key_pem) {
  *cert_pem = *key_pem = NULL;
  if (!cert || !key)
    return swath_error_set(SWATH_EINVAL, "--tls-cert and --tls-key go together (give both)");
  int rc = slurp(cert, "--tls-cert", cert_pem);
  if (!rc) rc = slurp(key, "--tls-key", key_pem);
  if (!rc) {
    gnutls_certificate_credentials_t cr;
    if (gnutls_certificate_allocate_credentials(&cr) < 0) {
      rc = swath_error_set(SWATH_ENOMEM, "TLS: out of memory");
    } else {
      gnutls_datum_t c = {(unsigned char *)*cert_pem, (unsigned)strlen(*cert_pem)};
      gnutls_datum_t k = {(unsigned char *)*key_pem, (unsigned)strlen(*key_pem)};
      int g = gnutls_certificate_set_x509_key_mem(cr, &c, &k, GNUTLS_X509_FMT_PEM);
      if (g == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
        rc = swath_error_set(SWATH_EINVAL, "--tls-key %s is not the key of --tls-cert %s", key,
                             cert);
      else if (g < 0)
        rc = swath_error_set(SWATH_EINVAL, "--tls-cert %s / --tls-key %s: %s", cert, key,
                             gnutls_strerror(g));
      gnutls_certificate_free_credentials(cr);
    }
  }
  if (rc) {
    free(*cert_pem);
    free(*key_pem);
    *cert_pem = *key_pem = NULL;
  }
  return rc;
}
