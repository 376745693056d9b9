/* convert.c: pass pixels through. The engine has already reprojected and
 * resampled the input onto the tile grid (the gdal2tiles job); convert only
 * selects bands, changes the type (rounded and clamped, as GDAL does) and
 * optionally stretches a value range linearly onto the output type. */
#include <gdal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/raster.h"
#include "process/process.h"

typedef struct cv {
  int nbands;
  int bands[64]; /* 0-based source bands */
  swath_dtype out;
  int stretch;
  double smin, smax, dmin, dmax;
} cv;

static const swath_param cv_params[] = {
    {"bands", "string", "", "bands to keep, 1-based, in order (e.g. \"3,2,1\"); default all"},
    {"dtype", "string", "", "output type (Byte, UInt16, Int16, UInt32, Int32, Float32, Float64); default the input's"},
    {"scale", "string", "", "\"min,max\": stretch this input range linearly onto the output type's range"},
    {NULL, NULL, NULL, NULL}};

static double type_min(swath_dtype t) {
  switch (t) {
  case SWATH_DT_INT16: return -32768;
  case SWATH_DT_INT32: return -2147483648.0;
  default: return 0;
  }
}
static double type_max(swath_dtype t) {
  switch (t) {
  case SWATH_DT_BYTE: return 255;
  case SWATH_DT_UINT16: return 65535;
  case SWATH_DT_INT16: return 32767;
  case SWATH_DT_UINT32: return 4294967295.0;
  case SWATH_DT_INT32: return 2147483647.0;
  default: return 1;
  }
}

static int cv_init(const swath_host *host, const swath_params *p, const swath_input_desc *in, int n,
                   swath_process_info *info, void **state) {
  if (n != 1) return host->error(SWATH_PLUGIN_EINVAL, "process convert: takes exactly one input, got %d", n);
  cv *s = calloc(1, sizeof *s);
  if (!s) return host->error(SWATH_PLUGIN_EIO, "process convert: out of memory");
  const char *b = host->param(p, "bands");
  if (b && *b) {
    const char *q = b;
    while (*q) {
      char *end;
      long v = strtol(q, &end, 10);
      if (end == q || v < 1 || v > in[0].bands || s->nbands == 64) {
        free(s);
        return host->error(SWATH_PLUGIN_EINVAL, "process convert: bands '%s': input '%s' has bands 1-%d", b, in[0].name,
                           in[0].bands);
      }
      s->bands[s->nbands++] = (int)v - 1;
      q = *end == ',' ? end + 1 : end;
      if (*end && *end != ',') q = "", s->nbands = 0;
    }
    if (s->nbands == 0) {
      free(s);
      return host->error(SWATH_PLUGIN_EINVAL, "process convert: bands '%s' is not a list like 1,2,3", b);
    }
  } else {
    s->nbands = in[0].bands > 64 ? 64 : in[0].bands;
    for (int i = 0; i < s->nbands; i++) s->bands[i] = i;
  }
  s->out = in[0].dtype;
  const char *d = host->param(p, "dtype");
  if (d && *d && (s->out = swath_dtype_parse(d)) == SWATH_DT_UNKNOWN) {
    free(s);
    return host->error(SWATH_PLUGIN_EINVAL, "process convert: unknown dtype '%s'", d);
  }
  const char *sc = host->param(p, "scale");
  if (sc && *sc) {
    if (sscanf(sc, "%lf,%lf", &s->smin, &s->smax) != 2 || !(s->smax > s->smin)) {
      free(s);
      return host->error(SWATH_PLUGIN_EINVAL, "process convert: scale '%s' must be \"min,max\" with min < max", sc);
    }
    s->stretch = 1;
    info->categorical = 0; /* stretched values are no longer the input's classes */
    s->dmin = type_min(s->out);
    s->dmax = type_max(s->out);
  }
  info->out_bands = s->nbands;
  info->out_dtype = s->out;
  *state = s;
  return 0;
}

static int cv_run(const void *state, swath_tile_ctx *ctx) {
  const cv *s = state;
  const swath_raster *in = &ctx->inputs[0];
  swath_raster *out = ctx->out;
  size_t px = (size_t)in->width * in->height;
  int ies = (int)swath_dtype_size(in->dtype), oes = (int)swath_dtype_size(out->dtype);
  for (int b = 0; b < s->nbands; b++) {
    const void *src = swath_raster_band(in, s->bands[b]);
    void *dst = swath_raster_band(out, b);
    if (!s->stretch) {
      GDALCopyWords64(src, (GDALDataType)in->dtype, ies, dst, (GDALDataType)out->dtype, oes, (GPtrDiff_t)px);
      continue;
    }
    double k = (s->dmax - s->dmin) / (s->smax - s->smin);
    for (size_t i = 0; i < px; i++) {
      double v;
      GDALCopyWords((const char *)src + i * ies, (GDALDataType)in->dtype, 0, &v, GDT_Float64, 0, 1);
      v = s->dmin + (v - s->smin) * k;
      GDALCopyWords(&v, GDT_Float64, 0, (char *)dst + i * oes, (GDALDataType)out->dtype, 0, 1);
    }
  }
  return 0;
}

static void cv_destroy(void *state) { free(state); }

const swath_process_vtable swath_process_convert = {
    .abi_version = SWATH_PLUGIN_ABI,
    .name = "convert",
    .description = "reproject and resample inputs into tiles; optional band selection, type change, linear stretch",
    .params = cv_params,
    .init = cv_init,
    .run = cv_run,
    .destroy = cv_destroy,
};
