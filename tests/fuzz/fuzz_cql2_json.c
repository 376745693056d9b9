/* fuzz_cql2_json.c: a CQL2-JSON `filter` and a STAC query-extension
 * `query`, each as the one member of a search body, through
 * swath_search_parse (which turns them into SQL with bound values). */
#include <jansson.h>

#include "catalog/catalog.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  return 0;
}

static void parse_as(const char *member, json_t *v) {
  json_t *body = json_object();
  json_object_set(body, member, v);
  if (!strcmp(member, "filter")) json_object_set_new(body, "filter-lang", json_string("cql2-json"));
  swath_search *q = NULL;
  swath_error_clear();
  int rc = swath_search_parse(body, &q);
  fuzz_check_rc(rc, member, 1);
  swath_search_free(q);
  json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input(data, size);
  json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
  if (!v) return 0;
  parse_as("filter", v);
  parse_as("query", v);
  json_decref(v);
  return 0;
}
