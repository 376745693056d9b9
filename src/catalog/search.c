/* search.c: running a STAC item search over the catalog: the page, its
 * paging token, numberMatched, and the ItemCollection. The other steps
 * live beside it (search_int.h lists them).
 *
 * Both front ends (CLI flags, HTTP GET parameters or POST body) become one
 * search body of the STAC POST /search shape, parsed once (search_parse.c);
 * so the CLI and the server answer the same question the same way.
 *
 * How a query runs: a driving set of candidate rows (the ids given, else the
 * R*Tree hits of the bbox/geometry parts, else the datetime index, else all
 * items), then exact tests in SQL: swath_hit() tests footprints exactly (a
 * box against a box, or GEOS prepared-geometry intersects when the query or
 * the item is not a box), datetime intervals, collections, the filter.
 * In a catalog whose footprints are all boxes, a search on boxes, datetime
 * and collections skips the rows: the R*Tree entries decide (swath_entry()
 * on their float32 bounds, the row only when rounding leaves it open) and
 * carry the id, collection and datetime a page is sorted and built from
 * (swath__search_rtree_narrow). Paging is keyset paging: the token holds the sort key
 * values and the rid of the last item returned, so each page starts
 * strictly after it: no duplicates or gaps however the table grows in
 * between (an item changed between pages may move, as with any live
 * index). */
#include <cpl_string.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/search_int.h"
#include "core/error.h"

#define NARROW_MS (62 * 86400000LL) /* a datetime filter this short is not sliced */

/* When ranking by colour: say if the values being compared were computed
 * in different ways, or are missing for some items. */
static int color_warnings(swath_catalog *c, const swath_search *q, swath_page *page) {
  int uses = 0;
  for (int k = 0; k < q->nsort; k++)
    uses |= !strncmp(q->sort[k].name, "color:", 6);
  if (!uses) return 0;
  swath__sql s = {0};
  swath__sql_add(&s, "SELECT count(*), count(i.red), count(DISTINCT i.cmethod), "
                     "group_concat(DISTINCT i.cmethod)");
  swath__search_from_where(c, q, 0, 0, NULL, &s);
  sqlite3_stmt *st;
  int rc = swath__sql_prepare_cached(c, &s, &st);
  swath__sql_clear(&s);
  if (rc) return rc;
  if (sqlite3_step(st) == SQLITE_ROW) {
    int64_t all = sqlite3_column_int64(st, 0), with = sqlite3_column_int64(st, 1);
    int methods = sqlite3_column_int(st, 2);
    const char *list = (const char *)sqlite3_column_text(st, 3);
    char msg[512];
    if (methods > 1) {
      snprintf(msg, sizeof msg,
               "colour ranking mixes statistics computed with different methods (%s); filter on "
               "color:method to rank like with like",
               list ? list : "");
      if (!page->warnings) page->warnings = json_array();
      json_array_append_new(page->warnings, json_string(msg));
    }
    if (with < all) {
      snprintf(msg, sizeof msg,
               "%lld of %lld matched items have no colour statistics and sort last (run 'swath "
               "catalog stats')",
               (long long)(all - with), (long long)all);
      if (!page->warnings) page->warnings = json_array();
      json_array_append_new(page->warnings, json_string(msg));
    }
  }
  swath__stmt_put(c, st);
  return 0;
}

/* The page being filled, from one statement or from several (run_sliced). */
struct pager {
  swath_catalog *c;
  const swath_search *q;
  const swath_search_opts *o;
  sqlite3_stmt *full; /* a full row by rid, unless ids only */
  swath_page *page;
  int n;             /* items on the page */
  int more;          /* a row after the page's last exists */
  double est;        /* matches expected over the search's datetime range (run_sliced) */
  int est_exact;     /* est is a count, not a guess */
  size_t ids_cap;    /* ids only: page->ids' allocated size */
  int narrow;        /* swath__search_from_where's: see swath__search_rtree_narrow */
  int csort;         /* narrow and sorted on datetime alone: see take_sorted */
  swath_jtext items; /* unless ids only: the page's items so far, "[" first */
};

/* The SELECT of a page: narrow records (row id, id, collection, sort keys).
 * Every candidate passes through the sort, so the full rows are read
 * afterwards, by row id, only for the page (in the same read snapshot: the
 * page's statement is still active). With a LIMIT (lim >= 0), SQLite keeps
 * the best lim rows in a B-tree as they come; without, it sorts them all
 * in its sorter, which costs a fifth as much per row: better when most
 * rows are wanted anyway. */
static void page_select(struct pager *pg, const int64_t *slice, int64_t lim, swath__sql *s) {
  const swath_search *q = pg->q;
  swath__sql_add(s, "SELECT i.rid, i.id, i.collection");
  char buf[64];
  for (int k = 0; k < q->nsort; k++)
    swath__sql_add(s, ", %s", swath__search_key_expr(&q->sort[k], buf, sizeof buf));
  swath__search_from_where(pg->c, q, pg->narrow, 1, slice, s);
  if (lim < 0 && pg->csort) return; /* take_sorted sorts */
  swath__search_order_by(q, s);
  if (lim < 0) return;
  swath__sql_add(s, " LIMIT ");
  swath__sql_int(s, lim);
}

static char *b64url_encode(const char *s) {
  char *e = CPLBase64Encode((int)strlen(s), (const GByte *)s);
  if (!e) return NULL;
  char *out = strdup(e);
  CPLFree(e);
  if (!out) return NULL;
  size_t w = 0;
  for (size_t k = 0; out[k]; k++) {
    if (out[k] == '=') continue;
    out[w++] = out[k] == '+' ? '-' : out[k] == '/' ? '_' : out[k];
  }
  out[w] = '\0';
  return out;
}

/* Appends the item of row rid (its id and collection) to the page; when
 * that fills the page, the next token holds `keys` (the row's sort values,
 * a JSON array: stolen) and rid. */
static int put_row(struct pager *pg, int64_t rid, const char *id, size_t nid, const char *coll,
                   size_t ncoll, json_t *keys) {
  int rc = 0;
  if (pg->o->ids_only) {
    /* (a JSON object per id cost more than the search: six allocations
     * made and freed each) */
    swath_page *pp = pg->page;
    if (!coll || !id) {
      rc = swath_error_set(SWATH_ENOMEM, "search: out of memory");
    } else if (pp->ids_len + ncoll + nid + 2 > pg->ids_cap) {
      size_t cap = 2 * (pp->ids_len + ncoll + nid + 2) + 4096;
      char *b = realloc(pp->ids, cap);
      if (b)
        pp->ids = b, pg->ids_cap = cap;
      else
        rc = swath_error_set(SWATH_ENOMEM, "search: out of memory");
    }
    if (!rc) {
      memcpy(pp->ids + pp->ids_len, coll, ncoll + 1);
      memcpy(pp->ids + pp->ids_len + ncoll + 1, id, nid + 1);
      pp->ids_len += ncoll + nid + 2;
    }
  } else {
    swath__row row;
    sqlite3_bind_int64(pg->full, 1, rid);
    if (sqlite3_step(pg->full) != SQLITE_ROW) {
      rc = swath__sql_error(pg->c->db, "search");
    } else {
      swath__row_read(pg->full, 0, &row);
      if (pg->n) swath_jtext_lit(&pg->items, ",");
      rc = swath__item_write(&row, pg->o->links_base, &pg->items);
    }
    sqlite3_reset(pg->full);
  }
  if (!rc && ++pg->n == pg->q->limit) {
    json_t *t = json_array();
    json_array_append_new(t, json_string(pg->q->sortsig));
    json_array_extend(t, keys);
    json_array_append_new(t, json_integer(rid));
    char *raw = json_dumps(t, JSON_COMPACT);
    json_decref(t);
    free(pg->page->next_token);
    pg->page->next_token = raw ? b64url_encode(raw) : NULL;
    free(raw);
  }
  json_decref(keys);
  return rc;
}

/* Steps st (a page_select), appending its rows to the page until the page
 * is full; a row beyond that sets pg->more and leaves st on it. */
static int take_rows(struct pager *pg, sqlite3_stmt *st) {
  const swath_search *q = pg->q;
  int r, rc = 0;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    if (pg->n == q->limit) {
      pg->more = 1; /* the token resumes after the last row kept */
      break;
    }
    json_t *keys = NULL;
    if (pg->n + 1 == q->limit) {
      keys = json_array();
      for (int k = 0; k < q->nsort; k++) {
        int col = 3 + k;
        if (q->sort[k].type == 't')
          json_array_append_new(keys, json_string((const char *)sqlite3_column_text(st, col)));
        else if (q->sort[k].type == 'd')
          json_array_append_new(keys, json_integer(sqlite3_column_int64(st, col)));
        else
          json_array_append_new(keys, json_real(sqlite3_column_double(st, col)));
      }
    }
    rc = put_row(pg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
                 (size_t)sqlite3_column_bytes(st, 1), (const char *)sqlite3_column_text(st, 2),
                 (size_t)sqlite3_column_bytes(st, 2), keys);
    if (rc) break;
  }
  if (!rc && r != SQLITE_ROW && r != SQLITE_DONE) rc = swath__sql_error(pg->c->db, "search");
  return rc;
}

/* A row of take_sorted: its sort key, and its id and collection in text. */
struct srow {
  int64_t dt, rid;
  size_t at; /* id at text + at, then the collection */
  uint32_t nid, ncoll;
};

static int cmp_srow_asc(const void *a, const void *b) {
  const struct srow *x = a, *y = b;
  if (x->dt != y->dt) return x->dt < y->dt ? -1 : 1;
  return x->rid < y->rid ? -1 : x->rid > y->rid;
}

static int cmp_srow_desc(const void *a, const void *b) { return cmp_srow_asc(b, a); }

/* take_rows for a statement that reads the R*Tree's copies (pg->narrow),
 * sorted on datetime alone and not by SQL (pg->csort): its rows (a slice,
 * or all of few matches) are sorted here on (dt, rid), which costs a
 * fraction of SQLite's sorter (records built, merged, decoded again).
 * *total: the rows st gave. */
static int take_sorted(struct pager *pg, sqlite3_stmt *st, int64_t *total) {
  struct srow *rows = NULL;
  char *text = NULL;
  size_t n = 0, cap = 0, len = 0, tcap = 0;
  int r, rc = 0;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(st, 1);
    size_t nid = (size_t)sqlite3_column_bytes(st, 1);
    const char *coll = (const char *)sqlite3_column_text(st, 2);
    size_t ncoll = (size_t)sqlite3_column_bytes(st, 2);
    size_t need = len + nid + ncoll + 2;
    int ok = id && coll; /* (no text: SQLite ran out of memory) */
    if (ok && n == cap) {
      struct srow *a = realloc(rows, (2 * cap + 1024) * sizeof *a);
      if ((ok = a != NULL)) rows = a, cap = 2 * cap + 1024;
    }
    if (ok && need > tcap) {
      char *t = realloc(text, 2 * need + 65536);
      if ((ok = t != NULL)) text = t, tcap = 2 * need + 65536;
    }
    if (!ok) {
      rc = swath_error_set(SWATH_ENOMEM, "search: out of memory");
      break;
    }
    rows[n] = (struct srow){sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 0), len,
                            (uint32_t)nid, (uint32_t)ncoll};
    memcpy(text + len, id, nid + 1);
    memcpy(text + len + nid + 1, coll, ncoll + 1);
    len = need;
    n++;
  }
  if (!rc && r != SQLITE_DONE) rc = swath__sql_error(pg->c->db, "search");
  if (!rc && n) qsort(rows, n, sizeof *rows, pg->q->sort[0].desc ? cmp_srow_desc : cmp_srow_asc);
  for (size_t k = 0; k < n && !rc; k++) {
    if (pg->n == pg->q->limit) {
      pg->more = 1;
      break;
    }
    json_t *keys = NULL;
    if (pg->n + 1 == pg->q->limit) {
      keys = json_array();
      json_array_append_new(keys, json_integer(rows[k].dt));
    }
    const char *id = text + rows[k].at;
    rc = put_row(pg, rows[k].rid, id, rows[k].nid, id + rows[k].nid + 1, rows[k].ncoll, keys);
  }
  *total = (int64_t)n;
  free(rows);
  free(text);
  return rc;
}

/* A spatial search sorted on datetime, without sorting every match.
 *
 * In one statement, every R*Tree candidate is joined to its row and sorted
 * before the first item is known: a 10x10 degree box over a Sentinel-2
 * index has some 20,000 matches, about 100 ms, for a page of ten; and every
 * later page pays it again. Here the datetime range is walked in slices
 * from the end the sort starts at. Each slice runs the page's statement
 * with the R*Tree and the rows restricted to the slice (the R*Tree's time
 * dimension prunes the other entries before any row is read); slices
 * partition datetime, so their sorted rows follow each other in the sorted
 * result, and the walk stops once the page and one row more are found.
 * The first slice is sized for the page from pg->est, the matches expected
 * over the range (else 1/128 of the catalog's datetime range); each next
 * one from the matches per millisecond seen so far, at least twice as
 * wide, so a page costs about the rows it returns plus a few R*Tree
 * descents. (Widths are doubles: a range may span the int64 axis.)
 *
 * The range is the catalog's (two seeks in items_dt), narrowed by the
 * datetime filter (widened by the longest item span, as dt may lie anywhere
 * in [dt0, dt1]) and by the token's datetime when paging. */
static int run_sliced(struct pager *pg) {
  swath_catalog *c = pg->c;
  const swath_search *q = pg->q;
  static const char range_sql[] = "SELECT (SELECT min(dt) FROM items), (SELECT max(dt) FROM items)";
  sqlite3_stmt *st;
  int rc = swath__stmt_get(c, range_sql, (int)sizeof range_sql - 1, "search", &st);
  if (rc) return rc;
  int empty = sqlite3_step(st) != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL;
  int64_t lo = sqlite3_column_int64(st, 0), hi = sqlite3_column_int64(st, 1);
  swath__stmt_put(c, st);
  if (empty) return 0;
  double width = floor(((double)hi - (double)lo) / 128) + 1, walked = 0;
  int64_t span = (q->has_t0 || q->has_t1) ? swath__search_max_span(c) : 0;
  if (q->has_t0 && q->t0 - span > lo) lo = q->t0 - span;
  if (q->has_t1 && q->t1 + span < hi) hi = q->t1 + span;
  /* the first slice: sized for the page from the matches expected over the
   * range (spread evenly), else 1/128 of the catalog's range. A little
   * wider than that when the count is exact; when it is a guess from the
   * extents, a little narrower: rows beyond the page cost about what a
   * second slice's descent does, and that one is sized from the density
   * the first saw. */
  if (pg->est > 0)
    width = fmax(1, ceil(((double)hi - (double)lo + 1) * (q->limit + 1) / pg->est *
                         (pg->est_exact ? 1.15 : 0.8)));
  int desc = q->sort[0].desc;
  if (q->token) { /* keyset: the first key is the last page's datetime */
    int64_t last = json_integer_value(json_array_get(q->token, 1));
    if (desc && last < hi) hi = last;
    if (!desc && last > lo) lo = last;
  }
  if (lo > hi) return 0;
  /* a range that few slices would cover goes in one: each slice descends
   * the R*Tree again */
  if ((double)hi - (double)lo + 1 <= 4 * width) width = (double)hi - (double)lo + 1;
  int64_t found = 0;
  int64_t edge = desc ? hi : lo; /* where the next slice starts */
  for (;;) {
    int64_t slice[2];
    double w = fmin(width, desc ? (double)edge - (double)lo + 1 : (double)hi - (double)edge + 1);
    if (desc)
      slice[0] = w >= (double)edge - (double)lo + 1 ? lo : edge - (int64_t)w + 1, slice[1] = edge;
    else
      slice[0] = edge, slice[1] = w >= (double)hi - (double)edge + 1 ? hi : edge + (int64_t)w - 1;
    swath__sql s = {0};
    int before = pg->n;
    page_select(pg, slice, -1, &s); /* (a slice holds about what is wanted) */
    rc = swath__sql_prepare_cached(c, &s, &st);
    swath__sql_clear(&s);
    if (rc) return rc;
    int64_t all;
    rc = pg->csort ? take_sorted(pg, st, &all) : take_rows(pg, st);
    swath__stmt_put(c, st);
    if (rc || pg->more) return rc;
    found += pg->n - before;
    walked += (double)slice[1] - (double)slice[0] + 1;
    if (desc ? slice[0] == lo : slice[1] == hi) return 0;
    edge = desc ? slice[0] - 1 : slice[1] + 1;
    /* from the density seen; at least twice as wide while few rows tell it */
    double need = q->limit + 1 - pg->n, fit = ceil(need * walked / (double)found * 1.2);
    width = found >= 100 ? fit : found ? fmax(2 * width, fit) : 4 * width;
  }
}

int swath_search_run(swath_catalog *c, const swath_search *q, const swath_search_opts *o,
                     swath_page *page) {
  static const swath_search_opts defaults = {100000, 0, NULL};
  if (!o) o = &defaults;
  memset(page, 0, sizeof *page);
  page->matched = -1;
  int rc = swath__search_check_collections(c, q);
  if (rc) return rc;
  /* On a first page the rows after it are counted from the same statement
   * (its sorter already holds them) instead of running the search again;
   * only a search on collections alone is counted another way (see
   * swath__search_count_matches). */
  int64_t cap = o->count_limit;
  int scan_count = cap >= 0 && !q->token &&
                   (q->nparts || q->has_t0 || q->has_t1 || q->ids_json || q->filter.len);
  /* A datetime filter of a few weeks already confines the R*Tree's hits to
   * a few per footprint: then one statement (page and count in one pass)
   * costs less than slices and a count of their own (about 10% fewer
   * instructions per request for a 2x2 degree box and a month). */
  int short_window = q->has_t0 && q->has_t1 && q->t1 - q->t0 <= NARROW_MS;
  int sliceable = q->nparts && !q->ids_json && !short_window && !strcmp(q->sort[0].col, "i.dt");
  /* A count the R*Tree gives is taken first, and lets the page come from
   * datetime slices. Slices pay when the page is a small part of what the
   * search meets: so the R*Tree's count (or, without one, whether its
   * lookups meet more than two pages' worth of entries) decides. The
   * count, else the collections' extents, sizes the first slice. Counting
   * in the R*Tree costs about as much as the search's own descent, so a
   * search the extents say is small skips all that. */
  int rtree_count = cap >= 0 && swath__search_rtree_countable(c, q), sliced = 0;
  int few = 0;        /* known or guessed to match at most two pages' worth */
  int64_t known = -2; /* numberMatched, when counted before the page */
  struct pager pg = {c, q, o, NULL, page, 0, 0, 0, 0, 0, swath__search_rtree_narrow(c, q), 0, {0}};
  pg.csort = pg.narrow && q->nsort == 1 && !strcmp(q->sort[0].col, "i.dt");
  if (sliceable && (rtree_count || !scan_count)) {
    int64_t two = 2 * ((int64_t)q->limit + 1);
    double guess = swath__search_area_guess(c, q);
    /* (the guess is low where items cluster, as Sentinel-2 granules do on
     * land: hence the margin) */
    if (guess * 4 > (double)two) {
      int64_t est;
      if (rtree_count) {
        known = swath__search_count_rtree(c, q, cap, &rc);
        est = known < 0 ? INT64_MAX : known;
        scan_count = 0;
      } else {
        est = swath__search_rtree_candidates(c, q, two + 1, &rc);
        if (est > two) est = (int64_t)fmin(fmax(guess, (double)est), 1e18);
      }
      if (rc) return rc;
      sliced = est > two;
      pg.est = est < INT64_MAX ? (double)est : 0;
      pg.est_exact = rtree_count;
    }
    few = !sliced;
  }
  static const char full_sql[] = "SELECT " SWATH__ROW_COLS " FROM items i WHERE i.rid = ?1";
  if (!o->ids_only &&
      (rc = swath__stmt_get(c, full_sql, (int)sizeof full_sql - 1, "search", &pg.full)))
    return rc;
  pg.items.precision = SWATH_JSON_DIGITS;
  if (!o->ids_only) {
    /* (a Sentinel-2 item is about 10 KB) */
    swath_jtext_reserve(&pg.items, (size_t)(q->limit < 100 ? q->limit : 100) * 12000);
    swath_jtext_lit(&pg.items, "[");
  }
  int64_t counted = 0;
  if (sliced) {
    rc = run_sliced(&pg);
  } else {
    int64_t lim = q->limit + 1;
    /* no LIMIT (page_select) when every row is counted, or few match */
    if ((scan_count && cap == 0) || few)
      lim = -1;
    else if (scan_count && cap >= lim)
      lim = cap + 1;
    swath__sql s = {0};
    page_select(&pg, NULL, lim, &s);
    sqlite3_stmt *st;
    rc = swath__sql_prepare_cached(c, &s, &st);
    swath__sql_clear(&s);
    if (!rc && lim < 0 && pg.csort) {
      rc = take_sorted(&pg, st, &counted); /* (reads every row: they count) */
      swath__stmt_put(c, st);
    } else if (!rc) {
      rc = take_rows(&pg, st);
      counted = pg.n;
      if (!rc && scan_count && pg.more) { /* st is on the row after the page */
        int r = SQLITE_ROW;
        counted++;
        while ((cap == 0 || counted <= cap) && (r = sqlite3_step(st)) == SQLITE_ROW)
          counted++;
        if (r != SQLITE_ROW && r != SQLITE_DONE) rc = swath__sql_error(c->db, "search: counting");
      }
      swath__stmt_put(c, st);
    }
  }
  swath__stmt_put(c, pg.full);
  if (!o->ids_only) {
    swath_jtext_lit(&pg.items, "]");
    if (!rc && pg.items.failed) rc = swath_error_set(SWATH_ENOMEM, "search: out of memory");
    page->features = pg.items.p;
    page->features_len = pg.items.len;
  }
  if (!rc && !pg.more) { /* exactly `limit` rows or fewer: nothing after them */
    free(page->next_token);
    page->next_token = NULL;
  }
  page->returned = pg.n;
  if (!rc && known != -2)
    page->matched = known;
  else if (!rc && scan_count)
    page->matched = cap > 0 && counted > cap ? -1 : counted;
  else if (!rc && cap >= 0)
    page->matched = rtree_count ? swath__search_count_rtree(c, q, cap, &rc)
                                : swath__search_count_matches(c, q, pg.narrow, cap, &rc);
  if (!rc) rc = color_warnings(c, q, page);
  if (rc) swath_page_clear(page);
  return rc;
}

void swath_page_clear(swath_page *p) {
  free(p->features);
  free(p->ids);
  json_decref(p->warnings);
  free(p->next_token);
  memset(p, 0, sizeof *p);
  p->matched = -1;
}

int swath_page_write(const swath_page *p, const json_t *links, swath_jtext *out) {
  swath_jtext_reserve(out, p->features_len + 4096);
  swath_jtext_lit(out, "{\"type\":\"FeatureCollection\",\"features\":");
  if (p->features)
    swath_jtext_raw(out, p->features, p->features_len);
  else
    swath_jtext_lit(out, "[]");
  swath_jtext_lit(out, ",\"numberReturned\":");
  swath_jtext_int(out, p->returned);
  if (p->matched >= 0) {
    swath_jtext_lit(out, ",\"numberMatched\":");
    swath_jtext_int(out, (long long)p->matched);
  }
  swath_jtext_lit(out, ",\"links\":");
  if (links)
    swath_jtext_value(out, links);
  else
    swath_jtext_lit(out, "[]");
  if (p->warnings) {
    swath_jtext_lit(out, ",\"swath:warnings\":");
    swath_jtext_value(out, p->warnings);
  }
  swath_jtext_lit(out, "}");
  return out->failed ? swath_error_set(SWATH_ENOMEM, "search: out of memory") : 0;
}
