/* warp.h: GDAL's warper onto a request's pixel grid, shared by every source
 * that reads through GDAL (local datasets, remote tile mosaics).
 *
 * A warper holds the transformer from one source dataset's pixels to the
 * grid CRS and its approximating wrapper. Building the transformer is the
 * expensive part (PROJ set-up), so a source that reads one dataset many
 * times builds it once; each read only swaps the destination geotransform.
 * Not thread-safe: one warper per thread. Also here: the MEM dataset over
 * swath's buffers that every hand-off to GDAL uses. */
#ifndef SWATH_IO_WARP_H
#define SWATH_IO_WARP_H

#include <gdal.h>

#include "io/source.h"

typedef struct swath__warper {
  GDALDatasetH src;     /* borrowed */
  int bands;            /* data bands 1..bands */
  int alpha_band;       /* 1-based alpha band of the source, 0 if none */
  int has_nodata;
  double nodata;
  char *dst_wkt;        /* grid CRS as WKT (owned) */
  void *gen;            /* GenImgProj transformer: src pixel -> dst pixel */
  void *approx;
  double approx_error;  /* threshold `approx` was built with */
  char last_error[512]; /* GDAL reports some failures only once per dataset */
} swath__warper;

/* Build the transformer from `src` (which must carry a CRS and geotransform)
 * to `dst_crs` (anything OSRSetFromUserInput takes). SWATH_EINVAL naming
 * `what` if GDAL cannot transform between them. */
int swath__warper_init(swath__warper *w, GDALDatasetH src, int bands, int alpha_band,
                       int has_nodata, double nodata, const char *dst_crs, const char *what);
void swath__warper_free(swath__warper *w);

/* Warp onto `req` as `dt` into `out` (allocated here; mask from the
 * warper's destination alpha: 255 where some valid source pixel landed).
 * SWATH_EEMPTY if no pixel holds data; SWATH_EIO naming the dataset if GDAL
 * reported any error. */
int swath__warp(swath__warper *w, const swath_read_req *req, swath_dtype dt, swath_raster *out);

/* A MEM dataset over caller-owned samples, no copy: `nplanes` consecutive
 * planes of w x h samples of `dt` from `planes`, then `extra` as one more
 * band if not NULL. The memory must outlive the dataset. NULL if GDAL
 * refuses. */
GDALDatasetH swath__mem_dataset(int w, int h, swath_dtype dt, void *planes, int nplanes, void *extra);

/* GDAL resampling for a name ("near", "bilinear", ...); bilinear if unknown
 * (names are checked when the job is loaded). */
int swath__resample_alg(const char *name);

#endif
