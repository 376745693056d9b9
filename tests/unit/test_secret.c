/* test_secret.c: secrets (core/secret.h). Which query parameters are secret;
 * redaction of URLs, messages, markup and URL passwords, leaving everything
 * else byte for byte; restoring the job's values into a redacted URL;
 * job files redacted as YAML (headers, secret keys, URLs; comments, layout
 * and non-ASCII text kept, the result parses to the same tree but the
 * secrets); error messages and cache identities free of secrets, and a
 * cache folder that does not change when a key is rotated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/error.h"
#include "core/secret.h"
#include "fixture.h"
#include "io/cache.h"

static void redacts(const char *in, const char *want) {
  char buf[512];
  size_t n = swath_redact(in, buf, sizeof buf);
  assert_string_equal(buf, want);
  assert_int_equal(n, strlen(want));
  char *d = swath_redact_dup(in);
  assert_string_equal(d, want);
  free(d);
}

static void test_params(void **state) {
  (void)state;
  const char *secret[] = {"key",
                          "apikey",
                          "api_key",
                          "API-KEY",
                          "access_token",
                          "token",
                          "sig",
                          "signature",
                          "password",
                          "client_secret",
                          "X-Amz-Date",
                          "x-goog-credential",
                          "subscription-key",
                          "app_code",
                          "auth",
                          "Authorization"};
  for (size_t i = 0; i < sizeof secret / sizeof *secret; i++)
    assert_true(swath_secret_param(secret[i], strlen(secret[i])));
  const char *plain[] = {"layers", "bbox",  "format",        "map",    "x-amz", "keys",
                         "signed", "style", "TILEMATRIXSET", "tokens", ""};
  for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
    assert_false(swath_secret_param(plain[i], strlen(plain[i])));
}

static void test_redact(void **state) {
  (void)state;
  redacts("https://t.example.org/{z}/{x}/{y}.png?apikey=S3CR3T",
          "https://t.example.org/{z}/{x}/{y}.png?apikey=REDACTED");
  redacts("http://h/wms?map=/m.map&ApiKey=abc&LAYERS=x&access_token=t0k#frag",
          "http://h/wms?map=/m.map&ApiKey=REDACTED&LAYERS=x&access_token=REDACTED#frag");
  /* A bare query (WMS vendor parameters), a message, XML with &amp;. */
  redacts("SERVICE=WMS&key=abc", "SERVICE=WMS&key=REDACTED");
  redacts("key=abc&b=1", "key=REDACTED&b=1");
  redacts("failed: http://h/1.png?token=abc: HTTP 403 (Forbidden)",
          "failed: http://h/1.png?token=REDACTED: HTTP 403 (Forbidden)");
  redacts("<Get xlink:href=\"http://h/wmts?key=abc&amp;SERVICE=WMTS&amp;sig=x\"/>",
          "<Get xlink:href=\"http://h/wmts?key=REDACTED&amp;SERVICE=WMTS&amp;sig=REDACTED\"/>");
  redacts("https://bob:pa55@h.example.org:8443/x", "https://bob:REDACTED@h.example.org:8443/x");
  /* Signed URLs: every X-Amz-* goes, the path stays. */
  redacts("https://b.s3.amazonaws.com/t/1.tif?X-Amz-Algorithm=AWS4&X-Amz-Signature=ff0",
          "https://b.s3.amazonaws.com/t/1.tif?X-Amz-Algorithm=REDACTED&X-Amz-Signature=REDACTED");
  /* Nothing secret: the same bytes; already redacted: unchanged. */
  const char *same[] = {"http://h/{z}/{x}/{y}.png?layer=a&style=b",
                        "keys=1 key",
                        "keyword=x",
                        "https://user@h/x",
                        "a?key=&b=1",
                        "http://h/?key=REDACTED",
                        "",
                        "zürich ?x=ü"};
  for (size_t i = 0; i < sizeof same / sizeof *same; i++)
    redacts(same[i], same[i]);
  /* Names are whole: "key" ends "xkey", "okey=" inside "tokey=" is not a name. */
  redacts("?keys=1&xkey=2&a=tokey=3", "?keys=1&xkey=REDACTED&a=tokey=3");
  /* Short buffers: cut, terminated, full length returned. */
  char small[10];
  assert_int_equal(swath_redact("?key=abcdef", small, sizeof small), strlen("?key=REDACTED"));
  assert_string_equal(small, "?key=REDA");
}

static void test_error_messages(void **state) {
  (void)state;
  swath_error_set(SWATH_EIO, "GET %s: %s", "http://h/a.png?apikey=S3CR3T", "HTTP 401");
  assert_string_equal(swath_error_message(), "GET http://h/a.png?apikey=REDACTED: HTTP 401");
  assert_null(strstr(swath_error_message(), "S3CR3T"));
}

static void test_restore(void **state) {
  (void)state;
  swath_cfg *c;
  assert_int_equal(swath_cfg_parse_string("{type: wms, url: 'http://h/w?map=m&apikey=K1', "
                                          "params: {token: T2, dpi: '96'}, "
                                          "headers: {X-Api-Key: H3}}",
                                          "t", &c),
                   0);
  swath_secrets s;
  assert_int_equal(swath_secrets_collect(c, &s), 0);
  assert_int_equal(s.n, 2);
  assert_string_equal(s.names[0], "apikey");
  assert_string_equal(s.values[0], "K1");
  assert_string_equal(s.names[1], "token");
  assert_string_equal(s.values[1], "T2");
  char *u;
  assert_int_equal(
      swath_secrets_restore(&s, "http://other/wmts?APIKEY=REDACTED&TOKEN=REDACTED&x=1", &u), 0);
  assert_string_equal(u, "http://other/wmts?APIKEY=K1&TOKEN=T2&x=1");
  free(u);
  assert_int_equal(swath_secrets_restore(&s, "http://h/plain?x=1", &u), 0);
  assert_string_equal(u, "http://h/plain?x=1");
  free(u);
  assert_int_equal(swath_secrets_restore(&s, "http://h/?sig=REDACTED", &u), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "'sig'"));
  swath_secrets_free(&s);
  swath_cfg_free(c);
}

static const char *JOB =
    "# Zürich ortho, key from the provider's portal\n"
    "process: convert\n"
    "inputs:\n"
    "  img: {type: xyz, url: \"https://t.example.org/{z}/{x}/{y}.png?apikey=S3CR3T\",\n"
    "        headers: {X-Api-Key: HDR-S3CR3T, Authorization: \"Bearer B3ARER\"}}\n"
    "  wms:\n"
    "    type: wms   # ümlaut in a comment\n"
    "    url: https://w.example.org/wms?map=/m.map&token=T0K3N\n"
    "    params: {sig: SIG-S3CR3T, dpi: 96}\n"
    "    headers:\n"
    "      Referer: https://example.org/\n"
    "    layers: ortho\n"
    "zoom: [12, 14]\n";

static void test_yaml(void **state) {
  (void)state;
  char *r = swath_redact_yaml(JOB);
  assert_non_null(r);
  const char *gone[] = {"S3CR3T", "B3ARER", "T0K3N", "example.org/\n"};
  for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
    assert_null(strstr(r, gone[i]));
  /* Comments and the rest are kept. */
  assert_non_null(strstr(r, "# Zürich ortho, key from the provider's portal\n"));
  assert_non_null(strstr(r, "    type: wms   # ümlaut in a comment\n"));
  assert_non_null(strstr(r, "    layers: ortho\nzoom: [12, 14]\n"));
  /* The same tree, secrets replaced. */
  swath_cfg *c;
  assert_int_equal(swath_cfg_parse_string(r, "redacted", &c), 0);
  const swath_cfg *in = swath_cfg_get(c, "inputs");
  const swath_cfg *img = swath_cfg_get(in, "img"), *wms = swath_cfg_get(in, "wms");
  assert_string_equal(swath_cfg_get(img, "url")->value,
                      "https://t.example.org/{z}/{x}/{y}.png?apikey=REDACTED");
  assert_string_equal(swath_cfg_get(swath_cfg_get(img, "headers"), "X-Api-Key")->value, "REDACTED");
  assert_string_equal(swath_cfg_get(swath_cfg_get(img, "headers"), "Authorization")->value,
                      "REDACTED");
  assert_string_equal(swath_cfg_get(wms, "url")->value,
                      "https://w.example.org/wms?map=/m.map&token=REDACTED");
  assert_string_equal(swath_cfg_get(swath_cfg_get(wms, "params"), "sig")->value, "REDACTED");
  assert_string_equal(swath_cfg_get(swath_cfg_get(wms, "params"), "dpi")->value, "96");
  assert_string_equal(swath_cfg_get(swath_cfg_get(wms, "headers"), "Referer")->value, "REDACTED");
  assert_string_equal(swath_cfg_get(wms, "layers")->value, "ortho");
  swath_cfg_free(c);
  free(r);
  /* Without secrets: the same bytes. */
  const char *plain =
      "process: convert  # c\ninputs: {a: {type: xyz, url: 'http://h/{z}/{x}/{y}'}}\n";
  r = swath_redact_yaml(plain);
  assert_string_equal(r, plain);
  free(r);
}

static void test_cache_identity(void **state) {
  (void)state;
  /* A source without secrets keeps its hash (the on-disk format). */
  swath_cache_source_id xyz = {.type = "xyz", .url = "https://tiles.example.org/{z}/{x}/{y}.png"};
  uint64_t h0 = swath_cache_source_hash(&xyz);
  /* A key in the URL: rotating it keeps the folder; the folder's source.txt
   * does not hold it. */
  swath_cache_source_id k1 = {.type = "xyz",
                              .url = "https://t.example.org/{z}/{x}/{y}.png?key=ONE"};
  swath_cache_source_id k2 = {.type = "xyz",
                              .url = "https://t.example.org/{z}/{x}/{y}.png?key=TWO"};
  swath_cache_source_id k3 = {.type = "xyz",
                              .url = "https://t.example.org/{z}/{x}/{y}.png?v=2&key=ONE"};
  assert_int_equal(swath_cache_source_hash(&k1), swath_cache_source_hash(&k2));
  assert_true(swath_cache_source_hash(&k1) != swath_cache_source_hash(&k3));
  assert_true(swath_cache_source_hash(&k1) != h0);
  swath_cache_source_id wq1 = {.type = "wms-query", .url = "SERVICE=WMS&apikey=ONE"};
  swath_cache_source_id wq2 = {.type = "wms-query", .url = "SERVICE=WMS&apikey=TWO"};
  assert_int_equal(swath_cache_source_hash(&wq1), swath_cache_source_hash(&wq2));
  char dir[512], path[600], text[2048];
  assert_int_equal(tmpdir_make("secret"), 0);
  assert_int_equal(swath_cache_source_dir(tmpdir, &k1, dir, sizeof dir), 0);
  snprintf(path, sizeof path, "%s/source.txt", dir);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  size_t n = fread(text, 1, sizeof text - 1, fp);
  text[n] = '\0';
  fclose(fp);
  assert_null(strstr(text, "ONE"));
  assert_non_null(strstr(text, "key=REDACTED"));
  assert_int_equal(tmpdir_remove(), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_params),         cmocka_unit_test(test_redact),
      cmocka_unit_test(test_error_messages), cmocka_unit_test(test_restore),
      cmocka_unit_test(test_yaml),           cmocka_unit_test(test_cache_identity),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
