/* export.h: a features store's features as a file others read (`swath
 * export`, docs/detection.md): GeoJSON (RFC 7946), CSV, FlatGeobuf or
 * GeoPackage, written by GDAL's own drivers, in lon/lat (EPSG:4326) unless
 * the store's CRS is kept. A file is written to a temporary name beside it
 * and renamed into place, so a failed export never leaves part of one. */
#ifndef SWATH_ENGINE_EXPORT_H
#define SWATH_ENGINE_EXPORT_H

#include <stdint.h>

#include "io/features_read.h"

typedef struct swath_export_opts {
  const char *format; /* geojson | csv | fgb | gpkg */
  swath_features_query query;
  const char *out; /* the file; NULL: stdout (geojson and csv only) */
  int tiles;       /* csv only: z,x,y,class,score, the best score per tile and class */
  int overwrite;   /* replace an existing `out` */
  int keep_crs;    /* fgb, gpkg: write in the store's CRS, not EPSG:4326 */
  int merge;       /* lines: one feature per merged line of equal class and value
                      (contour pieces joined across tiles); not csv, not tiles */
} swath_export_opts;

typedef struct swath_export_stats {
  int64_t written; /* features (or tile rows, with tiles) written */
  int64_t matched; /* features that passed the query (with merge: pieces merged) */
  int64_t total;   /* features in the store */
} swath_export_stats;

/* The features store of `src`: an output folder (its job.yaml's
 * output.features, relative to the job file's folder as the job loader
 * resolves it, else {src}/features.gpkg), a store file, or a connection
 * GDAL names itself (`PG:...`). *out is malloc'd. SWATH_EINVAL when `src`
 * does not exist. */
int swath_features_locate(const char *src, char **out);

/* Check the options alone (format, -o, --tiles): SWATH_EINVAL naming the
 * problem, before anything is opened. */
int swath_export_check(const swath_export_opts *o);
/* Export the features of the store at `store` that pass o->query. */
int swath_export(const char *store, const swath_export_opts *o, swath_export_stats *st);

#endif
