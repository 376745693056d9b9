/* features_read.c: open a features store, check its shape, and walk the
 * features a query keeps (see features_read.h).
 *
 * Score and class are pushed down to the data source as an attribute
 * filter (SQL in the GeoPackage or PostGIS); an area is pushed down as a
 * spatial filter on its bounding box (the source's spatial index), and the
 * exact test, centre inside the area, is a GEOS prepared geometry here. So
 * the source does the bulk of the selection and nothing is held per
 * feature. */
#include "io/features_read.h"

#include <errno.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/gdal_log.h"

struct swath_features {
  char *path;
  GDALDatasetH ds;
  OGRLayerH layer;
  OGRSpatialReferenceH srs; /* the layer's, x/y order */
  int score_idx;
  OGRGeometryH area; /* store CRS; NULL: no area */
  OGRPreparedGeometryH prep;
  OGRGeometryH centre;
};

/* The fields a store has, and the OGR types each may have. */
static const struct {
  const char *name;
  OGRFieldType t1, t2;
} fields[] = {
    {"class", OFTString, OFTString}, {"score", OFTReal, OFTReal},
    {"model", OFTString, OFTString}, {"job", OFTString, OFTString},
    {"z", OFTInteger, OFTInteger64}, {"x", OFTInteger, OFTInteger64},
    {"y", OFTInteger, OFTInteger64}, {"task", OFTString, OFTString},
    {"value", OFTReal, OFTReal},
};

int swath_parse_threshold(const char *s, const char *what, double *t) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || !isfinite(v) || v < 0 || v > 1)
    return swath_error_set(SWATH_EINVAL, "%s: expected a score from 0 to 1, got '%s'", what, s);
  *t = v;
  return 0;
}

static int check_layer(swath_features *f) {
  const char *p = f->path;
  f->layer = GDALDatasetGetLayerByName(f->ds, SWATH_FEATURES_LAYER);
  if (!f->layer)
    return swath_error_set(SWATH_EINVAL, "features store '%s': no layer '%s' (not a swath store)",
                           p, SWATH_FEATURES_LAYER);
  OGRFeatureDefnH d = OGR_L_GetLayerDefn(f->layer);
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    int k = OGR_FD_GetFieldIndex(d, fields[i].name);
    if (k < 0)
      return swath_error_set(SWATH_EINVAL, "features store '%s': layer '%s' has no field '%s'", p,
                             SWATH_FEATURES_LAYER, fields[i].name);
    OGRFieldType t = OGR_Fld_GetType(OGR_FD_GetFieldDefn(d, k));
    if (t != fields[i].t1 && t != fields[i].t2)
      return swath_error_set(SWATH_EINVAL, "features store '%s': field '%s' is %s, expected %s", p,
                             fields[i].name, OGR_GetFieldTypeName(t),
                             OGR_GetFieldTypeName(fields[i].t1));
  }
  f->score_idx = OGR_FD_GetFieldIndex(d, "score");
  if (OGR_FD_GetGeomFieldCount(d) < 1)
    return swath_error_set(SWATH_EINVAL, "features store '%s': layer '%s' has no geometry column",
                           p, SWATH_FEATURES_LAYER);
  OGRSpatialReferenceH s = OGR_L_GetSpatialRef(f->layer);
  if (!s)
    return swath_error_set(SWATH_EINVAL, "features store '%s': layer '%s' has no CRS", p,
                           SWATH_FEATURES_LAYER);
  f->srs = OSRClone(s);
  if (!f->srs) return SWATH_ENOMEM;
  OSRSetAxisMappingStrategy(f->srs, OAMS_TRADITIONAL_GIS_ORDER);
  return 0;
}

int swath_features_open(const char *path, swath_features **out) {
  *out = NULL;
  struct stat st;
  if (strncmp(path, "PG:", 3) != 0 && strncmp(path, "/vsi", 4) != 0 && stat(path, &st) != 0)
    return swath_error_set(SWATH_EINVAL, "features store '%s': no such file", path);
  swath_features *f = calloc(1, sizeof *f);
  if (!f || !(f->path = strdup(path))) {
    free(f);
    return SWATH_ENOMEM;
  }
  swath_gdal_reset();
  CPLPushErrorHandler(swath_gdal_handler);
  f->ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
  CPLPopErrorHandler();
  int rc = f->ds ? check_layer(f)
                 : swath_error_set(SWATH_EINVAL, "features store '%s': cannot open: %s", path,
                                   swath_gdal_why("not a vector data source GDAL reads"));
  if (rc) {
    swath_features_close(f);
    return rc;
  }
  *out = f;
  return 0;
}

void swath_features_close(swath_features *f) {
  if (!f) return;
  if (f->prep) OGRDestroyPreparedGeometry(f->prep);
  if (f->area) OGR_G_DestroyGeometry(f->area);
  if (f->centre) OGR_G_DestroyGeometry(f->centre);
  if (f->srs) OSRDestroySpatialReference(f->srs);
  if (f->ds) GDALClose(f->ds);
  free(f->path);
  free(f);
}

int64_t swath_features_count_all(swath_features *f) {
  OGR_L_SetAttributeFilter(f->layer, NULL);
  OGR_L_SetSpatialFilter(f->layer, NULL);
  return (int64_t)OGR_L_GetFeatureCount(f->layer, TRUE);
}

OGRLayerH swath_features_layer(const swath_features *f) { return f->layer; }
OGRSpatialReferenceH swath_features_srs(const swath_features *f) { return f->srs; }
const char *swath_features_path(const swath_features *f) { return f->path; }

/* The polygons of g (any nesting of collections) added to mp. */
static void collect_polygons(OGRGeometryH g, OGRGeometryH mp) {
  if (!g) return;
  OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
  if (t == wkbPolygon || t == wkbCurvePolygon) {
    OGRGeometryH p = OGR_G_ForceToPolygon(OGR_G_Clone(g));
    if (p) OGR_G_AddGeometryDirectly(mp, p);
  } else if (t == wkbMultiPolygon || t == wkbMultiSurface || t == wkbGeometryCollection) {
    for (int i = 0; i < OGR_G_GetGeometryCount(g); i++)
      collect_polygons(OGR_G_GetGeometryRef(g, i), mp);
  }
}

/* The polygons `part` (owned, in CRS src) moved into the store CRS and
 * added to mp. */
static int add_polygons(swath_features *f, OGRSpatialReferenceH src, OGRGeometryH part,
                        const char *what, OGRGeometryH mp) {
  OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
  OGRErr err = OGRERR_NONE;
  if (!OGR_G_IsEmpty(part) && !OSRIsSame(src, f->srs)) {
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(src, f->srs);
    err = ct ? OGR_G_Transform(part, ct) : OGRERR_FAILURE;
    if (ct) OCTDestroyCoordinateTransformation(ct);
  }
  for (int k = 0; err == OGRERR_NONE && k < OGR_G_GetGeometryCount(part); k++)
    OGR_G_AddGeometry(mp, OGR_G_GetGeometryRef(part, k));
  OGR_G_DestroyGeometry(part);
  if (err != OGRERR_NONE)
    return swath_error_set(SWATH_EINVAL, "%s: its polygons do not transform to the store's CRS",
                           what);
  return 0;
}

/* Polygons of every layer of `ds` moved into the store CRS, into mp. */
static int read_area_layers(swath_features *f, GDALDatasetH ds, const char *what, OGRGeometryH mp) {
  int rc = 0;
  for (int i = 0; !rc && i < GDALDatasetGetLayerCount(ds); i++) {
    OGRLayerH l = GDALDatasetGetLayer(ds, i);
    OGRGeometryH part = OGR_G_CreateGeometry(wkbMultiPolygon);
    OGRFeatureH ft;
    OGR_L_ResetReading(l);
    while ((ft = OGR_L_GetNextFeature(l))) {
      collect_polygons(OGR_F_GetGeometryRef(ft), part);
      OGR_F_Destroy(ft);
    }
    OGRSpatialReferenceH ls = OGR_L_GetSpatialRef(l);
    OGRSpatialReferenceH src = ls ? OSRClone(ls) : OSRNewSpatialReference(NULL);
    if (!ls) OSRSetFromUserInput(src, "EPSG:4326"); /* as for job areas */
    rc = add_polygons(f, src, part, what, mp);
    OSRDestroySpatialReference(src);
  }
  return rc;
}

/* The union of the polygons of an area file (every layer) or of lon/lat
 * bounds, in the store CRS, as f->area. */
static int load_area(swath_features *f, const swath_features_query *q) {
  char what[600];
  OGRGeometryH mp = OGR_G_CreateGeometry(wkbMultiPolygon);
  int rc = 0;
  if (q->area_file) {
    snprintf(what, sizeof what, "--area '%.500s'", q->area_file);
    swath_gdal_reset();
    CPLPushErrorHandler(swath_gdal_handler);
    GDALDatasetH ds = GDALOpenEx(q->area_file, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!ds) {
      struct stat st;
      rc = stat(q->area_file, &st) != 0
               ? swath_error_set(SWATH_EINVAL, "%s: no such file", what)
               : swath_error_set(SWATH_EINVAL, "%s: not a vector file GDAL reads: %s", what,
                                 swath_gdal_why("unknown format"));
    } else {
      rc = read_area_layers(f, ds, what, mp);
      GDALClose(ds);
    }
    CPLPopErrorHandler();
  } else {
    const double *b = q->bounds;
    snprintf(what, sizeof what, "--bounds %.10g,%.10g,%.10g,%.10g", b[0], b[1], b[2], b[3]);
    char wkt[512];
    snprintf(wkt, sizeof wkt,
             "POLYGON ((%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g,%.17g %.17g))", b[0], b[1],
             b[2], b[1], b[2], b[3], b[0], b[3], b[0], b[1]);
    OGRGeometryH g = NULL;
    char *p = wkt;
    OGR_G_CreateFromWkt(&p, NULL, &g);
    /* Straight in lon/lat, curved in most other CRSs. */
    OGR_G_Segmentize(g, fmax(b[2] - b[0], b[3] - b[1]) / 64);
    OGRGeometryH part = OGR_G_CreateGeometry(wkbMultiPolygon);
    OGR_G_AddGeometryDirectly(part, g);
    OGRSpatialReferenceH ll = OSRNewSpatialReference(NULL);
    OSRSetFromUserInput(ll, "EPSG:4326");
    CPLPushErrorHandler(swath_gdal_handler);
    rc = add_polygons(f, ll, part, what, mp);
    CPLPopErrorHandler();
    OSRDestroySpatialReference(ll);
  }
  if (!rc && OGR_G_IsEmpty(mp))
    rc = swath_error_set(SWATH_EINVAL, "%s: has no polygons (points and lines are ignored)", what);
  if (rc) {
    OGR_G_DestroyGeometry(mp);
    return rc;
  }
  CPLPushErrorHandler(swath_gdal_handler);
  OGRGeometryH valid = OGR_G_MakeValid(mp);
  OGRGeometryH u = valid ? OGR_G_UnionCascaded(valid) : NULL;
  CPLPopErrorHandler();
  if (valid) OGR_G_DestroyGeometry(valid);
  OGR_G_DestroyGeometry(mp);
  if (!u) return swath_error_set(SWATH_EINVAL, "%s: its polygons cannot be merged", what);
  f->area = u;
  f->prep = OGRCreatePreparedGeometry(u);
  return f->prep
             ? 0
             : swath_error_set(SWATH_EIO, "%s: cannot prepare the area (GDAL without GEOS?)", what);
}

/* "score" >= T AND "class" IN ('a', ...), quotes doubled: SQL that OGR,
 * SQLite and PostgreSQL all read the same. */
static int attribute_filter(const swath_features_query *q, char **out) {
  size_t n = 64 + (q->classes ? 3 * strlen(q->classes) + 32 : 0);
  char *w = calloc(1, n), *p = w;
  if (!w) return SWATH_ENOMEM;
  if (q->has_threshold) p += sprintf(p, "\"score\" >= %.17g", q->threshold);
  if (q->classes) {
    p += sprintf(p, "%s\"class\" IN (", p == w ? "" : " AND ");
    const char *s = q->classes;
    for (;;) {
      size_t len = strcspn(s, ",");
      if (len == 0) {
        free(w);
        return swath_error_set(SWATH_EINVAL, "--class: empty class name in '%s'", q->classes);
      }
      *p++ = '\'';
      for (size_t i = 0; i < len; i++) {
        if (s[i] == '\'') *p++ = '\'';
        *p++ = s[i];
      }
      *p++ = '\'';
      if (!s[len]) break;
      *p++ = ',';
      s += len + 1;
    }
    *p++ = ')';
  }
  *out = w;
  return 0;
}

int swath_features_select(swath_features *f, const swath_features_query *q) {
  if (f->prep) OGRDestroyPreparedGeometry(f->prep);
  if (f->area) OGR_G_DestroyGeometry(f->area);
  f->prep = NULL;
  f->area = NULL;
  char *where = NULL;
  int rc = attribute_filter(q, &where);
  if (rc) return rc;
  swath_gdal_reset();
  CPLPushErrorHandler(swath_gdal_handler);
  OGRErr err = OGR_L_SetAttributeFilter(f->layer, *where ? where : NULL);
  CPLPopErrorHandler();
  free(where);
  if (err != OGRERR_NONE)
    return swath_error_set(SWATH_EIO, "features store '%s': cannot filter: %s", f->path,
                           swath_gdal_why("attribute filter refused"));
  if ((q->area_file || q->has_bounds) && (rc = load_area(f, q))) return rc;
  /* Anything whose centre is in the area meets the area's bbox: the
   * source's index narrows by that, the prepared geometry decides. */
  if (f->area) {
    OGREnvelope e;
    OGR_G_GetEnvelope(f->area, &e);
    OGR_L_SetSpatialFilterRect(f->layer, e.MinX, e.MinY, e.MaxX, e.MaxY);
  } else {
    OGR_L_SetSpatialFilter(f->layer, NULL);
  }
  OGR_L_ResetReading(f->layer);
  return 0;
}

int swath_features_next(swath_features *f, OGRFeatureH *feat, OGRGeometryH *centre) {
  OGRFeatureH ft;
  if (!f->centre) f->centre = OGR_G_CreateGeometry(wkbPoint);
  while ((ft = OGR_L_GetNextFeature(f->layer))) {
    OGRGeometryH g = OGR_F_GetGeometryRef(ft);
    int has = g && !OGR_G_IsEmpty(g) && OGR_G_Centroid(g, f->centre) == OGRERR_NONE;
    if (f->prep && !(has && OGRPreparedGeometryContains(f->prep, f->centre))) {
      OGR_F_Destroy(ft);
      continue;
    }
    *feat = ft;
    *centre = has ? f->centre : NULL;
    return 1;
  }
  return 0;
}
