/* secret.c: finding, redacting and restoring secrets; see secret.h for what
 * counts as one. One scanner (rewrite) walks a text once and hands every
 * secret value it finds to the current mode: replace it (redact), put the
 * job's value back (restore) or remember it (collect). Everything it does
 * not touch is copied byte for byte. */
#include "core/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/error.h"

static int exact(const char *s, size_t n, const char *w) {
  return n == strlen(w) && strncasecmp(s, w, n) == 0;
}

static int suffix(const char *s, size_t n, const char *w) {
  size_t m = strlen(w);
  return n >= m && strncasecmp(s + n - m, w, m) == 0;
}

static int prefix(const char *s, size_t n, const char *w) {
  size_t m = strlen(w);
  return n > m && strncasecmp(s, w, m) == 0;
}

int swath_secret_param(const char *name, size_t n) {
  static const char *const names[] = {"sig", "auth", "authorization", "passwd", "pwd", "app_code"};
  static const char *const endings[] = {"key",      "token",     "secret",
                                        "password", "signature", "credential"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (exact(name, n, names[i])) return 1;
  for (size_t i = 0; i < sizeof endings / sizeof *endings; i++)
    if (suffix(name, n, endings[i])) return 1;
  return prefix(name, n, "x-amz-") || prefix(name, n, "x-goog-");
}

/* ---- the scanner ---- */

typedef struct out_buf {
  char *p;
  size_t cap, n; /* n: the whole length, also past cap */
} out_buf;

static void put(out_buf *o, const char *s, size_t len) {
  if (o->n < o->cap) {
    size_t room = o->cap - 1 - o->n;
    memcpy(o->p + o->n, s, len < room ? len : room);
  }
  o->n += len;
}

enum mode { REDACT, RESTORE, COLLECT };

typedef struct rewriter {
  enum mode mode;
  const swath_secrets *secrets; /* RESTORE: where values come from */
  swath_secrets *found;         /* COLLECT: where they go */
  char missing[64];             /* RESTORE: a parameter without a value */
  int oom;
} rewriter;

static int add_secret(swath_secrets *s, const char *name, size_t nl, const char *value, size_t vl) {
  for (size_t i = 0; i < s->n; i++)
    if (exact(name, nl, s->names[i])) return 0; /* the first one given wins */
  char **nn = realloc(s->names, (s->n + 1) * sizeof *nn);
  if (nn) s->names = nn;
  char **vv = nn ? realloc(s->values, (s->n + 1) * sizeof *vv) : NULL;
  if (vv) s->values = vv;
  char *a = vv ? strndup(name, nl) : NULL, *b = a ? strndup(value, vl) : NULL;
  if (!b) {
    free(a);
    return -1;
  }
  s->names[s->n] = a;
  s->values[s->n++] = b;
  return 0;
}

static void on_value(rewriter *rw, out_buf *o, const char *name, size_t nl, const char *v,
                     size_t vl) {
  int redacted = exact(v, vl, SWATH_REDACTED);
  switch (rw->mode) {
  case REDACT:
    if (vl == 0 || redacted)
      put(o, v, vl);
    else
      put(o, SWATH_REDACTED, strlen(SWATH_REDACTED));
    return;
  case RESTORE:
    if (redacted)
      for (size_t i = 0; rw->secrets && i < rw->secrets->n; i++)
        if (exact(name, nl, rw->secrets->names[i])) {
          put(o, rw->secrets->values[i], strlen(rw->secrets->values[i]));
          return;
        }
    if (redacted && !rw->missing[0])
      snprintf(rw->missing, sizeof rw->missing, "%.*s", (int)(nl < 63 ? nl : 63), name);
    put(o, v, vl);
    return;
  case COLLECT:
    if (vl && !redacted && add_secret(rw->found, name, nl, v, vl)) rw->oom = 1;
    put(o, v, vl);
    return;
  }
}

static int name_char(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

/* Where a parameter name may start: a query's separators, and what comes
 * before a URL or a name=value in messages and markup. */
static int boundary(int c) { return c && strchr("?&; \t\r\n\"'(,", c) != NULL; }

static int value_end(int c) { return !c || strchr("&# \t\r\n\"'<>", c) != NULL; }

static size_t rewrite(const char *in, out_buf *o, rewriter *rw) {
  const char *p = in;
  int at_boundary = 1;
  while (*p) {
    if (at_boundary && name_char((unsigned char)*p)) {
      const char *q = p;
      while (name_char((unsigned char)*q))
        q++;
      if (*q == '=' && swath_secret_param(p, (size_t)(q - p))) {
        const char *v = q + 1, *e = v;
        while (!value_end((unsigned char)*e))
          e++;
        /* "...?key=K: HTTP 403" in a message: the colon is the message's. */
        if (e > v && e[-1] == ':' && *e == ' ') e--;
        put(o, p, (size_t)(v - p));
        on_value(rw, o, p, (size_t)(q - p), v, (size_t)(e - v));
        p = e;
        at_boundary = 0;
        continue;
      }
      put(o, p, (size_t)(q - p));
      p = q;
      at_boundary = 0;
      continue;
    }
    if (rw->mode == REDACT && p[0] == ':' && p[1] == '/' && p[2] == '/') {
      /* scheme://user:password@host */
      const char *a = p + 3, *e = a;
      while (*e && !strchr("/?#@ \t\r\n\"'<>", *e))
        e++;
      const char *colon = *e == '@' ? memchr(a, ':', (size_t)(e - a)) : NULL;
      if (colon && colon + 1 < e && !exact(colon + 1, (size_t)(e - colon - 1), SWATH_REDACTED)) {
        put(o, p, (size_t)(colon + 1 - p));
        put(o, SWATH_REDACTED "@", strlen(SWATH_REDACTED) + 1);
        p = e + 1;
        at_boundary = 0;
        continue;
      }
    }
    put(o, p, 1);
    at_boundary = boundary((unsigned char)*p);
    p++;
  }
  if (o->cap) o->p[o->n < o->cap ? o->n : o->cap - 1] = '\0';
  return o->n;
}

size_t swath_redact(const char *in, char *out, size_t cap) {
  out_buf o = {out, out ? cap : 0, 0};
  rewriter rw = {.mode = REDACT};
  return rewrite(in ? in : "", &o, &rw);
}

char *swath_redact_dup(const char *in) {
  if (!in) return NULL;
  size_t n = swath_redact(in, NULL, 0);
  char *s = malloc(n + 1);
  if (s) swath_redact(in, s, n + 1);
  return s;
}

/* ---- restore and collect ---- */

static int collect(const swath_cfg *c, const char *key, swath_secrets *s) {
  if (c->type == SWATH_CFG_SCALAR) {
    if (!c->value) return 0;
    if (key && swath_secret_param(key, strlen(key)))
      return add_secret(s, key, strlen(key), c->value, strlen(c->value)) ? SWATH_ENOMEM : 0;
    out_buf o = {NULL, 0, 0};
    rewriter rw = {.mode = COLLECT, .found = s};
    rewrite(c->value, &o, &rw);
    return rw.oom ? SWATH_ENOMEM : 0;
  }
  for (size_t i = 0; i < c->n; i++) {
    const char *k = c->type == SWATH_CFG_MAP ? c->keys[i] : NULL;
    if (k && strcmp(k, "headers") == 0) continue; /* not query parameters */
    int rc = collect(c->items[i], k, s);
    if (rc) return rc;
  }
  return 0;
}

int swath_secrets_collect(const swath_cfg *c, swath_secrets *out) {
  memset(out, 0, sizeof *out);
  int rc = c ? collect(c, NULL, out) : 0;
  if (rc) {
    swath_secrets_free(out);
    return swath_error_set(SWATH_ENOMEM, "out of memory");
  }
  return 0;
}

void swath_secrets_free(swath_secrets *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->names[i]);
    free(s->values[i]);
  }
  free(s->names);
  free(s->values);
  memset(s, 0, sizeof *s);
}

int swath_secrets_restore(const swath_secrets *s, const char *url, char **out) {
  rewriter rw = {.mode = RESTORE, .secrets = s};
  out_buf o = {NULL, 0, 0};
  size_t n = rewrite(url, &o, &rw);
  if (rw.missing[0]) {
    *out = NULL;
    return swath_error_set(SWATH_EINVAL,
                           "URL parameter '%s' was redacted and the job gives no value for it",
                           rw.missing);
  }
  o = (out_buf){malloc(n + 1), n + 1, 0};
  if (!o.p) return swath_error_set(SWATH_ENOMEM, "out of memory");
  rewrite(url, &o, &rw);
  *out = o.p;
  return 0;
}

/* ---- job files ---- */

typedef struct edit {
  size_t start, end; /* byte range of a scalar in the text */
  char *text;        /* its replacement */
} edit;

typedef struct frame {
  int map;        /* a mapping (else a sequence) */
  int expect_key; /* mapping: the next node is a key */
  int secret;     /* every scalar value inside is secret (under headers:) */
  char *key;      /* mapping: the key of the value being read */
} frame;

#define MAX_DEPTH 64

/* A YAML double-quoted scalar holding s. */
static char *yaml_quote(const char *s) {
  size_t n = 3;
  for (const char *p = s; *p; p++)
    n += (unsigned char)*p < 32 ? 4 : (*p == '"' || *p == '\\') ? 2 : 1;
  char *q = malloc(n), *w = q;
  if (!q) return NULL;
  *w++ = '"';
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p < 32)
      w += sprintf(w, "\\x%02x", *p);
    else {
      if (*p == '"' || *p == '\\') *w++ = '\\';
      *w++ = (char)*p;
    }
  }
  *w++ = '"';
  *w = '\0';
  return q;
}

/* libyaml's marks count characters; edits need bytes. */
static size_t byte_offset(const char *text, size_t len, size_t chars, size_t *cur_c,
                          size_t *cur_b) {
  while (*cur_c < chars && *cur_b < len) {
    (*cur_b)++;
    while (*cur_b < len && ((unsigned char)text[*cur_b] & 0xc0) == 0x80)
      (*cur_b)++;
    (*cur_c)++;
  }
  return *cur_b;
}

/* The replacement for a scalar value, or NULL to keep it (sets *oom). */
static char *scalar_edit(const frame *top, const char *value, int *oom) {
  int whole = top && (top->secret ||
                      (top->map && top->key && swath_secret_param(top->key, strlen(top->key))));
  if (whole) {
    if (!*value || strcmp(value, SWATH_REDACTED) == 0) return NULL;
    char *r = strdup(SWATH_REDACTED);
    if (!r) *oom = 1;
    return r;
  }
  char *red = swath_redact_dup(value);
  if (!red) {
    *oom = 1;
    return NULL;
  }
  char *r = NULL;
  if (strcmp(red, value) != 0 && !(r = yaml_quote(red))) *oom = 1;
  free(red);
  return r;
}

/* Find the edits (secret scalars) of a parsed text. 0, -1 if it does not
 * parse (or nests too deep), -2 if out of memory. */
static int find_edits(const char *text, size_t len, edit **edits, size_t *nedits) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return -2;
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  frame st[MAX_DEPTH];
  int depth = 0, rc = 0, oom = 0;
  size_t cur_c = 0, cur_b = 0, cap = 0;
  for (int done = 0; !done && !rc;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      rc = -1;
      break;
    }
    frame *top = depth ? &st[depth - 1] : NULL;
    int is_key = 0;
    if (top && top->map &&
        (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT ||
         ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)) {
      is_key = top->expect_key;
      top->expect_key = !top->expect_key;
      if (is_key) {
        free(top->key);
        top->key = NULL;
      }
    }
    switch (ev.type) {
    case YAML_SCALAR_EVENT: {
      const char *v = (const char *)ev.data.scalar.value;
      if (is_key) {
        if (!(top->key = strdup(v))) oom = 1;
        break;
      }
      char *r = scalar_edit(top, v, &oom);
      if (!r) break;
      if (*nedits == cap) {
        cap = cap ? 2 * cap : 8;
        edit *e = realloc(*edits, cap * sizeof *e);
        if (!e) {
          free(r);
          oom = 1;
          break;
        }
        *edits = e;
      }
      size_t s = byte_offset(text, len, ev.start_mark.index, &cur_c, &cur_b);
      size_t e = byte_offset(text, len, ev.end_mark.index, &cur_c, &cur_b);
      (*edits)[(*nedits)++] = (edit){s, e, r};
      break;
    }
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
      if (depth == MAX_DEPTH) {
        rc = -1;
        break;
      }
      st[depth] = (frame){.map = ev.type == YAML_MAPPING_START_EVENT,
                          .expect_key = 1,
                          .secret = top && (top->secret || (top->map && !is_key && top->key &&
                                                            strcmp(top->key, "headers") == 0))};
      depth++;
      break;
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
      if (depth) free(st[--depth].key);
      break;
    case YAML_STREAM_END_EVENT:
      done = 1;
      break;
    default:
      break;
    }
    yaml_event_delete(&ev);
    if (oom) rc = -2;
  }
  while (depth)
    free(st[--depth].key);
  yaml_parser_delete(&parser);
  return rc;
}

char *swath_redact_yaml(const char *text) {
  if (!text) return NULL;
  size_t len = strlen(text);
  edit *edits = NULL;
  size_t n = 0;
  int rc = find_edits(text, len, &edits, &n);
  char *out = NULL;
  if (rc == -1) {
    out = swath_redact_dup(text);
  } else if (rc == 0) {
    size_t size = len + 1;
    for (size_t i = 0; i < n; i++)
      size += strlen(edits[i].text);
    out = malloc(size);
    if (out) {
      /* Edits come in document order and never overlap. */
      size_t w = 0, r = 0;
      for (size_t i = 0; i < n; i++) {
        memcpy(out + w, text + r, edits[i].start - r);
        w += edits[i].start - r;
        size_t m = strlen(edits[i].text);
        memcpy(out + w, edits[i].text, m);
        w += m;
        r = edits[i].end;
      }
      memcpy(out + w, text + r, len - r);
      out[w + len - r] = '\0';
    }
  }
  for (size_t i = 0; i < n; i++)
    free(edits[i].text);
  free(edits);
  return out;
}
