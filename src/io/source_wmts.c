/* source_wmts.c: OGC WMTS 1.0.0 tiles by KVP GetTile.
 *
 * Everything about the tiles comes from GetCapabilities (cached, see
 * remote.h): the layer, its style (the default one unless `style` is given),
 * its format (the first offered unless `format` is given) and the tile matrix
 * set, whose matrices become a swath grid in the set's CRS. Matrix
 * resolutions follow the standard: cell = ScaleDenominator * 0.28 mm /
 * metres per CRS unit (for degrees, the WGS84 equator's metres per degree).
 * TopLeftCorner is in the CRS's axis order, so it is swapped for lat/long
 * CRSs such as urn:ogc:def:crs:EPSG::4326. The matrices need not halve:
 * reads pick the coarsest one at least as fine as the job's pixels. */
#include <cpl_minixml.h>
#include <cpl_string.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "io/fetch.h"
#include "io/remote.h"
#include "io/wmts_limits.h"

/* CPLGetXMLNode does not modify the tree but takes it non-const. */
static const CPLXMLNode *xml_node(const CPLXMLNode *n, const char *path) {
  return CPLGetXMLNode((CPLXMLNode *)n, path);
}

typedef struct wmts_ctx {
  char *base; /* GetTile URL ending in ? or & */
  char *layer, *style, *format, *tms_id;
} wmts_ctx;

static void wmts_free(void *p) {
  wmts_ctx *c = p;
  if (!c) return;
  free(c->base);
  free(c->layer);
  free(c->style);
  free(c->format);
  free(c->tms_id);
  free(c);
}

static int wmts_url(const swath__remote *r, swath_tile t, char *buf, size_t cap) {
  const wmts_ctx *c = r->ctx;
  snprintf(buf, cap, "%sSERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=", c->base);
  int rc = swath__remote_escape(buf, cap, c->layer);
  size_t n = strlen(buf);
  snprintf(buf + n, cap - n, "&STYLE=");
  if (!rc) rc = swath__remote_escape(buf, cap, c->style);
  n = strlen(buf);
  snprintf(buf + n, cap - n, "&FORMAT=");
  if (!rc) rc = swath__remote_escape(buf, cap, c->format);
  n = strlen(buf);
  snprintf(buf + n, cap - n, "&TILEMATRIXSET=");
  if (!rc) rc = swath__remote_escape(buf, cap, c->tms_id);
  n = strlen(buf);
  snprintf(buf + n, cap - n, "&TILEMATRIX=");
  if (!rc) rc = swath__remote_escape(buf, cap, r->tms.m[t.z].id);
  n = strlen(buf);
  int k = snprintf(buf + n, cap - n, "&TILEROW=%lld&TILECOL=%lld", (long long)t.y, (long long)t.x);
  if (!rc && (k < 0 || (size_t)k >= cap - n)) rc = swath_error_set(SWATH_EINVAL, "input %s: URL too long", r->name);
  return rc;
}

static const CPLXMLNode *child_with_id(const CPLXMLNode *parent, const char *elem, const char *id) {
  for (const CPLXMLNode *c = parent ? parent->psChild : NULL; c; c = c->psNext)
    if (c->eType == CXT_Element && strcmp(c->pszValue, elem) == 0 &&
        strcmp(CPLGetXMLValue(c, "Identifier", ""), id) == 0)
      return c;
  return NULL;
}

static void list_ids(const CPLXMLNode *parent, const char *elem, const char *sub, char *buf, size_t cap) {
  buf[0] = 0;
  for (const CPLXMLNode *c = parent ? parent->psChild : NULL; c; c = c->psNext) {
    if (c->eType != CXT_Element || strcmp(c->pszValue, elem) != 0) continue;
    const char *v = sub ? CPLGetXMLValue(c, sub, "") : CPLGetXMLValue(c, NULL, "");
    size_t n = strlen(buf);
    if (n + strlen(v) + 3 < cap) snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", v);
  }
}

/* The tile matrix set as a swath grid. */
static int build_grid(swath__remote *r, const CPLXMLNode *set, const char *id) {
  const char *crs = CPLGetXMLValue(set, "SupportedCRS", NULL);
  if (!crs) return swath_error_set(SWATH_EINVAL, "input %s: tile matrix set %s has no SupportedCRS", r->name, id);
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  if (OSRSetFromUserInput(srs, crs) != OGRERR_NONE) {
    OSRDestroySpatialReference(srs);
    return swath_error_set(SWATH_EINVAL, "input %s: tile matrix set %s: unknown CRS %s", r->name, id, crs);
  }
  int swap = OSREPSGTreatsAsLatLong(srs) || OSREPSGTreatsAsNorthingEasting(srs);
  double mpu = OSRIsGeographic(srs) ? 6378137.0 * 2 * M_PI / 360 : OSRGetLinearUnits(srs, NULL);
  swath_grid *g = &r->tms;
  memset(g, 0, sizeof *g);
  snprintf(g->name, sizeof g->name, "%s", id);
  snprintf(g->crs, sizeof g->crs, "%s", crs);
  g->is_geographic = OSRIsGeographic(srs);
  OSRDestroySpatialReference(srs);
  int z = 0;
  for (const CPLXMLNode *c = set->psChild; c && z < SWATH_GRID_MAX_ZOOMS; c = c->psNext) {
    if (c->eType != CXT_Element || strcmp(c->pszValue, "TileMatrix") != 0) continue;
    swath_tile_matrix *m = &g->m[z];
    double a = 0, b = 0;
    if (sscanf(CPLGetXMLValue(c, "TopLeftCorner", ""), "%lf %lf", &a, &b) != 2)
      return swath_error_set(SWATH_EINVAL, "input %s: tile matrix %s has no TopLeftCorner", r->name,
                             CPLGetXMLValue(c, "Identifier", "?"));
    snprintf(m->id, sizeof m->id, "%s", CPLGetXMLValue(c, "Identifier", ""));
    m->origin_x = swap ? b : a;
    m->origin_y = swap ? a : b;
    m->cell_size = atof(CPLGetXMLValue(c, "ScaleDenominator", "0")) * 0.00028 / mpu;
    m->tile_width = atoi(CPLGetXMLValue(c, "TileWidth", "0"));
    m->tile_height = atoi(CPLGetXMLValue(c, "TileHeight", "0"));
    m->matrix_width = atoll(CPLGetXMLValue(c, "MatrixWidth", "0"));
    m->matrix_height = atoll(CPLGetXMLValue(c, "MatrixHeight", "0"));
    if (!(m->cell_size > 0) || m->tile_width <= 0 || m->tile_height <= 0 || m->matrix_width <= 0 ||
        m->matrix_height <= 0)
      return swath_error_set(SWATH_EINVAL, "input %s: tile matrix %s is incomplete", r->name, m->id);
    z++;
  }
  if (z == 0) return swath_error_set(SWATH_EINVAL, "input %s: tile matrix set %s has no matrices", r->name, id);
  g->min_zoom = 0;
  g->max_zoom = z - 1;
  const swath_tile_matrix *m0 = &g->m[0];
  g->extent = (swath_bounds){m0->origin_x, m0->origin_y - m0->matrix_height * m0->tile_height * m0->cell_size,
                             m0->origin_x + m0->matrix_width * m0->tile_width * m0->cell_size, m0->origin_y};
  return 0;
}

static int read_caps(swath__remote *r, wmts_ctx *c, const char *doc, const char *caps_url, const char *style,
                     const char *format) {
  CPLXMLNode *root = CPLParseXMLString(doc);
  if (!root) return swath_error_set(SWATH_EINVAL, "input %s: the WMTS capabilities are not XML", r->name);
  CPLStripXMLNamespace(root, NULL, TRUE);
  const CPLXMLNode *caps = xml_node(root, "=Capabilities");
  const CPLXMLNode *contents = caps ? xml_node(caps, "Contents") : NULL;
  char list[1024];
  int rc = 0;
  const CPLXMLNode *layer = contents ? child_with_id(contents, "Layer", c->layer) : NULL;
  if (!contents) {
    rc = swath_error_set(SWATH_EINVAL, "input %s: not a WMTS capabilities document (no Contents)", r->name);
    goto out;
  }
  if (!layer) {
    list_ids(contents, "Layer", "Identifier", list, sizeof list);
    rc = swath_error_set(SWATH_EINVAL, "input %s: the WMTS has no layer '%s' (layers: %s)", r->name, c->layer, list);
    goto out;
  }
  /* Style: the given one must exist; else the default, else the first. */
  const char *st = NULL;
  for (const CPLXMLNode *s = layer->psChild; s; s = s->psNext) {
    if (s->eType != CXT_Element || strcmp(s->pszValue, "Style") != 0) continue;
    const char *id = CPLGetXMLValue(s, "Identifier", "");
    if (style ? strcmp(id, style) == 0 : (!st || CPLTestBool(CPLGetXMLValue(s, "isDefault", "false")))) st = id;
  }
  if (style && !st) {
    list_ids(layer, "Style", "Identifier", list, sizeof list);
    rc = swath_error_set(SWATH_EINVAL, "input %s: layer %s has no style '%s' (styles: %s)", r->name, c->layer,
                         style, list);
    goto out;
  }
  c->style = strdup(st ? st : "default");
  /* Format. */
  const char *fm = NULL;
  for (const CPLXMLNode *f = layer->psChild; f; f = f->psNext)
    if (f->eType == CXT_Element && strcmp(f->pszValue, "Format") == 0) {
      const char *v = CPLGetXMLValue(f, NULL, "");
      if (format ? strcasecmp(v, format) == 0 : !fm) fm = v;
    }
  if (format && !fm) {
    list_ids(layer, "Format", NULL, list, sizeof list);
    rc = swath_error_set(SWATH_EINVAL, "input %s: layer %s is not offered as %s (formats: %s)", r->name,
                         c->layer, format, list);
    goto out;
  }
  c->format = strdup(fm ? fm : "image/png");
  if (!c->style || !c->format) {
    rc = SWATH_ENOMEM;
    goto out;
  }
  if ((rc = swath__remote_format(c->format, &r->kinds, r->ext))) {
    rc = swath_error_set(SWATH_EINVAL, "input %s: %s", r->name, swath_error_message());
    goto out;
  }
  /* Tile matrix set: linked from the layer, defined in Contents. */
  const CPLXMLNode *link = NULL;
  for (const CPLXMLNode *l = layer->psChild; l; l = l->psNext)
    if (l->eType == CXT_Element && strcmp(l->pszValue, "TileMatrixSetLink") == 0 &&
        strcmp(CPLGetXMLValue(l, "TileMatrixSet", ""), c->tms_id) == 0)
      link = l;
  const CPLXMLNode *set = child_with_id(contents, "TileMatrixSet", c->tms_id);
  if (!link || !set) {
    list_ids(layer, "TileMatrixSetLink", "TileMatrixSet", list, sizeof list);
    rc = swath_error_set(SWATH_EINVAL, "input %s: layer %s has no tile matrix set '%s' (sets: %s)", r->name,
                         c->layer, c->tms_id, list);
    goto out;
  }
  if ((rc = build_grid(r, set, c->tms_id))) goto out;
  /* Footprint, and the limits (which the footprint may help to read). */
  const CPLXMLNode *bb = xml_node(layer, "WGS84BoundingBox");
  double w, s, e, n;
  swath_bounds box;
  int has_box = bb && sscanf(CPLGetXMLValue(bb, "LowerCorner", ""), "%lf %lf", &w, &s) == 2 &&
                sscanf(CPLGetXMLValue(bb, "UpperCorner", ""), "%lf %lf", &e, &n) == 2 && w < e &&
                s < n;
  if (has_box) box = (swath_bounds){w, s, e, n};
  if (has_box && !r->has_footprint) {
    r->has_footprint = 1;
    r->footprint_lonlat = box;
  }
  if ((rc = swath__wmts_limits(r, link, c->tms_id, has_box ? &box : NULL))) goto out;
  /* KVP GetTile endpoint from OperationsMetadata, else the capabilities URL. */
  const char *href = NULL;
  const CPLXMLNode *ops = xml_node(caps, "OperationsMetadata");
  for (const CPLXMLNode *o = ops ? ops->psChild : NULL; o; o = o->psNext)
    if (o->eType == CXT_Element && strcmp(o->pszValue, "Operation") == 0 &&
        strcmp(CPLGetXMLValue(o, "name", ""), "GetTile") == 0)
      href = CPLGetXMLValue(o, "DCP.HTTP.Get.href", NULL);
  char base[4096];
  if (href && *href) snprintf(base, sizeof base, "%s", href);
  else snprintf(base, sizeof base, "%.*s", (int)strcspn(caps_url, "?"), caps_url);
  size_t bl = strlen(base);
  if (bl && base[bl - 1] != '?' && base[bl - 1] != '&' && bl + 2 < sizeof base)
    strcat(base, strchr(base, '?') ? "&" : "?");
  if (!(c->base = strdup(base))) rc = SWATH_ENOMEM;
out:
  CPLDestroyXMLNode(root);
  return rc;
}

static int wmts_open(const swath_source_spec *spec, const swath_grid *g, swath_source_info *info,
                     void **out) {
  *out = NULL;
  static const char *const own[] = {"capabilities", "layer", "style", "format", "tile_matrix_set",
                                    "capabilities_max_age", NULL};
  swath__remote *r = swath__remote_new("wmts", sizeof(wmts_ctx), wmts_free, wmts_url);
  if (!r) return SWATH_ENOMEM;
  wmts_ctx *c = r->ctx;
  const char *caps = NULL, *layer = NULL, *style, *format, *tms;
  long max_age = 86400;
  int rc = swath__remote_parse_common(r, spec, own);
  if (!rc) rc = swath__remote_string(spec, "capabilities", NULL, &caps);
  if (!rc) rc = swath__remote_string(spec, "layer", NULL, &layer);
  if (!rc) rc = swath__remote_string(spec, "tile_matrix_set", NULL, &tms);
  if (!rc && (!caps || !layer || !tms))
    rc = swath_error_set(SWATH_EINVAL, "inputs.%s: a wmts input needs 'capabilities', 'layer' and "
                         "'tile_matrix_set'", spec->name);
  if (!rc && strncmp(caps, "http://", 7) != 0 && strncmp(caps, "https://", 8) != 0)
    rc = swath_error_set(SWATH_EINVAL, "inputs.%s.capabilities: '%s' is not an http(s) URL", spec->name, caps);
  if (!rc) rc = swath__remote_string(spec, "style", NULL, &style);
  if (!rc) rc = swath__remote_string(spec, "format", NULL, &format);
  if (!rc) rc = swath__remote_long(spec, "capabilities_max_age", 0, 1L << 30, &max_age);
  if (!rc && (!(c->layer = strdup(layer)) || !(c->tms_id = strdup(tms)))) rc = SWATH_ENOMEM;
  if (!rc) rc = swath__remote_fetcher(r, spec);
  char *doc = NULL;
  if (!rc) rc = swath__remote_document(spec, r->fetcher, caps, max_age, &doc);
  if (!rc) rc = read_caps(r, c, doc, caps, style, format);
  free(doc);
  if (!rc) {
    r->id = (swath_cache_source_id){.type = "wmts", .url = c->base, .layer = c->layer, .style = c->style,
                                     .format = c->format, .crs = r->tms.crs, .grid = c->tms_id};
    rc = swath__remote_init(r, spec, g, info);
  }
  if (rc) {
    swath__remote_close(r);
    return rc;
  }
  *out = r;
  return 0;
}

const swath_source_vtable swath_source_wmts = {
    .name = "wmts",
    .open = wmts_open,
    .read = swath__remote_read,
    .requests = swath__remote_requests,
    .close = swath__remote_close,
};
