/* png_write.h: PNG encoding of 8-bit tiles, compressed by libdeflate.
 *
 * Writing a 256 px RGBA tile through GDAL's PNG driver (libpng + zlib at
 * level 6) took longer than reprojecting it: in the pyramid benchmark the
 * encoder was 40% of swath's CPU. libpng cannot hand its image data to
 * another compressor, so for what tiles nearly always are (8 bits; grey,
 * grey + alpha, RGB or RGBA; no palette, not interlaced) the rows are
 * filtered here and the whole image is deflated in one call by libdeflate,
 * the whole-buffer compressor that libtiff and GDAL use for DEFLATE too;
 * libpng writes the container (signature, IHDR, the IDAT chunk, IEND).
 *
 * Filters: each row gets the one of PNG's five whose output has the
 * smallest sum of absolute values (bytes taken as signed), libpng's own
 * default heuristic for such images. */
#ifndef SWATH_IO_PNG_WRITE_H
#define SWATH_IO_PNG_WRITE_H

#include <stddef.h>

/* libdeflate's level 7 makes files about the size of zlib's default level 6
 * (GDAL's and gdal2tiles'): -1% to +4% on the tiles measured, 1.8-2.3x
 * faster than GDAL's driver (bench/png.sh); its level 6 is faster still on
 * some tiles but makes files 8-20% larger. */
#define SWATH_PNG_DEFAULT_LEVEL 7

/* Encode a w x h image with `channels` (1-4) 8-bit samples per pixel, given
 * as separate planes of w*h bytes (grey | grey, alpha | R, G, B | R, G, B,
 * alpha), at deflate `level` 1-12 (libdeflate's levels; 6 is zlib's default).
 * On success *out is a malloc'd PNG of *out_len bytes (the caller frees it)
 * and 0 is returned; otherwise a negative code with the error set.
 * Thread-safe: each thread keeps its own compressor. */
int swath_png_encode(int w, int h, int channels, const unsigned char *const *planes, int level,
                     unsigned char **out, size_t *out_len);

#endif
