/* test_area_count.c: swath_area_count_tiles, which counts without walking,
 * against two counts that walk: the tile iterator, and a plain loop that
 * asks swath_area_intersects about every metatile of the bbox one by one
 * (the rule that defines the area's tiles, with none of the iterator's
 * block shortcuts). Shapes with holes, multipolygons, concave rings, boxes
 * (the arithmetic path) and antimeridian-crossing bounds; metatiling 1, 2,
 * 4 and 8; WebMercatorQuad, WorldCRS84Quad and a UTM grid whose matrix
 * widths are not multiples of 8 (clipped edge metatiles). Runs from the
 * repo root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <gdal.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/area.h"
#include "core/error.h"
#include "core/grid.h"

#define HALF 20037508.342789244
#define MAX_WALK 60000 /* metatiles in the bbox: above, a zoom is not walked */

static char tmpdir[64];
static char utm_path[128];

/* A UTM 32N quadtree of 8 zooms: 2 km tiles at the deepest, 5 x 37 tiles
 * at zoom 0, so metatiles of 2, 4 and 8 are clipped at the east and south
 * edges of every zoom below 3. */
static void write_utm_grid(void) {
  snprintf(utm_path, sizeof utm_path, "%s/utm.json", tmpdir);
  FILE *f = fopen(utm_path, "w");
  assert_non_null(f);
  fprintf(f, "{\"id\": \"UTM32NCount\", \"crs\": {\"uri\": "
             "\"http://www.opengis.net/def/crs/EPSG/0/32632\"}, \"tileMatrices\": [");
  for (int k = 0; k < 8; k++)
    fprintf(f,
            "%s{\"id\": \"%d\", \"cellSize\": %g, \"cornerOfOrigin\": \"topLeft\", "
            "\"pointOfOrigin\": [0, 9699328], \"tileWidth\": 256, \"tileHeight\": 256, "
            "\"matrixWidth\": %d, \"matrixHeight\": %d}",
            k ? ", " : "", k, 1024.0 / (1 << k), 5 << k, 37 << k);
  fprintf(f, "]}\n");
  fclose(f);
}

static int setup(void **state) {
  (void)state;
  GDALAllRegister();
  snprintf(tmpdir, sizeof tmpdir, "/tmp/swath-test-count-XXXXXX");
  if (!mkdtemp(tmpdir)) return -1;
  write_utm_grid();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unlink(utm_path);
  rmdir(tmpdir);
  GDALDestroyDriverManager();
  OSRCleanup();
  return 0;
}

/* The candidate metatile range (the bbox's), 0 if empty. */
static int bbox_range(const swath_grid *g, const swath_area *a, int z, int m, swath_tile_range *r) {
  swath_tile_range t[2];
  int n = swath_grid_tiles_of_bounds(g, z, swath_area_bounds(a), t);
  assert_true(n >= 0 && n <= 1);
  if (n == 0) return 0;
  *r = (swath_tile_range){z, t[0].minx / m, t[0].miny / m, t[0].maxx / m, t[0].maxy / m};
  return 1;
}

static int64_t range_size(swath_tile_range r) {
  return (r.maxx - r.minx + 1) * (r.maxy - r.miny + 1);
}

static int64_t walk_count(const swath_grid *g, const swath_area *a, int z, int m) {
  swath_tile_iter *it;
  assert_int_equal(swath_tile_iter_new(g, a, z, m, &it), 0);
  int64_t n = 0;
  swath_tile t;
  while (swath_tile_iter_next(it, &t) == 1)
    n++;
  swath_tile_iter_free(it);
  return n;
}

/* Every metatile of the whole matrix asked alone (the bbox range plus a
 * ring of one metatile, so a count that left the bbox would show). */
static int64_t one_by_one(const swath_grid *g, const swath_area *a, int z, int m) {
  swath_tile_range r;
  if (!bbox_range(g, a, z, m, &r)) return 0;
  int64_t cols, rows, n = 0;
  swath_grid_metatile_matrix(g, z, m, &cols, &rows);
  for (int64_t y = r.miny - 1; y <= r.maxy + 1; y++)
    for (int64_t x = r.minx - 1; x <= r.maxx + 1; x++)
      if (x >= 0 && y >= 0 && x < cols && y < rows)
        n += swath_area_intersects(a, swath_grid_metatile_bounds(g, (swath_tile){z, x, y}, m));
  return n;
}

/* Count == walk == one by one at every zoom and metatiling small enough to
 * walk; returns how many (zoom, metatiling) pairs were compared. */
static int compare_all(const swath_grid *g, const swath_area *a, const char *what) {
  static const int ms[] = {1, 2, 4, 8};
  int compared = 0;
  for (int z = g->min_zoom; z <= g->max_zoom; z++)
    for (int i = 0; i < 4; i++) {
      int m = ms[i];
      swath_tile_range r;
      if (bbox_range(g, a, z, m, &r) && range_size(r) > MAX_WALK) continue;
      int64_t got = swath_area_count_tiles(g, a, z, m);
      int64_t walk = walk_count(g, a, z, m), alone = one_by_one(g, a, z, m);
      if (got != walk || got != alone)
        fail_msg("%s, %s z%d m%d: count %lld, iterator %lld, one by one %lld", what, g->name, z, m,
                 (long long)got, (long long)walk, (long long)alone);
      compared++;
    }
  return compared;
}

typedef struct shape {
  const char *what, *wkt; /* NULL wkt: bounds */
  swath_bounds b;
  int box_in_3857; /* a rectangle in Web Mercator and lon/lat grids */
} shape;

static const shape shapes[] = {
    {"polygon with a hole",
     "POLYGON((6 45.5,10.5 45.5,10.5 47.8,6 47.8,6 45.5),(7 46,9.5 46,9.5 47.2,7 47.2,7 46))",
     {0, 0, 0, 0},
     0},
    {"multipolygon (a triangle, a box with a hole, a box touching its corner)",
     "MULTIPOLYGON(((5.9 45.9,7.1 46.2,6.3 47.6,5.9 45.9)),"
     "((8 46,10 46,10 47,8 47,8 46),(8.5 46.3,9.5 46.3,9.5 46.7,8.5 46.7,8.5 46.3)),"
     "((10 47,10.8 47,10.8 47.6,10 47.6,10 47)))",
     {0, 0, 0, 0},
     0},
    {"concave star",
     "POLYGON((8 45.6,8.6 46.5,10.4 46.7,8.9 47.1,9.2 47.9,8 47.3,6.8 47.9,7.1 47.1,5.6 46.7,"
     "7.4 46.5,8 45.6))",
     {0, 0, 0, 0},
     0},
    {"bounds", NULL, {5.9, 45.8, 10.5, 47.8}, 1},
};

static int boxes(const swath_area *a) {
  swath_bounds parts[8];
  return swath__area_boxes(a, parts, 8);
}

static swath_area *make(const swath_grid *g, const shape *s) {
  swath_area *a = NULL;
  int rc = s->wkt ? swath_area_from_wkt(g, s->wkt, "EPSG:4326", &a)
                  : swath_area_from_bounds(g, s->b, "EPSG:4326", &a);
  if (rc) fail_msg("%s in %s: %s", s->what, g->name, swath_error_message());
  return a;
}

static void test_counts_match_walks(void **state) {
  (void)state;
  const char *grids[] = {"WebMercatorQuad", "WorldCRS84Quad", utm_path};
  for (int gi = 0; gi < 3; gi++) {
    swath_grid g;
    assert_int_equal(swath_grid_load(grids[gi], 0, &g), 0);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
      swath_area *a = make(&g, &shapes[i]);
      /* the arithmetic path is the one taken: boxes stay boxes in Mercator
       * and lon/lat, and a lon/lat box is curved in UTM */
      assert_int_equal(boxes(a), gi < 2 && shapes[i].box_in_3857);
      if (compare_all(&g, a, shapes[i].what) < 12)
        fail_msg("%s in %s: too few zooms compared", shapes[i].what, g.name);
      swath_area_free(a);
    }
  }
}

static void test_antimeridian_and_grid_edges(void **state) {
  (void)state;
  for (int gi = 0; gi < 2; gi++) {
    swath_grid g;
    assert_int_equal(swath_grid_builtin(gi ? "WorldCRS84Quad" : "WebMercatorQuad", 0, &g), 0);
    swath_area *a;
    /* two boxes, one each side of the antimeridian (metatiles of the
     * coarse zooms meet both) */
    assert_int_equal(
        swath_area_from_bounds(&g, (swath_bounds){170, -20, -170, 10}, "EPSG:4326", &a), 0);
    assert_int_equal(boxes(a), 2);
    compare_all(&g, a, "bounds across the antimeridian");
    swath_area_free(a);
    /* the whole world: a box at the grid's edges */
    assert_int_equal(
        swath_area_from_bounds(&g, (swath_bounds){-180, -90, 180, 90}, "EPSG:4326", &a), 0);
    assert_int_equal(boxes(a), 1);
    compare_all(&g, a, "the world");
    swath_area_free(a);
  }
  /* UTM: a box in the grid's CRS beyond its east edge, clipped there, where
   * metatiles of 2, 4 and 8 are cut short by the matrix */
  swath_grid g;
  assert_int_equal(swath_grid_load(utm_path, 0, &g), 0);
  swath_area *a;
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){1000000.5, 5000000.25, 2e6, 5300000},
                                          "EPSG:32632", &a),
                   0);
  assert_int_equal(boxes(a), 1);
  assert_true(compare_all(&g, a, "UTM box at the east edge") >= 24);
  swath_area_free(a);
}

/* Three boxes in the grid CRS: two on z4 tile edges that touch at a corner
 * (a metatile at that corner meets both, or only touches them) and one with
 * edges inside tiles; coarse metatiles meet several boxes at once. */
static void test_boxes(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  double s = 2 * HALF / 16, x0 = -HALF, yt = HALF;
  char wkt[1024];
#define BOX(a, b, c, d)                                                                            \
  x0 + (a)*s, yt - (d)*s, x0 + (c)*s, yt - (d)*s, x0 + (c)*s, yt - (b)*s, x0 + (a)*s, yt - (b)*s,  \
      x0 + (a)*s, yt - (d)*s
  snprintf(wkt, sizeof wkt,
           "MULTIPOLYGON(((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g)),"
           "((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g)),"
           "((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g)))",
           BOX(0, 0, 3, 2), BOX(3, 2, 5, 4), BOX(8.3, 5.2, 11.7, 7.9));
#undef BOX
  swath_area *a;
  assert_int_equal(swath_area_from_wkt(&g, wkt, "EPSG:3857", &a), 0);
  assert_int_equal(boxes(a), 3);
  assert_true(compare_all(&g, a, "three boxes") >= 30);
  /* zoom 4 by hand: 6 + 4 tiles on tile edges, and 4 x 3 tiles */
  assert_int_equal(swath_area_count_tiles(&g, a, 4, 1), 6 + 4 + 12);
  swath_area_free(a);

  /* A box whose east edge is exactly where z4 column 5's box, shrunk as
   * area.c shrinks it, begins, and a second box further east: column 5
   * only touches the first box, which counts (closed sets), as the walk
   * says. */
  swath_bounds t = swath_grid_tile_bounds(&g, (swath_tile){4, 5, 0});
  double edge = t.minx + (t.maxx - t.minx) * 1e-7;
  snprintf(wkt, sizeof wkt,
           "MULTIPOLYGON(((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g)),"
           "((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g)))",
           x0 + 2 * s, yt - 2 * s, edge, yt - 2 * s, edge, yt, x0 + 2 * s, yt, x0 + 2 * s,
           yt - 2 * s, x0 + 7 * s, yt - 2 * s, x0 + 8 * s, yt - 2 * s, x0 + 8 * s, yt, x0 + 7 * s,
           yt, x0 + 7 * s, yt - 2 * s);
  assert_int_equal(swath_area_from_wkt(&g, wkt, "EPSG:3857", &a), 0);
  assert_int_equal(boxes(a), 2);
  assert_int_equal(walk_count(&g, a, 4, 1), 2 * (3 + 1) + 2);
  compare_all(&g, a, "a box touching a shrunk tile");
  swath_area_free(a);
}

/* An L of Mercator z6 tiles whose lower arm pokes into the next block of
 * 32 columns by 5e-7 of a tile: more than a tile's own shrinking (1e-7),
 * less than that of the 9 columns left in the row (9e-7). The tile it pokes
 * into belongs to the area (their interiors meet; OGR's intersection has
 * positive area), and the count, the iterator and a one-by-one loop agree
 * on it. */
static void test_block_edge_sliver(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  double s = 2 * HALF / 64, x0 = -HALF, yt = HALF;
  char wkt[512];
  snprintf(wkt, sizeof wkt,
           "POLYGON((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,"
           "%.17g %.17g))",
           x0, yt - 2 * s, x0 + 32 * s + 5e-7 * s, yt - 2 * s, x0 + 32 * s + 5e-7 * s, yt - s,
           x0 + 41 * s, yt - s, x0 + 41 * s, yt, x0, yt, x0, yt - 2 * s);
  swath_area *a;
  assert_int_equal(swath_area_from_wkt(&g, wkt, "EPSG:3857", &a), 0);
  /* OGR: tile (32, 1) and the area share a sliver of positive area */
  OGRGeometryH poly = NULL, tile = NULL;
  char *p = wkt;
  assert_int_equal(OGR_G_CreateFromWkt(&p, NULL, &poly), OGRERR_NONE);
  swath_bounds tb = swath_grid_tile_bounds(&g, (swath_tile){6, 32, 1});
  char box[256];
  snprintf(box, sizeof box,
           "POLYGON((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g))", tb.minx,
           tb.miny, tb.maxx, tb.miny, tb.maxx, tb.maxy, tb.minx, tb.maxy, tb.minx, tb.miny);
  p = box;
  assert_int_equal(OGR_G_CreateFromWkt(&p, NULL, &tile), OGRERR_NONE);
  OGRGeometryH in = OGR_G_Intersection(poly, tile);
  assert_true(in && OGR_G_Area(in) > 1e-7 * s * s);
  OGR_G_DestroyGeometry(in);
  OGR_G_DestroyGeometry(tile);
  OGR_G_DestroyGeometry(poly);

  assert_true(swath_area_intersects(a, tb));
  assert_int_equal(one_by_one(&g, a, 6, 1), 41 + 33);
  assert_int_equal(walk_count(&g, a, 6, 1), 41 + 33);
  assert_int_equal(swath_area_count_tiles(&g, a, 6, 1), 41 + 33);
  swath_tile_iter *it;
  swath_tile t;
  int seen = 0;
  assert_int_equal(swath_tile_iter_new(&g, a, 6, 1, &it), 0);
  while (swath_tile_iter_next(it, &t) == 1)
    seen |= t.x == 32 && t.y == 1;
  swath_tile_iter_free(it);
  assert_true(seen);
  swath_area_free(a);
}

/* Deep zooms: a box counts in constant time, exactly; a polygon by its
 * outline. (No timing here: bench/count.sh measures; a walk at zoom 24 would
 * not end in the test's lifetime.) */
static void test_deep_zooms(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  swath_area *a;
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){-180, -90, 180, 90}, "EPSG:4326", &a),
                   0);
  assert_int_equal(swath_area_count_tiles(&g, a, 24, 1), (int64_t)1 << 48);
  assert_int_equal(swath_area_count_tiles(&g, a, 24, 8), (int64_t)1 << 42);
  assert_int_equal(swath_area_count_tiles(&g, a, 18, 1), (int64_t)1 << 36);
  assert_int_equal(swath_area_estimate_tiles(&g, a, 24, 1), (int64_t)1 << 48);
  swath_area_free(a);

  swath_grid c;
  assert_int_equal(swath_grid_builtin("WorldCRS84Quad", 0, &c), 0);
  assert_int_equal(swath_area_from_bounds(&c, (swath_bounds){-180, -90, 180, 90}, "EPSG:4326", &a),
                   0);
  int zc = c.max_zoom;
  assert_int_equal(swath_area_count_tiles(&c, a, zc, 1), (int64_t)1 << (2 * zc + 1));
  swath_area_free(a);

  /* a lon/lat box at zoom 24: the bbox's tile range, whose edge tiles
   * really overlap the box (a box's tiles are a product of columns and rows) */
  swath_bounds lb = {5.9, 45.8, 10.5, 47.8};
  assert_int_equal(swath_area_from_bounds(&g, lb, "EPSG:4326", &a), 0);
  swath_tile_range r[2];
  assert_int_equal(swath_grid_tiles_of_bounds(&g, 24, swath_area_bounds(a), r), 1);
  assert_int_equal(swath_area_count_tiles(&g, a, 24, 1),
                   (r[0].maxx - r[0].minx + 1) * (r[0].maxy - r[0].miny + 1));
  swath_area_free(a);

  /* a polygon with a hole at zoom 16, still walkable once: count == walk */
  a = make(&g, &shapes[0]);
  int64_t got = swath_area_count_tiles(&g, a, 16, 1);
  assert_int_equal(got, walk_count(&g, a, 16, 1));
  /* the estimate is the bbox times the covered share: near, not exact */
  int64_t guess = swath_area_estimate_tiles(&g, a, 16, 1);
  assert_true(guess > got / 2 && guess < got * 2);
  /* a count another thread stops ends with SWATH_EINTR */
  atomic_int stop = 1;
  assert_int_equal(swath_area_count_tiles_until(&g, a, 20, 1, &stop), SWATH_EINTR);
  swath_area_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_counts_match_walks),
      cmocka_unit_test(test_antimeridian_and_grid_edges),
      cmocka_unit_test(test_boxes),
      cmocka_unit_test(test_block_edge_sliver),
      cmocka_unit_test(test_deep_zooms),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
