/* source.h: where pixels come from. A source is opened once per worker
 * thread (each thread owns its handles: pixel code takes no locks) and reads
 * a block of pixels on a target pixel grid, reprojecting and resampling as
 * needed. Implementations: source_gdal.c (any GDAL dataset), and the remote
 * services source_xyz.c, source_wmts.c, source_wms.c over remote.c. */
#ifndef SWATH_IO_SOURCE_H
#define SWATH_IO_SOURCE_H

#include "core/config.h"
#include "core/grid.h"
#include "io/fetch.h"
#include "swath/plugin.h"

#define SWATH_PALETTE_MAX 256 /* colour table entries a source hands on (Byte's range) */

/* What a source is, as known after opening it. */
typedef struct swath_source_info {
  int bands;              /* data bands, alpha excluded */
  swath_dtype dtype;      /* type of the first band */
  int has_nodata;         /* the source marks missing data (nodata or alpha) */
  double nodata;          /* nodata value, if has_nodata and no alpha */
  int categorical;        /* paletted / thematic: nearest overviews */
  int palette_n;          /* entries of palette, or 0 */
  swath_bounds footprint; /* in the grid CRS; minx > maxx never */
  double native_res;      /* approximate pixel size in grid CRS units */
  /* Band 1's colour table (RGBA), when it has at most SWATH_PALETTE_MAX entries. */
  unsigned char palette[SWATH_PALETTE_MAX][4];
} swath_source_info;

/* A target pixel grid: `width` x `height` pixels over `bounds` in `crs`. */
typedef struct swath_read_req {
  const char *crs;        /* grid CRS as the grid names it */
  swath_bounds bounds;
  int width, height;
  const char *resampling; /* GDAL warp resampling name: near, bilinear, ... */
  swath_dtype dtype;      /* type to deliver; UNKNOWN = native */
  double warp_error;      /* max transformer approximation error in pixels; 0 = exact */
} swath_read_req;

/* A document (capabilities) that a checking open fetched. A run writes
 * nothing before every check at start has passed, so the document waits
 * here, in memory; the input's next open (check 0, after the checks) writes
 * it into the cache and uses it, instead of asking the server again. One per
 * input, owned by the caller of open (the engine), which opens an input's
 * handles one at a time. */
typedef struct swath_source_held {
  char *path; /* the document's cache file; NULL: nothing held */
  char *body; /* NUL-terminated, secrets redacted (as cached) */
} swath_source_held;

/* Free what `h` holds (the struct itself is the caller's). */
void swath_source_held_clear(swath_source_held *h);

/* One input of a job, as the job file describes it. */
typedef struct swath_source_spec {
  const char *name;           /* the input's key under inputs: */
  const char *type;           /* "gdal", or a remote type ("xyz", "wmts", "wms") */
  const char *uri;            /* gdal: path or connection string (resolved) */
  const swath_cfg *cfg;       /* the input's mapping in the job; NULL for the short form.
                                 A source checks its own keys here (errors name the line) */
  const char *cache_dir;      /* root of the tile cache (remote sources) */
  swath_fetcher *fetcher;     /* shared fetcher for remote sources; NULL: the source
                                 makes its own from the input's options */
  int check;                  /* the engine's first open: check that the service answers,
                                 and write nothing (no cache folder, no cached
                                 document): other checks may still fail */
  swath_source_held *held;    /* where a checking open leaves the documents it fetched;
                                 NULL: they are not kept (the next open fetches again) */
  /* Remote sources: decoded cached tiles shared by every handle of this
   * input (io/tile_memo.h), owned by the caller; NULL: each read decodes
   * its own. */
  struct swath_tile_memo *memo;
} swath_source_spec;

/* Called once per remote request a read needs. */
typedef void (*swath_source_request_fn)(void *ud, const swath_fetch_req *r);

typedef struct swath_source_vtable {
  const char *name; /* the type, as written in the job */
  /* Open the source for reading into grid `g`; fill `info`. SWATH_EINVAL
   * with one line for bad configuration or unreadable data. */
  int (*open)(const swath_source_spec *spec, const swath_grid *g, swath_source_info *info, void **state);
  /* Read the request into `out` (allocated here: bands = info.bands, mask
   * set). Returns SWATH_EEMPTY when no pixel holds data. */
  int (*read)(void *state, const swath_read_req *req, swath_raster *out);
  /* The remote requests `read` would make for `req`, for prefetching; NULL
   * for sources that fetch nothing. read() enumerates through the same
   * function, so a prefetched job never downloads again. */
  int (*requests)(void *state, const swath_read_req *req, swath_source_request_fn fn, void *ud);
  void (*close)(void *state);
} swath_source_vtable;

extern const swath_source_vtable swath_source_gdal;
extern const swath_source_vtable swath_source_xyz;
extern const swath_source_vtable swath_source_wmts;
extern const swath_source_vtable swath_source_wms;

/* 0 for input options that only change how data is fetched (connections,
 * rate, timeouts, attempts, failure budget, headers, user agent, CA file,
 * offline, capabilities age), 1 for every other (they may change the
 * pixels). */
int swath_source_option_changes_pixels(const char *key);

/* A fetcher configured from a remote input's options (max_connections,
 * rate_limit, timeouts, max_attempts, failure_budget, empty_status, headers,
 * user_agent, ca_file), so every thread's handle of that input shares one set of
 * connection caps. *out NULL for sources that fetch nothing (local rasters,
 * offline inputs). */
int swath_source_fetcher_new(const swath_source_spec *spec, swath_fetcher **out);

/* 1 for a remote input with `offline: true` (it reads the cache only and
 * has no fetcher), else 0. */
int swath_source_offline(const swath_source_spec *spec);

/* The implementation for a type name, or NULL. */
const swath_source_vtable *swath_source_find(const char *type);
/* Comma-separated list of known types, for messages. */
const char *swath_source_types(void);

#endif
