/* results.h: a job's results served under the Processes API (issue 20,
 * "Results served"; docs/service.md, "Results"):
 *   /jobs/{id}/tiles.json, /jobs/{id}/tiles/{z}/{x}/{y}.{ext}   the tile output
 *   /jobs/{id}/heatmap/tiles.json, /jobs/{id}/heatmap/{z}/{x}/{y}.png
 *   /jobs/{id}/features/...    an OGC API - Features dataset of the job's
 *                              features store (collection `detections`)
 * Every handler finds its job through swath__processes_job and serves only
 * files under the service's outputs root (swath__processes_outputs). */
#ifndef SWATH_SERVER_RESULTS_H
#define SWATH_SERVER_RESULTS_H

#include <jansson.h>

#include "server/http.h"

struct swath_qjob;

/* results_tiles.c */
/* The pyramids of successful jobs, remembered by the service (one per
 * swath_processes: swath__processes_pyramids). */
typedef struct swath_pyramids swath_pyramids;
int swath__pyramids_new(swath_pyramids **out);
void swath__pyramids_free(swath_pyramids *c);
void swath__h_tilejson(void *app, const swath_http_request *rq, swath_http_response *rs);
void swath__h_tile(void *app, const swath_http_request *rq, swath_http_response *rs);
void swath__h_heatmap_tilejson(void *app, const swath_http_request *rq, swath_http_response *rs);
void swath__h_heatmap_tile(void *app, const swath_http_request *rq, swath_http_response *rs);
/* Links rel tiles, features and heatmap appended to `links` for the
 * outputs the job has (a few stat calls: status documents are listed for
 * many jobs). */
void swath__results_links(const struct swath_qjob *j, const char *base, json_t *links);

/* results_features.c */
void swath__h_features_landing(void *app, const swath_http_request *rq, swath_http_response *rs);
void swath__h_features_conformance(void *app, const swath_http_request *rq,
                                   swath_http_response *rs);
void swath__h_features_collections(void *app, const swath_http_request *rq,
                                   swath_http_response *rs);
void swath__h_features_collection(void *app, const swath_http_request *rq, swath_http_response *rs);
void swath__h_features_items(void *app, const swath_http_request *rq, swath_http_response *rs);
void swath__h_features_item(void *app, const swath_http_request *rq, swath_http_response *rs);
/* The job's features store (a file or a PG: connection, malloc'd) as its
 * job text names it: output.features, else {output}/features.gpkg. */
int swath__job_features_store(const struct swath_qjob *j, char **out);

/* results_submit.c: called when the posted job (its text *text, JSON,
 * loaded from `path`) failed the submit checks with `rc`: a vector job
 * (detect, contours) without output.features gets a PostGIS store of its
 * own in `features_db` (a schema per job key and output folder) and 1 is
 * returned (*text replaced: submit again); without features_db,
 * SWATH_EINVAL naming --features-db; any other job: rc again, with the
 * message it had. */
int swath__features_db_job(const char *features_db, const char *path, char **text, int rc);
/* Check at start-up that `features_db` reaches PostgreSQL with PostGIS. */
int swath__features_db_check(const char *features_db);

#endif
