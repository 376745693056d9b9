/* remote.c: what the remote model runtimes share (remote.h). */
#include "infer/remote.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"

/* A name or version goes into the URL path as it is: letters, digits and
 * . _ - only (what KServe and TF Serving allow in practice). */
static int path_safe(const char *s) {
  if (!s || !*s || strlen(s) > 127 || s[0] == '.') return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '.' || *p == '_' || *p == '-'))
      return 0;
  return 1;
}

int swath_remote_open(swath_remote *r, const swath_model_spec *spec, const char *runtime) {
  memset(r, 0, sizeof *r);
  const char *url = spec->url;
  if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
    return swath_error_set(SWATH_EINVAL, "model (%s): model.url '%s' is not an http(s) URL",
                           runtime, url ? url : "");
  size_t n = strlen(url);
  while (n > 8 && url[n - 1] == '/')
    n--;
  if (n >= sizeof r->base)
    return swath_error_set(SWATH_EINVAL, "model (%s): model.url is longer than %zu characters",
                           runtime, sizeof r->base - 1);
  memcpy(r->base, url, n);
  r->base[n] = '\0';
  if (!spec->name)
    return swath_error_set(SWATH_EINVAL, "model server %s: model.name is required (%s)", r->base,
                           runtime);
  if (!path_safe(spec->name) || (spec->version && !path_safe(spec->version)))
    return swath_error_set(SWATH_EINVAL,
                           "model server %s: model name '%s'%s%s must be letters, digits, '.', "
                           "'_' and '-' (at most 127)",
                           r->base, spec->name, spec->version ? " or version " : "",
                           spec->version ? spec->version : "");
  snprintf(r->name, sizeof r->name, "%s", spec->name);
  swath_fetch_config cfg;
  if (spec->fetch)
    cfg = *spec->fetch;
  else
    swath_fetch_config_default(&cfg);
  memset(cfg.empty_status, 0, sizeof cfg.empty_status);
  return swath_fetch_new(&cfg, &r->f);
}

int swath_remote_get(swath_remote *r, const char *url, swath_fetch_response *resp,
                     const char *what) {
  int rc = swath_fetch_request(r->f, "GET", url, NULL, NULL, 0, resp);
  if (!rc) return 0;
  if (!what && resp->status == 404)
    return swath_error_set(SWATH_EINVAL, "model server %s has no model '%s' (%s)", r->base, r->name,
                           swath_error_message());
  return swath_error_set(SWATH_EINVAL, "model server %s: %s: %s", r->base,
                         what ? what : "cannot read the model's metadata", swath_error_message());
}

void swath_remote_close(swath_remote *r) {
  swath_fetch_free(r->f);
  r->f = NULL;
}
