/* test_remote.c: remote sources without network. An xyz input opened
 * offline lists, through requests() (the function prefetch and read share),
 * the exact URLs and cache paths a read needs: {z}/{x}/{y}, TMS rows ({-y}),
 * subdomains ({s}) chosen by position, the zoom chosen from the request's
 * resolution, the kernel margin by resampling; bad templates and options are
 * refused with one line; the WMS request grid for a CRS without a built-in
 * grid halves from one block over the CRS's area of use; formats map to
 * fetch kinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <gdal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "core/grid.h"
#include "fixture.h"
#include "io/fetch.h"
#include "io/remote.h"
#include "io/source.h"

static swath_grid wmq;

static int setup(void **state) {
  (void)state;
  GDALAllRegister();
  if (tmpdir_make("remote")) return -1;
  return swath_grid_builtin("WebMercatorQuad", 256, &wmq);
}

static int teardown(void **state) {
  (void)state;
  return tmpdir_remove();
}

typedef struct collected {
  int n;
  char url[64][256];
  char dest[64][512];
} collected;

static void collect(void *ud, const swath_fetch_req *r) {
  collected *c = ud;
  if (c->n < 64) {
    snprintf(c->url[c->n], sizeof c->url[0], "%s", r->url);
    snprintf(c->dest[c->n], sizeof c->dest[0], "%s", r->dest);
    assert_int_equal(r->expect_width, 256);
    assert_int_equal(r->expect_height, 256);
  }
  c->n++;
}

/* Open an xyz input from a YAML mapping (offline: no network at all). */
static int open_xyz(const char *yaml, swath_cfg **cfg, void **st) {
  assert_int_equal(swath_cfg_parse_string(yaml, "test", cfg), 0);
  swath_source_spec spec = {"img", "xyz", NULL, *cfg, tmpdir, NULL, 0, NULL, NULL};
  swath_source_info info;
  return swath_source_xyz.open(&spec, &wmq, &info, st);
}

/* A read of exactly tile t (near: no margin). */
static swath_read_req tile_req(swath_tile t, int scale, const char *resampling) {
  return (swath_read_req){.crs = wmq.crs,
                          .bounds = swath_grid_tile_bounds(&wmq, t),
                          .width = 256 * scale,
                          .height = 256 * scale,
                          .resampling = resampling};
}

static void test_xyz_urls(void **state) {
  (void)state;
  swath_cfg *cfg;
  void *st;
  assert_int_equal(
      open_xyz("{type: xyz, url: 'http://h.test/{z}/{x}/{y}.png', offline: true}", &cfg, &st), 0);
  collected c = {0};
  /* The request's pixels are zoom 12's: zoom 12 is read, one tile. */
  swath_read_req r = tile_req((swath_tile){12, 2145, 1434}, 1, "near");
  assert_int_equal(swath_source_xyz.requests(st, &r, collect, &c), 0);
  assert_int_equal(c.n, 1);
  assert_string_equal(c.url[0], "http://h.test/12/2145/1434.png");
  assert_non_null(strstr(c.dest[0], "/12/2145/1434.png"));
  assert_non_null(strstr(c.dest[0], tmpdir));
  /* Twice the pixels: zoom 13, the four children. */
  c.n = 0;
  r = tile_req((swath_tile){12, 2145, 1434}, 2, "near");
  assert_int_equal(swath_source_xyz.requests(st, &r, collect, &c), 0);
  assert_int_equal(c.n, 4);
  assert_string_equal(c.url[0], "http://h.test/13/4290/2868.png");
  assert_string_equal(c.url[3], "http://h.test/13/4291/2869.png");
  /* Bilinear reaches one pixel further: a ring of neighbours. */
  c.n = 0;
  r = tile_req((swath_tile){12, 2145, 1434}, 1, "bilinear");
  assert_int_equal(swath_source_xyz.requests(st, &r, collect, &c), 0);
  assert_int_equal(c.n, 9);
  swath_source_xyz.close(st);
  swath_cfg_free(cfg);
}

static void test_xyz_tms_and_subdomains(void **state) {
  (void)state;
  swath_cfg *cfg;
  void *st;
  assert_int_equal(
      open_xyz("{type: xyz, url: 'https://{s}.h.test/{z}/{x}/{-y}.jpg', subdomains: 'a,b,c', "
               "zoom: 3, offline: true}",
               &cfg, &st),
      0);
  collected c = {0};
  swath_read_req r = tile_req((swath_tile){3, 1, 2}, 1, "near");
  assert_int_equal(swath_source_xyz.requests(st, &r, collect, &c), 0);
  assert_int_equal(c.n, 1);
  /* TMS row 8 - 1 - 2 = 5; subdomain (1 + 2) % 3 = 0 -> a; extension from the URL. */
  assert_string_equal(c.url[0], "https://a.h.test/3/1/5.jpg");
  assert_non_null(strstr(c.dest[0], "/3/1/2.jpg"));
  /* A fixed zoom coarser than the request: still that zoom (5/4/9 lies in 3/1/2). */
  c.n = 0;
  r = tile_req((swath_tile){5, 4, 9}, 1, "near");
  assert_int_equal(swath_source_xyz.requests(st, &r, collect, &c), 0);
  assert_int_equal(c.n, 1);
  assert_string_equal(c.url[0], "https://a.h.test/3/1/5.jpg");
  swath_source_xyz.close(st);
  swath_cfg_free(cfg);
}

static void test_xyz_refusals(void **state) {
  (void)state;
  static const struct {
    const char *yaml, *msg;
  } bad[] = {
      {"{type: xyz, url: 'http://h/{z}/{x}/{row}.png', offline: true}",
       "unknown placeholder {row}"},
      {"{type: xyz, url: 'http://h/{z}/{x}.png', offline: true}", "must contain {z}, {x}"},
      {"{type: xyz, url: 'ftp://h/{z}/{x}/{y}.png', offline: true}",
       "expected http:// or https://"},
      {"{type: xyz, url: 'http://{s}.h/{z}/{x}/{y}.png', subdomains: '', offline: true}",
       "subdomains is empty"},
      {"{type: xyz, offline: true}", "needs 'url'"},
      {"{type: xyz, url: 'http://h/{z}/{x}/{y}.png', zoom: 40, offline: true}", "zoom"},
      {"{type: xyz, url: 'http://h/{z}/{x}/{y}.png', format: gif, offline: true}",
       "not an image format"},
      {"{type: xyz, url: 'http://h/{z}/{x}/{y}.png', colour: red, offline: true}",
       "unknown key 'colour'"},
      {"{type: xyz, url: 'http://h/{z}/{x}/{y}.png', bounds: [10, 50, 5, 40], offline: true}",
       "[west, south"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    swath_cfg *cfg;
    void *st = NULL;
    swath_error_clear();
    int rc = open_xyz(bad[i].yaml, &cfg, &st);
    if (rc != SWATH_EINVAL || !strstr(swath_error_message(), bad[i].msg))
      fail_msg("%s: rc %d, message '%s' (expected '%s')", bad[i].yaml, rc, swath_error_message(),
               bad[i].msg);
    assert_null(st);
    swath_cfg_free(cfg);
  }
}

static void test_cache_identity(void **state) {
  (void)state;
  /* Same service, other job options: the same cache folder; another URL: another. */
  swath_cfg *c1, *c2, *c3;
  void *s1, *s2, *s3;
  assert_int_equal(
      open_xyz("{type: xyz, url: 'http://h/{z}/{x}/{y}.png', offline: true}", &c1, &s1), 0);
  assert_int_equal(open_xyz("{type: xyz, url: 'http://h/{z}/{x}/{y}.png', zoom: 4, "
                            "max_connections: 2, offline: true}",
                            &c2, &s2),
                   0);
  assert_int_equal(
      open_xyz("{type: xyz, url: 'http://h/v2/{z}/{x}/{y}.png', offline: true}", &c3, &s3), 0);
  assert_string_equal(((swath__remote *)s1)->dir, ((swath__remote *)s2)->dir);
  assert_string_not_equal(((swath__remote *)s1)->dir, ((swath__remote *)s3)->dir);
  swath_source_xyz.close(s1), swath_source_xyz.close(s2), swath_source_xyz.close(s3);
  swath_cfg_free(c1), swath_cfg_free(c2), swath_cfg_free(c3);
}

static void test_offline_read_missing(void **state) {
  (void)state;
  swath_cfg *cfg;
  void *st;
  assert_int_equal(
      open_xyz("{type: xyz, url: 'http://h.test/x/{z}/{x}/{y}.png', offline: true}", &cfg, &st), 0);
  swath_raster out;
  swath_read_req r = tile_req((swath_tile){12, 2145, 1434}, 1, "near");
  assert_int_equal(swath_source_xyz.read(st, &r, &out), SWATH_EIO);
  assert_non_null(strstr(swath_error_message(), "not in the cache and the input is offline"));
  swath_source_xyz.close(st);
  swath_cfg_free(cfg);
}

static void test_quad_grid(void **state) {
  (void)state;
  swath_grid g;
  /* Built-in grids for the web CRSs. */
  assert_int_equal(swath__remote_quad_grid("EPSG:3857", 512, &g), 0);
  assert_string_equal(g.name, "WebMercatorQuad");
  assert_int_equal(g.m[0].tile_width, 512);
  assert_int_equal(swath__remote_quad_grid("EPSG:4326", 256, &g), 0);
  assert_string_equal(g.name, "WorldCRS84Quad");
  /* Swiss LV95: one block over the area of use, halving. */
  assert_int_equal(swath__remote_quad_grid("EPSG:2056", 256, &g), 0);
  assert_true(g.extent.minx > 2.3e6 && g.extent.minx < 2.6e6);
  assert_true(g.extent.maxy > 1.2e6 && g.extent.maxy < 1.4e6);
  assert_int_equal(g.m[0].matrix_width, 1);
  assert_int_equal(g.m[5].matrix_width, 32);
  assert_float_equal(g.m[5].cell_size * 32, g.m[0].cell_size, 1e-6);
  assert_float_equal(g.m[0].cell_size * 256, g.extent.maxx - g.extent.minx, 1e-3);
  assert_int_equal(swath__remote_quad_grid("EPSG:99999", 256, &g), SWATH_EINVAL);
}

static void test_formats(void **state) {
  (void)state;
  unsigned k;
  char ext[8];
  assert_int_equal(swath__remote_format("image/png", &k, ext), 0);
  assert_int_equal(k, SWATH_FETCH_PNG);
  assert_string_equal(ext, "png");
  assert_int_equal(swath__remote_format("image/jpeg", &k, ext), 0);
  assert_string_equal(ext, "jpg");
  assert_int_equal(swath__remote_format("image/png; mode=8bit", &k, ext), 0);
  assert_int_equal(k, SWATH_FETCH_PNG);
  assert_int_equal(swath__remote_format("text/html", &k, ext), SWATH_EINVAL);
  char buf[64] = "a=";
  assert_int_equal(swath__remote_escape(buf, sizeof buf, "image/png x&y"), 0);
  assert_string_equal(buf, "a=image%2Fpng%20x%26y");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_xyz_urls),
      cmocka_unit_test(test_xyz_tms_and_subdomains),
      cmocka_unit_test(test_xyz_refusals),
      cmocka_unit_test(test_cache_identity),
      cmocka_unit_test(test_offline_read_missing),
      cmocka_unit_test(test_quad_grid),
      cmocka_unit_test(test_formats),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
