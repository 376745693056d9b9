/* source_wmts.c: OGC WMTS 1.0.0 tiles, by KVP GetTile or RESTful.
 *
 * Everything about the tiles comes from GetCapabilities (cached, see
 * remote.h): the layer, its style (the default one unless `style` is given),
 * its format (the first offered unless `format` is given) and the tile matrix
 * set, whose matrices become a swath grid in the set's CRS. Matrix
 * resolutions follow the standard: cell = ScaleDenominator * 0.28 mm /
 * metres per CRS unit (for degrees, the WGS84 equator's metres per degree).
 * TopLeftCorner is in the CRS's axis order, so it is swapped for lat/long
 * CRSs such as urn:ogc:def:crs:EPSG::4326. The matrices need not halve:
 * reads pick the coarsest one at least as fine as the job's pixels.
 *
 * Tiles are asked for by KVP where OperationsMetadata's GetTile allows it
 * (a Get whose GetEncoding allows KVP, or that names no encoding); else by
 * the layer's ResourceURL template for the format (a REST-only service),
 * its {placeholders} filled (dimensions take their default); a service
 * that is RESTful only without a template is refused at open. A document
 * without OperationsMetadata or template gets KVP at the capabilities URL's
 * path. TileMatrixSetLimits: wmts_limits.c. */
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

#define MAX_DIMS 8

typedef struct wmts_ctx {
  char *base; /* KVP: GetTile URL ending in ? or &; NULL for REST */
  char *tmpl; /* REST: the layer's ResourceURL template; NULL for KVP */
  char *layer, *style, *format, *tms_id;
  int ndims; /* the layer's dimensions (REST templates name them): */
  char *dim_id[MAX_DIMS], *dim_default[MAX_DIMS];
  char extra[512]; /* REST: the dimensions' values, for the cache identity */
} wmts_ctx;

static void wmts_free(void *p) {
  wmts_ctx *c = p;
  if (!c) return;
  free(c->base);
  free(c->tmpl);
  for (int i = 0; i < c->ndims; i++)
    free(c->dim_id[i]), free(c->dim_default[i]);
  free(c->layer);
  free(c->style);
  free(c->format);
  free(c->tms_id);
  free(c);
}

/* The value of a REST template's {name}, escaped into buf at its end; 1 if
 * the name is known (the standard's, case-insensitive, or a dimension's,
 * which takes its default), 0 if not; <0 if the URL is too long. */
static int rest_value(const swath__remote *r, const char *name, size_t len, swath_tile t, char *buf,
                      size_t cap) {
  const wmts_ctx *c = r->ctx;
  char num[32];
  const char *v = NULL;
  if (len == 13 && strncasecmp(name, "TileMatrixSet", len) == 0)
    v = c->tms_id;
  else if (len == 10 && strncasecmp(name, "TileMatrix", len) == 0)
    v = r->tms.m[t.z].id;
  else if (len == 7 && strncasecmp(name, "TileRow", len) == 0)
    snprintf(num, sizeof num, "%lld", (long long)t.y), v = num;
  else if (len == 7 && strncasecmp(name, "TileCol", len) == 0)
    snprintf(num, sizeof num, "%lld", (long long)t.x), v = num;
  else if (len == 5 && strncasecmp(name, "Style", len) == 0)
    v = c->style;
  else if (len == 5 && strncasecmp(name, "Layer", len) == 0)
    v = c->layer;
  for (int i = 0; !v && i < c->ndims; i++)
    if (strlen(c->dim_id[i]) == len && strncasecmp(name, c->dim_id[i], len) == 0)
      v = c->dim_default[i];
  if (!v) return 0;
  return swath__remote_escape(buf, cap, v) ? -1 : 1;
}

/* A REST tile URL: the template with its {placeholders} filled. */
static int rest_url(const swath__remote *r, swath_tile t, char *buf, size_t cap) {
  const wmts_ctx *c = r->ctx;
  size_t n = 0;
  buf[0] = 0;
  for (const char *p = c->tmpl; *p;) {
    const char *close = *p == '{' ? strchr(p, '}') : NULL;
    if (close) {
      int k = rest_value(r, p + 1, (size_t)(close - p - 1), t, buf, cap);
      if (k < 0) return swath_error_set(SWATH_EINVAL, "input %s: URL too long", r->name);
      if (k == 0)
        return swath_error_set(
            SWATH_EINVAL,
            "input %s: the ResourceURL template %s has the "
            "placeholder %.*s, which is neither the standard's nor a dimension of "
            "layer %s",
            r->name, c->tmpl, (int)(close - p + 1), p, c->layer);
      n = strlen(buf);
      p = close + 1;
      continue;
    }
    if (n + 2 >= cap) return swath_error_set(SWATH_EINVAL, "input %s: URL too long", r->name);
    buf[n++] = *p++;
    buf[n] = 0;
  }
  return 0;
}

static int wmts_url(const swath__remote *r, swath_tile t, char *buf, size_t cap) {
  const wmts_ctx *c = r->ctx;
  if (c->tmpl) return rest_url(r, t, buf, cap);
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
    /* Finite, and every tile of positive size in doubles (else tile bounds
     * and the tiles of an area come out as nonsense or NaN). */
    double tw = m->cell_size * m->tile_width, th = m->cell_size * m->tile_height;
    double x1 = m->origin_x + tw * (double)m->matrix_width;
    double y1 = m->origin_y - th * (double)m->matrix_height;
    if (!isfinite(m->origin_x) || !isfinite(m->origin_y) || !isfinite(x1) || !isfinite(y1) ||
        m->origin_x + tw == m->origin_x || m->origin_y - th == m->origin_y || x1 - tw == x1 ||
        y1 + th == y1)
      return swath_error_set(SWATH_EINVAL,
                             "input %s: tile matrix %s: TopLeftCorner %s and ScaleDenominator %s "
                             "give no usable tiles",
                             r->name, m->id, CPLGetXMLValue(c, "TopLeftCorner", ""),
                             CPLGetXMLValue(c, "ScaleDenominator", ""));
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

/* The href of a GetTile Get that allows KVP (or names no encoding); NULL if
 * none. *listed: OperationsMetadata describes GetTile at all. */
static const char *kvp_href(const CPLXMLNode *caps, int *listed) {
  const CPLXMLNode *ops = xml_node(caps, "OperationsMetadata");
  *listed = 0;
  for (const CPLXMLNode *o = ops ? ops->psChild : NULL; o; o = o->psNext) {
    if (o->eType != CXT_Element || strcmp(o->pszValue, "Operation") != 0 ||
        strcmp(CPLGetXMLValue(o, "name", ""), "GetTile") != 0)
      continue;
    *listed = 1;
    const CPLXMLNode *http = xml_node(o, "DCP.HTTP");
    for (const CPLXMLNode *g = http ? http->psChild : NULL; g; g = g->psNext) {
      if (g->eType != CXT_Element || strcmp(g->pszValue, "Get") != 0) continue;
      int constrained = 0, kvp = 0;
      for (const CPLXMLNode *k = g->psChild; k; k = k->psNext) {
        if (k->eType != CXT_Element || strcmp(k->pszValue, "Constraint") != 0 ||
            strcmp(CPLGetXMLValue(k, "name", ""), "GetEncoding") != 0)
          continue;
        constrained = 1;
        const CPLXMLNode *vals = xml_node(k, "AllowedValues");
        for (const CPLXMLNode *v = vals ? vals->psChild : NULL; v; v = v->psNext)
          if (v->eType == CXT_Element && strcasecmp(CPLGetXMLValue(v, NULL, ""), "KVP") == 0)
            kvp = 1;
      }
      const char *href = CPLGetXMLValue(g, "href", NULL);
      if (href && *href && (kvp || !constrained)) return href;
    }
  }
  return NULL;
}

/* The layer's REST template for tiles in `format`, or NULL. */
static const char *resource_url(const CPLXMLNode *layer, const char *format) {
  for (const CPLXMLNode *u = layer->psChild; u; u = u->psNext)
    if (u->eType == CXT_Element && strcmp(u->pszValue, "ResourceURL") == 0 &&
        strcasecmp(CPLGetXMLValue(u, "resourceType", ""), "tile") == 0 &&
        strcasecmp(CPLGetXMLValue(u, "format", ""), format) == 0 &&
        *CPLGetXMLValue(u, "template", ""))
      return CPLGetXMLValue(u, "template", "");
  return NULL;
}

/* The layer's dimensions and their defaults (a REST template names them). */
static int read_dimensions(swath__remote *r, wmts_ctx *c, const CPLXMLNode *layer) {
  for (const CPLXMLNode *d = layer->psChild; d; d = d->psNext) {
    if (d->eType != CXT_Element || strcmp(d->pszValue, "Dimension") != 0) continue;
    if (c->ndims == MAX_DIMS)
      return swath_error_set(SWATH_EINVAL, "input %s: layer %s has more than %d dimensions",
                             r->name, c->layer, MAX_DIMS);
    const char *id = CPLGetXMLValue(d, "Identifier", ""), *def = CPLGetXMLValue(d, "Default", NULL);
    if (!def) def = CPLGetXMLValue(d, "Value", "");
    if (!(c->dim_id[c->ndims] = strdup(id)) || !(c->dim_default[c->ndims] = strdup(def))) {
      free(c->dim_id[c->ndims]);
      return SWATH_ENOMEM;
    }
    c->ndims++;
  }
  return 0;
}

/* How tiles are asked for: KVP GetTile where OperationsMetadata allows it;
 * else the layer's ResourceURL template (REST); else KVP at the
 * capabilities URL's path. */
static int tile_endpoint(swath__remote *r, wmts_ctx *c, const CPLXMLNode *caps,
                         const CPLXMLNode *layer, const char *caps_url) {
  int rc, ops_gettile = 0;
  if ((rc = read_dimensions(r, c, layer))) return rc;
  const char *href = kvp_href(caps, &ops_gettile);
  const char *tmpl = href ? NULL : resource_url(layer, c->format);
  if (!href && tmpl) {
    if (!(c->tmpl = strdup(tmpl))) return SWATH_ENOMEM;
    char probe[4096]; /* every placeholder known? */
    if ((rc = rest_url(r, (swath_tile){r->tms.min_zoom, 0, 0}, probe, sizeof probe))) return rc;
    for (int i = 0; i < c->ndims; i++) {
      size_t n = strlen(c->extra);
      snprintf(c->extra + n, sizeof c->extra - n, "%s%s=%s", n ? ";" : "", c->dim_id[i],
               c->dim_default[i]);
    }
    return 0;
  }
  if (!href && ops_gettile)
    return swath_error_set(SWATH_EINVAL,
                           "input %s: the WMTS offers GetTile only RESTful, and layer "
                           "%s has no ResourceURL template for %s",
                           r->name, c->layer, c->format);
  char base[4096];
  if (href && *href)
    snprintf(base, sizeof base, "%s", href);
  else
    snprintf(base, sizeof base, "%.*s", (int)strcspn(caps_url, "?"), caps_url);
  size_t bl = strlen(base);
  if (bl && base[bl - 1] != '?' && base[bl - 1] != '&' && bl + 2 < sizeof base)
    strcat(base, strchr(base, '?') ? "&" : "?");
  return (c->base = strdup(base)) ? 0 : SWATH_ENOMEM;
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
  rc = tile_endpoint(r, c, caps, layer, caps_url);
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
  long age;
  if (!rc) rc = swath__remote_document(spec, r->fetcher, caps, max_age, &doc, &age);
  if (!rc)
    rc = swath__remote_document_error(spec, read_caps(r, c, doc, caps, style, format), caps, age,
                                      r->offline);
  free(doc);
  if (!rc) {
    r->id = (swath_cache_source_id){.type = "wmts",
                                    .url = c->tmpl ? c->tmpl : c->base,
                                    .layer = c->layer,
                                    .style = c->style,
                                    .format = c->format,
                                    .crs = r->tms.crs,
                                    .grid = c->tms_id,
                                    .extra = c->tmpl && c->extra[0] ? c->extra : NULL};
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

/* ---- for the fuzz target (tests/fuzz/fuzz_wmts_caps.c) ---- */

int swath__wmts_read_caps(const char *doc, const char *layer, const char *tms, const char *style,
                          const char *format, swath_grid *grid) {
  swath__remote *r = swath__remote_new("wmts", sizeof(wmts_ctx), wmts_free, wmts_url);
  if (!r) return SWATH_ENOMEM;
  wmts_ctx *c = r->ctx;
  snprintf(r->name, sizeof r->name, "caps");
  int rc = (c->layer = strdup(layer)) && (c->tms_id = strdup(tms))
               ? read_caps(r, c, doc, "http://localhost/wmts?SERVICE=WMTS", style, format)
               : SWATH_ENOMEM;
  if (!rc) *grid = r->tms;
  swath__remote_close(r);
  return rc;
}
