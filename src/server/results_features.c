/* results_features.c: a job's features store as an OGC API - Features
 * dataset rooted at /jobs/{id}/features (results.h): landing page,
 * conformance (core, geojson), one collection `detections` and its items
 * as GeoJSON in lon/lat.
 *
 * Invariants: the features are read only through io/features_read.h, the
 * reader `swath export` uses, so a query here (threshold, class, bbox)
 * keeps exactly the features `swath export --threshold --class --bounds`
 * keeps (bbox: the feature's centre inside, as --bounds). Items are the
 * store's features in its own order, paged by offset: pages of one query
 * over a finished job cover every feature exactly once. A file store is
 * served only under the outputs root; a PG: store is the one the job text
 * names. Each request opens the store itself (OGR handles are not shared
 * between threads). */
#include <cpl_conv.h>
#include <gdal.h>
#include <libgen.h>
#include <limits.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"
#include "engine/job.h"
#include "engine/job_path.h"
#include "engine/queue.h"
#include "io/features_read.h"
#include "server/processes.h"
#include "server/results.h"

#define COLLECTION "detections"
#define GEOJSON "application/geo+json"
#define CONF "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"

int swath__job_features_store(const swath_qjob *j, char **out) {
  *out = NULL;
  swath_cfg *root = NULL;
  int rc = j->yaml ? swath_cfg_parse_string(j->yaml, j->path ? j->path : "job", &root) : 0;
  const swath_cfg *o =
      !rc && root && root->type == SWATH_CFG_MAP ? swath_cfg_get(root, "output") : NULL;
  const swath_cfg *v = o && o->type == SWATH_CFG_MAP ? swath_cfg_get(o, "features") : NULL;
  const char *p;
  if (v && !(rc = swath_cfg_string(v, "output.features", &p))) {
    char *copy = strdup(j->path ? j->path : ".");
    rc = copy ? swath_job_gdal_path(dirname(copy), p, v, "output.features", out) : SWATH_ENOMEM;
    free(copy);
  } else if (!rc && j->output) {
    size_t n = strlen(j->output) + 20;
    if ((*out = malloc(n))) snprintf(*out, n, "%s/features.gpkg", j->output);
    rc = *out ? 0 : SWATH_ENOMEM;
  }
  swath_cfg_free(root);
  return rc;
}

/* The job's store, opened: 1; or 0 with the answer given (404: no job, no
 * store, a store outside the outputs root or not written yet). */
static int open_store(swath_processes *s, const swath_http_request *rq, swath_http_response *rs,
                      swath_qjob *j, swath_features **f) {
  *f = NULL;
  if (!swath__processes_job(s, rq, rs, j)) return 0;
  char *store = NULL, real[PATH_MAX];
  int rc = swath__job_features_store(j, &store);
  const char *root = swath__processes_outputs(s);
  size_t n = strlen(root);
  if (!rc && store && strncmp(store, "PG:", 3) != 0 &&
      !(realpath(store, real) && !strncmp(real, root, n) && real[n] == '/')) {
    swath_http_problem(rs, 404, "about:blank", "Not Found",
                       "job %lld has no features store under the service's outputs root (not a "
                       "detection job, or nothing written yet)",
                       (long long)j->id);
  } else if (!rc && store && !(rc = swath_features_open(store, f))) {
    free(store);
    return 1;
  } else {
    const char *m = swath_error_message();
    swath_http_problem(rs, 404, "about:blank", "Not Found", "job %lld has no features: %s",
                       (long long)j->id, rc && m && *m ? m : "no features store");
  }
  free(store);
  swath_qjob_clear(j);
  return 0;
}

static json_t *mklink(const char *href, const char *rel, const char *type, const char *title) {
  return json_pack("{s:s, s:s, s:s, s:s}", "href", href, "rel", rel, "type", type, "title", title);
}

static void root_url(const swath_http_request *rq, char *buf, size_t n) {
  snprintf(buf, n, "%s/jobs/%s/features", swath_http_base_url(rq), swath_http_param(rq, 0));
}

void swath__h_features_landing(void *app, const swath_http_request *rq, swath_http_response *rs) {
  swath_qjob j;
  swath_features *f;
  if (!open_store(app, rq, rs, &j, &f)) return;
  char r[1024], u[1200];
  root_url(rq, r, sizeof r);
  json_t *links = json_array();
  json_array_append_new(links, mklink(r, "self", "application/json", "this document"));
  snprintf(u, sizeof u, "%s/api", swath_http_base_url(rq));
  json_array_append_new(links,
                        mklink(u, "service-desc", "application/vnd.oai.openapi+json;version=3.0",
                               "the API definition"));
  snprintf(u, sizeof u, "%s/conformance", r);
  json_array_append_new(links, mklink(u, "conformance", "application/json", "conformance"));
  snprintf(u, sizeof u, "%s/collections", r);
  json_array_append_new(links, mklink(u, "data", "application/json", "the collections"));
  char title[64];
  snprintf(title, sizeof title, "features of job %lld", (long long)j.id);
  swath_http_json(rs, 200,
                  json_pack("{s:s, s:s, s:o}", "title", title, "description",
                            "the objects the job found, one collection 'detections'", "links",
                            links));
  swath_features_close(f);
  swath_qjob_clear(&j);
}

void swath__h_features_conformance(void *app, const swath_http_request *rq,
                                   swath_http_response *rs) {
  (void)app, (void)rq;
  swath_http_json(rs, 200, json_pack("{s:[ss]}", "conformsTo", CONF "core", CONF "geojson"));
}

static OGRCoordinateTransformationH to_lonlat(swath_features *f) {
  OGRSpatialReferenceH ll = OSRNewSpatialReference(NULL);
  OSRSetFromUserInput(ll, "EPSG:4326");
  OSRSetAxisMappingStrategy(ll, OAMS_TRADITIONAL_GIS_ORDER);
  OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(swath_features_srs(f), ll);
  OSRDestroySpatialReference(ll);
  return ct;
}

static json_t *collection(swath_features *f, const char *r) {
  char u[1300];
  json_t *links = json_array();
  snprintf(u, sizeof u, "%s/collections/" COLLECTION, r);
  json_array_append_new(links, mklink(u, "self", "application/json", "this collection"));
  snprintf(u, sizeof u, "%s/collections/" COLLECTION "/items", r);
  json_array_append_new(links, mklink(u, "items", GEOJSON, "the features"));
  json_t *c = json_pack(
      "{s:s, s:s, s:s, s:s, s:[s], s:o}", "id", COLLECTION, "title", "detections", "description",
      "every object of the job, every class (query class= to choose)", "itemType", "feature", "crs",
      "http://www.opengis.net/def/crs/OGC/1.3/CRS84", "links", links);
  OGREnvelope e;
  OGRCoordinateTransformationH ct = to_lonlat(f);
  double w, s, east, n;
  if (ct && OGR_L_GetExtent(swath_features_layer(f), &e, TRUE) == OGRERR_NONE &&
      OCTTransformBounds(ct, e.MinX, e.MinY, e.MaxX, e.MaxY, &w, &s, &east, &n, 21))
    json_object_set_new(c, "extent",
                        json_pack("{s:{s:[[ffff]], s:s}}", "spatial", "bbox", w, s, east, n, "crs",
                                  "http://www.opengis.net/def/crs/OGC/1.3/CRS84"));
  if (ct) OCTDestroyCoordinateTransformation(ct);
  return c;
}

/* The {cid} segment must be the one collection; else a 404 given. */
static int known_collection(const swath_http_request *rq, swath_http_response *rs) {
  if (!strcmp(swath_http_param(rq, 1), COLLECTION)) return 1;
  swath_http_problem(rs, 404, "about:blank", "Not Found",
                     "no collection '%s' (a job's features are the collection '" COLLECTION "')",
                     swath_http_param(rq, 1));
  return 0;
}

void swath__h_features_collections(void *app, const swath_http_request *rq,
                                   swath_http_response *rs) {
  swath_qjob j;
  swath_features *f;
  if (!open_store(app, rq, rs, &j, &f)) return;
  char r[1024], u[1100];
  root_url(rq, r, sizeof r);
  snprintf(u, sizeof u, "%s/collections", r);
  json_t *links = json_array();
  json_array_append_new(links, mklink(u, "self", "application/json", "this document"));
  swath_http_json(rs, 200,
                  json_pack("{s:[o], s:o}", "collections", collection(f, r), "links", links));
  swath_features_close(f);
  swath_qjob_clear(&j);
}

void swath__h_features_collection(void *app, const swath_http_request *rq,
                                  swath_http_response *rs) {
  if (!known_collection(rq, rs)) return;
  swath_qjob j;
  swath_features *f;
  if (!open_store(app, rq, rs, &j, &f)) return;
  char r[1024];
  root_url(rq, r, sizeof r);
  swath_http_json(rs, 200, collection(f, r));
  swath_features_close(f);
  swath_qjob_clear(&j);
}

/* One feature as GeoJSON: id (the store's FID), geometry in lon/lat, every
 * field of the store as a property. */
static json_t *feature_json(OGRFeatureH ft, OGRCoordinateTransformationH ct) {
  json_t *props = json_object(), *geom = json_null();
  OGRFeatureDefnH d = OGR_F_GetDefnRef(ft);
  for (int i = 0; i < OGR_FD_GetFieldCount(d); i++) {
    OGRFieldDefnH fd = OGR_FD_GetFieldDefn(d, i);
    const char *name = OGR_Fld_GetNameRef(fd);
    json_t *v;
    if (!OGR_F_IsFieldSetAndNotNull(ft, i))
      v = json_null();
    else if (OGR_Fld_GetType(fd) == OFTInteger || OGR_Fld_GetType(fd) == OFTInteger64)
      v = json_integer(OGR_F_GetFieldAsInteger64(ft, i));
    else if (OGR_Fld_GetType(fd) == OFTReal)
      v = json_real(OGR_F_GetFieldAsDouble(ft, i));
    else
      v = json_string(OGR_F_GetFieldAsString(ft, i));
    json_object_set_new(props, name, v ? v : json_null());
  }
  OGRGeometryH g = OGR_F_GetGeometryRef(ft);
  if (g) {
    OGRGeometryH c = OGR_G_Clone(g);
    if (c && (!ct || OGR_G_Transform(c, ct) == OGRERR_NONE)) {
      char *s = OGR_G_ExportToJson(c);
      json_t *p = s ? json_loads(s, 0, NULL) : NULL;
      if (p) json_decref(geom), geom = p;
      CPLFree(s);
    }
    if (c) OGR_G_DestroyGeometry(c);
  }
  return json_pack("{s:s, s:I, s:o, s:o}", "type", "Feature", "id", (json_int_t)OGR_F_GetFID(ft),
                   "geometry", geom, "properties", props);
}

/* A query argument percent-encoded into a URL. */
static void add_arg(char *url, size_t n, const char *key, const char *val) {
  if (!val) return;
  size_t o = strlen(url);
  o += (size_t)snprintf(url + o, o < n ? n - o : 0, "&%s=", key);
  for (const unsigned char *p = (const unsigned char *)val; *p && o + 4 < n; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        strchr("-_.~,", *p))
      url[o++] = (char)*p;
    else
      o += (size_t)snprintf(url + o, n - o, "%%%02X", *p);
  }
  url[o < n ? o : n - 1] = '\0';
}

static int query_ll(const char *k, const char *s, long long lo, long long hi, long long *v) {
  if (!s) return 0;
  char *end;
  long long x = strtoll(s, &end, 10);
  if (!*s || *end || x < lo || x > hi)
    return swath_error_set(SWATH_EINVAL, "%s: '%s' is not a whole number from %lld to %lld", k, s,
                           lo, hi);
  *v = x;
  return 0;
}

/* The items query: limit, offset and the reader's query; SWATH_EINVAL
 * naming a bad or unknown argument. */
static int items_query(const swath_http_request *rq, long long *limit, long long *offset,
                       swath_features_query *q) {
  const char *const *keys, *const *vals;
  size_t n = swath_http_query_all(rq, &keys, &vals);
  for (size_t i = 0; i < n; i++) {
    static const char *const known[] = {"limit", "offset", "bbox", "threshold", "class", "f", NULL};
    int ok = 0;
    for (int k = 0; known[k]; k++)
      ok |= !strcmp(keys[i], known[k]);
    if (!ok)
      return swath_error_set(SWATH_EINVAL,
                             "%s: unknown query parameter (limit, offset, bbox, threshold, class)",
                             keys[i]);
  }
  int rc = query_ll("limit", swath_http_query(rq, "limit"), 1, 10000, limit);
  if (!rc) rc = query_ll("offset", swath_http_query(rq, "offset"), 0, LLONG_MAX / 2, offset);
  const char *t = swath_http_query(rq, "threshold"), *b = swath_http_query(rq, "bbox"),
             *c = swath_http_query(rq, "class"), *f = swath_http_query(rq, "f");
  if (!rc && t && !(rc = swath_parse_threshold(t, "threshold", &q->threshold)))
    q->has_threshold = 1;
  if (!rc && b) {
    swath_bounds bb;
    if (!(rc = swath_parse_bounds(b, "bbox", &bb))) {
      q->has_bounds = 1;
      q->bounds[0] = bb.minx, q->bounds[1] = bb.miny, q->bounds[2] = bb.maxx,
      q->bounds[3] = bb.maxy;
    }
  }
  if (!rc && c) {
    if (!*c) rc = swath_error_set(SWATH_EINVAL, "class: expected class names separated by commas");
    q->classes = c;
  }
  if (!rc && f && strcmp(f, "json") && strcmp(f, "geojson"))
    rc = swath_error_set(SWATH_EINVAL, "f: '%s': only json (GeoJSON) is served", f);
  return rc;
}

void swath__h_features_items(void *app, const swath_http_request *rq, swath_http_response *rs) {
  long long limit = 100, offset = 0;
  swath_features_query q = {0};
  int rc = items_query(rq, &limit, &offset, &q);
  if (rc) {
    swath_http_problem(rs, 400, "about:blank", "Bad Request", "%s", swath_error_message());
    return;
  }
  if (!known_collection(rq, rs)) return;
  swath_qjob j;
  swath_features *f;
  if (!open_store(app, rq, rs, &j, &f)) return;
  if ((rc = swath_features_select(f, &q))) {
    swath_http_fail(rs, rc);
    rs->content_type = "application/json";
  } else {
    OGRCoordinateTransformationH ct = to_lonlat(f);
    json_t *list = json_array();
    long long matched = 0;
    OGRFeatureH ft;
    OGRGeometryH centre;
    while (swath_features_next(f, &ft, &centre) == 1) {
      if (matched >= offset && matched < offset + limit)
        json_array_append_new(list, feature_json(ft, ct));
      matched++;
      OGR_F_Destroy(ft);
    }
    if (ct) OCTDestroyCoordinateTransformation(ct);
    char r[1024], u[4096];
    root_url(rq, r, sizeof r);
    json_t *links = json_array();
    for (int next = 0; next < 2; next++) {
      if (next && offset + limit >= matched) break;
      snprintf(u, sizeof u, "%s/collections/" COLLECTION "/items?limit=%lld&offset=%lld", r, limit,
               next ? offset + limit : offset);
      add_arg(u, sizeof u, "bbox", swath_http_query(rq, "bbox"));
      add_arg(u, sizeof u, "threshold", swath_http_query(rq, "threshold"));
      add_arg(u, sizeof u, "class", swath_http_query(rq, "class"));
      json_array_append_new(
          links, mklink(u, next ? "next" : "self", GEOJSON, next ? "the next page" : "this page"));
    }
    snprintf(u, sizeof u, "%s/collections/" COLLECTION, r);
    json_array_append_new(links, mklink(u, "collection", "application/json", "the collection"));
    json_t *doc = json_pack("{s:s, s:o, s:I, s:I, s:o}", "type", "FeatureCollection", "features",
                            list, "numberMatched", (json_int_t)matched, "numberReturned",
                            (json_int_t)json_array_size(list), "links", links);
    swath_http_json(rs, 200, doc);
    rs->content_type = GEOJSON;
  }
  swath_features_close(f);
  swath_qjob_clear(&j);
}

void swath__h_features_item(void *app, const swath_http_request *rq, swath_http_response *rs) {
  if (!known_collection(rq, rs)) return;
  long long fid = 0;
  if (query_ll("featureId", swath_http_param(rq, 2), 0, LLONG_MAX, &fid)) {
    swath_http_problem(rs, 404, "about:blank", "Not Found", "no feature '%s'",
                       swath_http_param(rq, 2));
    return;
  }
  swath_qjob j;
  swath_features *f;
  if (!open_store(app, rq, rs, &j, &f)) return;
  OGRFeatureH ft = OGR_L_GetFeature(swath_features_layer(f), (GIntBig)fid);
  if (!ft) {
    swath_http_problem(rs, 404, "about:blank", "Not Found", "job %lld has no feature %lld",
                       (long long)j.id, fid);
  } else {
    OGRCoordinateTransformationH ct = to_lonlat(f);
    json_t *doc = feature_json(ft, ct);
    if (ct) OCTDestroyCoordinateTransformation(ct);
    char r[1024], u[1200];
    root_url(rq, r, sizeof r);
    snprintf(u, sizeof u, "%s/collections/" COLLECTION "/items/%lld", r, fid);
    json_t *links = json_array();
    json_array_append_new(links, mklink(u, "self", GEOJSON, "this feature"));
    snprintf(u, sizeof u, "%s/collections/" COLLECTION, r);
    json_array_append_new(links, mklink(u, "collection", "application/json", "the collection"));
    json_object_set_new(doc, "links", links);
    swath_http_json(rs, 200, doc);
    rs->content_type = GEOJSON;
    OGR_F_Destroy(ft);
  }
  swath_features_close(f);
  swath_qjob_clear(&j);
}
