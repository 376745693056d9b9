/* raster.h: allocation and small helpers for swath_raster (defined in the
 * public plugin header, since processes see it). A raster made here owns its
 * data and mask; free it with swath_raster_free. */
#ifndef SWATH_CORE_RASTER_H
#define SWATH_CORE_RASTER_H

#include "swath/plugin.h"

/* Allocate a zeroed raster with a mask set to 255 (all valid). */
int swath_raster_alloc(swath_raster *r, int width, int height, int bands, swath_dtype dtype);
void swath_raster_free(swath_raster *r);
/* Number of mask pixels that are valid. */
long swath_raster_count_valid(const swath_raster *r);
/* 1 if any pixel is valid (stops at the first). */
int swath_raster_any_valid(const swath_raster *r);
/* Pointer to the first sample of band b. */
static inline void *swath_raster_band(const swath_raster *r, int b) {
  return (char *)r->data + (size_t)b * r->width * r->height * swath_dtype_size(r->dtype);
}
const char *swath_dtype_name(swath_dtype t);
/* Parse "Byte", "UInt16", "Int16", "UInt32", "Int32", "Float32", "Float64"
 * (case-insensitive; "uint8" too). SWATH_DT_UNKNOWN if none. */
swath_dtype swath_dtype_parse(const char *s);

#endif

/* Copy the window (x0, y0, w, h) of `src` into a new raster `dst` (owned by
 * the caller). The window must lie inside src. */
int swath_raster_crop(const swath_raster *src, int x0, int y0, int w, int h, swath_raster *dst);
/* Convert a raster to another type in place (rounding and clamping to the
 * target range, as GDAL does). */
int swath_raster_convert(swath_raster *r, swath_dtype to);

/* Halve `src` into `dst` at offset (dx, dy): each destination pixel takes the
 * 2x2 source block under it. average: mean of the valid pixels (rounded for
 * integer types); otherwise nearest: the first valid pixel of the block. A
 * destination pixel is valid when any pixel of its block is. Pixels of dst
 * outside the written window are left as they are. Types and bands must match. */
void swath_raster_downsample2(const swath_raster *src, swath_raster *dst, int dx, int dy, int average);
