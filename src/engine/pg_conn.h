/* pg_conn.h: one libpq connection of the job queue, with the statement
 * helper every queue file uses and the reconnect-and-retry of whole calls.
 *
 * Made for pgbouncer in transaction pooling: statements go through
 * PQexecParams only (unnamed statements, text parameters), nothing is set
 * on the session, and a call is one statement or one BEGIN ... COMMIT. A
 * call that meets a dropped connection (a pgbouncer or server restart) or a
 * deadlock is run again from the start on a new connection, a bounded
 * number of times with a short backoff: a transaction that did not commit
 * did nothing, and each call is written so that running it again is safe.
 * Messages name the server as host:port/dbname, never the conninfo (it may
 * hold a password), and any password the server echoes is blanked. */
#ifndef SWATH_ENGINE_PG_CONN_H
#define SWATH_ENGINE_PG_CONN_H

#include <libpq-fe.h>
#include <stddef.h>

typedef struct swath_pg swath_pg;

/* Connect; SWATH_EINVAL with one line (no password) if the conninfo does
 * not parse or the server cannot be reached or refuses. */
int swath__pg_open(const char *conninfo, swath_pg **out);
void swath__pg_close(swath_pg *pg);
/* "host:port/dbname", for messages. */
const char *swath__pg_where(const swath_pg *pg);
/* How many times the connection was opened again after a failure. */
int swath__pg_reconnects(const swath_pg *pg);

/* Run one statement with n text parameters (NULL: SQL NULL). On success
 * *res (if res is not NULL) holds the result, to be PQclear'ed. Returns
 * SWATH_ETRANSIENT when the connection dropped or the server asks for a
 * retry (class 08, 57P01-57P03, 40001, 40P01: swath__pg_call retries),
 * SWATH_EINVAL for a data exception (class 22: text the server refused),
 * SWATH_EIO otherwise; the message is "queue at WHERE: WHAT: reason". */
int swath__pg_exec(swath_pg *pg, const char *what, const char *sql, int n,
                   const char *const *params, PGresult **res);
/* The SQLSTATE of the last failed statement ("" if none). */
const char *swath__pg_sqlstate(const swath_pg *pg);
/* COPY ... FROM STDIN with `data` (len bytes, COPY text format). */
int swath__pg_copy(swath_pg *pg, const char *what, const char *sql, const char *data, size_t len);

int swath__pg_begin(swath_pg *pg);
int swath__pg_commit(swath_pg *pg);

/* Run fn(pg, ud), opening the connection again and running fn again from
 * the start while it returns SWATH_ETRANSIENT (at most a few times, with a
 * growing pause). A transaction fn left open is rolled back. */
int swath__pg_call(swath_pg *pg, int (*fn)(swath_pg *pg, void *ud), void *ud);

/* Small helpers for text parameters and results. */
void swath__pg_i64(char buf[24], long long v);
long long swath__pg_get_i64(const PGresult *res, int row, int col);
double swath__pg_get_f64(const PGresult *res, int row, int col);
/* A copy of `s` with bytes that are not UTF-8 replaced by '?' (the server
 * refuses them in text); the caller frees it. NULL for NULL. */
char *swath__pg_utf8(const char *s);

#endif
