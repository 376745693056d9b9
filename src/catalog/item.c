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
#include <pthread.h>
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
  if (zone < 0 || zone > 99) {
    int w = snprintf(buf, n, "gs://gcp-public-data-sentinel-2/tiles/%d/%c/%.2s/%s.SAFE", zone,
                     mgrs[2], mgrs + 3, product);
    return w < 0 || (size_t)w >= n ? SWATH_EINVAL : 0;
  }
  /* the same without snprintf: it ran for every row of an index */
  static const char pre[] = "gs://gcp-public-data-sentinel-2/tiles/";
  char mid[16];
  size_t ml = 0;
  if (zone >= 10) mid[ml++] = (char)('0' + zone / 10);
  mid[ml++] = (char)('0' + zone % 10);
  mid[ml++] = '/';
  mid[ml++] = mgrs[2];
  mid[ml++] = '/';
  mid[ml++] = mgrs[3];
  mid[ml++] = mgrs[4];
  mid[ml++] = '/';
  size_t pl = strlen(product), w = sizeof pre - 1 + ml + pl + 5;
  if (w >= n) return SWATH_EINVAL;
  memcpy(buf, pre, sizeof pre - 1);
  memcpy(buf + sizeof pre - 1, mid, ml);
  memcpy(buf + sizeof pre - 1 + ml, product, pl);
  memcpy(buf + sizeof pre - 1 + ml + pl, ".SAFE", 6);
  return 0;
}

/* The part of a band's href before the band name, up to and including the
 * last '_': its length, or -1 if the names do not fit the convention or
 * `n` bytes. */
static int href_prefix(const char *base_url, const char *granule, const char *product,
                       const char *mgrs, int https, char *buf, size_t n) {
  const char *prefix = "", *base = base_url;
  if (https && strncmp(base_url, "gs://", 5) == 0) {
    prefix = "https://storage.googleapis.com/";
    base = base_url + 5;
  }
  int w;
  if (swath__s2_is_legacy(granule)) {
    const char *suffix = strrchr(granule, '_'); /* _N02.04 */
    int keep = suffix && suffix[1] == 'N' ? (int)(suffix - granule) : (int)strlen(granule);
    w = snprintf(buf, n, "%s%s/GRANULE/%s/IMG_DATA/%.*s_", prefix, base, granule, keep, granule);
  } else {
    /* S2A_MSIL1C_20230615T102031_...: the datatake start is field 3 */
    const char *t = strchr(product, '_');
    t = t ? strchr(t + 1, '_') : NULL;
    if (!t || strlen(t) < 16) return -1;
    w = snprintf(buf, n, "%s%s/GRANULE/%s/IMG_DATA/T%s_%.15s_", prefix, base, granule, mgrs, t + 1);
  }
  return w < 0 || (size_t)w >= n ? -1 : w;
}

/* prefix (plen bytes of buf) + band + ".jp2", in place: the total length,
 * or -1 if it does not fit `n` bytes with its NUL. */
static int href_finish(char *buf, int plen, size_t n, const char *band) {
  size_t bl = strlen(band);
  if (plen < 0 || (size_t)plen + bl + 5 > n) return -1;
  memcpy(buf + plen, band, bl);
  memcpy(buf + plen + bl, ".jp2", 5);
  return plen + (int)bl + 4;
}

int swath__s2_band_href(const char *base_url, const char *granule, const char *product,
                        const char *mgrs, const char *band, int https, char *buf, size_t n) {
  int w = href_finish(buf, href_prefix(base_url, granule, product, mgrs, https, buf, n), n, band);
  return w < 0 ? SWATH_EINVAL : w;
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

/* ---- building the Item ----------------------------------------------------
 *
 * One Item per row of every page, so this is a hot path of the STAC API.
 * The Item is built without json_pack (its format is parsed on every call);
 * rows that are ASCII throughout (all of them in practice) skip jansson's
 * UTF-8 checks; the hrefs are assembled from one prefix per form instead of
 * two snprintf calls per asset; and the values that are the same in every
 * item (types, titles, roles, gsd, eo:bands, extension list) are built once
 * and shared by reference: jansson counts references atomically and dumps
 * shared values from any number of threads. A row with text that is not
 * UTF-8 loses the optional values and assets holding it, and fails where
 * the text is required (id, collection, product, datatake, MGRS tile). */

static struct {
  json_t *feature, *stac_version, *extensions, *polygon, *multipolygon, *constellation, *msi,
      *jp2, *roles_data, *roles_visual, *gcs_title, *tci_title;
  json_t *band_title[13], *band_gsd[13], *band_eo[13];
} K;
static pthread_once_t k_once = PTHREAD_ONCE_INIT;
static int k_ok;

static void k_init(void) {
  K.feature = json_string("Feature");
  K.stac_version = json_string("1.0.0");
  K.extensions = json_pack("[s, s]", "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
                           "https://stac-extensions.github.io/alternate-assets/v1.1.0/schema.json");
  K.polygon = json_string("Polygon");
  K.multipolygon = json_string("MultiPolygon");
  K.constellation = json_string("sentinel-2");
  K.msi = json_pack("[s]", "msi");
  K.jp2 = json_string("image/jp2");
  K.roles_data = json_pack("[s]", "data");
  K.roles_visual = json_pack("[s]", "visual");
  K.gcs_title = json_string("Google Cloud Storage");
  K.tci_title = json_string("True colour image (8-bit, 0 = no data)");
  int ok = K.feature && K.stac_version && K.extensions && K.polygon && K.multipolygon &&
           K.constellation && K.msi && K.jp2 && K.roles_data && K.roles_visual && K.gcs_title &&
           K.tci_title;
  for (size_t k = 0; k < sizeof S2_BANDS / sizeof *S2_BANDS; k++) {
    K.band_title[k] = json_string(S2_BANDS[k].title);
    K.band_gsd[k] = json_real(S2_BANDS[k].gsd);
    K.band_eo[k] =
        json_pack("[{s:s, s:s}]", "name", S2_BANDS[k].name, "common_name", S2_BANDS[k].common);
    ok = ok && K.band_title[k] && K.band_gsd[k] && K.band_eo[k];
  }
  k_ok = ok;
}

#define SET(o, key, v) json_object_setn_new_nocheck((o), (key), sizeof(key) - 1, (v))
#define SHARED(v) json_incref(v)

static int all_ascii(const char *s) {
  if (!s) return 1;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p & 0x80) return 0;
  return 1;
}

/* JSON strings of one row: unchecked where the row is ASCII, else checked
 * (NULL for text that is not UTF-8). */
typedef json_t *(*mkstr_fn)(const char *, size_t);

/* [a, b], both shared by reference */
static json_t *pair(json_t *a, json_t *b) {
  json_t *p = json_array();
  json_array_append(p, a);
  json_array_append(p, b);
  return p;
}

static json_t *ring(json_t *w, json_t *s, json_t *e, json_t *n) {
  json_t *r = json_array();
  json_array_append_new(r, pair(w, s));
  json_array_append_new(r, pair(e, s));
  json_array_append_new(r, pair(e, n));
  json_array_append_new(r, pair(w, n));
  json_array_append_new(r, pair(w, s));
  json_t *poly = json_array();
  json_array_append_new(poly, r);
  return poly;
}

/* A Polygon, or across the antimeridian a MultiPolygon split at 180 as
 * RFC 7946 asks, over the item's bounds b = [west, south, east, north]
 * (values the bbox shares too: a ring names each of them two or three
 * times, and each value is then printed once per response, see
 * core/json_out.c). */
static json_t *bbox_geometry(json_t *const b[4]) {
  json_t *g = json_object();
  if (json_real_value(b[0]) <= json_real_value(b[2])) {
    SET(g, "type", SHARED(K.polygon));
    SET(g, "coordinates", ring(b[0], b[1], b[2], b[3]));
  } else {
    json_t *c = json_array(), *east = json_real(180.0), *west = json_real(-180.0);
    json_array_append_new(c, ring(b[0], b[1], east, b[3]));
    json_array_append_new(c, ring(west, b[1], b[2], b[3]));
    json_decref(east);
    json_decref(west);
    SET(g, "type", SHARED(K.multipolygon));
    SET(g, "coordinates", c);
  }
  return g;
}

/* An asset with its https href and, where it differs, the gs:// one as an
 * alternate; NULL where an href cannot be made (the asset is left out). */
static json_t *s2_asset(mkstr_fn mk, char *gsp, int gsl, char *hsp, int hsl, const char *band,
                        json_t *title, json_t *roles) {
  int gn = href_finish(gsp, gsl, 1024, band), hn = href_finish(hsp, hsl, 1024, band);
  json_t *gs = gn < 0 ? NULL : mk(gsp, (size_t)gn), *https = hn < 0 ? NULL : mk(hsp, (size_t)hn);
  if (!gs || !https) {
    json_decref(gs);
    json_decref(https);
    return NULL;
  }
  json_t *a = json_object();
  SET(a, "href", https);
  SET(a, "type", SHARED(K.jp2));
  SET(a, "title", SHARED(title));
  SET(a, "roles", SHARED(roles));
  if (strcmp(json_string_value(gs), json_string_value(https)) != 0) {
    json_t *alt = json_object(), *g = json_object();
    SET(g, "title", SHARED(K.gcs_title));
    SET(g, "href", gs);
    SET(alt, "gs", g);
    SET(a, "alternate", alt);
  } else {
    json_decref(gs);
  }
  return a;
}

static int s2_item(const swath__row *r, json_t **out) {
  pthread_once(&k_once, k_init);
  if (!k_ok) return swath_error_set(SWATH_ENOMEM, "catalog: out of memory");
  mkstr_fn mk = all_ascii(r->doc) && all_ascii(r->id) && all_ascii(r->collection)
                    ? json_stringn_nocheck
                    : json_stringn;
  char buf[2048], based[600], t[32];
  const char *f[S2F_COUNT];
  size_t dl = strlen(r->doc);
  char *doc = dl < sizeof buf ? buf : malloc(dl + 1);
  if (!doc) return swath_error_set(SWATH_ENOMEM, "catalog: out of memory");
  memcpy(doc, r->doc, dl + 1);
#define DONE(rc_)                                                                                  \
  do {                                                                                             \
    if (doc != buf) free(doc);                                                                     \
    return (rc_);                                                                                  \
  } while (0)
#define STR(s_) mk((s_), strlen(s_))
  if (swath__s2_unpack(doc, f))
    DONE(swath_error_set(SWATH_EINTERNAL, "catalog: item '%s' has a damaged record", r->id));
  const char *base = f[S2F_BASE_URL];
  if (!*base) {
    if (swath__s2_default_base(f[S2F_MGRS], f[S2F_PRODUCT], based, sizeof based))
      DONE(swath_error_set(SWATH_EINTERNAL, "catalog: item '%s' has a bad MGRS tile", r->id));
    base = based;
  }
  int legacy = swath__s2_is_legacy(r->id);
  char platform[16] = "sentinel-2";
  if (strlen(f[S2F_PRODUCT]) > 3 && f[S2F_PRODUCT][0] == 'S' && f[S2F_PRODUCT][1] == '2')
    snprintf(platform, sizeof platform, "sentinel-2%c", f[S2F_PRODUCT][2] | 0x20);
  swath_time_format(r->dt, t);

  /* Required text first: a row without it has no Item. */
  json_t *id = STR(r->id), *coll = STR(r->collection), *product = STR(f[S2F_PRODUCT]),
         *datatake = STR(f[S2F_DATATAKE]), *mgrs = STR(f[S2F_MGRS]);
  if (!id || !coll || !product || !datatake || !mgrs) {
    json_decref(id), json_decref(coll), json_decref(product), json_decref(datatake);
    json_decref(mgrs);
    DONE(swath_error_set(SWATH_EINTERNAL, "catalog: item '%s' has text that is not UTF-8", r->id));
  }
  json_t *props = json_object();
  SET(props, "datetime", json_stringn_nocheck(t, strlen(t)));
  SET(props, "platform", json_stringn_nocheck(platform, strlen(platform)));
  SET(props, "constellation", SHARED(K.constellation));
  SET(props, "instruments", SHARED(K.msi));
  SET(props, "s2:product_id", product);
  SET(props, "s2:datatake_id", datatake);
  SET(props, "s2:mgrs_tile", mgrs);
  SET(props, "s2:legacy_naming", json_boolean(legacy));
  /* optional: left out where missing (or not UTF-8) */
  if (!isnan(r->cloud)) SET(props, "eo:cloud_cover", json_real(r->cloud));
  if (*f[S2F_SIZE]) SET(props, "s2:total_size", json_integer(atoll(f[S2F_SIZE])));
  if (*f[S2F_QUALITY]) SET(props, "s2:geometric_quality", STR(f[S2F_QUALITY]));
  if (*f[S2F_GENERATION]) SET(props, "s2:generation_time", STR(f[S2F_GENERATION]));
  SET(props, "s2:base_url", STR(base));

  /* hrefs: each prefix once, band names appended in place */
  char gsp[1024], hsp[1024];
  int gsl = href_prefix(base, r->id, f[S2F_PRODUCT], f[S2F_MGRS], 0, gsp, sizeof gsp);
  int hsl = href_prefix(base, r->id, f[S2F_PRODUCT], f[S2F_MGRS], 1, hsp, sizeof hsp);
  json_t *assets = json_object();
  for (size_t k = 0; k < sizeof S2_BANDS / sizeof *S2_BANDS; k++) {
    json_t *a = s2_asset(mk, gsp, gsl, hsp, hsl, S2_BANDS[k].name, K.band_title[k], K.roles_data);
    if (!a) continue;
    SET(a, "gsd", SHARED(K.band_gsd[k]));
    SET(a, "eo:bands", SHARED(K.band_eo[k]));
    json_object_setn_new_nocheck(assets, S2_BANDS[k].name, 3, a);
  }
  if (!legacy) {
    json_t *a = s2_asset(mk, gsp, gsl, hsp, hsl, "TCI", K.tci_title, K.roles_visual);
    if (a) SET(assets, "TCI", a);
  }
  json_t *item = json_object();
  SET(item, "type", SHARED(K.feature));
  SET(item, "stac_version", SHARED(K.stac_version));
  SET(item, "stac_extensions", SHARED(K.extensions));
  SET(item, "id", id);
  SET(item, "collection", coll);
  json_t *bounds[4];
  for (int k = 0; k < 4; k++) bounds[k] = json_real(r->bbox[k]);
  SET(item, "geometry", bbox_geometry(bounds));
  json_t *bbox = json_array();
  for (int k = 0; k < 4; k++) json_array_append_new(bbox, bounds[k]);
  SET(item, "bbox", bbox);
  SET(item, "properties", props);
  SET(item, "links", json_array());
  SET(item, "assets", assets);
  if (!item || json_object_size(item) != 10)
    json_decref(item), item = NULL; /* out of memory somewhere */
  if (!item) DONE(swath_error_set(SWATH_ENOMEM, "catalog: cannot build item '%s'", r->id));
  *out = item;
  DONE(0);
#undef STR
#undef DONE
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

/* Characters CPLEscapeString(CPLES_URL) keeps as they are (a subset is
 * enough: anything else goes through it). */
static int url_plain(const char *s) {
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '-' || *s == '_' || *s == '.'))
      return 0;
  return 1;
}

static struct {
  json_t *self, *parent, *collection, *root, *geojson, *json;
} L;
static pthread_once_t l_once = PTHREAD_ONCE_INIT;
static int l_ok;

static void l_init(void) {
  L.self = json_string("self");
  L.parent = json_string("parent");
  L.collection = json_string("collection");
  L.root = json_string("root");
  L.geojson = json_string("application/geo+json");
  L.json = json_string("application/json");
  l_ok = L.self && L.parent && L.collection && L.root && L.geojson && L.json;
}

static json_t *link3(json_t *rel, json_t *type, json_t *href) {
  if (!href) return NULL; /* as json_pack: no link where the href is not UTF-8 */
  json_t *l = json_object();
  SET(l, "rel", json_incref(rel));
  SET(l, "type", json_incref(type));
  SET(l, "href", href);
  return l;
}

void swath_item_add_links(json_t *item, const char *base) {
  const char *id = json_string_value(json_object_get(item, "id"));
  const char *coll = json_string_value(json_object_get(item, "collection"));
  if (!id || !coll) return;
  pthread_once(&l_once, l_init);
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
  int pid = url_plain(id), pc = url_plain(coll);
  char *eid = pid ? (char *)id : url_escape(id), *ec = pc ? (char *)coll : url_escape(coll);
  size_t n = strlen(base) + strlen(eid) + strlen(ec) + 64;
  char stack[1024];
  char *self = n <= sizeof stack ? stack : malloc(n);
  if (self && l_ok) {
    /* the escaped parts are ASCII; a base URL that is not takes the checks */
    json_t *(*mk)(const char *, size_t) = all_ascii(base) ? json_stringn_nocheck : json_stringn;
    int w = snprintf(self, n, "%s/collections/%s/items/%s", base, ec, eid);
    json_array_append_new(links, link3(L.self, L.geojson, mk(self, (size_t)w)));
    w = snprintf(self, n, "%s/collections/%s", base, ec);
    json_t *parent = mk(self, (size_t)w);
    json_array_append_new(links, link3(L.parent, L.json, json_incref(parent)));
    json_array_append_new(links, link3(L.collection, L.json, parent));
    w = snprintf(self, n, "%s/", base);
    json_array_append_new(links, link3(L.root, L.json, mk(self, (size_t)w)));
  }
  if (self != stack) free(self);
  if (!pid) CPLFree(eid);
  if (!pc) CPLFree(ec);
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
