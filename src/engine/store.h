/* store.h: where task state lives, so a run resumes without redoing work.
 * One interface, several backends (store_sqlite.c now; PostgreSQL later).
 *
 * A task is one process tile (metatile) of one job at one zoom, identified by
 * (z, x, y) in metatile coordinates. States: DONE (tiles written), EMPTY (no
 * data, nothing written), FAILED (with a message). Absent means pending.
 * Completions are buffered and committed in batches by the caller's thread;
 * mark() is thread-safe. A task recorded DONE is never recorded before its
 * tiles are renamed into place. */
#ifndef SWATH_ENGINE_STORE_H
#define SWATH_ENGINE_STORE_H

#include "core/grid.h"

enum swath_task_state { SWATH_TASK_PENDING = 0, SWATH_TASK_DONE = 1, SWATH_TASK_EMPTY = 2, SWATH_TASK_FAILED = 3 };

typedef struct swath_store_vtable {
  const char *name;
  /* Open or create the store at `uri` for the job identified by `job_key`
   * (a hash of everything that changes the output). If the stored job key
   * differs, or `reset` is set, all task state is dropped. */
  int (*open)(const char *uri, const char *job_key, int reset, void **state);
  /* State of a task (PENDING if unknown). */
  int (*get)(void *state, swath_tile t, enum swath_task_state *out);
  /* Record a task's final state; `message` for FAILED. */
  int (*mark)(void *state, swath_tile t, enum swath_task_state s, const char *message);
  /* Make all marks so far durable. */
  int (*flush)(void *state);
  /* Call fn for every FAILED task. */
  int (*each_failed)(void *state, void (*fn)(void *ud, swath_tile t, const char *msg), void *ud);
  void (*close)(void *state);
} swath_store_vtable;

extern const swath_store_vtable swath_store_sqlite;

#endif
