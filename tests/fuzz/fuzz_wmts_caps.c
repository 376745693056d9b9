/* fuzz_wmts_caps.c: a WMTS GetCapabilities document, as a wmts input reads
 * it when it opens: layer, style, format, tile matrix set (which becomes a
 * swath grid), footprint and GetTile endpoint. The first byte picks the
 * input's options. The grid that comes out must describe tiles: every
 * matrix's corner tiles have finite bounds of positive size. */
#include <math.h>

#include "core/grid.h"
#include "fuzz_util.h"
#include "io/remote.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fuzz_init();
  return 0;
}

static const struct {
  const char *layer, *tms, *style, *format;
} OPTS[] = {
    {"roads", "GoogleMapsCompatible", NULL, NULL},
    {"roads", "WGS84", "default", "image/png"},
    {"ortho", "EPSG:2056", NULL, "image/jpeg"},
    {"a", "b", "c", "image/webp"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input(data, size);
  if (size < 1) return 0;
  char *doc = fuzz_str(data + 1, size - 1);
  int k = data[0] % 4;
  swath_grid g;
  swath_error_clear();
  int rc =
      swath__wmts_read_caps(doc, OPTS[k].layer, OPTS[k].tms, OPTS[k].style, OPTS[k].format, &g);
  fuzz_check_rc(rc, "WMTS capabilities", 1);
  for (int z = 0; !rc && z <= g.max_zoom; z++) {
    const swath_tile_matrix *m = &g.m[z];
    swath_tile last = {z, m->matrix_width - 1, m->matrix_height - 1};
    swath_bounds a = swath_grid_tile_bounds(&g, (swath_tile){z, 0, 0});
    swath_bounds b = swath_grid_tile_bounds(&g, last);
    if (!(a.minx < a.maxx && a.miny < a.maxy && b.minx < b.maxx && b.miny < b.maxy) ||
        !isfinite(a.minx + a.maxx + a.miny + a.maxy + b.minx + b.maxx + b.miny + b.maxy)) {
      fprintf(stderr, "WMTS capabilities accepted, but matrix %d has degenerate tiles\n", z);
      abort();
    }
  }
  free(doc);
  return 0;
}
