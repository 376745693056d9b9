/* viewer.h: the map viewer's static files (web/) served by `swath serve` at
 * /viewer/, as one more route table of the service (service.h).
 *
 * Only the files of a fixed table are served, each from one of two
 * configured folders (the viewer's own and MapLibre's dist/); a request
 * path is looked up in the table, never joined onto a folder. */
#ifndef SWATH_SERVER_VIEWER_H
#define SWATH_SERVER_VIEWER_H

#include "server/http.h"

typedef struct swath_viewer swath_viewer;

/* web: the viewer's folder (index.html, app.js, style.css), NULL for the
 * build's default (the source tree's web/); MapLibre's files are read from
 * web/node_modules/maplibre-gl/dist. Missing files are not an error here:
 * they answer 404 naming scripts/install-deps.sh. */
int swath_viewer_open(const char *web, swath_viewer **out);
swath_http_api swath_viewer_api(swath_viewer *v);
void swath_viewer_close(swath_viewer *v);

#endif
