/* fetch.c: the fetcher's loop thread and finisher threads (the state and
 * who owns what: fetch_internal.h; the policy they apply: fetch_retry.c,
 * fetch_validate.c).
 *
 * One round of the loop: take the inbox (new jobs join their host's queue)
 * and the finishers' `back` list (bodies that did not decode: retried),
 * move the jobs whose backoff is over to the front of their host's queue,
 * start what the caps, rates and pauses allow (start_ready), let libcurl
 * work, settle the finished transfers (on_done: follow a redirect, or
 * classify and hand to the finishers, to a retry or to the end) and expire
 * the overdue ones, then sleep in curl_multi_poll until woken or the next
 * due time (at most 1 s).
 *
 * Invariants: a job in flight holds one slot of `active` and counts in
 * nactive and its host's in_flight (start_transfer adds, detach removes);
 * no transfer starts while the finishers' backlog is at fin_backlog_limit,
 * so the bodies held stay bounded; a request's timeout runs from when it is
 * sent (t_sent), not while it waits for a connection; a job that backs off
 * holds no body; every job ends in finish() exactly once. */
#include "io/fetch_internal.h"

#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/log.h"
#include "core/secret.h"
#include "io/cache.h"

/* Under mu. */
static void pending_remove(swath_fetcher *f, struct job *j) {
  if (!j->dest) return;
  for (struct job **p = &f->pending[dest_bucket(j->dest)]; *p; p = &(*p)->pnext)
    if (*p == j) {
      *p = j->pnext;
      return;
    }
}

void swath__fetch_job_free(struct job *j) {
  if (!j) return;
  free(j->url);
  free(j->hop_url);
  free(j->dest);
  free(j->body);
  free(j->resp_headers);
  curl_slist_free_all(j->req_headers);
  curl_slist_free_all(j->hop_headers);
  free(j);
}
/* Account the end of a job, run its callback and free it. Any thread, mu not
 * held. */
static void finish(swath_fetcher *f, struct job *j, swath_fetch_outcome o, const char *reason) {
  swath_fetch_result r = {
      .outcome = o,
      .url = j->url,
      .dest = j->dest,
      .http_status = j->status,
      .attempts = j->attempts,
      .reason = (o == SWATH_FETCH_FAILED || o == SWATH_FETCH_ABORTED) ? reason : NULL,
      .body = (o == SWATH_FETCH_DONE && !j->dest) ? j->body : NULL,
      .body_len = (o == SWATH_FETCH_DONE && !j->dest) ? j->body_len : 0,
      .bytes = o == SWATH_FETCH_DONE ? j->body_len : 0,
      .headers = (j->flags & SWATH_FETCH_HEADERS) && j->resp_headers ? j->resp_headers : NULL,
      .seconds = now_s() - j->t_submit,
  };
  if (o == SWATH_FETCH_FAILED)
    swath_debug("fetch: failed after %d attempt(s): %s: %s", j->attempts, j->url, reason);
  pthread_mutex_lock(&f->mu);
  pending_remove(f, j);
  struct follower *fl = j->followers;
  j->followers = NULL;
  pthread_mutex_unlock(&f->mu);
  if (j->cb) j->cb(&r, j->user);
  while (fl) {
    struct follower *n = fl->next;
    if (fl->cb) fl->cb(&r, fl->user);
    free(fl);
    fl = n;
  }

  pthread_mutex_lock(&f->mu);
  switch (o) {
  case SWATH_FETCH_DONE:
    f->st.fetched++;
    break;
  case SWATH_FETCH_EMPTY:
    f->st.empty++;
    break;
  case SWATH_FETCH_FAILED:
    f->st.failed++;
    {
      /* It becomes the reason of every request the budget aborts. */
      char text[sizeof f->last_failure];
      snprintf(text, sizeof text, "%s: %s", j->url, reason ? reason : "");
      swath_redact(text, f->last_failure, sizeof f->last_failure);
    }
    if (f->cfg.failure_budget > 0 &&
        f->st.failed - f->budget_base >= (uint64_t)f->cfg.failure_budget &&
        !f->aborting) {
      f->aborting = 1;
      f->st.budget_exhausted = 1;
      snprintf(f->abort_reason, sizeof f->abort_reason,
               "not fetched: failure budget exhausted after %d failed requests (last: %s)",
               f->cfg.failure_budget, f->last_failure);
      curl_multi_wakeup(f->multi);
    }
    break;
  case SWATH_FETCH_ABORTED:
    f->st.aborted++;
    break;
  }
  f->outstanding--;
  pthread_cond_signal(&f->space);
  if (f->outstanding == 0) pthread_cond_broadcast(&f->idle);
  pthread_mutex_unlock(&f->mu);
  swath__fetch_job_free(j);
}

/* The origin of a URL, "scheme://host:port" lower-cased with the port
 * explicit, into key[256]. 0, or -1 if it does not parse. */
static int url_origin(const char *url, char key[256]) {
  CURLU *u = curl_url();
  if (!u) return -1;
  char *scheme = NULL, *hostname = NULL, *port = NULL;
  int rc = -1;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &hostname, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    snprintf(key, 256, "%s://%s:%s", scheme, hostname, port);
    for (char *c = key; *c; c++)
      if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
    rc = 0;
  }
  curl_free(scheme);
  curl_free(hostname);
  curl_free(port);
  curl_url_cleanup(u);
  return rc;
}

static struct host *host_for(swath_fetcher *f, const char *url) {
  char key[256];
  if (url_origin(url, key)) return NULL;
  struct host *h;
  for (h = f->hosts; h; h = h->next)
    if (strcmp(h->key, key) == 0) return h;
  h = calloc(1, sizeof *h);
  if (!h) return NULL;
  snprintf(h->key, sizeof h->key, "%s", key);
  h->tls = strncmp(key, "https:", 6) == 0;
  h->tokens = f->cfg.rate_burst;
  h->t_refill = now_s();
  h->next = f->hosts;
  f->hosts = h;
  return h;
}

static void host_push_back(struct host *h, struct job *j) {
  j->next = NULL;
  if (h->ready_tail)
    h->ready_tail->next = j;
  else
    h->ready_head = j;
  h->ready_tail = j;
}

static void host_push_front(struct host *h, struct job *j) {
  j->next = h->ready_head;
  h->ready_head = j;
  if (!h->ready_tail) h->ready_tail = j;
}

static size_t on_body(char *data, size_t size, size_t n, void *user) {
  struct job *j = user;
  size_t m = size * n;
  if (j->body_len + m > j->body_limit) {
    j->too_large = 1;
    return 0; /* libcurl ends the transfer with CURLE_WRITE_ERROR */
  }
  if (j->body_len + m + 1 > j->body_cap) {
    size_t cap = j->body_cap ? j->body_cap : 16384;
    while (cap < j->body_len + m + 1)
      cap *= 2;
    char *p = realloc(j->body, cap);
    if (!p) return 0;
    j->body = p;
    j->body_cap = cap;
  }
  memcpy(j->body + j->body_len, data, m);
  j->body_len += m;
  j->body[j->body_len] = '\0';
  return m;
}

/* SWATH_FETCH_HEADERS: keep a header line (at most 64 KiB of them). */
static void keep_header(struct job *j, const char *line, size_t k) {
  if (k == 0 || j->resp_headers_len + k + 2 > 65536) return;
  if (j->resp_headers_len + k + 2 > j->resp_headers_cap) {
    size_t cap = j->resp_headers_cap ? j->resp_headers_cap * 2 : 1024;
    while (cap < j->resp_headers_len + k + 2)
      cap *= 2;
    char *p = realloc(j->resp_headers, cap);
    if (!p) return;
    j->resp_headers = p;
    j->resp_headers_cap = cap;
  }
  memcpy(j->resp_headers + j->resp_headers_len, line, k);
  j->resp_headers_len += k;
  j->resp_headers[j->resp_headers_len++] = '\n';
  j->resp_headers[j->resp_headers_len] = '\0';
}

static size_t on_header(char *data, size_t size, size_t n, void *user) {
  struct job *j = user;
  size_t m = size * n;
  char line[512];
  size_t k = m < sizeof line - 1 ? m : sizeof line - 1;
  memcpy(line, data, k);
  line[k] = '\0';
  while (k > 0 && (line[k - 1] == '\r' || line[k - 1] == '\n'))
    line[--k] = '\0';
  if (strncmp(line, "HTTP/", 5) == 0) {
    /* A new response (after a redirect or 100-continue): forget the last. */
    j->retry_after = -1;
    j->content_type[0] = '\0';
    j->resp_headers_len = 0;
    if (j->resp_headers) j->resp_headers[0] = '\0';
    const char *sp = strchr(line, ' ');
    sp = sp ? strchr(sp + 1, ' ') : NULL;
    snprintf(j->status_text, sizeof j->status_text, "%.*s", (int)sizeof j->status_text - 1,
             sp ? sp + 1 : "");
  } else if (strncasecmp(line, "retry-after:", 12) == 0) {
    j->retry_after = swath_fetch_parse_retry_after(line + 12, time(NULL));
  } else if (strncasecmp(line, "content-type:", 13) == 0) {
    const char *v = line + 13;
    while (*v == ' ' || *v == '\t')
      v++;
    snprintf(j->content_type, sizeof j->content_type, "%.*s", (int)sizeof j->content_type - 1, v);
  }
  if ((j->flags & SWATH_FETCH_HEADERS) && strncmp(line, "HTTP/", 5) != 0) keep_header(j, line, k);
  return m;
}

static void set_in_flight(swath_fetcher *f, int delta, double t) {
  pthread_mutex_lock(&f->mu);
  if (f->in_flight == 0 && delta > 0) f->busy_since = t;
  f->in_flight += delta;
  if (f->in_flight == 0 && delta < 0) f->st.busy_seconds += t - f->busy_since;
  if (f->in_flight > f->st.peak_in_flight) f->st.peak_in_flight = f->in_flight;
  pthread_mutex_unlock(&f->mu);
}

/* libcurl is about to send a hop's request: its connection is established
 * (or reused), so the timeout starts now. A request waiting for a
 * connection (swath's queue, libcurl's pending list, a connection to see
 * whether it multiplexes) is not timing out: the timeout measures the
 * server. Runs on the loop thread, inside curl_multi_perform. */
static int on_prereq(void *user, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                     int conn_local_port) {
  (void)conn_primary_ip, (void)conn_local_ip, (void)conn_primary_port, (void)conn_local_port;
  struct job *j = user;
  if (j->t_sent == 0) j->t_sent = now_s();
  return CURL_PREREQFUNC_OK;
}

/* A request with its own headers or a body: the configured headers (where
 * they may go), then its own, then "Expect:" for a POST, so that libcurl
 * sends the body at once instead of waiting for a 100 Continue that a
 * simple server never sends. 0, or -1 out of memory. */
static int set_own_headers(swath_fetcher *f, struct job *j, CURL *e) {
  curl_slist_free_all(j->hop_headers);
  j->hop_headers = NULL;
  struct curl_slist *l = NULL;
  const struct curl_slist *parts[2] = {j->send_headers ? f->headers : NULL, j->req_headers};
  for (int p = 0; p < 2; p++)
    for (const struct curl_slist *h = parts[p]; h; h = h->next) {
      struct curl_slist *n = curl_slist_append(l, h->data);
      if (!n) goto oom;
      l = n;
    }
  if (j->post) {
    struct curl_slist *n = curl_slist_append(l, "Expect:");
    if (!n) goto oom;
    l = n;
  }
  j->hop_headers = l;
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, l);
  return 0;
oom:
  curl_slist_free_all(l);
  return -1;
}

/* Start one hop of a job: a new attempt (hop 0, counted), or the next
 * request of a redirect within the current attempt. */
static void start_transfer(swath_fetcher *f, struct job *j, double t, int hop) {
  CURL *e = f->npool ? f->pool[--f->npool] : curl_easy_init();
  if (!e) {
    finish(f, j, SWATH_FETCH_FAILED, "out of memory (curl_easy_init)");
    return;
  }
  curl_easy_reset(e);
  j->easy = e;
  j->body_len = 0;
  j->body_limit = f->cfg.max_body_bytes;
  j->too_large = 0;
  j->status = 0;
  j->retry_after = -1;
  j->status_text[0] = j->content_type[0] = j->errbuf[0] = '\0';
  j->resp_headers_len = 0;
  if (j->resp_headers) j->resp_headers[0] = '\0';
  j->t_sent = 0;
  if (!hop) {
    j->attempts++;
    j->hops = 0;
    free(j->hop_url);
    j->hop_url = NULL;
    j->send_headers = 1;
  }

  curl_easy_setopt(e, CURLOPT_URL, j->hop_url ? j->hop_url : j->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, j);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
  curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
  curl_easy_setopt(e, CURLOPT_PREREQDATA, j);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
  curl_easy_setopt(e, CURLOPT_USERAGENT, f->user_agent);
  if (f->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, f->ca_file);
  /* The configured headers (API keys, Authorization) go to the origin of the
   * request's URL only, never to another one a redirect points at. */
  if (j->req_headers || j->post) {
    if (set_own_headers(f, j, e)) {
      f->pool[f->npool++] = e;
      j->easy = NULL;
      finish(f, j, SWATH_FETCH_FAILED, "out of memory (request headers)");
      return;
    }
  } else if (f->headers && j->send_headers) {
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->headers);
  }
  if (j->post) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->post_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->post);
  }
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding libcurl decodes */
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);  /* followed in on_done */
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, f->cfg.connect_timeout_ms);
  /* No CURLOPT_TIMEOUT_MS: libcurl counts it from curl_multi_add_handle,
   * time spent waiting for a connection included. The loop enforces
   * timeout_ms from t_sent instead (expire_overdue). */
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (f->cfg.stall_timeout_ms + 999) / 1000);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                   f->cfg.http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
  /* Wait for a connection being set up to say whether it multiplexes rather
   * than open another one (fewer connections to someone else's server), but
   * only where it can: HTTP/2 is offered over TLS only, and a host that
   * answered over HTTP/1 would make every request but one wait for the
   * previous answer. */
  if (f->cfg.http2 && j->host->tls && j->host->multiplex >= 0 && !hop)
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);

  if (curl_multi_add_handle(f->multi, e) != CURLM_OK) {
    f->pool[f->npool++] = e;
    j->easy = NULL;
    finish(f, j, SWATH_FETCH_FAILED, "curl_multi_add_handle failed");
    return;
  }
  for (int i = 0; i < f->cfg.max_in_flight; i++)
    if (!f->active[i]) {
      f->active[i] = j;
      j->active_slot = i;
      break;
    }
  j->host->in_flight++;
  f->nactive++;
  pthread_mutex_lock(&f->mu);
  if (!hop) {
    f->st.requests++;
    if (j->attempts > 1) f->st.retries++;
  }
  pthread_mutex_unlock(&f->mu);
  set_in_flight(f, +1, t);
}

/* Detach a finished or abandoned transfer from the multi handle. */
static void detach(swath_fetcher *f, struct job *j, double t) {
  curl_multi_remove_handle(f->multi, j->easy);
  f->pool[f->npool++] = j->easy;
  j->easy = NULL;
  f->active[j->active_slot] = NULL;
  f->nactive--;
  j->host->in_flight--;
  set_in_flight(f, -1, t);
}

static void delay_insert(swath_fetcher *f, struct job *j) {
  /* A waiting job holds no body: memory stays bounded by the transfers in
   * flight and the finisher backlog, however many jobs back off. */
  free(j->body);
  j->body = NULL;
  j->body_len = j->body_cap = 0;
  struct job **pp = &f->delayed;
  while (*pp && (*pp)->t_due <= j->t_due)
    pp = &(*pp)->next;
  j->next = *pp;
  *pp = j;
}

/* A transient failure: retry after backoff, or give up at the attempt cap.
 * Loop thread only. */
static void retry_or_fail(swath_fetcher *f, struct job *j, double t) {
  pthread_mutex_lock(&f->mu);
  f->st.transient[j->cause]++;
  pthread_mutex_unlock(&f->mu);
  if (j->attempts >= f->cfg.max_attempts) {
    char reason[600];
    snprintf(reason, sizeof reason, "%s (gave up after %d attempts)", j->reason, j->attempts);
    finish(f, j, SWATH_FETCH_FAILED, reason);
    return;
  }
  long pause_ms;
  long delay = swath__fetch_retry_delay_ms(&f->cfg, j->attempts, j->url, j->retry_after, &pause_ms);
  if (pause_ms >= 0 && t + (double)pause_ms / 1000 > j->host->paused_until)
    j->host->paused_until = t + (double)pause_ms / 1000;
  j->t_due = t + (double)delay / 1000;
  swath_debug("fetch: attempt %d of %s failed (%s); retry in %.3f s", j->attempts, j->url,
              j->reason, (double)delay / 1000);
  delay_insert(f, j);
}

static void to_finishers(swath_fetcher *f, struct job *j) {
  j->next = NULL;
  pthread_mutex_lock(&f->mu);
  if (f->fin_tail)
    f->fin_tail->next = j;
  else
    f->fin_head = j;
  f->fin_tail = j;
  f->fin_len++;
  pthread_cond_signal(&f->work);
  pthread_mutex_unlock(&f->mu);
}

#define MAX_REDIRECTS 5

/* A 3xx with a Location: the next hop of the same attempt, at once. The
 * configured headers go along only while the hop stays on the origin of
 * the request's URL. Returns 1 if the job was taken care of (next hop
 * started, or failed), 0 if the answer is not a redirect. Loop thread. */
static int follow_redirect(swath_fetcher *f, struct job *j, double t) {
  if (j->status != 301 && j->status != 302 && j->status != 303 && j->status != 307 &&
      j->status != 308)
    return 0;
  if (j->post && j->status != 307 && j->status != 308) return 0; /* would become a GET */
  char *loc = NULL;
  if (curl_easy_getinfo(j->easy, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc || !*loc)
    return 0; /* no Location: the 3xx is the answer */
  char origin[256], *next = NULL;
  const char *why = NULL;
  if (j->hops >= MAX_REDIRECTS)
    why = "too many redirects (more than 5)";
  else if (strncasecmp(loc, "http://", 7) != 0 && strncasecmp(loc, "https://", 8) != 0)
    why = "redirect to a URL that is not http(s)";
  else if (url_origin(loc, origin))
    why = "redirect to a URL that does not parse";
  else if (!(next = strdup(loc)))
    why = "out of memory";
  detach(f, j, t);
  if (why) {
    snprintf(j->reason, sizeof j->reason, "HTTP %ld: %s", j->status, why);
    finish(f, j, SWATH_FETCH_FAILED, j->reason);
    return 1;
  }
  free(j->hop_url);
  j->hop_url = next;
  j->hops++;
  j->send_headers = strcmp(origin, j->host->key) == 0;
  start_transfer(f, j, t, 1);
  return 1;
}

static void on_done(swath_fetcher *f, struct job *j, CURLcode rc, double t) {
  long status = 0, version = 0;
  curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
  j->status = status;
  /* What the host speaks decides whether later requests wait to multiplex
   * (only answers from the host itself, not from a redirect's target). */
  if (status > 0 && !j->hop_url &&
      curl_easy_getinfo(j->easy, CURLINFO_HTTP_VERSION, &version) == CURLE_OK && version)
    j->host->multiplex = version >= CURL_HTTP_VERSION_2_0 ? 1 : -1;
  if (rc == CURLE_OK && follow_redirect(f, j, t)) return;
  detach(f, j, t);
  pthread_mutex_lock(&f->mu);
  f->st.bytes += j->body_len;
  pthread_mutex_unlock(&f->mu);

  if (j->too_large) {
    snprintf(j->reason, sizeof j->reason, "response larger than %zu bytes", f->cfg.max_body_bytes);
    finish(f, j, SWATH_FETCH_FAILED, j->reason);
    return;
  }
  swath_fetch_class cls = swath_fetch_classify((int)rc, status, f->cfg.empty_status, &j->cause);
  if (rc != CURLE_OK) {
    snprintf(j->reason, sizeof j->reason, "%s: %s",
             cls == SWATH_FETCH_CLASS_TRANSIENT ? swath_fetch_cause_name(j->cause)
                                                : "request failed",
             j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
  } else {
    char said[320] = "";
    if (status >= 400 && j->body_len > 0 &&
        swath_fetch_error_text(j->body, j->body_len, j->content_type, said + 2, sizeof said - 2))
      memcpy(said, ": ", 2);
    snprintf(j->reason, sizeof j->reason, "HTTP %ld%s%s%s%s", status, j->status_text[0] ? " (" : "",
             j->status_text, j->status_text[0] ? ")" : "", said);
  }
  switch (cls) {
  case SWATH_FETCH_CLASS_OK:
    j->empty_answer = 0;
    to_finishers(f, j);
    break;
  case SWATH_FETCH_CLASS_EMPTY:
    j->empty_answer = 1;
    to_finishers(f, j);
    break;
  case SWATH_FETCH_CLASS_TRANSIENT:
    retry_or_fail(f, j, t);
    break;
  case SWATH_FETCH_CLASS_PERMANENT:
    finish(f, j, SWATH_FETCH_FAILED, j->reason);
    break;
  }
}

/* End the transfers whose answer is not complete timeout_ms after their
 * request was sent (a transient failure, like libcurl's own timeouts).
 * Counts them in *expired; returns the earliest time at which one still in
 * flight will be due. */
static double expire_overdue(swath_fetcher *f, double t, int *expired) {
  double next = INFINITY, limit = (double)f->cfg.timeout_ms / 1000;
  for (int i = 0; i < f->cfg.max_in_flight; i++) {
    struct job *j = f->active[i];
    if (!j || j->t_sent == 0) continue;
    if (t < j->t_sent + limit) {
      if (j->t_sent + limit < next) next = j->t_sent + limit;
      continue;
    }
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &j->status);
    (*expired)++;
    j->cause = SWATH_FETCH_C_TIMEOUT;
    snprintf(j->reason, sizeof j->reason,
             "timeout: no complete answer %ld milliseconds after the request was sent "
             "(%zu bytes received)",
             (long)((t - j->t_sent) * 1000), j->body_len);
    detach(f, j, t);
    pthread_mutex_lock(&f->mu);
    f->st.bytes += j->body_len;
    pthread_mutex_unlock(&f->mu);
    retry_or_fail(f, j, t);
  }
  return next;
}

static void abort_list(swath_fetcher *f, struct job *j, const char *reason) {
  while (j) {
    struct job *next = j->next;
    finish(f, j, SWATH_FETCH_ABORTED, reason);
    j = next;
  }
}

static void abort_all(swath_fetcher *f, const char *reason, double t) {
  for (int i = 0; i < f->cfg.max_in_flight; i++) {
    struct job *j = f->active[i];
    if (!j) continue;
    detach(f, j, t);
    finish(f, j, SWATH_FETCH_ABORTED, reason);
  }
  for (struct host *h = f->hosts; h; h = h->next) {
    abort_list(f, h->ready_head, reason);
    h->ready_head = h->ready_tail = NULL;
  }
  abort_list(f, f->delayed, reason);
  f->delayed = NULL;
}

static int fin_backlog_limit(const swath_fetcher *f) {
  return 2 * f->cfg.max_in_flight + f->cfg.finishers;
}

/* Start what the caps, rates and pauses allow, one job per host per round
 * so that hosts share the global cap fairly. Returns the earliest time at
 * which something now held back could start (or +inf). */
static double start_ready(swath_fetcher *f, double t) {
  double next = INFINITY;
  pthread_mutex_lock(&f->mu);
  int fin_backlog = f->fin_len;
  pthread_mutex_unlock(&f->mu);
  /* Bodies waiting for a finisher hold memory: do not pile up more. */
  if (fin_backlog >= fin_backlog_limit(f)) return next;
  for (int progress = 1; progress && f->nactive < f->cfg.max_in_flight;) {
    progress = 0;
    for (struct host *h = f->hosts; h && f->nactive < f->cfg.max_in_flight; h = h->next) {
      if (!h->ready_head || h->in_flight >= f->cfg.max_per_host) continue;
      if (t < h->paused_until) {
        if (h->paused_until < next) next = h->paused_until;
        continue;
      }
      if (f->cfg.rate_per_host > 0) {
        h->tokens += (t - h->t_refill) * f->cfg.rate_per_host;
        if (h->tokens > f->cfg.rate_burst) h->tokens = f->cfg.rate_burst;
        h->t_refill = t;
        if (h->tokens < 1) {
          double when = t + (1 - h->tokens) / f->cfg.rate_per_host;
          if (when < next) next = when;
          continue;
        }
        h->tokens -= 1;
      }
      struct job *j = h->ready_head;
      h->ready_head = j->next;
      if (!h->ready_head) h->ready_tail = NULL;
      j->next = NULL;
      start_transfer(f, j, t, 0);
      progress = 1;
    }
  }
  return next;
}

static int is_aborting(swath_fetcher *f) {
  pthread_mutex_lock(&f->mu);
  int a = f->aborting;
  pthread_mutex_unlock(&f->mu);
  return a;
}

void *swath__fetch_loop_main(void *arg) {
  swath_fetcher *f = arg;
  for (;;) {
    pthread_mutex_lock(&f->mu);
    struct job *inbox = f->inbox_head, *back = f->back_head;
    f->inbox_head = f->inbox_tail = NULL;
    f->back_head = f->back_tail = NULL;
    int stop = f->stop, aborting = f->aborting;
    char reason[sizeof f->abort_reason];
    memcpy(reason, f->abort_reason, sizeof reason);
    pthread_mutex_unlock(&f->mu);
    if (stop) break;

    double t = now_s();
    if (aborting) {
      abort_list(f, inbox, reason);
      abort_list(f, back, reason);
      abort_all(f, reason, t);
    } else {
      for (struct job *j = inbox, *next; j; j = next) {
        next = j->next;
        j->host = host_for(f, j->url);
        if (j->host) {
          host_push_back(j->host, j);
          continue;
        }
        snprintf(j->reason, sizeof j->reason, "invalid URL (want http(s)://host/...)");
        finish(f, j, SWATH_FETCH_FAILED, j->reason);
        if (is_aborting(f)) { /* that failure may have spent the budget */
          abort_list(f, next, f->abort_reason);
          break;
        }
      }
      for (struct job *j = back, *next; j; j = next) {
        next = j->next;
        retry_or_fail(f, j, t);
      }
      while (f->delayed && f->delayed->t_due <= t) {
        struct job *j = f->delayed;
        f->delayed = j->next;
        host_push_front(j->host, j); /* it has waited its turn already */
      }
    }

    double next = aborting ? INFINITY : start_ready(f, t);
    int running = 0;
    curl_multi_perform(f->multi, &running);
    int done = 0;
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(f->multi, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      char *priv = NULL;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
      on_done(f, (struct job *)priv, msg->data.result, now_s());
      done++;
    }
    if (!aborting) {
      double due = expire_overdue(f, now_s(), &done);
      if (due < next) next = due;
    }
    if (done) continue; /* slots are free: fill them before sleeping */

    if (f->delayed && f->delayed->t_due < next) next = f->delayed->t_due;
    int timeout_ms = 1000;
    if (next < INFINITY) {
      double ms = (next - now_s()) * 1000 + 1;
      timeout_ms = ms < 0 ? 0 : (ms > 1000 ? 1000 : (int)ms);
    }
    curl_multi_poll(f->multi, NULL, 0, timeout_ms, NULL);
  }
  return NULL;
}

void *swath__fetch_finisher_main(void *arg) {
  swath_fetcher *f = arg;
  for (;;) {
    pthread_mutex_lock(&f->mu);
    while (!f->fin_head && !f->stop)
      pthread_cond_wait(&f->work, &f->mu);
    struct job *j = f->fin_head;
    if (!j) {
      pthread_mutex_unlock(&f->mu);
      break;
    }
    f->fin_head = j->next;
    if (!f->fin_head) f->fin_tail = NULL;
    /* The loop stops starting transfers at the backlog limit; tell it when
     * there is room again. */
    int wake = f->fin_len-- >= fin_backlog_limit(f);
    pthread_mutex_unlock(&f->mu);
    if (wake) curl_multi_wakeup(f->multi);
    j->next = NULL;

    if (j->empty_answer) {
      if (j->dest && swath_cache_mark_empty(j->dest) != 0) {
        finish(f, j, SWATH_FETCH_FAILED, swath_error_message());
        continue;
      }
      finish(f, j, SWATH_FETCH_EMPTY, NULL);
      continue;
    }
    int rc = swath_fetch_validate(j->body, j->body_len, j->content_type, j->kinds, j->expect_w,
                                  j->expect_h);
    if (rc == SWATH_ETRANSIENT) {
      snprintf(j->reason, sizeof j->reason, "%s", swath_error_message());
      j->cause = SWATH_FETCH_C_UNDECODABLE;
      pthread_mutex_lock(&f->mu);
      if (f->back_tail)
        f->back_tail->next = j;
      else
        f->back_head = j;
      f->back_tail = j;
      pthread_mutex_unlock(&f->mu);
      curl_multi_wakeup(f->multi);
      continue;
    }
    if (rc == 0 && j->dest) rc = swath_cache_write(j->dest, j->body, j->body_len, f->cfg.durable);
    if (rc != 0) {
      snprintf(j->reason, sizeof j->reason, "%s", swath_error_message());
      finish(f, j, SWATH_FETCH_FAILED, j->reason);
      continue;
    }
    finish(f, j, SWATH_FETCH_DONE, NULL);
  }
  return NULL;
}
