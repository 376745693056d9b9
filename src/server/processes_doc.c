/* processes_doc.c: the JSON documents of the Processes API: process
 * summaries and descriptions (inputs from the same parameter tables that
 * `swath processes` prints), job status (statusInfo) and results.
 *
 * Status mapping from the queue's job states: planning and queued ->
 * accepted, running -> running, done -> successful, failed -> failed,
 * cancelled -> dismissed. Progress is the percent of the job's tasks
 * finished, as `swath status` shows it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/config.h"
#include "engine/queue.h"
#include "engine/queue_report.h"
#include "server/processes.h"
#include "server/results.h"
#include "swath/plugin.h"

static json_t *link(const char *rel, const char *type, const char *base, const char *path,
                    const char *title) {
  char href[2048];
  snprintf(href, sizeof href, "%s%s", base, path);
  json_t *l = json_pack("{s:s, s:s, s:s}", "href", href, "rel", rel, "type", type);
  if (title) json_object_set_new(l, "title", json_string(title));
  return l;
}

static const char *schema_type(const char *t) {
  if (!strcmp(t, "integer")) return "integer";
  if (!strcmp(t, "number")) return "number";
  if (!strcmp(t, "boolean")) return "boolean";
  return "string";
}

/* `params` as one input: an object schema whose properties are the
 * process's declared parameters. */
static json_t *params_input(const swath_param *params) {
  json_t *props = json_object(), *req = json_array();
  for (const swath_param *p = params; p && p->name; p++) {
    json_t *s = json_pack("{s:s, s:s, s:s}", "type", schema_type(p->type), "x-swath-type", p->type,
                          "description", p->description ? p->description : "");
    if (p->default_value)
      json_object_set_new(s, "default", json_string(p->default_value));
    else
      json_array_append_new(req, json_string(p->name));
    json_object_set_new(props, p->name, s);
  }
  json_t *schema = json_pack("{s:s, s:o}", "type", "object", "properties", props);
  if (json_array_size(req))
    json_object_set_new(schema, "required", req);
  else
    json_decref(req);
  return json_pack("{s:s, s:s, s:o, s:i, s:i}", "title", "params", "description",
                   "the process's parameters (the job file's params:)", "schema", schema,
                   "minOccurs", json_array_size(json_object_get(schema, "required")) ? 1 : 0,
                   "maxOccurs", 1);
}

static json_t *job_input(const char *title, const char *desc, const char *type, int required) {
  return json_pack("{s:s, s:s, s:{s:s}, s:i, s:i}", "title", title, "description", desc, "schema",
                   "type", type, "minOccurs", required, "maxOccurs", 1);
}

json_t *swath__process_doc(const char *id, const char *description, const void *params_v, int full,
                           const char *base) {
  const swath_param *params = params_v;
  char path[512];
  snprintf(path, sizeof path, "/processes/%s", id);
  json_t *links = json_array();
  json_array_append_new(links, link(full ? "self" : "process-desc", "application/json", base, path,
                                    "process description"));
  snprintf(path, sizeof path, "/processes/%s/execution", id);
  json_array_append_new(links, link("http://www.opengis.net/def/rel/ogc/1.0/execute",
                                    "application/json", base, path, "execute"));
  json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:[sss], s:[s], s:o}", "id", id, "title", id,
                        "description", description ? description : "", "version", "1.0.0",
                        "jobControlOptions", "async-execute", "sync-execute", "dismiss",
                        "outputTransmission", "reference", "links", links);
  if (!full) return d;
  json_t *in = json_object();
  json_object_set_new(in, "params", params_input(params));
  json_object_set_new(in, "inputs",
                      job_input("inputs",
                                "the job's inputs: name: path (under the service's input roots) or "
                                "name: {type: xyz|wmts|wms, url: http(s)://...}",
                                "object", 1));
  json_object_set_new(in, "zoom", job_input("zoom", "a zoom or [min, max]", "array", 1));
  json_object_set_new(
      in, "output",
      job_input("output", "output: {path (under the outputs root), format, ...}", "object", 1));
  json_object_set_new(in, "grid",
                      job_input("grid",
                                "grid name or {name, tile_size, metatiling,"
                                " pixel_buffer}",
                                "object", 0));
  json_object_set_new(in, "area", job_input("area", "{bounds, crs} or {file}", "object", 0));
  json_object_set_new(in, "cache",
                      job_input("cache", "{path} under the outputs root", "object", 0));
  json_object_set_new(in, "name", job_input("name", "a name for people", "string", 0));
  json_object_set_new(d, "inputs", in);
  json_object_set_new(d, "outputs",
                      json_pack("{s:{s:s, s:s, s:{s:s}}}", "output", "title", "output",
                                "description",
                                "the product: a tile folder (tilejson.json, stac.json) or features",
                                "schema", "type", "object"));
  return d;
}

const char *swath__job_status_name(int state) {
  switch (state) {
  case SWATH_QJOB_PLANNING:
  case SWATH_QJOB_QUEUED:
    return "accepted";
  case SWATH_QJOB_RUNNING:
    return "running";
  case SWATH_QJOB_DONE:
    return "successful";
  case SWATH_QJOB_FAILED:
    return "failed";
  default:
    return "dismissed";
  }
}

static void set_time(json_t *o, const char *k, double t) {
  if (t <= 0) return;
  char b[32];
  time_t s = (time_t)t;
  struct tm tm;
  gmtime_r(&s, &tm);
  strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_object_set_new(o, k, json_string(b));
}

/* The job text's `process` (a built-in name, or a plugin's path). */
static char *process_of(const struct swath_qjob *j) {
  swath_cfg *root = NULL;
  char *id = NULL;
  if (swath_cfg_parse_string(j->yaml, j->path, &root) == 0) {
    const swath_cfg *p = swath_cfg_get(root, "process");
    if (p && p->type == SWATH_CFG_SCALAR && p->value) id = strdup(p->value);
  }
  swath_cfg_free(root);
  return id;
}

json_t *swath__job_status(const struct swath_qjob *j, const char *base) {
  char id[32], path[96], msg[1200];
  snprintf(id, sizeof id, "%lld", (long long)j->id);
  char *proc = process_of(j);
  long long ended = (long long)(j->tasks_done + j->tasks_empty + j->tasks_failed);
  if (j->state == SWATH_QJOB_FAILED && j->last_error)
    snprintf(msg, sizeof msg, "%s", j->last_error);
  else
    snprintf(msg, sizeof msg, "%lld of %lld tasks finished, %lld tiles written", ended,
             (long long)j->tasks, (long long)j->tiles_written);
  json_t *o =
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "jobID", id, "processID", proc ? proc : "",
                "type", "process", "status", swath__job_status_name(j->state), "message", msg,
                "progress", (int)floor(swath_qjob_percent(j)));
  free(proc);
  set_time(o, "created", j->created);
  set_time(o, "started", j->started);
  set_time(o, "finished", j->finished);
  set_time(o, "updated", j->updated);
  json_t *links = json_array();
  snprintf(path, sizeof path, "/jobs/%s", id);
  json_array_append_new(links, link("self", "application/json", base, path, "job status"));
  snprintf(path, sizeof path, "/jobs/%s/results", id);
  json_array_append_new(links, link("http://www.opengis.net/def/rel/ogc/1.0/results",
                                    "application/json", base, path, "job results"));
  char out[4096];
  snprintf(out, sizeof out, "file://%s", j->output);
  json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "href", out, "rel", "describedby",
                                         "title", "the job's output"));
  swath__results_links(j, base, links);
  json_object_set_new(o, "links", links);
  /* the queue's own figures, as `swath status --json` prints them */
  json_object_set_new(o, "swath", swath_qjob_json(j));
  return o;
}

static void file_ref(json_t *doc, const char *name, const char *dir, const char *file,
                     const char *type) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  struct stat st;
  if (stat(p, &st) != 0) return;
  char href[4200];
  snprintf(href, sizeof href, "file://%s", p);
  json_object_set_new(doc, name, json_pack("{s:s, s:s}", "href", href, "type", type));
}

json_t *swath__job_results(const struct swath_qjob *j, const char *outputs_root, const char *base) {
  json_t *doc = json_object(), *links = json_array();
  swath__results_links(j, base, links);
  json_object_set_new(doc, "links", links);
  size_t n = strlen(outputs_root);
  const char *rel = strncmp(j->output, outputs_root, n) == 0 && j->output[n] == '/'
                        ? j->output + n + 1
                        : j->output;
  json_object_set_new(doc, "output",
                      json_pack("{s:{s:s, s:s}}", "value", "path", j->output, "relative", rel));
  file_ref(doc, "tilejson", j->output, "tilejson.json", "application/json");
  file_ref(doc, "stac", j->output, "stac.json", "application/json");
  file_ref(doc, "features", j->output, "features.gpkg", "application/geopackage+sqlite3");
  return doc;
}
