/* search_sql.c: the SQL of a search. The driving set of candidate rows is
 * the ids given, else the R*Tree hits of the bbox/geometry parts (looked up
 * as they are and shifted by 360 degrees, for items across the
 * antimeridian), else the datetime index (bounded through the longest item
 * span), else all items; then the exact tests (swath_hit(), datetime
 * intervals, collections, the filter) and, when paging, the keyset
 * condition: strictly after the sort values and rid of the token's item.
 * Values are always bound, never written into the text, so a search shape
 * is one cached statement however its values change. */
#include <stdio.h>
#include <string.h>

#include "catalog/search_int.h"
#include "core/error.h"

#define NULL_HIGH "1e308"
#define NULL_LOW "-1e308"

const char *swath__search_key_expr(const struct sortkey *k, char *buf, size_t n) {
  if (k->type != 'n') return k->col; /* ids, collections and times are never NULL */
  /* unknown values (no cloud cover, no colour yet) sort last either way */
  snprintf(buf, n, "coalesce(%s, %s)", k->col, k->desc ? NULL_LOW : NULL_HIGH);
  return buf;
}

int64_t swath__search_max_span(swath_catalog *c) {
  static const char sql[] = "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'max_span'";
  sqlite3_stmt *st;
  int64_t v = 0;
  if (swath__stmt_get(c, sql, (int)sizeof sql - 1, "search", &st) == 0) {
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    swath__stmt_put(c, st);
  } else {
    swath_error_clear();
  }
  return v;
}

/* The R*Tree conditions of lookup k of q's parts (k / 2: the part; odd k:
 * shifted by 360 degrees, see swath__search_from_where), and of a datetime slice. */
void swath__search_rtree_where(const swath_search *q, int k, const int64_t *slice, swath__sql *s) {
  double shift = k % 2 ? 360.0 : 0.0;
  const double *part = q->parts[k / 2];
  swath__sql_add(s, "minx <= ");
  swath__sql_double(s, part[2] + shift);
  if (k % 2) {
    swath__sql_add(s, " AND minx > ");
    swath__sql_double(s, part[2]);
  }
  swath__sql_add(s, " AND maxx >= ");
  swath__sql_double(s, part[0] + shift);
  swath__sql_add(s, " AND miny <= ");
  swath__sql_double(s, part[3]);
  swath__sql_add(s, " AND maxy >= ");
  swath__sql_double(s, part[1]);
  if (q->has_t0) {
    swath__sql_add(s, " AND t1 >= ");
    swath__sql_double(s, (double)q->t0 / SWATH_DAY_MS);
  }
  if (q->has_t1) {
    swath__sql_add(s, " AND t0 <= ");
    swath__sql_double(s, (double)q->t1 / SWATH_DAY_MS);
  }
  if (slice) { /* dt0 <= dt <= dt1: the entry's time range meets the slice */
    swath__sql_add(s, " AND t1 >= ");
    swath__sql_double(s, (double)slice[0] / SWATH_DAY_MS);
    swath__sql_add(s, " AND t0 <= ");
    swath__sql_double(s, (double)slice[1] / SWATH_DAY_MS);
  }
}

/* The exact test of items row `a` (an alias) of a spatial search: its
 * footprint, and its time range against the datetime filter. */
void swath__search_row_test(const swath_search *q, const char *a, swath__sql *s) {
  swath__sql_add(s, "swath_hit(");
  swath__sql_ptr(s, (void *)q);
  swath__sql_add(s, ", %s.geom, %s.minx, %s.miny, %s.maxx, %s.maxy)", a, a, a, a, a);
  if (q->has_t0) {
    swath__sql_add(s, " AND %s.dt1 >= ", a);
    swath__sql_int(s, q->t0);
  }
  if (q->has_t1) {
    swath__sql_add(s, " AND %s.dt0 <= ", a);
    swath__sql_int(s, q->t1);
  }
}

/* " FROM ... WHERE ..." for q; with the keyset condition when paging, and
 * only items with slice[0] <= dt <= slice[1] when slice is given (see
 * run_sliced). With `narrow` (a search swath__search_rtree_narrow allows), `i` is not the
 * items table but the R*Tree entries' copies of rid, dt, id and collection
 * (catalog_int.h): the entries of one area lie together there, where their
 * items rows are scattered over the table. */
void swath__search_from_where(swath_catalog *c, const swath_search *q, int narrow, int keyset,
                              const int64_t *slice, swath__sql *s) {
  int spatial = q->nparts > 0;
  if (q->ids_json) {
    swath__sql_add(s, " FROM (SELECT DISTINCT value AS v FROM json_each(");
    swath__sql_text(s, q->ids_json);
    swath__sql_add(s, ")) j CROSS JOIN items i ON i.id = j.v");
  } else if (spatial) {
    /* Items crossing the antimeridian are indexed over [west, east + 360],
     * so each part is looked up as it is and shifted by 360 degrees. The
     * shifted lookup leaves out what the plain one finds (minx <= east), so
     * one part needs no de-duplication (UNION ALL streams; UNION would
     * build a temporary index); the two parts of a query crossing the
     * antimeridian do. */
    swath__sql_add(s, narrow ? " FROM (SELECT x.a0 AS rid, x.a1 AS dt, x.a2 AS id, x.a3 AS "
                               "collection FROM ("
                             : " FROM (");
    for (int p = 0; p < 2 * q->nparts; p++) {
      swath__sql_add(s, "%sSELECT k%s FROM items_rtree WHERE ",
                     !p              ? ""
                     : q->nparts > 1 ? " UNION "
                                     : " UNION ALL ",
                     narrow ? ", minx, maxx, miny, maxy, t0, t1" : "");
      swath__search_rtree_where(q, p, slice, s);
    }
    swath__sql_add(s, ") r CROSS JOIN items_rtree_rowid x ON x.rowid = r.k");
    if (narrow) {
      /* the entry decides, unless its rounded bounds leave it open */
      swath__sql_add(s, " WHERE coalesce(nullif(swath_entry(");
      swath__sql_ptr(s, (void *)q);
      swath__sql_add(s, ", r.minx, r.maxx, r.miny, r.maxy, r.t0, r.t1), -1), (SELECT ");
      swath__search_row_test(q, "e", s);
      swath__sql_add(s, " FROM items e WHERE e.rid = x.a0))) i");
    } else {
      swath__sql_add(s, " CROSS JOIN items i ON i.rid = x.a0");
    }
  } else {
    swath__sql_add(s, " FROM items i");
  }
  swath__sql_add(s, " WHERE 1");
  if (slice) {
    swath__sql_add(s, " AND i.dt BETWEEN ");
    swath__sql_int(s, slice[0]);
    swath__sql_add(s, " AND ");
    swath__sql_int(s, slice[1]);
  }
  if (spatial) {
    if (!narrow) {
      swath__sql_add(s, " AND ");
      swath__search_row_test(q, "i", s);
    }
  } else if (q->has_t0 || q->has_t1) {
    int64_t span = !q->ids_json ? swath__search_max_span(c) : -1;
    if (q->has_t0) {
      swath__sql_add(s, " AND i.dt1 >= ");
      swath__sql_int(s, q->t0);
    }
    if (q->has_t1) {
      swath__sql_add(s, " AND i.dt0 <= ");
      swath__sql_int(s, q->t1);
    }
    /* dt0 <= dt <= dt1 and dt1 - dt0 <= span bound dt, so the datetime
     * index can drive the scan */
    if (span >= 0 && q->has_t0) {
      swath__sql_add(s, " AND i.dt >= ");
      swath__sql_int(s, q->t0 - span);
    }
    if (span >= 0 && q->has_t1) {
      swath__sql_add(s, " AND i.dt <= ");
      swath__sql_int(s, q->t1 + span);
    }
  }
  if (q->colls_json) {
    swath__sql_add(s, " AND i.collection IN (SELECT value FROM json_each(");
    swath__sql_text(s, q->colls_json);
    swath__sql_add(s, "))");
  }
  if (q->collection) {
    swath__sql_add(s, " AND i.collection = ");
    swath__sql_text(s, q->collection);
  }
  swath__sql_append(s, &q->filter);
  if (!keyset || !q->token) return;

  /* keyset: strictly after the last item of the previous page */
  char buf[MAX_SORT][64];
  const char *e[MAX_SORT + 1];
  int same = 1;
  for (int k = 0; k < q->nsort; k++) {
    e[k] = swath__search_key_expr(&q->sort[k], buf[k], sizeof buf[k]);
    same &= q->sort[k].desc == q->sort[0].desc;
  }
  e[q->nsort] = "i.rid";
  int n = q->nsort + 1, last_desc = q->sort[q->nsort - 1].desc;
#define BIND_KEY(k)                                                                                \
  do {                                                                                             \
    json_t *v_ = json_array_get(q->token, (k) + 1);                                                \
    if (json_is_string(v_))                                                                        \
      swath__sql_text(s, json_string_value(v_));                                                   \
    else if (json_is_integer(v_))                                                                  \
      swath__sql_int(s, json_integer_value(v_));                                                   \
    else                                                                                           \
      swath__sql_double(s, json_number_value(v_));                                                 \
  } while (0)
  if (same) {
    const char *op = q->sort[0].desc ? "<" : ">";
    /* the first key alone lets an index bound the scan */
    swath__sql_add(s, " AND %s %s= ", e[0], op);
    BIND_KEY(0);
    swath__sql_add(s, " AND (");
    for (int k = 0; k < n; k++)
      swath__sql_add(s, "%s%s", k ? ", " : "", e[k]);
    swath__sql_add(s, ") %s (", op);
    for (int k = 0; k < n; k++) {
      if (k) swath__sql_add(s, ", ");
      BIND_KEY(k);
    }
    swath__sql_add(s, ")");
  } else {
    swath__sql_add(s, " AND (");
    for (int k = 0; k < n; k++) {
      swath__sql_add(s, "%s(", k ? " OR " : "");
      for (int j = 0; j < k; j++) {
        swath__sql_add(s, "%s = ", e[j]);
        BIND_KEY(j);
        swath__sql_add(s, " AND ");
      }
      int desc = k < q->nsort ? q->sort[k].desc : last_desc;
      swath__sql_add(s, "%s %s ", e[k], desc ? "<" : ">");
      BIND_KEY(k);
      swath__sql_add(s, ")");
    }
    swath__sql_add(s, ")");
  }
#undef BIND_KEY
}

void swath__search_order_by(const swath_search *q, swath__sql *s) {
  char buf[64];
  swath__sql_add(s, " ORDER BY ");
  for (int k = 0; k < q->nsort; k++)
    swath__sql_add(s, "%s%s", swath__search_key_expr(&q->sort[k], buf, sizeof buf),
                   q->sort[k].desc ? " DESC, " : ", ");
  swath__sql_add(s, "i.rid%s", q->sort[q->nsort - 1].desc ? " DESC" : "");
}

int swath__search_check_collections(swath_catalog *c, const swath_search *q) {
  if (!q->colls_json) return 0;
  static const char sql[] = "SELECT j.value FROM json_each(?1) j WHERE NOT EXISTS (SELECT 1 FROM "
                            "collections WHERE id = j.value) LIMIT 1";
  sqlite3_stmt *st;
  int rc = swath__stmt_get(c, sql, (int)sizeof sql - 1, "search", &st);
  if (rc) return rc;
  sqlite3_bind_text(st, 1, q->colls_json, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW)
    rc = swath_error_set(SWATH_EINVAL, "collections: unknown collection '%s'",
                         sqlite3_column_text(st, 0));
  swath__stmt_put(c, st);
  return rc;
}

int swath__search_prepare_all(swath_catalog *c, const swath_search *q, const char *cols,
                              sqlite3_stmt **out) {
  int rc = swath__search_check_collections(c, q);
  if (rc) return rc;
  swath__sql s = {0};
  swath__sql_add(&s, "SELECT %s", cols);
  swath__search_from_where(c, q, 0, 0, NULL, &s);
  swath__sql_add(&s, " ORDER BY i.rid");
  rc = swath__sql_prepare(c->db, &s, out);
  swath__sql_clear(&s);
  return rc;
}
