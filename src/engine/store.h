/* store.h: where task state lives, so a run resumes without redoing work.
 * One interface, several backends (store_sqlite.c; store_pg.c: a queued
 * job's marks in PostgreSQL), registered by name in store.c.
 *
 * A store holds the state of one product: the tasks of one job key (a hash
 * of everything that changes pixels) over every area and zoom range it was
 * run for. A task is one process tile (metatile) at one zoom, identified by
 * (z, x, y) in metatile coordinates. States: DONE (tiles written), EMPTY (no
 * data, nothing written), FAILED (with a message), STALE (tiles on disk, but
 * built before some of its children changed: rebuild it). Absent means
 * pending. Completions are buffered and committed in batches by the caller's
 * thread; mark() is thread-safe. A task recorded DONE is never recorded
 * before its tiles are renamed into place, and a parent is recorded STALE
 * before the child that changed it is recorded DONE.
 *
 * A run writes only the tiles of its area, so a task on the area's edge
 * may be DONE or EMPTY for some of its tiles only: the store keeps, with
 * each mark, which tiles of the metatile were made ("covered": one flag per
 * tile, metatiling^2 of them, row-major from the metatile's first tile;
 * NULL: all of them). Only DONE and EMPTY marks give it a meaning; the
 * engine (plan.c) decides what a run still has to do of such a task. A
 * flag is 0 (not made), SWATH_COVERED, or SWATH_COVERED_PARTIAL: made as an
 * overview with a quarter over children that no run computed left to older
 * pixels or none, so a run whose top zoom it is makes it again (plan.h). */
#ifndef SWATH_ENGINE_STORE_H
#define SWATH_ENGINE_STORE_H

#include <stdint.h>

#include "core/grid.h"

enum { SWATH_COVERED = 1, SWATH_COVERED_PARTIAL = 2 };

enum swath_task_state {
  SWATH_TASK_PENDING = 0,
  SWATH_TASK_DONE = 1,
  SWATH_TASK_EMPTY = 2,
  SWATH_TASK_FAILED = 3,
  SWATH_TASK_STALE = 4
};

/* One run of the product: the zooms and area it asked for. */
typedef struct swath_store_run {
  int min_zoom, max_zoom;
  swath_bounds bounds; /* the area's bounds in the grid CRS */
  const char *area;    /* the area in words, e.g. "bounds 8.4,47.3,8.6,47.4 (EPSG:4326)" */
} swath_store_run;

/* Bump when swath_store_vtable or swath_store_run changes layout. */
#define SWATH_STORE_ABI 1

typedef struct swath_store_vtable {
  const char *name;
  int abi_version; /* SWATH_STORE_ABI */
  /* Open or create the store at `uri` for the job identified by `job_key`.
   * *same is 1 if the store holds that job's state, 0 if it is new or holds
   * another job's (nothing is dropped then: the caller decides, see reset);
   * *done counts the tasks recorded DONE or STALE. */
  int (*open)(const char *uri, const char *job_key, int *same, int64_t *done, void **state);
  /* Drop every task and run and record the open's job key as the store's. */
  int (*reset)(void *state);
  /* State of a task (PENDING if unknown). `covered` (n flags, or NULL) gets
   * the tiles its last mark recorded as made: all 1 where it gave none. */
  int (*get)(void *state, swath_tile t, enum swath_task_state *out, unsigned char *covered, int n);
  /* Record a task's final state; `message` for FAILED; `tiles` (or NULL) the
   * range of its tiles on disk, for the product's tile limits; `covered` (n
   * flags, or NULL: all) the tiles of the metatile made (see above). */
  int (*mark)(void *state, swath_tile t, enum swath_task_state s, const char *message,
              const swath_tile_range *tiles, const unsigned char *covered, int n);
  /* Make all marks so far durable. */
  int (*flush)(void *state);
  /* Call fn for every FAILED task. */
  int (*each_failed)(void *state, void (*fn)(void *ud, swath_tile t, const char *msg), void *ud);
  /* Record a run of the product (once: a run over the same zooms and area is
   * not recorded again). */
  int (*add_run)(void *state, const swath_store_run *run);
  /* Call fn for every recorded run, oldest first. */
  int (*each_run)(void *state, void (*fn)(void *ud, const swath_store_run *run), void *ud);
  /* Tile limits of the tasks recorded DONE or STALE, per zoom: have[z] is 1
   * where some are. Tasks recorded without a range count as their whole
   * metatile (metatiling m), unclipped. */
  int (*tile_limits)(void *state, int m, swath_tile_range limits[SWATH_GRID_MAX_ZOOMS],
                     int have[SWATH_GRID_MAX_ZOOMS]);
  void (*close)(void *state);
} swath_store_vtable;

extern const swath_store_vtable swath_store_sqlite;

/* The store a job uses when it names none. */
#define SWATH_STORE_DEFAULT "sqlite"
/* The store registered as `name` (the built-ins: sqlite, and postgresql:
 * a queued job's marks, engine/queue.h); SWATH_EINVAL with
 * one line naming the known ones otherwise. */
int swath_store_find(const char *name, const swath_store_vtable **out);
/* Register another store, at start-up (before any run): SWATH_EINVAL for
 * another ABI version, a taken name, or one without open, get, mark or
 * close. */
int swath_store_register(const swath_store_vtable *vt);

#endif
