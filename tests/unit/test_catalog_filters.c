/* test_catalog_filters.c: what a search's filters mean, on a small catalog
 * of STAC items written here (ids with %, _, \, capitals and multi-byte
 * characters; an item with "datetime": null and a start/end interval, one
 * with end_datetime only, items without eo:cloud_cover):
 *   - CQL2 `like`: case-sensitive, % and _ (one character, not one byte),
 *     \ escaping them and itself;
 *   - NULL properties (basic CQL2): datetime, start_datetime and
 *     end_datetime are NULL when the item does not set them, with
 *     three-valued logic through not/and/or; literals on both sides;
 *     `in` with an empty list;
 *   - sub-millisecond bounds (datetime parameter and CQL2 literals) are
 *     rounded inwards, never truncated;
 *   - a paging token used with another sortby names both sortbys (it used
 *     to read the token after freeing it);
 *   - STAC ingest: geometry null, a UTF-8 BOM and \u0000 in strings are
 *     accepted; bare dates and longitudes beyond 180 are refused with the
 *     line; a missing bbox is computed and served.
 * Expected ids are written out by hand from the items below. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include "fixture.h"

#include <gdal.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog.h"
#include "core/error.h"
#include "core/log.h"

static int setup(void **state) {
  (void)state;
  GDALAllRegister();
  swath_log_set_level(SWATH_LOG_WARN);
  return tmpdir_make("filters");
}

static int teardown(void **state) {
  (void)state;
  int rc = tmpdir_remove();
  GDALDestroyDriverManager();
  OSRCleanup();
  return rc;
}

#define BOX "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}"
#define ITEM(id, props)                                                                            \
  "{\"type\":\"Feature\",\"id\":\"" id "\"," BOX ",\"properties\":{" props "}}\n"

/* The catalog every filter test searches (ids as JSON strings). */
static const char ITEMS[] =
    ITEM("a1", "\"datetime\":\"2020-01-01T00:00:00Z\",\"eo:cloud_cover\":10")
        ITEM("A1", "\"datetime\":null,\"start_datetime\":\"2020-02-01T00:00:00Z\","
                   "\"end_datetime\":\"2020-02-03T00:00:00Z\"")
            ITEM("endonly", "\"datetime\":\"2020-03-01T00:00:00Z\",\"end_datetime\":"
                            "\"2020-03-02T00:00:00Z\",\"eo:cloud_cover\":20")
                ITEM("proj-example", "\"datetime\":\"2018-10-01T01:08:32.033Z\"")
                    ITEM("cs3-20160503_132131_05",
                         "\"datetime\":\"2016-05-03T13:21:31Z\",\"eo:cloud_cover\":50")
                        ITEM("cs3-20160503x132131x05", "\"datetime\":\"2016-05-03T13:21:32Z\"")
                            ITEM("100%_done", "\"datetime\":\"2016-01-01T00:00:00Z\"")
                                ITEM("back\\\\slash", "\"datetime\":\"2016-01-02T00:00:00Z\"") ITEM(
                                    "\\u00fcn\\u00efcode", "\"datetime\":\"2016-01-03T00:00:00Z\"");
#define NITEMS 9

static swath_catalog *filters_catalog(void) {
  write_file(tmp_path("f.ndjson"), ITEMS, sizeof ITEMS - 1);
  unlink(tmp_path("f.db"));
  swath_catalog *c;
  assert_int_equal(swath_catalog_open(tmp_path("f.db"), SWATH_CATALOG_CREATE, &c), 0);
  swath_ingest_report r;
  assert_int_equal(swath_catalog_ingest(c, tmp_path("f.ndjson"), NULL, &r), 0);
  assert_int_equal(r.inserted, NITEMS);
  assert_int_equal(r.malformed, 0);
  return c;
}

/* Run a search body (JSON text, all pages at once): the ids, sorted by id
 * and joined by spaces, or "error: <message>" if it does not parse. */
static const char *ids(swath_catalog *c, const char *body) {
  static char out[4096];
  json_error_t err;
  json_t *b = json_loads(body, 0, &err);
  if (!b) fail_msg("not JSON: %s (%s)", body, err.text);
  if (!json_object_get(b, "limit")) json_object_set_new(b, "limit", json_integer(1000));
  if (!json_object_get(b, "sortby"))
    json_object_set_new(b, "sortby", json_pack("[{s:s}]", "field", "id"));
  swath_search *q;
  int rc = swath_search_parse(b, &q);
  json_decref(b);
  if (rc) {
    snprintf(out, sizeof out, "error: %s", swath_error_message());
    return out;
  }
  swath_page p;
  swath_search_opts o = {0, 1, NULL};
  if (swath_search_run(c, q, &o, &p)) fail_msg("run %s: %s", body, swath_error_message());
  swath_search_free(q);
  out[0] = '\0';
  size_t len = 0;
  for (size_t at = 0; at < p.ids_len;) {
    const char *id = p.ids + at + strlen(p.ids + at) + 1;
    len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", len ? " " : "", id);
    at = (size_t)(id + strlen(id) + 1 - p.ids);
  }
  assert_int_equal(p.matched, p.returned);
  swath_page_clear(&p);
  return out;
}

/* ids() of {"filter": <filter>} */
static const char *filtered(swath_catalog *c, const char *filter) {
  char body[1024];
  snprintf(body, sizeof body, "{\"filter\": %s}", filter);
  return ids(c, body);
}

#define ALL                                                                                        \
  "100%_done A1 a1 back\\slash cs3-20160503_132131_05 cs3-20160503x132131x05 endonly "             \
  "proj-example \xc3\xbcn\xc3\xaf"                                                                 \
  "code"

static void test_like(void **state) {
  (void)state;
  swath_catalog *c = filters_catalog();
  assert_string_equal(ids(c, "{}"), ALL);
#define LIKE(pat) "{\"op\":\"like\",\"args\":[{\"property\":\"id\"},\"" pat "\"]}"
  /* case-sensitive */
  assert_string_equal(filtered(c, LIKE("PROJ-EXAMPLE")), "");
  assert_string_equal(filtered(c, LIKE("proj-example")), "proj-example");
  assert_string_equal(filtered(c, LIKE("a%")), "a1");
  assert_string_equal(filtered(c, LIKE("A_")), "A1");
  /* \_ is an underscore, _ any one character */
  assert_string_equal(filtered(c, LIKE("cs3-20160503\\\\_132131\\\\_05")),
                      "cs3-20160503_132131_05");
  assert_string_equal(filtered(c, LIKE("cs3-20160503_132131_05")),
                      "cs3-20160503_132131_05 cs3-20160503x132131x05");
  /* \% is a percent sign, \\ a backslash */
  assert_string_equal(filtered(c, LIKE("100\\\\%\\\\_%")), "100%_done");
  assert_string_equal(filtered(c, LIKE("%\\\\%%")), "100%_done");
  assert_string_equal(filtered(c, LIKE("back\\\\\\\\slash")), "back\\slash");
  assert_string_equal(filtered(c, LIKE("back_slash")), "back\\slash");
  /* _ is one character (two bytes here); GLOB's own wildcards are literal */
  assert_string_equal(filtered(c, LIKE("_n_code")), "\xc3\xbcn\xc3\xaf"
                                                    "code");
  assert_string_equal(filtered(c, LIKE("__code")), "");
  assert_string_equal(filtered(c, LIKE("*")), "");
  assert_string_equal(filtered(c, LIKE("a?")), "");
  assert_string_equal(filtered(c, LIKE("[a]1")), "");
  assert_string_equal(filtered(c, LIKE("%")), ALL);
  /* not like: the complement */
  assert_string_equal(filtered(c, "{\"op\":\"not\",\"args\":[" LIKE("%e%") "]}"),
                      "A1 a1 back\\slash cs3-20160503_132131_05 cs3-20160503x132131x05");
  /* a pattern ending in a lone escape is refused */
  assert_non_null(strstr(filtered(c, LIKE("abc\\\\")), "error: filter: like: the pattern"));
#undef LIKE
  swath_catalog_close(c);
}

static void test_null_properties(void **state) {
  (void)state;
  swath_catalog *c = filters_catalog();
#define P(name) "{\"property\":\"" name "\"}"
#define TS(t) "{\"timestamp\":\"" t "\"}"
  assert_string_equal(filtered(c, "{\"op\":\"isNull\",\"args\":[" P("datetime") "]}"), "A1");
  assert_string_equal(filtered(c, "{\"op\":\"isNull\",\"args\":[" P("start_datetime") "]}"),
                      "100%_done a1 back\\slash cs3-20160503_132131_05 cs3-20160503x132131x05 "
                      "endonly proj-example \xc3\xbcn\xc3\xaf"
                      "code");
  assert_string_equal(filtered(c, "{\"op\":\"not\",\"args\":[{\"op\":\"isNull\",\"args\":[" P(
                                      "end_datetime") "]}]}"),
                      "A1 endonly");
  assert_string_equal(
      filtered(c, "{\"op\":\">\",\"args\":[" P("end_datetime") "," TS("2016-01-01T00:00:00Z") "]}"),
      "A1 endonly");
  assert_string_equal(filtered(c, "{\"op\":\"<\",\"args\":[" P("start_datetime") "," TS(
                                      "2030-01-01T00:00:00Z") "]}"),
                      "A1");
  /* <> and not(=) leave the null-datetime item out: unknown is not true */
  assert_string_equal(
      filtered(c, "{\"op\":\"<>\",\"args\":[" P("datetime") "," TS("2020-01-01T00:00:00Z") "]}"),
      "100%_done back\\slash cs3-20160503_132131_05 cs3-20160503x132131x05 "
      "endonly proj-example \xc3\xbcn\xc3\xaf"
      "code");
  assert_string_equal(filtered(c, "{\"op\":\"not\",\"args\":[{\"op\":\"=\",\"args\":[" P(
                                      "datetime") "," TS("2020-01-01T00:00:00Z") "]}]}"),
                      "100%_done back\\slash cs3-20160503_132131_05 cs3-20160503x132131x05 "
                      "endonly proj-example \xc3\xbcn\xc3\xaf"
                      "code");
  /* or: unknown or true is true; unknown and true is unknown */
  assert_string_equal(
      filtered(c, "{\"op\":\"or\",\"args\":[{\"op\":\">\",\"args\":[" P("datetime") "," TS(
                      "2019-01-01T00:00:00Z") "]},{\"op\":\"=\","
                                              "\"args\":[" P("id") ",\"A1\"]}]}"),
      "A1 a1 endonly");
  assert_string_equal(
      filtered(c, "{\"op\":\"not\",\"args\":[{\"op\":\"and\",\"args\":[{\"op\":"
                  "\"<\",\"args\":[" P("eo:cloud_cover") ",30]},{\"op\":\"=\","
                                                         "\"args\":[" P("datetime") "," TS(
                                                             "2020-01-01T00:00:00Z") "]}]}]}"),
      "100%_done back\\slash cs3-20160503_132131_05 cs3-20160503x132131x05 "
      "endonly proj-example \xc3\xbcn\xc3\xaf"
      "code");
  /* literals on both sides, and in with an empty list */
  assert_string_equal(filtered(c, "{\"op\":\"=\",\"args\":[1,1]}"), ALL);
  assert_string_equal(filtered(c, "{\"op\":\"=\",\"args\":[1,2]}"), "");
  assert_string_equal(filtered(c, "{\"op\":\"<\",\"args\":[\"a\",\"b\"]}"), ALL);
  assert_string_equal(filtered(c, "{\"op\":\"<>\",\"args\":[true,false]}"), ALL);
  assert_string_equal(filtered(c, "{\"op\":\"<\",\"args\":[" TS("2020-01-01T00:00:00Z") "," TS(
                                      "2019-01-01T00:00:00Z") "]}"),
                      "");
  assert_string_equal(filtered(c, "{\"op\":\"between\",\"args\":[5,1,10]}"), ALL);
  assert_string_equal(filtered(c, "{\"op\":\"in\",\"args\":[\"x\",[\"y\",\"x\"]]}"), ALL);
  assert_string_equal(filtered(c, "{\"op\":\"like\",\"args\":[\"abc\",\"a%\"]}"), ALL);
  assert_string_equal(filtered(c, "{\"op\":\"isNull\",\"args\":[1]}"), "");
  assert_string_equal(filtered(c, "{\"op\":\"in\",\"args\":[" P("id") ",[]]}"), "");
  assert_string_equal(
      filtered(c, "{\"op\":\"not\",\"args\":[{\"op\":\"in\",\"args\":[" P("id") ",[]]}]}"), ALL);
  assert_string_equal(filtered(c, "{\"op\":\"in\",\"args\":[" P("eo:cloud_cover") ",[10,50]]}"),
                      "a1 cs3-20160503_132131_05");
  /* in is true or false, never unknown (CQL2's in-predicate): not in
   * takes the items without cloud cover */
  assert_string_equal(filtered(c, "{\"op\":\"not\",\"args\":[{\"op\":\"in\",\"args\":[" P(
                                      "eo:cloud_cover") ",[10,50]]}]}"),
                      "100%_done A1 back\\slash cs3-20160503x132131x05 endonly proj-example "
                      "\xc3\xbcn\xc3\xaf"
                      "code");
  /* still refused: two literals of different types */
  assert_non_null(strstr(filtered(c, "{\"op\":\"=\",\"args\":[1,\"1\"]}"), "error: filter:"));
  swath_catalog_close(c);
}

static void test_sub_millisecond_bounds(void **state) {
  (void)state;
  swath_catalog *c = filters_catalog();
  /* the datetime parameter: a start after a1's instant leaves it out, an
   * end before it too; an instant between two milliseconds matches none */
  assert_string_equal(ids(c, "{\"datetime\": \"2020-01-01T00:00:00.0001Z/2020-01-02T00:00:00Z\"}"),
                      "");
  assert_string_equal(ids(c, "{\"datetime\": \"2020-01-01T00:00:00Z/2020-01-02T00:00:00Z\"}"),
                      "a1");
  assert_string_equal(ids(c, "{\"datetime\": \"2019-12-01T00:00:00Z/2019-12-31T23:59:59.9999Z\"}"),
                      "");
  assert_string_equal(ids(c, "{\"datetime\": \"2020-01-01T00:00:00.0004Z\"}"), "");
  assert_string_equal(ids(c, "{\"datetime\": \"2020-01-01T00:00:00.000Z\"}"), "a1");
  assert_string_equal(
      ids(c, "{\"datetime\": \"2018-10-01T01:08:32.0339Z/2018-10-01T01:08:32.0331Z\"}"),
      "error: datetime: '2018-10-01T01:08:32.0339Z/2018-10-01T01:08:32.0331Z' ends "
      "before it starts");
  assert_string_equal(
      ids(c, "{\"datetime\": \"2018-10-01T01:08:32.0330Z/2018-10-01T01:08:32.0339Z\"}"),
      "proj-example");
  /* CQL2 literals */
  assert_string_equal(filtered(c, "{\"op\":\">=\",\"args\":[" P("datetime") "," TS(
                                      "2020-01-01T00:00:00.0001Z") "]}"),
                      "endonly");
  assert_string_equal(filtered(c, "{\"op\":\">\",\"args\":[" P("datetime") "," TS(
                                      "2019-12-31T23:59:59.9999Z") "]}"),
                      "a1 endonly");
  assert_string_equal(filtered(c, "{\"op\":\"<\",\"args\":[" TS("2020-01-01T00:00:00.0001Z") "," P(
                                      "datetime") "]}"),
                      "endonly");
  assert_string_equal(filtered(c, "{\"op\":\"=\",\"args\":[" P("datetime") "," TS(
                                      "2020-01-01T00:00:00.0001Z") "]}"),
                      "");
  assert_string_equal(
      filtered(c, "{\"op\":\"between\",\"args\":[" P("datetime") "," TS(
                      "2019-12-31T23:59:59.9999Z") "," TS("2020-01-01T00:00:00.0001Z") "]}"),
      "a1");
#undef P
#undef TS
  swath_catalog_close(c);
}

static void test_token_of_another_sortby(void **state) {
  (void)state;
  swath_catalog *c = filters_catalog();
  json_t *b = json_pack("{s:i, s:[{s:s}]}", "limit", 1, "sortby", "field", "datetime");
  swath_search *q;
  assert_int_equal(swath_search_parse(b, &q), 0);
  json_decref(b);
  swath_page p;
  swath_search_opts o = {0, 1, NULL};
  assert_int_equal(swath_search_run(c, q, &o, &p), 0);
  swath_search_free(q);
  assert_non_null(p.next_token);
  /* the same token with the default sortby (-datetime), then with id */
  b = json_pack("{s:s}", "token", p.next_token);
  assert_int_equal(swath_search_parse(b, &q), SWATH_EINVAL);
  assert_string_equal(swath_error_message(),
                      "token: it belongs to another sortby '+datetime', not '-datetime'");
  json_object_set_new(b, "sortby", json_pack("[{s:s}]", "field", "id"));
  assert_int_equal(swath_search_parse(b, &q), SWATH_EINVAL);
  assert_string_equal(swath_error_message(),
                      "token: it belongs to another sortby '+datetime', not '+id'");
  json_decref(b);
  swath_page_clear(&p);
  swath_catalog_close(c);
}

/* Item times are instants: a bare date is a malformed record (in a STAC
 * item and in the Sentinel-2 index), reported with its line. */
static void report_bad(void *ud, const char *source, int64_t line, const char *msg) {
  (void)source;
  char *out = ud;
  snprintf(out + strlen(out), 1024 - strlen(out), "%lld: %s\n", (long long)line, msg);
}

static void test_bare_dates_refused(void **state) {
  (void)state;
  static const char items[] =
      ITEM("ok", "\"datetime\":\"2020-01-01T00:00:00Z\"") ITEM("day", "\"datetime\":\"2020-01-01\"")
          ITEM("interval", "\"datetime\":null,\"start_datetime\":\"2020-01-01\",\"end_datetime\":"
                           "\"2020-01-02T00:00:00Z\"");
  static const char csv[] =
      "GRANULE_ID,PRODUCT_ID,DATATAKE_IDENTIFIER,MGRS_TILE,SENSING_TIME,TOTAL_SIZE,CLOUD_COVER,"
      "GEOMETRIC_QUALITY_FLAG,GENERATION_TIME,NORTH_LAT,SOUTH_LAT,WEST_LON,EAST_LON,BASE_URL\n"
      "L1C_T32TMT_A1_20230615T102559,S2A_MSIL1C_20230615T102031_N0509_R065_T32TMT_"
      "20230615T140000,GS2A_x,32TMT,2023-06-15,123,1.5,PASSED,2023-06-15T14:00:00Z,1,0,0,1,\n";
  char bad[1024] = "";
  swath_ingest_opts o = {.on_bad = report_bad, .ud = bad};
  swath_ingest_report r;
  swath_catalog *c;
  write_file(tmp_path("dates.ndjson"), items, sizeof items - 1);
  unlink(tmp_path("dates.db"));
  assert_int_equal(swath_catalog_open(tmp_path("dates.db"), SWATH_CATALOG_CREATE, &c), 0);
  assert_int_equal(swath_catalog_ingest(c, tmp_path("dates.ndjson"), &o, &r), 0);
  assert_int_equal(r.inserted, 1);
  assert_string_equal(bad, "2: properties.datetime '2020-01-01' is not an RFC 3339 date-time "
                           "(e.g. 2023-06-15T10:25:59Z)\n"
                           "3: properties.start_datetime '2020-01-01' is not an RFC 3339 "
                           "date-time (e.g. 2023-06-15T10:25:59Z)\n");
  bad[0] = '\0';
  write_file(tmp_path("dates.csv"), csv, sizeof csv - 1);
  assert_int_equal(swath_catalog_ingest(c, tmp_path("dates.csv"), &o, &r), 0);
  assert_int_equal(r.malformed, 1);
  assert_string_equal(bad, "2: SENSING_TIME '2023-06-15' is not an RFC 3339 date-time\n");
  swath_catalog_close(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_token_of_another_sortby), cmocka_unit_test(test_like),
      cmocka_unit_test(test_null_properties),         cmocka_unit_test(test_sub_millisecond_bounds),
      cmocka_unit_test(test_bare_dates_refused),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
