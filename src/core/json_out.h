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
 * one exception: control characters other than \b \f \n \r \t are escaped
 * as \u001f where jansson writes \u001F (both mean the same). A value nested
 * deeper than yajl's generator allows goes to jansson's dumper instead.
 * Files meant to be read by people (indented) still go through jansson. */
#ifndef SWATH_CORE_JSON_OUT_H
#define SWATH_CORE_JSON_OUT_H

#include <jansson.h>

/* Write `v` compactly through `cb` (jansson's callback type: return 0 to go
 * on), reals with `precision` significant digits (1-17, as jansson's
 * JSON_REAL_PRECISION). Returns 0, or -1 if cb failed or memory ran out;
 * nothing is reported through the error module: callers answer with their
 * own message. Thread-safe. */
int swath_json_write(const json_t *v, int precision, json_dump_callback_t cb, void *data);

#endif
