/* overview.h: building an overview metatile from its four children, in a
 * run that may cover only part of the product.
 *
 * Invariant kept on disk: a tile that has children on disk is their 2x2
 * average; a tile without any (the top zoom, or a zoom that was the top of
 * an earlier run) holds what its own task made. So a parent is built from
 * every child: those computed in this run (in memory), those finished on
 * disk, and, where a child was never computed (KEEP), the parent's own
 * pixels. And only the parent tiles over a child tile that this run wrote
 * or removed are written again (all of them for a parent that has no tiles
 * yet; for a STALE parent, also those that differ from disk; for a parent
 * that an earlier run's area cut, also those it never made): a tile away
 * from the run's area is never rewritten.
 *
 * Contract with the tasks below: the block a child hands up is what is on
 * disk for all its tiles, those it wrote and those it left alone (a leaf
 * writes or removes every tile of its metatile; an overview's untouched
 * tiles are what its children on disk give). A task that ever leaves tiles
 * of its block unwritten must hand up what is on disk there instead. */
#ifndef SWATH_ENGINE_OVERVIEW_H
#define SWATH_ENGINE_OVERVIEW_H

#include "engine/plan.h"
#include "io/sink.h"

typedef struct swath_overview_ctx {
  const swath_grid *g;
  int m; /* metatiling */
  const swath_sink_vtable *sink;
  void *sink_state;
  int bands;         /* data bands written */
  swath_dtype dtype; /* type written */
  int average;       /* overview resampling: average (1) or nearest */
} swath_overview_ctx;

/* Record in `parent` the tiles that its child `child` (a metatile one zoom
 * down) wrote or removed in this run: `handled` has m*m flags, row-major
 * over the child's tiles. Children write disjoint parts: no lock needed. */
void swath_overview_note_child(const swath_overview_ctx *c, swath_plan_node *parent,
                               swath_tile child, const unsigned char *handled);

/* Build node n into *block (which takes n->buf; the caller frees it; it may
 * hold no valid pixel) and fill select (m*m flags, row-major over n's tiles)
 * with the tiles to write or remove. */
int swath_overview_build(const swath_overview_ctx *c, swath_plan_node *n, swath_raster *block,
                         unsigned char *select);

/* Read a finished metatile back from the sink (absent tiles: no data). */
int swath_overview_load(const swath_overview_ctx *c, swath_tile mt, swath_raster *block);
/* Read tile t back from the sink into the window of `block` at (x0, y0)
 * (the block's type and bands). Returns 1 if the tile is on disk, 0 if not
 * (the window then holds no data), or a negative code. */
int swath_overview_load_tile(const swath_overview_ctx *c, swath_tile t, swath_raster *block, int x0,
                             int y0);

#endif
