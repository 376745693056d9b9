/* source_wms.c: OGC WMS 1.1.1 and 1.3.0 GetMap, cut on a fixed request grid.
 *
 * A WMS renders any box at any size, which would make every job's requests
 * (and cache entries) different. So requests are cut on a quadtree of
 * `block_size`-pixel blocks in the service CRS (swath__remote_quad_grid, or
 * the grid named by `grid`): a block is a tile of that grid, its cache key
 * is z/x/y, and two jobs over the same layer share blocks. WMS 1.3.0 takes
 * BBOX in the CRS's own axis order, so for EPSG:4326 and other lat/long
 * CRSs the numbers are swapped; 1.1.1 is always x,y.
 *
 * At open the capabilities document (cached, see remote.h) is checked: the
 * layers must exist, offer the CRS (directly or inherited from a parent
 * layer) and the format must be one GetMap offers. The layers' geographic
 * bounding boxes give the input's footprint. */
#include <cpl_minixml.h>
#include <cpl_string.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "io/fetch.h"
#include "io/remote.h"

/* CPLGetXMLNode does not modify the tree but takes it non-const. */
static const CPLXMLNode *xml_node(const CPLXMLNode *n, const char *path) {
  return CPLGetXMLNode((CPLXMLNode *)n, path);
}

typedef struct wms_ctx {
  char *base;    /* service URL ending in ? or & */
  char *query;   /* everything but the BBOX: SERVICE..HEIGHT and vendor params */
  char *layers, *styles, *format, *crs, *version;
  char extra[256]; /* cache identity: version, transparency, vendor params */
  int latlon;    /* 1.3.0 and a lat/long CRS: BBOX is miny,minx,maxy,maxx */
} wms_ctx;

static void wms_free(void *p) {
  wms_ctx *c = p;
  if (!c) return;
  free(c->base);
  free(c->query);
  free(c->layers);
  free(c->styles);
  free(c->format);
  free(c->crs);
  free(c->version);
  free(c);
}

static int wms_url(const swath__remote *r, swath_tile t, char *buf, size_t cap) {
  const wms_ctx *c = r->ctx;
  swath_bounds b = swath_grid_tile_bounds(&r->tms, t);
  int n = c->latlon ? snprintf(buf, cap, "%s%s&BBOX=%.17g,%.17g,%.17g,%.17g", c->base, c->query, b.miny,
                               b.minx, b.maxy, b.maxx)
                    : snprintf(buf, cap, "%s%s&BBOX=%.17g,%.17g,%.17g,%.17g", c->base, c->query, b.minx,
                               b.miny, b.maxx, b.maxy);
  if (n < 0 || (size_t)n >= cap) return swath_error_set(SWATH_EINVAL, "input %s: URL too long", r->name);
  return 0;
}

/* ---- capabilities ---- */

typedef struct caps_check {
  const char *want_crs;
  int found, crs_ok;
  swath_bounds ll;
  int has_ll;
  char offered[512];
} caps_check;

static void add_offered(caps_check *k, const char *crs) {
  size_t n = strlen(k->offered);
  if (strstr(k->offered, crs) || n + strlen(crs) + 3 >= sizeof k->offered) return;
  snprintf(k->offered + n, sizeof k->offered - n, "%s%s", n ? ", " : "", crs);
}

/* Does `layer` (or a parent, via `inherited`) offer the CRS? Records the
 * geographic bounds. Walks down to the layer called `name`. */
static int find_layer(const CPLXMLNode *layer, const char *name, caps_check *k, int inherited_ok,
                      const CPLXMLNode **parents, int depth) {
  int ok = inherited_ok;
  char offered_here[512] = "";
  for (const CPLXMLNode *c = layer->psChild; c; c = c->psNext) {
    if (c->eType != CXT_Element) continue;
    if (strcmp(c->pszValue, "CRS") == 0 || strcmp(c->pszValue, "SRS") == 0) {
      const char *v = CPLGetXMLValue(c, NULL, "");
      char tmp[1024];
      snprintf(tmp, sizeof tmp, "%s", v);
      for (char *save, *tok = strtok_r(tmp, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save)) {
        if (strcasecmp(tok, k->want_crs) == 0) ok = 1;
        size_t n = strlen(offered_here);
        if (n + strlen(tok) + 3 < sizeof offered_here)
          snprintf(offered_here + n, sizeof offered_here - n, "%s%s", n ? " " : "", tok);
      }
    }
  }
  const char *lname = CPLGetXMLValue(layer, "Name", NULL);
  if (lname && strcmp(lname, name) == 0) {
    k->found = 1;
    k->crs_ok = ok;
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", offered_here);
    for (char *save, *tok = strtok_r(tmp, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) add_offered(k, tok);
    for (int i = depth - 1; i >= 0; i--)
      for (const CPLXMLNode *c = parents[i]->psChild; c; c = c->psNext)
        if (c->eType == CXT_Element && (!strcmp(c->pszValue, "CRS") || !strcmp(c->pszValue, "SRS"))) {
          char t2[1024];
          snprintf(t2, sizeof t2, "%s", CPLGetXMLValue(c, NULL, ""));
          for (char *s2, *tok = strtok_r(t2, " \t\n", &s2); tok; tok = strtok_r(NULL, " \t\n", &s2))
            add_offered(k, tok);
        }
    /* Geographic bounds: 1.3.0 EX_GeographicBoundingBox, 1.1.1 LatLonBoundingBox, inherited. */
    for (int i = depth; i >= 0; i--) {
      const CPLXMLNode *l = i == depth ? layer : parents[i];
      const CPLXMLNode *ex = xml_node(l, "EX_GeographicBoundingBox");
      const CPLXMLNode *ll = xml_node(l, "LatLonBoundingBox");
      if (ex) {
        k->ll = (swath_bounds){atof(CPLGetXMLValue(ex, "westBoundLongitude", "-180")),
                               atof(CPLGetXMLValue(ex, "southBoundLatitude", "-90")),
                               atof(CPLGetXMLValue(ex, "eastBoundLongitude", "180")),
                               atof(CPLGetXMLValue(ex, "northBoundLatitude", "90"))};
        k->has_ll = 1;
        break;
      }
      if (ll) {
        k->ll = (swath_bounds){atof(CPLGetXMLValue(ll, "minx", "-180")), atof(CPLGetXMLValue(ll, "miny", "-90")),
                               atof(CPLGetXMLValue(ll, "maxx", "180")), atof(CPLGetXMLValue(ll, "maxy", "90"))};
        k->has_ll = 1;
        break;
      }
    }
    return 1;
  }
  if (depth >= 15) return 0;
  parents[depth] = layer;
  for (const CPLXMLNode *c = layer->psChild; c; c = c->psNext)
    if (c->eType == CXT_Element && strcmp(c->pszValue, "Layer") == 0 &&
        find_layer(c, name, k, ok, parents, depth + 1))
      return 1;
  return 0;
}

static void list_names(const CPLXMLNode *layer, char *buf, size_t cap, int depth) {
  const char *n = CPLGetXMLValue(layer, "Name", NULL);
  size_t len = strlen(buf);
  if (n && len + strlen(n) + 3 < cap) snprintf(buf + len, cap - len, "%s%s", len ? ", " : "", n);
  for (const CPLXMLNode *c = layer->psChild; c && depth < 15; c = c->psNext)
    if (c->eType == CXT_Element && strcmp(c->pszValue, "Layer") == 0) list_names(c, buf, cap, depth + 1);
}

static int check_caps(swath__remote *r, const wms_ctx *c, const char *doc) {
  CPLXMLNode *root = CPLParseXMLString(doc);
  if (!root) return swath_error_set(SWATH_EINVAL, "input %s: the WMS capabilities are not XML", r->name);
  CPLStripXMLNamespace(root, NULL, TRUE);
  const CPLXMLNode *caps = xml_node(root, "=WMS_Capabilities");
  if (!caps) caps = xml_node(root, "=WMT_MS_Capabilities");
  const CPLXMLNode *top = caps ? xml_node(caps, "Capability.Layer") : NULL;
  int rc = 0;
  if (!top) {
    rc = swath_error_set(SWATH_EINVAL, "input %s: not a WMS capabilities document (no Capability/Layer)", r->name);
    goto out;
  }
  /* Format offered by GetMap? */
  const CPLXMLNode *gm = xml_node(caps, "Capability.Request.GetMap");
  if (gm) {
    int ok = 0;
    char offered[512] = "";
    for (const CPLXMLNode *f = gm->psChild; f; f = f->psNext)
      if (f->eType == CXT_Element && strcmp(f->pszValue, "Format") == 0) {
        const char *v = CPLGetXMLValue(f, NULL, "");
        if (strcasecmp(v, c->format) == 0) ok = 1;
        size_t n = strlen(offered);
        if (n + strlen(v) + 3 < sizeof offered) snprintf(offered + n, sizeof offered - n, "%s%s", n ? ", " : "", v);
      }
    if (!ok) {
      rc = swath_error_set(SWATH_EINVAL, "input %s: the WMS does not offer format %s (offers: %s)", r->name,
                           c->format, offered);
      goto out;
    }
  }
  char layers[1024];
  snprintf(layers, sizeof layers, "%s", c->layers);
  swath_bounds fp = {0, 0, 0, 0};
  int has_fp = 0;
  for (char *save, *name = strtok_r(layers, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
    caps_check k = {.want_crs = c->crs};
    const CPLXMLNode *parents[16];
    find_layer(top, name, &k, 0, parents, 0);
    if (!k.found) {
      char names[512] = "";
      list_names(top, names, sizeof names, 0);
      rc = swath_error_set(SWATH_EINVAL, "input %s: the WMS has no layer '%s' (layers: %s)", r->name, name, names);
      goto out;
    }
    if (!k.crs_ok) {
      rc = swath_error_set(SWATH_EINVAL, "input %s: the WMS does not offer CRS %s for layer '%s' (offers: %s)",
                           r->name, c->crs, name, k.offered[0] ? k.offered : "none listed");
      goto out;
    }
    if (k.has_ll) {
      if (!has_fp) fp = k.ll;
      fp.minx = k.ll.minx < fp.minx ? k.ll.minx : fp.minx;
      fp.miny = k.ll.miny < fp.miny ? k.ll.miny : fp.miny;
      fp.maxx = k.ll.maxx > fp.maxx ? k.ll.maxx : fp.maxx;
      fp.maxy = k.ll.maxy > fp.maxy ? k.ll.maxy : fp.maxy;
      has_fp = 1;
    }
  }
  if (has_fp && !r->has_footprint && fp.minx < fp.maxx && fp.miny < fp.maxy) {
    r->has_footprint = 1;
    r->footprint_lonlat = fp;
  }
out:
  CPLDestroyXMLNode(root);
  return rc;
}

/* ---- open ---- */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int build_query(swath__remote *r, wms_ctx *c, const swath_source_spec *spec, int transparent) {
  char q[4096] = "SERVICE=WMS&REQUEST=GetMap&VERSION=";
  int rc = swath__remote_escape(q, sizeof q, c->version);
  size_t n;
#define ADD(lit) (n = strlen(q), snprintf(q + n, sizeof q - n, "%s", lit))
  ADD("&LAYERS=");
  if (!rc) rc = swath__remote_escape(q, sizeof q, c->layers);
  ADD("&STYLES=");
  if (!rc) rc = swath__remote_escape(q, sizeof q, c->styles);
  ADD("&FORMAT=");
  if (!rc) rc = swath__remote_escape(q, sizeof q, c->format);
  ADD(transparent ? "&TRANSPARENT=TRUE" : "&TRANSPARENT=FALSE");
  ADD(strcmp(c->version, "1.3.0") == 0 ? "&CRS=" : "&SRS=");
  if (!rc) rc = swath__remote_escape(q, sizeof q, c->crs);
  n = strlen(q);
  snprintf(q + n, sizeof q - n, "&WIDTH=%d&HEIGHT=%d", r->tms.m[0].tile_width, r->tms.m[0].tile_height);
  const swath_cfg *p = swath_cfg_get(spec->cfg, "params");
  if (p && p->type != SWATH_CFG_MAP)
    return swath_cfg_error(p, "inputs.%s.params: expected a mapping of vendor parameters", spec->name);
  for (size_t i = 0; p && i < p->n && !rc; i++) {
    const char *v;
    char what[128];
    snprintf(what, sizeof what, "inputs.%s.params.%s", spec->name, p->keys[i]);
    if ((rc = swath_cfg_string(p->items[i], what, &v))) break;
    ADD("&");
    rc = swath__remote_escape(q, sizeof q, p->keys[i]);
    ADD("=");
    if (!rc) rc = swath__remote_escape(q, sizeof q, v);
  }
#undef ADD
  if (rc) return rc;
  c->query = strdup(q);
  /* Identity: everything in the query but the layer/style/format/CRS fields
   * (which have their own slots) is in `extra`, hashed whole. */
  snprintf(c->extra, sizeof c->extra, "%016llx", (unsigned long long)swath_cache_source_hash(
                                                     &(swath_cache_source_id){.type = "wms-query", .url = q}));
  return c->query ? 0 : SWATH_ENOMEM;
}

static int wms_open(const swath_source_spec *spec, const swath_grid *g, swath_source_info *info,
                    void **out) {
  *out = NULL;
  static const char *const own[] = {"url", "layers", "styles", "format", "crs", "version", "transparent",
                                    "block_size", "grid", "params", "capabilities_max_age", NULL};
  swath__remote *r = swath__remote_new("wms", sizeof(wms_ctx), wms_free, wms_url);
  if (!r) return SWATH_ENOMEM;
  wms_ctx *c = r->ctx;
  const char *url = NULL, *layers = NULL, *styles, *format, *crs, *version, *grid;
  long block = 512, max_age = 86400;
  int transparent = -1, rc = swath__remote_parse_common(r, spec, own);
  if (!rc) rc = swath__remote_string(spec, "url", NULL, &url);
  if (!rc) rc = swath__remote_string(spec, "layers", NULL, &layers);
  if (!rc && (!url || !layers))
    rc = swath_error_set(SWATH_EINVAL, "inputs.%s: a wms input needs 'url' and 'layers'", spec->name);
  if (!rc && strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
    rc = swath_error_set(SWATH_EINVAL, "inputs.%s.url: '%s' is not an http(s) URL", spec->name, url);
  if (!rc) rc = swath__remote_string(spec, "styles", "", &styles);
  if (!rc) rc = swath__remote_string(spec, "format", "image/png", &format);
  if (!rc) rc = swath__remote_string(spec, "crs", "EPSG:3857", &crs);
  if (!rc) rc = swath__remote_string(spec, "version", "1.3.0", &version);
  if (!rc) rc = swath__remote_string(spec, "grid", NULL, &grid);
  if (!rc && strcmp(version, "1.3.0") != 0 && strcmp(version, "1.1.1") != 0)
    rc = swath_error_set(SWATH_EINVAL, "inputs.%s.version: '%s' (expected 1.1.1 or 1.3.0)", spec->name, version);
  if (!rc) rc = swath__remote_long(spec, "block_size", 64, 4096, &block);
  if (!rc) rc = swath__remote_long(spec, "capabilities_max_age", 0, 1L << 30, &max_age);
  if (!rc) rc = swath__remote_bool(spec, "transparent", &transparent);
  if (!rc && (rc = swath__remote_format(format, &r->kinds, r->ext)))
    rc = swath_error_set(SWATH_EINVAL, "inputs.%s.%s", spec->name, swath_error_message());
  if (!rc) {
    if (transparent < 0) transparent = r->kinds != SWATH_FETCH_JPEG;
    c->layers = dup_or_null(layers), c->styles = dup_or_null(styles), c->format = dup_or_null(format);
    c->crs = dup_or_null(crs), c->version = dup_or_null(version);
    size_t n = strlen(url) + 2;
    c->base = malloc(n);
    if (!c->layers || !c->styles || !c->format || !c->crs || !c->version || !c->base) rc = SWATH_ENOMEM;
    else {
      char last = url[strlen(url) - 1];
      snprintf(c->base, n, "%s%s", url, last == '?' || last == '&' ? "" : strchr(url, '?') ? "&" : "?");
    }
  }
  if (!rc) {
    rc = grid ? swath_grid_load(grid, (int)block, &r->tms) : swath__remote_quad_grid(crs, (int)block, &r->tms);
    if (rc) rc = swath_error_set(SWATH_EINVAL, "inputs.%s: request grid: %s", spec->name, swath_error_message());
  }
  if (!rc) {
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    OSRSetFromUserInput(s, crs);
    c->latlon = strcmp(version, "1.3.0") == 0 && (OSREPSGTreatsAsLatLong(s) || OSREPSGTreatsAsNorthingEasting(s));
    OSRDestroySpatialReference(s);
    rc = build_query(r, c, spec, transparent);
  }
  if (!rc) rc = swath__remote_fetcher(r, spec);
  if (!rc) {
    char curl[4200];
    snprintf(curl, sizeof curl, "%sSERVICE=WMS&REQUEST=GetCapabilities&VERSION=%s", c->base, version);
    char *doc = NULL;
    long age;
    rc = swath__remote_document(spec, r->fetcher, curl, max_age, &doc, &age);
    if (!rc) rc = swath__remote_document_error(spec, check_caps(r, c, doc), curl, age, r->offline);
    free(doc);
  }
  if (!rc) {
    r->id = (swath_cache_source_id){.type = "wms", .url = url, .layer = c->layers, .style = c->styles,
                                     .format = c->format, .crs = c->crs, .grid = r->tms.name, .extra = c->extra};
    rc = swath__remote_init(r, spec, g, info);
  }
  if (rc) {
    swath__remote_close(r);
    return rc;
  }
  *out = r;
  return 0;
}

const swath_source_vtable swath_source_wms = {
    .name = "wms",
    .open = wms_open,
    .read = swath__remote_read,
    .requests = swath__remote_requests,
    .close = swath__remote_close,
};

/* ---- for the fuzz target (tests/fuzz/fuzz_wms_caps.c) ---- */

int swath__wms_check_caps(const char *doc, const char *layers, const char *crs,
                          const char *format) {
  swath__remote *r = swath__remote_new("wms", sizeof(wms_ctx), wms_free, wms_url);
  if (!r) return SWATH_ENOMEM;
  wms_ctx *c = r->ctx;
  snprintf(r->name, sizeof r->name, "caps");
  int rc = (c->layers = strdup(layers)) && (c->crs = strdup(crs)) && (c->format = strdup(format))
               ? check_caps(r, c, doc)
               : SWATH_ENOMEM;
  swath__remote_close(r);
  return rc;
}
