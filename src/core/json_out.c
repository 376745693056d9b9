/* json_out.c: a walk over jansson values that drives yajl's generator (see
 * json_out.h for why, and for the bytes it writes). */
#include "core/json_out.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

/* Deeper than yajl's generator keeps state for (YAJL_MAX_DEPTH, 128): such
 * values take jansson's dumper. */
#define MAX_DEPTH 120
#define TOO_DEEP (-2)

/* The text of reals met during one write, by value address: items share
 * their constant values (band wavelengths, ...) by reference, so a page
 * prints each of those once instead of once per item. */
#define REAL_SLOTS 64
struct walk {
  yajl_gen g;
  int precision;
  struct {
    const json_t *v;
    int n;
    char text[40];
  } real[REAL_SLOTS];
  char quoted[2048]; /* a clean string value between quotes (see put_string) */
};

/* A real as jansson writes it: "%.*g", then ".0" if that reads as an
 * integer, and the exponent without '+' or leading zeros (1e+20 -> 1e20).
 * Precision 0: the fewest significant digits that read back as x, so a
 * value written and read again is the same double. A normal double that
 * some decimal of at most 15 digits reads back as is within half a unit of
 * its last place of that decimal, which is then the nearest 15-digit one:
 * "%.15g" writes it (its trailing zeros dropped). Others take 16 or 17
 * (the nearest 16-digit decimal reads back when any does). Subnormals
 * have fewer bits: they try every precision. */
static int real_text(double x, int precision, char *buf, size_t size) {
  int n;
  if (precision == SWATH_JSON_SHORTEST) {
    for (precision = x != 0 && fabs(x) < DBL_MIN ? 1 : 15;; precision++) {
      n = snprintf(buf, size, "%.*g", precision, x);
      if (precision == 17 || n < 0 || (size_t)n >= size || strtod(buf, NULL) == x) break;
    }
  } else {
    n = snprintf(buf, size, "%.*g", precision, x);
  }
  if (n < 0 || (size_t)n + 3 >= size) return -1;
  if (!strchr(buf, '.') && !strchr(buf, 'e')) {
    memcpy(buf + n, ".0", 3);
    n += 2;
  }
  char *e = strchr(buf, 'e');
  if (e) {
    char *start = e + 1, *end = start + 1;
    if (*start == '-') start++;
    while (*end == '0')
      end++;
    if (end != start) {
      memmove(start, end, (size_t)(buf + n + 1 - end)); /* with the NUL */
      n -= (int)(end - start);
    }
  }
  return n;
}

/* Whether yajl would write s as it is: no control characters, quotes or
 * backslashes (yajl escapes nothing else, as configured here; bytes from
 * 0x80 up go out unchanged). One pass without branches, which GCC
 * vectorises. */
static int clean(const unsigned char *s, size_t n) {
  unsigned bad = 0;
  for (size_t i = 0; i < n; i++)
    bad |= (s[i] < 0x20) | (s[i] == '"') | (s[i] == '\\');
  return !bad;
}

/* A string value. yajl escapes strings a byte at a time, which was a fifth
 * of the CPU of a page of items (mostly asset hrefs); a string with nothing
 * to escape goes in whole, quoted, as a raw token: yajl_gen_number writes
 * its text as given, with the separators a value needs. (Not for keys:
 * yajl only takes strings there.) */
static int put_string(struct walk *w, const char *s, size_t n) {
  if (n + 2 <= sizeof w->quoted && clean((const unsigned char *)s, n)) {
    w->quoted[0] = '"';
    memcpy(w->quoted + 1, s, n);
    w->quoted[n + 1] = '"';
    return yajl_gen_number(w->g, w->quoted, n + 2) == yajl_gen_status_ok ? 0 : -1;
  }
  return yajl_gen_string(w->g, (const unsigned char *)s, n) == yajl_gen_status_ok ? 0 : -1;
}

static int put(struct walk *w, const json_t *v, int depth) {
  yajl_gen g = w->g;
  char num[64];
  int n;
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    if (depth > MAX_DEPTH) return TOO_DEEP;
    if (yajl_gen_map_open(g) != yajl_gen_status_ok) return -1;
    const char *key;
    json_t *x;
    json_object_foreach((json_t *)v, key, x) {
      size_t klen = json_object_iter_key_len(json_object_key_to_iter(key));
      if (yajl_gen_string(g, (const unsigned char *)key, klen) != yajl_gen_status_ok) return -1;
      int rc = put(w, x, depth + 1);
      if (rc) return rc;
    }
    return yajl_gen_map_close(g) == yajl_gen_status_ok ? 0 : -1;
  }
  case JSON_ARRAY: {
    if (depth > MAX_DEPTH) return TOO_DEEP;
    if (yajl_gen_array_open(g) != yajl_gen_status_ok) return -1;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      int rc = put(w, x, depth + 1);
      if (rc) return rc;
    }
    return yajl_gen_array_close(g) == yajl_gen_status_ok ? 0 : -1;
  }
  case JSON_STRING:
    return put_string(w, json_string_value(v), json_string_length(v));
  case JSON_INTEGER:
    n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return yajl_gen_number(g, num, (size_t)n) == yajl_gen_status_ok ? 0 : -1;
  case JSON_REAL: {
    unsigned slot = (unsigned)(((uintptr_t)v >> 4) % REAL_SLOTS);
    if (w->real[slot].v != v) {
      n = real_text(json_real_value(v), w->precision, w->real[slot].text,
                    sizeof w->real[slot].text);
      if (n <= 0) return -1;
      w->real[slot].v = v;
      w->real[slot].n = n;
    }
    return yajl_gen_number(g, w->real[slot].text, (size_t)w->real[slot].n) == yajl_gen_status_ok
               ? 0
               : -1;
  }
  case JSON_TRUE:
  case JSON_FALSE:
    return yajl_gen_bool(g, json_is_true(v)) == yajl_gen_status_ok ? 0 : -1;
  case JSON_NULL:
    return yajl_gen_null(g) == yajl_gen_status_ok ? 0 : -1;
  }
  return -1;
}

/* One generator per thread, kept between calls so that its output buffer
 * (about 100 KB for a page of items) is not grown and freed per response;
 * one grown past KEEP_MAX is freed after use. */
#define KEEP_MAX ((size_t)1 << 20)
static pthread_key_t gen_key;
static pthread_once_t gen_once = PTHREAD_ONCE_INIT;

static void gen_free(void *g) { yajl_gen_free(g); }
static void gen_key_make(void) { pthread_key_create(&gen_key, gen_free); }

int swath_json_write(const json_t *v, int precision, json_dump_callback_t cb, void *data) {
  if (precision < 0 || precision > 17) precision = 17;
  if (!v) return -1;
  pthread_once(&gen_once, gen_key_make);
  yajl_gen g = pthread_getspecific(gen_key);
  if (!g && (g = yajl_gen_alloc(NULL)) && pthread_setspecific(gen_key, g)) {
    yajl_gen_free(g);
    g = NULL;
  }
  if (!g) return -1;
  struct walk w = {.g = g, .precision = precision}; /* (5 KB: fine on a stack) */
  /* yajl writes into its own buffer (a memcpy per token), handed over in
   * one call at the end: so a value found too deep half-way has given
   * nothing to cb yet and can go to jansson whole. */
  int rc = put(&w, v, 1);
  const unsigned char *text = NULL;
  size_t len = 0;
  if (rc == 0)
    rc = yajl_gen_get_buf(g, &text, &len) == yajl_gen_status_ok &&
                 cb((const char *)text, len, data) == 0
             ? 0
             : -1;
  if (len > KEEP_MAX) {
    pthread_setspecific(gen_key, NULL);
    yajl_gen_free(g);
  } else {
    yajl_gen_reset(g, NULL);
    yajl_gen_clear(g);
  }
  if (rc == TOO_DEEP) /* (precision 0: jansson's default, 17 digits: exact too) */
    return json_dump_callback(v, cb, data, JSON_COMPACT | JSON_REAL_PRECISION(precision));
  return rc;
}

/* ---- swath_jtext ------------------------------------------------------- */

static int jtext_room(swath_jtext *t, size_t n) {
  if (t->failed) return 0;
  if (t->len + n <= t->cap) return 1;
  size_t cap = t->cap ? t->cap : 4096;
  while (cap < t->len + n)
    cap *= 2;
  char *p = realloc(t->p, cap);
  if (!p) {
    t->failed = 1;
    return 0;
  }
  t->p = p;
  t->cap = cap;
  return 1;
}

void swath_jtext_reserve(swath_jtext *t, size_t n) { jtext_room(t, n); }

void swath_jtext_raw(swath_jtext *t, const char *s, size_t n) {
  if (!jtext_room(t, n)) return;
  memcpy(t->p + t->len, s, n);
  t->len += n;
}

int swath_json_plain(const char *s, size_t n) { return clean((const unsigned char *)s, n); }

void swath_jtext_str(swath_jtext *t, const char *s, size_t n) {
  if (clean((const unsigned char *)s, n)) {
    if (!jtext_room(t, n + 2)) return;
    char *o = t->p + t->len;
    o[0] = '"';
    memcpy(o + 1, s, n);
    o[n + 1] = '"';
    t->len += n + 2;
    return;
  }
  /* rare: let yajl escape it, as swath_json_write would */
  yajl_gen g = yajl_gen_alloc(NULL);
  const unsigned char *text;
  size_t len;
  if (g && yajl_gen_string(g, (const unsigned char *)s, n) == yajl_gen_status_ok &&
      yajl_gen_get_buf(g, &text, &len) == yajl_gen_status_ok)
    swath_jtext_raw(t, (const char *)text, len);
  else
    t->failed = 1;
  if (g) yajl_gen_free(g);
}

int swath_json_real(double v, int precision, char *buf) {
  if (precision < 0 || precision > 17) precision = 17;
  int n = real_text(v, precision, buf, SWATH_JSON_REAL_MAX);
  return n > 0 ? n : -1;
}

void swath_jtext_real(swath_jtext *t, double v) {
  char buf[SWATH_JSON_REAL_MAX];
  int n = swath_json_real(v, t->precision, buf);
  if (n < 0)
    t->failed = 1;
  else
    swath_jtext_raw(t, buf, (size_t)n);
}

void swath_jtext_int(swath_jtext *t, long long v) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%lld", v);
  swath_jtext_raw(t, buf, (size_t)n);
}

static int jtext_append(const char *buf, size_t n, void *data) {
  swath_jtext *t = data;
  swath_jtext_raw(t, buf, n);
  return t->failed ? -1 : 0;
}

void swath_jtext_value(swath_jtext *t, const json_t *v) {
  if (!t->failed && swath_json_write(v, t->precision, jtext_append, t)) t->failed = 1;
}

void swath_jtext_clear(swath_jtext *t) {
  free(t->p);
  int precision = t->precision;
  memset(t, 0, sizeof *t);
  t->precision = precision;
}
