/* test_area.c: areas and the tile iterator. Shapes whose bounding box covers
 * tiles they do not touch are checked against a brute force that asks OGR
 * for the intersection area of every tile of the bbox (positive area = the
 * interiors meet), so the iterator's prepared-geometry shortcuts are checked
 * by an independent rule. Runs from the repo root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <cpl_conv.h>
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
#include "fixture.h"

#define HALF 20037508.3427892

static int setup(void **state) {
  (void)state;
  GDALAllRegister();
  return tmpdir_make("area");
}

static int teardown(void **state) {
  (void)state;
  int rc = tmpdir_remove();
  GDALDestroyDriverManager();
  OSRCleanup();
  return rc;
}

/* Tiles of the bbox range whose intersection with `wkt` (grid CRS) has
 * positive area, counted one by one with plain OGR overlay. */
static int64_t brute_force(const swath_grid *g, const char *wkt, int z, int m) {
  OGRGeometryH poly = NULL;
  char *p = (char *)wkt;
  assert_int_equal(OGR_G_CreateFromWkt(&p, NULL, &poly), OGRERR_NONE);
  OGREnvelope e;
  OGR_G_GetEnvelope(poly, &e);
  swath_tile_range r[2];
  assert_int_equal(
      swath_grid_tiles_of_bounds(g, z, (swath_bounds){e.MinX, e.MinY, e.MaxX, e.MaxY}, r), 1);
  int64_t n = 0;
  for (int64_t y = r[0].miny / m; y <= r[0].maxy / m; y++)
    for (int64_t x = r[0].minx / m; x <= r[0].maxx / m; x++) {
      swath_bounds b = swath_grid_metatile_bounds(g, (swath_tile){z, x, y}, m);
      char box[256];
      snprintf(box, sizeof box,
               "POLYGON((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g))", b.minx,
               b.miny, b.maxx, b.miny, b.maxx, b.maxy, b.minx, b.maxy, b.minx, b.miny);
      OGRGeometryH tile = NULL;
      char *q = box;
      assert_int_equal(OGR_G_CreateFromWkt(&q, NULL, &tile), OGRERR_NONE);
      OGRGeometryH in = OGR_G_Intersection(poly, tile);
      /* a relative threshold: reprojection-free shapes, so slivers are noise */
      if (in && OGR_G_Area(in) > 1e-9 * (b.maxx - b.minx) * (b.maxy - b.miny)) n++;
      if (in) OGR_G_DestroyGeometry(in);
      OGR_G_DestroyGeometry(tile);
    }
  OGR_G_DestroyGeometry(poly);
  return n;
}

static int64_t bbox_tiles(const swath_grid *g, const swath_area *a, int z, int m) {
  swath_tile_range r[2];
  assert_int_equal(swath_grid_tiles_of_bounds(g, z, swath_area_bounds(a), r), 1);
  return (r[0].maxx / m - r[0].minx / m + 1) * (r[0].maxy / m - r[0].miny / m + 1);
}

static void test_l_shape_tile_aligned(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  /* An L of z4 tiles, edges exactly on tile edges: the bottom row 0-2 and the
   * column 0 of a 3x3 block starting at the top-left corner of the world.
   * s = one z4 tile = 2*HALF/16. The L covers tiles (0,2),(1,2),(2,2),(0,0),
   * (0,1): 5 of the 9 bbox tiles; its neighbours only share edges. */
  double s = 2 * HALF / 16, x0 = -HALF, yt = HALF;
  char wkt[512];
  snprintf(wkt, sizeof wkt,
           "POLYGON((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,"
           "%.17g %.17g))",
           x0, yt - 3 * s, x0 + 3 * s, yt - 3 * s, x0 + 3 * s, yt - 2 * s, x0 + s, yt - 2 * s,
           x0 + s, yt, x0, yt, x0, yt - 3 * s);
  swath_area *a;
  assert_int_equal(swath_area_from_wkt(&g, wkt, "EPSG:3857", &a), 0);
  assert_int_equal(swath_area_count_tiles(&g, a, 4, 1), 5);
  assert_int_equal(bbox_tiles(&g, a, 4, 1), 9);
  swath_tile_iter *it;
  swath_tile t;
  assert_int_equal(swath_tile_iter_new(&g, a, 4, 1, &it), 0);
  const swath_tile want[] = {{4, 0, 0}, {4, 0, 1}, {4, 0, 2}, {4, 1, 2}, {4, 2, 2}};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(swath_tile_iter_next(it, &t), 1);
    assert_int_equal(t.z, want[i].z);
    assert_int_equal(t.x, want[i].x);
    assert_int_equal(t.y, want[i].y);
  }
  assert_int_equal(swath_tile_iter_next(it, &t), 0);
  assert_int_equal(swath_tile_iter_next(it, &t), 0);
  swath_tile_iter_free(it);
  /* each z4 tile has 4 children, all inside */
  assert_int_equal(swath_area_count_tiles(&g, a, 5, 1), 20);
  assert_int_equal(swath_area_count_tiles(&g, a, 5, 1), brute_force(&g, wkt, 5, 1));
  /* A box sharing only the L's inner corner edge does not intersect it. */
  assert_int_equal(swath_area_intersects(a, (swath_bounds){x0 + s, yt - 2 * s, x0 + 3 * s, yt}), 0);
  assert_int_equal(swath_area_intersects(a, (swath_bounds){x0 + s - 1, yt - 2 * s, x0 + 3 * s, yt}),
                   1);
  swath_area_free(a);
}

static void test_triangle_brute_force(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  /* A thin triangle across Switzerland in metres: its bbox holds many tiles
   * the triangle misses. Plus a second, disjoint part with a hole. */
  const char *wkt = "MULTIPOLYGON(((650000 5750000,1150000 5800000,700000 6100000,650000 5750000)),"
                    "((1300000 5900000,1500000 5900000,1500000 6100000,1300000 6100000,"
                    "1300000 5900000),(1350000 5950000,1450000 5950000,1450000 6050000,"
                    "1350000 6050000,1350000 5950000)))";
  swath_area *a;
  assert_int_equal(swath_area_from_wkt(&g, wkt, "EPSG:3857", &a), 0);
  for (int z = 8; z <= 12; z += 2) {
    int64_t got = swath_area_count_tiles(&g, a, z, 1);
    int64_t want = brute_force(&g, wkt, z, 1);
    int64_t box = bbox_tiles(&g, a, z, 1);
    if (got != want)
      fail_msg("z%d: iterator %lld tiles, brute force %lld", z, (long long)got, (long long)want);
    if (z >= 10 && !(got < box * 3 / 4)) /* the shape really prunes */
      fail_msg("z%d: %lld tiles of %lld in the bbox", z, (long long)got, (long long)box);
    /* metatiles too */
    got = swath_area_count_tiles(&g, a, z, 4);
    want = brute_force(&g, wkt, z, 4);
    if (got != want)
      fail_msg("z%d m4: iterator %lld, brute force %lld", z, (long long)got, (long long)want);
  }
  /* Every yielded tile intersects; the hole's interior tiles are skipped. */
  swath_tile_iter *it;
  swath_tile t;
  int64_t n = 0;
  assert_int_equal(swath_tile_iter_new(&g, a, 12, 1, &it), 0);
  while (swath_tile_iter_next(it, &t) == 1) {
    assert_true(swath_area_intersects(a, swath_grid_tile_bounds(&g, t)));
    swath_bounds b = swath_grid_tile_bounds(&g, t);
    assert_false(b.minx > 1350000 && b.maxx < 1450000 && b.miny > 5950000 && b.maxy < 6050000);
    n++;
  }
  swath_tile_iter_free(it);
  assert_true(n > 0);
  swath_area_free(a);
}

static void test_bounds_reprojected(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  /* lon/lat box = Mercator box; corners by gdaltransform: 8.4,47.3 ->
   * 935083.722663498,5991179.92465175; 8.7,47.5 -> 968479.56990148,
   * 6024072.11937378. */
  swath_area *a;
  assert_int_equal(
      swath_area_from_bounds(&g, (swath_bounds){8.4, 47.3, 8.7, 47.5}, "EPSG:4326", &a), 0);
  swath_bounds b = swath_area_bounds(a);
  NEAR(b.minx, 935083.722663498, 1e-3);
  NEAR(b.miny, 5991179.92465175, 1e-3);
  NEAR(b.maxx, 968479.56990148, 1e-3);
  NEAR(b.maxy, 6024072.11937378, 1e-3);
  /* a box is its whole bbox: count = tiles of bounds */
  swath_tile_range r[2];
  assert_int_equal(swath_grid_tiles_of_bounds(&g, 14, b, r), 1);
  assert_int_equal(swath_area_count_tiles(&g, a, 14, 1),
                   (r[0].maxx - r[0].minx + 1) * (r[0].maxy - r[0].miny + 1));
  /* Zurich's tile z14 8580/5737 (python3 slippy formula) is in. */
  assert_true(r[0].minx <= 8580 && 8580 <= r[0].maxx && r[0].miny <= 5737 && 5737 <= r[0].maxy);

  /* Bounds in another projected CRS: Swiss LV95 box around Zurich. */
  swath_area *lv;
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){2680000, 1245000, 2690000, 1250000},
                                          "EPSG:2056", &lv),
                   0);
  swath_tile zt;
  /* Zurich 8.5417,47.3769 is 2683303.9,1247925.6 in LV95 (gdaltransform), inside the box; its web
   * tile is z14 8580/5737 as above */
  assert_int_equal(swath_grid_tile_of_point(&g, 14, 950857.694508905, 6003812.20487785, &zt), 0);
  assert_true(swath_area_intersects(lv, swath_grid_tile_bounds(&g, zt)));
  swath_area_free(lv);

  /* The whole world in lon/lat: clamped to Web Mercator's +-85.05 degrees. */
  swath_area *w;
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){-180, -90, 180, 90}, "EPSG:4326", &w),
                   0);
  assert_int_equal(swath_area_count_tiles(&g, w, 2, 1), 16);
  b = swath_area_bounds(w);
  NEAR(b.maxy, HALF, 1);
  NEAR(b.minx, -HALF, 1e-3);
  swath_area_free(w);

  /* Beyond the grid: a clear error. */
  swath_area *none = NULL;
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){0, 86, 10, 89}, "EPSG:4326", &none),
                   SWATH_EINVAL);
  assert_null(none);
  assert_non_null(strstr(swath_error_message(), "does not intersect grid"));
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){0, 0, 1, 1}, "EPSG:nope", &none),
                   SWATH_EINVAL);
  swath_area_free(a);
}

static void test_antimeridian_area(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WorldCRS84Quad", 0, &g), 0);
  swath_area *a;
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){170, -10, -170, 10}, "EPSG:4326", &a),
                   0);
  /* as in test_grid: columns 15 and 0, rows 3-4 at z3 -> 4 tiles, in row
   * order */
  swath_tile_iter *it;
  swath_tile t;
  assert_int_equal(swath_tile_iter_new(&g, a, 3, 1, &it), 0);
  const int64_t want[4][2] = {{0, 3}, {15, 3}, {0, 4}, {15, 4}};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(swath_tile_iter_next(it, &t), 1);
    assert_int_equal(t.x, want[i][0]);
    assert_int_equal(t.y, want[i][1]);
  }
  assert_int_equal(swath_tile_iter_next(it, &t), 0);
  swath_tile_iter_free(it);
  swath_bounds b = swath_area_bounds(a);
  assert_true(b.minx < b.maxx);
  swath_area_free(a);

  /* same in Web Mercator at z3: column 7 and 0, rows 3-4 */
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){170, -10, -170, 10}, "EPSG:4326", &a),
                   0);
  assert_int_equal(swath_area_count_tiles(&g, a, 3, 1), 4);
  swath_area_free(a);
  /* minx > maxx in a projected CRS is an error */
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){10, 0, 5, 1}, "EPSG:3857", &a),
                   SWATH_EINVAL);
}

static void test_file_area(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WorldCRS84Quad", 0, &g), 0);
  /* Two overlapping squares (unioned), a point (ignored) and a triangle in a
   * second file layer would be the same; z3 tiles are 22.5 degrees. Squares
   * 1..44 x 1..44 and 20..66 x 1..21 cover columns 8-9 / 8-10, rows 2-3 /
   * 3; the triangle-free part of the bbox (row 2, column 10) is missed. */
  const char *p =
      write_tmp("area.geojson",
                "{\"type\": \"FeatureCollection\", \"features\": [\n"
                "{\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"Polygon\", "
                "\"coordinates\": [[[1,1],[44,1],[44,44],[1,44],[1,1]]]}},\n"
                "{\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"Polygon\", "
                "\"coordinates\": [[[20,1],[66,1],[66,21],[20,21],[20,1]]]}},\n"
                "{\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"Point\", "
                "\"coordinates\": [-100, -80]}}\n]}\n");
  swath_area *a;
  assert_int_equal(swath_area_from_file(&g, p, &a), 0);
  swath_bounds b = swath_area_bounds(a);
  NEAR(b.minx, 1, 1e-9);
  NEAR(b.maxx, 66, 1e-9);
  NEAR(b.maxy, 44, 1e-9);
  /* columns (1+180)/22.5=8.04 .. (66+180)/22.5=10.9 -> 8-10; rows
   * (90-44)/22.5=2.04 .. (90-1)/22.5=3.96 -> 2-3. Row 2 (lat 45..22.5) holds
   * only the first square (x up to 44 -> columns 8-9); row 3 all three. */
  assert_int_equal(swath_area_count_tiles(&g, a, 3, 1), 5);
  swath_area_free(a);

  /* Reprojected layer: a shapefile-free GeoJSON in EPSG:3857 through a
   * "crs" member, read into the CRS84 grid. 1113194.90793274 m = 10 deg. */
  p = write_tmp("merc.geojson",
                "{\"type\": \"FeatureCollection\", \"crs\": {\"type\": \"name\", \"properties\": "
                "{\"name\": \"urn:ogc:def:crs:EPSG::3857\"}}, \"features\": [\n"
                "{\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"Polygon\", "
                "\"coordinates\": [[[0,0],[1113194.90793274,0],[1113194.90793274,1113194.90793274],"
                "[0,1113194.90793274],[0,0]]]}}]}\n");
  assert_int_equal(swath_area_from_file(&g, p, &a), 0);
  b = swath_area_bounds(a);
  NEAR(b.minx, 0, 1e-6);
  NEAR(b.maxx, 10, 1e-6);
  NEAR(b.miny, 0, 1e-6);
  /* 1113194.9 m northing = 9.94961367387292 deg latitude (gdaltransform) */
  NEAR(b.maxy, 9.94961367387292, 1e-6);
  swath_area_free(a);

  /* errors name the file */
  assert_int_equal(swath_area_from_file(&g, "tests/data/no-such-area.geojson", &a), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "no-such-area.geojson"));
  p = write_tmp("junk.geojson", "this is not geojson");
  assert_int_equal(swath_area_from_file(&g, p, &a), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "junk.geojson"));
  p = write_tmp(
      "points.geojson",
      "{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", "
      "\"properties\": {}, \"geometry\": {\"type\": \"Point\", \"coordinates\": [1, 2]}}]}");
  assert_int_equal(swath_area_from_file(&g, p, &a), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "no polygons"));
}

/* Polygons that overlap or share edges, as neighbouring units in boundary
 * files do, are made valid one by one and unioned: none of their ground is
 * lost. (MakeValid on the whole multipolygon keeps faces covered an odd
 * number of times, so it dropped the overlap of two squares.) */
static void test_file_area_parts(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WorldCRS84Quad", 0, &g), 0);
  /* Squares 0..30 x 0..30 and 15..45 x 10..40 overlap in 15..30 x 10..30;
   * a third, 45..55 x 10..40, shares the edge x = 45; a bow-tie 60..80 x
   * 0..20 crosses itself at (70, 10). z5 tiles are 5.625 degrees. */
  const char *p =
      write_tmp("parts.geojson",
                "{\"type\": \"FeatureCollection\", \"features\": [\n"
                "{\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"Polygon\", "
                "\"coordinates\": [[[0,0],[30,0],[30,30],[0,30],[0,0]]]}},\n"
                "{\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"Polygon\", "
                "\"coordinates\": [[[15,10],[45,10],[45,40],[15,40],[15,10]]]}},\n"
                "{\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"Polygon\", "
                "\"coordinates\": [[[45,10],[55,10],[55,40],[45,40],[45,10]]]}},\n"
                "{\"type\": \"Feature\", \"properties\": {}, \"geometry\": {\"type\": \"Polygon\", "
                "\"coordinates\": [[[60,0],[80,20],[80,0],[60,20],[60,0]]]}}\n]}\n");
  swath_area *a;
  assert_int_equal(swath_area_from_file(&g, p, &a), 0);
  assert_int_equal(swath_area_intersects(a, (swath_bounds){20, 15, 25, 25}), 1); /* overlap */
  assert_int_equal(swath_area_intersects(a, (swath_bounds){44, 20, 46, 30}), 1); /* shared edge */
  assert_int_equal(swath_area_intersects(a, (swath_bounds){61, 1, 63, 3}), 1);   /* bow-tie, left */
  assert_int_equal(swath_area_intersects(a, (swath_bounds){77, 17, 79, 19}), 1); /* and right */
  assert_int_equal(swath_area_intersects(a, (swath_bounds){68, 1, 72, 3}), 0);   /* between */
  /* The same tiles as the polygons' true union, tile by tile. */
  int64_t want = brute_force(
      &g,
      "MULTIPOLYGON(((0 0,30 0,30 10,55 10,55 40,15 40,15 30,0 30,0 0)),((60 0,70 10,60 20,60 0)),"
      "((80 0,80 20,70 10,80 0)))",
      5, 1);
  assert_true(want > 50);
  assert_int_equal(swath_area_count_tiles(&g, a, 5, 1), want);
  swath_area_free(a);
}

static void test_utm_grid_area(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_load("tests/data/utm32n.json", 0, &g), 0);
  swath_area *a;
  /* a small lon/lat box around Zurich; its UTM image holds Zurich's tile
   * 7/63 at z2 (see test_grid) */
  assert_int_equal(
      swath_area_from_bounds(&g, (swath_bounds){8.5, 47.35, 8.6, 47.4}, "EPSG:4326", &a), 0);
  swath_tile_iter *it;
  swath_tile t;
  int found = 0;
  assert_int_equal(swath_tile_iter_new(&g, a, 2, 1, &it), 0);
  while (swath_tile_iter_next(it, &t) == 1)
    found |= t.x == 7 && t.y == 63;
  swath_tile_iter_free(it);
  assert_true(found);
  assert_int_equal(swath_area_count_tiles(&g, a, 2, 1), 1);
  swath_area_free(a);

  /* The whole world in lon/lat: only what the UTM grid covers is kept. */
  int rc = swath_area_from_bounds(&g, (swath_bounds){-180, -90, 180, 90}, "EPSG:4326", &a);
  if (rc) fail_msg("%s", swath_error_message());
  swath_bounds b = swath_area_bounds(a);
  assert_true(b.minx >= g.extent.minx && b.maxx <= g.extent.maxx);
  assert_true(b.miny >= g.extent.miny && b.maxy <= g.extent.maxy);
  swath_area_free(a);
}

static void test_clip_clone(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  swath_area *a;
  assert_int_equal(
      swath_area_from_bounds(&g, (swath_bounds){-1e6, -1e6, 1e6, 1e6}, "EPSG:3857", &a), 0);
  swath_area *c = swath_area_clone(a);
  assert_non_null(c);
  assert_int_equal(swath_area_clip(a, (swath_bounds){0, 0, 5e6, 5e6}), 0);
  swath_bounds b = swath_area_bounds(a);
  NEAR(b.minx, 0, 1e-6);
  NEAR(b.maxx, 1e6, 1e-6);
  /* the clone kept the original */
  NEAR(swath_area_bounds(c).minx, -1e6, 1e-6);
  assert_int_equal(swath_area_clip(c, (swath_bounds){2e6, 2e6, 3e6, 3e6}), SWATH_EINVAL);
  NEAR(swath_area_bounds(c).minx, -1e6, 1e-6); /* unchanged on failure */
  swath_area_free(c);
  swath_area_free(a);
}

static void test_lonlat_ring(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  swath_lonlat *ll;
  assert_int_equal(swath_lonlat_new(&g, &ll), 0);
  double xy[2 * SWATH_LONLAT_RING_MAX];
  int n = swath_lonlat_ring(ll, swath_grid_tile_bounds(&g, (swath_tile){14, 8580, 5738}), xy);
  assert_int_equal(n, 5);
  /* slippy formulas (python3), see test_grid */
  NEAR(xy[0], 8.525390625, 1e-9);
  NEAR(xy[1], 47.35371061951362, 1e-9);
  NEAR(xy[4], 8.54736328125, 1e-9);
  NEAR(xy[5], 47.36859434521338, 1e-9);
  NEAR(xy[8], xy[0], 0);
  NEAR(xy[9], xy[1], 0);
  swath_lonlat_free(ll);

  assert_int_equal(swath_grid_load("tests/data/utm32n.json", 0, &g), 0);
  assert_int_equal(swath_lonlat_new(&g, &ll), 0);
  n = swath_lonlat_ring(ll, swath_grid_tile_bounds(&g, (swath_tile){2, 7, 63}), xy);
  assert_true(n > 5 && n <= SWATH_LONLAT_RING_MAX);
  /* the tile holds Zurich */
  double minlon = 999, maxlon = -999, minlat = 999, maxlat = -999;
  for (int i = 0; i < n; i++) {
    minlon = fmin(minlon, xy[2 * i]), maxlon = fmax(maxlon, xy[2 * i]);
    minlat = fmin(minlat, xy[2 * i + 1]), maxlat = fmax(maxlat, xy[2 * i + 1]);
  }
  assert_true(minlon < 8.5417 && 8.5417 < maxlon && minlat < 47.3769 && 47.3769 < maxlat);
  swath_lonlat_free(ll);
}

/* The lon/lat extent written into TileJSON and STAC: one box, or two that
 * meet at the antimeridian, and a point inside the area. */
static void check_extent(const swath_grid *g, swath_area *a, int n, const double want[2][4],
                         double eps) {
  swath_lonlat_extent e;
  assert_int_equal(swath_area_lonlat_extent(g, a, &e), 0);
  assert_int_equal(e.n, n);
  int inside = 0;
  for (int i = 0; i < n; i++) {
    NEAR(e.box[i].minx, want[i][0], eps);
    NEAR(e.box[i].miny, want[i][1], eps);
    NEAR(e.box[i].maxx, want[i][2], eps);
    NEAR(e.box[i].maxy, want[i][3], eps);
    inside |= e.lon > want[i][0] && e.lon < want[i][2] && e.lat > want[i][1] && e.lat < want[i][3];
  }
  if (!inside) fail_msg("point %.9g,%.9g is not inside the extent's boxes", e.lon, e.lat);
  swath_area_free(a);
}

static void test_lonlat_extent(void **state) {
  (void)state;
  swath_grid g;
  swath_area *a;
  const double cross[2][4] = {{179, -10, 180, 10}, {-180, -10, -179, 10}};
  assert_int_equal(swath_grid_builtin("WorldCRS84Quad", 0, &g), 0);
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){179, -10, -179, 10}, "EPSG:4326", &a),
                   0);
  check_extent(&g, a, 2, cross, 1e-9);
  const double plain[2][4] = {{10, 40, 20, 50}};
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){10, 40, 20, 50}, "EPSG:4326", &a), 0);
  check_extent(&g, a, 1, plain, 1e-9);
  /* Two islands either side of the antimeridian, none touching it. */
  const double islands[2][4] = {{170, -20, 175, -15}, {-175, -18, -170, -16}};
  assert_int_equal(swath_area_from_wkt(&g,
                                       "MULTIPOLYGON(((170 -20,175 -20,175 -15,170 -15,170 -20)),"
                                       "((-175 -18,-170 -18,-170 -16,-175 -16,-175 -18)))",
                                       "EPSG:4326", &a),
                   0);
  check_extent(&g, a, 2, islands, 1e-9);
  /* Two islands either side of Greenwich: one box, the point on an island
   * (the box's middle is sea). */
  const double apart[2][4] = {{-10, 0, 10, 5}};
  assert_int_equal(swath_area_from_wkt(&g,
                                       "MULTIPOLYGON(((-10 0,-5 0,-5 5,-10 5,-10 0)),"
                                       "((5 0,10 0,10 5,5 5,5 0)))",
                                       "EPSG:4326", &a),
                   0);
  swath_lonlat_extent e;
  assert_int_equal(swath_area_lonlat_extent(&g, a, &e), 0);
  assert_true(fabs(e.lon) > 5 && fabs(e.lon) < 10);
  check_extent(&g, a, 1, apart, 1e-9);

  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){179, -10, -179, 10}, "EPSG:4326", &a),
                   0);
  check_extent(&g, a, 2, cross, 1e-6);
  /* A grid that does not wrap: UTM zone 60 holds the area as one polygon
   * across 180 degrees. */
  const char *utm60 = write_tmp(
      "utm60.json",
      "{\"id\": \"UTM60\", \"crs\": \"http://www.opengis.net/def/crs/EPSG/0/32660\", "
      "\"tileMatrices\": "
      "[{\"id\": \"0\", \"cellSize\": 1024, \"pointOfOrigin\": [0, 9437184], \"tileWidth\": 256, "
      "\"tileHeight\": 256, \"matrixWidth\": 8, \"matrixHeight\": 36}]}");
  assert_int_equal(swath_grid_load(utm60, 0, &g), 0);
  assert_int_equal(swath_area_from_bounds(&g, (swath_bounds){178, 1, -178, 5}, "EPSG:4326", &a), 0);
  const double utm[2][4] = {{178, 1, 180, 5}, {-180, 1, -178, 5}};
  check_extent(&g, a, 2, utm, 0.05); /* the box of the polygon's UTM envelope: a little wider */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_l_shape_tile_aligned),
      cmocka_unit_test(test_triangle_brute_force),
      cmocka_unit_test(test_bounds_reprojected),
      cmocka_unit_test(test_antimeridian_area),
      cmocka_unit_test(test_file_area),
      cmocka_unit_test(test_file_area_parts),
      cmocka_unit_test(test_utm_grid_area),
      cmocka_unit_test(test_clip_clone),
      cmocka_unit_test(test_lonlat_ring),
      cmocka_unit_test(test_lonlat_extent),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
