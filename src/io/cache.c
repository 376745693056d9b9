/* cache.c: tile cache layout and atomic writes; see cache.h for the layout
 * and its invariants (a cache path is absent or complete; the source hash
 * never changes, and never sees a secret). */
#include "io/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/hash.h"
#include "core/secret.h"

static int put(char *buf, size_t cap, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int put(char *buf, size_t cap, const char *what, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, cap, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= cap)
    return swath_error_set(SWATH_EINVAL, "cache: %s is longer than %zu bytes", what, cap - 1);
  return 0;
}

static const char *nonempty_env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}

int swath_cache_default_root(char *buf, size_t cap) {
  const char *v;
  if ((v = nonempty_env("SWATH_CACHE_DIR"))) return put(buf, cap, "SWATH_CACHE_DIR", "%s", v);
  if ((v = nonempty_env("XDG_CACHE_HOME")))
    return put(buf, cap, "XDG_CACHE_HOME/swath", "%s/swath", v);
  if ((v = nonempty_env("HOME"))) return put(buf, cap, "HOME/.cache/swath", "%s/.cache/swath", v);
  return swath_error_set(SWATH_EINVAL, "cache: no cache folder: set SWATH_CACHE_DIR, "
                                       "XDG_CACHE_HOME or HOME, or give cache.path in the job");
}

/* Part of the on-disk format: do not change. The value is hashed with its
 * secrets redacted, which leaves a value without secrets as it was: a
 * source's folder does not depend on its API key, so a rotated key finds
 * the tiles fetched with the old one. */
static uint64_t fnv_field(uint64_t h, const char *name, const char *value) {
  h = swath_fnv1a(h, name, strlen(name) + 1);
  /* A marker byte keeps NULL apart from "" and stops "ab"+"c" == "a"+"bc". */
  if (!value) return swath_fnv1a(h, "\x01", 1);
  h = swath_fnv1a(h, "\x02", 1);
  char buf[1024], *v = buf;
  size_t n = swath_redact(value, buf, sizeof buf);
  if (n >= sizeof buf && (v = malloc(n + 1))) swath_redact(value, v, n + 1);
  if (!v) return swath_fnv1a(h, "\x03", 1); /* out of memory: never the secret */
  h = swath_fnv1a(h, v, n + 1);
  if (v != buf) free(v);
  return h;
}

uint64_t swath_cache_source_hash(const swath_cache_source_id *id) {
  uint64_t h = SWATH_FNV_OFFSET;
  h = fnv_field(h, "type", id->type);
  h = fnv_field(h, "url", id->url);
  h = fnv_field(h, "layer", id->layer);
  h = fnv_field(h, "style", id->style);
  h = fnv_field(h, "format", id->format);
  h = fnv_field(h, "crs", id->crs);
  h = fnv_field(h, "grid", id->grid);
  h = fnv_field(h, "extra", id->extra);
  return h;
}

/* The host part of a URL ("https://user@a.b.org:8080/x" -> "a.b.org"), reduced
 * to characters that are safe and readable in a folder name. */
static void url_host(const char *url, char *out, size_t cap) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  const char *end = p + strcspn(p, "/?#");
  const char *at = memchr(p, '@', (size_t)(end - p));
  if (at) p = at + 1;
  size_t n = 0;
  for (; p < end && *p != ':' && n + 1 < cap && n < 48; p++) {
    char c = *p;
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')
      out[n++] = c;
    else if (c == '{' || c == '}')
      continue; /* "{s}.tile.org" -> "s.tile.org" */
    else
      out[n++] = '_';
  }
  out[n] = '\0';
  if (n == 0) snprintf(out, cap, "local");
}

int swath_cache_source_name(const swath_cache_source_id *id, char *buf, size_t cap) {
  if (!id->type || !*id->type || !id->url || !*id->url)
    return swath_error_set(SWATH_EINVAL, "cache: a source identity needs a type and a URL");
  for (const char *t = id->type; *t; t++)
    if (!((*t >= 'a' && *t <= 'z') || (*t >= '0' && *t <= '9')))
      return swath_error_set(SWATH_EINVAL, "cache: source type '%s' is not [a-z0-9]+", id->type);
  char host[64];
  url_host(id->url, host, sizeof host);
  return put(buf, cap, "source folder name", "%s-%s-%016llx", id->type, host,
             (unsigned long long)swath_cache_source_hash(id));
}

static int mkdirs(char *path) {
  /* Walk forward creating each component; EEXIST is the common case when
   * several processes fill one cache. */
  for (char *p = path + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char saved = *p;
      *p = '\0';
      int rc = mkdir(path, 0755);
      int err = errno;
      struct stat st;
      if (rc != 0 && !(err == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        int code = swath_error_set(SWATH_EIO, "cache: cannot create folder %s: %s", path,
                                   rc != 0 && err != EEXIST ? strerror(err) : "not a folder");
        *p = saved;
        return code;
      }
      *p = saved;
      if (saved == '\0') return 0;
    }
  }
}

int swath_cache_make_parent(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash || slash == path) return 0;
  size_t n = (size_t)(slash - path);
  char *dir = malloc(n + 1);
  if (!dir) return swath_error_set(SWATH_ENOMEM, "cache: out of memory");
  memcpy(dir, path, n);
  dir[n] = '\0';
  int rc = mkdirs(dir);
  free(dir);
  return rc;
}

static int write_if_absent(const char *path, const char *text) {
  if (access(path, F_OK) == 0) return 0;
  return swath_cache_write(path, text, strlen(text), 0);
}

int swath_cache_source_path(const char *root, const swath_cache_source_id *id, char *buf,
                            size_t cap) {
  char name[160];
  int rc = swath_cache_source_name(id, name, sizeof name);
  if (rc) return rc;
  return put(buf, cap, "source folder", "%s/%s", root, name);
}

int swath_cache_source_dir(const char *root, const swath_cache_source_id *id, char *buf,
                           size_t cap) {
  int rc = swath_cache_source_path(root, id, buf, cap);
  if (rc) return rc;
  if ((rc = mkdirs(buf))) return rc;

  char desc[4096], path[4096];
  int n =
      snprintf(desc, sizeof desc,
               "# swath tile cache: {z}/{x}/{y}.{ext}; {path}.empty = no data there\n"
               "type: %s\nurl: %s\nlayer: %s\nstyle: %s\nformat: %s\ncrs: %s\n"
               "grid: %s\nextra: %s\nhash: %016llx\n",
               id->type, id->url, id->layer ? id->layer : "~", id->style ? id->style : "~",
               id->format ? id->format : "~", id->crs ? id->crs : "~", id->grid ? id->grid : "~",
               id->extra ? id->extra : "~", (unsigned long long)swath_cache_source_hash(id));
  if (n < 0 || (size_t)n >= sizeof desc) return 0; /* the description is a courtesy */
  char *text = swath_redact_dup(desc);
  if (!text) return swath_error_set(SWATH_ENOMEM, "cache: out of memory");
  if (!(rc = put(path, sizeof path, "source.txt path", "%s/source.txt", buf)))
    rc = write_if_absent(path, text);
  free(text);
  return rc;
}

int swath_cache_tile_path(const char *source_dir, int z, long x, long y, const char *ext, char *buf,
                          size_t cap) {
  if (!ext || !*ext || strchr(ext, '/'))
    return swath_error_set(SWATH_EINVAL, "cache: bad tile extension '%s'", ext ? ext : "");
  return put(buf, cap, "tile path", "%s/%d/%ld/%ld.%s", source_dir, z, x, y, ext);
}

int swath_cache_empty_path(const char *path, char *buf, size_t cap) {
  return put(buf, cap, "empty marker path", "%s.empty", path);
}

swath_cache_state swath_cache_lookup(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) return SWATH_CACHE_HIT;
  char marker[4096];
  if (swath_cache_empty_path(path, marker, sizeof marker) == 0 && stat(marker, &st) == 0)
    return SWATH_CACHE_EMPTY;
  return SWATH_CACHE_MISS;
}

static int write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

int swath_cache_write(const char *path, const void *data, size_t len, int durable) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
  size_t tcap = strlen(path) + 32;
  char *tmp = malloc(tcap);
  if (!tmp) return swath_error_set(SWATH_ENOMEM, "cache: out of memory");
  snprintf(tmp, tcap, "%.*s.%s.tmp.XXXXXX", (int)dirlen, path, base);

  int rc = 0;
  int fd = mkstemp(tmp);
  if (fd < 0 && errno == ENOENT) {
    if ((rc = swath_cache_make_parent(path))) goto out;
    /* A failed mkstemp may have consumed the XXXXXX: write it anew. */
    snprintf(tmp, tcap, "%.*s.%s.tmp.XXXXXX", (int)dirlen, path, base);
    fd = mkstemp(tmp);
  }
  if (fd < 0) {
    rc = swath_error_set(SWATH_EIO, "cache: cannot create a temp file next to %s: %s", path,
                         strerror(errno));
    goto out;
  }
  /* mkstemp makes 0600; tiles are ordinary files others may read. */
  int failed =
      fchmod(fd, 0644) != 0 || write_all(fd, data, len) != 0 || (durable && fsync(fd) != 0);
  int err = errno;
  if (close(fd) != 0 && !failed) {
    failed = 1;
    err = errno;
  }
  if (failed || rename(tmp, path) != 0) {
    if (!failed) err = errno;
    unlink(tmp);
    rc = swath_error_set(SWATH_EIO, "cache: cannot write %s: %s", path, strerror(err));
    goto out;
  }
  char marker[4096];
  if (swath_cache_empty_path(path, marker, sizeof marker) == 0) unlink(marker);
out:
  free(tmp);
  return rc;
}

int swath_cache_mark_empty(const char *path) {
  char marker[4096];
  int rc = swath_cache_empty_path(path, marker, sizeof marker);
  if (rc) return rc;
  /* Zero bytes are complete by definition: no temp file needed. */
  int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT) {
    if ((rc = swath_cache_make_parent(marker))) return rc;
    fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  }
  if (fd < 0)
    return swath_error_set(SWATH_EIO, "cache: cannot create %s: %s", marker, strerror(errno));
  close(fd);
  if (unlink(path) != 0 && errno != ENOENT)
    return swath_error_set(SWATH_EIO, "cache: cannot remove stale tile %s: %s", path,
                           strerror(errno));
  return 0;
}
