/* fuzz_wms_caps.c: a WMS GetCapabilities document (1.1.1 or 1.3.0), as a
 * wms input checks it when it opens: the layers exist and offer the CRS
 * (directly or inherited), GetMap offers the format; the layers'
 * geographic boxes become the footprint. The first byte picks the input's
 * options. */
#include "fuzz_util.h"
#include "io/remote.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  return 0;
}

static const struct {
  const char *layers, *crs, *format;
} OPTS[] = {
    {"roads", "EPSG:3857", "image/png"},
    {"roads,water", "EPSG:4326", "image/jpeg"},
    {"base", "CRS:84", "image/png; mode=8bit"},
    {"a,b,c,d", "EPSG:32632", "image/webp"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input(data, size);
  if (size < 1) return 0;
  char *doc = fuzz_str(data + 1, size - 1);
  int k = data[0] % 4;
  swath_error_clear();
  int rc = swath__wms_check_caps(doc, OPTS[k].layers, OPTS[k].crs, OPTS[k].format);
  fuzz_check_rc(rc, "WMS capabilities", 1);
  free(doc);
  return 0;
}
