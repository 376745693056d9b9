/* contours.c: the `contours` process: elevation lines of a DEM as features,
 * a vector process without a model (swath/plugin.h, io/features.h).
 *
 * Per process tile, GDAL's contour generator (GDALContourGenerateEx) runs
 * over the whole buffered block, so a line is continuous across the
 * metatile's edge; each line is then cut (OGR_G_Intersection, GEOS) by the
 * box of every output tile of the metatile and each piece is added
 * anchored at the centre of the tile it was cut to: the host keeps it in
 * that tile, so every piece is stored once, and the pieces of one line in
 * neighbouring tiles meet end to end on the tile border (`swath export
 * --merge` joins them again, docs/detection.md).
 *
 * Invariants that make the pieces the same whatever the metatiling and
 * make neighbours meet exactly: the generator works in the zoom's pixel
 * lattice (geotransform col0, 1, 0, row0, 0, 1; pixel values sit at pixel
 * centres, as gdal_contour has them), the vertices are snapped to 2^-20
 * pixel before and after the cut (GDAL's interpolation rounds at a
 * block-dependent magnitude; the snap removes that), tile borders are
 * integers there, and the grid CRS coordinates are origin + lattice * res
 * with the tile matrix origin (the same double from every block). Reading
 * the tile size and origin from the host's collector (ctx->features) is a
 * built-in's privilege: plugin ABI 2 gives a plugin neither.
 *
 * A piece lying wholly on its tile's right or bottom border (a contour
 * running exactly along it) belongs to the neighbour, where it lies on the
 * left or top border: tiles are half-open, so it is stored once. Pixels
 * the mask clears are nodata to the generator; no line crosses them. */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <float.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <math.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/features.h"
#include "process/process.h"

#define SNAP 1048576.0 /* 2^20: vertices on a 1/2^20 pixel lattice */
#define MAX_LEVELS 1000

typedef struct contours {
  const swath_host *host;
  double interval, base;
  int band;     /* 0-based */
  char *levels; /* "a,b,c" (FIXED_LEVELS) or NULL */
} contours;

static const swath_param PARAMS[] = {
    {"interval", "number", "10", "elevation between two lines (> 0)"},
    {"base", "number", "0",
     "the elevation one line passes through; the others are base + k * interval"},
    {"band", "integer", "1", "band of the input holding the elevations"},
    {"levels", "string", "", "fixed elevations (a comma list) instead of interval and base"},
    {NULL, NULL, NULL, NULL}};

static void ct_destroy(void *state) {
  contours *s = state;
  if (!s) return;
  free(s->levels);
  free(s);
}

/* "a, b, c" as GDAL's FIXED_LEVELS wants it ("a,b,c"), checked: numbers. */
static int parse_levels(const swath_host *h, const char *v, char **out) {
  size_t n = strlen(v);
  char *o = malloc(26 * (n + 1)), *w = o; /* each number at most 25 characters and a comma */
  if (!o) return h->error(SWATH_PLUGIN_EIO, "process contours: out of memory");
  int count = 0;
  *o = '\0';
  const char *p = v;
  while (*p) {
    char *end;
    double d = strtod(p, &end);
    while (*end == ' ')
      end++;
    if (end == p || !isfinite(d) || (*end && *end != ',') || ++count > MAX_LEVELS) {
      free(o);
      return h->error(SWATH_PLUGIN_EINVAL,
                      "process contours: params.levels: '%s' is not a list of 1 to %d numbers", v,
                      MAX_LEVELS);
    }
    w += sprintf(w, "%s%.17g", count > 1 ? "," : "", d);
    p = *end ? end + 1 : end;
    while (*p == ' ')
      p++;
  }
  if (!count) {
    free(o);
    return h->error(SWATH_PLUGIN_EINVAL, "process contours: params.levels: empty");
  }
  *out = o;
  return 0;
}

static int ct_init(const swath_host *host, const swath_params *p, const swath_input_desc *in, int n,
                   swath_process_info *info, void **state) {
  if (n != 1)
    return host->error(SWATH_PLUGIN_EINVAL,
                       "process contours: takes exactly one input (a DEM), got %d", n);
  contours *s = calloc(1, sizeof *s);
  if (!s) return host->error(SWATH_PLUGIN_EIO, "process contours: out of memory");
  s->host = host;
  s->interval = strtod(host->param(p, "interval"), NULL);
  s->base = strtod(host->param(p, "base"), NULL);
  s->band = atoi(host->param(p, "band")) - 1;
  const char *lv = host->param(p, "levels");
  int r = 0;
  if (lv && *lv)
    r = parse_levels(host, lv, &s->levels);
  else if (!(s->interval > 0))
    r = host->error(SWATH_PLUGIN_EINVAL, "process contours: params.interval must be > 0, got %s",
                    host->param(p, "interval"));
  if (!r && (s->band < 0 || s->band >= in[0].bands))
    r = host->error(SWATH_PLUGIN_EINVAL,
                    "process contours: params.band: band %d, but input '%s' has %d band(s)",
                    s->band + 1, in[0].name, in[0].bands);
  if (r) {
    ct_destroy(s);
    return r;
  }
  info->in_dtype = SWATH_DT_FLOAT32;
  info->features = 1;
  info->out_bands = 1;
  info->out_dtype = SWATH_DT_BYTE;
  /* A line in a cell on the interior's edge needs the pixel centres beyond
   * it; GDAL extrapolates in the block's outermost half pixel: 2 keeps that
   * out of the interior. */
  info->pixel_buffer = 2;
  info->categorical = 0;
  *state = s;
  return 0;
}

static double snap(double v) { return nearbyint(v * SNAP) / SNAP; }

static void snap_line(OGRGeometryH g) {
  int n = OGR_G_GetPointCount(g);
  for (int i = 0; i < n; i++)
    OGR_G_SetPoint_2D(g, i, snap(OGR_G_GetX(g, i)), snap(OGR_G_GetY(g, i)));
}

/* The block's elevations as a MEM raster in the zoom's pixel lattice;
 * masked pixels set to `nodata`. *any: the block holds a valid pixel. */
static GDALDatasetH lattice_raster(const contours *s, const swath_tile_ctx *ctx, float nodata,
                                   int *any) {
  const swath_raster *in = &ctx->inputs[0];
  int w = in->width, h = in->height;
  size_t px = (size_t)w * h;
  float *v = malloc(px * sizeof *v);
  if (!v) return NULL;
  memcpy(v, (const float *)in->data + (size_t)s->band * px, px * sizeof *v);
  *any = 0;
  for (size_t i = 0; i < px; i++) {
    if ((in->mask && !in->mask[i]) || !isfinite(v[i]) || v[i] == nodata)
      v[i] = nodata;
    else
      *any = 1;
  }
  GDALDriverH mem = GDALGetDriverByName("MEM");
  GDALDatasetH ds = mem && *any ? GDALCreate(mem, "", w, h, 1, GDT_Float32, NULL) : NULL;
  if (ds) {
    double gt[6] = {(double)ctx->col0, 1, 0, (double)ctx->row0, 0, 1};
    GDALSetGeoTransform(ds, gt);
    if (GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, 0, w, h, v, w, h, GDT_Float32, 0, 0) !=
        CE_None) {
      GDALClose(ds);
      ds = NULL;
    }
  }
  free(v);
  return ds;
}

/* Is every vertex of `g` on the line coordinate == `at` (x: axis 0)? */
static int all_on(OGRGeometryH g, int axis, double at) {
  int n = OGR_G_GetPointCount(g);
  for (int i = 0; i < n; i++)
    if ((axis ? OGR_G_GetY(g, i) : OGR_G_GetX(g, i)) != at) return 0;
  return n > 0;
}

typedef struct tile_cut {
  const swath_features *fs;
  long long tx, ty; /* the tile, in the zoom's tile matrix */
  double elev;
} tile_cut;

/* One piece (a LINESTRING in lattice coordinates) to the host. */
static int add_piece(const contours *s, swath_tile_ctx *ctx, const tile_cut *t,
                     OGRGeometryH piece) {
  const swath_features *fs = t->fs;
  int tw = fs->tile_width, th = fs->tile_height;
  if (OGR_G_Length(piece) <= 0) return 0;
  if (all_on(piece, 0, (double)(t->tx + 1) * tw) || all_on(piece, 1, (double)(t->ty + 1) * th))
    return 0; /* the neighbour's: tiles are half-open */
  int n = OGR_G_GetPointCount(piece);
  for (int i = 0; i < n; i++)
    OGR_G_SetPoint_2D(piece, i, fs->origin_x + OGR_G_GetX(piece, i) * ctx->res_x,
                      fs->origin_y - OGR_G_GetY(piece, i) * ctx->res_y);
  char *wkt = NULL;
  int r = 0;
  if (OGR_G_ExportToWkt(piece, &wkt) != OGRERR_NONE)
    r = s->host->error(SWATH_PLUGIN_EIO, "process contours: a line does not export to WKT");
  swath_feature f = {.wkt = wkt,
                     .anchor_col = (t->tx + 0.5) * tw - (double)ctx->col0,
                     .anchor_row = (t->ty + 0.5) * th - (double)ctx->row0,
                     .cls = "contour",
                     .score = 1,
                     .has_value = 1,
                     .value = t->elev};
  if (!r) r = s->host->feature_add(ctx->features, &f);
  CPLFree(wkt);
  return r;
}

/* The line parts of an intersection (a LINESTRING, a MULTILINESTRING, or a
 * collection that may hold points where the line only touches the box),
 * cloned and snapped into v (at most *n grows to cap). */
static int collect_parts(OGRGeometryH g, OGRGeometryH **v, int *n, int *cap) {
  OGRwkbGeometryType gt = wkbFlatten(OGR_G_GetGeometryType(g));
  if (gt == wkbMultiLineString || gt == wkbGeometryCollection) {
    for (int i = 0; i < OGR_G_GetGeometryCount(g); i++)
      if (collect_parts(OGR_G_GetGeometryRef(g, i), v, n, cap)) return -1;
    return 0;
  }
  if (gt != wkbLineString) return 0;
  if (*n == *cap) {
    int c = *cap ? 2 * *cap : 8;
    OGRGeometryH *nv = realloc(*v, (size_t)c * sizeof *nv);
    if (!nv) return -1;
    *v = nv, *cap = c;
  }
  OGRGeometryH p = OGR_G_Clone(g);
  if (!p) return -1;
  snap_line(p);
  (*v)[(*n)++] = p;
  return 0;
}

static int same_point(OGRGeometryH a, int i, OGRGeometryH b, int j) {
  return OGR_G_GetX(a, i) == OGR_G_GetX(b, j) && OGR_G_GetY(a, i) == OGR_G_GetY(b, j);
}

/* GEOS splits a cut line where the generated line started (a closed
 * contour's first vertex), which depends on the block: join parts whose
 * end is another's start (the generator's lines keep one orientation),
 * so a tile's pieces are the same from any block. */
static void join_parts(OGRGeometryH *v, int n) {
  for (int joined = 1; joined;) {
    joined = 0;
    for (int a = 0; a < n && !joined; a++)
      for (int b = 0; b < n && !joined; b++) {
        if (a == b || !v[a] || !v[b]) continue;
        int na = OGR_G_GetPointCount(v[a]);
        if (na < 1 || !same_point(v[a], na - 1, v[b], 0)) continue;
        int nb = OGR_G_GetPointCount(v[b]);
        for (int k = 1; k < nb; k++)
          OGR_G_AddPoint_2D(v[a], OGR_G_GetX(v[b], k), OGR_G_GetY(v[b], k));
        OGR_G_DestroyGeometry(v[b]);
        v[b] = NULL;
        joined = 1;
      }
  }
}

static int add_parts(const contours *s, swath_tile_ctx *ctx, const tile_cut *t, OGRGeometryH g) {
  OGRGeometryH *v = NULL;
  int n = 0, cap = 0, r = 0;
  if (collect_parts(g, &v, &n, &cap))
    r = s->host->error(SWATH_PLUGIN_EIO, "process contours: out of memory");
  if (!r) join_parts(v, n);
  for (int i = 0; i < n; i++) {
    if (!r && v[i]) r = add_piece(s, ctx, t, v[i]);
    if (v[i]) OGR_G_DestroyGeometry(v[i]);
  }
  free(v);
  return r;
}

static OGRGeometryH box(double x0, double y0, double x1, double y1) {
  OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing), poly = OGR_G_CreateGeometry(wkbPolygon);
  OGR_G_AddPoint_2D(ring, x0, y0);
  OGR_G_AddPoint_2D(ring, x1, y0);
  OGR_G_AddPoint_2D(ring, x1, y1);
  OGR_G_AddPoint_2D(ring, x0, y1);
  OGR_G_AddPoint_2D(ring, x0, y0);
  OGR_G_AddGeometryDirectly(poly, ring);
  return poly;
}

/* One generated line, cut to every tile of the metatile it crosses. */
static int cut_line(const contours *s, swath_tile_ctx *ctx, OGRGeometryH line, double elev) {
  const swath_features *fs = ctx->features;
  int tw = fs->tile_width, th = fs->tile_height;
  snap_line(line);
  OGREnvelope e;
  OGR_G_GetEnvelope(line, &e);
  long long x0 = (long long)floor(e.MinX / tw), x1 = (long long)floor(e.MaxX / tw);
  long long y0 = (long long)floor(e.MinY / th), y1 = (long long)floor(e.MaxY / th);
  if (x0 < fs->tx0) x0 = fs->tx0;
  if (y0 < fs->ty0) y0 = fs->ty0;
  if (x1 > fs->tx0 + fs->ntx - 1) x1 = fs->tx0 + fs->ntx - 1;
  if (y1 > fs->ty0 + fs->nty - 1) y1 = fs->ty0 + fs->nty - 1;
  int r = 0;
  for (long long ty = y0; !r && ty <= y1; ty++)
    for (long long tx = x0; !r && tx <= x1; tx++) {
      if (fs->made && !fs->made[(ty - fs->ty0) * fs->m + (tx - fs->tx0)]) continue;
      OGRGeometryH b =
          box((double)tx * tw, (double)ty * th, (double)(tx + 1) * tw, (double)(ty + 1) * th);
      OGRGeometryH cut = OGR_G_Intersection(line, b);
      tile_cut t = {fs, tx, ty, elev};
      if (cut) r = add_parts(s, ctx, &t, cut);
      if (cut) OGR_G_DestroyGeometry(cut);
      OGR_G_DestroyGeometry(b);
    }
  return r;
}

static int ct_run(const void *state, swath_tile_ctx *ctx) {
  const contours *s = state;
  if (!ctx->features)
    return s->host->error(SWATH_PLUGIN_EIO,
                          "process contours: the host gave no features collector");
  const float nodata = -FLT_MAX;
  int any = 0;
  GDALDatasetH ds = lattice_raster(s, ctx, nodata, &any);
  if (!any) return 0; /* no elevations, no lines */
  GDALDriverH vmem = GDALGetDriverByName("Memory");
  GDALDatasetH vds = vmem ? GDALCreate(vmem, "", 0, 0, 0, GDT_Unknown, NULL) : NULL;
  OGRLayerH lyr = vds ? GDALDatasetCreateLayer(vds, "contours", NULL, wkbLineString, NULL) : NULL;
  int r = 0;
  if (!ds || !lyr)
    r = s->host->error(SWATH_PLUGIN_EIO,
                       "process contours: GDAL's MEM drivers failed (out of memory?)");
  if (!r) {
    OGRFieldDefnH fd = OGR_Fld_Create("elev", OFTReal);
    OGR_L_CreateField(lyr, fd, TRUE);
    OGR_Fld_Destroy(fd);
    char num[64];
    char **opts = CSLSetNameValue(NULL, "ELEV_FIELD", "0");
    snprintf(num, sizeof num, "%.17g", (double)nodata);
    opts = CSLSetNameValue(opts, "NODATA", num);
    if (s->levels) {
      opts = CSLSetNameValue(opts, "FIXED_LEVELS", s->levels);
    } else {
      snprintf(num, sizeof num, "%.17g", s->interval);
      opts = CSLSetNameValue(opts, "LEVEL_INTERVAL", num);
      snprintf(num, sizeof num, "%.17g", s->base);
      opts = CSLSetNameValue(opts, "LEVEL_BASE", num);
    }
    if (GDALContourGenerateEx(GDALGetRasterBand(ds, 1), lyr, opts, NULL, NULL) != CE_None)
      r = s->host->error(SWATH_PLUGIN_EIO, "process contours: GDAL's contour generator failed: %s",
                         CPLGetLastErrorMsg());
    CSLDestroy(opts);
  }
  OGRFeatureH f;
  if (lyr) OGR_L_ResetReading(lyr);
  while (!r && lyr && (f = OGR_L_GetNextFeature(lyr))) {
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    if (g) r = cut_line(s, ctx, g, OGR_F_GetFieldAsDouble(f, 0));
    OGR_F_Destroy(f);
  }
  if (vds) GDALClose(vds);
  if (ds) GDALClose(ds);
  return r;
}

const swath_process_vtable swath_process_contours = {
    .abi_version = SWATH_PLUGIN_ABI,
    .name = "contours",
    .description =
        "elevation lines of a DEM (GDAL's contour generator) as features, cut to the output tiles",
    .params = PARAMS,
    .init = ct_init,
    .run = ct_run,
    .destroy = ct_destroy,
};
