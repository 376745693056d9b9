/* process.c: the process registry, job parameters, and plugin loading.
 *
 * Built-ins are listed in a constant table. A plugin is a shared library
 * exporting swath_plugin_entry (include/swath/plugin.h); it is checked for
 * the entry point, the ABI version and the mandatory callbacks before any of
 * its code runs on a tile, and each failure gets its own one-line message. */
#include "process/process.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/error.h"
#include "io/features.h"

swath_params *swath_params_new(void) { return calloc(1, sizeof(swath_params)); }

int swath_params_set(swath_params *p, const char *key, const char *value) {
  for (int i = 0; i < p->n; i++) {
    if (strcmp(p->keys[i], key) == 0) {
      char *v = strdup(value);
      if (!v) return swath_error_set(SWATH_ENOMEM, "params: out of memory");
      free(p->values[i]);
      p->values[i] = v;
      return 0;
    }
  }
  char **k = realloc(p->keys, sizeof(char *) * (size_t)(p->n + 1));
  if (k) p->keys = k;
  char **v = realloc(p->values, sizeof(char *) * (size_t)(p->n + 1));
  if (v) p->values = v;
  if (!k || !v) return swath_error_set(SWATH_ENOMEM, "params: out of memory");
  p->keys[p->n] = strdup(key);
  p->values[p->n] = strdup(value);
  if (!p->keys[p->n] || !p->values[p->n])
    return swath_error_set(SWATH_ENOMEM, "params: out of memory");
  p->n++;
  return 0;
}

void swath_params_free(swath_params *p) {
  if (!p) return;
  for (int i = 0; i < p->n; i++) {
    free(p->keys[i]);
    free(p->values[i]);
  }
  free(p->keys);
  free(p->values);
  free(p);
}

static const char *host_param(const swath_params *p, const char *name) {
  if (!p) return NULL;
  for (int i = 0; i < p->n; i++)
    if (strcmp(p->keys[i], name) == 0) return p->values[i];
  for (const swath_param *s = p->spec; s && s->name; s++)
    if (strcmp(s->name, name) == 0) return s->default_value;
  return NULL;
}

static int host_error(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  swath_error_vset(code, fmt, ap);
  va_end(ap);
  return code;
}

static const swath_host g_host = {SWATH_PLUGIN_ABI, host_param, host_error, swath_features_add};

const swath_host *swath_process_host(void) { return &g_host; }

static const swath_process_vtable *const g_builtins[] = {
    &swath_process_convert, &swath_process_hillshade, &swath_process_bandmath,
    &swath_process_detect,  &swath_process_contours,  NULL};

const swath_process_vtable *const *swath_process_builtins(void) { return g_builtins; }

int swath_process_open(const char *name, swath_process *out) {
  memset(out, 0, sizeof *out);
  if (!strchr(name, '/') && !strstr(name, ".so")) {
    for (int i = 0; g_builtins[i]; i++) {
      if (strcmp(g_builtins[i]->name, name) == 0) {
        out->vt = g_builtins[i];
        return 0;
      }
    }
    return swath_error_set(SWATH_EINVAL,
                           "unknown process '%s' (built-ins: convert, hillshade, bandmath, detect, "
                           "contours; or a path to a plugin .so)",
                           name);
  }
  struct stat st;
  if (stat(name, &st) != 0)
    return swath_error_set(SWATH_EINVAL, "plugin '%s': %s", name, strerror(errno));
  dlerror();
  void *dl = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!dl) {
    const char *why = dlerror();
    return swath_error_set(SWATH_EINVAL, "plugin '%s': not a loadable shared library (%s)", name,
                           why ? why : "?");
  }
  swath_plugin_entry_fn entry;
  *(void **)&entry = dlsym(dl, SWATH_PLUGIN_ENTRY);
  if (!entry) {
    dlclose(dl);
    return swath_error_set(SWATH_EINVAL, "plugin '%s': no %s symbol: not a swath plugin", name,
                           SWATH_PLUGIN_ENTRY);
  }
  const swath_process_vtable *vt = entry(SWATH_PLUGIN_ABI);
  if (!vt) {
    dlclose(dl);
    return swath_error_set(SWATH_EINVAL, "plugin '%s': refused swath's plugin ABI %d", name,
                           SWATH_PLUGIN_ABI);
  }
  if (vt->abi_version != SWATH_PLUGIN_ABI) {
    int v = vt->abi_version;
    dlclose(dl);
    return swath_error_set(SWATH_EINVAL,
                           "plugin '%s': built for plugin ABI %d, swath needs %d; rebuild it", name,
                           v, SWATH_PLUGIN_ABI);
  }
  if (!vt->name || !vt->init || !vt->run) {
    dlclose(dl);
    return swath_error_set(SWATH_EINVAL, "plugin '%s': its vtable lacks name, init or run", name);
  }
  out->vt = vt;
  out->dl = dl;
  return 0;
}

void swath_process_close(swath_process *p) {
  if (p->dl) dlclose(p->dl);
  memset(p, 0, sizeof *p);
}

static int check_type(const char *proc, const swath_param *s, const char *v) {
  char *end;
  if (strcmp(s->type, "number") == 0) {
    double d = strtod(v, &end);
    if (end == v || *end || !isfinite(d))
      return swath_error_set(SWATH_EINVAL, "process %s: parameter '%s' must be a number, got '%s'",
                             proc, s->name, v);
  } else if (strcmp(s->type, "integer") == 0) {
    strtol(v, &end, 10);
    if (end == v || *end)
      return swath_error_set(SWATH_EINVAL,
                             "process %s: parameter '%s' must be an integer, got '%s'", proc,
                             s->name, v);
  } else if (strcmp(s->type, "boolean") == 0) {
    static const char *ok[] = {"true", "false", "yes", "no", "on", "off", "1", "0"};
    int good = 0;
    for (int i = 0; i < 8; i++)
      good |= strcasecmp(v, ok[i]) == 0;
    if (!good)
      return swath_error_set(SWATH_EINVAL,
                             "process %s: parameter '%s' must be true or false, got '%s'", proc,
                             s->name, v);
  }
  return 0;
}

int swath_process_check_params(const swath_process_vtable *vt, swath_params *p) {
  p->spec = vt->params;
  for (int i = 0; i < p->n; i++) {
    const swath_param *s = vt->params;
    while (s && s->name && strcmp(s->name, p->keys[i]) != 0)
      s++;
    if (!s || !s->name) {
      char list[2048] = "";
      for (const swath_param *q = vt->params; q && q->name; q++) {
        if (q != vt->params) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, q->name, sizeof list - strlen(list) - 1);
      }
      return swath_error_set(SWATH_EINVAL, "process %s: unknown parameter '%s' (accepted: %s)",
                             vt->name, p->keys[i], list[0] ? list : "none");
    }
    int r = check_type(vt->name, s, p->values[i]);
    if (r) return r;
  }
  for (const swath_param *s = vt->params; s && s->name; s++) {
    if (s->default_value) continue;
    int found = 0;
    for (int i = 0; i < p->n; i++)
      found |= strcmp(p->keys[i], s->name) == 0;
    if (!found)
      return swath_error_set(SWATH_EINVAL, "process %s: missing required parameter '%s' (%s)",
                             vt->name, s->name, s->description ? s->description : s->type);
  }
  return 0;
}
