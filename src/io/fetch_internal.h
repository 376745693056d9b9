/* fetch_internal.h: the fetcher's state and what its files share; private
 * to src/io/fetch*.c (fetch.h is the API, the model and the policy).
 *
 * The files: fetch_api.c runs on the callers' threads (start and stop,
 * submit with its cache answers and coalescing, wait, cancel, stats, the
 * synchronous get); fetch.c is the loop thread (the curl multi handle, the
 * per-host queues, caps, rates and pauses, the backoff list, redirects,
 * timeouts) and the finisher threads; fetch_retry.c and fetch_validate.c
 * are the policy as functions that touch no fetcher state (what is retried
 * and after how long; what a body must be).
 *
 * Threads and ownership:
 *  - the loop thread owns the curl multi handle, the per-host ready queues,
 *    the delayed (backoff) list and the transfers in flight; nobody else
 *    touches them;
 *  - finisher threads take completed 2xx/empty answers from `fin`, validate
 *    and write them, and either finish the job or hand it back through
 *    `back` for a retry;
 *  - submitters append to `inbox` and wake the loop with curl_multi_wakeup.
 * Everything shared (inbox, fin, back, counters, stats) is under `mu`.
 * A job is owned by exactly one of: inbox, a host queue, delayed, the multi
 * handle, fin, a finisher, back, and it is freed by finish(), which runs the
 * callback exactly once. `outstanding` counts jobs not yet finished; it is
 * what bounds memory and what wait_idle waits on. */
#ifndef SWATH_IO_FETCH_INTERNAL_H
#define SWATH_IO_FETCH_INTERNAL_H

#include <curl/curl.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "core/hash.h"
#include "io/fetch.h"

struct host;

/* A request for a cache path another request is already fetching: it shares
 * that request's outcome instead of downloading the same tile again. */
struct follower {
  struct follower *next;
  swath_fetch_cb cb;
  void *user;
};

#define PENDING_BUCKETS 4096

struct job {
  struct job *next;
  struct job *pnext; /* chain in the fetcher's pending-by-dest table */
  struct follower *followers;
  char *url;
  char *dest;
  struct curl_slist *req_headers; /* this request's own header lines, or NULL */
  const void *post;               /* a POST body (borrowed, fetch.h), or NULL */
  size_t post_len;
  int expect_w, expect_h;
  unsigned kinds, flags;
  swath_fetch_cb cb;
  void *user;

  struct host *host;
  int attempts;
  double t_submit, t_due;
  CURL *easy;
  int active_slot; /* index in f->active while in flight */

  /* The current attempt. A redirect is followed by swath itself (hop), so
   * that headers meant for one origin never reach another. */
  char *hop_url;    /* the URL this hop asks for; NULL: url */
  int hops;         /* redirects followed in this attempt */
  int send_headers; /* this hop is to the origin the configured headers are for */
  double t_sent;    /* when libcurl was about to send this hop's request; 0: not yet */
  struct curl_slist *hop_headers; /* configured + own headers for this hop (own set only) */

  /* The current attempt's answer. */
  char *body;
  size_t body_len, body_cap, body_limit;
  int too_large;
  long status;
  long retry_after; /* seconds, -1 = none */
  char status_text[64];
  char content_type[96];
  char *resp_headers; /* SWATH_FETCH_HEADERS: the answer's header lines */
  size_t resp_headers_len, resp_headers_cap;
  char errbuf[CURL_ERROR_SIZE];

  int empty_answer; /* for the finisher: write a marker, not a body */
  swath_fetch_cause cause;
  char reason[512];
};

struct host {
  struct host *next;
  char key[256]; /* scheme://host:port */
  int tls;       /* https: HTTP/2 may be negotiated (ALPN) */
  int multiplex; /* the last answer came over HTTP/2 (1), HTTP/1 (-1), none yet (0) */
  int in_flight;
  struct job *ready_head, *ready_tail;
  double tokens, t_refill;
  double paused_until;
};

struct swath_fetcher {
  swath_fetch_config cfg;
  char *user_agent;
  char *ca_file; /* NULL: the system's CA certificates */
  struct curl_slist *headers;
  CURLM *multi;
  pthread_t loop_thread;
  pthread_t *fin_threads;
  int nfin;
  double t0;

  pthread_mutex_t mu;
  pthread_cond_t space; /* outstanding dropped below queue_limit */
  pthread_cond_t idle;  /* outstanding reached 0 */
  pthread_cond_t work;  /* fin has a job, or stop */
  struct job *inbox_head, *inbox_tail;
  struct job *fin_head, *fin_tail;
  int fin_len;
  struct job *back_head, *back_tail;
  struct job *pending[PENDING_BUCKETS]; /* outstanding jobs with a dest, by dest */
  long outstanding;
  int stop;
  int aborting;
  char abort_reason[640];
  uint64_t budget_base; /* st.failed when the budget last started (swath_fetch_resume) */
  swath_fetch_stats st;
  int in_flight;     /* mirror of the loop's count, for busy time */
  double busy_since; /* when in_flight last went from 0 to 1 */
  char last_failure[512];

  /* Loop thread only. */
  struct host *hosts;
  struct job *delayed; /* sorted by t_due */
  struct job **active; /* max_in_flight slots */
  int nactive;
  CURL **pool;
  int npool;
};

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline size_t dest_bucket(const char *dest) {
  return (size_t)(swath_fnv1a_str(dest) % PENDING_BUCKETS);
}

/* fetch.c */
void swath__fetch_job_free(struct job *j);
void *swath__fetch_loop_main(void *arg);     /* the loop thread; arg: the fetcher */
void *swath__fetch_finisher_main(void *arg); /* a finisher thread; arg: the fetcher */

/* fetch_retry.c: the wait in milliseconds before the next attempt after
 * `attempts` (>= 1) failed: the backoff (swath_fetch_backoff_ms with the
 * config's base, max and seed, keyed by `url`), or the server's Retry-After
 * (`retry_after_s`, -1 = none) capped at backoff_max_ms when that is longer.
 * *pause_ms: how long every request to the host is to be held (that capped
 * Retry-After, when pause_host_on_retry_after), or -1 for no pause. */
long swath__fetch_retry_delay_ms(const swath_fetch_config *c, int attempts, const char *url,
                                 long retry_after_s, long *pause_ms);

/* fetch_validate.c: SWATH_FETCH_VERIFY: does the cached file at req->dest
 * pass the checks a download of it would get (swath_fetch_check_file)?
 * 1 or 0; logs why not at debug level and leaves no error set. */
int swath__fetch_cached_passes(const swath_fetch_req *req, size_t max_bytes);

#endif
