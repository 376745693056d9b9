/* catalog_int.h: what the catalog's files share and nothing outside
 * src/catalog includes: the connection struct, the store's write path, the
 * row -> STAC Item builder, and the ingest-format interface.
 *
 * Schema (store.c creates it; SWATH_CATALOG_SCHEMA names its version):
 *   items(rid INTEGER PRIMARY KEY, id, collection, kind (with flags: catalog.h),
 *         dt, dt0, dt1, cloud, minx, miny, maxx, maxy, geom WKB|NULL, doc, csrc,
 *         red, green, blue, bright, cmethod, cpixels, csource)
 *   items_rtree(k, minx, maxx, miny, maxy, t0, t1, +rid, +dt, +item,
 *         +collection): one entry per items row, t in days. k numbers the
 *         entry itself: a bulk build numbers entries in leaf order
 *         (rtree_pack.c), later inserts take the next free number. The
 *         auxiliary columns repeat the row's rid, dt, id and collection, so
 *         that a search on boxes and datetime reads no items row (search_sql.c
 *         reads them from the shadow table items_rtree_rowid, as a0..a3,
 *         where one area's entries lie together).
 *   collections(id, title, description, doc, minx, miny, maxx, maxy, dt0, dt1)
 *   meta(key, value): schema, state, max_span, footprints = 'boxes' while
 *         every item's footprint is its bbox (geom NULL)
 * An item's rid never changes once assigned (re-ingest updates the row), so
 * it is the final tie-breaker of every sort and part of every paging token.
 * Rows whose bbox crosses the antimeridian (minx > maxx) are stored in the
 * R*Tree over [minx, maxx + 360] (searches also look 360 degrees east); the
 * exact test happens afterwards. An item without geometry
 * (SWATH_SCENE_NO_GEOMETRY) has the bbox SWATH__NOWHERE, north of every
 * query (a latitude of 1000): no spatial search meets it, and it widens no
 * collection's spatial extent. */
#ifndef SWATH_CATALOG_INT_H
#define SWATH_CATALOG_INT_H

#include <sqlite3.h>

#include "catalog/catalog.h"
#include "catalog/sql.h"

/* 3: items.kind carries SWATH_SCENE_NO_DATETIME, _HAS_START, _HAS_END and
 * _NO_GEOMETRY (filters read them), and STAC documents always hold a bbox */
#define SWATH_CATALOG_SCHEMA "3"

typedef struct swath__rtpack swath__rtpack;
#define SWATH__NOWHERE ((const double[4]){0.0, 1000.0, 0.0, 1000.0})
#define SWATH_DAY_MS 86400000.0

#define SWATH__STMT_CACHE 16

struct swath_catalog {
  sqlite3 *db;
  char *path;
  int readonly;
  /* write path, prepared lazily by the first put */
  sqlite3_stmt *st_find, *st_insert, *st_update, *st_rtree_ins, *st_rtree_find, *st_rtree_del;
  int64_t bulk_rid;          /* the last rid a bulk build inserted */
  int64_t in_txn;            /* puts since BEGIN */
  struct swath__extent *ext; /* per collection: what this transaction added */
  int n_ext;
  int64_t max_span;      /* longest dt1 - dt0 put in this transaction */
  int not_boxes;         /* an item whose footprint is not its bbox was put */
  int bulk;              /* filling a new catalog (see swath__store_bulk_begin) */
  double bulk_t0;        /* when it began (seconds, CLOCK_MONOTONIC) */
  sqlite3_stmt *st_bulk; /* a bulk build's INSERT of several rows */
  int64_t commit_every;  /* puts per write transaction (SWATH_STORE_BATCH) */
  size_t pack_run;       /* R*Tree pack: entries per sort run (0: default) */
  /* (tests make the last two small, to cross their boundaries) */
  swath__rtpack *pack;
  /* read statements kept prepared between searches (see swath__stmt_get) */
  struct swath__stmt_slot {
    char *sql;
    int len;
    int busy;
    uint64_t used;
    sqlite3_stmt *st;
  } stc[SWATH__STMT_CACHE];
  uint64_t stc_clock;
};

/* ---- store (store.c) ------------------------------------------------------ */
/* Put one scene inside the current write transaction (begun on demand and
 * committed every SWATH_STORE_BATCH puts). *updated = 1 if it existed. */
#define SWATH_STORE_BATCH 200000
int swath__store_put(swath_catalog *c, const swath_scene *s, int *updated);
/* Put n scenes, as many rows per statement as a bulk build allows.
 * *stored: how many were put before any failure, *updated: of which
 * updates. */
int swath__store_put_many(swath_catalog *c, const swath_scene *s, int n, int *stored, int *updated);
/* Commit what is pending and fold the extent seen into `collections`. */
int swath__store_commit(swath_catalog *c);
void swath__store_rollback(swath_catalog *c);
/* Widen a collection's stored extent (creating the row if needed). */
int swath__store_touch_collection(swath_catalog *c, const char *id, const double bbox[4],
                                  int64_t dt0, int64_t dt1, int64_t added);

/* ---- bulk builds (store.c, rtree_pack.c) ----------------------------------
 * A new, empty catalog is filled in bulk: no journal, no secondary indexes
 * while rows stream in, then the indexes are built by sorting and the
 * R*Tree is packed (rtree_pack.c). meta.state is 'building' meanwhile, and
 * an interrupted build leaves a catalog that open() refuses. */
/* 1 if bulk mode is on, 0 if the catalog is not empty or others use it. */
int swath__store_bulk_begin(swath_catalog *c);
/* Finish: indexes, R*Tree, WAL mode back. *dups: rows that repeated an
 * earlier (collection, id) and replaced it. */
int swath__store_bulk_end(swath_catalog *c, int64_t *dups);

/* run: entries per sort run (0: the default, 1M) */
int swath__rtpack_new(size_t run, swath__rtpack **out);
/* Queue the entry of scene s, stored as row `rid` (greater than the last). */
int swath__rtpack_add(swath__rtpack *p, int64_t rid, const swath_scene *s);
/* No more entries: start sorting the last ones in the background (call it
 * before other long work, such as the index builds). */
int swath__rtpack_flush(swath__rtpack *p);
/* Replace the contents of R*Tree `table` (items_rtree's layout) by the
 * packed entries; the entries of the sorted rids in `skip` are left out. */
int swath__rtpack_write(swath__rtpack *p, sqlite3 *db, const char *table, const int64_t *skip,
                        size_t nskip);
void swath__rtpack_free(swath__rtpack *p);

/* ---- rows and items (item.c) --------------------------------------------- */
typedef struct swath__row {
  int64_t rid;
  const char *id, *collection;
  int kind;
  int64_t dt, dt0, dt1;
  double cloud; /* NAN: unknown */
  double bbox[4];
  const void *geom;
  int geom_len;
  const char *doc;
  int has_color;
  double rgb[3], bright;
  const char *cmethod, *csource;
  int64_t cpixels;
} swath__row;

/* The SELECT column list that swath__row_read() expects, for table alias i. */
#define SWATH__ROW_COLS                                                                            \
  "i.rid, i.id, i.collection, i.kind, i.dt, i.dt0, i.dt1, i.cloud, i.minx, i.miny, i.maxx, "       \
  "i.maxy, i.geom, i.doc, i.red, i.green, i.blue, i.bright, i.cmethod, i.cpixels, i.csource"
#define SWATH__ROW_NCOLS 21
void swath__row_read(sqlite3_stmt *st, int col0, swath__row *r);
/* The STAC Item for a row as compact JSON text appended to t (reals with
 * t->precision digits), with this server's links under links_base (NULL:
 * none). On failure nothing is appended (or t->failed is set). */
int swath__item_write(const swath__row *r, const char *links_base, swath_jtext *t);
/* The same Item as a tree (new reference), without links. */
int swath__row_item(const swath__row *r, json_t **out);

/* Sentinel-2 index fields packed into items.doc, tab-separated in this
 * order; BASE_URL is left empty when it is the one Google's layout implies. */
enum {
  S2F_PRODUCT,
  S2F_DATATAKE,
  S2F_MGRS,
  S2F_SIZE,
  S2F_QUALITY,
  S2F_GENERATION,
  S2F_BASE_URL,
  S2F_COUNT
};
/* Split a packed doc into fields (pointers into buf, which the caller owns
 * and which is modified). Returns SWATH_EINVAL when the count is wrong. */
int swath__s2_unpack(char *buf, const char *f[S2F_COUNT]);
/* The BASE_URL Google's layout gives a product of an MGRS tile; buf >= 512. */
int swath__s2_default_base(const char *mgrs, const char *product, char *buf, size_t n);
/* 1 for the pre-December-2016 naming (OPER granules, no TCI). */
int swath__s2_is_legacy(const char *granule_id);
/* Href of a band ("B04", "TCI", ...) of an S2 granule; gs:// or https form
 * depending on https. Returns bytes written or a negative code. */
int swath__s2_band_href(const char *base_url, const char *granule, const char *product,
                        const char *mgrs, const char *band, int https, char *buf, size_t n);

/* ---- ingest formats -------------------------------------------------------- */

/* Where a format delivers scenes and reports malformed records. */
typedef struct swath_ingest_sink {
  int (*put)(void *ud, const swath_scene *s);
  void (*bad)(void *ud, int64_t line, const char *msg);
  void *ud;
} swath_ingest_sink;

#define SWATH_INGEST_ABI 1

/* One ingest format. probe() scores how sure it is that it reads `path`
 * (0: not at all) given the first bytes `head` (n of them; n == 0 and
 * is_dir set for folders); run() streams records into the sink and returns
 * 0 or a code for failures that stop the whole ingest (unreadable file, not
 * malformed records, which go to sink->bad). */
typedef struct swath_ingest_vtable {
  const char *name;
  int abi;
  int (*probe)(const char *path, const char *head, size_t n, int is_dir);
  int (*run)(const char *path, const swath_ingest_opts *o, swath_ingest_sink *sink);
} swath_ingest_vtable;

extern const swath_ingest_vtable swath_ingest_s2csv;
extern const swath_ingest_vtable swath_ingest_stac;
extern const swath_ingest_vtable swath_ingest_rasters;

/* Line reader over a GDAL virtual file (plain, /vsigzip/, /vsicurl/...).
 * Lines are returned without their end-of-line, NUL-terminated, valid until
 * the next call; very long lines are returned whole (the buffer grows). */
typedef struct swath__lines swath__lines;
int swath__lines_open(const char *path, swath__lines **out);
/* 1 with line and len set, 0 at the end, negative on a read error. */
int swath__lines_next(swath__lines *l, char **line, size_t *len);
int64_t swath__lines_number(const swath__lines *l); /* of the last line returned */
void swath__lines_close(swath__lines *l);
/* The path to hand GDAL: gzip files (by magic) get /vsigzip/. Caller frees. */
char *swath__vsi_path(const char *path);

/* ---- colour sources (stats.c) -------------------------------------------- */
/* What colour statistics read for an Item: three GDAL paths (the same one
 * three times for a multi-band file) with a band each, and a scale (0: none;
 * else values v count as clamp(v * scale, 1, 255)). */
typedef struct swath__color_src {
  char *paths[3];
  int bands[3];
  double scale;
  int zero_nodata; /* Sentinel-2: 0 is no data even when undeclared */
  char source[64]; /* "TCI", "B04,B03,B02", "visual", "data:1,2,3"... */
} swath__color_src;
/* Pick the colour source of an Item: a visual/TCI asset, else red/green/blue
 * band assets, else bands (properties.swath:rgb_bands, default 1,2,3) of the
 * "data" asset. SWATH_ENOTFOUND when the Item has none of them. */
int swath__color_pick(const json_t *item, swath__color_src *out);
void swath__color_src_clear(swath__color_src *s);
/* A key that changes when the colour source does (stored as items.csrc);
 * NULL when there is none. Caller frees. */
char *swath__color_source(const json_t *item);

/* ---- filters (cql2.c) ------------------------------------------------------
 * Append SQL for a CQL2-JSON expression, or for a STAC query-extension
 * object, over the queryable properties (see swath_catalog_queryables()).
 * SWATH_EINVAL naming `what` and the offending part on anything else. */
int swath__cql2_sql(const json_t *expr, const char *what, swath__sql *out);
int swath__query_ext_sql(const json_t *query, const char *what, swath__sql *out);
/* The SQL expression for a sortable/queryable property name (accepts
 * "color.red" for "color:red" and a "properties." prefix), and its type
 * ('n' number, 't' text, 'd' datetime ms); NULL if unknown. */
const char *swath__property_sql(const char *name, char *type, const char **canonical);

/* ---- search internals shared with store.c, stats.c and tests ------------
 * (search_int.h holds the rest, for the search's own files) */
/* Prepare "SELECT <cols> FROM items i WHERE <the search's conditions>"
 * ordered by rid, without limit or paging, for stats. */
int swath__search_prepare_all(swath_catalog *c, const swath_search *q, const char *cols,
                              sqlite3_stmt **out);
/* Register the catalog's SQL functions on a connection (search_match.c). */
int swath__search_register(sqlite3 *db);
/* numberMatched of a search on boxes and datetime counted from the R*Tree's
 * entries alone, as swath_search_run does for large ones in a catalog of
 * box footprints (-1: more than cap, cap > 0; *rc set on error). Tests
 * compare it with the rows' count. */
int64_t swath__search_count_rtree(swath_catalog *c, const swath_search *q, int64_t cap, int *rc);

#endif
