/* kserve.h: `swath model serve`, the Open Inference Protocol v2 REST API
 * (KServe's "v2": health, metadata, infer) over one model run in-process
 * (infer/model.h), served by http.h. A GPU box runs the model; other boxes
 * download and tile and reach it with `model: {type: kserve, ...}`.
 *
 * Each server thread runs its own instance of the model (the model's pool
 * holds one per thread), so requests on different connections run at
 * once. */
#ifndef SWATH_SERVER_KSERVE_H
#define SWATH_SERVER_KSERVE_H

#include "infer/model.h"
#include "server/http.h"

typedef struct swath_kserve_config {
  swath_model_spec model; /* the model to serve (onnx) */
  const char *name;       /* its name in URLs (NULL: the file name without .onnx) */
  int max_batch;          /* most chips per request (0: any); published in the metadata */
  swath_http_config http; /* host, port, threads, max_body */
} swath_kserve_config;

typedef struct swath_kserve_server swath_kserve_server;

/* Open the model (SWATH_EINVAL naming it if it cannot be used) and start
 * serving. */
int swath_kserve_start(const swath_kserve_config *cfg, swath_kserve_server **out);
int swath_kserve_port(const swath_kserve_server *s);
const char *swath_kserve_name(const swath_kserve_server *s);
void swath_kserve_stop(swath_kserve_server *s);

#endif
