/* results_submit.c: where a posted vector job (detect, contours) puts its
 * features (results.h). Workers on many machines cannot share a
 * GeoPackage, so a queued vector job writes into PostGIS; a posted job may
 * not name a PG: connection itself (exec_request.h refuses every GDAL
 * prefix), so the service gives it one: `swath serve --features-db`, a
 * schema of its own per job key and output folder (swath_f_<16 hex>): two
 * posted jobs never mix their features, and posting the same job again
 * writes into the same store, as `swath run` of the same job file would.
 *
 * Invariant: only a job the queue refuses as posted is looked at again,
 * so a raster job costs nothing here and keeps the text `swath submit` of
 * the same job file would have (same job, same key). */
#include <gdal.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hash.h"
#include "engine/job.h"
#include "engine/run_task.h"
#include "server/results.h"

/* "PG:" and the conninfo as key='value' pairs (a postgresql:// URI too),
 * then `extra`; malloc'd, or NULL for a conninfo libpq cannot parse. */
static char *gdal_pg(const char *db, const char *extra) {
  char *err = NULL;
  PQconninfoOption *opts = PQconninfoParse(db, &err);
  if (!opts) {
    if (err) PQfreemem(err);
    return NULL;
  }
  size_t cap = 64 + strlen(extra), n;
  for (PQconninfoOption *o = opts; o->keyword; o++)
    if (o->val) cap += strlen(o->keyword) + 2 * strlen(o->val) + 5;
  char *s = malloc(cap);
  if (s) {
    n = (size_t)snprintf(s, cap, "PG:");
    for (PQconninfoOption *o = opts; o->keyword; o++) {
      if (!o->val) continue;
      n += (size_t)snprintf(s + n, cap - n, "%s='", o->keyword);
      for (const char *v = o->val; *v; v++) {
        if (*v == '\'' || *v == '\\') s[n++] = '\\';
        s[n++] = *v;
      }
      n += (size_t)snprintf(s + n, cap - n, "' ");
    }
    snprintf(s + n, cap - n, "%s", extra);
  }
  PQconninfoFree(opts);
  return s;
}

/* Run `sql` on the features database; SWATH_EINVAL naming --features-db. */
static int exec_sql(const char *db, const char *sql, const char *why) {
  char *pg = gdal_pg(db, "");
  if (!pg)
    return swath_error_set(SWATH_EINVAL, "--features-db: '%s' is not a PostgreSQL conninfo", db);
  CPLErrorReset();
  GDALDatasetH ds = GDALOpenEx(pg, GDAL_OF_VECTOR | GDAL_OF_UPDATE, NULL, NULL, NULL);
  free(pg);
  if (!ds)
    return swath_error_set(SWATH_EINVAL, "--features-db: cannot connect: %s", CPLGetLastErrorMsg());
  CPLErrorReset();
  OGRLayerH r = GDALDatasetExecuteSQL(ds, sql, NULL, NULL);
  int failed = CPLGetLastErrorType() >= CE_Failure;
  char msg[512];
  snprintf(msg, sizeof msg, "%s", CPLGetLastErrorMsg());
  if (r) GDALDatasetReleaseResultSet(ds, r);
  GDALClose(ds);
  if (failed) return swath_error_set(SWATH_EINVAL, "--features-db: %s: %s", why, msg);
  return 0;
}

int swath__features_db_check(const char *db) {
  GDALAllRegister();
  return exec_sql(db, "SELECT postgis_version()", "no PostGIS there");
}

/* The job text with output.features set to `store` (malloc'd), or NULL
 * when the text has an output.features already or no output object. */
static char *with_store(const char *text, const char *store, char *out_path, size_t n) {
  json_t *doc = json_loads(text, 0, NULL), *o = json_object_get(doc, "output");
  char *s = NULL;
  if (json_is_object(o) && !json_object_get(o, "features")) {
    const char *op = json_string_value(json_object_get(o, "path"));
    snprintf(out_path, n, "%s", op ? op : "");
    json_object_set_new(o, "features", json_string(store));
    s = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
  }
  json_decref(doc);
  return s;
}

/* 1 if the job (text with a PostGIS store put in) runs a vector process;
 * its key into key. */
static int is_vector(const char *path, const char *text, char key[17]) {
  swath_job *job = NULL;
  swath_task_runner *tr = NULL;
  int v = swath_job_load_text(path, text, &job) == 0 && swath_task_runner_check(job, 1, &tr) == 0 &&
          swath_task_runner_vector(tr);
  if (v) swath_job_key(job, key);
  swath_task_runner_close(tr);
  swath_job_free(job);
  return v;
}

int swath__features_db_job(const char *db, const char *path, char **text, int rc) {
  char saved[1024], out_path[4096], key[17];
  snprintf(saved, sizeof saved, "%s", swath_error_message());
  /* any PG: store lets the checks go on to the process (nothing connects) */
  char *probe = with_store(*text, "PG:dbname=swath", out_path, sizeof out_path);
  int vector = probe && is_vector(path, probe, key);
  free(probe);
  if (!vector) return swath_error_set(rc, "%s", saved);
  if (!db)
    return swath_error_set(SWATH_EINVAL,
                           "this process finds features, which a posted job writes into PostGIS: "
                           "start swath serve with --features-db CONNINFO (or post a job to a "
                           "server that has it)");
  uint64_t h = swath_fnv1a(swath_fnv1a_str(key), out_path, strlen(out_path));
  char schema[40], sql[96], extra[64];
  snprintf(schema, sizeof schema, "swath_f_%016llx", (unsigned long long)h);
  snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", schema);
  snprintf(extra, sizeof extra, "active_schema=%s", schema);
  int r = exec_sql(db, sql, "cannot create the job's schema");
  char *store = r ? NULL : gdal_pg(db, extra);
  char *t = store ? with_store(*text, store, out_path, sizeof out_path) : NULL;
  free(store);
  if (r) return r;
  if (!t) return swath_error_set(SWATH_ENOMEM, "out of memory");
  free(*text);
  *text = t;
  return 1;
}
