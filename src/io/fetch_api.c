/* fetch_api.c: the fetcher's entry points, run on the callers' threads (the
 * state: fetch_internal.h; the loop and finisher threads: fetch.c).
 *
 * swath_fetch_submit answers from the cache on the submitting thread when
 * it can (checking the file first under SWATH_FETCH_VERIFY). Otherwise,
 * under mu, it joins a job outstanding for the same dest (the `pending`
 * table) or looks at the cache once more, and only then queues a job in
 * the inbox: one dest is never downloaded twice at once, and a job that
 * wrote the cache and left `pending` in between is not missed. It blocks
 * while queue_limit jobs are outstanding, except on a fetcher thread (a
 * callback), where waiting for space would deadlock. swath_fetch_free
 * cancels what is outstanding, waits until every callback has run, then
 * stops and joins the threads. */
#include "io/fetch_internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <gdal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/log.h"
#include "io/cache.h"

void swath_fetch_config_default(swath_fetch_config *c) {
  memset(c, 0, sizeof *c);
  c->max_in_flight = 8;
  c->max_per_host = 4;
  c->rate_per_host = 0;
  c->rate_burst = 1;
  c->connect_timeout_ms = 10000;
  c->timeout_ms = 60000;
  c->stall_timeout_ms = 30000;
  c->max_attempts = 5;
  c->failure_budget = 100;
  c->backoff_base_ms = 500;
  c->backoff_max_ms = 30000;
  c->pause_host_on_retry_after = 1;
  c->seed = 0x5eed;
  c->empty_status[0] = 204;
  c->queue_limit = 1024;
  c->finishers = 2;
  c->max_body_bytes = (size_t)64 << 20;
  c->durable = 0;
  c->http2 = 1;
}

const char *swath_fetch_outcome_name(swath_fetch_outcome o) {
  static const char *const names[] = {"done", "empty", "failed", "aborted"};
  return (unsigned)o < 4 ? names[o] : "?";
}

static pthread_once_t g_init_once = PTHREAD_ONCE_INIT;
static int g_init_rc;

static void global_init(void) {
  g_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
  if (GDALGetDriverCount() == 0) GDALAllRegister();
}

static int in_fetcher_thread(swath_fetcher *f) {
  pthread_t self = pthread_self();
  if (pthread_equal(self, f->loop_thread)) return 1;
  for (int i = 0; i < f->nfin; i++)
    if (pthread_equal(self, f->fin_threads[i])) return 1;
  return 0;
}

static int check_config(const swath_fetch_config *c) {
#define BAD(cond, what)                                                                            \
  if (cond) return swath_error_set(SWATH_EINVAL, "fetch: %s", what)
  BAD(c->max_in_flight < 1 || c->max_in_flight > 4096, "max_in_flight must be 1..4096");
  BAD(c->max_per_host < 1, "max_per_host must be at least 1");
  BAD(!(c->rate_per_host >= 0) || c->rate_per_host > 1e6, "rate_per_host must be 0..1e6");
  BAD(c->connect_timeout_ms < 1 || c->timeout_ms < 1 || c->stall_timeout_ms < 1,
      "timeouts must be positive");
  BAD(c->max_attempts < 1 || c->max_attempts > 100, "max_attempts must be 1..100");
  BAD(c->failure_budget < 0, "failure_budget must be >= 0 (0: no budget)");
  BAD(c->backoff_base_ms < 0 || c->backoff_max_ms < c->backoff_base_ms,
      "backoff needs 0 <= backoff_base_ms <= backoff_max_ms");
  BAD(c->queue_limit < 1, "queue_limit must be at least 1");
  BAD(c->finishers < 1 || c->finishers > 64, "finishers must be 1..64");
  BAD(c->max_body_bytes < 1, "max_body_bytes must be positive");
#undef BAD
  return 0;
}

/* What swath_fetch_new allocates besides the threads, the easy handles,
 * the multi handle and the hosts, and the fetcher itself. */
static void release(swath_fetcher *f) {
  curl_slist_free_all(f->headers);
  free(f->user_agent);
  free(f->ca_file);
  free(f->active);
  free(f->pool);
  free(f->fin_threads);
  pthread_mutex_destroy(&f->mu);
  pthread_cond_destroy(&f->space);
  pthread_cond_destroy(&f->idle);
  pthread_cond_destroy(&f->work);
  free(f);
}

int swath_fetch_new(const swath_fetch_config *cfg, swath_fetcher **out) {
  *out = NULL;
  swath_fetch_config def;
  if (!cfg) {
    swath_fetch_config_default(&def);
    cfg = &def;
  }
  int rc = check_config(cfg);
  if (rc) return rc;
  pthread_once(&g_init_once, global_init);
  if (g_init_rc) return swath_error_set(SWATH_EIO, "fetch: curl_global_init failed");

  swath_fetcher *f = calloc(1, sizeof *f);
  if (!f) return swath_error_set(SWATH_ENOMEM, "fetch: out of memory");
  f->cfg = *cfg;
  if (f->cfg.rate_burst < 1) f->cfg.rate_burst = 1;
  f->cfg.user_agent = NULL;
  f->cfg.ca_file = NULL;
  f->cfg.headers = NULL;
  f->t0 = now_s();
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->space, NULL);
  pthread_cond_init(&f->idle, NULL);
  pthread_cond_init(&f->work, NULL);

  f->user_agent = strdup(cfg->user_agent ? cfg->user_agent : "swath/" SWATH_VERSION);
  if (cfg->ca_file && !(f->ca_file = strdup(cfg->ca_file))) {
    rc = swath_error_set(SWATH_ENOMEM, "fetch: out of memory");
    goto fail;
  }
  f->active = calloc((size_t)cfg->max_in_flight, sizeof *f->active);
  f->pool = calloc((size_t)cfg->max_in_flight, sizeof *f->pool);
  f->fin_threads = calloc((size_t)cfg->finishers, sizeof *f->fin_threads);
  f->multi = curl_multi_init();
  if (!f->user_agent || !f->active || !f->pool || !f->fin_threads || !f->multi) {
    rc = swath_error_set(SWATH_ENOMEM, "fetch: out of memory");
    goto fail;
  }
  for (const char *const *h = cfg->headers; h && *h; h++) {
    struct curl_slist *l = curl_slist_append(f->headers, *h);
    if (!l) {
      rc = swath_error_set(SWATH_ENOMEM, "fetch: out of memory");
      goto fail;
    }
    f->headers = l;
  }
  curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cfg->max_in_flight);
  curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cfg->max_per_host);
  curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)cfg->max_in_flight);
  curl_multi_setopt(f->multi, CURLMOPT_PIPELINING,
                    cfg->http2 ? (long)CURLPIPE_MULTIPLEX : (long)CURLPIPE_NOTHING);

  /* Thread ids must be known before any callback can ask "am I a fetcher
   * thread?": hold mu until they are all stored. */
  pthread_mutex_lock(&f->mu);
  if (pthread_create(&f->loop_thread, NULL, swath__fetch_loop_main, f) != 0) {
    pthread_mutex_unlock(&f->mu);
    rc = swath_error_set(SWATH_EIO, "fetch: cannot start a thread: %s", strerror(errno));
    goto fail;
  }
  for (; f->nfin < cfg->finishers; f->nfin++)
    if (pthread_create(&f->fin_threads[f->nfin], NULL, swath__fetch_finisher_main, f) != 0) break;
  pthread_mutex_unlock(&f->mu);
  if (f->nfin < cfg->finishers) {
    rc = swath_error_set(SWATH_EIO, "fetch: cannot start a thread");
    swath_fetch_free(f);
    return rc;
  }
  *out = f;
  return 0;

fail:
  if (f->multi) curl_multi_cleanup(f->multi);
  release(f);
  return rc;
}

/* Answer a request from the cache (state s), on the submitting thread. */
static void answer_cached(swath_fetcher *f, const swath_fetch_req *req, swath_cache_state s) {
  swath_fetch_result r = {.outcome = s == SWATH_CACHE_HIT ? SWATH_FETCH_DONE : SWATH_FETCH_EMPTY,
                          .cached = 1,
                          .url = req->url,
                          .dest = req->dest};
  if (req->cb) req->cb(&r, req->user);
  pthread_mutex_lock(&f->mu);
  f->st.submitted++;
  f->st.cached++;
  pthread_mutex_unlock(&f->mu);
}

int swath_fetch_submit(swath_fetcher *f, const swath_fetch_req *req) {
  if (!req || !req->url || !*req->url)
    return swath_error_set(SWATH_EINVAL, "fetch: a request needs a URL");
  double t = now_s();
  int damaged = 0; /* the cached file failed SWATH_FETCH_VERIFY's checks */
  if (req->dest && !(req->flags & SWATH_FETCH_REFETCH)) {
    swath_cache_state s = swath_cache_lookup(req->dest);
    if (s == SWATH_CACHE_HIT && (req->flags & SWATH_FETCH_VERIFY) &&
        !swath__fetch_cached_passes(req, f->cfg.max_body_bytes)) {
      s = SWATH_CACHE_MISS; /* download it again, replacing it */
      damaged = 1;
      pthread_mutex_lock(&f->mu);
      f->st.cache_invalid++;
      pthread_mutex_unlock(&f->mu);
    }
    if (s != SWATH_CACHE_MISS) {
      answer_cached(f, req, s);
      return 0;
    }
  }
  struct job *j = calloc(1, sizeof *j);
  if (!j || !(j->url = strdup(req->url)) || (req->dest && !(j->dest = strdup(req->dest)))) {
    swath__fetch_job_free(j);
    return swath_error_set(SWATH_ENOMEM, "fetch: out of memory");
  }
  for (const char *const *h = req->req_headers; h && *h; h++) {
    struct curl_slist *l = curl_slist_append(j->req_headers, *h);
    if (!l) {
      swath__fetch_job_free(j);
      return swath_error_set(SWATH_ENOMEM, "fetch: out of memory");
    }
    j->req_headers = l;
  }
  j->post = req->post;
  j->post_len = req->post_len;
  j->expect_w = req->expect_width;
  j->expect_h = req->expect_height;
  j->kinds = req->kinds;
  j->flags = req->flags;
  j->cb = req->cb;
  j->user = req->user;
  j->t_submit = t;
  j->retry_after = -1;

  int inside = in_fetcher_thread(f);
  pthread_mutex_lock(&f->mu);
  if (j->dest && !(j->flags & SWATH_FETCH_REFETCH)) {
    /* Already being fetched for someone else: wait for that answer. */
    size_t b = dest_bucket(j->dest);
    for (struct job *p = f->pending[b]; p; p = p->pnext)
      if (strcmp(p->dest, j->dest) == 0) {
        struct follower *fl = malloc(sizeof *fl);
        if (fl) {
          *fl = (struct follower){p->followers, j->cb, j->user};
          p->followers = fl;
          f->st.submitted++;
          f->st.coalesced++;
        }
        pthread_mutex_unlock(&f->mu);
        swath__fetch_job_free(j);
        return fl ? 0 : swath_error_set(SWATH_ENOMEM, "fetch: out of memory");
      }
    /* A request for it may have finished since the lookup above: it wrote
     * the cache before it left `pending`, so look again (under mu, so that
     * it cannot slip between) rather than download the tile twice. A damaged
     * file found above is still there: it is what is to be replaced. */
    swath_cache_state s = damaged ? SWATH_CACHE_MISS : swath_cache_lookup(j->dest);
    if (s != SWATH_CACHE_MISS) {
      pthread_mutex_unlock(&f->mu);
      swath__fetch_job_free(j);
      answer_cached(f, req, s);
      return 0;
    }
    j->pnext = f->pending[b];
    f->pending[b] = j;
  }
  while (!inside && f->outstanding >= f->cfg.queue_limit && !f->stop)
    pthread_cond_wait(&f->space, &f->mu);
  f->outstanding++;
  f->st.submitted++;
  int wake = f->inbox_head == NULL;
  if (f->inbox_tail)
    f->inbox_tail->next = j;
  else
    f->inbox_head = j;
  f->inbox_tail = j;
  pthread_mutex_unlock(&f->mu);
  /* One wake-up per batch: the loop takes the whole inbox at once. */
  if (wake) curl_multi_wakeup(f->multi);
  return 0;
}

int swath_fetch_wait_idle(swath_fetcher *f) {
  pthread_mutex_lock(&f->mu);
  while (f->outstanding > 0)
    pthread_cond_wait(&f->idle, &f->mu);
  int aborted = f->aborting;
  char reason[sizeof f->abort_reason];
  memcpy(reason, f->abort_reason, sizeof reason);
  pthread_mutex_unlock(&f->mu);
  if (aborted) return swath_error_set(SWATH_EIO, "fetch: %s", reason);
  return 0;
}

void swath_fetch_cancel(swath_fetcher *f, const char *reason) {
  pthread_mutex_lock(&f->mu);
  if (!f->aborting) {
    f->aborting = 1;
    snprintf(f->abort_reason, sizeof f->abort_reason, "not fetched: %s",
             reason && *reason ? reason : "cancelled");
  }
  pthread_mutex_unlock(&f->mu);
  curl_multi_wakeup(f->multi);
}

void swath_fetch_resume(swath_fetcher *f) {
  pthread_mutex_lock(&f->mu);
  while (f->outstanding > 0)
    pthread_cond_wait(&f->idle, &f->mu);
  f->aborting = 0;
  f->abort_reason[0] = 0;
  f->st.budget_exhausted = 0;
  f->budget_base = f->st.failed;
  pthread_mutex_unlock(&f->mu);
}

void swath_fetch_stats_get(swath_fetcher *f, swath_fetch_stats *out) {
  double t = now_s();
  pthread_mutex_lock(&f->mu);
  *out = f->st;
  if (f->in_flight > 0) out->busy_seconds += t - f->busy_since;
  pthread_mutex_unlock(&f->mu);
  out->wall_seconds = t - f->t0;
}

void swath_fetch_free(swath_fetcher *f) {
  if (!f) return;
  pthread_mutex_lock(&f->mu);
  long outstanding = f->outstanding;
  pthread_mutex_unlock(&f->mu);
  if (outstanding > 0) swath_fetch_cancel(f, "fetcher shut down");
  pthread_mutex_lock(&f->mu);
  while (f->outstanding > 0)
    pthread_cond_wait(&f->idle, &f->mu);
  f->stop = 1;
  pthread_cond_broadcast(&f->work);
  pthread_cond_broadcast(&f->space);
  pthread_mutex_unlock(&f->mu);
  curl_multi_wakeup(f->multi);
  pthread_join(f->loop_thread, NULL);
  for (int i = 0; i < f->nfin; i++)
    pthread_join(f->fin_threads[i], NULL);

  for (int i = 0; i < f->npool; i++)
    curl_easy_cleanup(f->pool[i]);
  curl_multi_cleanup(f->multi);
  while (f->hosts) {
    struct host *h = f->hosts;
    f->hosts = h->next;
    free(h);
  }
  release(f);
}

/* ---- synchronous convenience ---- */

struct sync_get {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  swath_fetch_outcome outcome;
  long status;
  char *body;
  size_t len;
  char *headers;
  char reason[600];
};

static char *copy_bytes(const void *p, size_t n) {
  char *c = malloc(n + 1);
  if (c) {
    if (n) memcpy(c, p, n);
    c[n] = '\0';
  }
  return c;
}

static void sync_cb(const swath_fetch_result *r, void *user) {
  struct sync_get *s = user;
  pthread_mutex_lock(&s->mu);
  s->outcome = r->outcome;
  s->status = r->http_status;
  if (r->outcome == SWATH_FETCH_DONE && r->body) {
    s->body = copy_bytes(r->body, r->body_len);
    s->headers = r->headers ? copy_bytes(r->headers, strlen(r->headers)) : NULL;
    if (s->body && (s->headers || !r->headers)) {
      s->len = r->body_len;
    } else {
      free(s->body);
      free(s->headers);
      s->body = s->headers = NULL;
      s->outcome = SWATH_FETCH_FAILED;
      snprintf(s->reason, sizeof s->reason, "out of memory");
    }
  }
  if (r->reason) snprintf(s->reason, sizeof s->reason, "%s", r->reason);
  s->done = 1;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Submit `req` (its callback and user are set here) and wait for it. */
static int sync_run(swath_fetcher *f, swath_fetch_req *req, const char *method,
                    struct sync_get *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  req->cb = sync_cb;
  req->user = s;
  int rc = swath_fetch_submit(f, req);
  if (rc == 0) {
    pthread_mutex_lock(&s->mu);
    while (!s->done)
      pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (s->outcome == SWATH_FETCH_EMPTY)
      rc = swath_error_set(SWATH_EEMPTY, "%s %s: no data there", method, req->url);
    else if (s->outcome != SWATH_FETCH_DONE)
      rc = swath_error_set(SWATH_EIO, "%s %s: %s", method, req->url, s->reason);
  }
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  return rc;
}

int swath_fetch_get(swath_fetcher *f, const char *url, unsigned kinds, char **body, size_t *len) {
  *body = NULL;
  *len = 0;
  struct sync_get s;
  swath_fetch_req req = {.url = url, .kinds = kinds};
  int rc = sync_run(f, &req, "GET", &s);
  free(s.headers);
  if (rc == 0) {
    *body = s.body;
    *len = s.len;
  }
  return rc;
}

int swath_fetch_request(swath_fetcher *f, const char *method, const char *url,
                        const char *const *headers, const void *body, size_t len,
                        swath_fetch_response *resp) {
  memset(resp, 0, sizeof *resp);
  int post = method && strcmp(method, "POST") == 0;
  if (!post && !(method && strcmp(method, "GET") == 0))
    return swath_error_set(SWATH_EINVAL, "fetch: method %s (GET or POST)", method ? method : "");
  if (!post && body) return swath_error_set(SWATH_EINVAL, "fetch: a GET request has no body");
  static const char empty[1] = "";
  swath_fetch_req req = {.url = url,
                         .kinds = SWATH_FETCH_ANY,
                         .flags = SWATH_FETCH_HEADERS,
                         .req_headers = headers,
                         .post = post ? (body ? body : empty) : NULL,
                         .post_len = post ? len : 0};
  struct sync_get s;
  int rc = sync_run(f, &req, method, &s);
  resp->status = s.status;
  if (rc == 0) {
    resp->body = s.body;
    resp->len = s.len;
    resp->headers = s.headers;
  }
  return rc;
}

void swath_fetch_response_clear(swath_fetch_response *resp) {
  if (!resp) return;
  free(resp->body);
  free(resp->headers);
  memset(resp, 0, sizeof *resp);
}

const char *swath_fetch_header(const char *headers, const char *name, char *buf, size_t cap) {
  size_t n = strlen(name);
  for (const char *l = headers; l && *l;) {
    const char *end = strchr(l, '\n');
    if (!end) end = l + strlen(l);
    if ((size_t)(end - l) > n && strncasecmp(l, name, n) == 0 && l[n] == ':') {
      const char *v = l + n + 1, *e = end;
      while (v < e && (*v == ' ' || *v == '\t'))
        v++;
      while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
      snprintf(buf, cap, "%.*s", (int)(e - v), v);
      return buf;
    }
    l = *end ? end + 1 : end;
  }
  return NULL;
}
