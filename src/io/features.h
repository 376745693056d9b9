/* features.h: the features of vector processes (detectors, contours): the
 * per-task collector that decides which features a process tile owns, and
 * the features store they are written to.
 *
 * Collector. The engine makes one swath_features per task, says which
 * tiles of the metatile the task makes (the area's), and hands it to the
 * process in swath_tile_ctx. The process adds every feature it finds in its
 * buffered block; swath_features_add keeps one only if its anchor falls in
 * a tile the task makes, found in the zoom's pixel lattice, so an object
 * seen by two overlapping blocks is kept by exactly one of them.
 *
 * Store. A second kind of sink (the raster sink writes tiles): every
 * feature with its class, score, model, job key and owning tile. Writes
 * are per task and replace what an earlier attempt of the task wrote for
 * the same tiles, in one transaction, before the task is recorded done:
 * kill -9 and resume neither lose nor duplicate a feature. One
 * implementation, features_ogr.c (GeoPackage, or PostGIS through OGR's PG
 * driver when the path is a PG: connection), behind
 * swath_features_store_vtable; the layer's schema is in docs/detection.md. */
#ifndef SWATH_IO_FEATURES_H
#define SWATH_IO_FEATURES_H

#include <stdint.h>

#include "core/grid.h"
#include "swath/plugin.h"

/* A kept feature (owned strings). */
typedef struct swath_feature_rec {
  char *wkt;
  char *cls;
  double score;
  int has_value;
  double value;
  swath_tile tile; /* the output tile that owns it */
} swath_feature_rec;

struct swath_features {
  /* Set by the engine before the process runs. */
  int zoom;
  int64_t col0, row0; /* the block's top-left in the zoom's pixel lattice */
  int64_t tx0, ty0;   /* the metatile's first tile */
  int m;              /* metatiling: the metatile is m x m tiles (fewer at the edge) */
  int ntx, nty;       /* tiles of this metatile (clipped to the matrix) */
  int tile_width, tile_height;
  /* The zoom's tile matrix origin (top-left, grid CRS): a built-in that
   * computes in the pixel lattice (contours) maps lattice coordinates to
   * the grid CRS with it, the same numbers from every block. */
  double origin_x, origin_y;
  const unsigned char *made; /* m*m flags: the tiles the task makes (NULL: all) */
  /* Filled by swath_features_add. */
  int n, cap;
  swath_feature_rec *v;
  int64_t offered; /* features the process added, kept or not */
};

/* Keep `f` if the task owns it (a copy); 0 or SWATH_EINVAL (no geometry,
 * an anchor that is not a number). The host's feature_add. */
int swath_features_add(swath_features *fs, const swath_feature *f);
/* Drop the kept features (the collector can be reused). */
void swath_features_clear(swath_features *fs);

/* ---- the features store ---- */

typedef struct swath_features_cfg {
  const char *path;  /* a .gpkg file, or a PG: connection string */
  const char *crs;   /* the grid's CRS (as GDAL reads it) */
  const char *job;   /* the job key, stored with every feature */
  const char *model; /* what made them (the model's name, or the process) */
  int check;         /* only prove it can be opened or made; create nothing */
} swath_features_cfg;

/* Bump when swath_features_store_vtable or swath_features_cfg changes layout. */
#define SWATH_FEATURES_ABI 1

typedef struct swath_features_store_vtable {
  const char *name;
  int abi_version;
  /* Open or create the store; with cfg->check, only check. SWATH_EINVAL
   * with one line for a path that cannot hold one. */
  int (*open)(const swath_features_cfg *cfg, void **state);
  /* Replace the features of task `task` in the tiles flagged in `made`
   * (m*m flags from the metatile's first tile, NULL: all) by `f` (n), in
   * one transaction. Thread-safe. */
  int (*write_task)(void *state, swath_tile task, int m, const unsigned char *made,
                    const swath_feature_rec *f, int n);
  /* Delete every feature (another job's product, --overwrite). */
  int (*clear)(void *state);
  /* Number of features stored. */
  int (*count)(void *state, int64_t *n);
  void (*close)(void *state);
} swath_features_store_vtable;

extern const swath_features_store_vtable swath_features_ogr;

/* The layer every store holds. */
#define SWATH_FEATURES_LAYER "features"

#endif
