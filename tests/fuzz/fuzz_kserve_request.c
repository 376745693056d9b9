/* fuzz_kserve_request.c: bodies of POST /v2/models/{name}/infer for `swath
 * model serve`, through the v2 codec's request reader (what
 * server/kserve.c runs on every request), and the same bytes as a model
 * server's answer through the client's response reader. Bytes 0-1 (big
 * endian) are the Inference-Header-Content-Length header (0: none), read
 * by swath_v2_header_len as the server reads the header; the body follows
 * (its JSON, then binary tensors). A request that is accepted must encode
 * back into an answer that reads with the same shape. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_util.h"
#include "infer/kserve_codec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  return 0;
}

static void answer_round_trip(const swath_v2_request *rq) {
  const char *names[1] = {"out"};
  int bin[1] = {rq->binary_all};
  swath_v2_body b;
  int rc = swath_v2_response_encode("m", rq->id, 1, names, &rq->tensor, bin, &b);
  if (rc == SWATH_EINVAL) return; /* a value JSON cannot carry (NaN) */
  if (rc) abort();
  swath_model_info info;
  memset(&info, 0, sizeof info);
  strcpy(info.outputs[0].name, "out");
  info.noutputs = 1;
  swath_tensor t[1];
  if (swath_v2_response_decode(b.p, b.len, b.header_len, &info, t)) abort();
  if (t[0].ndim != rq->tensor.ndim ||
      memcmp(t[0].shape, rq->tensor.shape, sizeof(int64_t) * (size_t)t[0].ndim))
    abort();
  swath_tensor_free(&t[0]);
  swath_v2_body_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input(data, size);
  if (size < 2) return 0;
  unsigned v = (unsigned)data[0] << 8 | data[1];
  char value[16];
  snprintf(value, sizeof value, "%u", v);
  const char *body = (const char *)data + 2;
  size_t len = size - 2, hl;
  swath_error_clear();
  int rc = swath_v2_header_len(v ? value : NULL, len, &hl);
  fuzz_check_rc(rc, "header length", 1);
  if (rc) return 0;
  swath_v2_request rq;
  rc = swath_v2_request_decode(body, len, hl, &rq);
  fuzz_check_rc(rc, "v2 request", 1);
  if (!rc) {
    if (!rq.tensor.data || rq.tensor.ndim < 0 || rq.tensor.ndim > SWATH_TENSOR_MAX_DIMS) abort();
    answer_round_trip(&rq);
    swath_v2_request_clear(&rq);
  }
  swath_model_info info;
  memset(&info, 0, sizeof info);
  strcpy(info.outputs[0].name, "output0");
  info.noutputs = 1;
  swath_tensor t[1];
  swath_error_clear();
  rc = swath_v2_response_decode(body, len, hl, &info, t);
  fuzz_check_rc(rc, "v2 response", 1);
  if (!rc) swath_tensor_free(&t[0]);
  return 0;
}
