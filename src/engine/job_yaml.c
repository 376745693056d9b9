/* job_yaml.c: the job as run, written back as YAML (libyaml's emitter) for
 * the output's job.yaml: the job file's tree, with zoom and area replaced
 * by what the run used once --zoom and --bounds are applied. Comments and
 * layout of the original are not kept; values are, scalars quoted where
 * they were quoted. Numbers are written as they round-trip, so the file
 * reads back as the same job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/error.h"
#include "engine/job.h"

/* The shortest decimal form of v that reads back as v. */
static void fmt_num(double v, char *buf, size_t n) {
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, n, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) return;
  }
}

void swath_job_area_text(const swath_job *job, char *buf, size_t n) {
  if (job->area_file) {
    snprintf(buf, n, "file %s", job->area_file);
  } else if (job->has_bounds) {
    char v[4][32];
    fmt_num(job->bounds.minx, v[0], sizeof v[0]);
    fmt_num(job->bounds.miny, v[1], sizeof v[1]);
    fmt_num(job->bounds.maxx, v[2], sizeof v[2]);
    fmt_num(job->bounds.maxy, v[3], sizeof v[3]);
    snprintf(buf, n, "bounds %s,%s,%s,%s (%s)", v[0], v[1], v[2], v[3],
             job->bounds_crs ? job->bounds_crs : "EPSG:4326");
  } else {
    snprintf(buf, n, "the inputs' footprint");
  }
}

static int scalar(yaml_document_t *d, const char *v, int quoted) {
  return yaml_document_add_scalar(d, NULL, (yaml_char_t *)v, (int)strlen(v),
                                  quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
}

/* A config subtree as document nodes; returns the node id, 0 on failure. */
static int add_tree(yaml_document_t *d, const swath_cfg *c) {
  if (c->type == SWATH_CFG_SCALAR) return scalar(d, c->value, c->quoted);
  int flat = 1; /* sequences of scalars stay on one line, as [a, b] */
  for (size_t i = 0; i < c->n; i++)
    flat &= c->items[i]->type == SWATH_CFG_SCALAR;
  int id = c->type == SWATH_CFG_MAP
               ? yaml_document_add_mapping(d, NULL, YAML_BLOCK_MAPPING_STYLE)
               : yaml_document_add_sequence(
                     d, NULL, flat ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
  for (size_t i = 0; id && i < c->n; i++) {
    int v = add_tree(d, c->items[i]);
    if (!v) return 0;
    if (c->type == SWATH_CFG_MAP) {
      int k = scalar(d, c->keys[i], 0);
      if (!k || !yaml_document_append_mapping_pair(d, id, k, v)) return 0;
    } else if (!yaml_document_append_sequence_item(d, id, v)) {
      return 0;
    }
  }
  return id;
}

static int add_zoom(yaml_document_t *d, const swath_job *job) {
  char a[16], b[16];
  snprintf(a, sizeof a, "%d", job->min_zoom);
  snprintf(b, sizeof b, "%d", job->max_zoom);
  int s = yaml_document_add_sequence(d, NULL, YAML_FLOW_SEQUENCE_STYLE);
  int ka = scalar(d, a, 0), kb = scalar(d, b, 0);
  return s && ka && kb && yaml_document_append_sequence_item(d, s, ka) &&
                 yaml_document_append_sequence_item(d, s, kb)
             ? s
             : 0;
}

/* area: {bounds: [w, s, e, n], crs: C}, from the job's (overridden) bounds. */
static int add_bounds(yaml_document_t *d, const swath_job *job) {
  double v[4] = {job->bounds.minx, job->bounds.miny, job->bounds.maxx, job->bounds.maxy};
  int m = yaml_document_add_mapping(d, NULL, YAML_FLOW_MAPPING_STYLE);
  int s = yaml_document_add_sequence(d, NULL, YAML_FLOW_SEQUENCE_STYLE);
  if (!m || !s) return 0;
  for (int i = 0; i < 4; i++) {
    char buf[32];
    fmt_num(v[i], buf, sizeof buf);
    int k = scalar(d, buf, 0);
    if (!k || !yaml_document_append_sequence_item(d, s, k)) return 0;
  }
  int kb = scalar(d, "bounds", 0), kc = scalar(d, "crs", 0),
      vc = scalar(d, job->bounds_crs ? job->bounds_crs : "EPSG:4326", 0);
  if (!kb || !kc || !vc || !yaml_document_append_mapping_pair(d, m, kb, s) ||
      !yaml_document_append_mapping_pair(d, m, kc, vc))
    return 0;
  return m;
}

typedef struct outbuf {
  char *s;
  size_t n, cap;
} outbuf;

static int write_out(void *data, unsigned char *buf, size_t size) {
  outbuf *o = data;
  if (o->n + size + 1 > o->cap) {
    size_t cap = (o->n + size + 1) * 2;
    char *ns = realloc(o->s, cap);
    if (!ns) return 0;
    o->s = ns;
    o->cap = cap;
  }
  memcpy(o->s + o->n, buf, size);
  o->n += size;
  o->s[o->n] = '\0';
  return 1;
}

/* The root mapping with zoom and area as run. */
static int add_root(yaml_document_t *d, const swath_job *job) {
  const swath_cfg *root = job->tree;
  int id = yaml_document_add_mapping(d, NULL, YAML_BLOCK_MAPPING_STYLE);
  int area_done = 0;
  for (size_t i = 0; id && i < root->n; i++) {
    const char *k = root->keys[i];
    int v;
    if (strcmp(k, "zoom") == 0)
      v = add_zoom(d, job);
    else if (strcmp(k, "area") == 0 && job->area_from_cli)
      v = add_bounds(d, job);
    else
      v = add_tree(d, root->items[i]);
    area_done |= strcmp(k, "area") == 0;
    int kk = v ? scalar(d, k, 0) : 0;
    if (!kk || !yaml_document_append_mapping_pair(d, id, kk, v)) return 0;
    if (strcmp(k, "zoom") == 0 && job->area_from_cli && !swath_cfg_get(root, "area")) {
      int a = add_bounds(d, job), ka = a ? scalar(d, "area", 0) : 0;
      if (!ka || !yaml_document_append_mapping_pair(d, id, ka, a)) return 0;
      area_done = 1;
    }
  }
  return id && (area_done || !job->area_from_cli) ? id : 0;
}

int swath_job_yaml(const swath_job *job, const char *header, char **out) {
  *out = NULL;
  if (!job->tree || job->tree->type != SWATH_CFG_MAP)
    return swath_error_set(SWATH_EINTERNAL, "job.yaml: the job has no parsed tree");
  outbuf o = {0};
  if (header && !write_out(&o, (unsigned char *)header, strlen(header)))
    return swath_error_set(SWATH_ENOMEM, "job.yaml: out of memory");
  yaml_document_t doc;
  if (!yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1)) {
    free(o.s);
    return swath_error_set(SWATH_ENOMEM, "job.yaml: out of memory");
  }
  int ok = add_root(&doc, job) != 0;
  yaml_emitter_t em;
  if (ok && yaml_emitter_initialize(&em)) {
    yaml_emitter_set_output(&em, write_out, &o);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, 120);
    ok = yaml_emitter_open(&em) && yaml_emitter_dump(&em, &doc) && yaml_emitter_close(&em);
    yaml_emitter_delete(&em);
  } else {
    ok = 0;
    yaml_document_delete(&doc);
  }
  /* yaml_emitter_dump deletes the document, whether it succeeds or not. */
  if (!ok || !o.s) {
    free(o.s);
    return swath_error_set(SWATH_EINTERNAL, "job.yaml: cannot write the job as YAML");
  }
  *out = o.s;
  return 0;
}
