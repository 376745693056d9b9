/* stac.h: the STAC API (v1.0.0: core, collections, features, item search
 * with sort, filter and query) over a swath catalog, served by http.h.
 *
 * Each server thread opens its own read-only connection to the catalog the
 * first time it needs one, so requests never share SQLite state and an
 * ingest in another process can run while the server answers. */
#ifndef SWATH_SERVER_STAC_H
#define SWATH_SERVER_STAC_H

#include <stdint.h>

#include "server/http.h"

typedef struct swath_stac_config {
  const char *catalog;    /* path of the catalog file */
  swath_http_config http; /* host, port, threads, base_url */
  int64_t count_limit;    /* numberMatched counted up to this (0: always exact) */
} swath_stac_config;

typedef struct swath_stac_server swath_stac_server;

int swath_stac_start(const swath_stac_config *cfg, swath_stac_server **out);
/* Open the catalog without serving it: its routes are then served with
 * other APIs' in one server (swath_http_start_apis); stop it after that
 * server (swath_stac_stop). */
int swath_stac_open(const swath_stac_config *cfg, swath_stac_server **out);
swath_http_api swath_stac_api(swath_stac_server *s);
int swath_stac_port(const swath_stac_server *s);
void swath_stac_stop(swath_stac_server *s);

#endif
