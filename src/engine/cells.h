/* cells.h: a job cut into queue tasks (engine/queue.h), streamed.
 *
 * With overviews, the zooms from the cell zoom down to the top zoom are cut
 * into cells (one metatile at the cell zoom and its whole subtree: the
 * plan's order inside it, overviews built in memory), and each metatile
 * above the cell zoom is a TILE task built from its four children. The
 * cell zoom is the lowest zoom whose cells stay under a pixel budget at the
 * top zoom (SWATH_CELL_PIXELS: minutes of work for a slow process, seconds
 * for a fast one), raised while it gives fewer than SWATH_CELL_MIN cells (so
 * many workers have something to do). Without overviews (or for a vector
 * process) every metatile of every zoom is a TILE task of its own.
 *
 * The tasks come out one at a time from the area's tile iterators, so the
 * memory of a submit does not depend on the number of tasks. */
#ifndef SWATH_ENGINE_CELLS_H
#define SWATH_ENGINE_CELLS_H

#include <stdint.h>

#include "core/area.h"
#include "core/grid.h"
#include "engine/queue.h"

#define SWATH_CELL_PIXELS ((int64_t)1 << 28) /* 268 Mpx at the top zoom: 64 metatiles of 8x8 */
#define SWATH_CELL_MIN 64

typedef struct swath_cells {
  const swath_grid *g;
  const swath_area *area;
  int min_zoom, max_zoom, m, overviews;
  int cell_zoom; /* without overviews: max_zoom, and no cells */
  int z;         /* the zoom being streamed */
  swath_tile_iter *it;
  int64_t cell_weight; /* tiles of a whole cell's subtree (progress weight) */
} swath_cells;

/* The cell zoom for a job (want >= 0: that zoom, checked to be within the
 * zooms). SWATH_EINVAL for a wanted zoom outside min..max. */
int swath_cells_zoom(const swath_grid *g, const swath_area *area, int min_zoom, int max_zoom, int m,
                     int overviews, int want, int *cell_zoom);
/* Start streaming a job's tasks: cells first, then each zoom above them,
 * highest first (without overviews: every zoom, highest first). */
int swath_cells_start(swath_cells *c, const swath_grid *g, const swath_area *area, int min_zoom,
                      int max_zoom, int m, int overviews, int cell_zoom);
/* swath_queue_submit's `next`: 1 with *t, 0 at the end, or a negative code. */
int swath_cells_next(void *c, swath_qtask *t);
void swath_cells_free(swath_cells *c);

#endif
