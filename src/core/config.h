/* config.h: a YAML (or JSON, which YAML includes) document as a small tree of
 * maps, sequences and scalars that remembers line numbers, so every config
 * error can say where it is. Parsing is libyaml's; this file only builds the
 * tree and offers typed getters whose errors name the key and the line. */
#ifndef SWATH_CORE_CONFIG_H
#define SWATH_CORE_CONFIG_H

#include <stddef.h>

typedef enum swath_cfg_type { SWATH_CFG_SCALAR, SWATH_CFG_MAP, SWATH_CFG_SEQ } swath_cfg_type;

typedef struct swath_cfg swath_cfg;
struct swath_cfg {
  swath_cfg_type type;
  int line;    /* 1-based line of the node in the source */
  int quoted;  /* scalar was quoted (so "1" is a string, not a number) */
  char *value; /* scalar text */
  size_t n;    /* children (map entries or sequence items) */
  char **keys; /* map keys, n of them */
  swath_cfg **items;
  const char *file; /* source name for messages; owned by the root */
};

/* Limits on what a config may be (docs/config.md): collections nested at
 * most this deep, files at most this many bytes. */
#define SWATH_CFG_MAX_DEPTH 64
#define SWATH_CFG_MAX_BYTES (1 << 20)

/* Parse a file; errors are "job.yaml:12: YAML syntax error: <why>". YAML
 * aliases, non-scalar or repeated keys and deeper nesting are refused. */
int swath_cfg_parse_file(const char *path, swath_cfg **out);
int swath_cfg_parse_string(const char *text, const char *name, swath_cfg **out);
/* The text of a config file (caller frees): a regular file of at most
 * SWATH_CFG_MAX_BYTES without NUL bytes. Directories, devices, pipes and
 * larger files are SWATH_EINVAL with one line naming the path. */
int swath_cfg_read_file(const char *path, char **text);
void swath_cfg_free(swath_cfg *c);

/* Child of a map by key, or NULL. */
const swath_cfg *swath_cfg_get(const swath_cfg *map, const char *key);
/* SWATH_EINVAL "file:line: unknown key 'k' in <where> (expected: a, b, c)"
 * for the first key of `map` not in the NULL-terminated `allowed`. */
int swath_cfg_check_keys(const swath_cfg *map, const char *where, const char *const *allowed);

/* Typed reads of a scalar node; `what` names it in messages. */
int swath_cfg_string(const swath_cfg *c, const char *what, const char **out);
int swath_cfg_double(const swath_cfg *c, const char *what, double *out);
int swath_cfg_int(const swath_cfg *c, const char *what, long lo, long hi, long *out);
int swath_cfg_bool(const swath_cfg *c, const char *what, int *out);
/* A sequence of exactly `n` numbers (n == 0: any length up to max). */
int swath_cfg_doubles(const swath_cfg *c, const char *what, double *out, size_t n);

/* Set an error "file:line: <what>: <msg>" located at node c. */
int swath_cfg_error(const swath_cfg *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
