/* area.h: where a job works. Bounds in any CRS or polygons from any
 * OGR-readable file, transformed once into the grid CRS. Tiles belong to the
 * area when their footprint really intersects a polygon (tested with a GEOS
 * prepared geometry), not merely the polygon's bounding box.
 *
 * An area owns an OGR geometry and is not thread-safe for intersection
 * queries: give each thread its own swath_area_clone() or lock. */
#ifndef SWATH_CORE_AREA_H
#define SWATH_CORE_AREA_H

#include <stdatomic.h>

#include "core/grid.h"

typedef struct swath_area swath_area;

/* Area from bounds (minx, miny, maxx, maxy) in `crs` ("EPSG:4326" etc.; for
 * geographic CRSs, minx > maxx means crossing the antimeridian). */
int swath_area_from_bounds(const swath_grid *g, swath_bounds b, const char *crs, swath_area **out);
/* Area from the union of all polygons of all layers of an OGR file. */
int swath_area_from_file(const swath_grid *g, const char *path, swath_area **out);
/* Area from a WKT geometry in `crs`. */
int swath_area_from_wkt(const swath_grid *g, const char *wkt, const char *crs, swath_area **out);
/* Intersection of an area with bounds in the grid CRS (used to clip the area
 * to the inputs' footprint). SWATH_EINVAL if nothing is left. */
int swath_area_clip(swath_area *a, swath_bounds grid_b);
void swath_area_free(swath_area *a);
swath_area *swath_area_clone(const swath_area *a);

/* Bounding box of the area in the grid CRS (minx > maxx never happens here:
 * an antimeridian-crossing area is split into parts). */
swath_bounds swath_area_bounds(const swath_area *a);
/* 1 if the box (grid CRS) intersects the area's interior, else 0. */
int swath_area_intersects(const swath_area *a, swath_bounds b);

/* Iterate the tiles (or metatiles, with m > 1) of zoom z that intersect the
 * area, row by row. Memory is constant in the number of tiles. */
typedef struct swath_tile_iter swath_tile_iter;
int swath_tile_iter_new(const swath_grid *g, const swath_area *a, int z, int m,
                        swath_tile_iter **out);
/* 1 and *t filled, 0 when exhausted. */
int swath_tile_iter_next(swath_tile_iter *it, swath_tile *t);
void swath_tile_iter_free(swath_tile_iter *it);
/* Count of tiles the iterator would yield, found without walking them
 * (area_count.c): an area of a few boxes (in the grid CRS: bounds) counts in
 * constant time (but for binary searches over the columns and rows); any
 * other by halving ranges of metatiles, where a range wholly outside the
 * area counts 0 and one wholly inside counts its size, so the cost follows
 * the length of the area's outline in tiles, not its surface. Negative code
 * on error. */
int64_t swath_area_count_tiles(const swath_grid *g, const swath_area *a, int z, int m);
/* The same, given up with SWATH_EINTR as soon as *stop is non-zero (set by
 * another thread; NULL: never). */
int64_t swath_area_count_tiles_until(const swath_grid *g, const swath_area *a, int z, int m,
                                     const atomic_int *stop);
/* A guess in constant time (plus one pass over the vertices): the
 * metatiles of the area's bbox times the share of the bbox the area covers.
 * Exact for an area of boxes. Negative code on error. */
int64_t swath_area_estimate_tiles(const swath_grid *g, const swath_area *a, int z, int m);

/* Bounds `b` in CRS `from` as bounds in CRS `to` (anything
 * OSRSetFromUserInput takes: "EPSG:4326", a URN, WKT), x/y (lon/lat) order,
 * edges densified. When `from` is geographic and `to` is not, latitudes are
 * first clipped to +-85.06 (Mercator-like projections have no image of the
 * poles). SWATH_EINVAL if a CRS is unknown or the bounds do not transform. */
int swath_bounds_transform(swath_bounds b, const char *from, const char *to, swath_bounds *out);

/* Grid CRS -> lon/lat (EPSG:4326, lon first), for GeoJSON output. Holds one
 * OGR coordinate transformation: not thread-safe, one per thread. */
typedef struct swath_lonlat swath_lonlat;
#define SWATH_LONLAT_RING_MAX 33 /* points swath_lonlat_ring may write */
int swath_lonlat_new(const swath_grid *g, swath_lonlat **out);
void swath_lonlat_free(swath_lonlat *t);
/* The outline of box `b` (grid CRS) as a closed counter-clockwise ring of
 * lon/lat pairs written to xy[2*i], xy[2*i+1]. Edges are densified where the
 * grid CRS bends them (not for lon/lat or Mercator grids). Returns the number
 * of points (at most SWATH_LONLAT_RING_MAX) or a negative code. */
int swath_lonlat_ring(swath_lonlat *t, swath_bounds b, double *xy);

/* An area's extent in lon/lat (EPSG:4326, lon first), for metadata. */
typedef struct swath_lonlat_extent {
  int n;               /* boxes: 1, or 2 when the extent crosses the antimeridian */
  swath_bounds box[2]; /* with 2: box[0] lies west of the antimeridian (up to 180), box[1]
                          east of it (from -180); the bbox is box[0].minx .. box[1].maxx */
  double lon, lat;     /* a point inside the area, not merely inside its bbox */
} swath_lonlat_extent;
/* The smallest lon/lat extent of the area's polygons, split at the
 * antimeridian when it crosses it, whatever the grid CRS. A grid CRS without
 * a lon/lat image gives the whole world. */
int swath_area_lonlat_extent(const swath_grid *g, const swath_area *a, swath_lonlat_extent *out);
/* For core/area_*.c only. The area's OGR geometry (OGRGeometryH, grid CRS). */
void *swath__area_geometry(const swath_area *a);
/* If the area is exactly a union of at most `max` boxes (rectangles in the
 * grid CRS: bounds, or two boxes across the antimeridian), their number, each
 * written to parts[]; else 0. */
int swath__area_boxes(const swath_area *a, swath_bounds *parts, int max);
/* The box around metatiles x0..x1, y0..y1 of zoom z, each shrunk as
 * swath_area_intersects shrinks a box: it misses the area exactly when all
 * of them do, and lies inside it only if each of them meets it. */
swath_bounds swath__area_metatiles_box(const swath_grid *g, int z, int m, int64_t x0, int64_t y0,
                                       int64_t x1, int64_t y1);
/* 1 if box b, taken as it is (not shrunk), meets the area (contains = 0) or
 * lies inside it (contains = 1). `scratch` is a polygon the test overwrites,
 * from swath__area_scratch_new (one per thread). */
int swath__area_box_meets(const swath_area *a, void *scratch, swath_bounds b, int contains);
void *swath__area_scratch_new(void);
void swath__area_scratch_free(void *scratch);

#endif
