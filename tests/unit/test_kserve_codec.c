/* test_kserve_codec.c: the Open Inference Protocol v2 bodies
 * (infer/kserve_codec.c) against the examples of the protocol's documents
 * (the REST spec's JSON inference request and response, and the binary
 * tensor extension's request and response, with FP32 tensors where the
 * examples use other types swath does not read), round trips between the
 * client's and the server's sides, refusals of malformed bodies, tensors
 * as JSON (infer/tensor_json.c), and what the fetcher reads of an error
 * answer (swath_fetch_error_text) and of response headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "infer/kserve_codec.h"
#include "infer/tensor_json.h"
#include "io/fetch.h"

/* A model with one input "input0" and the outputs named. */
static swath_model_info model_info(int n, const char *const *outs) {
  swath_model_info m;
  memset(&m, 0, sizeof m);
  snprintf(m.input.name, sizeof m.input.name, "input0");
  m.noutputs = n;
  for (int i = 0; i < n; i++)
    snprintf(m.outputs[i].name, sizeof m.outputs[i].name, "%s", outs[i]);
  return m;
}

static void expect_fail(int rc, int code, const char *part) {
  assert_int_equal(rc, code);
  if (!strstr(swath_error_message(), part))
    fail_msg("message '%s' lacks '%s'", swath_error_message(), part);
  assert_null(strchr(swath_error_message(), '\n'));
}

/* The REST spec's inference response example (FP32 [3, 2]). */
static void spec_json_response(void **st) {
  (void)st;
  static const char body[] = "{\"id\" : \"42\", \"outputs\" : [ { \"name\" : \"output0\", "
                             "\"shape\" : [ 3, 2 ], \"datatype\"  : \"FP32\", "
                             "\"data\" : [ 1.0, 1.1, 2.0, 2.1, 3.0, 3.1 ] } ] }";
  const char *names[] = {"output0"};
  swath_model_info m = model_info(1, names);
  swath_tensor out[1];
  assert_int_equal(swath_v2_response_decode(body, strlen(body), 0, &m, out), 0);
  assert_int_equal(out[0].ndim, 2);
  assert_int_equal(out[0].shape[0], 3);
  assert_int_equal(out[0].shape[1], 2);
  const float want[] = {1.0f, 1.1f, 2.0f, 2.1f, 3.0f, 3.1f};
  assert_memory_equal(out[0].data, want, sizeof want);
  swath_tensor_free(&out[0]);
}

/* The binary extension's response example: output0 in binary after the
 * JSON header, output1 as JSON. */
static void spec_binary_response(void **st) {
  (void)st;
  static const char head[] =
      "{\"outputs\" : [ { \"name\" : \"output0\", \"shape\" : [ 3, 2 ], \"datatype\"  : \"FP32\", "
      "\"parameters\" : { \"binary_data_size\" : 24 } }, { \"name\" : \"output1\", \"shape\" : [ "
      "2, 2 ], \"datatype\"  : \"FP32\", \"data\" : [ 8.0, 8.1, 8.2, 8.3 ] } ] }";
  const float bin[6] = {0.5f, -1, 2, 3.25f, 1e-7f, 4e6f};
  size_t hl = strlen(head), len = hl + sizeof bin;
  char *body = malloc(len);
  memcpy(body, head, hl);
  memcpy(body + hl, bin, sizeof bin);
  char hv[32];
  snprintf(hv, sizeof hv, "%zu", hl);
  size_t got_hl;
  assert_int_equal(swath_v2_header_len(hv, len, &got_hl), 0);
  assert_int_equal(got_hl, hl);
  /* asked in the other order: found by name */
  const char *names[] = {"output1", "output0"};
  swath_model_info m = model_info(2, names);
  swath_tensor out[2];
  assert_int_equal(swath_v2_response_decode(body, len, hl, &m, out), 0);
  const float w1[] = {8.0f, 8.1f, 8.2f, 8.3f};
  assert_memory_equal(out[0].data, w1, sizeof w1);
  assert_memory_equal(out[1].data, bin, sizeof bin);
  assert_int_equal(out[1].shape[0], 3);
  swath_tensor_free(&out[0]);
  swath_tensor_free(&out[1]);
  /* one byte more or less after the header than the sizes say */
  expect_fail(swath_v2_response_decode(body, len - 1, hl, &m, out), SWATH_EINVAL,
              "runs past the body's end");
  char *longer = malloc(len + 1);
  memcpy(longer, body, len);
  longer[len] = 0;
  expect_fail(swath_v2_response_decode(longer, len + 1, hl, &m, out), SWATH_EINVAL, "add up to 24");
  /* binary data without the header that says where the JSON ends */
  expect_fail(swath_v2_response_decode(body, hl, 0, &m, out), SWATH_EINVAL,
              "without an Inference-Header-Content-Length");
  free(longer);
  free(body);
}

/* The REST spec's request example, with FP32 input0 (flat and nested). */
static void spec_json_request(void **st) {
  (void)st;
  static const char *const bodies[] = {
      "{\"id\" : \"42\", \"inputs\" : [ { \"name\" : \"input0\", \"shape\" : [ 2, 2 ], "
      "\"datatype\" : \"FP32\", \"data\" : [ 1, 2, 3, 4 ] } ], \"outputs\" : [ { \"name\" : "
      "\"output0\" } ] }",
      "{\"id\" : \"42\", \"inputs\" : [ { \"name\" : \"input0\", \"shape\" : [ 2, 2 ], "
      "\"datatype\" : \"FP32\", \"data\" : [ [1, 2], [3, 4] ] } ], \"outputs\" : [ { \"name\" : "
      "\"output0\" } ] }"};
  for (int b = 0; b < 2; b++) {
    swath_v2_request rq;
    assert_int_equal(swath_v2_request_decode(bodies[b], strlen(bodies[b]), 0, &rq), 0);
    assert_string_equal(rq.id, "42");
    assert_string_equal(rq.input, "input0");
    assert_int_equal(rq.tensor.ndim, 2);
    const float want[] = {1, 2, 3, 4};
    assert_memory_equal(rq.tensor.data, want, sizeof want);
    assert_int_equal(rq.noutputs, 1);
    assert_string_equal(rq.outputs[0], "output0");
    assert_int_equal(rq.binary[0], 0);
    swath_v2_request_clear(&rq);
  }
  /* the example as written, with UINT32 and BOOL inputs: refused */
  static const char spec[] =
      "{\"id\" : \"42\", \"inputs\" : [ { \"name\" : \"input0\", \"shape\" : [ 2, 2 ], "
      "\"datatype\" : \"UINT32\", \"data\" : [ 1, 2, 3, 4 ] }, { \"name\" : \"input1\", \"shape\" "
      ": [ 3 ], \"datatype\" : \"BOOL\", \"data\" : [ true ] } ], \"outputs\" : [ { \"name\" : "
      "\"output0\" } ] }";
  swath_v2_request rq;
  expect_fail(swath_v2_request_decode(spec, strlen(spec), 0, &rq), SWATH_EINVAL,
              "2 inputs; the model takes one");
}

/* The binary extension's request example, with one FP32 input. */
static void spec_binary_request(void **st) {
  (void)st;
  static const char head[] =
      "{\"model_name\" : \"mymodel\", \"inputs\" : [ { \"name\" : \"input0\", \"shape\" : [ 2, 2 "
      "], \"datatype\" : \"FP32\", \"parameters\" : { \"binary_data_size\" : 16 } } ], "
      "\"outputs\" : [ { \"name\" : \"output0\", \"parameters\" : { \"binary_data\" : true } }, "
      "{ \"name\" : \"output1\" } ] }";
  const float bin[4] = {1.5f, -2, 3, 4};
  size_t hl = strlen(head);
  char body[sizeof head + sizeof bin];
  memcpy(body, head, hl);
  memcpy(body + hl, bin, sizeof bin);
  swath_v2_request rq;
  assert_int_equal(swath_v2_request_decode(body, hl + sizeof bin, hl, &rq), 0);
  assert_memory_equal(rq.tensor.data, bin, sizeof bin);
  assert_int_equal(rq.noutputs, 2);
  assert_int_equal(rq.binary[0], 1);
  assert_int_equal(rq.binary[1], 0);
  swath_v2_request_clear(&rq);
  /* a datatype swath does not read, a size that is not 4 x the values */
  char *bad = strdup(body);
  memcpy(strstr(bad, "FP32"), "FP16", 4);
  expect_fail(swath_v2_request_decode(bad, hl + sizeof bin, hl, &rq), SWATH_EINVAL,
              "datatype FP16");
  free(bad);
  expect_fail(swath_v2_request_decode(body, hl + 8, hl, &rq), SWATH_EINVAL, "past the body's end");
}

static void round_trips(void **st) {
  (void)st;
  const char *names[] = {"a", "b"};
  swath_model_info m = model_info(2, names);
  swath_tensor in;
  int64_t shape[4] = {2, 3, 4, 5};
  assert_int_equal(swath_tensor_alloc(&in, 4, shape), 0);
  for (size_t i = 0; i < swath_tensor_count(&in); i++)
    in.data[i] = (float)i / 7.0f - 3.3f;
  for (int binary = 0; binary < 2; binary++) {
    swath_v2_body b;
    assert_int_equal(swath_v2_request_encode(&m, &in, binary, &b), 0);
    assert_int_equal(b.header_len != 0, binary);
    swath_v2_request rq;
    assert_int_equal(swath_v2_request_decode(b.p, b.len, b.header_len, &rq), 0);
    assert_int_equal(rq.tensor.ndim, 4);
    assert_memory_equal(rq.tensor.shape, shape, sizeof shape);
    assert_memory_equal(rq.tensor.data, in.data, swath_tensor_count(&in) * 4); /* exact */
    assert_int_equal(rq.noutputs, 2);
    assert_int_equal(rq.binary[1], binary);
    /* the server's answer, read back by the client */
    swath_tensor outs[2] = {in, rq.tensor};
    int bin[2] = {binary, 0};
    swath_v2_body r;
    assert_int_equal(swath_v2_response_encode("m", "id-1", 2, names, outs, bin, &r), 0);
    swath_tensor got[2];
    assert_int_equal(swath_v2_response_decode(r.p, r.len, r.header_len, &m, got), 0);
    for (int k = 0; k < 2; k++) {
      assert_int_equal(got[k].ndim, 4);
      assert_memory_equal(got[k].data, in.data, swath_tensor_count(&in) * 4);
      swath_tensor_free(&got[k]);
    }
    swath_v2_body_clear(&r);
    swath_v2_request_clear(&rq);
    swath_v2_body_clear(&b);
  }
  in.data[3] = INFINITY; /* JSON cannot carry it; binary can */
  swath_v2_body b;
  expect_fail(swath_v2_request_encode(&m, &in, 0, &b), SWATH_EINVAL, "which JSON cannot carry");
  assert_int_equal(swath_v2_request_encode(&m, &in, 1, &b), 0);
  swath_v2_body_clear(&b);
  swath_tensor_free(&in);
}

static void malformed(void **st) {
  (void)st;
  static const struct {
    const char *body, *part;
  } cases[] = {
      {"{\"inputs\":", "the request is not JSON"},
      {"[1,2]", "not a JSON object"},
      {"{}", "no \"inputs\" array"},
      {"{\"inputs\":[{\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}", "no \"name\""},
      {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"data\":[1]}]}",
       "\"shape\" is missing"},
      {"{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"data\":[1]}]}", "no \"datatype\""},
      {"{\"inputs\":[{\"name\":\"x\",\"shape\":[-1],\"datatype\":\"FP32\",\"data\":[1]}]}",
       "is not a whole number >= 0"},
      {"{\"inputs\":[{\"name\":\"x\",\"shape\":[1,1,1,1,1,1,1,1,1],\"datatype\":\"FP32\","
       "\"data\":[1]}]}",
       "9 dimensions"},
      {"{\"inputs\":[{\"name\":\"x\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1]}]}",
       "\"data\" holds 1 values; its shape, 2"},
      {"{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1,2]}]}",
       "\"data\" holds 2 values; its shape, 1"},
      {"{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[\"a\"]}]}",
       "other than numbers"},
      {"{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1e39]}]}",
       "out of float32's range"},
      {"{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\"}]}",
       "neither \"data\" nor binary_data_size"},
      {"{\"inputs\":[{\"name\":\"x\",\"shape\":[100000000000],\"datatype\":\"FP32\",\"data\":[[1]]}"
       "]}",
       "more than its"},
      {"{\"id\":7,\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
       "\"id\" must be a string"},
      {"{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],"
       "\"outputs\":[{}]}",
       "requested output 0 has no \"name\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    swath_v2_request rq;
    expect_fail(swath_v2_request_decode(cases[i].body, strlen(cases[i].body), 0, &rq), SWATH_EINVAL,
                cases[i].part);
  }
  size_t hl;
  expect_fail(swath_v2_header_len("12x", 100, &hl), SWATH_EINVAL, "not a length");
  expect_fail(swath_v2_header_len("101", 100, &hl), SWATH_EINVAL, "100 byte body");
  expect_fail(swath_v2_header_len("0", 100, &hl), SWATH_EINVAL, "not a length");
  assert_int_equal(swath_v2_header_len(NULL, 100, &hl), 0);
  assert_int_equal(hl, 0);
  /* an answer without an output asked for, or of another datatype */
  const char *names[] = {"y"};
  swath_model_info m = model_info(1, names);
  swath_tensor out[1];
  static const char a1[] = "{\"outputs\":[{\"name\":\"z\",\"shape\":[1],\"datatype\":\"FP32\","
                           "\"data\":[1]}]}";
  expect_fail(swath_v2_response_decode(a1, strlen(a1), 0, &m, out), SWATH_EINVAL, "no output 'y'");
  static const char a2[] = "{\"outputs\":[{\"name\":\"y\",\"shape\":[1],\"datatype\":\"INT64\","
                           "\"data\":[1]}]}";
  expect_fail(swath_v2_response_decode(a2, strlen(a2), 0, &m, out), SWATH_EINVAL, "datatype INT64");
  expect_fail(swath_v2_response_decode("{}", 2, 0, &m, out), SWATH_EINVAL, "no \"outputs\"");
}

static void metadata(void **st) {
  (void)st;
  /* the spec's $metadata_model_response */
  static const char doc[] =
      "{\"name\":\"solar\",\"versions\":[\"1\"],\"platform\":\"onnxruntime_onnx\","
      "\"inputs\":[{\"name\":\"chips\",\"datatype\":\"FP32\",\"shape\":[-1,3,256,256]}],"
      "\"outputs\":[{\"name\":\"heat\",\"datatype\":\"FP32\",\"shape\":[-1,5,64,64]},"
      "{\"name\":\"box\",\"datatype\":\"FP32\",\"shape\":[-1,4,64,64]}],"
      "\"parameters\":{\"max_batch_size\":16}}";
  swath_model_info m;
  memset(&m, 0, sizeof m);
  assert_int_equal(swath_v2_metadata_decode(doc, strlen(doc), &m), 0);
  assert_string_equal(m.name, "solar");
  assert_string_equal(m.input.name, "chips");
  assert_int_equal(m.input.ndim, 4);
  assert_int_equal(m.input.shape[0], -1);
  assert_int_equal(m.input.shape[3], 256);
  assert_int_equal(m.noutputs, 2);
  assert_string_equal(m.outputs[1].name, "box");
  assert_int_equal(m.outputs[1].shape[1], 4);
  assert_int_equal(m.max_batch, 16);
  /* what the server publishes reads back the same */
  json_t *j = swath_v2_metadata_json(&m, "solar");
  char *s = json_dumps(j, 0);
  swath_model_info back;
  memset(&back, 0, sizeof back);
  assert_int_equal(swath_v2_metadata_decode(s, strlen(s), &back), 0);
  assert_memory_equal(&back.input, &m.input, sizeof m.input);
  assert_memory_equal(back.outputs, m.outputs, sizeof m.outputs);
  assert_int_equal(back.max_batch, 16);
  free(s);
  json_decref(j);
  expect_fail(swath_v2_metadata_decode("{\"model_version_status\":[]}", 27, &m), SWATH_EINVAL,
              "not the v2 protocol's");
  static const char two[] = "{\"name\":\"a\",\"inputs\":[{},{}],\"outputs\":[]}";
  expect_fail(swath_v2_metadata_decode(two, strlen(two), &m), SWATH_EINVAL, "2 inputs");
  static const char i64[] = "{\"name\":\"a\",\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT64\","
                            "\"shape\":[1]}],\"outputs\":[{}]}";
  expect_fail(swath_v2_metadata_decode(i64, strlen(i64), &m), SWATH_EINVAL, "is INT64");
}

static void tensor_json(void **st) {
  (void)st;
  json_t *v = json_loads("[[[1, 2.5], [3, 4]], [[5, 6], [7, 8]]]", 0, NULL);
  int ndim;
  int64_t shape[SWATH_TENSOR_MAX_DIMS];
  size_t n;
  assert_int_equal(swath_tensor_json_shape(v, "t", &ndim, shape, &n), 0);
  assert_int_equal(ndim, 3);
  assert_int_equal(n, 8);
  float d[8];
  assert_int_equal(swath_tensor_json_read(v, "t", shape, ndim, d, n), 0);
  assert_true(d[1] == 2.5f && d[7] == 8);
  json_decref(v);
  v = json_loads("[[1, 2], [3]]", 0, NULL); /* ragged */
  assert_int_equal(swath_tensor_json_shape(v, "t", &ndim, shape, &n), 0);
  expect_fail(swath_tensor_json_read(v, "t", shape, ndim, d, n), SWATH_EINVAL, "ragged");
  json_decref(v);
  v = json_loads("[[1, 2], 3]", 0, NULL);
  expect_fail(swath_tensor_json_read(v, "t", shape, ndim, d, n), SWATH_EINVAL, "a number at");
  json_decref(v);
  /* nested output, written with 9 digits: reads back exactly */
  swath_tensor t;
  int64_t sh[2] = {2, 3};
  swath_tensor_alloc(&t, 2, sh);
  for (int i = 0; i < 6; i++)
    t.data[i] = 1.0f / (float)(i + 3);
  swath_jtext j = {0};
  assert_int_equal(swath_tensor_json_write(&j, &t, 1), 0);
  v = json_loadb(j.p, j.len, 0, NULL);
  assert_non_null(v);
  assert_int_equal(json_array_size(v), 2);
  assert_int_equal(swath_tensor_json_read(v, "t", sh, 2, d, 6), 0);
  assert_memory_equal(d, t.data, 6 * sizeof(float));
  json_decref(v);
  free(j.p);
  swath_tensor_free(&t);
}

/* What the fetcher quotes of an error answer, and response headers. */
static void fetch_texts(void **st) {
  (void)st;
  char buf[400];
  static const char ks[] = "{\"error\": \"Model with name foo does not exist.\"}";
  assert_int_equal(swath_fetch_error_text(ks, strlen(ks), "application/json", buf, sizeof buf),
                   strlen("Model with name foo does not exist."));
  assert_string_equal(buf, "Model with name foo does not exist.");
  static const char nested[] = "{\"error\": {\"code\": 3, \"message\": \"bad\\ninput\"}}";
  swath_fetch_error_text(nested, strlen(nested), NULL, buf, sizeof buf);
  assert_string_equal(buf, "bad input");
  static const char ogc[] = "{\"code\":\"PayloadTooLarge\",\"description\":\"too big\"}";
  swath_fetch_error_text(ogc, strlen(ogc), NULL, buf, sizeof buf);
  assert_string_equal(buf, "too big");
  assert_int_equal(swath_fetch_error_text("busy\nsecond", 11, "text/plain", buf, sizeof buf), 4);
  assert_int_equal(swath_fetch_error_text("<html>x</html>", 14, "text/html", buf, sizeof buf), 0);
  assert_int_equal(swath_fetch_error_text("{\"x\":1}", 7, NULL, buf, sizeof buf), 0);
  char big[1000];
  memset(big, 'a', sizeof big);
  assert_int_equal(swath_fetch_error_text(big, sizeof big, "text/plain", buf, sizeof buf), 300);
  const char *h = "Content-Type: application/octet-stream\n"
                  "inference-header-content-length:  123 \nX: y\n";
  char v[32];
  assert_string_equal(swath_fetch_header(h, "Inference-Header-Content-Length", v, sizeof v), "123");
  assert_null(swath_fetch_header(h, "Content-Length", v, sizeof v));
  assert_null(swath_fetch_header(NULL, "X", v, sizeof v));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(spec_json_response), cmocka_unit_test(spec_binary_response),
      cmocka_unit_test(spec_json_request),  cmocka_unit_test(spec_binary_request),
      cmocka_unit_test(round_trips),        cmocka_unit_test(malformed),
      cmocka_unit_test(metadata),           cmocka_unit_test(tensor_json),
      cmocka_unit_test(fetch_texts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
