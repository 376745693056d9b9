/* test_png_write.c: swath's PNG encoder against its oracle, GDAL's PNG
 * driver (libpng) reading the result back:
 *   - every pixel of every channel decodes to what was given, for 1-4
 *     channels, sizes from 1x1 to odd widths over 256, levels 1, 6 and 12,
 *     on noise, gradients, flat areas and a mix of them;
 *   - every row is written with the Up filter (read from the inflated
 *     stream here), the one png_write.c chose on real imagery;
 *   - the fast PNG check proves every output good, and GDAL reports the
 *     colour type's bands (grey, grey+alpha, RGB, RGBA: alpha as alpha);
 *   - the level asked for is the level used: the IDAT is exactly what
 *     libdeflate makes of the inflated rows at that level, for 1-12, and
 *     levels 1, 6 and 12 give three different streams;
 *   - outputs stay within 15% of the size GDAL's driver (zlib level 6)
 *     writes for the same smooth image;
 *   - bad arguments are refused with an error, not encoded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <gdal.h>
#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>

#include "core/error.h"
#include "gdal_bytes.h"
#include "io/png_check.h"
#include "io/png_write.h"
#include "io/warp.h"

/* ---- images --------------------------------------------------------- */

enum pattern { NOISE, GRADIENT, FLAT, MIXED, N_PATTERNS };

static uint32_t rng = 12345;
static unsigned char rnd(void) {
  rng = rng * 1103515245u + 12345u;
  return (unsigned char)(rng >> 16);
}

/* One plane of w x h bytes; `c` varies it per channel. */
static void fill(unsigned char *p, int w, int h, enum pattern pat, int c) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      unsigned char v;
      switch (pat) {
      case NOISE:
        v = rnd();
        break;
      case GRADIENT:
        v = (unsigned char)(x * 3 + y * (c + 1));
        break;
      case FLAT:
        v = (unsigned char)(40 * c + 7);
        break;
      default: /* bands of rows: flat, vertical stripes, noise, smooth */
        switch ((y / 5) % 4) {
        case 0:
          v = (unsigned char)(c * 50);
          break;
        case 1:
          v = (unsigned char)((x % 7) * 30 + c);
          break;
        case 2:
          v = rnd();
          break;
        default:
          v = (unsigned char)(x + 2 * y + c);
          break;
        }
      }
      p[(size_t)y * w + x] = v;
    }
}

/* ---- the oracle ------------------------------------------------------- */

/* Decode `png` with GDAL and compare every pixel with the planes. */
static void assert_decodes_to(const unsigned char *png, size_t len, int w, int h, int channels,
                              const unsigned char *const *planes) {
  char name[64];
  GDALDatasetH ds = gdal_open_bytes(png, len, "PNG", name);
  assert_non_null(ds);
  assert_int_equal(GDALGetRasterXSize(ds), w);
  assert_int_equal(GDALGetRasterYSize(ds), h);
  assert_int_equal(GDALGetRasterCount(ds), channels);
  if (channels == 2 || channels == 4)
    assert_int_equal(GDALGetRasterColorInterpretation(GDALGetRasterBand(ds, channels)),
                     GCI_AlphaBand);
  unsigned char *got = malloc((size_t)w * h);
  for (int c = 0; c < channels; c++) {
    assert_int_equal(
        GDALRasterIO(GDALGetRasterBand(ds, c + 1), GF_Read, 0, 0, w, h, got, w, h, GDT_Byte, 0, 0),
        CE_None);
    assert_memory_equal(got, planes[c], (size_t)w * h);
  }
  free(got);
  gdal_close_bytes(ds, name);
  assert_true(swath__png_check(png, len, w, h));
}

/* The IDAT of `png` (one, as we write): its data and length. */
static const unsigned char *idat_of(const unsigned char *png, size_t len, size_t *n) {
  assert_true(len > 8 + 25 + 12 + 12);
  const unsigned char *idat = png + 8 + 25; /* signature, IHDR */
  assert_memory_equal(idat + 4, "IDAT", 4);
  *n = (size_t)idat[0] << 24 | (size_t)idat[1] << 16 | (size_t)idat[2] << 8 | idat[3];
  return idat + 8;
}

/* The filtered rows of `png`, inflated (malloc'd, h rows of 1 + w*channels). */
static unsigned char *inflate_rows(const unsigned char *png, size_t len, int w, int h,
                                   int channels) {
  size_t n;
  const unsigned char *z = idat_of(png, len, &n);
  size_t raw_len = ((size_t)w * channels + 1) * h;
  unsigned char *raw = malloc(raw_len);
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
  assert_int_equal(libdeflate_zlib_decompress(d, z, n, raw, raw_len, NULL), LIBDEFLATE_SUCCESS);
  libdeflate_free_decompressor(d);
  return raw;
}

/* Count the filter type of every row of `png`. */
static void count_filters(const unsigned char *png, size_t len, int w, int h, int channels,
                          int seen[5]) {
  size_t row = (size_t)w * channels + 1;
  unsigned char *raw = inflate_rows(png, len, w, h, channels);
  for (int y = 0; y < h; y++) {
    assert_true(raw[(size_t)y * row] < 5);
    seen[raw[(size_t)y * row]]++;
  }
  free(raw);
}

static void test_round_trip(void **state) {
  (void)state;
  static const int sizes[][2] = {{1, 1},   {1, 7},     {7, 1},    {3, 5},
                                 {64, 64}, {256, 256}, {257, 19}, {300, 41}};
  static const int levels[] = {1, 6, 12};
  int seen[5] = {0};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
    for (int channels = 1; channels <= 4; channels++)
      for (int pat = 0; pat < N_PATTERNS; pat++)
        for (size_t l = 0; l < sizeof levels / sizeof *levels; l++) {
          int w = sizes[s][0], h = sizes[s][1];
          unsigned char *buf = malloc((size_t)w * h * channels);
          const unsigned char *planes[4];
          for (int c = 0; c < channels; c++) {
            fill(buf + (size_t)c * w * h, w, h, (enum pattern)pat, c);
            planes[c] = buf + (size_t)c * w * h;
          }
          unsigned char *png;
          size_t len;
          assert_int_equal(swath_png_encode(w, h, channels, planes, levels[l], &png, &len), 0);
          assert_decodes_to(png, len, w, h, channels, planes);
          count_filters(png, len, w, h, channels, seen);
          free(png);
          free(buf);
        }
  for (int f = 0; f < 5; f++) {
    if (f != 2 && seen[f])
      fail_msg("filter type %d used in %d rows: every row is Up (2)", f, seen[f]);
  }
  assert_true(seen[2] > 0);
}

/* An opaque w x h RGBA tile of gradients with noise (rnd() & noise) in
 * its colours: planes[] point into the returned buffer (caller frees). */
static unsigned char *smooth_rgba(int w, int h, int noise, const unsigned char *planes[4]) {
  unsigned char *buf = malloc((size_t)w * h * 4);
  assert_non_null(buf);
  for (int c = 0; c < 4; c++) {
    unsigned char *p = buf + (size_t)c * w * h;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        p[y * w + x] = c == 3 ? 255 : (unsigned char)((x * (c + 1) + y * 2 + (rnd() & noise)) / 2);
    planes[c] = p;
  }
  return buf;
}

/* Each level 1-12 on a noisy smooth RGBA tile: the IDAT is libdeflate's own
 * stream of the same rows at that level (a compressor kept from an earlier
 * call at another level, or a level ignored, gives other bytes: levels 1, 6
 * and 12 differ on this tile). */
static void test_level_applied(void **state) {
  (void)state;
  int w = 256, h = 256;
  const unsigned char *planes[4];
  unsigned char *buf = smooth_rgba(w, h, 7, planes);
  size_t sizes[13] = {0};
  for (int pass = 0; pass < 2; pass++) /* twice: levels changing back and forth in one thread */
    for (int level = 1; level <= 12; level++) {
      unsigned char *png;
      size_t len, n;
      assert_int_equal(swath_png_encode(w, h, 4, planes, level, &png, &len), 0);
      const unsigned char *z = idat_of(png, len, &n);
      size_t raw_len = ((size_t)w * 4 + 1) * h;
      unsigned char *raw = inflate_rows(png, len, w, h, 4);
      struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
      size_t cap = libdeflate_zlib_compress_bound(c, raw_len);
      unsigned char *want = malloc(cap);
      size_t want_len = libdeflate_zlib_compress(c, raw, raw_len, want, cap);
      libdeflate_free_compressor(c);
      if (want_len != n || memcmp(want, z, n) != 0)
        fail_msg("level %d: IDAT of %zu bytes is not libdeflate's stream (%zu bytes)", level, n,
                 want_len);
      sizes[level] = n;
      free(want);
      free(raw);
      free(png);
    }
  if (sizes[1] == sizes[6] || sizes[6] == sizes[12] || sizes[1] == sizes[12])
    fail_msg("levels 1, 6, 12 gave %zu, %zu, %zu bytes: the check above proves nothing", sizes[1],
             sizes[6], sizes[12]);
  free(buf);
}

/* A smooth RGBA tile: within 15% of what GDAL's driver writes at zlib 6. */
static void test_size_near_gdal(void **state) {
  (void)state;
  int w = 256, h = 256;
  const unsigned char *planes[4];
  unsigned char *buf = smooth_rgba(w, h, 3, planes);
  GDALDatasetH mem = swath__mem_dataset(w, h, SWATH_DT_BYTE, buf, 4, NULL);
  assert_non_null(mem);
  GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, 4), GCI_AlphaBand);
  size_t glen;
  unsigned char *g = gdal_bytes("PNG", mem, &glen);
  GDALClose(mem);
  unsigned char *png;
  size_t len;
  assert_int_equal(swath_png_encode(w, h, 4, planes, 6, &png, &len), 0);
  assert_decodes_to(png, len, w, h, 4, planes);
  if (len > glen * 115 / 100) fail_msg("%zu bytes, GDAL's driver %zu", len, glen);
  free(png);
  free(g);
  free(buf);
}

static void test_bad_arguments(void **state) {
  (void)state;
  unsigned char px[4] = {1, 2, 3, 4};
  const unsigned char *planes[4] = {px, px + 1, px + 2, px + 3};
  unsigned char *png = (unsigned char *)"untouched";
  size_t len = 99;
  static const int bad[][4] = {{0, 1, 1, 6}, {1, 0, 1, 6}, {1, 1, 0, 6},
                               {1, 1, 5, 6}, {1, 1, 1, 0}, {1, 1, 1, 13}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    swath_error_clear();
    assert_true(swath_png_encode(bad[i][0], bad[i][1], bad[i][2], planes, bad[i][3], &png, &len) <
                0);
    assert_null(png);
    assert_int_equal(len, 0);
    assert_non_null(strstr(swath_error_message(), "PNG"));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_level_applied),
      cmocka_unit_test(test_size_near_gdal),
      cmocka_unit_test(test_bad_arguments),
  };
  return cmocka_run_group_tests(tests, gdal_quiet_setup, gdal_quiet_teardown);
}
