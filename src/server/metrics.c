/* metrics.c: Prometheus counters and histograms of the HTTP server
 * (metrics.h).
 *
 * Invariants: every counter is an atomic updated with relaxed order (a
 * scrape may see a request counted but not yet timed: Prometheus accepts
 * that); the label set is fixed at start (routes x methods x a list of
 * statuses, others folded into their class "4xx"/"5xx"...), so memory and
 * output are bounded whatever clients send. */
#include "server/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"

static const char *const METHODS[] = {"GET",    "HEAD",    "POST",  "PUT",
                                      "DELETE", "OPTIONS", "PATCH", "other"};
#define NMETH 8
static const int STATUSES[] = {200, 201, 204, 206, 301, 302, 304, 400, 401, 403, 404,
                               405, 406, 408, 409, 410, 412, 413, 414, 415, 422, 429,
                               431, 500, 501, 502, 503, 504, 100, 200, 300, 400, 500};
/* the last five entries stand for the classes 1xx..5xx of other codes */
#define NSTAT 33
#define NCLASS 5
static const double BOUNDS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                0.25,  0.5,    1,     2.5,  5,     10};
#define NBOUND 13

typedef struct route_hist {
  atomic_uint_fast64_t bucket[NBOUND + 1]; /* not cumulative; the last: +Inf */
  atomic_uint_fast64_t sum_us, count;
} route_hist;

struct swath_metrics {
  const swath_http_route **routes; /* the label of route i; index nroutes: none matched */
  int nroutes;
  atomic_uint_fast64_t *requests; /* [route][method][status] */
  route_hist *hist;               /* [route] */
  double start_wall, start_mono;
  void (*provider)(void *ud, FILE *out);
  void *provider_ud;
  double cache_s, cached_at;
  char *cached;
  pthread_mutex_t mu; /* the provider's cache */
};

static double mono(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int swath_metrics_new(const swath_http_api *apis, int n, swath_metrics **out) {
  *out = NULL;
  swath_metrics *m = calloc(1, sizeof *m);
  if (!m) return swath_error_set(SWATH_ENOMEM, "metrics: out of memory");
  for (int a = 0; a < n; a++)
    for (const swath_http_route *r = apis[a].routes; r->pattern; r++)
      m->nroutes++;
  m->routes = calloc((size_t)m->nroutes + 1, sizeof *m->routes);
  m->requests = calloc(((size_t)m->nroutes + 1) * NMETH * NSTAT, sizeof *m->requests);
  m->hist = calloc((size_t)m->nroutes + 1, sizeof *m->hist);
  if (!m->routes || !m->requests || !m->hist) {
    swath_metrics_free(m);
    return swath_error_set(SWATH_ENOMEM, "metrics: out of memory");
  }
  int i = 0;
  for (int a = 0; a < n; a++)
    for (const swath_http_route *r = apis[a].routes; r->pattern; r++)
      m->routes[i++] = r;
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  m->start_wall = (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
  m->start_mono = mono();
  pthread_mutex_init(&m->mu, NULL);
  *out = m;
  return 0;
}

void swath_metrics_free(swath_metrics *m) {
  if (!m) return;
  if (m->routes && m->requests && m->hist) pthread_mutex_destroy(&m->mu);
  free(m->routes);
  free(m->requests);
  free(m->hist);
  free(m->cached);
  free(m);
}

void swath_metrics_provider(swath_metrics *m, void (*fn)(void *ud, FILE *out), void *ud,
                            double cache_s) {
  m->provider = fn;
  m->provider_ud = ud;
  m->cache_s = cache_s;
}

static int route_index(const swath_metrics *m, const swath_http_route *r) {
  for (int i = 0; r && i < m->nroutes; i++)
    if (m->routes[i] == r) return i;
  return m->nroutes;
}

static int method_index(const char *method) {
  for (int i = 0; i < NMETH - 1; i++)
    if (!strcmp(METHODS[i], method)) return i;
  return NMETH - 1;
}

static int status_index(int status) {
  for (int i = 0; i < NSTAT - NCLASS; i++)
    if (STATUSES[i] == status) return i;
  int cls = status / 100;
  return cls >= 1 && cls <= 5 ? NSTAT - NCLASS + cls - 1 : NSTAT - 1;
}

void swath_metrics_observe(swath_metrics *m, const swath_http_route *r, const char *method,
                           int status, double seconds) {
  if (!m) return;
  int ri = route_index(m, r);
  size_t k =
      ((size_t)ri * NMETH + (size_t)method_index(method)) * NSTAT + (size_t)status_index(status);
  atomic_fetch_add_explicit(&m->requests[k], 1, memory_order_relaxed);
  route_hist *h = &m->hist[ri];
  int b = 0;
  while (b < NBOUND && seconds > BOUNDS[b])
    b++;
  atomic_fetch_add_explicit(&h->bucket[b], 1, memory_order_relaxed);
  double us = seconds > 0 ? seconds * 1e6 : 0;
  atomic_fetch_add_explicit(&h->sum_us, (uint_fast64_t)us, memory_order_relaxed);
  atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

static const char *route_label(const swath_metrics *m, int i) {
  return i < m->nroutes ? m->routes[i]->pattern : "(none)";
}

/* A label value as the format wants it: \ " and newline escaped. */
static void put_label(FILE *f, const char *v) {
  for (; *v; v++) {
    if (*v == '\\' || *v == '"')
      fputc('\\', f), fputc(*v, f);
    else if (*v == '\n')
      fputs("\\n", f);
    else
      fputc(*v, f);
  }
}

static void put_status(FILE *f, int si) {
  if (si < NSTAT - NCLASS)
    fprintf(f, "%d", STATUSES[si]);
  else
    fprintf(f, "%dxx", si - (NSTAT - NCLASS) + 1);
}

static void render_requests(swath_metrics *m, FILE *f) {
  fputs("# HELP swath_http_requests_total HTTP requests answered, by route pattern, method and "
        "status.\n# TYPE swath_http_requests_total counter\n",
        f);
  for (int r = 0; r <= m->nroutes; r++)
    for (int me = 0; me < NMETH; me++)
      for (int s = 0; s < NSTAT; s++) {
        uint_fast64_t v =
            atomic_load_explicit(&m->requests[((size_t)r * NMETH + (size_t)me) * NSTAT + (size_t)s],
                                 memory_order_relaxed);
        if (!v) continue;
        fputs("swath_http_requests_total{route=\"", f);
        put_label(f, route_label(m, r));
        fprintf(f, "\",method=\"%s\",status=\"", METHODS[me]);
        put_status(f, s);
        fprintf(f, "\"} %llu\n", (unsigned long long)v);
      }
  fputs("# HELP swath_http_request_duration_seconds Time from a request's headers to its "
        "answer, by route pattern.\n# TYPE swath_http_request_duration_seconds histogram\n",
        f);
  for (int r = 0; r <= m->nroutes; r++) {
    route_hist *h = &m->hist[r];
    uint_fast64_t count = atomic_load_explicit(&h->count, memory_order_relaxed);
    if (!count) continue;
    uint_fast64_t cum = 0;
    for (int b = 0; b <= NBOUND; b++) {
      cum += atomic_load_explicit(&h->bucket[b], memory_order_relaxed);
      fputs("swath_http_request_duration_seconds_bucket{route=\"", f);
      put_label(f, route_label(m, r));
      if (b < NBOUND)
        fprintf(f, "\",le=\"%g\"} %llu\n", BOUNDS[b], (unsigned long long)cum);
      else
        fprintf(f, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    /* the buckets were read one by one: count is their sum, consistent */
    fputs("swath_http_request_duration_seconds_sum{route=\"", f);
    put_label(f, route_label(m, r));
    fprintf(f, "\"} %.6f\n", (double)atomic_load_explicit(&h->sum_us, memory_order_relaxed) * 1e-6);
    fputs("swath_http_request_duration_seconds_count{route=\"", f);
    put_label(f, route_label(m, r));
    fprintf(f, "\"} %llu\n", (unsigned long long)cum);
  }
}

char *swath_metrics_render(swath_metrics *m, size_t *len) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f) return NULL;
  render_requests(m, f);
  fprintf(f,
          "# HELP process_start_time_seconds Start time of the process since the Unix epoch.\n"
          "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.3f\n"
          "# HELP swath_uptime_seconds Seconds since the server started.\n"
          "# TYPE swath_uptime_seconds gauge\nswath_uptime_seconds %.3f\n",
          m->start_wall, mono() - m->start_mono);
  if (m->provider) {
    pthread_mutex_lock(&m->mu);
    double t = mono();
    if (!m->cached || t - m->cached_at >= m->cache_s) {
      char *pb = NULL;
      size_t pn = 0;
      FILE *pf = open_memstream(&pb, &pn);
      if (pf) {
        m->provider(m->provider_ud, pf);
        if (fclose(pf) == 0) {
          free(m->cached);
          m->cached = pb;
          m->cached_at = t;
        } else {
          free(pb);
        }
      }
    }
    if (m->cached) fputs(m->cached, f);
    pthread_mutex_unlock(&m->mu);
  }
  if (fclose(f)) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

static void h_metrics(void *app, const swath_http_request *rq, swath_http_response *rs) {
  (void)rq;
  size_t len = 0;
  char *text = swath_metrics_render(app, &len);
  if (!text) {
    swath_http_problem(rs, 500, "about:blank", "Internal Server Error", "metrics: out of memory");
    return;
  }
  rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
  swath_http_bytes(rs, 200, text, len);
}

const swath_http_route swath_metrics_routes[] = {
    {"GET", "/metrics", h_metrics},
    {NULL, NULL, NULL},
};
