/* exec_request.c: swath_exec_request_job (exec_request.h).
 *
 * Invariant: every string the job will open as a local file goes through
 * check_path before the job is loaded (loading reads grid files and opens
 * plugins), and is replaced by its absolute form, so the workers resolve
 * nothing relative to a folder the poster did not choose. Anything that is
 * not plainly a path or an http(s) URL is refused rather than interpreted:
 * a refusal costs the poster a message, an interpretation could read
 * /etc. */
#define _GNU_SOURCE /* strcasestr */
#include "server/exec_request.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

enum { INPUT, OUTPUT };

static int is_http(const char *s) {
  return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

/* Escapes that no key may hold anywhere, whatever GDAL or a source would
 * make of them. */
static int scan_string(const char *key, const char *s) {
  static const char *const bad[] = {"file://", "vrt://", "/vsi", NULL};
  for (int k = 0; bad[k]; k++)
    for (const char *p = s; (p = strcasestr(p, bad[k])); p++)
      if (k < 2 || p == s || p[-1] == '/' || p[-1] == ':' || p[-1] == '"' || p[-1] == ' ')
        return swath_error_set(SWATH_EINVAL, "%s: '%s' is not allowed in a posted job", key,
                               bad[k]);
  return 0;
}

static int scan_all(const char *key, const json_t *v) {
  char sub[512];
  if (json_is_string(v)) return scan_string(key, json_string_value(v));
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      snprintf(sub, sizeof sub, "%s.%s", key, k);
      int r = scan_string(sub, k); /* keys too: they end up in the job text */
      if (!r) r = scan_all(sub, x);
      if (r) return r;
    }
  } else if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      snprintf(sub, sizeof sub, "%s[%zu]", key, i);
      int r = scan_all(sub, x);
      if (r) return r;
    }
  }
  return 0;
}

/* 1 if `path` is `root` or below it (both absolute, no `..`). */
static int under(const char *path, const char *root) {
  size_t n = strlen(root);
  while (n > 1 && root[n - 1] == '/')
    n--;
  if (strncmp(path, root, n) != 0) return 0;
  return path[n] == '\0' || path[n] == '/' || (n == 1 && root[0] == '/');
}

/* realpath of the longest existing prefix of `p`, the rest appended: where
 * the path really leads once it exists. A component that exists but
 * cannot be resolved (a dangling or looping symlink) is refused. */
static int resolve(const char *key, const char *p, char out[PATH_MAX]) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", p) >= (int)sizeof buf)
    return swath_error_set(SWATH_EINVAL, "%s: path too long", key);
  size_t n = strlen(buf);
  for (;;) {
    if (realpath(buf, out)) break;
    if (errno != ENOENT)
      return swath_error_set(SWATH_EINVAL, "%s: cannot resolve '%s': %s", key, p, strerror(errno));
    char *slash = strrchr(buf, '/');
    if (!slash || slash == buf) {
      snprintf(out, PATH_MAX, "/");
      break;
    }
    *slash = '\0';
  }
  size_t m = strlen(buf);
  if (m < n) {
    size_t o = strlen(out);
    if (o + (n - m) + 1 >= PATH_MAX) return swath_error_set(SWATH_EINVAL, "%s: path too long", key);
    /* the part that does not exist yet: no symlink in it can mislead */
    snprintf(out + o, PATH_MAX - o, "%s", p + m + (o == 1));
  }
  return 0;
}

/* Check one path value and make it absolute (*abs, malloc'd). */
static int check_path(const swath_exec_roots *r, int kind, const char *key, const char *v,
                      char **abs) {
  *abs = NULL;
  if (!*v) return swath_error_set(SWATH_EINVAL, "%s: an empty path", key);
  if (kind == INPUT && is_http(v)) return (*abs = strdup(v)) ? 0 : SWATH_ENOMEM;
  if (v[0] == '~')
    return swath_error_set(SWATH_EINVAL, "%s: '~' paths are not allowed in a posted job", key);
  if (strchr(v, ':'))
    return swath_error_set(SWATH_EINVAL,
                           "%s: '%s' is not a plain path%s (no 'scheme:' or GDAL 'PREFIX:' forms "
                           "in a posted job)",
                           key, v, kind == INPUT ? " or an http(s) URL" : "");
  for (const char *s = v; *s; s = strchr(s, '/') ? strchr(s, '/') + 1 : s + strlen(s))
    if (s[0] == '.' && s[1] == '.' && (s[2] == '/' || s[2] == '\0'))
      return swath_error_set(SWATH_EINVAL, "%s: '..' segments are not allowed in a posted job",
                             key);
  const char *root = kind == OUTPUT ? r->outputs : r->ninputs > 0 ? r->inputs[0] : NULL;
  if (!root)
    return swath_error_set(SWATH_EINVAL,
                           "%s: local files are not allowed (the service has no input roots: "
                           "start it with --inputs DIR)",
                           key);
  char joined[PATH_MAX], real[PATH_MAX];
  if (snprintf(joined, sizeof joined, "%s%s%s", v[0] == '/' ? "" : root, v[0] == '/' ? "" : "/",
               v) >= (int)sizeof joined)
    return swath_error_set(SWATH_EINVAL, "%s: path too long", key);
  int ok = 0;
  if (kind == OUTPUT) {
    ok = under(joined, r->outputs);
  } else {
    for (int i = 0; i < r->ninputs && !ok; i++)
      ok = under(joined, r->inputs[i]);
  }
  if (!ok)
    return swath_error_set(SWATH_EINVAL, "%s: '%s' is outside the service's %s roots", key, v,
                           kind == OUTPUT ? "output" : "input");
  int rc = resolve(key, joined, real);
  if (rc) return rc;
  ok = 0;
  if (kind == OUTPUT) {
    ok = under(real, r->outputs);
  } else {
    for (int i = 0; i < r->ninputs && !ok; i++)
      ok = under(real, r->inputs[i]);
  }
  if (!ok)
    return swath_error_set(SWATH_EINVAL, "%s: '%s' leads outside the service's %s roots", key, v,
                           kind == OUTPUT ? "output" : "input");
  return (*abs = strdup(joined)) ? 0 : SWATH_ENOMEM;
}

/* Check obj[field] (a string, if present) and replace it by its absolute form. */
static int fix(const swath_exec_roots *r, int kind, const char *key, json_t *obj,
               const char *field) {
  json_t *v = json_object_get(obj, field);
  if (!v) return 0;
  if (!json_is_string(v)) return swath_error_set(SWATH_EINVAL, "%s: expected a string", key);
  char *abs;
  int rc = check_path(r, kind, key, json_string_value(v), &abs);
  if (rc) return rc;
  rc = json_object_set_new(obj, field, json_string(abs)) ? SWATH_ENOMEM : 0;
  free(abs);
  return rc;
}

static int fix_inputs(const swath_exec_roots *r, json_t *inputs) {
  if (!inputs) return 0;
  if (!json_is_object(inputs))
    return swath_error_set(SWATH_EINVAL, "inputs.inputs: expected an object of name: path");
  const char *name;
  json_t *v;
  char key[300];
  json_object_foreach(inputs, name, v) {
    snprintf(key, sizeof key, "inputs.inputs.%s", name);
    if (json_is_string(v)) {
      int rc = fix(r, INPUT, key, inputs, name);
      if (rc) return rc;
    } else if (json_is_object(v)) {
      json_t *t = json_object_get(v, "type");
      const char *type = json_is_string(t) ? json_string_value(t) : "gdal";
      snprintf(key, sizeof key, "inputs.inputs.%s.path", name);
      int rc = fix(r, INPUT, key, v, "path");
      if (rc) return rc;
      /* a remote source's URL must be http(s): no other scheme reaches a
       * file on this machine */
      json_t *u = json_object_get(v, "url");
      if (strcmp(type, "gdal") != 0 && json_is_string(u) && !is_http(json_string_value(u)))
        return swath_error_set(SWATH_EINVAL, "inputs.inputs.%s.url: only http(s) URLs", name);
    }
  }
  return 0;
}

/* "path" parameters (dotted keys under params) are inputs. */
static int fix_params(const swath_exec_roots *r, const swath_param *spec, json_t *params,
                      const char *prefix) {
  if (!json_is_object(params)) return 0;
  const char *k;
  json_t *v;
  char dotted[300], key[320];
  json_object_foreach(params, k, v) {
    snprintf(dotted, sizeof dotted, "%s%s%s", prefix, *prefix ? "." : "", k);
    if (json_is_object(v)) {
      int rc = fix_params(r, spec, v, dotted);
      if (rc) return rc;
      continue;
    }
    for (const swath_param *p = spec; p && p->name; p++) {
      if (strcmp(p->name, dotted) != 0 || strcmp(p->type, "path") != 0) continue;
      if (!json_is_string(v) || !*json_string_value(v)) break;
      snprintf(key, sizeof key, "inputs.params.%s", dotted);
      int rc = fix(r, INPUT, key, params, k);
      if (rc) return rc;
    }
  }
  return 0;
}

static int fix_paths(const swath_exec_roots *r, const swath_param *spec, json_t *job) {
  int rc = fix_inputs(r, json_object_get(job, "inputs"));
  json_t *o;
  if (!rc) rc = fix_params(r, spec, json_object_get(job, "params"), "");
  if (!rc && json_is_object(o = json_object_get(job, "area")))
    rc = fix(r, INPUT, "inputs.area.file", o, "file");
  o = json_object_get(job, "grid");
  if (!rc && json_is_string(o) && strstr(json_string_value(o), ".json"))
    rc = fix(r, INPUT, "inputs.grid", job, "grid");
  if (!rc && json_is_object(o) && json_is_string(json_object_get(o, "name")) &&
      strstr(json_string_value(json_object_get(o, "name")), ".json"))
    rc = fix(r, INPUT, "inputs.grid.name", o, "name");
  if (!rc && json_is_object(o = json_object_get(job, "output"))) {
    rc = fix(r, OUTPUT, "inputs.output.path", o, "path");
    if (!rc) rc = fix(r, OUTPUT, "inputs.output.features", o, "features");
  }
  /* (no cache.path: the service's own default cache, the operator's choice) */
  if (!rc && json_is_object(o = json_object_get(job, "cache")))
    rc = fix(r, OUTPUT, "inputs.cache.path", o, "path");
  return rc;
}

int swath_exec_request_job(const swath_exec_roots *roots, const char *process,
                           const swath_param *params, const char *body, size_t len, char **out) {
  static const char *const top[] = {"inputs", "outputs", "response", "subscriber", NULL};
  static const char *const keys[] = {"name", "params", "inputs", "grid", "zoom",
                                     "area", "output", "cache",  NULL};
  *out = NULL;
  json_error_t e;
  json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
  if (!doc)
    return swath_error_set(SWATH_EINVAL, "body: not JSON (line %d, column %d: %s)", e.line,
                           e.column, e.text);
  int rc = 0;
  json_t *in = json_object_get(doc, "inputs");
  const char *k;
  json_t *v;
  if (!json_is_object(doc))
    rc = swath_error_set(SWATH_EINVAL, "body: expected an object {\"inputs\": {...}}");
  else if (!json_is_object(in))
    rc = swath_error_set(SWATH_EINVAL, "body: missing \"inputs\" (an object of the job's keys)");
  if (!rc) {
    json_object_foreach(doc, k, v) {
      int known = 0;
      for (int i = 0; top[i]; i++)
        known |= strcmp(k, top[i]) == 0;
      if (!known) {
        rc = swath_error_set(SWATH_EINVAL,
                             "body: unknown key '%s' (inputs, outputs, response, subscriber)", k);
        break;
      }
    }
  }
  if (!rc) {
    json_object_foreach(in, k, v) {
      int known = 0;
      for (int i = 0; keys[i]; i++)
        known |= strcmp(k, keys[i]) == 0;
      if (!known) {
        rc = swath_error_set(
            SWATH_EINVAL,
            strcmp(k, "process") == 0
                ? "inputs.process: the process is the one in the URL; remove this key"
                : "inputs.%s: unknown input (name, params, inputs, grid, zoom, area, output, "
                  "cache)",
            k);
        break;
      }
    }
  }
  json_t *job = NULL;
  if (!rc) rc = scan_all("inputs", in);
  if (!rc && !(job = json_deep_copy(in))) rc = SWATH_ENOMEM;
  if (!rc) rc = fix_paths(roots, params, job);
  if (!rc && json_object_set_new(job, "process", json_string(process))) rc = SWATH_ENOMEM;
  if (!rc && !(*out = json_dumps(job, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII)))
    rc = swath_error_set(SWATH_ENOMEM, "body: out of memory");
  json_decref(job);
  json_decref(doc);
  return rc;
}
