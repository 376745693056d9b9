/* fuzz_stac_item.c: STAC Items for `swath catalog ingest` (an Item, an
 * ItemCollection, or NDJSON of them), through the stac format's reader.
 * Each accepted scene is checked (its bbox is lon/lat, its interval in
 * order), has its colour source picked as the stats step does, and is
 * written back as the STAC Item a search returns, which must be JSON. */
#include <cpl_vsi.h>
#include <jansson.h>
#include <math.h>

#include "catalog/catalog_int.h"
#include "core/json_out.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  return 0;
}

static int put(void *ud, const swath_scene *s) {
  (void)ud;
  if (!(s->bbox[1] >= -90 && s->bbox[3] <= 90 && s->bbox[1] <= s->bbox[3]) || s->dt0 > s->dt1 ||
      !s->id || !s->collection || !s->doc)
    abort();
  json_t *item = json_loads(s->doc, 0, NULL);
  if (!item) abort();
  swath__color_src src;
  if (swath__color_pick(item, &src) == 0) swath__color_src_clear(&src);
  json_decref(item);
  swath__row r = {.rid = 1,
                  .id = s->id,
                  .collection = s->collection,
                  .kind = s->kind,
                  .dt = s->dt,
                  .dt0 = s->dt0,
                  .dt1 = s->dt1,
                  .cloud = s->cloud,
                  .geom = s->wkb,
                  .geom_len = (int)s->wkb_len,
                  .doc = s->doc,
                  .has_color = 1,
                  .rgb = {1, 2, 3},
                  .bright = 2,
                  .cmethod = "exact",
                  .csource = "TCI",
                  .cpixels = 4};
  memcpy(r.bbox, s->bbox, sizeof r.bbox);
  swath_jtext t = {.precision = 9};
  swath_error_clear();
  int rc = swath__item_write(&r, "http://localhost:8080", &t);
  fuzz_check_rc(rc, "swath__item_write", 0);
  if (!rc) {
    json_t *back = json_loadb(t.p, t.len, 0, NULL);
    if (!back) abort();
    json_decref(back);
  }
  swath_jtext_clear(&t);
  return 0;
}

static void bad(void *ud, int64_t line, const char *msg) {
  (void)ud, (void)line;
  if (!msg[0] || strchr(msg, '\n')) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input(data, size);
  static const char path[] = "/vsimem/fuzz_items.json";
  GByte *copy = VSIMalloc(size ? size : 1);
  if (!copy) abort();
  memcpy(copy, data, size);
  VSIFCloseL(VSIFileFromMemBuffer(path, copy, size, TRUE));
  swath_ingest_opts o = {.collection = "fuzz"};
  swath_ingest_sink sink = {put, bad, NULL};
  swath_ingest_stac.probe(path, (const char *)data, size < 64 ? size : 64, 0);
  swath_error_clear();
  int rc = swath_ingest_stac.run(path, &o, &sink);
  fuzz_check_rc(rc, "stac ingest", 1);
  VSIUnlink(path);
  return 0;
}
