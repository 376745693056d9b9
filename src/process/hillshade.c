/* hillshade.c: shaded relief, the same numbers as `gdaldem hillshade`
 * (GDAL 3.6) on the same pixels, so tiles can be checked against it.
 *
 * For each pixel of the 3x3 window a b c / d e f / g h i the gradient is
 * Horn's, x = ((a+2d+g) - (c+2f+i)) / ewres and y = ((g+2h+i) - (a+2b+c)) / nsres
 * (nsres is negative, as in a north-up geotransform), or Zevenbergen-Thorne's
 * central differences. z is scaled by z_factor / (8 * scale) (2 for ZT). The
 * shade is 1 + 254 * cos(incidence), clamped below at 1, so 0 stays free to
 * mean nodata: a pixel is nodata when any pixel of its window is. Values are
 * rounded to the nearest integer as GDAL does when it writes floats to Byte.
 * The process needs a 1-pixel buffer; the engine reads it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "process/process.h"

#define D2R (M_PI / 180.0)

typedef struct hs {
  int zt, multi, combined;
  double sin_alt, cos_az_cos_alt_z, sin_az_cos_alt_z, square_z;
  double sin_alt_127, cos_alt_z_127, cos225_cos_alt_z_127;
} hs;

static const swath_param hs_params[] = {
    {"azimuth", "number", "315", "direction of the light, degrees clockwise from north"},
    {"altitude", "number", "45", "height of the light above the horizon, degrees"},
    {"z_factor", "number", "1", "vertical exaggeration"},
    {"scale", "number", "1", "ratio of vertical units to horizontal (111120 for metres over degrees)"},
    {"multidirectional", "boolean", "false",
     "combine light from 225, 270, 315 and 360 degrees (gdaldem -multidirectional); not with "
     "combined"},
    {"combined", "boolean", "false",
     "combine slope and oblique shading (gdaldem -combined); not with multidirectional"},
    {"alg", "string", "Horn", "gradient: Horn or ZevenbergenThorne"},
    {NULL, NULL, NULL, NULL}};

static int truthy(const char *v) {
  return v && (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"));
}

static int hs_init(const swath_host *host, const swath_params *p, const swath_input_desc *in, int n,
                   swath_process_info *info, void **state) {
  if (n != 1) return host->error(SWATH_PLUGIN_EINVAL, "process hillshade: takes exactly one input (a DEM), got %d", n);
  if (in[0].bands < 1) return host->error(SWATH_PLUGIN_EINVAL, "process hillshade: input '%s' has no band", in[0].name);
  hs *s = calloc(1, sizeof *s);
  if (!s) return host->error(SWATH_PLUGIN_EIO, "process hillshade: out of memory");
  double az = atof(host->param(p, "azimuth")), alt = atof(host->param(p, "altitude"));
  double z = atof(host->param(p, "z_factor")), scale = atof(host->param(p, "scale"));
  const char *alg = host->param(p, "alg");
  if (strcasecmp(alg, "Horn") && strcasecmp(alg, "ZevenbergenThorne")) {
    free(s);
    return host->error(SWATH_PLUGIN_EINVAL, "process hillshade: alg must be Horn or ZevenbergenThorne, got '%s'", alg);
  }
  if (scale == 0) {
    free(s);
    return host->error(SWATH_PLUGIN_EINVAL, "process hillshade: scale must not be 0");
  }
  s->zt = strcasecmp(alg, "ZevenbergenThorne") == 0;
  s->multi = truthy(host->param(p, "multidirectional"));
  s->combined = truthy(host->param(p, "combined"));
  if (s->multi && s->combined) {
    free(s);
    return host->error(SWATH_PLUGIN_EINVAL, "process hillshade: multidirectional and combined exclude each other");
  }
  double zs = z / ((s->zt ? 2 : 8) * scale);
  double cos_alt_z = cos(alt * D2R) * zs;
  s->sin_alt = sin(alt * D2R);
  s->cos_az_cos_alt_z = cos(az * D2R) * cos_alt_z;
  s->sin_az_cos_alt_z = sin(az * D2R) * cos_alt_z;
  s->square_z = zs * zs;
  s->sin_alt_127 = 127.0 * s->sin_alt;
  s->cos_alt_z_127 = 127.0 * cos_alt_z;
  s->cos225_cos_alt_z_127 = 127.0 * cos(225 * D2R) * cos_alt_z;
  info->in_dtype = SWATH_DT_FLOAT32;
  info->out_bands = 1;
  info->out_dtype = SWATH_DT_BYTE;
  info->pixel_buffer = 1;
  info->categorical = 0;
  *state = s;
  return 0;
}

static double shade(const hs *s, double x, double y) {
  double xx_yy = x * x + y * y;
  if (s->multi) {
    if (xx_yy == 0.0) return 1.0 + 254.0 * s->sin_alt;
    double v225 = s->sin_alt_127 + (x - y) * s->cos225_cos_alt_z_127;
    double v270 = s->sin_alt_127 - x * s->cos_alt_z_127;
    double v315 = s->sin_alt_127 + (x + y) * s->cos225_cos_alt_z_127;
    double v360 = s->sin_alt_127 - y * s->cos_alt_z_127;
    v225 = v225 <= 0 ? 0 : v225, v270 = v270 <= 0 ? 0 : v270;
    v315 = v315 <= 0 ? 0 : v315, v360 = v360 <= 0 ? 0 : v360;
    double w225 = 0.5 * xx_yy - x * y, w270 = x * x, w315 = xx_yy - w225, w360 = y * y;
    double c = (w225 * v225 + w270 * v270 + w315 * v315 + w360 * v360) / xx_yy / sqrt(1 + s->square_z * xx_yy);
    return 1.0 + c;
  }
  double num = s->sin_alt - (y * s->cos_az_cos_alt_z - x * s->sin_az_cos_alt_z);
  if (s->combined) {
    double slope = xx_yy * s->square_z;
    double c = acos(num / sqrt(1 + slope));
    c = 1 - c * atan(sqrt(slope)) / ((M_PI * M_PI) / 4);
    return c <= 0 ? 1.0 : 1.0 + 254.0 * c;
  }
  double c = 254.0 * num / sqrt(1 + s->square_z * xx_yy);
  return c <= 0 ? 1.0 : 1.0 + c;
}

/* One output row (interior columns) of the plain single-light Horn shade.
 * Branch-free single precision so that GCC vectorises it: gdaldem itself
 * evaluates 1/sqrt in single precision (rsqrt plus one Newton step), so
 * float keeps us within its rounding. In two passes over chunks of the row
 * (shade as floats, then round to bytes): GCC vectorises each pass but not
 * the float-to-byte narrowing fused into the first. Compiled for AVX2 and
 * the baseline, picked at run time: 8 lanes instead of 4 where the CPU has
 * them. */
__attribute__((target_clones("avx2", "default")))
static void shade_row_horn(const hs *s, const float *restrict r0, const float *restrict r1, const float *restrict r2,
                           int w, float inv_ew, float inv_ns, unsigned char *restrict o) {
  const float k0 = (float)(254.0 * s->sin_alt), kx = (float)(254.0 * s->sin_az_cos_alt_z);
  const float ky = (float)(254.0 * s->cos_az_cos_alt_z), sq = (float)s->square_z;
  enum { CHUNK = 512 };
  float c[CHUNK];
  for (int x0 = 1; x0 < w - 1; x0 += CHUNK) {
    size_t n = (size_t)(w - 1 - x0 < CHUNK ? w - 1 - x0 : CHUNK);
    const float *a0 = r0 + x0 - 1, *a1 = r1 + x0 - 1, *a2 = r2 + x0 - 1;
    for (size_t i = 0; i < n; i++) {
      float gx = ((a0[i] + 2.0f * a1[i] + a2[i]) - (a0[i + 2] + 2.0f * a1[i + 2] + a2[i + 2])) * inv_ew;
      float gy = ((a2[i] + 2.0f * a2[i + 1] + a2[i + 2]) - (a0[i] + 2.0f * a0[i + 1] + a0[i + 2])) * inv_ns;
      float v = (k0 - (gy * ky - gx * kx)) / sqrtf(1.0f + sq * (gx * gx + gy * gy));
      v = v > 0.0f ? v : 0.0f;
      c[i] = v < 254.0f ? v : 254.0f;
    }
    unsigned char *oo = o + x0;
    /* 1 + c >= 1, so truncating 1.5 + c rounds to nearest like floor(v + 0.5). */
    for (size_t i = 0; i < n; i++) oo[i] = (unsigned char)(int)(1.5f + c[i]);
  }
}

/* A pixel is valid when its whole 3x3 window is; masks are 0 or 255, so
 * `and` clears invalid output pixels without a branch (vectorised). */
static void mask_row(const unsigned char *restrict m0, int w, unsigned char *restrict om,
                     unsigned char *restrict orow) {
  const unsigned char *m1 = m0 + w, *m2 = m1 + w;
  for (int x = 1; x < w - 1; x++) {
    unsigned char a = m0[x - 1] & m0[x] & m0[x + 1] & m1[x - 1] & m1[x] & m1[x + 1] & m2[x - 1] & m2[x] & m2[x + 1];
    om[x] &= a;
    orow[x] &= om[x];
  }
}

static int hs_run(const void *state, swath_tile_ctx *ctx) {
  const hs *s = state;
  const swath_raster *in = &ctx->inputs[0];
  swath_raster *out = ctx->out;
  const float *dem = in->data;
  unsigned char *o = out->data;
  const unsigned char *m = in->mask;
  int w = in->width, h = in->height;
  double inv_ew = 1.0 / ctx->res_x, inv_ns = -1.0 / ctx->res_y;
  /* `out` comes zeroed (swath_raster_alloc); edges and masked pixels stay 0. */
  for (int y = 0; y < h; y++) {
    unsigned char *om = out->mask + (size_t)y * w;
    if (y == 0 || y == h - 1) { /* no full window at the edge: the buffer's job */
      memset(om, 0, (size_t)w);
      continue;
    }
    const float *r0 = dem + (size_t)(y - 1) * w, *r1 = r0 + w, *r2 = r1 + w;
    unsigned char *orow = o + (size_t)y * w;
    if (!s->multi && !s->combined && !s->zt) {
      shade_row_horn(s, r0, r1, r2, w, (float)inv_ew, (float)inv_ns, orow);
    } else {
      for (int x = 1; x < w - 1; x++) {
        double gx, gy;
        if (s->zt) {
          gx = (r1[x - 1] - r1[x + 1]) * inv_ew;
          gy = (r2[x] - r0[x]) * inv_ns;
        } else {
          gx = ((r0[x - 1] + 2.0 * r1[x - 1] + r2[x - 1]) - (r0[x + 1] + 2.0 * r1[x + 1] + r2[x + 1])) * inv_ew;
          gy = ((r2[x - 1] + 2.0 * r2[x] + r2[x + 1]) - (r0[x - 1] + 2.0 * r0[x] + r0[x + 1])) * inv_ns;
        }
        double v = floor(shade(s, gx, gy) + 0.5);
        orow[x] = (unsigned char)(v > 255 ? 255 : v < 1 ? 1 : v);
      }
    }
    om[0] = om[w - 1] = 0;
    if (!m) {
      memset(om + 1, 255, (size_t)w - 2);
      continue;
    }
    mask_row(m + (size_t)(y - 1) * w, w, om, orow);
  }
  return 0;
}

static void hs_destroy(void *state) { free(state); }

const swath_process_vtable swath_process_hillshade = {
    .abi_version = SWATH_PLUGIN_ABI,
    .name = "hillshade",
    .description = "shaded relief from a DEM, as gdaldem hillshade",
    .params = hs_params,
    .init = hs_init,
    .run = hs_run,
    .destroy = hs_destroy,
};
