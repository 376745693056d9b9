/* source_xyz.c: tiles by URL template ("https://tile.example.org/{z}/{x}/{y}.png").
 *
 * Placeholders: {z}, {x}, {y} (rows from the top, as web maps count), {-y}
 * (rows from the bottom, TMS order) and {s} (one of `subdomains`, chosen from
 * the tile's position so that a tile always has the same URL and cache
 * entry). The tiles lie on a tile matrix set, WebMercatorQuad unless `grid`
 * names another; `zoom` fixes the service zoom, else each read takes the
 * coarsest zoom at least as fine as the job's pixels (up to max_zoom, 19 by
 * default). Everything else (cache, fetch, mosaic, warp) is remote.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/fetch.h"
#include "io/remote.h"

typedef struct xyz_ctx {
  char *url;        /* template */
  char *subdomains; /* one character each ("abc"), or a comma-separated list */
  char **subs;
  int nsubs;
  char extra[32];   /* tile size, part of the cache identity */
} xyz_ctx;

static void xyz_free(void *p) {
  xyz_ctx *c = p;
  if (!c) return;
  for (int i = 0; i < c->nsubs; i++) free(c->subs[i]);
  free(c->subs);
  free(c->url);
  free(c->subdomains);
  free(c);
}

static int xyz_url(const swath__remote *r, swath_tile t, char *buf, size_t cap) {
  const xyz_ctx *c = r->ctx;
  size_t n = 0;
  for (const char *p = c->url; *p;) {
    char val[64];
    const char *v = NULL;
    size_t skip = 0;
    if (strncmp(p, "{z}", 3) == 0) snprintf(val, sizeof val, "%d", t.z), v = val, skip = 3;
    else if (strncmp(p, "{x}", 3) == 0) snprintf(val, sizeof val, "%lld", (long long)t.x), v = val, skip = 3;
    else if (strncmp(p, "{y}", 3) == 0) snprintf(val, sizeof val, "%lld", (long long)t.y), v = val, skip = 3;
    else if (strncmp(p, "{-y}", 4) == 0)
      snprintf(val, sizeof val, "%lld", (long long)(r->tms.m[t.z].matrix_height - 1 - t.y)), v = val, skip = 4;
    else if (strncmp(p, "{s}", 3) == 0) v = c->subs[(t.x + t.y) % c->nsubs], skip = 3;
    if (v) {
      size_t l = strlen(v);
      if (n + l >= cap) return swath_error_set(SWATH_EINVAL, "input %s: URL too long", r->name);
      memcpy(buf + n, v, l);
      n += l;
      p += skip;
    } else {
      if (n + 1 >= cap) return swath_error_set(SWATH_EINVAL, "input %s: URL too long", r->name);
      buf[n++] = *p++;
    }
  }
  buf[n] = 0;
  return 0;
}

/* The template must be http(s), name z, x and a row, and nothing unknown. */
static int check_template(const char *input, const char *url, int has_subs) {
  if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
    return swath_error_set(SWATH_EINVAL, "input %s: invalid URL template '%s': expected http:// or https://",
                           input, url);
  int z = 0, x = 0, y = 0, s = 0;
  for (const char *p = strchr(url, '{'); p; p = strchr(p + 1, '{')) {
    const char *e = strchr(p, '}');
    if (!e) return swath_error_set(SWATH_EINVAL, "input %s: invalid URL template '%s': unclosed '{'", input, url);
    size_t l = (size_t)(e - p + 1);
    if (l == 3 && p[1] == 'z') z++;
    else if (l == 3 && p[1] == 'x') x++;
    else if ((l == 3 && p[1] == 'y') || (l == 4 && strncmp(p, "{-y}", 4) == 0)) y++;
    else if (l == 3 && p[1] == 's') s++;
    else
      return swath_error_set(SWATH_EINVAL, "input %s: invalid URL template '%s': unknown placeholder %.*s "
                             "(expected {z}, {x}, {y}, {-y}, {s})", input, url, (int)l, p);
  }
  if (!z || !x || !y)
    return swath_error_set(SWATH_EINVAL, "input %s: invalid URL template '%s': it must contain {z}, {x} "
                           "and {y} or {-y}", input, url);
  if (s && !has_subs)
    return swath_error_set(SWATH_EINVAL, "input %s: URL template uses {s} but subdomains is empty", input);
  return 0;
}

static int split_subdomains(xyz_ctx *c) {
  const char *s = c->subdomains;
  int commas = strchr(s, ',') != NULL;
  size_t cap = strlen(s) + 1;
  c->subs = calloc(cap, sizeof *c->subs);
  if (!c->subs) return SWATH_ENOMEM;
  while (*s) {
    size_t l = commas ? strcspn(s, ",") : 1;
    if (l) {
      c->subs[c->nsubs] = strndup(s, l);
      if (!c->subs[c->nsubs++]) return SWATH_ENOMEM;
    }
    s += l;
    if (*s == ',') s++;
  }
  return 0;
}

static int xyz_open(const swath_source_spec *spec, const swath_grid *g, swath_source_info *info,
                    void **out) {
  *out = NULL;
  static const char *const own[] = {"url", "subdomains", "grid", "tile_size", "format", NULL};
  swath__remote *r = swath__remote_new("xyz", sizeof(xyz_ctx), xyz_free, xyz_url);
  if (!r) return SWATH_ENOMEM;
  xyz_ctx *c = r->ctx;
  const char *url, *subs, *grid, *format;
  long tile_size = 256;
  int rc = swath__remote_parse_common(r, spec, own);
  if (!rc) rc = swath__remote_string(spec, "url", NULL, &url);
  if (!rc && !url) rc = swath_error_set(SWATH_EINVAL, "inputs.%s: an xyz input needs 'url'", spec->name);
  if (!rc) rc = swath__remote_string(spec, "subdomains", "abc", &subs);
  if (!rc) rc = swath__remote_string(spec, "grid", "WebMercatorQuad", &grid);
  if (!rc) rc = swath__remote_long(spec, "tile_size", 16, 4096, &tile_size);
  if (!rc) {
    /* Format: given, else the template's extension, else PNG. */
    const char *dot = strrchr(url, '.');
    const char *def = dot && !strchr(dot, '/') ? dot + 1 : "png";
    char ext[16];
    snprintf(ext, sizeof ext, "%.*s", (int)strcspn(def, "?&#"), def);
    rc = swath__remote_string(spec, "format", NULL, &format);
    if (!rc && format) rc = swath__remote_format(format, &r->kinds, r->ext);
    else if (!rc && swath__remote_format(ext, &r->kinds, r->ext)) {
      r->kinds = SWATH_FETCH_IMAGE; /* no telling from the URL: any image */
      snprintf(r->ext, sizeof r->ext, "img");
    }
    if (rc) rc = swath_error_set(SWATH_EINVAL, "inputs.%s.%s", spec->name, swath_error_message());
  }
  if (!rc && !(c->url = strdup(url))) rc = SWATH_ENOMEM;
  if (!rc && !(c->subdomains = strdup(subs))) rc = SWATH_ENOMEM;
  if (!rc) rc = split_subdomains(c);
  if (!rc) rc = check_template(spec->name, url, c->nsubs > 0);
  if (!rc && (rc = swath_grid_load(grid, (int)tile_size, &r->tms)))
    rc = swath_error_set(SWATH_EINVAL, "inputs.%s.grid: %s", spec->name, swath_error_message());
  if (!rc && !swath_cfg_get(spec->cfg, "max_zoom") && r->tms.max_zoom > 19) r->max_zoom = 19;
  if (!rc) {
    snprintf(c->extra, sizeof c->extra, "tile_size=%d", r->tms.m[r->tms.min_zoom].tile_width);
    r->id = (swath_cache_source_id){.type = "xyz", .url = c->url, .format = r->ext,
                                     .grid = r->tms.name, .crs = r->tms.crs, .extra = c->extra};
    rc = swath__remote_init(r, spec, g, info);
  }
  if (rc) {
    swath__remote_close(r);
    return rc;
  }
  *out = r;
  return 0;
}

const swath_source_vtable swath_source_xyz = {
    .name = "xyz",
    .open = xyz_open,
    .read = swath__remote_read,
    .requests = swath__remote_requests,
    .close = swath__remote_close,
};
