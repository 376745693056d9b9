/* remote.h: what the xyz, wmts and wms sources share.
 *
 * A remote source is a tile matrix set in the service's CRS (for WMS, the
 * fixed request grid GetMap requests are cut on) plus a function that
 * writes the URL of one tile. Everything else is written once here:
 *
 *   - the one function that lists the tiles a read needs (plan_read), used
 *     by requests() for prefetching and by read() itself, so a prefetched
 *     job never downloads again;
 *   - the cache (cache.h) and the fetcher (fetch.h): read() fetches what is
 *     missing synchronously, through the same retries and validation;
 *   - the mosaic of decoded tiles (gray, paletted, RGB(A) to `bands` bytes
 *     plus alpha) and the warp into the request (warp.h), as for local
 *     rasters;
 *   - the options every remote input takes (zoom, bands, connections,
 *     retries, ...), parsed by swath__remote_parse_common and
 *     swath_source_fetch_config.
 *
 * A type's open() allocates a struct whose first member is a swath__remote,
 * fills the fields marked "type", calls swath__remote_init and returns it;
 * read/requests/close are the generic ones below. */
#ifndef SWATH_IO_REMOTE_H
#define SWATH_IO_REMOTE_H

#include <ogr_srs_api.h>

#include "core/secret.h"
#include "io/cache.h"
#include "io/source.h"
#include "io/tile_memo.h"

typedef struct swath__remote swath__remote;

struct swath__remote {
  /* type: */
  char name[64];       /* the input's name, for messages */
  const char *type;    /* "xyz", "wmts", "wms" */
  swath_grid tms;      /* service tiles, in the service CRS */
  int zoom;            /* fixed service zoom, or -1: chosen per read */
  int min_zoom, max_zoom; /* zooms the automatic choice may use */
  int bands;           /* bytes per pixel delivered, alpha excluded (1-4) */
  char ext[8];         /* cache file extension */
  unsigned kinds;      /* SWATH_FETCH_* bodies accepted */
  swath_cache_source_id id; /* identity of what is served (strings owned by the type) */
  int (*url)(const swath__remote *r, swath_tile t, char *buf, size_t cap);
  void *ctx;           /* for url(); freed with free_ctx */
  void (*free_ctx)(void *ctx);
  int has_footprint;   /* footprint_lonlat is known (else the grid's extent) */
  swath_bounds footprint_lonlat;
  /* Where has_limits[z], only the tiles in limits[z] exist (WMTS
   * TileMatrixSetLimits): the others are empty, never asked for. */
  unsigned char has_limits[SWATH_GRID_MAX_ZOOMS];
  swath_tile_range limits[SWATH_GRID_MAX_ZOOMS];
  /* set by swath__remote_init: */
  int offline;         /* never fetch: a tile missing from the cache is an error */
  int check;           /* probe the host when opening (xyz; others fetch capabilities) */
  char dir[4096];      /* cache folder of this source */
  swath_fetcher *fetcher;
  int own_fetcher;
  OGRCoordinateTransformationH to_src; /* grid CRS -> service CRS */
  char *src_wkt;
  const swath_grid *grid;
  swath_secrets secrets; /* the job's secret parameters, for URLs built from a
                            redacted document (see swath__remote_document) */
  /* the spec's: decoded tiles shared with the run's other handles of this
   * input (tile_memo.h); NULL: none */
  swath_tile_memo *memo;
  /* read()'s mosaic, kept for the next read (remote.c: mosaic_buffer);
   * a handle is used by one thread at a time */
  unsigned char *mosaic;
  size_t mosaic_cap;
};

/* A zeroed remote state of `type` with a zeroed context of ctx_size bytes
 * (which free_ctx frees, on close), or NULL if out of memory. */
swath__remote *swath__remote_new(const char *type, size_t ctx_size, void (*free_ctx)(void *),
                                 int (*url)(const swath__remote *, swath_tile, char *, size_t));

/* Check the input's keys against the type's `own` keys plus the common
 * ones, and read the common ones into r (zoom, min_zoom, max_zoom, bands,
 * bounds, offline). Sets r->zoom = -1 when no zoom is given. */
int swath__remote_parse_common(swath__remote *r, const swath_source_spec *spec,
                               const char *const *own);

/* The fetcher this source uses: the spec's, or one of its own made from its
 * options (none when offline). Types that need documents at open call it
 * early; init calls it otherwise. */
int swath__remote_fetcher(swath__remote *r, const swath_source_spec *spec);

/* Finish opening: cache folder, fetcher (the spec's, or an own one),
 * transformation, info. Call after the type's fields are set. */
int swath__remote_init(swath__remote *r, const swath_source_spec *spec, const swath_grid *g,
                       swath_source_info *info);

/* Options of the input, left as they are when absent; errors name the
 * input, the key and the line. A string: *out = value or `def`. */
int swath__remote_string(const swath_source_spec *spec, const char *key, const char *def,
                         const char **out);
int swath__remote_long(const swath_source_spec *spec, const char *key, long lo, long hi, long *out);
int swath__remote_bool(const swath_source_spec *spec, const char *key, int *out);

/* A document the source needs at open (GetCapabilities), cached under
 * {cache root}/capabilities/ for `max_age` seconds so that every worker's
 * open and every rerun within that time reads it from disk. Offline (`f`
 * NULL) the cached copy is used whatever its age. *body is NUL-terminated;
 * caller frees. *age: how old the cached copy used is, in seconds, or -1 if
 * it was fetched now (-v logs it). SWATH_EINVAL with one line naming the
 * input if it cannot be had. The document comes with its secrets redacted,
 * as it is cached (a service may write the caller's key into its URLs): a
 * URL taken from it gets them back from the job when a tile's URL is made.
 * The cache file is named after the URL with its secrets redacted, so a
 * rotated key finds it. */
int swath__remote_document(const swath_source_spec *spec, swath_fetcher *f, const char *url,
                           long max_age, char **body, long *age);

/* An error `rc` (its message set) found in the document of `url`: when that
 * came from the cache (`age` >= 0), the message says so, and how old it is,
 * since what it lists may be out of date. Returns rc. */
int swath__remote_document_error(const swath_source_spec *spec, int rc, const char *url, long age,
                                 int offline);

/* "45 s", "12 min", "3.0 hours", "2.1 days". */
void swath__remote_age_text(long seconds, char *buf, size_t cap);

/* Build a quadtree request grid in `crs` with square `block`-pixel tiles:
 * WebMercatorQuad for EPSG:3857, WorldCRS84Quad for EPSG:4326/CRS84, else
 * one tile at zoom 0 over the CRS's area of use, halving down to zoom 24.
 * Fixed by (crs, block) alone, so cache keys are stable across jobs. */
int swath__remote_quad_grid(const char *crs, int block, swath_grid *g);

/* Fetch kinds and file extension for a MIME type or extension ("image/png",
 * "png", "jpeg", ...). SWATH_EINVAL for others. */
int swath__remote_format(const char *format, unsigned *kinds, char ext[8]);

/* Append s to buf percent-encoded (RFC 3986 unreserved kept). */
int swath__remote_escape(char *buf, size_t cap, const char *s);

/* Decode the cached tile at `path` (tw x th pixels) into the mosaic
 * `planes` (bands + 1 planes of mw x mh) at (ox, oy), or copy it from
 * r->memo where another read decoded that file: see remote_tile.c.
 * On an error other than SWATH_ENOMEM, *undecodable is set: the file is not
 * a tile of that size (damaged, cut short, or something else). */
int swath__remote_paste(const swath__remote *r, const char *path, unsigned char *planes, int mw,
                        int mh, int ox, int oy, int tw, int th, int *undecodable);

int swath__remote_read(void *state, const swath_read_req *req, swath_raster *out);
int swath__remote_requests(void *state, const swath_read_req *req, swath_source_request_fn fn,
                           void *ud);
void swath__remote_close(void *state);

/* The capabilities checks of the wms and wmts types alone, on a document in
 * memory, for the fuzz targets (tests/fuzz): what open() does with the
 * fetched document, with the given options. wmts: *grid is the matrix set. */
int swath__wms_check_caps(const char *doc, const char *layers, const char *crs, const char *format);
int swath__wmts_read_caps(const char *doc, const char *layer, const char *tms, const char *style,
                          const char *format, swath_grid *grid);

#endif
