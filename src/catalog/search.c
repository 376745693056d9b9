/* search.c: STAC item search over the catalog: parameters, validation, SQL,
 * paging, and the ItemCollection.
 *
 * Both front ends (CLI flags, HTTP GET parameters or POST body) become one
 * search body of the STAC POST /search shape, parsed once here; so the CLI
 * and the server answer the same question the same way.
 *
 * How a query runs: a driving set of candidate rows (the ids given, else the
 * R*Tree hits of the bbox/geometry parts, else the datetime index, else all
 * items), then exact tests in SQL: swath_hit() tests footprints exactly (a
 * box against a box, or GEOS prepared-geometry intersects when the query or
 * the item is not a box), datetime intervals, collections, the filter.
 * In a catalog whose footprints are all boxes, a search on boxes, datetime
 * and collections skips the rows: the R*Tree entries decide (swath_entry()
 * on their float32 bounds, the row only when rounding leaves it open) and
 * carry the id, collection and datetime a page is sorted and built from
 * (rtree_narrow). Paging is keyset paging: the token holds the sort key
 * values and the rid of the last item returned, so each page starts
 * strictly after it: no duplicates or gaps however the table grows in
 * between (an item changed between pages may move, as with any live
 * index). */
#include <cpl_string.h>
#include <math.h>
#include <ogr_api.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "core/error.h"
#include "core/log.h"

#define MAX_PARTS 16
#define MAX_SORT 4
#define NARROW_MS (62 * 86400000LL) /* a datetime filter this short is not sliced */
#define NULL_HIGH "1e308"
#define NULL_LOW "-1e308"

struct sortkey {
  const char *col;  /* SQL column */
  const char *name; /* canonical property name */
  char type;        /* n, t, d */
  int desc;
};

struct swath_search {
  json_t *body;
  int has_bbox, has_geom;
  double bbox[4];
  OGRGeometryH geom; /* the query footprint in lon/lat (bbox as polygons too) */
  OGRPreparedGeometryH prep;
  int is_box; /* geom is exactly the parts below: box tests are exact */
  int nparts;
  double parts[MAX_PARTS][4]; /* west, south, east, north; never crossing */
  int has_t0, has_t1;
  int64_t t0, t1;
  char *ids_json, *colls_json; /* JSON arrays for json_each() */
  int ncolls;
  char *collection; /* forced by /collections/{id}/items */
  int limit;
  int nsort;
  struct sortkey sort[MAX_SORT];
  char sortsig[160];
  swath__sql filter; /* filter and query, ANDed; empty when none */
  json_t *token;     /* [sig, keys..., rid] */
};

/* ---- SQL builder -------------------------------------------------------- */

static void sql_reserve(swath__sql *q, size_t more) {
  if (q->oom || q->len + more + 1 <= q->cap) return;
  size_t cap = q->cap ? q->cap : 512;
  while (cap < q->len + more + 1)
    cap *= 2;
  char *s = realloc(q->s, cap);
  if (!s) {
    q->oom = 1;
    return;
  }
  q->s = s;
  q->cap = cap;
}

void swath__sql_add(swath__sql *q, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  sql_reserve(q, (size_t)n);
  if (q->oom) return;
  va_start(ap, fmt);
  vsnprintf(q->s + q->len, q->cap - q->len, fmt, ap);
  va_end(ap);
  q->len += (size_t)n;
}

static swath__sqlval *sql_val(swath__sql *q) {
  if (q->oom) return NULL;
  if (q->nv == q->capv) {
    int cap = q->capv ? 2 * q->capv : 16;
    swath__sqlval *v = realloc(q->v, cap * sizeof *v);
    if (!v) {
      q->oom = 1;
      return NULL;
    }
    q->v = v;
    q->capv = cap;
  }
  swath__sqlval *v = &q->v[q->nv++];
  memset(v, 0, sizeof *v);
  swath__sql_add(q, "?");
  return v;
}

void swath__sql_int(swath__sql *q, int64_t x) {
  swath__sqlval *v = sql_val(q);
  if (v) v->type = SQLITE_INTEGER, v->i = x;
}

void swath__sql_double(swath__sql *q, double x) {
  swath__sqlval *v = sql_val(q);
  if (v) v->type = SQLITE_FLOAT, v->d = x;
}

void swath__sql_text(swath__sql *q, const char *x) {
  swath__sqlval *v = sql_val(q);
  if (!v) return;
  v->type = SQLITE_TEXT;
  if (!(v->t = strdup(x))) q->oom = 1;
}

void swath__sql_ptr(swath__sql *q, void *p) {
  swath__sqlval *v = sql_val(q);
  if (v) v->type = SQLITE_NULL, v->p = p;
}

void swath__sql_append(swath__sql *q, const swath__sql *more) {
  if (!more->len) return;
  /* the text has one "?" per value, in order: copy them in step */
  const char *s = more->s;
  for (int k = 0; k < more->nv; k++) {
    const char *p = strchr(s, '?');
    swath__sql_add(q, "%.*s", (int)(p - s), s);
    const swath__sqlval *v = &more->v[k];
    if (v->type == SQLITE_INTEGER)
      swath__sql_int(q, v->i);
    else if (v->type == SQLITE_FLOAT)
      swath__sql_double(q, v->d);
    else if (v->type == SQLITE_TEXT)
      swath__sql_text(q, v->t);
    else
      swath__sql_ptr(q, v->p);
    s = p + 1;
  }
  swath__sql_add(q, "%s", s);
}

void swath__sql_clear(swath__sql *q) {
  for (int k = 0; k < q->nv; k++)
    free(q->v[k].t);
  free(q->v);
  free(q->s);
  memset(q, 0, sizeof *q);
}

static void sql_log(const swath__sql *q) {
  if (swath_log_get_level() <= SWATH_LOG_DEBUG) {
    swath_debug("sql: %.*s", (int)q->len, q->s);
    for (int k = 0; k < q->nv; k++)
      swath_debug("sql: ?%d = %s%lld %.17g %s", k + 1,
                  q->v[k].type == SQLITE_NULL ? "(pointer) " : "", (long long)q->v[k].i, q->v[k].d,
                  q->v[k].t ? q->v[k].t : "");
  }
}

static void sql_bind(sqlite3_stmt *st, const swath__sql *q) {
  for (int k = 0; k < q->nv; k++) {
    const swath__sqlval *v = &q->v[k];
    if (v->type == SQLITE_INTEGER)
      sqlite3_bind_int64(st, k + 1, v->i);
    else if (v->type == SQLITE_FLOAT)
      sqlite3_bind_double(st, k + 1, v->d);
    else if (v->type == SQLITE_TEXT)
      sqlite3_bind_text(st, k + 1, v->t, -1, SQLITE_TRANSIENT);
    else
      sqlite3_bind_pointer(st, k + 1, v->p, "swath_search", NULL);
  }
}

int swath__sql_prepare(sqlite3 *db, const swath__sql *q, sqlite3_stmt **out) {
  *out = NULL;
  if (q->oom) return swath_error_set(SWATH_ENOMEM, "search: out of memory");
  sql_log(q);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, q->s, (int)q->len, &st, NULL) != SQLITE_OK)
    return swath__sql_error(db, "search");
  sql_bind(st, q);
  *out = st;
  return 0;
}

/* swath__sql_prepare through the connection's statement cache: give the
 * statement back with swath__stmt_put. */
static int sql_prepare_cached(swath_catalog *c, const swath__sql *q, sqlite3_stmt **out) {
  *out = NULL;
  if (q->oom) return swath_error_set(SWATH_ENOMEM, "search: out of memory");
  sql_log(q);
  sqlite3_stmt *st;
  int rc = swath__stmt_get(c, q->s, (int)q->len, "search", &st);
  if (rc) return rc;
  sql_bind(st, q);
  *out = st;
  return 0;
}

/* ---- exact footprint test (SQL function) --------------------------------- */

static int boxes_meet(const double a[4], const double b[4]) {
  return a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1];
}

static OGRGeometryH box_geom(const double b[4]) {
  OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
  OGR_G_AddPoint_2D(ring, b[0], b[1]);
  OGR_G_AddPoint_2D(ring, b[2], b[1]);
  OGR_G_AddPoint_2D(ring, b[2], b[3]);
  OGR_G_AddPoint_2D(ring, b[0], b[3]);
  OGR_G_AddPoint_2D(ring, b[0], b[1]);
  OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
  OGR_G_AddGeometryDirectly(poly, ring);
  return poly;
}

/* A bbox as one box, or two when it crosses the antimeridian. */
static int split_box(const double b[4], double out[2][4]) {
  if (b[0] <= b[2]) {
    memcpy(out[0], b, sizeof out[0]);
    return 1;
  }
  double w[4] = {b[0], b[1], 180.0, b[3]}, e[4] = {-180.0, b[1], b[2], b[3]};
  memcpy(out[0], w, sizeof w);
  memcpy(out[1], e, sizeof e);
  return 2;
}

static OGRGeometryH boxes_geom(double b[][4], int n) {
  if (n == 1) return box_geom(b[0]);
  OGRGeometryH m = OGR_G_CreateGeometry(wkbMultiPolygon);
  for (int k = 0; k < n; k++)
    OGR_G_AddGeometryDirectly(m, box_geom(b[k]));
  return m;
}

/* The search a SQL function of ours was given as its first argument (a
 * pointer bound by swath__sql_ptr), or NULL with the function's error set. */
static const struct swath_search *bound_search(sqlite3_context *ctx, sqlite3_value **argv) {
  const struct swath_search *q = sqlite3_value_pointer(argv[0], "swath_search");
  if (!q) sqlite3_result_error(ctx, "swath: SQL function called without a search bound", -1);
  return q;
}

/* swath_hit(search, geom, minx, miny, maxx, maxy): 1 if the item's footprint
 * meets the query's. */
static void fn_hit(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  const struct swath_search *q = bound_search(ctx, argv);
  if (!q) return;
  double b[4], items[2][4];
  for (int k = 0; k < 4; k++)
    b[k] = sqlite3_value_double(argv[2 + k]);
  int ni = split_box(b, items), meet = 0;
  for (int i = 0; i < ni && !meet; i++)
    for (int p = 0; p < q->nparts && !meet; p++)
      meet = boxes_meet(items[i], q->parts[p]);
  const void *wkb = sqlite3_value_blob(argv[1]);
  int wkb_len = sqlite3_value_bytes(argv[1]);
  if (!meet || (q->is_box && !wkb)) {
    sqlite3_result_int(ctx, meet);
    return;
  }
  if (!q->prep) {
    /* a box query meeting an item that is not a box: GEOS from now on (the
     * search is used by one thread at a time, as its connection is) */
    struct swath_search *w = (struct swath_search *)q;
    if (!w->geom) w->geom = boxes_geom(w->parts, w->nparts);
    if (!w->geom || !(w->prep = OGRCreatePreparedGeometry(w->geom))) {
      sqlite3_result_error(ctx, "search: cannot prepare the geometry (GDAL built without GEOS?)",
                           -1);
      return;
    }
  }
  OGRGeometryH g = NULL;
  if (wkb) {
    if (OGR_G_CreateFromWkb(wkb, NULL, &g, wkb_len) != OGRERR_NONE) g = NULL;
  } else {
    g = boxes_geom(items, ni);
  }
  sqlite3_result_int(ctx, g ? OGRPreparedGeometryIntersects(q->prep, g) != 0 : 0);
  if (g) OGR_G_DestroyGeometry(g);
}

static void fn_entry(sqlite3_context *ctx, int argc, sqlite3_value **argv); /* (below) */

int swath__search_register(sqlite3 *db) {
  if (sqlite3_create_function(db, "swath_hit", 6, SQLITE_UTF8, NULL, fn_hit, NULL, NULL) ||
      sqlite3_create_function(db, "swath_entry", 7, SQLITE_UTF8, NULL, fn_entry, NULL, NULL))
    return swath__sql_error(db, "catalog: registering functions");
  return 0;
}

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
  q->nparts = split_box(b, parts);
  memcpy(q->parts, parts, q->nparts * sizeof parts[0]);
  q->is_box = 1; /* geom and prep: built by swath_hit() when an item needs them */
  return 0;
}

static int parse_intersects(swath_search *q, const json_t *v) {
  if (!json_is_object(v))
    return swath_error_set(SWATH_EINVAL, "intersects: expected a GeoJSON geometry object");
  char *text = json_dumps(v, JSON_COMPACT);
  CPLPushErrorHandler(CPLQuietErrorHandler);
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
  CPLPushErrorHandler(CPLQuietErrorHandler);
  int valid = OGR_G_IsValid(g);
  CPLPopErrorHandler();
  if (!valid) {
    OGR_G_DestroyGeometry(g);
    return swath_error_set(SWATH_EINVAL,
                           "intersects: the %s is not valid (self-intersecting or "
                           "badly closed rings?)",
                           type ? type : "geometry");
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

static char *b64url_encode(const char *s) {
  char *e = CPLBase64Encode((int)strlen(s), (const GByte *)s);
  if (!e) return NULL;
  char *out = strdup(e);
  CPLFree(e);
  if (!out) return NULL;
  size_t w = 0;
  for (size_t k = 0; out[k]; k++) {
    if (out[k] == '=') continue;
    out[w++] = out[k] == '+' ? '-' : out[k] == '/' ? '_' : out[k];
  }
  out[w] = '\0';
  return out;
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
    int rc = swath_error_set(SWATH_EINVAL, "token: it belongs to another sortby (%s), not %s",
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

/* ---- SQL ------------------------------------------------------------------ */

static const char *key_expr(const struct sortkey *k, char *buf, size_t n) {
  if (k->type != 'n') return k->col; /* ids, collections and times are never NULL */
  /* unknown values (no cloud cover, no colour yet) sort last either way */
  snprintf(buf, n, "coalesce(%s, %s)", k->col, k->desc ? NULL_LOW : NULL_HIGH);
  return buf;
}

static int64_t max_span(swath_catalog *c) {
  static const char sql[] = "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'max_span'";
  sqlite3_stmt *st;
  int64_t v = 0;
  if (swath__stmt_get(c, sql, (int)sizeof sql - 1, "search", &st) == 0) {
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    swath__stmt_put(c, st);
  } else {
    swath_error_clear();
  }
  return v;
}

/* The R*Tree conditions of lookup k of q's parts (k / 2: the part; odd k:
 * shifted by 360 degrees, see from_where), and of a datetime slice. */
static void rtree_where(const swath_search *q, int k, const int64_t *slice, swath__sql *s) {
  double shift = k % 2 ? 360.0 : 0.0;
  const double *part = q->parts[k / 2];
  swath__sql_add(s, "minx <= ");
  swath__sql_double(s, part[2] + shift);
  if (k % 2) {
    swath__sql_add(s, " AND minx > ");
    swath__sql_double(s, part[2]);
  }
  swath__sql_add(s, " AND maxx >= ");
  swath__sql_double(s, part[0] + shift);
  swath__sql_add(s, " AND miny <= ");
  swath__sql_double(s, part[3]);
  swath__sql_add(s, " AND maxy >= ");
  swath__sql_double(s, part[1]);
  if (q->has_t0) {
    swath__sql_add(s, " AND t1 >= ");
    swath__sql_double(s, (double)q->t0 / SWATH_DAY_MS);
  }
  if (q->has_t1) {
    swath__sql_add(s, " AND t0 <= ");
    swath__sql_double(s, (double)q->t1 / SWATH_DAY_MS);
  }
  if (slice) { /* dt0 <= dt <= dt1: the entry's time range meets the slice */
    swath__sql_add(s, " AND t1 >= ");
    swath__sql_double(s, (double)slice[0] / SWATH_DAY_MS);
    swath__sql_add(s, " AND t0 <= ");
    swath__sql_double(s, (double)slice[1] / SWATH_DAY_MS);
  }
}

/* The exact test of items row `a` (an alias) of a spatial search: its
 * footprint, and its time range against the datetime filter. */
static void row_test(const swath_search *q, const char *a, swath__sql *s) {
  swath__sql_add(s, "swath_hit(");
  swath__sql_ptr(s, (void *)q);
  swath__sql_add(s, ", %s.geom, %s.minx, %s.miny, %s.maxx, %s.maxy)", a, a, a, a, a);
  if (q->has_t0) {
    swath__sql_add(s, " AND %s.dt1 >= ", a);
    swath__sql_int(s, q->t0);
  }
  if (q->has_t1) {
    swath__sql_add(s, " AND %s.dt0 <= ", a);
    swath__sql_int(s, q->t1);
  }
}

/* " FROM ... WHERE ..." for q; with the keyset condition when paging, and
 * only items with slice[0] <= dt <= slice[1] when slice is given (see
 * run_sliced). With `narrow` (a search rtree_narrow allows), `i` is not the
 * items table but the R*Tree entries' copies of rid, dt, id and collection
 * (catalog_int.h): the entries of one area lie together there, where their
 * items rows are scattered over the table. */
static void from_where(swath_catalog *c, const swath_search *q, int narrow, int keyset,
                       const int64_t *slice, swath__sql *s) {
  int spatial = q->nparts > 0;
  if (q->ids_json) {
    swath__sql_add(s, " FROM (SELECT DISTINCT value AS v FROM json_each(");
    swath__sql_text(s, q->ids_json);
    swath__sql_add(s, ")) j CROSS JOIN items i ON i.id = j.v");
  } else if (spatial) {
    /* Items crossing the antimeridian are indexed over [west, east + 360],
     * so each part is looked up as it is and shifted by 360 degrees. The
     * shifted lookup leaves out what the plain one finds (minx <= east), so
     * one part needs no de-duplication (UNION ALL streams; UNION would
     * build a temporary index); the two parts of a query crossing the
     * antimeridian do. */
    swath__sql_add(s, narrow ? " FROM (SELECT x.a0 AS rid, x.a1 AS dt, x.a2 AS id, x.a3 AS "
                               "collection FROM ("
                             : " FROM (");
    for (int p = 0; p < 2 * q->nparts; p++) {
      swath__sql_add(s, "%sSELECT k%s FROM items_rtree WHERE ",
                     !p              ? ""
                     : q->nparts > 1 ? " UNION "
                                     : " UNION ALL ",
                     narrow ? ", minx, maxx, miny, maxy, t0, t1" : "");
      rtree_where(q, p, slice, s);
    }
    swath__sql_add(s, ") r CROSS JOIN items_rtree_rowid x ON x.rowid = r.k");
    if (narrow) {
      /* the entry decides, unless its rounded bounds leave it open */
      swath__sql_add(s, " WHERE coalesce(nullif(swath_entry(");
      swath__sql_ptr(s, (void *)q);
      swath__sql_add(s, ", r.minx, r.maxx, r.miny, r.maxy, r.t0, r.t1), -1), (SELECT ");
      row_test(q, "e", s);
      swath__sql_add(s, " FROM items e WHERE e.rid = x.a0))) i");
    } else {
      swath__sql_add(s, " CROSS JOIN items i ON i.rid = x.a0");
    }
  } else {
    swath__sql_add(s, " FROM items i");
  }
  swath__sql_add(s, " WHERE 1");
  if (slice) {
    swath__sql_add(s, " AND i.dt BETWEEN ");
    swath__sql_int(s, slice[0]);
    swath__sql_add(s, " AND ");
    swath__sql_int(s, slice[1]);
  }
  if (spatial) {
    if (!narrow) {
      swath__sql_add(s, " AND ");
      row_test(q, "i", s);
    }
  } else if (q->has_t0 || q->has_t1) {
    int64_t span = !q->ids_json ? max_span(c) : -1;
    if (q->has_t0) {
      swath__sql_add(s, " AND i.dt1 >= ");
      swath__sql_int(s, q->t0);
    }
    if (q->has_t1) {
      swath__sql_add(s, " AND i.dt0 <= ");
      swath__sql_int(s, q->t1);
    }
    /* dt0 <= dt <= dt1 and dt1 - dt0 <= span bound dt, so the datetime
     * index can drive the scan */
    if (span >= 0 && q->has_t0) {
      swath__sql_add(s, " AND i.dt >= ");
      swath__sql_int(s, q->t0 - span);
    }
    if (span >= 0 && q->has_t1) {
      swath__sql_add(s, " AND i.dt <= ");
      swath__sql_int(s, q->t1 + span);
    }
  }
  if (q->colls_json) {
    swath__sql_add(s, " AND i.collection IN (SELECT value FROM json_each(");
    swath__sql_text(s, q->colls_json);
    swath__sql_add(s, "))");
  }
  if (q->collection) {
    swath__sql_add(s, " AND i.collection = ");
    swath__sql_text(s, q->collection);
  }
  swath__sql_append(s, &q->filter);
  if (!keyset || !q->token) return;

  /* keyset: strictly after the last item of the previous page */
  char buf[MAX_SORT][64];
  const char *e[MAX_SORT + 1];
  int same = 1;
  for (int k = 0; k < q->nsort; k++) {
    e[k] = key_expr(&q->sort[k], buf[k], sizeof buf[k]);
    same &= q->sort[k].desc == q->sort[0].desc;
  }
  e[q->nsort] = "i.rid";
  int n = q->nsort + 1, last_desc = q->sort[q->nsort - 1].desc;
#define BIND_KEY(k)                                                                                \
  do {                                                                                             \
    json_t *v_ = json_array_get(q->token, (k) + 1);                                                \
    if (json_is_string(v_))                                                                        \
      swath__sql_text(s, json_string_value(v_));                                                   \
    else if (json_is_integer(v_))                                                                  \
      swath__sql_int(s, json_integer_value(v_));                                                   \
    else                                                                                           \
      swath__sql_double(s, json_number_value(v_));                                                 \
  } while (0)
  if (same) {
    const char *op = q->sort[0].desc ? "<" : ">";
    /* the first key alone lets an index bound the scan */
    swath__sql_add(s, " AND %s %s= ", e[0], op);
    BIND_KEY(0);
    swath__sql_add(s, " AND (");
    for (int k = 0; k < n; k++)
      swath__sql_add(s, "%s%s", k ? ", " : "", e[k]);
    swath__sql_add(s, ") %s (", op);
    for (int k = 0; k < n; k++) {
      if (k) swath__sql_add(s, ", ");
      BIND_KEY(k);
    }
    swath__sql_add(s, ")");
  } else {
    swath__sql_add(s, " AND (");
    for (int k = 0; k < n; k++) {
      swath__sql_add(s, "%s(", k ? " OR " : "");
      for (int j = 0; j < k; j++) {
        swath__sql_add(s, "%s = ", e[j]);
        BIND_KEY(j);
        swath__sql_add(s, " AND ");
      }
      int desc = k < q->nsort ? q->sort[k].desc : last_desc;
      swath__sql_add(s, "%s %s ", e[k], desc ? "<" : ">");
      BIND_KEY(k);
      swath__sql_add(s, ")");
    }
    swath__sql_add(s, ")");
  }
#undef BIND_KEY
}

static void order_by(const swath_search *q, swath__sql *s) {
  char buf[64];
  swath__sql_add(s, " ORDER BY ");
  for (int k = 0; k < q->nsort; k++)
    swath__sql_add(s, "%s%s", key_expr(&q->sort[k], buf, sizeof buf),
                   q->sort[k].desc ? " DESC, " : ", ");
  swath__sql_add(s, "i.rid%s", q->sort[q->nsort - 1].desc ? " DESC" : "");
}

static int check_collections(swath_catalog *c, const swath_search *q) {
  if (!q->colls_json) return 0;
  static const char sql[] = "SELECT j.value FROM json_each(?1) j WHERE NOT EXISTS (SELECT 1 FROM "
                            "collections WHERE id = j.value) LIMIT 1";
  sqlite3_stmt *st;
  int rc = swath__stmt_get(c, sql, (int)sizeof sql - 1, "search", &st);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, q->colls_json, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW)
    rc = swath_error_set(SWATH_EINVAL, "collections: unknown collection '%s'",
                         sqlite3_column_text(st, 0));
  swath__stmt_put(c, st);
  return rc;
}

/* The one integer a counting statement s yields (then cleared); -1 with
 * *rc set on error. */
static int64_t sql_count(swath_catalog *c, swath__sql *s, int *rc) {
  sqlite3_stmt *st;
  int64_t n = -1;
  if (!(*rc = sql_prepare_cached(c, s, &st))) {
    if (sqlite3_step(st) == SQLITE_ROW)
      n = sqlite3_column_int64(st, 0);
    else
      *rc = swath__sql_error(c->db, "search: counting");
    swath__stmt_put(c, st);
  }
  swath__sql_clear(s);
  return n;
}

static int64_t count_matches(swath_catalog *c, const swath_search *q, int narrow, int64_t cap,
                             int *rc) {
  swath__sql s = {0};
  if (!q->nparts && !q->has_t0 && !q->has_t1 && !q->ids_json && !q->filter.len) {
    /* only collections constrain the search: their item counts are kept */
    swath__sql_add(&s, "SELECT coalesce(sum(n), 0) FROM collections WHERE 1");
    if (q->colls_json) {
      swath__sql_add(&s, " AND id IN (SELECT value FROM json_each(");
      swath__sql_text(&s, q->colls_json);
      swath__sql_add(&s, "))");
    }
    if (q->collection) {
      swath__sql_add(&s, " AND id = ");
      swath__sql_text(&s, q->collection);
    }
    return sql_count(c, &s, rc);
  }
  swath__sql_add(&s, "SELECT count(*) FROM (SELECT 1");
  from_where(c, q, narrow, 0, NULL, &s);
  if (cap > 0) {
    swath__sql_add(&s, " LIMIT ");
    swath__sql_int(&s, cap + 1);
  }
  swath__sql_add(&s, ")");
  int64_t n = sql_count(c, &s, rc);
  return cap > 0 && n > cap ? -1 : n;
}

/* ---- counting from the R*Tree ------------------------------------------------ */

/* How far a value SQLite stored in the R*Tree may lie from the double it was
 * given: it rounds outwards to float32 (when a plain cast rounds the wrong
 * way, by multiplying by 1 -+ 2^-23, see rtreeValueDown in SQLite's rtree.c;
 * rtree_pack.c takes the next float), so under 2.4e-7 of the value. */
static double f32_slack(double v) { return fabs(v) * 5e-7 + 1e-30; }

/* 1 / 0 when a box-footprint item certainly meets / misses part p, from its
 * R*Tree entry e (minx, maxx, miny, maxy as stored: rounded outwards, maxx
 * beyond 180 for an item across the antimeridian); -1 when the rounding
 * leaves it open. The same test as swath_hit on the exact values. */
static int entry_meets(const double e[4], const double p[4]) {
  double x0 = e[0], x1 = e[1], y0 = e[2], y1 = e[3], sx0 = f32_slack(x0), sx1 = f32_slack(x1);
  /* the exact south is in [y0, y0 + slack], the exact north in [y1 - slack, y1] */
  if (y0 > p[3] || y1 < p[1]) return 0;
  int y_sure = y0 + f32_slack(y0) <= p[3] && y1 - f32_slack(y1) >= p[1];
  /* an exact maxx of 180 can be either kind of item: the row says */
  if (x1 >= 180 && x1 - sx1 <= 180) return -1;
  int sure, miss;
  if (x1 < 180) { /* [west, east] */
    miss = x0 > p[2] || x1 < p[0];
    sure = x0 + sx0 <= p[2] && x1 - sx1 >= p[0];
  } else { /* across: [west, 180] and [-180, east], east = maxx - 360 */
    miss = x0 > p[2] && x1 - 360 < p[0];
    sure = x0 + sx0 <= p[2] || x1 - sx1 - 360 >= p[0];
  }
  if (miss) return 0;
  return sure && y_sure ? 1 : -1;
}

/* The same for the datetime filter, on the entry's t0, t1 (days). */
static int entry_in_time(const swath_search *q, double t0, double t1) {
  int open = 0;
  if (q->has_t0) { /* dt1 >= q->t0 */
    double t = (double)q->t0 / SWATH_DAY_MS;
    if (t1 < t) return 0;
    if (t1 - f32_slack(t1) < t) open = 1;
  }
  if (q->has_t1) { /* dt0 <= q->t1 */
    double t = (double)q->t1 / SWATH_DAY_MS;
    if (t0 > t) return 0;
    if (t0 + f32_slack(t0) > t) open = 1;
  }
  return open ? -1 : 1;
}

/* 1 / 0 when the item of R*Tree entry e (minx, maxx, miny, maxy, t0, t1)
 * certainly matches / misses q's parts and datetime filter; -1 when only
 * its row can tell. For a catalog of box footprints (boxes_only). */
static int entry_test(const swath_search *q, const double e[6]) {
  int hit = 0;
  for (int p = 0; p < q->nparts && hit < 1; p++) {
    int m = entry_meets(e, q->parts[p]);
    if (m) hit = m;
  }
  if (!hit) return 0;
  int t = entry_in_time(q, e[4], e[5]);
  return !t ? 0 : hit < 0 || t < 0 ? -1 : 1;
}

/* swath_entry(search, minx, maxx, miny, maxy, t0, t1): entry_test in SQL. */
static void fn_entry(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  const struct swath_search *q = bound_search(ctx, argv);
  if (!q) return;
  double e[6];
  for (int k = 0; k < 6; k++)
    e[k] = sqlite3_value_double(argv[1 + k]);
  sqlite3_result_int(ctx, entry_test(q, e));
}

/* Whether every item's footprint is its bbox (store.c keeps the
 * 'footprints' mark only while that holds): then a box search's hits are
 * decided by R*Tree entries, but for the few their rounding leaves open. */
static int boxes_only(swath_catalog *c) {
  static const char sql[] = "SELECT 1 FROM meta WHERE key = 'footprints' AND value = 'boxes'";
  sqlite3_stmt *st;
  if (swath__stmt_get(c, sql, (int)sizeof sql - 1, "search", &st)) {
    swath_error_clear();
    return 0;
  }
  int yes = sqlite3_step(st) == SQLITE_ROW;
  swath__stmt_put(c, st);
  return yes;
}

/* Whether the count can come from the R*Tree alone: a search on boxes and
 * datetime only, in a catalog of box footprints. */
static int rtree_countable(swath_catalog *c, const swath_search *q) {
  return q->nparts && q->is_box && !q->ids_json && !q->colls_json && !q->collection &&
         !q->filter.len && boxes_only(c);
}

/* Whether from_where may read the R*Tree's copies (rid, dt, id, collection)
 * instead of items rows: a search on boxes, datetime and collections,
 * sorted on those columns, in a catalog of box footprints. */
static int rtree_narrow(swath_catalog *c, const swath_search *q) {
  if (!q->nparts || !q->is_box || q->ids_json || q->filter.len) return 0;
  for (int k = 0; k < q->nsort; k++)
    if (strcmp(q->sort[k].col, "i.dt") && strcmp(q->sort[k].col, "i.id") &&
        strcmp(q->sort[k].col, "i.collection"))
      return 0;
  return boxes_only(c);
}

static int64_t rtree_candidates(swath_catalog *c, const swath_search *q, int64_t cap, int *rc);

/* "<sep>SELECT" of the entries lookup p (rtree_where) meets, with their
 * bounds (as entry_test takes them, after k). */
static void entry_lookup(const swath_search *q, int p, const char *sep, swath__sql *s) {
  swath__sql_add(s, "%sSELECT k, minx, maxx, miny, maxy, t0, t1 FROM items_rtree WHERE ", sep);
  rtree_where(q, p, NULL, s);
}

/* A margin beyond f32_slack of any value within it of v. */
static double strip_width(double v) { return (fabs(v) + 1) * 1e-6; }

/* The entries of lookup p (rtree_where) of a one-part search that its
 * R*Tree entry alone may not settle (entry_test != 1): those within
 * rounding of an edge of the query's box or datetime; every other entry
 * the lookup meets is a sure match (see entry_meets and entry_in_time: the
 * lookup's own bounds exclude the sure misses). An entry ending on 180
 * degrees, which entry_meets leaves to its row, needs no strip of its own:
 * away from the query's other edges, one the plain lookup meets overlaps
 * the query's box, and the shifted lookup meets one only when the query
 * starts on -180, inside that edge's strip. As thin strips, one lookup
 * each, so that the R*Tree finds them without visiting the rest. */
static void fringe_lookups(const swath_search *q, int p, swath__sql *s) {
  const double *b = q->parts[0];
  double edge[8];
  const char *cond[8];
  int n = 0;
  cond[n] = "miny >= ", edge[n++] = b[3] - strip_width(b[3]);
  cond[n] = "maxy <= ", edge[n++] = b[1] + strip_width(b[1]);
  if (p == 0) { /* the plain lookup: west and east edges */
    cond[n] = "minx >= ", edge[n++] = b[2] - strip_width(b[2]);
    cond[n] = "maxx <= ", edge[n++] = b[0] + strip_width(b[0]);
  } else { /* shifted: only items across the antimeridian, by their east end */
    cond[n] = "maxx <= ", edge[n++] = b[0] + 360 + strip_width(b[0] + 360);
  }
  if (q->has_t0) {
    double t = (double)q->t0 / SWATH_DAY_MS;
    cond[n] = "t1 <= ", edge[n++] = t + strip_width(t);
  }
  if (q->has_t1) {
    double t = (double)q->t1 / SWATH_DAY_MS;
    cond[n] = "t0 >= ", edge[n++] = t - strip_width(t);
  }
  for (int k = 0; k < n; k++) {
    entry_lookup(q, p, s->len ? " UNION " : "", s);
    swath__sql_add(s, " AND %s", cond[k]);
    swath__sql_double(s, edge[k]);
  }
}

/* numberMatched from the R*Tree's entries (see rtree_countable), without
 * reading rows. The entries hold float32 bounds rounded outwards, so an
 * entry within rounding of the query's edges is settled by its row and
 * swath_hit, as the search itself would. A one-part search counts its
 * lookups' entries (a bare R*Tree count, about 70 instructions an entry)
 * and subtracts the misses among the few near its edges (fringe_lookups):
 * 20,000 entries of a 10x10 degree box read with their bounds and tested
 * were 7 ms. A search of several parts (across the antimeridian) may meet
 * an entry twice: it tests every entry, and de-duplicates their ids.
 * Needs q->nparts >= 1. Returns the count (-1: more than cap, cap > 0);
 * *rc set on error. */
static int64_t count_by_rtree(swath_catalog *c, const swath_search *q, int64_t cap, int *rc) {
  swath__sql s = {0};
  int fringe = q->nparts == 1; /* else several parts */
  if (fringe) {
    for (int p = 0; p < 2; p++)
      fringe_lookups(q, p, &s);
  } else {
    for (int p = 0; p < 2 * q->nparts; p++) /* the parts' lookups, as from_where writes them */
      entry_lookup(q, p, p ? " UNION ALL " : "", &s);
  }
  sqlite3_stmt *st, *row = NULL;
  *rc = sql_prepare_cached(c, &s, &st);
  swath__sql_clear(&s);
  if (*rc) return -1;
  /* the exact test of an open entry: its row, as the search tests it */
  swath__sql_add(&s, "SELECT 1 FROM items_rtree_rowid x CROSS JOIN items i ON i.rid = x.a0 WHERE "
                     "x.rowid = ");
  swath__sql_int(&s, 0);
  swath__sql_add(&s, " AND ");
  row_test(q, "i", &s);
  if ((*rc = sql_prepare_cached(c, &s, &row))) {
    swath__sql_clear(&s);
    swath__stmt_put(c, st);
    return -1;
  }
  swath__sql_clear(&s);
  int64_t n = 0, *ids = NULL, misses = 0, seen = 0;
  size_t nids = 0, cap_ids = 0;
  int r;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    seen++;
    double e[6];
    for (int k = 0; k < 6; k++)
      e[k] = sqlite3_column_double(st, 1 + k);
    int hit = entry_test(q, e);
    int64_t id = sqlite3_column_int64(st, 0);
    if (hit < 0) { /* settled by the row */
      sqlite3_bind_int64(row, 1, id);
      int rr = sqlite3_step(row);
      sqlite3_reset(row);
      if (rr != SQLITE_ROW && rr != SQLITE_DONE) {
        *rc = swath__sql_error(c->db, "search: counting");
        break;
      }
      hit = rr == SQLITE_ROW;
    }
    misses += !hit;
    if (!hit || fringe) continue;
    if (nids == cap_ids) {
      size_t nc = cap_ids ? 2 * cap_ids : 4096;
      int64_t *ni = realloc(ids, nc * sizeof *ni);
      if (!ni) {
        *rc = swath_error_set(SWATH_ENOMEM, "search: out of memory");
        break;
      }
      ids = ni, cap_ids = nc;
    }
    ids[nids++] = id;
  }
  if (!*rc && r != SQLITE_ROW && r != SQLITE_DONE)
    *rc = swath__sql_error(c->db, "search: counting");
  swath__stmt_put(c, row);
  swath__stmt_put(c, st);
  if (!fringe && !*rc && nids) {
    qsort(ids, nids, sizeof *ids, swath__cmp_i64);
    for (size_t k = 0; k < nids; k++)
      n += !k || ids[k] != ids[k - 1];
  }
  free(ids);
  if (!*rc && fringe) {
    /* (counted up to where the misses cannot bring it back under cap) */
    int64_t all = rtree_candidates(c, q, cap > 0 ? cap + 1 + seen : INT64_MAX, rc);
    if (cap > 0 && all == cap + 1 + seen) return -1;
    n = all - misses;
  }
  if (*rc) return -1;
  return cap > 0 && n > cap ? -1 : n;
}

int64_t swath__search_count_rtree(swath_catalog *c, const swath_search *q, int64_t cap, int *rc) {
  *rc = 0;
  return count_by_rtree(c, q, cap, rc);
}

/* A rough guess of the matches of a spatial search: each collection's items
 * spread evenly over its extent, times the share of it the query's parts
 * cover (no R*Tree work: it decides whether that work is worth doing). */
static double area_guess(swath_catalog *c, const swath_search *q) {
  static const char sql[] = "SELECT n, minx, miny, maxx, maxy FROM collections WHERE n > 0";
  sqlite3_stmt *st;
  if (swath__stmt_get(c, sql, (int)sizeof sql - 1, "search", &st)) {
    swath_error_clear();
    return INFINITY;
  }
  double guess = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    double e[4];
    for (int k = 0; k < 4; k++)
      e[k] = sqlite3_column_double(st, 1 + k);
    double area = fmax(e[2] - e[0], 1e-6) * fmax(e[3] - e[1], 1e-6), cover = 0;
    for (int p = 0; p < q->nparts; p++) {
      const double *b = q->parts[p];
      cover += fmax(0, fmin(b[2], e[2]) - fmax(b[0], e[0])) *
               fmax(0, fmin(b[3], e[3]) - fmax(b[1], e[1]));
    }
    guess += (double)sqlite3_column_int64(st, 0) * cover / area;
  }
  swath__stmt_put(c, st);
  return guess;
}

/* The R*Tree entries the search's lookups meet, up to cap: at least its
 * matches (rows are tested afterwards), counted without reading rows. */
static int64_t rtree_candidates(swath_catalog *c, const swath_search *q, int64_t cap, int *rc) {
  swath__sql s = {0};
  swath__sql_add(&s, "SELECT count(*) FROM (");
  for (int p = 0; p < 2 * q->nparts; p++) {
    swath__sql_add(&s, "%sSELECT 1 FROM items_rtree WHERE ", p ? " UNION ALL " : "");
    rtree_where(q, p, NULL, &s);
  }
  swath__sql_add(&s, " LIMIT ");
  swath__sql_int(&s, cap);
  swath__sql_add(&s, ")");
  return sql_count(c, &s, rc);
}

/* When ranking by colour: say if the values being compared were computed
 * in different ways, or are missing for some items. */
static int color_warnings(swath_catalog *c, const swath_search *q, swath_page *page) {
  int uses = 0;
  for (int k = 0; k < q->nsort; k++)
    uses |= !strncmp(q->sort[k].name, "color:", 6);
  if (!uses) return 0;
  swath__sql s = {0};
  swath__sql_add(&s, "SELECT count(*), count(i.red), count(DISTINCT i.cmethod), "
                     "group_concat(DISTINCT i.cmethod)");
  from_where(c, q, 0, 0, NULL, &s);
  sqlite3_stmt *st;
  int rc = sql_prepare_cached(c, &s, &st);
  swath__sql_clear(&s);
  if (rc) return rc;
  if (sqlite3_step(st) == SQLITE_ROW) {
    int64_t all = sqlite3_column_int64(st, 0), with = sqlite3_column_int64(st, 1);
    int methods = sqlite3_column_int(st, 2);
    const char *list = (const char *)sqlite3_column_text(st, 3);
    char msg[512];
    if (methods > 1) {
      snprintf(msg, sizeof msg,
               "colour ranking mixes statistics computed with different methods (%s); filter on "
               "color:method to rank like with like",
               list ? list : "");
      if (!page->warnings) page->warnings = json_array();
      json_array_append_new(page->warnings, json_string(msg));
    }
    if (with < all) {
      snprintf(msg, sizeof msg,
               "%lld of %lld matched items have no colour statistics and sort last (run 'swath "
               "catalog stats')",
               (long long)(all - with), (long long)all);
      if (!page->warnings) page->warnings = json_array();
      json_array_append_new(page->warnings, json_string(msg));
    }
  }
  swath__stmt_put(c, st);
  return 0;
}

/* The page being filled, from one statement or from several (run_sliced). */
struct pager {
  swath_catalog *c;
  const swath_search *q;
  const swath_search_opts *o;
  sqlite3_stmt *full; /* a full row by rid, unless ids only */
  swath_page *page;
  int n;             /* items on the page */
  int more;          /* a row after the page's last exists */
  double est;        /* matches expected over the search's datetime range (run_sliced) */
  int est_exact;     /* est is a count, not a guess */
  size_t ids_cap;    /* ids only: page->ids' allocated size */
  int narrow;        /* from_where's: see rtree_narrow */
  int csort;         /* narrow and sorted on datetime alone: see take_sorted */
  swath_jtext items; /* unless ids only: the page's items so far, "[" first */
};

/* The SELECT of a page: narrow records (row id, id, collection, sort keys).
 * Every candidate passes through the sort, so the full rows are read
 * afterwards, by row id, only for the page (in the same read snapshot: the
 * page's statement is still active). With a LIMIT (lim >= 0), SQLite keeps
 * the best lim rows in a B-tree as they come; without, it sorts them all
 * in its sorter, which costs a fifth as much per row: better when most
 * rows are wanted anyway. */
static void page_select(struct pager *pg, const int64_t *slice, int64_t lim, swath__sql *s) {
  const swath_search *q = pg->q;
  swath__sql_add(s, "SELECT i.rid, i.id, i.collection");
  char buf[64];
  for (int k = 0; k < q->nsort; k++)
    swath__sql_add(s, ", %s", key_expr(&q->sort[k], buf, sizeof buf));
  from_where(pg->c, q, pg->narrow, 1, slice, s);
  if (lim < 0 && pg->csort) return; /* take_sorted sorts */
  order_by(q, s);
  if (lim < 0) return;
  swath__sql_add(s, " LIMIT ");
  swath__sql_int(s, lim);
}

/* Appends the item of row rid (its id and collection) to the page; when
 * that fills the page, the next token holds `keys` (the row's sort values,
 * a JSON array: stolen) and rid. */
static int put_row(struct pager *pg, int64_t rid, const char *id, size_t nid, const char *coll,
                   size_t ncoll, json_t *keys) {
  int rc = 0;
  if (pg->o->ids_only) {
    /* (a JSON object per id cost more than the search: six allocations
     * made and freed each) */
    swath_page *pp = pg->page;
    if (!coll || !id) {
      rc = swath_error_set(SWATH_ENOMEM, "search: out of memory");
    } else if (pp->ids_len + ncoll + nid + 2 > pg->ids_cap) {
      size_t cap = 2 * (pp->ids_len + ncoll + nid + 2) + 4096;
      char *b = realloc(pp->ids, cap);
      if (b)
        pp->ids = b, pg->ids_cap = cap;
      else
        rc = swath_error_set(SWATH_ENOMEM, "search: out of memory");
    }
    if (!rc) {
      memcpy(pp->ids + pp->ids_len, coll, ncoll + 1);
      memcpy(pp->ids + pp->ids_len + ncoll + 1, id, nid + 1);
      pp->ids_len += ncoll + nid + 2;
    }
  } else {
    swath__row row;
    sqlite3_bind_int64(pg->full, 1, rid);
    if (sqlite3_step(pg->full) != SQLITE_ROW) {
      rc = swath__sql_error(pg->c->db, "search");
    } else {
      swath__row_read(pg->full, 0, &row);
      if (pg->n) swath_jtext_lit(&pg->items, ",");
      rc = swath__item_write(&row, pg->o->links_base, &pg->items);
    }
    sqlite3_reset(pg->full);
  }
  if (!rc && ++pg->n == pg->q->limit) {
    json_t *t = json_array();
    json_array_append_new(t, json_string(pg->q->sortsig));
    json_array_extend(t, keys);
    json_array_append_new(t, json_integer(rid));
    char *raw = json_dumps(t, JSON_COMPACT);
    json_decref(t);
    free(pg->page->next_token);
    pg->page->next_token = raw ? b64url_encode(raw) : NULL;
    free(raw);
  }
  json_decref(keys);
  return rc;
}

/* Steps st (a page_select), appending its rows to the page until the page
 * is full; a row beyond that sets pg->more and leaves st on it. */
static int take_rows(struct pager *pg, sqlite3_stmt *st) {
  const swath_search *q = pg->q;
  int r, rc = 0;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    if (pg->n == q->limit) {
      pg->more = 1; /* the token resumes after the last row kept */
      break;
    }
    json_t *keys = NULL;
    if (pg->n + 1 == q->limit) {
      keys = json_array();
      for (int k = 0; k < q->nsort; k++) {
        int col = 3 + k;
        if (q->sort[k].type == 't')
          json_array_append_new(keys, json_string((const char *)sqlite3_column_text(st, col)));
        else if (q->sort[k].type == 'd')
          json_array_append_new(keys, json_integer(sqlite3_column_int64(st, col)));
        else
          json_array_append_new(keys, json_real(sqlite3_column_double(st, col)));
      }
    }
    rc = put_row(pg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                 (size_t)sqlite3_column_bytes(st, 1), (const char *)sqlite3_column_text(st, 2),
                 (size_t)sqlite3_column_bytes(st, 2), keys);
    if (rc) break;
  }
  if (!rc && r != SQLITE_ROW && r != SQLITE_DONE) rc = swath__sql_error(pg->c->db, "search");
  return rc;
}

/* A row of take_sorted: its sort key, and its id and collection in text. */
struct srow {
  int64_t dt, rid;
  size_t at; /* id at text + at, then the collection */
  uint32_t nid, ncoll;
};

static int cmp_srow_asc(const void *a, const void *b) {
  const struct srow *x = a, *y = b;
  if (x->dt != y->dt) return x->dt < y->dt ? -1 : 1;
  return x->rid < y->rid ? -1 : x->rid > y->rid;
}

static int cmp_srow_desc(const void *a, const void *b) { return cmp_srow_asc(b, a); }

/* take_rows for a statement that reads the R*Tree's copies (pg->narrow),
 * sorted on datetime alone and not by SQL (pg->csort): its rows (a slice,
 * or all of few matches) are sorted here on (dt, rid), which costs a
 * fraction of SQLite's sorter (records built, merged, decoded again).
 * *total: the rows st gave. */
static int take_sorted(struct pager *pg, sqlite3_stmt *st, int64_t *total) {
  struct srow *rows = NULL;
  char *text = NULL;
  size_t n = 0, cap = 0, len = 0, tcap = 0;
  int r, rc = 0;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 1);
    size_t nid = (size_t)sqlite3_column_bytes(st, 1);
    const char *coll = (const char *)sqlite3_column_text(st, 2);
    size_t ncoll = (size_t)sqlite3_column_bytes(st, 2);
    size_t need = len + nid + ncoll + 2;
    int ok = id && coll; /* (no text: SQLite ran out of memory) */
    if (ok && n == cap) {
      struct srow *a = realloc(rows, (2 * cap + 1024) * sizeof *a);
      if ((ok = a != NULL)) rows = a, cap = 2 * cap + 1024;
    }
    if (ok && need > tcap) {
      char *t = realloc(text, 2 * need + 65536);
      if ((ok = t != NULL)) text = t, tcap = 2 * need + 65536;
    }
    if (!ok) {
      rc = swath_error_set(SWATH_ENOMEM, "search: out of memory");
      break;
    }
    rows[n] = (struct srow){sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 0), len,
                            (uint32_t)nid, (uint32_t)ncoll};
    memcpy(text + len, id, nid + 1);
    memcpy(text + len + nid + 1, coll, ncoll + 1);
    len = need;
    n++;
  }
  if (!rc && r != SQLITE_DONE) rc = swath__sql_error(pg->c->db, "search");
  if (!rc && n) qsort(rows, n, sizeof *rows, pg->q->sort[0].desc ? cmp_srow_desc : cmp_srow_asc);
  for (size_t k = 0; k < n && !rc; k++) {
    if (pg->n == pg->q->limit) {
      pg->more = 1;
      break;
    }
    json_t *keys = NULL;
    if (pg->n + 1 == pg->q->limit) {
      keys = json_array();
      json_array_append_new(keys, json_integer(rows[k].dt));
    }
    const char *id = text + rows[k].at;
    rc = put_row(pg, rows[k].rid, id, rows[k].nid, id + rows[k].nid + 1, rows[k].ncoll, keys);
  }
  *total = (int64_t)n;
  free(rows);
  free(text);
  return rc;
}

/* A spatial search sorted on datetime, without sorting every match.
 *
 * In one statement, every R*Tree candidate is joined to its row and sorted
 * before the first item is known: a 10x10 degree box over a Sentinel-2
 * index has some 20,000 matches, about 100 ms, for a page of ten; and every
 * later page pays it again. Here the datetime range is walked in slices
 * from the end the sort starts at. Each slice runs the page's statement
 * with the R*Tree and the rows restricted to the slice (the R*Tree's time
 * dimension prunes the other entries before any row is read); slices
 * partition datetime, so their sorted rows follow each other in the sorted
 * result, and the walk stops once the page and one row more are found.
 * The first slice is sized for the page from pg->est, the matches expected
 * over the range (else 1/128 of the catalog's datetime range); each next
 * one from the matches per millisecond seen so far, at least twice as
 * wide, so a page costs about the rows it returns plus a few R*Tree
 * descents. (Widths are doubles: a range may span the int64 axis.)
 *
 * The range is the catalog's (two seeks in items_dt), narrowed by the
 * datetime filter (widened by the longest item span, as dt may lie anywhere
 * in [dt0, dt1]) and by the token's datetime when paging. */
static int run_sliced(struct pager *pg) {
  swath_catalog *c = pg->c;
  const swath_search *q = pg->q;
  static const char range_sql[] = "SELECT (SELECT min(dt) FROM items), (SELECT max(dt) FROM items)";
  sqlite3_stmt *st;
  int rc = swath__stmt_get(c, range_sql, (int)sizeof range_sql - 1, "search", &st);
  if (rc) return rc;
  int empty = sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL;
  int64_t lo = sqlite3_column_int64(st, 0), hi = sqlite3_column_int64(st, 1);
  swath__stmt_put(c, st);
  if (empty) return 0;
  double width = floor(((double)hi - (double)lo) / 128) + 1, walked = 0;
  int64_t span = (q->has_t0 || q->has_t1) ? max_span(c) : 0;
  if (q->has_t0 && q->t0 - span > lo) lo = q->t0 - span;
  if (q->has_t1 && q->t1 + span < hi) hi = q->t1 + span;
  /* the first slice: sized for the page from the matches expected over the
   * range (spread evenly), else 1/128 of the catalog's range. A little
   * wider than that when the count is exact; when it is a guess from the
   * extents, a little narrower: rows beyond the page cost about what a
   * second slice's descent does, and that one is sized from the density
   * the first saw. */
  if (pg->est > 0)
    width = fmax(1, ceil(((double)hi - (double)lo + 1) * (q->limit + 1) / pg->est *
                         (pg->est_exact ? 1.15 : 0.8)));
  int desc = q->sort[0].desc;
  if (q->token) { /* keyset: the first key is the last page's datetime */
    int64_t last = json_integer_value(json_array_get(q->token, 1));
    if (desc && last < hi) hi = last;
    if (!desc && last > lo) lo = last;
  }
  if (lo > hi) return 0;
  /* a range that few slices would cover goes in one: each slice descends
   * the R*Tree again */
  if ((double)hi - (double)lo + 1 <= 4 * width) width = (double)hi - (double)lo + 1;
  int64_t found = 0;
  int64_t edge = desc ? hi : lo; /* where the next slice starts */
  for (;;) {
    int64_t slice[2];
    double w = fmin(width, desc ? (double)edge - (double)lo + 1 : (double)hi - (double)edge + 1);
    if (desc)
      slice[0] = w >= (double)edge - (double)lo + 1 ? lo : edge - (int64_t)w + 1, slice[1] = edge;
    else
      slice[0] = edge, slice[1] = w >= (double)hi - (double)edge + 1 ? hi : edge + (int64_t)w - 1;
    swath__sql s = {0};
    int before = pg->n;
    page_select(pg, slice, -1, &s); /* (a slice holds about what is wanted) */
    rc = sql_prepare_cached(c, &s, &st);
    swath__sql_clear(&s);
    if (rc) return rc;
    int64_t all;
    rc = pg->csort ? take_sorted(pg, st, &all) : take_rows(pg, st);
    swath__stmt_put(c, st);
    if (rc || pg->more) return rc;
    found += pg->n - before;
    walked += (double)slice[1] - (double)slice[0] + 1;
    if (desc ? slice[0] == lo : slice[1] == hi) return 0;
    edge = desc ? slice[0] - 1 : slice[1] + 1;
    /* from the density seen; at least twice as wide while few rows tell it */
    double need = q->limit + 1 - pg->n, fit = ceil(need * walked / (double)found * 1.2);
    width = found >= 100 ? fit : found ? fmax(2 * width, fit) : 4 * width;
  }
}

int swath_search_run(swath_catalog *c, const swath_search *q, const swath_search_opts *o,
                     swath_page *page) {
  static const swath_search_opts defaults = {100000, 0, NULL};
  if (!o) o = &defaults;
  memset(page, 0, sizeof *page);
  page->matched = -1;
  int rc = check_collections(c, q);
  if (rc) return rc;
  /* On a first page the rows after it are counted from the same statement
   * (its sorter already holds them) instead of running the search again;
   * only a search on collections alone is counted another way (see
   * count_matches). */
  int64_t cap = o->count_limit;
  int scan_count = cap >= 0 && !q->token &&
                   (q->nparts || q->has_t0 || q->has_t1 || q->ids_json || q->filter.len);
  /* A datetime filter of a few weeks already confines the R*Tree's hits to
   * a few per footprint: then one statement (page and count in one pass)
   * costs less than slices and a count of their own (about 10% fewer
   * instructions per request for a 2x2 degree box and a month). */
  int short_window = q->has_t0 && q->has_t1 && q->t1 - q->t0 <= NARROW_MS;
  int sliceable = q->nparts && !q->ids_json && !short_window && !strcmp(q->sort[0].col, "i.dt");
  /* A count the R*Tree gives is taken first, and lets the page come from
   * datetime slices. Slices pay when the page is a small part of what the
   * search meets: so the R*Tree's count (or, without one, whether its
   * lookups meet more than two pages' worth of entries) decides. The
   * count, else the collections' extents, sizes the first slice. Counting
   * in the R*Tree costs about as much as the search's own descent, so a
   * search the extents say is small skips all that. */
  int rtree_count = cap >= 0 && rtree_countable(c, q), sliced = 0;
  int few = 0;        /* known or guessed to match at most two pages' worth */
  int64_t known = -2; /* numberMatched, when counted before the page */
  struct pager pg = {c, q, o, NULL, page, 0, 0, 0, 0, 0, rtree_narrow(c, q), 0, {0}};
  pg.csort = pg.narrow && q->nsort == 1 && !strcmp(q->sort[0].col, "i.dt");
  if (sliceable && (rtree_count || !scan_count)) {
    int64_t two = 2 * ((int64_t)q->limit + 1);
    double guess = area_guess(c, q);
    /* (the guess is low where items cluster, as Sentinel-2 granules do on
     * land: hence the margin) */
    if (guess * 4 > (double)two) {
      int64_t est;
      if (rtree_count) {
        known = count_by_rtree(c, q, cap, &rc);
        est = known < 0 ? INT64_MAX : known;
        scan_count = 0;
      } else {
        est = rtree_candidates(c, q, two + 1, &rc);
        if (est > two) est = (int64_t)fmin(fmax(guess, (double)est), 1e18);
      }
      if (rc) return rc;
      sliced = est > two;
      pg.est = est < INT64_MAX ? (double)est : 0;
      pg.est_exact = rtree_count;
    }
    few = !sliced;
  }
  static const char full_sql[] = "SELECT " SWATH__ROW_COLS " FROM items i WHERE i.rid = ?1";
  if (!o->ids_only &&
      (rc = swath__stmt_get(c, full_sql, (int)sizeof full_sql - 1, "search", &pg.full)))
    return rc;
  pg.items.precision = SWATH_JSON_DIGITS;
  if (!o->ids_only) {
    /* (a Sentinel-2 item is about 10 KB) */
    swath_jtext_reserve(&pg.items, (size_t)(q->limit < 100 ? q->limit : 100) * 12000);
    swath_jtext_lit(&pg.items, "[");
  }
  int64_t counted = 0;
  if (sliced) {
    rc = run_sliced(&pg);
  } else {
    int64_t lim = q->limit + 1;
    /* no LIMIT (page_select) when every row is counted, or few match */
    if ((scan_count && cap == 0) || few)
      lim = -1;
    else if (scan_count && cap >= lim)
      lim = cap + 1;
    swath__sql s = {0};
    page_select(&pg, NULL, lim, &s);
    sqlite3_stmt *st;
    rc = sql_prepare_cached(c, &s, &st);
    swath__sql_clear(&s);
    if (!rc && lim < 0 && pg.csort) {
      rc = take_sorted(&pg, st, &counted); /* (reads every row: they count) */
      swath__stmt_put(c, st);
    } else if (!rc) {
      rc = take_rows(&pg, st);
      counted = pg.n;
      if (!rc && scan_count && pg.more) { /* st is on the row after the page */
        int r = SQLITE_ROW;
        counted++;
        while ((cap == 0 || counted <= cap) && (r = sqlite3_step(st)) == SQLITE_ROW)
          counted++;
        if (r != SQLITE_ROW && r != SQLITE_DONE) rc = swath__sql_error(c->db, "search: counting");
      }
      swath__stmt_put(c, st);
    }
  }
  swath__stmt_put(c, pg.full);
  if (!o->ids_only) {
    swath_jtext_lit(&pg.items, "]");
    if (!rc && pg.items.failed) rc = swath_error_set(SWATH_ENOMEM, "search: out of memory");
    page->features = pg.items.p;
    page->features_len = pg.items.len;
  }
  if (!rc && !pg.more) { /* exactly `limit` rows or fewer: nothing after them */
    free(page->next_token);
    page->next_token = NULL;
  }
  page->returned = pg.n;
  if (!rc && known != -2)
    page->matched = known;
  else if (!rc && scan_count)
    page->matched = cap > 0 && counted > cap ? -1 : counted;
  else if (!rc && cap >= 0)
    page->matched =
        rtree_count ? count_by_rtree(c, q, cap, &rc) : count_matches(c, q, pg.narrow, cap, &rc);
  if (!rc) rc = color_warnings(c, q, page);
  if (rc) swath_page_clear(page);
  return rc;
}

void swath_page_clear(swath_page *p) {
  free(p->features);
  free(p->ids);
  json_decref(p->warnings);
  free(p->next_token);
  memset(p, 0, sizeof *p);
  p->matched = -1;
}

int swath_page_write(const swath_page *p, const json_t *links, swath_jtext *out) {
  swath_jtext_reserve(out, p->features_len + 4096);
  swath_jtext_lit(out, "{\"type\":\"FeatureCollection\",\"features\":");
  if (p->features)
    swath_jtext_raw(out, p->features, p->features_len);
  else
    swath_jtext_lit(out, "[]");
  swath_jtext_lit(out, ",\"numberReturned\":");
  swath_jtext_int(out, p->returned);
  if (p->matched >= 0) {
    swath_jtext_lit(out, ",\"numberMatched\":");
    swath_jtext_int(out, (long long)p->matched);
  }
  swath_jtext_lit(out, ",\"links\":");
  if (links)
    swath_jtext_value(out, links);
  else
    swath_jtext_lit(out, "[]");
  if (p->warnings) {
    swath_jtext_lit(out, ",\"swath:warnings\":");
    swath_jtext_value(out, p->warnings);
  }
  swath_jtext_lit(out, "}");
  return out->failed ? swath_error_set(SWATH_ENOMEM, "search: out of memory") : 0;
}

int swath__search_prepare_all(swath_catalog *c, const swath_search *q, const char *cols,
                              sqlite3_stmt **out) {
  int rc = check_collections(c, q);
  if (rc) return rc;
  swath__sql s = {0};
  swath__sql_add(&s, "SELECT %s", cols);
  from_where(c, q, 0, 0, NULL, &s);
  swath__sql_add(&s, " ORDER BY i.rid");
  rc = swath__sql_prepare(c->db, &s, out);
  swath__sql_clear(&s);
  return rc;
}

/* ---- single items and collections ------------------------------------ */

int swath_catalog_get_item(swath_catalog *c, const char *collection, const char *id, json_t **out) {
  static const char sql[] =
      "SELECT " SWATH__ROW_COLS " FROM items i WHERE i.id = ?1 AND i.collection = ?2";
  sqlite3_stmt *st;
  *out = NULL;
  int rc = swath__stmt_get(c, sql, (int)sizeof sql - 1, "catalog: item", &st);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, collection, -1, SQLITE_STATIC);
  int r = sqlite3_step(st);
  if (r == SQLITE_ROW) {
    swath__row row;
    swath__row_read(st, 0, &row);
    rc = swath__row_item(&row, out);
  } else if (r == SQLITE_DONE) {
    rc = swath_error_set(SWATH_ENOTFOUND, "item '%s' is not in collection '%s'", id, collection);
  } else {
    rc = swath__sql_error(c->db, "catalog: item");
  }
  swath__stmt_put(c, st);
  return rc;
}

static json_t *collection_json(sqlite3_stmt *st) {
  const char *id = (const char *)sqlite3_column_text(st, 0);
  const char *title = (const char *)sqlite3_column_text(st, 1);
  const char *desc = (const char *)sqlite3_column_text(st, 2);
  int s2 = strncmp(id, "sentinel-2", 10) == 0;
  char t0[32], t1[32];
  swath_time_format(sqlite3_column_int64(st, 7), t0);
  swath_time_format(sqlite3_column_int64(st, 8), t1);
  /* (no extent: only items without geometry; say the whole world) */
  int world = sqlite3_column_type(st, 3) == SQLITE_NULL;
  if (!desc)
    desc = s2 ? "Sentinel-2 Level-1C granules from Google's public index "
                "(gs://gcp-public-data-sentinel-2/index.csv.gz)"
              : "Scenes ingested into a swath catalog";
  json_t *c = json_pack(
      "{s:s, s:s, s:[], s:s, s:s, s:s, s:s, s:{s:{s:[[ffff]]}, s:{s:[[ss]]}}, s:{s:I}, s:[]}",
      "type", "Collection", "stac_version", "1.0.0", "stac_extensions", "id", id, "title",
      title ? title : id, "description", desc, "license", s2 ? "proprietary" : "various", "extent",
      "spatial", "bbox", world ? -180.0 : sqlite3_column_double(st, 3),
      world ? -90.0 : sqlite3_column_double(st, 4), world ? 180.0 : sqlite3_column_double(st, 5),
      world ? 90.0 : sqlite3_column_double(st, 6), "temporal", "interval", t0, t1, "summaries",
      "swath:item_count", (json_int_t)sqlite3_column_int64(st, 9), "links");
  if (c && s2)
    json_array_append_new(
        json_object_get(c, "links"),
        json_pack("{s:s, s:s, s:s}", "rel", "license", "title", "Copernicus Sentinel data terms",
                  "href",
                  "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_"
                  "Notice"));
  return c;
}

static int collections(swath_catalog *c, const char *id, json_t **out) {
  sqlite3_stmt *st;
  *out = NULL;
  static const char sql[] = "SELECT id, title, description, minx, miny, maxx, maxy, dt0, dt1, n, "
                            "doc FROM collections WHERE ?1 IS NULL OR id = ?1 ORDER BY id";
  int rc = swath__stmt_get(c, sql, (int)sizeof sql - 1, "catalog: collections", &st);
  if (rc) return rc;
  if (id) sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  json_t *list = json_array();
  int r;
  while ((r = sqlite3_step(st)) == SQLITE_ROW)
    json_array_append_new(list, collection_json(st));
  rc = r == SQLITE_DONE ? 0 : swath__sql_error(c->db, "catalog: collections");
  swath__stmt_put(c, st);
  if (!rc && id && json_array_size(list) == 0)
    rc = swath_error_set(SWATH_ENOTFOUND, "collection '%s' does not exist", id);
  if (rc) {
    json_decref(list);
    return rc;
  }
  if (id) {
    *out = json_incref(json_array_get(list, 0));
    json_decref(list);
  } else {
    *out = list;
  }
  return 0;
}

int swath_catalog_collections(swath_catalog *c, json_t **out) { return collections(c, NULL, out); }

int swath_catalog_collection(swath_catalog *c, const char *id, json_t **out) {
  return collections(c, id, out);
}
