/* features_ogr.c: the features store through OGR (features.h): a GeoPackage
 * file, or PostGIS when the path is a PG: connection.
 *
 * One layer, SWATH_FEATURES_LAYER, in the grid's CRS, with the fields of
 * docs/detection.md. A task's features replace, in one transaction, those an
 * earlier attempt of the same task wrote in the same tiles (the delete
 * names the task and its tiles: a task cut by the area leaves the features
 * of its other tiles to the run that makes them). OGR datasets are not
 * thread-safe: one mutex serialises the workers' writes, which are small
 * next to the model's work. */
#include "io/features.h"

#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"

typedef struct ogr_store {
  GDALDatasetH ds;
  OGRLayerH layer;
  OGRSpatialReferenceH srs;
  char *path, *job, *model;
  pthread_mutex_t mu;
} ogr_store;

static const struct {
  const char *name;
  OGRFieldType type;
} FIELDS[] = {{"class", OFTString}, {"score", OFTReal},  {"model", OFTString},
              {"job", OFTString},   {"z", OFTInteger},   {"x", OFTInteger64},
              {"y", OFTInteger64},  {"task", OFTString}, {"value", OFTReal}};
enum { F_CLASS, F_SCORE, F_MODEL, F_JOB, F_Z, F_X, F_Y, F_TASK, F_VALUE, NFIELDS };

static int is_pg(const char *path) { return strncmp(path, "PG:", 3) == 0; }

/* Without creating anything: can `path` hold a store? */
static int check_path(const char *path) {
  if (is_pg(path)) return 0; /* proven at open, when the run starts */
  if (access(path, F_OK) == 0) {
    GDALDatasetH ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_UPDATE, NULL, NULL, NULL);
    if (!ds)
      return swath_error_set(SWATH_EINVAL,
                             "output.features: '%s' is not a GeoPackage swath can "
                             "write",
                             path);
    GDALClose(ds);
    return 0;
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf(dir, sizeof dir, ".");
  /* The folder may not exist yet (the output folder is made later). */
  while (access(dir, F_OK) != 0) {
    if ((slash = strrchr(dir, '/')) && slash != dir)
      *slash = '\0';
    else if (slash)
      dir[1] = '\0'; /* "/" */
    else
      snprintf(dir, sizeof dir, ".");
  }
  if (access(dir, W_OK) != 0)
    return swath_error_set(SWATH_EINVAL, "output.features: cannot write '%s' (folder '%s')", path,
                           dir);
  return 0;
}

static int make_layer(ogr_store *s) {
  s->layer = GDALDatasetCreateLayer(s->ds, SWATH_FEATURES_LAYER, s->srs, wkbUnknown, NULL);
  if (!s->layer)
    return swath_error_set(SWATH_EIO, "features store '%s': cannot create layer %s: %s", s->path,
                           SWATH_FEATURES_LAYER, CPLGetLastErrorMsg());
  for (int i = 0; i < NFIELDS; i++) {
    OGRFieldDefnH fd = OGR_Fld_Create(FIELDS[i].name, FIELDS[i].type);
    OGRErr e = OGR_L_CreateField(s->layer, fd, TRUE);
    OGR_Fld_Destroy(fd);
    if (e != OGRERR_NONE)
      return swath_error_set(SWATH_EIO, "features store '%s': cannot add field %s: %s", s->path,
                             FIELDS[i].name, CPLGetLastErrorMsg());
  }
  OGRLayerH r = GDALDatasetExecuteSQL(
      s->ds, "CREATE INDEX IF NOT EXISTS features_task ON " SWATH_FEATURES_LAYER "(task)", NULL,
      NULL);
  if (r) GDALDatasetReleaseResultSet(s->ds, r);
  return 0;
}

/* The layer an earlier run made must have our fields. */
static int check_layer(ogr_store *s) {
  OGRFeatureDefnH def = OGR_L_GetLayerDefn(s->layer);
  for (int i = 0; i < NFIELDS; i++)
    if (OGR_FD_GetFieldIndex(def, FIELDS[i].name) < 0)
      return swath_error_set(SWATH_EINVAL,
                             "features store '%s': layer %s has no field '%s' (not "
                             "a swath features store?)",
                             s->path, SWATH_FEATURES_LAYER, FIELDS[i].name);
  return 0;
}

static void store_free(ogr_store *s) {
  if (s->ds) GDALClose(s->ds);
  if (s->srs) OSRDestroySpatialReference(s->srs);
  free(s->path);
  free(s->job);
  free(s->model);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static int ogr_open(const swath_features_cfg *cfg, void **state) {
  *state = NULL;
  int r = check_path(cfg->path);
  if (r || cfg->check) return r;
  ogr_store *s = calloc(1, sizeof *s);
  if (!s) return swath_error_set(SWATH_ENOMEM, "out of memory");
  pthread_mutex_init(&s->mu, NULL);
  s->path = strdup(cfg->path);
  s->job = strdup(cfg->job ? cfg->job : "");
  s->model = strdup(cfg->model ? cfg->model : "");
  s->srs = OSRNewSpatialReference(NULL);
  OSRSetAxisMappingStrategy(s->srs, OAMS_TRADITIONAL_GIS_ORDER);
  if (!s->path || !s->job || !s->model || OSRSetFromUserInput(s->srs, cfg->crs) != OGRERR_NONE) {
    store_free(s);
    return swath_error_set(SWATH_EINVAL, "features store: bad CRS '%s'", cfg->crs);
  }
  if (is_pg(cfg->path) || access(cfg->path, F_OK) == 0) {
    s->ds = GDALOpenEx(cfg->path, GDAL_OF_VECTOR | GDAL_OF_UPDATE, NULL, NULL, NULL);
  } else {
    GDALDriverH drv = GDALGetDriverByName("GPKG");
    s->ds = drv ? GDALCreate(drv, cfg->path, 0, 0, 0, GDT_Unknown, NULL) : NULL;
  }
  if (!s->ds) {
    r = swath_error_set(SWATH_EINVAL, "features store '%s': cannot open: %s", cfg->path,
                        CPLGetLastErrorMsg());
    store_free(s);
    return r;
  }
  s->layer = GDALDatasetGetLayerByName(s->ds, SWATH_FEATURES_LAYER);
  r = s->layer ? check_layer(s) : make_layer(s);
  if (r) {
    store_free(s);
    return r;
  }
  *state = s;
  return 0;
}

/* DELETE of the task's features in the tiles it makes. */
static char *delete_sql(swath_tile task, int m, const unsigned char *made) {
  size_t cap = 256 + (size_t)m * m * 48;
  char *sql = malloc(cap);
  if (!sql) return NULL;
  int n = snprintf(sql, cap, "DELETE FROM " SWATH_FEATURES_LAYER " WHERE task = '%d/%lld/%lld'",
                   task.z, (long long)task.x, (long long)task.y);
  if (made) {
    n += snprintf(sql + n, cap - n, " AND (1 = 0");
    for (int i = 0; i < m * m; i++)
      if (made[i])
        n += snprintf(sql + n, cap - n, " OR (x = %lld AND y = %lld)",
                      (long long)(task.x * m + i % m), (long long)(task.y * m + i / m));
    snprintf(sql + n, cap - n, ")");
  }
  return sql;
}

static int add_feature(ogr_store *s, swath_tile task, const swath_feature_rec *f) {
  OGRGeometryH g = NULL;
  char *wkt = f->wkt;
  if (OGR_G_CreateFromWkt(&wkt, s->srs, &g) != OGRERR_NONE || !g)
    return swath_error_set(SWATH_EINVAL, "a feature's geometry is not valid WKT: %.80s", f->wkt);
  OGRFeatureH ft = OGR_F_Create(OGR_L_GetLayerDefn(s->layer));
  OGR_F_SetGeometryDirectly(ft, g);
  char tk[96];
  snprintf(tk, sizeof tk, "%d/%lld/%lld", task.z, (long long)task.x, (long long)task.y);
  if (f->cls) OGR_F_SetFieldString(ft, F_CLASS, f->cls);
  OGR_F_SetFieldDouble(ft, F_SCORE, f->score);
  OGR_F_SetFieldString(ft, F_MODEL, s->model);
  OGR_F_SetFieldString(ft, F_JOB, s->job);
  OGR_F_SetFieldInteger(ft, F_Z, f->tile.z);
  OGR_F_SetFieldInteger64(ft, F_X, f->tile.x);
  OGR_F_SetFieldInteger64(ft, F_Y, f->tile.y);
  OGR_F_SetFieldString(ft, F_TASK, tk);
  if (f->has_value) OGR_F_SetFieldDouble(ft, F_VALUE, f->value);
  OGRErr e = OGR_L_CreateFeature(s->layer, ft);
  OGR_F_Destroy(ft);
  if (e != OGRERR_NONE)
    return swath_error_set(SWATH_EIO, "features store '%s': cannot write a feature: %s", s->path,
                           CPLGetLastErrorMsg());
  return 0;
}

static int exec_sql(ogr_store *s, const char *sql) {
  CPLErrorReset();
  OGRLayerH r = GDALDatasetExecuteSQL(s->ds, sql, NULL, NULL);
  if (r) GDALDatasetReleaseResultSet(s->ds, r);
  if (CPLGetLastErrorType() >= CE_Failure)
    return swath_error_set(SWATH_EIO, "features store '%s': %s", s->path, CPLGetLastErrorMsg());
  return 0;
}

static int ogr_write_task(void *state, swath_tile task, int m, const unsigned char *made,
                          const swath_feature_rec *f, int n) {
  ogr_store *s = state;
  char *sql = delete_sql(task, m, made);
  if (!sql) return swath_error_set(SWATH_ENOMEM, "out of memory");
  pthread_mutex_lock(&s->mu);
  int r = 0;
  if (GDALDatasetStartTransaction(s->ds, FALSE) != OGRERR_NONE)
    r = swath_error_set(SWATH_EIO, "features store '%s': cannot start a transaction: %s", s->path,
                        CPLGetLastErrorMsg());
  if (!r) r = exec_sql(s, sql);
  for (int i = 0; !r && i < n; i++)
    r = add_feature(s, task, &f[i]);
  if (!r && GDALDatasetCommitTransaction(s->ds) != OGRERR_NONE)
    r = swath_error_set(SWATH_EIO, "features store '%s': commit failed: %s", s->path,
                        CPLGetLastErrorMsg());
  else if (r)
    GDALDatasetRollbackTransaction(s->ds);
  pthread_mutex_unlock(&s->mu);
  free(sql);
  return r;
}

static int ogr_clear(void *state) {
  ogr_store *s = state;
  pthread_mutex_lock(&s->mu);
  int r = exec_sql(s, "DELETE FROM " SWATH_FEATURES_LAYER);
  pthread_mutex_unlock(&s->mu);
  return r;
}

static int ogr_count(void *state, int64_t *n) {
  ogr_store *s = state;
  pthread_mutex_lock(&s->mu);
  *n = OGR_L_GetFeatureCount(s->layer, TRUE);
  pthread_mutex_unlock(&s->mu);
  return 0;
}

static void ogr_close(void *state) {
  if (state) store_free(state);
}

const swath_features_store_vtable swath_features_ogr = {
    .name = "ogr",
    .abi_version = SWATH_FEATURES_ABI,
    .open = ogr_open,
    .write_task = ogr_write_task,
    .clear = ogr_clear,
    .count = ogr_count,
    .close = ogr_close,
};
