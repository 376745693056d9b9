/* source.h: where pixels come from. A source is opened once per worker
 * thread (each thread owns its handles: pixel code takes no locks) and reads
 * a block of pixels on a target pixel grid, reprojecting and resampling as
 * needed. Implementations: source_gdal.c (any GDAL dataset); remote tile
 * services plug in here too. */
#ifndef SWATH_IO_SOURCE_H
#define SWATH_IO_SOURCE_H

#include "core/grid.h"
#include "swath/plugin.h"

/* What a source is, as known after opening it. */
typedef struct swath_source_info {
  int bands;              /* data bands, alpha excluded */
  swath_dtype dtype;      /* type of the first band */
  int has_nodata;         /* the source marks missing data (nodata or alpha) */
  double nodata;          /* nodata value, if has_nodata and no alpha */
  int categorical;        /* paletted / thematic: nearest overviews */
  swath_bounds footprint; /* in the grid CRS; minx > maxx never */
  double native_res;      /* approximate pixel size in grid CRS units */
} swath_source_info;

/* A target pixel grid: `width` x `height` pixels over `bounds` in `crs`. */
typedef struct swath_read_req {
  const char *crs;        /* grid CRS as the grid names it */
  swath_bounds bounds;
  int width, height;
  const char *resampling; /* GDAL warp resampling name: near, bilinear, ... */
  swath_dtype dtype;      /* type to deliver; UNKNOWN = native */
  double warp_error;      /* max transformer approximation error in pixels; 0 = exact */
} swath_read_req;

typedef struct swath_source_vtable {
  const char *name;
  /* Open the source `uri` for reading into grid `g`; fill `info`. */
  int (*open)(const char *uri, const swath_grid *g, swath_source_info *info, void **state);
  /* Read the request into `out` (allocated here: bands = info.bands, mask
   * set). Returns SWATH_EEMPTY when no pixel holds data. */
  int (*read)(void *state, const swath_read_req *req, swath_raster *out);
  void (*close)(void *state);
} swath_source_vtable;

extern const swath_source_vtable swath_source_gdal;

/* Pick the implementation for an input URI (files, VRT, /vsi paths: GDAL). */
const swath_source_vtable *swath_source_for(const char *uri);

#endif
