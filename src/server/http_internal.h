/* http_internal.h: what http.c and http_guard.c share (not an API). */
#ifndef SWATH_SERVER_HTTP_INTERNAL_H
#define SWATH_SERVER_HTTP_INTERNAL_H

#include <microhttpd.h>

#include "server/http.h"

/* The server's own error: an RFC 7807 problem detail (type about:blank)
 * that also carries the OGC/STAC members code and description. Text that
 * is not UTF-8 (a path from the request) is shown with '?' for bad bytes. */
void swath__http_problem(swath_http_response *rs, int status, const char *title, const char *code,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Copy s into out (n bytes) with bytes that are not UTF-8, and control
 * characters, as '?': JSON (jansson) refuses such strings, and messages
 * quote what clients sent. */
void swath__http_clean_utf8(const char *s, char *out, size_t n);

/* The client's address, numeric ("127.0.0.1", "::1"). */
void swath__http_client(struct MHD_Connection *c, char *buf, size_t n);

/* The Access-Control-Allow-Origin value for this request's Origin: the
 * origin itself, "*", or NULL (no CORS headers). */
const char *swath__http_cors(const swath_http_config *cfg, struct MHD_Connection *c);

/* The checks made once a request's headers are in, before its body is
 * read: preflight (204), rate limit (429), API key (401), a declared body
 * far over max_body (413; one a little over is read, dropped, then 413). `allow` lists the methods
 * of the path ("" if unknown); reads of a route whose API is public_read (public_route) need no
 * key. Returns 1 with the answer in rs, or 0 to go on; `who` gets the key's name ("key NAME") or
 * the client's address, for the log and the limit. */
int swath__http_guard(const swath_http_config *cfg, struct MHD_Connection *c, const char *method,
                      int public_route, const char *allow, char *who, size_t nwho,
                      swath_http_response *rs);

/* Read a PEM certificate and key and check they are a pair (GnuTLS):
 * SWATH_EINVAL with one line naming the file or the mismatch. */
int swath__http_tls_load(const char *cert, const char *key, char **cert_pem, char **key_pem);

#endif
