/* search_match.c: the exact tests of a search, as SQL functions SQLite
 * calls per candidate: swath_hit() tests an item's footprint (a box against
 * a box, else GEOS prepared-geometry intersects), swath_entry() decides from
 * an R*Tree entry alone when its float32 bounds allow (search_count.c and
 * the narrow searches of search_sql.c rely on it).
 *
 * Invariant: swath_entry()'s answer never contradicts swath_hit()'s on the
 * exact values: it says -1 (ask the row) wherever rounding could. */
#include <math.h>
#include <ogr_api.h>
#include <string.h>

#include "catalog/search_int.h"
#include "core/error.h"

/* ---- exact footprint test (SQL function) --------------------------------- */

static int boxes_meet(const double a[4], const double b[4]) {
  return a[0] <= b[2] && a[2] >= b[0] && a[1] <= b[3] && a[3] >= b[1];
}

static OGRGeometryH box_geom(const double b[4]) {
  OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
  OGR_G_AddPoint_2D(ring, b[0], b[1]);
  OGR_G_AddPoint_2D(ring, b[2], b[1]);
  OGR_G_AddPoint_2D(ring, b[2], b[3]);
  OGR_G_AddPoint_2D(ring, b[0], b[3]);
  OGR_G_AddPoint_2D(ring, b[0], b[1]);
  OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
  OGR_G_AddGeometryDirectly(poly, ring);
  return poly;
}

/* A bbox as one box, or two when it crosses the antimeridian. */
int swath__split_box(const double b[4], double out[2][4]) {
  if (b[0] <= b[2]) {
    memcpy(out[0], b, sizeof out[0]);
    return 1;
  }
  double w[4] = {b[0], b[1], 180.0, b[3]}, e[4] = {-180.0, b[1], b[2], b[3]};
  memcpy(out[0], w, sizeof w);
  memcpy(out[1], e, sizeof e);
  return 2;
}

static OGRGeometryH boxes_geom(double b[][4], int n) {
  if (n == 1) return box_geom(b[0]);
  OGRGeometryH m = OGR_G_CreateGeometry(wkbMultiPolygon);
  for (int k = 0; k < n; k++)
    OGR_G_AddGeometryDirectly(m, box_geom(b[k]));
  return m;
}

/* The search a SQL function of ours was given as its first argument (a
 * pointer bound by swath__sql_ptr), or NULL with the function's error set. */
static const struct swath_search *bound_search(sqlite3_context *ctx, sqlite3_value **argv) {
  const struct swath_search *q = sqlite3_value_pointer(argv[0], "swath_search");
  if (!q) sqlite3_result_error(ctx, "swath: SQL function called without a search bound", -1);
  return q;
}

/* swath_hit(search, geom, minx, miny, maxx, maxy): 1 if the item's footprint
 * meets the query's. */
static void fn_hit(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  const struct swath_search *q = bound_search(ctx, argv);
  if (!q) return;
  double b[4], items[2][4];
  for (int k = 0; k < 4; k++)
    b[k] = sqlite3_value_double(argv[2 + k]);
  int ni = swath__split_box(b, items), meet = 0;
  for (int i = 0; i < ni && !meet; i++)
    for (int p = 0; p < q->nparts && !meet; p++)
      meet = boxes_meet(items[i], q->parts[p]);
  const void *wkb = sqlite3_value_blob(argv[1]);
  int wkb_len = sqlite3_value_bytes(argv[1]);
  if (!meet || (q->is_box && !wkb)) {
    sqlite3_result_int(ctx, meet);
    return;
  }
  if (!q->prep) {
    /* a box query meeting an item that is not a box: GEOS from now on (the
     * search is used by one thread at a time, as its connection is) */
    struct swath_search *w = (struct swath_search *)q;
    if (!w->geom) w->geom = boxes_geom(w->parts, w->nparts);
    if (!w->geom || !(w->prep = OGRCreatePreparedGeometry(w->geom))) {
      sqlite3_result_error(ctx, "search: cannot prepare the geometry (GDAL built without GEOS?)",
                           -1);
      return;
    }
  }
  OGRGeometryH g = NULL;
  if (wkb) {
    if (OGR_G_CreateFromWkb(wkb, NULL, &g, wkb_len) != OGRERR_NONE) g = NULL;
  } else {
    g = boxes_geom(items, ni);
  }
  sqlite3_result_int(ctx, g ? OGRPreparedGeometryIntersects(q->prep, g) != 0 : 0);
  if (g) OGR_G_DestroyGeometry(g);
}

/* ---- R*Tree entries ---------------------------------------------------------- */

/* How far a value SQLite stored in the R*Tree may lie from the double it was
 * given: it rounds outwards to float32 (when a plain cast rounds the wrong
 * way, by multiplying by 1 -+ 2^-23, see rtreeValueDown in SQLite's rtree.c;
 * rtree_pack.c takes the next float), so under 2.4e-7 of the value. */
static double f32_slack(double v) { return fabs(v) * 5e-7 + 1e-30; }

/* 1 / 0 when a box-footprint item certainly meets / misses part p, from its
 * R*Tree entry e (minx, maxx, miny, maxy as stored: rounded outwards, maxx
 * beyond 180 for an item across the antimeridian); -1 when the rounding
 * leaves it open. The same test as swath_hit on the exact values. */
static int entry_meets(const double e[4], const double p[4]) {
  double x0 = e[0], x1 = e[1], y0 = e[2], y1 = e[3], sx0 = f32_slack(x0), sx1 = f32_slack(x1);
  /* the exact south is in [y0, y0 + slack], the exact north in [y1 - slack, y1] */
  if (y0 > p[3] || y1 < p[1]) return 0;
  int y_sure = y0 + f32_slack(y0) <= p[3] && y1 - f32_slack(y1) >= p[1];
  /* an exact maxx of 180 can be either kind of item: the row says */
  if (x1 >= 180 && x1 - sx1 <= 180) return -1;
  int sure, miss;
  if (x1 < 180) { /* [west, east] */
    miss = x0 > p[2] || x1 < p[0];
    sure = x0 + sx0 <= p[2] && x1 - sx1 >= p[0];
  } else { /* across: [west, 180] and [-180, east], east = maxx - 360 */
    miss = x0 > p[2] && x1 - 360 < p[0];
    sure = x0 + sx0 <= p[2] || x1 - sx1 - 360 >= p[0];
  }
  if (miss) return 0;
  return sure && y_sure ? 1 : -1;
}

/* The same for the datetime filter, on the entry's t0, t1 (days). */
static int entry_in_time(const swath_search *q, double t0, double t1) {
  int open = 0;
  if (q->has_t0) { /* dt1 >= q->t0 */
    double t = (double)q->t0 / SWATH_DAY_MS;
    if (t1 < t) return 0;
    if (t1 - f32_slack(t1) < t) open = 1;
  }
  if (q->has_t1) { /* dt0 <= q->t1 */
    double t = (double)q->t1 / SWATH_DAY_MS;
    if (t0 > t) return 0;
    if (t0 + f32_slack(t0) > t) open = 1;
  }
  return open ? -1 : 1;
}

/* 1 / 0 when the item of R*Tree entry e (minx, maxx, miny, maxy, t0, t1)
 * certainly matches / misses q's parts and datetime filter; -1 when only
 * its row can tell. For a catalog of box footprints (boxes_only). */
int swath__entry_test(const swath_search *q, const double e[6]) {
  int hit = 0;
  for (int p = 0; p < q->nparts && hit < 1; p++) {
    int m = entry_meets(e, q->parts[p]);
    if (m) hit = m;
  }
  if (!hit) return 0;
  int t = entry_in_time(q, e[4], e[5]);
  return !t ? 0 : hit < 0 || t < 0 ? -1 : 1;
}

/* swath_entry(search, minx, maxx, miny, maxy, t0, t1): swath__entry_test in SQL. */
static void fn_entry(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  const struct swath_search *q = bound_search(ctx, argv);
  if (!q) return;
  double e[6];
  for (int k = 0; k < 6; k++)
    e[k] = sqlite3_value_double(argv[1 + k]);
  sqlite3_result_int(ctx, swath__entry_test(q, e));
}

int swath__search_register(sqlite3 *db) {
  if (sqlite3_create_function(db, "swath_hit", 6, SQLITE_UTF8, NULL, fn_hit, NULL, NULL) ||
      sqlite3_create_function(db, "swath_entry", 7, SQLITE_UTF8, NULL, fn_entry, NULL, NULL))
    return swath__sql_error(db, "catalog: registering functions");
  return 0;
}
