/* metrics.h: the HTTP server's Prometheus metrics and `GET /metrics`
 * (text exposition format 0.0.4).
 *
 * Requests are counted by route pattern (the table's "/jobs/{}", never the
 * raw path, so the label set is bounded by the route tables), method and
 * status, and timed in a fixed-bucket histogram per route. Counting is
 * lock-free (relaxed atomics): requests run on MHD's thread pool. A
 * provider may add lines (the job queue's figures); its text is kept for
 * a couple of seconds so frequent scrapes cost the database nothing. */
#ifndef SWATH_SERVER_METRICS_H
#define SWATH_SERVER_METRICS_H

#include <stdio.h>

#include "server/http.h"

typedef struct swath_metrics swath_metrics;

/* The table serving GET /metrics (app: the swath_metrics). */
extern const swath_http_route swath_metrics_routes[];

/* Metrics over the routes of n APIs (the tables must outlive it). */
int swath_metrics_new(const swath_http_api *apis, int n, swath_metrics **out);
void swath_metrics_free(swath_metrics *m);
/* One answered request: its route (NULL: none matched), method, status
 * and the seconds from its headers to its answer. */
void swath_metrics_observe(swath_metrics *m, const swath_http_route *r, const char *method,
                           int status, double seconds);
/* More lines, written by fn(ud, out) at most every `cache_s` seconds. */
void swath_metrics_provider(swath_metrics *m, void (*fn)(void *ud, FILE *out), void *ud,
                            double cache_s);
/* The whole exposition (malloc'd, *len bytes). */
char *swath_metrics_render(swath_metrics *m, size_t *len);

#endif
