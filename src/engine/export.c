/* export.c: `swath export` (see export.h). Each kept feature is copied
 * through GDAL's writer for the format (GeoJSON, CSV, FlatGeobuf, GPKG
 * drivers): swath chooses the columns and the CRS, the drivers write the
 * bytes. Per-tile scores (--tiles) are the best score per tile and class,
 * gathered in a temporary SQLite table (on disk once it outgrows its
 * cache, so memory stays flat) and written sorted by z, x, y, class.
 * --merge joins lines (contour pieces cut at tile borders) of equal class
 * and value with GDAL's SQLite dialect and SpatiaLite, ST_LineMerge over
 * ST_Collect: GEOS joins lines whose ends meet exactly, which the pieces'
 * do (src/process/contours.c); the selected lines are held in an OGR
 * memory layer for it, so memory grows with them (select with --class,
 * --area, --bounds). */
#include "engine/export.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <errno.h>
#include <gdal.h>
#include <libgen.h>
#include <ogr_srs_api.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "core/gdal_log.h"
#include "engine/job_path.h"

static const struct format {
  const char *name, *driver, *ext;
  int to_stdout;
} formats[] = {
    {"geojson", "GeoJSON", "geojson", 1},
    {"csv", "CSV", "csv", 1},
    {"fgb", "FlatGeobuf", "fgb", 0},
    {"gpkg", "GPKG", "gpkg", 0},
};
#define NFORMATS (sizeof formats / sizeof formats[0])

static const struct format *find_format(const char *name) {
  for (size_t i = 0; name && i < NFORMATS; i++)
    if (strcasecmp(name, formats[i].name) == 0) return &formats[i];
  return NULL;
}

int swath_export_check(const swath_export_opts *o) {
  const struct format *fm = find_format(o->format);
  if (!o->format)
    return swath_error_set(SWATH_EINVAL, "export: --format is required (geojson, csv, fgb, gpkg)");
  if (!fm)
    return swath_error_set(SWATH_EINVAL, "--format: unknown format '%s' (geojson, csv, fgb, gpkg)",
                           o->format);
  if (!o->out && !fm->to_stdout)
    return swath_error_set(SWATH_EINVAL, "export: --format %s writes a file: give -o FILE",
                           fm->name);
  if (o->tiles && strcmp(fm->name, "csv") != 0)
    return swath_error_set(SWATH_EINVAL,
                           "--tiles: per-tile scores are written as csv only (--format csv)");
  if (o->merge && (o->tiles || strcmp(fm->name, "csv") == 0))
    return swath_error_set(SWATH_EINVAL,
                           "--merge: merged lines are written as geojson, fgb or gpkg");
  if (o->keep_crs && (strcmp(fm->name, "fgb") && strcmp(fm->name, "gpkg")))
    return swath_error_set(SWATH_EINVAL,
                           "--crs store: only for fgb and gpkg (GeoJSON and CSV are lon/lat)");
  if (o->query.classes && !*o->query.classes)
    return swath_error_set(SWATH_EINVAL, "--class: expected class names separated by commas");
  struct stat st;
  char *copy = o->out ? strdup(o->out) : NULL;
  int folder = !copy || (stat(dirname(copy), &st) == 0 && S_ISDIR(st.st_mode));
  free(copy);
  if (!folder)
    return swath_error_set(SWATH_EINVAL, "-o: the folder of '%s' does not exist", o->out);
  if (o->out && stat(o->out, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return swath_error_set(SWATH_EINVAL, "-o: '%s' is a folder; give a file name", o->out);
    if (!o->overwrite)
      return swath_error_set(SWATH_EINVAL, "-o: '%s' exists (add --overwrite to replace it)",
                             o->out);
  }
  return 0;
}

/* output.features of the job.yaml an output folder holds, resolved as the
 * job loader resolved it: relative to the job file's folder, which the
 * header of job.yaml names ("... it was run from: PATH"). */
static int stored_features_path(const char *src, const char *yaml, char **out) {
  char *text = NULL;
  swath_cfg *root = NULL;
  int rc = swath_cfg_read_file(yaml, &text);
  if (!rc) rc = swath_cfg_parse_string(text, yaml, &root);
  const swath_cfg *o = rc || root->type != SWATH_CFG_MAP ? NULL : swath_cfg_get(root, "output");
  const swath_cfg *v = o && o->type == SWATH_CFG_MAP ? swath_cfg_get(o, "features") : NULL;
  const char *p = NULL;
  if (v && !(rc = swath_cfg_string(v, "output.features", &p))) {
    static const char mark[] = "it was run from: ";
    const char *h = strstr(text, mark);
    char *jobdir = NULL;
    if (h) {
      h += sizeof mark - 1;
      jobdir = strndup(h, strcspn(h, "\n"));
      if (jobdir) {
        char *d = strdup(dirname(jobdir));
        free(jobdir);
        jobdir = d;
      }
    }
    rc = swath_job_gdal_path(jobdir ? jobdir : src, p, v, "output.features", out);
    free(jobdir);
  }
  swath_cfg_free(root);
  free(text);
  return rc;
}

int swath_features_locate(const char *src, char **out) {
  *out = NULL;
  struct stat st;
  if (swath_is_gdal_name(src) && stat(src, &st) != 0) {
    *out = strdup(src);
    return *out ? 0 : SWATH_ENOMEM;
  }
  if (stat(src, &st) != 0)
    return swath_error_set(SWATH_EINVAL, "'%s': no such output folder or features store", src);
  if (!S_ISDIR(st.st_mode)) {
    *out = strdup(src);
    return *out ? 0 : SWATH_ENOMEM;
  }
  size_t n = strlen(src) + 32;
  char *yaml = malloc(n);
  if (!yaml) return SWATH_ENOMEM;
  snprintf(yaml, n, "%s/job.yaml", src);
  int rc = stat(yaml, &st) == 0 ? stored_features_path(src, yaml, out) : 0;
  free(yaml);
  if (rc || *out) return rc;
  if ((*out = malloc(n))) snprintf(*out, n, "%s/features.gpkg", src);
  return *out ? 0 : SWATH_ENOMEM;
}

/* ---- writing ----------------------------------------------------------- */

typedef struct writer {
  const struct format *fm;
  char *tmp; /* the file GDAL writes (renamed to out), or /vsistdout/ */
  GDALDatasetH ds;
  OGRLayerH layer;
  OGRCoordinateTransformationH ct; /* store CRS -> the output's; NULL: none needed */
  OGRCoordinateTransformationH ll; /* store CRS -> lon/lat (CSV) */
} writer;

static OGRSpatialReferenceH lonlat_srs(void) {
  OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
  OSRSetFromUserInput(s, "EPSG:4326");
  OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
  return s;
}

static int writer_open(writer *w, const swath_export_opts *o, swath_features *f) {
  w->fm = find_format(o->format);
  if (o->out) {
    size_t n = strlen(o->out) + 64;
    if (!(w->tmp = malloc(n))) return SWATH_ENOMEM;
    /* The driver's own extension: CSV and FlatGeobuf make a folder otherwise. */
    snprintf(w->tmp, n, "%s.tmp%ld.%s", o->out, (long)getpid(), w->fm->ext);
  } else if (!(w->tmp = strdup("/vsistdout/"))) {
    return SWATH_ENOMEM;
  }
  OGRSpatialReferenceH ll = lonlat_srs();
  OGRSpatialReferenceH srs = o->keep_crs ? swath_features_srs(f) : ll;
  if (!OSRIsSame(swath_features_srs(f), srs))
    w->ct = OCTNewCoordinateTransformation(swath_features_srs(f), srs);
  w->ll = OCTNewCoordinateTransformation(swath_features_srs(f), ll);
  int csv = strcmp(w->fm->name, "csv") == 0;
  swath_gdal_reset();
  CPLPushErrorHandler(swath_gdal_handler);
  w->ds = GDALCreate(GDALGetDriverByName(w->fm->driver), w->tmp, 0, 0, 0, GDT_Unknown, NULL);
  char **lco = NULL;
  if (strcmp(w->fm->name, "geojson") == 0) {
    lco = CSLSetNameValue(lco, "RFC7946", "YES");
    lco = CSLSetNameValue(lco, "COORDINATE_PRECISION", "7");
  }
  /* GDAL 3.6 quotes integer columns otherwise ("19"). */
  if (csv) lco = CSLSetNameValue(lco, "STRING_QUOTING", "IF_NEEDED");
  OGRwkbGeometryType gt = OGR_L_GetGeomType(swath_features_layer(f));
  if (w->ds)
    w->layer = GDALDatasetCreateLayer(w->ds, SWATH_FEATURES_LAYER, csv ? NULL : srs,
                                      csv ? wkbNone : gt, lco);
  CSLDestroy(lco);
  CPLPopErrorHandler();
  OSRDestroySpatialReference(ll);
  if (!w->ll || (!w->ct && !OSRIsSame(swath_features_srs(f), srs)))
    return swath_error_set(SWATH_EINVAL, "export: no transformation from the store's CRS to %s",
                           o->keep_crs ? "itself" : "EPSG:4326");
  if (!w->ds || !w->layer)
    return swath_error_set(SWATH_EIO, "export: cannot create '%s' (%s): %s",
                           o->out ? o->out : "stdout", w->fm->driver,
                           swath_gdal_why("the driver refused"));
  return 0;
}

/* Fields: CSV and --tiles as named (`spec`: "name:type,..."), the others a
 * copy of the store's. */
static int writer_fields(writer *w, swath_features *f, const char *const *names,
                         const OGRFieldType *types) {
  int ok = 1;
  if (names) {
    for (int i = 0; ok && names[i]; i++) {
      OGRFieldDefnH d = OGR_Fld_Create(names[i], types[i]);
      ok = OGR_L_CreateField(w->layer, d, TRUE) == OGRERR_NONE;
      OGR_Fld_Destroy(d);
    }
  } else {
    OGRFeatureDefnH d = OGR_L_GetLayerDefn(swath_features_layer(f));
    for (int i = 0; ok && i < OGR_FD_GetFieldCount(d); i++)
      ok = OGR_L_CreateField(w->layer, OGR_FD_GetFieldDefn(d, i), TRUE) == OGRERR_NONE;
  }
  return ok ? 0
            : swath_error_set(SWATH_EIO, "export: cannot create the fields of '%s': %s", w->tmp,
                              swath_gdal_why("the driver refused"));
}

/* Close, and rename into place unless rc or the close failed; a failed
 * export removes its temporary file. */
static int writer_close(writer *w, const char *out, int rc) {
  if (w->ds) {
    CPLErrorReset();
    swath_gdal_reset();
    CPLPushErrorHandler(swath_gdal_handler);
    GDALClose(w->ds);
    CPLPopErrorHandler();
    if (!rc && CPLGetLastErrorType() >= CE_Failure)
      rc = swath_error_set(SWATH_EIO, "export: cannot finish '%s': %s", out ? out : "stdout",
                           swath_gdal_why("the driver failed"));
  }
  if (w->ct) OCTDestroyCoordinateTransformation(w->ct);
  if (w->ll) OCTDestroyCoordinateTransformation(w->ll);
  if (out && w->tmp) {
    if (!rc && rename(w->tmp, out) != 0)
      rc = swath_error_set(SWATH_EIO, "export: cannot rename '%s' to '%s': %s", w->tmp, out,
                           strerror(errno));
    if (rc) unlink(w->tmp);
  }
  free(w->tmp);
  return rc;
}

static int put(writer *w, OGRFeatureH of) {
  OGRErr e = OGR_L_CreateFeature(w->layer, of);
  OGR_F_Destroy(of);
  return e == OGRERR_NONE ? 0
                          : swath_error_set(SWATH_EIO, "export: cannot write a feature: %s",
                                            swath_gdal_why("the driver refused"));
}

/* One CSV row: the centre in lon/lat, score, class, tile, WKT in lon/lat. */
static int put_csv(writer *w, OGRFeatureH ft, OGRGeometryH centre) {
  OGRFeatureH of = OGR_F_Create(OGR_L_GetLayerDefn(w->layer));
  OGRGeometryH g = OGR_F_GetGeometryRef(ft);
  if (centre) {
    OGRGeometryH c = OGR_G_Clone(centre);
    if (OGR_G_Transform(c, w->ll) == OGRERR_NONE) {
      OGR_F_SetFieldDouble(of, 0, OGR_G_GetX(c, 0));
      OGR_F_SetFieldDouble(of, 1, OGR_G_GetY(c, 0));
    }
    OGR_G_DestroyGeometry(c);
  }
  static const char *const copy[] = {"score", "class", "z", "x", "y"};
  for (int i = 0; i < 5; i++) {
    int k = OGR_F_GetFieldIndex(ft, copy[i]);
    if (OGR_F_IsFieldSetAndNotNull(ft, k))
      OGR_F_SetFieldString(of, 2 + i, OGR_F_GetFieldAsString(ft, k));
  }
  if (g) {
    OGRGeometryH c = OGR_G_Clone(g);
    char *wkt = NULL;
    if (OGR_G_Transform(c, w->ll) == OGRERR_NONE && OGR_G_ExportToWkt(c, &wkt) == OGRERR_NONE)
      OGR_F_SetFieldString(of, 7, wkt);
    CPLFree(wkt);
    OGR_G_DestroyGeometry(c);
  }
  return put(w, of);
}

static int put_copy(writer *w, OGRFeatureH ft) {
  OGRFeatureH of = OGR_F_Create(OGR_L_GetLayerDefn(w->layer));
  OGR_F_SetFrom(of, ft, TRUE);
  OGRGeometryH g = OGR_F_GetGeometryRef(of);
  if (g && w->ct && OGR_G_Transform(g, w->ct) != OGRERR_NONE) {
    OGR_F_Destroy(of);
    return swath_error_set(SWATH_EIO, "export: feature %lld does not transform to EPSG:4326",
                           (long long)OGR_F_GetFID(ft));
  }
  return put(w, of);
}

static int write_features(writer *w, swath_features *f, swath_export_stats *st) {
  static const char *const names[] = {"lon", "lat", "score", "class", "z", "x", "y", "wkt", NULL};
  static const OGRFieldType types[] = {OFTReal,    OFTReal,      OFTReal,      OFTString,
                                       OFTInteger, OFTInteger64, OFTInteger64, OFTString};
  int csv = strcmp(w->fm->name, "csv") == 0;
  int rc = writer_fields(w, f, csv ? names : NULL, types);
  OGRFeatureH ft;
  OGRGeometryH centre;
  CPLPushErrorHandler(swath_gdal_handler);
  while (!rc && swath_features_next(f, &ft, &centre) == 1) {
    rc = csv ? put_csv(w, ft, centre) : put_copy(w, ft);
    OGR_F_Destroy(ft);
    if (!rc) st->written++;
  }
  CPLPopErrorHandler();
  return rc;
}

static int sql_fail(sqlite3 *db, int rc) {
  return rc ? rc
            : swath_error_set(SWATH_EIO, "export --tiles: temporary table: %s",
                              db ? sqlite3_errmsg(db) : "cannot open");
}

/* The best score per (z, x, y, class) into db's table t. */
static int gather_tiles(sqlite3 *db, swath_features *f, int64_t *matched) {
  sqlite3_stmt *ins = NULL;
  if (sqlite3_exec(db,
                   "CREATE TABLE t(z INTEGER, x INTEGER, y INTEGER, class TEXT, score REAL,"
                   " PRIMARY KEY (z, x, y, class)) WITHOUT ROWID; BEGIN",
                   NULL, NULL, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db,
                         "INSERT INTO t VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
                         " score = max(score, excluded.score)",
                         -1, &ins, NULL) != SQLITE_OK)
    return sql_fail(db, 0);
  OGRFeatureDefnH d = OGR_L_GetLayerDefn(swath_features_layer(f));
  int k[5] = {OGR_FD_GetFieldIndex(d, "z"), OGR_FD_GetFieldIndex(d, "x"),
              OGR_FD_GetFieldIndex(d, "y"), OGR_FD_GetFieldIndex(d, "class"),
              OGR_FD_GetFieldIndex(d, "score")};
  OGRFeatureH ft;
  OGRGeometryH centre;
  int rc = 0;
  while (!rc && swath_features_next(f, &ft, &centre) == 1) {
    for (int i = 0; i < 3; i++)
      sqlite3_bind_int64(ins, i + 1, OGR_F_GetFieldAsInteger64(ft, k[i]));
    sqlite3_bind_text(ins, 4, OGR_F_GetFieldAsString(ft, k[3]), -1, SQLITE_TRANSIENT);
    if (OGR_F_IsFieldSetAndNotNull(ft, k[4]))
      sqlite3_bind_double(ins, 5, OGR_F_GetFieldAsDouble(ft, k[4]));
    else
      sqlite3_bind_null(ins, 5);
    if (sqlite3_step(ins) != SQLITE_DONE) rc = sql_fail(db, 0);
    sqlite3_reset(ins);
    OGR_F_Destroy(ft);
    (*matched)++;
  }
  sqlite3_finalize(ins);
  if (!rc && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) rc = sql_fail(db, 0);
  return rc;
}

static int write_tiles(writer *w, swath_features *f, swath_export_stats *st) {
  static const char *const names[] = {"z", "x", "y", "class", "score", NULL};
  static const OGRFieldType types[] = {OFTInteger, OFTInteger64, OFTInteger64, OFTString, OFTReal};
  int rc = writer_fields(w, f, names, types);
  if (rc) return rc;
  sqlite3 *db = NULL;
  /* "": a private temporary database, spilled to disk when it grows. */
  if (sqlite3_open("", &db) != SQLITE_OK) rc = sql_fail(db, 0);
  int64_t matched = 0;
  if (!rc) rc = gather_tiles(db, f, &matched);
  sqlite3_stmt *q = NULL;
  if (!rc && sqlite3_prepare_v2(db, "SELECT z, x, y, class, score FROM t ORDER BY z, x, y, class",
                                -1, &q, NULL) != SQLITE_OK)
    rc = sql_fail(db, 0);
  while (!rc && sqlite3_step(q) == SQLITE_ROW) {
    OGRFeatureH of = OGR_F_Create(OGR_L_GetLayerDefn(w->layer));
    for (int i = 0; i < 3; i++)
      OGR_F_SetFieldInteger64(of, i, sqlite3_column_int64(q, i));
    OGR_F_SetFieldString(of, 3, (const char *)sqlite3_column_text(q, 3));
    if (sqlite3_column_type(q, 4) != SQLITE_NULL)
      OGR_F_SetFieldDouble(of, 4, sqlite3_column_double(q, 4));
    if (!(rc = put(w, of))) st->written++;
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  st->matched = matched;
  return rc;
}

/* ---- merged lines (--merge) -------------------------------------------- */

/* The selected line features (class, value, geometry) into a memory
 * layer `features` of a new memory dataset. */
static int gather_lines(swath_features *f, GDALDatasetH *out, int64_t *matched) {
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("Memory"), "", 0, 0, 0, GDT_Unknown, NULL);
  OGRLayerH l =
      ds ? GDALDatasetCreateLayer(ds, SWATH_FEATURES_LAYER, swath_features_srs(f), wkbUnknown, NULL)
         : NULL;
  if (!l) {
    if (ds) GDALClose(ds);
    return swath_error_set(SWATH_EIO, "export --merge: GDAL's Memory driver failed");
  }
  OGRFieldDefnH d = OGR_Fld_Create("class", OFTString);
  OGR_L_CreateField(l, d, TRUE);
  OGR_Fld_Destroy(d);
  d = OGR_Fld_Create("value", OFTReal);
  OGR_L_CreateField(l, d, TRUE);
  OGR_Fld_Destroy(d);
  *out = ds;
  OGRFeatureH ft;
  OGRGeometryH centre;
  int rc = 0;
  while (!rc && swath_features_next(f, &ft, &centre) == 1) {
    OGRGeometryH g = OGR_F_GetGeometryRef(ft);
    OGRwkbGeometryType t = g ? wkbFlatten(OGR_G_GetGeometryType(g)) : wkbNone;
    if (t != wkbLineString && t != wkbMultiLineString) {
      rc = swath_error_set(
          SWATH_EINVAL,
          "--merge: feature %lld is a %s, not a line (--merge joins lines such as contours)",
          (long long)OGR_F_GetFID(ft), g ? OGR_G_GetGeometryName(g) : "feature without geometry");
    } else {
      OGRFeatureH nf = OGR_F_Create(OGR_L_GetLayerDefn(l));
      int kc = OGR_F_GetFieldIndex(ft, "class"), kv = OGR_F_GetFieldIndex(ft, "value");
      if (OGR_F_IsFieldSetAndNotNull(ft, kc))
        OGR_F_SetFieldString(nf, 0, OGR_F_GetFieldAsString(ft, kc));
      if (OGR_F_IsFieldSetAndNotNull(ft, kv))
        OGR_F_SetFieldDouble(nf, 1, OGR_F_GetFieldAsDouble(ft, kv));
      OGR_F_SetGeometry(nf, g);
      if (OGR_L_CreateFeature(l, nf) != OGRERR_NONE)
        rc = swath_error_set(SWATH_EIO, "export --merge: cannot hold the lines (out of memory?)");
      OGR_F_Destroy(nf);
      (*matched)++;
    }
    OGR_F_Destroy(ft);
  }
  return rc;
}

/* Each line of `g` (a LINESTRING or a MULTILINESTRING) as one feature. */
static int put_lines(writer *w, OGRFeatureH row, OGRGeometryH g, swath_export_stats *st) {
  OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
  int n = t == wkbLineString ? 1 : OGR_G_GetGeometryCount(g), rc = 0;
  for (int i = 0; !rc && i < n; i++) {
    OGRGeometryH line = OGR_G_Clone(t == wkbLineString ? g : OGR_G_GetGeometryRef(g, i));
    if (w->ct && OGR_G_Transform(line, w->ct) != OGRERR_NONE) {
      OGR_G_DestroyGeometry(line);
      return swath_error_set(SWATH_EIO, "export: a merged line does not transform to EPSG:4326");
    }
    OGRFeatureH of = OGR_F_Create(OGR_L_GetLayerDefn(w->layer));
    for (int k = 0; k < 2; k++)
      if (OGR_F_IsFieldSetAndNotNull(row, k))
        OGR_F_SetFieldString(of, k, OGR_F_GetFieldAsString(row, k));
    OGR_F_SetFieldInteger(of, 2, OGR_F_GetFieldAsInteger(row, 2));
    OGR_F_SetGeometryDirectly(of, line);
    if (!(rc = put(w, of))) st->written++;
  }
  return rc;
}

static int write_merged(writer *w, swath_features *f, swath_export_stats *st) {
  static const char *const names[] = {"class", "value", "pieces", NULL};
  static const OGRFieldType types[] = {OFTString, OFTReal, OFTInteger};
  int rc = writer_fields(w, f, names, types);
  GDALDatasetH mem = NULL;
  int64_t matched = 0;
  CPLPushErrorHandler(swath_gdal_handler);
  if (!rc) rc = gather_lines(f, &mem, &matched);
  OGRLayerH res = NULL;
  if (!rc) {
    swath_gdal_reset();
    res = GDALDatasetExecuteSQL(
        mem,
        "SELECT class, value, count(*) AS pieces,"
        " ST_LineMerge(ST_Collect(GEOMETRY)) AS geom FROM " SWATH_FEATURES_LAYER
        " GROUP BY class, value ORDER BY class, value",
        NULL, "SQLITE");
    if (!res)
      rc = swath_error_set(SWATH_EIO,
                           "export --merge: GDAL's SQLite dialect (SpatiaLite) failed: %s",
                           swath_gdal_why("no ST_LineMerge in this GDAL"));
  }
  OGRFeatureH row;
  while (!rc && res && (row = OGR_L_GetNextFeature(res))) {
    OGRGeometryH g = OGR_F_GetGeometryRef(row);
    if (g) rc = put_lines(w, row, g, st);
    OGR_F_Destroy(row);
  }
  if (res) GDALDatasetReleaseResultSet(mem, res);
  if (mem) GDALClose(mem);
  CPLPopErrorHandler();
  st->matched = matched;
  return rc;
}

int swath_export(const char *store, const swath_export_opts *o, swath_export_stats *st) {
  *st = (swath_export_stats){0};
  int rc = swath_export_check(o);
  if (rc) return rc;
  swath_features *f = NULL;
  if ((rc = swath_features_open(store, &f))) return rc;
  st->total = swath_features_count_all(f);
  rc = swath_features_select(f, &o->query);
  writer w = {0};
  if (!rc) rc = writer_open(&w, o, f);
  if (!rc)
    rc = o->tiles   ? write_tiles(&w, f, st)
         : o->merge ? write_merged(&w, f, st)
                    : write_features(&w, f, st);
  if (!o->tiles && !o->merge) st->matched = st->written;
  rc = writer_close(&w, o->out, rc);
  swath_features_close(f);
  return rc;
}
