/* tiledir_meta.h: the files that make a tile directory a product (internal
 * to sink_tiledir.c): job.yaml, tilejson.json, tms.json and stac.json. */
#ifndef SWATH_IO_TILEDIR_META_H
#define SWATH_IO_TILEDIR_META_H

#include "io/sink.h"

/* Write `text` to {c->path}/{name} through a temp file and a rename. */
int swath__tiledir_write_file(const swath_sink_cfg *c, const char *name, const char *text);
/* The tile range stac.json's limits give for zoom z: from `e` (the tiles on
 * disk) when given, else one box around the area (across the antimeridian
 * too); 0 if there is no tile there. */
int swath__tiledir_limits(const swath_sink_cfg *c, const swath_sink_extent *e, int z,
                          swath_tile_range *lim);
/* Write tilejson.json, tms.json and stac.json for the tiles of `c`, whose
 * file extension is `ext`: tile limits per zoom from `e` (the tiles on disk)
 * when given, else from c->bounds. */
int swath__tiledir_write_meta(const swath_sink_cfg *c, const char *ext,
                              const swath_sink_extent *e);

#endif
