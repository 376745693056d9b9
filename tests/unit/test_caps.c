/* test_caps.c: the capabilities checks of the wms and wmts inputs on
 * documents in memory (what open() does with the fetched document), for
 * what the fuzz targets found: a WMTS tile matrix whose TopLeftCorner is
 * not a finite number, or so large that a tile has no size, was taken as
 * a grid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <gdal.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/grid.h"
#include "io/remote.h"

/* A WMTS document with one layer "roads" and a set "S" of one matrix. */
static void wmts_doc(char *buf, size_t cap, const char *corner, const char *scale) {
  snprintf(buf, cap,
           "<Capabilities><Contents><Layer><Identifier>roads</Identifier>"
           "<Format>image/png</Format><TileMatrixSetLink><TileMatrixSet>S</TileMatrixSet>"
           "</TileMatrixSetLink></Layer><TileMatrixSet><Identifier>S</Identifier>"
           "<SupportedCRS>EPSG:3857</SupportedCRS><TileMatrix><Identifier>z0</Identifier>"
           "<ScaleDenominator>%s</ScaleDenominator><TopLeftCorner>%s</TopLeftCorner>"
           "<TileWidth>256</TileWidth><TileHeight>256</TileHeight><MatrixWidth>1</MatrixWidth>"
           "<MatrixHeight>1</MatrixHeight></TileMatrix></TileMatrixSet></Contents></Capabilities>",
           scale, corner);
}

static void wmts_matrix_numbers(void **st) {
  (void)st;
  char doc[2048];
  swath_grid g;
  wmts_doc(doc, sizeof doc, "-20037508.3427892 20037508.3427892", "559082264.0287178");
  assert_int_equal(swath__wmts_read_caps(doc, "roads", "S", NULL, NULL, &g), 0);
  assert_int_equal(g.max_zoom, 0);
  assert_float_equal(g.m[0].origin_x, -20037508.3427892, 1e-6);
  static const char *const bad[][2] = {
      {"nan 20037508", "559082264"},  /* not a number */
      {"-20037508 inf", "559082264"}, /* not finite */
      {"-2003 -1e308", "559082264"},  /* a tile is below the resolution of a double there */
      {"0 0", "1e309"},               /* the scale (and cell size) is infinite */
      {"1.79e308 0", "1e308"},        /* the matrix's extent overflows */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    wmts_doc(doc, sizeof doc, bad[i][0], bad[i][1]);
    swath_error_clear();
    int rc = swath__wmts_read_caps(doc, "roads", "S", NULL, NULL, &g);
    if (rc != SWATH_EINVAL || !strstr(swath_error_message(), "tile matrix z0"))
      fail_msg("TopLeftCorner '%s', ScaleDenominator %s: rc %d, '%s'", bad[i][0], bad[i][1], rc,
               swath_error_message());
  }
}

int main(void) {
  GDALAllRegister();
  const struct CMUnitTest tests[] = {cmocka_unit_test(wmts_matrix_numbers)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
