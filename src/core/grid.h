/* grid.h: tile matrix sets (OGC TMS 2.0) and tile arithmetic.
 *
 * A grid is a CRS plus one tile matrix per zoom. Rows count downward from the
 * top-left corner of each matrix (XYZ order, as OGC TMS 2.0 and web maps do).
 * Built in: WebMercatorQuad (EPSG:3857) and WorldCRS84Quad (OGC:CRS84, lon/lat
 * order; 2x1 tiles at zoom 0), zooms 0-24. Custom grids come from an OGC
 * TileMatrixSet 2.0 JSON document. A grid is a plain value: copy it freely.
 *
 * Metatiling: a process tile ("metatile") at zoom z with metatiling m covers
 * the output tiles x in [mx*m, mx*m+m-1], y likewise, clipped to the matrix.
 * Metatile coordinates form the same quadtree as tiles, so parent/children of
 * a metatile are computed with the same functions. */
#ifndef SWATH_CORE_GRID_H
#define SWATH_CORE_GRID_H

#include <stdint.h>

#define SWATH_GRID_MAX_ZOOMS 31

typedef struct swath_bounds {
  double minx, miny, maxx, maxy;
} swath_bounds;

typedef struct swath_tile {
  int z;
  int64_t x, y;
} swath_tile;

/* An inclusive range of tile columns and rows at one zoom. */
typedef struct swath_tile_range {
  int z;
  int64_t minx, miny, maxx, maxy;
} swath_tile_range;

typedef struct swath_tile_matrix {
  char id[32];
  double cell_size;          /* CRS units per pixel */
  double origin_x, origin_y; /* top-left corner, in CRS axis order x/y */
  int tile_width, tile_height;
  int64_t matrix_width, matrix_height;
} swath_tile_matrix;

typedef struct swath_grid {
  char name[64];
  char crs[256];        /* as given: "EPSG:3857", "OGC:CRS84", a URI or WKT id */
  int is_geographic;    /* lon/lat degrees (wrap-around handling applies) */
  swath_bounds extent;  /* the grid's full extent in its CRS (x/y order) */
  int min_zoom, max_zoom;
  swath_tile_matrix m[SWATH_GRID_MAX_ZOOMS]; /* indexed by zoom */
} swath_grid;

/* Fill `g` with a built-in grid ("WebMercatorQuad", "WorldCRS84Quad"),
 * tile_size pixels square (0 means 256). SWATH_ENOTFOUND for other names. */
int swath_grid_builtin(const char *name, int tile_size, swath_grid *g);
/* Parse an OGC TileMatrixSet JSON file: TMS 2.0 (tileMatrices with cellSize,
 * pointOfOrigin, tileWidth/Height, matrixWidth/Height; cornerOfOrigin must be
 * topLeft) or TMS 1.0 (supportedCRS, tileMatrix with scaleDenominator,
 * topLeftCorner, ...). Zooms are the matrices' positions in the list. */
int swath_grid_from_tms_json(const char *path, swath_grid *g);
/* A built-in name or a path to a .json file. For a .json file tile_size 0
 * keeps the file's tile sizes; another value rescales every matrix to square
 * tiles of that size with the same ground footprint, as for built-ins. */
int swath_grid_load(const char *name_or_path, int tile_size, swath_grid *g);

/* Write the grid as OGC TMS 2.0 JSON into a malloc'd string (caller frees). */
char *swath_grid_to_tms_json(const swath_grid *g);

int swath_grid_has_zoom(const swath_grid *g, int z);
/* Bounds of a tile, in the grid CRS. */
swath_bounds swath_grid_tile_bounds(const swath_grid *g, swath_tile t);
/* Bounds of metatile `mt` (in metatile coordinates) with metatiling m,
 * clipped to the matrix. */
swath_bounds swath_grid_metatile_bounds(const swath_grid *g, swath_tile mt, int m);
/* Output tile range covered by a metatile, clipped to the matrix. */
swath_tile_range swath_grid_metatile_tiles(const swath_grid *g, swath_tile mt, int m);
/* Size in pixels of a metatile (edge metatiles may be smaller). */
void swath_grid_metatile_size(const swath_grid *g, swath_tile mt, int m, int *w, int *h);
/* Number of metatile columns/rows at zoom z. */
void swath_grid_metatile_matrix(const swath_grid *g, int z, int m, int64_t *cols, int64_t *rows);

/* The tile containing point (x, y); points on the far edge belong to the last
 * tile. SWATH_EINVAL if the point is outside the grid. */
int swath_grid_tile_of_point(const swath_grid *g, int z, double x, double y, swath_tile *t);
/* Tiles whose interior intersects `b` (grid CRS). For geographic grids (and
 * WebMercatorQuad / EPSG:3857, which wrap too; others: SWATH_EINVAL) a box
 * with minx > maxx crosses the antimeridian and yields two ranges. Bounds are
 * clipped to the grid extent. Returns the number of ranges written (0, 1 or
 * 2) or a negative code. Tiles that only touch `b` on an edge are excluded. */
int swath_grid_tiles_of_bounds(const swath_grid *g, int z, swath_bounds b, swath_tile_range out[2]);

/* The parent of a zoom-0 tile has z = -1 (there is none). */
swath_tile swath_tile_parent(swath_tile t);
/* The four children in order (x0,y0), (x1,y0), (x0,y1), (x1,y1). */
void swath_tile_children(swath_tile t, swath_tile out[4]);
/* The metatile containing tile t with metatiling m. */
swath_tile swath_tile_to_metatile(swath_tile t, int m);

#endif
