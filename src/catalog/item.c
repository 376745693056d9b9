/* item.c: times, Sentinel-2 naming, and turning a stored row into a STAC
 * 1.0 Item.
 *
 * Sentinel-2 rows are stored compactly (the index fields, see
 * catalog_int.h) and their Item is built on the way out, so a 15-million-row
 * index stays a few GB. Band file names follow the two naming conventions of
 * Google's bucket:
 *   since 2016-12-06: GRANULE/<granule>/IMG_DATA/T<MGRS>_<datatake start>_B04.jp2
 *     where <datatake start> is the third field of the PRODUCT_ID
 *     (S2A_MSIL1C_20230615T102031_N0509_...), and a TCI (8-bit true colour);
 *   before ("OPER" granules): GRANULE/<granule>/IMG_DATA/<granule without
 *     its _Nxx.yy suffix>_B04.jp2, and no TCI. Such items carry
 *     s2:legacy_naming = true. */
#include <cpl_string.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "core/error.h"

/* ---- time ------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (era arithmetic, so it
 * holds for any year without tables). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int digits(const char *s, int n, int *v) {
  int x = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    x = x * 10 + (s[i] - '0');
  }
  *v = x;
  return 1;
}

static int month_days(int y, int m) {
  static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return md[m - 1] + (m == 2 && leap);
}

int swath_time_parse(const char *s, int end_of_day, const char *what, int64_t *ms) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  const char *p = s;
  if (!s || !digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) || p[7] != '-' ||
      !digits(p + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
    goto bad;
  p += 10;
  int64_t frac_ms = 0, offset_min = 0;
  if (*p == '\0') {
    int64_t day = days_from_civil(y, mo, d);
    *ms = day * 86400000 + (end_of_day ? 86400000 - 1 : 0);
    return 0;
  }
  if ((*p != 'T' && *p != 't' && *p != ' ') || !digits(p + 1, 2, &h) || p[3] != ':' ||
      !digits(p + 4, 2, &mi) || p[6] != ':' || !digits(p + 7, 2, &sec) || h > 23 || mi > 59 ||
      sec > 60)
    goto bad;
  p += 9;
  if (sec == 60) sec = 59; /* a leap second: the closest representable instant */
  if (*p == '.') {
    p++;
    int nd = 0;
    int64_t scale = 100;
    while (*p >= '0' && *p <= '9') {
      if (nd < 3) frac_ms += (*p - '0') * scale;
      scale /= 10;
      nd++;
      p++;
    }
    if (nd == 0) goto bad;
  }
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
      goto bad;
    offset_min = (oh * 60 + om) * (*p == '+' ? 1 : -1);
    p += 6;
  } else {
    goto bad;
  }
  if (*p) goto bad;
  *ms = (days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60) * 1000 +
        frac_ms;
  return 0;
bad:
  return swath_error_set(SWATH_EINVAL,
                         "%s: '%s' is not an RFC 3339 date-time (e.g. 2023-06-15T10:25:59Z) or "
                         "date (2023-06-15)",
                         what, s ? s : "(null)");
}

void swath_time_format(int64_t ms, char *buf) {
  int64_t day = ms >= 0 ? ms / 86400000 : -((-ms + 86400000 - 1) / 86400000);
  int64_t rem = ms - day * 86400000;
  int y, m, d;
  civil_from_days(day, &y, &m, &d);
  int s = (int)(rem / 1000), milli = (int)(rem % 1000);
  char tmp[96]; /* room for any int, so the compiler sees no truncation */
  if (milli)
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, s / 3600, s / 60 % 60,
             s % 60, milli);
  else
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, s / 3600, s / 60 % 60,
             s % 60);
  size_t n = strlen(tmp);
  if (n > 31) n = 31;
  memcpy(buf, tmp, n);
  buf[n] = '\0';
}

/* ---- Sentinel-2 naming -------------------------------------------------- */

int swath__s2_unpack(char *buf, const char *f[S2F_COUNT]) {
  int n = 0;
  char *p = buf;
  for (;;) {
    if (n == S2F_COUNT) return SWATH_EINVAL;
    f[n++] = p;
    char *t = strchr(p, '\t');
    if (!t) break;
    *t = '\0';
    p = t + 1;
  }
  return n == S2F_COUNT ? 0 : SWATH_EINVAL;
}

int swath__s2_is_legacy(const char *granule_id) { return strstr(granule_id, "_OPER_") != NULL; }

int swath__s2_default_base(const char *mgrs, const char *product, char *buf, size_t n) {
  /* 32TMT -> 32/T/MT; Google drops the zone's leading zero (01CCV -> 1/C/CV) */
  if (strlen(mgrs) != 5) return SWATH_EINVAL;
  int zone = (mgrs[0] - '0') * 10 + (mgrs[1] - '0');
  int w = snprintf(buf, n, "gs://gcp-public-data-sentinel-2/tiles/%d/%c/%.2s/%s.SAFE", zone,
                   mgrs[2], mgrs + 3, product);
  return w < 0 || (size_t)w >= n ? SWATH_EINVAL : 0;
}

int swath__s2_band_href(const char *base_url, const char *granule, const char *product,
                        const char *mgrs, const char *band, int https, char *buf, size_t n) {
  const char *prefix = "", *base = base_url;
  if (https && strncmp(base_url, "gs://", 5) == 0) {
    prefix = "https://storage.googleapis.com/";
    base = base_url + 5;
  }
  int w;
  if (swath__s2_is_legacy(granule)) {
    const char *suffix = strrchr(granule, '_'); /* _N02.04 */
    int keep = suffix && suffix[1] == 'N' ? (int)(suffix - granule) : (int)strlen(granule);
    w = snprintf(buf, n, "%s%s/GRANULE/%s/IMG_DATA/%.*s_%s.jp2", prefix, base, granule, keep,
                 granule, band);
  } else {
    /* S2A_MSIL1C_20230615T102031_...: the datatake start is field 3 */
    const char *t = strchr(product, '_');
    t = t ? strchr(t + 1, '_') : NULL;
    if (!t || strlen(t) < 16) return SWATH_EINVAL;
    w = snprintf(buf, n, "%s%s/GRANULE/%s/IMG_DATA/T%s_%.15s_%s.jp2", prefix, base, granule, mgrs,
                 t + 1, band);
  }
  return w < 0 || (size_t)w >= n ? SWATH_EINVAL : w;
}

static const struct {
  const char *name, *common, *title;
  double gsd;
} S2_BANDS[] = {
    {"B01", "coastal", "Band 1 (coastal aerosol)", 60},
    {"B02", "blue", "Band 2 (blue)", 10},
    {"B03", "green", "Band 3 (green)", 10},
    {"B04", "red", "Band 4 (red)", 10},
    {"B05", "rededge", "Band 5 (red edge 1)", 20},
    {"B06", "rededge", "Band 6 (red edge 2)", 20},
    {"B07", "rededge", "Band 7 (red edge 3)", 20},
    {"B08", "nir", "Band 8 (NIR)", 10},
    {"B8A", "nir08", "Band 8A (narrow NIR)", 20},
    {"B09", "nir09", "Band 9 (water vapour)", 60},
    {"B10", "cirrus", "Band 10 (SWIR cirrus)", 60},
    {"B11", "swir16", "Band 11 (SWIR 1.6)", 20},
    {"B12", "swir22", "Band 12 (SWIR 2.2)", 20},
};

static json_t *s2_asset(const char *base, const char *granule, const char *product,
                        const char *mgrs, const char *band, const char *title, const char *role) {
  char gs[1024], https[1024];
  if (swath__s2_band_href(base, granule, product, mgrs, band, 0, gs, sizeof gs) < 0 ||
      swath__s2_band_href(base, granule, product, mgrs, band, 1, https, sizeof https) < 0)
    return NULL;
  json_t *a = json_pack("{s:s, s:s, s:s, s:[s]}", "href", https, "type", "image/jp2", "title",
                        title, "roles", role);
  if (a && strcmp(gs, https) != 0)
    json_object_set_new(
        a, "alternate",
        json_pack("{s:{s:s, s:s}}", "gs", "title", "Google Cloud Storage", "href", gs));
  return a;
}

static json_t *bbox_geometry(const double b[4]) {
  if (b[0] <= b[2])
    return json_pack("{s:s, s:[[[ff][ff][ff][ff][ff]]]}", "type", "Polygon", "coordinates", b[0],
                     b[1], b[2], b[1], b[2], b[3], b[0], b[3], b[0], b[1]);
  /* crossing the antimeridian: split at 180 as RFC 7946 asks */
  return json_pack("{s:s, s:[[[[ff][ff][ff][ff][ff]]], [[[ff][ff][ff][ff][ff]]]]}", "type",
                   "MultiPolygon", "coordinates", b[0], b[1], 180.0, b[1], 180.0, b[3], b[0], b[3],
                   b[0], b[1], -180.0, b[1], b[2], b[1], b[2], b[3], -180.0, b[3], -180.0, b[1]);
}

static int s2_item(const swath__row *r, json_t **out) {
  char *buf = strdup(r->doc), based[600], t[32];
  const char *f[S2F_COUNT];
  if (!buf) return swath_error_set(SWATH_ENOMEM, "catalog: out of memory");
  if (swath__s2_unpack(buf, f)) {
    free(buf);
    return swath_error_set(SWATH_EINTERNAL, "catalog: item '%s' has a damaged record", r->id);
  }
  const char *base = f[S2F_BASE_URL];
  if (!*base) {
    if (swath__s2_default_base(f[S2F_MGRS], f[S2F_PRODUCT], based, sizeof based)) {
      free(buf);
      return swath_error_set(SWATH_EINTERNAL, "catalog: item '%s' has a bad MGRS tile", r->id);
    }
    base = based;
  }
  int legacy = swath__s2_is_legacy(r->id);
  char platform[16] = "sentinel-2";
  if (strlen(f[S2F_PRODUCT]) > 3 && f[S2F_PRODUCT][0] == 'S' && f[S2F_PRODUCT][1] == '2')
    snprintf(platform, sizeof platform, "sentinel-2%c", f[S2F_PRODUCT][2] | 0x20);
  swath_time_format(r->dt, t);
  json_t *props = json_pack("{s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:b}", "datetime", t, "platform",
                            platform, "constellation", "sentinel-2", "instruments", "msi",
                            "s2:product_id", f[S2F_PRODUCT], "s2:datatake_id", f[S2F_DATATAKE],
                            "s2:mgrs_tile", f[S2F_MGRS], "s2:legacy_naming", legacy);
  if (!isnan(r->cloud)) json_object_set_new(props, "eo:cloud_cover", json_real(r->cloud));
  if (*f[S2F_SIZE]) json_object_set_new(props, "s2:total_size", json_integer(atoll(f[S2F_SIZE])));
  if (*f[S2F_QUALITY])
    json_object_set_new(props, "s2:geometric_quality", json_string(f[S2F_QUALITY]));
  if (*f[S2F_GENERATION])
    json_object_set_new(props, "s2:generation_time", json_string(f[S2F_GENERATION]));
  json_object_set_new(props, "s2:base_url", json_string(base));

  json_t *assets = json_object();
  for (size_t k = 0; k < sizeof S2_BANDS / sizeof *S2_BANDS; k++) {
    json_t *a = s2_asset(base, r->id, f[S2F_PRODUCT], f[S2F_MGRS], S2_BANDS[k].name,
                         S2_BANDS[k].title, "data");
    if (!a) continue;
    json_object_set_new(a, "gsd", json_real(S2_BANDS[k].gsd));
    json_object_set_new(
        a, "eo:bands",
        json_pack("[{s:s, s:s}]", "name", S2_BANDS[k].name, "common_name", S2_BANDS[k].common));
    json_object_set_new(assets, S2_BANDS[k].name, a);
  }
  if (!legacy) {
    json_t *a = s2_asset(base, r->id, f[S2F_PRODUCT], f[S2F_MGRS], "TCI",
                         "True colour image (8-bit, 0 = no data)", "visual");
    if (a) json_object_set_new(assets, "TCI", a);
  }
  json_t *item = json_pack("{s:s, s:s, s:[s, s], s:s, s:s, s:o, s:[ffff], s:o, s:[], s:o}", "type",
                           "Feature", "stac_version", "1.0.0", "stac_extensions",
                           "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
                           "https://stac-extensions.github.io/alternate-assets/v1.1.0/schema.json",
                           "id", r->id, "collection", r->collection, "geometry",
                           bbox_geometry(r->bbox), "bbox", r->bbox[0], r->bbox[1], r->bbox[2],
                           r->bbox[3], "properties", props, "links", "assets", assets);
  free(buf);
  if (!item) return swath_error_set(SWATH_ENOMEM, "catalog: cannot build item '%s'", r->id);
  *out = item;
  return 0;
}

void swath__row_read(sqlite3_stmt *st, int c, swath__row *r) {
  memset(r, 0, sizeof *r);
  r->rid = sqlite3_column_int64(st, c + 0);
  r->id = (const char *)sqlite3_column_text(st, c + 1);
  r->collection = (const char *)sqlite3_column_text(st, c + 2);
  r->kind = sqlite3_column_int(st, c + 3);
  r->dt = sqlite3_column_int64(st, c + 4);
  r->dt0 = sqlite3_column_int64(st, c + 5);
  r->dt1 = sqlite3_column_int64(st, c + 6);
  r->cloud = sqlite3_column_type(st, c + 7) == SQLITE_NULL ? NAN : sqlite3_column_double(st, c + 7);
  for (int k = 0; k < 4; k++)
    r->bbox[k] = sqlite3_column_double(st, c + 8 + k);
  r->geom = sqlite3_column_blob(st, c + 12);
  r->geom_len = sqlite3_column_bytes(st, c + 12);
  r->doc = (const char *)sqlite3_column_text(st, c + 13);
  r->has_color = sqlite3_column_type(st, c + 14) != SQLITE_NULL;
  for (int k = 0; k < 3; k++)
    r->rgb[k] = sqlite3_column_double(st, c + 14 + k);
  r->bright = sqlite3_column_double(st, c + 17);
  r->cmethod = (const char *)sqlite3_column_text(st, c + 18);
  r->cpixels = sqlite3_column_int64(st, c + 19);
  r->csource = (const char *)sqlite3_column_text(st, c + 20);
}

int swath__row_item(const swath__row *r, json_t **out) {
  json_t *item = NULL;
  if (r->kind == SWATH_SCENE_S2) {
    int rc = s2_item(r, &item);
    if (rc) return rc;
  } else {
    json_error_t err;
    item = json_loads(r->doc, 0, &err);
    if (!json_is_object(item)) {
      json_decref(item);
      return swath_error_set(SWATH_EINTERNAL, "catalog: item '%s' has a damaged document: %s",
                             r->id, err.text);
    }
  }
  if (r->has_color) {
    json_t *props = json_object_get(item, "properties");
    if (json_is_object(props)) {
      json_object_set_new(props, "color:red", json_real(r->rgb[0]));
      json_object_set_new(props, "color:green", json_real(r->rgb[1]));
      json_object_set_new(props, "color:blue", json_real(r->rgb[2]));
      json_object_set_new(props, "color:brightness", json_real(r->bright));
      json_object_set_new(props, "color:method", json_string(r->cmethod ? r->cmethod : ""));
      json_object_set_new(props, "color:pixels", json_integer(r->cpixels));
      if (r->csource) json_object_set_new(props, "color:source", json_string(r->csource));
    }
  }
  *out = item;
  return 0;
}

/* ---- links and hrefs ---------------------------------------------------- */

static char *url_escape(const char *s) { return CPLEscapeString(s, -1, CPLES_URL); }

void swath_item_add_links(json_t *item, const char *base) {
  const char *id = json_string_value(json_object_get(item, "id"));
  const char *coll = json_string_value(json_object_get(item, "collection"));
  if (!id || !coll) return;
  json_t *old = json_object_get(item, "links"), *links = json_array();
  size_t i;
  json_t *l;
  /* keep the document's own links except those this server owns */
  json_array_foreach(old, i, l) {
    const char *rel = json_string_value(json_object_get(l, "rel"));
    if (rel && strcmp(rel, "self") && strcmp(rel, "parent") && strcmp(rel, "collection") &&
        strcmp(rel, "root"))
      json_array_append(links, l);
  }
  char *eid = url_escape(id), *ec = url_escape(coll);
  size_t n = strlen(base) + strlen(eid) + strlen(ec) + 64;
  char *self = malloc(n), *parent = malloc(n), *root = malloc(n);
  if (self && parent && root) {
    snprintf(self, n, "%s/collections/%s/items/%s", base, ec, eid);
    snprintf(parent, n, "%s/collections/%s", base, ec);
    snprintf(root, n, "%s/", base);
    json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "rel", "self", "type",
                                           "application/geo+json", "href", self));
    json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "rel", "parent", "type",
                                           "application/json", "href", parent));
    json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "rel", "collection", "type",
                                           "application/json", "href", parent));
    json_array_append_new(links, json_pack("{s:s, s:s, s:s}", "rel", "root", "type",
                                           "application/json", "href", root));
  }
  free(self);
  free(parent);
  free(root);
  CPLFree(eid);
  CPLFree(ec);
  json_object_set_new(item, "links", links);
}

char *swath_href_to_gdal(const char *href) {
  size_t n = strlen(href) + 64;
  char *s = malloc(n);
  if (!s) return NULL;
  if (strncmp(href, "gs://", 5) == 0)
    snprintf(s, n, "/vsicurl/https://storage.googleapis.com/%s", href + 5);
  else if (strncmp(href, "http://", 7) == 0 || strncmp(href, "https://", 8) == 0)
    snprintf(s, n, "/vsicurl/%s", href);
  else if (strncmp(href, "s3://", 5) == 0)
    snprintf(s, n, "/vsis3/%s", href + 5);
  else if (strncmp(href, "file://", 7) == 0)
    snprintf(s, n, "%s", href + 7);
  else
    snprintf(s, n, "%s", href);
  return s;
}
