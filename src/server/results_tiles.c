/* results_tiles.c: a job's tile output and its heatmap pyramid served as
 * XYZ tiles with TileJSON (results.h).
 *
 * Invariants: only files under the service's outputs root are read: the
 * job's output folder and the tile file are both resolved (realpath, so a
 * symlink cannot lead out) and must lie under the root; z, x and y are
 * whole numbers in the grid's range (no sign, no leading zero) and the
 * extension is the one the output's own tilejson.json names, so nothing
 * but a tile file of the pyramid is ever opened. What the output is (format,
 * zooms, bounds, grid) is read from the files `swath run` wrote
 * (tilejson.json, tms.json), never re-planned. A tile's ETag is strong,
 * from the file's inode, size and mtime in ns: a rewritten tile (always a
 * rename of a new file) gets a new one. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "engine/queue.h"
#include "server/processes.h"
#include "server/results.h"

#define IMMUTABLE "public, max-age=31536000, immutable"

#define not_found(rs, ...) swath_http_problem(rs, 404, "about:blank", "Not Found", __VA_ARGS__)

/* The real path of `path` if it lies under `root` (or is it); else 0. */
static int under_root(const char *root, const char *path, char out[PATH_MAX]) {
  if (!realpath(path, out)) return 0;
  size_t n = strlen(root);
  return strncmp(out, root, n) == 0 && (out[n] == '\0' || out[n] == '/');
}

/* The folder of the job's pyramid ({output} or {output}/heatmap), resolved
 * under the outputs root, and its tilejson.json loaded; 0 with a 404 given
 * otherwise. */
static int pyramid(swath_processes *s, const swath_qjob *j, const char *sub,
                   swath_http_response *rs, char dir[PATH_MAX], json_t **tj) {
  char p[PATH_MAX + 64];
  snprintf(p, sizeof p, "%s%s", j->output, sub);
  const char *what = *sub ? "heatmap" : "tile output";
  if (!under_root(swath__processes_outputs(s), p, dir)) {
    not_found(rs, "job %lld has no %s under the service's outputs root", (long long)j->id, what);
    return 0;
  }
  snprintf(p, sizeof p, "%s/tilejson.json", dir);
  json_error_t e;
  *tj = json_load_file(p, 0, &e);
  if (!*tj) {
    not_found(rs, "job %lld has no %s (no tilejson.json yet)", (long long)j->id, what);
    return 0;
  }
  snprintf(p, sizeof p, "%s/tms.json", dir);
  json_t *tms = json_load_file(p, 0, &e);
  const char *id = json_string_value(json_object_get(tms, "id"));
  int ok = id && !strcmp(id, "WebMercatorQuad");
  char grid[128];
  snprintf(grid, sizeof grid, "%s", id ? id : "unknown");
  json_decref(tms);
  if (!ok) {
    json_decref(*tj);
    *tj = NULL;
    not_found(rs, "job %lld: its %s is not on WebMercatorQuad (grid %s)", (long long)j->id, what,
              grid);
    return 0;
  }
  return 1;
}

/* The extension of the tiles ("png") from tilejson's "{z}/{x}/{y}.png". */
static const char *tile_ext(const json_t *tj) {
  const char *t = json_string_value(json_array_get(json_object_get(tj, "tiles"), 0));
  const char *dot = t ? strrchr(t, '.') : NULL;
  return dot && !strchr(dot, '/') ? dot + 1 : NULL;
}

/* ---- the pyramids of successful jobs, remembered ---------------------------
 *
 * A tile request would otherwise ask the job backend for its job (a
 * database query), resolve the output folder and parse its tilejson.json
 * and tms.json, which is most of a tile's cost (bench/service.sh). A
 * successful job's pyramid does not change what it is (its folder, format
 * and zooms; the files' own stat still makes each ETag), so those are kept
 * here by job, a small direct-mapped table; other jobs are looked up each
 * time. A job dismissed after success stays servable, as it is uncached. */
#define PYR_SLOTS 64

typedef struct pyr {
  int64_t id; /* 0: empty slot */
  int heat;   /* the heatmap pyramid */
  char dir[PATH_MAX];
  char ext[16];
  long long zmin, zmax;
} pyr;

struct swath_pyramids {
  pthread_mutex_t mu;
  pyr slot[PYR_SLOTS];
};

int swath__pyramids_new(swath_pyramids **out) {
  *out = calloc(1, sizeof **out);
  if (!*out) return SWATH_ENOMEM;
  pthread_mutex_init(&(*out)->mu, NULL);
  return 0;
}

void swath__pyramids_free(swath_pyramids *c) {
  if (!c) return;
  pthread_mutex_destroy(&c->mu);
  free(c);
}

static int pyr_get(swath_pyramids *c, int64_t id, int heat, pyr *out) {
  pyr *e = &c->slot[(uint64_t)(id * 2 + heat) % PYR_SLOTS];
  pthread_mutex_lock(&c->mu);
  int hit = e->id == id && e->heat == heat;
  if (hit) *out = *e;
  pthread_mutex_unlock(&c->mu);
  return hit;
}

static void pyr_put(swath_pyramids *c, const pyr *p) {
  pthread_mutex_lock(&c->mu);
  c->slot[(uint64_t)(p->id * 2 + p->heat) % PYR_SLOTS] = *p;
  pthread_mutex_unlock(&c->mu);
}

static void tilejson(void *app, const swath_http_request *rq, swath_http_response *rs,
                     const char *sub, const char *route) {
  swath_processes *s = app;
  swath_qjob j;
  if (!swath__processes_job(s, rq, rs, &j)) return;
  char dir[PATH_MAX];
  json_t *tj = NULL;
  if (pyramid(s, &j, sub, rs, dir, &tj)) {
    const char *ext = tile_ext(tj);
    char url[1200];
    snprintf(url, sizeof url, "%s/jobs/%lld/%s/{z}/{x}/{y}.%s", swath_http_base_url(rq),
             (long long)j.id, route, ext ? ext : "png");
    json_object_set_new(tj, "tiles", json_pack("[s]", url));
    json_object_set_new(tj, "tilejson", json_string("3.0.0"));
    swath_http_json(rs, 200, tj);
    snprintf(rs->header, sizeof rs->header, "Cache-Control: no-cache");
  }
  swath_qjob_clear(&j);
}

void swath__h_tilejson(void *app, const swath_http_request *rq, swath_http_response *rs) {
  tilejson(app, rq, rs, "", "tiles");
}
void swath__h_heatmap_tilejson(void *app, const swath_http_request *rq, swath_http_response *rs) {
  tilejson(app, rq, rs, "/heatmap", "heatmap");
}

/* A whole number 0..max written plainly (no sign, no leading zero). */
static int whole(const char *s, size_t len, long long max, long long *v) {
  if (len == 0 || len > 10 || (len > 1 && s[0] == '0')) return 0;
  long long x = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return 0;
    x = x * 10 + (s[i] - '0');
  }
  *v = x;
  return x <= max;
}

static const char *content_type(const char *ext) {
  if (!strcmp(ext, "png")) return "image/png";
  if (!strcmp(ext, "jpg") || !strcmp(ext, "jpeg")) return "image/jpeg";
  if (!strcmp(ext, "webp")) return "image/webp";
  if (!strcmp(ext, "tif") || !strcmp(ext, "tiff")) return "image/tiff";
  return "application/octet-stream";
}

/* Does If-None-Match (a list of tags, or *) hold `etag`? Weak comparison,
 * as RFC 9110 asks for If-None-Match. */
static int none_match(const char *inm, const char *etag) {
  if (!inm) return 0;
  size_t n = strlen(etag);
  for (const char *p = inm; *p;) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    if (*p == '*') return 1;
    if (!strncmp(p, "W/", 2)) p += 2;
    if (!strncmp(p, etag, n) && (p[n] == '\0' || p[n] == ',' || p[n] == ' ')) return 1;
    while (*p && *p != ',')
      p++;
  }
  return 0;
}

/* Read the open file whole into a malloc'd buffer. */
static char *slurp(int fd, size_t size) {
  char *b = malloc(size ? size : 1);
  size_t got = 0;
  while (b && got < size) {
    ssize_t r = read(fd, b + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      free(b);
      return NULL;
    }
    got += (size_t)r;
  }
  return b;
}

static void tile(void *app, const swath_http_request *rq, swath_http_response *rs,
                 const char *sub) {
  swath_processes *s = app;
  const char *zs = swath_http_param(rq, 1), *xs = swath_http_param(rq, 2),
             *ys = swath_http_param(rq, 3);
  const char *dot = strchr(ys, '.');
  long long z, x, y;
  /* the request alone first: a malformed tile costs no database query */
  if (!dot || !whole(zs, strlen(zs), 30, &z) || !whole(xs, strlen(xs), (1LL << z) - 1, &x) ||
      !whole(ys, (size_t)(dot - ys), (1LL << z) - 1, &y)) {
    swath_http_problem(rs, 400, "about:blank", "Bad Request",
                       "tile '%s/%s/%s': expected {z}/{x}/{y}.{ext}, whole numbers with z 0-30 "
                       "and x, y below 2^z",
                       zs, xs, ys);
    return;
  }
  swath_pyramids *cache = swath__processes_pyramids(s);
  long long id = 0;
  const char *ids = swath_http_param(rq, 0);
  pyr p = {0};
  int done = whole(ids, strlen(ids), LLONG_MAX, &id) && id > 0 && pyr_get(cache, id, *sub != 0, &p);
  if (!done) {
    swath_qjob j;
    if (!swath__processes_job(s, rq, rs, &j)) return;
    json_t *tj = NULL;
    int ok = pyramid(s, &j, sub, rs, p.dir, &tj);
    const char *ext = ok ? tile_ext(tj) : NULL;
    if (ok) {
      p.id = j.id;
      p.heat = *sub != 0;
      snprintf(p.ext, sizeof p.ext, "%s", ext ? ext : "");
      p.zmin = json_integer_value(json_object_get(tj, "minzoom"));
      p.zmax = json_integer_value(json_object_get(tj, "maxzoom"));
      done = j.state == SWATH_QJOB_DONE;
      if (done && ext && strlen(ext) < sizeof p.ext) pyr_put(cache, &p);
    }
    json_decref(tj);
    swath_qjob_clear(&j);
    if (!ok) return;
  }
  id = p.id;
  const char *ext = p.ext;
  if (!*ext || strcmp(dot + 1, ext) != 0) {
    swath_http_problem(rs, 404, "about:blank", "Not Found",
                       "tile extension '%s': job %lld's tiles are .%s", dot + 1, id,
                       *ext ? ext : "?");
    return;
  }
  if (z < p.zmin || z > p.zmax) {
    swath_http_problem(rs, 404, "about:blank", "Not Found",
                       "zoom %lld: job %lld has zooms %lld-%lld", z, id, p.zmin, p.zmax);
    return;
  }
  char path[PATH_MAX + 96], real[PATH_MAX];
  const char *dir = p.dir;
  snprintf(path, sizeof path, "%s/%lld/%lld/%lld.%s", dir, z, x, y, ext);
  int fd = -1;
  struct stat st;
  if (!under_root(dir, path, real) || (fd = open(real, O_RDONLY | O_CLOEXEC)) < 0 ||
      fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) close(fd);
    swath_http_problem(rs, 404, "about:blank", "Not Found", "job %lld has no tile %lld/%lld/%lld",
                       id, z, x, y);
    return;
  }
  char etag[96];
  snprintf(etag, sizeof etag, "\"%llx-%llx-%llx\"", (unsigned long long)st.st_ino,
           (unsigned long long)st.st_size,
           (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
               (unsigned long long)st.st_mtim.tv_nsec);
  snprintf(rs->header, sizeof rs->header, "ETag: %s\nCache-Control: %s", etag,
           done ? IMMUTABLE : "no-cache");
  rs->content_type = content_type(ext);
  if (none_match(swath_http_header(rq, "If-None-Match"), etag)) {
    swath_http_bytes(rs, 304, malloc(1), 0);
  } else {
    char *b = slurp(fd, (size_t)st.st_size);
    if (b)
      swath_http_bytes(rs, 200, b, (size_t)st.st_size);
    else
      swath_http_problem(rs, 500, "about:blank", "Internal Server Error", "cannot read %s",
                         path + strlen(swath__processes_outputs(s)));
  }
  close(fd);
}

void swath__h_tile(void *app, const swath_http_request *rq, swath_http_response *rs) {
  tile(app, rq, rs, "");
}
void swath__h_heatmap_tile(void *app, const swath_http_request *rq, swath_http_response *rs) {
  tile(app, rq, rs, "/heatmap");
}

static int exists(const char *dir, const char *file) {
  char p[PATH_MAX + 64];
  snprintf(p, sizeof p, "%s/%s", dir, file);
  return access(p, F_OK) == 0;
}

void swath__results_links(const swath_qjob *j, const char *base, json_t *links) {
  char href[1200];
  if (!j->output) return;
  if (exists(j->output, "tilejson.json")) {
    snprintf(href, sizeof href, "%s/jobs/%lld/tiles.json", base, (long long)j->id);
    json_array_append_new(links,
                          json_pack("{s:s, s:s, s:s, s:s}", "href", href, "rel", "tiles", "type",
                                    "application/json", "title", "the job's tiles (TileJSON)"));
  }
  char *store = NULL;
  int feat = swath__job_features_store(j, &store) == 0 && store &&
             (!strncmp(store, "PG:", 3) || access(store, F_OK) == 0);
  free(store);
  if (feat) {
    snprintf(href, sizeof href, "%s/jobs/%lld/features", base, (long long)j->id);
    json_array_append_new(links, json_pack("{s:s, s:s, s:s, s:s}", "href", href, "rel", "features",
                                           "type", "application/json", "title",
                                           "the job's features (OGC API - Features)"));
  }
  if (exists(j->output, "heatmap/tilejson.json")) {
    snprintf(href, sizeof href, "%s/jobs/%lld/heatmap/tiles.json", base, (long long)j->id);
    json_array_append_new(links, json_pack("{s:s, s:s, s:s, s:s}", "href", href, "rel", "heatmap",
                                           "type", "application/json", "title",
                                           "the job's density heatmap (TileJSON)"));
  }
}
