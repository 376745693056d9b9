/* config.c: YAML text -> swath_cfg tree; typed getters.
 *
 * The tree is built from libyaml's event stream, not its document loader,
 * so that hostile input is refused as soon as it is seen and before it
 * costs anything: aliases (*name) are refused (expanding them is how a
 * few hundred bytes become gigabytes), collections nested deeper than
 * SWATH_CFG_MAX_DEPTH are refused at the first level too many (libyaml's
 * scanner is quadratic in flow depth), keys must be scalars and unique
 * in their mapping. Anchors alone are harmless and ignored; merge keys are
 * not supported (they are reported as unknown keys). Only the first
 * document of a stream is read.
 *
 * Invariant: every node's `file` points to one string owned by the root;
 * only swath_cfg_free(root) frees it. */
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* A node and its children, but not the shared file name. */
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

/* An open collection while its events arrive: `cap` slots allocated,
 * `key` the mapping key whose value comes next (NULL: a key comes next). */
struct frame {
  swath_cfg *node;
  size_t cap;
  char *key;
};

struct builder {
  const char *name;
  char *file;
  swath_cfg *root;
  struct frame st[SWATH_CFG_MAX_DEPTH];
  int top; /* index of the innermost open collection, -1: none */
};

static int oom(void) { return swath_error_set(SWATH_ENOMEM, "config: out of memory"); }

struct key_at {
  const char *key;
  size_t i;
};

static int key_at_cmp(const void *a, const void *b) {
  const struct key_at *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The index of the first key (in document order) that repeats an earlier
 * key of the mapping, -1 if none, -2 out of memory. Sorted, so that a
 * mapping of many keys costs n log n, not n squared. */
static long first_duplicate(const swath_cfg *m) {
  if (m->n < 2) return -1;
  struct key_at *k = malloc(m->n * sizeof *k);
  if (!k) return -2;
  for (size_t i = 0; i < m->n; i++)
    k[i] = (struct key_at){m->keys[i], i};
  qsort(k, m->n, sizeof *k, key_at_cmp);
  long first = -1;
  for (size_t i = 1; i < m->n; i++)
    if (!strcmp(k[i - 1].key, k[i].key) && (first < 0 || k[i].i < (size_t)first))
      first = (long)k[i].i;
  free(k);
  return first;
}

static int add_child(struct builder *b, swath_cfg *c) {
  if (b->top < 0) {
    b->root = c;
    return 0;
  }
  struct frame *f = &b->st[b->top];
  swath_cfg *p = f->node;
  if (p->n == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 4;
    swath_cfg **items = realloc(p->items, cap * sizeof *items);
    if (items) p->items = items;
    if (!items) return oom();
    if (p->type == SWATH_CFG_MAP) {
      char **keys = realloc(p->keys, cap * sizeof *keys);
      if (!keys) return oom();
      p->keys = keys;
    }
    f->cap = cap;
  }
  if (p->type == SWATH_CFG_MAP) {
    p->keys[p->n] = f->key;
    f->key = NULL;
  }
  p->items[p->n++] = c;
  return 0;
}

static int on_event(struct builder *b, const yaml_event_t *ev) {
  int line = (int)ev->start_mark.line + 1;
  struct frame *f = b->top >= 0 ? &b->st[b->top] : NULL;
  int key_next = f && f->node->type == SWATH_CFG_MAP && !f->key;
  switch (ev->type) {
  case YAML_ALIAS_EVENT:
    return swath_error_set(SWATH_EINVAL,
                           "%s:%d: YAML aliases (*%s) are not supported: write the value out",
                           b->name, line, (const char *)ev->data.alias.anchor);
  case YAML_SCALAR_EVENT: {
    char *v = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
    if (!v) return oom();
    if (key_next) {
      f->key = v;
      return 0;
    }
    swath_cfg *c = calloc(1, sizeof *c);
    if (!c) {
      free(v);
      return oom();
    }
    c->type = SWATH_CFG_SCALAR;
    c->line = line;
    c->file = b->file;
    c->value = v;
    c->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    int rc = add_child(b, c);
    if (rc) free_node(c);
    return rc;
  }
  case YAML_SEQUENCE_START_EVENT:
  case YAML_MAPPING_START_EVENT: {
    if (key_next)
      return swath_error_set(SWATH_EINVAL,
                             "%s:%d: a mapping key must be a plain value, not a list or mapping",
                             b->name, line);
    if (b->top + 1 >= SWATH_CFG_MAX_DEPTH)
      return swath_error_set(SWATH_EINVAL, "%s:%d: nested deeper than %d levels", b->name, line,
                             SWATH_CFG_MAX_DEPTH);
    swath_cfg *c = calloc(1, sizeof *c);
    if (!c) return oom();
    c->type = ev->type == YAML_MAPPING_START_EVENT ? SWATH_CFG_MAP : SWATH_CFG_SEQ;
    c->line = line;
    c->file = b->file;
    int rc = add_child(b, c);
    if (rc) {
      free_node(c);
      return rc;
    }
    b->st[++b->top] = (struct frame){c, 0, NULL};
    return 0;
  }
  case YAML_SEQUENCE_END_EVENT:
  case YAML_MAPPING_END_EVENT: {
    if (!f) return 0;
    if (f->node->type == SWATH_CFG_MAP) {
      long d = first_duplicate(f->node);
      if (d == -2) return oom();
      if (d >= 0) return swath_cfg_error(f->node->items[d], "duplicate key '%s'", f->node->keys[d]);
    }
    b->top--;
    return 0;
  }
  default:
    return 0;
  }
}

static int parse(yaml_parser_t *parser, const char *name, swath_cfg **out) {
  *out = NULL;
  struct builder b = {.name = name, .top = -1};
  if (!(b.file = strdup(name))) return oom();
  int rc = 0, done = 0;
  while (!rc && !done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(parser, &ev)) {
      rc = swath_error_set(SWATH_EINVAL, "%s:%zu: YAML syntax error: %s%s%s", name,
                           parser->problem_mark.line + 1,
                           parser->problem ? parser->problem : "unreadable",
                           parser->context ? " " : "", parser->context ? parser->context : "");
      break;
    }
    done = ev.type == YAML_DOCUMENT_END_EVENT || ev.type == YAML_STREAM_END_EVENT;
    rc = on_event(&b, &ev);
    yaml_event_delete(&ev);
  }
  if (!rc && !b.root) rc = swath_error_set(SWATH_EINVAL, "%s: the document is empty", name);
  if (rc) {
    for (int i = 0; i <= b.top; i++)
      free(b.st[i].key);
    free_node(b.root);
    free(b.file);
    return rc;
  }
  *out = b.root;
  return 0;
}

int swath_cfg_parse_string(const char *text, const char *name, swath_cfg **out) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return oom();
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
  int rc = parse(&parser, name, out);
  yaml_parser_delete(&parser);
  return rc;
}

int swath_cfg_read_file(const char *path, char **text) {
  *text = NULL;
  /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return swath_error_set(SWATH_EINVAL, "%s: cannot read: %s", path, strerror(errno));
  struct stat st;
  int rc = 0;
  if (fstat(fd, &st) != 0)
    rc = swath_error_set(SWATH_EINVAL, "%s: cannot read: %s", path, strerror(errno));
  else if (S_ISDIR(st.st_mode))
    rc = swath_error_set(SWATH_EINVAL, "%s: is a directory, not a YAML file", path);
  else if (!S_ISREG(st.st_mode))
    rc = swath_error_set(SWATH_EINVAL, "%s: not a regular file (a device, pipe or socket)", path);
  else if (st.st_size > SWATH_CFG_MAX_BYTES)
    rc = swath_error_set(SWATH_EINVAL,
                         "%s: %lld bytes, more than the %d bytes a config file may have", path,
                         (long long)st.st_size, SWATH_CFG_MAX_BYTES);
  /* Read one byte past the limit: the file may have grown since fstat. */
  char *buf = rc ? NULL : malloc(SWATH_CFG_MAX_BYTES + 2);
  if (!rc && !buf) rc = oom();
  size_t n = 0;
  while (!rc && n <= SWATH_CFG_MAX_BYTES) {
    ssize_t got = read(fd, buf + n, SWATH_CFG_MAX_BYTES + 1 - n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) rc = swath_error_set(SWATH_EINVAL, "%s: cannot read: %s", path, strerror(errno));
    if (got <= 0) break;
    n += (size_t)got;
  }
  close(fd);
  if (!rc && n > SWATH_CFG_MAX_BYTES)
    rc = swath_error_set(SWATH_EINVAL, "%s: more than the %d bytes a config file may have", path,
                         SWATH_CFG_MAX_BYTES);
  const char *nul = rc ? NULL : memchr(buf, '\0', n);
  if (nul) {
    int line = 1;
    for (const char *p = buf; p < nul; p++)
      line += *p == '\n';
    rc = swath_error_set(SWATH_EINVAL, "%s:%d: a NUL byte (a config file is UTF-8 text)", path,
                         line);
  }
  if (rc) {
    free(buf);
    return rc;
  }
  buf[n] = '\0';
  char *fit = realloc(buf, n + 1);
  *text = fit ? fit : buf;
  return 0;
}

int swath_cfg_parse_file(const char *path, swath_cfg **out) {
  char *text;
  *out = NULL;
  int rc = swath_cfg_read_file(path, &text);
  if (rc) return rc;
  rc = swath_cfg_parse_string(text, path, out);
  free(text);
  return rc;
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
    for (const char *const *a = allowed; *a; a++)
      ok |= strcmp(*a, map->keys[i]) == 0;
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
  if (!c || c->type != SWATH_CFG_SCALAR) return swath_cfg_error(c, "%s: expected a number", what);
  char *end = NULL;
  errno = 0;
  double v = strtod(c->value, &end);
  if (end == c->value || *end || errno || !isfinite(v))
    return swath_cfg_error(c, "%s: expected a number, got '%s'", what, c->value);
  *out = v;
  return 0;
}

int swath_cfg_int(const swath_cfg *c, const char *what, long lo, long hi, long *out) {
  if (!c || c->type != SWATH_CFG_SCALAR) return swath_cfg_error(c, "%s: expected an integer", what);
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
  if (!c || c->type != SWATH_CFG_SCALAR)
    return swath_cfg_error(c, "%s: expected true or false", what);
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
