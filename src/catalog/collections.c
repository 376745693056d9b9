/* collections.c: single items (GET .../items/{id}) and collections, as
 * STAC JSON built from their rows. A collection's extent is the one
 * store.c keeps (it only ever widens); one holding only items without
 * geometry has none and says the whole world. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "core/error.h"

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
