/* test_job_size.c: the task count that runs beside a starting run
 * (engine/job_size.h): it ends in the exact sum of swath_area_count_tiles
 * over the zooms, shows estimates until then, and can be freed in the
 * middle of a long count. Runs from the repo root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <gdal.h>
#include <ogr_srs_api.h>

#include "core/area.h"
#include "core/error.h"
#include "engine/job_size.h"

/* A polygon with a hole over Switzerland: its count is by the outline. */
static const char *DONUT =
    "POLYGON((6 45.5,10.5 45.5,10.5 47.8,6 47.8,6 45.5),(7 46,9.5 46,9.5 47.2,7 47.2,7 46))";

static int setup(void **state) {
  (void)state;
  GDALAllRegister();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  GDALDestroyDriverManager();
  OSRCleanup();
  return 0;
}

static void test_count_ends_exact(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  swath_area *a;
  assert_int_equal(swath_area_from_wkt(&g, DONUT, "EPSG:4326", &a), 0);
  int64_t want = 0, guess = 0;
  for (int z = 8; z <= 14; z++) {
    want += swath_area_count_tiles(&g, a, z, 2);
    guess += swath_area_estimate_tiles(&g, a, z, 2);
  }
  assert_true(guess != want); /* so the test tells an estimate from a count */
  swath_task_count *c;
  assert_int_equal(swath_task_count_start(&g, a, 8, 14, 2, &c), 0);
  swath_area_free(a); /* the count works on its own clone */
  assert_true(swath_task_count_wait(c, 60));
  int exact = 0;
  assert_int_equal(swath_task_count_get(c, &exact), want);
  assert_true(exact);
  swath_task_count_free(c);
}

static void test_estimate_then_stop(void **state) {
  (void)state;
  swath_grid g;
  assert_int_equal(swath_grid_builtin("WebMercatorQuad", 0, &g), 0);
  swath_area *a;
  assert_int_equal(swath_area_from_wkt(&g, DONUT, "EPSG:4326", &a), 0);
  /* zooms 20-24 of a polygon: seconds of counting, not a few ms */
  int64_t guess = 0;
  for (int z = 20; z <= 24; z++)
    guess += swath_area_estimate_tiles(&g, a, z, 1);
  swath_task_count *c;
  assert_int_equal(swath_task_count_start(&g, a, 20, 24, 1, &c), 0);
  int exact = 1;
  int64_t now = swath_task_count_get(c, &exact);
  assert_false(exact);
  /* at first every zoom is its estimate; later ones can only be closer */
  assert_true(now > guess / 2 && now < guess * 2);
  /* stops it (swath_area_count_tiles_until's stop, tested in
   * test_area_count.c): no wait for zoom 24 */
  swath_task_count_free(c);
  swath_area_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_count_ends_exact),
      cmocka_unit_test(test_estimate_then_stop),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
