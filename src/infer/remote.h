/* remote.h: what the remote runtimes (model_kserve.c, model_tfserving.c)
 * share: the model spec's checks (an http(s) URL, a model name and version
 * that go into a URL path as they are), one fetcher per model (the spec's
 * limits, timeouts and retries, or the defaults; no "empty" statuses: a
 * 204 is an answer without a body, an error), and the GETs made at open,
 * whose failures are SWATH_EINVAL (a model that cannot be used) with one
 * line naming the server. */
#ifndef SWATH_INFER_REMOTE_H
#define SWATH_INFER_REMOTE_H

#include "infer/model.h"
#include "io/fetch.h"

typedef struct swath_remote {
  swath_fetcher *f;
  char base[480]; /* the server's URL, no trailing slash */
  char name[128]; /* the model's name on it */
} swath_remote;

/* Check the spec and start the fetcher; `runtime` names it in messages. */
int swath_remote_open(swath_remote *r, const swath_model_spec *spec, const char *runtime);
/* GET `url` (at open). On 0, *resp holds the answer (clear it). Otherwise
 * SWATH_EINVAL: "model server BASE has no model 'NAME' (...)" for a 404 of
 * the model's own URL (`what` NULL), else "model server BASE: WHAT: ..."
 * with the fetcher's reason. */
int swath_remote_get(swath_remote *r, const char *url, swath_fetch_response *resp,
                     const char *what);
void swath_remote_close(swath_remote *r);

#endif
