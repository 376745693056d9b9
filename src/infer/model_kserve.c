/* model_kserve.c: the "kserve" runtime, a model behind a server that
 * speaks the Open Inference Protocol v2 over REST (KServe, Triton,
 * MLServer, `swath model serve`). The bodies are kserve_codec.c's; the
 * HTTP is swath's fetcher (io/fetch.h), so a model server gets the same
 * connection caps, timeouts and retries as a tile server (408, 425, 429
 * and 5xx, resets and timeouts retried with backoff; other 4xx fail at
 * once with the server's own error text).
 *
 * open: GET {url}/v2/health/ready (the server answers at all), then GET
 * {url}/v2/models/{name}[/versions/{version}] (the metadata: the input and
 * output names, shapes, a max batch); every failure there is SWATH_EINVAL
 * with one line naming the server (a model that cannot be used).
 * run: POST .../infer with the chips as one FP32 input and every output
 * requested, with the binary tensor extension (spec->protocol NULL or
 * "binary") or all in JSON ("json"); a failure is SWATH_EIO.
 *
 * Threads: the state is `concurrent`: run() is called by every worker at
 * once and each call is one synchronous request through the fetcher, which
 * caps the requests in flight (max_per_host, 4 by default). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "infer/kserve_codec.h"
#include "infer/model.h"
#include "infer/remote.h"

typedef struct kserve {
  swath_remote r;
  char model_url[1400]; /* {url}/v2/models/{name}[/versions/{v}] */
  int binary;
  swath_model_info info;
} kserve;

static void ks_close(void *state) {
  kserve *k = state;
  if (!k) return;
  swath_remote_close(&k->r);
  free(k);
}

static int ks_open(const swath_model_spec *spec, void **state) {
  *state = NULL;
  const char *proto = spec->protocol ? spec->protocol : "binary";
  if (strcmp(proto, "binary") && strcmp(proto, "json"))
    return swath_error_set(SWATH_EINVAL, "model.protocol '%s': binary or json (kserve)", proto);
  kserve *k = calloc(1, sizeof *k);
  if (!k) return swath_error_set(SWATH_ENOMEM, "kserve: out of memory");
  k->binary = strcmp(proto, "binary") == 0;
  int rc = swath_remote_open(&k->r, spec, "kserve");
  if (!rc) {
    snprintf(k->model_url, sizeof k->model_url, "%s/v2/models/%s%s%s", k->r.base, spec->name,
             spec->version ? "/versions/" : "", spec->version ? spec->version : "");
    char url[700];
    snprintf(url, sizeof url, "%s/v2/health/ready", k->r.base);
    swath_fetch_response resp;
    rc = swath_remote_get(&k->r, url, &resp, "not ready or not reachable");
    swath_fetch_response_clear(&resp);
  }
  if (!rc) {
    swath_fetch_response resp;
    rc = swath_remote_get(&k->r, k->model_url, &resp, NULL);
    if (!rc && swath_v2_metadata_decode(resp.body, resp.len, &k->info))
      rc = swath_error_set(SWATH_EINVAL, "model server %s, model '%s': %s", k->r.base, spec->name,
                           swath_error_message());
    swath_fetch_response_clear(&resp);
  }
  if (rc) {
    ks_close(k);
    return rc;
  }
  snprintf(k->info.runtime, sizeof k->info.runtime, "kserve");
  *state = k;
  return 0;
}

static void ks_info(void *state, swath_model_info *out) { *out = ((kserve *)state)->info; }

static int ks_run(void *state, const swath_tensor *in, swath_tensor *out) {
  kserve *k = state;
  swath_v2_body body;
  int rc = swath_v2_request_encode(&k->info, in, k->binary, &body);
  if (rc) return swath_error_set(SWATH_EIO, "model '%s': %s", k->r.name, swath_error_message());
  char hl[64];
  snprintf(hl, sizeof hl, "Inference-Header-Content-Length: %zu", body.header_len);
  const char *headers[] = {k->binary ? "Content-Type: application/octet-stream"
                                     : "Content-Type: application/json",
                           k->binary ? hl : NULL, NULL};
  char url[1500];
  snprintf(url, sizeof url, "%s/infer", k->model_url);
  swath_fetch_response resp;
  rc = swath_fetch_request(k->r.f, "POST", url, headers, body.p, body.len, &resp);
  swath_v2_body_clear(&body);
  if (rc) return swath_error_set(SWATH_EIO, "model '%s': %s", k->r.name, swath_error_message());
  char v[64];
  size_t header_len = 0;
  const char *hv = swath_fetch_header(resp.headers, "Inference-Header-Content-Length", v, sizeof v);
  rc = swath_v2_header_len(hv, resp.len, &header_len);
  if (!rc) rc = swath_v2_response_decode(resp.body, resp.len, header_len, &k->info, out);
  swath_fetch_response_clear(&resp);
  if (rc)
    return swath_error_set(SWATH_EIO, "model '%s' at %s: %s", k->r.name, k->r.base,
                           swath_error_message());
  return 0;
}

const swath_model_vtable swath_model_kserve = {
    .name = "kserve",
    .abi_version = SWATH_MODEL_ABI,
    .concurrent = 1,
    .open = ks_open,
    .info = ks_info,
    .run = ks_run,
    .close = ks_close,
};
