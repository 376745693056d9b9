/* viewer.c: /viewer/ and /viewer/{file}, the map viewer's static files
 * (viewer.h).
 *
 * Invariants: the answer is one of the files of FILES, found by comparing
 * the request's name with the table's names; no part of a request path is
 * ever joined onto a folder, so no request reaches another file. Files are
 * read at request time (an install or an edit shows without a restart);
 * the ETag is the file's size and modification time, and Cache-Control
 * asks browsers to revalidate, so a new swath never meets a stale page. */
#include "server/viewer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

#ifndef SWATH_WEB_DIR
#define SWATH_WEB_DIR "web"
#endif

#define MAPLIBRE_DIST "node_modules/maplibre-gl/dist"
#define MAX_FILE (16 << 20)

struct swath_viewer {
  char *web;
};

/* The files served: request name, where it lives under the viewer's
 * folder, its Content-Type. */
static const struct {
  const char *name, *rel, *type;
} FILES[] = {
    {"index.html", "index.html", "text/html; charset=utf-8"},
    {"app.js", "app.js", "text/javascript; charset=utf-8"},
    {"style.css", "style.css", "text/css; charset=utf-8"},
    {"maplibre-gl.js", MAPLIBRE_DIST "/maplibre-gl.js", "text/javascript; charset=utf-8"},
    {"maplibre-gl.css", MAPLIBRE_DIST "/maplibre-gl.css", "text/css; charset=utf-8"},
    {"js-yaml.js", "node_modules/js-yaml/dist/js-yaml.min.js", "text/javascript; charset=utf-8"},
};

#define NFILES (sizeof FILES / sizeof FILES[0])

/* The folder is the operator's business: the detail names the file
 * under it only. */
static void not_installed(swath_http_response *rs, const char *rel) {
  rs->header[0] = '\0';
  swath_http_problem(rs, 404, "about:blank", "Not Found",
                     "the viewer's file %s is not installed: run scripts/install-deps.sh in "
                     "swath's source tree (or give swath serve --web DIR)",
                     rel);
}

/* A response without a body (304, 301). */
static void empty(swath_http_response *rs, int status) {
  swath_http_bytes(rs, status, malloc(1), 0);
}

/* Read the whole file at path into a malloc'd buffer. */
static int slurp(const char *path, size_t size, char **out) {
  FILE *f = fopen(path, "rb");
  if (!f) return SWATH_ENOTFOUND;
  char *buf = malloc(size ? size : 1);
  size_t got = buf ? fread(buf, 1, size, f) : 0;
  fclose(f);
  if (!buf) return SWATH_ENOMEM;
  if (got != size) {
    free(buf);
    return SWATH_EIO; /* changed under us: the next request reads it again */
  }
  *out = buf;
  return 0;
}

static void serve_file(swath_viewer *v, size_t i, const swath_http_request *rq,
                       swath_http_response *rs) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", v->web, FILES[i].rel);
  struct stat st;
  if (stat(path, &st) || !S_ISREG(st.st_mode)) {
    not_installed(rs, FILES[i].rel);
    return;
  }
  if (st.st_size > MAX_FILE) {
    swath_http_problem(rs, 500, "about:blank", "Internal Server Error",
                       "the viewer's file %s is larger than %d bytes", FILES[i].rel, MAX_FILE);
    return;
  }
  char etag[96];
  snprintf(etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "-%lx\"", (uint64_t)st.st_size,
           (uint64_t)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
  snprintf(rs->header, sizeof rs->header, "ETag: %s\nCache-Control: no-cache", etag);
  rs->content_type = FILES[i].type;
  const char *inm = swath_http_header(rq, "If-None-Match");
  if (inm && (strstr(inm, etag) || !strcmp(inm, "*"))) {
    empty(rs, 304);
    return;
  }
  char *body = NULL;
  int rc = slurp(path, (size_t)st.st_size, &body);
  if (rc == SWATH_ENOTFOUND) {
    not_installed(rs, FILES[i].rel);
  } else if (rc) {
    rs->header[0] = '\0';
    swath_http_problem(rs, 500, "about:blank", "Internal Server Error",
                       "the viewer's file %s could not be read", FILES[i].rel);
  } else {
    swath_http_bytes(rs, 200, body, (size_t)st.st_size);
  }
}

static void h_viewer_index(void *app, const swath_http_request *rq, swath_http_response *rs) {
  /* /viewer without the slash would resolve the page's relative links
   * against / : send it to /viewer/ */
  const char *p = swath_http_path(rq);
  if (p[strlen(p) - 1] != '/') {
    snprintf(rs->header, sizeof rs->header, "Location: %s/viewer/", swath_http_base_url(rq));
    empty(rs, 301);
    rs->content_type = "text/plain";
    return;
  }
  serve_file(app, 0, rq, rs);
}

static void h_viewer_file(void *app, const swath_http_request *rq, swath_http_response *rs) {
  const char *name = swath_http_param(rq, 0);
  for (size_t i = 0; i < NFILES; i++)
    if (!strcmp(name, FILES[i].name)) {
      serve_file(app, i, rq, rs);
      return;
    }
  swath_http_problem(rs, 404, "about:blank", "Not Found", "the viewer has no file '%.100s'", name);
}

static const swath_http_route ROUTES[] = {
    {"GET", "/viewer", h_viewer_index},
    {"GET", "/viewer/{}", h_viewer_file},
    {NULL, NULL, NULL},
};

int swath_viewer_open(const char *web, swath_viewer **out) {
  *out = NULL;
  swath_viewer *v = calloc(1, sizeof *v);
  if (!v || !(v->web = strdup(web && *web ? web : SWATH_WEB_DIR))) {
    free(v);
    return SWATH_ENOMEM;
  }
  size_t n = strlen(v->web);
  while (n > 1 && v->web[n - 1] == '/')
    v->web[--n] = '\0';
  *out = v;
  return 0;
}

/* Public: the page and its scripts hold no data; a browser loads them
 * without a key, and the page sends the key it is given with every API
 * call. */
swath_http_api swath_viewer_api(swath_viewer *v) {
  return (swath_http_api){.routes = ROUTES, .app = v, .public_read = 1};
}

void swath_viewer_close(swath_viewer *v) {
  if (!v) return;
  free(v->web);
  free(v);
}
