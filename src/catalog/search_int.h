/* search_int.h: what the search's files share and nothing else includes:
 * the parsed search (struct swath_search) and the steps of running one.
 *
 *   search_parse.c   GET parameters -> search body; body -> swath_search
 *                    (validation, the paging token read back)
 *   search_sql.c     the SQL of a search: FROM/WHERE (driving set, exact
 *                    tests, keyset condition), ORDER BY
 *   search_match.c   exact tests of footprints and of R*Tree entries, and
 *                    the SQL functions swath_hit() and swath_entry()
 *   search_count.c   numberMatched: from rows, from collections, or from
 *                    the R*Tree's entries alone; cheap size estimates
 *   search.c         running a search: pages, datetime slices, tokens
 *   collections.c    single items and collections
 *
 * A swath_search is immutable once parsed, but for the footprint geometry
 * swath_hit() may build lazily (the search is used by one thread at a
 * time, as its connection is). */
#ifndef SWATH_CATALOG_SEARCH_INT_H
#define SWATH_CATALOG_SEARCH_INT_H

#include <ogr_api.h>

#include "catalog/catalog_int.h"

#define MAX_PARTS 16
#define MAX_SORT 4

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

/* ---- exact tests (search_match.c) ------------------------------------------ */
/* A bbox as one box, or two when it crosses the antimeridian. */
int swath__split_box(const double b[4], double out[2][4]);
/* 1 / 0 when the item of R*Tree entry e (minx, maxx, miny, maxy, t0, t1)
 * certainly matches / misses q's parts and datetime filter; -1 when only
 * its row can tell. For a catalog of box footprints. */
int swath__entry_test(const swath_search *q, const double e[6]);

/* ---- SQL (search_sql.c) ------------------------------------------------------ */
/* The SQL expression of sort key k (unknown numbers sort last). */
const char *swath__search_key_expr(const struct sortkey *k, char *buf, size_t n);
/* The longest dt1 - dt0 of any item (meta.max_span; 0 when unknown). */
int64_t swath__search_max_span(swath_catalog *c);
/* The R*Tree conditions of lookup k of q's parts (k / 2: the part; odd k:
 * shifted by 360 degrees), and of a datetime slice. */
void swath__search_rtree_where(const swath_search *q, int k, const int64_t *slice, swath__sql *s);
/* The exact test of items row `a` (an alias): footprint and time range. */
void swath__search_row_test(const swath_search *q, const char *a, swath__sql *s);
/* " FROM ... WHERE ..." for q (see search_sql.c). */
void swath__search_from_where(swath_catalog *c, const swath_search *q, int narrow, int keyset,
                              const int64_t *slice, swath__sql *s);
void swath__search_order_by(const swath_search *q, swath__sql *s);
/* SWATH_EINVAL naming the first of q's collections that does not exist. */
int swath__search_check_collections(swath_catalog *c, const swath_search *q);

/* ---- counting (search_count.c) ------------------------------------------------ */
/* numberMatched by counting rows (or collections' item counts); -1: more
 * than cap (cap > 0); *rc set on error. */
int64_t swath__search_count_matches(swath_catalog *c, const swath_search *q, int narrow,
                                    int64_t cap, int *rc);
/* Whether the count can come from the R*Tree alone (swath__search_count_rtree). */
int swath__search_rtree_countable(swath_catalog *c, const swath_search *q);
/* Whether from_where may read the R*Tree's copies of rid, dt, id and
 * collection instead of items rows. */
int swath__search_rtree_narrow(swath_catalog *c, const swath_search *q);
/* A rough guess of the matches of a spatial search, from collection extents. */
double swath__search_area_guess(swath_catalog *c, const swath_search *q);
/* The R*Tree entries the search's lookups meet, up to cap. */
int64_t swath__search_rtree_candidates(swath_catalog *c, const swath_search *q, int64_t cap,
                                       int *rc);

#endif
