/* area_count.c: how many tiles (or metatiles) of a zoom meet an area, without
 * walking them.
 *
 * The answer is, by definition, what swath_tile_iter yields: the metatiles
 * of the candidate range (the tiles of the area's bbox) whose shrunk box
 * meets the area (area.c). Both ways below ask exactly that question, so the
 * count never differs from a walk; they only ask it about fewer boxes.
 *
 *   box area: a metatile meets it when its shrunk box overlaps the box, and
 *     the columns and rows that do are two intervals: a product, found by
 *     trimming the candidate range's ends (a step or two; constant time).
 *   any other area: a range of metatiles is tested as one box
 *     (swath__area_metatiles_box): missing the area, it counts 0; inside
 *     it, its size; else it is halved along its longer side. Only ranges on
 *     the outline are split, so the cost follows the outline's length in
 *     tiles (times the depth, about log2 of the range), not the surface.
 *
 * A count holds its own scratch polygon, so counts of one area may run in
 * several threads only on clones (the prepared geometry is not shared). */
#include <math.h>
#include <ogr_api.h>

#include "core/area.h"
#include "core/error.h"

typedef struct counter {
  const swath_grid *g;
  const swath_area *a;
  int z, m;
  void *scratch;
  const atomic_int *stop;
  int stopped;
} counter;

/* The candidate metatile range: what the iterator walks. 0 if empty. */
static int candidates(const swath_grid *g, const swath_area *a, int z, int m,
                      swath_tile_range *out) {
  if (m < 1) return swath_error_set(SWATH_EINVAL, "metatiling %d must be at least 1", m);
  swath_tile_range r[2];
  int n = swath_grid_tiles_of_bounds(g, z, swath_area_bounds(a), r);
  if (n <= 0) return n;
  *out = (swath_tile_range){z, r[0].minx / m, r[0].miny / m, r[0].maxx / m, r[0].maxy / m};
  return 1;
}

/* Does column x (row y) overlap box b? A metatile's column alone decides
 * its x extent, its row its y extent. */
static int col_ok(const counter *c, int64_t x, int64_t y, swath_bounds b) {
  swath_bounds t = swath__area_metatiles_box(c->g, c->z, c->m, x, y, x, y);
  return t.maxx > b.minx && t.minx < b.maxx;
}

static int row_ok(const counter *c, int64_t x, int64_t y, swath_bounds b) {
  swath_bounds t = swath__area_metatiles_box(c->g, c->z, c->m, x, y, x, y);
  return t.maxy > b.miny && t.miny < b.maxy;
}

/* A box area: a metatile meets it when its shrunk box overlaps the box in
 * both axes (area.c's test; the geometry is the box, so nothing else can
 * differ): the product of an interval of columns and one of rows. The
 * candidate range is at most a metatile wider on each side (a tile that
 * meets the bbox by less than the shrinking). */
static int64_t count_box(const counter *c, swath_tile_range r) {
  swath_bounds b = swath_area_bounds(c->a);
  while (r.minx <= r.maxx && !col_ok(c, r.minx, r.miny, b))
    r.minx++;
  while (r.maxx >= r.minx && !col_ok(c, r.maxx, r.miny, b))
    r.maxx--;
  while (r.miny <= r.maxy && !row_ok(c, r.minx, r.miny, b))
    r.miny++;
  while (r.maxy >= r.miny && !row_ok(c, r.minx, r.maxy, b))
    r.maxy--;
  if (r.minx > r.maxx || r.miny > r.maxy) return 0;
  return (r.maxx - r.minx + 1) * (r.maxy - r.miny + 1);
}

static int64_t count_range(counter *c, int64_t x0, int64_t y0, int64_t x1, int64_t y1) {
  if (c->stop && atomic_load_explicit(c->stop, memory_order_relaxed)) {
    c->stopped = 1;
    return 0;
  }
  swath_bounds b = swath__area_metatiles_box(c->g, c->z, c->m, x0, y0, x1, y1);
  if (!swath__area_box_meets(c->a, c->scratch, b, 0)) return 0;
  int64_t w = x1 - x0 + 1, h = y1 - y0 + 1;
  if (w == 1 && h == 1) return 1;
  if (swath__area_box_meets(c->a, c->scratch, b, 1)) return w * h;
  if (w >= h) {
    int64_t xm = x0 + w / 2 - 1;
    return count_range(c, x0, y0, xm, y1) + count_range(c, xm + 1, y0, x1, y1);
  }
  int64_t ym = y0 + h / 2 - 1;
  return count_range(c, x0, y0, x1, ym) + count_range(c, x0, ym + 1, x1, y1);
}

int64_t swath_area_count_tiles_until(const swath_grid *g, const swath_area *a, int z, int m,
                                     const atomic_int *stop) {
  swath_tile_range r = {0};
  int n = candidates(g, a, z, m, &r);
  if (n <= 0) return n;
  counter c = {g, a, z, m, NULL, stop, 0};
  if (swath__area_is_box(a)) return count_box(&c, r);
  if (!(c.scratch = swath__area_scratch_new()))
    return swath_error_set(SWATH_ENOMEM, "area: out of memory");
  int64_t total = count_range(&c, r.minx, r.miny, r.maxx, r.maxy);
  swath__area_scratch_free(c.scratch);
  if (c.stopped) return swath_error_set(SWATH_EINTR, "counting tiles at zoom %d: stopped", z);
  return total;
}

int64_t swath_area_count_tiles(const swath_grid *g, const swath_area *a, int z, int m) {
  return swath_area_count_tiles_until(g, a, z, m, NULL);
}

int64_t swath_area_estimate_tiles(const swath_grid *g, const swath_area *a, int z, int m) {
  swath_tile_range r = {0};
  int n = candidates(g, a, z, m, &r);
  if (n <= 0) return n;
  counter c = {g, a, z, m, NULL, NULL, 0};
  if (swath__area_is_box(a)) return count_box(&c, r);
  swath_bounds b = swath_area_bounds(a);
  double box = (b.maxx - b.minx) * (b.maxy - b.miny);
  double share = box > 0 ? OGR_G_Area(swath__area_geometry(a)) / box : 1;
  double all = (double)(r.maxx - r.minx + 1) * (double)(r.maxy - r.miny + 1);
  double guess = ceil(all * fmin(fmax(share, 0), 1));
  return guess < 1 ? 1 : (int64_t)guess;
}
