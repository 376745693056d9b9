/* cql2.c: filters. CQL2-JSON expressions (and, or, not, =, <>, <, <=, >,
 * >=, between, in, like, isNull) and the STAC query extension ({"prop":
 * {"lt": 20}}) become SQL over the items table, with every literal bound as
 * a parameter (never pasted into the SQL text).
 *
 * Only the queryable properties below can be named; their types are
 * checked (a number compared with a string is a 400, not an empty result).
 * Datetime literals are {"timestamp": ...}, {"date": ...} or plain RFC 3339
 * strings. Comparisons with an unknown value (no cloud cover, no colour
 * statistics) are false, as in SQL. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_int.h"
#include "core/error.h"

static const struct prop {
  const char *name, *sql, *desc;
  char type; /* n number, t text, d datetime */
} PROPS[] = {
    {"id", "i.id", "Item id", 't'},
    {"collection", "i.collection", "Collection id", 't'},
    {"datetime", "i.dt", "Acquisition time", 'd'},
    {"start_datetime", "i.dt0", "Start of the acquisition interval", 'd'},
    {"end_datetime", "i.dt1", "End of the acquisition interval", 'd'},
    {"eo:cloud_cover", "i.cloud", "Cloud cover, percent", 'n'},
    {"color:red", "i.red", "Mean red (8-bit scale)", 'n'},
    {"color:green", "i.green", "Mean green (8-bit scale)", 'n'},
    {"color:blue", "i.blue", "Mean blue (8-bit scale)", 'n'},
    {"color:brightness", "i.bright", "Mean of the red, green and blue means", 'n'},
    {"color:method", "i.cmethod",
     "How colour statistics were computed (exact, step:N, "
     "overview:N)",
     't'},
    {"color:pixels", "i.cpixels", "Pixels the colour statistics averaged", 'n'},
    {"color:source", "i.csource",
     "Asset the colour statistics were read from (TCI, B04,B03,B02, "
     "data:1,2,3...)",
     't'},
};
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

/* A literal of the property's type, appended as a bound parameter. */
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
  int64_t ms;
  char w[96];
  snprintf(w, sizeof w, "%s: %s", what, prop);
  int rc = swath_time_parse(s, 0, w, &ms);
  if (rc) return rc;
  swath__sql_int(out, ms);
  return 0;
}

static const char *prop_of(const json_t *v) {
  return json_is_object(v) ? json_string_value(json_object_get(v, "property")) : NULL;
}

static const char *flip(const char *op) {
  if (!strcmp(op, "<")) return ">";
  if (!strcmp(op, ">")) return "<";
  if (!strcmp(op, "<=")) return ">=";
  if (!strcmp(op, ">=")) return "<=";
  return op;
}

/* prop OP literal (either side), or prop OP prop of the same type. */
static int comparison(const char *op, const json_t *a, const json_t *b, const char *what,
                      swath__sql *out) {
  const char *pa = prop_of(a), *pb = prop_of(b);
  if (!pa && pb) {
    const json_t *t = a;
    a = b, b = t, pa = pb, pb = NULL;
    op = flip(op);
  }
  if (!pa)
    return swath_error_set(SWATH_EINVAL, "%s: '%s' needs a {\"property\": ...} argument", what, op);
  char ta, tb;
  const char *sa = swath__property_sql(pa, &ta, NULL);
  if (!sa) return unknown_prop(what, pa);
  if (pb) {
    const char *sb = swath__property_sql(pb, &tb, NULL);
    if (!sb) return unknown_prop(what, pb);
    if ((ta == 'n') != (tb == 'n') || (ta == 'd') != (tb == 'd'))
      return swath_error_set(SWATH_EINVAL, "%s: '%s' and '%s' have different types", what, pa, pb);
    swath__sql_add(out, "(%s %s %s)", sa, op, sb);
    return 0;
  }
  /* <> keeps SQL's null rule: an unknown value is not "different". */
  swath__sql_add(out, "(%s %s ", sa, op);
  int rc = literal(b, ta, pa, what, out);
  swath__sql_add(out, ")");
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
      return comparison(op, json_array_get(args, 0), json_array_get(args, 1), what, out);
    }
  const char *p = n ? prop_of(json_array_get(args, 0)) : NULL;
  char type;
  const char *col = p ? swath__property_sql(p, &type, NULL) : NULL;
  if (!strcmp(op, "isNull") || !strcmp(op, "between") || !strcmp(op, "in") || !strcmp(op, "like")) {
    if (!p)
      return swath_error_set(SWATH_EINVAL, "%s: '%s' needs a {\"property\": ...} first", what, op);
    if (!col) return unknown_prop(what, p);
  }
  if (!strcmp(op, "isNull")) {
    if (n != 1) return swath_error_set(SWATH_EINVAL, "%s: 'isNull' needs one arg", what);
    swath__sql_add(out, "(%s IS NULL)", col);
    return 0;
  }
  if (!strcmp(op, "between")) {
    if (n != 3) return swath_error_set(SWATH_EINVAL, "%s: 'between' needs three args", what);
    swath__sql_add(out, "(%s BETWEEN ", col);
    if (!(rc = literal(json_array_get(args, 1), type, p, what, out))) {
      swath__sql_add(out, " AND ");
      rc = literal(json_array_get(args, 2), type, p, what, out);
    }
    swath__sql_add(out, ")");
    return rc;
  }
  if (!strcmp(op, "in")) {
    json_t *list = json_array_get(args, 1);
    if (n != 2 || !json_is_array(list) || json_array_size(list) == 0)
      return swath_error_set(SWATH_EINVAL, "%s: 'in' needs a property and a non-empty array", what);
    swath__sql_add(out, "(%s IN (", col);
    for (size_t k = 0; k < json_array_size(list) && !rc; k++) {
      if (k) swath__sql_add(out, ", ");
      rc = literal(json_array_get(list, k), type, p, what, out);
    }
    swath__sql_add(out, "))");
    return rc;
  }
  if (!strcmp(op, "like")) {
    if (n != 2 || type != 't')
      return swath_error_set(SWATH_EINVAL, "%s: 'like' needs a string property and a pattern",
                             what);
    swath__sql_add(out, "(%s LIKE ", col);
    rc = literal(json_array_get(args, 1), 't', p, what, out);
    swath__sql_add(out, ")");
    return rc;
  }
  return swath_error_set(SWATH_EINVAL,
                         "%s: operator '%s' is not supported (supported: and, or, not, =, <>, <, "
                         "<=, >, >=, between, in, like, isNull)",
                         what, op);
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
    const char *col = swath__property_sql(key, &type, NULL);
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
