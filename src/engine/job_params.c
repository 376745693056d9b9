/* job_params.c: a job's `params:` as the process reads them.
 *
 * Processes read parameters as flat key/value text (swath/plugin.h), so a
 * nested mapping is flattened to dotted keys and a sequence of scalars to
 * one comma-separated value:
 *
 *     chip: {size: 256, overlap: 32}     ->  chip.size = 256, chip.overlap = 32
 *     bands: [1, 2, 3]                   ->  bands = 1,2,3
 *     model: {type: kserve, url: ...}    ->  model.type = kserve, model.url = ...
 *
 * and every key is checked against the process's declared parameters by
 * their dotted names. A parameter declared with type "path" names a file:
 * relative to the job file's folder (job_path.h), unless it is a URL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "engine/job.h"
#include "engine/job_path.h"

static int flatten(swath_params *p, const char *key, const swath_cfg *v) {
  char k[256];
  if (v->type == SWATH_CFG_SCALAR) return swath_params_set(p, key, v->value);
  if (v->type == SWATH_CFG_MAP) {
    for (size_t i = 0; i < v->n; i++) {
      if (snprintf(k, sizeof k, "%s.%s", key, v->keys[i]) >= (int)sizeof k)
        return swath_cfg_error(v->items[i], "params.%s: the key is too long", key);
      int rc = flatten(p, k, v->items[i]);
      if (rc) return rc;
    }
    return 0;
  }
  /* A sequence of scalars: one comma-separated value. */
  size_t len = 1;
  for (size_t i = 0; i < v->n; i++) {
    if (v->items[i]->type != SWATH_CFG_SCALAR)
      return swath_cfg_error(v->items[i], "params.%s: expected a list of single values", key);
    len += strlen(v->items[i]->value) + 1;
  }
  char *s = malloc(len);
  if (!s) return swath_error_set(SWATH_ENOMEM, "out of memory");
  s[0] = '\0';
  for (size_t i = 0; i < v->n; i++) {
    if (i) strcat(s, ",");
    strcat(s, v->items[i]->value);
  }
  int rc = swath_params_set(p, key, s);
  free(s);
  return rc;
}

int swath_job_parse_params(swath_job *job, const swath_cfg *c) {
  job->params = swath_params_new();
  if (!job->params) return SWATH_ENOMEM;
  if (!c) return 0;
  if (c->type != SWATH_CFG_MAP) return swath_cfg_error(c, "params: expected a mapping");
  for (size_t i = 0; i < c->n; i++) {
    int rc = flatten(job->params, c->keys[i], c->items[i]);
    if (rc) return rc;
  }
  return 0;
}

/* The node of a dotted key, for the error's line. */
static const swath_cfg *node_of(const swath_cfg *c, const char *key) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", key);
  for (char *part = strtok(buf, "."); part && c; part = strtok(NULL, "."))
    c = c->type == SWATH_CFG_MAP ? swath_cfg_get(c, part) : NULL;
  return c;
}

int swath_job_resolve_path_params(swath_job *job, const char *dir, const swath_cfg *c) {
  swath_params *p = job->params;
  for (int i = 0; i < p->n; i++) {
    const swath_param *s = p->spec;
    while (s && s->name && strcmp(s->name, p->keys[i]) != 0)
      s++;
    if (!s || !s->name || strcmp(s->type, "path") != 0 || !p->values[i][0]) continue;
    if (strstr(p->values[i], "://")) continue; /* a URL */
    char what[300], *out;
    snprintf(what, sizeof what, "params.%s", p->keys[i]);
    int rc = swath_job_path(dir, p->values[i], node_of(c, p->keys[i]), what, &out);
    if (rc) return rc;
    free(p->values[i]);
    p->values[i] = out;
  }
  return 0;
}
