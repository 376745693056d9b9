/* test_png_check.c: the fast PNG check against its oracle, a full decode by
 * GDAL (libpng). Its answer is one-sided, so what is tested is:
 *   - PNGs GDAL writes (grey, grey+alpha, RGB, RGBA, palette, 16-bit, odd
 *     sizes) are proven good, and the size expectation is honoured;
 *   - hand-built PNGs (zlib stream from libdeflate, CRCs computed here) cover
 *     what GDAL does not write: Adam7 interlacing, several IDAT chunks,
 *     ancillary chunks, a bad filter byte, an unknown critical chunk, a
 *     palette image without PLTE, extra data after the image;
 *   - every truncation and every single-byte change of a good PNG, and
 *     seeded corruptions of the image data with CRCs made valid again (so
 *     only the zlib stream can tell), are never proven good when GDAL
 *     cannot decode them. */
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

#include "io/png_check.h"
#include "gdal_bytes.h"

/* ---- the oracle: GDAL opens it and reads every pixel without an error ---- */

static int gdal_decodes(const unsigned char *body, size_t len, int *w, int *h) {
  char name[64];
  CPLErrorReset();
  GDALDatasetH ds = gdal_open_bytes(body, len, "PNG", name);
  int ok = 0;
  if (ds) {
    int xs = GDALGetRasterXSize(ds), ys = GDALGetRasterYSize(ds), n = GDALGetRasterCount(ds);
    unsigned short *buf = malloc((size_t)xs * ys * n * 2);
    ok = GDALDatasetRasterIO(ds, GF_Read, 0, 0, xs, ys, buf, xs, ys, GDT_UInt16, n, NULL, 0, 0,
                             0) == CE_None &&
         CPLGetLastErrorType() < CE_Failure;
    free(buf);
    if (w) *w = xs;
    if (h) *h = ys;
  }
  gdal_close_bytes(ds, name);
  return ok;
}

/* ---- PNGs written by GDAL ---- */

/* A w x h PNG of `bands` bands of `type`, palette if `palette`; caller frees. */
static unsigned char *gdal_png(int w, int h, int bands, GDALDataType type, int palette,
                               size_t *len) {
  GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", w, h, bands, type, NULL);
  assert_non_null(mem);
  unsigned short *px = malloc((size_t)w * h * sizeof *px);
  for (int b = 1; b <= bands; b++) {
    for (int i = 0; i < w * h; i++)
      px[i] = (unsigned short)((i * 7 + b * 31 + (i / w) * 3) % (palette ? 16 : 251));
    assert_int_equal(GDALRasterIO(GDALGetRasterBand(mem, b), GF_Write, 0, 0, w, h, px, w, h,
                                  GDT_UInt16, 0, 0),
                     CE_None);
  }
  free(px);
  if (palette) {
    GDALColorTableH ct = GDALCreateColorTable(GPI_RGB);
    for (int i = 0; i < 16; i++) {
      GDALColorEntry e = {(short)(i * 16), (short)(255 - i * 16), (short)(i * 5), 255};
      GDALSetColorEntry(ct, i, &e);
    }
    GDALSetRasterColorTable(GDALGetRasterBand(mem, 1), ct);
    GDALDestroyColorTable(ct);
  }
  unsigned char *bytes = gdal_bytes("PNG", mem, len);
  GDALClose(mem);
  return bytes;
}

static void test_gdal_written(void **state) {
  (void)state;
  static const struct {
    int w, h, bands;
    GDALDataType type;
    int palette;
  } cases[] = {{256, 256, 3, GDT_Byte, 0},  {256, 256, 4, GDT_Byte, 0}, {256, 256, 1, GDT_Byte, 0},
               {33, 17, 2, GDT_Byte, 0},    {64, 64, 1, GDT_Byte, 1},   {40, 30, 3, GDT_UInt16, 0},
               {1, 1, 1, GDT_Byte, 0},      {1000, 3, 4, GDT_Byte, 0},  {5, 700, 1, GDT_UInt16, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t len;
    unsigned char *png =
        gdal_png(cases[i].w, cases[i].h, cases[i].bands, cases[i].type, cases[i].palette, &len);
    assert_true(gdal_decodes(png, len, NULL, NULL));
    if (!swath__png_check(png, len, 0, 0)) fail_msg("case %zu not proven good", i);
    assert_int_equal(swath__png_check(png, len, cases[i].w, cases[i].h), 1);
    assert_int_equal(swath__png_check(png, len, cases[i].w + 1, cases[i].h), 0);
    assert_int_equal(swath__png_check(png, len, cases[i].w, cases[i].h + 1), 0);
    free(png);
  }
}

/* Every prefix of a good PNG, and every single-byte change of it: never
 * proven good (each byte is under a CRC, a length or the signature). */
static void test_truncated_and_flipped(void **state) {
  (void)state;
  size_t len;
  unsigned char *png = gdal_png(48, 20, 3, GDT_Byte, 0, &len);
  assert_int_equal(swath__png_check(png, len, 48, 20), 1);
  for (size_t n = 0; n < len; n++)
    if (swath__png_check(png, n, 0, 0)) fail_msg("a PNG cut to %zu of %zu bytes passed", n, len);
  unsigned char *bad = malloc(len);
  for (size_t i = 0; i < len; i++) {
    memcpy(bad, png, len);
    bad[i] ^= 0x10;
    if (swath__png_check(bad, len, 0, 0)) fail_msg("a PNG with byte %zu changed passed", i);
  }
  free(bad);
  free(png);
}

/* ---- hand-built PNGs ---- */

struct buf {
  unsigned char *p;
  size_t n, cap;
};

static void put(struct buf *b, const void *data, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, data, n);
  b->n += n;
}

static void put32(struct buf *b, uint32_t v) {
  unsigned char q[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                        (unsigned char)v};
  put(b, q, 4);
}

static void chunk(struct buf *b, const char *type, const void *data, size_t n) {
  put32(b, (uint32_t)n);
  size_t at = b->n;
  put(b, type, 4);
  if (n) put(b, data, n);
  put32(b, libdeflate_crc32(0, b->p + at, n + 4));
}

struct spec {
  uint32_t w, h;
  unsigned char depth, colour, interlace;
  int idat_parts;     /* the zlib stream split over this many IDATs */
  int bad_filter;     /* the last row's filter byte is 5 */
  int no_plte;        /* omit PLTE (colour 3) */
  int unknown_crit;   /* an unknown critical chunk before IEND */
  int ancillary;      /* a tEXt chunk before the IDATs */
  int bad_type;       /* an ancillary chunk whose type is not 4 letters */
  int plte;           /* colour 3: 1 two PLTE chunks, 2 an empty one, 3 one of 7 bytes */
  size_t extra_bytes; /* filtered data longer than the image needs */
};

/* Filtered image data for `s`: rows of each pass, filter 0..4 in turn. */
static unsigned char *filtered(const struct spec *s, size_t *n) {
  static const uint32_t adam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                       {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
  static const uint32_t plain[1][4] = {{0, 0, 1, 1}};
  unsigned channels = s->colour == 2 ? 3 : s->colour == 6 ? 4 : s->colour == 4 ? 2 : 1;
  unsigned bpp = channels * s->depth;
  int np = s->interlace ? 7 : 1;
  const uint32_t(*ps)[4] = s->interlace ? adam7 : plain;
  struct buf b = {0};
  unsigned k = 0;
  for (int i = 0; i < np; i++) {
    uint32_t pw = s->w > ps[i][0] ? (s->w - ps[i][0] + ps[i][2] - 1) / ps[i][2] : 0;
    uint32_t ph = s->h > ps[i][1] ? (s->h - ps[i][1] + ps[i][3] - 1) / ps[i][3] : 0;
    if (!pw || !ph) continue;
    size_t row = (pw * bpp + 7) / 8;
    for (uint32_t y = 0; y < ph; y++) {
      unsigned char f = (unsigned char)(k++ % 5);
      put(&b, &f, 1);
      for (size_t x = 0; x < row; x++) {
        unsigned char v = (unsigned char)((x * 13 + y * 7 + (size_t)i) & 0xff);
        put(&b, &v, 1);
      }
    }
  }
  if (s->bad_filter) {
    size_t last_row = s->interlace ? 0 : b.n - 1 - (s->w * bpp + 7) / 8;
    b.p[last_row] = 5;
  }
  for (size_t i = 0; i < s->extra_bytes; i++)
    put(&b, "\0", 1);
  *n = b.n;
  return b.p;
}

static unsigned char *build(const struct spec *s, size_t *len) {
  size_t raw_n;
  unsigned char *raw = filtered(s, &raw_n);
  struct libdeflate_compressor *c = libdeflate_alloc_compressor(6);
  size_t cap = libdeflate_zlib_compress_bound(c, raw_n);
  unsigned char *z = malloc(cap);
  size_t zn = libdeflate_zlib_compress(c, raw, raw_n, z, cap);
  assert_true(zn > 0);
  libdeflate_free_compressor(c);
  free(raw);

  struct buf b = {0};
  put(&b, "\x89PNG\r\n\x1a\n", 8);
  unsigned char ihdr[13];
  for (int i = 0; i < 4; i++) {
    ihdr[i] = (unsigned char)(s->w >> (24 - 8 * i));
    ihdr[4 + i] = (unsigned char)(s->h >> (24 - 8 * i));
  }
  ihdr[8] = s->depth;
  ihdr[9] = s->colour;
  ihdr[10] = ihdr[11] = 0;
  ihdr[12] = s->interlace;
  chunk(&b, "IHDR", ihdr, 13);
  if (s->ancillary) chunk(&b, "tEXt", "Comment\0made by test_png_check", 30);
  if (s->bad_type) chunk(&b, "tR6H", "DR", 2);
  if (s->colour == 3 && !s->no_plte) {
    unsigned char plte[3 * 16];
    for (int i = 0; i < 48; i++)
      plte[i] = (unsigned char)(i * 5);
    static const size_t plte_len[] = {sizeof plte, sizeof plte, 0, 7};
    chunk(&b, "PLTE", plte, plte_len[s->plte]);
    if (s->plte == 1) chunk(&b, "PLTE", plte, sizeof plte);
  }
  int parts = s->idat_parts > 0 ? s->idat_parts : 1;
  size_t at = 0;
  for (int i = 0; i < parts; i++) {
    size_t n = i == parts - 1 ? zn - at : zn / (size_t)parts;
    chunk(&b, "IDAT", z + at, n);
    at += n;
  }
  if (s->unknown_crit) chunk(&b, "ZZZZ", "x", 1);
  chunk(&b, "IEND", NULL, 0);
  free(z);
  *len = b.n;
  return b.p;
}

static void test_hand_built(void **state) {
  (void)state;
  static const struct {
    struct spec s;
    int decodes; /* what GDAL says */
    int proven;  /* what the check must say: never 1 where GDAL says 0 */
  } cases[] = {
      {{.w = 13, .h = 7, .depth = 8, .colour = 2, .interlace = 1}, 1, 1},
      {{.w = 1, .h = 1, .depth = 8, .colour = 6, .interlace = 1}, 1, 1},
      {{.w = 9, .h = 9, .depth = 1, .colour = 0, .interlace = 1}, 1, 1},
      {{.w = 30, .h = 20, .depth = 4, .colour = 3, .interlace = 0}, 1, 1},
      {{.w = 64, .h = 64, .depth = 8, .colour = 6, .idat_parts = 3}, 1, 1},
      {{.w = 16, .h = 16, .depth = 16, .colour = 4, .ancillary = 1}, 1, 1},
      {{.w = 16, .h = 16, .depth = 8, .colour = 2, .bad_filter = 1}, 0, 0},
      {{.w = 16, .h = 16, .depth = 8, .colour = 3, .no_plte = 1}, 0, 0},
      /* libpng refuses a chunk type with a byte that is not a letter
       * (found by tests/fuzz/fuzz_png_check). */
      {{.w = 16, .h = 16, .depth = 8, .colour = 2, .bad_type = 1}, 0, 0},
      /* A second PLTE, an empty one, one that is not whole entries (the
       * first found by tests/fuzz/fuzz_png_check). */
      {{.w = 16, .h = 16, .depth = 4, .colour = 3, .plte = 1}, 0, 0},
      {{.w = 16, .h = 16, .depth = 4, .colour = 3, .plte = 2}, 0, 0},
      {{.w = 16, .h = 16, .depth = 4, .colour = 3, .plte = 3}, 0, 0},
      /* libpng never reads past the image data, so GDAL takes this one; the
       * check does not prove it, and the caller's full decode accepts it. */
      {{.w = 16, .h = 16, .depth = 8, .colour = 2, .unknown_crit = 1}, 1, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t len;
    unsigned char *png = build(&cases[i].s, &len);
    int w = 0, h = 0;
    int oracle = gdal_decodes(png, len, &w, &h);
    if (oracle != cases[i].decodes)
      fail_msg("case %zu: GDAL decodes: %d, expected %d", i, oracle, cases[i].decodes);
    int got = swath__png_check(png, len, (int)cases[i].s.w, (int)cases[i].s.h);
    if (got != cases[i].proven)
      fail_msg("case %zu: check says %d, expected %d", i, got, cases[i].proven);
    free(png);
  }
  /* More image data than IHDR implies: not proven (libpng only warns), so
   * the caller's full decode decides. */
  struct spec extra = {.w = 16, .h = 16, .depth = 8, .colour = 2, .extra_bytes = 40};
  size_t len;
  unsigned char *png = build(&extra, &len);
  assert_int_equal(swath__png_check(png, len, 16, 16), 0);
  free(png);
}

/* Corrupt the zlib stream and make the IDAT CRC right again: only inflating
 * (and its Adler-32) can tell. Whatever the check proves good must decode. */
static void test_corrupt_stream_valid_crc(void **state) {
  (void)state;
  size_t len;
  unsigned char *png = gdal_png(64, 64, 3, GDT_Byte, 0, &len);
  /* GDAL writes one IDAT right after IHDR (8 + 25 bytes in). */
  size_t at = 8;
  while (memcmp(png + at + 4, "IDAT", 4) != 0)
    at += 12 + ((size_t)png[at] << 24 | (size_t)png[at + 1] << 16 | (size_t)png[at + 2] << 8 |
                png[at + 3]);
  size_t n = (size_t)png[at] << 24 | (size_t)png[at + 1] << 16 | (size_t)png[at + 2] << 8 |
             png[at + 3];
  unsigned char *bad = malloc(len);
  unsigned seed = 12345;
  int proven = 0, refused = 0;
  for (int trial = 0; trial < 400; trial++) {
    memcpy(bad, png, len);
    seed = seed * 1103515245u + 12345u;
    size_t pos = at + 8 + (seed >> 8) % n;
    seed = seed * 1103515245u + 12345u;
    bad[pos] ^= (unsigned char)(1 + (seed >> 16) % 255);
    uint32_t crc = libdeflate_crc32(0, bad + at + 4, n + 4);
    unsigned char *c = bad + at + 8 + n;
    c[0] = (unsigned char)(crc >> 24), c[1] = (unsigned char)(crc >> 16);
    c[2] = (unsigned char)(crc >> 8), c[3] = (unsigned char)crc;
    if (swath__png_check(bad, len, 64, 64)) {
      proven++;
      if (!gdal_decodes(bad, len, NULL, NULL))
        fail_msg("trial %d: byte %zu changed, proven good, but GDAL cannot decode it", trial, pos);
    } else {
      refused++;
    }
  }
  /* Nearly every change breaks the stream or its checksum. */
  assert_true(refused > 390);
  (void)proven;
  free(bad);
  free(png);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gdal_written),
      cmocka_unit_test(test_truncated_and_flipped),
      cmocka_unit_test(test_hand_built),
      cmocka_unit_test(test_corrupt_stream_valid_crc),
  };
  return cmocka_run_group_tests(tests, gdal_quiet_setup, gdal_quiet_teardown);
}
