/* fuzz_search_params.c: the query string of GET /search (and of `swath
 * catalog search`'s flags), "key=value&key=value", through
 * swath_search_body_from_params and swath_search_parse. Text arrives here:
 * bbox and datetime text, sortby "-a,+b", filter (CQL2-JSON text; a
 * filter-lang of cql2-text is refused), ids and collections lists. The
 * first byte says whether unknown keys are ignored (as the server does for
 * f= and the like) or refused. */
#include <jansson.h>

#include "catalog/catalog.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  return 0;
}

#define MAX_PARAMS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input(data, size);
  if (size < 1) return 0;
  char *s = fuzz_str(data + 1, size - 1);
  const char *keys[MAX_PARAMS], *vals[MAX_PARAMS];
  size_t n = 0;
  char *save = NULL;
  for (char *kv = strtok_r(s, "&", &save); kv && n < MAX_PARAMS; kv = strtok_r(NULL, "&", &save)) {
    char *eq = strchr(kv, '=');
    if (eq) *eq = '\0';
    keys[n] = kv;
    vals[n++] = eq ? eq + 1 : NULL;
  }
  json_t *body = NULL;
  swath_error_clear();
  int rc = swath_search_body_from_params(keys, vals, n, data[0] & 1, &body);
  fuzz_check_rc(rc, "swath_search_body_from_params", 1);
  if (!rc) {
    swath_search *q = NULL;
    swath_error_clear();
    rc = swath_search_parse(body, &q);
    fuzz_check_rc(rc, "swath_search_parse", 1);
    swath_search_free(q);
  }
  json_decref(body);
  free(s);
  return 0;
}
