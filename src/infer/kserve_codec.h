/* kserve_codec.h: the bodies of the Open Inference Protocol v2 REST API
 * (KServe, Triton, MLServer: "v2"), as the KServe runtime sends and reads
 * them (model_kserve.c) and `swath model serve` reads and answers them
 * (server/kserve.c). Pure functions of their arguments: no I/O, no state.
 *
 * What swath speaks of the protocol (docs/models.md, "Model servers"):
 *  - model metadata {name, versions?, platform, inputs, outputs,
 *    parameters?}: one FP32 input, 1 to SWATH_MODEL_MAX_OUTPUTS FP32
 *    outputs, shapes with -1 for an open dimension; a max batch in
 *    parameters.max_batch_size (swath's server publishes it there) is
 *    honoured;
 *  - inference requests with one FP32 input and the outputs named, either
 *    all JSON ("data": a flat row-major array) or with the binary tensor
 *    extension: the JSON header first, its length in the
 *    Inference-Header-Content-Length HTTP header, then the raw tensors
 *    (little-endian, row-major, no padding) in the order the header lists
 *    those that carry "parameters": {"binary_data_size": bytes};
 *    {"binary_data": true} on a requested output (or the request's
 *    "binary_data_output": true) asks for it in binary;
 *  - responses in either form, "data" flat or nested.
 *
 * Errors are SWATH_EINVAL with one line naming the part of the body at
 * fault; a runtime that reads a server's answer reports them as
 * SWATH_EIO (a server fault). */
#ifndef SWATH_INFER_KSERVE_CODEC_H
#define SWATH_INFER_KSERVE_CODEC_H

#include <jansson.h>
#include <stddef.h>

#include "infer/model.h"

/* A body to send: JSON, or a JSON header of header_len bytes followed by
 * binary tensors (header_len 0: all JSON). */
typedef struct swath_v2_body {
  char *p; /* malloc'd, owned */
  size_t len;
  size_t header_len;
} swath_v2_body;

void swath_v2_body_clear(swath_v2_body *b);

/* The value of an Inference-Header-Content-Length header for a body of
 * body_len bytes: 0 when `value` is NULL (no header: all JSON), else a
 * whole number 1..body_len. SWATH_EINVAL otherwise. */
int swath_v2_header_len(const char *value, size_t body_len, size_t *out);

/* ---- model metadata ---- */

/* The metadata document of `info` as a model called `name`. NULL: out of
 * memory. */
json_t *swath_v2_metadata_json(const swath_model_info *info, const char *name);
/* Read a metadata document into *info (runtime left as it is). */
int swath_v2_metadata_decode(const char *body, size_t len, swath_model_info *info);

/* ---- the client's side ---- */

/* A request for every output info lists, with `in` as info's input. */
int swath_v2_request_encode(const swath_model_info *info, const swath_tensor *in, int binary,
                            swath_v2_body *out);
/* Read the answer: out[i] gets info->outputs[i] (found by name), FP32,
 * any shape (the caller checks shapes). On failure none is left allocated. */
int swath_v2_response_decode(const char *body, size_t len, size_t header_len,
                             const swath_model_info *info, swath_tensor *out);

/* ---- the server's side ---- */

typedef struct swath_v2_request {
  char id[128]; /* "" when the request has none */
  char input[128];
  swath_tensor tensor; /* the input (owned) */
  int noutputs;        /* outputs named in the request; 0: all */
  char outputs[SWATH_MODEL_MAX_OUTPUTS][128];
  int binary[SWATH_MODEL_MAX_OUTPUTS]; /* that output wanted in binary */
  int binary_all;                      /* parameters.binary_data_output */
} swath_v2_request;

int swath_v2_request_decode(const char *body, size_t len, size_t header_len, swath_v2_request *rq);
void swath_v2_request_clear(swath_v2_request *rq);

/* An answer with n outputs (names[i], t[i]); binary[i]: in binary. */
int swath_v2_response_encode(const char *model, const char *id, int n, const char *const *names,
                             const swath_tensor *t, const int *binary, swath_v2_body *out);

#endif
