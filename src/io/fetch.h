/* fetch.h: swath's HTTP fetcher. Remote sources, `swath prefetch` and the
 * worker pipeline all download through it, so the retry policy, validation
 * and politeness live here once.
 *
 * Model. A fetcher owns one event thread running a libcurl multi handle
 * (many transfers in flight, connection reuse, HTTP/2 multiplexing where
 * offered) and a few "finisher" threads that validate bodies and write them
 * into the cache, so decoding never stalls the network loop. Callers submit
 * requests (URL + cache path + what a valid answer looks like + callback);
 * every submitted request ends in exactly one callback with one outcome:
 *
 *   DONE     the body passed validation and is at `dest` (or was already
 *            there: `cached`), or was handed to the callback (dest NULL)
 *   EMPTY    the server answered one of the configured "empty" statuses
 *            (no data there); "{dest}.empty" records it for later runs
 *   FAILED   a permanent error, or a transient one that outlived the attempt
 *            cap; `reason` says which in one line
 *   ABORTED  never finished because the run gave up (failure budget spent,
 *            swath_fetch_cancel, swath_fetch_free); `reason` says why
 *
 * Retries (one policy): curl connect/resolve errors, timeouts, resets
 * (send/recv errors, empty replies), truncated bodies, HTTP 408, 425, 429 and
 * 5xx (except 501/505), and bodies that look like an image but do not decode,
 * are retried after exponential backoff with full jitter: attempt n waits a
 * uniform random time in [0, min(backoff_max, backoff_base * 2^(n-1))],
 * drawn from a PRNG keyed by (seed, URL, n), so delays are reproducible. A
 * Retry-After header (seconds or HTTP-date) sets the wait instead when it is
 * longer, capped at backoff_max, and (pause_host_on_retry_after) holds every
 * request to that host until then. Other 4xx, an HTML page, an OGC exception
 * document, an empty or non-image body and an image of the wrong size or kind
 * fail at once. Nothing that failed validation is ever written to the cache.
 * The reason for an HTTP error status ends with what the server said
 * (swath_fetch_error_text), so a 400 from an API names its cause.
 *
 * Limits. At most max_in_flight transfers overall and max_per_host per host
 * (scheme://host:port), optionally at most rate_per_host new requests per
 * second per host (token bucket). submit() blocks while queue_limit requests
 * are outstanding, so memory stays bounded however many tiles a job needs.
 *
 * Threads. submit/wait_idle/stats/cancel may be called from any thread.
 * Callbacks run on the submitting thread (requests already in the cache,
 * before submit returns) or on fetcher threads, possibly several at once:
 * they must be thread-safe and quick. A callback that blocks (say, on a full
 * queue to the compute stage) holds the fetcher back, which is the intended
 * backpressure. A callback may call swath_fetch_submit (it never blocks
 * there) but not wait_idle, get or free.
 *
 * Memory. Bodies are held only by transfers in flight and by answers waiting
 * for a finisher (at most 2 * max_in_flight + finishers); a request waiting
 * for its retry holds none. On loopback, 2 finishers validate and write about
 * 3000 256x256 tiles/s on 2 cores; raise `finishers` with more cores. */
#ifndef SWATH_IO_FETCH_H
#define SWATH_IO_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifndef SWATH_VERSION
#define SWATH_VERSION "0.1"
#endif

typedef struct swath_fetcher swath_fetcher;

/* Kinds of body a request accepts (bit set). 0 means SWATH_FETCH_IMAGE. */
enum {
  SWATH_FETCH_PNG = 1u << 0,
  SWATH_FETCH_JPEG = 1u << 1,
  SWATH_FETCH_WEBP = 1u << 2,
  SWATH_FETCH_GTIFF = 1u << 3,
  SWATH_FETCH_IMAGE = 0xfu, /* any of the four above */
  /* A whole XML document that is neither HTML nor an OGC exception (for
   * GetCapabilities); one that does not parse is a transient failure (cut
   * short), retried. */
  SWATH_FETCH_XML = 1u << 4,
  /* Anything non-empty; no validation (use for documents swath parses
   * itself and checks there). */
  SWATH_FETCH_ANY = 1u << 5
};

/* Request flags. */
enum {
  /* Download even if `dest` or its empty marker is already in the cache. */
  SWATH_FETCH_REFETCH = 1u << 0,
  /* Take a cached `dest` only if it passes the checks a download gets
   * (swath_fetch_validate with the request's kinds and size); otherwise
   * download it (joining a download of it already in flight) and replace
   * it. The check runs on the submitting thread. */
  SWATH_FETCH_VERIFY = 1u << 1,
  /* Hand the answer's header lines to the callback (result.headers). */
  SWATH_FETCH_HEADERS = 1u << 2
};

#define SWATH_FETCH_MAX_EMPTY 8

typedef struct swath_fetch_config {
  int max_in_flight;                       /* transfers in flight, all hosts (8) */
  int max_per_host;                        /* transfers in flight per host (4) */
  double rate_per_host;                    /* new requests per second per host; 0 = no limit (0) */
  double rate_burst;                       /* token bucket size; <1 means 1 (1) */
  long connect_timeout_ms;                 /* TCP+TLS connect (10000) */
  long timeout_ms;                         /* one request, from its first byte sent (not from
                                              waiting for a connection) to the last byte
                                              received (60000) */
  long stall_timeout_ms;                   /* no byte received for this long aborts (30000) */
  int max_attempts;                        /* attempts per request, first included (5) */
  int failure_budget;                      /* FAILED requests before the rest are ABORTED;
                                              0 = no budget (100) */
  long backoff_base_ms;                    /* (500) */
  long backoff_max_ms;                     /* also caps Retry-After (30000) */
  int pause_host_on_retry_after;           /* a Retry-After pauses the whole host (1) */
  uint64_t seed;                           /* jitter PRNG seed (0x5eed) */
  const char *user_agent;                  /* NULL: "swath/" SWATH_VERSION; copied */
  const char *ca_file;                     /* PEM CA certificates to trust instead of the
                                              system's (a private CA); NULL; copied */
  const char *const *headers;              /* NULL-terminated "Name: value" lines; copied.
                                              Sent to the origin of each request's URL
                                              only, never to another one a redirect
                                              names (redirects are followed here) */
  int empty_status[SWATH_FETCH_MAX_EMPTY]; /* statuses meaning "no data";
                                              0-terminated ({204}) */
  int queue_limit;                         /* outstanding requests before submit blocks (1024) */
  int finishers;                           /* validation/write threads (2) */
  size_t max_body_bytes;                   /* larger bodies fail permanently (64 MiB) */
  int durable;                             /* fsync each tile before the rename (0) */
  int http2;                               /* offer HTTP/2 over TLS, multiplex (1) */
} swath_fetch_config;

/* Fill `c` with the defaults in parentheses above. */
void swath_fetch_config_default(swath_fetch_config *c);

typedef enum swath_fetch_outcome {
  SWATH_FETCH_DONE = 0,
  SWATH_FETCH_EMPTY = 1,
  SWATH_FETCH_FAILED = 2,
  SWATH_FETCH_ABORTED = 3
} swath_fetch_outcome;

/* "done", "empty", "failed", "aborted". */
const char *swath_fetch_outcome_name(swath_fetch_outcome o);

/* What the callback gets. Pointers are valid only during the callback. */
typedef struct swath_fetch_result {
  swath_fetch_outcome outcome;
  int cached; /* answered from the cache, no request made */
  const char *url;
  const char *dest;   /* as submitted (may be NULL) */
  long http_status;   /* of the last attempt; 0 if none got an answer */
  int attempts;       /* HTTP requests made for it */
  const char *reason; /* FAILED/ABORTED: one line; else NULL */
  const void *body;   /* DONE with dest NULL: the validated body; else NULL */
  size_t body_len;
  const char *headers; /* SWATH_FETCH_HEADERS: the last answer's header lines,
                          "Name: value\n" each (at most 64 KiB); else NULL */
  size_t bytes;        /* DONE after a download: the body's size (at dest or in body);
                          0 when answered from the cache */
  double seconds;      /* submit to completion */
} swath_fetch_result;

typedef void (*swath_fetch_cb)(const swath_fetch_result *res, void *user);

typedef struct swath_fetch_req {
  const char *url;  /* http(s) URL; copied */
  const char *dest; /* cache path the body is written to; copied. NULL:
                       no cache, the body goes to the callback */
  int expect_width; /* required image size; 0 = any */
  int expect_height;
  unsigned kinds;    /* SWATH_FETCH_* kinds accepted; 0 = any image */
  unsigned flags;    /* SWATH_FETCH_REFETCH, SWATH_FETCH_VERIFY */
  swath_fetch_cb cb; /* may be NULL (fire and forget, see stats) */
  void *user;
  /* A request other than a plain GET (an API call; use with dest NULL): */
  const char *const *req_headers; /* NULL-terminated "Name: value" lines added to this
                                     request (after the configured ones); copied */
  const void *post;               /* a body to POST, borrowed: valid until the callback
                                     (every attempt sends it again); NULL: GET */
  size_t post_len;
} swath_fetch_req;

/* Transient causes, counted in stats and named in reasons. */
typedef enum swath_fetch_cause {
  SWATH_FETCH_C_CONNECT,   /* resolve/connect failed */
  SWATH_FETCH_C_TIMEOUT,   /* connect, total or stall timeout */
  SWATH_FETCH_C_RESET,     /* connection reset, nothing received, send error */
  SWATH_FETCH_C_TRUNCATED, /* fewer bytes than Content-Length */
  SWATH_FETCH_C_HTTP429,
  SWATH_FETCH_C_HTTP5XX,     /* and 408, 425 */
  SWATH_FETCH_C_UNDECODABLE, /* looked like an image, did not decode */
  SWATH_FETCH_C_OTHER,       /* other curl errors (TLS, HTTP/2 framing, ...) */
  SWATH_FETCH_C_COUNT
} swath_fetch_cause;

const char *swath_fetch_cause_name(swath_fetch_cause c);

typedef struct swath_fetch_stats {
  uint64_t submitted;
  uint64_t fetched; /* DONE after a download */
  uint64_t cached;  /* DONE or EMPTY straight from the cache */
  uint64_t empty;   /* EMPTY after a download */
  uint64_t failed;
  uint64_t aborted;
  uint64_t coalesced;     /* joined a request for the same cache path already in flight
                             (its outcome is counted there once, not here) */
  uint64_t cache_invalid; /* VERIFY: cached files that failed the checks, downloaded
                             again (counted in fetched/failed/... as well) */
  uint64_t requests;      /* HTTP attempts started */
  uint64_t retries;       /* attempts after a request's first */
  uint64_t bytes;         /* body bytes received, all attempts */
  uint64_t transient[SWATH_FETCH_C_COUNT]; /* retryable failures by cause */
  double wall_seconds;                     /* since swath_fetch_new */
  double busy_seconds;                     /* wall time with at least one transfer in flight */
  int peak_in_flight;                      /* most transfers in flight at once */
  int budget_exhausted;                    /* the failure budget ran out */
} swath_fetch_stats;

/* Start a fetcher (threads included). `cfg` NULL = defaults; it is copied.
 * Registers GDAL drivers and initialises libcurl once per process.
 * SWATH_EINVAL for an out-of-range setting. */
int swath_fetch_new(const swath_fetch_config *cfg, swath_fetcher **out);

/* Submit one request; the callback runs exactly once. If `dest` is already
 * cached (and not REFETCH), the callback runs now, on this thread. If
 * another request for the same `dest` is outstanding, this one shares its
 * outcome (one download, both callbacks). Blocks
 * while queue_limit requests are outstanding (not inside a callback).
 * Returns 0, or SWATH_EINVAL (and no callback) for a request without a URL. */
int swath_fetch_submit(swath_fetcher *f, const swath_fetch_req *req);

/* Wait until every submitted request has had its callback. Returns 0, or
 * SWATH_EIO with the reason set if the run was aborted (failure budget or
 * cancel). */
int swath_fetch_wait_idle(swath_fetcher *f);

/* Give up: every outstanding request ends ABORTED with `reason` (transfers
 * in flight are dropped), and so does everything submitted later. */
void swath_fetch_cancel(swath_fetcher *f, const char *reason);
/* After a cancel (or a spent failure budget), once every outstanding
 * request has had its callback: accept requests again, with the failure
 * budget started afresh. A worker process runs one queued task after
 * another over the same fetchers (engine/run_task.c). */
void swath_fetch_resume(swath_fetcher *f);

void swath_fetch_stats_get(swath_fetcher *f, swath_fetch_stats *out);

/* Cancel what is outstanding ("fetcher shut down"), stop threads, free.
 * Call wait_idle first to finish the work instead. NULL is fine. */
void swath_fetch_free(swath_fetcher *f);

/* Fetch one URL synchronously into memory (through the same limits and
 * retries), e.g. a GetCapabilities document. On 0, *body (caller frees,
 * NUL-terminated for convenience) and *len hold the validated body.
 * SWATH_EEMPTY for an empty status; otherwise SWATH_EIO with the reason. */
int swath_fetch_get(swath_fetcher *f, const char *url, unsigned kinds, char **body, size_t *len);

/* An API call, synchronously: method "GET" or "POST" (`body` of `len`
 * bytes, NULL for GET), `headers` NULL-terminated "Name: value" lines for
 * this request (Content-Type, ...; may be NULL). The same limits, timeouts
 * and retries as every request (a POST is sent again on a transient
 * failure: use it for idempotent calls such as inference), no cache; a
 * redirect of a POST is followed only for 307 and 308. Any non-empty body
 * is accepted (the caller parses it). Safe to call from several threads at
 * once (not from a callback). */
typedef struct swath_fetch_response {
  long status;   /* of the last attempt; 0 if none got an answer (also on failure) */
  char *body;    /* on 0: the body, NUL-terminated (owned) */
  size_t len;    /* its length without the NUL */
  char *headers; /* on 0: the answer's header lines, "Name: value\n" each (owned) */
} swath_fetch_response;

/* 0 with *resp filled (clear it with swath_fetch_response_clear); otherwise
 * SWATH_EIO with one line ("POST URL: HTTP 400 (Bad Request): <the
 * server's error text>", "...: connect: ... (gave up after 5 attempts)")
 * and resp->status set, or SWATH_EINVAL for a method other than GET or
 * POST. */
int swath_fetch_request(swath_fetcher *f, const char *method, const char *url,
                        const char *const *headers, const void *body, size_t len,
                        swath_fetch_response *resp);
void swath_fetch_response_clear(swath_fetch_response *resp);
/* The value of header `name` (case-insensitive) in `headers` (lines as
 * above), white space trimmed, into buf; NULL if absent. */
const char *swath_fetch_header(const char *headers, const char *name, char *buf, size_t cap);

/* ---- The policy as pure functions (used by the fetcher; tested alone) ---- */

typedef enum swath_fetch_class {
  SWATH_FETCH_CLASS_OK,        /* 2xx with a body to validate */
  SWATH_FETCH_CLASS_EMPTY,     /* a configured empty status */
  SWATH_FETCH_CLASS_TRANSIENT, /* retry */
  SWATH_FETCH_CLASS_PERMANENT  /* fail now */
} swath_fetch_class;

/* Classify one attempt from libcurl's result code (a CURLcode, 0 = a
 * complete response) and the HTTP status. `empty_status` is the 0-terminated
 * list from the config (NULL = none). If transient, *cause tells why. */
swath_fetch_class swath_fetch_classify(int curl_code, long http_status, const int *empty_status,
                                       swath_fetch_cause *cause);

/* The backoff before attempt `attempt + 1`, after `attempt` (>= 1) failed:
 * uniform in [0, min(max_ms, base_ms * 2^(attempt-1))], deterministic in
 * (seed, key, attempt). */
long swath_fetch_backoff_ms(long base_ms, long max_ms, int attempt, uint64_t seed, const char *key);

/* A Retry-After value in seconds from now: delta-seconds, or an HTTP-date
 * (IMF-fixdate, RFC 850 or asctime) relative to `now`; a date in the past
 * gives 0. -1 if unparsable. */
long swath_fetch_parse_retry_after(const char *value, time_t now);

typedef enum swath_fetch_sniffed {
  SWATH_SNIFF_EMPTY, /* no bytes, or only white space */
  SWATH_SNIFF_PNG,
  SWATH_SNIFF_JPEG,
  SWATH_SNIFF_WEBP,
  SWATH_SNIFF_GTIFF,
  SWATH_SNIFF_GIF,
  SWATH_SNIFF_HTML,
  SWATH_SNIFF_OGC_EXCEPTION, /* ServiceExceptionReport / ows:ExceptionReport */
  SWATH_SNIFF_XML,
  SWATH_SNIFF_OTHER
} swath_fetch_sniffed;

/* What a body is, from its first bytes. */
swath_fetch_sniffed swath_fetch_sniff(const void *body, size_t len);

/* The text of the first exception in an OGC exception document, with its
 * code ("InvalidParameterValue: Layer foo not found"), entities decoded and
 * white space collapsed, into `buf`. Returns the length, 0 if none. */
size_t swath_fetch_exception_text(const void *body, size_t len, char *buf, size_t cap);

/* What a server says went wrong, from the body of an error answer: the
 * "error" (a string, or an object's "message"), "message", "description" or
 * "detail" member of a JSON object (KServe, TF Serving, OGC API, FastAPI),
 * an OGC exception's text, or the first line of a text/plain body; one
 * line of at most 300 characters into `buf`. Returns its length, 0 if none. */
size_t swath_fetch_error_text(const void *body, size_t len, const char *content_type, char *buf,
                              size_t cap);

/* Check a 2xx body against what the request accepts. 0 if acceptable;
 * otherwise the reason is set with swath_error_set and the code says what
 * to do: SWATH_ETRANSIENT (an image that does not decode fully, likely cut
 * short: retry) or SWATH_EINVAL (permanent: HTML page, OGC exception, empty
 * or non-image body, wrong kind or size). A PNG that swath__png_check
 * proves good is accepted without decoding; every other image (and a PNG
 * it does not prove) is decoded completely with GDAL from /vsimem/; GDAL
 * drivers must be registered. `content_type` (may be NULL) only improves
 * the message. */
int swath_fetch_validate(const void *body, size_t len, const char *content_type, unsigned kinds,
                         int expect_width, int expect_height);

/* Does the file at `path` (a cached body) pass the checks a download of it
 * would get (swath_fetch_validate with `kinds` and the size)? 0, or the
 * reason set: swath_fetch_validate's codes, SWATH_EIO if it cannot be read,
 * SWATH_EINVAL if empty or over max_bytes. */
int swath_fetch_check_file(const char *path, unsigned kinds, int expect_width, int expect_height,
                           size_t max_bytes);

#endif
