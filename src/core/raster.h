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
/* Pointer to the first sample of band b. */
static inline void *swath_raster_band(const swath_raster *r, int b) {
  return (char *)r->data + (size_t)b * r->width * r->height * swath_dtype_size(r->dtype);
}
const char *swath_dtype_name(swath_dtype t);
/* Parse "Byte", "UInt16", "Int16", "UInt32", "Int32", "Float32", "Float64"
 * (case-insensitive; "uint8" too). SWATH_DT_UNKNOWN if none. */
swath_dtype swath_dtype_parse(const char *s);

#endif
