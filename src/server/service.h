/* service.h: `swath serve`'s one server: the STAC API over a catalog and/or
 * OGC API - Processes over the job queue, behind one listening socket.
 *
 * When the Processes API is served, a front table answers `/` (the
 * landing pages of the APIs served, their links merged), `/conformance`
 * (the union of their classes) and `/api` (an OpenAPI 3.0 document of
 * every route of every table, generated from the tables themselves, so no
 * path can be served without being described). The STAC API alone is
 * served exactly as before (its own `/`, `/conformance`, `/api`). Either
 * way the map viewer's files are served at /viewer/ (viewer.h). */
#ifndef SWATH_SERVER_SERVICE_H
#define SWATH_SERVER_SERVICE_H

#include "server/processes.h"
#include "server/stac.h"
#include "server/viewer.h"

typedef struct swath_service_config {
  swath_http_config http;
  const char *catalog; /* NULL: no STAC API */
  int64_t count_limit;
  int processes; /* serve the Processes API with proc */
  swath_processes_config proc;
  const char *web; /* the viewer's folder (viewer.h); NULL: the build's default */
} swath_service_config;

typedef struct swath_service swath_service;

int swath_service_start(const swath_service_config *cfg, swath_service **out);
int swath_service_port(const swath_service *s);
void swath_service_stop(swath_service *s);

/* The OpenAPI document of n route tables (new reference). */
json_t *swath_service_openapi(const swath_http_route *const *tables, int n, const char *base);

#endif
