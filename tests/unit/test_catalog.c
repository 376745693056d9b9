/* test_catalog.c: the scene catalog's library calls, on small catalogs built
 * here in a temporary folder: time parsing, Sentinel-2 naming, search
 * parameter validation, ingest (quoting, CRLF, malformed rows, re-ingest),
 * antimeridian and exact-footprint searches, keyset paging with ties and
 * mixed sort directions, CQL2 and the query extension, the bulk-packed
 * R*Tree against the incremental one, colour statistics on a raster with
 * nodata. Expected values are derived by hand or by brute force here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include "fixture.h"

#include <cpl_vsi.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "catalog/catalog_int.h"
#include "core/error.h"
#include "core/log.h"

static int setup(void **state) {
  (void)state;
  GDALAllRegister();
  swath_log_set_level(SWATH_LOG_WARN);
  return tmpdir_make("catalog");
}

static int teardown(void **state) {
  (void)state;
  int rc = tmpdir_remove();
  GDALDestroyDriverManager();
  OSRCleanup();
  return rc;
}

#define HEADER                                                                                     \
  "GRANULE_ID,PRODUCT_ID,DATATAKE_IDENTIFIER,MGRS_TILE,SENSING_TIME,TOTAL_SIZE,CLOUD_COVER,"       \
  "GEOMETRIC_QUALITY_FLAG,GENERATION_TIME,NORTH_LAT,SOUTH_LAT,WEST_LON,EAST_LON,BASE_URL"

/* One index row: granule g, day d of June 2023, cloud c, box w s e n. */
static void row(FILE *f, const char *g, int d, double c, double w, double s, double e, double n) {
  fprintf(f,
          "%s,S2A_MSIL1C_202306%02dT102031_N0509_R065_T32TMT_20230615T140000,GS2A_x,32TMT,"
          "2023-06-%02dT10:25:59.024000Z,123,%.3f,PASSED,2023-06-15T14:00:00.000000Z,%g,%g,%g,%g,"
          "gs://gcp-public-data-sentinel-2/tiles/32/T/MT/"
          "S2A_MSIL1C_202306%02dT102031_N0509_R065_T32TMT_20230615T140000.SAFE\n",
          g, d, d, c, n, s, w, e, d);
}

static swath_catalog *open_new(const char *name) {
  swath_catalog *c;
  unlink(tmp_path(name));
  assert_int_equal(swath_catalog_open(tmp_path(name), SWATH_CATALOG_CREATE, &c), 0);
  return c;
}

static void ingest(swath_catalog *c, const char *file, swath_ingest_report *r) {
  assert_int_equal(swath_catalog_ingest(c, tmp_path(file), NULL, r), 0);
}

/* A new catalog `db` with the rows of `file`, all `n` of them new. */
static swath_catalog *ingest_new(const char *file, const char *db, int64_t n) {
  swath_catalog *c = open_new(db);
  swath_ingest_report r;
  ingest(c, file, &r);
  assert_int_equal(r.inserted, n);
  return c;
}

/* The one row of `sql` on catalog file `name`, opened with SQLite: its
 * first n columns as integers in v. */
static void sql_row(const char *name, const char *sql, int64_t *v, int n) {
  sqlite3 *db;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(tmp_path(name), &db), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  for (int k = 0; k < n; k++)
    v[k] = sqlite3_column_int64(st, k);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* A search body (JSON text), parsed. */
static swath_search *parsed(const char *body) {
  json_t *b = json_loads(body, 0, NULL);
  if (!b) fail_msg("not JSON: %s", body);
  swath_search *q;
  int rc = swath_search_parse(b, &q);
  json_decref(b);
  if (rc) fail_msg("parse %s: %s", body, swath_error_message());
  return q;
}

/* Run a search body (JSON text) for ids only, counting numberMatched up to
 * count_limit (< 0: not at all), into p. */
static void run_body(swath_catalog *c, const char *body, int64_t count_limit, swath_page *p) {
  swath_search *q = parsed(body);
  swath_search_opts o = {count_limit, 1, NULL};
  if (swath_search_run(c, q, &o, p)) fail_msg("run %s: %s", body, swath_error_message());
  swath_search_free(q);
}

/* The next id of an ids-only page (*at: its offset in p->ids), or NULL
 * after the last; checks that the page holds as many as it says. */
static const char *page_next_id(const swath_page *p, size_t *at, int *count) {
  if (*at >= p->ids_len) {
    assert_int_equal(*count, p->returned);
    return NULL;
  }
  const char *coll = p->ids + *at;
  assert_true(*coll); /* every item has its collection */
  const char *id = coll + strlen(coll) + 1;
  *at = (size_t)(id + strlen(id) + 1 - p->ids);
  ++*count;
  return id;
}

/* Run a search body (JSON text); returns the ids joined by spaces. */
static char *ids_of(swath_catalog *c, const char *body, int64_t *matched, char **token) {
  swath_page p;
  run_body(c, body, 0, &p);
  static char buf[65536];
  buf[0] = '\0';
  size_t at = 0;
  int count = 0;
  for (const char *id; (id = page_next_id(&p, &at, &count));) {
    if (count > 1) strcat(buf, " ");
    strcat(buf, id);
  }
  if (matched) *matched = p.matched;
  if (token) *token = p.next_token ? strdup(p.next_token) : NULL;
  swath_page_clear(&p);
  return buf;
}

static int parse_fails(const char *body, const char *needle) {
  json_t *b = json_loads(body, 0, NULL);
  if (!b) return 0;
  swath_search *q = NULL;
  int rc = swath_search_parse(b, &q);
  json_decref(b);
  swath_search_free(q);
  if (rc != SWATH_EINVAL) return 0;
  if (!strstr(swath_error_message(), needle)) {
    print_message("message '%s' lacks '%s'\n", swath_error_message(), needle);
    return 0;
  }
  return 1;
}

/* ---- time and naming --------------------------------------------------------- */

static void test_time(void **state) {
  (void)state;
  int64_t ms;
  char buf[32];
  assert_int_equal(swath_time_parse("1970-01-01T00:00:00Z", 0, "t", &ms), 0);
  assert_int_equal(ms, 0);
  assert_int_equal(swath_time_parse("2023-06-15T10:25:59.024000Z", 0, "t", &ms), 0);
  assert_int_equal(ms, 1686824759024LL); /* date -u -d ... +%s%3N */
  assert_int_equal(swath_time_parse("2023-06-15T12:25:59.024+02:00", 0, "t", &ms), 0);
  assert_int_equal(ms, 1686824759024LL);
  assert_int_equal(swath_time_parse("2024-02-29", 0, "t", &ms), 0);
  assert_int_equal(ms, 1709164800000LL);
  assert_int_equal(swath_time_parse("2024-02-29", 1, "t", &ms), 0);
  assert_int_equal(ms, 1709164800000LL + 86400000 - 1);
  assert_int_equal(swath_time_parse("1969-12-31T23:59:59.5Z", 0, "t", &ms), 0);
  assert_int_equal(ms, -500);
  swath_time_format(-500, buf);
  assert_string_equal(buf, "1969-12-31T23:59:59.500Z");
  swath_time_format(1686824759000LL, buf);
  assert_string_equal(buf, "2023-06-15T10:25:59Z");
  static const char *const bad[] = {"2023-02-29",
                                    "2023-13-01",
                                    "2023-06-15T24:00:00Z",
                                    "2023-06-15T10:00:00",
                                    "2023-06-15T10:00Z",
                                    "15/06/2023",
                                    "2023-06-15T10:00:00.Z",
                                    "2023-06-15T10:00:00Zjunk",
                                    "",
                                    NULL};
  for (int k = 0; bad[k]; k++) {
    assert_int_equal(swath_time_parse(bad[k], 0, "datetime", &ms), SWATH_EINVAL);
    assert_non_null(strstr(swath_error_message(), "datetime"));
  }
  /* round trip over a few centuries */
  for (int64_t t = -5000000000000LL; t < 5000000000000LL; t += 123456789012LL) {
    swath_time_format(t, buf);
    assert_int_equal(swath_time_parse(buf, 0, "t", &ms), 0);
    assert_int_equal(ms, t);
  }
}

static void test_s2_names(void **state) {
  (void)state;
  char buf[1024];
  const char *base = "gs://gcp-public-data-sentinel-2/tiles/32/T/MT/"
                     "S2A_MSIL1C_20230615T102031_N0509_R065_T32TMT_20230615T140000.SAFE";
  assert_true(swath__s2_band_href(base, "L1C_T32TMT_A041234_20230615T102559",
                                  "S2A_MSIL1C_20230615T102031_N0509_R065_T32TMT_20230615T140000",
                                  "32TMT", "B04", 0, buf, sizeof buf) > 0);
  assert_string_equal(buf, "gs://gcp-public-data-sentinel-2/tiles/32/T/MT/"
                           "S2A_MSIL1C_20230615T102031_N0509_R065_T32TMT_20230615T140000.SAFE/"
                           "GRANULE/L1C_T32TMT_A041234_20230615T102559/IMG_DATA/"
                           "T32TMT_20230615T102031_B04.jp2");
  assert_true(swath__s2_band_href(base, "L1C_T32TMT_A041234_20230615T102559",
                                  "S2A_MSIL1C_20230615T102031_N0509_R065_T32TMT_20230615T140000",
                                  "32TMT", "TCI", 1, buf, sizeof buf) > 0);
  assert_string_equal(buf, "https://storage.googleapis.com/gcp-public-data-sentinel-2/tiles/32/T/"
                           "MT/S2A_MSIL1C_20230615T102031_N0509_R065_T32TMT_20230615T140000.SAFE/"
                           "GRANULE/L1C_T32TMT_A041234_20230615T102559/IMG_DATA/"
                           "T32TMT_20230615T102031_TCI.jp2");
  const char *g = "S2A_OPER_MSI_L1C_TL_SGS__20161203T151707_A007569_T29QQV_N02.04";
  assert_true(swath__s2_is_legacy(g));
  assert_false(swath__s2_is_legacy("L1C_T32TMT_A041234_20230615T102559"));
  assert_true(swath__s2_band_href("gs://b/x.SAFE", g, "P", "29QQV", "B02", 0, buf, sizeof buf) > 0);
  assert_string_equal(buf,
                      "gs://b/x.SAFE/GRANULE/" /* granule without _N02.04, then _B02 */
                      "S2A_OPER_MSI_L1C_TL_SGS__20161203T151707_A007569_T29QQV_N02.04/"
                      "IMG_DATA/S2A_OPER_MSI_L1C_TL_SGS__20161203T151707_A007569_T29QQV_B02.jp2");
  assert_int_equal(swath__s2_default_base("01CCV", "P", buf, sizeof buf), 0);
  assert_string_equal(buf, "gs://gcp-public-data-sentinel-2/tiles/1/C/CV/P.SAFE");
  char *h = swath_href_to_gdal("gs://bucket/a/b.jp2");
  assert_string_equal(h, "/vsicurl/https://storage.googleapis.com/bucket/a/b.jp2");
  free(h);
}

/* ---- parameters ------------------------------------------------------------------ */

static void test_parse_errors(void **state) {
  (void)state;
  assert_true(parse_fails("{\"bbox\": [1, 2, 3]}", "bbox"));
  assert_true(parse_fails("{\"bbox\": [1, 2, 3, 4, 5]}", "bbox"));
  assert_true(parse_fails("{\"bbox\": [0, 50, 10, 40]}", "south"));
  assert_true(parse_fails("{\"bbox\": [0, 0, 190, 10]}", "west"));
  assert_true(parse_fails("{\"bbox\": [0, 0, 1, 1], \"intersects\": {\"type\": \"Point\", "
                          "\"coordinates\": [0, 0]}}",
                          "together"));
  assert_true(parse_fails("{\"intersects\": {\"type\": \"Polygon\", \"coordinates\": [[[0, 0], "
                          "[1, 1], [1, 0], [0, 1], [0, 0]]]}}",
                          "not valid"));
  assert_true(parse_fails("{\"intersects\": {\"type\": \"Blob\"}}", "intersects"));
  assert_true(parse_fails("{\"limit\": -1}", "limit"));
  assert_true(parse_fails("{\"limit\": 0}", "limit"));
  assert_true(parse_fails("{\"limit\": 2.5}", "limit"));
  assert_true(parse_fails("{\"datetime\": \"../..\"}", "open at both ends"));
  assert_true(parse_fails("{\"datetime\": \"2023-06-02/2023-06-01\"}", "ends before"));
  assert_true(parse_fails("{\"datetime\": \"2023-06-01/2023-06-02/2023-06-03\"}", "'/'"));
  assert_true(parse_fails("{\"ids\": []}", "ids"));
  assert_true(parse_fails("{\"collections\": [1]}", "collections"));
  assert_true(parse_fails("{\"sortby\": [{\"field\": \"bogus\"}]}", "sortby"));
  assert_true(
      parse_fails("{\"sortby\": [{\"field\": \"id\", \"direction\": \"up\"}]}", "direction"));
  assert_true(parse_fails("{\"filter-lang\": \"cql2-text\", \"filter\": {}}", "cql2-json"));
  assert_true(parse_fails("{\"filter\": {\"op\": \"~\", \"args\": []}}", "not supported"));
  assert_true(parse_fails("{\"filter\": {\"op\": \"<\", \"args\": [{\"property\": \"nope\"}, 1]}}",
                          "queryable"));
  assert_true(parse_fails("{\"filter\": {\"op\": \"<\", \"args\": [{\"property\": "
                          "\"eo:cloud_cover\"}, \"a\"]}}",
                          "number"));
  assert_true(parse_fails("{\"query\": {\"eo:cloud_cover\": {\"almost\": 3}}}", "almost"));
  assert_true(parse_fails("{\"token\": \"!!!\"}", "token"));
  assert_true(parse_fails("{\"wat\": 1}", "unknown parameter"));
  /* a token of one sortby is refused by another */
  json_t *t = json_pack("[sI]", "-datetime", (json_int_t)5);
  char *raw = json_dumps(t, JSON_COMPACT);
  json_decref(t);
  (void)raw;
  free(raw);

  /* GET parameters become the POST shape */
  const char *k[] = {"bbox", "sortby", "ids", "limit"};
  const char *v[] = {"1,2,3,4", " eo:cloud_cover,-datetime", "a,b", "5"};
  json_t *body;
  assert_int_equal(swath_search_body_from_params(k, v, 4, 0, &body), 0);
  char *s = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(s, "{\"bbox\":[1.0,2.0,3.0,4.0],\"ids\":[\"a\",\"b\"],\"limit\":5,\"sortby\":"
                         "[{\"direction\":\"asc\",\"field\":\"eo:cloud_cover\"},{\"direction\":"
                         "\"desc\",\"field\":\"datetime\"}]}");
  free(s);
  json_decref(body);
  const char *k2[] = {"bbox"}, *v2[] = {"1,x,3,4"};
  assert_int_equal(swath_search_body_from_params(k2, v2, 1, 0, &body), SWATH_EINVAL);
  const char *k3[] = {"limit"}, *v3[] = {"12abc"};
  assert_int_equal(swath_search_body_from_params(k3, v3, 1, 0, &body), SWATH_EINVAL);
}

/* ---- ingest and search -------------------------------------------------------------- */

struct bad_lines {
  int n;
  int64_t lines[8];
};
static void on_bad(void *ud, const char *source, int64_t line, const char *msg) {
  (void)source, (void)msg;
  struct bad_lines *b = ud;
  if (b->n < 8) b->lines[b->n] = line;
  b->n++;
}

static void test_ingest_csv(void **state) {
  (void)state;
  FILE *f = fopen(tmp_path("a.csv"), "wb");
  fputs("\xef\xbb\xbf" HEADER "\r\n", f); /* BOM and CRLF */
  row(f, "G1", 1, 10, 10, 40, 11, 41);
  fputs("\"G2\",\"S2A_MSIL1C_20230602T102031_N0509_R065_T32TMT_20230615T140000\",D,32TMT,"
        "2023-06-02T10:25:59.024000Z,,20.5,,2023-06-15T14:00:00Z,41,40,10,11,\"gs://x,y\"\r\n",
        f);                                                 /* line 3: quoted fields, empty size */
  fputs("G3,P,D,32TMT,yesterday,1,2,,,41,40,10,11,B\n", f); /* line 4: bad time */
  fputs("G4,P,D\n", f);                                     /* line 5: too few fields */
  row(f, "G5", 3, 101, 10, 40, 11, 41);                     /* line 6: cloud > 100 */
  row(f, "G6", 4, 30, 10, 41, 11, 40);                      /* line 7: south > north */
  fclose(f);
  swath_catalog *c = open_new("a.db");
  struct bad_lines bl = {0};
  swath_ingest_opts o = {0};
  o.on_bad = on_bad;
  o.ud = &bl;
  swath_ingest_report r;
  assert_int_equal(swath_catalog_ingest(c, tmp_path("a.csv"), &o, &r), 0);
  assert_string_equal(r.format, "s2csv");
  assert_int_equal(r.inserted, 2);
  assert_int_equal(r.malformed, 4);
  assert_int_equal(bl.n, 4);
  assert_int_equal(bl.lines[0], 4);
  assert_int_equal(bl.lines[1], 5);
  assert_int_equal(bl.lines[2], 6);
  assert_int_equal(bl.lines[3], 7);
  json_t *item;
  assert_int_equal(swath_catalog_get_item(c, "sentinel-2-l1c", "G2", &item), 0);
  json_t *p = json_object_get(item, "properties");
  assert_null(json_object_get(p, "s2:total_size"));
  assert_string_equal(json_string_value(json_object_get(p, "s2:base_url")), "gs://x,y");
  assert_true(json_number_value(json_object_get(p, "eo:cloud_cover")) == 20.5);
  json_decref(item);
  assert_int_equal(swath_catalog_get_item(c, "sentinel-2-l1c", "nope", &item), SWATH_ENOTFOUND);
  /* re-ingest: updates, no duplicates */
  assert_int_equal(swath_catalog_ingest(c, tmp_path("a.csv"), &o, &r), 0);
  assert_int_equal(r.inserted, 0);
  assert_int_equal(r.updated, 2);
  int64_t m;
  ids_of(c, "{}", &m, NULL);
  assert_int_equal(m, 2);
  /* re-ingest with changes (the cloud cover of one, a field of the stored
   * record of the other): both rewritten (unchanged rows are skipped) */
  f = fopen(tmp_path("b.csv"), "wb");
  fputs(HEADER "\n", f);
  row(f, "G1", 1, 11, 10, 40, 11, 41);
  fputs("G2,S2A_MSIL1C_20230602T102031_N0509_R065_T32TMT_20230615T140000,D,32TMT,"
        "2023-06-02T10:25:59.024000Z,,20.5,FAILED,2023-06-15T14:00:00Z,41,40,10,11,\"gs://x,y\"\n",
        f);
  fclose(f);
  assert_int_equal(swath_catalog_ingest(c, tmp_path("b.csv"), &o, &r), 0);
  assert_int_equal(r.updated, 2);
  assert_int_equal(swath_catalog_get_item(c, "sentinel-2-l1c", "G1", &item), 0);
  p = json_object_get(item, "properties");
  assert_true(json_number_value(json_object_get(p, "eo:cloud_cover")) == 11.0);
  json_decref(item);
  assert_int_equal(swath_catalog_get_item(c, "sentinel-2-l1c", "G2", &item), 0);
  p = json_object_get(item, "properties");
  assert_string_equal(json_string_value(json_object_get(p, "s2:geometric_quality")), "FAILED");
  json_decref(item);
  swath_catalog_close(c);
  int64_t page; /* a new catalog has 16 KB pages (store.c) */
  sql_row("a.db", "PRAGMA page_size", &page, 1);
  assert_int_equal(page, 16384);
  /* a half-built catalog (interrupted bulk build) is refused with a clear line */
  sqlite3 *db;
  assert_int_equal(sqlite3_open(tmp_path("a.db"), &db), SQLITE_OK);
  sqlite3_exec(db, "UPDATE meta SET value = 'building' WHERE key = 'state'", NULL, NULL, NULL);
  sqlite3_close(db);
  assert_int_equal(swath_catalog_open(tmp_path("a.db"), SWATH_CATALOG_READONLY, &c), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "half-built"));
  assert_int_equal(swath_catalog_open(tmp_path("missing.db"), SWATH_CATALOG_READONLY, &c),
                   SWATH_EINVAL);
}

/* Items of rows whose text is not ASCII: UTF-8 text is kept (hrefs
 * included); text that is not UTF-8 drops the optional value and the assets
 * built from it, and fails the item where the text is required. */
static void test_s2_item_text(void **state) {
  (void)state;
  static const char prod[] = "S2A_MSIL1C_20230602T102031_N0509_R065_T32TMT_20230615T140000";
  FILE *f = fopen(tmp_path("t.csv"), "wb");
  fputs(HEADER "\n", f);
  fprintf(f,
          "U1,%s,GS2A_x,32TMT,2023-06-02T10:25:59Z,1,2,PASSED,,41,40,10,11,"
          "gs://b\xc3\xbc"
          "cket/t.SAFE\n",
          prod);
  fprintf(f,
          "U2,%s,GS2A_x,32TMT,2023-06-02T10:25:59Z,1,2,PASSED,,41,40,10,11,"
          "gs://bad\xff/t.SAFE\n",
          prod);
  fprintf(f, "U3,%s,GS2A_\xff,32TMT,2023-06-02T10:25:59Z,1,2,PASSED,,41,40,10,11,gs://b/t.SAFE\n",
          prod);
  fclose(f);
  swath_catalog *c = ingest_new("t.csv", "t.db", 3);
  json_t *item;
  assert_int_equal(swath_catalog_get_item(c, "sentinel-2-l1c", "U1", &item), 0);
  json_t *p = json_object_get(item, "properties"), *a = json_object_get(item, "assets");
  assert_string_equal(json_string_value(json_object_get(p, "s2:base_url")), "gs://b\xc3\xbc"
                                                                            "cket/t.SAFE");
  assert_int_equal(json_object_size(a), 14);
  assert_string_equal(json_string_value(json_object_get(json_object_get(a, "B04"), "href")),
                      "https://storage.googleapis.com/b\xc3\xbc"
                      "cket/t.SAFE/GRANULE/U1/IMG_DATA/"
                      "T32TMT_20230602T102031_B04.jp2");
  json_decref(item);
  assert_int_equal(swath_catalog_get_item(c, "sentinel-2-l1c", "U2", &item), 0);
  p = json_object_get(item, "properties");
  assert_null(json_object_get(p, "s2:base_url"));
  assert_int_equal(json_object_size(json_object_get(item, "assets")), 0);
  assert_string_equal(json_string_value(json_object_get(p, "s2:mgrs_tile")), "32TMT");
  json_decref(item);
  assert_int_not_equal(swath_catalog_get_item(c, "sentinel-2-l1c", "U3", &item), 0);
  assert_non_null(strstr(swath_error_message(), "'U3' has text that is not UTF-8"));
  swath_catalog_close(c);
}

/* The bytes of a page of Sentinel-2 items, against tests/data/s2_page.json:
 * the page the STAC server gave for these two rows before items were
 * written as text (when they were jansson trees dumped by swath_json_write).
 * One row is new-style, across the antimeridian, with a quote and a
 * backslash in a field, Google's default base URL and cached colour; one is
 * old-style ("OPER", no TCI) with a base URL of its own (so no gs://
 * alternates); one has a gs:// base URL that needs escaping in every href.
 * Each item from the single-item route, with its links, must be the same
 * text as on the page. */
static void test_item_text_golden(void **state) {
  (void)state;
  static const char r1[] = "L1C_T01KAB_A031000_20230602T223001",
                    r2[] = "S2A_OPER_MSI_L1C_TL_SGS__20151001T101010_A001000_T32TMT_N02.04",
                    r3[] = "L1C_T32TMT_A031001_20230603T103001";
  FILE *f = fopen(tmp_path("g.csv"), "wb");
  fprintf(f,
          HEADER "\n%s,S2B_MSIL1C_20230602T222539_N0509_R029_T01KAB_20230603T000101,"
                 "GS2B_20230602T222539_031000_N05.09,01KAB,2023-06-02T22:30:01.5Z,,12.5,Q\"\\x,"
                 "2023-06-03T00:01:01Z,-17.1,-18.1,179.5,-179.2,\n",
          r1);
  fprintf(f,
          "%s,S2A_OPER_PRD_MSIL1C_PDMC_20151001T101010_R065_V20151001T101010_20151001T101010,"
          "GS2A_20151001T101010_001000_N02.04,32TMT,2015-10-01T10:10:10Z,123456789,,PASSED,,"
          "46.1,45.1,8.9,10.3,https://example.com/s/x.SAFE\n",
          r2);
  fprintf(f,
          "%s,S2A_MSIL1C_20230603T102531_N0509_R108_T32TMT_20230603T120101,"
          "GS2A_20230603T102531_031001_N05.09,32TMT,2023-06-03T10:30:01Z,5,0,PASSED,,46.1,45.1,"
          "8.9,10.3,\"gs://buck\"\"et\\x/S2A.SAFE\"\n",
          r3);
  fclose(f);
  swath_catalog *c = ingest_new("g.csv", "g.db", 3);
  swath_catalog_close(c);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(tmp_path("g.db"), &db), SQLITE_OK);
  assert_int_equal(
      sqlite3_exec(db,
                   "UPDATE items SET red = 12.25, green = 1e-7, blue = 1234567.891234, "
                   "bright = 0.1, cmethod = 'exact', cpixels = 1000, csource = 'tci' "
                   "WHERE id LIKE 'L1C_T01%'",
                   NULL, NULL, NULL),
      SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(swath_catalog_open(tmp_path("g.db"), SWATH_CATALOG_READONLY, &c), 0);

  char body[512];
  snprintf(body, sizeof body,
           "{\"ids\": [\"%s\", \"%s\", \"%s\"], "
           "\"sortby\": [{\"field\": \"datetime\", \"direction\": \"desc\"}]}",
           r1, r2, r3);
  swath_search *q = parsed(body);
  swath_search_opts o = {100000, 0, "http://h:1"};
  swath_page p;
  assert_int_equal(swath_search_run(c, q, &o, &p), 0);
  swath_search_free(q);
  json_t *links = json_pack("[{s:s, s:s, s:s}]", "rel", "root", "type", "application/json", "href",
                            "http://h:1/");
  swath_jtext t = {.precision = SWATH_JSON_DIGITS};
  assert_int_equal(swath_page_write(&p, links, &t), 0);
  json_decref(links);
  swath_page_clear(&p);
  FILE *g = fopen("tests/data/s2_page.json", "rb");
  assert_non_null(g);
  static char want[65536];
  size_t n = fread(want, 1, sizeof want - 1, g);
  fclose(g);
  want[n] = '\0';
  assert_int_equal(t.len, n);
  assert_memory_equal(t.p, want, n);
  swath_jtext_clear(&t);

  const char *ids[] = {r1, r2, r3};
  for (int k = 0; k < 3; k++) {
    json_t *item;
    assert_int_equal(swath_catalog_get_item(c, "sentinel-2-l1c", ids[k], &item), 0);
    swath_item_add_links(item, "http://h:1");
    swath_jtext_value(&t, item);
    json_decref(item);
    swath_jtext_lit(&t, "\0");
    assert_false(t.failed);
    assert_non_null(strstr(want, t.p));
    assert_true(strlen(t.p) > 5000); /* (a whole item, not a part of one) */
    swath_jtext_clear(&t);
  }
  swath_catalog_close(c);
}

static void test_antimeridian_and_time(void **state) {
  (void)state;
  FILE *f = fopen(tmp_path("am.csv"), "w");
  fputs(HEADER "\n", f);
  row(f, "EAST", 1, 5, 179.0, 0, 179.9, 1);   /* just west of 180 */
  row(f, "WEST", 2, 5, -179.9, 0, -179.0, 1); /* just east of -180 */
  row(f, "CROSS", 3, 5, 179.5, 5, -179.5, 6); /* straddles the antimeridian */
  row(f, "FAR", 4, 5, 0, 0, 1, 1);
  fclose(f);
  swath_catalog *c = open_new("am.db");
  swath_ingest_report r;
  ingest(c, "am.csv", &r);
  const char *s = ids_of(c,
                         "{\"bbox\": [178, -10, -178, 10], \"sortby\": [{\"field\": "
                         "\"datetime\"}]}",
                         NULL, NULL);
  assert_string_equal(s, "EAST WEST CROSS");
  s = ids_of(c, "{\"bbox\": [-179.6, 4, -179.4, 7]}", NULL, NULL); /* east part of CROSS */
  assert_string_equal(s, "CROSS");
  s = ids_of(c, "{\"bbox\": [179.1, 4, 179.4, 7]}", NULL, NULL); /* west of CROSS's start */
  assert_string_equal(s, "");
  s = ids_of(c, "{\"bbox\": [179.95, 0.5, -179.95, 0.6]}", NULL, NULL); /* the gap */
  assert_string_equal(s, "");
  s = ids_of(c, "{\"bbox\": [179.6, 4, 179.8, 7]}", NULL, NULL); /* west part of CROSS */
  assert_string_equal(s, "CROSS");
  s = ids_of(c, "{\"bbox\": [-180, 5.5, -180, 5.5]}", NULL, NULL); /* on the antimeridian */
  assert_string_equal(s, "CROSS");
  s = ids_of(c, "{\"bbox\": [-179.4, 4, 179.4, 7]}", NULL, NULL); /* all but CROSS's span */
  assert_string_equal(s, "");
  /* datetime: instants, days, open ends */
  s = ids_of(c, "{\"datetime\": \"2023-06-02\"}", NULL, NULL);
  assert_string_equal(s, "WEST");
  s = ids_of(c, "{\"datetime\": \"2023-06-02T10:25:59.024Z\"}", NULL, NULL);
  assert_string_equal(s, "WEST");
  s = ids_of(c, "{\"datetime\": \"2023-06-02T10:25:59.025Z\"}", NULL, NULL);
  assert_string_equal(s, "");
  s = ids_of(c, "{\"datetime\": \"../2023-06-02\", \"sortby\": [{\"field\": \"datetime\"}]}", NULL,
             NULL);
  assert_string_equal(s, "EAST WEST");
  s = ids_of(c,
             "{\"datetime\": \"2023-06-03T00:00:00Z/\", \"sortby\": [{\"field\": "
             "\"datetime\"}]}",
             NULL, NULL);
  assert_string_equal(s, "CROSS FAR");
  s = ids_of(c, "{\"ids\": [\"FAR\", \"EAST\", \"FAR\", \"x\"], \"sortby\": [{\"field\": \"id\"}]}",
             NULL, NULL);
  assert_string_equal(s, "EAST FAR");
  json_t *b = json_pack("{s:[s]}", "collections", "nope");
  swath_search *q;
  swath_page p;
  assert_int_equal(swath_search_parse(b, &q), 0);
  assert_int_equal(swath_search_run(c, q, NULL, &p), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "unknown collection"));
  swath_search_free(q);
  json_decref(b);
  /* CROSS is indexed over [179.5, 180.5], not over every longitude, both
   * when packed (a new catalog) and when inserted (CROSS2, an update) */
  FILE *f2 = fopen(tmp_path("am2.csv"), "w");
  fputs(HEADER "\n", f2);
  row(f2, "CROSS2", 3, 5, 170, 5, -170, 6);
  fclose(f2);
  ingest(c, "am2.csv", &r);
  s = ids_of(c, "{\"bbox\": [-175, 5, -175, 5], \"sortby\": [{\"field\": \"id\"}]}", NULL, NULL);
  assert_string_equal(s, "CROSS2");
  s = ids_of(c, "{\"bbox\": [179.9, 5, -179.9, 6], \"sortby\": [{\"field\": \"id\"}]}", NULL, NULL);
  assert_string_equal(s, "CROSS CROSS2");
  s = ids_of(c, "{\"bbox\": [0, 0, 10, 10]}", NULL, NULL);
  assert_string_equal(s, "FAR");
  sqlite3 *db;
  assert_int_equal(sqlite3_open(tmp_path("am.db"), &db), SQLITE_OK);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT i.id, r.minx, r.maxx FROM items_rtree r JOIN items i "
                                      "ON i.rid = r.rid WHERE i.id LIKE 'CROSS%' ORDER BY i.id",
                                      -1, &st, NULL),
                   SQLITE_OK);
  double want[2][2] = {{179.5, 180.5}, {170, 190}};
  for (int k = 0; k < 2; k++) {
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_true(fabs(sqlite3_column_double(st, 1) - want[k][0]) < 1e-4);
    assert_true(fabs(sqlite3_column_double(st, 2) - want[k][1]) < 1e-4);
  }
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);
  swath_catalog_close(c);
}

static void test_intersects_exact(void **state) {
  (void)state;
  write_tmp("tri.json",
            "{\"type\": \"FeatureCollection\", \"features\": ["
            "{\"type\": \"Feature\", \"id\": \"tri\", \"geometry\": {\"type\": \"Polygon\", "
            "\"coordinates\": [[[0, 0], [10, 0], [0, 10], [0, 0]]]}, \"properties\": "
            "{\"datetime\": null, \"start_datetime\": \"2020-01-01T00:00:00Z\", "
            "\"end_datetime\": \"2020-12-31T00:00:00Z\"}},\n"
            "{\"type\": \"Feature\", \"id\": \"line\", \"geometry\": {\"type\": \"LineString\", "
            "\"coordinates\": [[20, 0], [30, 10]]}, \"properties\": {\"datetime\": "
            "\"2021-01-01T00:00:00Z\"}},\n"
            "{\"type\": \"Feature\", \"id\": \"nodate\", \"geometry\": {\"type\": \"Point\", "
            "\"coordinates\": [1, 1]}, \"properties\": {}}\n"
            "]}");
  swath_catalog *c = open_new("tri.db");
  swath_ingest_report r;
  ingest(c, "tri.json", &r);
  assert_int_equal(r.inserted, 2);
  assert_int_equal(r.malformed, 1);
  assert_string_equal(ids_of(c, "{\"bbox\": [7, 7, 9, 9]}", NULL, NULL), "");
  assert_string_equal(ids_of(c, "{\"bbox\": [4, 4, 9, 9]}", NULL, NULL), "tri"); /* touches */
  assert_string_equal(
      ids_of(c, "{\"intersects\": {\"type\": \"Point\", \"coordinates\": [8, 8]}}", NULL, NULL),
      "");
  assert_string_equal(
      ids_of(c, "{\"intersects\": {\"type\": \"Point\", \"coordinates\": [2, 2]}}", NULL, NULL),
      "tri");
  /* a polygon crossing the line's bbox corner but not the line */
  assert_string_equal(ids_of(c,
                             "{\"intersects\": {\"type\": \"Polygon\", \"coordinates\": "
                             "[[[28, 0], [30, 0], [30, 2], [28, 0]]]}}",
                             NULL, NULL),
                      "");
  assert_string_equal(ids_of(c,
                             "{\"intersects\": {\"type\": \"MultiPoint\", \"coordinates\": "
                             "[[25, 5], [2, 2]]}, \"sortby\": [{\"field\": \"id\"}]}",
                             NULL, NULL),
                      "line tri");
  /* interval items match any overlapping datetime */
  assert_string_equal(ids_of(c, "{\"datetime\": \"2020-06-01\"}", NULL, NULL), "tri");
  assert_string_equal(ids_of(c, "{\"datetime\": \"2019-01-01/2020-01-01\"}", NULL, NULL), "tri");
  assert_string_equal(ids_of(c, "{\"datetime\": \"2020-12-31T00:00:01Z/..\"}", NULL, NULL), "line");
  /* a single Item document (not a collection); ingested again, it updates */
  write_tmp("one.json", "{\"type\": \"Feature\", \"stac_version\": \"1.0.0\", \"id\": \"one\", "
                        "\"geometry\": {\"type\": \"Point\", \"coordinates\": [40, 40]}, "
                        "\"properties\": {\"datetime\": \"2022-02-02T00:00:00Z\"}, "
                        "\"assets\": {}, \"links\": []}");
  ingest(c, "one.json", &r);
  assert_int_equal(r.inserted, 1);
  ingest(c, "one.json", &r);
  assert_int_equal(r.inserted, 0);
  assert_int_equal(r.updated, 1);
  assert_string_equal(ids_of(c, "{\"bbox\": [39, 39, 41, 41]}", NULL, NULL), "one");
  swath_catalog_close(c);
}

/* Many rows with few distinct sort values: pages must tile the result. */
static void test_paging_and_filters(void **state) {
  (void)state;
  FILE *f = fopen(tmp_path("p.csv"), "w");
  fputs(HEADER "\n", f);
  for (int i = 0; i < 300; i++) {
    char g[32];
    snprintf(g, sizeof g, "G%03d", i);
    row(f, g, 1 + i % 5, (i * 7) % 4 * 10.0, (i % 17) * 0.1, 0, (i % 17) * 0.1 + 1, 1);
  }
  fclose(f);
  swath_catalog *c = open_new("p.db");
  swath_ingest_report r;
  ingest(c, "p.csv", &r);
  static const char *const sorts[] = {
      "[{\"field\": \"eo:cloud_cover\"}]",
      "[{\"field\": \"eo:cloud_cover\", \"direction\": \"desc\"}, {\"field\": \"datetime\"}]",
      "[{\"field\": \"datetime\", \"direction\": \"desc\"}, {\"field\": \"id\"}]",
      "[{\"field\": \"id\", \"direction\": \"desc\"}]", NULL};
  for (int s = 0; sorts[s]; s++) {
    char body[512], all[65536];
    snprintf(body, sizeof body, "{\"limit\": 1000, \"sortby\": %s}", sorts[s]);
    snprintf(all, sizeof all, "%s", ids_of(c, body, NULL, NULL));
    for (int limit = 1; limit <= 64; limit *= 4) {
      char got[65536] = "", *token = NULL;
      int pages = 0;
      do {
        if (token)
          snprintf(body, sizeof body, "{\"limit\": %d, \"sortby\": %s, \"token\": \"%s\"}", limit,
                   sorts[s], token);
        else
          snprintf(body, sizeof body, "{\"limit\": %d, \"sortby\": %s}", limit, sorts[s]);
        free(token);
        int64_t m;
        const char *page = ids_of(c, body, &m, &token);
        assert_int_equal(m, 300);
        if (*got && *page) strcat(got, " ");
        strcat(got, page);
        pages++;
      } while (token && pages < 400);
      assert_string_equal(got, all);
      assert_int_equal(pages, (300 + limit - 1) / limit);
    }
  }
  /* numberMatched: capped counts are omitted (-1), collection-only ones are exact */
  {
    json_t *b = json_pack("{s:{s:s, s:[{s:s}, i]}}", "filter", "op", ">=", "args", "property",
                          "eo:cloud_cover", 0);
    swath_search *q;
    swath_page p;
    swath_search_opts o = {100, 1, NULL};
    assert_int_equal(swath_search_parse(b, &q), 0);
    assert_int_equal(swath_search_run(c, q, &o, &p), 0);
    assert_int_equal(p.matched, -1);
    swath_page_clear(&p);
    swath_search_free(q);
    json_decref(b);
    b = json_pack("{s:[s]}", "collections", "sentinel-2-l1c");
    assert_int_equal(swath_search_parse(b, &q), 0);
    assert_int_equal(swath_search_run(c, q, &o, &p), 0);
    assert_int_equal(p.matched, 300);
    swath_page_clear(&p);
    swath_search_free(q);
    json_decref(b);
  }
  /* filters: CQL2 and/or/not/between/in/like/isNull, the query extension */
  int64_t m;
  ids_of(c, "{\"filter\": {\"op\": \"<=\", \"args\": [{\"property\": \"eo:cloud_cover\"}, 10]}}",
         &m, NULL);
  assert_int_equal(m, 150); /* (i*7)%4 in {0,1} */
  ids_of(c,
         "{\"filter\": {\"op\": \"or\", \"args\": [{\"op\": \"=\", \"args\": [{\"property\": "
         "\"eo:cloud_cover\"}, 0]}, {\"op\": \"=\", \"args\": [30, {\"property\": "
         "\"eo:cloud_cover\"}]}]}}",
         &m, NULL);
  assert_int_equal(m, 150);
  ids_of(c,
         "{\"filter\": {\"op\": \"not\", \"args\": [{\"op\": \"between\", \"args\": "
         "[{\"property\": \"eo:cloud_cover\"}, 5, 25]}]}}",
         &m, NULL);
  assert_int_equal(m, 150);
  ids_of(c,
         "{\"filter\": {\"op\": \"and\", \"args\": [{\"op\": \"in\", \"args\": [{\"property\": "
         "\"id\"}, [\"G001\", \"G002\", \"G999\"]]}, {\"op\": \"like\", \"args\": "
         "[{\"property\": \"id\"}, \"G00%\"]}]}}",
         &m, NULL);
  assert_int_equal(m, 2);
  ids_of(c, "{\"filter\": {\"op\": \"isNull\", \"args\": [{\"property\": \"color:red\"}]}}", &m,
         NULL);
  assert_int_equal(m, 300);
  ids_of(c,
         "{\"filter\": {\"op\": \">=\", \"args\": [{\"property\": \"datetime\"}, "
         "{\"timestamp\": \"2023-06-05T00:00:00Z\"}]}}",
         &m, NULL);
  assert_int_equal(m, 60);
  ids_of(c, "{\"query\": {\"eo:cloud_cover\": {\"gt\": 0, \"lt\": 25}}}", &m, NULL);
  assert_int_equal(m, 150);
  ids_of(c, "{\"query\": {\"id\": {\"startsWith\": \"G01\"}}}", &m, NULL);
  assert_int_equal(m, 10); /* G010..G019 */
  swath_catalog_close(c);
}

/* Run a search body with a count limit (< 0: no numberMatched, which lets
 * a datetime-sorted spatial search walk datetime in slices); the ids go to
 * out, space-separated. Returns the number of items. */
static int page_ids(swath_catalog *c, const char *body, int64_t count_limit, char *out, size_t n,
                    char **token) {
  swath_page p;
  run_body(c, body, count_limit, &p);
  size_t at = 0, len = strlen(out);
  int count = 0;
  for (const char *id; (id = page_next_id(&p, &at, &count));) {
    len += (size_t)snprintf(out + len, n - len, "%s%s", len ? " " : "", id);
    assert_true(len < n);
  }
  *token = p.next_token ? strdup(p.next_token) : NULL;
  int got = p.returned;
  swath_page_clear(&p);
  return got;
}

/* Spatial searches sorted on datetime walk datetime in slices when no
 * count is asked for (search.c, run_sliced): pages of every size, both
 * directions, with and without datetime filters, return exactly what one
 * sorted statement returns (the path taken when numberMatched is counted),
 * with no empty last page. The rows make the walk grow through empty
 * slices (a box whose items are all old), meet ties (items sensed at the
 * same instant) and items whose time span covers years. */
static void test_sliced_paging(void **state) {
  (void)state;
  FILE *f = fopen(tmp_path("sl.csv"), "w");
  fputs(HEADER "\n", f);
  for (int i = 0; i < 400; i++) {
    char g[32], t[40];
    snprintf(g, sizeof g, "S%03d", i);
    /* A (x 0..1): 2016-2024, each pair (2k, 2k + 1) on one day, and for
     * every third k at the same instant; B (x 10..11): 2016 only */
    int old = i % 8 == 0;
    long day = old ? (i * 7) % 300 : (i / 2 * 2 * 7919L) % 3200;
    time_t sec = 1451606400 + day * 86400 + (i / 2 % 3 ? i * 61 : 0);
    struct tm tm;
    gmtime_r(&sec, &tm);
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
    double x = old ? 10 + (i % 5) * 0.1 : (i % 9) * 0.1;
    fprintf(
        f,
        "%s,S2A_MSIL1C_20230601T102031_N0509_R065_T32TMT_20230615T140000,GS2A_x,32TMT,%s,123,"
        "%d,PASSED,2023-06-15T14:00:00.000000Z,1,0,%g,%g,"
        "gs://b/tiles/32/T/MT/S2A_MSIL1C_20230601T102031_N0509_R065_T32TMT_20230615T140000.SAFE\n",
        g, t, i % 100, x, x + 1);
  }
  fclose(f);
  write_tmp("span.json",
            "{\"type\": \"FeatureCollection\", \"features\": ["
            "{\"type\": \"Feature\", \"id\": \"LONG1\", \"bbox\": [0.2, 0.2, 0.3, 0.3], "
            "\"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[0.2, 0.2], [0.3, 0.2], "
            "[0.3, 0.3], [0.2, 0.3], [0.2, 0.2]]]}, \"properties\": {\"datetime\": "
            "\"2019-01-01T00:00:00Z\", \"start_datetime\": \"2016-01-01T00:00:00Z\", "
            "\"end_datetime\": \"2024-01-01T00:00:00Z\"}},"
            "{\"type\": \"Feature\", \"id\": \"LONG2\", \"bbox\": [10.2, 0.2, 10.3, 0.3], "
            "\"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[10.2, 0.2], [10.3, 0.2], "
            "[10.3, 0.3], [10.2, 0.3], [10.2, 0.2]]]}, \"properties\": {\"datetime\": null, "
            "\"start_datetime\": \"2015-06-01T00:00:00Z\", \"end_datetime\": "
            "\"2024-06-01T00:00:00Z\"}}]}");
  swath_catalog *c = open_new("sl.db");
  swath_ingest_report r;
  ingest(c, "sl.csv", &r);
  ingest(c, "span.json", &r);
  static const char *const where[] = {
      "\"bbox\": [0, 0, 0.5, 1]",  /* A only */
      "\"bbox\": [10, 0, 12, 1]",  /* B only: all old */
      "\"bbox\": [-1, -1, 12, 2]", /* both */
      "\"bbox\": [0, 0, 12, 1], \"datetime\": \"2016-03-01T00:00:00Z/2016-09-30T00:00:00Z\"",
      "\"bbox\": [0, 0, 12, 1], \"datetime\": \"../2018-01-01T00:00:00Z\"",
      "\"bbox\": [0, 0, 12, 1], \"datetime\": \"2022-01-01T00:00:00Z/..\"",
      "\"bbox\": [0, 0, 12, 1], \"filter\": {\"op\": \"<\", \"args\": [{\"property\": "
      "\"eo:cloud_cover\"}, 20]}",
      NULL};
  static const char *const sorts[] = {
      "[{\"field\": \"datetime\", \"direction\": \"desc\"}]", "[{\"field\": \"datetime\"}]",
      "[{\"field\": \"datetime\", \"direction\": \"desc\"}, {\"field\": \"id\"}]", NULL};
  static char all[16384], got[16384];
  for (int w = 0; where[w]; w++)
    for (int s = 0; sorts[s]; s++) {
      char body[1024], *token = NULL;
      all[0] = '\0';
      snprintf(body, sizeof body, "{%s, \"sortby\": %s, \"limit\": 1000}", where[w], sorts[s]);
      int total = page_ids(c, body, 0, all, sizeof all, &token); /* one sorted statement */
      assert_null(token);
      assert_true(total > 0);
      /* the long-span items are among what the walks must find */
      if (w == 0) assert_non_null(strstr(all, "LONG1"));
      if (w == 1) assert_non_null(strstr(all, "LONG2"));
      for (int limit = 1; limit <= 1000; limit = limit < 7 ? limit + 3 : limit * 7) {
        int pages = 0;
        got[0] = '\0';
        do {
          char *prev = token;
          if (prev)
            snprintf(body, sizeof body, "{%s, \"sortby\": %s, \"limit\": %d, \"token\": \"%s\"}",
                     where[w], sorts[s], limit, prev);
          else
            snprintf(body, sizeof body, "{%s, \"sortby\": %s, \"limit\": %d}", where[w], sorts[s],
                     limit);
          free(prev);
          assert_true(page_ids(c, body, -1, got, sizeof got, &token) > 0);
          pages++;
        } while (token && pages < 500);
        if (strcmp(got, all)) fail_msg("%s, limit %d:\n got %s\nwant %s", body, limit, got, all);
        assert_int_equal(pages, (total + limit - 1) / limit);
      }
    }
  char one[256] = "", *token;
  page_ids(c, "{\"bbox\": [10, 0, 12, 1], \"ids\": [\"LONG2\"]}", -1, one, sizeof one, &token);
  assert_string_equal(one, "LONG2");
  swath_catalog_close(c);
}

/* numberMatched of a search body. */
static int64_t matched_of(swath_catalog *c, const char *body, int64_t cap) {
  swath_page p;
  run_body(c, body, cap, &p);
  int64_t m = p.matched;
  swath_page_clear(&p);
  return m;
}

/* The same count from the R*Tree's entries alone (which swath_search_run
 * takes only for searches too large for these tests). */
static int64_t rtree_count_of(swath_catalog *c, const char *body, int64_t cap) {
  swath_search *q = parsed(body);
  int rc;
  int64_t m = swath__search_count_rtree(c, q, cap, &rc);
  if (rc) fail_msg("%s: %s", body, swath_error_message());
  swath_search_free(q);
  return m;
}

/* The ids of every match of `body` (a JSON object's text), in either
 * datetime order, as one page (counted: count_limit 0) or as pages of 7
 * through their tokens (not counted: the datetime slices). */
static char *all_ids(swath_catalog *c, const char *body, int asc, int paged) {
  char b[1024], *token = NULL;
  static char out[65536];
  out[0] = '\0';
  int pages = 0;
  do {
    char *prev = token;
    snprintf(b, sizeof b, "%.*s, \"limit\": %d%s%s%s%s}", (int)strlen(body) - 1, body,
             paged ? 7 : 10000, asc ? ", \"sortby\": [{\"field\": \"datetime\"}]" : "",
             prev ? ", \"token\": \"" : "", prev ? prev : "", prev ? "\"" : "");
    free(prev);
    page_ids(c, b, paged ? -1 : 0, out, sizeof out, &token);
  } while (token && ++pages < 1000);
  assert_null(token);
  return strdup(out);
}

/* numberMatched and the items of a box or datetime search: the same whether
 * they come from the R*Tree's entries and their copies of id, collection
 * and datetime (a catalog whose footprints are all boxes, search_count.c
 * count_by_rtree and swath__search_rtree_narrow) or from the rows (the same catalog
 * without that mark). The items and queries sit on each other's edges,
 * where the R*Tree's float32 bounds cannot decide, across and on the
 * antimeridian, and on datetime edges to the millisecond; some items share
 * an instant, so their order is the row id's. */
static void test_rtree_count(void **state) {
  (void)state;
  enum { ITEMS = 400, QUERIES = 600 };
  static double box[ITEMS][4];
  static int64_t when[ITEMS];
  uint32_t seed = 12345;
#define RND() (seed = seed * 1664525u + 1013904223u, (double)(seed >> 8) / 16777216.0)
  FILE *f = fopen(tmp_path("rc.csv"), "w");
  fputs(HEADER "\n", f);
  for (int i = 0; i < ITEMS; i++) {
    double w = -180 + 360 * RND(), s = -60 + 100 * RND(), e = w + 0.05 + 3 * RND();
    if (i % 10 == 0) w = 179 + RND(), e = -180 + 2 * RND(); /* across the antimeridian */
    if (i % 37 == 0) e = 180;                               /* on it, from the west */
    if (i % 41 == 0) w = 178.5, e = -180;                   /* across, ending on it */
    if (i % 43 == 0) w = -180;                              /* on it, from the east */
    if (e > 180) e -= 360;
    box[i][0] = w, box[i][1] = s, box[i][2] = e, box[i][3] = s + 0.01 + 2 * RND();
    when[i] = 1577836800000LL + (int64_t)(RND() * 1.5e11); /* 2020 .. 2024, in ms */
    if (i % 7 == 3) { /* the same instant and place as the item before */
      when[i] = when[i - 1];
      memcpy(box[i], box[i - 1], sizeof box[i]);
    }
    time_t sec = (time_t)(when[i] / 1000);
    struct tm tm;
    char t[40];
    gmtime_r(&sec, &tm);
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(
        f,
        "R%03d,S2A_MSIL1C_20230601T102031_N0509_R065_T32TMT_20230615T140000,GS2A_x,32TMT,"
        "%s.%03dZ,1,5,PASSED,2023-06-15T14:00:00.000000Z,%.9f,%.9f,%.9f,%.9f,"
        "gs://b/tiles/32/T/MT/S2A_MSIL1C_20230601T102031_N0509_R065_T32TMT_20230615T140000.SAFE\n",
        i, t, (int)(when[i] % 1000), box[i][3], box[i][1], box[i][0], box[i][2]);
    /* what the catalog stores: the decimals as written */
    char v[4][32];
    for (int k = 0; k < 4; k++)
      snprintf(v[k], sizeof v[k], "%.9f", box[i][k]), box[i][k] = atof(v[k]);
  }
  fclose(f);
  swath_catalog *c = open_new("rc.db");
  swath_ingest_report r;
  ingest(c, "rc.csv", &r);
  swath_catalog_close(c);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(tmp_path("rc.db"), &db), SQLITE_OK);
  sqlite3_stmt *st;
  assert_int_equal(
      sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'footprints'", -1, &st, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "boxes");
  sqlite3_finalize(st);

  static char bodies[QUERIES][320], *fast_ids[QUERIES];
  static int64_t fast[QUERIES], fast_cap[QUERIES];
  for (int k = 0; k < QUERIES; k++) {
    int j = (int)(RND() * ITEMS);
    if (k % 12 == 7) j = 37 * (int)(RND() * (ITEMS / 37));  /* an item ending on 180 */
    if (k % 12 == 11) j = 10 * (int)(RND() * (ITEMS / 10)); /* one across the antimeridian */
    const double *b = box[j];
    double w, s, e, n, tiny = (k / 6 % 3 - 1) * 1e-9; /* on an item's edge, or a hair off */
    switch (k % 6) {
    case 0: /* ending where an item starts, west-east or south-north */
      if (k / 18 % 2)
        w = b[0] - 1, e = b[0] + tiny, s = b[1] - 0.5, n = b[3] + 0.5;
      else
        w = b[0] - 0.5, e = b[2] + 0.5, s = b[1] - 1, n = b[1] + tiny;
      break;
    case 1: /* starting where an item ends */
      if (k / 18 % 2)
        w = b[2] + tiny, e = b[2] + 1, s = b[1] - 0.5, n = b[3] + 0.5;
      else
        w = b[0] - 0.5, e = b[2] + 0.5, s = b[3] + tiny, n = b[3] + 1;
      break;
    case 2: /* across the antimeridian */
      w = 170 + 10 * RND(), e = -180 + 10 * RND(), s = -60 + 100 * RND(), n = s + 5;
      break;
    case 3: /* a point on an item's corner */
      w = e = b[0] + tiny, s = n = b[1] + tiny;
      break;
    case 4: /* touching the item at a corner */
      w = b[2] + tiny, e = b[2] + 1, s = b[3] + tiny, n = b[3] + 1;
      break;
    default:
      w = -180 + 350 * RND(), e = w + 20 * RND(), s = -60 + 90 * RND(), n = s + 20 * RND();
    }
    if (k % 12 == 7) /* from -180 over that item's latitudes: not its east end */
      w = -180, e = -179, s = b[1], n = b[3];
    if (k % 12 == 11) { /* on its west or east edge, a hair in or out */
      double t = (k / 12 % 3 - 1) * 1e-9;
      s = b[1] - 0.5, n = b[3] + 0.5;
      if (k / 36 % 2)
        w = b[0] - 1, e = b[0] + t;
      else
        w = b[2] + t, e = b[2] + 1;
    }
    /* (k % 4 == 2 and k % 12 == 7 or 11 override the cases above; every
     * case still comes up, at k % 12 == 0, 1, 3, 4, 5, 8 or 9) */
    if (k % 4 == 2) { /* around the item (for the datetime edges below) */
      w = b[0] - 0.5, e = b[2] + 0.5, s = b[1] - 0.5, n = b[3] + 0.5;
      if (w < -180) w += 360;
      if (e > 180) e -= 360;
    }
    if (w < -180) w = -180;
    if (e > 180) e = 180;
    if (w > 180) w = 180;
    if (e < -180) e = -180;
    if (s < -90) s = -90;
    if (n > 90) n = 90;
    int len = snprintf(bodies[k], sizeof bodies[k], "{\"bbox\": [%.12f, %.12f, %.12f, %.12f]", w, s,
                       e, n);
    if (k % 4 == 2) { /* from or to the item's instant, or 1 ms off it */
      int v = k / 4 % 4, open_end = v < 2;
      int64_t t = when[j] + (v == 0 ? 1 : v == 2 ? -1 : 0);
      char a[32];
      swath_time_format(t, a);
      len += snprintf(bodies[k] + len, sizeof bodies[k] - len, ", \"datetime\": \"%s%s%s\"",
                      open_end ? "" : "../", a, open_end ? "/.." : "");
    }
    snprintf(bodies[k] + len, sizeof bodies[k] - len, "}");
  }
  assert_int_equal(swath_catalog_open(tmp_path("rc.db"), SWATH_CATALOG_READONLY, &c), 0);
  int64_t total = 0;
  for (int k = 0; k < QUERIES; k++) {
    fast[k] = matched_of(c, bodies[k], 0);
    fast_cap[k] = matched_of(c, bodies[k], 3);
    int64_t tree = rtree_count_of(c, bodies[k], 0);
    if (tree != fast[k])
      fail_msg("%s: %lld from the R*Tree's entries, %lld from the search", bodies[k],
               (long long)tree, (long long)fast[k]);
    assert_int_equal(rtree_count_of(c, bodies[k], 3), fast_cap[k]);
    fast_ids[k] = all_ids(c, bodies[k], k % 2, 0);
    if (k % 5 == 0) { /* the same, a page at a time */
      char *paged = all_ids(c, bodies[k], k % 2, 1);
      assert_string_equal(paged, fast_ids[k]);
      free(paged);
    }
    total += fast[k];
  }
  swath_catalog_close(c);
  assert_true(total > QUERIES); /* the queries do meet items */
  assert_int_equal(sqlite3_exec(db, "DELETE FROM meta WHERE key = 'footprints'", NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(swath_catalog_open(tmp_path("rc.db"), SWATH_CATALOG_READONLY, &c), 0);
  for (int k = 0; k < QUERIES; k++) {
    int64_t slow = matched_of(c, bodies[k], 0);
    if (slow != fast[k])
      fail_msg("%s: %lld from the R*Tree, %lld from the rows", bodies[k], (long long)fast[k],
               (long long)slow);
    assert_int_equal(matched_of(c, bodies[k], 3), fast_cap[k]);
    char *ids = all_ids(c, bodies[k], k % 2, 0);
    if (strcmp(ids, fast_ids[k]))
      fail_msg("%s (%s): from the R*Tree\n  %s\nfrom the rows\n  %s", bodies[k],
               k % 2 ? "oldest first" : "newest first", fast_ids[k], ids);
    free(ids);
    free(fast_ids[k]);
  }
  swath_catalog_close(c);
#undef RND
}

/* The packed R*Tree (new catalog) and the one SQLite grows row by row
 * answer the same spatial queries, and rtreecheck() accepts both. Both
 * commit every 37 puts (inside the bulk build's 16-row statements' runs of
 * puts), and the packed one sorts its entries in runs of 500 (twelve
 * runs, sorted by the helper thread, then merged). */
static void test_rtree_pack(void **state) {
  (void)state;
  FILE *f = fopen(tmp_path("big.csv"), "w");
  fputs(HEADER "\n", f);
  srand(7);
  for (int i = 0; i < 6000; i++) {
    char g[32];
    snprintf(g, sizeof g, "R%05d", i);
    double w = rand() / (double)RAND_MAX * 358 - 179, s = rand() / (double)RAND_MAX * 160 - 80;
    row(f, g, 1 + i % 28, rand() % 100, w, s, w + 1, s + 1);
  }
  fclose(f);
  swath_catalog *a = open_new("packed.db"), *b = open_new("grown.db");
  a->commit_every = b->commit_every = 37;
  a->pack_run = 500;
  swath_ingest_report r;
  ingest(a, "big.csv", &r);
  assert_int_equal(r.inserted, 6000);
  write_tmp("first.csv", HEADER "\n");
  FILE *g = fopen(tmp_path("first.csv"), "a");
  row(g, "R00000", 1, 0, 0, 0, 1, 1);
  fclose(g);
  ingest(b, "first.csv", &r);
  ingest(b, "big.csv", &r);
  assert_int_equal(r.inserted, 5999);
  for (int k = 0; k < 2; k++) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open(tmp_path(k ? "grown.db" : "packed.db"), &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT rtreecheck('items_rtree'), (SELECT count(*) "
                                        "FROM items_rtree)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    assert_int_equal(sqlite3_column_int(st, 1), 6000);
    sqlite3_finalize(st);
    if (!k) {
      /* Packed leaves follow the Hilbert curve: consecutive entries lie
       * close together (random 1-degree boxes, 6000 over the globe: the
       * mean step is a few degrees in Hilbert order, about 130 in rid
       * order). Catches a sort that loses the order (runs or merge). */
      assert_int_equal(sqlite3_prepare_v2(db,
                                          "SELECT i.minx, i.miny FROM items_rtree_rowid x "
                                          "JOIN items i ON i.rid = x.a0 ORDER BY x.rowid",
                                          -1, &st, NULL),
                       SQLITE_OK);
      double px = 0, py = 0, sum = 0;
      int n = 0;
      while (sqlite3_step(st) == SQLITE_ROW) {
        double x = sqlite3_column_double(st, 0), y = sqlite3_column_double(st, 1);
        if (n++) sum += hypot(x - px, y - py);
        px = x, py = y;
      }
      sqlite3_finalize(st);
      assert_int_equal(n, 6000);
      assert_true(sum / (n - 1) < 8.0);
    }
    sqlite3_close(db);
  }
  for (int q = 0; q < 40; q++) {
    char body[256], x[65536];
    double w = q * 8 - 180, s = (q % 8) * 20 - 80;
    snprintf(body, sizeof body,
             "{\"bbox\": [%g, %g, %g, %g], \"limit\": 10000, \"sortby\": [{\"field\": \"id\"}]%s}",
             w, s, w + 30, s + 25, q % 3 ? ", \"datetime\": \"2023-06-10/2023-06-20\"" : "");
    snprintf(x, sizeof x, "%s", ids_of(a, body, NULL, NULL));
    assert_string_equal(x, ids_of(b, body, NULL, NULL));
  }
  swath_catalog_close(a);
  swath_catalog_close(b);
  /* entries come in rid order (the runs' radix sort keeps ties in it) */
  swath__rtpack *pk;
  assert_int_equal(swath__rtpack_new(500, &pk), 0);
  swath_scene sc = {.id = "x", .collection = "c", .bbox = {0, 0, 1, 1}};
  assert_int_equal(swath__rtpack_add(pk, 2, &sc), 0);
  assert_int_not_equal(swath__rtpack_add(pk, 2, &sc), 0);
  assert_non_null(strstr(swath_error_message(), "out of rid order"));
  swath__rtpack_free(pk);
}

/* Every R*Tree entry repeats its row's rid, dt, id and collection (search_sql.c
 * reads those instead of the row): after a bulk build, inserts, and updates
 * that move an item or change only its datetime. */
static void test_rtree_copies(void **state) {
  (void)state;
  FILE *f = fopen(tmp_path("cp.csv"), "w");
  fputs(HEADER "\n", f);
  for (int i = 0; i < 300; i++) {
    char g[32];
    snprintf(g, sizeof g, "C%04d", i);
    row(f, g, 1 + i % 28, i % 100, i % 50, i % 40, i % 50 + 1, i % 40 + 1);
  }
  fclose(f);
  f = fopen(tmp_path("cp2.csv"), "w");
  fputs(HEADER "\n", f);
  row(f, "C0007", 3, 5, 100, 10, 101, 11); /* moved */
  row(f, "C0008", 9, 5, 8, 8, 9, 9);       /* another day */
  row(f, "C9999", 9, 5, 170, 5, -170, 6);  /* new, across the antimeridian */
  fclose(f);
  static const char *const json[] = {
      "{\"type\": \"Feature\", \"id\": \"S\", \"bbox\": [1, 1, 2, 2], \"geometry\": {\"type\": "
      "\"Point\", \"coordinates\": [1.5, 1.5]}, \"properties\": {\"datetime\": "
      "\"2019-01-01T00:00:00Z\", \"start_datetime\": \"2016-01-01T00:00:00Z\", "
      "\"end_datetime\": \"2024-01-01T00:00:00Z\"}}",
      /* the same item: only its datetime changed */
      "{\"type\": \"Feature\", \"id\": \"S\", \"bbox\": [1, 1, 2, 2], \"geometry\": {\"type\": "
      "\"Point\", \"coordinates\": [1.5, 1.5]}, \"properties\": {\"datetime\": "
      "\"2021-05-01T00:00:00Z\", \"start_datetime\": \"2016-01-01T00:00:00Z\", "
      "\"end_datetime\": \"2024-01-01T00:00:00Z\"}}"};
  swath_catalog *c = open_new("copies.db");
  swath_ingest_report r;
  ingest(c, "cp.csv", &r);
  ingest(c, "cp2.csv", &r);
  assert_int_equal(r.updated, 2);
  for (int k = 0; k < 2; k++) {
    write_tmp("cp.json", json[k]);
    ingest(c, "cp.json", &r);
  }
  assert_int_equal(r.updated, 1);
  swath_catalog_close(c);
  int64_t v[5];
  sql_row("copies.db",
          "SELECT rtreecheck('items_rtree') = 'ok', (SELECT count(*) FROM items), (SELECT "
          "count(*) FROM items_rtree), (SELECT count(*) FROM items_rtree_rowid x JOIN items i ON "
          "i.rid = x.a0 AND i.dt = x.a1 AND i.id = x.a2 AND i.collection = x.a3), (SELECT x.a1 "
          "FROM items_rtree_rowid x JOIN items i ON i.rid = x.a0 WHERE i.id = 'S')",
          v, 5);
  assert_int_equal(v[0], 1);
  assert_int_equal(v[1], 302);
  assert_int_equal(v[2], 302);
  assert_int_equal(v[3], 302);
  assert_int_equal(v[4], 1619827200000LL); /* 2021-05-01 */
}

/* A new catalog's input that repeats a (collection, id): the bulk build
 * keeps the last row, as a re-ingest would, and counts the others as
 * updates; the R*Tree holds no entry of a row that was dropped, and the
 * collection's count is of the rows kept. */
static void test_bulk_duplicates(void **state) {
  (void)state;
  FILE *f = fopen(tmp_path("dup.csv"), "w");
  fputs(HEADER "\n", f);
  row(f, "D1", 1, 5, 10, 40, 11, 41);
  row(f, "D2", 2, 6, 20, 20, 21, 21);
  row(f, "D1", 3, 50, 30, 30, 31, 31); /* moved, cloudier: this one wins */
  row(f, "D3", 4, 7, 20, 20, 21, 21);
  row(f, "D2", 2, 6, 20, 20, 21, 21); /* the same again */
  fclose(f);
  swath_catalog *c = open_new("dup.db");
  swath_ingest_report r;
  ingest(c, "dup.csv", &r);
  assert_int_equal(r.inserted, 3);
  assert_int_equal(r.updated, 2);
  assert_string_equal(ids_of(c, "{\"bbox\": [9.5, 39.5, 11.5, 41.5]}", NULL, NULL), "");
  assert_string_equal(ids_of(c, "{\"bbox\": [29.5, 29.5, 31.5, 31.5]}", NULL, NULL), "D1");
  int64_t m;
  assert_string_equal(
      ids_of(c, "{\"bbox\": [19.5, 19.5, 21.5, 21.5], \"sortby\": [{\"field\": \"id\"}]}", &m,
             NULL),
      "D2 D3");
  assert_int_equal(m, 2);
  json_t *item;
  assert_int_equal(swath_catalog_get_item(c, "sentinel-2-l1c", "D1", &item), 0);
  assert_true(json_number_value(
                  json_object_get(json_object_get(item, "properties"), "eo:cloud_cover")) == 50.0);
  json_decref(item);
  swath_catalog_close(c);
  int64_t v[5];
  sql_row("dup.db",
          "SELECT rtreecheck('items_rtree') = 'ok', (SELECT count(*) FROM items), (SELECT "
          "count(*) FROM items_rtree), (SELECT count(*) FROM items_rtree_rowid x JOIN items i ON "
          "i.rid = x.a0 AND i.id = x.a2), (SELECT n FROM collections)",
          v, 5);
  assert_int_equal(v[0], 1);
  for (int k = 1; k <= 4; k++)
    assert_int_equal(v[k], 3);
}

/* Gzip input is inflated by the line reader (ingest.c, ISA-L): members of a
 * multi-member file are all read; a stream cut short or corrupted fails
 * the ingest with a message, never passes as a shorter file. */
static size_t gzip_rows(const char *name, int first, int n, unsigned char **bytes) {
  char path[256];
  snprintf(path, sizeof path, "/vsigzip/%s", tmp_path(name));
  VSILFILE *f = VSIFOpenL(path, "wb");
  assert_non_null(f);
  if (first == 0) VSIFWriteL(HEADER "\n", 1, strlen(HEADER) + 1, f);
  for (int i = first; i < first + n; i++) {
    char line[1024], g[32];
    snprintf(g, sizeof g, "Z%05d", i);
    FILE *m = fmemopen(line, sizeof line, "w");
    row(m, g, 1 + i % 28, i % 100, i % 50, i % 40, i % 50 + 1, i % 40 + 1);
    long len = ftell(m);
    fclose(m);
    VSIFWriteL(line, 1, (size_t)len, f);
  }
  VSIFCloseL(f);
  FILE *r = fopen(tmp_path(name), "rb");
  fseek(r, 0, SEEK_END);
  long size = ftell(r);
  rewind(r);
  *bytes = malloc((size_t)size);
  assert_int_equal(fread(*bytes, 1, (size_t)size, r), (size_t)size);
  fclose(r);
  return (size_t)size;
}

static void test_gzip_input(void **state) {
  (void)state;
  unsigned char *a, *b;
  size_t na = gzip_rows("gz_a.csv.gz", 0, 3000, &a), nb = gzip_rows("gz_b.csv.gz", 3000, 2000, &b);
  FILE *f = fopen(tmp_path("gz_ab.csv.gz"), "wb"); /* two members */
  fwrite(a, 1, na, f);
  fwrite(b, 1, nb, f);
  fclose(f);
  swath_catalog *c = open_new("gz.db");
  swath_ingest_report r;
  ingest(c, "gz_ab.csv.gz", &r);
  assert_int_equal(r.inserted, 5000);
  assert_int_equal(r.malformed, 0);
  swath_catalog_close(c);
  f = fopen(tmp_path("gz_cut.csv.gz"), "wb"); /* cut short */
  fwrite(a, 1, na - 200, f);
  fclose(f);
  c = open_new("gz2.db");
  assert_int_not_equal(swath_catalog_ingest(c, tmp_path("gz_cut.csv.gz"), NULL, &r), 0);
  assert_non_null(strstr(swath_error_message(), "gzip stream ends early"));
  swath_catalog_close(c);
  a[na / 2] ^= 0x55; /* corrupted */
  f = fopen(tmp_path("gz_bad.csv.gz"), "wb");
  fwrite(a, 1, na, f);
  fclose(f);
  c = open_new("gz3.db");
  assert_int_not_equal(swath_catalog_ingest(c, tmp_path("gz_bad.csv.gz"), NULL, &r), 0);
  assert_non_null(strstr(swath_error_message(), "gzip stream is corrupt"));
  swath_catalog_close(c);
  free(a);
  free(b);
}

static void test_rgb_stats(void **state) {
  (void)state;
  const char *tif = tmp_path("rgb.tif");
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), tif, 50, 40, 3, GDT_Byte, NULL);
  double gt[6] = {10, 0.01, 0, 50, 0, -0.01};
  GDALSetGeoTransform(ds, gt);
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  OSRImportFromEPSG(srs, 4326);
  GDALSetSpatialRef(ds, srs);
  OSRDestroySpatialReference(srs);
  unsigned char px[40][50];
  double sum[3] = {0, 0, 0}, sum7[3] = {0, 0, 0};
  int n = 0, n7 = 0;
  for (int b = 0; b < 3; b++) {
    for (int y = 0; y < 40; y++)
      for (int x = 0; x < 50; x++) {
        int hole = x < 10 && y < 10;
        px[y][x] = hole ? 9 : (unsigned char)(20 + 60 * b + (x * 3 + y) % 50);
        if (!hole) {
          sum[b] += px[y][x];
          n += b == 0;
          if (x % 7 == 0 && y % 7 == 0) sum7[b] += px[y][x], n7 += b == 0;
        }
      }
    GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
    GDALSetRasterNoDataValue(band, 9);
    assert_int_equal(GDALRasterIO(band, GF_Write, 0, 0, 50, 40, px, 50, 40, GDT_Byte, 0, 0),
                     CE_None);
  }
  GDALClose(ds);
  const char *paths[3] = {tif, tif, tif};
  int bands[3] = {1, 2, 3};
  swath_stats_opts o = {SWATH_STATS_EXACT, 1, 1024, 2, 0, NULL, NULL};
  swath_rgb_stats st;
  assert_int_equal(swath_rgb_stats_compute(paths, bands, 0, 0, &o, &st), 0);
  assert_int_equal(st.pixels, n);
  for (int b = 0; b < 3; b++)
    assert_true(fabs(st.mean[b] - sum[b] / n) < 1e-9);
  assert_true(fabs(st.brightness - (st.mean[0] + st.mean[1] + st.mean[2]) / 3) < 1e-9);
  assert_string_equal(st.method, "exact");
  o.method = SWATH_STATS_STEP;
  o.step = 7;
  assert_int_equal(swath_rgb_stats_compute(paths, bands, 0, 0, &o, &st), 0);
  assert_int_equal(st.pixels, n7);
  for (int b = 0; b < 3; b++)
    assert_true(fabs(st.mean[b] - sum7[b] / n7) < 1e-9);
  assert_string_equal(st.method, "step:7");
  o.method = SWATH_STATS_OVERVIEW;
  o.overview = 25;
  assert_int_equal(swath_rgb_stats_compute(paths, bands, 0, 0, &o, &st), 0);
  assert_string_equal(st.method, "overview:25x20");
  /* scale: 12-bit to the TCI range, clamped at 255 */
  o.method = SWATH_STATS_EXACT;
  assert_int_equal(swath_rgb_stats_compute(paths, bands, 10.0, 0, &o, &st), 0);
  assert_true(st.mean[2] == 255.0);
  /* no such band, no such file */
  int nob[3] = {1, 2, 4};
  assert_int_equal(swath_rgb_stats_compute(paths, nob, 0, 0, &o, &st), SWATH_EINVAL);
  const char *missing[3] = {"/nonexistent.tif", tif, tif};
  assert_int_equal(swath_rgb_stats_compute(missing, bands, 0, 0, &o, &st), SWATH_EIO);

  /* through the catalog: cached with the method, reset when the file changes */
  swath_catalog *c = open_new("rgb.db");
  swath_ingest_report r;
  ingest(c, "rgb.tif", &r);
  assert_int_equal(r.inserted, 1);
  json_t *b = json_object();
  swath_search *q;
  assert_int_equal(swath_search_parse(b, &q), 0);
  json_decref(b);
  swath_stats_report sr;
  o.threads = 2;
  assert_int_equal(swath_catalog_stats(c, q, &o, &sr), 0);
  assert_int_equal(sr.computed, 1);
  assert_int_equal(swath_catalog_stats(c, q, &o, &sr), 0);
  assert_int_equal(sr.cached, 1);
  json_t *item;
  assert_int_equal(swath_catalog_get_item(c, "local", "rgb", &item), 0);
  json_t *p = json_object_get(item, "properties");
  assert_true(fabs(json_number_value(json_object_get(p, "color:red")) - sum[0] / n) < 1e-9);
  assert_string_equal(json_string_value(json_object_get(p, "color:method")), "exact");
  assert_string_equal(json_string_value(json_object_get(p, "color:source")), "data:1,2,3");
  json_decref(item);
  ingest(c, "rgb.tif", &r); /* same file: statistics kept */
  assert_int_equal(r.updated, 1);
  assert_int_equal(swath_catalog_get_item(c, "local", "rgb", &item), 0);
  assert_non_null(json_object_get(json_object_get(item, "properties"), "color:red"));
  json_decref(item);
  swath_ingest_opts io = {0};
  io.rgb_bands[0] = 3, io.rgb_bands[1] = 2, io.rgb_bands[2] = 1;
  assert_int_equal(swath_catalog_ingest(c, tif, &io, &r), 0); /* other bands: forgotten */
  assert_int_equal(swath_catalog_get_item(c, "local", "rgb", &item), 0);
  assert_null(json_object_get(json_object_get(item, "properties"), "color:red"));
  json_decref(item);
  swath_search_free(q);
  swath_catalog_close(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_time),
      cmocka_unit_test(test_s2_names),
      cmocka_unit_test(test_s2_item_text),
      cmocka_unit_test(test_item_text_golden),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_ingest_csv),
      cmocka_unit_test(test_antimeridian_and_time),
      cmocka_unit_test(test_intersects_exact),
      cmocka_unit_test(test_paging_and_filters),
      cmocka_unit_test(test_sliced_paging),
      cmocka_unit_test(test_rtree_count),
      cmocka_unit_test(test_rtree_pack),
      cmocka_unit_test(test_rtree_copies),
      cmocka_unit_test(test_bulk_duplicates),
      cmocka_unit_test(test_gzip_input),
      cmocka_unit_test(test_rgb_stats),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
