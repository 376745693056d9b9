/* sql.c: the SQLite helpers the catalog's files share (sql.h): errors,
 * the connection's statement cache, and SQL text built together with its
 * bound values. It calls no other catalog file.
 *
 * Invariants: a swath__sql's text holds exactly one "?" per value, in
 * order (swath__sql_append relies on it), and after an allocation failure
 * it only records `oom` (the prepare reports it), so builders need not
 * check each append. A cached statement is lent to one user at a time
 * (busy) and comes back reset with its bindings cleared. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "catalog/sql.h"
#include "core/error.h"
#include "core/log.h"

/* ---- errors and plain statements -------------------------------------------- */

int swath__sql_error(sqlite3 *db, const char *what) {
  int code = db ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
    return swath_error_set(SWATH_EIO, "%s: the catalog is locked by another writer (%s)", what,
                           db ? sqlite3_errmsg(db) : "?");
  return swath_error_set(SWATH_EIO, "%s: %s", what, db ? sqlite3_errmsg(db) : "cannot open");
}

int swath__exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    int rc = swath_error_set(SWATH_EIO, "catalog: %s (in: %.60s)", err ? err : "?", sql);
    sqlite3_free(err);
    return rc;
  }
  return 0;
}

int swath__cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* ---- the connection's statement cache ----------------------------------- */

int swath__stmt_get(swath_catalog *c, const char *sql, int len, const char *what,
                    sqlite3_stmt **out) {
  *out = NULL;
  struct swath__stmt_slot *free_slot = NULL, *lru = NULL;
  for (int k = 0; k < SWATH__STMT_CACHE; k++) {
    struct swath__stmt_slot *s = &c->stc[k];
    if (!s->st) {
      if (!free_slot) free_slot = s;
      continue;
    }
    if (!s->busy && s->len == len && !memcmp(s->sql, sql, (size_t)len)) {
      s->busy = 1;
      s->used = ++c->stc_clock;
      *out = s->st;
      return 0;
    }
    if (!s->busy && (!lru || s->used < lru->used)) lru = s;
  }
  sqlite3_stmt *st;
  if (sqlite3_prepare_v3(c->db, sql, len, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
    return swath__sql_error(c->db, what);
  struct swath__stmt_slot *s = free_slot ? free_slot : lru;
  char *copy = s ? malloc((size_t)len + 1) : NULL;
  if (copy) {
    if (s->st) {
      sqlite3_finalize(s->st);
      free(s->sql);
    }
    memcpy(copy, sql, (size_t)len);
    copy[len] = '\0';
    s->sql = copy;
    s->len = len;
    s->st = st;
    s->busy = 1;
    s->used = ++c->stc_clock;
  }
  *out = st; /* not cached when every slot is busy: swath__stmt_put finalizes it */
  return 0;
}

void swath__stmt_put(swath_catalog *c, sqlite3_stmt *st) {
  if (!st) return;
  for (int k = 0; k < SWATH__STMT_CACHE; k++)
    if (c->stc[k].st == st) {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      c->stc[k].busy = 0;
      return;
    }
  sqlite3_finalize(st);
}

void swath__stmt_cache_clear(swath_catalog *c) {
  for (int k = 0; k < SWATH__STMT_CACHE; k++) {
    if (c->stc[k].st) sqlite3_finalize(c->stc[k].st);
    free(c->stc[k].sql);
    memset(&c->stc[k], 0, sizeof c->stc[k]);
  }
}

/* ---- SQL text with its bound values ------------------------------------ */

static void sql_reserve(swath__sql *q, size_t more) {
  if (q->oom || q->len + more + 1 <= q->cap) return;
  size_t cap = q->cap ? q->cap : 512;
  while (cap < q->len + more + 1)
    cap *= 2;
  char *s = realloc(q->s, cap);
  if (!s) {
    q->oom = 1;
    return;
  }
  q->s = s;
  q->cap = cap;
}

void swath__sql_add(swath__sql *q, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  sql_reserve(q, (size_t)n);
  if (q->oom) return;
  va_start(ap, fmt);
  vsnprintf(q->s + q->len, q->cap - q->len, fmt, ap);
  va_end(ap);
  q->len += (size_t)n;
}

static swath__sqlval *sql_val(swath__sql *q) {
  if (q->oom) return NULL;
  if (q->nv == q->capv) {
    int cap = q->capv ? 2 * q->capv : 16;
    swath__sqlval *v = realloc(q->v, cap * sizeof *v);
    if (!v) {
      q->oom = 1;
      return NULL;
    }
    q->v = v;
    q->capv = cap;
  }
  swath__sqlval *v = &q->v[q->nv++];
  memset(v, 0, sizeof *v);
  swath__sql_add(q, "?");
  return v;
}

void swath__sql_int(swath__sql *q, int64_t x) {
  swath__sqlval *v = sql_val(q);
  if (v) v->type = SQLITE_INTEGER, v->i = x;
}

void swath__sql_double(swath__sql *q, double x) {
  swath__sqlval *v = sql_val(q);
  if (v) v->type = SQLITE_FLOAT, v->d = x;
}

void swath__sql_text(swath__sql *q, const char *x) {
  swath__sqlval *v = sql_val(q);
  if (!v) return;
  v->type = SQLITE_TEXT;
  if (!(v->t = strdup(x))) q->oom = 1;
}

void swath__sql_ptr(swath__sql *q, void *p) {
  swath__sqlval *v = sql_val(q);
  if (v) v->type = SQLITE_NULL, v->p = p;
}

void swath__sql_append(swath__sql *q, const swath__sql *more) {
  if (!more->len) return;
  /* the text has one "?" per value, in order: copy them in step */
  const char *s = more->s;
  for (int k = 0; k < more->nv; k++) {
    const char *p = strchr(s, '?');
    swath__sql_add(q, "%.*s", (int)(p - s), s);
    const swath__sqlval *v = &more->v[k];
    if (v->type == SQLITE_INTEGER)
      swath__sql_int(q, v->i);
    else if (v->type == SQLITE_FLOAT)
      swath__sql_double(q, v->d);
    else if (v->type == SQLITE_TEXT)
      swath__sql_text(q, v->t);
    else
      swath__sql_ptr(q, v->p);
    s = p + 1;
  }
  swath__sql_add(q, "%s", s);
}

void swath__sql_clear(swath__sql *q) {
  for (int k = 0; k < q->nv; k++)
    free(q->v[k].t);
  free(q->v);
  free(q->s);
  memset(q, 0, sizeof *q);
}

static void sql_log(const swath__sql *q) {
  if (swath_log_get_level() <= SWATH_LOG_DEBUG) {
    swath_debug("sql: %.*s", (int)q->len, q->s);
    for (int k = 0; k < q->nv; k++)
      swath_debug("sql: ?%d = %s%lld %.17g %s", k + 1,
                  q->v[k].type == SQLITE_NULL ? "(pointer) " : "", (long long)q->v[k].i, q->v[k].d,
                  q->v[k].t ? q->v[k].t : "");
  }
}

static void sql_bind(sqlite3_stmt *st, const swath__sql *q) {
  for (int k = 0; k < q->nv; k++) {
    const swath__sqlval *v = &q->v[k];
    if (v->type == SQLITE_INTEGER)
      sqlite3_bind_int64(st, k + 1, v->i);
    else if (v->type == SQLITE_FLOAT)
      sqlite3_bind_double(st, k + 1, v->d);
    else if (v->type == SQLITE_TEXT)
      sqlite3_bind_text(st, k + 1, v->t, -1, SQLITE_TRANSIENT);
    else
      sqlite3_bind_pointer(st, k + 1, v->p, "swath_search", NULL);
  }
}

int swath__sql_prepare(sqlite3 *db, const swath__sql *q, sqlite3_stmt **out) {
  *out = NULL;
  if (q->oom) return swath_error_set(SWATH_ENOMEM, "search: out of memory");
  sql_log(q);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, q->s, (int)q->len, &st, NULL) != SQLITE_OK)
    return swath__sql_error(db, "search");
  sql_bind(st, q);
  *out = st;
  return 0;
}

int swath__sql_prepare_cached(swath_catalog *c, const swath__sql *q, sqlite3_stmt **out) {
  *out = NULL;
  if (q->oom) return swath_error_set(SWATH_ENOMEM, "search: out of memory");
  sql_log(q);
  sqlite3_stmt *st;
  int rc = swath__stmt_get(c, q->s, (int)q->len, "search", &st);
  if (rc) return rc;
  sql_bind(st, q);
  *out = st;
  return 0;
}

int64_t swath__sql_count(swath_catalog *c, swath__sql *s, int *rc) {
  sqlite3_stmt *st;
  int64_t n = -1;
  if (!(*rc = swath__sql_prepare_cached(c, s, &st))) {
    if (sqlite3_step(st) == SQLITE_ROW)
      n = sqlite3_column_int64(st, 0);
    else
      *rc = swath__sql_error(c->db, "search: counting");
    swath__stmt_put(c, st);
  }
  swath__sql_clear(s);
  return n;
}
