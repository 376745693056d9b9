/* kserve_codec.c: Open Inference Protocol v2 REST bodies (kserve_codec.h).
 *
 * Reading is defensive, since bodies come from outside (a server's answer,
 * a client's request): the JSON part is the first header_len bytes (all of
 * the body without the binary extension); binary tensors are located by
 * walking the JSON's tensors in order and adding up their
 * binary_data_size, which must account for every byte after the header;
 * no tensor is allocated before its size is known to fit the body (binary:
 * its byte count; JSON: at least one byte of text per value). Binary data
 * is little-endian float32, which is the host's order (checked at build
 * time). */
#include "infer/kserve_codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json_out.h"
#include "infer/tensor_json.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the binary tensor extension is little-endian; this host is not"
#endif

void swath_v2_body_clear(swath_v2_body *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

int swath_v2_header_len(const char *value, size_t body_len, size_t *out) {
  *out = 0;
  if (!value) return 0;
  char *end;
  errno = 0;
  long long v = strtoll(value, &end, 10);
  if (end == value || *end || v < 1 || (unsigned long long)v > body_len)
    return swath_error_set(SWATH_EINVAL,
                           "Inference-Header-Content-Length '%.40s' is not a length within the "
                           "%zu byte body",
                           value, body_len);
  *out = (size_t)v;
  return 0;
}

/* ---- shared readers ---- */

/* A shape: an array of at most SWATH_TENSOR_MAX_DIMS integers, each >= 0
 * (or -1 where `open` allows it). */
static int read_shape(const json_t *a, const char *what, int open, int *ndim, int64_t *shape) {
  if (!json_is_array(a))
    return swath_error_set(SWATH_EINVAL, "%s: \"shape\" is missing or not an array", what);
  size_t n = json_array_size(a);
  if (n > SWATH_TENSOR_MAX_DIMS)
    return swath_error_set(SWATH_EINVAL, "%s: %zu dimensions (at most %d)", what, n,
                           SWATH_TENSOR_MAX_DIMS);
  for (size_t i = 0; i < n; i++) {
    const json_t *d = json_array_get(a, i);
    json_int_t v = json_is_integer(d) ? json_integer_value(d) : -2;
    if (v < (open ? -1 : 0) || v > ((json_int_t)1 << 40))
      return swath_error_set(SWATH_EINVAL, "%s: dimension %zu of \"shape\" is not %s", what, i,
                             open ? "a whole number >= -1" : "a whole number >= 0");
    shape[i] = v;
  }
  *ndim = (int)n;
  return 0;
}

/* The element count of a shape, if it is at most `limit`. */
static int shape_count(const int64_t *shape, int ndim, size_t limit, const char *what, size_t *n) {
  size_t c = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] && c > limit / (size_t)shape[i])
      return swath_error_set(SWATH_EINVAL,
                             "%s: its shape holds more values than its %zu byte body carries", what,
                             limit);
    c *= (size_t)shape[i];
  }
  *n = c;
  return 0;
}

/* parameters.binary_data_size of a tensor: -1 if absent. */
static int binary_size(const json_t *o, const char *what, int64_t *size) {
  *size = -1;
  const json_t *v = json_object_get(json_object_get(o, "parameters"), "binary_data_size");
  if (!v) return 0;
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return swath_error_set(SWATH_EINVAL, "%s: binary_data_size is not a whole number >= 0", what);
  *size = json_integer_value(v);
  return 0;
}

static const char *str_member(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* One FP32 tensor object ({name, shape, datatype, parameters?, data?})
 * into *t: its data from `bin` (binary, `bin_size` bytes; NULL if it has
 * none) or from "data". `limit`: the body's size. */
static int read_tensor(const json_t *o, const char *what, const char *bin, int64_t bin_size,
                       size_t limit, swath_tensor *t) {
  const char *dt = str_member(o, "datatype");
  if (!dt) return swath_error_set(SWATH_EINVAL, "%s: no \"datatype\"", what);
  if (strcmp(dt, "FP32") != 0)
    return swath_error_set(SWATH_EINVAL, "%s: datatype %.32s (swath reads FP32 only)", what, dt);
  int ndim;
  int64_t shape[SWATH_TENSOR_MAX_DIMS];
  size_t n = 0;
  int rc = read_shape(json_object_get(o, "shape"), what, 0, &ndim, shape);
  if (!rc) rc = shape_count(shape, ndim, SIZE_MAX / sizeof(float), what, &n);
  if (rc) return rc;
  const json_t *data = json_object_get(o, "data");
  /* A flat "data" (the usual form) says at once whether the counts agree. */
  size_t flat = json_array_size(data);
  if (!bin && json_is_array(data) && (flat == 0 || json_is_number(json_array_get(data, 0))) &&
      flat != n)
    return swath_error_set(SWATH_EINVAL, "%s: \"data\" holds %zu values; its shape, %zu", what,
                           flat, n);
  if (!bin && n > limit) /* each value takes a byte of text at least */
    return swath_error_set(SWATH_EINVAL,
                           "%s: its shape holds %zu values, more than its %zu byte body carries",
                           what, n, limit);
  if (bin) {
    if ((uint64_t)bin_size != (uint64_t)n * sizeof(float))
      return swath_error_set(SWATH_EINVAL,
                             "%s: binary_data_size %lld is not 4 x the %zu values of its shape",
                             what, (long long)bin_size, n);
  } else if (!data) {
    return swath_error_set(SWATH_EINVAL, "%s: neither \"data\" nor binary_data_size", what);
  }
  rc = swath_tensor_alloc(t, ndim, shape);
  if (rc) return rc;
  if (bin)
    memcpy(t->data, bin, n * sizeof(float));
  else
    rc = swath_tensor_json_read(data, what, NULL, 0, t->data, n);
  if (rc) swath_tensor_free(t);
  return rc;
}

/* The JSON part of a body, parsed: an object. */
static int parse_json(const char *body, size_t len, size_t header_len, const char *what,
                      json_t **out) {
  json_error_t err;
  *out = json_loadb(body, header_len ? header_len : len, 0, &err);
  if (!*out)
    return swath_error_set(SWATH_EINVAL, "%s is not JSON: %s (at byte %d)", what, err.text,
                           err.position);
  if (!json_is_object(*out)) {
    json_decref(*out);
    *out = NULL;
    return swath_error_set(SWATH_EINVAL, "%s is not a JSON object", what);
  }
  return 0;
}

/* Where each tensor of `arr` finds its binary data: off[i] (-1: none),
 * checked to cover the `bin_len` bytes after the header exactly. */
static int locate_binary(const json_t *arr, const char *what, size_t header_len, size_t bin_len,
                         int64_t *off, int64_t *size) {
  size_t at = 0;
  for (size_t i = 0; i < json_array_size(arr); i++) {
    char w[200];
    snprintf(w, sizeof w, "%s %zu", what, i);
    int rc = binary_size(json_array_get(arr, i), w, &size[i]);
    if (rc) return rc;
    off[i] = -1;
    if (size[i] < 0) continue;
    if (!header_len)
      return swath_error_set(SWATH_EINVAL,
                             "%s: binary_data_size without an Inference-Header-Content-Length", w);
    if ((uint64_t)size[i] > bin_len - at)
      return swath_error_set(SWATH_EINVAL, "%s: binary_data_size %lld runs past the body's end", w,
                             (long long)size[i]);
    off[i] = (int64_t)at;
    at += (size_t)size[i];
  }
  if (at != bin_len)
    return swath_error_set(SWATH_EINVAL,
                           "the body has %zu bytes after the JSON header; its tensors' "
                           "binary_data_size add up to %zu",
                           bin_len, at);
  return 0;
}

/* ---- model metadata ---- */

static json_t *meta_tensor(const swath_tensor_info *t) {
  json_t *shape = json_array();
  for (int i = 0; shape && i < t->ndim; i++)
    json_array_append_new(shape, json_integer(t->shape[i] > 0 ? t->shape[i] : -1));
  return json_pack("{s:s, s:s, s:o}", "name", t->name, "datatype", "FP32", "shape", shape);
}

json_t *swath_v2_metadata_json(const swath_model_info *info, const char *name) {
  json_t *ins = json_array(), *outs = json_array();
  if (ins) json_array_append_new(ins, meta_tensor(&info->input));
  for (int i = 0; outs && i < info->noutputs; i++)
    json_array_append_new(outs, meta_tensor(&info->outputs[i]));
  json_t *m = json_pack("{s:s, s:[s], s:s, s:o, s:o}", "name", name, "versions", "1", "platform",
                        info->runtime[0] ? info->runtime : "onnx", "inputs", ins, "outputs", outs);
  if (m && info->max_batch > 0)
    json_object_set_new(m, "parameters", json_pack("{s:i}", "max_batch_size", info->max_batch));
  return m;
}

static int meta_tensor_read(const json_t *o, const char *what, swath_tensor_info *t) {
  const char *name = str_member(o, "name"), *dt = str_member(o, "datatype");
  if (!name || !dt)
    return swath_error_set(SWATH_EINVAL, "%s: a tensor needs a \"name\" and a \"datatype\"", what);
  if (strcmp(dt, "FP32") != 0)
    return swath_error_set(SWATH_EINVAL, "%s '%.100s' is %.32s; swath feeds and reads FP32", what,
                           name, dt);
  snprintf(t->name, sizeof t->name, "%s", name);
  return read_shape(json_object_get(o, "shape"), what, 1, &t->ndim, t->shape);
}

int swath_v2_metadata_decode(const char *body, size_t len, swath_model_info *info) {
  json_t *m;
  int rc = parse_json(body, len, 0, "the model metadata", &m);
  if (rc) return rc;
  const json_t *ins = json_object_get(m, "inputs"), *outs = json_object_get(m, "outputs");
  const char *name = str_member(m, "name");
  if (!name || !json_is_array(ins) || !json_is_array(outs)) {
    rc = swath_error_set(SWATH_EINVAL, "the model metadata is not the v2 protocol's (it needs "
                                       "\"name\", \"inputs\" and \"outputs\")");
  } else if (json_array_size(ins) != 1) {
    rc = swath_error_set(SWATH_EINVAL,
                         "the model metadata lists %zu inputs; swath feeds models with one",
                         json_array_size(ins));
  } else if (json_array_size(outs) < 1 || json_array_size(outs) > SWATH_MODEL_MAX_OUTPUTS) {
    rc = swath_error_set(SWATH_EINVAL, "the model metadata lists %zu outputs (swath reads 1 to %d)",
                         json_array_size(outs), SWATH_MODEL_MAX_OUTPUTS);
  }
  if (!rc) {
    snprintf(info->name, sizeof info->name, "%s", name);
    rc = meta_tensor_read(json_array_get(ins, 0), "input", &info->input);
  }
  info->noutputs = rc ? 0 : (int)json_array_size(outs);
  for (int i = 0; !rc && i < info->noutputs; i++)
    rc = meta_tensor_read(json_array_get(outs, (size_t)i), "output", &info->outputs[i]);
  const json_t *mb = json_object_get(json_object_get(m, "parameters"), "max_batch_size");
  if (!rc && json_is_integer(mb) && json_integer_value(mb) > 0 && json_integer_value(mb) <= 1 << 20)
    info->max_batch = (int)json_integer_value(mb);
  json_decref(m);
  return rc;
}

/* ---- the client's side ---- */

static void put_shape(swath_jtext *t, int ndim, const int64_t *shape) {
  swath_jtext_lit(t, "[");
  for (int i = 0; i < ndim; i++) {
    if (i) swath_jtext_lit(t, ",");
    swath_jtext_int(t, (long long)shape[i]);
  }
  swath_jtext_lit(t, "]");
}

/* {"name":..,"shape":..,"datatype":"FP32", then binary or "data"} */
static int put_tensor(swath_jtext *t, const char *name, const swath_tensor *x, int binary) {
  swath_jtext_lit(t, "{\"name\":");
  swath_jtext_str(t, name, strlen(name));
  swath_jtext_lit(t, ",\"shape\":");
  put_shape(t, x->ndim, x->shape);
  swath_jtext_lit(t, ",\"datatype\":\"FP32\",");
  int rc = 0;
  if (binary) {
    swath_jtext_lit(t, "\"parameters\":{\"binary_data_size\":");
    swath_jtext_int(t, (long long)(swath_tensor_count(x) * sizeof(float)));
    swath_jtext_lit(t, "}");
  } else {
    swath_jtext_lit(t, "\"data\":");
    rc = swath_tensor_json_write(t, x, 0);
  }
  swath_jtext_lit(t, "}");
  return rc;
}

static int finish_body(swath_jtext *t, int rc, swath_v2_body *out) {
  if (!rc && t->failed) rc = swath_error_set(SWATH_ENOMEM, "out of memory writing a v2 body");
  if (rc) {
    free(t->p);
    return rc;
  }
  out->p = t->p;
  out->len = t->len;
  return 0;
}

int swath_v2_request_encode(const swath_model_info *info, const swath_tensor *in, int binary,
                            swath_v2_body *out) {
  memset(out, 0, sizeof *out);
  swath_jtext t = {.precision = 9};
  swath_jtext_lit(&t, "{\"inputs\":[");
  int rc = put_tensor(&t, info->input.name, in, binary);
  swath_jtext_lit(&t, "],\"outputs\":[");
  for (int i = 0; i < info->noutputs; i++) {
    swath_jtext_raw(&t, i ? ",{\"name\":" : "{\"name\":", i ? 9 : 8);
    swath_jtext_str(&t, info->outputs[i].name, strlen(info->outputs[i].name));
    if (binary) swath_jtext_lit(&t, ",\"parameters\":{\"binary_data\":true}");
    swath_jtext_lit(&t, "}");
  }
  swath_jtext_lit(&t, "]}");
  if (binary) {
    out->header_len = t.len;
    swath_jtext_raw(&t, (const char *)in->data, swath_tensor_count(in) * sizeof(float));
  }
  return finish_body(&t, rc, out);
}

/* The index of the tensor called `name` in `arr` (its size if none). */
static size_t find_named(const json_t *arr, const char *name) {
  size_t k = 0, n = json_array_size(arr);
  for (; k < n; k++) {
    const char *s = str_member(json_array_get(arr, k), "name");
    if (s && strcmp(s, name) == 0) break;
  }
  return k;
}

int swath_v2_response_decode(const char *body, size_t len, size_t header_len,
                             const swath_model_info *info, swath_tensor *out) {
  for (int i = 0; i < info->noutputs; i++)
    out[i] = (swath_tensor){0};
  json_t *m;
  int rc = parse_json(body, len, header_len, "the answer", &m);
  if (rc) return rc;
  const json_t *outs = json_object_get(m, "outputs");
  size_t n = json_array_size(outs);
  int64_t *off = calloc(n + 1, sizeof *off), *size = calloc(n + 1, sizeof *size);
  if (!json_is_array(outs))
    rc = swath_error_set(SWATH_EINVAL, "the answer has no \"outputs\" array");
  else if (!off || !size)
    rc = swath_error_set(SWATH_ENOMEM, "out of memory reading the answer");
  else
    rc = locate_binary(outs, "answer output", header_len, header_len ? len - header_len : 0, off,
                       size);
  for (int i = 0; !rc && i < info->noutputs; i++) {
    size_t k = find_named(outs, info->outputs[i].name);
    char what[200];
    snprintf(what, sizeof what, "output '%s'", info->outputs[i].name);
    if (k == n) {
      rc = swath_error_set(SWATH_EINVAL, "the answer has no output '%s'", info->outputs[i].name);
      break;
    }
    const char *bin = off[k] >= 0 ? body + header_len + off[k] : NULL;
    rc = read_tensor(json_array_get(outs, k), what, bin, size[k], len, &out[i]);
  }
  if (rc)
    for (int i = 0; i < info->noutputs; i++)
      swath_tensor_free(&out[i]);
  free(off);
  free(size);
  json_decref(m);
  return rc;
}

/* ---- the server's side ---- */

void swath_v2_request_clear(swath_v2_request *rq) {
  swath_tensor_free(&rq->tensor);
  memset(rq, 0, sizeof *rq);
}

/* The request's "outputs" (optional) and its parameters. */
static int read_requested(const json_t *m, swath_v2_request *rq) {
  const json_t *bo = json_object_get(json_object_get(m, "parameters"), "binary_data_output");
  rq->binary_all = json_is_true(bo);
  const json_t *outs = json_object_get(m, "outputs");
  if (!outs) return 0;
  if (!json_is_array(outs) || json_array_size(outs) > SWATH_MODEL_MAX_OUTPUTS)
    return swath_error_set(SWATH_EINVAL, "\"outputs\" must be an array of at most %d outputs",
                           SWATH_MODEL_MAX_OUTPUTS);
  for (size_t i = 0; i < json_array_size(outs); i++) {
    const json_t *o = json_array_get(outs, i);
    const char *name = str_member(o, "name");
    if (!name || strlen(name) >= sizeof rq->outputs[0])
      return swath_error_set(SWATH_EINVAL,
                             "requested output %zu has no \"name\" (or a too "
                             "long one)",
                             i);
    snprintf(rq->outputs[i], sizeof rq->outputs[i], "%s", name);
    rq->binary[i] = json_is_true(json_object_get(json_object_get(o, "parameters"), "binary_data"));
  }
  rq->noutputs = (int)json_array_size(outs);
  return 0;
}

int swath_v2_request_decode(const char *body, size_t len, size_t header_len, swath_v2_request *rq) {
  memset(rq, 0, sizeof *rq);
  json_t *m;
  int rc = parse_json(body, len, header_len, "the request", &m);
  if (rc) return rc;
  const json_t *ins = json_object_get(m, "inputs"), *id = json_object_get(m, "id");
  int64_t off[2] = {-1, -1}, size[2] = {-1, -1};
  const char *name = NULL;
  if (!json_is_array(ins))
    rc = swath_error_set(SWATH_EINVAL, "the request has no \"inputs\" array");
  else if (json_array_size(ins) != 1)
    rc = swath_error_set(SWATH_EINVAL, "the request has %zu inputs; the model takes one",
                         json_array_size(ins));
  else if (id && (!json_is_string(id) || json_string_length(id) >= sizeof rq->id))
    rc = swath_error_set(SWATH_EINVAL, "\"id\" must be a string of at most %zu bytes",
                         sizeof rq->id - 1);
  else if (!(name = str_member(json_array_get(ins, 0), "name")) || strlen(name) >= sizeof rq->input)
    rc = swath_error_set(SWATH_EINVAL, "input 0 has no \"name\" (or a too long one)");
  if (!rc)
    rc = locate_binary(ins, "input", header_len, header_len ? len - header_len : 0, off, size);
  if (!rc) {
    snprintf(rq->id, sizeof rq->id, "%s", id ? json_string_value(id) : "");
    snprintf(rq->input, sizeof rq->input, "%s", name);
    char what[200];
    snprintf(what, sizeof what, "input '%s'", name);
    rc = read_tensor(json_array_get(ins, 0), what, off[0] >= 0 ? body + header_len + off[0] : NULL,
                     size[0], len, &rq->tensor);
  }
  if (!rc) rc = read_requested(m, rq);
  json_decref(m);
  if (rc) swath_v2_request_clear(rq);
  return rc;
}

int swath_v2_response_encode(const char *model, const char *id, int n, const char *const *names,
                             const swath_tensor *t, const int *binary, swath_v2_body *out) {
  memset(out, 0, sizeof *out);
  swath_jtext j = {.precision = 9};
  swath_jtext_lit(&j, "{\"model_name\":");
  swath_jtext_str(&j, model, strlen(model));
  if (id && *id) {
    swath_jtext_lit(&j, ",\"id\":");
    swath_jtext_str(&j, id, strlen(id));
  }
  swath_jtext_lit(&j, ",\"outputs\":[");
  int rc = 0, any = 0;
  for (int i = 0; !rc && i < n; i++) {
    if (i) swath_jtext_lit(&j, ",");
    rc = put_tensor(&j, names[i], &t[i], binary[i]);
    any |= binary[i];
  }
  swath_jtext_lit(&j, "]}");
  if (any) {
    out->header_len = j.len;
    for (int i = 0; i < n; i++)
      if (binary[i])
        swath_jtext_raw(&j, (const char *)t[i].data, swath_tensor_count(&t[i]) * sizeof(float));
  }
  return finish_body(&j, rc, out);
}
