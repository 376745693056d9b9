/* model_tfserving.c: the "tfserving" runtime, a model behind TensorFlow
 * Serving's REST API, through swath's fetcher (the same caps, timeouts and
 * retries as every download; remote.c).
 *
 * open: GET {url}/v1/models/{name}[/versions/{v}] (some version must be
 * AVAILABLE), then GET .../metadata for the "serving_default" signature:
 * one DT_FLOAT input, 1 to SWATH_MODEL_MAX_OUTPUTS DT_FLOAT outputs, in the
 * order the metadata lists them (output 0 is what the detect process
 * reads), sizes -1 where open.
 * run: POST ...:predict in the columnar form, {"signature_name":
 * "serving_default", "inputs": {NAME: nested array}}; the answer's
 * "outputs" (one output: the nested array; several: an object by name) or
 * a row-form "predictions" array (one output) is read, its shape taken
 * from the nesting.
 *
 * Layout. swath feeds N x C x H x W. TF models usually take N x H x W x C:
 * a 4-d input is taken as NHWC when spec->layout says "nhwc", or (layout
 * NULL) when its last size is declared and equals the chips' bands (the
 * job's bands; without them, 1 to 4) while its second does not. Then
 * swath describes the model as NCHW (info), transposes each batch to NHWC
 * before sending it, and transposes every 4-d output back from NHWC, so
 * the detect process sees its documented NCHW layouts either way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json_out.h"
#include "infer/model.h"
#include "infer/remote.h"
#include "infer/tensor_json.h"

typedef struct tfs {
  swath_remote r;
  char model_url[1400]; /* {url}/v1/models/{name}[/versions/{v}] */
  int nhwc;
  swath_model_info info;
} tfs;

static void tf_close(void *state) {
  tfs *t = state;
  if (!t) return;
  swath_remote_close(&t->r);
  free(t);
}

/* Some version of the model is AVAILABLE. */
static int check_status(tfs *t) {
  swath_fetch_response resp;
  int rc = swath_remote_get(&t->r, t->model_url, &resp, NULL);
  if (rc) return rc;
  json_t *m = json_loadb(resp.body, resp.len, 0, NULL);
  const json_t *vs = json_object_get(m, "model_version_status");
  const char *state = NULL;
  for (size_t i = 0; i < json_array_size(vs) && !(state && !strcmp(state, "AVAILABLE")); i++)
    state = json_string_value(json_object_get(json_array_get(vs, i), "state"));
  if (!json_is_array(vs))
    rc = swath_error_set(SWATH_EINVAL,
                         "model server %s: the model status of '%s' is not TF Serving's (no "
                         "model_version_status)",
                         t->r.base, t->r.name);
  else if (!state || strcmp(state, "AVAILABLE"))
    rc = swath_error_set(SWATH_EINVAL, "model server %s: model '%s' is not available (state %.40s)",
                         t->r.base, t->r.name, state ? state : "unknown");
  json_decref(m);
  swath_fetch_response_clear(&resp);
  return rc;
}

/* One signature tensor {dtype, tensor_shape: {dim: [{size}], unknown_rank}}. */
static int read_sig_tensor(const char *name, const json_t *o, const char *what,
                           swath_tensor_info *ti) {
  const char *dt = json_string_value(json_object_get(o, "dtype"));
  if (!dt || strcmp(dt, "DT_FLOAT"))
    return swath_error_set(SWATH_EINVAL, "%s '%.100s' is %.32s; swath feeds and reads DT_FLOAT",
                           what, name, dt ? dt : "of no dtype");
  const json_t *ts = json_object_get(o, "tensor_shape"), *dims = json_object_get(ts, "dim");
  if (json_is_true(json_object_get(ts, "unknown_rank")) || !json_is_array(dims) ||
      json_array_size(dims) > SWATH_TENSOR_MAX_DIMS)
    return swath_error_set(SWATH_EINVAL, "%s '%.100s' declares no shape of at most %d dimensions",
                           what, name, SWATH_TENSOR_MAX_DIMS);
  snprintf(ti->name, sizeof ti->name, "%s", name);
  ti->ndim = (int)json_array_size(dims);
  for (int i = 0; i < ti->ndim; i++) {
    const json_t *s = json_object_get(json_array_get(dims, (size_t)i), "size");
    char *end = NULL;
    long long v = json_is_integer(s)  ? json_integer_value(s)
                  : json_is_string(s) ? strtoll(json_string_value(s), &end, 10)
                                      : -2;
    if ((end && *end) || v < -1 || v > (1LL << 40))
      return swath_error_set(SWATH_EINVAL, "%s '%.100s': dimension %d has no valid size", what,
                             name, i);
    ti->shape[i] = v;
  }
  return 0;
}

/* NHWC <-> NCHW in the description. */
static void to_nchw(swath_tensor_info *ti) {
  int64_t c = ti->shape[3];
  ti->shape[3] = ti->shape[2];
  ti->shape[2] = ti->shape[1];
  ti->shape[1] = c;
}

static int pick_layout(tfs *t, const swath_model_spec *spec) {
  const int64_t *s = t->info.input.shape;
  if (spec->layout && strcmp(spec->layout, "nchw") && strcmp(spec->layout, "nhwc"))
    return swath_error_set(SWATH_EINVAL, "model.layout '%s': nchw or nhwc", spec->layout);
  if (t->info.input.ndim != 4) return 0; /* model.c refuses it, naming the shape */
  if (spec->layout) {
    t->nhwc = !strcmp(spec->layout, "nhwc");
  } else {
    int c = spec->input_channels;
    t->nhwc = s[3] > 0 && (c > 0 ? s[3] == c && s[1] != c : s[3] <= 4 && (s[1] < 0 || s[1] > 4));
  }
  if (!t->nhwc) return 0;
  to_nchw(&t->info.input);
  for (int i = 0; i < t->info.noutputs; i++)
    if (t->info.outputs[i].ndim == 4) to_nchw(&t->info.outputs[i]);
  return 0;
}

static int read_metadata(tfs *t) {
  char url[1500];
  snprintf(url, sizeof url, "%s/metadata", t->model_url);
  swath_fetch_response resp;
  int rc = swath_remote_get(&t->r, url, &resp, "cannot read the model's metadata");
  if (rc) return rc;
  json_t *m = json_loadb(resp.body, resp.len, 0, NULL);
  json_t *sig = json_object_get(
      json_object_get(json_object_get(json_object_get(m, "metadata"), "signature_def"),
                      "signature_def"),
      "serving_default");
  json_t *ins = json_object_get(sig, "inputs"), *outs = json_object_get(sig, "outputs");
  if (!json_is_object(ins) || !json_is_object(outs))
    rc = swath_error_set(SWATH_EINVAL, "no serving_default signature with inputs and outputs");
  else if (json_object_size(ins) != 1)
    rc = swath_error_set(SWATH_EINVAL, "the signature has %zu inputs; swath feeds models with one",
                         json_object_size(ins));
  else if (json_object_size(outs) < 1 || json_object_size(outs) > SWATH_MODEL_MAX_OUTPUTS)
    rc = swath_error_set(SWATH_EINVAL, "the signature has %zu outputs (swath reads 1 to %d)",
                         json_object_size(outs), SWATH_MODEL_MAX_OUTPUTS);
  const char *key;
  json_t *v;
  if (!rc) {
    json_object_foreach(ins, key, v) rc = read_sig_tensor(key, v, "input", &t->info.input);
  }
  int n = 0;
  if (!rc) {
    json_object_foreach(outs, key, v) {
      if (!rc) rc = read_sig_tensor(key, v, "output", &t->info.outputs[n++]);
    }
  }
  t->info.noutputs = rc ? 0 : n;
  json_decref(m);
  swath_fetch_response_clear(&resp);
  if (rc)
    return swath_error_set(SWATH_EINVAL, "model server %s, model '%s': %s", t->r.base, t->r.name,
                           swath_error_message());
  return 0;
}

static int tf_open(const swath_model_spec *spec, void **state) {
  *state = NULL;
  tfs *t = calloc(1, sizeof *t);
  if (!t) return swath_error_set(SWATH_ENOMEM, "tfserving: out of memory");
  int rc = swath_remote_open(&t->r, spec, "tfserving");
  if (!rc) {
    snprintf(t->model_url, sizeof t->model_url, "%s/v1/models/%s%s%s", t->r.base, spec->name,
             spec->version ? "/versions/" : "", spec->version ? spec->version : "");
    rc = check_status(t);
  }
  if (!rc) rc = read_metadata(t);
  if (!rc) rc = pick_layout(t, spec);
  if (rc) {
    tf_close(t);
    return rc;
  }
  snprintf(t->info.runtime, sizeof t->info.runtime, "tfserving");
  snprintf(t->info.name, sizeof t->info.name, "%s", spec->name);
  *state = t;
  return 0;
}

static void tf_info(void *state, swath_model_info *out) { *out = ((tfs *)state)->info; }

/* A 4-d tensor from one layout to the other: NCHW -> NHWC (to_nhwc) or
 * back, into a new tensor. */
static int transpose4(const swath_tensor *in, int to_nhwc, swath_tensor *out) {
  const int64_t *s = in->shape;
  int64_t n = s[0], a = s[1], b = s[2], c = s[3]; /* to_nhwc: a=C b=H c=W; else a=H b=W c=C */
  int64_t shape[4] = {n, to_nhwc ? b : c, to_nhwc ? c : a, to_nhwc ? a : b};
  int rc = swath_tensor_alloc(out, 4, shape);
  if (rc) return rc;
  const float *src = in->data;
  for (int64_t i = 0; i < n; i++)
    for (int64_t x = 0; x < a; x++)
      for (int64_t y = 0; y < b; y++)
        for (int64_t z = 0; z < c; z++) {
          size_t from = (size_t)(((i * a + x) * b + y) * c + z);
          /* NCHW (x=C, y=H, z=W) -> NHWC index [i][y][z][x]; NHWC (x=H, y=W,
           * z=C) -> NCHW index [i][z][x][y]. */
          size_t to = to_nhwc ? (size_t)(((i * b + y) * c + z) * a + x)
                              : (size_t)(((i * c + z) * a + x) * b + y);
          out->data[to] = src[from];
        }
  return 0;
}

/* The request body: {"signature_name": "serving_default", "inputs": {NAME: [...]}}. */
static int encode(const tfs *t, const swath_tensor *in, swath_jtext *j) {
  swath_tensor tmp = {0};
  const swath_tensor *x = in;
  if (t->nhwc) {
    int rc = transpose4(in, 1, &tmp);
    if (rc) return rc;
    x = &tmp;
  }
  swath_jtext_lit(j, "{\"signature_name\":\"serving_default\",\"inputs\":{");
  swath_jtext_str(j, t->info.input.name, strlen(t->info.input.name));
  swath_jtext_lit(j, ":");
  int rc = swath_tensor_json_write(j, x, 1);
  swath_jtext_lit(j, "}}");
  swath_tensor_free(&tmp);
  if (!rc && j->failed) rc = swath_error_set(SWATH_ENOMEM, "out of memory writing a request");
  return rc;
}

/* One output's nested array into *out (in NCHW). */
static int read_output(const tfs *t, const json_t *v, const char *name, swath_tensor *out) {
  char what[200];
  snprintf(what, sizeof what, "output '%s'", name);
  int ndim;
  int64_t shape[SWATH_TENSOR_MAX_DIMS];
  size_t n;
  int rc = swath_tensor_json_shape(v, what, &ndim, shape, &n);
  if (!rc) rc = swath_tensor_alloc(out, ndim, shape);
  if (rc) return rc;
  rc = swath_tensor_json_read(v, what, shape, ndim, out->data, n);
  if (!rc && t->nhwc && ndim == 4) {
    swath_tensor tmp;
    rc = transpose4(out, 0, &tmp);
    if (!rc) {
      swath_tensor_free(out);
      *out = tmp;
    }
  }
  if (rc) swath_tensor_free(out);
  return rc;
}

static int decode(const tfs *t, const char *body, size_t len, swath_tensor *out) {
  json_error_t err;
  json_t *m = json_loadb(body, len, 0, &err);
  if (!m)
    return swath_error_set(SWATH_EINVAL, "the answer is not JSON: %s (at byte %d)", err.text,
                           err.position);
  const json_t *o = json_object_get(m, "outputs");
  if (!o) o = json_object_get(m, "predictions");
  int rc = 0;
  if (!json_is_array(o) && !json_is_object(o))
    rc = swath_error_set(SWATH_EINVAL, "the answer has neither \"outputs\" nor \"predictions\"");
  else if (json_is_array(o) && t->info.noutputs != 1)
    rc = swath_error_set(SWATH_EINVAL, "the answer holds one array; the model has %d outputs",
                         t->info.noutputs);
  for (int i = 0; !rc && i < t->info.noutputs; i++) {
    const char *name = t->info.outputs[i].name;
    const json_t *v = json_is_array(o) ? o : json_object_get(o, name);
    rc = v ? read_output(t, v, name, &out[i])
           : swath_error_set(SWATH_EINVAL, "the answer has no output '%s'", name);
    for (int k = 0; rc && k < i; k++)
      swath_tensor_free(&out[k]);
  }
  json_decref(m);
  return rc;
}

static int tf_run(void *state, const swath_tensor *in, swath_tensor *out) {
  tfs *t = state;
  swath_jtext j = {.precision = 9};
  int rc = encode(t, in, &j);
  if (rc) {
    free(j.p);
    return swath_error_set(SWATH_EIO, "model '%s': %s", t->r.name, swath_error_message());
  }
  static const char *const headers[] = {"Content-Type: application/json", NULL};
  char url[1500];
  snprintf(url, sizeof url, "%s:predict", t->model_url);
  swath_fetch_response resp;
  rc = swath_fetch_request(t->r.f, "POST", url, headers, j.p, j.len, &resp);
  free(j.p);
  if (rc) return swath_error_set(SWATH_EIO, "model '%s': %s", t->r.name, swath_error_message());
  rc = decode(t, resp.body, resp.len, out);
  swath_fetch_response_clear(&resp);
  if (rc)
    return swath_error_set(SWATH_EIO, "model '%s' at %s: %s", t->r.name, t->r.base,
                           swath_error_message());
  return 0;
}

const swath_model_vtable swath_model_tfserving = {
    .name = "tfserving",
    .abi_version = SWATH_MODEL_ABI,
    .concurrent = 1,
    .open = tf_open,
    .info = tf_info,
    .run = tf_run,
    .close = tf_close,
};
