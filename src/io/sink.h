/* sink.h: where results go. A sink receives finished output tiles (one
 * output tile, tile_size x tile_size, already clipped from the metatile) and
 * writes them atomically: temp file in the same directory, then rename, so a
 * crash never leaves a truncated tile that a resume would take as done.
 * write_tile is called concurrently from worker threads. Implementations:
 * sink_tiledir.c ({path}/{z}/{x}/{y}.{ext}) and sink_none.c (no tiles), registered by name in sink.c
 * (the engine looks a job's sink up there; none is hard-coded). */
#ifndef SWATH_IO_SINK_H
#define SWATH_IO_SINK_H

#include "core/area.h"
#include "core/grid.h"
#include "swath/plugin.h"

typedef struct swath_sink_cfg {
  const char *path;        /* output directory */
  const char *format;      /* GTiff | PNG | JPEG | WEBP */
  swath_dtype dtype;       /* type written (GTiff any; PNG Byte/UInt16; JPEG/WEBP Byte) */
  int bands;               /* data bands written (alpha excluded) */
  int alpha;               /* add an alpha band from the mask (PNG/WEBP/GTiff) */
  int has_nodata;          /* GTiff: write this nodata value instead of alpha */
  double nodata;
  const char *compression; /* GTiff COMPRESS, e.g. DEFLATE, or PNG zlib level (NULL: default) */
  int quality;             /* JPEG/WEBP quality (GTiff: of JPEG/WEBP compression), 0 = default */
  const swath_grid *grid;
  int min_zoom, max_zoom;
  const char *name;           /* product name for TileJSON/STAC */
  swath_lonlat_extent lonlat; /* the area in lon/lat for the metadata (split at the antimeridian) */
  swath_bounds bounds;        /* area bounds in the grid CRS (tile limits in stac.json) */
  /* The input's colour table (RGBA entries) for 1-band categorical output:
   * GTiff tiles of Byte or UInt16 keep it; other outputs warn at open. */
  const unsigned char (*palette)[4];
  int palette_n;
  /* output.empty_tiles: link: empty positions inside the limits become hard
   * links to one all-nodata tile (io/tiledir_blank.c). */
  int link_empty;
  int check; /* open checks only: the folder is not made, only proven makable; create()
                makes it (swath run calls it once every check has passed) */
} swath_sink_cfg;

/* What the folder holds, for the metadata finish() writes: every tile on
 * disk, from every run of the product, not only this run's. */
typedef struct swath_sink_extent {
  int min_zoom, max_zoom;                        /* zooms that have tiles */
  swath_bounds bounds;                           /* grid CRS */
  swath_lonlat_extent lonlat;                    /* lon/lat, center on data */
  int have[SWATH_GRID_MAX_ZOOMS];                /* limits[z] is set */
  swath_tile_range limits[SWATH_GRID_MAX_ZOOMS]; /* tiles on disk per zoom */
} swath_sink_extent;

/* Bump when swath_sink_vtable or swath_sink_cfg changes layout. */
#define SWATH_SINK_ABI 1

typedef struct swath_sink_vtable {
  const char *name;
  int abi_version; /* SWATH_SINK_ABI */
  /* Check the options and create the output location (fails with
   * SWATH_EINVAL if unwritable); with cfg->check it creates nothing, and
   * only create() may be called before close(). */
  int (*open)(const swath_sink_cfg *cfg, void **state);
  /* Create the output location of a sink opened with cfg->check. */
  int (*create)(void *state);
  int (*write_tile)(void *state, swath_tile t, const swath_raster *tile);
  /* Read a tile back (for overviews after a resume). SWATH_EEMPTY if absent. */
  int (*read_tile)(void *state, swath_tile t, swath_raster *out);
  /* Delete a tile if present (used by --overwrite of an empty tile). */
  int (*remove_tile)(void *state, swath_tile t);
  /* 1 if the output holds any tile, 0 if not. */
  int (*has_tiles)(void *state);
  /* Delete every tile and the metadata (another job's product, --overwrite). */
  int (*clear)(void *state);
  /* Describe `e` in finish()'s metadata instead of the cfg's zooms and
   * bounds (tile limits then come from e, not from the bounds). */
  void (*set_extent)(void *state, const swath_sink_extent *e);
  /* Write metadata next to the tiles (tilejson.json, stac.json); `job_yaml`
   * is the job text as run, stored as job.yaml. */
  int (*finish)(void *state, const char *job_yaml);
  void (*close)(void *state);
} swath_sink_vtable;

extern const swath_sink_vtable swath_sink_tiledir;
/* A product without tiles (a vector process's): only job.yaml. */
extern const swath_sink_vtable swath_sink_none;

/* The sink a job names when it names none. */
#define SWATH_SINK_DEFAULT "tiledir"
/* The sink registered as `name` (the built-ins: tiledir); SWATH_EINVAL with
 * one line naming the known ones otherwise. */
int swath_sink_find(const char *name, const swath_sink_vtable **out);
/* Register another sink, at start-up (before any run): SWATH_EINVAL for
 * another ABI version, a taken name, or one without open, write_tile or
 * close. */
int swath_sink_register(const swath_sink_vtable *vt);

/* What a job may ask of the tile folder, before any data is known: GTiff
 * compression among the GTiff driver's COMPRESS values (any case), PNG's a
 * zlib level 1-9, none for JPEG and WEBP; quality only where it is used
 * (JPEG, WEBP, GTiff with JPEG or WEBP compression). SWATH_EINVAL naming
 * the key otherwise. */
int swath_sink_check_options(const char *format, const char *compression, int quality);

/* File extension for a format ("tif", "png", "jpg", "webp"), NULL if unknown. */
const char *swath_sink_format_ext(const char *format);

#endif
