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
#include "core/json_out.h"

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
  int32_t sub;
  return swath_time_parse_ns(s, end_of_day, what, ms, &sub);
}

int swath_time_parse_ns(const char *s, int end_of_day, const char *what, int64_t *ms,
                        int32_t *sub_ns) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  *sub_ns = 0;
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
    int64_t scale = 100, ns_scale = 100000;
    while (*p >= '0' && *p <= '9') {
      if (nd < 3) {
        frac_ms += (*p - '0') * scale;
        scale /= 10;
      } else if (nd < 9) {
        *sub_ns += (int32_t)((*p - '0') * ns_scale);
        ns_scale /= 10;
      } else if (*p != '0' && *sub_ns == 0) {
        *sub_ns = 1; /* below a nanosecond: only "not on the millisecond" matters */
      }
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

/* ---- writing the Item ------------------------------------------------------
 *
 * One Item per row of every page: the hot path of the STAC API. A
 * Sentinel-2 Item is written as text (core/json_out.h's swath_jtext), not
 * built as a jansson tree, walked by swath_json_write and freed (a 10-item
 * /search page: 4.2 M instructions in the request handler then, 1.4 M now,
 * bench/catalog/http_instr.sh):
 *   - the parts that are the same in every Item (types, titles, roles, gsd,
 *     eo:bands, the extension list) are literals or fragments made once;
 *   - each form of href (gs://, https://) is one prefix, escaped once, with
 *     the band name appended;
 *   - each of the four bounds is formatted once, though the geometry names
 *     each two or three times.
 * Other Items are stored STAC documents: parsed, given their colour and
 * links, and written through swath_json_write. swath__row_item (a tree, for
 * the single-item route and the colour statistics) parses the same text,
 * so an Item reads the same however it is asked for.
 *
 * A row with text that is not UTF-8 loses the optional values and assets
 * holding it, and fails where the text is required (id, collection,
 * product, datatake, MGRS tile). */

#define NBANDS (sizeof S2_BANDS / sizeof *S2_BANDS)
#define TCI NBANDS /* F's slot of the TCI */

/* Fragments after an asset's href: its type, title and roles ("pre"), and
 * after the alternate href, the rest of the object ("post"). */
static struct { swath_jtext pre[NBANDS + 1], post[NBANDS + 1]; } F;
static pthread_once_t f_once = PTHREAD_ONCE_INIT;
static int f_ok;

static void fragment_pre(swath_jtext *t, const char *title, const char *role) {
  swath_jtext_lit(t, ",\"type\":\"image/jp2\",\"title\":");
  swath_jtext_str(t, title, strlen(title));
  swath_jtext_lit(t, ",\"roles\":[");
  swath_jtext_str(t, role, strlen(role));
  swath_jtext_lit(t, "]");
}

static void f_init(void) {
  int ok = 1;
  for (size_t k = 0; k <= NBANDS; k++) {
    swath_jtext *pre = &F.pre[k], *post = &F.post[k];
    pre->precision = post->precision = 17; /* (gsd: 10.0, 20.0, 60.0 at any precision) */
    if (k == TCI) {
      fragment_pre(pre, "True colour image (8-bit, 0 = no data)", "visual");
      swath_jtext_lit(post, "}");
    } else {
      fragment_pre(pre, S2_BANDS[k].title, "data");
      swath_jtext_lit(post, ",\"gsd\":");
      swath_jtext_real(post, S2_BANDS[k].gsd);
      swath_jtext_lit(post, ",\"eo:bands\":[{\"name\":");
      swath_jtext_str(post, S2_BANDS[k].name, strlen(S2_BANDS[k].name));
      swath_jtext_lit(post, ",\"common_name\":");
      swath_jtext_str(post, S2_BANDS[k].common, strlen(S2_BANDS[k].common));
      swath_jtext_lit(post, "}]}");
    }
    ok = ok && !pre->failed && !post->failed;
  }
  f_ok = ok;
}

static int all_ascii(const char *s) {
  if (!s) return 1;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p & 0x80) return 0;
  return 1;
}

/* Whether text (not known to be ASCII) is UTF-8, as jansson decides. */
static int utf8(const char *s, size_t n) {
  json_t *j = json_stringn(s, n);
  json_decref(j);
  return j != NULL;
}

/* A row's text: `ascii` when the whole row is, else each piece is checked */
struct s2_out {
  swath_jtext *t;
  int ascii;
};

static int text_ok(const struct s2_out *o, const char *s, size_t n) {
  return o->ascii || utf8(s, n);
}

/* ,"key":"value" -- or nothing where the value is not UTF-8 */
static void opt_str(struct s2_out *o, const char *key_frag, size_t kn, const char *v) {
  size_t n = strlen(v);
  if (!text_ok(o, v, n)) return;
  swath_jtext_raw(o->t, key_frag, kn);
  swath_jtext_str(o->t, v, n);
}
#define OPT_STR(o, frag, v) opt_str((o), (frag), sizeof(frag) - 1, (v))

/* The two forms of a granule's band hrefs: prefixes (see href_prefix),
 * with whether each goes into JSON as it is */
struct hrefs {
  char gs[1024], https[1024];
  int gsl, httpsl;
  int gs_plain, https_plain;
};

/* The https form from the gs one, as href_prefix would make it: gs://
 * becomes the bucket's https address; any other base is the same in both. */
static void https_prefix(struct hrefs *h) {
  static const char gs[] = "gs://", https[] = "https://storage.googleapis.com/";
  h->httpsl = -1;
  h->https_plain = h->gs_plain;
  if (h->gsl < 0) return;
  size_t skip = 0, add = 0;
  if (!strncmp(h->gs, gs, sizeof gs - 1)) skip = sizeof gs - 1, add = sizeof https - 1;
  size_t n = (size_t)h->gsl - skip + add;
  if (n >= sizeof h->https) return;
  memcpy(h->https, https, add);
  memcpy(h->https + add, h->gs + skip, (size_t)h->gsl - skip);
  h->httpsl = (int)n;
}

/* One href: "prefix<band>.jp2" (buf holds it, n bytes, from href_finish) */
static void href_write(swath_jtext *t, const char *buf, int n, int plain) {
  if (plain) { /* the band name and ".jp2" need no escapes either */
    swath_jtext_lit(t, "\"");
    swath_jtext_raw(t, buf, (size_t)n);
    swath_jtext_lit(t, "\"");
  } else {
    swath_jtext_str(t, buf, (size_t)n);
  }
}

/* One asset: "name":{"href":...,...}, with the gs:// href as an alternate
 * where the two differ; nothing where an href cannot be made. `*first`:
 * no comma before it. */
static void s2_asset(struct s2_out *o, size_t slot, const char *band, struct hrefs *h, int *first) {
  int gn = href_finish(h->gs, h->gsl, sizeof h->gs, band);
  int hn = href_finish(h->https, h->httpsl, sizeof h->https, band);
  if (gn < 0 || hn < 0 || !text_ok(o, h->gs, (size_t)gn) || !text_ok(o, h->https, (size_t)hn))
    return;
  swath_jtext *t = o->t;
  if (!*first) swath_jtext_lit(t, ",");
  *first = 0;
  swath_jtext_str(t, band, strlen(band));
  swath_jtext_lit(t, ":{\"href\":");
  href_write(t, h->https, hn, h->https_plain);
  swath_jtext_raw(t, F.pre[slot].p, F.pre[slot].len);
  if (gn != hn || memcmp(h->gs, h->https, (size_t)gn)) {
    swath_jtext_lit(t, ",\"alternate\":{\"gs\":{\"title\":\"Google Cloud Storage\",\"href\":");
    href_write(t, h->gs, gn, h->gs_plain);
    swath_jtext_lit(t, "}}");
  }
  swath_jtext_raw(t, F.post[slot].p, F.post[slot].len);
}

/* A number's JSON text (swath_json_real) */
struct num {
  char s[SWATH_JSON_REAL_MAX];
  int n;
};

/* [x,y] of two formatted numbers */
static void point(swath_jtext *t, const struct num *x, const struct num *y) {
  swath_jtext_lit(t, "[");
  swath_jtext_raw(t, x->s, (size_t)x->n);
  swath_jtext_lit(t, ",");
  swath_jtext_raw(t, y->s, (size_t)y->n);
  swath_jtext_lit(t, "]");
}

static void ring(swath_jtext *t, const struct num *w, const struct num *s, const struct num *e,
                 const struct num *n) {
  swath_jtext_lit(t, "[[");
  point(t, w, s), swath_jtext_lit(t, ","), point(t, e, s), swath_jtext_lit(t, ",");
  point(t, e, n), swath_jtext_lit(t, ","), point(t, w, n), swath_jtext_lit(t, ",");
  point(t, w, s);
  swath_jtext_lit(t, "]]");
}

/* "geometry":...,"bbox":[...] over the item's bounds [west, south, east,
 * north]: a Polygon, or across the antimeridian a MultiPolygon split at 180
 * as RFC 7946 asks. */
static void s2_geometry(swath_jtext *t, const double b[4]) {
  struct num num[6];
  for (int k = 0; k < 6; k++) { /* w s e n, then 180 and -180 */
    num[k].n = swath_json_real(k < 4 ? b[k] : k == 4 ? 180.0 : -180.0, t->precision, num[k].s);
    if (num[k].n < 0) {
      t->failed = 1;
      return;
    }
  }
  if (b[0] <= b[2]) {
    swath_jtext_lit(t, "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":");
    ring(t, &num[0], &num[1], &num[2], &num[3]);
  } else {
    swath_jtext_lit(t, "\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[");
    ring(t, &num[0], &num[1], &num[4], &num[3]);
    swath_jtext_lit(t, ",");
    ring(t, &num[5], &num[1], &num[2], &num[3]);
    swath_jtext_lit(t, "]");
  }
  swath_jtext_lit(t, "},\"bbox\":[");
  for (int k = 0; k < 4; k++) {
    if (k) swath_jtext_lit(t, ",");
    swath_jtext_raw(t, num[k].s, (size_t)num[k].n);
  }
  swath_jtext_lit(t, "]");
}

/* "color:red":...,"color:pixels":...: the cached colour statistics (the
 * keys and values of an object, without its braces) */
static void colour_write(swath_jtext *t, const swath__row *r) {
  static const char *const key[] = {
      "\"color:red\":", ",\"color:green\":", ",\"color:blue\":", ",\"color:brightness\":"};
  for (int k = 0; k < 4; k++) {
    swath_jtext_raw(t, key[k], strlen(key[k]));
    swath_jtext_real(t, k < 3 ? r->rgb[k] : r->bright);
  }
  const char *m = r->cmethod ? r->cmethod : "";
  struct s2_out o = {t, all_ascii(m) && all_ascii(r->csource)};
  OPT_STR(&o, ",\"color:method\":", m);
  swath_jtext_lit(t, ",\"color:pixels\":");
  swath_jtext_int(t, (long long)r->cpixels);
  if (r->csource) OPT_STR(&o, ",\"color:source\":", r->csource);
}

/* The links this server gives an item (self, parent, collection, root), as
 * JSON objects separated by commas; nothing where the base URL is not
 * UTF-8. The id and collection are URL-escaped in the hrefs. */
static void links_write(swath_jtext *t, const char *base, const char *coll, const char *id);

static int s2_write(const swath__row *r, const char *links_base, swath_jtext *t) {
  pthread_once(&f_once, f_init);
  if (!f_ok) return swath_error_set(SWATH_ENOMEM, "catalog: out of memory");
  struct s2_out o = {t, all_ascii(r->doc) && all_ascii(r->id) && all_ascii(r->collection)};
  char buf[2048], based[600], tm[32];
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
  if (swath__s2_unpack(doc, f))
    DONE(swath_error_set(SWATH_EINTERNAL, "catalog: item '%s' has a damaged record", r->id));
  const char *base = f[S2F_BASE_URL];
  if (!*base) {
    if (swath__s2_default_base(f[S2F_MGRS], f[S2F_PRODUCT], based, sizeof based))
      DONE(swath_error_set(SWATH_EINTERNAL, "catalog: item '%s' has a bad MGRS tile", r->id));
    base = based;
  }
  /* required text first: a row without it has no Item */
  const char *req[] = {r->id, r->collection, f[S2F_PRODUCT], f[S2F_DATATAKE], f[S2F_MGRS]};
  for (size_t k = 0; k < sizeof req / sizeof *req; k++)
    if (!text_ok(&o, req[k], strlen(req[k])))
      DONE(
          swath_error_set(SWATH_EINTERNAL, "catalog: item '%s' has text that is not UTF-8", r->id));
  int legacy = swath__s2_is_legacy(r->id);
  char platform[16] = "sentinel-2";
  if (strlen(f[S2F_PRODUCT]) > 3 && f[S2F_PRODUCT][0] == 'S' && f[S2F_PRODUCT][1] == '2')
    snprintf(platform, sizeof platform, "sentinel-2%c", f[S2F_PRODUCT][2] | 0x20);
  swath_time_format(r->dt, tm);

  swath_jtext_lit(t, "{\"type\":\"Feature\",\"stac_version\":\"1.0.0\",\"stac_extensions\":["
                     "\"https://stac-extensions.github.io/eo/v1.1.0/schema.json\","
                     "\"https://stac-extensions.github.io/alternate-assets/v1.1.0/schema.json\"],"
                     "\"id\":");
  swath_jtext_str(t, r->id, strlen(r->id));
  swath_jtext_lit(t, ",\"collection\":");
  swath_jtext_str(t, r->collection, strlen(r->collection));
  swath_jtext_lit(t, ",");
  s2_geometry(t, r->bbox);

  swath_jtext_lit(t, ",\"properties\":{\"datetime\":");
  swath_jtext_str(t, tm, strlen(tm));
  swath_jtext_lit(t, ",\"platform\":");
  swath_jtext_str(t, platform, strlen(platform));
  swath_jtext_lit(t, ",\"constellation\":\"sentinel-2\",\"instruments\":[\"msi\"]");
  OPT_STR(&o, ",\"s2:product_id\":", f[S2F_PRODUCT]);
  OPT_STR(&o, ",\"s2:datatake_id\":", f[S2F_DATATAKE]);
  OPT_STR(&o, ",\"s2:mgrs_tile\":", f[S2F_MGRS]);
  if (legacy)
    swath_jtext_lit(t, ",\"s2:legacy_naming\":true");
  else
    swath_jtext_lit(t, ",\"s2:legacy_naming\":false");
  /* optional: left out where missing (or not UTF-8) */
  if (!isnan(r->cloud)) {
    swath_jtext_lit(t, ",\"eo:cloud_cover\":");
    swath_jtext_real(t, r->cloud);
  }
  if (*f[S2F_SIZE]) {
    swath_jtext_lit(t, ",\"s2:total_size\":");
    swath_jtext_int(t, atoll(f[S2F_SIZE]));
  }
  if (*f[S2F_QUALITY]) OPT_STR(&o, ",\"s2:geometric_quality\":", f[S2F_QUALITY]);
  if (*f[S2F_GENERATION]) OPT_STR(&o, ",\"s2:generation_time\":", f[S2F_GENERATION]);
  OPT_STR(&o, ",\"s2:base_url\":", base);
  if (r->has_color) {
    swath_jtext_lit(t, ",");
    colour_write(t, r);
  }

  swath_jtext_lit(t, "},\"links\":[");
  if (links_base) links_write(t, links_base, r->collection, r->id);
  swath_jtext_lit(t, "],\"assets\":{");
  /* hrefs: each prefix once, band names appended in place */
  struct hrefs h;
  h.gsl = href_prefix(base, r->id, f[S2F_PRODUCT], f[S2F_MGRS], 0, h.gs, sizeof h.gs);
  h.gs_plain = h.gsl >= 0 && swath_json_plain(h.gs, (size_t)h.gsl);
  https_prefix(&h);
  int first = 1;
  for (size_t k = 0; k < NBANDS; k++)
    s2_asset(&o, k, S2_BANDS[k].name, &h, &first);
  if (!legacy) s2_asset(&o, TCI, "TCI", &h, &first);
  swath_jtext_lit(t, "}}");
  if (t->failed) DONE(swath_error_set(SWATH_ENOMEM, "catalog: cannot write item '%s'", r->id));
  DONE(0);
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

/* Parse text made here ("{" or "[" ... included): NULL if out of memory. */
static json_t *parse_own(const swath_jtext *t) {
  return t->failed ? NULL : json_loadb(t->p, t->len, 0, NULL);
}

/* A stored STAC document with its cached colour statistics merged into its
 * properties (new keys at the end, existing ones replaced in place). */
static int doc_item(const swath__row *r, json_t **out) {
  json_error_t err;
  json_t *item = json_loads(r->doc, JSON_ALLOW_NUL, &err);
  if (!json_is_object(item)) {
    json_decref(item);
    return swath_error_set(SWATH_EINTERNAL, "catalog: item '%s' has a damaged document: %s", r->id,
                           err.text);
  }
  json_t *props = json_object_get(item, "properties");
  if (r->has_color && json_is_object(props)) {
    swath_jtext t = {.precision = 17};
    swath_jtext_lit(&t, "{");
    colour_write(&t, r);
    swath_jtext_lit(&t, "}");
    json_t *c = parse_own(&t);
    swath_jtext_clear(&t);
    if (!c) {
      json_decref(item);
      return swath_error_set(SWATH_ENOMEM, "catalog: out of memory");
    }
    json_object_update(props, c);
    json_decref(c);
  }
  *out = item;
  return 0;
}

int swath__item_write(const swath__row *r, const char *links_base, swath_jtext *t) {
  size_t at = t->len;
  int rc;
  if ((r->kind & SWATH_SCENE_KIND_MASK) == SWATH_SCENE_S2) {
    rc = s2_write(r, links_base, t);
  } else {
    json_t *item;
    if (!(rc = doc_item(r, &item))) {
      if (links_base) swath_item_add_links(item, links_base);
      swath_jtext_value(t, item);
      json_decref(item);
      if (t->failed) rc = swath_error_set(SWATH_ENOMEM, "catalog: cannot write item '%s'", r->id);
    }
  }
  if (rc && !t->failed) t->len = at; /* nothing of a failed item */
  return rc;
}

int swath__row_item(const swath__row *r, json_t **out) {
  if ((r->kind & SWATH_SCENE_KIND_MASK) != SWATH_SCENE_S2) return doc_item(r, out);
  swath_jtext t = {.precision = 17}; /* (every digit: the tree is read, not printed) */
  int rc = s2_write(r, NULL, &t);
  json_t *item = rc ? NULL : parse_own(&t);
  swath_jtext_clear(&t);
  if (!rc && !item) rc = swath_error_set(SWATH_ENOMEM, "catalog: cannot build item '%s'", r->id);
  *out = item;
  return rc;
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

static void link_write(swath_jtext *t, const char *rel_type, size_t rn, const char *href,
                       size_t hn) {
  swath_jtext_raw(t, rel_type, rn);
  swath_jtext_lit(t, ",\"href\":");
  swath_jtext_str(t, href, hn);
  swath_jtext_lit(t, "}");
}
#define LINK(t, frag, href, n) link_write((t), (frag), sizeof(frag) - 1, (href), (n))

static void links_write(swath_jtext *t, const char *base, const char *coll, const char *id) {
  size_t bl = strlen(base);
  if (!all_ascii(base) && !utf8(base, bl)) return;
  int pid = url_plain(id), pc = url_plain(coll);
  char *eid = pid ? (char *)id : url_escape(id), *ec = pc ? (char *)coll : url_escape(coll);
  /* self is <base>/collections/<coll>/items/<id>; parent and collection
   * are its first part, root is <base>/ */
  static const char cs[] = "/collections/", is[] = "/items/";
  size_t cl = strlen(ec), il = strlen(eid), n = bl + sizeof cs + cl + sizeof is + il;
  char stack[1024];
  char *href = n <= sizeof stack ? stack : malloc(n);
  if (href && eid && ec) {
    size_t at = 0;
    memcpy(href, base, bl), at += bl;
    memcpy(href + at, cs, sizeof cs - 1), at += sizeof cs - 1;
    memcpy(href + at, ec, cl), at += cl;
    size_t parent = at;
    memcpy(href + at, is, sizeof is - 1), at += sizeof is - 1;
    memcpy(href + at, eid, il), at += il;
    LINK(t, "{\"rel\":\"self\",\"type\":\"application/geo+json\"", href, at);
    LINK(t, ",{\"rel\":\"parent\",\"type\":\"application/json\"", href, parent);
    LINK(t, ",{\"rel\":\"collection\",\"type\":\"application/json\"", href, parent);
    href[bl] = '/';
    LINK(t, ",{\"rel\":\"root\",\"type\":\"application/json\"", href, bl + 1);
  } else {
    t->failed = 1;
  }
  if (href != stack) free(href);
  if (!pid) CPLFree(eid);
  if (!pc) CPLFree(ec);
}

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
  swath_jtext t = {.precision = 17};
  swath_jtext_lit(&t, "[");
  links_write(&t, base, coll, id);
  swath_jtext_lit(&t, "]");
  json_t *own = parse_own(&t); /* (the same links as on a page of items) */
  swath_jtext_clear(&t);
  json_array_extend(links, own);
  json_decref(own);
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
