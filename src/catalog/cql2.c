/* cql2.c: filters. CQL2-JSON expressions (and, or, not, =, <>, <, <=, >,
 * >=, between, in, like, isNull) and the STAC query extension ({"prop":
 * {"lt": 20}}) become SQL over the items table, with every literal bound as
 * a parameter (never pasted into the SQL text).
 *
 * Only the queryable properties below can be named; their types are
 * checked (a number compared with a string is a 400, not an empty result).
 * Datetime literals are {"timestamp": ...}, {"date": ...} or plain RFC 3339
 * strings. Either side of a comparison may be a literal (basic CQL2).
 *
 * NULL follows basic CQL2: a property an item does not have is NULL (no
 * cloud cover, no colour statistics, no start_datetime, datetime: null),
 * and SQL's three-valued logic gives what CQL2 asks: a comparison with
 * NULL is unknown, `not` of unknown is unknown, and an item is selected
 * only when the filter is true (`in` is only ever true or false, as CQL2
 * says). The time columns are never NULL (they
 * index and sort every item), so their filter expressions consult the
 * item's kind flags (SWATH_SCENE_NO_DATETIME, ...).
 *
 * `like` is case-sensitive with %, _ (one character) and \ escaping them
 * and itself: the pattern becomes an SQLite GLOB pattern (case-sensitive,
 * ? one UTF-8 character), its own wildcards * ? [ put in brackets. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "core/error.h"

static const struct prop {
  const char *name, *sql, *desc;
  char type;        /* n number, t text, d datetime */
  const char *fsql; /* in filters, when it differs from sql: NULL where unset */
} PROPS[] = {
    {"id", "i.id", "Item id", 't', NULL},
    {"collection", "i.collection", "Collection id", 't', NULL},
    {"datetime", "i.dt", "Acquisition time", 'd',
     "(CASE WHEN i.kind & 16 THEN NULL ELSE i.dt END)"},
    {"start_datetime", "i.dt0", "Start of the acquisition interval", 'd',
     "(CASE WHEN i.kind & 32 THEN i.dt0 END)"},
    {"end_datetime", "i.dt1", "End of the acquisition interval", 'd',
     "(CASE WHEN i.kind & 64 THEN i.dt1 END)"},
    {"eo:cloud_cover", "i.cloud", "Cloud cover, percent", 'n', NULL},
    {"color:red", "i.red", "Mean red (8-bit scale)", 'n', NULL},
    {"color:green", "i.green", "Mean green (8-bit scale)", 'n', NULL},
    {"color:blue", "i.blue", "Mean blue (8-bit scale)", 'n', NULL},
    {"color:brightness", "i.bright", "Mean of the red, green and blue means", 'n', NULL},
    {"color:method", "i.cmethod",
     "How colour statistics were computed (exact, step:N, "
     "overview:N)",
     't', NULL},
    {"color:pixels", "i.cpixels", "Pixels the colour statistics averaged", 'n', NULL},
    {"color:source", "i.csource",
     "Asset the colour statistics were read from (TCI, B04,B03,B02, "
     "data:1,2,3...)",
     't', NULL},
};
_Static_assert(SWATH_SCENE_NO_DATETIME == 16 && SWATH_SCENE_HAS_START == 32 &&
                   SWATH_SCENE_HAS_END == 64,
               "the filter SQL of the time properties spells the kind flags out");
#define NPROPS (sizeof PROPS / sizeof *PROPS)

const char *swath__property_sql(const char *name, char *type, const char **canonical) {
  if (strncmp(name, "properties.", 11) == 0) name += 11;
  char buf[64];
  if (strncmp(name, "color.", 6) == 0 && strlen(name) < sizeof buf) {
    snprintf(buf, sizeof buf, "color:%s", name + 6);
    name = buf;
  }
  for (size_t k = 0; k < NPROPS; k++)
    if (strcmp(name, PROPS[k].name) == 0) {
      if (type) *type = PROPS[k].type;
      if (canonical) *canonical = PROPS[k].name;
      return PROPS[k].sql;
    }
  return NULL;
}

/* The SQL of a property in a filter (NULL where the item does not have
 * it), its type, or NULL if it is not queryable. */
static const char *filter_sql(const char *name, char *type) {
  const char *canonical;
  if (!swath__property_sql(name, type, &canonical)) return NULL;
  for (size_t k = 0; k < NPROPS; k++)
    if (PROPS[k].name == canonical) return PROPS[k].fsql ? PROPS[k].fsql : PROPS[k].sql;
  return NULL;
}

json_t *swath_catalog_queryables(void) {
  json_t *props = json_object();
  for (size_t k = 0; k < NPROPS; k++) {
    json_t *p = json_pack("{s:s}", "description", PROPS[k].desc);
    if (PROPS[k].type == 'd') {
      json_object_set_new(p, "type", json_string("string"));
      json_object_set_new(p, "format", json_string("date-time"));
    } else {
      json_object_set_new(p, "type", json_string(PROPS[k].type == 'n' ? "number" : "string"));
    }
    json_object_set_new(props, PROPS[k].name, p);
  }
  return json_pack("{s:s, s:s, s:s, s:o, s:b}", "$schema",
                   "https://json-schema.org/draft/2019-09/schema", "type", "object", "title",
                   "Queryables", "properties", props, "additionalProperties", 0);
}

static int unknown_prop(const char *what, const char *name) {
  char list[600] = "";
  for (size_t k = 0; k < NPROPS; k++) {
    strcat(list, k ? ", " : "");
    strcat(list, PROPS[k].name);
  }
  return swath_error_set(SWATH_EINVAL, "%s: property '%s' is not queryable (queryables: %s)", what,
                         name, list);
}

static const char SUPPORTED[] =
    "supported: and, or, not, =, <>, <, <=, >, >=, between, in, like, isNull";

/* A datetime literal bound as a parameter: its millisecond, or half a
 * millisecond past it for an instant between two milliseconds (items hold
 * whole milliseconds, so every comparison then comes out as with the exact
 * instant, instead of taking in the item on the millisecond below it). */
static int time_literal(const char *s, const char *what, const char *prop, swath__sql *out) {
  int64_t ms;
  int32_t sub;
  char w[96];
  snprintf(w, sizeof w, "%s: %s", what, prop);
  int rc = swath_time_parse_ns(s, 0, w, &ms, &sub);
  if (rc) return rc;
  if (sub)
    swath__sql_double(out, (double)ms + 0.5);
  else
    swath__sql_int(out, ms);
  return 0;
}

/* A literal of type `type` (n, t, d, or b: boolean), appended as a bound
 * parameter; `prop` names what it is compared with, for messages. */
static int literal(const json_t *v, char type, const char *prop, const char *what,
                   swath__sql *out) {
  if (type == 'n') {
    if (!json_is_number(v))
      return swath_error_set(SWATH_EINVAL, "%s: '%s' is a number, compared with a non-number", what,
                             prop);
    swath__sql_double(out, json_number_value(v));
    return 0;
  }
  if (type == 't') {
    if (!json_is_string(v))
      return swath_error_set(SWATH_EINVAL, "%s: '%s' is a string, compared with a non-string", what,
                             prop);
    swath__sql_text(out, json_string_value(v));
    return 0;
  }
  if (type == 'b') {
    if (!json_is_boolean(v))
      return swath_error_set(SWATH_EINVAL, "%s: '%s' is a boolean, compared with a non-boolean",
                             what, prop);
    swath__sql_int(out, json_is_true(v));
    return 0;
  }
  const char *s = NULL;
  if (json_is_string(v))
    s = json_string_value(v);
  else if (json_is_object(v))
    s = json_string_value(json_object_get(v, "timestamp"))
            ? json_string_value(json_object_get(v, "timestamp"))
            : json_string_value(json_object_get(v, "date"));
  if (!s)
    return swath_error_set(SWATH_EINVAL,
                           "%s: '%s' is a datetime, compared with something that "
                           "is not {\"timestamp\": ...}",
                           what, prop);
  return time_literal(s, what, prop, out);
}

/* One argument of a comparison: a queryable property or a literal. */
struct operand {
  const json_t *v;
  const char *prop; /* the property's name; NULL for a literal */
  const char *sql;  /* the property's filter SQL */
  char type;        /* n, t, d, b; 's' for a literal string (text or datetime) */
};

static int operand(const json_t *v, const char *what, struct operand *o) {
  memset(o, 0, sizeof *o);
  o->v = v;
  json_t *p = json_is_object(v) ? json_object_get(v, "property") : NULL;
  if (p) {
    if (!json_is_string(p))
      return swath_error_set(SWATH_EINVAL, "%s: \"property\" must be a string", what);
    o->prop = json_string_value(p);
    o->sql = filter_sql(o->prop, &o->type);
    return o->sql ? 0 : unknown_prop(what, o->prop);
  }
  const char *op = json_is_object(v) ? json_string_value(json_object_get(v, "op")) : NULL;
  if (json_is_number(v))
    o->type = 'n';
  else if (json_is_string(v))
    o->type = 's';
  else if (json_is_boolean(v))
    o->type = 'b';
  else if (json_is_object(v) && (json_object_get(v, "timestamp") || json_object_get(v, "date")))
    o->type = 'd';
  else if (op)
    return swath_error_set(SWATH_EINVAL, "%s: operator '%s' is not supported (%s)", what, op,
                           SUPPORTED);
  else
    return swath_error_set(SWATH_EINVAL,
                           "%s: an argument is %s; expected a {\"property\": ...}, a number, a "
                           "string, a boolean, {\"timestamp\": ...} or {\"date\": ...} (spatial, "
                           "temporal and array literals are not supported)",
                           what,
                           json_is_array(v)    ? "an array"
                           : json_is_null(v)   ? "null"
                           : json_is_object(v) ? "an object of another kind"
                                               : "of another kind");
  return 0;
}

/* The type n operands are compared as: their properties' (which must
 * agree), else the literals' own (a string with a datetime is a datetime).
 * *label: what messages name. */
static int common_type(const struct operand *o, size_t n, const char *what, char *type,
                       const char **label) {
  char t = 0;
  *label = "the literal";
  for (size_t k = 0; k < n; k++) {
    if (!o[k].prop) continue;
    if (t && o[k].type != t)
      return swath_error_set(SWATH_EINVAL, "%s: '%s' and '%s' have different types", what, *label,
                             o[k].prop);
    t = o[k].type;
    *label = o[k].prop;
  }
  for (size_t k = 0; !t && k < n; k++)
    if (o[k].type == 'd') t = 'd';
  if (!t) t = o[0].type == 's' ? 't' : o[0].type;
  *type = t;
  return 0;
}

static int emit(const struct operand *o, char type, const char *label, const char *what,
                swath__sql *out) {
  if (o->prop) {
    swath__sql_add(out, "%s", o->sql);
    return 0;
  }
  return literal(o->v, type, label, what, out);
}

/* A op B, B BETWEEN lo AND hi: the n args, compared as one type. */
static int compare(const char *op, const json_t *args, const char *what, swath__sql *out) {
  size_t n = json_array_size(args);
  struct operand o[3];
  char type;
  const char *label;
  int rc = 0;
  for (size_t k = 0; k < n && !rc; k++)
    rc = operand(json_array_get(args, k), what, &o[k]);
  if (rc || (rc = common_type(o, n, what, &type, &label))) return rc;
  swath__sql_add(out, "(");
  rc = emit(&o[0], type, label, what, out);
  if (n == 2) {
    swath__sql_add(out, " %s ", op);
    if (!rc) rc = emit(&o[1], type, label, what, out);
  } else {
    swath__sql_add(out, " BETWEEN ");
    if (!rc) rc = emit(&o[1], type, label, what, out);
    swath__sql_add(out, " AND ");
    if (!rc) rc = emit(&o[2], type, label, what, out);
  }
  swath__sql_add(out, ")");
  return rc;
}

/* A IN (list): true when A equals a value of the list, else false, also
 * when A is NULL (CQL2's in-predicate has no unknown: /req/advanced-
 * comparison-operators/in-predicate A); an empty list holds nothing. */
static int in_list(const json_t *args, const char *what, swath__sql *out) {
  const json_t *list = json_array_get(args, 1);
  if (json_array_size(args) != 2 || !json_is_array(list))
    return swath_error_set(SWATH_EINVAL, "%s: 'in' needs a value and an array", what);
  size_t n = json_array_size(list) + 1;
  struct operand *o = malloc(n * sizeof *o);
  if (!o) return swath_error_set(SWATH_ENOMEM, "%s: out of memory", what);
  int rc = operand(json_array_get(args, 0), what, &o[0]);
  for (size_t k = 1; k < n && !rc; k++)
    rc = operand(json_array_get(list, k - 1), what, &o[k]);
  char type;
  const char *label;
  if (!rc && !(rc = common_type(o, n, what, &type, &label))) {
    if (n == 1) {
      swath__sql_add(out, "0");
    } else {
      swath__sql_add(out, "coalesce(");
      rc = emit(&o[0], type, label, what, out);
      swath__sql_add(out, " IN (");
      for (size_t k = 1; k < n && !rc; k++) {
        if (k > 1) swath__sql_add(out, ", ");
        rc = emit(&o[k], type, label, what, out);
      }
      swath__sql_add(out, "), 0)");
    }
  }
  free(o);
  return rc;
}

/* A CQL2 like pattern as an SQLite GLOB pattern (malloc'd), or NULL with
 * the error set. */
static char *like_glob(const char *pat, const char *what) {
  char *g = malloc(3 * strlen(pat) + 1), *o = g;
  if (!g) {
    swath_error_set(SWATH_ENOMEM, "%s: out of memory", what);
    return NULL;
  }
  for (const char *p = pat; *p; p++) {
    char c = *p;
    if (c == '%' || c == '_') {
      *o++ = c == '%' ? '*' : '?';
      continue;
    }
    if (c == '\\' && !(c = *++p)) {
      free(g);
      swath_error_set(SWATH_EINVAL,
                      "%s: like: the pattern '%s' ends with a lone escape character (\\\\ is a "
                      "backslash, \\%% a percent sign, \\_ an underscore)",
                      what, pat);
      return NULL;
    }
    if (c == '*' || c == '?' || c == '[') {
      *o++ = '[', *o++ = c, *o++ = ']';
    } else {
      *o++ = c;
    }
  }
  *o = '\0';
  return g;
}

static int like(const json_t *args, const char *what, swath__sql *out) {
  struct operand o;
  const json_t *pat = json_array_get(args, 1);
  int rc = operand(json_array_get(args, 0), what, &o);
  if (rc) return rc;
  if (json_array_size(args) != 2 || (o.type != 't' && o.type != 's') || !json_is_string(pat))
    return swath_error_set(SWATH_EINVAL,
                           "%s: 'like' needs a string property and a pattern (a string)", what);
  char *glob = like_glob(json_string_value(pat), what);
  if (!glob) return SWATH_EINVAL;
  swath__sql_add(out, "(");
  rc = emit(&o, 't', o.prop ? o.prop : "the literal", what, out);
  swath__sql_add(out, " GLOB ");
  swath__sql_text(out, glob);
  swath__sql_add(out, ")");
  free(glob);
  return rc;
}

static int expr(const json_t *e, const char *what, int depth, swath__sql *out) {
  if (depth > 32) return swath_error_set(SWATH_EINVAL, "%s: expression nested too deeply", what);
  if (json_is_true(e)) {
    swath__sql_add(out, "1");
    return 0;
  }
  if (json_is_false(e)) {
    swath__sql_add(out, "0");
    return 0;
  }
  if (!json_is_object(e))
    return swath_error_set(SWATH_EINVAL, "%s: expected an object with \"op\" and \"args\"", what);
  const char *op = json_string_value(json_object_get(e, "op"));
  json_t *args = json_object_get(e, "args");
  if (!op || !json_is_array(args))
    return swath_error_set(SWATH_EINVAL, "%s: expected an object with \"op\" and \"args\"", what);
  size_t n = json_array_size(args);
  int rc = 0;
  if (!strcmp(op, "and") || !strcmp(op, "or")) {
    if (n < 2) return swath_error_set(SWATH_EINVAL, "%s: '%s' needs two or more args", what, op);
    swath__sql_add(out, "(");
    for (size_t k = 0; k < n && !rc; k++) {
      if (k) swath__sql_add(out, " %s ", !strcmp(op, "and") ? "AND" : "OR");
      rc = expr(json_array_get(args, k), what, depth + 1, out);
    }
    swath__sql_add(out, ")");
    return rc;
  }
  if (!strcmp(op, "not")) {
    if (n != 1) return swath_error_set(SWATH_EINVAL, "%s: 'not' needs one arg", what);
    swath__sql_add(out, "(NOT ");
    rc = expr(json_array_get(args, 0), what, depth + 1, out);
    swath__sql_add(out, ")");
    return rc;
  }
  static const char *const cmp[] = {"=", "<>", "<", "<=", ">", ">=", NULL};
  for (int k = 0; cmp[k]; k++)
    if (!strcmp(op, cmp[k])) {
      if (n != 2) return swath_error_set(SWATH_EINVAL, "%s: '%s' needs two args", what, op);
      return compare(op, args, what, out);
    }
  if (!strcmp(op, "between")) {
    if (n != 3) return swath_error_set(SWATH_EINVAL, "%s: 'between' needs three args", what);
    return compare(op, args, what, out);
  }
  if (!strcmp(op, "in")) return in_list(args, what, out);
  if (!strcmp(op, "like")) return like(args, what, out);
  if (!strcmp(op, "isNull")) {
    struct operand o;
    if (n != 1) return swath_error_set(SWATH_EINVAL, "%s: 'isNull' needs one arg", what);
    if ((rc = operand(json_array_get(args, 0), what, &o))) return rc;
    if (o.prop)
      swath__sql_add(out, "(%s IS NULL)", o.sql);
    else
      swath__sql_add(out, "0"); /* a literal is never null */
    return 0;
  }
  return swath_error_set(SWATH_EINVAL, "%s: operator '%s' is not supported (%s)", what, op,
                         SUPPORTED);
}

int swath__cql2_sql(const json_t *e, const char *what, swath__sql *out) {
  return expr(e, what, 0, out);
}

int swath__query_ext_sql(const json_t *query, const char *what, swath__sql *out) {
  static const struct {
    const char *name, *op;
  } OPS[] = {{"eq", "="}, {"neq", "<>"}, {"lt", "<"}, {"lte", "<="},
             {"gt", ">"}, {"gte", ">="}, {NULL, NULL}};
  if (!json_is_object(query))
    return swath_error_set(SWATH_EINVAL,
                           "%s: expected an object like {\"eo:cloud_cover\": "
                           "{\"lt\": 20}}",
                           what);
  const char *key;
  json_t *ops;
  int first = 1, rc = 0;
  swath__sql_add(out, "(1");
  json_object_foreach((json_t *)query, key, ops) {
    char type;
    const char *col = filter_sql(key, &type);
    if (!col) return unknown_prop(what, key);
    if (!json_is_object(ops) || json_object_size(ops) == 0)
      return swath_error_set(SWATH_EINVAL,
                             "%s: '%s' needs an object of operators (eq, neq, lt, "
                             "lte, gt, gte, in, startsWith)",
                             what, key);
    const char *opname;
    json_t *v;
    json_object_foreach(ops, opname, v) {
      const char *op = NULL;
      for (int k = 0; OPS[k].name; k++)
        if (!strcmp(opname, OPS[k].name)) op = OPS[k].op;
      swath__sql_add(out, " AND ");
      if (op) {
        swath__sql_add(out, "(%s %s ", col, op);
        rc = literal(v, type, key, what, out);
        swath__sql_add(out, ")");
      } else if (!strcmp(opname, "in")) {
        if (!json_is_array(v) || json_array_size(v) == 0)
          return swath_error_set(SWATH_EINVAL, "%s: '%s'.in needs a non-empty array", what, key);
        swath__sql_add(out, "(%s IN (", col);
        for (size_t k = 0; k < json_array_size(v) && !rc; k++) {
          if (k) swath__sql_add(out, ", ");
          rc = literal(json_array_get(v, k), type, key, what, out);
        }
        swath__sql_add(out, "))");
      } else if (!strcmp(opname, "startsWith") && type == 't' && json_is_string(v)) {
        swath__sql_add(out, "(substr(%s, 1, length(", col);
        swath__sql_text(out, json_string_value(v));
        swath__sql_add(out, ")) = ");
        swath__sql_text(out, json_string_value(v));
        swath__sql_add(out, ")");
      } else {
        return swath_error_set(SWATH_EINVAL,
                               "%s: '%s': operator '%s' is not supported (eq, neq, "
                               "lt, lte, gt, gte, in, startsWith)",
                               what, key, opname);
      }
      if (rc) return rc;
    }
    first = 0;
  }
  (void)first;
  swath__sql_add(out, ")");
  return rc;
}
