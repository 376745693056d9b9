/* grid.c: built-in tile matrix sets, OGC TMS JSON in (2.0 and 1.0) and out
 * (2.0), and tile arithmetic.
 *
 * Invariants: a grid's matrices are stored in x/y order whatever the CRS's
 * own axis order is (x = easting or longitude), with the origin at the
 * top-left corner and rows counting down. Only JSON reading and writing deal
 * with the CRS's authority axis order. Edge tests use a tolerance of a
 * millionth of a cell so that bounds computed by floating arithmetic from
 * tile edges select the tiles they came from, not their neighbours. */
#include "core/grid.h"

#include <cpl_error.h>
#include <jansson.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/gdal_log.h"

#define WEBMERC_HALF 20037508.3427892
#define WEBMERC_CELL0 156543.03392804097 /* for 256 px tiles */
#define CRS84_CELL0 0.703125             /* for 256 px tiles */
#define BUILTIN_MAX_ZOOM 24
#define EDGE_EPS 1e-6 /* in cells */

static int check_tile_size(int *tile_size) {
  if (*tile_size == 0) *tile_size = 256;
  if (*tile_size < 1 || *tile_size > 16384)
    return swath_error_set(SWATH_EINVAL, "tile size %d is out of range (1-16384 pixels)",
                           *tile_size);
  return 0;
}

int swath_grid_builtin(const char *name, int tile_size, swath_grid *g) {
  int webmerc = strcmp(name, "WebMercatorQuad") == 0;
  int crs84 = strcmp(name, "WorldCRS84Quad") == 0;
  if (!webmerc && !crs84)
    return swath_error_set(SWATH_ENOTFOUND,
                           "unknown grid '%s' (WebMercatorQuad, WorldCRS84Quad, or a "
                           "TileMatrixSet .json file)",
                           name);
  int rc = check_tile_size(&tile_size);
  if (rc) return rc;
  memset(g, 0, sizeof *g);
  snprintf(g->name, sizeof g->name, "%s", name);
  snprintf(g->crs, sizeof g->crs, "%s", webmerc ? "EPSG:3857" : "OGC:CRS84");
  g->is_geographic = crs84;
  g->extent = webmerc ? (swath_bounds){-WEBMERC_HALF, -WEBMERC_HALF, WEBMERC_HALF, WEBMERC_HALF}
                      : (swath_bounds){-180, -90, 180, 90};
  g->min_zoom = 0;
  g->max_zoom = BUILTIN_MAX_ZOOM;
  /* Scale from the 256 px cell size so that a tile keeps its ground footprint
   * whatever its pixel size. */
  double cell0 = (webmerc ? WEBMERC_CELL0 : CRS84_CELL0) * 256.0 / tile_size;
  for (int z = 0; z <= BUILTIN_MAX_ZOOM; z++) {
    swath_tile_matrix *m = &g->m[z];
    snprintf(m->id, sizeof m->id, "%d", z);
    m->cell_size = ldexp(cell0, -z);
    m->origin_x = g->extent.minx;
    m->origin_y = g->extent.maxy;
    m->tile_width = m->tile_height = tile_size;
    m->matrix_width = (int64_t)1 << (crs84 ? z + 1 : z);
    m->matrix_height = (int64_t)1 << z;
  }
  return 0;
}

/* ---- TMS JSON ---------------------------------------------------------- */

/* The two JSON encodings of a tile matrix set, by their key names: OGC TMS
 * 2.0 (17-083r4) and TMS 1.0 (17-083r2, the form of the tms_*.json files
 * GDAL ships). Both give the origin in the CRS's axis order, as GDAL's COG
 * and GeoPackage drivers read them. 1.0 has no cellSize: it is derived from
 * scaleDenominator as GDAL does (0.28 mm pixels). */
typedef struct tms_keys {
  const char *id, *crs, *matrices, *origin, *vmw;
  int v1;
} tms_keys;
static const tms_keys TMS2 = {"id", "crs", "tileMatrices", "pointOfOrigin", "variableMatrixWidths",
                              0};
static const tms_keys TMS1 = {"identifier",    "supportedCRS",        "tileMatrix",
                              "topLeftCorner", "variableMatrixWidth", 1};

/* Fill crs_out with a short name OSR accepts and tell whether the CRS's first
 * axis is northing/latitude (then TMS coordinates come as y,x). */
static int resolve_crs(const char *path, const char *given, char *crs_out, size_t n, int *swap,
                       int *geographic, double *metres_per_unit) {
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  if (!srs) return SWATH_ENOMEM;
  swath_gdal_reset();
  CPLPushErrorHandler(swath_gdal_handler);
  OGRErr err = OSRSetFromUserInput(srs, given);
  CPLPopErrorHandler();
  if (err != OGRERR_NONE) {
    OSRDestroySpatialReference(srs);
    return swath_error_set(SWATH_EINVAL,
                           "grid file '%s': crs '%.200s' is not a CRS GDAL knows (%s)", path, given,
                           swath_gdal_why("no reason given"));
  }
  OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
  int count = 0;
  const int *map = OSRGetDataAxisToSRSAxisMapping(srs, &count);
  *swap = count >= 2 && map[0] == 2;
  *geographic = OSRIsGeographic(srs);
  *metres_per_unit =
      *geographic ? OSRGetSemiMajor(srs, NULL) * M_PI / 180 : OSRGetLinearUnits(srs, NULL);
  const char *auth = OSRGetAuthorityName(srs, NULL), *code = OSRGetAuthorityCode(srs, NULL);
  int rc = 0;
  if (auth && code)
    snprintf(crs_out, n, "%s:%s", auth, code);
  else if (strlen(given) < n)
    snprintf(crs_out, n, "%s", given);
  else
    rc = swath_error_set(SWATH_EINVAL,
                         "grid file '%s': crs has no authority code and is too long to keep; "
                         "use a code such as EPSG:32632",
                         path);
  OSRDestroySpatialReference(srs);
  return rc;
}

static int get_number(const char *path, const tms_keys *k, int i, json_t *o, const char *key,
                      double *v) {
  json_t *j = json_object_get(o, key);
  if (!json_is_number(j))
    return swath_error_set(SWATH_EINVAL, "grid file '%s': %s[%d].%s must be a number", path,
                           k->matrices, i, key);
  *v = json_number_value(j);
  return 0;
}

static int get_count(const char *path, const tms_keys *k, int i, json_t *o, const char *key,
                     int64_t max, int64_t *v) {
  double d = 0;
  int rc = get_number(path, k, i, o, key, &d);
  if (rc) return rc;
  if (d != floor(d) || d < 1 || d > (double)max)
    return swath_error_set(SWATH_EINVAL,
                           "grid file '%s': %s[%d].%s must be a whole number in 1-%lld, got %g",
                           path, k->matrices, i, key, (long long)max, d);
  *v = (int64_t)d;
  return 0;
}

/* Cell size: TMS 2.0's cellSize, or TMS 1.0's scaleDenominator in CRS units. */
static int get_cell_size(const char *path, const tms_keys *k, int i, json_t *jm, double mpu,
                         double *cell) {
  const char *key = k->v1 ? "scaleDenominator" : "cellSize";
  int rc = get_number(path, k, i, jm, key, cell);
  if (rc) return rc;
  if (k->v1) *cell = *cell * 0.00028 / mpu;
  if (!(*cell > 0) || !isfinite(*cell))
    return swath_error_set(SWATH_EINVAL, "grid file '%s': %s[%d].%s must be positive", path,
                           k->matrices, i, key);
  return 0;
}

static int parse_matrix(const char *path, const tms_keys *k, int i, json_t *jm, int swap,
                        double mpu, swath_tile_matrix *m) {
  if (!json_is_object(jm))
    return swath_error_set(SWATH_EINVAL, "grid file '%s': %s[%d] is not an object", path,
                           k->matrices, i);
  json_t *id = json_object_get(jm, k->id);
  if (id && !json_is_string(id))
    return swath_error_set(SWATH_EINVAL, "grid file '%s': %s[%d].%s must be a string", path,
                           k->matrices, i, k->id);
  const char *ids = id ? json_string_value(id) : NULL;
  if (ids && strlen(ids) >= sizeof m->id)
    return swath_error_set(SWATH_EINVAL, "grid file '%s': %s[%d].%s is too long", path, k->matrices,
                           i, k->id);
  if (ids)
    snprintf(m->id, sizeof m->id, "%s", ids);
  else
    snprintf(m->id, sizeof m->id, "%d", i);

  json_t *corner = json_object_get(jm, "cornerOfOrigin");
  if (corner && (!json_is_string(corner) || strcmp(json_string_value(corner), "topLeft") != 0))
    return swath_error_set(SWATH_EINVAL,
                           "grid file '%s': %s[%d].cornerOfOrigin '%s' is not supported "
                           "(only topLeft)",
                           path, k->matrices, i,
                           json_is_string(corner) ? json_string_value(corner) : "?");
  json_t *vmw = json_object_get(jm, k->vmw);
  if (vmw && json_array_size(vmw) > 0)
    return swath_error_set(SWATH_EINVAL, "grid file '%s': %s[%d].%s is not supported", path,
                           k->matrices, i, k->vmw);

  int rc = get_cell_size(path, k, i, jm, mpu, &m->cell_size);
  if (rc) return rc;
  json_t *po = json_object_get(jm, k->origin);
  if (!json_is_array(po) || json_array_size(po) != 2 || !json_is_number(json_array_get(po, 0)) ||
      !json_is_number(json_array_get(po, 1)))
    return swath_error_set(SWATH_EINVAL,
                           "grid file '%s': %s[%d].%s must be [a, b] (two numbers in the CRS's "
                           "axis order)",
                           path, k->matrices, i, k->origin);
  double a = json_number_value(json_array_get(po, 0)), b = json_number_value(json_array_get(po, 1));
  m->origin_x = swap ? b : a;
  m->origin_y = swap ? a : b;
  int64_t tw, th;
  if ((rc = get_count(path, k, i, jm, "tileWidth", 65536, &tw)) ||
      (rc = get_count(path, k, i, jm, "tileHeight", 65536, &th)) ||
      (rc = get_count(path, k, i, jm, "matrixWidth", (int64_t)1 << 40, &m->matrix_width)) ||
      (rc = get_count(path, k, i, jm, "matrixHeight", (int64_t)1 << 40, &m->matrix_height)))
    return rc;
  m->tile_width = (int)tw;
  m->tile_height = (int)th;
  return 0;
}

static void file_stem(const char *path, char *out, size_t n) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  snprintf(out, n, "%s", base);
  char *dot = strrchr(out, '.');
  if (dot && dot != out) *dot = '\0';
}

static int parse_tms(const char *path, json_t *root, swath_grid *g) {
  if (!json_is_object(root))
    return swath_error_set(SWATH_EINVAL, "grid file '%s': expected a JSON object", path);
  memset(g, 0, sizeof *g);
  /* TMS 1.0 by its own marks (GDAL tells them apart the same way). */
  json_t *type = json_object_get(root, "type");
  const tms_keys *k =
      !json_object_get(root, "tileMatrices") &&
              (json_object_get(root, "tileMatrix") ||
               (json_is_string(type) && strcmp(json_string_value(type), "TileMatrixSetType") == 0))
          ? &TMS1
          : &TMS2;
  json_t *id = json_object_get(root, k->id);
  if (id && (!json_is_string(id) || strlen(json_string_value(id)) >= sizeof g->name))
    return swath_error_set(SWATH_EINVAL, "grid file '%s': %s must be a string of under %zu bytes",
                           path, k->id, sizeof g->name);
  if (id)
    snprintf(g->name, sizeof g->name, "%s", json_string_value(id));
  else
    file_stem(path, g->name, sizeof g->name);

  json_t *crs = json_object_get(root, k->crs);
  if (!k->v1 && json_is_object(crs)) crs = json_object_get(crs, "uri");
  if (!json_is_string(crs))
    return swath_error_set(SWATH_EINVAL,
                           k->v1 ? "grid file '%s': missing 'supportedCRS' (a CRS URI; TMS 1.0)"
                                 : "grid file '%s': missing 'crs' (a URI string or {\"uri\": "
                                   "...}; or TMS 1.0's 'supportedCRS')",
                           path);
  int swap = 0, rc;
  double mpu = 1;
  rc = resolve_crs(path, json_string_value(crs), g->crs, sizeof g->crs, &swap, &g->is_geographic,
                   &mpu);
  if (rc) return rc;

  json_t *tms = json_object_get(root, k->matrices);
  size_t n = json_array_size(tms);
  if (!json_is_array(tms) || n == 0)
    return swath_error_set(SWATH_EINVAL, "grid file '%s': '%s' must be a non-empty array", path,
                           k->matrices);
  if (n > SWATH_GRID_MAX_ZOOMS)
    return swath_error_set(SWATH_EINVAL, "grid file '%s': %zu tile matrices, at most %d supported",
                           path, n, SWATH_GRID_MAX_ZOOMS);
  g->min_zoom = 0;
  g->max_zoom = (int)n - 1;
  int repeated = 0;
  for (size_t i = 0; i < n; i++) {
    rc = parse_matrix(path, k, (int)i, json_array_get(tms, i), swap, mpu, &g->m[i]);
    if (rc) return rc;
    const swath_tile_matrix *m = &g->m[i];
    swath_bounds e = {m->origin_x, m->origin_y - m->matrix_height * m->tile_height * m->cell_size,
                      m->origin_x + m->matrix_width * m->tile_width * m->cell_size, m->origin_y};
    if (i == 0) {
      g->extent = e;
    } else {
      g->extent.minx = fmin(g->extent.minx, e.minx);
      g->extent.miny = fmin(g->extent.miny, e.miny);
      g->extent.maxx = fmax(g->extent.maxx, e.maxx);
      g->extent.maxy = fmax(g->extent.maxy, e.maxy);
    }
    for (size_t j = 0; j < i; j++)
      repeated |= strcmp(g->m[j].id, g->m[i].id) == 0;
  }
  /* Ids name the matrices in tms.json: where they repeat (GDAL's
   * tms_MapML_APSTILE.json calls every matrix "0"), the zooms stand in. */
  for (size_t i = 0; repeated && i < n; i++)
    snprintf(g->m[i].id, sizeof g->m[i].id, "%zu", i);
  return 0;
}

int swath_grid_from_tms_json(const char *path, swath_grid *g) {
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  if (!root) {
    if (err.line <= 0)
      return swath_error_set(SWATH_EINVAL, "grid file '%s': cannot read: %s", path, err.text);
    return swath_error_set(SWATH_EINVAL, "grid file '%s': line %d: invalid JSON: %s", path,
                           err.line, err.text);
  }
  int rc = parse_tms(path, root, g);
  json_decref(root);
  return rc;
}

static int is_json_path(const char *s) {
  size_t n = strlen(s);
  return n > 5 && strcmp(s + n - 5, ".json") == 0;
}

int swath_grid_load(const char *name_or_path, int tile_size, swath_grid *g) {
  if (!is_json_path(name_or_path)) return swath_grid_builtin(name_or_path, tile_size, g);
  int rc = swath_grid_from_tms_json(name_or_path, g);
  if (rc || tile_size == 0) return rc;
  if ((rc = check_tile_size(&tile_size))) return rc;
  for (int z = g->min_zoom; z <= g->max_zoom; z++) {
    swath_tile_matrix *m = &g->m[z];
    if (m->tile_width == tile_size && m->tile_height == tile_size) continue;
    if (m->tile_width != m->tile_height)
      return swath_error_set(SWATH_EINVAL,
                             "grid file '%s': tile size %d requested but matrix %s has non-square "
                             "%dx%d tiles",
                             name_or_path, tile_size, m->id, m->tile_width, m->tile_height);
    m->cell_size = m->cell_size * m->tile_width / tile_size;
    m->tile_width = m->tile_height = tile_size;
  }
  return 0;
}

/* TMS documents name CRSs by URI. */
static void crs_uri(const char *crs, char *out, size_t n) {
  const char *colon = strchr(crs, ':');
  if (strncmp(crs, "OGC:CRS84", 9) == 0 && crs[9] == '\0')
    snprintf(out, n, "http://www.opengis.net/def/crs/OGC/1.3/CRS84");
  else if (colon && !strchr(colon + 1, ':') && !strchr(crs, '/'))
    snprintf(out, n, "http://www.opengis.net/def/crs/%.*s/0/%s", (int)(colon - crs), crs,
             colon + 1);
  else
    snprintf(out, n, "%s", crs);
}

char *swath_grid_to_tms_json(const swath_grid *g) {
  int swap = 0;
  double metres_per_unit = 1;
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  if (srs && OSRSetFromUserInput(srs, g->crs) == OGRERR_NONE) {
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    int count = 0;
    const int *map = OSRGetDataAxisToSRSAxisMapping(srs, &count);
    swap = count >= 2 && map[0] == 2;
    if (OSRIsGeographic(srs))
      metres_per_unit = OSRGetSemiMajor(srs, NULL) * 2 * M_PI / 360;
    else
      metres_per_unit = OSRGetLinearUnits(srs, NULL);
  }
  if (srs) OSRDestroySpatialReference(srs);

  char uri[300];
  crs_uri(g->crs, uri, sizeof uri);
  json_t *root = json_object();
  json_t *mats = json_array();
  json_object_set_new(root, "id", json_string(g->name));
  json_object_set_new(root, "crs", json_string(uri));
  json_object_set_new(root, "tileMatrices", mats);
  for (int z = g->min_zoom; z <= g->max_zoom; z++) {
    const swath_tile_matrix *m = &g->m[z];
    json_t *jm = json_object();
    json_object_set_new(jm, "id", json_string(m->id));
    /* 0.28 mm is the standardized rendering pixel size of OGC TMS. */
    json_object_set_new(jm, "scaleDenominator",
                        json_real(m->cell_size * metres_per_unit / 0.00028));
    json_object_set_new(jm, "cellSize", json_real(m->cell_size));
    json_object_set_new(jm, "cornerOfOrigin", json_string("topLeft"));
    json_object_set_new(jm, "pointOfOrigin",
                        swap ? json_pack("[ff]", m->origin_y, m->origin_x)
                             : json_pack("[ff]", m->origin_x, m->origin_y));
    json_object_set_new(jm, "tileWidth", json_integer(m->tile_width));
    json_object_set_new(jm, "tileHeight", json_integer(m->tile_height));
    json_object_set_new(jm, "matrixWidth", json_integer(m->matrix_width));
    json_object_set_new(jm, "matrixHeight", json_integer(m->matrix_height));
    json_array_append_new(mats, jm);
  }
  char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  return s;
}

/* ---- tile arithmetic ---------------------------------------------------- */

int swath_grid_has_zoom(const swath_grid *g, int z) {
  return z >= g->min_zoom && z <= g->max_zoom && z >= 0 && z < SWATH_GRID_MAX_ZOOMS;
}

static double span_x(const swath_tile_matrix *m) { return m->cell_size * m->tile_width; }
static double span_y(const swath_tile_matrix *m) { return m->cell_size * m->tile_height; }

static swath_bounds range_bounds(const swath_tile_matrix *m, int64_t x0, int64_t y0, int64_t x1,
                                 int64_t y1) {
  double sx = span_x(m), sy = span_y(m);
  return (swath_bounds){m->origin_x + x0 * sx, m->origin_y - (y1 + 1) * sy,
                        m->origin_x + (x1 + 1) * sx, m->origin_y - y0 * sy};
}

swath_bounds swath_grid_tile_bounds(const swath_grid *g, swath_tile t) {
  if (!swath_grid_has_zoom(g, t.z)) return (swath_bounds){0, 0, 0, 0};
  return range_bounds(&g->m[t.z], t.x, t.y, t.x, t.y);
}

swath_tile_range swath_grid_metatile_tiles(const swath_grid *g, swath_tile mt, int m) {
  if (m < 1) m = 1;
  swath_tile_range r = {mt.z, mt.x * m, mt.y * m, mt.x * m + m - 1, mt.y * m + m - 1};
  if (!swath_grid_has_zoom(g, mt.z)) return r;
  const swath_tile_matrix *tm = &g->m[mt.z];
  if (r.maxx > tm->matrix_width - 1) r.maxx = tm->matrix_width - 1;
  if (r.maxy > tm->matrix_height - 1) r.maxy = tm->matrix_height - 1;
  return r;
}

swath_bounds swath_grid_metatile_bounds(const swath_grid *g, swath_tile mt, int m) {
  if (!swath_grid_has_zoom(g, mt.z)) return (swath_bounds){0, 0, 0, 0};
  swath_tile_range r = swath_grid_metatile_tiles(g, mt, m);
  return range_bounds(&g->m[mt.z], r.minx, r.miny, r.maxx, r.maxy);
}

void swath_grid_metatile_size(const swath_grid *g, swath_tile mt, int m, int *w, int *h) {
  *w = *h = 0;
  if (!swath_grid_has_zoom(g, mt.z)) return;
  swath_tile_range r = swath_grid_metatile_tiles(g, mt, m);
  const swath_tile_matrix *tm = &g->m[mt.z];
  int64_t cw = r.maxx - r.minx + 1, ch = r.maxy - r.miny + 1;
  *w = cw > 0 ? (int)(cw * tm->tile_width) : 0;
  *h = ch > 0 ? (int)(ch * tm->tile_height) : 0;
}

void swath_grid_metatile_matrix(const swath_grid *g, int z, int m, int64_t *cols, int64_t *rows) {
  *cols = *rows = 0;
  if (!swath_grid_has_zoom(g, z)) return;
  if (m < 1) m = 1;
  *cols = (g->m[z].matrix_width + m - 1) / m;
  *rows = (g->m[z].matrix_height + m - 1) / m;
}

int swath_grid_tile_of_point(const swath_grid *g, int z, double x, double y, swath_tile *t) {
  if (!swath_grid_has_zoom(g, z))
    return swath_error_set(SWATH_EINVAL, "grid %s has no zoom %d (%d-%d)", g->name, z, g->min_zoom,
                           g->max_zoom);
  const swath_tile_matrix *m = &g->m[z];
  double fx = (x - m->origin_x) / span_x(m), fy = (m->origin_y - y) / span_y(m);
  double tol_x = EDGE_EPS / m->tile_width, tol_y = EDGE_EPS / m->tile_height;
  if (!(fx >= -tol_x && fx <= m->matrix_width + tol_x && fy >= -tol_y &&
        fy <= m->matrix_height + tol_y))
    return swath_error_set(SWATH_EINVAL, "point %.10g,%.10g is outside grid %s at zoom %d", x, y,
                           g->name, z);
  int64_t cx = (int64_t)floor(fx), cy = (int64_t)floor(fy);
  /* The far edges belong to the last tile, and points a rounding error
   * outside snap back in. */
  cx = cx < 0 ? 0 : cx > m->matrix_width - 1 ? m->matrix_width - 1 : cx;
  cy = cy < 0 ? 0 : cy > m->matrix_height - 1 ? m->matrix_height - 1 : cy;
  *t = (swath_tile){z, cx, cy};
  return 0;
}

/* Grids where x wraps around the world, so minx > maxx means "across the
 * antimeridian" rather than an error. */
static int wraps(const swath_grid *g) {
  return g->is_geographic || strcmp(g->name, "WebMercatorQuad") == 0 ||
         strcmp(g->crs, "EPSG:3857") == 0;
}

/* Tiles whose interior meets [x0, x1] x [y0, y1] (already ordered). 0 when
 * none, 1 with *r filled. */
static int one_range(const swath_grid *g, int z, double x0, double y0, double x1, double y1,
                     swath_tile_range *r) {
  const swath_tile_matrix *m = &g->m[z];
  double sx = span_x(m), sy = span_y(m);
  double tol_x = EDGE_EPS / m->tile_width, tol_y = EDGE_EPS / m->tile_height;
  double fx0 = (x0 - m->origin_x) / sx, fx1 = (x1 - m->origin_x) / sx;
  double fy0 = (m->origin_y - y1) / sy, fy1 = (m->origin_y - y0) / sy;
  /* Clip in tile units: the matrix is the extent at this zoom. */
  fx0 = fmax(fx0, 0), fy0 = fmax(fy0, 0);
  fx1 = fmin(fx1, (double)m->matrix_width), fy1 = fmin(fy1, (double)m->matrix_height);
  int64_t c0 = (int64_t)floor(fx0 + tol_x), c1 = (int64_t)ceil(fx1 - tol_x) - 1;
  int64_t r0 = (int64_t)floor(fy0 + tol_y), r1 = (int64_t)ceil(fy1 - tol_y) - 1;
  if (c0 > c1 || r0 > r1) return 0;
  *r = (swath_tile_range){z, c0, r0, c1, r1};
  return 1;
}

int swath_grid_tiles_of_bounds(const swath_grid *g, int z, swath_bounds b,
                               swath_tile_range out[2]) {
  if (!swath_grid_has_zoom(g, z))
    return swath_error_set(SWATH_EINVAL, "grid %s has no zoom %d (%d-%d)", g->name, z, g->min_zoom,
                           g->max_zoom);
  if (!(isfinite(b.minx) && isfinite(b.miny) && isfinite(b.maxx) && isfinite(b.maxy)) ||
      b.miny > b.maxy)
    return swath_error_set(SWATH_EINVAL, "bounds %g,%g,%g,%g are not a box (miny above maxy?)",
                           b.minx, b.miny, b.maxx, b.maxy);
  if (b.minx <= b.maxx) return one_range(g, z, b.minx, b.miny, b.maxx, b.maxy, &out[0]);
  if (!wraps(g))
    return swath_error_set(SWATH_EINVAL,
                           "bounds %g,%g,%g,%g: minx above maxx, and grid %s does not wrap around "
                           "the antimeridian",
                           b.minx, b.miny, b.maxx, b.maxy, g->name);
  int n = one_range(g, z, b.minx, b.miny, g->extent.maxx, b.maxy, &out[0]);
  n += one_range(g, z, g->extent.minx, b.miny, b.maxx, b.maxy, &out[n]);
  return n;
}

swath_tile swath_tile_parent(swath_tile t) {
  if (t.z <= 0) return (swath_tile){-1, 0, 0};
  return (swath_tile){t.z - 1, t.x >> 1, t.y >> 1};
}

void swath_tile_children(swath_tile t, swath_tile out[4]) {
  int64_t x = t.x * 2, y = t.y * 2;
  out[0] = (swath_tile){t.z + 1, x, y};
  out[1] = (swath_tile){t.z + 1, x + 1, y};
  out[2] = (swath_tile){t.z + 1, x, y + 1};
  out[3] = (swath_tile){t.z + 1, x + 1, y + 1};
}

swath_tile swath_tile_to_metatile(swath_tile t, int m) {
  if (m < 1) m = 1;
  return (swath_tile){t.z, t.x / m, t.y / m};
}
