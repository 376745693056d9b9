/* remote_options.c: what the job file says of a remote input (the keys
 * every remote source shares, which of them change pixels and so belong in
 * the job's key, typed lookups with one-line errors) and the fetcher it
 * gets (connections, rates, timeouts, retries, headers, offline). The
 * source files (source_xyz/wmts/wms.c) read their own keys through the
 * same lookups; remote.c does the reading. See remote.h. */
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/log.h"
#include "io/fetch.h"
#include "io/remote.h"

/* Options of every remote input that only change how tiles are fetched, not
 * which pixels come back: they are left out of a job's key. */
static const char *const transport_keys[] = {
    "max_connections", "max_per_host", "rate_limit", "timeout", "connect_timeout", "max_attempts",
    "failure_budget",  "headers",      "user_agent", "ca_file", "offline",         NULL};

/* The other options of every remote input (their own come on top). */
static const char *const common_keys[] = {"type",  "zoom",   "min_zoom",     "max_zoom",
                                          "bands", "bounds", "empty_status", NULL};

swath__remote *swath__remote_new(const char *type, size_t ctx_size, void (*free_ctx)(void *),
                                 int (*url)(const swath__remote *, swath_tile, char *, size_t)) {
  swath__remote *r = calloc(1, sizeof *r);
  void *c = calloc(1, ctx_size);
  if (!r || !c) {
    free(r);
    free(c);
    return NULL;
  }
  r->type = type;
  r->ctx = c;
  r->free_ctx = free_ctx;
  r->url = url;
  return r;
}

static int in_list(const char *k, const char *const *l) {
  for (; l && *l; l++)
    if (strcmp(*l, k) == 0) return 1;
  return 0;
}

int swath_source_option_changes_pixels(const char *key) {
  /* (capabilities_max_age: WMS and WMTS only, and transport too) */
  return !in_list(key, transport_keys) && strcmp(key, "capabilities_max_age") != 0;
}

int swath__remote_string(const swath_source_spec *spec, const char *key, const char *def,
                         const char **out) {
  const swath_cfg *v = spec->cfg ? swath_cfg_get(spec->cfg, key) : NULL;
  *out = def;
  if (!v) return 0;
  char what[128];
  snprintf(what, sizeof what, "inputs.%s.%s", spec->name, key);
  return swath_cfg_string(v, what, out);
}

int swath__remote_long(const swath_source_spec *spec, const char *key, long lo, long hi,
                       long *out) {
  const swath_cfg *v = swath_cfg_get(spec->cfg, key);
  if (!v) return 0;
  char what[128];
  snprintf(what, sizeof what, "inputs.%s.%s", spec->name, key);
  return swath_cfg_int(v, what, lo, hi, out);
}

int swath__remote_bool(const swath_source_spec *spec, const char *key, int *out) {
  const swath_cfg *v = swath_cfg_get(spec->cfg, key);
  if (!v) return 0;
  char what[128];
  snprintf(what, sizeof what, "inputs.%s.%s", spec->name, key);
  return swath_cfg_bool(v, what, out);
}

static int opt_double(const swath_source_spec *spec, const char *key, double lo, double hi,
                      double *out) {
  const swath_cfg *v = swath_cfg_get(spec->cfg, key);
  if (!v) return 0;
  char what[128];
  snprintf(what, sizeof what, "inputs.%s.%s", spec->name, key);
  int rc = swath_cfg_double(v, what, out);
  if (!rc && !(*out >= lo && *out <= hi))
    rc = swath_cfg_error(v, "%s: %g is out of range [%g, %g]", what, *out, lo, hi);
  return rc;
}

int swath__remote_parse_common(swath__remote *r, const swath_source_spec *spec,
                               const char *const *own) {
  snprintf(r->name, sizeof r->name, "%s", spec->name);
  r->zoom = -1;
  r->bands = 3;
  if (!spec->cfg || spec->cfg->type != SWATH_CFG_MAP)
    return swath_error_set(SWATH_EINVAL, "inputs.%s: a %s input is a mapping with its options",
                           spec->name, spec->type);
  /* The type's keys and the common ones, checked (and any unknown one named,
   * with the full list) by the config layer. */
  char where[128];
  snprintf(where, sizeof where, "inputs.%s (%s)", spec->name, spec->type);
  const char *all[64];
  size_t n = 0;
  for (const char *const *l = own; *l && n < 40; l++)
    all[n++] = *l;
  for (const char *const *l = common_keys; *l && n < 63; l++)
    all[n++] = *l;
  for (const char *const *l = transport_keys; *l && n < 63; l++)
    all[n++] = *l;
  all[n] = NULL;
  int rc = swath_cfg_check_keys(spec->cfg, where, all);
  if (rc) return rc;
  long v;
  if (swath_cfg_get(spec->cfg, "zoom")) {
    if ((rc = swath__remote_long(spec, "zoom", 0, SWATH_GRID_MAX_ZOOMS - 1, &v))) return rc;
    r->zoom = (int)v;
  }
  v = -1;
  if ((rc = swath__remote_long(spec, "min_zoom", 0, SWATH_GRID_MAX_ZOOMS - 1, &v))) return rc;
  if (v >= 0) r->min_zoom = (int)v;
  v = -1;
  if ((rc = swath__remote_long(spec, "max_zoom", 0, SWATH_GRID_MAX_ZOOMS - 1, &v))) return rc;
  if (v >= 0) r->max_zoom = (int)v;
  v = r->bands;
  if ((rc = swath__remote_long(spec, "bands", 1, 4, &v))) return rc;
  r->bands = (int)v;
  if ((rc = swath__remote_bool(spec, "offline", &r->offline))) return rc;
  const swath_cfg *c = swath_cfg_get(spec->cfg, "bounds");
  if (c) {
    double b[4];
    char what[128];
    snprintf(what, sizeof what, "inputs.%s.bounds", spec->name);
    if ((rc = swath_cfg_doubles(c, what, b, 4))) return rc;
    if (!(b[0] < b[2] && b[1] < b[3] && b[0] >= -180 && b[2] <= 180 && b[1] >= -90 && b[3] <= 90))
      return swath_cfg_error(c, "%s: expected [west, south, east, north] in degrees", what);
    r->has_footprint = 1;
    r->footprint_lonlat = (swath_bounds){b[0], b[1], b[2], b[3]};
  }
  return 0;
}

/* ---- fetcher configuration ---- */

int swath_source_offline(const swath_source_spec *spec) {
  const swath_source_vtable *vt = swath_source_find(spec->type);
  int offline = 0;
  if (!vt || !vt->requests || !spec->cfg || spec->cfg->type != SWATH_CFG_MAP) return 0;
  if (swath__remote_bool(spec, "offline", &offline)) swath_error_clear(); /* (open says why) */
  return offline;
}

int swath_source_fetcher_new(const swath_source_spec *spec, swath_fetcher **out) {
  *out = NULL;
  const swath_source_vtable *vt = swath_source_find(spec->type);
  if (!vt || !vt->requests || !spec->cfg || spec->cfg->type != SWATH_CFG_MAP) return 0;
  if (swath_source_offline(spec)) return 0; /* never a connection */
  swath_fetch_config fc;
  swath_fetch_config_default(&fc);
  long v;
  double d;
  int rc = 0;
  v = fc.max_in_flight;
  if ((rc = swath__remote_long(spec, "max_connections", 1, 1024, &v))) return rc;
  fc.max_in_flight = (int)v;
  fc.max_per_host = fc.max_in_flight;
  v = fc.max_per_host;
  if ((rc = swath__remote_long(spec, "max_per_host", 1, 1024, &v))) return rc;
  fc.max_per_host = (int)v;
  d = 0;
  if ((rc = opt_double(spec, "rate_limit", 0, 1e6, &d))) return rc;
  fc.rate_per_host = d;
  d = fc.timeout_ms / 1000.0;
  if ((rc = opt_double(spec, "timeout", 0.1, 86400, &d))) return rc;
  fc.timeout_ms = (long)(d * 1000);
  if (fc.stall_timeout_ms > fc.timeout_ms) fc.stall_timeout_ms = fc.timeout_ms;
  d = fc.connect_timeout_ms / 1000.0;
  if ((rc = opt_double(spec, "connect_timeout", 0.1, 3600, &d))) return rc;
  fc.connect_timeout_ms = (long)(d * 1000);
  v = fc.max_attempts;
  if ((rc = swath__remote_long(spec, "max_attempts", 1, 100, &v))) return rc;
  fc.max_attempts = (int)v;
  v = fc.failure_budget;
  if ((rc = swath__remote_long(spec, "failure_budget", 0, 1L << 30, &v))) return rc;
  fc.failure_budget = (int)v;
  const swath_cfg *c = swath_cfg_get(spec->cfg, "empty_status");
  if (c) {
    if (c->type != SWATH_CFG_SEQ || c->n >= SWATH_FETCH_MAX_EMPTY)
      return swath_cfg_error(c, "inputs.%s.empty_status: expected a list of up to %d HTTP statuses",
                             spec->name, SWATH_FETCH_MAX_EMPTY - 1);
    memset(fc.empty_status, 0, sizeof fc.empty_status);
    for (size_t i = 0; i < c->n; i++) {
      char what[128];
      snprintf(what, sizeof what, "inputs.%s.empty_status", spec->name);
      if ((rc = swath_cfg_int(c->items[i], what, 100, 599, &v))) return rc;
      fc.empty_status[i] = (int)v;
    }
  }
  const char *ua = NULL;
  if ((rc = swath__remote_string(spec, "user_agent", NULL, &ua))) return rc;
  fc.user_agent = ua;
  const char *ca = NULL;
  if ((rc = swath__remote_string(spec, "ca_file", NULL, &ca))) return rc;
  if (ca && access(ca, R_OK) != 0)
    return swath_error_set(SWATH_EINVAL, "inputs.%s.ca_file: cannot read %s: %s", spec->name, ca,
                           strerror(errno));
  fc.ca_file = ca;
  c = swath_cfg_get(spec->cfg, "headers");
  char **lines = NULL;
  if (c) {
    if (c->type != SWATH_CFG_MAP)
      return swath_cfg_error(c, "inputs.%s.headers: expected a mapping of Name: value", spec->name);
    lines = calloc(c->n + 1, sizeof *lines);
    if (!lines) return SWATH_ENOMEM;
    for (size_t i = 0; i < c->n && !rc; i++) {
      const char *val;
      char what[128];
      snprintf(what, sizeof what, "inputs.%s.headers.%s", spec->name, c->keys[i]);
      if ((rc = swath_cfg_string(c->items[i], what, &val))) break;
      size_t n = strlen(c->keys[i]) + strlen(val) + 3;
      if (!(lines[i] = malloc(n)))
        rc = SWATH_ENOMEM;
      else
        snprintf(lines[i], n, "%s: %s", c->keys[i], val);
    }
    fc.headers = (const char *const *)lines;
  }
  if (!rc) rc = swath_fetch_new(&fc, out);
  for (size_t i = 0; lines && lines[i]; i++)
    free(lines[i]);
  free(lines);
  return rc;
}
