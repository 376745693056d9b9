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
 * Bump SWATH_PLUGIN_ABI whenever a struct below changes layout. */
#ifndef SWATH_PLUGIN_H
#define SWATH_PLUGIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SWATH_PLUGIN_ABI 1

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
 * "integer", "boolean", "string". default_value NULL means required. */
typedef struct swath_param {
  const char *name;
  const char *type;
  const char *default_value;
  const char *description;
} swath_param;

/* Opaque parameter set of one job. */
typedef struct swath_params swath_params;

/* What the host offers a plugin. */
typedef struct swath_host {
  int abi_version;
  /* The job's value of a parameter as text, or its declared default, or NULL. */
  const char *(*param)(const swath_params *p, const char *name);
  /* Record the error message for the failing call and return `code`. */
  int (*error)(int code, const char *fmt, ...);
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
