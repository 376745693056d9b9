/* area_count.c: how many tiles (or metatiles) of a zoom meet an area, without
 * walking them.
 *
 * The answer is, by definition, what swath_tile_iter yields: the metatiles
 * of the candidate range (the tiles of the area's bbox) whose shrunk box
 * meets the area (area.c). Both ways below ask exactly that question, so the
 * count never differs from a walk; they only ask it about fewer boxes.
 *
 *   an area of a few boxes (bounds; two boxes across the antimeridian):
 *     the metatiles that meet a box are a product of a range of columns and
 *     one of rows, found by binary search; the count of their union is
 *     arithmetic (constant time but for the searches, log2 of the range).
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

#define MAX_BOXES 8 /* more boxes than that are counted by halving */

typedef struct counter {
  const swath_grid *g;
  const swath_area *a;
  int z, m;
  swath_tile_range r; /* the candidate range */
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

/* ---- areas made of boxes ------------------------------------------------ */

/* 1 if polygon p is exactly its envelope (written to *b) as a point set:
 * no holes, every vertex on the envelope's outline (exact comparisons) and
 * all four corners among them. A valid ring through points of a convex
 * outline visits them in order around it, so with the corners it is the
 * outline. Anything less exact is not a box: it is counted by halving,
 * never approximated. */
static int polygon_is_box(OGRGeometryH p, swath_bounds *b) {
  if (wkbFlatten(OGR_G_GetGeometryType(p)) != wkbPolygon || OGR_G_GetGeometryCount(p) != 1)
    return 0;
  OGREnvelope e;
  OGR_G_GetEnvelope(p, &e);
  *b = (swath_bounds){e.MinX, e.MinY, e.MaxX, e.MaxY};
  OGRGeometryH ring = OGR_G_GetGeometryRef(p, 0);
  int corners = 0;
  for (int i = 0; i < OGR_G_GetPointCount(ring); i++) {
    double x = OGR_G_GetX(ring, i), y = OGR_G_GetY(ring, i);
    int ex = x == b->minx || x == b->maxx, ey = y == b->miny || y == b->maxy;
    if (!ex && !ey) return 0;
    if (ex && ey) corners |= 1 << ((x == b->maxx) + 2 * (y == b->maxy));
  }
  return corners == 15;
}

int swath__area_boxes(const swath_area *a, swath_bounds *parts, int max) {
  OGRGeometryH g = swath__area_geometry(a);
  if (wkbFlatten(OGR_G_GetGeometryType(g)) == wkbPolygon)
    return max >= 1 && polygon_is_box(g, parts);
  int n = OGR_G_GetGeometryCount(g);
  if (n < 1 || n > max) return 0;
  for (int i = 0; i < n; i++)
    if (!polygon_is_box(OGR_G_GetGeometryRef(g, i), &parts[i])) return 0;
  return n;
}

/* An inclusive range of metatile columns and rows (empty when x0 > x1 or
 * y0 > y1). */
typedef struct prod {
  int64_t x0, x1, y0, y1;
} prod;

enum { ABOVE, BELOW };

/* Metatile i of the candidate range along axis 0 (columns: x grows with i)
 * or 1 (rows: y falls as i grows): does its shrunk extent [lo, hi] reach
 * above v (ABOVE: hi > v, or >= unless strict) or below it (BELOW)? A
 * metatile's column alone decides its x extent, its row its y extent. */
static int reaches(const counter *c, int axis, int64_t i, int which, double v, int strict) {
  swath_bounds t =
      swath__area_metatiles_box(c->g, c->z, c->m, axis ? c->r.minx : i, axis ? i : c->r.miny,
                                axis ? c->r.minx : i, axis ? i : c->r.miny);
  double lo = axis ? t.miny : t.minx, hi = axis ? t.maxy : t.maxx;
  if (which == ABOVE) return strict ? hi > v : hi >= v;
  return strict ? lo < v : lo <= v;
}

/* The first index of the candidate range along axis where reaches() is
 * `want`, for a test that is !want up to some index and want from there
 * on; one past the range if none. */
static int64_t first(const counter *c, int axis, int which, double v, int strict, int want) {
  int64_t lo = axis ? c->r.miny : c->r.minx, hi = (axis ? c->r.maxy : c->r.maxx) + 1;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (reaches(c, axis, mid, which, v, strict) == want)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* The metatiles of the candidate range whose shrunk box meets box b
 * (strict: overlaps it by a positive length in both axes): columns and
 * rows are monotone in their extents, so four binary searches. */
static prod meets(const counter *c, swath_bounds b, int strict) {
  prod p;
  p.x0 = first(c, 0, ABOVE, b.minx, strict, 1);
  p.x1 = first(c, 0, BELOW, b.maxx, strict, 0) - 1;
  p.y0 = first(c, 1, BELOW, b.maxy, strict, 1);
  p.y1 = first(c, 1, ABOVE, b.miny, strict, 0) - 1;
  return p;
}

static prod prod_and(prod a, prod b) {
  return (prod){a.x0 > b.x0 ? a.x0 : b.x0, a.x1 < b.x1 ? a.x1 : b.x1, a.y0 > b.y0 ? a.y0 : b.y0,
                a.y1 < b.y1 ? a.y1 : b.y1};
}

static int64_t prod_size(prod p) {
  return p.x0 > p.x1 || p.y0 > p.y1 ? 0 : (p.x1 - p.x0 + 1) * (p.y1 - p.y0 + 1);
}

/* An area of n boxes (one for bounds, two for bounds across the
 * antimeridian). area.c's test on a metatile's shrunk box: it overlaps the
 * area's bbox (strictly), then meets the geometry (closed sets: some box,
 * touching counts). Each is a product of column and row ranges, so the
 * count is the size of G and (P1 or ... or Pn), by inclusion-exclusion over
 * the 2^n - 1 intersections, each again a product. */
static int64_t count_boxes(const counter *c, const swath_bounds *part, int n) {
  prod g = meets(c, swath_area_bounds(c->a), 1), p[MAX_BOXES];
  for (int i = 0; i < n; i++)
    p[i] = prod_and(g, meets(c, part[i], 0));
  int64_t total = 0;
  for (unsigned set = 1; set < 1u << n; set++) {
    prod q = g;
    int k = 0;
    for (int i = 0; i < n; i++)
      if (set >> i & 1) q = prod_and(q, p[i]), k++;
    total += k % 2 ? prod_size(q) : -prod_size(q);
  }
  return total;
}

/* ---- any area ---------------------------------------------------------------- */

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
  counter c = {g, a, z, m, r, NULL, stop, 0};
  swath_bounds parts[MAX_BOXES];
  int nb = swath__area_boxes(a, parts, MAX_BOXES);
  if (nb) return count_boxes(&c, parts, nb);
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
  counter c = {g, a, z, m, r, NULL, NULL, 0};
  swath_bounds parts[MAX_BOXES];
  int nb = swath__area_boxes(a, parts, MAX_BOXES);
  if (nb) return count_boxes(&c, parts, nb);
  swath_bounds b = swath_area_bounds(a);
  double box = (b.maxx - b.minx) * (b.maxy - b.miny);
  double share = box > 0 ? OGR_G_Area(swath__area_geometry(a)) / box : 1;
  double all = (double)(r.maxx - r.minx + 1) * (double)(r.maxy - r.miny + 1);
  double guess = ceil(all * fmin(fmax(share, 0), 1));
  return guess < 1 ? 1 : (int64_t)guess;
}
