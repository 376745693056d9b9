/* job.c: job file -> swath_job. All validation that needs only the file
 * happens here, so a bad job fails before anything is opened or written:
 * unknown keys, types, ranges, the process and its parameters. Checks that
 * need the data (inputs readable, area overlaps them) happen in run.c. */
#include "engine/job.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/raster.h"
#include "core/secret.h"
#include "engine/heatmap.h"
#include "engine/job_path.h"
#include "engine/store.h"
#include "io/cache.h"
#include "io/sink.h"
#include "io/source.h"

int swath_parse_zoom_range(const char *spec, const char *what, int *zmin, int *zmax) {
  char *end;
  errno = 0;
  long a = strtol(spec, &end, 10), b = a;
  if (end != spec && *end == '-') {
    const char *s2 = end + 1;
    b = strtol(s2, &end, 10);
    if (end == s2) end = (char *)spec;
  }
  if (end == spec || *end || errno || a < 0 || b < 0 || a > 30 || b > 30)
    return swath_error_set(SWATH_EINVAL, "%s: expected a zoom or a range like 12-15, got '%s'",
                           what, spec);
  *zmin = (int)(a < b ? a : b);
  *zmax = (int)(a < b ? b : a);
  return 0;
}

int swath_parse_bounds(const char *spec, const char *what, swath_bounds *b) {
  double v[4];
  const char *s = spec;
  for (int i = 0; i < 4; i++) {
    char *end;
    errno = 0;
    v[i] = strtod(s, &end);
    if (end == s || errno || (i < 3 && *end != ',') || (i == 3 && *end))
      return swath_error_set(
          SWATH_EINVAL, "%s: expected minx,miny,maxx,maxy (four numbers), got '%s'", what, spec);
    s = end + 1;
  }
  if (v[1] >= v[3])
    return swath_error_set(SWATH_EINVAL, "%s: miny %g must be below maxy %g", what, v[1], v[3]);
  if (v[0] == v[2])
    return swath_error_set(SWATH_EINVAL, "%s: minx equals maxx (%g): empty area", what, v[0]);
  *b = (swath_bounds){v[0], v[1], v[2], v[3]};
  return 0;
}

static int check_zooms(swath_job *job, const char *where) {
  const swath_grid *g = &job->grid;
  if (job->min_zoom < g->min_zoom || job->max_zoom > g->max_zoom)
    return swath_error_set(SWATH_EINVAL, "%s: zoom %d-%d is out of range for grid %s (%d-%d)",
                           where, job->min_zoom, job->max_zoom, g->name, g->min_zoom, g->max_zoom);
  return 0;
}

int swath_job_set_zoom(swath_job *job, const char *spec) {
  int rc = swath_parse_zoom_range(spec, "--zoom", &job->min_zoom, &job->max_zoom);
  job->zoom_from_cli = 1;
  return rc ? rc : check_zooms(job, "--zoom");
}

int swath_job_set_bounds(swath_job *job, const char *spec) {
  swath_bounds b;
  int rc = swath_parse_bounds(spec, "--bounds", &b);
  if (rc) return rc;
  if (b.miny < -90 || b.maxy > 90 || b.minx < -180 || b.maxx > 180 || b.minx > 180)
    return swath_error_set(SWATH_EINVAL, "--bounds: '%s' is not lon/lat (EPSG:4326) bounds", spec);
  job->has_bounds = 1;
  job->area_from_cli = 1;
  job->bounds = b;
  free(job->bounds_crs);
  job->bounds_crs = strdup("EPSG:4326");
  free(job->area_file);
  job->area_file = NULL;
  return job->bounds_crs ? 0 : SWATH_ENOMEM;
}

static int dup_scalar(const swath_cfg *c, const char *what, char **out) {
  const char *s;
  int rc = swath_cfg_string(c, what, &s);
  if (rc) return rc;
  free(*out);
  *out = strdup(s);
  return *out ? 0 : SWATH_ENOMEM;
}

static int parse_inputs(swath_job *job, const swath_cfg *c, const char *dir) {
  if (!c || c->type != SWATH_CFG_MAP || c->n == 0)
    return c ? swath_cfg_error(c, "inputs: expected a mapping of name: path")
             : swath_error_set(SWATH_EINVAL, "%s: missing 'inputs'", job->path);
  job->inputs = calloc(c->n, sizeof *job->inputs);
  if (!job->inputs) return SWATH_ENOMEM;
  for (size_t i = 0; i < c->n; i++) {
    const swath_cfg *v = c->items[i];
    const char *name = c->keys[i], *uri = NULL, *type = "gdal";
    const swath_cfg *at = v;
    for (const char *p = name; *p; p++)
      if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (p != name && *p >= '0' && *p <= '9')))
        return swath_cfg_error(v, "inputs: name '%s' must be letters, digits and _", name);
    swath_job_input *in = &job->inputs[job->ninputs++];
    if (v->type == SWATH_CFG_MAP) {
      const swath_cfg *t = swath_cfg_get(v, "type");
      int rc;
      if (t && (rc = swath_cfg_string(t, "inputs.type", &type))) return rc;
      if (!swath_source_find(type))
        return swath_cfg_error(t, "inputs.%s.type: unknown source type '%s' (%s)", name, type,
                               swath_source_types());
      in->cfg = v;
      if (strcmp(type, "gdal") == 0) {
        /* Remote sources check their own keys when they open. */
        static const char *const keys[] = {"path", "type", NULL};
        if ((rc = swath_cfg_check_keys(v, "inputs", keys))) return rc;
        const swath_cfg *p = swath_cfg_get(v, "path");
        if (!p) return swath_cfg_error(v, "inputs.%s: missing 'path'", name);
        if ((rc = swath_cfg_string(p, "inputs.path", &uri))) return rc;
        at = p;
      }
    } else {
      int rc = swath_cfg_string(v, "inputs", &uri);
      if (rc) return rc;
    }
    in->name = strdup(name);
    in->type = strdup(type);
    if (!in->name || !in->type) return SWATH_ENOMEM;
    if (uri) {
      char what[300];
      snprintf(what, sizeof what, "inputs.%s", name);
      int rc = swath_job_gdal_path(dir, uri, at, what, &in->uri);
      if (rc) return rc;
    }
  }
  return 0;
}

static int parse_cache(swath_job *job, const swath_cfg *c, const char *dir) {
  const char *p = NULL;
  const swath_cfg *v = NULL;
  int rc;
  if (c) {
    static const char *const keys[] = {"path", NULL};
    if ((rc = swath_cfg_check_keys(c, "cache", keys))) return rc;
    v = swath_cfg_get(c, "path");
    if (v && (rc = swath_cfg_string(v, "cache.path", &p))) return rc;
  }
  if (p) {
    return swath_job_path(dir, p, v, "cache.path", &job->cache_dir);
  } else {
    char buf[4096];
    if ((rc = swath_cache_default_root(buf, sizeof buf))) return rc;
    job->cache_dir = strdup(buf);
  }
  return job->cache_dir ? 0 : SWATH_ENOMEM;
}

static int parse_grid(swath_job *job, const swath_cfg *c, const char *dir) {
  const char *name = "WebMercatorQuad";
  long tile_size = 0, meta = 1, buffer = 0; /* 0: the grid's own tile size */
  int rc = 0;
  if (c && c->type == SWATH_CFG_SCALAR) {
    name = c->value;
  } else if (c) {
    static const char *const keys[] = {"name", "tile_size", "metatiling", "pixel_buffer", NULL};
    if ((rc = swath_cfg_check_keys(c, "grid", keys))) return rc;
    const swath_cfg *v;
    if ((v = swath_cfg_get(c, "name")) && (rc = swath_cfg_string(v, "grid.name", &name))) return rc;
    if ((v = swath_cfg_get(c, "tile_size")) &&
        (rc = swath_cfg_int(v, "grid.tile_size", 16, 4096, &tile_size)))
      return rc;
    if ((v = swath_cfg_get(c, "metatiling")) &&
        (rc = swath_cfg_int(v, "grid.metatiling", 1, 64, &meta)))
      return rc;
    if (meta & (meta - 1))
      return swath_cfg_error(
          swath_cfg_get(c, "metatiling"),
          "grid.metatiling: %ld is not a power of two (1, 2, 4, 8, 16, 32 or 64)", meta);
    if ((v = swath_cfg_get(c, "pixel_buffer")) &&
        (rc = swath_cfg_int(v, "grid.pixel_buffer", 0, 1024, &buffer)))
      return rc;
  }
  char *p = NULL;
  if (!strstr(name, ".json"))
    p = strdup(name);
  else if ((rc = swath_job_path(dir, name, c, "grid.name", &p)))
    return rc;
  if (!p) return SWATH_ENOMEM;
  rc = swath_grid_load(p, (int)tile_size, &job->grid);
  free(p);
  if (rc == SWATH_ENOTFOUND)
    return swath_cfg_error(c,
                           "grid: unknown grid '%s' (WebMercatorQuad, WorldCRS84Quad, or a "
                           "TileMatrixSet .json file)",
                           name);
  if (rc) return rc;
  job->metatiling = (int)meta;
  job->pixel_buffer = (int)buffer;
  return 0;
}

static int parse_zoom(swath_job *job, const swath_cfg *c) {
  if (!c)
    return swath_error_set(SWATH_EINVAL, "%s: missing 'zoom' (a zoom or [min, max])", job->path);
  long a, b;
  int rc;
  if (c->type == SWATH_CFG_SCALAR) {
    if ((rc = swath_cfg_int(c, "zoom", 0, 30, &a))) return rc;
    b = a;
  } else if (c->type == SWATH_CFG_SEQ && c->n == 2) {
    if ((rc = swath_cfg_int(c->items[0], "zoom", 0, 30, &a)) ||
        (rc = swath_cfg_int(c->items[1], "zoom", 0, 30, &b)))
      return rc;
  } else {
    return swath_cfg_error(c, "zoom: expected a zoom or [min, max]");
  }
  job->min_zoom = (int)(a < b ? a : b);
  job->max_zoom = (int)(a < b ? b : a);
  if (job->min_zoom < job->grid.min_zoom || job->max_zoom > job->grid.max_zoom)
    return swath_cfg_error(c, "zoom %d-%d is out of range for grid %s (%d-%d)", job->min_zoom,
                           job->max_zoom, job->grid.name, job->grid.min_zoom, job->grid.max_zoom);
  return 0;
}

static int parse_area(swath_job *job, const swath_cfg *c, const char *dir) {
  if (!c) return 0;
  static const char *const keys[] = {"bounds", "crs", "file", NULL};
  int rc = swath_cfg_check_keys(c, "area", keys);
  if (rc) return rc;
  const swath_cfg *b = swath_cfg_get(c, "bounds"), *f = swath_cfg_get(c, "file"),
                  *crs = swath_cfg_get(c, "crs");
  if (!!b == !!f) return swath_cfg_error(c, "area: give exactly one of 'bounds' or 'file'");
  if (f) {
    /* A file's polygons carry their own CRS. */
    if (crs)
      return swath_cfg_error(crs, "area.crs: only for 'bounds'; the polygons of 'file' are read in "
                                  "their own CRS (remove crs)");
    const char *s;
    if ((rc = swath_cfg_string(f, "area.file", &s))) return rc;
    return swath_job_gdal_path(dir, s, f, "area.file", &job->area_file);
  }
  double v[4];
  if ((rc = swath_cfg_doubles(b, "area.bounds", v, 4))) return rc;
  if (v[1] >= v[3])
    return swath_cfg_error(b, "area.bounds: miny %g must be below maxy %g", v[1], v[3]);
  if (v[0] == v[2]) return swath_cfg_error(b, "area.bounds: minx equals maxx: empty area");
  job->has_bounds = 1;
  job->bounds = (swath_bounds){v[0], v[1], v[2], v[3]};
  const char *cs = "EPSG:4326";
  if (crs && (rc = swath_cfg_string(crs, "area.crs", &cs))) return rc;
  job->bounds_crs = strdup(cs);
  return job->bounds_crs ? 0 : SWATH_ENOMEM;
}

/* The folder swath fills (job.yaml, tiles, .swath/) must not be the one the
 * job file lives in, nor above it: the run would replace the job file or mix
 * the product with it. Compared as real paths (symlinks, "..", "."). */
static int check_output_folder(const swath_job *job, const swath_cfg *at) {
  char out[PATH_MAX], jobfile[PATH_MAX];
  if (!realpath(job->out_path, out) || !realpath(job->path, jobfile)) return 0; /* not there yet */
  size_t n = strlen(out);
  if (strcmp(out, "/") == 0) n = 0;
  if (strncmp(jobfile, out, n) == 0 && jobfile[n] == '/')
    return swath_cfg_error(at,
                           "output.path: '%s' holds the job file %s; swath writes job.yaml, "
                           "tiles and .swath/ there: use a folder of its own",
                           job->out_path, job->path);
  return 0;
}

/* output.heatmap: {zoom: Z | [Z1, Z2], cell: 100m | SIZE, value: count |
 * score, threshold: T, max: V} (engine/heatmap.h). */
static int parse_heatmap(swath_job *job, const swath_cfg *c) {
  if (c->type != SWATH_CFG_MAP)
    return swath_cfg_error(
        c, "output.heatmap: expected a mapping (zoom, cell, value, threshold, max)");
  static const char *const keys[] = {"zoom", "cell", "value", "threshold", "max", NULL};
  int rc = swath_cfg_check_keys(c, "output.heatmap", keys);
  if (rc) return rc;
  struct swath_job_heatmap *h = &job->hm;
  *h = (struct swath_job_heatmap){10, 16, 100, 1, 0, 0, 0, 0};
  const swath_cfg *v;
  long a, b;
  if ((v = swath_cfg_get(c, "zoom"))) {
    if (v->type == SWATH_CFG_SEQ && v->n == 2) {
      if ((rc = swath_cfg_int(v->items[0], "output.heatmap.zoom", 0, 30, &a)) ||
          (rc = swath_cfg_int(v->items[1], "output.heatmap.zoom", 0, 30, &b)))
        return rc;
    } else if ((rc = swath_cfg_int(v, "output.heatmap.zoom", 0, 30, &a))) {
      return rc;
    } else {
      b = a;
    }
    h->min_zoom = (int)(a < b ? a : b), h->max_zoom = (int)(a < b ? b : a);
  }
  const char *s;
  if ((v = swath_cfg_get(c, "cell"))) {
    if ((rc = swath_cfg_string(v, "output.heatmap.cell", &s))) return rc;
    if (swath_heatmap_parse_cell(s, &h->cell, &h->cell_metres))
      return swath_cfg_error(v, "output.heatmap.cell: %s", swath_error_message());
  }
  if ((v = swath_cfg_get(c, "value"))) {
    if ((rc = swath_cfg_string(v, "output.heatmap.value", &s))) return rc;
    if (strcmp(s, "count") && strcmp(s, "score"))
      return swath_cfg_error(v, "output.heatmap.value: '%s' is not count or score", s);
    h->value_score = strcmp(s, "score") == 0;
  }
  if ((v = swath_cfg_get(c, "threshold"))) {
    if ((rc = swath_cfg_double(v, "output.heatmap.threshold", &h->threshold))) return rc;
    if (h->threshold < 0 || h->threshold > 1)
      return swath_cfg_error(v, "output.heatmap.threshold: %g is not in [0, 1]", h->threshold);
    h->has_threshold = 1;
  }
  if ((v = swath_cfg_get(c, "max"))) {
    if ((rc = swath_cfg_double(v, "output.heatmap.max", &h->max))) return rc;
    if (!(h->max > 0)) return swath_cfg_error(v, "output.heatmap.max: must be above 0");
  }
  return 0;
}

/* output.features: the features store of a vector process (a GeoPackage
 * path, or a PG: connection), {output.path}/features.gpkg by default;
 * output.heatmap is read by engine/heatmap.c, kept as its node. */
static int parse_features(swath_job *job, const swath_cfg *c, const char *dir) {
  const swath_cfg *v = swath_cfg_get(c, "features");
  int rc;
  if (v) {
    const char *p;
    if ((rc = swath_cfg_string(v, "output.features", &p))) return rc;
    if (strncmp(p, "PG:", 3) == 0) {
      if (!(job->features = strdup(p))) return SWATH_ENOMEM;
    } else if ((rc = swath_job_path(dir, p, v, "output.features", &job->features))) {
      return rc;
    }
  } else {
    size_t n = strlen(job->out_path) + 20;
    if (!(job->features = malloc(n))) return SWATH_ENOMEM;
    snprintf(job->features, n, "%s/features.gpkg", job->out_path);
  }
  job->heatmap = swath_cfg_get(c, "heatmap");
  return job->heatmap ? parse_heatmap(job, job->heatmap) : 0;
}

static int parse_output(swath_job *job, const swath_cfg *c, const char *dir) {
  if (!c || c->type != SWATH_CFG_MAP)
    return c ? swath_cfg_error(c, "output: expected a mapping with at least 'path'")
             : swath_error_set(SWATH_EINVAL, "%s: missing 'output'", job->path);
  static const char *const keys[] = {"path",        "format",      "dtype",
                                     "compression", "quality",     "resampling",
                                     "warp_error",  "overviews",   "overview_resampling",
                                     "nodata",      "empty_tiles", "features",
                                     "heatmap",     NULL};
  int rc = swath_cfg_check_keys(c, "output", keys);
  if (rc) return rc;
  const swath_cfg *v;
  if (!(v = swath_cfg_get(c, "path"))) return swath_cfg_error(c, "output: missing 'path'");
  const char *p;
  if ((rc = swath_cfg_string(v, "output.path", &p))) return rc;
  if ((rc = swath_job_path(dir, p, v, "output.path", &job->out_path))) return rc;
  job->sink = SWATH_SINK_DEFAULT; /* no job key chooses another yet */
  job->store = SWATH_STORE_DEFAULT;
  if ((rc = check_output_folder(job, v))) return rc;
  if ((rc = parse_features(job, c, dir))) return rc;

  job->format = strdup("PNG");
  if ((v = swath_cfg_get(c, "format")) && (rc = dup_scalar(v, "output.format", &job->format)))
    return rc;
  static const char *const formats[] = {"GTiff", "PNG", "JPEG", "WEBP"};
  int known = 0;
  for (int i = 0; i < 4; i++)
    if (strcasecmp(job->format, formats[i]) == 0) {
      strcpy(job->format, formats[i]); /* canonical spelling, never longer */
      known = 1;
    }
  if (!known)
    return swath_cfg_error(v, "output.format: unknown format '%s' (GTiff, PNG, JPEG, WEBP)",
                           job->format);
  if ((v = swath_cfg_get(c, "dtype"))) {
    const char *s;
    if ((rc = swath_cfg_string(v, "output.dtype", &s))) return rc;
    if ((job->dtype = swath_dtype_parse(s)) == SWATH_DT_UNKNOWN)
      return swath_cfg_error(v,
                             "output.dtype: unknown type '%s' (Byte, UInt16, Int16, UInt32, "
                             "Int32, Float32, Float64)",
                             s);
  }
  const swath_cfg *cv = swath_cfg_get(c, "compression"), *qv = swath_cfg_get(c, "quality");
  if (cv && (rc = dup_scalar(cv, "output.compression", &job->compression))) return rc;
  long q = 0;
  if (qv && (rc = swath_cfg_int(qv, "output.quality", 1, 100, &q))) return rc;
  job->quality = (int)q;
  if (swath_sink_check_options(job->format, job->compression, job->quality))
    return swath_cfg_error(strncmp(swath_error_message(), "output.quality", 14) == 0 ? qv : cv,
                           "%s", swath_error_message());
  job->resampling = strdup("bilinear");
  if ((v = swath_cfg_get(c, "resampling")) &&
      (rc = dup_scalar(v, "output.resampling", &job->resampling)))
    return rc;
  static const char *const rs[] = {"near",    "bilinear", "cubic", "cubicspline", "lanczos",
                                   "average", "mode",     "max",   "min",         "med",
                                   "q1",      "q3",       "sum",   "rms",         NULL};
  known = 0;
  for (const char *const *r = rs; *r; r++)
    known |= strcmp(*r, job->resampling) == 0;
  if (!known)
    return swath_cfg_error(v,
                           "output.resampling: unknown method '%s' (near, bilinear, cubic, "
                           "cubicspline, lanczos, average, mode, max, min, med, q1, q3, sum, rms)",
                           job->resampling);
  job->warp_error = 0.125;
  if ((v = swath_cfg_get(c, "warp_error"))) {
    if ((rc = swath_cfg_double(v, "output.warp_error", &job->warp_error))) return rc;
    if (job->warp_error < 0 || job->warp_error > 10)
      return swath_cfg_error(
          v, "output.warp_error: %g is out of range (0 = exact, up to 10 pixels)", job->warp_error);
  }
  job->overviews = 1;
  if ((v = swath_cfg_get(c, "overviews")) &&
      (rc = swath_cfg_bool(v, "output.overviews", &job->overviews)))
    return rc;
  if ((v = swath_cfg_get(c, "overview_resampling"))) {
    if (!job->overviews)
      return swath_cfg_error(v, "output.overview_resampling: there are no overviews to resample "
                                "(overviews: false); remove one of them");
    if ((rc = dup_scalar(v, "output.overview_resampling", &job->overview_resampling))) return rc;
    if (strcmp(job->overview_resampling, "average") && strcmp(job->overview_resampling, "nearest"))
      return swath_cfg_error(v, "output.overview_resampling: '%s' is not average or nearest",
                             job->overview_resampling);
  }
  if ((v = swath_cfg_get(c, "nodata"))) {
    /* Their alpha band already marks missing pixels; a value under it would be invisible. */
    if (strcmp(job->format, "PNG") == 0 || strcmp(job->format, "WEBP") == 0)
      return swath_cfg_error(
          v,
          "output.nodata: %s tiles mark pixels without data by their alpha band; "
          "nodata is for GTiff and JPEG (remove it, or use one of those)",
          job->format);
    if ((rc = swath_cfg_double(v, "output.nodata", &job->nodata))) return rc;
    job->has_nodata = 1;
  }
  if ((v = swath_cfg_get(c, "empty_tiles"))) {
    const char *s;
    if ((rc = swath_cfg_string(v, "output.empty_tiles", &s))) return rc;
    if (strcmp(s, "none") && strcmp(s, "link"))
      return swath_cfg_error(v, "output.empty_tiles: '%s' is not none or link", s);
    job->link_empty = strcmp(s, "link") == 0;
  }
  return 0;
}

int swath_job_load(const char *path, swath_job **out) { return swath_job_load_text(path, NULL, out); }

int swath_job_load_text(const char *path, const char *text, swath_job **out) {
  *out = NULL;
  swath_job *job = calloc(1, sizeof *job);
  if (!job) return SWATH_ENOMEM;
  swath_cfg *root = NULL;
  char *dircopy = strdup(path);
  int rc = dircopy ? 0 : SWATH_ENOMEM;
  if (!rc) {
    job->path = strdup(path);
    if (!job->path)
      rc = SWATH_ENOMEM;
    else if (text)
      rc = (job->text = strdup(text)) ? 0 : SWATH_ENOMEM;
    else
      rc = swath_cfg_read_file(path, &job->text);
  }
  if (!rc) rc = swath_cfg_parse_string(job->text, path, &root);
  if (!rc && root->type != SWATH_CFG_MAP)
    rc = swath_cfg_error(root, "a job is a mapping with process, inputs, zoom and output");
  static const char *const keys[] = {"name", "process", "params", "inputs", "grid",
                                     "zoom", "area",    "output", "cache",  NULL};
  if (!rc) rc = swath_cfg_check_keys(root, "job", keys);
  const char *dir = dircopy ? dirname(dircopy) : ".";
  const swath_cfg *nm = rc ? NULL : swath_cfg_get(root, "name");
  const char *name;
  if (nm) rc = swath_cfg_string(nm, "name", &name); /* only for the user; but a string */
  if (!rc) {
    const swath_cfg *p = swath_cfg_get(root, "process");
    if (!p)
      rc = swath_error_set(SWATH_EINVAL, "%s: missing 'process' (see 'swath processes')", path);
    else if (!(rc = swath_cfg_string(p, "process", (const char **)&job->process))) {
      const char *pv = job->process;
      job->process = NULL;
      if (strchr(pv, '/') || strstr(pv, ".so"))
        rc = swath_job_path(dir, pv, p, "process", &job->process);
      else if (!(job->process = strdup(pv)))
        rc = SWATH_ENOMEM;
    }
  }
  if (!rc) rc = swath_job_parse_params(job, swath_cfg_get(root, "params"));
  if (!rc) rc = parse_inputs(job, swath_cfg_get(root, "inputs"), dir);
  if (!rc) rc = parse_cache(job, swath_cfg_get(root, "cache"), dir);
  if (!rc) rc = parse_grid(job, swath_cfg_get(root, "grid"), dir);
  if (!rc) rc = parse_zoom(job, swath_cfg_get(root, "zoom"));
  if (!rc) rc = parse_area(job, swath_cfg_get(root, "area"), dir);
  if (!rc) rc = parse_output(job, swath_cfg_get(root, "output"), dir);
  if (!rc) {
    swath_process proc;
    rc = swath_process_open(job->process, &proc);
    if (!rc) {
      rc = swath_process_check_params(proc.vt, job->params);
      if (!rc) rc = swath_job_resolve_path_params(job, dir, swath_cfg_get(root, "params"));
      swath_process_close(&proc);
    }
  }
  job->tree = root; /* inputs point into it */
  free(dircopy);
  if (rc) {
    swath_job_free(job);
    return rc;
  }
  *out = job;
  return 0;
}

void swath_job_free(swath_job *job) {
  if (!job) return;
  for (int i = 0; i < job->ninputs; i++) {
    free(job->inputs[i].name);
    free(job->inputs[i].type);
    free(job->inputs[i].uri);
  }
  swath_cfg_free(job->tree);
  free(job->cache_dir);
  free(job->inputs);
  swath_params_free(job->params);
  free(job->path);
  free(job->text);
  free(job->process);
  free(job->bounds_crs);
  free(job->area_file);
  free(job->out_path);
  free(job->features);
  free(job->format);
  free(job->compression);
  free(job->resampling);
  free(job->overview_resampling);
  free(job);
}

static void fnv(uint64_t *h, const void *data, size_t n) { *h = swath_fnv1a(*h, data, n); }
static void fnv_str(uint64_t *h, const char *s) { fnv(h, s ? s : "", s ? strlen(s) + 1 : 1); }

/* Every scalar of a config subtree, with its keys, in document order, and
 * with its secrets redacted (core/secret.h): a rotated API key is the same
 * job. A scalar without secrets is hashed as it is. `secret`: the scalar is
 * the value of a key that names a secret parameter. */
static void fnv_cfg(uint64_t *h, const swath_cfg *c, int secret) {
  if (c->type == SWATH_CFG_SCALAR) {
    char *v = secret ? NULL : swath_redact_dup(c->value);
    fnv_str(h, secret || (c->value && !v) ? SWATH_REDACTED : v);
    free(v);
    return;
  }
  fnv_str(h, c->type == SWATH_CFG_MAP ? "{" : "[");
  for (size_t k = 0; k < c->n; k++) {
    if (c->type == SWATH_CFG_MAP) fnv_str(h, c->keys[k]);
    fnv_cfg(h, c->items[k],
            c->type == SWATH_CFG_MAP && swath_secret_param(c->keys[k], strlen(c->keys[k])));
  }
}

void swath_job_key(const swath_job *job, char key[17]) {
  /* Not SWATH_FNV_OFFSET (a digit short of it): keys are stored with the
   * state, and changing the seed would make every job start over. */
  uint64_t h = 1469598103934665603ULL;
  fnv_str(&h, job->process);
  for (int i = 0; job->params && i < job->params->n; i++) {
    fnv_str(&h, job->params->keys[i]);
    fnv_str(&h, job->params->values[i]);
  }
  for (int i = 0; i < job->ninputs; i++) {
    fnv_str(&h, job->inputs[i].name);
    fnv_str(&h, job->inputs[i].type);
    char *uri = swath_redact_dup(job->inputs[i].uri); /* (a signed /vsicurl/ URL) */
    fnv_str(&h, uri ? uri : job->inputs[i].uri ? SWATH_REDACTED : NULL);
    free(uri);
    /* A remote input's identity is its configuration, less the options that
     * only change how it is fetched (connections, timeouts, ...): tuning
     * those must not throw finished tiles away. */
    for (size_t k = 0; job->inputs[i].cfg && k < job->inputs[i].cfg->n; k++) {
      if (!swath_source_option_changes_pixels(job->inputs[i].cfg->keys[k])) continue;
      fnv_str(&h, job->inputs[i].cfg->keys[k]);
      fnv_cfg(&h, job->inputs[i].cfg->items[k], 0);
    }
    struct stat st;
    if (job->inputs[i].uri && stat(job->inputs[i].uri, &st) == 0) {
      int64_t v[2] = {(int64_t)st.st_size, (int64_t)st.st_mtime};
      fnv(&h, v, sizeof v);
    }
  }
  char *tms = swath_grid_to_tms_json(&job->grid);
  fnv_str(&h, tms);
  free(tms);
  int iv[5] = {job->metatiling, job->pixel_buffer, job->quality, job->overviews, (int)job->dtype};
  fnv(&h, iv, sizeof iv);
  fnv_str(&h, job->format);
  fnv_str(&h, job->compression);
  fnv_str(&h, job->resampling);
  fnv_str(&h, job->overview_resampling);
  double nd[3] = {job->has_nodata, job->nodata, job->warp_error};
  fnv(&h, nd, sizeof nd);
  snprintf(key, 17, "%016llx", (unsigned long long)h);
}
