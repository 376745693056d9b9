/* cache.h: the on-disk tile cache shared by remote sources, `swath prefetch`
 * and `swath run`.
 *
 * Layout (documented for users in docs/sources.md):
 *
 *   {root}/{source}/{z}/{x}/{y}.{ext}        a tile, exactly the bytes served
 *   {root}/{source}/{z}/{x}/{y}.{ext}.empty  zero-length marker: the server
 *                                            answered "no data here"
 *   {root}/{source}/source.txt               what this folder caches (text)
 *
 * {root} is swath_cache_default_root() unless the job says otherwise.
 * {source} is "{type}-{host}-{hash}", where {hash} is 16 hex digits of a
 * 64-bit FNV-1a over the source's identity (every field that changes the
 * bytes served: URL template, layer, style, format, CRS, request grid, ...).
 * The hash is part of the on-disk format: changing how it is computed orphans
 * every existing cache, so it never changes. Two jobs over the same source
 * therefore share one folder, and a rerun finds its tiles. Secrets (an API
 * key in the URL, core/secret.h) are redacted before hashing and in
 * source.txt: the folder does not depend on them (a rotated key keeps the
 * cache) and holds none. (Before swath redacted them, a source with a key
 * in its URL had a folder of its own per key; such folders are left
 * behind.)
 *
 * For XYZ/WMTS, z/x/y are the service's tile indices; for WMS they are the
 * indices of the fixed request grid the source cuts GetMap requests on.
 *
 * Invariants: a path in the cache is either absent or complete. Files are
 * written to a hidden temp file in the same folder (".{name}.tmp.XXXXXX")
 * and renamed into place, which is atomic on one file system, so several
 * processes can share a cache and may write the same tile concurrently (the
 * last rename wins; both wrote identical bytes). A crash can leave a stray
 * temp file, never a truncated tile; lookups ignore temp files. */
#ifndef SWATH_IO_CACHE_H
#define SWATH_IO_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* Cache root: $SWATH_CACHE_DIR, else $XDG_CACHE_HOME/swath, else
 * $HOME/.cache/swath (empty variables count as unset). Writes the path into
 * `buf`; SWATH_EINVAL if none of them is set or the path does not fit. The
 * folder is not created here. */
int swath_cache_default_root(char *buf, size_t cap);

/* Everything that identifies what a source serves. Unused fields are NULL.
 * `type` ("xyz", "wmts", "wms") and `url` are required. `grid` names the
 * request grid (tile matrix set id, or a WMS block grid description) and
 * `extra` holds anything else that changes the bytes (for example WMS
 * version or vendor parameters), in a form the source keeps stable. */
typedef struct swath_cache_source_id {
  const char *type;
  const char *url;
  const char *layer;
  const char *style;
  const char *format;
  const char *crs;
  const char *grid;
  const char *extra;
} swath_cache_source_id;

/* The 64-bit identity hash of a source (FNV-1a over each field's name and
 * value with its secrets redacted, fields in the order of the struct, NULL
 * distinct from ""). */
uint64_t swath_cache_source_hash(const swath_cache_source_id *id);

/* The source's folder name, "{type}-{host}-{hash}" ({host} from the URL,
 * reduced to [a-z0-9.-], "local" if none), into `buf`. SWATH_EINVAL if
 * type/url are missing or it does not fit. */
int swath_cache_source_name(const swath_cache_source_id *id, char *buf, size_t cap);

/* "{root}/{source name}" into `buf`, creating nothing (a check at start
 * writes nothing: see swath_source_spec.check). */
int swath_cache_source_path(const char *root, const swath_cache_source_id *id, char *buf,
                            size_t cap);

/* "{root}/{source name}" into `buf`; creates the folder (mkdir -p) and, if
 * absent, a source.txt describing the identity (secrets redacted), so a
 * person can tell the folders apart. SWATH_EIO if the folder cannot be
 * created. */
int swath_cache_source_dir(const char *root, const swath_cache_source_id *id, char *buf,
                           size_t cap);

/* "{source_dir}/{z}/{x}/{y}.{ext}" into `buf` (ext without the dot). */
int swath_cache_tile_path(const char *source_dir, int z, long x, long y, const char *ext, char *buf,
                          size_t cap);

/* "{path}.empty" into `buf`. */
int swath_cache_empty_path(const char *path, char *buf, size_t cap);

typedef enum swath_cache_state {
  SWATH_CACHE_MISS = 0, /* neither the tile nor its empty marker exists */
  SWATH_CACHE_HIT = 1,  /* the tile exists (complete by the invariant) */
  SWATH_CACHE_EMPTY = 2 /* the server said "no data here" */
} swath_cache_state;

/* Look a tile path up. A tile wins over a stale empty marker. */
swath_cache_state swath_cache_lookup(const char *path);

/* mkdir -p for the folder that will hold `path` (everything up to the last
 * '/'). SWATH_EIO with the failing folder named. */
int swath_cache_make_parent(const char *path);

/* Write `len` bytes to `path` atomically: temp file in the same folder,
 * write, optional fsync (`durable`: survive power loss, not only crashes),
 * rename. Creates missing folders. Removes a stale empty marker for `path`.
 * On failure the temp file is removed and `path` is untouched. */
int swath_cache_write(const char *path, const void *data, size_t len, int durable);

/* Record "no data here" for `path`: creates "{path}.empty" and removes a
 * stale tile at `path`. */
int swath_cache_mark_empty(const char *path);

#endif
