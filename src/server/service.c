/* service.c: the APIs of `swath serve` in one server (service.h).
 *
 * Invariant: the front's `/`, `/conformance` and `/api` are built from the
 * APIs' own answers and route tables at request time, so a route added to
 * any table shows in /api without another edit here. */
#include "server/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "engine/queue.h"
#include "server/metrics.h"

#define MAX_TABLES 6
#define QUEUE_METRICS_CACHE_S 2.0

struct swath_service {
  swath_stac_server *stac;
  swath_processes *proc;
  swath_viewer *viewer;
  swath_http_api apis[MAX_TABLES]; /* the front first, then the APIs */
  int napis;
  swath_http_server *http;
  swath_metrics *metrics;
  const char *db;      /* the queue, for its figures in /metrics */
  swath_queue *mqueue; /* opened by the first scrape (under the metrics lock) */
};

/* Whether the jobs' backend answered (rc), and its jobs by state: 0, or
 * rc with the reason logged. */
static int jobs_by_state(FILE *f, int rc, const int64_t *n) {
  fprintf(f,
          "# HELP swath_queue_up 1 if the job queue answered the last scrape.\n"
          "# TYPE swath_queue_up gauge\nswath_queue_up %d\n",
          rc == 0);
  if (rc) {
    swath_warn("metrics: %s", swath_error_message());
    return rc;
  }
  fputs("# HELP swath_jobs Jobs in the queue by state.\n# TYPE swath_jobs gauge\n", f);
  for (int i = 0; i <= SWATH_QJOB_CANCELLED; i++)
    fprintf(f, "swath_jobs{state=\"%s\"} %lld\n", swath_qjob_state_name(i), (long long)n[i]);
  return 0;
}

/* The queue's figures for /metrics (called at most every
 * QUEUE_METRICS_CACHE_S seconds, one scrape at a time). */
static void queue_metrics(void *ud, FILE *f) {
  swath_service *s = ud;
  swath_qstats st;
  int rc = s->mqueue ? 0 : swath_queue_open(s->db, &s->mqueue);
  if (!rc) rc = swath_queue_stats(s->mqueue, &st);
  if (jobs_by_state(f, rc, st.jobs)) return;
  fprintf(f,
          "# HELP swath_queue_ready_tasks Tasks ready to be claimed (the queue's depth).\n"
          "# TYPE swath_queue_ready_tasks gauge\nswath_queue_ready_tasks %lld\n"
          "# HELP swath_queue_running_tasks Tasks claimed by a worker.\n"
          "# TYPE swath_queue_running_tasks gauge\nswath_queue_running_tasks %lld\n"
          "# HELP swath_workers_alive Workers with a heartbeat in the last minute.\n"
          "# TYPE swath_workers_alive gauge\nswath_workers_alive %lld\n"
          "# HELP swath_tiles_per_second Tiles written per second over the last minute.\n"
          "# TYPE swath_tiles_per_second gauge\nswath_tiles_per_second %.3f\n",
          (long long)st.tasks_ready, (long long)st.tasks_running, (long long)st.workers_alive,
          st.tiles_per_s);
}

/* The one-machine backend's figures for /metrics: its jobs by state. */
static void local_metrics(void *ud, FILE *f) {
  swath_service *s = ud;
  int64_t n[SWATH_QJOB_CANCELLED + 1];
  int rc = swath__processes_job_counts(s->proc, n);
  jobs_by_state(f, rc, n);
}

/* {} segments named after the segment before them: /jobs/{} -> {jobId}. */
static void openapi_path(const char *pattern, char *out, size_t n, json_t *params) {
  size_t o = 0;
  const char *seg = pattern;
  for (const char *p = pattern; *p && o + 40 < n; p++) {
    if (p[0] == '{' && p[1] == '}') {
      char name[64];
      const char *end = p - 1; /* the '/' before */
      const char *start = end;
      while (start > pattern && start[-1] != '/')
        start--;
      size_t len = (size_t)(end - start);
      if (len >= 4 && !strncmp(end - 4, "sses", 4))
        len -= 2; /* processes -> process */
      else if (len > 1 && start[len - 1] == 's')
        len--;
      snprintf(name, sizeof name, "%.*sId", (int)(len < 40 ? len : 40), start);
      o += (size_t)snprintf(out + o, n - o, "{%s}", name);
      json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", name, "in",
                                              "path", "required", 1, "schema", "type", "string"));
      p++;
    } else {
      out[o++] = *p;
    }
    seg = p;
  }
  (void)seg;
  out[o] = '\0';
}

json_t *swath_service_openapi(const swath_http_route *const *tables, int n, const char *base) {
  json_t *paths = json_object();
  for (int t = 0; t < n; t++) {
    for (const swath_http_route *r = tables[t]; r->pattern; r++) {
      char path[512], method[16];
      json_t *params = json_array();
      openapi_path(r->pattern, path, sizeof path, params);
      size_t k = 0;
      for (; r->method[k] && k < sizeof method - 1; k++)
        method[k] = (char)(r->method[k] | 0x20);
      method[k] = '\0';
      json_t *item = json_object_get(paths, path);
      if (!item) json_object_set_new(paths, path, item = json_object());
      if (json_object_get(item, method)) {
        json_decref(params); /* an earlier table serves it */
        continue;
      }
      char summary[600];
      snprintf(summary, sizeof summary, "%s %s", r->method, path);
      json_t *op =
          json_pack("{s:s, s:{s:{s:s}, s:{s:s}}}", "summary", summary, "responses", "200",
                    "description", "OK", "default", "description", "an error (problem details)");
      if (json_array_size(params))
        json_object_set_new(op, "parameters", params);
      else
        json_decref(params);
      if (!strcmp(r->method, "POST"))
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content",
                                      "application/json", "schema", "type", "object"));
      json_object_set_new(item, method, op);
    }
  }
  return json_pack("{s:s, s:{s:s, s:s}, s:[{s:s}], s:o}", "openapi", "3.0.3", "info", "title",
                   "swath", "version", "1.0.0", "servers", "url", base, "paths", paths);
}

/* The GET handler of `path` in an API's table, or NULL. */
static swath_http_handler handler(const swath_http_api *a, const char *path) {
  for (const swath_http_route *r = a->routes; r->pattern; r++)
    if (!strcmp(r->method, "GET") && !strcmp(r->pattern, path)) return r->fn;
  return NULL;
}

/* Each API's answer to GET `path`, merged by `merge`. */
static void merged(swath_service *s, const char *path, const swath_http_request *rq,
                   swath_http_response *rs, void (*merge)(json_t *into, json_t *doc)) {
  json_t *out = NULL;
  for (int i = 1; i < s->napis; i++) {
    swath_http_handler fn = handler(&s->apis[i], path);
    if (!fn) continue;
    swath_http_response one = {0};
    fn(s->apis[i].app, rq, &one);
    if (one.status != 200 || !one.json) {
      json_decref(out);
      *rs = one; /* an API's error is the answer */
      return;
    }
    if (!out)
      out = json_incref(one.json);
    else
      merge(out, one.json);
    json_decref(one.json);
    free(one.raw);
  }
  swath_http_json(rs, 200, out ? out : json_object());
}

static int has_link(json_t *links, json_t *l) {
  size_t i;
  json_t *x;
  json_array_foreach(links, i, x) {
    if (json_equal(json_object_get(x, "rel"), json_object_get(l, "rel")) &&
        json_equal(json_object_get(x, "href"), json_object_get(l, "href")))
      return 1;
  }
  return 0;
}

static void merge_links(json_t *into, json_t *doc) {
  json_t *links = json_object_get(into, "links");
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(doc, "links"), i, l) {
    if (!has_link(links, l)) json_array_append(links, l);
  }
}

static void merge_conformance(json_t *into, json_t *doc) {
  json_t *a = json_object_get(into, "conformsTo");
  size_t i, k;
  json_t *c, *x;
  json_array_foreach(json_object_get(doc, "conformsTo"), i, c) {
    int seen = 0;
    json_array_foreach(a, k, x) seen |= json_equal(x, c);
    if (!seen) json_array_append(a, c);
  }
}

static void h_landing(void *app, const swath_http_request *rq, swath_http_response *rs) {
  merged(app, "/", rq, rs, merge_links);
  /* the STAC landing page lists conformsTo too: keep it whole */
  json_t *c = json_object_get(rs->json, "conformsTo");
  if (c) {
    swath_http_response conf = {0};
    merged(app, "/conformance", rq, &conf, merge_conformance);
    if (conf.json)
      json_object_set(rs->json, "conformsTo", json_object_get(conf.json, "conformsTo"));
    json_decref(conf.json);
    free(conf.raw);
  }
}

static void h_conformance(void *app, const swath_http_request *rq, swath_http_response *rs) {
  merged(app, "/conformance", rq, rs, merge_conformance);
}

static void h_api(void *app, const swath_http_request *rq, swath_http_response *rs) {
  swath_service *s = app;
  const swath_http_route *tables[MAX_TABLES];
  for (int i = 0; i < s->napis; i++)
    tables[i] = s->apis[i].routes;
  rs->content_type = "application/vnd.oai.openapi+json;version=3.0";
  swath_http_json(rs, 200, swath_service_openapi(tables, s->napis, swath_http_base_url(rq)));
}

static const swath_http_route FRONT[] = {
    {"GET", "/", h_landing},
    {"GET", "/conformance", h_conformance},
    {"GET", "/api", h_api},
    {NULL, NULL, NULL},
};

int swath_service_start(const swath_service_config *cfg, swath_service **out) {
  *out = NULL;
  swath_service *s = calloc(1, sizeof *s);
  if (!s) return SWATH_ENOMEM;
  int rc = 0;
  if (cfg->catalog) {
    swath_stac_config sc = {
        .catalog = cfg->catalog, .http = cfg->http, .count_limit = cfg->count_limit};
    rc = swath_stac_open(&sc, &s->stac);
  }
  if (!rc && cfg->processes) rc = swath_processes_open(&cfg->proc, &s->proc);
  if (!rc && !s->stac && !s->proc)
    rc = swath_error_set(SWATH_EINVAL, "serve: nothing to serve (--catalog DB and/or --db with "
                                       "--outputs DIR)");
  if (!rc) {
    if (s->proc) s->apis[s->napis++] = (swath_http_api){.routes = FRONT, .app = s};
    if (s->stac) s->apis[s->napis++] = swath_stac_api(s->stac);
    if (s->proc) s->apis[s->napis++] = swath_processes_api(s->proc);
    if (!(rc = swath_viewer_open(cfg->web, &s->viewer)))
      s->apis[s->napis++] = swath_viewer_api(s->viewer);
  }
  if (!rc) {
    s->apis[s->napis++] = (swath_http_api){.routes = swath_metrics_routes};
    rc = swath_metrics_new(s->apis, s->napis, &s->metrics);
  }
  if (!rc) {
    s->apis[s->napis - 1].app = s->metrics;
    if (s->proc && cfg->proc.db) {
      s->db = cfg->proc.db;
      swath_metrics_provider(s->metrics, queue_metrics, s, QUEUE_METRICS_CACHE_S);
    } else if (s->proc) {
      swath_metrics_provider(s->metrics, local_metrics, s, QUEUE_METRICS_CACHE_S);
    }
    swath_http_config http = cfg->http;
    http.metrics = s->metrics;
    rc = swath_http_start_apis(&http, s->apis, s->napis, &s->http);
  }
  if (rc) {
    swath_service_stop(s);
    return rc;
  }
  *out = s;
  return 0;
}

int swath_service_port(const swath_service *s) { return swath_http_port(s->http); }

void swath_service_stop(swath_service *s) {
  if (!s) return;
  swath_http_stop(s->http);
  swath_stac_stop(s->stac);
  swath_processes_close(s->proc);
  swath_metrics_free(s->metrics);
  swath_queue_close(s->mqueue);
  swath_viewer_close(s->viewer);
  free(s);
}
