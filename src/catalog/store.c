/* store.c: the catalog's SQLite file: opening it, its schema, and the write
 * path ingest uses.
 *
 * Invariants: the file is in WAL mode, so readers (other processes, the HTTP
 * server's per-thread connections) see the last committed state while one
 * writer ingests. Writes happen in transactions of SWATH_STORE_BATCH puts
 * with prepared statements; every items row has exactly one items_rtree
 * entry, whose auxiliary columns repeat the row's rid, dt, id and collection
 * (catalog_int.h), written in the same transaction. Collection
 * extents only ever widen: they cover every item ever put (an extent is a
 * promise of "nothing outside", not a tight box). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/catalog_int.h"
#include "core/error.h"
#include "core/log.h"

#include <time.h>
#include <unistd.h>

struct swath__extent {
  char *id;
  double bbox[4]; /* min lon, min lat, max lon, max lat (never crossing) */
  int64_t dt0, dt1, added;
};

static const char *const SCHEMA[] = {
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS collections(id TEXT PRIMARY KEY, title TEXT, description TEXT, "
    "doc TEXT, minx REAL, miny REAL, maxx REAL, maxy REAL, dt0 INTEGER, dt1 INTEGER, "
    "n INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS items(rid INTEGER PRIMARY KEY, id TEXT NOT NULL, "
    "collection TEXT NOT NULL, kind INTEGER NOT NULL, dt INTEGER NOT NULL, dt0 INTEGER NOT NULL, "
    "dt1 INTEGER NOT NULL, cloud REAL, minx REAL NOT NULL, miny REAL NOT NULL, "
    "maxx REAL NOT NULL, maxy REAL NOT NULL, geom BLOB, doc TEXT NOT NULL, csrc TEXT, "
    "red REAL, green REAL, blue REAL, bright REAL, cmethod TEXT, cpixels INTEGER, csource TEXT)",
    "CREATE UNIQUE INDEX IF NOT EXISTS items_id ON items(id, collection)",
    "CREATE INDEX IF NOT EXISTS items_dt ON items(dt)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS items_rtree USING rtree(k, minx, maxx, miny, maxy, t0, "
    "t1, +rid, +dt, +item, +collection)",
    "INSERT OR IGNORE INTO meta VALUES('schema', '" SWATH_CATALOG_SCHEMA "')",
    /* every item's footprint is its bbox, until one is not (swath__store_
     * commit drops the mark; search_count.c then counts from rows) */
    "INSERT OR IGNORE INTO meta VALUES('footprints', 'boxes')", NULL};

static void finalize_writes(swath_catalog *c);

static int check_schema(swath_catalog *c) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = 'schema'", -1, &st, NULL))
    return swath_error_set(SWATH_EINVAL, "catalog '%s': not a swath catalog (%s)", c->path,
                           sqlite3_errmsg(c->db));
  int rc = 0;
  if (sqlite3_step(st) != SQLITE_ROW)
    rc = swath_error_set(SWATH_EINVAL, "catalog '%s': not a swath catalog (no schema version)",
                         c->path);
  else if (strcmp((const char *)sqlite3_column_text(st, 0), SWATH_CATALOG_SCHEMA) != 0)
    rc = swath_error_set(SWATH_EINVAL,
                         "catalog '%s': schema version %s, this swath reads %s (ingest the "
                         "sources again into a new catalog)",
                         c->path, sqlite3_column_text(st, 0), SWATH_CATALOG_SCHEMA);
  sqlite3_finalize(st);
  if (rc) return rc;
  if (sqlite3_prepare_v2(c->db, "SELECT value FROM meta WHERE key = 'state'", -1, &st, NULL))
    return swath__sql_error(c->db, "catalog");
  if (sqlite3_step(st) == SQLITE_ROW &&
      strcmp((const char *)sqlite3_column_text(st, 0), "building") == 0)
    rc = swath_error_set(SWATH_EINVAL,
                         "catalog '%s' is being built by an ingest, or was left half-built by "
                         "one that was interrupted (then delete it and ingest again)",
                         c->path);
  sqlite3_finalize(st);
  return rc;
}

int swath_catalog_open(const char *path, int flags, swath_catalog **out) {
  *out = NULL;
  if (!path || !*path) return swath_error_set(SWATH_EINVAL, "catalog: no path given (--catalog)");
  struct stat sb;
  int exists = stat(path, &sb) == 0;
  if (!exists && !(flags & SWATH_CATALOG_CREATE))
    return swath_error_set(SWATH_EINVAL,
                           "catalog '%s' does not exist (create it with 'swath "
                           "catalog ingest')",
                           path);
  if (exists && S_ISDIR(sb.st_mode))
    return swath_error_set(SWATH_EINVAL, "catalog '%s' is a folder, expected a file", path);
  swath_catalog *c = calloc(1, sizeof *c);
  if (!c || !(c->path = strdup(path))) {
    free(c);
    return swath_error_set(SWATH_ENOMEM, "catalog: out of memory");
  }
  c->readonly = (flags & SWATH_CATALOG_READONLY) != 0;
  c->commit_every = SWATH_STORE_BATCH;
  /* NOMUTEX: a connection belongs to one thread at a time (see catalog.h). */
  int oflags = SQLITE_OPEN_NOMUTEX |
               (c->readonly ? SQLITE_OPEN_READONLY
                            : SQLITE_OPEN_READWRITE |
                                  ((flags & SWATH_CATALOG_CREATE) ? SQLITE_OPEN_CREATE : 0));
  int rc = 0;
  if (sqlite3_open_v2(path, &c->db, oflags, NULL) != SQLITE_OK) {
    rc = swath_error_set(SWATH_EIO, "catalog '%s': cannot open: %s", path,
                         c->db ? sqlite3_errmsg(c->db) : "out of memory");
    goto fail;
  }
  sqlite3_busy_timeout(c->db, 10000);
  /* mmap lets readers share the OS page cache instead of copying pages,
   * but SQLite maps at most the file's first 2 GB, and a large catalog's
   * R*Tree lies beyond (written last): its pages are read into this
   * connection's cache, which holds 1 GB (an upper bound: pages are cached
   * as they are read). With 256 MB, 200 searches of 10x10 degree boxes over
   * 10M rows evicted each other's pages: p99 9.1-14.4 ms against 5.1-7.8
   * (docs/PERFORMANCE.md). It also keeps the R*Tree hot during ingest. */
  if ((rc = swath__exec(c->db, "PRAGMA cache_size = -1048576; PRAGMA mmap_size = 2147418112; "
                               "PRAGMA temp_store = MEMORY")))
    goto fail;
  int fresh = !exists || sb.st_size == 0;
  /* 16 KB pages for a new catalog (a file's page size is fixed once it
   * holds a table, and cannot change in WAL mode): a bulk build of 10M rows
   * writes 5 GB, and with four times fewer pages to fill, balance and write
   * it took 14% less time (four alternating 10M-row ingests: 49.6 -> 42.5 s
   * on average; docs/PERFORMANCE.md, "16 KB pages"). Searches and
   * incremental ingests took the same time; R*Tree nodes are 1636 bytes
   * whatever the page size. */
  if (!c->readonly && fresh && (rc = swath__exec(c->db, "PRAGMA page_size = 16384"))) goto fail;
  if (!c->readonly) {
    /* WAL: readers in other processes keep reading while this one writes */
    if ((rc = swath__exec(c->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")))
      goto fail;
    if (fresh) {
      if ((rc = swath__exec(c->db, "BEGIN"))) goto fail;
      for (int i = 0; SCHEMA[i] && !rc; i++)
        rc = swath__exec(c->db, SCHEMA[i]);
      if (rc || (rc = swath__exec(c->db, "COMMIT"))) goto fail;
    }
  }
  if ((rc = check_schema(c))) goto fail;
  if ((rc = swath__search_register(c->db))) goto fail;
  *out = c;
  return 0;
fail:
  swath_catalog_close(c);
  return rc;
}

void swath_catalog_close(swath_catalog *c) {
  if (!c) return;
  if (c->in_txn) swath__store_rollback(c);
  finalize_writes(c);
  swath__stmt_cache_clear(c);
  swath__rtpack_free(c->pack);
  for (int i = 0; i < c->n_ext; i++)
    free(c->ext[i].id);
  free(c->ext);
  if (c->db) sqlite3_close(c->db);
  free(c->path);
  free(c);
}

/* The columns an INSERT of a scene binds, in bind_scene's order. The rid is
 * not among them: SQLite appends the row with the next one, max + 1, where
 * a given rid costs a seek per row to check that it is free (about 9% of a
 * bulk build's writer thread, which bounds its row phase). */
#define INSERT_COLS                                                                                \
  "id, collection, kind, dt, dt0, dt1, cloud, minx, miny, maxx, maxy, geom, doc, csrc"

static int prepare_writes(swath_catalog *c) {
  static const char *const sql[] = {
      "SELECT rid, minx, miny, maxx, maxy, dt0, dt1, csrc, dt, kind, cloud, doc, geom FROM items "
      "WHERE id = ?1 AND collection = ?2",
      "INSERT INTO items(" INSERT_COLS
      ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
      /* colour statistics survive a re-ingest unless what they were read
       * from changed (?16) */
      "UPDATE items SET id = ?1, collection = ?2, kind = ?3, dt = ?4, dt0 = ?5, dt1 = ?6, "
      "cloud = ?7, minx = ?8, miny = ?9, maxx = ?10, maxy = ?11, geom = ?12, doc = ?13, "
      "csrc = ?14, red = iif(?16, NULL, red), green = iif(?16, NULL, green), blue = iif(?16, "
      "NULL, blue), bright = iif(?16, NULL, bright), cmethod = iif(?16, NULL, cmethod), "
      "cpixels = iif(?16, NULL, cpixels), csource = iif(?16, NULL, csource) WHERE rid = ?15",
      "INSERT INTO items_rtree VALUES(NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?1, ?8, ?9, ?10)",
      /* an item's entry, found from the box and times it was stored with
       * (stored rounded outwards, so they contain these) */
      "SELECT r.k FROM items_rtree r CROSS JOIN items_rtree_rowid x ON x.rowid = r.k WHERE "
      "r.minx <= ?2 AND r.maxx >= ?3 AND r.miny <= ?4 AND r.maxy >= ?5 AND r.t0 <= ?6 AND "
      "r.t1 >= ?7 AND x.a0 = ?1",
      "DELETE FROM items_rtree WHERE k = ?1"};
  sqlite3_stmt **st[] = {&c->st_find,      &c->st_insert,     &c->st_update,
                         &c->st_rtree_ins, &c->st_rtree_find, &c->st_rtree_del};
  for (int k = 0; k < 6; k++)
    if (sqlite3_prepare_v3(c->db, sql[k], -1, SQLITE_PREPARE_PERSISTENT, st[k], NULL))
      return swath__sql_error(c->db, "catalog: preparing writes");
  return 0;
}

static void finalize_writes(swath_catalog *c) {
  sqlite3_stmt **st[] = {&c->st_find,       &c->st_insert,    &c->st_update, &c->st_rtree_ins,
                         &c->st_rtree_find, &c->st_rtree_del, &c->st_bulk};
  for (int k = 0; k < 7; k++) {
    sqlite3_finalize(*st[k]);
    *st[k] = NULL;
  }
}

static struct swath__extent *extent_for(swath_catalog *c, const char *id) {
  for (int i = 0; i < c->n_ext; i++)
    if (strcmp(c->ext[i].id, id) == 0) return &c->ext[i];
  struct swath__extent *e = realloc(c->ext, (c->n_ext + 1) * sizeof *e);
  if (!e) return NULL;
  c->ext = e;
  e = &c->ext[c->n_ext];
  if (!(e->id = strdup(id))) return NULL;
  c->n_ext++;
  e->bbox[0] = e->bbox[1] = INFINITY;
  e->bbox[2] = e->bbox[3] = -INFINITY;
  e->dt0 = INT64_MAX;
  e->dt1 = INT64_MIN;
  e->added = 0;
  return e;
}

/* Binds scene s to ?(o+1)..?(o+14): the columns of st_insert and st_update
 * (o = 0), or of one row of st_bulk. */
static void bind_scene(sqlite3_stmt *st, int o, const swath_scene *s) {
  sqlite3_bind_text(st, o + 1, s->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, o + 2, s->collection, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, o + 3, s->kind);
  sqlite3_bind_int64(st, o + 4, s->dt);
  sqlite3_bind_int64(st, o + 5, s->dt0);
  sqlite3_bind_int64(st, o + 6, s->dt1);
  if (isnan(s->cloud))
    sqlite3_bind_null(st, o + 7);
  else
    sqlite3_bind_double(st, o + 7, s->cloud);
  for (int k = 0; k < 4; k++)
    sqlite3_bind_double(st, o + 8 + k, s->bbox[k]);
  if (s->wkb)
    sqlite3_bind_blob(st, o + 12, s->wkb, (int)s->wkb_len, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, o + 12);
  sqlite3_bind_text(st, o + 13, s->doc, -1, SQLITE_STATIC);
  if (s->color_src)
    sqlite3_bind_text(st, o + 14, s->color_src, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, o + 14);
}

static int step_done(swath_catalog *c, sqlite3_stmt *st, const char *what) {
  int r = sqlite3_step(st);
  sqlite3_reset(st);
  return r == SQLITE_DONE ? 0 : swath__sql_error(c->db, what);
}

/* Binds ?1 = rid and ?2..?7 = the R*Tree bounds of bbox and dt0..dt1.
 * Crossing the antimeridian: indexed over [west, east + 360], beyond 180;
 * searches look there too (see swath__search_from_where in search_sql.c). */
static void bind_entry(sqlite3_stmt *st, int64_t rid, const double bbox[4], int64_t dt0,
                       int64_t dt1) {
  int cross = bbox[0] > bbox[2];
  sqlite3_bind_int64(st, 1, rid);
  sqlite3_bind_double(st, 2, bbox[0]);
  sqlite3_bind_double(st, 3, cross ? bbox[2] + 360.0 : bbox[2]);
  sqlite3_bind_double(st, 4, bbox[1]);
  sqlite3_bind_double(st, 5, bbox[3]);
  sqlite3_bind_double(st, 6, (double)dt0 / SWATH_DAY_MS);
  sqlite3_bind_double(st, 7, (double)dt1 / SWATH_DAY_MS);
}

static int rtree_put(swath_catalog *c, int64_t rid, const swath_scene *s) {
  sqlite3_stmt *st = c->st_rtree_ins;
  bind_entry(st, rid, s->bbox, s->dt0, s->dt1);
  sqlite3_bind_int64(st, 8, s->dt);
  sqlite3_bind_text(st, 9, s->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 10, s->collection, -1, SQLITE_STATIC);
  return step_done(c, st, "catalog: writing the R*Tree");
}

/* Removes the entry of row rid, stored with bbox and dt0..dt1. */
static int rtree_delete(swath_catalog *c, int64_t rid, const double bbox[4], int64_t dt0,
                        int64_t dt1) {
  sqlite3_stmt *f = c->st_rtree_find;
  bind_entry(f, rid, bbox, dt0, dt1);
  int r = sqlite3_step(f);
  int64_t k = sqlite3_column_int64(f, 0);
  sqlite3_reset(f);
  if (r == SQLITE_DONE)
    return swath_error_set(SWATH_EINTERNAL, "catalog '%s': item row %lld has no R*Tree entry",
                           c->path, (long long)rid);
  if (r != SQLITE_ROW) return swath__sql_error(c->db, "catalog: updating the R*Tree");
  sqlite3_bind_int64(c->st_rtree_del, 1, k);
  return step_done(c, c->st_rtree_del, "catalog: updating the R*Tree");
}

/* Before a put: the statements prepared, a transaction open. */
static int put_begin(swath_catalog *c) {
  int rc;
  if (c->readonly) return swath_error_set(SWATH_EINVAL, "catalog '%s' is open read-only", c->path);
  if (!c->st_find && (rc = prepare_writes(c))) return rc;
  if (!c->in_txn) {
    if ((rc = swath__exec(c->db, c->bulk ? "BEGIN" : "BEGIN IMMEDIATE"))) return rc;
    c->in_txn = 1;
  }
  return 0;
}

/* After a put of s (upd: an update): the extents and marks the
 * transaction commits. (The caller commits every c->commit_every puts,
 * between statements.) */
static int put_end(swath_catalog *c, const swath_scene *s, int upd) {
  int cross = s->bbox[0] > s->bbox[2];
  struct swath__extent *e = extent_for(c, s->collection);
  if (!e) return swath_error_set(SWATH_ENOMEM, "catalog: out of memory");
  double w = cross ? -180.0 : s->bbox[0], east = cross ? 180.0 : s->bbox[2];
  if (!(s->kind & SWATH_SCENE_NO_GEOMETRY)) {
    if (w < e->bbox[0]) e->bbox[0] = w;
    if (s->bbox[1] < e->bbox[1]) e->bbox[1] = s->bbox[1];
    if (east > e->bbox[2]) e->bbox[2] = east;
    if (s->bbox[3] > e->bbox[3]) e->bbox[3] = s->bbox[3];
  }
  if (s->dt0 < e->dt0) e->dt0 = s->dt0;
  if (s->dt1 > e->dt1) e->dt1 = s->dt1;
  e->added += !upd;
  if (s->dt1 - s->dt0 > c->max_span) c->max_span = s->dt1 - s->dt0;
  if (s->wkb) c->not_boxes = 1;
  c->in_txn++;
  return 0;
}

static int put_commit_due(swath_catalog *c) {
  return c->in_txn > c->commit_every ? swath__store_commit(c) : 0;
}

/* Whether st_find's row (kind, cloud, doc, geom from column 9) holds what
 * an update with scene s would write there (the caller compares the
 * bounds, times and colour source). */
static int same_content(sqlite3_stmt *f, const swath_scene *s) {
  if (sqlite3_column_int(f, 9) != s->kind) return 0;
  int null_cloud = sqlite3_column_type(f, 10) == SQLITE_NULL;
  if (null_cloud != (isnan(s->cloud) != 0)) return 0;
  if (!null_cloud && sqlite3_column_double(f, 10) != s->cloud) return 0;
  const char *doc = (const char *)sqlite3_column_text(f, 11);
  if (!doc || !s->doc || strcmp(doc, s->doc) != 0) return 0;
  const void *g = sqlite3_column_blob(f, 12);
  int gn = sqlite3_column_bytes(f, 12);
  if ((g == NULL) != (s->wkb == NULL)) return 0;
  return !g || ((size_t)gn == s->wkb_len && memcmp(g, s->wkb, s->wkb_len) == 0);
}

/* A bulk build's insert of the n scenes at s with statement st (n rows of
 * INSERT_COLS), their entries queued for the R*Tree pack. No lookup:
 * duplicates are resolved when the unique index is built. The table only
 * grows, so the rows get rids bulk_rid + 1 .. bulk_rid + n (checked). */
static int bulk_insert(swath_catalog *c, sqlite3_stmt *st, const swath_scene *s, int n) {
  for (int j = 0; j < n; j++)
    bind_scene(st, 14 * j, &s[j]);
  int rc = step_done(c, st, "catalog: storing scenes");
  if (!rc && sqlite3_last_insert_rowid(c->db) != c->bulk_rid + n)
    rc = swath_error_set(SWATH_EINTERNAL, "catalog: bulk rows got rids %lld.., expected %lld..",
                         (long long)(sqlite3_last_insert_rowid(c->db) - n + 1),
                         (long long)c->bulk_rid + 1);
  for (int j = 0; j < n && !rc; j++) {
    int64_t rid = ++c->bulk_rid;
    if (!(rc = swath__rtpack_add(c->pack, rid, &s[j]))) rc = put_end(c, &s[j], 0);
  }
  return rc;
}

int swath__store_put(swath_catalog *c, const swath_scene *s, int *updated) {
  int rc = put_begin(c);
  if (rc) return rc;
  if (updated) *updated = 0;
  if (c->bulk) {
    if ((rc = bulk_insert(c, c->st_insert, s, 1))) return rc;
    return put_commit_due(c);
  }
  int upd = 0;
  sqlite3_stmt *f = c->st_find;
  sqlite3_bind_text(f, 1, s->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(f, 2, s->collection, -1, SQLITE_STATIC);
  int r = sqlite3_step(f);
  if (r == SQLITE_ROW) {
    upd = 1;
    int64_t rid = sqlite3_column_int64(f, 0);
    double was[4];
    for (int k = 0; k < 4; k++)
      was[k] = sqlite3_column_double(f, 1 + k);
    int64_t was0 = sqlite3_column_int64(f, 5), was1 = sqlite3_column_int64(f, 6);
    /* (the R*Tree entry holds dt too) */
    int moved = was[0] != s->bbox[0] || was[1] != s->bbox[1] || was[2] != s->bbox[2] ||
                was[3] != s->bbox[3] || was0 != s->dt0 || was1 != s->dt1 ||
                sqlite3_column_int64(f, 8) != s->dt;
    const char *old = (const char *)sqlite3_column_text(f, 7);
    int forget = (old == NULL) != (s->color_src == NULL) || (old && strcmp(old, s->color_src) != 0);
    /* (a re-ingest of an unchanged row writes nothing) */
    int same = !moved && !forget && same_content(f, s);
    sqlite3_reset(f);
    if (!same) {
      bind_scene(c->st_update, 0, s);
      sqlite3_bind_int64(c->st_update, 15, rid);
      sqlite3_bind_int(c->st_update, 16, forget);
      if ((rc = step_done(c, c->st_update, "catalog: updating a scene"))) return rc;
      if (moved && ((rc = rtree_delete(c, rid, was, was0, was1)) || (rc = rtree_put(c, rid, s))))
        return rc;
    }
  } else {
    sqlite3_reset(f);
    if (r != SQLITE_DONE) return swath__sql_error(c->db, "catalog: looking up a scene");
    bind_scene(c->st_insert, 0, s);
    if ((rc = step_done(c, c->st_insert, "catalog: storing a scene")) ||
        (rc = rtree_put(c, sqlite3_last_insert_rowid(c->db), s)))
      return rc;
  }
  if (updated) *updated = upd;
  if ((rc = put_end(c, s, upd))) return rc;
  return put_commit_due(c);
}

/* Rows per INSERT in a bulk build. The writer thread bounds a bulk
 * ingest's row phase; with a statement per row that phase took 22.0-24.2 s
 * for 10M rows, with 16 rows per statement 21.4-22.2 s (docs/PERFORMANCE.md). */
#define BULK_ROWS 16

int swath__store_put_many(swath_catalog *c, const swath_scene *s, int n, int *stored,
                          int *updated) {
  *stored = *updated = 0;
  int i = 0, rc = 0;
  if (c->bulk && n >= BULK_ROWS) {
    if (!c->st_bulk) {
      char *sql = sqlite3_mprintf("INSERT INTO items(" INSERT_COLS ") VALUES");
      for (int j = 0; sql && j < BULK_ROWS; j++)
        sql = sqlite3_mprintf("%z%s(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", sql, j ? ", " : "");
      int bad =
          !sql || sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->st_bulk, NULL);
      sqlite3_free(sql);
      if (bad) return swath__sql_error(c->db, "catalog: preparing writes");
    }
    for (; i + BULK_ROWS <= n; i += BULK_ROWS) {
      if ((rc = put_begin(c)) || (rc = bulk_insert(c, c->st_bulk, &s[i], BULK_ROWS))) return rc;
      *stored += BULK_ROWS;
      if ((rc = put_commit_due(c))) return rc;
    }
  }
  for (; i < n; i++) {
    int upd = 0;
    if ((rc = swath__store_put(c, &s[i], &upd))) return rc;
    (*stored)++;
    *updated += upd;
  }
  return 0;
}

/* ---- bulk builds -------------------------------------------------------------- */

static int set_state(swath_catalog *c, const char *state) {
  char sql[128];
  snprintf(sql, sizeof sql, "INSERT OR REPLACE INTO meta VALUES('state', '%s')", state);
  return swath__exec(c->db, sql);
}

/* SQLite cache of a bulk build (KiB, negative as PRAGMA cache_size takes
 * it). Every write of a bulk build appends (rows in rid order, the R*Tree's
 * tables in their key order), so a large cache only holds pages back until
 * the next commit: 64 MB instead of 1 GB for the rows and the R*Tree made
 * 10M-row ingests 4-5 s faster (three alternating rounds,
 * docs/PERFORMANCE.md) and the peak RSS 1.1 GB smaller.
 *
 * The index builds take smaller caches. SQLite's sorter cuts an index's
 * keys into sorted runs of cache_size bytes (at most 512 MB, at least 250
 * pages), which its helper thread sorts while the table scan goes on, then
 * merges. With 1 GB the id index of 10M rows was a 512 MB run and a small
 * one: the sort hardly overlapped the scan. 64 MB runs did (id index
 * 16.3-16.9 s -> 12.5-13.4 s), and runs that sort within the CPU's caches
 * do better still: in the sqlite3 shell on a 10M-row catalog the id index
 * took 6.4-7.1 s with 4-8 MB runs, 7.3-7.9 with 16 MB, 8.4-8.7 with 64 MB;
 * the datetime index (12-byte keys) 4.7-5.6 s with 16-32 MB, 5.3-5.9 with
 * 8, 5.5-6.0 with 64 (docs/PERFORMANCE.md, "Small index sort runs"). */
#define BULK_CACHE "-65536"
#define ID_SORT_CACHE "-8192"
#define DT_SORT_CACHE "-16384"

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int swath__store_bulk_begin(swath_catalog *c) {
  if (c->readonly || c->bulk) return 0;
  sqlite3_stmt *st;
  int empty = 0;
  if (sqlite3_prepare_v2(c->db, "SELECT NOT EXISTS (SELECT 1 FROM items)", -1, &st, NULL))
    return swath__sql_error(c->db, "catalog");
  if (sqlite3_step(st) == SQLITE_ROW) empty = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (!empty) return 0;
  /* Leaving WAL needs the only connection: if another process has the
   * catalog open, fall back to ordinary (slower, concurrent) ingest. */
  const char *mode = NULL;
  if (sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = OFF", -1, &st, NULL))
    return swath__sql_error(c->db, "catalog");
  if (sqlite3_step(st) == SQLITE_ROW) mode = (const char *)sqlite3_column_text(st, 0);
  int off = mode && strcmp(mode, "off") == 0;
  sqlite3_finalize(st);
  if (!off) return 0;
  int rc;
  /* The index builds at the end sort every row: their sorter spills to
   * temporary files (temp_store = FILE), not to memory, so memory stays
   * bounded whatever the input's size, and sorts on one thread per core
   * (PRAGMA threads counts the helpers besides the calling thread). */
  char sql[160];
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  snprintf(sql, sizeof sql,
           "PRAGMA synchronous = OFF; PRAGMA cache_size = " BULK_CACHE
           "; PRAGMA temp_store = FILE; "
           "PRAGMA threads = %ld",
           cores <= 1  ? 0
           : cores > 8 ? 7
                       : cores - 1);
  if ((rc = swath__exec(c->db, sql)) || (rc = set_state(c, "building")) ||
      (rc = swath__exec(c->db, "DROP INDEX IF EXISTS items_id; DROP INDEX IF EXISTS items_dt")) ||
      (rc = swath__rtpack_new(c->pack_run, &c->pack)))
    return rc;
  c->bulk = 1;
  c->bulk_rid = 0; /* (the table is empty) */
  c->bulk_t0 = seconds();
  return 1;
}

int swath__store_bulk_end(swath_catalog *c, int64_t *dups) {
  *dups = 0;
  if (!c->bulk) return 0;
  double t0 = seconds();
  int rc = swath__store_commit(c);
  /* the R*Tree's last run sorts on the other core while the indexes build */
  if (!rc) rc = swath__rtpack_flush(c->pack);
  int64_t *skip = NULL;
  size_t nskip = 0;
  if (!rc) rc = swath__exec(c->db, "PRAGMA cache_size = " ID_SORT_CACHE);
  if (!rc && swath__exec(c->db, "CREATE UNIQUE INDEX items_id ON items(id, collection)") != 0) {
    /* The input repeated some (collection, id): the last one wins, as a
     * re-ingest would have it. */
    sqlite3_stmt *st;
    rc = sqlite3_prepare_v2(c->db,
                            "SELECT rid FROM items WHERE rid NOT IN (SELECT max(rid) FROM items "
                            "GROUP BY id, collection) ORDER BY rid",
                            -1, &st, NULL)
             ? swath__sql_error(c->db, "catalog")
             : 0;
    size_t cap = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
      if (nskip == cap) {
        cap = cap ? 2 * cap : 1024;
        int64_t *n = realloc(skip, cap * sizeof *n);
        if (!n) {
          rc = swath_error_set(SWATH_ENOMEM, "catalog: out of memory");
          break;
        }
        skip = n;
      }
      skip[nskip++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (!rc)
      rc = swath__exec(c->db,
                       "BEGIN; UPDATE collections SET n = n - (SELECT count(*) FROM items i WHERE "
                       "i.collection = collections.id AND i.rid NOT IN (SELECT max(rid) FROM items "
                       "GROUP BY id, collection)); DELETE FROM items WHERE rid NOT IN (SELECT "
                       "max(rid) FROM items GROUP BY id, collection); COMMIT");
    if (!rc) rc = swath__exec(c->db, "CREATE UNIQUE INDEX items_id ON items(id, collection)");
    *dups = (int64_t)nskip;
  }
  double t1 = seconds();
  if (!rc) rc = swath__exec(c->db, "PRAGMA cache_size = " DT_SORT_CACHE);
  if (!rc) rc = swath__exec(c->db, "CREATE INDEX items_dt ON items(dt)");
  if (!rc) rc = swath__exec(c->db, "PRAGMA cache_size = " BULK_CACHE);
  double t2 = seconds();
  if (!rc) rc = swath__exec(c->db, "BEGIN");
  if (!rc) rc = swath__rtpack_write(c->pack, c->db, "items_rtree", skip, nskip);
  swath_debug("bulk build: rows %.1f s, id index %.1f s, datetime index %.1f s, R*Tree %.1f s",
              t0 - c->bulk_t0, t1 - t0, t2 - t1, seconds() - t2);
  if (!rc) rc = set_state(c, "ready");
  if (!rc) rc = swath__exec(c->db, "COMMIT");
  free(skip);
  swath__rtpack_free(c->pack);
  c->pack = NULL;
  c->bulk = 0;
  finalize_writes(c); /* the incremental path prepares its own */
  if (!rc)
    rc = swath__exec(c->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                            "PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY; "
                            "PRAGMA threads = 0");
  return rc;
}

int swath__store_touch_collection(swath_catalog *c, const char *id, const double bbox[4],
                                  int64_t dt0, int64_t dt1, int64_t added) {
  static const char *sql =
      "INSERT INTO collections(id, minx, miny, maxx, maxy, dt0, dt1, n) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(id) DO UPDATE SET "
      "minx = min(coalesce(minx, excluded.minx), coalesce(excluded.minx, minx)), "
      "miny = min(coalesce(miny, excluded.miny), coalesce(excluded.miny, miny)), "
      "maxx = max(coalesce(maxx, excluded.maxx), coalesce(excluded.maxx, maxx)), "
      "maxy = max(coalesce(maxy, excluded.maxy), coalesce(excluded.maxy, maxy)), "
      "dt0 = min(coalesce(dt0, excluded.dt0), excluded.dt0), "
      "dt1 = max(coalesce(dt1, excluded.dt1), excluded.dt1), n = n + excluded.n";
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL))
    return swath__sql_error(c->db, "catalog: collections");
  sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
  for (int k = 0; k < 4; k++) /* (none: only items without geometry were added) */
    if (bbox[0] <= bbox[2])
      sqlite3_bind_double(st, 2 + k, bbox[k]);
    else
      sqlite3_bind_null(st, 2 + k);
  sqlite3_bind_int64(st, 6, dt0);
  sqlite3_bind_int64(st, 7, dt1);
  sqlite3_bind_int64(st, 8, added);
  int r = sqlite3_step(st);
  sqlite3_finalize(st);
  return r == SQLITE_DONE ? 0 : swath__sql_error(c->db, "catalog: collections");
}

int swath__store_commit(swath_catalog *c) {
  if (!c->in_txn) return 0;
  int rc = 0;
  for (int i = 0; i < c->n_ext && !rc; i++) {
    struct swath__extent *e = &c->ext[i];
    if (e->dt0 <= e->dt1)
      rc = swath__store_touch_collection(c, e->id, e->bbox, e->dt0, e->dt1, e->added);
  }
  for (int i = 0; i < c->n_ext; i++)
    free(c->ext[i].id);
  c->n_ext = 0;
  if (!rc && c->max_span > 0) {
    /* search bounds its datetime index scan by the longest item interval */
    char sql[200];
    snprintf(sql, sizeof sql,
             "INSERT INTO meta VALUES('max_span', %lld) ON CONFLICT(key) DO UPDATE SET value = "
             "max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
             (long long)c->max_span);
    rc = swath__exec(c->db, sql);
  }
  c->max_span = 0;
  if (!rc && c->not_boxes) rc = swath__exec(c->db, "DELETE FROM meta WHERE key = 'footprints'");
  c->not_boxes = 0;
  if (rc || (rc = swath__exec(c->db, "COMMIT"))) {
    swath__store_rollback(c);
    return rc;
  }
  c->in_txn = 0;
  return 0;
}

void swath__store_rollback(swath_catalog *c) {
  if (!c->in_txn) return;
  sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
  c->in_txn = 0;
  for (int i = 0; i < c->n_ext; i++)
    free(c->ext[i].id);
  c->n_ext = 0;
}
