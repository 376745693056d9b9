/* tiledir_meta.c: the metadata next to the tiles: tilejson.json (TileJSON
 * 3.0), tms.json (the grid as OGC TMS 2.0) and stac.json (a STAC item with
 * the tiled-assets extension, which GDAL's STACTA driver opens).
 *
 * Invariants: every file is written to a temp file and renamed into place.
 * Extents are in lon/lat, lon first; an area that crosses the antimeridian
 * has a bbox with minx > maxx (RFC 7946 5.2, as STAC and TileJSON read it)
 * and a MultiPolygon geometry split at +-180, and its center lies inside the
 * area. In stac.json the tile matrix set is TMS 1.0 JSON, the form GDAL's
 * STACTA driver parses; its topLeftCorner is what that driver reads, see
 * tms1(). */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "io/tiledir_meta.h"

int swath__tiledir_write_file(const swath_sink_cfg *c, const char *name, const char *text) {
  char file[4200], tmp[4300];
  snprintf(file, sizeof file, "%s/%s", c->path, name);
  snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%d", c->path, name, (int)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return swath_error_set(SWATH_EIO, "output: cannot write '%s': %s", tmp, strerror(errno));
  size_t n = strlen(text);
  int ok = fwrite(text, 1, n, f) == n;
  ok &= fclose(f) == 0;
  if (!ok || rename(tmp, file)) {
    unlink(tmp);
    return swath_error_set(SWATH_EIO, "output: cannot write '%s'", file);
  }
  return 0;
}

static int write_json(const swath_sink_cfg *c, const char *name, json_t *j) {
  if (!j) return swath_error_set(SWATH_EINTERNAL, "output: cannot build %s", name);
  char *s = json_dumps(j, JSON_INDENT(2));
  json_decref(j);
  if (!s) return swath_error_set(SWATH_ENOMEM, "output: out of memory");
  int r = swath__tiledir_write_file(c, name, s);
  free(s);
  return r;
}

static const char *stac_dtype(swath_dtype d) {
  static const char *names[] = {"",       "uint8", "uint16",  "int16",
                                "uint32", "int32", "float32", "float64"};
  return d >= SWATH_DT_BYTE && d <= SWATH_DT_FLOAT64 ? names[d] : "uint8";
}

/* The bbox of the extent: [west, south, east, north], west > east across
 * the antimeridian. */
static json_t *bbox(const swath_lonlat_extent *e) {
  const swath_bounds *w = &e->box[0], *east = &e->box[e->n - 1];
  return json_pack("[f,f,f,f]", w->minx, fmin(w->miny, east->miny), east->maxx,
                   fmax(w->maxy, east->maxy));
}

/* A box as a counter-clockwise ring, as RFC 7946 asks. */
static json_t *ring(const swath_bounds *b) {
  return json_pack("[[[f,f],[f,f],[f,f],[f,f],[f,f]]]", b->minx, b->miny, b->maxx, b->miny, b->maxx,
                   b->maxy, b->minx, b->maxy, b->minx, b->miny);
}

static json_t *geometry(const swath_lonlat_extent *e) {
  if (e->n == 1) return json_pack("{s:s,s:o}", "type", "Polygon", "coordinates", ring(&e->box[0]));
  return json_pack("{s:s,s:[o,o]}", "type", "MultiPolygon", "coordinates", ring(&e->box[0]),
                   ring(&e->box[1]));
}

static int write_tilejson(const swath_sink_cfg *c, const char *ext) {
  char tmpl[64];
  snprintf(tmpl, sizeof tmpl, "{z}/{x}/{y}.%s", ext);
  int cz = c->min_zoom + (c->max_zoom - c->min_zoom) / 2;
  json_t *tj =
      json_pack("{s:s,s:s,s:[s],s:i,s:i,s:o,s:[f,f,i],s:s}", "tilejson", "3.0.0", "name", c->name,
                "tiles", tmpl, "minzoom", c->min_zoom, "maxzoom", c->max_zoom, "bounds",
                bbox(&c->lonlat), "center", c->lonlat.lon, c->lonlat.lat, cz, "scheme", "xyz");
  return write_json(c, "tilejson.json", tj);
}

/* The grid as an OGC TileMatrixSet 1.0 JSON object, the form GDAL's STACTA
 * driver parses (TMS 2.0 JSON is written separately as tms.json).
 *
 * TMS 1.0 gives topLeftCorner in the CRS's axis order, but GDAL's STACTA
 * driver (3.6, and its later source alike) reads it as easting/longitude
 * first whatever the CRS, so a latitude-first corner puts the pyramid
 * elsewhere.
 * For EPSG:4326 the item names the same CRS as OGC CRS84, whose axis order
 * is lon/lat: the corner is then right for the standard and for GDAL. Other
 * CRSs whose first axis is northing or latitude get their corner x first, as
 * GDAL reads it. */
static json_t *tms1(const swath_sink_cfg *c) {
  const swath_grid *g = c->grid;
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  OSRSetFromUserInput(srs, g->crs);
  const char *auth = OSRGetAuthorityName(srs, NULL), *code = OSRGetAuthorityCode(srs, NULL);
  int wgs84_latlon = auth && code && strcasecmp(auth, "EPSG") == 0 && strcmp(code, "4326") == 0;
  char crs[256];
  if (strcasecmp(g->crs, "OGC:CRS84") == 0 || wgs84_latlon)
    snprintf(crs, sizeof crs, "http://www.opengis.net/def/crs/OGC/1.3/CRS84");
  else if (auth && code)
    snprintf(crs, sizeof crs, "http://www.opengis.net/def/crs/%s/0/%s", auth, code);
  else
    snprintf(crs, sizeof crs, "%s", g->crs);
  double mpu = g->is_geographic ? 6378137.0 * 2 * M_PI / 360.0 : OSRGetLinearUnits(srs, NULL);
  OSRDestroySpatialReference(srs);
  json_t *mats = json_array();
  for (int z = c->min_zoom; z <= c->max_zoom; z++) {
    const swath_tile_matrix *m = &g->m[z];
    char id[16];
    snprintf(id, sizeof id, "%d", z);
    json_array_append_new(
        mats, json_pack("{s:s,s:s,s:f,s:[f,f],s:i,s:i,s:I,s:I}", "type", "TileMatrixType",
                        "identifier", id, "scaleDenominator", m->cell_size * mpu / 0.00028,
                        "topLeftCorner", m->origin_x, m->origin_y, "tileWidth", m->tile_width,
                        "tileHeight", m->tile_height, "matrixWidth", (json_int_t)m->matrix_width,
                        "matrixHeight", (json_int_t)m->matrix_height));
  }
  return json_pack("{s:s,s:s,s:s,s:o}", "type", "TileMatrixSetType", "identifier", g->name,
                   "supportedCRS", crs, "tileMatrix", mats);
}

int swath__tiledir_limits(const swath_sink_cfg *c, const swath_sink_extent *e, int z,
                          swath_tile_range *lim) {
  if (e) {
    if (e->have[z]) *lim = e->limits[z];
    return e->have[z] != 0;
  }
  swath_tile_range tr[2];
  int n = swath_grid_tiles_of_bounds(c->grid, z, c->bounds, tr);
  if (n <= 0) return 0;
  *lim = tr[0];
  for (int i = 1; i < n; i++) {
    lim->minx = tr[i].minx < lim->minx ? tr[i].minx : lim->minx;
    lim->maxx = tr[i].maxx > lim->maxx ? tr[i].maxx : lim->maxx;
    lim->miny = tr[i].miny < lim->miny ? tr[i].miny : lim->miny;
    lim->maxy = tr[i].maxy > lim->maxy ? tr[i].maxy : lim->maxy;
  }
  return 1;
}

/* Tile limits per zoom, so readers know where tiles exist: those on disk
 * (`e`), or those of the bounds. */
static json_t *limits(const swath_sink_cfg *c, const swath_sink_extent *e) {
  json_t *lim = json_object();
  for (int z = c->min_zoom; z <= c->max_zoom; z++) {
    swath_tile_range l;
    if (!swath__tiledir_limits(c, e, z, &l)) continue;
    char id[16];
    snprintf(id, sizeof id, "%d", z);
    json_object_set_new(lim, id,
                        json_pack("{s:I,s:I,s:I,s:I}", "min_tile_col", (json_int_t)l.minx,
                                  "max_tile_col", (json_int_t)l.maxx, "min_tile_row",
                                  (json_int_t)l.miny, "max_tile_row", (json_int_t)l.maxy));
  }
  return lim;
}

static int write_stac(const swath_sink_cfg *c, const char *ext, const swath_sink_extent *e) {
  json_t *rbands = json_array();
  for (int i = 0; i < c->bands + (c->alpha ? 1 : 0); i++) {
    json_t *band = json_pack("{s:s}", "data_type", stac_dtype(c->dtype));
    if (c->has_nodata && i < c->bands) json_object_set_new(band, "nodata", json_real(c->nodata));
    json_array_append_new(rbands, band);
  }
  char href[64], media[64];
  snprintf(href, sizeof href, "./{TileMatrix}/{TileCol}/{TileRow}.%s", ext);
  snprintf(media, sizeof media, "%s",
           strcmp(ext, "tif") == 0   ? "image/tiff; application=geotiff"
           : strcmp(ext, "png") == 0 ? "image/png"
           : strcmp(ext, "jpg") == 0 ? "image/jpeg"
                                     : "image/webp");
  char now[32];
  time_t tt = time(NULL);
  strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&tt));
  json_t *tmsets = json_object();
  json_object_set_new(tmsets, c->grid->name, tms1(c));
  json_t *links = json_object();
  json_object_set_new(links, c->grid->name,
                      json_pack("{s:s,s:o}", "url", "./tms.json", "limits", limits(c, e)));
  json_t *item =
      json_pack("{s:s,s:s,s:[s],s:s,s:o,s:o,s:{s:s,s:o,s:o},s:[],s:{},s:{s:{s:s,s:s,s:s,s:o}}}",
                "type", "Feature", "stac_version", "1.0.0", "stac_extensions",
                "https://stac-extensions.github.io/tiled-assets/v1.0.0/schema.json", "id", c->name,
                "geometry", geometry(&c->lonlat), "bbox", bbox(&c->lonlat), "properties",
                "datetime", now, "tiles:tile_matrix_sets", tmsets, "tiles:tile_matrix_links", links,
                "links", "assets", "asset_templates", "tiles", "href", href, "type", media, "title",
                "swath tiles", "raster:bands", rbands);
  return write_json(c, "stac.json", item);
}

int swath__tiledir_write_meta(const swath_sink_cfg *c, const char *ext,
                              const swath_sink_extent *e) {
  int r = write_tilejson(c, ext);
  if (r) return r;
  char *tms = swath_grid_to_tms_json(c->grid);
  if (tms) {
    r = swath__tiledir_write_file(c, "tms.json", tms);
    free(tms);
    if (r) return r;
  }
  return write_stac(c, ext, e);
}
