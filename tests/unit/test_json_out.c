/* test_json_out.c: swath_json_write against its oracle, jansson's own
 * compact dump (json_dumps with JSON_COMPACT | JSON_REAL_PRECISION(p)):
 *   - byte-equal text for hand-picked values (escapes, UTF-8, keys that
 *     need escaping or hold a NUL, empty containers, reals that print as
 *     integers, exponents, -0.0, integer limits) and for thousands of random
 *     trees, at precisions 15 and 17;
 *   - control characters other than \b \f \n \r \t: the same characters,
 *     escaped with lower-case hex (the documented difference);
 *   - a value nested deeper than yajl allows is still written (by jansson);
 *   - a failing callback makes the call fail; the text is handed over in
 *     one call, whole;
 *   - swath_jtext: the same random trees, written piece by piece with its
 *     functions, give swath_json_write's bytes;
 *   - at SWATH_JSON_DIGITS every real reads back as the same double, with
 *     no significant digit more than needed (chosen values, 100,000 random
 *     bit patterns and 100,000 random decimals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_out.h"

struct buf {
  char *p;
  size_t len, cap;
  int calls, fail_at;
};

static int append(const char *s, size_t n, void *data) {
  struct buf *b = data;
  b->calls++;
  if (b->fail_at && b->calls >= b->fail_at) return -1;
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
  return 0;
}

/* swath_json_write's text (malloc'd). */
static char *ours(const json_t *v, int precision) {
  struct buf b = {0};
  assert_int_equal(swath_json_write(v, precision, append, &b), 0);
  return b.p ? b.p : strdup("");
}

static void assert_same(const json_t *v, int precision) {
  char *want = json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(precision));
  char *got = ours(v, precision);
  assert_non_null(want);
  assert_string_equal(got, want);
  free(want);
  free(got);
}

static void test_chosen_values(void **state) {
  (void)state;
  json_t *o = json_object();
  json_object_set_new(o, "plain", json_string("abc"));
  json_object_set_new(o, "escapes", json_string("quote \" backslash \\ slash / \b\f\n\r\t end"));
  json_object_set_new(o, "utf8", json_string("Zürich – 東京 😀"));
  json_object_set_new(o, "empty", json_string(""));
  json_object_set_new(o, "ke\"y\\", json_true());
  json_object_set_new(o, "", json_false());
  json_object_setn_new(o, "nul\0key", 7, json_null());
  json_object_set_new(o, "nul in value", json_stringn("a\0b", 3));
  json_object_set_new(o, "edges", json_string("\x1f \x20 \x7f ! # [ ] ~"));
  /* clean strings go out whole up to a length, escaped by yajl beyond it;
   * an escape at the end of a long string is still found */
  static const size_t lens[] = {2045, 2046, 2047, 5000};
  for (int k = 0; k < 4; k++) {
    char key[16], *t = malloc(lens[k] + 1);
    memset(t, 'h', lens[k]);
    t[lens[k]] = '\0';
    snprintf(key, sizeof key, "long%zu", lens[k]);
    json_object_set_new(o, key, json_string(t));
    t[lens[k] - 1] = '"';
    snprintf(key, sizeof key, "quote%zu", lens[k]);
    json_object_set_new(o, key, json_string(t));
    t[lens[k] - 1] = '\n';
    snprintf(key, sizeof key, "nl%zu", lens[k]);
    json_object_set_new(o, key, json_string(t));
    free(t);
  }
  json_object_set_new(o, "obj", json_object());
  json_object_set_new(o, "arr", json_array());
  json_t *reals = json_array();
  double rs[] = {0.0,
                 -0.0,
                 1.0,
                 -1.0,
                 0.1,
                 1.5,
                 10.4381,
                 54.281584,
                 97.085,
                 1e20,
                 1e21,
                 1.5e-7,
                 -2.5e-300,
                 1.7976931348623157e308,
                 4.9e-324,
                 123456789012345678.0,
                 3.14159265358979,
                 1e15,
                 1e16,
                 1e17};
  for (size_t i = 0; i < sizeof rs / sizeof *rs; i++)
    json_array_append_new(reals, json_real(rs[i]));
  json_object_set_new(o, "reals", reals);
  json_t *ints = json_array();
  json_int_t is[] = {0, 1, -1, 42, 2147483648LL, INT64_MAX, INT64_MIN};
  for (size_t i = 0; i < sizeof is / sizeof *is; i++)
    json_array_append_new(ints, json_integer(is[i]));
  json_object_set_new(o, "ints", ints);
  json_object_set_new(o, "nested", json_pack("{s:[{s:[[],{}]},null,true,1,2.5]}", "a", "b"));
  for (int p = 1; p <= 17; p++)
    assert_same(o, p);
  json_decref(o);
  /* top-level arrays too */
  json_t *a = json_pack("[s,i,f,b,n,[],{}]", "x", 1, 0.5, 1);
  assert_same(a, 15);
  json_decref(a);
}

static void test_control_characters(void **state) {
  (void)state;
  for (int c = 1; c < 0x20; c++) {
    char s[4] = {'a', (char)c, 'b', 0};
    json_t *o = json_pack("{s:s}", s, s);
    char *want = json_dumps(o, JSON_COMPACT), *got = ours(o, 17);
    /* equal once \u escapes are compared without regard to case */
    assert_int_equal(strlen(got), strlen(want));
    for (size_t i = 0; want[i]; i++)
      assert_int_equal(tolower((unsigned char)got[i]), tolower((unsigned char)want[i]));
    free(want);
    free(got);
    json_decref(o);
  }
}

/* ---- random trees ----------------------------------------------------- */

static uint32_t seed = 7;
static uint32_t rnd(void) {
  seed = seed * 1664525u + 1013904223u;
  return seed >> 8;
}

static json_t *random_string(void) {
  static const char *const parts[] = {"a",  "Z", "0", " ", "\"", "\\", "/", "\n",
                                      "\t", "é", "€", "𝄞", "{",  "}",  ":", ","};
  char s[64] = "";
  int n = (int)(rnd() % 8);
  for (int i = 0; i < n; i++)
    strcat(s, parts[rnd() % (sizeof parts / sizeof *parts)]);
  return json_string(s);
}

static json_t *random_value(int depth) {
  int kind = (int)(rnd() % (depth > 5 ? 6 : 8));
  switch (kind) {
  case 0:
    return json_null();
  case 1:
    return json_boolean(rnd() & 1);
  case 2:
    return json_integer((json_int_t)rnd() * (rnd() & 1 ? 1 : -1) * (json_int_t)(rnd() % 100000));
  case 3: {
    double m = (double)rnd() / (1 << 24) - 0.5;
    int e = (int)(rnd() % 80) - 40;
    return json_real(m * pow(10, e));
  }
  case 4:
  case 5:
    return random_string();
  case 6: {
    json_t *a = json_array();
    int n = (int)(rnd() % 5);
    for (int i = 0; i < n; i++)
      json_array_append_new(a, random_value(depth + 1));
    return a;
  }
  default: {
    json_t *o = json_object();
    int n = (int)(rnd() % 5);
    for (int i = 0; i < n; i++) {
      json_t *k = random_string();
      json_object_set_new(o, json_string_value(k), random_value(depth + 1));
      json_decref(k);
    }
    return o;
  }
  }
}

static void test_random_trees(void **state) {
  (void)state;
  for (int i = 0; i < 3000; i++) {
    json_t *o = json_object();
    json_object_set_new(o, "v", random_value(0));
    assert_same(o, i % 2 ? 15 : 17);
    json_decref(o);
  }
}

static void test_deep_nesting(void **state) {
  (void)state;
  json_t *root = json_array(), *cur = root;
  for (int i = 0; i < 300; i++) {
    json_t *next = i % 2 ? json_array() : json_object();
    if (json_is_array(cur))
      json_array_append_new(cur, next);
    else
      json_object_set_new(cur, "k", next);
    cur = next;
  }
  assert_same(root, 17);
  json_decref(root);
}

static void test_callback_failure(void **state) {
  (void)state;
  json_t *o = json_pack("{s:[i,i,i],s:s}", "a", 1, 2, 3, "b", "text");
  struct buf b = {.fail_at = 1};
  assert_int_equal(swath_json_write(o, 17, append, &b), -1);
  assert_int_equal(b.calls, 1);
  free(b.p);
  struct buf whole = {0};
  assert_int_equal(swath_json_write(o, 17, append, &whole), 0);
  assert_int_equal(whole.calls, 1);
  assert_string_equal(whole.p, "{\"a\":[1,2,3],\"b\":\"text\"}");
  free(whole.p);
  assert_int_equal(swath_json_write(NULL, 17, append, &b), -1);
  json_decref(o);
}

/* ---- swath_jtext ------------------------------------------------------- */

static void jtext_put(swath_jtext *t, const json_t *v) {
  const char *key;
  json_t *x;
  size_t i;
  int first = 1;
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    swath_jtext_lit(t, "{");
    json_object_foreach((json_t *)v, key, x) {
      if (!first) swath_jtext_lit(t, ",");
      first = 0;
      swath_jtext_str(t, key, strlen(key));
      swath_jtext_lit(t, ":");
      jtext_put(t, x);
    }
    swath_jtext_lit(t, "}");
    break;
  case JSON_ARRAY:
    swath_jtext_lit(t, "[");
    json_array_foreach(v, i, x) {
      if (i) swath_jtext_lit(t, ",");
      jtext_put(t, x);
    }
    swath_jtext_lit(t, "]");
    break;
  case JSON_STRING:
    swath_jtext_str(t, json_string_value(v), json_string_length(v));
    break;
  case JSON_INTEGER:
    swath_jtext_int(t, json_integer_value(v));
    break;
  case JSON_REAL:
    swath_jtext_real(t, json_real_value(v));
    break;
  default: /* true, false, null: a value written whole */
    swath_jtext_value(t, v);
  }
}

static void test_jtext(void **state) {
  (void)state;
  seed = 11;
  for (int i = 0; i < 3000; i++) {
    json_t *o = json_object();
    json_object_set_new(o, "v", random_value(0));
    int precision = i % 3 ? 15 : 17;
    swath_jtext t = {.precision = precision};
    if (i % 2) swath_jtext_reserve(&t, 100000);
    jtext_put(&t, o);
    char *want = ours(o, precision);
    assert_false(t.failed);
    assert_int_equal(t.len, strlen(want));
    assert_memory_equal(t.p, want, t.len);
    free(want);
    swath_jtext_clear(&t);
    assert_null(t.p);
    assert_int_equal(t.len, 0);
    assert_int_equal(t.precision, precision);
    json_decref(o);
  }
  assert_true(swath_json_plain("gs://bucket/a b/\xc3\xa9.jp2", 21));
  assert_false(swath_json_plain("a\"b", 3));
  assert_false(swath_json_plain("a\\b", 3));
  assert_false(swath_json_plain("a\nb", 3));
}

/* The text of a real at SWATH_JSON_DIGITS reads back as the same double,
 * with no more significant digits than it needs (the nearest decimal with
 * one digit fewer reads back as another double). */
static void assert_shortest(double v) {
  char buf[SWATH_JSON_REAL_MAX], shorter[400];
  assert_true(swath_json_real(v, SWATH_JSON_DIGITS, buf) > 0);
  if (strtod(buf, NULL) != v) fail_msg("%.17g written as %s", v, buf);
  char m[SWATH_JSON_REAL_MAX]; /* the significant digits: no sign, point, exponent */
  size_t n = 0;
  for (const char *p = buf; *p && *p != 'e'; p++)
    if (isdigit((unsigned char)*p) && (n || *p != '0')) m[n++] = *p;
  while (n && m[n - 1] == '0')
    n--;
  int digits = (int)n;
  if (digits > 1) {
    snprintf(shorter, sizeof shorter, "%.*g", digits - 1, v);
    if (strtod(shorter, NULL) == v) fail_msg("%.17g written as %s, %s is shorter", v, buf, shorter);
  }
}

static void test_shortest_reals(void **state) {
  (void)state;
  static const struct {
    double v;
    const char *text;
  } chosen[] = {{172.91173669923782, "172.91173669923782"}, /* STAC's simple-item.json */
                {1.3438851951615003, "1.3438851951615003"},
                {0.1, "0.1"},
                {0.30000000000000004, "0.30000000000000004"},
                {55.123456, "55.123456"},
                {180.0, "180.0"},
                {-0.0, "-0.0"},
                {1e23, "1e23"},
                {5e-324, "5e-324"},
                {1.7976931348623157e308, "1.7976931348623157e308"},
                {2.2250738585072014e-308, "2.2250738585072014e-308"}};
  for (size_t k = 0; k < sizeof chosen / sizeof *chosen; k++) {
    char buf[SWATH_JSON_REAL_MAX];
    swath_json_real(chosen[k].v, SWATH_JSON_DIGITS, buf);
    assert_string_equal(buf, chosen[k].text);
    assert_shortest(chosen[k].v);
  }
  /* a tree and a jtext write the same text */
  json_t *a = json_pack("[f, f]", 172.91173669923782, 0.1);
  char *got = ours(a, SWATH_JSON_DIGITS);
  assert_string_equal(got, "[172.91173669923782,0.1]");
  free(got);
  json_decref(a);
  /* random bit patterns, and random decimals of up to 17 digits */
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 200000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    double v;
    if (i % 2) {
      memcpy(&v, &x, sizeof v);
      if (!isfinite(v)) continue;
    } else {
      char dec[400];
      snprintf(dec, sizeof dec, "%.*e", (int)(x % 17), (double)(x >> 11) / (1ull << 40) - 2000);
      v = strtod(dec, NULL);
    }
    assert_shortest(v);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chosen_values),    cmocka_unit_test(test_control_characters),
      cmocka_unit_test(test_random_trees),     cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_callback_failure), cmocka_unit_test(test_jtext),
      cmocka_unit_test(test_shortest_reals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
