/* fuzz_image_check.c: the fetcher's verdict on a downloaded body
 * (swath_fetch_validate): sniffing by magic bytes, WMS/WMTS exception
 * documents delivered with status 200, PNG/JPEG/WEBP/GeoTIFF checks and
 * decodes, the expected tile size. The first byte picks the Content-Type,
 * the kinds accepted and the expected size. A refusal is one line. */
#include "fuzz_util.h"
#include "io/fetch.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  return 0;
}

static const char *const TYPES[] = {
    NULL,       "image/png",  "image/jpeg", "application/vnd.ogc.se_xml",
    "text/xml", "image/webp", "image/tiff", "text/html"};
static const unsigned KINDS[] = {SWATH_FETCH_IMAGE,
                                 SWATH_FETCH_PNG,
                                 SWATH_FETCH_JPEG | SWATH_FETCH_PNG,
                                 SWATH_FETCH_XML,
                                 SWATH_FETCH_ANY,
                                 SWATH_FETCH_WEBP,
                                 SWATH_FETCH_GTIFF,
                                 0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input(data, size);
  if (size < 1) return 0;
  int expect = (data[0] & 0x40) ? 256 : 0;
  swath_error_clear();
  int rc = swath_fetch_validate(data + 1, size - 1, TYPES[data[0] & 7], KINDS[(data[0] >> 3) & 7],
                                expect, expect);
  fuzz_check_rc(rc, "swath_fetch_validate", 0);
  return 0;
}
