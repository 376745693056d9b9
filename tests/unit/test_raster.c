/* test_raster.c: raster blocks: crop, type conversion, 2x downsampling
 * (the 8-bit fast path, with its loop for fully valid rows, must equal the
 * generic path, and both must equal a direct computation of the masked
 * average), and the valid-pixel checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "core/raster.h"

/* Random values; masked pixels scattered over every row, or (rows) only in
 * some rows, so that other row pairs are entirely valid. */
static void fill(swath_raster *r, unsigned seed, int rows) {
  size_t px = (size_t)r->width * r->height;
  for (size_t i = 0; i < px * r->bands; i++) {
    seed = seed * 1103515245u + 12345u;
    unsigned v = (seed >> 16) & 255;
    if (r->dtype == SWATH_DT_BYTE) ((unsigned char *)r->data)[i] = (unsigned char)v;
    else ((unsigned short *)r->data)[i] = (unsigned short)v;
  }
  for (size_t i = 0; i < px; i++) {
    size_t y = i / r->width;
    int hole = (i * 7 + seed) % 5 == 0 && (!rows || y % 6 == 3);
    r->mask[i] = hole ? 0 : 255;
  }
}

static void downsample_fast_equals_generic_and_definition(void **st) {
  (void)st;
  for (int t = 0; t < 4; t++) {
    int average = t & 1, rows = t >> 1;
    swath_raster b8, b16, d8, d16;
    assert_int_equal(swath_raster_alloc(&b8, 64, 48, 3, SWATH_DT_BYTE), 0);
    assert_int_equal(swath_raster_alloc(&b16, 64, 48, 3, SWATH_DT_UINT16), 0);
    fill(&b8, 42, rows);
    memcpy(b16.mask, b8.mask, 64 * 48);
    for (size_t i = 0; i < 64 * 48 * 3; i++) ((unsigned short *)b16.data)[i] = ((unsigned char *)b8.data)[i];
    assert_int_equal(swath_raster_alloc(&d8, 40, 30, 3, SWATH_DT_BYTE), 0);
    assert_int_equal(swath_raster_alloc(&d16, 40, 30, 3, SWATH_DT_UINT16), 0);
    memset(d8.mask, 0, 40 * 30);
    memset(d16.mask, 0, 40 * 30);
    /* Offset (8, 6): the window is clipped to dst at 40x30. */
    swath_raster_downsample2(&b8, &d8, 8, 6, average);
    swath_raster_downsample2(&b16, &d16, 8, 6, average);
    for (int y = 0; y < 30; y++)
      for (int x = 0; x < 40; x++) {
        size_t o = (size_t)y * 40 + x;
        assert_int_equal(d8.mask[o], d16.mask[o]);
        int inside = x >= 8 && y >= 6;
        if (!inside) {
          assert_int_equal(d8.mask[o], 0);
          continue;
        }
        int sx = 2 * (x - 8), sy = 2 * (y - 6), nv = 0;
        for (int k = 0; k < 4; k++) nv += b8.mask[(size_t)(sy + (k >> 1)) * 64 + sx + (k & 1)] != 0;
        assert_int_equal(d8.mask[o], nv ? 255 : 0);
        for (int b = 0; b < 3; b++) {
          unsigned v8 = ((unsigned char *)d8.data)[(size_t)b * 1200 + o];
          unsigned v16 = ((unsigned short *)d16.data)[(size_t)b * 1200 + o];
          assert_int_equal(v8, v16);
          if (!nv || !average) continue;
          int sum = 0;
          for (int k = 0; k < 4; k++) {
            size_t i = (size_t)(sy + (k >> 1)) * 64 + sx + (k & 1);
            if (b8.mask[i]) sum += ((unsigned char *)b8.data)[(size_t)b * 64 * 48 + i];
          }
          /* round(sum / nv), halves up */
          assert_int_equal(v8, (unsigned)((2 * sum + nv) / (2 * nv)));
        }
      }
    swath_raster_free(&b8);
    swath_raster_free(&b16);
    swath_raster_free(&d8);
    swath_raster_free(&d16);
  }
}

static void crop_and_convert(void **st) {
  (void)st;
  swath_raster r, c;
  assert_int_equal(swath_raster_alloc(&r, 10, 8, 2, SWATH_DT_FLOAT32), 0);
  float *f = r.data;
  for (int i = 0; i < 160; i++) f[i] = (float)i - 20.4f;
  r.mask[3 * 10 + 4] = 0;
  assert_int_equal(swath_raster_crop(&r, 4, 3, 5, 4, &c), 0);
  assert_int_equal(c.width, 5);
  assert_int_equal(((float *)c.data)[0], f[34]);
  assert_int_equal(((float *)c.data)[20 + 6], f[80 + 4 * 10 + 5]);
  assert_int_equal(c.mask[0], 0);
  swath_raster bad;
  assert_int_equal(swath_raster_crop(&r, 8, 0, 5, 4, &bad), SWATH_EINTERNAL); /* window outside */
  assert_int_equal(swath_raster_convert(&c, SWATH_DT_BYTE), 0);
  /* -20.4 + 34 = 13.6 -> 14; negatives clamp to 0 */
  assert_int_equal(((unsigned char *)c.data)[0], 14);
  swath_raster_free(&c);
  assert_int_equal(swath_raster_convert(&r, SWATH_DT_BYTE), 0);
  assert_int_equal(((unsigned char *)r.data)[0], 0);
  swath_raster_free(&r);
  assert_int_equal(swath_dtype_parse("uint8"), SWATH_DT_BYTE);
  assert_int_equal(swath_dtype_parse("float32"), SWATH_DT_FLOAT32);
  assert_int_equal(swath_dtype_parse("Complex"), SWATH_DT_UNKNOWN);
}

/* any_valid reads the mask a word at a time: a valid pixel anywhere (first
 * word, inside, the tail after the last whole word) is found; none, not. */
static void any_valid_everywhere(void **st) {
  (void)st;
  swath_raster r;
  assert_int_equal(swath_raster_alloc(&r, 13, 3, 1, SWATH_DT_BYTE), 0); /* 39 px: 4 words + 7 */
  size_t px = 39;
  memset(r.mask, 0, px);
  assert_false(swath_raster_any_valid(&r));
  assert_int_equal(swath_raster_count_valid(&r), 0);
  for (size_t i = 0; i < px; i++) {
    memset(r.mask, 0, px);
    r.mask[i] = 255;
    if (!swath_raster_any_valid(&r)) fail_msg("valid pixel %zu not found", i);
    assert_int_equal(swath_raster_count_valid(&r), 1);
  }
  unsigned char *m = r.mask;
  r.mask = NULL; /* no mask: every pixel is valid */
  assert_true(swath_raster_any_valid(&r));
  r.mask = m;
  swath_raster_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(downsample_fast_equals_generic_and_definition),
      cmocka_unit_test(crop_and_convert),
      cmocka_unit_test(any_valid_everywhere),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
