/* swath/plugin.h: the process interface, the one header a plugin includes.
 *
 * A process computes one process tile (a metatile plus its pixel buffer) from
 * the job's inputs, already reprojected onto the tile's pixel grid. Built-in
 * processes and plugins implement the same struct of function pointers.
 *
 * A plugin is a shared library that exports exactly one symbol:
 *
 *     const swath_process_vtable *swath_plugin_entry(int host_abi);
 *
 * swath calls it with SWATH_PLUGIN_ABI; the plugin returns its vtable (whose
 * abi_version must equal SWATH_PLUGIN_ABI) or NULL if it cannot serve that
 * ABI. The header is self-contained (no GDAL, no swath symbols to link
 * against): everything the host offers a plugin comes through swath_host.
 *
 * Threading: init and destroy run once, on one thread. run is called
 * concurrently from several worker threads with the same state, so it must
 * not modify state; per-call scratch memory belongs on the stack or heap.
 *
 * A vector process (a detector, contours) adds features instead of (or as
 * well as) pixels: it sets info->features in init and calls
 * host->feature_add for each feature it finds in the block; the host keeps
 * those the tile owns (see swath_feature) and writes them to the job's
 * features store atomically with the task's state.
 *
 * Bump SWATH_PLUGIN_ABI whenever a struct below changes layout. */
#ifndef SWATH_PLUGIN_H
#define SWATH_PLUGIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SWATH_PLUGIN_ABI 2

/* Return codes shared with the host (see src/core/error.h). */
#define SWATH_PLUGIN_OK 0
#define SWATH_PLUGIN_EINVAL (-1) /* bad parameters: reported as a config error */
#define SWATH_PLUGIN_EIO (-2)    /* the tile failed */
#define SWATH_PLUGIN_EEMPTY (-5) /* the tile has no data: nothing is written */

/* Pixel types; the numbers equal GDAL's GDALDataType. */
typedef enum swath_dtype {
  SWATH_DT_UNKNOWN = 0,
  SWATH_DT_BYTE = 1,
  SWATH_DT_UINT16 = 2,
  SWATH_DT_INT16 = 3,
  SWATH_DT_UINT32 = 4,
  SWATH_DT_INT32 = 5,
  SWATH_DT_FLOAT32 = 6,
  SWATH_DT_FLOAT64 = 7
} swath_dtype;

/* A band-sequential pixel block: the value of band b at column x, row y is
 * element (b * height + y) * width + x of `data`, typed by `dtype`.
 * `mask` has width*height bytes, 255 where the pixel holds data and 0 where
 * it does not (nodata, alpha 0, outside the input); NULL means all valid. */
typedef struct swath_raster {
  int width, height, bands;
  swath_dtype dtype;
  void *data;
  unsigned char *mask;
} swath_raster;

/* A parameter the process accepts. Lists end with name == NULL. The host
 * rejects any job parameter that is not listed. type is one of "number",
 * "integer", "boolean", "string", "path" (a file, resolved against the job
 * file's folder unless a URL). default_value NULL means required. A job's
 * nested mappings arrive as dotted names ("chip.size") and lists as one
 * comma-separated value ("1,2,3"). */
typedef struct swath_param {
  const char *name;
  const char *type;
  const char *default_value;
  const char *description;
} swath_param;

/* Opaque parameter set of one job. */
typedef struct swath_params swath_params;

/* Where a vector process adds the features of one process tile (opaque). */
typedef struct swath_features swath_features;

/* One feature a vector process found. The host copies what it keeps.
 *
 * Ownership: features near a tile edge are seen by the process tiles on
 * both sides (their blocks overlap by the pixel buffer). The host keeps a
 * feature only in the tile that holds its anchor (for a box, its centre),
 * decided in the zoom's pixel lattice (ctx->col0 + anchor_col), so the
 * same object is kept exactly once whatever the metatiling. */
typedef struct swath_feature {
  const char *wkt;        /* geometry, grid CRS (POLYGON, LINESTRING, POINT ...) */
  double anchor_col;      /* the anchor, in the block's pixel coordinates */
  double anchor_row;      /*   (0,0 = top-left corner of the block's first pixel) */
  const char *cls;        /* class name (NULL: none) */
  double score;           /* 0..1 */
  int has_value;          /* value is set (e.g. a contour's elevation) */
  double value;
} swath_feature;

/* What the host offers a plugin. */
typedef struct swath_host {
  int abi_version;
  /* The job's value of a parameter as text, or its declared default, or NULL. */
  const char *(*param)(const swath_params *p, const char *name);
  /* Record the error message for the failing call and return `code`. */
  int (*error)(int code, const char *fmt, ...);
  /* Add a feature of the tile being run (ctx->features); the host keeps it
   * if the tile owns it. 0, or SWATH_PLUGIN_EINVAL (bad WKT, NaN anchor). */
  int (*feature_add)(swath_features *fs, const swath_feature *f);
} swath_host;

/* One of the job's inputs, as known before any tile is read. */
typedef struct swath_input_desc {
  const char *name;   /* the key under `inputs:` in the job */
  int bands;
  swath_dtype dtype;  /* native type of the input's first band */
} swath_input_desc;

/* Filled in by init: what the process needs and what it produces. The host
 * pre-fills in_dtype = SWATH_DT_UNKNOWN (native types), out_bands and
 * out_dtype from the first input, pixel_buffer = 0, categorical = 0. */
typedef struct swath_process_info {
  swath_dtype in_dtype;  /* type the inputs are delivered in (UNKNOWN: native) */
  int out_bands;
  swath_dtype out_dtype;
  int pixel_buffer;      /* halo the process needs on each side, in pixels */
  int categorical;       /* 1: overviews use nearest, not average */
  int features;          /* 1: a vector process: it adds features and writes no
                            tiles (out_bands is ignored; one zoom, no overviews) */
} swath_process_info;

/* One process tile. inputs[i] and out cover the same pixels: the metatile
 * plus `buffer` pixels on each side. out->data comes zeroed. The host fills
 * out->mask with the intersection of the inputs' masks before run; the
 * process may clear more pixels. Only the interior (without the buffer) is
 * written. */
typedef struct swath_tile_ctx {
  int ninputs;
  const swath_input_desc *input_desc;
  const swath_raster *inputs;
  swath_raster *out;
  int buffer;
  double res_x, res_y;   /* pixel size, grid CRS units (res_y > 0) */
  double minx, miny, maxx, maxy; /* bounds of the buffered block, grid CRS */
  int geographic;        /* 1 if grid units are degrees */
  int zoom;
  /* The block's top-left pixel in the zoom's whole pixel lattice (column
   * and row counted from the grid's origin, the buffer included): a
   * process that lays chips on a lattice anchored there sees the same chips
   * whatever the metatiling. */
  long long col0, row0;
  swath_features *features; /* where feature_add puts them (vector processes) */
} swath_tile_ctx;

typedef struct swath_process_vtable {
  int abi_version;        /* SWATH_PLUGIN_ABI */
  const char *name;
  const char *description;
  const swath_param *params;
  int (*init)(const swath_host *host, const swath_params *params,
              const swath_input_desc *inputs, int ninputs,
              swath_process_info *info, void **state);
  int (*run)(const void *state, swath_tile_ctx *ctx);
  void (*destroy)(void *state);
  /* Optional: one line for the run's summary (a model's busy time against
   * the run's `wall_s`), into buf; called once, after the workers. */
  void (*summary)(const void *state, double wall_s, char *buf, size_t n);
} swath_process_vtable;

typedef const swath_process_vtable *(*swath_plugin_entry_fn)(int host_abi);
#define SWATH_PLUGIN_ENTRY "swath_plugin_entry"

/* Size in bytes of one sample of a type (0 for UNKNOWN). */
static inline size_t swath_dtype_size(swath_dtype t) {
  switch (t) {
  case SWATH_DT_BYTE: return 1;
  case SWATH_DT_UINT16: case SWATH_DT_INT16: return 2;
  case SWATH_DT_UINT32: case SWATH_DT_INT32: case SWATH_DT_FLOAT32: return 4;
  case SWATH_DT_FLOAT64: return 8;
  default: return 0;
  }
}

#ifdef __cplusplus
}
#endif
#endif
