/* auth.c: API keys stored as SHA-256 digests (auth.h).
 *
 * Invariants: no key is ever kept or written in clear, only its digest;
 * a check hashes the presented key once and compares it with every stored
 * digest without an early exit (timing tells nothing about how many bytes
 * of a digest matched). The table of keys is replaced whole under the lock
 * when the source changed; a source that became unreadable keeps the keys
 * last read (with a warning) rather than locking everyone out or in. */
#include "server/auth.h"

#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/error.h"
#include "core/log.h"
#include "engine/pg_conn.h"

#define NAME_MAX_LEN 64
#define DB_REFRESH_S 5.0

typedef struct key {
  char name[NAME_MAX_LEN + 1];
  unsigned char digest[32];
} key;

struct swath_auth {
  char *path;     /* keys file, or NULL */
  char *conninfo; /* database, or NULL */
  swath_pg *pg;
  pthread_mutex_t mu;
  key *keys;
  int n;
  double checked; /* last time the source was looked at */
  struct timespec mtime;
  off_t size;
};

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int swath_auth_check_name(const char *name) {
  size_t n = strlen(name);
  if (n < 1 || n > NAME_MAX_LEN)
    return swath_error_set(SWATH_EINVAL, "key name '%s': 1 to %d characters", name, NAME_MAX_LEN);
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '_' || *p == '.' || *p == '@' || *p == '-'))
      return swath_error_set(SWATH_EINVAL, "key name '%s': only letters, digits and _ . @ -", name);
  return 0;
}

static int unhex(const char *h, unsigned char out[32]) {
  for (int i = 0; i < 32; i++) {
    unsigned v = 0;
    for (int k = 0; k < 2; k++) {
      char c = h[2 * i + k];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= (unsigned)(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= (unsigned)(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= (unsigned)(c - 'A' + 10);
      else
        return -1;
    }
    out[i] = (unsigned char)v;
  }
  return h[64] == '\0' ? 0 : -1;
}

static void tohex(const unsigned char *d, size_t n, char *out) {
  static const char hx[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hx[d[i] >> 4];
    out[2 * i + 1] = hx[d[i] & 15];
  }
  out[2 * n] = '\0';
}

int swath_auth_digest_hex(const char *k, char hex[65]) {
  unsigned char d[32];
  if (gnutls_hash_fast(GNUTLS_DIG_SHA256, k, strlen(k), d) < 0)
    return swath_error_set(SWATH_EIO, "keys: SHA-256 failed");
  tohex(d, 32, hex);
  return 0;
}

int swath_auth_new_key(char *buf, size_t n) {
  unsigned char r[32];
  if (n < 69) return swath_error_set(SWATH_EINTERNAL, "keys: buffer too small");
  if (gnutls_rnd(GNUTLS_RND_KEY, r, sizeof r) < 0)
    return swath_error_set(SWATH_EIO, "keys: no random bytes");
  memcpy(buf, "swk_", 4);
  tohex(r, 32, buf + 4);
  return 0;
}

/* ---- reading the file --------------------------------------------------- */

/* Parse the keys file into *out (*n); SWATH_EINVAL naming FILE:LINE. */
static int read_file(const char *path, key **out, int *n) {
  *out = NULL;
  *n = 0;
  FILE *f = fopen(path, "r");
  if (!f) return swath_error_set(SWATH_EINVAL, "--api-keys %s: %s", path, strerror(errno));
  key *keys = NULL;
  int nk = 0, cap = 0, lineno = 0, rc = 0;
  char line[512];
  while (!rc && fgets(line, sizeof line, f)) {
    lineno++;
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                   line[len - 1] == '\t'))
      line[--len] = '\0';
    char *s = line;
    while (*s == ' ' || *s == '\t')
      s++;
    if (!*s || *s == '#') continue;
    char *colon = strchr(s, ':');
    if (!colon) {
      rc = swath_error_set(SWATH_EINVAL, "%s:%d: not 'name:sha256-hex'", path, lineno);
      break;
    }
    *colon = '\0';
    key k = {0};
    if (swath_auth_check_name(s)) {
      rc = swath_error_set(SWATH_EINVAL, "%s:%d: %s", path, lineno, swath_error_message());
      break;
    }
    if (unhex(colon + 1, k.digest)) {
      rc = swath_error_set(SWATH_EINVAL, "%s:%d: the digest is not 64 hex digits (SHA-256)", path,
                           lineno);
      break;
    }
    /* (swath_auth_check_name bounded its length) */
    size_t nlen = strnlen(s, sizeof k.name - 1);
    memcpy(k.name, s, nlen);
    k.name[nlen] = '\0';
    for (int i = 0; i < nk; i++)
      if (!strcmp(keys[i].name, k.name))
        rc =
            swath_error_set(SWATH_EINVAL, "%s:%d: key name '%s' given twice", path, lineno, k.name);
    if (rc) break;
    if (nk == cap) {
      cap = cap ? 2 * cap : 16;
      key *p = realloc(keys, (size_t)cap * sizeof *p);
      if (!p) {
        rc = swath_error_set(SWATH_ENOMEM, "keys: out of memory");
        break;
      }
      keys = p;
    }
    keys[nk++] = k;
  }
  fclose(f);
  if (rc) {
    free(keys);
    return rc;
  }
  *out = keys;
  *n = nk;
  return 0;
}

/* ---- the database -------------------------------------------------------- */

static const char CREATE_SQL[] =
    "CREATE TABLE IF NOT EXISTS swath_api_keys(name text PRIMARY KEY,"
    " digest text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'), created timestamptz NOT NULL"
    " DEFAULT now())";

static int create_once(swath_pg *pg, void *ud) {
  (void)ud;
  return swath__pg_exec(pg, "create swath_api_keys", CREATE_SQL, 0, NULL, NULL);
}

typedef struct db_read {
  key *keys;
  int n;
} db_read;

static int read_once(swath_pg *pg, void *ud) {
  db_read *d = ud;
  PGresult *res;
  int r = swath__pg_exec(pg, "read the API keys", "SELECT name, digest FROM swath_api_keys", 0,
                         NULL, &res);
  if (r) return r;
  int rows = PQntuples(res);
  free(d->keys);
  d->keys = calloc((size_t)rows + 1, sizeof *d->keys);
  d->n = 0;
  if (!d->keys) {
    PQclear(res);
    return swath_error_set(SWATH_ENOMEM, "keys: out of memory");
  }
  for (int i = 0; i < rows; i++) {
    key *k = &d->keys[d->n];
    snprintf(k->name, sizeof k->name, "%s", PQgetvalue(res, i, 0));
    if (!unhex(PQgetvalue(res, i, 1), k->digest)) d->n++;
  }
  PQclear(res);
  return 0;
}

static int db_open(const char *conninfo, swath_pg **pg) {
  int rc = swath__pg_open(conninfo, pg);
  if (!rc) rc = swath__pg_call(*pg, create_once, NULL);
  if (rc) {
    swath__pg_close(*pg);
    *pg = NULL;
  }
  return rc;
}

/* ---- the table in memory ------------------------------------------------- */

/* Read the source again if it changed; called with the lock held. */
static int refresh(swath_auth *a, int force) {
  double t = now_s();
  if (!force && t - a->checked < (a->path ? 1.0 : DB_REFRESH_S)) return 0;
  a->checked = t;
  key *keys = NULL;
  int n = 0, rc;
  if (a->path) {
    struct stat st;
    if (stat(a->path, &st))
      return swath_error_set(SWATH_EINVAL, "--api-keys %s: %s", a->path, strerror(errno));
    if (!force && st.st_mtim.tv_sec == a->mtime.tv_sec && st.st_mtim.tv_nsec == a->mtime.tv_nsec &&
        st.st_size == a->size)
      return 0;
    if ((rc = read_file(a->path, &keys, &n))) return rc;
    a->mtime = st.st_mtim;
    a->size = st.st_size;
  } else {
    db_read d = {0};
    if ((rc = swath__pg_call(a->pg, read_once, &d))) {
      free(d.keys);
      return rc;
    }
    keys = d.keys;
    n = d.n;
  }
  free(a->keys);
  a->keys = keys;
  a->n = n;
  return 0;
}

static int open_common(swath_auth *a, swath_auth **out) {
  pthread_mutex_init(&a->mu, NULL);
  int rc = (a->path || a->conninfo) ? 0 : SWATH_ENOMEM;
  if (!rc && a->conninfo) rc = db_open(a->conninfo, &a->pg);
  if (!rc) rc = refresh(a, 1);
  if (rc) {
    if (rc == SWATH_ENOMEM) swath_error_set(rc, "keys: out of memory");
    swath_auth_close(a);
    return rc;
  }
  *out = a;
  return 0;
}

int swath_auth_open_file(const char *path, swath_auth **out) {
  *out = NULL;
  swath_auth *a = calloc(1, sizeof *a);
  if (!a) return swath_error_set(SWATH_ENOMEM, "keys: out of memory");
  a->path = strdup(path);
  return open_common(a, out);
}

int swath_auth_open_db(const char *conninfo, swath_auth **out) {
  *out = NULL;
  swath_auth *a = calloc(1, sizeof *a);
  if (!a) return swath_error_set(SWATH_ENOMEM, "keys: out of memory");
  a->conninfo = strdup(conninfo);
  return open_common(a, out);
}

void swath_auth_close(swath_auth *a) {
  if (!a) return;
  swath__pg_close(a->pg);
  pthread_mutex_destroy(&a->mu);
  free(a->keys);
  free(a->path);
  free(a->conninfo);
  free(a);
}

int swath_auth_check(swath_auth *a, const char *k, char *name, size_t n) {
  unsigned char d[32];
  if (!k || !*k || strlen(k) > 512) return 0;
  if (gnutls_hash_fast(GNUTLS_DIG_SHA256, k, strlen(k), d) < 0) return 0;
  pthread_mutex_lock(&a->mu);
  if (refresh(a, 0)) swath_warn("keys: %s (keeping the keys read before)", swath_error_message());
  int found = -1;
  for (int i = 0; i < a->n; i++) {
    unsigned diff = 0;
    for (int b = 0; b < 32; b++)
      diff |= (unsigned)(a->keys[i].digest[b] ^ d[b]);
    found = diff == 0 ? i : found;
  }
  if (found >= 0) snprintf(name, n, "%s", a->keys[found].name);
  pthread_mutex_unlock(&a->mu);
  return found >= 0;
}

/* ---- storing keys (swath key) -------------------------------------------- */

int swath_auth_add_file(const char *path, const char *name, const char *hex) {
  key *keys = NULL;
  int n = 0, rc;
  struct stat st;
  if (!stat(path, &st) && (rc = read_file(path, &keys, &n))) return rc;
  for (int i = 0; i < n; i++)
    if (!strcmp(keys[i].name, name)) {
      free(keys);
      return swath_error_set(SWATH_EINVAL, "%s: a key named '%s' exists (remove it first)", path,
                             name);
    }
  free(keys);
  FILE *f = fopen(path, "a");
  if (!f) return swath_error_set(SWATH_EINVAL, "--file %s: %s", path, strerror(errno));
  /* the digests are not secrets, but the file says who may write */
  if (n == 0) fprintf(f, "# swath API keys: name:sha256(key), written by 'swath key add'\n");
  int bad = fprintf(f, "%s:%s\n", name, hex) < 0;
  bad |= fclose(f) != 0;
  return bad ? swath_error_set(SWATH_EIO, "%s: cannot write: %s", path, strerror(errno)) : 0;
}

int swath_auth_remove_file(const char *path, const char *name) {
  FILE *f = fopen(path, "r");
  if (!f) return swath_error_set(SWATH_EINVAL, "--file %s: %s", path, strerror(errno));
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *o = fopen(tmp, "w");
  if (!o) {
    fclose(f);
    return swath_error_set(SWATH_EIO, "%s: %s", tmp, strerror(errno));
  }
  char line[512];
  int found = 0;
  size_t nl = strlen(name);
  while (fgets(line, sizeof line, f)) {
    const char *s = line + strspn(line, " \t");
    if (!strncmp(s, name, nl) && s[nl] == ':') {
      found = 1;
      continue;
    }
    fputs(line, o);
  }
  fclose(f);
  int bad = fclose(o) != 0;
  if (bad || !found) {
    remove(tmp);
    return bad ? swath_error_set(SWATH_EIO, "%s: cannot write", tmp)
               : swath_error_set(SWATH_ENOTFOUND, "%s: no key named '%s'", path, name);
  }
  if (rename(tmp, path)) return swath_error_set(SWATH_EIO, "%s: %s", path, strerror(errno));
  return 0;
}

typedef struct db_edit {
  const char *name, *hex;
  int affected;
} db_edit;

static int add_once(swath_pg *pg, void *ud) {
  db_edit *e = ud;
  const char *p[] = {e->name, e->hex};
  PGresult *res;
  int r = swath__pg_exec(pg, "add the key",
                         "INSERT INTO swath_api_keys(name, digest) VALUES ($1, $2)"
                         " ON CONFLICT (name) DO NOTHING",
                         2, p, &res);
  if (r) return r;
  e->affected = atoi(PQcmdTuples(res));
  PQclear(res);
  return 0;
}

static int remove_once(swath_pg *pg, void *ud) {
  db_edit *e = ud;
  const char *p[] = {e->name};
  PGresult *res;
  int r = swath__pg_exec(pg, "remove the key", "DELETE FROM swath_api_keys WHERE name = $1", 1, p,
                         &res);
  if (r) return r;
  e->affected = atoi(PQcmdTuples(res));
  PQclear(res);
  return 0;
}

static int db_edit_run(const char *conninfo, int (*fn)(swath_pg *, void *), db_edit *e) {
  swath_pg *pg;
  int rc = db_open(conninfo, &pg);
  if (rc) return rc;
  rc = swath__pg_call(pg, fn, e);
  swath__pg_close(pg);
  return rc;
}

int swath_auth_add_db(const char *conninfo, const char *name, const char *hex) {
  db_edit e = {name, hex, 0};
  int rc = db_edit_run(conninfo, add_once, &e);
  if (!rc && !e.affected)
    rc = swath_error_set(SWATH_EINVAL, "a key named '%s' exists (remove it first)", name);
  return rc;
}

int swath_auth_remove_db(const char *conninfo, const char *name) {
  db_edit e = {name, NULL, 0};
  int rc = db_edit_run(conninfo, remove_once, &e);
  if (!rc && !e.affected) rc = swath_error_set(SWATH_ENOTFOUND, "no key named '%s'", name);
  return rc;
}

int swath_auth_list(const char *path, const char *conninfo, void (*fn)(void *ud, const char *name),
                    void *ud) {
  swath_auth *a;
  int rc = path ? swath_auth_open_file(path, &a) : swath_auth_open_db(conninfo, &a);
  if (rc) return rc;
  for (int i = 0; i < a->n; i++)
    fn(ud, a->keys[i].name);
  swath_auth_close(a);
  return 0;
}
