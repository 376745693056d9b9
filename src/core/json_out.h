/* json_out.h: compact JSON text of jansson values, written by yajl's
 * generator.
 *
 * swath builds JSON with jansson everywhere. Its dumper was most of the STAC
 * server's CPU: a 10-item search page of Sentinel-2 items is about 100 KB,
 * and jansson formats each container's address into a hash table for its
 * loop check, walks every string byte through its UTF-8 iterator, and calls
 * back once per token. Responses and catalog output are trees built by swath
 * (no loops), so they are written here by a walk over the values that feeds
 * yajl's generator, which escapes strings in runs.
 *
 * The bytes equal json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(p)), with
 * two exceptions: control characters other than \b \f \n \r \t are escaped
 * as \u001f where jansson writes \u001F (both mean the same), and precision
 * SWATH_JSON_SHORTEST, which jansson does not have. A value nested
 * deeper than yajl's generator allows goes to jansson's dumper instead.
 * Files meant to be read by people (indented) still go through jansson. */
#ifndef SWATH_CORE_JSON_OUT_H
#define SWATH_CORE_JSON_OUT_H

#include <jansson.h>
#include <stddef.h>

/* Precision 0: each real with the fewest significant digits (15 to 17)
 * that read back as the same double ("172.91173669923782", "0.1"). */
#define SWATH_JSON_SHORTEST 0
/* Significant digits of reals in everything swath writes as compact JSON
 * (HTTP responses, catalog output): one figure, so the CLI prints the
 * server's bytes. Shortest: a coordinate, bbox or property comes back as
 * the double it was (15 digits did not: 172.91173669923782 became
 * 172.911736699238). */
#define SWATH_JSON_DIGITS SWATH_JSON_SHORTEST

/* Write `v` compactly through `cb` (jansson's callback type: return 0 to go
 * on), reals with `precision` significant digits (1-17, as jansson's
 * JSON_REAL_PRECISION; SWATH_JSON_SHORTEST: as few as read back exactly).
 * Returns 0, or -1 if cb failed or memory ran out; nothing is reported
 * through the error module: callers answer with their own message.
 * Thread-safe. */
int swath_json_write(const json_t *v, int precision, json_dump_callback_t cb, void *data);

/* A real as swath_json_write writes it with `precision` significant
 * digits (1-17, or SWATH_JSON_SHORTEST; anything else means 17), into buf of at least
 * SWATH_JSON_REAL_MAX bytes, NUL-terminated: its length, or -1. */
#define SWATH_JSON_REAL_MAX 40
int swath_json_real(double v, int precision, char *buf);

/* ---- JSON text assembled piece by piece -----------------------------------
 *
 * For writers of one known shape that is written often (a catalog item: a
 * page of them is most of the STAC server's work: 4.2 M instructions a
 * 10-item page as jansson trees walked by swath_json_write, 1.4 M this
 * way). Constant fragments go in verbatim and each value is formatted as
 * swath_json_write formats it, so the text is byte for byte what the tree
 * would have given.
 *
 * The caller owns the order of keys and the commas. Out of memory is
 * sticky: `failed` is set, later calls do nothing, and the caller checks it
 * once at the end. */
typedef struct swath_jtext {
  char *p; /* the text so far (no NUL); malloc'd, owned */
  size_t len, cap;
  int precision; /* significant digits of reals (1-17; 0: SWATH_JSON_SHORTEST) */
  int failed;    /* out of memory at some point: the text is incomplete */
} swath_jtext;

/* Make room for n more bytes at once (saves growing it step by step). */
void swath_jtext_reserve(swath_jtext *t, size_t n);
/* Bytes as they are (a fragment of JSON text). */
void swath_jtext_raw(swath_jtext *t, const char *s, size_t n);
#define swath_jtext_lit(t, lit) swath_jtext_raw((t), (lit), sizeof(lit) - 1)
/* Whether a string goes into JSON text as it is, between quotes (nothing in
 * it to escape). */
int swath_json_plain(const char *s, size_t n);
/* A string value, quoted and escaped as yajl escapes it. */
void swath_jtext_str(swath_jtext *t, const char *s, size_t n);
void swath_jtext_real(swath_jtext *t, double v);
void swath_jtext_int(swath_jtext *t, long long v);
/* A jansson value, through swath_json_write. */
void swath_jtext_value(swath_jtext *t, const json_t *v);
/* Free the text; the struct is then empty (precision kept). */
void swath_jtext_clear(swath_jtext *t);

#endif
