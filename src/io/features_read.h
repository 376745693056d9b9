/* features_read.h: the reading side of a features store (docs/detection.md):
 * an OGR data source (a GeoPackage, or PostGIS through a `PG:` connection)
 * with one layer `features` whose fields are class, score, model, job, z,
 * x, y, task and value, geometries in the layer's own CRS (the job grid's).
 *
 * A store is opened read-only and checked once (layer, fields and their
 * types, a CRS); a query (score threshold, classes, an area or lon/lat
 * bounds) then yields the features that pass it one at a time, so memory
 * stays flat however large the store. A feature is inside an area when its
 * centre (the centroid of its geometry) is. */
#ifndef SWATH_IO_FEATURES_READ_H
#define SWATH_IO_FEATURES_READ_H

#include <ogr_api.h>
#include <stdint.h>

#define SWATH_FEATURES_LAYER "features"

typedef struct swath_features swath_features;

typedef struct swath_features_query {
  int has_threshold;
  double threshold;      /* keep score >= threshold (in [0, 1]) */
  const char *classes;   /* "a,b,...": keep these classes; NULL: all */
  const char *area_file; /* any OGR file: keep centres inside the union of its polygons */
  int has_bounds;
  double bounds[4]; /* lon/lat W,S,E,N: keep centres inside */
} swath_features_query;

/* Open the store at `path` (a file, or a connection string GDAL opens).
 * SWATH_EINVAL with one line naming the store when it is missing, not a
 * vector data source, or lacks the layer, a field or a CRS. */
int swath_features_open(const char *path, swath_features **out);
void swath_features_close(swath_features *f);

/* Every feature of the store, whatever the query. */
int64_t swath_features_count_all(swath_features *f);
OGRLayerH swath_features_layer(const swath_features *f);
/* The layer's CRS, x/y (lon/lat) axis order. Owned by f. */
OGRSpatialReferenceH swath_features_srs(const swath_features *f);
const char *swath_features_path(const swath_features *f);

/* Set the query for the next walk (and start it). Reads the area file;
 * SWATH_EINVAL for bad classes, an unreadable area file or one without
 * polygons, bounds that do not transform. */
int swath_features_select(swath_features *f, const swath_features_query *q);
/* The next feature passing the query: 1 with *feat (the caller destroys
 * it) and *centre (its centroid in the store CRS, owned by f, valid until
 * the next call; NULL for a feature without geometry); 0 at the end. */
int swath_features_next(swath_features *f, OGRFeatureH *feat, OGRGeometryH *centre);

/* `s` as a score threshold: a number in [0, 1]; SWATH_EINVAL naming
 * `what` otherwise. */
int swath_parse_threshold(const char *s, const char *what, double *t);

#endif
