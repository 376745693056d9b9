/* processes.c: the OGC API - Processes routes (processes.h).
 *
 * Invariants: a job enters its backend (server/jobs.h: the PostgreSQL
 * queue or the one-machine SQLite file) only through its submit, after
 * exec_request.h's path checks and the job's own load checks; every error
 * is an RFC 7807 problem detail (application/problem+json) with the
 * standard's type where it has one. Handlers keep no state between
 * requests; they reach jobs only through the backend. */
#include "server/processes.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/job.h"
#include "engine/queue.h"
#include "process/process.h"
#include "server/exec_request.h"
#include "server/jobs.h"
#include "server/results.h"

#define EXC "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
#define MAX_ROOTS 16
#define MAX_PLUGINS 16

struct swath_processes {
  swath_processes_config cfg;
  char *outputs;
  char *inputs[MAX_ROOTS];
  swath_process plugins[MAX_PLUGINS];
  char *plugin_paths[MAX_PLUGINS];
  int nplugins;
  swath_jobs jobs;
  swath_pyramids *pyramids; /* successful jobs' pyramids (results_tiles.c) */
};

static void bad_request(swath_http_response *rs, int rc) {
  const char *m = swath_error_message();
  if (rc == SWATH_EINVAL)
    swath_http_problem(rs, 400, "about:blank", "Bad Request", "%s", m && *m ? m : "bad request");
  else
    swath_http_problem(rs, 500, "about:blank", "Internal Server Error", "%s",
                       m && *m ? m : "server error");
}

/* The process `id`: a built-in or a registered plugin; the name a job
 * text gives it (*name) and its parameters. 0 if none. */
static int find_process(swath_processes *s, const char *id, const char **name,
                        const swath_process_vtable **vt) {
  for (const swath_process_vtable *const *b = swath_process_builtins(); *b; b++)
    if (!strcmp((*b)->name, id)) {
      *vt = *b;
      *name = (*b)->name;
      return 1;
    }
  for (int i = 0; i < s->nplugins; i++)
    if (!strcmp(s->plugins[i].vt->name, id)) {
      *vt = s->plugins[i].vt;
      *name = s->plugin_paths[i];
      return 1;
    }
  return 0;
}

/* ---- landing, conformance, processes --------------------------------------- */

static json_t *mklink(const char *rel, const char *type, const char *base, const char *path,
                      const char *title) {
  char href[1024];
  snprintf(href, sizeof href, "%s%s", base, path);
  return json_pack("{s:s, s:s, s:s, s:s}", "href", href, "rel", rel, "type", type, "title", title);
}

static void h_landing(void *app, const swath_http_request *rq, swath_http_response *rs) {
  const char *b = swath_http_base_url(rq);
  json_t *links = json_array();
  json_array_append_new(links, mklink("self", "application/json", b, "/", "landing page"));
  json_array_append_new(links,
                        mklink("service-desc", "application/vnd.oai.openapi+json;version=3.0", b,
                               "/api", "the API definition"));
  json_array_append_new(links, mklink("http://www.opengis.net/def/rel/ogc/1.0/conformance",
                                      "application/json", b, "/conformance", "conformance"));
  json_array_append_new(links, mklink("http://www.opengis.net/def/rel/ogc/1.0/processes",
                                      "application/json", b, "/processes", "processes"));
  json_array_append_new(links, mklink("http://www.opengis.net/def/rel/ogc/1.0/job-list",
                                      "application/json", b, "/jobs", "jobs"));
  swath_processes *s = app;
  const char *d = s->jobs.vt == &swath_jobs_local
                      ? "swath's processes run as jobs on this machine"
                      : "swath's processes run as jobs on its PostgreSQL queue";
  swath_http_json(
      rs, 200,
      json_pack("{s:s, s:s, s:o}", "title", "swath job service", "description", d, "links", links));
}

static void h_conformance(void *app, const swath_http_request *rq, swath_http_response *rs) {
  (void)app, (void)rq;
  json_t *a = json_array();
  static const char *const cls[] = {
      "core", "ogc-process-description", "json", "oas30", "job-list", "dismiss", NULL};
  for (int i = 0; cls[i]; i++) {
    char u[200];
    snprintf(u, sizeof u, "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/%s", cls[i]);
    json_array_append_new(a, json_string(u));
  }
  swath_http_json(rs, 200, json_pack("{s:o}", "conformsTo", a));
}

static void h_processes(void *app, const swath_http_request *rq, swath_http_response *rs) {
  swath_processes *s = app;
  const char *b = swath_http_base_url(rq);
  json_t *list = json_array();
  for (const swath_process_vtable *const *p = swath_process_builtins(); *p; p++)
    json_array_append_new(list,
                          swath__process_doc((*p)->name, (*p)->description, (*p)->params, 0, b));
  for (int i = 0; i < s->nplugins; i++) {
    const swath_process_vtable *vt = s->plugins[i].vt;
    json_array_append_new(list, swath__process_doc(vt->name, vt->description, vt->params, 0, b));
  }
  json_t *links = json_array();
  json_array_append_new(links, mklink("self", "application/json", b, "/processes", "processes"));
  swath_http_json(rs, 200, json_pack("{s:o, s:o}", "processes", list, "links", links));
}

static void no_process(swath_http_response *rs, const char *id) {
  swath_http_problem(rs, 404, EXC "no-such-process", "No such process",
                     "no process '%s' (see /processes)", id);
}

static void h_process(void *app, const swath_http_request *rq, swath_http_response *rs) {
  const char *id = swath_http_param(rq, 0), *name;
  const swath_process_vtable *vt;
  if (!find_process(app, id, &name, &vt)) return no_process(rs, id);
  swath_http_json(
      rs, 200,
      swath__process_doc(vt->name, vt->description, vt->params, 1, swath_http_base_url(rq)));
}

/* ---- execution --------------------------------------------------------------- */

static int wants_async(const swath_http_request *rq) {
  const char *p = swath_http_header(rq, "Prefer");
  return p && strstr(p, "respond-async");
}

static void job_not_found(swath_http_response *rs, int64_t id) {
  swath_http_problem(rs, 404, EXC "no-such-job", "No such job", "no job %lld", (long long)id);
}

/* A job id from the path: a whole number >= 1; else 0. */
static int64_t job_id(const swath_http_request *rq) {
  const char *s = swath_http_param(rq, 0);
  char *end;
  long long v = strtoll(s, &end, 10);
  return *s >= '1' && *s <= '9' && !*end && v > 0 && v < LLONG_MAX ? v : 0;
}

static void results(swath_processes *s, const swath_qjob *j, const char *base,
                    swath_http_response *rs) {
  if (j->state == SWATH_QJOB_DONE) {
    swath_http_json(rs, 200, swath__job_results(j, s->outputs, base));
    return;
  }
  swath_http_problem(rs, 404, EXC "result-not-ready", "Result not ready", "job %lld is %s%s%s",
                     (long long)j->id, swath__job_status_name(j->state), j->last_error ? ": " : "",
                     j->last_error ? j->last_error : "");
}

/* Run the job in this thread (or wait for it): the synchronous execution. */
static void run_sync(swath_processes *s, int64_t id, const char *base, swath_http_response *rs) {
  int rc = s->jobs.vt->run_sync(s->jobs.st, id, s->cfg.sync_threads);
  swath_qjob j;
  if (!rc) rc = s->jobs.vt->get(s->jobs.st, id, &j);
  if (rc) return bad_request(rs, rc);
  if (j.state == SWATH_QJOB_DONE)
    results(s, &j, base, rs);
  else
    swath_http_problem(rs, 500, "about:blank", "Job failed", "job %lld is %s: %s", (long long)id,
                       swath__job_status_name(j.state), j.last_error ? j.last_error : "no message");
  swath_qjob_clear(&j);
}

static void h_execute(void *app, const swath_http_request *rq, swath_http_response *rs) {
  swath_processes *s = app;
  const char *id = swath_http_param(rq, 0), *name;
  const swath_process_vtable *vt;
  if (!find_process(s, id, &name, &vt)) return no_process(rs, id);
  swath_exec_roots roots = {(const char *const *)s->inputs, s->cfg.ninputs, s->outputs};
  size_t len;
  const char *body = swath_http_body(rq, &len);
  char *text = NULL, path[PATH_MAX];
  swath_job *job = NULL;
  int64_t jid = 0;
  /* the folder of this name resolves nothing: every path is absolute */
  snprintf(path, sizeof path, "%s/posted-job", s->outputs);
  int rc = swath_exec_request_job(&roots, name, vt->params, body, len, &text);
  if (!rc) rc = swath_job_load_text(path, text, &job);
  if (!rc) rc = s->jobs.vt->submit(s->jobs.st, job, path, s->cfg.max_attempts, &jid);
  /* A vector job's features, on the queue: a PostGIS store of the
   * service's (results.h); one machine keeps them in the output. */
  if (rc == SWATH_EINVAL && s->jobs.vt == &swath_jobs_queue &&
      swath__features_db_job(s->cfg.features_db, path, &text, rc) == 1) {
    swath_job_free(job);
    job = NULL;
    rc = swath_job_load_text(path, text, &job);
    if (!rc) rc = s->jobs.vt->submit(s->jobs.st, job, path, s->cfg.max_attempts, &jid);
  }
  swath_job_free(job);
  free(text);
  if (rc) return bad_request(rs, rc);
  swath_qjob j;
  if ((rc = s->jobs.vt->get(s->jobs.st, jid, &j))) return bad_request(rs, rc);
  if (!wants_async(rq) && j.tiles_total <= s->cfg.sync_tiles) {
    swath_qjob_clear(&j);
    return run_sync(s, jid, swath_http_base_url(rq), rs);
  }
  swath_http_json(rs, 201, swath__job_status(&j, swath_http_base_url(rq)));
  snprintf(rs->header, sizeof rs->header, "Location: %s/jobs/%lld%s", swath_http_base_url(rq),
           (long long)jid, wants_async(rq) ? "\nPreference-Applied: respond-async" : "");
  swath_qjob_clear(&j);
}

/* ---- jobs -------------------------------------------------------------------- */

static int state_bits(const char *list, unsigned *bits) {
  static const struct {
    const char *name;
    unsigned bits;
  } map[] = {{"accepted", 1u << SWATH_QJOB_PLANNING | 1u << SWATH_QJOB_QUEUED},
             {"running", 1u << SWATH_QJOB_RUNNING},
             {"successful", 1u << SWATH_QJOB_DONE},
             {"failed", 1u << SWATH_QJOB_FAILED},
             {"dismissed", 1u << SWATH_QJOB_CANCELLED}};
  char buf[256];
  snprintf(buf, sizeof buf, "%s", list);
  *bits = 0;
  for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    unsigned b = 0;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
      if (!strcmp(map[i].name, t)) b = map[i].bits;
    if (!b)
      return swath_error_set(SWATH_EINVAL,
                             "status: '%s' is not a job status (accepted, running, successful, "
                             "failed, dismissed)",
                             t);
    *bits |= b;
  }
  return 0;
}

static int query_long(const swath_http_request *rq, const char *k, long lo, long hi, long *v) {
  const char *s = swath_http_query(rq, k);
  if (!s) return 0;
  char *end;
  long x = strtol(s, &end, 10);
  if (!*s || *end || x < lo || x > hi)
    return swath_error_set(SWATH_EINVAL, "%s: '%s' is not a whole number from %ld to %ld", k, s, lo,
                           hi);
  *v = x;
  return 0;
}

static void h_jobs(void *app, const swath_http_request *rq, swath_http_response *rs) {
  swath_processes *s = app;
  long limit = 10, before = 0;
  unsigned bits = 0;
  const char *st = swath_http_query(rq, "status"), *type = swath_http_query(rq, "type");
  int rc = query_long(rq, "limit", 1, 1000, &limit);
  if (!rc) rc = query_long(rq, "before", 1, LONG_MAX, &before);
  if (!rc && st) rc = state_bits(st, &bits);
  if (!rc && type && strcmp(type, "process") != 0)
    rc = swath_error_set(SWATH_EINVAL, "type: '%s': every job here is of type 'process'", type);
  swath_qjob *jobs = NULL;
  int n = 0;
  /* one more than asked: whether there is a next page */
  if (!rc) rc = s->jobs.vt->page(s->jobs.st, before, bits, (int)limit + 1, &jobs, &n);
  if (rc) return bad_request(rs, rc);
  const char *b = swath_http_base_url(rq);
  json_t *list = json_array(), *links = json_array();
  for (int i = 0; i < n && i < limit; i++)
    json_array_append_new(list, swath__job_status(&jobs[i], b));
  char q1[512], q2[600];
  snprintf(q1, sizeof q1, "/jobs?limit=%ld%s%s%s", limit, st ? "&status=" : "", st ? st : "",
           type ? "&type=process" : "");
  if (before)
    snprintf(q2, sizeof q2, "%s&before=%ld", q1, before);
  else
    snprintf(q2, sizeof q2, "%s", q1);
  json_array_append_new(links, mklink("self", "application/json", b, q2, "this page"));
  if (n > limit) {
    snprintf(q2, sizeof q2, "%s&before=%lld", q1, (long long)jobs[limit - 1].id);
    json_array_append_new(links, mklink("next", "application/json", b, q2, "next page"));
  }
  for (int i = 0; i < n; i++)
    swath_qjob_clear(&jobs[i]);
  free(jobs);
  swath_http_json(rs, 200, json_pack("{s:o, s:o}", "jobs", list, "links", links));
}

int swath__processes_job(swath_processes *s, const swath_http_request *rq, swath_http_response *rs,
                         swath_qjob *j) {
  int64_t id = job_id(rq);
  if (!id) {
    job_not_found(rs, 0);
    return 0;
  }
  int rc = s->jobs.vt->get(s->jobs.st, id, j);
  if (rc == SWATH_ENOTFOUND)
    job_not_found(rs, id);
  else if (rc)
    bad_request(rs, rc);
  return rc == 0;
}

const char *swath__processes_outputs(const swath_processes *s) { return s->outputs; }

swath_pyramids *swath__processes_pyramids(swath_processes *s) { return s->pyramids; }

int swath__processes_job_counts(swath_processes *s, int64_t *counts) {
  memset(counts, 0, sizeof *counts * (SWATH_QJOB_CANCELLED + 1));
  int64_t before = 0;
  for (;;) {
    swath_qjob *page = NULL;
    int n = 0, rc = s->jobs.vt->page(s->jobs.st, before, 0, 1000, &page, &n);
    if (rc) return rc;
    for (int i = 0; i < n; i++) {
      if (page[i].state >= 0 && page[i].state <= SWATH_QJOB_CANCELLED) counts[page[i].state]++;
      before = page[i].id;
      swath_qjob_clear(&page[i]);
    }
    free(page);
    if (n < 1000) return 0;
  }
}

static void h_job(void *app, const swath_http_request *rq, swath_http_response *rs) {
  swath_qjob j;
  if (!swath__processes_job(app, rq, rs, &j)) return;
  swath_http_json(rs, 200, swath__job_status(&j, swath_http_base_url(rq)));
  swath_qjob_clear(&j);
}

static void h_results(void *app, const swath_http_request *rq, swath_http_response *rs) {
  swath_qjob j;
  if (!swath__processes_job(app, rq, rs, &j)) return;
  results(app, &j, swath_http_base_url(rq), rs);
  swath_qjob_clear(&j);
}

static void h_dismiss(void *app, const swath_http_request *rq, swath_http_response *rs) {
  swath_processes *s = app;
  swath_qjob j;
  if (!swath__processes_job(app, rq, rs, &j)) return;
  int rc = 0;
  if (j.state != SWATH_QJOB_CANCELLED) rc = s->jobs.vt->cancel(s->jobs.st, j.id);
  int64_t id = j.id;
  swath_qjob_clear(&j);
  if (!rc) rc = s->jobs.vt->get(s->jobs.st, id, &j);
  if (rc) return bad_request(rs, rc);
  swath_http_json(rs, 200, swath__job_status(&j, swath_http_base_url(rq)));
  swath_qjob_clear(&j);
}

static const swath_http_route ROUTES[] = {
    {"GET", "/", h_landing},
    {"GET", "/conformance", h_conformance},
    {"GET", "/processes", h_processes},
    {"GET", "/processes/{}", h_process},
    {"POST", "/processes/{}/execution", h_execute},
    {"GET", "/jobs", h_jobs},
    {"GET", "/jobs/{}", h_job},
    {"DELETE", "/jobs/{}", h_dismiss},
    {"GET", "/jobs/{}/results", h_results},
    /* results served (results.h) */
    {"GET", "/jobs/{}/tiles.json", swath__h_tilejson},
    {"GET", "/jobs/{}/tiles/{}/{}/{}", swath__h_tile},
    {"GET", "/jobs/{}/heatmap/tiles.json", swath__h_heatmap_tilejson},
    {"GET", "/jobs/{}/heatmap/{}/{}/{}", swath__h_heatmap_tile},
    {"GET", "/jobs/{}/features", swath__h_features_landing},
    {"GET", "/jobs/{}/features/conformance", swath__h_features_conformance},
    {"GET", "/jobs/{}/features/collections", swath__h_features_collections},
    {"GET", "/jobs/{}/features/collections/{}", swath__h_features_collection},
    {"GET", "/jobs/{}/features/collections/{}/items", swath__h_features_items},
    {"GET", "/jobs/{}/features/collections/{}/items/{}", swath__h_features_item},
    {NULL, NULL, NULL},
};

swath_http_api swath_processes_api(swath_processes *p) {
  return (swath_http_api){.routes = ROUTES, .app = p};
}

/* ---- set-up ------------------------------------------------------------------ */

static int root(const char *flag, const char *dir, char **out) {
  char buf[PATH_MAX];
  if (!realpath(dir, buf))
    return swath_error_set(SWATH_EINVAL, "%s %s: not an existing folder", flag, dir);
  return (*out = strdup(buf)) ? 0 : SWATH_ENOMEM;
}

int swath_processes_open(const swath_processes_config *cfg, swath_processes **out) {
  *out = NULL;
  if (cfg->ninputs > MAX_ROOTS || cfg->nplugins > MAX_PLUGINS)
    return swath_error_set(SWATH_EINVAL, "serve: at most %d --inputs and %d --plugin", MAX_ROOTS,
                           MAX_PLUGINS);
  swath_processes *s = calloc(1, sizeof *s);
  if (!s) return SWATH_ENOMEM;
  s->cfg = *cfg;
  int rc = root("--outputs", cfg->outputs, &s->outputs);
  if (!rc) rc = swath__pyramids_new(&s->pyramids);
  for (int i = 0; !rc && i < cfg->ninputs; i++)
    rc = root("--inputs", cfg->inputs[i], &s->inputs[i]);
  for (int i = 0; !rc && i < cfg->nplugins; i++) {
    char buf[PATH_MAX];
    if (!realpath(cfg->plugins[i], buf))
      rc = swath_error_set(SWATH_EINVAL, "--plugin %s: no such file", cfg->plugins[i]);
    else if (!(rc = swath_process_open(buf, &s->plugins[i]))) {
      s->nplugins++;
      if (!(s->plugin_paths[i] = strdup(buf))) rc = SWATH_ENOMEM;
    }
  }
  if (!rc && cfg->jobs) {
    swath_jobs_local_config lc = {cfg->jobs, cfg->workers > 0 ? cfg->workers : 1,
                                  cfg->sync_threads};
    if (!(rc = swath_jobs_local_open(&lc, &s->jobs.st))) s->jobs.vt = &swath_jobs_local;
  } else if (!rc && !(rc = swath_jobs_queue_open(cfg->db, &s->jobs.st))) {
    s->jobs.vt = &swath_jobs_queue;
  }
  if (!rc && cfg->features_db) rc = swath__features_db_check(cfg->features_db);
  if (rc) {
    swath_processes_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

void swath_processes_close(swath_processes *s) {
  if (!s) return;
  if (s->jobs.vt) s->jobs.vt->close(s->jobs.st);
  swath__pyramids_free(s->pyramids);
  free(s->outputs);
  for (int i = 0; i < MAX_ROOTS; i++)
    free(s->inputs[i]);
  for (int i = 0; i < s->nplugins; i++) {
    swath_process_close(&s->plugins[i]);
    free(s->plugin_paths[i]);
  }
  free(s);
}
