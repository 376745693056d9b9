/* test_process.c: the process registry, parameter checks, the three
 * built-ins on synthetic blocks with independently known answers, and
 * plugin loading (the sample plugin, and libraries that are not plugins). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/error.h"
#include "core/raster.h"
#include "process/process.h"

/* Run a process once on a single-input block. */
static int run_one(const char *name, const char *const *kv, const swath_input_desc *desc, int n,
                   swath_raster *in, double res, swath_raster *out) {
  swath_process p;
  int r = swath_process_open(name, &p);
  if (r) return r;
  swath_params *params = swath_params_new();
  for (int i = 0; kv && kv[i]; i += 2) swath_params_set(params, kv[i], kv[i + 1]);
  r = swath_process_check_params(p.vt, params);
  swath_process_info info = {SWATH_DT_UNKNOWN, desc[0].bands, desc[0].dtype, 0, 0, 0};
  void *st = NULL;
  if (!r) r = p.vt->init(swath_process_host(), params, desc, n, &info, &st);
  if (!r) {
    r = swath_raster_alloc(out, in[0].width, in[0].height, info.out_bands, info.out_dtype);
    for (int i = 0; i < n; i++)
      for (int k = 0; k < in[0].width * in[0].height; k++) out->mask[k] &= in[i].mask[k];
    swath_tile_ctx ctx = {.ninputs = n, .input_desc = desc, .inputs = in, .out = out, .buffer = 1,
                          .res_x = res, .res_y = res};
    if (!r) r = p.vt->run(st, &ctx);
    p.vt->destroy(st);
  }
  swath_params_free(params);
  swath_process_close(&p);
  return r;
}

static void dem(swath_raster *r, double (*f)(int x, int y)) {
  assert_int_equal(swath_raster_alloc(r, 8, 8, 1, SWATH_DT_FLOAT32), 0);
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++) ((float *)r->data)[y * 8 + x] = (float)f(x, y);
}
static double flat(int x, int y) { (void)x, (void)y; return 100; }
/* Rises 45 degrees toward the south-east: the slope faces north-west. */
static double faces_nw(int x, int y) { return (x + y) / sqrt(2.0); }
static double faces_se(int x, int y) { return -(x + y) / sqrt(2.0); }

static void hillshade_known_values(void **st) {
  (void)st;
  swath_input_desc d = {"dem", 1, SWATH_DT_FLOAT32};
  swath_raster in, out;
  /* Flat ground lit from 45 degrees: 1 + 254 * sin(45) = 180.6 -> 181. */
  dem(&in, flat);
  assert_int_equal(run_one("hillshade", NULL, &d, 1, &in, 10, &out), 0);
  assert_int_equal(((unsigned char *)out.data)[3 * 8 + 3], 181);
  assert_int_equal(out.mask[0], 0); /* no full 3x3 window at the edge */
  assert_int_equal(out.mask[3 * 8 + 3], 255);
  swath_raster_free(&out);
  const char *multi[] = {"multidirectional", "true", NULL};
  assert_int_equal(run_one("hillshade", multi, &d, 1, &in, 10, &out), 0);
  assert_int_equal(((unsigned char *)out.data)[27], 181);
  swath_raster_free(&out);
  swath_raster_free(&in);
  /* A 45-degree slope facing the light (azimuth 315, altitude 45) is lit
   * head-on: cos(0) = 1 -> 255. Facing away: incidence 90 degrees -> 1. */
  dem(&in, faces_nw);
  assert_int_equal(run_one("hillshade", NULL, &d, 1, &in, 1, &out), 0);
  assert_int_equal(((unsigned char *)out.data)[27], 255);
  swath_raster_free(&out);
  swath_raster_free(&in);
  dem(&in, faces_se);
  assert_int_equal(run_one("hillshade", NULL, &d, 1, &in, 1, &out), 0);
  assert_int_equal(((unsigned char *)out.data)[27], 1);
  swath_raster_free(&out);
  /* z_factor 0 flattens anything. */
  const char *z0[] = {"z_factor", "0", NULL};
  assert_int_equal(run_one("hillshade", z0, &d, 1, &in, 1, &out), 0);
  assert_int_equal(((unsigned char *)out.data)[27], 181);
  swath_raster_free(&out);
  /* A nodata pixel blanks its whole 3x3 neighbourhood. */
  in.mask[3 * 8 + 3] = 0;
  assert_int_equal(run_one("hillshade", NULL, &d, 1, &in, 1, &out), 0);
  assert_int_equal(out.mask[2 * 8 + 2], 0);
  assert_int_equal(out.mask[4 * 8 + 4], 0);
  assert_int_equal(out.mask[5 * 8 + 5], 255);
  swath_raster_free(&out);
  swath_raster_free(&in);
}

static void params_are_checked(void **st) {
  (void)st;
  swath_process p;
  assert_int_equal(swath_process_open("hillshade", &p), 0);
  swath_params *params = swath_params_new();
  swath_params_set(params, "azimut", "300");
  assert_int_equal(swath_process_check_params(p.vt, params), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "unknown parameter 'azimut'"));
  swath_params_free(params);
  params = swath_params_new();
  swath_params_set(params, "altitude", "high");
  assert_int_equal(swath_process_check_params(p.vt, params), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "must be a number"));
  swath_params_free(params);
  swath_process_close(&p);
  assert_int_equal(swath_process_open("bandmath", &p), 0);
  params = swath_params_new();
  assert_int_equal(swath_process_check_params(p.vt, params), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "missing required parameter 'expression'"));
  swath_params_free(params);
  swath_process_close(&p);
  assert_int_equal(swath_process_open("hilshade", &p), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "unknown process 'hilshade'"));
}

static void bandmath_ndvi(void **st) {
  (void)st;
  swath_input_desc d[2] = {{"nir", 1, SWATH_DT_FLOAT64}, {"red", 1, SWATH_DT_FLOAT64}};
  swath_raster in[2], out;
  for (int i = 0; i < 2; i++) assert_int_equal(swath_raster_alloc(&in[i], 4, 4, 1, SWATH_DT_FLOAT64), 0);
  for (int k = 0; k < 16; k++) {
    ((double *)in[0].data)[k] = 0.5 + k * 0.01;
    ((double *)in[1].data)[k] = 0.1 + k * 0.005;
  }
  ((double *)in[0].data)[5] = 0; /* 0/0 -> not finite -> nodata */
  ((double *)in[1].data)[5] = 0;
  in[1].mask[7] = 0; /* an input's nodata */
  const char *kv[] = {"expression", "(nir.b1 - red.b1) / (nir.b1 + red.b1); nir.b1 * 2", "dtype", "Float32", NULL};
  assert_int_equal(run_one("bandmath", kv, d, 2, in, 1, &out), 0);
  assert_int_equal(out.bands, 2);
  for (int k = 0; k < 16; k++) {
    double n = ((double *)in[0].data)[k], r = ((double *)in[1].data)[k];
    float got = ((float *)out.data)[k], got2 = ((float *)out.data)[16 + k];
    if (k == 5 || k == 7) {
      assert_int_equal(out.mask[k], 0);
      assert_true(isnan(got) && isnan(got2));
      continue;
    }
    assert_int_equal(out.mask[k], 255);
    assert_float_equal(got, (n - r) / (n + r), 1e-6);
    assert_float_equal(got2, n * 2, 1e-6);
  }
  swath_raster_free(&out);
  const char *typo[] = {"expression", "nri.b1 - red.b1", NULL};
  assert_int_equal(run_one("bandmath", typo, d, 2, in, 1, &out), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "nri.b1"));
  const char *syntax[] = {"expression", "(nir.b1 - ", NULL};
  assert_int_equal(run_one("bandmath", syntax, d, 2, in, 1, &out), SWATH_EINVAL);
  for (int i = 0; i < 2; i++) swath_raster_free(&in[i]);
}

/* Issue 16 point 2: muParser's C API copied error messages into a 2 KB
 * static buffer, and its message for an unknown token quotes the rest of
 * the expression: long expressions with one mistake aborted the process.
 * Now: SWATH_EINVAL, a short message with the position and the text
 * around it. */
static void bandmath_long_errors(void **st) {
  (void)st;
  swath_input_desc d[2] = {{"nir", 1, SWATH_DT_FLOAT64}, {"red", 1, SWATH_DT_FLOAT64}};
  swath_raster in[2], out;
  for (int i = 0; i < 2; i++)
    assert_int_equal(swath_raster_alloc(&in[i], 4, 4, 1, SWATH_DT_FLOAT64), 0);
  char *e = malloc(4200);
  assert_non_null(e);
  memset(e, 'x', 2020);
  e[2020] = '\0';
  const char *kv[] = {"expression", e, NULL};
  assert_int_equal(run_one("bandmath", kv, d, 2, in, 1, &out), SWATH_EINVAL);
  const char *m = swath_error_message();
  assert_non_null(strstr(m, "expression 1 ('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...', 2020 characters)"));
  assert_non_null(strstr(m, "position 0"));
  assert_true(strlen(m) < 600);
  assert_null(strchr(m, '\n'));
  /* A realistic long expression with one '%' typo early on: muParser's
   * message quoted the 2,000 characters after it. */
  size_t n = 0;
  for (int k = 0; n < 2080; k++)
    n += (size_t)sprintf(e + n, "%s(nir.b1 - red.b1) * %d.25", k ? " + " : "", k);
  assert_int_equal(e[25], '+');
  e[25] = '%'; /* "... * 0.25 % (nir.b1 ..." */
  assert_int_equal(run_one("bandmath", kv, d, 2, in, 1, &out), SWATH_EINVAL);
  m = swath_error_message();
  char near[80];
  snprintf(near, sizeof near, "position 25, near '%.25s%%", e);
  assert_non_null(strstr(m, near));
  assert_true(strlen(m) < 600);
  /* Still valid when long and right; more than 16 bands is refused. */
  e[25] = '+';
  assert_int_equal(run_one("bandmath", kv, d, 2, in, 1, &out), 0);
  swath_raster_free(&out);
  n = 0;
  for (int k = 0; k < 17; k++)
    n += (size_t)sprintf(e + n, "nir.b1 * %d;", k);
  assert_int_equal(run_one("bandmath", kv, d, 2, in, 1, &out), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "more than 16 expressions"));
  free(e);
  for (int i = 0; i < 2; i++)
    swath_raster_free(&in[i]);
}

/* Issue 16 point 7: muParser's '=' assigns, and in bulk mode it wrote into
 * the input plane every later expression reads ("nir.b1 = 0; nir.b1" gave a
 * zero second band); its ',' returns several values of which a band kept
 * the last. Both are refused at init with a hint; '==' and a function's
 * ',' still work, and the inputs are never written. */
static void bandmath_no_assignment_or_comma(void **st) {
  (void)st;
  swath_input_desc d[2] = {{"nir", 1, SWATH_DT_FLOAT64}, {"red", 1, SWATH_DT_FLOAT64}};
  swath_raster in[2], out;
  for (int i = 0; i < 2; i++)
    assert_int_equal(swath_raster_alloc(&in[i], 4, 4, 1, SWATH_DT_FLOAT64), 0);
  for (int k = 0; k < 16; k++) {
    ((double *)in[0].data)[k] = 1 + k;
    ((double *)in[1].data)[k] = 100 + k;
  }
  static const char *const assign[] = {"nir.b1 = 0; nir.b1",  "nir.b1 = 0",
                                       "(nir.b1) = 2",        "sin(nir.b1 = 2)",
                                       "nir.b1 = red.b1 = 3", "red.b1 + (nir.b1 = 1)"};
  for (size_t i = 0; i < sizeof assign / sizeof *assign; i++) {
    const char *kv[] = {"expression", assign[i], NULL};
    assert_int_equal(run_one("bandmath", kv, d, 2, in, 1, &out), SWATH_EINVAL);
    const char *m = swath_error_message();
    if (!strstr(m, "'=' assigns") || !strstr(m, "'=='")) fail_msg("%s: %s", assign[i], m);
  }
  static const char *const comma[] = {"nir.b1, red.b1", "max(nir.b1, red.b1), 3", "1,2",
                                      "nir.b1 * 2; nir.b1, red.b1"};
  for (size_t i = 0; i < sizeof comma / sizeof *comma; i++) {
    const char *kv[] = {"expression", comma[i], NULL};
    assert_int_equal(run_one("bandmath", kv, d, 2, in, 1, &out), SWATH_EINVAL);
    const char *m = swath_error_message();
    if (!strstr(m, "gives 2 values") || !strstr(m, "';'")) fail_msg("%s: %s", comma[i], m);
  }
  for (int k = 0; k < 16; k++) { /* nothing above wrote into the inputs */
    assert_float_equal(((double *)in[0].data)[k], 1 + k, 0);
    assert_float_equal(((double *)in[1].data)[k], 100 + k, 0);
  }
  const char *ok[] = {"expression", "nir.b1 == 3; max(nir.b1, red.b1) >= 100; nir.b1 != 3", "dtype",
                      "Float64", NULL};
  assert_int_equal(run_one("bandmath", ok, d, 2, in, 1, &out), 0);
  assert_int_equal(out.bands, 3);
  for (int k = 0; k < 16; k++) {
    assert_float_equal(((double *)out.data)[k], k == 2, 0);
    assert_float_equal(((double *)out.data)[16 + k], 1, 0);
    assert_float_equal(((double *)out.data)[32 + k], k != 2, 0);
    assert_float_equal(((double *)in[0].data)[k], 1 + k, 0);
  }
  swath_raster_free(&out);
  for (int i = 0; i < 2; i++)
    swath_raster_free(&in[i]);
}

static void plugins(void **st) {
  (void)st;
  const char *bd = getenv("SWATH_BUILD_DIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/invert_plugin.so", bd ? bd : "build");
  swath_input_desc d = {"img", 1, SWATH_DT_BYTE};
  swath_raster in, out;
  assert_int_equal(swath_raster_alloc(&in, 4, 4, 1, SWATH_DT_FLOAT64), 0);
  for (int k = 0; k < 16; k++) ((double *)in.data)[k] = k * 10;
  assert_int_equal(run_one(path, NULL, &d, 1, &in, 1, &out), 0);
  for (int k = 0; k < 16; k++) assert_int_equal(((unsigned char *)out.data)[k], 255 - k * 10);
  swath_raster_free(&out);
  swath_raster_free(&in);

  swath_process p;
  assert_int_equal(swath_process_open("/lib/x86_64-linux-gnu/libm.so.6", &p), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "not a swath plugin"));
  char txt[] = "/tmp/swath-test-notplugin-XXXXXX.so";
  int fd = mkstemps(txt, 3);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "hello\n", 6), 6);
  close(fd);
  assert_int_equal(swath_process_open(txt, &p), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "not a loadable shared library"));
  unlink(txt);
  assert_int_equal(swath_process_open("/nonexistent/x.so", &p), SWATH_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(hillshade_known_values),
      cmocka_unit_test(params_are_checked),
      cmocka_unit_test(bandmath_ndvi),
      cmocka_unit_test(bandmath_long_errors),
      cmocka_unit_test(bandmath_no_assignment_or_comma),
      cmocka_unit_test(plugins),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
