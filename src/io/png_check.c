/* png_check.c: a PNG proven decodable from its chunks and its zlib stream
 * (see png_check.h for why and for the one-sided answer). */
#include "io/png_check.h"

#include <libdeflate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RAW_MAX ((size_t)256 << 20) /* larger images go to the slow path */

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Bits per pixel for a valid (colour type, bit depth), else 0. */
static unsigned bits_per_pixel(unsigned ct, unsigned bd) {
  switch (ct) {
  case 0: /* grey */
    return bd == 1 || bd == 2 || bd == 4 || bd == 8 || bd == 16 ? bd : 0;
  case 3: /* palette */
    return bd == 1 || bd == 2 || bd == 4 || bd == 8 ? bd : 0;
  case 2: /* RGB */
    return bd == 8 || bd == 16 ? 3 * bd : 0;
  case 4: /* grey + alpha */
    return bd == 8 || bd == 16 ? 2 * bd : 0;
  case 6: /* RGBA */
    return bd == 8 || bd == 16 ? 4 * bd : 0;
  default:
    return 0;
  }
}

/* The interlacing passes: one for a plain image, Adam7's seven otherwise. */
struct pass {
  uint32_t x0, y0, dx, dy;
};
static const struct pass k_plain[1] = {{0, 0, 1, 1}};
static const struct pass k_adam7[7] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                       {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

static uint64_t pass_len(uint32_t n, uint32_t start, uint32_t step) {
  return n > start ? (n - start + step - 1) / step : 0;
}

/* Bytes of filtered image data (filter byte + row) for all passes; 0 if
 * over RAW_MAX. */
static size_t raw_size(uint32_t w, uint32_t h, unsigned bpp, const struct pass *ps, int np) {
  uint64_t total = 0;
  for (int i = 0; i < np; i++) {
    uint64_t pw = pass_len(w, ps[i].x0, ps[i].dx), ph = pass_len(h, ps[i].y0, ps[i].dy);
    if (pw == 0 || ph == 0) continue;
    total += ph * (1 + (pw * bpp + 7) / 8);
    if (total > RAW_MAX) return 0;
  }
  return (size_t)total;
}

/* Every row of every pass starts with a filter type 0-4. */
static int filters_valid(const unsigned char *raw, uint32_t w, uint32_t h, unsigned bpp,
                         const struct pass *ps, int np) {
  for (int i = 0; i < np; i++) {
    uint64_t pw = pass_len(w, ps[i].x0, ps[i].dx), ph = pass_len(h, ps[i].y0, ps[i].dy);
    if (pw == 0 || ph == 0) continue;
    size_t row = 1 + (size_t)((pw * bpp + 7) / 8);
    for (uint64_t y = 0; y < ph; y++, raw += row)
      if (*raw > 4) return 0;
  }
  return 1;
}

int swath__png_check(const void *body, size_t len, int expect_w, int expect_h) {
  const unsigned char *p = body, *end = p + len;
  if (len < 8 || memcmp(p, "\x89PNG\r\n\x1a\n", 8) != 0) return 0;
  p += 8;

  uint32_t w = 0, h = 0;
  unsigned bpp = 0, colour = 0;
  int interlaced = 0, have_ihdr = 0, have_plte = 0, have_iend = 0;
  int idat_state = 0; /* 0 none yet, 1 in the IDAT run, 2 after it */
  const unsigned char *first_idat = NULL;
  size_t idat_total = 0, idat_count = 0;

  while (!have_iend) {
    if (end - p < 12) return 0; /* cut short */
    uint32_t n = be32(p);
    const unsigned char *type = p + 4, *data = p + 8;
    if (n > 0x7fffffffu || (size_t)(end - data) < (size_t)n + 4) return 0;
    if (libdeflate_crc32(0, type, (size_t)n + 4) != be32(data + n)) return 0;
    for (int k = 0; k < 4; k++) /* libpng refuses a type that is not four letters */
      if (!((type[k] >= 'A' && type[k] <= 'Z') || (type[k] >= 'a' && type[k] <= 'z'))) return 0;
    int critical = !(type[0] & 0x20);
    if (!have_ihdr) {
      if (memcmp(type, "IHDR", 4) != 0 || n != 13) return 0;
      w = be32(data);
      h = be32(data + 4);
      colour = data[9];
      bpp = bits_per_pixel(colour, data[8]);
      if (w == 0 || h == 0 || w > 0x7fffffffu || h > 0x7fffffffu || bpp == 0 || data[10] != 0 ||
          data[11] != 0 || data[12] > 1)
        return 0;
      interlaced = data[12];
      have_ihdr = 1;
    } else if (memcmp(type, "IDAT", 4) == 0) {
      if (idat_state == 2 || (colour == 3 && !have_plte)) return 0;
      if (idat_state == 0) first_idat = p;
      idat_state = 1;
      idat_total += n;
      idat_count++;
    } else {
      if (idat_state == 1) idat_state = 2;
      if (memcmp(type, "PLTE", 4) == 0) {
        /* libpng refuses a second PLTE, an empty one, and (colour 3) one
         * that is not 1 to 256 whole entries; stricter is safe here. */
        if (have_plte || n == 0 || n % 3 || n > 768) return 0;
        have_plte = 1;
      } else if (memcmp(type, "IEND", 4) == 0)
        have_iend = 1;
      else if (critical || memcmp(type, "IHDR", 4) == 0)
        return 0; /* an unknown critical chunk, or a second IHDR */
    }
    p = data + n + 4;
  }
  if (idat_state == 0 || idat_total == 0) return 0;
  if ((expect_w && w != (uint32_t)expect_w) || (expect_h && h != (uint32_t)expect_h)) return 0;

  const struct pass *ps = interlaced ? k_adam7 : k_plain;
  int np = interlaced ? 7 : 1;
  size_t raw_len = raw_size(w, h, bpp, ps, np);
  if (raw_len == 0) return 0;

  /* The zlib stream: in place for one IDAT, else the IDATs' data joined. */
  const unsigned char *z = first_idat + 8;
  unsigned char *joined = NULL;
  if (idat_count > 1) {
    joined = malloc(idat_total);
    if (!joined) return 0;
    size_t off = 0;
    for (const unsigned char *c = first_idat; off < idat_total;) {
      uint32_t n = be32(c);
      memcpy(joined + off, c + 8, n);
      off += n;
      c += (size_t)n + 12;
    }
    z = joined;
  }
  unsigned char *raw = malloc(raw_len);
  struct libdeflate_decompressor *d = raw ? libdeflate_alloc_decompressor() : NULL;
  int ok = 0;
  if (d) {
    size_t in_used = 0;
    /* NULL actual-out: anything but exactly raw_len bytes is a failure. */
    enum libdeflate_result r =
        libdeflate_zlib_decompress_ex(d, z, idat_total, raw, raw_len, &in_used, NULL);
    ok = r == LIBDEFLATE_SUCCESS && in_used == idat_total &&
         filters_valid(raw, w, h, bpp, ps, np);
    libdeflate_free_decompressor(d);
  }
  free(raw);
  free(joined);
  return ok;
}
