/* heatmap.c: features -> density raster -> colour ramp -> tile pyramid (see
 * heatmap.h).
 *
 * Density is GDAL's rasterizer burning each feature's centre (a point) with
 * MERGE_ALG=ADD: 1 per feature, or its score. That is an exact histogram of
 * the centres on the cell grid (a point falls in the cell whose half-open
 * [x0, x0 + cell) x (y0 - cell, y0] holds it); GDALGrid's "count" counts
 * points within a search radius of each cell centre instead, a smoothing
 * with its own parameters. Centres are burnt in batches, so memory holds
 * one batch and GDAL's block cache, however many features there are.
 * The colours are GDAL's color-relief (gdaldem) over the ramp file, and
 * the tiles come from swath_run over the coloured raster with a job made
 * here: the same tiler, metadata and resume rules as any product. */
#include "engine/heatmap.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <errno.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <gdal_utils.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/gdal_log.h"
#include "core/grid.h"
#include "core/log.h"
#include "engine/job.h"
#include "io/features_read.h"

#define BATCH 4096
#define MAX_CELLS (1LL << 30)

int swath_heatmap_parse_cell(const char *s, double *cell, int *metres) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  int m = strcmp(end, "m") == 0;
  if (end == s || errno || !(m || !*end) || !isfinite(v) || v <= 0)
    return swath_error_set(
        SWATH_EINVAL, "--cell: expected a size like 100m (metres) or 250 (CRS units), got '%s'", s);
  *cell = v;
  *metres = m;
  return 0;
}

/* Store-CRS units per ground metre at (x, y), measured north-south. */
static int crs_per_metre(OGRSpatialReferenceH srs, double x, double y, double *k) {
  OGRSpatialReferenceH ll = OSRNewSpatialReference(NULL);
  OSRSetFromUserInput(ll, "EPSG:4326");
  OSRSetAxisMappingStrategy(ll, OAMS_TRADITIONAL_GIS_ORDER);
  OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(srs, ll);
  double d = OSRIsGeographic(srs) ? 1e-3 : 10.0;
  double px[2] = {x, x}, py[2] = {y - d / 2, y + d / 2};
  int ok = ct && OCTTransform(ct, 2, px, py, NULL);
  if (ct) OCTDestroyCoordinateTransformation(ct);
  OSRDestroySpatialReference(ll);
  const double r = 6371008.8, rad = M_PI / 180;
  double a = sin((py[1] - py[0]) * rad / 2), b = sin((px[1] - px[0]) * rad / 2);
  double h = a * a + cos(py[0] * rad) * cos(py[1] * rad) * b * b;
  double m = 2 * r * asin(sqrt(h));
  if (!ok || !(m > 0))
    return swath_error_set(SWATH_EINVAL, "--cell: metres cannot be measured in the store's CRS; "
                                         "give the cell in CRS units");
  *k = d / m;
  return 0;
}

/* The centres' extent and count (first pass). */
static int centre_extent(swath_features *f, double e[4], int64_t *n) {
  OGRFeatureH ft;
  OGRGeometryH c;
  e[0] = e[1] = INFINITY;
  e[2] = e[3] = -INFINITY;
  while (swath_features_next(f, &ft, &c) == 1) {
    if (c) {
      double x = OGR_G_GetX(c, 0), y = OGR_G_GetY(c, 0);
      e[0] = fmin(e[0], x), e[1] = fmin(e[1], y), e[2] = fmax(e[2], x), e[3] = fmax(e[3], y);
      (*n)++;
    }
    OGR_F_Destroy(ft);
  }
  return 0;
}

static int burn(GDALDatasetH ds, OGRGeometryH *g, double *v, int n) {
  int band = 1;
  const char *opts[] = {"MERGE_ALG=ADD", NULL};
  CPLErr e =
      GDALRasterizeGeometries(ds, 1, &band, n, g, NULL, NULL, v, (CSLConstList)opts, NULL, NULL);
  for (int i = 0; i < n; i++)
    OGR_G_DestroyGeometry(g[i]);
  return e == CE_None ? 0
                      : swath_error_set(SWATH_EIO, "heatmap: cannot rasterize: %s",
                                        swath_gdal_why("GDALRasterizeGeometries failed"));
}

/* heatmap.tif: every centre burnt into its cell (second pass). */
static int density(swath_features *f, const swath_heatmap_opts *o, const char *path,
                   const double gt[6], int w, int h, double *max) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
  const char *co[] = {"TILED=YES", "COMPRESS=DEFLATE", "SPARSE_OK=TRUE", "BIGTIFF=IF_SAFER", NULL};
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), tmp, w, h, 1,
                               o->value_score ? GDT_Float32 : GDT_UInt32, (char **)co);
  if (!ds)
    return swath_error_set(SWATH_EIO, "heatmap: cannot create '%s': %s", path,
                           swath_gdal_why("GTiff refused"));
  char *wkt = NULL;
  OSRExportToWkt(swath_features_srs(f), &wkt);
  GDALSetProjection(ds, wkt);
  CPLFree(wkt);
  GDALSetGeoTransform(ds, (double *)gt);
  GDALSetDescription(GDALGetRasterBand(ds, 1), o->value_score ? "score sum" : "count");
  OGRGeometryH g[BATCH];
  double v[BATCH];
  int n = 0, rc = 0,
      si = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(swath_features_layer(f)), "score");
  OGRFeatureH ft;
  OGRGeometryH c;
  while (!rc && swath_features_next(f, &ft, &c) == 1) {
    if (c) {
      g[n] = OGR_G_Clone(c);
      v[n++] = o->value_score ? OGR_F_GetFieldAsDouble(ft, si) : 1.0;
    }
    OGR_F_Destroy(ft);
    if (n == BATCH) {
      rc = burn(ds, g, v, n);
      n = 0;
    }
  }
  if (!rc && n) rc = burn(ds, g, v, n);
  double mm[2] = {0, 0};
  if (!rc && GDALComputeRasterMinMax(GDALGetRasterBand(ds, 1), FALSE, mm) != CE_None)
    rc = swath_error_set(SWATH_EIO, "heatmap: cannot read back '%s': %s", path,
                         swath_gdal_why("no statistics"));
  *max = mm[1];
  CPLErrorReset();
  GDALClose(ds);
  if (!rc && CPLGetLastErrorType() >= CE_Failure)
    rc = swath_error_set(SWATH_EIO, "heatmap: cannot write '%s': %s", path,
                         swath_gdal_why("GTiff failed"));
  if (!rc && rename(tmp, path) != 0)
    rc = swath_error_set(SWATH_EIO, "heatmap: cannot rename '%s': %s", tmp, strerror(errno));
  if (rc) unlink(tmp);
  return rc;
}

/* The ramp (ColorBrewer YlOrRd): transparent at 0, light yellow just above
 * it, dark red at `top` and beyond. */
static int colour(const char *dir, const char *dens, double top) {
  static const struct {
    double at;
    int r, g, b, a;
  } ramp[] = {{0, 0, 0, 0, 0},          {1e-6, 255, 255, 178, 255}, {0.25, 254, 204, 92, 255},
              {0.5, 253, 141, 60, 255}, {0.75, 240, 59, 32, 255},   {1, 189, 0, 38, 255}};
  char file[4200], rgba[4200], tmp[4300];
  snprintf(file, sizeof file, "%s/heatmap-ramp.txt", dir);
  snprintf(rgba, sizeof rgba, "%s/heatmap-rgba.tif", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", rgba, (long)getpid());
  FILE *fp = fopen(file, "w");
  if (!fp)
    return swath_error_set(SWATH_EIO, "heatmap: cannot write '%s': %s", file, strerror(errno));
  fprintf(fp, "# value R G B A: the densities of heatmap.tif as colours (gdaldem color-relief)\n");
  for (size_t i = 0; i < sizeof ramp / sizeof ramp[0]; i++)
    fprintf(fp, "%.10g %d %d %d %d\n", ramp[i].at * top, ramp[i].r, ramp[i].g, ramp[i].b,
            ramp[i].a);
  if (fclose(fp) != 0)
    return swath_error_set(SWATH_EIO, "heatmap: cannot write '%s': %s", file, strerror(errno));
  GDALDatasetH src = GDALOpen(dens, GA_ReadOnly);
  char *argv[] = {"-alpha", "-of", "GTiff", "-co", "TILED=YES", "-co", "COMPRESS=DEFLATE", NULL};
  GDALDEMProcessingOptions *opt = GDALDEMProcessingOptionsNew(argv, NULL);
  int usage = 0;
  GDALDatasetH out =
      src && opt ? GDALDEMProcessing(tmp, src, "color-relief", file, opt, &usage) : NULL;
  GDALDEMProcessingOptionsFree(opt);
  if (src) GDALClose(src);
  int rc = 0;
  if (!out)
    rc = swath_error_set(SWATH_EIO, "heatmap: cannot colour '%s': %s", dens,
                         swath_gdal_why("color-relief failed"));
  else
    GDALClose(out);
  if (!rc && rename(tmp, rgba) != 0)
    rc = swath_error_set(SWATH_EIO, "heatmap: cannot rename '%s': %s", tmp, strerror(errno));
  if (rc) unlink(tmp);
  return rc;
}

/* YAML double-quoted scalar of a path. */
static void yaml_quote(FILE *fp, const char *s) {
  fputc('"', fp);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', fp);
    fputc(*s, fp);
  }
  fputc('"', fp);
}

/* The pyramid: a convert job over heatmap-rgba.tif, run by swath_run. The
 * job file lives in a temporary folder (a job may not sit in its own
 * output folder); the state of the previous build is dropped so the run
 * replaces every tile of it (--overwrite clears a folder of tiles without
 * state), not only those of the new extent. */
static int tiles(const char *dir, const swath_heatmap_opts *o, swath_run_stats *rs) {
  char td[4200], path[4200];
  const char *tmpdir = getenv("TMPDIR");
  snprintf(td, sizeof td, "%s/swath-heatmap-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  if (!mkdtemp(td))
    return swath_error_set(SWATH_EIO, "heatmap: cannot make a temporary folder: %s",
                           strerror(errno));
  char jobfile[4300];
  snprintf(jobfile, sizeof jobfile, "%s/heatmap.yaml", td);
  FILE *fp = fopen(jobfile, "w");
  int rc =
      fp ? 0
         : swath_error_set(SWATH_EIO, "heatmap: cannot write '%s': %s", jobfile, strerror(errno));
  if (fp) {
    snprintf(path, sizeof path, "%s/heatmap-rgba.tif", dir);
    fprintf(fp, "name: heatmap\nprocess: convert\ninputs:\n  heat: ");
    yaml_quote(fp, path);
    fprintf(fp, "\ngrid: {name: ");
    yaml_quote(fp, o->grid ? o->grid : "WebMercatorQuad");
    fprintf(fp, ", metatiling: 4}\nzoom: [%d, %d]\noutput:\n  path: ", o->min_zoom, o->max_zoom);
    yaml_quote(fp, dir);
    fprintf(fp, "\n  format: PNG\n  resampling: near\n");
    if (fclose(fp) != 0) rc = swath_error_set(SWATH_EIO, "heatmap: cannot write '%s'", jobfile);
  }
  static const char *const state[] = {"state.sqlite", "state.sqlite-wal", "state.sqlite-shm", NULL};
  for (int i = 0; !rc && state[i]; i++) {
    snprintf(path, sizeof path, "%s/%s/%s", dir, SWATH_STATE_DIR, state[i]);
    unlink(path);
  }
  swath_job *j = NULL;
  if (!rc) rc = swath_job_load(jobfile, &j);
  if (!rc) {
    swath_run_opts ro = {.workers = o->workers, .overwrite = 1, .progress = o->progress, .yes = 1};
    rc = swath_run(j, &ro, rs);
  }
  swath_job_free(j);
  unlink(jobfile);
  rmdir(td);
  return rc;
}

/* The folder: made if missing; refused when it holds another product. */
static int out_folder(const char *dir, char **abs) {
  char p[4200];
  struct stat st;
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return swath_error_set(SWATH_EINVAL, "heatmap: cannot make folder '%s': %s", dir,
                           strerror(errno));
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return swath_error_set(SWATH_EINVAL, "heatmap: '%s' is not a folder", dir);
  snprintf(p, sizeof p, "%s/job.yaml", dir);
  int product = stat(p, &st) == 0;
  snprintf(p, sizeof p, "%s/heatmap.tif", dir);
  if (product && stat(p, &st) != 0)
    return swath_error_set(SWATH_EINVAL,
                           "heatmap: '%s' holds another product (job.yaml, no heatmap.tif): "
                           "give the heatmap a folder of its own",
                           dir);
  *abs = realpath(dir, NULL);
  return *abs ? 0 : swath_error_set(SWATH_EIO, "heatmap: '%s': %s", dir, strerror(errno));
}

static int check_opts(const swath_heatmap_opts *o) {
  swath_grid g;
  const char *gn = o->grid ? o->grid : "WebMercatorQuad";
  if (!o->out_dir) return swath_error_set(SWATH_EINVAL, "heatmap: no output folder");
  if (!(o->cell > 0) || !isfinite(o->cell))
    return swath_error_set(SWATH_EINVAL, "heatmap: cell size %g is not above 0", o->cell);
  if (!(o->max >= 0) || !isfinite(o->max))
    return swath_error_set(SWATH_EINVAL, "--max: %g is not a density above 0", o->max);
  int rc = swath_grid_load(gn, 0, &g);
  if (rc) return swath_error_set(SWATH_EINVAL, "heatmap: unknown grid '%s'", gn);
  if (o->min_zoom > o->max_zoom || !swath_grid_has_zoom(&g, o->min_zoom) ||
      !swath_grid_has_zoom(&g, o->max_zoom))
    return swath_error_set(SWATH_EINVAL, "heatmap: zoom %d-%d is out of range for grid %s (%d-%d)",
                           o->min_zoom, o->max_zoom, g.name, g.min_zoom, g.max_zoom);
  return 0;
}

int swath_heatmap_build(const char *store, const swath_heatmap_opts *o, swath_heatmap_stats *st) {
  *st = (swath_heatmap_stats){0};
  int rc = check_opts(o);
  swath_features *f = NULL;
  if (!rc) rc = swath_features_open(store, &f);
  if (rc) return rc;
  st->total = swath_features_count_all(f);
  swath_features_query q = {.has_threshold = o->has_threshold, .threshold = o->threshold};
  double e[4];
  if (!(rc = swath_features_select(f, &q))) rc = centre_extent(f, e, &st->features);
  if (!rc && st->features == 0)
    rc = swath_error_set(SWATH_EEMPTY, "heatmap: no features to map (0 of %lld pass the threshold)",
                         (long long)st->total);
  double cell = o->cell, k = 1;
  if (!rc && o->cell_metres &&
      !(rc = crs_per_metre(swath_features_srs(f), (e[0] + e[2]) / 2, (e[1] + e[3]) / 2, &k)))
    cell *= k;
  /* Cells on multiples of the cell size: two builds share their grid. */
  double x0 = floor(e[0] / cell) * cell, y1 = (floor(e[3] / cell) + 1) * cell;
  double w = floor(e[2] / cell) + 1 - floor(e[0] / cell),
         h = floor(e[3] / cell) + 1 - floor(e[1] / cell);
  if (!rc && w * h > (double)MAX_CELLS)
    rc = swath_error_set(SWATH_EINVAL,
                         "heatmap: %.0f x %.0f cells of %g is too many (at most %lld): "
                         "give a larger --cell",
                         w, h, cell, MAX_CELLS);
  char *dir = NULL, dens[4200];
  if (!rc) rc = out_folder(o->out_dir, &dir);
  if (!rc) {
    snprintf(dens, sizeof dens, "%s/heatmap.tif", dir);
    double gt[6] = {x0, cell, 0, y1, 0, -cell};
    st->width = (int)w, st->height = (int)h, st->cell = cell;
    rc = swath_features_select(f, &q);
    if (!rc) rc = density(f, o, dens, gt, (int)w, (int)h, &st->max);
  }
  swath_features_close(f);
  if (!rc) rc = colour(dir, dens, o->max > 0 ? o->max : st->max > 0 ? st->max : 1);
  if (!rc) rc = tiles(dir, o, &st->run);
  free(dir);
  return rc;
}

int swath_heatmap_of_job(const swath_job *job, int workers, int progress) {
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/heatmap", job->out_path);
  const struct swath_job_heatmap *h = &job->hm;
  swath_grid g;
  int builtin = swath_grid_builtin(job->grid.name, 256, &g) == 0;
  swath_heatmap_opts o = {
      .out_dir = dir,
      .min_zoom = h->min_zoom,
      .max_zoom = h->max_zoom,
      .cell = h->cell,
      .cell_metres = h->cell_metres,
      .value_score = h->value_score,
      .has_threshold = h->has_threshold,
      .threshold = h->threshold,
      .max = h->max,
      .grid = builtin ? job->grid.name : NULL, /* the job's grid (if swath knows it by name) */
      .workers = workers,
      .progress = progress,
  };
  swath_heatmap_stats st;
  int r = swath_heatmap_build(job->features, &o, &st);
  if (r == SWATH_EEMPTY) {
    swath_info("heatmap: %s: nothing written", swath_error_message());
    return 0;
  }
  if (!r)
    swath_info("heatmap of %lld features: %d x %d cells, densest %.6g, tiles %d-%d in %s",
               (long long)st.features, st.width, st.height, st.max, o.min_zoom, o.max_zoom, dir);
  return r;
}
