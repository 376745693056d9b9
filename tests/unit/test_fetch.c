/* test_fetch.c: the fetcher's policy and the cache layout, without network:
 * backoff bounds and determinism, Retry-After parsing and the wait it sets,
 * classification of curl codes and HTTP statuses, body sniffing and
 * validation (images made with GDAL, then cut short), exception text
 * extraction, cache paths, lookups and atomic writes, and a fetcher that
 * never connects (cache hits, invalid URLs, the failure budget). Expected
 * hashes were computed outside swath (python3, FNV-1a over the documented
 * serialisation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the four headers above first */
#include <cmocka.h>

#include <curl/curl.h>
#include <dirent.h>
#include <gdal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>

#include "core/error.h"
#include "fixture.h"
#include "gdal_bytes.h"
#include "io/cache.h"
#include "io/fetch.h"
#include "io/fetch_internal.h"

static int setup(void **state) {
  (void)state;
  GDALAllRegister();
  return tmpdir_make("fetch");
}

static int teardown(void **state) {
  (void)state;
  int rc = tmpdir_remove();
  GDALDestroyDriverManager();
  return rc;
}

/* ---- backoff ---- */

static void test_backoff_bounds(void **state) {
  (void)state;
  const long base = 100, max = 5000;
  for (int attempt = 1; attempt <= 12; attempt++) {
    long cap = base << (attempt - 1);
    if (cap > max) cap = max;
    long hi = 0;
    double sum = 0;
    for (int k = 0; k < 2000; k++) {
      char key[64];
      snprintf(key, sizeof key, "http://h/%d", k);
      long d = swath_fetch_backoff_ms(base, max, attempt, 42, key);
      if (d < 0 || d > cap) fail_msg("attempt %d: %ld outside [0, %ld]", attempt, d, cap);
      if (d > hi) hi = d;
      sum += (double)d;
    }
    /* Full jitter: the whole range is used and the mean is near cap / 2. */
    assert_true(hi >= cap * 9 / 10);
    double mean = sum / 2000;
    if (mean < cap * 0.4 || mean > cap * 0.6)
      fail_msg("attempt %d: mean %.1f not near %ld / 2", attempt, mean, cap);
  }
  assert_int_equal(swath_fetch_backoff_ms(0, 1000, 3, 1, "k"), 0);
  /* A huge attempt number must not overflow the cap. */
  long d = swath_fetch_backoff_ms(1000, 30000, 1000, 1, "k");
  assert_true(d >= 0 && d <= 30000);
}

static void test_backoff_deterministic(void **state) {
  (void)state;
  int differ_seed = 0, differ_key = 0;
  for (int attempt = 1; attempt <= 6; attempt++) {
    long a = swath_fetch_backoff_ms(500, 30000, attempt, 7, "http://x/1");
    assert_int_equal(a, swath_fetch_backoff_ms(500, 30000, attempt, 7, "http://x/1"));
    differ_seed += a != swath_fetch_backoff_ms(500, 30000, attempt, 8, "http://x/1");
    differ_key += a != swath_fetch_backoff_ms(500, 30000, attempt, 7, "http://x/2");
  }
  assert_true(differ_seed >= 4);
  assert_true(differ_key >= 4);
}

/* ---- Retry-After ---- */

static void test_retry_after(void **state) {
  (void)state;
  /* 784111777 is Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example). */
  const time_t t = 784111777;
  assert_int_equal(swath_fetch_parse_retry_after("120", t), 120);
  assert_int_equal(swath_fetch_parse_retry_after("  5 \r\n", t), 5);
  assert_int_equal(swath_fetch_parse_retry_after("0", t), 0);
  assert_int_equal(swath_fetch_parse_retry_after("99999999999999", t), 1000000000);
  assert_int_equal(swath_fetch_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t - 30), 30);
  assert_int_equal(swath_fetch_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", t - 90), 90);
  assert_int_equal(swath_fetch_parse_retry_after("Sun Nov  6 08:49:37 1994", t - 2), 2);
  assert_int_equal(swath_fetch_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t + 60), 0);
  assert_int_equal(swath_fetch_parse_retry_after("", t), -1);
  assert_int_equal(swath_fetch_parse_retry_after("   ", t), -1);
  assert_int_equal(swath_fetch_parse_retry_after(NULL, t), -1);
  assert_int_equal(swath_fetch_parse_retry_after("5 seconds", t), -1);
  assert_int_equal(swath_fetch_parse_retry_after("-3", t), -1);
  assert_int_equal(swath_fetch_parse_retry_after("soon", t), -1);
}

/* The wait before a retry: the backoff, or a longer Retry-After capped at
 * backoff_max; the host is held for the capped Retry-After when the config
 * says so. */
static void test_retry_delay(void **state) {
  (void)state;
  swath_fetch_config c;
  swath_fetch_config_default(&c); /* base 500, max 30000, pause on */
  const char *url = "http://h/1/2/3.png";
  long pause = 0;
  for (int attempt = 1; attempt <= 8; attempt++) {
    long backoff = swath_fetch_backoff_ms(500, 30000, attempt, c.seed, url);
    assert_int_equal(swath__fetch_retry_delay_ms(&c, attempt, url, -1, &pause), backoff);
    assert_int_equal(pause, -1);
    /* Retry-After: 0 adds nothing to the wait but still holds the host. */
    assert_int_equal(swath__fetch_retry_delay_ms(&c, attempt, url, 0, &pause), backoff);
    assert_int_equal(pause, 0);
  }
  /* After the first attempt the backoff is at most 500 ms: 10 s wins. */
  assert_int_equal(swath__fetch_retry_delay_ms(&c, 1, url, 10, &pause), 10000);
  assert_int_equal(pause, 10000);
  /* An hour is capped at backoff_max, the hold too. */
  assert_int_equal(swath__fetch_retry_delay_ms(&c, 1, url, 3600, &pause), 30000);
  assert_int_equal(pause, 30000);
  /* A Retry-After shorter than the backoff: the backoff, the host held for
   * the Retry-After only. Find an attempt whose backoff exceeds 2 s. */
  int attempt = 6;
  long backoff;
  while ((backoff = swath_fetch_backoff_ms(500, 30000, attempt, c.seed, url)) <= 2000)
    attempt++;
  assert_int_equal(swath__fetch_retry_delay_ms(&c, attempt, url, 1, &pause), backoff);
  assert_int_equal(pause, 1000);
  c.pause_host_on_retry_after = 0;
  assert_int_equal(swath__fetch_retry_delay_ms(&c, 1, url, 10, &pause), 10000);
  assert_int_equal(pause, -1);
}

/* ---- classification ---- */

static void test_classify(void **state) {
  (void)state;
  static const int empty[SWATH_FETCH_MAX_EMPTY] = {204, 404};
  static const struct {
    int curl;
    long status;
    swath_fetch_class cls;
    swath_fetch_cause cause; /* checked for transient only */
  } cases[] = {
      {CURLE_OK, 200, SWATH_FETCH_CLASS_OK, 0},
      {CURLE_OK, 203, SWATH_FETCH_CLASS_OK, 0},
      {CURLE_OK, 204, SWATH_FETCH_CLASS_EMPTY, 0},
      {CURLE_OK, 404, SWATH_FETCH_CLASS_EMPTY, 0},
      {CURLE_OK, 429, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_HTTP429},
      {CURLE_OK, 500, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_HTTP5XX},
      {CURLE_OK, 502, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_HTTP5XX},
      {CURLE_OK, 503, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_HTTP5XX},
      {CURLE_OK, 504, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_HTTP5XX},
      {CURLE_OK, 408, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_HTTP5XX},
      {CURLE_OK, 501, SWATH_FETCH_CLASS_PERMANENT, 0},
      {CURLE_OK, 400, SWATH_FETCH_CLASS_PERMANENT, 0},
      {CURLE_OK, 401, SWATH_FETCH_CLASS_PERMANENT, 0},
      {CURLE_OK, 403, SWATH_FETCH_CLASS_PERMANENT, 0},
      {CURLE_OK, 410, SWATH_FETCH_CLASS_PERMANENT, 0},
      {CURLE_OK, 301, SWATH_FETCH_CLASS_PERMANENT, 0},
      {CURLE_COULDNT_CONNECT, 0, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_CONNECT},
      {CURLE_COULDNT_RESOLVE_HOST, 0, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_CONNECT},
      {CURLE_OPERATION_TIMEDOUT, 0, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_TIMEOUT},
      {CURLE_PARTIAL_FILE, 200, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_TRUNCATED},
      {CURLE_RECV_ERROR, 0, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_RESET},
      {CURLE_SEND_ERROR, 0, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_RESET},
      {CURLE_GOT_NOTHING, 0, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_RESET},
      {CURLE_HTTP2_STREAM, 0, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_OTHER},
      /* curl errors win over the status they came with */
      {CURLE_PARTIAL_FILE, 404, SWATH_FETCH_CLASS_TRANSIENT, SWATH_FETCH_C_TRUNCATED},
      {CURLE_URL_MALFORMAT, 0, SWATH_FETCH_CLASS_PERMANENT, 0},
      {CURLE_UNSUPPORTED_PROTOCOL, 0, SWATH_FETCH_CLASS_PERMANENT, 0},
      {CURLE_TOO_MANY_REDIRECTS, 302, SWATH_FETCH_CLASS_PERMANENT, 0},
      {CURLE_PEER_FAILED_VERIFICATION, 0, SWATH_FETCH_CLASS_PERMANENT, 0},
      {CURLE_WRITE_ERROR, 200, SWATH_FETCH_CLASS_PERMANENT, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    swath_fetch_cause cause = SWATH_FETCH_C_COUNT;
    swath_fetch_class cls = swath_fetch_classify(cases[i].curl, cases[i].status, empty, &cause);
    if (cls != cases[i].cls)
      fail_msg("curl %d / HTTP %ld: class %d, expected %d", cases[i].curl, cases[i].status, cls,
               cases[i].cls);
    if (cls == SWATH_FETCH_CLASS_TRANSIENT && cause != cases[i].cause)
      fail_msg("curl %d / HTTP %ld: cause %s, expected %s", cases[i].curl, cases[i].status,
               swath_fetch_cause_name(cause), swath_fetch_cause_name(cases[i].cause));
  }
  /* Without 404 configured as empty, a 404 is a permanent failure. */
  static const int only204[SWATH_FETCH_MAX_EMPTY] = {204};
  assert_int_equal(swath_fetch_classify(0, 404, only204, NULL), SWATH_FETCH_CLASS_PERMANENT);
  assert_int_equal(swath_fetch_classify(0, 404, NULL, NULL), SWATH_FETCH_CLASS_PERMANENT);
  swath_fetch_config c;
  swath_fetch_config_default(&c);
  assert_int_equal(swath_fetch_classify(0, 204, c.empty_status, NULL), SWATH_FETCH_CLASS_EMPTY);
}

/* ---- sniffing ---- */

#define SNIFF(lit) swath_fetch_sniff(lit, sizeof(lit) - 1)

static const char wms_exception[] =
    "<?xml version='1.0' encoding=\"ISO-8859-1\" standalone=\"no\" ?>\n"
    "<!DOCTYPE ServiceExceptionReport SYSTEM "
    "\"http://schemas.opengis.net/wms/1.1.1/exception_1_1_1.dtd\">\n"
    "<ServiceExceptionReport version=\"1.1.1\">\n"
    "<ServiceException code=\"InvalidSRS\">\n"
    "  msWMSLoadGetMapParams(): WMS server error. Invalid SRS given : SRS must be valid for\n"
    "  all requested layers &amp; &lt;this&gt; one.\n"
    "</ServiceException>\n</ServiceExceptionReport>\n";

static const char ows_exception[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- generated -->\n"
    "<ows:ExceptionReport xmlns:ows=\"http://www.opengis.net/ows/1.1\" version=\"1.1.0\">\n"
    "  <ows:Exception exceptionCode=\"TileOutOfRange\" locator=\"TILEROW\">\n"
    "    <ows:ExceptionText><![CDATA[TileRow 99 is > MatrixHeight]]></ows:ExceptionText>\n"
    "  </ows:Exception>\n</ows:ExceptionReport>";

static void test_sniff(void **state) {
  (void)state;
  assert_int_equal(swath_fetch_sniff("", 0), SWATH_SNIFF_EMPTY);
  assert_int_equal(swath_fetch_sniff(NULL, 0), SWATH_SNIFF_EMPTY);
  assert_int_equal(SNIFF(" \r\n\t "), SWATH_SNIFF_EMPTY);
  assert_int_equal(SNIFF("\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), SWATH_SNIFF_PNG);
  assert_int_equal(SNIFF("\xff\xd8\xff\xe0\0\x10JFIF"), SWATH_SNIFF_JPEG);
  assert_int_equal(SNIFF("RIFF\x24\0\0\0WEBPVP8 "), SWATH_SNIFF_WEBP);
  assert_int_equal(SNIFF("II*\0\x08\0\0\0"), SWATH_SNIFF_GTIFF);
  assert_int_equal(SNIFF("MM\0*\0\0\0\x08"), SWATH_SNIFF_GTIFF);
  assert_int_equal(SNIFF("II+\0\x08\0\0\0"), SWATH_SNIFF_GTIFF);
  assert_int_equal(SNIFF("GIF89a\x01\0\x01\0"), SWATH_SNIFF_GIF);
  assert_int_equal(SNIFF("RIFF\x24\0\0\0WAVEfmt "), SWATH_SNIFF_OTHER);

  assert_int_equal(SNIFF("<!DOCTYPE html><html><body>x</body></html>"), SWATH_SNIFF_HTML);
  assert_int_equal(SNIFF("<!doctype HTML>\n<title>502</title>"), SWATH_SNIFF_HTML);
  assert_int_equal(SNIFF("\xef\xbb\xbf\n  <html lang=\"en\"><head>"), SWATH_SNIFF_HTML);
  assert_int_equal(SNIFF("<HTML><HEAD><TITLE>Error</TITLE></HEAD></HTML>"), SWATH_SNIFF_HTML);
  assert_int_equal(SNIFF("<?xml version=\"1.0\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML "
                         "1.0 Strict//EN\" \"x\">\n<html xmlns=\"http://www.w3.org/1999/xhtml\">"),
                   SWATH_SNIFF_HTML);
  assert_int_equal(SNIFF("<!-- nginx --><body>Bad gateway</body>"), SWATH_SNIFF_HTML);

  assert_int_equal(SNIFF(wms_exception), SWATH_SNIFF_OGC_EXCEPTION);
  assert_int_equal(SNIFF(ows_exception), SWATH_SNIFF_OGC_EXCEPTION);
  assert_int_equal(SNIFF("<ServiceExceptionReport><ServiceException>x</ServiceException>"
                         "</ServiceExceptionReport>"),
                   SWATH_SNIFF_OGC_EXCEPTION);
  assert_int_equal(SNIFF("<?xml version=\"1.0\"?><Capabilities xmlns=\"http://www.opengis.net/"
                         "wmts/1.0\"><ows:ServiceIdentification/></Capabilities>"),
                   SWATH_SNIFF_XML);
  /* An HTML page that talks about exceptions is still an HTML page. */
  assert_int_equal(SNIFF("<html><body>ServiceExceptionReport</body></html>"), SWATH_SNIFF_HTML);
  assert_int_equal(SNIFF("Internal Server Error"), SWATH_SNIFF_OTHER);
  assert_int_equal(SNIFF("{\"error\": \"quota\"}"), SWATH_SNIFF_OTHER);
}

static void test_exception_text(void **state) {
  (void)state;
  char buf[256];
  size_t n = swath_fetch_exception_text(wms_exception, sizeof wms_exception - 1, buf, sizeof buf);
  assert_int_equal(n, strlen(buf));
  assert_string_equal(buf, "InvalidSRS: msWMSLoadGetMapParams(): WMS server error. Invalid SRS "
                           "given : SRS must be valid for all requested layers & <this> one.");
  swath_fetch_exception_text(ows_exception, sizeof ows_exception - 1, buf, sizeof buf);
  assert_string_equal(buf, "TileOutOfRange (TILEROW): TileRow 99 is > MatrixHeight");

  static const char bare[] = "<ServiceExceptionReport><ServiceException>Layer &#39;x&#x27; "
                             "missing</ServiceException></ServiceExceptionReport>";
  swath_fetch_exception_text(bare, sizeof bare - 1, buf, sizeof buf);
  assert_string_equal(buf, "Layer 'x' missing");
  static const char codeonly[] = "<ExceptionReport><Exception exceptionCode=\"NoApplicableCode\"/>"
                                 "</ExceptionReport>";
  swath_fetch_exception_text(codeonly, sizeof codeonly - 1, buf, sizeof buf);
  assert_string_equal(buf, "NoApplicableCode");
  assert_int_equal(swath_fetch_exception_text("<a/>", 4, buf, sizeof buf), 0);
  assert_string_equal(buf, "");
  /* A small buffer truncates, never overflows. */
  char tiny[8];
  swath_fetch_exception_text(wms_exception, sizeof wms_exception - 1, tiny, sizeof tiny);
  assert_true(strlen(tiny) < sizeof tiny);
}

/* A body is not NUL-terminated: a numeric reference at its very end was
 * read past it by strtol (found by tests/fuzz/fuzz_image_check). The body
 * ends here at a page that may not be read, so reading past it faults. */
static void test_exception_text_at_body_end(void **state) {
  (void)state;
  long page = sysconf(_SC_PAGESIZE);
  unsigned char *m =
      mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(m != MAP_FAILED);
  assert_int_equal(mprotect(m + page, (size_t)page, PROT_NONE), 0);
  static const char *const bodies[] = {"<ServiceException>a &#12345", "<ServiceException>a &#x4",
                                       "<ServiceException>a &#", "<ServiceException>a &#65;"};
  static const char *const want[] = {"a &#12345", "a &#x4", "a &#", "a A"};
  char buf[64];
  for (int i = 0; i < 4; i++) {
    size_t n = strlen(bodies[i]);
    unsigned char *body = m + page - n;
    memcpy(body, bodies[i], n);
    swath_fetch_exception_text(body, n, buf, sizeof buf);
    assert_string_equal(buf, want[i]);
  }
  munmap(m, 2 * (size_t)page);
}

/* ---- validation (real images from GDAL) ---- */

/* Encode a w x h, `bands`-band image with GDAL's `driver`; caller frees. */
static unsigned char *encode(const char *driver, int w, int h, int bands, size_t *len) {
  GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", w, h, bands, GDT_Byte, NULL);
  assert_non_null(mem);
  unsigned char *px = malloc((size_t)w * h);
  for (int b = 1; b <= bands; b++) {
    for (int i = 0; i < w * h; i++)
      px[i] = (unsigned char)((i * 7 + b * 31 + (i / w) * 3) % 251);
    assert_int_equal(
        GDALRasterIO(GDALGetRasterBand(mem, b), GF_Write, 0, 0, w, h, px, w, h, GDT_Byte, 0, 0),
        CE_None);
  }
  free(px);
  unsigned char *bytes = gdal_bytes(driver, mem, len);
  GDALClose(mem);
  return bytes;
}

static void test_validate_images(void **state) {
  (void)state;
  static const struct {
    const char *driver;
    unsigned kind;
    int bands;
  } fmts[] = {{"PNG", SWATH_FETCH_PNG, 3},
              {"JPEG", SWATH_FETCH_JPEG, 3},
              {"WEBP", SWATH_FETCH_WEBP, 3},
              {"GTiff", SWATH_FETCH_GTIFF, 1}};
  for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
    size_t len;
    unsigned char *img = encode(fmts[i].driver, 256, 256, fmts[i].bands, &len);
    /* Good image: any kind, its own kind, the right size. */
    assert_int_equal(swath_fetch_validate(img, len, "image/x", 0, 0, 0), 0);
    assert_int_equal(swath_fetch_validate(img, len, NULL, fmts[i].kind, 256, 256), 0);
    /* Wrong size: permanent, says both sizes. */
    assert_int_equal(swath_fetch_validate(img, len, NULL, 0, 512, 512), SWATH_EINVAL);
    assert_non_null(strstr(swath_error_message(), "is 256x256, expected 512x512"));
    /* Wrong kind: permanent. */
    unsigned other = fmts[i].kind == SWATH_FETCH_PNG ? SWATH_FETCH_JPEG : SWATH_FETCH_PNG;
    assert_int_equal(swath_fetch_validate(img, len, NULL, other, 0, 0), SWATH_EINVAL);
    assert_non_null(strstr(swath_error_message(), "expected"));
    /* Cut short: transient (a retry may get it whole). */
    int rc = swath_fetch_validate(img, len * 2 / 3, NULL, 0, 256, 256);
    if (rc != SWATH_ETRANSIENT)
      fail_msg("%s cut to 2/3: rc %d (%s), expected transient", fmts[i].driver, rc,
               swath_error_message());
    assert_non_null(strstr(swath_error_message(), "does not decode"));
    free(img);
  }
  /* A small image of the right kind but the wrong size (the PNG a server
   * sends for "blank"). */
  size_t len;
  unsigned char *small = encode("PNG", 100, 100, 1, &len);
  assert_int_equal(swath_fetch_validate(small, len, "image/png", SWATH_FETCH_PNG, 256, 256),
                   SWATH_EINVAL);
  assert_string_equal(swath_error_message(), "PNG image is 100x100, expected 256x256");
  free(small);
}

/* A JPEG is checked through a scaled decode (GDAL's JPEG overviews): its
 * verdict on damaged streams must be the full decode's. Seeded damage: cut
 * at a random point, or 8 random bytes overwritten in the entropy-coded
 * data. */
static int jpeg_full_decode_ok(const unsigned char *body, size_t len) {
  CPLSetThreadLocalConfigOption("GDAL_ERROR_ON_LIBJPEG_WARNING", "YES");
  CPLPushErrorHandler(CPLQuietErrorHandler);
  CPLErrorReset();
  int ok = 0;
  char name[64];
  GDALDatasetH ds = gdal_open_bytes(body, len, "JPEG", name);
  if (ds) {
    int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds), n = GDALGetRasterCount(ds);
    unsigned char *px = malloc((size_t)w * h * n);
    ok = GDALDatasetRasterIO(ds, GF_Read, 0, 0, w, h, px, w, h, GDT_Byte, n, NULL, 0, 0, 0) ==
             CE_None &&
         CPLGetLastErrorType() < CE_Failure;
    free(px);
  }
  gdal_close_bytes(ds, name);
  CPLPopErrorHandler();
  CPLSetThreadLocalConfigOption("GDAL_ERROR_ON_LIBJPEG_WARNING", NULL);
  return ok;
}

static void test_validate_jpeg_scaled(void **state) {
  (void)state;
  size_t len;
  unsigned char *jpg = encode("JPEG", 512, 512, 3, &len);
  assert_true(jpeg_full_decode_ok(jpg, len));
  assert_int_equal(swath_fetch_validate(jpg, len, NULL, SWATH_FETCH_JPEG, 512, 512), 0);
  unsigned char *bad = malloc(len);
  unsigned seed = 7;
  int refused = 0;
  for (int trial = 0; trial < 60; trial++) {
    memcpy(bad, jpg, len);
    size_t n = len;
    seed = seed * 1103515245u + 12345u;
    if (trial % 2 == 0) {
      n = len / 4 + (seed >> 8) % (len - len / 4);
    } else {
      size_t at = len / 4 + (seed >> 8) % (len / 2);
      for (int k = 0; k < 8; k++) {
        seed = seed * 1103515245u + 12345u;
        bad[at + (size_t)k] = (unsigned char)(seed >> 16);
      }
    }
    int full = jpeg_full_decode_ok(bad, n);
    int rc = swath_fetch_validate(bad, n, NULL, SWATH_FETCH_JPEG, 512, 512);
    if ((rc == 0) != full)
      fail_msg("trial %d (%s): full decode %s, validation rc %d (%s)", trial,
               trial % 2 ? "bytes overwritten" : "cut short", full ? "ok" : "fails", rc,
               rc ? swath_error_message() : "");
    refused += rc != 0;
  }
  /* Every cut fails (30); most overwrites too. */
  assert_true(refused >= 30);
  free(bad);
  free(jpg);
}

static void test_validate_documents(void **state) {
  (void)state;
  static const char html[] = "<!DOCTYPE html><html><head><title>Maintenance &amp; upgrades"
                             "</title></head><body>Back soon</body></html>";
  assert_int_equal(swath_fetch_validate(html, sizeof html - 1, "text/html", 0, 256, 256),
                   SWATH_EINVAL);
  assert_string_equal(swath_error_message(),
                      "not an image: HTML page (text/html) titled \"Maintenance & upgrades\"");
  assert_int_equal(swath_fetch_validate(wms_exception, sizeof wms_exception - 1,
                                        "application/vnd.ogc.se_xml", 0, 256, 256),
                   SWATH_EINVAL);
  assert_true(strncmp(swath_error_message(), "WMS exception: InvalidSRS: ", 27) == 0);
  assert_int_equal(
      swath_fetch_validate(ows_exception, sizeof ows_exception - 1, "text/xml", 0, 0, 0),
      SWATH_EINVAL);
  assert_string_equal(swath_error_message(),
                      "OGC exception: TileOutOfRange (TILEROW): TileRow 99 is > MatrixHeight");
  /* An exception is refused even where XML documents are accepted. */
  assert_int_equal(
      swath_fetch_validate(ows_exception, sizeof ows_exception - 1, NULL, SWATH_FETCH_XML, 0, 0),
      SWATH_EINVAL);
  assert_int_equal(swath_fetch_validate("", 0, "image/png", 0, 0, 0), SWATH_EINVAL);
  assert_string_equal(swath_error_message(), "empty body");
  assert_int_equal(swath_fetch_validate("\n\n", 2, NULL, 0, 0, 0), SWATH_EINVAL);
  assert_int_equal(swath_fetch_validate("Internal error", 14, "text/plain", 0, 0, 0), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "Internal error"));
  /* PNG magic followed by garbage: looks like an image, does not decode. */
  static const char junk[] = "\x89PNG\r\n\x1a\ngarbage garbage garbage garbage";
  assert_int_equal(swath_fetch_validate(junk, sizeof junk - 1, NULL, 0, 0, 0), SWATH_ETRANSIENT);
  /* Documents where documents are wanted. */
  static const char caps[] = "<?xml version=\"1.0\"?><Capabilities/>";
  assert_int_equal(swath_fetch_validate(caps, sizeof caps - 1, NULL, SWATH_FETCH_XML, 0, 0), 0);
  assert_int_equal(swath_fetch_validate(caps, sizeof caps - 1, NULL, 0, 0, 0), SWATH_EINVAL);
  /* A document cut short is transient (retried, never cached); an HTML page
   * where XML is wanted says so. */
  static const char caps_long[] = "<?xml version=\"1.0\"?><Capabilities version=\"1.3.0\">"
                                  "<Service><Name>WMS</Name></Service></Capabilities>";
  for (size_t cut = 30; cut < sizeof caps_long - 1; cut += 7)
    assert_int_equal(swath_fetch_validate(caps_long, cut, NULL, SWATH_FETCH_XML, 0, 0),
                     SWATH_ETRANSIENT);
  assert_non_null(strstr(swath_error_message(), "XML document does not parse (cut short?)"));
  assert_int_equal(
      swath_fetch_validate(caps_long, sizeof caps_long - 1, NULL, SWATH_FETCH_XML, 0, 0), 0);
  /* WMS 1.1.1 capabilities: a DOCTYPE with an internal subset. */
  static const char caps111[] =
      "<?xml version='1.0' encoding=\"UTF-8\" standalone=\"no\" ?>\n<!DOCTYPE WMT_MS_Capabilities "
      "SYSTEM \"http://schemas.opengis.net/wms/1.1.1/WMS_MS_Capabilities.dtd\"\n [\n <!ELEMENT "
      "VendorSpecificCapabilities EMPTY>\n ]>  <!-- end of DOCTYPE declaration -->\n"
      "<WMT_MS_Capabilities version=\"1.1.1\"><Service/></WMT_MS_Capabilities>";
  assert_int_equal(swath_fetch_sniff(caps111, sizeof caps111 - 1), SWATH_SNIFF_XML);
  assert_int_equal(swath_fetch_validate(caps111, sizeof caps111 - 1, NULL, SWATH_FETCH_XML, 0, 0),
                   0);
  static const char bom_caps[] = "\xef\xbb\xbf<Capabilities/>";
  assert_int_equal(swath_fetch_validate(bom_caps, sizeof bom_caps - 1, NULL, SWATH_FETCH_XML, 0, 0),
                   0);
  assert_int_equal(swath_fetch_validate(html, sizeof html - 1, "text/html", SWATH_FETCH_XML, 0, 0),
                   SWATH_EINVAL);
  assert_true(strncmp(swath_error_message(), "not XML: HTML page", 18) == 0);
  assert_int_equal(swath_fetch_validate(html, sizeof html - 1, NULL, SWATH_FETCH_ANY, 0, 0), 0);
}

/* ---- cache ---- */

static void test_cache_root(void **state) {
  (void)state;
  char buf[256];
  setenv("SWATH_CACHE_DIR", "/data/c", 1);
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  setenv("HOME", "/home/u", 1);
  assert_int_equal(swath_cache_default_root(buf, sizeof buf), 0);
  assert_string_equal(buf, "/data/c");
  setenv("SWATH_CACHE_DIR", "", 1); /* empty counts as unset */
  assert_int_equal(swath_cache_default_root(buf, sizeof buf), 0);
  assert_string_equal(buf, "/xdg/swath");
  unsetenv("SWATH_CACHE_DIR");
  unsetenv("XDG_CACHE_HOME");
  assert_int_equal(swath_cache_default_root(buf, sizeof buf), 0);
  assert_string_equal(buf, "/home/u/.cache/swath");
  unsetenv("HOME");
  assert_int_equal(swath_cache_default_root(buf, sizeof buf), SWATH_EINVAL);
  assert_non_null(strstr(swath_error_message(), "SWATH_CACHE_DIR"));
  setenv("HOME", "/home/u", 1);
  assert_int_equal(swath_cache_default_root(buf, 8), SWATH_EINVAL);
}

static void test_cache_source_names(void **state) {
  (void)state;
  char buf[256];
  swath_cache_source_id xyz = {.type = "xyz", .url = "https://tiles.example.org/{z}/{x}/{y}.png"};
  /* Oracle: FNV-1a 64 over name\0 + (\x01 | \x02 value\0) per field. */
  assert_int_equal(swath_cache_source_hash(&xyz), 0x75615b964bd283c7ULL);
  assert_int_equal(swath_cache_source_name(&xyz, buf, sizeof buf), 0);
  assert_string_equal(buf, "xyz-tiles.example.org-75615b964bd283c7");

  swath_cache_source_id wms = {.type = "wms",
                               .url = "https://wms.example.org/service",
                               .layer = "ortho_2024",
                               .format = "image/jpeg",
                               .crs = "EPSG:2056",
                               .grid = "wms-512-1m",
                               .extra = "version=1.3.0"};
  assert_int_equal(swath_cache_source_hash(&wms), 0xefb044b84d7f3a5aULL);

  /* Every field matters; NULL and "" differ; field boundaries matter. */
  uint64_t h0 = swath_cache_source_hash(&wms);
  swath_cache_source_id v = wms;
  v.style = "";
  assert_true(swath_cache_source_hash(&v) != h0);
  v = wms;
  v.crs = "EPSG:3857";
  assert_true(swath_cache_source_hash(&v) != h0);
  v = wms;
  v.layer = "ortho_202";
  v.format = "4image/jpeg";
  assert_true(swath_cache_source_hash(&v) != h0);

  swath_cache_source_id odd = {.type = "xyz", .url = "HTTPS://user:pw@{s}.Tiles.ORG:8443/x?y"};
  assert_int_equal(swath_cache_source_name(&odd, buf, sizeof buf), 0);
  assert_true(strncmp(buf, "xyz-s.tiles.org-", 16) == 0);
  swath_cache_source_id file = {.type = "xyz", .url = "file:///data/{z}/{x}/{y}.png"};
  assert_int_equal(swath_cache_source_name(&file, buf, sizeof buf), 0);
  assert_true(strncmp(buf, "xyz-local-", 10) == 0);
  swath_cache_source_id bad = {.type = "../x", .url = "http://a/"};
  assert_int_equal(swath_cache_source_name(&bad, buf, sizeof buf), SWATH_EINVAL);
  swath_cache_source_id nourl = {.type = "xyz"};
  assert_int_equal(swath_cache_source_name(&nourl, buf, sizeof buf), SWATH_EINVAL);
}

static int count_entries(const char *dir, const char *containing) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += strstr(e->d_name, containing) != NULL;
  closedir(d);
  return n;
}

static void test_cache_files(void **state) {
  (void)state;
  char root[128], dir[512], path[512], buf[600];
  snprintf(root, sizeof root, "%s/cache", tmpdir);
  swath_cache_source_id id = {.type = "xyz", .url = "http://127.0.0.1:8080/{z}/{x}/{y}.png"};
  assert_int_equal(swath_cache_source_dir(root, &id, dir, sizeof dir), 0);
  snprintf(buf, sizeof buf, "%s/source.txt", dir);
  assert_int_equal(access(buf, R_OK), 0);
  /* Idempotent: a second call (another process) is fine. */
  assert_int_equal(swath_cache_source_dir(root, &id, dir, sizeof dir), 0);

  assert_int_equal(swath_cache_tile_path(dir, 17, 68000, 45000, "png", path, sizeof path), 0);
  snprintf(buf, sizeof buf, "%s/17/68000/45000.png", dir);
  assert_string_equal(path, buf);
  assert_int_equal(swath_cache_tile_path(dir, 1, 0, 0, "a/b", buf, sizeof buf), SWATH_EINVAL);
  assert_int_equal(swath_cache_tile_path(dir, 1, 0, 0, "png", buf, 10), SWATH_EINVAL);

  assert_int_equal(swath_cache_lookup(path), SWATH_CACHE_MISS);
  assert_int_equal(swath_cache_write(path, "abc", 3, 0), 0); /* creates 17/68000/ */
  assert_int_equal(swath_cache_lookup(path), SWATH_CACHE_HIT);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_size, 3);
  assert_int_equal(st.st_mode & 0777, 0644);
  snprintf(buf, sizeof buf, "%s/17/68000", dir);
  assert_int_equal(count_entries(buf, ".tmp."), 0); /* no temp file left behind */

  assert_int_equal(swath_cache_mark_empty(path), 0);
  assert_int_equal(swath_cache_lookup(path), SWATH_CACHE_EMPTY);
  assert_int_equal(access(path, F_OK), -1); /* the stale tile went */
  assert_int_equal(swath_cache_write(path, "abcd", 4, 1), 0);
  assert_int_equal(swath_cache_lookup(path), SWATH_CACHE_HIT);
  snprintf(buf, sizeof buf, "%s.empty", path);
  assert_int_equal(access(buf, F_OK), -1); /* the stale marker went */
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_size, 4);

  /* An empty marker in a folder that does not exist yet. */
  assert_int_equal(swath_cache_tile_path(dir, 3, 1, 2, "jpg", path, sizeof path), 0);
  assert_int_equal(swath_cache_mark_empty(path), 0);
  assert_int_equal(swath_cache_lookup(path), SWATH_CACHE_EMPTY);

  /* Failures name the path and leave nothing behind. */
  snprintf(buf, sizeof buf, "%s/file", tmpdir);
  assert_int_equal(swath_cache_write(buf, "x", 1, 0), 0);
  snprintf(path, sizeof path, "%s/file/below/t.png", tmpdir);
  assert_int_equal(swath_cache_write(path, "x", 1, 0), SWATH_EIO);
  assert_non_null(strstr(swath_error_message(), "/file"));
}

/* ---- a fetcher that never connects ---- */

struct seen {
  pthread_mutex_t mu;
  int n[4];
  int cached;
  char last_reason[512];
};

static void on_result(const swath_fetch_result *r, void *user) {
  struct seen *s = user;
  pthread_mutex_lock(&s->mu);
  s->n[r->outcome]++;
  s->cached += r->cached;
  if (r->reason) snprintf(s->last_reason, sizeof s->last_reason, "%s", r->reason);
  pthread_mutex_unlock(&s->mu);
}

static void test_fetcher_offline(void **state) {
  (void)state;
  swath_fetch_config c;
  swath_fetch_config_default(&c);
  swath_fetcher *f = NULL;
  c.max_in_flight = 0;
  assert_int_equal(swath_fetch_new(&c, &f), SWATH_EINVAL);
  assert_null(f);
  swath_fetch_config_default(&c);
  c.backoff_max_ms = 10;
  c.backoff_base_ms = 100;
  assert_int_equal(swath_fetch_new(&c, &f), SWATH_EINVAL);

  swath_fetch_config_default(&c);
  c.failure_budget = 3;
  assert_int_equal(swath_fetch_new(&c, &f), 0);
  struct seen s = {.cached = 0};
  pthread_mutex_init(&s.mu, NULL);

  /* Already cached: answered at once, on this thread, without a request. */
  char hit[256], empty[256];
  snprintf(hit, sizeof hit, "%s/off/1/2/3.png", tmpdir);
  snprintf(empty, sizeof empty, "%s/off/1/2/4.png", tmpdir);
  assert_int_equal(swath_cache_write(hit, "x", 1, 0), 0);
  assert_int_equal(swath_cache_mark_empty(empty), 0);
  swath_fetch_req r1 = {
      .url = "http://example.invalid/1/2/3.png", .dest = hit, .cb = on_result, .user = &s};
  assert_int_equal(swath_fetch_submit(f, &r1), 0);
  assert_int_equal(s.n[SWATH_FETCH_DONE], 1);
  swath_fetch_req r2 = r1;
  r2.dest = empty;
  assert_int_equal(swath_fetch_submit(f, &r2), 0);
  assert_int_equal(s.n[SWATH_FETCH_EMPTY], 1);
  assert_int_equal(s.cached, 2);

  swath_fetch_req bad = {.url = NULL};
  assert_int_equal(swath_fetch_submit(f, &bad), SWATH_EINVAL);

  /* Invalid URLs fail without a request; the third spends the budget and
   * everything after it is aborted with the reason. */
  for (int i = 0; i < 10; i++) {
    swath_fetch_req r = {.url = "not a url", .cb = on_result, .user = &s};
    assert_int_equal(swath_fetch_submit(f, &r), 0);
  }
  assert_int_equal(swath_fetch_wait_idle(f), SWATH_EIO);
  assert_non_null(strstr(swath_error_message(), "failure budget exhausted"));
  assert_int_equal(s.n[SWATH_FETCH_FAILED], 3);
  assert_int_equal(s.n[SWATH_FETCH_ABORTED], 7);
  assert_non_null(strstr(s.last_reason, "invalid URL"));

  swath_fetch_stats st;
  swath_fetch_stats_get(f, &st);
  assert_int_equal(st.submitted, 12);
  assert_int_equal(st.cached, 2);
  assert_int_equal(st.failed, 3);
  assert_int_equal(st.aborted, 7);
  assert_int_equal(st.requests, 0);
  assert_int_equal(st.budget_exhausted, 1);
  swath_fetch_free(f);
  pthread_mutex_destroy(&s.mu);
}

struct resubmit {
  swath_fetcher *f;
  pthread_mutex_t mu;
  int calls, resubmitted;
};

static void resubmit_cb(const swath_fetch_result *r, void *user) {
  struct resubmit *s = user;
  pthread_mutex_lock(&s->mu);
  s->calls++;
  int again = s->resubmitted < 5;
  s->resubmitted += again;
  pthread_mutex_unlock(&s->mu);
  assert_int_equal(r->outcome, SWATH_FETCH_FAILED);
  if (again) {
    /* On a fetcher thread with the queue full: must not block. */
    swath_fetch_req req = {.url = "::bad::", .cb = resubmit_cb, .user = s};
    assert_int_equal(swath_fetch_submit(s->f, &req), 0);
  }
}

static void test_fetcher_queue_bound(void **state) {
  (void)state;
  swath_fetch_config c;
  swath_fetch_config_default(&c);
  c.queue_limit = 1;
  c.failure_budget = 0;
  struct resubmit s = {.calls = 0};
  pthread_mutex_init(&s.mu, NULL);
  assert_int_equal(swath_fetch_new(&c, &s.f), 0);
  /* 50 submits through a queue of one: each waits for the one before. */
  for (int i = 0; i < 50; i++) {
    swath_fetch_req req = {.url = "::bad::", .cb = resubmit_cb, .user = &s};
    assert_int_equal(swath_fetch_submit(s.f, &req), 0);
  }
  assert_int_equal(swath_fetch_wait_idle(s.f), 0);
  assert_int_equal(s.calls, 55);
  swath_fetch_stats st;
  swath_fetch_stats_get(s.f, &st);
  assert_int_equal(st.failed, 55);
  assert_int_equal(st.budget_exhausted, 0);
  swath_fetch_free(s.f);
  pthread_mutex_destroy(&s.mu);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backoff_bounds),     cmocka_unit_test(test_backoff_deterministic),
      cmocka_unit_test(test_retry_after),        cmocka_unit_test(test_retry_delay),
      cmocka_unit_test(test_classify),           cmocka_unit_test(test_sniff),
      cmocka_unit_test(test_exception_text),     cmocka_unit_test(test_exception_text_at_body_end),
      cmocka_unit_test(test_validate_images),    cmocka_unit_test(test_validate_jpeg_scaled),
      cmocka_unit_test(test_validate_documents), cmocka_unit_test(test_cache_root),
      cmocka_unit_test(test_cache_source_names), cmocka_unit_test(test_cache_files),
      cmocka_unit_test(test_fetcher_offline),    cmocka_unit_test(test_fetcher_queue_bound),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
