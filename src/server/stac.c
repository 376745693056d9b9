/* stac.c: STAC API routes over the catalog.
 *
 * Every search route (GET/POST /search, /collections/{id}/items) turns its
 * input into the same search body the CLI builds and runs it through
 * swath_search_parse/run, so HTTP and CLI answers are identical. Links are
 * absolute, built from the request's base URL; next links carry the paging
 * token (GET: in the query string, POST: in a body to send again). Bad
 * input is a 400 JSON error; unknown collection or item paths are 404. */
#include "server/stac.h"

#include <cpl_string.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "core/error.h"
#include "core/log.h"

struct swath_stac_server {
  char *path;
  pthread_key_t key;
  int key_ok;
  int64_t count_limit;
  swath_http_server *http;
};

static const char *const CONFORMS[] = {
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#sort",
    "https://api.stacspec.org/v1.0.0-rc.2/item-search#filter",
    "https://api.stacspec.org/v1.0.0-rc.1/item-search#query",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    NULL};

#define GEOJSON "application/geo+json"

/* The calling thread's read-only catalog connection (opened on first use,
 * closed by the key's destructor when MHD's thread exits). */
static int catalog(struct swath_stac_server *s, swath_catalog **out) {
  swath_catalog *c = pthread_getspecific(s->key);
  if (!c) {
    int rc = swath_catalog_open(s->path, SWATH_CATALOG_READONLY, &c);
    if (rc) return rc;
    pthread_setspecific(s->key, c);
  }
  *out = c;
  return 0;
}

static void close_catalog(void *p) { swath_catalog_close(p); }

static json_t *mklink(const char *rel, const char *type, const char *base, const char *path) {
  size_t n = strlen(base) + strlen(path) + 1;
  char *href = malloc(n);
  if (!href) return NULL;
  snprintf(href, n, "%s%s", base, path);
  json_t *l = json_pack("{s:s, s:s, s:s}", "rel", rel, "type", type, "href", href);
  free(href);
  return l;
}

static char *escape(const char *s) { return CPLEscapeString(s, -1, CPLES_URL); }

static void collection_links(json_t *coll, const char *base) {
  const char *id = json_string_value(json_object_get(coll, "id"));
  char *eid = escape(id ? id : "");
  char p[1024];
  json_t *links = json_object_get(coll, "links");
  snprintf(p, sizeof p, "/collections/%s", eid);
  json_array_append_new(links, mklink("self", "application/json", base, p));
  json_array_append_new(links, mklink("root", "application/json", base, "/"));
  json_array_append_new(links, mklink("parent", "application/json", base, "/"));
  snprintf(p, sizeof p, "/collections/%s/items", eid);
  json_array_append_new(links, mklink("items", GEOJSON, base, p));
  snprintf(p, sizeof p, "/collections/%s/queryables", eid);
  json_array_append_new(links, mklink("http://www.opengis.net/def/rel/ogc/1.0/queryables",
                                      "application/schema+json", base, p));
  CPLFree(eid);
}

/* ---- fixed documents ------------------------------------------------------ */

static json_t *conformance(void) {
  json_t *a = json_array();
  for (int k = 0; CONFORMS[k]; k++)
    json_array_append_new(a, json_string(CONFORMS[k]));
  return a;
}

/* Every collection, read on the calling thread's connection. */
static int all_collections(struct swath_stac_server *s, json_t **out) {
  swath_catalog *c;
  int rc = catalog(s, &c);
  return rc ? rc : swath_catalog_collections(c, out);
}

static void h_landing(void *app, const swath_http_request *rq, swath_http_response *rs) {
  const char *base = swath_http_base_url(rq);
  json_t *colls = NULL;
  int rc = all_collections(app, &colls);
  if (rc) {
    swath_http_fail(rs, rc);
    return;
  }
  json_t *links = json_array();
  json_array_append_new(links, mklink("self", "application/json", base, "/"));
  json_array_append_new(links, mklink("root", "application/json", base, "/"));
  json_array_append_new(links, mklink("conformance", "application/json", base, "/conformance"));
  json_array_append_new(links, mklink("data", "application/json", base, "/collections"));
  json_t *l = mklink("search", GEOJSON, base, "/search");
  json_object_set_new(l, "method", json_string("GET"));
  json_array_append_new(links, l);
  l = mklink("search", GEOJSON, base, "/search");
  json_object_set_new(l, "method", json_string("POST"));
  json_array_append_new(links, l);
  json_array_append_new(
      links, mklink("service-desc", "application/vnd.oai.openapi+json;version=3.0", base, "/api"));
  json_array_append_new(links, mklink("http://www.opengis.net/def/rel/ogc/1.0/queryables",
                                      "application/schema+json", base, "/queryables"));
  size_t i;
  json_t *coll;
  json_array_foreach(colls, i, coll) {
    char *eid = escape(json_string_value(json_object_get(coll, "id")));
    char p[1024];
    snprintf(p, sizeof p, "/collections/%s", eid);
    CPLFree(eid);
    json_t *child = mklink("child", "application/json", base, p);
    json_object_set(child, "title", json_object_get(coll, "title"));
    json_array_append_new(links, child);
  }
  json_decref(colls);
  swath_http_json(rs, 200,
                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:[], s:o, s:o}", "type", "Catalog", "id",
                            "swath", "title", "swath scene catalog", "description",
                            "Satellite scenes searchable by area, time, cloud cover and colour",
                            "stac_version", "1.0.0", "stac_extensions", "conformsTo", conformance(),
                            "links", links));
}

static void h_conformance(void *app, const swath_http_request *rq, swath_http_response *rs) {
  (void)app, (void)rq;
  swath_http_json(rs, 200, json_pack("{s:o}", "conformsTo", conformance()));
}

static void h_queryables(void *app, const swath_http_request *rq, swath_http_response *rs) {
  (void)app;
  json_t *q = swath_catalog_queryables();
  char id[1024];
  snprintf(id, sizeof id, "%s%s", swath_http_base_url(rq), swath_http_path(rq));
  json_object_set_new(q, "$id", json_string(id));
  rs->content_type = "application/schema+json";
  swath_http_json(rs, 200, q);
}

static void h_api(void *app, const swath_http_request *rq, swath_http_response *rs) {
  (void)app;
  static const char *const paths[][2] = {
      {"/", "landing page"},
      {"/conformance", "conformance classes"},
      {"/collections", "collections"},
      {"/collections/{collectionId}", "one collection"},
      {"/collections/{collectionId}/items", "items of a collection (bbox, datetime, limit...)"},
      {"/collections/{collectionId}/items/{itemId}", "one item"},
      {"/search", "item search (GET parameters or POST body)"},
      {"/queryables", "properties usable in filter, query and sortby"},
      {NULL, NULL}};
  json_t *p = json_object();
  for (int k = 0; paths[k][0]; k++) {
    json_t *op = json_pack("{s:{s:s, s:{s:{s:s}}}}", "get", "summary", paths[k][1], "responses",
                           "200", "description", "OK");
    if (!strcmp(paths[k][0], "/search"))
      json_object_set_new(op, "post",
                          json_pack("{s:s, s:{s:{s:s}}}", "summary", paths[k][1], "responses",
                                    "200", "description", "OK"));
    json_object_set_new(p, paths[k][0], op);
  }
  rs->content_type = "application/vnd.oai.openapi+json;version=3.0";
  swath_http_json(rs, 200,
                  json_pack("{s:s, s:{s:s, s:s}, s:[{s:s}], s:o}", "openapi", "3.0.3", "info",
                            "title", "swath STAC API", "version", "1.0.0", "servers", "url",
                            swath_http_base_url(rq), "paths", p));
}

/* ---- collections and items --------------------------------------------------- */

static void h_collections(void *app, const swath_http_request *rq, swath_http_response *rs) {
  json_t *colls = NULL;
  int rc = all_collections(app, &colls);
  if (rc) {
    swath_http_fail(rs, rc);
    return;
  }
  const char *base = swath_http_base_url(rq);
  size_t i;
  json_t *coll;
  json_array_foreach(colls, i, coll) collection_links(coll, base);
  json_t *links = json_array();
  json_array_append_new(links, mklink("self", "application/json", base, "/collections"));
  json_array_append_new(links, mklink("root", "application/json", base, "/"));
  swath_http_json(rs, 200, json_pack("{s:o, s:o}", "collections", colls, "links", links));
}

static void h_collection(void *app, const swath_http_request *rq, swath_http_response *rs) {
  swath_catalog *c;
  json_t *coll = NULL;
  int rc = catalog(app, &c);
  if (!rc) rc = swath_catalog_collection(c, swath_http_param(rq, 0), &coll);
  if (rc) {
    swath_http_fail(rs, rc);
    return;
  }
  collection_links(coll, swath_http_base_url(rq));
  swath_http_json(rs, 200, coll);
}

static void h_item(void *app, const swath_http_request *rq, swath_http_response *rs) {
  swath_catalog *c;
  json_t *item = NULL, *coll = NULL;
  int rc = catalog(app, &c);
  if (!rc) rc = swath_catalog_collection(c, swath_http_param(rq, 0), &coll);
  json_decref(coll);
  if (!rc) rc = swath_catalog_get_item(c, swath_http_param(rq, 0), swath_http_param(rq, 1), &item);
  if (rc) {
    swath_http_fail(rs, rc);
    return;
  }
  swath_item_add_links(item, swath_http_base_url(rq));
  rs->content_type = GEOJSON;
  swath_http_json(rs, 200, item);
}

/* ---- searches ------------------------------------------------------------------ */

/* The URL of a GET request with its own arguments; with `token`, that
 * token in place of the request's. Caller frees. */
static char *request_url(const swath_http_request *rq, const char *token) {
  const char *const *keys, *const *vals;
  size_t n = swath_http_query_all(rq, &keys, &vals);
  size_t cap = strlen(swath_http_base_url(rq)) + strlen(swath_http_path(rq)) + 64 +
               (token ? 3 * strlen(token) : 0);
  for (size_t k = 0; k < n; k++)
    cap += 3 * (strlen(keys[k]) + strlen(vals[k])) + 2;
  char *href = malloc(cap);
  if (!href) return NULL;
  int len = snprintf(href, cap, "%s%s", swath_http_base_url(rq), swath_http_path(rq));
  char sep = '?';
  for (size_t k = 0; k < n; k++) {
    if (token && !strcmp(keys[k], "token")) continue;
    char *ek = escape(keys[k]), *ev = escape(vals[k]);
    len += snprintf(href + len, cap - len, "%c%s=%s", sep, ek, ev);
    sep = '&';
    CPLFree(ek);
    CPLFree(ev);
  }
  if (token) snprintf(href + len, cap - len, "%ctoken=%s", sep, token);
  return href;
}

/* A GET page's self link (token NULL) or next link. */
static json_t *link_get(const swath_http_request *rq, const char *rel, const char *token) {
  char *href = request_url(rq, token);
  if (!href) return NULL;
  json_t *l =
      json_pack("{s:s, s:s, s:s, s:s}", "rel", rel, "type", GEOJSON, "method", "GET", "href", href);
  free(href);
  return l;
}

static json_t *next_post(const swath_http_request *rq, const swath_search *q, const char *token) {
  json_t *body = json_deep_copy(swath_search_body(q));
  json_object_set_new(body, "token", json_string(token));
  char href[512];
  snprintf(href, sizeof href, "%s%s", swath_http_base_url(rq), swath_http_path(rq));
  return json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "rel", "next", "type", GEOJSON, "method",
                   "POST", "href", href, "body", body, "merge", 0);
}

static void run_search(struct swath_stac_server *s, const swath_http_request *rq,
                       swath_http_response *rs, json_t *body, const char *collection) {
  swath_search *q = NULL;
  swath_catalog *c;
  swath_page page;
  int post = !strcmp(swath_http_method(rq), "POST");
  int rc = swath_search_parse(body, &q);
  json_decref(body);
  if (!rc && collection) rc = swath_search_set_collection(q, collection);
  if (!rc) rc = catalog(s, &c);
  const char *base = swath_http_base_url(rq);
  swath_search_opts o = {s->count_limit, 0, base};
  if (!rc) rc = swath_search_run(c, q, &o, &page);
  if (rc) {
    swath_search_free(q);
    swath_http_fail(rs, rc);
    return;
  }
  /* self and collection: required on the items route (STAC API -
   * Features, OGC API - Features core); self for GET searches too */
  json_t *links = json_array();
  if (!post) json_array_append_new(links, link_get(rq, "self", NULL));
  json_array_append_new(links, mklink("root", "application/json", base, "/"));
  if (collection) {
    char *eid = escape(collection), p[1024];
    snprintf(p, sizeof p, "/collections/%s", eid);
    CPLFree(eid);
    json_array_append_new(links, mklink("collection", "application/json", base, p));
  }
  if (page.next_token)
    json_array_append_new(links, post ? next_post(rq, q, page.next_token)
                                      : link_get(rq, "next", page.next_token));
  swath_search_free(q);
  swath_jtext t = {.precision = SWATH_JSON_DIGITS};
  rc = swath_page_write(&page, links, &t);
  json_decref(links);
  swath_page_clear(&page);
  if (rc) {
    swath_jtext_clear(&t);
    swath_http_fail(rs, rc);
    return;
  }
  rs->content_type = GEOJSON;
  swath_http_bytes(rs, 200, t.p, t.len);
}

/* GET arguments -> search body; "f" (output format) is JSON only. */
static int get_body(const swath_http_request *rq, int items_route, json_t **body) {
  const char *const *keys, *const *vals;
  size_t n = swath_http_query_all(rq, &keys, &vals);
  const char *k2[64], *v2[64];
  size_t m = 0;
  for (size_t k = 0; k < n && m < 64; k++) {
    if (!strcmp(keys[k], "f")) {
      if (strcmp(vals[k], "json") && strcmp(vals[k], "geojson"))
        return swath_error_set(SWATH_EINVAL, "f: only json is served");
      continue;
    }
    if (items_route && (!strcmp(keys[k], "collections") || !strcmp(keys[k], "ids") ||
                        !strcmp(keys[k], "intersects")))
      return swath_error_set(SWATH_EINVAL, "%s: not a parameter of the items route (use /search)",
                             keys[k]);
    k2[m] = keys[k], v2[m++] = vals[k];
  }
  return swath_search_body_from_params(k2, v2, m, 0, body);
}

static void h_search_get(void *app, const swath_http_request *rq, swath_http_response *rs) {
  json_t *body;
  int rc = get_body(rq, 0, &body);
  if (rc) {
    swath_http_fail(rs, rc);
    return;
  }
  run_search(app, rq, rs, body, NULL);
}

static void h_search_post(void *app, const swath_http_request *rq, swath_http_response *rs) {
  size_t len;
  const char *text = swath_http_body(rq, &len);
  json_error_t err;
  json_t *body = len ? json_loadb(text, len, 0, &err) : json_object();
  if (!body) {
    swath_http_error(rs, 400, "InvalidParameterValue", "body: not valid JSON: %s (line %d)",
                     err.text, err.line);
    return;
  }
  run_search(app, rq, rs, body, NULL);
}

static void h_items(void *app, const swath_http_request *rq, swath_http_response *rs) {
  swath_catalog *c;
  json_t *coll = NULL, *body = NULL;
  const char *id = swath_http_param(rq, 0);
  int rc = catalog(app, &c);
  if (!rc) rc = swath_catalog_collection(c, id, &coll);
  json_decref(coll);
  if (!rc) rc = get_body(rq, 1, &body);
  if (rc) {
    swath_http_fail(rs, rc);
    return;
  }
  run_search(app, rq, rs, body, id);
}

static const swath_http_route ROUTES[] = {
    {"GET", "/", h_landing},
    {"GET", "/conformance", h_conformance},
    {"GET", "/api", h_api},
    {"GET", "/queryables", h_queryables},
    {"GET", "/collections", h_collections},
    {"GET", "/collections/{}", h_collection},
    {"GET", "/collections/{}/queryables", h_queryables},
    {"GET", "/collections/{}/items", h_items},
    {"GET", "/collections/{}/items/{}", h_item},
    {"GET", "/search", h_search_get},
    {"POST", "/search", h_search_post},
    {NULL, NULL, NULL},
};

int swath_stac_open(const swath_stac_config *cfg, swath_stac_server **out) {
  *out = NULL;
  /* Fail now, not on the first request, if the catalog cannot be read. */
  swath_catalog *probe;
  int rc = swath_catalog_open(cfg->catalog, SWATH_CATALOG_READONLY, &probe);
  if (rc) return rc;
  swath_catalog_close(probe);
  struct swath_stac_server *s = calloc(1, sizeof *s);
  if (!s || !(s->path = strdup(cfg->catalog))) {
    free(s);
    return swath_error_set(SWATH_ENOMEM, "serve: out of memory");
  }
  s->count_limit = cfg->count_limit;
  if (pthread_key_create(&s->key, close_catalog) != 0) {
    free(s->path);
    free(s);
    return swath_error_set(SWATH_EIO, "serve: cannot create thread key");
  }
  s->key_ok = 1;
  *out = s;
  return 0;
}

swath_http_api swath_stac_api(swath_stac_server *s) {
  return (swath_http_api){.routes = ROUTES, .app = s};
}

int swath_stac_start(const swath_stac_config *cfg, swath_stac_server **out) {
  int rc = swath_stac_open(cfg, out);
  if (rc) return rc;
  if ((rc = swath_http_start(&cfg->http, ROUTES, *out, &(*out)->http))) {
    swath_stac_stop(*out);
    *out = NULL;
    return rc;
  }
  return 0;
}

int swath_stac_port(const swath_stac_server *s) { return swath_http_port(s->http); }

void swath_stac_stop(swath_stac_server *s) {
  if (!s) return;
  swath_http_stop(s->http); /* joins MHD's threads: their connections close */
  if (s->key_ok) pthread_key_delete(s->key);
  free(s->path);
  free(s);
}
