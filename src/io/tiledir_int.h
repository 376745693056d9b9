/* tiledir_int.h: the tile directory sink's state, shared by its files
 * (sink_tiledir.c: the sink; tiledir_encode.c: turning a block into a tile
 * file). Internal to the io layer. */
#ifndef SWATH_IO_TILEDIR_INT_H
#define SWATH_IO_TILEDIR_INT_H

#include <gdal.h>

#include "core/raster.h"
#include "io/sink.h"
#include "io/tiledir_blank.h"

typedef struct tiledir {
  swath_sink_cfg cfg;
  char *path, *format, *compression, *name;
  const char *ext;
  GDALDriverH drv;
  char *wkt;
  GDALColorTableH palette; /* band 1's colour table in GTiff tiles, or NULL */
  int grey_to_rgb;         /* 1-band results written as R=G=B (WEBP holds no grey) */
  int data_bands;          /* bands of the rasters the engine hands over */
  int has_blanks;          /* blanks is open (output.empty_tiles: link) */
  swath__blanks blanks;
  char tmpdir[4200];
  int has_extent; /* set_extent was called: limits below, not from cfg.bounds */
  swath_sink_extent extent;
} tiledir;

/* Encode r (tile tl; tl.z < 0: no georeferencing) into the new file `tmp`
 * in the sink's format and options. */
int swath__tiledir_encode(const tiledir *t, swath_tile tl, const swath_raster *r, const char *tmp);
/* Through GDAL's driver, from a MEM dataset over `data` (and `alpha`, if
 * any, as the last band); `tmp` may be a /vsimem/ name. */
int swath__tiledir_write_gdal(const tiledir *t, swath_tile tl, const char *tmp,
                              const swath_raster *r, void *data, void *alpha);

#endif
