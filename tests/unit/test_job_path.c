/* test_job_path.c: how job values become paths (engine/job_path.h), and
 * that messages and log lines stay one line without control characters
 * (core/error.h, core/log.h).
 *   - relative names holding ':' (dem_10:30.tif, img:b.tif, out_10:30,
 *     png_2020:05.tif, r:x.tif is GDAL's R driver) are joined to the job's
 *     folder; GDAL's own names (URLs, /vsi, driver names, connection
 *     prefixes, subdataset forms) are left as written; the GDAL oracle
 *     for "a driver name" is GDALGetDriverByName itself;
 *   - ~ and ~/ are $HOME, ~user and "" are refused;
 *   - swath_error_set and swath_log escape newlines, CR, ESC, other C0, DEL
 *     and C1, never split an escape when cutting, and leave an escaped
 *     message unchanged when it is quoted again. */
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
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "engine/job_path.h"
#include "fixture.h"

static int setup(void **state) {
  (void)state;
  GDALAllRegister();
  return 0;
}

static void gdal_names(void **state) {
  (void)state;
  static const char *const gdal[] = {"/vsicurl/https://example.org/a.tif",
                                     "https://example.org/a.tif",
                                     "s3://bucket/a.tif",
                                     "file:///tmp/a.tif",
                                     "vrt://a.tif?bands=1",
                                     "GPKG:a.gpkg:table",
                                     "gpkg:a.gpkg:t",
                                     "NETCDF:\"a.nc\":var",
                                     "HDF5:a.h5://x",
                                     "PG:dbname=x",
                                     "WFS:http://x",
                                     "GTIFF_DIR:1:a.tif",
                                     "NITF_IM:0:a.ntf",
                                     "HDF4_SDS:x:a.hdf:0",
                                     "SENTINEL2_L1C:a.xml:10m",
                                     "ZARR:a.zarr",
                                     NULL};
  for (const char *const *p = gdal; *p; p++) {
    if (!swath_is_gdal_name(*p)) fail_msg("'%s' should be a GDAL name", *p);
  }
  static const char *const paths[] = {
      "data/dem_10:30.tif", "dem_10:30.tif", "img:b.tif",     "out_10:30", "png_2020:05.tif",
      "a/GPKG:x",           "./GPKG:x",      "my file:1.tif", ":x.tif",    "x.tif",
      "ZZZNODRIVER:x",      "GTIFF_10:x",    "data:x/y",      NULL};
  for (const char *const *p = paths; *p; p++) {
    if (swath_is_gdal_name(*p)) fail_msg("'%s' should be a path", *p);
  }
  /* One-letter driver R: "r:x.tif" is GDAL's. Only if this GDAL has it. */
  assert_int_equal(swath_is_gdal_name("r:x.tif"), GDALGetDriverByName("R") != NULL);
}

static void job_paths(void **state) {
  (void)state;
  char *out = NULL;
  assert_int_equal(swath_job_gdal_path("/jobs/a", "data/dem_10:30.tif", NULL, "inputs.dem", &out),
                   0);
  assert_string_equal(out, "/jobs/a/data/dem_10:30.tif");
  free(out);
  assert_int_equal(swath_job_gdal_path("/jobs/a", "GTIFF_DIR:1:x.tif", NULL, "inputs.dem", &out),
                   0);
  assert_string_equal(out, "GTIFF_DIR:1:x.tif");
  free(out);
  assert_int_equal(swath_job_path("/jobs/a", "out_10:30", NULL, "output.path", &out), 0);
  assert_string_equal(out, "/jobs/a/out_10:30");
  free(out);
  /* output.path is always a folder: a GDAL-looking name is still a path. */
  assert_int_equal(swath_job_path("/jobs/a", "GPKG:x", NULL, "output.path", &out), 0);
  assert_string_equal(out, "/jobs/a/GPKG:x");
  free(out);
  assert_int_equal(swath_job_path("/jobs/a", "/abs/x", NULL, "output.path", &out), 0);
  assert_string_equal(out, "/abs/x");
  free(out);
  assert_int_equal(swath_job_path(".", "rel/x", NULL, "output.path", &out), 0);
  assert_string_equal(out, "rel/x");
  free(out);

  setenv("HOME", "/home/u", 1);
  assert_int_equal(swath_job_path("/jobs/a", "~", NULL, "output.path", &out), 0);
  assert_string_equal(out, "/home/u");
  free(out);
  assert_int_equal(swath_job_path("/jobs/a", "~/t", NULL, "output.path", &out), 0);
  assert_string_equal(out, "/home/u/t");
  free(out);
  assert_int_equal(swath_job_gdal_path("/jobs/a", "~/d.tif", NULL, "inputs.a", &out), 0);
  assert_string_equal(out, "/home/u/d.tif");
  free(out);
  assert_int_equal(swath_job_path("/jobs/a", "~bob/t", NULL, "output.path", &out), SWATH_EINVAL);
  assert_null(out);
  assert_non_null(strstr(swath_error_message(), "~bob/t"));
  assert_int_equal(swath_job_path("/jobs/a", "", NULL, "output.path", &out), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "output.path: '': empty path"));
  unsetenv("HOME");
  assert_int_equal(swath_job_path("/jobs/a", "~/t", NULL, "cache.path", &out), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "HOME"));
}

static void error_escapes(void **state) {
  (void)state;
  swath_error_set(SWATH_EINVAL, "x '%s'",
                  "a\nb\rc\td\x1b[2J\x7f\x01\xc2\x9b"
                  "e\xc3\xa9");
  assert_string_equal(swath_error_message(),
                      "x 'a\\nb\\rc\\td\\x1b[2J\\x7f\\x01\\xc2\\x9be\xc3\xa9'");
  /* Quoting a message again changes nothing. */
  char copy[1024];
  snprintf(copy, sizeof copy, "%s", swath_error_message());
  swath_error_set(SWATH_EINVAL, "%s", copy);
  assert_string_equal(swath_error_message(), copy);
  /* A cut never leaves half an escape: 1023 ESCs make 255 whole "\x1b". */
  char many[1100];
  memset(many, 0x1b, 1023);
  many[1023] = '\0';
  swath_error_set(SWATH_EINVAL, "%s", many);
  size_t n = strlen(swath_error_message());
  assert_int_equal(n, 255 * 4);
  assert_memory_equal(swath_error_message() + n - 4, "\\x1b", 4);
  char small[5]; /* room for "ab", the escaped newline and the NUL */
  assert_int_equal(swath_escape_controls("ab\ncd", small, sizeof small), 4);
  assert_string_equal(small, "ab\\n");
}

static void warn_forged(void) { swath_warn("value '%s'", "a\nswath: forged\x1b]0;t\x07"); }

static void log_escapes(void **state) {
  (void)state;
  char *buf = stderr_of(warn_forged);
  assert_true(strlen(buf) > 0);
  assert_string_equal(buf, "swath: warning: value 'a\\nswath: forged\\x1b]0;t\\x07'\n");
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(gdal_names),
      cmocka_unit_test(job_paths),
      cmocka_unit_test(error_escapes),
      cmocka_unit_test(log_escapes),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
