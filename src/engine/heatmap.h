/* heatmap.h: object density of a features store as a raster pyramid
 * (docs/detection.md, "Heatmap"). Built from the features whenever it is
 * asked for (`swath heatmap`, or at the end of a run whose job has
 * output.heatmap), always whole: the folder then holds exactly the
 * features' density, never a mix of two builds.
 *
 * Into the output folder: heatmap.tif (one band: features per cell, or
 * the sum of their scores, in the store's CRS on square cells aligned to
 * multiples of the cell size), heatmap-rgba.tif (the same through the
 * colour ramp heatmap-ramp.txt, transparent where 0) and, from that, PNG
 * tiles {z}/{x}/{y}.png with tilejson.json, made by swath's own run. */
#ifndef SWATH_ENGINE_HEATMAP_H
#define SWATH_ENGINE_HEATMAP_H

#include <stdint.h>

#include "engine/run.h"

typedef struct swath_heatmap_opts {
  const char *out_dir;    /* the heatmap's folder (made if missing) */
  int min_zoom, max_zoom; /* tile zooms (e.g. 10-16) */
  double cell;            /* cell size: ground metres (cell_metres) or store CRS units */
  int cell_metres;
  int value_score; /* 0: count features per cell; 1: sum their scores */
  int has_threshold;
  double threshold; /* only features with score >= threshold */
  double max;       /* density at the ramp's top; 0: the densest cell's */
  const char *grid; /* the pyramid's grid; NULL: WebMercatorQuad */
  int workers;      /* tile workers, as swath_run_opts.workers */
  int progress;     /* as swath_run_opts.progress */
} swath_heatmap_opts;

typedef struct swath_heatmap_stats {
  int64_t features, total; /* features mapped, features in the store */
  int width, height;       /* cells of heatmap.tif */
  double cell;             /* cell size in the store CRS */
  double max;              /* the densest cell */
  swath_run_stats run;     /* the tiling run */
} swath_heatmap_stats;

/* "100m" (ground metres, converted with the store CRS's north-south scale
 * at the features' centre) or "250" (store CRS units). SWATH_EINVAL for
 * anything else or a size <= 0. */
int swath_heatmap_parse_cell(const char *s, double *cell, int *metres);

/* Build the heatmap of the store at `store` (a path or connection as
 * swath_features_open takes). SWATH_EEMPTY (message set, nothing written)
 * when no feature passes the threshold; SWATH_EINVAL for bad options or a
 * folder that holds another product; else as swath_run. */
int swath_heatmap_build(const char *store, const swath_heatmap_opts *o, swath_heatmap_stats *st);

/* The heatmap a job's output.heatmap asks for, of its features store, into
 * {output.path}/heatmap, after its run; a store without a feature above
 * the threshold is said in one line and is not an error. */
int swath_heatmap_of_job(const swath_job *job, int workers, int progress);

#endif
