/* pg_conn.c: see pg_conn.h. The conninfo is kept only to connect again; it
 * never goes into a message. Every failure path leaves the connection
 * either usable and outside a transaction, or marked for reconnection. */
#include "engine/pg_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"

/* Tries of one call, and the pauses between them: 50 ms doubling to 2 s
 * (about 9 s in all: a pgbouncer restart takes well under one). */
#define PG_TRIES 10
#define PG_PAUSE_MS 50
#define PG_PAUSE_MAX_MS 2000

struct swath_pg {
  PGconn *c;
  char *conninfo;
  char where[256];
  char password[128]; /* blanked in messages */
  char sqlstate[6];
  int reconnects;
  int broken; /* connect again before the next statement */
};

const char *swath__pg_where(const swath_pg *pg) { return pg->where; }
int swath__pg_reconnects(const swath_pg *pg) { return pg->reconnects; }
const char *swath__pg_sqlstate(const swath_pg *pg) { return pg->sqlstate; }

/* libpq's text made one line, any password replaced by "***". */
static void clean_text(const swath_pg *pg, const char *in, char *out, size_t n) {
  size_t k = 0, plen = strlen(pg->password);
  for (const char *p = in ? in : ""; *p && k + 4 < n;) {
    if (plen && !strncmp(p, pg->password, plen)) {
      memcpy(out + k, "***", 3);
      k += 3;
      p += plen;
      continue;
    }
    char ch = *p++;
    if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
    if (ch == ' ' && (k == 0 || out[k - 1] == ' ')) continue;
    out[k++] = ch;
  }
  while (k > 0 && out[k - 1] == ' ')
    k--;
  out[k] = 0;
}

static void describe(swath_pg *pg) {
  const char *h = PQhost(pg->c), *p = PQport(pg->c), *d = PQdb(pg->c);
  snprintf(pg->where, sizeof pg->where, "%s:%s/%s", h && *h ? h : "localhost", p && *p ? p : "5432",
           d ? d : "");
  pg->password[0] = 0;
  PQconninfoOption *o = PQconninfo(pg->c);
  for (PQconninfoOption *i = o; i && i->keyword; i++)
    if (!strcmp(i->keyword, "password") && i->val)
      snprintf(pg->password, sizeof pg->password, "%s", i->val);
  PQconninfoFree(o);
}

/* Notices ("relation ... already exists, skipping") are not for users. */
static void quiet(void *ud, const char *message) {
  (void)ud;
  (void)message;
}

static int connect_now(swath_pg *pg) {
  if (pg->c) PQfinish(pg->c);
  /* Earlier keywords are overridden by what the conninfo says. */
  const char *const keys[] = {"connect_timeout", "application_name", "client_encoding", "dbname",
                              NULL};
  const char *const vals[] = {"10", "swath", "UTF8", pg->conninfo, NULL};
  pg->c = PQconnectdbParams(keys, vals, 1);
  if (!pg->c) return swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  describe(pg);
  PQsetNoticeProcessor(pg->c, quiet, NULL);
  pg->broken = 0;
  if (PQstatus(pg->c) == CONNECTION_OK) return 0;
  char msg[1024];
  clean_text(pg, PQerrorMessage(pg->c), msg, sizeof msg);
  pg->broken = 1;
  return swath_error_set(SWATH_ETRANSIENT, "queue at %s: cannot connect: %s", pg->where, msg);
}

int swath__pg_open(const char *conninfo, swath_pg **out) {
  *out = NULL;
  char *err = NULL;
  PQconninfoOption *o = PQconninfoParse(conninfo, &err);
  PQfreemem(err); /* may quote the text, password included */
  /* A bare word is a database name (PQconnectdbParams' expand_dbname). */
  if (!o && (strchr(conninfo, '=') || strstr(conninfo, "://")))
    return swath_error_set(SWATH_EINVAL,
                           "queue: the connection string does not parse (it is not repeated here: "
                           "it may hold a password); expected key=value pairs or a "
                           "postgresql:// URI");
  PQconninfoFree(o);
  swath_pg *pg = calloc(1, sizeof *pg);
  if (!pg || !(pg->conninfo = strdup(conninfo))) {
    free(pg);
    return swath_error_set(SWATH_ENOMEM, "queue: out of memory");
  }
  int r = connect_now(pg);
  if (r) {
    swath__pg_close(pg);
    return r == SWATH_ETRANSIENT ? swath_error_set(SWATH_EINVAL, "%s", swath_error_message()) : r;
  }
  *out = pg;
  return 0;
}

void swath__pg_close(swath_pg *pg) {
  if (!pg) return;
  if (pg->c) PQfinish(pg->c);
  free(pg->conninfo);
  free(pg);
}

static int retryable(const char *st) {
  return !strncmp(st, "08", 2) || !strcmp(st, "57P01") || !strcmp(st, "57P02") ||
         !strcmp(st, "57P03") || !strcmp(st, "40001") || !strcmp(st, "40P01");
}

/* The code and message for a failed statement (res may be NULL). */
static int failed(swath_pg *pg, const char *what, PGresult *res) {
  const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  snprintf(pg->sqlstate, sizeof pg->sqlstate, "%s", st ? st : "");
  const char *text = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  char msg[1024];
  clean_text(pg, text ? text : PQerrorMessage(pg->c), msg, sizeof msg);
  int code = SWATH_EIO;
  if (PQstatus(pg->c) != CONNECTION_OK || retryable(pg->sqlstate)) {
    code = SWATH_ETRANSIENT;
    if (PQstatus(pg->c) != CONNECTION_OK || !strncmp(pg->sqlstate, "08", 2) ||
        !strncmp(pg->sqlstate, "57", 2))
      pg->broken = 1;
  } else if (!strncmp(pg->sqlstate, "22", 2)) {
    code = SWATH_EINVAL;
  }
  if (res) PQclear(res);
  return swath_error_set(code, "queue at %s: %s: %s%s%s%s", pg->where, what, msg,
                         *pg->sqlstate ? " (SQLSTATE " : "", pg->sqlstate,
                         *pg->sqlstate ? ")" : "");
}

int swath__pg_exec(swath_pg *pg, const char *what, const char *sql, int n,
                   const char *const *params, PGresult **res) {
  if (res) *res = NULL;
  pg->sqlstate[0] = 0;
  if (pg->broken)
    return swath_error_set(SWATH_ETRANSIENT, "queue at %s: %s: the connection was lost", pg->where,
                           what);
  PGresult *r = PQexecParams(pg->c, sql, n, NULL, params, NULL, NULL, 0);
  ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) return failed(pg, what, r);
  if (res)
    *res = r;
  else
    PQclear(r);
  return 0;
}

int swath__pg_copy(swath_pg *pg, const char *what, const char *sql, const char *data, size_t len) {
  pg->sqlstate[0] = 0;
  if (pg->broken)
    return swath_error_set(SWATH_ETRANSIENT, "queue at %s: %s: the connection was lost", pg->where,
                           what);
  PGresult *r = PQexecParams(pg->c, sql, 0, NULL, NULL, NULL, NULL, 0);
  if (!r || PQresultStatus(r) != PGRES_COPY_IN) return failed(pg, what, r);
  PQclear(r);
  int ok = 1;
  for (size_t off = 0; ok && off < len;) {
    int k = len - off > (1 << 20) ? 1 << 20 : (int)(len - off);
    ok = PQputCopyData(pg->c, data + off, k) == 1;
    off += (size_t)k;
  }
  if (PQputCopyEnd(pg->c, ok ? NULL : "swath: sending the rows failed") != 1) ok = 0;
  int code = 0;
  /* Every result must be read, or the connection stays busy. */
  while ((r = PQgetResult(pg->c))) {
    if (!code && PQresultStatus(r) != PGRES_COMMAND_OK) {
      code = failed(pg, what, r);
      continue;
    }
    PQclear(r);
  }
  if (!code && !ok) code = failed(pg, what, NULL);
  return code;
}

int swath__pg_begin(swath_pg *pg) { return swath__pg_exec(pg, "begin", "BEGIN", 0, NULL, NULL); }
int swath__pg_commit(swath_pg *pg) { return swath__pg_exec(pg, "commit", "COMMIT", 0, NULL, NULL); }

static void pause_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* Back outside any transaction, or marked broken. */
static void settle(swath_pg *pg) {
  if (pg->broken || PQstatus(pg->c) != CONNECTION_OK) {
    pg->broken = 1;
    return;
  }
  if (PQtransactionStatus(pg->c) == PQTRANS_IDLE) return;
  PGresult *r = PQexec(pg->c, "ROLLBACK");
  if (!r || PQresultStatus(r) != PGRES_COMMAND_OK || PQtransactionStatus(pg->c) != PQTRANS_IDLE)
    pg->broken = 1;
  PQclear(r);
}

int swath__pg_call(swath_pg *pg, int (*fn)(swath_pg *pg, void *ud), void *ud) {
  int r = SWATH_ETRANSIENT, pause = PG_PAUSE_MS;
  for (int i = 0; i < PG_TRIES && r == SWATH_ETRANSIENT; i++) {
    if (i > 0) {
      pause_ms(pause);
      pause = pause * 2 > PG_PAUSE_MAX_MS ? PG_PAUSE_MAX_MS : pause * 2;
    }
    if (pg->broken || PQstatus(pg->c) != CONNECTION_OK) {
      pg->reconnects++;
      if ((r = connect_now(pg))) continue;
    }
    r = fn(pg, ud);
    settle(pg);
  }
  /* Still failing: the message says why; a dropped server is an I/O error. */
  return r == SWATH_ETRANSIENT ? swath_error_set(SWATH_EIO, "%s (gave up after %d tries)",
                                                 swath_error_message(), PG_TRIES)
                               : r;
}

void swath__pg_i64(char buf[24], long long v) { snprintf(buf, 24, "%lld", v); }

long long swath__pg_get_i64(const PGresult *res, int row, int col) {
  return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

double swath__pg_get_f64(const PGresult *res, int row, int col) {
  return PQgetisnull(res, row, col) ? 0 : strtod(PQgetvalue(res, row, col), NULL);
}

/* Length of the UTF-8 sequence at s, or 0 if it is not one. */
static int utf8_len(const unsigned char *s) {
  int n = s[0] < 0x80                    ? 1
          : s[0] >= 0xC2 && s[0] <= 0xDF ? 2
          : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
          : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
                                         : 0;
  for (int i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if (n == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0))) return 0;
  if (n == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))) return 0;
  return n;
}

char *swath__pg_utf8(const char *s) {
  if (!s) return NULL;
  char *out = strdup(s);
  if (!out) return NULL;
  for (unsigned char *p = (unsigned char *)out; *p;) {
    int n = utf8_len(p);
    if (n == 0)
      *p++ = '?';
    else
      p += n;
  }
  return out;
}
