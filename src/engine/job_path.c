/* job_path.c: how a job file's path values become paths (see job_path.h).
 * One rule for every path key, so "relative to the job file" means the same
 * for inputs, area files, plugins, grids, the cache and the output; the only
 * values left as written are those GDAL itself names (URLs, /vsi...,
 * DRIVER:...), and only for the keys GDAL opens. */
#include "engine/job_path.h"

#include <gdal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/error.h"

/* "scheme://": RFC 3986 scheme characters, then "://". */
static int has_url_scheme(const char *p) {
  const char *s = p;
  if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) return 0;
  while ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
         *s == '+' || *s == '-' || *s == '.')
    s++;
  return strncmp(s, "://", 3) == 0;
}

/* A driver's connection prefix ("PG:", "WFS:", ...) as it publishes it. */
static int is_connection_prefix(const char *prefix, size_t n) {
  for (int i = 0; i < GDALGetDriverCount(); i++) {
    const char *cp = GDALGetMetadataItem(GDALGetDriver(i), GDAL_DMD_CONNECTION_PREFIX, NULL);
    if (cp && strlen(cp) == n + 1 && cp[n] == ':' && strncasecmp(cp, prefix, n) == 0) return 1;
  }
  return 0;
}

int swath_is_gdal_name(const char *p) {
  if (strncmp(p, "/vsi", 4) == 0 || has_url_scheme(p)) return 1;
  const char *colon = strchr(p, ':');
  size_t n = colon ? (size_t)(colon - p) : 0;
  if (n == 0 || n >= 64) return 0;
  char prefix[64];
  int upper = 1;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return 0;
    upper &= !(c >= 'a' && c <= 'z');
    prefix[i] = c;
  }
  prefix[n] = '\0';
  if (GDALGetDriverCount() == 0) GDALAllRegister();
  if (GDALGetDriverByName(prefix) || is_connection_prefix(prefix, n)) return 1;
  /* Subdataset syntax of a driver: an upper-case DRIVER_KIND (GTIFF_DIR,
   * NITF_IM, HDF4_SDS, SENTINEL2_L1C): a driver name, '_', a tag with a letter. */
  if (!upper) return 0;
  for (size_t i = n; i-- > 1;) {
    if (prefix[i] != '_') continue;
    int letter = 0;
    for (size_t k = i + 1; k < n; k++)
      letter |= prefix[k] >= 'A' && prefix[k] <= 'Z';
    prefix[i] = '\0';
    int drv = letter && GDALGetDriverByName(prefix);
    prefix[i] = '_';
    if (drv) return 1;
  }
  return 0;
}

/* Set the error at the value's line when the value came from the file. */
static int path_error(const swath_cfg *at, const char *what, const char *p, const char *why) {
  if (at) return swath_cfg_error(at, "%s: '%s': %s", what, p, why);
  return swath_error_set(SWATH_EINVAL, "%s: '%s': %s", what, p, why);
}

int swath_job_path(const char *dir, const char *p, const swath_cfg *at, const char *what,
                   char **out) {
  *out = NULL;
  if (!p[0]) return path_error(at, what, p, "empty path");
  const char *home = NULL, *rest = p;
  if (p[0] == '~') {
    /* As a shell does for ~ and ~/...; ~user is not looked up. */
    if (p[1] && p[1] != '/')
      return path_error(at, what, p,
                        "~user is not expanded: write the path out, or use ~/ for $HOME");
    home = getenv("HOME");
    if (!home || home[0] != '/')
      return path_error(at, what, p, "cannot expand ~: $HOME is not set to an absolute path");
    rest = p + 1;
  }
  size_t n;
  if (home) {
    n = strlen(home) + strlen(rest) + 1;
    if ((*out = malloc(n))) snprintf(*out, n, "%s%s", home, rest);
  } else if (p[0] == '/' || strcmp(dir, ".") == 0) {
    *out = strdup(p);
  } else {
    n = strlen(dir) + strlen(p) + 2;
    if ((*out = malloc(n))) snprintf(*out, n, "%s/%s", dir, p);
  }
  return *out ? 0 : swath_error_set(SWATH_ENOMEM, "%s: out of memory", what);
}

int swath_job_gdal_path(const char *dir, const char *p, const swath_cfg *at, const char *what,
                        char **out) {
  if (swath_is_gdal_name(p)) {
    *out = strdup(p);
    return *out ? 0 : swath_error_set(SWATH_ENOMEM, "%s: out of memory", what);
  }
  return swath_job_path(dir, p, at, what, out);
}
