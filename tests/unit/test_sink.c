/* test_sink.c: the tile-directory sink writes georeferenced GTiff and PNG
 * tiles atomically, reads them back with their masks, refuses formats that
 * cannot hold the data, and writes metadata that GDAL's STACTA driver opens
 * and reads the written pixels through. */
#include <cpl_conv.h>
#include <dirent.h>
#include <gdal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/error.h"
#include "core/grid.h"
#include "core/raster.h"
#include "fixture.h"
#include "io/sink.h"

static swath_grid grid;

static int setup(void **st) {
  (void)st;
  GDALAllRegister();
  CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  assert_int_equal(tmpdir_make("sink"), 0);
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 256, &grid), 0);
  return 0;
}
static int teardown(void **st) {
  (void)st;
  int r = tmpdir_remove();
  GDALDestroyDriverManager();
  return r;
}

static swath_sink_cfg cfg(const char *sub, const char *format, swath_dtype dt, int bands) {
  static char path[128];
  snprintf(path, sizeof path, "%s/%s", tmpdir, sub);
  swath_tile t = {14, 8580, 5737};
  swath_sink_cfg c = {.path = path,
                      .format = format,
                      .dtype = dt,
                      .bands = bands,
                      .alpha = 1,
                      .grid = &grid,
                      .min_zoom = 14,
                      .max_zoom = 14,
                      .name = "test"};
  c.bounds = swath_grid_tile_bounds(&grid, t);
  c.lonlat = (swath_lonlat_extent){1, {{8.52, 47.36, 8.54, 47.38}}, 8.53, 47.37};
  return c;
}

static void pattern(swath_raster *r, swath_dtype dt, int bands) {
  assert_int_equal(swath_raster_alloc(r, 256, 256, bands, dt), 0);
  for (int b = 0; b < bands; b++)
    for (int i = 0; i < 256 * 256; i++) {
      double v = (i % 251) + b * 3;
      GDALCopyWords(&v, GDT_Float64, 0, (char *)swath_raster_band(r, b) + i * swath_dtype_size(dt),
                    (GDALDataType)dt, 0, 1);
    }
  for (int i = 0; i < 256 * 10; i++)
    r->mask[i] = 0; /* top 10 rows: no data */
}

static int count_files(const char *root, const char *needle) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "find %s -name '*%s*' | wc -l", root, needle);
  FILE *f = popen(cmd, "r");
  int n = -1;
  if (f) {
    if (fscanf(f, "%d", &n) != 1) n = -1;
    pclose(f);
  }
  return n;
}

static void roundtrip(const char *format, swath_dtype dt, int bands) {
  swath_sink_cfg c = cfg(format, format, dt, bands);
  void *s;
  assert_int_equal(swath_sink_tiledir.open(&c, &s), 0);
  swath_raster r, back;
  pattern(&r, dt, bands);
  swath_tile t = {14, 8580, 5737};
  assert_int_equal(swath_sink_tiledir.write_tile(s, t, &r), 0);
  assert_int_equal(swath_sink_tiledir.read_tile(s, t, &back), 0);
  assert_int_equal(back.bands, bands);
  for (int i = 0; i < 256 * 256; i++) {
    assert_int_equal(back.mask[i], r.mask[i]);
    if (!r.mask[i]) continue;
    for (int b = 0; b < bands; b++) {
      double a, z;
      GDALCopyWords((char *)swath_raster_band(&r, b) + i * swath_dtype_size(dt), (GDALDataType)dt,
                    0, &a, GDT_Float64, 0, 1);
      GDALCopyWords((char *)swath_raster_band(&back, b) + i * swath_dtype_size(dt),
                    (GDALDataType)dt, 0, &z, GDT_Float64, 0, 1);
      assert_true(a == z);
    }
  }
  swath_raster_free(&back);
  /* Absent tile: empty, not an error. */
  assert_int_equal(swath_sink_tiledir.read_tile(s, (swath_tile){14, 1, 1}, &back), SWATH_EEMPTY);
  assert_int_equal(swath_sink_tiledir.finish(s, "process: test\n"), 0);
  swath_sink_tiledir.close(s);
  swath_raster_free(&r);
  assert_int_equal(count_files(c.path, ".tmp"), 0);
  assert_int_equal(count_files(c.path, ".aux.xml"), 0);

  /* The metadata: STACTA opens the pyramid and reads the tile's pixels. */
  char stac[256];
  snprintf(stac, sizeof stac, "STACTA:%s/stac.json", c.path);
  GDALDatasetH ds = GDALOpen(stac, GA_ReadOnly);
  assert_non_null(ds);
  assert_int_equal(GDALGetRasterCount(ds), bands + 1);
  assert_int_equal(GDALGetRasterXSize(ds), 256);
  double v;
  /* Row 100, column 7: pixel index 25607 -> 25607 % 251 = 5 (+3 per band). */
  assert_int_equal(GDALRasterIO(GDALGetRasterBand(ds, bands), GF_Read, 7, 100, 1, 1, &v, 1, 1,
                                GDT_Float64, 0, 0),
                   CE_None);
  assert_true(v == 5 + (bands - 1) * 3);
  GDALClose(ds);
}

static void png_rgba_roundtrip(void **st) {
  (void)st;
  roundtrip("PNG", SWATH_DT_BYTE, 3);
}
static void gtiff_float_roundtrip(void **st) {
  (void)st;
  roundtrip("GTiff", SWATH_DT_FLOAT32, 1);
}

static void gtiff_is_georeferenced(void **st) {
  (void)st;
  char p[256];
  snprintf(p, sizeof p, "%s/GTiff/14/8580/5737.tif", tmpdir);
  GDALDatasetH ds = GDALOpen(p, GA_ReadOnly);
  assert_non_null(ds);
  double gt[6];
  assert_int_equal(GDALGetGeoTransform(ds, gt), CE_None);
  swath_bounds b = swath_grid_tile_bounds(&grid, (swath_tile){14, 8580, 5737});
  assert_float_equal(gt[0], b.minx, 1e-6);
  assert_float_equal(gt[3], b.maxy, 1e-6);
  assert_float_equal(gt[1], (b.maxx - b.minx) / 256, 1e-9);
  assert_non_null(strstr(GDALGetProjectionRef(ds), "Pseudo-Mercator"));
  GDALClose(ds);
}

static void refuses_what_cannot_be_written(void **st) {
  (void)st;
  void *s;
  swath_sink_cfg c = cfg("bad", "PNG", SWATH_DT_FLOAT32, 1);
  assert_int_equal(swath_sink_tiledir.open(&c, &s), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "PNG holds Byte or UInt16"));
  c = cfg("bad", "JPEG", SWATH_DT_BYTE, 2);
  assert_int_equal(swath_sink_tiledir.open(&c, &s), SWATH_EINVAL);
  c = cfg("bad", "BMP", SWATH_DT_BYTE, 3);
  assert_int_equal(swath_sink_tiledir.open(&c, &s), SWATH_EINVAL);
  /* A path below a regular file cannot be created, even by root. */
  char file[128];
  snprintf(file, sizeof file, "%s/plainfile", tmpdir);
  FILE *f = fopen(file, "w");
  fclose(f);
  c = cfg("plainfile/out", "PNG", SWATH_DT_BYTE, 3);
  assert_int_equal(swath_sink_tiledir.open(&c, &s), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "cannot write"));
}

/* clear() deletes a product (tiles and metadata) and nothing else: not the
 * state, not a file the user keeps next to it, not a folder with another
 * name; has_tiles() sees a tile three folders down. */
static void clear_removes_only_the_product(void **st) {
  (void)st;
  swath_sink_cfg c = cfg("clear", "PNG", SWATH_DT_BYTE, 3);
  void *s;
  assert_int_equal(swath_sink_tiledir.open(&c, &s), 0);
  assert_int_equal(swath_sink_tiledir.has_tiles(s), 0);
  swath_raster r;
  pattern(&r, SWATH_DT_BYTE, 3);
  assert_int_equal(swath_sink_tiledir.write_tile(s, (swath_tile){14, 8580, 5737}, &r), 0);
  assert_int_equal(swath_sink_tiledir.write_tile(s, (swath_tile){13, 4290, 2868}, &r), 0);
  swath_raster_free(&r);
  assert_int_equal(swath_sink_tiledir.finish(s, "process: test\n"), 0);
  assert_int_equal(swath_sink_tiledir.has_tiles(s), 1);
  char keep[256], notes[256], state[256];
  snprintf(keep, sizeof keep, "%s/notes.txt", c.path);
  snprintf(notes, sizeof notes, "%s/14x", c.path);
  snprintf(state, sizeof state, "%s/.swath/state.sqlite", c.path);
  FILE *f = fopen(keep, "w");
  fclose(f);
  assert_int_equal(mkdir(notes, 0777), 0);
  f = fopen(state, "w");
  fclose(f);
  assert_int_equal(swath_sink_tiledir.clear(s), 0);
  assert_int_equal(swath_sink_tiledir.has_tiles(s), 0);
  assert_int_equal(count_files(c.path, ".png"), 0);
  assert_int_equal(count_files(c.path, ".json"), 0);
  assert_int_equal(count_files(c.path, "job.yaml"), 0);
  assert_int_equal(access(keep, F_OK), 0);
  assert_int_equal(access(notes, F_OK), 0);
  assert_int_equal(access(state, F_OK), 0);
  char z[256];
  snprintf(z, sizeof z, "%s/14", c.path);
  assert_int_equal(access(z, F_OK), -1);
  swath_sink_tiledir.close(s);
}

/* With an extent set, the metadata describe it: zooms, and limits per zoom
 * (not the cfg's bounds). */
static void metadata_describe_the_extent(void **st) {
  (void)st;
  swath_sink_cfg c = cfg("extent", "PNG", SWATH_DT_BYTE, 3);
  void *s;
  assert_int_equal(swath_sink_tiledir.open(&c, &s), 0);
  swath_sink_extent e = {.min_zoom = 12, .max_zoom = 14, .bounds = c.bounds, .lonlat = c.lonlat};
  e.have[12] = e.have[14] = 1;
  e.limits[12] = (swath_tile_range){12, 2140, 1430, 2146, 1436};
  e.limits[14] = (swath_tile_range){14, 8580, 5737, 8580, 5737};
  swath_sink_tiledir.set_extent(s, &e);
  assert_int_equal(swath_sink_tiledir.finish(s, "process: test\n"), 0);
  swath_sink_tiledir.close(s);
  char p[256], buf[65536];
  snprintf(p, sizeof p, "%s/stac.json", c.path);
  FILE *f = fopen(p, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *l12 = strstr(buf, "\"12\": {");
  assert_non_null(l12);
  assert_non_null(strstr(l12, "\"min_tile_col\": 2140"));
  assert_non_null(strstr(buf, "\"max_tile_row\": 1436"));
  assert_null(strstr(buf, "\"13\": {")); /* no tiles at 13: no limits */
  snprintf(p, sizeof p, "%s/tilejson.json", c.path);
  f = fopen(p, "r");
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  assert_non_null(strstr(buf, "\"minzoom\": 12"));
  assert_non_null(strstr(buf, "\"maxzoom\": 14"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(png_rgba_roundtrip),
      cmocka_unit_test(gtiff_float_roundtrip),
      cmocka_unit_test(gtiff_is_georeferenced),
      cmocka_unit_test(refuses_what_cannot_be_written),
      cmocka_unit_test(clear_removes_only_the_product),
      cmocka_unit_test(metadata_describe_the_extent),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
