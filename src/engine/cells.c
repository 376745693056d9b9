/* cells.c: a job's queue tasks, streamed from the area's tile iterators
 * (cells.h). */
#include "engine/cells.h"

#include <string.h>

#include "core/error.h"

/* Pixels of one metatile at zoom z. */
static int64_t metatile_pixels(const swath_grid *g, int z, int m) {
  return (int64_t)g->m[z].tile_width * g->m[z].tile_height * m * m;
}

int swath_cells_zoom(const swath_grid *g, const swath_area *area, int min_zoom, int max_zoom, int m,
                     int overviews, int want, int *cell_zoom) {
  if (!overviews) {
    *cell_zoom = max_zoom; /* (no cells: every task is a TILE) */
    return 0;
  }
  if (want >= 0) {
    if (want < min_zoom || want > max_zoom)
      return swath_error_set(SWATH_EINVAL, "--cell-zoom %d is not within the job's zooms %d-%d",
                             want, min_zoom, max_zoom);
    *cell_zoom = want;
    return 0;
  }
  /* The deepest subtree under the pixel budget... */
  int depth = 0;
  int64_t px = metatile_pixels(g, max_zoom, m);
  while (max_zoom - depth > min_zoom && px * 4 <= SWATH_CELL_PIXELS)
    depth++, px *= 4;
  int z = max_zoom - depth;
  /* ...made shallower while it gives too few cells. */
  while (z < max_zoom) {
    int64_t n = swath_area_count_tiles(g, area, z, m);
    if (n < 0) return (int)n;
    if (n >= SWATH_CELL_MIN) break;
    z++;
  }
  *cell_zoom = z;
  return 0;
}

int swath_cells_start(swath_cells *c, const swath_grid *g, const swath_area *area, int min_zoom,
                      int max_zoom, int m, int overviews, int cell_zoom) {
  memset(c, 0, sizeof *c);
  c->g = g;
  c->area = area;
  c->min_zoom = min_zoom;
  c->max_zoom = max_zoom;
  c->m = m;
  c->overviews = overviews;
  c->cell_zoom = cell_zoom;
  c->z = overviews ? cell_zoom : max_zoom;
  c->cell_weight = 0;
  for (int z = cell_zoom, k = 1; overviews && z <= max_zoom; z++, k *= 2)
    c->cell_weight += (int64_t)m * m * k * k;
  return swath_tile_iter_new(g, area, c->z, m, &c->it);
}

int swath_cells_next(void *ud, swath_qtask *t) {
  swath_cells *c = ud;
  for (;;) {
    swath_tile mt;
    if (c->it && swath_tile_iter_next(c->it, &mt)) {
      int cell = c->overviews && mt.z == c->cell_zoom;
      *t = (swath_qtask){.kind = cell ? SWATH_QTASK_CELL : SWATH_QTASK_TILE,
                         .mt = mt,
                         .tiles = cell ? c->cell_weight : (int64_t)c->m * c->m};
      return 1;
    }
    swath_tile_iter_free(c->it);
    c->it = NULL;
    if (c->z <= c->min_zoom) return 0;
    int r = swath_tile_iter_new(c->g, c->area, --c->z, c->m, &c->it);
    if (r) return r;
  }
}

void swath_cells_free(swath_cells *c) {
  swath_tile_iter_free(c->it);
  c->it = NULL;
}
