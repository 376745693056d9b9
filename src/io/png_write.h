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
 * Filter: every row gets PNG's Up filter (png_write.c says why: on real
 * imagery it deflates smaller than libpng's per-row choice, and costs
 * less). */
#ifndef SWATH_IO_PNG_WRITE_H
#define SWATH_IO_PNG_WRITE_H

#include <stddef.h>

/* The default level was chosen on real imagery (issue 17; docs/config.md
 * and docs/PERFORMANCE.md have the figures). Real tiles deflate 3-4x worse
 * than generated ones, so deflate is most of the write stage and the write
 * stage most of a run. Against GDAL's driver at zlib 6 (what gdal2tiles
 * writes), 300 tiles of bench/real_raster.py's photographs take, with the
 * Up filter, 1.016x its bytes at level 5 and 0.990x at 6, level 6 costing
 * 1.5x the time of 5 (bench/png.sh with RASTER=). In the pyramid benchmark
 * on that image, level 5 is the fastest level within 5% of gdal2tiles'
 * bytes with each tool's default resampling (level 7, the default before,
 * was chosen on generated rasters, where it matched zlib 6 and cost
 * little; on real imagery it takes about 2x the time of level 6). */
#define SWATH_PNG_DEFAULT_LEVEL 5

/* Encode a w x h image with `channels` (1-4) 8-bit samples per pixel, given
 * as separate planes of w*h bytes (grey | grey, alpha | R, G, B | R, G, B,
 * alpha), at deflate `level` 1-12 (libdeflate's levels; 6 is zlib's default).
 * On success *out is a malloc'd PNG of *out_len bytes (the caller frees it)
 * and 0 is returned; otherwise a negative code with the error set.
 * Thread-safe: each thread keeps its own compressor. */
int swath_png_encode(int w, int h, int channels, const unsigned char *const *planes, int level,
                     unsigned char **out, size_t *out_len);

#endif
