/* config.c: libyaml document -> swath_cfg tree; typed getters. Aliases and
 * anchors are resolved by libyaml's document loader; merge keys are not
 * supported (they would be reported as unknown keys). */
#include "core/config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/error.h"

int swath_cfg_error(const swath_cfg *c, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return swath_error_set(SWATH_EINVAL, "%s:%d: %s", c && c->file ? c->file : "config",
                         c ? c->line : 0, msg);
}

static swath_cfg *build(yaml_document_t *doc, yaml_node_t *node, const char *file, int depth) {
  if (!node || depth > 64) return NULL;
  swath_cfg *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->line = (int)node->start_mark.line + 1;
  c->file = file;
  switch (node->type) {
  case YAML_SCALAR_NODE:
    c->type = SWATH_CFG_SCALAR;
    c->quoted = node->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                node->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    c->value = strndup((const char *)node->data.scalar.value, node->data.scalar.length);
    if (!c->value) goto fail;
    return c;
  case YAML_SEQUENCE_NODE: {
    c->type = SWATH_CFG_SEQ;
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    c->items = calloc(n ? n : 1, sizeof *c->items);
    if (!c->items) goto fail;
    for (size_t i = 0; i < n; i++) {
      c->items[i] = build(doc, yaml_document_get_node(doc, node->data.sequence.items.start[i]), file,
                          depth + 1);
      if (!c->items[i]) goto fail;
      c->n++;
    }
    return c;
  }
  case YAML_MAPPING_NODE: {
    c->type = SWATH_CFG_MAP;
    size_t n = (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start);
    c->items = calloc(n ? n : 1, sizeof *c->items);
    c->keys = calloc(n ? n : 1, sizeof *c->keys);
    if (!c->items || !c->keys) goto fail;
    for (size_t i = 0; i < n; i++) {
      yaml_node_pair_t *p = &node->data.mapping.pairs.start[i];
      yaml_node_t *k = yaml_document_get_node(doc, p->key);
      if (!k || k->type != YAML_SCALAR_NODE) goto fail;
      c->keys[i] = strndup((const char *)k->data.scalar.value, k->data.scalar.length);
      c->items[i] = build(doc, yaml_document_get_node(doc, p->value), file, depth + 1);
      if (!c->keys[i] || !c->items[i]) {
        free(c->keys[i]);
        swath_cfg_free(c->items[i]);
        goto fail;
      }
      c->n++;
    }
    return c;
  }
  default:
    break;
  }
fail:
  swath_cfg_free(c);
  return NULL;
}

static int parse(yaml_parser_t *parser, const char *name, swath_cfg **out) {
  yaml_document_t doc;
  *out = NULL;
  if (!yaml_parser_load(parser, &doc)) {
    int rc = swath_error_set(SWATH_EINVAL, "%s:%zu: YAML syntax error: %s%s%s", name,
                             parser->problem_mark.line + 1,
                             parser->problem ? parser->problem : "unreadable",
                             parser->context ? " " : "", parser->context ? parser->context : "");
    return rc;
  }
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root) {
    yaml_document_delete(&doc);
    return swath_error_set(SWATH_EINVAL, "%s: the document is empty", name);
  }
  char *file = strdup(name);
  swath_cfg *c = file ? build(&doc, root, file, 0) : NULL;
  yaml_document_delete(&doc);
  if (!c) {
    free(file);
    return swath_error_set(SWATH_EINVAL, "%s: unsupported YAML (non-scalar map key or too deep)",
                           name);
  }
  *out = c;
  return 0;
}

int swath_cfg_parse_string(const char *text, const char *name, swath_cfg **out) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return swath_error_set(SWATH_ENOMEM, "yaml: out of memory");
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
  int rc = parse(&parser, name, out);
  yaml_parser_delete(&parser);
  return rc;
}

int swath_cfg_parse_file(const char *path, swath_cfg **out) {
  FILE *f = fopen(path, "rb");
  if (!f) return swath_error_set(SWATH_EINVAL, "%s: cannot open: %s", path, strerror(errno));
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    fclose(f);
    return swath_error_set(SWATH_ENOMEM, "yaml: out of memory");
  }
  yaml_parser_set_input_file(&parser, f);
  int rc = parse(&parser, path, out);
  yaml_parser_delete(&parser);
  fclose(f);
  return rc;
}

static void free_node(swath_cfg *c) {
  if (!c) return;
  for (size_t i = 0; i < c->n; i++) {
    if (c->keys) free(c->keys[i]);
    free_node(c->items[i]);
  }
  free(c->keys);
  free(c->items);
  free(c->value);
  free(c);
}

void swath_cfg_free(swath_cfg *c) {
  if (!c) return;
  char *file = (char *)c->file;
  free_node(c);
  free(file);
}

const swath_cfg *swath_cfg_get(const swath_cfg *map, const char *key) {
  if (!map || map->type != SWATH_CFG_MAP) return NULL;
  for (size_t i = 0; i < map->n; i++)
    if (strcmp(map->keys[i], key) == 0) return map->items[i];
  return NULL;
}

int swath_cfg_check_keys(const swath_cfg *map, const char *where, const char *const *allowed) {
  if (!map) return 0;
  if (map->type != SWATH_CFG_MAP) return swath_cfg_error(map, "%s: expected a mapping", where);
  for (size_t i = 0; i < map->n; i++) {
    int ok = 0;
    for (const char *const *a = allowed; *a; a++) ok |= strcmp(*a, map->keys[i]) == 0;
    if (ok) continue;
    char list[512] = "";
    for (const char *const *a = allowed; *a; a++) {
      if (a != allowed) strncat(list, ", ", sizeof list - strlen(list) - 1);
      strncat(list, *a, sizeof list - strlen(list) - 1);
    }
    return swath_cfg_error(map->items[i], "unknown key '%s' in %s (expected one of: %s)",
                           map->keys[i], where, list);
  }
  for (size_t i = 0; i < map->n; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(map->keys[i], map->keys[j]) == 0)
        return swath_cfg_error(map->items[i], "duplicate key '%s' in %s", map->keys[i], where);
  return 0;
}

int swath_cfg_string(const swath_cfg *c, const char *what, const char **out) {
  if (!c || c->type != SWATH_CFG_SCALAR) return swath_cfg_error(c, "%s: expected a string", what);
  *out = c->value;
  return 0;
}

int swath_cfg_double(const swath_cfg *c, const char *what, double *out) {
  if (!c || c->type != SWATH_CFG_SCALAR)
    return swath_cfg_error(c, "%s: expected a number", what);
  char *end = NULL;
  errno = 0;
  double v = strtod(c->value, &end);
  if (end == c->value || *end || errno || !isfinite(v))
    return swath_cfg_error(c, "%s: expected a number, got '%s'", what, c->value);
  *out = v;
  return 0;
}

int swath_cfg_int(const swath_cfg *c, const char *what, long lo, long hi, long *out) {
  if (!c || c->type != SWATH_CFG_SCALAR)
    return swath_cfg_error(c, "%s: expected an integer", what);
  char *end = NULL;
  errno = 0;
  long v = strtol(c->value, &end, 10);
  if (end == c->value || *end || errno)
    return swath_cfg_error(c, "%s: expected an integer, got '%s'", what, c->value);
  if (v < lo || v > hi)
    return swath_cfg_error(c, "%s: %ld is out of range (%ld to %ld)", what, v, lo, hi);
  *out = v;
  return 0;
}

int swath_cfg_bool(const swath_cfg *c, const char *what, int *out) {
  if (!c || c->type != SWATH_CFG_SCALAR) return swath_cfg_error(c, "%s: expected true or false", what);
  static const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
  for (int i = 0; i < 4; i++) {
    if (strcasecmp(c->value, yes[i]) == 0) return *out = 1, 0;
    if (strcasecmp(c->value, no[i]) == 0) return *out = 0, 0;
  }
  return swath_cfg_error(c, "%s: expected true or false, got '%s'", what, c->value);
}

int swath_cfg_doubles(const swath_cfg *c, const char *what, double *out, size_t n) {
  if (!c || c->type != SWATH_CFG_SEQ || (n && c->n != n))
    return swath_cfg_error(c, "%s: expected a list of %zu numbers", what, n);
  for (size_t i = 0; i < c->n; i++) {
    int rc = swath_cfg_double(c->items[i], what, &out[i]);
    if (rc) return rc;
  }
  return 0;
}
