/* remote.c: the machinery xyz, wmts and wms sources share; see remote.h.
 *
 * A read goes: the request's bounds in the service CRS -> the service zoom
 * (fixed, or the coarsest whose pixels are at least as fine as the
 * request's) -> the tiles under those bounds plus a few pixels of margin for
 * the resampling kernel (plan_read) -> each tile from the cache, fetching
 * the missing ones now -> a mosaic in memory with an alpha band (tiles the
 * server called empty, and transparent pixels, are alpha 0) -> GDAL's warper
 * onto the request, as for local rasters. The decision of which tiles a read
 * needs depends only on the request, so prefetching and reading agree. */
#include "io/remote.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <curl/curl.h>
#include <errno.h>
#include <gdal.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/area.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/raster.h"
#include "io/fetch.h"
#include "io/warp.h"

/* Most source tiles one read may need: a request that needs more is almost
 * certainly a zoom mistake (a fixed service zoom far finer than the job's). */
#define MAX_TILES_PER_READ 4096
/* Margin around a read, in service pixels: how far the resampling kernel
 * reaches (lanczos: 3; averaging kernels too, to be safe). */
static int kernel_margin(const char *resampling) {
  if (!resampling || !strcmp(resampling, "near") || !strcmp(resampling, "nearest")) return 0;
  if (!strcmp(resampling, "bilinear")) return 1;
  if (!strcmp(resampling, "cubic") || !strcmp(resampling, "cubicspline")) return 2;
  return 3;
}

/* ---- small helpers ---- */

int swath__remote_format(const char *format, unsigned *kinds, char ext[8]) {
  static const struct {
    const char *name, *ext;
    unsigned kinds;
  } f[] = {{"image/png", "png", SWATH_FETCH_PNG},
           {"png", "png", SWATH_FETCH_PNG},
           {"image/jpeg", "jpg", SWATH_FETCH_JPEG},
           {"jpeg", "jpg", SWATH_FETCH_JPEG},
           {"jpg", "jpg", SWATH_FETCH_JPEG},
           {"image/webp", "webp", SWATH_FETCH_WEBP},
           {"webp", "webp", SWATH_FETCH_WEBP},
           {"image/tiff", "tif", SWATH_FETCH_GTIFF},
           {"tif", "tif", SWATH_FETCH_GTIFF},
           {"tiff", "tif", SWATH_FETCH_GTIFF},
           {"image/png; mode=8bit", "png", SWATH_FETCH_PNG}};
  for (size_t i = 0; i < sizeof f / sizeof *f; i++)
    if (strcasecmp(format, f[i].name) == 0 ||
        (strncasecmp(format, f[i].name, strlen(f[i].name)) == 0 &&
         format[strlen(f[i].name)] == ';')) {
      *kinds = f[i].kinds;
      snprintf(ext, 8, "%s", f[i].ext);
      return 0;
    }
  return swath_error_set(SWATH_EINVAL,
                         "format '%s' is not an image format swath reads "
                         "(image/png, image/jpeg, image/webp, image/tiff)",
                         format);
}

int swath__remote_escape(char *buf, size_t cap, const char *s) {
  size_t n = strlen(buf);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_' || c == '.' || c == '~' || c == ',' || c == ':';
    if (n + 4 >= cap) return swath_error_set(SWATH_EINVAL, "URL longer than %zu bytes", cap - 1);
    if (keep)
      buf[n++] = (char)c;
    else
      n += (size_t)snprintf(buf + n, cap - n, "%%%02X", c);
  }
  buf[n] = 0;
  return 0;
}

void swath__remote_age_text(long s, char *buf, size_t cap) {
  if (s < 120)
    snprintf(buf, cap, "%ld s", s);
  else if (s < 2 * 3600)
    snprintf(buf, cap, "%ld min", s / 60);
  else if (s < 2 * 86400)
    snprintf(buf, cap, "%.1f hours", s / 3600.0);
  else
    snprintf(buf, cap, "%.1f days", s / 86400.0);
}

/* The cache file of a document: named after its URL with the secrets
 * redacted, so a rotated key finds it. */
static int document_path(const swath_source_spec *spec, const char *url, char *buf, size_t cap) {
  char *key = swath_redact_dup(url);
  if (!key) return swath_error_set(SWATH_ENOMEM, "out of memory");
  snprintf(buf, cap, "%s/capabilities/%016llx.xml", spec->cache_dir ? spec->cache_dir : ".",
           (unsigned long long)swath_fnv1a_str(key));
  free(key);
  return 0;
}

int swath__remote_document(const swath_source_spec *spec, swath_fetcher *f, const char *url,
                           long max_age, char **body, long *age) {
  *body = NULL;
  *age = -1;
  char path[4400];
  if (document_path(spec, url, path, sizeof path)) return SWATH_ENOMEM;
  swath_source_held *held = spec->held;
  if (!spec->check && held && held->path && strcmp(held->path, path) == 0) {
    /* Fetched by this run's check at start, which wrote nothing: cached now. */
    *body = held->body;
    held->body = NULL;
    swath_source_held_clear(held);
    if (spec->cache_dir && swath_cache_write(path, *body, strlen(*body), 0))
      swath_warn("input %s: could not cache %s: %s", spec->name, url, swath_error_message());
    return 0;
  }
  struct stat st;
  long a = stat(path, &st) == 0 ? (long)(time(NULL) - st.st_mtime) : -1;
  /* Offline, the cached document is all there is, whatever its age. */
  if (a >= 0 && (!f || a <= max_age)) {
    FILE *fp = fopen(path, "rb");
    if (fp) {
      char *b = malloc((size_t)st.st_size + 1);
      size_t n = b ? fread(b, 1, (size_t)st.st_size, fp) : 0;
      fclose(fp);
      /* (A document cut short by an older swath, which cached any body,
       * is fetched again.) */
      if (b && n == (size_t)st.st_size &&
          swath_fetch_validate(b, n, NULL, SWATH_FETCH_XML, 0, 0) == 0) {
        b[n] = 0;
        /* (One cached by a swath that kept secrets: redacted all the same.) */
        *body = swath_redact_dup(b);
        free(b);
        if (!*body) return swath_error_set(SWATH_ENOMEM, "out of memory");
        *age = a < 0 ? 0 : a;
        char old[32];
        swath__remote_age_text(*age, old, sizeof old);
        swath_debug("input %s: %s from the cache (%s, %s old%s)", spec->name, url, path, old,
                    !f && a > max_age
                        ? ", older than capabilities_max_age: offline, it is used anyway"
                        : "");
        return 0;
      }
      swath_error_clear();
      free(b);
    }
  }
  size_t len;
  if (!f)
    return swath_error_set(SWATH_EINVAL, "input %s: offline, and %s is not in the cache%s",
                           spec->name, url, a >= 0 ? " (the cached copy is damaged)" : "");
  /* A whole XML document, not an HTML page or an OGC exception (those say
   * why in the message); a cut-short one is retried, never cached. */
  int rc = swath_fetch_get(f, url, SWATH_FETCH_XML, body, &len);
  if (rc)
    return swath_error_set(SWATH_EINVAL, "input %s: cannot get %s: %s", spec->name, url,
                           swath_error_message());
  char *red = swath_redact_dup(*body);
  free(*body);
  if (!(*body = red)) return swath_error_set(SWATH_ENOMEM, "out of memory");
  len = strlen(red);
  if (spec->check) {
    /* Nothing is written before every check has passed (the next open
     * caches it); without a place to hold it, the next open asks again. */
    if (held) {
      swath_source_held_clear(held);
      held->path = strdup(path);
      held->body = strdup(*body);
      if (!held->path || !held->body) swath_source_held_clear(held);
    }
  } else if (spec->cache_dir && swath_cache_write(path, *body, len, 0)) {
    swath_warn("input %s: could not cache %s: %s", spec->name, url, swath_error_message());
  }
  return 0;
}

int swath__remote_document_error(const swath_source_spec *spec, int rc, const char *url, long age,
                                 int offline) {
  if (rc == 0 || rc == SWATH_ENOMEM || age < 0) return rc;
  char msg[2048], old[32], path[4400];
  snprintf(msg, sizeof msg, "%s", swath_error_message());
  swath__remote_age_text(age, old, sizeof old);
  if (document_path(spec, url, path, sizeof path)) return SWATH_ENOMEM;
  if (offline)
    return swath_error_set(
        rc, "%s (from the cached capabilities document, %s old; the input is offline)", msg, old);
  return swath_error_set(rc,
                         "%s (from the cached capabilities document, %s old; delete %s to ask the "
                         "server again)",
                         msg, old, path);
}

int swath__remote_quad_grid(const char *crs, int block, swath_grid *g) {
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  if (OSRSetFromUserInput(srs, crs) != OGRERR_NONE) {
    OSRDestroySpatialReference(srs);
    return swath_error_set(SWATH_EINVAL, "unknown CRS '%s'", crs);
  }
  const char *auth = OSRGetAuthorityName(srs, NULL), *code = OSRGetAuthorityCode(srs, NULL);
  int epsg = auth && code && strcasecmp(auth, "EPSG") == 0 ? atoi(code) : 0;
  int rc;
  if (epsg == 3857 || epsg == 900913) {
    rc = swath_grid_builtin("WebMercatorQuad", block, g);
  } else if (epsg == 4326 || strcasecmp(crs, "CRS:84") == 0 || strcasecmp(crs, "OGC:CRS84") == 0) {
    rc = swath_grid_builtin("WorldCRS84Quad", block, g);
  } else {
    /* One block over the CRS's area of use at zoom 0, halving below. */
    double w, s, e, n;
    const char *area = NULL;
    swath_bounds eb;
    rc = SWATH_EINVAL;
    if (OSRGetAreaOfUse(srs, &w, &s, &e, &n, &area) && w < e &&
        !swath_bounds_transform((swath_bounds){w, s, e, n}, "EPSG:4326", crs, &eb) &&
        eb.minx < eb.maxx && eb.miny < eb.maxy) {
      memset(g, 0, sizeof *g);
      snprintf(g->name, sizeof g->name, "quad-%s-%d", code ? code : "crs", block);
      snprintf(g->crs, sizeof g->crs, "%s", crs);
      g->is_geographic = OSRIsGeographic(srs);
      double side = fmax(eb.maxx - eb.minx, eb.maxy - eb.miny);
      g->extent = (swath_bounds){eb.minx, eb.maxy - side, eb.minx + side, eb.maxy};
      g->min_zoom = 0;
      g->max_zoom = 24;
      for (int z = 0; z <= 24; z++) {
        swath_tile_matrix *m = &g->m[z];
        snprintf(m->id, sizeof m->id, "%d", z);
        m->cell_size = side / block / (double)(1LL << z);
        m->origin_x = eb.minx;
        m->origin_y = eb.maxy;
        m->tile_width = m->tile_height = block;
        m->matrix_width = m->matrix_height = 1LL << z;
      }
      rc = 0;
    }
    if (rc)
      swath_error_set(rc, "CRS %s has no known area of use to cut requests on; give a grid", crs);
  }
  OSRDestroySpatialReference(srs);
  return rc;
}

/* Can the host of `url` be reached? One TCP (and TLS) connect, no request;
 * `ca_file` as the fetcher's (NULL: the system's CA certificates). */
static int probe_host(const swath__remote *r, const char *url, const char *ca_file) {
  CURL *c = curl_easy_init();
  if (!c) return 0;
  char err[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
  CURLcode cc = curl_easy_perform(c);
  curl_easy_cleanup(c);
  if (cc == CURLE_OK) return 0;
  return swath_error_set(SWATH_EINVAL, "input %s: cannot reach the server of %s: %s", r->name, url,
                         err[0] ? err : curl_easy_strerror(cc));
}

/* ---- open ---- */

/* The footprint in the grid CRS, clipped to the grid; the grid if unknown. */
static swath_bounds footprint_in_grid(const swath__remote *r, const swath_grid *g) {
  swath_bounds b;
  if (!r->has_footprint || swath_bounds_transform(r->footprint_lonlat, "EPSG:4326", g->crs, &b))
    return g->extent;
  return (swath_bounds){fmax(b.minx, g->extent.minx), fmax(b.miny, g->extent.miny),
                        fmin(b.maxx, g->extent.maxx), fmin(b.maxy, g->extent.maxy)};
}

int swath__remote_fetcher(swath__remote *r, const swath_source_spec *spec) {
  if (r->fetcher || r->offline) return 0;
  if (spec->fetcher) {
    r->fetcher = spec->fetcher;
    return 0;
  }
  int rc = swath_source_fetcher_new(spec, &r->fetcher);
  r->own_fetcher = r->fetcher != NULL;
  return rc;
}

int swath__remote_init(swath__remote *r, const swath_source_spec *spec, const swath_grid *g,
                       swath_source_info *info) {
  int rc;
  r->grid = g;
  r->check = spec->check;
  r->memo = spec->memo;
  if (r->max_zoom <= 0 || r->max_zoom > r->tms.max_zoom) r->max_zoom = r->tms.max_zoom;
  if (r->min_zoom < r->tms.min_zoom) r->min_zoom = r->tms.min_zoom;
  if (r->zoom >= 0 && !swath_grid_has_zoom(&r->tms, r->zoom))
    return swath_error_set(SWATH_EINVAL,
                           "input %s: zoom %d is not one of the service's zooms %d-%d", r->name,
                           r->zoom, r->tms.min_zoom, r->tms.max_zoom);
  if (r->min_zoom > r->max_zoom)
    return swath_error_set(SWATH_EINVAL, "input %s: min_zoom %d is above max_zoom %d", r->name,
                           r->min_zoom, r->max_zoom);
  if (!spec->cache_dir)
    return swath_error_set(SWATH_EINVAL, "input %s: remote inputs need a cache folder", r->name);
  if ((rc = swath_secrets_collect(spec->cfg, &r->secrets))) return rc;
  /* A checking open makes no folder: a later check may fail. */
  rc = r->check ? swath_cache_source_path(spec->cache_dir, &r->id, r->dir, sizeof r->dir)
                : swath_cache_source_dir(spec->cache_dir, &r->id, r->dir, sizeof r->dir);
  if (rc) return rc;
  if ((rc = swath__remote_fetcher(r, spec))) return rc;
  OGRSpatialReferenceH src = OSRNewSpatialReference(NULL), dst = OSRNewSpatialReference(NULL);
  OSRSetFromUserInput(src, r->tms.crs);
  OSRSetFromUserInput(dst, g->crs);
  OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
  OSRSetAxisMappingStrategy(dst, OAMS_TRADITIONAL_GIS_ORDER);
  OSRExportToWkt(src, &r->src_wkt);
  r->to_src = OCTNewCoordinateTransformation(dst, src);
  OSRDestroySpatialReference(src);
  OSRDestroySpatialReference(dst);
  if (!r->to_src || !r->src_wkt)
    return swath_error_set(SWATH_EINVAL,
                           "input %s: cannot transform from the grid's CRS %s to "
                           "the service's %s",
                           r->name, g->crs, r->tms.crs);
  if (r->check && !r->offline) {
    char url[4096];
    swath_tile t = {r->tms.min_zoom, 0, 0};
    const char *ca = NULL;
    if ((rc = r->url(r, t, url, sizeof url)) ||
        (rc = swath__remote_string(spec, "ca_file", NULL, &ca)) || (rc = probe_host(r, url, ca)))
      return rc;
  }
  memset(info, 0, sizeof *info);
  info->bands = r->bands;
  info->dtype = SWATH_DT_BYTE;
  info->has_nodata = 1;
  info->footprint = footprint_in_grid(r, g);
  info->native_res = 0;
  return 0;
}

void swath__remote_close(void *state) {
  swath__remote *r = state;
  if (!r) return;
  if (r->own_fetcher) swath_fetch_free(r->fetcher);
  if (r->to_src) OCTDestroyCoordinateTransformation(r->to_src);
  CPLFree(r->src_wkt);
  if (r->free_ctx) r->free_ctx(r->ctx);
  swath_secrets_free(&r->secrets);
  free(r->mosaic);
  free(r);
}

/* ---- which tiles a read needs (the one function prefetch and read share) ---- */

typedef struct read_plan {
  int z;
  swath_tile_range tr;
} read_plan;

static int plan_read(swath__remote *r, const swath_read_req *req, read_plan *p) {
  double x0, y0, x1, y1;
  if (!OCTTransformBounds(r->to_src, req->bounds.minx, req->bounds.miny, req->bounds.maxx,
                          req->bounds.maxy, &x0, &y0, &x1, &y1, 21))
    return SWATH_EEMPTY; /* outside the service CRS's domain */
  double res = fmin((x1 - x0) / req->width, (y1 - y0) / req->height);
  int z = r->zoom;
  if (z < 0) {
    z = r->max_zoom;
    for (int k = r->min_zoom; k <= r->max_zoom; k++)
      if (r->tms.m[k].cell_size <= res * (1 + 1e-6)) {
        z = k;
        break;
      }
  }
  double m = kernel_margin(req->resampling) * r->tms.m[z].cell_size;
  swath_bounds sb = {x0 - m, y0 - m, x1 + m, y1 + m};
  swath_tile_range tr[2];
  int n = swath_grid_tiles_of_bounds(&r->tms, z, sb, tr);
  if (n < 0) return n;
  if (n == 0) return SWATH_EEMPTY;
  if (n == 2)
    return swath_error_set(SWATH_EIO,
                           "input %s: a read across the antimeridian of the service's "
                           "grid is not supported",
                           r->name);
  if (r->has_limits[z]) {
    /* Tiles outside the service's limits do not exist (asked for, they
     * would be errors): the kernel's margin there is empty. */
    const swath_tile_range *l = &r->limits[z];
    tr[0].minx = tr[0].minx > l->minx ? tr[0].minx : l->minx;
    tr[0].miny = tr[0].miny > l->miny ? tr[0].miny : l->miny;
    tr[0].maxx = tr[0].maxx < l->maxx ? tr[0].maxx : l->maxx;
    tr[0].maxy = tr[0].maxy < l->maxy ? tr[0].maxy : l->maxy;
    if (tr[0].minx > tr[0].maxx || tr[0].miny > tr[0].maxy) return SWATH_EEMPTY;
  }
  int64_t count = (tr[0].maxx - tr[0].minx + 1) * (tr[0].maxy - tr[0].miny + 1);
  if (count > MAX_TILES_PER_READ)
    return swath_error_set(SWATH_EINVAL,
                           "input %s: one process tile needs %lld service tiles at "
                           "zoom %d (limit %d); lower the input's zoom or the job's metatiling",
                           r->name, (long long)count, z, MAX_TILES_PER_READ);
  p->z = z;
  p->tr = tr[0];
  return 0;
}

/* A tile's URL, with the job's secrets where the URL came from a redacted
 * document. */
static int tile_url(swath__remote *r, swath_tile t, char *url, size_t ucap) {
  int rc = r->url(r, t, url, ucap);
  if (rc || !strstr(url, "=" SWATH_REDACTED)) return rc;
  char *full;
  if ((rc = swath_secrets_restore(&r->secrets, url, &full)))
    return swath_error_set(rc, "input %s: %s", r->name, swath_error_message());
  if (strlen(full) >= ucap)
    rc = swath_error_set(SWATH_EINVAL, "input %s: URL too long", r->name);
  else
    memcpy(url, full, strlen(full) + 1);
  free(full);
  return rc;
}

static int tile_request(swath__remote *r, swath_tile t, char *url, size_t ucap, char *dest,
                        size_t dcap, swath_fetch_req *fr) {
  int rc = tile_url(r, t, url, ucap);
  if (!rc) rc = swath_cache_tile_path(r->dir, t.z, (long)t.x, (long)t.y, r->ext, dest, dcap);
  if (rc) return rc;
  *fr = (swath_fetch_req){.url = url,
                          .dest = dest,
                          .expect_width = r->tms.m[t.z].tile_width,
                          .expect_height = r->tms.m[t.z].tile_height,
                          .kinds = r->kinds};
  return 0;
}

/* Every request of a plan, row by row. */
static int each_request(swath__remote *r, const read_plan *p, swath_source_request_fn fn,
                        void *ud) {
  char url[4096], dest[4400];
  for (int64_t y = p->tr.miny; y <= p->tr.maxy; y++)
    for (int64_t x = p->tr.minx; x <= p->tr.maxx; x++) {
      swath_fetch_req fr;
      int rc = tile_request(r, (swath_tile){p->z, x, y}, url, sizeof url, dest, sizeof dest, &fr);
      if (rc) return rc;
      fn(ud, &fr);
    }
  return 0;
}

int swath__remote_requests(void *state, const swath_read_req *req, swath_source_request_fn fn,
                           void *ud) {
  swath__remote *r = state;
  read_plan p;
  int rc = plan_read(r, req, &p);
  if (rc == SWATH_EEMPTY) return 0;
  return rc ? rc : each_request(r, &p, fn, ud);
}

/* ---- read ---- */

typedef struct sync_fetch {
  swath__remote *r;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  unsigned flags; /* added to every request */
  int rc;         /* a submit failed, or a tile is missing offline */
  int pending, total, failed;
  char reason[1024];
} sync_fetch;

static void sync_cb(const swath_fetch_result *res, void *user) {
  sync_fetch *s = user;
  pthread_mutex_lock(&s->mu);
  if ((res->outcome == SWATH_FETCH_FAILED || res->outcome == SWATH_FETCH_ABORTED) && !s->failed++)
    snprintf(s->reason, sizeof s->reason, "%s: %s", res->url, res->reason ? res->reason : "failed");
  s->pending--;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* swath_source_request_fn: make sure one tile is in the cache. The fetcher
 * answers from the cache itself when it can; offline, only the cache is
 * asked. */
static void fetch_one(void *ud, const swath_fetch_req *req) {
  sync_fetch *s = ud;
  if (s->rc) return;
  s->total++;
  if (s->r->offline || !s->r->fetcher) {
    if (swath_cache_lookup(req->dest) == SWATH_CACHE_MISS)
      s->rc =
          swath_error_set(SWATH_EIO, "input %s: %s is not in the cache and the input is offline",
                          s->r->name, req->url);
    return;
  }
  swath_fetch_req fr = *req;
  fr.cb = sync_cb;
  fr.user = s;
  fr.flags |= s->flags;
  pthread_mutex_lock(&s->mu);
  s->pending++;
  pthread_mutex_unlock(&s->mu);
  if ((s->rc = swath_fetch_submit(s->r->fetcher, &fr))) {
    pthread_mutex_lock(&s->mu);
    s->pending--;
    pthread_mutex_unlock(&s->mu);
  }
}

/* Have every tile of the plan in the cache (or known empty); wait for them.
 * `flags`: SWATH_FETCH_* request flags. */
static int fetch_missing(swath__remote *r, const read_plan *p, unsigned flags) {
  sync_fetch s = {.r = r, .flags = flags};
  pthread_mutex_init(&s.mu, NULL);
  pthread_cond_init(&s.cv, NULL);
  int rc = each_request(r, p, fetch_one, &s);
  pthread_mutex_lock(&s.mu);
  while (s.pending > 0)
    pthread_cond_wait(&s.cv, &s.mu);
  pthread_mutex_unlock(&s.mu);
  if (!rc) rc = s.rc;
  if (!rc && s.failed)
    rc = swath_error_set(SWATH_EIO, "input %s: %d of %d tile(s) could not be fetched (%s)", r->name,
                         s.failed, s.total, s.reason);
  pthread_mutex_destroy(&s.mu);
  pthread_cond_destroy(&s.cv);
  return rc;
}

/* Paste one cached tile; one that does not decode (damaged on disk, cut
 * short by a full disk, written by something else) is checked the way a
 * download is and fetched again, once: the fetcher replaces it if it fails
 * the checks (and shares the download with any other thread healing it),
 * or keeps it if another thread already replaced it. Offline it is dropped,
 * so that a run online fetches it. */
static int paste_healed(swath__remote *r, swath_tile t, const char *path, unsigned char *planes,
                        int mw, int mh, int ox, int oy) {
  const swath_tile_matrix *tm = &r->tms.m[t.z];
  int bad;
  int rc =
      swath__remote_paste(r, path, planes, mw, mh, ox, oy, tm->tile_width, tm->tile_height, &bad);
  if (!rc || !bad) return rc;
  char first[1024];
  snprintf(first, sizeof first, "%s", swath_error_message());
  if (r->offline || !r->fetcher) {
    unlink(path);
    return swath_error_set(SWATH_EIO,
                           "%s; dropped it from the cache (the input is offline: a run "
                           "online fetches it again)",
                           first);
  }
  swath_warn("%s: fetching it again", first);
  read_plan one = {t.z, {t.z, t.x, t.y, t.x, t.y}};
  if ((rc = fetch_missing(r, &one, SWATH_FETCH_VERIFY))) {
    char why[1024];
    snprintf(why, sizeof why, "%s", swath_error_message());
    return swath_error_set(rc, "%s, and fetching it again failed: %s", first, why);
  }
  if (swath_cache_lookup(path) == SWATH_CACHE_EMPTY) return 0; /* the server now says empty */
  rc = swath__remote_paste(r, path, planes, mw, mh, ox, oy, tm->tile_width, tm->tile_height, &bad);
  if (rc && bad) {
    snprintf(first, sizeof first, "%s", swath_error_message());
    rc = swath_error_set(SWATH_EIO, "%s (fetched again, it still does not decode)", first);
  }
  return rc;
}

/* When the request's pixels are the mosaic's (the same CRS and cell size,
 * a whole-pixel offset, inside it), every resampling method gives the
 * mosaic's own values: copy them instead of warping (GDAL's warper is 8%
 * of a detect run's CPU for what is then an identity; bench/detect.sh).
 * As the warper does, pixels with alpha 0 are 0 and out of the mask.
 * Returns 1 (copied into out), 0 (not aligned: warp), or SWATH_EEMPTY. */
static int aligned_copy(const swath__remote *r, const swath_read_req *req, swath_dtype dt,
                        const double gt[6], const unsigned char *planes, int mw, int mh,
                        swath_raster *out) {
  double cell = gt[1];
  double rx = (req->bounds.maxx - req->bounds.minx) / req->width;
  double ry = (req->bounds.maxy - req->bounds.miny) / req->height;
  if (dt != SWATH_DT_BYTE || strcmp(r->tms.crs, r->grid->crs) != 0 ||
      fabs(rx - cell) > 1e-9 * cell || fabs(ry - cell) > 1e-9 * cell)
    return 0;
  double fx = (req->bounds.minx - gt[0]) / cell, fy = (gt[3] - req->bounds.maxy) / cell;
  long long x0 = llround(fx), y0 = llround(fy);
  if (fabs(fx - (double)x0) > 1e-6 || fabs(fy - (double)y0) > 1e-6 || x0 < 0 || y0 < 0 ||
      x0 + req->width > mw || y0 + req->height > mh)
    return 0;
  int rc = swath_raster_alloc(out, req->width, req->height, r->bands, SWATH_DT_BYTE);
  if (rc) return rc;
  size_t plane = (size_t)mw * mh, oplane = (size_t)req->width * req->height, valid = 0;
  const unsigned char *alpha = planes + (size_t)r->bands * plane;
  unsigned char *o = out->data;
  for (int y = 0; y < req->height; y++) {
    size_t src = (size_t)(y0 + y) * mw + (size_t)x0, dst = (size_t)y * req->width;
    for (int x = 0; x < req->width; x++) {
      int on = alpha[src + x] != 0;
      out->mask[dst + x] = on ? 255 : 0;
      valid += (size_t)on;
      for (int b = 0; b < r->bands; b++)
        o[b * oplane + dst + x] = on ? planes[b * plane + src + x] : 0;
    }
  }
  if (!valid) {
    swath_raster_free(out);
    return SWATH_EEMPTY;
  }
  return 1;
}

/* The mosaic's planes, zeroed (empty tiles are alpha 0): the handle's own
 * buffer, kept from read to read. Every process tile of a run needs a
 * mosaic of about the same size; allocated and freed per read, these tens
 * of MB (37.7 MB per read in bench/detect.sh) interleaved with the other
 * workers' buffers of other sizes fragmented the allocator's heap, which
 * kept growing for the first dozen process tiles: the peak RSS of a 16x
 * larger area was 1.25-1.37x the small one's (bench/detect.sh (d)). A read
 * needing less than half of it frees it, so one large read is not kept. */
static unsigned char *mosaic_buffer(swath__remote *r, size_t need) {
  if (need > r->mosaic_cap || need < r->mosaic_cap / 2) {
    free(r->mosaic);
    r->mosaic = malloc(need);
    r->mosaic_cap = r->mosaic ? need : 0;
  }
  if (r->mosaic) memset(r->mosaic, 0, need);
  return r->mosaic;
}

int swath__remote_read(void *state, const swath_read_req *req, swath_raster *out) {
  swath__remote *r = state;
  memset(out, 0, sizeof *out);
  read_plan p;
  int rc = plan_read(r, req, &p);
  if (rc) return rc;
  if ((rc = fetch_missing(r, &p, 0))) return rc;
  const swath_tile_matrix *tm = &r->tms.m[p.z];
  int nx = (int)(p.tr.maxx - p.tr.minx + 1), ny = (int)(p.tr.maxy - p.tr.miny + 1);
  int mw = nx * tm->tile_width, mh = ny * tm->tile_height;
  size_t plane = (size_t)mw * mh;
  unsigned char *planes = mosaic_buffer(r, plane * ((size_t)r->bands + 1));
  if (!planes)
    return swath_error_set(SWATH_ENOMEM, "input %s: out of memory for a %dx%d mosaic", r->name, mw,
                           mh);
  char dest[4400];
  int any = 0;
  for (int64_t y = p.tr.miny; y <= p.tr.maxy && !rc; y++)
    for (int64_t x = p.tr.minx; x <= p.tr.maxx && !rc; x++) {
      if ((rc = swath_cache_tile_path(r->dir, p.z, (long)x, (long)y, r->ext, dest, sizeof dest)))
        break;
      swath_cache_state cs = swath_cache_lookup(dest);
      if (cs == SWATH_CACHE_EMPTY) continue;
      if (cs == SWATH_CACHE_MISS) {
        rc = swath_error_set(SWATH_EIO, "input %s: tile %s vanished from the cache", r->name, dest);
        break;
      }
      rc = paste_healed(r, (swath_tile){p.z, x, y}, dest, planes, mw, mh,
                        (int)(x - p.tr.minx) * tm->tile_width,
                        (int)(y - p.tr.miny) * tm->tile_height);
      any = 1;
    }
  if (!rc && !any) rc = SWATH_EEMPTY;
  GDALDatasetH mem = NULL;
  if (!rc) {
    mem = swath__mem_dataset(mw, mh, SWATH_DT_BYTE, planes, r->bands + 1, NULL);
    if (!mem) rc = swath_error_set(SWATH_EIO, "input %s: cannot create a mosaic", r->name);
  }
  if (!rc) {
    double ox = tm->origin_x + (double)p.tr.minx * tm->tile_width * tm->cell_size;
    double oy = tm->origin_y - (double)p.tr.miny * tm->tile_height * tm->cell_size;
    double gt[6] = {ox, tm->cell_size, 0, oy, 0, -tm->cell_size};
    swath_dtype dt = req->dtype ? req->dtype : SWATH_DT_BYTE;
    int copied = aligned_copy(r, req, dt, gt, planes, mw, mh, out);
    if (copied) {
      GDALClose(mem);
      return copied == 1 ? 0 : copied;
    }
    GDALSetGeoTransform(mem, gt);
    GDALSetProjection(mem, r->src_wkt);
    GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, r->bands + 1), GCI_AlphaBand);
    GDALSetDescription(mem, r->name);
    swath__warper w;
    char what[128];
    snprintf(what, sizeof what, "input %s", r->name);
    rc = swath__warper_init(&w, mem, r->bands, r->bands + 1, 0, 0, r->grid->crs, what);
    if (!rc) {
      rc = swath__warp(&w, req, dt, out);
      swath__warper_free(&w);
    }
  }
  if (mem) GDALClose(mem);
  return rc;
}
