/* search_count.c: numberMatched, and what decides how a search runs. A
 * search on collections alone is counted from the collections' kept item
 * counts; a search on boxes and datetime in a catalog of box footprints
 * from the R*Tree's entries alone (their float32 bounds settle all but the
 * few within rounding of the query's edges, which their rows settle);
 * anything else by counting its rows. Cheap estimates (collection extents,
 * R*Tree candidates up to a cap) let search.c choose between one statement
 * and datetime slices. Counts stop at a cap (-1: more than cap). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/search_int.h"
#include "core/error.h"

int64_t swath__search_count_matches(swath_catalog *c, const swath_search *q, int narrow,
                                    int64_t cap, int *rc) {
  swath__sql s = {0};
  if (!q->nparts && !q->has_t0 && !q->has_t1 && !q->ids_json && !q->filter.len) {
    /* only collections constrain the search: their item counts are kept */
    swath__sql_add(&s, "SELECT coalesce(sum(n), 0) FROM collections WHERE 1");
    if (q->colls_json) {
      swath__sql_add(&s, " AND id IN (SELECT value FROM json_each(");
      swath__sql_text(&s, q->colls_json);
      swath__sql_add(&s, "))");
    }
    if (q->collection) {
      swath__sql_add(&s, " AND id = ");
      swath__sql_text(&s, q->collection);
    }
    return swath__sql_count(c, &s, rc);
  }
  swath__sql_add(&s, "SELECT count(*) FROM (SELECT 1");
  swath__search_from_where(c, q, narrow, 0, NULL, &s);
  if (cap > 0) {
    swath__sql_add(&s, " LIMIT ");
    swath__sql_int(&s, cap + 1);
  }
  swath__sql_add(&s, ")");
  int64_t n = swath__sql_count(c, &s, rc);
  return cap > 0 && n > cap ? -1 : n;
}

/* Whether every item's footprint is its bbox (store.c keeps the
 * 'footprints' mark only while that holds): then a box search's hits are
 * decided by R*Tree entries, but for the few their rounding leaves open. */
static int boxes_only(swath_catalog *c) {
  static const char sql[] = "SELECT 1 FROM meta WHERE key = 'footprints' AND value = 'boxes'";
  sqlite3_stmt *st;
  if (swath__stmt_get(c, sql, (int)sizeof sql - 1, "search", &st)) {
    swath_error_clear();
    return 0;
  }
  int yes = sqlite3_step(st) == SQLITE_ROW;
  swath__stmt_put(c, st);
  return yes;
}

/* Whether the count can come from the R*Tree alone: a search on boxes and
 * datetime only, in a catalog of box footprints. */
int swath__search_rtree_countable(swath_catalog *c, const swath_search *q) {
  return q->nparts && q->is_box && !q->ids_json && !q->colls_json && !q->collection &&
         !q->filter.len && boxes_only(c);
}

/* Whether swath__search_from_where may read the R*Tree's copies (rid, dt, id, collection)
 * instead of items rows: a search on boxes, datetime and collections,
 * sorted on those columns, in a catalog of box footprints. */
int swath__search_rtree_narrow(swath_catalog *c, const swath_search *q) {
  if (!q->nparts || !q->is_box || q->ids_json || q->filter.len) return 0;
  for (int k = 0; k < q->nsort; k++)
    if (strcmp(q->sort[k].col, "i.dt") && strcmp(q->sort[k].col, "i.id") &&
        strcmp(q->sort[k].col, "i.collection"))
      return 0;
  return boxes_only(c);
}

/* "<sep>SELECT" of the entries lookup p (swath__search_rtree_where) meets, with their
 * bounds (as swath__entry_test takes them, after k). */
static void entry_lookup(const swath_search *q, int p, const char *sep, swath__sql *s) {
  swath__sql_add(s, "%sSELECT k, minx, maxx, miny, maxy, t0, t1 FROM items_rtree WHERE ", sep);
  swath__search_rtree_where(q, p, NULL, s);
}

/* A margin beyond f32_slack of any value within it of v. */
static double strip_width(double v) { return (fabs(v) + 1) * 1e-6; }

/* The entries of lookup p (swath__search_rtree_where) of a one-part search that its
 * R*Tree entry alone may not settle (swath__entry_test != 1): those within
 * rounding of an edge of the query's box or datetime; every other entry
 * the lookup meets is a sure match (see entry_meets and entry_in_time: the
 * lookup's own bounds exclude the sure misses). An entry ending on 180
 * degrees, which entry_meets leaves to its row, needs no strip of its own:
 * away from the query's other edges, one the plain lookup meets overlaps
 * the query's box, and the shifted lookup meets one only when the query
 * starts on -180, inside that edge's strip. As thin strips, one lookup
 * each, so that the R*Tree finds them without visiting the rest. */
static void fringe_lookups(const swath_search *q, int p, swath__sql *s) {
  const double *b = q->parts[0];
  double edge[8];
  const char *cond[8];
  int n = 0;
  cond[n] = "miny >= ", edge[n++] = b[3] - strip_width(b[3]);
  cond[n] = "maxy <= ", edge[n++] = b[1] + strip_width(b[1]);
  if (p == 0) { /* the plain lookup: west and east edges */
    cond[n] = "minx >= ", edge[n++] = b[2] - strip_width(b[2]);
    cond[n] = "maxx <= ", edge[n++] = b[0] + strip_width(b[0]);
  } else { /* shifted: only items across the antimeridian, by their east end */
    cond[n] = "maxx <= ", edge[n++] = b[0] + 360 + strip_width(b[0] + 360);
  }
  if (q->has_t0) {
    double t = (double)q->t0 / SWATH_DAY_MS;
    cond[n] = "t1 <= ", edge[n++] = t + strip_width(t);
  }
  if (q->has_t1) {
    double t = (double)q->t1 / SWATH_DAY_MS;
    cond[n] = "t0 >= ", edge[n++] = t - strip_width(t);
  }
  for (int k = 0; k < n; k++) {
    entry_lookup(q, p, s->len ? " UNION " : "", s);
    swath__sql_add(s, " AND %s", cond[k]);
    swath__sql_double(s, edge[k]);
  }
}

/* numberMatched from the R*Tree's entries (see swath__search_rtree_countable), without
 * reading rows. The entries hold float32 bounds rounded outwards, so an
 * entry within rounding of the query's edges is settled by its row and
 * swath_hit, as the search itself would. A one-part search counts its
 * lookups' entries (a bare R*Tree count, about 70 instructions an entry)
 * and subtracts the misses among the few near its edges (fringe_lookups):
 * 20,000 entries of a 10x10 degree box read with their bounds and tested
 * were 7 ms. A search of several parts (across the antimeridian) may meet
 * an entry twice: it tests every entry, and de-duplicates their ids.
 * Needs q->nparts >= 1. Returns the count (-1: more than cap, cap > 0);
 * *rc set on error. */
static int64_t count_by_rtree(swath_catalog *c, const swath_search *q, int64_t cap, int *rc) {
  swath__sql s = {0};
  int fringe = q->nparts == 1; /* else several parts */
  if (fringe) {
    for (int p = 0; p < 2; p++)
      fringe_lookups(q, p, &s);
  } else {
    for (int p = 0; p < 2 * q->nparts;
         p++) /* the parts' lookups, as swath__search_from_where writes them */
      entry_lookup(q, p, p ? " UNION ALL " : "", &s);
  }
  sqlite3_stmt *st, *row = NULL;
  *rc = swath__sql_prepare_cached(c, &s, &st);
  swath__sql_clear(&s);
  if (*rc) return -1;
  /* the exact test of an open entry: its row, as the search tests it */
  swath__sql_add(&s, "SELECT 1 FROM items_rtree_rowid x CROSS JOIN items i ON i.rid = x.a0 WHERE "
                     "x.rowid = ");
  swath__sql_int(&s, 0);
  swath__sql_add(&s, " AND ");
  swath__search_row_test(q, "i", &s);
  if ((*rc = swath__sql_prepare_cached(c, &s, &row))) {
    swath__sql_clear(&s);
    swath__stmt_put(c, st);
    return -1;
  }
  swath__sql_clear(&s);
  int64_t n = 0, *ids = NULL, misses = 0, seen = 0;
  size_t nids = 0, cap_ids = 0;
  int r;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    seen++;
    double e[6];
    for (int k = 0; k < 6; k++)
      e[k] = sqlite3_column_double(st, 1 + k);
    int hit = swath__entry_test(q, e);
    int64_t id = sqlite3_column_int64(st, 0);
    if (hit < 0) { /* settled by the row */
      sqlite3_bind_int64(row, 1, id);
      int rr = sqlite3_step(row);
      sqlite3_reset(row);
      if (rr != SQLITE_ROW && rr != SQLITE_DONE) {
        *rc = swath__sql_error(c->db, "search: counting");
        break;
      }
      hit = rr == SQLITE_ROW;
    }
    misses += !hit;
    if (!hit || fringe) continue;
    if (nids == cap_ids) {
      size_t nc = cap_ids ? 2 * cap_ids : 4096;
      int64_t *ni = realloc(ids, nc * sizeof *ni);
      if (!ni) {
        *rc = swath_error_set(SWATH_ENOMEM, "search: out of memory");
        break;
      }
      ids = ni, cap_ids = nc;
    }
    ids[nids++] = id;
  }
  if (!*rc && r != SQLITE_ROW && r != SQLITE_DONE)
    *rc = swath__sql_error(c->db, "search: counting");
  swath__stmt_put(c, row);
  swath__stmt_put(c, st);
  if (!fringe && !*rc && nids) {
    qsort(ids, nids, sizeof *ids, swath__cmp_i64);
    for (size_t k = 0; k < nids; k++)
      n += !k || ids[k] != ids[k - 1];
  }
  free(ids);
  if (!*rc && fringe) {
    /* (counted up to where the misses cannot bring it back under cap) */
    int64_t all = swath__search_rtree_candidates(c, q, cap > 0 ? cap + 1 + seen : INT64_MAX, rc);
    if (cap > 0 && all == cap + 1 + seen) return -1;
    n = all - misses;
  }
  if (*rc) return -1;
  return cap > 0 && n > cap ? -1 : n;
}

int64_t swath__search_count_rtree(swath_catalog *c, const swath_search *q, int64_t cap, int *rc) {
  *rc = 0;
  return count_by_rtree(c, q, cap, rc);
}

/* A rough guess of the matches of a spatial search: each collection's items
 * spread evenly over its extent, times the share of it the query's parts
 * cover (no R*Tree work: it decides whether that work is worth doing). */
double swath__search_area_guess(swath_catalog *c, const swath_search *q) {
  static const char sql[] = "SELECT n, minx, miny, maxx, maxy FROM collections WHERE n > 0";
  sqlite3_stmt *st;
  if (swath__stmt_get(c, sql, (int)sizeof sql - 1, "search", &st)) {
    swath_error_clear();
    return INFINITY;
  }
  double guess = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    double e[4];
    for (int k = 0; k < 4; k++)
      e[k] = sqlite3_column_double(st, 1 + k);
    double area = fmax(e[2] - e[0], 1e-6) * fmax(e[3] - e[1], 1e-6), cover = 0;
    for (int p = 0; p < q->nparts; p++) {
      const double *b = q->parts[p];
      cover += fmax(0, fmin(b[2], e[2]) - fmax(b[0], e[0])) *
               fmax(0, fmin(b[3], e[3]) - fmax(b[1], e[1]));
    }
    guess += (double)sqlite3_column_int64(st, 0) * cover / area;
  }
  swath__stmt_put(c, st);
  return guess;
}

/* The R*Tree entries the search's lookups meet, up to cap: at least its
 * matches (rows are tested afterwards), counted without reading rows. */
int64_t swath__search_rtree_candidates(swath_catalog *c, const swath_search *q, int64_t cap,
                                       int *rc) {
  swath__sql s = {0};
  swath__sql_add(&s, "SELECT count(*) FROM (");
  for (int p = 0; p < 2 * q->nparts; p++) {
    swath__sql_add(&s, "%sSELECT 1 FROM items_rtree WHERE ", p ? " UNION ALL " : "");
    swath__search_rtree_where(q, p, NULL, &s);
  }
  swath__sql_add(&s, " LIMIT ");
  swath__sql_int(&s, cap);
  swath__sql_add(&s, ")");
  return swath__sql_count(c, &s, rc);
}
