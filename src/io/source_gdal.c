/* source_gdal.c: any raster GDAL opens (file, VRT, /vsicurl/ COG ...), read
 * through GDAL's warper onto the requested pixel grid.
 *
 * One state per worker thread: it owns its dataset handle and a warper
 * (warp.h) whose transformer to the grid CRS is built once. Requests on the
 * source's own pixel grid skip the warper (read_aligned). */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <gdalwarper.h>
#include <ogr_srs_api.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/area.h"
#include "core/error.h"
#include "core/gdal_log.h"
#include "core/log.h"
#include "core/raster.h"
#include "io/source.h"
#include "io/warp.h"

typedef struct gdal_state {
  GDALDatasetH ds;
  int bands;       /* data bands (alpha excluded) */
  int alpha_band;  /* 1-based alpha band in the source, 0 if none */
  int has_nodata;
  double nodata;
  swath_dtype dtype;
  char *dst_wkt;   /* grid CRS as WKT (the warper's) */
  swath__warper warper;
  swath_bounds footprint;
  int same_crs;    /* source CRS is the grid's and the source is north-up */
  double gt[6];    /* source geotransform */
} gdal_state;

static void gdal_close(void *st) {
  gdal_state *s = st;
  if (!s) return;
  swath__warper_free(&s->warper);
  if (s->ds) GDALClose(s->ds);
  free(s);
}

static int footprint(gdal_state *s, const char *src_wkt, const swath_grid *g, double *res) {
  double gt[6];
  GDALGetGeoTransform(s->ds, gt);
  int w = GDALGetRasterXSize(s->ds), h = GDALGetRasterYSize(s->ds);
  double xs[4] = {gt[0], gt[0] + w * gt[1], gt[0], gt[0] + w * gt[1] + h * gt[2]};
  double ys[4] = {gt[3], gt[3] + w * gt[4], gt[3] + h * gt[5], gt[3] + w * gt[4] + h * gt[5]};
  double minx = xs[0], maxx = xs[0], miny = ys[0], maxy = ys[0];
  for (int i = 1; i < 4; i++) {
    minx = xs[i] < minx ? xs[i] : minx, maxx = xs[i] > maxx ? xs[i] : maxx;
    miny = ys[i] < miny ? ys[i] : miny, maxy = ys[i] > maxy ? ys[i] : maxy;
  }
  if (swath_bounds_transform((swath_bounds){minx, miny, maxx, maxy}, src_wkt, s->dst_wkt, &s->footprint))
    s->footprint = g->extent;
  /* Clip to the grid: a world raster in a grid of smaller extent. */
  swath_bounds *f = &s->footprint;
  if (f->minx < g->extent.minx) f->minx = g->extent.minx;
  if (f->miny < g->extent.miny) f->miny = g->extent.miny;
  if (f->maxx > g->extent.maxx) f->maxx = g->extent.maxx;
  if (f->maxy > g->extent.maxy) f->maxy = g->extent.maxy;
  double area_frac = ((f->maxx - f->minx) * (f->maxy - f->miny)) / ((double)w * h);
  *res = area_frac > 0 ? sqrt(area_frac) : 0;
  return 0;
}

/* Band 1's colour table, for outputs that keep it. */
static void palette_of(GDALRasterBandH b1, const swath_source_spec *spec, swath_source_info *info) {
  GDALColorTableH ct = GDALGetRasterColorTable(b1);
  int n = ct ? GDALGetColorEntryCount(ct) : 0;
  if (n > SWATH_PALETTE_MAX) {
    if (spec->check) /* once per run: the engine's first open */
      swath_warn(
          "input '%s': its colour table has %d entries, more than %d: tiles will not carry it",
          spec->uri, n, SWATH_PALETTE_MAX);
    return;
  }
  for (int i = 0; i < n; i++) {
    GDALColorEntry e;
    GDALGetColorEntryAsRGB(ct, i, &e);
    unsigned char *p = info->palette[i];
    p[0] = (unsigned char)e.c1, p[1] = (unsigned char)e.c2, p[2] = (unsigned char)e.c3,
    p[3] = (unsigned char)e.c4;
  }
  info->palette_n = n;
}

static int gdal_open(const swath_source_spec *spec, const swath_grid *g, swath_source_info *info, void **out) {
  *out = NULL;
  const char *uri = spec->uri;
  gdal_state *s = calloc(1, sizeof *s);
  if (!s) return SWATH_ENOMEM;
  swath_gdal_reset();
  CPLPushErrorHandler(swath_gdal_handler);
  /* VERBOSE_ERROR: GDAL says why ("not recognized as a supported file
   * format") instead of failing silently. */
  s->ds =
      GDALOpenEx(uri, GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR, NULL, NULL, NULL);
  CPLPopErrorHandler();
  if (!s->ds) {
    const char *why = swath_gdal_why("");
    struct stat st;
    int rc = strncmp(uri, "/vsi", 4) != 0 && stat(uri, &st) != 0
                 ? swath_error_set(SWATH_EINVAL, "input '%s': no such file", uri)
                 : swath_error_set(SWATH_EINVAL, "input '%s': not a raster GDAL can read%s%s", uri,
                                   why && *why ? ": " : "", why ? why : "");
    gdal_close(s);
    return rc;
  }
  int n = GDALGetRasterCount(s->ds);
  if (n == 0) {
    gdal_close(s);
    return swath_error_set(SWATH_EINVAL, "input '%s': has no raster bands", uri);
  }
  const char *src_wkt = GDALGetProjectionRef(s->ds);
  double gt[6];
  if (!src_wkt || !*src_wkt || GDALGetGeoTransform(s->ds, gt) != CE_None) {
    gdal_close(s);
    return swath_error_set(SWATH_EINVAL, "input '%s': not georeferenced (no CRS or geotransform)",
                           uri);
  }
  GDALRasterBandH last = GDALGetRasterBand(s->ds, n);
  if (n > 1 && GDALGetRasterColorInterpretation(last) == GCI_AlphaBand) s->alpha_band = n;
  s->bands = s->alpha_band ? n - 1 : n;
  GDALRasterBandH b1 = GDALGetRasterBand(s->ds, 1);
  s->nodata = GDALGetRasterNoDataValue(b1, &s->has_nodata);
  s->dtype = (swath_dtype)GDALGetRasterDataType(b1);
  if (swath_dtype_size(s->dtype) == 0) {
    gdal_close(s);
    return swath_error_set(SWATH_EINVAL, "input '%s': unsupported pixel type %s", uri,
                           GDALGetDataTypeName(GDALGetRasterDataType(b1)));
  }
  char what[4200];
  snprintf(what, sizeof what, "input '%s'", uri);
  int rc = swath__warper_init(&s->warper, s->ds, s->bands, s->alpha_band, s->has_nodata, s->nodata,
                              g->crs, what);
  if (rc) {
    gdal_close(s);
    return rc;
  }
  s->dst_wkt = s->warper.dst_wkt;
  {
    OGRSpatialReferenceH a = OSRNewSpatialReference(src_wkt), b = OSRNewSpatialReference(s->dst_wkt);
    s->same_crs = OSRIsSame(a, b) && gt[2] == 0 && gt[4] == 0 && gt[5] < 0;
    OSRDestroySpatialReference(a);
    OSRDestroySpatialReference(b);
    memcpy(s->gt, gt, sizeof gt);
  }
  double res = 0;
  footprint(s, src_wkt, g, &res);

  memset(info, 0, sizeof *info);
  info->bands = s->bands;
  info->dtype = s->dtype;
  info->has_nodata = s->has_nodata || s->alpha_band;
  info->nodata = s->nodata;
  info->categorical = GDALGetRasterColorTable(b1) != NULL;
  palette_of(b1, spec, info);
  info->footprint = s->footprint;
  info->native_res = res;
  *out = s;
  return 0;
}

static int intersects(swath_bounds a, swath_bounds b) {
  return a.minx < b.maxx && b.minx < a.maxx && a.miny < b.maxy && b.miny < a.maxy;
}

/* The request's pixels are the source's own pixels (same CRS, same
 * resolution, whole-pixel offset): every resampling method returns the
 * source value there, so read the window directly instead of warping. Only
 * where the mask semantics are unambiguous: one band with nodata, or no
 * nodata (alpha or not). Sets *done to 1 if it handled the request; then
 * `r` is allocated here (and freed here on failure). */
static int read_aligned(gdal_state *s, const swath_read_req *req, swath_dtype dt, swath_raster *r, int *done) {
  *done = 0;
  double rx = (req->bounds.maxx - req->bounds.minx) / req->width;
  double ry = (req->bounds.maxy - req->bounds.miny) / req->height;
  if (!s->same_crs || (s->has_nodata && s->bands > 1)) return 0;
  if (fabs(rx - s->gt[1]) > 1e-9 * rx || fabs(ry + s->gt[5]) > 1e-9 * ry) return 0;
  double fx = (req->bounds.minx - s->gt[0]) / s->gt[1], fy = (s->gt[3] - req->bounds.maxy) / -s->gt[5];
  if (fabs(fx - round(fx)) > 1e-6 || fabs(fy - round(fy)) > 1e-6) return 0;
  long x0 = lround(fx), y0 = lround(fy), W = GDALGetRasterXSize(s->ds), H = GDALGetRasterYSize(s->ds);
  long ax = x0 < 0 ? 0 : x0, ay = y0 < 0 ? 0 : y0;
  long bx = x0 + req->width > W ? W : x0 + req->width, by = y0 + req->height > H ? H : y0 + req->height;
  *done = 1;
  int rc = swath_raster_alloc(r, req->width, req->height, s->bands, dt);
  if (rc) return rc;
  memset(r->mask, 0, (size_t)req->width * req->height);
  if (ax >= bx || ay >= by) return 0;
  size_t es = swath_dtype_size(dt), plane = (size_t)req->width * req->height * es;
  int w = (int)(bx - ax), h = (int)(by - ay), ox = (int)(ax - x0), oy = (int)(ay - y0);
  char *base = (char *)r->data + ((size_t)oy * req->width + ox) * es;
  int *bands = malloc(sizeof(int) * (size_t)s->bands);
  if (!bands) {
    swath_raster_free(r);
    return swath_error_set(SWATH_ENOMEM, "out of memory");
  }
  for (int b = 0; b < s->bands; b++) bands[b] = b + 1;
  CPLErrorReset();
  CPLErr e = GDALDatasetRasterIO(s->ds, GF_Read, (int)ax, (int)ay, w, h, base, w, h, (GDALDataType)dt, s->bands, bands,
                                 (int)es, (int)(req->width * es), (int)plane);
  free(bands);
  unsigned char *m = r->mask + (size_t)oy * req->width + ox;
  if (e == CE_None && s->alpha_band) {
    e = GDALRasterIO(GDALGetRasterBand(s->ds, s->alpha_band), GF_Read, (int)ax, (int)ay, w, h, m, w, h, GDT_Byte, 1,
                     req->width);
    for (int y = 0; e == CE_None && y < h; y++)
      for (int x = 0; x < w; x++) m[(size_t)y * req->width + x] = m[(size_t)y * req->width + x] ? 255 : 0;
  } else if (e == CE_None) {
    for (int y = 0; y < h; y++) {
      memset(m + (size_t)y * req->width, 255, (size_t)w);
      if (!s->has_nodata) continue;
      for (int x = 0; x < w; x++) {
        double v;
        GDALCopyWords(base + ((size_t)y * req->width + x) * es, (GDALDataType)dt, 0, &v, GDT_Float64, 0, 1);
        if (v == s->nodata || (isnan(v) && isnan(s->nodata))) m[(size_t)y * req->width + x] = 0;
      }
    }
  }
  if (e != CE_None) {
    swath_raster_free(r);
    return swath_error_set(SWATH_EIO, "reading '%s': %s", GDALGetDescription(s->ds), CPLGetLastErrorMsg());
  }
  return 0;
}

static int gdal_read(void *st, const swath_read_req *req, swath_raster *out) {
  gdal_state *s = st;
  memset(out, 0, sizeof *out);
  if (!intersects(req->bounds, s->footprint)) return SWATH_EEMPTY;
  swath_dtype dt = req->dtype ? req->dtype : s->dtype;
  int aligned = 0;
  int rc = read_aligned(s, req, dt, out, &aligned);
  if (rc || !aligned) return rc ? rc : swath__warp(&s->warper, req, dt, out);
  if (!swath_raster_any_valid(out)) {
    swath_raster_free(out);
    return SWATH_EEMPTY;
  }
  return 0;
}

const swath_source_vtable swath_source_gdal = {
    .name = "gdal",
    .open = gdal_open,
    .read = gdal_read,
    .close = gdal_close,
};
