/* ingest_stac.c: STAC Items as a single Item, an ItemCollection
 * (FeatureCollection of Items), or newline-delimited JSON (one Item or
 * ItemCollection per line).
 *
 * NDJSON streams line by line in constant memory; a multi-line document
 * (a pretty-printed Item or ItemCollection) is one JSON value and is parsed
 * whole by jansson. A UTF-8 byte order mark at the start of the file is
 * skipped, and strings may hold \u0000 (not ids or collections). Each
 * Item keeps its own document (re-serialised compactly, every double
 * exact); the footprint is its geometry (stored as WKB for the exact
 * intersects test) and its bbox, computed from the geometry when absent
 * and then added to the document. An Item whose geometry is null has no
 * footprint: it is stored with SWATH_SCENE_NO_GEOMETRY and a bbox no
 * spatial search meets (catalog_int.h). An Item that breaks the rules a
 * search depends on (id, geometry in lon/lat, datetime as an RFC 3339
 * date-time, or start/end_datetime) is reported and skipped. */
#include <cpl_vsi.h>
#include <math.h>
#include <ogr_api.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "core/error.h"

#define DEFAULT_COLLECTION "items"

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int probe(const char *path, const char *head, size_t n, int is_dir) {
  if (is_dir) return 0;
  if (ends_with(path, ".ndjson") || ends_with(path, ".jsonl") || ends_with(path, ".geojsonl") ||
      ends_with(path, ".ndjson.gz") || ends_with(path, ".jsonl.gz"))
    return 80;
  size_t i = n >= 3 && !memcmp(head, "\xef\xbb\xbf", 3) ? 3 : 0; /* a byte order mark */
  for (; i < n; i++) {
    if (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n') continue;
    return head[i] == '{' ? 60 : 0;
  }
  return 0;
}

struct ctx {
  const swath_ingest_opts *o;
  swath_ingest_sink *sink;
  char msg[512];
};

static int bad(struct ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct ctx *x, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(x->msg, sizeof x->msg, fmt, ap);
  va_end(ap);
  return 1;
}

static int item_time(struct ctx *x, json_t *props, const char *key, int end, int64_t *ms,
                     int *present) {
  json_t *v = json_object_get(props, key);
  *present = 0;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_string(v)) return bad(x, "properties.%s is not a string", key);
  /* (a search datetime may be a bare date: an item's may not) */
  if (json_string_length(v) <= 10)
    return bad(x, "properties.%s '%s' is not an RFC 3339 date-time (e.g. 2023-06-15T10:25:59Z)",
               key, json_string_value(v));
  if (swath_time_parse(json_string_value(v), end, key, ms))
    return bad(x, "properties.%s", swath_error_message());
  *present = 1;
  return 0;
}

static int footprint(struct ctx *x, json_t *f, const char *id, swath_scene *s, unsigned char **wkb);
static int stored(struct ctx *x, swath_scene *s, json_t *f);

/* One Feature -> one scene: 0 put (or a put failure < 0), 1 malformed. */
static int feature(struct ctx *x, json_t *f) {
  if (!json_is_object(f)) return bad(x, "not a JSON object");
  const char *type = json_string_value(json_object_get(f, "type"));
  if (!type || strcmp(type, "Feature") != 0)
    return bad(x, "type is '%s', expected 'Feature'", type ? type : "(missing)");
  const char *id = json_string_value(json_object_get(f, "id"));
  if (!id || !*id) return bad(x, "id is missing or not a string");
  if (strlen(id) != json_string_length(json_object_get(f, "id")))
    return bad(x, "id '%s...' holds a NUL character", id);
  json_t *props = json_object_get(f, "properties");
  if (!json_is_object(props)) return bad(x, "item '%s': properties is not an object", id);
  swath_scene s = {0};
  s.id = id;
  s.kind = SWATH_SCENE_STAC;
  s.cloud = NAN;
  int has_dt, has0, has1;
  int64_t t0 = 0, t1 = 0;
  if (item_time(x, props, "datetime", 0, &s.dt, &has_dt) ||
      item_time(x, props, "start_datetime", 0, &t0, &has0) ||
      item_time(x, props, "end_datetime", 0, &t1, &has1))
    return 1;
  if (!has_dt && !(has0 && has1))
    return bad(x, "item '%s': needs properties.datetime or start_datetime and end_datetime", id);
  if (has0 && has1 && t0 > t1) return bad(x, "item '%s': start_datetime is after end_datetime", id);
  s.dt0 = has0 ? t0 : s.dt;
  s.dt1 = has1 ? t1 : s.dt;
  if (!has_dt) s.dt = t0;
  s.kind |= (has_dt ? 0 : SWATH_SCENE_NO_DATETIME) | (has0 ? SWATH_SCENE_HAS_START : 0) |
            (has1 ? SWATH_SCENE_HAS_END : 0);
  json_t *cc = json_object_get(props, "eo:cloud_cover");
  if (cc && !json_is_null(cc)) {
    if (!json_is_number(cc) || json_number_value(cc) < 0 || json_number_value(cc) > 100)
      return bad(x, "item '%s': properties.eo:cloud_cover is not a number in 0-100", id);
    s.cloud = json_number_value(cc);
  }
  /* Collection: the item's own, else the one given on the command line. */
  const char *coll = json_string_value(json_object_get(f, "collection"));
  if (coll && strlen(coll) != json_string_length(json_object_get(f, "collection")))
    return bad(x, "item '%s': collection '%s...' holds a NUL character", id, coll);
  if (!coll || !*coll) {
    coll = x->o->collection ? x->o->collection : DEFAULT_COLLECTION;
    json_object_set_new(f, "collection", json_string(coll));
  }
  s.collection = coll;

  unsigned char *wkb = NULL;
  int rc = footprint(x, f, id, &s, &wkb);
  if (rc == 0) rc = stored(x, &s, f);
  free(wkb);
  return rc;
}

/* The footprint of Item f into s: its bbox, and its geometry as WKB in *wkb
 * (malloc'd; NULL when the geometry is null). 0, 1 malformed, or < 0. */
static int footprint(struct ctx *x, json_t *f, const char *id, swath_scene *s,
                     unsigned char **wkb) {
  json_t *gj = json_object_get(f, "geometry");
  if (json_is_null(gj)) { /* (bbox, if any, is kept in the document, not used) */
    s->kind |= SWATH_SCENE_NO_GEOMETRY;
    memcpy(s->bbox, SWATH__NOWHERE, sizeof s->bbox);
    return 0;
  }
  if (!json_is_object(gj)) return bad(x, "item '%s': geometry is missing", id);
  char *gtext = json_dumps(gj, JSON_COMPACT);
  OGRGeometryH g = gtext ? OGR_G_CreateGeometryFromJson(gtext) : NULL;
  free(gtext);
  if (!g || OGR_G_IsEmpty(g)) {
    if (g) OGR_G_DestroyGeometry(g);
    return bad(x, "item '%s': geometry is not valid GeoJSON", id);
  }
  OGR_G_FlattenTo2D(g);
  OGREnvelope e;
  OGR_G_GetEnvelope(g, &e);
  if (!(e.MinX >= -180 && e.MaxX <= 180 && e.MinY >= -90 && e.MaxY <= 90)) {
    OGR_G_DestroyGeometry(g);
    return bad(x,
               "item '%s': geometry spans longitudes %.17g..%.17g, latitudes %.17g..%.17g: not "
               "lon/lat (EPSG:4326, longitudes in -180..180)",
               id, e.MinX, e.MaxX, e.MinY, e.MaxY);
  }
  json_t *bb = json_object_get(f, "bbox");
  if (bb) {
    size_t n = json_array_size(bb);
    int ok = n == 4 || n == 6;
    double v[6];
    for (size_t k = 0; ok && k < n; k++) {
      ok = json_is_number(json_array_get(bb, k));
      v[k] = json_number_value(json_array_get(bb, k));
    }
    if (!ok) {
      OGR_G_DestroyGeometry(g);
      return bad(x, "item '%s': bbox must be 4 or 6 numbers", id);
    }
    int h = (int)n / 2;
    s->bbox[0] = v[0], s->bbox[1] = v[1], s->bbox[2] = v[h], s->bbox[3] = v[h + 1];
  } else { /* computed, and served: the document gets it */
    s->bbox[0] = e.MinX, s->bbox[1] = e.MinY, s->bbox[2] = e.MaxX, s->bbox[3] = e.MaxY;
    json_object_set_new(f, "bbox", json_pack("[f, f, f, f]", e.MinX, e.MinY, e.MaxX, e.MaxY));
  }
  if (!(s->bbox[1] >= -90 && s->bbox[3] <= 90 && s->bbox[1] <= s->bbox[3] && s->bbox[0] >= -180 &&
        s->bbox[2] <= 180 && s->bbox[0] <= 180 && s->bbox[2] >= -180)) {
    OGR_G_DestroyGeometry(g);
    return bad(x, "item '%s': bbox [%g, %g, %g, %g] is not lon/lat (EPSG:4326)", id, s->bbox[0],
               s->bbox[1], s->bbox[2], s->bbox[3]);
  }
  int wkb_len = OGR_G_WkbSize(g);
  if (!(*wkb = malloc(wkb_len))) {
    OGR_G_DestroyGeometry(g);
    return swath_error_set(SWATH_ENOMEM, "ingest: out of memory");
  }
  OGR_G_ExportToWkb(g, wkbNDR, *wkb);
  OGR_G_DestroyGeometry(g);
  s->wkb = *wkb;
  s->wkb_len = (size_t)wkb_len;
  return 0;
}

/* Put scene s (its document: Item f): 0, or a put failure. */
static int stored(struct ctx *x, swath_scene *s, json_t *f) {
  char *csrc = swath__color_source(f);
  s->color_src = csrc;
  char *doc = json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER);
  int rc = doc ? 0 : swath_error_set(SWATH_ENOMEM, "ingest: out of memory");
  s->doc = doc;
  if (!rc) rc = x->sink->put(x->sink->ud, s);
  free(doc);
  free(csrc);
  return rc;
}

/* An Item or an ItemCollection; `line` for messages (0: not line-based). */
static int value(struct ctx *x, json_t *v, int64_t line) {
  const char *type = json_string_value(json_object_get(v, "type"));
  if (type && strcmp(type, "FeatureCollection") == 0) {
    json_t *fs = json_object_get(v, "features");
    if (!json_is_array(fs)) {
      x->sink->bad(x->sink->ud, line, "FeatureCollection without a features array");
      return 0;
    }
    size_t i;
    json_t *f;
    json_array_foreach(fs, i, f) {
      int rc = feature(x, f);
      if (rc < 0) return rc;
      if (rc) {
        char m[600];
        snprintf(m, sizeof m, "features[%zu]: %s", i, x->msg);
        x->sink->bad(x->sink->ud, line, m);
      }
    }
    return 0;
  }
  int rc = feature(x, v);
  if (rc > 0) x->sink->bad(x->sink->ud, line, x->msg);
  return rc < 0 ? rc : 0;
}

static int run(const char *path, const swath_ingest_opts *o, swath_ingest_sink *sink) {
  struct ctx x = {o, sink, {0}};
  swath__lines *l;
  int rc = swath__lines_open(path, &l);
  if (rc) return rc;
  char *line;
  size_t len;
  int first = 1;
  while ((rc = swath__lines_next(l, &line, &len)) == 1) {
    size_t k = 0;
    while (k < len && (line[k] == ' ' || line[k] == '\t'))
      k++;
    if (k == len) continue;
    if (first && len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) /* a byte order mark */
      line += 3, len -= 3;
    json_error_t err;
    json_t *v = json_loadb(line, len, JSON_ALLOW_NUL, &err);
    if (first && !v && (size_t)err.position >= len) {
      /* The value goes on past the line: a (pretty-printed) document. */
      swath__lines_close(l);
      goto whole;
    }
    first = 0;
    if (!v) {
      char m[300];
      snprintf(m, sizeof m, "not valid JSON: %s (column %d)", err.text, err.column);
      sink->bad(sink->ud, swath__lines_number(l), m);
      continue;
    }
    rc = value(&x, v, swath__lines_number(l));
    json_decref(v);
    if (rc) break;
  }
  swath__lines_close(l);
  return rc < 0 ? rc : 0;

whole:;
  GByte *buf = NULL;
  vsi_l_offset size = 0;
  if (!VSIIngestFile(NULL, path, &buf, &size, (GIntBig)4 << 30))
    return swath_error_set(SWATH_EIO, "ingest: cannot read '%s'", path);
  json_error_t err;
  size_t bom = size >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3) ? 3 : 0;
  json_t *v = json_loadb((const char *)buf + bom, (size_t)size - bom, JSON_ALLOW_NUL, &err);
  VSIFree(buf);
  if (!v)
    return swath_error_set(SWATH_EINVAL, "ingest: '%s' line %d column %d: not valid JSON: %s", path,
                           err.line, err.column, err.text);
  if (!json_is_object(v)) {
    json_decref(v);
    return swath_error_set(SWATH_EINVAL,
                           "ingest: '%s' is JSON but not a STAC Item or "
                           "ItemCollection",
                           path);
  }
  rc = value(&x, v, 0);
  json_decref(v);
  return rc;
}

const swath_ingest_vtable swath_ingest_stac = {"stac", SWATH_INGEST_ABI, probe, run};
