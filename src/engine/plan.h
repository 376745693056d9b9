/* plan.h: the order in which a job's tasks run.
 *
 * With overviews, only the highest zoom is computed from the inputs; every
 * lower zoom is built from its four children as soon as they are finished.
 * The plan walks the quadtree depth first from the metatiles of the lowest
 * zoom, so leaves come out in Morton order under each root and the number of
 * half-built parents (each holding one metatile of pixels) stays small:
 * memory does not grow with the area. A parent is "sealed" once all its
 * children have been visited and becomes ready when every visited child has
 * reported, with its pixels (DATA), as already on disk from an earlier run
 * (ONDISK), or as empty.
 *
 * Without overviews (or on a grid whose zooms do not halve), every zoom is
 * computed from the inputs, zoom by zoom.
 *
 * The plan is not thread-safe: the caller serialises every call (run.c holds
 * its lock). Finished tasks recorded in the store are skipped here, so a
 * rerun redoes nothing that is done; a task recorded STALE is rebuilt.
 *
 * A task on the edge of an earlier run's area may be finished for some of
 * its tiles only (store.h's covered tiles). It counts as finished for this
 * run only if it covers every tile of it in this run's area; otherwise it
 * is done again (a leaf from the inputs, an overview from its children),
 * and its tiles outside the area are left as they are. Where the run does
 * not reach it, it counts as what is on disk (ONDISK or EMPTY).
 *
 * The run's top zoom over children recorded by earlier runs (the product
 * goes deeper there): a tile's quarter over a child tile some run computed
 * is that child's 2x2 average, and a quarter over a child tile never
 * computed is what the inputs give at the tile's zoom, as a fresh run of
 * these zooms would write it. So such a task is an overview of the store's
 * children unless a child tile in the run's area was never computed, and
 * then a leaf computed from the inputs with a node attached (swath_task.node)
 * whose computed quarters are overlaid (overview.h). A child tile never
 * computed outside the run's area is outside every run of these zooms: it
 * stays as the deeper runs left it (lowering the top zoom computes nothing).
 * Below the top zoom a quarter over a child never computed keeps the tile's
 * own pixels, or none; a tile made so is recorded SWATH_COVERED_PARTIAL, and
 * a later run whose top zoom it is, over that child, makes it again from the
 * inputs, once. */
#ifndef SWATH_ENGINE_PLAN_H
#define SWATH_ENGINE_PLAN_H

#include <stdint.h>

#include "core/area.h"
#include "core/grid.h"
#include "engine/store.h"
#include "swath/plugin.h"

/* KEEP: the child was never computed (or failed): the parent's quadrant
 * keeps the parent's own pixels on disk, if it has any. */
enum swath_child_result {
  SWATH_CHILD_NONE = 0,
  SWATH_CHILD_DATA,
  SWATH_CHILD_ONDISK,
  SWATH_CHILD_EMPTY,
  SWATH_CHILD_KEEP
};

typedef struct swath_plan_node swath_plan_node;
struct swath_plan_node {
  swath_tile mt;           /* metatile coordinates */
  swath_plan_node *parent; /* NULL at the lowest zoom */
  int quadrant;            /* index among the parent's children (see swath_tile_children) */
  int stored;              /* enum swath_task_state recorded before this run */
  unsigned char *covered;  /* m*m flags: the tiles its record covers (see store.h) */
  int expected, reported, sealed;
  unsigned char child[4]; /* enum swath_child_result per quadrant */
  swath_raster buf;       /* the node's pixels, filled by its children; allocated by the
                             caller on the first DATA report (buf.data == NULL until then) */
  unsigned char *handled; /* (2m)^2 flags, one per child tile (row-major from the first child
                             tile): set by a child that wrote or removed that tile in this run */
  unsigned char *kept;    /* (2m)^2 flags, same layout: child tiles never computed (no task
                             records them made), set once the children have all reported */
  unsigned char *partial; /* m*m flags: tiles made with a kept quarter not from the inputs */
  int from_inputs;        /* a top-zoom leaf: its own pixels come from the inputs */
  int stale_marked;       /* the caller recorded it STALE in this run */
  swath_plan_node *next_ready;
};

enum swath_task_kind { SWATH_TASK_LEAF, SWATH_TASK_OVERVIEW };

typedef struct swath_task {
  enum swath_task_kind kind;
  swath_tile mt;
  swath_plan_node *node;   /* OVERVIEW: the node to build; LEAF: NULL, or a top-zoom node over
                              children on disk (see above); freed by swath_plan_release */
  swath_plan_node *parent; /* where the result goes; NULL if nowhere */
  int quadrant;
} swath_task;

typedef struct swath_plan_counts {
  int64_t skipped; /* found finished in the store */
  int64_t empty;   /* parents whose children were all empty */
} swath_plan_counts;

typedef struct swath_plan swath_plan;

/* `area` is used only by the plan (not shared with threads). `store` may be
 * NULL: nothing is skipped and nothing recorded (a walk for prefetching). */
int swath_plan_new(const swath_grid *g, const swath_area *area, int min_zoom, int max_zoom,
                   int metatiling, int overviews, const swath_store_vtable *store,
                   void *store_state, swath_plan **out);
void swath_plan_free(swath_plan *p);
/* 1 if zooms min..max of g form a quadtree (each halves the cell size of the
 * next, same origin and tile size), so overviews can be built from children. */
int swath_plan_grid_is_quadtree(const swath_grid *g, int min_zoom, int max_zoom);

/* --overwrite: tasks in the area are done again even if recorded finished
 * (children outside the area still count as what the store says). Call
 * before the first swath_plan_next. */
void swath_plan_redo(swath_plan *p);
/* Walk only the subtree of metatile `root` (at the plan's min_zoom; call
 * before the first swath_plan_next): one task of a queued job (a cell, or
 * one metatile of the zooms above the cells, engine/queue.h). Everything
 * else is as for the whole area: the subtree's tiles are the area's tiles
 * under the root, and its top zoom's overviews follow the store's
 * children, so the task makes exactly what a run over the whole area
 * makes there. */
void swath_plan_set_root(swath_plan *p, swath_tile root);
/* Next task: 1 and *t filled; 0 if none is ready now (see swath_plan_finished). */
int swath_plan_next(swath_plan *p, swath_task *t);
/* 1 when every task has been handed out and no parent is waiting. */
int swath_plan_finished(const swath_plan *p);
/* A task finished: tell its parent. May make the parent ready. */
void swath_plan_report(swath_plan *p, swath_plan_node *parent, int quadrant,
                       enum swath_child_result r);
/* The tiles a finished task records as covered (store.h's values): `made`
 * (m*m flags, the tiles of the run's area, updated in place; PARTIAL where
 * `partial`, a node's flags or NULL, says so) plus, for a task recorded DONE
 * or EMPTY before the run (`stored`), those it covered then (`old`, m*m
 * values). Tiles past the grid's edge count as covered. */
void swath_plan_covered(const swath_grid *g, int m, swath_tile mt, int stored,
                        const unsigned char *old, const unsigned char *partial,
                        unsigned char *made);
/* Free an overview node after its task is done. */
void swath_plan_release(swath_plan *p, swath_plan_node *node);
const swath_plan_counts *swath_plan_counts_get(const swath_plan *p);

#endif
