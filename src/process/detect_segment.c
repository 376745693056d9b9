/* detect_segment.c: a segmentation model's per-pixel class probabilities,
 * stitched over the process tile's block, into polygons: per class, the
 * mask of pixels whose probability is at least mask_threshold and the
 * highest of the classes, polygonised by GDAL (GDALPolygonize, 8-connected)
 * in the grid's CRS, simplified (simplify pixels), scored by the mean
 * probability of the mask pixels inside. A polygon is anchored at its
 * centroid, so the tile holding the centroid reports it; an object wider
 * than the pixel buffer is cut at the block's edge. */
#include <cpl_conv.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <math.h>
#include <ogr_api.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "process/detect_int.h"

/* Mean probability of the pixels polygon g covers (those whose centre is
 * inside: exactly the mask pixels it was traced from), found by GDAL's
 * rasterizer over the polygon's envelope (a test per pixel would cost the
 * polygon's vertex count for every pixel). */
static double polygon_score(OGRGeometryH g, const float *p, int w, int h,
                            const swath_tile_ctx *ctx) {
  OGREnvelope e;
  OGR_G_GetEnvelope(g, &e);
  int x0 = (int)floor((e.MinX - ctx->minx) / ctx->res_x);
  int x1 = (int)ceil((e.MaxX - ctx->minx) / ctx->res_x);
  int y0 = (int)floor((ctx->maxy - e.MaxY) / ctx->res_y);
  int y1 = (int)ceil((ctx->maxy - e.MinY) / ctx->res_y);
  x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0, x1 = x1 > w ? w : x1, y1 = y1 > h ? h : y1;
  if (x1 <= x0 || y1 <= y0) return 0;
  int ww = x1 - x0, hh = y1 - y0;
  GDALDriverH mem = GDALGetDriverByName("MEM");
  GDALDatasetH ds = mem ? GDALCreate(mem, "", ww, hh, 1, GDT_Byte, NULL) : NULL;
  unsigned char *in = malloc((size_t)ww * hh);
  double sum = 0;
  long n = 0;
  if (ds && in) {
    double gt[6] = {ctx->minx + x0 * ctx->res_x, ctx->res_x, 0,
                    ctx->maxy - y0 * ctx->res_y, 0,          -ctx->res_y};
    GDALSetGeoTransform(ds, gt);
    int band = 1;
    double burn = 1;
    if (GDALRasterizeGeometries(ds, 1, &band, 1, &g, NULL, NULL, &burn, NULL, NULL, NULL) ==
            CE_None &&
        GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, ww, hh, in, ww, hh, GDT_Byte, 0, 0) ==
            CE_None)
      for (int y = 0; y < hh; y++)
        for (int x = 0; x < ww; x++)
          if (in[(size_t)y * ww + x]) sum += p[(size_t)(y0 + y) * w + x0 + x], n++;
  }
  free(in);
  if (ds) GDALClose(ds);
  return n ? sum / n : 0;
}

/* The polygons of one class's mask, handed to the host. */
static int class_polygons(const swath_host *host, swath_tile_ctx *ctx, const detect_cfg *c, int cl,
                          unsigned char *mask, const float *p, int w, int h) {
  GDALDriverH mem = GDALGetDriverByName("MEM");
  GDALDatasetH ds = mem ? GDALCreate(mem, "", w, h, 1, GDT_Byte, NULL) : NULL;
  GDALDriverH vmem = GDALGetDriverByName("Memory");
  GDALDatasetH vds = vmem ? GDALCreate(vmem, "", 0, 0, 0, GDT_Unknown, NULL) : NULL;
  int r = 0;
  if (!ds || !vds) r = swath_error_set(SWATH_EIO, "segmentation: GDAL's MEM drivers are missing");
  OGRLayerH lyr = r ? NULL : GDALDatasetCreateLayer(vds, "p", NULL, wkbPolygon, NULL);
  if (!r) {
    double gt[6] = {ctx->minx, ctx->res_x, 0, ctx->maxy, 0, -ctx->res_y};
    GDALSetGeoTransform(ds, gt);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    OGRFieldDefnH fd = OGR_Fld_Create("v", OFTInteger);
    OGR_L_CreateField(lyr, fd, TRUE);
    OGR_Fld_Destroy(fd);
    char *opts[] = {"8CONNECTED=8", NULL};
    if (GDALRasterIO(b, GF_Write, 0, 0, w, h, mask, w, h, GDT_Byte, 0, 0) != CE_None ||
        GDALPolygonize(b, b, lyr, 0, opts, NULL, NULL) != CE_None)
      r = swath_error_set(SWATH_EIO, "segmentation: polygonize failed: %s", CPLGetLastErrorMsg());
  }
  OGRFeatureH f;
  double lo = ctx->buffer, hi_x = w - ctx->buffer, hi_y = h - ctx->buffer;
  while (!r && lyr && (f = OGR_L_GetNextFeature(lyr))) {
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    OGRGeometryH cen = OGR_G_CreateGeometry(wkbPoint);
    OGR_G_Centroid(g, cen);
    double col = (OGR_G_GetX(cen, 0) - ctx->minx) / ctx->res_x;
    double row = (ctx->maxy - OGR_G_GetY(cen, 0)) / ctx->res_y;
    OGR_G_DestroyGeometry(cen);
    if (col >= lo && col < hi_x && row >= lo && row < hi_y) { /* others are another tile's */
      OGRGeometryH s = c->simplify > 0 ? OGR_G_SimplifyPreserveTopology(g, c->simplify * ctx->res_x)
                                       : OGR_G_Clone(g);
      char *wkt = NULL;
      double score = polygon_score(g, p, w, h, ctx);
      if (s && OGR_G_ExportToWkt(s, &wkt) == OGRERR_NONE && score >= c->min_score) {
        swath_feature ft = {.wkt = wkt,
                            .anchor_col = col,
                            .anchor_row = row,
                            .cls = c->classes[cl],
                            .score = score};
        r = host->feature_add(ctx->features, &ft);
      }
      CPLFree(wkt);
      if (s) OGR_G_DestroyGeometry(s);
    }
    OGR_F_Destroy(f);
  }
  if (vds) GDALClose(vds);
  if (ds) GDALClose(ds);
  return r;
}

int detect_segment_features(const swath_host *host, swath_tile_ctx *ctx, const detect_cfg *c,
                            const float *prob, int w, int h) {
  size_t plane = (size_t)w * h;
  unsigned char *mask = malloc(plane);
  if (!mask) return swath_error_set(SWATH_ENOMEM, "out of memory");
  int r = 0;
  for (int cl = 0; !r && cl < c->nclasses; cl++) {
    const float *p = prob + (size_t)cl * plane;
    int any = 0;
    for (size_t i = 0; i < plane; i++) {
      int on = p[i] >= c->mask_threshold;
      for (int o = 0; on && o < c->nclasses; o++)
        on = o == cl || prob[(size_t)o * plane + i] < p[i] ||
             (prob[(size_t)o * plane + i] == p[i] && o > cl);
      mask[i] = (unsigned char)on;
      any |= on;
    }
    if (any) r = class_polygons(host, ctx, c, cl, mask, p, w, h);
  }
  free(mask);
  return r;
}
