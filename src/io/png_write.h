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

/* The default level was chosen on real imagery (issue 17; docs/config.md has
 * the figures): 300 tiles of bench/real_raster.py's photographs, against
 * GDAL's driver at zlib 6 (what gdal2tiles writes), take 0.94x its bytes at
 * libdeflate level 9, 0.98x at 7, 1.01x at 6, 1.04x at 5, 1.05x at 4 and
 * 1.14x at 1, and level 7 costs about twice the time of 6, 6 about 1.6x
 * that of 5 and 2.7x that of 4 (bench/png.sh with RASTER=). Real tiles
 * deflate 3-4x worse than generated ones, so deflate is most of the write
 * stage and the write stage most of a run. In the pyramid benchmark on the
 * real image (docs/PERFORMANCE.md), each tool with its default resampling,
 * gdal2tiles' bytes are matched within 5% by level 6 (+3%) and by no faster
 * level (5: +5.7%, 4: +7.2%). Level 7 (the
 * default before) was chosen on generated rasters, where it matched zlib 6
 * and cost little; on real imagery it takes 1.6x the CPU of level 6. */
#define SWATH_PNG_DEFAULT_LEVEL 6

/* Encode a w x h image with `channels` (1-4) 8-bit samples per pixel, given
 * as separate planes of w*h bytes (grey | grey, alpha | R, G, B | R, G, B,
 * alpha), at deflate `level` 1-12 (libdeflate's levels; 6 is zlib's default).
 * On success *out is a malloc'd PNG of *out_len bytes (the caller frees it)
 * and 0 is returned; otherwise a negative code with the error set.
 * Thread-safe: each thread keeps its own compressor. */
int swath_png_encode(int w, int h, int channels, const unsigned char *const *planes, int level,
                     unsigned char **out, size_t *out_len);

#endif
