/* test_grid.c: grids and tile arithmetic against values derived outside
 * swath (the slippy-map formulas in python3, PROJ through gdaltransform), so
 * a mistake shared by the code and its test cannot hide. Runs from the repo
 * root (tests/data/utm32n.json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <gdal.h>
#include <jansson.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/grid.h"
#include "fixture.h"

static int setup(void **state) {
  (void)state;
  return tmpdir_make("grid");
}

static int teardown(void **state) {
  (void)state;
  int rc = tmpdir_remove();
  OSRCleanup();
  return rc;
}

static void test_webmercator_constants(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  assert_string_equal(g.crs, "EPSG:3857");
  assert_int_equal(g.is_geographic, 0);
  assert_int_equal(g.min_zoom, 0);
  assert_int_equal(g.max_zoom, 24);
  /* OGC TMS 2.0 WebMercatorQuad, zoom 0 cell size for 256 px tiles. */
  NEAR(g.m[0].cell_size, 156543.03392804097, 1e-9);
  NEAR(g.m[0].origin_x, -20037508.3427892, 1e-9);
  NEAR(g.m[0].origin_y, 20037508.3427892, 1e-9);
  assert_int_equal(g.m[0].matrix_width, 1);
  assert_int_equal(g.m[14].matrix_width, 16384);
  assert_int_equal(g.m[24].matrix_height, 1 << 24);
  NEAR(g.m[14].cell_size, 156543.03392804097 / 16384, 1e-12);

  /* 512 px tiles: same tiles on the ground, half the cell size. */
  swath_grid g512;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 512, &g512), 0);
  NEAR(g512.m[0].cell_size, 156543.03392804097 / 2, 1e-9);
  assert_int_equal(g512.m[3].tile_width, 512);
  swath_bounds a = swath_grid_tile_bounds(&g, (swath_tile){5, 3, 7});
  swath_bounds b = swath_grid_tile_bounds(&g512, (swath_tile){5, 3, 7});
  NEAR(a.minx, b.minx, 1e-6);
  NEAR(a.maxy, b.maxy, 1e-6);

  assert_int_equal(swath_grid_builtin("NoSuchGrid", 0, &g), SWATH_ENOTFOUND);
  assert_non_null(strstr(swath_error_message(), "NoSuchGrid"));
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", -5, &g), SWATH_EINVAL);
}

static void test_webmercator_tile_bounds(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_load("WebMercatorQuad", 256, &g), 0);
  /* Tile 14/8580/5738: lon = x/2^z*360-180, lat = atan(sinh(pi*(1-2y/2^z)))
   * (python3) gives lon 8.525390625..8.54736328125, lat
   * 47.35371061951362..47.36859434521338; gdaltransform -s_srs EPSG:4326
   * -t_srs EPSG:3857 projects the corners to these metres. */
  swath_bounds b = swath_grid_tile_bounds(&g, (swath_tile){14, 8580, 5738});
  NEAR(b.minx, 949042.143188748, 1e-3);
  NEAR(b.miny, 6000000.9722732, 1e-3);
  NEAR(b.maxx, 951488.128093874, 1e-3);
  NEAR(b.maxy, 6002446.95717832, 1e-3);
  /* zoom 0 is the whole extent */
  b = swath_grid_tile_bounds(&g, (swath_tile){0, 0, 0});
  NEAR(b.minx, -20037508.3427892, 1e-6);
  NEAR(b.maxy, 20037508.3427892, 1e-6);
  NEAR(b.maxx, 20037508.3427892, 1e-6);
  NEAR(b.miny, -20037508.3427892, 1e-6);
}

static void test_webmercator_tile_of_point(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  /* Zurich 8.5417,47.3769 -> EPSG:3857 950857.694508905,6003812.20487785
   * (gdaltransform); slippy tile by python3 floor((lon+180)/360*2^z),
   * floor((1-asinh(tan(lat))/pi)/2*2^z): z14 8580/5737, z18 137291/91799,
   * z5 16/11. */
  const double x = 950857.694508905, y = 6003812.20487785;
  swath_tile t;
  assert_int_equal(swath_grid_tile_of_point(&g, 14, x, y, &t), 0);
  assert_int_equal(t.z, 14);
  assert_int_equal(t.x, 8580);
  assert_int_equal(t.y, 5737);
  assert_int_equal(swath_grid_tile_of_point(&g, 18, x, y, &t), 0);
  assert_int_equal(t.x, 137291);
  assert_int_equal(t.y, 91799);
  assert_int_equal(swath_grid_tile_of_point(&g, 5, x, y, &t), 0);
  assert_int_equal(t.x, 16);
  assert_int_equal(t.y, 11);
  /* The far corner belongs to the last tile; beyond it is an error. */
  assert_int_equal(swath_grid_tile_of_point(&g, 2, 20037508.3427892, -20037508.3427892, &t), 0);
  assert_int_equal(t.x, 3);
  assert_int_equal(t.y, 3);
  assert_int_equal(swath_grid_tile_of_point(&g, 2, 0, -20037609, &t), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "outside"));
  assert_int_equal(swath_grid_tile_of_point(&g, 25, x, y, &t), SWATH_EINVAL);
}

static void test_crs84(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WorldCRS84Quad", 256, &g), 0);
  assert_int_equal(g.is_geographic, 1);
  assert_string_equal(g.crs, "OGC:CRS84");
  /* OGC TMS 2.0 WorldCRS84Quad: 2x1 tiles of 180 degrees at zoom 0. */
  assert_int_equal(g.m[0].matrix_width, 2);
  assert_int_equal(g.m[0].matrix_height, 1);
  NEAR(g.m[0].cell_size, 0.703125, 1e-15);
  swath_bounds b = swath_grid_tile_bounds(&g, (swath_tile){0, 1, 0});
  NEAR(b.minx, 0, 1e-12);
  NEAR(b.miny, -90, 1e-12);
  NEAR(b.maxx, 180, 1e-12);
  NEAR(b.maxy, 90, 1e-12);
  assert_int_equal(g.m[3].matrix_width, 16);
  assert_int_equal(g.m[3].matrix_height, 8);
  /* Zurich at z3: 22.5 degree tiles; (8.5417+180)/22.5 = 8.38, (90-47.3769)/22.5 = 1.89 */
  swath_tile t;
  assert_int_equal(swath_grid_tile_of_point(&g, 3, 8.5417, 47.3769, &t), 0);
  assert_int_equal(t.x, 8);
  assert_int_equal(t.y, 1);
  /* 512 px: half the cell size */
  assert_int_equal(swath_grid_builtin("WorldCRS84Quad", 512, &g), 0);
  NEAR(g.m[0].cell_size, 0.3515625, 1e-15);
}

static void test_tiles_of_bounds_edges(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  swath_tile_range r[2];
  /* A tile's own bounds select that tile only, not the 8 that share edges. */
  swath_bounds b = swath_grid_tile_bounds(&g, (swath_tile){14, 8580, 5738});
  assert_int_equal(swath_grid_tiles_of_bounds(&g, 14, b, r), 1);
  assert_int_equal(r[0].minx, 8580);
  assert_int_equal(r[0].maxx, 8580);
  assert_int_equal(r[0].miny, 5738);
  assert_int_equal(r[0].maxy, 5738);
  /* A metre larger on every side reaches the neighbours. */
  swath_bounds big = {b.minx - 1, b.miny - 1, b.maxx + 1, b.maxy + 1};
  assert_int_equal(swath_grid_tiles_of_bounds(&g, 14, big, r), 1);
  assert_int_equal(r[0].minx, 8579);
  assert_int_equal(r[0].maxx, 8581);
  assert_int_equal(r[0].miny, 5737);
  assert_int_equal(r[0].maxy, 5739);
  /* Clipped to the grid; a box beyond it gives nothing. */
  swath_bounds huge = {-1e9, -1e9, 1e9, 1e9};
  assert_int_equal(swath_grid_tiles_of_bounds(&g, 2, huge, r), 1);
  assert_int_equal(r[0].minx, 0);
  assert_int_equal(r[0].maxx, 3);
  assert_int_equal(r[0].maxy, 3);
  swath_bounds off = {3e7, 0, 4e7, 1};
  assert_int_equal(swath_grid_tiles_of_bounds(&g, 2, off, r), 0);
  /* A box touching the extent's edge from outside is not inside. */
  swath_bounds touch = {20037508.3427892, 0, 3e7, 1};
  assert_int_equal(swath_grid_tiles_of_bounds(&g, 2, touch, r), 0);
  swath_bounds bad = {0, 5, 1, 4};
  assert_int_equal(swath_grid_tiles_of_bounds(&g, 2, bad, r), SWATH_EINVAL);
}

static void test_antimeridian(void **state) {
  (void)state;
  swath_grid g;
  swath_tile_range r[2];
  assert_int_equal(swath_grid_builtin("WorldCRS84Quad", 0, &g), 0);
  /* 170,-10 .. -170,10 at z3 (22.5 degree tiles): columns (170+180)/22.5 =
   * 15.6 -> 15, and (-170+180)/22.5 = 0.44 -> 0; rows (90-10)/22.5 = 3.6 -> 3
   * down to (90+10)/22.5 = 4.4 -> 4. */
  swath_bounds b = {170, -10, -170, 10};
  assert_int_equal(swath_grid_tiles_of_bounds(&g, 3, b, r), 2);
  assert_int_equal(r[0].minx, 15);
  assert_int_equal(r[0].maxx, 15);
  assert_int_equal(r[1].minx, 0);
  assert_int_equal(r[1].maxx, 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(r[i].z, 3);
    assert_int_equal(r[i].miny, 3);
    assert_int_equal(r[i].maxy, 4);
  }
  /* Web Mercator wraps too: x 170 deg = 18924313.4348565 m (gdaltransform). */
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  swath_bounds m = {18924313.4348565, -1e6, -18924313.4348565, 1e6};
  assert_int_equal(swath_grid_tiles_of_bounds(&g, 3, m, r), 2);
  assert_int_equal(r[0].minx, 7);
  assert_int_equal(r[0].maxx, 7);
  assert_int_equal(r[1].minx, 0);
  assert_int_equal(r[1].maxx, 0);
  assert_int_equal(r[0].miny, 3);
  assert_int_equal(r[0].maxy, 4);
  /* A grid that does not wrap refuses minx > maxx. */
  assert_int_equal(swath_grid_load("tests/data/utm32n.json", 0, &g), 0);
  swath_bounds u = {500000, 5e6, 400000, 5.1e6};
  assert_int_equal(swath_grid_tiles_of_bounds(&g, 1, u, r), SWATH_EINVAL);
}

static void test_metatiles(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  int64_t cols, rows;
  int w, h;
  /* z3 is 8x8 tiles; metatiling 3 -> ceil(8/3) = 3 metatiles a side, the
   * last covering only tiles 6-7. */
  swath_grid_metatile_matrix(&g, 3, 3, &cols, &rows);
  assert_int_equal(cols, 3);
  assert_int_equal(rows, 3);
  swath_tile_range r = swath_grid_metatile_tiles(&g, (swath_tile){3, 2, 2}, 3);
  assert_int_equal(r.minx, 6);
  assert_int_equal(r.maxx, 7);
  assert_int_equal(r.miny, 6);
  assert_int_equal(r.maxy, 7);
  swath_grid_metatile_size(&g, (swath_tile){3, 2, 2}, 3, &w, &h);
  assert_int_equal(w, 512);
  assert_int_equal(h, 512);
  swath_grid_metatile_size(&g, (swath_tile){3, 0, 2}, 3, &w, &h);
  assert_int_equal(w, 768);
  assert_int_equal(h, 512);
  swath_bounds mb = swath_grid_metatile_bounds(&g, (swath_tile){3, 2, 2}, 3);
  NEAR(mb.maxx, 20037508.3427892, 1e-6);
  NEAR(mb.miny, -20037508.3427892, 1e-6);
  NEAR(mb.minx, 20037508.3427892 / 2, 1e-6); /* tile 6 of 8 starts at x = +half */
  /* metatiling larger than the matrix: one clipped metatile */
  swath_grid_metatile_matrix(&g, 2, 8, &cols, &rows);
  assert_int_equal(cols, 1);
  assert_int_equal(rows, 1);
  swath_grid_metatile_size(&g, (swath_tile){2, 0, 0}, 8, &w, &h);
  assert_int_equal(w, 1024);
  assert_int_equal(h, 1024);
  /* WorldCRS84Quad z1 is 4x2: a 4x4 metatile is clipped to 1024x512 px. */
  assert_int_equal(swath_grid_builtin("WorldCRS84Quad", 0, &g), 0);
  swath_grid_metatile_size(&g, (swath_tile){1, 0, 0}, 4, &w, &h);
  assert_int_equal(w, 1024);
  assert_int_equal(h, 512);
  mb = swath_grid_metatile_bounds(&g, (swath_tile){1, 0, 0}, 4);
  NEAR(mb.minx, -180, 1e-12);
  NEAR(mb.maxx, 180, 1e-12);
  NEAR(mb.miny, -90, 1e-12);
  NEAR(mb.maxy, 90, 1e-12);
  swath_tile mt = swath_tile_to_metatile((swath_tile){5, 13, 6}, 4);
  assert_int_equal(mt.x, 3);
  assert_int_equal(mt.y, 1);
  assert_int_equal(mt.z, 5);
}

static void test_parent_children(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  const swath_tile tiles[] = {{1, 0, 1}, {14, 8580, 5737}, {20, 549165, 367197}, {24, 0, 16777215}};
  for (size_t i = 0; i < sizeof tiles / sizeof *tiles; i++) {
    swath_tile t = tiles[i], kids[4];
    swath_tile_children(t, kids);
    swath_bounds pb = swath_grid_tile_bounds(&g, t);
    if (t.z < 24) {
      swath_bounds k0 = swath_grid_tile_bounds(&g, kids[0]),
                   k3 = swath_grid_tile_bounds(&g, kids[3]);
      /* children tile the parent: top-left child, bottom-right child */
      NEAR(k0.minx, pb.minx, 1e-6);
      NEAR(k0.maxy, pb.maxy, 1e-6);
      NEAR(k3.maxx, pb.maxx, 1e-6);
      NEAR(k3.miny, pb.miny, 1e-6);
    }
    for (int k = 0; k < 4; k++) {
      swath_tile p = swath_tile_parent(kids[k]);
      assert_int_equal(p.z, t.z);
      assert_int_equal(p.x, t.x);
      assert_int_equal(p.y, t.y);
    }
    assert_int_equal(kids[1].x, kids[0].x + 1);
    assert_int_equal(kids[2].y, kids[0].y + 1);
  }
  assert_int_equal(swath_tile_parent((swath_tile){0, 0, 0}).z, -1);
}

static void test_tms_json_utm(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_load("tests/data/utm32n.json", 0, &g), 0);
  assert_string_equal(g.name, "UTM32NTest");
  assert_string_equal(g.crs, "EPSG:32632");
  assert_int_equal(g.is_geographic, 0);
  assert_int_equal(g.min_zoom, 0);
  assert_int_equal(g.max_zoom, 2);
  NEAR(g.m[2].cell_size, 256, 0);
  NEAR(g.m[0].origin_x, 0, 0);
  NEAR(g.m[0].origin_y, 9437184, 0);
  NEAR(g.extent.miny, 0, 0);
  NEAR(g.extent.maxx, 1048576, 0);
  /* Zurich 8.5417,47.3769 -> UTM 32N 465403.284465977 E, 5247150.83942451 N
   * (gdaltransform -t_srs EPSG:32632); by hand, tile = floor(E / span),
   * floor((9437184 - N) / span), span = cell * 256: z0 1/15, z1 3/31, z2 7/63. */
  const double e = 465403.284465977, n = 5247150.83942451;
  const int64_t want[3][2] = {{1, 15}, {3, 31}, {7, 63}};
  for (int z = 0; z <= 2; z++) {
    swath_tile t;
    assert_int_equal(swath_grid_tile_of_point(&g, z, e, n, &t), 0);
    assert_int_equal(t.x, want[z][0]);
    assert_int_equal(t.y, want[z][1]);
  }
  swath_bounds b = swath_grid_tile_bounds(&g, (swath_tile){2, 7, 63});
  NEAR(b.minx, 7 * 65536.0, 0);
  NEAR(b.maxy, 9437184 - 63 * 65536.0, 0);
  /* tile_size rescales: 512 px tiles of the same ground size */
  swath_grid g2;
  assert_int_equal(swath_grid_load("tests/data/utm32n.json", 512, &g2), 0);
  NEAR(g2.m[2].cell_size, 128, 0);
  assert_int_equal(g2.m[2].tile_width, 512);
}

static void test_tms_json_axis_order(void **state) {
  (void)state;
  /* EPSG:4326's axes are lat, lon: TMS pointOfOrigin [90, -180] is lat 90,
   * lon -180. CRS84's are lon, lat. Both grids must come out the same. */
  const char *p4326 = write_tmp(
      "g4326.json",
      "{\"id\": \"LatLon\", \"crs\": \"http://www.opengis.net/def/crs/EPSG/0/4326\",\n"
      " \"tileMatrices\": [{\"id\": \"0\", \"cellSize\": 0.703125, \"pointOfOrigin\": [90, -180],\n"
      " \"tileWidth\": 256, \"tileHeight\": 256, \"matrixWidth\": 2, \"matrixHeight\": 1}]}\n");
  swath_grid g;
  assert_int_equal(swath_grid_from_tms_json(p4326, &g), 0);
  assert_string_equal(g.crs, "EPSG:4326");
  assert_int_equal(g.is_geographic, 1);
  NEAR(g.m[0].origin_x, -180, 0);
  NEAR(g.m[0].origin_y, 90, 0);
  NEAR(g.extent.minx, -180, 0);
  NEAR(g.extent.maxx, 180, 0);
  NEAR(g.extent.miny, -90, 0);
  /* ... and written back in lat, lon order */
  char *js = swath_grid_to_tms_json(&g);
  assert_non_null(js);
  assert_non_null(strstr(js, "EPSG/0/4326"));
  json_t *root = json_loads(js, 0, NULL);
  assert_non_null(root);
  json_t *po =
      json_object_get(json_array_get(json_object_get(root, "tileMatrices"), 0), "pointOfOrigin");
  NEAR(json_number_value(json_array_get(po, 0)), 90, 0);
  NEAR(json_number_value(json_array_get(po, 1)), -180, 0);
  json_decref(root);
  free(js);

  const char *pcrs84 = write_tmp(
      "gcrs84.json",
      "{\"id\": \"LonLat\", \"crs\": {\"uri\": \"http://www.opengis.net/def/crs/OGC/1.3/CRS84\"},\n"
      " \"tileMatrices\": [{\"id\": \"0\", \"cellSize\": 0.703125, \"pointOfOrigin\": [-180, 90],\n"
      " \"tileWidth\": 256, \"tileHeight\": 256, \"matrixWidth\": 2, \"matrixHeight\": 1}]}\n");
  assert_int_equal(swath_grid_from_tms_json(pcrs84, &g), 0);
  assert_string_equal(g.crs, "OGC:CRS84");
  NEAR(g.m[0].origin_x, -180, 0);
  NEAR(g.m[0].origin_y, 90, 0);
}

static void test_tms_json_round_trip(void **state) {
  (void)state;
  const char *names[] = {"WebMercatorQuad", "WorldCRS84Quad", "tests/data/utm32n.json"};
  for (int i = 0; i < 3; i++) {
    swath_grid a, b;
    assert_int_equal(swath_grid_load(names[i], 0, &a), 0);
    char *js = swath_grid_to_tms_json(&a);
    assert_non_null(js);
    assert_non_null(strstr(js, "\"tileMatrices\""));
    const char *p = write_tmp("rt.json", js);
    free(js);
    assert_int_equal(swath_grid_from_tms_json(p, &b), 0);
    assert_string_equal(a.name, b.name);
    assert_string_equal(a.crs, b.crs);
    assert_int_equal(a.is_geographic, b.is_geographic);
    assert_int_equal(a.max_zoom, b.max_zoom);
    for (int z = 0; z <= a.max_zoom; z++) {
      NEAR(b.m[z].cell_size, a.m[z].cell_size, fabs(a.m[z].cell_size) * 1e-15);
      NEAR(b.m[z].origin_x, a.m[z].origin_x, 0);
      NEAR(b.m[z].origin_y, a.m[z].origin_y, 0);
      assert_int_equal(b.m[z].matrix_width, a.m[z].matrix_width);
      assert_int_equal(b.m[z].matrix_height, a.m[z].matrix_height);
      assert_int_equal(b.m[z].tile_width, a.m[z].tile_width);
      assert_string_equal(b.m[z].id, a.m[z].id);
    }
  }
}

static void test_tms_json_errors(void **state) {
  (void)state;
  swath_grid g;
  const char *p = write_tmp(
      "bl.json", "{\"id\": \"x\", \"crs\": \"EPSG:3857\", \"tileMatrices\": [{\"id\": \"0\", "
                 "\"cellSize\": 1, \"pointOfOrigin\": [0, 0], \"cornerOfOrigin\": \"bottomLeft\", "
                 "\"tileWidth\": 256, \"tileHeight\": 256, \"matrixWidth\": 1, "
                 "\"matrixHeight\": 1}]}");
  assert_int_equal(swath_grid_load(p, 0, &g), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "bottomLeft"));
  assert_non_null(strstr(swath_error_message(), "bl.json"));

  p = write_tmp("nocell.json", "{\"crs\": \"EPSG:3857\", \"tileMatrices\": [{\"pointOfOrigin\": "
                               "[0, 0], \"tileWidth\": 256, \"tileHeight\": 256, "
                               "\"matrixWidth\": 1, \"matrixHeight\": 1}]}");
  assert_int_equal(swath_grid_load(p, 0, &g), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "cellSize"));

  p = write_tmp("badcrs.json", "{\"crs\": \"EPSG:999999\", \"tileMatrices\": []}");
  assert_int_equal(swath_grid_load(p, 0, &g), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "EPSG:999999"));

  p = write_tmp("broken.json", "{\"crs\": ");
  assert_int_equal(swath_grid_load(p, 0, &g), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "broken.json"));

  assert_int_equal(swath_grid_load("tests/data/does-not-exist.json", 0, &g), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "does-not-exist.json"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_webmercator_constants),
      cmocka_unit_test(test_webmercator_tile_bounds),
      cmocka_unit_test(test_webmercator_tile_of_point),
      cmocka_unit_test(test_crs84),
      cmocka_unit_test(test_tiles_of_bounds_edges),
      cmocka_unit_test(test_antimeridian),
      cmocka_unit_test(test_metatiles),
      cmocka_unit_test(test_parent_children),
      cmocka_unit_test(test_tms_json_utm),
      cmocka_unit_test(test_tms_json_axis_order),
      cmocka_unit_test(test_tms_json_round_trip),
      cmocka_unit_test(test_tms_json_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
