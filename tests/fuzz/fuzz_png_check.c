/* fuzz_png_check.c: the fetcher's PNG check (io/png_check.c), which accepts
 * a downloaded tile without decoding it. Its promise is one-sided: 1 means
 * a decoder accepts the image (at the expected size), so every PNG it
 * accepts is decoded here with libpng's simplified API and must decode.
 * The first byte picks the expected size (bit 0: any, or 256 x 256) and
 * whether every chunk's CRC-32 is made right first (bit 1), so that
 * mutations of the header and chunk layout get past the CRC check. */
#include <libdeflate.h>
#include <png.h>

#include "fuzz_util.h"
#include "io/png_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  return 0;
}

/* 1 if libpng decodes the whole image (as RGBA), with its size in *w, *h. */
static int libpng_decodes(const uint8_t *d, size_t n, unsigned *w, unsigned *h) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&img, d, n)) return 0;
  img.format = PNG_FORMAT_RGBA;
  size_t bytes = PNG_IMAGE_SIZE(img);
  if (bytes > (256u << 20)) { /* the check leaves images over 256 MB to GDAL */
    png_image_free(&img);
    return 0;
  }
  void *buf = malloc(bytes ? bytes : 1);
  if (!buf) abort();
  int ok = png_image_finish_read(&img, NULL, buf, 0, NULL) != 0;
  *w = img.width, *h = img.height;
  free(buf);
  png_image_free(&img);
  return ok;
}

/* Rewrite each chunk's CRC-32 in place, as far as the chunks are whole. */
static void fix_crcs(uint8_t *d, size_t n) {
  size_t at = 8;
  while (at + 12 <= n) {
    uint32_t len = (uint32_t)d[at] << 24 | d[at + 1] << 16 | d[at + 2] << 8 | d[at + 3];
    if (len > n - at - 12) break;
    uint32_t crc = libdeflate_crc32(0, d + at + 4, len + 4);
    for (int k = 0; k < 4; k++)
      d[at + 8 + len + k] = (uint8_t)(crc >> (24 - 8 * k));
    at += 12 + len;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input(data, size);
  if (size < 1) return 0;
  int expect = (data[0] & 1) ? 256 : 0;
  uint8_t *png = malloc(size);
  if (!png) abort();
  memcpy(png, data + 1, size - 1);
  if (data[0] & 2) fix_crcs(png, size - 1);
  if (swath__png_check(png, size - 1, expect, expect)) {
    unsigned w = 0, h = 0;
    if (!libpng_decodes(png, size - 1, &w, &h) || (expect && (w != 256 || h != 256))) {
      fprintf(stderr, "png_check accepted a PNG that libpng refuses (or %ux%u)\n", w, h);
      abort();
    }
  }
  free(png);
  return 0;
}
