/* fuzz_paging_token.c: the `token` of a search (the next/prev links' paging
 * token), through swath_search_parse. The first byte picks the search's
 * sortby (the token must match it); bit 7 picks what follows: the token as
 * sent (base64url text), or JSON that is base64url-encoded here first, so
 * that mutations reach the decoded token's structure. */
#include <cpl_string.h>
#include <jansson.h>

#include "catalog/catalog.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  return 0;
}

static const char *const SORTBY[] = {
    NULL, /* the default: datetime descending */
    "[{\"field\":\"id\"}]",
    "[{\"field\":\"eo:cloud_cover\",\"direction\":\"asc\"},{\"field\":\"datetime\"}]",
    "[{\"field\":\"color:red\",\"direction\":\"desc\"},{\"field\":\"collection\"},"
    "{\"field\":\"start_datetime\"},{\"field\":\"color:pixels\"}]",
};

/* base64url without padding, as swath writes tokens. Caller frees. */
static char *b64url(const uint8_t *d, size_t n) {
  char *e = CPLBase64Encode((int)n, d);
  if (!e) abort();
  char *out = strdup(e);
  CPLFree(e);
  size_t w = 0;
  for (size_t k = 0; out[k]; k++)
    if (out[k] != '=') out[w++] = out[k] == '+' ? '-' : out[k] == '/' ? '_' : out[k];
  out[w] = '\0';
  return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input(data, size);
  if (size < 1) return 0;
  const char *sortby = SORTBY[data[0] % 4];
  char *tok = (data[0] & 0x80) ? fuzz_str(data + 1, size - 1) : b64url(data + 1, size - 1);
  if (data[0] & 0x80) { /* the token as sent: what it decodes to may say "(null)" */
    char *dec = strdup(tok);
    for (char *c = dec; *c; c++)
      *c = *c == '-' ? '+' : *c == '_' ? '/' : *c;
    int n = CPLBase64DecodeInPlace((GByte *)dec);
    fuzz_null_ok_in(dec, (size_t)n);
    free(dec);
  }
  json_t *body = json_object();
  json_object_set_new(body, "token", json_string(tok));
  if (sortby) json_object_set_new(body, "sortby", json_loads(sortby, 0, NULL));
  swath_search *q = NULL;
  swath_error_clear();
  int rc = json_object_get(body, "token") ? swath_search_parse(body, &q) : 0;
  fuzz_check_rc(rc, "swath_search_parse", 1);
  swath_search_free(q);
  json_decref(body);
  free(tok);
  return 0;
}
