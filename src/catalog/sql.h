/* sql.h: the SQLite helpers every catalog file shares, and nothing else:
 * SQL text built with its bound values (the search and the CQL2 filters
 * write it), error messages from SQLite, and the connection's cache of
 * prepared read statements. sql.c depends on no other catalog file, so
 * store.c, rtree_pack.c, stats.c, cql2.c and the search files all call it
 * and none of them calls back into another for these. */
#ifndef SWATH_CATALOG_SQL_H
#define SWATH_CATALOG_SQL_H

#include <sqlite3.h>
#include <stdint.h>

#include "catalog/catalog.h"

/* ---- errors and plain statements ------------------------------------------ */
/* SQLite failure as SWATH_EIO with the library's message and `what`. */
int swath__sql_error(sqlite3 *db, const char *what);
int swath__exec(sqlite3 *db, const char *sql);
/* qsort/bsearch order of int64_t values (sorted rid lists). */
int swath__cmp_i64(const void *a, const void *b);

/* ---- the connection's statement cache -------------------------------------- */
/* A prepared statement for sql (len bytes), from the connection's cache
 * when the same text was prepared before and is not in use: searches of
 * one shape differ only in bound values, so a server thread parses each
 * shape once. Give it back with swath__stmt_put (reset, bindings cleared,
 * kept) instead of sqlite3_finalize. */
int swath__stmt_get(swath_catalog *c, const char *sql, int len, const char *what,
                    sqlite3_stmt **out);
void swath__stmt_put(swath_catalog *c, sqlite3_stmt *st);
void swath__stmt_cache_clear(swath_catalog *c);

/* ---- SQL text with its bound values -------------------------------------- */
typedef struct swath__sqlval {
  int type; /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_NULL (pointer) */
  int64_t i;
  double d;
  char *t;
  void *p;
} swath__sqlval;

typedef struct swath__sql {
  char *s;
  size_t len, cap;
  swath__sqlval *v;
  int nv, capv;
  int oom;
} swath__sql;

void swath__sql_add(swath__sql *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void swath__sql_int(swath__sql *q, int64_t v); /* appends "?" and binds v */
void swath__sql_double(swath__sql *q, double v);
void swath__sql_text(swath__sql *q, const char *v);
void swath__sql_ptr(swath__sql *q, void *p); /* sqlite3_bind_pointer, type "swath_search" */
void swath__sql_clear(swath__sql *q);
void swath__sql_append(swath__sql *q, const swath__sql *more); /* text and values */
/* Prepare the text and bind every value. */
int swath__sql_prepare(sqlite3 *db, const swath__sql *q, sqlite3_stmt **out);
/* The same through the connection's statement cache: give the statement
 * back with swath__stmt_put. */
int swath__sql_prepare_cached(swath_catalog *c, const swath__sql *q, sqlite3_stmt **out);
/* The one integer a counting statement s yields (then cleared); -1 with
 * *rc set on error. */
int64_t swath__sql_count(swath_catalog *c, swath__sql *s, int *rc);

#endif
