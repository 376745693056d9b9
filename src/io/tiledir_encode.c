/* tiledir_encode.c: a block of pixels into one tile file of the tile
 * directory sink: 8-bit PNG through swath's own encoder (io/png_write.h),
 * everything else through GDAL's driver from a MEM dataset that wraps the
 * caller's buffers (no copy of the pixels). The alpha band is made from the
 * mask and is the only band labelled Alpha; see sink_tiledir.c for the
 * rest of the contract (temp file, then rename). */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <errno.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/gdal_log.h"
#include "core/log.h"
#include "core/raster.h"
#include "io/png_write.h"
#include "io/tiledir_int.h"
#include "io/warp.h"

static double alpha_max(const tiledir *t) {
  return t->cfg.dtype == SWATH_DT_UINT16 && strcmp(t->ext, "png") == 0 ? 65535 : 255;
}

/* A PNG of 8-bit samples (the common tile) through swath's encoder (see
 * io/png_write.h): `planes` are the bands, then the alpha plane if any. */
static int write_png8(const tiledir *t, const char *tmp, const swath_raster *r, void *data, void *alpha) {
  size_t px = (size_t)r->width * r->height;
  const unsigned char *planes[4];
  int n = 0;
  for (int b = 0; b < r->bands; b++) planes[n++] = (const unsigned char *)data + b * px;
  if (alpha) planes[n++] = alpha;
  unsigned char *png;
  size_t len;
  int level = t->compression ? atoi(t->compression) : SWATH_PNG_DEFAULT_LEVEL;
  int rc = swath_png_encode(r->width, r->height, n, planes, level, &png, &len);
  if (rc) return rc;
  FILE *f = fopen(tmp, "wb");
  int ok = f && fwrite(png, 1, len, f) == len;
  int e = errno;
  if (f && fclose(f) != 0 && ok) ok = 0, e = errno;
  free(png);
  if (!ok) return swath_error_set(SWATH_EIO, "output: cannot write '%s': %s", tmp, strerror(e));
  return 0;
}

/* Any other tile through GDAL's driver, from a MEM dataset over `data` (and
 * `alpha`, if any, as the last band). */
int swath__tiledir_write_gdal(const tiledir *t, swath_tile tl, const char *tmp, const swath_raster *r, void *data,
                      void *alpha) {
  GDALDatasetH mem = swath__mem_dataset(r->width, r->height, r->dtype, data, r->bands, alpha);
  if (!mem)
    return swath_error_set(SWATH_EIO, "output: cannot create a MEM dataset for tile %d/%lld/%lld", tl.z,
                           (long long)tl.x, (long long)tl.y);
  /* GDAL's drivers take each band's interpretation from the MEM bands; GTiff
   * makes the Alpha band an unassociated-alpha extra sample. */
  if (alpha) GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, r->bands + 1), GCI_AlphaBand);
  if (r->bands == 3) {
    GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, 1), GCI_RedBand);
    GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, 2), GCI_GreenBand);
    GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, 3), GCI_BlueBand);
  } else if (t->palette) {
    GDALSetRasterColorTable(GDALGetRasterBand(mem, 1), t->palette);
    GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, 1), GCI_PaletteIndex);
  } else {
    GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, 1), GCI_GrayIndex);
  }
  char **opts = NULL;
  if (strcmp(t->ext, "tif") == 0 && tl.z >= 0) {
    swath_bounds b = swath_grid_tile_bounds(t->cfg.grid, tl);
    double gt[6] = {b.minx, (b.maxx - b.minx) / r->width, 0, b.maxy, 0, -(b.maxy - b.miny) / r->height};
    GDALSetGeoTransform(mem, gt);
    if (t->wkt) GDALSetProjection(mem, t->wkt);
  }
  if (strcmp(t->ext, "tif") == 0) {
    if (t->cfg.has_nodata)
      for (int b2 = 1; b2 <= r->bands; b2++) GDALSetRasterNoDataValue(GDALGetRasterBand(mem, b2), t->cfg.nodata);
    const char *comp = t->compression ? t->compression : "DEFLATE";
    opts = CSLSetNameValue(opts, "COMPRESS", comp);
    if (t->cfg.quality > 0 && strcasecmp(comp, "JPEG") == 0) {
      char q[16];
      snprintf(q, sizeof q, "%d", t->cfg.quality);
      opts = CSLSetNameValue(opts, "JPEG_QUALITY", q);
    } else if (t->cfg.quality > 0 && strcasecmp(comp, "WEBP") == 0) {
      char q[16];
      snprintf(q, sizeof q, "%d", t->cfg.quality);
      /* As for WEBP tiles: 100 means lossless. */
      opts = CSLSetNameValue(opts, t->cfg.quality == 100 ? "WEBP_LOSSLESS" : "WEBP_LEVEL",
                             t->cfg.quality == 100 ? "YES" : q);
    }
    if (strcasecmp(comp, "DEFLATE") == 0 || strcasecmp(comp, "LZW") == 0 || strcasecmp(comp, "ZSTD") == 0)
      opts = CSLSetNameValue(opts, "PREDICTOR", (r->dtype == SWATH_DT_FLOAT32 || r->dtype == SWATH_DT_FLOAT64) ? "3" : "2");
    if (r->width % 16 == 0 && r->height % 16 == 0) {
      char bs[16];
      snprintf(bs, sizeof bs, "%d", r->width);
      opts = CSLSetNameValue(opts, "TILED", "YES");
      opts = CSLSetNameValue(opts, "BLOCKXSIZE", bs);
      snprintf(bs, sizeof bs, "%d", r->height);
      opts = CSLSetNameValue(opts, "BLOCKYSIZE", bs);
    }
  } else if (strcmp(t->ext, "png") == 0 && t->compression) {
    opts = CSLSetNameValue(opts, "ZLEVEL", t->compression);
  } else if (t->cfg.quality > 0) {
    char q[16];
    snprintf(q, sizeof q, "%d", t->cfg.quality);
    if (strcmp(t->ext, "webp") == 0 && t->cfg.quality == 100) opts = CSLSetNameValue(opts, "LOSSLESS", "YES");
    else opts = CSLSetNameValue(opts, "QUALITY", q);
  }
  swath_gdal_reset();
  CPLPushErrorHandler(swath_gdal_handler);
  GDALDatasetH out = GDALCreateCopy(t->drv, tmp, mem, FALSE, opts, NULL, NULL);
  int ok = out != NULL;
  if (out) GDALClose(out);
  ok &= CPLGetLastErrorType() < CE_Failure;
  CPLPopErrorHandler();
  CSLDestroy(opts);
  GDALClose(mem);
  if (!ok)
    return swath_error_set(SWATH_EIO, "output: writing tile %d/%lld/%lld failed: %s", tl.z,
                           (long long)tl.x, (long long)tl.y, swath_gdal_why("GDAL gave no reason"));
  return 0;
}

/* Encode `r` as tile `tl` into the file `tmp` (tl.z < 0: a tile without
 * georeferencing, shared by many positions). */
int swath__tiledir_encode(const tiledir *t, swath_tile tl, const swath_raster *r, const char *tmp) {
  size_t px = (size_t)r->width * r->height, es = swath_dtype_size(r->dtype);
  int use_alpha = t->cfg.alpha;
  void *alpha = NULL, *own_alpha = NULL;
  void *data = r->data;
  void *own = NULL;
  if (use_alpha && r->mask && r->dtype == SWATH_DT_BYTE) {
    alpha = r->mask; /* masks are 0 or 255: already the alpha band */
  } else if (use_alpha) {
    alpha = own_alpha = malloc(px * es);
    if (!alpha) return swath_error_set(SWATH_ENOMEM, "output: out of memory");
    /* The two alpha values in the band's type, then copied per pixel. */
    double full = alpha_max(t), zero = 0;
    unsigned char on[16], off[16];
    GDALCopyWords(&full, GDT_Float64, 0, on, (GDALDataType)r->dtype, 0, 1);
    GDALCopyWords(&zero, GDT_Float64, 0, off, (GDALDataType)r->dtype, 0, 1);
    for (size_t i = 0; i < px; i++) memcpy((char *)alpha + i * es, r->mask && !r->mask[i] ? off : on, es);
  } else if (r->mask && (t->cfg.has_nodata || strcmp(t->ext, "jpg") == 0)) {
    /* No alpha: masked pixels get the nodata value (0 for JPEG). */
    own = malloc(px * es * r->bands);
    if (!own) return swath_error_set(SWATH_ENOMEM, "output: out of memory");
    memcpy(own, r->data, px * es * r->bands);
    double nd = t->cfg.has_nodata ? t->cfg.nodata : 0;
    unsigned char ndv[16];
    GDALCopyWords(&nd, GDT_Float64, 0, ndv, (GDALDataType)r->dtype, 0, 1);
    for (int b = 0; b < r->bands; b++) {
      if (es == 1) { /* branch-free: vectorised */
        unsigned char *o = (unsigned char *)own + b * px, v = ndv[0];
        for (size_t i = 0; i < px; i++) o[i] = r->mask[i] ? o[i] : v;
      } else {
        for (size_t i = 0; i < px; i++)
          if (!r->mask[i]) memcpy((char *)own + (b * px + i) * es, ndv, es);
      }
    }
    data = own;
  }
  swath_raster rgb;
  if (t->grey_to_rgb && r->bands == 1) {
    void *grey = data;
    data = malloc(px * es * 3);
    if (!data) {
      free(own_alpha);
      free(own);
      return swath_error_set(SWATH_ENOMEM, "output: out of memory");
    }
    for (int b = 0; b < 3; b++)
      memcpy((char *)data + b * px * es, grey, px * es);
    free(own);
    own = data;
    rgb = *r;
    rgb.bands = 3;
    rgb.data = data;
    r = &rgb;
  }
  int rc;
  if (strcmp(t->ext, "png") == 0 && r->dtype == SWATH_DT_BYTE && r->bands + use_alpha <= 4)
    rc = write_png8(t, tmp, r, data, use_alpha ? alpha : NULL);
  else
    rc = swath__tiledir_write_gdal(t, tl, tmp, r, data, use_alpha ? alpha : NULL);
  free(own_alpha);
  free(own);
  if (rc) unlink(tmp);
  return rc;
}
