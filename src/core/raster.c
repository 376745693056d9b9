/* raster.c: see raster.h. */
#include "core/raster.h"

#include <stdint.h>
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

int swath_raster_any_valid(const swath_raster *r) {
  size_t px = (size_t)r->width * (size_t)r->height, i = 0;
  if (!r->mask) return px > 0;
  /* Eight mask bytes at a time: most blocks answer within the first word. */
  for (; i + 8 <= px; i += 8) {
    uint64_t w;
    memcpy(&w, r->mask + i, 8);
    if (w) return 1;
  }
  for (; i < px; i++)
    if (r->mask[i]) return 1;
  return 0;
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

#include <gdal.h>
#include <math.h>

int swath_raster_crop(const swath_raster *src, int x0, int y0, int w, int h, swath_raster *dst) {
  if (x0 < 0 || y0 < 0 || x0 + w > src->width || y0 + h > src->height)
    return swath_error_set(SWATH_EINTERNAL, "raster: crop window outside the block");
  int rc = swath_raster_alloc(dst, w, h, src->bands, src->dtype);
  if (rc) return rc;
  size_t es = swath_dtype_size(src->dtype);
  for (int b = 0; b < src->bands; b++) {
    const char *s = swath_raster_band(src, b);
    char *d = swath_raster_band(dst, b);
    for (int y = 0; y < h; y++)
      memcpy(d + (size_t)y * w * es, s + ((size_t)(y0 + y) * src->width + x0) * es, (size_t)w * es);
  }
  for (int y = 0; y < h; y++) {
    if (src->mask)
      memcpy(dst->mask + (size_t)y * w, src->mask + (size_t)(y0 + y) * src->width + x0, (size_t)w);
  }
  return 0;
}

int swath_raster_convert(swath_raster *r, swath_dtype to) {
  if (r->dtype == to) return 0;
  size_t n = (size_t)r->width * r->height * r->bands;
  void *d = malloc(n * swath_dtype_size(to));
  if (!d) return swath_error_set(SWATH_ENOMEM, "raster: out of memory converting types");
  GDALCopyWords64(r->data, (GDALDataType)r->dtype, (int)swath_dtype_size(r->dtype), d,
                  (GDALDataType)to, (int)swath_dtype_size(to), (GPtrDiff_t)n);
  free(r->data);
  r->data = d;
  r->dtype = to;
  return 0;
}

static inline double get_px(const void *p, swath_dtype t, size_t i) {
  switch (t) {
  case SWATH_DT_BYTE: return ((const unsigned char *)p)[i];
  case SWATH_DT_UINT16: return ((const unsigned short *)p)[i];
  case SWATH_DT_INT16: return ((const short *)p)[i];
  case SWATH_DT_UINT32: return ((const unsigned int *)p)[i];
  case SWATH_DT_INT32: return ((const int *)p)[i];
  case SWATH_DT_FLOAT32: return ((const float *)p)[i];
  case SWATH_DT_FLOAT64: return ((const double *)p)[i];
  default: return 0;
  }
}

static inline void set_px(void *p, swath_dtype t, size_t i, double v) {
  if (t != SWATH_DT_FLOAT32 && t != SWATH_DT_FLOAT64) v = floor(v + 0.5);
  switch (t) {
  case SWATH_DT_BYTE: ((unsigned char *)p)[i] = (unsigned char)v; break;
  case SWATH_DT_UINT16: ((unsigned short *)p)[i] = (unsigned short)v; break;
  case SWATH_DT_INT16: ((short *)p)[i] = (short)v; break;
  case SWATH_DT_UINT32: ((unsigned int *)p)[i] = (unsigned int)v; break;
  case SWATH_DT_INT32: ((int *)p)[i] = (int)v; break;
  case SWATH_DT_FLOAT32: ((float *)p)[i] = (float)v; break;
  case SWATH_DT_FLOAT64: ((double *)p)[i] = v; break;
  default: break;
  }
}

/* Are the n bytes of m all non-zero? */
static int all_set(const unsigned char *m, size_t n) { return memchr(m, 0, n) == NULL; }

/* The common case (8-bit imagery, even sizes): integer arithmetic, no
 * per-pixel type dispatch, and rows whose four-pixel groups are all valid
 * (most of them) in a loop GCC vectorises. Same results as the generic
 * path: the mean rounded half up, as floor(v + 0.5). */
static int downsample2_byte(const swath_raster *src, swath_raster *dst, int dx, int dy, int ow, int oh, int average) {
  if (src->dtype != SWATH_DT_BYTE || (src->width & 1) || (src->height & 1) || !src->mask) return 0;
  size_t splane = (size_t)src->width * src->height, dplane = (size_t)dst->width * dst->height;
  for (int y = 0; y < oh; y++) {
    const unsigned char *m0 = src->mask + (size_t)(2 * y) * src->width, *m1 = m0 + src->width;
    unsigned char *dm = dst->mask + (size_t)(dy + y) * dst->width + dx;
    int full = all_set(m0, (size_t)2 * ow) && all_set(m1, (size_t)2 * ow);
    if (full) {
      memset(dm, 255, (size_t)ow);
      for (int band = 0; band < src->bands; band++) {
        const unsigned char *restrict s0 =
            (const unsigned char *)src->data + band * splane + (size_t)(2 * y) * src->width;
        const unsigned char *restrict s1 = s0 + src->width;
        unsigned char *restrict o = (unsigned char *)dst->data + band * dplane + (size_t)(dy + y) * dst->width + dx;
        if (average)
          for (int x = 0; x < ow; x++)
            o[x] = (unsigned char)((s0[2 * x] + s0[2 * x + 1] + s1[2 * x] + s1[2 * x + 1] + 2) >> 2);
        else
          for (int x = 0; x < ow; x++) o[x] = s0[2 * x];
      }
      continue;
    }
    for (int x = 0; x < ow; x++) {
      int a = m0[2 * x] != 0, b = m0[2 * x + 1] != 0, c = m1[2 * x] != 0, d = m1[2 * x + 1] != 0;
      int nv = a + b + c + d;
      dm[x] = nv ? 255 : 0;
      for (int band = 0; band < src->bands; band++) {
        const unsigned char *s0 = (const unsigned char *)src->data + band * splane + (size_t)(2 * y) * src->width;
        const unsigned char *s1 = s0 + src->width;
        unsigned char *o = (unsigned char *)dst->data + band * dplane + (size_t)(dy + y) * dst->width + dx;
        if (!nv) {
          o[x] = 0;
        } else if (average) {
          int sum = a * s0[2 * x] + b * s0[2 * x + 1] + c * s1[2 * x] + d * s1[2 * x + 1];
          o[x] = (unsigned char)((2 * sum + nv) / (2 * nv)); /* round half up, as floor(v + 0.5) */
        } else {
          o[x] = a ? s0[2 * x] : b ? s0[2 * x + 1] : c ? s1[2 * x] : s1[2 * x + 1];
        }
      }
    }
  }
  return 1;
}

void swath_raster_downsample2(const swath_raster *src, swath_raster *dst, int dx, int dy, int average) {
  int ow = (src->width + 1) / 2, oh = (src->height + 1) / 2;
  if (dx + ow > dst->width) ow = dst->width - dx;
  if (dy + oh > dst->height) oh = dst->height - dy;
  if (downsample2_byte(src, dst, dx, dy, ow, oh, average)) return;
  for (int y = 0; y < oh; y++) {
    for (int x = 0; x < ow; x++) {
      size_t idx[4];
      int nv = 0;
      for (int k = 0; k < 4; k++) {
        int sx = 2 * x + (k & 1), sy = 2 * y + (k >> 1);
        if (sx >= src->width || sy >= src->height) continue;
        size_t i = (size_t)sy * src->width + sx;
        if (!src->mask || src->mask[i]) idx[nv++] = i;
      }
      size_t o = (size_t)(dy + y) * dst->width + dx + x;
      dst->mask[o] = nv ? 255 : 0;
      for (int b = 0; b < src->bands; b++) {
        const void *s = swath_raster_band(src, b);
        void *d = swath_raster_band(dst, b);
        if (!nv) {
          set_px(d, dst->dtype, o, 0);
          continue;
        }
        if (!average) {
          set_px(d, dst->dtype, o, get_px(s, src->dtype, idx[0]));
          continue;
        }
        double sum = 0;
        for (int k = 0; k < nv; k++) sum += get_px(s, src->dtype, idx[k]);
        set_px(d, dst->dtype, o, sum / nv);
      }
    }
  }
}
