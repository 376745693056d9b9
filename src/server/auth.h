/* auth.h: API keys for the HTTP server (`Authorization: Bearer KEY`).
 *
 * Only a key's SHA-256 digest is ever stored, next to the key's name: in a
 * file (lines "name:hexdigest", '#' comments) or in the queue's PostgreSQL
 * database (table swath_api_keys, created on first use). A presented key is
 * hashed and compared with every stored digest in constant time. The set of
 * keys is read again when the file changes (checked at most once a second)
 * or every few seconds from the database, so keys added or removed take
 * effect without a restart. Thread-safe. */
#ifndef SWATH_SERVER_AUTH_H
#define SWATH_SERVER_AUTH_H

#include <stddef.h>

typedef struct swath_auth swath_auth;

/* Keys from a file (SWATH_EINVAL with "FILE:LINE: ..." for a bad line). */
int swath_auth_open_file(const char *path, swath_auth **out);
/* Keys from table swath_api_keys of a PostgreSQL database. */
int swath_auth_open_db(const char *conninfo, swath_auth **out);
void swath_auth_close(swath_auth *a);

/* The name of the stored key `key` matches, into name (n bytes): 1; 0 if
 * no stored key matches. */
int swath_auth_check(swath_auth *a, const char *key, char *name, size_t n);

/* ---- making keys (swath key) ---- */
/* A new random key, "swk_" and 64 hex digits (buf >= 69 bytes). */
int swath_auth_new_key(char *buf, size_t n);
/* The lowercase hex SHA-256 of key. */
int swath_auth_digest_hex(const char *key, char hex[65]);
/* A key name is 1-64 of [A-Za-z0-9_.@-] (SWATH_EINVAL otherwise). */
int swath_auth_check_name(const char *name);
/* Store name:digest (a name already there: SWATH_EINVAL). */
int swath_auth_add_file(const char *path, const char *name, const char *hex);
int swath_auth_add_db(const char *conninfo, const char *name, const char *hex);
/* Remove the key `name` (none: SWATH_ENOTFOUND). */
int swath_auth_remove_file(const char *path, const char *name);
int swath_auth_remove_db(const char *conninfo, const char *name);
/* Each stored key's name: fn(ud, name). */
int swath_auth_list(const char *path_or_null, const char *conninfo_or_null,
                    void (*fn)(void *ud, const char *name), void *ud);

#endif
