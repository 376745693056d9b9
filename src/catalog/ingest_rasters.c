/* ingest_rasters.c: local rasters, a single file or every raster under a
 * folder (recursively), each becoming a STAC Item with one "data" asset.
 *
 * The footprint is the raster's outline, densified and transformed to
 * EPSG:4326 with GDAL/OSR, so a UTM scene gets its true (slightly rotated)
 * quadrilateral, not its projected bbox. The datetime is the file's
 * TIFFTAG_DATETIME (or ACQUISITIONDATETIME) when present, else its
 * modification time. The id is the path relative to the folder without
 * its extension. Files GDAL cannot open, or that have no georeferencing,
 * are reported and skipped; known sidecars (.aux.xml, .ovr, ...) are not
 * looked at. */
#define _GNU_SOURCE /* struct stat64 behind GDAL's VSIStatBufL */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <limits.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "core/error.h"
#include "core/gdal_log.h"

#define DEFAULT_COLLECTION "local"
#define EDGE_STEPS 16

static int probe(const char *path, const char *head, size_t n, int is_dir) {
  (void)head;
  (void)n;
  if (is_dir) return 50;
  /* Quiet, not swath_gdal_handler: every ingest path is probed, and a
   * file that is not a raster is an answer here, not a failure to report
   * (one() below, which opens the rasters, keeps GDAL's reasons). */
  CPLPushErrorHandler(CPLQuietErrorHandler);
  GDALDriverH d = GDALIdentifyDriver(path, NULL);
  CPLPopErrorHandler();
  return d && GDALGetMetadataItem(d, GDAL_DCAP_RASTER, NULL) ? 40 : 0;
}

static int sidecar(const char *name) {
  static const char *const skip[] = {".aux.xml", ".ovr", ".msk", ".tfw",  ".tifw", ".wld", ".prj",
                                     ".xml",     ".txt", ".md",  ".json", ".csv",  NULL};
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  if (base[0] == '.') return 1;
  size_t n = strlen(name);
  for (int i = 0; skip[i]; i++) {
    size_t m = strlen(skip[i]);
    if (n >= m && strcasecmp(name + n - m, skip[i]) == 0) return 1;
  }
  return 0;
}

/* "2023:06:15 10:20:30" (TIFF) or RFC 3339 -> ms; 0 if neither. */
static int tiff_time(const char *s, int64_t *ms) {
  if (!s) return 0;
  char iso[40];
  int y, mo, d, h, mi, sec;
  if (sscanf(s, "%4d:%2d:%2d %2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) == 6) {
    snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, sec);
    s = iso;
  }
  return swath_time_parse(s, 0, "datetime", ms) == 0;
}

struct walk {
  const swath_ingest_opts *o;
  swath_ingest_sink *sink;
  OGRSpatialReferenceH wgs84;
  char msg[1536];
};

/* `gdal`: GDAL failed, and its reason ends the line. */
static int bad(struct walk *w, const char *file, const char *why, int gdal) {
  const char *g = gdal ? swath_gdal_why(NULL) : NULL;
  snprintf(w->msg, sizeof w->msg, "%s: %s%s%s", file, why, g ? ": " : "", g ? g : "");
  w->sink->bad(w->sink->ud, 0, w->msg);
  return 0;
}

/* The raster's outline in lon/lat, densified along each edge. */
static OGRGeometryH footprint(GDALDatasetH ds, OGRSpatialReferenceH wgs84, const char **why) {
  double gt[6];
  const OGRSpatialReferenceH srs = GDALGetSpatialRef(ds);
  if (GDALGetGeoTransform(ds, gt) != CE_None || !srs) {
    *why = "no georeferencing (geotransform and CRS needed)";
    return NULL;
  }
  OGRSpatialReferenceH src = OSRClone(srs);
  OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
  OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(src, wgs84);
  OSRDestroySpatialReference(src);
  if (!ct) {
    *why = "its CRS cannot be transformed to EPSG:4326";
    return NULL;
  }
  int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
  double x[4 * EDGE_STEPS + 1], y[4 * EDGE_STEPS + 1];
  int n = 0;
  static const double corners[5][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}};
  for (int e = 0; e < 4; e++)
    for (int k = 0; k < EDGE_STEPS; k++, n++) {
      double t = (double)k / EDGE_STEPS;
      double px = w * (corners[e][0] + t * (corners[e + 1][0] - corners[e][0]));
      double py = h * (corners[e][1] + t * (corners[e + 1][1] - corners[e][1]));
      x[n] = gt[0] + px * gt[1] + py * gt[2];
      y[n] = gt[3] + px * gt[4] + py * gt[5];
    }
  int ok = OCTTransform(ct, n, x, y, NULL);
  OCTDestroyCoordinateTransformation(ct);
  if (!ok) {
    *why = "its corners cannot be transformed to EPSG:4326";
    return NULL;
  }
  x[n] = x[0], y[n] = y[0];
  OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
  for (int i = 0; i <= n; i++)
    OGR_G_AddPoint_2D(ring, x[i], y[i]);
  OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
  OGR_G_AddGeometryDirectly(poly, ring);
  return poly;
}

static int one(struct walk *w, const char *path, const char *rel) {
  swath_gdal_reset();
  CPLPushErrorHandler(swath_gdal_handler);
  GDALDatasetH ds =
      GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR, NULL, NULL, NULL);
  CPLPopErrorHandler();
  if (!ds) return bad(w, path, "not a raster GDAL can open", 1);
  const char *why = NULL;
  OGRGeometryH g = footprint(ds, w->wgs84, &why);
  if (!g) {
    GDALClose(ds);
    return bad(w, path, why, 1);
  }
  int nb = GDALGetRasterCount(ds);
  int rgb[3];
  for (int k = 0; k < 3; k++)
    rgb[k] = w->o->rgb_bands[k] ? w->o->rgb_bands[k] : (nb >= 3 ? k + 1 : 1);
  for (int k = 0; k < 3; k++)
    if (rgb[k] < 1 || rgb[k] > nb) {
      OGR_G_DestroyGeometry(g);
      GDALClose(ds);
      char m[128];
      snprintf(m, sizeof m, "colour band %d does not exist (the raster has %d bands)", rgb[k], nb);
      return bad(w, path, m, 0);
    }
  VSIStatBufL sb;
  int64_t mtime = VSIStatL(path, &sb) == 0 ? (int64_t)sb.st_mtime : 0;
  int64_t size = VSIStatL(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
  swath_scene s = {0};
  if (!tiff_time(GDALGetMetadataItem(ds, "TIFFTAG_DATETIME", NULL), &s.dt) &&
      !tiff_time(GDALGetMetadataItem(ds, "ACQUISITIONDATETIME", NULL), &s.dt))
    s.dt = mtime * 1000;
  s.dt0 = s.dt1 = s.dt;
  s.cloud = NAN;
  OGREnvelope env;
  OGR_G_GetEnvelope(g, &env);
  s.bbox[0] = env.MinX, s.bbox[1] = env.MinY, s.bbox[2] = env.MaxX, s.bbox[3] = env.MaxY;

  /* the id: relative path without extension */
  char id[PATH_MAX];
  snprintf(id, sizeof id, "%s", rel);
  char *dot = strrchr(id, '.'), *slash = strrchr(id, '/');
  if (dot && (!slash || dot > slash) && dot != id) *dot = '\0';
  s.id = id;
  s.collection = w->o->collection ? w->o->collection : DEFAULT_COLLECTION;
  s.kind = SWATH_SCENE_STAC;

  char *gjson = OGR_G_ExportToJson(g);
  char t[32];
  swath_time_format(s.dt, t);
  GDALDriverH drv = GDALGetDatasetDriver(ds);
  const char *mime = GDALGetMetadataItem(drv, GDAL_DMD_MIMETYPE, NULL);
  double gt[6];
  GDALGetGeoTransform(ds, gt);
  json_t *props =
      json_pack("{s:s, s:[ii], s:[ffffff], s:[iii], s:I, s:I}", "datetime", t, "proj:shape",
                GDALGetRasterYSize(ds), GDALGetRasterXSize(ds), "proj:transform", gt[1], gt[2],
                gt[0], gt[4], gt[5], gt[3], "swath:rgb_bands", rgb[0], rgb[1], rgb[2], "file:size",
                (json_int_t)size, "swath:file_mtime", (json_int_t)mtime);
  const char *auth = OSRGetAuthorityName(GDALGetSpatialRef(ds), NULL);
  const char *code = OSRGetAuthorityCode(GDALGetSpatialRef(ds), NULL);
  if (auth && code && strcmp(auth, "EPSG") == 0)
    json_object_set_new(props, "proj:epsg", json_integer(atoi(code)));
  json_t *item =
      json_pack("{s:s, s:s, s:[s, s], s:s, s:s, s:o, s:[ffff], s:o, s:[], s:{s:{s:s, s:s, s:[s]}}}",
                "type", "Feature", "stac_version", "1.0.0", "stac_extensions",
                "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
                "https://stac-extensions.github.io/file/v2.1.0/schema.json", "id", id, "collection",
                s.collection, "geometry", json_loads(gjson, 0, NULL), "bbox", s.bbox[0], s.bbox[1],
                s.bbox[2], s.bbox[3], "properties", props, "links", "assets", "data", "href", path,
                "type", mime && *mime ? mime : "application/octet-stream", "roles", "data");
  CPLFree(gjson);
  GDALClose(ds);
  int wkb_len = OGR_G_WkbSize(g);
  unsigned char *wkb = malloc(wkb_len);
  if (wkb) OGR_G_ExportToWkb(g, wkbNDR, wkb);
  OGR_G_DestroyGeometry(g);
  char *doc = item ? json_dumps(item, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(item);
  char csrc[PATH_MAX + 64];
  /* a rewritten file (new mtime or size) forgets its colour statistics */
  snprintf(csrc, sizeof csrc, "%s@%lld:%lld:%d,%d,%d", path, (long long)mtime, (long long)size,
           rgb[0], rgb[1], rgb[2]);
  int rc = 0;
  if (!wkb || !doc) {
    rc = swath_error_set(SWATH_ENOMEM, "ingest: out of memory");
  } else {
    s.wkb = wkb;
    s.wkb_len = (size_t)wkb_len;
    s.doc = doc;
    s.color_src = csrc;
    rc = w->sink->put(w->sink->ud, &s);
  }
  free(doc);
  free(wkb);
  return rc;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run(const char *path, const swath_ingest_opts *o, swath_ingest_sink *sink) {
  struct walk w = {o, sink, OSRNewSpatialReference(NULL), {0}};
  OSRImportFromEPSG(w.wgs84, 4326);
  OSRSetAxisMappingStrategy(w.wgs84, OAMS_TRADITIONAL_GIS_ORDER);
  /* Absolute paths, so hrefs stay valid wherever the server runs from. */
  char *root = NULL;
  if (strncmp(path, "/vsi", 4) != 0) root = realpath(path, NULL);
  if (!root) root = strdup(path);
  int rc = 0;
  VSIStatBufL sb;
  if (VSIStatL(root, &sb) == 0 && !VSI_ISDIR(sb.st_mode)) {
    const char *base = strrchr(root, '/');
    rc = one(&w, root, base ? base + 1 : root);
  } else {
    char **list = VSIReadDirRecursive(root);
    int n = CSLCount(list);
    /* A stable order, so ids and reports do not depend on the file system. */
    qsort(list, n, sizeof *list, cmp_str);
    for (int i = 0; i < n && !rc; i++) {
      if (sidecar(list[i])) continue;
      size_t len = strlen(root) + strlen(list[i]) + 2;
      char *full = malloc(len);
      if (!full) {
        rc = swath_error_set(SWATH_ENOMEM, "ingest: out of memory");
        break;
      }
      snprintf(full, len, "%s/%s", root, list[i]);
      if (VSIStatL(full, &sb) == 0 && !VSI_ISDIR(sb.st_mode)) rc = one(&w, full, list[i]);
      free(full);
    }
    CSLDestroy(list);
  }
  free(root);
  OSRDestroySpatialReference(w.wgs84);
  return rc;
}

const swath_ingest_vtable swath_ingest_rasters = {"rasters", SWATH_INGEST_ABI, probe, run};
