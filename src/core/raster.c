/* raster.c: see raster.h. */
#include "core/raster.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

int swath_raster_alloc(swath_raster *r, int width, int height, int bands, swath_dtype dtype) {
  memset(r, 0, sizeof *r);
  size_t px = (size_t)width * (size_t)height;
  size_t sz = swath_dtype_size(dtype);
  if (width <= 0 || height <= 0 || bands <= 0 || sz == 0)
    return swath_error_set(SWATH_EINTERNAL, "raster: invalid shape %dx%dx%d", width, height, bands);
  r->data = calloc(px * (size_t)bands, sz);
  r->mask = malloc(px);
  if (!r->data || !r->mask) {
    free(r->data);
    free(r->mask);
    memset(r, 0, sizeof *r);
    return swath_error_set(SWATH_ENOMEM, "raster: out of memory for %dx%dx%d", width, height, bands);
  }
  memset(r->mask, 255, px);
  r->width = width;
  r->height = height;
  r->bands = bands;
  r->dtype = dtype;
  return 0;
}

void swath_raster_free(swath_raster *r) {
  if (!r) return;
  free(r->data);
  free(r->mask);
  memset(r, 0, sizeof *r);
}

long swath_raster_count_valid(const swath_raster *r) {
  size_t px = (size_t)r->width * (size_t)r->height;
  if (!r->mask) return (long)px;
  long n = 0;
  for (size_t i = 0; i < px; i++) n += r->mask[i] != 0;
  return n;
}

static const char *const dtype_names[] = {"Unknown", "Byte", "UInt16", "Int16", "UInt32",
                                          "Int32", "Float32", "Float64"};

const char *swath_dtype_name(swath_dtype t) {
  return (t >= SWATH_DT_BYTE && t <= SWATH_DT_FLOAT64) ? dtype_names[t] : dtype_names[0];
}

swath_dtype swath_dtype_parse(const char *s) {
  if (!s) return SWATH_DT_UNKNOWN;
  if (strcasecmp(s, "uint8") == 0) return SWATH_DT_BYTE;
  for (int t = SWATH_DT_BYTE; t <= SWATH_DT_FLOAT64; t++)
    if (strcasecmp(s, dtype_names[t]) == 0) return (swath_dtype)t;
  return SWATH_DT_UNKNOWN;
}
