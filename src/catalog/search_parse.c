/* search_parse.c: a search's parameters, checked once for both front ends.
 * CLI flags and HTTP GET parameters become one search body of the STAC
 * POST /search shape (swath_search_body_from_params), which
 * swath_search_parse turns into a swath_search: bbox and intersects as up
 * to MAX_PARTS boxes that never cross the antimeridian (plus the GEOS
 * geometry when the footprint is not a box), datetime bounds in whole
 * milliseconds (rounded inwards), the sort keys, the filter and query as
 * SQL with bound values (cql2.c), and the paging token read back and
 * checked against the sort. Bad input of any kind: SWATH_EINVAL naming the
 * parameter. */
#include <cpl_string.h>
#include <math.h>
#include <ogr_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/search_int.h"
#include "core/error.h"
#include "core/gdal_log.h"

/* ---- GET parameters -> search body -------------------------------------- */

static int parse_number(const char *s, double *v) {
  char *end;
  while (*s == ' ')
    s++;
  *v = strtod(s, &end);
  while (*end == ' ')
    end++;
  return end != s && *end == '\0' && isfinite(*v);
}

static json_t *split_list(const char *s) {
  json_t *a = json_array();
  char *dup = strdup(s), *save = NULL;
  for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    while (*t == ' ')
      t++;
    if (*t) json_array_append_new(a, json_string(t));
  }
  free(dup);
  return a;
}

static int json_param(const char *key, const char *val, json_t **out) {
  json_error_t err;
  *out = json_loads(val, JSON_DECODE_ANY, &err);
  if (!*out)
    return swath_error_set(SWATH_EINVAL, "%s: not valid JSON: %s (column %d)", key, err.text,
                           err.column);
  return 0;
}

int swath_search_body_from_params(const char *const *keys, const char *const *vals, size_t n,
                                  int ignore_unknown, json_t **out) {
  json_t *b = json_object();
  int rc = 0;
  *out = NULL;
  for (size_t i = 0; i < n && !rc; i++) {
    const char *k = keys[i], *v = vals[i] ? vals[i] : "";
    json_t *x = NULL;
    if (!strcmp(k, "bbox")) {
      x = json_array();
      char *dup = strdup(v), *p = dup;
      for (;;) {
        char *c = strchr(p, ',');
        if (c) *c = '\0';
        double d;
        if (!parse_number(p, &d)) {
          rc = swath_error_set(SWATH_EINVAL,
                               "bbox: '%s' is not a number (expected "
                               "west,south,east,north)",
                               p);
          break;
        }
        json_array_append_new(x, json_real(d));
        if (!c) break;
        p = c + 1;
      }
      free(dup);
    } else if (!strcmp(k, "ids") || !strcmp(k, "collections")) {
      x = split_list(v);
    } else if (!strcmp(k, "limit")) {
      char *end;
      long long l = strtoll(v, &end, 10);
      if (end == v || *end)
        rc = swath_error_set(SWATH_EINVAL, "limit: '%s' is not a whole number", v);
      else
        x = json_integer(l);
    } else if (!strcmp(k, "sortby")) {
      x = json_array();
      json_t *parts = split_list(v);
      size_t j;
      json_t *p;
      json_array_foreach(parts, j, p) {
        const char *f = json_string_value(p);
        /* a '+' in a query string arrives as a space, trimmed by split_list */
        const char *dir = *f == '-' ? "desc" : "asc";
        if (*f == '-' || *f == '+') f++;
        json_array_append_new(x, json_pack("{s:s, s:s}", "field", f, "direction", dir));
      }
      json_decref(parts);
    } else if (!strcmp(k, "intersects") || !strcmp(k, "filter") || !strcmp(k, "query")) {
      rc = json_param(k, v, &x);
    } else if (!strcmp(k, "datetime") || !strcmp(k, "token") || !strcmp(k, "filter-lang") ||
               !strcmp(k, "filter-crs")) {
      x = json_string(v);
    } else if (!strcmp(k, "fields")) {
      continue; /* the fields extension is not implemented: full items */
    } else if (!ignore_unknown) {
      rc = swath_error_set(SWATH_EINVAL, "search: unknown parameter '%s'", k);
    } else {
      continue;
    }
    if (!rc && x) json_object_set(b, k, x);
    json_decref(x);
  }
  if (rc) {
    json_decref(b);
    return rc;
  }
  *out = b;
  return 0;
}

/* ---- parsing and validation --------------------------------------------- */

static int parse_bbox(swath_search *q, const json_t *v) {
  size_t n = json_array_size(v);
  if (!json_is_array(v) || (n != 4 && n != 6))
    return swath_error_set(SWATH_EINVAL,
                           "bbox: expected 4 numbers (west,south,east,north) or 6 "
                           "(with heights), got %zu",
                           json_is_array(v) ? n : 0);
  double d[6];
  for (size_t k = 0; k < n; k++) {
    if (!json_is_number(json_array_get(v, k)))
      return swath_error_set(SWATH_EINVAL, "bbox: value %zu is not a number", k + 1);
    d[k] = json_number_value(json_array_get(v, k));
  }
  size_t h = n / 2;
  double b[4] = {d[0], d[1], d[h], d[h + 1]};
  if (b[1] < -90 || b[3] > 90 || b[1] > b[3])
    return swath_error_set(SWATH_EINVAL,
                           "bbox: south %g and north %g must be in -90..90, south "
                           "first",
                           b[1], b[3]);
  if (b[0] < -180 || b[0] > 180 || b[2] < -180 || b[2] > 180)
    return swath_error_set(SWATH_EINVAL,
                           "bbox: west %g and east %g must be in -180..180 (west > "
                           "east crosses the antimeridian)",
                           b[0], b[2]);
  memcpy(q->bbox, b, sizeof b);
  q->has_bbox = 1;
  double parts[2][4];
  q->nparts = swath__split_box(b, parts);
  memcpy(q->parts, parts, q->nparts * sizeof parts[0]);
  q->is_box = 1; /* geom and prep: built by swath_hit() when an item needs them */
  return 0;
}

static int parse_intersects(swath_search *q, const json_t *v) {
  if (!json_is_object(v))
    return swath_error_set(SWATH_EINVAL, "intersects: expected a GeoJSON geometry object");
  char *text = json_dumps(v, JSON_COMPACT);
  /* GDAL's messages show at -v; its reason for an invalid geometry goes
   * into the error (OGR_G_IsValid warns where the rings cross) */
  swath_gdal_reset();
  CPLPushErrorHandler(swath_gdal_handler);
  OGRGeometryH g = text ? OGR_G_CreateGeometryFromJson(text) : NULL;
  CPLPopErrorHandler();
  free(text);
  const char *type = json_string_value(json_object_get(v, "type"));
  if (!g || OGR_G_IsEmpty(g)) {
    if (g) OGR_G_DestroyGeometry(g);
    return swath_error_set(SWATH_EINVAL, "intersects: not a valid GeoJSON geometry (type '%s')",
                           type ? type : "missing");
  }
  OGR_G_FlattenTo2D(g);
  OGREnvelope e;
  OGR_G_GetEnvelope(g, &e);
  if (e.MinX < -180 || e.MaxX > 180 || e.MinY < -90 || e.MaxY > 90) {
    OGR_G_DestroyGeometry(g);
    return swath_error_set(SWATH_EINVAL, "intersects: coordinates must be longitude/latitude "
                                         "(EPSG:4326)");
  }
  swath_gdal_reset();
  CPLPushErrorHandler(swath_gdal_handler);
  int valid = OGR_G_IsValid(g);
  CPLPopErrorHandler();
  if (!valid) {
    OGR_G_DestroyGeometry(g);
    return swath_error_set(SWATH_EINVAL, "intersects: the %s is not valid (%s)",
                           type ? type : "geometry",
                           swath_gdal_why("self-intersecting or badly closed rings?"));
  }
  q->geom = g;
  q->has_geom = 1;
  /* One R*Tree box per part (up to MAX_PARTS), so a geometry split at the
   * antimeridian does not become a box around the whole world. */
  int n = OGR_G_GetGeometryCount(g);
  OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
  if ((t == wkbMultiPolygon || t == wkbMultiLineString || t == wkbMultiPoint ||
       t == wkbGeometryCollection) &&
      n > 1 && n <= MAX_PARTS) {
    for (int k = 0; k < n; k++) {
      OGR_G_GetEnvelope(OGR_G_GetGeometryRef(g, k), &e);
      double b[4] = {e.MinX, e.MinY, e.MaxX, e.MaxY};
      memcpy(q->parts[k], b, sizeof b);
    }
    q->nparts = n;
  } else {
    double b[4] = {e.MinX, e.MinY, e.MaxX, e.MaxY};
    memcpy(q->parts[0], b, sizeof b);
    q->nparts = 1;
  }
  return 0;
}

/* Items hold milliseconds: a bound with a part below the millisecond is
 * rounded inwards (a start up, an end down), so that it never takes in an
 * item just outside it. An instant between two milliseconds matches only
 * items whose interval holds it. */
static int parse_datetime(swath_search *q, const char *s) {
  const char *slash = strchr(s, '/');
  int32_t sub0 = 0, sub1 = 0;
  int rc;
  if (!slash) {
    /* an instant; a bare date is that whole day */
    if ((rc = swath_time_parse_ns(s, 0, "datetime", &q->t0, &sub0)) ||
        (rc = swath_time_parse_ns(s, 1, "datetime", &q->t1, &sub1)))
      return rc;
    q->has_t0 = q->has_t1 = 1;
    q->t0 += sub0 > 0;
    return 0;
  }
  if (strchr(slash + 1, '/'))
    return swath_error_set(SWATH_EINVAL, "datetime: '%s' has more than one '/'", s);
  char a[64], b[64];
  size_t la = (size_t)(slash - s);
  if (la >= sizeof a || strlen(slash + 1) >= sizeof b)
    return swath_error_set(SWATH_EINVAL, "datetime: '%s' is too long", s);
  memcpy(a, s, la);
  a[la] = '\0';
  strcpy(b, slash + 1);
  if (*a && strcmp(a, "..")) {
    if ((rc = swath_time_parse_ns(a, 0, "datetime (start)", &q->t0, &sub0))) return rc;
    q->has_t0 = 1;
  }
  if (*b && strcmp(b, "..")) {
    if ((rc = swath_time_parse_ns(b, 1, "datetime (end)", &q->t1, &sub1))) return rc;
    q->has_t1 = 1;
  }
  if (!q->has_t0 && !q->has_t1)
    return swath_error_set(SWATH_EINVAL, "datetime: '%s' is open at both ends", s);
  if (q->has_t0 && q->has_t1 && (q->t0 > q->t1 || (q->t0 == q->t1 && sub0 > sub1)))
    return swath_error_set(SWATH_EINVAL, "datetime: '%s' ends before it starts", s);
  q->t0 += sub0 > 0;
  return 0;
}

static int parse_strings(const json_t *v, const char *what, char **json_out, int *count) {
  if (!json_is_array(v) || json_array_size(v) == 0)
    return swath_error_set(SWATH_EINVAL, "%s: expected a non-empty list of strings", what);
  size_t k;
  json_t *s;
  json_array_foreach(v, k,
                     s) if (!json_is_string(s) ||
                            !*json_string_value(
                                s)) return swath_error_set(SWATH_EINVAL,
                                                           "%s: item %zu is not a non-empty string",
                                                           what, k + 1);
  *json_out = json_dumps(v, JSON_COMPACT);
  if (count) *count = (int)json_array_size(v);
  return *json_out ? 0 : swath_error_set(SWATH_ENOMEM, "search: out of memory");
}

static int parse_sortby(swath_search *q, const json_t *v) {
  if (!json_is_array(v) || json_array_size(v) == 0)
    return swath_error_set(SWATH_EINVAL, "sortby: expected a list of {\"field\", \"direction\"}");
  if (json_array_size(v) > MAX_SORT)
    return swath_error_set(SWATH_EINVAL, "sortby: at most %d fields", MAX_SORT);
  size_t k;
  json_t *s;
  int len = 0;
  json_array_foreach(v, k, s) {
    const char *f = json_string_value(json_object_get(s, "field"));
    const char *d = json_string_value(json_object_get(s, "direction"));
    if (!f) return swath_error_set(SWATH_EINVAL, "sortby: entry %zu has no field", k + 1);
    if (d && strcmp(d, "asc") && strcmp(d, "desc"))
      return swath_error_set(SWATH_EINVAL, "sortby: direction '%s' is not asc or desc", d);
    struct sortkey *key = &q->sort[q->nsort];
    key->col = swath__property_sql(f, &key->type, &key->name);
    if (!key->col || !strcmp(key->name, "color:method") || !strcmp(key->name, "color:source"))
      return swath_error_set(SWATH_EINVAL,
                             "sortby: cannot sort on '%s' (sortable: datetime, start_datetime, "
                             "end_datetime, eo:cloud_cover, color:red, color:green, color:blue, "
                             "color:brightness, color:pixels, id, collection)",
                             f);
    key->desc = d && !strcmp(d, "desc");
    len += snprintf(q->sortsig + len, sizeof q->sortsig - len, "%s%c%s", q->nsort ? "," : "",
                    key->desc ? '-' : '+', key->name);
    q->nsort++;
  }
  return 0;
}

static int b64url_decode(const char *s, char **out) {
  size_t n = strlen(s);
  char *b = malloc(n + 4);
  if (!b) return SWATH_ENOMEM;
  for (size_t k = 0; k < n; k++) {
    char c = s[k];
    if (c == '-') c = '+';
    if (c == '_') c = '/';
    int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '+' || c == '/';
    if (!ok) {
      free(b);
      return SWATH_EINVAL;
    }
    b[k] = c;
  }
  while (n % 4)
    b[n++] = '=';
  b[n] = '\0';
  int len = CPLBase64DecodeInPlace((GByte *)b);
  b[len] = '\0';
  *out = b;
  return 0;
}

static int parse_token(swath_search *q, const char *s) {
  char *raw = NULL;
  json_t *t = NULL;
  if (*s && b64url_decode(s, &raw) == 0) t = json_loads(raw, 0, NULL);
  free(raw);
  size_t n = json_array_size(t);
  int ok = json_is_array(t) && n == (size_t)q->nsort + 2 && json_is_string(json_array_get(t, 0)) &&
           json_is_integer(json_array_get(t, n - 1));
  if (ok && strcmp(json_string_value(json_array_get(t, 0)), q->sortsig) != 0) {
    /* (the message reads the token: set it before the token is freed) */
    int rc = swath_error_set(SWATH_EINVAL, "token: it belongs to another sortby '%s', not '%s'",
                             json_string_value(json_array_get(t, 0)), q->sortsig);
    json_decref(t);
    return rc;
  }
  for (int k = 0; ok && k < q->nsort; k++) {
    json_t *v = json_array_get(t, k + 1);
    ok = q->sort[k].type == 't'   ? json_is_string(v)
         : q->sort[k].type == 'd' ? json_is_integer(v)
                                  : json_is_number(v);
  }
  if (!ok) {
    json_decref(t);
    return swath_error_set(SWATH_EINVAL, "token: '%.40s' is not a paging token of this search", s);
  }
  q->token = t;
  return 0;
}

static const char *const KNOWN[] = {"bbox",  "intersects", "datetime", "ids",         "collections",
                                    "limit", "sortby",     "filter",   "filter-lang", "filter-crs",
                                    "query", "token",      "fields",   "conf",        NULL};

int swath_search_parse(const json_t *body, swath_search **out) {
  *out = NULL;
  if (!json_is_object(body))
    return swath_error_set(SWATH_EINVAL, "search: the body must be a JSON object");
  swath_search *q = calloc(1, sizeof *q);
  if (!q) return swath_error_set(SWATH_ENOMEM, "search: out of memory");
  q->body = json_deep_copy(body);
  q->limit = SWATH_SEARCH_DEFAULT_LIMIT;
  int rc = 0;
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)body, key, v) {
    int known = 0;
    for (int k = 0; KNOWN[k]; k++)
      known |= !strcmp(key, KNOWN[k]);
    if (!known) {
      rc = swath_error_set(SWATH_EINVAL, "search: unknown parameter '%s'", key);
      goto done;
    }
  }
  json_t *bbox = json_object_get(body, "bbox"), *isect = json_object_get(body, "intersects");
  if (bbox && isect) {
    rc = swath_error_set(SWATH_EINVAL, "search: bbox and intersects cannot be used together");
    goto done;
  }
  if (bbox && (rc = parse_bbox(q, bbox))) goto done;
  if (isect && (rc = parse_intersects(q, isect))) goto done;
  if (q->geom && !q->is_box && !(q->prep = OGRCreatePreparedGeometry(q->geom))) {
    rc = swath_error_set(SWATH_EIO, "search: cannot prepare the geometry (GDAL built without "
                                    "GEOS?)");
    goto done;
  }
  if ((v = json_object_get(body, "datetime")) && !json_is_null(v)) {
    if (!json_is_string(v)) {
      rc = swath_error_set(SWATH_EINVAL, "datetime: expected a string like "
                                         "2023-06-01T00:00:00Z/2023-06-30T23:59:59Z");
      goto done;
    }
    if ((rc = parse_datetime(q, json_string_value(v)))) goto done;
  }
  if ((v = json_object_get(body, "ids")) && (rc = parse_strings(v, "ids", &q->ids_json, NULL)))
    goto done;
  if ((v = json_object_get(body, "collections")) &&
      (rc = parse_strings(v, "collections", &q->colls_json, &q->ncolls)))
    goto done;
  if ((v = json_object_get(body, "limit"))) {
    if (!json_is_integer(v) || json_integer_value(v) < 1) {
      rc = swath_error_set(SWATH_EINVAL, "limit: expected a whole number >= 1 (at most %d)",
                           SWATH_SEARCH_MAX_LIMIT);
      goto done;
    }
    json_int_t l = json_integer_value(v);
    q->limit = l > SWATH_SEARCH_MAX_LIMIT ? SWATH_SEARCH_MAX_LIMIT : (int)l;
  }
  if ((v = json_object_get(body, "sortby"))) {
    if ((rc = parse_sortby(q, v))) goto done;
  } else {
    json_t *d = json_pack("[{s:s, s:s}]", "field", "datetime", "direction", "desc");
    rc = parse_sortby(q, d);
    json_decref(d);
    if (rc) goto done;
  }
  if ((v = json_object_get(body, "filter-lang")) &&
      (!json_is_string(v) || strcmp(json_string_value(v), "cql2-json") != 0)) {
    rc = swath_error_set(SWATH_EINVAL, "filter-lang: only cql2-json is supported");
    goto done;
  }
  if ((v = json_object_get(body, "filter-crs")) &&
      (!json_is_string(v) ||
       (strcmp(json_string_value(v), "http://www.opengis.net/def/crs/OGC/1.3/CRS84") &&
        strcmp(json_string_value(v), "EPSG:4326")))) {
    rc = swath_error_set(SWATH_EINVAL, "filter-crs: only CRS84 is supported");
    goto done;
  }
  json_t *filter = json_object_get(body, "filter"), *query = json_object_get(body, "query");
  if (filter && !json_is_null(filter)) {
    swath__sql_add(&q->filter, " AND ");
    if ((rc = swath__cql2_sql(filter, "filter", &q->filter))) goto done;
  }
  if (query && !json_is_null(query)) {
    swath__sql_add(&q->filter, " AND ");
    if ((rc = swath__query_ext_sql(query, "query", &q->filter))) goto done;
  }
  if ((v = json_object_get(body, "token")) && !json_is_null(v)) {
    if (!json_is_string(v)) {
      rc = swath_error_set(SWATH_EINVAL, "token: expected a string");
      goto done;
    }
    if ((rc = parse_token(q, json_string_value(v)))) goto done;
  }
done:
  if (rc) {
    swath_search_free(q);
    return rc;
  }
  *out = q;
  return 0;
}

void swath_search_free(swath_search *q) {
  if (!q) return;
  json_decref(q->body);
  if (q->prep) OGRDestroyPreparedGeometry(q->prep);
  if (q->geom) OGR_G_DestroyGeometry(q->geom);
  free(q->ids_json);
  free(q->colls_json);
  free(q->collection);
  swath__sql_clear(&q->filter);
  json_decref(q->token);
  free(q);
}

int swath_search_set_collection(swath_search *q, const char *collection) {
  free(q->collection);
  q->collection = strdup(collection);
  return q->collection ? 0 : swath_error_set(SWATH_ENOMEM, "search: out of memory");
}

const json_t *swath_search_body(const swath_search *q) { return q->body; }
