/* warp.c: GDAL's warper onto a request grid; see warp.h.
 *
 * The destination is a MEM dataset wrapped around the output buffer plus one
 * extra plane for the warper's alpha: it says which pixels some valid source
 * pixel covered, which becomes the mask (outside the footprint, nodata and
 * source alpha 0 alike). The approximate transformer interpolates the exact
 * one along each output row within `warp_error` pixels (0.125 is gdalwarp's
 * default). Its result depends on the row's extent, so gdalwarp itself
 * differs by a few DN at sharp edges between a tile and a metatile; with
 * warp_error 0 both use the exact transform and agree (that is how the
 * oracle tests compare). */
#include "io/warp.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <gdal_alg.h>
#include <gdalwarper.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/raster.h"

int swath__warper_init(swath__warper *w, GDALDatasetH src, int bands, int alpha_band,
                       int has_nodata, double nodata, const char *dst_crs, const char *what) {
  memset(w, 0, sizeof *w);
  w->src = src;
  w->bands = bands;
  w->alpha_band = alpha_band;
  w->has_nodata = has_nodata;
  w->nodata = nodata;
  OGRSpatialReferenceH dst = OSRNewSpatialReference(NULL);
  if (OSRSetFromUserInput(dst, dst_crs) != OGRERR_NONE) {
    OSRDestroySpatialReference(dst);
    return swath_error_set(SWATH_EINVAL, "%s: unknown grid CRS '%s'", what, dst_crs);
  }
  OSRExportToWkt(dst, &w->dst_wkt);
  OSRDestroySpatialReference(dst);
  char **opts = CSLSetNameValue(NULL, "DST_SRS", w->dst_wkt);
  w->gen = GDALCreateGenImgProjTransformer2(src, NULL, opts);
  CSLDestroy(opts);
  if (!w->gen) {
    int rc = swath_error_set(SWATH_EINVAL, "%s: cannot transform from its CRS to %s: %s", what,
                             dst_crs, CPLGetLastErrorMsg());
    swath__warper_free(w);
    return rc;
  }
  w->approx = GDALCreateApproxTransformer(GDALGenImgProjTransform, w->gen, 0.125);
  w->approx_error = 0.125;
  return 0;
}

void swath__warper_free(swath__warper *w) {
  if (w->approx) GDALDestroyApproxTransformer(w->approx);
  if (w->gen) GDALDestroyGenImgProjTransformer(w->gen);
  CPLFree(w->dst_wkt);
  memset(w, 0, sizeof *w);
}

GDALDatasetH swath__mem_dataset(int w, int h, swath_dtype dt, void *planes, int nplanes, void *extra) {
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("MEM"), "", w, h, 0, (GDALDataType)dt, NULL);
  size_t plane = (size_t)w * h * swath_dtype_size(dt);
  for (int b = 0; ds && b < nplanes + (extra != NULL); b++) {
    char opt[64];
    snprintf(opt, sizeof opt, "DATAPOINTER=%p", b < nplanes ? (void *)((char *)planes + b * plane) : extra);
    char *o[] = {opt, NULL};
    if (GDALAddBand(ds, (GDALDataType)dt, o) != CE_None) {
      GDALClose(ds);
      ds = NULL;
    }
  }
  return ds;
}

int swath__resample_alg(const char *name) {
  static const struct {
    const char *name;
    GDALResampleAlg alg;
  } algs[] = {{"near", GRA_NearestNeighbour}, {"nearest", GRA_NearestNeighbour},
              {"bilinear", GRA_Bilinear},     {"cubic", GRA_Cubic},
              {"cubicspline", GRA_CubicSpline}, {"lanczos", GRA_Lanczos},
              {"average", GRA_Average},       {"mode", GRA_Mode},
              {"max", GRA_Max},               {"min", GRA_Min},
              {"med", GRA_Med},               {"q1", GRA_Q1},
              {"q3", GRA_Q3},                 {"sum", GRA_Sum},
              {"rms", GRA_RMS}};
  for (size_t i = 0; name && i < sizeof algs / sizeof *algs; i++)
    if (strcmp(algs[i].name, name) == 0) return algs[i].alg;
  return GRA_Bilinear;
}

int swath__warp(swath__warper *w, const swath_read_req *req, swath_dtype dt, swath_raster *out) {
  memset(out, 0, sizeof *out);
  size_t plane = (size_t)req->width * req->height * swath_dtype_size(dt);
  /* One extra plane at the end receives the warper's alpha. */
  swath_raster r;
  int rc = swath_raster_alloc(&r, req->width, req->height, w->bands + 1, dt);
  if (rc) return rc;
  GDALDatasetH dst = swath__mem_dataset(req->width, req->height, dt, r.data, w->bands + 1, NULL);
  if (!dst) {
    swath_raster_free(&r);
    return swath_error_set(SWATH_EIO, "cannot create a %dx%d MEM dataset", req->width, req->height);
  }
  double gt[6] = {req->bounds.minx, (req->bounds.maxx - req->bounds.minx) / req->width, 0,
                  req->bounds.maxy, 0, -(req->bounds.maxy - req->bounds.miny) / req->height};
  GDALSetGeoTransform(dst, gt);
  GDALSetProjection(dst, w->dst_wkt);
  GDALSetGenImgProjTransformerDstGeoTransform(w->gen, gt);

  GDALWarpOptions *wo = GDALCreateWarpOptions();
  wo->hSrcDS = w->src;
  wo->hDstDS = dst;
  wo->nBandCount = w->bands;
  wo->panSrcBands = CPLMalloc(sizeof(int) * w->bands);
  wo->panDstBands = CPLMalloc(sizeof(int) * w->bands);
  for (int b = 0; b < w->bands; b++) wo->panSrcBands[b] = wo->panDstBands[b] = b + 1;
  wo->nSrcAlphaBand = w->alpha_band;
  wo->nDstAlphaBand = w->bands + 1;
  if (w->has_nodata) {
    wo->padfSrcNoDataReal = CPLMalloc(sizeof(double) * w->bands);
    for (int b = 0; b < w->bands; b++) wo->padfSrcNoDataReal[b] = w->nodata;
  }
  wo->eResampleAlg = (GDALResampleAlg)swath__resample_alg(req->resampling);
  wo->eWorkingDataType = GDT_Unknown;
  if (req->warp_error > 0 && req->warp_error != w->approx_error) {
    GDALDestroyApproxTransformer(w->approx);
    w->approx = GDALCreateApproxTransformer(GDALGenImgProjTransform, w->gen, req->warp_error);
    w->approx_error = req->warp_error;
  }
  wo->pfnTransformer = req->warp_error > 0 ? GDALApproxTransform : GDALGenImgProjTransform;
  wo->pTransformerArg = req->warp_error > 0 ? w->approx : w->gen;
  wo->dfWarpMemoryLimit = 64.0 * 1024 * 1024;
  wo->papszWarpOptions = CSLSetNameValue(wo->papszWarpOptions, "INIT_DEST", "0");
  CPLErrorReset();
  GDALWarpOperationH op = GDALCreateWarpOperation(wo);
  CPLErr err = op ? GDALChunkAndWarpImage(op, 0, 0, req->width, req->height) : CE_Failure;
  if (op) GDALDestroyWarpOperation(op);
  wo->pTransformerArg = NULL;
  wo->hSrcDS = wo->hDstDS = NULL;
  GDALDestroyWarpOptions(wo);
  GDALClose(dst);
  if (err != CE_None || CPLGetLastErrorType() >= CE_Failure) {
    const char *why = CPLGetLastErrorMsg();
    if (why && *why) snprintf(w->last_error, sizeof w->last_error, "%s", why);
    swath_raster_free(&r);
    return swath_error_set(SWATH_EIO, "reading '%s': warp failed: %s", GDALGetDescription(w->src),
                           w->last_error[0] ? w->last_error : "GDAL gave no reason");
  }
  /* Alpha plane -> mask; count coverage to report empty blocks cheaply. */
  size_t px = (size_t)req->width * req->height;
  const char *alpha = (const char *)r.data + (size_t)w->bands * plane;
  size_t valid = 0, esz = swath_dtype_size(dt);
  if (esz == 1) { /* 8 bits: a loop GCC vectorises */
    for (size_t i = 0; i < px; i++) {
      r.mask[i] = alpha[i] ? 255 : 0;
      valid += alpha[i] != 0;
    }
  } else {
    for (size_t i = 0; i < px; i++) {
      int on = 0;
      for (size_t k = 0; k < esz; k++) on |= alpha[i * esz + k] != 0;
      r.mask[i] = on ? 255 : 0;
      valid += (size_t)on;
    }
  }
  r.bands = w->bands;
  if (valid == 0) {
    swath_raster_free(&r);
    return SWATH_EEMPTY;
  }
  *out = r;
  return 0;
}
