/* kserve.c: the v2 inference API over an in-process model (kserve.h).
 *
 * Routes: GET /v2 (server metadata), /v2/health/live, /v2/health/ready,
 * /v2/models/{name}[/versions/1] (model metadata), .../ready, POST
 * .../infer. The model has one version, "1". Requests are read by
 * kserve_codec.c and answered in the form asked for: an output is binary
 * when the request asks for it (its "binary_data", or the request's
 * "binary_data_output"), JSON otherwise.
 *
 * Errors follow the protocol: a JSON body {"error": "..."} with 400 for a
 * request swath cannot run (malformed JSON or body, an unknown input or
 * output, a datatype other than FP32, a shape the model does not take, a
 * batch over max_batch), 404 for an unknown model or version, 500 when the
 * model fails. Bodies over http.max_body are refused by http.c (413). */
#include "server/kserve.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "infer/kserve_codec.h"

struct swath_kserve_server {
  swath_model *model;
  swath_model_info info; /* the model's, with max_batch as served */
  char name[128];
  swath_http_server *http;
};

static void fail(swath_http_response *rs, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(swath_http_response *rs, int status, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  swath_http_json(rs, status, json_pack("{s:s}", "error", msg));
}

/* The model the path names ({name}, and {version} where the route has
 * one), or a 404 answered. */
static int find_model(struct swath_kserve_server *s, const swath_http_request *rq, int versioned,
                      swath_http_response *rs) {
  const char *name = swath_http_param(rq, 0), *ver = versioned ? swath_http_param(rq, 1) : NULL;
  if (strcmp(name, s->name) != 0) {
    fail(rs, 404, "unknown model '%.200s' (this server serves '%s')", name, s->name);
    return 0;
  }
  if (ver && strcmp(ver, "1") != 0) {
    fail(rs, 404, "model '%s' has no version '%.100s' (it has version 1)", s->name, ver);
    return 0;
  }
  return 1;
}

static void h_server(void *app, const swath_http_request *rq, swath_http_response *rs) {
  (void)app, (void)rq;
  swath_http_json(rs, 200,
                  json_pack("{s:s, s:s, s:[s]}", "name", "swath", "version", SWATH_VERSION,
                            "extensions", "binary_tensor_data"));
}

static void h_live(void *app, const swath_http_request *rq, swath_http_response *rs) {
  (void)app, (void)rq;
  swath_http_json(rs, 200, json_pack("{s:b}", "live", 1));
}

static void h_ready(void *app, const swath_http_request *rq, swath_http_response *rs) {
  (void)app, (void)rq;
  swath_http_json(rs, 200, json_pack("{s:b}", "ready", 1));
}

static void model_meta(void *app, const swath_http_request *rq, swath_http_response *rs, int v) {
  struct swath_kserve_server *s = app;
  if (find_model(s, rq, v, rs)) swath_http_json(rs, 200, swath_v2_metadata_json(&s->info, s->name));
}
static void h_meta(void *app, const swath_http_request *rq, swath_http_response *rs) {
  model_meta(app, rq, rs, 0);
}
static void h_meta_v(void *app, const swath_http_request *rq, swath_http_response *rs) {
  model_meta(app, rq, rs, 1);
}

static void model_ready(void *app, const swath_http_request *rq, swath_http_response *rs, int v) {
  struct swath_kserve_server *s = app;
  if (find_model(s, rq, v, rs))
    swath_http_json(rs, 200, json_pack("{s:s, s:b}", "name", s->name, "ready", 1));
}
static void h_mready(void *app, const swath_http_request *rq, swath_http_response *rs) {
  model_ready(app, rq, rs, 0);
}
static void h_mready_v(void *app, const swath_http_request *rq, swath_http_response *rs) {
  model_ready(app, rq, rs, 1);
}

/* The outputs to answer (the model's indices in idx, binary or not), as
 * the request names them (none named: all). 0 or a 400 answered. */
static int pick_outputs(const struct swath_kserve_server *s, const swath_v2_request *rq, int *idx,
                        int *bin, int *n, swath_http_response *rs) {
  *n = rq->noutputs ? rq->noutputs : s->info.noutputs;
  for (int k = 0; k < *n; k++) {
    idx[k] = k;
    if (rq->noutputs) {
      idx[k] = -1;
      for (int i = 0; i < s->info.noutputs; i++)
        if (!strcmp(rq->outputs[k], s->info.outputs[i].name)) idx[k] = i;
      if (idx[k] < 0) {
        fail(rs, 400, "model '%s' has no output '%s'", s->name, rq->outputs[k]);
        return -1;
      }
    }
    bin[k] = rq->binary_all || (rq->noutputs && rq->binary[k]);
  }
  return 0;
}

/* Run the decoded request and answer it. */
static void infer(struct swath_kserve_server *s, const swath_v2_request *rq,
                  swath_http_response *rs) {
  int idx[SWATH_MODEL_MAX_OUTPUTS], bin[SWATH_MODEL_MAX_OUTPUTS], n;
  if (strcmp(rq->input, s->info.input.name) != 0) {
    fail(rs, 400, "model '%s' has no input '%s' (its input is '%s')", s->name, rq->input,
         s->info.input.name);
    return;
  }
  if (pick_outputs(s, rq, idx, bin, &n, rs)) return;
  if (s->info.max_batch > 0 && rq->tensor.ndim > 0 && rq->tensor.shape[0] > s->info.max_batch) {
    fail(rs, 400, "a batch of %lld; model '%s' takes at most %d per request",
         (long long)rq->tensor.shape[0], s->name, s->info.max_batch);
    return;
  }
  swath_tensor out[SWATH_MODEL_MAX_OUTPUTS];
  int rc = swath_model_run(s->model, &rq->tensor, out);
  if (rc) {
    fail(rs, rc == SWATH_EINVAL ? 400 : 500, "%s", swath_error_message());
    return;
  }
  const char *names[SWATH_MODEL_MAX_OUTPUTS];
  swath_tensor picked[SWATH_MODEL_MAX_OUTPUTS];
  for (int k = 0; k < n; k++) {
    names[k] = s->info.outputs[idx[k]].name;
    picked[k] = out[idx[k]];
  }
  swath_v2_body body;
  rc = swath_v2_response_encode(s->name, rq->id, n, names, picked, bin, &body);
  for (int i = 0; i < s->info.noutputs; i++)
    swath_tensor_free(&out[i]);
  if (rc) {
    fail(rs, rc == SWATH_EINVAL ? 400 : 500, "%s", swath_error_message());
    return;
  }
  swath_http_bytes(rs, 200, body.p, body.len);
  if (body.header_len) {
    rs->content_type = "application/octet-stream";
    snprintf(rs->header, sizeof rs->header, "Inference-Header-Content-Length: %zu",
             body.header_len);
  }
}

static void model_infer(void *app, const swath_http_request *rq, swath_http_response *rs, int v) {
  struct swath_kserve_server *s = app;
  if (!find_model(s, rq, v, rs)) return;
  size_t len, header_len;
  const char *body = swath_http_body(rq, &len);
  swath_v2_request req;
  int rc = swath_v2_header_len(swath_http_header(rq, "Inference-Header-Content-Length"), len,
                               &header_len);
  if (!rc) rc = swath_v2_request_decode(body, len, header_len, &req);
  if (rc) {
    fail(rs, rc == SWATH_EINVAL ? 400 : 500, "%s", swath_error_message());
    return;
  }
  infer(s, &req, rs);
  swath_v2_request_clear(&req);
}
static void h_infer(void *app, const swath_http_request *rq, swath_http_response *rs) {
  model_infer(app, rq, rs, 0);
}
static void h_infer_v(void *app, const swath_http_request *rq, swath_http_response *rs) {
  model_infer(app, rq, rs, 1);
}

static const swath_http_route ROUTES[] = {
    {"GET", "/v2", h_server},
    {"GET", "/v2/health/live", h_live},
    {"GET", "/v2/health/ready", h_ready},
    {"GET", "/v2/models/{}", h_meta},
    {"GET", "/v2/models/{}/ready", h_mready},
    {"POST", "/v2/models/{}/infer", h_infer},
    {"GET", "/v2/models/{}/versions/{}", h_meta_v},
    {"GET", "/v2/models/{}/versions/{}/ready", h_mready_v},
    {"POST", "/v2/models/{}/versions/{}/infer", h_infer_v},
    {NULL, NULL, NULL},
};

/* The file name without its directory and ".onnx". */
static void default_name(const char *path, char *buf, size_t cap) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  size_t n = strlen(b);
  if (n > 5 && !strcmp(b + n - 5, ".onnx")) n -= 5;
  snprintf(buf, cap, "%.*s", (int)n, b);
}

int swath_kserve_start(const swath_kserve_config *cfg, swath_kserve_server **out) {
  *out = NULL;
  if (cfg->max_batch < 0)
    return swath_error_set(SWATH_EINVAL, "--max-batch: %d (0: any)", cfg->max_batch);
  struct swath_kserve_server *s = calloc(1, sizeof *s);
  if (!s) return swath_error_set(SWATH_ENOMEM, "model serve: out of memory");
  if (cfg->name)
    snprintf(s->name, sizeof s->name, "%s", cfg->name);
  else if (cfg->model.path)
    default_name(cfg->model.path, s->name, sizeof s->name);
  int rc = 0;
  for (const char *p = s->name; !rc && *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '.' || *p == '_' || *p == '-'))
      rc = swath_error_set(SWATH_EINVAL,
                           "model serve: name '%s': letters, digits, '.', '_' and '-' only "
                           "(set one with --name)",
                           s->name);
  if (!rc && !s->name[0]) rc = swath_error_set(SWATH_EINVAL, "model serve: the model needs a name");
  int threads = cfg->http.threads > 0 ? cfg->http.threads : 2;
  if (!rc) rc = swath_model_open(&cfg->model, threads, &s->model);
  if (!rc) {
    s->info = *swath_model_get_info(s->model);
    if (cfg->max_batch && (!s->info.max_batch || cfg->max_batch < s->info.max_batch))
      s->info.max_batch = cfg->max_batch;
    rc = swath_http_start(&cfg->http, ROUTES, s, &s->http);
  }
  if (rc) {
    swath_model_close(s->model);
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

int swath_kserve_port(const swath_kserve_server *s) { return swath_http_port(s->http); }
const char *swath_kserve_name(const swath_kserve_server *s) { return s->name; }

void swath_kserve_stop(swath_kserve_server *s) {
  if (!s) return;
  swath_http_stop(s->http);
  swath_model_close(s->model);
  free(s);
}
