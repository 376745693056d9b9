/* fetch_retry.c: the fetcher's retry policy, as fetch.h states it: which
 * outcomes of an attempt are retried (swath_fetch_classify), how long to
 * wait before the next attempt (exponential backoff with full jitter, or a
 * server's Retry-After when that is longer) and how long to hold the host.
 *
 * Functions of their arguments only: no fetcher state, no clock (the
 * caller passes `now`), no shared PRNG. A delay depends on (seed, URL,
 * attempt) alone, so it does not depend on the order in which concurrent
 * transfers finish and a run's delays can be reproduced; no wait is longer
 * than backoff_max_ms. */
#include "io/fetch_internal.h"

#include <curl/curl.h>
#include <math.h>
#include <string.h>

#include "core/hash.h"

const char *swath_fetch_cause_name(swath_fetch_cause c) {
  static const char *const names[] = {"connect", "timeout", "reset",       "truncated",
                                      "http429", "http5xx", "undecodable", "other"};
  return (unsigned)c < SWATH_FETCH_C_COUNT ? names[c] : "?";
}

swath_fetch_class swath_fetch_classify(int curl_code, long status, const int *empty_status,
                                       swath_fetch_cause *cause) {
  swath_fetch_cause dummy;
  if (!cause) cause = &dummy;
  *cause = SWATH_FETCH_C_OTHER;
  if (curl_code != CURLE_OK) {
    switch ((CURLcode)curl_code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      *cause = SWATH_FETCH_C_CONNECT;
      return SWATH_FETCH_CLASS_TRANSIENT;
    case CURLE_OPERATION_TIMEDOUT:
      *cause = SWATH_FETCH_C_TIMEOUT;
      return SWATH_FETCH_CLASS_TRANSIENT;
    case CURLE_PARTIAL_FILE:
      *cause = SWATH_FETCH_C_TRUNCATED;
      return SWATH_FETCH_CLASS_TRANSIENT;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
      *cause = SWATH_FETCH_C_RESET;
      return SWATH_FETCH_CLASS_TRANSIENT;
    /* Retrying cannot change these: the request or the set-up is wrong. */
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_LOGIN_DENIED:
    case CURLE_REMOTE_ACCESS_DENIED:
    case CURLE_FUNCTION_NOT_FOUND:
    case CURLE_OUT_OF_MEMORY:
      return SWATH_FETCH_CLASS_PERMANENT;
    default:
      return SWATH_FETCH_CLASS_TRANSIENT; /* TLS hiccups, HTTP/2 framing, ... */
    }
  }
  for (int i = 0; empty_status && i < SWATH_FETCH_MAX_EMPTY && empty_status[i]; i++)
    if (empty_status[i] == status) return SWATH_FETCH_CLASS_EMPTY;
  if (status >= 200 && status <= 299) return SWATH_FETCH_CLASS_OK;
  if (status == 429) {
    *cause = SWATH_FETCH_C_HTTP429;
    return SWATH_FETCH_CLASS_TRANSIENT;
  }
  if (status == 408 || status == 425 ||
      (status >= 500 && status <= 599 && status != 501 && status != 505)) {
    *cause = SWATH_FETCH_C_HTTP5XX;
    return SWATH_FETCH_CLASS_TRANSIENT;
  }
  return SWATH_FETCH_CLASS_PERMANENT;
}

static uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

long swath_fetch_backoff_ms(long base_ms, long max_ms, int attempt, uint64_t seed,
                            const char *key) {
  if (base_ms < 0) base_ms = 0;
  if (max_ms < base_ms) max_ms = base_ms;
  if (attempt < 1) attempt = 1;
  long cap = base_ms;
  for (int i = 1; i < attempt && cap < max_ms; i++)
    cap = cap > max_ms / 2 ? max_ms : cap * 2;
  if (cap > max_ms) cap = max_ms;
  /* Keyed by request and attempt, not by a shared stream: the delays do not
   * depend on the order in which concurrent transfers happen to finish. */
  uint64_t h = swath_fnv1a_str(key ? key : "");
  uint64_t r = splitmix(splitmix(seed ^ h) + (uint64_t)attempt);
  double u = (double)(r >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
  long d = (long)floor(u * (double)(cap + 1));
  return d > cap ? cap : d;
}

long swath_fetch_parse_retry_after(const char *value, time_t now) {
  if (!value) return -1;
  while (*value == ' ' || *value == '\t')
    value++;
  size_t n = strlen(value);
  while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t' || value[n - 1] == '\r' ||
                   value[n - 1] == '\n'))
    n--;
  if (n == 0 || n >= 128) return -1;
  char v[128];
  memcpy(v, value, n);
  v[n] = '\0';
  if (v[0] >= '0' && v[0] <= '9') {
    long long s = 0;
    for (const char *p = v; *p; p++) {
      if (*p < '0' || *p > '9') return -1; /* delta-seconds is 1*DIGIT */
      if (s < 1000000000LL) s = s * 10 + (*p - '0');
    }
    return (long)(s > 1000000000LL ? 1000000000LL : s);
  }
  time_t t = curl_getdate(v, NULL);
  if (t == (time_t)-1) return -1;
  return t > now ? (long)(t - now) : 0;
}

long swath__fetch_retry_delay_ms(const swath_fetch_config *c, int attempts, const char *url,
                                 long retry_after_s, long *pause_ms) {
  long delay =
      swath_fetch_backoff_ms(c->backoff_base_ms, c->backoff_max_ms, attempts, c->seed, url);
  *pause_ms = -1;
  if (retry_after_s >= 0) {
    long ra = retry_after_s > c->backoff_max_ms / 1000 ? c->backoff_max_ms : retry_after_s * 1000;
    if (ra > delay) delay = ra;
    if (c->pause_host_on_retry_after) *pause_ms = ra;
  }
  return delay;
}
