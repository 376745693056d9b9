/* catalog.h: the scene catalog. Scenes (Sentinel-2 granules from Google's
 * index, STAC items, local rasters) live in one SQLite file with an R*Tree
 * over footprint bounds and time; they are searched with STAC API semantics
 * and ranked by colour statistics computed from their true-colour assets.
 *
 * Everything the CLI and the HTTP server do goes through this header, so the
 * two answer a query identically: both turn their input into the same
 * search-body JSON (the STAC POST /search shape), parse it with
 * swath_search_parse() and run it with swath_search_run().
 *
 * A swath_catalog is one SQLite connection: use it from one thread at a time
 * (give each thread its own, opened read-only for readers). Readers in other
 * processes see committed data while a writer ingests (WAL mode). */
#ifndef SWATH_CATALOG_CATALOG_H
#define SWATH_CATALOG_CATALOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json_out.h"

typedef struct swath_catalog swath_catalog;

#define SWATH_CATALOG_READONLY 0x1 /* no writes; fails if the file is missing */
#define SWATH_CATALOG_CREATE 0x2   /* create the file and schema if missing */

int swath_catalog_open(const char *path, int flags, swath_catalog **out);
void swath_catalog_close(swath_catalog *c);

/* ---- time ---------------------------------------------------------------
 * Times are int64 milliseconds since 1970-01-01T00:00:00Z. */

/* RFC 3339 date-time ("2023-06-15T10:25:59.024Z", offsets allowed), or a
 * bare date ("2023-06-15"): its first millisecond, or with end_of_day its
 * last one. SWATH_EINVAL naming `what` on anything else. */
int swath_time_parse(const char *s, int end_of_day, const char *what, int64_t *ms);
/* The same, and *sub_ns: what the instant has beyond *ms, which is rounded
 * down (0-999999 ns; 1 for a fraction below a nanosecond). Callers
 * comparing with millisecond times round bounds inwards with it. */
int swath_time_parse_ns(const char *s, int end_of_day, const char *what, int64_t *ms,
                        int32_t *sub_ns);
/* "2023-06-15T10:25:59.024Z" (milliseconds only when non-zero); buf >= 32. */
void swath_time_format(int64_t ms, char *buf);

/* ---- scenes and ingest --------------------------------------------------- */

enum swath_scene_kind {
  SWATH_SCENE_STAC = 0, /* doc is a STAC Item (JSON) */
  SWATH_SCENE_S2 = 1    /* doc is the index row's other fields (see item.c) */
};
/* Flags ORed into swath_scene.kind: which time properties the scene really
 * has (dt, dt0 and dt1 are always set, for indexing and sorting; filters
 * see the absent ones as NULL), and whether it has a footprint at all. */
#define SWATH_SCENE_KIND_MASK 0x0f
#define SWATH_SCENE_NO_DATETIME 0x10 /* datetime is null: dt is dt0 */
#define SWATH_SCENE_HAS_START 0x20   /* start_datetime is set (dt0) */
#define SWATH_SCENE_HAS_END 0x40     /* end_datetime is set (dt1) */
#define SWATH_SCENE_NO_GEOMETRY 0x80 /* geometry is null: no spatial search finds it */

/* One scene as an ingest format hands it to the store. Strings are borrowed
 * for the duration of the put() call. */
typedef struct swath_scene {
  const char *id;
  const char *collection;
  int kind;
  int64_t dt, dt0, dt1;     /* datetime, and the start/end of its interval */
  double cloud;             /* eo:cloud_cover, NAN when unknown */
  double bbox[4];           /* west, south, east, north; west > east crosses 180 */
  const unsigned char *wkb; /* exact footprint (EPSG:4326), NULL: the bbox */
  size_t wkb_len;
  const char *doc;
  const char *color_src; /* what colour stats read: a change forgets them */
} swath_scene;

typedef struct swath_ingest_opts {
  const char *collection; /* collection for scenes that name none */
  const char *format;     /* "s2csv", "stac" or "rasters"; NULL: detect */
  int rgb_bands[3];       /* rasters: bands holding R, G, B (0s: 1, 2, 3) */
  /* Called for each malformed record; line is 1-based (0: not line-based,
   * e.g. a file in a folder, named by `source`). */
  void (*on_bad)(void *ud, const char *source, int64_t line, const char *msg);
  void *ud;
} swath_ingest_opts;

typedef struct swath_ingest_report {
  int64_t read;      /* records seen */
  int64_t inserted;  /* new scenes */
  int64_t updated;   /* scenes that existed (same collection and id) */
  int64_t malformed; /* records rejected (each reported via on_bad) */
  const char *format;
} swath_ingest_report;

/* Ingest a file or folder (any GDAL virtual path works too: /vsicurl/...,
 * /vsigzip/...; .gz files are read through /vsigzip/). Streams records,
 * commits in large transactions; re-ingesting a scene updates it in place. */
int swath_catalog_ingest(swath_catalog *c, const char *path, const swath_ingest_opts *o,
                         swath_ingest_report *r);

/* ---- search ------------------------------------------------------------- */

#define SWATH_SEARCH_DEFAULT_LIMIT 10
#define SWATH_SEARCH_MAX_LIMIT 10000

typedef struct swath_search swath_search;

/* Turn GET-style parameters (bbox=1,2,3,4; ids=a,b; sortby=-datetime;
 * intersects/filter/query as JSON text; ...) into a search body of the STAC
 * POST /search shape. keys/vals have n entries; unknown keys are an error
 * unless ignore_unknown. Returns a new reference in *out. */
int swath_search_body_from_params(const char *const *keys, const char *const *vals, size_t n,
                                  int ignore_unknown, json_t **out);
/* Parse and validate a search body. SWATH_EINVAL with a message naming the
 * parameter for anything invalid (bad datetime, wrong bbox length, negative
 * limit, bbox with intersects, bad filter, bad token...). `body` is copied. */
int swath_search_parse(const json_t *body, swath_search **out);
void swath_search_free(swath_search *q);
/* Restrict to one collection (the /collections/{id}/items route). */
int swath_search_set_collection(swath_search *q, const char *collection);
/* The parsed body (for building next links): borrowed. */
const json_t *swath_search_body(const swath_search *q);

typedef struct swath_page {
  char *features; /* the STAC Items as a JSON array ("[{...},...]", compact,
                     reals with SWATH_JSON_DIGITS digits); NULL with ids_only */
  size_t features_len;
  char *ids;        /* ids_only: "collection\0id\0" for each item, in order */
  size_t ids_len;   /* bytes in ids */
  int64_t matched;  /* numberMatched; -1 when over the count limit */
  int returned;     /* numberReturned */
  char *next_token; /* token of the next page, NULL on the last page */
  json_t *warnings; /* array of strings, or NULL */
} swath_page;

typedef struct swath_search_opts {
  int64_t count_limit; /* count matches up to this many (0: no limit, < 0: never) */
  int ids_only;        /* the page holds ids, not features (swath_page.ids) */
  const char *links_base; /* give each item this server's links under this URL
                             (no trailing slash); NULL: no links */
} swath_search_opts;

/* Run a search. Unknown collections are SWATH_EINVAL (HTTP 400). */
int swath_search_run(swath_catalog *c, const swath_search *q, const swath_search_opts *o,
                     swath_page *page);
void swath_page_clear(swath_page *p);
/* The ItemCollection of a page (type, features, numberReturned,
 * numberMatched when known, the given links (may be NULL), warnings as
 * "swath:warnings") as compact JSON text appended to out. SWATH_ENOMEM if
 * it could not be written. */
int swath_page_write(const swath_page *p, const json_t *links, swath_jtext *out);

/* One item by collection and id: SWATH_ENOTFOUND if absent. */
int swath_catalog_get_item(swath_catalog *c, const char *collection, const char *id, json_t **out);

/* Collections as STAC Collection objects (links not included). */
int swath_catalog_collections(swath_catalog *c, json_t **out);
int swath_catalog_collection(swath_catalog *c, const char *id, json_t **out);

/* The properties a filter, query or sortby may name (a JSON Schema object
 * for /queryables). */
json_t *swath_catalog_queryables(void);

/* ---- colour statistics ---------------------------------------------------- */

enum swath_stats_method { SWATH_STATS_EXACT, SWATH_STATS_STEP, SWATH_STATS_OVERVIEW };

typedef struct swath_stats_opts {
  enum swath_stats_method method;
  int step;     /* SWATH_STATS_STEP: read every step-th pixel of every step-th row */
  int overview; /* SWATH_STATS_OVERVIEW: longest side of the reduced read */
  int threads;  /* worker threads (>= 1) */
  int force;    /* recompute even when a cached value would do */
  void (*on_fail)(void *ud, const char *collection, const char *id, const char *msg);
  void *ud;
} swath_stats_opts;

typedef struct swath_stats_report {
  int64_t selected, computed, cached, failed, no_data;
} swath_stats_report;

/* Compute mean R, G, B and brightness for every scene the search selects
 * (its limit and token are ignored) and cache them in the catalog. A scene
 * that cannot be read is counted and reported, not fatal. */
int swath_catalog_stats(swath_catalog *c, const swath_search *q, const swath_stats_opts *o,
                        swath_stats_report *r);

/* The statistics of one raster (exposed for tests): means over the pixels
 * where no band is nodata (its declared nodata value, its mask or alpha, or
 * 0 when zero_nodata is set, as for Sentinel-2 TCI and band files).
 * paths[k] and bands[k] (1-based) name the band holding red, green, blue:
 * the same file three times or three single-band files. scale > 0 maps
 * values v to min(v * scale, 255) (12-bit reflectance to the TCI scale). */
typedef struct swath_rgb_stats {
  double mean[3];
  double brightness;
  int64_t pixels;
  char method[48];
} swath_rgb_stats;
int swath_rgb_stats_compute(const char *const paths[3], const int bands[3], double scale,
                            int zero_nodata, const swath_stats_opts *o, swath_rgb_stats *out);

/* ---- item helpers --------------------------------------------------------- */

/* Add self/parent/collection/root links under `base` (no trailing slash). */
void swath_item_add_links(json_t *item, const char *base);
/* A GDAL-openable path for an asset href (gs:// and http(s) through
 * /vsicurl/, file:// and plain paths as they are). Caller frees. */
char *swath_href_to_gdal(const char *href);

#endif
