/* job.h: a job file, parsed and validated. Everything a run needs to know
 * about what to compute, and nothing about how (threads, progress): those are
 * run options. Relative paths in the job are resolved against the job file's
 * folder, as mapchete does, so a job runs the same from any working dir. */
#ifndef SWATH_ENGINE_JOB_H
#define SWATH_ENGINE_JOB_H

#include "core/config.h"
#include "core/grid.h"
#include "process/process.h"

typedef struct swath_job_input {
  char *name;           /* key under inputs: */
  char *type;           /* source type: "gdal" (default) or a remote one */
  char *uri;            /* gdal: resolved path or connection string; else NULL */
  const swath_cfg *cfg; /* the input's mapping (owned by the job's tree), or NULL */
} swath_job_input;

typedef struct swath_job {
  char *path;      /* the job file */
  char *text;      /* the job file's text, stored with the output */
  swath_cfg *tree; /* the parsed job; inputs point into it */
  char *cache_dir; /* tile cache root for remote inputs (cache.path or the default) */
  char *process;
  swath_params *params;
  int ninputs;
  swath_job_input *inputs;

  swath_grid grid;
  int metatiling, pixel_buffer;
  int min_zoom, max_zoom;

  /* area: bounds (in bounds_crs) or a file or nothing (inputs' footprint) */
  int has_bounds;
  swath_bounds bounds;
  char *bounds_crs;
  char *area_file;
  int zoom_from_cli, area_from_cli; /* set by swath_job_set_zoom / swath_job_set_bounds */

  char *out_path;
  const char *sink;  /* the output's sink type (io/sink.h registry): SWATH_SINK_DEFAULT */
  const char *store; /* the state store type (engine/store.h registry): SWATH_STORE_DEFAULT */
  char *format;      /* GTiff | PNG | JPEG | WEBP */
  swath_dtype dtype; /* UNKNOWN: what the process produces */
  char *compression; /* GTiff only */
  int quality;       /* JPEG / WEBP */
  char *resampling;  /* input reprojection */
  double warp_error; /* transformer approximation, pixels; 0 = exact */
  int overviews;     /* 1: zooms below max built from children */
  char *overview_resampling; /* average | nearest (NULL: by data kind) */
  int has_nodata;
  double nodata;
  int link_empty; /* output.empty_tiles: link (not in the job key: no pixel changes) */
  /* A vector process's features store: output.features (a .gpkg path or a
   * PG: connection), by default {out_path}/features.gpkg; and the density
   * heatmap built from it after the run (output.heatmap's node, or NULL). */
  char *features;
  const swath_cfg *heatmap;
  struct swath_job_heatmap {
    int min_zoom, max_zoom;
    double cell; /* cell_metres: ground metres; else CRS units */
    int cell_metres, value_score, has_threshold;
    double threshold, max;
  } hm; /* output.heatmap, checked at load (when heatmap is set) */
} swath_job;

/* job_params.c: `params:` flattened to dotted keys (a.b) and comma-joined
 * lists, and the values of "path" parameters resolved against `dir`. */
int swath_job_parse_params(swath_job *job, const swath_cfg *c);
int swath_job_resolve_path_params(swath_job *job, const char *dir, const swath_cfg *c);

/* Parse and validate a job file. Errors name the file and line. */
int swath_job_load(const char *path, swath_job **out);
/* The same from the job's text (a queued job's, engine/queue.h): `path`
 * names it in messages and its folder resolves relative paths. */
int swath_job_load_text(const char *path, const char *text, swath_job **out);
void swath_job_free(swath_job *job);
/* Override zooms ("12" or "12-15") with the same checks as the file's. */
int swath_job_set_zoom(swath_job *job, const char *spec);
/* Override the area with lon/lat bounds "minx,miny,maxx,maxy". */
int swath_job_set_bounds(swath_job *job, const char *spec);
/* Parse "a,b,c,d" into bounds; SWATH_EINVAL naming `what` otherwise. */
int swath_parse_bounds(const char *spec, const char *what, swath_bounds *b);
/* Parse "Z" or "Z1-Z2". */
int swath_parse_zoom_range(const char *spec, const char *what, int *zmin, int *zmax);

/* The job as run, as YAML (malloc'd, the caller frees): the job file's
 * tree with zoom and area as this run used them (--zoom, --bounds), after
 * `header` (comment lines, or NULL). */
int swath_job_yaml(const swath_job *job, const char *header, char **out);
/* The job's area in words ("bounds W,S,E,N (CRS)", "file PATH" or "the
 * inputs' footprint"), numbers as they round-trip. */
void swath_job_area_text(const swath_job *job, char *buf, size_t n);

/* A key of everything that changes the pixels of a finished tile (process,
 * params, inputs and their size/mtime, grid, format ...) but not the zooms or
 * area: a run over a new area reuses the tiles it shares with the old one.
 * Writes 16 hex digits + NUL into key. */
void swath_job_key(const swath_job *job, char key[17]);

#endif
